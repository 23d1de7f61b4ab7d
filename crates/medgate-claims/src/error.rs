//! `ClaimsError`: why a package, a catalogue or a dictionary could not be read at all. The
//! findings of the control itself are not errors but `Finding`s of the protocol.

use std::path::PathBuf;

/// A failure that stops the reading of a package, catalogue or dictionary.
#[derive(Debug, thiserror::Error)]
pub enum ClaimsError {
    /// F012 801: the package is not a ZIP archive.
    #[error("{name} is not a ZIP archive ({reason})")]
    NotZip { name: String, reason: String },
    /// F012 802: a name does not follow the federal order.
    #[error("{name:?} is not a register file name of the federal order: {reason}")]
    BadFileName { name: String, reason: String },
    /// F012 803: the package lacks a file.
    #[error("package {package}: {reason}")]
    MissingFile { package: String, reason: String },
    #[error("{0} is not a reporting period (YYYY-MM, month 01–12)")]
    InvalidPeriod(String),
    #[error("{file}: the text cannot be decoded: {reason}")]
    Encoding { file: String, reason: String },
    #[error("{file}: malformed XML near byte {position}: {reason}")]
    Xml {
        file: String,
        position: u64,
        reason: String,
    },
    #[error("{file}: {reason}")]
    Catalogue { file: String, reason: String },
    #[error("{file}: {reason}")]
    Dictionary { file: String, reason: String },
    /// A list of paid case keys that cannot be read.
    #[error("{file}: {reason}")]
    PaidKeys { file: String, reason: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: the ZIP archive cannot be read: {reason}")]
    Zip { file: String, reason: String },
    /// A document (invoice, registers, MEK act) that cannot be made from a package.
    #[error("{file}: {reason}")]
    Document { file: String, reason: String },
}

impl ClaimsError {
    /// The F012 package-level code of this failure, where there is one.
    pub fn f012_code(&self) -> Option<u16> {
        match self {
            ClaimsError::NotZip { .. } | ClaimsError::Zip { .. } => Some(801),
            ClaimsError::BadFileName { .. } => Some(802),
            ClaimsError::MissingFile { .. } => Some(803),
            ClaimsError::Encoding { .. } | ClaimsError::Xml { .. } => Some(804),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> ClaimsError {
        ClaimsError::Io {
            path: path.into(),
            source,
        }
    }
}
