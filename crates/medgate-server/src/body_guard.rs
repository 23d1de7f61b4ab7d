//! What a request body may cost the node before anyone knows who sent it.
//!
//! In front of every route, before a handler reads a byte of the body:
//! - a body declared larger than the route's limit is refused with a JSON `413
//!   body_too_large`; one that turns out larger while it is read, likewise;
//! - an API write (`/api/v1/…` with a body) needs a client certificate that the TLS layer
//!   verified and that is neither revoked nor out of its dates *now*: without one the answer
//!   is `401 client_certificate_required` (or the revocation refusal) and the body is never
//!   read;
//! - the bodies being held at any moment share one node-wide budget ([`BODY_BUDGET_BYTES`]):
//!   a request waits for room before its body is read, so parallel large uploads cannot
//!   exhaust the memory; and each account (the tenant named in the certificate) holds at
//!   most [`TENANT_BUDGET_BYTES`] of it, so one clinic's uploads cannot take the room of all
//!   others;
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
use tokio::sync::Semaphore;

use medgate_web::error::ApiError;
use medgate_web::PeerInfo;
use crate::revocation::Revocations;

/// The largest body a page (form) accepts; the certificate upload forms stay well below it.
pub const PAGE_MAX_BODY_BYTES: usize = 1024 * 1024;
/// How many body bytes the node holds at once, over all requests.
pub const BODY_BUDGET_BYTES: usize = 256 * 1024 * 1024;
/// How many body bytes one account holds at once.
pub const TENANT_BUDGET_BYTES: usize = 96 * 1024 * 1024;
/// The budget is counted in units of this many bytes (a semaphore counts in `u32`).
const BUDGET_UNIT: usize = 1024;

/// The limits of one router.
#[derive(Clone, Debug)]
pub struct BodyGuard {
    api_max: usize,
    revocations: Arc<Revocations>,
    budget: Arc<Semaphore>,
    tenants: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<Semaphore>>>>,
}

impl BodyGuard {
    /// API bodies up to `api_max` bytes.
    pub fn new(api_max: usize, revocations: Arc<Revocations>) -> Self {
        BodyGuard {
            api_max,
            revocations,
            budget: Arc::new(Semaphore::new(BODY_BUDGET_BYTES / BUDGET_UNIT)),
            tenants: Arc::default(),
        }
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "The request body is larger than this route accepts ({} bytes at most); nothing was stored.",
            limit
        ),
    )
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
        let mut response = error.into_response();
        if version < axum::http::Version::HTTP_2 {
            // The body was not read: the HTTP/1.x connection is not reused, so the unread
            // bytes are not taken for the next request.
            response
                .headers_mut()
                .insert(header::CONNECTION, header::HeaderValue::from_static("close"));
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
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(too_large(limit));
        }
        if !is_api(request.uri().path()) {
            return Ok(None);
        }
        let peer = request
            .extensions()
            .get::<PeerInfo>()
            .ok_or_else(ApiError::client_certificate_required)?;
        let presented = medgate_web::auth::presented_certificate(peer)?;
        presented.usable_now(&self.revocations)?;
        Ok(presented.tenant_name.map(|name| name.tenant.as_str().to_owned()))
    }

    fn limit(&self, request: &Request) -> usize {
        if is_api(request.uri().path()) {
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
    ) -> Result<(Request, Option<Permits>), ApiError> {
        if !has_body(&request) {
            return Ok((request, None));
        }
        let limit = self.limit(&request);
        let declared = declared_length(&request)?;
        // Room in the node-wide budget for the whole body (its declared length, or the limit
        // when it is sent in chunks), held until the answer is made.
        let expected = declared.map_or(limit, |length| length as usize);
        let units = expected.div_ceil(BUDGET_UNIT).clamp(1, TENANT_BUDGET_BYTES / BUDGET_UNIT) as u32;
        // The account's share first (waiting there holds nothing of the node's budget).
        let tenant_permit = match tenant {
            Some(tenant) => Some(
                self.tenant_budget(&tenant)
                    .acquire_many_owned(units)
                    .await
                    .map_err(|e| ApiError::internal("body budget", &e))?,
            ),
            None => None,
        };
        let node_permit = self
            .budget
            .clone()
            .acquire_many_owned(units)
            .await
            .map_err(|e| ApiError::internal("body budget", &e))?;
        let permit = Permits {
            _node: node_permit,
            _tenant: tenant_permit,
        };
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

/// Room held in the node's and the account's budgets while a body is in use (given back
/// when dropped).
pub struct Permits {
    _node: tokio::sync::OwnedSemaphorePermit,
    _tenant: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl BodyGuard {
    fn tenant_budget(&self, tenant: &str) -> Arc<Semaphore> {
        let mut tenants = self
            .tenants
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Budgets nobody holds now are forgotten, so the map stays as small as the number
        // of accounts uploading at this moment.
        if tenants.len() > 1024 {
            tenants.retain(|_, budget| Arc::strong_count(budget) > 1);
        }
        tenants
            .entry(tenant.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(TENANT_BUDGET_BYTES / BUDGET_UNIT)))
            .clone()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn one_account_cannot_take_the_whole_node_budget() {
        let guard = BodyGuard::new(64 * 1024 * 1024, Arc::new(Revocations::new()));
        let units = |bytes: usize| (bytes / BUDGET_UNIT) as u32;
        let busy = guard.tenant_budget("0000000000005010");
        let _held = busy.clone().acquire_many_owned(units(TENANT_BUDGET_BYTES)).await.unwrap();
        // The same account waits for room; another account does not.
        assert!(guard.tenant_budget("0000000000005010").try_acquire_many_owned(1).is_err());
        assert!(guard.tenant_budget("0000000000005011").try_acquire_many_owned(units(TENANT_BUDGET_BYTES)).is_ok());
        const { assert!(TENANT_BUDGET_BYTES < BODY_BUDGET_BYTES) };
    }
}
