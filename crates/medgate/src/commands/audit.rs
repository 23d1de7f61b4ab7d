//! `medgate audit …`: the operator's view of the audit log, straight on the node's database
//! and content store (the same configuration as `medgate serve`): `verify` walks the whole
//! hash chain, names the first entry that was altered, removed or reordered and every row
//! that is not part of the chain, and checks the chain against the latest signed checkpoint;
//! `checkpoint` writes a signed checkpoint of the chain head now (or shows the latest);
//! `list` shows recent entries.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use medgate_ids::TenantId;
use medgate_pki::{load_certificate, Certificate};
use medgate_server::audit_checkpoint::{self, Checkpoint, Latest};
use medgate_server::config::{Overrides, ServerConfig};
use medgate_storage::{AuditAnchor, AuditEntry, AuditFault, AuditVerification, Metadata};
use serde_json::json;

use crate::output::{print_json, rfc3339};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// TOML configuration file of the node.
    #[arg(long, global = true, help_heading = "Node")]
    pub config: Option<PathBuf>,
    /// Data folder of the node (its SQLite database is DATA/medgate.db).
    #[arg(long, visible_alias = "data-dir", global = true, help_heading = "Node")]
    pub data: Option<PathBuf>,
    /// postgres://… when the node uses PostgreSQL.
    #[arg(long, global = true, help_heading = "Node")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole hash chain, every row of the log and the latest signed checkpoint;
    /// exit 1 naming the first altered, removed or reordered entry, any row that is not part
    /// of the chain, a chain that no longer matches the checkpoint, or a checkpoint whose
    /// signature does not verify.
    Verify {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Sign a checkpoint of the chain head now with the node's server key and store it in the
    /// content store; with --show, print the latest stored one, its signature verified.
    Checkpoint {
        /// Show the latest checkpoint instead of writing one.
        #[arg(long)]
        show: bool,
        /// Print JSON instead of text (with the signed document and the PEM signature).
        #[arg(long)]
        json: bool,
    },
    /// Show the most recent entries, newest first.
    List {
        /// Only this account's entries.
        #[arg(long)]
        tenant: Option<String>,
        /// Only entries concerning this patient (identifier value, e.g. a PESEL); needs --tenant.
        #[arg(long, requires = "tenant")]
        patient: Option<String>,
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let explicit_url = args.database_url.is_some();
    let config = ServerConfig::load(
        args.config.as_deref(),
        &Overrides {
            data_dir: args.data,
            database_url: args.database_url,
            ..Overrides::default()
        },
    )?;
    // Opening SQLite creates a missing database; an empty new one would "verify" as intact,
    // so a data folder without a database is an error here.
    let default_database = config.data_dir.join("medgate.db");
    if !explicit_url
        && config.database_url.starts_with("sqlite:")
        && config
            .database_url
            .contains(&*default_database.to_string_lossy())
        && !default_database.is_file()
    {
        bail!(
            "there is no database at {}: give the node's data folder with --data (or --database-url)",
            default_database.display()
        );
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let metadata = medgate_server::startup::open_metadata(&config).await?;
        let result = match args.command {
            AuditCommand::Verify { json } => verify(&metadata, &config, json).await,
            AuditCommand::Checkpoint { show, json } => {
                checkpoint(&metadata, &config, show, json).await
            }
            AuditCommand::List {
                tenant,
                patient,
                limit,
                json,
            } => {
                list(
                    &metadata,
                    tenant.as_deref(),
                    patient.as_deref(),
                    limit,
                    json,
                )
                .await
            }
        };
        metadata.close().await;
        result
    })
}

fn fault_code(fault: &AuditFault) -> &'static str {
    match fault {
        AuditFault::ContentAltered => "content_altered",
        AuditFault::ChainBroken => "chain_broken",
        AuditFault::Missing => "missing",
        AuditFault::HeadMismatch => "head_mismatch",
        AuditFault::Truncated { .. } => "truncated",
        AuditFault::CheckpointMismatch => "checkpoint_mismatch",
    }
}

/// The node's CA certificate, which checkpoints must chain to; the error names the file.
fn trust_anchor(config: &ServerConfig) -> Result<Certificate, String> {
    let path = audit_checkpoint::trust_anchor_file(&config.data_dir);
    load_certificate(&path).map_err(|e| format!("the node's CA certificate: {e}"))
}

/// The latest valid checkpoint in the node's content store, and the invalid ones newer
/// than it; `Err` when the content store cannot be read.
async fn latest_checkpoint(
    config: &ServerConfig,
    trust: Option<&Certificate>,
) -> anyhow::Result<Latest> {
    let content = medgate_server::startup::open_content(config).await?;
    let trust: Vec<Certificate> = trust.into_iter().cloned().collect();
    Ok(audit_checkpoint::latest(content.as_ref(), &trust).await?)
}

/// `checkpoint K (entry S, made T by NODE, signed by SUBJECT)`.
fn checkpoint_line(checkpoint: &Checkpoint) -> String {
    format!(
        "checkpoint {} (entry {}, made {} by {}, signed by {})",
        checkpoint.key,
        checkpoint.document.seq,
        rfc3339(checkpoint.document.at),
        checkpoint.document.node,
        checkpoint.signer_subject
    )
}

fn checkpoint_json(checkpoint: &Checkpoint) -> serde_json::Value {
    json!({
        "checkpoint": checkpoint.key.to_string(),
        "seq": checkpoint.document.seq,
        "head": checkpoint.document.head.to_hex(),
        "at": rfc3339(checkpoint.document.at),
        "node": checkpoint.document.node,
        "signer": {
            "subject": checkpoint.signer_subject,
            "serial": checkpoint.signer_serial,
            "signed_at": checkpoint.signed_at.map(rfc3339),
        },
        "signature_verified": true,
    })
}

/// `seq 6, 8` (and how many more when not all are listed).
fn foreign_list(verification: &AuditVerification) -> String {
    let listed: Vec<String> = verification
        .foreign_rows
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut text = format!("seq {}", listed.join(", "));
    if verification.foreign_row_count > listed.len() as u64 {
        text.push_str(&format!(
            " (the first {} of {})",
            listed.len(),
            verification.foreign_row_count
        ));
    }
    text
}

async fn verify(
    metadata: &Metadata,
    config: &ServerConfig,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let trust = trust_anchor(config);
    let latest = latest_checkpoint(config, trust.as_ref().ok()).await?;
    let anchor = latest.checkpoint.as_ref().map(|checkpoint| AuditAnchor {
        seq: checkpoint.document.seq,
        hash: checkpoint.document.head,
    });
    let verification = metadata.verify_audit_against(anchor.as_ref()).await?;
    let intact = verification.is_intact() && latest.rejected.is_empty();
    let foreign_message = (verification.foreign_row_count > 0).then(|| {
        let count = verification.foreign_row_count;
        format!(
            "{count} {} not part of the chain (written behind the node's back, past the chain \
             head or between entries): {}",
            if count == 1 { "row is" } else { "rows are" },
            foreign_list(&verification)
        )
    });

    if json {
        let mut report = json!({
            "intact": intact,
            "entries_verified": verification.entries_verified,
            "foreign_rows": verification.foreign_rows,
            "foreign_row_count": verification.foreign_row_count,
            "checkpoint": latest.checkpoint.as_ref().map(checkpoint_json),
            "rejected_checkpoints": latest.rejected.iter().map(|rejected| json!({
                "checkpoint": rejected.key.to_string(),
                "problem": rejected.problem,
            })).collect::<Vec<_>>(),
        });
        let problem = match (&verification.problem, verification.foreign_rows.first()) {
            (Some(problem), _) => Some(json!({
                "seq": problem.seq,
                "fault": fault_code(&problem.fault),
                "message": problem.to_string(),
            })),
            (None, Some(seq)) => Some(json!({
                "seq": seq,
                "fault": "foreign",
                "message": foreign_message.clone().unwrap_or_default(),
            })),
            (None, None) => None,
        };
        if let (Some(problem), Some(object)) = (problem, report.as_object_mut()) {
            object.insert("problem".to_owned(), problem);
        }
        print_json(&report)?;
    } else if intact {
        println!(
            "audit log intact: {} entries",
            verification.entries_verified
        );
        if let Some(checkpoint) = &latest.checkpoint {
            println!("matches the signed {}", checkpoint_line(checkpoint));
        }
    }

    if let Some(problem) = &verification.problem {
        match (&problem.fault, &latest.checkpoint) {
            (AuditFault::Truncated { .. } | AuditFault::CheckpointMismatch, Some(checkpoint)) => {
                eprintln!(
                    "error: audit log tampered: {problem}; {}",
                    checkpoint_line(checkpoint)
                )
            }
            _ => eprintln!(
                "error: audit log tampered: {problem} ({} entries before it are intact)",
                verification.entries_verified
            ),
        }
    }
    if let Some(message) = &foreign_message {
        eprintln!("error: audit log tampered: {message}");
    }
    for rejected in &latest.rejected {
        eprintln!(
            "error: audit checkpoint {}: {}",
            rejected.key, rejected.problem
        );
    }
    if latest.gave_up {
        eprintln!("error: more invalid audit checkpoints follow; not all were examined");
    }
    if let (Err(problem), false) = (&trust, latest.rejected.is_empty()) {
        eprintln!("error: {problem}");
    }
    if latest.checkpoint.is_none() && latest.rejected.is_empty() {
        eprintln!(
            "warning: no signed audit checkpoint yet, so removed newest entries would go \
             unnoticed (the node writes one every audit_checkpoint_seconds; \
             `medgate audit checkpoint` writes one now)"
        );
    }
    Ok(if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn checkpoint(
    metadata: &Metadata,
    config: &ServerConfig,
    show: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let trust = trust_anchor(config).map_err(anyhow::Error::msg)?;
    let (checkpoint, rejected) = if show {
        let latest = latest_checkpoint(config, Some(&trust)).await?;
        for rejected in &latest.rejected {
            eprintln!(
                "error: audit checkpoint {}: {}",
                rejected.key, rejected.problem
            );
        }
        match latest.checkpoint {
            Some(checkpoint) => (checkpoint, !latest.rejected.is_empty()),
            None => bail!("there is no valid audit checkpoint in the content store"),
        }
    } else {
        let content = medgate_server::startup::open_content(config).await?;
        let head = metadata.audit_head().await?;
        let node = audit_checkpoint::node_name(config);
        let written =
            audit_checkpoint::write(content.as_ref(), head, &config.data_dir, &node, &trust)
                .await?;
        (written, false)
    };
    if json {
        let mut report = checkpoint_json(&checkpoint);
        if let Some(object) = report.as_object_mut() {
            object.insert("document".to_owned(), json!(checkpoint.signed_text));
            object.insert("signature".to_owned(), json!(checkpoint.signature_pem));
        }
        print_json(&report)?;
    } else {
        println!("audit checkpoint {}", checkpoint.key);
        println!("entry:      {}", checkpoint.document.seq);
        println!("head hash:  {}", checkpoint.document.head.to_hex());
        println!("made at:    {}", rfc3339(checkpoint.document.at));
        println!("node:       {}", checkpoint.document.node);
        println!(
            "signed by:  {} (serial {}): signature verified, chains to the node's CA",
            checkpoint.signer_subject, checkpoint.signer_serial
        );
    }
    Ok(if rejected {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn list(
    metadata: &Metadata,
    tenant: Option<&str>,
    patient: Option<&str>,
    limit: u32,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if limit == 0 {
        bail!("--limit must be at least 1");
    }
    let entries = match tenant {
        Some(tenant) => {
            let tenant =
                TenantId::parse(tenant).map_err(|e| anyhow::anyhow!("--tenant '{tenant}': {e}"))?;
            metadata
                .list_audit_page(&tenant, patient, None, limit)
                .await?
        }
        None => metadata.list_audit_all(limit).await?,
    };
    if json {
        print_json(&json!({
            "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
        }))?;
    } else {
        for entry in &entries {
            println!("{}", entry_line(entry));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn entry_json(entry: &AuditEntry) -> serde_json::Value {
    json!({
        "seq": entry.seq,
        "at": rfc3339(entry.at),
        "tenant": entry.tenant.as_ref().map(TenantId::as_str),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "origin": entry.origin.to_string(),
        "patient": entry.patient,
        "details": entry.details,
        "hash": entry.hash.to_hex(),
    })
}

/// `SEQ  TIME  TENANT  ACTION  TARGET  ACTOR  ORIGIN  [patient P]  DETAILS`.
fn entry_line(entry: &AuditEntry) -> String {
    let mut line = format!(
        "{:>6}  {}  {}  {}  {}  {}  {}",
        entry.seq,
        rfc3339(entry.at),
        entry.tenant.as_ref().map_or("-", TenantId::as_str),
        entry.action,
        entry.target,
        entry.actor,
        entry.origin
    );
    if let Some(patient) = &entry.patient {
        line.push_str(&format!("  patient {patient}"));
    }
    if !entry.details.is_empty() {
        line.push_str(&format!("  {}", entry.details));
    }
    line
}
