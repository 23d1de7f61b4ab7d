//! Who is calling: the TLS client certificate identifies the tenant (seed 000's support
//! catalogue gives the refusals: a WSS certificate or another tenant's → 400 naming the
//! expected `CN=<tenant> TLS`; an unregistered or replaced certificate → 403; a suspended or
//! expired account → 403), and every write carries an RFC 9421 signature by the tenant's
//! registered WSS key (→ 401 when missing, wrong, too old or replayed).

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use medgate_httpsig::{verify_request_digested, BodyDigests, VerifyPolicy, VerifyingKey};
use medgate_ids::TenantId;
use medgate_pki::{Certificate, TenantCommonName};
use medgate_storage::{
    Actor, AuditOrigin, CertificateKind, CertificateStatus, Sha256Digest, Tenant, TenantStatus,
};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::PeerInfo;
use crate::state::AppState;

/// The header a client uses to say which tenant it acts for.
pub const TENANT_HEADER: &str = "medgate-tenant";

/// Who acts for a tenant in a request: a clinic system identified by its TLS client
/// certificate ([`authenticate`]), or a staff member signed in to a desk of the pages (the
/// desk's signed-in extractor). Handlers and the domain see no difference: the tenant as
/// stored now, the actor the audit log names, and where the request came from.
#[derive(Clone, Debug)]
pub struct Caller {
    pub tenant: Tenant,
    /// The audit log's actor: the certificate's subject, or `admin:<login>` for a staff
    /// member.
    pub actor: String,
    pub origin: AuditOrigin,
}

impl Caller {
    /// Who acts, as the domain crates and the audit log take it.
    pub fn actor(&self) -> Actor {
        Actor {
            tenant: self.tenant.id.clone(),
            name: self.actor.clone(),
            origin: self.origin,
        }
    }
}

/// The presented certificate, parsed.
pub struct Presented {
    pub certificate: Certificate,
    pub subject: String,
    pub serial_hex: String,
    pub tenant_name: Option<TenantCommonName>,
    pub fingerprint: Sha256Digest,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Presented {
    /// The presented TLS client certificate is not revoked and within its dates now (the
    /// handshake that verified it may lie in the past of a kept-alive or resumed session).
    pub fn usable_now(&self, revocations: &crate::revocation::Revocations) -> Result<(), ApiError> {
        revocations.check_dates(
            &self.serial_hex,
            self.not_before,
            self.not_after,
            "The TLS client certificate",
        )
    }
}

/// Reads the client certificate the TLS layer verified.
pub fn presented_certificate(peer: &PeerInfo) -> Result<Presented, ApiError> {
    let der = peer
        .client_certificate
        .as_ref()
        .ok_or_else(ApiError::client_certificate_required)?;
    let certificate = Certificate::from_der(der.to_vec(), std::path::Path::new("client certificate"))
        .map_err(|_| ApiError::bad_request("bad_certificate", "The client certificate cannot be read."))?;
    let summary = certificate
        .summary()
        .map_err(|_| ApiError::bad_request("bad_certificate", "The client certificate cannot be read."))?;
    let fingerprint = certificate.sha256();
    Ok(Presented {
        subject: summary.subject.clone(),
        serial_hex: summary.serial_hex.clone(),
        tenant_name: summary.tenant_name.clone(),
        fingerprint: Sha256Digest::from_bytes(fingerprint),
        not_before: summary.not_before,
        not_after: summary.not_after,
        certificate,
    })
}

/// The tenant the client says it acts for (`medgate-tenant` header), if it says.
pub fn claimed_tenant(headers: &HeaderMap) -> Result<Option<TenantId>, ApiError> {
    match headers.get(TENANT_HEADER) {
        None => Ok(None),
        Some(value) => {
            let text = value.to_str().unwrap_or("");
            TenantId::parse(text).map(Some).map_err(|e| {
                ApiError::bad_request("bad_tenant_header", format!("Header {TENANT_HEADER}: {e}."))
            })
        }
    }
}

fn expected_tls(tenant: &TenantId) -> String {
    format!("CN={tenant} TLS")
}

/// Authenticates an API call by its TLS client certificate and checks the account may be
/// used now. The certificate itself is checked again on every request (revocation, dates):
/// the TLS handshake that verified it may lie in the past of a kept-alive connection or of a
/// resumed session.
pub async fn authenticate(
    state: &AppState,
    peer: &PeerInfo,
    headers: &HeaderMap,
) -> Result<Caller, ApiError> {
    let presented = presented_certificate(peer)?;
    presented.usable_now(&state.revocations)?;
    let claimed = claimed_tenant(headers)?;
    let owner = state
        .metadata
        .find_certificate(&presented.fingerprint)
        .await
        .map_err(|e| ApiError::internal("certificate lookup", &e))?;
    let tenant_id = match owner {
        Some(owner) if owner.kind == CertificateKind::Wss => {
            return Err(ApiError::bad_request(
                "wrong_certificate_kind",
                format!(
                    "The WSS (signing) certificate was presented for TLS; present the TLS certificate with subject {}.",
                    expected_tls(claimed.as_ref().unwrap_or(&owner.tenant))
                ),
            ));
        }
        Some(owner) if claimed.as_ref().is_some_and(|c| *c != owner.tenant) => {
            let claimed = claimed.as_ref().map(expected_tls).unwrap_or_default();
            return Err(ApiError::bad_request(
                "wrong_tenant_certificate",
                format!("This certificate belongs to another account; present the certificate with subject {claimed}."),
            ));
        }
        Some(owner) if owner.status == CertificateStatus::Replaced => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "certificate_not_registered",
                format!(
                    "Certificate {} was replaced by a newer one; use the account's current TLS certificate.",
                    presented.serial_hex
                ),
            ));
        }
        Some(owner) => owner.tenant,
        None => return Err(unregistered(&presented, claimed.as_ref())),
    };
    let tenant = state
        .metadata
        .get_tenant(&tenant_id)
        .await
        .map_err(|e| ApiError::internal("tenant lookup", &e))?
        .ok_or_else(|| unregistered(&presented, claimed.as_ref()))?;
    account_usable(&tenant)?;
    Ok(Caller {
        tenant,
        actor: presented.subject,
        origin: AuditOrigin::Address(peer.address.ip()),
    })
}

/// The refusal for a certificate that is not registered, with the most useful sentence the
/// certificate's subject allows.
fn unregistered(presented: &Presented, claimed: Option<&TenantId>) -> ApiError {
    if let Some(name) = &presented.tenant_name {
        let expected = claimed.unwrap_or(&name.tenant);
        if name.kind == medgate_pki::CertKind::Wss {
            return ApiError::bad_request(
                "wrong_certificate_kind",
                format!(
                    "The WSS (signing) certificate was presented for TLS; present the TLS certificate with subject {}.",
                    expected_tls(expected)
                ),
            );
        }
        if claimed.is_some_and(|c| *c != name.tenant) {
            return ApiError::bad_request(
                "wrong_tenant_certificate",
                format!(
                    "The certificate is for account {}; present the certificate with subject {}.",
                    name.tenant,
                    expected_tls(expected)
                ),
            );
        }
    }
    ApiError::new(
        StatusCode::FORBIDDEN,
        "certificate_not_registered",
        format!(
            "Certificate {} ({}) is not registered to an active account; activate the account with `medgate client activate`, or ask the operator.",
            presented.serial_hex, presented.subject
        ),
    )
}

/// Refuses a suspended, not yet activated, not yet valid or expired account.
pub fn account_usable(tenant: &Tenant) -> Result<(), ApiError> {
    let now = OffsetDateTime::now_utc();
    let forbidden = |code, message: String| Err(ApiError::new(StatusCode::FORBIDDEN, code, message));
    match tenant.status {
        TenantStatus::Suspended => {
            return forbidden(
                "account_suspended",
                format!("Account {} is suspended; contact the operator.", tenant.id),
            )
        }
        TenantStatus::Created => {
            return forbidden(
                "account_not_active",
                format!("Account {} is not activated yet; run `medgate client activate`.", tenant.id),
            )
        }
        TenantStatus::Active => {}
    }
    if now < tenant.plan.valid_from {
        return forbidden(
            "account_not_yet_valid",
            format!("Account {} is valid from {}.", tenant.id, tenant.plan.valid_from.date()),
        );
    }
    if now > tenant.plan.valid_to {
        return forbidden(
            "account_expired",
            format!(
                "Account {} expired on {}; ask the operator to extend the plan.",
                tenant.id,
                tenant.plan.valid_to.date()
            ),
        );
    }
    Ok(())
}

/// The absolute URI the client signed: scheme and authority come from the Host header.
fn absolute_uri(uri: &Uri, headers: &HeaderMap) -> Result<Uri, ApiError> {
    if uri.scheme().is_some() {
        return Ok(uri.clone());
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    format!("https://{host}{path}")
        .parse()
        .map_err(|_| ApiError::bad_request("bad_request_target", "The request target cannot be read."))
}

/// Verifies the RFC 9421 signature of a request against `wss` (the certificate whose key
/// must have signed it), and refuses a replay. Returns the key id used.
pub async fn verify_signature(
    state: &AppState,
    wss: &Certificate,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    verify_signature_digested(state, wss, method, uri, headers, &BodyDigests::of(body)).await
}

/// [`verify_signature`] for a body known by its length and digests (a streamed upload): the
/// body is not read again.
pub async fn verify_signature_digested(
    state: &AppState,
    wss: &Certificate,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &BodyDigests,
) -> Result<(), ApiError> {
    let unauthorized = |code: &'static str, message: String| ApiError::new(StatusCode::UNAUTHORIZED, code, message);
    let summary = wss
        .summary()
        .map_err(|e| ApiError::internal("reading the WSS certificate", &e))?;
    // The signing certificate must be usable at the time of the request, not only when it
    // was registered.
    state
        .revocations
        .check(&summary, "The WSS (signing) certificate")?;
    let key = VerifyingKey::from_certificate(wss)
        .map_err(|e| ApiError::internal("WSS public key", &e))?;
    let policy = VerifyPolicy {
        max_age: std::time::Duration::from_secs(state.node.signature_max_age_seconds),
        ..VerifyPolicy::default()
    };
    let target = absolute_uri(uri, headers)?;
    let expected_keyid = summary.serial_hex.clone();
    let verified = verify_request_digested(method, &target, headers, body, &policy, |keyid| {
        keyid.eq_ignore_ascii_case(&expected_keyid).then(|| key.clone())
    })
    .map_err(|error| {
        let message = if error.code() == "unknown_key" {
            format!(
                "The request was not signed with the account's registered WSS key (certificate {expected_keyid}); {error}"
            )
        } else {
            error.to_string()
        };
        unauthorized(error.code(), message)
    })?;
    let hash = Sha256Digest::parse_hex(&verified.signature_hash)
        .map_err(|e| ApiError::internal("signature hash", &e))?;
    let expires = verified.created + time::Duration::seconds(state.node.signature_max_age_seconds as i64 + 60);
    match state
        .metadata
        .remember_signature(&verified.keyid, &hash, expires)
        .await
    {
        Ok(()) => Ok(()),
        Err(medgate_storage::MetadataError::SignatureReplayed { .. }) => Err(unauthorized(
            "signature_replayed",
            "This signed request was already received; sign every request anew.".into(),
        )),
        Err(e) => Err(ApiError::internal("replay guard", &e)),
    }
}

/// The tenant's active WSS certificate.
pub async fn active_wss(state: &AppState, tenant: &TenantId) -> Result<Certificate, ApiError> {
    let certificates = state
        .metadata
        .active_certificates(tenant)
        .await
        .map_err(|e| ApiError::internal("certificate lookup", &e))?;
    let wss = certificates
        .into_iter()
        .find(|c| c.kind == CertificateKind::Wss)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "certificate_not_registered",
                "The account has no registered WSS certificate; run `medgate client activate`.",
            )
        })?;
    Certificate::from_der(wss.der, std::path::Path::new("registered WSS certificate"))
        .map_err(|e| ApiError::internal("registered WSS certificate", &e))
}
