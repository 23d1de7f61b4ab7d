//! Archiving policies per document type and the one decision taken from them: upload now,
//! upload once the document has been kept locally long enough, or never.
//!
//! The tenant's policies live in the repository (`GET /api/v1/document-types`); the agent
//! fetches them at start and periodically, keeps the last answer in `STATE/policy.json` for
//! when the repository is unreachable, and before any answer uses the built-in catalogue —
//! the same defaults the repository starts every tenant with.
//!
//! "Keep locally for N days" is read as seed 000 defines it ("Dostępny lokalnie przez
//! (dni)": the period after which documents pass from the clinic's local database to the
//! external archive): the document stays in the outbox, the clinic's local copy, for N days
//! after it was dropped there and is then uploaded and removed from the outbox. N = 0 uploads
//! at once.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::outbox::write_atomically;

/// One document type's policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypePolicy {
    /// Short code, e.g. `KIF`.
    pub code: String,
    /// The name the clinic software shows.
    pub name: String,
    /// Whether documents of this type go to the repository at all.
    pub archive_automatically: bool,
    /// Days a document stays in the outbox before it is uploaded.
    pub keep_local_days: u32,
}

/// What to do with one document now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Upload it now.
    Upload,
    /// Keep it in the outbox; upload it from `until` on.
    Defer { until: SystemTime },
    /// Never upload it: its type is not archived automatically.
    Skip,
}

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

/// Decides for a document of `policy`'s type that was dropped in the outbox at
/// `dropped_at` (its modification time), at `now`.
pub fn decide(policy: &TypePolicy, dropped_at: SystemTime, now: SystemTime) -> Decision {
    if !policy.archive_automatically {
        return Decision::Skip;
    }
    if policy.keep_local_days == 0 {
        // "At once" does not wait for a modification time a skewed clock put in the future.
        return Decision::Upload;
    }
    let keep = Duration::from_secs(u64::from(policy.keep_local_days) * SECONDS_PER_DAY);
    match dropped_at.checked_add(keep) {
        Some(until) if until > now => Decision::Defer { until },
        // An overflowing date is so far away that the document is kept for good; uploading
        // it is never wrong, since the policy says it is archived eventually.
        _ => Decision::Upload,
    }
}

/// Where the policies in use came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    /// Fetched from the repository by this process.
    Repository { fetched_at: OffsetDateTime },
    /// The last answer of the repository, kept on disk.
    Cached { fetched_at: OffsetDateTime },
    /// The built-in catalogue: the repository was never reached from this state folder.
    BuiltIn,
}

impl std::fmt::Display for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicySource::Repository { .. } => f.write_str("the repository's current policies"),
            PolicySource::Cached { fetched_at } => write!(
                f,
                "the policies last fetched from the repository on {}",
                crate::report::human_time(*fetched_at)
            ),
            PolicySource::BuiltIn => f.write_str("the built-in default policies"),
        }
    }
}

/// Every document type's policy, by code.
#[derive(Clone, Debug)]
pub struct PolicyBook {
    types: BTreeMap<String, TypePolicy>,
    source: PolicySource,
}

/// How long a document stays local by default: the repository's default for every type
/// (`medgate_storage::DEFAULT_DOCUMENT_TYPES`), checked by a test below.
const BUILT_IN_KEEP_LOCAL_DAYS: u32 = 30;

/// The repository's default catalogue (seed 000, "Rodzaje dokumentów"): code, name and
/// whether it is archived automatically. E-prescriptions and the e-referrals processed by P1
/// are not. This copy exists because the agent runs at the clinic and must decide before it
/// has ever reached the repository; a test keeps it equal to the repository's own table.
const BUILT_IN_TYPES: &[(&str, &str, bool)] = &[
    ("DWP", "Dokument własny pacjenta", true),
    ("WBL", "Wynik badania laboratoryjnego PIK HL7 CDA", true),
    ("WBD", "Wynik badania diagnostycznego PIK HL7 CDA", true),
    ("ZAL", "Załącznik", true),
    ("UDM", "Udostępniona dokumentacja medyczna", true),
    ("REC", "Recepta (e-Recepta)", false),
    ("KIF", "Karta informacyjna leczenia szpitalnego", true),
    ("ILK", "Informacja dla lekarza kierującego", true),
    ("DAN", "Dokument anulujący (anulowanie e-Recepty)", true),
    ("SKS", "Skierowanie do specjalisty (e-Skierowanie)", false),
    ("SKH", "Skierowanie do szpitala (e-Skierowanie)", false),
    ("SKD", "Skierowanie na badanie diagnostyczne", false),
    (
        "ZBD",
        "Skierowanie na badania diagnostyczne wysłane do P1",
        true,
    ),
    ("KOP", "Karta odmowy przyjęcia do szpitala", true),
    (
        "ZPS",
        "Wynik weryfikacji zlecenia na zaopatrzenie w wyroby medyczne",
        true,
    ),
    (
        "ZPA",
        "Anulowanie zlecenia na zaopatrzenie w wyroby medyczne",
        true,
    ),
    ("ZPO", "Zlecenie na zaopatrzenie w wyroby medyczne", true),
];

/// True when `code` names a type of the catalogue.
pub fn is_catalogue_code(code: &str) -> bool {
    BUILT_IN_TYPES.iter().any(|(known, _, _)| *known == code)
}

/// The catalogue's codes, for error messages.
pub fn catalogue_codes() -> Vec<&'static str> {
    BUILT_IN_TYPES.iter().map(|(code, _, _)| *code).collect()
}

/// The JSON of `GET /api/v1/document-types`, and of the cache file (which adds the time).
#[derive(Debug, Deserialize, Serialize)]
struct TypesBody {
    types: Vec<TypeBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fetched_at: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize)]
struct TypeBody {
    code: String,
    #[serde(default)]
    name: String,
    archive_automatically: bool,
    keep_local_days: u32,
}

impl PolicyBook {
    /// The built-in catalogue with its default policies.
    pub fn built_in() -> PolicyBook {
        let types = BUILT_IN_TYPES
            .iter()
            .map(|(code, name, archive)| {
                (
                    (*code).to_owned(),
                    TypePolicy {
                        code: (*code).to_owned(),
                        name: (*name).to_owned(),
                        archive_automatically: *archive,
                        keep_local_days: BUILT_IN_KEEP_LOCAL_DAYS,
                    },
                )
            })
            .collect();
        PolicyBook {
            types,
            source: PolicySource::BuiltIn,
        }
    }

    /// Parses the repository's answer.
    pub fn from_repository(body: &[u8], fetched_at: OffsetDateTime) -> Result<PolicyBook, String> {
        let parsed: TypesBody = serde_json::from_slice(body).map_err(|e| {
            format!("the repository's list of document types is not as expected: {e}")
        })?;
        if parsed.types.is_empty() {
            return Err("the repository's list of document types is empty".to_owned());
        }
        Ok(PolicyBook::from_body(
            parsed,
            PolicySource::Repository { fetched_at },
        ))
    }

    fn from_body(body: TypesBody, source: PolicySource) -> PolicyBook {
        let types = body
            .types
            .into_iter()
            .map(|entry| {
                (
                    entry.code.clone(),
                    TypePolicy {
                        code: entry.code,
                        name: entry.name,
                        archive_automatically: entry.archive_automatically,
                        keep_local_days: entry.keep_local_days,
                    },
                )
            })
            .collect();
        PolicyBook { types, source }
    }

    /// Reads the cached copy; `Ok(None)` when there is none yet.
    pub fn load_cache(path: &Path) -> Result<Option<PolicyBook>, String> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(format!("{}: cannot be read: {error}", path.display())),
        };
        let body: TypesBody = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a policy cache: {e}", path.display()))?;
        let fetched_at = body
            .fetched_at
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Ok(Some(PolicyBook::from_body(
            body,
            PolicySource::Cached { fetched_at },
        )))
    }

    /// Writes this book as the cached copy (atomically, so a crash leaves the old one).
    pub fn save_cache(&self, path: &Path) -> std::io::Result<()> {
        let fetched_at = match &self.source {
            PolicySource::Repository { fetched_at } | PolicySource::Cached { fetched_at } => {
                Some(fetched_at.unix_timestamp())
            }
            PolicySource::BuiltIn => None,
        };
        let body = TypesBody {
            types: self
                .types
                .values()
                .map(|policy| TypeBody {
                    code: policy.code.clone(),
                    name: policy.name.clone(),
                    archive_automatically: policy.archive_automatically,
                    keep_local_days: policy.keep_local_days,
                })
                .collect(),
            fetched_at,
        };
        let bytes = serde_json::to_vec_pretty(&body).map_err(std::io::Error::other)?;
        write_atomically(path, &bytes)
    }

    /// The policy of `code`. A code the repository's list lacks (an older repository) falls
    /// back to the built-in catalogue; `None` only for a code of neither.
    pub fn get(&self, code: &str) -> Option<TypePolicy> {
        self.types.get(code).cloned().or_else(|| {
            BUILT_IN_TYPES
                .iter()
                .find(|(known, _, _)| *known == code)
                .map(|(code, name, archive)| TypePolicy {
                    code: (*code).to_owned(),
                    name: (*name).to_owned(),
                    archive_automatically: *archive,
                    keep_local_days: BUILT_IN_KEEP_LOCAL_DAYS,
                })
        })
    }

    /// True when `code` is known to the repository's list or the catalogue.
    pub fn knows(&self, code: &str) -> bool {
        self.types.contains_key(code) || is_catalogue_code(code)
    }

    /// Where these policies came from.
    pub fn source(&self) -> &PolicySource {
        &self.source
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn policy(archive: bool, days: u32) -> TypePolicy {
        TypePolicy {
            code: "KIF".into(),
            name: "Karta".into(),
            archive_automatically: archive,
            keep_local_days: days,
        }
    }

    const DAY: Duration = Duration::from_secs(SECONDS_PER_DAY);

    #[test]
    fn a_type_not_archived_automatically_is_never_uploaded_however_old() {
        let dropped = SystemTime::UNIX_EPOCH;
        let now = dropped + DAY * 10_000;
        assert_eq!(decide(&policy(false, 0), dropped, now), Decision::Skip);
        assert_eq!(decide(&policy(false, 30), dropped, now), Decision::Skip);
    }

    #[test]
    fn zero_days_uploads_at_once() {
        let now = SystemTime::now();
        assert_eq!(decide(&policy(true, 0), now, now), Decision::Upload);
        // A modification time slightly in the future (clock skew) does not hold it back.
        assert_eq!(
            decide(&policy(true, 0), now + Duration::from_secs(5), now),
            Decision::Upload
        );
    }

    #[test]
    fn n_days_keeps_the_document_local_until_n_days_after_it_was_dropped() {
        let dropped = SystemTime::UNIX_EPOCH + DAY * 20_000;
        let until = dropped + DAY * 3;
        let keep_three = policy(true, 3);
        assert_eq!(
            decide(&keep_three, dropped, dropped),
            Decision::Defer { until }
        );
        assert_eq!(
            decide(&keep_three, dropped, until - Duration::from_secs(1)),
            Decision::Defer { until }
        );
        assert_eq!(decide(&keep_three, dropped, until), Decision::Upload);
        assert_eq!(decide(&keep_three, dropped, until + DAY), Decision::Upload);
    }

    #[test]
    fn built_in_defaults_follow_the_seed() {
        let book = PolicyBook::built_in();
        for code in ["REC", "SKS", "SKH", "SKD"] {
            assert!(!book.get(code).unwrap().archive_automatically, "{code}");
        }
        for code in ["KIF", "ILK", "ZBD", "WBL", "ZAL", "UDM", "DAN"] {
            assert!(book.get(code).unwrap().archive_automatically, "{code}");
        }
        assert_eq!(book.get("NOPE"), None);
        assert_eq!(book.source(), &PolicySource::BuiltIn);
    }

    #[test]
    fn built_in_table_equals_the_repository_catalogue() {
        let ours: Vec<(String, bool, u32)> = catalogue_codes()
            .into_iter()
            .map(|code| {
                let policy = PolicyBook::built_in().get(code).unwrap();
                (
                    policy.code,
                    policy.archive_automatically,
                    policy.keep_local_days,
                )
            })
            .collect();
        let repository: Vec<(String, bool, u32)> = medgate_storage::DEFAULT_DOCUMENT_TYPES
            .iter()
            .map(|entry| {
                (
                    entry.code.to_owned(),
                    entry.archive_automatically,
                    entry.keep_local_days,
                )
            })
            .collect();
        assert_eq!(ours, repository);
    }

    #[test]
    fn the_repository_answer_overrides_and_falls_back_per_code() {
        let body = br#"{"types":[
            {"code":"REC","name":"Recepta","archive_automatically":true,"keep_local_days":0,"overridden":true},
            {"code":"KIF","name":"Karta","archive_automatically":true,"keep_local_days":7,"overridden":false}
        ]}"#;
        let fetched_at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let book = PolicyBook::from_repository(body, fetched_at).unwrap();
        assert!(book.get("REC").unwrap().archive_automatically);
        assert_eq!(book.get("KIF").unwrap().keep_local_days, 7);
        // Not in the answer: the catalogue's default.
        assert!(!book.get("SKS").unwrap().archive_automatically);
        assert!(PolicyBook::from_repository(b"{\"types\":[]}", fetched_at).is_err());
        assert!(PolicyBook::from_repository(b"<html>", fetched_at).is_err());
    }

    #[test]
    fn the_cache_keeps_the_last_answer_and_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        assert!(PolicyBook::load_cache(&path).unwrap().is_none());
        let fetched_at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let body = br#"{"types":[{"code":"REC","name":"Recepta","archive_automatically":true,"keep_local_days":2}]}"#;
        PolicyBook::from_repository(body, fetched_at)
            .unwrap()
            .save_cache(&path)
            .unwrap();
        let cached = PolicyBook::load_cache(&path).unwrap().unwrap();
        assert_eq!(cached.source(), &PolicySource::Cached { fetched_at });
        assert_eq!(cached.get("REC").unwrap().keep_local_days, 2);
        std::fs::write(&path, b"garbage").unwrap();
        assert!(PolicyBook::load_cache(&path).is_err());
    }
}
