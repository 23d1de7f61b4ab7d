//! What a request body may cost the node before anyone knows who sent it.
//!
//! In front of every route, before a handler reads a byte of the body:
//! - a body declared larger than the route's limit is refused with a JSON `413
//!   body_too_large`; one that turns out larger while it is read, likewise;
//! - an API write (`/api/v1/…` with a body) needs a client certificate that the TLS layer
//!   verified and that is neither revoked nor out of its dates *now*: without one the answer
//!   is `401 client_certificate_required` (or the revocation refusal) and the body is never
//!   read;
//! - the bodies being held at any moment share one node-wide budget
//!   ([`medgate_web::budget`]): a request waits for room before its body is read, so
//!   parallel large requests cannot exhaust the memory; and each account (the tenant named
//!   in the certificate) holds at most a share of it, so one clinic's requests cannot take
//!   the room of all others;
//! - the streamed uploads (the module's upload routes, e.g. `POST /api/v1/documents` and
//!   `POST /api/v1/attachments`) pass through after the same checks with their body unread:
//!   the handler streams it to a staged file in `DATA/tmp` within the same limit
//!   ([`medgate_web::streamed`]), so it takes nothing of the memory budget — only what is
//!   actually held in memory counts (a CDA document's copy for its header parse is held
//!   within the budget by its handler); instead it waits, before a byte is read, for room in
//!   the budget of staged files ([`BodyBudget::staging`]: its declared length, or the limit
//!   when sent in chunks), so that parallel uploads cannot fill the data folder;
//! - the pages (forms, sign-in) get a small limit ([`PAGE_MAX_BODY_BYTES`]), since anyone may
//!   post to them.
//!
//! Handlers then authenticate fully (account, signature) as before.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use medgate_web::budget::{BodyBudget, BudgetPermits};
use medgate_web::error::ApiError;
use medgate_web::streamed::too_large;
use medgate_web::PeerInfo;
use crate::revocation::Revocations;

/// The largest body a page (form) accepts; the certificate upload forms stay well below it.
pub const PAGE_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The limits of one router.
#[derive(Clone, Debug)]
pub struct BodyGuard {
    api_max: usize,
    revocations: Arc<Revocations>,
    budget: BodyBudget,
    /// The room staged uploads take on disk.
    staging: BodyBudget,
    /// (method, path) of the routes whose handlers stream the body to disk themselves.
    streamed: &'static [(&'static str, &'static str)],
}

impl BodyGuard {
    /// API bodies up to `api_max` bytes, held within `budget`, except on the `streamed`
    /// routes, whose bodies are left unread for their handlers.
    pub fn new(
        api_max: usize,
        revocations: Arc<Revocations>,
        budget: BodyBudget,
        streamed: &'static [(&'static str, &'static str)],
    ) -> Self {
        BodyGuard {
            api_max,
            revocations,
            budget,
            staging: BodyBudget::staging(),
            streamed,
        }
    }

    fn is_streamed(&self, request: &Request) -> bool {
        let path = request.uri().path();
        self.streamed
            .iter()
            .any(|(method, route)| request.method().as_str() == *method && path == *route)
    }
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/fhir/")
}

fn has_body(request: &Request) -> bool {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) => length > 0,
        None => {
            request.headers().contains_key(header::TRANSFER_ENCODING)
                || !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        }
    }
}

/// The middleware; install with `axum::middleware::from_fn(move |r, n| guard.clone().run(r, n))`.
impl BodyGuard {
    pub async fn run(self, request: Request, next: Next) -> Response {
        let version = request.version();
        let refused = match self.check(&request) {
            Ok(tenant) if has_body(&request) && self.is_streamed(&request) => {
                let expected = match declared_length(&request) {
                    Ok(declared) => declared.map_or(self.api_max, |length| length as usize),
                    Err(error) => return error.into_response(),
                };
                let room = match self.staging.hold(tenant.as_deref(), expected).await {
                    Ok(room) => room,
                    Err(error) => return error.into_response(),
                };
                let mut response = next.run(request).await;
                drop(room);
                if response.status() == StatusCode::PAYLOAD_TOO_LARGE
                    && version < axum::http::Version::HTTP_2
                {
                    // Refused part-way: the handler drained the rest of the body only up to
                    // the limit again, so the HTTP/1.x connection is not reused (as below).
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, header::HeaderValue::from_static("close"));
                }
                return response;
            }
            Ok(tenant) => match self.read(request, tenant).await {
                Ok((request, permit)) => {
                    let response = next.run(request).await;
                    drop(permit);
                    return response;
                }
                Err(error) => (error, None),
            },
            Err(error) => (error, Some(request)),
        };
        let (error, unread) = refused;
        let over_limit = error.code() == "body_too_large";
        let mut response = error.into_response();
        if version < axum::http::Version::HTTP_2 {
            // The body was not read: the HTTP/1.x connection is not reused, so the unread
            // bytes are not taken for the next request.
            response
                .headers_mut()
                .insert(header::CONNECTION, header::HeaderValue::from_static("close"));
            if let (true, Some(request)) = (over_limit, unread) {
                // A client that sends its whole body before reading (curl without
                // `Expect: 100-continue`) would see the connection closed while sending and
                // never read the 413; an authenticated caller's body up to twice the limit
                // is drained — counted and dropped, never held — before the answer.
                drain(request.into_body(), 2 * self.api_max.max(PAGE_MAX_BODY_BYTES)).await;
            }
        } else if let Some(request) = unread {
            // HTTP/2 lets a server answer early and then reset the stream with NO_ERROR, but
            // some clients (curl before 8) take that reset for a failure while they are
            // still sending. A body up to twice the route's limit is therefore drained —
            // counted and dropped, never held — before the answer; a larger one is reset.
            drain(request.into_body(), 2 * self.api_max.max(PAGE_MAX_BODY_BYTES)).await;
        }
        response
    }

    /// Everything that can be decided before a byte of the body is read. Returns the
    /// account the client certificate names, whose share of the budget the body will use.
    fn check(&self, request: &Request) -> Result<Option<String>, ApiError> {
        if !has_body(request) {
            return Ok(None);
        }
        let limit = self.limit(request);
        let declared = declared_length(request)?;
        // The certificate first: only a caller the API would serve learns about the size
        // (and has the rest of an over-limit body drained so that it reads the answer).
        let tenant = if is_api(request.uri().path()) {
            let peer = request
                .extensions()
                .get::<PeerInfo>()
                .ok_or_else(ApiError::client_certificate_required)?;
            let presented = medgate_web::auth::presented_certificate(peer)?;
            presented.usable_now(&self.revocations)?;
            presented.tenant_name.map(|name| name.tenant.as_str().to_owned())
        } else {
            None
        };
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(too_large(limit));
        }
        Ok(tenant)
    }

    fn limit(&self, request: &Request) -> usize {
        // A streamed upload of a page (the claims registers' package upload) has the
        // module's limit: it is written to disk, never held.
        if is_api(request.uri().path()) || self.is_streamed(request) {
            self.api_max
        } else {
            PAGE_MAX_BODY_BYTES
        }
    }

    /// Reads the body within the node-wide budget.
    async fn read(
        &self,
        request: Request,
        tenant: Option<String>,
    ) -> Result<(Request, Option<BudgetPermits>), ApiError> {
        if !has_body(&request) {
            return Ok((request, None));
        }
        let limit = self.limit(&request);
        let declared = declared_length(&request)?;
        // Room in the node-wide budget for the whole body (its declared length, or the limit
        // when it is sent in chunks), held until the answer is made.
        let expected = declared.map_or(limit, |length| length as usize);
        let permit = self.budget.hold(tenant.as_deref(), expected).await?;
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|error| {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
            while let Some(current) = source {
                if current.is::<http_body_util::LengthLimitError>() {
                    return too_large(limit);
                }
                source = current.source();
            }
            ApiError::bad_request(
                "body_unreadable",
                "The request body could not be read completely; send it again.",
            )
        })?;
        Ok((Request::from_parts(parts, Body::from(bytes)), Some(permit)))
    }
}

/// The declared `Content-Length`, if any.
fn declared_length(request: &Request) -> Result<Option<u64>, ApiError> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .map(|v| v.to_str().ok().and_then(|v| v.parse::<u64>().ok()))
        .map(|parsed| {
            parsed.ok_or_else(|| {
                ApiError::bad_request("bad_content_length", "The Content-Length header is not a number.")
            })
        })
        .transpose()
}

/// Reads and drops up to `at_most` bytes of a body, for at most ten seconds.
async fn drain(body: Body, at_most: usize) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut seen = 0usize;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen <= at_most {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    seen += data.len();
                }
            }
            _ => break,
        }
    }
}
