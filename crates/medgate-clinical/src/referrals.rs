//! e-Referrals (the platform's e-beutaló) as `ServiceRequest`: issued by one institution for
//! a patient, found by the receiving institution by patient ([`crate::resources::search`])
//! or id ([`crate::resources::read`]), consumed once, or cancelled by the issuer.
//!
//! The referral's own status (issued, consumed, cancelled, expired) is kept in the store's
//! status column, where the `UPDATE` that consumes a referral requires `issued`: of two
//! institutions consuming one referral at once, one succeeds and the other is refused as
//! consumed. In the FHIR resource it is the extension [`STATUS_EXTENSION`], beside the FHIR
//! status it maps to (`active`, `completed`, `revoked`).

use medgate_storage::{ExpectedVersion, Metadata};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::ClinicalError;
use crate::fhir::{self, ResourceType};
use crate::resources::{current, write, Columns, Planned};
use crate::Caller;

/// The extension that carries a referral's status.
pub const STATUS_EXTENSION: &str =
    "https://medgate.invalid/fhir/StructureDefinition/referral-status";

/// Where a referral is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferralStatus {
    Issued,
    Consumed,
    Cancelled,
    Expired,
}

impl ReferralStatus {
    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ReferralStatus::Issued => "issued",
            ReferralStatus::Consumed => "consumed",
            ReferralStatus::Cancelled => "cancelled",
            ReferralStatus::Expired => "expired",
        }
    }

    /// The FHIR `ServiceRequest.status` it maps to.
    pub fn fhir_status(self) -> &'static str {
        match self {
            ReferralStatus::Issued => "active",
            ReferralStatus::Consumed => "completed",
            ReferralStatus::Cancelled | ReferralStatus::Expired => "revoked",
        }
    }
}

fn set_status(resource: &mut Value, status: ReferralStatus) {
    fhir::set(resource, "status", json!(status.fhir_status()));
    let mut extensions: Vec<Value> = resource
        .get("extension")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter(|e| e.get("url").and_then(Value::as_str) != Some(STATUS_EXTENSION))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    extensions.push(json!({ "url": STATUS_EXTENSION, "valueCode": status.as_str() }));
    fhir::set(resource, "extension", Value::Array(extensions));
}

/// Issues a referral from the ServiceRequest a practitioner sent (its `intent`, `subject`,
/// the specialty or unit in `performerType`/`performer`, an optional `occurrencePeriod.end`
/// after which it expires). The service sets the status and the requester.
pub async fn issue(
    store: &Metadata,
    caller: &Caller,
    mut resource: Value,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    let patient = fhir::validate(ResourceType::ServiceRequest, &resource)?
        .ok_or_else(|| ClinicalError::invalid("subject", "is required"))?;
    if let Some(end) = fhir::value_at(&resource, "occurrencePeriod.end") {
        let valid = end
            .as_str()
            .is_some_and(|end| OffsetDateTime::parse(end, &Rfc3339).is_ok_and(|end| end > now));
        if !valid {
            return Err(ClinicalError::invalid(
                "occurrencePeriod.end",
                "must be a date and time with a zone, in the future",
            ));
        }
    }
    let id = fhir::new_id()?;
    set_status(&mut resource, ReferralStatus::Issued);
    fhir::set(
        &mut resource,
        "requester",
        json!({ "reference": format!("Organization/{}", caller.institution) }),
    );
    fhir::set(&mut resource, "authoredOn", json!(fhir::instant(now)));
    let target = format!("ServiceRequest/{id}");
    let planned = Planned {
        kind: ResourceType::ServiceRequest,
        id,
        patient: patient.clone(),
        institution: caller.institution.clone(),
        expected: ExpectedVersion::New,
        columns: Columns {
            status: Some(ReferralStatus::Issued.as_str().to_owned()),
            restriction: None,
        },
        deleted: false,
        resource,
    };
    let audit = caller.audit(
        "clinical.referral.issue",
        &target,
        Some(&patient),
        String::new(),
    );
    let access = caller.access(&patient, "create", &target, None, now);
    write(store, audit, Some(access), planned, now).await
}

/// The referral's status as stored.
pub fn status_of(stored: Option<&str>) -> Option<ReferralStatus> {
    [
        ReferralStatus::Issued,
        ReferralStatus::Consumed,
        ReferralStatus::Cancelled,
        ReferralStatus::Expired,
    ]
    .into_iter()
    .find(|status| Some(status.as_str()) == stored)
}

/// Moves an issued referral to `to` (consumed or cancelled); one past its
/// `occurrencePeriod.end` becomes expired instead and is refused.
async fn transition(
    store: &Metadata,
    caller: &Caller,
    id: &str,
    to: ReferralStatus,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    let (head, mut resource) = current(store, ResourceType::ServiceRequest, id).await?;
    match status_of(head.status.as_deref()) {
        Some(ReferralStatus::Issued) => {}
        Some(ReferralStatus::Consumed) => {
            return Err(ClinicalError::ReferralConsumed { id: id.to_owned() })
        }
        other => {
            return Err(ClinicalError::ReferralNotIssued {
                id: id.to_owned(),
                status: other.map_or("unknown", ReferralStatus::as_str).to_owned(),
            })
        }
    }
    if to == ReferralStatus::Cancelled && head.created_by != caller.institution {
        return Err(ClinicalError::NotOwner {
            resource_type: "ServiceRequest".to_owned(),
            id: id.to_owned(),
            owner: head.created_by,
            operation: "cancel",
        });
    }
    let expired = fhir::text_at(&resource, "occurrencePeriod.end")
        .and_then(|end| OffsetDateTime::parse(end, &Rfc3339).ok())
        .is_some_and(|end| end <= now);
    let to = if expired { ReferralStatus::Expired } else { to };
    set_status(&mut resource, to);
    if to == ReferralStatus::Consumed {
        fhir::set(
            &mut resource,
            "performer",
            json!([{ "reference": format!("Organization/{}", caller.institution) }]),
        );
    }
    let target = format!("ServiceRequest/{id}");
    let planned = Planned {
        kind: ResourceType::ServiceRequest,
        id: id.to_owned(),
        patient: head.patient.clone(),
        institution: caller.institution.clone(),
        expected: ExpectedVersion::Current {
            current: head.current_version,
            status: Some(ReferralStatus::Issued.as_str().to_owned()),
        },
        columns: Columns {
            status: Some(to.as_str().to_owned()),
            restriction: None,
        },
        deleted: false,
        resource,
    };
    let audit = caller.audit(
        &format!("clinical.referral.{}", to.as_str()),
        &target,
        Some(&head.patient),
        String::new(),
    );
    let access = caller.access(&head.patient, "update", &target, None, now);
    let written = write(store, audit, Some(access), planned, now).await?;
    if expired {
        return Err(ClinicalError::ReferralNotIssued {
            id: id.to_owned(),
            status: ReferralStatus::Expired.as_str().to_owned(),
        });
    }
    Ok(written)
}

/// Consumes an issued referral for the caller's institution: once. A second use, by anyone,
/// is refused with [`ClinicalError::ReferralConsumed`].
pub async fn consume(
    store: &Metadata,
    caller: &Caller,
    id: &str,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    transition(store, caller, id, ReferralStatus::Consumed, now).await
}

/// Cancels an issued referral; only the issuing institution may.
pub async fn cancel(
    store: &Metadata,
    caller: &Caller,
    id: &str,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    transition(store, caller, id, ReferralStatus::Cancelled, now).await
}
