//! The content store: the bytes of documents and attachments under random [`ContentKey`]s,
//! in a folder ([`FilesystemContent`]) or an S3-compatible object store ([`S3Content`]); and
//! a few named records beside them ([`RecordKey`], e.g. signed audit checkpoints), which
//! [`ContentStore::list`] never returns, so the orphan sweep never removes them.

mod filesystem;
mod group_sync;
mod s3;

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use crate::error::ContentError;
use crate::staging::StagedFile;
use crate::values::{ContentKey, RecordKey};

pub use filesystem::{BackupHold, FilesystemContent};
pub use s3::{S3Config, S3Content};

/// An object in the content store, as listed for the orphan sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentObject {
    pub key: ContentKey,
    /// When the object was last written.
    pub modified_at: OffsetDateTime,
}

/// Where document bytes live. Implementations are safe to share between tasks
/// (`Arc<dyn ContentStore>`).
#[async_trait]
pub trait ContentStore: Send + Sync + std::fmt::Debug {
    /// Stores the bytes under `key`, replacing what was there. Returns only once the bytes
    /// are durable (on disk after `syncfs`; acknowledged by the object store).
    async fn put(&self, key: &ContentKey, bytes: Bytes) -> Result<(), ContentError>;

    /// Stores a staged upload under `key`, as [`ContentStore::put`] does (replacing what was
    /// there, durable when it returns), without holding it in memory: a folder moves the file
    /// into place (or copies it when it is on another file system), an object store uploads
    /// it from the file in parts. The staged file is consumed: moved, or removed when this
    /// returns, whether it succeeded or not.
    async fn put_file(&self, key: &ContentKey, file: StagedFile) -> Result<(), ContentError>;

    /// The bytes stored under `key`; [`ContentError::NotFound`] if there are none.
    async fn get(&self, key: &ContentKey) -> Result<Bytes, ContentError>;

    /// Removes the bytes under `key`. Removing a key that is not there is not an error, so a
    /// retried delete succeeds.
    async fn delete(&self, key: &ContentKey) -> Result<(), ContentError>;

    /// Whether anything is stored under `key`.
    async fn exists(&self, key: &ContentKey) -> Result<bool, ContentError>;

    /// Every content object in the store, in no particular order. Records are not listed.
    async fn list(&self) -> Result<Vec<ContentObject>, ContentError>;

    /// Stores a record, replacing one of the same key; durable when it returns, like `put`.
    async fn put_record(&self, key: &RecordKey, bytes: Bytes) -> Result<(), ContentError>;

    /// A record's bytes; [`ContentError::RecordNotFound`] if there is none.
    async fn get_record(&self, key: &RecordKey) -> Result<Bytes, ContentError>;

    /// The records of one namespace, in no particular order (names that are not valid record
    /// names, e.g. temporary files, are left out).
    async fn list_records(&self, namespace: &str) -> Result<Vec<RecordKey>, ContentError>;

    /// Whether the store answers now, for the node's readiness check: one cheap request
    /// (a folder's `stat`; an object store's `HEAD` of a name never written, whose "not
    /// found" is the answer wanted). Reads nothing stored and writes nothing.
    async fn check_reachable(&self) -> Result<(), ContentError>;

    /// Removes the temporary files a crash left behind that are older than `age` (by their
    /// own write time), and says how many. Run by the background sweep, never at start, so
    /// that a start does no work per stored file. A store that leaves no such files (an
    /// object store's upload is whole or absent) has nothing to do.
    async fn remove_stale_partials(&self, _age: std::time::Duration) -> Result<u64, ContentError> {
        Ok(0)
    }

    /// True while removals are held (a backup is reading the folder store, see
    /// [`crate::BackupHold`]): `delete` then removes nothing, and the orphan sweep waits.
    fn removals_held(&self) -> bool {
        false
    }
}
