//! `medgate client …`: a clinic system's side of the repository API. Connection settings
//! come from `--config client.toml` and the flags (flags win); every request goes through
//! one [`RepositoryClient`] (mutual TLS + RFC 9421 signature).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use medgate_client::{ClientSettings, ClientSettingsFile, RepositoryClient};

mod account;
mod admin_user;
mod audit;
mod claims;
mod clinical;
mod consent;
pub(crate) mod documents;
mod national;
mod organisation;

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// client.toml with server, tenant, certificate and key paths.
    #[arg(long, global = true, help_heading = "Connection")]
    pub config: Option<PathBuf>,
    /// Repository URL, e.g. https://127.0.0.1:8443.
    #[arg(long, global = true, help_heading = "Connection")]
    pub server: Option<String>,
    /// Account id (16 digits).
    #[arg(long, global = true, help_heading = "Connection")]
    pub tenant: Option<String>,
    /// TLS client certificate.
    #[arg(long, global = true, help_heading = "Connection")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key.
    #[arg(long, global = true, help_heading = "Connection")]
    pub tls_key: Option<PathBuf>,
    /// WSS (signing) certificate.
    #[arg(long, global = true, help_heading = "Connection")]
    pub wss_cert: Option<PathBuf>,
    /// WSS private key.
    #[arg(long, global = true, help_heading = "Connection")]
    pub wss_key: Option<PathBuf>,
    /// Password file of encrypted keys.
    #[arg(long, global = true, help_heading = "Connection")]
    pub password_file: Option<PathBuf>,
    /// The repository's CA certificate (its DATA/ca/ca.pem).
    #[arg(long, global = true, help_heading = "Connection")]
    pub ca: Option<PathBuf>,
    /// Time limit of each request in milliseconds (default 15000).
    #[arg(long, global = true, help_heading = "Connection")]
    pub timeout_ms: Option<u64>,
    #[command(subcommand)]
    pub command: ClientCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register the TLS and WSS certificates and activate the account.
    Activate(account::ActivateArgs),
    /// Show the account: status, ids, quota, certificates, warnings.
    Account(account::AccountArgs),
    /// Replace the account's TLS and/or WSS certificates.
    UpdateCerts(account::UpdateCertsArgs),
    /// Upload a CDA document, or every file of a folder.
    Put(documents::PutArgs),
    /// Upload an attachment (scan, photo, PDF) for a patient.
    PutAttachment(documents::PutAttachmentArgs),
    /// Search documents.
    Search(documents::SearchArgs),
    /// Download a document's original bytes.
    Get(documents::GetArgs),
    /// Download a document rendered as HTML.
    Render(documents::RenderArgs),
    /// Download a ZIP with the XML, its stylesheet and attachments.
    Export(documents::ExportArgs),
    /// Delete a document for good.
    Delete(documents::DeleteArgs),
    /// Index a document in the national registry.
    Index(national::IndexArgs),
    /// The national registry: register, revoke, find a patient's documents.
    #[command(subcommand)]
    National(national::NationalCommand),
    /// Organisational structure: push from a TOML file, show.
    #[command(subcommand)]
    Org(organisation::OrgCommand),
    /// Document types and their archiving policy.
    #[command(subcommand)]
    Types(organisation::TypesCommand),
    /// The account's audit log: who did what, when, from where (optionally for one patient).
    Audit(audit::AuditArgs),
    /// Consent register: share a patient's documents on the patient portal.
    #[command(subcommand)]
    Consent(consent::ConsentCommand),
    /// The account's administrator logins for the web pages (/admin).
    #[command(subcommand)]
    AdminUser(admin_user::AdminUserCommand),
    /// The clinical record service (Hungary): the institution's setup, practitioners'
    /// sign-in, encounters, documents, profile, referrals.
    Clinical(clinical::ClinicalArgs),
    /// An MO's information system at a claims node (Russia, OMS): setup with the fund's
    /// certificate, upload of packages with their control followed, findings, protocols.
    Claims(claims::ClaimsArgs),
}

impl ClientArgs {
    /// Merges flags over the config file into validated settings.
    pub fn settings(&self) -> anyhow::Result<ClientSettings> {
        let flags = ClientSettingsFile {
            server: self.server.clone(),
            tenant: self.tenant.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            wss_cert: self.wss_cert.clone(),
            wss_key: self.wss_key.clone(),
            password_file: self.password_file.clone(),
            ca: self.ca.clone(),
            timeout_ms: self.timeout_ms,
        };
        let merged = match &self.config {
            Some(path) => flags.or(ClientSettingsFile::load(path)?),
            None => flags,
        };
        Ok(ClientSettings::try_from(merged)?)
    }

    /// Builds the connected client.
    pub fn connect(&self) -> anyhow::Result<RepositoryClient> {
        Ok(RepositoryClient::new(&self.settings()?)?)
    }
}

pub fn run(args: ClientArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        match &args.command {
            ClientCommand::Activate(a) => account::activate(&args, a).await,
            ClientCommand::Account(a) => account::show(&args, a).await,
            ClientCommand::UpdateCerts(a) => account::update_certs(&args, a).await,
            ClientCommand::Put(a) => documents::put(&args, a).await,
            ClientCommand::PutAttachment(a) => documents::put_attachment(&args, a).await,
            ClientCommand::Search(a) => documents::search(&args, a).await,
            ClientCommand::Get(a) => documents::get(&args, a).await,
            ClientCommand::Render(a) => documents::render(&args, a).await,
            ClientCommand::Export(a) => documents::export(&args, a).await,
            ClientCommand::Delete(a) => documents::delete(&args, a).await,
            ClientCommand::Index(a) => national::index(&args, a).await,
            ClientCommand::National(c) => national::run(&args, c).await,
            ClientCommand::Org(c) => organisation::run_org(&args, c).await,
            ClientCommand::Types(c) => organisation::run_types(&args, c).await,
            ClientCommand::Audit(a) => audit::list(&args, a).await,
            ClientCommand::Consent(c) => consent::run(&args, c).await,
            ClientCommand::AdminUser(c) => admin_user::run(&args, c).await,
            ClientCommand::Clinical(c) => clinical::run(&args, c).await,
            ClientCommand::Claims(c) => claims::run(&args, c).await,
        }
    })
}
