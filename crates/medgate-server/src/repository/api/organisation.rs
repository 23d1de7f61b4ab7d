//! Organisational structure and document type routes: `GET|PUT /api/v1/organisation`
//! (validated with [`crate::organisation::validate`], every field error at once) and
//! `GET /api/v1/document-types`, `PUT /api/v1/document-types/{code}` (archiving policies).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use medgate_storage::{DocumentTypePolicy, MetadataError, DEFAULT_DOCUMENT_TYPES};
use serde::Deserialize;
use serde_json::{json, Value};

use medgate_web::api::{audit, rfc3339, Incoming};
use medgate_web::error::ApiError;
use crate::organisation::{validate, FieldError, OrganisationForm};
use medgate_web::state::AppState;

/// Longest local retention a policy may set: ten years.
pub const MAX_KEEP_LOCAL_DAYS: u32 = 3650;

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

impl IntoResponse for OrganisationRejection {
    fn into_response(self) -> Response {
        match self {
            OrganisationRejection::Api(error) => error.into_response(),
            OrganisationRejection::Invalid(errors) => {
                // The message repeats the errors one per line for clients that show only
                // `message`; `errors` is for forms that place them beside their fields.
                let mut message = format!(
                    "The organisational structure has {} invalid field{}; nothing was stored.",
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                );
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

fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "bad_json",
            format!("The request body is not the expected JSON: {e}."),
        )
    })
}

fn never_pushed() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "No organisational structure has been sent to this account yet; send one with `medgate client org push FILE.toml`.",
    )
}

/// `GET /api/v1/organisation`: `{revision, updated_at, organisation}`.
pub async fn show(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let stored = state
        .metadata
        .load_organisation(&caller.tenant.id)
        .await
        .map_err(|e| ApiError::internal("reading the organisational structure", &e))?
        .ok_or_else(never_pushed)?;
    let organisation: Value = serde_json::from_str(&stored.json)
        .map_err(|e| ApiError::internal("stored organisational structure", &e))?;
    audit(
        &state,
        &caller,
        "organisation.show",
        caller.tenant.id.as_str(),
        format!("revision {}", stored.revision),
    )
    .await?;
    Ok(Json(json!({
        "revision": stored.revision,
        "updated_at": rfc3339(stored.updated_at),
        "organisation": organisation,
    })))
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
    let form: OrganisationForm = parse_json(&body)?;
    let organisation = validate(&form).map_err(OrganisationRejection::Invalid)?;
    let canonical = organisation.to_form();
    let text = serde_json::to_string(&canonical)
        .map_err(|e| ApiError::internal("serialising the organisational structure", &e))?;
    let stored = state
        .metadata
        .store_organisation(&caller.tenant.id, &text)
        .await
        .map_err(|e| ApiError::internal("storing the organisational structure", &e))?;
    audit(
        &state,
        &caller,
        "organisation.update",
        caller.tenant.id.as_str(),
        format!(
            "revision {}; {} facilities; {} units",
            stored.revision,
            organisation.facilities().len(),
            organisation.units().len()
        ),
    )
    .await?;
    let organisation = serde_json::to_value(&canonical)
        .map_err(|e| ApiError::internal("serialising the organisational structure", &e))?;
    Ok(Json(json!({
        "revision": stored.revision,
        "updated_at": rfc3339(stored.updated_at),
        "organisation": organisation,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentTypeRequest {
    archive_automatically: bool,
    keep_local_days: u32,
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

fn unknown_type(code: &str) -> ApiError {
    let codes: Vec<&str> = DEFAULT_DOCUMENT_TYPES.iter().map(|t| t.code).collect();
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_document_type",
        format!(
            "There is no document type '{code}'; valid codes: {}.",
            codes.join(", ")
        ),
    )
}

/// `GET /api/v1/document-types`: `{types: [{code, name, archive_automatically,
/// keep_local_days, overridden}]}` in catalogue order.
pub async fn list_types(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let types = state
        .metadata
        .list_document_types(&caller.tenant.id)
        .await
        .map_err(|e| ApiError::internal("listing document types", &e))?;
    audit(
        &state,
        &caller,
        "document_types.list",
        caller.tenant.id.as_str(),
        String::new(),
    )
    .await?;
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
    let code = code.trim().to_ascii_uppercase();
    if medgate_storage::default_document_type(&code).is_none() {
        return Err(unknown_type(&code));
    }
    let request: DocumentTypeRequest = parse_json(&body)?;
    if request.keep_local_days > MAX_KEEP_LOCAL_DAYS {
        return Err(ApiError::bad_request(
            "bad_keep_local_days",
            format!(
                "keep_local_days is {}; it must be between 0 and {MAX_KEEP_LOCAL_DAYS}.",
                request.keep_local_days
            ),
        ));
    }
    let policy = state
        .metadata
        .set_document_type(
            &caller.tenant.id,
            &code,
            request.archive_automatically,
            request.keep_local_days,
        )
        .await
        .map_err(|e| match e {
            MetadataError::UnknownDocumentType(code) => unknown_type(&code),
            other => ApiError::internal("setting a document type policy", &other),
        })?;
    audit(
        &state,
        &caller,
        "document_type.update",
        policy.code,
        format!(
            "archive automatically {}; keep locally {} days",
            if policy.archive_automatically {
                "yes"
            } else {
                "no"
            },
            policy.keep_local_days
        ),
    )
    .await?;
    Ok(Json(type_json(&policy)))
}
