//! The IHE XDS DocumentEntry on the registry's side: the one JSON shape both sides speak is
//! the repository domain's [`DocumentEntry`] (a repository builds it from a stored
//! document); here the registry checks it field by field before keeping it
//! ([`RegistryEntryExt::validate`]) and answers it back from what it keeps
//! ([`RegistryEntryExt::from_stored`]), with the owning repository's URL.

use medgate_ids::Oid;
use medgate_storage::{
    PatientIdentifier, RegistryEntry, Sha1Digest, Sha256Digest, StoredRegistryEntry,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use medgate_web::error::ApiError;

pub use medgate_client::registry::wire::{Coded, DocumentEntry, PatientId};

/// Longest uniqueId, title, author… the registry stores.
const MAX_TEXT: usize = 1000;

fn rfc3339(time: OffsetDateTime) -> String {
    medgate_web::api::rfc3339(time)
}

/// What the registry does with a [`DocumentEntry`].
pub trait RegistryEntryExt: Sized {
    /// The entry as the registry answers it.
    fn from_stored(stored: &StoredRegistryEntry) -> Self;

    /// Checks every field and gives what the registry stores; the error names the field.
    fn validate(&self) -> Result<RegistryEntry, ApiError>;
}

impl RegistryEntryExt for DocumentEntry {
    fn from_stored(stored: &StoredRegistryEntry) -> Self {
        let entry = &stored.entry;
        DocumentEntry {
            unique_id: entry.unique_id.clone(),
            patient_id: PatientId {
                root: entry.patient.root.as_str().to_owned(),
                extension: entry.patient.extension.clone(),
            },
            class_code: entry.class_code.clone(),
            type_code: entry.type_code.as_ref().map(|code| Coded {
                code: code.clone(),
                system: entry.type_system.clone(),
                display: entry.type_display.clone(),
            }),
            creation_time: rfc3339(entry.creation_time),
            hash: entry.sha1.to_hex(),
            sha256: entry.sha256.to_hex(),
            size: entry.size_bytes,
            repository_unique_id: stored.repository_unique_id.as_str().to_owned(),
            author: entry.author.clone(),
            title: entry.title.clone(),
            confidentiality: entry.confidentiality.clone(),
            mime_type: entry.mime_type.clone(),
        }
    }

    fn validate(&self) -> Result<RegistryEntry, ApiError> {
        let bad = |field: &str, problem: String| {
            ApiError::bad_request("invalid_entry", format!("{field}: {problem}."))
        };
        let text = |field: &str, value: &str| -> Result<String, ApiError> {
            let value = value.trim();
            if value.is_empty() {
                return Err(bad(field, "is empty".into()));
            }
            if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
                return Err(bad(
                    field,
                    format!("at most {MAX_TEXT} characters, no control characters"),
                ));
            }
            Ok(value.to_owned())
        };
        let optional = |field: &str, value: &Option<String>| -> Result<Option<String>, ApiError> {
            value
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(|v| text(field, v))
                .transpose()
        };
        let unique_id = text("uniqueId", &self.unique_id)?;
        let root = Oid::parse(self.patient_id.root.trim())
            .map_err(|e| bad("patientId.root", format!("is not an OID: {e}")))?;
        let extension = text("patientId.extension", &self.patient_id.extension)?;
        let creation_time =
            OffsetDateTime::parse(self.creation_time.trim(), &Rfc3339).map_err(|_| {
                bad(
                    "creationTime",
                    format!(
                        "'{}' is not an RFC 3339 time such as 2021-06-15T08:41:00Z",
                        self.creation_time
                    ),
                )
            })?;
        let sha1 = Sha1Digest::parse_hex(self.hash.trim()).map_err(|_| {
            bad(
                "hash",
                "must be the SHA-1 of the document as 40 hex digits".into(),
            )
        })?;
        let sha256 = Sha256Digest::parse_hex(self.sha256.trim()).map_err(|_| {
            bad(
                "sha256",
                "must be the SHA-256 of the document as 64 hex digits".into(),
            )
        })?;
        if i64::try_from(self.size).is_err() {
            return Err(bad("size", "is too large".into()));
        }
        let mime_type = text("mimeType", &self.mime_type)?;
        let (type_code, type_system, type_display) = match &self.type_code {
            None => (None, None, None),
            Some(coded) => (
                Some(text("typeCode.code", &coded.code)?),
                optional("typeCode.system", &coded.system)?,
                optional("typeCode.display", &coded.display)?,
            ),
        };
        Ok(RegistryEntry {
            unique_id,
            patient: PatientIdentifier { root, extension },
            class_code: optional("classCode", &self.class_code)?,
            type_code,
            type_system,
            type_display,
            creation_time: creation_time.replace_nanosecond(0).unwrap_or(creation_time),
            sha1,
            sha256,
            size_bytes: self.size,
            author: optional("author", &self.author)?,
            title: optional("title", &self.title)?,
            confidentiality: optional("confidentiality", &self.confidentiality)?,
            mime_type,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> DocumentEntry {
        DocumentEntry {
            unique_id: "2.16.840.1.113883.3.4424.2.7.26.7.1^1".into(),
            patient_id: PatientId {
                root: "2.16.840.1.113883.3.4424.1.1.616".into(),
                extension: "44051401359".into(),
            },
            class_code: Some("KIF".into()),
            type_code: Some(Coded {
                code: "11490-0".into(),
                system: Some("2.16.840.1.113883.6.1".into()),
                display: None,
            }),
            creation_time: "2021-06-15T08:41:00Z".into(),
            hash: "a".repeat(40),
            sha256: "b".repeat(64),
            size: 10,
            repository_unique_id: "2.999.1.5.1".into(),
            author: Some("Łucja Żółkiewska".into()),
            title: None,
            confidentiality: Some("N".into()),
            mime_type: "text/xml".into(),
        }
    }

    #[test]
    fn a_valid_entry_round_trips_through_json() {
        let entry = sample();
        let text = serde_json::to_string(&entry).unwrap();
        assert!(
            text.contains("\"uniqueId\"") && text.contains("\"repositoryUniqueId\""),
            "{text}"
        );
        let back: DocumentEntry = serde_json::from_str(&text).unwrap();
        assert_eq!(back, entry);
        let stored = entry.validate().unwrap();
        assert_eq!(stored.patient.extension, "44051401359");
        assert_eq!(stored.type_code.as_deref(), Some("11490-0"));
    }

    #[test]
    fn each_bad_field_is_named() {
        let check = |change: fn(&mut DocumentEntry), field: &str| {
            let mut entry = sample();
            change(&mut entry);
            let error = entry.validate().unwrap_err().to_string();
            assert!(error.contains(field), "{field}: {error}");
        };
        check(|e| e.unique_id = " ".into(), "uniqueId");
        check(|e| e.patient_id.root = "x.y".into(), "patientId.root");
        check(
            |e| e.patient_id.extension = String::new(),
            "patientId.extension",
        );
        check(|e| e.creation_time = "yesterday".into(), "creationTime");
        check(|e| e.hash = "abc".into(), "hash");
        check(|e| e.sha256 = "abc".into(), "sha256");
        check(|e| e.mime_type = String::new(), "mimeType");
        check(|e| e.title = Some("a\u{7}b".into()), "title");
        assert!(serde_json::from_str::<DocumentEntry>(r#"{"uniqueId":"x","extra":1}"#).is_err());
    }
}
