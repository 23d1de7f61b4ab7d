//! The documents shared with the patient now: the list and one document opened.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use medgate_storage::{DocumentId, DocumentKind, SharedDocument};

use medgate_web::desk::{day, respond, td, th, PageError, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::{Lang, Msg};
use medgate_web::layout::{escape, message, MessageKind};
use medgate_web::state::AppState;
use medgate_web::{now, WebRequest};

use super::{audit, patient_page, principal, Patient, PATIENT};

/// `/portal/documents/<id>` with the id percent-encoded.
fn document_href(id: &DocumentId) -> String {
    format!("/portal/documents/{}", urlencoding::encode(id.as_str()))
}

fn documents_table(lang: Lang, shared: &[SharedDocument]) -> String {
    let heading = |m: Msg| th(lang, m);
    let cell = |m: Msg, content: String| td(lang, m, &content);
    let mut rows = String::new();
    for entry in shared {
        let metadata = &entry.document.metadata;
        let title = metadata
            .title
            .clone()
            .or_else(|| metadata.type_display.clone())
            .unwrap_or_else(|| Msg::Untitled.text(lang).to_owned());
        let kind = metadata
            .type_display
            .clone()
            .or_else(|| metadata.type_code.clone())
            .unwrap_or_default();
        let list = |field: &dyn Fn(&medgate_storage::ConsentSummary) -> String| {
            let items: String = entry
                .consents
                .iter()
                .map(|consent| format!("<li>{}</li>", escape(&field(consent))))
                .collect();
            format!("<ul>{items}</ul>")
        };
        rows.push_str(&format!(
            "<tr>{}{}{}{}{}{}{}</tr>",
            cell(
                Msg::Title,
                format!(
                    "<a href=\"{}\">{}</a>",
                    escape(&document_href(&metadata.document_id)),
                    escape(&title)
                )
            ),
            cell(Msg::DocumentType, escape(&kind)),
            cell(
                Msg::Date,
                format!(
                    "<span class=\"nowrap\">{}</span>",
                    escape(&medgate_repository::dates::DocumentTime::of(metadata).display())
                )
            ),
            cell(
                Msg::Patient,
                escape(
                    metadata
                        .patient_name
                        .as_deref()
                        .unwrap_or(&metadata.patient.extension)
                )
            ),
            cell(Msg::SharedWith, list(&|c| c.recipient.clone())),
            cell(Msg::Purpose, list(&|c| c.purpose.clone())),
            cell(
                Msg::ConsentValid,
                list(&|c| format!("{} – {}", day(c.valid_from), day(c.valid_to)))
            ),
        ));
    }
    format!(
        "<div class=\"table-wrap\"><table class=\"stack\"><caption>{caption}</caption><thead><tr>{}{}{}{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
        heading(Msg::Title),
        heading(Msg::DocumentType),
        heading(Msg::Date),
        heading(Msg::Patient),
        heading(Msg::SharedWith),
        heading(Msg::Purpose),
        heading(Msg::ConsentValid),
        caption = escape(Msg::DocumentsIntro.text(lang)),
    )
}

/// `GET /portal/documents`: the documents shared with the patient now.
pub async fn list(State(state): State<AppState>, SignedIn(signed): SignedIn<Patient>,
    request: WebRequest) -> Response {
    let outcome = async {
        let lang = request.lang;
        let shared = state
            .metadata
            .shared_documents(&signed.tenant, &signed.patient, now())
            .await
            .map_err(|e| ApiError::internal("listing shared documents", &e))?;
        audit(
            &state,
            &request,
            &signed.tenant,
            &signed.patient,
            "portal.list",
            &principal(&signed.patient),
            format!("{} documents shown", shared.len()),
        )
        .await?;
        let name = shared
            .iter()
            .find_map(|entry| entry.document.metadata.patient_name.clone());
        let label = if signed.patient.root.as_str() == medgate_ids::Pesel::OID {
            "PESEL"
        } else {
            "ID"
        };
        let who = match name {
            Some(name) => format!("{name} · {label} {}", signed.patient.extension),
            None => format!("{label} {}", signed.patient.extension),
        };
        let mut page = patient_page(&request, &signed, Msg::Documents.text(lang), "/portal/documents");
        let listing = if shared.is_empty() {
            message(MessageKind::Info, Msg::NoDocuments.text(lang))
        } else {
            documents_table(lang, &shared)
        };
        page.body = format!(
            "<p class=\"who\">{label}: <strong>{who}</strong></p>{listing}",
            label = escape(Msg::SignedInAs.text(lang)),
            who = escape(&who),
        );
        Ok(page.into_response())
    }
    .await;
    respond(&PATIENT, &request, outcome)
}

/// The 404 page of a document that is not shared with the patient now.
fn not_shared(request: &WebRequest, patient: &Patient) -> Response {
    let lang = request.lang;
    let mut page = patient_page(request, patient, Msg::NotFoundTitle.text(lang), request.uri.path());
    page.status = StatusCode::NOT_FOUND;
    page.body = format!(
        "{}<p><a href=\"/portal/documents\">{}</a></p>",
        message(MessageKind::Error, Msg::DocumentNotShared.text(lang)),
        escape(Msg::BackToDocuments.text(lang))
    );
    page.into_response()
}

/// The rendered CDA page with a bar leading back to the list. The bar is ours (escaped
/// text, a fixed style); the page keeps the renderer's own CSP, which allows inline styles
/// but no scripts, forms or loads.
fn with_back_bar(html: &str, lang: Lang) -> String {
    let bar = format!(
        "<nav class=\"portal-bar\" style=\"font-family:system-ui,sans-serif;background:#0d3b66;padding:.6rem 1rem\">\
         <a href=\"/portal/documents\" style=\"color:#fff\">{}</a></nav>",
        escape(Msg::BackToDocuments.text(lang))
    );
    match html.find("<body>") {
        Some(position) => {
            let split = position + "<body>".len();
            format!("{}{bar}{}", &html[..split], &html[split..])
        }
        None => html.to_owned(),
    }
}

/// `GET /portal/documents/{id}`: one shared document, rendered (CDA) or as a download
/// (attachment).
pub async fn open(
    State(state): State<AppState>,
    SignedIn(signed): SignedIn<Patient>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let outcome = async {
        let Some(document_id) = id.ok().and_then(|Path(text)| DocumentId::parse(&text).ok()) else {
            return Ok(not_shared(&request, &signed));
        };
        let shared = state
            .metadata
            .shared_document(&signed.tenant, &signed.patient, &document_id, now())
            .await
            .map_err(|e| ApiError::internal("reading a shared document", &e))?;
        let Some(shared) = shared else {
            audit(
                &state,
                &request,
                &signed.tenant,
                &signed.patient,
                "portal.open.denied",
                document_id.as_str(),
                "not shared with this patient now".to_owned(),
            )
            .await?;
            return Ok(not_shared(&request, &signed));
        };
        let metadata = &shared.document.metadata;
        let bytes = state
            .content
            .get(&metadata.content_key)
            .await
            .map_err(|e| ApiError::internal("reading content", &e))?;
        if medgate_storage::Sha256Digest::of(&bytes) != metadata.sha256 {
            return Err(PageError::from(ApiError::internal(
                "portal document",
                &format!(
                    "stored content of {} does not match its SHA-256",
                    metadata.document_id
                ),
            )));
        }
        let consents: Vec<&str> = shared.consents.iter().map(|c| c.id.as_str()).collect();
        audit(
            &state,
            &request,
            &signed.tenant,
            &signed.patient,
            "portal.open",
            metadata.document_id.as_str(),
            format!("consent {}", consents.join(", ")),
        )
        .await?;
        match metadata.kind {
            DocumentKind::Cda => {
                let html = tokio::task::spawn_blocking(move || medgate_cda::render_html(&bytes))
                    .await
                    .map_err(|e| ApiError::internal("rendering", &e))?
                    .map_err(|e| ApiError::internal("rendering a stored document", &e))?;
                let mut response = Response::new(Body::from(with_back_bar(&html, request.lang)));
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                medgate_web::layout::secure_headers(headers, medgate_cda::CONTENT_SECURITY_POLICY);
                Ok(response)
            }
            DocumentKind::Attachment => {
                Ok(medgate_web::stored_file::content_download(
                    metadata,
                    &medgate_repository::export::download_name(metadata),
                    bytes,
                ))
            }
        }
    }
    .await;
    respond(&PATIENT, &request, outcome)
}
