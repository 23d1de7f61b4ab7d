//! `GET /api/v1/audit`: the tenant's own audit entries, newest first, optionally only those
//! concerning one patient (the patient's access log). Entries of other tenants and of the
//! operator are never listed. Reading the log is itself recorded (`audit.list`), after the
//! page is read, so a page never shows its own reading.

use axum::extract::State;
use axum::Json;
use medgate_storage::AuditEntry;
use serde_json::{json, Value};

use super::documents::query_parameters;
use medgate_web::api::{audit_patient, rfc3339, Incoming};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

/// Entries per page when the request names no limit.
const DEFAULT_LIMIT: u32 = 100;
/// Largest page.
const MAX_LIMIT: u32 = 1000;
/// Longest patient identifier value accepted as a filter.
const MAX_PATIENT_LEN: usize = 64;

/// `GET /api/v1/audit?patient=&limit=&before=`.
pub async fn list(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let mut parameters = query_parameters(&incoming.uri, &["patient", "limit", "before"])?;
    let patient = parameters
        .remove("patient")
        .map(|text| audit_patient_value(&text))
        .transpose()?;
    let limit = match parameters.remove("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "bad_parameter",
                    format!("limit: '{text}' is not a number from 1 to {MAX_LIMIT}."),
                )
            })?,
    };
    let before = parameters
        .remove("before")
        .map(|text| {
            text.parse::<u64>()
                .ok()
                .filter(|before| (1..=i64::MAX as u64).contains(before))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "bad_parameter",
                        format!("before: '{text}' is not an entry number (seq) of 1 or more."),
                    )
                })
        })
        .transpose()?;

    let entries = state
        .metadata
        .list_audit_page(&caller.tenant.id, patient.as_deref(), before, limit)
        .await
        .map_err(|e| ApiError::internal("listing the audit log", &e))?;
    // A full page may have more behind it: the next page starts before its last entry.
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|entry| entry.seq))
        .flatten();
    let mut details = format!("{} entries", entries.len());
    if let Some(before) = before {
        details.push_str(&format!(", before {before}"));
    }
    audit_patient(
        &state,
        &caller,
        "audit.list",
        caller.tenant.id.as_str(),
        patient.as_deref(),
        details,
    )
    .await?;
    Ok(Json(json!({
        "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
        "next_before": next_before,
    })))
}

/// The patient filter as the audit log stores patients: the identifier value alone. A
/// `root^extension` is accepted and reduced to its extension, as a PESEL alone is taken.
fn audit_patient_value(text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    let value = match text.split_once('^') {
        Some((_, extension)) => extension,
        None => text,
    };
    if value.is_empty()
        || value.chars().count() > MAX_PATIENT_LEN
        || value.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "bad_parameter",
            format!(
                "patient: give the patient identifier (a PESEL, or root^extension), at most {MAX_PATIENT_LEN} characters."
            ),
        ));
    }
    Ok(value.to_owned())
}

/// One entry as the API shows it.
fn entry_json(entry: &AuditEntry) -> Value {
    json!({
        "seq": entry.seq,
        "at": rfc3339(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "origin": entry.origin.to_string(),
        "patient": entry.patient,
        "details": entry.details,
        "hash": entry.hash.to_hex(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn patient_filters_are_identifier_values() {
        assert_eq!(audit_patient_value(" 44051401359 ").unwrap(), "44051401359");
        assert_eq!(
            audit_patient_value("2.16.840.1.113883.3.4424.1.1.616^44051401359").unwrap(),
            "44051401359"
        );
        assert_eq!(audit_patient_value("").unwrap_err().code(), "bad_parameter");
        assert_eq!(
            audit_patient_value("1.2^").unwrap_err().code(),
            "bad_parameter"
        );
        assert!(audit_patient_value(&"9".repeat(65)).is_err());
    }
}
