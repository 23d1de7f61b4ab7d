//! `client put|put-attachment|search|get|render|export|delete`: documents and attachments
//! in the repository, from one file or a whole folder, down to the original bytes (checked
//! against the SHA-256 the server sends).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use http::Method;
use medgate_client::{ApiResponse, ClientError, RepositoryClient};
use medgate_pki::files::{Visibility, WriteMode};
use serde_json::{json, Value};

use super::ClientArgs;
use crate::output::print_json;

/// The header in which the server sends the SHA-256 of a document's bytes.
const CONTENT_SHA256_HEADER: &str = "x-content-sha256";

#[derive(Debug, Args)]
pub struct PutArgs {
    /// A CDA file, or a folder whose files are all uploaded (with a progress bar).
    pub path: PathBuf,
    /// Patient identifier for files that are not `.xml` (uploaded as attachments titled
    /// with their file name): PESEL, or root^extension.
    #[arg(long)]
    pub patient: Option<String>,
    /// Document type code for such attachments (see `client types list`).
    #[arg(long = "type")]
    pub type_code: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PutAttachmentArgs {
    /// The file (scan, photo, PDF…).
    pub file: PathBuf,
    /// Patient identifier (PESEL, or root^extension for other identifiers).
    #[arg(long)]
    pub patient: String,
    /// Title shown in searches.
    #[arg(long)]
    pub title: String,
    /// Document type code (see `client types list`).
    #[arg(long = "type")]
    pub type_code: Option<String>,
    /// Content type (default: guessed from the file name).
    #[arg(long)]
    pub content_type: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Patient identifier.
    #[arg(long)]
    pub patient: Option<String>,
    /// Effective time from (YYYY-MM-DD: from 00:00 UTC that day, compared as an instant).
    #[arg(long)]
    pub from: Option<String>,
    /// Effective time to (YYYY-MM-DD, inclusive: to 23:59:59 UTC that day, as an instant).
    #[arg(long)]
    pub to: Option<String>,
    /// Document type code.
    #[arg(long = "type")]
    pub type_code: Option<String>,
    /// Text in the author's name.
    #[arg(long)]
    pub author: Option<String>,
    /// Text in the title.
    #[arg(long)]
    pub title: Option<String>,
    /// Page size.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Results to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Document id (root^extension).
    pub id: String,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Document id (root^extension).
    pub id: String,
    /// Output HTML file.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Document id (root^extension).
    pub id: String,
    /// Output ZIP file.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Document id (root^extension).
    pub id: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `/api/v1/documents/<id>` with the id percent-encoded (`^` is not allowed in a path).
fn document_path(id: &str, suffix: &str) -> String {
    format!("/api/v1/documents/{}{suffix}", urlencoding::encode(id))
}

/// What the user sees of a stored document: `<id> (<title>, <size> bytes, sha256 <hex>)`.
fn describe(document: &Value) -> String {
    let title = document["title"]
        .as_str()
        .or_else(|| document["type_display"].as_str())
        .unwrap_or("untitled");
    format!(
        "{} ({title}, {} bytes, sha256 {})",
        document["id"].as_str().unwrap_or("?"),
        document["size"],
        document["sha256"].as_str().unwrap_or("?")
    )
}

/// The media type of a file, from its extension.
fn guess_content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "tif" | "tiff" => "image/tiff",
        "txt" => "text/plain",
        "xml" => "application/xml",
        _ => "application/octet-stream",
    }
}

fn is_xml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot be read", path.display()))
}

/// How one upload ended.
pub(crate) enum Upload {
    Stored(Value),
    /// The same bytes were already stored under this id (a re-run of an upload).
    AlreadyStored(Value),
}

/// An attachment request: the query parameters besides the file.
struct AttachmentTarget<'a> {
    patient: &'a str,
    title: &'a str,
    type_code: Option<&'a str>,
    content_type: &'a str,
}

async fn upload_attachment(
    client: &RepositoryClient,
    bytes: Vec<u8>,
    target: &AttachmentTarget<'_>,
) -> anyhow::Result<Value> {
    let mut path = format!(
        "/api/v1/attachments?patient={}&title={}",
        urlencoding::encode(target.patient),
        urlencoding::encode(target.title)
    );
    if let Some(code) = target.type_code {
        path.push_str(&format!("&type={}", urlencoding::encode(code)));
    }
    let answer: Value = client
        .send(Method::POST, &path, Some((bytes, target.content_type)))
        .await?
        .json()?;
    Ok(answer["document"].clone())
}

/// The stored document, when the repository already holds these very bytes under their id
/// (a re-run of an upload); `None` when the id holds other bytes.
async fn already_stored(client: &RepositoryClient, bytes: &[u8]) -> anyhow::Result<Option<Value>> {
    let local_sha256 = medgate_cda::hashes(bytes).sha256_hex;
    let Some(id) = medgate_cda::parse(bytes).ok().map(|header| header.id.to_string()) else {
        return Ok(None);
    };
    let stored: Value = client.get_json(&document_path(&id, "/metadata")).await?;
    Ok((stored["document"]["sha256"].as_str() == Some(local_sha256.as_str()))
        .then(|| stored["document"].clone()))
}

/// Uploads a CDA document. When the server already holds a document with its id, asks for
/// that document's hash: identical bytes are "already stored" (so that running an upload
/// again is harmless), different bytes are the server's 409.
pub(crate) async fn upload_cda(client: &RepositoryClient, bytes: Vec<u8>) -> anyhow::Result<Upload> {
    let original = bytes.clone();
    match client
        .send(
            Method::POST,
            "/api/v1/documents",
            Some((bytes, "application/xml")),
        )
        .await
    {
        Ok(response) => {
            let answer: Value = response.json()?;
            // Stored, with something the clinic should know (a PESEL with a wrong check
            // digit): on stderr, so `--json` stays one document.
            for warning in answer["warnings"].as_array().into_iter().flatten() {
                eprintln!("warning: {}", warning.as_str().unwrap_or_default());
            }
            Ok(Upload::Stored(answer["document"].clone()))
        }
        Err(error) if error.api_code() == Some("document_exists") => {
            match already_stored(client, &original).await? {
                Some(existing) => Ok(Upload::AlreadyStored(existing)),
                None => Err(error.into()),
            }
        }
        Err(error) => Err(error.into()),
    }
}

/// One file of `put`: `.xml` as CDA, anything else as an attachment of `--patient`.
async fn upload_file(
    client: &RepositoryClient,
    path: &Path,
    args: &PutArgs,
) -> anyhow::Result<Upload> {
    let bytes = read_file(path)?;
    if is_xml(path) {
        return upload_cda(client, bytes).await;
    }
    let Some(patient) = args.patient.as_deref() else {
        anyhow::bail!(
            "{} is not a .xml (CDA) file; give --patient to upload it as an attachment, or use `client put-attachment`",
            path.display()
        );
    };
    let title = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let target = AttachmentTarget {
        patient,
        title: &title,
        type_code: args.type_code.as_deref(),
        content_type: guess_content_type(path),
    };
    Ok(Upload::Stored(
        upload_attachment(client, bytes, &target).await?,
    ))
}

pub async fn put(client_args: &ClientArgs, args: &PutArgs) -> anyhow::Result<ExitCode> {
    let metadata = std::fs::metadata(&args.path)
        .with_context(|| format!("{}: cannot be read", args.path.display()))?;
    let client = client_args.connect()?;
    if metadata.is_dir() {
        return put_folder(&client, args).await;
    }
    match upload_file(&client, &args.path, args).await? {
        Upload::Stored(document) => {
            if args.json {
                print_json(&json!({ "status": "stored", "document": document }))?;
            } else {
                println!("stored {}", describe(&document));
            }
        }
        Upload::AlreadyStored(document) => {
            if args.json {
                print_json(&json!({ "status": "already_stored", "document": document }))?;
            } else {
                println!(
                    "already stored {} (same SHA-256; nothing changed)",
                    describe(&document)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The regular files directly in `folder`, sorted by name.
fn folder_files(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder)
        .with_context(|| format!("{}: cannot be listed", folder.display()))?
    {
        let path = entry
            .with_context(|| format!("{}: cannot be listed", folder.display()))?
            .path();
        // `metadata` follows symbolic links, so a link to a file counts as the file.
        if std::fs::metadata(&path)
            .map(|m| m.is_file())
            .unwrap_or(false)
        {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn progress_bar(length: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(u64::try_from(length).unwrap_or(u64::MAX)),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}") {
        bar.set_style(style);
    }
    bar
}

/// `put FOLDER`: every file, continuing past failures, then a summary; exit 1 if any failed.
/// CDA files (`.xml`) go in batches (`POST /api/v1/documents/batch`, up to 32 documents or
/// 8 MiB each), each document stored or refused on its own; other files one by one as
/// attachments of `--patient`.
async fn put_folder(client: &RepositoryClient, args: &PutArgs) -> anyhow::Result<ExitCode> {
    let files = folder_files(&args.path)?;
    let bar = progress_bar(files.len());
    let mut tally = Tally::default();
    let mut run: Vec<&PathBuf> = Vec::new();
    for (index, path) in files.iter().enumerate() {
        if is_xml(path) {
            run.push(path);
        }
        // A run of CDA files ends at another kind of file or at the end of the folder.
        let run_ends = !is_xml(path) || index + 1 == files.len();
        if run_ends && !run.is_empty() {
            put_cda_run(client, std::mem::take(&mut run), args, &bar, &mut tally).await;
        }
        if !is_xml(path) {
            let name = file_name(path);
            bar.set_message(name.clone());
            let outcome = upload_file(client, path, args).await;
            tally.record(&name, outcome, args, &bar);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let Tally {
        stored,
        already,
        failed,
    } = tally;
    if args.json {
        print_json(&json!({ "stored": stored, "already_stored": already, "failed": failed }))?;
    } else {
        println!(
            "summary: {} stored, {} already stored, {} failed (of {} files in {})",
            stored.len(),
            already.len(),
            failed.len(),
            files.len(),
            args.path.display()
        );
        for failure in &failed {
            println!(
                "failed {}: {}",
                failure["file"].as_str().unwrap_or("?"),
                failure["reason"].as_str().unwrap_or("?")
            );
        }
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What `put FOLDER` did, file by file.
#[derive(Default)]
struct Tally {
    stored: Vec<Value>,
    already: Vec<Value>,
    failed: Vec<Value>,
}

impl Tally {
    fn record(
        &mut self,
        name: &str,
        outcome: anyhow::Result<Upload>,
        args: &PutArgs,
        bar: &indicatif::ProgressBar,
    ) {
        match outcome {
            Ok(Upload::Stored(document)) => {
                if !args.json {
                    bar.suspend(|| println!("stored {name}: {}", describe(&document)));
                }
                self.stored.push(json!({ "file": name, "id": document["id"] }));
            }
            Ok(Upload::AlreadyStored(document)) => {
                if !args.json {
                    bar.suspend(|| {
                        println!(
                            "already stored {name}: {}",
                            document["id"].as_str().unwrap_or("?")
                        )
                    });
                }
                self.already.push(json!({ "file": name, "id": document["id"] }));
            }
            Err(error) => {
                let reason = crate::output::error_line(&error);
                self.failed.push(json!({ "file": name, "reason": reason }));
            }
        }
    }
}

/// Uploads a run of CDA files in batches and records each file's outcome.
async fn put_cda_run(
    client: &RepositoryClient,
    paths: Vec<&PathBuf>,
    args: &PutArgs,
    bar: &indicatif::ProgressBar,
    tally: &mut Tally,
) {
    let mut readable = Vec::new();
    for path in paths {
        match read_file(path) {
            Ok(bytes) => readable.push(medgate_client::BatchDocument {
                filename: file_name(path),
                bytes,
            }),
            Err(error) => {
                tally.record(&file_name(path), Err(error), args, bar);
                bar.inc(1);
            }
        }
    }
    for batch in medgate_client::batch::batches(readable, |d| d.bytes.len()) {
        bar.set_message(format!(
            "{} … {}",
            batch.first().map_or("", |d| d.filename.as_str()),
            batch.last().map_or("", |d| d.filename.as_str())
        ));
        match client.put_batch(&batch).await {
            Ok(results) => {
                for (document, result) in batch.into_iter().zip(results) {
                    let outcome = batch_outcome(client, &document, result).await;
                    tally.record(&document.filename, outcome, args, bar);
                    bar.inc(1);
                }
            }
            // A server without batches: the same files one request each.
            Err(error) if matches!(&error, ClientError::Api { status: 404 | 405, .. }) => {
                for document in batch {
                    let outcome = upload_cda(client, document.bytes).await;
                    tally.record(&document.filename, outcome, args, bar);
                    bar.inc(1);
                }
            }
            Err(error) => {
                let error = anyhow::Error::from(error);
                let reason = crate::output::error_line(&error);
                for document in batch {
                    tally.record(&document.filename, Err(anyhow::anyhow!("{reason}")), args, bar);
                    bar.inc(1);
                }
            }
        }
    }
}

/// One document's answer in a batch, read as [`upload_cda`] reads a single upload's.
async fn batch_outcome(
    client: &RepositoryClient,
    document: &medgate_client::BatchDocument,
    result: medgate_client::BatchResult,
) -> anyhow::Result<Upload> {
    if let Some(stored) = result.document {
        for warning in &result.warnings {
            eprintln!("warning: {}: {warning}", document.filename);
        }
        return Ok(Upload::Stored(stored));
    }
    let Some(refusal) = result.error else {
        anyhow::bail!("the server's answer for this document says neither stored nor refused");
    };
    let error = refusal.into_error();
    if error.api_code() == Some("document_exists") {
        if let Some(existing) = already_stored(client, &document.bytes).await? {
            return Ok(Upload::AlreadyStored(existing));
        }
    }
    Err(error.into())
}

pub async fn put_attachment(
    client_args: &ClientArgs,
    args: &PutAttachmentArgs,
) -> anyhow::Result<ExitCode> {
    let bytes = read_file(&args.file)?;
    let content_type = args
        .content_type
        .as_deref()
        .unwrap_or_else(|| guess_content_type(&args.file));
    let client = client_args.connect()?;
    let target = AttachmentTarget {
        patient: &args.patient,
        title: &args.title,
        type_code: args.type_code.as_deref(),
        content_type,
    };
    let document = upload_attachment(&client, bytes, &target).await?;
    if args.json {
        print_json(&json!({ "status": "stored", "document": document }))?;
    } else {
        println!("stored {}", describe(&document));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn search(client_args: &ClientArgs, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let mut query = vec![
        format!("limit={}", args.limit),
        format!("offset={}", args.offset),
    ];
    for (name, value) in [
        ("patient", &args.patient),
        ("from", &args.from),
        ("to", &args.to),
        ("type", &args.type_code),
        ("author", &args.author),
        ("title", &args.title),
    ] {
        if let Some(value) = value {
            query.push(format!("{name}={}", urlencoding::encode(value)));
        }
    }
    let client = client_args.connect()?;
    let answer: Value = client
        .get_json(&format!("/api/v1/documents?{}", query.join("&")))
        .await?;
    if args.json {
        print_json(&answer)?;
    } else {
        print_table(&answer, args.offset);
    }
    Ok(ExitCode::SUCCESS)
}

/// Cuts `text` to `width` characters, marking the cut.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut clipped: String = text.chars().take(width.saturating_sub(1)).collect();
        clipped.push('…');
        clipped
    }
}

/// The identifier a search by patient matched, as `root^extension`, when it is not the
/// document's main one.
fn matched_other(document: &Value) -> Option<String> {
    let matched = document.get("matched_patient").filter(|m| m.is_object())?;
    if *matched == document["patient"] {
        return None;
    }
    Some(format!(
        "{}^{}",
        matched["root"].as_str().unwrap_or("-"),
        matched["extension"].as_str().unwrap_or("-")
    ))
}

/// A document's date as the document says it (`2014-09-17 19:04 -05:00`, `2014-09-17` for
/// a day), from the server's `effective_time_text`; a server that does not send it gives the
/// instant's date.
fn shown_date(document: &Value) -> String {
    match document["effective_time_text"].as_str() {
        Some(text) => text.to_owned(),
        None => document["effective_time"]
            .as_str()
            .map(|t| t.chars().take(10).collect())
            .unwrap_or_else(|| "-".into()),
    }
}

/// Search results as a table: date, id, type, title, patient, author, and whether the
/// document is stored here and shared with the patient by a consent in force.
fn print_table(answer: &Value, offset: u32) {
    let documents = answer["documents"].as_array().cloned().unwrap_or_default();
    let text = |value: &Value| value.as_str().unwrap_or("-").to_owned();
    let mark = |value: &Value| {
        let yes = value.as_bool() == Some(true);
        (if yes { "yes" } else { "no" }).to_owned()
    };
    let rows: Vec<[String; 8]> = documents
        .iter()
        .map(|d| {
            [
                shown_date(d),
                text(&d["id"]),
                text(&d["type_code"]),
                clip(&text(&d["title"]), 40),
                text(&d["patient"]["extension"]),
                clip(&text(&d["author"]), 30),
                mark(&d["stored"]),
                mark(&d["consent"]),
            ]
        })
        .collect();
    let headings = [
        "DATE", "ID", "TYPE", "TITLE", "PATIENT", "AUTHOR", "STORED", "CONSENT",
    ];
    // A search by patient that matched a document by another of its identifiers (a local
    // id, not the PESEL shown under PATIENT) says which, in one more column.
    let matched: Vec<Option<String>> = documents.iter().map(matched_other).collect();
    if matched.iter().any(Option::is_some) {
        let rows: Vec<[String; 9]> = rows
            .into_iter()
            .zip(&matched)
            .map(|(row, matched)| {
                let [a, b, c, d, e, f, g, h] = row;
                [a, b, c, d, e, matched.clone().unwrap_or_else(|| "-".into()), f, g, h]
            })
            .collect();
        let headings = [
            "DATE", "ID", "TYPE", "TITLE", "PATIENT", "MATCHED", "AUTHOR", "STORED", "CONSENT",
        ];
        crate::output::print_table(headings, &rows);
    } else {
        crate::output::print_table(headings, &rows);
    }
    let total = answer["total"].as_u64().unwrap_or(0);
    if total == 0 {
        println!("no documents found");
    } else if documents.is_empty() {
        println!("no documents past result {offset} ({total} found in all)");
    } else {
        let first = u64::from(offset) + 1;
        let last = u64::from(offset) + documents.len() as u64;
        println!("documents {first}-{last} of {total}");
    }
}

/// Writes a download atomically, owner-readable only (these are medical records).
fn write_output(path: &Path, bytes: &[u8], force: bool) -> anyhow::Result<()> {
    let mode = if force {
        WriteMode::Replace
    } else {
        WriteMode::CreateNew
    };
    medgate_pki::files::write(path, bytes, mode, Visibility::Secret).with_context(|| {
        format!(
            "{}: not written (use --force to replace an existing file)",
            path.display()
        )
    })
}

fn header_text<'a>(response: &'a ApiResponse, name: &str) -> Option<&'a str> {
    response.headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn get(client_args: &ClientArgs, args: &GetArgs) -> anyhow::Result<ExitCode> {
    let client = client_args.connect()?;
    let response = client
        .send(Method::GET, &document_path(&args.id, ""), None)
        .await?;
    // The server hashed what it sent; a difference means the bytes changed on the way.
    let expected = header_text(&response, CONTENT_SHA256_HEADER)
        .ok_or_else(|| {
            ClientError::Connection(format!(
                "the server sent no {CONTENT_SHA256_HEADER} header; the download cannot be checked"
            ))
        })?
        .to_ascii_lowercase();
    let actual = medgate_cda::hashes(&response.body).sha256_hex;
    if actual != expected {
        anyhow::bail!(
            "the download of {} is damaged: SHA-256 {actual}, but the server sent {expected}; nothing was written",
            args.id
        );
    }
    write_output(&args.out, &response.body, args.force)?;
    if args.json {
        print_json(&json!({
            "id": args.id,
            "file": args.out.display().to_string(),
            "bytes": response.body.len(),
            "sha256": actual,
            "sha256_verified": true,
        }))?;
    } else {
        println!(
            "wrote {} ({} bytes, sha256 {actual} verified)",
            args.out.display(),
            response.body.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn render(client_args: &ClientArgs, args: &RenderArgs) -> anyhow::Result<ExitCode> {
    let client = client_args.connect()?;
    let response = client
        .send(Method::GET, &document_path(&args.id, "/render"), None)
        .await?;
    // The page is only safe to open under the policy it was made for; a server that does not
    // send it is refused rather than trusted.
    let Some(policy) = header_text(&response, "content-security-policy").map(str::to_owned) else {
        anyhow::bail!(
            "the server sent the HTML view without a Content-Security-Policy; nothing was written"
        );
    };
    write_output(&args.out, &response.body, args.force)?;
    if args.json {
        print_json(&json!({
            "id": args.id,
            "file": args.out.display().to_string(),
            "bytes": response.body.len(),
            "content_security_policy": policy,
        }))?;
    } else {
        println!(
            "wrote {} ({} bytes; served with Content-Security-Policy: {policy})",
            args.out.display(),
            response.body.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn export(client_args: &ClientArgs, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let client = client_args.connect()?;
    let response = client
        .send(Method::GET, &document_path(&args.id, "/export"), None)
        .await?;
    write_output(&args.out, &response.body, args.force)?;
    if args.json {
        print_json(&json!({
            "id": args.id,
            "file": args.out.display().to_string(),
            "bytes": response.body.len(),
        }))?;
    } else {
        println!(
            "wrote {} ({} bytes)",
            args.out.display(),
            response.body.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn delete(client_args: &ClientArgs, args: &DeleteArgs) -> anyhow::Result<ExitCode> {
    let client = client_args.connect()?;
    let answer: Value = client
        .send(Method::DELETE, &document_path(&args.id, ""), None)
        .await?
        .json()?;
    if args.json {
        print_json(&answer)?;
    } else {
        println!("deleted {}", answer["deleted"].as_str().unwrap_or(&args.id));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_percent_encoded_in_paths() {
        assert_eq!(
            document_path("2.16.840.1.113883.19.5^TT 98/8", "/render"),
            "/api/v1/documents/2.16.840.1.113883.19.5%5ETT%2098%2F8/render"
        );
    }

    #[test]
    fn content_types_come_from_extensions() {
        assert_eq!(guess_content_type(Path::new("scan.PDF")), "application/pdf");
        assert_eq!(guess_content_type(Path::new("photo.jpeg")), "image/jpeg");
        assert_eq!(guess_content_type(Path::new("page.tiff")), "image/tiff");
        assert_eq!(
            guess_content_type(Path::new("notes")),
            "application/octet-stream"
        );
    }

    #[test]
    fn long_cells_are_clipped() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
