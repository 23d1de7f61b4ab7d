//! A new consent: the form (patient, recipient, purpose, dates, documents) and its checks.

use super::*;

// A new consent
// ---------------------------------------------------------------------------------------

/// The new-consent form as typed, with each field's error.
#[derive(Default)]
pub(super) struct Draft {
    patient: String,
    recipient: String,
    purpose: String,
    from: String,
    to: String,
    chosen: Vec<String>,
    errors: HashMap<&'static str, String>,
}

pub(super) async fn patient_documents(
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

pub(super) fn form_page(
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
                        date = escape(&medgate_repository::dates::DocumentTime::of(metadata).display()),
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
pub(super) async fn new_form(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        admin.require_usable(&request)?;
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
            let caller = admin.caller(&request);
            let document = match DocumentId::parse(&text) {
                Ok(id) => match documents::find(&domain(&state), &caller.actor(), &id).await {
                    Ok(document) => Some(document),
                    Err(RepositoryError::NotFound { .. }) => None,
                    Err(other) => return Err(refused(other).into()),
                },
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
pub(super) fn checked_text(lang: Lang, text: &str) -> Result<String, String> {
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

pub(super) fn parse_day(text: &str) -> Option<Date> {
    Date::parse(
        text.trim(),
        &time::format_description::well_known::Iso8601::DATE,
    )
    .ok()
    .filter(|_| text.trim().len() == 10)
}

/// The form shown again with its field errors and the patient's documents to choose from.
async fn refused_draft(
    state: &AppState,
    admin: &Admin,
    request: &WebRequest,
    draft: &Draft,
    patient: &PatientIdentifier,
) -> PageResult {
    let offered = patient_documents(state, admin, patient).await?;
    let banner = message(MessageKind::Error, T::FixErrors.text(request.lang));
    Ok(form_page(
        admin,
        request,
        draft,
        Some(patient),
        &offered,
        banner,
        StatusCode::BAD_REQUEST,
    ))
}

/// `POST /admin/consents/new`: creates the draft.
pub(super) async fn create(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let outcome = async {
        admin.require_usable(&request)?;
        let lang = request.lang;
        let form = admin.genuine_form(&request, &body)?;
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
            return refused_draft(&state, &admin, &request, &draft, &patient).await;
        };
        let caller = admin.caller(&request);
        let created = match consents::create(&domain(&state), &caller.actor(), &new).await {
            Ok(created) => created,
            Err(RepositoryError::Invalid { reason, field, .. })
                if matches!(
                    reason,
                    Reason::UnknownDocument | Reason::DocumentOfAnotherPatient
                ) =>
            {
                // `documents[i]`: the refused one of the chosen documents.
                let refused = field
                    .strip_prefix("documents[")
                    .and_then(|rest| rest.strip_suffix(']'))
                    .and_then(|index| index.parse::<usize>().ok())
                    .and_then(|index| new.documents.get(index))
                    .map(|id| id.as_str().to_owned())
                    .unwrap_or_default();
                let text = match reason {
                    Reason::UnknownDocument => T::ConsentDocumentNotFound,
                    _ => T::ConsentDocumentOfAnother,
                };
                draft
                    .errors
                    .insert("documents", text.with(lang, "id", &refused));
                return refused_draft(&state, &admin, &request, &draft, &patient).await;
            }
            Err(other) => return Err(refused(other).into()),
        };
        Ok(redirect(
            &format!("{}?done=created", consent_href(&created.id, "")),
            &[],
        ))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

// ---------------------------------------------------------------------------------------
