//! The consent register (SPEC §5): create a draft that shares some of a patient's documents
//! for a recipient and a purpose between two dates, send it (the patient sees the documents
//! on the portal; the first send for a patient creates their portal account and answers,
//! once, with the activation code), revoke it (hidden at once), list and show. Writes are
//! signed like every write; every change is in the audit log with the patient.
//!
//! Dates are whole days in UTC: a consent `from` 2025-03-01 `to` 2025-03-31 is in force from
//! 2025-03-01 00:00:00 UTC to 2025-03-31 23:59:59 UTC.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use medgate_ids::{Oid, TenantId};
use medgate_storage::{
    AccountOutcome, Consent, ConsentError, ConsentId, ConsentStatus, DocumentId, NewConsent,
    PendingActivation, StoredDocument,
};
use serde::Deserialize;
use serde_json::{json, Value};
use time::{Date, OffsetDateTime, Time};

use medgate_web::api::{audit_patient, rfc3339, Incoming};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;
use medgate_web::password;
use crate::portal::ACTIVATION_VALIDITY;

/// Longest recipient or purpose text.
const MAX_TEXT_CHARS: usize = 500;
/// Most documents in one consent.
const MAX_DOCUMENTS: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatientBody {
    /// The assigning authority's OID; the PESEL's when absent.
    root: Option<String>,
    extension: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    patient: PatientBody,
    recipient: String,
    purpose: String,
    from: String,
    to: String,
    documents: Vec<String>,
}

fn bad(message: String) -> ApiError {
    ApiError::bad_request("bad_consent", message)
}

fn day(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn parse_day(field: &str, text: &str) -> Result<Date, ApiError> {
    let text = text.trim();
    Date::parse(text, &time::format_description::well_known::Iso8601::DATE)
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| {
            bad(format!(
                "{field}: '{text}' is not a date in the form YYYY-MM-DD."
            ))
        })
}

/// A recipient or purpose: trimmed, not empty, not too long, no control characters.
fn checked_text(field: &str, text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(bad(format!("{field}: must not be empty.")));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(bad(format!(
            "{field}: at most {MAX_TEXT_CHARS} characters."
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(bad(format!(
            "{field}: must not contain control characters."
        )));
    }
    Ok(text.to_owned())
}

/// The new consent a request body describes, validated field by field.
fn new_consent(body: &[u8]) -> Result<NewConsent, ApiError> {
    let body: CreateBody = serde_json::from_slice(body)
        .map_err(|e| bad(format!("body: {e}; expected {{\"patient\": {{\"root\"?, \"extension\"}}, \"recipient\", \"purpose\", \"from\", \"to\", \"documents\": [ids]}}.")))?;
    let patient_text = match body
        .patient
        .root
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        Some(root) => format!("{root}^{}", body.patient.extension.trim()),
        None => body.patient.extension.trim().to_owned(),
    };
    let patient = super::documents::parse_patient(&patient_text)?;
    let recipient = checked_text("recipient", &body.recipient)?;
    let purpose = checked_text("purpose", &body.purpose)?;
    let from = parse_day("from", &body.from)?;
    let to = parse_day("to", &body.to)?;
    if from > to {
        return Err(bad(format!(
            "to: {} is before from ({}).",
            day(to),
            day(from)
        )));
    }
    if body.documents.is_empty() {
        return Err(bad("documents: give at least one document id.".to_owned()));
    }
    if body.documents.len() > MAX_DOCUMENTS {
        return Err(bad(format!(
            "documents: at most {MAX_DOCUMENTS} per consent."
        )));
    }
    let documents = body
        .documents
        .iter()
        .enumerate()
        .map(|(index, text)| {
            DocumentId::parse(text.trim()).map_err(|e| bad(format!("documents[{index}]: {e}.")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NewConsent {
        patient,
        recipient,
        purpose,
        valid_from: from.with_time(Time::MIDNIGHT).assume_utc(),
        valid_to: to.with_time(Time::MIDNIGHT).assume_utc() + time::Duration::days(1)
            - time::Duration::seconds(1),
        documents,
    })
}

/// A consent as every answer shows it.
pub fn consent_json(consent: &Consent, now: OffsetDateTime) -> Value {
    json!({
        "id": consent.id.as_str(),
        "status": consent.status.as_str(),
        "active": consent.in_force_at(now),
        "patient": {
            "root": consent.patient.root.as_str(),
            "extension": consent.patient.extension,
        },
        "recipient": consent.recipient,
        "purpose": consent.purpose,
        "from": day(consent.valid_from.date()),
        "to": day(consent.valid_to.date()),
        "created_at": rfc3339(consent.created_at),
        "sent_at": consent.sent_at.map(rfc3339),
        "revoked_at": consent.revoked_at.map(rfc3339),
        "documents": consent.documents.iter().map(|document| json!({
            "id": document.document_id.as_str(),
            "available": document.available,
        })).collect::<Vec<_>>(),
    })
}

/// The refusals of the consent store in the client's words.
fn consent_error(error: ConsentError) -> ApiError {
    match error {
        ConsentError::DocumentNotFound(id) => ApiError::bad_request(
            "unknown_document",
            format!("documents: document {id} does not exist in this account."),
        ),
        ConsentError::DocumentOfAnotherPatient { document, patient } => ApiError::bad_request(
            "document_of_another_patient",
            format!("documents: document {document} is not a document of patient {patient}; a consent shares one patient's documents."),
        ),
        ConsentError::NotFound(_) => ApiError::not_found("consent"),
        ConsentError::WrongStatus { id, status, operation } => ApiError::new(
            StatusCode::CONFLICT,
            match status {
                ConsentStatus::Revoked => "consent_revoked",
                _ => "consent_already_sent",
            },
            format!("consent {id} is {status}; it cannot be {operation} (create a new consent instead)."),
        ),
        ConsentError::Metadata(other) => ApiError::internal("consent register", &other),
        other => ApiError::internal("consent register", &other),
    }
}

fn path_consent_id(id: Result<Path<String>, PathRejection>) -> Result<ConsentId, ApiError> {
    let Path(text) = id.map_err(|_| {
        ApiError::bad_request(
            "bad_consent_id",
            "The consent id in the path cannot be read.",
        )
    })?;
    ConsentId::parse(&text).map_err(|e| ApiError::bad_request("bad_consent_id", format!("{e}.")))
}

/// The current time in whole seconds, as the store keeps times.
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// `POST /api/v1/consents`: creates a draft.
pub async fn create(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let consent = new_consent(&body)?;
    let created = state
        .metadata
        .create_consent(&caller.tenant.id, &consent)
        .await
        .map_err(consent_error)?;
    let documents: Vec<&str> = created
        .documents
        .iter()
        .map(|d| d.document_id.as_str())
        .collect();
    audit_patient(
        &state,
        &caller,
        "consent.create",
        created.id.as_str(),
        Some(&created.patient.extension),
        format!(
            "recipient '{}', purpose '{}', {} to {}, documents {}",
            created.recipient,
            created.purpose,
            day(created.valid_from.date()),
            day(created.valid_to.date()),
            documents.join(" ")
        ),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "consent": consent_json(&created, now()) })),
    ))
}

/// `GET /api/v1/consents[?patient=PESEL|root^extension]`: the account's consents, newest
/// first.
pub async fn list(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let Query(pairs): Query<Vec<(String, String)>> =
        Query::try_from_uri(&incoming.uri).map_err(|_| {
            ApiError::bad_request(
                "bad_query",
                "The query string cannot be read; percent-encode its values.",
            )
        })?;
    let mut patient: Option<String> = None;
    for (name, value) in pairs {
        match name.as_str() {
            "patient" if patient.is_none() => patient = Some(value.trim().to_owned()),
            "patient" => {
                return Err(ApiError::bad_request(
                    "bad_parameter",
                    "patient: given more than once.",
                ))
            }
            other => {
                return Err(ApiError::bad_request(
                    "bad_parameter",
                    format!("{other}: unknown parameter; known: patient."),
                ))
            }
        }
    }
    let filter = match patient.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(text) => Some(match text.split_once('^') {
            Some((root, extension)) => (
                extension.to_owned(),
                Some(Oid::parse(root).map_err(|e| {
                    ApiError::bad_request(
                        "bad_parameter",
                        format!("patient: the root of '{text}' is not an OID: {e}."),
                    )
                })?),
            ),
            None => (text.to_owned(), None),
        }),
    };
    let consents = state
        .metadata
        .list_consents(
            &caller.tenant.id,
            filter
                .as_ref()
                .map(|(extension, root)| (extension.as_str(), root.as_ref())),
        )
        .await
        .map_err(|e| ApiError::internal("listing consents", &e))?;
    let moment = now();
    Ok(Json(json!({
        "consents": consents.iter().map(|c| consent_json(c, moment)).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/consents/{id}`.
pub async fn show(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let id = path_consent_id(id)?;
    let consent = state
        .metadata
        .get_consent(&caller.tenant.id, &id)
        .await
        .map_err(|e| ApiError::internal("reading a consent", &e))?
        .ok_or_else(|| ApiError::not_found("consent"))?;
    Ok(Json(json!({ "consent": consent_json(&consent, now()) })))
}

/// `POST /api/v1/consents/{id}/send`: shares the draft's documents with the patient. The
/// answer carries the patient's one-time activation code when the patient's account is new
/// or not yet activated (a new code replaces an earlier one); it is shown only here and
/// stored only as an Argon2id hash.
pub async fn send(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let id = path_consent_id(id)?;
    let code = password::activation_code()?;
    let activation = PendingActivation {
        code_hash: password::hash_async(password::normalize_code(&code)).await?,
        expires_at: now() + ACTIVATION_VALIDITY,
    };
    let sent = state
        .metadata
        .send_consent(&caller.tenant.id, &id, &activation)
        .await
        .map_err(consent_error)?;
    let account_status = match sent.account {
        AccountOutcome::Created => "created",
        AccountOutcome::CodeRenewed => "code_renewed",
        AccountOutcome::AlreadyActive => "already_active",
    };
    audit_patient(
        &state,
        &caller,
        "consent.send",
        sent.consent.id.as_str(),
        Some(&sent.consent.patient.extension),
        format!("patient account {account_status}"),
    )
    .await?;
    let issued = sent.account.code_issued();
    Ok(Json(json!({
        "consent": consent_json(&sent.consent, now()),
        "patient_account": {
            "status": account_status,
            "activation_code": issued.then_some(code),
            "activation_expires_at": issued.then(|| rfc3339(activation.expires_at)),
            "activation_path": "/portal/activate",
            "portal_path": "/portal",
        },
    })))
}

/// `POST /api/v1/consents/{id}/revoke`: withdraws the consent at once.
pub async fn revoke(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let id = path_consent_id(id)?;
    let consent = state
        .metadata
        .revoke_consent(&caller.tenant.id, &id)
        .await
        .map_err(consent_error)?;
    audit_patient(
        &state,
        &caller,
        "consent.revoke",
        consent.id.as_str(),
        Some(&consent.patient.extension),
        String::new(),
    )
    .await?;
    Ok(Json(json!({ "consent": consent_json(&consent, now()) })))
}

/// Of `documents`, those the tenant's patients can see on the portal now (a sent consent
/// in force covers them): the `consent` mark of search results and metadata.
pub async fn shared_now(
    state: &AppState,
    tenant: &TenantId,
    documents: &[&StoredDocument],
) -> Result<HashSet<DocumentId>, ApiError> {
    let ids: Vec<&DocumentId> = documents.iter().map(|d| &d.metadata.document_id).collect();
    state
        .metadata
        .documents_shared_now(tenant, &ids, now())
        .await
        .map_err(|e| ApiError::internal("looking up consents", &e))
}

/// Adds the `stored` and `consent` marks to a document's JSON.
pub fn with_marks(mut document: Value, consent: bool) -> Value {
    if let Some(object) = document.as_object_mut() {
        object.insert("stored".to_owned(), Value::Bool(true));
        object.insert("consent".to_owned(), Value::Bool(consent));
    }
    document
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    fn body(patch: &str) -> Vec<u8> {
        let mut value: Value = serde_json::from_str(
            r#"{"patient": {"extension": "44051401359"}, "recipient": "Dr Nowak",
                "purpose": "konsultacja", "from": "2025-01-01", "to": "2025-12-31",
                "documents": ["1.2.3^A"]}"#,
        )
        .unwrap();
        let patch: Value = serde_json::from_str(patch).unwrap();
        for (key, item) in patch.as_object().unwrap() {
            value[key] = item.clone();
        }
        serde_json::to_vec(&value).unwrap()
    }

    fn refusal(patch: &str) -> String {
        new_consent(&body(patch)).unwrap_err().to_string()
    }

    #[test]
    fn a_valid_body_becomes_whole_utc_days() {
        let consent = new_consent(&body("{}")).unwrap();
        assert_eq!(consent.patient.root.as_str(), medgate_ids::Pesel::OID);
        assert_eq!(consent.valid_from.unix_timestamp(), 1_735_689_600);
        assert_eq!(consent.valid_to.unix_timestamp(), 1_767_225_599);
    }

    #[test]
    fn every_refusal_names_its_field() {
        assert!(refusal(r#"{"recipient": "  "}"#).contains("recipient: must not be empty"));
        assert!(refusal(r#"{"purpose": "a\u0007b"}"#).contains("purpose: must not contain control"));
        assert!(refusal(r#"{"from": "2025-13-01"}"#).contains("from: '2025-13-01'"));
        assert!(refusal(r#"{"from": "2026-01-01"}"#)
            .contains("to: 2025-12-31 is before from (2026-01-01)"));
        assert!(refusal(r#"{"documents": []}"#).contains("documents: give at least one"));
        assert!(refusal(r#"{"documents": ["1.2^A", "^x"]}"#).contains("documents[1]:"));
        assert!(refusal(r#"{"patient": {"extension": "44051401358"}}"#).contains("patient:"));
        assert!(refusal(r#"{"colour": "red"}"#).contains("unknown field `colour`"));
        assert!(refusal(r#"{"patient": {"root": "x.y", "extension": "1"}}"#).contains("patient:"));
    }
}
