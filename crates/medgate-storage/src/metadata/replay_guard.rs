//! The signature replay guard: remembers each request signature until it expires and refuses
//! a second use of it within that window, atomically on every node sharing the database.

use time::OffsetDateTime;

use super::{now, to_unix, Metadata};
use crate::error::MetadataError;
use crate::values::Sha256Digest;

impl Metadata {
    /// Records the first use of a signature (by the signing key's id and the SHA-256 of the
    /// signature) until `expires_at`. A second use before then is refused with
    /// [`MetadataError::SignatureReplayed`]; after it, the signature counts as new again (its
    /// creation time will be outside the window the server accepts anyway).
    ///
    /// One statement (`INSERT … ON CONFLICT DO UPDATE … WHERE expired`), so two nodes seeing
    /// the same signature at the same moment cannot both accept it.
    pub async fn remember_signature(
        &self,
        key_id: &str,
        signature_hash: &Sha256Digest,
        expires_at: OffsetDateTime,
    ) -> Result<(), MetadataError> {
        let (key, hash) = (key_id.to_owned(), signature_hash.to_hex());
        let (expires_at, now) = (to_unix(expires_at), to_unix(now()));
        let changed = self
            .writer
            .write_sql("check a signature for replay", move |mut sql| {
                Box::pin(async move {
                    sql.execute(
                        "check a signature for replay",
                        "INSERT INTO signature_replay_guard (key_id, signature_hash, expires_at) \
                         VALUES ($1, $2, $3) \
                         ON CONFLICT (key_id, signature_hash) DO UPDATE SET expires_at = excluded.expires_at \
                         WHERE signature_replay_guard.expires_at <= $4",
                        vec![key.into(), hash.into(), expires_at.into(), now.into()],
                    )
                    .await
                })
            })
            .await?;
        if changed == 0 {
            return Err(MetadataError::SignatureReplayed {
                key_id: key_id.to_owned(),
            });
        }
        Ok(())
    }

    /// Forgets signatures whose window has passed; returns how many.
    pub async fn purge_expired_signatures(&self) -> Result<u64, MetadataError> {
        let (purged, _) = self
            .write_one(
                "purge expired signatures",
                "DELETE FROM signature_replay_guard WHERE expires_at <= $1",
                vec![to_unix(now()).into()],
            )
            .await?;
        Ok(purged)
    }
}
