//! Backup and restore of a node on the embedded deployment (SQLite and a content folder):
//! `medgate backup` and `medgate restore`.
//!
//! A backup is one tar file, written while the node runs:
//!
//! | entry | what |
//! |---|---|
//! | `secrets.tar.age` | the CA folder (`ca/`), the server certificate and key (`server/`) and the secrets (`secrets/`, with the credentials key): a tar encrypted with a passphrase (age, scrypt) |
//! | `medgate.db` | a consistent snapshot of the database (`medgate_storage::backup::SqliteSnapshot`) |
//! | `content/<namespace>/<name>` | the records kept beside the content (audit checkpoints) that existed when the snapshot began |
//! | `content/aa/bb/<key>` | the content file of every document of the snapshot |
//! | `MANIFEST` | last: `<sha256>  <size>  <entry>` for every entry above, then `manifest <sha256>` of the lines before it |
//!
//! Order of the work: the content folder is held (`medgate_storage::BackupHold`: no content
//! file is removed, by a deletion or by the orphan sweep, while it lives), the records are
//! listed, the database is snapshotted, then the files the snapshot's rows reference are read
//! one at a time (content files are written once and never changed, so each is as the snapshot
//! knew it). Memory stays flat: keys are streamed from the snapshot, files streamed into the
//! archive, the manifest written to a file beside it.
//!
//! A restore reads the archive once, writes into a temporary folder beside the target, checks
//! every entry's hash against the manifest (and every byte of the tar framing: headers by
//! their checksums, padding and the end of the archive must be zeros), decrypts the secrets,
//! and only then renames the folder into place. Any fault is refused naming the entry.

use std::cell::RefCell;
use std::fs;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use age::secrecy::SecretString;
use aws_lc_rs::digest;
use futures_util::StreamExt;
use medgate_storage::backup::SqliteSnapshot;
use medgate_storage::values::RecordKey;
use medgate_storage::{BackupHold, ContentKey};

use crate::config::{ContentConfig, ServerConfig};

/// The first line of a manifest.
const MANIFEST_HEADER: &str = "medgate backup 1";
/// Entry names.
const SECRETS_ENTRY: &str = "secrets.tar.age";
const DATABASE_ENTRY: &str = "medgate.db";
const MANIFEST_ENTRY: &str = "MANIFEST";
/// The data folder's folders that hold keys and certificates (encrypted in a backup).
const SECRET_FOLDERS: [&str; 3] = ["ca", "server", "secrets"];
/// The encrypted secrets are read whole on restore; a CA folder is far below this.
const SECRETS_LIMIT: u64 = 256 * 1024 * 1024;

/// Why a backup or a restore stopped: one sentence naming what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackupError(String);

impl BackupError {
    fn io(operation: &str, path: &Path) -> impl FnOnce(io::Error) -> BackupError {
        let text = format!("could not {operation} {}", path.display());
        move |error| BackupError(format!("{text}: {error}"))
    }
}

/// The passphrase that encrypts the secrets of a backup, read from a file (its first line;
/// never shown).
pub struct Passphrase(SecretString);

impl Passphrase {
    /// Reads the passphrase file: its first line, without the line end; refused when empty.
    pub fn from_file(path: &Path) -> Result<Self, BackupError> {
        let text = zeroize::Zeroizing::new(
            fs::read_to_string(path).map_err(BackupError::io("read the passphrase file", path))?,
        );
        let line = text.lines().next().unwrap_or_default();
        if line.trim().is_empty() {
            return Err(BackupError(format!(
                "the passphrase file {} is empty: write the passphrase on its first line",
                path.display()
            )));
        }
        Ok(Passphrase(SecretString::from(line.to_owned())))
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

/// What a backup holds.
#[derive(Clone, Copy, Debug, Default)]
pub struct BackupSummary {
    /// Documents (and attachments) of the snapshot, each with its content file.
    pub documents: u64,
    /// Records kept beside the content (audit checkpoints).
    pub records: u64,
    /// Files of the CA folder and secrets (encrypted).
    pub secret_files: u64,
    /// Size of the archive.
    pub bytes: u64,
}

/// The sentence that refuses a backup of a node whose data is not in its folder.
fn scale_out_refusal(what: &str) -> BackupError {
    BackupError(format!(
        "this node keeps {what}: `medgate backup` copies a node on SQLite with a content folder \
         only. Back it up as the README's \"Backup and restore\" says: pg_dump of the database, \
         a copy of the bucket (aws s3 sync), and `medgate backup --secrets-only` for the CA \
         folder and secrets"
    ))
}

/// Writes a backup of the node `config` describes into the new file `out`. With
/// `secrets_only`, the archive holds the CA folder and secrets alone (the part of a
/// PostgreSQL + S3 node that lives in its data folder). `progress(done, total)` is called as
/// documents are copied.
pub async fn create(
    config: &ServerConfig,
    out: &Path,
    passphrase: &Passphrase,
    secrets_only: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BackupSummary, BackupError> {
    let database = crate::startup::sqlite_file(&config.database_url);
    let content_root = match &config.content {
        ContentConfig::Filesystem { root } => Some(root.clone()),
        ContentConfig::S3 { .. } => None,
    };
    let (database, content_root) = match (secrets_only, database, content_root) {
        (true, _, _) => (None, None),
        (false, None, _) => return Err(scale_out_refusal("its metadata in PostgreSQL")),
        (false, Some(_), None) => return Err(scale_out_refusal("its content in an S3 bucket")),
        (false, Some(database), Some(root)) => (Some(database), Some(root)),
    };
    if !config.data_dir.join("ca").join("ca.pem").is_file() {
        return Err(BackupError(format!(
            "there is no medgate node in {} (no CA folder ca/): give the node's folder with --data",
            config.data_dir.display()
        )));
    }
    if let Some(database) = &database {
        if !database.is_file() {
            return Err(BackupError(format!(
                "there is no database at {}: give the node's folder with --data",
                database.display()
            )));
        }
    }
    if out.exists() {
        return Err(BackupError(format!(
            "{} exists: a backup never overwrites a file; give a new name with --out",
            out.display()
        )));
    }
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let work = tempfile::Builder::new()
        .prefix(".medgate-backup-")
        .tempdir_in(&parent)
        .map_err(BackupError::io("create a temporary folder in", &parent))?;
    let archive_path = work.path().join("archive");
    let manifest_path = work.path().join("manifest");
    let archive_file =
        fs::File::create(&archive_path).map_err(BackupError::io("create", &archive_path))?;
    let mut archive = tar::Builder::new(BufWriter::new(archive_file));
    archive.mode(tar::HeaderMode::Deterministic);
    let mut manifest = Manifest::create(&manifest_path)?;
    let mut summary = BackupSummary::default();

    // The snapshot first (the moment the backup stands for), then the secrets, which are
    // the first entry: a restore with the wrong passphrase is told at once.
    let secrets_path = work.path().join(SECRETS_ENTRY);
    if let (Some(database), Some(root)) = (database, content_root) {
        let hold = BackupHold::acquire(&root).map_err(|e| BackupError(e.to_string()))?;
        let records = list_records(&root)?;
        let snapshot_path = work.path().join(DATABASE_ENTRY);
        let mut snapshot = SqliteSnapshot::take(&database, &snapshot_path)
            .await
            .map_err(|e| BackupError(e.to_string()))?;
        summary.secret_files = write_secrets(config, &secrets_path, passphrase)?;
        append_file(&mut archive, &mut manifest, SECRETS_ENTRY, &secrets_path)?;
        let total = snapshot
            .document_count()
            .await
            .map_err(|e| BackupError(e.to_string()))?;
        tokio::task::block_in_place(|| {
            append_file(&mut archive, &mut manifest, DATABASE_ENTRY, &snapshot_path)
        })?;
        for (name, path) in &records {
            tokio::task::block_in_place(|| append_file(&mut archive, &mut manifest, name, path))?;
            summary.records += 1;
        }
        progress(0, total);
        let mut refreshed = Instant::now();
        let mut keys = snapshot.content_keys();
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| BackupError(e.to_string()))?;
            let name = content_entry(&key);
            let path = root
                .join(&key.as_str()[0..2])
                .join(&key.as_str()[2..4])
                .join(key.as_str());
            if !path.is_file() {
                return Err(BackupError(format!(
                    "the content file {} of a document in the database is missing: the content \
                     folder lost it (the node's `medgate audit verify` and its logs say more); \
                     no backup was written",
                    path.display()
                )));
            }
            tokio::task::block_in_place(|| append_file(&mut archive, &mut manifest, &name, &path))?;
            summary.documents += 1;
            progress(summary.documents, total);
            if refreshed.elapsed() > Duration::from_secs(60) {
                hold.refresh().map_err(|e| BackupError(e.to_string()))?;
                refreshed = Instant::now();
            }
        }
        drop(keys);
        snapshot
            .close()
            .await
            .map_err(|e| BackupError(e.to_string()))?;
        drop(hold);
    } else {
        summary.secret_files = write_secrets(config, &secrets_path, passphrase)?;
        append_file(&mut archive, &mut manifest, SECRETS_ENTRY, &secrets_path)?;
    }

    manifest.finish_into(&mut archive)?;
    let writer = archive
        .into_inner()
        .map_err(BackupError::io("finish", &archive_path))?;
    let file = writer
        .into_inner()
        .map_err(|e| BackupError::io("write", &archive_path)(e.into_error()))?;
    file.sync_all()
        .map_err(BackupError::io("write", &archive_path))?;
    summary.bytes = file
        .metadata()
        .map_err(BackupError::io("inspect", &archive_path))?
        .len();
    drop(file);
    // A link, not a rename: it fails rather than replace a file made meanwhile.
    fs::hard_link(&archive_path, out).map_err(BackupError::io("create", out))?;
    fs::File::open(&parent)
        .and_then(|folder| folder.sync_all())
        .map_err(BackupError::io("write", &parent))?;
    Ok(summary)
}

/// `content/aa/bb/<key>`.
fn content_entry(key: &ContentKey) -> String {
    let key = key.as_str();
    format!("content/{}/{}/{key}", &key[0..2], &key[2..4])
}

/// The records beside the content (`<root>/<namespace>/<name>`) as entry names and paths.
fn list_records(root: &Path) -> Result<Vec<(String, PathBuf)>, BackupError> {
    let mut records = Vec::new();
    for folder in fs::read_dir(root).map_err(BackupError::io("list", root))? {
        let folder = folder.map_err(BackupError::io("list", root))?;
        let namespace = folder.file_name().to_string_lossy().into_owned();
        if !folder.path().is_dir() || RecordKey::new(&namespace, "x").is_err() {
            continue;
        }
        for file in fs::read_dir(folder.path()).map_err(BackupError::io("list", &folder.path()))? {
            let file = file.map_err(BackupError::io("list", &folder.path()))?;
            let name = file.file_name().to_string_lossy().into_owned();
            if file.path().is_file() && RecordKey::new(&namespace, &name).is_ok() {
                records.push((format!("content/{namespace}/{name}"), file.path()));
            }
        }
    }
    records.sort();
    Ok(records)
}

/// Writes the CA folder, `server/` and `secrets/` (and the credentials key when it is kept
/// outside the data folder) as a tar encrypted with the passphrase; returns the file count.
fn write_secrets(
    config: &ServerConfig,
    out: &Path,
    passphrase: &Passphrase,
) -> Result<u64, BackupError> {
    let file = fs::File::create(out).map_err(BackupError::io("create", out))?;
    let encryptor = age::Encryptor::with_user_passphrase(passphrase.0.clone());
    let writer = encryptor
        .wrap_output(BufWriter::new(file))
        .map_err(BackupError::io("encrypt into", out))?;
    let mut inner = tar::Builder::new(writer);
    inner.follow_symlinks(false);
    let mut count = 0;
    for folder in SECRET_FOLDERS {
        let dir = config.data_dir.join(folder);
        if dir.is_dir() {
            count += add_tree(&mut inner, &dir, Path::new(folder))?;
        }
    }
    let key = &config.credentials_key_file;
    let inside = key.starts_with(config.data_dir.join("secrets"));
    if !inside && key.is_file() {
        inner
            .append_path_with_name(key, "secrets/credentials.key")
            .map_err(BackupError::io("add to the backup", key))?;
        count += 1;
    }
    let writer = inner
        .into_inner()
        .map_err(BackupError::io("encrypt into", out))?;
    let buffered = writer
        .finish()
        .map_err(BackupError::io("encrypt into", out))?;
    let file = buffered
        .into_inner()
        .map_err(|e| BackupError::io("write", out)(e.into_error()))?;
    file.sync_all().map_err(BackupError::io("write", out))?;
    Ok(count)
}

/// Adds the files below `dir` to `inner` under `name`; returns how many.
fn add_tree<W: Write>(
    inner: &mut tar::Builder<W>,
    dir: &Path,
    name: &Path,
) -> Result<u64, BackupError> {
    let mut count = 0;
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(BackupError::io("list", dir))?
        .collect::<Result<_, _>>()
        .map_err(BackupError::io("list", dir))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(BackupError::io("inspect", &path))?;
        let entry_name = name.join(entry.file_name());
        if kind.is_dir() {
            count += add_tree(inner, &path, &entry_name)?;
        } else if kind.is_file() {
            inner
                .append_path_with_name(&path, &entry_name)
                .map_err(BackupError::io("add to the backup", &path))?;
            count += 1;
        }
    }
    Ok(count)
}

/// Appends the file `path` as the entry `name`, hashing it on the way, and writes its
/// manifest line.
fn append_file<W: Write>(
    archive: &mut tar::Builder<W>,
    manifest: &mut Manifest,
    name: &str,
    path: &Path,
) -> Result<(), BackupError> {
    let file = fs::File::open(path).map_err(BackupError::io("read", path))?;
    let size = file
        .metadata()
        .map_err(BackupError::io("inspect", path))?
        .len();
    let mut header = tar::Header::new_ustar();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_entry_type(tar::EntryType::Regular);
    let mut reader = Hashing::new(file.take(size));
    archive
        .append_data(&mut header, name, &mut reader)
        .map_err(BackupError::io("add to the backup", path))?;
    if reader.length != size {
        return Err(BackupError(format!(
            "{} changed while it was copied ({size} bytes expected, {} read)",
            path.display(),
            reader.length
        )));
    }
    manifest.line(&reader.hex(), size, name)
}

/// A reader that hashes (SHA-256) and counts what passes through it.
struct Hashing<R> {
    inner: R,
    context: digest::Context,
    length: u64,
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            context: digest::Context::new(&digest::SHA256),
            length: 0,
        }
    }

    fn hex(&self) -> String {
        hex::encode(self.context.clone().finish().as_ref())
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.context.update(&buf[..n]);
        self.length += n as u64;
        Ok(n)
    }
}

/// The manifest, written to a file as the archive grows.
struct Manifest {
    path: PathBuf,
    writer: BufWriter<fs::File>,
    context: digest::Context,
}

impl Manifest {
    fn create(path: &Path) -> Result<Self, BackupError> {
        let file = fs::File::create(path).map_err(BackupError::io("create", path))?;
        let mut manifest = Manifest {
            path: path.to_path_buf(),
            writer: BufWriter::new(file),
            context: digest::Context::new(&digest::SHA256),
        };
        manifest.write(&format!("{MANIFEST_HEADER}\n"))?;
        Ok(manifest)
    }

    fn write(&mut self, text: &str) -> Result<(), BackupError> {
        self.context.update(text.as_bytes());
        self.writer
            .write_all(text.as_bytes())
            .map_err(BackupError::io("write", &self.path))
    }

    fn line(&mut self, sha256: &str, size: u64, name: &str) -> Result<(), BackupError> {
        self.write(&format!("{sha256}  {size}  {name}\n"))
    }

    /// Closes the manifest with its own hash and appends it as the last entry.
    fn finish_into<W: Write>(mut self, archive: &mut tar::Builder<W>) -> Result<(), BackupError> {
        let own = hex::encode(self.context.clone().finish().as_ref());
        self.writer
            .write_all(format!("manifest {own}\n").as_bytes())
            .and_then(|()| self.writer.flush())
            .map_err(BackupError::io("write", &self.path))?;
        let path = self.path.clone();
        drop(self);
        let file = fs::File::open(&path).map_err(BackupError::io("read", &path))?;
        archive
            .append_file(MANIFEST_ENTRY, &mut { file })
            .map_err(BackupError::io("add to the backup", &path))?;
        archive.finish().map_err(BackupError::io("finish", &path))
    }
}

/// What a restore wrote.
#[derive(Clone, Copy, Debug, Default)]
pub struct RestoreSummary {
    /// Content files of documents.
    pub documents: u64,
    /// Records beside the content.
    pub records: u64,
    /// Files of the CA folder and secrets.
    pub secret_files: u64,
    /// Whether the backup held a database (not one made with `--secrets-only`).
    pub database: bool,
}

/// Restores the backup `file` into the new folder `data` (absent or empty), checking every
/// hash; nothing appears at `data` unless everything was right. `progress(read, total)` is
/// called with bytes of the archive.
pub fn restore(
    file: &Path,
    data: &Path,
    passphrase: &Passphrase,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RestoreSummary, BackupError> {
    if data.exists() {
        let mut entries = fs::read_dir(data).map_err(BackupError::io("read the folder", data))?;
        if entries.next().is_some() {
            return Err(BackupError(format!(
                "{} is not empty: a restore never overwrites; give a new folder with --data",
                data.display()
            )));
        }
    }
    let parent = match data.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(BackupError::io("create", &parent))?;
    let work = tempfile::Builder::new()
        .prefix(".medgate-restore-")
        .tempdir_in(&parent)
        .map_err(BackupError::io("create a temporary folder in", &parent))?;
    let node = work.path().join("node");
    fs::create_dir(&node).map_err(BackupError::io("create", &node))?;
    let source = fs::File::open(file).map_err(BackupError::io("open the backup", file))?;
    let total = source
        .metadata()
        .map_err(BackupError::io("inspect", file))?
        .len();
    let damaged = |problem: String| {
        BackupError(format!(
            "the backup {} is damaged: {problem}",
            file.display()
        ))
    };

    let state = Rc::new(RefCell::new(Framing::default()));
    let reader = Checked {
        inner: BufReader::new(source),
        state: state.clone(),
    };
    let mut archive = tar::Archive::new(reader);
    let seen_path = work.path().join("seen");
    let mut seen = Manifest::create(&seen_path)?;
    let manifest_path = work.path().join("manifest");
    let mut summary = RestoreSummary::default();
    let mut secrets_error: Option<age::DecryptError> = None;
    let mut manifest_read = false;
    let mut previous = String::from("the start of the archive");
    let entries = archive
        .entries()
        .map_err(|e| damaged(format!("it cannot be read as a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry
            .map_err(|e| damaged(format!("the tar framing after {previous} is damaged: {e}")))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let size = entry.size();
        let kind = EntryKind::of(&name).ok_or_else(|| {
            damaged(format!(
                "it holds an entry no backup writes: {name:?} (after {previous})"
            ))
        })?;
        if manifest_read {
            return Err(damaged(format!("the entry {name} follows the manifest")));
        }
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(damaged(format!("the entry {name} is not a regular file")));
        }
        {
            let mut framing = state.borrow_mut();
            let end = entry.raw_file_position() + size;
            framing
                .zeros
                .push((end, end.div_ceil(512) * 512, name.clone()));
            framing.entry = name.clone();
        }
        let mut hashing = Hashing::new(&mut entry);
        match kind {
            EntryKind::Secrets => {
                if size > SECRETS_LIMIT {
                    return Err(damaged(format!("the entry {name} claims {size} bytes")));
                }
                let mut ciphertext = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                hashing
                    .read_to_end(&mut ciphertext)
                    .map_err(|e| damaged(format!("the entry {name} cannot be read: {e}")))?;
                match unpack_secrets(&ciphertext, passphrase, &node) {
                    Ok(count) => summary.secret_files = count,
                    Err(SecretsFailure::Decrypt(error)) => secrets_error = Some(error),
                    Err(SecretsFailure::Other(error)) => {
                        return Err(damaged(format!(
                            "the entry {name} cannot be decrypted: {error}"
                        )))
                    }
                }
            }
            EntryKind::Manifest => {
                copy_to(&mut hashing, &manifest_path, &name, &damaged)?;
                manifest_read = true;
            }
            EntryKind::Database | EntryKind::Record | EntryKind::Content => {
                let target = node.join(&name);
                if target.exists() {
                    return Err(damaged(format!("the entry {name} appears twice")));
                }
                if let Some(folder) = target.parent() {
                    fs::create_dir_all(folder).map_err(BackupError::io("create", folder))?;
                }
                copy_to(&mut hashing, &target, &name, &damaged)?;
                match kind {
                    EntryKind::Database => summary.database = true,
                    EntryKind::Record => summary.records += 1,
                    _ => summary.documents += 1,
                }
            }
        }
        if kind != EntryKind::Manifest {
            let hex = hashing.hex();
            let length = hashing.length;
            seen.line(&hex, length, &name)?;
        }
        previous = format!("the entry {name}");
        let read = state.borrow().offset;
        progress(read, total);
    }
    // After the end-of-archive block, only zeros.
    state.borrow_mut().after_end = true;
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| damaged(e.to_string()))?;
    if !manifest_read {
        return Err(damaged(format!(
            "it has no {MANIFEST_ENTRY} (the archive ends after {previous})"
        )));
    }
    compare_manifest(&manifest_path, seen, &damaged)?;
    if let Some(error) = secrets_error {
        return Err(match error {
            age::DecryptError::DecryptionFailed
            | age::DecryptError::NoMatchingKeys
            | age::DecryptError::KeyDecryptionFailed => BackupError(format!(
                "the passphrase does not open the backup {} (its secrets, the CA folder and keys, are encrypted with another one); nothing was restored",
                file.display()
            )),
            other => damaged(format!("the entry {SECRETS_ENTRY} cannot be decrypted: {other}")),
        });
    }
    progress(total, total);
    // Every file was synced as written; now the folders that name them, then the rename.
    sync_folders(&node)?;
    // Into place: the target was absent or empty (checked above).
    if data.exists() {
        fs::remove_dir(data).map_err(BackupError::io("replace the empty folder", data))?;
    }
    fs::rename(&node, data).map_err(BackupError::io("move the restored node to", data))?;
    fs::File::open(&parent)
        .and_then(|folder| folder.sync_all())
        .map_err(BackupError::io("write", &parent))?;
    Ok(summary)
}

/// Fsyncs `dir` and every folder below it, so the entries of the restored files are durable.
fn sync_folders(dir: &Path) -> Result<(), BackupError> {
    for entry in fs::read_dir(dir).map_err(BackupError::io("list", dir))? {
        let entry = entry.map_err(BackupError::io("list", dir))?;
        if entry
            .file_type()
            .map_err(BackupError::io("inspect", &entry.path()))?
            .is_dir()
        {
            sync_folders(&entry.path())?;
        }
    }
    fs::File::open(dir)
        .and_then(|folder| folder.sync_all())
        .map_err(BackupError::io("write", dir))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EntryKind {
    Secrets,
    Database,
    Record,
    Content,
    Manifest,
}

impl EntryKind {
    /// The kind of an entry name, or `None` for a name no backup writes (so nothing can be
    /// written outside the new folder).
    fn of(name: &str) -> Option<Self> {
        match name {
            SECRETS_ENTRY => return Some(EntryKind::Secrets),
            DATABASE_ENTRY => return Some(EntryKind::Database),
            MANIFEST_ENTRY => return Some(EntryKind::Manifest),
            _ => {}
        }
        let parts: Vec<&str> = name.strip_prefix("content/")?.split('/').collect();
        match parts.as_slice() {
            [namespace, record] => RecordKey::new(namespace, record)
                .ok()
                .map(|_| EntryKind::Record),
            [first, second, key] => {
                let key = ContentKey::parse(key).ok()?;
                (key.as_str()[0..2] == **first && key.as_str()[2..4] == **second)
                    .then_some(EntryKind::Content)
            }
            _ => None,
        }
    }
}

/// Copies an entry into a new file, durably.
fn copy_to(
    reader: &mut impl Read,
    target: &Path,
    name: &str,
    damaged: &dyn Fn(String) -> BackupError,
) -> Result<(), BackupError> {
    let mut file = fs::File::options()
        .write(true)
        .create_new(true)
        .open(target)
        .map_err(BackupError::io("create", target))?;
    io::copy(reader, &mut file)
        .map_err(|e| damaged(format!("the entry {name} cannot be read: {e}")))?;
    file.sync_all().map_err(BackupError::io("write", target))
}

enum SecretsFailure {
    Decrypt(age::DecryptError),
    Other(String),
}

/// Decrypts the secrets and writes their files under `node` (only into `ca/`, `server/`,
/// `secrets/`, with the modes they had).
fn unpack_secrets(
    ciphertext: &[u8],
    passphrase: &Passphrase,
    node: &Path,
) -> Result<u64, SecretsFailure> {
    let decryptor = age::Decryptor::new_buffered(ciphertext).map_err(SecretsFailure::Decrypt)?;
    let identity = age::scrypt::Identity::new(passphrase.0.clone());
    let plaintext = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(SecretsFailure::Decrypt)?;
    let mut inner = tar::Archive::new(plaintext);
    let mut count = 0;
    for entry in inner
        .entries()
        .map_err(|e| SecretsFailure::Other(e.to_string()))?
    {
        let mut entry = entry.map_err(|e| SecretsFailure::Other(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| SecretsFailure::Other(e.to_string()))?
            .into_owned();
        let allowed = path.components().all(|c| matches!(c, Component::Normal(_)))
            && path
                .components()
                .next()
                .is_some_and(|first| SECRET_FOLDERS.iter().any(|f| first.as_os_str() == *f));
        if !allowed || entry.header().entry_type() != tar::EntryType::Regular {
            return Err(SecretsFailure::Other(format!(
                "it holds {} where only files of ca/, server/ and secrets/ belong",
                path.display()
            )));
        }
        let target = node.join(&path);
        if let Some(folder) = target.parent() {
            create_private_dirs(node, folder).map_err(|e| SecretsFailure::Other(e.to_string()))?;
        }
        let mode = entry.header().mode().unwrap_or(0o600) & 0o777;
        let mut file = open_with_mode(&target, mode).map_err(|e| {
            SecretsFailure::Other(format!("could not create {}: {e}", target.display()))
        })?;
        io::copy(&mut entry, &mut file)
            .and_then(|_| file.sync_all())
            .map_err(|e| SecretsFailure::Other(format!("{}: {e}", path.display())))?;
        count += 1;
    }
    Ok(count)
}

#[cfg(unix)]
fn open_with_mode(target: &Path, mode: u32) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::File::options()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(target)
}

#[cfg(not(unix))]
fn open_with_mode(target: &Path, _mode: u32) -> io::Result<fs::File> {
    fs::File::options()
        .write(true)
        .create_new(true)
        .open(target)
}

/// Creates `folder` (below `node`) and its parents, readable by the owner only.
fn create_private_dirs(node: &Path, folder: &Path) -> io::Result<()> {
    if folder == node || folder.is_dir() {
        return Ok(());
    }
    if let Some(parent) = folder.parent() {
        create_private_dirs(node, parent)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(folder)
}

/// Checks the manifest against what was read: its own hash first, then line by line in order.
fn compare_manifest(
    manifest_path: &Path,
    seen: Manifest,
    damaged: &dyn Fn(String) -> BackupError,
) -> Result<(), BackupError> {
    let seen_path = seen.path.clone();
    let mut seen_writer = seen.writer;
    seen_writer
        .flush()
        .map_err(BackupError::io("write", &seen_path))?;
    drop(seen_writer);
    // Its own hash: every line but the last, against the last.
    let mut context = digest::Context::new(&digest::SHA256);
    let mut own = None;
    let mut lines = BufReader::new(
        fs::File::open(manifest_path).map_err(BackupError::io("read", manifest_path))?,
    );
    let mut line = String::new();
    loop {
        line.clear();
        let n = lines
            .read_line(&mut line)
            .map_err(|_| damaged(format!("its {MANIFEST_ENTRY} is not text")))?;
        if n == 0 {
            break;
        }
        if own.is_some() {
            return Err(damaged(format!(
                "its {MANIFEST_ENTRY} goes on after its last line"
            )));
        }
        match line.strip_prefix("manifest ") {
            Some(hash) => own = Some(hash.trim_end().to_owned()),
            None => context.update(line.as_bytes()),
        }
    }
    let computed = hex::encode(context.finish().as_ref());
    if own.as_deref() != Some(computed.as_str()) {
        return Err(damaged(format!(
            "its {MANIFEST_ENTRY} does not match its own SHA-256 (the list of entries is damaged)"
        )));
    }
    // Then each entry, in archive order.
    let expected = BufReader::new(
        fs::File::open(manifest_path).map_err(BackupError::io("read", manifest_path))?,
    );
    let found =
        BufReader::new(fs::File::open(&seen_path).map_err(BackupError::io("read", &seen_path))?);
    let mut expected = expected
        .lines()
        .map_while(Result::ok)
        .filter(|l| !l.starts_with("manifest "));
    let mut found = found.lines().map_while(Result::ok);
    loop {
        match (expected.next(), found.next()) {
            (None, None) => return Ok(()),
            (Some(want), Some(got)) if want == got => {}
            (Some(want), Some(got)) => {
                let (want_name, got_name) = (entry_of(&want), entry_of(&got));
                return Err(if want_name == got_name {
                    damaged(format!(
                        "the entry {got_name} does not match its SHA-256 in the manifest"
                    ))
                } else {
                    damaged(format!(
                        "the manifest lists {want_name} where the archive holds {got_name}"
                    ))
                });
            }
            (Some(want), None) => {
                return Err(damaged(format!("the entry {} is missing", entry_of(&want))))
            }
            (None, Some(got)) => {
                return Err(damaged(format!(
                    "the entry {} is not in the manifest",
                    entry_of(&got)
                )))
            }
        }
    }
}

/// The entry name of a manifest line (`<sha256>  <size>  <name>`).
fn entry_of(line: &str) -> &str {
    line.splitn(3, "  ").nth(2).unwrap_or(line)
}

/// What the reader under the tar parser knows: where it is, and which byte ranges must be
/// zeros (an entry's padding; everything after the end of the archive is checked by reading
/// it to the end with no range left, see [`Checked`]).
#[derive(Debug, Default)]
struct Framing {
    offset: u64,
    zeros: Vec<(u64, u64, String)>,
    entry: String,
    /// The parser saw the end of the archive: every byte from here on must be zero.
    after_end: bool,
}

/// The archive's reader: refuses a byte that is not zero where the format has only zeros
/// (padding after an entry, and — once the parser stopped — everything after the end).
struct Checked<R> {
    inner: R,
    state: Rc<RefCell<Framing>>,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.state.borrow_mut();
        let start = state.offset;
        let end = start + n as u64;
        if state.after_end && buf[..n].iter().any(|byte| *byte != 0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a byte after the end of the archive (after the entry {}) is not zero",
                    state.entry
                ),
            ));
        }
        for (from, to, entry) in &state.zeros {
            let (a, b) = ((*from).max(start), (*to).min(end));
            if a < b {
                let slice = &buf[usize::try_from(a - start).unwrap_or(0)
                    ..usize::try_from(b - start).unwrap_or(0)];
                if slice.iter().any(|byte| *byte != 0) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "the padding after the entry {entry} is not zeros (the tar framing)"
                        ),
                    ));
                }
            }
        }
        state.zeros.retain(|(_, to, _)| *to > end);
        state.offset = end;
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn only_the_names_a_backup_writes_are_restored() {
        let key = "3fa1c0de3fa1c0de3fa1c0de3fa1c0de";
        assert_eq!(
            EntryKind::of(&format!("content/3f/a1/{key}")),
            Some(EntryKind::Content)
        );
        assert_eq!(
            EntryKind::of("content/audit-checkpoints/00000000000000000007-1700000000.json"),
            Some(EntryKind::Record)
        );
        assert_eq!(EntryKind::of("medgate.db"), Some(EntryKind::Database));
        for name in [
            format!("content/00/a1/{key}"),
            "content/../../etc/passwd".to_owned(),
            "/etc/passwd".to_owned(),
            "content/3f/a1/../../../x".to_owned(),
            "ca/ca.key".to_owned(),
            "content/ab/x".to_owned(),
        ] {
            assert_eq!(EntryKind::of(&name), None, "{name}");
        }
    }

    #[test]
    fn the_reader_refuses_a_byte_where_the_format_has_zeros() {
        let mut bytes = vec![7u8; 10];
        bytes.extend([0u8; 6]);
        let state = Rc::new(RefCell::new(Framing::default()));
        state.borrow_mut().zeros.push((10, 16, "e".into()));
        let mut reader = Checked {
            inner: &bytes[..],
            state: state.clone(),
        };
        io::copy(&mut reader, &mut io::sink()).unwrap();
        bytes[12] = 1;
        let state = Rc::new(RefCell::new(Framing::default()));
        state.borrow_mut().zeros.push((10, 16, "e".into()));
        let mut reader = Checked {
            inner: &bytes[..],
            state,
        };
        let error = io::copy(&mut reader, &mut io::sink()).unwrap_err();
        assert!(
            error.to_string().contains("padding after the entry e"),
            "{error}"
        );
    }
}
