//! `medgate pki expiring`: what is expired or expires soon, for cron: one line per finding
//! and a summary line (or JSON), exit status 1 when anything was found.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use medgate_pki::expiry::{self, Finding, ScanReport};
use medgate_pki::Password;
use serde_json::json;
use time::OffsetDateTime;

use crate::output;

#[derive(Debug, Args)]
pub struct ExpiringArgs {
    /// Files and folders to scan (PEM, DER, PKCS#12).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Report certificates expiring within this many days.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Password file for PKCS#12 files.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print nothing when nothing is expiring (notes still go to stderr); for cron, which
    /// mails any output.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: ExpiringArgs) -> anyhow::Result<ExitCode> {
    let password = args
        .password_file
        .as_deref()
        .map(Password::from_file)
        .transpose()?;
    let report = expiry::scan(
        &args.paths,
        args.days,
        password.as_ref(),
        OffsetDateTime::now_utc(),
    )?;
    if args.json {
        output::print_json(&report_json(&report))?;
    } else {
        for finding in &report.findings {
            println!("{}", finding_line(finding));
        }
        for note in &report.notes {
            eprintln!("note: {}: {}", note.path.display(), note.message);
        }
        if report.has_findings() || !args.quiet {
            println!("{}", summary_line(&report));
        }
    }
    Ok(if report.has_findings() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `EXPIRED   path: subject, serial S, not after T (expired 3 days ago)`.
fn finding_line(finding: &Finding) -> String {
    let label = if finding.expired {
        "EXPIRED"
    } else {
        "EXPIRING"
    };
    let location = finding
        .location
        .as_deref()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    let subject = if finding.subject.is_empty() {
        "empty subject"
    } else {
        finding.subject.as_str()
    };
    let when = if finding.expired {
        match -finding.days_left {
            0 => "expired today".to_owned(),
            1 => "expired 1 day ago".to_owned(),
            n => format!("expired {n} days ago"),
        }
    } else if finding.days_left == 1 {
        "1 day left".to_owned()
    } else {
        format!("{} days left", finding.days_left)
    };
    format!(
        "{label:<9} {}{location}: {subject}, serial {}, not after {} ({when})",
        finding.path.display(),
        finding.serial_hex,
        output::human_time(finding.not_after)
    )
}

/// `2 of 5 certificates expired or expiring within 30 days (7 files scanned, 1 note)`.
fn summary_line(report: &ScanReport) -> String {
    let expired = report.findings.iter().filter(|f| f.expired).count();
    let expiring = report.findings.len() - expired;
    let checked = report.certificates_checked;
    let certificates = if checked == 1 {
        "certificate"
    } else {
        "certificates"
    };
    let headline = if report.has_findings() {
        format!(
            "{expired} expired and {expiring} expiring within {} days, of {checked} {certificates} checked",
            report.days
        )
    } else {
        format!(
            "OK: none of {checked} {certificates} expires within {} days",
            report.days
        )
    };
    let files = if report.files_scanned == 1 {
        "file"
    } else {
        "files"
    };
    let notes = match report.notes.len() {
        0 => String::new(),
        1 => ", 1 note".to_owned(),
        n => format!(", {n} notes"),
    };
    format!(
        "{headline} ({} {files} scanned{notes})",
        report.files_scanned
    )
}

fn report_json(report: &ScanReport) -> serde_json::Value {
    json!({
        "days": report.days,
        "checked_at": output::rfc3339(report.now),
        "files_scanned": report.files_scanned,
        "certificates_checked": report.certificates_checked,
        "findings": report.findings.iter().map(|f| json!({
            "path": f.path.display().to_string(),
            "location": f.location,
            "subject": f.subject,
            "common_name": f.common_name,
            "serial": f.serial_hex,
            "not_after": output::rfc3339(f.not_after),
            "days_left": f.days_left,
            "expired": f.expired,
        })).collect::<Vec<_>>(),
        "notes": report.notes.iter().map(|n| json!({
            "path": n.path.display().to_string(),
            "message": n.message,
        })).collect::<Vec<_>>(),
    })
}
