//! Revocation and expiry, enforced from the next request on, on every node.
//!
//! The operator revokes in the CA folder (`medgate ca revoke`). Each node keeps the set of
//! revoked serials in memory ([`Revocations`]) and checks every certificate it relies on
//! against it and against the certificate's dates on every request: the TLS client
//! certificate of each request (also on a kept-alive connection or a resumed TLS session,
//! where no new handshake happens), the WSS certificate that signed a write, the national
//! certificates a registry checks. New handshakes are refused too.
//!
//! How a revocation reaches every node within a second: a task on each node ([`spawn`])
//! looks four times a second at
//! - the CA folder's index (one `stat`): a revocation written there is copied into the
//!   database (`certificate_revocations`), and one recorded in the database by another node
//!   is written into this node's CA folder, whose CRL (`DATA/ca/crl.pem`) is then re-issued;
//! - the database's revocation generation (one indexed query): when it changed, the set is
//!   reloaded.
//!
//! It then records what it applied (`node_revocation_status`), which is how `medgate ca
//! revoke` tells the operator that the revocation took effect. A node that has not been able
//! to read the database for [`STALE_AFTER`] refuses every certificate rather than trust a set
//! that may be out of date.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use medgate_pki::ca::{CertificateAuthority, RevocationReason};
use medgate_pki::CertificateSummary;
use medgate_storage::{normalize_serial_hex, Metadata, RecordedRevocation, RevocationGeneration};
use time::OffsetDateTime;

use crate::error::ApiError;

/// How often a node looks for new revocations.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How old the node's view of the revocations may get (the database not answering) before it
/// refuses certificates.
pub const STALE_AFTER: Duration = Duration::from_secs(3);
/// How often a node says it is alive even when nothing changed.
const ACKNOWLEDGE_EVERY: Duration = Duration::from_secs(2);

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

    /// `Err(age)` when the set was not refreshed for [`STALE_AFTER`] (or never).
    pub fn fresh(&self) -> Result<(), Option<Duration>> {
        match self.read().refreshed_at {
            Some(at) if at.elapsed() <= STALE_AFTER => Ok(()),
            Some(at) => Err(Some(at.elapsed())),
            None => Err(None),
        }
    }

    fn replace(&self, generation: RevocationGeneration, recorded: Vec<RecordedRevocation>) {
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

    fn touch(&self) {
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
                    crate::routes::rfc3339(revoked.revoked_at),
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
                    crate::routes::rfc3339(not_after)
                ),
            ));
        }
        if now < not_before {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "certificate_not_yet_valid",
                format!(
                    "{what} {serial} is valid from {}.",
                    crate::routes::rfc3339(not_before)
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

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("database: {0}")]
    Database(#[from] medgate_storage::MetadataError),
    #[error("CA folder: {0}")]
    Ca(#[from] medgate_pki::PkiError),
}

/// What the refresher remembers between rounds.
#[derive(Debug, Default)]
pub struct Refresher {
    /// Modification time and length of the CA folder's index when it was last read.
    index_stamp: Option<(SystemTime, u64)>,
    acknowledged: Option<(i64, Instant)>,
}

fn index_stamp(ca: &CertificateAuthority) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(ca.folder().index_path()).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

impl Refresher {
    /// One round: CA folder → database, database → memory (and → CA folder and CRL when the
    /// set changed), then the acknowledgement.
    pub async fn refresh(
        &mut self,
        metadata: &Metadata,
        ca: &CertificateAuthority,
        revocations: &Revocations,
    ) -> Result<(), RefreshError> {
        let stamp = index_stamp(ca);
        if stamp != self.index_stamp {
            for record in ca.issued()? {
                if let Some(revocation) = &record.revocation {
                    let (_, new) = metadata
                        .record_revocation(&record.serial_hex, revocation.reason.name(), revocation.at)
                        .await?;
                    if new {
                        tracing::warn!(serial = %record.serial_hex, subject = %record.subject, "certificate revoked in the CA folder; recorded for every node");
                    }
                }
            }
            self.index_stamp = stamp;
        }
        let generation = metadata.revocation_generation().await?;
        if generation != revocations.generation() {
            let recorded = metadata.revoked_serials().await?;
            let changed = sync_ca_folder(ca, &recorded);
            tracing::info!(
                revoked = generation.count,
                generation = generation.highest_seq,
                "certificate revocations applied"
            );
            revocations.replace(generation, recorded);
            if changed {
                self.index_stamp = index_stamp(ca);
            }
            if let Err(error) = publish_crl(ca) {
                tracing::warn!(%error, "could not re-issue the CRL after a revocation");
            }
        } else {
            revocations.touch();
        }
        let due = match self.acknowledged {
            Some((seq, at)) => seq != generation.highest_seq || at.elapsed() >= ACKNOWLEDGE_EVERY,
            None => true,
        };
        if due {
            metadata
                .acknowledge_revocations(revocations.node_id(), generation.highest_seq)
                .await?;
            self.acknowledged = Some((generation.highest_seq, Instant::now()));
        }
        Ok(())
    }
}

/// Writes into this node's CA folder the revocations another node recorded, so that its CRL
/// and `medgate ca list` agree with the database. Returns whether the folder changed.
fn sync_ca_folder(ca: &CertificateAuthority, recorded: &[RecordedRevocation]) -> bool {
    let Ok(records) = ca.issued() else {
        return false;
    };
    let mut changed = false;
    for revocation in recorded {
        let serial = normalize_serial_hex(&revocation.serial_hex);
        let known_unrevoked = records
            .iter()
            .any(|r| !r.is_revoked() && normalize_serial_hex(&r.serial_hex) == serial);
        if !known_unrevoked {
            continue;
        }
        let reason = RevocationReason::parse(&revocation.reason).unwrap_or(RevocationReason::Unspecified);
        match ca.revoke(&revocation.serial_hex, reason) {
            Ok(_) => changed = true,
            Err(error) => tracing::warn!(%error, serial, "could not record a revocation in the CA folder"),
        }
    }
    changed
}

/// How long a CRL the node publishes stays valid before the next one is due.
pub const CRL_VALIDITY: time::Duration = time::Duration::days(7);

/// Writes a fresh CRL to `DATA/ca/crl.pem`.
pub fn publish_crl(ca: &CertificateAuthority) -> Result<Vec<u8>, medgate_pki::PkiError> {
    let crl = ca.crl(OffsetDateTime::now_utc() + CRL_VALIDITY)?;
    medgate_pki::files::write(
        &ca.dir().join("crl.pem"),
        crl.to_pem().as_bytes(),
        medgate_pki::files::WriteMode::Replace,
        medgate_pki::files::Visibility::Public,
    )?;
    Ok(crl.der)
}

/// Runs [`Refresher::refresh`] every [`POLL_INTERVAL`] for as long as the node runs. A
/// failed round is logged once until a round succeeds again; certificates are refused once
/// the set is older than [`STALE_AFTER`].
pub fn spawn(
    metadata: Metadata,
    ca: Arc<CertificateAuthority>,
    revocations: Arc<Revocations>,
    mut refresher: Refresher,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            tokio::time::sleep(POLL_INTERVAL).await;
            match refresher.refresh(&metadata, &ca, &revocations).await {
                Ok(()) if failing => {
                    tracing::warn!("certificate revocations readable again");
                    failing = false;
                }
                Ok(()) => {}
                Err(error) if !failing => {
                    tracing::error!(%error, "cannot read certificate revocations; certificates will be refused after {} s", STALE_AFTER.as_secs());
                    failing = true;
                }
                Err(_) => {}
            }
        }
    })
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
