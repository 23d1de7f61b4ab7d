//! The sign-in lock-out: at most [`POLICY`]'s 5 attempts in a row without a success are
//! checked for an identity typed (kind, tenant, principal); the fifth locks it for 15 minutes
//! unless it succeeds. Each attempt is counted in the database **before** its password or code
//! is checked ([`reserve`], one atomic statement), so attempts sent in parallel, to one node or
//! to several sharing the database, cannot get more guesses checked than that. Attempts are
//! counted whether or not an account exists for the identity, and the locked message is the
//! same for both, so the lock-out reveals nothing about which accounts exist. While locked,
//! even the right password is refused and the attempt does not extend the lock.

use medgate_storage::{LockoutPolicy, SigninAttempt, SigninIdentity};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::state::AppState;

/// 5 attempts → 15 minutes; attempts older than a day are forgotten.
pub const POLICY: LockoutPolicy = LockoutPolicy {
    max_failures: 5,
    lock_for: time::Duration::minutes(15),
    forget_after: time::Duration::days(1),
};

fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// An attempt counted and allowed to be checked.
#[must_use = "a failed check must be answered with the lock-out it may have started"]
pub struct Slot {
    locked_if_failed: Option<OffsetDateTime>,
    /// Where the refusal and a lock-out it starts are counted, under the desk's name.
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    desk: medgate_storage::WebSessionKind,
}

impl Slot {
    /// The check failed (nothing more to count): the end of the lock-out this attempt
    /// started, if it was the last one allowed. Counted in the node's metrics (a refusal,
    /// and a lock-out when it started one).
    pub fn failed(self) -> Option<OffsetDateTime> {
        self.metrics.signin_refused(self.desk.as_str(), false);
        if self.locked_if_failed.is_some() {
            self.metrics.signin_locked_out(self.desk.as_str());
        }
        self.locked_if_failed
    }
}

/// What the lock-out says about a new attempt.
pub enum Reserved {
    /// Check the password or code; on success call [`succeeded`].
    Check(Slot),
    /// Locked until then: refuse without checking.
    Locked(OffsetDateTime),
}

/// Counts an attempt of the identity before anything is checked.
pub async fn reserve(state: &AppState, identity: SigninIdentity<'_>) -> Result<Reserved, ApiError> {
    let desk = identity.kind;
    let attempt = state
        .metadata
        .reserve_signin_attempt(identity, POLICY, now())
        .await
        .map_err(|e| ApiError::internal("counting a sign-in attempt", &e))?;
    Ok(match attempt {
        SigninAttempt::Allowed { locked_if_failed } => Reserved::Check(Slot {
            locked_if_failed,
            metrics: state.metrics.clone(),
            desk,
        }),
        SigninAttempt::Locked { until } => {
            state.metrics.signin_refused(desk.as_str(), true);
            Reserved::Locked(until)
        }
    })
}

/// Forgets the attempts after a success (also lifting the lock the last allowed attempt set).
pub async fn succeeded(state: &AppState, identity: SigninIdentity<'_>) -> Result<(), ApiError> {
    state
        .metadata
        .clear_signin_failures(identity)
        .await
        .map_err(|e| ApiError::internal("clearing sign-in failures", &e))
}
