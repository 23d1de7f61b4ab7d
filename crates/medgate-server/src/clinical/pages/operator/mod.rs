//! The clinical record service's operator pages (`--role clinical`, under `/operator`,
//! Hungarian and English): what `medgate clinical …` does, on pages. The operators are the
//! node's staff accounts (`medgate operator user create --data …`), signing in through the
//! foundation's staff flow (password, lock-out, CSRF, sessions: `medgate_web::desk::signin`).
//!
//! | module | owns |
//! |---|---|
//! | [`institutions`] | institutions (6 digits) with their units (9 digits), suspension, their certificates (issued here: PKCS#12 handed out once with its one-time code) and the connection check (the signed report checked as `medgate clinical connection verified --report` does) |
//! | [`practitioners`] | practitioners (stamp number, 5 digits; the TOTP secret shown once as an `otpauth://` URI and a QR code), suspension |
//! | [`matrix`] | the authorisation matrix: grant and revoke lines |
//! | `words` | the texts |
//!
//! The rules are `medgate_clinical::admin`'s; every change is audited there with the actor
//! `operator:<login>`.

use axum::response::Response;
use axum::Router;
use medgate_clinical::{ClinicalError, ErrorKind};
use medgate_storage::WebSession;
use medgate_web::desk::frame::forged_page;
use medgate_web::desk::{signin, Desk, DeskUser, Frame, PageResult, Staff, StaffAccounts, Tab};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::session::SessionPolicy;
use medgate_web::{AppState, Form, WebRequest};

pub mod institutions;
pub mod matrix;
pub mod practitioners;
mod words;

use words::O;

/// The operators' desk of the clinical record service.
pub const SERVICE_OPERATOR: Desk = Desk {
    kind: medgate_storage::StaffScope::OPERATOR_SESSIONS,
    base: "/operator",
    home: "/operator/institutions",
    // 15 minutes idle, 8 hours at most (as the repository's operators).
    policy: SessionPolicy {
        idle: time::Duration::minutes(15),
        absolute: time::Duration::hours(8),
    },
    site: |lang| O::Site.text(lang),
    langs: Lang::HUNGARIAN_DESK,
    tabs: &[
        Tab {
            href: "/operator/institutions",
            label: |lang| O::NavInstitutions.text(lang),
        },
        Tab {
            href: "/operator/practitioners",
            label: |lang| O::NavPractitioners.text(lang),
        },
        Tab {
            href: "/operator/matrix",
            label: |lang| O::NavMatrix.text(lang),
        },
        Tab {
            href: "/operator/certificates",
            label: |lang| O::NavCertificates.text(lang),
        },
    ],
    audit_prefix: "operator",
    sign_in_intro: |lang| O::SignInIntro.text(lang),
    sign_in_failed: |lang| O::SignInFailed.text(lang),
};

/// A signed-in operator of the service.
pub struct ServiceOperator {
    pub staff: Staff,
}

impl DeskUser for ServiceOperator {
    const DESK: &'static Desk = &SERVICE_OPERATOR;

    async fn from_session(
        state: &AppState,
        request: &WebRequest,
        session: WebSession,
    ) -> PageResult<ServiceOperator> {
        Ok(ServiceOperator {
            staff: Staff::of_session(
                state,
                request,
                &SERVICE_OPERATOR,
                StaffAccounts::Node,
                session,
            )
            .await?,
        })
    }
}

impl ServiceOperator {
    pub fn frame(&self, request: &WebRequest, title: impl Into<String>) -> Frame {
        self.staff
            .frame(request, title, self.staff.user.login.to_string())
    }

    /// The POST's form when it is genuine (this session's token, this server's origin);
    /// else the "form expired" page.
    pub fn genuine_form(&self, request: &WebRequest, body: &[u8]) -> PageResult<Form> {
        medgate_web::desk::genuine_form(request, body, &self.staff.session.csrf_secret, || {
            self.forged(request)
        })
    }

    pub fn forged(&self, request: &WebRequest) -> Response {
        forged_page(self.frame(request, O::ErrorTitle.text(request.lang)))
    }

    /// Who acts, for the domain's audit entries: `operator:<login>` from the request's
    /// address.
    pub fn acting(&self, request: &WebRequest) -> medgate_clinical::admin::Operator {
        medgate_clinical::admin::Operator {
            name: self.staff.actor(),
            origin: request.origin(),
        }
    }

    pub fn csrf(&self) -> &str {
        &self.staff.session.csrf_secret
    }
}

/// The request as the desk hears it: Hungarian (its default) or English.
fn hungarian(request: WebRequest) -> WebRequest {
    request.speaking(SERVICE_OPERATOR.langs)
}

/// A refusal of the domain as the sentence the page shows (its rule named), or the failure
/// the error page shows (a store failure: a reference to the log line, no cause).
fn refusal(lang: Lang, error: ClinicalError) -> Result<String, ApiError> {
    if error.kind() == ErrorKind::Internal {
        return Err(ApiError::internal("clinical record service", &error));
    }
    Ok(words::refusal(lang, &error))
}

/// The service's operator pages with their sign-in.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(signin::routes(&SERVICE_OPERATOR, &StaffAccounts::Node))
        .merge(institutions::router())
        .merge(practitioners::router())
        .merge(matrix::router())
}
