//! `medgate connect-check URL`: the connection test a national platform asks a new
//! institution to run — TLS handshake with the institution's certificate, one signed probe,
//! a readable verdict with what to do, and optionally a signed report file
//! (`medgate pki verify-report` checks it).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use medgate_client::connect_check::{
    CertFacts, CheckSettings, ConnectCheck, ConnectReport, Identity, Severity, SigningKey,
};
use medgate_pki::files::{self, Visibility, WriteMode};
use medgate_pki::report;

use crate::output;

#[derive(Debug, Args)]
pub struct ConnectCheckArgs {
    /// The repository's address, e.g. https://repository.example:8443 (default: the
    /// `server` of --config).
    pub url: Option<String>,
    /// A clinic's client.toml: the address, certificates, keys, password file and CA not
    /// given as flags are taken from it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The institution's TLS client certificate (PEM; may hold the chain).
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// The TLS private key.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// A PKCS#12 file holding the TLS certificate and its key (as the clinical record
    /// service issues them), in place of --cert and --key; its password in --password-file.
    #[arg(long, conflicts_with_all = ["cert", "key"])]
    pub p12: Option<PathBuf>,
    /// The WSS (signing) certificate: signs the probe and the report. Without it the TLS key
    /// signs (and the server will say the signature is not the account's).
    #[arg(long)]
    pub wss_cert: Option<PathBuf>,
    /// The WSS private key.
    #[arg(long)]
    pub wss_key: Option<PathBuf>,
    /// Password file of encrypted keys.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// The repository's CA certificate (its DATA/ca/ca.pem). Without it the server's chain
    /// is shown but not verified.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Time limit of the whole check in milliseconds.
    #[arg(long, default_value_t = 15_000)]
    pub timeout_ms: u64,
    /// Write a signed report (JSON) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Replace an existing report file.
    #[arg(long)]
    pub force: bool,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ConnectCheckArgs) -> anyhow::Result<ExitCode> {
    let file = match &args.config {
        Some(path) => medgate_client::ClientSettingsFile::load(path)?,
        None => medgate_client::ClientSettingsFile::default(),
    };
    let url = args.url.clone().or(file.server).context(
        "give the repository's address (https://host:port) or --config client.toml with `server`",
    )?;
    let identity = match &args.p12 {
        Some(p12) => Identity::Pkcs12(p12.clone()),
        None => Identity::Pem {
            cert: args.cert.clone().or(file.tls_cert).context(
                "give --cert (the TLS client certificate), --p12, or --config client.toml with `tls_cert`",
            )?,
            key: args.key.clone().or(file.tls_key).context(
                "give --key (the TLS private key), --p12, or --config client.toml with `tls_key`",
            )?,
        },
    };
    let wss_cert = args.wss_cert.clone().or(file.wss_cert);
    let wss_key = args.wss_key.clone().or(file.wss_key);
    if wss_cert.is_some() != wss_key.is_some() {
        anyhow::bail!("give the WSS certificate and its key together (--wss-cert and --wss-key)");
    }
    let settings = CheckSettings {
        url,
        identity,
        wss_cert,
        wss_key,
        password_file: args.password_file.clone().or(file.password_file),
        ca: args.ca.clone().or(file.ca),
        timeout: Duration::from_millis(args.timeout_ms),
        tool: format!("medgate {}", env!("CARGO_PKG_VERSION")),
    };
    let check = ConnectCheck::new(&settings)?;
    if let Some(path) = &args.report {
        if path.exists() && !args.force {
            anyhow::bail!(
                "{}: already exists; pass --force to replace it",
                path.display()
            );
        }
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(check.run());

    let written = match &args.report {
        Some(path) => {
            let json = serde_json::to_vec_pretty(&result)?;
            let file = report::sign_report(&json, check.signing_certificate(), check.signing_key())
                .context("signing the report")?;
            let mode = if args.force {
                WriteMode::Replace
            } else {
                WriteMode::CreateNew
            };
            files::write(path, &file, mode, Visibility::Public)?;
            Some(path.clone())
        }
        None => None,
    };

    if args.json {
        output::print_json(&serde_json::to_value(&result)?)?;
    } else {
        print_text(&result);
        if let Some(path) = &written {
            let kind = match check.signing_key_kind() {
                SigningKey::Wss => "WSS",
                SigningKey::Tls => "TLS",
            };
            println!(
                "\nsigned report written to {} (signed with the {kind} key of {}); check it with \
                 `medgate pki verify-report {}`",
                path.display(),
                result.client.signing_certificate.subject,
                path.display()
            );
        }
    }
    if result.usable {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: {}", result.summary.replace('\n', " "));
        Ok(ExitCode::from(1))
    }
}

fn yes_no(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "unknown",
    }
}

fn ms(value: Option<f64>) -> String {
    value
        .map(|v| format!("{v:.1} ms"))
        .unwrap_or_else(|| "-".to_owned())
}

fn certificate_line(index: usize, cert: &CertFacts) -> String {
    let days = if cert.days_left < 0 {
        format!("EXPIRED {} day(s) ago", -cert.days_left)
    } else {
        format!("{} day(s) left", cert.days_left)
    };
    format!(
        "    {index}. {}\n       issuer {}\n       serial {}, valid until {} ({days})",
        cert.subject, cert.issuer, cert.serial, cert.not_after
    )
}

fn human_version(version: &str) -> String {
    match version.strip_prefix("TLSv") {
        Some(number) => format!("TLS {number}"),
        None => version.to_owned(),
    }
}

/// The report for a person: each step, then the findings with what to do.
fn print_text(report: &ConnectReport) {
    println!(
        "Connection check of {} ({}, {})",
        report.url, report.time, report.tool
    );
    println!();
    println!("Client");
    if let Some(tenant) = &report.client.tenant {
        println!("  account:            {tenant}");
    }
    let tls = &report.client.tls_certificate;
    println!(
        "  TLS certificate:    {} (serial {}, {} day(s) left)",
        tls.subject, tls.serial, tls.days_left
    );
    let signing = &report.client.signing_certificate;
    match report.client.signing_key {
        SigningKey::Wss => println!(
            "  signing (WSS):      {} (serial {}, {} day(s) left)",
            signing.subject, signing.serial, signing.days_left
        ),
        SigningKey::Tls => println!("  signing:            with the TLS key (no WSS key given)"),
    }

    println!();
    println!("Network");
    let connection = &report.connection;
    println!(
        "  address:            {}",
        connection
            .address
            .clone()
            .unwrap_or_else(|| format!("{}:{}", connection.host, connection.port))
    );
    println!(
        "  TCP connection:     {}",
        if connection.established {
            "established".to_owned()
        } else {
            format!(
                "FAILED: {}",
                connection.error.as_deref().unwrap_or("unknown reason")
            )
        }
    );

    if let Some(facts) = &report.tls {
        println!();
        println!("TLS");
        if facts.established {
            let version = facts.version.as_deref().unwrap_or("?");
            println!(
                "  protocol:           {} ({version})",
                human_version(version)
            );
            println!(
                "  cipher suite:       {}",
                facts.cipher_suite.as_deref().unwrap_or("?")
            );
            println!(
                "  ALPN:               {}",
                facts.alpn.as_deref().unwrap_or("none (HTTP/1.1)")
            );
        } else {
            println!(
                "  handshake:          FAILED: {}",
                facts.error.as_deref().unwrap_or("unknown reason")
            );
        }
        println!(
            "  server verified:    {} ({})",
            if facts.server_verified { "yes" } else { "NO" },
            facts.verification
        );
        println!(
            "  server chain:       {} certificate(s)",
            facts.server_chain.len()
        );
        for (index, cert) in facts.server_chain.iter().enumerate() {
            println!("{}", certificate_line(index + 1, cert));
        }
        match facts.client_certificate_requested {
            Some(true) => {
                let acceptable = if facts.acceptable_client_cas.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (acceptable CAs: {})",
                        facts.acceptable_client_cas.join(" | ")
                    )
                };
                let sent = if facts.established || facts.client_certificate_refused {
                    ", sent"
                } else {
                    ""
                };
                println!("  client certificate: requested by the server{acceptable}{sent}");
            }
            Some(false) => println!("  client certificate: NOT requested by the server"),
            None => {}
        }
        if let Some(alert) = &facts.alert {
            println!("  alert from server:  {alert}");
        }
    }

    println!();
    println!("Account");
    let verdict = &report.client_certificate;
    let accepted = match (verdict.accepted, &verdict.tenant) {
        (Some(true), Some(tenant)) => format!("yes (account {tenant})"),
        (Some(false), _) if verdict.refused_during_handshake => {
            "NO (refused during the TLS handshake)".to_owned()
        }
        (Some(false), _) => format!(
            "NO, not accepted: {}",
            verdict.code.as_deref().unwrap_or("?")
        ),
        (value, _) => yes_no(value).to_owned(),
    };
    println!("  certificate accepted: {accepted}");
    let signature = &report.signature;
    let signed_with = match signature.signed_with {
        SigningKey::Wss => "WSS key",
        SigningKey::Tls => "TLS key",
    };
    let valid = match signature.valid {
        Some(false) => format!(
            "NO: {} (signed with the {signed_with})",
            signature.code.as_deref().unwrap_or("?")
        ),
        value => format!(
            "{} (signed with the {signed_with}, keyid {})",
            yes_no(value),
            signature.keyid
        ),
    };
    println!("  signature valid:      {valid}");
    if let Some(probe) = &report.probe {
        println!(
            "  probe:                POST {} over {}: HTTP {}",
            probe.path, probe.http_version, probe.status
        );
    }
    match &report.clock {
        Some(clock) => println!(
            "  clock skew:           {:+.1} s (server {}, local {}){}",
            clock.skew_seconds,
            clock.server_time,
            clock.local_time,
            if clock.warning { " WARNING" } else { "" }
        ),
        None => println!("  clock skew:           unknown"),
    }

    println!();
    println!("Latency");
    let latency = &report.latency_ms;
    println!("  name lookup:        {}", ms(latency.dns));
    println!("  TCP connect:        {}", ms(latency.tcp_connect));
    println!("  TLS handshake:      {}", ms(latency.tls_handshake));
    println!("  request round trip: {}", ms(latency.request));

    println!();
    if report.findings.is_empty() {
        println!("Findings: none");
    } else {
        println!("Findings");
        for finding in &report.findings {
            let label = match finding.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "WARNING",
                Severity::Info => "note",
            };
            println!("  {label} [{}]: {}", finding.code, finding.message);
            if !finding.action.is_empty() {
                println!("      what to do: {}", finding.action);
            }
        }
    }
    println!();
    println!(
        "Result: {} ({} error(s), {} warning(s))",
        if report.usable {
            "the connection is usable"
        } else {
            "the connection is NOT usable"
        },
        report.count(Severity::Error),
        report.count(Severity::Warning)
    );
}
