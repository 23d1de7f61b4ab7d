//! The event catalogue (the platform's EKAT): an encounter is opened (start, institution,
//! unit, practitioner, care type) and closed (end): an `Encounter` going from `in-progress`
//! to `finished`. Only the institution that opened an encounter closes it.

use medgate_ids::{Taj, UnitId};
use medgate_storage::{ExpectedVersion, Metadata};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::ClinicalError;
use crate::fhir::{self, ResourceType};
use crate::resources::{current, write, Columns, Planned};
use crate::Caller;

/// An encounter to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEncounter {
    pub patient: Taj,
    /// The unit of the calling institution where it happens.
    pub unit: UnitId,
    /// The care type, e.g. `járóbeteg-ellátás` (outpatient care), shown as the type's text.
    pub care_type: String,
    pub start: OffsetDateTime,
}

/// Opens an encounter for the caller's institution and unit, with the caller as its
/// practitioner.
pub async fn open(
    store: &Metadata,
    caller: &Caller,
    encounter: &NewEncounter,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    let care_type = encounter.care_type.trim();
    if care_type.is_empty() {
        return Err(ClinicalError::invalid(
            "type.0.text",
            "the care type is required",
        ));
    }
    let units = store
        .clinical_units(&caller.institution)
        .await
        .map_err(ClinicalError::storage("read the institution's units"))?;
    if !units.iter().any(|unit| unit.id == encounter.unit) {
        return Err(ClinicalError::invalid(
            "serviceProvider",
            format!(
                "unit {} is not a unit of institution {}",
                encounter.unit, caller.institution
            ),
        ));
    }
    let id = fhir::new_id()?;
    let resource = json!({
        "resourceType": "Encounter",
        "id": id,
        "status": "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory"
        },
        "type": [{ "text": care_type }],
        "subject": fhir::patient_reference(&encounter.patient),
        "participant": [{
            "individual": {
                "identifier": { "value": caller.user_name },
                "display": caller.user_name
            }
        }],
        "period": { "start": fhir::instant(encounter.start) },
        "serviceProvider": {
            "reference": format!("Organization/{}", caller.institution),
            "identifier": { "value": caller.institution.as_str() }
        },
        "location": [{
            "location": {
                "identifier": { "value": encounter.unit.as_str() },
                "display": format!("unit {}", encounter.unit)
            }
        }]
    });
    let target = format!("Encounter/{id}");
    let planned = Planned {
        kind: ResourceType::Encounter,
        id,
        patient: encounter.patient.clone(),
        institution: caller.institution.clone(),
        expected: ExpectedVersion::New,
        columns: Columns {
            status: Some("in-progress".to_owned()),
            restriction: None,
        },
        deleted: false,
        resource,
    };
    let audit = caller.audit(
        "clinical.encounter.open",
        &target,
        Some(&encounter.patient),
        format!("unit {}", encounter.unit),
    );
    let access = caller.access(&encounter.patient, "create", &target, None, now);
    write(store, audit, Some(access), planned, now).await
}

/// Closes an open encounter at `end`: status `finished`, `period.end` set.
pub async fn close(
    store: &Metadata,
    caller: &Caller,
    id: &str,
    end: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Value, ClinicalError> {
    let (head, mut resource) = current(store, ResourceType::Encounter, id).await?;
    if head.created_by != caller.institution {
        return Err(ClinicalError::NotOwner {
            resource_type: "Encounter".to_owned(),
            id: id.to_owned(),
            owner: head.created_by,
            operation: "close",
        });
    }
    let status = head.status.clone().unwrap_or_default();
    if status != "in-progress" {
        return Err(ClinicalError::EncounterNotOpen {
            id: id.to_owned(),
            status,
        });
    }
    let start = fhir::text_at(&resource, "period.start")
        .unwrap_or_default()
        .to_owned();
    if let Ok(start_at) =
        time::OffsetDateTime::parse(&start, &time::format_description::well_known::Rfc3339)
    {
        if end < start_at {
            return Err(ClinicalError::invalid(
                "period.end",
                format!("the end is before the start {start}"),
            ));
        }
    }
    fhir::set(&mut resource, "status", json!("finished"));
    fhir::set(
        &mut resource,
        "period",
        json!({ "start": start, "end": fhir::instant(end) }),
    );
    let target = format!("Encounter/{id}");
    let planned = Planned {
        kind: ResourceType::Encounter,
        id: id.to_owned(),
        patient: head.patient.clone(),
        institution: caller.institution.clone(),
        expected: ExpectedVersion::Current {
            current: head.current_version,
            status: Some("in-progress".to_owned()),
        },
        columns: Columns {
            status: Some("finished".to_owned()),
            restriction: None,
        },
        deleted: false,
        resource,
    };
    let audit = caller.audit(
        "clinical.encounter.close",
        &target,
        Some(&head.patient),
        String::new(),
    );
    let access = caller.access(&head.patient, "update", &target, None, now);
    write(store, audit, Some(access), planned, now).await
}
