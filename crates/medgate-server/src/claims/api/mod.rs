//! The API of the MOs' information systems (seed items 9, 17, 18): what the pages do, done
//! by a machine. Every call comes over mutual TLS with a certificate the fund's operator
//! issued from this node's CA for the MO's system (`medgate claims mo certificate issue`),
//! recorded, not revoked, within its dates ([`system`]); a push is signed (RFC 9421) with
//! that certificate's key over the streamed body's digest. A system sees its own MO's
//! packages only: another MO's id is not found. Handlers are in [`packages`].

use axum::http::StatusCode;
use medgate_claims::intake::Uploader;
use medgate_claims::FundError;
use medgate_storage::AuditOrigin;
use medgate_web::api::Incoming;
use medgate_web::auth::{self, Presented};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

mod packages;

pub use packages::{
    list_packages, package_findings, package_protocol, package_status, push_package, PACKAGES_PATH,
};

/// An MO's information system calling with its certificate, checked.
pub struct System {
    pub uploader: Uploader,
    pub presented: Presented,
}

/// The one mapping of the fund service's refusals to the API's answers; a failure of ours
/// is logged and told without its cause.
pub fn refusal(error: FundError) -> ApiError {
    let status = match &error {
        FundError::Invalid { .. } => StatusCode::BAD_REQUEST,
        FundError::NotRegistered { .. } => StatusCode::NOT_FOUND,
        FundError::AlreadyRegistered { .. } | FundError::PeriodClosed { .. } => {
            StatusCode::CONFLICT
        }
        FundError::CertificateRefused { .. } => StatusCode::FORBIDDEN,
        _ => return ApiError::internal("the claims service", &error),
    };
    ApiError::new(status, error.code(), error.to_string())
}

/// The calling system: a client certificate issued by this node's CA, not revoked, within
/// its dates, and recorded for an MO's information system.
pub async fn system(state: &AppState, incoming: &Incoming) -> Result<System, ApiError> {
    let presented = auth::presented_certificate(&incoming.peer).map_err(|error| {
        if error.code() == "client_certificate_required" {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "client_certificate_required",
                "The claims API needs the MO system's certificate issued by the fund (medgate claims mo certificate issue), presented over TLS.",
            )
        } else {
            error
        }
    })?;
    if !medgate_pki::check::issued_by(&presented.certificate, state.ca.certificate()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "certificate_not_from_fund_ca",
            format!(
                "The client certificate {} was not issued by this fund's CA; ask the fund's operator for an MO system certificate.",
                presented.serial_hex
            ),
        ));
    }
    presented.usable_now(&state.revocations)?;
    let uploader = medgate_claims::systems::system_of_certificate(
        &state.metadata,
        &presented.serial_hex,
        AuditOrigin::Address(incoming.peer.address.ip()),
        state.clock.now(),
    )
    .await
    .map_err(refusal)?;
    Ok(System {
        uploader,
        presented,
    })
}
