//! The consent register (seed 000 §1.4 "Rejestr zgód"): the account's consents with their
//! status; a new consent (patient, the patient's documents to share, recipient, purpose —
//! the seed's "Sprawa" — and the dates "Data od" / "Data do"); its page with "Wyślij" (which
//! shows the patient's one-time portal activation code, once) and "Odwołanie zgody".
//!
//! The checks are the API's (`POST /api/v1/consents`): whole UTC days, texts of at most 500
//! characters without control characters, 1 to 1000 documents, each the account's and the
//! patient's (checked again by the store in the insert transaction). Sending and revoking
//! call the same store operations as `POST /api/v1/consents/{id}/send|revoke`, audited with
//! the patient. A consent id of another account answers the same 404 as one that does not
//! exist.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_ids::{Oid, Pesel};
use medgate_storage::{
    AccountOutcome, Consent, ConsentError, ConsentId, ConsentStatus, DocumentId, DocumentKind,
    NewConsent, PatientIdentifier, PatientQuery, PendingActivation, SearchQuery, StoredDocument,
};
use time::{Date, Time};

use super::archive::document_href;
use super::{Admin, ADMIN};
use medgate_repository::consents::ACTIVATION_VALIDITY;
use medgate_web::desk::text::T;
use medgate_web::desk::{
    button_form, day, minute, notice, now, respond, segment, td, th, Input, PageError, PageResult,
    SignedIn,
};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::state::AppState;
use medgate_web::{csrf, password, Form, WebRequest};

/// Longest recipient or purpose (as the API).
const MAX_TEXT_CHARS: usize = 500;
/// Most documents in one consent (as the API).
const MAX_DOCUMENTS: usize = 1000;
/// Most of a patient's documents the form offers.
const FORM_DOCUMENTS: u32 = 500;
/// Days a new consent lasts unless changed.
const DEFAULT_DAYS: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/consents", get(list))
        .route("/admin/consents/new", get(new_form).post(create))
        .route("/admin/consents/{id}", get(show))
        .route("/admin/consents/{id}/send", post(send))
        .route("/admin/consents/{id}/revoke", post(revoke))
}

fn consent_href(id: &ConsentId, suffix: &str) -> String {
    format!("/admin/consents/{}{suffix}", segment(id.as_str()))
}

fn status_text(lang: Lang, consent: &Consent) -> String {
    let status = match consent.status {
        ConsentStatus::Draft => T::ConsentDraft,
        ConsentStatus::Sent => T::ConsentSent,
        ConsentStatus::Revoked => T::ConsentRevoked,
    };
    let mut text = status.text(lang).to_owned();
    if consent.status == ConsentStatus::Sent {
        let in_force = if consent.in_force_at(now()) {
            T::InForce
        } else {
            T::NotInForce
        };
        text.push_str(&format!(" ({})", in_force.text(lang)));
    }
    text
}

fn status_badge(lang: Lang, consent: &Consent) -> String {
    format!(
        "<span class=\"status {}\" data-status=\"{}\">{}</span>",
        consent.status.as_str(),
        consent.status.as_str(),
        escape(&status_text(lang, consent))
    )
}

/// A patient as the forms show it: the PESEL alone, or `root^extension`.
fn patient_text(patient: &PatientIdentifier) -> String {
    if patient.root.as_str() == Pesel::OID {
        patient.extension.clone()
    } else {
        format!("{}^{}", patient.root, patient.extension)
    }
}

fn not_found(admin: &Admin, request: &WebRequest, what: T) -> Response {
    let lang = request.lang;
    let mut frame = admin.frame(request, T::NotFoundTitle.text(lang));
    frame.status = StatusCode::NOT_FOUND;
    frame.body = format!(
        "{}<p><a href=\"/admin/consents\">{}</a></p>",
        message(MessageKind::Error, what.text(lang)),
        escape(T::BackToConsents.text(lang))
    );
    frame.into_response()
}

// ---------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------

/// `GET /admin/consents[?patient=…]`.
async fn list(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        admin.require_usable()?;
        let lang = request.lang;
        let patient = request.query("patient").unwrap_or_default();
        let mut patient_error = None;
        let filter = match patient.split_once('^') {
            _ if patient.is_empty() => None,
            Some((root, extension)) => match Oid::parse(root) {
                Ok(root) if !extension.is_empty() => Some((extension.to_owned(), Some(root))),
                _ => {
                    patient_error = Some(T::BadPatientQuery);
                    None
                }
            },
            None => Some((patient.clone(), None)),
        };
        let consents = if patient_error.is_some() {
            Vec::new()
        } else {
            state
                .metadata
                .list_consents(
                    admin.tenant_id(),
                    filter.as_ref().map(|(ext, root)| (ext.as_str(), root.as_ref())),
                )
                .await
                .map_err(|e| ApiError::internal("listing consents", &e))?
        };
        admin
            .audit(
                &state,
                &request,
                "consent.list",
                "consents",
                filter.as_ref().map(|(ext, _)| ext.as_str()),
                format!("web; {} consents", consents.len()),
            )
            .await?;
        let search = format!(
            "<form class=\"card wide\" method=\"get\" action=\"/admin/consents\" role=\"search\"><div class=\"fields\">{}</div>\
             <div class=\"actions\"><button class=\"primary\" type=\"submit\">{}</button>\
             <a class=\"button\" href=\"/admin/consents\">{}</a></div></form>",
            Input {
                name: "patient",
                label: T::PatientIdentifier.text(lang),
                kind: "text",
                value: &patient,
                hint: None,
                error: patient_error.map(|e| e.text(lang)),
                required: false,
                extra: "spellcheck=\"false\"",
            }
            .html(),
            escape(T::Find.text(lang)),
            escape(T::Clear.text(lang)),
        );
        let listing = if consents.is_empty() {
            message(MessageKind::Info, T::NoConsents.text(lang))
        } else {
            let rows: String = consents
                .iter()
                .map(|consent| {
                    format!(
                        "<tr data-id=\"{id}\">{}{}{}{}{}{}{}</tr>",
                        td(lang, T::Patient, &format!("<span class=\"nowrap\">{}</span>", escape(&patient_text(&consent.patient)))),
                        td(lang, T::Recipient, &escape(&consent.recipient)),
                        td(lang, T::Purpose, &escape(&consent.purpose)),
                        td(lang, T::ValidFromTo, &format!("<span class=\"nowrap\">{} – {}</span>", day(consent.valid_from), day(consent.valid_to))),
                        td(lang, T::DocumentCount, &consent.documents.len().to_string()),
                        td(lang, T::Status, &status_badge(lang, consent)),
                        td(
                            lang,
                            T::Consent,
                            &format!(
                                "<a href=\"{}\">{}</a>",
                                escape(&consent_href(&consent.id, "")),
                                escape(T::Open.text(lang))
                            )
                        ),
                        id = escape(consent.id.as_str()),
                    )
                })
                .collect();
            format!(
                "<div class=\"table-wrap\"><table class=\"stack\" id=\"consents\"><caption>{}</caption><thead><tr>{}{}{}{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
                escape(T::ConsentsCaption.text(lang)),
                th(lang, T::Patient),
                th(lang, T::Recipient),
                th(lang, T::Purpose),
                th(lang, T::ValidFromTo),
                th(lang, T::DocumentCount),
                th(lang, T::Status),
                th(lang, T::Consent),
            )
        };
        let mut frame = admin.frame(&request, T::ConsentsTitle.text(lang));
        frame.body = format!(
            "<p class=\"muted\">{intro}</p><div class=\"actions\"><a class=\"button\" href=\"/admin/consents/new\">{new}</a></div>{search}{listing}",
            intro = escape(T::ConsentsIntro.text(lang)),
            new = escape(T::NewConsent.text(lang)),
        );
        Ok(frame.into_response())
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

// ---------------------------------------------------------------------------------------
// A new consent
// ---------------------------------------------------------------------------------------

/// The new-consent form as typed, with each field's error.
#[derive(Default)]
struct Draft {
    patient: String,
    recipient: String,
    purpose: String,
    from: String,
    to: String,
    chosen: Vec<String>,
    errors: HashMap<&'static str, String>,
}

async fn patient_documents(
    state: &AppState,
    admin: &Admin,
    patient: &PatientIdentifier,
) -> Result<Vec<StoredDocument>, ApiError> {
    let page = state
        .metadata
        .search_documents(
            admin.tenant_id(),
            &SearchQuery {
                patient: Some(PatientQuery {
                    root: Some(patient.root.clone()),
                    extension: patient.extension.clone(),
                }),
                limit: FORM_DOCUMENTS,
                ..SearchQuery::default()
            },
        )
        .await
        .map_err(|e| ApiError::internal("listing a patient's documents", &e))?;
    Ok(page.documents)
}

fn form_page(
    admin: &Admin,
    request: &WebRequest,
    draft: &Draft,
    patient: Option<&PatientIdentifier>,
    documents: &[StoredDocument],
    banner: String,
    status: StatusCode,
) -> Response {
    let lang = request.lang;
    let field = |name: &'static str,
                 label: T,
                 kind: &'static str,
                 value: &str,
                 hint: Option<T>,
                 extra: &'static str| {
        Input {
            name,
            label: label.text(lang),
            kind,
            value,
            hint: hint.map(|h| h.text(lang)),
            error: draft.errors.get(name).map(String::as_str),
            required: true,
            extra,
        }
        .html()
    };
    let patient_form = format!(
        "<form class=\"card wide\" method=\"get\" action=\"/admin/consents/new\"><div class=\"fields\">{}</div>\
         <div class=\"actions\"><button class=\"secondary\" type=\"submit\">{}</button></div></form>",
        field("patient", T::PatientIdentifier, "text", &draft.patient, Some(T::PatientHint), "spellcheck=\"false\" autocomplete=\"off\""),
        escape(T::ShowPatientDocuments.text(lang)),
    );
    let details = match patient {
        None => String::new(),
        Some(_) if documents.is_empty() => {
            message(MessageKind::Info, T::PatientHasNoDocuments.text(lang))
        }
        Some(patient) => {
            let rows: String = documents
                .iter()
                .enumerate()
                .map(|(index, document)| {
                    let metadata = &document.metadata;
                    let id = metadata.document_id.as_str();
                    let name = format!("doc.{index}");
                    let title = metadata
                        .title
                        .clone()
                        .or_else(|| metadata.type_display.clone())
                        .unwrap_or_else(|| T::Untitled.text(lang).to_owned());
                    format!(
                        "<tr><td data-label=\"{choose}\"><div class=\"check\"><input type=\"checkbox\" id=\"{fid}\" name=\"{name}\" value=\"{value}\"{checked} aria-labelledby=\"title-{index}\"></div></td>\
                         <td data-label=\"{id_label}\" class=\"mono\">{value}</td>\
                         <td data-label=\"{title_label}\" id=\"title-{index}\"><a href=\"{href}\">{title}</a></td>\
                         <td data-label=\"{date_label}\" class=\"nowrap\">{date}</td>\
                         <td data-label=\"{kind_label}\">{kind}</td></tr>",
                        choose = escape(T::Share.text(lang)),
                        fid = medgate_web::desk::field_id(&name),
                        value = escape(id),
                        checked = if draft.chosen.iter().any(|c| c == id) { " checked" } else { "" },
                        id_label = escape(T::DocumentId.text(lang)),
                        title_label = escape(T::DocumentName.text(lang)),
                        href = escape(&document_href(&metadata.document_id, "")),
                        title = escape(&title),
                        date_label = escape(T::IssueDate.text(lang)),
                        date = escape(&minute(metadata.effective_time)),
                        kind_label = escape(T::Kind.text(lang)),
                        kind = escape(match metadata.kind {
                            DocumentKind::Cda => metadata.type_display.as_deref().unwrap_or("CDA"),
                            DocumentKind::Attachment => T::Attachment.text(lang),
                        }),
                    )
                })
                .collect();
            let documents_error = draft
                .errors
                .get("documents")
                .map(|text| {
                    format!(
                        "<p class=\"field-error\" id=\"documents-error\">{}</p>",
                        escape(text)
                    )
                })
                .unwrap_or_default();
            format!(
                "<form method=\"post\" action=\"/admin/consents/new\" novalidate>{csrf}\
                 <input type=\"hidden\" name=\"patient\" value=\"{patient}\">\
                 <input type=\"hidden\" name=\"count\" value=\"{count}\">\
                 <fieldset><legend>{documents_legend}</legend>{documents_error}\
                 <div class=\"table-wrap\"><table class=\"stack\" id=\"patient-documents\"><thead><tr>\
                 <th scope=\"col\">{share}</th>{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div><p></p></fieldset>\
                 <fieldset><legend>{consent_legend}</legend><div class=\"fields\">{}{}{}{}</div></fieldset>\
                 <div class=\"actions\"><button class=\"primary\" type=\"submit\">{save}</button>\
                 <a class=\"button\" href=\"/admin/consents\">{cancel}</a></div></form>",
                th(lang, T::DocumentId),
                th(lang, T::DocumentName),
                th(lang, T::IssueDate),
                th(lang, T::Kind),
                field("recipient", T::Recipient, "text", &draft.recipient, Some(T::RecipientHint), "maxlength=\"500\""),
                field("purpose", T::Purpose, "text", &draft.purpose, Some(T::PurposeHint), "maxlength=\"500\""),
                field("from", T::DateFrom, "date", &draft.from, None, ""),
                field("to", T::DateTo, "date", &draft.to, None, ""),
                csrf = csrf::hidden_field(&admin.staff.session.csrf_secret),
                patient = escape(&patient_text(patient)),
                count = documents.len(),
                documents_legend = escape(&T::PatientDocuments.with(lang, "patient", &patient_text(patient))),
                share = escape(T::Share.text(lang)),
                consent_legend = escape(T::ConsentDetails.text(lang)),
                save = escape(T::CreateConsent.text(lang)),
                cancel = escape(T::Cancel.text(lang)),
            )
        }
    };
    let mut frame = admin.frame(request, T::NewConsent.text(lang));
    frame.status = status;
    frame.body = format!(
        "<p class=\"muted\">{}</p>{banner}{patient_form}{details}",
        escape(T::NewConsentIntro.text(lang))
    );
    frame.into_response()
}

/// `GET /admin/consents/new[?patient=…[&document=…]]`: first the patient, then the form
/// with the patient's documents (the one named by `document` ticked).
async fn new_form(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        admin.require_usable()?;
        let lang = request.lang;
        let today = now();
        let mut draft = Draft {
            patient: request.query("patient").unwrap_or_default(),
            from: day(today),
            to: day(today + time::Duration::days(DEFAULT_DAYS)),
            ..Draft::default()
        };
        // "Udostępnij" from the archive names the document: it must be this account's.
        if let Some(text) = request.query("document") {
            let document = match DocumentId::parse(&text) {
                Ok(id) => state
                    .metadata
                    .get_document(admin.tenant_id(), &id)
                    .await
                    .map_err(|e| ApiError::internal("reading document metadata", &e))?,
                Err(_) => None,
            };
            match document {
                Some(document) => {
                    draft.patient = patient_text(&document.metadata.patient);
                    draft
                        .chosen
                        .push(document.metadata.document_id.as_str().to_owned());
                }
                None => return Ok(not_found(&admin, &request, T::DocumentNotFound)),
            }
        }
        if draft.patient.is_empty() {
            return Ok(form_page(
                &admin,
                &request,
                &draft,
                None,
                &[],
                String::new(),
                StatusCode::OK,
            ));
        }
        let patient = match medgate_repository::patient::parse_patient(&draft.patient) {
            Ok(patient) => patient,
            Err(_) => {
                draft
                    .errors
                    .insert("patient", T::BadPatient.text(lang).to_owned());
                return Ok(form_page(
                    &admin,
                    &request,
                    &draft,
                    None,
                    &[],
                    String::new(),
                    StatusCode::BAD_REQUEST,
                ));
            }
        };
        let documents = patient_documents(&state, &admin, &patient).await?;
        admin
            .audit(
                &state,
                &request,
                "document.search",
                "documents",
                Some(&patient.extension),
                format!(
                    "web consent form; patient={}; {} matches",
                    patient_text(&patient),
                    documents.len()
                ),
            )
            .await?;
        Ok(form_page(
            &admin,
            &request,
            &draft,
            Some(&patient),
            &documents,
            String::new(),
            StatusCode::OK,
        ))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// A recipient or purpose: trimmed, not empty, at most 500 characters, no control
/// characters (the API's rule).
fn checked_text(lang: Lang, text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(T::Required.text(lang).to_owned());
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(T::TextTooLong.with(lang, "max", &MAX_TEXT_CHARS.to_string()));
    }
    if text.chars().any(char::is_control) {
        return Err(T::ControlCharacter.text(lang).to_owned());
    }
    Ok(text.to_owned())
}

fn parse_day(text: &str) -> Option<Date> {
    Date::parse(
        text.trim(),
        &time::format_description::well_known::Iso8601::DATE,
    )
    .ok()
    .filter(|_| text.trim().len() == 10)
}

/// `POST /admin/consents/new`: creates the draft.
async fn create(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let outcome = async {
        admin.require_usable()?;
        let lang = request.lang;
        let form = Form::parse(&body)?;
        if !admin.form_is_genuine(&request, &form) {
            return Ok(admin.forged(&request));
        }
        let count = form
            .text("count")
            .parse::<usize>()
            .unwrap_or(0)
            .min(MAX_DOCUMENTS * 2);
        let mut draft = Draft {
            patient: form.text("patient").to_owned(),
            recipient: form.text("recipient").to_owned(),
            purpose: form.text("purpose").to_owned(),
            from: form.text("from").to_owned(),
            to: form.text("to").to_owned(),
            chosen: (0..count)
                .map(|index| form.text(&format!("doc.{index}")).to_owned())
                .filter(|id| !id.is_empty())
                .collect(),
            errors: HashMap::new(),
        };
        let patient = match medgate_repository::patient::parse_patient(&draft.patient) {
            Ok(patient) => patient,
            Err(_) => {
                draft
                    .errors
                    .insert("patient", T::BadPatient.text(lang).to_owned());
                return Ok(form_page(
                    &admin,
                    &request,
                    &draft,
                    None,
                    &[],
                    String::new(),
                    StatusCode::BAD_REQUEST,
                ));
            }
        };
        let recipient = checked_text(lang, &draft.recipient)
            .map_err(|e| draft.errors.insert("recipient", e))
            .ok();
        let purpose = checked_text(lang, &draft.purpose)
            .map_err(|e| draft.errors.insert("purpose", e))
            .ok();
        let from = parse_day(&draft.from);
        if from.is_none() {
            draft
                .errors
                .insert("from", T::BadDate.text(lang).to_owned());
        }
        let to = parse_day(&draft.to);
        if to.is_none() {
            draft.errors.insert("to", T::BadDate.text(lang).to_owned());
        }
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                draft
                    .errors
                    .insert("to", T::ToBeforeFrom.text(lang).to_owned());
            }
        }
        if draft.chosen.is_empty() {
            draft
                .errors
                .insert("documents", T::ChooseDocuments.text(lang).to_owned());
        } else if draft.chosen.len() > MAX_DOCUMENTS {
            draft.errors.insert(
                "documents",
                T::TooManyDocuments.with(lang, "max", &MAX_DOCUMENTS.to_string()),
            );
        }
        let documents: Vec<DocumentId> = draft
            .chosen
            .iter()
            .filter_map(|id| DocumentId::parse(id).ok())
            .collect();
        if documents.len() != draft.chosen.len() {
            draft
                .errors
                .insert("documents", T::ChooseDocuments.text(lang).to_owned());
        }
        let ready = match (recipient, purpose, from, to) {
            (Some(recipient), Some(purpose), Some(from), Some(to)) if draft.errors.is_empty() => {
                Some(NewConsent {
                    patient: patient.clone(),
                    recipient,
                    purpose,
                    valid_from: from.with_time(Time::MIDNIGHT).assume_utc(),
                    valid_to: to.with_time(Time::MIDNIGHT).assume_utc() + time::Duration::days(1)
                        - time::Duration::seconds(1),
                    documents,
                })
            }
            _ => None,
        };
        let Some(new) = ready else {
            let offered = patient_documents(&state, &admin, &patient).await?;
            let banner = message(MessageKind::Error, T::FixErrors.text(lang));
            return Ok(form_page(
                &admin,
                &request,
                &draft,
                Some(&patient),
                &offered,
                banner,
                StatusCode::BAD_REQUEST,
            ));
        };
        let created = match state.metadata.create_consent(admin.tenant_id(), &new).await {
            Ok(created) => created,
            Err(ConsentError::DocumentNotFound(id)) => {
                draft.errors.insert(
                    "documents",
                    T::ConsentDocumentNotFound.with(lang, "id", id.as_str()),
                );
                let offered = patient_documents(&state, &admin, &patient).await?;
                let banner = message(MessageKind::Error, T::FixErrors.text(lang));
                return Ok(form_page(
                    &admin,
                    &request,
                    &draft,
                    Some(&patient),
                    &offered,
                    banner,
                    StatusCode::BAD_REQUEST,
                ));
            }
            Err(ConsentError::DocumentOfAnotherPatient { document, .. }) => {
                draft.errors.insert(
                    "documents",
                    T::ConsentDocumentOfAnother.with(lang, "id", document.as_str()),
                );
                let offered = patient_documents(&state, &admin, &patient).await?;
                let banner = message(MessageKind::Error, T::FixErrors.text(lang));
                return Ok(form_page(
                    &admin,
                    &request,
                    &draft,
                    Some(&patient),
                    &offered,
                    banner,
                    StatusCode::BAD_REQUEST,
                ));
            }
            Err(other) => return Err(ApiError::internal("creating a consent", &other).into()),
        };
        let ids: Vec<&str> = created
            .documents
            .iter()
            .map(|d| d.document_id.as_str())
            .collect();
        admin
            .audit(
                &state,
                &request,
                "consent.create",
                created.id.as_str(),
                Some(&created.patient.extension),
                format!(
                    "recipient '{}', purpose '{}', {} to {}, documents {}",
                    created.recipient,
                    created.purpose,
                    day(created.valid_from),
                    day(created.valid_to),
                    ids.join(" ")
                ),
            )
            .await?;
        Ok(redirect(
            &format!("{}?done=created", consent_href(&created.id, "")),
            &[],
        ))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

// ---------------------------------------------------------------------------------------
// One consent
// ---------------------------------------------------------------------------------------

/// The administrator and the account's consent named in the address, or the response to
/// send instead.
async fn the_consent(
    state: &AppState,
    request: &WebRequest,
    admin: &Admin,
    id: Result<Path<String>, PathRejection>,
) -> PageResult<Consent> {
    admin.require_usable()?;
    let Some(id) = id.ok().and_then(|Path(text)| ConsentId::parse(&text).ok()) else {
        return Err(PageError::answer(not_found(
            admin,
            request,
            T::ConsentNotFound,
        )));
    };
    let consent = state
        .metadata
        .get_consent(admin.tenant_id(), &id)
        .await
        .map_err(|e| ApiError::internal("reading a consent", &e))?;
    match consent {
        Some(consent) => Ok(consent),
        None => Err(PageError::answer(not_found(
            admin,
            request,
            T::ConsentNotFound,
        ))),
    }
}

/// The consent's page; `extra` (trusted HTML) goes above it (the activation code).
async fn consent_page(
    state: &AppState,
    admin: &Admin,
    request: &WebRequest,
    consent: &Consent,
    extra: String,
) -> PageResult {
    let lang = request.lang;
    let csrf = &admin.staff.session.csrf_secret;
    let mut rows = String::new();
    for document in &consent.documents {
        let stored = if document.available {
            state
                .metadata
                .get_document(admin.tenant_id(), &document.document_id)
                .await
                .map_err(|e| ApiError::internal("reading document metadata", &e))?
        } else {
            None
        };
        let (title, date) = match &stored {
            Some(stored) => (
                format!(
                    "<a href=\"{}\">{}</a>",
                    escape(&document_href(&document.document_id, "")),
                    escape(
                        stored
                            .metadata
                            .title
                            .as_deref()
                            .unwrap_or(T::Untitled.text(lang))
                    )
                ),
                minute(stored.metadata.effective_time),
            ),
            None => (escape(T::DocumentRemoved.text(lang)), "-".to_owned()),
        };
        let sent = consent.sent_at.map(minute).unwrap_or_default();
        rows.push_str(&format!(
            "<tr>{}{}{}{}</tr>",
            td(
                lang,
                T::DocumentId,
                &format!(
                    "<span class=\"mono\">{}</span>",
                    escape(document.document_id.as_str())
                )
            ),
            td(lang, T::DocumentName, &title),
            td(lang, T::IssueDate, &escape(&date)),
            td(lang, T::SentAt, &escape(&sent)),
        ));
    }
    let mut actions = Vec::new();
    if consent.status == ConsentStatus::Draft {
        actions.push(button_form(
            &consent_href(&consent.id, "/send"),
            csrf,
            "primary",
            T::SendConsent.text(lang),
        ));
    }
    if consent.status != ConsentStatus::Revoked {
        actions.push(button_form(
            &consent_href(&consent.id, "/revoke"),
            csrf,
            "danger",
            T::RevokeConsent.text(lang),
        ));
    }
    let banner = match request.query("done").as_deref() {
        Some("created") => notice("ok", T::ConsentCreated.text(lang)),
        Some("revoked") => notice("ok", T::ConsentRevokedNotice.text(lang)),
        _ => String::new(),
    };
    let facts = format!(
        "<dl class=\"facts\" id=\"consent\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd class=\"mono\">{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{} – {}</dd><dt>{}</dt><dd>{}</dd></dl>",
        escape(T::Status.text(lang)),
        status_badge(lang, consent),
        escape(T::Patient.text(lang)),
        escape(&patient_text(&consent.patient)),
        escape(T::Recipient.text(lang)),
        escape(&consent.recipient),
        escape(T::Purpose.text(lang)),
        escape(&consent.purpose),
        escape(T::ValidFromTo.text(lang)),
        day(consent.valid_from),
        day(consent.valid_to),
        escape(T::CreatedAt.text(lang)),
        escape(&minute(consent.created_at)),
    );
    let mut frame = admin.frame(request, T::ConsentTitle.text(lang));
    frame.path = consent_href(&consent.id, "");
    frame.body = format!(
        "{banner}{extra}<div class=\"actions\" id=\"actions\">{actions}</div>\
         <section class=\"card wide\">{facts}</section>\
         <h2>{documents}</h2><div class=\"table-wrap\"><table class=\"stack\" id=\"consent-documents\"><thead><tr>{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>\
         <p><a href=\"/admin/consents\">{back}</a></p>",
        th(lang, T::DocumentId),
        th(lang, T::DocumentName),
        th(lang, T::IssueDate),
        th(lang, T::SentAt),
        actions = actions.concat(),
        documents = escape(T::SharedDocuments.text(lang)),
        back = escape(T::BackToConsents.text(lang)),
    );
    Ok(frame.into_response())
}

/// `GET /admin/consents/{id}`.
async fn show(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let outcome = async {
        let consent = the_consent(&state, &request, &admin, id).await?;
        consent_page(&state, &admin, &request, &consent, String::new()).await
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// The page's words for a refused status change.
fn wrong_status(lang: Lang, status: ConsentStatus) -> String {
    match status {
        ConsentStatus::Revoked => T::ConsentAlreadyRevoked.text(lang).to_owned(),
        _ => T::ConsentAlreadySent.text(lang).to_owned(),
    }
}

/// `POST /admin/consents/{id}/send`: "Wyślij". Answers the page itself (not a redirect), so
/// the activation code is shown once and never stored in a browser's history.
async fn send(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = async {
        let consent = the_consent(&state, &request, &admin, id).await?;
        let lang = request.lang;
        let form = Form::parse(&body)?;
        if !admin.form_is_genuine(&request, &form) {
            return Ok(admin.forged(&request));
        }
        let code = password::activation_code()?;
        let activation = PendingActivation {
            code_hash: password::hash_async(password::normalize_code(&code)).await?,
            expires_at: now() + ACTIVATION_VALIDITY,
        };
        let sent = match state
            .metadata
            .send_consent(admin.tenant_id(), &consent.id, &activation)
            .await
        {
            Ok(sent) => sent,
            Err(ConsentError::WrongStatus { status, .. }) => {
                let mut response = consent_page(&state, &admin, &request, &consent, message(MessageKind::Error, &wrong_status(lang, status))).await?;
                *response.status_mut() = StatusCode::CONFLICT;
                return Ok(response);
            }
            Err(ConsentError::NotFound(_)) => return Ok(not_found(&admin, &request, T::ConsentNotFound)),
            Err(other) => return Err(ApiError::internal("sending a consent", &other).into()),
        };
        let account_status = match sent.account {
            AccountOutcome::Created => "created",
            AccountOutcome::CodeRenewed => "code_renewed",
            AccountOutcome::AlreadyActive => "already_active",
        };
        admin
            .audit(
                &state,
                &request,
                "consent.send",
                sent.consent.id.as_str(),
                Some(&sent.consent.patient.extension),
                format!("patient account {account_status}"),
            )
            .await?;
        let handover = if sent.account.code_issued() {
            format!(
                "<section class=\"card wide\" aria-labelledby=\"handover-title\" id=\"handover\"><h2 id=\"handover-title\">{title}</h2>\
                 <p>{intro}</p><dl class=\"facts\"><dt>{at}</dt><dd class=\"mono\">/portal/activate</dd>\
                 <dt>{clinic}</dt><dd class=\"mono\">{tenant}</dd><dt>{patient_label}</dt><dd class=\"mono\">{patient}</dd>\
                 <dt>{code_label}</dt><dd><span class=\"code\" id=\"activation-code\">{code}</span></dd>\
                 <dt>{valid}</dt><dd>{until} UTC</dd></dl><p class=\"muted\">{once}</p></section>",
                title = escape(T::HandOver.text(lang)),
                intro = escape(T::HandOverIntro.text(lang)),
                at = escape(T::ActivateAt.text(lang)),
                clinic = escape(T::AccountId.text(lang)),
                tenant = escape(admin.tenant_id().as_str()),
                patient_label = escape(T::PatientIdentifier.text(lang)),
                patient = escape(&sent.consent.patient.extension),
                code_label = escape(T::ActivationCode.text(lang)),
                code = escape(&code),
                valid = escape(T::ValidUntil.text(lang)),
                until = escape(&minute(activation.expires_at)),
                once = escape(T::ShownOnce.text(lang)),
            )
        } else {
            notice("info", T::PatientAlreadyActive.text(lang))
        };
        let banner = notice("ok", T::ConsentSentNotice.text(lang));
        consent_page(&state, &admin, &request, &sent.consent, format!("{banner}{handover}")).await
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// `POST /admin/consents/{id}/revoke`: "Odwołanie zgody"; the documents disappear from the
/// patient's portal at once.
async fn revoke(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = async {
        let consent = the_consent(&state, &request, &admin, id).await?;
        let lang = request.lang;
        let form = Form::parse(&body)?;
        if !admin.form_is_genuine(&request, &form) {
            return Ok(admin.forged(&request));
        }
        let revoked = match state
            .metadata
            .revoke_consent(admin.tenant_id(), &consent.id)
            .await
        {
            Ok(revoked) => revoked,
            Err(ConsentError::WrongStatus { status, .. }) => {
                let mut response = consent_page(
                    &state,
                    &admin,
                    &request,
                    &consent,
                    message(MessageKind::Error, &wrong_status(lang, status)),
                )
                .await?;
                *response.status_mut() = StatusCode::CONFLICT;
                return Ok(response);
            }
            Err(ConsentError::NotFound(_)) => {
                return Ok(not_found(&admin, &request, T::ConsentNotFound))
            }
            Err(other) => return Err(ApiError::internal("revoking a consent", &other).into()),
        };
        admin
            .audit(
                &state,
                &request,
                "consent.revoke",
                revoked.id.as_str(),
                Some(&revoked.patient.extension),
                "web".to_owned(),
            )
            .await?;
        Ok(redirect(
            &format!("{}?done=revoked", consent_href(&revoked.id, "")),
            &[],
        ))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}
