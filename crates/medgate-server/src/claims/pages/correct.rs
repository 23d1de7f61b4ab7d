//! «Исправить» on a package's ФЛК tab: a finding `medgate_claims::correct::fixable` accepts
//! is corrected at the node. The form (`GET /claims/packages/{id}/correct?n_zap=…&element=…`)
//! shows the record, the element, its current value in the kept package and a field for the
//! new one; its POST writes the corrected copy into the staging folder
//! (`correct::rewrite_package`), registers it as a new package of the same MO, period and
//! file name linked to the one it corrects (`intake::register_correction`), keeps and
//! controls it as an upload ([`crate::claims::keep_and_check`]) and answers with the new
//! package's page.
//!
//! Who and when: the package's MO's executor (`_1`, of the package's subdivision where it
//! submits separately), while the package has FLK errors and was not corrected yet. A
//! package is corrected once; a further correction is made on its corrected copy. Only an
//! element of a record that a stored finding names can be corrected, so a forged form
//! cannot change any other field.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use medgate_claims::correct::{self, Correction, CorrectionRefusal};
use medgate_claims::names::RegisterFileName;
use medgate_claims::{intake, ClaimsError, FundError};
use medgate_storage::{ClaimsFinding, ClaimsPackage, ClaimsPackageCorrections};
use medgate_web::desk::{PageError, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, Input, MessageKind};
use medgate_web::{csrf, AppState, WebRequest};

use super::packages::{kept_path, package_summary};
use super::words::R;
use super::{claims, now, ClaimsStaff, CLAIMS};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route(
        "/claims/packages/{id}/correct",
        get(correct_page).post(correct_package),
    )
}

/// Why a login cannot correct a package now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Blocked {
    /// Not the executor of the package's MO and subdivision.
    NotExecutor,
    /// The package has no FLK errors (being checked, accepted or refused whole).
    NoFlkErrors,
    /// It was corrected already: by this package.
    CorrectedBy(i64),
}

impl Blocked {
    fn status(self) -> StatusCode {
        match self {
            Blocked::NotExecutor => StatusCode::FORBIDDEN,
            Blocked::NoFlkErrors | Blocked::CorrectedBy(_) => StatusCode::CONFLICT,
        }
    }

    /// The sentence saying so, as HTML (a link to the corrected copy).
    pub(super) fn html(self, lang: Lang) -> String {
        let text = match self {
            Blocked::NotExecutor => escape(R::CorrectExecutorOnly.text(lang)),
            Blocked::NoFlkErrors => escape(R::CorrectNotFlk.text(lang)),
            Blocked::CorrectedBy(id) => escape(R::CorrectedBy.text(lang)).replace(
                "{id}",
                &format!("<a href=\"/claims/packages/{id}\">{id}</a>"),
            ),
        };
        format!("<p class=\"message info\" role=\"status\">{text}</p>")
    }
}

/// Whether `user` may correct `package` now (see the module's rule).
pub(super) fn blocked(
    user: &ClaimsStaff,
    package: &ClaimsPackage,
    corrections: &ClaimsPackageCorrections,
) -> Option<Blocked> {
    if user.user.role != "executor"
        || user.user.mo_code.as_deref() != Some(package.mo_code.as_str())
        || user.user.subdivision_code != package.subdivision_code
    {
        return Some(Blocked::NotExecutor);
    }
    if let Some(by) = &corrections.corrected_by {
        return Some(Blocked::CorrectedBy(by.package_id));
    }
    (package.status != "flk_errors").then_some(Blocked::NoFlkErrors)
}

/// The package's main file's name without `.xml` (the name of the package without `.zip`).
pub(super) fn main_stem(package: &ClaimsPackage) -> Option<String> {
    RegisterFileName::parse(&package.file_name)
        .ok()
        .map(|name| name.main_stem())
}

/// Whether the finding may be corrected at the node in the package of `main_stem`.
pub(super) fn is_fixable(finding: &ClaimsFinding, main_stem: &str) -> bool {
    correct::fixable(
        finding.code,
        &finding.file,
        &finding.element,
        finding.n_zap.as_deref(),
        &finding.comment,
        main_stem,
    )
}

/// The address of the form correcting the finding's element in the package `id`.
pub(super) fn form_href(id: i64, finding: &ClaimsFinding) -> String {
    format!(
        "/claims/packages/{id}/correct?n_zap={}&element={}",
        urlencoding::encode(finding.n_zap.as_deref().unwrap_or("")),
        urlencoding::encode(&finding.element)
    )
}

/// The head of a package's page that is part of a correction: the correction it holds, and
/// the package that corrected it — each linking to the other package.
pub(super) fn links(lang: Lang, corrections: &ClaimsPackageCorrections) -> String {
    let mut html = String::new();
    if let Some(held) = &corrections.corrects {
        let id = held.corrects_package_id;
        let text = escape(R::Corrects.text(lang))
            .replace(
                "{id}",
                &format!("<a href=\"/claims/packages/{id}\">{id}</a>"),
            )
            .replace("{element}", &escape(&held.element))
            .replace("{n_zap}", &escape(&held.n_zap))
            .replace("{old}", &escape(&held.old_value))
            .replace("{new}", &escape(&held.new_value));
        html.push_str(&format!(
            "<p class=\"message info correction\" role=\"status\">{text}</p>"
        ));
    }
    if let Some(by) = &corrections.corrected_by {
        html.push_str(&Blocked::CorrectedBy(by.package_id).html(lang));
    }
    html
}

/// The package `id` of the login's MO with what the form needs; `Err` is the page to answer
/// (404 for another MO's or a missing package).
struct Target {
    package: ClaimsPackage,
    findings: Vec<ClaimsFinding>,
    corrections: ClaimsPackageCorrections,
}

async fn target(
    state: &AppState,
    user: &ClaimsStaff,
    request: &WebRequest,
    id: &str,
) -> PageResult<Result<Target, Response>> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(Err(user.not_found(request)));
    };
    let (package, findings) = match intake::findings_of(&state.metadata, user.mo_code(), id).await {
        Ok(found) => found,
        Err(FundError::NotRegistered { .. }) => return Ok(Err(user.not_found(request))),
        Err(other) => return Err(ApiError::internal("reading a package", &other).into()),
    };
    let corrections = state
        .metadata
        .claims_package_corrections(id)
        .await
        .map_err(|e| ApiError::internal("reading a package's corrections", &e))?;
    Ok(Ok(Target {
        package,
        findings,
        corrections,
    }))
}

/// What the form holds: the record and element (hidden), the current value and the new one.
#[derive(Default)]
struct Filled {
    n_zap: String,
    element: String,
    current: String,
    new: String,
    /// What is wrong with the new value, under its field.
    error: Option<String>,
}

/// The form page: the finding, the current value(s), the field; `notice` above it and
/// `error` under the field.
async fn show(
    state: &AppState,
    request: &WebRequest,
    user: &ClaimsStaff,
    target: &Target,
    filled: &Filled,
    notice: Option<String>,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let package = &target.package;
    let path = format!("/claims/packages/{}", package.id);
    let title = R::CorrectTitle
        .with(lang, "element", &filled.element)
        .replace("{n_zap}", &filled.n_zap);
    let mut frame = user.frame(request, title, &format!("{path}/correct"));
    frame.status = status;
    // The language switch, also under a refused POST, opens the same form.
    frame.query = format!(
        "n_zap={}&element={}",
        urlencoding::encode(&filled.n_zap),
        urlencoding::encode(&filled.element)
    );
    let back = format!(
        "<p><a href=\"{path}\">{}</a></p>",
        escape(R::Cancel.text(lang))
    );
    // A refused value is said at the top too, where the eye is after the POST.
    let notice = notice.or_else(|| {
        filled
            .error
            .as_ref()
            .map(|_| message(MessageKind::Error, R::FixErrors.text(lang)))
    });
    let head = format!(
        "{}{}",
        package_summary(lang, package, false),
        notice.unwrap_or_default()
    );
    if let Some(blocked) = blocked(user, package, &target.corrections) {
        frame.body = format!("{head}{}{back}", blocked.html(lang));
        return Ok(frame.into_response());
    }
    let stem = main_stem(package).unwrap_or_default();
    let finding = target.findings.iter().find(|finding| {
        is_fixable(finding, &stem)
            && finding.n_zap.as_deref() == Some(filled.n_zap.as_str())
            && finding.element == filled.element
    });
    let Some(finding) = finding else {
        let refusal = CorrectionRefusal::NotFixable {
            element: filled.element.clone(),
        };
        frame.body = format!(
            "{head}{}{back}",
            message(MessageKind::Error, &refusal_text(lang, &refusal))
        );
        return Ok(frame.into_response());
    };
    let kept = kept_path(state, package.id, &package.file_name);
    let (n_zap, element) = (filled.n_zap.clone(), filled.element.clone());
    let mut values = tokio::task::spawn_blocking(move || {
        correct::current_values(&kept, &stem, &n_zap, &element)
    })
    .await
    .map_err(|e| ApiError::internal("reading a kept package", &e))?
    .map_err(|e| ApiError::internal("reading a kept package", &e))?;
    values.dedup();
    let comment = match lang {
        Lang::Ru if !finding.comment_ru.is_empty() => &finding.comment_ru,
        _ => &finding.comment,
    };
    let row = |label: R, value: &str| {
        format!(
            "<tr><th scope=\"row\">{}</th><td>{value}</td></tr>",
            escape(label.text(lang))
        )
    };
    let facts = [
        row(R::Record, &escape(&filled.n_zap)),
        row(R::Case, &escape(finding.idcase.as_deref().unwrap_or("—"))),
        row(R::Element, &escape(&filled.element)),
        row(R::Comment, &format!("{} {}", finding.code, escape(comment))),
    ]
    .concat();
    let current = match values.as_slice() {
        [] => {
            frame.body = format!(
                "{head}<table class=\"facts\"><tbody>{facts}</tbody></table>{}{back}",
                message(MessageKind::Error, R::NoCurrentValue.text(lang))
            );
            return Ok(frame.into_response());
        }
        [only] => format!(
            "<table class=\"facts\"><tbody>{facts}{}</tbody></table>\
             <input type=\"hidden\" name=\"current\" value=\"{}\">",
            row(
                R::CurrentValue,
                &format!("<code id=\"current-value\">{}</code>", escape(only))
            ),
            escape(only)
        ),
        several => {
            let options: String = several
                .iter()
                .map(|value| {
                    let selected = if *value == filled.current {
                        " selected"
                    } else {
                        ""
                    };
                    format!(
                        "<option value=\"{0}\"{selected}>{0}</option>",
                        escape(value)
                    )
                })
                .collect();
            format!(
                "<table class=\"facts\"><tbody>{facts}</tbody></table><label for=\"current\">{}</label><select id=\"current\" name=\"current\">{options}</select>",
                escape(R::CurrentValue.text(lang))
            )
        }
    };
    let field = Input {
        hint: Some(R::NewValueHint.text(lang)),
        error: filled.error.as_deref(),
        required: true,
        extra: "maxlength=\"250\" autocomplete=\"off\"",
        ..Input::text("new", R::NewValue.text(lang), &filled.new)
    }
    .html();
    frame.body = format!(
        "{head}<p class=\"muted\">{intro}</p><form class=\"card\" method=\"post\" action=\"{path}/correct\" novalidate>\
         {csrf}<input type=\"hidden\" name=\"n_zap\" value=\"{n_zap}\">\
         <input type=\"hidden\" name=\"element\" value=\"{element}\">{current}{field}\
         <button class=\"primary\" type=\"submit\">{submit}</button></form>{back}",
        intro = escape(R::CorrectFormIntro.text(lang)),
        csrf = csrf::hidden_field(&user.session.csrf_secret),
        n_zap = escape(&filled.n_zap),
        element = escape(&filled.element),
        submit = escape(R::CorrectSubmit.text(lang)),
    );
    Ok(frame.into_response())
}

/// The refusal in the page's language.
fn reason(lang: Lang, refusal: &CorrectionRefusal) -> String {
    match lang {
        Lang::Ru => refusal.russian(),
        _ => refusal.to_string(),
    }
}

/// The refusal as a sentence of its own, under the field.
fn field_error(lang: Lang, refusal: &CorrectionRefusal) -> String {
    let text = reason(lang, refusal);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => text,
    }
}

fn refusal_text(lang: Lang, refusal: &CorrectionRefusal) -> String {
    R::CorrectRefused.with(lang, "reason", &reason(lang, refusal))
}

/// `GET /claims/packages/{id}/correct?n_zap=…&element=…`: the form.
async fn correct_page(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    Path(id): Path<String>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let target = match target(&state, &user, &request, &id).await? {
            Ok(target) => target,
            Err(page) => return Ok(page),
        };
        let filled = Filled {
            n_zap: request.query("n_zap").unwrap_or_default(),
            element: request.query("element").unwrap_or_default(),
            ..Filled::default()
        };
        let status = blocked(&user, &target.package, &target.corrections)
            .map_or(StatusCode::OK, Blocked::status);
        show(&state, &request, &user, &target, &filled, None, status).await
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

/// `POST /claims/packages/{id}/correct` (`n_zap`, `element`, `current`, `new`): the
/// corrected copy written, registered, kept and controlled; the answer is its page.
async fn correct_package(
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
        let form = user.genuine_form(&request, &body)?;
        let target = match target(&state, &user, &request, &id).await? {
            Ok(target) => target,
            Err(page) => return Ok(page),
        };
        let mut filled = Filled {
            n_zap: form.text("n_zap").trim().to_owned(),
            element: form.text("element").trim().to_owned(),
            current: form.text("current").to_owned(),
            new: form.text("new").to_owned(),
            error: None,
        };
        let package = &target.package;
        if let Some(blocked) = blocked(&user, package, &target.corrections) {
            let status = blocked.status();
            return show(&state, &request, &user, &target, &filled, None, status).await;
        }
        let stem = main_stem(package).unwrap_or_default();
        let named = target.findings.iter().any(|finding| {
            is_fixable(finding, &stem)
                && finding.n_zap.as_deref() == Some(filled.n_zap.as_str())
                && finding.element == filled.element
        });
        if !named {
            // `show` says the element cannot be corrected here.
            let status = StatusCode::BAD_REQUEST;
            return show(&state, &request, &user, &target, &filled, None, status).await;
        }
        let correction = Correction {
            n_zap: filled.n_zap.clone(),
            element: filled.element.clone(),
            current: filled.current.clone(),
            new: filled.new.clone(),
        };
        if let Err(refusal) = correction.validate() {
            filled.error = Some(field_error(lang, &refusal));
            let status = StatusCode::BAD_REQUEST;
            return show(&state, &request, &user, &target, &filled, None, status).await;
        }
        let (kept, rewrite_stem, rewrite) = (
            kept_path(&state, package.id, &package.file_name),
            stem.clone(),
            correction.clone(),
        );
        let written = state
            .staging
            .write_with(move |destination| {
                correct::rewrite_package(&kept, destination, &rewrite_stem, &rewrite)
            })
            .await
            .map_err(|e| ApiError::internal("staging a corrected package", &e))?;
        let staged = match written {
            Ok(staged) => staged,
            Err(ClaimsError::Correction { refusal, .. }) => {
                filled.error = Some(field_error(lang, &refusal));
                let status = StatusCode::BAD_REQUEST;
                return show(&state, &request, &user, &target, &filled, None, status).await;
            }
            Err(other) => {
                return Err(ApiError::internal("writing a corrected package", &other).into())
            }
        };
        let uploader = user.uploader(&request);
        let registered = intake::register_correction(
            &state.metadata,
            &uploader,
            package,
            &correction,
            &staged.sha256().to_hex(),
            staged.len(),
            now(&state),
        )
        .await;
        let new_id = match registered {
            Ok(new_id) => new_id,
            Err(
                error @ (FundError::PeriodClosed { .. }
                | FundError::NotRegistered { .. }
                | FundError::AlreadyRegistered { .. }
                | FundError::Invalid { .. }),
            ) => {
                // The staged copy is removed as `staged` is dropped.
                let reason = match lang {
                    Lang::Ru => error.russian(),
                    _ => error.to_string(),
                };
                let notice = message(
                    MessageKind::Error,
                    &R::CorrectRefused.with(lang, "reason", &reason),
                );
                let status = StatusCode::CONFLICT;
                return show(
                    &state,
                    &request,
                    &user,
                    &target,
                    &filled,
                    Some(notice),
                    status,
                )
                .await;
            }
            Err(other) => {
                return Err(PageError::from(ApiError::internal(
                    "registering a correction",
                    &other,
                )))
            }
        };
        crate::claims::keep_and_check(&state, &uploader, new_id, &package.file_name, staged)
            .await?;
        Ok(redirect(&format!("/claims/packages/{new_id}"), &[]))
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}
