//! What a patient does with their own record: read it (documents, profile with history,
//! referrals: everything of theirs, restricted or not), restrict access to their documents
//! (all, one institution's, or one document) as `Consent` resources with a `deny` provision,
//! lift a restriction, and read their access log as `AuditEvent` resources — who read or
//! changed what, when, for which institution, and every break-glass with its reason. Another
//! patient's resource is "not found", never named.
//!
//! A Consent the patient writes is owned by the pseudo-institution [`PATIENT_OWNER`], so no
//! institution can delete it. What the patient reads or changes here is in their own access
//! log too (as theirs: the user `patient:<TAJ>` for [`PATIENT_OWNER`]), in the transaction
//! of its audit entry.

use medgate_ids::InstitutionId;
use medgate_storage::{AccessEntry, ClinicalStoreError, ExpectedVersion, Metadata, NewAccess};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::ClinicalError;
use crate::fhir::{self, ResourceType};
use crate::resources::{current, write, Columns, HistoryEntry, Planned};
use crate::PatientCaller;

/// The owner recorded for what the patient writes themself (no institution has this id).
pub const PATIENT_OWNER: &str = "000000";

/// What a restriction covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestrictionScope {
    /// Every document of the patient.
    All,
    /// The documents created by one institution.
    Institution(InstitutionId),
    /// One document (its DocumentReference id).
    Document(String),
}

impl RestrictionScope {
    fn columns(&self) -> (String, String) {
        match self {
            RestrictionScope::All => ("all".to_owned(), String::new()),
            RestrictionScope::Institution(id) => ("institution".to_owned(), id.to_string()),
            RestrictionScope::Document(id) => ("document".to_owned(), id.clone()),
        }
    }

    fn provision(&self) -> Value {
        match self {
            RestrictionScope::All => json!({ "type": "deny" }),
            RestrictionScope::Institution(id) => json!({
                "type": "deny",
                "actor": [{
                    "role": { "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                        "code": "CST"
                    }]},
                    "reference": { "reference": format!("Organization/{id}") }
                }]
            }),
            RestrictionScope::Document(id) => json!({
                "type": "deny",
                "data": [{
                    "meaning": "instance",
                    "reference": { "reference": format!("DocumentReference/{id}") }
                }]
            }),
        }
    }
}

fn owner() -> Result<InstitutionId, ClinicalError> {
    Ok(InstitutionId::parse(PATIENT_OWNER)?)
}

/// Restricts access to the patient's documents; the active Consent is returned.
pub async fn restrict(
    store: &Metadata,
    patient: &PatientCaller,
    scope: &RestrictionScope,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    if let RestrictionScope::Document(id) = scope {
        let (head, _) = current(store, ResourceType::DocumentReference, id).await?;
        if head.patient != patient.patient {
            // Another patient's document is not named, only not found.
            return Err(ClinicalError::NotFound {
                resource_type: "DocumentReference".to_owned(),
                id: id.clone(),
            });
        }
    }
    let id = fhir::new_id()?;
    let resource = json!({
        "resourceType": "Consent",
        "id": id,
        "status": "active",
        "scope": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
            "code": "patient-privacy"
        }]},
        "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0" }] }],
        "patient": fhir::patient_reference(&patient.patient),
        "dateTime": fhir::instant(now),
        "policyRule": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "OPTOUT"
        }]},
        "provision": scope.provision()
    });
    let target = format!("Consent/{id}");
    let (scope_name, scope_target) = scope.columns();
    let planned = Planned {
        kind: ResourceType::Consent,
        id,
        patient: patient.patient.clone(),
        institution: owner()?,
        expected: ExpectedVersion::New,
        columns: Columns {
            status: Some("active".to_owned()),
            restriction: Some((scope_name.clone(), scope_target.clone())),
        },
        deleted: false,
        resource,
    };
    let audit = patient.audit(
        "clinical.restriction.set",
        &target,
        format!("{scope_name} {scope_target}").trim().to_owned(),
    );
    let access = own_access(patient, "restrict", &target, now)?;
    write(store, audit, Some(access), planned, now).await
}

/// Lifts a restriction: its Consent becomes inactive (a new version).
pub async fn lift(
    store: &Metadata,
    patient: &PatientCaller,
    consent_id: &str,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    let (head, mut resource) = current(store, ResourceType::Consent, consent_id).await?;
    if head.patient != patient.patient {
        return Err(ClinicalError::NotFound {
            resource_type: "Consent".to_owned(),
            id: consent_id.to_owned(),
        });
    }
    fhir::set(&mut resource, "status", json!("inactive"));
    let target = format!("Consent/{consent_id}");
    let planned = Planned {
        kind: ResourceType::Consent,
        id: consent_id.to_owned(),
        patient: patient.patient.clone(),
        institution: owner()?,
        expected: ExpectedVersion::Current {
            current: head.current_version,
            status: None,
        },
        columns: Columns {
            status: Some("inactive".to_owned()),
            restriction: head.restriction.clone(),
        },
        deleted: false,
        resource,
    };
    let audit = patient.audit("clinical.restriction.lift", &target, String::new());
    let access = own_access(patient, "lift", &target, now)?;
    write(store, audit, Some(access), planned, now).await
}

/// The patient's Consents (active and lifted), newest first.
pub async fn restrictions(
    store: &Metadata,
    patient: &PatientCaller,
    now: OffsetDateTime,
) -> Result<Vec<Value>, ClinicalError> {
    let found = store
        .clinical_resources_of_patient(&patient.patient, ResourceType::Consent.as_str())
        .await
        .map_err(ClinicalError::storage("read the restrictions"))?;
    audited_read(
        store,
        patient,
        "clinical.restriction.list",
        (
            "search",
            &format!("Consent?patient=Patient/{}", patient.patient),
        ),
        now,
    )
    .await?;
    found
        .into_iter()
        .map(|found| {
            serde_json::from_str(&found.resource).map_err(|_| ClinicalError::Internal {
                what: "a stored resource is not JSON",
            })
        })
        .collect()
}

/// The FHIR action code of an access log action (C, R, U, D, E).
fn action_code(action: &str) -> &'static str {
    match action {
        "create" => "C",
        "read" | "history" => "R",
        "update" => "U",
        "delete" => "D",
        _ => "E",
    }
}

/// The user name of the patient's own lines of their access log.
pub fn own_user_name(patient: &PatientCaller) -> String {
    patient.actor()
}

/// True when the access log line is the patient's own (made through the portal).
pub fn is_own(access: &NewAccess) -> bool {
    access.institution.as_str() == PATIENT_OWNER
        && access.user_name == format!("patient:{}", access.patient)
}

/// The patient's own access log line of `action` on `target`.
fn own_access(
    patient: &PatientCaller,
    action: &str,
    target: &str,
    at: OffsetDateTime,
) -> Result<NewAccess, ClinicalError> {
    Ok(NewAccess {
        patient: patient.patient.clone(),
        at,
        user_name: own_user_name(patient),
        institution: owner()?,
        action: action.to_owned(),
        target: target.to_owned(),
        break_glass_reason: None,
    })
}

/// One access log line as a FHIR `AuditEvent`.
pub fn audit_event(entry: &AccessEntry) -> Value {
    let access = &entry.access;
    if is_own(access) {
        // The patient themself, through the portal: no institution acted.
        return json!({
            "resourceType": "AuditEvent",
            "id": format!("access-{}", entry.id),
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                "code": "rest"
            },
            "action": action_code(&access.action),
            "recorded": fhir::instant(access.at),
            "outcome": "0",
            "agent": [{
                "who": { "reference": format!("Patient/{}", access.patient) },
                "requestor": true
            }],
            "source": { "observer": { "display": "medgate clinical record service" } },
            "entity": [
                { "what": { "reference": format!("Patient/{}", access.patient) } },
                { "what": { "reference": access.target }, "description": access.action }
            ]
        });
    }
    let mut agent = json!({
        "who": {
            "identifier": { "value": access.user_name },
            "display": access.user_name
        },
        "requestor": true,
        "type": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
            "code": "humanuser"
        }]}
    });
    if let Some(reason) = &access.break_glass_reason {
        agent["purposeOfUse"] = json!([{
            "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                "code": "ETREAT",
                "display": "Emergency Treatment"
            }],
            "text": format!("break-glass: {reason}")
        }]);
    }
    let institution_agent = json!({
        "who": { "reference": format!("Organization/{}", access.institution) },
        "requestor": false
    });
    json!({
        "resourceType": "AuditEvent",
        "id": format!("access-{}", entry.id),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest"
        },
        "action": action_code(&access.action),
        "recorded": fhir::instant(access.at),
        "outcome": "0",
        "agent": [agent, institution_agent],
        "source": { "observer": { "display": "medgate clinical record service" } },
        "entity": [
            { "what": { "reference": format!("Patient/{}", access.patient) } },
            { "what": { "reference": access.target }, "description": access.action }
        ]
    })
}

/// The patient's access log, newest first, as AuditEvent resources (at most `limit`).
pub async fn access_log(
    store: &Metadata,
    patient: &PatientCaller,
    limit: u32,
    now: OffsetDateTime,
) -> Result<Vec<Value>, ClinicalError> {
    Ok(access_entries(store, patient, limit, now)
        .await?
        .iter()
        .map(audit_event)
        .collect())
}

/// The patient's access log, newest first, as stored lines (at most `limit`): what the
/// portal shows. Reading it is itself a line of the log (shown the next time).
pub async fn access_entries(
    store: &Metadata,
    patient: &PatientCaller,
    limit: u32,
    now: OffsetDateTime,
) -> Result<Vec<AccessEntry>, ClinicalError> {
    let entries = store
        .clinical_access_log(&patient.patient, limit)
        .await
        .map_err(ClinicalError::storage("read the access log"))?;
    audited_read(
        store,
        patient,
        "clinical.access-log.read",
        (
            "access-log",
            &format!("AuditEvent?patient=Patient/{}", patient.patient),
        ),
        now,
    )
    .await?;
    Ok(entries)
}

/// Records the patient's own read: the audit entry (`action` on the target) and the line of
/// their access log (`access` = its action and target), in one transaction.
async fn audited_read(
    store: &Metadata,
    patient: &PatientCaller,
    action: &str,
    (access, target): (&str, &str),
    now: OffsetDateTime,
) -> Result<(), ClinicalError> {
    store
        .record_clinical_access(
            &own_access(patient, access, target, now)?,
            &patient.audit(action, target, String::new()),
        )
        .await
        .map_err(|error| match error {
            ClinicalStoreError::Metadata(source) => ClinicalError::Storage {
                operation: "record the patient's read",
                source,
            },
            _ => ClinicalError::Internal {
                what: "the patient's read could not be recorded",
            },
        })?;
    Ok(())
}

fn parse(resource: &str) -> Result<Value, ClinicalError> {
    serde_json::from_str(resource).map_err(|_| ClinicalError::Internal {
        what: "a stored resource is not JSON",
    })
}

/// One of the patient's current resources with the institution that created it.
#[derive(Clone, Debug, PartialEq)]
pub struct Created {
    pub resource: Value,
    pub created_by: InstitutionId,
}

/// The patient's current resources of `kind` (from every institution), newest first.
pub async fn resources(
    store: &Metadata,
    patient: &PatientCaller,
    kind: ResourceType,
    now: OffsetDateTime,
) -> Result<Vec<Value>, ClinicalError> {
    Ok(created(store, patient, kind, now)
        .await?
        .into_iter()
        .map(|found| found.resource)
        .collect())
}

/// [`resources`] with the institution that created each (what the portal shows).
pub async fn created(
    store: &Metadata,
    patient: &PatientCaller,
    kind: ResourceType,
    now: OffsetDateTime,
) -> Result<Vec<Created>, ClinicalError> {
    let found = store
        .clinical_resources_of_patient(&patient.patient, kind.as_str())
        .await
        .map_err(ClinicalError::storage("read the patient's record"))?;
    audited_read(
        store,
        patient,
        "clinical.patient.search",
        (
            "search",
            &format!("{}?patient=Patient/{}", kind.as_str(), patient.patient),
        ),
        now,
    )
    .await?;
    found
        .into_iter()
        .map(|found| {
            Ok(Created {
                resource: parse(&found.resource)?,
                created_by: found.head.created_by,
            })
        })
        .collect()
}

/// One of the patient's resources (a document's Binary, say).
pub async fn read(
    store: &Metadata,
    patient: &PatientCaller,
    kind: ResourceType,
    id: &str,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    let (head, resource) = current(store, kind, id).await?;
    if head.patient != patient.patient {
        return Err(ClinicalError::NotFound {
            resource_type: kind.as_str().to_owned(),
            id: id.to_owned(),
        });
    }
    audited_read(
        store,
        patient,
        "clinical.patient.read",
        ("read", &format!("{}/{id}", kind.as_str())),
        now,
    )
    .await?;
    Ok(resource)
}

/// Every version of one of the patient's resources, newest first.
pub async fn history(
    store: &Metadata,
    patient: &PatientCaller,
    kind: ResourceType,
    id: &str,
    now: OffsetDateTime,
) -> Result<Vec<HistoryEntry>, ClinicalError> {
    let not_found = || ClinicalError::NotFound {
        resource_type: kind.as_str().to_owned(),
        id: id.chars().take(64).collect(),
    };
    if !fhir::is_fhir_id(id) {
        return Err(not_found());
    }
    let versions = store
        .clinical_resource_history(kind.as_str(), id)
        .await
        .map_err(ClinicalError::storage("read the history"))?;
    if versions.is_empty()
        || versions
            .iter()
            .any(|version| version.patient != patient.patient)
    {
        return Err(not_found());
    }
    audited_read(
        store,
        patient,
        "clinical.patient.history",
        ("history", &format!("{}/{id}/_history", kind.as_str())),
        now,
    )
    .await?;
    versions
        .into_iter()
        .map(|version| {
            Ok(HistoryEntry {
                version: version.version,
                deleted: version.deleted,
                last_updated: version.last_updated,
                institution: version.institution,
                resource: parse(&version.resource)?,
            })
        })
        .collect()
}
