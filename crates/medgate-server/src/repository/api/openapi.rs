//! The OpenAPI 3.1 document of the API, served at `/api/v1/openapi.json`. It is written by
//! hand (assets/openapi.json) rather than generated from annotations; the tests below keep
//! it and the router in step in both directions.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as stored.
pub const OPENAPI_JSON: &str = include_str!("../../../assets/openapi.json");

/// `GET /api/v1/openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;
    use medgate_web::openapi::{
        assert_documents_exactly, assert_references_resolve, error_codes_in, route_paths_in,
    };

    /// Every `.route("…")` in the module's routes, and the health check the host adds to
    /// every node.
    fn router_paths() -> Vec<String> {
        let mut paths = route_paths_in(include_str!("mod.rs"));
        paths.push("/healthz".to_owned());
        paths.push("/readyz".to_owned());
        paths
    }

    #[test]
    fn the_document_is_valid_json_and_describes_every_route() {
        let routes = router_paths();
        assert!(routes.len() >= 14, "{routes:?}");
        assert_documents_exactly(OPENAPI_JSON, "openapi.json", &routes);
    }

    #[test]
    fn every_reference_resolves() {
        assert_references_resolve(OPENAPI_JSON);
    }

    /// A response or parameter with its `$ref` followed.
    fn resolved<'a>(document: &'a serde_json::Value, value: &'a serde_json::Value) -> &'a serde_json::Value {
        match value["$ref"].as_str() {
            Some(reference) => document
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{reference}")),
            None => value,
        }
    }

    /// Operations anyone may call without an account: the health and readiness checks, this document, the
    /// connection probe (which reports what it saw instead of refusing) and the FHIR
    /// CapabilityStatement (which FHIR clients ask first).
    pub(crate) const PUBLIC: [(&str, &str); 5] = [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/api/v1/openapi.json", "get"),
        ("/api/v1/probe", "post"),
        ("/fhir/metadata", "get"),
    ];

    #[test]
    fn every_authenticated_operation_states_the_refusals_every_caller_can_meet() {
        let document: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if PUBLIC.contains(&(path.as_str(), method.as_str())) {
                    assert_eq!(operation["security"], serde_json::json!([]), "{method} {path}");
                    continue;
                }
                let responses = operation["responses"].as_object().unwrap();
                for status in ["400", "401", "403", "500", "503"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
                let parameters: Vec<String> = operation["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| resolved(&document, p)["name"].as_str().unwrap().to_owned())
                    .collect();
                assert!(parameters.contains(&"medgate-tenant".to_owned()), "{method} {path}");
                let signed = method != "get";
                for header in ["Signature-Input", "Signature", "Content-Digest"] {
                    assert_eq!(parameters.contains(&header.to_owned()), signed, "{method} {path}: {header}");
                }
                // Every body is read whole, so every write can be too large.
                assert_eq!(responses.contains_key("413"), signed, "{method} {path}: 413");
            }
        }
    }

    #[test]
    fn every_error_code_the_api_sends_is_in_the_document() {
        let sources = [
            include_str!("../../../../medgate-web/src/auth.rs"),
            include_str!("../../../../medgate-web/src/error.rs"),
            include_str!("../../router.rs"),
            include_str!("account.rs"),
            include_str!("admin_users.rs"),
            include_str!("audit_log.rs"),
            include_str!("consents.rs"),
            include_str!("documents.rs"),
            include_str!("fhir.rs"),
            include_str!("national.rs"),
            include_str!("organisation.rs"),
        ];
        let codes: Vec<String> = sources.iter().flat_map(|source| error_codes_in(source)).collect();
        assert!(codes.len() > 40, "{codes:?}");
        for code in codes {
            assert!(OPENAPI_JSON.contains(&format!("`{code}`")), "error code {code} is not in openapi.json");
        }
    }

    #[test]
    fn every_refusal_has_the_error_body() {
        let document: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for (status, response) in operation["responses"].as_object().unwrap() {
                    if !status.starts_with('4') && !status.starts_with('5') {
                        continue;
                    }
                    let content = resolved(&document, response)["content"].as_object().unwrap();
                    assert_eq!(content.len(), 1, "{method} {path} {status}");
                    let (media, body) = content.iter().next().unwrap();
                    let schema = body["schema"]["$ref"].as_str().unwrap_or_default();
                    let expected: &[&str] = if path.starts_with("/fhir/") {
                        &["#/components/schemas/OperationOutcome"]
                    } else if path == "/readyz" {
                        // Not a refusal: the checks, as when ready.
                        &["#/components/schemas/Readiness"]
                    } else {
                        &["#/components/schemas/Error", "#/components/schemas/OrganisationErrors"]
                    };
                    assert!(expected.contains(&schema), "{method} {path} {status}: {schema}");
                    let expected_media = if path.starts_with("/fhir/") { "application/fhir+json" } else { "application/json" };
                    assert_eq!(media, expected_media, "{method} {path} {status}");
                }
            }
        }
    }
}
