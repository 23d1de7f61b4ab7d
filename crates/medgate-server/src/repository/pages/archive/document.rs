//! One document of the archive: its details and actions (view, export, download, delete,
//! index in the national registry).

use super::*;

// One document
// ---------------------------------------------------------------------------------------

/// The 404 page of a document this account does not have (whoever else might).
pub(super) fn not_found(admin: &Admin, request: &WebRequest) -> Response {
    let lang = request.lang;
    let mut frame = admin.frame(request, T::NotFoundTitle.text(lang));
    frame.status = StatusCode::NOT_FOUND;
    frame.body = format!(
        "{}<p><a href=\"/admin/documents\">{}</a></p>",
        message(MessageKind::Error, T::DocumentNotFound.text(lang)),
        escape(T::BackToArchive.text(lang))
    );
    frame.into_response()
}

/// The signed-in administrator and the account's document named in the address, or the
/// response to send instead (sign-in, or the 404 page for an unknown or foreign id).
pub(super) async fn the_document(
    state: &AppState,
    request: &WebRequest,
    admin: &Admin,
    id: Result<Path<String>, PathRejection>,
) -> PageResult<StoredDocument> {
    admin.require_usable(request)?;
    let Some(document_id) = id.ok().and_then(|Path(text)| DocumentId::parse(&text).ok()) else {
        return Err(PageError::answer(not_found(admin, request)));
    };
    let caller = admin.caller(request);
    match documents::find(&domain(state), &caller.actor(), &document_id).await {
        Ok(document) => Ok(document),
        Err(RepositoryError::NotFound { .. }) => Err(PageError::answer(not_found(admin, request))),
        Err(other) => Err(refused(other).into()),
    }
}

pub(super) fn fact(label: T, lang: Lang, value: &str) -> String {
    format!(
        "<dt>{}</dt><dd>{}</dd>",
        escape(label.text(lang)),
        escape(value)
    )
}

/// `GET /admin/documents/{id}`: the details and the actions.
pub(super) async fn details(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let outcome = async {
        let document = the_document(&state, &request, &admin, id).await?;
        let lang = request.lang;
        let metadata = &document.metadata;
        let shared = medgate_repository::consents::shared_now(
            &domain(&state),
            admin.tenant_id(),
            &[&document],
        )
        .await
        .map_err(refused)?
        .contains(&metadata.document_id);
        admin
            .audit(
                &state,
                &request,
                "document.metadata",
                metadata.document_id.as_str(),
                Some(&metadata.patient.extension),
                "web".to_owned(),
            )
            .await?;
        let id = &metadata.document_id;
        let csrf = &admin.staff.session.csrf_secret;
        let link = |href: String, label: T, class: &str| {
            format!(
                "<a class=\"{class}\" href=\"{}\">{}</a>",
                escape(&href),
                escape(label.text(lang))
            )
        };
        let mut actions = Vec::new();
        if metadata.kind == DocumentKind::Cda {
            actions.push(link(document_href(id, "/view"), T::ShowInBrowser, "button"));
            actions.push(link(document_href(id, "/content"), T::SaveXml, "button"));
            actions.push(link(document_href(id, "/export"), T::ExportZip, "button"));
        } else {
            actions.push(link(
                document_href(id, "/content"),
                T::SaveAttachment,
                "button",
            ));
        }
        actions.push(button_form(
            &document_href(id, "/index"),
            csrf,
            "secondary",
            T::IndexDocument.text(lang),
        ));
        let patient_query = if metadata.patient.root.as_str() == Pesel::OID {
            metadata.patient.extension.clone()
        } else {
            format!("{}^{}", metadata.patient.root, metadata.patient.extension)
        };
        actions.push(link(
            format!(
                "/admin/consents/new?patient={}&document={}",
                urlencoding::encode(&patient_query),
                urlencoding::encode(id.as_str())
            ),
            T::Share,
            "button",
        ));
        actions.push(link(document_href(id, "/delete"), T::Delete, "button"));
        let banner = match request.query("done").as_deref() {
            Some("indexed") => notice("ok", T::Indexed.text(lang)),
            _ => String::new(),
        };
        let yes_no = |on: bool| if on { T::Yes } else { T::No }.text(lang).to_owned();
        let facts = [
            fact(T::DocumentId, lang, id.as_str()),
            fact(T::Title, lang, &title_of(lang, &document)),
            fact(T::Kind, lang, &kind_of(lang, &document)),
            fact(
                T::TypeCode,
                lang,
                &[metadata.type_code.clone(), metadata.class_code.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
            ),
            fact(
                T::Patient,
                lang,
                metadata.patient_name.as_deref().unwrap_or("-"),
            ),
            fact(
                T::PatientIdentifier,
                lang,
                &format!("{}^{}", metadata.patient.root, metadata.patient.extension),
            ),
            fact(
                T::EffectiveTime,
                lang,
                &medgate_repository::dates::DocumentTime::of(metadata).display(),
            ),
            fact(T::DateAdded, lang, &minute(document.created_at)),
            fact(
                T::ProviderUser,
                lang,
                metadata.author_name.as_deref().unwrap_or("-"),
            ),
            fact(
                T::Organisation,
                lang,
                metadata.organisation.as_deref().unwrap_or("-"),
            ),
            fact(
                T::Size,
                lang,
                &T::Bytes.with(lang, "n", &metadata.size_bytes.to_string()),
            ),
            fact(T::Sha256, lang, &metadata.sha256.to_hex()),
            fact(T::Stored, lang, &yes_no(true)),
            fact(T::ConsentIssued, lang, &yes_no(shared)),
            fact(
                T::IndexedAt,
                lang,
                &document
                    .indexed_at
                    .map(minute)
                    .unwrap_or_else(|| T::NotIndexed.text(lang).to_owned()),
            ),
        ]
        .concat();
        let mut frame = admin.frame(&request, title_of(lang, &document));
        frame.body = format!(
            "{banner}<div class=\"actions\" id=\"actions\">{actions}</div>\
             <section class=\"card wide\"><dl class=\"facts\" id=\"facts\">{facts}</dl></section>\
             <p><a href=\"/admin/documents\">{back}</a></p>",
            actions = actions.concat(),
            back = escape(T::BackToArchive.text(lang)),
        );
        Ok(frame.into_response())
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// The rendered CDA page with a bar back to the document. The bar is ours (escaped text, a
/// fixed style); the page keeps the renderer's own CSP: inline styles, no scripts, no forms,
/// no loads.
pub(super) fn with_back_bar(html: &str, lang: Lang, back: &str) -> String {
    let bar = format!(
        "<nav style=\"font-family:system-ui,sans-serif;background:#0d3b66;padding:.6rem 1rem\">\
         <a href=\"{}\" style=\"color:#fff\">{}</a></nav>",
        escape(back),
        escape(T::BackToDocument.text(lang))
    );
    match html.find("<body>") {
        Some(position) => {
            let split = position + "<body>".len();
            format!("{}{bar}{}", &html[..split], &html[split..])
        }
        None => html.to_owned(),
    }
}

/// `GET /admin/documents/{id}/view`: "Pokaż w przeglądarce", rendered as
/// `GET /api/v1/documents/{id}/render` renders it, under the same CSP.
pub(super) async fn view(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let outcome = async {
        let document = the_document(&state, &request, &admin, id).await?;
        let metadata = &document.metadata;
        if metadata.kind != DocumentKind::Cda {
            return Ok(redirect(
                &document_href(&metadata.document_id, "/content"),
                &[],
            ));
        }
        let bytes = documents::checked_content(&domain(&state), &document)
            .await
            .map_err(refused)?;
        let html = tokio::task::spawn_blocking(move || medgate_cda::render_html(&bytes))
            .await
            .map_err(|e| ApiError::internal("rendering", &e))?
            .map_err(|e| ApiError::internal("rendering a stored document", &e))?;
        admin
            .audit(
                &state,
                &request,
                "document.render",
                metadata.document_id.as_str(),
                Some(&metadata.patient.extension),
                "web".to_owned(),
            )
            .await?;
        let back = document_href(&metadata.document_id, "");
        let mut response = Response::new(Body::from(with_back_bar(&html, request.lang, &back)));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        medgate_web::layout::secure_headers(headers, medgate_cda::CONTENT_SECURITY_POLICY);
        Ok(response)
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// `GET /admin/documents/{id}/export`: "Pobierz paczkę ZIP", the export ZIP (the XML with
/// its stylesheet instruction and the stylesheet).
pub(super) async fn export(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let outcome = async {
        let document = the_document(&state, &request, &admin, id).await?;
        let bytes = documents::checked_content(&domain(&state), &document)
            .await
            .map_err(refused)?;
        let export::Export { file_name, archive } = export::export_zip(&document, bytes)
            .await
            .map_err(refused)?;
        let metadata = &document.metadata;
        admin
            .audit(
                &state,
                &request,
                "document.export",
                metadata.document_id.as_str(),
                Some(&metadata.patient.extension),
                "web".to_owned(),
            )
            .await?;
        Ok(download(
            "application/zip",
            &file_name,
            Bytes::from(archive),
        ))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// `GET /admin/documents/{id}/content`: "Zapisz XML HL7 CDA" / "Zapisz załącznik", the
/// original bytes.
pub(super) async fn content(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let outcome = async {
        let document = the_document(&state, &request, &admin, id).await?;
        let bytes = documents::checked_content(&domain(&state), &document)
            .await
            .map_err(refused)?;
        let metadata = &document.metadata;
        admin
            .audit(
                &state,
                &request,
                "document.read",
                metadata.document_id.as_str(),
                Some(&metadata.patient.extension),
                "web".to_owned(),
            )
            .await?;
        Ok(content_download(metadata, &download_name(metadata), bytes))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// `GET /admin/documents/{id}/delete`: the confirmation page.
pub(super) async fn confirm_delete(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let outcome =
        async {
            let document = the_document(&state, &request, &admin, id).await?;
            let lang = request.lang;
            let metadata = &document.metadata;
            let id = &metadata.document_id;
            let mut frame = admin.frame(&request, T::DeleteTitle.text(lang));
            frame.body =
                format!(
            "{warning}<section class=\"card wide\"><dl class=\"facts\">{}{}{}{}</dl></section>\
             <div class=\"actions\">{button}<a class=\"button\" href=\"{back}\">{cancel}</a></div>",
            fact(T::Title, lang, &title_of(lang, &document)),
            fact(T::DocumentId, lang, id.as_str()),
            fact(T::Patient, lang, metadata.patient_name.as_deref().unwrap_or("-")),
            fact(T::Pesel, lang, &metadata.patient.extension),
            warning = message(MessageKind::Error, T::DeleteWarning.text(lang)),
            button = button_form(
                &document_href(id, "/delete"),
                &admin.staff.session.csrf_secret,
                "danger",
                T::DeleteForGood.text(lang)
            ),
            back = escape(&document_href(id, "")),
            cancel = escape(T::Cancel.text(lang)),
        );
            Ok(frame.into_response())
        }
        .await;
    respond(&ADMIN, &request, outcome)
}

/// `POST /admin/documents/{id}/delete`: deletes for good, as `DELETE /api/v1/documents/{id}`.
pub(super) async fn delete(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome =
        async {
            let document = the_document(&state, &request, &admin, id).await?;
            admin.genuine_form(&request, &body)?;
            let caller = admin.caller(&request);
            match documents::delete(
                &domain(&state),
                &national(&state),
                &caller.actor(),
                &document.metadata.document_id,
            )
            .await
            .map_err(refused)
            {
                Ok(()) => Ok(redirect("/admin/documents?deleted=1", &[])),
                Err(error) if error.status() != StatusCode::INTERNAL_SERVER_ERROR => Ok(
                    action_failed(&admin, &request, &document, T::DeleteFailed, &error),
                ),
                Err(error) => Err(error.into()),
            }
        }
        .await;
    respond(&ADMIN, &request, outcome)
}

/// The page of an action the API refused (e.g. not registered nationally, registry down).
pub(super) fn action_failed(
    admin: &Admin,
    request: &WebRequest,
    document: &StoredDocument,
    what: T,
    error: &ApiError,
) -> Response {
    let lang = request.lang;
    let mut frame = admin.frame(request, T::ErrorTitle.text(lang));
    frame.status = error.status();
    frame.body = format!(
        "{}<p><a href=\"{}\">{}</a></p>",
        message(
            MessageKind::Error,
            &format!("{} {}", what.text(lang), error.message())
        ),
        escape(&document_href(&document.metadata.document_id, "")),
        escape(T::BackToDocument.text(lang))
    );
    frame.into_response()
}

/// `POST /admin/documents/{id}/index`: "Indeksuj dokument", as
/// `POST /api/v1/documents/{id}/index`.
pub(super) async fn index(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome =
        async {
            let document = the_document(&state, &request, &admin, id).await?;
            admin.genuine_form(&request, &body)?;
            let caller = admin.caller(&request);
            let id = &document.metadata.document_id;
            match medgate_repository::national::index(
                &domain(&state),
                &national(&state),
                &caller.actor(),
                id,
            )
            .await
            .map_err(refused)
            {
                Ok(_) => Ok(redirect(
                    &format!("{}?done=indexed", document_href(id, "")),
                    &[],
                )),
                Err(error) if error.status() != StatusCode::INTERNAL_SERVER_ERROR => Ok(
                    action_failed(&admin, &request, &document, T::IndexFailed, &error),
                ),
                Err(error) => Err(error.into()),
            }
        }
        .await;
    respond(&ADMIN, &request, outcome)
}
