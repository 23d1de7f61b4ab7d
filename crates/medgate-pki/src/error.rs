//! The one error type of the certificate toolkit: every variant names the file (or input) at
//! fault and the problem in words a support desk can act on. Private key material and
//! passwords are never part of an error.

use std::path::{Path, PathBuf};

/// Result alias for the toolkit.
pub type Result<T, E = PkiError> = std::result::Result<T, E>;

/// What went wrong, and with which input.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The file could not be read or written (does not exist, permission, a directory...).
    #[error("{path}: {action} failed: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The file is there but its content is not what was expected.
    #[error("{path}: {problem}")]
    BadFile { path: PathBuf, problem: String },
    /// A refusal to replace an existing file.
    #[error("{path}: already exists; pass --force to replace it")]
    WouldOverwrite { path: PathBuf },
    /// The password does not open an encrypted key or keystore.
    #[error("{path}: wrong password (or the file is damaged)")]
    WrongPassword { path: PathBuf },
    /// The encrypted file needs a password and none was given.
    #[error("{path}: the file is encrypted; give its password with --password-file")]
    PasswordRequired { path: PathBuf },
    /// An argument or combination of arguments that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// A cryptographic operation failed for a reason the library does not detail.
    #[error("{0}")]
    Crypto(String),
}

impl PkiError {
    /// A problem with the content of `path`.
    pub fn bad_file(path: &Path, problem: impl Into<String>) -> Self {
        PkiError::BadFile {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// An I/O failure while doing `action` on `path`.
    pub fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        PkiError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}
