//! Staff accounts of the web pages: a tenant's administrators (each bound to one tenant) and
//! the deployment's operators (bound to none). An account is created by an operator with
//! either a password hash or a pending one-time activation code (its hash and end), and is
//! activated once with that code. This module stores Argon2id PHC strings made by the
//! server; it never sees a password or a code.
//!
//! The sessions of a staff member are the `web_sessions` rows of their kind, tenant and
//! login (the principal): disabling an account or issuing a new activation code ends them in
//! the same transaction, so a removed administrator is signed out everywhere at once.

use std::fmt;

use medgate_ids::TenantId;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::web::WebSessionKind;
use super::{
    column, from_unix, is_foreign_key_violation, is_unique_violation, optional_parsed_column,
    to_unix, Metadata,
};
use crate::error::MetadataError;
use crate::metadata::portal::PendingActivation;
use crate::values::InvalidValue;

/// Whom a staff account acts for: one tenant's administrator, or an operator of the whole
/// deployment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StaffScope {
    Admin(TenantId),
    Operator,
}

impl StaffScope {
    /// The session kind of the tenant administrators' desk (their accounts live here, and
    /// disabling one ends its sessions of this kind).
    pub const ADMIN_SESSIONS: WebSessionKind = WebSessionKind::new("admin");
    /// The session kind of the operators' desk.
    pub const OPERATOR_SESSIONS: WebSessionKind = WebSessionKind::new("operator");

    /// The kind of the account's web sessions.
    pub fn session_kind(&self) -> WebSessionKind {
        match self {
            StaffScope::Admin(_) => StaffScope::ADMIN_SESSIONS,
            StaffScope::Operator => StaffScope::OPERATOR_SESSIONS,
        }
    }

    /// The tenant of an administrator; `None` for an operator.
    pub fn tenant(&self) -> Option<&TenantId> {
        match self {
            StaffScope::Admin(tenant) => Some(tenant),
            StaffScope::Operator => None,
        }
    }

    /// The `kind` column of the account and of its sessions.
    fn kind_text(&self) -> String {
        self.session_kind().as_str().to_owned()
    }

    /// The tenant as the `COALESCE(tenant_id, '')` comparisons take it.
    fn tenant_text(&self) -> &str {
        self.tenant().map(TenantId::as_str).unwrap_or("")
    }
}

impl fmt::Display for StaffScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StaffScope::Admin(tenant) => write!(f, "administrator of {tenant}"),
            StaffScope::Operator => f.write_str("operator"),
        }
    }
}

/// A staff login: 1 to 64 characters of lower-case ASCII letters, digits and `. _ - @`,
/// beginning with a letter or digit. Parsing lower-cases it, so `Anna.Nowak` and
/// `anna.nowak` are the same login.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StaffLogin(String);

impl StaffLogin {
    /// The longest login.
    pub const MAX_CHARS: usize = 64;

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let invalid = |reason: String| InvalidValue {
            kind: "login",
            reason,
        };
        let login = text.trim().to_ascii_lowercase();
        if login.is_empty() {
            return Err(invalid("is empty".to_owned()));
        }
        if login.chars().count() > Self::MAX_CHARS {
            return Err(invalid(format!(
                "has more than {} characters",
                Self::MAX_CHARS
            )));
        }
        if let Some(bad) = login
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@".contains(*c)))
        {
            return Err(invalid(format!(
                "contains '{bad}'; use letters a-z, digits and . _ - @"
            )));
        }
        if !login.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(invalid("must begin with a letter or a digit".to_owned()));
        }
        Ok(StaffLogin(login))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StaffLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a new account is to be signed in to first.
#[derive(Clone, PartialEq, Eq)]
pub enum StaffCredential {
    /// The Argon2id PHC string of a password chosen by whoever creates the account.
    PasswordHash(String),
    /// A one-time activation code to hand to the user, who sets the password with it.
    Activation(PendingActivation),
}

/// A staff account to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewStaffUser {
    pub scope: StaffScope,
    pub login: StaffLogin,
    pub credential: StaffCredential,
    /// Who created it, for the record (`cli`, `operator:<login>`).
    pub created_by: String,
}

/// A stored staff account.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub scope: StaffScope,
    pub login: StaffLogin,
    /// Argon2id PHC string; `None` until activated.
    pub password_hash: Option<String>,
    /// Argon2id PHC string of the pending activation code; `None` once activated.
    pub activation_code_hash: Option<String>,
    pub activation_expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub activated_at: Option<OffsetDateTime>,
    pub last_signin_at: Option<OffsetDateTime>,
    pub disabled_at: Option<OffsetDateTime>,
}

impl StaffUser {
    /// True when the account can sign in: it has a password and is not disabled.
    pub fn can_sign_in(&self) -> bool {
        self.password_hash.is_some() && self.disabled_at.is_none()
    }
}

impl fmt::Debug for StaffUser {
    /// Leaves the hashes out: they do not belong in logs either.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffUser")
            .field("scope", &self.scope)
            .field("login", &self.login)
            .field("activated_at", &self.activated_at)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NewStaffUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewStaffUser")
            .field("scope", &self.scope)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// Why a staff account operation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StaffUserError {
    #[error("the {scope} already has a login '{login}'")]
    Exists {
        scope: StaffScope,
        login: StaffLogin,
    },

    #[error("tenant {0} does not exist")]
    TenantNotFound(TenantId),

    #[error("there is no {scope} with login '{login}'")]
    NotFound {
        scope: StaffScope,
        login: StaffLogin,
    },

    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

const USER_COLUMNS: &str = "kind, tenant_id, login, password_hash, activation_code_hash, \
     activation_expires_at, created_at, created_by, activated_at, last_signin_at, disabled_at";

/// Selects one account: `kind = $1 AND COALESCE(tenant_id, '') = $2 AND login = $3`.
const ONE_USER: &str = "kind = $1 AND COALESCE(tenant_id, '') = $2 AND login = $3";

fn user_from_row(row: &AnyRow) -> Result<StaffUser, MetadataError> {
    let optional_time = |name: &'static str| -> Result<Option<OffsetDateTime>, MetadataError> {
        let seconds: Option<i64> = column(row, name)?;
        seconds.map(|seconds| from_unix(name, seconds)).transpose()
    };
    let kind: String = column(row, "kind")?;
    let tenant = optional_parsed_column(row, "tenant_id", TenantId::parse)?;
    let scope = match (kind.as_str(), tenant) {
        ("admin", Some(tenant)) => StaffScope::Admin(tenant),
        ("operator", None) => StaffScope::Operator,
        (other, _) => {
            return Err(MetadataError::corrupt(
                "kind",
                format!("staff kind '{other}' does not match its tenant"),
            ))
        }
    };
    let login: String = column(row, "login")?;
    Ok(StaffUser {
        scope,
        login: StaffLogin::parse(&login).map_err(|error| MetadataError::corrupt("login", error))?,
        password_hash: column(row, "password_hash")?,
        activation_code_hash: column(row, "activation_code_hash")?,
        activation_expires_at: optional_time("activation_expires_at")?,
        created_at: from_unix("created_at", column(row, "created_at")?)?,
        created_by: column(row, "created_by")?,
        activated_at: optional_time("activated_at")?,
        last_signin_at: optional_time("last_signin_at")?,
        disabled_at: optional_time("disabled_at")?,
    })
}

impl Metadata {
    /// Creates a staff account with a password or a pending activation code.
    pub async fn create_staff_user(
        &self,
        user: &NewStaffUser,
        now: OffsetDateTime,
    ) -> Result<StaffUser, StaffUserError> {
        let (password_hash, code_hash, code_expires, activated_at) = match &user.credential {
            StaffCredential::PasswordHash(hash) => {
                (Some(hash.as_str().to_owned()), None, None, Some(now))
            }
            StaffCredential::Activation(pending) => (
                None,
                Some(pending.code_hash.as_str().to_owned()),
                Some(to_unix(pending.expires_at)),
                None,
            ),
        };
        let sql = format!(
            "INSERT INTO web_users (kind, tenant_id, login, password_hash, activation_code_hash, \
             activation_expires_at, created_at, created_by, activated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {USER_COLUMNS}"
        );
        let (user_owned,) = (user.clone(),);
        let row = self
            .writer
            .transact("create a staff account", move |connection| {
                Box::pin(async move {
                    let (user,) = (&user_owned,);
                    let row = sqlx::query(&sql)
                        .bind(user.scope.kind_text())
                        .bind(user.scope.tenant().map(TenantId::as_str))
                        .bind(user.login.as_str())
                        .bind(password_hash)
                        .bind(code_hash)
                        .bind(code_expires)
                        .bind(to_unix(now))
                        .bind(user.created_by.as_str())
                        .bind(activated_at.map(to_unix))
                        .fetch_one(&mut *connection)
                        .await
                        .map_err(|error| {
                            if is_unique_violation(&error) {
                                StaffUserError::Exists {
                                    scope: user.scope.clone(),
                                    login: user.login.clone(),
                                }
                            } else if is_foreign_key_violation(&error) {
                                match &user.scope {
                                    StaffScope::Admin(tenant) => {
                                        StaffUserError::TenantNotFound(tenant.clone())
                                    }
                                    StaffScope::Operator => StaffUserError::Metadata(
                                        MetadataError::database("create a staff account")(error),
                                    ),
                                }
                            } else {
                                StaffUserError::Metadata(MetadataError::database(
                                    "create a staff account",
                                )(error))
                            }
                        })?;
                    Ok::<_, StaffUserError>(row)
                })
            })
            .await?;
        Ok(user_from_row(&row)?)
    }

    /// The account, if there is one.
    pub async fn get_staff_user(
        &self,
        scope: &StaffScope,
        login: &StaffLogin,
    ) -> Result<Option<StaffUser>, MetadataError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM web_users WHERE {ONE_USER}");
        sqlx::query(&sql)
            .bind(scope.kind_text())
            .bind(scope.tenant_text())
            .bind(login.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a staff account"))?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    /// The accounts of a scope (one tenant's administrators, or the operators), by login.
    pub async fn list_staff_users(
        &self,
        scope: &StaffScope,
    ) -> Result<Vec<StaffUser>, MetadataError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM web_users \
             WHERE kind = $1 AND COALESCE(tenant_id, '') = $2 ORDER BY login"
        );
        sqlx::query(&sql)
            .bind(scope.kind_text())
            .bind(scope.tenant_text())
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list staff accounts"))?
            .iter()
            .map(user_from_row)
            .collect()
    }

    /// Activates the account: sets the password hash and spends the activation code, but
    /// only if the code hash is still `code_hash`, the code has not expired at `now` and the
    /// account has no password and is not disabled, so a code works once even when two
    /// activations race. False when that no longer holds.
    pub async fn activate_staff_user(
        &self,
        scope: &StaffScope,
        login: &StaffLogin,
        code_hash: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, MetadataError> {
        let sql = format!(
            "UPDATE web_users SET password_hash = $5, activation_code_hash = NULL, \
             activation_expires_at = NULL, activated_at = $6 \
             WHERE {ONE_USER} AND activation_code_hash = $4 AND password_hash IS NULL \
             AND disabled_at IS NULL AND activation_expires_at >= $6"
        );
        let (scope_owned, login_owned, code_hash_owned, password_hash_owned) = (
            scope.clone(),
            login.clone(),
            code_hash.to_owned(),
            password_hash.to_owned(),
        );
        let result = self
            .writer
            .transact("activate a staff account", move |connection| {
                Box::pin(async move {
                    let (scope, login, code_hash, password_hash) = (
                        &scope_owned,
                        &login_owned,
                        &code_hash_owned,
                        &password_hash_owned,
                    );
                    let result = sqlx::query(&sql)
                        .bind(scope.kind_text())
                        .bind(scope.tenant_text())
                        .bind(login.as_str())
                        .bind(code_hash)
                        .bind(password_hash)
                        .bind(to_unix(now))
                        .execute(&mut *connection)
                        .await
                        .map_err(MetadataError::database("activate a staff account"))?;
                    Ok::<_, MetadataError>(result)
                })
            })
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Gives the account a new credential (a password hash, or a new activation code that
    /// replaces the password) and ends its sessions, in one transaction.
    pub async fn reset_staff_credential(
        &self,
        scope: &StaffScope,
        login: &StaffLogin,
        credential: &StaffCredential,
        now: OffsetDateTime,
    ) -> Result<StaffUser, StaffUserError> {
        const OPERATION: &str = "reset a staff credential";
        let (password_hash, code_hash, code_expires, activated_at) = match credential {
            StaffCredential::PasswordHash(hash) => {
                (Some(hash.as_str().to_owned()), None, None, Some(now))
            }
            StaffCredential::Activation(pending) => (
                None,
                Some(pending.code_hash.as_str().to_owned()),
                Some(to_unix(pending.expires_at)),
                None,
            ),
        };
        let (scope_owned, login_owned, password_hash_owned, code_hash_owned) =
            (scope.clone(), login.clone(), password_hash, code_hash);
        let user = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (scope, login, password_hash, code_hash) = (
                        &scope_owned,
                        &login_owned,
                        &password_hash_owned,
                        &code_hash_owned,
                    );
                    let sql = format!(
                        "UPDATE web_users SET password_hash = $4, activation_code_hash = $5, \
             activation_expires_at = $6, activated_at = $7 WHERE {ONE_USER} \
             RETURNING {USER_COLUMNS}"
                    );
                    let row = sqlx::query(&sql)
                        .bind(scope.kind_text())
                        .bind(scope.tenant_text())
                        .bind(login.as_str())
                        .bind(password_hash)
                        .bind(code_hash)
                        .bind(code_expires)
                        .bind(activated_at.map(to_unix))
                        .fetch_optional(&mut *connection)
                        .await
                        .map_err(MetadataError::database(OPERATION))?;
                    let Some(row) = row else {
                        return Err(StaffUserError::NotFound {
                            scope: scope.clone(),
                            login: login.clone(),
                        });
                    };
                    let user = user_from_row(&row)?;
                    end_sessions(&mut *connection, scope, login).await?;
                    Ok::<_, StaffUserError>(user)
                })
            })
            .await?;
        Ok(user)
    }

    /// Disables the account (and ends its sessions) or enables it again.
    pub async fn set_staff_disabled(
        &self,
        scope: &StaffScope,
        login: &StaffLogin,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<StaffUser, StaffUserError> {
        const OPERATION: &str = "disable or enable a staff account";
        let (scope_owned, login_owned) = (scope.clone(), login.clone());
        let user = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (scope, login) = (&scope_owned, &login_owned);
                    let sql = format!(
            "UPDATE web_users SET disabled_at = $4 WHERE {ONE_USER} RETURNING {USER_COLUMNS}"
        );
                    let row = sqlx::query(&sql)
                        .bind(scope.kind_text())
                        .bind(scope.tenant_text())
                        .bind(login.as_str())
                        .bind(disabled.then(|| to_unix(now)))
                        .fetch_optional(&mut *connection)
                        .await
                        .map_err(MetadataError::database(OPERATION))?;
                    let Some(row) = row else {
                        return Err(StaffUserError::NotFound {
                            scope: scope.clone(),
                            login: login.clone(),
                        });
                    };
                    let user = user_from_row(&row)?;
                    if disabled {
                        end_sessions(&mut *connection, scope, login).await?;
                    }
                    Ok::<_, StaffUserError>(user)
                })
            })
            .await?;
        Ok(user)
    }

    /// Records a successful sign-in.
    pub async fn record_staff_signin(
        &self,
        scope: &StaffScope,
        login: &StaffLogin,
        now: OffsetDateTime,
    ) -> Result<(), MetadataError> {
        let sql = format!("UPDATE web_users SET last_signin_at = $4 WHERE {ONE_USER}");
        let (scope_owned, login_owned) = (scope.clone(), login.clone());
        self.writer
            .transact("record a staff sign-in", move |connection| {
                Box::pin(async move {
                    let (scope, login) = (&scope_owned, &login_owned);
                    sqlx::query(&sql)
                        .bind(scope.kind_text())
                        .bind(scope.tenant_text())
                        .bind(login.as_str())
                        .bind(to_unix(now))
                        .execute(&mut *connection)
                        .await
                        .map_err(MetadataError::database("record a staff sign-in"))?;
                    Ok::<_, MetadataError>(())
                })
            })
            .await?;
        Ok(())
    }
}

/// Deletes the web sessions of one staff account inside `transaction`.
async fn end_sessions(
    connection: &mut sqlx::AnyConnection,
    scope: &StaffScope,
    login: &StaffLogin,
) -> Result<(), MetadataError> {
    sqlx::query(
        "DELETE FROM web_sessions WHERE kind = $1 AND COALESCE(tenant_id, '') = $2 \
         AND principal = $3",
    )
    .bind(scope.kind_text())
    .bind(scope.tenant_text())
    .bind(login.as_str())
    .execute(&mut *connection)
    .await
    .map_err(MetadataError::database("end a staff account's sessions"))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn logins_are_lower_cased_and_limited_to_a_safe_alphabet() {
        assert_eq!(
            StaffLogin::parse(" Anna.Nowak ").unwrap().as_str(),
            "anna.nowak"
        );
        assert_eq!(
            StaffLogin::parse("it-admin_2@clinic").unwrap().as_str(),
            "it-admin_2@clinic"
        );
        assert!(StaffLogin::parse("").is_err());
        assert!(StaffLogin::parse("anna nowak")
            .unwrap_err()
            .to_string()
            .contains("' '"));
        assert!(StaffLogin::parse(".hidden").is_err());
        assert!(StaffLogin::parse("żaneta").is_err());
        assert!(StaffLogin::parse(&"a".repeat(65)).is_err());
        assert!(StaffLogin::parse(&"a".repeat(64)).is_ok());
    }
}
