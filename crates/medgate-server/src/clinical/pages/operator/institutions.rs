//! Institutions (6-digit ids), their units (9 digits), suspension, their certificates and
//! their connection check; and every institution certificate issued (`/operator/certificates`).

use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use medgate_clinical::admin;
use medgate_clinical::{ClinicalError, ErrorKind};
use medgate_ids::InstitutionId;
use medgate_storage::ClinicalInstitution;
use medgate_web::desk::{
    button_form, minute, respond, segment, td, th, Input, PageError, PageResult, SignedIn,
};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::upload::Upload;
use medgate_web::{csrf, AppState, WebRequest};

use super::words::O;
use super::{hungarian, refusal, ServiceOperator, SERVICE_OPERATOR};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operator/institutions", get(list).post(add))
        .route("/operator/institutions/{id}", get(detail))
        .route("/operator/institutions/{id}/units", post(add_unit))
        .route("/operator/institutions/{id}/status", post(set_status))
        .route("/operator/institutions/{id}/certificates", post(issue))
        .route("/operator/institutions/{id}/connection", post(connection))
        .route("/operator/certificates", get(certificates))
}

/// The status of a refusal's page.
pub(super) fn status_of(error: &ClinicalError) -> StatusCode {
    match error.kind() {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A refusal as the page's message, or the error page for a failure of ours.
pub(super) fn refused(lang: Lang, error: ClinicalError) -> Result<(StatusCode, String), ApiError> {
    let status = status_of(&error);
    let sentence = refusal(lang, error)?;
    Ok((
        status,
        message(
            MessageKind::Error,
            &format!("{} {sentence}", O::Refused.text(lang)),
        ),
    ))
}

/// The notice of a `?done=` redirect after a change.
pub(super) fn done_notice(request: &WebRequest) -> String {
    match request.query("done").as_deref() {
        Some("saved") => medgate_web::desk::notice("ok", O::Saved.text(request.lang)),
        _ => String::new(),
    }
}

fn href(id: &InstitutionId, suffix: &str) -> String {
    format!("/operator/institutions/{}{suffix}", segment(id.as_str()))
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

fn verified_text(lang: Lang, institution: &ClinicalInstitution) -> String {
    match institution.connection_verified_at {
        Some(at) => O::ConnectionVerifiedAt.with(lang, "at", &minute(at)),
        None => O::ConnectionNotVerified.text(lang).to_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// The list and a new institution
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct NewInstitution {
    id: String,
    name: String,
}

async fn list_page(
    state: &AppState,
    operator: &ServiceOperator,
    request: &WebRequest,
    filled: &NewInstitution,
    outcome: Option<(StatusCode, String)>,
) -> PageResult {
    let lang = request.lang;
    let institutions = state
        .metadata
        .clinical_institutions()
        .await
        .map_err(|e| ApiError::internal("listing institutions", &e))?;
    let rows: String = institutions
        .iter()
        .map(|institution| {
            format!(
                "<tr data-id=\"{id}\">{}{}{}{}</tr>",
                td(
                    lang,
                    O::InstitutionId,
                    &format!(
                        "<a class=\"mono\" href=\"{}\">{}</a>",
                        escape(&href(&institution.id, "")),
                        institution.id
                    )
                ),
                td(lang, O::Name, &escape(&institution.name)),
                td(lang, O::Status, &status_badge(lang, institution.active)),
                td(
                    lang,
                    O::Connection,
                    &escape(&verified_text(lang, institution))
                ),
                id = institution.id,
            )
        })
        .collect();
    let listing = if institutions.is_empty() {
        message(MessageKind::Info, O::NoInstitutions.text(lang))
    } else {
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"institutions\"><thead><tr>{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
            th(lang, O::InstitutionId),
            th(lang, O::Name),
            th(lang, O::Status),
            th(lang, O::Connection),
        )
    };
    let (status, notice) = outcome.unwrap_or((StatusCode::OK, done_notice(request)));
    let form = format!(
        "<h2>{title}</h2><form class=\"card\" method=\"post\" action=\"/operator/institutions\" id=\"add-institution\" novalidate>{csrf}{id}{name}<button class=\"primary\" type=\"submit\">{save}</button></form>",
        title = escape(O::AddInstitution.text(lang)),
        csrf = csrf::hidden_field(operator.csrf()),
        id = Input {
            hint: Some(O::InstitutionIdHint.text(lang)),
            required: true,
            extra: "inputmode=\"numeric\" maxlength=\"6\"",
            ..Input::text("id", O::InstitutionId.text(lang), &filled.id)
        }
        .html(),
        name = Input {
            required: true,
            extra: "maxlength=\"200\"",
            ..Input::text("name", O::InstitutionName.text(lang), &filled.name)
        }
        .html(),
        save = escape(O::Save.text(lang)),
    );
    let mut frame = operator.frame(request, O::InstitutionsTitle.text(lang));
    frame.path = "/operator/institutions".to_owned();
    frame.status = status;
    frame.body = format!("{notice}{listing}{form}");
    Ok(frame.into_response())
}

/// `GET /operator/institutions`.
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
        &NewInstitution::default(),
        None,
    )
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}

/// `POST /operator/institutions`: id and name.
async fn add(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let form = operator.genuine_form(&request, &body)?;
        let filled = NewInstitution {
            id: form.text("id").to_owned(),
            name: form.text("name").to_owned(),
        };
        let now = state.clock.now();
        match admin::register_institution(
            &state.metadata,
            &operator.acting(&request),
            &filled.id,
            &filled.name,
            now,
        )
        .await
        {
            Ok(institution) => Ok(redirect(
                &format!("{}?done=saved", href(&institution.id, "")),
                &[],
            )),
            Err(error) => {
                let shown = refused(request.lang, error)?;
                list_page(&state, &operator, &request, &filled, Some(shown)).await
            }
        }
    }
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}

// ---------------------------------------------------------------------------------------
// One institution
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct NewUnit {
    id: String,
    name: String,
}

/// The institution named by the address, or the "not found" page.
async fn institution_of(
    state: &AppState,
    operator: &ServiceOperator,
    request: &WebRequest,
    id: &str,
) -> PageResult<ClinicalInstitution> {
    let found = match InstitutionId::parse(id) {
        Ok(id) => state
            .metadata
            .clinical_institution(&id)
            .await
            .map_err(|e| ApiError::internal("reading an institution", &e))?,
        Err(_) => None,
    };
    found.ok_or_else(|| {
        let lang = request.lang;
        let mut frame = operator.frame(request, O::NotFoundTitle.text(lang));
        frame.status = StatusCode::NOT_FOUND;
        frame.body = message(MessageKind::Error, O::NoSuchInstitution.text(lang));
        PageError::answer(frame.into_response())
    })
}

async fn detail_page(
    state: &AppState,
    operator: &ServiceOperator,
    request: &WebRequest,
    institution: &ClinicalInstitution,
    filled: &NewUnit,
    outcome: Option<(StatusCode, String)>,
) -> PageResult {
    let lang = request.lang;
    let csrf_secret = operator.csrf();
    let units = state
        .metadata
        .clinical_units(&institution.id)
        .await
        .map_err(|e| ApiError::internal("listing units", &e))?;
    let certificates: Vec<_> = state
        .metadata
        .clinical_certificates()
        .await
        .map_err(|e| ApiError::internal("listing certificates", &e))?
        .into_iter()
        .filter(|(certificate, _)| certificate.institution == institution.id)
        .collect();
    let (status, notice) = outcome.unwrap_or((StatusCode::OK, done_notice(request)));
    let status_form = button_form(
        &href(
            &institution.id,
            &format!("/status?active={}", if institution.active { 0 } else { 1 }),
        ),
        csrf_secret,
        if institution.active {
            "danger"
        } else {
            "primary"
        },
        if institution.active {
            O::Suspend.text(lang)
        } else {
            O::Activate.text(lang)
        },
    );
    let unit_rows: String = units
        .iter()
        .map(|unit| {
            format!(
                "<tr data-id=\"{id}\">{}{}</tr>",
                td(
                    lang,
                    O::UnitId,
                    &format!("<span class=\"mono\">{}</span>", unit.id)
                ),
                td(lang, O::UnitName, &escape(&unit.name)),
                id = unit.id,
            )
        })
        .collect();
    let units_table = if units.is_empty() {
        message(MessageKind::Info, O::NoUnits.text(lang))
    } else {
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"units\"><thead><tr>{}{}</tr></thead><tbody>{unit_rows}</tbody></table></div>",
            th(lang, O::UnitId),
            th(lang, O::UnitName),
        )
    };
    let unit_form = format!(
        "<form class=\"card\" method=\"post\" action=\"{action}\" id=\"add-unit\" novalidate>{csrf}{id}{name}<button class=\"primary\" type=\"submit\">{add}</button></form>",
        action = escape(&href(&institution.id, "/units")),
        csrf = csrf::hidden_field(csrf_secret),
        id = Input {
            hint: Some(O::UnitIdHint.text(lang)),
            required: true,
            extra: "inputmode=\"numeric\" maxlength=\"9\"",
            ..Input::text("unit", O::UnitId.text(lang), &filled.id)
        }
        .html(),
        name = Input {
            required: true,
            extra: "maxlength=\"200\"",
            ..Input::text("unit_name", O::UnitName.text(lang), &filled.name)
        }
        .html(),
        add = escape(O::AddUnit.text(lang)),
    );
    let certificates_html = certificates_table(lang, &certificates, false);
    let issue_form = format!(
        "<p class=\"muted\">{intro}</p><form class=\"card\" method=\"post\" action=\"{action}\" id=\"issue-certificate\" novalidate>{csrf}{days}<button class=\"primary\" type=\"submit\">{issue}</button></form>",
        intro = escape(O::IssueIntro.text(lang)),
        action = escape(&href(&institution.id, "/certificates")),
        csrf = csrf::hidden_field(csrf_secret),
        days = Input {
            kind: "number",
            required: true,
            extra: "min=\"1\" max=\"825\"",
            ..Input::text("days", O::Days.text(lang), "365")
        }
        .html(),
        issue = escape(O::IssueCertificate.text(lang)),
    );
    let connection_form = format!(
        "<p id=\"connection-state\">{state}</p><p class=\"muted\">{intro}</p><form class=\"card\" method=\"post\" action=\"{action}\" enctype=\"multipart/form-data\" id=\"connection-check\" novalidate>{csrf}{file}<button class=\"primary\" type=\"submit\">{check}</button></form>",
        state = escape(&verified_text(lang, institution)),
        intro = escape(O::ConnectionIntro.text(lang)),
        action = escape(&href(&institution.id, "/connection")),
        csrf = csrf::hidden_field(csrf_secret),
        file = Input {
            kind: "file",
            required: true,
            extra: "accept=\".json,application/json\"",
            ..Input::text("report", O::Report.text(lang), "")
        }
        .html(),
        check = escape(O::CheckReport.text(lang)),
    );
    let mut frame = operator.frame(
        request,
        format!(
            "{} {} – {}",
            O::Institution.text(lang),
            institution.id,
            institution.name
        ),
    );
    frame.path = href(&institution.id, "");
    frame.status = status;
    frame.body = format!(
        "{notice}<p>{status_label}: {badge}</p><div class=\"actions\">{status_form}</div>\
         <h2>{units_title}</h2>{units_table}{unit_form}\
         <h2>{certs_title}</h2>{certificates_html}{issue_form}\
         <h2>{connection_title}</h2>{connection_form}",
        status_label = escape(O::Status.text(lang)),
        badge = status_badge(lang, institution.active),
        units_title = escape(O::Units.text(lang)),
        certs_title = escape(O::CertificatesTitle.text(lang)),
        connection_title = escape(O::Connection.text(lang)),
    );
    Ok(frame.into_response())
}

/// `GET /operator/institutions/{id}`.
async fn detail(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    Path(id): Path<String>,
    request: WebRequest,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let institution = institution_of(&state, &operator, &request, &id).await?;
        detail_page(
            &state,
            &operator,
            &request,
            &institution,
            &NewUnit::default(),
            None,
        )
        .await
    }
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}

/// `POST /operator/institutions/{id}/units`: unit id and name.
async fn add_unit(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    Path(id): Path<String>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let form = operator.genuine_form(&request, &body)?;
        let institution = institution_of(&state, &operator, &request, &id).await?;
        let filled = NewUnit {
            id: form.text("unit").to_owned(),
            name: form.text("unit_name").to_owned(),
        };
        match admin::add_unit(
            &state.metadata,
            &operator.acting(&request),
            institution.id.as_str(),
            &filled.id,
            &filled.name,
        )
        .await
        {
            Ok(_) => Ok(redirect(
                &format!("{}?done=saved", href(&institution.id, "")),
                &[],
            )),
            Err(error) => {
                let shown = refused(request.lang, error)?;
                detail_page(
                    &state,
                    &operator,
                    &request,
                    &institution,
                    &filled,
                    Some(shown),
                )
                .await
            }
        }
    }
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}

/// `POST /operator/institutions/{id}/status?active=0|1`: suspend or reactivate.
async fn set_status(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    Path(id): Path<String>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        operator.genuine_form(&request, &body)?;
        let institution = institution_of(&state, &operator, &request, &id).await?;
        let active = request.query("active").as_deref() == Some("1");
        match admin::set_institution_active(
            &state.metadata,
            &operator.acting(&request),
            institution.id.as_str(),
            active,
        )
        .await
        {
            Ok(()) => Ok(redirect(
                &format!("{}?done=saved", href(&institution.id, "")),
                &[],
            )),
            Err(error) => {
                let shown = refused(request.lang, error)?;
                detail_page(
                    &state,
                    &operator,
                    &request,
                    &institution,
                    &NewUnit::default(),
                    Some(shown),
                )
                .await
            }
        }
    }
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}

/// `POST /operator/institutions/{id}/certificates`: issues a certificate; the answer is the
/// only place its PKCS#12 file and one-time code appear (the file as a download link of
/// the page itself, the page not stored by the browser).
async fn issue(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    Path(id): Path<String>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let lang = request.lang;
        let form = operator.genuine_form(&request, &body)?;
        let institution = institution_of(&state, &operator, &request, &id).await?;
        let days = match form.text("days").parse::<u32>() {
            Ok(days) => days,
            Err(_) => {
                let shown = (StatusCode::BAD_REQUEST, message(MessageKind::Error, &format!("{} {}", O::Refused.text(lang), O::DaysRule.text(lang))));
                return detail_page(&state, &operator, &request, &institution, &NewUnit::default(), Some(shown)).await;
            }
        };
        let code = medgate_web::password::activation_code()?;
        let now = state.clock.now();
        let issued = match admin::issue_certificate(&state.metadata, &operator.acting(&request), &state.ca, institution.id.as_str(), days, &code, now).await {
            Ok(issued) => issued,
            Err(error) => {
                let shown = refused(lang, error)?;
                return detail_page(&state, &operator, &request, &institution, &NewUnit::default(), Some(shown)).await;
            }
        };
        let mut frame = operator.frame(&request, O::IssuedTitle.text(lang));
        frame.path = href(&institution.id, "");
        frame.body = format!(
            "<p>{intro}</p><p><a class=\"button primary\" id=\"pkcs12\" download=\"{id}-{serial}.p12\" href=\"data:application/x-pkcs12;base64,{data}\">{download}</a></p>\
             <p>{code_label}: <strong class=\"mono\" id=\"one-time-code\">{code}</strong></p><p><a href=\"{back}\">{back_label}</a></p>",
            intro = escape(&O::IssuedIntro.with(lang, "serial", &issued.serial).replace("{until}", &minute(issued.not_after))),
            serial = issued.serial,
            id = institution.id,
            data = base64::engine::general_purpose::STANDARD.encode(&issued.pkcs12),
            download = escape(O::Download.text(lang)),
            code_label = escape(O::OneTimeCode.text(lang)),
            code = escape(&code),
            back = escape(&href(&institution.id, "")),
            back_label = escape(O::BackToInstitution.text(lang)),
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

/// `POST /operator/institutions/{id}/connection` (a file upload): the institution's signed
/// connection-check report, checked as `medgate clinical connection verified --report` does;
/// the connection is marked verified only when the report passes.
async fn connection(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    Path(id): Path<String>,
    request: WebRequest,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let lang = request.lang;
        let upload = Upload::read(multipart).await?;
        if !operator.staff.form_is_genuine(&request, &upload.form) {
            return Err(PageError::answer(operator.forged(&request)));
        }
        let institution = institution_of(&state, &operator, &request, &id).await?;
        let Some(report) = upload.file("report") else {
            let shown = (
                StatusCode::BAD_REQUEST,
                message(
                    MessageKind::Error,
                    &format!("{} {}", O::Refused.text(lang), O::NoReport.text(lang)),
                ),
            );
            return detail_page(
                &state,
                &operator,
                &request,
                &institution,
                &NewUnit::default(),
                Some(shown),
            )
            .await;
        };
        let now = state.clock.now();
        let checked = admin::check_connection_report(
            &state.metadata,
            state.ca.certificate(),
            institution.id.as_str(),
            &report.bytes,
            now,
        )
        .await;
        let outcome = match checked {
            Ok(summary) => admin::mark_connection_verified(
                &state.metadata,
                &operator.acting(&request),
                institution.id.as_str(),
                now,
            )
            .await
            .map(|()| summary),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(summary) => {
                let institution = institution_of(&state, &operator, &request, &id).await?;
                let shown = (
                    StatusCode::OK,
                    medgate_web::desk::notice(
                        "ok",
                        &O::ConnectionVerified.with(lang, "summary", &summary),
                    ),
                );
                detail_page(
                    &state,
                    &operator,
                    &request,
                    &institution,
                    &NewUnit::default(),
                    Some(shown),
                )
                .await
            }
            Err(error) => {
                let shown = refused(lang, error)?;
                detail_page(
                    &state,
                    &operator,
                    &request,
                    &institution,
                    &NewUnit::default(),
                    Some(shown),
                )
                .await
            }
        }
    }
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}

// ---------------------------------------------------------------------------------------
// Every certificate
// ---------------------------------------------------------------------------------------

fn certificates_table(
    lang: Lang,
    certificates: &[(
        medgate_storage::InstitutionCertificate,
        time::OffsetDateTime,
    )],
    with_institution: bool,
) -> String {
    if certificates.is_empty() {
        return message(MessageKind::Info, O::NoCertificates.text(lang));
    }
    let now = time::OffsetDateTime::now_utc();
    let rows: String = certificates
        .iter()
        .map(|(certificate, issued)| {
            let institution = if with_institution {
                td(
                    lang,
                    O::Institution,
                    &format!(
                        "<a class=\"mono\" href=\"{}\">{}</a>",
                        escape(&href(&certificate.institution, "")),
                        certificate.institution
                    ),
                )
            } else {
                String::new()
            };
            let expired = if certificate.not_after < now {
                format!(
                    " <span class=\"status suspended\">{}</span>",
                    escape(O::Expired.text(lang))
                )
            } else {
                String::new()
            };
            format!(
                "<tr data-serial=\"{serial}\">{institution}{}{}{}</tr>",
                td(
                    lang,
                    O::Serial,
                    &format!(
                        "<span class=\"mono\">{}</span>",
                        escape(&certificate.serial)
                    )
                ),
                td(lang, O::IssuedAt, &minute(*issued)),
                td(
                    lang,
                    O::NotAfter,
                    &format!("{}{expired}", minute(certificate.not_after))
                ),
                serial = escape(&certificate.serial),
            )
        })
        .collect();
    format!(
        "<div class=\"table-wrap\"><table class=\"stack\" id=\"certificates\"><thead><tr>{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
        if with_institution { th(lang, O::Institution) } else { String::new() },
        th(lang, O::Serial),
        th(lang, O::IssuedAt),
        th(lang, O::NotAfter),
    )
}

/// `GET /operator/certificates`: every certificate issued to institutions.
async fn certificates(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<ServiceOperator>,
    request: WebRequest,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let lang = request.lang;
        let all = state
            .metadata
            .clinical_certificates()
            .await
            .map_err(|e| ApiError::internal("listing certificates", &e))?;
        let mut frame = operator.frame(&request, O::CertificatesTitle.text(lang));
        frame.body = format!(
            "<p class=\"muted\">{}</p>{}",
            escape(O::IssueIntro.text(lang)),
            certificates_table(lang, &all, true)
        );
        Ok(frame.into_response())
    }
    .await;
    respond(&SERVICE_OPERATOR, &request, outcome)
}
