//! The node's router, assembled by the host from the modules of its role: the health check,
//! the API routes (a wrong method answered in the API's JSON), the pages, the JSON 404, and
//! the layers every answer passes through (body guard, HSTS, one log line per request).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Method;
use axum::routing::get;
use axum::Router;
use medgate_web::{ApiError, AppState};

use crate::config::Role;

/// The router of a node of `role`.
pub fn router(role: Role, state: AppState) -> Router {
    match role {
        Role::Repository => assemble(
            crate::repository::api::routes(),
            crate::repository::pages::routes()
                .merge(crate::portal::routes())
                .merge(crate::staff::routes())
                .merge(crate::clinical::pages::routes()),
            crate::repository::api::MAX_BODY_BYTES,
            &crate::repository::api::STREAMED_UPLOADS,
            state,
        ),
        Role::Registry => assemble(
            crate::registry::routes(),
            Router::new(),
            crate::registry::MAX_BODY_BYTES,
            &[],
            state,
        ),
        // A FHIR client reads refusals as OperationOutcome resources, including those made
        // before a handler runs (body guard, wrong method, unknown path).
        Role::Clinical => {
            crate::clinical::api::declare_metrics(&state.metrics);
            assemble(
                crate::clinical::routes(),
                crate::clinical::pages::service_routes(),
                crate::clinical::MAX_BODY_BYTES,
                &[],
                state,
            )
            .layer(axum::middleware::from_fn(crate::clinical::fhir_refusals))
        }
        Role::Claims => assemble(
            crate::claims::routes(),
            crate::claims::pages::routes(),
            crate::claims::MAX_BODY_BYTES,
            &crate::claims::STREAMED_UPLOADS,
            state,
        ),
    }
}

/// `api` and `pages` with what every node answers and every answer passes through;
/// `streamed` are the API's upload routes whose handlers stream the body to disk.
fn assemble(
    api: Router<AppState>,
    pages: Router<AppState>,
    max_body: usize,
    streamed: &'static [(&'static str, &'static str)],
    state: AppState,
) -> Router {
    let guard = crate::body_guard::BodyGuard::new(
        max_body,
        state.revocations.clone(),
        state.body_budget.clone(),
        streamed,
    );
    let metrics = state.metrics.clone();
    Router::new()
        .route("/healthz", get(health))
        .route("/readyz", get(crate::readiness::readyz))
        .merge(api)
        // Before the web pages are merged: only the API's routes answer a wrong method in JSON.
        .method_not_allowed_fallback(method_not_allowed)
        .merge(pages)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(move |request, next| guard.clone().run(request, next)))
        .layer(axum::middleware::map_response(strict_transport_security))
        .layer(axum::middleware::from_fn(log_request))
        .layer(axum::middleware::from_fn(move |request, next| {
            count_request(metrics.clone(), request, next)
        }))
        .with_state(state)
}

/// Counts every request in the node's metrics by the route template it matched (a layer of
/// the router, so axum has set `MatchedPath`: `/api/v1/documents/{id}`, never the path
/// itself, which may hold a patient's identifier), its method and status, and times it.
async fn count_request(
    metrics: std::sync::Arc<medgate_web::metrics::Metrics>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or(
            medgate_web::metrics::UNMATCHED_ROUTE.to_owned(),
            |matched| matched.as_str().to_owned(),
        );
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics.request(
        &route,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The `Strict-Transport-Security` value of every answer: a year.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Adds `Strict-Transport-Security` to every answer (pages, API, errors): the node speaks
/// HTTPS only, so a browser that has been here once never tries plain HTTP, where a network
/// attacker could alter pages or plant cookies.
pub(crate) async fn strict_transport_security(
    mut response: axum::response::Response,
) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
    );
    response
}

pub(crate) async fn health() -> &'static str {
    "ok\n"
}

/// The fallbacks read the request's body (within the body limit) before they answer: a
/// connection answered and closed while the client is still sending loses the answer (the
/// client sees the connection reset instead), and one left with unread bytes cannot be kept
/// alive for the client's next request.
pub(crate) async fn not_found(_body: Bytes) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "no_such_route",
        "There is no such API route; see /api/v1/openapi.json.",
    )
}

/// A route that exists, asked with a method it does not take: the API's JSON error (axum
/// adds the `Allow` header naming the methods it takes). Reads the body first, as
/// [`not_found`] does.
pub(crate) async fn method_not_allowed(method: Method, _body: Bytes) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("This API route does not take {method}; see the Allow header and /api/v1/openapi.json."),
    )
}

/// One structured log line per request: method, path, status, time taken. No bodies, no
/// headers (they carry signatures), no query strings (they carry patient identifiers).
pub(crate) async fn log_request(request: Request, next: axum::middleware::Next) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}


#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    #[test]
    fn the_repository_and_registry_apis_do_not_overlap() {
        let registry: serde_json::Value = serde_json::from_str(crate::registry::openapi::OPENAPI_JSON).unwrap();
        let repository: serde_json::Value =
            serde_json::from_str(crate::repository::api::openapi::OPENAPI_JSON).unwrap();
        let shared = ["/healthz", "/readyz", "/api/v1/openapi.json"];
        for path in registry["paths"].as_object().unwrap().keys() {
            if !shared.contains(&path.as_str()) {
                assert!(
                    repository["paths"].get(path).is_none(),
                    "{path} is in both APIs"
                );
            }
        }
    }

}
