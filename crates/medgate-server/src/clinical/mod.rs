//! The national clinical record service (`medgate serve --role clinical`, Hungary): FHIR R4
//! JSON under `/fhir` for practitioners acting for institutions. Every call comes over
//! mutual TLS with an institution certificate issued by this service's CA and recorded for
//! an active institution; every write is signed (RFC 9421) with that certificate's key; a
//! practitioner signs in (`POST /fhir/$login`: user name, password, TOTP code) and every
//! clinical call carries the session (`Authorization: Bearer …`). The rules are
//! `medgate_clinical`'s; `api` parses, makes one domain call and answers; a refusal under
//! `/fhir` is an `OperationOutcome` ([`fhir_refusals`]).
//!
//! `pages` is the clinic's side, served by repository nodes (not by the service): the
//! administrator's settings of the account's connection to the service and the
//! practitioners' desk, which act for the account's institution through the client library.

use axum::routing::{get, post};
use axum::Router;

use medgate_web::AppState;

pub mod api;
pub mod openapi;
pub mod pages;

pub use api::outcome::fhir_refusals;

/// Largest request body the service accepts: a document of
/// [`medgate_clinical::documents::MAX_DOCUMENT_BYTES`] base64-encoded in its
/// DocumentReference, with room for the JSON around it.
pub const MAX_BODY_BYTES: usize = 28 * 1024 * 1024;

/// The routes of the clinical record service.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/probe", post(api::session::probe))
        .route("/fhir/metadata", get(api::capabilities::statement))
        .route("/fhir/$login", post(api::session::login))
        .route("/fhir/$logout", post(api::session::logout))
        .route(
            "/fhir/{type}",
            get(api::resources::search).post(api::resources::create),
        )
        .route(
            "/fhir/{type}/{id}",
            get(api::resources::read)
                .put(api::resources::update)
                .delete(api::resources::delete),
        )
        .route(
            "/fhir/{type}/{id}/{operation}",
            get(api::resources::history).post(api::resources::operation),
        )
}
