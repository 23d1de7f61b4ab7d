//! `medgate pki sign` and `medgate pki verify`: detached CMS signatures with co-signing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use medgate_pki::cms::{self, SignerReport};
use medgate_pki::files::{self, Visibility, WriteMode};
use medgate_pki::{gost, load_certificate, load_certificates, Certificate, Password, PrivateKey};
use time::OffsetDateTime;

use crate::output;

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The file to sign.
    pub file: PathBuf,
    /// Signer's certificate.
    #[arg(long)]
    pub cert: PathBuf,
    /// Signer's private key.
    #[arg(long)]
    pub key: PathBuf,
    /// Password file of the key, when it is encrypted.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Output signature (DER). Default: FILE.sig; with --cosign, the co-signed signature is
    /// updated in place.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Existing signature to add this signer to (the earlier signers are kept, in order).
    #[arg(long)]
    pub cosign: Option<PathBuf>,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signed file.
    pub file: PathBuf,
    /// The detached signature (DER or PEM).
    #[arg(long)]
    pub sig: PathBuf,
    /// CA certificate(s) the signers' certificates must chain to.
    #[arg(long)]
    pub ca: Vec<PathBuf>,
    /// CRL(s) of the signers' CA: a signer whose certificate is revoked fails.
    #[arg(long)]
    pub crl: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run_sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let cert = load_certificate(&args.cert)?;
    let password = args
        .password_file
        .as_deref()
        .map(Password::from_file)
        .transpose()?;
    if gost::is_gost_certificate(&cert) {
        return sign_gost(&args, &cert, password.as_ref());
    }
    let key = PrivateKey::load(&args.key, password.as_ref())?;
    if !cms::key_matches_certificate(&cert, &key)? {
        bail!(
            "key {} does not match certificate {}: the certificate was issued for another key",
            args.key.display(),
            args.cert.display()
        );
    }
    let content = files::read(&args.file)?;
    let now = OffsetDateTime::now_utc();
    // A TLS (client authentication) certificate is not meant for signatures; say so, but let
    // the signer decide.
    let summary = cert.summary()?;
    if summary.kind() == Some(medgate_pki::CertKind::Tls)
        || (summary.usages.has_key_usage && !summary.usages.digital_signature && !summary.usages.non_repudiation)
    {
        eprintln!(
            "warning: {} is not a signing certificate (kind or key usage); registers expect the WSS certificate",
            args.cert.display()
        );
    }

    let (signature, out, mode) = match &args.cosign {
        None => {
            let signature = cms::sign_detached(&content, &cert, &key, now)?;
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| default_sig_path(&args.file));
            (signature, out, write_mode(args.force))
        }
        Some(existing_path) => {
            let existing = cms::load_signature(existing_path)?;
            if !cms::covers_content(&existing, &content)
                .with_context(|| existing_path.display().to_string())?
            {
                bail!(
                    "{} was made over a different file ({} does not match its message digest)",
                    existing_path.display(),
                    args.file.display()
                );
            }
            let signature = cms::cosign(&existing, &content, &cert, &key, now)
                .with_context(|| format!("co-signing {}", existing_path.display()))?;
            match &args.out {
                Some(out) => (signature, out.clone(), write_mode(args.force)),
                // Adding a signer to a signature updates it in place (atomically).
                None => (signature, existing_path.clone(), WriteMode::Replace),
            }
        }
    };
    files::write(&out, &signature, mode, Visibility::Public)?;

    let reports = cms::verify_detached(&signature, &content, &[])?;
    let count = reports.len();
    let subject = cert.summary()?.subject;
    println!(
        "signed {} as signer {count} of {count} ({subject}); signature written to {}",
        args.file.display(),
        out.display()
    );
    for report in &reports {
        println!("  {}. {}", report.index, report.subject);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let content = files::read(&args.file)?;
    let signature = cms::load_signature(&args.sig)?;
    let mut trust = Vec::new();
    for path in &args.ca {
        trust.extend(load_certificates(path)?);
    }
    let mut reports = cms::verify_detached(&signature, &content, &trust)
        .with_context(|| args.sig.display().to_string())?;
    let crls = args
        .crl
        .iter()
        .map(|path| medgate_pki::check::load_crl(path))
        .collect::<Result<Vec<_>, _>>()?;
    // A signature by a revoked certificate is not acceptable, whatever its mathematics.
    for report in &mut reports {
        let Some(certificate) = &report.certificate else { continue };
        for crl in &crls {
            if let Ok(Some(revoked)) = medgate_pki::check::revocation(certificate, crl) {
                report.problem = Some(format!(
                    "the signer's certificate {} was revoked on {}{}",
                    report.serial_hex,
                    revoked.date.date(),
                    revoked.reason.map(|r| format!(" ({r})")).unwrap_or_default()
                ));
                report.signature_ok = false;
            }
        }
    }

    if args.json {
        print_json(&args, &reports)?;
    } else {
        print_text(&args, &reports);
    }

    let failures: Vec<String> = reports
        .iter()
        .filter(|report| !report.is_ok())
        .map(|report| {
            format!(
                "signer {} ({}): {}",
                report.index,
                report.subject,
                report.problem.as_deref().unwrap_or("verification failed")
            )
        })
        .collect();
    if !failures.is_empty() {
        bail!(
            "{} of {} signer(s) of {} failed: {}",
            failures.len(),
            reports.len(),
            args.sig.display(),
            failures.join("; ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `pki sign` with a GOST R 34.10-2012 certificate: the system OpenSSL's GOST engine signs
/// (the key file is handed to it, never read here), the signature is this toolkit's.
fn sign_gost(args: &SignArgs, cert: &Certificate, password: Option<&Password>) -> anyhow::Result<ExitCode> {
    let openssl = gost::SystemOpenssl::locate()?;
    let content = files::read(&args.file)?;
    let (signature, out, mode) = match &args.cosign {
        None => {
            let signature = cms::sign_detached_gost(&openssl, &content, cert, &args.key, password)?;
            let out = args.out.clone().unwrap_or_else(|| default_sig_path(&args.file));
            (signature, out, write_mode(args.force))
        }
        Some(existing_path) => {
            let existing = cms::load_signature(existing_path)?;
            let signature = cms::cosign_gost(&openssl, &existing, &content, cert, &args.key, password)
                .with_context(|| format!("co-signing {}", existing_path.display()))?;
            match &args.out {
                Some(out) => (signature, out.clone(), write_mode(args.force)),
                None => (signature, existing_path.clone(), WriteMode::Replace),
            }
        }
    };
    let reports = cms::verify_detached(&signature, &content, &[])?;
    if let Some(failed) = reports.iter().find(|report| !report.is_ok()) {
        bail!(
            "the GOST signature made for {} does not verify ({}); nothing written",
            args.file.display(),
            failed.problem.as_deref().unwrap_or("verification failed")
        );
    }
    files::write(&out, &signature, mode, Visibility::Public)?;
    let count = reports.len();
    println!(
        "signed {} as signer {count} of {count} ({}, GOST R 34.10-2012 through the system OpenSSL); signature written to {}",
        args.file.display(),
        cert.summary()?.subject,
        out.display()
    );
    for report in &reports {
        println!("  {}. {}", report.index, report.subject);
    }
    Ok(ExitCode::SUCCESS)
}

fn default_sig_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

fn write_mode(force: bool) -> WriteMode {
    if force {
        WriteMode::Replace
    } else {
        WriteMode::CreateNew
    }
}

fn print_text(args: &VerifyArgs, reports: &[SignerReport]) {
    println!(
        "{}: {} signer(s) in {}",
        args.file.display(),
        reports.len(),
        args.sig.display()
    );
    for report in reports {
        println!("  {}. {}", report.index, report.subject);
        let signed = report
            .signing_time
            .map(output::human_time)
            .unwrap_or_else(|| "no signing time".to_owned());
        println!("     serial {}, signed {signed}", report.serial_hex);
        let signature = if report.signature_ok {
            "valid"
        } else {
            "INVALID"
        };
        let chain = match report.chain_ok {
            Some(true) => "valid",
            Some(false) => "INVALID",
            None => "not checked (no --ca)",
        };
        println!("     signature: {signature}; chain to CA: {chain}");
        if let Some(problem) = &report.problem {
            println!("     problem: {problem}");
        }
    }
    if reports.iter().all(SignerReport::is_ok) {
        println!("all {} signature(s) valid", reports.len());
    }
}

fn print_json(args: &VerifyArgs, reports: &[SignerReport]) -> anyhow::Result<()> {
    let signers: Vec<serde_json::Value> = reports
        .iter()
        .map(|report| {
            serde_json::json!({
                "index": report.index,
                "subject": report.subject,
                "serial": report.serial_hex,
                "signing_time": report.signing_time.map(output::rfc3339),
                "signature_valid": report.signature_ok,
                "chain_valid": report.chain_ok,
                "problem": report.problem,
            })
        })
        .collect();
    output::print_json(&serde_json::json!({
        "file": args.file.display().to_string(),
        "signature": args.sig.display().to_string(),
        "valid": reports.iter().all(SignerReport::is_ok),
        "chain_checked": !args.ca.is_empty(),
        "signers": signers,
    }))
}
