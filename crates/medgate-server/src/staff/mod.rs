//! The staff desks' module: the sign-in of both staff desks, the operator's desk under
//! `/operator` (tenants with their plans, usage and status; certificates expiring) and the
//! self-service certificate requests. The desks' frame, sign-in check and texts are in
//! `medgate_web::desk`, shared with the administrator's pages of the repository module.

use axum::Router;
use medgate_web::AppState;

pub mod certificates;
pub mod operator;
pub mod signin;

pub use medgate_web::desk::*;

/// The staff desks' sign-in, the operator's desk and the certificate requests of both.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(signin::router())
        .merge(operator::router())
        .merge(certificates::router())
}
