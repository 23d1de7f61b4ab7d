//! Refusals under `/fhir` as FHIR `OperationOutcome` resources, as a FHIR client expects
//! them: the issue's `code` from the FHIR issue-type value set chosen by the HTTP status,
//! `diagnostics` the sentence, and our stable error code in `details.coding` (system
//! [`ERROR_CODE_SYSTEM`]), so a program can still tell one refusal from another.
//!
//! It is a layer over the whole node of the clinical role, so the refusals made before a
//! handler runs (the body guard, a wrong method, an unknown path) are outcomes too. It changes
//! only answers of 400 and above whose body is the API's JSON error; everything else passes
//! untouched, and the OpenAPI document and `/healthz` keep their JSON.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};

use super::FHIR_JSON;

/// The code system of medgate's own error codes in an outcome's `details`.
pub const ERROR_CODE_SYSTEM: &str = "urn:medgate:error-code";

/// The API's JSON errors are a code and a sentence; anything larger is not one of them.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The FHIR issue type (http://hl7.org/fhir/valueset-issue-type.html) of a refusal's status.
fn issue_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "invalid",
        401 => "login",
        403 => "forbidden",
        404 => "not-found",
        405 | 406 | 415 => "not-supported",
        409 | 412 => "conflict",
        410 => "deleted",
        413 => "too-costly",
        429 => "throttled",
        500..=599 => "exception",
        _ => "processing",
    }
}

/// The outcome telling `message`, with our `code` in its details.
pub fn operation_outcome(status: StatusCode, code: &str, message: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": if status.is_server_error() { "fatal" } else { "error" },
            "code": issue_type(status),
            "details": {
                "coding": [{ "system": ERROR_CODE_SYSTEM, "code": code }],
                "text": message
            },
            "diagnostics": message
        }]
    })
}

/// The layer: a refusal to a `/fhir` request, answered in the API's JSON, becomes an outcome.
pub async fn fhir_refusals(request: Request, next: Next) -> Response {
    let fhir = request.uri().path().starts_with("/fhir");
    let response = next.run(request).await;
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !fhir || !json || status.as_u16() < 400 {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        // Not an error body of ours; it cannot be told again, so say the status alone.
        let outcome = operation_outcome(status, "unreadable_error", status.as_str());
        return fhir_answer(parts, &outcome);
    };
    let error: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let (Some(code), Some(message)) = (
        error.get("code").and_then(Value::as_str),
        error.get("message").and_then(Value::as_str),
    ) else {
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(bytes));
    };
    let outcome = operation_outcome(status, code, message);
    fhir_answer(parts, &outcome)
}

fn fhir_answer(mut parts: axum::http::response::Parts, outcome: &Value) -> Response {
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    Response::from_parts(parts, Body::from(outcome.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_carries_the_issue_type_the_sentence_and_our_code() {
        let outcome = operation_outcome(
            StatusCode::FORBIDDEN,
            "not_the_creating_institution",
            "Only the institution that created Condition/1 may delete it.",
        );
        let issue = &outcome["issue"][0];
        assert_eq!(issue["severity"], "error");
        assert_eq!(issue["code"], "forbidden");
        assert_eq!(issue["details"]["coding"][0]["code"], "not_the_creating_institution");
        assert_eq!(issue["details"]["coding"][0]["system"], ERROR_CODE_SYSTEM);
        assert!(issue["diagnostics"].as_str().is_some_and(|text| text.contains("Condition/1")));
    }

    #[test]
    fn statuses_map_to_fhir_issue_types() {
        assert_eq!(issue_type(StatusCode::UNAUTHORIZED), "login");
        assert_eq!(issue_type(StatusCode::NOT_FOUND), "not-found");
        assert_eq!(issue_type(StatusCode::GONE), "deleted");
        assert_eq!(issue_type(StatusCode::PRECONDITION_FAILED), "conflict");
        assert_eq!(issue_type(StatusCode::PAYLOAD_TOO_LARGE), "too-costly");
        assert_eq!(issue_type(StatusCode::INTERNAL_SERVER_ERROR), "exception");
        assert_eq!(operation_outcome(StatusCode::BAD_GATEWAY, "x", "y")["issue"][0]["severity"], "fatal");
    }
}
