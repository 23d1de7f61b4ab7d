//! What the web pages keep: browser sessions (the SHA-256 of the cookie's random token, never
//! the token) and sign-in attempts per identity for the lock-out. Shared by every desk of the
//! pages (the patient portal, the administrator's, the operator's); `kind` names the desk.

use std::fmt;

use medgate_ids::TenantId;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{column, from_unix, optional_parsed_column, parsed_column, to_unix, Metadata};
use crate::error::MetadataError;
use crate::values::Sha256Digest;

/// Which desk of the pages a session or a sign-in belongs to (`patient`, `admin`,
/// `operator`, …): an open name, not a closed list, so that a new desk is one value in the
/// module that owns it. A name is 1 to [`WebSessionKind::MAX_LEN`] characters of lower-case
/// ASCII letters, digits and `-`, beginning with a letter; [`WebSessionKind::new`] checks it
/// when a desk's constant is compiled, [`WebSessionKind::parse`] when it is read back.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WebSessionKind {
    length: u8,
    bytes: [u8; WebSessionKind::MAX_LEN],
}

impl WebSessionKind {
    /// The longest name.
    pub const MAX_LEN: usize = 32;

    /// The kind named `name`; a name that breaks the rule fails to compile where it is a
    /// constant (and panics elsewhere: use [`WebSessionKind::parse`] for names read at run
    /// time).
    pub const fn new(name: &str) -> WebSessionKind {
        match WebSessionKind::checked(name) {
            Some(kind) => kind,
            None => {
                panic!("a session kind is 1 to 32 of a-z, 0-9 and '-', beginning with a letter")
            }
        }
    }

    /// The kind named `text`, if it follows the rule.
    pub fn parse(text: &str) -> Result<WebSessionKind, String> {
        WebSessionKind::checked(text).ok_or_else(|| format!("'{text}' is not a session kind name"))
    }

    const fn checked(name: &str) -> Option<WebSessionKind> {
        let source = name.as_bytes();
        if source.is_empty()
            || source.len() > WebSessionKind::MAX_LEN
            || !source[0].is_ascii_lowercase()
        {
            return None;
        }
        let mut bytes = [0u8; WebSessionKind::MAX_LEN];
        let mut at = 0;
        while at < source.len() {
            let byte = source[at];
            if !(byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-') {
                return None;
            }
            bytes[at] = byte;
            at += 1;
        }
        Some(WebSessionKind {
            length: source.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked above), so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.length)]).unwrap_or("")
    }
}

impl fmt::Display for WebSessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for WebSessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebSessionKind({:?})", self.as_str())
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

/// The lock-out rule: at most `max_failures` attempts in a row without a success are checked
/// (each is counted before it is checked; attempts older than `forget_after` do not count);
/// the last of them locks the identity for `lock_for` unless it succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub lock_for: time::Duration,
    pub forget_after: time::Duration,
}

/// What [`Metadata::reserve_signin_attempt`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigninAttempt {
    /// The password or code may be checked. `locked_if_failed` is set when this was the last
    /// attempt the policy allows: the identity is locked until then unless it succeeds.
    Allowed {
        locked_if_failed: Option<OffsetDateTime>,
    },
    /// The identity is locked until `until`: refuse without checking anything.
    Locked { until: OffsetDateTime },
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

fn locked_until_column(row: &AnyRow) -> Result<Option<OffsetDateTime>, MetadataError> {
    let seconds: Option<i64> = column(row, "locked_until")?;
    seconds
        .map(|seconds| from_unix("locked_until", seconds))
        .transpose()
}

impl Metadata {
    /// Stores a new session; also removes sessions whose absolute end has passed.
    pub async fn create_web_session(&self, session: &NewWebSession) -> Result<(), MetadataError> {
        const OPERATION: &str = "create a web session";
        self.write_one(
            OPERATION,
            "DELETE FROM web_sessions WHERE expires_at < $1",
            vec![to_unix(session.created_at).into()],
        )
        .await?;
        self.write_one(
            OPERATION,
            "INSERT INTO web_sessions (token_hash, kind, tenant_id, principal, csrf_secret, \
             created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
            vec![
                session.token_hash.to_hex().into(),
                session.kind.as_str().into(),
                session.tenant.as_ref().map(TenantId::as_str).into(),
                session.principal.as_str().into(),
                session.csrf_secret.as_str().into(),
                to_unix(session.created_at).into(),
                to_unix(session.expires_at).into(),
            ],
        )
        .await?;
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
        let (_, row) = self
            .write_one(
                OPERATION,
                sql,
                vec![
                    token_hash.to_hex().into(),
                    to_unix(now).into(),
                    to_unix(idle_since).into(),
                ],
            )
            .await?;
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
        self.write_one(
            "end a web session",
            "DELETE FROM web_sessions WHERE token_hash = $1",
            vec![token_hash.to_hex().into()],
        )
        .await?;
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
        Ok(row
            .map(|row| locked_until_column(&row))
            .transpose()?
            .flatten())
    }

    /// Reserves one sign-in attempt of the identity **before** its password or code is
    /// checked, so that at most `max_failures` guesses are ever checked per lock-out, however
    /// many arrive at once and on however many nodes share the database.
    ///
    /// One statement (`INSERT … ON CONFLICT DO UPDATE … RETURNING`), atomic on SQLite and
    /// PostgreSQL: the attempt is counted; the one that reaches `max_failures` also sets the
    /// lock (which its own success lifts again through [`Metadata::clear_signin_failures`]);
    /// any attempt while the identity is locked is refused without extending the lock. The
    /// count restarts after a lock-out and after `forget_after` without attempts.
    pub async fn reserve_signin_attempt(
        &self,
        identity: SigninIdentity<'_>,
        policy: LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<SigninAttempt, MetadataError> {
        const OPERATION: &str = "count a sign-in attempt";
        // Forget identities nobody tried for a long time, so the table stays small. A
        // statement of its own: inside the reservation it could deadlock with another one.
        self.write_one(
            OPERATION,
            "DELETE FROM web_signin_failures WHERE last_failure_at < $1 \
             AND (locked_until IS NULL OR locked_until < $2)",
            vec![
                to_unix(now - policy.forget_after).into(),
                to_unix(now).into(),
            ],
        )
        .await?;
        // `failed_attempts` counts the attempts reserved since the count (re)started; above
        // `max_failures` it counts the refusals of the lock-out, which is what tells a refused
        // attempt from the one that set the lock (both see the same `locked_until`).
        let (_, row) = self
            .write_one(
                OPERATION,
            "INSERT INTO web_signin_failures (kind, tenant_id, principal, failed_attempts, \
                 locked_until, last_failure_at) \
                 VALUES ($1, $2, $3, 1, CASE WHEN 1 >= $5 THEN $6 ELSE NULL END, $4) \
                 ON CONFLICT (kind, tenant_id, principal) DO UPDATE SET \
                 failed_attempts = CASE \
                   WHEN web_signin_failures.locked_until > $4 THEN \
                     CASE WHEN web_signin_failures.failed_attempts > $5 \
                       THEN web_signin_failures.failed_attempts + 1 ELSE $5 + 1 END \
                   WHEN web_signin_failures.locked_until IS NOT NULL \
                     OR web_signin_failures.last_failure_at < $7 THEN 1 \
                   ELSE web_signin_failures.failed_attempts + 1 END, \
                 locked_until = CASE \
                   WHEN web_signin_failures.locked_until > $4 THEN web_signin_failures.locked_until \
                   WHEN web_signin_failures.locked_until IS NOT NULL \
                     OR web_signin_failures.last_failure_at < $7 THEN \
                     CASE WHEN 1 >= $5 THEN $6 ELSE NULL END \
                   WHEN web_signin_failures.failed_attempts + 1 >= $5 THEN $6 \
                   ELSE NULL END, \
                 last_failure_at = $4 \
                 RETURNING failed_attempts, locked_until",
                vec![
                    identity.kind.as_str().into(),
                    identity.tenant.into(),
                    identity.principal.into(),
                    to_unix(now).into(),
                    i64::from(policy.max_failures).into(),
                    to_unix(now + policy.lock_for).into(),
                    to_unix(now - policy.forget_after).into(),
                ],
            )
            .await?;
        let row = row.ok_or_else(|| {
            MetadataError::corrupt("web_signin_failures", "the attempt's row was not returned")
        })?;
        let attempts: i64 = column(&row, "failed_attempts")?;
        let locked_until = locked_until_column(&row)?;
        if attempts > i64::from(policy.max_failures) {
            let until = locked_until.ok_or_else(|| {
                MetadataError::corrupt(
                    "web_signin_failures.locked_until",
                    "attempts above the limit without a lock",
                )
            })?;
            Ok(SigninAttempt::Locked { until })
        } else {
            Ok(SigninAttempt::Allowed {
                locked_if_failed: locked_until,
            })
        }
    }

    /// Forgets the failures of an identity after a successful sign-in.
    pub async fn clear_signin_failures(
        &self,
        identity: SigninIdentity<'_>,
    ) -> Result<(), MetadataError> {
        self.write_one(
            "clear sign-in failures",
            "DELETE FROM web_signin_failures WHERE kind = $1 AND tenant_id = $2 AND principal = $3",
            vec![
                identity.kind.as_str().into(),
                identity.tenant.into(),
                identity.principal.into(),
            ],
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::WebSessionKind;

    #[test]
    fn a_session_kind_is_a_short_lower_case_name() {
        const DESK: WebSessionKind = WebSessionKind::new("front-desk2");
        assert_eq!(DESK.as_str(), "front-desk2");
        assert_eq!(WebSessionKind::parse("front-desk2").unwrap(), DESK);
        assert_eq!(DESK.to_string(), "front-desk2");
        assert_eq!(
            WebSessionKind::parse(&"a".repeat(32))
                .unwrap()
                .as_str()
                .len(),
            32
        );
        for wrong in ["", "Admin", "2fa", "-x", "a b", "ą", "a_b", &"a".repeat(33)] {
            assert!(WebSessionKind::parse(wrong).is_err(), "{wrong:?}");
        }
        assert_ne!(WebSessionKind::new("admin"), WebSessionKind::new("admins"));
    }

    /// The schema takes any desk's name, not only the three desks of today.
    #[tokio::test]
    async fn a_session_of_any_desk_is_stored_and_read_back() {
        use crate::{Metadata, NewWebSession, Sha256Digest};
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("metadata.db").display()
        );
        let metadata = Metadata::connect(&url).await.unwrap();
        let now = time::OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
        let session = NewWebSession {
            token_hash: Sha256Digest::of(b"token"),
            kind: WebSessionKind::new("front-desk"),
            tenant: None,
            principal: "reception".to_owned(),
            csrf_secret: "ab".repeat(32),
            created_at: now,
            expires_at: now + time::Duration::hours(1),
        };
        metadata.create_web_session(&session).await.unwrap();
        let live = metadata
            .touch_web_session(&session.token_hash, time::Duration::minutes(5), now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live.kind, WebSessionKind::new("front-desk"));
        assert_eq!(live.principal, "reception");
    }
}
