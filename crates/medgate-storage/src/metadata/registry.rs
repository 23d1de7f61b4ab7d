//! The registry role: repositories registered in the national domain (one per provider, the
//! tenant id in the CN of its national certificates) and the XDS DocumentEntry metadata they
//! indexed. A provider that registers again gets its national repository id back; a
//! deregistration withdraws the repository's entries in the same transaction.

use medgate_ids::{Oid, TenantId};
use sqlx::any::AnyRow;

use time::OffsetDateTime;

use super::{column, from_unix, now, parsed_column, to_i64, to_u64, to_unix, Metadata};
use crate::error::MetadataError;
use crate::metadata::documents::PatientIdentifier;
use crate::values::{Sha1Digest, Sha256Digest};

/// Name of the arc counter national repository ids are taken from.
const NATIONAL_REPOSITORY_COUNTER: &str = "national_repository";

/// Whether a repository is currently part of the national domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryRepositoryStatus {
    Registered,
    Deregistered,
}

impl RegistryRepositoryStatus {
    /// `registered` or `deregistered`.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryRepositoryStatus::Registered => "registered",
            RegistryRepositoryStatus::Deregistered => "deregistered",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "registered" => Ok(RegistryRepositoryStatus::Registered),
            "deregistered" => Ok(RegistryRepositoryStatus::Deregistered),
            other => Err(format!("unknown repository status '{other}'")),
        }
    }
}

/// What a repository presents when it registers (already checked by the server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryRegistration {
    pub provider: TenantId,
    pub name: Option<String>,
    /// Where the repository's documents are retrieved.
    pub repository_url: String,
    pub tls_serial: String,
    pub tls_fingerprint: Sha256Digest,
    pub wss_serial: String,
    pub wss_certificate_pem: String,
}

/// A repository as the registry knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryRepository {
    pub provider: TenantId,
    pub national_repository_id: Oid,
    pub name: Option<String>,
    pub repository_url: String,
    pub tls_serial: String,
    pub tls_fingerprint: Sha256Digest,
    pub wss_serial: String,
    pub wss_certificate_pem: String,
    pub status: RegistryRepositoryStatus,
    pub registered_at: OffsetDateTime,
    pub deregistered_at: Option<OffsetDateTime>,
}

/// The outcome of a registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    pub repository: RegistryRepository,
    /// False when the provider had registered before and got its id back.
    pub new_id: bool,
}

/// An XDS DocumentEntry as the registry keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryEntry {
    /// The document's uniqueId (`root^extension` for a CDA document).
    pub unique_id: String,
    pub patient: PatientIdentifier,
    pub class_code: Option<String>,
    pub type_code: Option<String>,
    pub type_system: Option<String>,
    pub type_display: Option<String>,
    pub creation_time: OffsetDateTime,
    pub sha1: Sha1Digest,
    pub sha256: Sha256Digest,
    pub size_bytes: u64,
    pub author: Option<String>,
    pub title: Option<String>,
    pub confidentiality: Option<String>,
    pub mime_type: String,
}

/// An entry with the repository that holds the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRegistryEntry {
    pub entry: RegistryEntry,
    pub provider: TenantId,
    /// The owning repository's national id (XDS repositoryUniqueId).
    pub repository_unique_id: Oid,
    pub repository_url: String,
    pub submitted_at: OffsetDateTime,
}

/// What storing an entry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryStored {
    Created,
    /// The same repository sent the entry again; it was replaced.
    Replaced,
    /// Another repository holds an entry with this uniqueId; nothing was changed.
    OwnedByAnotherRepository,
}

const REPOSITORY_COLUMNS: &str = "provider, national_repository_id, name, repository_url, \
     tls_serial, tls_fingerprint_sha256, wss_serial, wss_certificate_pem, status, \
     registered_at, deregistered_at";

fn repository_from_row(row: &AnyRow) -> Result<RegistryRepository, MetadataError> {
    let deregistered_at: Option<i64> = column(row, "deregistered_at")?;
    Ok(RegistryRepository {
        provider: parsed_column(row, "provider", TenantId::parse)?,
        national_repository_id: parsed_column(row, "national_repository_id", Oid::parse)?,
        name: column(row, "name")?,
        repository_url: column(row, "repository_url")?,
        tls_serial: column(row, "tls_serial")?,
        tls_fingerprint: parsed_column(row, "tls_fingerprint_sha256", Sha256Digest::parse_hex)?,
        wss_serial: column(row, "wss_serial")?,
        wss_certificate_pem: column(row, "wss_certificate_pem")?,
        status: parsed_column(row, "status", RegistryRepositoryStatus::parse)?,
        registered_at: from_unix("registered_at", column(row, "registered_at")?)?,
        deregistered_at: deregistered_at
            .map(|seconds| from_unix("deregistered_at", seconds))
            .transpose()?,
    })
}

const ENTRY_COLUMNS: &str = "e.unique_id, e.provider, e.patient_root, e.patient_extension, \
     e.class_code, e.type_code, e.type_system, e.type_display, e.creation_time, e.sha1, \
     e.sha256, e.size_bytes, e.author, e.title, e.confidentiality, e.mime_type, \
     e.submitted_at, r.national_repository_id, r.repository_url";

fn entry_from_row(row: &AnyRow) -> Result<StoredRegistryEntry, MetadataError> {
    Ok(StoredRegistryEntry {
        entry: RegistryEntry {
            unique_id: column(row, "unique_id")?,
            patient: PatientIdentifier {
                root: parsed_column(row, "patient_root", Oid::parse)?,
                extension: column(row, "patient_extension")?,
            },
            class_code: column(row, "class_code")?,
            type_code: column(row, "type_code")?,
            type_system: column(row, "type_system")?,
            type_display: column(row, "type_display")?,
            creation_time: from_unix("creation_time", column(row, "creation_time")?)?,
            sha1: parsed_column(row, "sha1", Sha1Digest::parse_hex)?,
            sha256: parsed_column(row, "sha256", Sha256Digest::parse_hex)?,
            size_bytes: to_u64("size_bytes", column(row, "size_bytes")?)?,
            author: column(row, "author")?,
            title: column(row, "title")?,
            confidentiality: column(row, "confidentiality")?,
            mime_type: column(row, "mime_type")?,
        },
        provider: parsed_column(row, "provider", TenantId::parse)?,
        repository_unique_id: parsed_column(row, "national_repository_id", Oid::parse)?,
        repository_url: column(row, "repository_url")?,
        submitted_at: from_unix("submitted_at", column(row, "submitted_at")?)?,
    })
}

/// The entries of one patient in every registered repository (`$1` identifier value, `$2`
/// root or empty, `$3` limit), driven by `registry_entries_by_patient`.
pub(crate) fn registry_entries_by_patient_sql() -> String {
    format!(
        "SELECT {ENTRY_COLUMNS} FROM registry_entries e \
         JOIN registry_repositories r ON r.provider = e.provider \
         WHERE r.status = 'registered' AND e.patient_extension = $1 \
         AND ($2 = '' OR e.patient_root = $2) \
         ORDER BY e.creation_time DESC, e.unique_id LIMIT $3"
    )
}

impl Metadata {
    /// Registers a repository, or registers it again: a provider seen before keeps its
    /// national repository id (its certificates, URL and name are updated, its status is
    /// `registered` again); a new provider gets `<id_root>.<next number>`. One transaction.
    pub async fn register_repository(
        &self,
        registration: &RepositoryRegistration,
        id_root: &Oid,
    ) -> Result<Registered, MetadataError> {
        const OPERATION: &str = "register a repository";
        let backend = self.backend;
        let (registration_owned, id_root_owned) = (registration.clone(), id_root.clone());
        let (repository, new_id) = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (registration, id_root) = (&registration_owned, &id_root_owned);
                    let lock = backend.row_lock();
                    let existing = sqlx::query(&format!(
            "SELECT national_repository_id FROM registry_repositories WHERE provider = $1{lock}"
        ))
                    .bind(registration.provider.as_str())
                    .fetch_optional(&mut *connection)
                    .await
                    .map_err(MetadataError::database(OPERATION))?;
                    let now = to_unix(now());
                    let (sql, national_id, new_id) = match existing {
                        Some(row) => (
                            format!(
                                "UPDATE registry_repositories SET name = $3, repository_url = $4, \
                     tls_serial = $5, tls_fingerprint_sha256 = $6, wss_serial = $7, \
                     wss_certificate_pem = $8, status = 'registered', registered_at = $9, \
                     deregistered_at = NULL WHERE provider = $1 AND national_repository_id = $2 \
                     RETURNING {REPOSITORY_COLUMNS}"
                            ),
                            parsed_column(&row, "national_repository_id", Oid::parse)?,
                            false,
                        ),
                        None => {
                            let row = sqlx::query(
                    "UPDATE oid_arc_counters SET last_value = last_value + 1 WHERE name = $1 \
                     RETURNING last_value",
                )
                .bind(NATIONAL_REPOSITORY_COUNTER)
                .fetch_one(&mut *connection)
                .await
                .map_err(MetadataError::database(OPERATION))?;
                            let arc = to_u64("last_value", column(&row, "last_value")?)?;
                            (
                                format!(
                        "INSERT INTO registry_repositories (provider, national_repository_id, \
                         name, repository_url, tls_serial, tls_fingerprint_sha256, wss_serial, \
                         wss_certificate_pem, status, registered_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'registered', $9) \
                         RETURNING {REPOSITORY_COLUMNS}"
                    ),
                                id_root.child(arc),
                                true,
                            )
                        }
                    };
                    let row = sqlx::query(&sql)
                        .bind(registration.provider.as_str())
                        .bind(national_id.as_str())
                        .bind(registration.name.as_deref())
                        .bind(registration.repository_url.as_str())
                        .bind(registration.tls_serial.as_str())
                        .bind(registration.tls_fingerprint.to_hex())
                        .bind(registration.wss_serial.as_str())
                        .bind(registration.wss_certificate_pem.as_str())
                        .bind(now)
                        .fetch_one(&mut *connection)
                        .await
                        .map_err(MetadataError::database(OPERATION))?;
                    let repository = repository_from_row(&row)?;
                    Ok::<_, MetadataError>((repository, new_id))
                })
            })
            .await?;
        Ok(Registered { repository, new_id })
    }

    /// The repository of a provider, registered or not; `None` if it never registered.
    pub async fn get_registry_repository(
        &self,
        provider: &TenantId,
    ) -> Result<Option<RegistryRepository>, MetadataError> {
        sqlx::query(&format!(
            "SELECT {REPOSITORY_COLUMNS} FROM registry_repositories WHERE provider = $1"
        ))
        .bind(provider.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a registered repository"))?
        .as_ref()
        .map(repository_from_row)
        .transpose()
    }

    /// Deregisters a provider's repository and withdraws all its entries in one transaction;
    /// gives the repository and the number of entries withdrawn, or `None` when the provider
    /// is not registered now.
    pub async fn deregister_repository(
        &self,
        provider: &TenantId,
    ) -> Result<Option<(RegistryRepository, u64)>, MetadataError> {
        const OPERATION: &str = "deregister a repository";
        let (provider_owned,) = (provider.clone(),);
        let deregistered = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (provider,) = (&provider_owned,);
                    let row = sqlx::query(&format!(
            "UPDATE registry_repositories SET status = 'deregistered', deregistered_at = $2 \
             WHERE provider = $1 AND status = 'registered' RETURNING {REPOSITORY_COLUMNS}"
        ))
                    .bind(provider.as_str())
                    .bind(to_unix(now()))
                    .fetch_optional(&mut *connection)
                    .await
                    .map_err(MetadataError::database(OPERATION))?;
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    let withdrawn = sqlx::query("DELETE FROM registry_entries WHERE provider = $1")
                        .bind(provider.as_str())
                        .execute(&mut *connection)
                        .await
                        .map_err(MetadataError::database(OPERATION))?
                        .rows_affected();
                    let repository = repository_from_row(&row)?;
                    Ok::<_, MetadataError>(Some((repository, withdrawn)))
                })
            })
            .await?;
        Ok(deregistered)
    }

    /// Stores (or replaces) an entry of a provider's repository. An entry with the same
    /// uniqueId owned by another repository is left alone.
    pub async fn put_registry_entry(
        &self,
        provider: &TenantId,
        entry: &RegistryEntry,
    ) -> Result<EntryStored, MetadataError> {
        const OPERATION: &str = "store a registry entry";
        let backend = self.backend;
        let (provider_owned, entry_owned) = (provider.clone(), entry.clone());
        let outcome = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (provider, entry) = (&provider_owned, &entry_owned);
                    let lock = backend.row_lock();
                    let owner = sqlx::query(&format!(
                        "SELECT provider FROM registry_entries WHERE unique_id = $1{lock}"
                    ))
                    .bind(entry.unique_id.as_str())
                    .fetch_optional(&mut *connection)
                    .await
                    .map_err(MetadataError::database(OPERATION))?;
                    let outcome = match owner {
                        Some(row) => {
                            let owner: String = column(&row, "provider")?;
                            if owner != provider.as_str() {
                                return Ok(EntryStored::OwnedByAnotherRepository);
                            }
                            sqlx::query("DELETE FROM registry_entries WHERE unique_id = $1")
                                .bind(entry.unique_id.as_str())
                                .execute(&mut *connection)
                                .await
                                .map_err(MetadataError::database(OPERATION))?;
                            EntryStored::Replaced
                        }
                        None => EntryStored::Created,
                    };
                    sqlx::query(
            "INSERT INTO registry_entries (unique_id, provider, patient_root, patient_extension, \
             class_code, type_code, type_system, type_display, creation_time, sha1, sha256, \
             size_bytes, author, title, confidentiality, mime_type, submitted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(entry.unique_id.as_str())
        .bind(provider.as_str())
        .bind(entry.patient.root.as_str())
        .bind(entry.patient.extension.as_str())
        .bind(entry.class_code.as_deref())
        .bind(entry.type_code.as_deref())
        .bind(entry.type_system.as_deref())
        .bind(entry.type_display.as_deref())
        .bind(to_unix(entry.creation_time))
        .bind(entry.sha1.to_hex())
        .bind(entry.sha256.to_hex())
        .bind(to_i64("size_bytes", entry.size_bytes)?)
        .bind(entry.author.as_deref())
        .bind(entry.title.as_deref())
        .bind(entry.confidentiality.as_deref())
        .bind(entry.mime_type.as_str())
        .bind(to_unix(now()))
        .execute(&mut *connection)
        .await
        .map_err(MetadataError::database(OPERATION))?;
                    Ok::<_, MetadataError>(outcome)
                })
            })
            .await?;
        Ok(outcome)
    }

    /// Withdraws an entry of a provider's repository; false when that repository has no
    /// entry with this uniqueId (another repository's entry is never touched).
    pub async fn withdraw_registry_entry(
        &self,
        provider: &TenantId,
        unique_id: &str,
    ) -> Result<bool, MetadataError> {
        let (provider_owned, unique_id_owned) = (provider.clone(), unique_id.to_owned());
        let result = self
            .writer
            .transact("withdraw a registry entry", move |connection| {
                Box::pin(async move {
                    let (provider, unique_id) = (&provider_owned, &unique_id_owned);
                    let result = sqlx::query(
                        "DELETE FROM registry_entries WHERE unique_id = $1 AND provider = $2",
                    )
                    .bind(unique_id)
                    .bind(provider.as_str())
                    .execute(&mut *connection)
                    .await
                    .map_err(MetadataError::database("withdraw a registry entry"))?;
                    Ok::<_, MetadataError>(result)
                })
            })
            .await?;
        Ok(result.rows_affected() > 0)
    }

    /// The entries of a patient across all registered repositories, newest first (at most
    /// `limit`). `root` limits the search to one assigning authority.
    pub async fn find_registry_entries(
        &self,
        extension: &str,
        root: Option<&Oid>,
        limit: u32,
    ) -> Result<Vec<StoredRegistryEntry>, MetadataError> {
        let sql = registry_entries_by_patient_sql();
        sqlx::query(&sql)
            .bind(extension)
            .bind(root.map(Oid::as_str).unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("search registry entries"))?
            .iter()
            .map(entry_from_row)
            .collect()
    }

    /// One entry by uniqueId, whoever owns it (`None` if there is none).
    pub async fn get_registry_entry(
        &self,
        unique_id: &str,
    ) -> Result<Option<StoredRegistryEntry>, MetadataError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM registry_entries e \
             JOIN registry_repositories r ON r.provider = e.provider WHERE e.unique_id = $1"
        );
        sqlx::query(&sql)
            .bind(unique_id)
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a registry entry"))?
            .as_ref()
            .map(entry_from_row)
            .transpose()
    }
}
