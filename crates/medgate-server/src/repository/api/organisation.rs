//! Organisational structure and document type routes: `GET|PUT /api/v1/organisation`
//! (validated by `medgate_repository::organisation`, every field error at once) and
//! `GET /api/v1/document-types`, `PUT /api/v1/document-types/{code}` (archiving policies).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use medgate_repository::organisation::{self, FieldError, OrganisationForm, Revision};
use medgate_repository::{document_types, RepositoryError};
use medgate_storage::DocumentTypePolicy;
use serde_json::{json, Value};

use medgate_web::api::{rfc3339, Incoming};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

use crate::repository::{domain, refused};

/// A refusal of `PUT /api/v1/organisation`: an ordinary API error, or the list of invalid
/// fields (400 `invalid_organisation`, with `errors: [{field, message}]` beside the usual
/// `code` and `message`).
pub enum OrganisationRejection {
    Api(ApiError),
    Invalid(Vec<FieldError>),
}

impl From<ApiError> for OrganisationRejection {
    fn from(error: ApiError) -> Self {
        OrganisationRejection::Api(error)
    }
}

impl From<RepositoryError> for OrganisationRejection {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::InvalidOrganisation(errors) => OrganisationRejection::Invalid(errors),
            other => OrganisationRejection::Api(refused(other)),
        }
    }
}

impl IntoResponse for OrganisationRejection {
    fn into_response(self) -> Response {
        match self {
            OrganisationRejection::Api(error) => error.into_response(),
            OrganisationRejection::Invalid(errors) => {
                // The message repeats the errors one per line for clients that show only
                // `message`; `errors` is for forms that place them beside their fields.
                let mut message = RepositoryError::InvalidOrganisation(errors.clone()).to_string();
                for error in &errors {
                    message.push('\n');
                    message.push_str(&error.to_string());
                }
                let body = json!({
                    "code": "invalid_organisation",
                    "message": message,
                    "errors": errors,
                });
                let mut response = (
                    StatusCode::BAD_REQUEST,
                    serde_json::to_vec(&body).unwrap_or_default(),
                )
                    .into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
        }
    }
}

fn revision_json(stored: Revision) -> Json<Value> {
    Json(json!({
        "revision": stored.revision,
        "updated_at": rfc3339(stored.updated_at),
        "organisation": stored.organisation,
    }))
}

/// `GET /api/v1/organisation`: `{revision, updated_at, organisation}`.
pub async fn show(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    organisation::show(&domain(&state), &caller.actor())
        .await
        .map(revision_json)
        .map_err(refused)
}

/// `PUT /api/v1/organisation` (signed): validates the whole structure, stores its canonical
/// form as a new revision, answers `{revision, updated_at, organisation}`. An invalid
/// structure stores nothing.
pub async fn replace(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Json<Value>, OrganisationRejection> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let form: OrganisationForm = medgate_repository::parse_json(&body)?;
    let stored = organisation::replace(&domain(&state), &caller.actor(), &form).await?;
    Ok(revision_json(stored))
}

fn type_json(policy: &DocumentTypePolicy) -> Value {
    json!({
        "code": policy.code,
        "name": policy.name,
        "archive_automatically": policy.archive_automatically,
        "keep_local_days": policy.keep_local_days,
        "overridden": policy.overridden,
    })
}

/// `GET /api/v1/document-types`: `{types: [{code, name, archive_automatically,
/// keep_local_days, overridden}]}` in catalogue order.
pub async fn list_types(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let types = document_types::list(&domain(&state), &caller.actor())
        .await
        .map_err(refused)?;
    Ok(Json(json!({
        "types": types.iter().map(type_json).collect::<Vec<_>>(),
    })))
}

/// `PUT /api/v1/document-types/{code}` (signed): body `{archive_automatically,
/// keep_local_days}`; answers the updated entry.
pub async fn set_type(
    State(state): State<AppState>,
    incoming: Incoming,
    code: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    // A path that does not decode is refused in the API's own words, not axum's.
    let Path(code) = code.map_err(|_| {
        ApiError::bad_request(
            "bad_document_type",
            "The document type code in the path cannot be read; percent-encode it.",
        )
    })?;
    let policy = document_types::set(&domain(&state), &caller.actor(), &code, &body)
        .await
        .map_err(refused)?;
    Ok(Json(type_json(&policy)))
}
