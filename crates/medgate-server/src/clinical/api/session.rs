//! Practitioner sign-in and sign-out: `POST /fhir/$login` with the user name, password and the
//! code the practitioner's TOTP token shows, from an institution's certificate, signed; the
//! answer's token opens clinical calls for 7 hours (`Authorization: Bearer …`). And the
//! connection probe of `medgate connect-check`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{bearer_token, institution, refusal, signed};
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
    let opened = medgate_clinical::auth::sign_in(&state.metadata, &request, state.clock.now())
        .await
        .map_err(|error| {
            if !matches!(
                error,
                medgate_clinical::ClinicalError::Storage { .. }
                    | medgate_clinical::ClinicalError::Internal { .. }
            ) {
                let (name, help) = super::LOGIN_REFUSALS_METRIC;
                state.metrics.counter(name, help).inc();
            }
            refusal(error)
        })?;
    let (name, help) = super::SESSIONS_OPENED_METRIC;
    state.metrics.counter(name, help).inc();
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

/// `POST /api/v1/probe`: what the service saw of this connection, for `medgate connect-check
/// --p12` (the platform's connection check): the certificate, whether it is an active
/// institution's (`account.tenant` = the institution id), whether the request's signature is
/// that certificate's. Always 200 once the TLS handshake got this far.
pub async fn probe(State(state): State<AppState>, incoming: Incoming, body: Bytes) -> Json<Value> {
    let presented = medgate_web::auth::presented_certificate(&incoming.peer).ok();
    let institution = institution(&state, &incoming).await;
    let account = match &institution {
        Ok(institution) => json!({ "accepted": true, "tenant": institution.id.as_str() }),
        Err(error) => json!({ "accepted": false, "code": error.code(), "message": error.to_string() }),
    };
    let signature = match &institution {
        Ok(institution) => match medgate_web::auth::verify_signature(
            &state,
            &institution.presented.certificate,
            &incoming.method,
            &incoming.uri,
            &incoming.headers,
            &body,
        )
        .await
        {
            Ok(_) => json!({ "valid": true }),
            Err(error) => json!({ "valid": false, "code": error.code(), "message": error.to_string() }),
        },
        Err(_) => json!({
            "valid": false,
            "code": "certificate_not_accepted",
            "message": "the signature is checked against an accepted institution certificate only"
        }),
    };
    Json(json!({
        "server_time": medgate_web::rfc3339(time::OffsetDateTime::now_utc()),
        "tls_version": incoming.peer.tls_version,
        "client_certificate": presented.as_ref().map(|p| json!({
            "subject": p.subject,
            "serial": p.serial_hex,
        })),
        "account": account,
        "signature": signature,
    }))
}
