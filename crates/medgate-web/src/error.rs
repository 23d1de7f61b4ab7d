//! The API's one error type. Each variant has a stable `code`, an HTTP status and a sentence
//! telling the client what to do — seed 000's support catalogue (400 for a certificate of
//! the wrong kind or tenant, 403 for an unregistered certificate, ...). Internal details
//! are logged with a reference and never sent to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A refusal or failure as the client sees it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with a status, a stable code and a sentence for the user.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// The stable code, e.g. `certificate_not_registered`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The sentence for the user.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A failure of ours: logged in full with a reference, sent as a generic sentence.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        let reference = reference();
        tracing::error!(%reference, context, %error, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("The server could not complete the request; quote reference {reference} to the operator."),
        )
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 with the same words whether the thing does not exist or belongs to another
    /// tenant, so that a tenant cannot learn what others hold.
    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No {what} with that identifier exists in this account."),
        )
    }

    /// No client certificate was presented on an API route.
    pub fn client_certificate_required() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "client_certificate_required",
            "This API needs the account's TLS client certificate; configure --tls-cert and --tls-key.",
        )
    }
}

/// A short random reference that ties a client's error to the server log line.
fn reference() -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 6];
    // A failing random source only makes the reference less unique.
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes);
    hex::encode(bytes)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&Body {
            code: self.code,
            message: &self.message,
        })
        .unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status.as_u16(), self.code, self.message)
    }
}
