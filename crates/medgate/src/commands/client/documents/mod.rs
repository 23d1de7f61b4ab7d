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

mod put;
pub(crate) use put::{put, put_attachment, upload_cda, Upload};

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
