//! «Формирование» and «Текущие реестры»: the executor forms the registers of a period in one
//! click (`medgate_claims::registers::form`); the registers listed with their states; a
//! register's page with its state, history (every transition, who and when) and the actions
//! the signed-in login may take (`workflow::allowed_actions`): the MO's executor sends, the
//! insurer's reviewer passes it for the MO's signature or returns it for rework with a
//! comment. A refused action answers the workflow's own sentence in the page's language.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_claims::registers::{self, RegisterError, RegisterView, Viewer};
use medgate_claims::workflow::{Action, ActionKind, Role, State as RegisterState};
use medgate_claims::FundError;
use medgate_storage::{ClaimsRegister, ClaimsRegisterEvent};
use medgate_web::desk::{PageError, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::{csrf, AppState, WebRequest};

pub(super) use super::packages::data_dir;
use super::packages::{kept_path, minute};
use super::register_words::W;
use super::{claims, now, ClaimsStaff, CLAIMS};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/claims/forming", get(forming_page).post(form))
        .route("/claims/registers", get(registers_page))
        .route("/claims/registers/{id}", get(register_page))
        .route("/claims/registers/{id}/act", post(act))
}

/// A state's name in the page's language.
pub(super) fn state_text(lang: Lang, state: &str) -> String {
    match RegisterState::from_code(state) {
        Some(state) if lang == Lang::Ru => state.russian().to_owned(),
        Some(state) => state.english().to_owned(),
        None => state.to_owned(),
    }
}

/// A role's name in the page's language.
pub(super) fn role_text(lang: Lang, role: Role) -> &'static str {
    if lang == Lang::Ru {
        role.russian()
    } else {
        role.english()
    }
}

/// A refusal in the page's language.
pub(super) fn refusal_text(lang: Lang, error: &RegisterError) -> String {
    error.in_language(lang == Lang::Ru)
}

/// The viewer of a signed-in login; a login without one has no registers (404).
pub(super) fn viewer_of(user: &ClaimsStaff, request: &WebRequest) -> PageResult<Viewer> {
    user.viewer(request)
        .ok_or_else(|| PageError::answer(user.not_found(request)))
}

/// A service failure that is no refusal: not found is the 404 page, the rest internal.
pub(super) fn failure(user: &ClaimsStaff, request: &WebRequest, error: RegisterError) -> PageError {
    match error {
        RegisterError::Fund(FundError::NotRegistered { .. }) => {
            PageError::answer(user.not_found(request))
        }
        other => PageError::from(ApiError::internal("a register", &other)),
    }
}

fn registers_table(lang: Lang, registers: &[ClaimsRegister]) -> String {
    if registers.is_empty() {
        return format!(
            "<p class=\"muted\">{}</p>",
            escape(W::NoRegisters.text(lang))
        );
    }
    let rows: String = registers
        .iter()
        .map(|register| {
            format!(
                "<tr><td><a href=\"/claims/registers/{id}\">{name}</a></td><td>{period}</td>\
                 <td>{usl_ok}</td><td>{smo}</td><td>{cases}</td><td>{sum}</td>\
                 <td class=\"status-{code}\">{state}</td></tr>",
                id = register.id,
                name = escape(&register.file_name),
                period = escape(&register.period),
                usl_ok = escape(&register.usl_ok),
                smo = escape(&register.smo_code),
                cases = register.cases,
                sum = escape(&register.summav),
                code = escape(&register.state),
                state = escape(&state_text(lang, &register.state)),
            )
        })
        .collect();
    format!(
        "<table class=\"registers\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>\
         <th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>",
        escape(W::Register.text(lang)),
        escape(W::ReportingPeriod.text(lang)),
        escape(W::CareConditions.text(lang)),
        escape(W::Insurer.text(lang)),
        escape(W::Cases.text(lang)),
        escape(W::Sum.text(lang)),
        escape(W::State.text(lang)),
    )
}

async fn show_forming(
    state: &AppState,
    request: &WebRequest,
    user: &ClaimsStaff,
    notice: Option<(MessageKind, String)>,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let viewer = viewer_of(user, request)?;
    let periods: Vec<String> = state
        .metadata
        .claims_periods()
        .await
        .map_err(|e| ApiError::internal("listing the periods", &e))?
        .into_iter()
        .map(|period| period.period)
        .collect();
    let form = if viewer.role != Role::Executor {
        message(MessageKind::Info, W::ExecutorForms.text(lang))
    } else if periods.is_empty() {
        message(MessageKind::Info, W::NoPeriods.text(lang))
    } else {
        let options: String = periods
            .iter()
            .rev()
            .map(|period| format!("<option value=\"{0}\">{0}</option>", escape(period)))
            .collect();
        format!(
            "<form class=\"card\" method=\"post\" action=\"/claims/forming\">{csrf}\
             <label for=\"period\">{label}</label><select id=\"period\" name=\"period\">{options}</select>\
             <button class=\"primary\" type=\"submit\">{submit}</button></form>",
            csrf = csrf::hidden_field(&user.session.csrf_secret),
            label = escape(W::ReportingPeriod.text(lang)),
            submit = escape(W::Form.text(lang)),
        )
    };
    let listed = registers::registers_of(&state.metadata, &viewer)
        .await
        .map_err(|e| failure(user, request, e))?;
    let mut frame = user.frame(request, W::FormingTitle.text(lang), "/claims/forming");
    frame.status = status;
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{notice}{form}<h2>{heading}</h2>{table}",
        intro = escape(W::FormingIntro.text(lang)),
        notice = notice
            .map(|(kind, text)| message(kind, &text))
            .unwrap_or_default(),
        heading = escape(W::RegistersTitle.text(lang)),
        table = registers_table(lang, &listed),
    );
    Ok(frame.into_response())
}

/// `GET /claims/forming`.
async fn forming_page(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        user.require_mo()?;
        show_forming(&state, &request, &user, None, StatusCode::OK).await
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

/// `POST /claims/forming`: "Сформировать реестр" for the period chosen.
async fn form(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    body: axum::body::Bytes,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let lang = request.lang;
        let form = user.genuine_form(&request, &body)?;
        let viewer = viewer_of(&user, &request)?;
        let period = form.text("period").trim().to_owned();
        let kept = {
            let state = state.clone();
            move |package: &medgate_storage::ClaimsPackage| {
                kept_path(&state, package.id, &package.file_name)
            }
        };
        let formed = registers::form(
            &state.metadata,
            &data_dir(&state),
            &viewer,
            &period,
            &kept,
            now(&state),
        )
        .await;
        match formed {
            Ok(formed) => Ok(redirect(
                &format!("/claims/registers?formed={}", formed.len()),
                &[],
            )),
            Err(
                error @ (RegisterError::NothingToForm { .. }
                | RegisterError::NotAllowed { .. }
                | RegisterError::Fund(FundError::Invalid { .. })),
            ) => {
                let status = if matches!(error, RegisterError::NotAllowed { .. }) {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::BAD_REQUEST
                };
                let text = W::Refused.with(lang, "reason", &refusal_text(lang, &error));
                show_forming(
                    &state,
                    &request,
                    &user,
                    Some((MessageKind::Error, text)),
                    status,
                )
                .await
            }
            Err(other) => Err(failure(&user, &request, other)),
        }
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

/// `GET /claims/registers`: the registers the login sees.
async fn registers_page(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let lang = request.lang;
        let viewer = viewer_of(&user, &request)?;
        let listed = registers::registers_of(&state.metadata, &viewer)
            .await
            .map_err(|e| failure(&user, &request, e))?;
        let notice = request
            .query("formed")
            .map(|count| message(MessageKind::Info, &W::Formed.with(lang, "count", &count)))
            .unwrap_or_default();
        let intro = if viewer.role == Role::InsurerReviewer {
            W::ReviewerIntro
        } else {
            W::RegistersIntro
        };
        let mut frame = user.frame(&request, W::RegistersTitle.text(lang), "/claims/registers");
        frame.body = format!(
            "<p class=\"muted\">{}</p>{notice}{}",
            escape(intro.text(lang)),
            registers_table(lang, &listed)
        );
        Ok(frame.into_response())
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

fn action_text(lang: Lang, action: &str) -> &'static str {
    match action {
        "form" => W::ActionForm,
        "send" => W::ActionSend,
        "accept_for_signature" => W::ActionAccept,
        "return_for_rework" => W::ActionReturn,
        _ => W::ActionSign,
    }
    .text(lang)
}

fn history_table(lang: Lang, history: &[ClaimsRegisterEvent]) -> String {
    let rows: String = history
        .iter()
        .map(|event| {
            let role = Role::from_code(&event.role)
                .map(|role| role_text(lang, role))
                .unwrap_or("");
            format!(
                "<tr><td>{when}</td><td><code>{login}</code> ({role})</td><td>{action}</td>\
                 <td>{from} → <strong>{to}</strong></td><td>{comment}</td></tr>",
                when = minute(event.at),
                login = escape(&event.login),
                role = escape(role),
                action = escape(action_text(lang, &event.action)),
                from = escape(
                    &event
                        .from_state
                        .as_deref()
                        .map(|from| state_text(lang, from))
                        .unwrap_or_else(|| "—".to_owned())
                ),
                to = escape(&state_text(lang, &event.to_state)),
                comment = escape(event.comment.as_deref().unwrap_or("")),
            )
        })
        .collect();
    format!(
        "<table class=\"history\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>\
         <tbody>{rows}</tbody></table>",
        escape(W::When.text(lang)),
        escape(W::Who.text(lang)),
        escape(W::ActionWord.text(lang)),
        escape(W::FromTo.text(lang)),
        escape(W::Comment.text(lang)),
    )
}

fn actions_form(lang: Lang, user: &ClaimsStaff, view: &RegisterView) -> String {
    let id = view.register.id;
    let buttons: Vec<String> = view
        .allowed
        .iter()
        .filter_map(|kind| {
            let (value, label) = match kind {
                ActionKind::Send => ("send", W::Send),
                ActionKind::AcceptForSignature => ("accept_for_signature", W::AcceptForSignature),
                ActionKind::ReturnForRework => ("return_for_rework", W::ReturnForRework),
                ActionKind::Sign => return None,
            };
            Some(format!(
                "<button class=\"primary\" type=\"submit\" name=\"action\" value=\"{value}\">{}</button> ",
                escape(label.text(lang))
            ))
        })
        .collect();
    if buttons.is_empty() {
        if view.allowed.contains(&ActionKind::Sign) {
            return String::new();
        }
        return format!("<p class=\"muted\">{}</p>", escape(W::NoActions.text(lang)));
    }
    let comment = if view.allowed.contains(&ActionKind::ReturnForRework) {
        format!(
            "<label for=\"comment\">{}</label><textarea id=\"comment\" name=\"comment\" rows=\"3\" maxlength=\"2000\"></textarea>",
            escape(W::CommentHint.text(lang))
        )
    } else {
        String::new()
    };
    format!(
        "<form class=\"card\" method=\"post\" action=\"/claims/registers/{id}/act\">{csrf}{comment}<p>{buttons}</p></form>",
        csrf = csrf::hidden_field(&user.session.csrf_secret),
        buttons = buttons.join(""),
    )
}

/// The register's page: what it is, its state, history, actions, signatures and documents.
pub(super) async fn show_register(
    state: &AppState,
    request: &WebRequest,
    user: &ClaimsStaff,
    id: i64,
    notice: Option<(MessageKind, String)>,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let viewer = viewer_of(user, request)?;
    let view = registers::view(&state.metadata, &viewer, id)
        .await
        .map_err(|e| failure(user, request, e))?;
    let register = &view.register;
    let path = format!("/claims/registers/{id}");
    let mut frame = user.frame(
        request,
        W::RegisterTitle.with(lang, "name", &register.file_name),
        &path,
    );
    frame.status = status;
    let facts = format!(
        "<dl class=\"card facts\"><dt>{state_label}</dt><dd><strong class=\"status-{code}\" id=\"register-state\">{state}</strong></dd>\
         <dt>{period_label}</dt><dd>{period}</dd><dt>{usl_label}</dt><dd>{usl_ok}</dd>\
         <dt>{smo_label}</dt><dd>{smo}</dd><dt>{cases_label}</dt><dd>{cases}</dd>\
         <dt>{sum_label}</dt><dd>{sum}</dd><dt>{formed_label}</dt><dd>{formed} · <code>{by}</code></dd></dl>",
        state_label = escape(W::State.text(lang)),
        code = escape(&register.state),
        state = escape(&state_text(lang, &register.state)),
        period_label = escape(W::ReportingPeriod.text(lang)),
        period = escape(&register.period),
        usl_label = escape(W::CareConditions.text(lang)),
        usl_ok = escape(&register.usl_ok),
        smo_label = escape(W::Insurer.text(lang)),
        smo = escape(&register.smo_code),
        cases_label = escape(W::Cases.text(lang)),
        cases = register.cases,
        sum_label = escape(W::Sum.text(lang)),
        sum = escape(&register.summav),
        formed_label = escape(W::Formed2.text(lang)),
        formed = minute(register.formed_at),
        by = escape(&register.formed_by),
    );
    let signing = super::signatures::signing_section(lang, user, &view);
    let documents = super::documents::documents_section(lang, &view);
    frame.body = format!(
        "{notice}{facts}<h2>{actions_heading}</h2>{actions}{signing}<h2>{history_heading}</h2>{history}{documents}",
        notice = notice
            .map(|(kind, text)| message(kind, &text))
            .unwrap_or_default(),
        actions_heading = escape(W::Actions.text(lang)),
        actions = actions_form(lang, user, &view),
        history_heading = escape(W::History.text(lang)),
        history = history_table(lang, &view.history),
    );
    Ok(frame.into_response())
}

fn parse_id(user: &ClaimsStaff, request: &WebRequest, id: &str) -> PageResult<i64> {
    id.parse::<i64>()
        .map_err(|_| PageError::answer(user.not_found(request)))
}

/// `GET /claims/registers/{id}`.
async fn register_page(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    Path(id): Path<String>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let id = parse_id(&user, &request, &id)?;
        let notice = request.query("moved").map(|state| {
            (
                MessageKind::Info,
                W::Moved.with(request.lang, "state", &state_text(request.lang, &state)),
            )
        });
        show_register(&state, &request, &user, id, notice, StatusCode::OK).await
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

/// `POST /claims/registers/{id}/act`: `action` send, accept_for_signature or
/// return_for_rework (with `comment`).
async fn act(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let lang = request.lang;
        let id = parse_id(&user, &request, &id)?;
        let form = user.genuine_form(&request, &body)?;
        let viewer = viewer_of(&user, &request)?;
        let action = match form.text("action").trim() {
            "send" => Action::Send,
            "accept_for_signature" => Action::AcceptForSignature,
            "return_for_rework" => Action::ReturnForRework {
                comment: form.text("comment").to_owned(),
            },
            _ => return Ok(redirect(&format!("/claims/registers/{id}"), &[])),
        };
        match registers::act(&state.metadata, &viewer, id, action, now(&state)).await {
            Ok(moved) => Ok(redirect(
                &format!("/claims/registers/{id}?moved={}", moved.state),
                &[],
            )),
            Err(error @ (RegisterError::Workflow(_) | RegisterError::Conflict)) => {
                let status = if matches!(error, RegisterError::Conflict) {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::FORBIDDEN
                };
                let text = W::Refused.with(lang, "reason", &refusal_text(lang, &error));
                show_register(
                    &state,
                    &request,
                    &user,
                    id,
                    Some((MessageKind::Error, text)),
                    status,
                )
                .await
            }
            Err(other) => Err(failure(&user, &request, other)),
        }
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}
