//! The archive browser (seed 000 §1.2 "Przegląd archiwum dokumentów"): the account's
//! documents newest first with the seed's columns (patient, PESEL, stored ✓, consent ✓,
//! type, date added, provider's user), the advanced search (patient, dates, type, author,
//! title) and paging; and per document its details and the seed's actions: show in the
//! browser, save XML HL7 CDA (the export ZIP), save the attachment, index in the national
//! registry, share (a consent), delete (after a confirmation page).
//!
//! Every action looks the document up by the session's tenant and the id in the address, so
//! another tenant's id answers the same 404 page as an id that does not exist, and nothing
//! happens. The actions call what the API's routes call (the repository domain's
//! `documents`, `export` and `national`) with the administrator as the audited actor.

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use medgate_ids::{Oid, Pesel};
use medgate_storage::{DocumentId, DocumentKind, PatientQuery, SearchQuery, StoredDocument};
use time::{Date, Time};

use super::{Admin, ADMIN};
use crate::repository::{domain, national, refused};
use medgate_repository::export::download_name;
use medgate_repository::search::{self, Found};
use medgate_repository::{documents, export, RepositoryError};
use medgate_web::desk::text::T;
use medgate_web::desk::{
    button_form, download, minute, notice, respond, segment, td, th, Input, PageError,
    PageResult, SignedIn,
};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::state::AppState;
use medgate_web::stored_file::content_download;
use medgate_web::WebRequest;

mod document;
use document::*;

/// Documents per page.
const PAGE_SIZE: u32 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/documents", get(search))
        .route("/admin/documents/{id}", get(details))
        .route("/admin/documents/{id}/view", get(view))
        .route("/admin/documents/{id}/export", get(export))
        .route("/admin/documents/{id}/content", get(content))
        .route(
            "/admin/documents/{id}/delete",
            get(confirm_delete).post(delete),
        )
        .route("/admin/documents/{id}/index", axum::routing::post(index))
}

/// The address of a document's page (`suffix` e.g. `/view`).
pub fn document_href(id: &DocumentId, suffix: &str) -> String {
    format!("/admin/documents/{}{suffix}", segment(id.as_str()))
}

// ---------------------------------------------------------------------------------------
// The search
// ---------------------------------------------------------------------------------------

/// The advanced search as typed, with the error of each field.
#[derive(Default)]
struct Filters {
    patient: String,
    from: String,
    to: String,
    kind: String,
    author: String,
    title: String,
    page: u64,
    patient_error: Option<T>,
    from_error: Option<T>,
    to_error: Option<T>,
}

impl Filters {
    fn read(request: &WebRequest) -> Filters {
        let value = |name: &str| request.query(name).unwrap_or_default();
        Filters {
            patient: value("patient"),
            from: value("from"),
            to: value("to"),
            kind: value("type"),
            author: value("author"),
            title: value("title"),
            page: value("page").parse::<u64>().unwrap_or(1).max(1),
            ..Filters::default()
        }
    }

    fn has_errors(&self) -> bool {
        self.patient_error.is_some() || self.from_error.is_some() || self.to_error.is_some()
    }

    /// The query string of these filters on page `page`.
    fn query(&self, page: u64) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("patient", &self.patient),
            ("from", &self.from),
            ("to", &self.to),
            ("type", &self.kind),
            ("author", &self.author),
            ("title", &self.title),
        ] {
            if !value.is_empty() {
                parts.push(format!("{name}={}", urlencoding::encode(value)));
            }
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        parts.join("&")
    }

    /// The store's query, as `GET /api/v1/documents` reads the same filters; field errors
    /// are set on `self` and `None` returned when any is wrong.
    fn store_query(&mut self) -> Option<SearchQuery> {
        let mut query = SearchQuery {
            limit: PAGE_SIZE,
            offset: (self.page - 1).saturating_mul(u64::from(PAGE_SIZE)),
            ..SearchQuery::default()
        };
        if !self.patient.is_empty() {
            let patient = self.patient.trim();
            query.patient = match patient.split_once('^') {
                Some((root, extension)) => match Oid::parse(root) {
                    Ok(root) if !extension.is_empty() => Some(PatientQuery {
                        root: Some(root),
                        extension: extension.to_owned(),
                    }),
                    _ => {
                        self.patient_error = Some(T::BadPatientQuery);
                        None
                    }
                },
                None => Some(PatientQuery {
                    root: None,
                    extension: patient.to_owned(),
                }),
            };
        }
        let day = |text: &str| -> Option<Date> {
            Date::parse(text, &time::format_description::well_known::Iso8601::DATE)
                .ok()
                .filter(|_| text.len() == 10)
        };
        if !self.from.is_empty() {
            match day(&self.from) {
                Some(from) => {
                    query.effective_from = Some(from.with_time(Time::MIDNIGHT).assume_utc())
                }
                None => self.from_error = Some(T::BadDate),
            }
        }
        if !self.to.is_empty() {
            match day(&self.to) {
                Some(to) => {
                    query.effective_to = Some(
                        to.with_time(Time::MIDNIGHT).assume_utc() + time::Duration::days(1)
                            - time::Duration::seconds(1),
                    )
                }
                None => self.to_error = Some(T::BadDate),
            }
        }
        if let (Some(from), Some(to)) = (query.effective_from, query.effective_to) {
            if from > to {
                self.to_error = Some(T::ToBeforeFrom);
            }
        }
        query.type_code = Some(self.kind.clone()).filter(|t| !t.is_empty());
        query.author = Some(self.author.clone()).filter(|t| !t.is_empty());
        query.title = Some(self.title.clone()).filter(|t| !t.is_empty());
        (!self.has_errors()).then_some(query)
    }
}

fn search_form(lang: Lang, filters: &Filters) -> String {
    let input = |name: &'static str,
                 label: T,
                 kind: &'static str,
                 value: &str,
                 error: Option<T>,
                 extra: &'static str| {
        Input {
            name,
            label: label.text(lang),
            kind,
            value,
            hint: None,
            error: error.map(|e| e.text(lang)),
            required: false,
            extra,
        }
        .html()
    };
    let open = if filters.patient.is_empty()
        && filters.from.is_empty()
        && filters.to.is_empty()
        && filters.kind.is_empty()
        && filters.author.is_empty()
        && filters.title.is_empty()
    {
        ""
    } else {
        " open"
    };
    format!(
        "<details class=\"search card wide\"{open}><summary>{summary}</summary>\
         <form method=\"get\" action=\"/admin/documents\" role=\"search\"><div class=\"fields\">{}{}{}{}{}{}</div>\
         <div class=\"actions\"><button class=\"primary\" type=\"submit\">{find}</button>\
         <a class=\"button\" href=\"/admin/documents\">{clear}</a></div></form></details>",
        input("patient", T::PatientIdentifier, "text", &filters.patient, filters.patient_error, "autocomplete=\"off\" spellcheck=\"false\""),
        input("from", T::DateFrom, "date", &filters.from, filters.from_error, ""),
        input("to", T::DateTo, "date", &filters.to, filters.to_error, ""),
        input("type", T::TypeCode, "text", &filters.kind, None, "spellcheck=\"false\""),
        input("author", T::Author, "text", &filters.author, None, ""),
        input("title", T::Title, "text", &filters.title, None, ""),
        summary = escape(T::AdvancedSearch.text(lang)),
        find = escape(T::Find.text(lang)),
        clear = escape(T::Clear.text(lang)),
    )
}

/// A ✓ (or nothing) with its words for screen readers.
fn mark(lang: Lang, on: bool) -> String {
    if on {
        format!(
            "<span class=\"mark\" aria-hidden=\"true\">✓</span><span class=\"sr-only\">{}</span>",
            escape(T::Yes.text(lang))
        )
    } else {
        format!(
            "<span class=\"sr-only\">{}</span>",
            escape(T::No.text(lang))
        )
    }
}

/// The Polish name of a document's LOINC type, for the types Polish documents use (the
/// document itself names its type in English, LOINC's words).
fn polish_type_name(loinc: &str) -> Option<&'static str> {
    Some(match loinc {
        "34105-7" => "Karta informacyjna z leczenia szpitalnego",
        "18842-5" => "Karta informacyjna",
        "57833-6" => "Recepta",
        "57133-1" | "57832-8" => "Skierowanie",
        "11502-2" => "Wynik badania laboratoryjnego",
        "18748-4" => "Wynik badania obrazowego",
        "11488-4" => "Konsultacja",
        "57829-4" => "Zlecenie na zaopatrzenie w wyroby medyczne",
        "34133-9" => "Podsumowanie opieki",
        "51852-2" => "Pismo",
        _ => return None,
    })
}

fn kind_of(lang: Lang, document: &StoredDocument) -> String {
    let metadata = &document.metadata;
    let polish = metadata
        .type_code
        .as_deref()
        .filter(|_| lang == Lang::Pl)
        .and_then(polish_type_name);
    if let Some(name) = polish {
        return name.to_owned();
    }
    metadata
        .type_display
        .clone()
        .or_else(|| metadata.type_code.clone())
        .unwrap_or_else(|| match metadata.kind {
            DocumentKind::Cda => "CDA".to_owned(),
            DocumentKind::Attachment => T::Attachment.text(lang).to_owned(),
        })
}

fn title_of(lang: Lang, document: &StoredDocument) -> String {
    document
        .metadata
        .title
        .clone()
        .unwrap_or_else(|| T::Untitled.text(lang).to_owned())
}

fn results_table(
    lang: Lang,
    documents: &[StoredDocument],
    shared: &std::collections::HashSet<DocumentId>,
) -> String {
    let mut rows = String::new();
    for document in documents {
        let metadata = &document.metadata;
        let id = &metadata.document_id;
        // The document's own date, as it writes it (its offset, its precision).
        let effective = medgate_repository::dates::DocumentTime::of(metadata);
        let view = match metadata.kind {
            DocumentKind::Cda => format!(
                "<a href=\"{}\">{}</a>",
                escape(&document_href(id, "/view")),
                escape(T::ShowShort.text(lang))
            ),
            DocumentKind::Attachment => format!(
                "<a href=\"{}\">{}</a>",
                escape(&document_href(id, "/content")),
                escape(T::SaveShort.text(lang))
            ),
        };
        rows.push_str(&format!(
            "<tr data-id=\"{data_id}\">{}{}{}{}{}{}{}{}{}</tr>",
            td(
                lang,
                T::Patient,
                &escape(metadata.patient_name.as_deref().unwrap_or("-"))
            ),
            td(
                lang,
                T::Pesel,
                &format!(
                    "<span class=\"mono nowrap\">{}</span>",
                    escape(&metadata.patient.extension)
                )
            ),
            td(lang, T::Stored, &mark(lang, true)),
            td(lang, T::ConsentIssued, &mark(lang, shared.contains(id))),
            td(lang, T::Kind, &escape(&kind_of(lang, document))),
            td(
                lang,
                T::DateAdded,
                &format!(
                    "<span class=\"nowrap\">{}</span>",
                    escape(&minute(document.created_at))
                )
            ),
            td(
                lang,
                T::ProviderUser,
                &escape(metadata.author_name.as_deref().unwrap_or("-"))
            ),
            td(
                lang,
                T::Document,
                &format!(
                    "<a href=\"{}\">{}</a> <time class=\"nowrap\" datetime=\"{}\">{}</time>",
                    escape(&document_href(id, "")),
                    escape(&title_of(lang, document)),
                    escape(&effective.rfc3339()),
                    escape(&effective.display())
                )
            ),
            td(lang, T::Actions, &view),
            data_id = escape(id.as_str()),
        ));
    }
    format!(
        "<div class=\"table-wrap\"><table class=\"stack\" id=\"documents\"><caption>{caption}</caption><thead><tr>{}{}{}{}{}{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
        th(lang, T::Patient),
        th(lang, T::Pesel),
        th(lang, T::Stored),
        th(lang, T::ConsentIssued),
        th(lang, T::Kind),
        th(lang, T::DateAdded),
        th(lang, T::ProviderUser),
        th(lang, T::Document),
        th(lang, T::Actions),
        caption = escape(T::ArchiveCaption.text(lang)),
    )
}

/// `GET /admin/documents`: the archive with the advanced search.
async fn search(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        admin.require_usable(&request)?;
        let lang = request.lang;
        let mut filters = Filters::read(&request);
        let mut frame = admin.frame(&request, T::ArchiveTitle.text(lang));
        let banner = if request.query("deleted").is_some() {
            notice("ok", T::DocumentDeleted.text(lang))
        } else {
            String::new()
        };
        let Some(query) = filters.store_query() else {
            frame.status = StatusCode::BAD_REQUEST;
            frame.body = format!(
                "{}{}",
                message(MessageKind::Error, T::FixErrors.text(lang)),
                search_form(lang, &filters)
            );
            return Ok(frame.into_response());
        };
        let caller = admin.caller(&request);
        let Found { page, shared } = search::search(&domain(&state), &caller.actor(), &query)
            .await
            .map_err(refused)?;
        let listing = if page.documents.is_empty() {
            message(MessageKind::Info, T::NoDocumentsFound.text(lang))
        } else {
            let first = query.offset + 1;
            let last = query.offset + page.documents.len() as u64;
            let mut pager = format!(
                "<span id=\"range\">{}</span>",
                escape(
                    &T::Range
                        .with(lang, "first", &first.to_string())
                        .replace("{last}", &last.to_string())
                        .replace("{total}", &page.total.to_string())
                )
            );
            if filters.page > 1 {
                pager.push_str(&format!(
                    "<a rel=\"prev\" href=\"/admin/documents?{}\">{}</a>",
                    escape(&filters.query(filters.page - 1)),
                    escape(T::Previous.text(lang))
                ));
            }
            if last < page.total {
                pager.push_str(&format!(
                    "<a rel=\"next\" href=\"/admin/documents?{}\">{}</a>",
                    escape(&filters.query(filters.page + 1)),
                    escape(T::Next.text(lang))
                ));
            }
            format!(
                "{}<nav class=\"pager\" aria-label=\"{}\">{pager}</nav>",
                results_table(lang, &page.documents, &shared),
                escape(T::Paging.text(lang))
            )
        };
        frame.path = request.uri.path().to_owned();
        frame.body = format!(
            "<p class=\"muted\">{}</p>{banner}{}{listing}",
            escape(T::ArchiveIntro.text(lang)),
            search_form(lang, &filters)
        );
        Ok(frame.into_response())
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

// ---------------------------------------------------------------------------------------
