//! The practitioners' desk's sign-in and sign-out (`/practice`, seed 9.b). A practitioner
//! names the clinic's account and signs in with their service user name, service password
//! and the current code of their TOTP token; the node checks that the account has a
//! clinical service set up and lists the practitioner, then signs in at the service
//! (`$login`, with the institution certificate) and keeps the service's session token with
//! the desk's session for the service's 7 hours, so the practitioner is not asked again.
//! The password and the code go to the service only; the node keeps neither.
//!
//! Attempts are counted by the foundation's lock-out (kind, account, user name) before
//! anything is checked; an unknown account, a practitioner the account does not list and a
//! wrong password or code get the same sentence. A service that cannot be reached is named.
//! Sign-in, failures and sign-out are in the account's audit log (`practice.signin`, …).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_ids::TenantId;
use medgate_pki::Password;
use medgate_storage::{DeskSession, NewAuditEntry, SigninIdentity};
use medgate_web::desk::{form_is_genuine, respond, Frame, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::layout::{escape, message, redirect, Input, MessageKind};
use medgate_web::session::{self, Current, SessionPolicy};
use medgate_web::{csrf, lockout, AppState, Form, WebRequest};

use super::service::{self, Failure};
use super::words::W;
use super::{hungarian, Practitioner, PRACTICE, PRACTITIONER_SESSION, SERVICE_SESSION};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PRACTICE.base, get(sign_in_page).post(sign_in))
        .route("/practice/logout", post(sign_out))
}

/// What the sign-in form shows again.
#[derive(Default)]
struct Filled {
    tenant: String,
    user_name: String,
    tenant_error: Option<String>,
    user_error: Option<String>,
    password_error: Option<String>,
    code_error: Option<String>,
    message: Option<(MessageKind, String)>,
}

fn form_page(request: &WebRequest, filled: &Filled, status: StatusCode) -> PageResult {
    let lang = request.lang;
    let (token, token_cookie) = csrf::anonymous_token(&request.headers)?;
    let mut frame = Frame::new(&PRACTICE, request, W::SignInTitle.text(lang));
    frame.path = PRACTICE.base.to_owned();
    frame.status = status;
    frame.cookies.extend(token_cookie);
    let notice = filled
        .message
        .as_ref()
        .map(|(kind, text)| message(*kind, text))
        .unwrap_or_default();
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{notice}<form class=\"card\" method=\"post\" action=\"{base}\" id=\"signin-form\" novalidate>{csrf}\
         {tenant}{user}{password}{code}<button class=\"primary\" type=\"submit\">{submit}</button></form>",
        intro = escape(W::SignInIntro.text(lang)),
        base = PRACTICE.base,
        csrf = csrf::hidden_field(&token),
        tenant = Input {
            hint: Some(W::AccountHint.text(lang)),
            error: filled.tenant_error.as_deref(),
            required: true,
            extra: "inputmode=\"numeric\" autocomplete=\"organization\" maxlength=\"32\"",
            ..Input::text("tenant", W::Account.text(lang), &filled.tenant)
        }
        .html(),
        user = Input {
            error: filled.user_error.as_deref(),
            required: true,
            extra: "autocomplete=\"username\" maxlength=\"64\"",
            ..Input::text("user_name", W::UserName.text(lang), &filled.user_name)
        }
        .html(),
        password = Input {
            kind: "password",
            error: filled.password_error.as_deref(),
            required: true,
            extra: "autocomplete=\"current-password\" maxlength=\"256\"",
            ..Input::text("password", W::Password.text(lang), "")
        }
        .html(),
        code = Input {
            hint: Some(W::CodeHint.text(lang)),
            error: filled.code_error.as_deref(),
            required: true,
            extra: "inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\"",
            ..Input::text("code", W::Code.text(lang), "")
        }
        .html(),
        submit = escape(W::SignIn.text(lang)),
    );
    Ok(frame.into_response())
}

/// `GET /practice`: the sign-in form; a signed-in practitioner goes on to the desk.
async fn sign_in_page(State(state): State<AppState>, request: WebRequest) -> Response {
    let request = hungarian(request);
    let outcome = async {
        if let Current::Live(live) =
            session::current(&state, &request.headers, PRACTICE.kind, PRACTICE.policy).await?
        {
            let desk = state
                .metadata
                .desk_session(&live.token_hash, medgate_web::now())
                .await
                .map_err(|e| ApiError::internal("reading a desk session", &e))?;
            if desk.is_some() {
                let cookies: Vec<String> = request.lang_cookie.iter().cloned().collect();
                return Ok(redirect(PRACTICE.home, &cookies));
            }
        }
        let lang = request.lang;
        let notice = match request.query("notice").as_deref() {
            Some("signed-out") => Some(W::SignedOut),
            Some("expired") => Some(W::SessionExpired),
            _ => None,
        };
        let filled = Filled {
            message: notice.map(|n| (MessageKind::Info, n.text(lang).to_owned())),
            ..Filled::default()
        };
        form_page(&request, &filled, StatusCode::OK)
    }
    .await;
    respond(&PRACTICE, &request, outcome)
}

async fn audit(
    state: &AppState,
    request: &WebRequest,
    tenant: &TenantId,
    actor: String,
    action: &str,
    target: &str,
    details: String,
) -> Result<(), ApiError> {
    state
        .metadata
        .append_audit(&NewAuditEntry {
            tenant: Some(tenant.clone()),
            actor,
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

/// `POST /practice`.
async fn sign_in(State(state): State<AppState>, request: WebRequest, body: Bytes) -> Response {
    let request = hungarian(request);
    let outcome = sign_in_checked(&state, &request, &body).await;
    respond(&PRACTICE, &request, outcome)
}

async fn sign_in_checked(state: &AppState, request: &WebRequest, body: &Bytes) -> PageResult {
    let lang = request.lang;
    let form = Form::parse(body)?;
    let mut filled = Filled {
        tenant: form.text("tenant").to_owned(),
        user_name: form.text("user_name").to_owned(),
        ..Filled::default()
    };
    if !form_is_genuine(request, &form, &csrf::anonymous_expected(&request.headers)) {
        filled.message = Some((MessageKind::Error, W::FormExpired.text(lang).to_owned()));
        return form_page(request, &filled, StatusCode::FORBIDDEN);
    }
    let digits: String = filled.tenant.chars().filter(|c| !c.is_whitespace()).collect();
    let tenant = TenantId::parse(&digits).ok();
    let required = || Some(W::Required.text(lang).to_owned());
    if digits.is_empty() {
        filled.tenant_error = required();
    } else if tenant.is_none() {
        filled.tenant_error = Some(W::AccountInvalid.text(lang).to_owned());
    }
    let user_name = filled.user_name.clone();
    if user_name.is_empty() {
        filled.user_error = required();
    }
    let password = form.raw("password");
    if password.is_empty() {
        filled.password_error = required();
    }
    let code = form.text("code");
    if code.is_empty() {
        filled.code_error = required();
    } else if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        filled.code_error = Some(W::CodeInvalid.text(lang).to_owned());
    }
    let Some(tenant) = tenant.filter(|_| {
        filled.user_error.is_none() && filled.password_error.is_none() && filled.code_error.is_none()
    }) else {
        filled.message = Some((MessageKind::Error, W::FixErrors.text(lang).to_owned()));
        return form_page(request, &filled, StatusCode::BAD_REQUEST);
    };

    let identity = SigninIdentity {
        kind: PRACTITIONER_SESSION,
        tenant: tenant.as_str(),
        principal: &user_name,
    };
    let slot = match lockout::reserve(state, identity).await? {
        lockout::Reserved::Check(slot) => slot,
        lockout::Reserved::Locked(until) => {
            filled.message = Some((MessageKind::Error, locked(lang, until)));
            return form_page(request, &filled, StatusCode::TOO_MANY_REQUESTS);
        }
    };
    let connection = state
        .metadata
        .clinical_connection(&tenant)
        .await
        .map_err(|e| ApiError::internal("reading the clinical connection", &e))?;
    let listed = connection
        .as_ref()
        .is_some_and(|c| c.practitioners.iter().any(|p| p.user_name == user_name));
    let actor = |institution: &str| format!("{PRACTITIONER_SESSION}:{user_name}@{institution}");
    let (Some(connection), true) = (connection, listed) else {
        // Whether the account exists, has the service set up or lists this user name: one
        // answer for all.
        let until = slot.failed();
        return refused(request, &mut filled, until);
    };
    let client = match service::client(state, &connection).await {
        Ok(client) => client,
        Err(failure) => return service_failed(request, &mut filled, failure),
    };
    let login = client
        .login(&user_name, &Password::new(password.to_owned()), code)
        .await;
    let service_session = match login {
        Ok(session) => session,
        Err(error) => {
            let failure = Failure::from(error);
            let refused_by_service = matches!(
                &failure,
                Failure::SessionEnded | Failure::Service { status: StatusCode::UNAUTHORIZED, .. }
            );
            if refused_by_service {
                audit(
                    state,
                    request,
                    &tenant,
                    actor(connection.institution.as_str()),
                    "practice.signin.failed",
                    &user_name,
                    String::new(),
                )
                .await?;
                let until = slot.failed();
                return refused(request, &mut filled, until);
            }
            // Not in the matrix, a service that is down: said as it is (the attempt counts).
            let _ = slot.failed();
            return service_failed(request, &mut filled, failure);
        }
    };
    lockout::succeeded(state, identity).await?;
    let now = medgate_web::now();
    let lasts = (service_session.expires_at - now).min(SERVICE_SESSION);
    let started = session::start(
        state,
        PRACTITIONER_SESSION,
        Some(tenant.clone()),
        user_name.clone(),
        SessionPolicy {
            idle: lasts,
            absolute: lasts,
        },
    )
    .await?;
    state
        .metadata
        .save_desk_session(
            &started.session.token_hash,
            &DeskSession {
                tenant: tenant.clone(),
                user_name: user_name.clone(),
                service_token: service_session.token().to_owned(),
                expires_at: service_session.expires_at.min(now + SERVICE_SESSION),
            },
        )
        .await
        .map_err(|e| ApiError::internal("storing a desk session", &e))?;
    audit(
        state,
        request,
        &tenant,
        actor(connection.institution.as_str()),
        "practice.signin",
        &user_name,
        format!("service session until {}", medgate_web::rfc3339(service_session.expires_at)),
    )
    .await?;
    let mut cookies = vec![started.set_cookie];
    cookies.extend(request.lang_cookie.iter().cloned());
    Ok(redirect(PRACTICE.home, &cookies))
}

fn locked(lang: medgate_web::i18n::Lang, until: time::OffsetDateTime) -> String {
    W::Locked.with(
        lang,
        "until",
        &format!("{:02}:{:02} UTC", until.hour(), until.minute()),
    )
}

fn refused(
    request: &WebRequest,
    filled: &mut Filled,
    locked_until: Option<time::OffsetDateTime>,
) -> PageResult {
    let lang = request.lang;
    let (status, text) = match locked_until {
        Some(until) => (StatusCode::TOO_MANY_REQUESTS, locked(lang, until)),
        None => (StatusCode::UNAUTHORIZED, W::SignInFailed.text(lang).to_owned()),
    };
    filled.message = Some((MessageKind::Error, text));
    form_page(request, filled, status)
}

fn service_failed(request: &WebRequest, filled: &mut Filled, failure: Failure) -> PageResult {
    let lang = request.lang;
    let (status, text) = match failure {
        Failure::Ours(error) => return Err(error.into()),
        Failure::SessionEnded => (StatusCode::UNAUTHORIZED, W::SignInFailed.text(lang).to_owned()),
        Failure::Service { status, text } => (status, W::ServiceSaid.with(lang, "reason", &text)),
    };
    filled.message = Some((MessageKind::Error, text));
    form_page(request, filled, status)
}

/// `POST /practice/logout`: signs out at the service too (what it answers does not keep
/// the practitioner signed in here).
async fn sign_out(
    State(state): State<AppState>,
    SignedIn(practitioner): SignedIn<Practitioner>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        practitioner.genuine_form(&request, &body)?;
        match service::client(&state, &practitioner.connection).await {
            Ok(client) => {
                let session = service::session(&practitioner.desk, &practitioner.connection);
                if let Err(error) = client.logout(&session).await {
                    tracing::warn!(error = %error, "signing out at the clinical record service failed");
                }
            }
            Err(Failure::Service { text, .. }) => {
                tracing::warn!(error = %text, "signing out at the clinical record service failed");
            }
            Err(_) => {}
        }
        state
            .metadata
            .end_desk_session(&practitioner.session.token_hash, medgate_web::now())
            .await
            .map_err(|e| ApiError::internal("ending a desk session", &e))?;
        let clear = session::end(&state, &request.headers).await?;
        practitioner
            .audit(&state, &request, "practice.signout", &practitioner.practitioner.user_name, None, String::new())
            .await?;
        Ok(redirect("/practice?notice=signed-out", &[clear]))
    }
    .await;
    respond(&PRACTICE, &request, outcome)
}
