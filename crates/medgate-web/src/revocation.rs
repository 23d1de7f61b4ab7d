//! The certificate revocations a node enforces, checked on every request: the TLS client
//! certificate of each request (also on a kept-alive connection or a resumed TLS session,
//! where no new handshake happens), the WSS certificate that signed a write, the national
//! certificates a registry checks. The set is kept fresh by the host's refresher (the
//! server's `revocation` task, which reads the database four times a second); a set that was
//! not refreshed for [`STALE_AFTER`] refuses every certificate rather than trust data that may
//! be out of date.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use medgate_pki::CertificateSummary;
use medgate_storage::{normalize_serial_hex, RecordedRevocation, RevocationGeneration};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::rfc3339;

/// How old the node's view of the revocations may get (the database not answering) before it
/// refuses certificates.
pub const STALE_AFTER: Duration = Duration::from_secs(3);


/// A revoked certificate as the node knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    pub reason: String,
    pub revoked_at: OffsetDateTime,
}

#[derive(Debug, Default)]
struct Snapshot {
    serials: HashMap<String, Revoked>,
    generation: RevocationGeneration,
    refreshed_at: Option<Instant>,
}

/// The revocations this node enforces (cheap to check: a hash lookup under a read lock).
#[derive(Debug)]
pub struct Revocations {
    snapshot: RwLock<Snapshot>,
    node_id: String,
}

impl Revocations {
    /// An empty set that is not fresh yet: certificates are refused until the first
    /// [`refresh`].
    pub fn new() -> Self {
        let mut random = [0u8; 8];
        let _ = aws_lc_rs::rand::fill(&mut random);
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        let node_id = format!(
            "{}{}pid {} {}",
            host,
            if host.is_empty() { "" } else { " " },
            std::process::id(),
            hex::encode(random)
        );
        Revocations {
            snapshot: RwLock::new(Snapshot::default()),
            node_id,
        }
    }

    /// How this node names itself in `node_revocation_status`.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.snapshot.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Snapshot> {
        self.snapshot.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The revocation of `serial_hex`, if it is revoked.
    pub fn revoked(&self, serial_hex: &str) -> Option<Revoked> {
        self.read().serials.get(&normalize_serial_hex(serial_hex)).cloned()
    }

    /// The generation of the set this node enforces.
    pub fn generation(&self) -> RevocationGeneration {
        self.read().generation
    }

    /// Time since the set was last refreshed (`None`: never).
    pub fn age(&self) -> Option<Duration> {
        self.read().refreshed_at.map(|at| at.elapsed())
    }

    /// `Err(age)` when the set was not refreshed for [`STALE_AFTER`] (or never).
    pub fn fresh(&self) -> Result<(), Option<Duration>> {
        match self.read().refreshed_at {
            Some(at) if at.elapsed() <= STALE_AFTER => Ok(()),
            Some(at) => Err(Some(at.elapsed())),
            None => Err(None),
        }
    }

    pub fn replace(&self, generation: RevocationGeneration, recorded: Vec<RecordedRevocation>) {
        let serials = recorded
            .into_iter()
            .map(|r| {
                (
                    normalize_serial_hex(&r.serial_hex),
                    Revoked {
                        reason: r.reason,
                        revoked_at: r.revoked_at,
                    },
                )
            })
            .collect();
        let mut snapshot = self.write();
        snapshot.serials = serials;
        snapshot.generation = generation;
        snapshot.refreshed_at = Some(Instant::now());
    }

    pub fn touch(&self) {
        self.write().refreshed_at = Some(Instant::now());
    }

    /// Checks a certificate the node is about to rely on, now: not revoked, within its
    /// validity, and the node's knowledge of revocations fresh. `what` names the certificate
    /// in the refusal, e.g. "The TLS client certificate".
    pub fn check(&self, summary: &CertificateSummary, what: &str) -> Result<(), ApiError> {
        self.check_dates(&summary.serial_hex, summary.not_before, summary.not_after, what)
    }

    /// [`Revocations::check`] for a certificate known by its serial and validity.
    pub fn check_dates(
        &self,
        serial: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        what: &str,
    ) -> Result<(), ApiError> {
        if let Err(age) = self.fresh() {
            let since = age.map_or_else(
                || "since it started".to_owned(),
                |age| format!("for {} s", age.as_secs()),
            );
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "revocation_data_stale",
                format!(
                    "This node could not read the current certificate revocations from its database {since}, so it trusts no certificate now; try again shortly."
                ),
            ));
        }
        if let Some(revoked) = self.revoked(serial) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "certificate_revoked",
                format!(
                    "{what} {serial} was revoked on {} (reason: {}); it opens nothing any more. Ask for a new certificate.",
                    rfc3339(revoked.revoked_at),
                    revoked.reason
                ),
            ));
        }
        let now = OffsetDateTime::now_utc();
        if now > not_after {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "certificate_expired",
                format!(
                    "{what} {serial} expired at {}; renew it (a new CSR signed by the CA) and register the new certificate.",
                    rfc3339(not_after)
                ),
            ));
        }
        if now < not_before {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "certificate_not_yet_valid",
                format!(
                    "{what} {serial} is valid from {}.",
                    rfc3339(not_before)
                ),
            ));
        }
        Ok(())
    }
}

impl Default for Revocations {
    fn default() -> Self {
        Self::new()
    }
}


#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_fresh_set_refuses_revoked_expired_and_future_certificates() {
        let revocations = Revocations::new();
        let now = OffsetDateTime::now_utc();
        let day = time::Duration::days(1);
        let check = |revocations: &Revocations, not_before, not_after, what| {
            revocations.check_dates("0ABC", not_before, not_after, what)
        };
        // Never refreshed: nothing is trusted.
        let stale = check(&revocations, now - day, now + day, "The certificate").unwrap_err();
        assert_eq!(stale.code(), "revocation_data_stale");

        revocations.replace(RevocationGeneration::default(), Vec::new());
        assert!(check(&revocations, now - day, now + day, "The certificate").is_ok());

        let expired = check(&revocations, now - day, now - time::Duration::seconds(21), "The certificate");
        assert_eq!(expired.unwrap_err().code(), "certificate_expired");
        let future = check(&revocations, now + time::Duration::hours(1), now + day, "The certificate");
        assert_eq!(future.unwrap_err().code(), "certificate_not_yet_valid");

        revocations.replace(
            RevocationGeneration { count: 1, highest_seq: 1 },
            vec![RecordedRevocation {
                seq: 1,
                serial_hex: "abc".to_owned(),
                reason: "key-compromise".to_owned(),
                revoked_at: now,
            }],
        );
        let refusal = check(&revocations, now - day, now + day, "The TLS client certificate").unwrap_err();
        assert_eq!(refusal.code(), "certificate_revoked");
        assert!(refusal.message().contains("key-compromise"), "{}", refusal.message());
        // Another serial is not affected.
        assert!(revocations.check_dates("0ABD", now - day, now + day, "The certificate").is_ok());
    }
}
