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
    Consent, ConsentId, ConsentStatus, DocumentId, DocumentKind,
    NewConsent, PatientIdentifier, PatientQuery, SearchQuery, StoredDocument,
};
use time::{Date, Time};

use super::archive::document_href;
use super::{Admin, ADMIN};
use crate::repository::{domain, refused};
use medgate_repository::{consents, documents};
use medgate_repository::{Reason, RepositoryError};
use medgate_web::desk::text::T;
use medgate_web::desk::{
    button_form, day, minute, notice, now, respond, segment, td, th, Input, PageError, PageResult,
    SignedIn,
};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::state::AppState;
use medgate_web::{csrf, password, WebRequest};

mod new;
mod one;
use new::*;
use one::*;

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
        .route("/admin/consents/{id}/revoke", get(confirm_revoke).post(revoke))
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
        admin.require_usable(&request)?;
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
