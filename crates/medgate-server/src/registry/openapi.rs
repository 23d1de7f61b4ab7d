//! The registry's OpenAPI 3.1 document, served at `/api/v1/openapi.json` by a registry node.
//! Written by hand (assets/registry-openapi.json); the tests keep it and the registry router
//! in step in both directions.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as stored.
pub const OPENAPI_JSON: &str = include_str!("../../assets/registry-openapi.json");

/// `GET /api/v1/openapi.json` on a registry node.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use medgate_web::openapi::{
        assert_documents_exactly, assert_references_resolve, error_codes_in, route_paths_in,
    };

    /// Every `.route("…")` in the registry's routes, and the health check the host adds
    /// to every node.
    fn router_paths() -> Vec<String> {
        let mut paths = route_paths_in(include_str!("mod.rs"));
        paths.push("/healthz".to_owned());
        paths.push("/readyz".to_owned());
        paths
    }

    #[test]
    fn the_document_describes_every_registry_route_and_no_other() {
        let routes = router_paths();
        assert_eq!(routes.len(), 7, "{routes:?}");
        assert_documents_exactly(OPENAPI_JSON, "registry-openapi.json", &routes);
    }

    #[test]
    fn every_reference_resolves() {
        assert_references_resolve(OPENAPI_JSON);
    }

    #[test]
    fn every_error_code_the_registry_sends_is_in_the_document() {
        let codes: Vec<String> = [include_str!("handlers.rs"), include_str!("entry.rs")]
            .iter()
            .flat_map(|source| error_codes_in(source))
            // Field names given to the entry's `bad(field, …)`, not codes.
            .filter(|code| !["hash", "sha256", "size"].contains(&code.as_str()))
            .collect();
        assert!(codes.len() > 15, "{codes:?}");
        for code in codes {
            assert!(OPENAPI_JSON.contains(&format!("`{code}`")), "error code {code} is not in registry-openapi.json");
        }
    }
}
