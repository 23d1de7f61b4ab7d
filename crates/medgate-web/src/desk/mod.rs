//! The staff pages (SPEC §8): the tenant administrator's desk under `/admin` (account panel,
//! organisational structure, document types, archive, consent register) and the operator's
//! under `/operator` (tenants with their plans, usage and status; certificates expiring).
//! Built on the web foundation: sessions of kind `admin` / `operator`, the CSRF token of the
//! session on every form, Argon2id passwords, the sign-in lock-out, Polish and English.
//!
//! | module | owns |
//! |---|---|
//! | [`users`] | creating staff accounts with a password or a one-time activation code (the CLI's `tenant admin-user` and `operator user` commands and the operator's page) |
//! | [`signin`] | sign-in, activation and sign-out of both desks |
//! | [`account`] | the account panel (the same view as `GET /api/v1/account`) |
//! | [`organisation`] | the organisational structure form, validated by [`crate::organisation`] |
//! | [`document_types`] | the document types and their archiving policy |
//! | [`archive`] | the archive browser and the document actions |
//! | [`consents`] | the consent register |
//! | [`operator`] | the operator's pages |
//! | [`certificates`] | self-service certificate requests: uploaded by an administrator, issued or rejected by the operator |
//! | [`text`] | the words of these pages in Polish and English |
//!
//! Nothing here trusts the browser: every handler reads the session from the database, takes
//! the tenant from the session (never from the form or the address) and passes it to every
//! store call, so another tenant's document or consent id gets the same 404 as one that does
//! not exist. Every action is in the audit log with the actor `admin:<login>` or
//! `operator:<login>`.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use medgate_ids::TenantId;
use medgate_storage::{
    NewAuditEntry, StaffLogin, StaffScope, StaffUser, Tenant, WebSession, WebSessionKind,
};
use time::OffsetDateTime;

use crate::i18n::Lang;
use crate::layout::{escape, message, redirect, MessageKind};
use crate::session::{self, Current, SessionPolicy};
use crate::{csrf, Form, WebRequest};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

pub mod text;

use text::T;


/// Tenant administrators: 30 minutes idle, 10 hours at most.
pub const ADMIN_SESSION: SessionPolicy = SessionPolicy {
    idle: time::Duration::minutes(30),
    absolute: time::Duration::hours(10),
};

/// Operators: 15 minutes idle, 8 hours at most.
pub const OPERATOR_SESSION: SessionPolicy = SessionPolicy {
    idle: time::Duration::minutes(15),
    absolute: time::Duration::hours(8),
};

/// Which of the two staff desks a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Desk {
    Admin,
    Operator,
}

impl Desk {
    /// The sign-in page, under which the desk's pages live.
    pub fn base(self) -> &'static str {
        match self {
            Desk::Admin => "/admin",
            Desk::Operator => "/operator",
        }
    }

    /// Where a signed-in user lands.
    pub fn home(self) -> &'static str {
        match self {
            Desk::Admin => "/admin/account",
            Desk::Operator => "/operator/tenants",
        }
    }

    pub fn session_kind(self) -> WebSessionKind {
        match self {
            Desk::Admin => WebSessionKind::new("admin"),
            Desk::Operator => WebSessionKind::new("operator"),
        }
    }

    pub fn policy(self) -> SessionPolicy {
        match self {
            Desk::Admin => ADMIN_SESSION,
            Desk::Operator => OPERATOR_SESSION,
        }
    }

    /// The site name in the header.
    pub fn site(self, lang: Lang) -> &'static str {
        match self {
            Desk::Admin => T::AdminSite.text(lang),
            Desk::Operator => T::OperatorSite.text(lang),
        }
    }

    /// The actor of a staff member's audit entries.
    pub fn actor(self, login: &StaffLogin) -> String {
        match self {
            Desk::Admin => format!("admin:{login}"),
            Desk::Operator => format!("operator:{login}"),
        }
    }

    fn links(self) -> &'static [(&'static str, T)] {
        match self {
            Desk::Admin => &[
                ("/admin/account", T::NavAccount),
                ("/admin/organisation", T::NavOrganisation),
                ("/admin/document-types", T::NavDocumentTypes),
                ("/admin/documents", T::NavArchive),
                ("/admin/consents", T::NavConsents),
            ],
            Desk::Operator => &[
                ("/operator/tenants", T::NavTenants),
                ("/operator/certificates", T::NavCertificates),
                ("/operator/certificate-requests", T::NavRequests),
            ],
        }
    }
}

// ---------------------------------------------------------------------------------------
// The page frame
// ---------------------------------------------------------------------------------------

/// The styles the staff pages add to the foundation's stylesheet: wider forms, grids of
/// fields, tabs, the quota bar, action buttons. Allowed by its own hash in the CSP.
pub const STAFF_CSS: &str = "
.skip{position:absolute;left:-9999px}
.skip:focus{left:1rem;top:.5rem;background:#fff;color:#0b5cad;padding:.4rem .8rem;z-index:10;border-radius:4px}
.top .who-am-i{font-size:.9rem}
.tabs{background:#e3ebf3;border-bottom:1px solid #c3cfdb}
.tabs ul{max-width:72rem;margin:0 auto;padding:0 1rem;list-style:none;display:flex;flex-wrap:wrap;gap:0 .25rem}
.tabs a{display:block;padding:.55rem .8rem;color:#0d3b66;text-decoration:none;border-bottom:3px solid transparent}
.tabs a:hover{text-decoration:underline}
.tabs a[aria-current=page]{border-bottom-color:#0d3b66;font-weight:700}
.card.wide{max-width:none;margin:0 0 1rem}
summary:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.stack-gap>*+*{margin-top:1rem}
.boxes{display:grid;grid-template-columns:repeat(auto-fit,minmax(17rem,1fr));gap:1rem;margin:0 0 1rem}
.boxes .card{max-width:none}
.card h2{font-size:1.1rem;margin:0 0 .75rem}
h2{font-size:1.25rem;margin:1.5rem 0 .75rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0}
dl.facts dt{font-weight:600;color:#4a5561}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:0 1rem}
fieldset{border:1px solid #d5dbe1;border-radius:8px;padding:.75rem 1rem 0;margin:0 0 1rem;background:#fff;min-width:0}
legend{font-weight:700;padding:0 .3rem}
input[type=number],input[type=date],input[type=email],input[type=tel],input[type=search],select,textarea{width:100%;padding:.55rem .6rem;font:inherit;border:1px solid #8a96a3;border-radius:4px;background:#fff}
select[aria-invalid=true],textarea[aria-invalid=true]{border-color:#b3261e;border-width:2px}
input[type=checkbox]{width:1.2rem;height:1.2rem;margin:0;accent-color:#0b5cad}
.check{display:flex;gap:.5rem;align-items:center;margin:0 0 1rem}
.check label{display:inline;font-weight:400;margin:0}
td .check{margin:0}
td input[type=number]{max-width:7rem}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:0 0 1rem}
.actions form{margin:0}
a.button,button.secondary,button.danger,button.primary{display:inline-block;border-radius:4px;padding:.5rem 1rem;font:inherit;font-weight:600;cursor:pointer;text-decoration:none;line-height:1.5}
a.button,button.secondary{background:#fff;color:#0b5cad;border:1px solid #0b5cad}
button.danger{background:#b3261e;color:#fff;border:0}
button.link{background:none;border:0;padding:0;color:#0b5cad;text-decoration:underline;font:inherit;cursor:pointer}
.message.warning{background:#fff4d6;border:1px solid #a86b00}
.message.ok{background:#e7f5ea;border:1px solid #2e7d32}
.quota{margin:.5rem 0}
.quota progress{width:100%;height:1.1rem;accent-color:#0b5cad}
.quota.high progress{accent-color:#b3261e}
.status{display:inline-block;border-radius:999px;padding:.05rem .6rem;font-size:.85rem;font-weight:700;background:#e3ebf3;color:#0d3b66}
.status.active,.status.sent{background:#e7f5ea;color:#1d5e22}
.status.suspended,.status.revoked{background:#fdecea;color:#8c1d18}
.status.created,.status.draft{background:#fff4d6;color:#6b4500}
.mark{font-weight:700;color:#1d5e22}
.code{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:1.4rem;letter-spacing:.08em;background:#fff;border:2px dashed #0b5cad;border-radius:6px;padding:.5rem 1rem;display:inline-block}
.mono{font-family:ui-monospace,'DejaVu Sans Mono',monospace}
.pager{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin:1rem 0}
.search summary{cursor:pointer;font-weight:700;padding:.25rem 0}
.table-wrap td,.table-wrap th{padding:.5rem .75rem}
.nowrap{white-space:nowrap}
td.mono,td .mono:not(.nowrap){word-break:break-all}
@media (max-width:40rem){
 dl.facts{grid-template-columns:1fr}
 dl.facts dd{margin-bottom:.4rem}
 .tabs ul{padding:0 .5rem}
 .tabs a{padding:.45rem .5rem}
}
";

/// The Content-Security-Policy of the staff pages: the foundation's, with the hash of
/// [`STAFF_CSS`] added to the allowed styles. Still no script at all.
pub fn content_security_policy() -> &'static str {
    static CSP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        use base64::Engine;
        let hash = |css: &str| {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, css.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        };
        format!(
            "default-src 'none'; style-src 'sha256-{}' 'sha256-{}'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            hash(crate::layout::CSS),
            hash(STAFF_CSS)
        )
    })
}

/// Who is signed in, for the header.
pub struct SignedInHeader {
    /// Login, and for an administrator the tenant.
    pub who: String,
    pub csrf_secret: String,
}

/// A staff page to send.
pub struct Frame {
    pub desk: Desk,
    pub lang: Lang,
    pub status: StatusCode,
    /// Plain text: the `<title>` and the `<h1>`.
    pub title: String,
    /// The page's own address, for the language switch and the current tab.
    pub path: String,
    pub signed_in: Option<SignedInHeader>,
    /// Trusted HTML of the main column, after the `<h1>`.
    pub body: String,
    pub cookies: Vec<String>,
}

impl Frame {
    pub fn new(desk: Desk, request: &WebRequest, title: impl Into<String>) -> Frame {
        Frame {
            desk,
            lang: request.lang,
            status: StatusCode::OK,
            title: title.into(),
            path: request.uri.path().to_owned(),
            signed_in: None,
            body: String::new(),
            cookies: request.lang_cookie.iter().cloned().collect(),
        }
    }

    /// The complete HTML document.
    pub fn html(&self) -> String {
        let lang = self.lang;
        let switch: String = Lang::ALL
            .iter()
            .map(|other| {
                let current = if *other == lang {
                    " aria-current=\"true\"".to_owned()
                } else {
                    format!(" hreflang=\"{}\"", other.code())
                };
                format!(
                    "<a href=\"{}?lang={}\" lang=\"{}\"{current}>{}</a>",
                    escape(&self.path),
                    other.code(),
                    other.code(),
                    other.own_name()
                )
            })
            .collect();
        let (account, tabs) = match &self.signed_in {
            None => (String::new(), String::new()),
            Some(header) => {
                let account = format!(
                    "<span class=\"who-am-i\">{who}</span>\
                     <form method=\"post\" action=\"{base}/logout\">{csrf}\
                     <button type=\"submit\">{sign_out}</button></form>",
                    who = escape(&header.who),
                    base = self.desk.base(),
                    csrf = csrf::hidden_field(&header.csrf_secret),
                    sign_out = escape(T::SignOut.text(lang)),
                );
                let items: String = self
                    .desk
                    .links()
                    .iter()
                    .map(|(href, label)| {
                        let current =
                            if self.path == *href || self.path.starts_with(&format!("{href}/")) {
                                " aria-current=\"page\""
                            } else {
                                ""
                            };
                        format!(
                            "<li><a href=\"{href}\"{current}>{}</a></li>",
                            escape(label.text(lang))
                        )
                    })
                    .collect();
                let tabs = format!(
                    "<nav class=\"tabs\" aria-label=\"{menu}\"><ul>{items}</ul></nav>",
                    menu = escape(T::MainMenu.text(lang)),
                );
                (account, tabs)
            }
        };
        format!(
            "<!DOCTYPE html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"referrer\" content=\"same-origin\">\n\
             <title>{title} · {site}</title>\n<style>{css}</style>\n<style>{STAFF_CSS}</style>\n</head>\n<body>\n\
             <a class=\"skip\" href=\"#main\">{skip}</a>\
             <header class=\"top\"><div class=\"bar\">\
             <a class=\"brand\" href=\"{home}\">medgate · {site}</a>{account}\
             <div class=\"langs\" role=\"group\" aria-label=\"{language}\">{switch}</div>\
             </div></header>\n{tabs}\n<main id=\"main\">\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
            code = lang.code(),
            title = escape(&self.title),
            site = escape(self.desk.site(lang)),
            css = crate::layout::CSS,
            skip = escape(T::SkipToContent.text(lang)),
            home = if self.signed_in.is_some() {
                self.desk.home()
            } else {
                self.desk.base()
            },
            language = escape(T::Language.text(lang)),
            body = self.body,
        )
    }

    /// The page as a response with the security headers and cookies.
    pub fn into_response(self) -> Response {
        let html = self.html();
        let mut response = Response::new(Body::from(html));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        crate::layout::secure_headers(headers, content_security_policy());
        for cookie in &self.cookies {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                headers.append(header::SET_COOKIE, value);
            }
        }
        response
    }
}

/// A message box of a kind the foundation does not have (warning, success).
pub fn notice(class: &str, text: &str) -> String {
    format!(
        "<p class=\"message {class}\" role=\"status\">{}</p>",
        escape(text)
    )
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// 403 with "the form has expired" in `frame`: a POST whose form token or origin is wrong.
fn forged_page(mut frame: Frame) -> Response {
    frame.status = StatusCode::FORBIDDEN;
    frame.body = message(MessageKind::Error, T::FormExpired.text(frame.lang));
    frame.into_response()
}

/// The page for a failure: the status of `error`, a sentence in the page's language (the
/// reference of an internal error ties it to the log line).
pub fn error_page(desk: Desk, request: &WebRequest, error: &ApiError) -> Response {
    let lang = request.lang;
    let text = if error.status() == StatusCode::INTERNAL_SERVER_ERROR {
        let reference = error
            .message()
            .split("reference ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("-");
        T::InternalError.with(lang, "reference", reference)
    } else {
        error.message().to_owned()
    };
    let mut frame = Frame::new(desk, request, T::ErrorTitle.text(lang));
    frame.status = error.status();
    frame.body = message(MessageKind::Error, &text);
    frame.into_response()
}

/// Runs a page handler, turning its failure into an error page.
pub fn respond(desk: Desk, request: &WebRequest, outcome: Result<Response, ApiError>) -> Response {
    outcome.unwrap_or_else(|error| error_page(desk, request, &error))
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

// ---------------------------------------------------------------------------------------
// Signed-in staff
// ---------------------------------------------------------------------------------------

/// A signed-in staff member: the session and the account, both read on this request.
pub struct Staff {
    pub desk: Desk,
    pub session: WebSession,
    pub user: StaffUser,
}

impl Staff {
    pub fn actor(&self) -> String {
        self.desk.actor(&self.user.login)
    }
}

/// The request's live session of `desk` with its account, or the response to send instead
/// (to the sign-in page). A session whose account was disabled, removed or re-issued, or
/// whose kind is another desk's, is ended.
pub async fn signed_in_staff(
    state: &AppState,
    request: &WebRequest,
    desk: Desk,
) -> Result<Result<Staff, Response>, ApiError> {
    let expired = || {
        redirect(
            &format!("{}?notice=expired", desk.base()),
            &[session::clear_cookie()],
        )
    };
    let live = match session::current(state, &request.headers, desk.session_kind(), desk.policy())
        .await?
    {
        Current::Live(live) => live,
        Current::None => return Ok(Err(redirect(desk.base(), &[]))),
        // Ended, or a session of another desk (an administrator opening an operator's
        // page): the cookie is left alone, so the other desk's session goes on working.
        Current::Ended => {
            return Ok(Err(redirect(
                &format!("{}?notice=expired", desk.base()),
                &[],
            )))
        }
    };
    let scope = match (desk, &live.tenant) {
        (Desk::Admin, Some(tenant)) => Some(StaffScope::Admin(tenant.clone())),
        (Desk::Operator, None) => Some(StaffScope::Operator),
        _ => None,
    };
    let login = StaffLogin::parse(&live.principal).ok();
    let user = match (scope, login) {
        (Some(scope), Some(login)) => state
            .metadata
            .get_staff_user(&scope, &login)
            .await
            .map_err(|e| ApiError::internal("reading a staff account", &e))?,
        _ => None,
    };
    match user {
        Some(user) if user.can_sign_in() => Ok(Ok(Staff {
            desk,
            session: live,
            user,
        })),
        _ => {
            session::end(state, &request.headers).await?;
            Ok(Err(expired()))
        }
    }
}

/// A signed-in tenant administrator with the tenant as stored now.
pub struct Admin {
    pub staff: Staff,
    pub tenant: Tenant,
}

impl Admin {
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant.id
    }

    /// The caller the API's helpers take (the audit log's actor is `admin:<login>`).
    pub fn caller(&self, request: &WebRequest) -> Caller {
        Caller {
            tenant: self.tenant.clone(),
            actor: self.staff.actor(),
            origin: request.origin(),
        }
    }

    /// A frame of this administrator's desk with the header filled in.
    pub fn frame(&self, request: &WebRequest, title: impl Into<String>) -> Frame {
        let mut frame = Frame::new(Desk::Admin, request, title);
        frame.signed_in = Some(SignedInHeader {
            who: format!("{} · {}", self.staff.user.login, self.tenant.id),
            csrf_secret: self.staff.session.csrf_secret.clone(),
        });
        frame
    }

    /// Checks a POST's form token and origin against this session's secret.
    pub fn form_is_genuine(&self, request: &WebRequest, form: &Form) -> bool {
        form_is_genuine(request, form, &self.staff.session.csrf_secret)
    }

    /// The page for a POST whose form token or origin is wrong.
    pub fn forged(&self, request: &WebRequest) -> Response {
        forged_page(self.frame(request, T::ErrorTitle.text(request.lang)))
    }

    /// Refuses work on an account that cannot be used now (suspended, expired, not yet
    /// activated), as the API does: only the account panel stays open.
    pub fn require_usable(&self) -> Result<(), ApiError> {
        crate::auth::account_usable(&self.tenant)
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

/// The request's administrator, or the response to send instead.
pub async fn signed_in_admin(
    state: &AppState,
    request: &WebRequest,
) -> Result<Result<Admin, Response>, ApiError> {
    let staff = match signed_in_staff(state, request, Desk::Admin).await? {
        Ok(staff) => staff,
        Err(response) => return Ok(Err(response)),
    };
    let Some(tenant_id) = staff.session.tenant.clone() else {
        return Err(ApiError::internal("admin session", &"no tenant"));
    };
    let Some(tenant) = state
        .metadata
        .get_tenant(&tenant_id)
        .await
        .map_err(|e| ApiError::internal("tenant lookup", &e))?
    else {
        session::end(state, &request.headers).await?;
        return Ok(Err(redirect(
            "/admin?notice=expired",
            &[session::clear_cookie()],
        )));
    };
    Ok(Ok(Admin { staff, tenant }))
}

/// A signed-in operator.
pub struct Operator {
    pub staff: Staff,
}

impl Operator {
    pub fn frame(&self, request: &WebRequest, title: impl Into<String>) -> Frame {
        let mut frame = Frame::new(Desk::Operator, request, title);
        frame.signed_in = Some(SignedInHeader {
            who: self.staff.user.login.to_string(),
            csrf_secret: self.staff.session.csrf_secret.clone(),
        });
        frame
    }

    pub fn form_is_genuine(&self, request: &WebRequest, form: &Form) -> bool {
        form_is_genuine(request, form, &self.staff.session.csrf_secret)
    }

    /// The page for a POST whose form token or origin is wrong.
    pub fn forged(&self, request: &WebRequest) -> Response {
        forged_page(self.frame(request, T::ErrorTitle.text(request.lang)))
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

/// The request's operator, or the response to send instead.
pub async fn signed_in_operator(
    state: &AppState,
    request: &WebRequest,
) -> Result<Result<Operator, Response>, ApiError> {
    Ok(signed_in_staff(state, request, Desk::Operator)
        .await?
        .map(|staff| Operator { staff }))
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

// ---------------------------------------------------------------------------------------
// Small shared helpers
// ---------------------------------------------------------------------------------------

pub use crate::now;

/// `YYYY-MM-DD` (UTC).
pub fn day(time: OffsetDateTime) -> String {
    let date = time.to_offset(time::UtcOffset::UTC).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `YYYY-MM-DD HH:MM` (UTC).
pub fn minute(time: OffsetDateTime) -> String {
    let time = time.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02}", day(time), time.hour(), time.minute())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn second(time: OffsetDateTime) -> String {
    let time = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{} {:02}:{:02}:{:02}",
        day(time),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// A table header cell.
pub fn th(lang: Lang, label: T) -> String {
    format!("<th scope=\"col\">{}</th>", escape(label.text(lang)))
}

/// A table cell with its label for the stacked phone layout; `content` is trusted HTML.
pub fn td(lang: Lang, label: T, content: &str) -> String {
    format!(
        "<td data-label=\"{}\">{content}</td>",
        escape(label.text(lang))
    )
}

/// A labelled input of any type with an optional hint and an error beside it. `value` is
/// escaped; `extra` is trusted attribute text.
pub struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub hint: Option<&'a str>,
    pub error: Option<&'a str>,
    pub required: bool,
    pub extra: &'a str,
}

impl<'a> Input<'a> {
    pub fn text(name: &'a str, label: &'a str, value: &'a str) -> Input<'a> {
        Input {
            name,
            label,
            kind: "text",
            value,
            hint: None,
            error: None,
            required: false,
            extra: "",
        }
    }

    pub fn html(&self) -> String {
        let id = field_id(self.name);
        let mut described = Vec::new();
        let hint = match self.hint {
            Some(hint) => {
                described.push(format!("{id}-hint"));
                format!(
                    "<span class=\"hint\" id=\"{id}-hint\">{}</span>",
                    escape(hint)
                )
            }
            None => String::new(),
        };
        let error = match self.error {
            Some(error) => {
                described.push(format!("{id}-error"));
                format!(
                    "<span class=\"field-error\" id=\"{id}-error\">{}</span>",
                    escape(error)
                )
            }
            None => String::new(),
        };
        let describedby = if described.is_empty() {
            String::new()
        } else {
            format!(" aria-describedby=\"{}\"", described.join(" "))
        };
        let invalid = if self.error.is_some() {
            " aria-invalid=\"true\""
        } else {
            ""
        };
        let required = if self.required { " required" } else { "" };
        let value = if self.kind == "password" {
            String::new()
        } else {
            format!(" value=\"{}\"", escape(self.value))
        };
        format!(
            "<div class=\"field\"><label for=\"{id}\">{label}</label>\
             <input type=\"{kind}\" id=\"{id}\" name=\"{name}\"{value}{required}{describedby}{invalid} {extra}>\
             {hint}{error}</div>",
            label = escape(self.label),
            kind = escape(self.kind),
            name = escape(self.name),
            extra = self.extra,
        )
    }
}

/// The element id of a form field: its name with the characters ids should not have
/// replaced (`units[2].phone` → `f-units-2--phone`).
pub fn field_id(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("f-{cleaned}")
}

/// A checkbox with its label.
pub fn checkbox(name: &str, label: &str, checked: bool, extra: &str) -> String {
    let id = field_id(name);
    format!(
        "<div class=\"check\"><input type=\"checkbox\" id=\"{id}\" name=\"{name}\" value=\"1\"{checked} {extra}>\
         <label for=\"{id}\">{label}</label></div>",
        name = escape(name),
        checked = if checked { " checked" } else { "" },
        label = escape(label),
    )
}

/// A one-button form posting to `action` (e.g. suspend, revoke, index).
pub fn button_form(action: &str, csrf_secret: &str, class: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\">{csrf}<button class=\"{class}\" type=\"submit\">{label}</button></form>",
        action = escape(action),
        csrf = csrf::hidden_field(csrf_secret),
        label = escape(label),
    )
}

/// The path segment of an id, percent-encoded.
pub fn segment(id: &str) -> String {
    urlencoding::encode(id).into_owned()
}

pub use crate::layout::download;
