//! Clinical documents (the platform's EHR documents): a CDA or PDF document submitted for a
//! patient, attached to an encounter, stored as a `Binary` and the `DocumentReference` that
//! describes it — the same logical id for both, written in one transaction — and listed
//! across all institutions with [`crate::resources::search`].
//!
//! A submission may carry the clinic's own identifier ([`SubmissionIdentifier`], FHIR's
//! conditional create `If-None-Exist: identifier=<system>|<value>`): the logical id is then
//! derived from the institution and that identifier, so a submission sent again — after a
//! timeout, say — finds the document stored the first time and answers it instead of
//! storing a second one; two attempts racing each other meet at the store's insert of the
//! same id, and the loser answers the winner's document.

use base64::Engine;
use medgate_ids::Taj;
use medgate_storage::{ExpectedVersion, Metadata};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::ClinicalError;
use crate::fhir::{self, ResourceType, DOCUMENT_CONTENT_TYPES};
use crate::resources::{current, refusal, Columns, Planned};
use medgate_storage::ClinicalStoreError;
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
    /// The clinic's identifier of this submission, when it gave one.
    pub identifier: Option<SubmissionIdentifier>,
}

/// A clinic's identifier of a document submission: `system` and `value` as FHIR's
/// `Identifier`, unique within the submitting institution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmissionIdentifier {
    pub system: String,
    pub value: String,
}

impl SubmissionIdentifier {
    /// The identifier of a search `identifier=<system>|<value>` (the value of FHIR's
    /// `If-None-Exist`, URL-decoded).
    pub fn parse_search(query: &str) -> Result<Self, ClinicalError> {
        let invalid = || {
            ClinicalError::invalid(
                "If-None-Exist",
                "must be identifier=<system>|<value> (a document's submission identifier)",
            )
        };
        let token = query.trim().strip_prefix("identifier=").ok_or_else(invalid)?;
        let (system, value) = token.split_once('|').ok_or_else(invalid)?;
        Self::new(system, value)
    }

    /// A checked identifier: a system (an absolute URI) and a value, each 1 to 256
    /// characters without control characters.
    pub fn new(system: &str, value: &str) -> Result<Self, ClinicalError> {
        let fits = |text: &str| {
            !text.is_empty() && text.chars().count() <= 256 && !text.chars().any(char::is_control)
        };
        if !fits(system) || !system.contains(':') {
            return Err(ClinicalError::invalid(
                "identifier.system",
                "must be an absolute URI of 1 to 256 characters",
            ));
        }
        if !fits(value) {
            return Err(ClinicalError::invalid(
                "identifier.value",
                "must be 1 to 256 characters without control characters",
            ));
        }
        Ok(SubmissionIdentifier {
            system: system.to_owned(),
            value: value.to_owned(),
        })
    }

    /// The logical id of the document it names for `institution`: 32 hex characters of
    /// SHA-256 over the institution, the system and the value.
    fn logical_id(&self, institution: &medgate_ids::InstitutionId) -> String {
        let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for part in [institution.as_str(), &self.system, &self.value] {
            context.update(part.as_bytes());
            context.update(&[0]);
        }
        hex::encode(&context.finish().as_ref()[..16])
    }
}

/// A submission's outcome: the DocumentReference, and whether this call stored it (`false`:
/// an earlier submission with the same identifier did).
#[derive(Clone, Debug, PartialEq)]
pub struct Submitted {
    pub resource: Value,
    pub created: bool,
}

/// The document stored earlier under `id` by a submission with `identifier`, when it is
/// this submission's (same patient, same content); a refusal when the identifier was used
/// for another document.
async fn earlier_submission(
    store: &Metadata,
    id: &str,
    identifier: &SubmissionIdentifier,
    document: &NewDocument,
    sha1: &str,
) -> Result<Option<Value>, ClinicalError> {
    let Some(stored) = store
        .clinical_resource(ResourceType::DocumentReference.as_str(), id)
        .await
        .map_err(ClinicalError::storage("read the resource"))?
    else {
        return Ok(None);
    };
    let resource: Value =
        serde_json::from_str(&stored.resource).map_err(|_| ClinicalError::Internal {
            what: "a stored resource is not JSON",
        })?;
    let same = !stored.head.deleted
        && stored.head.patient == document.patient
        && resource.pointer("/content/0/attachment/hash").and_then(Value::as_str) == Some(sha1);
    if same {
        Ok(Some(resource))
    } else {
        Err(ClinicalError::IdentifierInUse {
            system: identifier.system.clone(),
            value: identifier.value.clone(),
        })
    }
}

/// Submits a document: its Binary and DocumentReference (same id), with one audit entry.
/// With an identifier, a document the institution submitted under it before is answered
/// instead (see the module's note).
pub async fn submit(
    store: &Metadata,
    caller: &Caller,
    document: &NewDocument,
    now: OffsetDateTime,
) -> Result<Submitted, ClinicalError> {
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
    let size = u64::try_from(document.data.len()).unwrap_or(u64::MAX);
    let sha1 =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &document.data);
    let engine = base64::engine::general_purpose::STANDARD;
    let hash = engine.encode(sha1.as_ref());
    let id = match &document.identifier {
        Some(identifier) => {
            let id = identifier.logical_id(&caller.institution);
            if let Some(resource) =
                earlier_submission(store, &id, identifier, document, &hash).await?
            {
                return Ok(Submitted {
                    resource,
                    created: false,
                });
            }
            id
        }
        None => fhir::new_id()?,
    };
    let binary = json!({
        "resourceType": "Binary",
        "id": id,
        "contentType": document.content_type,
        "data": engine.encode(&document.data)
    });
    let mut reference = json!({
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
                "hash": hash,
                "title": title,
                "creation": fhir::instant(now)
            }
        }],
        "context": context
    });
    if let Some(identifier) = &document.identifier {
        reference["identifier"] =
            json!([{ "system": identifier.system, "value": identifier.value }]);
    }
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
    match store
        .write_clinical_resources(&[binary_write, reference_write], &audit, Some(&access))
        .await
    {
        Ok(_) => Ok(Submitted {
            resource: reference,
            created: true,
        }),
        // Another attempt of the same submission stored it first.
        Err(ClinicalStoreError::Exists { .. }) if document.identifier.is_some() => {
            let identifier = document.identifier.as_ref().ok_or(ClinicalError::Internal {
                what: "a submission identifier vanished",
            })?;
            earlier_submission(store, &id, identifier, document, &hash)
                .await?
                .map(|resource| Submitted {
                    resource,
                    created: false,
                })
                .ok_or(ClinicalError::Internal {
                    what: "a document reported as stored cannot be read",
                })
        }
        Err(error) => Err(refusal(ResourceType::DocumentReference, error)),
    }
}
