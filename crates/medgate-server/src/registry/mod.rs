//! The national registry node (`medgate serve --role registry`): repositories register with
//! national certificates issued by the registry's own CA, index their documents' XDS
//! DocumentEntry metadata, and find entries by patient across all repositories. This router
//! is the registry's whole HTTP surface; the repository API is not served here (and the
//! repository router does not serve this one).
//!
//! `entry` builds and checks the DocumentEntry both sides speak (the wire types are
//! `medgate_client::registry::wire`'s); `handlers` the routes.

use axum::routing::{delete, get, post, put};
use axum::Router;

use medgate_web::AppState;

pub mod entry;
pub mod handlers;
pub mod openapi;

/// Largest request body the registry accepts (entries and registrations are small).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The routes of the registry's API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/registry/repositories", post(handlers::register))
        .route(
            "/api/v1/registry/repositories/self",
            delete(handlers::deregister),
        )
        .route("/api/v1/registry/entries", get(handlers::find))
        .route(
            "/api/v1/registry/entries/{unique_id}",
            put(handlers::put_entry).delete(handlers::withdraw_entry),
        )
}
