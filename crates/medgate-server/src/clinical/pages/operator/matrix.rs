//! The authorisation matrix (the seed's VMátrix): every line (practitioner, institution, unit
//! or all, role) with its revoke button; a new line granted.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_clinical::admin;
use medgate_web::desk::{respond, td, th, Input, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::{csrf, AppState, Form, WebRequest};

use super::institutions::{done_notice, refused};
use super::words::O;
use super::{hungarian, ServiceOperator, SERVICE_OPERATOR};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operator/matrix", get(list).post(grant))
        .route("/operator/matrix/revoke", post(revoke))
}

/// A line as typed.
#[derive(Default)]
struct Line {
    user_name: String,
    institution: String,
    unit: String,
    role: String,
}

impl Line {
    fn of(form: &Form) -> Line {
        Line {
            user_name: form.text("user_name").to_owned(),
            institution: form.text("institution").to_owned(),
            unit: form.text("unit").to_owned(),
            role: form.text("role").to_owned(),
        }
    }

    fn unit(&self) -> Option<&str> {
        Some(self.unit.as_str()).filter(|unit| !unit.is_empty())
    }
}

/// A `<select>` of `options` (value, label) with `chosen` selected.
fn select(
    name: &str,
    label: &str,
    options: &[(String, String)],
    chosen: &str,
    choose: &str,
) -> String {
    let id = medgate_web::layout::field_id(name);
    let options: String = options
        .iter()
        .map(|(value, text)| {
            format!(
                "<option value=\"{value}\"{selected}>{text}</option>",
                value = escape(value),
                selected = if value == chosen { " selected" } else { "" },
                text = escape(text),
            )
        })
        .collect();
    format!(
        "<div class=\"field\"><label for=\"{id}\">{label}</label><select id=\"{id}\" name=\"{name}\" required><option value=\"\">{choose}</option>{options}</select></div>",
        label = escape(label),
        name = escape(name),
        choose = escape(choose),
    )
}

async fn page(
    state: &AppState,
    operator: &ServiceOperator,
    request: &WebRequest,
    filled: &Line,
    outcome: Option<(StatusCode, String)>,
) -> PageResult {
    let lang = request.lang;
    let lines = state
        .metadata
        .clinical_matrix()
        .await
        .map_err(|e| ApiError::internal("reading the authorisation matrix", &e))?;
    let practitioners = state
        .metadata
        .clinical_practitioners()
        .await
        .map_err(|e| ApiError::internal("listing practitioners", &e))?;
    let institutions = state
        .metadata
        .clinical_institutions()
        .await
        .map_err(|e| ApiError::internal("listing institutions", &e))?;
    let rows: String = lines
        .iter()
        .map(|line| {
            let unit = line.unit.as_ref().map(|unit| unit.to_string());
            let revoke = format!(
                "<form method=\"post\" action=\"/operator/matrix/revoke\">{csrf}\
                 <input type=\"hidden\" name=\"user_name\" value=\"{user}\"><input type=\"hidden\" name=\"institution\" value=\"{institution}\">\
                 <input type=\"hidden\" name=\"unit\" value=\"{unit}\"><input type=\"hidden\" name=\"role\" value=\"{role}\">\
                 <button class=\"danger\" type=\"submit\">{label}</button></form>",
                csrf = csrf::hidden_field(operator.csrf()),
                user = escape(&line.user_name),
                institution = line.institution,
                unit = unit.as_deref().unwrap_or(""),
                role = escape(&line.role),
                label = escape(O::Revoke.text(lang)),
            );
            format!(
                "<tr>{}{}{}{}{}</tr>",
                td(lang, O::UserName, &format!("<span class=\"mono\">{}</span>", escape(&line.user_name))),
                td(lang, O::Institution, &format!("<span class=\"mono\">{}</span>", line.institution)),
                td(lang, O::Unit, &unit.map_or_else(|| escape(O::AllUnits.text(lang)), |unit| format!("<span class=\"mono\">{unit}</span>"))),
                td(lang, O::Role, &escape(&line.role)),
                td(lang, O::Revoke, &revoke),
            )
        })
        .collect();
    let listing = if lines.is_empty() {
        message(MessageKind::Info, O::NoMatrix.text(lang))
    } else {
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"matrix\"><thead><tr>{}{}{}{}<th></th></tr></thead><tbody>{rows}</tbody></table></div>",
            th(lang, O::UserName),
            th(lang, O::Institution),
            th(lang, O::Unit),
            th(lang, O::Role),
        )
    };
    let (status, notice) = outcome.unwrap_or((StatusCode::OK, done_notice(request)));
    let practitioner_options: Vec<(String, String)> = practitioners
        .iter()
        .map(|p| {
            (
                p.user_name.clone(),
                format!("{} – {} ({})", p.user_name, p.name, p.stamp_number.as_str()),
            )
        })
        .collect();
    let institution_options: Vec<(String, String)> = institutions
        .iter()
        .map(|i| (i.id.to_string(), format!("{} – {}", i.id, i.name)))
        .collect();
    let form = format!(
        "<h2>{title}</h2><form class=\"card\" method=\"post\" action=\"/operator/matrix\" id=\"grant\" novalidate>{csrf}{user}{institution}{unit}{role}<button class=\"primary\" type=\"submit\">{grant}</button></form>",
        title = escape(O::Grant.text(lang)),
        csrf = csrf::hidden_field(operator.csrf()),
        user = select("user_name", O::Practitioner.text(lang), &practitioner_options, &filled.user_name, O::Choose.text(lang)),
        institution = select("institution", O::Institution.text(lang), &institution_options, &filled.institution, O::Choose.text(lang)),
        unit = Input {
            hint: Some(O::UnitOrAllHint.text(lang)),
            extra: "inputmode=\"numeric\" maxlength=\"9\"",
            ..Input::text("unit", O::Unit.text(lang), &filled.unit)
        }
        .html(),
        role = Input {
            hint: Some(O::RoleHint.text(lang)),
            required: true,
            extra: "maxlength=\"200\"",
            ..Input::text("role", O::Role.text(lang), &filled.role)
        }
        .html(),
        grant = escape(O::Grant.text(lang)),
    );
    let mut frame = operator.frame(request, O::MatrixTitle.text(lang));
    frame.path = "/operator/matrix".to_owned();
    frame.status = status;
    frame.body = format!(
        "<p class=\"muted\">{}</p>{notice}{listing}{form}",
        escape(O::MatrixIntro.text(lang))
    );
    Ok(frame.into_response())
}

/// `GET /operator/matrix`.
async fn list(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    request: WebRequest,
) -> Response {
    let request = hungarian(request);
    let outcome = page(&state, &operator, &request, &Line::default(), None).await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}

/// `POST /operator/matrix`: grants a line.
async fn grant(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let form = operator.genuine_form(&request, &body)?;
        let line = Line::of(&form);
        let granted = admin::grant(
            &state.metadata,
            &operator.acting(&request),
            &line.user_name,
            &line.institution,
            line.unit(),
            &line.role,
        )
        .await;
        match granted {
            Ok(_) => Ok(redirect("/operator/matrix?done=saved", &[])),
            Err(error) => {
                let shown = refused(request.lang, error)?;
                page(&state, &operator, &request, &line, Some(shown)).await
            }
        }
    }
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}

/// `POST /operator/matrix/revoke`: removes a line (the user's sessions for the institution end
/// with its last line).
async fn revoke(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let form = operator.genuine_form(&request, &body)?;
        let line = Line::of(&form);
        let revoked = admin::revoke(
            &state.metadata,
            &operator.acting(&request),
            &line.user_name,
            &line.institution,
            line.unit(),
            &line.role,
        )
        .await;
        match revoked {
            Ok(()) => Ok(redirect("/operator/matrix?done=saved", &[])),
            Err(error) => {
                let shown = refused(request.lang, error)?;
                page(&state, &operator, &request, &Line::default(), Some(shown)).await
            }
        }
    }
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}
