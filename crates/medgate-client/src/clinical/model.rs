//! What a clinic sends to and gets from the clinical record service: typed requests
//! (an encounter to open, a document to submit, a referral to issue, a profile entry) that
//! this module turns into FHIR R4 JSON, the session of a signed-in practitioner, and the
//! resources the service answers with ([`FhirResource`]: FHIR JSON with typed accessors).

use medgate_ids::{InstitutionId, Taj, UnitId};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::ClinicalClientError;

/// The identifier system of a clinic's document submissions (with the institution's id
/// in the service's conditional create, a retried submission finds the first).
pub const SUBMISSION_SYSTEM: &str = "https://medgate.invalid/fhir/sid/submission";

/// The header by which a practitioner breaks the glass of a patient's restriction.
pub const BREAK_GLASS_HEADER: &str = "medgate-break-glass";

/// The extension of a referral's own status (issued, consumed, cancelled, expired).
pub const REFERRAL_STATUS_EXTENSION: &str =
    "https://medgate.invalid/fhir/StructureDefinition/referral-status";

/// A practitioner's session at the service: the bearer token from `POST /fhir/$login`, for
/// one institution, until `expires_at` (7 hours after sign-in).
#[derive(Clone)]
pub struct Session {
    token: String,
    /// The practitioner's user name at the service.
    pub user_name: String,
    pub institution: InstitutionId,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user_name", &self.user_name)
            .field("institution", &self.institution)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session kept from an earlier sign-in (a node's store, a file of the command line).
    pub fn resume(
        token: String,
        user_name: String,
        institution: InstitutionId,
        expires_at: OffsetDateTime,
    ) -> Self {
        Session {
            token,
            user_name,
            institution,
            expires_at,
        }
    }

    /// The bearer token. A secret: keep it as one (owner-only files, never in logs).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// True once the session's time is over.
    pub fn has_ended(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

/// A FHIR resource the service returned.
#[derive(Clone, Debug, PartialEq)]
pub struct FhirResource(Value);

impl FhirResource {
    pub(crate) fn new(value: Value) -> Self {
        FhirResource(value)
    }

    fn text(&self, pointer: &str) -> Option<&str> {
        self.0.pointer(pointer).and_then(Value::as_str)
    }

    /// `resourceType`.
    pub fn resource_type(&self) -> &str {
        self.text("/resourceType").unwrap_or_default()
    }

    /// The logical id.
    pub fn id(&self) -> &str {
        self.text("/id").unwrap_or_default()
    }

    /// `meta.versionId` as a number (what `If-Match` names).
    pub fn version(&self) -> Option<u64> {
        self.text("/meta/versionId").and_then(|v| v.parse().ok())
    }

    /// `meta.lastUpdated`.
    pub fn last_updated(&self) -> Option<&str> {
        self.text("/meta/lastUpdated")
    }

    /// `status`.
    pub fn status(&self) -> Option<&str> {
        self.text("/status")
    }

    /// A referral's own status (issued, consumed, cancelled, expired).
    pub fn referral_status(&self) -> Option<&str> {
        self.0
            .get("extension")?
            .as_array()?
            .iter()
            .find(|e| e.get("url").and_then(Value::as_str) == Some(REFERRAL_STATUS_EXTENSION))?
            .get("valueCode")?
            .as_str()
    }

    /// The institution that wrote it, from `author`, `requester` or `recorder`
    /// (`Organization/<id>`).
    pub fn institution(&self) -> Option<&str> {
        [
            "/author/0/reference",
            "/requester/reference",
            "/custodian/reference",
        ]
        .into_iter()
        .find_map(|pointer| self.text(pointer))
        .and_then(|reference| reference.strip_prefix("Organization/"))
    }

    /// The first human-readable text of the resource: a document's description, a profile
    /// entry's code, type or medication, a referral's specialty.
    pub fn summary(&self) -> Option<&str> {
        [
            "/description",
            "/code/text",
            "/type/text",
            "/medicationCodeableConcept/text",
            "/performerType/text",
            "/type/0/text",
        ]
        .into_iter()
        .find_map(|pointer| self.text(pointer))
    }

    /// The FHIR JSON.
    pub fn json(&self) -> &Value {
        &self.0
    }

    /// The FHIR JSON, owned.
    pub fn into_json(self) -> Value {
        self.0
    }
}

/// An encounter to open (the platform's event catalogue).
#[derive(Clone, Debug)]
pub struct NewEncounter {
    pub patient: Taj,
    /// The unit of the calling institution where the care happens.
    pub unit: UnitId,
    /// The care type, e.g. `járóbeteg-ellátás`.
    pub care_type: String,
    /// The start; the service's now when `None`.
    pub start: Option<OffsetDateTime>,
}

impl NewEncounter {
    pub(crate) fn to_fhir(&self) -> Result<Value, ClinicalClientError> {
        let mut resource = json!({
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "AMB",
                "display": "ambulatory"
            },
            "subject": { "reference": format!("Patient/{}", self.patient) },
            "location": [{ "location": { "identifier": { "value": self.unit.as_str() } } }],
        });
        if !self.care_type.trim().is_empty() {
            resource["type"] = json!([{ "text": self.care_type.trim() }]);
        }
        if let Some(start) = self.start {
            resource["period"] = json!({ "start": instant(start)? });
        }
        Ok(resource)
    }
}

/// The identifier a clinic gives a document submission before sending it: sent again with
/// a retried submission, it makes the service answer with the document stored the first
/// time instead of storing a second one (FHIR conditional create, `If-None-Exist`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmissionId(String);

impl SubmissionId {
    /// A fresh random identifier (128 bits, hex).
    pub fn generate() -> Result<Self, ClinicalClientError> {
        let mut bytes = [0u8; 16];
        aws_lc_rs::rand::fill(&mut bytes)
            .map_err(|_| ClinicalClientError::Setup("the system random source failed".into()))?;
        Ok(SubmissionId(hex::encode(bytes)))
    }

    /// An identifier chosen by the clinic: 1 to 64 letters, digits, `-` or `.`.
    pub fn parse(text: &str) -> Result<Self, ClinicalClientError> {
        let valid = !text.is_empty()
            && text.len() <= 64
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if valid {
            Ok(SubmissionId(text.to_owned()))
        } else {
            Err(ClinicalClientError::Setup(format!(
                "submission identifier '{}' must be 1 to 64 letters, digits, '-' or '.'",
                text.chars().take(80).collect::<String>()
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SubmissionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The formats the service takes for clinical documents.
pub const DOCUMENT_CONTENT_TYPES: [&str; 4] = [
    "application/pdf",
    "application/hl7-v3+xml",
    "application/xml",
    "text/xml",
];

/// A clinical document to submit for a patient (a CDA or PDF).
#[derive(Clone, Debug)]
pub struct DocumentSubmission {
    pub identifier: SubmissionId,
    pub patient: Taj,
    /// The encounter it belongs to (its id).
    pub encounter: Option<String>,
    /// One of [`DOCUMENT_CONTENT_TYPES`].
    pub content_type: String,
    pub title: String,
    pub data: Vec<u8>,
}

impl DocumentSubmission {
    /// The content type of a file, from its first bytes: `%PDF` is a PDF, `<` a CDA.
    pub fn sniff_content_type(data: &[u8]) -> Option<&'static str> {
        let trimmed = data
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(data)
            .trim_ascii_start();
        if trimmed.starts_with(b"%PDF") {
            Some("application/pdf")
        } else if trimmed.starts_with(b"<") {
            Some("application/hl7-v3+xml")
        } else {
            None
        }
    }

    pub(crate) fn to_fhir(&self) -> Value {
        use base64::Engine as _;
        let mut resource = json!({
            "resourceType": "DocumentReference",
            "status": "current",
            "identifier": [{ "system": SUBMISSION_SYSTEM, "value": self.identifier.as_str() }],
            "subject": { "reference": format!("Patient/{}", self.patient) },
            "description": self.title,
            "content": [{ "attachment": {
                "contentType": self.content_type,
                "data": base64::engine::general_purpose::STANDARD.encode(&self.data),
                "title": self.title,
            } }],
        });
        if let Some(encounter) = &self.encounter {
            resource["context"] =
                json!({ "encounter": [{ "reference": format!("Encounter/{encounter}") }] });
        }
        resource
    }

    /// The `If-None-Exist` query of the submission.
    pub(crate) fn if_none_exist(&self) -> String {
        format!(
            "identifier={}",
            urlencoding::encode(&format!("{SUBMISSION_SYSTEM}|{}", self.identifier))
        )
    }
}

/// A submitted document: the service's DocumentReference, and whether this call stored it
/// (`false`: it was stored by an earlier attempt with the same identifier).
#[derive(Clone, Debug)]
pub struct Submitted {
    pub document: FhirResource,
    pub created: bool,
}

/// A patient's documents across institutions.
#[derive(Clone, Debug)]
pub struct DocumentList {
    pub documents: Vec<FhirResource>,
    /// The service's note when it withheld documents the patient restricted.
    pub withheld: Option<String>,
}

/// A document's content (its Binary).
#[derive(Clone, Debug)]
pub struct DocumentContent {
    pub content_type: String,
    pub data: Vec<u8>,
}

/// The kinds of patient profile entries (the platform's eProfil).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileKind {
    AllergyIntolerance,
    Device,
    DeviceUseStatement,
    Condition,
    CarePlan,
    MedicationStatement,
}

impl ProfileKind {
    pub const ALL: [ProfileKind; 6] = [
        ProfileKind::AllergyIntolerance,
        ProfileKind::Device,
        ProfileKind::DeviceUseStatement,
        ProfileKind::Condition,
        ProfileKind::CarePlan,
        ProfileKind::MedicationStatement,
    ];

    /// The FHIR resource type.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileKind::AllergyIntolerance => "AllergyIntolerance",
            ProfileKind::Device => "Device",
            ProfileKind::DeviceUseStatement => "DeviceUseStatement",
            ProfileKind::Condition => "Condition",
            ProfileKind::CarePlan => "CarePlan",
            ProfileKind::MedicationStatement => "MedicationStatement",
        }
    }

    /// The kind of a FHIR resource type name (case-insensitive).
    pub fn parse(name: &str) -> Result<Self, ClinicalClientError> {
        ProfileKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                ClinicalClientError::Setup(format!(
                    "'{name}' is not a profile entry type; one of: {}",
                    ProfileKind::ALL.map(ProfileKind::as_str).join(", ")
                ))
            })
    }

    /// The element that references the patient.
    fn patient_element(self) -> &'static str {
        match self {
            ProfileKind::AllergyIntolerance | ProfileKind::Device => "patient",
            _ => "subject",
        }
    }

    /// A minimal entry of this kind for `patient` described by `text` (the allergy, device,
    /// condition, care programme or medication in words). A DeviceUseStatement needs a
    /// device reference, so it has no minimal form: send a whole resource.
    pub fn entry(self, patient: &Taj, text: &str) -> Result<Value, ClinicalClientError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ClinicalClientError::Setup(
                "the entry's text is empty".to_owned(),
            ));
        }
        let mut resource = json!({ "resourceType": self.as_str() });
        resource[self.patient_element()] = json!({ "reference": format!("Patient/{patient}") });
        match self {
            ProfileKind::AllergyIntolerance | ProfileKind::Condition => {
                resource["code"] = json!({ "text": text });
            }
            ProfileKind::Device => resource["type"] = json!({ "text": text }),
            ProfileKind::CarePlan => {
                resource["status"] = json!("active");
                resource["intent"] = json!("plan");
                resource["description"] = json!(text);
            }
            ProfileKind::MedicationStatement => {
                resource["status"] = json!("active");
                resource["medicationCodeableConcept"] = json!({ "text": text });
            }
            ProfileKind::DeviceUseStatement => {
                return Err(ClinicalClientError::Setup(
                    "a DeviceUseStatement needs its device: give the whole resource as a JSON file"
                        .to_owned(),
                ))
            }
        }
        Ok(resource)
    }

    /// `resource` with its text replaced by `text` (see [`ProfileKind::entry`]).
    pub fn with_text(self, mut resource: Value, text: &str) -> Result<Value, ClinicalClientError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ClinicalClientError::Setup(
                "the entry's text is empty".to_owned(),
            ));
        }
        match self {
            ProfileKind::AllergyIntolerance | ProfileKind::Condition => {
                resource["code"] = json!({ "text": text });
            }
            ProfileKind::Device => resource["type"] = json!({ "text": text }),
            ProfileKind::CarePlan => resource["description"] = json!(text),
            ProfileKind::MedicationStatement => {
                resource["medicationCodeableConcept"] = json!({ "text": text });
            }
            ProfileKind::DeviceUseStatement => {
                return Err(ClinicalClientError::Setup(
                    "a DeviceUseStatement has no text to change: give the whole resource as a JSON file"
                        .to_owned(),
                ))
            }
        }
        Ok(resource)
    }
}

/// One version in a resource's history, newest first.
#[derive(Clone, Debug)]
pub struct HistoryEntry {
    /// The version (`None` for a deletion).
    pub version: Option<u64>,
    pub deleted: bool,
    pub last_modified: Option<String>,
    /// The resource as it was (`None` for a deletion).
    pub resource: Option<FhirResource>,
}

/// A referral to issue (the platform's e-beutaló).
#[derive(Clone, Debug)]
pub struct NewReferral {
    pub patient: Taj,
    /// The specialty referred to, e.g. `szájsebészet`.
    pub specialty: String,
    /// What the receiving practitioner should know.
    pub note: Option<String>,
    /// After this the referral expires.
    pub valid_until: Option<OffsetDateTime>,
}

impl NewReferral {
    pub(crate) fn to_fhir(&self) -> Result<Value, ClinicalClientError> {
        let specialty = self.specialty.trim();
        if specialty.is_empty() {
            return Err(ClinicalClientError::Setup(
                "the referral's specialty is empty".to_owned(),
            ));
        }
        let mut resource = json!({
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "subject": { "reference": format!("Patient/{}", self.patient) },
            "performerType": { "text": specialty },
        });
        if let Some(note) = self
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            resource["note"] = json!([{ "text": note }]);
        }
        if let Some(until) = self.valid_until {
            resource["occurrencePeriod"] = json!({ "end": instant(until)? });
        }
        Ok(resource)
    }
}

fn instant(at: OffsetDateTime) -> Result<String, ClinicalClientError> {
    at.format(&Rfc3339)
        .map_err(|e| ClinicalClientError::Setup(format!("a time that cannot be written: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn submission_identifiers_are_fhir_tokens() {
        assert!(SubmissionId::parse("lap-2026.12.03-1").is_ok());
        assert!(SubmissionId::parse("").is_err());
        assert!(SubmissionId::parse("a|b").is_err());
        let generated = SubmissionId::generate().unwrap();
        assert_eq!(generated.as_str().len(), 32);
        assert_ne!(generated, SubmissionId::generate().unwrap());
    }

    #[test]
    fn a_profile_entry_names_the_patient_where_its_type_does() {
        let patient = Taj::parse("123456788").unwrap();
        let allergy = ProfileKind::AllergyIntolerance
            .entry(&patient, "penicillin")
            .unwrap();
        assert_eq!(allergy["patient"]["reference"], "Patient/123456788");
        let condition = ProfileKind::parse("condition")
            .unwrap()
            .entry(&patient, "Diabetes")
            .unwrap();
        assert_eq!(condition["subject"]["reference"], "Patient/123456788");
        let changed = ProfileKind::Condition
            .with_text(condition, "Diabetes, 2")
            .unwrap();
        assert_eq!(changed["code"]["text"], "Diabetes, 2");
        assert!(ProfileKind::parse("Patient").is_err());
        assert!(ProfileKind::DeviceUseStatement
            .entry(&patient, "x")
            .is_err());
    }

    #[test]
    fn documents_are_recognised_by_their_first_bytes() {
        assert_eq!(
            DocumentSubmission::sniff_content_type(b"%PDF-1.4"),
            Some("application/pdf")
        );
        assert_eq!(
            DocumentSubmission::sniff_content_type(b"\xEF\xBB\xBF<?xml"),
            Some("application/hl7-v3+xml")
        );
        assert_eq!(DocumentSubmission::sniff_content_type(b"GIF89a"), None);
    }
}
