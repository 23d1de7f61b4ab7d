//! "Справочники": the medical organisations with their subdivisions, the insurers and the
//! reporting periods, each with its form; a period opened or closed with one button.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_claims::fund;
use medgate_web::desk::{td, th, Input, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::{csrf, AppState, WebRequest};

use super::words::O;
use super::{done_notice, refused, respond, russian, FundOperator};

const PATH: &str = "/operator/registry";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PATH, get(show))
        .route("/operator/registry/mo", post(change))
        .route("/operator/registry/subdivision", post(change))
        .route("/operator/registry/insurer", post(change))
        .route("/operator/registry/period/open", post(change))
        .route("/operator/registry/period/close", post(change))
}

fn internal(what: &'static str) -> impl FnOnce(medgate_storage::MetadataError) -> ApiError {
    move |error| ApiError::internal(what, &error)
}

fn form(operator: &FundOperator, action: &str, id: &str, fields: &str, button: &str) -> String {
    format!(
        "<h3>{button}</h3><form class=\"card\" method=\"post\" action=\"{action}\" id=\"{id}\" novalidate>{csrf}{fields}<button class=\"primary\" type=\"submit\">{button}</button></form>",
        csrf = csrf::hidden_field(operator.csrf()),
        button = escape(button),
    )
}

async fn page(
    state: &AppState,
    operator: &FundOperator,
    request: &WebRequest,
    outcome: Option<(StatusCode, String)>,
) -> PageResult {
    let lang = request.lang;
    let organisations = state
        .metadata
        .claims_medical_organisations()
        .await
        .map_err(internal("listing the medical organisations"))?;
    let mut rows = String::new();
    for mo in &organisations {
        let subdivisions = state
            .metadata
            .claims_subdivisions(&mo.code)
            .await
            .map_err(internal("listing the subdivisions"))?;
        let listed = if subdivisions.is_empty() {
            escape(O::NoSubdivisions.text(lang))
        } else {
            subdivisions
                .iter()
                .map(|s| {
                    format!(
                        "<span class=\"mono\">{}</span> {}",
                        escape(&s.code),
                        escape(&s.name)
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>")
        };
        rows.push_str(&format!(
            "<tr>{}{}{}</tr>",
            td(
                lang,
                O::Code,
                &format!("<span class=\"mono\">{}</span>", escape(&mo.code))
            ),
            td(lang, O::Name, &escape(&mo.name)),
            td(lang, O::Subdivisions, &listed),
        ));
    }
    let organisations_html = if organisations.is_empty() {
        message(MessageKind::Info, O::NoOrganisations.text(lang))
    } else {
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"organisations\"><thead><tr>{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
            th(lang, O::Code),
            th(lang, O::Name),
            th(lang, O::Subdivisions),
        )
    };
    let code = |field: &'static str, label: O, hint: O, max: &'static str| {
        Input {
            hint: Some(hint.text(lang)),
            required: true,
            extra: max,
            ..Input::text(field, label.text(lang), "")
        }
        .html()
    };
    let name = |field: &'static str| {
        Input {
            required: true,
            extra: "maxlength=\"200\"",
            ..Input::text(field, O::Name.text(lang), "")
        }
        .html()
    };
    let add_mo = form(
        operator,
        "/operator/registry/mo",
        "add-mo",
        &format!(
            "{}{}",
            code(
                "mo_code",
                O::MoCode,
                O::MoCodeHint,
                "inputmode=\"numeric\" maxlength=\"7\""
            ),
            name("mo_name")
        ),
        O::AddOrganisation.text(lang),
    );
    let add_subdivision = form(
        operator,
        "/operator/registry/subdivision",
        "add-subdivision",
        &format!(
            "{}{}{}",
            Input {
                required: true,
                extra: "inputmode=\"numeric\" maxlength=\"7\"",
                ..Input::text("mo", O::MoCode.text(lang), "")
            }
            .html(),
            Input {
                required: true,
                extra: "inputmode=\"numeric\" maxlength=\"8\"",
                ..Input::text("subdivision_code", O::SubdivisionCode.text(lang), "")
            }
            .html(),
            name("subdivision_name"),
        ),
        O::AddSubdivision.text(lang),
    );
    let insurers = state
        .metadata
        .claims_insurers()
        .await
        .map_err(internal("listing the insurers"))?;
    let insurers_html = if insurers.is_empty() {
        message(MessageKind::Info, O::NoInsurers.text(lang))
    } else {
        let rows: String = insurers
            .iter()
            .map(|i| {
                format!(
                    "<tr>{}{}</tr>",
                    td(
                        lang,
                        O::Code,
                        &format!("<span class=\"mono\">{}</span>", escape(&i.code))
                    ),
                    td(lang, O::Name, &escape(&i.name)),
                )
            })
            .collect();
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"insurers\"><thead><tr>{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
            th(lang, O::Code),
            th(lang, O::Name),
        )
    };
    let add_insurer = form(
        operator,
        "/operator/registry/insurer",
        "add-insurer",
        &format!(
            "{}{}",
            code(
                "smo_code",
                O::Code,
                O::SmoCodeHint,
                "inputmode=\"numeric\" maxlength=\"5\""
            ),
            name("smo_name")
        ),
        O::AddInsurer.text(lang),
    );
    let periods = state
        .metadata
        .claims_periods()
        .await
        .map_err(internal("listing the periods"))?;
    let periods_html = if periods.is_empty() {
        message(MessageKind::Info, O::NoPeriods.text(lang))
    } else {
        let rows: String = periods
            .iter()
            .map(|p| {
                let (state_word, action) = if p.open {
                    (
                        O::Open,
                        format!(
                            "<form method=\"post\" action=\"/operator/registry/period/close\">{}<input type=\"hidden\" name=\"period\" value=\"{}\"><button class=\"danger\" type=\"submit\">{}</button></form>",
                            csrf::hidden_field(operator.csrf()),
                            escape(&p.period),
                            escape(O::ClosePeriod.text(lang)),
                        ),
                    )
                } else {
                    (O::Closed, String::new())
                };
                format!(
                    "<tr>{}{}{}</tr>",
                    td(lang, O::Period, &format!("<span class=\"mono\">{}</span>", escape(&p.period))),
                    td(lang, O::State, &format!("<span class=\"status-{}\">{}</span>", if p.open { "open" } else { "closed" }, escape(state_word.text(lang)))),
                    td(lang, O::State, &action),
                )
            })
            .collect();
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"periods\"><thead><tr>{}{}<th></th></tr></thead><tbody>{rows}</tbody></table></div>",
            th(lang, O::Period),
            th(lang, O::State),
        )
    };
    let open_period = form(
        operator,
        "/operator/registry/period/open",
        "open-period",
        &Input {
            hint: Some(O::PeriodHint.text(lang)),
            required: true,
            extra: "maxlength=\"7\"",
            ..Input::text("period", O::Period.text(lang), "")
        }
        .html(),
        O::OpenPeriod.text(lang),
    );
    let (status, notice) = outcome.unwrap_or((StatusCode::OK, done_notice(request)));
    let mut frame = operator.frame(request, O::RegistryTitle.text(lang), PATH);
    frame.status = status;
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{notice}<h2>{organisations}</h2>{organisations_html}{add_mo}{add_subdivision}\
         <h2>{insurers_title}</h2>{insurers_html}{add_insurer}<h2>{periods_title}</h2>{periods_html}{open_period}",
        intro = escape(O::RegistryIntro.text(lang)),
        organisations = escape(O::Organisations.text(lang)),
        insurers_title = escape(O::Insurers.text(lang)),
        periods_title = escape(O::Periods.text(lang)),
    );
    Ok(frame.into_response())
}

/// `GET /operator/registry`.
async fn show(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<FundOperator>,
    request: WebRequest,
) -> Response {
    let request = russian(request);
    let outcome = page(&state, &operator, &request, None).await;
    respond(&request, outcome)
}

/// `POST /operator/registry/{mo,subdivision,insurer,period/open,period/close}`: one change of
/// the registry, as the command line makes it.
async fn change(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<FundOperator>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = russian(request);
    let outcome = async {
        let form = operator.genuine_form(&request, &body)?;
        let (store, actor) = (&state.metadata, operator.acting(&request));
        let now = state.clock.now();
        let done = match request.uri.path() {
            "/operator/registry/mo" => fund::add_medical_organisation(
                store,
                &actor,
                form.text("mo_code"),
                form.text("mo_name"),
                now,
            )
            .await
            .map(|_| ()),
            "/operator/registry/subdivision" => fund::add_subdivision(
                store,
                &actor,
                form.text("mo"),
                form.text("subdivision_code"),
                form.text("subdivision_name"),
            )
            .await
            .map(|_| ()),
            "/operator/registry/insurer" => fund::add_insurer(
                store,
                &actor,
                form.text("smo_code"),
                form.text("smo_name"),
                now,
            )
            .await
            .map(|_| ()),
            "/operator/registry/period/open" => {
                fund::open_period(store, &actor, form.text("period"), now)
                    .await
                    .map(|_| ())
            }
            _ => fund::close_period(store, &actor, form.text("period"), now)
                .await
                .map(|_| ()),
        };
        match done {
            Ok(()) => Ok(redirect(&format!("{PATH}?done=saved"), &[])),
            Err(error) => {
                let shown = refused(request.lang, error)?;
                page(&state, &operator, &request, Some(shown)).await
            }
        }
    }
    .await;
    respond(&request, outcome)
}
