//! Signing in to a staff desk, activating an account with its one-time code, and signing
//! out, the same for every staff desk: a desk of a tenant's staff asks for the tenant
//! (account id), a login and a password; the node's own staff a login and a password.
//! Failures are counted per identity typed (lock-out after five), whether or not the account
//! exists, and answered in the same words; a missing account still costs one Argon2id
//! verification, so timing says nothing either.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_ids::TenantId;
use medgate_storage::{SigninIdentity, StaffLogin, StaffScope};
use time::OffsetDateTime;

use super::text::T;
use super::widgets::Input;
use super::{append_audit, form_is_genuine, respond, Accounts, Desk, Frame, PageResult};
use crate::error::ApiError;
use crate::layout::{activation_fields, escape, message, redirect, ActivationTexts, MessageKind};
use crate::now;
use crate::session::{self, Current};
use crate::state::AppState;
use crate::{csrf, lockout, password, Form, WebRequest};

/// The desk's sign-in (`{base}`), activation (`{base}/activate`) and sign-out
/// (`{base}/logout`) routes.
pub fn routes(desk: &'static Desk) -> Router<AppState> {
    Router::new()
        .route(
            desk.base,
            get(
                move |State(state): State<AppState>, request: WebRequest| async move {
                    sign_in_page(&state, &request, desk).await
                },
            )
            .post(
                move |State(state): State<AppState>, request: WebRequest, body: Bytes| async move {
                    let outcome = sign_in(&state, &request, &body, desk).await;
                    respond(desk, &request, outcome)
                },
            ),
        )
        .route(
            &format!("{}/activate", desk.base),
            get(move |request: WebRequest| async move {
                let outcome = activate_form(&request, desk, &Filled::default(), StatusCode::OK);
                respond(desk, &request, outcome)
            })
            .post(
                move |State(state): State<AppState>, request: WebRequest, body: Bytes| async move {
                    let outcome = activate(&state, &request, &body, desk).await;
                    respond(desk, &request, outcome)
                },
            ),
        )
        .route(
            &format!("{}/logout", desk.base),
            post(
                move |State(state): State<AppState>, request: WebRequest, body: Bytes| async move {
                    let outcome = sign_out(&state, &request, &body, desk).await;
                    respond(desk, &request, outcome)
                },
            ),
        )
}

/// What the forms show again after a failed submit.
#[derive(Default)]
struct Filled {
    tenant: String,
    login: String,
    tenant_error: Option<T>,
    login_error: Option<String>,
    code_error: Option<T>,
    password_error: Option<String>,
    repeat_error: Option<T>,
    message: Option<(MessageKind, String)>,
}

impl Filled {
    fn has_field_errors(&self) -> bool {
        self.tenant_error.is_some()
            || self.login_error.is_some()
            || self.code_error.is_some()
            || self.password_error.is_some()
            || self.repeat_error.is_some()
    }
}

fn identity_fields(desk: &'static Desk, lang: crate::i18n::Lang, filled: &Filled) -> String {
    let tenant = match desk.accounts {
        Accounts::TenantStaff => Input {
            name: "tenant",
            label: T::AccountId.text(lang),
            kind: "text",
            value: &filled.tenant,
            hint: Some(T::AccountIdHint.text(lang)),
            error: filled.tenant_error.map(|m| m.text(lang)),
            required: true,
            extra: "inputmode=\"numeric\" autocomplete=\"organization\" maxlength=\"32\"",
        }
        .html(),
        Accounts::NodeStaff | Accounts::Patients => String::new(),
    };
    let login = Input {
        name: "login",
        label: T::Login.text(lang),
        kind: "text",
        value: &filled.login,
        hint: None,
        error: filled.login_error.as_deref(),
        required: true,
        extra: "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"64\"",
    }
    .html();
    format!("{tenant}{login}")
}

fn notice_html(filled: &Filled) -> String {
    filled
        .message
        .as_ref()
        .map(|(kind, text)| message(*kind, text))
        .unwrap_or_default()
}

fn sign_in_form(
    request: &WebRequest,
    desk: &'static Desk,
    filled: &Filled,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let (token, token_cookie) = csrf::anonymous_token(&request.headers)?;
    let mut frame = Frame::new(desk, request, T::SignInTitle.text(lang));
    frame.path = desk.base.to_owned();
    frame.status = status;
    frame.cookies.extend(token_cookie);
    let password = Input {
        name: "password",
        label: T::Password.text(lang),
        kind: "password",
        value: "",
        hint: None,
        error: None,
        required: true,
        extra: "autocomplete=\"current-password\" maxlength=\"256\"",
    };
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{notice}<form class=\"card\" method=\"post\" action=\"{base}\" novalidate>{csrf}{identity}{password}\
         <button class=\"primary\" type=\"submit\">{submit}</button></form>\
         <p><a href=\"{base}/activate\">{activate}</a></p>",
        intro = escape((desk.sign_in_intro)(lang)),
        notice = notice_html(filled),
        base = desk.base,
        csrf = csrf::hidden_field(&token),
        identity = identity_fields(desk, lang, filled),
        password = password.html(),
        submit = escape(T::SignIn.text(lang)),
        activate = escape(T::HaveCode.text(lang)),
    );
    Ok(frame.into_response())
}

/// `GET /admin`, `GET /operator`: the sign-in form; a signed-in user goes on to the desk.
async fn sign_in_page(state: &AppState, request: &WebRequest, desk: &'static Desk) -> Response {
    let outcome = async {
        if let Current::Live(_) =
            session::current(state, &request.headers, desk.kind, desk.policy).await?
        {
            let cookies: Vec<String> = request.lang_cookie.iter().cloned().collect();
            return Ok(redirect(desk.home, &cookies));
        }
        let lang = request.lang;
        let notice = match request.query("notice").as_deref() {
            Some("activated") => Some(T::Activated),
            Some("signed-out") => Some(T::SignedOut),
            Some("expired") => Some(T::SessionExpired),
            _ => None,
        };
        let filled = Filled {
            message: notice.map(|m| (MessageKind::Info, m.text(lang).to_owned())),
            ..Filled::default()
        };
        sign_in_form(request, desk, &filled, StatusCode::OK)
    }
    .await;
    respond(desk, request, outcome)
}

/// Reads the tenant (administrators only) and the login into `filled`; `None` with the field
/// errors set when either is not valid.
fn read_identity(
    desk: &'static Desk,
    lang: crate::i18n::Lang,
    form: &Form,
    filled: &mut Filled,
) -> Option<(StaffScope, StaffLogin)> {
    filled.tenant = form.text("tenant").to_owned();
    filled.login = form.text("login").to_owned();
    let scope = match desk.accounts {
        Accounts::NodeStaff | Accounts::Patients => desk.scope(None),
        Accounts::TenantStaff => {
            let digits: String = filled
                .tenant
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if digits.is_empty() {
                filled.tenant_error = Some(T::Required);
                None
            } else {
                match TenantId::parse(&digits) {
                    Ok(tenant) => desk.scope(Some(tenant)),
                    Err(_) => {
                        filled.tenant_error = Some(T::BadAccountId);
                        None
                    }
                }
            }
        }
    };
    let login = if filled.login.is_empty() {
        filled.login_error = Some(T::Required.text(lang).to_owned());
        None
    } else {
        match StaffLogin::parse(&filled.login) {
            Ok(login) => Some(login),
            Err(_) => {
                filled.login_error = Some(T::BadLogin.text(lang).to_owned());
                None
            }
        }
    };
    Some((scope?, login?))
}

fn identity<'a>(scope: &'a StaffScope, login: &'a StaffLogin) -> SigninIdentity<'a> {
    SigninIdentity {
        kind: scope.session_kind(),
        tenant: scope.tenant().map(TenantId::as_str).unwrap_or(""),
        principal: login.as_str(),
    }
}

fn locked_message(lang: crate::i18n::Lang, until: OffsetDateTime) -> String {
    let until = until.to_offset(time::UtcOffset::UTC);
    T::Locked
        .with(
            lang,
            "minutes",
            &lockout::POLICY.lock_for.whole_minutes().to_string(),
        )
        .replace(
            "{until}",
            &format!("{:02}:{:02}", until.hour(), until.minute()),
        )
}

/// `POST /admin`, `POST /operator`.
async fn sign_in(
    state: &AppState,
    request: &WebRequest,
    body: &Bytes,
    desk: &'static Desk,
) -> PageResult {
    let lang = request.lang;
    let form = Form::parse(body)?;
    let mut filled = Filled::default();
    if !form_is_genuine(request, &form, &csrf::anonymous_expected(&request.headers)) {
        filled.message = Some((MessageKind::Error, T::FormExpired.text(lang).to_owned()));
        return sign_in_form(request, desk, &filled, StatusCode::FORBIDDEN);
    }
    let Some((scope, login)) = read_identity(desk, lang, &form, &mut filled) else {
        filled.message = Some((MessageKind::Error, T::FixErrors.text(lang).to_owned()));
        return sign_in_form(request, desk, &filled, StatusCode::BAD_REQUEST);
    };
    let identity = identity(&scope, &login);
    let slot = match lockout::reserve(state, identity).await? {
        lockout::Reserved::Check(slot) => slot,
        lockout::Reserved::Locked(until) => {
            filled.message = Some((MessageKind::Error, locked_message(lang, until)));
            return sign_in_form(request, desk, &filled, StatusCode::TOO_MANY_REQUESTS);
        }
    };
    let account = state
        .metadata
        .get_staff_user(&scope, &login)
        .await
        .map_err(|e| ApiError::internal("staff account lookup", &e))?;
    let stored = account
        .as_ref()
        .filter(|user| user.disabled_at.is_none())
        .and_then(|user| user.password_hash.clone());
    let matches = password::verify_async(form.raw("password").to_owned(), stored).await?;
    let actor = desk.actor(&login);
    if !matches {
        let locked = slot.failed();
        if account.is_some() {
            append_audit(
                state,
                request,
                scope.tenant(),
                &actor,
                &format!("{}.signin.failed", desk.kind),
                login.as_str(),
                String::new(),
            )
            .await?;
        }
        let (status, text) = match locked {
            Some(until) => (StatusCode::TOO_MANY_REQUESTS, locked_message(lang, until)),
            None => (
                StatusCode::UNAUTHORIZED,
                (desk.sign_in_failed)(lang).to_owned(),
            ),
        };
        filled.message = Some((MessageKind::Error, text));
        return sign_in_form(request, desk, &filled, status);
    }

    lockout::succeeded(state, identity).await?;
    // A session the browser may still hold ends: every sign-in gets a fresh token.
    session::end(state, &request.headers).await?;
    let started = session::start(
        state,
        desk.kind,
        scope.tenant().cloned(),
        login.to_string(),
        desk.policy,
    )
    .await?;
    state
        .metadata
        .record_staff_signin(&scope, &login, now())
        .await
        .map_err(|e| ApiError::internal("recording a sign-in", &e))?;
    append_audit(
        state,
        request,
        scope.tenant(),
        &actor,
        &format!("{}.signin", desk.kind),
        login.as_str(),
        String::new(),
    )
    .await?;
    let mut cookies = vec![started.set_cookie];
    cookies.extend(request.lang_cookie.clone());
    Ok(redirect(desk.home, &cookies))
}

fn activate_form(
    request: &WebRequest,
    desk: &'static Desk,
    filled: &Filled,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let (token, token_cookie) = csrf::anonymous_token(&request.headers)?;
    let mut frame = Frame::new(desk, request, T::ActivateTitle.text(lang));
    frame.path = format!("{}/activate", desk.base);
    frame.status = status;
    frame.cookies.extend(token_cookie);
    let rules = T::PasswordRules
        .with(lang, "min", &password::MIN_LENGTH.to_string())
        .replace("{max}", &password::MAX_LENGTH.to_string());
    let fields = activation_fields(&ActivationTexts {
        code_label: T::ActivationCode.text(lang),
        code_hint: T::ActivationCodeHint.text(lang),
        code_error: filled.code_error.map(|m| m.text(lang)),
        password_label: T::NewPassword.text(lang),
        rules: &rules,
        password_error: filled.password_error.as_deref(),
        repeat_label: T::RepeatPassword.text(lang),
        repeat_error: filled.repeat_error.map(|m| m.text(lang)),
    });
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{notice}<form class=\"card\" method=\"post\" action=\"{base}/activate\" novalidate>\
         {csrf}{identity}{fields}\
         <button class=\"primary\" type=\"submit\">{submit}</button></form>\
         <p><a href=\"{base}\">{sign_in}</a></p>",
        intro = escape(T::ActivateIntro.text(lang)),
        notice = notice_html(filled),
        base = desk.base,
        csrf = csrf::hidden_field(&token),
        identity = identity_fields(desk, lang, filled),
        submit = escape(T::Activate.text(lang)),
        sign_in = escape(T::HavePassword.text(lang)),
    );
    Ok(frame.into_response())
}

/// `POST /admin/activate`, `POST /operator/activate`: spends the code, sets the password.
async fn activate(
    state: &AppState,
    request: &WebRequest,
    body: &Bytes,
    desk: &'static Desk,
) -> PageResult {
    let lang = request.lang;
    let form = Form::parse(body)?;
    let mut filled = Filled::default();
    if !form_is_genuine(request, &form, &csrf::anonymous_expected(&request.headers)) {
        filled.message = Some((MessageKind::Error, T::FormExpired.text(lang).to_owned()));
        return activate_form(request, desk, &filled, StatusCode::FORBIDDEN);
    }
    let identity_read = read_identity(desk, lang, &form, &mut filled);
    let code = password::normalize_code(form.text("code"));
    if code.is_empty() {
        filled.code_error = Some(T::Required);
    }
    let new_password = form.raw("password");
    if let Err(problem) =
        password::check_rules(new_password, form.raw("password2"), &[&filled.login, &code])
    {
        use password::PasswordProblem as P;
        let min = password::MIN_LENGTH.to_string();
        let max = password::MAX_LENGTH.to_string();
        match problem {
            P::Mismatch => filled.repeat_error = Some(T::PasswordMismatch),
            P::TooShort => {
                filled.password_error = Some(T::PasswordTooShort.with(lang, "min", &min))
            }
            P::TooLong => filled.password_error = Some(T::PasswordTooLong.with(lang, "max", &max)),
            P::SameAsIdentifier => {
                filled.password_error = Some(T::PasswordIsLogin.text(lang).to_owned())
            }
            P::ControlCharacters => {
                filled.password_error = Some(T::PasswordControl.text(lang).to_owned())
            }
        }
    }
    let Some((scope, login)) = identity_read.filter(|_| !filled.has_field_errors()) else {
        filled.message = Some((MessageKind::Error, T::FixErrors.text(lang).to_owned()));
        return activate_form(request, desk, &filled, StatusCode::BAD_REQUEST);
    };
    let identity = identity(&scope, &login);
    let slot = match lockout::reserve(state, identity).await? {
        lockout::Reserved::Check(slot) => slot,
        lockout::Reserved::Locked(until) => {
            filled.message = Some((MessageKind::Error, locked_message(lang, until)));
            return activate_form(request, desk, &filled, StatusCode::TOO_MANY_REQUESTS);
        }
    };
    let account = state
        .metadata
        .get_staff_user(&scope, &login)
        .await
        .map_err(|e| ApiError::internal("staff account lookup", &e))?;
    let moment = now();
    let pending = account
        .as_ref()
        .filter(|user| user.password_hash.is_none() && user.disabled_at.is_none())
        .filter(|user| user.activation_expires_at.is_some_and(|end| moment <= end))
        .and_then(|user| user.activation_code_hash.clone());
    let code_matches = password::verify_async(code, pending.clone()).await?;
    let activated = match (&pending, code_matches) {
        (Some(code_hash), true) => {
            let password_hash = password::hash_async(new_password.to_owned()).await?;
            state
                .metadata
                .activate_staff_user(&scope, &login, code_hash, &password_hash, moment)
                .await
                .map_err(|e| ApiError::internal("activating a staff account", &e))?
        }
        _ => false,
    };
    let actor = desk.actor(&login);
    if !activated {
        let locked = slot.failed();
        if account.is_some() {
            append_audit(
                state,
                request,
                scope.tenant(),
                &actor,
                &format!("{}.activate.failed", desk.kind),
                login.as_str(),
                String::new(),
            )
            .await?;
        }
        let (status, text) = match locked {
            Some(until) => (StatusCode::TOO_MANY_REQUESTS, locked_message(lang, until)),
            None => (
                StatusCode::UNAUTHORIZED,
                T::ActivationFailed.text(lang).to_owned(),
            ),
        };
        filled.message = Some((MessageKind::Error, text));
        return activate_form(request, desk, &filled, status);
    }
    lockout::succeeded(state, identity).await?;
    append_audit(
        state,
        request,
        scope.tenant(),
        &actor,
        &format!("{}.activate", desk.kind),
        login.as_str(),
        String::new(),
    )
    .await?;
    let cookies: Vec<String> = request.lang_cookie.iter().cloned().collect();
    Ok(redirect(
        &format!("{}?notice=activated", desk.base),
        &cookies,
    ))
}

/// `POST /admin/logout`, `POST /operator/logout`.
async fn sign_out(
    state: &AppState,
    request: &WebRequest,
    body: &Bytes,
    desk: &'static Desk,
) -> PageResult {
    let live = match session::current(state, &request.headers, desk.kind, desk.policy).await? {
        Current::Live(live) => live,
        Current::None | Current::Ended => {
            return Ok(redirect(desk.base, &[session::clear_cookie()]));
        }
    };
    let form = Form::parse(body)?;
    if !form_is_genuine(request, &form, &live.csrf_secret) {
        let lang = request.lang;
        let mut frame = Frame::new(desk, request, T::ErrorTitle.text(lang));
        frame.status = StatusCode::FORBIDDEN;
        frame.body = format!(
            "{}<p><a href=\"{}\">{}</a></p>",
            message(MessageKind::Error, T::FormExpired.text(lang)),
            desk.home,
            escape(T::Back.text(lang))
        );
        return Ok(frame.into_response());
    }
    let cookie = session::end(state, &request.headers).await?;
    if let Ok(login) = StaffLogin::parse(&live.principal) {
        append_audit(
            state,
            request,
            live.tenant.as_ref(),
            &desk.actor(&login),
            &format!("{}.signout", desk.kind),
            login.as_str(),
            String::new(),
        )
        .await?;
    }
    Ok(redirect(
        &format!("{}?notice=signed-out", desk.base),
        &[cookie],
    ))
}
