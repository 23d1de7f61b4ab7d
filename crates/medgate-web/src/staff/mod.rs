//! Creating staff accounts and issuing their one-time activation codes, shared by the
//! command line (`medgate tenant admin-user create`, `medgate operator user create`) and the
//! operator's pages. A new account gets either a password (from a file, for the CLI) or a
//! one-time code (80 random bits, stored as an Argon2id hash, valid for
//! [`ACTIVATION_VALIDITY`]) that the user spends at `/admin/activate` or `/operator/activate`
//! to set a password. The code is returned once, to be shown once.

use medgate_storage::{
    Metadata, NewStaffUser, PendingActivation, StaffCredential, StaffLogin, StaffScope, StaffUser,
    StaffUserError,
};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::password::{self, PasswordProblem};

/// How long an activation code of a staff account works.
pub const ACTIVATION_VALIDITY: time::Duration = time::Duration::days(7);

/// How a new or reset account will first be signed in to.
pub enum FirstCredential {
    /// A password chosen by the operator (checked against the password rules).
    Password(String),
    /// A one-time activation code, made here and returned once.
    ActivationCode,
}

/// An account created or reset, with the activation code to hand over, if one was made.
pub struct Issued {
    pub user: StaffUser,
    /// The code as the user types it (`K7QM-2XWD-9RTB-HC4N`); shown once, never stored.
    pub activation_code: Option<String>,
    pub activation_expires_at: Option<OffsetDateTime>,
}

/// Why an account was not created or reset.
#[derive(Debug, thiserror::Error)]
pub enum StaffAccountError {
    #[error("{0}")]
    BadLogin(medgate_storage::InvalidValue),
    #[error("the password is not acceptable: {}", describe(*.0))]
    BadPassword(PasswordProblem),
    #[error(transparent)]
    Store(#[from] StaffUserError),
    #[error("{0}")]
    Internal(ApiError),
}

/// The password rule a problem broke, in words (for the command line).
pub fn describe(problem: PasswordProblem) -> String {
    match problem {
        PasswordProblem::TooShort => {
            format!("it must have at least {} characters", password::MIN_LENGTH)
        }
        PasswordProblem::TooLong => {
            format!("it can have at most {} characters", password::MAX_LENGTH)
        }
        PasswordProblem::Mismatch => "the repetition differs".to_owned(),
        PasswordProblem::SameAsIdentifier => "it must not be the login".to_owned(),
        PasswordProblem::ControlCharacters => "it must not contain control characters".to_owned(),
    }
}

fn now() -> OffsetDateTime {
    crate::now()
}

/// The stored credential for `first`, and the code to show when one was made.
async fn credential(
    login: &StaffLogin,
    first: FirstCredential,
) -> Result<(StaffCredential, Option<(String, OffsetDateTime)>), StaffAccountError> {
    match first {
        FirstCredential::Password(text) => {
            password::check_rules(&text, &text, &[login.as_str()])
                .map_err(StaffAccountError::BadPassword)?;
            let hash = password::hash_async(text)
                .await
                .map_err(StaffAccountError::Internal)?;
            Ok((StaffCredential::PasswordHash(hash), None))
        }
        FirstCredential::ActivationCode => {
            let code = password::activation_code().map_err(StaffAccountError::Internal)?;
            let expires_at = now() + ACTIVATION_VALIDITY;
            let code_hash = password::hash_async(password::normalize_code(&code))
                .await
                .map_err(StaffAccountError::Internal)?;
            Ok((
                StaffCredential::Activation(PendingActivation {
                    code_hash,
                    expires_at,
                }),
                Some((code, expires_at)),
            ))
        }
    }
}

/// Creates a staff account. `created_by` is recorded (`cli`, `operator:<login>`).
pub async fn create(
    metadata: &Metadata,
    scope: StaffScope,
    login: &str,
    first: FirstCredential,
    created_by: &str,
) -> Result<Issued, StaffAccountError> {
    let login = StaffLogin::parse(login).map_err(StaffAccountError::BadLogin)?;
    let (credential, code) = credential(&login, first).await?;
    let user = metadata
        .create_staff_user(
            &NewStaffUser {
                scope,
                login,
                credential,
                created_by: created_by.to_owned(),
            },
            now(),
        )
        .await?;
    Ok(Issued {
        user,
        activation_expires_at: code.as_ref().map(|(_, expires)| *expires),
        activation_code: code.map(|(code, _)| code),
    })
}

/// Gives an existing account a new credential; its sessions end.
pub async fn reset(
    metadata: &Metadata,
    scope: &StaffScope,
    login: &str,
    first: FirstCredential,
) -> Result<Issued, StaffAccountError> {
    let login = StaffLogin::parse(login).map_err(StaffAccountError::BadLogin)?;
    let (credential, code) = credential(&login, first).await?;
    let user = metadata
        .reset_staff_credential(scope, &login, &credential, now())
        .await?;
    Ok(Issued {
        user,
        activation_expires_at: code.as_ref().map(|(_, expires)| *expires),
        activation_code: code.map(|(code, _)| code),
    })
}
