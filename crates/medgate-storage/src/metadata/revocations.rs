//! Certificate revocations shared by every node of a deployment. The CA folder is where an
//! operator revokes (`medgate ca revoke`); the database is how the revocation reaches every
//! node sharing it, within a second: each node polls [`Metadata::revocation_generation`] (one
//! cheap query), reloads [`Metadata::revoked_serials`] when it changed, and reports what it
//! applied with [`Metadata::acknowledge_revocations`].

use time::OffsetDateTime;

use super::{column, from_unix, now, to_unix, Metadata};
use crate::error::MetadataError;

/// Identifies the set of revocations a node holds: it changes with every new revocation
/// (rows are never removed, so the count and the highest sequence number only grow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevocationGeneration {
    pub count: i64,
    pub highest_seq: i64,
}

/// A revocation as the database records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRevocation {
    pub seq: i64,
    /// Upper-case hex, no separators.
    pub serial_hex: String,
    pub reason: String,
    pub revoked_at: OffsetDateTime,
}

/// What a running node last said it enforces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRevocationStatus {
    pub node_id: String,
    pub applied_seq: i64,
    pub seen_at: OffsetDateTime,
}

/// Serials are compared in one spelling: upper-case hex without separators or leading zeros.
pub fn normalize_serial_hex(serial: &str) -> String {
    let digits: String = serial
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

impl Metadata {
    /// Records that the certificate with `serial_hex` is revoked. Returns the revocation's
    /// sequence number, and whether this call recorded it (`false`: it was already).
    pub async fn record_revocation(
        &self,
        serial_hex: &str,
        reason: &str,
        revoked_at: OffsetDateTime,
    ) -> Result<(i64, bool), MetadataError> {
        let serial = normalize_serial_hex(serial_hex);
        let (inserted, _) = self
            .write_one(
                "record a certificate revocation",
                "INSERT INTO certificate_revocations (serial_hex, reason, revoked_at, recorded_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (serial_hex) DO NOTHING",
                vec![
                    serial.as_str().into(),
                    reason.into(),
                    to_unix(revoked_at).into(),
                    to_unix(now()).into(),
                ],
            )
            .await?;
        let inserted = inserted > 0;
        let row = sqlx::query("SELECT seq FROM certificate_revocations WHERE serial_hex = $1")
            .bind(&serial)
            .fetch_one(self.pool())
            .await
            .map_err(MetadataError::database("read a certificate revocation"))?;
        Ok((column(&row, "seq")?, inserted))
    }

    /// The current generation of the revocation set (one row, read by an index).
    pub async fn revocation_generation(&self) -> Result<RevocationGeneration, MetadataError> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS count, CAST(COALESCE(MAX(seq), 0) AS BIGINT) AS highest \
             FROM certificate_revocations",
        )
        .fetch_one(self.pool())
        .await
        .map_err(MetadataError::database("read the revocation generation"))?;
        Ok(RevocationGeneration {
            count: column(&row, "count")?,
            highest_seq: column(&row, "highest")?,
        })
    }

    /// Every recorded revocation, oldest first.
    pub async fn revoked_serials(&self) -> Result<Vec<RecordedRevocation>, MetadataError> {
        let rows = sqlx::query(
            "SELECT seq, serial_hex, reason, revoked_at FROM certificate_revocations ORDER BY seq",
        )
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("read the certificate revocations"))?;
        rows.iter()
            .map(|row| {
                Ok(RecordedRevocation {
                    seq: column(row, "seq")?,
                    serial_hex: column(row, "serial_hex")?,
                    reason: column(row, "reason")?,
                    revoked_at: from_unix("revoked_at", column(row, "revoked_at")?)?,
                })
            })
            .collect()
    }

    /// A running node says which revocations it enforces now.
    pub async fn acknowledge_revocations(
        &self,
        node_id: &str,
        applied_seq: i64,
    ) -> Result<(), MetadataError> {
        self.write_one(
            "record the revocations a node applied",
            "INSERT INTO node_revocation_status (node_id, applied_seq, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (node_id) DO UPDATE SET applied_seq = excluded.applied_seq, seen_at = excluded.seen_at",
            vec![node_id.into(), applied_seq.into(), to_unix(now()).into()],
        )
        .await?;
        Ok(())
    }

    /// What the nodes last said they enforce, for the nodes heard from since `since`.
    pub async fn node_revocation_status(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<NodeRevocationStatus>, MetadataError> {
        let rows = sqlx::query(
            "SELECT node_id, applied_seq, seen_at FROM node_revocation_status WHERE seen_at >= $1 ORDER BY node_id",
        )
        .bind(to_unix(since))
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("read the nodes' revocation status"))?;
        rows.iter()
            .map(|row| {
                Ok(NodeRevocationStatus {
                    node_id: column(row, "node_id")?,
                    applied_seq: column(row, "applied_seq")?,
                    seen_at: from_unix("seen_at", column(row, "seen_at")?)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_serial_hex;

    #[test]
    fn serials_have_one_spelling() {
        assert_eq!(normalize_serial_hex("0a:bc:Ef"), "ABCEF");
        assert_eq!(normalize_serial_hex("00ABCEF"), "ABCEF");
        assert_eq!(normalize_serial_hex("00"), "0");
    }
}
