//! The HTTP surface: every route of the API under `/api/v1`, the health check and the
//! OpenAPI document. Handlers are short: authenticate, call the stores, shape JSON.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::{get, post, put};
use axum::Router;

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::listener::PeerInfo;
use crate::state::AppState;

pub mod account;
pub mod admin_users;
pub mod audit_log;
pub mod consents;
pub mod documents;
pub mod fhir;
pub mod national;
pub mod openapi;
pub mod organisation;

/// Largest request body accepted (a CDA with embedded scans can be large).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The whole router with its state.
pub fn router(state: AppState) -> Router {
    let guard = crate::body_guard::BodyGuard::new(MAX_BODY_BYTES, state.revocations.clone());
    Router::new()
        .route("/healthz", get(health))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/probe", post(account::probe))
        .route("/api/v1/account", get(account::show))
        .route("/api/v1/account/activate", post(account::activate))
        .route("/api/v1/account/certificates", put(account::update_certificates))
        .route("/api/v1/account/admin-users", post(admin_users::create))
        .route("/api/v1/documents", post(documents::put_document).get(documents::search))
        .route("/api/v1/attachments", post(documents::put_attachment))
        .route(
            "/api/v1/documents/{id}",
            get(documents::get_content).delete(documents::delete),
        )
        .route("/api/v1/documents/{id}/metadata", get(documents::get_metadata))
        .route("/api/v1/documents/{id}/render", get(documents::render))
        .route("/api/v1/documents/{id}/export", get(documents::export))
        .route("/api/v1/documents/{id}/index", post(national::index))
        .route("/api/v1/national/register", post(national::register))
        .route("/api/v1/national/revoke", post(national::revoke))
        .route("/api/v1/national/find", get(national::find))
        .route(
            "/api/v1/organisation",
            get(organisation::show).put(organisation::replace),
        )
        .route("/api/v1/document-types", get(organisation::list_types))
        .route("/api/v1/document-types/{code}", put(organisation::set_type))
        .route("/api/v1/consents", post(consents::create).get(consents::list))
        .route("/api/v1/consents/{id}", get(consents::show))
        .route("/api/v1/consents/{id}/send", post(consents::send))
        .route("/api/v1/consents/{id}/revoke", post(consents::revoke))
        .route("/api/v1/audit", get(audit_log::list))
        .route("/fhir/DocumentReference", get(fhir::search_document_references))
        .route("/fhir/DocumentReference/{id}", get(fhir::read_document_reference))
        .route("/fhir/Binary/{id}", get(fhir::read_binary))
        // Before the web pages are merged: only the API's routes answer a wrong method in JSON.
        .method_not_allowed_fallback(method_not_allowed)
        .merge(crate::web::router(&state.config))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(move |request, next| guard.clone().run(request, next)))
        .layer(axum::middleware::map_response(strict_transport_security))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}

/// The `Strict-Transport-Security` value of every answer: a year.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Adds `Strict-Transport-Security` to every answer (pages, API, errors): the node speaks
/// HTTPS only, so a browser that has been here once never tries plain HTTP, where a network
/// attacker could alter pages or plant cookies.
pub(crate) async fn strict_transport_security(
    mut response: axum::response::Response,
) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
    );
    response
}

pub(crate) async fn health() -> &'static str {
    "ok\n"
}

/// The fallbacks read the request's body (within the body limit) before they answer: a
/// connection answered and closed while the client is still sending loses the answer (the
/// client sees the connection reset instead), and one left with unread bytes cannot be kept
/// alive for the client's next request.
pub(crate) async fn not_found(_body: Bytes) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "no_such_route",
        "There is no such API route; see /api/v1/openapi.json.",
    )
}

/// A route that exists, asked with a method it does not take: the API's JSON error (axum
/// adds the `Allow` header naming the methods it takes). Reads the body first, as
/// [`not_found`] does.
pub(crate) async fn method_not_allowed(method: Method, _body: Bytes) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("This API route does not take {method}; see the Allow header and /api/v1/openapi.json."),
    )
}

/// One structured log line per request: method, path, status, time taken. No bodies, no
/// headers (they carry signatures), no query strings (they carry patient identifiers).
pub(crate) async fn log_request(request: Request, next: axum::middleware::Next) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// Everything a handler may need to authenticate a request.
pub struct Incoming {
    pub peer: PeerInfo,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
}

impl Incoming {
    /// A reading caller: TLS certificate and account checks.
    pub async fn caller(&self, state: &AppState) -> Result<Caller, ApiError> {
        auth::authenticate(state, &self.peer, &self.headers).await
    }

    /// A writing caller: as [`Incoming::caller`], plus a valid signature by the account's
    /// WSS key over this request and `body`.
    pub async fn signed_caller(&self, state: &AppState, body: &Bytes) -> Result<Caller, ApiError> {
        let caller = self.caller(state).await?;
        let wss = auth::active_wss(state, &caller.tenant.id).await?;
        auth::verify_signature(state, &wss, &self.method, &self.uri, &self.headers, body).await?;
        Ok(caller)
    }
}

/// Extracts [`Incoming`] in handlers.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Incoming {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<PeerInfo>()
            .cloned()
            .ok_or_else(ApiError::client_certificate_required)?;
        Ok(Incoming {
            peer,
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}

/// RFC 3339 text of a time, as every JSON answer shows times.
pub fn rfc3339(time: time::OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Appends an audit entry for an action of `caller`; the request fails if the audit log
/// cannot be written, because an unrecorded access must not happen. For an action that
/// concerns one patient use [`audit_patient`].
pub async fn audit(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: &str,
    details: String,
) -> Result<(), ApiError> {
    audit_patient(state, caller, action, target, None, details).await
}

/// Like [`audit`], for an action that concerns a patient (a read of their document, a search
/// by their identifier, a consent for them): `patient` is the patient identifier's value
/// alone (e.g. the PESEL, without the OID), which the patient's access log
/// (`GET /api/v1/audit?patient=…`, the portal) is looked up by. `None` is the same as
/// [`audit`].
pub async fn audit_patient(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: &str,
    patient: Option<&str>,
    details: String,
) -> Result<(), ApiError> {
    state
        .metadata
        .append_audit(&medgate_storage::NewAuditEntry {
            tenant: Some(caller.tenant.id.clone()),
            actor: caller.subject.clone(),
            action: action.to_owned(),
            target: target.to_owned(),
            origin: caller.origin,
            details,
            patient: patient.map(str::to_owned),
        })
        .await
        .map(|_| ())
        .map_err(|e| ApiError::internal("audit log", &e))
}
