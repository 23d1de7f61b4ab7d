//! What can go wrong in a call to the clinical record service, in words for the clinic:
//! [`ClinicalClientError`], and how a refusal of the service ([`refusal`]) and a transport
//! failure ([`classify`]) become one.

use serde_json::Value;

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

/// The service's refusal: a FHIR OperationOutcome (the code in its details, the text in
/// its diagnostics) or a JSON error (`code`, `message`).
pub(crate) fn refusal(url: &str, status: u16, body: &[u8], attempts: u32) -> ClinicalClientError {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let found = value.as_ref().and_then(|value| {
        if value["resourceType"] == "OperationOutcome" {
            let issue = &value["issue"][0];
            let code = issue["details"]["coding"][0]["code"]
                .as_str()
                .or_else(|| issue["code"].as_str())?;
            let message = issue["diagnostics"]
                .as_str()
                .or_else(|| issue["details"]["text"].as_str())?;
            Some((code.to_owned(), message.to_owned()))
        } else {
            Some((
                value["code"].as_str()?.to_owned(),
                value["message"].as_str()?.to_owned(),
            ))
        }
    });
    if matches!(status, 502..=504) {
        return ClinicalClientError::Unavailable {
            url: url.to_owned(),
            status,
            attempts,
        };
    }
    match found {
        Some((code, message))
            if status == 401
                && code.starts_with("session_")
                && code != "session_of_another_institution" =>
        {
            ClinicalClientError::SessionEnded { detail: message }
        }
        Some((code, message)) => ClinicalClientError::Refused {
            status,
            code,
            message,
        },
        None => ClinicalClientError::BadAnswer {
            url: url.to_owned(),
            detail: format!(
                "status {status}: {}",
                String::from_utf8_lossy(body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        },
    }
}

/// Sorts the text of a transport error chain.
pub(crate) fn classify(url: String, chain: &str, attempts: u32) -> ClinicalClientError {
    let last = chain.rsplit(": ").next().unwrap_or(chain).to_owned();
    let lower = chain.to_ascii_lowercase();
    if lower.contains("invalid peer certificate")
        || lower.contains("unknownissuer")
        || lower.contains("unknown issuer")
        || lower.contains("notvalidforname")
    {
        ClinicalClientError::ServerNotTrusted { url, detail: last }
    } else if lower.contains("alert") || lower.contains("certificaterequired") {
        ClinicalClientError::CertificateRefused { url, detail: last }
    } else {
        let cause = if lower.contains("connection refused") {
            "connection refused".to_owned()
        } else if lower.contains("dns error") || lower.contains("failed to lookup") {
            "the host name cannot be resolved".to_owned()
        } else {
            last
        };
        ClinicalClientError::Unreachable {
            url,
            cause,
            attempts,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transport_failures_name_the_service_url() {
        let url = "https://127.0.0.1:9/fhir/".to_owned();
        let refused = classify(
            url.clone(),
            "error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)",
            3,
        );
        assert_eq!(
            refused.to_string(),
            "the clinical record service at https://127.0.0.1:9/fhir/ cannot be reached (connection refused); tried 3 time(s)"
        );
        assert!(refused.is_transient());
        let revoked = classify(
            url.clone(),
            "connection error: received fatal alert: CertificateRevoked",
            1,
        );
        assert!(matches!(
            revoked,
            ClinicalClientError::CertificateRefused { .. }
        ));
        assert!(!revoked.is_transient());
        let untrusted = classify(url, "invalid peer certificate: UnknownIssuer", 1);
        assert!(matches!(
            untrusted,
            ClinicalClientError::ServerNotTrusted { .. }
        ));
    }

    #[test]
    fn refusals_carry_the_services_words() {
        let url = "https://127.0.0.1:9/fhir/";
        let outcome = json!({
            "resourceType": "OperationOutcome",
            "issue": [{ "severity": "error", "code": "forbidden",
                        "details": { "coding": [{ "code": "not_owner" }] },
                        "diagnostics": "Only institution 506097 may delete Condition/x." }]
        });
        let error = refusal(url, 403, outcome.to_string().as_bytes(), 1);
        assert_eq!(error.code(), Some("not_owner"));
        assert_eq!(
            error.to_string(),
            "Only institution 506097 may delete Condition/x (403 not_owner)"
        );
        let expired = json!({ "code": "session_expired", "message": "The session expired." });
        let error = refusal(url, 401, expired.to_string().as_bytes(), 1);
        assert!(matches!(error, ClinicalClientError::SessionEnded { .. }));
        assert_eq!(
            error.to_string(),
            "the practitioner's session ended; sign in again"
        );
        let wrong =
            json!({ "code": "wrong_credentials", "message": "Wrong user name or password." });
        assert_eq!(
            refusal(url, 401, wrong.to_string().as_bytes(), 1).code(),
            Some("wrong_credentials")
        );
        let proxy = refusal(url, 503, b"<html>busy</html>", 3);
        assert!(proxy.is_transient(), "{proxy}");
        assert!(proxy.to_string().contains("HTTP 503"), "{proxy}");
    }
}
