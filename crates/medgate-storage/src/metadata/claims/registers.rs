//! The registers formed from accepted cases (migration 0016): each with the packages it took,
//! its state and the history of every transition, the signers' certificates and the three
//! signatures. A state moves only from the state the caller read (compare and set in the
//! writer's job), so two people acting at once never both move it.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use time::OffsetDateTime;

use super::{database, number, ClaimsStoreError, LIST_LIMIT};
use crate::error::MetadataError;
use crate::metadata::{column, from_unix, to_unix, Metadata};

/// A register to store, its file already written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClaimsRegister {
    pub mo_code: String,
    pub smo_code: String,
    pub period: String,
    /// The care conditions (V006 `USL_OK`) of every case in it.
    pub usl_ok: String,
    pub number: u32,
    pub file_name: String,
    /// Hex, of the register's ZIP.
    pub sha256: String,
    pub size_bytes: u64,
    pub cases: u64,
    /// `SCHET/SUMMAV` as written.
    pub summav: String,
    pub formed_by: String,
    pub formed_at: OffsetDateTime,
    /// The packages whose cases it took.
    pub package_ids: Vec<i64>,
}

/// A register as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsRegister {
    pub id: i64,
    pub mo_code: String,
    pub smo_code: String,
    pub period: String,
    pub usl_ok: String,
    pub number: u32,
    pub file_name: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub cases: u64,
    pub summav: String,
    /// A `medgate_claims::workflow::State` code.
    pub state: String,
    pub formed_by: String,
    pub formed_at: OffsetDateTime,
}

/// One transition of a register (the first is its forming: no `from_state`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsRegisterEvent {
    pub from_state: Option<String>,
    pub to_state: String,
    /// `form` or a `medgate_claims::workflow::ActionKind`'s code.
    pub action: String,
    pub role: String,
    pub login: String,
    pub comment: Option<String>,
    pub at: OffsetDateTime,
}

/// A signer's certificate registered to a login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsCertificate {
    pub login: String,
    pub pem: String,
    pub subject: String,
    pub serial_hex: String,
    pub not_after: OffsetDateTime,
    pub uploaded_at: OffsetDateTime,
}

/// One accepted signature of a register (its file lies beside the register).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsRegisterSignature {
    /// 1 executor, 2 chief accountant, 3 head.
    pub position: u8,
    pub login: String,
    pub subject: String,
    pub serial_hex: String,
    /// Hex, of the signature's DER.
    pub sha256: String,
    pub signed_at: OffsetDateTime,
}

const REGISTER_COLUMNS: &str = "id, mo_code, smo_code, period, usl_ok, number, file_name, \
     sha256, size_bytes, cases, summav, state, formed_by, formed_at";

fn register_from_row(row: &AnyRow) -> Result<ClaimsRegister, MetadataError> {
    Ok(ClaimsRegister {
        id: column(row, "id")?,
        mo_code: column(row, "mo_code")?,
        smo_code: column(row, "smo_code")?,
        period: column(row, "period")?,
        usl_ok: column(row, "usl_ok")?,
        number: number(row, "number")?,
        file_name: column(row, "file_name")?,
        sha256: column(row, "sha256")?,
        size_bytes: number(row, "size_bytes")?,
        cases: number(row, "cases")?,
        summav: column(row, "summav")?,
        state: column(row, "state")?,
        formed_by: column(row, "formed_by")?,
        formed_at: from_unix("formed_at", column(row, "formed_at")?)?,
    })
}

fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

async fn append_event(
    connection: &mut AnyConnection,
    operation: &'static str,
    register_id: i64,
    event: &ClaimsRegisterEvent,
) -> Result<(), ClaimsStoreError> {
    let next = sqlx::query(
        "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM claims_register_history \
         WHERE register_id = $1",
    )
    .bind(register_id)
    .fetch_one(&mut *connection)
    .await
    .map_err(database(operation))?;
    let seq: i64 = column(&next, "next")?;
    sqlx::query(
        "INSERT INTO claims_register_history (register_id, seq, from_state, to_state, action, \
         role, login, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(register_id)
    .bind(seq)
    .bind(event.from_state.clone())
    .bind(event.to_state.clone())
    .bind(event.action.clone())
    .bind(event.role.clone())
    .bind(event.login.clone())
    .bind(event.comment.clone())
    .bind(to_unix(event.at))
    .execute(&mut *connection)
    .await
    .map_err(database(operation))?;
    Ok(())
}

/// Moves `id` from `from` to `event.to_state` and records the event; false when the register
/// was not in `from` any more.
async fn move_state(
    connection: &mut AnyConnection,
    operation: &'static str,
    id: i64,
    event: &ClaimsRegisterEvent,
) -> Result<bool, ClaimsStoreError> {
    let moved = sqlx::query("UPDATE claims_registers SET state = $3 WHERE id = $1 AND state = $2")
        .bind(id)
        .bind(event.from_state.clone().unwrap_or_default())
        .bind(event.to_state.clone())
        .execute(&mut *connection)
        .await
        .map_err(database(operation))?;
    if moved.rows_affected() != 1 {
        return Ok(false);
    }
    append_event(connection, operation, id, event).await?;
    Ok(true)
}

impl Metadata {
    /// The number the next register of `mo_code` for `period` takes in its file name.
    pub async fn next_claims_register_number(
        &self,
        mo_code: &str,
        period: &str,
    ) -> Result<u32, MetadataError> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(number), 0) + 1 AS next FROM claims_registers \
             WHERE mo_code = $1 AND period = $2",
        )
        .bind(mo_code)
        .bind(period)
        .fetch_one(self.pool())
        .await
        .map_err(MetadataError::database("number a register"))?;
        number(&row, "next")
    }

    /// The packages of `mo_code` and `period` whose cases a register took already.
    pub async fn claims_packages_in_registers(
        &self,
        mo_code: &str,
        period: &str,
    ) -> Result<Vec<i64>, MetadataError> {
        sqlx::query(
            "SELECT DISTINCT l.package_id AS package_id FROM claims_register_packages l \
             JOIN claims_registers r ON r.id = l.register_id \
             WHERE r.mo_code = $1 AND r.period = $2 ORDER BY l.package_id",
        )
        .bind(mo_code)
        .bind(period)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list the packages in registers"))?
        .iter()
        .map(|row| column(row, "package_id"))
        .collect()
    }

    /// Stores the registers of one forming, each `draft` with its first event, in one job:
    /// refused whole (nothing stored) when a package was taken by an earlier register or a
    /// number or file name is taken.
    pub async fn create_claims_registers(
        &self,
        registers: Vec<NewClaimsRegister>,
    ) -> Result<Vec<ClaimsRegister>, ClaimsStoreError> {
        const OPERATION: &str = "store the registers formed";
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    for register in &registers {
                        for package in &register.package_ids {
                            let taken = sqlx::query(
                                "SELECT register_id FROM claims_register_packages \
                                 WHERE package_id = $1 LIMIT 1",
                            )
                            .bind(*package)
                            .fetch_optional(&mut *connection)
                            .await
                            .map_err(database(OPERATION))?;
                            if let Some(taken) = taken {
                                return Err(ClaimsStoreError::Exists {
                                    what: "package in a register",
                                    id: format!(
                                        "{package} (register {})",
                                        column::<i64>(&taken, "register_id")?
                                    ),
                                });
                            }
                        }
                    }
                    let mut stored = Vec::new();
                    for register in &registers {
                        let inserted = sqlx::query(
                            "INSERT INTO claims_registers (mo_code, smo_code, period, usl_ok, \
                             number, file_name, sha256, size_bytes, cases, summav, state, \
                             formed_by, formed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                             $10, 'draft', $11, $12) RETURNING id",
                        )
                        .bind(register.mo_code.clone())
                        .bind(register.smo_code.clone())
                        .bind(register.period.clone())
                        .bind(register.usl_ok.clone())
                        .bind(i64::from(register.number))
                        .bind(register.file_name.clone())
                        .bind(register.sha256.clone())
                        .bind(as_i64(register.size_bytes))
                        .bind(as_i64(register.cases))
                        .bind(register.summav.clone())
                        .bind(register.formed_by.clone())
                        .bind(to_unix(register.formed_at))
                        .fetch_one(&mut *connection)
                        .await;
                        let id: i64 = match inserted {
                            Ok(row) => column(&row, "id")?,
                            Err(error) if crate::metadata::is_unique_violation(&error) => {
                                return Err(ClaimsStoreError::Exists {
                                    what: "register",
                                    id: register.file_name.clone(),
                                })
                            }
                            Err(error) => return Err(database(OPERATION)(error)),
                        };
                        for package in &register.package_ids {
                            sqlx::query(
                                "INSERT INTO claims_register_packages (register_id, package_id) \
                                 VALUES ($1, $2)",
                            )
                            .bind(id)
                            .bind(*package)
                            .execute(&mut *connection)
                            .await
                            .map_err(database(OPERATION))?;
                        }
                        append_event(
                            connection,
                            OPERATION,
                            id,
                            &ClaimsRegisterEvent {
                                from_state: None,
                                to_state: "draft".to_owned(),
                                action: "form".to_owned(),
                                role: "executor".to_owned(),
                                login: register.formed_by.clone(),
                                comment: None,
                                at: register.formed_at,
                            },
                        )
                        .await?;
                        let row = sqlx::query(&format!(
                            "SELECT {REGISTER_COLUMNS} FROM claims_registers WHERE id = $1"
                        ))
                        .bind(id)
                        .fetch_one(&mut *connection)
                        .await
                        .map_err(database(OPERATION))?;
                        stored.push(register_from_row(&row)?);
                    }
                    Ok(stored)
                })
            })
            .await
    }

    /// The register `id`.
    pub async fn claims_register(&self, id: i64) -> Result<Option<ClaimsRegister>, MetadataError> {
        sqlx::query(&format!(
            "SELECT {REGISTER_COLUMNS} FROM claims_registers WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a register"))?
        .as_ref()
        .map(register_from_row)
        .transpose()
    }

    /// The registers of a medical organisation, newest first.
    pub async fn claims_registers_of_mo(
        &self,
        mo_code: &str,
    ) -> Result<Vec<ClaimsRegister>, MetadataError> {
        sqlx::query(&format!(
            "SELECT {REGISTER_COLUMNS} FROM claims_registers WHERE mo_code = $1 \
             ORDER BY id DESC LIMIT $2"
        ))
        .bind(mo_code)
        .bind(LIST_LIMIT)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list the registers"))?
        .iter()
        .map(register_from_row)
        .collect()
    }

    /// The registers addressed to an insurer that its MO has sent (drafts stay the MO's),
    /// newest first.
    pub async fn claims_registers_for_smo(
        &self,
        smo_code: &str,
    ) -> Result<Vec<ClaimsRegister>, MetadataError> {
        sqlx::query(&format!(
            "SELECT {REGISTER_COLUMNS} FROM claims_registers WHERE smo_code = $1 \
             AND state <> 'draft' ORDER BY id DESC LIMIT $2"
        ))
        .bind(smo_code)
        .bind(LIST_LIMIT)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list the registers"))?
        .iter()
        .map(register_from_row)
        .collect()
    }

    /// Moves register `id` from `event.from_state` to `event.to_state`, recording the event;
    /// false (nothing changed) when it is no longer in `event.from_state`.
    pub async fn move_claims_register(
        &self,
        id: i64,
        event: ClaimsRegisterEvent,
    ) -> Result<bool, ClaimsStoreError> {
        const OPERATION: &str = "move a register";
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move { move_state(connection, OPERATION, id, &event).await })
            })
            .await
    }

    /// Records an accepted signature with the move it makes, in one job; false (nothing
    /// stored) when the register is no longer in `event.from_state`.
    pub async fn sign_claims_register(
        &self,
        id: i64,
        event: ClaimsRegisterEvent,
        signature: ClaimsRegisterSignature,
    ) -> Result<bool, ClaimsStoreError> {
        const OPERATION: &str = "record a signature";
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    if !move_state(connection, OPERATION, id, &event).await? {
                        return Ok(false);
                    }
                    sqlx::query(
                        "INSERT INTO claims_register_signatures (register_id, position, login, \
                         subject, serial_hex, sha256, signed_at) VALUES ($1, $2, $3, $4, $5, \
                         $6, $7)",
                    )
                    .bind(id)
                    .bind(i64::from(signature.position))
                    .bind(signature.login.clone())
                    .bind(signature.subject.clone())
                    .bind(signature.serial_hex.clone())
                    .bind(signature.sha256.clone())
                    .bind(to_unix(signature.signed_at))
                    .execute(&mut *connection)
                    .await
                    .map_err(database(OPERATION))?;
                    Ok(true)
                })
            })
            .await
    }

    /// The history of register `id`, oldest first.
    pub async fn claims_register_history(
        &self,
        id: i64,
    ) -> Result<Vec<ClaimsRegisterEvent>, MetadataError> {
        sqlx::query(
            "SELECT from_state, to_state, action, role, login, comment, at \
             FROM claims_register_history WHERE register_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("read a register's history"))?
        .iter()
        .map(|row| {
            Ok(ClaimsRegisterEvent {
                from_state: column(row, "from_state")?,
                to_state: column(row, "to_state")?,
                action: column(row, "action")?,
                role: column(row, "role")?,
                login: column(row, "login")?,
                comment: column(row, "comment")?,
                at: from_unix("at", column(row, "at")?)?,
            })
        })
        .collect()
    }

    /// The signatures of register `id`, in order.
    pub async fn claims_register_signatures(
        &self,
        id: i64,
    ) -> Result<Vec<ClaimsRegisterSignature>, MetadataError> {
        sqlx::query(
            "SELECT position, login, subject, serial_hex, sha256, signed_at \
             FROM claims_register_signatures WHERE register_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("read a register's signatures"))?
        .iter()
        .map(|row| {
            Ok(ClaimsRegisterSignature {
                position: number(row, "position")?,
                login: column(row, "login")?,
                subject: column(row, "subject")?,
                serial_hex: column(row, "serial_hex")?,
                sha256: column(row, "sha256")?,
                signed_at: from_unix("signed_at", column(row, "signed_at")?)?,
            })
        })
        .collect()
    }

    /// Registers (or replaces) the certificate of `certificate.login`.
    pub async fn set_claims_certificate(
        &self,
        certificate: ClaimsCertificate,
    ) -> Result<(), ClaimsStoreError> {
        const OPERATION: &str = "register a certificate";
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    sqlx::query("DELETE FROM claims_certificates WHERE login = $1")
                        .bind(certificate.login.clone())
                        .execute(&mut *connection)
                        .await
                        .map_err(database(OPERATION))?;
                    let query = sqlx::query(
                        "INSERT INTO claims_certificates (login, pem, subject, serial_hex, \
                         not_after, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(certificate.login.clone())
                    .bind(certificate.pem.clone())
                    .bind(certificate.subject.clone())
                    .bind(certificate.serial_hex.clone())
                    .bind(to_unix(certificate.not_after))
                    .bind(to_unix(certificate.uploaded_at));
                    super::insert(
                        connection,
                        OPERATION,
                        query,
                        ("certificate", certificate.login.clone()),
                        ("login", certificate.login.clone()),
                    )
                    .await
                })
            })
            .await
    }

    /// The certificate registered to `login`.
    pub async fn claims_certificate(
        &self,
        login: &str,
    ) -> Result<Option<ClaimsCertificate>, MetadataError> {
        sqlx::query(
            "SELECT login, pem, subject, serial_hex, not_after, uploaded_at \
             FROM claims_certificates WHERE login = $1",
        )
        .bind(login)
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a certificate"))?
        .map(|row| {
            Ok(ClaimsCertificate {
                login: column(&row, "login")?,
                pem: column(&row, "pem")?,
                subject: column(&row, "subject")?,
                serial_hex: column(&row, "serial_hex")?,
                not_after: from_unix("not_after", column(&row, "not_after")?)?,
                uploaded_at: from_unix("uploaded_at", column(&row, "uploaded_at")?)?,
            })
        })
        .transpose()
    }
}
