//! A patient at the practitioners' desk, found by TAJ (seed 9.a, 9.c–9.e): the encounter
//! (opened at the service; closed with the practitioner's summary, submitted first as the
//! encounter's clinical document, a PDF), the patient's documents across institutions (a
//! restriction shows a break-glass form asking the reason), the patient profile (list, add,
//! modify as a new version, delete own, history) and referrals (issue, find by id, use
//! once).
//!
//! Every call goes to the service with the practitioner's kept session; a session the
//! service ended sends the practitioner to sign in again, a service that is down or slow is
//! said on the page, and nothing is kept on the node but the audit entries (with the TAJ).
//! A document's submission carries an identifier chosen when the closing form was shown, so
//! sending the form again (after a timeout, or twice) never stores it twice.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_client::clinical::{
    ClinicalClient, DocumentSubmission, FhirResource, NewEncounter, NewReferral, ProfileKind, Session,
    SubmissionId,
};
use medgate_ids::{Taj, UnitId};
use medgate_web::desk::{respond, PageError, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{download, escape, message, redirect, Input, MessageKind};
use medgate_web::session;
use medgate_web::{csrf, AppState, Form, WebRequest};

use super::service::{self, Failure};
use super::summary::{pdf, Summary};
use super::words::W;
use super::{hungarian, Practitioner, PRACTICE};

mod actions;
mod referrals;

const PAGE: &str = "/practice/patient";
const REFERRALS: &str = "/practice/referrals";

/// The tag the desk puts on the profile entries it creates, naming the institution (the
/// service keeps the creator apart from the resource; this shows whose an entry is).
const INSTITUTION_TAG: &str = "https://medgate.invalid/fhir/sid/institution";

/// The institution that wrote `resource`, as far as the resource says.
fn institution_of(resource: &FhirResource) -> Option<&str> {
    resource.institution().or_else(|| {
        resource.json()["meta"]["tag"]
            .as_array()?
            .iter()
            .find(|tag| tag["system"] == INSTITUTION_TAG)?["code"]
            .as_str()
    })
}

/// An instant of the service (`2026-12-03T21:46:12.9Z`) to the minute, as people read it.
fn minute(text: &str) -> String {
    match text.get(..16) {
        Some(head) if text.as_bytes().get(10) == Some(&b'T') => format!("{} UTC", head.replace('T', " ")),
        _ => text.to_owned(),
    }
}

/// The profile kinds the desk writes with a text (a DeviceUseStatement needs its device).
const PROFILE_KINDS: [ProfileKind; 5] = [
    ProfileKind::AllergyIntolerance,
    ProfileKind::Condition,
    ProfileKind::MedicationStatement,
    ProfileKind::Device,
    ProfileKind::CarePlan,
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(page))
        .route("/practice/patient/encounter", post(actions::open_encounter))
        .route("/practice/patient/encounter/close", post(actions::close_encounter))
        .route("/practice/patient/documents", post(actions::break_glass))
        .route("/practice/patient/document", post(actions::open_document))
        .route("/practice/patient/profile", post(actions::add_entry))
        .route("/practice/patient/profile/update", post(actions::update_entry))
        .route("/practice/patient/profile/delete", post(actions::delete_entry))
        .route("/practice/patient/profile/history", get(actions::history))
        .route("/practice/patient/referral", post(referrals::issue_referral))
        .route(REFERRALS, get(referrals::find_referral))
        .route("/practice/referrals/use", post(referrals::use_referral))
}

fn kind_word(kind: ProfileKind) -> W {
    match kind {
        ProfileKind::AllergyIntolerance => W::KindAllergy,
        ProfileKind::Condition => W::KindCondition,
        ProfileKind::MedicationStatement => W::KindMedication,
        ProfileKind::Device => W::KindDevice,
        ProfileKind::DeviceUseStatement => W::KindDeviceUse,
        ProfileKind::CarePlan => W::KindCarePlan,
    }
}

/// The TAJ as typed (spaces and dashes allowed), or the sentence saying what is wrong.
fn read_taj(lang: Lang, typed: &str) -> Result<Taj, String> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if digits.is_empty() {
        return Err(W::Required.text(lang).to_owned());
    }
    Taj::parse(&digits).map_err(|e| W::TajInvalid.with(lang, "reason", &e.to_string()))
}

/// The answer to a failed call: back to sign-in when the service session ended (the desk's
/// session ended with it), else `show` with the service's sentence.
async fn failed(
    state: &AppState,
    request: &WebRequest,
    failure: Failure,
    show: impl AsyncFnOnce(StatusCode, String) -> PageResult,
) -> PageResult {
    match failure {
        Failure::SessionEnded => {
            let clear = session::end(state, &request.headers).await?;
            Ok(redirect("/practice?notice=expired", &[clear]))
        }
        Failure::Service { status, text } => {
            show(status, W::ServiceSaid.with(request.lang, "reason", &text)).await
        }
        Failure::Ours(error) => Err(error.into()),
    }
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

fn section(id: &str, title: &str, body: &str) -> String {
    format!(
        "<section class=\"card wide\" id=\"{id}\" aria-labelledby=\"{id}-title\"><h2 id=\"{id}-title\">{}</h2>{body}</section>",
        escape(title)
    )
}

fn search_form(p: &Practitioner, request: &WebRequest, typed: &str, error: Option<&str>) -> String {
    let lang = request.lang;
    let _ = p;
    format!(
        "<form method=\"get\" action=\"{PAGE}\" id=\"patient-search\" class=\"inline\">{field}\
         <button class=\"primary\" type=\"submit\">{find}</button></form>",
        field = Input {
            hint: Some(W::TajHint.text(lang)),
            error,
            required: true,
            extra: "inputmode=\"numeric\" maxlength=\"11\" autocomplete=\"off\"",
            ..Input::text("taj", W::Taj.text(lang), typed)
        }
        .html(),
        find = escape(W::FindPatient.text(lang)),
    )
}

/// What the patient page shows besides the service's data.
#[derive(Default)]
struct View {
    /// A message at the top (trusted HTML).
    banner: String,
    /// The open encounter's id, when one was opened from this page.
    encounter: Option<String>,
    /// The reason of a break-glass, to read restricted documents.
    break_glass: Option<String>,
    status: Option<StatusCode>,
}

fn done_banner(lang: Lang, done: Option<&str>) -> String {
    let word = match done {
        Some("opened") => W::DoneOpened,
        Some("closed") => W::DoneClosed,
        Some("added") => W::DoneAdded,
        Some("updated") => W::DoneUpdated,
        Some("deleted") => W::DoneDeleted,
        Some("issued") => W::DoneIssued,
        Some("used") => W::DoneUsed,
        _ => return String::new(),
    };
    medgate_web::desk::notice("ok", word.text(lang))
}

/// `GET /practice/patient[?taj=…]`.
async fn page(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let lang = request.lang;
        let Some(typed) = request.query("taj") else {
            let mut frame = p.frame(&request, W::FindPatientTitle.text(lang));
            frame.body = format!(
                "<p class=\"muted\">{}</p>{}",
                escape(W::FindPatientIntro.text(lang)),
                search_form(&p, &request, "", None)
            );
            return Ok(frame.into_response());
        };
        let taj = match read_taj(lang, &typed) {
            Ok(taj) => taj,
            Err(error) => {
                let mut frame = p.frame(&request, W::FindPatientTitle.text(lang));
                frame.status = StatusCode::BAD_REQUEST;
                frame.body = search_form(&p, &request, &typed, Some(&error));
                return Ok(frame.into_response());
            }
        };
        let view = View {
            banner: done_banner(lang, request.query("done").as_deref()),
            encounter: request.query("encounter"),
            ..View::default()
        };
        patient_page(&state, &p, &request, &taj, view).await
    }
    .await;
    respond(&PRACTICE, &request, outcome)
}

fn document_row(lang: Lang, p: &Practitioner, taj: &Taj, document: &FhirResource, reason: Option<&str>) -> String {
    let json = document.json();
    let attachment = &json["content"][0]["attachment"];
    let title = attachment["title"]
        .as_str()
        .or(document.summary())
        .unwrap_or("—");
    let content_type = attachment["contentType"].as_str().unwrap_or("");
    let when = json["date"]
        .as_str()
        .or(document.last_updated())
        .unwrap_or("");
    let institution = institution_of(document).unwrap_or("—");
    let open = format!(
        "<form method=\"post\" action=\"/practice/patient/document\" class=\"inline\">{csrf}{taj}{id}{reason}\
         <button class=\"secondary\" type=\"submit\">{label}</button></form>",
        csrf = csrf::hidden_field(&p.session.csrf_secret),
        taj = hidden("taj", taj.as_str()),
        id = hidden("id", document.id()),
        reason = reason.map(|r| hidden("reason", r)).unwrap_or_default(),
        label = escape(W::Open.text(lang)),
    );
    format!(
        "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{open}</td></tr>",
        escape(title),
        escape(&minute(when)),
        escape(institution),
        escape(content_type),
    )
}

fn profile_rows(lang: Lang, p: &Practitioner, taj: &Taj, kind: ProfileKind, entries: &[FhirResource]) -> String {
    let ours = p.connection.institution.as_str();
    entries
        .iter()
        .map(|entry| {
            let text = entry.summary().unwrap_or("—");
            let version = entry.version().unwrap_or(1);
            let institution = institution_of(entry).unwrap_or("—");
            let csrf = csrf::hidden_field(&p.session.csrf_secret);
            let keys = format!(
                "{}{}{}",
                hidden("taj", taj.as_str()),
                hidden("kind", kind.as_str()),
                hidden("id", entry.id())
            );
            let field_id = format!("text-{}", entry.id());
            let update = format!(
                "<form method=\"post\" action=\"/practice/patient/profile/update\" class=\"inline\">{csrf}{keys}{version}\
                 <label class=\"sr-only\" for=\"{field_id}\">{label}</label>\
                 <input type=\"text\" id=\"{field_id}\" name=\"text\" value=\"{value}\" maxlength=\"500\" required>\
                 <button class=\"secondary\" type=\"submit\">{modify}</button></form>",
                version = hidden("version", &version.to_string()),
                label = escape(W::EntryText.text(lang)),
                value = escape(text),
                modify = escape(W::Modify.text(lang)),
            );
            // Shown unless the entry names another institution (the service decides).
            let delete = if institution == ours || institution == "—" {
                format!(
                    "<form method=\"post\" action=\"/practice/patient/profile/delete\" class=\"inline\">{csrf}{keys}\
                     <button class=\"danger\" type=\"submit\">{}</button></form>",
                    escape(W::Delete.text(lang))
                )
            } else {
                String::new()
            };
            let history = format!(
                "<a href=\"/practice/patient/profile/history?taj={}&amp;kind={}&amp;id={}\">{}</a>",
                escape(taj.as_str()),
                kind.as_str(),
                escape(&urlencoding::encode(entry.id())),
                escape(W::History.text(lang))
            );
            format!(
                "<tr><td>{kind}</td><td>{text}</td><td class=\"mono\">{version}</td><td class=\"mono\">{institution}</td>\
                 <td>{update} {delete} {history}</td></tr>",
                kind = escape(kind_word(kind).text(lang)),
                text = escape(text),
                institution = escape(institution),
            )
        })
        .collect()
}

fn referral_row(lang: Lang, p: &Practitioner, referral: &FhirResource, back_taj: Option<&Taj>) -> String {
    let status = referral
        .referral_status()
        .or(referral.status())
        .unwrap_or("—");
    let institution = referral.institution().unwrap_or("—");
    let usable = matches!(referral.referral_status(), Some("issued"))
        && institution != p.connection.institution.as_str();
    let action = if usable {
        format!(
            "<form method=\"post\" action=\"/practice/referrals/use\" class=\"inline\">{csrf}{id}{taj}\
             <button class=\"primary\" type=\"submit\">{label}</button></form>",
            csrf = csrf::hidden_field(&p.session.csrf_secret),
            id = hidden("id", referral.id()),
            taj = back_taj.map(|t| hidden("taj", t.as_str())).unwrap_or_default(),
            label = escape(W::UseReferral.text(lang)),
        )
    } else {
        String::new()
    };
    let patient = referral.json()["subject"]["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix("Patient/"))
        .unwrap_or("—");
    format!(
        "<tr><td class=\"mono\">{id}</td><td class=\"mono\">{patient}</td><td>{specialty}</td><td>{status}</td><td class=\"mono\">{institution}</td><td>{action}</td></tr>",
        id = escape(referral.id()),
        patient = escape(patient),
        specialty = escape(referral.summary().unwrap_or("—")),
        status = escape(status),
        institution = escape(institution),
    )
}

fn referral_table(lang: Lang, rows: String) -> String {
    format!(
        "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\"></th></tr></thead><tbody>{rows}</tbody></table>",
        escape(W::ReferralId.text(lang)),
        escape(W::Taj.text(lang)),
        escape(W::Specialty.text(lang)),
        escape(W::Status.text(lang)),
        escape(W::Institution.text(lang)),
    )
}

/// The encounter section: the form opening one, or the open one with the closing form.
async fn encounter_section(
    lang: Lang,
    p: &Practitioner,
    taj: &Taj,
    encounter: Option<&FhirResource>,
) -> Result<String, ApiError> {
    let csrf = csrf::hidden_field(&p.session.csrf_secret);
    let body = match encounter {
        Some(open) if open.status() == Some("in-progress") => {
            let submission = SubmissionId::generate()
                .map_err(|e| ApiError::internal("a submission identifier", &e))?;
            format!(
                "<p id=\"encounter-open\">{open_text}</p>\
                 <form method=\"post\" action=\"/practice/patient/encounter/close\" id=\"close-form\">{csrf}{taj}{id}{submission}\
                 {title}<div class=\"field\"><label for=\"f-summary\">{summary_label}</label>\
                 <textarea id=\"f-summary\" name=\"summary\" rows=\"6\" required maxlength=\"20000\" aria-describedby=\"f-summary-hint\"></textarea>\
                 <span class=\"hint\" id=\"f-summary-hint\">{summary_hint}</span></div>\
                 <button class=\"primary\" type=\"submit\">{close}</button></form>",
                open_text = escape(&W::EncounterOpen.with(lang, "id", open.id())),
                taj = hidden("taj", taj.as_str()),
                id = hidden("encounter", open.id()),
                submission = hidden("submission", submission.as_str()),
                title = Input {
                    required: true,
                    extra: "maxlength=\"200\"",
                    ..Input::text("title", W::DocumentTitle.text(lang), W::DefaultDocumentTitle.text(lang))
                }
                .html(),
                summary_label = escape(W::Summary.text(lang)),
                summary_hint = escape(W::SummaryHint.text(lang)),
                close = escape(W::CloseEncounter.text(lang)),
            )
        }
        _ => {
            let units: String = p
                .connection
                .units
                .iter()
                .map(|u| format!("<option value=\"{0}\">{0}</option>", escape(u.as_str())))
                .collect();
            format!(
                "<form method=\"post\" action=\"/practice/patient/encounter\" id=\"open-form\">{csrf}{taj}\
                 <div class=\"field\"><label for=\"f-unit\">{unit_label}</label><select id=\"f-unit\" name=\"unit\">{units}</select></div>\
                 {care}<button class=\"primary\" type=\"submit\">{open}</button></form>",
                taj = hidden("taj", taj.as_str()),
                unit_label = escape(W::Unit.text(lang)),
                care = Input {
                    required: true,
                    extra: "maxlength=\"100\"",
                    ..Input::text("care_type", W::CareType.text(lang), W::DefaultCareType.text(lang))
                }
                .html(),
                open = escape(W::OpenEncounter.text(lang)),
            )
        }
    };
    Ok(section("encounter", W::Encounter.text(lang), &body))
}

/// The patient page: every section read from the service now.
async fn patient_page(
    state: &AppState,
    p: &Practitioner,
    request: &WebRequest,
    taj: &Taj,
    view: View,
) -> PageResult {
    let lang = request.lang;
    let read = async {
        let client = service::client(state, &p.connection).await?;
        let session = service::session(&p.desk, &p.connection);
        let encounter = match &view.encounter {
            Some(id) => Some(client.encounter(&session, id).await?),
            None => None,
        };
        let documents = client
            .patient_documents(&session, taj, view.break_glass.as_deref())
            .await?;
        let mut profile = Vec::new();
        for kind in PROFILE_KINDS {
            profile.push((kind, client.profile_entries(&session, kind, taj).await?));
        }
        let referrals = client.patient_referrals(&session, taj).await?;
        Ok::<_, Failure>((encounter, documents, profile, referrals))
    }
    .await;
    let (encounter, documents, profile, referrals) = match read {
        Ok(read) => read,
        Err(failure) => {
            return failed(state, request, failure, async |status, text| {
                let mut frame = p.frame(request, W::PatientTitle.with(lang, "taj", taj.as_str()));
                frame.status = status;
                frame.body = format!(
                    "{}{}",
                    message(MessageKind::Error, &text),
                    search_form(p, request, taj.as_str(), None)
                );
                Ok(frame.into_response())
            })
            .await
        }
    };
    p.audit(
        state,
        request,
        if view.break_glass.is_some() { "practice.patient.break-glass" } else { "practice.patient.view" },
        taj.as_str(),
        Some(taj.as_str()),
        view.break_glass.as_deref().map(|r| format!("reason: {r}")).unwrap_or_default(),
    )
    .await?;

    let csrf_field = csrf::hidden_field(&p.session.csrf_secret);
    let reason = view.break_glass.as_deref();
    let document_rows: String = documents
        .documents
        .iter()
        .map(|d| document_row(lang, p, taj, d, reason))
        .collect();
    let withheld = match (&documents.withheld, reason) {
        (Some(_), None) => format!(
            "{}<form method=\"post\" action=\"/practice/patient/documents\" id=\"break-glass-form\">{csrf_field}{taj}\
             <div class=\"field\"><label for=\"f-reason\">{reason_label}</label>\
             <input type=\"text\" id=\"f-reason\" name=\"reason\" required maxlength=\"500\" aria-describedby=\"f-reason-hint\">\
             <span class=\"hint\" id=\"f-reason-hint\">{reason_hint}</span></div>\
             <button class=\"danger\" type=\"submit\">{break_glass}</button></form>",
            medgate_web::desk::notice("warning", W::Restricted.text(lang)),
            taj = hidden("taj", taj.as_str()),
            reason_label = escape(W::BreakGlassReason.text(lang)),
            reason_hint = escape(W::BreakGlassHint.text(lang)),
            break_glass = escape(W::BreakGlass.text(lang)),
        ),
        (_, Some(reason)) => medgate_web::desk::notice(
            "warning",
            &W::BrokenGlass.with(lang, "reason", reason),
        ),
        (None, None) => String::new(),
    };
    let documents_html = format!(
        "{withheld}{table}",
        table = if document_rows.is_empty() {
            format!("<p class=\"muted\" id=\"no-documents\">{}</p>", escape(W::NoDocuments.text(lang)))
        } else {
            format!(
                "<table id=\"documents\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\"></th></tr></thead><tbody>{document_rows}</tbody></table>",
                escape(W::DocumentTitle.text(lang)),
                escape(W::Date.text(lang)),
                escape(W::Institution.text(lang)),
                escape(W::Format.text(lang)),
            )
        }
    );

    let profile_body: String = profile
        .iter()
        .map(|(kind, entries)| profile_rows(lang, p, taj, *kind, entries))
        .collect();
    let kinds: String = PROFILE_KINDS
        .iter()
        .map(|k| format!("<option value=\"{}\">{}</option>", k.as_str(), escape(kind_word(*k).text(lang))))
        .collect();
    let profile_html = format!(
        "{table}<form method=\"post\" action=\"/practice/patient/profile\" id=\"profile-form\">{csrf_field}{taj}\
         <div class=\"field\"><label for=\"f-kind\">{kind_label}</label><select id=\"f-kind\" name=\"kind\">{kinds}</select></div>\
         {text}<button class=\"primary\" type=\"submit\">{add}</button></form>",
        table = if profile_body.is_empty() {
            format!("<p class=\"muted\" id=\"no-profile\">{}</p>", escape(W::NoProfile.text(lang)))
        } else {
            format!(
                "<table id=\"profile\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\"></th></tr></thead><tbody>{profile_body}</tbody></table>",
                escape(W::Kind.text(lang)),
                escape(W::EntryText.text(lang)),
                escape(W::Version.text(lang)),
                escape(W::Institution.text(lang)),
            )
        },
        taj = hidden("taj", taj.as_str()),
        kind_label = escape(W::Kind.text(lang)),
        text = Input {
            required: true,
            extra: "maxlength=\"500\"",
            ..Input::text("text", W::EntryText.text(lang), "")
        }
        .html(),
        add = escape(W::AddEntry.text(lang)),
    );

    let referral_rows: String = referrals.iter().map(|r| referral_row(lang, p, r, Some(taj))).collect();
    let referrals_html = format!(
        "{table}<form method=\"post\" action=\"/practice/patient/referral\" id=\"referral-form\">{csrf_field}{taj}{specialty}{note}\
         <button class=\"primary\" type=\"submit\">{issue}</button></form>",
        table = if referral_rows.is_empty() {
            format!("<p class=\"muted\" id=\"no-referrals\">{}</p>", escape(W::NoReferrals.text(lang)))
        } else {
            referral_table(lang, referral_rows)
        },
        taj = hidden("taj", taj.as_str()),
        specialty = Input {
            required: true,
            extra: "maxlength=\"200\"",
            ..Input::text("specialty", W::Specialty.text(lang), "")
        }
        .html(),
        note = Input {
            extra: "maxlength=\"1000\"",
            ..Input::text("note", W::Note.text(lang), "")
        }
        .html(),
        issue = escape(W::IssueReferral.text(lang)),
    );

    let mut frame = p.frame(request, W::PatientTitle.with(lang, "taj", taj.as_str()));
    if let Some(status) = view.status {
        frame.status = status;
    }
    frame.body = format!(
        "{banner}{search}{encounter}{documents}{profile}{referrals}",
        banner = view.banner,
        search = search_form(p, request, taj.as_str(), None),
        encounter = encounter_section(lang, p, taj, encounter.as_ref()).await?,
        documents = section("documents-section", W::Documents.text(lang), &documents_html),
        profile = section("profile-section", W::Profile.text(lang), &profile_html),
        referrals = section("referrals-section", W::Referrals.text(lang), &referrals_html),
    );
    Ok(frame.into_response())
}

/// The genuine form of a patient action and its TAJ; a wrong TAJ is a 400 page.
fn action_form(p: &Practitioner, request: &WebRequest, body: &[u8]) -> PageResult<(Form, Taj)> {
    let form = p.genuine_form(request, body)?;
    let taj = read_taj(request.lang, form.text("taj")).map_err(|text| {
        let mut frame = p.frame(request, W::FindPatientTitle.text(request.lang));
        frame.status = StatusCode::BAD_REQUEST;
        frame.body = search_form(p, request, form.text("taj"), Some(&text));
        PageError::answer(frame.into_response())
    })?;
    Ok((form, taj))
}

/// What an action on the patient page did: its audit entry, and the answer (back to the
/// patient page, or a file).
struct Done {
    action: &'static str,
    target: String,
    details: String,
    answer: Response,
}

/// An action's genuine form, its patient and the way to the service.
struct Action<'a> {
    form: &'a Form,
    taj: &'a Taj,
    lang: Lang,
    state: &'a AppState,
    p: &'a Practitioner,
}

impl Action<'_> {
    /// The institution's client and the practitioner's session, made only when the action
    /// gets that far: a value typed wrong is refused without contacting the service.
    async fn service(&self) -> Result<(ClinicalClient, Session), Failure> {
        let client = service::client(self.state, &self.p.connection).await?;
        Ok((client, service::session(&self.p.desk, &self.p.connection)))
    }
}

/// Every action on the patient page: the genuine form and its TAJ read, `call` made, its
/// audit entry written and its answer given; a refusal or a failed call is shown on the
/// patient page (with the encounter the form names still open), an ended service session
/// signs the practitioner out.
async fn act(
    state: &AppState,
    p: &Practitioner,
    request: WebRequest,
    body: &[u8],
    call: impl AsyncFnOnce(Action<'_>) -> Result<Done, Failure>,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let (form, taj) = action_form(p, &request, body)?;
        let action = Action {
            form: &form,
            taj: &taj,
            lang: request.lang,
            state,
            p,
        };
        match call(action).await {
            Ok(done) => {
                p.audit(state, &request, done.action, &done.target, Some(taj.as_str()), done.details)
                    .await?;
                Ok(done.answer)
            }
            Err(failure) => {
                let encounter = Some(form.text("encounter")).filter(|e| !e.is_empty()).map(str::to_owned);
                refused_here(state, p, &request, &taj, encounter, failure).await
            }
        }
    }
    .await;
    respond(&PRACTICE, &request, outcome)
}

/// The patient page again with an error at the top (a refused or failed action).
async fn refused_here(
    state: &AppState,
    p: &Practitioner,
    request: &WebRequest,
    taj: &Taj,
    encounter: Option<String>,
    failure: Failure,
) -> PageResult {
    failed(state, request, failure, async |status, text| {
        let view = View {
            banner: message(MessageKind::Error, &text),
            encounter,
            status: Some(status),
            ..View::default()
        };
        patient_page(state, p, request, taj, view).await
    })
    .await
}

fn back(taj: &Taj, done: &str, encounter: Option<&str>) -> Response {
    let encounter = encounter
        .map(|id| format!("&encounter={}", urlencoding::encode(id)))
        .unwrap_or_default();
    redirect(&format!("{PAGE}?taj={taj}&done={done}{encounter}"), &[])
}

/// A sentence for a value the practitioner left out or wrote wrong.
fn invalid(text: String) -> Failure {
    Failure::Service {
        status: StatusCode::BAD_REQUEST,
        text,
    }
}
