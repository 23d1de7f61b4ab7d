//! The OpenAPI 3.1 document of the API, served at `/api/v1/openapi.json`. It is written by
//! hand (assets/openapi.json) rather than generated from annotations; the tests below keep
//! it and the router in step in both directions.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as stored.
pub const OPENAPI_JSON: &str = include_str!("../../assets/openapi.json");

/// `GET /api/v1/openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;

    /// Every `.route("…")` in the router source.
    fn router_paths() -> Vec<String> {
        route_paths_in(include_str!("mod.rs"))
    }

    /// Every path given to `.route(` in a router's source text; the registry's router
    /// test uses it too.
    pub(crate) fn route_paths_in(source: &str) -> Vec<String> {
        let mut paths = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find(".route(") {
            rest = &rest[start + ".route(".len()..];
            let Some(open) = rest.find('"') else { break };
            let after = &rest[open + 1..];
            let Some(close) = after.find('"') else { break };
            paths.push(after[..close].to_owned());
            rest = &after[close..];
        }
        paths
    }

    #[test]
    fn the_document_is_valid_json_and_describes_every_route() {
        let document: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        let documented = document["paths"].as_object().unwrap();
        let routes = router_paths();
        assert!(routes.len() >= 14, "{routes:?}");
        for route in &routes {
            assert!(documented.contains_key(route), "route {route} is not in openapi.json");
        }
        for path in documented.keys() {
            assert!(routes.contains(path), "openapi.json documents {path}, which the router lacks");
        }
    }

    #[test]
    fn every_reference_resolves() {
        let document: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        let text = OPENAPI_JSON;
        for piece in text.split("\"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(schemas.contains_key(name), "unresolved $ref {name}");
        }
    }
}
