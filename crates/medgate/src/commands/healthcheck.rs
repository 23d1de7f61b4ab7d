//! `medgate healthcheck`: asks a running node's `/healthz` over HTTPS, checking its server
//! certificate against the node's own CA, and exits 0 when it answers `ok`. It is the
//! container image's `HEALTHCHECK` (a distroless image has no curl) and works for any
//! supervisor that runs a command.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use medgate_server::config::{Overrides, ServerConfig};

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The node's TOML configuration file (as `serve --config`); with MEDGATE_* variables it
    /// gives the listen address and the data folder.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The node's data folder (its ca/ca.pem issued the node's certificate).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// URL to ask (default https://ADDRESS:PORT/healthz from the configured listen address,
    /// 127.0.0.1 when it listens on every address).
    #[arg(long)]
    pub url: Option<String>,
    /// The CA certificate that issued the node's server certificate (default DATA/ca/ca.pem).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// How long to wait for the answer, in seconds.
    #[arg(long, default_value_t = 5)]
    pub timeout_seconds: u64,
}

pub fn run(args: HealthcheckArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig::load(
        args.config.as_deref(),
        &Overrides {
            data_dir: args.data,
            ..Overrides::default()
        },
    )?;
    let url = args.url.unwrap_or_else(|| healthz_url(config.listen));
    let ca_file = args
        .ca_file
        .unwrap_or_else(|| config.data_dir.join("ca").join("ca.pem"));
    let pem = std::fs::read(&ca_file).with_context(|| {
        format!(
            "{}: the node's CA certificate cannot be read",
            ca_file.display()
        )
    })?;
    let ca = reqwest::Certificate::from_pem(&pem)
        .with_context(|| format!("{}: not a PEM certificate", ca_file.display()))?;
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(args.timeout_seconds))
        .build()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, body) = runtime.block_on(async {
        let response = client
            .get(&url)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{url}: no answer: {}", chain(&e)))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        anyhow::Ok((status, body))
    })?;
    if !status.is_success() {
        bail!("{url}: answered {status}: {}", body.trim());
    }
    println!("healthy: {url} answered {status}: {}", body.trim());
    Ok(ExitCode::SUCCESS)
}

/// `https://IP:PORT/healthz` for a listen address; an unspecified address (0.0.0.0, ::) is
/// asked on loopback, which the node's certificate always names.
fn healthz_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("https://{}/healthz", SocketAddr::new(ip, listen.port()))
}

/// An error with its causes, which say why a connection failed (refused, certificate).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
