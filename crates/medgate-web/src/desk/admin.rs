//! The tenant administrator's desk under `/admin`, shared by the modules whose pages are on
//! it: the repository module's (account, organisation, document types, archive, consents,
//! credentials) and the clinical module's settings of the account's connection to the
//! clinical record service. One definition of the desk ([`ADMIN`]: its session kind, tabs,
//! words) and of who is signed in at it ([`Admin`]: the staff member and the account as
//! stored now), so every page of the desk has the same menu and the same rules.

use axum::response::Response;
use medgate_ids::TenantId;
use medgate_storage::{Tenant, WebSession};

use crate::auth::Caller;
use crate::desk::text::T;
use crate::desk::{
    expired, frame::forged_page, Desk, DeskUser, Frame, PageError, PageResult, Staff,
    StaffAccounts, Tab,
};
use crate::error::ApiError;
use crate::session::{self, SessionPolicy};
use crate::{AppState, Form, WebRequest};

/// The tenant administrator's desk.
pub const ADMIN: Desk = Desk {
    kind: medgate_storage::StaffScope::ADMIN_SESSIONS,
    base: "/admin",
    home: "/admin/account",
    // 30 minutes idle, 10 hours at most.
    policy: SessionPolicy {
        idle: time::Duration::minutes(30),
        absolute: time::Duration::hours(10),
    },
    site: |lang| T::AdminSite.text(lang),
    langs: crate::i18n::Lang::POLISH_DESK,
    tabs: &[
        Tab {
            href: "/admin/account",
            label: |lang| T::NavAccount.text(lang),
        },
        Tab {
            href: "/admin/organisation",
            label: |lang| T::NavOrganisation.text(lang),
        },
        Tab {
            href: "/admin/document-types",
            label: |lang| T::NavDocumentTypes.text(lang),
        },
        Tab {
            href: "/admin/documents",
            label: |lang| T::NavArchive.text(lang),
        },
        Tab {
            href: "/admin/consents",
            label: |lang| T::NavConsents.text(lang),
        },
        // The clinical module's settings page (`/admin/clinical-service`), on this desk.
        Tab {
            href: "/admin/clinical-service",
            label: |lang| T::NavClinicalService.text(lang),
        },
    ],
    audit_prefix: "admin",
    sign_in_intro: |lang| T::AdminSignInIntro.text(lang),
    sign_in_failed: |lang| T::AdminSignInFailed.text(lang),
};

/// A signed-in tenant administrator with the tenant as stored now.
pub struct Admin {
    pub staff: Staff,
    pub tenant: Tenant,
}

impl DeskUser for Admin {
    const DESK: &'static Desk = &ADMIN;

    async fn from_session(
        state: &AppState,
        request: &WebRequest,
        session: WebSession,
    ) -> PageResult<Admin> {
        let staff = Staff::of_session(state, request, &ADMIN, StaffAccounts::Tenant, session).await?;
        let Some(tenant_id) = staff.session.tenant.clone() else {
            return Err(ApiError::internal("admin session", &"no tenant").into());
        };
        let Some(tenant) = state
            .metadata
            .get_tenant(&tenant_id)
            .await
            .map_err(|e| ApiError::internal("tenant lookup", &e))?
        else {
            session::end(state, &request.headers).await?;
            return Err(PageError::answer(expired(&ADMIN, &[session::clear_cookie()])));
        };
        Ok(Admin { staff, tenant })
    }
}

impl Admin {
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant.id
    }

    /// Who acts, for the API's helpers (the audit log's actor is `admin:<login>`).
    pub fn caller(&self, request: &WebRequest) -> Caller {
        Caller {
            tenant: self.tenant.clone(),
            actor: self.staff.actor(),
            origin: request.origin(),
        }
    }

    /// A frame of this administrator's desk with the header filled in.
    pub fn frame(&self, request: &WebRequest, title: impl Into<String>) -> Frame {
        let who = format!("{} · {}", self.staff.user.login, self.tenant.id);
        self.staff.frame(request, title, who)
    }

    /// Checks a POST's form token and origin against this session's secret.
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
        crate::desk::genuine_form(request, body, secret, || self.forged(request))
    }

    /// Refuses work on an account that cannot be used now (suspended, expired, not yet
    /// activated), as the API does: only the account panel and the certificates page stay
    /// open. The refusal is a page of the desk (with its menu) in the page's language that
    /// leads to where the account can be put right: the activation on the certificates
    /// page, or the account panel.
    pub fn require_usable(&self, request: &WebRequest) -> PageResult<()> {
        let Err(error) = crate::auth::account_usable(&self.tenant) else {
            return Ok(());
        };
        let lang = request.lang;
        let (text, href, link) = match error.code() {
            "account_not_active" => (
                T::AccountNotActivePage,
                "/admin/account/certificates",
                T::GoActivate,
            ),
            "account_suspended" => (T::AccountSuspendedPage, "/admin/account", T::NavAccount),
            "account_not_yet_valid" => (T::AccountNotYetValidPage, "/admin/account", T::NavAccount),
            _ => (T::AccountExpiredPage, "/admin/account", T::NavAccount),
        };
        let mut frame = self.frame(request, T::AccountUnusableTitle.text(lang));
        frame.status = axum::http::StatusCode::FORBIDDEN;
        frame.body = format!(
            "{}<p><a class=\"button\" href=\"{href}\">{}</a></p>",
            crate::layout::message(crate::layout::MessageKind::Error, text.text(lang)),
            crate::layout::escape(link.text(lang)),
        );
        Err(PageError::answer(frame.into_response()))
    }

    /// Appends an audit entry of this administrator's action; the page fails if it cannot.
    pub async fn audit(
        &self,
        state: &AppState,
        request: &WebRequest,
        action: &str,
        target: &str,
        patient: Option<&str>,
        details: String,
    ) -> Result<(), ApiError> {
        crate::api::audit_patient(
            state,
            &self.caller(request),
            action,
            target,
            patient,
            details,
        )
        .await
    }
}
