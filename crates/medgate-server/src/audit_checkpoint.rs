//! Signed checkpoints of the audit chain head, kept outside the database.
//!
//! The hash chain shows any change to the entries it covers, but whoever can write the
//! database can also drop the newest entries, rewrite the last remaining one with a correct
//! hash and move the chain head back: the shortened chain verifies. A checkpoint anchors the
//! head elsewhere: a small canonical document
//!
//! ```json
//! {"format":"medgate-audit-checkpoint-v1","seq":42,"head":"<64 hex>","at":"2026-01-15T10:00:00Z","node":"https://repo.example.org:8443"}
//! ```
//!
//! (exactly these fields in this order, no spaces) with a detached CMS signature over its
//! bytes ([`medgate_pki::cms::sign_detached`]: SHA-256, signed attributes, the signer's
//! certificate embedded), made with the node's server key `DATA/server/server.key` and its
//! certificate `DATA/server/server.pem`, which the node's CA issued. Both travel in one JSON
//! record `{"document": "<the document>", "signature": "<PEM CMS>"}` in the content store
//! under `audit-checkpoints/<seq, 20 digits>-<unix time, 12 digits>-<8 random hex>.json`:
//! a record namespace, which neither collides with document content nor is seen by the
//! orphan sweep, and names that sort by sequence number.
//!
//! A checkpoint is valid when the document is canonical, its sequence number is the one in
//! its name, and the signature verifies with one signer whose certificate chains to the
//! node's CA (`DATA/ca/ca.pem`) and is a server certificate (extended key usage serverAuth;
//! the tenants' certificates the same CA issues are client certificates and cannot make
//! one). `medgate audit verify` checks the chain against the latest valid checkpoint.
//!
//! [`spawn`] runs the node's periodic writer: one checkpoint at start when the chain grew
//! since the latest one, then one every `audit_checkpoint_seconds` when it grew since.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use medgate_pki::{cms, load_certificate, Certificate, PrivateKey};
use medgate_storage::{AuditHead, ContentStore, Metadata, RecordKey, Sha256Digest};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::ServerConfig;
use medgate_web::state::AppState;

/// The record namespace of checkpoints in the content store.
pub const NAMESPACE: &str = "audit-checkpoints";

/// The format label that begins every checkpoint document.
pub const FORMAT: &str = "medgate-audit-checkpoint-v1";

/// How many invalid checkpoints newer than the latest valid one are examined (and reported)
/// before giving up.
const MAX_REJECTED: usize = 20;

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{0}")]
    Metadata(#[from] medgate_storage::MetadataError),
    #[error("{0}")]
    Content(#[from] medgate_storage::ContentError),
    #[error("{0}")]
    Pki(#[from] medgate_pki::PkiError),
    #[error("{0}")]
    Invalid(String),
}

/// The signed content of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointDocument {
    /// The chain head's sequence number when the checkpoint was made.
    pub seq: u64,
    /// The hash of that entry.
    pub head: Sha256Digest,
    /// When the checkpoint was made (whole seconds, UTC).
    pub at: OffsetDateTime,
    /// Which node made it (its public URL, or its name).
    pub node: String,
}

impl CheckpointDocument {
    /// The canonical bytes that are signed: the fields in a fixed order, no spaces.
    pub fn canonical(&self) -> Result<String, CheckpointError> {
        let at = self
            .at
            .format(&Rfc3339)
            .map_err(|e| CheckpointError::Invalid(format!("checkpoint time: {e}")))?;
        let node = serde_json::to_string(&self.node)
            .map_err(|e| CheckpointError::Invalid(format!("checkpoint node: {e}")))?;
        Ok(format!(
            "{{\"format\":\"{FORMAT}\",\"seq\":{},\"head\":\"{}\",\"at\":\"{at}\",\"node\":{node}}}",
            self.seq,
            self.head.to_hex()
        ))
    }

    /// Reads a document, refusing anything that is not exactly its canonical form.
    pub fn parse(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            format: String,
            seq: u64,
            head: String,
            at: String,
            node: String,
        }
        let raw: Raw =
            serde_json::from_str(text).map_err(|e| format!("not a checkpoint document: {e}"))?;
        if raw.format != FORMAT {
            return Err(format!("unknown checkpoint format '{}'", raw.format));
        }
        let document = CheckpointDocument {
            seq: raw.seq,
            head: Sha256Digest::parse_hex(&raw.head).map_err(|e| format!("head: {e}"))?,
            at: OffsetDateTime::parse(&raw.at, &Rfc3339).map_err(|e| format!("at: {e}"))?,
            node: raw.node,
        };
        match document.canonical() {
            Ok(canonical) if canonical == text => Ok(document),
            _ => Err("the checkpoint document is not in its canonical form".to_owned()),
        }
    }
}

/// The stored record: the signed document and its signature.
#[derive(serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    document: String,
    signature: String,
}

/// A checkpoint whose signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Where it is stored (`audit-checkpoints/<name>`).
    pub key: RecordKey,
    pub document: CheckpointDocument,
    /// The exact signed bytes.
    pub signed_text: String,
    /// The detached CMS signature, PEM (`-----BEGIN CMS-----`).
    pub signature_pem: String,
    /// The signer's certificate subject and serial number (hex).
    pub signer_subject: String,
    pub signer_serial: String,
    /// The signingTime of the signature.
    pub signed_at: Option<OffsetDateTime>,
}

/// A stored checkpoint that is not valid, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedCheckpoint {
    pub key: RecordKey,
    pub problem: String,
}

/// The newest valid checkpoint, and the invalid ones found newer than it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Latest {
    pub checkpoint: Option<Checkpoint>,
    pub rejected: Vec<RejectedCheckpoint>,
    /// More invalid checkpoints were there than were examined.
    pub gave_up: bool,
}

/// The node's server certificate and key: `DATA/server/server.pem` and `server.key`.
pub fn server_identity_files(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("server");
    (dir.join("server.pem"), dir.join("server.key"))
}

/// The certificate checkpoints must chain to: the node's CA, `DATA/ca/ca.pem`.
pub fn trust_anchor_file(data_dir: &Path) -> PathBuf {
    crate::startup::ca_dir(data_dir).join("ca.pem")
}

/// The name a checkpoint document gives its node: the public URL when known, else the first
/// configured server name, else the host name.
pub fn node_name(config: &ServerConfig) -> String {
    if let Some(url) = &config.public_url {
        return url.clone();
    }
    if let Some(name) = config.server_names.first() {
        return name.clone();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "medgate".to_owned())
}

/// The sequence number a checkpoint's record name begins with.
fn seq_of_name(name: &str) -> Option<u64> {
    let digits = name.get(..20)?;
    if name.as_bytes().get(20) != Some(&b'-') {
        return None;
    }
    digits.parse().ok()
}

fn random_hex() -> Result<String, CheckpointError> {
    let mut bytes = [0u8; 4];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        CheckpointError::Invalid("the system random number generator failed".into())
    })?;
    Ok(hex::encode(bytes))
}

/// Signs a checkpoint of `head` with the node's server key and stores it; returns it as
/// verified against `trust` (the node's CA certificate). Nothing is stored when the key
/// does not match the certificate or the result would not verify.
pub async fn write(
    content: &dyn ContentStore,
    head: AuditHead,
    data_dir: &Path,
    node: &str,
    trust: &Certificate,
) -> Result<Checkpoint, CheckpointError> {
    if head.seq == 0 {
        return Err(CheckpointError::Invalid(
            "the audit log is empty: there is no entry to anchor yet".into(),
        ));
    }
    let (cert_path, key_path) = server_identity_files(data_dir);
    let certificate = load_certificate(&cert_path)?;
    let key = PrivateKey::load(&key_path, None)?;
    if !cms::key_matches_certificate(&certificate, &key)? {
        return Err(CheckpointError::Invalid(format!(
            "{} is not the key of {}",
            key_path.display(),
            cert_path.display()
        )));
    }
    let now = OffsetDateTime::now_utc();
    let document = CheckpointDocument {
        seq: head.seq,
        head: head.hash,
        at: now.replace_nanosecond(0).unwrap_or(now),
        node: node.to_owned(),
    };
    let signed_text = document.canonical()?;
    let signature = cms::sign_detached(signed_text.as_bytes(), &certificate, &key, document.at)?;
    let envelope = Envelope {
        document: signed_text,
        signature: pem::encode_config(
            &pem::Pem::new("CMS", signature),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        ),
    };
    let bytes = serde_json::to_vec(&envelope)
        .map_err(|e| CheckpointError::Invalid(format!("checkpoint record: {e}")))?;
    let name = format!(
        "{:020}-{:012}-{}.json",
        document.seq,
        document.at.unix_timestamp().max(0),
        random_hex()?
    );
    let key =
        RecordKey::new(NAMESPACE, &name).map_err(|e| CheckpointError::Invalid(e.to_string()))?;
    let checkpoint = check(&key, &bytes, std::slice::from_ref(trust))
        .map_err(|problem| CheckpointError::Invalid(format!("the new checkpoint: {problem}")))?;
    content.put_record(&key, Bytes::from(bytes)).await?;
    Ok(checkpoint)
}

/// Reads a stored checkpoint record and verifies it; `Err` says why it is not valid (text
/// that reads after "checkpoint NAME: ").
pub fn check(key: &RecordKey, bytes: &[u8], trust: &[Certificate]) -> Result<Checkpoint, String> {
    let envelope: Envelope =
        serde_json::from_slice(bytes).map_err(|e| format!("not a checkpoint record: {e}"))?;
    let document = CheckpointDocument::parse(&envelope.document)?;
    if seq_of_name(key.name()) != Some(document.seq) {
        return Err(format!(
            "named for another entry than the one it records (entry {})",
            document.seq
        ));
    }
    if trust.is_empty() {
        return Err("cannot be checked: no CA certificate to check its signer against".into());
    }
    let reports = cms::verify_detached(
        envelope.signature.as_bytes(),
        envelope.document.as_bytes(),
        trust,
    )
    .map_err(|e| format!("unreadable signature: {e}"))?;
    let [report] = reports.as_slice() else {
        return Err(format!(
            "signature has {} signers; a checkpoint has exactly one, the node",
            reports.len()
        ));
    };
    if !report.is_ok() {
        return Err(format!(
            "signature does not verify: {}",
            report
                .problem
                .clone()
                .unwrap_or_else(|| "rejected".to_owned())
        ));
    }
    let certificate = report.certificate.as_ref().ok_or_else(|| {
        "signature does not verify: the signer's certificate is missing".to_owned()
    })?;
    let summary = certificate
        .summary()
        .map_err(|e| format!("signer certificate: {e}"))?;
    if !summary.usages.server_auth {
        return Err(format!(
            "signature does not verify: the signer {} is not a server certificate of the node",
            summary.subject
        ));
    }
    Ok(Checkpoint {
        key: key.clone(),
        document,
        signed_text: envelope.document,
        signature_pem: envelope.signature,
        signer_subject: summary.subject,
        signer_serial: summary.serial_hex,
        signed_at: report.signing_time,
    })
}

/// The newest valid checkpoint (highest sequence number, then newest), with the invalid
/// ones met before it.
pub async fn latest(
    content: &dyn ContentStore,
    trust: &[Certificate],
) -> Result<Latest, CheckpointError> {
    let mut keys = content.list_records(NAMESPACE).await?;
    keys.sort_by(|a, b| b.name().cmp(a.name()));
    let mut found = Latest::default();
    for key in keys {
        if found.rejected.len() >= MAX_REJECTED {
            found.gave_up = true;
            break;
        }
        let bytes = content.get_record(&key).await?;
        match check(&key, &bytes, trust) {
            Ok(checkpoint) => {
                found.checkpoint = Some(checkpoint);
                break;
            }
            Err(problem) => found.rejected.push(RejectedCheckpoint { key, problem }),
        }
    }
    Ok(found)
}

/// The highest sequence number among stored checkpoints, by name (signatures unchecked).
async fn highest_stored(content: &dyn ContentStore) -> Result<u64, CheckpointError> {
    Ok(content
        .list_records(NAMESPACE)
        .await?
        .iter()
        .filter_map(|key| seq_of_name(key.name()))
        .max()
        .unwrap_or(0))
}

/// Starts the node's checkpoint writer (unless `audit_checkpoint_seconds` is 0): one
/// checkpoint now when the chain grew since the latest stored one, then one every
/// `audit_checkpoint_seconds` when it grew since the last. Failures are logged and tried
/// again at the next tick.
pub fn spawn(state: &AppState, config: &ServerConfig) {
    let seconds = config.audit_checkpoint_seconds;
    if seconds == 0 {
        tracing::info!("audit checkpoints are off (audit_checkpoint_seconds = 0)");
        return;
    }
    let metadata: Metadata = state.metadata.clone();
    let content: Arc<dyn ContentStore> = state.content.clone();
    let data_dir = config.data_dir.clone();
    let node = node_name(config);
    let trust = state.ca.certificate().clone();
    tokio::spawn(async move {
        let mut anchored = match highest_stored(content.as_ref()).await {
            Ok(seq) => seq,
            Err(error) => {
                tracing::warn!(%error, "cannot list the audit checkpoints");
                0
            }
        };
        let mut interval = tokio::time::interval(Duration::from_secs(seconds));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // The first tick is immediate: the checkpoint at start.
            interval.tick().await;
            let head = match metadata.audit_head().await {
                Ok(head) => head,
                Err(error) => {
                    tracing::error!(%error, "audit checkpoint: cannot read the chain head");
                    continue;
                }
            };
            if head.seq <= anchored {
                continue;
            }
            match write(content.as_ref(), head, &data_dir, &node, &trust).await {
                Ok(checkpoint) => {
                    tracing::info!(checkpoint = %checkpoint.key, seq = head.seq, "audit checkpoint written");
                    anchored = head.seq;
                }
                Err(error) => tracing::error!(%error, "audit checkpoint could not be written"),
            }
        }
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use medgate_ids::TenantId;
    use medgate_pki::ca::{CertificateAuthority, Validity};
    use medgate_pki::csr::{generate_tenant_csr, Country, SubjectFields};
    use medgate_pki::files::{self, Visibility, WriteMode};
    use medgate_pki::{CertKind, KeyAlgorithm};
    use medgate_storage::FilesystemContent;

    use super::*;

    /// A data folder as a node leaves it: `ca/`, and `server/server.pem` + `server.key`
    /// issued by that CA (for less time than the CA lives: a certificate cannot outlive it).
    fn node_folder(data: &Path, ca_name: &str) -> CertificateAuthority {
        let ca = CertificateAuthority::init(
            &data.join("ca"),
            ca_name,
            KeyAlgorithm::EcdsaP256,
            Validity::days_from_now(60).unwrap(),
            None,
        )
        .unwrap();
        let (certificate, key) = ca
            .issue_server(
                &["localhost".to_owned()],
                &[],
                KeyAlgorithm::EcdsaP256,
                Validity::days_from_now(30).unwrap(),
            )
            .unwrap();
        let (cert_path, key_path) = server_identity_files(data);
        files::ensure_dir(cert_path.parent().unwrap()).unwrap();
        key.save(&key_path, None, WriteMode::Replace).unwrap();
        files::write(
            &cert_path,
            certificate.to_pem().as_bytes(),
            WriteMode::Replace,
            Visibility::Public,
        )
        .unwrap();
        ca
    }

    /// A checkpoint record of `document` signed with `certificate` and `key`.
    fn record(
        document: &CheckpointDocument,
        certificate: &Certificate,
        key: &PrivateKey,
    ) -> Vec<u8> {
        let text = document.canonical().unwrap();
        let signature = cms::sign_detached(text.as_bytes(), certificate, key, document.at).unwrap();
        serde_json::to_vec(&Envelope {
            document: text,
            signature: pem::encode(&pem::Pem::new("CMS", signature)),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn only_the_nodes_server_certificate_makes_a_valid_checkpoint() {
        let folder = tempfile::tempdir().unwrap();
        let data = folder.path();
        let ca = node_folder(data, "medgate tenant CA");
        let trust = ca.certificate().clone();
        let content = FilesystemContent::open(data).await.unwrap();
        let head = AuditHead {
            seq: 42,
            hash: Sha256Digest::of(b"entry 42"),
        };

        let written = write(&content, head, data, "https://node", &trust)
            .await
            .unwrap();
        assert_eq!(written.document.seq, 42);
        assert_eq!(written.document.head, head.hash);
        assert_eq!(written.signer_subject, "CN=localhost");
        assert!(written.key.name().starts_with("00000000000000000042-"));
        let latest_one = latest(&content, std::slice::from_ref(&trust))
            .await
            .unwrap();
        assert_eq!(latest_one.checkpoint.as_ref(), Some(&written));
        assert!(latest_one.rejected.is_empty());

        // A tenant certificate of the same CA signs a newer one: refused, the node's kept.
        let tenant = TenantId::parse("0000000000007010").unwrap();
        let subject = SubjectFields::new("Clinic", "IT", Country::parse("PL").unwrap()).unwrap();
        let (tenant_key, csr) =
            generate_tenant_csr(&tenant, CertKind::Wss, &subject, KeyAlgorithm::EcdsaP256).unwrap();
        let tenant_certificate = ca
            .sign_csr(
                csr.as_bytes(),
                Path::new("wss.csr"),
                Validity::days_from_now(30).unwrap(),
            )
            .unwrap();
        let forged = CheckpointDocument {
            seq: 50,
            head: Sha256Digest::of(b"entry 50"),
            at: written.document.at,
            node: "https://node".to_owned(),
        };
        let key =
            RecordKey::new(NAMESPACE, "00000000000000000050-000000000001-00000000.json").unwrap();
        content
            .put_record(
                &key,
                Bytes::from(record(&forged, &tenant_certificate, &tenant_key)),
            )
            .await
            .unwrap();
        let found = latest(&content, std::slice::from_ref(&trust))
            .await
            .unwrap();
        assert_eq!(found.checkpoint.as_ref(), Some(&written));
        assert_eq!(found.rejected.len(), 1);
        assert_eq!(found.rejected[0].key, key);
        assert!(
            found.rejected[0]
                .problem
                .contains("not a server certificate"),
            "{:?}",
            found.rejected
        );

        // Another node's CA: the signature verifies, the chain does not.
        let other = tempfile::tempdir().unwrap();
        node_folder(other.path(), "another CA");
        let (cert_path, key_path) = server_identity_files(other.path());
        let bytes = record(
            &forged,
            &load_certificate(&cert_path).unwrap(),
            &PrivateKey::load(&key_path, None).unwrap(),
        );
        let problem = check(&key, &bytes, std::slice::from_ref(&trust)).unwrap_err();
        assert!(
            problem.starts_with("signature does not verify"),
            "{problem}"
        );
        // No CA to check against: not valid either.
        let problem = check(
            &written.key,
            &content.get_record(&written.key).await.unwrap(),
            &[],
        )
        .unwrap_err();
        assert!(problem.contains("no CA certificate"), "{problem}");

        // Nothing to anchor in an empty log; a key that is not the certificate's is refused.
        let empty = AuditHead {
            seq: 0,
            hash: Sha256Digest::ZERO,
        };
        assert!(write(&content, empty, data, "n", &trust).await.is_err());
        let (_, key_path) = server_identity_files(data);
        tenant_key
            .save(&key_path, None, WriteMode::Replace)
            .unwrap();
        let error = write(&content, head, data, "n", &trust)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not the key of"), "{error}");
    }

    fn document() -> CheckpointDocument {
        CheckpointDocument {
            seq: 42,
            head: Sha256Digest::of(b"head"),
            at: OffsetDateTime::from_unix_timestamp(1_700_000_000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            node: "https://repo.example.org:8443".to_owned(),
        }
    }

    #[test]
    fn the_document_is_canonical_and_reads_back() -> Result<(), CheckpointError> {
        let text = document().canonical()?;
        assert_eq!(
            text,
            format!(
                "{{\"format\":\"medgate-audit-checkpoint-v1\",\"seq\":42,\"head\":\"{}\",\
                 \"at\":\"2023-11-14T22:13:20Z\",\"node\":\"https://repo.example.org:8443\"}}",
                Sha256Digest::of(b"head").to_hex()
            )
        );
        assert_eq!(CheckpointDocument::parse(&text), Ok(document()));
        // The same fields in another layout are not the signed bytes.
        let spaced = text.replace(",\"seq\"", ", \"seq\"");
        assert!(CheckpointDocument::parse(&spaced).is_err());
        let extra = text.replace("}", ",\"x\":1}");
        assert!(CheckpointDocument::parse(&extra).is_err());
        Ok(())
    }

    #[test]
    fn names_carry_the_sequence_number() {
        assert_eq!(
            seq_of_name("00000000000000000042-001700000000-0a1b2c3d.json"),
            Some(42)
        );
        assert_eq!(seq_of_name("42-1.json"), None);
        assert_eq!(seq_of_name("0000000000000000004x-1.json"), None);
    }
}
