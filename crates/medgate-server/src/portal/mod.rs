//! The patient portal (SPEC §5): a patient activates the account the clinic created when it
//! sent a consent (one-time code + new password), signs in with the clinic id, their PESEL
//! and password, and sees exactly the documents shared with them by sent consents whose
//! dates include today — listed, opened rendered, and the access log of their documents.
//!
//! Nothing is cached: every page asks the database which consents are in force at this
//! moment, so a revocation or the end of a consent's dates hides its documents on the next
//! request. A document not shared right now gets the same 404 page whether it exists, belongs
//! to another patient or another clinic. Every page view, document open, sign-in and
//! sign-out is in the audit log with the patient, so it shows in the patient's access log.

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_ids::{Oid, TenantId};
use medgate_storage::{
    AuditEntry, DocumentId, DocumentKind, NewAuditEntry, PatientIdentifier, SharedDocument,
    SigninIdentity, WebSession, WebSessionKind,
};
use time::OffsetDateTime;

use medgate_web::desk::{
    expired, respond, Accounts, Desk, DeskUser, Frame, PageError, PageResult, SignedIn,
    SignedInHeader, Tab,
};
use medgate_web::i18n::{action_label, Lang, Msg};
use medgate_web::layout::{activation_fields, escape, message, redirect, ActivationTexts, Input, MessageKind};
use medgate_web::session::{self, Current};
use medgate_web::{csrf, lockout, password, Form, WebRequest};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

/// Entries shown in the access log.
const ACCESS_LOG_LIMIT: u32 = 200;

/// The session kind of the patients' desk.
pub const PATIENT_SESSION: WebSessionKind = WebSessionKind::new("patient");

/// The patients' desk.
pub const PATIENT: Desk = Desk {
    kind: PATIENT_SESSION,
    base: "/portal",
    home: "/portal/documents",
    policy: session::PATIENT,
    site: |lang| Msg::PortalTitle.text(lang),
    tabs: &[
        Tab { href: "/portal/documents", label: |lang| Msg::Documents.text(lang) },
        Tab { href: "/portal/access-log", label: |lang| Msg::AccessLog.text(lang) },
    ],
    accounts: Accounts::Patients,
    sign_in_intro: |lang| Msg::SignInIntro.text(lang),
    sign_in_failed: |lang| Msg::SignInFailed.text(lang),
};

/// The portal's pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal", get(sign_in_page).post(sign_in))
        .route("/portal/activate", get(activate_page).post(activate))
        .route("/portal/documents", get(documents_page))
        .route("/portal/documents/{id}", get(open_document))
        .route("/portal/access-log", get(access_log_page))
        .route("/portal/logout", post(sign_out))
}

fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// The principal of a patient session and the actor of the patient's own audit entries.
pub fn principal(patient: &PatientIdentifier) -> String {
    format!("{}^{}", patient.root, patient.extension)
}

fn actor(patient: &PatientIdentifier) -> String {
    format!("patient:{}", principal(patient))
}

fn parse_principal(text: &str) -> Option<PatientIdentifier> {
    let (root, extension) = text.split_once('^')?;
    Some(PatientIdentifier {
        root: Oid::parse(root).ok()?,
        extension: extension.to_owned(),
    })
}

fn day(time: OffsetDateTime) -> String {
    let date = time.to_offset(time::UtcOffset::UTC).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn minute(time: OffsetDateTime) -> String {
    let time = time.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02}", day(time), time.hour(), time.minute())
}

/// Appends an audit entry of the patient's own action; the page fails if it cannot.
async fn audit(
    state: &AppState,
    request: &WebRequest,
    tenant: &TenantId,
    patient: &PatientIdentifier,
    action: &str,
    target: &str,
    details: String,
) -> Result<(), ApiError> {
    state
        .metadata
        .append_audit(&NewAuditEntry {
            tenant: Some(tenant.clone()),
            actor: actor(patient),
            action: action.to_owned(),
            target: target.to_owned(),
            origin: request.origin(),
            details,
            patient: Some(patient.extension.clone()),
        })
        .await
        .map(|_| ())
        .map_err(|e| ApiError::internal("audit log", &e))
}

// ---------------------------------------------------------------------------------------
// Pages shared by the handlers
// ---------------------------------------------------------------------------------------

/// A page of the portal at `path` (for the language switch).
fn base_page(request: &WebRequest, title: &str, path: &str) -> Frame {
    let mut frame = Frame::new(&PATIENT, request, title);
    frame.path = path.to_owned();
    frame
}

/// A page of the portal for a signed-in patient: the header names them and has the
/// sign-out button, the tabs lead to the documents and the access log.
fn patient_page(request: &WebRequest, patient: &Patient, title: &str, path: &str) -> Frame {
    let mut frame = base_page(request, title, path);
    frame.signed_in = Some(SignedInHeader {
        who: patient.who(),
        csrf_secret: patient.session.csrf_secret.clone(),
    });
    frame
}

/// A signed-in patient.
pub struct Patient {
    session: WebSession,
    tenant: TenantId,
    patient: PatientIdentifier,
}

impl Patient {
    /// The identifier as the header shows it.
    fn who(&self) -> String {
        let label = if self.patient.root.as_str() == medgate_ids::Pesel::OID {
            "PESEL"
        } else {
            "ID"
        };
        format!("{label} {}", self.patient.extension)
    }
}

impl DeskUser for Patient {
    const DESK: &'static Desk = &PATIENT;

    /// The patient of a live session, while the clinic's account can be used.
    async fn from_session(
        state: &AppState,
        request: &WebRequest,
        live: WebSession,
    ) -> PageResult<Patient> {
        let (Some(tenant_id), Some(patient)) =
            (live.tenant.clone(), parse_principal(&live.principal))
        else {
            session::end(state, &request.headers).await?;
            return Err(PageError::answer(expired(&PATIENT, &[session::clear_cookie()])));
        };
        let tenant = state
            .metadata
            .get_tenant(&tenant_id)
            .await
            .map_err(|e| ApiError::internal("tenant lookup", &e))?;
        if tenant.is_none_or(|tenant| medgate_web::auth::account_usable(&tenant).is_err()) {
            let cookie = session::end(state, &request.headers).await?;
            let lang = request.lang;
            let mut page = base_page(request, Msg::ErrorTitle.text(lang), "/portal");
            page.status = StatusCode::FORBIDDEN;
            page.body = message(MessageKind::Error, Msg::AccountUnavailable.text(lang));
            page.cookies.push(cookie);
            return Err(PageError::answer(page.into_response()));
        }
        Ok(Patient {
            session: live,
            tenant: tenant_id,
            patient,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------------------

/// What the sign-in and activation forms show again after a failed submit.
#[derive(Default)]
struct Filled {
    tenant: String,
    patient: String,
    tenant_error: Option<Msg>,
    patient_error: Option<Msg>,
    code_error: Option<Msg>,
    password_error: Option<String>,
    repeat_error: Option<Msg>,
    message: Option<(MessageKind, String)>,
}

impl Filled {
    fn has_field_errors(&self) -> bool {
        self.tenant_error.is_some()
            || self.patient_error.is_some()
            || self.code_error.is_some()
            || self.password_error.is_some()
            || self.repeat_error.is_some()
    }
}

/// The clinic id and patient fields of both forms.
fn identity_fields(lang: Lang, filled: &Filled) -> String {
    let tenant = Input {
        name: "tenant",
        label: Msg::TenantId.text(lang),
        kind: "text",
        value: &filled.tenant,
        hint: Some(Msg::TenantIdHint.text(lang)),
        error: filled.tenant_error.map(|m| m.text(lang)),
        required: true,
        extra: "inputmode=\"numeric\" autocomplete=\"organization\" maxlength=\"32\"",
    };
    let patient = Input {
        name: "patient",
        label: Msg::PatientId.text(lang),
        kind: "text",
        value: &filled.patient,
        hint: Some(Msg::PatientIdHint.text(lang)),
        error: filled.patient_error.map(|m| m.text(lang)),
        required: true,
        extra: "autocomplete=\"username\" maxlength=\"200\"",
    };
    format!("{}{}", tenant.html(), patient.html())
}

fn sign_in_form(
    request: &WebRequest,
    filled: &Filled,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let (token, token_cookie) = csrf::anonymous_token(&request.headers)?;
    let mut page = base_page(request, Msg::SignIn.text(lang), "/portal");
    page.status = status;
    page.cookies.extend(token_cookie);
    let notice = filled
        .message
        .as_ref()
        .map(|(kind, text)| message(*kind, text))
        .unwrap_or_default();
    let password = Input {
        name: "password",
        label: Msg::Password.text(lang),
        kind: "password",
        value: "",
        hint: None,
        error: None,
        required: true,
        extra: "autocomplete=\"current-password\" maxlength=\"256\"",
    };
    page.body = format!(
        "<p class=\"muted\">{intro}</p>{notice}<form class=\"card\" method=\"post\" action=\"/portal\" novalidate>{csrf}{identity}{password}\
         <button class=\"primary\" type=\"submit\">{submit}</button></form>\
         <p><a href=\"/portal/activate\">{activate}</a></p>",
        intro = escape(Msg::SignInIntro.text(lang)),
        csrf = csrf::hidden_field(&token),
        identity = identity_fields(lang, filled),
        password = password.html(),
        submit = escape(Msg::SignIn.text(lang)),
        activate = escape(Msg::HaveCode.text(lang)),
    );
    Ok(page.into_response())
}

/// `GET /portal`: the sign-in form (signed-in patients go on to their documents).
async fn sign_in_page(State(state): State<AppState>, request: WebRequest) -> Response {
    let outcome = async {
        if let Current::Live(_) = session::current(
            &state,
            &request.headers,
            PATIENT_SESSION,
            session::PATIENT,
        )
        .await?
        {
            return Ok(redirect(
                "/portal/documents",
                &request.lang_cookie.iter().cloned().collect::<Vec<_>>(),
            ));
        }
        let lang = request.lang;
        let notice = match request.query("notice").as_deref() {
            Some("activated") => Some((MessageKind::Info, Msg::Activated.text(lang).to_owned())),
            Some("signed-out") => Some((MessageKind::Info, Msg::SignedOut.text(lang).to_owned())),
            Some("expired") => Some((MessageKind::Info, Msg::SessionExpired.text(lang).to_owned())),
            _ => None,
        };
        let filled = Filled {
            message: notice,
            ..Filled::default()
        };
        sign_in_form(&request, &filled, StatusCode::OK)
    }
    .await;
    respond(&PATIENT, &request, outcome)
}

/// Checks a POST's form token and origin against `expected`; `false` means refuse.
fn form_is_genuine(request: &WebRequest, form: &Form, expected: &str) -> bool {
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

/// Reads the clinic id and the patient identifier of a form into `filled`; `None` (with
/// the field errors set) when either is not valid.
fn read_identity(form: &Form, filled: &mut Filled) -> Option<(TenantId, PatientIdentifier)> {
    filled.tenant = form.text("tenant").to_owned();
    filled.patient = form.text("patient").to_owned();
    let tenant = if filled.tenant.is_empty() {
        filled.tenant_error = Some(Msg::Required);
        None
    } else {
        let digits: String = filled
            .tenant
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let parsed = TenantId::parse(&digits).ok();
        if parsed.is_none() {
            filled.tenant_error = Some(Msg::BadTenantId);
        }
        parsed
    };
    let patient = if filled.patient.is_empty() {
        filled.patient_error = Some(Msg::Required);
        None
    } else {
        let parsed = medgate_repository::patient::parse_patient(&filled.patient).ok();
        if parsed.is_none() {
            filled.patient_error = Some(Msg::BadPatientId);
        }
        parsed
    };
    Some((tenant?, patient?))
}

/// A failed sign-in or activation (already counted towards the lock-out by its `slot`):
/// audited when the identity has an account (`known`), and answered with the status and
/// sentence to show — the same whether or not the account exists, except once it is locked.
async fn refused_attempt(
    state: &AppState,
    request: &WebRequest,
    identity: SigninIdentity<'_>,
    slot: lockout::Slot,
    known: Option<(&TenantId, &PatientIdentifier)>,
    action: &str,
    failed: Msg,
) -> Result<(StatusCode, String), ApiError> {
    let locked = slot.failed();
    if let Some((tenant, patient)) = known {
        audit(state, request, tenant, patient, action, identity.principal, String::new()).await?;
    }
    Ok(match locked {
        Some(until) => (
            StatusCode::TOO_MANY_REQUESTS,
            locked_message(request.lang, until),
        ),
        None => (StatusCode::UNAUTHORIZED, failed.text(request.lang).to_owned()),
    })
}

fn locked_message(lang: Lang, until: OffsetDateTime) -> String {
    let until = until.to_offset(time::UtcOffset::UTC);
    Msg::Locked
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

/// `POST /portal`: signs in.
async fn sign_in(State(state): State<AppState>, request: WebRequest, body: Bytes) -> Response {
    let outcome = sign_in_inner(&state, &request, &body).await;
    respond(&PATIENT, &request, outcome)
}

async fn sign_in_inner(
    state: &AppState,
    request: &WebRequest,
    body: &Bytes,
) -> PageResult {
    let lang = request.lang;
    let form = Form::parse(body)?;
    let mut filled = Filled::default();
    if !form_is_genuine(request, &form, &csrf::anonymous_expected(&request.headers)) {
        filled.message = Some((MessageKind::Error, Msg::FormExpired.text(lang).to_owned()));
        return sign_in_form(request, &filled, StatusCode::FORBIDDEN);
    }
    let Some((tenant, patient)) = read_identity(&form, &mut filled) else {
        filled.message = Some((MessageKind::Error, Msg::FixErrors.text(lang).to_owned()));
        return sign_in_form(request, &filled, StatusCode::BAD_REQUEST);
    };
    let principal = principal(&patient);
    let identity = SigninIdentity {
        kind: PATIENT_SESSION,
        tenant: tenant.as_str(),
        principal: &principal,
    };
    let slot = match lockout::reserve(state, identity).await? {
        lockout::Reserved::Check(slot) => slot,
        lockout::Reserved::Locked(until) => {
            filled.message = Some((MessageKind::Error, locked_message(lang, until)));
            return sign_in_form(request, &filled, StatusCode::TOO_MANY_REQUESTS);
        }
    };

    let account = state
        .metadata
        .get_patient_account(&tenant, &patient)
        .await
        .map_err(|e| ApiError::internal("patient account lookup", &e))?;
    let tenant_usable = state
        .metadata
        .get_tenant(&tenant)
        .await
        .map_err(|e| ApiError::internal("tenant lookup", &e))?
        .is_some_and(|t| medgate_web::auth::account_usable(&t).is_ok());
    let stored = account
        .as_ref()
        .filter(|_| tenant_usable)
        .and_then(|account| account.password_hash.clone());
    let matches = password::verify_async(form.raw("password").to_owned(), stored).await?;
    if !matches {
        let (status, text) = refused_attempt(
            state,
            request,
            identity,
            slot,
            account.is_some().then_some((&tenant, &patient)),
            "portal.signin.failed",
            Msg::SignInFailed,
        )
        .await?;
        filled.message = Some((MessageKind::Error, text));
        return sign_in_form(request, &filled, status);
    }

    lockout::succeeded(state, identity).await?;
    // A session the browser may still hold ends: every sign-in gets a fresh token.
    session::end(state, &request.headers).await?;
    let started = session::start(
        state,
        PATIENT_SESSION,
        Some(tenant.clone()),
        principal.clone(),
        session::PATIENT,
    )
    .await?;
    audit(
        state,
        request,
        &tenant,
        &patient,
        "portal.signin",
        &principal,
        String::new(),
    )
    .await?;
    let mut cookies = vec![started.set_cookie];
    cookies.extend(request.lang_cookie.clone());
    Ok(redirect("/portal/documents", &cookies))
}

// ---------------------------------------------------------------------------------------
// Activation
// ---------------------------------------------------------------------------------------

fn activate_form(
    request: &WebRequest,
    filled: &Filled,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let (token, token_cookie) = csrf::anonymous_token(&request.headers)?;
    let mut page = base_page(request, Msg::ActivateTitle.text(lang), "/portal/activate");
    page.status = status;
    page.cookies.extend(token_cookie);
    let notice = filled
        .message
        .as_ref()
        .map(|(kind, text)| message(*kind, text))
        .unwrap_or_default();
    let min = password::MIN_LENGTH.to_string();
    let max = password::MAX_LENGTH.to_string();
    let rules = Msg::PasswordRules
        .with(lang, "min", &min)
        .replace("{max}", &max);
    let fields = activation_fields(&ActivationTexts {
        code_label: Msg::ActivationCode.text(lang),
        code_hint: Msg::ActivationCodeHint.text(lang),
        code_error: filled.code_error.map(|m| m.text(lang)),
        password_label: Msg::NewPassword.text(lang),
        rules: &rules,
        password_error: filled.password_error.as_deref(),
        repeat_label: Msg::RepeatPassword.text(lang),
        repeat_error: filled.repeat_error.map(|m| m.text(lang)),
    });
    page.body = format!(
        "<p class=\"muted\">{intro}</p>{notice}<form class=\"card\" method=\"post\" action=\"/portal/activate\" novalidate>\
         {csrf}{identity}{fields}\
         <button class=\"primary\" type=\"submit\">{submit}</button></form>\
         <p><a href=\"/portal\">{sign_in}</a></p>",
        intro = escape(Msg::ActivateIntro.text(lang)),
        csrf = csrf::hidden_field(&token),
        identity = identity_fields(lang, filled),
        submit = escape(Msg::Activate.text(lang)),
        sign_in = escape(Msg::HavePassword.text(lang)),
    );
    Ok(page.into_response())
}

/// `GET /portal/activate`: the activation form.
async fn activate_page(request: WebRequest) -> Response {
    let outcome = activate_form(&request, &Filled::default(), StatusCode::OK);
    respond(&PATIENT, &request, outcome)
}

/// `POST /portal/activate`: spends the activation code and sets the password.
async fn activate(State(state): State<AppState>, request: WebRequest, body: Bytes) -> Response {
    let outcome = activate_inner(&state, &request, &body).await;
    respond(&PATIENT, &request, outcome)
}

async fn activate_inner(
    state: &AppState,
    request: &WebRequest,
    body: &Bytes,
) -> PageResult {
    let lang = request.lang;
    let form = Form::parse(body)?;
    let mut filled = Filled::default();
    if !form_is_genuine(request, &form, &csrf::anonymous_expected(&request.headers)) {
        filled.message = Some((MessageKind::Error, Msg::FormExpired.text(lang).to_owned()));
        return activate_form(request, &filled, StatusCode::FORBIDDEN);
    }
    let identity_fields = read_identity(&form, &mut filled);
    let code = password::normalize_code(form.text("code"));
    if code.is_empty() {
        filled.code_error = Some(Msg::Required);
    }
    let new_password = form.raw("password");
    let extension = identity_fields
        .as_ref()
        .map(|(_, patient)| patient.extension.clone())
        .unwrap_or_else(|| filled.patient.clone());
    if let Err(problem) =
        password::check_rules(new_password, form.raw("password2"), &[&extension, &code])
    {
        let min = password::MIN_LENGTH.to_string();
        let max = password::MAX_LENGTH.to_string();
        match problem {
            password::PasswordProblem::Mismatch => {
                filled.repeat_error = Some(Msg::PasswordMismatch)
            }
            password::PasswordProblem::TooShort => {
                filled.password_error = Some(Msg::PasswordTooShort.with(lang, "min", &min))
            }
            password::PasswordProblem::TooLong => {
                filled.password_error = Some(Msg::PasswordTooLong.with(lang, "max", &max))
            }
            password::PasswordProblem::SameAsIdentifier => {
                filled.password_error = Some(Msg::PasswordIsIdentifier.text(lang).to_owned())
            }
            password::PasswordProblem::ControlCharacters => {
                filled.password_error = Some(Msg::PasswordControl.text(lang).to_owned())
            }
        }
    }
    let Some((tenant, patient)) = identity_fields.filter(|_| !filled.has_field_errors()) else {
        filled.message = Some((MessageKind::Error, Msg::FixErrors.text(lang).to_owned()));
        return activate_form(request, &filled, StatusCode::BAD_REQUEST);
    };

    let principal = principal(&patient);
    let identity = SigninIdentity {
        kind: PATIENT_SESSION,
        tenant: tenant.as_str(),
        principal: &principal,
    };
    let slot = match lockout::reserve(state, identity).await? {
        lockout::Reserved::Check(slot) => slot,
        lockout::Reserved::Locked(until) => {
            filled.message = Some((MessageKind::Error, locked_message(lang, until)));
            return activate_form(request, &filled, StatusCode::TOO_MANY_REQUESTS);
        }
    };
    let account = state
        .metadata
        .get_patient_account(&tenant, &patient)
        .await
        .map_err(|e| ApiError::internal("patient account lookup", &e))?;
    let moment = now();
    let pending = account
        .as_ref()
        .filter(|account| account.password_hash.is_none())
        .filter(|account| {
            account
                .activation_expires_at
                .is_some_and(|end| moment <= end)
        })
        .and_then(|account| account.activation_code_hash.clone());
    let code_matches = password::verify_async(code, pending.clone()).await?;
    let activated = match (&pending, code_matches) {
        (Some(code_hash), true) => {
            let password_hash = password::hash_async(new_password.to_owned()).await?;
            state
                .metadata
                .activate_patient_account(&tenant, &patient, code_hash, &password_hash)
                .await
                .map_err(|e| ApiError::internal("activating a patient account", &e))?
        }
        _ => false,
    };
    if !activated {
        let (status, text) = refused_attempt(
            state,
            request,
            identity,
            slot,
            account.is_some().then_some((&tenant, &patient)),
            "portal.activate.failed",
            Msg::ActivationFailed,
        )
        .await?;
        filled.message = Some((MessageKind::Error, text));
        return activate_form(request, &filled, status);
    }
    lockout::succeeded(state, identity).await?;
    audit(
        state,
        request,
        &tenant,
        &patient,
        "portal.activate",
        &principal,
        String::new(),
    )
    .await?;
    let cookies: Vec<String> = request.lang_cookie.iter().cloned().collect();
    Ok(redirect("/portal?notice=activated", &cookies))
}

// ---------------------------------------------------------------------------------------
// Signed-in pages
// ---------------------------------------------------------------------------------------

/// `/portal/documents/<id>` with the id percent-encoded.
fn document_href(id: &DocumentId) -> String {
    format!("/portal/documents/{}", urlencoding::encode(id.as_str()))
}

fn documents_table(lang: Lang, shared: &[SharedDocument]) -> String {
    let heading = |m: Msg| format!("<th scope=\"col\">{}</th>", escape(m.text(lang)));
    let cell = |m: Msg, content: String| {
        format!("<td data-label=\"{}\">{content}</td>", escape(m.text(lang)))
    };
    let mut rows = String::new();
    for entry in shared {
        let metadata = &entry.document.metadata;
        let title = metadata
            .title
            .clone()
            .or_else(|| metadata.type_display.clone())
            .unwrap_or_else(|| Msg::Untitled.text(lang).to_owned());
        let kind = metadata
            .type_display
            .clone()
            .or_else(|| metadata.type_code.clone())
            .unwrap_or_default();
        let list = |field: &dyn Fn(&medgate_storage::ConsentSummary) -> String| {
            let items: String = entry
                .consents
                .iter()
                .map(|consent| format!("<li>{}</li>", escape(&field(consent))))
                .collect();
            format!("<ul>{items}</ul>")
        };
        rows.push_str(&format!(
            "<tr>{}{}{}{}{}{}{}</tr>",
            cell(
                Msg::Title,
                format!(
                    "<a href=\"{}\">{}</a>",
                    escape(&document_href(&metadata.document_id)),
                    escape(&title)
                )
            ),
            cell(Msg::DocumentType, escape(&kind)),
            cell(Msg::Date, escape(&day(metadata.effective_time))),
            cell(
                Msg::Patient,
                escape(
                    metadata
                        .patient_name
                        .as_deref()
                        .unwrap_or(&metadata.patient.extension)
                )
            ),
            cell(Msg::SharedWith, list(&|c| c.recipient.clone())),
            cell(Msg::Purpose, list(&|c| c.purpose.clone())),
            cell(
                Msg::ConsentValid,
                list(&|c| format!("{} – {}", day(c.valid_from), day(c.valid_to)))
            ),
        ));
    }
    format!(
        "<div class=\"table-wrap\"><table class=\"stack\"><caption>{caption}</caption><thead><tr>{}{}{}{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
        heading(Msg::Title),
        heading(Msg::DocumentType),
        heading(Msg::Date),
        heading(Msg::Patient),
        heading(Msg::SharedWith),
        heading(Msg::Purpose),
        heading(Msg::ConsentValid),
        caption = escape(Msg::DocumentsIntro.text(lang)),
    )
}

/// `GET /portal/documents`: the documents shared with the patient now.
async fn documents_page(State(state): State<AppState>, SignedIn(signed): SignedIn<Patient>,
    request: WebRequest) -> Response {
    let outcome = async {
        let lang = request.lang;
        let shared = state
            .metadata
            .shared_documents(&signed.tenant, &signed.patient, now())
            .await
            .map_err(|e| ApiError::internal("listing shared documents", &e))?;
        audit(
            &state,
            &request,
            &signed.tenant,
            &signed.patient,
            "portal.list",
            &principal(&signed.patient),
            format!("{} documents shown", shared.len()),
        )
        .await?;
        let name = shared
            .iter()
            .find_map(|entry| entry.document.metadata.patient_name.clone());
        let label = if signed.patient.root.as_str() == medgate_ids::Pesel::OID {
            "PESEL"
        } else {
            "ID"
        };
        let who = match name {
            Some(name) => format!("{name} · {label} {}", signed.patient.extension),
            None => format!("{label} {}", signed.patient.extension),
        };
        let mut page = patient_page(&request, &signed, Msg::Documents.text(lang), "/portal/documents");
        let listing = if shared.is_empty() {
            message(MessageKind::Info, Msg::NoDocuments.text(lang))
        } else {
            documents_table(lang, &shared)
        };
        page.body = format!(
            "<p class=\"who\">{label}: <strong>{who}</strong></p>{listing}",
            label = escape(Msg::SignedInAs.text(lang)),
            who = escape(&who),
        );
        Ok(page.into_response())
    }
    .await;
    respond(&PATIENT, &request, outcome)
}

/// The 404 page of a document that is not shared with the patient now.
fn not_shared(request: &WebRequest, patient: &Patient) -> Response {
    let lang = request.lang;
    let mut page = patient_page(request, patient, Msg::NotFoundTitle.text(lang), request.uri.path());
    page.status = StatusCode::NOT_FOUND;
    page.body = format!(
        "{}<p><a href=\"/portal/documents\">{}</a></p>",
        message(MessageKind::Error, Msg::DocumentNotShared.text(lang)),
        escape(Msg::BackToDocuments.text(lang))
    );
    page.into_response()
}

/// The rendered CDA page with a bar leading back to the list. The bar is ours (escaped
/// text, a fixed style); the page keeps the renderer's own CSP, which allows inline styles
/// but no scripts, forms or loads.
fn with_back_bar(html: &str, lang: Lang) -> String {
    let bar = format!(
        "<nav class=\"portal-bar\" style=\"font-family:system-ui,sans-serif;background:#0d3b66;padding:.6rem 1rem\">\
         <a href=\"/portal/documents\" style=\"color:#fff\">{}</a></nav>",
        escape(Msg::BackToDocuments.text(lang))
    );
    match html.find("<body>") {
        Some(position) => {
            let split = position + "<body>".len();
            format!("{}{bar}{}", &html[..split], &html[split..])
        }
        None => html.to_owned(),
    }
}

/// `GET /portal/documents/{id}`: one shared document, rendered (CDA) or as a download
/// (attachment).
async fn open_document(
    State(state): State<AppState>,
    SignedIn(signed): SignedIn<Patient>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let outcome = async {
        let Some(document_id) = id.ok().and_then(|Path(text)| DocumentId::parse(&text).ok()) else {
            return Ok(not_shared(&request, &signed));
        };
        let shared = state
            .metadata
            .shared_document(&signed.tenant, &signed.patient, &document_id, now())
            .await
            .map_err(|e| ApiError::internal("reading a shared document", &e))?;
        let Some(shared) = shared else {
            audit(
                &state,
                &request,
                &signed.tenant,
                &signed.patient,
                "portal.open.denied",
                document_id.as_str(),
                "not shared with this patient now".to_owned(),
            )
            .await?;
            return Ok(not_shared(&request, &signed));
        };
        let metadata = &shared.document.metadata;
        let bytes = state
            .content
            .get(&metadata.content_key)
            .await
            .map_err(|e| ApiError::internal("reading content", &e))?;
        if medgate_storage::Sha256Digest::of(&bytes) != metadata.sha256 {
            return Err(PageError::from(ApiError::internal(
                "portal document",
                &format!(
                    "stored content of {} does not match its SHA-256",
                    metadata.document_id
                ),
            )));
        }
        let consents: Vec<&str> = shared.consents.iter().map(|c| c.id.as_str()).collect();
        audit(
            &state,
            &request,
            &signed.tenant,
            &signed.patient,
            "portal.open",
            metadata.document_id.as_str(),
            format!("consent {}", consents.join(", ")),
        )
        .await?;
        match metadata.kind {
            DocumentKind::Cda => {
                let html = tokio::task::spawn_blocking(move || medgate_cda::render_html(&bytes))
                    .await
                    .map_err(|e| ApiError::internal("rendering", &e))?
                    .map_err(|e| ApiError::internal("rendering a stored document", &e))?;
                let mut response = Response::new(Body::from(with_back_bar(&html, request.lang)));
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                medgate_web::layout::secure_headers(headers, medgate_cda::CONTENT_SECURITY_POLICY);
                Ok(response)
            }
            DocumentKind::Attachment => {
                Ok(medgate_web::stored_file::content_download(
                    metadata,
                    &medgate_repository::export::download_name(metadata),
                    bytes,
                ))
            }
        }
    }
    .await;
    respond(&PATIENT, &request, outcome)
}

fn access_log_table(lang: Lang, patient: &PatientIdentifier, entries: &[AuditEntry]) -> String {
    let own_actor = actor(patient);
    let own_principal = principal(patient);
    let heading = |m: Msg| format!("<th scope=\"col\">{}</th>", escape(m.text(lang)));
    let cell = |m: Msg, content: String| {
        format!("<td data-label=\"{}\">{content}</td>", escape(m.text(lang)))
    };
    let mut rows = String::new();
    for entry in entries {
        let who = if entry.actor == own_actor {
            Msg::You.text(lang).to_owned()
        } else {
            entry.actor.clone()
        };
        let what = if entry.target.is_empty() || entry.target == own_principal {
            action_label(&entry.action, lang)
        } else {
            format!("{} — {}", action_label(&entry.action, lang), entry.target)
        };
        rows.push_str(&format!(
            "<tr>{}{}{}{}</tr>",
            cell(Msg::When, escape(&format!("{} UTC", minute(entry.at)))),
            cell(Msg::Who, escape(&who)),
            cell(Msg::What, escape(&what)),
            cell(Msg::FromWhere, escape(&entry.origin.to_string())),
        ));
    }
    format!(
        "<div class=\"table-wrap\"><table class=\"stack\"><caption>{caption}</caption><thead><tr>{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
        heading(Msg::When),
        heading(Msg::Who),
        heading(Msg::What),
        heading(Msg::FromWhere),
        caption = escape(Msg::AccessLogIntro.text(lang)),
    )
}

/// `GET /portal/access-log`: who used the patient's documents, when and from where.
async fn access_log_page(State(state): State<AppState>, SignedIn(signed): SignedIn<Patient>,
    request: WebRequest) -> Response {
    let outcome = async {
        let lang = request.lang;
        audit(
            &state,
            &request,
            &signed.tenant,
            &signed.patient,
            "portal.access-log",
            &principal(&signed.patient),
            String::new(),
        )
        .await?;
        let entries = state
            .metadata
            .list_audit_page(
                &signed.tenant,
                Some(&signed.patient.extension),
                None,
                ACCESS_LOG_LIMIT,
            )
            .await
            .map_err(|e| ApiError::internal("reading the access log", &e))?;
        let mut page = patient_page(&request, &signed, Msg::AccessLog.text(lang), "/portal/access-log");
        page.body = if entries.is_empty() {
            message(MessageKind::Info, Msg::NoAccessEntries.text(lang))
        } else {
            access_log_table(lang, &signed.patient, &entries)
        };
        Ok(page.into_response())
    }
    .await;
    respond(&PATIENT, &request, outcome)
}

/// `POST /portal/logout`: ends the session.
async fn sign_out(State(state): State<AppState>, request: WebRequest, body: Bytes) -> Response {
    let outcome = async {
        let live = match session::current(
            &state,
            &request.headers,
            PATIENT_SESSION,
            session::PATIENT,
        )
        .await?
        {
            Current::Live(live) => live,
            Current::None | Current::Ended => {
                return Ok(redirect("/portal", &[session::clear_cookie()]));
            }
        };
        let form = Form::parse(&body)?;
        if !form_is_genuine(&request, &form, &live.csrf_secret) {
            let lang = request.lang;
            let mut page = base_page(&request, Msg::ErrorTitle.text(lang), "/portal/documents");
            page.status = StatusCode::FORBIDDEN;
            page.signed_in = Some(SignedInHeader {
                who: String::new(),
                csrf_secret: live.csrf_secret.clone(),
            });
            page.body = message(MessageKind::Error, Msg::FormExpired.text(lang));
            return Ok(page.into_response());
        }
        let cookie = session::end(&state, &request.headers).await?;
        if let (Some(tenant), Some(patient)) = (&live.tenant, parse_principal(&live.principal)) {
            audit(
                &state,
                &request,
                tenant,
                &patient,
                "portal.signout",
                &live.principal,
                String::new(),
            )
            .await?;
        }
        Ok(redirect("/portal?notice=signed-out", &[cookie]))
    }
    .await;
    respond(&PATIENT, &request, outcome)
}
