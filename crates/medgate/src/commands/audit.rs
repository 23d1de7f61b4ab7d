//! `medgate audit …`: the operator's view of the audit log, straight on the node's database
//! (the same configuration as `medgate serve`): `verify` walks the whole hash chain and names
//! the first entry that was altered, removed or reordered; `list` shows recent entries.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use medgate_ids::TenantId;
use medgate_server::config::{Overrides, ServerConfig};
use medgate_storage::{AuditEntry, AuditFault, Metadata};
use serde_json::json;

use crate::output::{print_json, rfc3339};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// TOML configuration file of the node.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data folder of the node (its SQLite database is DATA/medgate.db).
    #[arg(long, visible_alias = "data-dir", global = true)]
    pub data: Option<PathBuf>,
    /// postgres://… when the node uses PostgreSQL.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole hash chain; exit 1 naming the first altered, removed or reordered entry.
    Verify {
        /// Print JSON instead of text.
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
            AuditCommand::Verify { json } => verify(&metadata, json).await,
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
    }
}

async fn verify(metadata: &Metadata, json: bool) -> anyhow::Result<ExitCode> {
    let verification = metadata.verify_audit().await?;
    match &verification.problem {
        None => {
            if json {
                print_json(&json!({
                    "intact": true,
                    "entries_verified": verification.entries_verified,
                }))?;
            } else {
                println!(
                    "audit log intact: {} entries",
                    verification.entries_verified
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(problem) => {
            if json {
                print_json(&json!({
                    "intact": false,
                    "entries_verified": verification.entries_verified,
                    "problem": {
                        "seq": problem.seq,
                        "fault": fault_code(&problem.fault),
                        "message": problem.to_string(),
                    },
                }))?;
            }
            eprintln!(
                "error: audit log tampered: {problem} ({} entries before it are intact)",
                verification.entries_verified
            );
            Ok(ExitCode::from(1))
        }
    }
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
