//! Self-service certificate requests (seed 000 §1.1.2: "Generuj CSR" sends the requests to
//! the operator, who sends back the certificates). When the operator allows it for an
//! account, its administrator uploads a CSR here (the private key never leaves the clinic);
//! the server checks it (proof of possession, `CN=<account> TLS|WSS` of this account) and
//! queues it; the operator issues the certificate with the node's tenant CA, or rejects the
//! request; the administrator downloads the certificate, which the clinic's system then
//! registers with `medgate client update-certs` (a signed request, so registration still
//! needs the account's current WSS key).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use medgate_pki::{CertKind, Certificate};
use medgate_storage::{
    CertificateKind, CertificateRequest, CertificateRequestError, NewCertificateRequest,
    RequestStatus,
};

use super::{Admin, ADMIN};
use medgate_web::desk::text::T;
use medgate_web::desk::{
    download, minute, notice, now, respond, td, th, PageResult, SignedIn,
};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::state::AppState;
use medgate_web::{csrf, WebRequest};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/certificate-requests", get(admin_page).post(submit))
        .route(
            "/admin/certificate-requests/{id}/certificate",
            get(download_certificate),
        )
}

fn status_badge(lang: Lang, request: &CertificateRequest) -> String {
    let (class, label) = match request.status {
        RequestStatus::Pending => ("created", T::RequestPending),
        RequestStatus::Issued => ("active", T::RequestIssued),
        RequestStatus::Rejected => ("revoked", T::RequestRejected),
    };
    format!(
        "<span class=\"status {class}\" data-status=\"{}\">{}</span>",
        request.status.as_str(),
        escape(label.text(lang))
    )
}

// ---------------------------------------------------------------------------------------
// The administrator's side
// ---------------------------------------------------------------------------------------

async fn admin_view(
    state: &AppState,
    admin: &Admin,
    request: &WebRequest,
    csr_text: &str,
    csr_error: Option<String>,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let enabled = state
        .metadata
        .csr_self_service(admin.tenant_id())
        .await
        .map_err(|e| ApiError::internal("reading CSR self-service", &e))?;
    let mut frame = admin.frame(request, T::CertificateRequestsTitle.text(lang));
    frame.status = status;
    if !enabled {
        frame.body = message(MessageKind::Info, T::SelfServiceOff.text(lang));
        return Ok(frame.into_response());
    }
    let requests = state
        .metadata
        .list_certificate_requests(admin.tenant_id())
        .await
        .map_err(|e| ApiError::internal("listing certificate requests", &e))?;
    let rows: String = requests
        .iter()
        .map(|r| {
            let outcome = match r.status {
                RequestStatus::Issued => format!(
                    "<a href=\"/admin/certificate-requests/{}/certificate\">{}</a> <span class=\"mono\">{}</span>",
                    r.id,
                    escape(T::DownloadCertificate.text(lang)),
                    escape(r.serial_hex.as_deref().unwrap_or(""))
                ),
                RequestStatus::Rejected => escape(r.reason.as_deref().unwrap_or("")),
                RequestStatus::Pending => String::new(),
            };
            format!(
                "<tr data-id=\"{}\">{}{}{}{}{}</tr>",
                r.id,
                td(lang, T::Kind, r.kind.as_str()),
                td(lang, T::Subject, &escape(&r.subject)),
                td(lang, T::SubmittedAt, &escape(&minute(r.submitted_at))),
                td(lang, T::Status, &status_badge(lang, r)),
                td(lang, T::Outcome, &outcome),
            )
        })
        .collect();
    let listing = if requests.is_empty() {
        message(MessageKind::Info, T::NoRequests.text(lang))
    } else {
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"requests\"><thead><tr>{}{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
            th(lang, T::Kind),
            th(lang, T::Subject),
            th(lang, T::SubmittedAt),
            th(lang, T::Status),
            th(lang, T::Outcome),
        )
    };
    let error = csr_error
        .as_ref()
        .map(|text| {
            format!(
                "<span class=\"field-error\" id=\"f-csr-error\">{}</span>",
                escape(text)
            )
        })
        .unwrap_or_default();
    let invalid = if csr_error.is_some() {
        " aria-invalid=\"true\" aria-describedby=\"f-csr-hint f-csr-error\""
    } else {
        " aria-describedby=\"f-csr-hint\""
    };
    let banner = match request.query("done").as_deref() {
        Some("submitted") => notice("ok", T::RequestSubmitted.text(lang)),
        _ => String::new(),
    };
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{banner}\
         <form class=\"card wide\" method=\"post\" action=\"/admin/certificate-requests\" novalidate>{csrf}\
         <div class=\"field\"><label for=\"f-csr\">{label}</label>\
         <textarea id=\"f-csr\" name=\"csr\" rows=\"10\" spellcheck=\"false\" required{invalid}>{value}</textarea>\
         <span class=\"hint\" id=\"f-csr-hint\">{hint}</span>{error}</div>\
         <button class=\"primary\" type=\"submit\">{submit}</button></form>\
         <h2>{requests_title}</h2>{listing}",
        intro = escape(T::CertificateRequestsIntro.text(lang)),
        csrf = csrf::hidden_field(&admin.staff.session.csrf_secret),
        label = escape(T::CsrPem.text(lang)),
        value = escape(csr_text),
        hint = escape(T::CsrHint.text(lang)),
        submit = escape(T::SubmitRequest.text(lang)),
        requests_title = escape(T::YourRequests.text(lang)),
    );
    Ok(frame.into_response())
}

/// `GET /admin/certificate-requests`.
async fn admin_page(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
) -> Response {
    let outcome =
        async { admin_view(&state, &admin, &request, "", None, StatusCode::OK).await }.await;
    respond(&ADMIN, &request, outcome)
}

/// `POST /admin/certificate-requests`: checks and queues an uploaded CSR.
async fn submit(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let form = admin.genuine_form(&request, &body)?;
        let enabled = state
            .metadata
            .csr_self_service(admin.tenant_id())
            .await
            .map_err(|e| ApiError::internal("reading CSR self-service", &e))?;
        if !enabled {
            return admin_view(&state, &admin, &request, "", None, StatusCode::FORBIDDEN).await;
        }
        let text = form.raw("csr").trim().to_owned();
        let refuse = |error: String| (text.clone(), Some(error));
        let checked = if text.is_empty() {
            Err(refuse(T::Required.text(lang).to_owned()))
        } else {
            match medgate_pki::csr::parse_csr(text.as_bytes(), std::path::Path::new("CSR")) {
                Err(error) => Err(refuse(T::CsrUnreadable.with(
                    lang,
                    "detail",
                    &error.to_string(),
                ))),
                Ok(info) if !info.signature_valid => {
                    Err(refuse(T::CsrBadSignature.text(lang).to_owned()))
                }
                Ok(info) => match &info.tenant_name {
                    Some(name) if name.tenant == *admin.tenant_id() => Ok(info.clone()),
                    _ => Err(refuse(
                        T::CsrWrongName
                            .with(lang, "tenant", admin.tenant_id().as_str())
                            .replace("{found}", info.common_name.as_deref().unwrap_or("-")),
                    )),
                },
            }
        };
        let info = match checked {
            Ok(info) => info,
            Err((typed, error)) => {
                return admin_view(
                    &state,
                    &admin,
                    &request,
                    &typed,
                    error,
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
        };
        let kind = match info.kind() {
            Some(CertKind::Wss) => CertificateKind::Wss,
            _ => CertificateKind::Tls,
        };
        let stored = state
            .metadata
            .submit_certificate_request(
                &NewCertificateRequest {
                    tenant: admin.tenant_id().clone(),
                    kind,
                    csr_der: info.der.clone(),
                    subject: info.subject.clone(),
                    key_description: info.key_description.clone(),
                    submitted_by: admin.staff.actor(),
                },
                now(),
            )
            .await;
        let stored = match stored {
            Ok(stored) => stored,
            Err(CertificateRequestError::PendingExists { .. }) => {
                let error = T::RequestPendingExists.with(lang, "kind", kind.as_str());
                return admin_view(
                    &state,
                    &admin,
                    &request,
                    &text,
                    Some(error),
                    StatusCode::CONFLICT,
                )
                .await;
            }
            Err(other) => {
                return Err(ApiError::internal(
                    "submitting a certificate request",
                    &other,
                ).into())
            }
        };
        admin
            .audit(
                &state,
                &request,
                "certificate_request.submit",
                &stored.id.to_string(),
                None,
                format!(
                    "{} {}; {}",
                    stored.kind.as_str(),
                    stored.subject,
                    stored.key_description
                ),
            )
            .await?;
        Ok(redirect("/admin/certificate-requests?done=submitted", &[]))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// `GET /admin/certificate-requests/{id}/certificate`: the issued certificate (PEM) of one
/// of this account's requests; 404 for any other.
async fn download_certificate(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    id: Result<Path<i64>, PathRejection>,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let found = match id {
            Ok(Path(id)) => state
                .metadata
                .get_certificate_request(Some(admin.tenant_id()), id)
                .await
                .map_err(|e| ApiError::internal("reading a certificate request", &e))?,
            Err(_) => None,
        };
        let Some((found, der)) = found.and_then(|r| r.certificate_der.clone().map(|der| (r, der)))
        else {
            let mut frame = admin.frame(&request, T::NotFoundTitle.text(lang));
            frame.status = StatusCode::NOT_FOUND;
            frame.body = message(MessageKind::Error, T::RequestNotFound.text(lang));
            return Ok(frame.into_response());
        };
        let certificate = Certificate::from_der(der, std::path::Path::new("issued certificate"))
            .map_err(|e| ApiError::internal("stored certificate", &e))?;
        admin
            .audit(
                &state,
                &request,
                "certificate_request.download",
                &found.id.to_string(),
                None,
                found.serial_hex.clone().unwrap_or_default(),
            )
            .await?;
        let name = format!(
            "{}-{}-{}.pem",
            found.tenant,
            found.kind.as_str().to_ascii_lowercase(),
            found.serial_hex.as_deref().unwrap_or("certificate")
        );
        Ok(download(
            "application/x-pem-file",
            &name,
            Bytes::from(certificate.to_pem()),
        ))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

// ---------------------------------------------------------------------------------------
// The operator's side
// ---------------------------------------------------------------------------------------
