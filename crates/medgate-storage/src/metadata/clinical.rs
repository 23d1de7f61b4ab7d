//! The national clinical record service's store (issue 13): institutions and their units,
//! practitioners and the authorisation matrix, institution certificates, practitioner
//! sessions, versioned FHIR resources, the referral status, the patient's restrictions
//! (Consent resources) and the access log.
//!
//! Resources are kept as their JSON text: this crate knows no FHIR, only a resource's type,
//! logical id, version, patient (TAJ), the institution that created it and the few columns
//! the service acts on (`status`, a restriction's scope). Every write goes through the writer
//! (see [`super::writer`]); a new version, its row in `clinical_resources` and its audit entry
//! are one job, so either all are stored or none. A version is written only over the version
//! the caller read (`current_version = $expected` in the `UPDATE`): of two writers that read
//! the same version, the second is refused as stale, and a referral is consumed once (`status =
//! 'issued'` in the same `UPDATE`).

use std::fmt;
use std::sync::{Arc, Mutex};

use medgate_ids::{InstitutionId, StampNumber, Taj, UnitId};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use time::OffsetDateTime;

use super::audit::{append_audit_on, NewAuditEntry};
use super::{
    column, from_unix, is_foreign_key_violation, is_unique_violation, parsed_column, to_i64,
    to_u64, to_unix, DatabaseBackend, Metadata,
};
use crate::error::MetadataError;
use crate::values::Sha256Digest;

/// The most rows one listing returns.
const LIST_LIMIT: i64 = 1000;

/// Why a clinical store operation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClinicalStoreError {
    /// Nothing of that kind with that identifier.
    #[error("no {what} '{id}' exists")]
    NotFound { what: &'static str, id: String },

    /// One with that identifier exists already.
    #[error("{what} '{id}' exists already")]
    Exists { what: &'static str, id: String },

    /// The resource changed since the caller read it.
    #[error("{resource_type}/{logical_id} is at version {current}, not {expected}")]
    StaleVersion {
        resource_type: String,
        logical_id: String,
        expected: u64,
        current: u64,
    },

    /// The resource's status is not the one the operation requires (a referral consumed or
    /// cancelled already).
    #[error("{resource_type}/{logical_id} is {status}, not {required}")]
    WrongStatus {
        resource_type: String,
        logical_id: String,
        status: String,
        required: String,
    },

    /// The store failed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

fn database(operation: &'static str) -> impl FnOnce(sqlx::Error) -> ClinicalStoreError {
    move |error| ClinicalStoreError::Metadata(MetadataError::database(operation)(error))
}

fn flag(row: &AnyRow, name: &'static str) -> Result<bool, MetadataError> {
    Ok(column::<i64>(row, name)? != 0)
}

fn optional_time(
    row: &AnyRow,
    name: &'static str,
) -> Result<Option<OffsetDateTime>, MetadataError> {
    let seconds: Option<i64> = column(row, name)?;
    seconds.map(|seconds| from_unix(name, seconds)).transpose()
}

// ---------------------------------------------------------------------------------------------
// Institutions, units, practitioners, the matrix, certificates

/// An institution known to the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClinicalInstitution {
    pub id: InstitutionId,
    pub name: String,
    /// False once the operator suspended it: its certificates open nothing.
    pub active: bool,
    /// When the operator marked its connection check as verified.
    pub connection_verified_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// A unit of an institution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClinicalUnit {
    pub id: UnitId,
    pub institution: InstitutionId,
    pub name: String,
}

/// A practitioner to register. The password is given as its Argon2id PHC string only.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPractitioner {
    /// The platform user name they sign in with.
    pub user_name: String,
    pub name: String,
    pub stamp_number: StampNumber,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// The TOTP secret, base32 (RFC 4648) as authenticator apps take it.
    pub totp_secret: String,
}

impl fmt::Debug for NewPractitioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPractitioner")
            .field("user_name", &self.user_name)
            .field("name", &self.name)
            .field("stamp_number", &self.stamp_number)
            .finish_non_exhaustive()
    }
}

/// A stored practitioner, with their credentials (never shown by `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct Practitioner {
    pub user_name: String,
    pub name: String,
    pub stamp_number: StampNumber,
    pub password_hash: String,
    pub totp_secret: String,
    /// The last TOTP time step accepted; a code of this step or an earlier one is refused.
    pub last_totp_step: Option<u64>,
    pub active: bool,
}

impl fmt::Debug for Practitioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Practitioner")
            .field("user_name", &self.user_name)
            .field("name", &self.name)
            .field("stamp_number", &self.stamp_number)
            .field("last_totp_step", &self.last_totp_step)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// One line of the authorisation matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorisation {
    pub user_name: String,
    pub institution: InstitutionId,
    /// `None`: every unit of the institution.
    pub unit: Option<UnitId>,
    /// The role, e.g. `doctor`, `nurse`, `administrator`.
    pub role: String,
}

/// A certificate issued to an institution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstitutionCertificate {
    /// Upper-case hexadecimal serial number.
    pub serial: String,
    pub institution: InstitutionId,
    pub not_after: OffsetDateTime,
}

fn institution_from_row(row: &AnyRow) -> Result<ClinicalInstitution, MetadataError> {
    Ok(ClinicalInstitution {
        id: parsed_column(row, "id", InstitutionId::parse)?,
        name: column(row, "name")?,
        active: flag(row, "active")?,
        connection_verified_at: optional_time(row, "connection_verified_at")?,
        created_at: from_unix("created_at", column(row, "created_at")?)?,
    })
}

fn practitioner_from_row(row: &AnyRow) -> Result<Practitioner, MetadataError> {
    let step: Option<i64> = column(row, "last_totp_step")?;
    Ok(Practitioner {
        user_name: column(row, "user_name")?,
        name: column(row, "name")?,
        stamp_number: parsed_column(row, "stamp_number", StampNumber::parse)?,
        password_hash: column(row, "password_hash")?,
        totp_secret: column(row, "totp_secret")?,
        last_totp_step: step
            .map(|step| to_u64("last_totp_step", step))
            .transpose()?,
        active: flag(row, "active")?,
    })
}

/// Runs one statement on the writer; a unique violation is `Exists`, a foreign key violation
/// `NotFound` of `parent`.
async fn insert_on(
    connection: &mut AnyConnection,
    operation: &'static str,
    sql: &str,
    binds: Vec<Value>,
    what: (&'static str, String),
    parent: (&'static str, String),
) -> Result<(), ClinicalStoreError> {
    let mut query = sqlx::query(sql);
    for value in binds {
        query = match value {
            Value::Text(text) => query.bind(text),
            Value::Int(number) => query.bind(number),
        };
    }
    match query.execute(&mut *connection).await {
        Ok(_) => Ok(()),
        Err(error) if is_unique_violation(&error) => Err(ClinicalStoreError::Exists {
            what: what.0,
            id: what.1,
        }),
        Err(error) if is_foreign_key_violation(&error) => Err(ClinicalStoreError::NotFound {
            what: parent.0,
            id: parent.1,
        }),
        Err(error) => Err(database(operation)(error)),
    }
}

/// A value bound to a statement run on the writer's task (owned).
#[derive(Clone, Debug)]
enum Value {
    Text(String),
    Int(i64),
}

impl Metadata {
    /// Runs a clinical write on the writer (see [`super::writer`]).
    async fn clinical_write<T: Send + 'static>(
        &self,
        operation: &'static str,
        job: impl for<'c> FnOnce(
                &'c mut AnyConnection,
            )
                -> futures_util::future::BoxFuture<'c, Result<T, ClinicalStoreError>>
            + Send
            + 'static,
    ) -> Result<T, ClinicalStoreError> {
        // The writer speaks `MetadataError` and rolls a job back only when it fails: a
        // refusal is kept aside here and the job fails, so its savepoint is rolled back.
        let refusal: Arc<Mutex<Option<ClinicalStoreError>>> = Arc::new(Mutex::new(None));
        let slot = refusal.clone();
        let outcome = self
            .writer
            .write(operation, move |connection| {
                Box::pin(async move {
                    match job(connection).await {
                        Ok(value) => Ok(value),
                        Err(ClinicalStoreError::Metadata(error)) => Err(error),
                        Err(refused) => {
                            if let Ok(mut slot) = slot.lock() {
                                *slot = Some(refused);
                            }
                            Err(MetadataError::database(operation)(sqlx::Error::Protocol(
                                "refused".to_owned(),
                            )))
                        }
                    }
                })
            })
            .await;
        match outcome {
            Ok(value) => Ok(value),
            Err(error) => {
                let refused = refusal.lock().ok().and_then(|mut slot| slot.take());
                Err(refused.unwrap_or(ClinicalStoreError::Metadata(error)))
            }
        }
    }

    /// Registers an institution (active, not yet verified).
    pub async fn create_clinical_institution(
        &self,
        id: &InstitutionId,
        name: &str,
        at: OffsetDateTime,
    ) -> Result<ClinicalInstitution, ClinicalStoreError> {
        const OPERATION: &str = "register an institution";
        let institution = ClinicalInstitution {
            id: id.clone(),
            name: name.to_owned(),
            active: true,
            connection_verified_at: None,
            created_at: at,
        };
        let binds = vec![
            Value::Text(id.as_str().to_owned()),
            Value::Text(name.to_owned()),
            Value::Int(to_unix(at)),
        ];
        let id_text = id.as_str().to_owned();
        self.clinical_write(OPERATION, move |connection| {
            Box::pin(async move {
                insert_on(
                    connection,
                    OPERATION,
                    "INSERT INTO clinical_institutions (id, name, active, created_at) \
                     VALUES ($1, $2, 1, $3)",
                    binds,
                    ("institution", id_text.clone()),
                    ("institution", id_text),
                )
                .await
            })
        })
        .await?;
        Ok(institution)
    }

    /// The institution with this id.
    pub async fn clinical_institution(
        &self,
        id: &InstitutionId,
    ) -> Result<Option<ClinicalInstitution>, MetadataError> {
        sqlx::query(
            "SELECT id, name, active, connection_verified_at, created_at \
             FROM clinical_institutions WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read an institution"))?
        .map(|row| institution_from_row(&row))
        .transpose()
    }

    /// Every institution, by id.
    pub async fn clinical_institutions(&self) -> Result<Vec<ClinicalInstitution>, MetadataError> {
        sqlx::query(
            "SELECT id, name, active, connection_verified_at, created_at \
             FROM clinical_institutions ORDER BY id LIMIT $1",
        )
        .bind(LIST_LIMIT)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list institutions"))?
        .iter()
        .map(institution_from_row)
        .collect()
    }

    /// Suspends or reactivates an institution.
    pub async fn set_clinical_institution_active(
        &self,
        id: &InstitutionId,
        active: bool,
    ) -> Result<(), ClinicalStoreError> {
        let (changed, _) = self
            .write_one(
                "change an institution's status",
                "UPDATE clinical_institutions SET active = $2 WHERE id = $1",
                vec![id.as_str().into(), i64::from(active).into()],
            )
            .await?;
        if changed == 0 {
            return Err(ClinicalStoreError::NotFound {
                what: "institution",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    /// Records that the institution's connection check was verified at `at` (the seed's last
    /// step).
    pub async fn mark_clinical_connection_verified(
        &self,
        id: &InstitutionId,
        at: OffsetDateTime,
    ) -> Result<(), ClinicalStoreError> {
        let (changed, _) = self
            .write_one(
                "mark a connection verified",
                "UPDATE clinical_institutions SET connection_verified_at = $2 WHERE id = $1",
                vec![id.as_str().into(), to_unix(at).into()],
            )
            .await?;
        if changed == 0 {
            return Err(ClinicalStoreError::NotFound {
                what: "institution",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    /// Adds a unit to an existing institution.
    pub async fn add_clinical_unit(&self, unit: &ClinicalUnit) -> Result<(), ClinicalStoreError> {
        const OPERATION: &str = "add a unit";
        let binds = vec![
            Value::Text(unit.id.as_str().to_owned()),
            Value::Text(unit.institution.as_str().to_owned()),
            Value::Text(unit.name.clone()),
        ];
        let (id, institution) = (unit.id.to_string(), unit.institution.to_string());
        self.clinical_write(OPERATION, move |connection| {
            Box::pin(async move {
                insert_on(
                    connection,
                    OPERATION,
                    "INSERT INTO clinical_units (id, institution_id, name) VALUES ($1, $2, $3)",
                    binds,
                    ("unit", id),
                    ("institution", institution),
                )
                .await
            })
        })
        .await
    }

    /// The units of an institution, by id.
    pub async fn clinical_units(
        &self,
        institution: &InstitutionId,
    ) -> Result<Vec<ClinicalUnit>, MetadataError> {
        let rows = sqlx::query(clinical_units_sql())
            .bind(institution.as_str())
            .bind(LIST_LIMIT)
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list units"))?;
        rows.iter()
            .map(|row| {
                Ok(ClinicalUnit {
                    id: parsed_column(row, "id", UnitId::parse)?,
                    institution: parsed_column(row, "institution_id", InstitutionId::parse)?,
                    name: column(row, "name")?,
                })
            })
            .collect()
    }

    /// Registers a practitioner (active, no TOTP step used yet).
    pub async fn create_clinical_practitioner(
        &self,
        practitioner: &NewPractitioner,
        at: OffsetDateTime,
    ) -> Result<(), ClinicalStoreError> {
        const OPERATION: &str = "register a practitioner";
        let binds = vec![
            Value::Text(practitioner.user_name.clone()),
            Value::Text(practitioner.name.clone()),
            Value::Text(practitioner.stamp_number.as_str().to_owned()),
            Value::Text(practitioner.password_hash.clone()),
            Value::Text(practitioner.totp_secret.clone()),
            Value::Int(to_unix(at)),
        ];
        let user = practitioner.user_name.clone();
        self.clinical_write(OPERATION, move |connection| {
            Box::pin(async move {
                insert_on(
                    connection,
                    OPERATION,
                    "INSERT INTO clinical_practitioners (user_name, name, stamp_number, \
                     password_hash, totp_secret, active, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6)",
                    binds,
                    ("practitioner", user.clone()),
                    ("practitioner", user),
                )
                .await
            })
        })
        .await
    }

    /// The practitioner with this user name.
    pub async fn clinical_practitioner(
        &self,
        user_name: &str,
    ) -> Result<Option<Practitioner>, MetadataError> {
        sqlx::query(
            "SELECT user_name, name, stamp_number, password_hash, totp_secret, last_totp_step, \
             active FROM clinical_practitioners WHERE user_name = $1",
        )
        .bind(user_name)
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a practitioner"))?
        .map(|row| practitioner_from_row(&row))
        .transpose()
    }

    /// Suspends or reactivates a practitioner; suspending also ends their sessions, in the
    /// same transaction.
    pub async fn set_clinical_practitioner_active(
        &self,
        user_name: &str,
        active: bool,
    ) -> Result<(), ClinicalStoreError> {
        const OPERATION: &str = "change a practitioner's status";
        let user = user_name.to_owned();
        self.clinical_write(OPERATION, move |connection| {
            Box::pin(async move {
                let changed = sqlx::query(
                    "UPDATE clinical_practitioners SET active = $2 WHERE user_name = $1",
                )
                .bind(user.as_str())
                .bind(i64::from(active))
                .execute(&mut *connection)
                .await
                .map_err(database(OPERATION))?;
                if changed.rows_affected() == 0 {
                    return Err(ClinicalStoreError::NotFound {
                        what: "practitioner",
                        id: user,
                    });
                }
                if !active {
                    sqlx::query("DELETE FROM clinical_sessions WHERE user_name = $1")
                        .bind(user.as_str())
                        .execute(&mut *connection)
                        .await
                        .map_err(database(OPERATION))?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Records that the practitioner used the TOTP code of time step `step`: true when that
    /// step is later than the last one used (the code is accepted), false when it is the same
    /// or earlier (a replay). One conditional `UPDATE`, so of two sign-ins racing with one
    /// code exactly one wins.
    pub async fn use_clinical_totp_step(
        &self,
        user_name: &str,
        step: u64,
    ) -> Result<bool, MetadataError> {
        let (changed, _) = self
            .write_one(
                "record a one-time code",
                "UPDATE clinical_practitioners SET last_totp_step = $2 \
                 WHERE user_name = $1 AND (last_totp_step IS NULL OR last_totp_step < $2)",
                vec![user_name.into(), to_i64("totp step", step)?.into()],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Adds a line to the authorisation matrix (the user and the institution must exist).
    pub async fn grant_clinical_authorisation(
        &self,
        authorisation: &Authorisation,
    ) -> Result<(), ClinicalStoreError> {
        const OPERATION: &str = "grant an authorisation";
        let binds = vec![
            Value::Text(authorisation.user_name.clone()),
            Value::Text(authorisation.institution.as_str().to_owned()),
            Value::Text(
                authorisation
                    .unit
                    .as_ref()
                    .map(|unit| unit.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            Value::Text(authorisation.role.clone()),
        ];
        let key = format!(
            "{} for {} as {}",
            authorisation.user_name, authorisation.institution, authorisation.role
        );
        let parent = format!(
            "{} or {}",
            authorisation.user_name, authorisation.institution
        );
        self.clinical_write(OPERATION, move |connection| {
            Box::pin(async move {
                insert_on(
                    connection,
                    OPERATION,
                    "INSERT INTO clinical_authorisations (user_name, institution_id, unit_id, \
                     role) VALUES ($1, $2, $3, $4)",
                    binds,
                    ("authorisation", key),
                    ("practitioner or institution", parent),
                )
                .await
            })
        })
        .await
    }

    /// The matrix lines of one user for one institution.
    pub async fn clinical_authorisations(
        &self,
        user_name: &str,
        institution: &InstitutionId,
    ) -> Result<Vec<Authorisation>, MetadataError> {
        let rows = sqlx::query(clinical_authorisations_sql())
            .bind(user_name)
            .bind(institution.as_str())
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("read the authorisation matrix"))?;
        rows.iter()
            .map(|row| {
                let unit: String = column(row, "unit_id")?;
                Ok(Authorisation {
                    user_name: column(row, "user_name")?,
                    institution: parsed_column(row, "institution_id", InstitutionId::parse)?,
                    unit: if unit.is_empty() {
                        None
                    } else {
                        Some(
                            UnitId::parse(&unit)
                                .map_err(|e| MetadataError::corrupt("unit_id", e))?,
                        )
                    },
                    role: column(row, "role")?,
                })
            })
            .collect()
    }

    /// Records a certificate issued to an institution.
    pub async fn add_clinical_certificate(
        &self,
        certificate: &InstitutionCertificate,
        at: OffsetDateTime,
    ) -> Result<(), ClinicalStoreError> {
        const OPERATION: &str = "record an institution certificate";
        let binds = vec![
            Value::Text(certificate.serial.clone()),
            Value::Text(certificate.institution.as_str().to_owned()),
            Value::Int(to_unix(certificate.not_after)),
            Value::Int(to_unix(at)),
        ];
        let (serial, institution) = (
            certificate.serial.clone(),
            certificate.institution.to_string(),
        );
        self.clinical_write(OPERATION, move |connection| {
            Box::pin(async move {
                insert_on(
                    connection,
                    OPERATION,
                    "INSERT INTO clinical_institution_certificates (serial, institution_id, \
                     not_after, created_at) VALUES ($1, $2, $3, $4)",
                    binds,
                    ("certificate", serial),
                    ("institution", institution),
                )
                .await
            })
        })
        .await
    }

    /// The institution certificate with this serial (upper-case hex).
    pub async fn clinical_certificate(
        &self,
        serial: &str,
    ) -> Result<Option<InstitutionCertificate>, MetadataError> {
        sqlx::query(
            "SELECT serial, institution_id, not_after FROM clinical_institution_certificates \
             WHERE serial = $1",
        )
        .bind(serial)
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read an institution certificate"))?
        .map(|row| {
            Ok(InstitutionCertificate {
                serial: column(&row, "serial")?,
                institution: parsed_column(&row, "institution_id", InstitutionId::parse)?,
                not_after: from_unix("not_after", column(&row, "not_after")?)?,
            })
        })
        .transpose()
    }
}

/// The units of an institution (`$1` institution, `$2` limit).
pub(crate) fn clinical_units_sql() -> &'static str {
    "SELECT id, institution_id, name FROM clinical_units WHERE institution_id = $1 \
     ORDER BY id LIMIT $2"
}

/// The matrix lines of a user for an institution (`$1` user, `$2` institution).
pub(crate) fn clinical_authorisations_sql() -> &'static str {
    "SELECT user_name, institution_id, unit_id, role FROM clinical_authorisations \
     WHERE user_name = $1 AND institution_id = $2 ORDER BY unit_id, role"
}

// ---------------------------------------------------------------------------------------------
// Practitioner sessions

/// A practitioner's session at the service: for one institution, until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PractitionerSession {
    /// SHA-256 of the session token (the token itself is never stored).
    pub token_hash: Sha256Digest,
    pub user_name: String,
    pub institution: InstitutionId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl Metadata {
    /// Stores a new session; also removes sessions that ended before its start.
    pub async fn create_practitioner_session(
        &self,
        session: &PractitionerSession,
    ) -> Result<(), ClinicalStoreError> {
        const OPERATION: &str = "open a practitioner session";
        self.write_one(
            OPERATION,
            "DELETE FROM clinical_sessions WHERE expires_at < $1",
            vec![to_unix(session.created_at).into()],
        )
        .await?;
        let binds = vec![
            Value::Text(session.token_hash.to_hex()),
            Value::Text(session.user_name.clone()),
            Value::Text(session.institution.as_str().to_owned()),
            Value::Int(to_unix(session.created_at)),
            Value::Int(to_unix(session.expires_at)),
        ];
        let parent = format!("{} or {}", session.user_name, session.institution);
        self.clinical_write(OPERATION, move |connection| {
            Box::pin(async move {
                insert_on(
                    connection,
                    OPERATION,
                    "INSERT INTO clinical_sessions (token_hash, user_name, institution_id, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                    binds,
                    ("session", "(token)".to_owned()),
                    ("practitioner or institution", parent),
                )
                .await
            })
        })
        .await
    }

    /// The session with this token hash, expired or not (the caller compares `expires_at`
    /// with its clock, so an expired session gets its own answer).
    pub async fn practitioner_session(
        &self,
        token_hash: &Sha256Digest,
    ) -> Result<Option<PractitionerSession>, MetadataError> {
        sqlx::query(
            "SELECT token_hash, user_name, institution_id, created_at, expires_at \
             FROM clinical_sessions WHERE token_hash = $1",
        )
        .bind(token_hash.to_hex())
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a practitioner session"))?
        .map(|row| {
            Ok(PractitionerSession {
                token_hash: parsed_column(&row, "token_hash", Sha256Digest::parse_hex)?,
                user_name: column(&row, "user_name")?,
                institution: parsed_column(&row, "institution_id", InstitutionId::parse)?,
                created_at: from_unix("created_at", column(&row, "created_at")?)?,
                expires_at: from_unix("expires_at", column(&row, "expires_at")?)?,
            })
        })
        .transpose()
    }

    /// Ends a session (sign-out); nothing happens if there is none.
    pub async fn delete_practitioner_session(
        &self,
        token_hash: &Sha256Digest,
    ) -> Result<(), MetadataError> {
        self.write_one(
            "end a practitioner session",
            "DELETE FROM clinical_sessions WHERE token_hash = $1",
            vec![token_hash.to_hex().into()],
        )
        .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Versioned resources

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
                append_audit_on(connection, backend, &audit).await?;
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
                append_audit_on(connection, backend, &audit).await?;
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
