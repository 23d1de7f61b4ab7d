//! The claims node's OpenAPI 3.1 document, served at `/api/v1/openapi.json`. Written by hand
//! (assets/claims-openapi.json); the tests keep it and the module's router in step.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as stored.
pub const OPENAPI_JSON: &str = include_str!("../../assets/claims-openapi.json");

/// `GET /api/v1/openapi.json` on a claims node.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use medgate_web::openapi::{
        assert_documents_exactly, assert_references_resolve, route_paths_in,
    };

    #[test]
    fn the_document_describes_every_claims_api_route_and_no_other() {
        let mut routes = route_paths_in(include_str!("mod.rs"));
        routes.push("/healthz".to_owned());
        routes.push("/readyz".to_owned());
        assert_eq!(routes.len(), 7, "{routes:?}");
        assert_documents_exactly(OPENAPI_JSON, "claims-openapi.json", &routes);
    }

    #[test]
    fn every_reference_resolves() {
        assert_references_resolve(OPENAPI_JSON);
    }
}
