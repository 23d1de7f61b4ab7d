//! Institutions, units, practitioners, the authorisation matrix and institution certificates.

use super::*;

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

fn authorisation_from_row(row: &AnyRow) -> Result<Authorisation, MetadataError> {
    let unit: String = column(row, "unit_id")?;
    Ok(Authorisation {
        user_name: column(row, "user_name")?,
        institution: parsed_column(row, "institution_id", InstitutionId::parse)?,
        unit: if unit.is_empty() {
            None
        } else {
            Some(UnitId::parse(&unit).map_err(|e| MetadataError::corrupt("unit_id", e))?)
        },
        role: column(row, "role")?,
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
pub(super) async fn insert_on(
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
pub(super) enum Value {
    Text(String),
    Int(i64),
}

impl Metadata {
    /// Runs a clinical write on the writer (see [`super::writer`]).
    pub(super) async fn clinical_write<T: Send + 'static>(
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
        rows.iter().map(authorisation_from_row).collect()
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

    /// Every practitioner, by user name (for the operator's pages).
    pub async fn clinical_practitioners(&self) -> Result<Vec<Practitioner>, MetadataError> {
        sqlx::query(
            "SELECT user_name, name, stamp_number, password_hash, totp_secret, last_totp_step, \
             active FROM clinical_practitioners ORDER BY user_name LIMIT $1",
        )
        .bind(LIST_LIMIT)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list practitioners"))?
        .iter()
        .map(practitioner_from_row)
        .collect()
    }

    /// Every line of the authorisation matrix, by user, institution, unit and role.
    pub async fn clinical_matrix(&self) -> Result<Vec<Authorisation>, MetadataError> {
        let rows = sqlx::query(
            "SELECT user_name, institution_id, unit_id, role FROM clinical_authorisations \
             ORDER BY user_name, institution_id, unit_id, role LIMIT $1",
        )
        .bind(LIST_LIMIT)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list the authorisation matrix"))?;
        rows.iter().map(authorisation_from_row).collect()
    }

    /// Removes a line of the authorisation matrix; when it was the user's last line for that
    /// institution, their sessions for it end in the same transaction.
    pub async fn revoke_clinical_authorisation(
        &self,
        authorisation: &Authorisation,
    ) -> Result<(), ClinicalStoreError> {
        const OPERATION: &str = "revoke an authorisation";
        let line = authorisation.clone();
        self.clinical_write(OPERATION, move |connection| {
            Box::pin(async move {
                let unit = line
                    .unit
                    .as_ref()
                    .map(|unit| unit.as_str().to_owned())
                    .unwrap_or_default();
                let removed = sqlx::query(
                    "DELETE FROM clinical_authorisations WHERE user_name = $1 \
                     AND institution_id = $2 AND unit_id = $3 AND role = $4",
                )
                .bind(line.user_name.as_str())
                .bind(line.institution.as_str())
                .bind(unit.as_str())
                .bind(line.role.as_str())
                .execute(&mut *connection)
                .await
                .map_err(database(OPERATION))?;
                if removed.rows_affected() == 0 {
                    return Err(ClinicalStoreError::NotFound {
                        what: "authorisation",
                        id: format!(
                            "{} for {} as {}",
                            line.user_name, line.institution, line.role
                        ),
                    });
                }
                let left: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM clinical_authorisations \
                     WHERE user_name = $1 AND institution_id = $2",
                )
                .bind(line.user_name.as_str())
                .bind(line.institution.as_str())
                .fetch_one(&mut *connection)
                .await
                .map_err(database(OPERATION))?;
                if left == 0 {
                    sqlx::query(
                        "DELETE FROM clinical_sessions WHERE user_name = $1 AND institution_id = $2",
                    )
                    .bind(line.user_name.as_str())
                    .bind(line.institution.as_str())
                    .execute(&mut *connection)
                    .await
                    .map_err(database(OPERATION))?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Every certificate issued to institutions, by institution and the latest expiry first,
    /// with when it was issued.
    pub async fn clinical_certificates(
        &self,
    ) -> Result<Vec<(InstitutionCertificate, OffsetDateTime)>, MetadataError> {
        sqlx::query(
            "SELECT serial, institution_id, not_after, created_at \
             FROM clinical_institution_certificates \
             ORDER BY institution_id, not_after DESC LIMIT $1",
        )
        .bind(LIST_LIMIT)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list institution certificates"))?
        .iter()
        .map(|row| {
            Ok((
                InstitutionCertificate {
                    serial: column(row, "serial")?,
                    institution: parsed_column(row, "institution_id", InstitutionId::parse)?,
                    not_after: from_unix("not_after", column(row, "not_after")?)?,
                },
                from_unix("created_at", column(row, "created_at")?)?,
            ))
        })
        .collect()
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
