//! The repository's side of the national registry: a tenant's national certificates and
//! keys (the keys arrive here already encrypted by the server; this store never sees them in
//! clear) and the national repository id, written and removed together with the tenant's
//! `national_repository_id` in one transaction.

use medgate_ids::{Oid, TenantId};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{column, from_unix, now, parsed_column, to_unix, Metadata};
use crate::error::MetadataError;
use crate::metadata::tenants::Tenant;

/// A tenant's national credentials as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct NationalCredentials {
    pub national_repository_id: Oid,
    /// The registry these credentials were registered with.
    pub registry_url: String,
    /// PEM: the TLS certificate first, then any chain.
    pub tls_certificate_pem: String,
    /// PEM `ENCRYPTED PRIVATE KEY`.
    pub tls_key_pem: String,
    pub tls_serial: String,
    pub wss_certificate_pem: String,
    /// PEM `ENCRYPTED PRIVATE KEY`.
    pub wss_key_pem: String,
    pub wss_serial: String,
    /// The earlier expiry of the two certificates.
    pub not_after: OffsetDateTime,
    /// Set by the store when saved.
    pub registered_at: OffsetDateTime,
}

/// Keys stay out of debug output even encrypted.
impl std::fmt::Debug for NationalCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NationalCredentials")
            .field("national_repository_id", &self.national_repository_id)
            .field("registry_url", &self.registry_url)
            .field("tls_serial", &self.tls_serial)
            .field("wss_serial", &self.wss_serial)
            .field("not_after", &self.not_after)
            .field("registered_at", &self.registered_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "national_repository_id, registry_url, tls_certificate_pem, tls_key_pem, \
     tls_serial, wss_certificate_pem, wss_key_pem, wss_serial, not_after, registered_at";

fn credentials_from_row(row: &AnyRow) -> Result<NationalCredentials, MetadataError> {
    Ok(NationalCredentials {
        national_repository_id: parsed_column(row, "national_repository_id", Oid::parse)?,
        registry_url: column(row, "registry_url")?,
        tls_certificate_pem: column(row, "tls_certificate_pem")?,
        tls_key_pem: column(row, "tls_key_pem")?,
        tls_serial: column(row, "tls_serial")?,
        wss_certificate_pem: column(row, "wss_certificate_pem")?,
        wss_key_pem: column(row, "wss_key_pem")?,
        wss_serial: column(row, "wss_serial")?,
        not_after: from_unix("not_after", column(row, "not_after")?)?,
        registered_at: from_unix("registered_at", column(row, "registered_at")?)?,
    })
}

impl Metadata {
    /// Stores (or replaces) the tenant's national credentials and sets its national
    /// repository id, in one transaction; gives the updated tenant.
    pub async fn save_national_credentials(
        &self,
        tenant: &TenantId,
        credentials: &NationalCredentials,
    ) -> Result<Tenant, MetadataError> {
        const OPERATION: &str = "store national credentials";
        let (tenant_owned, credentials_owned) = (tenant.clone(), credentials.clone());
        let () = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (tenant, credentials) = (&tenant_owned, &credentials_owned);
                    sqlx::query(&format!(
                        "INSERT INTO national_credentials (tenant_id, {COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (tenant_id) DO UPDATE SET \
             national_repository_id = excluded.national_repository_id, \
             registry_url = excluded.registry_url, \
             tls_certificate_pem = excluded.tls_certificate_pem, \
             tls_key_pem = excluded.tls_key_pem, tls_serial = excluded.tls_serial, \
             wss_certificate_pem = excluded.wss_certificate_pem, \
             wss_key_pem = excluded.wss_key_pem, wss_serial = excluded.wss_serial, \
             not_after = excluded.not_after, registered_at = excluded.registered_at"
                    ))
                    .bind(tenant.as_str())
                    .bind(credentials.national_repository_id.as_str())
                    .bind(credentials.registry_url.as_str())
                    .bind(credentials.tls_certificate_pem.as_str())
                    .bind(credentials.tls_key_pem.as_str())
                    .bind(credentials.tls_serial.as_str())
                    .bind(credentials.wss_certificate_pem.as_str())
                    .bind(credentials.wss_key_pem.as_str())
                    .bind(credentials.wss_serial.as_str())
                    .bind(to_unix(credentials.not_after))
                    .bind(to_unix(now()))
                    .execute(&mut *connection)
                    .await
                    .map_err(|error| {
                        if super::is_foreign_key_violation(&error) {
                            MetadataError::TenantNotFound(tenant.clone())
                        } else {
                            MetadataError::database(OPERATION)(error)
                        }
                    })?;
                    set_national_id(
                        &mut *connection,
                        tenant,
                        Some(&credentials.national_repository_id),
                    )
                    .await?;
                    Ok::<_, MetadataError>(())
                })
            })
            .await?;
        self.tenant_after_commit(tenant).await
    }

    /// The tenant's national credentials, if it registered.
    pub async fn national_credentials(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<NationalCredentials>, MetadataError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM national_credentials WHERE tenant_id = $1"
        ))
        .bind(tenant.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read national credentials"))?
        .as_ref()
        .map(credentials_from_row)
        .transpose()
    }

    /// Removes the tenant's national credentials, clears its national repository id and the
    /// indexed mark of all its documents (the registry withdrew their entries when the
    /// repository deregistered), in one transaction. Gives the updated tenant and the number
    /// of documents that were marked indexed.
    pub async fn remove_national_credentials(
        &self,
        tenant: &TenantId,
    ) -> Result<(Tenant, u64), MetadataError> {
        const OPERATION: &str = "remove national credentials";
        let (tenant_owned,) = (tenant.clone(),);
        let unindexed = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (tenant,) = (&tenant_owned,);
        sqlx::query("DELETE FROM national_credentials WHERE tenant_id = $1")
            .bind(tenant.as_str())
            .execute(&mut *connection)
            .await
            .map_err(MetadataError::database(OPERATION))?;
        let unindexed = sqlx::query(
            "UPDATE documents SET indexed_at = NULL WHERE tenant_id = $1 AND indexed_at IS NOT NULL",
        )
        .bind(tenant.as_str())
        .execute(&mut *connection)
        .await
        .map_err(MetadataError::database(OPERATION))?
        .rows_affected();
        set_national_id(&mut *connection, tenant, None).await?;
                    Ok::<_, MetadataError>(unindexed)
                })
            })
            .await?;
        Ok((self.tenant_after_commit(tenant).await?, unindexed))
    }

    async fn tenant_after_commit(&self, tenant: &TenantId) -> Result<Tenant, MetadataError> {
        self.get_tenant(tenant)
            .await?
            .ok_or_else(|| MetadataError::TenantNotFound(tenant.clone()))
    }
}

async fn set_national_id(
    connection: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    national_repository_id: Option<&Oid>,
) -> Result<(), MetadataError> {
    let updated = sqlx::query("UPDATE tenants SET national_repository_id = $2 WHERE id = $1")
        .bind(tenant.as_str())
        .bind(national_repository_id.map(Oid::as_str))
        .execute(&mut *connection)
        .await
        .map_err(MetadataError::database("set the national repository id"))?
        .rows_affected();
    if updated == 0 {
        return Err(MetadataError::TenantNotFound(tenant.clone()));
    }
    Ok(())
}
