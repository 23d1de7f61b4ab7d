//! Account routes: activation (certificates registered, provider OID recorded, domain and
//! repository ids assigned — one log line per step, as seed 000 shows them), the account
//! view with its warnings, certificate replacement, and the connection probe.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use medgate_ids::{Oid, TenantId};
use medgate_pki::{CertKind, Certificate};
use medgate_storage::{
    CertificateKind, NewCertificate, OidArc, Sha256Digest, Tenant, TenantActivation,
    TenantCertificate, TenantStatus,
};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use medgate_web::api::{audit, rfc3339, Incoming};
use medgate_web::auth::{self, Caller};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

/// Share of the quota above which the account view warns.
const QUOTA_WARNING_PERCENT: u64 = 90;
/// Days before expiry from which certificates and the account are flagged.
const EXPIRY_WARNING_DAYS: i64 = 30;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    provider_oid: String,
    tls_certificate: String,
    wss_certificate: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificatesRequest {
    tls_certificate: Option<String>,
    wss_certificate: Option<String>,
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad_json", format!("The request body is not the expected JSON: {e}.")))
}

/// Checks a certificate a tenant wants to register: issued by this repository's tenant CA,
/// for this tenant and kind, currently valid, not revoked, with the usages of its kind.
fn checked_certificate(
    state: &AppState,
    field: &str,
    pem_text: &str,
    tenant: &TenantId,
    kind: CertKind,
) -> Result<NewCertificate, ApiError> {
    let bad = |code: &'static str, message: String| ApiError::bad_request(code, format!("{field}: {message}"));
    let block = pem::parse(pem_text.as_bytes())
        .map_err(|_| bad("bad_certificate", "is not a PEM certificate.".into()))?;
    if block.tag() != "CERTIFICATE" {
        return Err(bad("bad_certificate", format!("is a {} block, not a CERTIFICATE.", block.tag())));
    }
    let certificate = Certificate::from_der(block.contents().to_vec(), std::path::Path::new(field))
        .map_err(|_| bad("bad_certificate", "cannot be read as X.509.".into()))?;
    checked_tenant_certificate(state, field, &certificate, tenant, kind)
}

/// [`checked_certificate`] for a certificate already read (the staff pages' uploads).
pub(crate) fn checked_tenant_certificate(
    state: &AppState,
    field: &str,
    certificate: &Certificate,
    tenant: &TenantId,
    kind: CertKind,
) -> Result<NewCertificate, ApiError> {
    let bad = |code: &'static str, message: String| ApiError::bad_request(code, format!("{field}: {message}"));
    let summary = certificate
        .summary()
        .map_err(|_| bad("bad_certificate", "cannot be read as X.509.".into()))?;
    let expected = kind.common_name(tenant);
    match &summary.tenant_name {
        Some(name) if name.tenant == *tenant && name.kind == kind => {}
        Some(name) if name.tenant == *tenant => {
            return Err(bad(
                "wrong_certificate_kind",
                format!("is the {} certificate; expected subject CN={expected}.", name.kind),
            ))
        }
        _ => {
            return Err(bad(
                "wrong_tenant_certificate",
                format!(
                    "has subject CN={}; expected CN={expected}.",
                    summary.common_name.clone().unwrap_or_default()
                ),
            ))
        }
    }
    if !medgate_pki::check::issued_by(certificate, state.ca.certificate()) {
        return Err(bad(
            "certificate_not_from_tenant_ca",
            format!("was issued by {}, not by this repository's tenant CA.", summary.issuer),
        ));
    }
    if state.ca.is_revoked(&summary.serial_hex).unwrap_or(false)
        || state.revocations.revoked(&summary.serial_hex).is_some()
    {
        return Err(bad("certificate_revoked", format!("certificate {} has been revoked.", summary.serial_hex)));
    }
    let now = OffsetDateTime::now_utc();
    if now > summary.not_after {
        return Err(bad("certificate_expired", format!("expired on {}.", summary.not_after.date())));
    }
    if now < summary.not_before {
        return Err(bad("certificate_not_yet_valid", format!("is valid from {}.", summary.not_before)));
    }
    let usages = &summary.usages;
    let usable = match kind {
        CertKind::Tls => usages.client_auth || !usages.has_extended_key_usage,
        CertKind::Wss => usages.digital_signature || !usages.has_key_usage,
    };
    if !usable {
        return Err(bad("wrong_key_usage", format!("does not allow the key usage a {kind} certificate needs.")));
    }
    let fingerprint = certificate.sha256();
    Ok(NewCertificate {
        kind: match kind {
            CertKind::Tls => CertificateKind::Tls,
            CertKind::Wss => CertificateKind::Wss,
        },
        serial_hex: summary.serial_hex,
        fingerprint_sha256: Sha256Digest::from_bytes(fingerprint),
        der: certificate.der().to_vec(),
        subject: summary.subject,
        not_before: summary.not_before,
        not_after: summary.not_after,
    })
}

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
            format!("The client certificate has subject {}; expected CN=<account id> TLS.", presented.subject),
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
    let tenant = state
        .metadata
        .get_tenant(&name.tenant)
        .await
        .map_err(|e| ApiError::internal("tenant lookup", &e))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "certificate_not_registered",
                format!("Account {} does not exist on this repository; ask the operator.", name.tenant),
            )
        })?;
    match tenant.status {
        TenantStatus::Created => {}
        TenantStatus::Active => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_active",
                format!("Account {} is already active; use `medgate client update-certs` to replace certificates.", tenant.id),
            ))
        }
        TenantStatus::Suspended => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "account_suspended",
                format!("Account {} is suspended; contact the operator.", tenant.id),
            ))
        }
    }
    let request: ActivateRequest = parse_json(&body)?;
    let provider_oid = Oid::parse(request.provider_oid.trim())
        .map_err(|e| ApiError::bad_request("bad_provider_oid", format!("provider_oid: {e}.")))?;
    let tls = checked_certificate(&state, "tls_certificate", &request.tls_certificate, &tenant.id, CertKind::Tls)?;
    if tls.fingerprint_sha256 != presented.fingerprint {
        return Err(ApiError::bad_request(
            "tls_certificate_mismatch",
            "tls_certificate is not the certificate presented on this connection.",
        ));
    }
    let wss = checked_certificate(&state, "wss_certificate", &request.wss_certificate, &tenant.id, CertKind::Wss)?;
    let wss_certificate = Certificate::from_der(wss.der.clone(), std::path::Path::new("wss_certificate"))
        .map_err(|e| ApiError::internal("WSS certificate", &e))?;
    // The request must be signed with the WSS key being registered: proof that the caller
    // holds it.
    auth::verify_signature(&state, &wss_certificate, &incoming.method, &incoming.uri, &incoming.headers, &body).await?;

    let (log, detail) = activate_account(&state, &tenant.id, provider_oid, tls, wss).await?;
    let caller = Caller {
        tenant: tenant.clone(),
        actor: presented.subject.clone(),
        origin: medgate_storage::AuditOrigin::Address(incoming.peer.address.ip()),
    };
    audit(&state, &caller, "account.activate", tenant.id.as_str(), detail).await?;
    let account = account_view(&state, &tenant.id).await?;
    Ok(Json(json!({ "log": log, "account": account })))
}

/// Activates a new account with its checked certificates: registers them, records the
/// provider OID and assigns the domain and repository ids. Returns the steps' log lines (as
/// seed 000 prints them) and the audit entry's details. The API's activation (with the
/// certificate presented and the request signed) and the administrator's page both end here.
pub(crate) async fn activate_account(
    state: &AppState,
    tenant: &TenantId,
    provider_oid: Oid,
    tls: NewCertificate,
    wss: NewCertificate,
) -> Result<(Vec<String>, String), ApiError> {
    let mut log = vec!["Certificates accepted.".to_owned()];
    register(state, tenant, &[tls, wss]).await?;
    let domain_arc = allocate(state, OidArc::Domain).await?;
    let repository_arc = allocate(state, OidArc::Repository).await?;
    let root = &state.node.oid_root;
    let domain_id = root.child(2).child(domain_arc);
    let repository_id = root.child(4).child(repository_arc);
    state
        .metadata
        .activate_tenant(
            tenant,
            &TenantActivation {
                provider_oid: provider_oid.clone(),
                domain_id: domain_id.clone(),
                repository_id: repository_id.clone(),
            },
        )
        .await
        .map_err(|e| ApiError::internal("activating", &e))?;
    log.push("Account activated.".to_owned());
    log.push(format!("Provider OID \"{provider_oid}\" recorded."));
    log.push(format!("Domain id assigned: {domain_id}."));
    log.push(format!("Repository id assigned: {repository_id}."));
    Ok((log, format!("provider {provider_oid}; domain {domain_id}; repository {repository_id}")))
}

/// Registers checked certificates for an account; the ones they replace stop working at
/// once. Returns "kind serial" of each, for the audit log.
pub(crate) async fn register(
    state: &AppState,
    tenant: &TenantId,
    new: &[NewCertificate],
) -> Result<Vec<String>, ApiError> {
    state
        .metadata
        .register_certificates(tenant, new)
        .await
        .map_err(|e| match e {
            medgate_storage::MetadataError::CertificateExists { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "certificate_in_use",
                "This certificate is already registered; request a new certificate.",
            ),
            other => ApiError::internal("registering certificates", &other),
        })?;
    Ok(new.iter().map(|c| format!("{} {}", c.kind.as_str(), c.serial_hex)).collect())
}

async fn allocate(state: &AppState, arc: OidArc) -> Result<u64, ApiError> {
    state
        .metadata
        .allocate_arc(arc)
        .await
        .map_err(|e| ApiError::internal("allocating an id", &e))
}

/// `GET /api/v1/account`.
pub async fn show(State(state): State<AppState>, incoming: Incoming) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let view = account_view(&state, &caller.tenant.id).await?;
    audit(&state, &caller, "account.show", caller.tenant.id.as_str(), String::new()).await?;
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
    let request: CertificatesRequest = parse_json(&body)?;
    let mut new = Vec::new();
    if let Some(pem_text) = &request.tls_certificate {
        new.push(checked_certificate(&state, "tls_certificate", pem_text, &caller.tenant.id, CertKind::Tls)?);
    }
    if let Some(pem_text) = &request.wss_certificate {
        new.push(checked_certificate(&state, "wss_certificate", pem_text, &caller.tenant.id, CertKind::Wss)?);
    }
    if new.is_empty() {
        return Err(ApiError::bad_request("nothing_to_update", "Give tls_certificate, wss_certificate or both."));
    }
    let serials = register(&state, &caller.tenant.id, &new).await?;
    audit(&state, &caller, "account.certificates", caller.tenant.id.as_str(), serials.join("; ")).await?;
    Ok(Json(account_view(&state, &caller.tenant.id).await?))
}

fn days_left(until: OffsetDateTime) -> i64 {
    (until - OffsetDateTime::now_utc()).whole_days()
}

fn certificate_json(certificate: &TenantCertificate) -> Value {
    json!({
        "kind": certificate.kind.as_str(),
        "serial": certificate.serial_hex,
        "subject": certificate.subject,
        "not_before": rfc3339(certificate.not_before),
        "not_after": rfc3339(certificate.not_after),
        "days_left": days_left(certificate.not_after),
    })
}

fn status_name(status: TenantStatus) -> &'static str {
    match status {
        TenantStatus::Created => "created",
        TenantStatus::Active => "active",
        TenantStatus::Suspended => "suspended",
    }
}

/// The account view: status, ids, plan, usage, certificates and warnings.
pub async fn account_view(state: &AppState, tenant_id: &TenantId) -> Result<Value, ApiError> {
    let tenant: Tenant = state
        .metadata
        .get_tenant(tenant_id)
        .await
        .map_err(|e| ApiError::internal("tenant lookup", &e))?
        .ok_or_else(|| ApiError::not_found("account"))?;
    let usage = state
        .metadata
        .usage(tenant_id)
        .await
        .map_err(|e| ApiError::internal("usage", &e))?;
    let certificates = state
        .metadata
        .active_certificates(tenant_id)
        .await
        .map_err(|e| ApiError::internal("certificates", &e))?;
    let mut warnings = Vec::new();
    let quota = tenant.plan.quota_bytes;
    if quota > 0 && usage.bytes.saturating_mul(100) >= quota.saturating_mul(QUOTA_WARNING_PERCENT) {
        warnings.push(json!({
            "code": "quota_nearly_full",
            "message": format!("{}% of the quota is used.", usage.bytes.saturating_mul(100) / quota),
        }));
    }
    if tenant.plan.max_files > 0 && usage.files.saturating_mul(100) >= tenant.plan.max_files.saturating_mul(QUOTA_WARNING_PERCENT) {
        warnings.push(json!({
            "code": "file_limit_nearly_reached",
            "message": format!("{} of {} files are used.", usage.files, tenant.plan.max_files),
        }));
    }
    for certificate in &certificates {
        let left = days_left(certificate.not_after);
        if left < EXPIRY_WARNING_DAYS {
            warnings.push(json!({
                "code": "certificate_expiring",
                "message": if left < 0 {
                    format!("The {} certificate {} has expired.", certificate.kind.as_str(), certificate.serial_hex)
                } else {
                    format!("The {} certificate {} expires in {left} days; request a new one.", certificate.kind.as_str(), certificate.serial_hex)
                },
            }));
        }
    }
    let account_left = days_left(tenant.plan.valid_to);
    if account_left < EXPIRY_WARNING_DAYS {
        warnings.push(json!({
            "code": "account_expiring",
            "message": if account_left < 0 {
                "The account has expired.".to_owned()
            } else {
                format!("The account expires in {account_left} days.")
            },
        }));
    }
    const MB: u64 = 1024 * 1024;
    Ok(json!({
        "tenant": tenant.id.as_str(),
        "status": status_name(tenant.status),
        "valid_from": rfc3339(tenant.plan.valid_from),
        "valid_to": rfc3339(tenant.plan.valid_to),
        "provider_oid": tenant.provider_oid.as_ref().map(|o| o.as_str()),
        "domain_id": tenant.domain_id.as_ref().map(|o| o.as_str()),
        "repository_id": tenant.repository_id.as_ref().map(|o| o.as_str()),
        "national_repository_id": tenant.national_repository_id.as_ref().map(|o| o.as_str()),
        "quota": {
            "used_bytes": usage.bytes,
            "total_bytes": quota,
            "used_mb": usage.bytes.div_ceil(MB),
            "total_mb": quota / MB,
            "files": usage.files,
            "max_files": tenant.plan.max_files,
        },
        "certificates": certificates.iter().map(certificate_json).collect::<Vec<_>>(),
        "warnings": warnings,
    }))
}

/// `POST /api/v1/probe`: what the server saw of this connection, for `medgate
/// connect-check`. Always answers 200 when the TLS handshake got this far.
pub async fn probe(State(state): State<AppState>, incoming: Incoming, body: Bytes) -> Json<Value> {
    let presented = auth::presented_certificate(&incoming.peer).ok();
    let account = match incoming.caller(&state).await {
        Ok(caller) => json!({ "accepted": true, "tenant": caller.tenant.id.as_str() }),
        Err(error) => json!({ "accepted": false, "code": error.code(), "message": error.to_string() }),
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
