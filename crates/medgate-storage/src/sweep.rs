//! The orphan sweep: removes content objects that no document metadata refers to, the
//! leftovers of a crash between storing content and committing its metadata, and the
//! temporary files a crash left in the content store.

use std::time::Duration;

use crate::content::ContentStore;
use crate::error::SweepError;
use crate::metadata::Metadata;

/// What a sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Objects in the content store.
    pub examined: u64,
    /// Objects no document refers to that were old enough and were removed.
    pub removed: u64,
    /// Objects no document refers to yet that are younger than the grace period: possibly an
    /// upload in flight, left alone.
    pub too_recent: u64,
    /// Temporary files a crash left behind, older than the grace period, that were removed.
    pub partials_removed: u64,
}

/// Removes every content object older than `grace_period` (by its own write time) that no
/// document refers to, and the store's temporary files older than that. The server runs it
/// in the background, periodically. The grace period protects uploads in flight on other
/// nodes (content stored, metadata not yet committed); a few minutes is plenty.
pub async fn sweep_orphans(
    metadata: &Metadata,
    content: &dyn ContentStore,
    grace_period: Duration,
) -> Result<SweepReport, SweepError> {
    if content.removals_held() {
        // A backup is reading the content: nothing is removed until it ends.
        tracing::info!(
            "a backup holds the content folder: the orphan sweep waits for the next round"
        );
        return Ok(SweepReport::default());
    }
    let cutoff = time::OffsetDateTime::now_utc() - grace_period;
    let mut report = SweepReport {
        partials_removed: content.remove_stale_partials(grace_period).await?,
        ..SweepReport::default()
    };
    for object in content.list().await? {
        report.examined += 1;
        if metadata.content_key_in_use(&object.key).await? {
            continue;
        }
        if object.modified_at > cutoff {
            report.too_recent += 1;
            continue;
        }
        // Checked again right before deleting: a slow upload may have committed since.
        if metadata.content_key_in_use(&object.key).await? {
            continue;
        }
        tracing::info!(key = %object.key, "removing orphan content");
        content.delete(&object.key).await?;
        report.removed += 1;
    }
    Ok(report)
}
