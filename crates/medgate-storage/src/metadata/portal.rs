//! Patient portal accounts: one per (tenant, patient identifier), created when a consent for
//! the patient is first sent, activated once by the patient with the one-time code the
//! clinic hands over. This module stores hashes only (Argon2id PHC strings made by the
//! server); it never sees a password or a code.

use medgate_ids::{Oid, TenantId};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{column, from_unix, parsed_column, to_unix, Metadata};
use crate::error::MetadataError;
use crate::metadata::documents::PatientIdentifier;

/// How long a patient's activation code works after the consent that made it is sent.
pub const PATIENT_ACTIVATION_VALIDITY: time::Duration = time::Duration::days(30);

/// An activation code waiting to be handed over: its hash and when it stops working.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingActivation {
    /// The Argon2id PHC string of the code.
    pub code_hash: String,
    pub expires_at: OffsetDateTime,
}

/// What sending a consent did to the patient's account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountOutcome {
    /// A new account was created with the pending activation code.
    Created,
    /// The account existed but was not activated; its code was replaced by the new one.
    CodeRenewed,
    /// The account is already activated; nothing changed and no code applies.
    AlreadyActive,
}

impl AccountOutcome {
    /// True when the new activation code is the one to hand over.
    pub fn code_issued(self) -> bool {
        !matches!(self, AccountOutcome::AlreadyActive)
    }
}

/// A stored patient account.
#[derive(Clone, PartialEq, Eq)]
pub struct PatientAccount {
    pub tenant: TenantId,
    pub patient: PatientIdentifier,
    /// Argon2id PHC string; `None` until activated.
    pub password_hash: Option<String>,
    /// Argon2id PHC string of the pending activation code; `None` once activated.
    pub activation_code_hash: Option<String>,
    pub activation_expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub activated_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for PatientAccount {
    /// Leaves the hashes out: they do not belong in logs either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientAccount")
            .field("tenant", &self.tenant)
            .field("patient", &self.patient)
            .field("activated_at", &self.activated_at)
            .finish_non_exhaustive()
    }
}

fn account_from_row(row: &AnyRow) -> Result<PatientAccount, MetadataError> {
    let optional_time = |name: &'static str| -> Result<Option<OffsetDateTime>, MetadataError> {
        let seconds: Option<i64> = column(row, name)?;
        seconds.map(|seconds| from_unix(name, seconds)).transpose()
    };
    Ok(PatientAccount {
        tenant: parsed_column(row, "tenant_id", TenantId::parse)?,
        patient: PatientIdentifier {
            root: parsed_column(row, "patient_root", Oid::parse)?,
            extension: column(row, "patient_extension")?,
        },
        password_hash: column(row, "password_hash")?,
        activation_code_hash: column(row, "activation_code_hash")?,
        activation_expires_at: optional_time("activation_expires_at")?,
        created_at: from_unix("created_at", column(row, "created_at")?)?,
        activated_at: optional_time("activated_at")?,
    })
}

const ACCOUNT_COLUMNS: &str = "tenant_id, patient_root, patient_extension, password_hash, \
     activation_code_hash, activation_expires_at, created_at, activated_at";

/// Inside the transaction that sends a consent: creates the patient's account with the
/// pending activation, or renews the code of an account not yet activated.
pub(crate) async fn ensure_patient_account(
    connection: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    patient: &PatientIdentifier,
    activation: &PendingActivation,
    now: OffsetDateTime,
) -> Result<AccountOutcome, MetadataError> {
    const OPERATION: &str = "create a patient account";
    let existing = sqlx::query(
        "SELECT password_hash FROM patient_accounts \
         WHERE tenant_id = $1 AND patient_root = $2 AND patient_extension = $3",
    )
    .bind(tenant.as_str())
    .bind(patient.root.as_str())
    .bind(patient.extension.as_str())
    .fetch_optional(&mut *connection)
    .await
    .map_err(MetadataError::database(OPERATION))?;
    match existing {
        None => {
            sqlx::query(
                "INSERT INTO patient_accounts (tenant_id, patient_root, patient_extension, \
                 activation_code_hash, activation_expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(tenant.as_str())
            .bind(patient.root.as_str())
            .bind(patient.extension.as_str())
            .bind(activation.code_hash.as_str())
            .bind(to_unix(activation.expires_at))
            .bind(to_unix(now))
            .execute(&mut *connection)
            .await
            .map_err(MetadataError::database(OPERATION))?;
            Ok(AccountOutcome::Created)
        }
        Some(row) => {
            let password_hash: Option<String> = column(&row, "password_hash")?;
            if password_hash.is_some() {
                return Ok(AccountOutcome::AlreadyActive);
            }
            sqlx::query(
                "UPDATE patient_accounts SET activation_code_hash = $4, activation_expires_at = $5 \
                 WHERE tenant_id = $1 AND patient_root = $2 AND patient_extension = $3 \
                 AND password_hash IS NULL",
            )
            .bind(tenant.as_str())
            .bind(patient.root.as_str())
            .bind(patient.extension.as_str())
            .bind(activation.code_hash.as_str())
            .bind(to_unix(activation.expires_at))
            .execute(&mut *connection)
            .await
            .map_err(MetadataError::database(OPERATION))?;
            Ok(AccountOutcome::CodeRenewed)
        }
    }
}

impl Metadata {
    /// The tenant's account of this patient, if there is one.
    pub async fn get_patient_account(
        &self,
        tenant: &TenantId,
        patient: &PatientIdentifier,
    ) -> Result<Option<PatientAccount>, MetadataError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM patient_accounts \
             WHERE tenant_id = $1 AND patient_root = $2 AND patient_extension = $3"
        );
        sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(patient.root.as_str())
            .bind(patient.extension.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a patient account"))?
            .as_ref()
            .map(account_from_row)
            .transpose()
    }

    /// Activates the account: sets the password hash and spends the activation code, but
    /// only if the code hash is still `code_hash` and the account has no password yet, so a
    /// code works once even when two activations race. False when that no longer holds.
    pub async fn activate_patient_account(
        &self,
        tenant: &TenantId,
        patient: &PatientIdentifier,
        code_hash: &str,
        password_hash: &str,
    ) -> Result<bool, MetadataError> {
        let (tenant_owned, patient_owned, code_hash_owned, password_hash_owned) = (
            tenant.clone(),
            patient.clone(),
            code_hash.to_owned(),
            password_hash.to_owned(),
        );
        let result = self
            .writer
            .transact("activate a patient account", move |connection| {
                Box::pin(async move {
                    let (tenant, patient, code_hash, password_hash) = (
                        &tenant_owned,
                        &patient_owned,
                        &code_hash_owned,
                        &password_hash_owned,
                    );
                    let result = sqlx::query(
            "UPDATE patient_accounts SET password_hash = $5, activation_code_hash = NULL, \
             activation_expires_at = NULL, activated_at = $6 \
             WHERE tenant_id = $1 AND patient_root = $2 AND patient_extension = $3 \
             AND activation_code_hash = $4 AND password_hash IS NULL",
        )
        .bind(tenant.as_str())
        .bind(patient.root.as_str())
        .bind(patient.extension.as_str())
        .bind(code_hash)
        .bind(password_hash)
        .bind(to_unix(super::now()))
        .execute(&mut *connection)
        .await
        .map_err(MetadataError::database("activate a patient account"))?;
                    Ok::<_, MetadataError>(result)
                })
            })
            .await?;
        Ok(result.rows_affected() == 1)
    }
}
