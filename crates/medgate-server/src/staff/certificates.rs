//! Self-service certificate requests, the operator's side (seed 000 §1.1.2: "Generuj CSR"
//! sends the requests to the operator, who sends back the certificates). When the operator
//! allows it for an account, its administrator uploads a CSR on the administrator's desk
//! (the repository module's `certificate_requests`; the private key never leaves the clinic);
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
use medgate_storage::RequestStatus;

use super::{Operator, OPERATOR};
use medgate_web::desk::text::T;
use medgate_web::desk::{
    button_form, minute, notice, now, respond, td, th, PageResult, SignedIn,
};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::state::AppState;
use medgate_web::{csrf, WebRequest};

/// Validity of certificates issued from the queue unless the operator chooses otherwise (as
/// `medgate ca sign`: two years).
const DEFAULT_DAYS: u32 = 730;
/// Longest validity the queue issues.
const MAX_DAYS: u32 = 3650;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operator/certificate-requests", get(queue))
        .route(
            "/operator/certificate-requests/{id}/{decision}",
            post(decide),
        )
}

async fn queue_view(
    state: &AppState,
    operator: &Operator,
    request: &WebRequest,
    banner: String,
    status: StatusCode,
) -> PageResult {
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
async fn queue(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let banner = match request.query("done").as_deref() {
            Some("issued") => notice("ok", T::CertificateIssued.text(lang)),
            Some("rejected") => notice("ok", T::RequestRejectedNotice.text(lang)),
            _ => String::new(),
        };
        queue_view(&state, &operator, &request, banner, StatusCode::OK).await
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

/// `POST /operator/certificate-requests/{id}/issue|reject`.
async fn decide(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
    path: Result<Path<(i64, String)>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let form = operator.genuine_form(&request, &body)?;
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
    respond(&OPERATOR, &request, outcome)
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
