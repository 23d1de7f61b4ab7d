//! The patient's access log: who used their documents, when and from where.

use axum::extract::State;
use axum::response::Response;
use std::collections::HashMap;

use medgate_ids::TenantId;
use medgate_storage::{AuditEntry, DocumentId, PatientIdentifier};

use medgate_web::desk::{minute, respond, td, th, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::{action_label, Lang, Msg};
use medgate_web::layout::{escape, message, MessageKind};
use medgate_web::state::AppState;
use medgate_web::WebRequest;

use super::{actor, audit, patient_page, principal, Patient, PATIENT};

/// Entries shown in the access log.
const ACCESS_LOG_LIMIT: u32 = 200;

/// Who did it, as the patient reads it: themselves, the clinic's administrator, the
/// clinic's system (its certificate), the node's operator.
fn who(lang: Lang, actor_name: &str, own_actor: &str, clinic: &str) -> String {
    if actor_name == own_actor {
        return Msg::You.text(lang).to_owned();
    }
    if let Some(login) = actor_name.strip_prefix("admin:") {
        return Msg::WhoClinicAdministrator
            .with(lang, "clinic", clinic)
            .replace("{login}", login);
    }
    if let Some(login) = actor_name.strip_prefix("operator:") {
        return Msg::WhoNodeOperator.with(lang, "login", login);
    }
    if actor_name.contains("CN=") {
        // A certificate's subject: the clinic's system; its organisation when it names one.
        let organisation = actor_name
            .split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix("O="))
            .unwrap_or(clinic);
        return Msg::WhoClinicSystem.with(lang, "clinic", organisation);
    }
    Msg::WhoClinic.with(lang, "clinic", clinic)
}

/// What was done, with the document's title when the entry names one of the patient's
/// documents (`titles`); searches and lists name no document.
fn what(lang: Lang, entry: &AuditEntry, own_principal: &str, titles: &HashMap<String, String>) -> String {
    let action = action_label(&entry.action, lang);
    if entry.target.is_empty() || entry.target == own_principal {
        return action;
    }
    let about_a_document = ["document.", "portal.open", "fhir."]
        .iter()
        .any(|prefix| entry.action.starts_with(prefix));
    match titles.get(&entry.target) {
        Some(title) => format!("{action}: „{title}”"),
        // A document no longer stored, or one the patient asked for that is not theirs.
        None if about_a_document && DocumentId::parse(&entry.target).is_ok() => {
            format!("{action}: {}", entry.target)
        }
        None => action,
    }
}

fn access_log_table(
    lang: Lang,
    patient: &PatientIdentifier,
    clinic: &str,
    titles: &HashMap<String, String>,
    entries: &[AuditEntry],
) -> String {
    let own_actor = actor(patient);
    let own_principal = principal(patient);
    let heading = |m: Msg| th(lang, m);
    let cell = |m: Msg, content: String| td(lang, m, &content);
    let mut rows = String::new();
    for entry in entries {
        rows.push_str(&format!(
            "<tr>{}{}{}{}</tr>",
            cell(Msg::When, escape(&format!("{} UTC", minute(entry.at)))),
            cell(Msg::Who, escape(&who(lang, &entry.actor, &own_actor, clinic))),
            cell(Msg::What, escape(&what(lang, entry, &own_principal, titles))),
            cell(Msg::FromWhere, escape(&entry.origin.to_string())),
        ));
    }
    format!(
        "<div class=\"table-wrap\"><table class=\"stack\"><caption>{caption}</caption><thead><tr>{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
        heading(Msg::When),
        heading(Msg::Who),
        heading(Msg::What),
        heading(Msg::FromWhere),
        caption = escape(Msg::AccessLogIntro.text(lang)),
    )
}

/// The clinic's name from its organisational structure, else its account id.
async fn clinic_name(state: &AppState, tenant: &TenantId) -> Result<String, ApiError> {
    let stored = state
        .metadata
        .load_organisation(tenant)
        .await
        .map_err(|e| ApiError::internal("reading the organisational structure", &e))?;
    Ok(stored
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s.json).ok())
        .and_then(|json| json["provider"]["name"].as_str().map(str::to_owned))
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| tenant.as_str().to_owned()))
}

/// The titles of the patient's documents the entries name (each looked up once).
async fn titles_of(
    state: &AppState,
    tenant: &TenantId,
    patient: &PatientIdentifier,
    entries: &[AuditEntry],
) -> Result<HashMap<String, String>, ApiError> {
    let mut titles = HashMap::new();
    for entry in entries {
        if titles.contains_key(&entry.target) {
            continue;
        }
        let Ok(id) = DocumentId::parse(&entry.target) else {
            continue;
        };
        let document = state
            .metadata
            .get_document(tenant, &id)
            .await
            .map_err(|e| ApiError::internal("reading document metadata", &e))?;
        // Only the patient's own documents are named.
        if let Some(document) = document.filter(|d| d.metadata.patient.extension == patient.extension) {
            let metadata = &document.metadata;
            let title = metadata
                .title
                .clone()
                .or_else(|| metadata.type_display.clone())
                .unwrap_or_else(|| entry.target.clone());
            titles.insert(entry.target.clone(), title);
        }
    }
    Ok(titles)
}

/// `GET /portal/access-log`: who used the patient's documents, when and from where.
pub async fn page(State(state): State<AppState>, SignedIn(signed): SignedIn<Patient>,
    request: WebRequest) -> Response {
    let outcome = async {
        let lang = request.lang;
        audit(
            &state,
            &request,
            &signed.tenant,
            &signed.patient,
            "portal.access-log",
            &principal(&signed.patient),
            String::new(),
        )
        .await?;
        let entries = state
            .metadata
            .list_audit_page(
                &signed.tenant,
                Some(&signed.patient.extension),
                None,
                ACCESS_LOG_LIMIT,
            )
            .await
            .map_err(|e| ApiError::internal("reading the access log", &e))?;
        let mut page = patient_page(&request, &signed, Msg::AccessLog.text(lang), "/portal/access-log");
        page.body = if entries.is_empty() {
            message(MessageKind::Info, Msg::NoAccessEntries.text(lang))
        } else {
            let clinic = clinic_name(&state, &signed.tenant).await?;
            let titles = titles_of(&state, &signed.tenant, &signed.patient, &entries).await?;
            access_log_table(lang, &signed.patient, &clinic, &titles, &entries)
        };
        Ok(page.into_response())
    }
    .await;
    respond(&PATIENT, &request, outcome)
}
