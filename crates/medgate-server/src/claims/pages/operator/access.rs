//! "Логины МО" and "Сертификаты МИС": the MO staff's logins, each with a button that issues
//! a new one-time link (shown once on the answer), and the MO systems' certificates, each
//! active one with a button that revokes it, and a form that issues one (its PKCS#12 and
//! one-time code shown once on the answer, never logged nor kept).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use medgate_claims::{fund, systems};
use medgate_web::desk::{td, th, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::layout::{escape, message, redirect, Input, MessageKind};
use medgate_web::{csrf, AppState, WebRequest};

use super::words::O;
use super::{done_notice, refused, respond, russian, FundOperator};

const LOGINS: &str = "/operator/logins";
const CERTIFICATES: &str = "/operator/certificates";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(LOGINS, get(logins))
        .route("/operator/logins/link", post(new_link))
        .route(CERTIFICATES, get(certificates))
        .route("/operator/certificates/revoke", post(revoke))
        .route("/operator/certificates/issue", post(issue))
}

fn minute(at: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

fn role_word(role: &str) -> Option<O> {
    match role {
        "executor" => Some(O::RoleExecutor),
        "chief_accountant" => Some(O::RoleChiefAccountant),
        "head" => Some(O::RoleHead),
        _ => None,
    }
}

fn button_form(
    operator: &FundOperator,
    action: &str,
    name: &str,
    value: &str,
    label: &str,
) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\">{}<input type=\"hidden\" name=\"{name}\" value=\"{}\"><button class=\"primary\" type=\"submit\">{}</button></form>",
        csrf::hidden_field(operator.csrf()),
        escape(value),
        escape(label),
    )
}

async fn logins_page(
    state: &AppState,
    operator: &FundOperator,
    request: &WebRequest,
    outcome: Option<(StatusCode, String)>,
) -> PageResult {
    let lang = request.lang;
    let users = state
        .metadata
        .claims_users(None)
        .await
        .map_err(|e| ApiError::internal("listing the logins", &e))?;
    let listing = if users.is_empty() {
        message(MessageKind::Info, O::NoLogins.text(lang))
    } else {
        let rows: String = users
            .iter()
            .map(|user| {
                let link_state = if !user.must_change_password {
                    O::ActiveLogin
                } else if user.link_opened_at.is_some() {
                    O::NotChanged
                } else {
                    O::NotOpened
                };
                format!(
                    "<tr>{}{}{}{}{}{}</tr>",
                    td(
                        lang,
                        O::Login,
                        &format!("<span class=\"mono\">{}</span>", escape(&user.login))
                    ),
                    td(
                        lang,
                        O::MoCode,
                        &format!(
                            "<span class=\"mono\">{}{}</span>",
                            // An insurer's reviewer belongs to its SMO, not to an MO.
                            escape(
                                user.mo_code
                                    .as_deref()
                                    .or(user.smo_code.as_deref())
                                    .unwrap_or("")
                            ),
                            user.subdivision_code
                                .as_deref()
                                .map(|s| format!("/{}", escape(s)))
                                .unwrap_or_default()
                        )
                    ),
                    td(
                        lang,
                        O::Role,
                        &escape(
                            role_word(&user.role)
                                .map_or(user.role.as_str(), |word| word.text(lang))
                        )
                    ),
                    td(lang, O::Person, &escape(&user.name)),
                    td(lang, O::LinkState, &escape(link_state.text(lang))),
                    td(
                        lang,
                        O::NewLink,
                        &button_form(
                            operator,
                            "/operator/logins/link",
                            "login",
                            &user.login,
                            O::NewLink.text(lang)
                        )
                    ),
                )
            })
            .collect();
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"logins\"><thead><tr>{}{}{}{}{}<th></th></tr></thead><tbody>{rows}</tbody></table></div>",
            th(lang, O::Login),
            th(lang, O::MoCode),
            th(lang, O::Role),
            th(lang, O::Person),
            th(lang, O::LinkState),
        )
    };
    let (status, notice) = outcome.unwrap_or((StatusCode::OK, done_notice(request)));
    let mut frame = operator.frame(request, O::LoginsTitle.text(lang), LOGINS);
    frame.status = status;
    frame.body = format!(
        "<p class=\"muted\">{}</p>{notice}{listing}",
        escape(O::LoginsIntro.text(lang))
    );
    Ok(frame.into_response())
}

/// `GET /operator/logins`.
async fn logins(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<FundOperator>,
    request: WebRequest,
) -> Response {
    let request = russian(request);
    let outcome = logins_page(&state, &operator, &request, None).await;
    respond(&request, outcome)
}

/// `POST /operator/logins/link`: a new one-time link for a login, shown once on the answer
/// (the old password stops working).
async fn new_link(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<FundOperator>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = russian(request);
    let outcome = async {
        let form = operator.genuine_form(&request, &body)?;
        let issued = fund::renew_link(
            &state.metadata,
            &operator.acting(&request),
            form.text("login"),
            state.clock.now(),
        )
        .await;
        let shown = match issued {
            Ok(issued) => {
                let text = O::LinkIssued
                    .with(request.lang, "login", &issued.login)
                    .replace("{until}", &minute(issued.expires_at));
                (
                    StatusCode::OK,
                    format!(
                        "{}<p><code id=\"one-time-link\" class=\"mono\">{}</code></p>",
                        message(MessageKind::Info, &text),
                        escape(&issued.url(&state.node.public_url)),
                    ),
                )
            }
            Err(error) => refused(request.lang, error)?,
        };
        logins_page(&state, &operator, &request, Some(shown)).await
    }
    .await;
    respond(&request, outcome)
}

async fn certificates_page(
    state: &AppState,
    operator: &FundOperator,
    request: &WebRequest,
    outcome: Option<(StatusCode, String)>,
) -> PageResult {
    let lang = request.lang;
    let now = state.clock.now();
    let certificates = state
        .metadata
        .claims_mo_certificates(None)
        .await
        .map_err(|e| ApiError::internal("listing the certificates", &e))?;
    let listing = if certificates.is_empty() {
        message(MessageKind::Info, O::NoCertificates.text(lang))
    } else {
        let rows: String = certificates
            .iter()
            .map(|c| {
                let (state_text, action) = match (&c.revoked_at, c.not_after < now) {
                    (Some(at), _) => (
                        O::Revoked
                            .with(lang, "at", &minute(*at))
                            .replace("{reason}", c.revoked_reason.as_deref().unwrap_or("")),
                        String::new(),
                    ),
                    (None, true) => (O::Expired.text(lang).to_owned(), String::new()),
                    (None, false) => (
                        O::ActiveLogin.text(lang).to_owned(),
                        format!(
                            "<form method=\"post\" action=\"/operator/certificates/revoke\">{}<input type=\"hidden\" name=\"serial\" value=\"{}\"><input type=\"hidden\" name=\"reason\" value=\"{}\"><button class=\"danger\" type=\"submit\">{}</button></form>",
                            csrf::hidden_field(operator.csrf()),
                            escape(&c.serial),
                            escape(O::RevokedByOperator.text(lang)),
                            escape(O::Revoke.text(lang)),
                        ),
                    ),
                };
                format!(
                    "<tr>{}{}{}{}{}</tr>",
                    td(lang, O::Serial, &format!("<span class=\"mono\">{}</span>", escape(&c.serial))),
                    td(lang, O::MoCode, &format!("<span class=\"mono\">{}{}</span>", escape(&c.mo_code), c.subdivision_code.as_deref().map(|s| format!("/{}", escape(s))).unwrap_or_default())),
                    td(lang, O::Until, &minute(c.not_after)),
                    td(lang, O::State, &escape(&state_text)),
                    td(lang, O::Revoke, &action),
                )
            })
            .collect();
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"certificates\"><thead><tr>{}{}{}{}<th></th></tr></thead><tbody>{rows}</tbody></table></div>",
            th(lang, O::Serial),
            th(lang, O::MoCode),
            th(lang, O::Until),
            th(lang, O::State),
        )
    };
    let (status, notice) = outcome.unwrap_or((StatusCode::OK, done_notice(request)));
    let mut frame = operator.frame(request, O::CertificatesTitle.text(lang), CERTIFICATES);
    frame.status = status;
    frame.body = format!(
        "<p class=\"muted\">{}</p>{notice}{listing}{}",
        escape(O::CertificatesIntro.text(lang)),
        issue_form(operator, request),
    );
    Ok(frame.into_response())
}

/// The form that issues an MO system's certificate (MO, optional subdivision, validity).
fn issue_form(operator: &FundOperator, request: &WebRequest) -> String {
    let lang = request.lang;
    let mo = Input {
        hint: Some(O::MoCodeHint.text(lang)),
        required: true,
        extra: "inputmode=\"numeric\" maxlength=\"6\" autocomplete=\"off\"",
        ..Input::text("mo", O::MoCode.text(lang), "")
    };
    let subdivision = Input {
        extra: "maxlength=\"20\" autocomplete=\"off\"",
        ..Input::text("subdivision", O::SubdivisionOptional.text(lang), "")
    };
    let days = Input {
        hint: Some(O::DaysRule.text(lang)),
        required: true,
        extra: "inputmode=\"numeric\" maxlength=\"3\"",
        ..Input::text("days", O::Days.text(lang), "365")
    };
    format!(
        "<h3>{button}</h3><form class=\"card\" method=\"post\" action=\"/operator/certificates/issue\" id=\"issue-certificate\" novalidate>{csrf}{mo}{subdivision}{days}<button class=\"primary\" type=\"submit\">{button}</button></form>",
        button = escape(O::IssueCertificate.text(lang)),
        csrf = csrf::hidden_field(operator.csrf()),
        mo = mo.html(),
        subdivision = subdivision.html(),
        days = days.html(),
    )
}

/// `GET /operator/certificates`.
async fn certificates(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<FundOperator>,
    request: WebRequest,
) -> Response {
    let request = russian(request);
    let outcome = certificates_page(&state, &operator, &request, None).await;
    respond(&request, outcome)
}

/// `POST /operator/certificates/revoke`: the certificate opens nothing from the next request.
async fn revoke(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<FundOperator>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = russian(request);
    let outcome = async {
        let form = operator.genuine_form(&request, &body)?;
        let revoked = systems::revoke_certificate(
            &state.metadata,
            &operator.acting(&request),
            form.text("serial"),
            form.text("reason"),
            state.clock.now(),
        )
        .await;
        match revoked {
            Ok(_) => Ok(redirect(&format!("{CERTIFICATES}?done=saved"), &[])),
            Err(error) => {
                let shown = refused(request.lang, error)?;
                certificates_page(&state, &operator, &request, Some(shown)).await
            }
        }
    }
    .await;
    respond(&request, outcome)
}

/// `POST /operator/certificates/issue`: issues an MO system's certificate as `medgate claims
/// mo certificate issue` does; the answer is the only place its PKCS#12 file and one-time
/// code appear (the file as a download link of the page itself, the page not stored by the
/// browser).
async fn issue(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<FundOperator>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = russian(request);
    let outcome = async {
        let lang = request.lang;
        let form = operator.genuine_form(&request, &body)?;
        let Ok(days) = form.text("days").trim().parse::<u32>() else {
            let shown = (
                StatusCode::BAD_REQUEST,
                message(
                    MessageKind::Error,
                    &format!("{} {}", O::Refused.text(lang), O::DaysRule.text(lang)),
                ),
            );
            return certificates_page(&state, &operator, &request, Some(shown)).await;
        };
        let subdivision = form.text("subdivision").trim();
        let code = medgate_web::password::activation_code()?;
        let issued = systems::issue_certificate(
            &state.metadata,
            &operator.acting(&request),
            &state.ca,
            form.text("mo").trim(),
            (!subdivision.is_empty()).then_some(subdivision),
            days,
            &medgate_pki::Password::new(code.clone()),
            state.clock.now(),
        )
        .await;
        let issued = match issued {
            Ok(issued) => issued,
            Err(error) => {
                let shown = refused(lang, error)?;
                return certificates_page(&state, &operator, &request, Some(shown)).await;
            }
        };
        let mo = match &issued.subdivision_code {
            Some(subdivision) => format!("{}/{subdivision}", issued.mo_code),
            None => issued.mo_code.clone(),
        };
        let mut frame = operator.frame(&request, O::IssuedTitle.text(lang), CERTIFICATES);
        frame.body = format!(
            "<p>{intro}</p><p><a class=\"button primary\" id=\"pkcs12\" download=\"{file}-{serial}.p12\" href=\"data:application/x-pkcs12;base64,{data}\">{download}</a></p>\
             <p>{code_label}: <strong class=\"mono\" id=\"one-time-code\">{code}</strong></p><p><a href=\"{CERTIFICATES}\">{back}</a></p>",
            intro = escape(
                &O::IssuedIntro
                    .with(lang, "serial", &issued.serial)
                    .replace("{mo}", &mo)
                    .replace("{until}", &minute(issued.not_after))
            ),
            file = escape(&mo.replace('/', "-")),
            serial = escape(&issued.serial),
            data = base64::engine::general_purpose::STANDARD.encode(&issued.pkcs12),
            download = escape(O::Download.text(lang)),
            code_label = escape(O::OneTimeCode.text(lang)),
            code = escape(&code),
            back = escape(O::BackToCertificates.text(lang)),
        );
        let mut response = frame.into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    }
    .await;
    respond(&request, outcome)
}
