//! The account panel (seed 000 "Zarządzanie kontem", SPEC §4.1): the account's ids and
//! status, its plan with the quota and file bars, the TLS and WSS certificate boxes and the
//! warnings. Built from `medgate_repository::account::view`, the very function behind
//! `GET /api/v1/account`, so the page and the API cannot disagree.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Admin, ADMIN};
use medgate_web::desk::text::T;
use medgate_web::desk::{notice, respond, second, PageError, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::escape;
use medgate_web::state::AppState;
use medgate_web::WebRequest;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/account", get(panel))
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn number(value: &Value, key: &str) -> u64 {
    value.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// An RFC 3339 time of the view as the seed writes times (`2021-06-09 08:07:21`, UTC).
fn shown_time(value: &Value, key: &str) -> String {
    text(value, key)
        .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
        .map(second)
        .unwrap_or_else(|| "-".to_owned())
}

fn shown_day(value: &Value, key: &str) -> String {
    shown_time(value, key).chars().take(10).collect()
}

fn status_label(status: &str, lang: Lang) -> &'static str {
    match status {
        "active" => T::StatusActive.text(lang),
        "suspended" => T::StatusSuspended.text(lang),
        _ => T::StatusCreated.text(lang),
    }
}

/// One `<dt>`/`<dd>` pair; `id` lets the tests find the value.
fn fact(label: &str, id: &str, value: &str) -> String {
    format!(
        "<dt>{}</dt><dd id=\"{id}\" class=\"mono\">{}</dd>",
        escape(label),
        escape(value)
    )
}

/// A usage bar: `<progress>` with its label, red from 90 %.
fn bar(id: &str, label: &str, used: u64, total: u64) -> String {
    let high = total > 0 && used.saturating_mul(100) >= total.saturating_mul(90);
    format!(
        "<div class=\"quota{}\"><label for=\"{id}\">{}</label>\
         <progress id=\"{id}\" max=\"{}\" value=\"{}\">{} / {}</progress></div>",
        if high { " high" } else { "" },
        escape(label),
        total.max(1),
        used.min(total.max(1)),
        used,
        total,
    )
}

/// The warnings of the view in the page's language.
fn warnings(view: &Value, lang: Lang) -> String {
    let quota = view.get("quota").cloned().unwrap_or(Value::Null);
    let certificates: Vec<Value> = view
        .get("certificates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut items = Vec::new();
    for warning in view
        .get("warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let code = text(warning, "code").unwrap_or("");
        let api_message = text(warning, "message").unwrap_or("");
        let line = match code {
            "quota_nearly_full" => {
                let total = number(&quota, "total_bytes").max(1);
                let percent = number(&quota, "used_bytes").saturating_mul(100) / total;
                T::WarnQuota.with(lang, "percent", &percent.to_string())
            }
            "file_limit_nearly_reached" => T::WarnFiles
                .with(lang, "files", &number(&quota, "files").to_string())
                .replace("{max}", &number(&quota, "max_files").to_string()),
            "certificate_expiring" => {
                // The API names the certificate by serial; find it for its kind and days.
                let certificate = certificates
                    .iter()
                    .find(|c| text(c, "serial").is_some_and(|serial| api_message.contains(serial)));
                match certificate {
                    Some(c) => {
                        let days = c.get("days_left").and_then(Value::as_i64).unwrap_or(0);
                        let kind = text(c, "kind").unwrap_or("").to_ascii_uppercase();
                        let serial = text(c, "serial").unwrap_or("");
                        if days < 0 {
                            T::WarnCertificateExpired
                                .with(lang, "kind", &kind)
                                .replace("{serial}", serial)
                        } else {
                            T::WarnCertificateExpiring
                                .with(lang, "kind", &kind)
                                .replace("{serial}", serial)
                                .replace("{days}", &days.to_string())
                        }
                    }
                    None => api_message.to_owned(),
                }
            }
            "account_expiring" => {
                let days = text(view, "valid_to")
                    .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                    .map(|end| (end - OffsetDateTime::now_utc()).whole_days())
                    .unwrap_or(0);
                if days < 0 {
                    T::WarnAccountExpired.text(lang).to_owned()
                } else {
                    T::WarnAccountExpiring.with(lang, "days", &days.to_string())
                }
            }
            _ => api_message.to_owned(),
        };
        items.push(format!(
            "<li data-code=\"{}\">{}</li>",
            escape(code),
            escape(&line)
        ));
    }
    if items.is_empty() {
        return String::new();
    }
    format!(
        "<div class=\"message warning\" role=\"status\" id=\"warnings\"><strong>{}</strong><ul>{}</ul></div>",
        escape(T::Warnings.text(lang)),
        items.concat()
    )
}

pub(super) fn certificate_box(lang: Lang, certificates: &[Value], kind: &str, title: T) -> String {
    let body = match certificates
        .iter()
        .find(|c| text(c, "kind").is_some_and(|k| k.eq_ignore_ascii_case(kind)))
    {
        None => format!(
            "<p class=\"muted\">{}</p>",
            escape(T::NoCertificate.text(lang))
        ),
        Some(certificate) => {
            let days = certificate
                .get("days_left")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            format!(
                "<dl class=\"facts\">{}{}{}</dl>",
                fact(
                    T::SerialNumber.text(lang),
                    &format!("{kind}-serial"),
                    text(certificate, "serial").unwrap_or("-")
                ),
                fact(
                    T::Validity.text(lang),
                    &format!("{kind}-validity"),
                    &format!(
                        "{} – {}",
                        shown_time(certificate, "not_before"),
                        shown_time(certificate, "not_after")
                    )
                ),
                fact(
                    T::DaysLeft.text(lang),
                    &format!("{kind}-days-left"),
                    &days.to_string()
                ),
            )
        }
    };
    format!(
        "<section class=\"card\" aria-labelledby=\"{kind}-title\"><h2 id=\"{kind}-title\">{}</h2>{body}</section>",
        escape(title.text(lang))
    )
}

/// `GET /admin/account`: the account panel.
async fn panel(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let view = medgate_repository::account::view(&crate::repository::domain(&state), admin.tenant_id())
            .await
            .map_err(crate::repository::refused)?;
        admin
            .audit(
                &state,
                &request,
                "account.show",
                admin.tenant_id().as_str(),
                None,
                "web".to_owned(),
            )
            .await?;
        let status = text(&view, "status").unwrap_or("created");
        let optional = |key: &str| text(&view, key).unwrap_or("-").to_owned();
        let quota = view.get("quota").cloned().unwrap_or(Value::Null);
        let certificates: Vec<Value> = view
            .get("certificates")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let not_active = match status {
            "active" => String::new(),
            "suspended" => notice("warning", T::AccountSuspendedExplained.text(lang)),
            _ => notice("warning", T::AccountNotActivatedExplained.text(lang)),
        };
        let ids = format!(
            "<section class=\"card wide\" aria-labelledby=\"ids-title\"><h2 id=\"ids-title\">{title}</h2><dl class=\"facts\">\
             <dt>{account_label}</dt><dd><span id=\"account-tenant\" class=\"mono\">{tenant}</span> \
             <span class=\"status {status}\" id=\"account-status\" data-status=\"{status}\">{status_text}</span></dd>\
             {domain}{repository}{national}{provider}</dl></section>",
            title = escape(T::AccountIdentifiers.text(lang)),
            account_label = escape(T::AccountId.text(lang)),
            tenant = escape(text(&view, "tenant").unwrap_or("")),
            status = escape(status),
            status_text = escape(status_label(status, lang)),
            domain = fact(T::DomainId.text(lang), "account-domain-id", &optional("domain_id")),
            repository = fact(
                T::RepositoryId.text(lang),
                "account-repository-id",
                &optional("repository_id")
            ),
            national = fact(
                T::NationalRepositoryId.text(lang),
                "account-national-repository-id",
                &optional("national_repository_id")
            ),
            provider = fact(
                T::ProviderOid.text(lang),
                "account-provider-oid",
                &optional("provider_oid")
            ),
        );
        let used_mb = number(&quota, "used_mb");
        let total_mb = number(&quota, "total_mb");
        let files = number(&quota, "files");
        let max_files = number(&quota, "max_files");
        let plan = format!(
            "<section class=\"card\" aria-labelledby=\"plan-title\"><h2 id=\"plan-title\">{title}</h2>\
             <p id=\"account-validity\">{validity}</p>{quota_bar}{files_bar}</section>",
            title = escape(T::AccountData.text(lang)),
            validity = escape(
                &T::ActiveFromTo
                    .with(lang, "from", &shown_day(&view, "valid_from"))
                    .replace("{to}", &shown_day(&view, "valid_to"))
            ),
            quota_bar = bar(
                "account-quota",
                &T::QuotaLine
                    .with(lang, "total", &total_mb.to_string())
                    .replace("{used}", &used_mb.to_string()),
                number(&quota, "used_bytes"),
                number(&quota, "total_bytes"),
            ),
            files_bar = bar(
                "account-files",
                &T::FilesLine
                    .with(lang, "max", &max_files.to_string())
                    .replace("{files}", &files.to_string()),
                files,
                max_files,
            ),
        );
        let requests = self_service_line(&state, &admin, lang).await?;
        let mut frame = admin.frame(&request, T::AccountPanelTitle.text(lang));
        frame.body = format!(
            "{not_active}{warnings}{ids}<div class=\"boxes\">{plan}{tls}{wss}</div>\
             <p class=\"muted\">{certificates_hint}</p>\
             <p><a class=\"button\" id=\"manage-certificates\" href=\"/admin/account/certificates\">{manage}</a></p>{requests}",
            warnings = warnings(&view, lang),
            tls = certificate_box(lang, &certificates, "tls", T::TlsCertificate),
            wss = certificate_box(lang, &certificates, "wss", T::WssCertificate),
            certificates_hint = escape(T::CertificatesHint.text(lang)),
            manage = escape(T::ManageCertificates.text(lang)),
        );
        Ok::<_, PageError>(frame.into_response())
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// The account panel's line about certificate requests.
async fn self_service_line(
    state: &AppState,
    admin: &super::Admin,
    lang: Lang,
) -> Result<String, ApiError> {
    let enabled = state
        .metadata
        .csr_self_service(admin.tenant_id())
        .await
        .map_err(|e| ApiError::internal("reading CSR self-service", &e))?;
    Ok(if enabled {
        format!(
            "<p><a class=\"button\" href=\"/admin/certificate-requests\">{}</a></p>",
            escape(T::CertificateRequestsTitle.text(lang))
        )
    } else {
        String::new()
    })
}
