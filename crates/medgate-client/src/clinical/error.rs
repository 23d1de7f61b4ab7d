//! What can go wrong in a call to the clinical record service, in words for the clinic.

/// A failed call to the clinical record service.
#[derive(Debug, thiserror::Error)]
pub enum ClinicalClientError {
    /// Our own side: a URL, a value or a request that cannot be made.
    #[error("{0}")]
    Setup(String),
    /// Nothing answered (connection refused, name not resolved, connection reset).
    #[error("the clinical record service at {url} cannot be reached ({cause}); tried {attempts} time(s)")]
    Unreachable {
        url: String,
        cause: String,
        attempts: u32,
    },
    /// No answer within the time limit.
    #[error("the clinical record service at {url} did not answer within {timeout_ms} ms; tried {attempts} time(s)")]
    Timeout {
        url: String,
        timeout_ms: u64,
        attempts: u32,
    },
    /// The service (or a proxy in front of it) said it cannot serve now.
    #[error("the clinical record service at {url} is unavailable (HTTP {status}); tried {attempts} time(s)")]
    Unavailable {
        url: String,
        status: u16,
        attempts: u32,
    },
    /// The server is not the service the configured CA vouches for.
    #[error("the server at {url} is not trusted as the clinical record service: its certificate is not issued by the service's CA ({detail})")]
    ServerNotTrusted { url: String, detail: String },
    /// The service refused the institution certificate during the TLS handshake.
    #[error("the clinical record service at {url} refused the institution certificate during the TLS handshake ({detail}): it was revoked, or it is not this service's")]
    CertificateRefused { url: String, detail: String },
    /// The practitioner's session is over (expired after 7 hours, signed out, or unknown).
    #[error("the practitioner's session ended; sign in again")]
    SessionEnded {
        /// The service's own words, when it said why.
        detail: String,
    },
    /// The service refused the request with an error of its own (a FHIR OperationOutcome
    /// or a JSON error), whose text this is.
    #[error("{} ({status} {code})", .message.trim_end_matches('.'))]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// The service answered something that is not what the call expects.
    #[error("the clinical record service at {url} gave an answer that cannot be read ({detail})")]
    BadAnswer { url: String, detail: String },
}

impl ClinicalClientError {
    /// The service's error code, when it refused with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClinicalClientError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True when the service could not be reached or did not answer in time: a call worth
    /// trying again later, nothing having been refused.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClinicalClientError::Unreachable { .. }
                | ClinicalClientError::Timeout { .. }
                | ClinicalClientError::Unavailable { .. }
        )
    }
}
