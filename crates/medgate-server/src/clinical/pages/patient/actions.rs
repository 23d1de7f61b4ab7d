//! The patient page's actions: an encounter opened and closed (its summary submitted as
//! the encounter's PDF first), the glass broken, a document opened, profile entries added,
//! modified and deleted, an entry's history.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use medgate_web::desk::{respond, SignedIn};
use medgate_web::layout::{escape, message, MessageKind};
use medgate_web::{AppState, WebRequest};

use super::*;

/// `POST /practice/patient/encounter`: opens an encounter at the service.
pub(super) async fn open_encounter(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    act(&state, &p, request, &body, async |a: Action<'_>| {
        let unit = UnitId::parse(a.form.text("unit")).map_err(|e| invalid(e.to_string()))?;
        if !a.p.connection.units.contains(&unit) {
            return Err(invalid(W::UnknownUnit.with(a.lang, "unit", unit.as_str())));
        }
        let care_type = a.form.text("care_type");
        if care_type.is_empty() {
            return Err(invalid(W::CareTypeRequired.text(a.lang).to_owned()));
        }
        let (client, session) = a.service().await?;
        let encounter = NewEncounter {
            patient: a.taj.clone(),
            unit,
            care_type: care_type.to_owned(),
            start: None,
        };
        let encounter = client.open_encounter(&session, &encounter).await?;
        Ok(Done {
            action: "practice.encounter.open",
            target: encounter.id().to_owned(),
            details: String::new(),
            answer: back(a.taj, "opened", Some(encounter.id())),
        })
    })
    .await
}

/// `POST /practice/patient/encounter/close`: submits the summary as the encounter's
/// document (a retry with the same form finds the first submission), then closes it.
pub(super) async fn close_encounter(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    act(&state, &p, request, &body, async |a: Action<'_>| {
        let (lang, taj, p) = (a.lang, a.taj, a.p);
        let encounter_id = a.form.text("encounter").to_owned();
        let summary = a.form.raw("summary").trim();
        if summary.is_empty() {
            return Err(invalid(W::SummaryRequired.text(lang).to_owned()));
        }
        let title = match a.form.text("title") {
            "" => W::DefaultDocumentTitle.text(lang),
            title => title,
        };
        let identifier = SubmissionId::parse(a.form.text("submission")).map_err(|e| invalid(e.to_string()))?;
        // The summary is dated by the day, not the second: the same form sent again (a
        // double click, a retry after a lost answer) makes the same bytes under the same
        // identifier, which the service takes as the same document, and then refuses to close
        // the encounter twice; a time to the second made it "another document" instead.
        let today = medgate_web::now().date();
        let document = pdf(&Summary {
            title,
            header: vec![
                format!("{}: {}", W::Taj.text(lang), taj),
                format!(
                    "{}: {} ({})",
                    W::Institution.text(lang),
                    p.connection.institution_name,
                    p.connection.institution
                ),
                format!(
                    "{}: {} ({})",
                    W::Practitioner.text(lang),
                    p.practitioner.name,
                    p.practitioner.stamp_number.as_str()
                ),
                format!("{}: {encounter_id}", W::Encounter.text(lang)),
                format!("{}: {today}", W::Date.text(lang)),
            ],
            text: summary,
        });
        let (client, session) = a.service().await?;
        let submission = DocumentSubmission {
            identifier,
            patient: taj.clone(),
            encounter: Some(encounter_id.clone()),
            content_type: "application/pdf".to_owned(),
            title: title.to_owned(),
            data: document,
        };
        let submitted = client.submit_document(&session, &submission).await?;
        client.close_encounter(&session, &encounter_id).await?;
        Ok(Done {
            action: "practice.encounter.close",
            target: encounter_id,
            details: format!("document {}", submitted.document.id()),
            answer: back(taj, "closed", None),
        })
    })
    .await
}

/// `POST /practice/patient/documents`: the patient's documents with the glass broken,
/// for the reason given (the service logs it and shows it to the patient).
pub(super) async fn break_glass(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let (form, taj) = action_form(&p, &request, &body)?;
        let reason = form.text("reason");
        if reason.is_empty() {
            let view = View {
                banner: message(MessageKind::Error, W::BreakGlassReasonRequired.text(request.lang)),
                status: Some(StatusCode::BAD_REQUEST),
                ..View::default()
            };
            return patient_page(&state, &p, &request, &taj, view).await;
        }
        let view = View {
            break_glass: Some(reason.to_owned()),
            ..View::default()
        };
        patient_page(&state, &p, &request, &taj, view).await
    }
    .await;
    respond(&PRACTICE, &request, outcome)
}

/// `POST /practice/patient/document`: the document's content, as a file.
pub(super) async fn open_document(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    act(&state, &p, request, &body, async |a: Action<'_>| {
        let id = a.form.text("id").to_owned();
        let reason = Some(a.form.text("reason")).filter(|r| !r.is_empty());
        let (client, session) = a.service().await?;
        let document = client.document(&session, &id, reason).await?;
        if document.json()["subject"]["reference"].as_str() != Some(&format!("Patient/{}", a.taj)) {
            return Err(invalid(W::NotThisPatient.text(a.lang).to_owned()));
        }
        let content = client.document_content(&session, &id, reason).await?;
        let extension = if content.content_type == "application/pdf" { "pdf" } else { "xml" };
        let file = format!("{}.{extension}", id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"));
        Ok(Done {
            action: "practice.document.open",
            details: reason.map(|r| format!("break-glass: {r}")).unwrap_or_default(),
            answer: download(&content.content_type, &file, Bytes::from(content.data)),
            target: id,
        })
    })
    .await
}

fn profile_kind(lang: Lang, text: &str) -> Result<ProfileKind, Failure> {
    PROFILE_KINDS
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| invalid(W::UnknownKind.text(lang).to_owned()))
}

/// `POST /practice/patient/profile`: adds a profile entry.
pub(super) async fn add_entry(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    act(&state, &p, request, &body, async |a: Action<'_>| {
        let kind = profile_kind(a.lang, a.form.text("kind"))?;
        let text = a.form.text("text");
        if text.is_empty() {
            return Err(invalid(W::EntryTextRequired.text(a.lang).to_owned()));
        }
        let mut resource = kind.entry(a.taj, text)?;
        resource["meta"] = serde_json::json!({
            "tag": [{ "system": INSTITUTION_TAG, "code": a.p.connection.institution.as_str() }]
        });
        let (client, session) = a.service().await?;
        let entry = client.create_profile_entry(&session, kind, &resource).await?;
        Ok(Done {
            action: "practice.profile.add",
            target: format!("{}/{}", entry.resource_type(), entry.id()),
            details: String::new(),
            answer: back(a.taj, "added", None),
        })
    })
    .await
}

/// `POST /practice/patient/profile/update`: a new version of an entry, over the version
/// the practitioner saw (a version written meanwhile is refused by the service).
pub(super) async fn update_entry(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    act(&state, &p, request, &body, async |a: Action<'_>| {
        let id = a.form.text("id");
        let kind = profile_kind(a.lang, a.form.text("kind"))?;
        let text = a.form.text("text");
        if text.is_empty() {
            return Err(invalid(W::EntryTextRequired.text(a.lang).to_owned()));
        }
        let version: u64 = a
            .form
            .text("version")
            .parse()
            .map_err(|_| invalid(W::UnknownKind.text(a.lang).to_owned()))?;
        let (client, session) = a.service().await?;
        let current = client.profile_entry(&session, kind, id).await?;
        let resource = kind.with_text(current.into_json(), text)?;
        let entry = client.update_profile_entry(&session, kind, id, &resource, version).await?;
        Ok(Done {
            action: "practice.profile.update",
            target: format!("{}/{}", entry.resource_type(), entry.id()),
            details: format!("version {}", entry.version().unwrap_or(0)),
            answer: back(a.taj, "updated", None),
        })
    })
    .await
}

/// `POST /practice/patient/profile/delete`: deletes an entry (only the institution that
/// created it may; the service refuses the others).
pub(super) async fn delete_entry(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    act(&state, &p, request, &body, async |a: Action<'_>| {
        let id = a.form.text("id");
        let kind = profile_kind(a.lang, a.form.text("kind"))?;
        let (client, session) = a.service().await?;
        client.delete_profile_entry(&session, kind, id).await?;
        Ok(Done {
            action: "practice.profile.delete",
            target: format!("{}/{id}", kind.as_str()),
            details: String::new(),
            answer: back(a.taj, "deleted", None),
        })
    })
    .await
}

/// `GET /practice/patient/profile/history?taj=…&kind=…&id=…`: every version of an entry.
pub(super) async fn history(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let lang = request.lang;
        let taj = match read_taj(lang, &request.query("taj").unwrap_or_default()) {
            Ok(taj) => taj,
            Err(text) => {
                let mut frame = p.frame(&request, W::FindPatientTitle.text(lang));
                frame.status = StatusCode::BAD_REQUEST;
                frame.body = search_form(&p, &request, "", Some(&text));
                return Ok(frame.into_response());
            }
        };
        let id = request.query("id").unwrap_or_default();
        let read = async {
            let kind = profile_kind(lang, &request.query("kind").unwrap_or_default())?;
            let client = service::client(&state, &p.connection).await?;
            let session = service::session(&p.desk, &p.connection);
            Ok::<_, Failure>((kind, client.profile_history(&session, kind, &id).await?))
        }
        .await;
        let (kind, versions) = match read {
            Ok(read) => read,
            Err(failure) => return refused_here(&state, &p, &request, &taj, None, failure).await,
        };
        p.audit(&state, &request, "practice.profile.history", &format!("{}/{id}", kind.as_str()), Some(taj.as_str()), String::new())
            .await?;
        let rows: String = versions
            .iter()
            .map(|v| {
                let text = if v.deleted {
                    W::DeletedVersion.text(lang).to_owned()
                } else {
                    v.resource.as_ref().and_then(|r| r.summary()).unwrap_or("—").to_owned()
                };
                format!(
                    "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                    v.version.map(|n| n.to_string()).unwrap_or_else(|| "—".to_owned()),
                    escape(&text),
                    escape(&minute(v.last_modified.as_deref().unwrap_or(""))),
                )
            })
            .collect();
        let mut frame = p.frame(&request, W::HistoryTitle.with(lang, "kind", kind_word(kind).text(lang)));
        frame.body = format!(
            "<table id=\"history\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>{rows}</tbody></table>\
             <p><a class=\"button\" href=\"{PAGE}?taj={taj}\">{}</a></p>",
            escape(W::Version.text(lang)),
            escape(W::EntryText.text(lang)),
            escape(W::Date.text(lang)),
            escape(W::BackToPatient.text(lang)),
        );
        Ok(frame.into_response())
    }
    .await;
    respond(&PRACTICE, &request, outcome)
}

