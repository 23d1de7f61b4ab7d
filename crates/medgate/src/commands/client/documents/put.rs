//! Uploads: one CDA document or attachment, or a folder (CDA files in batches of
//! `POST /api/v1/documents/batch`, other files one by one), with "already stored" for a
//! re-run.

use super::*;

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
    // Runs of CDA files go in batches; other files one by one, in name order.
    for run in files.chunk_by(|a, b| is_xml(a) == is_xml(b)) {
        if run.first().is_some_and(|path| is_xml(path)) {
            put_cda_run(client, run.iter().collect(), args, &bar, &mut tally).await;
            continue;
        }
        for path in run {
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
