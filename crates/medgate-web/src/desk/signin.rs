//! Signing in to a desk, activating an account with its one-time code, and signing out: one
//! flow for every desk. What differs between desks is whose accounts they are
//! ([`Accounts`]): a tenant's staff name the tenant (account id) and a login, the node's
//! operators a login, patients the clinic id and their PESEL. Failures are counted per
//! identity typed (lock-out after five), whether or not the account exists, and answered in
//! the same words; a missing account still costs one Argon2id verification, so timing says
//! nothing either. Every step is in the audit log (`<prefix>.signin`, `.signin.failed`,
//! `.activate`, `.activate.failed`, `.signout`, with the desk's [`Desk::audit_prefix`]).

use std::future::Future;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use medgate_ids::TenantId;
use medgate_storage::{NewAuditEntry, SigninIdentity, StaffLogin, StaffScope, WebSession};
use time::OffsetDateTime;

use super::text::T;
use super::{form_is_genuine, respond, Desk, Frame, PageResult};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::layout::{activation_fields, escape, message, redirect, ActivationTexts, Input, MessageKind};
use crate::now;
use crate::session::{self, Current};
use crate::state::AppState;
use crate::{csrf, lockout, password, Form, WebRequest};

/// The words of the flow that depend on who signs in (a patient is told about their PESEL
/// and their clinic, staff about their login and the operator).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Word {
    HaveCode,
    ActivateTitle,
    ActivateIntro,
    Activate,
    CodeHint,
    /// With `{min}` and `{max}`.
    PasswordRules,
    PasswordIsIdentifier,
    FixErrors,
}

/// The flow's words in the page's language: the staff desks' words, and on a Hungarian
/// desk (the clinical record service's patient portal) the same in Hungarian.
trait Say: Copy {
    fn say(self, lang: Lang) -> &'static str;

    /// With its `{name}` placeholder replaced by `value` (not escaped).
    fn say_with(self, lang: Lang, name: &str, value: &str) -> String {
        self.say(lang).replace(&format!("{{{name}}}"), value)
    }
}

impl Say for T {
    fn say(self, lang: Lang) -> &'static str {
        if lang != Lang::Hu {
            return self.text(lang);
        }
        match self {
            T::SignInTitle => "Bejelentkezés",
            T::SignIn => "Belépés",
            T::Password => "Jelszó",
            T::Activated => "A jelszó beállítva. Jelentkezzen be.",
            T::SignedOut => "Kijelentkezett.",
            T::SessionExpired => "A munkamenet lejárt. Jelentkezzen be újra.",
            T::Locked => "Túl sok sikertelen próbálkozás. A belépés és az aktiválás ezekkel az adatokkal {minutes} percre zárolva ({until} UTC-ig).",
            T::Required => "Kötelező mező.",
            T::PasswordMismatch => "A megismételt jelszó eltér az elsőtől.",
            T::PasswordTooShort => "A jelszó legalább {min} karakter legyen.",
            T::PasswordTooLong => "A jelszó legfeljebb {max} karakter lehet.",
            T::PasswordControl => "A jelszó nem tartalmazhat vezérlőkaraktert.",
            T::FormExpired => "Az űrlap lejárt vagy nem erről az oldalról érkezett. Töltse ki újra.",
            T::ActivationFailed => "Az aktiválás nem sikerült: az adatok vagy az aktiváló kód hibásak, a kód lejárt, vagy már felhasználták.",
            T::ActivationCode => "Aktiváló kód",
            T::NewPassword => "Új jelszó",
            T::RepeatPassword => "Új jelszó még egyszer",
            T::HavePassword => "Van már jelszava? Jelentkezzen be",
            T::ErrorTitle => "Hiba",
            T::Back => "← Vissza",
            other => other.text(lang),
        }
    }
}

/// What an account keeps for signing in, as [`Accounts::credentials`] finds it now.
pub struct Credentials {
    /// The password hash when the account may sign in now.
    pub password_hash: Option<String>,
    /// The activation code's hash when the account waits for activation and the code has
    /// not expired.
    pub pending_code: Option<String>,
}

/// Whose accounts sign in to a desk: how the forms name one, and where its password and
/// activation code are kept.
pub trait Accounts: Send + Sync + 'static {
    /// An account's identity as the form names it.
    type Who: Send + Sync;

    fn word(&self, word: Word, lang: Lang) -> &'static str;

    /// The identity fields of both forms, with what `filled` holds.
    fn identity_fields(&self, lang: Lang, filled: &Filled) -> String;

    /// Reads the identity fields into `filled`; `None` (with the field errors set) when
    /// they do not name an account.
    fn read_identity(&self, lang: Lang, form: &Form, filled: &mut Filled) -> Option<Self::Who>;

    /// The identity of a live session's user (for the sign-out's audit entry).
    fn of_session(&self, session: &WebSession) -> Option<Self::Who>;

    fn tenant<'a>(&self, who: &'a Self::Who) -> Option<&'a TenantId>;

    /// The session's principal, also the lock-out's and the audit entries' target.
    fn principal(&self, who: &Self::Who) -> String;

    /// What the new password must differ from (besides the code).
    fn identifier(&self, who: Option<&Self::Who>, filled: &Filled) -> String;

    /// The actor and the patient of the account's audit entries.
    fn audit_names(&self, desk: &Desk, who: &Self::Who) -> (String, Option<String>);

    /// The account's credentials; `None` when there is no such account.
    fn credentials(
        &self,
        state: &AppState,
        who: &Self::Who,
        moment: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Credentials>, ApiError>> + Send;

    /// Sets the password of an account whose pending code had `code_hash`; `false` when the
    /// code was spent meanwhile.
    fn activate(
        &self,
        state: &AppState,
        who: &Self::Who,
        code_hash: &str,
        password_hash: &str,
        moment: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, ApiError>> + Send;

    /// Notes a successful sign-in on the account.
    fn signed_in(
        &self,
        state: &AppState,
        who: &Self::Who,
        moment: OffsetDateTime,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// What the forms show again after a failed submit.
#[derive(Default)]
pub struct Filled {
    pub tenant: String,
    /// The login or the patient identifier, as typed.
    pub name: String,
    /// The activation code, as typed.
    pub code: String,
    pub tenant_error: Option<String>,
    pub name_error: Option<String>,
    pub code_error: Option<String>,
    pub password_error: Option<String>,
    pub repeat_error: Option<String>,
    pub message: Option<(MessageKind, String)>,
}

impl Filled {
    fn has_field_errors(&self) -> bool {
        self.tenant_error.is_some()
            || self.name_error.is_some()
            || self.code_error.is_some()
            || self.password_error.is_some()
            || self.repeat_error.is_some()
    }
}

/// Reads the tenant field (16 digits, spaces allowed) into `filled`.
pub fn read_tenant(lang: Lang, form: &Form, filled: &mut Filled, bad: &str) -> Option<TenantId> {
    filled.tenant = form.text("tenant").to_owned();
    let digits: String = filled
        .tenant
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if digits.is_empty() {
        filled.tenant_error = Some(T::Required.say(lang).to_owned());
        return None;
    }
    let parsed = TenantId::parse(&digits).ok();
    if parsed.is_none() {
        filled.tenant_error = Some(bad.to_owned());
    }
    parsed
}

/// The desk's sign-in (`{base}`), activation (`{base}/activate`) and sign-out
/// (`{base}/logout`) routes for `accounts`.
pub fn routes<A: Accounts>(desk: &'static Desk, accounts: &'static A) -> Router<AppState> {
    Router::new()
        .route(
            desk.base,
            get(move |State(state): State<AppState>, request: WebRequest| async move {
                let request = request.speaking(desk.langs);
                    let outcome = sign_in_page(&state, &request, desk, accounts).await;
                respond(desk, &request, outcome)
            })
            .post(
                move |State(state): State<AppState>, request: WebRequest, body: Bytes| async move {
                    let request = request.speaking(desk.langs);
                    let outcome = sign_in(&state, &request, &body, desk, accounts).await;
                    respond(desk, &request, outcome)
                },
            ),
        )
        .route(
            &format!("{}/activate", desk.base),
            get(move |request: WebRequest| async move {
                let request = request.speaking(desk.langs);
                let outcome =
                    activate_form(&request, desk, accounts, &Filled::default(), StatusCode::OK);
                respond(desk, &request, outcome)
            })
            .post(
                move |State(state): State<AppState>, request: WebRequest, body: Bytes| async move {
                    let request = request.speaking(desk.langs);
                    let outcome = activate(&state, &request, &body, desk, accounts).await;
                    respond(desk, &request, outcome)
                },
            ),
        )
        .route(
            &format!("{}/logout", desk.base),
            post(
                move |State(state): State<AppState>, request: WebRequest, body: Bytes| async move {
                    let request = request.speaking(desk.langs);
                    let outcome = sign_out(&state, &request, &body, desk, accounts).await;
                    respond(desk, &request, outcome)
                },
            ),
        )
}

fn notice_html(filled: &Filled) -> String {
    filled
        .message
        .as_ref()
        .map(|(kind, text)| message(*kind, text))
        .unwrap_or_default()
}

fn sign_in_form<A: Accounts>(
    request: &WebRequest,
    desk: &'static Desk,
    accounts: &A,
    filled: &Filled,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let (token, token_cookie) = csrf::anonymous_token(&request.headers)?;
    let mut frame = Frame::new(desk, request, T::SignInTitle.say(lang));
    frame.path = desk.base.to_owned();
    frame.status = status;
    frame.cookies.extend(token_cookie);
    let password = Input {
        name: "password",
        label: T::Password.say(lang),
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
        identity = accounts.identity_fields(lang, filled),
        password = password.html(),
        submit = escape(T::SignIn.say(lang)),
        activate = escape(accounts.word(Word::HaveCode, lang)),
    );
    Ok(frame.into_response())
}

/// `GET {base}`: the sign-in form; a signed-in user goes on to the desk.
async fn sign_in_page<A: Accounts>(
    state: &AppState,
    request: &WebRequest,
    desk: &'static Desk,
    accounts: &A,
) -> PageResult {
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
        // After an activation the account id is filled in; the login is typed again.
        tenant: request.query("tenant").unwrap_or_default(),
        message: notice.map(|m| (MessageKind::Info, m.say(lang).to_owned())),
        ..Filled::default()
    };
    sign_in_form(request, desk, accounts, &filled, StatusCode::OK)
}

fn locked_message(lang: Lang, until: OffsetDateTime) -> String {
    let until = until.to_offset(time::UtcOffset::UTC);
    T::Locked
        .say_with(
            lang,
            "minutes",
            &lockout::POLICY.lock_for.whole_minutes().to_string(),
        )
        .replace(
            "{until}",
            &format!("{:02}:{:02}", until.hour(), until.minute()),
        )
}

/// Appends the audit entry of a sign-in step of `who`.
async fn audit<A: Accounts>(
    state: &AppState,
    request: &WebRequest,
    desk: &Desk,
    accounts: &A,
    who: &A::Who,
    step: &str,
) -> Result<(), ApiError> {
    let (actor, patient) = accounts.audit_names(desk, who);
    state
        .metadata
        .append_audit(&NewAuditEntry {
            tenant: accounts.tenant(who).cloned(),
            actor,
            action: format!("{}.{step}", desk.audit_prefix),
            target: accounts.principal(who),
            origin: request.origin(),
            details: String::new(),
            patient,
        })
        .await
        .map(|_| ())
        .map_err(|e| ApiError::internal("audit log", &e))
}

/// A failed attempt (already counted by `slot`): audited when the account exists, answered
/// with the status and sentence to show.
#[allow(clippy::too_many_arguments)] // One call per form; a struct would only rename them.
async fn refused<A: Accounts>(
    state: &AppState,
    request: &WebRequest,
    desk: &Desk,
    accounts: &A,
    who: &A::Who,
    known: bool,
    slot: lockout::Slot,
    step: &str,
    failed: &str,
) -> Result<(StatusCode, String), ApiError> {
    let locked = slot.failed();
    if known {
        audit(state, request, desk, accounts, who, step).await?;
    }
    Ok(match locked {
        Some(until) => (
            StatusCode::TOO_MANY_REQUESTS,
            locked_message(request.lang, until),
        ),
        None => (StatusCode::UNAUTHORIZED, failed.to_owned()),
    })
}

/// The lock-out's name of an identity typed.
fn identity<'a, A: Accounts>(
    desk: &Desk,
    accounts: &A,
    who: &'a A::Who,
    principal: &'a str,
) -> SigninIdentity<'a> {
    SigninIdentity {
        kind: desk.kind,
        tenant: accounts.tenant(who).map(TenantId::as_str).unwrap_or(""),
        principal,
    }
}

/// An attempt to sign in or activate, counted by the lock-out before anything is checked.
struct Attempt {
    principal: String,
    slot: lockout::Slot,
    moment: OffsetDateTime,
    /// `None`: no such account.
    credentials: Option<Credentials>,
}

/// Reserves an attempt on `who` and reads the account's credentials; `Err(until)` while the
/// identity is locked.
async fn attempt<A: Accounts>(
    state: &AppState,
    desk: &Desk,
    accounts: &A,
    who: &A::Who,
) -> Result<Result<Attempt, OffsetDateTime>, ApiError> {
    let principal = accounts.principal(who);
    let slot = match lockout::reserve(state, identity(desk, accounts, who, &principal)).await? {
        lockout::Reserved::Check(slot) => slot,
        lockout::Reserved::Locked(until) => return Ok(Err(until)),
    };
    let moment = now();
    let credentials = accounts.credentials(state, who, moment).await?;
    Ok(Ok(Attempt {
        principal,
        slot,
        moment,
        credentials,
    }))
}

/// `POST {base}`.
async fn sign_in<A: Accounts>(
    state: &AppState,
    request: &WebRequest,
    body: &Bytes,
    desk: &'static Desk,
    accounts: &A,
) -> PageResult {
    let lang = request.lang;
    let form = Form::parse(body)?;
    let mut filled = Filled::default();
    if !form_is_genuine(request, &form, &csrf::anonymous_expected(&request.headers)) {
        filled.message = Some((MessageKind::Error, T::FormExpired.say(lang).to_owned()));
        return sign_in_form(request, desk, accounts, &filled, StatusCode::FORBIDDEN);
    }
    let Some(who) = accounts.read_identity(lang, &form, &mut filled) else {
        let fix = accounts.word(Word::FixErrors, lang).to_owned();
        filled.message = Some((MessageKind::Error, fix));
        return sign_in_form(request, desk, accounts, &filled, StatusCode::BAD_REQUEST);
    };
    let Attempt {
        principal,
        slot,
        moment,
        credentials,
    } = match attempt(state, desk, accounts, &who).await? {
        Ok(attempt) => attempt,
        Err(until) => {
            filled.message = Some((MessageKind::Error, locked_message(lang, until)));
            return sign_in_form(request, desk, accounts, &filled, StatusCode::TOO_MANY_REQUESTS);
        }
    };
    let stored = credentials
        .as_ref()
        .and_then(|credentials| credentials.password_hash.clone());
    let matches = password::verify_async(form.raw("password").to_owned(), stored).await?;
    if !matches {
        let failed = (desk.sign_in_failed)(lang);
        let known = credentials.is_some();
        let (status, text) = refused(
            state, request, desk, accounts, &who, known, slot, "signin.failed", failed,
        )
        .await?;
        filled.message = Some((MessageKind::Error, text));
        return sign_in_form(request, desk, accounts, &filled, status);
    }

    lockout::succeeded(state, identity(desk, accounts, &who, &principal)).await?;
    // A session the browser may still hold ends: every sign-in gets a fresh token.
    session::end(state, &request.headers).await?;
    let started = session::start(
        state,
        desk.kind,
        accounts.tenant(&who).cloned(),
        principal.clone(),
        desk.policy,
    )
    .await?;
    accounts.signed_in(state, &who, moment).await?;
    audit(state, request, desk, accounts, &who, "signin").await?;
    let mut cookies = vec![started.set_cookie];
    cookies.extend(request.lang_cookie.clone());
    Ok(redirect(desk.home, &cookies))
}

fn activate_form<A: Accounts>(
    request: &WebRequest,
    desk: &'static Desk,
    accounts: &A,
    filled: &Filled,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let (token, token_cookie) = csrf::anonymous_token(&request.headers)?;
    let mut frame = Frame::new(desk, request, accounts.word(Word::ActivateTitle, lang));
    frame.path = format!("{}/activate", desk.base);
    frame.status = status;
    frame.cookies.extend(token_cookie);
    let rules = accounts
        .word(Word::PasswordRules, lang)
        .replace("{min}", &password::MIN_LENGTH.to_string())
        .replace("{max}", &password::MAX_LENGTH.to_string());
    let fields = activation_fields(&ActivationTexts {
        code_value: &filled.code,
        code_label: T::ActivationCode.say(lang),
        code_hint: accounts.word(Word::CodeHint, lang),
        code_error: filled.code_error.as_deref(),
        password_label: T::NewPassword.say(lang),
        rules: &rules,
        password_error: filled.password_error.as_deref(),
        repeat_label: T::RepeatPassword.say(lang),
        repeat_error: filled.repeat_error.as_deref(),
    });
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{notice}<form class=\"card\" method=\"post\" action=\"{base}/activate\" novalidate>\
         {csrf}{identity}{fields}\
         <button class=\"primary\" type=\"submit\">{submit}</button></form>\
         <p><a href=\"{base}\">{sign_in}</a></p>",
        intro = escape(accounts.word(Word::ActivateIntro, lang)),
        notice = notice_html(filled),
        base = desk.base,
        csrf = csrf::hidden_field(&token),
        identity = accounts.identity_fields(lang, filled),
        submit = escape(accounts.word(Word::Activate, lang)),
        sign_in = escape(T::HavePassword.say(lang)),
    );
    Ok(frame.into_response())
}

/// `POST {base}/activate`: spends the code, sets the password.
async fn activate<A: Accounts>(
    state: &AppState,
    request: &WebRequest,
    body: &Bytes,
    desk: &'static Desk,
    accounts: &A,
) -> PageResult {
    let lang = request.lang;
    let form = Form::parse(body)?;
    let mut filled = Filled::default();
    if !form_is_genuine(request, &form, &csrf::anonymous_expected(&request.headers)) {
        filled.message = Some((MessageKind::Error, T::FormExpired.say(lang).to_owned()));
        return activate_form(request, desk, accounts, &filled, StatusCode::FORBIDDEN);
    }
    let who = accounts.read_identity(lang, &form, &mut filled);
    filled.code = form.text("code").trim().to_owned();
    let code = password::normalize_code(form.text("code"));
    if code.is_empty() {
        filled.code_error = Some(T::Required.say(lang).to_owned());
    }
    let new_password = form.raw("password");
    let identifier = accounts.identifier(who.as_ref(), &filled);
    if let Err(problem) =
        password::check_rules(new_password, form.raw("password2"), &[&identifier, &code])
    {
        use password::PasswordProblem as P;
        let min = password::MIN_LENGTH.to_string();
        let max = password::MAX_LENGTH.to_string();
        match problem {
            P::Mismatch => {
                filled.repeat_error = Some(T::PasswordMismatch.say(lang).to_owned())
            }
            P::TooShort => {
                filled.password_error = Some(T::PasswordTooShort.say_with(lang, "min", &min))
            }
            P::TooLong => filled.password_error = Some(T::PasswordTooLong.say_with(lang, "max", &max)),
            P::SameAsIdentifier => {
                let text = accounts.word(Word::PasswordIsIdentifier, lang);
                filled.password_error = Some(text.to_owned())
            }
            P::ControlCharacters => {
                filled.password_error = Some(T::PasswordControl.say(lang).to_owned())
            }
        }
    }
    let Some(who) = who.filter(|_| !filled.has_field_errors()) else {
        let fix = accounts.word(Word::FixErrors, lang).to_owned();
        filled.message = Some((MessageKind::Error, fix));
        return activate_form(request, desk, accounts, &filled, StatusCode::BAD_REQUEST);
    };
    let Attempt {
        principal,
        slot,
        moment,
        credentials,
    } = match attempt(state, desk, accounts, &who).await? {
        Ok(attempt) => attempt,
        Err(until) => {
            filled.message = Some((MessageKind::Error, locked_message(lang, until)));
            return activate_form(request, desk, accounts, &filled, StatusCode::TOO_MANY_REQUESTS);
        }
    };
    let pending = credentials
        .as_ref()
        .and_then(|credentials| credentials.pending_code.clone());
    let code_matches = password::verify_async(code, pending.clone()).await?;
    let activated = match (&pending, code_matches) {
        (Some(code_hash), true) => {
            let password_hash = password::hash_async(new_password.to_owned()).await?;
            accounts
                .activate(state, &who, code_hash, &password_hash, moment)
                .await?
        }
        _ => false,
    };
    if !activated {
        let failed = T::ActivationFailed.say(lang);
        let known = credentials.is_some();
        let (status, text) = refused(
            state, request, desk, accounts, &who, known, slot, "activate.failed", failed,
        )
        .await?;
        filled.message = Some((MessageKind::Error, text));
        return activate_form(request, desk, accounts, &filled, status);
    }
    lockout::succeeded(state, identity(desk, accounts, &who, &principal)).await?;
    audit(state, request, desk, accounts, &who, "activate").await?;
    let cookies: Vec<String> = request.lang_cookie.iter().cloned().collect();
    let tenant = accounts
        .tenant(&who)
        .map(|tenant| format!("&tenant={tenant}"))
        .unwrap_or_default();
    Ok(redirect(
        &format!("{}?notice=activated{tenant}", desk.base),
        &cookies,
    ))
}

/// `POST {base}/logout`.
async fn sign_out<A: Accounts>(
    state: &AppState,
    request: &WebRequest,
    body: &Bytes,
    desk: &'static Desk,
    accounts: &A,
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
        let mut frame = Frame::new(desk, request, T::ErrorTitle.say(lang));
        frame.status = StatusCode::FORBIDDEN;
        frame.body = format!(
            "{}<p><a href=\"{}\">{}</a></p>",
            message(MessageKind::Error, T::FormExpired.say(lang)),
            desk.home,
            escape(T::Back.say(lang))
        );
        return Ok(frame.into_response());
    }
    let cookie = session::end(state, &request.headers).await?;
    if let Some(who) = accounts.of_session(&live) {
        audit(state, request, desk, accounts, &who, "signout").await?;
    }
    Ok(redirect(
        &format!("{}?notice=signed-out", desk.base),
        &[cookie],
    ))
}

// ---------------------------------------------------------------------------------------
// Staff accounts
// ---------------------------------------------------------------------------------------

/// The staff accounts of a desk: a tenant's (its administrators) or the node's (operators).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffAccounts {
    Tenant,
    Node,
}

impl StaffAccounts {
    /// The staff scope whose accounts sign in here: `tenant` for a tenant's desk.
    pub fn scope(self, tenant: Option<TenantId>) -> Option<StaffScope> {
        match (self, tenant) {
            (StaffAccounts::Tenant, Some(tenant)) => Some(StaffScope::Admin(tenant)),
            (StaffAccounts::Node, None) => Some(StaffScope::Operator),
            _ => None,
        }
    }
}

impl Accounts for StaffAccounts {
    type Who = (StaffScope, StaffLogin);

    fn word(&self, word: Word, lang: Lang) -> &'static str {
        match word {
            Word::HaveCode => T::HaveCode,
            Word::ActivateTitle => T::ActivateTitle,
            Word::ActivateIntro => T::ActivateIntro,
            Word::Activate => T::Activate,
            Word::CodeHint => T::ActivationCodeHint,
            Word::PasswordRules => T::PasswordRules,
            Word::PasswordIsIdentifier => T::PasswordIsLogin,
            Word::FixErrors => T::FixErrors,
        }
        .text(lang)
    }

    fn identity_fields(&self, lang: Lang, filled: &Filled) -> String {
        let tenant = match self {
            StaffAccounts::Tenant => Input {
                name: "tenant",
                label: T::AccountId.say(lang),
                kind: "text",
                value: &filled.tenant,
                hint: Some(T::AccountIdHint.say(lang)),
                error: filled.tenant_error.as_deref(),
                required: true,
                extra: "inputmode=\"numeric\" autocomplete=\"organization\" maxlength=\"32\"",
            }
            .html(),
            StaffAccounts::Node => String::new(),
        };
        let login = Input {
            name: "login",
            label: T::Login.say(lang),
            kind: "text",
            value: &filled.name,
            hint: None,
            error: filled.name_error.as_deref(),
            required: true,
            extra: "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"64\"",
        }
        .html();
        format!("{tenant}{login}")
    }

    fn read_identity(&self, lang: Lang, form: &Form, filled: &mut Filled) -> Option<Self::Who> {
        let scope = match self {
            StaffAccounts::Node => self.scope(None),
            StaffAccounts::Tenant => {
                read_tenant(lang, form, filled, T::BadAccountId.say(lang)).and_then(|tenant| self.scope(Some(tenant)))
            }
        };
        filled.name = form.text("login").to_owned();
        let login = if filled.name.is_empty() {
            filled.name_error = Some(T::Required.say(lang).to_owned());
            None
        } else {
            match StaffLogin::parse(&filled.name) {
                Ok(login) => Some(login),
                Err(_) => {
                    filled.name_error = Some(T::BadLogin.say(lang).to_owned());
                    None
                }
            }
        };
        Some((scope?, login?))
    }

    fn of_session(&self, session: &WebSession) -> Option<Self::Who> {
        let scope = self.scope(session.tenant.clone())?;
        Some((scope, StaffLogin::parse(&session.principal).ok()?))
    }

    fn tenant<'a>(&self, who: &'a Self::Who) -> Option<&'a TenantId> {
        who.0.tenant()
    }

    fn principal(&self, who: &Self::Who) -> String {
        who.1.to_string()
    }

    fn identifier(&self, _who: Option<&Self::Who>, filled: &Filled) -> String {
        filled.name.clone()
    }

    fn audit_names(&self, desk: &Desk, who: &Self::Who) -> (String, Option<String>) {
        (desk.actor(&who.1), None)
    }

    async fn credentials(
        &self,
        state: &AppState,
        (scope, login): &Self::Who,
        moment: OffsetDateTime,
    ) -> Result<Option<Credentials>, ApiError> {
        let account = state
            .metadata
            .get_staff_user(scope, login)
            .await
            .map_err(|e| ApiError::internal("staff account lookup", &e))?;
        Ok(account.map(|user| {
            let enabled = user.disabled_at.is_none();
            let waiting = user.password_hash.is_none()
                && user.activation_expires_at.is_some_and(|end| moment <= end);
            Credentials {
                password_hash: user.password_hash.clone().filter(|_| enabled),
                pending_code: user
                    .activation_code_hash
                    .clone()
                    .filter(|_| enabled && waiting),
            }
        }))
    }

    async fn activate(
        &self,
        state: &AppState,
        (scope, login): &Self::Who,
        code_hash: &str,
        password_hash: &str,
        moment: OffsetDateTime,
    ) -> Result<bool, ApiError> {
        state
            .metadata
            .activate_staff_user(scope, login, code_hash, password_hash, moment)
            .await
            .map_err(|e| ApiError::internal("activating a staff account", &e))
    }

    async fn signed_in(
        &self,
        state: &AppState,
        (scope, login): &Self::Who,
        moment: OffsetDateTime,
    ) -> Result<(), ApiError> {
        state
            .metadata
            .record_staff_signin(scope, login, moment)
            .await
            .map_err(|e| ApiError::internal("recording a sign-in", &e))
    }
}
