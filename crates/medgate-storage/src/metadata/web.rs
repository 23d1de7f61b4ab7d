//! What the web pages keep: browser sessions (the SHA-256 of the cookie's random token, never
//! the token) and failed sign-ins per identity for the lock-out. Shared by the patient portal
//! and the later staff pages; `kind` tells them apart.

use std::fmt;

use medgate_ids::TenantId;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{column, from_unix, optional_parsed_column, parsed_column, to_unix, Metadata};
use crate::error::MetadataError;
use crate::values::Sha256Digest;

/// Who a session or a sign-in is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebSessionKind {
    /// A patient on the portal; the principal is `root^extension`.
    Patient,
    /// A tenant's administrator.
    Admin,
    /// The operator of the deployment.
    Operator,
}

impl WebSessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WebSessionKind::Patient => "patient",
            WebSessionKind::Admin => "admin",
            WebSessionKind::Operator => "operator",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "patient" => Ok(WebSessionKind::Patient),
            "admin" => Ok(WebSessionKind::Admin),
            "operator" => Ok(WebSessionKind::Operator),
            other => Err(format!("unknown session kind '{other}'")),
        }
    }
}

impl fmt::Display for WebSessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A session to store.
#[derive(Clone, PartialEq, Eq)]
pub struct NewWebSession {
    /// SHA-256 of the random token the browser holds.
    pub token_hash: Sha256Digest,
    pub kind: WebSessionKind,
    pub tenant: Option<TenantId>,
    /// Who signed in (for a patient: `root^extension`).
    pub principal: String,
    /// The secret the session's forms carry against cross-site requests (hex).
    pub csrf_secret: String,
    pub created_at: OffsetDateTime,
    /// The absolute end of the session, however active it is.
    pub expires_at: OffsetDateTime,
}

/// A stored, live session.
#[derive(Clone, PartialEq, Eq)]
pub struct WebSession {
    pub token_hash: Sha256Digest,
    pub kind: WebSessionKind,
    pub tenant: Option<TenantId>,
    pub principal: String,
    pub csrf_secret: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
}

impl fmt::Debug for WebSession {
    /// Leaves the CSRF secret out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSession")
            .field("kind", &self.kind)
            .field("tenant", &self.tenant)
            .field("principal", &self.principal)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NewWebSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewWebSession")
            .field("kind", &self.kind)
            .field("tenant", &self.tenant)
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// The lock-out rule: after `max_failures` failed sign-ins in a row (failures older than
/// `forget_after` do not count), the identity is locked for `lock_for`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub lock_for: time::Duration,
    pub forget_after: time::Duration,
}

/// An identity that signs in: kind, the tenant as typed (`""` where none applies) and the
/// principal as typed (normalised by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigninIdentity<'a> {
    pub kind: WebSessionKind,
    pub tenant: &'a str,
    pub principal: &'a str,
}

const SESSION_COLUMNS: &str =
    "token_hash, kind, tenant_id, principal, csrf_secret, created_at, expires_at, last_seen_at";

fn session_from_row(row: &AnyRow) -> Result<WebSession, MetadataError> {
    Ok(WebSession {
        token_hash: parsed_column(row, "token_hash", Sha256Digest::parse_hex)?,
        kind: parsed_column(row, "kind", WebSessionKind::parse)?,
        tenant: optional_parsed_column(row, "tenant_id", TenantId::parse)?,
        principal: column(row, "principal")?,
        csrf_secret: column(row, "csrf_secret")?,
        created_at: from_unix("created_at", column(row, "created_at")?)?,
        expires_at: from_unix("expires_at", column(row, "expires_at")?)?,
        last_seen_at: from_unix("last_seen_at", column(row, "last_seen_at")?)?,
    })
}

impl Metadata {
    /// Stores a new session; also removes sessions whose absolute end has passed.
    pub async fn create_web_session(&self, session: &NewWebSession) -> Result<(), MetadataError> {
        const OPERATION: &str = "create a web session";
        sqlx::query("DELETE FROM web_sessions WHERE expires_at < $1")
            .bind(to_unix(session.created_at))
            .execute(self.pool())
            .await
            .map_err(MetadataError::database(OPERATION))?;
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, kind, tenant_id, principal, csrf_secret, \
             created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
        )
        .bind(session.token_hash.to_hex())
        .bind(session.kind.as_str())
        .bind(session.tenant.as_ref().map(TenantId::as_str))
        .bind(session.principal.as_str())
        .bind(session.csrf_secret.as_str())
        .bind(to_unix(session.created_at))
        .bind(to_unix(session.expires_at))
        .execute(self.pool())
        .await
        .map_err(MetadataError::database(OPERATION))?;
        Ok(())
    }

    /// The live session with this token hash, marked as seen at `now`; `None` (and the row
    /// removed) when there is none, its absolute end has passed, or it was idle for longer
    /// than `idle_limit`.
    pub async fn touch_web_session(
        &self,
        token_hash: &Sha256Digest,
        idle_limit: time::Duration,
        now: OffsetDateTime,
    ) -> Result<Option<WebSession>, MetadataError> {
        const OPERATION: &str = "read a web session";
        let idle_since = now - idle_limit;
        let sql = format!(
            "UPDATE web_sessions SET last_seen_at = $2 \
             WHERE token_hash = $1 AND expires_at >= $2 AND last_seen_at >= $3 \
             RETURNING {SESSION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(token_hash.to_hex())
            .bind(to_unix(now))
            .bind(to_unix(idle_since))
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database(OPERATION))?;
        match row {
            Some(row) => Ok(Some(session_from_row(&row)?)),
            None => {
                self.delete_web_session(token_hash).await?;
                Ok(None)
            }
        }
    }

    /// Ends a session (sign-out); nothing happens if there is none.
    pub async fn delete_web_session(&self, token_hash: &Sha256Digest) -> Result<(), MetadataError> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(token_hash.to_hex())
            .execute(self.pool())
            .await
            .map_err(MetadataError::database("end a web session"))?;
        Ok(())
    }

    /// Until when the identity is locked out, if it is locked at `now`.
    pub async fn signin_locked_until(
        &self,
        identity: SigninIdentity<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, MetadataError> {
        let row = sqlx::query(
            "SELECT locked_until FROM web_signin_failures \
             WHERE kind = $1 AND tenant_id = $2 AND principal = $3 AND locked_until > $4",
        )
        .bind(identity.kind.as_str())
        .bind(identity.tenant)
        .bind(identity.principal)
        .bind(to_unix(now))
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read sign-in failures"))?;
        row.map(|row| {
            let seconds: i64 = column(&row, "locked_until")?;
            from_unix("locked_until", seconds)
        })
        .transpose()
    }

    /// Counts a failed sign-in of the identity; returns the end of the lock-out when this
    /// failure starts one. The count restarts after a lock-out and after `forget_after`
    /// without failures.
    pub async fn record_signin_failure(
        &self,
        identity: SigninIdentity<'_>,
        policy: LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, MetadataError> {
        const OPERATION: &str = "record a failed sign-in";
        let mut transaction = self.begin_write(OPERATION).await?;
        // Forget identities nobody tried for a long time, so the table stays small.
        sqlx::query(
            "DELETE FROM web_signin_failures WHERE last_failure_at < $1 \
             AND (locked_until IS NULL OR locked_until < $2)",
        )
        .bind(to_unix(now - policy.forget_after))
        .bind(to_unix(now))
        .execute(&mut *transaction)
        .await
        .map_err(MetadataError::database(OPERATION))?;
        let sql = format!(
            "SELECT failed_attempts, locked_until FROM web_signin_failures \
             WHERE kind = $1 AND tenant_id = $2 AND principal = $3{}",
            self.backend.row_lock()
        );
        let row = sqlx::query(&sql)
            .bind(identity.kind.as_str())
            .bind(identity.tenant)
            .bind(identity.principal)
            .fetch_optional(&mut *transaction)
            .await
            .map_err(MetadataError::database(OPERATION))?;
        let previous: i64 = match &row {
            None => 0,
            Some(row) => {
                let locked_until: Option<i64> = column(row, "locked_until")?;
                if locked_until.is_some_and(|until| until > to_unix(now)) {
                    // Already locked: the lock-out is not extended by further tries.
                    transaction
                        .rollback()
                        .await
                        .map_err(MetadataError::database(OPERATION))?;
                    return Ok(None);
                }
                if locked_until.is_some() {
                    0
                } else {
                    column(row, "failed_attempts")?
                }
            }
        };
        let failures = previous + 1;
        let locked_until =
            (failures >= i64::from(policy.max_failures)).then(|| now + policy.lock_for);
        let stored_failures = if locked_until.is_some() { 0 } else { failures };
        let statement = if row.is_some() {
            "UPDATE web_signin_failures SET failed_attempts = $4, locked_until = $5, \
             last_failure_at = $6 WHERE kind = $1 AND tenant_id = $2 AND principal = $3"
        } else {
            "INSERT INTO web_signin_failures (kind, tenant_id, principal, failed_attempts, \
             locked_until, last_failure_at) VALUES ($1, $2, $3, $4, $5, $6)"
        };
        sqlx::query(statement)
            .bind(identity.kind.as_str())
            .bind(identity.tenant)
            .bind(identity.principal)
            .bind(stored_failures)
            .bind(locked_until.map(to_unix))
            .bind(to_unix(now))
            .execute(&mut *transaction)
            .await
            .map_err(MetadataError::database(OPERATION))?;
        transaction
            .commit()
            .await
            .map_err(MetadataError::database(OPERATION))?;
        Ok(locked_until)
    }

    /// Forgets the failures of an identity after a successful sign-in.
    pub async fn clear_signin_failures(
        &self,
        identity: SigninIdentity<'_>,
    ) -> Result<(), MetadataError> {
        sqlx::query(
            "DELETE FROM web_signin_failures WHERE kind = $1 AND tenant_id = $2 AND principal = $3",
        )
        .bind(identity.kind.as_str())
        .bind(identity.tenant)
        .bind(identity.principal)
        .execute(self.pool())
        .await
        .map_err(MetadataError::database("clear sign-in failures"))?;
        Ok(())
    }
}
