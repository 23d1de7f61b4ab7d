//! Practitioners: the list, a new one (user name, name, stamp number, initial password; the
//! TOTP secret shown once, as an `otpauth://` URI and its QR code), suspension.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_clinical::admin;
use medgate_web::desk::{button_form, respond, segment, td, th, Input, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::{csrf, AppState, WebRequest};

use super::institutions::{done_notice, refused};
use super::words::O;
use super::{hungarian, ServiceOperator, SERVICE_OPERATOR};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operator/practitioners", get(list).post(add))
        .route("/operator/practitioners/{user}/status", post(set_status))
}

#[derive(Default)]
struct NewPractitioner {
    user_name: String,
    name: String,
    stamp_number: String,
}

fn status_badge(lang: Lang, active: bool) -> String {
    let (class, word) = if active {
        ("active", O::Active)
    } else {
        ("suspended", O::Suspended)
    };
    format!(
        "<span class=\"status {class}\" data-status=\"{class}\">{}</span>",
        escape(word.text(lang))
    )
}

async fn list_page(
    state: &AppState,
    operator: &ServiceOperator,
    request: &WebRequest,
    filled: &NewPractitioner,
    outcome: Option<(StatusCode, String)>,
) -> PageResult {
    let lang = request.lang;
    let practitioners = state
        .metadata
        .clinical_practitioners()
        .await
        .map_err(|e| ApiError::internal("listing practitioners", &e))?;
    let rows: String = practitioners
        .iter()
        .map(|practitioner| {
            let action = format!(
                "/operator/practitioners/{}/status?active={}",
                segment(&practitioner.user_name),
                if practitioner.active { 0 } else { 1 }
            );
            let button = button_form(
                &action,
                operator.csrf(),
                if practitioner.active {
                    "danger"
                } else {
                    "primary"
                },
                if practitioner.active {
                    O::Suspend.text(lang)
                } else {
                    O::Activate.text(lang)
                },
            );
            format!(
                "<tr data-user=\"{user}\">{}{}{}{}{}</tr>",
                td(
                    lang,
                    O::UserName,
                    &format!(
                        "<span class=\"mono\">{}</span>",
                        escape(&practitioner.user_name)
                    )
                ),
                td(lang, O::Name, &escape(&practitioner.name)),
                td(
                    lang,
                    O::StampNumber,
                    &format!(
                        "<span class=\"mono\">{}</span>",
                        practitioner.stamp_number.as_str()
                    )
                ),
                td(lang, O::Status, &status_badge(lang, practitioner.active)),
                td(lang, O::Status, &button),
                user = escape(&practitioner.user_name),
            )
        })
        .collect();
    let listing = if practitioners.is_empty() {
        message(MessageKind::Info, O::NoPractitioners.text(lang))
    } else {
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"practitioners\"><thead><tr>{}{}{}{}<th></th></tr></thead><tbody>{rows}</tbody></table></div>",
            th(lang, O::UserName),
            th(lang, O::Name),
            th(lang, O::StampNumber),
            th(lang, O::Status),
        )
    };
    let (status, notice) = outcome.unwrap_or((StatusCode::OK, done_notice(request)));
    let form = format!(
        "<h2>{title}</h2><form class=\"card\" method=\"post\" action=\"/operator/practitioners\" id=\"add-practitioner\" novalidate>{csrf}{user}{name}{stamp}{password}<button class=\"primary\" type=\"submit\">{save}</button></form>",
        title = escape(O::AddPractitioner.text(lang)),
        csrf = csrf::hidden_field(operator.csrf()),
        user = Input {
            required: true,
            extra: "autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"200\"",
            ..Input::text("user_name", O::UserName.text(lang), &filled.user_name)
        }
        .html(),
        name = Input {
            required: true,
            extra: "maxlength=\"200\"",
            ..Input::text("name", O::Name.text(lang), &filled.name)
        }
        .html(),
        stamp = Input {
            hint: Some(O::StampHint.text(lang)),
            required: true,
            extra: "inputmode=\"numeric\" maxlength=\"5\"",
            ..Input::text("stamp_number", O::StampNumber.text(lang), &filled.stamp_number)
        }
        .html(),
        password = Input {
            kind: "password",
            hint: Some(O::PasswordHint.text(lang)),
            required: true,
            extra: "autocomplete=\"new-password\" maxlength=\"128\"",
            ..Input::text("password", O::InitialPassword.text(lang), "")
        }
        .html(),
        save = escape(O::Save.text(lang)),
    );
    let mut frame = operator.frame(request, O::PractitionersTitle.text(lang));
    frame.path = "/operator/practitioners".to_owned();
    frame.status = status;
    frame.body = format!("{notice}{listing}{form}");
    Ok(frame.into_response())
}

/// `GET /operator/practitioners`.
async fn list(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    request: WebRequest,
) -> Response {
    let request = hungarian(request);
    let outcome = list_page(
        &state,
        &operator,
        &request,
        &NewPractitioner::default(),
        None,
    )
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}

/// The QR code of `uri` as inline SVG (drawn here, by the `qrcode` crate), without the XML
/// declaration.
fn qr_svg(uri: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| ApiError::internal("drawing the QR code", &e))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_owned(),
        None => svg,
    })
}

/// `POST /operator/practitioners`: registers a practitioner; the answer is the only place
/// the token's secret appears.
async fn add(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let lang = request.lang;
        let form = operator.genuine_form(&request, &body)?;
        let filled = NewPractitioner {
            user_name: form.text("user_name").to_owned(),
            name: form.text("name").to_owned(),
            stamp_number: form.text("stamp_number").to_owned(),
        };
        let now = state.clock.now();
        let registered = match admin::register_practitioner(
            &state.metadata,
            &operator.acting(&request),
            &filled.user_name,
            &filled.name,
            &filled.stamp_number,
            form.raw("password"),
            now,
        )
        .await
        {
            Ok(registered) => registered,
            Err(error) => {
                let shown = refused(lang, error)?;
                return list_page(&state, &operator, &request, &filled, Some(shown)).await;
            }
        };
        let uri = registered.otpauth_uri();
        let mut frame = operator.frame(&request, O::RegisteredTitle.text(lang));
        frame.path = "/operator/practitioners".to_owned();
        frame.body = format!(
            "<p>{intro}</p><figure class=\"qr\" id=\"totp-qr\" role=\"img\" aria-label=\"{qr_label}\">{svg}</figure>\
             <p><code class=\"mono\" id=\"otpauth\">{uri}</code></p><p><a href=\"/operator/practitioners\">{back}</a></p>",
            intro = escape(&O::TotpIntro.with(lang, "user", &registered.user_name)),
            qr_label = escape(O::QrCode.text(lang)),
            svg = qr_svg(&uri)?,
            uri = escape(&uri),
            back = escape(O::BackToPractitioners.text(lang)),
        );
        let mut response = frame.into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    }
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}

/// `POST /operator/practitioners/{user}/status?active=0|1`: suspend (their sessions end) or
/// reactivate.
async fn set_status(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    Path(user): Path<String>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        operator.genuine_form(&request, &body)?;
        let active = request.query("active").as_deref() == Some("1");
        match admin::set_practitioner_active(
            &state.metadata,
            &operator.acting(&request),
            &user,
            active,
        )
        .await
        {
            Ok(()) => Ok(redirect("/operator/practitioners?done=saved", &[])),
            Err(error) => {
                let shown = refused(request.lang, error)?;
                list_page(
                    &state,
                    &operator,
                    &request,
                    &NewPractitioner::default(),
                    Some(shown),
                )
                .await
            }
        }
    }
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}
