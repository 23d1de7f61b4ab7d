//! Tenant certificates (TLS for mutual TLS, WSS for request signatures): registration, which
//! replaces the active certificate of the same kind, and lookup by SHA-256 fingerprint.

use medgate_ids::TenantId;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{
    column, from_unix, is_foreign_key_violation, is_unique_violation, now, parsed_column, to_unix,
    Metadata,
};
use crate::error::MetadataError;
use crate::values::Sha256Digest;

/// What a tenant certificate is for (its CN ends in `TLS` or `WSS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertificateKind {
    /// Client certificate for mutual TLS.
    Tls,
    /// Signing certificate for request signatures.
    Wss,
}

impl CertificateKind {
    /// `TLS` or `WSS`, as in the certificate's common name.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateKind::Tls => "TLS",
            CertificateKind::Wss => "WSS",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "TLS" => Ok(CertificateKind::Tls),
            "WSS" => Ok(CertificateKind::Wss),
            other => Err(format!("unknown certificate kind '{other}'")),
        }
    }
}

/// Whether a registered certificate is the one in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateStatus {
    Active,
    /// A newer certificate of the same kind was registered.
    Replaced,
}

impl CertificateStatus {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "active" => Ok(CertificateStatus::Active),
            "replaced" => Ok(CertificateStatus::Replaced),
            other => Err(format!("unknown certificate status '{other}'")),
        }
    }
}

/// A certificate to register, already parsed and checked by the caller.
#[derive(Clone, PartialEq, Eq)]
pub struct NewCertificate {
    pub kind: CertificateKind,
    /// Serial number, upper-case hex.
    pub serial_hex: String,
    pub fingerprint_sha256: Sha256Digest,
    pub der: Vec<u8>,
    pub subject: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl std::fmt::Debug for NewCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCertificate")
            .field("kind", &self.kind)
            .field("serial_hex", &self.serial_hex)
            .field("fingerprint_sha256", &self.fingerprint_sha256)
            .field("subject", &self.subject)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// A registered certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantCertificate {
    pub tenant: TenantId,
    pub kind: CertificateKind,
    pub serial_hex: String,
    pub fingerprint_sha256: Sha256Digest,
    pub der: Vec<u8>,
    pub subject: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub status: CertificateStatus,
    pub registered_at: OffsetDateTime,
    pub replaced_at: Option<OffsetDateTime>,
}

/// Whose certificate a fingerprint is, for authenticating a connection or a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateOwner {
    pub tenant: TenantId,
    pub kind: CertificateKind,
    pub status: CertificateStatus,
}

const CERTIFICATE_COLUMNS: &str = "tenant_id, kind, serial_hex, fingerprint_sha256, der, \
     subject, not_before, not_after, status, registered_at, replaced_at";

fn certificate_from_row(row: &AnyRow) -> Result<TenantCertificate, MetadataError> {
    let replaced_at: Option<i64> = column(row, "replaced_at")?;
    Ok(TenantCertificate {
        tenant: parsed_column(row, "tenant_id", TenantId::parse)?,
        kind: parsed_column(row, "kind", CertificateKind::parse)?,
        serial_hex: column(row, "serial_hex")?,
        fingerprint_sha256: parsed_column(row, "fingerprint_sha256", Sha256Digest::parse_hex)?,
        der: column(row, "der")?,
        subject: column(row, "subject")?,
        not_before: from_unix("not_before", column(row, "not_before")?)?,
        not_after: from_unix("not_after", column(row, "not_after")?)?,
        status: parsed_column(row, "status", CertificateStatus::parse)?,
        registered_at: from_unix("registered_at", column(row, "registered_at")?)?,
        replaced_at: replaced_at
            .map(|seconds| from_unix("replaced_at", seconds))
            .transpose()?,
    })
}

impl Metadata {
    /// Registers a set of certificates (usually one TLS and one WSS) in one transaction: each
    /// becomes the active certificate of its kind and the previous active one of that kind is
    /// marked replaced. Either all of the set is registered or none. A fingerprint that is
    /// already registered (to any tenant) is refused.
    pub async fn register_certificates(
        &self,
        tenant: &TenantId,
        certificates: &[NewCertificate],
    ) -> Result<Vec<TenantCertificate>, MetadataError> {
        const OPERATION: &str = "register certificates";
        let registered_at = now();
        let backend = self.backend;
        let (tenant_owned, certificates_owned) = (tenant.clone(), certificates.to_vec());
        let stored = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (tenant, certificates) = (&tenant_owned, &certificates_owned);

                    let lock =
                        format!("SELECT id FROM tenants WHERE id = $1{}", backend.row_lock());
                    sqlx::query(&lock)
                        .bind(tenant.as_str())
                        .fetch_optional(&mut *connection)
                        .await
                        .map_err(MetadataError::database(OPERATION))?
                        .ok_or_else(|| MetadataError::TenantNotFound(tenant.clone()))?;

                    let mut stored = Vec::with_capacity(certificates.len());
                    for certificate in certificates {
                        sqlx::query(
                            "UPDATE tenant_certificates SET status = 'replaced', replaced_at = $3 \
                 WHERE tenant_id = $1 AND kind = $2 AND status = 'active'",
                        )
                        .bind(tenant.as_str())
                        .bind(certificate.kind.as_str())
                        .bind(to_unix(registered_at))
                        .execute(&mut *connection)
                        .await
                        .map_err(MetadataError::database(OPERATION))?;

                        let insert = format!(
                            "INSERT INTO tenant_certificates (tenant_id, kind, serial_hex, \
                 fingerprint_sha256, der, subject, not_before, not_after, status, registered_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9) \
                 RETURNING {CERTIFICATE_COLUMNS}"
                        );
                        let row = sqlx::query(&insert)
                            .bind(tenant.as_str())
                            .bind(certificate.kind.as_str())
                            .bind(certificate.serial_hex.as_str())
                            .bind(certificate.fingerprint_sha256.to_hex())
                            .bind(certificate.der.as_slice())
                            .bind(certificate.subject.as_str())
                            .bind(to_unix(certificate.not_before))
                            .bind(to_unix(certificate.not_after))
                            .bind(to_unix(registered_at))
                            .fetch_one(&mut *connection)
                            .await
                            .map_err(|error| {
                                if is_unique_violation(&error) {
                                    MetadataError::CertificateExists(certificate.fingerprint_sha256)
                                } else if is_foreign_key_violation(&error) {
                                    MetadataError::TenantNotFound(tenant.clone())
                                } else {
                                    MetadataError::database(OPERATION)(error)
                                }
                            })?;
                        stored.push(certificate_from_row(&row)?);
                    }
                    Ok::<_, MetadataError>(stored)
                })
            })
            .await?;
        Ok(stored)
    }

    /// Who a certificate with this SHA-256 fingerprint belongs to, active or replaced.
    pub async fn find_certificate(
        &self,
        fingerprint: &Sha256Digest,
    ) -> Result<Option<CertificateOwner>, MetadataError> {
        let row = sqlx::query(
            "SELECT tenant_id, kind, status FROM tenant_certificates \
             WHERE fingerprint_sha256 = $1",
        )
        .bind(fingerprint.to_hex())
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("look up a certificate"))?;
        row.map(|row| {
            Ok(CertificateOwner {
                tenant: parsed_column(&row, "tenant_id", TenantId::parse)?,
                kind: parsed_column(&row, "kind", CertificateKind::parse)?,
                status: parsed_column(&row, "status", CertificateStatus::parse)?,
            })
        })
        .transpose()
    }

    /// The tenant's active certificates (at most one per kind), TLS first.
    pub async fn active_certificates(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<TenantCertificate>, MetadataError> {
        let sql = format!(
            "SELECT {CERTIFICATE_COLUMNS} FROM tenant_certificates \
             WHERE tenant_id = $1 AND status = 'active' ORDER BY kind"
        );
        sqlx::query(&sql)
            .bind(tenant.as_str())
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list certificates"))?
            .iter()
            .map(certificate_from_row)
            .collect()
    }
}

/// When a certificate the node relies on expires, for the node's metrics: the tenants'
/// active TLS and WSS certificates, their national ones (`national-tls`, `national-wss`;
/// the store keeps the earlier expiry of the two, so both carry it) and, on a clinical
/// record service, the institutions' certificates (`institution`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateExpiry {
    /// The account id (16 digits), or the institution id (6) for `institution`.
    pub owner: String,
    /// `tls`, `wss`, `national-tls`, `national-wss` or `institution`.
    pub kind: &'static str,
    pub serial_hex: String,
    pub not_after: OffsetDateTime,
}

impl Metadata {
    /// Every registered certificate in use with its expiry: three small reads (one row per
    /// certificate), cheap enough for every scrape.
    pub async fn certificate_expiries(&self) -> Result<Vec<CertificateExpiry>, MetadataError> {
        let mut expiries = Vec::new();
        let rows = sqlx::query(
            "SELECT tenant_id, kind, serial_hex, not_after FROM tenant_certificates \
             WHERE status = 'active' ORDER BY tenant_id, kind",
        )
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list certificate expiries"))?;
        for row in &rows {
            expiries.push(CertificateExpiry {
                owner: parsed_column(row, "tenant_id", TenantId::parse)?
                    .as_str()
                    .to_owned(),
                kind: match parsed_column(row, "kind", CertificateKind::parse)? {
                    CertificateKind::Tls => "tls",
                    CertificateKind::Wss => "wss",
                },
                serial_hex: column(row, "serial_hex")?,
                not_after: from_unix("not_after", column(row, "not_after")?)?,
            });
        }
        let rows = sqlx::query(
            "SELECT tenant_id, tls_serial, wss_serial, not_after FROM national_credentials \
             ORDER BY tenant_id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database(
            "list national certificate expiries",
        ))?;
        for row in &rows {
            let tenant = parsed_column(row, "tenant_id", TenantId::parse)?
                .as_str()
                .to_owned();
            let not_after = from_unix("not_after", column(row, "not_after")?)?;
            for (kind, serial) in [
                ("national-tls", "tls_serial"),
                ("national-wss", "wss_serial"),
            ] {
                expiries.push(CertificateExpiry {
                    owner: tenant.clone(),
                    kind,
                    serial_hex: column(row, serial)?,
                    not_after,
                });
            }
        }
        let rows = sqlx::query(
            "SELECT serial, institution_id, not_after FROM clinical_institution_certificates \
             ORDER BY institution_id, serial",
        )
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database(
            "list institution certificate expiries",
        ))?;
        for row in &rows {
            expiries.push(CertificateExpiry {
                owner: column(row, "institution_id")?,
                kind: "institution",
                serial_hex: column(row, "serial")?,
                not_after: from_unix("not_after", column(row, "not_after")?)?,
            });
        }
        Ok(expiries)
    }
}
