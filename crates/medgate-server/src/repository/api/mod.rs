//! The repository's API: every route under `/api/v1`, the FHIR facade under `/fhir` and the
//! OpenAPI document. Handlers are short: authenticate, make one call to the repository domain
//! (`medgate-repository`), shape JSON; a refusal goes through `crate::repository::refused`.

use axum::routing::{get, post, put};
use axum::Router;
use medgate_web::AppState;

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

/// The upload routes, as (method, path): their handlers stream the body to a staged file
/// (`medgate_web::streamed`) instead of having the host's body guard buffer it.
pub const STREAMED_UPLOADS: [(&str, &str); 3] = [
    ("POST", "/api/v1/documents"),
    ("POST", "/api/v1/documents/batch"),
    ("POST", "/api/v1/attachments"),
];

/// The routes of the repository's API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/probe", post(account::probe))
        .route("/api/v1/account", get(account::show))
        .route("/api/v1/account/activate", post(account::activate))
        .route("/api/v1/account/certificates", put(account::update_certificates))
        .route("/api/v1/account/admin-users", post(admin_users::create))
        .route("/api/v1/documents", post(documents::put_document).get(documents::search))
        .route("/api/v1/documents/batch", post(documents::put_batch))
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
        .route("/fhir/metadata", get(fhir::capability_statement).fallback(fhir::method_not_allowed))
        .route(
            "/fhir/DocumentReference",
            get(fhir::search_document_references).fallback(fhir::method_not_allowed),
        )
        .route(
            "/fhir/DocumentReference/{id}",
            get(fhir::read_document_reference).fallback(fhir::method_not_allowed),
        )
        .route("/fhir/Binary/{id}", get(fhir::read_binary).fallback(fhir::method_not_allowed))
        .merge(fhir::unsupported())
}
