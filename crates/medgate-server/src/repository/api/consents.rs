//! The consent register's routes (SPEC §5): create a draft, send it (the answer carries the
//! patient's one-time activation code when the patient's portal account is new or not yet
//! activated), revoke it, list and show. Writes are signed like every write; the rules and
//! the audit entries are the domain's (`medgate_repository::consents`).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use medgate_repository::consents::{self, account_status};
use medgate_repository::format_date;
use medgate_storage::{Consent, ConsentId};
use serde_json::{json, Value};
use time::OffsetDateTime;

use medgate_web::api::{rfc3339, Incoming};
use medgate_web::error::ApiError;
use medgate_web::password;
use medgate_web::state::AppState;

use crate::repository::{domain, refused};

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
        "from": format_date(consent.valid_from.date()),
        "to": format_date(consent.valid_to.date()),
        "created_at": rfc3339(consent.created_at),
        "sent_at": consent.sent_at.map(rfc3339),
        "revoked_at": consent.revoked_at.map(rfc3339),
        "documents": consent.documents.iter().map(|document| json!({
            "id": document.document_id.as_str(),
            "available": document.available,
        })).collect::<Vec<_>>(),
    })
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

/// `POST /api/v1/consents`: creates a draft.
pub async fn create(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let consent = consents::new_consent(&body).map_err(refused)?;
    let created = consents::create(&domain(&state), &caller.actor(), &consent)
        .await
        .map_err(refused)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "consent": consent_json(&created, medgate_web::now()) })),
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
            "patient" if patient.is_none() => patient = Some(value),
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
    let consents = consents::list(&domain(&state), &caller.actor(), patient.as_deref())
        .await
        .map_err(refused)?;
    let moment = medgate_web::now();
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
    let consent = consents::show(&domain(&state), &caller.actor(), &id)
        .await
        .map_err(refused)?;
    Ok(Json(
        json!({ "consent": consent_json(&consent, medgate_web::now()) }),
    ))
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
    let code_hash = password::hash_async(password::normalize_code(&code)).await?;
    let sent = consents::send(&domain(&state), &caller.actor(), &id, code_hash)
        .await
        .map_err(refused)?;
    let issued = sent.account.code_issued();
    Ok(Json(json!({
        "consent": consent_json(&sent.consent, medgate_web::now()),
        "patient_account": {
            "status": account_status(sent.account),
            "activation_code": issued.then_some(code),
            "activation_expires_at": issued.then(|| rfc3339(sent.activation_expires_at)),
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
    let consent = consents::revoke(&domain(&state), &caller.actor(), &id)
        .await
        .map_err(refused)?;
    Ok(Json(
        json!({ "consent": consent_json(&consent, medgate_web::now()) }),
    ))
}
