//! The medical organisations' desk of the claims registers (`/claims` on a node of `--role
//! claims`, Russian by default and English): a login the fund created (`medgate claims user
//! add`) opens its one-time link once (`/claims/link?token=…`, never logged, shows a button; its
//! POST shows the login and the default password once, afterwards 410 Gone with a sentence
//! saying so), signs in, must replace the
//! default password before any other page opens, uploads register packages for an open
//! period and reads their format-logical control.
//!
//! | module | owns |
//! |---|---|
//! | this file | the desk ([`CLAIMS`]), the signed-in user, the accounts the foundation's sign-in flow uses, the link page, the password change |
//! | [`packages`] | "Загрузка файла" (the streamed upload, the packages with their status and progress), "ФЛК" (the findings, the `V` protocol) |
//! | [`correct`] | «Исправить» on the ФЛК tab: a finding's element corrected at the node, the corrected copy a new package controlled at once |
//! | [`registers`] | «Формирование» (forming registers from accepted cases), «Текущие реестры», a register's page with its state, history and the login's actions |
//! | [`signatures`] | «Администрирование → Электронная подпись» (the signer's certificate), the register's bytes to sign and the signature uploads |
//! | [`documents`] | a register's documents as pages and PDFs, the signed package |
//! | [`words`], [`register_words`] | the texts |
//!
//! Sign-in, lock-out after five failures, CSRF and sessions are the foundation's
//! (`medgate_web::desk::signin`), as on the staff pages. Another MO's package is the same
//! 404 page as a missing one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use medgate_claims::fund;
use medgate_claims::FundError;
use medgate_storage::{ClaimsUser, WebSession, WebSessionKind};
use medgate_web::desk::signin::{self, Accounts, Credentials, Filled, Word};
use medgate_web::desk::{
    expired, Desk, DeskUser, Frame, PageError, PageResult, SignedIn, SignedInHeader, Tab,
};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, Input, MessageKind};
use medgate_web::{session, AppState, Form, WebRequest};
use time::OffsetDateTime;

use register_words::W as RW;
use words::R;

mod correct;
mod documents;
mod mek;
pub mod operator;
mod packages;
mod register_words;
mod registers;
mod signatures;
mod words;

pub use packages::UPLOAD_PATH;

/// The session kind of the claims desk.
pub const CLAIMS_SESSION: WebSessionKind = WebSessionKind::new("claims");

/// Where a user whose password is still the default one is sent.
const PASSWORD_PATH: &str = "/claims/password";

/// The medical organisations' desk.
pub const CLAIMS: Desk = Desk {
    kind: CLAIMS_SESSION,
    base: "/claims",
    home: "/claims/upload",
    // A working day of uploads: 30 minutes idle, 10 hours at most.
    policy: session::SessionPolicy {
        idle: time::Duration::minutes(30),
        absolute: time::Duration::hours(10),
    },
    site: |lang| R::Site.text(lang),
    langs: Lang::RUSSIAN_DESK,
    tabs: &[
        Tab {
            href: "/claims/upload",
            label: |lang| R::NavUpload.text(lang),
        },
        Tab {
            href: "/claims/flk",
            label: |lang| R::NavFlk.text(lang),
        },
        Tab {
            href: "/claims/mek",
            label: |lang| R::NavMek.text(lang),
        },
        Tab {
            href: "/claims/forming",
            label: |lang| RW::NavForming.text(lang),
        },
        Tab {
            href: "/claims/registers",
            label: |lang| RW::NavRegisters.text(lang),
        },
        Tab {
            href: "/claims/admin/signature",
            label: |lang| RW::NavSignature.text(lang),
        },
    ],
    audit_prefix: "claims",
    sign_in_intro: |lang| R::SignInIntro.text(lang),
    sign_in_failed: |lang| R::SignInFailed.text(lang),
};

/// The tabs of an insurer's reviewer: the registers sent to their insurer (a register's
/// documents open from its page). The MO's tabs are not theirs: a direct visit to one is sent
/// to the registers ([`ClaimsStaff::require_mo`]).
const REVIEWER_TABS: &[Tab] = &[Tab {
    href: "/claims/registers",
    label: |lang| RW::NavReviewerRegisters.text(lang),
}];

/// Where an insurer's reviewer is sent from a tab of the MO's.
const REVIEWER_HOME: &str = "/claims/registers";

/// The desk's pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(signin::routes(&CLAIMS, &ClaimsAccounts))
        .route("/claims/link", get(link).post(open_link))
        .route(PASSWORD_PATH, get(password_form).post(change_password))
        .merge(packages::routes())
        .merge(correct::routes())
        .merge(mek::routes())
        .merge(registers::routes())
        .merge(signatures::routes())
        .merge(documents::routes())
        .merge(operator::routes())
}

/// The request as the desk hears it: Russian or English.
fn claims(request: WebRequest) -> WebRequest {
    request.speaking(CLAIMS.langs)
}

/// A signed-in login of a medical organisation, read on this request.
pub struct ClaimsStaff {
    session: WebSession,
    user: ClaimsUser,
}

impl DeskUser for ClaimsStaff {
    const DESK: &'static Desk = &CLAIMS;

    async fn from_session(
        state: &AppState,
        request: &WebRequest,
        live: WebSession,
    ) -> PageResult<ClaimsStaff> {
        let user = state
            .metadata
            .claims_user(&live.principal)
            .await
            .map_err(|e| ApiError::internal("reading a login", &e))?;
        match user {
            Some(user) => Ok(ClaimsStaff {
                session: live,
                user,
            }),
            None => {
                session::end(state, &request.headers).await?;
                Err(PageError::answer(expired(
                    &CLAIMS,
                    &[session::clear_cookie()],
                )))
            }
        }
    }
}

impl ClaimsStaff {
    /// A page of the desk at `path` with the header naming the login.
    fn frame(&self, request: &WebRequest, title: impl Into<String>, path: &str) -> Frame {
        let mut frame = Frame::new(&CLAIMS, request, title);
        frame.path = path.to_owned();
        frame.signed_in = Some(SignedInHeader {
            who: match (&self.user.mo_code, &self.user.smo_code) {
                (None, Some(smo)) => RW::ReviewerGreeting
                    .with(request.lang, "login", &self.user.login)
                    .replace("{smo}", smo),
                (mo, _) => R::Greeting
                    .with(request.lang, "login", &self.user.login)
                    .replace("{mo}", mo.as_deref().unwrap_or("")),
            },
            csrf_secret: self.session.csrf_secret.clone(),
        });
        if self.is_reviewer() {
            frame.tabs = Some(REVIEWER_TABS);
        }
        frame
    }

    /// True for an insurer's reviewer (`S<SMO>_R<n>`): no MO, no packages, no signatures.
    fn is_reviewer(&self) -> bool {
        self.user.mo_code.is_none() && self.user.smo_code.is_some()
    }

    /// A tab of the MO's (upload, ФЛК, МЭК, forming, the signer's certificate): an insurer's
    /// reviewer is sent to the registers sent to their insurer.
    fn require_mo(&self) -> PageResult<()> {
        if self.is_reviewer() {
            return Err(PageError::answer(redirect(REVIEWER_HOME, &[])));
        }
        Ok(())
    }

    /// Every page but the password change waits until the default password is replaced.
    fn require_own_password(&self) -> PageResult<()> {
        if self.user.must_change_password {
            return Err(PageError::answer(redirect(PASSWORD_PATH, &[])));
        }
        Ok(())
    }

    /// The POST's form when its token and origin are genuine; else the "form expired" page.
    fn genuine_form(&self, request: &WebRequest, body: &[u8]) -> PageResult<Form> {
        medgate_web::desk::genuine_form(request, body, &self.session.csrf_secret, || {
            let frame = self.frame(
                request,
                R::ErrorTitle.text(request.lang),
                request.uri.path(),
            );
            medgate_web::desk::frame::forged_page(frame)
        })
    }

    /// The 404 page of a package that is not this MO's (missing or another's).
    fn not_found(&self, request: &WebRequest) -> Response {
        let lang = request.lang;
        let mut page = self.frame(request, R::NotFoundTitle.text(lang), request.uri.path());
        page.status = StatusCode::NOT_FOUND;
        page.body = format!(
            "{}<p><a href=\"/claims/flk\">{}</a></p>",
            message(MessageKind::Error, R::NotFound.text(lang)),
            escape(R::Back.text(lang))
        );
        page.into_response()
    }

    /// The login's MO; empty for an insurer's reviewer (who has no packages).
    fn mo_code(&self) -> &str {
        self.user.mo_code.as_deref().unwrap_or("")
    }

    /// The login as the registers' service sees it.
    fn viewer(&self, request: &WebRequest) -> Option<medgate_claims::registers::Viewer> {
        medgate_claims::registers::Viewer::of(&self.user, request.origin())
    }

    fn uploader(&self, request: &WebRequest) -> medgate_claims::intake::Uploader {
        medgate_claims::intake::Uploader {
            login: self.user.login.clone(),
            mo_code: self.mo_code().to_owned(),
            subdivision_code: self.user.subdivision_code.clone(),
            origin: request.origin(),
        }
    }
}

/// The instant the node's clock says.
fn now(state: &AppState) -> OffsetDateTime {
    state.clock.now()
}

/// `GET /claims/link?token=…`: a page with one button that opens the link. A GET opens
/// nothing, so a mail scanner fetching the link ahead of its reader does not spend it, and the
/// language switch (which keeps the token) can be used before it is opened. The secret is in
/// the query string, which the request log leaves out (it logs the path).
async fn link(request: WebRequest) -> Response {
    let request = claims(request);
    let lang = request.lang;
    let token = request.query("token").unwrap_or_default();
    let mut frame = Frame::new(&CLAIMS, &request, R::LinkTitle.text(lang));
    frame.body = format!(
        "<p>{intro}</p><form class=\"card\" method=\"post\" action=\"/claims/link\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button class=\"primary\" type=\"submit\">{open}</button></form>",
        intro = escape(R::LinkOpenIntro.text(lang)),
        token = escape(&token),
        open = escape(R::LinkOpen.text(lang)),
    );
    frame.into_response()
}

/// `POST /claims/link` (`token`): the login and its default password, the first time only.
/// The token is the secret, so the form needs no other proof. The answer's language switch
/// leads to the sign-in page: the link is spent by then.
async fn open_link(
    State(state): State<AppState>,
    request: WebRequest,
    body: axum::body::Bytes,
) -> Response {
    let request = claims(request);
    let outcome = async {
        let lang = request.lang;
        let form = Form::parse(&body)?;
        let token = form.text("token");
        let opened = fund::open_link(&state.metadata, request.origin(), token, now(&state)).await;
        let mut frame = Frame::new(&CLAIMS, &request, R::LinkTitle.text(lang));
        frame.path = CLAIMS.base.to_owned();
        let sign_in = format!(
            "<p><a href=\"/claims\">{}</a></p>",
            escape(R::GoSignIn.text(lang))
        );
        match opened {
            Ok(shown) => {
                frame.body = format!(
                    "{notice}<dl class=\"card\"><dt>{login_label}</dt><dd><code>{login}</code></dd>\
                     <dt>{password_label}</dt><dd><code id=\"default-password\">{password}</code></dd></dl>{sign_in}",
                    notice = message(MessageKind::Info, R::LinkShown.text(lang)),
                    login_label = escape(R::LinkLogin.text(lang)),
                    login = escape(&shown.login),
                    password_label = escape(R::LinkPassword.text(lang)),
                    password = escape(&shown.password),
                );
            }
            Err(FundError::LinkSpent { at }) => {
                frame.status = StatusCode::GONE;
                frame.body = format!(
                    "{}{sign_in}",
                    message(MessageKind::Error, &R::LinkGone.with(lang, "at", &at))
                );
            }
            Err(FundError::LinkExpired) => {
                frame.status = StatusCode::GONE;
                frame.body = format!("{}{sign_in}", message(MessageKind::Error, R::LinkExpired.text(lang)));
            }
            Err(FundError::LinkUnknown) => {
                frame.status = StatusCode::NOT_FOUND;
                frame.body = format!("{}{sign_in}", message(MessageKind::Error, R::LinkUnknown.text(lang)));
            }
            Err(other) => return Err(PageError::from(ApiError::internal("opening a link", &other))),
        }
        Ok(frame.into_response())
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

#[derive(Default)]
struct PasswordErrors {
    current: Option<String>,
    new: Option<String>,
    repeat: Option<String>,
    message: Option<(MessageKind, String)>,
}

fn password_page(
    user: &ClaimsStaff,
    request: &WebRequest,
    errors: &PasswordErrors,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let mut frame = user.frame(request, R::ChangeTitle.text(lang), PASSWORD_PATH);
    frame.status = status;
    let field =
        |name: &'static str, label: R, error: &Option<String>, autocomplete: &'static str| {
            Input {
                name,
                label: label.text(lang),
                kind: "password",
                value: "",
                hint: None,
                error: error.as_deref(),
                required: true,
                extra: autocomplete,
            }
            .html()
        };
    let rules = R::PasswordRules
        .text(lang)
        .replace("{min}", &fund::PASSWORD_MIN_LENGTH.to_string())
        .replace("{max}", &fund::PASSWORD_MAX_LENGTH.to_string());
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{notice}<form class=\"card\" method=\"post\" action=\"{PASSWORD_PATH}\" novalidate>\
         {csrf}{current}{new}<p class=\"muted\">{rules}</p>{repeat}\
         <button class=\"primary\" type=\"submit\">{submit}</button></form>",
        intro = escape(R::ChangeIntro.text(lang)),
        notice = errors
            .message
            .as_ref()
            .map(|(kind, text)| message(*kind, text))
            .unwrap_or_default(),
        csrf = medgate_web::csrf::hidden_field(&user.session.csrf_secret),
        current = field("current", R::CurrentPassword, &errors.current, "autocomplete=\"current-password\" maxlength=\"256\""),
        new = field("new", R::NewPassword, &errors.new, "autocomplete=\"new-password\" maxlength=\"256\""),
        rules = escape(&rules),
        repeat = field("repeat", R::RepeatPassword, &errors.repeat, "autocomplete=\"new-password\" maxlength=\"256\""),
        submit = escape(R::Change.text(lang)),
    );
    Ok(frame.into_response())
}

/// `GET /claims/password`.
async fn password_form(request: WebRequest, SignedIn(user): SignedIn<ClaimsStaff>) -> Response {
    let request = claims(request);
    let outcome = password_page(&user, &request, &PasswordErrors::default(), StatusCode::OK);
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

/// `POST /claims/password`: the current password, the new one twice.
async fn change_password(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    body: axum::body::Bytes,
) -> Response {
    let request = claims(request);
    let outcome = async {
        let lang = request.lang;
        let form = user.genuine_form(&request, &body)?;
        let (current, new, repeat) = (form.raw("current"), form.raw("new"), form.raw("repeat"));
        let mut errors = PasswordErrors::default();
        if new != repeat {
            errors.repeat = Some(R::Mismatch.text(lang).to_owned());
        } else {
            match fund::change_password(
                &state.metadata,
                request.origin(),
                &user.user.login,
                current,
                new,
            )
            .await
            {
                Ok(()) => return Ok(redirect(&format!("{}?changed=1", CLAIMS.home), &[])),
                Err(FundError::WrongPassword) => {
                    errors.current = Some(R::WrongCurrent.text(lang).to_owned())
                }
                Err(FundError::Invalid { rule, rule_ru, .. }) => {
                    errors.new = Some(match (lang, rule_ru) {
                        (Lang::Ru, Some(rule_ru)) => rule_ru,
                        _ => rule,
                    })
                }
                Err(other) => {
                    return Err(PageError::from(ApiError::internal(
                        "changing a password",
                        &other,
                    )))
                }
            }
        }
        errors.message = Some((MessageKind::Error, R::FixErrors.text(lang).to_owned()));
        password_page(&user, &request, &errors, StatusCode::BAD_REQUEST)
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

/// The logins of the medical organisations, as the foundation's sign-in flow uses them.
pub struct ClaimsAccounts;

fn valid_login(login: &str) -> bool {
    (1..=40).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Accounts for ClaimsAccounts {
    type Who = String;

    fn word(&self, word: Word, lang: Lang) -> &'static str {
        match word {
            Word::HaveCode => R::HaveCode,
            Word::ActivateTitle => R::ActivateTitle,
            Word::ActivateIntro => R::ActivateIntro,
            Word::Activate => R::Activate,
            Word::CodeHint => R::CodeHint,
            Word::PasswordRules => R::PasswordRules,
            Word::PasswordIsIdentifier => R::PasswordIsLogin,
            Word::FixErrors => R::FixErrors,
        }
        .text(lang)
    }

    fn identity_fields(&self, lang: Lang, filled: &Filled) -> String {
        Input {
            hint: Some(R::LoginHint.text(lang)),
            error: filled.name_error.as_deref(),
            required: true,
            extra: "autocomplete=\"username\" maxlength=\"40\"",
            ..Input::text("login", R::Login.text(lang), &filled.name)
        }
        .html()
    }

    fn read_identity(&self, lang: Lang, form: &Form, filled: &mut Filled) -> Option<String> {
        filled.name = form.text("login").trim().to_owned();
        if filled.name.is_empty() {
            filled.name_error = Some(R::BadLogin.text(lang).to_owned());
            return None;
        }
        if !valid_login(&filled.name) {
            filled.name_error = Some(R::BadLogin.text(lang).to_owned());
            return None;
        }
        Some(filled.name.clone())
    }

    fn of_session(&self, session: &WebSession) -> Option<String> {
        Some(session.principal.clone())
    }

    fn tenant<'a>(&self, _who: &'a String) -> Option<&'a medgate_ids::TenantId> {
        None
    }

    fn principal(&self, who: &String) -> String {
        who.clone()
    }

    fn identifier(&self, who: Option<&String>, filled: &Filled) -> String {
        who.cloned().unwrap_or_else(|| filled.name.clone())
    }

    fn audit_names(&self, _desk: &Desk, who: &String) -> (String, Option<String>) {
        (format!("claims:{who}"), None)
    }

    async fn credentials(
        &self,
        state: &AppState,
        who: &String,
        _moment: OffsetDateTime,
    ) -> Result<Option<Credentials>, ApiError> {
        let user = state
            .metadata
            .claims_user(who)
            .await
            .map_err(|e| ApiError::internal("reading a login", &e))?;
        // The default password signs in too (the desk then asks for a new one); there is no
        // activation code: the one-time link shows the default password instead.
        Ok(user.map(|user| Credentials {
            password_hash: Some(user.password_hash),
            pending_code: None,
        }))
    }

    async fn activate(
        &self,
        _state: &AppState,
        _who: &String,
        _code_hash: &str,
        _password_hash: &str,
        _moment: OffsetDateTime,
    ) -> Result<bool, ApiError> {
        Ok(false)
    }

    async fn signed_in(
        &self,
        _state: &AppState,
        _who: &String,
        _moment: OffsetDateTime,
    ) -> Result<(), ApiError> {
        Ok(())
    }
}
