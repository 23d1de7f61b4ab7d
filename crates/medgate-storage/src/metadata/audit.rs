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
//! The chain makes changes evident, not impossible: whoever can rewrite the database can
//! recompute every hash after the entry they changed. Exporting the head hash elsewhere from
//! time to time (a log line, the registry) anchors it.

use std::fmt;
use std::net::IpAddr;

use aws_lc_rs::digest;
use medgate_ids::TenantId;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{
    column, from_unix, now, optional_parsed_column, parsed_column, to_i64, to_u64, to_unix,
    Metadata,
};
use crate::error::MetadataError;
use crate::values::Sha256Digest;

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
}

impl AuditVerification {
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// The previous hash of the first entry.
const GENESIS: Sha256Digest = Sha256Digest::ZERO;

/// How many entries verification reads per query.
const VERIFY_BATCH: i64 = 1000;

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

impl Metadata {
    /// Appends an entry to the chain. Appends are serialised by a lock on the chain head, so
    /// concurrent writers (threads or nodes) keep one valid chain.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, MetadataError> {
        const OPERATION: &str = "append to the audit log";
        let mut transaction = self.begin_write(OPERATION).await?;
        let head_sql = format!(
            "SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1{}",
            self.backend.row_lock()
        );
        let head = sqlx::query(&head_sql)
            .fetch_one(&mut *transaction)
            .await
            .map_err(MetadataError::database(OPERATION))?;
        let last_seq = to_u64("last_seq", column(&head, "last_seq")?)?;
        let prev_hash = parsed_column(&head, "last_hash", Sha256Digest::parse_hex)?;

        let mut stored = AuditEntry {
            seq: last_seq + 1,
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
        let seq = to_i64("seq", stored.seq)?;

        sqlx::query(
            "INSERT INTO audit_log (seq, at, tenant_id, actor, action, target, origin, details, \
             patient, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(seq)
        .bind(to_unix(stored.at))
        .bind(stored.tenant.as_ref().map(TenantId::as_str))
        .bind(stored.actor.as_str())
        .bind(stored.action.as_str())
        .bind(stored.target.as_str())
        .bind(stored.origin.to_string())
        .bind(stored.details.as_str())
        .bind(stored.patient.as_deref())
        .bind(stored.prev_hash.to_hex())
        .bind(stored.hash.to_hex())
        .execute(&mut *transaction)
        .await
        .map_err(MetadataError::database(OPERATION))?;
        sqlx::query("UPDATE audit_chain_head SET last_seq = $1, last_hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(stored.hash.to_hex())
            .execute(&mut *transaction)
            .await
            .map_err(MetadataError::database(OPERATION))?;
        transaction
            .commit()
            .await
            .map_err(MetadataError::database(OPERATION))?;
        Ok(stored)
    }

    /// Walks the whole chain from the first entry and reports the first entry that was
    /// altered, removed or reordered, or that the chain is intact.
    pub async fn verify_audit(&self) -> Result<AuditVerification, MetadataError> {
        const OPERATION: &str = "verify the audit log";
        // Read the head first: entries appended while verification runs are after it and are
        // simply not checked this time.
        let head = sqlx::query("SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1")
            .fetch_one(self.pool())
            .await
            .map_err(MetadataError::database(OPERATION))?;
        let head_seq = to_u64("last_seq", column(&head, "last_seq")?)?;
        let head_hash = parsed_column(&head, "last_hash", Sha256Digest::parse_hex)?;

        let mut expected_seq: u64 = 1;
        let mut prev_hash = GENESIS;
        let broken = |seq: u64, fault| -> Result<AuditVerification, MetadataError> {
            Ok(AuditVerification {
                entries_verified: seq - 1,
                problem: Some(AuditProblem { seq, fault }),
            })
        };
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3"
        );
        while expected_seq <= head_seq {
            let rows = sqlx::query(&sql)
                .bind(to_i64("seq", expected_seq)?)
                .bind(to_i64("seq", head_seq)?)
                .bind(VERIFY_BATCH)
                .fetch_all(self.pool())
                .await
                .map_err(MetadataError::database(OPERATION))?;
            if rows.is_empty() {
                // The head says entries up to head_seq were written; they are gone.
                return broken(expected_seq, AuditFault::Missing);
            }
            for row in &rows {
                let entry = entry_from_row(row)?;
                if entry.seq != expected_seq {
                    return broken(expected_seq, AuditFault::Missing);
                }
                if entry.computed_hash() != entry.hash {
                    return broken(entry.seq, AuditFault::ContentAltered);
                }
                if entry.prev_hash != prev_hash {
                    return broken(entry.seq, AuditFault::ChainBroken);
                }
                prev_hash = entry.hash;
                expected_seq += 1;
            }
        }
        if prev_hash != head_hash {
            return broken(head_seq.max(1), AuditFault::HeadMismatch);
        }
        Ok(AuditVerification {
            entries_verified: head_seq,
            problem: None,
        })
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
        let (patient_clause, limit_param) = match patient {
            Some(_) => (" AND patient = $3", "$4"),
            None => ("", "$3"),
        };
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = $1 AND seq < $2\
             {patient_clause} ORDER BY seq DESC LIMIT {limit_param}"
        );
        let mut query = sqlx::query(&sql).bind(tenant.as_str()).bind(before);
        if let Some(patient) = patient {
            query = query.bind(patient);
        }
        query
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list audit entries"))?
            .iter()
            .map(entry_from_row)
            .collect()
    }

    /// The most recent audit entries of the whole deployment, newest first (operator view).
    pub async fn list_audit_all(&self, limit: u32) -> Result<Vec<AuditEntry>, MetadataError> {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT $1");
        sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list audit entries"))?
            .iter()
            .map(entry_from_row)
            .collect()
    }
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
