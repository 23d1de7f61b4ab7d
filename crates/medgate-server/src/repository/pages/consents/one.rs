//! One consent: its page, sending it (the patient's activation code shown once) and
//! revoking it.

use super::*;

// One consent
// ---------------------------------------------------------------------------------------

/// The administrator and the account's consent named in the address, or the response to
/// send instead.
pub(super) async fn the_consent(
    state: &AppState,
    request: &WebRequest,
    admin: &Admin,
    id: Result<Path<String>, PathRejection>,
) -> PageResult<Consent> {
    admin.require_usable(request)?;
    let Some(id) = id.ok().and_then(|Path(text)| ConsentId::parse(&text).ok()) else {
        return Err(PageError::answer(not_found(
            admin,
            request,
            T::ConsentNotFound,
        )));
    };
    let caller = admin.caller(request);
    match consents::show(&domain(state), &caller.actor(), &id).await {
        Ok(consent) => Ok(consent),
        Err(RepositoryError::NotFound { .. }) => Err(PageError::answer(not_found(
            admin,
            request,
            T::ConsentNotFound,
        ))),
        Err(other) => Err(refused(other).into()),
    }
}

/// The consent's page; `extra` (trusted HTML) goes above it (the activation code).
pub(super) async fn consent_page(
    state: &AppState,
    admin: &Admin,
    request: &WebRequest,
    consent: &Consent,
    extra: String,
) -> PageResult {
    let lang = request.lang;
    let csrf = &admin.staff.session.csrf_secret;
    let mut rows = String::new();
    let caller = admin.caller(request);
    for document in &consent.documents {
        let stored = if document.available {
            match documents::find(&domain(state), &caller.actor(), &document.document_id).await {
                Ok(stored) => Some(stored),
                Err(RepositoryError::NotFound { .. }) => None,
                Err(other) => return Err(refused(other).into()),
            }
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
                medgate_repository::dates::DocumentTime::of(&stored.metadata).display(),
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
        // Revoking is asked once more on a page of its own, as deleting a document is.
        actions.push(format!(
            "<a class=\"button\" href=\"{}\">{}</a>",
            escape(&consent_href(&consent.id, "/revoke")),
            escape(T::RevokeConsent.text(lang)),
        ));
    }
    let banner = match request.query("done").as_deref() {
        Some("created") => notice("ok", T::ConsentCreated.text(lang)),
        Some("revoked") => notice("ok", T::ConsentRevokedNotice.text(lang)),
        _ => String::new(),
    };
    let facts = consent_facts(lang, consent);
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

/// What a consent says: status, patient, recipient, purpose, dates.
fn consent_facts(lang: Lang, consent: &Consent) -> String {
    format!(
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
    )
}

/// `GET /admin/consents/{id}/revoke`: what revoking does, and the button that does it.
pub(super) async fn confirm_revoke(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let outcome = async {
        let consent = the_consent(&state, &request, &admin, id).await?;
        let lang = request.lang;
        if consent.status == ConsentStatus::Revoked {
            return Ok(redirect(&consent_href(&consent.id, ""), &[]));
        }
        let mut frame = admin.frame(&request, T::RevokeConsentTitle.text(lang));
        frame.body = format!(
            "{warning}<section class=\"card wide\">{facts}</section>\
             <div class=\"actions\" id=\"actions\">{button}<a class=\"button\" href=\"{back}\">{cancel}</a></div>",
            warning = message(MessageKind::Error, T::RevokeConsentWarning.text(lang)),
            facts = consent_facts(lang, &consent),
            button = button_form(
                &consent_href(&consent.id, "/revoke"),
                &admin.staff.session.csrf_secret,
                "danger",
                T::RevokeConsent.text(lang),
            ),
            back = escape(&consent_href(&consent.id, "")),
            cancel = escape(T::Cancel.text(lang)),
        );
        Ok(frame.into_response())
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// `GET /admin/consents/{id}`.
pub(super) async fn show(
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
pub(super) fn wrong_status(lang: Lang, status: ConsentStatus) -> String {
    match status {
        ConsentStatus::Revoked => T::ConsentAlreadyRevoked.text(lang).to_owned(),
        _ => T::ConsentAlreadySent.text(lang).to_owned(),
    }
}

/// `POST /admin/consents/{id}/send`: "Wyślij". Answers the page itself (not a redirect), so
/// the activation code is shown once and never stored in a browser's history.
pub(super) async fn send(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = async {
        let consent = the_consent(&state, &request, &admin, id).await?;
        let lang = request.lang;
        admin.genuine_form(&request, &body)?;
        let code = password::activation_code()?;
        let code_hash = password::hash_async(password::normalize_code(&code)).await?;
        let caller = admin.caller(&request);
        let sent =
            match consents::send(&domain(&state), &caller.actor(), &consent.id, code_hash).await {
                Ok(sent) => sent,
                Err(RepositoryError::ConsentStatus { status, .. }) => {
                    let refusal = message(MessageKind::Error, &wrong_status(lang, status));
                    let mut response =
                        consent_page(&state, &admin, &request, &consent, refusal).await?;
                    *response.status_mut() = StatusCode::CONFLICT;
                    return Ok(response);
                }
                Err(RepositoryError::NotFound { .. }) => {
                    return Ok(not_found(&admin, &request, T::ConsentNotFound))
                }
                Err(other) => return Err(refused(other).into()),
            };
        let handover = if sent.account.code_issued() {
            format!(
                "<section class=\"card wide\" aria-labelledby=\"handover-title\" id=\"handover\"><h2 id=\"handover-title\">{title}</h2>\
                 <p>{intro}</p><dl class=\"facts\"><dt>{at}</dt><dd class=\"mono\">{public_url}/portal/activate</dd>\
                 <dt>{clinic}</dt><dd class=\"mono\">{tenant}</dd><dt>{patient_label}</dt><dd class=\"mono\">{patient}</dd>\
                 <dt>{code_label}</dt><dd><span class=\"code\" id=\"activation-code\">{code}</span></dd>\
                 <dt>{valid}</dt><dd>{until} UTC</dd></dl><p class=\"muted\">{once}</p></section>",
                public_url = escape(state.node.public_url.trim_end_matches('/')),
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
                until = escape(&minute(sent.activation_expires_at)),
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
pub(super) async fn revoke(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = async {
        let consent = the_consent(&state, &request, &admin, id).await?;
        let lang = request.lang;
        admin.genuine_form(&request, &body)?;
        let caller = admin.caller(&request);
        let revoked = match consents::revoke(&domain(&state), &caller.actor(), &consent.id).await
        {
            Ok(revoked) => revoked,
            Err(RepositoryError::ConsentStatus { status, .. }) => {
                let refusal = message(MessageKind::Error, &wrong_status(lang, status));
                let mut response = consent_page(&state, &admin, &request, &consent, refusal).await?;
                *response.status_mut() = StatusCode::CONFLICT;
                return Ok(response);
            }
            Err(RepositoryError::NotFound { .. }) => {
                return Ok(not_found(&admin, &request, T::ConsentNotFound))
            }
            Err(other) => return Err(refused(other).into()),
        };
        Ok(redirect(
            &format!("{}?done=revoked", consent_href(&revoked.id, "")),
            &[],
        ))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}
