//! Versioned FHIR resources: create, update (over the version read), delete (by the creating
//! institution only), read, search by patient and `_history`.
//!
//! Every change writes a new version, its audit entry and the patient's access log line in
//! one transaction; every read writes its access log line and audit entry before the resource
//! is returned. A patient's restriction (an active Consent: all their documents, those of one
//! institution, or one document) refuses reads of their documents by other institutions,
//! unless the practitioner breaks the glass with a reason, which the access log keeps and
//! the patient sees. The institution that created a document always reads it.

use medgate_ids::{InstitutionId, Taj};
use medgate_storage::{
    ClinicalStoreError, CurrentResource, ExpectedVersion, Metadata, ResourceHead, ResourceWrite,
    Restriction,
};
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::ClinicalError;
use crate::fhir::{self, ResourceType};
use crate::Caller;

/// What the service writes beside the JSON: the status it acts on and a Consent's
/// restriction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Columns {
    pub status: Option<String>,
    pub restriction: Option<(String, String)>,
}

/// One write the service makes: the stamped JSON and its row.
pub(crate) struct Planned {
    pub kind: ResourceType,
    pub id: String,
    pub patient: Taj,
    pub institution: InstitutionId,
    pub expected: ExpectedVersion,
    pub columns: Columns,
    pub deleted: bool,
    pub resource: Value,
}

impl Planned {
    /// Sets `id`, `meta.versionId`, `meta.lastUpdated` and builds the store's write.
    pub(crate) fn into_write(mut self, now: OffsetDateTime) -> (ResourceWrite, Value) {
        let version = match &self.expected {
            ExpectedVersion::New => 1,
            ExpectedVersion::Current { current, .. } => current.saturating_add(1),
        };
        fhir::stamp(&mut self.resource, &self.id, version, now);
        let write = ResourceWrite {
            resource_type: self.kind.as_str().to_owned(),
            logical_id: self.id,
            patient: self.patient,
            institution: self.institution,
            last_updated: now,
            deleted: self.deleted,
            status: self.columns.status,
            restriction: self.columns.restriction,
            resource: self.resource.to_string(),
            expected: self.expected,
        };
        (write, self.resource)
    }
}

/// The store's refusal of a write, as the service's.
pub(crate) fn refusal(kind: ResourceType, error: ClinicalStoreError) -> ClinicalError {
    match error {
        ClinicalStoreError::NotFound { id, .. } => ClinicalError::NotFound {
            resource_type: kind.as_str().to_owned(),
            id: id.rsplit('/').next().unwrap_or_default().to_owned(),
        },
        ClinicalStoreError::Exists { id, .. } => {
            ClinicalError::invalid("id", format!("{id} exists already; update it instead"))
        }
        ClinicalStoreError::StaleVersion {
            logical_id,
            expected,
            current,
            ..
        } => ClinicalError::VersionConflict {
            resource_type: kind.as_str().to_owned(),
            id: logical_id,
            expected,
            current,
        },
        ClinicalStoreError::WrongStatus {
            logical_id, status, ..
        } => match kind {
            ResourceType::ServiceRequest if status == "consumed" => {
                ClinicalError::ReferralConsumed { id: logical_id }
            }
            ResourceType::ServiceRequest => ClinicalError::ReferralNotIssued {
                id: logical_id,
                status,
            },
            _ => ClinicalError::EncounterNotOpen {
                id: logical_id,
                status,
            },
        },
        ClinicalStoreError::Metadata(source) => ClinicalError::Storage {
            operation: "write the resource",
            source,
        },
        _ => ClinicalError::Internal {
            what: "an unknown refusal of the store",
        },
    }
}

/// Writes `planned` with its audit entry and access log line; the stored JSON.
pub(crate) async fn write(
    store: &Metadata,
    caller_audit: medgate_storage::NewAuditEntry,
    access: Option<medgate_storage::NewAccess>,
    planned: Planned,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    let kind = planned.kind;
    let (write, resource) = planned.into_write(now);
    store
        .write_clinical_resource(&write, &caller_audit, access.as_ref())
        .await
        .map_err(|error| refusal(kind, error))?;
    Ok(resource)
}

/// The current state of `kind/id`, refused when it does not exist or was deleted.
pub(crate) async fn current(
    store: &Metadata,
    kind: ResourceType,
    id: &str,
) -> Result<(ResourceHead, Value), ClinicalError> {
    let not_found = || ClinicalError::NotFound {
        resource_type: kind.as_str().to_owned(),
        id: id.chars().take(64).collect(),
    };
    if !fhir::is_fhir_id(id) {
        return Err(not_found());
    }
    let CurrentResource { head, resource } = store
        .clinical_resource(kind.as_str(), id)
        .await
        .map_err(ClinicalError::storage("read the resource"))?
        .ok_or_else(not_found)?;
    if head.deleted {
        return Err(ClinicalError::Deleted {
            resource_type: kind.as_str().to_owned(),
            id: id.to_owned(),
        });
    }
    let resource = serde_json::from_str(&resource).map_err(|_| ClinicalError::Internal {
        what: "a stored resource is not JSON",
    })?;
    Ok((head, resource))
}

/// Creates a resource a practitioner sent: an encounter, a document reference, a profile
/// entry. (Binary comes with its document ([`crate::documents`]), a referral is issued
/// ([`crate::referrals`]), a Consent is the patient's ([`crate::patient`]).)
pub async fn create(
    store: &Metadata,
    caller: &Caller,
    kind: ResourceType,
    mut resource: Value,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    match kind {
        ResourceType::Binary => {
            return Err(ClinicalError::invalid(
                "resourceType",
                "a Binary is submitted with its DocumentReference",
            ))
        }
        ResourceType::ServiceRequest => {
            return crate::referrals::issue(store, caller, resource, now).await
        }
        ResourceType::Consent => {
            return Err(ClinicalError::invalid(
                "resourceType",
                "a restriction (Consent) is set by the patient",
            ))
        }
        _ => {}
    }
    let patient = fhir::validate(kind, &resource)?
        .ok_or_else(|| ClinicalError::invalid("subject", "is required"))?;
    let id = fhir::new_id()?;
    fhir::set(&mut resource, "id", Value::String(id.clone()));
    let status = fhir::text_at(&resource, "status").map(str::to_owned);
    let target = format!("{}/{id}", kind.as_str());
    let planned = Planned {
        kind,
        id,
        patient: patient.clone(),
        institution: caller.institution.clone(),
        expected: ExpectedVersion::New,
        columns: Columns {
            status,
            restriction: None,
        },
        deleted: false,
        resource,
    };
    let audit = caller.audit("clinical.create", &target, Some(&patient), String::new());
    let access = caller.access(&patient, "create", &target, None, now);
    write(store, audit, Some(access), planned, now).await
}

/// Replaces `kind/id` with a new version. `if_match` is the version the change is based on
/// (FHIR's `If-Match`); without it, the current one. The patient cannot change.
pub async fn update(
    store: &Metadata,
    caller: &Caller,
    kind: ResourceType,
    id: &str,
    resource: Value,
    if_match: Option<u64>,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    if matches!(
        kind,
        ResourceType::Binary | ResourceType::ServiceRequest | ResourceType::Consent
    ) {
        return Err(ClinicalError::invalid(
            "resourceType",
            format!(
                "a {} changes through its own operations, not by update",
                kind.as_str()
            ),
        ));
    }
    let patient = fhir::validate(kind, &resource)?
        .ok_or_else(|| ClinicalError::invalid("subject", "is required"))?;
    if let Some(sent) = fhir::text_at(&resource, "id") {
        if sent != id {
            return Err(ClinicalError::invalid(
                "id",
                format!("is '{sent}' but the resource updated is {id}"),
            ));
        }
    }
    let (head, _) = current(store, kind, id).await?;
    if head.patient != patient {
        return Err(ClinicalError::invalid(
            "subject.reference",
            "cannot move an entry to another patient",
        ));
    }
    let target = format!("{}/{id}", kind.as_str());
    let planned = Planned {
        kind,
        id: id.to_owned(),
        patient: patient.clone(),
        institution: caller.institution.clone(),
        expected: ExpectedVersion::Current {
            current: if_match.unwrap_or(head.current_version),
            status: None,
        },
        columns: Columns {
            status: fhir::text_at(&resource, "status").map(str::to_owned),
            restriction: None,
        },
        deleted: false,
        resource,
    };
    let audit = caller.audit("clinical.update", &target, Some(&patient), String::new());
    let access = caller.access(&patient, "update", &target, None, now);
    write(store, audit, Some(access), planned, now).await
}

/// Deletes `kind/id`: a last version marked deleted, the history kept. Only the institution
/// that created the resource may; another's attempt is refused and audited.
pub async fn delete(
    store: &Metadata,
    caller: &Caller,
    kind: ResourceType,
    id: &str,
    now: OffsetDateTime,
) -> Result<(), ClinicalError> {
    let (head, resource) = current(store, kind, id).await?;
    let target = format!("{}/{id}", kind.as_str());
    if head.created_by != caller.institution {
        store
            .append_audit(&caller.audit(
                "clinical.delete.refused",
                &target,
                Some(&head.patient),
                format!("created by institution {}", head.created_by),
            ))
            .await
            .map_err(ClinicalError::storage("audit the refusal"))?;
        return Err(ClinicalError::NotOwner {
            resource_type: kind.as_str().to_owned(),
            id: id.to_owned(),
            owner: head.created_by,
            operation: "delete",
        });
    }
    let planned = Planned {
        kind,
        id: id.to_owned(),
        patient: head.patient.clone(),
        institution: caller.institution.clone(),
        expected: ExpectedVersion::Current {
            current: head.current_version,
            status: None,
        },
        columns: Columns {
            status: head.status.clone(),
            restriction: head.restriction.clone(),
        },
        deleted: true,
        resource,
    };
    let audit = caller.audit(
        "clinical.delete",
        &target,
        Some(&head.patient),
        String::new(),
    );
    let access = caller.access(&head.patient, "delete", &target, None, now);
    write(store, audit, Some(access), planned, now).await?;
    Ok(())
}

/// True when one of `restrictions` covers the document `id` created by `owner`.
fn restricts(restrictions: &[Restriction], id: &str, owner: &InstitutionId) -> bool {
    restrictions
        .iter()
        .any(|restriction| match restriction.scope.as_str() {
            "all" => true,
            "institution" => restriction.target == owner.as_str(),
            "document" => restriction.target == id,
            _ => true,
        })
}

/// Whether `caller` may read `kind/id` of `head`, and the break-glass reason to log when the
/// read overrides a restriction. A refusal is audited.
async fn check_restriction(
    store: &Metadata,
    caller: &Caller,
    kind: ResourceType,
    head: &ResourceHead,
    restrictions: &[Restriction],
    break_glass: Option<&str>,
) -> Result<Option<String>, ClinicalError> {
    if !kind.is_document()
        || head.created_by == caller.institution
        || !restricts(restrictions, &head.logical_id, &head.created_by)
    {
        return Ok(None);
    }
    let reason = break_glass.map(str::trim).unwrap_or_default();
    if break_glass.is_some() && reason.is_empty() {
        return Err(ClinicalError::BreakGlassReasonMissing);
    }
    if reason.is_empty() {
        let target = format!("{}/{}", kind.as_str(), head.logical_id);
        store
            .append_audit(&caller.audit(
                "clinical.read.refused",
                &target,
                Some(&head.patient),
                "restricted by the patient".to_owned(),
            ))
            .await
            .map_err(ClinicalError::storage("audit the refusal"))?;
        return Err(ClinicalError::Restricted {
            resource_type: kind.as_str().to_owned(),
            id: head.logical_id.clone(),
        });
    }
    Ok(Some(reason.to_owned()))
}

async fn restrictions_of(
    store: &Metadata,
    patient: &Taj,
) -> Result<Vec<Restriction>, ClinicalError> {
    store
        .clinical_restrictions(patient)
        .await
        .map_err(ClinicalError::storage("read the patient's restrictions"))
}

async fn record_read(
    store: &Metadata,
    caller: &Caller,
    patient: &Taj,
    action: &str,
    target: &str,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), ClinicalError> {
    let details = reason
        .map(|reason| format!("break-glass: {reason}"))
        .unwrap_or_default();
    let audit_action = if reason.is_some() {
        format!("clinical.{action}.break-glass")
    } else {
        format!("clinical.{action}")
    };
    store
        .record_clinical_access(
            &caller.access(patient, action, target, reason, now),
            &caller.audit(&audit_action, target, Some(patient), details),
        )
        .await
        .map_err(|error| refusal(ResourceType::Consent, error))
}

/// Reads the current version of `kind/id`. A document the patient restricted is refused
/// unless `break_glass` gives a reason (then logged for the patient).
pub async fn read(
    store: &Metadata,
    caller: &Caller,
    kind: ResourceType,
    id: &str,
    break_glass: Option<&str>,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    let (head, resource) = current(store, kind, id).await?;
    let restrictions = if kind.is_document() {
        restrictions_of(store, &head.patient).await?
    } else {
        Vec::new()
    };
    let reason = check_restriction(store, caller, kind, &head, &restrictions, break_glass).await?;
    let target = format!("{}/{id}", kind.as_str());
    record_read(
        store,
        caller,
        &head.patient,
        "read",
        &target,
        reason.as_deref(),
        now,
    )
    .await?;
    Ok(resource)
}

/// One version of a resource, as `_history` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    pub version: u64,
    pub deleted: bool,
    pub last_updated: OffsetDateTime,
    /// The institution that wrote the version.
    pub institution: InstitutionId,
    pub resource: Value,
}

/// Every version of `kind/id`, newest first (also of a deleted resource); restricted like
/// [`read`].
pub async fn history(
    store: &Metadata,
    caller: &Caller,
    kind: ResourceType,
    id: &str,
    break_glass: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<HistoryEntry>, ClinicalError> {
    let not_found = || ClinicalError::NotFound {
        resource_type: kind.as_str().to_owned(),
        id: id.chars().take(64).collect(),
    };
    if !fhir::is_fhir_id(id) {
        return Err(not_found());
    }
    let head = store
        .clinical_resource(kind.as_str(), id)
        .await
        .map_err(ClinicalError::storage("read the resource"))?
        .ok_or_else(not_found)?
        .head;
    let restrictions = if kind.is_document() {
        restrictions_of(store, &head.patient).await?
    } else {
        Vec::new()
    };
    let reason = check_restriction(store, caller, kind, &head, &restrictions, break_glass).await?;
    let versions = store
        .clinical_resource_history(kind.as_str(), id)
        .await
        .map_err(ClinicalError::storage("read the history"))?;
    let target = format!("{}/{id}/_history", kind.as_str());
    record_read(
        store,
        caller,
        &head.patient,
        "history",
        &target,
        reason.as_deref(),
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
                resource: serde_json::from_str(&version.resource).map_err(|_| {
                    ClinicalError::Internal {
                        what: "a stored resource is not JSON",
                    }
                })?,
            })
        })
        .collect()
}

/// What a search by patient found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchResult {
    /// The resources, newest first.
    pub resources: Vec<Value>,
    /// The ids of documents left out because the patient restricted them (a search with
    /// break-glass includes them).
    pub withheld: Vec<String>,
}

/// The current resources of `kind` of a patient, across all institutions, newest first.
/// Documents the patient restricted are left out (and named in `withheld`) unless
/// `break_glass` gives a reason.
pub async fn search(
    store: &Metadata,
    caller: &Caller,
    kind: ResourceType,
    patient: &Taj,
    break_glass: Option<&str>,
    now: OffsetDateTime,
) -> Result<SearchResult, ClinicalError> {
    let reason = match break_glass.map(str::trim) {
        Some("") => return Err(ClinicalError::BreakGlassReasonMissing),
        other => other,
    };
    let found = store
        .clinical_resources_of_patient(patient, kind.as_str())
        .await
        .map_err(ClinicalError::storage("search the patient's resources"))?;
    let restrictions = if kind.is_document() {
        restrictions_of(store, patient).await?
    } else {
        Vec::new()
    };
    let mut result = SearchResult::default();
    let mut overridden = false;
    for CurrentResource { head, resource } in found {
        let restricted = kind.is_document()
            && head.created_by != caller.institution
            && restricts(&restrictions, &head.logical_id, &head.created_by);
        if restricted && reason.is_none() {
            result.withheld.push(head.logical_id);
            continue;
        }
        overridden |= restricted;
        result
            .resources
            .push(
                serde_json::from_str(&resource).map_err(|_| ClinicalError::Internal {
                    what: "a stored resource is not JSON",
                })?,
            );
    }
    let target = format!("{}?patient=Patient/{patient}", kind.as_str());
    let logged_reason = if overridden { reason } else { None };
    record_read(
        store,
        caller,
        patient,
        "search",
        &target,
        logged_reason,
        now,
    )
    .await?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restriction(scope: &str, target: &str) -> Restriction {
        Restriction {
            id: "c".to_owned(),
            scope: scope.to_owned(),
            target: target.to_owned(),
        }
    }

    #[test]
    fn restrictions_cover_all_one_institution_or_one_document() -> Result<(), ClinicalError> {
        let owner = InstitutionId::parse("506097")?;
        assert!(restricts(&[restriction("all", "")], "d1", &owner));
        assert!(restricts(
            &[restriction("institution", "506097")],
            "d1",
            &owner
        ));
        assert!(!restricts(
            &[restriction("institution", "111111")],
            "d1",
            &owner
        ));
        assert!(restricts(&[restriction("document", "d1")], "d1", &owner));
        assert!(!restricts(&[restriction("document", "d2")], "d1", &owner));
        assert!(!restricts(&[], "d1", &owner));
        Ok(())
    }
}
