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
use axum::routing::{get, post};
use axum::Router;
use medgate_pki::ca::Validity;
use medgate_pki::{CertKind, Certificate};
use medgate_storage::{
    CertificateKind, CertificateRequest, CertificateRequestError, NewCertificateRequest,
    RequestStatus,
};

use super::text::T;
use super::{
    button_form, download, minute, notice, now, respond, signed_in_admin, signed_in_operator, td,
    th, Admin, Desk, Operator,
};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::{csrf, Form, WebRequest};

/// Validity of certificates issued from the queue unless the operator chooses otherwise (as
/// `medgate ca sign`: two years).
const DEFAULT_DAYS: u32 = 730;
/// Longest validity the queue issues.
const MAX_DAYS: u32 = 3650;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/certificate-requests", get(admin_page).post(submit))
        .route(
            "/admin/certificate-requests/{id}/certificate",
            get(download_certificate),
        )
        .route("/operator/certificate-requests", get(queue))
        .route(
            "/operator/certificate-requests/{id}/{decision}",
            post(decide),
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
) -> Result<Response, ApiError> {
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
async fn admin_page(State(state): State<AppState>, request: WebRequest) -> Response {
    let outcome = async {
        let admin = match signed_in_admin(&state, &request).await? {
            Ok(admin) => admin,
            Err(response) => return Ok(response),
        };
        admin_view(&state, &admin, &request, "", None, StatusCode::OK).await
    }
    .await;
    respond(Desk::Admin, &request, outcome)
}

/// `POST /admin/certificate-requests`: checks and queues an uploaded CSR.
async fn submit(State(state): State<AppState>, request: WebRequest, body: Bytes) -> Response {
    let outcome = async {
        let admin = match signed_in_admin(&state, &request).await? {
            Ok(admin) => admin,
            Err(response) => return Ok(response),
        };
        let lang = request.lang;
        let form = Form::parse(&body)?;
        if !admin.form_is_genuine(&request, &form) {
            return Ok(admin.forged(&request));
        }
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
                ))
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
    respond(Desk::Admin, &request, outcome)
}

/// `GET /admin/certificate-requests/{id}/certificate`: the issued certificate (PEM) of one
/// of this account's requests; 404 for any other.
async fn download_certificate(
    State(state): State<AppState>,
    request: WebRequest,
    id: Result<Path<i64>, PathRejection>,
) -> Response {
    let outcome = async {
        let admin = match signed_in_admin(&state, &request).await? {
            Ok(admin) => admin,
            Err(response) => return Ok(response),
        };
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
    respond(Desk::Admin, &request, outcome)
}

// ---------------------------------------------------------------------------------------
// The operator's side
// ---------------------------------------------------------------------------------------

async fn queue_view(
    state: &AppState,
    operator: &Operator,
    request: &WebRequest,
    banner: String,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let lang = request.lang;
    let pending = state
        .metadata
        .pending_certificate_requests()
        .await
        .map_err(|e| ApiError::internal("listing certificate requests", &e))?;
    let csrf_secret = &operator.staff.session.csrf_secret;
    let rows: String = pending
        .iter()
        .map(|r| {
            let issue = format!(
                "<form method=\"post\" action=\"/operator/certificate-requests/{id}/issue\">{csrf}\
                 <label for=\"days-{id}\">{days_label}</label><input type=\"number\" id=\"days-{id}\" name=\"days\" value=\"{DEFAULT_DAYS}\" min=\"1\" max=\"{MAX_DAYS}\" inputmode=\"numeric\">\
                 <p></p><button class=\"primary\" type=\"submit\">{issue}</button></form>",
                id = r.id,
                csrf = csrf::hidden_field(csrf_secret),
                days_label = escape(T::ValidityDays.text(lang)),
                issue = escape(T::IssueCertificate.text(lang)),
            );
            let reject = format!(
                "<form method=\"post\" action=\"/operator/certificate-requests/{id}/reject\">{csrf}\
                 <label for=\"reason-{id}\">{reason_label}</label><input type=\"text\" id=\"reason-{id}\" name=\"reason\" maxlength=\"300\">\
                 <p></p><button class=\"danger\" type=\"submit\">{reject}</button></form>",
                id = r.id,
                csrf = csrf::hidden_field(csrf_secret),
                reason_label = escape(T::Reason.text(lang)),
                reject = escape(T::Reject.text(lang)),
            );
            format!(
                "<tr data-id=\"{}\">{}{}{}{}{}{}</tr>",
                r.id,
                td(lang, T::AccountId, &format!("<span class=\"mono nowrap\">{}</span>", escape(r.tenant.as_str()))),
                td(lang, T::Kind, r.kind.as_str()),
                td(lang, T::Subject, &format!("{}<br><span class=\"muted\">{}</span>", escape(&r.subject), escape(&r.key_description))),
                td(lang, T::SubmittedAt, &format!("{}<br><span class=\"muted\">{}</span>", escape(&minute(r.submitted_at)), escape(&r.submitted_by))),
                td(lang, T::IssueCertificate, &issue),
                td(lang, T::Reject, &reject),
            )
        })
        .collect();
    let listing = if pending.is_empty() {
        message(MessageKind::Info, T::NoPendingRequests.text(lang))
    } else {
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"pending\"><thead><tr>{}{}{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
            th(lang, T::AccountId),
            th(lang, T::Kind),
            th(lang, T::Subject),
            th(lang, T::SubmittedAt),
            th(lang, T::IssueCertificate),
            th(lang, T::Reject),
        )
    };
    let mut frame = operator.frame(request, T::PendingRequestsTitle.text(lang));
    frame.status = status;
    frame.path = "/operator/certificate-requests".to_owned();
    frame.body = format!(
        "<p class=\"muted\">{}</p>{banner}{listing}",
        escape(T::PendingRequestsIntro.text(lang))
    );
    Ok(frame.into_response())
}

/// `GET /operator/certificate-requests`: the pending requests of every account.
async fn queue(State(state): State<AppState>, request: WebRequest) -> Response {
    let outcome = async {
        let operator = match signed_in_operator(&state, &request).await? {
            Ok(operator) => operator,
            Err(response) => return Ok(response),
        };
        let lang = request.lang;
        let banner = match request.query("done").as_deref() {
            Some("issued") => notice("ok", T::CertificateIssued.text(lang)),
            Some("rejected") => notice("ok", T::RequestRejectedNotice.text(lang)),
            _ => String::new(),
        };
        queue_view(&state, &operator, &request, banner, StatusCode::OK).await
    }
    .await;
    respond(Desk::Operator, &request, outcome)
}

/// `POST /operator/certificate-requests/{id}/issue|reject`.
async fn decide(
    State(state): State<AppState>,
    request: WebRequest,
    path: Result<Path<(i64, String)>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = async {
        let operator = match signed_in_operator(&state, &request).await? {
            Ok(operator) => operator,
            Err(response) => return Ok(response),
        };
        let lang = request.lang;
        let form = Form::parse(&body)?;
        if !operator.form_is_genuine(&request, &form) {
            return Ok(operator.forged(&request));
        }
        let found = match &path {
            Ok(Path((id, _))) => state
                .metadata
                .get_certificate_request(None, *id)
                .await
                .map_err(|e| ApiError::internal("reading a certificate request", &e))?
                .filter(|r| r.status == RequestStatus::Pending),
            Err(_) => None,
        };
        let decision = path.as_ref().map(|Path((_, d))| d.as_str()).unwrap_or("");
        let Some(found) = found.filter(|_| matches!(decision, "issue" | "reject")) else {
            let banner = message(MessageKind::Error, T::RequestNotPending.text(lang));
            return queue_view(&state, &operator, &request, banner, StatusCode::NOT_FOUND).await;
        };
        let by = operator.staff.actor();
        if decision == "reject" {
            let reason = form.text("reason");
            let reason = if reason.is_empty() {
                T::RejectedNoReason.text(lang)
            } else {
                reason
            };
            state
                .metadata
                .reject_certificate_request(found.id, reason, &by, now())
                .await
                .map_err(|e| ApiError::internal("rejecting a certificate request", &e))?;
            operator
                .audit(
                    &state,
                    &request,
                    Some(&found.tenant),
                    "certificate_request.reject",
                    &found.id.to_string(),
                    reason.to_owned(),
                )
                .await?;
            return Ok(redirect(
                "/operator/certificate-requests?done=rejected",
                &[],
            ));
        }
        let days = match form.text("days").parse::<u32>() {
            Ok(days) if (1..=MAX_DAYS).contains(&days) => days,
            _ => {
                let banner = message(
                    MessageKind::Error,
                    &T::BadValidityDays.with(lang, "max", &MAX_DAYS.to_string()),
                );
                return queue_view(&state, &operator, &request, banner, StatusCode::BAD_REQUEST)
                    .await;
            }
        };
        let validity =
            Validity::days_from_now(days).map_err(|e| ApiError::internal("validity", &e))?;
        let der = found.csr_der.clone();
        let ca = state.ca.clone();
        let source = format!("certificate request {}", found.id);
        let signed = tokio::task::spawn_blocking(move || {
            ca.sign_csr(&der, std::path::Path::new(&source), validity)
        })
        .await
        .map_err(|e| ApiError::internal("signing", &e))?;
        let certificate = match signed {
            Ok(certificate) => certificate,
            Err(error) => {
                let banner = message(
                    MessageKind::Error,
                    &T::IssueFailed.with(lang, "detail", &error.to_string()),
                );
                return queue_view(&state, &operator, &request, banner, StatusCode::BAD_REQUEST)
                    .await;
            }
        };
        let summary = certificate
            .summary()
            .map_err(|e| ApiError::internal("issued certificate", &e))?;
        state
            .metadata
            .issue_certificate_request(found.id, certificate.der(), &summary.serial_hex, &by, now())
            .await
            .map_err(|e| ApiError::internal("recording an issued certificate", &e))?;
        operator
            .audit(
                &state,
                &request,
                Some(&found.tenant),
                "certificate_request.issue",
                &found.id.to_string(),
                format!(
                    "{} serial {}; {} days",
                    found.kind.as_str(),
                    summary.serial_hex,
                    days
                ),
            )
            .await?;
        Ok(redirect("/operator/certificate-requests?done=issued", &[]))
    }
    .await;
    respond(Desk::Operator, &request, outcome)
}


/// The self-service switch on the operator's page of an account.
pub async fn operator_switch(
    state: &AppState,
    tenant: &medgate_ids::TenantId,
    csrf_secret: &str,
    lang: Lang,
) -> Result<String, ApiError> {
    let enabled = state
        .metadata
        .csr_self_service(tenant)
        .await
        .map_err(|e| ApiError::internal("reading CSR self-service", &e))?;
    let href = format!("/operator/tenants/{}/self-service", tenant.as_str());
    let (state_text, action) = if enabled {
        (
            T::SelfServiceOn,
            button_form(
                &format!("{href}?enable=0"),
                csrf_secret,
                "secondary",
                T::DisableSelfService.text(lang),
            ),
        )
    } else {
        (
            T::SelfServiceOffShort,
            button_form(
                &format!("{href}?enable=1"),
                csrf_secret,
                "secondary",
                T::EnableSelfService.text(lang),
            ),
        )
    };
    Ok(format!(
        "<p id=\"self-service\" data-enabled=\"{enabled}\">{}</p><div class=\"actions\">{action}</div>",
        escape(state_text.text(lang))
    ))
}

/// Turns self-service on or off for an account (the operator's page calls it).
pub async fn switch(
    state: &AppState,
    operator: &Operator,
    request: &WebRequest,
    tenant: &medgate_ids::TenantId,
    enable: bool,
) -> Result<(), ApiError> {
    state
        .metadata
        .set_csr_self_service(tenant, enable, &operator.staff.actor(), now())
        .await
        .map_err(|e| ApiError::internal("setting CSR self-service", &e))?;
    operator
        .audit(
            state,
            request,
            Some(tenant),
            if enable {
                "tenant.csr_self_service.enable"
            } else {
                "tenant.csr_self_service.disable"
            },
            tenant.as_str(),
            String::new(),
        )
        .await
}
