//! The audit log: append-only, tamper-evident through a SHA-256 hash chain over the whole
//! deployment, with verification that names the first entry that was altered, removed or
//! reordered.
//!
//! Each entry's hash is SHA-256 over a canonical encoding of its fields and the previous
//! entry's hash (see [`AuditEntry::computed_hash`]); the first entry's previous hash is 32 zero
//! bytes. There are two encodings, told apart by the version label they begin with:
//!
//! - `medgate-audit-v1`: entries without a patient (all entries written before the patient
//!   column existed are of this kind, so existing chains still verify);
//! - `medgate-audit-v2`: entries with a patient; the same fields as v1 and then the patient
//!   as length-prefixed text, before the previous hash.
//!
//! The label is chosen by whether the entry has a patient, so setting or clearing the patient
//! of a stored entry changes the encoding and is detected like any other alteration.
//!
//! The patient is the patient identifier's value alone (e.g. the PESEL), without its assigning
//! authority's OID: the value a patient's access log is looked up by. The
//! chain head row (last sequence number and hash) is read with a row lock by every append, so
//! concurrent appenders, on one node or many, take turns and the chain stays linear; the head
//! also lets verification notice entries removed from the end.
//!
//! Rows the node did not write ("foreign" rows: inserted past the chain head, or between
//! chain entries) are not part of the chain. An append never builds on them: it links to the
//! chain head and takes a sequence number past the highest row, so a foreign row neither
//! blocks appends nor is adopted, and it says so once in an `error!` log line. Verification
//! reads every row and names the foreign ones (see [`Metadata::verify_audit_against`]).
//!
//! The chain makes changes evident, not impossible: whoever can rewrite the database can
//! recompute every hash after the entry they changed, truncate the tail and move the head.
//! Signed checkpoints of the head kept outside the database ([`AuditAnchor`], written by the
//! server) catch that: verification against one reports a chain that no longer reaches the
//! checkpoint's entry, or reaches it with another hash.

use std::fmt;
use std::net::IpAddr;

use aws_lc_rs::digest;
use medgate_ids::TenantId;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::sql::Sql;
use super::{
    column, from_unix, now, optional_parsed_column, parsed_column, to_i64, to_u64, to_unix,
    DatabaseBackend, Metadata,
};
use crate::error::MetadataError;
use crate::values::Sha256Digest;

mod verify;

/// Where an audited action came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditOrigin {
    /// The command line on the server itself.
    Cli,
    /// A network client at this address.
    Address(IpAddr),
}

impl fmt::Display for AuditOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditOrigin::Cli => f.write_str("cli"),
            AuditOrigin::Address(address) => write!(f, "{address}"),
        }
    }
}

impl AuditOrigin {
    fn parse(text: &str) -> Result<Self, String> {
        if text == "cli" {
            return Ok(AuditOrigin::Cli);
        }
        text.parse()
            .map(AuditOrigin::Address)
            .map_err(|_| format!("'{text}' is neither 'cli' nor an IP address"))
    }
}

/// An entry to append; the store adds the time, sequence number and hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// The tenant concerned; `None` for operator actions on the deployment as a whole.
    pub tenant: Option<TenantId>,
    /// Who acted: a certificate subject, a user name, `operator`…
    pub actor: String,
    /// What was done, e.g. `document.delete`.
    pub action: String,
    /// What it was done to, e.g. a document id.
    pub target: String,
    pub origin: AuditOrigin,
    /// Free text with anything else worth keeping. Never secrets.
    pub details: String,
    /// The patient the action concerns (the identifier value, e.g. the PESEL), if any: a
    /// read of one of their documents, a search by their identifier, a consent for them.
    pub patient: Option<String>,
}

/// Who acts for an account: a clinic system known by its certificate, or a staff member
/// signed in to a desk. The domain writes each action's audit entry with it, so an action
/// taken through the API and through a page is recorded the same way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The account acted for.
    pub tenant: TenantId,
    /// What the audit log names as the actor: a certificate subject, `admin:<login>`…
    pub name: String,
    /// Where the request came from.
    pub origin: AuditOrigin,
}

impl Actor {
    /// The audit entry of `action` on `target` by this actor; `patient` is the identifier's
    /// value alone (see [`NewAuditEntry::patient`]).
    pub fn entry(
        &self,
        action: &str,
        target: &str,
        patient: Option<&str>,
        details: String,
    ) -> NewAuditEntry {
        NewAuditEntry {
            tenant: Some(self.tenant.clone()),
            actor: self.name.clone(),
            action: action.to_owned(),
            target: target.to_owned(),
            origin: self.origin,
            details,
            patient: patient.map(str::to_owned),
        }
    }
}

/// A stored audit entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// 1 for the first entry, then one more for each.
    pub seq: u64,
    pub at: OffsetDateTime,
    pub tenant: Option<TenantId>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub origin: AuditOrigin,
    pub details: String,
    /// The patient the action concerns, if any (see [`NewAuditEntry::patient`]).
    pub patient: Option<String>,
    pub prev_hash: Sha256Digest,
    pub hash: Sha256Digest,
}

/// What is wrong with the chain at the entry verification stopped at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditFault {
    /// The entry's fields no longer give its stored hash: it was changed.
    ContentAltered,
    /// The entry's previous-hash link does not match the entry before it: entries were
    /// reordered, replaced or inserted.
    ChainBroken,
    /// There is no entry with this sequence number although later ones exist (or the chain
    /// head says it was written): it was removed.
    Missing,
    /// The chain head records a different last entry than the log ends with.
    HeadMismatch,
    /// A signed checkpoint records this entry, but the chain ends before it (at `chain_end`):
    /// entries were removed from the end and the head moved back.
    Truncated { chain_end: u64 },
    /// A signed checkpoint records this entry with another hash (or the chain skips it):
    /// the chain up to it was rewritten.
    CheckpointMismatch,
}

impl fmt::Display for AuditFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuditFault::ContentAltered => "entry altered: its hash does not match its fields",
            AuditFault::ChainBroken => {
                "chain broken: the previous-hash link does not match the entry before (reordered, replaced or inserted)"
            }
            AuditFault::Missing => "entry missing: removed from the log",
            AuditFault::HeadMismatch => "chain head does not match the last entry",
            AuditFault::Truncated { chain_end } => {
                return write!(
                    f,
                    "entry missing: a signed checkpoint records it, but the chain ends at entry \
                     {chain_end} (entries removed from the end)"
                )
            }
            AuditFault::CheckpointMismatch => {
                "entry rewritten: a signed checkpoint records it with another hash"
            }
        })
    }
}

/// The first problem verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditProblem {
    pub seq: u64,
    pub fault: AuditFault,
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit entry {}: {}", self.seq, self.fault)
    }
}

/// The outcome of [`Metadata::verify_audit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditVerification {
    /// Entries whose hash and link were checked and found intact.
    pub entries_verified: u64,
    /// The first problem, or `None` if the whole chain is intact.
    pub problem: Option<AuditProblem>,
    /// Sequence numbers of rows that are not part of the chain (see [`Metadata::verify_audit_against`]),
    /// ascending, at most [`FOREIGN_ROWS_LISTED`] of them.
    pub foreign_rows: Vec<i64>,
    /// How many such rows there are in all.
    pub foreign_row_count: u64,
}

impl AuditVerification {
    /// True when the chain is intact and every row of the log belongs to it.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none() && self.foreign_row_count == 0
    }
}

/// How many foreign rows a verification lists by sequence number (it counts them all).
pub const FOREIGN_ROWS_LISTED: usize = 100;

/// The chain head: the sequence number and hash of the last entry (0 and zeros when empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: Sha256Digest,
}

/// A chain position recorded outside the database (a signed checkpoint): the entry `seq`
/// had hash `hash`. Verification against it reports a chain that ends before `seq` or whose
/// entry `seq` has another hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditAnchor {
    pub seq: u64,
    pub hash: Sha256Digest,
}

/// The previous hash of the first entry.
const GENESIS: Sha256Digest = Sha256Digest::ZERO;

impl AuditEntry {
    /// SHA-256 over the canonical encoding of the entry: a version label
    /// (`medgate-audit-v1\0` without a patient, `medgate-audit-v2\0` with one), then every
    /// field in a fixed order — seq and time as 8 bytes big-endian, text as a 4-byte
    /// big-endian length and its UTF-8 bytes, the optional tenant as a 0 byte (absent) or a 1
    /// byte and the text, then actor, action, target, origin, details, and in v2 the
    /// patient — and last the previous entry's hash as 32 raw bytes. The lengths and the
    /// label make the encoding unambiguous: no two different entries encode to the same
    /// bytes. An intact entry's `hash` equals this.
    pub fn computed_hash(&self) -> Sha256Digest {
        fn text(context: &mut digest::Context, value: &str) {
            let length = u32::try_from(value.len()).unwrap_or(u32::MAX);
            context.update(&length.to_be_bytes());
            context.update(value.as_bytes());
        }
        let mut context = digest::Context::new(&digest::SHA256);
        context.update(match self.patient {
            None => b"medgate-audit-v1\0",
            Some(_) => b"medgate-audit-v2\0",
        });
        context.update(&self.seq.to_be_bytes());
        context.update(&self.at.unix_timestamp().to_be_bytes());
        match &self.tenant {
            None => context.update(&[0]),
            Some(tenant) => {
                context.update(&[1]);
                text(&mut context, tenant.as_str());
            }
        }
        text(&mut context, &self.actor);
        text(&mut context, &self.action);
        text(&mut context, &self.target);
        text(&mut context, &self.origin.to_string());
        text(&mut context, &self.details);
        if let Some(patient) = &self.patient {
            text(&mut context, patient);
        }
        context.update(self.prev_hash.as_bytes());
        let computed = context.finish();
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(computed.as_ref());
        Sha256Digest::from_bytes(bytes)
    }
}

const AUDIT_COLUMNS: &str =
    "seq, at, tenant_id, actor, action, target, origin, details, patient, prev_hash, hash";

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry, MetadataError> {
    Ok(AuditEntry {
        seq: to_u64("seq", column(row, "seq")?)?,
        at: from_unix("at", column(row, "at")?)?,
        tenant: optional_parsed_column(row, "tenant_id", TenantId::parse)?,
        actor: column(row, "actor")?,
        action: column(row, "action")?,
        target: column(row, "target")?,
        origin: parsed_column(row, "origin", AuditOrigin::parse)?,
        details: column(row, "details")?,
        patient: column(row, "patient")?,
        prev_hash: parsed_column(row, "prev_hash", Sha256Digest::parse_hex)?,
        hash: parsed_column(row, "hash", Sha256Digest::parse_hex)?,
    })
}

/// Reads a text column of a row that may have been written by someone else: anything that
/// does not decode as text reads as empty (and then matches no hash).
fn lenient_text(row: &AnyRow, name: &'static str) -> String {
    row.try_get::<String, _>(name).unwrap_or_default()
}

/// Reads the rows of a listing, leaving out (with a warning) rows that cannot be read: a row
/// written behind the node's back must not make the listing fail. Verification names them.
fn readable_entries(rows: &[AnyRow]) -> Vec<AuditEntry> {
    rows.iter()
        .filter_map(|row| match entry_from_row(row) {
            Ok(entry) => Some(entry),
            Err(error) => {
                let seq = row
                    .try_get::<i64, _>("seq")
                    .map_or_else(|_| "?".to_owned(), |seq| seq.to_string());
                tracing::warn!(%seq, %error, "unreadable audit row left out of a listing; run `medgate audit verify`");
                None
            }
        })
        .collect()
}

/// One page of a tenant's audit entries, newest first (`$1` tenant, `$2` the `seq` bound,
/// then `$3` the patient when `by_patient`, then the limit); by patient, driven by
/// `audit_log_by_patient`.
pub(crate) fn audit_page_sql(by_patient: bool) -> String {
    let (patient_clause, limit_param) = if by_patient {
        (" AND patient = $3", "$4")
    } else {
        ("", "$3")
    };
    format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = $1 AND seq < $2\
         {patient_clause} ORDER BY seq DESC LIMIT {limit_param}"
    )
}

impl Metadata {
    /// The chain head: the last entry's sequence number and hash.
    pub async fn audit_head(&self) -> Result<AuditHead, MetadataError> {
        let head = sqlx::query("SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1")
            .fetch_one(self.pool())
            .await
            .map_err(MetadataError::database("read the audit chain head"))?;
        Ok(AuditHead {
            seq: to_u64("last_seq", column(&head, "last_seq")?)?,
            hash: parsed_column(&head, "last_hash", Sha256Digest::parse_hex)?,
        })
    }

    /// Appends an entry to the chain. Appends are serialised by a lock on the chain head, so
    /// concurrent writers (threads or nodes) keep one valid chain.
    ///
    /// The entry links to the chain head. Its sequence number is one past the highest row in
    /// the table, normally the head's plus one; when rows the node did not write lie past the
    /// head, they are skipped — not linked to, so not adopted — and an `error!` log line names
    /// them. The head then moves past them, so that line appears once per such intrusion.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, MetadataError> {
        let backend = self.backend;
        let entry = entry.clone();
        self.writer
            .write_sql("append to the audit log", move |mut sql| {
                Box::pin(async move { append_audit_on(&mut sql, backend, &entry).await })
            })
            .await
    }

    /// The tenant's most recent audit entries, newest first.
    pub async fn list_audit(
        &self,
        tenant: &TenantId,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, MetadataError> {
        self.list_audit_page(tenant, None, None, limit).await
    }

    /// One page of the tenant's audit entries, newest first: only those concerning `patient`
    /// (an identifier value, see [`NewAuditEntry::patient`]) if given, only those with a
    /// sequence number below `before` if given (the `seq` of the last entry of the previous
    /// page), at most `limit`.
    pub async fn list_audit_page(
        &self,
        tenant: &TenantId,
        patient: Option<&str>,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, MetadataError> {
        let before = match before {
            Some(before) => to_i64("before", before)?,
            None => i64::MAX,
        };
        let sql = audit_page_sql(patient.is_some());
        let mut query = sqlx::query(&sql).bind(tenant.as_str()).bind(before);
        if let Some(patient) = patient {
            query = query.bind(patient);
        }
        let rows = query
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list audit entries"))?;
        Ok(readable_entries(&rows))
    }

    /// The most recent audit entries of the whole deployment, newest first (operator view).
    pub async fn list_audit_all(&self, limit: u32) -> Result<Vec<AuditEntry>, MetadataError> {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT $1");
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list audit entries"))?;
        Ok(readable_entries(&rows))
    }
}

/// [`Metadata::append_audit`] on the writer's connection, inside its batch transaction (see
/// [`super::writer`]); also used by writes that audit in the same transaction.
pub(crate) async fn append_audit_on(
    sql: &mut Sql<'_>,
    backend: DatabaseBackend,
    entry: &NewAuditEntry,
) -> Result<AuditEntry, MetadataError> {
    const OPERATION: &str = "append to the audit log";
    let head_sql = format!(
        "SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1{}",
        backend.row_lock()
    );
    let head = sql.fetch_one(OPERATION, &head_sql, Vec::new()).await?;
    let last_seq = head.int("last_seq")?;
    let prev_hash = Sha256Digest::parse_hex(&head.text("last_hash")?)
        .map_err(|error| MetadataError::corrupt("last_hash", error))?;

    let highest = sql
        .fetch_one(
            OPERATION,
            "SELECT MAX(seq) AS highest FROM audit_log",
            Vec::new(),
        )
        .await?
        .optional_int("highest")?;
    let next = match highest {
        Some(highest) if highest > last_seq => match highest.checked_add(1) {
            Some(next) => next,
            // A row at the largest number there is: take the first free number after
            // the head instead.
            None => {
                let free = sql
                    .fetch_one(
                        OPERATION,
                        "SELECT MIN(a.seq) AS seq FROM audit_log a WHERE a.seq >= $1 \
                         AND a.seq < 9223372036854775807 \
                         AND NOT EXISTS (SELECT 1 FROM audit_log b WHERE b.seq = a.seq + 1)",
                        vec![last_seq.max(1).into()],
                    )
                    .await?;
                let occupied = sql
                    .fetch_optional(
                        OPERATION,
                        "SELECT seq FROM audit_log WHERE seq = $1",
                        vec![(last_seq + 1).into()],
                    )
                    .await?;
                match (occupied, free.optional_int("seq")?) {
                    (None, _) => last_seq + 1,
                    (Some(_), Some(seq)) => seq + 1,
                    (Some(_), None) => {
                        return Err(MetadataError::corrupt(
                            "seq",
                            "the audit log has no free sequence number left",
                        ))
                    }
                }
            }
        },
        _ => last_seq + 1,
    };
    if next != last_seq + 1 {
        tracing::error!(
            head = last_seq,
            first_foreign_seq = last_seq + 1,
            last_foreign_seq = next - 1,
            new_seq = next,
            "the audit log holds rows past its chain head that this node did not write \
                 (seq {} to {}); they are not part of the chain: the new entry links to entry \
                 {last_seq} and takes seq {next}. Run `medgate audit verify`",
            last_seq + 1,
            next - 1
        );
    }

    let mut stored = AuditEntry {
        seq: to_u64("seq", next)?,
        at: now(),
        tenant: entry.tenant.clone(),
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        target: entry.target.clone(),
        origin: entry.origin,
        details: entry.details.clone(),
        patient: entry.patient.clone(),
        prev_hash,
        hash: GENESIS,
    };
    stored.hash = stored.computed_hash();

    sql.execute(
        OPERATION,
        "INSERT INTO audit_log (seq, at, tenant_id, actor, action, target, origin, details, \
             patient, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        vec![
            next.into(),
            to_unix(stored.at).into(),
            stored.tenant.as_ref().map(TenantId::as_str).into(),
            stored.actor.as_str().into(),
            stored.action.as_str().into(),
            stored.target.as_str().into(),
            stored.origin.to_string().into(),
            stored.details.as_str().into(),
            stored.patient.as_deref().into(),
            stored.prev_hash.to_hex().into(),
            stored.hash.to_hex().into(),
        ],
    )
    .await?;
    sql.execute(
        OPERATION,
        "UPDATE audit_chain_head SET last_seq = $1, last_hash = $2 WHERE id = 1",
        vec![next.into(), stored.hash.to_hex().into()],
    )
    .await?;
    Ok(stored)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    /// The encodings are pinned to hashes computed independently (Python's hashlib over the
    /// bytes the module documentation describes), so a change that would stop existing
    /// chains from verifying fails here.
    #[test]
    fn encodings_are_pinned() {
        let mut entry = AuditEntry {
            seq: 7,
            at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            tenant: Some(TenantId::parse("0000000000005010").unwrap()),
            actor: "CN=0000000000005010 TLS".to_owned(),
            action: "document.read".to_owned(),
            target: "2.16.840.1.113883.3.4424.2.7.26.7.1^0001".to_owned(),
            origin: AuditOrigin::Address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))),
            details: "{\"size\":1234}".to_owned(),
            patient: None,
            prev_hash: Sha256Digest::from_bytes([0xab; 32]),
            hash: GENESIS,
        };
        assert_eq!(
            entry.computed_hash().to_hex(),
            "9840328dcd7c26e2c119199bb2e0206ba418a88fb77e1046a08ce625aa6073de"
        );
        entry.patient = Some("44051401359".to_owned());
        assert_eq!(
            entry.computed_hash().to_hex(),
            "b63e8f0dbc8c23ee216db7982cd65910e9dd0e2139532ead17f0f6ddae92efe4"
        );
    }
}
