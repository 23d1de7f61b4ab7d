//! The fund operator's pages on a claims node (`/operator`, Russian by default and English):
//! what `medgate claims mo|smo|period|user` and `claims mo certificate` do, on pages. The
//! operators are the node's staff accounts (`medgate operator user create --data …`), signing
//! in through the foundation's staff flow (password, lock-out, CSRF, sessions).
//!
//! | module | owns |
//! |---|---|
//! | [`registry`] | medical organisations with their subdivisions, insurers, reporting periods (opened and closed) |
//! | [`access`] | the MO staff's logins with a new one-time link, the MO systems' certificates with their issue and revocation |
//! | `words` | the texts |
//!
//! The rules are `medgate_claims`'s (`fund`, `systems`); every change is audited there with
//! the actor `operator:<login>`.

use axum::http::StatusCode;
use axum::response::Response;
use axum::Router;
use medgate_claims::fund::Actor;
use medgate_claims::FundError;
use medgate_storage::WebSession;
use medgate_web::desk::frame::forged_page;
use medgate_web::desk::{signin, Desk, DeskUser, Frame, PageResult, Staff, StaffAccounts, Tab};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{message, MessageKind};
use medgate_web::session::SessionPolicy;
use medgate_web::{AppState, Form, WebRequest};

pub mod access;
pub mod registry;
mod words;

use words::O;

/// The fund operators' desk.
pub const FUND_OPERATOR: Desk = Desk {
    kind: medgate_storage::StaffScope::OPERATOR_SESSIONS,
    base: "/operator",
    home: "/operator/registry",
    // 15 minutes idle, 8 hours at most (as the other operators' desks).
    policy: SessionPolicy {
        idle: time::Duration::minutes(15),
        absolute: time::Duration::hours(8),
    },
    site: |lang| O::Site.text(lang),
    langs: Lang::RUSSIAN_DESK,
    tabs: &[
        Tab {
            href: "/operator/registry",
            label: |lang| O::NavRegistry.text(lang),
        },
        Tab {
            href: "/operator/logins",
            label: |lang| O::NavLogins.text(lang),
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

/// A signed-in operator of the fund.
pub struct FundOperator {
    pub staff: Staff,
}

impl DeskUser for FundOperator {
    const DESK: &'static Desk = &FUND_OPERATOR;

    async fn from_session(
        state: &AppState,
        request: &WebRequest,
        session: WebSession,
    ) -> PageResult<FundOperator> {
        Ok(FundOperator {
            staff: Staff::of_session(state, request, &FUND_OPERATOR, StaffAccounts::Node, session)
                .await?,
        })
    }
}

impl FundOperator {
    pub fn frame(&self, request: &WebRequest, title: impl Into<String>, path: &str) -> Frame {
        let mut frame = self
            .staff
            .frame(request, title, self.staff.user.login.to_string());
        frame.path = path.to_owned();
        frame
    }

    /// The POST's form when it is genuine; else the "form expired" page.
    pub fn genuine_form(&self, request: &WebRequest, body: &[u8]) -> PageResult<Form> {
        medgate_web::desk::genuine_form(request, body, &self.staff.session.csrf_secret, || {
            forged_page(self.frame(
                request,
                O::ErrorTitle.text(request.lang),
                request.uri.path(),
            ))
        })
    }

    /// Who acts, for the domain's audit entries: `operator:<login>`.
    pub fn acting(&self, request: &WebRequest) -> Actor {
        Actor {
            name: self.staff.actor(),
            origin: request.origin(),
        }
    }

    pub fn csrf(&self) -> &str {
        &self.staff.session.csrf_secret
    }
}

/// The request as the desk hears it: Russian (its default) or English.
fn russian(request: WebRequest) -> WebRequest {
    request.speaking(FUND_OPERATOR.langs)
}

/// A refusal of the fund's service as the page shows it (status and the sentence naming the
/// rule); a store failure is the error page's (no cause shown).
fn refused(lang: Lang, error: FundError) -> Result<(StatusCode, String), ApiError> {
    let status = match &error {
        FundError::Invalid { .. } | FundError::CertificateRefused { .. } => StatusCode::BAD_REQUEST,
        FundError::NotRegistered { .. } => StatusCode::NOT_FOUND,
        FundError::AlreadyRegistered { .. } | FundError::PeriodClosed { .. } => {
            StatusCode::CONFLICT
        }
        _ => return Err(ApiError::internal("the claims service", &error)),
    };
    Ok((
        status,
        message(
            MessageKind::Error,
            &format!(
                "{} {}",
                O::Refused.text(lang),
                match lang {
                    Lang::Ru => error.russian(),
                    _ => error.to_string(),
                }
            ),
        ),
    ))
}

/// The notice of a `?done=saved` redirect after a change.
fn done_notice(request: &WebRequest) -> String {
    match request.query("done").as_deref() {
        Some("saved") => medgate_web::desk::notice("ok", O::Saved.text(request.lang)),
        _ => String::new(),
    }
}

fn respond(request: &WebRequest, outcome: PageResult) -> Response {
    medgate_web::desk::respond(&FUND_OPERATOR, request, outcome)
}

/// The fund operator's pages with their sign-in.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(signin::routes(&FUND_OPERATOR, &StaffAccounts::Node))
        .merge(registry::router())
        .merge(access::router())
}
