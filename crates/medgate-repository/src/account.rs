//! The account: its view (status, ids, plan, usage, certificates and warnings), the checks a
//! certificate passes before it is registered for the account, activation (certificates
//! registered, provider OID recorded, domain and repository ids assigned — one log line per
//! step, as seed 000 shows them) and certificate replacement.

use medgate_ids::{Oid, TenantId};
use medgate_pki::ca::CertificateAuthority;
use medgate_pki::{CertKind, Certificate};
use medgate_storage::{
    CertificateKind, MetadataError, NewCertificate, OidArc, Sha256Digest, Tenant, TenantActivation,
    TenantCertificate, TenantStatus,
};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::{Reason, RepositoryError};
use crate::{rfc3339, Actor, Repository};

/// Share of the quota above which the account view warns.
const QUOTA_WARNING_PERCENT: u64 = 90;
/// Days before expiry from which certificates and the account are flagged.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// Who issues the accounts' certificates: the node's tenant CA, and the revocations the
/// node enforces beside the CA's own record.
pub struct Issuer<'a> {
    pub ca: &'a CertificateAuthority,
    /// Whether the node holds a revocation of the certificate with this serial (upper hex).
    pub is_revoked: Box<dyn Fn(&str) -> bool + Send + Sync + 'a>,
}

/// Checks a certificate given as PEM for `field` (see [`checked_certificate`]).
pub fn checked_certificate_pem(
    issuer: &Issuer<'_>,
    field: &str,
    pem_text: &str,
    tenant: &TenantId,
    kind: CertKind,
) -> Result<NewCertificate, RepositoryError> {
    let bad = |reason: Reason, message: String| {
        RepositoryError::invalid(reason, field, format!("{field}: {message}"))
    };
    let block = pem::parse(pem_text.as_bytes())
        .map_err(|_| bad(Reason::Certificate, "is not a PEM certificate.".into()))?;
    if block.tag() != "CERTIFICATE" {
        return Err(bad(
            Reason::Certificate,
            format!("is a {} block, not a CERTIFICATE.", block.tag()),
        ));
    }
    let certificate = Certificate::from_der(block.contents().to_vec(), std::path::Path::new(field))
        .map_err(|_| bad(Reason::Certificate, "cannot be read as X.509.".into()))?;
    checked_certificate(issuer, field, &certificate, tenant, kind)
}

/// Checks a certificate an account wants to register as its `kind` certificate: issued by
/// the tenant CA, for this account and kind, valid now, not revoked, with the usages of its
/// kind. `field` names the input in every refusal.
pub fn checked_certificate(
    issuer: &Issuer<'_>,
    field: &str,
    certificate: &Certificate,
    tenant: &TenantId,
    kind: CertKind,
) -> Result<NewCertificate, RepositoryError> {
    let bad = |reason: Reason, message: String| {
        RepositoryError::invalid(reason, field, format!("{field}: {message}"))
    };
    let summary = certificate
        .summary()
        .map_err(|_| bad(Reason::Certificate, "cannot be read as X.509.".into()))?;
    let expected = kind.common_name(tenant);
    match &summary.tenant_name {
        Some(name) if name.tenant == *tenant && name.kind == kind => {}
        Some(name) if name.tenant == *tenant => {
            return Err(bad(
                Reason::CertificateKind,
                format!(
                    "is the {} certificate; expected subject CN={expected}.",
                    name.kind
                ),
            ))
        }
        _ => {
            return Err(bad(
                Reason::CertificateTenant,
                format!(
                    "has subject CN={}; expected CN={expected}.",
                    summary.common_name.clone().unwrap_or_default()
                ),
            ))
        }
    }
    if !medgate_pki::check::issued_by(certificate, issuer.ca.certificate()) {
        return Err(bad(
            Reason::CertificateIssuer,
            format!(
                "was issued by {}, not by this repository's tenant CA.",
                summary.issuer
            ),
        ));
    }
    if issuer.ca.is_revoked(&summary.serial_hex).unwrap_or(false)
        || (issuer.is_revoked)(&summary.serial_hex)
    {
        return Err(bad(
            Reason::CertificateRevoked,
            format!("certificate {} has been revoked.", summary.serial_hex),
        ));
    }
    let now = OffsetDateTime::now_utc();
    if now > summary.not_after {
        return Err(bad(
            Reason::CertificateExpired,
            format!("expired on {}.", summary.not_after.date()),
        ));
    }
    if now < summary.not_before {
        return Err(bad(
            Reason::CertificateNotYetValid,
            format!("is valid from {}.", summary.not_before),
        ));
    }
    let usages = &summary.usages;
    let usable = match kind {
        CertKind::Tls => usages.client_auth || !usages.has_extended_key_usage,
        CertKind::Wss => usages.digital_signature || !usages.has_key_usage,
    };
    if !usable {
        return Err(bad(
            Reason::KeyUsage,
            format!("does not allow the key usage a {kind} certificate needs."),
        ));
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

/// The account `tenant` when it can be activated: it exists and was never activated.
pub async fn activation_target(
    repository: &Repository,
    tenant: &TenantId,
) -> Result<Tenant, RepositoryError> {
    let tenant = repository
        .metadata
        .get_tenant(tenant)
        .await
        .map_err(RepositoryError::storage("tenant lookup"))?
        .ok_or_else(|| RepositoryError::UnknownAccount(tenant.clone()))?;
    match tenant.status {
        TenantStatus::Created => Ok(tenant),
        TenantStatus::Active => Err(RepositoryError::AlreadyActive(tenant.id)),
        TenantStatus::Suspended => Err(RepositoryError::AccountSuspended(tenant.id)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivateRequest {
    provider_oid: String,
    tls_certificate: String,
    wss_certificate: String,
}

/// An activation whose request was checked: the provider OID and both certificates.
pub struct Activation {
    pub provider_oid: Oid,
    pub tls: NewCertificate,
    pub wss: NewCertificate,
}

impl Activation {
    /// The WSS certificate being registered: the activation request must be signed with its
    /// key, as proof that the caller holds it.
    pub fn wss_certificate(&self) -> Result<Certificate, RepositoryError> {
        Certificate::from_der(
            self.wss.der.clone(),
            std::path::Path::new("wss_certificate"),
        )
        .map_err(|e| RepositoryError::internal("WSS certificate", e))
    }
}

/// Checks an activation request (`{provider_oid, tls_certificate, wss_certificate}`, PEM)
/// for `tenant`; the TLS certificate must be the one `presented` on the connection.
pub fn checked_activation(
    issuer: &Issuer<'_>,
    tenant: &TenantId,
    body: &[u8],
    presented: &Sha256Digest,
) -> Result<Activation, RepositoryError> {
    let request: ActivateRequest = crate::parse_json(body)?;
    let provider_oid = Oid::parse(request.provider_oid.trim()).map_err(|e| {
        RepositoryError::invalid(
            Reason::ProviderOid,
            "provider_oid",
            format!("provider_oid: {e}."),
        )
    })?;
    let tls = checked_certificate_pem(
        issuer,
        "tls_certificate",
        &request.tls_certificate,
        tenant,
        CertKind::Tls,
    )?;
    if tls.fingerprint_sha256 != *presented {
        return Err(RepositoryError::invalid(
            Reason::TlsCertificateMismatch,
            "tls_certificate",
            "tls_certificate is not the certificate presented on this connection.",
        ));
    }
    let wss = checked_certificate_pem(
        issuer,
        "wss_certificate",
        &request.wss_certificate,
        tenant,
        CertKind::Wss,
    )?;
    Ok(Activation {
        provider_oid,
        tls,
        wss,
    })
}

/// What an activation did.
pub struct Activated {
    /// One line per step, as seed 000 prints them.
    pub log: Vec<String>,
    /// The account view afterwards.
    pub account: Value,
}

/// Activates the actor's account with a checked request (see [`activate_account`]), audited
/// as `account.activate`.
pub async fn activate(
    repository: &Repository,
    oid_root: &Oid,
    actor: &Actor,
    activation: Activation,
) -> Result<Activated, RepositoryError> {
    let (log, detail) = activate_account(
        repository,
        oid_root,
        &actor.tenant,
        activation.provider_oid,
        activation.tls,
        activation.wss,
    )
    .await?;
    repository
        .audit(
            actor,
            "account.activate",
            actor.tenant.as_str(),
            None,
            detail,
        )
        .await?;
    let account = view(repository, &actor.tenant).await?;
    Ok(Activated { log, account })
}

/// Activates a new account with its checked certificates: registers them, records the
/// provider OID and assigns the domain and repository ids under `oid_root`. Returns the
/// steps' log lines and the audit entry's details; [`activate`] audits it.
async fn activate_account(
    repository: &Repository,
    oid_root: &Oid,
    tenant: &TenantId,
    provider_oid: Oid,
    tls: NewCertificate,
    wss: NewCertificate,
) -> Result<(Vec<String>, String), RepositoryError> {
    let mut log = vec!["Certificates accepted.".to_owned()];
    register(repository, tenant, &[tls, wss]).await?;
    let domain_arc = allocate(repository, OidArc::Domain).await?;
    let repository_arc = allocate(repository, OidArc::Repository).await?;
    let domain_id = oid_root.child(2).child(domain_arc);
    let repository_id = oid_root.child(4).child(repository_arc);
    repository
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
        .map_err(RepositoryError::storage("activating"))?;
    log.push("Account activated.".to_owned());
    log.push(format!("Provider OID \"{provider_oid}\" recorded."));
    log.push(format!("Domain id assigned: {domain_id}."));
    log.push(format!("Repository id assigned: {repository_id}."));
    Ok((
        log,
        format!("provider {provider_oid}; domain {domain_id}; repository {repository_id}"),
    ))
}

/// Registers checked certificates for an account; the ones they replace stop working at
/// once. Returns "kind serial" of each, for the audit log.
async fn register(
    repository: &Repository,
    tenant: &TenantId,
    new: &[NewCertificate],
) -> Result<Vec<String>, RepositoryError> {
    repository
        .metadata
        .register_certificates(tenant, new)
        .await
        .map_err(|e| match e {
            MetadataError::CertificateExists { .. } => RepositoryError::CertificateInUse,
            other => RepositoryError::storage("registering certificates")(other),
        })?;
    Ok(new
        .iter()
        .map(|c| format!("{} {}", c.kind.as_str(), c.serial_hex))
        .collect())
}

async fn allocate(repository: &Repository, arc: OidArc) -> Result<u64, RepositoryError> {
    repository
        .metadata
        .allocate_arc(arc)
        .await
        .map_err(RepositoryError::storage("allocating an id"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificatesRequest {
    tls_certificate: Option<String>,
    wss_certificate: Option<String>,
}

/// Replaces the TLS and/or WSS certificate (`{tls_certificate?, wss_certificate?}`, PEM);
/// the old ones stop working at once. Audited as `account.certificates`; answers the
/// account view.
pub async fn update_certificates(
    repository: &Repository,
    issuer: &Issuer<'_>,
    actor: &Actor,
    body: &[u8],
) -> Result<Value, RepositoryError> {
    let request: CertificatesRequest = crate::parse_json(body)?;
    let mut new = Vec::new();
    if let Some(pem_text) = &request.tls_certificate {
        new.push(checked_certificate_pem(
            issuer,
            "tls_certificate",
            pem_text,
            &actor.tenant,
            CertKind::Tls,
        )?);
    }
    if let Some(pem_text) = &request.wss_certificate {
        new.push(checked_certificate_pem(
            issuer,
            "wss_certificate",
            pem_text,
            &actor.tenant,
            CertKind::Wss,
        )?);
    }
    if new.is_empty() {
        return Err(RepositoryError::invalid(
            Reason::NothingToUpdate,
            "body",
            "Give tls_certificate, wss_certificate or both.",
        ));
    }
    register_certificates(repository, actor, &new).await?;
    view(repository, &actor.tenant).await
}

/// Registers checked certificates for the actor's account, audited as
/// `account.certificates`; the ones they replace stop working at once.
pub async fn register_certificates(
    repository: &Repository,
    actor: &Actor,
    new: &[NewCertificate],
) -> Result<(), RepositoryError> {
    let serials = register(repository, &actor.tenant, new).await?;
    repository
        .audit(
            actor,
            "account.certificates",
            actor.tenant.as_str(),
            None,
            serials.join("; "),
        )
        .await
}

/// Records certificates issued for the actor's account by the node's tenant CA (their
/// keys went to the administrator), registering them when `register_now`; audited as
/// `account.certificates_issued`.
pub async fn certificates_issued(
    repository: &Repository,
    actor: &Actor,
    new: &[NewCertificate],
    register_now: bool,
) -> Result<(), RepositoryError> {
    let serials: Vec<String> = new
        .iter()
        .map(|c| format!("{} {}", c.kind.as_str(), c.serial_hex))
        .collect();
    if register_now {
        register(repository, &actor.tenant, new).await?;
    }
    let registered = if register_now {
        "registered"
    } else {
        "not registered"
    };
    repository
        .audit(
            actor,
            "account.certificates_issued",
            actor.tenant.as_str(),
            None,
            format!("{}; {registered}", serials.join("; ")),
        )
        .await
}

/// The actor's account view (see [`view`]), audited as `account.show`.
pub async fn show(repository: &Repository, actor: &Actor) -> Result<Value, RepositoryError> {
    let view = view(repository, &actor.tenant).await?;
    repository
        .audit(
            actor,
            "account.show",
            actor.tenant.as_str(),
            None,
            String::new(),
        )
        .await?;
    Ok(view)
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

/// The account view, as `GET /api/v1/account` answers it and the account panel shows it:
/// status, ids, plan, usage, certificates and warnings (quota or file limit nearly reached,
/// a certificate or the account expiring within 30 days). Not audited.
pub async fn view(repository: &Repository, tenant_id: &TenantId) -> Result<Value, RepositoryError> {
    let tenant: Tenant = repository
        .metadata
        .get_tenant(tenant_id)
        .await
        .map_err(RepositoryError::storage("tenant lookup"))?
        .ok_or(RepositoryError::NotFound { what: "account" })?;
    let usage = repository
        .metadata
        .usage(tenant_id)
        .await
        .map_err(RepositoryError::storage("usage"))?;
    let certificates = repository
        .metadata
        .active_certificates(tenant_id)
        .await
        .map_err(RepositoryError::storage("certificates"))?;
    let mut warnings = Vec::new();
    let quota = tenant.plan.quota_bytes;
    if quota > 0 && usage.bytes.saturating_mul(100) >= quota.saturating_mul(QUOTA_WARNING_PERCENT) {
        warnings.push(json!({
            "code": "quota_nearly_full",
            "message": format!("{}% of the quota is used.", usage.bytes.saturating_mul(100) / quota),
        }));
    }
    if tenant.plan.max_files > 0
        && usage.files.saturating_mul(100)
            >= tenant.plan.max_files.saturating_mul(QUOTA_WARNING_PERCENT)
    {
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

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
