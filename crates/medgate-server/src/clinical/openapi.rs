//! The clinical record service's OpenAPI 3.1 document, served at `/api/v1/openapi.json` by a
//! clinical node. Written by hand (assets/clinical-openapi.json); the tests keep it and the
//! module's router in step in both directions.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as stored.
pub const OPENAPI_JSON: &str = include_str!("../../assets/clinical-openapi.json");

/// `GET /api/v1/openapi.json` on a clinical node.
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

    fn router_paths() -> Vec<String> {
        let mut paths = route_paths_in(include_str!("mod.rs"));
        paths.push("/healthz".to_owned());
        paths.push("/readyz".to_owned());
        paths
    }

    #[test]
    fn the_document_describes_every_clinical_route_and_no_other() {
        let routes = router_paths();
        assert_eq!(routes.len(), 10, "{routes:?}");
        assert_documents_exactly(OPENAPI_JSON, "clinical-openapi.json", &routes);
    }

    #[test]
    fn every_reference_resolves() {
        assert_references_resolve(OPENAPI_JSON);
    }

    #[test]
    fn every_error_code_the_service_sends_is_in_the_document() {
        let codes: Vec<String> = [
            include_str!("api/mod.rs"),
            include_str!("api/session.rs"),
            include_str!("api/resources.rs"),
        ]
        .iter()
        .flat_map(|source| error_codes_in(source))
        .collect();
        assert!(codes.len() > 5, "{codes:?}");
        for code in codes {
            assert!(
                OPENAPI_JSON.contains(&format!("`{code}`")),
                "error code {code} is not in clinical-openapi.json"
            );
        }
    }

    #[test]
    fn every_domain_error_code_is_in_the_document() {
        for code in [
            "invalid_resource",
            "invalid_identifier",
            "unsupported_resource_type",
            "wrong_credentials",
            "wrong_one_time_code",
            "one_time_code_reused",
            "signin_locked",
            "practitioner_suspended",
            "institution_not_active",
            "not_in_matrix",
            "session_unknown",
            "session_expired",
            "session_of_another_institution",
            "already_registered",
            "not_registered",
            "not_found",
            "deleted",
            "version_conflict",
            "not_owner",
            "encounter_not_open",
            "referral_consumed",
            "referral_not_issued",
            "restricted",
            "break_glass_reason_missing",
            "storage_error",
            "internal_error",
        ] {
            assert!(
                OPENAPI_JSON.contains(&format!("`{code}`")),
                "domain code {code} is not in clinical-openapi.json"
            );
        }
    }
}
