//! The certificates of the MOs' information systems (migration 0017): issued by the claims
//! node's CA to a medical organisation (and, where it submits separately, a subdivision);
//! looked up by serial on every API request; revoked once.

use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{insert, optional_time, ClaimsStoreError, LIST_LIMIT};
use crate::error::MetadataError;
use crate::metadata::{column, from_unix, to_unix, Metadata};

/// A certificate issued to an MO's information system, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsMoCertificate {
    /// Upper-case hex, as `medgate_pki` writes it.
    pub serial: String,
    pub mo_code: String,
    pub subdivision_code: Option<String>,
    pub not_after: OffsetDateTime,
    pub issued_at: OffsetDateTime,
    /// Who issued it (the operator's name).
    pub issued_by: String,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_reason: Option<String>,
}

const COLUMNS: &str = "serial, mo_code, subdivision_code, not_after, issued_at, issued_by, \
     revoked_at, revoked_reason";

fn from_row(row: &AnyRow) -> Result<ClaimsMoCertificate, MetadataError> {
    Ok(ClaimsMoCertificate {
        serial: column(row, "serial")?,
        mo_code: column(row, "mo_code")?,
        subdivision_code: column(row, "subdivision_code")?,
        not_after: from_unix("not_after", column(row, "not_after")?)?,
        issued_at: from_unix("issued_at", column(row, "issued_at")?)?,
        issued_by: column(row, "issued_by")?,
        revoked_at: optional_time(row, "revoked_at")?,
        revoked_reason: column(row, "revoked_reason")?,
    })
}

impl Metadata {
    /// Records a certificate issued to an MO's information system (the MO must be
    /// registered; a serial is recorded once).
    pub async fn add_claims_mo_certificate(
        &self,
        certificate: &ClaimsMoCertificate,
    ) -> Result<(), ClaimsStoreError> {
        const OPERATION: &str = "record an MO system certificate";
        let row = certificate.clone();
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let query = sqlx::query(
                        "INSERT INTO claims_mo_certificates (serial, mo_code, subdivision_code, \
                         not_after, issued_at, issued_by) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(row.serial.clone())
                    .bind(row.mo_code.clone())
                    .bind(row.subdivision_code.clone())
                    .bind(to_unix(row.not_after))
                    .bind(to_unix(row.issued_at))
                    .bind(row.issued_by.clone());
                    insert(
                        connection,
                        OPERATION,
                        query,
                        ("certificate", row.serial.clone()),
                        ("medical organisation", row.mo_code.clone()),
                    )
                    .await
                })
            })
            .await
    }

    /// The certificate with this serial (upper-case hex).
    pub async fn claims_mo_certificate(
        &self,
        serial: &str,
    ) -> Result<Option<ClaimsMoCertificate>, MetadataError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM claims_mo_certificates WHERE serial = $1"
        ))
        .bind(serial)
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read an MO system certificate"))?
        .map(|row| from_row(&row))
        .transpose()
    }

    /// The certificates issued (of one MO with `mo_code`), newest first.
    pub async fn claims_mo_certificates(
        &self,
        mo_code: Option<&str>,
    ) -> Result<Vec<ClaimsMoCertificate>, MetadataError> {
        let sql = match mo_code {
            Some(_) => format!(
                "SELECT {COLUMNS} FROM claims_mo_certificates WHERE mo_code = $1 \
                 ORDER BY issued_at DESC, serial LIMIT $2"
            ),
            None => format!(
                "SELECT {COLUMNS} FROM claims_mo_certificates \
                 ORDER BY mo_code, issued_at DESC, serial LIMIT $1"
            ),
        };
        let mut query = sqlx::query(&sql);
        if let Some(mo) = mo_code {
            query = query.bind(mo.to_owned());
        }
        query
            .bind(LIST_LIMIT)
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list the MO system certificates"))?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Marks the certificate revoked (once: a second revocation is `Exists`, an unknown
    /// serial `NotFound`). The caller records the serial in the node's revocations too.
    pub async fn revoke_claims_mo_certificate(
        &self,
        serial: &str,
        reason: &str,
        at: OffsetDateTime,
    ) -> Result<ClaimsMoCertificate, ClaimsStoreError> {
        let (changed, _) = self
            .write_one(
                "revoke an MO system certificate",
                "UPDATE claims_mo_certificates SET revoked_at = $1, revoked_reason = $2 \
                 WHERE serial = $3 AND revoked_at IS NULL",
                vec![to_unix(at).into(), reason.into(), serial.into()],
            )
            .await?;
        let found = self.claims_mo_certificate(serial).await?;
        match found {
            None => Err(ClaimsStoreError::NotFound {
                what: "certificate",
                id: serial.to_owned(),
            }),
            Some(_) if changed == 0 => Err(ClaimsStoreError::Exists {
                what: "revocation of certificate",
                id: serial.to_owned(),
            }),
            Some(certificate) => Ok(certificate),
        }
    }
}
