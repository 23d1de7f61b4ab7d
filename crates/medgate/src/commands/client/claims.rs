//! `medgate client claims …`: an MO's information system at the fund's claims node (a node
//! of `--role claims`), over `medgate_client::claims`. `setup` checks the system's PKCS#12
//! and one-time code and keeps them in a folder (`--config-dir`); `upload` pushes a package
//! with a progress bar for the bytes sent, then one for the control (polling), and prints
//! the outcome — exit code 1 when the package has findings or was refused; `status`,
//! `list`, `findings` and `protocol` read what the node holds. Without a terminal the bars
//! are plain lines.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use medgate_client::claims::{ClaimsClient, ClaimsFolder, SystemCredentials, PROGRESS_DONE};
use medgate_pki::Password;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::ClientArgs;
use crate::output::{print_json, rfc3339};

/// How many findings `upload` prints.
const FIRST_FINDINGS: usize = 5;

#[derive(Debug, Args)]
pub struct ClaimsArgs {
    /// The folder holding the MO system's setup (default $XDG_CONFIG_HOME/medgate/claims,
    /// else ~/.config/medgate/claims).
    #[arg(long, global = true, help_heading = "Claims node")]
    pub config_dir: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: ClaimsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClaimsCommand {
    /// Set the MO's system up: the node's URL and the certificate the fund issued as
    /// PKCS#12 with its one-time code (checked first; nothing is kept when refused).
    Setup {
        /// The claims node's URL, e.g. https://claims.example:9443.
        #[arg(long)]
        url: String,
        /// The PKCS#12 file from `medgate claims mo certificate issue`.
        #[arg(long)]
        p12: PathBuf,
        /// Its one-time code.
        #[arg(long)]
        code: String,
    },
    /// Push a package (ZIP) and follow its control; exit code 1 when it has findings or
    /// is refused.
    Upload {
        /// The package, e.g. HM140001S14002_250101.zip.
        file: PathBuf,
        /// The reporting period, YYYY-MM (default: the one the file name names).
        #[arg(long)]
        period: Option<String>,
        /// Push only; do not wait for the control.
        #[arg(long)]
        no_wait: bool,
    },
    /// A package's status and control progress.
    Status {
        /// The package's id.
        id: i64,
    },
    /// The MO's packages, newest first.
    List,
    /// A package's findings.
    Findings {
        /// The package's id.
        id: i64,
    },
    /// Save a concluded package's V protocol (a ZIP).
    Protocol {
        /// The package's id.
        id: i64,
        /// The file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
}

fn folder(args: &ClaimsArgs) -> anyhow::Result<ClaimsFolder> {
    if let Some(dir) = &args.config_dir {
        return Ok(ClaimsFolder::new(dir));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))
        .ok_or_else(|| {
            anyhow!("no --config-dir given and neither XDG_CONFIG_HOME nor HOME is set")
        })?;
    Ok(ClaimsFolder::new(base.join("medgate").join("claims")))
}

fn connect(client: &ClientArgs, args: &ClaimsArgs) -> anyhow::Result<ClaimsClient> {
    let setup = folder(args)?.load(OffsetDateTime::now_utc())?;
    let timeout = match client.timeout_ms {
        Some(0) => return Err(anyhow!("--timeout-ms must be above 0")),
        Some(ms) => Duration::from_millis(ms),
        None => Duration::from_secs(30),
    };
    Ok(ClaimsClient::new(&setup.url, setup.credentials, timeout)?)
}

pub async fn run(client: &ClientArgs, args: &ClaimsArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        ClaimsCommand::Setup { url, p12, code } => setup(args, url, p12, code),
        ClaimsCommand::Upload {
            file,
            period,
            no_wait,
        } => {
            upload(
                &connect(client, args)?,
                args,
                file,
                period.as_deref(),
                *no_wait,
            )
            .await
        }
        ClaimsCommand::Status { id } => {
            let package = connect(client, args)?.package(*id).await?;
            if args.json {
                print_json(&package)?;
            } else {
                println!("{}", package_line(&package));
            }
            Ok(ExitCode::SUCCESS)
        }
        ClaimsCommand::List => {
            let list = connect(client, args)?.packages().await?;
            if args.json {
                print_json(&list)?;
            } else {
                for package in list["packages"].as_array().into_iter().flatten() {
                    println!("{}", package_line(package));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ClaimsCommand::Findings { id } => {
            let found = connect(client, args)?.findings(*id).await?;
            if args.json {
                print_json(&found)?;
            } else {
                println!("{}", package_line(&found["package"]));
                for finding in found["flk"].as_array().into_iter().flatten() {
                    println!("  {}", finding_line(finding));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ClaimsCommand::Protocol { id, out } => {
            if out.exists() {
                return Err(anyhow!("{} exists already; name a new file", out.display()));
            }
            let protocol = connect(client, args)?.protocol(*id).await?;
            std::fs::write(out, &protocol.bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            if args.json {
                print_json(
                    &json!({"file_name": protocol.file_name, "out": out, "bytes": protocol.bytes.len()}),
                )?;
            } else {
                println!(
                    "protocol {} ({} bytes) written to {}",
                    protocol.file_name,
                    protocol.bytes.len(),
                    out.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn setup(args: &ClaimsArgs, url: &str, p12: &Path, code: &str) -> anyhow::Result<ExitCode> {
    let url = url::Url::parse(url.trim()).with_context(|| format!("--url '{url}' is not a URL"))?;
    if url.scheme() != "https" {
        return Err(anyhow!("--url {url} must start with https://"));
    }
    let bytes = std::fs::read(p12).with_context(|| format!("cannot read {}", p12.display()))?;
    let credentials = SystemCredentials::open(
        &bytes,
        p12,
        &Password::new(code.trim().to_owned()),
        None,
        OffsetDateTime::now_utc(),
    )?;
    let folder = folder(args)?;
    folder.save(&url, &credentials)?;
    if args.json {
        print_json(&json!({
            "mo": credentials.mo(),
            "url": url.as_str(),
            "certificate_serial": credentials.serial_hex(),
            "certificate_not_after": rfc3339(credentials.not_after()),
            "config_dir": folder.dir(),
        }))?;
    } else {
        println!(
            "the information system of MO {} set up for {url}: certificate {} valid until {}; kept in {}",
            credentials.mo(),
            credentials.serial_hex(),
            rfc3339(credentials.not_after()),
            folder.dir().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn package_line(package: &Value) -> String {
    let outcome = match package["status"].as_str().unwrap_or("") {
        "refused" => format!(
            "refused: F012 {} — {}",
            package["refusal"]["code"],
            package["refusal"]["message"].as_str().unwrap_or("")
        ),
        "flk_errors" => format!("{} FLK findings", package["findings"]),
        "accepted" => "accepted".to_owned(),
        other => format!(
            "{other} ({} %)",
            package["progress"].as_u64().unwrap_or(0) / 10
        ),
    };
    format!(
        "package {}  {}  {}  {} cases  {}",
        package["id"],
        package["file_name"].as_str().unwrap_or(""),
        package["period"].as_str().unwrap_or(""),
        package["cases"],
        outcome
    )
}

fn finding_line(finding: &Value) -> String {
    let text = |name: &str| finding[name].as_str().unwrap_or("").to_owned();
    let mut places = Vec::new();
    for name in ["N_ZAP", "IDCASE", "SL_ID", "IDSERV"] {
        if let Some(value) = finding[name].as_str() {
            places.push(format!("{name} {value}"));
        }
    }
    format!(
        "{} {} {} in {}{}: {}",
        finding["code"],
        finding["rule_id"].as_str().unwrap_or("-"),
        text("IM_POL"),
        text("BAS_EL"),
        if places.is_empty() {
            String::new()
        } else {
            format!(", {}", places.join(", "))
        },
        text("comment")
    )
}

/// A bar on a terminal, else plain lines at every quarter.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    what: &'static str,
    total: u64,
    quarter: u64,
}

impl Progress {
    fn new(what: &'static str, total: u64, template: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar.set_message(what);
            bar
        });
        Progress {
            bar,
            what,
            total,
            quarter: 0,
        }
    }

    fn set(&mut self, done: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => {
                let quarter = done.saturating_mul(4).checked_div(self.total).unwrap_or(4);
                while self.quarter < quarter.min(4) {
                    self.quarter += 1;
                    eprintln!("{}: {} %", self.what, self.quarter * 25);
                }
            }
        }
    }

    fn finish(mut self, done: u64) {
        self.set(done);
        if let Some(bar) = self.bar {
            bar.finish();
        }
    }
}

async fn upload(
    client: &ClaimsClient,
    args: &ClaimsArgs,
    file: &Path,
    period: Option<&str>,
    no_wait: bool,
) -> anyhow::Result<ExitCode> {
    let file_name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("{} is not a file's name", file.display()))?
        .to_owned();
    let period = match period {
        Some(period) => period.to_owned(),
        None => medgate_claims::RegisterFileName::parse(&file_name)
            .map(|name| name.period().to_string())
            .map_err(|e| {
                anyhow!("give --period YYYY-MM: the file name {file_name} names none ({e})")
            })?,
    };
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let sent = Arc::new(AtomicU64::new(0));
    let mut bar = Progress::new(
        "sent",
        size,
        "{msg:8} {bar:40} {bytes}/{total_bytes} {bytes_per_sec}",
    );
    let push = client.push(file, &period, &file_name, sent.clone());
    tokio::pin!(push);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let pushed = loop {
        tokio::select! {
            answer = &mut push => break answer,
            _ = tick.tick() => bar.set(sent.load(Ordering::Relaxed)),
        }
    };
    let mut package = match pushed {
        Ok(package) => {
            bar.finish(size);
            package
        }
        Err(error) => {
            drop(bar);
            return Err(error.into());
        }
    };
    let id = package["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("the node's answer names no package id: {package}"))?;
    if !args.json {
        println!("package {id} ({file_name}, {period}) registered; checking");
    }
    if no_wait {
        if args.json {
            print_json(&package)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut control = Progress::new("checked", PROGRESS_DONE, "{msg:8} {bar:40} {percent} %");
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    while package["status"] == "checking" {
        control.set(package["progress"].as_u64().unwrap_or(0));
        poll.tick().await;
        package = client.package(id).await?;
    }
    control.finish(PROGRESS_DONE);
    let findings = match package["status"].as_str() {
        Some("flk_errors") => Some(client.findings(id).await?),
        _ => None,
    };
    if args.json {
        print_json(&json!({
            "package": package,
            "flk": findings.as_ref().map(|f| f["flk"].clone()),
        }))?;
    } else {
        println!("{}", package_line(&package));
        if let Some(found) = &findings {
            let flk = found["flk"].as_array().cloned().unwrap_or_default();
            for finding in flk.iter().take(FIRST_FINDINGS) {
                println!("  {}", finding_line(finding));
            }
            if flk.len() > FIRST_FINDINGS {
                println!(
                    "  … and {} more: medgate client claims findings {id}",
                    package["findings"].as_u64().unwrap_or(0) - FIRST_FINDINGS as u64
                );
            }
        }
    }
    Ok(if package["status"] == "accepted" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
