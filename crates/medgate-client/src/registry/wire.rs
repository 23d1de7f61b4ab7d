//! The national registry's wire types: what a repository sends to the registry and what the
//! registry answers, one definition each for both sides (the registry role of
//! `medgate-server` parses and answers them, [`RegistryClient`](super::RegistryClient) sends
//! and reads them). `assets/registry-openapi.json` of the server describes the same JSON.
//!
//! Wire format: an optional field that is absent is sent as `null`, never left out, and the
//! fields of every object are declared in the byte order of their JSON names, so that the
//! JSON is byte for byte what the registry sent when it built its answers as
//! `serde_json::Value` (whose objects sort their keys). The tests hold both.

use serde::ser::Error as _;
use serde::{Deserialize, Serialize, Serializer};

/// `POST /api/v1/registry/repositories`.
pub const REPOSITORIES_PATH: &str = "/api/v1/registry/repositories";
/// `DELETE /api/v1/registry/repositories/self`.
pub const SELF_PATH: &str = "/api/v1/registry/repositories/self";
/// `GET /api/v1/registry/entries?patient=…`; `PUT`/`DELETE …/entries/{uniqueId}`.
pub const ENTRIES_PATH: &str = "/api/v1/registry/entries";

/// The path of one entry, its uniqueId percent-encoded.
pub fn entry_path(unique_id: &str) -> String {
    format!("{ENTRIES_PATH}/{}", urlencoding::encode(unique_id))
}

/// `patientId`: the assigning authority's OID and the identifier under it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientId {
    pub extension: String,
    pub root: String,
}

/// A coded value (`typeCode`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coded {
    pub code: String,
    #[serde(default)]
    pub display: Option<String>,
    #[serde(default)]
    pub system: Option<String>,
}

/// An IHE XDS DocumentEntry, as a repository indexes it (`PUT …/entries/{uniqueId}`) and
/// the registry answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DocumentEntry {
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub class_code: Option<String>,
    #[serde(default)]
    pub confidentiality: Option<String>,
    /// RFC 3339.
    pub creation_time: String,
    /// SHA-1 of the document, hex (the XDS `hash`).
    pub hash: String,
    pub mime_type: String,
    pub patient_id: PatientId,
    /// The national repository id of the repository holding the document.
    pub repository_unique_id: String,
    /// SHA-256 of the document, hex.
    pub sha256: String,
    pub size: u64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub type_code: Option<Coded>,
    pub unique_id: String,
}

/// The registry's answer to a stored entry (`PUT …/entries/{uniqueId}`, OpenAPI
/// `EntryEnvelope`): the entry as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryEnvelope {
    pub entry: DocumentEntry,
    pub indexed: bool,
}

/// The registry's answer to a withdrawn entry (`DELETE …/entries/{uniqueId}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawn {
    /// The uniqueId withdrawn.
    pub withdrawn: String,
}

/// A registration (`POST /api/v1/registry/repositories`), made over mutual TLS with the
/// national TLS certificate and signed with the key of `wss_certificate_pem`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[serde(default)]
    pub name: Option<String>,
    /// Where the repository's documents are retrieved (`https://…`).
    pub repository_url: String,
    pub wss_certificate_pem: String,
}

/// The registry's answer to a registration (OpenAPI `Repository`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredRepository {
    pub name: Option<String>,
    /// `<oid_root>.5.<n>`.
    pub national_repository_id: String,
    /// False when the provider had registered before.
    pub new: bool,
    /// The tenant id in the national certificates' CN.
    pub provider: String,
    /// RFC 3339.
    pub registered_at: String,
    pub repository_url: String,
    /// `registered` or `deregistered`.
    pub status: String,
}

/// The registry's answer to a deregistration (`DELETE …/repositories/self`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deregistered {
    /// The national repository id deregistered.
    pub deregistered: String,
    /// How many of its entries the registry withdrew.
    pub withdrawn_entries: u64,
}

/// A search by patient (`GET …/entries?patient=EXT[&patient_root=OID]`); the repository's
/// own `GET /api/v1/national/find` takes the same parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_root: Option<String>,
}

impl FindQuery {
    /// The registry's path and query string for this search; each value given is
    /// percent-encoded, each absent one left out.
    pub fn path(&self) -> String {
        let parameters: Vec<String> = [
            ("patient", &self.patient),
            ("patient_root", &self.patient_root),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value
                .as_deref()
                .map(|value| format!("{name}={}", urlencoding::encode(value)))
        })
        .collect();
        if parameters.is_empty() {
            ENTRIES_PATH.to_owned()
        } else {
            format!("{ENTRIES_PATH}?{}", parameters.join("&"))
        }
    }
}

/// One entry found: the entry's own fields and where its repository is reached, in one
/// JSON object.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct FoundEntry {
    #[serde(flatten)]
    pub entry: DocumentEntry,
    pub repository_url: String,
    /// When the repository indexed it (RFC 3339).
    pub submitted_at: String,
}

impl Serialize for FoundEntry {
    /// The entry's object with the two fields added among its own, keys in order (a
    /// flattened struct would append them at the end).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let serde_json::Value::Object(mut object) =
            serde_json::to_value(&self.entry).map_err(S::Error::custom)?
        else {
            return Err(S::Error::custom("a DocumentEntry is a JSON object"));
        };
        object.insert(
            "repository_url".to_owned(),
            self.repository_url.clone().into(),
        );
        object.insert("submitted_at".to_owned(), self.submitted_at.clone().into());
        object.serialize(serializer)
    }
}

/// The registry's answer to a search (OpenAPI `FindResult`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindResult {
    pub entries: Vec<FoundEntry>,
    pub total: usize,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::{json, Value};

    use super::*;

    fn entry() -> DocumentEntry {
        DocumentEntry {
            author: Some("Łucja Żółkiewska".into()),
            class_code: Some("KIF".into()),
            confidentiality: None,
            creation_time: "2021-06-15T08:41:00Z".into(),
            hash: "a".repeat(40),
            mime_type: "text/xml".into(),
            patient_id: PatientId {
                extension: "44051401359".into(),
                root: "2.16.840.1.113883.3.4424.1.1.616".into(),
            },
            repository_unique_id: "2.999.1.5.1".into(),
            sha256: "b".repeat(64),
            size: 10,
            title: None,
            type_code: Some(Coded {
                code: "11490-0".into(),
                display: None,
                system: Some("2.16.840.1.113883.6.1".into()),
            }),
            unique_id: "2.16.840.1.113883.3.4424.2.7.26.7.1^1".into(),
        }
    }

    /// `value` as compact JSON with the keys of every object sorted, which is how
    /// `serde_json::Value` writes it (the registry's answers before these types).
    fn sorted(value: &Value) -> String {
        match value {
            Value::Object(object) => {
                let mut keys: Vec<&String> = object.keys().collect();
                keys.sort();
                let fields: Vec<String> = keys
                    .into_iter()
                    .map(|key| format!("{}:{}", Value::from(key.as_str()), sorted(&object[key])))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(sorted).collect();
                format!("[{}]", items.join(","))
            }
            other => other.to_string(),
        }
    }

    /// Serialises `value`, checks that the bytes are those of the same JSON with sorted keys
    /// and that they read back as the same value; gives the JSON.
    fn same_bytes_as_before<T>(value: &T) -> Value
    where
        T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let bytes = serde_json::to_string(value).unwrap();
        let as_value: Value = serde_json::from_str(&bytes).unwrap();
        assert_eq!(bytes, sorted(&as_value));
        assert_eq!(&serde_json::from_str::<T>(&bytes).unwrap(), value);
        as_value
    }

    #[test]
    fn an_entry_keeps_its_names_and_sends_absent_fields_as_null() {
        let sent = same_bytes_as_before(&entry());
        assert_eq!(
            sent,
            json!({
                "uniqueId": "2.16.840.1.113883.3.4424.2.7.26.7.1^1",
                "patientId": {"root": "2.16.840.1.113883.3.4424.1.1.616", "extension": "44051401359"},
                "classCode": "KIF",
                "typeCode": {"code": "11490-0", "system": "2.16.840.1.113883.6.1", "display": null},
                "creationTime": "2021-06-15T08:41:00Z",
                "hash": "a".repeat(40),
                "sha256": "b".repeat(64),
                "size": 10,
                "repositoryUniqueId": "2.999.1.5.1",
                "author": "Łucja Żółkiewska",
                "title": null,
                "confidentiality": null,
                "mimeType": "text/xml",
            })
        );
        // Optional fields may be left out; unknown ones are refused.
        let mut minimal = sent.clone();
        for optional in [
            "classCode",
            "typeCode",
            "author",
            "title",
            "confidentiality",
        ] {
            minimal.as_object_mut().unwrap().remove(optional);
        }
        let read: DocumentEntry = serde_json::from_value(minimal).unwrap();
        assert_eq!((read.author, read.type_code), (None, None));
        let mut unknown = sent;
        unknown["extra"] = json!(1);
        assert!(serde_json::from_value::<DocumentEntry>(unknown).is_err());
    }

    #[test]
    fn the_answers_keep_their_names() {
        let registered = same_bytes_as_before(&RegisteredRepository {
            name: None,
            national_repository_id: "2.999.1.5.1".into(),
            new: true,
            provider: "0000000000005010".into(),
            registered_at: "2026-01-02T03:04:05Z".into(),
            repository_url: "https://repo.example.org:8443".into(),
            status: "registered".into(),
        });
        assert_eq!(registered["name"], Value::Null);
        assert_eq!(registered["new"], true);
        let request = same_bytes_as_before(&RegisterRequest {
            name: None,
            repository_url: "https://repo.example.org:8443".into(),
            wss_certificate_pem: "-----BEGIN CERTIFICATE-----".into(),
        });
        assert_eq!(request.as_object().unwrap().len(), 3, "{request}");
        same_bytes_as_before(&Deregistered {
            deregistered: "2.999.1.5.1".into(),
            withdrawn_entries: 2,
        });
        same_bytes_as_before(&Withdrawn {
            withdrawn: "1.2.3^4".into(),
        });
        same_bytes_as_before(&EntryEnvelope {
            entry: entry(),
            indexed: true,
        });
    }

    #[test]
    fn a_found_entry_is_one_object_with_its_keys_in_order() {
        let found = FoundEntry {
            entry: entry(),
            repository_url: "https://repo.example.org:8443".into(),
            submitted_at: "2026-01-02T03:04:05Z".into(),
        };
        let answer = same_bytes_as_before(&FindResult {
            entries: vec![found.clone()],
            total: 1,
        });
        assert_eq!(answer["entries"][0]["repository_url"], found.repository_url);
        assert_eq!(answer["entries"][0]["repositoryUniqueId"], "2.999.1.5.1");
        assert_eq!(answer["entries"][0]["title"], Value::Null);
        let keys: Vec<&String> = answer["entries"][0].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 15, "{keys:?}");
    }

    #[test]
    fn a_find_query_encodes_what_it_has() {
        let query = FindQuery {
            patient: Some("44051401359".into()),
            patient_root: Some("2.16.840.1.113883.3.4424.1.1.616".into()),
        };
        assert_eq!(
            query.path(),
            "/api/v1/registry/entries?patient=44051401359&patient_root=2.16.840.1.113883.3.4424.1.1.616"
        );
        let odd = FindQuery {
            patient: Some("a b&c".into()),
            patient_root: None,
        };
        assert_eq!(odd.path(), "/api/v1/registry/entries?patient=a%20b%26c");
        assert_eq!(FindQuery::default().path(), "/api/v1/registry/entries");
        assert_eq!(
            entry_path("1.2.3^x/y"),
            "/api/v1/registry/entries/1.2.3%5Ex%2Fy"
        );
    }
}
