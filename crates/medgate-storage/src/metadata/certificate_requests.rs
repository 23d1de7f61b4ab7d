//! Self-service certificate requests: the operator allows an account to upload its CSRs on
//! the account panel; each waits (one pending per account and kind) until the operator
//! issues the certificate or rejects the request. The server checks the CSR and signs it;
//! this module keeps the DER bytes and the decision.

use medgate_ids::TenantId;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::certificates::CertificateKind;
use super::{
    column, from_unix, is_foreign_key_violation, is_unique_violation, parsed_column, to_unix,
    Metadata,
};
use crate::error::MetadataError;

/// Where a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestStatus {
    Pending,
    Issued,
    Rejected,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Issued => "issued",
            RequestStatus::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "pending" => Ok(RequestStatus::Pending),
            "issued" => Ok(RequestStatus::Issued),
            "rejected" => Ok(RequestStatus::Rejected),
            other => Err(format!("unknown request status '{other}'")),
        }
    }
}

fn parse_kind(text: &str) -> Result<CertificateKind, String> {
    match text {
        "TLS" => Ok(CertificateKind::Tls),
        "WSS" => Ok(CertificateKind::Wss),
        other => Err(format!("unknown certificate kind '{other}'")),
    }
}

/// A checked request to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCertificateRequest {
    pub tenant: TenantId,
    pub kind: CertificateKind,
    pub csr_der: Vec<u8>,
    pub subject: String,
    /// E.g. `RSA 2048`, `ECDSA P-256`.
    pub key_description: String,
    /// Who uploaded it (`admin:<login>`).
    pub submitted_by: String,
}

/// A stored request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequest {
    pub id: i64,
    pub tenant: TenantId,
    pub kind: CertificateKind,
    pub csr_der: Vec<u8>,
    pub subject: String,
    pub key_description: String,
    pub status: RequestStatus,
    pub submitted_at: OffsetDateTime,
    pub submitted_by: String,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
    /// The issued certificate (DER), once issued.
    pub certificate_der: Option<Vec<u8>>,
    pub serial_hex: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
}

/// Why a request was not stored or decided.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateRequestError {
    #[error("account {tenant} already has a pending {kind} request")]
    PendingExists {
        tenant: TenantId,
        kind: &'static str,
    },

    #[error("tenant {0} does not exist")]
    TenantNotFound(TenantId),

    #[error("no pending certificate request {0}")]
    NotPending(i64),

    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

const REQUEST_COLUMNS: &str = "id, tenant_id, kind, csr_der, subject, key_description, status, \
     submitted_at, submitted_by, decided_at, decided_by, certificate_der, serial_hex, reason";

fn request_from_row(row: &AnyRow) -> Result<CertificateRequest, MetadataError> {
    let optional_time = |name: &'static str| -> Result<Option<OffsetDateTime>, MetadataError> {
        let seconds: Option<i64> = column(row, name)?;
        seconds.map(|seconds| from_unix(name, seconds)).transpose()
    };
    Ok(CertificateRequest {
        id: column(row, "id")?,
        tenant: parsed_column(row, "tenant_id", TenantId::parse)?,
        kind: parsed_column(row, "kind", parse_kind)?,
        csr_der: column(row, "csr_der")?,
        subject: column(row, "subject")?,
        key_description: column(row, "key_description")?,
        status: parsed_column(row, "status", RequestStatus::parse)?,
        submitted_at: from_unix("submitted_at", column(row, "submitted_at")?)?,
        submitted_by: column(row, "submitted_by")?,
        decided_at: optional_time("decided_at")?,
        decided_by: column(row, "decided_by")?,
        certificate_der: column(row, "certificate_der")?,
        serial_hex: column(row, "serial_hex")?,
        reason: column(row, "reason")?,
    })
}

/// One account's certificate requests, newest first (`$1` tenant), driven by
/// `certificate_requests_by_tenant`.
pub(crate) fn certificate_requests_sql() -> String {
    format!(
        "SELECT {REQUEST_COLUMNS} FROM certificate_requests WHERE tenant_id = $1 \
         ORDER BY submitted_at DESC, id DESC"
    )
}

impl Metadata {
    /// Allows (or stops allowing) the account's administrators to upload CSRs.
    pub async fn set_csr_self_service(
        &self,
        tenant: &TenantId,
        enabled: bool,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<(), MetadataError> {
        const OPERATION: &str = "set CSR self-service";
        let (tenant_owned, by_owned) = (tenant.clone(), by.to_owned());
        let () = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (tenant, by,) = (&tenant_owned, &by_owned,);
        let result = if enabled {
            sqlx::query(
                "INSERT INTO csr_self_service (tenant_id, enabled_at, enabled_by) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id) DO NOTHING",
            )
            .bind(tenant.as_str())
            .bind(to_unix(now))
            .bind(by)
            .execute(&mut *connection)
            .await
        } else {
            sqlx::query("DELETE FROM csr_self_service WHERE tenant_id = $1")
                .bind(tenant.as_str())
                .execute(&mut *connection)
                .await
        };
        result.map_err(|error| {
            if is_foreign_key_violation(&error) {
                MetadataError::TenantNotFound(tenant.clone())
            } else {
                MetadataError::database(OPERATION)(error)
            }
        })?;
                    Ok::<_, MetadataError>(())
                })
            })
            .await?;
        Ok(())
    }

    /// True when the account may upload CSRs.
    pub async fn csr_self_service(&self, tenant: &TenantId) -> Result<bool, MetadataError> {
        let row = sqlx::query("SELECT tenant_id FROM csr_self_service WHERE tenant_id = $1")
            .bind(tenant.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read CSR self-service"))?;
        Ok(row.is_some())
    }

    /// Stores a pending request; refused while the account has one of the same kind.
    pub async fn submit_certificate_request(
        &self,
        request: &NewCertificateRequest,
        now: OffsetDateTime,
    ) -> Result<CertificateRequest, CertificateRequestError> {
        let sql = format!(
            "INSERT INTO certificate_requests (tenant_id, kind, csr_der, subject, key_description, \
             status, submitted_at, submitted_by) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) \
             RETURNING {REQUEST_COLUMNS}"
        );
        let (request_owned,) = (request.clone(),);
        let row = self
            .writer
            .transact("submit a certificate request", move |connection| {
                Box::pin(async move {
                    let (request,) = (&request_owned,);
                    let row = sqlx::query(&sql)
                        .bind(request.tenant.as_str())
                        .bind(request.kind.as_str())
                        .bind(request.csr_der.clone())
                        .bind(request.subject.as_str())
                        .bind(request.key_description.as_str())
                        .bind(to_unix(now))
                        .bind(request.submitted_by.as_str())
                        .fetch_one(&mut *connection)
                        .await
                        .map_err(|error| {
                            if is_unique_violation(&error) {
                                CertificateRequestError::PendingExists {
                                    tenant: request.tenant.clone(),
                                    kind: request.kind.as_str(),
                                }
                            } else if is_foreign_key_violation(&error) {
                                CertificateRequestError::TenantNotFound(request.tenant.clone())
                            } else {
                                CertificateRequestError::Metadata(MetadataError::database(
                                    "submit a certificate request",
                                )(
                                    error
                                ))
                            }
                        })?;
                    Ok::<_, CertificateRequestError>(row)
                })
            })
            .await?;
        Ok(request_from_row(&row)?)
    }

    /// One account's requests, newest first.
    pub async fn list_certificate_requests(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<CertificateRequest>, MetadataError> {
        let sql = certificate_requests_sql();
        sqlx::query(&sql)
            .bind(tenant.as_str())
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list certificate requests"))?
            .iter()
            .map(request_from_row)
            .collect()
    }

    /// Every account's pending requests, oldest first (the operator's queue).
    pub async fn pending_certificate_requests(
        &self,
    ) -> Result<Vec<CertificateRequest>, MetadataError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM certificate_requests WHERE status = 'pending' \
             ORDER BY submitted_at, id"
        );
        sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list pending certificate requests"))?
            .iter()
            .map(request_from_row)
            .collect()
    }

    /// The request with this id; with `tenant`, only if it is that account's.
    pub async fn get_certificate_request(
        &self,
        tenant: Option<&TenantId>,
        id: i64,
    ) -> Result<Option<CertificateRequest>, MetadataError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM certificate_requests \
             WHERE id = $1 AND (tenant_id = $2 OR $3 = 0)"
        );
        sqlx::query(&sql)
            .bind(id)
            .bind(tenant.map(TenantId::as_str).unwrap_or(""))
            .bind(i64::from(tenant.is_some()))
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a certificate request"))?
            .as_ref()
            .map(request_from_row)
            .transpose()
    }

    /// Records the certificate issued for a pending request.
    pub async fn issue_certificate_request(
        &self,
        id: i64,
        certificate_der: &[u8],
        serial_hex: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<CertificateRequest, CertificateRequestError> {
        let sql = format!(
            "UPDATE certificate_requests SET status = 'issued', certificate_der = $2, \
             serial_hex = $3, decided_by = $4, decided_at = $5 \
             WHERE id = $1 AND status = 'pending' RETURNING {REQUEST_COLUMNS}"
        );
        let (certificate_der_owned, serial_hex_owned, by_owned) = (
            certificate_der.to_vec(),
            serial_hex.to_owned(),
            by.to_owned(),
        );
        let row = self
            .writer
            .transact("issue a certificate request", move |connection| {
                Box::pin(async move {
                    let (certificate_der, serial_hex, by) =
                        (&certificate_der_owned, &serial_hex_owned, &by_owned);
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .bind(certificate_der.to_vec())
                        .bind(serial_hex)
                        .bind(by)
                        .bind(to_unix(now))
                        .fetch_optional(&mut *connection)
                        .await
                        .map_err(MetadataError::database("issue a certificate request"))?
                        .ok_or(CertificateRequestError::NotPending(id))?;
                    Ok::<_, CertificateRequestError>(row)
                })
            })
            .await?;
        Ok(request_from_row(&row)?)
    }

    /// Rejects a pending request with a reason.
    pub async fn reject_certificate_request(
        &self,
        id: i64,
        reason: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<CertificateRequest, CertificateRequestError> {
        let sql = format!(
            "UPDATE certificate_requests SET status = 'rejected', reason = $2, decided_by = $3, \
             decided_at = $4 WHERE id = $1 AND status = 'pending' RETURNING {REQUEST_COLUMNS}"
        );
        let (reason_owned, by_owned) = (reason.to_owned(), by.to_owned());
        let row = self
            .writer
            .transact("reject a certificate request", move |connection| {
                Box::pin(async move {
                    let (reason, by) = (&reason_owned, &by_owned);
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .bind(reason)
                        .bind(by)
                        .bind(to_unix(now))
                        .fetch_optional(&mut *connection)
                        .await
                        .map_err(MetadataError::database("reject a certificate request"))?
                        .ok_or(CertificateRequestError::NotPending(id))?;
                    Ok::<_, CertificateRequestError>(row)
                })
            })
            .await?;
        Ok(request_from_row(&row)?)
    }
}
