//! The operator's desk under `/operator`: tenants with their plans, usage and status;
//! certificates expiring; the queue of self-service certificate requests. The desk's frame,
//! sign-in flow and texts are the web foundation's (`medgate_web::desk`).

use axum::response::Response;
use axum::Router;
use medgate_ids::TenantId;
use medgate_web::desk::frame::forged_page;
use medgate_web::desk::text::T;
use medgate_storage::WebSession;
use medgate_web::desk::{
    append_audit, signin, Desk, DeskUser, Frame, PageResult, Staff, StaffAccounts, Tab,
};
use medgate_web::error::ApiError;
use medgate_web::session::SessionPolicy;
use medgate_web::{AppState, Form, WebRequest};

pub mod certificates;
pub mod operator;

/// The operators' desk.
pub const OPERATOR: Desk = Desk {
    kind: medgate_storage::StaffScope::OPERATOR_SESSIONS,
    base: "/operator",
    home: "/operator/tenants",
    // 15 minutes idle, 8 hours at most.
    policy: SessionPolicy {
        idle: time::Duration::minutes(15),
        absolute: time::Duration::hours(8),
    },
    site: |lang| T::OperatorSite.text(lang),
    langs: medgate_web::i18n::Lang::POLISH_DESK,
    tabs: &[
        Tab {
            href: "/operator/tenants",
            label: |lang| T::NavTenants.text(lang),
        },
        Tab {
            href: "/operator/certificates",
            label: |lang| T::NavCertificates.text(lang),
        },
        Tab {
            href: "/operator/certificate-requests",
            label: |lang| T::NavRequests.text(lang),
        },
    ],
    audit_prefix: "operator",
    sign_in_intro: |lang| T::OperatorSignInIntro.text(lang),
    sign_in_failed: |lang| T::OperatorSignInFailed.text(lang),
};

/// A signed-in operator.
pub struct Operator {
    pub staff: Staff,
}

impl DeskUser for Operator {
    const DESK: &'static Desk = &OPERATOR;

    async fn from_session(
        state: &AppState,
        request: &WebRequest,
        session: WebSession,
    ) -> PageResult<Operator> {
        Ok(Operator {
            staff: Staff::of_session(state, request, &OPERATOR, StaffAccounts::Node, session).await?,
        })
    }
}

impl Operator {
    pub fn frame(&self, request: &WebRequest, title: impl Into<String>) -> Frame {
        self.staff
            .frame(request, title, self.staff.user.login.to_string())
    }

    pub fn form_is_genuine(&self, request: &WebRequest, form: &Form) -> bool {
        self.staff.form_is_genuine(request, form)
    }

    /// The page for a POST whose form token or origin is wrong.
    pub fn forged(&self, request: &WebRequest) -> Response {
        forged_page(self.frame(request, T::ErrorTitle.text(request.lang)))
    }

    /// The POST's form when it is genuine (this session's token, this server's origin);
    /// else the [`forged`](Self::forged) page.
    pub fn genuine_form(&self, request: &WebRequest, body: &[u8]) -> PageResult<Form> {
        let secret = &self.staff.session.csrf_secret;
        medgate_web::desk::genuine_form(request, body, secret, || self.forged(request))
    }

    /// Appends an audit entry of this operator's action (under the tenant it concerns,
    /// if any).
    pub async fn audit(
        &self,
        state: &AppState,
        request: &WebRequest,
        tenant: Option<&TenantId>,
        action: &str,
        target: &str,
        details: String,
    ) -> Result<(), ApiError> {
        append_audit(
            state,
            request,
            tenant,
            &self.staff.actor(),
            action,
            target,
            details,
        )
        .await
    }
}

/// The operator's desk: its sign-in, the tenants, certificates and certificate requests.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(signin::routes(&OPERATOR, &StaffAccounts::Node))
        .merge(operator::router())
        .merge(certificates::router())
}
