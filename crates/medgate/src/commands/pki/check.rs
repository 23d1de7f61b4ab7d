//! `medgate pki check`: diagnoses a certificate + key pair the way a support desk would and
//! prints every finding, worst first, as text or JSON; the exit status tells ok (0) from
//! problems (1; with `--strict` warnings count as problems).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use medgate_ids::TenantId;
use medgate_pki::check::{self, CheckOptions, Finding, Severity};
use medgate_pki::{load_certificate, CertKind, Password, PrivateKey};
use serde_json::json;
use time::OffsetDateTime;

use crate::output;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The certificate to check.
    #[arg(long)]
    pub cert: PathBuf,
    /// The private key that should belong to it.
    #[arg(long)]
    pub key: PathBuf,
    /// Password file for an encrypted key.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Tenant id the certificate must be issued to.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Expected kind: tls or wss (default: read from the CN).
    #[arg(long)]
    pub kind: Option<String>,
    /// CA certificate that must have issued it.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// CRL to check revocation against.
    #[arg(long)]
    pub crl: Option<PathBuf>,
    /// Warn when the certificate expires within this many days.
    #[arg(long, default_value_t = 30)]
    pub warn_days: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    // Arguments first: a typo should not cost a key decryption.
    let tenant = args
        .tenant
        .as_deref()
        .map(|text| TenantId::parse(text.trim()))
        .transpose()?;
    let kind = args.kind.as_deref().map(CertKind::parse).transpose()?;

    let cert = load_certificate(&args.cert)?;
    let password = args
        .password_file
        .as_deref()
        .map(Password::from_file)
        .transpose()?;
    let key = PrivateKey::load(&args.key, password.as_ref())?;
    let ca = args
        .ca
        .as_deref()
        .map(|path| load_certificate(path).context("reading the CA certificate (--ca)"))
        .transpose()?;
    let crl = args
        .crl
        .as_ref()
        .map(|path| check::load_crl(path).map(|der| (der, path.clone())))
        .transpose()?;

    let options = CheckOptions {
        tenant,
        kind,
        ca,
        crl,
        warn_days: args.warn_days,
        now: OffsetDateTime::now_utc(),
        sibling_search_dirs: search_dirs(&args.key, &args.cert),
    };
    let findings = check::diagnose(&cert, &key, &options)?;
    let summary = cert.summary()?;

    let errors = check::count(&findings, Severity::Error);
    let warnings = check::count(&findings, Severity::Warning);
    let verdict = if errors > 0 {
        "error"
    } else if warnings > 0 {
        "warning"
    } else {
        "ok"
    };

    if args.json {
        output::print_json(&json!({
            "certificate": {
                "path": args.cert.display().to_string(),
                "subject": summary.subject,
                "issuer": summary.issuer,
                "serial": summary.serial_hex,
                "not_before": output::rfc3339(summary.not_before),
                "not_after": output::rfc3339(summary.not_after),
                "sha256_fingerprint": summary.sha256_fingerprint,
            },
            "findings": findings.iter().map(finding_json).collect::<Vec<_>>(),
            "errors": errors,
            "warnings": warnings,
            "verdict": verdict,
        }))?;
    } else {
        println!(
            "certificate: {} ({}, serial {})",
            args.cert.display(),
            if summary.subject.is_empty() {
                "empty subject"
            } else {
                summary.subject.as_str()
            },
            summary.serial_hex
        );
        for finding in &findings {
            println!("{}", finding_line(finding));
        }
        let mut verdict = verdict_line(errors, warnings);
        if args.strict && errors == 0 && warnings > 0 {
            verdict = format!("{}: failing because of --strict", plural(warnings, "warning"));
        }
        println!("{verdict}");
    }

    let failed = errors > 0 || (args.strict && warnings > 0);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The folders where the key's real certificate is looked for when it does not match: the
/// key's folder and the certificate's folder.
fn search_dirs(key: &Path, cert: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for file in [key, cert] {
        let dir = match file.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// `ERROR   key_mismatch: what is wrong → what to do`.
fn finding_line(finding: &Finding) -> String {
    format!(
        "{:<8}{}: {} → {}",
        finding.severity.label(),
        finding.code,
        finding.message,
        finding.action
    )
}

fn finding_json(finding: &Finding) -> serde_json::Value {
    json!({
        "severity": finding.severity.as_str(),
        "code": finding.code,
        "message": finding.message,
        "action": finding.action,
    })
}

/// `OK`, `OK with 1 warning`, `2 errors, 1 warning`.
fn verdict_line(errors: usize, warnings: usize) -> String {
    match (errors, warnings) {
        (0, 0) => "OK".to_owned(),
        (0, w) => format!("OK with {}", plural(w, "warning")),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
