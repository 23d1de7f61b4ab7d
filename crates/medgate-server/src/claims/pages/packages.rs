//! "Загрузка файла" and "ФЛК": a package uploaded as `multipart/form-data` is streamed chunk
//! by chunk to a staged file in `DATA/tmp` (hashed on the way; never whole in memory; the
//! body guard passes this route unread, see [`super::super::STREAMED_UPLOADS`]), registered
//! for the period chosen (`medgate_claims::intake::register_upload`), kept under
//! `DATA/claims/packages/<id>/<file name>` and controlled in the background
//! (`intake::check`); its page shows the status and progress, refreshing itself while it is
//! checked, then the findings and the `V` protocol to download.

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use medgate_claims::intake;
use medgate_claims::FundError;
use medgate_storage::{ClaimsFinding, ClaimsPackage};
use medgate_web::desk::{PageError, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{download, escape, message, redirect, MessageKind};
use medgate_web::{csrf, AppState, WebRequest};

use super::words::R;
use super::{claims, now, ClaimsStaff, CLAIMS};
pub(super) use crate::claims::{data_dir, kept_path};

/// The upload's route (a streamed upload of the body guard).
pub const UPLOAD_PATH: &str = "/claims/upload";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(UPLOAD_PATH, get(upload_page).post(upload))
        .route("/claims/flk", get(flk_page))
        .route("/claims/packages/{id}", get(package_page))
        .route("/claims/packages/{id}/protocol", get(protocol))
}

pub(super) fn status_word(status: &str) -> R {
    match status {
        "checking" => R::Checking,
        "accepted" => R::Accepted,
        "accepted_mek" => R::AcceptedMek,
        "flk_errors" => R::FlkErrors,
        _ => R::RefusedStatus,
    }
}

pub(super) fn minute(at: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

fn packages_table(lang: Lang, packages: &[ClaimsPackage]) -> String {
    if packages.is_empty() {
        return format!(
            "<p class=\"muted\">{}</p>",
            escape(R::NoPackages.text(lang))
        );
    }
    let rows: String = packages
        .iter()
        .map(|package| {
            format!(
                "<tr><td><a href=\"/claims/packages/{id}\">{name}</a></td><td>{period}</td><td>{at}</td>\
                 <td class=\"status-{status}\">{status_text}</td><td>{cases}</td><td>{findings}</td></tr>",
                id = package.id,
                name = escape(&package.file_name),
                period = escape(&package.period),
                at = minute(package.uploaded_at),
                status = escape(&package.status),
                status_text = escape(status_word(&package.status).text(lang)),
                cases = package.cases,
                findings = package
                    .refusal_code
                    .map(|code| code.to_string())
                    .unwrap_or_else(|| package.findings.to_string()),
            )
        })
        .collect();
    format!(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>",
        escape(R::File.text(lang)),
        escape(R::Period.text(lang)),
        escape(R::Uploaded.text(lang)),
        escape(R::Status.text(lang)),
        escape(R::Cases.text(lang)),
        escape(R::Errors.text(lang)),
    )
}

async fn show_upload(
    state: &AppState,
    request: &WebRequest,
    user: &ClaimsStaff,
    notice: Option<(MessageKind, String)>,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let periods: Vec<String> = state
        .metadata
        .claims_periods()
        .await
        .map_err(|e| ApiError::internal("listing the periods", &e))?
        .into_iter()
        .filter(|period| period.open)
        .map(|period| period.period)
        .collect();
    let packages = intake::packages_of(&state.metadata, user.mo_code())
        .await
        .map_err(|e| ApiError::internal("listing the packages", &e))?;
    let form = if user.user.role != "executor" {
        message(MessageKind::Info, R::ExecutorOnly.text(lang))
    } else if periods.is_empty() {
        message(MessageKind::Info, R::NoOpenPeriod.text(lang))
    } else {
        let options: String = periods
            .iter()
            .map(|period| format!("<option value=\"{0}\">{0}</option>", escape(period)))
            .collect();
        format!(
            "<form class=\"card\" method=\"post\" action=\"{UPLOAD_PATH}\" enctype=\"multipart/form-data\">\
             {csrf}<label for=\"period\">{period_label}</label><select id=\"period\" name=\"period\">{options}</select>\
             <label for=\"package\">{file_label}</label><input id=\"package\" name=\"package\" type=\"file\" accept=\".zip\" required>\
             <button class=\"primary\" type=\"submit\">{submit}</button></form>",
            csrf = csrf::hidden_field(&user.session.csrf_secret),
            period_label = escape(R::Period.text(lang)),
            file_label = escape(R::PackageFile.text(lang)),
            submit = escape(R::Upload.text(lang)),
        )
    };
    let mut frame = user.frame(request, R::UploadTitle.text(lang), UPLOAD_PATH);
    frame.status = status;
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{notice}{form}<h2>{heading}</h2>{table}",
        intro = escape(R::UploadIntro.text(lang)),
        notice = notice
            .map(|(kind, text)| message(kind, &text))
            .unwrap_or_default(),
        heading = escape(R::Packages.text(lang)),
        table = packages_table(lang, &packages),
    );
    Ok(frame.into_response())
}

/// Why a package was refused whole, in the page's language (a package refused before the
/// Russian was kept shows its English).
fn refusal_comment(lang: Lang, package: &ClaimsPackage) -> String {
    let russian = package.refusal_comment_ru.as_deref();
    match (lang, russian) {
        (Lang::Ru, Some(russian)) => russian,
        _ => package.refusal_comment.as_deref().unwrap_or(""),
    }
    .to_owned()
}

/// `GET /claims/upload`.
async fn upload_page(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        // An insurer's reviewer has no packages: their page is the registers sent to them.
        user.require_mo()?;
        let notice = request
            .query("changed")
            .map(|_| (MessageKind::Info, R::Changed.text(request.lang).to_owned()));
        show_upload(&state, &request, &user, notice, StatusCode::OK).await
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

fn forged(user: &ClaimsStaff, request: &WebRequest) -> PageError {
    let frame = user.frame(
        request,
        R::ErrorTitle.text(request.lang),
        request.uri.path(),
    );
    PageError::answer(medgate_web::desk::frame::forged_page(frame))
}

/// What the form sent before its file, and the file staged.
struct Upload {
    period: String,
    file_name: String,
    staged: medgate_storage::StagedFile,
}

/// Reads the multipart form in order: the CSRF token (checked before anything is written),
/// the period, then the file streamed to a staged file within the limit.
async fn read_upload(
    state: &AppState,
    request: &WebRequest,
    user: &ClaimsStaff,
    mut multipart: Multipart,
) -> PageResult<Result<Upload, String>> {
    let lang = request.lang;
    let broken = |_| PageError::from(medgate_web::streamed::unreadable());
    let mut genuine = false;
    let mut period = String::new();
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        match field.name().unwrap_or("") {
            "csrf" => {
                let token = field.text().await.map_err(broken)?;
                genuine = csrf::tokens_match(&user.session.csrf_secret, &token);
            }
            "period" => period = field.text().await.map_err(broken)?,
            "package" if genuine => {
                let file_name = field.file_name().unwrap_or("").to_owned();
                let mut writer = state
                    .staging
                    .create()
                    .await
                    .map_err(|e| ApiError::internal("staging an upload", &e))?;
                while let Some(chunk) = field.chunk().await.map_err(broken)? {
                    if writer.len().saturating_add(chunk.len() as u64)
                        > super::super::MAX_BODY_BYTES as u64
                    {
                        return Ok(Err(R::TooLarge.with(
                            lang,
                            "max",
                            &(super::super::MAX_BODY_BYTES / 1024 / 1024).to_string(),
                        )));
                    }
                    writer
                        .write(&chunk)
                        .await
                        .map_err(|e| ApiError::internal("staging an upload", &e))?;
                }
                if file_name.is_empty() || writer.is_empty() {
                    return Ok(Err(R::NoFile.text(lang).to_owned()));
                }
                let staged = writer
                    .finish()
                    .await
                    .map_err(|e| ApiError::internal("staging an upload", &e))?;
                return Ok(Ok(Upload {
                    period,
                    file_name,
                    staged,
                }));
            }
            _ => {}
        }
    }
    if !genuine {
        return Err(forged(user, request));
    }
    Ok(Err(R::NoFile.text(lang).to_owned()))
}

/// `POST /claims/upload`: the package streamed to disk, registered, controlled in the
/// background; the answer is its page.
async fn upload(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        if csrf::check_origin(&request.headers, &request.uri).is_err() {
            return Err(forged(&user, &request));
        }
        let lang = request.lang;
        if user.user.role != "executor" {
            return show_upload(
                &state,
                &request,
                &user,
                Some((MessageKind::Error, R::ExecutorOnly.text(lang).to_owned())),
                StatusCode::FORBIDDEN,
            )
            .await;
        }
        let Ok(multipart) = multipart else {
            return show_upload(
                &state,
                &request,
                &user,
                Some((MessageKind::Error, R::NoFile.text(lang).to_owned())),
                StatusCode::BAD_REQUEST,
            )
            .await;
        };
        let upload = match read_upload(&state, &request, &user, multipart).await? {
            Ok(upload) => upload,
            Err(reason) => {
                let text = R::Refused.with(lang, "reason", &reason);
                return show_upload(
                    &state,
                    &request,
                    &user,
                    Some((MessageKind::Error, text)),
                    StatusCode::BAD_REQUEST,
                )
                .await;
            }
        };
        let uploader = user.uploader(&request);
        let registered = intake::register_upload(
            &state.metadata,
            &uploader,
            &upload.period,
            &upload.file_name,
            &upload.staged.sha256().to_hex(),
            upload.staged.len(),
            now(&state),
        )
        .await;
        let id = match registered {
            Ok(id) => id,
            Err(error @ (FundError::Invalid { .. } | FundError::PeriodClosed { .. })) => {
                let reason = match lang {
                    Lang::Ru => error.russian(),
                    _ => error.to_string(),
                };
                let text = R::Refused.with(lang, "reason", &reason);
                return show_upload(
                    &state,
                    &request,
                    &user,
                    Some((MessageKind::Error, text)),
                    StatusCode::BAD_REQUEST,
                )
                .await;
            }
            Err(other) => {
                return Err(PageError::from(ApiError::internal(
                    "registering a package",
                    &other,
                )))
            }
        };
        super::super::keep_and_check(&state, &uploader, id, &upload.file_name, upload.staged)
            .await?;
        Ok(redirect(&format!("/claims/packages/{id}"), &[]))
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

/// `GET /claims/flk`: the packages, each linking to its findings.
async fn flk_page(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        user.require_mo()?;
        let lang = request.lang;
        let packages = intake::packages_of(&state.metadata, user.mo_code())
            .await
            .map_err(|e| ApiError::internal("listing the packages", &e))?;
        let mut frame = user.frame(&request, R::FlkTitle.text(lang), "/claims/flk");
        frame.body = format!(
            "<p class=\"muted\">{}</p>{}",
            escape(R::FlkIntro.text(lang)),
            packages_table(lang, &packages)
        );
        Ok(frame.into_response())
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

pub(super) fn cell(value: &Option<String>) -> String {
    escape(value.as_deref().unwrap_or(""))
}

/// `GET /claims/packages/{id}`: status and progress (refreshing while checked), then the
/// findings or the refusal, and the protocol.
async fn package_page(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    Path(id): Path<String>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let lang = request.lang;
        let Ok(id) = id.parse::<i64>() else {
            return Ok(user.not_found(&request));
        };
        let (package, findings) =
            match intake::findings_of(&state.metadata, user.mo_code(), id).await {
                Ok(found) => found,
                Err(FundError::NotRegistered { .. }) => return Ok(user.not_found(&request)),
                Err(other) => {
                    return Err(PageError::from(ApiError::internal(
                        "reading a package",
                        &other,
                    )))
                }
            };
        let corrections = state
            .metadata
            .claims_package_corrections(package.id)
            .await
            .map_err(|e| ApiError::internal("reading a package's corrections", &e))?;
        let blocked = super::correct::blocked(&user, &package, &corrections);
        let path = format!("/claims/packages/{}", package.id);
        let mut frame = user.frame(
            &request,
            R::PackageTitle.with(lang, "name", &package.file_name),
            &path,
        );
        let summary = package_summary(lang, &package, false);
        let protocol_link = format!(
            "<p><a href=\"{path}/protocol\">{}</a></p>",
            escape(R::Protocol.text(lang))
        );
        let detail = match (package.status.as_str(), package.refusal_code) {
            ("checking", _) => {
                let percent = (package.progress / 10).to_string();
                message(
                    MessageKind::Info,
                    &R::Progress.with(lang, "percent", &percent),
                )
            }
            (_, Some(code)) => format!(
                "{}{protocol_link}",
                message(
                    MessageKind::Error,
                    &R::RefusedWhole
                        .with(lang, "code", &code.to_string())
                        .replace("{comment}", &refusal_comment(lang, &package))
                )
            ),
            ("accepted", _) => format!(
                "{}{protocol_link}",
                message(MessageKind::Info, R::Clean.text(lang))
            ),
            ("accepted_mek", _) => format!(
                "{}{protocol_link}",
                message(MessageKind::Info, R::FlkCleanMek.text(lang))
            ),
            _ => findings_table(lang, &package, &findings, blocked, &protocol_link),
        };
        frame.body = format!(
            "{summary}{links}{detail}<p><a href=\"/claims/flk\">{}</a></p>",
            escape(R::Back.text(lang)),
            links = super::correct::links(lang, &corrections),
        );
        let mut response = frame.into_response();
        if package.status == "checking" {
            // Browsers follow `Refresh` without any script (the pages' CSP allows none).
            response
                .headers_mut()
                .insert("refresh", HeaderValue::from_static("2"));
        }
        Ok(response)
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

/// The findings of a package with FLK errors, each fixable one with its «Исправить» (when
/// the login may correct the package now, else the reason once above), the others marked
/// as fixed in the MO's system.
fn findings_table(
    lang: Lang,
    package: &ClaimsPackage,
    findings: &[ClaimsFinding],
    blocked: Option<super::correct::Blocked>,
    protocol_link: &str,
) -> String {
    let stem = super::correct::main_stem(package).unwrap_or_default();
    let mut any_fixable = false;
    let rows: String = findings
        .iter()
        .map(|finding| {
            let action = if !super::correct::is_fixable(finding, &stem) {
                format!("<span class=\"muted\">{}</span>", escape(R::InMis.text(lang)))
            } else {
                any_fixable = true;
                match blocked {
                    None => format!(
                        "<a class=\"fix\" href=\"{}\">{}</a>",
                        escape(&super::correct::form_href(package.id, finding)),
                        escape(R::FixAction.text(lang))
                    ),
                    Some(_) => "—".to_owned(),
                }
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
                finding.code,
                cell(&finding.rule_id),
                escape(&finding.element),
                escape(&finding.base),
                cell(&finding.n_zap),
                cell(&finding.idcase),
                escape(match lang {
                    Lang::Ru if !finding.comment_ru.is_empty() => &finding.comment_ru,
                    _ => &finding.comment,
                }),
            )
        })
        .collect();
    let more = if (findings.len() as u64) < package.findings {
        message(
            MessageKind::Info,
            &R::MoreFindings
                .with(lang, "shown", &findings.len().to_string())
                .replace("{total}", &package.findings.to_string()),
        )
    } else {
        String::new()
    };
    let how = match blocked {
        _ if !any_fixable => message(MessageKind::Info, R::NoneFixable.text(lang)),
        None => message(MessageKind::Info, R::CorrectIntro.text(lang)),
        // A correction already made is said once, above, by the links between the packages.
        Some(super::correct::Blocked::CorrectedBy(_)) => String::new(),
        Some(other) => other.html(lang),
    };
    format!(
        "{more}{how}<table class=\"findings\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>{protocol_link}",
        escape(R::Code.text(lang)),
        escape(R::Rule.text(lang)),
        escape(R::Element.text(lang)),
        escape(R::Parent.text(lang)),
        escape(R::Record.text(lang)),
        escape(R::Case.text(lang)),
        escape(R::Comment.text(lang)),
        escape(R::CorrectColumn.text(lang)),
    )
}

/// The head of a package's pages: status, period, upload time, and the tabs ФЛК | МЭК.
pub(super) fn package_summary(lang: Lang, package: &ClaimsPackage, mek: bool) -> String {
    let path = format!("/claims/packages/{}", package.id);
    let tab = |href: String, word: R, current: bool| {
        if current {
            format!(
                "<strong aria-current=\"page\">{}</strong>",
                escape(word.text(lang))
            )
        } else {
            format!("<a href=\"{href}\">{}</a>", escape(word.text(lang)))
        }
    };
    format!(
        "<p>{}: <strong class=\"status-{}\">{}</strong> · {} {} · {}</p>\
         <p class=\"package-tabs\">{} · {}</p>",
        escape(R::Status.text(lang)),
        escape(&package.status),
        escape(status_word(&package.status).text(lang)),
        escape(R::Period.text(lang)),
        escape(&package.period),
        minute(package.uploaded_at),
        tab(path.clone(), R::TabFlk, !mek),
        tab(format!("{path}/mek"), R::TabMek, mek),
    )
}

/// `GET /claims/packages/{id}/protocol`: the `V…zip` of a concluded package.
async fn protocol(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    Path(id): Path<String>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let Ok(id) = id.parse::<i64>() else {
            return Ok(user.not_found(&request));
        };
        match intake::protocol_of(&state.metadata, &user.uploader(&request), id).await {
            Ok(protocol) => Ok(download(
                "application/zip",
                &protocol.file_name,
                protocol.bytes.into(),
            )),
            Err(FundError::NotRegistered { .. }) => Ok(user.not_found(&request)),
            Err(FundError::Invalid { .. }) => Ok(redirect(&format!("/claims/packages/{id}"), &[])),
            Err(other) => Err(PageError::from(ApiError::internal(
                "writing a protocol",
                &other,
            ))),
        }
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}
