//! One account on the operator's desk: its page, its plan, suspending and resuming it.

use super::*;

// One account
// ---------------------------------------------------------------------------------------

/// The operator and the account named in the address, or the response to send instead.
pub(super) async fn the_tenant(
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

pub(super) fn admin_state(lang: Lang, user: &StaffUser) -> &'static str {
    if user.disabled_at.is_some() {
        T::LoginDisabled.text(lang)
    } else if user.password_hash.is_some() {
        T::LoginActive.text(lang)
    } else {
        T::LoginAwaiting.text(lang)
    }
}

pub(super) struct TenantView<'a> {
    pub(super) plan: &'a PlanForm,
    pub(super) admin_login: &'a str,
    pub(super) admin_error: Option<String>,
    pub(super) extra: String,
    pub(super) status: StatusCode,
}

pub(super) async fn render_tenant(
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
    let switch = crate::staff::certificates::operator_switch(state, &tenant.id, csrf_secret, lang).await?;
    let mut frame = operator.frame(request, T::TenantTitle.with(lang, "id", tenant.id.as_str()));
    frame.status = view.status;
    frame.path = tenant_href(&tenant.id, "");
    frame.body = format!(
        "{banner}{extra}<section class=\"card wide\">{facts}</section>\
         <h2>{admins_title}</h2>{admins_html}<p></p>{admin_form}\
         <h2>{plan_title}</h2>{plan_form}\
         <h2>{certificates_title}</h2>{certificates_html}\
         <h2>{self_service_title}</h2>{switch}\
         <h2>{status_title}</h2><p class=\"muted\">{status_hint}</p><div class=\"actions\" id=\"actions\">{status_action}</div>\
         <p><a href=\"/operator/tenants\">{back}</a></p>",
        extra = view.extra,
        status_title = escape(T::AccountStatus.text(lang)),
        status_hint = escape(match tenant.status {
            TenantStatus::Suspended => T::ResumeHint.text(lang),
            _ => T::SuspendHint.text(lang),
        }),
        plan_title = escape(T::Plan.text(lang)),
        admins_title = escape(T::Admins.text(lang)),
        certificates_title = escape(T::Certificates.text(lang)),
        self_service_title = escape(T::SelfService.text(lang)),
        back = escape(T::BackToTenants.text(lang)),
    );
    Ok(frame.into_response())
}

pub(super) fn plain_view(plan: &PlanForm) -> TenantView<'_> {
    TenantView {
        plan,
        admin_login: "",
        admin_error: None,
        extra: String::new(),
        status: StatusCode::OK,
    }
}

/// `GET /operator/tenants/{id}`.
pub(super) async fn tenant_page(
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
pub(super) async fn change_plan(
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
        let form = operator.genuine_form(&request, &body)?;
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

pub(super) async fn set_status(
    state: &AppState,
    operator: &Operator,
    request: &WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: &Bytes,
    suspend: bool,
) -> PageResult {
    let id = id.map(|Path(id)| id).unwrap_or_default();
    let tenant = the_tenant(state, request, operator, &id).await?;
    operator.genuine_form(request, body)?;
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
pub(super) async fn suspend(
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
pub(super) async fn resume(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = set_status(&state, &operator, &request, id, &body, false).await;
    respond(&OPERATOR, &request, outcome)
}
