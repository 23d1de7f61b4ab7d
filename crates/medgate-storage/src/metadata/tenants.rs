//! Tenants (repository accounts): plan, status, activation identifiers, usage counters and
//! the atomic allocation of OID arcs for domain and repository ids.

use medgate_ids::{Oid, TenantId};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{
    column, from_unix, is_unique_violation, now, optional_parsed_column, parsed_column, to_i64,
    to_u64, to_unix, Metadata,
};
use crate::error::MetadataError;

/// Where a tenant is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantStatus {
    /// Created by the operator; certificates not yet registered, not activated.
    Created,
    /// Activated: documents may be stored while the plan is valid.
    Active,
    /// Suspended by the operator: nothing may be read or written.
    Suspended,
}

impl TenantStatus {
    fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Created => "created",
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "created" => Ok(TenantStatus::Created),
            "active" => Ok(TenantStatus::Active),
            "suspended" => Ok(TenantStatus::Suspended),
            other => Err(format!("unknown tenant status '{other}'")),
        }
    }
}

/// What the operator sold: validity period, quota and maximum number of files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantPlan {
    pub valid_from: OffsetDateTime,
    pub valid_to: OffsetDateTime,
    pub quota_bytes: u64,
    pub max_files: u64,
}

/// A tenant to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTenant {
    pub id: TenantId,
    pub plan: TenantPlan,
}

/// The identifiers recorded when a tenant activates its account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantActivation {
    /// The healthcare provider's OID, e.g. `2.16.840.1.113883.3.4424.2.7.26`.
    pub provider_oid: Oid,
    /// The tenant's domain id, under the operator's domain root.
    pub domain_id: Oid,
    /// The tenant's repository id, under the operator's repository root.
    pub repository_id: Oid,
}

/// A stored tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub status: TenantStatus,
    pub plan: TenantPlan,
    pub provider_oid: Option<Oid>,
    pub domain_id: Option<Oid>,
    pub repository_id: Option<Oid>,
    /// The id the national registry assigned when the repository registered with it.
    pub national_repository_id: Option<Oid>,
    pub created_at: OffsetDateTime,
}

/// What a tenant's documents take up now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Usage {
    pub bytes: u64,
    pub files: u64,
}

/// The two OID arc counters: each activation takes the next arc of both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OidArc {
    Domain,
    Repository,
}

impl OidArc {
    fn counter_name(self) -> &'static str {
        match self {
            OidArc::Domain => "domain",
            OidArc::Repository => "repository",
        }
    }
}

const TENANT_COLUMNS: &str = "id, status, valid_from, valid_to, quota_bytes, max_files, \
     provider_oid, domain_id, repository_id, national_repository_id, created_at";

fn tenant_from_row(row: &AnyRow) -> Result<Tenant, MetadataError> {
    Ok(Tenant {
        id: parsed_column(row, "id", TenantId::parse)?,
        status: parsed_column(row, "status", TenantStatus::parse)?,
        plan: TenantPlan {
            valid_from: from_unix("valid_from", column(row, "valid_from")?)?,
            valid_to: from_unix("valid_to", column(row, "valid_to")?)?,
            quota_bytes: to_u64("quota_bytes", column(row, "quota_bytes")?)?,
            max_files: to_u64("max_files", column(row, "max_files")?)?,
        },
        provider_oid: optional_parsed_column(row, "provider_oid", Oid::parse)?,
        domain_id: optional_parsed_column(row, "domain_id", Oid::parse)?,
        repository_id: optional_parsed_column(row, "repository_id", Oid::parse)?,
        national_repository_id: optional_parsed_column(row, "national_repository_id", Oid::parse)?,
        created_at: from_unix("created_at", column(row, "created_at")?)?,
    })
}

impl Metadata {
    /// Creates a tenant in status `created` with no usage.
    pub async fn create_tenant(&self, tenant: &NewTenant) -> Result<Tenant, MetadataError> {
        let sql = format!(
            "INSERT INTO tenants (id, status, valid_from, valid_to, quota_bytes, max_files, \
             created_at) VALUES ($1, 'created', $2, $3, $4, $5, $6) RETURNING {TENANT_COLUMNS}"
        );
        let (tenant_owned,) = (tenant.clone(),);
        let row = self
            .writer
            .transact("create a tenant", move |connection| {
                Box::pin(async move {
                    let (tenant,) = (&tenant_owned,);
                    let row = sqlx::query(&sql)
                        .bind(tenant.id.as_str())
                        .bind(to_unix(tenant.plan.valid_from))
                        .bind(to_unix(tenant.plan.valid_to))
                        .bind(to_i64("quota_bytes", tenant.plan.quota_bytes)?)
                        .bind(to_i64("max_files", tenant.plan.max_files)?)
                        .bind(to_unix(now()))
                        .fetch_one(&mut *connection)
                        .await
                        .map_err(|error| {
                            if is_unique_violation(&error) {
                                MetadataError::TenantExists(tenant.id.clone())
                            } else {
                                MetadataError::database("create a tenant")(error)
                            }
                        })?;
                    Ok::<_, MetadataError>(row)
                })
            })
            .await?;
        tenant_from_row(&row)
    }

    /// The tenant, or `None` if there is none with this id.
    pub async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, MetadataError> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a tenant"))?
            .as_ref()
            .map(tenant_from_row)
            .transpose()
    }

    /// All tenants, by id.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, MetadataError> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY id");
        sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list tenants"))?
            .iter()
            .map(tenant_from_row)
            .collect()
    }

    /// Changes the status (e.g. suspends or reinstates a tenant).
    pub async fn set_tenant_status(
        &self,
        id: &TenantId,
        status: TenantStatus,
    ) -> Result<Tenant, MetadataError> {
        let sql =
            format!("UPDATE tenants SET status = $2 WHERE id = $1 RETURNING {TENANT_COLUMNS}");
        let (id_owned,) = (id.clone(),);
        let row = self
            .writer
            .transact("change a tenant's status", move |connection| {
                Box::pin(async move {
                    let (id,) = (&id_owned,);
                    let row = sqlx::query(&sql)
                        .bind(id.as_str())
                        .bind(status.as_str())
                        .fetch_optional(&mut *connection)
                        .await
                        .map_err(MetadataError::database("change a tenant's status"))?
                        .ok_or_else(|| MetadataError::TenantNotFound(id.clone()))?;
                    Ok::<_, MetadataError>(row)
                })
            })
            .await?;
        tenant_from_row(&row)
    }

    /// Replaces the plan (validity period, quota, maximum number of files). A smaller quota
    /// than the current usage is accepted: it only stops further writes.
    pub async fn set_tenant_plan(
        &self,
        id: &TenantId,
        plan: &TenantPlan,
    ) -> Result<Tenant, MetadataError> {
        let sql = format!(
            "UPDATE tenants SET valid_from = $2, valid_to = $3, quota_bytes = $4, max_files = $5 \
             WHERE id = $1 RETURNING {TENANT_COLUMNS}"
        );
        let (id_owned, plan_owned) = (id.clone(), plan.clone());
        let row = self
            .writer
            .transact("change a tenant's plan", move |connection| {
                Box::pin(async move {
                    let (id, plan) = (&id_owned, &plan_owned);
                    let row = sqlx::query(&sql)
                        .bind(id.as_str())
                        .bind(to_unix(plan.valid_from))
                        .bind(to_unix(plan.valid_to))
                        .bind(to_i64("quota_bytes", plan.quota_bytes)?)
                        .bind(to_i64("max_files", plan.max_files)?)
                        .fetch_optional(&mut *connection)
                        .await
                        .map_err(MetadataError::database("change a tenant's plan"))?
                        .ok_or_else(|| MetadataError::TenantNotFound(id.clone()))?;
                    Ok::<_, MetadataError>(row)
                })
            })
            .await?;
        tenant_from_row(&row)
    }

    /// Records the activation identifiers and sets the status to `active`. A domain or
    /// repository id that another tenant already has is refused with
    /// [`MetadataError::IdentifierInUse`].
    pub async fn activate_tenant(
        &self,
        id: &TenantId,
        activation: &TenantActivation,
    ) -> Result<Tenant, MetadataError> {
        let sql = format!(
            "UPDATE tenants SET status = 'active', provider_oid = $2, domain_id = $3, \
             repository_id = $4 WHERE id = $1 RETURNING {TENANT_COLUMNS}"
        );
        let (id_owned, activation_owned) = (id.clone(), activation.clone());
        let result = self
            .writer
            .transact("activate a tenant", move |connection| {
                Box::pin(async move {
                    let (id, activation) = (&id_owned, &activation_owned);
                    match sqlx::query(&sql)
                        .bind(id.as_str())
                        .bind(activation.provider_oid.as_str())
                        .bind(activation.domain_id.as_str())
                        .bind(activation.repository_id.as_str())
                        .fetch_optional(&mut *connection)
                        .await
                    {
                        Ok(row) => row.ok_or_else(|| {
                            ActivationRefused::Store(MetadataError::TenantNotFound(id.clone()))
                        }),
                        Err(error) if is_unique_violation(&error) => {
                            Err(ActivationRefused::IdInUse)
                        }
                        Err(error) => Err(ActivationRefused::Store(MetadataError::database(
                            "activate a tenant",
                        )(
                            error
                        ))),
                    }
                })
            })
            .await;
        let row = match result {
            Ok(row) => row,
            Err(ActivationRefused::Store(error)) => return Err(error),
            Err(ActivationRefused::IdInUse) => {
                // Which of the two ids collided is not portable to read from the error; the
                // write was rolled back, so it is read afterwards.
                let domain_taken = sqlx::query("SELECT id FROM tenants WHERE domain_id = $1")
                    .bind(activation.domain_id.as_str())
                    .fetch_optional(self.pool())
                    .await
                    .map_err(MetadataError::database("activate a tenant"))?
                    .is_some();
                return Err(MetadataError::IdentifierInUse(if domain_taken {
                    activation.domain_id.clone()
                } else {
                    activation.repository_id.clone()
                }));
            }
        };
        tenant_from_row(&row)
    }

    /// Records (or with `None` clears) the national repository id.
    pub async fn set_national_repository_id(
        &self,
        id: &TenantId,
        national_repository_id: Option<&Oid>,
    ) -> Result<Tenant, MetadataError> {
        let sql = format!(
            "UPDATE tenants SET national_repository_id = $2 WHERE id = $1 \
             RETURNING {TENANT_COLUMNS}"
        );
        let (id_owned, national_repository_id_owned) =
            (id.clone(), national_repository_id.cloned());
        let row = self
            .writer
            .transact("set the national repository id", move |connection| {
                Box::pin(async move {
                    let (id, national_repository_id) = (&id_owned, &national_repository_id_owned);
                    let row = sqlx::query(&sql)
                        .bind(id.as_str())
                        .bind(national_repository_id.as_ref().map(Oid::as_str))
                        .fetch_optional(&mut *connection)
                        .await
                        .map_err(MetadataError::database("set the national repository id"))?
                        .ok_or_else(|| MetadataError::TenantNotFound(id.clone()))?;
                    Ok::<_, MetadataError>(row)
                })
            })
            .await?;
        tenant_from_row(&row)
    }

    /// Takes the next arc number of a counter (1, 2, 3, …). One statement, so two
    /// activations running at the same time never get the same number.
    pub async fn allocate_arc(&self, arc: OidArc) -> Result<u64, MetadataError> {
        let row = self
            .writer
            .transact("allocate an OID arc", move |connection| {
                Box::pin(async move {
                    let row = sqlx::query(
                        "UPDATE oid_arc_counters SET last_value = last_value + 1 WHERE name = $1 \
             RETURNING last_value",
                    )
                    .bind(arc.counter_name())
                    .fetch_one(&mut *connection)
                    .await
                    .map_err(MetadataError::database("allocate an OID arc"))?;
                    Ok::<_, MetadataError>(row)
                })
            })
            .await?;
        to_u64("last_value", column(&row, "last_value")?)
    }

    /// Every tenant's usage beside its plan's limits, for the node's metrics (one read of
    /// the tenants table).
    pub async fn usage_of_all(&self) -> Result<Vec<(TenantId, Usage, TenantPlan)>, MetadataError> {
        let rows = sqlx::query(
            "SELECT id, used_bytes, file_count, quota_bytes, max_files, valid_from, valid_to \
             FROM tenants ORDER BY id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("read the tenants' usage"))?;
        rows.iter()
            .map(|row| {
                Ok((
                    parsed_column(row, "id", TenantId::parse)?,
                    Usage {
                        bytes: to_u64("used_bytes", column(row, "used_bytes")?)?,
                        files: to_u64("file_count", column(row, "file_count")?)?,
                    },
                    TenantPlan {
                        valid_from: from_unix("valid_from", column(row, "valid_from")?)?,
                        valid_to: from_unix("valid_to", column(row, "valid_to")?)?,
                        quota_bytes: to_u64("quota_bytes", column(row, "quota_bytes")?)?,
                        max_files: to_u64("max_files", column(row, "max_files")?)?,
                    },
                ))
            })
            .collect()
    }

    /// The bytes and number of files the tenant's documents take up.
    pub async fn usage(&self, id: &TenantId) -> Result<Usage, MetadataError> {
        let row = sqlx::query("SELECT used_bytes, file_count FROM tenants WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a tenant's usage"))?
            .ok_or_else(|| MetadataError::TenantNotFound(id.clone()))?;
        Ok(Usage {
            bytes: to_u64("used_bytes", column(&row, "used_bytes")?)?,
            files: to_u64("file_count", column(&row, "file_count")?)?,
        })
    }
}

/// Why the activation's update was refused on the writer: a domain or repository id in use
/// (told apart afterwards), or the store.
enum ActivationRefused {
    IdInUse,
    Store(MetadataError),
}

impl From<MetadataError> for ActivationRefused {
    fn from(error: MetadataError) -> Self {
        ActivationRefused::Store(error)
    }
}
