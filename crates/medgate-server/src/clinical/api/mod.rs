//! The clinical service's FHIR API: who calls (`institution`, `signed`, `practitioner`),
//! the one mapping of the domain's refusals to [`ApiError`] ([`refusal`]), and FHIR answers
//! ([`fhir`], [`bundle`]). `session` signs practitioners in and out; `resources` holds the
//! FHIR interactions.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use medgate_clinical::{Caller, ClinicalError, ErrorKind};
use medgate_ids::InstitutionId;
use medgate_storage::AuditOrigin;
use serde_json::{json, Value};
use time::OffsetDateTime;

use medgate_web::api::Incoming;
use medgate_web::auth::{self, Presented};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

pub mod capabilities;
pub mod outcome;
pub mod resources;
pub mod session;

/// The media type of every FHIR answer.
pub const FHIR_JSON: &str = "application/fhir+json";

/// The header (or, in a query, the `_breakGlass` parameter) by which a practitioner breaks
/// the glass of a patient's restriction, carrying the reason.
pub const BREAK_GLASS_HEADER: &str = "medgate-break-glass";

/// An institution calling with its certificate, checked.
pub struct Institution {
    pub id: InstitutionId,
    pub presented: Presented,
    pub origin: AuditOrigin,
}

fn forbidden(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message)
}

/// The one mapping of the domain's refusals: the domain's stable code, its kind's status, its
/// sentence; a failure of ours is logged and told without its cause.
pub fn refusal(error: ClinicalError) -> ApiError {
    let status = match error.kind() {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Internal => return ApiError::internal("clinical record service", &error),
    };
    ApiError::new(status, error.code(), error.to_string())
}

/// The calling institution: a client certificate issued by this service's CA, not revoked,
/// within its dates, and recorded for an active institution.
pub async fn institution(state: &AppState, incoming: &Incoming) -> Result<Institution, ApiError> {
    let presented = auth::presented_certificate(&incoming.peer).map_err(|error| {
        if error.code() == "client_certificate_required" {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "client_certificate_required",
                "The clinical record service needs the institution's certificate issued by this service's CA (medgate clinical certificate issue).",
            )
        } else {
            error
        }
    })?;
    if !medgate_pki::check::issued_by(&presented.certificate, state.ca.certificate()) {
        return Err(forbidden(
            "certificate_not_from_service_ca",
            format!(
                "The client certificate {} was not issued by this clinical record service's CA; ask the service's operator for an institution certificate.",
                presented.serial_hex
            ),
        ));
    }
    presented.usable_now(&state.revocations)?;
    let now = OffsetDateTime::now_utc();
    let id = medgate_clinical::admin::institution_of_certificate(
        &state.metadata,
        &presented.serial_hex.to_ascii_uppercase(),
        now,
    )
    .await
    .map_err(|error| match error.kind() {
        ErrorKind::Internal => refusal(error),
        _ => forbidden(
            "certificate_not_recorded",
            format!(
                "The client certificate {} is not recorded for an active institution of this service ({error}).",
                presented.serial_hex
            ),
        ),
    })?;
    Ok(Institution {
        id,
        presented,
        origin: AuditOrigin::Address(incoming.peer.address.ip()),
    })
}

/// [`institution`], for a write: the request signed (RFC 9421) with the key of the
/// institution's certificate over `body`.
pub async fn signed(
    state: &AppState,
    incoming: &Incoming,
    body: &Bytes,
) -> Result<Institution, ApiError> {
    let institution = institution(state, incoming).await?;
    auth::verify_signature(
        state,
        &institution.presented.certificate,
        &incoming.method,
        &incoming.uri,
        &incoming.headers,
        body,
    )
    .await?;
    Ok(institution)
}

/// The bearer token of the request.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let unauthorized = |message: &str| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_required",
            message.to_owned(),
        )
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("Sign in first (POST /fhir/$login) and send Authorization: Bearer <token>; the institution's certificate alone reads nothing clinical."))?;
    value
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            unauthorized("The Authorization header must be Bearer <token> from POST /fhir/$login.")
        })
}

/// The practitioner whose session the request carries, acting for `institution`.
pub async fn practitioner(
    state: &AppState,
    incoming: &Incoming,
    institution: &Institution,
) -> Result<Caller, ApiError> {
    let token = bearer_token(&incoming.headers)?;
    medgate_clinical::auth::authenticate(
        &state.metadata,
        token,
        &institution.id,
        institution.origin,
        state.clock.now(),
    )
    .await
    .map_err(refusal)
}

/// The break-glass reason of the request: the header, else the `_breakGlass` parameter.
pub fn break_glass(
    state: &AppState,
    headers: &HeaderMap,
    parameter: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let reason = break_glass_reason(headers, parameter)?;
    if reason.is_some() {
        state
            .metrics
            .counter(BREAK_GLASS_METRIC.0, BREAK_GLASS_METRIC.1)
            .inc();
    }
    Ok(reason)
}

/// The clinical service's own series (`medgate_<name>_total`), declared by the host when it
/// assembles a clinical node so they show from the start.
pub const BREAK_GLASS_METRIC: (&str, &str) = (
    "clinical_break_glass",
    "Reads that broke the glass (a reason given to see what a patient restricted)",
);
pub const SESSIONS_OPENED_METRIC: (&str, &str) = (
    "clinical_sessions_opened",
    "Practitioner sessions opened ($login accepted)",
);
pub const LOGIN_REFUSALS_METRIC: (&str, &str) = (
    "clinical_login_refusals",
    "Practitioner sign-ins ($login) refused: wrong password or code, locked, suspended, not in the matrix",
);

/// Registers the clinical service's counters at 0.
pub fn declare_metrics(metrics: &medgate_web::metrics::Metrics) {
    for (name, help) in [
        BREAK_GLASS_METRIC,
        SESSIONS_OPENED_METRIC,
        LOGIN_REFUSALS_METRIC,
    ] {
        metrics.counter(name, help);
    }
}

fn break_glass_reason(
    headers: &HeaderMap,
    parameter: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match headers.get(BREAK_GLASS_HEADER) {
        Some(value) => std::str::from_utf8(value.as_bytes())
            .map(|text| Some(text.trim().to_owned()))
            .map_err(|_| {
                ApiError::bad_request(
                    "bad_break_glass_header",
                    format!("The {BREAK_GLASS_HEADER} header must be UTF-8 text: the reason."),
                )
            }),
        None => Ok(parameter.map(|text| text.trim().to_owned())),
    }
}

/// A FHIR answer: `resource` as `application/fhir+json`, with its version as ETag.
pub fn fhir(status: StatusCode, resource: &Value) -> Response {
    let mut response = (status, resource.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    if let Some(version) = resource.pointer("/meta/versionId").and_then(Value::as_str) {
        if let Ok(value) = HeaderValue::from_str(&format!("W/\"{version}\"")) {
            headers.insert(header::ETAG, value);
        }
    }
    response
}

/// The absolute URL of `Type/id` at this service.
pub fn full_url(state: &AppState, resource: &Value) -> String {
    format!(
        "{}/fhir/{}/{}",
        state.node.public_url.trim_end_matches('/'),
        resource["resourceType"].as_str().unwrap_or_default(),
        resource["id"].as_str().unwrap_or_default()
    )
}

/// A Bundle of `kind` (`searchset`) of `resources`.
pub fn bundle(state: &AppState, kind: &str, resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|resource| {
            json!({
                "fullUrl": full_url(state, &resource),
                "resource": resource,
                "search": { "mode": "match" }
            })
        })
        .collect();
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": kind,
        "total": entries.len(),
    });
    // FHIR JSON has no empty arrays: an empty bundle has no `entry`.
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}
