//! The tenant administrator's desk under `/admin`: the account panel, the organisational
//! structure, document types, the archive, the consent register and the national
//! credentials.
//!
//! | module | owns |
//! |---|---|
//! | [`account`] | the account panel (the same view as `GET /api/v1/account`) |
//! | [`organisation`] | the organisational structure form |
//! | [`document_types`] | the document types and their archiving policy |
//! | [`archive`] | the archive browser and the document actions |
//! | [`consents`] | the consent register |
//! | [`credentials`] | the national credentials (registry keystores) |
//! | [`certificate_requests`] | self-service certificate requests: the administrator uploads a CSR, the operator's desk issues it |

use axum::Router;
use medgate_web::desk::signin;
use medgate_web::desk::StaffAccounts;
use medgate_web::AppState;

pub mod account;
pub mod archive;
pub mod certificate_requests;
pub mod consents;
pub mod credentials;
pub mod document_types;
pub mod organisation;

pub use medgate_web::desk::admin::{Admin, ADMIN};

/// The administrator's desk: its sign-in and the repository's pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(signin::routes(&ADMIN, &StaffAccounts::Tenant))
        .merge(account::router())
        .merge(credentials::router())
        .merge(organisation::router())
        .merge(document_types::router())
        .merge(archive::router())
        .merge(consents::router())
        .merge(certificate_requests::router())
}
