//! What can go wrong talking to a repository, in words for the user.

/// A failed call, already explained.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ClientError {
    /// The client's own files or settings are unusable (before any connection).
    #[error("{0}")]
    Settings(String),
    /// The connection could not be made or the TLS handshake failed; the text says why.
    #[error("{0}")]
    Connection(String),
    /// No answer within the configured time.
    #[error("no answer from {url} within {timeout_ms} ms (the limit is --timeout-ms)")]
    Timeout { url: String, timeout_ms: u64 },
    /// The server refused the request with one of its error codes.
    #[error("{status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
}

impl ClientError {
    /// The server's error code, when the server answered with one.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True for failures where trying again later may succeed (server down, timeout, 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Connection(_) | ClientError::Timeout { .. } => true,
            ClientError::Api { status, .. } => *status >= 500 && *status != 507,
            ClientError::Settings(_) => false,
        }
    }
}
