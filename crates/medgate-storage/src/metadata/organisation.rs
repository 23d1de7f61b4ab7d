//! The tenant's organisational structure (provider, facilities, units), kept as a JSON text
//! that the server validates and this crate stores with a revision number.

use medgate_ids::TenantId;
use time::OffsetDateTime;

use super::{column, from_unix, is_foreign_key_violation, now, to_u64, to_unix, Metadata};
use crate::error::MetadataError;

/// A stored organisational structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganisationStructure {
    /// 1 for the first version stored, one more for every later one.
    pub revision: u64,
    /// The structure as JSON text, exactly as the server gave it.
    pub json: String,
    pub updated_at: OffsetDateTime,
}

impl Metadata {
    /// Stores a new version of the tenant's organisational structure, replacing the old one.
    pub async fn store_organisation(
        &self,
        tenant: &TenantId,
        json: &str,
    ) -> Result<OrganisationStructure, MetadataError> {
        let (tenant_owned, json_owned) = (tenant.clone(), json.to_owned());
        let row = self
            .writer
            .transact("store the organisational structure", move |connection| {
                Box::pin(async move {
                    let (tenant, json) = (&tenant_owned, &json_owned);
                    let row = sqlx::query(
            "INSERT INTO organisation_structures (tenant_id, revision, body_json, updated_at) \
             VALUES ($1, 1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET \
             revision = organisation_structures.revision + 1, \
             body_json = excluded.body_json, updated_at = excluded.updated_at \
             RETURNING revision, body_json, updated_at",
        )
        .bind(tenant.as_str())
        .bind(json)
        .bind(to_unix(now()))
        .fetch_one(&mut *connection)
        .await
        .map_err(|error| {
            if is_foreign_key_violation(&error) {
                MetadataError::TenantNotFound(tenant.clone())
            } else {
                MetadataError::database("store the organisational structure")(error)
            }
        })?;
                    Ok::<_, MetadataError>(row)
                })
            })
            .await?;
        Ok(OrganisationStructure {
            revision: to_u64("revision", column(&row, "revision")?)?,
            json: column(&row, "body_json")?,
            updated_at: from_unix("updated_at", column(&row, "updated_at")?)?,
        })
    }

    /// The tenant's organisational structure, if one was stored.
    pub async fn load_organisation(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<OrganisationStructure>, MetadataError> {
        let row = sqlx::query(
            "SELECT revision, body_json, updated_at FROM organisation_structures \
             WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read the organisational structure"))?;
        row.map(|row| {
            Ok(OrganisationStructure {
                revision: to_u64("revision", column(&row, "revision")?)?,
                json: column(&row, "body_json")?,
                updated_at: from_unix("updated_at", column(&row, "updated_at")?)?,
            })
        })
        .transpose()
    }
}
