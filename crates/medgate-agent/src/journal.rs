//! The durable journal: one small JSON file per outbox file under `STATE/journal/`, written
//! with write-to-temporary, fsync, rename and fsync of the folder, so that after a crash —
//! even a SIGKILL in the middle of an upload — the agent knows every file's stage and
//! resumes where it was.
//!
//! A file moves through `pending` (classified; possibly waiting for its local days) →
//! `uploading` (a request may have reached the repository) → `uploaded` (the repository
//! answered 201 or 409 `document_exists`), after which the file leaves the outbox and its
//! entry is deleted. Side stages: `skipped` (its type is not archived automatically; the
//! file stays), `rejected` (being moved to `rejected/`), `unrecognised` (neither a CDA
//! document nor described by a sidecar).
//!
//! The journal never decides alone whether something is stored: an entry found in
//! `uploading` after a restart is simply uploaded again, and the repository's 409
//! `document_exists` makes that harmless.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};

use crate::error::AgentError;
use crate::outbox::{remove_durably, write_atomically};

/// Size and modification time of a file: what tells the agent that the file it journalled
/// is still the one in the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub size: u64,
    /// Nanoseconds since the Unix epoch (0 for older times, which do not occur in practice).
    pub modified_ns: u64,
}

impl Fingerprint {
    pub fn new(size: u64, modified: SystemTime) -> Fingerprint {
        let modified_ns = modified
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Fingerprint { size, modified_ns }
    }
}

/// What kind of upload a file is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// A CDA document: the bytes go to `POST /api/v1/documents`.
    Cda,
    /// An attachment described by a sidecar: `POST /api/v1/attachments`.
    Attachment {
        patient: String,
        title: String,
        content_type: String,
    },
}

/// What the agent knows about a file once it has read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// SHA-256 of the bytes, lowercase hex: checked again before upload and before removal.
    pub sha256: String,
    /// The document id (`root^extension`) the repository will know it by.
    pub document_id: String,
    /// The catalogue type code whose policy applies.
    pub type_code: String,
    #[serde(flatten)]
    pub kind: Kind,
}

/// Where a file is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Classified, not uploaded; `not_before` (Unix seconds) while it is kept locally.
    Pending { not_before: Option<u64> },
    /// Its type is not archived automatically.
    Skipped,
    /// A request may have reached the repository.
    Uploading,
    /// The repository has it under `id`; `already_stored` when it answered 409.
    Uploaded { id: String, already_stored: bool },
    /// Refused for good; being moved to `rejected/`.
    Rejected { reason: String },
    /// Neither a CDA document nor described by a sidecar.
    Unrecognised,
}

impl Stage {
    /// The stage's name as the journal files write it.
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Pending { .. } => "pending",
            Stage::Skipped => "skipped",
            Stage::Uploading => "uploading",
            Stage::Uploaded { .. } => "uploaded",
            Stage::Rejected { .. } => "rejected",
            Stage::Unrecognised => "unrecognised",
        }
    }
}

/// One outbox file's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The outbox file name.
    pub file: String,
    pub fingerprint: Fingerprint,
    /// Absent when the file could not be classified (unrecognised, or rejected on reading).
    pub item: Option<Item>,
    #[serde(flatten)]
    pub stage: Stage,
    /// Upload attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Unix seconds of the last change.
    pub updated: u64,
}

/// The journal folder and the entries read from it.
#[derive(Debug)]
pub struct Journal {
    folder: PathBuf,
    entries: BTreeMap<String, Entry>,
}

const EXTENSION: &str = "json";

impl Journal {
    /// Opens (creating) the journal folder and reads every entry. Temporary files of an
    /// interrupted write are removed: the entry they were replacing is still complete. An
    /// unreadable entry is set aside as `*.corrupt` and its file treated as new, which is
    /// safe because uploading it again is answered 409 `document_exists`.
    pub fn open(folder: &Path) -> Result<Journal, AgentError> {
        fs::create_dir_all(folder)
            .map_err(AgentError::io(folder, "creating the journal folder"))?;
        let mut entries = BTreeMap::new();
        let listing =
            fs::read_dir(folder).map_err(AgentError::io(folder, "reading the journal folder"))?;
        for item in listing {
            let item = item.map_err(AgentError::io(folder, "reading the journal folder"))?;
            let path = item.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some(EXTENSION) => {}
                Some("tmp") => {
                    remove_durably(&path)
                        .map_err(AgentError::io(&path, "removing an interrupted write"))?;
                    continue;
                }
                _ => continue,
            }
            let parsed = fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    serde_json::from_slice::<Entry>(&bytes).map_err(|e| e.to_string())
                });
            match parsed {
                Ok(entry) => {
                    entries.insert(entry.file.clone(), entry);
                }
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "journal entry unreadable; set aside, its file is processed again");
                    let aside = path.with_extension("corrupt");
                    fs::rename(&path, &aside)
                        .map_err(AgentError::io(&path, "setting aside an unreadable entry"))?;
                }
            }
        }
        Ok(Journal {
            folder: folder.to_path_buf(),
            entries,
        })
    }

    /// The entry of an outbox file.
    pub fn get(&self, file: &str) -> Option<&Entry> {
        self.entries.get(file)
    }

    /// Every entry, by file name.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Records `entry` durably before returning.
    pub fn put(&mut self, mut entry: Entry) -> Result<(), AgentError> {
        entry.updated = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let path = self.path_of(&entry.file);
        let bytes = serde_json::to_vec_pretty(&entry).map_err(|e| AgentError::Io {
            path: path.clone(),
            action: "encoding a journal entry",
            source: std::io::Error::other(e),
        })?;
        write_atomically(&path, &bytes)
            .map_err(AgentError::io(&path, "writing a journal entry"))?;
        self.entries.insert(entry.file.clone(), entry);
        Ok(())
    }

    /// Deletes the entry of `file` durably.
    pub fn remove(&mut self, file: &str) -> Result<(), AgentError> {
        let path = self.path_of(file);
        remove_durably(&path).map_err(AgentError::io(&path, "removing a journal entry"))?;
        self.entries.remove(file);
        Ok(())
    }

    /// The entry's file: named by a hash of the outbox file name, so any name (spaces,
    /// non-ASCII letters, very long) maps to a short, safe file name.
    fn path_of(&self, file: &str) -> PathBuf {
        let hash = digest::digest(&digest::SHA256, file.as_bytes());
        let name = hex::encode(&hash.as_ref()[..16]);
        self.folder.join(format!("{name}.{EXTENSION}"))
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn entry(file: &str, stage: Stage) -> Entry {
        Entry {
            file: file.to_owned(),
            fingerprint: Fingerprint {
                size: 42,
                modified_ns: 1_700_000_000_123_456_789,
            },
            item: Some(Item {
                sha256: sha256_hex(b"x"),
                document_id: "2.999.1^42".into(),
                type_code: "KIF".into(),
                kind: Kind::Attachment {
                    patient: "02070803628".into(),
                    title: "Skan".into(),
                    content_type: "application/pdf".into(),
                },
            }),
            stage,
            attempts: 0,
            updated: 0,
        }
    }

    #[test]
    fn entries_survive_a_restart_through_every_stage() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("journal");
        let mut journal = Journal::open(&folder).unwrap();
        let stages = [
            Stage::Pending { not_before: None },
            Stage::Pending {
                not_before: Some(1_800_000_000),
            },
            Stage::Uploading,
            Stage::Uploaded {
                id: "2.999.1^42".into(),
                already_stored: true,
            },
        ];
        for stage in stages {
            journal
                .put(entry("zażółć gęślą jaźń.xml", stage.clone()))
                .unwrap();
            // A fresh process sees exactly the last stage written.
            let reopened = Journal::open(&folder).unwrap();
            let read = reopened.get("zażółć gęślą jaźń.xml").unwrap();
            assert_eq!(read.stage, stage);
            assert_eq!(read.item, entry("", Stage::Skipped).item);
            assert_eq!(read.fingerprint.modified_ns, 1_700_000_000_123_456_789);
            assert_eq!(reopened.entries().count(), 1);
        }
        journal.put(entry("other.xml", Stage::Skipped)).unwrap();
        journal
            .put(entry(
                "bad.xml",
                Stage::Rejected {
                    reason: "line 1".into(),
                },
            ))
            .unwrap();
        journal.put(entry("scan.bin", Stage::Unrecognised)).unwrap();
        journal.remove("zażółć gęślą jaźń.xml").unwrap();
        let reopened = Journal::open(&folder).unwrap();
        let files: Vec<&str> = reopened.entries().map(|e| e.file.as_str()).collect();
        assert_eq!(files, ["bad.xml", "other.xml", "scan.bin"]);
        // One small file per document, nothing else.
        assert_eq!(fs::read_dir(&folder).unwrap().count(), 3);
    }

    #[test]
    fn the_file_format_is_plain_json_with_the_stage_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path()).unwrap();
        journal.put(entry("a.pdf", Stage::Uploading)).unwrap();
        let file = fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let json: serde_json::Value = serde_json::from_slice(&fs::read(file).unwrap()).unwrap();
        assert_eq!(json["file"], "a.pdf");
        assert_eq!(json["stage"], "uploading");
        assert_eq!(json["item"]["kind"], "attachment");
        assert_eq!(json["item"]["document_id"], "2.999.1^42");
    }

    #[test]
    fn an_interrupted_write_leaves_the_previous_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path()).unwrap();
        journal.put(entry("a.xml", Stage::Uploading)).unwrap();
        let path = journal.path_of("a.xml");
        // A crash between writing the temporary file and the rename.
        fs::write(
            path.with_extension("json.tmp"),
            b"{\"file\": \"a.xml\", \"sta",
        )
        .unwrap();
        let reopened = Journal::open(dir.path()).unwrap();
        assert_eq!(reopened.get("a.xml").unwrap().stage, Stage::Uploading);
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn an_unreadable_entry_is_set_aside_and_its_file_treated_as_new() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path()).unwrap();
        journal.put(entry("a.xml", Stage::Uploading)).unwrap();
        let path = journal.path_of("a.xml");
        fs::write(&path, b"not json").unwrap();
        let reopened = Journal::open(dir.path()).unwrap();
        assert!(reopened.get("a.xml").is_none());
        assert!(path.with_extension("corrupt").exists());
    }
}
