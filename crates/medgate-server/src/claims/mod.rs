//! The claims registers of a territorial OMS fund (`medgate serve --role claims`, Russia,
//! issue 14): the pages of the medical organisations' staff under `/claims` ([`pages`]:
//! the one-time link, sign-in with the first password change forced, the upload of register
//! packages and their format-logical control) and the role's OpenAPI document. The rules are
//! `medgate_claims`'s (`fund`, `intake`); the fund's operator works from the command line
//! (`medgate claims mo|smo|period|user`).

use axum::routing::get;
use axum::Router;
use medgate_web::AppState;

pub mod openapi;
pub mod pages;

/// Largest package a page upload takes: streamed to disk, never held in memory.
pub const MAX_BODY_BYTES: usize = 512 * 1024 * 1024;

/// The routes whose bodies are streamed to disk by their handler (the body guard passes them
/// unread, within [`MAX_BODY_BYTES`]).
pub const STREAMED_UPLOADS: [(&str, &str); 1] = [("POST", pages::UPLOAD_PATH)];

/// The routes of a claims node.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(openapi::document))
}
