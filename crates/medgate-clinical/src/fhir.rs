//! FHIR R4 JSON as the service takes and returns it: the resource types it keeps, the checks
//! of the fields it relies on (each refusal names the field), and the fields it sets itself
//! (`id`, `meta.versionId`, `meta.lastUpdated`).
//!
//! Resources stay `serde_json::Value`: the service checks what it acts on and keeps the
//! rest as the client sent it.

use base64::Engine;
use medgate_ids::Taj;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::ClinicalError;

/// The resource types the service keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceType {
    Encounter,
    DocumentReference,
    Binary,
    AllergyIntolerance,
    Device,
    DeviceUseStatement,
    Condition,
    CarePlan,
    MedicationStatement,
    ServiceRequest,
    Consent,
}

impl ResourceType {
    /// Every type the service keeps.
    pub const ALL: [ResourceType; 11] = [
        ResourceType::Encounter,
        ResourceType::DocumentReference,
        ResourceType::Binary,
        ResourceType::AllergyIntolerance,
        ResourceType::Device,
        ResourceType::DeviceUseStatement,
        ResourceType::Condition,
        ResourceType::CarePlan,
        ResourceType::MedicationStatement,
        ResourceType::ServiceRequest,
        ResourceType::Consent,
    ];

    /// The patient profile's entry types (the platform's eProfil).
    pub const PROFILE: [ResourceType; 6] = [
        ResourceType::AllergyIntolerance,
        ResourceType::Device,
        ResourceType::DeviceUseStatement,
        ResourceType::Condition,
        ResourceType::CarePlan,
        ResourceType::MedicationStatement,
    ];

    /// The FHIR name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Encounter => "Encounter",
            ResourceType::DocumentReference => "DocumentReference",
            ResourceType::Binary => "Binary",
            ResourceType::AllergyIntolerance => "AllergyIntolerance",
            ResourceType::Device => "Device",
            ResourceType::DeviceUseStatement => "DeviceUseStatement",
            ResourceType::Condition => "Condition",
            ResourceType::CarePlan => "CarePlan",
            ResourceType::MedicationStatement => "MedicationStatement",
            ResourceType::ServiceRequest => "ServiceRequest",
            ResourceType::Consent => "Consent",
        }
    }

    /// The type of this FHIR name.
    pub fn parse(name: &str) -> Result<Self, ClinicalError> {
        ResourceType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| ClinicalError::UnsupportedResourceType {
                resource_type: name.chars().take(64).collect(),
            })
    }

    /// True for the patient profile's entries.
    pub fn is_profile(self) -> bool {
        ResourceType::PROFILE.contains(&self)
    }

    /// True for what a patient's restriction covers: their documents.
    pub fn is_document(self) -> bool {
        matches!(self, ResourceType::DocumentReference | ResourceType::Binary)
    }

    /// The element that references the patient (`None` for Binary, which has none).
    fn patient_element(self) -> Option<&'static str> {
        match self {
            ResourceType::AllergyIntolerance | ResourceType::Device | ResourceType::Consent => {
                Some("patient")
            }
            ResourceType::Binary => None,
            _ => Some("subject"),
        }
    }
}

/// The FHIR `instant` of a time: `2026-12-03T17:05:00Z`.
pub fn instant(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// A new logical id: 128 random bits in hexadecimal (a valid FHIR id).
pub(crate) fn new_id() -> Result<String, ClinicalError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ClinicalError::Internal {
        what: "the system random source failed",
    })?;
    Ok(hex::encode(bytes))
}

/// True when `id` is a FHIR id: 1 to 64 of `[A-Za-z0-9.-]`.
pub fn is_fhir_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The patient reference of a TAJ: `Patient/<TAJ>`.
pub fn patient_reference(patient: &Taj) -> Value {
    json!({ "reference": format!("Patient/{patient}") })
}

pub(crate) fn object(resource: &Value) -> Result<&Map<String, Value>, ClinicalError> {
    resource
        .as_object()
        .ok_or_else(|| ClinicalError::invalid("(resource)", "must be a JSON object"))
}

/// The text at `path` (dot-separated element names), if present and a string.
pub(crate) fn text_at<'a>(resource: &'a Value, path: &str) -> Option<&'a str> {
    value_at(resource, path).and_then(Value::as_str)
}

pub(crate) fn value_at<'a>(resource: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(resource, |value, name| match name.parse::<usize>() {
            Ok(index) => value.get(index),
            Err(_) => value.get(name),
        })
}

fn require_text<'a>(resource: &'a Value, path: &str) -> Result<&'a str, ClinicalError> {
    match value_at(resource, path) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text),
        Some(_) => Err(ClinicalError::invalid(path, "must be a non-empty string")),
        None => Err(ClinicalError::invalid(path, "is required")),
    }
}

fn require_one_of(resource: &Value, path: &str, allowed: &[&str]) -> Result<String, ClinicalError> {
    let text = require_text(resource, path)?;
    if allowed.contains(&text) {
        Ok(text.to_owned())
    } else {
        Err(ClinicalError::invalid(
            path,
            format!("is '{text}'; allowed: {}", allowed.join(", ")),
        ))
    }
}

fn require_present(resource: &Value, path: &str, what: &str) -> Result<(), ClinicalError> {
    match value_at(resource, path) {
        Some(Value::Null) | None => Err(ClinicalError::invalid(
            path,
            format!("is required ({what})"),
        )),
        Some(_) => Ok(()),
    }
}

fn require_instant(resource: &Value, path: &str) -> Result<OffsetDateTime, ClinicalError> {
    let text = require_text(resource, path)?;
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        ClinicalError::invalid(
            path,
            format!("'{text}' is not a date and time with a zone, e.g. 2026-12-03T09:30:00+01:00"),
        )
    })
}

/// The media types of clinical documents: CDA and PDF.
pub const DOCUMENT_CONTENT_TYPES: [&str; 4] = [
    "application/pdf",
    "application/hl7-v3+xml",
    "application/xml",
    "text/xml",
];

/// Checks a resource of `kind` as a client sent it and returns the patient it is about (for
/// Binary, which names none: `None`). Checked: `resourceType`, the patient reference
/// `Patient/<TAJ>` with a valid TAJ, and the fields the service acts on.
pub fn validate(kind: ResourceType, resource: &Value) -> Result<Option<Taj>, ClinicalError> {
    object(resource)?;
    let declared = require_text(resource, "resourceType")?;
    if declared != kind.as_str() {
        return Err(ClinicalError::invalid(
            "resourceType",
            format!("is '{declared}' where a {} is expected", kind.as_str()),
        ));
    }
    if let Some(id) = value_at(resource, "id") {
        if !id.as_str().is_some_and(is_fhir_id) {
            return Err(ClinicalError::invalid(
                "id",
                "must be 1 to 64 letters, digits, '-' or '.'",
            ));
        }
    }
    let patient = match kind.patient_element() {
        Some(element) => Some(patient_of(resource, element)?),
        None => None,
    };
    match kind {
        ResourceType::Encounter => {
            require_one_of(
                resource,
                "status",
                &[
                    "planned",
                    "arrived",
                    "triaged",
                    "in-progress",
                    "onleave",
                    "finished",
                    "cancelled",
                    "entered-in-error",
                    "unknown",
                ],
            )?;
            require_present(resource, "class", "a Coding such as AMB")?;
            require_instant(resource, "period.start")?;
        }
        ResourceType::DocumentReference => {
            require_one_of(
                resource,
                "status",
                &["current", "superseded", "entered-in-error"],
            )?;
            require_one_of(
                resource,
                "content.0.attachment.contentType",
                &DOCUMENT_CONTENT_TYPES,
            )?;
        }
        ResourceType::Binary => {
            require_one_of(resource, "contentType", &DOCUMENT_CONTENT_TYPES)?;
            let data = require_text(resource, "data")?;
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| ClinicalError::invalid("data", "is not base64"))?;
        }
        ResourceType::AllergyIntolerance | ResourceType::Condition => {
            require_present(resource, "code", "a CodeableConcept")?;
        }
        ResourceType::Device => {
            require_present(resource, "type", "a CodeableConcept")?;
        }
        ResourceType::DeviceUseStatement => {
            require_one_of(
                resource,
                "status",
                &[
                    "active",
                    "completed",
                    "entered-in-error",
                    "intended",
                    "stopped",
                    "on-hold",
                ],
            )?;
            require_text(resource, "device.reference")?;
        }
        ResourceType::CarePlan => {
            require_one_of(
                resource,
                "status",
                &[
                    "draft",
                    "active",
                    "on-hold",
                    "revoked",
                    "completed",
                    "entered-in-error",
                    "unknown",
                ],
            )?;
            require_one_of(resource, "intent", &["proposal", "plan", "order", "option"])?;
        }
        ResourceType::MedicationStatement => {
            require_one_of(
                resource,
                "status",
                &[
                    "active",
                    "completed",
                    "entered-in-error",
                    "intended",
                    "stopped",
                    "on-hold",
                    "unknown",
                    "not-taken",
                ],
            )?;
            if value_at(resource, "medicationCodeableConcept").is_none()
                && value_at(resource, "medicationReference").is_none()
            {
                return Err(ClinicalError::invalid(
                    "medication[x]",
                    "is required (medicationCodeableConcept or medicationReference)",
                ));
            }
        }
        ResourceType::ServiceRequest => {
            require_one_of(
                resource,
                "intent",
                &[
                    "proposal",
                    "plan",
                    "directive",
                    "order",
                    "original-order",
                    "reflex-order",
                    "filler-order",
                    "instance-order",
                    "option",
                ],
            )?;
        }
        ResourceType::Consent => {
            require_present(resource, "scope", "a CodeableConcept")?;
            require_present(resource, "category", "a list of CodeableConcepts")?;
        }
    }
    Ok(patient)
}

/// The TAJ of `<element>.reference` = `Patient/<TAJ>`.
fn patient_of(resource: &Value, element: &str) -> Result<Taj, ClinicalError> {
    let path = format!("{element}.reference");
    let reference = require_text(resource, &path)?;
    let Some(taj) = reference.strip_prefix("Patient/") else {
        return Err(ClinicalError::invalid(
            path,
            format!("'{reference}' is not a patient reference Patient/<TAJ>"),
        ));
    };
    Taj::parse(taj).map_err(|error| ClinicalError::invalid(path, error.to_string()))
}

/// Sets what the service owns: `id`, `meta.versionId`, `meta.lastUpdated`.
pub(crate) fn stamp(resource: &mut Value, id: &str, version: u64, at: OffsetDateTime) {
    if let Some(object) = resource.as_object_mut() {
        object.insert("id".to_owned(), Value::String(id.to_owned()));
        let meta = object
            .entry("meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("versionId".to_owned(), Value::String(version.to_string()));
            meta.insert("lastUpdated".to_owned(), Value::String(instant(at)));
        }
    }
}

/// Sets `name` at the top level.
pub(crate) fn set(resource: &mut Value, name: &str, value: Value) {
    if let Some(object) = resource.as_object_mut() {
        object.insert(name.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(reference: &str) -> Value {
        json!({
            "resourceType": "Condition",
            "subject": { "reference": reference },
            "code": { "text": "diabetes mellitus" }
        })
    }

    #[test]
    fn the_patient_comes_from_the_reference_and_its_taj_is_checked() {
        let taj = validate(ResourceType::Condition, &condition("Patient/123456788"));
        assert_eq!(
            taj.ok().flatten().map(|t| t.to_string()),
            Some("123456788".to_owned())
        );
        let error = validate(ResourceType::Condition, &condition("Patient/123456789"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with("subject.reference: invalid TAJ"),
            "{error}"
        );
        let error = validate(ResourceType::Condition, &condition("Group/1"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("not a patient reference"), "{error}");
    }

    #[test]
    fn refusals_name_the_field() {
        let mut wrong_type = condition("Patient/123456788");
        set(&mut wrong_type, "resourceType", json!("Observation"));
        let error = validate(ResourceType::Condition, &wrong_type)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("resourceType:"), "{error}");
        let encounter = json!({
            "resourceType": "Encounter", "status": "in-progress",
            "class": { "code": "AMB" }, "subject": { "reference": "Patient/123456788" },
            "period": { "start": "yesterday" }
        });
        let error = validate(ResourceType::Encounter, &encounter)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("period.start:"), "{error}");
        let binary = json!({ "resourceType": "Binary", "contentType": "application/pdf", "data": "not base64!" });
        let error = validate(ResourceType::Binary, &binary)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(error, "data: is not base64");
    }

    #[test]
    fn stamping_sets_id_version_and_time() -> Result<(), ClinicalError> {
        let mut resource = condition("Patient/123456788");
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000)
            .map_err(|_| ClinicalError::Internal { what: "t" })?;
        stamp(&mut resource, "abc", 3, at);
        assert_eq!(text_at(&resource, "id"), Some("abc"));
        assert_eq!(text_at(&resource, "meta.versionId"), Some("3"));
        assert_eq!(
            text_at(&resource, "meta.lastUpdated"),
            Some("2027-01-15T08:00:00Z")
        );
        Ok(())
    }
}
