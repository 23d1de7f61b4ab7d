//! The patients' accounts of the service's portal: the operator creates one for a TAJ (from
//! the command line or the operator pages) and hands the patient the one-time activation
//! code this returns, once (and renews it when it is lost, has expired or the password is
//! forgotten); the patient spends it at `/portal/activate` to set a password,
//! then signs in with TAJ and password. Only the code's Argon2id hash is stored.
//!
//! The code is the portal's format (`medgate_web::password::activation_code`): 16 symbols of
//! Crockford's base32 (80 random bits) in groups of four; what is hashed is the code without
//! its dashes, which is what the portal's activation form compares after normalising what the
//! patient typed.

use medgate_ids::Taj;
use medgate_storage::{ClinicalStoreError, Metadata, NewAuditEntry};
use time::{Duration, OffsetDateTime};

use crate::admin::Operator;
use crate::auth;
use crate::error::ClinicalError;

/// How long an activation code works after the account is created.
pub const ACTIVATION_VALIDITY: Duration = Duration::days(30);

/// Crockford's base32: digits and capitals without I, L, O and U.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code: 16 × 5 = 80 random bits.
const CODE_SYMBOLS: usize = 16;

/// A patient's account just created, with the activation code to hand over (once).
pub struct NewPatientAccount {
    pub taj: Taj,
    pub name: String,
    /// E.g. `K7QM-2XWD-9RTB-HC4N`; not stored, shown once.
    pub activation_code: String,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for NewPatientAccount {
    /// Leaves the code out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPatientAccount")
            .field("taj", &self.taj)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

fn activation_code() -> Result<String, ClinicalError> {
    let mut bytes = [0u8; CODE_SYMBOLS];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ClinicalError::Internal {
        what: "the system random source failed",
    })?;
    let mut code = String::with_capacity(CODE_SYMBOLS + 3);
    for (index, byte) in bytes.iter().enumerate() {
        if index > 0 && index % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(CODE_ALPHABET[usize::from(byte & 0x1f)]));
    }
    Ok(code)
}

/// Creates the portal account of the patient `taj` (9 digits with the TAJ check digit) named
/// `name`, waiting for activation with a fresh one-time code for [`ACTIVATION_VALIDITY`].
/// A patient who has an account already is refused (nothing changes).
pub async fn create_patient_account(
    store: &Metadata,
    operator: &Operator,
    taj: &str,
    name: &str,
    now: OffsetDateTime,
) -> Result<NewPatientAccount, ClinicalError> {
    let taj = Taj::parse(taj.trim())?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ClinicalError::invalid(
            "name",
            "must be 1 to 200 characters, without control characters",
        ));
    }
    let (code, code_hash) = hashed_code().await?;
    let expires_at = now + ACTIVATION_VALIDITY;
    store
        .create_clinical_patient_account(&taj, name, &code_hash, expires_at, now)
        .await
        .map_err(|error| match error {
            ClinicalStoreError::Exists { what, id } => {
                ClinicalError::AlreadyRegistered { what, id }
            }
            ClinicalStoreError::Metadata(source) => ClinicalError::Storage {
                operation: "create the patient's account",
                source,
            },
            _ => ClinicalError::Internal {
                what: "an unknown refusal of the store",
            },
        })?;
    store
        .append_audit(&NewAuditEntry {
            tenant: None,
            actor: operator.name.clone(),
            action: "clinical.patient-account.create".to_owned(),
            target: format!("patient:{taj}"),
            origin: operator.origin,
            details: format!(
                "activation code valid until {}",
                crate::fhir::instant(expires_at)
            ),
            patient: Some(taj.to_string()),
        })
        .await
        .map_err(ClinicalError::storage("audit the change"))?;
    Ok(NewPatientAccount {
        taj,
        name: name.to_owned(),
        activation_code: code,
        expires_at,
    })
}

/// A fresh code and its Argon2id hash (of the code without its dashes).
async fn hashed_code() -> Result<(String, String), ClinicalError> {
    let code = activation_code()?;
    let compared: String = code.chars().filter(|c| *c != '-').collect();
    let code_hash = tokio::task::spawn_blocking(move || auth::hash_password(&compared))
        .await
        .map_err(|_| ClinicalError::Internal {
            what: "the code hashing did not finish",
        })??;
    Ok((code, code_hash))
}

/// Gives the patient `taj` a new one-time activation code for [`ACTIVATION_VALIDITY`] (a
/// code lost or expired, a password forgotten): the account's password stops working and the
/// patient sets a new one with the code. A TAJ without an account is refused.
pub async fn renew_activation_code(
    store: &Metadata,
    operator: &Operator,
    taj: &str,
    now: OffsetDateTime,
) -> Result<NewPatientAccount, ClinicalError> {
    let taj = Taj::parse(taj.trim())?;
    let account = store
        .clinical_patient_account(&taj)
        .await
        .map_err(ClinicalError::storage("read the patient's account"))?
        .ok_or_else(|| ClinicalError::NotRegistered {
            what: "patient account",
            id: taj.to_string(),
        })?;
    let (code, code_hash) = hashed_code().await?;
    let expires_at = now + ACTIVATION_VALIDITY;
    let renewed = store
        .renew_clinical_patient_code(&taj, &code_hash, expires_at)
        .await
        .map_err(ClinicalError::storage("renew the activation code"))?;
    if !renewed {
        return Err(ClinicalError::NotRegistered {
            what: "patient account",
            id: taj.to_string(),
        });
    }
    store
        .append_audit(&NewAuditEntry {
            tenant: None,
            actor: operator.name.clone(),
            action: "clinical.patient-account.renew".to_owned(),
            target: format!("patient:{taj}"),
            origin: operator.origin,
            details: format!(
                "activation code valid until {}",
                crate::fhir::instant(expires_at)
            ),
            patient: Some(taj.to_string()),
        })
        .await
        .map_err(ClinicalError::storage("audit the change"))?;
    Ok(NewPatientAccount {
        taj,
        name: account.name,
        activation_code: code,
        expires_at,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sixteen_crockford_symbols_in_groups_of_four() {
        let code = activation_code().unwrap();
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4, "{code}");
        assert!(groups.iter().all(|group| group.len() == 4));
        assert!(code
            .chars()
            .filter(|c| *c != '-')
            .all(|c| CODE_ALPHABET.contains(&(c as u8))));
        assert_ne!(code, activation_code().unwrap());
    }
}
