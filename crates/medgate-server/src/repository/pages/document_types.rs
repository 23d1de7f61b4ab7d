//! The document types (seed 000 §1.1.5 "Rodzaje dokumentów"): every type of the catalogue
//! with its two settings, "archive automatically" and "keep locally (days)", edited in one
//! form. The values are checked as `PUT /api/v1/document-types/{code}` checks them (0 to
//! [`MAX_KEEP_LOCAL_DAYS`] days); only the rows that changed are written, each audited as the
//! API audits it. Nothing is written when any row is invalid.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use medgate_storage::DocumentTypePolicy;

use super::{Admin, ADMIN};
use crate::repository::{domain, refused};
use medgate_repository::document_types::{self, PolicyChange, MAX_KEEP_LOCAL_DAYS};
use medgate_web::desk::text::T;
use medgate_web::desk::{notice, respond, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::state::AppState;
use medgate_web::{csrf, WebRequest};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/document-types", get(show).post(submit))
}

/// One row as shown: the stored policy, or what was typed with its error.
struct Row<'a> {
    policy: &'a DocumentTypePolicy,
    archive: bool,
    keep: String,
    error: Option<String>,
}

fn table(admin: &Admin, request: &WebRequest, rows: &[Row<'_>]) -> String {
    let lang = request.lang;
    let mut body = String::new();
    for row in rows {
        let code = row.policy.code;
        let error = row
            .error
            .as_ref()
            .map(|text| {
                format!(
                    "<span class=\"field-error\" id=\"keep-{code}-error\">{}</span>",
                    escape(text)
                )
            })
            .unwrap_or_default();
        let described = if row.error.is_some() {
            format!(" aria-describedby=\"keep-{code}-error\" aria-invalid=\"true\"")
        } else {
            String::new()
        };
        body.push_str(&format!(
            "<tr><th scope=\"row\" id=\"row-{code}\">{code}</th>\
             <td data-label=\"{name_label}\" id=\"name-{code}\">{name}</td>\
             <td data-label=\"{archive_label}\"><div class=\"check\"><input type=\"checkbox\" id=\"archive-{code}\" name=\"archive.{code}\" value=\"1\"{checked} aria-labelledby=\"col-archive name-{code}\"></div></td>\
             <td data-label=\"{keep_label}\"><input type=\"number\" id=\"keep-{code}\" name=\"keep.{code}\" value=\"{keep}\" min=\"0\" max=\"{MAX_KEEP_LOCAL_DAYS}\" step=\"1\" inputmode=\"numeric\" aria-labelledby=\"col-keep name-{code}\"{described}>{error}</td>\
             <td data-label=\"{changed_label}\">{changed}</td></tr>",
            name = escape(type_name(lang, row.policy.code, row.policy.name)),
            name_label = escape(T::Name.text(lang)),
            archive_label = escape(T::ArchiveAutomatically.text(lang)),
            keep_label = escape(T::KeepLocally.text(lang)),
            changed_label = escape(T::Changed.text(lang)),
            checked = if row.archive { " checked" } else { "" },
            keep = escape(&row.keep),
            changed = if row.policy.overridden {
                escape(T::ChangedYes.text(lang))
            } else {
                escape(T::DefaultSetting.text(lang))
            },
        ));
    }
    format!(
        "<form method=\"post\" action=\"/admin/document-types\" novalidate>{csrf}\
         <div class=\"table-wrap\"><table class=\"stack\"><caption>{caption}</caption><thead><tr>\
         <th scope=\"col\">{kind}</th><th scope=\"col\">{name}</th>\
         <th scope=\"col\" id=\"col-archive\">{archive}</th><th scope=\"col\" id=\"col-keep\">{keep}</th>\
         <th scope=\"col\">{changed}</th></tr></thead><tbody>{body}</tbody></table></div>\
         <div class=\"actions\"><button class=\"primary\" type=\"submit\">{save}</button></div></form>",
        csrf = csrf::hidden_field(&admin.staff.session.csrf_secret),
        caption = escape(T::DocumentTypesCaption.text(lang)),
        kind = escape(T::Kind.text(lang)),
        name = escape(T::Name.text(lang)),
        archive = escape(T::ArchiveAutomatically.text(lang)),
        keep = escape(T::KeepLocally.text(lang)),
        changed = escape(T::Changed.text(lang)),
        save = escape(T::SaveChanges.text(lang)),
    )
}

fn page(
    admin: &Admin,
    request: &WebRequest,
    rows: &[Row<'_>],
    banner: String,
    status: StatusCode,
) -> Response {
    let lang = request.lang;
    let mut frame = admin.frame(request, T::DocumentTypesTitle.text(lang));
    frame.status = status;
    frame.body = format!(
        "<p class=\"muted\">{}</p>{banner}{}",
        escape(T::DocumentTypesIntro.text(lang)),
        table(admin, request, rows)
    );
    frame.into_response()
}

/// The catalogue's name of a document type in the page's language (the catalogue is the
/// seed's, in Polish).
fn type_name(lang: medgate_web::i18n::Lang, code: &str, polish: &'static str) -> &'static str {
    if lang == medgate_web::i18n::Lang::Pl {
        return polish;
    }
    match code {
        "DWP" => "Patient's own document",
        "WBL" => "Laboratory test result (PIK HL7 CDA)",
        "WBD" => "Diagnostic test result (PIK HL7 CDA)",
        "ZAL" => "Attachment",
        "UDM" => "Shared medical records",
        "REC" => "Prescription (e-prescription)",
        "KIF" => "Hospital discharge card",
        "ILK" => "Information for the referring physician",
        "DAN" => "Cancelling document (e-prescription cancelled)",
        "SKS" => "Referral to a specialist (e-referral)",
        "SKH" => "Referral to hospital (e-referral)",
        "SKD" => "Referral for a diagnostic test",
        "ZBD" => "Referral for diagnostic tests sent to P1",
        "KOP" => "Refusal of admission to hospital",
        "ZPS" => "Verification result of a medical devices order",
        "ZPA" => "Cancellation of a medical devices order",
        "ZPO" => "Order for medical devices",
        _ => polish,
    }
}

async fn policies(state: &AppState, admin: &Admin) -> Result<Vec<DocumentTypePolicy>, ApiError> {
    document_types::current(&domain(state), admin.tenant_id())
        .await
        .map_err(refused)
}

/// `GET /admin/document-types`.
async fn show(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        admin.require_usable(&request)?;
        let lang = request.lang;
        let caller = admin.caller(&request);
        let policies = document_types::list(&domain(&state), &caller.actor())
            .await
            .map_err(refused)?;
        let rows: Vec<Row<'_>> = policies
            .iter()
            .map(|policy| Row {
                policy,
                archive: policy.archive_automatically,
                keep: policy.keep_local_days.to_string(),
                error: None,
            })
            .collect();
        let banner = match request.query("saved").and_then(|n| n.parse::<usize>().ok()) {
            Some(0) => notice("info", T::NothingChanged.text(lang)),
            Some(count) => notice("ok", &T::TypesSaved.with(lang, "count", &count.to_string())),
            None => String::new(),
        };
        Ok(page(&admin, &request, &rows, banner, StatusCode::OK))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// `POST /admin/document-types`: checks every row, then writes the changed ones.
async fn submit(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let outcome = async {
        admin.require_usable(&request)?;
        let lang = request.lang;
        let form = admin.genuine_form(&request, &body)?;
        let policies = policies(&state, &admin).await?;
        let mut rows = Vec::with_capacity(policies.len());
        let mut wanted: HashMap<&str, (bool, u32)> = HashMap::new();
        for policy in &policies {
            let code = policy.code;
            let archive = !form.text(&format!("archive.{code}")).is_empty();
            let keep = form.text(&format!("keep.{code}")).to_owned();
            let error = match keep.parse::<u32>() {
                Ok(days) if days <= MAX_KEEP_LOCAL_DAYS => {
                    wanted.insert(code, (archive, days));
                    None
                }
                _ if keep.is_empty() => Some(T::Required.text(lang).to_owned()),
                _ => Some(T::BadKeepDays.with(lang, "max", &MAX_KEEP_LOCAL_DAYS.to_string())),
            };
            rows.push(Row {
                policy,
                archive,
                keep,
                error,
            });
        }
        if rows.iter().any(|row| row.error.is_some()) {
            let banner = message(MessageKind::Error, T::FixErrors.text(lang));
            return Ok(page(
                &admin,
                &request,
                &rows,
                banner,
                StatusCode::BAD_REQUEST,
            ));
        }
        let mut changed = 0usize;
        for policy in &policies {
            let Some(&(archive, days)) = wanted.get(policy.code) else {
                continue;
            };
            if archive == policy.archive_automatically && days == policy.keep_local_days {
                continue;
            }
            let change = PolicyChange {
                archive_automatically: archive,
                keep_local_days: days,
            };
            let caller = admin.caller(&request);
            document_types::set_policy(&domain(&state), &caller.actor(), policy.code, change)
                .await
                .map_err(refused)?;
            changed += 1;
        }
        Ok(redirect(
            &format!("/admin/document-types?saved={changed}"),
            &[],
        ))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}
