//! `medgate operator …`: the operator's own logins to the web pages (`/operator`), straight
//! on the node's database (the same configuration as `medgate serve`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use medgate_storage::StaffScope;

use super::staff::{self, StaffCommand};

#[derive(Debug, Args)]
pub struct OperatorArgs {
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
    pub command: OperatorCommand,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// The operators' logins to the web pages.
    #[command(subcommand)]
    User(StaffCommand),
}

pub fn run(args: OperatorArgs) -> anyhow::Result<ExitCode> {
    let OperatorCommand::User(command) = args.command;
    staff::with_metadata(
        args.config,
        args.data,
        args.database_url,
        args.init,
        |metadata| async move { staff::execute(&metadata, StaffScope::Operator, command).await },
    )
}
