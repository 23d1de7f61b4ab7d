//! The metrics listener: `GET /metrics` (the Prometheus text exposition of
//! `medgate_web::metrics`) and `GET /readyz`, over plain HTTP on `metrics_listen` — an address
//! of its own, never the public TLS port, as Prometheus scrapes it. Off unless configured.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use medgate_web::AppState;
use tokio::net::TcpListener;

/// The metrics listener's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/readyz", get(crate::readiness::readyz))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "not found: this listener serves /metrics and /readyz\n",
            )
        })
        .with_state(state)
}

/// `GET /metrics`: every series, the scrape-time ones read now. A scrape that cannot read
/// them (the database down) is a 503 with the reason, so Prometheus records the target as
/// down rather than stale values.
async fn metrics(State(state): State<AppState>) -> Response {
    match medgate_web::metrics::render(&state).await {
        Ok(text) => (
            [(header::CONTENT_TYPE, medgate_web::metrics::CONTENT_TYPE)],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "metrics scrape failed");
            (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n")).into_response()
        }
    }
}

/// Serves the metrics routes on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, state: AppState) {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "metrics on http://{address}/metrics");
    }
    if let Err(error) = axum::serve(listener, router(state)).await {
        tracing::warn!(%error, "the metrics listener stopped");
    }
}
