//! `Content-Digest` (RFC 9530): the SHA-256 (or SHA-512) of the body as sent, which the
//! signature covers so that the body is signed too.

use aws_lc_rs::digest;
use base64::Engine as _;
use http::HeaderMap;

use crate::error::{HttpSigError, Result};

/// The digest algorithms of the RFC 9530 registry that are accepted (both "standard").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Sha256,
    Sha512,
}

impl DigestAlgorithm {
    /// The registry key: `sha-256` or `sha-512`.
    pub fn key(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha-256",
            DigestAlgorithm::Sha512 => "sha-512",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        match key {
            "sha-256" => Some(DigestAlgorithm::Sha256),
            "sha-512" => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }

    fn compute(self, body: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            DigestAlgorithm::Sha256 => &digest::SHA256,
            DigestAlgorithm::Sha512 => &digest::SHA512,
        };
        digest::digest(algorithm, body).as_ref().to_vec()
    }
}

/// The length and digests of a body, computed once — by [`BodyDigests::of`] over bytes in
/// memory, or chunk by chunk with [`BodyHasher`] while a server streams the body elsewhere
/// (a temporary file) — so that `Content-Digest` can be checked without holding or reading
/// the body again ([`verify_content_digest_digests`]).
#[derive(Clone, PartialEq, Eq)]
pub struct BodyDigests {
    len: u64,
    sha256: [u8; 32],
    sha512: [u8; 64],
}

impl std::fmt::Debug for BodyDigests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyDigests")
            .field("len", &self.len)
            .field("sha256", &hex::encode(self.sha256))
            .finish_non_exhaustive()
    }
}

impl BodyDigests {
    /// The digests of a body held in memory.
    pub fn of(body: &[u8]) -> Self {
        let mut hasher = BodyHasher::new();
        hasher.update(body);
        hasher.finish()
    }

    /// Digests computed elsewhere (e.g. by a store that hashed the body while writing it):
    /// the body's length, its SHA-256 and its SHA-512.
    pub fn from_parts(len: u64, sha256: [u8; 32], sha512: [u8; 64]) -> Self {
        BodyDigests {
            len,
            sha256,
            sha512,
        }
    }

    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of `algorithm`.
    pub fn digest(&self, algorithm: DigestAlgorithm) -> &[u8] {
        match algorithm {
            DigestAlgorithm::Sha256 => &self.sha256,
            DigestAlgorithm::Sha512 => &self.sha512,
        }
    }
}

/// SHA-256 and SHA-512 of a body fed chunk by chunk.
pub struct BodyHasher {
    len: u64,
    sha256: digest::Context,
    sha512: digest::Context,
}

impl Default for BodyHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl BodyHasher {
    pub fn new() -> Self {
        BodyHasher {
            len: 0,
            sha256: digest::Context::new(&digest::SHA256),
            sha512: digest::Context::new(&digest::SHA512),
        }
    }

    /// Adds the next chunk of the body.
    pub fn update(&mut self, chunk: &[u8]) {
        self.len = self.len.saturating_add(chunk.len() as u64);
        self.sha256.update(chunk);
        self.sha512.update(chunk);
    }

    /// The digests of everything fed.
    pub fn finish(self) -> BodyDigests {
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(self.sha256.finish().as_ref());
        let mut sha512 = [0u8; 64];
        sha512.copy_from_slice(self.sha512.finish().as_ref());
        BodyDigests {
            len: self.len,
            sha256,
            sha512,
        }
    }
}

/// `sha-256=:<base64>:`, the value of the `Content-Digest` header for `body`.
pub fn content_digest_header(body: &[u8]) -> String {
    content_digest_header_with(DigestAlgorithm::Sha256, body)
}

/// The `Content-Digest` value for `body` with the given algorithm.
pub fn content_digest_header_with(algorithm: DigestAlgorithm, body: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(algorithm.compute(body));
    format!("{}=:{encoded}:", algorithm.key())
}

/// The `Content-Digest` value for a body known by its digests.
pub fn content_digest_header_of(algorithm: DigestAlgorithm, digests: &BodyDigests) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(digests.digest(algorithm));
    format!("{}=:{encoded}:", algorithm.key())
}

/// Checks a `Content-Digest` value against `body`. Every sha-256 and sha-512 member must
/// match; members of other algorithms are ignored, but at least one accepted member must be
/// there. Returns the algorithms that were checked.
pub fn verify_content_digest(header_value: &str, body: &[u8]) -> Result<Vec<DigestAlgorithm>> {
    verify_content_digest_digests(header_value, &BodyDigests::of(body))
}

/// [`verify_content_digest`] against digests computed beforehand (the body is not needed):
/// the same members checked, the same refusals.
pub fn verify_content_digest_digests(
    header_value: &str,
    digests: &BodyDigests,
) -> Result<Vec<DigestAlgorithm>> {
    if header_value.trim().is_empty() {
        return Err(HttpSigError::DigestMissing {
            reason: "the Content-Digest header is empty".to_owned(),
        });
    }
    let dictionary: sfv::Dictionary =
        sfv::Parser::new(header_value)
            .parse()
            .map_err(|e| HttpSigError::MalformedDigest {
                reason: format!("not a structured-field dictionary ({e})"),
            })?;
    let mut checked = Vec::new();
    let mut ignored = Vec::new();
    for (key, entry) in &dictionary {
        let Some(algorithm) = DigestAlgorithm::from_key(key.as_str()) else {
            ignored.push(key.as_str().to_owned());
            continue;
        };
        let sent = match entry {
            sfv::ListEntry::Item(item) => item.bare_item.as_byte_sequence(),
            sfv::ListEntry::InnerList(_) => None,
        };
        let Some(sent) = sent else {
            return Err(HttpSigError::MalformedDigest {
                reason: format!(
                    "the {} member is not a byte sequence (write it as {}=:<base64>:)",
                    algorithm.key(),
                    algorithm.key()
                ),
            });
        };
        let actual = digests.digest(algorithm);
        if sent.len() != actual.len() {
            return Err(HttpSigError::DigestMismatch {
                algorithm: algorithm.key().to_owned(),
                reason: format!(
                    "the digest sent has {} bytes, a {} digest has {}",
                    sent.len(),
                    algorithm.key(),
                    actual.len()
                ),
            });
        }
        if sent != actual {
            let encoded = base64::engine::general_purpose::STANDARD.encode(actual);
            return Err(HttpSigError::DigestMismatch {
                algorithm: algorithm.key().to_owned(),
                reason: format!(
                    "the {} bytes received hash to {}=:{encoded}:",
                    digests.len(),
                    algorithm.key()
                ),
            });
        }
        checked.push(algorithm);
    }
    if checked.is_empty() {
        return Err(HttpSigError::DigestMissing {
            reason: if ignored.is_empty() {
                "the Content-Digest header has no member".to_owned()
            } else {
                format!(
                    "Content-Digest has only {}, neither sha-256 nor sha-512",
                    ignored.join(", ")
                )
            },
        });
    }
    Ok(checked)
}

/// The combined `Content-Digest` of a header map (several field lines joined with `, `), or
/// `None` when the header is absent.
pub(crate) fn content_digest_of(headers: &HeaderMap) -> Result<Option<String>> {
    crate::component::combined_field_value(headers, "content-digest")
}

/// Checks the `Content-Digest` header of a request against its body; a missing header is
/// [`HttpSigError::DigestMissing`].
pub fn verify_content_digest_header(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<DigestAlgorithm>> {
    match content_digest_of(headers)? {
        Some(value) => verify_content_digest(&value, body),
        None => Err(HttpSigError::DigestMissing {
            reason: format!(
                "the request has a body of {} bytes but no Content-Digest header",
                body.len()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9530_examples() -> Result<()> {
        // RFC 9530 §2 / RFC 9421 B.2: {"hello": "world"}
        let body = br#"{"hello": "world"}"#;
        assert_eq!(
            content_digest_header(body),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        assert_eq!(
            content_digest_header_with(DigestAlgorithm::Sha512, body),
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
        );
        assert_eq!(
            verify_content_digest(&content_digest_header(body), body)?,
            vec![DigestAlgorithm::Sha256]
        );
        let both = format!(
            "{}, {}, md5=:AAAA:",
            content_digest_header(body),
            content_digest_header_with(DigestAlgorithm::Sha512, body)
        );
        assert_eq!(verify_content_digest(&both, body)?.len(), 2);
        Ok(())
    }

    #[test]
    fn empty_body_has_a_digest_too() -> Result<()> {
        let header = content_digest_header(b"");
        assert_eq!(
            header,
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        );
        verify_content_digest(&header, b"")?;
        Ok(())
    }

    fn code(result: Result<Vec<DigestAlgorithm>>) -> &'static str {
        result.err().map(|e| e.code()).unwrap_or("ok")
    }

    #[test]
    fn digests_fed_in_chunks_verify_like_the_body() -> Result<()> {
        let body: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut hasher = BodyHasher::new();
        for chunk in body.chunks(4096) {
            hasher.update(chunk);
        }
        let digests = hasher.finish();
        assert_eq!(digests, BodyDigests::of(&body));
        assert_eq!(digests.len(), 100_000);
        let both = format!(
            "{}, {}",
            content_digest_header(&body),
            content_digest_header_with(DigestAlgorithm::Sha512, &body)
        );
        assert_eq!(verify_content_digest_digests(&both, &digests)?.len(), 2);
        // The same refusals as over the body, with the same sentence.
        let other = content_digest_header(b"other");
        assert_eq!(
            code(verify_content_digest_digests(&other, &digests)),
            "digest_mismatch"
        );
        let message = verify_content_digest_digests(&other, &digests)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("100000 bytes"), "{message}");
        assert_eq!(
            code(verify_content_digest_digests("md5=:AAAA:", &digests)),
            "digest_missing"
        );
        let parts = BodyDigests::from_parts(
            digests.len(),
            digests
                .digest(DigestAlgorithm::Sha256)
                .try_into()
                .unwrap_or([0; 32]),
            digests
                .digest(DigestAlgorithm::Sha512)
                .try_into()
                .unwrap_or([0; 64]),
        );
        assert_eq!(parts, digests);
        Ok(())
    }

    #[test]
    fn refusals_are_precise() {
        let body = b"body";
        let other = content_digest_header(b"other");
        assert_eq!(code(verify_content_digest(&other, body)), "digest_mismatch");
        let message = verify_content_digest(&other, body)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("sha-256"), "{message}");
        assert!(message.contains("4 bytes"), "{message}");
        assert_eq!(code(verify_content_digest("", body)), "digest_missing");
        assert_eq!(
            code(verify_content_digest("md5=:AAAA:", body)),
            "digest_missing"
        );
        assert_eq!(
            code(verify_content_digest("sha-256=abc", body)),
            "malformed_digest"
        );
        assert_eq!(
            code(verify_content_digest("sha-256=:AAAA:", body)),
            "digest_mismatch"
        );
        assert_eq!(code(verify_content_digest("((", body)), "malformed_digest");
        assert_eq!(
            code(verify_content_digest_header(&HeaderMap::new(), body)),
            "digest_missing"
        );
        // One good and one bad member: refused.
        let mixed = format!(
            "{}, {}",
            content_digest_header(body),
            content_digest_header_with(DigestAlgorithm::Sha512, b"x")
        );
        assert_eq!(code(verify_content_digest(&mixed, body)), "digest_mismatch");
    }
}
