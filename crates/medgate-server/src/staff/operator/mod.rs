//! The operator's pages (SPEC §1, §4.1): every tenant account with its plan, usage and
//! status; a new account; one account's page (plan, suspend/resume, its certificates, its
//! administrator logins with one-time activation codes); and the certificates of all
//! accounts that expire soon. Only an operator's session opens them; every change is
//! audited under the account it concerns with the actor `operator:<login>`.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_ids::TenantId;
use medgate_storage::{
    MetadataError, NewTenant, StaffScope, StaffUser, StaffUserError, Tenant, TenantCertificate,
    TenantPlan, TenantStatus, Usage,
};
use time::{Date, OffsetDateTime, Time};

use super::{Operator, OPERATOR};
use medgate_web::desk::text::T;
use medgate_web::desk::{
    button_form, day, minute, notice, now, respond, segment, td, th, Input, PageError, PageResult,
    SignedIn,
};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::staff::{self as users, FirstCredential, StaffAccountError};
use medgate_web::state::AppState;
use medgate_web::{csrf, Form, WebRequest};

mod tenant;
mod admins;
mod expiring;
use tenant::*;
use admins::*;
use expiring::*;

const MB: u64 = 1024 * 1024;
/// The certificates page's default horizon.
const DEFAULT_EXPIRY_DAYS: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operator/tenants", get(tenants))
        .route(
            "/operator/tenants/new",
            get(new_tenant_form).post(create_tenant),
        )
        .route("/operator/tenants/{id}", get(tenant_page))
        .route("/operator/tenants/{id}/plan", post(change_plan))
        .route("/operator/tenants/{id}/suspend", post(suspend))
        .route("/operator/tenants/{id}/resume", post(resume))
        .route("/operator/tenants/{id}/self-service", post(self_service))
        .route("/operator/tenants/{id}/admins", post(create_admin))
        .route(
            "/operator/tenants/{id}/admins/{login}/{action}",
            post(admin_action),
        )
        .route("/operator/certificates", get(certificates))
}

fn tenant_href(id: &TenantId, suffix: &str) -> String {
    format!("/operator/tenants/{}{suffix}", segment(id.as_str()))
}

fn status_badge(lang: Lang, status: TenantStatus) -> String {
    let (class, label) = match status {
        TenantStatus::Active => ("active", T::StatusActive),
        TenantStatus::Suspended => ("suspended", T::StatusSuspended),
        TenantStatus::Created => ("created", T::StatusCreated),
    };
    format!(
        "<span class=\"status {class}\" data-status=\"{class}\">{}</span>",
        escape(label.text(lang))
    )
}

fn usage_bar(id: &str, used: u64, total: u64, label: &str) -> String {
    let high = total > 0 && used.saturating_mul(100) >= total.saturating_mul(90);
    format!(
        "<div class=\"quota{}\"><label for=\"{id}\">{}</label><progress id=\"{id}\" max=\"{}\" value=\"{}\">{used} / {total}</progress></div>",
        if high { " high" } else { "" },
        escape(label),
        total.max(1),
        used.min(total.max(1)),
    )
}

fn days_left(until: OffsetDateTime) -> i64 {
    (until - OffsetDateTime::now_utc()).whole_days()
}

// ---------------------------------------------------------------------------------------
// The accounts
// ---------------------------------------------------------------------------------------

/// `GET /operator/tenants`.
async fn tenants(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let all = state
            .metadata
            .list_tenants()
            .await
            .map_err(|e| ApiError::internal("listing tenants", &e))?;
        let mut rows = String::new();
        for tenant in &all {
            let usage = state
                .metadata
                .usage(&tenant.id)
                .await
                .map_err(|e| ApiError::internal("reading usage", &e))?;
            let id = tenant.id.as_str();
            rows.push_str(&format!(
                "<tr data-id=\"{id}\">{}{}{}{}{}{}</tr>",
                td(lang, T::AccountId, &format!("<a class=\"mono nowrap\" href=\"{}\">{id}</a>", escape(&tenant_href(&tenant.id, "")))),
                td(lang, T::Status, &status_badge(lang, tenant.status)),
                td(lang, T::PlanValidity, &format!("<span class=\"nowrap\">{} – {}</span>", day(tenant.plan.valid_from), day(tenant.plan.valid_to))),
                td(
                    lang,
                    T::Quota,
                    &usage_bar(
                        &format!("quota-{id}"),
                        usage.bytes,
                        tenant.plan.quota_bytes,
                        &T::MbOf
                            .with(lang, "used", &usage.bytes.div_ceil(MB).to_string())
                            .replace("{total}", &(tenant.plan.quota_bytes / MB).to_string()),
                    )
                ),
                td(
                    lang,
                    T::Files,
                    &usage_bar(
                        &format!("files-{id}"),
                        usage.files,
                        tenant.plan.max_files,
                        &T::FilesOf
                            .with(lang, "files", &usage.files.to_string())
                            .replace("{max}", &tenant.plan.max_files.to_string()),
                    )
                ),
                td(lang, T::RepositoryId, &escape(&tenant.repository_id.as_ref().map(|o| o.to_string()).unwrap_or_else(|| "-".to_owned()))),
            ));
        }
        let listing = if all.is_empty() {
            message(MessageKind::Info, T::NoTenants.text(lang))
        } else {
            format!(
                "<div class=\"table-wrap\"><table class=\"stack\" id=\"tenants\"><caption>{}</caption><thead><tr>{}{}{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
                escape(T::TenantsCaption.text(lang)),
                th(lang, T::AccountId),
                th(lang, T::Status),
                th(lang, T::PlanValidity),
                th(lang, T::Quota),
                th(lang, T::Files),
                th(lang, T::RepositoryId),
            )
        };
        let mut frame = operator.frame(&request, T::TenantsTitle.text(lang));
        frame.body = format!(
            "<div class=\"actions\"><a class=\"button\" href=\"/operator/tenants/new\">{}</a></div>{listing}",
            escape(T::NewTenant.text(lang))
        );
        Ok(frame.into_response())
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

/// A plan form as typed, with each field's error.
#[derive(Default)]
struct PlanForm {
    id: String,
    valid_from: String,
    valid_to: String,
    quota_mb: String,
    max_files: String,
    errors: std::collections::HashMap<&'static str, String>,
}

impl PlanForm {
    fn of(tenant: &Tenant) -> PlanForm {
        PlanForm {
            id: tenant.id.to_string(),
            valid_from: day(tenant.plan.valid_from),
            valid_to: day(tenant.plan.valid_to),
            quota_mb: (tenant.plan.quota_bytes / MB).to_string(),
            max_files: tenant.plan.max_files.to_string(),
            errors: Default::default(),
        }
    }

    fn read(form: &Form) -> PlanForm {
        PlanForm {
            id: form.text("id").to_owned(),
            valid_from: form.text("valid_from").to_owned(),
            valid_to: form.text("valid_to").to_owned(),
            quota_mb: form.text("quota_mb").to_owned(),
            max_files: form.text("max_files").to_owned(),
            errors: Default::default(),
        }
    }

    /// The plan, as `medgate tenant create` checks it; errors set on `self` otherwise.
    fn plan(&mut self, lang: Lang) -> Option<TenantPlan> {
        let date = |text: &str| {
            Date::parse(text, &time::format_description::well_known::Iso8601::DATE)
                .ok()
                .filter(|_| text.len() == 10)
                .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
        };
        let from = date(&self.valid_from);
        if from.is_none() {
            self.errors
                .insert("valid_from", T::BadDate.text(lang).to_owned());
        }
        let to = date(&self.valid_to);
        if to.is_none() {
            self.errors
                .insert("valid_to", T::BadDate.text(lang).to_owned());
        }
        if let (Some(from), Some(to)) = (from, to) {
            if to <= from {
                self.errors
                    .insert("valid_to", T::ToBeforeFrom.text(lang).to_owned());
            }
        }
        let positive = |text: &str| text.parse::<u64>().ok().filter(|n| *n > 0);
        let quota = positive(&self.quota_mb)
            .and_then(|mb| mb.checked_mul(MB))
            .filter(|b| i64::try_from(*b).is_ok());
        if quota.is_none() {
            self.errors
                .insert("quota_mb", T::BadPositive.text(lang).to_owned());
        }
        let files = positive(&self.max_files).filter(|n| i64::try_from(*n).is_ok());
        if files.is_none() {
            self.errors
                .insert("max_files", T::BadPositive.text(lang).to_owned());
        }
        match (from, to, quota, files) {
            (Some(valid_from), Some(valid_to), Some(quota_bytes), Some(max_files))
                if self.errors.is_empty() =>
            {
                Some(TenantPlan {
                    valid_from,
                    valid_to,
                    quota_bytes,
                    max_files,
                })
            }
            _ => None,
        }
    }

    fn fields(&self, lang: Lang, with_id: bool) -> String {
        let input =
            |name: &'static str, label: T, kind: &'static str, value: &str, extra: &'static str| {
                Input {
                    name,
                    label: label.text(lang),
                    kind,
                    value,
                    hint: None,
                    error: self.errors.get(name).map(String::as_str),
                    required: true,
                    extra,
                }
                .html()
            };
        let id = if with_id {
            Input {
                name: "id",
                label: T::AccountId.text(lang),
                kind: "text",
                value: &self.id,
                hint: Some(T::AccountIdHint.text(lang)),
                error: self.errors.get("id").map(String::as_str),
                required: true,
                extra: "inputmode=\"numeric\" maxlength=\"16\"",
            }
            .html()
        } else {
            String::new()
        };
        format!(
            "<div class=\"fields\">{id}{}{}{}{}</div>",
            input("valid_from", T::ValidFrom, "date", &self.valid_from, ""),
            input("valid_to", T::ValidTo, "date", &self.valid_to, ""),
            input(
                "quota_mb",
                T::QuotaMb,
                "number",
                &self.quota_mb,
                "min=\"1\" inputmode=\"numeric\""
            ),
            input(
                "max_files",
                T::MaxFiles,
                "number",
                &self.max_files,
                "min=\"1\" inputmode=\"numeric\""
            ),
        )
    }
}

fn new_tenant_page(
    operator: &Operator,
    request: &WebRequest,
    plan: &PlanForm,
    status: StatusCode,
) -> Response {
    let lang = request.lang;
    let mut frame = operator.frame(request, T::NewTenant.text(lang));
    frame.status = status;
    let banner = if plan.errors.is_empty() {
        String::new()
    } else {
        message(MessageKind::Error, T::FixErrors.text(lang))
    };
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{banner}<form class=\"card wide\" method=\"post\" action=\"/operator/tenants/new\" novalidate>{csrf}{fields}\
         <div class=\"actions\"><button class=\"primary\" type=\"submit\">{create}</button><a class=\"button\" href=\"/operator/tenants\">{cancel}</a></div></form>",
        intro = escape(T::NewTenantIntro.text(lang)),
        csrf = csrf::hidden_field(&operator.staff.session.csrf_secret),
        fields = plan.fields(lang, true),
        create = escape(T::CreateTenant.text(lang)),
        cancel = escape(T::Cancel.text(lang)),
    );
    frame.into_response()
}

/// `GET /operator/tenants/new`.
async fn new_tenant_form(
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        let today = now();
        let plan = PlanForm {
            valid_from: day(today),
            valid_to: day(today + time::Duration::days(365)),
            quota_mb: "20010".to_owned(),
            max_files: "10000".to_owned(),
            ..PlanForm::default()
        };
        Ok(new_tenant_page(&operator, &request, &plan, StatusCode::OK))
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

/// `POST /operator/tenants/new`.
async fn create_tenant(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let form = operator.genuine_form(&request, &body)?;
        let mut typed = PlanForm::read(&form);
        let id = TenantId::parse(&typed.id.replace(' ', ""));
        if id.is_err() {
            typed
                .errors
                .insert("id", T::BadAccountId.text(lang).to_owned());
        }
        let plan = typed.plan(lang);
        let (Ok(id), Some(plan)) = (id, plan) else {
            return Ok(new_tenant_page(
                &operator,
                &request,
                &typed,
                StatusCode::BAD_REQUEST,
            ));
        };
        match state
            .metadata
            .create_tenant(&NewTenant {
                id: id.clone(),
                plan: plan.clone(),
            })
            .await
        {
            Ok(_) => {}
            Err(MetadataError::TenantExists(_)) => {
                typed
                    .errors
                    .insert("id", T::TenantExists.text(lang).to_owned());
                return Ok(new_tenant_page(
                    &operator,
                    &request,
                    &typed,
                    StatusCode::CONFLICT,
                ));
            }
            Err(other) => return Err(ApiError::internal("creating a tenant", &other).into()),
        }
        operator
            .audit(
                &state,
                &request,
                Some(&id),
                "tenant.create",
                id.as_str(),
                format!(
                    "{} .. {}; {} MB; {} files",
                    day(plan.valid_from),
                    day(plan.valid_to),
                    plan.quota_bytes / MB,
                    plan.max_files
                ),
            )
            .await?;
        Ok(redirect(
            &format!("{}?done=created", tenant_href(&id, "")),
            &[],
        ))
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

// ---------------------------------------------------------------------------------------
