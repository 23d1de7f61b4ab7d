//! Versioned FHIR resources, restrictions and the access log.

use super::*;

/// What the writer of a new version read before: nothing (a new resource), or a version,
/// optionally in a status the change requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// The resource must not exist yet; it gets version 1.
    New,
    /// The resource must be at `current` (and in `status`, when given); it gets `current + 1`.
    Current {
        current: u64,
        status: Option<String>,
    },
}

/// A version to write: the resource JSON as the service built it (its `meta.versionId` is
/// the version this write gets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceWrite {
    pub resource_type: String,
    pub logical_id: String,
    pub patient: Taj,
    /// The institution writing this version (for a new resource: its owner).
    pub institution: InstitutionId,
    pub last_updated: OffsetDateTime,
    /// True for a deletion (the version records it; reads by id then find it deleted).
    pub deleted: bool,
    /// The status the service acts on after this write (`None`: none).
    pub status: Option<String>,
    /// A Consent's restriction: its scope (`all`, `institution`, `document`) and target.
    pub restriction: Option<(String, String)>,
    pub resource: String,
    pub expected: ExpectedVersion,
}

impl ResourceWrite {
    /// The version this write creates.
    pub fn version(&self) -> u64 {
        match &self.expected {
            ExpectedVersion::New => 1,
            ExpectedVersion::Current { current, .. } => current.saturating_add(1),
        }
    }
}

/// A resource's current state (without its JSON).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceHead {
    pub resource_type: String,
    pub logical_id: String,
    pub current_version: u64,
    pub patient: Taj,
    /// The institution that created it: the only one that may delete it.
    pub created_by: InstitutionId,
    pub status: Option<String>,
    pub restriction: Option<(String, String)>,
    pub deleted: bool,
    pub last_updated: OffsetDateTime,
}

/// One stored version of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceVersion {
    pub resource_type: String,
    pub logical_id: String,
    pub version: u64,
    pub patient: Taj,
    /// The institution that wrote this version.
    pub institution: InstitutionId,
    pub last_updated: OffsetDateTime,
    pub deleted: bool,
    pub resource: String,
}

/// A resource's current state and its current version's JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentResource {
    pub head: ResourceHead,
    pub resource: String,
}

/// A read or change of a patient's data, for the patient's access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccess {
    pub patient: Taj,
    pub at: OffsetDateTime,
    /// The practitioner's user name.
    pub user_name: String,
    /// The institution they acted for.
    pub institution: InstitutionId,
    /// What they did, e.g. `read`, `search`, `create`.
    pub action: String,
    /// What it was done to, e.g. `DocumentReference/…`.
    pub target: String,
    /// The reason stated when the read overrode the patient's restriction.
    pub break_glass_reason: Option<String>,
}

/// A stored line of the access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessEntry {
    pub id: u64,
    pub access: NewAccess,
}

/// A patient's restriction in force (an active Consent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restriction {
    /// The Consent's logical id.
    pub id: String,
    /// `all`, `institution` or `document`.
    pub scope: String,
    /// The institution id or the DocumentReference id; empty for `all`.
    pub target: String,
}

const HEAD_COLUMNS: &str = "h.resource_type, h.logical_id, h.current_version, h.patient_taj, \
     h.created_by, h.status, h.restriction_scope, h.restriction_target, h.deleted, \
     h.last_updated";

const VERSION_COLUMNS: &str = "v.resource_type, v.logical_id, v.version_id, v.patient_taj, \
     v.institution_id, v.last_updated, v.deleted, v.resource";

fn head_from_row(row: &AnyRow) -> Result<ResourceHead, MetadataError> {
    let scope: Option<String> = column(row, "restriction_scope")?;
    let target: Option<String> = column(row, "restriction_target")?;
    Ok(ResourceHead {
        resource_type: column(row, "resource_type")?,
        logical_id: column(row, "logical_id")?,
        current_version: to_u64("current_version", column(row, "current_version")?)?,
        patient: parsed_column(row, "patient_taj", Taj::parse)?,
        created_by: parsed_column(row, "created_by", InstitutionId::parse)?,
        status: column(row, "status")?,
        restriction: scope.map(|scope| (scope, target.unwrap_or_default())),
        deleted: flag(row, "deleted")?,
        last_updated: from_unix("last_updated", column(row, "last_updated")?)?,
    })
}

fn version_from_row(row: &AnyRow) -> Result<ResourceVersion, MetadataError> {
    Ok(ResourceVersion {
        resource_type: column(row, "resource_type")?,
        logical_id: column(row, "logical_id")?,
        version: to_u64("version_id", column(row, "version_id")?)?,
        patient: parsed_column(row, "patient_taj", Taj::parse)?,
        institution: parsed_column(row, "institution_id", InstitutionId::parse)?,
        last_updated: from_unix("last_updated", column(row, "last_updated")?)?,
        deleted: flag(row, "deleted")?,
        resource: column(row, "resource")?,
    })
}

fn access_from_row(row: &AnyRow) -> Result<AccessEntry, MetadataError> {
    Ok(AccessEntry {
        id: to_u64("id", column(row, "id")?)?,
        access: NewAccess {
            patient: parsed_column(row, "patient_taj", Taj::parse)?,
            at: from_unix("at", column(row, "at")?)?,
            user_name: column(row, "user_name")?,
            institution: parsed_column(row, "institution_id", InstitutionId::parse)?,
            action: column(row, "action")?,
            target: column(row, "target")?,
            break_glass_reason: column(row, "break_glass_reason")?,
        },
    })
}

/// The current resources of a patient of one type, newest first (`$1` TAJ, `$2` type, `$3`
/// limit), driven by `clinical_resources_by_patient`. The type is compared as `type || ''` so
/// that no planner takes the primary key (`resource_type, logical_id`) for it and walks every
/// resource of the type (SQLite did, with statistics older than the connection).
pub(crate) fn resources_by_patient_sql() -> String {
    format!(
        "SELECT {HEAD_COLUMNS}, v.resource FROM clinical_resources h \
         JOIN clinical_resource_versions v ON v.resource_type = h.resource_type \
         AND v.logical_id = h.logical_id AND v.version_id = h.current_version \
         WHERE h.patient_taj = $1 AND h.resource_type || '' = $2 AND h.deleted = 0 \
         ORDER BY h.last_updated DESC, h.logical_id LIMIT $3"
    )
}

/// Every version of one resource, newest first (`$1` type, `$2` id, `$3` limit), by the
/// primary key.
pub(crate) fn resource_history_sql() -> String {
    format!(
        "SELECT {VERSION_COLUMNS} FROM clinical_resource_versions v \
         WHERE v.resource_type = $1 AND v.logical_id = $2 ORDER BY v.version_id DESC LIMIT $3"
    )
}

/// A patient's access log, newest first (`$1` TAJ, `$2` limit), driven by
/// `clinical_access_log_by_patient`.
pub(crate) fn access_log_sql() -> &'static str {
    "SELECT id, patient_taj, at, user_name, institution_id, action, target, break_glass_reason \
     FROM clinical_access_log WHERE patient_taj = $1 ORDER BY at DESC, id DESC LIMIT $2"
}

/// A patient's restrictions in force (`$1` TAJ), driven by `clinical_resources_by_patient`
/// (the type compared as in [`resources_by_patient_sql`]).
pub(crate) fn restrictions_sql() -> &'static str {
    "SELECT logical_id, restriction_scope, restriction_target FROM clinical_resources \
     WHERE patient_taj = $1 AND resource_type || '' = 'Consent' AND status = 'active' \
     AND deleted = 0 \
     ORDER BY logical_id"
}

async fn insert_access_on(
    connection: &mut AnyConnection,
    access: &NewAccess,
) -> Result<(), ClinicalStoreError> {
    sqlx::query(
        "INSERT INTO clinical_access_log (patient_taj, at, user_name, institution_id, action, \
         target, break_glass_reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(access.patient.as_str())
    .bind(to_unix(access.at))
    .bind(access.user_name.as_str())
    .bind(access.institution.as_str())
    .bind(access.action.as_str())
    .bind(access.target.as_str())
    .bind(access.break_glass_reason.as_deref())
    .execute(&mut *connection)
    .await
    .map_err(database("record an access"))?;
    Ok(())
}

/// A new version: the resource row moved to it (or created), the version stored, all or
/// nothing (the writer's savepoint).
async fn write_resource_on(
    connection: &mut AnyConnection,
    backend: DatabaseBackend,
    write: &ResourceWrite,
) -> Result<ResourceVersion, ClinicalStoreError> {
    const OPERATION: &str = "write a resource version";
    let version = to_i64("version", write.version())?;
    let (scope, target) = match &write.restriction {
        Some((scope, target)) => (Some(scope.as_str()), Some(target.as_str())),
        None => (None, None),
    };
    match &write.expected {
        ExpectedVersion::New => {
            let inserted = sqlx::query(
                "INSERT INTO clinical_resources (resource_type, logical_id, current_version, \
                 patient_taj, created_by, status, restriction_scope, restriction_target, \
                 deleted, last_updated) VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(write.resource_type.as_str())
            .bind(write.logical_id.as_str())
            .bind(write.patient.as_str())
            .bind(write.institution.as_str())
            .bind(write.status.as_deref())
            .bind(scope)
            .bind(target)
            .bind(i64::from(write.deleted))
            .bind(to_unix(write.last_updated))
            .execute(&mut *connection)
            .await;
            match inserted {
                Ok(_) => {}
                Err(error) if is_unique_violation(&error) => {
                    return Err(ClinicalStoreError::Exists {
                        what: "resource",
                        id: format!("{}/{}", write.resource_type, write.logical_id),
                    })
                }
                Err(error) => return Err(database(OPERATION)(error)),
            }
        }
        ExpectedVersion::Current { current, status } => {
            let current_i64 = to_i64("version", *current)?;
            let updated = sqlx::query(
                "UPDATE clinical_resources SET current_version = $3, status = $4, \
                 restriction_scope = $5, restriction_target = $6, deleted = $7, \
                 last_updated = $8 WHERE resource_type = $1 AND logical_id = $2 \
                 AND current_version = $9 AND ($10 = '' OR status = $10) AND patient_taj = $11",
            )
            .bind(write.resource_type.as_str())
            .bind(write.logical_id.as_str())
            .bind(version)
            .bind(write.status.as_deref())
            .bind(scope)
            .bind(target)
            .bind(i64::from(write.deleted))
            .bind(to_unix(write.last_updated))
            .bind(current_i64)
            .bind(status.as_deref().unwrap_or(""))
            .bind(write.patient.as_str())
            .execute(&mut *connection)
            .await
            .map_err(database(OPERATION))?;
            if updated.rows_affected() == 0 {
                return Err(why_not_updated(connection, backend, write, *current, status).await);
            }
        }
    }
    sqlx::query(
        "INSERT INTO clinical_resource_versions (resource_type, logical_id, version_id, \
         patient_taj, institution_id, last_updated, deleted, resource) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(write.resource_type.as_str())
    .bind(write.logical_id.as_str())
    .bind(version)
    .bind(write.patient.as_str())
    .bind(write.institution.as_str())
    .bind(to_unix(write.last_updated))
    .bind(i64::from(write.deleted))
    .bind(write.resource.as_str())
    .execute(&mut *connection)
    .await
    .map_err(database(OPERATION))?;
    Ok(ResourceVersion {
        resource_type: write.resource_type.clone(),
        logical_id: write.logical_id.clone(),
        version: write.version(),
        patient: write.patient.clone(),
        institution: write.institution.clone(),
        last_updated: write.last_updated,
        deleted: write.deleted,
        resource: write.resource.clone(),
    })
}

/// Why the conditional `UPDATE` of a version changed nothing: no such resource (or another
/// patient's), a status other than the required one (checked first: a referral consumed by a
/// concurrent writer is "consumed", not "stale"), or a newer version.
async fn why_not_updated(
    connection: &mut AnyConnection,
    backend: DatabaseBackend,
    write: &ResourceWrite,
    expected: u64,
    status: &Option<String>,
) -> ClinicalStoreError {
    let sql = format!(
        "SELECT {HEAD_COLUMNS} FROM clinical_resources h \
         WHERE h.resource_type = $1 AND h.logical_id = $2{}",
        backend.row_lock()
    );
    let row = sqlx::query(&sql)
        .bind(write.resource_type.as_str())
        .bind(write.logical_id.as_str())
        .fetch_optional(&mut *connection)
        .await;
    let head = match row {
        Ok(Some(row)) => match head_from_row(&row) {
            Ok(head) => head,
            Err(error) => return error.into(),
        },
        Ok(None) => {
            return ClinicalStoreError::NotFound {
                what: "resource",
                id: format!("{}/{}", write.resource_type, write.logical_id),
            }
        }
        Err(error) => return database("write a resource version")(error),
    };
    if head.patient != write.patient {
        return ClinicalStoreError::NotFound {
            what: "resource",
            id: format!("{}/{}", write.resource_type, write.logical_id),
        };
    }
    if let Some(required) = status {
        let actual = head.status.clone().unwrap_or_default();
        if &actual != required {
            return ClinicalStoreError::WrongStatus {
                resource_type: write.resource_type.clone(),
                logical_id: write.logical_id.clone(),
                status: actual,
                required: required.clone(),
            };
        }
    }
    ClinicalStoreError::StaleVersion {
        resource_type: write.resource_type.clone(),
        logical_id: write.logical_id.clone(),
        expected,
        current: head.current_version,
    }
}

impl Metadata {
    /// Writes a new version of a resource with its audit entry and (when given) the patient's
    /// access log line, in one transaction on the writer. Refused as `Exists` (a new resource
    /// whose id is taken), `NotFound`, `WrongStatus` or `StaleVersion` (see
    /// [`ExpectedVersion`]); then nothing is stored.
    pub async fn write_clinical_resource(
        &self,
        write: &ResourceWrite,
        audit: &NewAuditEntry,
        access: Option<&NewAccess>,
    ) -> Result<ResourceVersion, ClinicalStoreError> {
        let mut stored = self
            .write_clinical_resources(std::slice::from_ref(write), audit, access)
            .await?;
        stored.pop().ok_or_else(|| {
            ClinicalStoreError::Metadata(MetadataError::corrupt("writer", "no version written"))
        })
    }

    /// Several versions (e.g. a document's Binary and DocumentReference) with one audit entry
    /// and access log line, all in one transaction: all are stored or none.
    pub async fn write_clinical_resources(
        &self,
        writes: &[ResourceWrite],
        audit: &NewAuditEntry,
        access: Option<&NewAccess>,
    ) -> Result<Vec<ResourceVersion>, ClinicalStoreError> {
        let backend = self.backend;
        let (writes, audit, access) = (writes.to_vec(), audit.clone(), access.cloned());
        self.clinical_write("write a resource version", move |connection| {
            Box::pin(async move {
                let mut stored = Vec::with_capacity(writes.len());
                for write in &writes {
                    stored.push(write_resource_on(connection, backend, write).await?);
                }
                if let Some(access) = &access {
                    insert_access_on(connection, access).await?;
                }
                append_audit_on(&mut Sql::Any(connection), backend, &audit).await?;
                Ok(stored)
            })
        })
        .await
    }

    /// Records a read (or search) of a patient's data: its access log line and its audit
    /// entry, in one transaction.
    pub async fn record_clinical_access(
        &self,
        access: &NewAccess,
        audit: &NewAuditEntry,
    ) -> Result<(), ClinicalStoreError> {
        let backend = self.backend;
        let (access, audit) = (access.clone(), audit.clone());
        self.clinical_write("record an access", move |connection| {
            Box::pin(async move {
                insert_access_on(connection, &access).await?;
                append_audit_on(&mut Sql::Any(connection), backend, &audit).await?;
                Ok(())
            })
        })
        .await
    }

    /// The resource's current state and JSON (also when deleted: `head.deleted` says so).
    pub async fn clinical_resource(
        &self,
        resource_type: &str,
        logical_id: &str,
    ) -> Result<Option<CurrentResource>, MetadataError> {
        let sql = format!(
            "SELECT {HEAD_COLUMNS}, v.resource FROM clinical_resources h \
             JOIN clinical_resource_versions v ON v.resource_type = h.resource_type \
             AND v.logical_id = h.logical_id AND v.version_id = h.current_version \
             WHERE h.resource_type = $1 AND h.logical_id = $2"
        );
        sqlx::query(&sql)
            .bind(resource_type)
            .bind(logical_id)
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a resource"))?
            .map(|row| {
                Ok(CurrentResource {
                    head: head_from_row(&row)?,
                    resource: column(&row, "resource")?,
                })
            })
            .transpose()
    }

    /// One version of a resource.
    pub async fn clinical_resource_version(
        &self,
        resource_type: &str,
        logical_id: &str,
        version: u64,
    ) -> Result<Option<ResourceVersion>, MetadataError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM clinical_resource_versions v \
             WHERE v.resource_type = $1 AND v.logical_id = $2 AND v.version_id = $3"
        );
        sqlx::query(&sql)
            .bind(resource_type)
            .bind(logical_id)
            .bind(to_i64("version", version)?)
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a resource version"))?
            .map(|row| version_from_row(&row))
            .transpose()
    }

    /// Every version of a resource, newest first (`_history`).
    pub async fn clinical_resource_history(
        &self,
        resource_type: &str,
        logical_id: &str,
    ) -> Result<Vec<ResourceVersion>, MetadataError> {
        sqlx::query(&resource_history_sql())
            .bind(resource_type)
            .bind(logical_id)
            .bind(LIST_LIMIT)
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("read a resource's history"))?
            .iter()
            .map(version_from_row)
            .collect()
    }

    /// The current, not deleted resources of one type of a patient, newest first.
    pub async fn clinical_resources_of_patient(
        &self,
        patient: &Taj,
        resource_type: &str,
    ) -> Result<Vec<CurrentResource>, MetadataError> {
        sqlx::query(&resources_by_patient_sql())
            .bind(patient.as_str())
            .bind(resource_type)
            .bind(LIST_LIMIT)
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("search a patient's resources"))?
            .iter()
            .map(|row| {
                Ok(CurrentResource {
                    head: head_from_row(row)?,
                    resource: column(row, "resource")?,
                })
            })
            .collect()
    }

    /// The patient's restrictions in force.
    pub async fn clinical_restrictions(
        &self,
        patient: &Taj,
    ) -> Result<Vec<Restriction>, MetadataError> {
        sqlx::query(restrictions_sql())
            .bind(patient.as_str())
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("read a patient's restrictions"))?
            .iter()
            .map(|row| {
                let scope: Option<String> = column(row, "restriction_scope")?;
                let target: Option<String> = column(row, "restriction_target")?;
                Ok(Restriction {
                    id: column(row, "logical_id")?,
                    scope: scope.unwrap_or_default(),
                    target: target.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The patient's access log, newest first.
    pub async fn clinical_access_log(
        &self,
        patient: &Taj,
        limit: u32,
    ) -> Result<Vec<AccessEntry>, MetadataError> {
        sqlx::query(access_log_sql())
            .bind(patient.as_str())
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("read a patient's access log"))?
            .iter()
            .map(access_from_row)
            .collect()
    }
}
