//! The patients' accounts of the clinical record service's portal: one per TAJ, created by
//! the operator with a pending one-time activation code, activated once by the patient, who
//! sets a password. Hashes only (Argon2id PHC strings made by the caller): this module never
//! sees a password or a code.

use medgate_ids::Taj;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::registry::{insert_on, Value};
use super::{optional_time, ClinicalStoreError};
use crate::error::MetadataError;
use crate::metadata::{column, from_unix, parsed_column, to_unix, Metadata};

/// A patient's account of the clinical service's portal.
#[derive(Clone, PartialEq, Eq)]
pub struct ClinicalPatientAccount {
    pub taj: Taj,
    /// The name the operator gave, as the portal greets the patient.
    pub name: String,
    /// Argon2id PHC string; `None` until activated.
    pub password_hash: Option<String>,
    /// Argon2id PHC string of the pending activation code; `None` once activated.
    pub activation_code_hash: Option<String>,
    pub activation_expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub activated_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for ClinicalPatientAccount {
    /// Leaves the hashes out: they do not belong in logs either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClinicalPatientAccount")
            .field("taj", &self.taj)
            .field("activated_at", &self.activated_at)
            .finish_non_exhaustive()
    }
}

fn account_from_row(row: &AnyRow) -> Result<ClinicalPatientAccount, MetadataError> {
    Ok(ClinicalPatientAccount {
        taj: parsed_column(row, "taj", Taj::parse)?,
        name: column(row, "name")?,
        password_hash: column(row, "password_hash")?,
        activation_code_hash: column(row, "activation_code_hash")?,
        activation_expires_at: optional_time(row, "activation_expires_at")?,
        created_at: from_unix("created_at", column(row, "created_at")?)?,
        activated_at: optional_time(row, "activated_at")?,
    })
}

impl Metadata {
    /// Creates the account of `taj` waiting for activation with the code of `code_hash`
    /// until `expires_at`; `Exists` when the patient has one already.
    pub async fn create_clinical_patient_account(
        &self,
        taj: &Taj,
        name: &str,
        code_hash: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), ClinicalStoreError> {
        const OPERATION: &str = "create a patient's account";
        let binds = vec![
            Value::Text(taj.as_str().to_owned()),
            Value::Text(name.to_owned()),
            Value::Text(code_hash.to_owned()),
            Value::Int(to_unix(expires_at)),
            Value::Int(to_unix(now)),
        ];
        let id = taj.as_str().to_owned();
        self.clinical_write(OPERATION, move |connection| {
            Box::pin(async move {
                insert_on(
                    connection,
                    OPERATION,
                    "INSERT INTO clinical_patient_accounts (taj, name, activation_code_hash, \
                     activation_expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
                    binds,
                    ("patient account", id.clone()),
                    ("patient account", id),
                )
                .await
            })
        })
        .await
    }

    /// The account of `taj`, if there is one.
    pub async fn clinical_patient_account(
        &self,
        taj: &Taj,
    ) -> Result<Option<ClinicalPatientAccount>, MetadataError> {
        sqlx::query(
            "SELECT taj, name, password_hash, activation_code_hash, activation_expires_at, \
             created_at, activated_at FROM clinical_patient_accounts WHERE taj = $1",
        )
        .bind(taj.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a patient's account"))?
        .map(|row| account_from_row(&row))
        .transpose()
    }

    /// Gives the account of `taj` a new pending code (`code_hash`, until `expires_at`) and
    /// takes its password away, so the patient sets a new one with the code (a lost code or a
    /// forgotten password); false when there is no such account.
    pub async fn renew_clinical_patient_code(
        &self,
        taj: &Taj,
        code_hash: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool, MetadataError> {
        let (changed, _) = self
            .write_one(
                "renew a patient's activation code",
                "UPDATE clinical_patient_accounts SET password_hash = NULL, \
                 activation_code_hash = $2, activation_expires_at = $3, activated_at = NULL \
                 WHERE taj = $1",
                vec![
                    taj.as_str().into(),
                    code_hash.into(),
                    to_unix(expires_at).into(),
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Activates the account: sets the password hash and spends the code, but only while
    /// the pending code is still `code_hash` and no password is set, so a code works once
    /// even when two activations race. False when that no longer holds.
    pub async fn activate_clinical_patient_account(
        &self,
        taj: &Taj,
        code_hash: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, MetadataError> {
        let (changed, _) = self
            .write_one(
                "activate a patient's account",
                "UPDATE clinical_patient_accounts SET password_hash = $3, \
                 activation_code_hash = NULL, activation_expires_at = NULL, activated_at = $4 \
                 WHERE taj = $1 AND activation_code_hash = $2 AND password_hash IS NULL",
                vec![
                    taj.as_str().into(),
                    code_hash.into(),
                    password_hash.into(),
                    to_unix(now).into(),
                ],
            )
            .await?;
        Ok(changed == 1)
    }
}
