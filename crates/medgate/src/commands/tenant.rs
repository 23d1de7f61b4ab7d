//! `medgate tenant …`: the operator's account management, straight on the node's database
//! (the same configuration as `medgate serve`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use medgate_ids::TenantId;
use medgate_server::config::{Overrides, ServerConfig};
use medgate_storage::{Metadata, NewTenant, Tenant, TenantPlan, TenantStatus};

use crate::output::{parse_time, print_json, rfc3339};

#[derive(Debug, Args)]
pub struct TenantArgs {
    /// TOML configuration file of the node.
    #[arg(long, global = true, help_heading = "Node")]
    pub config: Option<PathBuf>,
    /// Data folder of the node.
    #[arg(long, global = true, help_heading = "Node")]
    pub data: Option<PathBuf>,
    /// postgres://… when the node uses PostgreSQL.
    #[arg(long, global = true, help_heading = "Node")]
    pub database_url: Option<String>,
    /// Create the node's database when the data folder has none yet (before the node's
    /// first start); without it such a folder is refused.
    #[arg(long, global = true, help_heading = "Node")]
    pub init: bool,
    #[command(subcommand)]
    pub command: TenantCommand,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create an account with its plan.
    Create(CreateArgs),
    /// List accounts.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one account.
    Show {
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Suspend an account: every request is refused until it is resumed.
    Suspend { id: String },
    /// Resume a suspended account.
    Resume { id: String },
    /// The account's administrators, who sign in to the web pages at /admin.
    #[command(subcommand)]
    AdminUser(AdminUserCommand),
}

/// `medgate tenant admin-user …`: the staff command of one account's administrators.
#[derive(Debug, Subcommand)]
pub enum AdminUserCommand {
    /// Create an administrator login; prints a one-time activation code unless
    /// --password-file is given.
    Create {
        /// The account id (16 digits).
        tenant: String,
        #[command(flatten)]
        args: super::staff::CredentialArgs,
    },
    /// List the account's administrator logins.
    List {
        tenant: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Issue a new one-time code (or set --password-file) for a login; signs it out.
    Reset {
        tenant: String,
        #[command(flatten)]
        args: super::staff::CredentialArgs,
    },
    /// Disable a login and sign it out everywhere.
    Disable {
        tenant: String,
        #[command(flatten)]
        args: super::staff::LoginArgs,
    },
    /// Enable a disabled login again.
    Enable {
        tenant: String,
        #[command(flatten)]
        args: super::staff::LoginArgs,
    },
}

impl AdminUserCommand {
    fn split(self) -> (String, super::staff::StaffCommand) {
        use super::staff::StaffCommand;
        match self {
            AdminUserCommand::Create { tenant, args } => (tenant, StaffCommand::Create(args)),
            AdminUserCommand::List { tenant, json } => (tenant, StaffCommand::List { json }),
            AdminUserCommand::Reset { tenant, args } => (tenant, StaffCommand::Reset(args)),
            AdminUserCommand::Disable { tenant, args } => (tenant, StaffCommand::Disable(args)),
            AdminUserCommand::Enable { tenant, args } => (tenant, StaffCommand::Enable(args)),
        }
    }
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Account id: 16 digits.
    #[arg(long)]
    pub id: String,
    /// Start of the plan (YYYY-MM-DD).
    #[arg(long)]
    pub valid_from: String,
    /// End of the plan (YYYY-MM-DD).
    #[arg(long)]
    pub valid_to: String,
    /// Storage quota in MB.
    #[arg(long)]
    pub quota_mb: u64,
    /// Maximum number of stored files.
    #[arg(long)]
    pub max_files: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: TenantArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig::load(
        args.config.as_deref(),
        &Overrides {
            data_dir: args.data,
            database_url: args.database_url,
            ..Overrides::default()
        },
    )?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let metadata = medgate_server::startup::open_node_metadata(&config, args.init).await?;
        let result = execute(&metadata, args.command).await;
        metadata.close().await;
        result
    })
}

fn status_name(status: TenantStatus) -> &'static str {
    match status {
        TenantStatus::Created => "created",
        TenantStatus::Active => "active",
        TenantStatus::Suspended => "suspended",
    }
}

fn tenant_json(tenant: &Tenant) -> serde_json::Value {
    serde_json::json!({
        "id": tenant.id.as_str(),
        "status": status_name(tenant.status),
        "valid_from": rfc3339(tenant.plan.valid_from),
        "valid_to": rfc3339(tenant.plan.valid_to),
        "quota_mb": tenant.plan.quota_bytes / (1024 * 1024),
        "max_files": tenant.plan.max_files,
        "provider_oid": tenant.provider_oid.as_ref().map(|o| o.as_str()),
        "domain_id": tenant.domain_id.as_ref().map(|o| o.as_str()),
        "repository_id": tenant.repository_id.as_ref().map(|o| o.as_str()),
        "national_repository_id": tenant.national_repository_id.as_ref().map(|o| o.as_str()),
    })
}

fn tenant_line(tenant: &Tenant) -> String {
    format!(
        "{}  {:<9}  {} .. {}  {} MB  {} files",
        tenant.id,
        status_name(tenant.status),
        tenant.plan.valid_from.date(),
        tenant.plan.valid_to.date(),
        tenant.plan.quota_bytes / (1024 * 1024),
        tenant.plan.max_files
    )
}

async fn get(metadata: &Metadata, id: &str) -> anyhow::Result<Tenant> {
    let id = TenantId::parse(id)?;
    metadata
        .get_tenant(&id)
        .await?
        .with_context(|| format!("account {id} does not exist"))
}

async fn execute(metadata: &Metadata, command: TenantCommand) -> anyhow::Result<ExitCode> {
    match command {
        TenantCommand::Create(args) => {
            let id = TenantId::parse(&args.id)?;
            let valid_from = parse_time(&args.valid_from).context("--valid-from")?;
            let valid_to = parse_time(&args.valid_to).context("--valid-to")?;
            if valid_to <= valid_from {
                bail!("--valid-to ({}) must be after --valid-from ({})", args.valid_to, args.valid_from);
            }
            if args.quota_mb == 0 || args.max_files == 0 {
                bail!("--quota-mb and --max-files must be above 0");
            }
            let quota_bytes = args
                .quota_mb
                .checked_mul(1024 * 1024)
                .context("--quota-mb is too large")?;
            let tenant = metadata
                .create_tenant(&NewTenant {
                    id,
                    plan: TenantPlan {
                        valid_from,
                        valid_to,
                        quota_bytes,
                        max_files: args.max_files,
                    },
                })
                .await?;
            if args.json {
                crate::output::print_json(&tenant_json(&tenant))?;
            } else {
                println!("created account {}", tenant_line(&tenant));
            }
        }
        TenantCommand::List { json } => {
            let tenants = metadata.list_tenants().await?;
            if json {
                print_json(&serde_json::Value::Array(tenants.iter().map(tenant_json).collect()))?;
            } else if tenants.is_empty() {
                println!("no accounts");
            } else {
                for tenant in &tenants {
                    println!("{}", tenant_line(tenant));
                }
            }
        }
        TenantCommand::Show { id, json } => {
            let tenant = get(metadata, &id).await?;
            if json {
                print_json(&tenant_json(&tenant))?;
            } else {
                let value = tenant_json(&tenant);
                if let Some(object) = value.as_object() {
                    for (key, value) in object {
                        let text = match value {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Null => "-".to_owned(),
                            other => other.to_string(),
                        };
                        println!("{key:<24}{text}");
                    }
                }
            }
        }
        TenantCommand::Suspend { id } => {
            let tenant = get(metadata, &id).await?;
            metadata.set_tenant_status(&tenant.id, TenantStatus::Suspended).await?;
            println!("account {} suspended", tenant.id);
        }
        TenantCommand::Resume { id } => {
            let tenant = get(metadata, &id).await?;
            if tenant.status != TenantStatus::Suspended {
                bail!("account {} is not suspended (it is {})", tenant.id, status_name(tenant.status));
            }
            // An account suspended before it was ever activated goes back to waiting for
            // activation.
            let status = if tenant.repository_id.is_some() {
                TenantStatus::Active
            } else {
                TenantStatus::Created
            };
            metadata.set_tenant_status(&tenant.id, status).await?;
            println!("account {} resumed ({})", tenant.id, status_name(status));
        }
        TenantCommand::AdminUser(command) => {
            let (tenant, command) = command.split();
            let tenant = TenantId::parse(&tenant)?;
            return super::staff::execute(
                metadata,
                medgate_storage::StaffScope::Admin(tenant),
                command,
            )
            .await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
