//! The national registry's routes on a repository: register with national certificates
//! (PKCS#12 + password), index a document, find a patient's entries across all repositories,
//! revoke (deregister). What happens, and that nothing is stored unless the registry
//! answered, is the domain's (`medgate_repository::national`).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use medgate_repository::national;
use medgate_storage::DocumentId;
use serde::Deserialize;
use serde_json::{json, Value};

use medgate_web::api::{rfc3339, Incoming};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

use crate::repository::{domain, refused};

/// `POST /api/v1/national/register`: registers this tenant's repository in the national
/// domain with the uploaded national certificates; stores them and the national repository
/// id only when the registry answered.
pub async fn register(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let (registered, account) = national::register(
        &domain(&state),
        &crate::repository::national(&state),
        &caller.actor(),
        &body,
    )
    .await
    .map_err(refused)?;
    Ok(Json(json!({
        "log": registered.log,
        "national_repository_id": registered.national_id.as_str(),
        "account": account,
    })))
}

/// `POST /api/v1/national/revoke`: deregisters at the registry (which withdraws every entry
/// of this repository), then removes the national credentials, the national repository id
/// and the indexed marks. When the registry cannot be reached nothing is removed: the
/// registry would go on listing the entries.
pub async fn revoke(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let (revoked, account) = national::revoke(
        &domain(&state),
        &crate::repository::national(&state),
        &caller.actor(),
    )
    .await
    .map_err(refused)?;
    Ok(Json(json!({
        "deregistered": revoked.national_id.as_str(),
        "withdrawn_entries": revoked.withdrawn,
        "unindexed_documents": revoked.unindexed,
        "account": account,
    })))
}

fn path_document_id(id: Result<Path<String>, PathRejection>) -> Result<DocumentId, ApiError> {
    let Path(text) = id.map_err(|_| {
        ApiError::bad_request(
            "bad_document_id",
            "The document id in the path cannot be read; percent-encode it.",
        )
    })?;
    DocumentId::parse(&text).map_err(|e| ApiError::bad_request("bad_document_id", format!("{e}.")))
}

/// `POST /api/v1/documents/{id}/index`: sends the document's DocumentEntry to the registry
/// and marks the document indexed (again, when it was: the entry is replaced).
pub async fn index(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let document_id = path_document_id(id)?;
    let indexed = national::index(
        &domain(&state),
        &crate::repository::national(&state),
        &caller.actor(),
        &document_id,
    )
    .await
    .map_err(refused)?;
    Ok(Json(json!({
        "document": indexed.document_id.as_str(),
        "indexed": true,
        "indexed_at": rfc3339(indexed.indexed_at),
        "national_repository_id": indexed.national_repository_id.as_str(),
        "entry": indexed.entry,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindQuery {
    patient: Option<String>,
    patient_root: Option<String>,
}

/// `GET /api/v1/national/find?patient=ID[&patient_root=OID]`: the patient's entries in the
/// national registry, across all repositories (`patient` may also be `root^extension`).
pub async fn find(
    State(state): State<AppState>,
    incoming: Incoming,
    query: Result<Query<FindQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(
            "bad_query",
            format!(
                "The query string cannot be read: {e}; known parameters: patient, patient_root."
            ),
        )
    })?;
    national::find(
        &domain(&state),
        &crate::repository::national(&state),
        &caller.actor(),
        query.patient,
        query.patient_root,
    )
    .await
    .map(Json)
    .map_err(refused)
}
