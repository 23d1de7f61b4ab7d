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


use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use time::OffsetDateTime;

use medgate_pki::ca::{CertificateAuthority, RevocationReason};
use medgate_storage::{normalize_serial_hex, Metadata, RecordedRevocation};
pub use medgate_web::revocation::{Revocations, Revoked, STALE_AFTER};

/// How often a node looks for new revocations.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How often a node says it is alive even when nothing changed.
const ACKNOWLEDGE_EVERY: Duration = Duration::from_secs(2);

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
