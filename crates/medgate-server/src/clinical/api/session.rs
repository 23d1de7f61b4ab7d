//! Practitioner sign-in and sign-out: `POST /fhir/$login` with the user name, password and the
//! code the practitioner's TOTP token shows, from an institution's certificate, signed; the
//! answer's token opens clinical calls for 7 hours (`Authorization: Bearer …`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::{bearer_token, refusal, signed};
use medgate_web::api::Incoming;
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

/// The sign-in request's body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Login {
    user_name: String,
    password: String,
    code: String,
}

/// `POST /fhir/$login`: a session for the practitioner at the calling institution.
pub async fn login(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Response, ApiError> {
    let institution = signed(&state, &incoming, &body).await?;
    let login: Login = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "bad_login",
            format!("The sign-in body must be JSON {{\"userName\", \"password\", \"code\"}}: {e}"),
        )
    })?;
    let request = medgate_clinical::auth::SignIn {
        user_name: &login.user_name,
        password: &login.password,
        one_time_code: &login.code,
        institution: &institution.id,
        origin: institution.origin,
    };
    let opened =
        medgate_clinical::auth::sign_in(&state.metadata, &request, OffsetDateTime::now_utc())
            .await
            .map_err(refusal)?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "token": opened.token,
            "tokenType": "Bearer",
            "institution": institution.id.as_str(),
            "userName": login.user_name,
            "expiresAt": medgate_clinical::fhir::instant(opened.session.expires_at),
        })),
    )
        .into_response())
}

/// `POST /fhir/$logout`: ends the session the request carries.
pub async fn logout(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    signed(&state, &incoming, &body).await?;
    let token = bearer_token(&incoming.headers)?;
    medgate_clinical::auth::sign_out(&state.metadata, token)
        .await
        .map_err(refusal)?;
    Ok(StatusCode::NO_CONTENT)
}
