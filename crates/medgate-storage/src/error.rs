//! Errors of the metadata store, the content store and the orphan sweep. Domain refusals
//! (duplicate, quota, replay) are variants of their own so the server can map each to a
//! status code; driver failures are wrapped in the opaque [`BackendError`] so that no sqlx or
//! object_store type leaks into this crate's public API.

use std::fmt;

use medgate_ids::{Oid, TenantId};

use crate::values::{ContentKey, DocumentId, RecordKey, Sha256Digest};

/// A failure inside a database driver or an object store client, kept opaque. Its `Display`
/// is the driver's message (connection refused, syntax error, timeout…); it never contains
/// stored values or credentials.
pub struct BackendError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl BackendError {
    pub(crate) fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        BackendError(Box::new(error))
    }
}

impl fmt::Debug for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Why a metadata operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The URL names neither SQLite nor PostgreSQL. Only the scheme is kept: the rest of a
    /// URL may hold a password.
    #[error("unsupported database URL scheme '{scheme}': expected sqlite:// or postgres://")]
    UnsupportedUrl { scheme: String },

    #[error("tenant {0} already exists")]
    TenantExists(TenantId),

    #[error("tenant {0} does not exist")]
    TenantNotFound(TenantId),

    /// A domain or repository id is already assigned to another tenant.
    #[error("identifier {0} is already assigned to another tenant")]
    IdentifierInUse(Oid),

    #[error("a certificate with SHA-256 fingerprint {0} is already registered")]
    CertificateExists(Sha256Digest),

    #[error("document {0} already exists for this tenant")]
    DocumentExists(DocumentId),

    #[error("version {version} of document set {set_id} already exists for this tenant")]
    DocumentVersionExists { set_id: DocumentId, version: u32 },

    /// Storing the document would take the tenant over its quota. All values in bytes.
    #[error(
        "quota exceeded: {used} bytes used, {requested} bytes more requested, limit {limit} bytes"
    )]
    QuotaExceeded {
        used: u64,
        requested: u64,
        limit: u64,
    },

    #[error("file limit reached: the tenant already holds {limit} files, its maximum")]
    FileLimitReached { limit: u64 },

    #[error("unknown document type code '{0}'")]
    UnknownDocumentType(String),

    /// The signature was already used within its validity window.
    #[error("signature already used (replay) for key '{key_id}'")]
    SignatureReplayed { key_id: String },

    /// A number does not fit the database's signed 64-bit integers.
    #[error("{field} is too large to store ({value})")]
    ValueTooLarge { field: &'static str, value: u64 },

    /// A clinical service connection lists one practitioner's service user name twice.
    #[error("practitioner user name {0} is listed twice; each practitioner once")]
    PractitionerListedTwice(String),

    /// A stored value no longer parses: the database was changed outside medgate.
    #[error("stored {field} is not valid: {problem}")]
    CorruptValue {
        field: &'static str,
        problem: String,
    },

    #[error("database migration failed: {0}")]
    Migration(#[source] BackendError),

    #[error("database error while trying to {operation}: {source}")]
    Database {
        operation: &'static str,
        #[source]
        source: BackendError,
    },
}

/// Why a content store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    #[error("content {0} not found")]
    NotFound(ContentKey),

    #[error("record {0} not found")]
    RecordNotFound(RecordKey),

    #[error("{0}")]
    InvalidRecordKey(crate::values::InvalidValue),

    #[error("could not {operation} {path}: {source}")]
    Io {
        operation: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("object store error while trying to {operation}: {source}")]
    ObjectStore {
        operation: &'static str,
        #[source]
        source: BackendError,
    },

    #[error("invalid object store configuration: {0}")]
    Configuration(String),

    #[error("the system random number generator failed")]
    Random,
}

/// Why the orphan sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error(transparent)]
    Content(#[from] ContentError),
}

impl MetadataError {
    pub(crate) fn database(operation: &'static str) -> impl FnOnce(sqlx::Error) -> MetadataError {
        move |source| MetadataError::Database {
            operation,
            source: BackendError::new(source),
        }
    }

    pub(crate) fn corrupt(field: &'static str, problem: impl fmt::Display) -> MetadataError {
        MetadataError::CorruptValue {
            field,
            problem: problem.to_string(),
        }
    }
}
