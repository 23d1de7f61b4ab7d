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
        let form = Form::parse(&body)?;
        if !operator.form_is_genuine(&request, &form) {
            return Ok(operator.forged(&request));
        }
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
// One account
// ---------------------------------------------------------------------------------------

/// The operator and the account named in the address, or the response to send instead.
async fn the_tenant(
    state: &AppState,
    request: &WebRequest,
    operator: &Operator,
    id: &str,
) -> PageResult<Tenant> {
    let tenant = match TenantId::parse(id) {
        Ok(id) => state
            .metadata
            .get_tenant(&id)
            .await
            .map_err(|e| ApiError::internal("tenant lookup", &e))?,
        Err(_) => None,
    };
    match tenant {
        Some(tenant) => Ok(tenant),
        None => {
            let lang = request.lang;
            let mut frame = operator.frame(request, T::NotFoundTitle.text(lang));
            frame.status = StatusCode::NOT_FOUND;
            frame.body = format!(
                "{}<p><a href=\"/operator/tenants\">{}</a></p>",
                message(MessageKind::Error, T::TenantNotFound.text(lang)),
                escape(T::BackToTenants.text(lang))
            );
            Err(PageError::answer(frame.into_response()))
        }
    }
}

fn admin_state(lang: Lang, user: &StaffUser) -> &'static str {
    if user.disabled_at.is_some() {
        T::LoginDisabled.text(lang)
    } else if user.password_hash.is_some() {
        T::LoginActive.text(lang)
    } else {
        T::LoginAwaiting.text(lang)
    }
}

struct TenantView<'a> {
    plan: &'a PlanForm,
    admin_login: &'a str,
    admin_error: Option<String>,
    extra: String,
    status: StatusCode,
}

async fn render_tenant(
    state: &AppState,
    operator: &Operator,
    request: &WebRequest,
    tenant: &Tenant,
    view: TenantView<'_>,
) -> PageResult {
    let lang = request.lang;
    let csrf_secret = &operator.staff.session.csrf_secret;
    let usage: Usage = state
        .metadata
        .usage(&tenant.id)
        .await
        .map_err(|e| ApiError::internal("reading usage", &e))?;
    let certificates = state
        .metadata
        .active_certificates(&tenant.id)
        .await
        .map_err(|e| ApiError::internal("reading certificates", &e))?;
    let admins = state
        .metadata
        .list_staff_users(&StaffScope::Admin(tenant.id.clone()))
        .await
        .map_err(|e| ApiError::internal("listing administrators", &e))?;
    let status_action = match tenant.status {
        TenantStatus::Suspended => button_form(
            &tenant_href(&tenant.id, "/resume"),
            csrf_secret,
            "primary",
            T::Resume.text(lang),
        ),
        _ => button_form(
            &tenant_href(&tenant.id, "/suspend"),
            csrf_secret,
            "danger",
            T::Suspend.text(lang),
        ),
    };
    let optional = |value: &Option<medgate_ids::Oid>| {
        value
            .as_ref()
            .map(|o| o.to_string())
            .unwrap_or_else(|| "-".to_owned())
    };
    let facts = format!(
        "<dl class=\"facts\" id=\"tenant\"><dt>{}</dt><dd><span class=\"mono\">{}</span> {}</dd><dt>{}</dt><dd class=\"mono\">{}</dd>\
         <dt>{}</dt><dd class=\"mono\">{}</dd><dt>{}</dt><dd class=\"mono\">{}</dd><dt>{}</dt><dd>{}</dd></dl>{}{}",
        escape(T::AccountId.text(lang)),
        escape(tenant.id.as_str()),
        status_badge(lang, tenant.status),
        escape(T::DomainId.text(lang)),
        escape(&optional(&tenant.domain_id)),
        escape(T::RepositoryId.text(lang)),
        escape(&optional(&tenant.repository_id)),
        escape(T::NationalRepositoryId.text(lang)),
        escape(&optional(&tenant.national_repository_id)),
        escape(T::CreatedAt.text(lang)),
        escape(&minute(tenant.created_at)),
        usage_bar(
            "tenant-quota",
            usage.bytes,
            tenant.plan.quota_bytes,
            &T::MbOf.with(lang, "used", &usage.bytes.div_ceil(MB).to_string()).replace("{total}", &(tenant.plan.quota_bytes / MB).to_string()),
        ),
        usage_bar(
            "tenant-files",
            usage.files,
            tenant.plan.max_files,
            &T::FilesOf.with(lang, "files", &usage.files.to_string()).replace("{max}", &tenant.plan.max_files.to_string()),
        ),
    );
    let certificate_rows: String = certificates
        .iter()
        .map(|c: &TenantCertificate| {
            format!(
                "<tr>{}{}{}{}</tr>",
                td(lang, T::Kind, c.kind.as_str()),
                td(
                    lang,
                    T::SerialNumber,
                    &format!("<span class=\"mono\">{}</span>", escape(&c.serial_hex))
                ),
                td(
                    lang,
                    T::Validity,
                    &format!("{} – {}", minute(c.not_before), minute(c.not_after))
                ),
                td(lang, T::DaysLeft, &days_left(c.not_after).to_string()),
            )
        })
        .collect();
    let certificates_html = if certificates.is_empty() {
        message(MessageKind::Info, T::NoCertificate.text(lang))
    } else {
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\"><thead><tr>{}{}{}{}</tr></thead><tbody>{certificate_rows}</tbody></table></div>",
            th(lang, T::Kind),
            th(lang, T::SerialNumber),
            th(lang, T::Validity),
            th(lang, T::DaysLeft),
        )
    };
    let admin_rows: String = admins
        .iter()
        .map(|user| {
            let login = user.login.as_str();
            let base = format!("{}/{}", tenant_href(&tenant.id, "/admins"), segment(login));
            let mut actions = vec![button_form(
                &format!("{base}/reset"),
                csrf_secret,
                "secondary",
                T::NewCode.text(lang),
            )];
            if user.disabled_at.is_some() {
                actions.push(button_form(
                    &format!("{base}/enable"),
                    csrf_secret,
                    "secondary",
                    T::Enable.text(lang),
                ));
            } else {
                actions.push(button_form(
                    &format!("{base}/disable"),
                    csrf_secret,
                    "danger",
                    T::Disable.text(lang),
                ));
            }
            format!(
                "<tr data-login=\"{login}\">{}{}{}{}</tr>",
                td(lang, T::Login, &escape(login)),
                td(lang, T::Status, &escape(admin_state(lang, user))),
                td(
                    lang,
                    T::LastSignIn,
                    &escape(
                        &user
                            .last_signin_at
                            .map(minute)
                            .unwrap_or_else(|| "-".to_owned())
                    )
                ),
                td(
                    lang,
                    T::Actions,
                    &format!("<div class=\"actions\">{}</div>", actions.concat())
                ),
            )
        })
        .collect();
    let admins_html = if admins.is_empty() {
        message(MessageKind::Info, T::NoAdmins.text(lang))
    } else {
        format!(
            "<div class=\"table-wrap\"><table class=\"stack\" id=\"admins\"><thead><tr>{}{}{}{}</tr></thead><tbody>{admin_rows}</tbody></table></div>",
            th(lang, T::Login),
            th(lang, T::Status),
            th(lang, T::LastSignIn),
            th(lang, T::Actions),
        )
    };
    let admin_form = format!(
        "<form class=\"card\" method=\"post\" action=\"{}\" novalidate>{}{}<button class=\"primary\" type=\"submit\">{}</button></form>",
        escape(&tenant_href(&tenant.id, "/admins")),
        csrf::hidden_field(csrf_secret),
        Input {
            name: "login",
            label: T::Login.text(lang),
            kind: "text",
            value: view.admin_login,
            hint: Some(T::LoginHint.text(lang)),
            error: view.admin_error.as_deref(),
            required: true,
            extra: "autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"64\"",
        }
        .html(),
        escape(T::CreateAdmin.text(lang)),
    );
    let plan_form = format!(
        "<form class=\"card wide\" method=\"post\" action=\"{}\" novalidate>{}{}<button class=\"primary\" type=\"submit\">{}</button></form>",
        escape(&tenant_href(&tenant.id, "/plan")),
        csrf::hidden_field(csrf_secret),
        view.plan.fields(lang, false),
        escape(T::SavePlan.text(lang)),
    );
    let banner = match request.query("done").as_deref() {
        Some("created") => notice("ok", T::TenantCreated.text(lang)),
        Some("plan") => notice("ok", T::PlanSaved.text(lang)),
        Some("suspended") => notice("ok", T::TenantSuspendedNotice.text(lang)),
        Some("resumed") => notice("ok", T::TenantResumedNotice.text(lang)),
        Some("login") => notice("ok", T::LoginChanged.text(lang)),
        Some("self-service") => notice("ok", T::SelfServiceChanged.text(lang)),
        _ => String::new(),
    };
    let switch = super::certificates::operator_switch(state, &tenant.id, csrf_secret, lang).await?;
    let mut frame = operator.frame(request, T::TenantTitle.with(lang, "id", tenant.id.as_str()));
    frame.status = view.status;
    frame.path = tenant_href(&tenant.id, "");
    frame.body = format!(
        "{banner}{extra}<div class=\"actions\" id=\"actions\">{status_action}</div>\
         <section class=\"card wide\">{facts}</section>\
         <h2>{plan_title}</h2>{plan_form}\
         <h2>{admins_title}</h2>{admins_html}<p></p>{admin_form}\
         <h2>{certificates_title}</h2>{certificates_html}\
         <h2>{self_service_title}</h2>{switch}\
         <p><a href=\"/operator/tenants\">{back}</a></p>",
        extra = view.extra,
        plan_title = escape(T::Plan.text(lang)),
        admins_title = escape(T::Admins.text(lang)),
        certificates_title = escape(T::Certificates.text(lang)),
        self_service_title = escape(T::SelfService.text(lang)),
        back = escape(T::BackToTenants.text(lang)),
    );
    Ok(frame.into_response())
}

fn plain_view(plan: &PlanForm) -> TenantView<'_> {
    TenantView {
        plan,
        admin_login: "",
        admin_error: None,
        extra: String::new(),
        status: StatusCode::OK,
    }
}

/// `GET /operator/tenants/{id}`.
async fn tenant_page(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let outcome = async {
        let id = id.map(|Path(id)| id).unwrap_or_default();
        let tenant = the_tenant(&state, &request, &operator, &id).await?;
        let plan = PlanForm::of(&tenant);
        render_tenant(&state, &operator, &request, &tenant, plain_view(&plan)).await
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

/// `POST /operator/tenants/{id}/plan`.
async fn change_plan(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = async {
        let id = id.map(|Path(id)| id).unwrap_or_default();
        let tenant = the_tenant(&state, &request, &operator, &id).await?;
        let lang = request.lang;
        let form = Form::parse(&body)?;
        if !operator.form_is_genuine(&request, &form) {
            return Ok(operator.forged(&request));
        }
        let mut typed = PlanForm::read(&form);
        let Some(plan) = typed.plan(lang) else {
            let mut view = plain_view(&typed);
            view.status = StatusCode::BAD_REQUEST;
            view.extra = message(MessageKind::Error, T::FixErrors.text(lang));
            return render_tenant(&state, &operator, &request, &tenant, view).await;
        };
        state
            .metadata
            .set_tenant_plan(&tenant.id, &plan)
            .await
            .map_err(|e| ApiError::internal("changing a plan", &e))?;
        operator
            .audit(
                &state,
                &request,
                Some(&tenant.id),
                "tenant.plan",
                tenant.id.as_str(),
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
            &format!("{}?done=plan", tenant_href(&tenant.id, "")),
            &[],
        ))
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

async fn set_status(
    state: &AppState,
    operator: &Operator,
    request: &WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: &Bytes,
    suspend: bool,
) -> PageResult {
    let id = id.map(|Path(id)| id).unwrap_or_default();
    let tenant = the_tenant(state, request, operator, &id).await?;
    let form = Form::parse(body)?;
    if !operator.form_is_genuine(request, &form) {
        return Ok(operator.forged(request));
    }
    let status = if suspend {
        TenantStatus::Suspended
    } else if tenant.status != TenantStatus::Suspended {
        // Nothing to resume.
        return Ok(redirect(&tenant_href(&tenant.id, ""), &[]));
    } else if tenant.repository_id.is_some() {
        TenantStatus::Active
    } else {
        // Suspended before it was ever activated: back to waiting for activation.
        TenantStatus::Created
    };
    state
        .metadata
        .set_tenant_status(&tenant.id, status)
        .await
        .map_err(|e| ApiError::internal("changing a tenant's status", &e))?;
    operator
        .audit(
            state,
            request,
            Some(&tenant.id),
            if suspend {
                "tenant.suspend"
            } else {
                "tenant.resume"
            },
            tenant.id.as_str(),
            String::new(),
        )
        .await?;
    Ok(redirect(
        &format!(
            "{}?done={}",
            tenant_href(&tenant.id, ""),
            if suspend { "suspended" } else { "resumed" }
        ),
        &[],
    ))
}

/// `POST /operator/tenants/{id}/suspend`.
async fn suspend(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = set_status(&state, &operator, &request, id, &body, true).await;
    respond(&OPERATOR, &request, outcome)
}

/// `POST /operator/tenants/{id}/resume`.
async fn resume(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = set_status(&state, &operator, &request, id, &body, false).await;
    respond(&OPERATOR, &request, outcome)
}

/// The activation code box shown once after creating or resetting a login.
fn code_box(lang: Lang, tenant: &TenantId, issued: &users::Issued) -> String {
    match (&issued.activation_code, issued.activation_expires_at) {
        (Some(code), Some(expires)) => format!(
            "<section class=\"card wide\" id=\"handover\"><h2>{title}</h2><p>{intro}</p><dl class=\"facts\">\
             <dt>{at}</dt><dd class=\"mono\">/admin/activate</dd><dt>{account}</dt><dd class=\"mono\">{tenant}</dd>\
             <dt>{login_label}</dt><dd class=\"mono\">{login}</dd><dt>{code_label}</dt><dd><span class=\"code\" id=\"activation-code\">{code}</span></dd>\
             <dt>{valid}</dt><dd>{until} UTC</dd></dl><p class=\"muted\">{once}</p></section>",
            title = escape(T::HandOverAdmin.text(lang)),
            intro = escape(T::HandOverAdminIntro.text(lang)),
            at = escape(T::ActivateAt.text(lang)),
            account = escape(T::AccountId.text(lang)),
            tenant = escape(tenant.as_str()),
            login_label = escape(T::Login.text(lang)),
            login = escape(issued.user.login.as_str()),
            code_label = escape(T::ActivationCode.text(lang)),
            code = escape(code),
            valid = escape(T::ValidUntil.text(lang)),
            until = escape(&minute(expires)),
            once = escape(T::ShownOnce.text(lang)),
        ),
        _ => String::new(),
    }
}

/// `POST /operator/tenants/{id}/admins`: a new administrator login with a one-time code,
/// shown on the answer (not a redirect) and nowhere else.
async fn create_admin(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = async {
        let id = id.map(|Path(id)| id).unwrap_or_default();
        let tenant = the_tenant(&state, &request, &operator, &id).await?;
        let lang = request.lang;
        let form = Form::parse(&body)?;
        if !operator.form_is_genuine(&request, &form) {
            return Ok(operator.forged(&request));
        }
        let login = form.text("login").to_owned();
        let plan = PlanForm::of(&tenant);
        let refused = |error: String, status: StatusCode| TenantView {
            plan: &plan,
            admin_login: &login,
            admin_error: Some(error),
            extra: String::new(),
            status,
        };
        let issued = match users::create(
            &state.metadata,
            StaffScope::Admin(tenant.id.clone()),
            &login,
            FirstCredential::ActivationCode,
            &operator.staff.actor(),
        )
        .await
        {
            Ok(issued) => issued,
            Err(StaffAccountError::BadLogin(_)) => {
                let text = if login.is_empty() {
                    T::Required
                } else {
                    T::BadLogin
                };
                return render_tenant(
                    &state,
                    &operator,
                    &request,
                    &tenant,
                    refused(text.text(lang).to_owned(), StatusCode::BAD_REQUEST),
                )
                .await;
            }
            Err(StaffAccountError::Store(StaffUserError::Exists { .. })) => {
                return render_tenant(
                    &state,
                    &operator,
                    &request,
                    &tenant,
                    refused(T::LoginExists.text(lang).to_owned(), StatusCode::CONFLICT),
                )
                .await;
            }
            Err(StaffAccountError::Internal(error)) => return Err(error.into()),
            Err(other) => return Err(ApiError::internal("creating an administrator", &other).into()),
        };
        operator
            .audit(
                &state,
                &request,
                Some(&tenant.id),
                "admin_user.create",
                issued.user.login.as_str(),
                "activation code issued".to_owned(),
            )
            .await?;
        let mut view = plain_view(&plan);
        view.extra = format!(
            "{}{}",
            notice("ok", T::AdminCreated.text(lang)),
            code_box(lang, &tenant.id, &issued)
        );
        render_tenant(&state, &operator, &request, &tenant, view).await
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

/// `POST /operator/tenants/{id}/admins/{login}/{reset|disable|enable}`.
async fn admin_action(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
    path: Result<Path<(String, String, String)>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = async {
        let (id, login, action) = path.map(|Path(parts)| parts).unwrap_or_default();
        let tenant = the_tenant(&state, &request, &operator, &id).await?;
        let lang = request.lang;
        let form = Form::parse(&body)?;
        if !operator.form_is_genuine(&request, &form) {
            return Ok(operator.forged(&request));
        }
        let scope = StaffScope::Admin(tenant.id.clone());
        let not_found = || {
            let mut frame = operator.frame(&request, T::NotFoundTitle.text(lang));
            frame.status = StatusCode::NOT_FOUND;
            frame.body = message(MessageKind::Error, T::LoginNotFound.text(lang));
            frame.into_response()
        };
        let Ok(parsed) = medgate_storage::StaffLogin::parse(&login) else {
            return Ok(not_found());
        };
        match action.as_str() {
            "reset" => {
                let issued = match users::reset(
                    &state.metadata,
                    &scope,
                    parsed.as_str(),
                    FirstCredential::ActivationCode,
                )
                .await
                {
                    Ok(issued) => issued,
                    Err(StaffAccountError::Store(StaffUserError::NotFound { .. })) => {
                        return Ok(not_found())
                    }
                    Err(StaffAccountError::Internal(error)) => return Err(error.into()),
                    Err(other) => return Err(ApiError::internal("resetting a login", &other).into()),
                };
                operator
                    .audit(
                        &state,
                        &request,
                        Some(&tenant.id),
                        "admin_user.reset",
                        parsed.as_str(),
                        "new activation code issued; sessions ended".to_owned(),
                    )
                    .await?;
                let plan = PlanForm::of(&tenant);
                let mut view = plain_view(&plan);
                view.extra = format!(
                    "{}{}",
                    notice("ok", T::LoginChanged.text(lang)),
                    code_box(lang, &tenant.id, &issued)
                );
                render_tenant(&state, &operator, &request, &tenant, view).await
            }
            "disable" | "enable" => {
                let disable = action == "disable";
                match state
                    .metadata
                    .set_staff_disabled(&scope, &parsed, disable, now())
                    .await
                {
                    Ok(_) => {}
                    Err(StaffUserError::NotFound { .. }) => return Ok(not_found()),
                    Err(other) => return Err(ApiError::internal("disabling a login", &other).into()),
                }
                operator
                    .audit(
                        &state,
                        &request,
                        Some(&tenant.id),
                        if disable {
                            "admin_user.disable"
                        } else {
                            "admin_user.enable"
                        },
                        parsed.as_str(),
                        String::new(),
                    )
                    .await?;
                Ok(redirect(
                    &format!("{}?done=login", tenant_href(&tenant.id, "")),
                    &[],
                ))
            }
            _ => Ok(not_found()),
        }
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

/// `POST /operator/tenants/{id}/self-service?enable=1|0`: allows or stops the account's
/// CSR uploads.
async fn self_service(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = async {
        let id = id.map(|Path(id)| id).unwrap_or_default();
        let tenant = the_tenant(&state, &request, &operator, &id).await?;
        let form = Form::parse(&body)?;
        if !operator.form_is_genuine(&request, &form) {
            return Ok(operator.forged(&request));
        }
        let enable = request.query("enable").as_deref() == Some("1");
        super::certificates::switch(&state, &operator, &request, &tenant.id, enable).await?;
        Ok(redirect(
            &format!("{}?done=self-service", tenant_href(&tenant.id, "")),
            &[],
        ))
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

// ---------------------------------------------------------------------------------------
// Certificates expiring across all accounts
// ---------------------------------------------------------------------------------------

/// `GET /operator/certificates[?days=N]`: every account's active certificates that expire
/// within N days (30 unless given) or have expired, soonest first.
async fn certificates(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let horizon = request
            .query("days")
            .and_then(|d| d.parse::<i64>().ok())
            .filter(|d| (0..=3650).contains(d))
            .unwrap_or(DEFAULT_EXPIRY_DAYS);
        let mut expiring: Vec<(Tenant, TenantCertificate)> = Vec::new();
        for tenant in state
            .metadata
            .list_tenants()
            .await
            .map_err(|e| ApiError::internal("listing tenants", &e))?
        {
            for certificate in state
                .metadata
                .active_certificates(&tenant.id)
                .await
                .map_err(|e| ApiError::internal("reading certificates", &e))?
            {
                if days_left(certificate.not_after) <= horizon {
                    expiring.push((tenant.clone(), certificate));
                }
            }
        }
        expiring.sort_by_key(|(_, c)| c.not_after);
        let rows: String = expiring
            .iter()
            .map(|(tenant, c)| {
                let left = days_left(c.not_after);
                let left_text = if left < 0 {
                    T::Expired.text(lang).to_owned()
                } else {
                    left.to_string()
                };
                format!(
                    "<tr>{}{}{}{}{}</tr>",
                    td(lang, T::AccountId, &format!("<a class=\"mono nowrap\" href=\"{}\">{}</a>", escape(&tenant_href(&tenant.id, "")), escape(tenant.id.as_str()))),
                    td(lang, T::Kind, c.kind.as_str()),
                    td(lang, T::SerialNumber, &format!("<span class=\"mono\">{}</span>", escape(&c.serial_hex))),
                    td(lang, T::ValidTo, &escape(&minute(c.not_after))),
                    td(lang, T::DaysLeft, &escape(&left_text)),
                )
            })
            .collect();
        let listing = if expiring.is_empty() {
            message(MessageKind::Info, &T::NothingExpiring.with(lang, "days", &horizon.to_string()))
        } else {
            format!(
                "<div class=\"table-wrap\"><table class=\"stack\" id=\"expiring\"><thead><tr>{}{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
                th(lang, T::AccountId),
                th(lang, T::Kind),
                th(lang, T::SerialNumber),
                th(lang, T::ValidTo),
                th(lang, T::DaysLeft),
            )
        };
        let mut frame = operator.frame(&request, T::ExpiringTitle.text(lang));
        frame.body = format!(
            "<form class=\"card\" method=\"get\" action=\"/operator/certificates\">{}<button class=\"primary\" type=\"submit\">{}</button></form><p></p>{listing}",
            Input {
                name: "days",
                label: T::WithinDays.text(lang),
                kind: "number",
                value: &horizon.to_string(),
                hint: None,
                error: None,
                required: false,
                extra: "min=\"0\" max=\"3650\" inputmode=\"numeric\"",
            }
            .html(),
            escape(T::Find.text(lang)),
        );
        Ok(frame.into_response())
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}
