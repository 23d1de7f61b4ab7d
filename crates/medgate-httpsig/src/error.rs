//! Errors of signing and verification: one enum, each variant with a stable machine code
//! (`code()`, used as the API error code) and a sentence that says what to fix.

use std::fmt;

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, HttpSigError>;

/// What went wrong while signing or verifying a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpSigError {
    /// No `Signature-Input`/`Signature` pair, or none with the expected label or tag.
    #[error(
        "the request is not signed: {reason}; sign it with HTTP Message Signatures (RFC 9421, \
         Signature-Input and Signature headers) using the tenant's WSS key"
    )]
    MissingSignature { reason: String },

    /// The signature headers do not parse or break a rule of RFC 9421.
    #[error(
        "malformed signature headers: {reason}; send Signature-Input and Signature as \
         RFC 9421 section 4 describes"
    )]
    MalformedSignatureInput { reason: String },

    /// The policy requires a component that the signature does not cover.
    #[error(
        "signature '{label}' does not cover {required} (it covers: {covered}); \
         include {required} in the signed components"
    )]
    ComponentNotCovered {
        label: String,
        required: String,
        covered: String,
    },

    /// A covered component cannot be found in the request (for example a signed header that
    /// is not sent).
    #[error(
        "the signature covers {component} but the request has none; send it, or leave it out \
         of the signed components"
    )]
    MissingComponent { component: String },

    /// `created` is older than the policy allows, or `expires` has passed.
    #[error(
        "signature expired: {reason}; sign each request just before sending it and check \
         that the client's clock is right"
    )]
    SignatureExpired { reason: String },

    /// `created` lies further in the future than the allowed clock skew.
    #[error(
        "signature created {ahead_seconds} s in the future (at most {allowed_seconds} s of \
         clock skew are allowed); set the client's clock right (NTP)"
    )]
    SignatureInFuture {
        ahead_seconds: i64,
        allowed_seconds: u64,
    },

    /// A body was sent without a (usable) `Content-Digest`.
    #[error(
        "missing content digest: {reason}; send `Content-Digest: sha-256=:<base64>:` \
         (RFC 9530) and cover content-digest in the signature"
    )]
    DigestMissing { reason: String },

    /// `Content-Digest` is not a valid RFC 9530 dictionary.
    #[error(
        "malformed Content-Digest header: {reason}; send `Content-Digest: sha-256=:<base64>:` \
         (RFC 9530)"
    )]
    MalformedDigest { reason: String },

    /// `Content-Digest` does not match the body.
    #[error(
        "Content-Digest {algorithm} does not match the request body ({reason}); the body \
         was changed after signing, or the digest was computed over other bytes"
    )]
    DigestMismatch { algorithm: String, reason: String },

    /// The key lookup knows no key under the signature's `keyid`.
    #[error(
        "no registered key has keyid \"{keyid}\"; sign with the WSS key registered for this \
         tenant and send its keyid"
    )]
    UnknownKey { keyid: String },

    /// A public key (SPKI or certificate) cannot be used for verification.
    #[error("unusable verification key: {reason}; register an RSA (2048 bit or more) or ECDSA P-256 key")]
    InvalidKey { reason: String },

    /// The signature does not verify.
    #[error(
        "signature {what} does not verify: the request was changed after signing, or it was \
         signed with another key than the one registered"
    )]
    BadSignature { what: String },

    /// The algorithm is unknown, not accepted, or does not fit the key.
    #[error(
        "algorithm {algorithm} is not accepted: {reason}; sign with rsa-v1_5-sha256, \
         rsa-pss-sha512 or ecdsa-p256-sha256"
    )]
    UnsupportedAlgorithm { algorithm: String, reason: String },

    /// The request itself cannot be signed or verified as given (for example a URI without
    /// scheme and host, or a header value with non-ASCII bytes).
    #[error("cannot process the request: {reason}")]
    InvalidRequest { reason: String },

    /// The private key failed to sign.
    #[error("signing failed: {reason}")]
    SigningFailed { reason: String },
}

/// The stable machine codes, in the order of [`HttpSigError`]'s variants.
pub const ERROR_CODES: [&str; 15] = [
    "missing_signature",
    "malformed_signature_input",
    "component_not_covered",
    "missing_component",
    "signature_expired",
    "signature_in_future",
    "digest_missing",
    "malformed_digest",
    "digest_mismatch",
    "unknown_key",
    "invalid_key",
    "bad_signature",
    "unsupported_algorithm",
    "invalid_request",
    "signing_failed",
];

impl HttpSigError {
    /// The stable machine code of the error, e.g. `bad_signature`.
    pub fn code(&self) -> &'static str {
        let index = match self {
            HttpSigError::MissingSignature { .. } => 0,
            HttpSigError::MalformedSignatureInput { .. } => 1,
            HttpSigError::ComponentNotCovered { .. } => 2,
            HttpSigError::MissingComponent { .. } => 3,
            HttpSigError::SignatureExpired { .. } => 4,
            HttpSigError::SignatureInFuture { .. } => 5,
            HttpSigError::DigestMissing { .. } => 6,
            HttpSigError::MalformedDigest { .. } => 7,
            HttpSigError::DigestMismatch { .. } => 8,
            HttpSigError::UnknownKey { .. } => 9,
            HttpSigError::InvalidKey { .. } => 10,
            HttpSigError::BadSignature { .. } => 11,
            HttpSigError::UnsupportedAlgorithm { .. } => 12,
            HttpSigError::InvalidRequest { .. } => 13,
            HttpSigError::SigningFailed { .. } => 14,
        };
        ERROR_CODES[index]
    }

    /// True when the error is the client's fault in a way that HTTP answers with 401
    /// (missing, malformed, stale or wrong signature, or an unknown key); false for errors of
    /// the verifying side itself (an unusable registered key, a request the server could
    /// not reconstruct, a failure to sign).
    pub fn is_authentication_failure(&self) -> bool {
        !matches!(
            self,
            HttpSigError::InvalidKey { .. }
                | HttpSigError::InvalidRequest { .. }
                | HttpSigError::SigningFailed { .. }
        )
    }

    pub(crate) fn malformed(reason: impl fmt::Display) -> Self {
        HttpSigError::MalformedSignatureInput {
            reason: reason.to_string(),
        }
    }

    pub(crate) fn invalid_request(reason: impl fmt::Display) -> Self {
        HttpSigError::InvalidRequest {
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ERROR_CODES {
            assert!(seen.insert(code), "{code} twice");
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }

    #[test]
    fn messages_say_what_to_fix() {
        let error = HttpSigError::UnknownKey {
            keyid: "clinic-wss".into(),
        };
        assert_eq!(error.code(), "unknown_key");
        assert!(error.to_string().contains("\"clinic-wss\""));
        assert!(error.is_authentication_failure());
        let error = HttpSigError::InvalidKey {
            reason: "Ed25519".into(),
        };
        assert!(!error.is_authentication_failure());
    }
}
