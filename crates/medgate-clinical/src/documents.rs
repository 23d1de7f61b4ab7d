//! Clinical documents (the platform's EHR documents): a CDA or PDF document submitted for a
//! patient, attached to an encounter, stored as a `Binary` and the `DocumentReference` that
//! describes it — the same logical id for both, written in one transaction — and listed
//! across all institutions with [`crate::resources::search`].

use base64::Engine;
use medgate_ids::Taj;
use medgate_storage::{ExpectedVersion, Metadata};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::ClinicalError;
use crate::fhir::{self, ResourceType, DOCUMENT_CONTENT_TYPES};
use crate::resources::{current, refusal, Columns, Planned};
use crate::Caller;

/// The most bytes one document may have.
pub const MAX_DOCUMENT_BYTES: usize = 20 * 1024 * 1024;

/// A document to submit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDocument {
    pub patient: Taj,
    /// The encounter it belongs to (`Encounter/<id>`'s id), the patient's.
    pub encounter: Option<String>,
    /// `application/pdf`, or a CDA's `application/hl7-v3+xml` (or XML).
    pub content_type: String,
    pub title: String,
    pub data: Vec<u8>,
    /// The service's FHIR base URL (`https://host:port/fhir`): the attachment's `url` is
    /// `<base>/Binary/<id>`, absolute as FHIR's `url` type (and validators) want it.
    pub fhir_base_url: String,
}

/// Submits a document: its Binary and DocumentReference (same id), with one audit entry.
/// The DocumentReference is returned.
pub async fn submit(
    store: &Metadata,
    caller: &Caller,
    document: &NewDocument,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    if !DOCUMENT_CONTENT_TYPES.contains(&document.content_type.as_str()) {
        return Err(ClinicalError::invalid(
            "content.0.attachment.contentType",
            format!(
                "is '{}'; allowed: {}",
                document.content_type,
                DOCUMENT_CONTENT_TYPES.join(", ")
            ),
        ));
    }
    if document.data.is_empty() || document.data.len() > MAX_DOCUMENT_BYTES {
        return Err(ClinicalError::invalid(
            "content.0.attachment.data",
            format!("must hold 1 to {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    let base = document.fhir_base_url.as_str();
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(ClinicalError::invalid(
            "content.0.attachment.url",
            format!("the service's base URL '{base}' is not an http(s) URL"),
        ));
    }
    let title = document.title.trim();
    if title.is_empty() {
        return Err(ClinicalError::invalid(
            "description",
            "the title is required",
        ));
    }
    let mut context = json!({});
    if let Some(encounter) = &document.encounter {
        let (head, _) = current(store, ResourceType::Encounter, encounter).await?;
        if head.patient != document.patient {
            return Err(ClinicalError::invalid(
                "context.encounter",
                format!("Encounter/{encounter} is another patient's"),
            ));
        }
        context = json!({ "encounter": [{ "reference": format!("Encounter/{encounter}") }] });
    }
    let id = fhir::new_id()?;
    let size = u64::try_from(document.data.len()).unwrap_or(u64::MAX);
    let sha1 =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &document.data);
    let engine = base64::engine::general_purpose::STANDARD;
    let binary = json!({
        "resourceType": "Binary",
        "id": id,
        "contentType": document.content_type,
        "data": engine.encode(&document.data)
    });
    let reference = json!({
        "resourceType": "DocumentReference",
        "id": id,
        "status": "current",
        "subject": fhir::patient_reference(&document.patient),
        "date": fhir::instant(now),
        "author": [{ "reference": format!("Organization/{}", caller.institution) }],
        "custodian": { "reference": format!("Organization/{}", caller.institution) },
        "description": title,
        "content": [{
            "attachment": {
                "contentType": document.content_type,
                "url": format!("{}/Binary/{id}", document.fhir_base_url.trim_end_matches('/')),
                "size": size,
                "hash": engine.encode(sha1.as_ref()),
                "title": title,
                "creation": fhir::instant(now)
            }
        }],
        "context": context
    });
    let plan = |kind: ResourceType, resource: Value| Planned {
        kind,
        id: id.clone(),
        patient: document.patient.clone(),
        institution: caller.institution.clone(),
        expected: ExpectedVersion::New,
        columns: Columns {
            status: None,
            restriction: None,
        },
        deleted: false,
        resource,
    };
    let (binary_write, _) = plan(ResourceType::Binary, binary).into_write(now);
    let (reference_write, reference) =
        plan(ResourceType::DocumentReference, reference).into_write(now);
    let target = format!("DocumentReference/{id}");
    let audit = caller.audit(
        "clinical.document.submit",
        &target,
        Some(&document.patient),
        format!("{} bytes of {}", size, document.content_type),
    );
    let access = caller.access(&document.patient, "create", &target, None, now);
    store
        .write_clinical_resources(&[binary_write, reference_write], &audit, Some(&access))
        .await
        .map_err(|error| refusal(ResourceType::DocumentReference, error))?;
    Ok(reference)
}
