//! The patient's access log: who used their documents, when and from where.

use axum::extract::State;
use axum::response::Response;
use medgate_storage::{AuditEntry, PatientIdentifier};

use medgate_web::desk::{minute, respond, td, th, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::{action_label, Lang, Msg};
use medgate_web::layout::{escape, message, MessageKind};
use medgate_web::state::AppState;
use medgate_web::WebRequest;

use super::{actor, audit, patient_page, principal, Patient, PATIENT};

/// Entries shown in the access log.
const ACCESS_LOG_LIMIT: u32 = 200;

fn access_log_table(lang: Lang, patient: &PatientIdentifier, entries: &[AuditEntry]) -> String {
    let own_actor = actor(patient);
    let own_principal = principal(patient);
    let heading = |m: Msg| th(lang, m);
    let cell = |m: Msg, content: String| td(lang, m, &content);
    let mut rows = String::new();
    for entry in entries {
        let who = if entry.actor == own_actor {
            Msg::You.text(lang).to_owned()
        } else {
            entry.actor.clone()
        };
        let what = if entry.target.is_empty() || entry.target == own_principal {
            action_label(&entry.action, lang)
        } else {
            format!("{} — {}", action_label(&entry.action, lang), entry.target)
        };
        rows.push_str(&format!(
            "<tr>{}{}{}{}</tr>",
            cell(Msg::When, escape(&format!("{} UTC", minute(entry.at)))),
            cell(Msg::Who, escape(&who)),
            cell(Msg::What, escape(&what)),
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
            access_log_table(lang, &signed.patient, &entries)
        };
        Ok(page.into_response())
    }
    .await;
    respond(&PATIENT, &request, outcome)
}
