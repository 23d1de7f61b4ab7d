//! Account routes: activation (the presented certificate and the signature are checked
//! here, the rest is the domain's `medgate_repository::account`), the account view with its
//! warnings, certificate replacement, and the connection probe.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use medgate_pki::CertKind;
use medgate_repository::{account, Actor};
use medgate_storage::AuditOrigin;
use serde_json::{json, Value};
use time::OffsetDateTime;

use medgate_web::api::{rfc3339, Incoming};
use medgate_web::auth;
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

use crate::repository::{domain, issuer, refused};

/// `POST /api/v1/account/activate`: the first call of a new tenant.
pub async fn activate(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let presented = auth::presented_certificate(&incoming.peer)?;
    let Some(name) = presented.tenant_name.clone() else {
        return Err(ApiError::bad_request(
            "wrong_tenant_certificate",
            format!(
                "The client certificate has subject {}; expected CN=<account id> TLS.",
                presented.subject
            ),
        ));
    };
    if name.kind != CertKind::Tls {
        return Err(ApiError::bad_request(
            "wrong_certificate_kind",
            format!("The WSS (signing) certificate was presented for TLS; present the TLS certificate with subject CN={} TLS.", name.tenant),
        ));
    }
    if let Some(claimed) = auth::claimed_tenant(&incoming.headers)? {
        if claimed != name.tenant {
            return Err(ApiError::bad_request(
                "wrong_tenant_certificate",
                format!("The certificate is for account {}; present the certificate with subject CN={claimed} TLS.", name.tenant),
            ));
        }
    }
    let repository = domain(&state);
    let tenant = account::activation_target(&repository, &name.tenant)
        .await
        .map_err(refused)?;
    let activation =
        account::checked_activation(&issuer(&state), &tenant.id, &body, &presented.fingerprint)
            .map_err(refused)?;
    // The request must be signed with the WSS key being registered: proof that the caller
    // holds it.
    let wss_certificate = activation.wss_certificate().map_err(refused)?;
    auth::verify_signature(
        &state,
        &wss_certificate,
        &incoming.method,
        &incoming.uri,
        &incoming.headers,
        &body,
    )
    .await?;
    let actor = Actor {
        tenant: tenant.id.clone(),
        name: presented.subject.clone(),
        origin: AuditOrigin::Address(incoming.peer.address.ip()),
    };
    let activated = account::activate(&repository, &state.node.oid_root, &actor, activation)
        .await
        .map_err(refused)?;
    Ok(Json(
        json!({ "log": activated.log, "account": activated.account }),
    ))
}

/// `GET /api/v1/account`.
pub async fn show(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let view = account::show(&domain(&state), &caller.actor())
        .await
        .map_err(refused)?;
    Ok(Json(view))
}

/// `PUT /api/v1/account/certificates`: replaces the TLS and/or WSS certificate; the old
/// ones stop working at once (403 `certificate_not_registered`).
pub async fn update_certificates(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let view =
        account::update_certificates(&domain(&state), &issuer(&state), &caller.actor(), &body)
            .await
            .map_err(refused)?;
    Ok(Json(view))
}

/// `POST /api/v1/probe`: what the server saw of this connection, for `medgate
/// connect-check`. Always answers 200 when the TLS handshake got this far.
pub async fn probe(State(state): State<AppState>, incoming: Incoming, body: Bytes) -> Json<Value> {
    let presented = auth::presented_certificate(&incoming.peer).ok();
    let account = match incoming.caller(&state).await {
        Ok(caller) => json!({ "accepted": true, "tenant": caller.tenant.id.as_str() }),
        Err(error) => {
            json!({ "accepted": false, "code": error.code(), "message": error.to_string() })
        }
    };
    let signature = match incoming.signed_caller(&state, &body).await {
        Ok(_) => json!({ "valid": true }),
        Err(error) => json!({ "valid": false, "code": error.code(), "message": error.to_string() }),
    };
    Json(json!({
        "server_time": rfc3339(OffsetDateTime::now_utc()),
        "tls_version": incoming.peer.tls_version,
        "client_certificate": presented.as_ref().map(|p| json!({
            "subject": p.subject,
            "serial": p.serial_hex,
        })),
        "account": account,
        "signature": signature,
    }))
}
