//! The account's national credentials: the uploaded PKCS#12 files opened and checked, and
//! the stored ones turned back into a registry client. The private keys are kept encrypted
//! (PKCS#8 PBES2) under the node's credentials key and opened per call on the blocking pool.

use medgate_client::{RegistryClient, RegistryCredentials};
use medgate_ids::TenantId;
use medgate_pki::keystore::read_pkcs12;
use medgate_pki::{CertKind, Certificate, Password, PkiError, PrivateKey};
use medgate_storage::NationalCredentials;
use time::OffsetDateTime;

use super::{NationalSettings, RegistryEndpoint};
use crate::error::{Reason, RepositoryError};
use crate::{rfc3339, Repository};

/// One uploaded keystore, opened and checked: a certificate of `kind` for this account with
/// its key, issued by the registry's CA and valid now.
pub(super) struct NationalPart {
    pub chain: Vec<Certificate>,
    pub key: PrivateKey,
    pub serial: String,
    pub not_after: OffsetDateTime,
}

pub(super) fn open_p12(
    field: &str,
    bytes: &[u8],
    password: &Password,
    tenant: &TenantId,
    kind: CertKind,
    registry_ca: &[Certificate],
) -> Result<NationalPart, RepositoryError> {
    let bad = |reason: Reason, message: String| {
        RepositoryError::invalid(
            reason,
            field,
            format!("{field}: {message}; nothing was changed."),
        )
    };
    let contents =
        read_pkcs12(bytes, std::path::Path::new(field), password).map_err(|error| match error {
            PkiError::WrongPassword { .. } => bad(
                Reason::P12Password,
                "the password does not open this PKCS#12 file (or the file is damaged)".into(),
            ),
            other => RepositoryError::invalid(
                Reason::P12,
                field,
                format!("{other}; nothing was changed."),
            ),
        })?;
    let (Some(certificate), Some(key)) = (contents.certificate.clone(), contents.key) else {
        return Err(bad(
            Reason::P12,
            format!("must hold the national {kind} certificate together with its private key"),
        ));
    };
    if !medgate_pki::keystore::key_belongs_to(&key, &certificate).unwrap_or(false) {
        return Err(bad(
            Reason::P12,
            "the private key does not belong to the certificate".into(),
        ));
    }
    let summary = certificate
        .summary()
        .map_err(|_| bad(Reason::P12, "the certificate cannot be read".into()))?;
    let expected = kind.common_name(tenant);
    match &summary.tenant_name {
        Some(name) if name.tenant == *tenant && name.kind == kind => {}
        Some(name) if name.tenant == *tenant => {
            return Err(bad(
                Reason::CertificateKind,
                format!(
                    "holds the {} certificate; expected the {kind} certificate CN={expected}",
                    name.kind
                ),
            ))
        }
        _ => {
            return Err(bad(
                Reason::CertificateTenant,
                format!(
                    "holds a certificate with subject {}; expected CN={expected}",
                    summary.subject
                ),
            ))
        }
    }
    if !registry_ca
        .iter()
        .any(|ca| medgate_pki::check::issued_by(&certificate, ca))
    {
        return Err(bad(
            Reason::RegistryIssuer,
            format!(
                "the certificate {} was issued by {}, not by the national registry's CA; national certificates come from the registry's operator",
                summary.serial_hex, summary.issuer
            ),
        ));
    }
    let now = OffsetDateTime::now_utc();
    if now > summary.not_after {
        return Err(bad(
            Reason::CertificateExpired,
            format!("the certificate expired on {}", summary.not_after.date()),
        ));
    }
    if now < summary.not_before {
        return Err(bad(
            Reason::CertificateNotYetValid,
            format!(
                "the certificate is valid from {}",
                rfc3339(summary.not_before)
            ),
        ));
    }
    let mut chain = vec![certificate];
    chain.extend(contents.chain);
    Ok(NationalPart {
        chain,
        key,
        serial: summary.serial_hex,
        not_after: summary.not_after,
    })
}

/// The registry's CA certificate(s) from `[registry] ca_file`.
pub(super) fn registry_ca(link: &RegistryEndpoint) -> Result<Vec<Certificate>, RepositoryError> {
    medgate_pki::load_certificates(&link.ca_file)
        .map_err(|e| RepositoryError::internal("reading [registry] ca_file", e))
}

/// The secret the national keys are encrypted with.
pub(super) fn credentials_secret(settings: &NationalSettings) -> Result<Password, RepositoryError> {
    Password::from_file(&settings.credentials_key_file)
        .map_err(|e| RepositoryError::internal("reading the credentials key", e))
}

pub(super) fn pem_chain(chain: &[Certificate]) -> String {
    chain.iter().map(Certificate::to_pem).collect()
}

fn certificates_from_pem(
    text: &str,
    what: &'static str,
) -> Result<Vec<Certificate>, RepositoryError> {
    let blocks =
        pem::parse_many(text.as_bytes()).map_err(|e| RepositoryError::internal(what, e))?;
    let certificates = blocks
        .into_iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .map(|block| {
            Certificate::from_der(
                block.into_contents(),
                std::path::Path::new("stored national certificate"),
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RepositoryError::internal(what, e))?;
    if certificates.is_empty() {
        return Err(RepositoryError::internal(what, "no certificate stored"));
    }
    Ok(certificates)
}

/// The account's registry client from its stored national credentials, or `None` when it
/// has not registered.
pub(super) async fn national_client(
    repository: &Repository,
    settings: &NationalSettings,
    tenant: &TenantId,
) -> Result<Option<(RegistryClient, NationalCredentials)>, RepositoryError> {
    let Some(stored) = repository
        .metadata
        .national_credentials(tenant)
        .await
        .map_err(RepositoryError::storage("reading national credentials"))?
    else {
        return Ok(None);
    };
    let link = settings.registry_link()?;
    let trust = registry_ca(link)?;
    let secret = credentials_secret(settings)?;
    let tls_chain = certificates_from_pem(
        &stored.tls_certificate_pem,
        "stored national TLS certificate",
    )?;
    let mut wss = certificates_from_pem(
        &stored.wss_certificate_pem,
        "stored national WSS certificate",
    )?;
    let wss_certificate = wss.remove(0);
    let (tls_pem, wss_pem) = (stored.tls_key_pem.clone(), stored.wss_key_pem.clone());
    // PBKDF2 takes a moment; keep it off the request threads.
    let (tls_key, wss_key) = tokio::task::spawn_blocking(move || {
        let open = |pem: &str, name: &str| {
            PrivateKey::from_bytes(std::path::Path::new(name), pem.as_bytes(), Some(&secret))
        };
        Ok::<_, PkiError>((
            open(&tls_pem, "stored national TLS key")?,
            open(&wss_pem, "stored national WSS key")?,
        ))
    })
    .await
    .map_err(|e| RepositoryError::internal("opening national keys", e))?
    .map_err(|e| {
        RepositoryError::internal(
            "opening national keys (is credentials_key_file the one they were stored with?)",
            e,
        )
    })?;
    let client = RegistryClient::new(
        &link.url,
        &trust,
        tenant,
        RegistryCredentials {
            tls_chain,
            tls_key,
            wss_certificate,
            wss_key,
        },
        link.timeout,
    )
    .map_err(|e| RepositoryError::internal("registry client", e))?;
    Ok(Some((client, stored)))
}
