//! `POST /api/v1/account/admin-users`: the clinic's system creates an administrator login of
//! its own account for the web pages (seed 000: "the first login with the administrator
//! account created in the application"). Signed like every write; the answer carries the
//! login's one-time activation code, shown only there and stored only as an Argon2id hash.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use medgate_storage::{StaffScope, StaffUserError};
use serde::Deserialize;
use serde_json::{json, Value};

use medgate_web::api::{audit, rfc3339, Incoming};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;
use medgate_web::staff::{self as users, FirstCredential, StaffAccountError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    login: String,
}

/// `POST /api/v1/account/admin-users` with `{"login": "…"}`.
pub async fn create(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let request: CreateBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "bad_json",
            format!("The request body is not the expected JSON {{\"login\": \"…\"}}: {e}."),
        )
    })?;
    let issued = users::create(
        &state.metadata,
        StaffScope::Admin(caller.tenant.id.clone()),
        &request.login,
        FirstCredential::ActivationCode,
        &caller.actor,
    )
    .await
    .map_err(|error| match error {
        StaffAccountError::BadLogin(invalid) => {
            ApiError::bad_request("bad_login", format!("login: {}.", invalid.reason))
        }
        StaffAccountError::Store(StaffUserError::Exists { login, .. }) => ApiError::new(
            StatusCode::CONFLICT,
            "login_exists",
            format!("The account already has a login '{login}'; choose another, or ask the operator for a new activation code."),
        ),
        StaffAccountError::Internal(error) => error,
        other => ApiError::internal("creating an administrator login", &other),
    })?;
    audit(
        &state,
        &caller,
        "admin_user.create",
        issued.user.login.as_str(),
        "activation code issued".to_owned(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "login": issued.user.login.as_str(),
            "tenant": caller.tenant.id.as_str(),
            "activation_code": issued.activation_code,
            "activation_expires_at": issued.activation_expires_at.map(rfc3339),
            "activate_path": "/admin/activate",
            "sign_in_path": "/admin",
        })),
    ))
}
