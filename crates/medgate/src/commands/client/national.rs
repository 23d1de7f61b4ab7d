//! `client national register|revoke|find` and `client index`: the account's repository in
//! the national registry. The repository does the talking to the registry (with the national
//! certificates it keeps); this side uploads the PKCS#12 files and shows the answers.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine;
use clap::{Args, Subcommand};
use http::Method;
use medgate_client::{ClientSettings, ClientSettingsFile, RepositoryClient};
use serde_json::{json, Value};

use super::ClientArgs;
use crate::output::print_json;

#[derive(Debug, Subcommand)]
pub enum NationalCommand {
    /// Register the repository in the national registry with the national certificates
    /// (PKCS#12 files from the registry's operator); the registry answers the national
    /// repository id. For this command --password-file is the password of the two PKCS#12
    /// files; the client keys' own password comes from client.toml or --key-password-file.
    Register(RegisterArgs),
    /// Deregister from the national registry (its entries are withdrawn) and remove the
    /// national certificates.
    Revoke(RevokeArgs),
    /// Find a patient's documents in the national registry, across all repositories.
    Find(FindArgs),
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// PKCS#12 with the national TLS certificate and its key.
    #[arg(long)]
    pub tls_p12: PathBuf,
    /// PKCS#12 with the national WSS certificate and its key.
    #[arg(long)]
    pub wss_p12: PathBuf,
    /// Password file of the client's own (repository) keys, when they are encrypted and
    /// client.toml does not name it.
    #[arg(long)]
    pub key_password_file: Option<PathBuf>,
    /// Repository name the registry shows.
    #[arg(long)]
    pub name: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FindArgs {
    /// Patient identifier: PESEL (or another identifier value), or root^extension.
    #[arg(long)]
    pub patient: String,
    /// Only identifiers under this assigning authority OID.
    #[arg(long)]
    pub patient_root: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Document id (root^extension).
    pub id: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: &ClientArgs, command: &NationalCommand) -> anyhow::Result<ExitCode> {
    match command {
        NationalCommand::Register(a) => register(args, a).await,
        NationalCommand::Revoke(a) => revoke(args, a).await,
        NationalCommand::Find(a) => find(args, a).await,
    }
}

/// The connection for `register`: the global --password-file is the keystores' password
/// there, so the client keys' password comes from --key-password-file or client.toml.
fn connect_with_key_password(
    args: &ClientArgs,
    key_password_file: Option<PathBuf>,
) -> anyhow::Result<RepositoryClient> {
    let flags = ClientSettingsFile {
        server: args.server.clone(),
        tenant: args.tenant.clone(),
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        wss_cert: args.wss_cert.clone(),
        wss_key: args.wss_key.clone(),
        password_file: key_password_file,
        ca: args.ca.clone(),
        timeout_ms: args.timeout_ms,
    };
    let merged = match &args.config {
        Some(path) => flags.or(ClientSettingsFile::load(path)?),
        None => flags,
    };
    Ok(RepositoryClient::new(&ClientSettings::try_from(merged)?)?)
}

fn read_p12(path: &std::path::Path) -> anyhow::Result<String> {
    let bytes =
        std::fs::read(path).with_context(|| format!("{}: cannot be read", path.display()))?;
    if !medgate_pki::keystore::looks_like_pkcs12(&bytes) {
        anyhow::bail!("{}: is not a PKCS#12 (.p12/.pfx) file", path.display());
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

pub async fn register(args: &ClientArgs, register: &RegisterArgs) -> anyhow::Result<ExitCode> {
    let password_file = args.password_file.as_ref().context(
        "give the password of the PKCS#12 files with --password-file (national register --tls-p12 F --wss-p12 F --password-file P)",
    )?;
    let password = medgate_pki::Password::from_file(password_file)?;
    let body = json!({
        "tls_p12_base64": read_p12(&register.tls_p12)?,
        "wss_p12_base64": read_p12(&register.wss_p12)?,
        "password": password.expose(),
        "name": register.name,
    });
    let client = connect_with_key_password(args, register.key_password_file.clone())?;
    let answer: Value = client
        .send_json(Method::POST, "/api/v1/national/register", &body)
        .await?;
    if register.json {
        print_json(&answer)?;
    } else {
        for line in answer["log"].as_array().into_iter().flatten() {
            println!("[Info] {}", line.as_str().unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn revoke(args: &ClientArgs, revoke: &RevokeArgs) -> anyhow::Result<ExitCode> {
    let client = args.connect()?;
    let answer: Value = client
        .send(Method::POST, "/api/v1/national/revoke", None)
        .await?
        .json()?;
    if revoke.json {
        print_json(&answer)?;
    } else {
        println!(
            "deregistered repository {} from the national registry ({} entries withdrawn); national certificates removed; {} documents no longer indexed",
            answer["deregistered"].as_str().unwrap_or("-"),
            answer["withdrawn_entries"],
            answer["unindexed_documents"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn find(args: &ClientArgs, find: &FindArgs) -> anyhow::Result<ExitCode> {
    let client = args.connect()?;
    let mut path = format!(
        "/api/v1/national/find?patient={}",
        urlencoding::encode(find.patient.trim())
    );
    if let Some(root) = &find.patient_root {
        path.push_str(&format!(
            "&patient_root={}",
            urlencoding::encode(root.trim())
        ));
    }
    let answer: Value = client.get_json(&path).await?;
    if find.json {
        print_json(&answer)?;
    } else {
        print_entries(&answer);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_entries(answer: &Value) {
    let entries = answer["entries"].as_array().cloned().unwrap_or_default();
    let text = |value: &Value| value.as_str().unwrap_or("-").to_owned();
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                e["creationTime"]
                    .as_str()
                    .map(|t| t.chars().take(10).collect())
                    .unwrap_or_else(|| "-".into()),
                text(&e["uniqueId"]),
                text(&e["typeCode"]["code"]),
                text(&e["title"]),
                text(&e["repositoryUniqueId"]),
                text(&e["repository_url"]),
            ]
        })
        .collect();
    let headings = ["DATE", "ID", "TYPE", "TITLE", "REPOSITORY", "URL"];
    if entries.is_empty() {
        println!("no entries found in the national registry");
        return;
    }
    crate::output::print_table(headings, &rows);
    match entries.len() {
        1 => println!("1 entry in the national registry"),
        n => println!("{n} entries in the national registry"),
    }
}

pub async fn index(args: &ClientArgs, index: &IndexArgs) -> anyhow::Result<ExitCode> {
    let client = args.connect()?;
    let path = format!("/api/v1/documents/{}/index", urlencoding::encode(&index.id));
    let answer: Value = client.send(Method::POST, &path, None).await?.json()?;
    if index.json {
        print_json(&answer)?;
    } else {
        println!(
            "indexed {} in the national registry (repository {}) at {}",
            answer["document"].as_str().unwrap_or(&index.id),
            answer["national_repository_id"].as_str().unwrap_or("-"),
            answer["indexed_at"].as_str().unwrap_or("-")
        );
    }
    Ok(ExitCode::SUCCESS)
}
