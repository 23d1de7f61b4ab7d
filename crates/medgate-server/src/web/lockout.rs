//! The sign-in lock-out: after [`POLICY`]'s 5 failed attempts in a row the identity typed
//! (kind, tenant, principal) is locked for 15 minutes. Failures are counted whether or not an
//! account exists for the identity, and the locked message is the same for both, so the
//! lock-out reveals nothing about which accounts exist. While locked, even the right
//! password is refused and the attempt does not extend the lock.

use medgate_storage::{LockoutPolicy, SigninIdentity};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::state::AppState;

/// 5 failures → 15 minutes; failures older than a day are forgotten.
pub const POLICY: LockoutPolicy = LockoutPolicy {
    max_failures: 5,
    lock_for: time::Duration::minutes(15),
    forget_after: time::Duration::days(1),
};

fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// Until when the identity is locked, if it is now.
pub async fn locked_until(
    state: &AppState,
    identity: SigninIdentity<'_>,
) -> Result<Option<OffsetDateTime>, ApiError> {
    state
        .metadata
        .signin_locked_until(identity, now())
        .await
        .map_err(|e| ApiError::internal("reading sign-in failures", &e))
}

/// Counts a failure; returns the end of the lock-out this failure started, if it did.
pub async fn failed(
    state: &AppState,
    identity: SigninIdentity<'_>,
) -> Result<Option<OffsetDateTime>, ApiError> {
    state
        .metadata
        .record_signin_failure(identity, POLICY, now())
        .await
        .map_err(|e| ApiError::internal("recording a failed sign-in", &e))
}

/// Forgets the failures after a success.
pub async fn succeeded(state: &AppState, identity: SigninIdentity<'_>) -> Result<(), ApiError> {
    state
        .metadata
        .clear_signin_failures(identity)
        .await
        .map_err(|e| ApiError::internal("clearing sign-in failures", &e))
}
