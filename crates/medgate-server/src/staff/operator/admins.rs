//! An account's administrators, as the operator manages them: new logins with a one-time
//! activation code, new codes, disabling and enabling; the account's self-service switch.

use super::*;

/// The activation code box shown once after creating or resetting a login.
pub(super) fn code_box(
    lang: Lang,
    public_url: &str,
    tenant: &TenantId,
    issued: &users::Issued,
) -> String {
    match (&issued.activation_code, issued.activation_expires_at) {
        (Some(code), Some(expires)) => format!(
            "<section class=\"card wide\" id=\"handover\"><h2>{title}</h2><p>{intro}</p><dl class=\"facts\">\
             <dt>{at}</dt><dd class=\"mono\">{public_url}/admin/activate</dd><dt>{account}</dt><dd class=\"mono\">{tenant}</dd>\
             <dt>{login_label}</dt><dd class=\"mono\">{login}</dd><dt>{code_label}</dt><dd><span class=\"code\" id=\"activation-code\">{code}</span></dd>\
             <dt>{valid}</dt><dd>{until} UTC</dd></dl><p class=\"muted\">{once}</p></section>",
            public_url = escape(public_url.trim_end_matches('/')),
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
pub(super) async fn create_admin(
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
            code_box(lang, &state.node.public_url, &tenant.id, &issued)
        );
        render_tenant(&state, &operator, &request, &tenant, view).await
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

/// `POST /operator/tenants/{id}/admins/{login}/{reset|disable|enable}`.
pub(super) async fn admin_action(
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
        operator.genuine_form(&request, &body)?;
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
                    code_box(lang, &state.node.public_url, &tenant.id, &issued)
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
pub(super) async fn self_service(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let outcome = async {
        let id = id.map(|Path(id)| id).unwrap_or_default();
        let tenant = the_tenant(&state, &request, &operator, &id).await?;
        operator.genuine_form(&request, &body)?;
        let enable = request.query("enable").as_deref() == Some("1");
        crate::staff::certificates::switch(&state, &operator, &request, &tenant.id, enable).await?;
        Ok(redirect(
            &format!("{}?done=self-service", tenant_href(&tenant.id, "")),
            &[],
        ))
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

// ---------------------------------------------------------------------------------------
