//! A register's documents (seed 004, item 15): the invoice, the summary register, the register
//! itself and the MEK act as pages (read from the register's ZIP,
//! `medgate_claims::registers::summary`) and as PDFs (`medgate_claims::documents`, written
//! once), and the signed package (the register and its three signatures, in a ZIP) once the
//! register is signed.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use medgate_claims::registers::{self, summary, RegisterError, RegisterView};
use medgate_claims::workflow::State as RegisterState;
use medgate_web::desk::{PageError, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{download, escape, message, MessageKind};
use medgate_web::{AppState, WebRequest};

use super::register_words::W;
use super::registers::{data_dir, failure, refusal_text, viewer_of};
use super::{claims, ClaimsStaff, CLAIMS};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/claims/registers/{id}/documents/{document}", get(document))
        .route("/claims/registers/{id}/signed.zip", get(signed_package))
}

fn document_word(document: &str) -> W {
    match document {
        "invoice" => W::DocInvoice,
        "summary" => W::DocSummary,
        "register" => W::DocRegister,
        _ => W::DocMekAct,
    }
}

/// The documents part of a register's page.
pub(super) fn documents_section(lang: Lang, view: &RegisterView) -> String {
    let id = view.register.id;
    let items: String = registers::DOCUMENTS
        .iter()
        .map(|document| {
            format!(
                "<li><a href=\"/claims/registers/{id}/documents/{document}\">{}</a> · \
                 <a href=\"/claims/registers/{id}/documents/{document}.pdf\">{}</a></li>",
                escape(document_word(document).text(lang)),
                escape(W::Pdf.text(lang)),
            )
        })
        .collect();
    let signed = if view.state == RegisterState::Signed {
        format!(
            "<li><a href=\"/claims/registers/{id}/signed.zip\" id=\"signed-package\">{}</a></li>",
            escape(W::SignedPackage.text(lang))
        )
    } else {
        String::new()
    };
    format!(
        "<h2>{}</h2><ul class=\"documents\">{items}{signed}</ul>",
        escape(W::Documents.text(lang))
    )
}

fn parse_id(user: &ClaimsStaff, request: &WebRequest, id: &str) -> PageResult<i64> {
    id.parse::<i64>()
        .map_err(|_| PageError::answer(user.not_found(request)))
}

fn totals_table(
    lang: Lang,
    first: W,
    totals: &std::collections::BTreeMap<String, summary::Total>,
    total: summary::Total,
) -> String {
    let rows: String = totals
        .iter()
        .map(|(key, value)| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(key),
                value.cases,
                escape(&value.money())
            )
        })
        .collect();
    format!(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}\
         <tr><th>{}</th><th>{}</th><th>{}</th></tr></tbody></table>",
        escape(first.text(lang)),
        escape(W::Cases.text(lang)),
        escape(W::Sum.text(lang)),
        escape(W::Total.text(lang)),
        total.cases,
        escape(&total.money()),
    )
}

fn document_body(lang: Lang, document: &str, read: &summary::Summary, cases: u64) -> String {
    let field = |name: &str| escape(read.invoice.get(name).map(String::as_str).unwrap_or(""));
    match document {
        "invoice" => format!(
            "<dl class=\"card\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
             <dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}-{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd><strong>{}</strong></dd></dl>",
            escape(W::InvoiceNumber.text(lang)), field("NSCHET"),
            escape(W::InvoiceDate.text(lang)), field("DSCHET"),
            escape(W::MoCode.text(lang)), field("CODE_MO"),
            escape(W::Payer.text(lang)), field("PLAT"),
            escape(W::ReportingPeriod.text(lang)), field("YEAR"), field("MONTH"),
            escape(W::Cases.text(lang)), read.total.cases,
            escape(W::Sum.text(lang)), field("SUMMAV"),
        ),
        "summary" => format!(
            "{}{}",
            totals_table(lang, W::CareConditions, &read.by_conditions, read.total),
            totals_table(lang, W::Profile, &read.by_profile, read.total)
        ),
        "register" => {
            let rows: String = read
                .lines
                .iter()
                .map(|line| {
                    format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td><td>{}</td></tr>",
                        escape(&line.n_zap), escape(&line.id_pac), escape(&line.npolis),
                        escape(&line.usl_ok), escape(&line.profil), escape(&line.ds1),
                        escape(&line.date_1), escape(&line.date_2), escape(&line.sumv),
                    )
                })
                .collect();
            let more = if (read.lines.len() as u64) < read.total.cases {
                message(
                    MessageKind::Info,
                    &W::FirstLines
                        .with(lang, "shown", &read.lines.len().to_string())
                        .replace("{total}", &read.total.cases.to_string()),
                )
            } else {
                String::new()
            };
            format!(
                "{more}<table class=\"register-lines\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>USL_OK</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>",
                escape(W::Record.text(lang)),
                escape(W::Patient.text(lang)),
                escape(W::Policy.text(lang)),
                escape(W::Profile.text(lang)),
                escape(W::Diagnosis.text(lang)),
                escape(W::Dates.text(lang)),
                escape(W::Sum.text(lang)),
            )
        }
        _ => message(
            MessageKind::Info,
            &W::MekActText.with(lang, "cases", &cases.to_string()),
        ),
    }
}

/// `GET /claims/registers/{id}/documents/{document}` (a page) or `…/{document}.pdf`.
async fn document(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    Path((id, document)): Path<(String, String)>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let lang = request.lang;
        let id = parse_id(&user, &request, &id)?;
        let viewer = viewer_of(&user, &request)?;
        let data = data_dir(&state);
        if let Some(name) = document.strip_suffix(".pdf") {
            let (file_name, bytes) =
                registers::document_pdf(&state.metadata, &data, &viewer, id, name)
                    .await
                    .map_err(|e| failure(&user, &request, e))?;
            return Ok(download("application/pdf", &file_name, bytes.into()));
        }
        if !registers::DOCUMENTS.contains(&document.as_str()) {
            return Ok(user.not_found(&request));
        }
        let register = registers::register_of(&state.metadata, &viewer, id)
            .await
            .map_err(|e| failure(&user, &request, e))?;
        registers::register_bytes(&data, &register).map_err(|e| failure(&user, &request, e))?;
        let path = registers::register_path(&data, &register);
        let read = tokio::task::spawn_blocking(move || summary::read(&path))
            .await
            .map_err(|e| ApiError::internal("reading a register", &e))?
            .map_err(|e| ApiError::internal("reading a register", &e))?;
        let title = format!(
            "{} · {}",
            document_word(&document).text(lang),
            register.file_name
        );
        let mut frame = user.frame(&request, title, request.uri.path());
        frame.body = format!(
            "{}<p><a href=\"/claims/registers/{id}/documents/{document}.pdf\">{}</a> · <a href=\"/claims/registers/{id}\">{}</a></p>",
            document_body(lang, &document, &read, register.cases),
            escape(W::Pdf.text(lang)),
            escape(W::Back.text(lang)),
        );
        Ok(frame.into_response())
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

/// `GET /claims/registers/{id}/signed.zip`: the register and its three signatures.
async fn signed_package(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    Path(id): Path<String>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let id = parse_id(&user, &request, &id)?;
        let viewer = viewer_of(&user, &request)?;
        match registers::signed_package(&state.metadata, &data_dir(&state), &viewer, id).await {
            Ok((name, bytes)) => Ok(download("application/zip", &name, bytes.into())),
            Err(error @ RegisterError::NotSigned) => {
                let text =
                    W::Refused.with(request.lang, "reason", &refusal_text(request.lang, &error));
                super::registers::show_register(
                    &state,
                    &request,
                    &user,
                    id,
                    Some((MessageKind::Error, text)),
                    axum::http::StatusCode::CONFLICT,
                )
                .await
            }
            Err(other) => Err(failure(&user, &request, other)),
        }
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}
