//! `medgate ca …`: the operator's certificate authority.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use medgate_pki::ca::{CaFolder, CertificateAuthority, RevocationReason, Validity};
use medgate_pki::files::{self, Visibility, WriteMode};
use medgate_pki::{KeyAlgorithm, Password};
use time::OffsetDateTime;

use crate::output::{human_time, parse_time};

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create a CA (key + self-signed certificate) in a folder.
    Init(InitArgs),
    /// Issue a certificate from a CSR; the kind (TLS/WSS) is read from the CN.
    Sign(SignArgs),
    /// Issue a TLS server certificate with DNS names and IP addresses.
    IssueServer(IssueServerArgs),
    /// Revoke a certificate by serial number.
    Revoke(RevokeArgs),
    /// Write the current CRL.
    Crl(CrlArgs),
    /// List the certificates the CA has issued, with their revocation status.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder of the CA (created; must not already hold a CA).
    #[arg(long)]
    pub dir: PathBuf,
    /// Name of the CA (its CN).
    #[arg(long)]
    pub name: String,
    /// Validity of the CA certificate in days.
    #[arg(long, default_value_t = 3650)]
    pub days: u32,
    /// Key algorithm: rsa2048, rsa3072 or p256.
    #[arg(long, default_value = "rsa3072")]
    pub algorithm: String,
    /// Encrypt the CA key with the password in this file.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// Folder of the CA.
    #[arg(long)]
    pub dir: PathBuf,
    /// The CSR to sign (PEM or DER).
    #[arg(long)]
    pub csr: PathBuf,
    /// Output certificate (PEM).
    #[arg(long)]
    pub out: PathBuf,
    /// Validity in days from now (default 730: two years, as the national CAs issue).
    #[arg(long, conflicts_with_all = ["not_before", "not_after"])]
    pub days: Option<u32>,
    /// Start of validity (YYYY-MM-DD or RFC 3339).
    #[arg(long, requires = "not_after")]
    pub not_before: Option<String>,
    /// End of validity (YYYY-MM-DD or RFC 3339).
    #[arg(long, requires = "not_before")]
    pub not_after: Option<String>,
    /// Password file of the CA key, when it is encrypted.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Print JSON instead of text (the certificate's file, subject, serial, dates, usages).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IssueServerArgs {
    /// Folder of the CA.
    #[arg(long)]
    pub dir: PathBuf,
    /// DNS names (the first is also the CN).
    #[arg(long = "dns", num_args = 1..)]
    pub dns_names: Vec<String>,
    /// IP addresses.
    #[arg(long = "ip", num_args = 1..)]
    pub ip_addresses: Vec<String>,
    /// Output certificate (PEM).
    #[arg(long)]
    pub out: PathBuf,
    /// Output private key (PEM, mode 0600).
    #[arg(long)]
    pub key_out: PathBuf,
    /// Validity in days.
    #[arg(long, default_value_t = 397)]
    pub days: u32,
    /// Key algorithm: rsa2048, rsa3072 or p256.
    #[arg(long, default_value = "p256")]
    pub algorithm: String,
    /// Password file of the CA key, when it is encrypted.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Folder of the CA.
    #[arg(long)]
    pub dir: PathBuf,
    /// Serial number in hex (as `pki inspect` prints it; colons allowed).
    #[arg(long)]
    pub serial: String,
    /// Reason: unspecified, key-compromise, ca-compromise, affiliation-changed, superseded,
    /// cessation-of-operation, certificate-hold, privilege-withdrawn.
    #[arg(long, default_value = "unspecified")]
    pub reason: String,
    /// Data folder of the node that uses this CA, when the CA folder is not DATA/ca (the
    /// revocation is recorded in the node's database, which every node reads).
    #[arg(long, visible_alias = "data-dir")]
    pub data: Option<PathBuf>,
    /// postgres://… of the database the nodes share.
    #[arg(long)]
    pub database_url: Option<String>,
    /// TOML configuration file of the node.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// How long to wait for the running nodes to confirm, in seconds.
    #[arg(long, default_value_t = 5)]
    pub wait_seconds: u64,
}

#[derive(Debug, Args)]
pub struct CrlArgs {
    /// Folder of the CA.
    #[arg(long)]
    pub dir: PathBuf,
    /// Output CRL (PEM).
    #[arg(long)]
    pub out: PathBuf,
    /// Days until the CRL's nextUpdate.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Password file of the CA key, when it is encrypted.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Folder of the CA.
    #[arg(long)]
    pub dir: PathBuf,
}

pub fn run(command: CaCommand) -> anyhow::Result<ExitCode> {
    match command {
        CaCommand::Init(args) => init(args),
        CaCommand::Sign(args) => sign(args),
        CaCommand::IssueServer(args) => issue_server(args),
        CaCommand::Revoke(args) => revoke(args),
        CaCommand::Crl(args) => crl(args),
        CaCommand::List(args) => list(args),
    }
    .map(|()| ExitCode::SUCCESS)
}

fn password(file: Option<&Path>) -> anyhow::Result<Option<Password>> {
    Ok(file.map(Password::from_file).transpose()?)
}

/// Checks an output file before the CA issues anything, so that a certificate is never
/// recorded as issued and then lost because its file could not be written.
fn check_output(path: &Path, force: bool) -> anyhow::Result<WriteMode> {
    let mode = if force {
        WriteMode::Replace
    } else {
        WriteMode::CreateNew
    };
    medgate_pki::files::check_writable(path, mode)?;
    Ok(mode)
}

fn init(args: InitArgs) -> anyhow::Result<()> {
    let algorithm = KeyAlgorithm::parse(&args.algorithm)?;
    let password = password(args.password_file.as_deref())?;
    let validity = Validity::days_from_now(args.days)?;
    let ca = CertificateAuthority::init(
        &args.dir,
        &args.name,
        algorithm,
        validity,
        password.as_ref(),
    )?;
    let summary = ca.certificate().summary()?;
    println!(
        "created CA \"{}\" in {}",
        args.name.trim(),
        args.dir.display()
    );
    println!(
        "  certificate: {} (serial {}, valid until {})",
        ca.folder().certificate_path().display(),
        summary.serial_hex,
        human_time(summary.not_after)
    );
    println!(
        "  private key: {} ({}, {})",
        ca.folder().key_path().display(),
        summary.key_description,
        if password.is_some() {
            "encrypted, mode 0600"
        } else {
            "NOT encrypted, mode 0600"
        }
    );
    println!("  SHA-256 fingerprint: {}", summary.sha256_fingerprint);
    if password.is_none() {
        eprintln!("note: the CA key is not encrypted; consider --password-file");
    }
    Ok(())
}

fn sign_validity(args: &SignArgs) -> anyhow::Result<Validity> {
    match (&args.not_before, &args.not_after) {
        (Some(not_before), Some(not_after)) => {
            let not_before = parse_time(not_before).context("--not-before")?;
            let not_after = parse_time(not_after).context("--not-after")?;
            Validity::new(not_before, not_after)
                .context("--not-after must be later than --not-before")
        }
        _ => Ok(Validity::days_from_now(args.days.unwrap_or(730))?),
    }
}

fn sign(args: SignArgs) -> anyhow::Result<()> {
    let validity = sign_validity(&args)?;
    let mode = check_output(&args.out, args.force)?;
    let password = password(args.password_file.as_deref())?;
    let ca = CertificateAuthority::open(&args.dir, password.as_ref())?;
    let csr = files::read(&args.csr)?;
    let certificate = ca.sign_csr(&csr, &args.csr, validity)?;
    files::write(
        &args.out,
        certificate.to_pem().as_bytes(),
        mode,
        Visibility::Public,
    )?;
    let summary = certificate.summary()?;
    let kind = summary
        .kind()
        .map(|kind| kind.to_string())
        .unwrap_or_default();
    if args.json {
        crate::output::print_json(&serde_json::json!({
            "kind": kind,
            "file": args.out.display().to_string(),
            "subject": summary.subject,
            "serial": summary.serial_hex,
            "not_before": crate::output::rfc3339(summary.not_before),
            "not_after": crate::output::rfc3339(summary.not_after),
            "usages": summary.usages.names(),
        }))?;
        return Ok(());
    }
    println!("issued {kind} certificate {}", args.out.display());
    println!("  subject: {}", summary.subject);
    println!("  serial:  {}", summary.serial_hex);
    println!(
        "  valid:   {} to {}",
        human_time(summary.not_before),
        human_time(summary.not_after)
    );
    println!("  usages:  {}", summary.usages.names().join(", "));
    Ok(())
}

fn issue_server(args: IssueServerArgs) -> anyhow::Result<()> {
    let algorithm = KeyAlgorithm::parse(&args.algorithm)?;
    let ips = args
        .ip_addresses
        .iter()
        .map(|text| {
            text.trim()
                .parse::<IpAddr>()
                .map_err(|_| anyhow::anyhow!("--ip '{text}' is not an IPv4 or IPv6 address"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.dns_names.is_empty() && ips.is_empty() {
        anyhow::bail!("give at least one --dns NAME or --ip ADDRESS for the server certificate");
    }
    let validity = Validity::days_from_now(args.days)?;
    if args.out == args.key_out {
        anyhow::bail!(
            "--out and --key-out are the same file ({}); give two file names",
            args.out.display()
        );
    }
    let cert_mode = check_output(&args.out, args.force)?;
    let key_mode = check_output(&args.key_out, args.force)?;
    let password = password(args.password_file.as_deref())?;
    let ca = CertificateAuthority::open(&args.dir, password.as_ref())?;
    let (certificate, key) = ca.issue_server(&args.dns_names, &ips, algorithm, validity)?;
    key.save(&args.key_out, None, key_mode)?;
    files::write(
        &args.out,
        certificate.to_pem().as_bytes(),
        cert_mode,
        Visibility::Public,
    )?;
    let summary = certificate.summary()?;
    let mut names = summary.dns_names.clone();
    names.extend(summary.ip_addresses.iter().cloned());
    println!("issued server certificate {}", args.out.display());
    println!("  subject: {}", summary.subject);
    println!("  names:   {}", names.join(", "));
    println!("  serial:  {}", summary.serial_hex);
    println!("  valid:   until {}", human_time(summary.not_after));
    println!(
        "  private key: {} ({}, not encrypted, mode 0600)",
        args.key_out.display(),
        key.describe()
    );
    Ok(())
}

fn revoke(args: RevokeArgs) -> anyhow::Result<()> {
    let reason = RevocationReason::parse(&args.reason)?;
    let folder = CaFolder::open(&args.dir)?;
    let record = folder.revoke(&args.serial, reason)?;
    println!(
        "revoked {} ({}), reason: {reason}",
        record.serial_hex, record.subject
    );
    let revoked_at = record
        .revocation
        .as_ref()
        .map_or_else(OffsetDateTime::now_utc, |r| r.at);
    match node_database(&args)? {
        Some(config) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(confirm_revocation(
                &config,
                &record.serial_hex,
                reason.name(),
                revoked_at,
                std::time::Duration::from_secs(args.wait_seconds),
            ))?;
        }
        None => println!(
            "A node using this CA folder refuses it within a second; no node database was found \
             beside {} (give --data, --database-url or --config to record it there and have the \
             running nodes confirm).",
            args.dir.display()
        ),
    }
    // The nodes re-issue DATA/ca/crl.pem themselves; a CRL for elsewhere needs the CA key,
    // and so its password when it is encrypted.
    let key_encrypted = std::fs::read_to_string(folder.key_path())
        .map(|text| text.contains("ENCRYPTED PRIVATE KEY"))
        .unwrap_or(false);
    println!(
        "Publish a CRL elsewhere with `medgate ca crl --dir {} --out FILE{}`.",
        args.dir.display(),
        if key_encrypted { " --password-file CA-PASSWORD-FILE" } else { "" }
    );
    Ok(())
}

/// The configuration of the node whose database should learn of a revocation: the one named
/// by --data/--database-url/--config, else the node whose data folder holds this CA folder.
fn node_database(
    args: &RevokeArgs,
) -> anyhow::Result<Option<medgate_server::config::ServerConfig>> {
    use medgate_server::config::{Overrides, ServerConfig};
    let explicit = args.data.is_some() || args.database_url.is_some() || args.config.is_some();
    let data_dir = match (&args.data, explicit) {
        (Some(data), _) => Some(data.clone()),
        (None, true) => None,
        (None, false) => {
            let dir = std::fs::canonicalize(&args.dir).unwrap_or_else(|_| args.dir.clone());
            match dir.parent() {
                Some(parent) if parent.join("medgate.db").is_file() => Some(parent.to_path_buf()),
                _ => return Ok(None),
            }
        }
    };
    let config = ServerConfig::load(
        args.config.as_deref(),
        &Overrides {
            data_dir,
            database_url: args.database_url.clone(),
            ..Overrides::default()
        },
    )?;
    if config.database_url.starts_with("sqlite:") && !config.data_dir.join("medgate.db").is_file() && args.database_url.is_none() {
        anyhow::bail!(
            "the certificate is revoked in {}, but there is no node database at {}: give the node's data folder with --data (or --database-url)",
            args.dir.display(),
            config.data_dir.join("medgate.db").display()
        );
    }
    Ok(Some(config))
}

/// Records the revocation in the node database and waits until every node that is running
/// on it says it enforces it.
async fn confirm_revocation(
    config: &medgate_server::config::ServerConfig,
    serial_hex: &str,
    reason: &str,
    revoked_at: OffsetDateTime,
    wait: std::time::Duration,
) -> anyhow::Result<()> {
    let metadata = medgate_server::startup::open_metadata(config).await?;
    let started = std::time::Instant::now();
    let (seq, _) = metadata.record_revocation(serial_hex, reason, revoked_at).await?;
    let database = medgate_server::config::redact_url(&config.database_url);
    // A running node says what it applies at least every 2 s. One not heard from for 10 s is
    // not running; one that falls silent meanwhile was stopped, or cannot read the database —
    // and then refuses every certificate after 3 s anyway.
    let alive_since = OffsetDateTime::now_utc() - time::Duration::seconds(10);
    let silent_after = time::Duration::seconds(3);
    let result = loop {
        let nodes = metadata.node_revocation_status(alive_since).await?;
        let now = OffsetDateTime::now_utc();
        let confirmed = nodes.iter().filter(|n| n.applied_seq >= seq).count();
        let (silent, waiting): (Vec<_>, Vec<_>) = nodes
            .iter()
            .filter(|n| n.applied_seq < seq)
            .partition(|n| n.seen_at < now - silent_after);
        if nodes.is_empty() {
            println!(
                "recorded in the node database ({database}); no node is running on it now, and every node refuses the certificate from its start"
            );
            break Ok(());
        }
        let waited = started.elapsed();
        if waiting.is_empty() && (silent.is_empty() || waited >= std::time::Duration::from_secs(3)) {
            if confirmed > 0 {
                println!(
                    "took effect: {confirmed} running node{} refuse{} the certificate from the next request on (confirmed after {:.1} s)",
                    if confirmed == 1 { "" } else { "s" },
                    if confirmed == 1 { "s" } else { "" },
                    waited.as_secs_f64()
                );
            }
            for node in &silent {
                println!(
                    "node {} has not been heard from since {} (stopped, or it cannot read the database and refuses every certificate until it can)",
                    node.node_id,
                    human_time(node.seen_at)
                );
            }
            break Ok(());
        }
        if waited >= wait {
            break Err(anyhow::anyhow!(
                "the revocation is recorded in the node database ({database}), but {} running node(s) did not confirm it within {} s ({}): check their logs",
                waiting.len(),
                wait.as_secs(),
                waiting.iter().map(|n| n.node_id.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    metadata.close().await;
    result
}

fn crl(args: CrlArgs) -> anyhow::Result<()> {
    if args.days == 0 {
        anyhow::bail!("--days must be at least 1");
    }
    let mode = check_output(&args.out, true)?;
    let password = password(args.password_file.as_deref())?;
    let ca = CertificateAuthority::open(&args.dir, password.as_ref())?;
    let next_update = OffsetDateTime::now_utc() + time::Duration::days(i64::from(args.days));
    let crl = ca.crl(next_update)?;
    files::write(&args.out, crl.to_pem().as_bytes(), mode, Visibility::Public)?;
    println!(
        "wrote CRL number {} to {}: {} revoked certificate(s), next update {}",
        crl.number,
        args.out.display(),
        crl.revoked_count,
        human_time(crl.next_update)
    );
    Ok(())
}

fn list(args: ListArgs) -> anyhow::Result<()> {
    let records = CaFolder::open(&args.dir)?.issued()?;
    if records.is_empty() {
        println!(
            "no certificates issued yet by the CA in {}",
            args.dir.display()
        );
        return Ok(());
    }
    for record in records {
        let status = match &record.revocation {
            Some(revocation) => format!(
                "revoked {} ({})",
                human_time(revocation.at),
                revocation.reason
            ),
            None => format!("valid until {}", human_time(record.not_after)),
        };
        println!(
            "{}  {:<6}  {}  {}",
            record.serial_hex,
            record.profile.name(),
            status,
            record.subject
        );
    }
    Ok(())
}
