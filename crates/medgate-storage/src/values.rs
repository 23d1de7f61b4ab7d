//! Typed values the stores take and return: document ids (`root^extension`), random content
//! keys, and SHA-256 / SHA-1 digests. Each has a private field and a parsing constructor.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;

/// Why a value given to this crate is not valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason}")]
pub struct InvalidValue {
    /// What was being parsed, e.g. `document id`.
    pub kind: &'static str,
    /// The rule that failed, in words.
    pub reason: String,
}

fn invalid(kind: &'static str, reason: impl Into<String>) -> InvalidValue {
    InvalidValue {
        kind,
        reason: reason.into(),
    }
}

/// The longest document id accepted (root, `^` and extension together).
const DOCUMENT_ID_MAX_LEN: usize = 512;

/// An HL7 instance identifier in `root^extension` form (or just `root` when the identifier
/// has no extension), as used for CDA document ids and set ids. The root is usually an OID but
/// may be a UUID, so it is not parsed further; neither part may be empty or contain control
/// characters, and the root cannot contain `^`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId(String);

impl DocumentId {
    /// Parses `root^extension` or `root`.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        match value.split_once('^') {
            Some((root, extension)) => Self::from_parts(root, Some(extension)),
            None => Self::from_parts(value, None),
        }
    }

    /// Builds the id from its parts.
    pub fn from_parts(root: &str, extension: Option<&str>) -> Result<Self, InvalidValue> {
        const KIND: &str = "document id";
        if root.is_empty() {
            return Err(invalid(KIND, "the root is empty"));
        }
        if root.contains('^') {
            return Err(invalid(KIND, "the root contains '^'"));
        }
        if extension == Some("") {
            return Err(invalid(KIND, "the extension after '^' is empty"));
        }
        let text = match extension {
            Some(extension) => format!("{root}^{extension}"),
            None => root.to_owned(),
        };
        if text.len() > DOCUMENT_ID_MAX_LEN {
            return Err(invalid(
                KIND,
                format!("longer than {DOCUMENT_ID_MAX_LEN} bytes"),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(invalid(KIND, "contains a control character"));
        }
        if text.trim() != text {
            return Err(invalid(KIND, "starts or ends with white space"));
        }
        Ok(DocumentId(text))
    }

    /// The root (an OID or UUID).
    pub fn root(&self) -> &str {
        self.0.split_once('^').map_or(&self.0, |(root, _)| root)
    }

    /// The extension, if the id has one.
    pub fn extension(&self) -> Option<&str> {
        self.0.split_once('^').map(|(_, extension)| extension)
    }

    /// The id as `root^extension` text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DocumentId {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::parse(s)
    }
}

/// Number of random bytes in a content key (128 bits).
const CONTENT_KEY_BYTES: usize = 16;

/// The name under which a document's bytes live in the content store: 128 random bits as 32
/// lowercase hex digits. Content keys are never derived from user input, so they cannot
/// collide on purpose or escape the content folder.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentKey(String);

impl ContentKey {
    /// A new random key from the system random number generator.
    pub fn generate() -> Result<Self, crate::ContentError> {
        let mut bytes = [0u8; CONTENT_KEY_BYTES];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| crate::ContentError::Random)?;
        Ok(ContentKey(hex::encode(bytes)))
    }

    /// Parses a key: exactly 32 lowercase hex digits.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        if value.len() != CONTENT_KEY_BYTES * 2
            || !value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(invalid(
                "content key",
                "must be exactly 32 lowercase hexadecimal digits",
            ));
        }
        Ok(ContentKey(value.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ContentKey {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::parse(s)
    }
}

/// The name of a record kept in the content store beside document content (an audit
/// checkpoint, for instance): `<namespace>/<name>`. The namespace has at least three
/// characters, so it is never one of the two-hex-digit folders document content fans out
/// into; the name is never a [`ContentKey`]. So a record can neither collide with a document's
/// content nor be listed by [`crate::ContentStore::list`], and the orphan sweep never sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    namespace: String,
    name: String,
}

/// Longest record namespace and name accepted.
const RECORD_PART_MAX_LEN: usize = 128;

impl RecordKey {
    /// Checks both parts: lowercase letters, digits, `-`, `_` and `.` (not first), a namespace
    /// of 3 to 128 characters beginning with a letter, a name of 1 to 128 that is not a
    /// content key.
    pub fn new(namespace: &str, name: &str) -> Result<Self, InvalidValue> {
        fn check(kind: &str, value: &str, min: usize) -> Result<(), InvalidValue> {
            let allowed = |b: u8| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.');
            if value.len() < min
                || value.len() > RECORD_PART_MAX_LEN
                || !value.bytes().all(allowed)
                || value.starts_with('.')
            {
                return Err(invalid(
                    "record key",
                    format!(
                        "{kind} '{value}' must be {min} to {RECORD_PART_MAX_LEN} lowercase letters, \
                         digits, '-', '_' or '.' (not first)"
                    ),
                ));
            }
            Ok(())
        }
        check("namespace", namespace, 3)?;
        if !namespace.as_bytes()[0].is_ascii_lowercase() {
            return Err(invalid(
                "record key",
                format!("namespace '{namespace}' must begin with a letter"),
            ));
        }
        check("name", name, 1)?;
        if ContentKey::parse(name).is_ok() {
            return Err(invalid(
                "record key",
                format!("name '{name}' has the form of a content key"),
            ));
        }
        Ok(RecordKey {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

macro_rules! digest_type {
    ($name:ident, $len:expr, $algorithm:expr, $label:expr) => {
        impl $name {
            /// Number of bytes in the digest.
            pub const LEN: usize = $len;

            /// The digest of `data`.
            pub fn of(data: &[u8]) -> Self {
                let computed = digest::digest($algorithm, data);
                let mut bytes = [0u8; $len];
                bytes.copy_from_slice(computed.as_ref());
                $name(bytes)
            }

            /// Wraps digest bytes computed elsewhere.
            pub fn from_bytes(bytes: [u8; $len]) -> Self {
                $name(bytes)
            }

            /// Parses hex (either case, no separators).
            pub fn parse_hex(value: &str) -> Result<Self, InvalidValue> {
                let mut bytes = [0u8; $len];
                hex::decode_to_slice(value, &mut bytes).map_err(|_| {
                    invalid(
                        $label,
                        format!("must be exactly {} hexadecimal digits", $len * 2),
                    )
                })?;
                Ok($name(bytes))
            }

            /// The digest bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Lowercase hex, the form in which it is stored.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }
    };
}

/// A SHA-256 digest (document hashes, certificate fingerprints, audit chain links).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest([u8; 32]);
digest_type!(Sha256Digest, 32, &digest::SHA256, "SHA-256 digest");

impl Sha256Digest {
    /// All zero bytes: the previous hash of the first audit entry.
    pub const ZERO: Sha256Digest = Sha256Digest([0; 32]);
}

/// A SHA-1 digest: only because IHE XDS document entries carry one. Never used for security.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha1Digest([u8; 20]);
digest_type!(
    Sha1Digest,
    20,
    &digest::SHA1_FOR_LEGACY_USE_ONLY,
    "SHA-1 digest"
);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn document_id_splits_root_and_extension() {
        let id = DocumentId::parse("2.16.840.1.113883.3.4424.2.7.26.7.1^0001").unwrap();
        assert_eq!(id.root(), "2.16.840.1.113883.3.4424.2.7.26.7.1");
        assert_eq!(id.extension(), Some("0001"));
        let bare = DocumentId::parse("1.2.3").unwrap();
        assert_eq!(bare.extension(), None);
        assert!(DocumentId::parse("^x").is_err());
        assert!(DocumentId::parse("1.2^").is_err());
        assert!(DocumentId::parse("1.2^a\nb").is_err());
    }

    #[test]
    fn content_keys_are_random_hex() {
        let a = ContentKey::generate().unwrap();
        let b = ContentKey::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(ContentKey::parse(a.as_str()).unwrap(), a);
        assert!(ContentKey::parse("../../etc/passwd").is_err());
        assert!(ContentKey::parse(&a.as_str().to_uppercase()).is_err());
    }

    #[test]
    fn record_keys_never_look_like_content() {
        let key =
            RecordKey::new("audit-checkpoints", "00000000000000000007-1700000000.json").unwrap();
        assert_eq!(
            key.to_string(),
            "audit-checkpoints/00000000000000000007-1700000000.json"
        );
        let content = ContentKey::generate().unwrap();
        for (namespace, name) in [
            ("ab", "x.json"),
            ("0ab", "x.json"),
            ("audit", content.as_str()),
            ("audit", ".partial-x"),
            ("audit", "../x"),
            ("audit", "a/b"),
            ("Audit", "x"),
            ("audit", ""),
        ] {
            assert!(
                RecordKey::new(namespace, name).is_err(),
                "{namespace}/{name}"
            );
        }
    }

    #[test]
    fn digests_round_trip_through_hex() {
        let digest = Sha256Digest::of(b"abc");
        assert_eq!(
            digest.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256Digest::parse_hex(&digest.to_hex()).unwrap(), digest);
        assert_eq!(
            Sha1Digest::of(b"abc").to_hex(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
