//! The command tree. Each group of subcommands lives in its own module with its arguments
//! and a `run` function; this module only routes.

use std::process::ExitCode;

use clap::Subcommand;

mod agent;
mod audit;
mod backup;
mod bench;
mod ca;
mod claims;
mod claims_documents;
mod claims_fund;
mod claims_nsi;
mod claims_signer_ca;
mod claims_signing;
mod clinical;
mod client;
mod connect_check;
mod demo;
mod healthcheck;
mod id;
mod manual;
mod operator;
mod pki;
mod serve;
mod staff;
mod tenant;

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate identifiers (PESEL, NIP, REGON, TAJ, OID, tenant id).
    #[command(subcommand)]
    Id(id::IdCommand),
    /// Keys, CSRs, inspection, diagnosis, keystores, expiry, signatures.
    #[command(subcommand)]
    Pki(pki::PkiCommand),
    /// Certificate authority: create, issue, revoke, publish the CRL.
    #[command(subcommand)]
    Ca(ca::CaCommand),
    /// Show the whole product: a repository and a national registry in one process, two
    /// clinics with documents, consents and logins; prints the desks and passwords (demo only).
    Demo(demo::DemoArgs),
    /// Run a repository (or registry) node.
    Serve(serve::ServeArgs),
    /// Operator: create, list, suspend and resume accounts.
    Tenant(tenant::TenantArgs),
    /// A clinic system's client of the repository API.
    Client(client::ClientArgs),
    /// Check a connection to a repository with the institution's certificate; write a signed report.
    ConnectCheck(connect_check::ConnectCheckArgs),
    /// Measure ingestion through the HTTPS API on a temporary node (documents/s, latency,
    /// memory); `bench claims`: the claims registers' FLK + MEK against `xmllint --stream`.
    Bench(bench::BenchArgs),
    /// Watch an outbox folder and upload documents to the repository per type policy.
    Agent(agent::AgentArgs),
    /// Operator: verify the audit log's hash chain, list entries.
    Audit(audit::AuditArgs),
    /// Operator: one archive of a running node (database snapshot, content, CA and secrets
    /// encrypted with a passphrase, a manifest of hashes).
    Backup(backup::BackupArgs),
    /// Operator: a node from a backup, into a new folder, every hash checked.
    Restore(backup::RestoreArgs),
    /// Operator: the operators' logins to the web pages.
    Operator(operator::OperatorArgs),
    /// Operator of the clinical record service: institutions, units, practitioners, the
    /// authorisation matrix, institution certificates.
    Clinical(clinical::ClinicalArgs),
    /// Claims registers (Russia, OMS): check a package (format-logical control), generate one;
    /// the fund operator's registry of a claims node (MOs, SMOs, periods, logins).
    Claims(claims::ClaimsArgs),
    /// Print the shell completion script for bash, zsh or fish on standard output.
    Completions(manual::CompletionsArgs),
    /// Write the manual pages (one for each command) into a folder.
    Man(manual::ManArgs),
    /// Ask a running node's /healthz (its certificate checked against its CA): exit 0 when
    /// healthy; the container image's health check.
    Healthcheck(healthcheck::HealthcheckArgs),
}

/// Runs one command and returns the exit status it chose.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Id(command) => id::run(command),
        Command::Pki(command) => pki::run(command),
        Command::Ca(command) => ca::run(command),
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Tenant(args) => tenant::run(args),
        Command::Client(args) => client::run(args),
        Command::ConnectCheck(args) => connect_check::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Backup(args) => backup::run_backup(args),
        Command::Restore(args) => backup::run_restore(args),
        Command::Operator(args) => operator::run(args),
        Command::Clinical(args) => clinical::run(args),
        Command::Claims(args) => claims::run(args),
        Command::Completions(args) => manual::completions(args),
        Command::Man(args) => manual::man(args),
        Command::Healthcheck(args) => healthcheck::run(args),
    }
}
