//! Verifying the audit chain: from the head back to the first entry, then forwards, naming
//! the first entry altered, missing or out of place and every row not part of the chain.

use super::*;

/// How many entries verification reads per query.
const VERIFY_BATCH: i64 = 1000;

impl Metadata {
    /// Walks the whole chain from the first entry and reports the first entry that was
    /// altered, removed or reordered, and every row that is not part of the chain.
    pub async fn verify_audit(&self) -> Result<AuditVerification, MetadataError> {
        self.verify_audit_against(None).await
    }

    /// [`Metadata::verify_audit`], and with an `anchor` (a signed checkpoint) also whether
    /// the chain still reaches the anchored entry with the anchored hash.
    ///
    /// The chain is what the head leads back to: the head's entry, the entry its previous
    /// hash names, and so on to the first. Every other row is foreign — written past the head
    /// or between chain entries by someone other than the node. Verification reads every row
    /// twice: first backwards from the head, following the previous-hash links to find the
    /// foreign rows (a row that is not the next link, when that link exists further down);
    /// then forwards over the chain entries, checking each hash and link and naming the first
    /// entry altered, missing or out of place. A gap in the sequence numbers is only a
    /// missing entry when the link across it is broken: appends skip the numbers of foreign
    /// rows. Where the chain itself is damaged, rows below the damage are judged by the
    /// forward walk alone, and only the foreign rows before the first problem (and all rows
    /// past the head) are listed.
    pub async fn verify_audit_against(
        &self,
        anchor: Option<&AuditAnchor>,
    ) -> Result<AuditVerification, MetadataError> {
        const OPERATION: &str = "verify the audit log";
        // Read the head first: entries appended while verification runs are after it and are
        // simply not checked this time.
        let head = self.audit_head().await?;
        let head_seq = to_i64("last_seq", head.seq)?;
        let genesis_hex = GENESIS.to_hex();

        // Backwards from the head: which rows at or below it are not part of the chain.
        let mut off_chain: Vec<i64> = Vec::new();
        let mut want = head.hash.to_hex();
        let mut cursor = head_seq;
        // Set when the next link was found further down: rows above it are foreign.
        let mut continues_at: Option<i64> = None;
        'backwards: while cursor >= 1 {
            let rows = sqlx::query(
                "SELECT seq, hash, prev_hash FROM audit_log WHERE seq >= 1 AND seq <= $1 \
                 ORDER BY seq DESC LIMIT $2",
            )
            .bind(cursor)
            .bind(VERIFY_BATCH)
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database(OPERATION))?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seq: i64 = column(row, "seq")?;
                cursor = seq - 1;
                if let Some(link) = continues_at {
                    if seq > link {
                        off_chain.push(seq);
                        continue;
                    }
                    continues_at = None;
                }
                if want == genesis_hex {
                    // The chain's first entry is behind us: nothing below belongs to it.
                    off_chain.push(seq);
                    continue;
                }
                if lenient_text(row, "hash").eq_ignore_ascii_case(&want) {
                    want = lenient_text(row, "prev_hash").to_ascii_lowercase();
                    continue;
                }
                let link = sqlx::query(
                    "SELECT seq FROM audit_log WHERE hash = $1 AND seq >= 1 AND seq < $2 \
                     ORDER BY seq DESC LIMIT 1",
                )
                .bind(want.as_str())
                .bind(seq)
                .fetch_optional(self.pool())
                .await
                .map_err(MetadataError::database(OPERATION))?;
                match link {
                    Some(link) => {
                        off_chain.push(seq);
                        continues_at = Some(column(&link, "seq")?);
                    }
                    // The link is nowhere: the chain is damaged here, and the forward walk
                    // names how.
                    None => break 'backwards,
                }
            }
        }
        off_chain.reverse();

        // Forwards over the chain entries.
        let mut prev_hash = GENESIS;
        let mut prev_seq: u64 = 0;
        let mut verified: u64 = 0;
        let mut anchor_hash: Option<Sha256Digest> = None;
        let mut problem: Option<AuditProblem> = None;
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3"
        );
        let mut cursor: i64 = 1;
        'forwards: while cursor <= head_seq {
            let rows = sqlx::query(&sql)
                .bind(cursor)
                .bind(head_seq)
                .bind(VERIFY_BATCH)
                .fetch_all(self.pool())
                .await
                .map_err(MetadataError::database(OPERATION))?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seq: i64 = column(row, "seq")?;
                cursor = seq + 1;
                if off_chain.binary_search(&seq).is_ok() {
                    continue;
                }
                let at = to_u64("seq", seq)?;
                let fault = match entry_from_row(row) {
                    Err(_) => Some(AuditFault::ContentAltered),
                    Ok(entry) => {
                        if entry.seq != prev_seq + 1 && entry.prev_hash != prev_hash {
                            problem = Some(AuditProblem {
                                seq: prev_seq + 1,
                                fault: AuditFault::Missing,
                            });
                            break 'forwards;
                        }
                        if entry.computed_hash() != entry.hash {
                            Some(AuditFault::ContentAltered)
                        } else if entry.prev_hash != prev_hash {
                            Some(AuditFault::ChainBroken)
                        } else {
                            prev_hash = entry.hash;
                            None
                        }
                    }
                };
                if let Some(fault) = fault {
                    problem = Some(AuditProblem { seq: at, fault });
                    break 'forwards;
                }
                prev_seq = at;
                verified += 1;
                if anchor.is_some_and(|anchor| anchor.seq == at) {
                    anchor_hash = Some(prev_hash);
                }
            }
        }
        if problem.is_none() {
            problem = if prev_seq != head.seq {
                // The head says entries up to head.seq were written; they are gone.
                Some(AuditProblem {
                    seq: prev_seq + 1,
                    fault: AuditFault::Missing,
                })
            } else if prev_hash != head.hash {
                Some(AuditProblem {
                    seq: head.seq.max(1),
                    fault: AuditFault::HeadMismatch,
                })
            } else {
                anchor.and_then(|anchor| match anchor_hash {
                    Some(hash) if hash == anchor.hash => None,
                    None if anchor.seq > prev_seq => Some(AuditProblem {
                        seq: anchor.seq,
                        fault: AuditFault::Truncated {
                            chain_end: prev_seq,
                        },
                    }),
                    _ => Some(AuditProblem {
                        seq: anchor.seq,
                        fault: AuditFault::CheckpointMismatch,
                    }),
                })
            };
        }

        // Foreign rows: those found off the chain before the first problem (below it the
        // chain is not trustworthy enough to tell), and every row outside 1..=head.
        if let Some(problem) = &problem {
            let limit = i64::try_from(problem.seq).unwrap_or(i64::MAX);
            off_chain.retain(|&seq| seq < limit);
        }
        let outside = sqlx::query(
            "SELECT seq FROM audit_log WHERE seq > $1 OR seq < 1 ORDER BY seq LIMIT $2",
        )
        .bind(head_seq)
        .bind(i64::try_from(FOREIGN_ROWS_LISTED).unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database(OPERATION))?;
        let outside_count =
            sqlx::query("SELECT COUNT(*) AS rows_outside FROM audit_log WHERE seq > $1 OR seq < 1")
                .bind(head_seq)
                .fetch_one(self.pool())
                .await
                .map_err(MetadataError::database(OPERATION))?;
        let outside_count: i64 = column(&outside_count, "rows_outside")?;
        let mut foreign_rows = off_chain.clone();
        for row in &outside {
            foreign_rows.push(column(row, "seq")?);
        }
        foreign_rows.sort_unstable();
        foreign_rows.truncate(FOREIGN_ROWS_LISTED);
        let foreign_row_count = u64::try_from(off_chain.len()).unwrap_or(u64::MAX)
            + to_u64("rows_outside", outside_count)?;

        Ok(AuditVerification {
            entries_verified: verified,
            problem,
            foreign_rows,
            foreign_row_count,
        })
    }
}
