//! The MO's information system at the fund's claims node (`--role claims`): the
//! certificate the fund's operator issued (`medgate claims mo certificate issue`, PKCS#12
//! under a one-time code, the node's CA inside) checked and kept in a folder
//! ([`ClaimsFolder`]), and [`ClaimsClient`], which calls `/api/v1/packages` over mutual TLS
//! with it and signs its pushes (RFC 9421, keyid = the certificate's serial). A package is
//! pushed from its file, streamed chunk by chunk (never held whole) after its digest was
//! computed, with the bytes sent reported as they go.

mod client;
mod folder;

pub use client::{ClaimsClient, Protocol, PROGRESS_DONE};
pub use folder::{ClaimsFolder, ClaimsSetup, SystemCredentials};

/// Why a claims call or setup failed; each message is one sentence naming the cause.
#[derive(Debug, thiserror::Error)]
pub enum ClaimsClientError {
    /// The setup or the certificate is not usable.
    #[error("{0}")]
    Setup(String),
    /// The node could not be reached or the connection broke.
    #[error("the claims node at {url} could not be reached: {reason}")]
    Unreachable { url: String, reason: String },
    /// The node refused the certificate at the TLS handshake (revoked, or not its own).
    #[error("the claims node refused this system's certificate at the TLS handshake ({reason}); ask the fund's operator for a new certificate")]
    CertificateRefused { reason: String },
    /// The node refused the call: its status, code and sentence.
    #[error("the claims node refused ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}
