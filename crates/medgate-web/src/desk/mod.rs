//! Desks: the signed-in web pages of one kind of user. A desk is a value ([`Desk`]) that a
//! module defines beside its pages: where it lives, its session kind and lengths, its site
//! name and tabs. Everything else is here, once, for every desk: the page frame ([`Frame`]),
//! the sign-in, activation and sign-out flow ([`signin::routes`], given whose accounts sign
//! in: [`StaffAccounts`] or a module's own [`Accounts`]), the sign-in check as an extractor
//! ([`SignedIn`]), the form-token check, the error page and the audit entries of staff
//! actions.
//!
//! | module | owns |
//! |---|---|
//! | this file | [`Desk`], [`Staff`], [`DeskUser`] and the [`SignedIn`] extractor |
//! | [`frame`] | the page frame, its stylesheet and CSP, error pages |
//! | [`widgets`] | form fields, table cells, one-button forms, dates |
//! | [`signin`] | sign-in, activation and sign-out of every desk; staff accounts |
//! | [`text`] | the words of the staff pages in Polish and English |
//!
//! Nothing here trusts the browser: the session is read from the database on every request,
//! the tenant comes from the session (never from the form or the address), and every staff
//! action is in the audit log with the actor `<desk>:<login>`.
//!
//! Adding a desk: define its [`Desk`] value and its user type (implementing [`DeskUser`]) in
//! the module that owns its pages, mount [`signin::routes`] for it, and take `SignedIn<User>`
//! in the handlers (ARCHITECTURE.md, "Adding a desk").

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use medgate_ids::TenantId;
use medgate_storage::{NewAuditEntry, StaffLogin, StaffUser, WebSession, WebSessionKind};

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::layout::redirect;
use crate::session::{self, Current, SessionPolicy};
use crate::state::AppState;
use crate::{csrf, Form, WebRequest};

pub mod admin;
pub mod frame;
pub mod signin;
pub mod text;
pub mod widgets;

pub use signin::{Accounts, StaffAccounts};
pub use frame::{error_page, notice, respond, Frame, PageError, PageResult, SignedInHeader};
pub use widgets::*;

/// A word of a desk's frame, in the page's language.
pub type Words = fn(Lang) -> &'static str;

/// A tab of a desk's menu.
pub struct Tab {
    pub href: &'static str,
    pub label: Words,
}

/// A desk, as the module that owns its pages defines it (a `const`).
pub struct Desk {
    /// The session kind, also the prefix of its users' audit actor (`admin:<login>`).
    pub kind: WebSessionKind,
    /// The sign-in page, under which the desk's pages live (`/admin`).
    pub base: &'static str,
    /// Where a signed-in user lands.
    pub home: &'static str,
    pub policy: SessionPolicy,
    /// The site name in the header.
    pub site: Words,
    /// The languages of its pages, its default first ([`Lang::POLISH_DESK`]).
    pub langs: &'static [Lang],
    /// The tabs of a signed-in user.
    pub tabs: &'static [Tab],
    /// The first word of the audit actions of its sign-in flow (`admin.signin`).
    pub audit_prefix: &'static str,
    /// The sentence above the sign-in form.
    pub sign_in_intro: Words,
    /// The answer to a wrong login or password.
    pub sign_in_failed: Words,
}

impl Desk {
    /// The actor of a staff member's audit entries.
    pub fn actor(&self, login: &StaffLogin) -> String {
        format!("{}:{login}", self.kind)
    }
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk").field("base", &self.base).finish()
    }
}

// ---------------------------------------------------------------------------------------
// Signed-in staff
// ---------------------------------------------------------------------------------------

/// A signed-in staff member: the session and the account, both read on this request.
pub struct Staff {
    pub desk: &'static Desk,
    pub session: WebSession,
    pub user: StaffUser,
}

impl Staff {
    pub fn actor(&self) -> String {
        self.desk.actor(&self.user.login)
    }

    /// A frame of this desk with the header filled in (`who` names the user).
    pub fn frame(&self, request: &WebRequest, title: impl Into<String>, who: String) -> Frame {
        let mut frame = Frame::new(self.desk, request, title);
        frame.signed_in = Some(SignedInHeader {
            who,
            csrf_secret: self.session.csrf_secret.clone(),
        });
        frame
    }

    /// Checks a POST's form token and origin against this session's secret.
    pub fn form_is_genuine(&self, request: &WebRequest, form: &Form) -> bool {
        form_is_genuine(request, form, &self.session.csrf_secret)
    }
}

/// The user of a desk, built from the desk's live session (a staff member's account read
/// again, an administrator's tenant as stored now, a patient's identity).
pub trait DeskUser: Sized + Send + 'static {
    /// The desk this user signs in to.
    const DESK: &'static Desk;

    /// The user of `session`, or the answer to send instead (back to the sign-in page).
    fn from_session(
        state: &AppState,
        request: &WebRequest,
        session: WebSession,
    ) -> impl std::future::Future<Output = PageResult<Self>> + Send;
}

/// The signed-in user of a desk, as a handler argument: a request without a live session
/// of the desk is answered with the sign-in page (or the error page) before the handler runs.
pub struct SignedIn<U>(pub U);

impl<U: DeskUser> FromRequestParts<AppState> for SignedIn<U> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let desk = U::DESK;
        // The sign-in page or the error page answers in the desk's languages.
        let request = WebRequest::from_request_parts(parts, state)
            .await
            .map_err(axum::response::IntoResponse::into_response)?
            .speaking(desk.langs);
        let user = async {
            match session::current(state, &request.headers, desk.kind, desk.policy).await? {
                Current::Live(live) => U::from_session(state, &request, live).await,
                Current::None => Err(PageError::answer(redirect(desk.base, &[]))),
                // Ended, or a session of another desk (an administrator opening an
                // operator's page): the cookie is left alone, so the other desk's session
                // goes on working.
                Current::Ended => Err(PageError::answer(expired(desk, &[]))),
            }
        }
        .await;
        match user {
            Ok(user) => Ok(SignedIn(user)),
            Err(PageError::Answer(response)) => Err(*response),
            Err(PageError::Failed(error)) => Err(error_page(desk, &request, &error)),
        }
    }
}

impl Staff {
    /// The staff member of a live session of `desk`, whose accounts are `accounts`, with
    /// the account read now. A session whose account was disabled, removed or re-issued is
    /// ended.
    pub async fn of_session(
        state: &AppState,
        request: &WebRequest,
        desk: &'static Desk,
        accounts: StaffAccounts,
        session: WebSession,
    ) -> PageResult<Staff> {
        let scope = accounts.scope(session.tenant.clone());
        let login = StaffLogin::parse(&session.principal).ok();
        let user = match (scope, login) {
            (Some(scope), Some(login)) => state
                .metadata
                .get_staff_user(&scope, &login)
                .await
                .map_err(|e| ApiError::internal("reading a staff account", &e))?,
            _ => None,
        };
        match user {
            Some(user) if user.can_sign_in() => Ok(Staff {
                desk,
                session,
                user,
            }),
            _ => {
                crate::session::end(state, &request.headers).await?;
                Err(PageError::answer(expired(
                    desk,
                    &[crate::session::clear_cookie()],
                )))
            }
        }
    }
}

/// Back to the desk's sign-in page saying the session has ended.
pub fn expired(desk: &Desk, cookies: &[String]) -> Response {
    redirect(&format!("{}?notice=expired", desk.base), cookies)
}

/// Checks a POST's form token and origin against `expected`; `false` means refuse.
pub fn form_is_genuine(request: &WebRequest, form: &Form, expected: &str) -> bool {
    if let Err(reason) = csrf::check_origin(&request.headers, &request.uri) {
        tracing::warn!(path = request.uri.path(), reason, "form refused");
        return false;
    }
    if !csrf::tokens_match(expected, form.raw(csrf::FIELD)) {
        tracing::warn!(
            path = request.uri.path(),
            "form refused: missing or wrong CSRF token"
        );
        return false;
    }
    true
}

/// The form of a POST whose token matches `secret` and whose origin is this server; else
/// the answer `forged()` makes (the desk's "the form has expired" page).
pub fn genuine_form(
    request: &WebRequest,
    body: &[u8],
    secret: &str,
    forged: impl FnOnce() -> Response,
) -> PageResult<Form> {
    let form = Form::parse(body)?;
    if form_is_genuine(request, &form, secret) {
        Ok(form)
    } else {
        Err(PageError::answer(forged()))
    }
}

/// Appends an audit entry; the page fails if it cannot.
pub async fn append_audit(
    state: &AppState,
    request: &WebRequest,
    tenant: Option<&TenantId>,
    actor: &str,
    action: &str,
    target: &str,
    details: String,
) -> Result<(), ApiError> {
    state
        .metadata
        .append_audit(&NewAuditEntry {
            tenant: tenant.cloned(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            origin: request.origin(),
            details,
            patient: None,
        })
        .await
        .map(|_| ())
        .map_err(|e| ApiError::internal("audit log", &e))
}
