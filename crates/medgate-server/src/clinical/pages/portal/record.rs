//! The patient's record: documents (list, one with its DocumentReference details, its
//! content), the profile (entries by kind, each entry's versions) and referrals.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine;
use medgate_clinical::patient::{self, Created};
use medgate_clinical::referrals::{status_of, ReferralStatus, STATUS_EXTENSION};
use medgate_clinical::ResourceType;
use medgate_ids::InstitutionId;
use medgate_web::desk::{respond, td, th, PageError, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{download, escape, message, MessageKind};
use medgate_web::{AppState, WebRequest};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::super::words::W;
use super::{minute, now, portal, Patient, PORTAL};

fn text_at<'a>(resource: &'a Value, pointer: &str) -> Option<&'a str> {
    resource.pointer(pointer).and_then(Value::as_str)
}

/// The institution that wrote a resource (`Organization/<id>` of its author, requester or
/// custodian).
pub(super) fn institution_of(resource: &Value) -> Option<&str> {
    [
        "/author/0/reference",
        "/requester/reference",
        "/custodian/reference",
        "/recorder/reference",
        "/asserter/reference",
    ]
    .into_iter()
    .find_map(|pointer| text_at(resource, pointer))
    .and_then(|reference| reference.strip_prefix("Organization/"))
}

/// The first human-readable text of a resource.
pub(super) fn summary(resource: &Value) -> Option<&str> {
    [
        "/description",
        "/code/text",
        "/type/text",
        "/medicationCodeableConcept/text",
        "/performerType/text",
        "/type/0/text",
        "/deviceName/0/name",
        "/title",
    ]
    .into_iter()
    .find_map(|pointer| text_at(resource, pointer))
}

/// Institution names by id, each looked up once (an unknown id is shown as itself).
pub(super) struct Institutions<'s> {
    state: &'s AppState,
    names: HashMap<String, String>,
}

impl<'s> Institutions<'s> {
    pub(super) fn new(state: &'s AppState) -> Self {
        Institutions {
            state,
            names: HashMap::new(),
        }
    }

    /// `Name (id)`, or `—` when there is none.
    pub(super) async fn label(&mut self, id: Option<&str>) -> Result<String, ApiError> {
        let Some(id) = id else {
            return Ok("—".to_owned());
        };
        if let Some(name) = self.names.get(id) {
            return Ok(name.clone());
        }
        let name = match InstitutionId::parse(id) {
            Ok(parsed) => self
                .state
                .metadata
                .clinical_institution(&parsed)
                .await
                .map_err(|e| ApiError::internal("reading an institution", &e))?
                .map(|institution| format!("{} ({id})", institution.name)),
            Err(_) => None,
        }
        .unwrap_or_else(|| id.to_owned());
        self.names.insert(id.to_owned(), name.clone());
        Ok(name)
    }
}

fn document_href(id: &str) -> String {
    format!("/portal/documents/{}", urlencoding::encode(id))
}

fn title_of(lang: Lang, document: &Value) -> String {
    text_at(document, "/content/0/attachment/title")
        .or(summary(document))
        .unwrap_or(W::DocumentTitleFallback.text(lang))
        .to_owned()
}

/// `GET /portal/documents`: every document of the patient, from every institution.
pub async fn documents(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Patient>,
    request: WebRequest,
) -> Response {
    let request = portal(request);
    let outcome = async {
        let lang = request.lang;
        let found = patient::created(
            &state.metadata,
            &p.caller(&request),
            ResourceType::DocumentReference,
            now(&state),
        )
        .await
        .map_err(|e| p.refused(&request, e))?;
        let mut institutions = Institutions::new(&state);
        let mut rows = String::new();
        for Created { resource: document, created_by } in &found {
            let id = text_at(document, "/id").unwrap_or_default();
            rows.push_str(&format!(
                "<tr>{}{}{}{}</tr>",
                td(lang, W::Title, &format!(
                    "<a href=\"{}\">{}</a>",
                    escape(&document_href(id)),
                    escape(&title_of(lang, document))
                )),
                td(lang, W::Date, &format!("<span class=\"nowrap\">{}</span>", escape(&minute(text_at(document, "/date").unwrap_or("—"))))),
                td(lang, W::Institution, &escape(&institutions.label(Some(created_by.as_str())).await?)),
                td(lang, W::Format, &format!("<span class=\"mono\">{}</span>", escape(text_at(document, "/content/0/attachment/contentType").unwrap_or("—")))),
            ));
        }
        let mut page = p.frame(&request, W::NavDocuments.text(lang), "/portal/documents");
        page.body = if found.is_empty() {
            format!("<p class=\"muted\">{}</p>{}", escape(W::MyDocumentsIntro.text(lang)), message(MessageKind::Info, W::NoDocuments.text(lang)))
        } else {
            format!(
                "<div class=\"table-wrap\"><table class=\"stack\" id=\"documents\"><caption>{}</caption><thead><tr>{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
                escape(W::MyDocumentsIntro.text(lang)),
                th(lang, W::Title),
                th(lang, W::Date),
                th(lang, W::Institution),
                th(lang, W::Format),
            )
        };
        Ok(page.into_response())
    }
    .await;
    respond(&PORTAL, &request, outcome)
}

fn detail_row(lang: Lang, label: W, value: &str) -> String {
    format!(
        "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
        escape(label.text(lang)),
        value
    )
}

/// Whether the content type is a CDA document (XML), shown as text too.
fn is_cda(content_type: &str) -> bool {
    let base = content_type.split(';').next().unwrap_or("").trim();
    matches!(
        base,
        "application/hl7-v3+xml" | "application/xml" | "text/xml"
    )
}

/// The Binary of a document decoded: content type and bytes.
async fn binary(
    state: &AppState,
    p: &Patient,
    request: &WebRequest,
    id: &str,
) -> Result<(String, Vec<u8>), PageError> {
    let binary = patient::read(
        &state.metadata,
        &p.caller(request),
        ResourceType::Binary,
        id,
        now(state),
    )
    .await
    .map_err(|e| p.refused(request, e))?;
    let content_type = text_at(&binary, "/contentType")
        .unwrap_or("application/octet-stream")
        .to_owned();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text_at(&binary, "/data").unwrap_or_default())
        .map_err(|e| ApiError::internal("a stored document's content", &e))?;
    Ok((content_type, bytes))
}

/// `GET /portal/documents/{id}`: one document's details, its content to download and, for
/// a CDA document, its text.
pub async fn document(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Patient>,
    request: WebRequest,
    Path(id): Path<String>,
) -> Response {
    let request = portal(request);
    let outcome = async {
        let lang = request.lang;
        let document = patient::read(
            &state.metadata,
            &p.caller(&request),
            ResourceType::DocumentReference,
            &id,
            now(&state),
        )
        .await
        .map_err(|e| p.refused(&request, e))?;
        let mut institutions = Institutions::new(&state);
        let attachment = &document["content"][0]["attachment"];
        let content_type = attachment["contentType"].as_str().unwrap_or("—");
        let mono = |text: &str| format!("<span class=\"mono\">{}</span>", escape(text));
        let mut rows = String::new();
        rows.push_str(&detail_row(
            lang,
            W::Identifier,
            &mono(&format!("DocumentReference/{id}")),
        ));
        rows.push_str(&detail_row(
            lang,
            W::Status,
            &escape(document["status"].as_str().unwrap_or("—")),
        ));
        rows.push_str(&detail_row(
            lang,
            W::Date,
            &escape(&minute(document["date"].as_str().unwrap_or("—"))),
        ));
        rows.push_str(&detail_row(
            lang,
            W::Institution,
            &escape(&institutions.label(institution_of(&document)).await?),
        ));
        if let Some(encounter) = text_at(&document, "/context/encounter/0/reference") {
            rows.push_str(&detail_row(lang, W::Encounter2, &mono(encounter)));
        }
        rows.push_str(&detail_row(lang, W::Format, &mono(content_type)));
        if let Some(size) = attachment["size"].as_u64() {
            rows.push_str(&detail_row(lang, W::Size, &escape(&format!("{size} B"))));
        }
        if let Some(hash) = attachment["hash"].as_str() {
            rows.push_str(&detail_row(lang, W::Sha1, &mono(hash)));
        }
        let mut text = String::new();
        if is_cda(content_type) {
            let (_, bytes) = binary(&state, &p, &request, &id).await?;
            text = format!(
                "<h2>{}</h2><pre class=\"document-text\">{}</pre>",
                escape(W::DocumentText.text(lang)),
                escape(&String::from_utf8_lossy(&bytes))
            );
        }
        let title = title_of(lang, &document);
        let path = document_href(&id);
        let mut page = p.frame(&request, title, &path);
        page.body = format!(
            "<p><a href=\"/portal/documents\">{back}</a></p>\
             <table class=\"details\"><caption>{caption}</caption><tbody>{rows}</tbody></table>\
             <p><a class=\"button primary\" href=\"{path}/content\">{download}</a></p>{text}",
            back = escape(W::BackToDocuments.text(lang)),
            caption = escape(W::DocumentDetails.text(lang)),
            path = escape(&path),
            download = escape(W::Download.text(lang)),
        );
        Ok(page.into_response())
    }
    .await;
    respond(&PORTAL, &request, outcome)
}

/// `GET /portal/documents/{id}/content`: the document's content as a download.
pub async fn content(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Patient>,
    request: WebRequest,
    Path(id): Path<String>,
) -> Response {
    let request = portal(request);
    let outcome = async {
        let (content_type, bytes) = binary(&state, &p, &request, &id).await?;
        let extension = if content_type.starts_with("application/pdf") {
            "pdf"
        } else if is_cda(&content_type) {
            "xml"
        } else {
            "bin"
        };
        let safe: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
            .collect();
        Ok(download(
            &content_type,
            &format!("{safe}.{extension}"),
            bytes.into(),
        ))
    }
    .await;
    respond(&PORTAL, &request, outcome)
}

/// The word of a profile kind.
fn kind_word(kind: ResourceType) -> W {
    match kind {
        ResourceType::AllergyIntolerance => W::KindAllergy,
        ResourceType::Condition => W::KindCondition,
        ResourceType::MedicationStatement => W::KindMedication,
        ResourceType::Device => W::KindDevice,
        ResourceType::DeviceUseStatement => W::KindDeviceUse,
        _ => W::KindCarePlan,
    }
}

fn history_href(kind: ResourceType, id: &str) -> String {
    format!(
        "/portal/profile/{}/{}",
        kind.as_str(),
        urlencoding::encode(id)
    )
}

/// `GET /portal/profile`: the profile's entries by kind, each with its version and a link to
/// its versions.
pub async fn profile(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Patient>,
    request: WebRequest,
) -> Response {
    let request = portal(request);
    let outcome = async {
        let lang = request.lang;
        let caller = p.caller(&request);
        let mut institutions = Institutions::new(&state);
        let mut sections = String::new();
        let mut any = false;
        for kind in ResourceType::PROFILE {
            let entries = patient::created(&state.metadata, &caller, kind, now(&state))
                .await
                .map_err(|e| p.refused(&request, e))?;
            if entries.is_empty() {
                continue;
            }
            any = true;
            let mut rows = String::new();
            for Created { resource: entry, created_by } in &entries {
                let id = text_at(entry, "/id").unwrap_or_default();
                rows.push_str(&format!(
                    "<tr>{}{}{}{}{}</tr>",
                    td(lang, W::EntryText, &escape(summary(entry).unwrap_or("—"))),
                    td(lang, W::Version, &format!("<span class=\"mono\">{}</span>", escape(text_at(entry, "/meta/versionId").unwrap_or("1")))),
                    td(lang, W::LastUpdated, &escape(&minute(text_at(entry, "/meta/lastUpdated").unwrap_or("—")))),
                    td(lang, W::Institution, &escape(&institutions.label(Some(created_by.as_str())).await?)),
                    td(lang, W::Versions, &format!("<a href=\"{}\">{}</a>", escape(&history_href(kind, id)), escape(W::History.text(lang)))),
                ));
            }
            sections.push_str(&format!(
                "<h2>{}</h2><div class=\"table-wrap\"><table class=\"stack\"><thead><tr>{}{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
                escape(kind_word(kind).text(lang)),
                th(lang, W::EntryText),
                th(lang, W::Version),
                th(lang, W::LastUpdated),
                th(lang, W::Institution),
                th(lang, W::Versions),
            ));
        }
        let mut page = p.frame(&request, W::NavProfile.text(lang), "/portal/profile");
        page.body = format!(
            "<p class=\"muted\">{}</p>{}",
            escape(W::MyProfileIntro.text(lang)),
            if any { sections } else { message(MessageKind::Info, W::NoProfile.text(lang)) }
        );
        Ok(page.into_response())
    }
    .await;
    respond(&PORTAL, &request, outcome)
}

/// `GET /portal/profile/{kind}/{id}`: every version of one entry, newest first.
pub async fn entry_history(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Patient>,
    request: WebRequest,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    let request = portal(request);
    let outcome = async {
        let lang = request.lang;
        let Some(kind) = ResourceType::parse(&kind).ok().filter(|kind| kind.is_profile()) else {
            return Err(PageError::answer(p.not_found(&request)));
        };
        let versions = patient::history(&state.metadata, &p.caller(&request), kind, &id, now(&state))
            .await
            .map_err(|e| p.refused(&request, e))?;
        let mut institutions = Institutions::new(&state);
        let mut rows = String::new();
        for version in &versions {
            let text = if version.deleted {
                W::DeletedVersion.text(lang).to_owned()
            } else {
                summary(&version.resource).unwrap_or("—").to_owned()
            };
            let when = version.last_updated.format(&Rfc3339).unwrap_or_default();
            rows.push_str(&format!(
                "<tr>{}{}{}{}</tr>",
                td(lang, W::Version, &format!("<span class=\"mono\">{}</span>", version.version)),
                td(lang, W::LastUpdated, &escape(&minute(&when))),
                td(lang, W::Institution, &escape(&institutions.label(Some(version.institution.as_str())).await?)),
                td(lang, W::EntryText, &escape(&text)),
            ));
        }
        let title = W::EntryVersions.with(lang, "kind", kind_word(kind).text(lang));
        let mut page = p.frame(&request, title, &history_href(kind, &id));
        page.body = format!(
            "<p><a href=\"/portal/profile\">{}</a></p><div class=\"table-wrap\"><table class=\"stack\" id=\"versions\"><thead><tr>{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
            escape(W::BackToProfile.text(lang)),
            th(lang, W::Version),
            th(lang, W::LastUpdated),
            th(lang, W::Institution),
            th(lang, W::EntryText),
        );
        Ok(page.into_response())
    }
    .await;
    respond(&PORTAL, &request, outcome)
}

/// A referral's status in words: its stored status, `expired` once past its end.
fn referral_status(lang: Lang, referral: &Value, at: OffsetDateTime) -> &'static str {
    let stored = referral["extension"]
        .as_array()
        .and_then(|list| list.iter().find(|e| e["url"] == STATUS_EXTENSION))
        .and_then(|e| e["valueCode"].as_str());
    let past_end = text_at(referral, "/occurrencePeriod/end")
        .and_then(|end| OffsetDateTime::parse(end, &Rfc3339).ok())
        .is_some_and(|end| end <= at);
    match status_of(stored) {
        Some(ReferralStatus::Issued) if past_end => W::StatusExpired,
        Some(ReferralStatus::Issued) => W::StatusIssued,
        Some(ReferralStatus::Consumed) => W::StatusConsumed,
        Some(ReferralStatus::Cancelled) => W::StatusCancelled,
        Some(ReferralStatus::Expired) => W::StatusExpired,
        None => return "—",
    }
    .text(lang)
}

/// `GET /portal/referrals`: the patient's referrals with their status.
pub async fn referrals(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Patient>,
    request: WebRequest,
) -> Response {
    let request = portal(request);
    let outcome = async {
        let lang = request.lang;
        let at = now(&state);
        let found = patient::created(&state.metadata, &p.caller(&request), ResourceType::ServiceRequest, at)
            .await
            .map_err(|e| p.refused(&request, e))?;
        let mut institutions = Institutions::new(&state);
        let mut rows = String::new();
        for Created { resource: referral, created_by } in &found {
            let used_by = text_at(referral, "/performer/0/reference").and_then(|r| r.strip_prefix("Organization/"));
            let institution = institutions.label(Some(created_by.as_str())).await?;
            let institution = match used_by {
                Some(other) => format!("{institution} → {}", institutions.label(Some(other)).await?),
                None => institution,
            };
            rows.push_str(&format!(
                "<tr>{}{}{}{}{}</tr>",
                td(lang, W::ReferralId, &format!("<span class=\"mono\">{}</span>", escape(text_at(referral, "/id").unwrap_or_default()))),
                td(lang, W::Specialty, &escape(summary(referral).unwrap_or("—"))),
                td(lang, W::Status, &format!("<strong>{}</strong>", escape(referral_status(lang, referral, at)))),
                td(lang, W::Issued, &escape(&minute(text_at(referral, "/authoredOn").unwrap_or("—")))),
                td(lang, W::Institution, &escape(&institution)),
            ));
        }
        let mut page = p.frame(&request, W::NavReferralsMine.text(lang), "/portal/referrals");
        page.body = if found.is_empty() {
            format!("<p class=\"muted\">{}</p>{}", escape(W::MyReferralsIntro.text(lang)), message(MessageKind::Info, W::NoReferrals.text(lang)))
        } else {
            format!(
                "<div class=\"table-wrap\"><table class=\"stack\" id=\"referrals\"><caption>{}</caption><thead><tr>{}{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
                escape(W::MyReferralsIntro.text(lang)),
                th(lang, W::ReferralId),
                th(lang, W::Specialty),
                th(lang, W::Status),
                th(lang, W::Issued),
                th(lang, W::Institution),
            )
        };
        Ok(page.into_response())
    }
    .await;
    respond(&PORTAL, &request, outcome)
}
