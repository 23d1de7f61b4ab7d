//! The patient's access log and restrictions: who read or changed their data (every
//! break-glass with its reason), and the restrictions they set or lift — in force on the
//! service's FHIR API from the next request on.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use medgate_clinical::patient::{self, RestrictionScope};
use medgate_clinical::ResourceType;
use medgate_ids::InstitutionId;
use medgate_storage::AccessEntry;
use medgate_web::desk::{respond, td, th, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, Input, MessageKind};
use medgate_web::{csrf, AppState, Form, WebRequest};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use super::super::words::W;
use super::record::{summary, Institutions};
use super::{minute, now, portal, Patient, PORTAL};

/// Lines shown in the access log.
const ACCESS_LOG_LIMIT: u32 = 500;

/// What was done, in words.
fn action_word(action: &str) -> Option<W> {
    Some(match action {
        "read" => W::ActionRead,
        "search" => W::ActionSearch,
        "history" => W::ActionHistory,
        "create" => W::ActionCreate,
        "update" => W::ActionUpdate,
        "delete" => W::ActionDelete,
        "restrict" => W::ActionRestrict,
        "lift" => W::ActionLift,
        "access-log" => W::ActionAccessLog,
        _ => return None,
    })
}

async fn access_rows(
    lang: Lang,
    entries: &[AccessEntry],
    institutions: &mut Institutions<'_>,
) -> Result<String, ApiError> {
    let mut rows = String::new();
    for entry in entries {
        let access = &entry.access;
        let own = patient::is_own(access);
        let who = if own {
            W::You.text(lang).to_owned()
        } else {
            access.user_name.clone()
        };
        let on_behalf = if own {
            "—".to_owned()
        } else {
            institutions
                .label(Some(access.institution.as_str()))
                .await?
        };
        let action = action_word(&access.action)
            .map(|word| word.text(lang).to_owned())
            .unwrap_or_else(|| access.action.clone());
        let mut what = format!(
            "{} <span class=\"mono\">{}</span>",
            escape(&action),
            escape(&access.target)
        );
        let mut class = "";
        if let Some(reason) = &access.break_glass_reason {
            what.push_str(&format!(
                "<br><strong class=\"break-glass\">{}</strong>",
                escape(&W::EmergencyAccess.with(lang, "reason", reason))
            ));
            class = " class=\"break-glass\"";
        }
        let when = access.at.format(&Rfc3339).unwrap_or_default();
        rows.push_str(&format!(
            "<tr{class}>{}{}{}{}</tr>",
            td(
                lang,
                W::When,
                &format!("<span class=\"nowrap\">{}</span>", escape(&minute(&when)))
            ),
            td(lang, W::Who, &escape(&who)),
            td(lang, W::OnBehalfOf, &escape(&on_behalf)),
            td(lang, W::What, &what),
        ));
    }
    Ok(rows)
}

/// `GET /portal/access-log`: who read or changed the patient's data, newest first.
pub async fn access_log(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Patient>,
    request: WebRequest,
) -> Response {
    let request = portal(request);
    let outcome = async {
        let lang = request.lang;
        let entries = patient::access_entries(&state.metadata, &p.caller(&request), ACCESS_LOG_LIMIT, now(&state))
            .await
            .map_err(|e| p.refused(&request, e))?;
        let mut institutions = Institutions::new(&state);
        let mut page = p.frame(&request, W::NavAccessLog.text(lang), "/portal/access-log");
        page.body = if entries.is_empty() {
            format!("<p class=\"muted\">{}</p>{}", escape(W::AccessLogIntro.text(lang)), message(MessageKind::Info, W::NoAccess.text(lang)))
        } else {
            format!(
                "<div class=\"table-wrap\"><table class=\"stack\" id=\"access-log\"><caption>{}</caption><thead><tr>{}{}{}{}</tr></thead><tbody>{}</tbody></table></div>",
                escape(W::AccessLogIntro.text(lang)),
                th(lang, W::When),
                th(lang, W::Who),
                th(lang, W::OnBehalfOf),
                th(lang, W::What),
                access_rows(lang, &entries, &mut institutions).await?,
            )
        };
        Ok(page.into_response())
    }
    .await;
    respond(&PORTAL, &request, outcome)
}

/// A restriction's scope in words.
fn scope_words(lang: Lang, consent: &Value) -> String {
    let provision = &consent["provision"];
    if let Some(reference) = provision["actor"][0]["reference"]["reference"].as_str() {
        let id = reference.strip_prefix("Organization/").unwrap_or(reference);
        return W::ScopeInstitution.with(lang, "institution", id);
    }
    if let Some(reference) = provision["data"][0]["reference"]["reference"].as_str() {
        return W::ScopeDocument.with(lang, "document", reference);
    }
    W::ScopeAll.text(lang).to_owned()
}

/// What the restrictions page shows again after a refused form.
#[derive(Default)]
struct Typed {
    institution: String,
    institution_error: Option<String>,
    message: Option<(MessageKind, String)>,
}

async fn restrictions_page(
    state: &AppState,
    p: &Patient,
    request: &WebRequest,
    typed: &Typed,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let caller = p.caller(request);
    let consents = patient::restrictions(&state.metadata, &caller, now(state))
        .await
        .map_err(|e| p.refused(request, e))?;
    let documents = patient::resources(
        &state.metadata,
        &caller,
        ResourceType::DocumentReference,
        now(state),
    )
    .await
    .map_err(|e| p.refused(request, e))?;
    let secret = &p.session.csrf_secret;
    let mut rows = String::new();
    for consent in &consents {
        let id = consent["id"].as_str().unwrap_or_default();
        let active = consent["status"] == "active";
        let lift = if active {
            format!(
                "<form method=\"post\" action=\"/portal/restrictions/lift\" class=\"inline\">{}<input type=\"hidden\" name=\"id\" value=\"{}\"><button class=\"secondary\" type=\"submit\">{}</button></form>",
                csrf::hidden_field(secret),
                escape(id),
                escape(W::Lift.text(lang))
            )
        } else {
            String::new()
        };
        rows.push_str(&format!(
            "<tr>{}{}{}{}</tr>",
            td(lang, W::Scope, &escape(&scope_words(lang, consent))),
            td(
                lang,
                W::Status,
                &escape(if active {
                    W::Active.text(lang)
                } else {
                    W::Lifted.text(lang)
                })
            ),
            td(
                lang,
                W::Since,
                &escape(&minute(consent["dateTime"].as_str().unwrap_or("—")))
            ),
            td(lang, W::Lift, &lift),
        ));
    }
    let listing = if consents.is_empty() {
        message(MessageKind::Info, W::NoRestrictions.text(lang))
    } else {
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"restrictions\"><thead><tr>{}{}{}<th scope=\"col\"></th></tr></thead><tbody>{rows}</tbody></table></div>",
            th(lang, W::Scope),
            th(lang, W::Status),
            th(lang, W::Since),
        )
    };
    let form = |scope: &str, title: W, fields: String| {
        format!(
            "<form class=\"card\" method=\"post\" action=\"/portal/restrictions\">{}<input type=\"hidden\" name=\"scope\" value=\"{scope}\">\
             <h2>{}</h2>{fields}<button class=\"primary\" type=\"submit\">{}</button></form>",
            csrf::hidden_field(secret),
            escape(title.text(lang)),
            escape(W::Restrict.text(lang)),
        )
    };
    let institution = Input {
        hint: Some(W::InstitutionIdHint.text(lang)),
        error: typed.institution_error.as_deref(),
        required: true,
        extra: "inputmode=\"numeric\" maxlength=\"6\"",
        ..Input::text(
            "institution",
            W::InstitutionId.text(lang),
            &typed.institution,
        )
    }
    .html();
    let document_form = if documents.is_empty() {
        String::new()
    } else {
        let options: String = documents
            .iter()
            .map(|document| {
                let id = document["id"].as_str().unwrap_or_default();
                let title = document["content"][0]["attachment"]["title"]
                    .as_str()
                    .or(summary(document))
                    .unwrap_or(id);
                let date = minute(document["date"].as_str().unwrap_or_default());
                format!(
                    "<option value=\"{}\">{} · {}</option>",
                    escape(id),
                    escape(title),
                    escape(&date)
                )
            })
            .collect();
        form(
            "document",
            W::RestrictDocument,
            format!(
                "<label for=\"document\">{}</label><select id=\"document\" name=\"document\">{options}</select>",
                escape(W::ChooseDocument.text(lang))
            ),
        )
    };
    let mut page = p.frame(
        request,
        W::NavRestrictions.text(lang),
        "/portal/restrictions",
    );
    page.status = status;
    let notice = typed
        .message
        .as_ref()
        .map(|(kind, text)| message(*kind, text))
        .unwrap_or_default();
    page.body = format!(
        "<p class=\"muted\">{}</p>{notice}{listing}<div class=\"boxes\">{}{}{}</div>",
        escape(W::RestrictionsIntro.text(lang)),
        form("all", W::RestrictAll, String::new()),
        form("institution", W::RestrictInstitution, institution),
        document_form,
    );
    Ok(page.into_response())
}

fn done(request: &WebRequest) -> Typed {
    let text = match request.query("done").as_deref() {
        Some("restricted") => Some(W::DoneRestricted),
        Some("lifted") => Some(W::DoneLifted),
        _ => None,
    };
    Typed {
        message: text.map(|word| (MessageKind::Info, word.text(request.lang).to_owned())),
        ..Typed::default()
    }
}

/// `GET /portal/restrictions`: the restrictions (in force and lifted) and the forms.
pub async fn restrictions(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Patient>,
    request: WebRequest,
) -> Response {
    let request = portal(request);
    let outcome = restrictions_page(&state, &p, &request, &done(&request), StatusCode::OK).await;
    respond(&PORTAL, &request, outcome)
}

fn back(request: &WebRequest, done: &str) -> Response {
    let cookies: Vec<String> = request.lang_cookie.iter().cloned().collect();
    redirect(&format!("/portal/restrictions?done={done}"), &cookies)
}

/// The scope a restriction form names; `Err` with the form to show again.
async fn scope_of(state: &AppState, lang: Lang, form: &Form) -> Result<RestrictionScope, Typed> {
    match form.text("scope") {
        "all" => Ok(RestrictionScope::All),
        "institution" => {
            let typed = form.text("institution").trim().to_owned();
            let refuse = |error: String| Typed {
                institution: typed.clone(),
                institution_error: Some(error),
                message: Some((MessageKind::Error, W::FixErrors.text(lang).to_owned())),
            };
            let id = InstitutionId::parse(&typed)
                .map_err(|e| refuse(W::InstitutionInvalid.with(lang, "reason", &e.to_string())))?;
            match state.metadata.clinical_institution(&id).await {
                Ok(Some(_)) => Ok(RestrictionScope::Institution(id)),
                Ok(None) => Err(refuse(W::UnknownInstitution.with(
                    lang,
                    "institution",
                    id.as_str(),
                ))),
                Err(error) => Err(refuse(
                    ApiError::internal("reading an institution", &error)
                        .message()
                        .to_owned(),
                )),
            }
        }
        // Another patient's or an unknown document is refused by the domain as not found.
        "document" if !form.text("document").trim().is_empty() => Ok(RestrictionScope::Document(
            form.text("document").trim().to_owned(),
        )),
        _ => Err(Typed {
            message: Some((MessageKind::Error, W::FixErrors.text(lang).to_owned())),
            ..Typed::default()
        }),
    }
}

/// `POST /portal/restrictions`: restricts all documents, one institution's or one document.
pub async fn restrict(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Patient>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = portal(request);
    let outcome = async {
        let form = p.genuine_form(&request, &body)?;
        let scope = match scope_of(&state, request.lang, &form).await {
            Ok(scope) => scope,
            Err(typed) => {
                return restrictions_page(&state, &p, &request, &typed, StatusCode::BAD_REQUEST)
                    .await
            }
        };
        patient::restrict(&state.metadata, &p.caller(&request), &scope, now(&state))
            .await
            .map_err(|e| p.refused(&request, e))?;
        Ok(back(&request, "restricted"))
    }
    .await;
    respond(&PORTAL, &request, outcome)
}

/// `POST /portal/restrictions/lift`: lifts one of the patient's restrictions.
pub async fn lift(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Patient>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = portal(request);
    let outcome = async {
        let form = p.genuine_form(&request, &body)?;
        let id = form.text("id").trim().to_owned();
        patient::lift(&state.metadata, &p.caller(&request), &id, now(&state))
            .await
            .map_err(|e| p.refused(&request, e))?;
        Ok(back(&request, "lifted"))
    }
    .await;
    respond(&PORTAL, &request, outcome)
}
