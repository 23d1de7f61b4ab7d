//! Size and hashes of a document's bytes: SHA-256 for medgate's own integrity checks and
//! SHA-1 because IHE XDS metadata (`hash`) still requires it.

use aws_lc_rs::digest;

/// Size and hashes of a document, computed over the bytes exactly as received.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DocumentHashes {
    /// Length in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex (64 characters).
    pub sha256_hex: String,
    /// SHA-1, lowercase hex (40 characters); only for XDS, never for integrity decisions.
    pub sha1_hex: String,
}

/// Computes the size, SHA-256 and SHA-1 of `bytes`.
pub fn hashes(bytes: &[u8]) -> DocumentHashes {
    DocumentHashes {
        size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
        sha256_hex: hex::encode(digest::digest(&digest::SHA256, bytes)),
        sha1_hex: hex::encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let empty = hashes(b"");
        assert_eq!(empty.size, 0);
        assert_eq!(
            empty.sha256_hex,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(empty.sha1_hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        let abc = hashes(b"abc");
        assert_eq!(abc.size, 3);
        assert_eq!(
            abc.sha256_hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(abc.sha1_hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
