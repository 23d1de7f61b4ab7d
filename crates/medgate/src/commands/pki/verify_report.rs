//! `medgate pki verify-report FILE`: checks a signed connection-check report (from
//! `medgate connect-check --report`): the readable copy is the signed one, the CMS signature
//! verifies, and with `--ca` the signer chains to it. Says who signed, when, and what the
//! report concluded; exit 1 naming what is off.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use medgate_pki::report::{self, VerifiedReport};
use medgate_pki::{files, load_certificates};
use serde_json::Value;

use crate::output;

#[derive(Debug, Args)]
pub struct VerifyReportArgs {
    /// The report file.
    pub file: PathBuf,
    /// CA certificate(s) the signer's certificate must chain to (e.g. the platform's tenant
    /// CA).
    #[arg(long)]
    pub ca: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: VerifyReportArgs) -> anyhow::Result<ExitCode> {
    let bytes = files::read(&args.file)?;
    let mut trust = Vec::new();
    for path in &args.ca {
        trust.extend(load_certificates(path)?);
    }
    let verified =
        report::verify_report(&bytes, &trust).with_context(|| args.file.display().to_string())?;
    // The signed payload is what counts; the readable copy was only compared with it.
    let signed: Value = serde_json::from_slice(&verified.payload).unwrap_or(Value::Null);
    let problems = verified.problems();

    if args.json {
        print_json(&args, &verified, &signed, &problems)?;
    } else {
        print_text(&args, &verified, &signed, &problems);
    }
    if !problems.is_empty() {
        bail!("{}: {}", args.file.display(), problems.join("; "));
    }
    Ok(ExitCode::SUCCESS)
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("?")
}

fn print_text(
    args: &VerifyReportArgs,
    verified: &VerifiedReport,
    signed: &Value,
    problems: &[String],
) {
    println!("{}: signed connection-check report", args.file.display());
    for signer in &verified.signers {
        println!(
            "  signed by:       {} (serial {})",
            signer.subject, signer.serial_hex
        );
        if let Some(certificate) = &signer.certificate {
            if let Ok(summary) = certificate.summary() {
                println!("  signer issuer:   {}", summary.issuer);
            }
        }
        let when = signer
            .signing_time
            .map(output::human_time)
            .unwrap_or_else(|| "no signing time".to_owned());
        println!("  signed at:       {when}");
        let signature = if signer.signature_ok {
            "valid"
        } else {
            "INVALID"
        };
        let chain = match signer.chain_ok {
            Some(true) => "valid",
            Some(false) => "NOT TRUSTED",
            None => "not checked (no --ca)",
        };
        println!("  signature:       {signature}; chain to CA: {chain}");
    }
    match &verified.edited {
        None => println!("  readable copy:   identical to the signed payload"),
        Some(edit) => println!("  readable copy:   EDITED: {edit}"),
    }
    println!();
    println!(
        "Report of {} made {} by {}",
        text(signed, "/url"),
        text(signed, "/time"),
        text(signed, "/tool")
    );
    let usable = signed.pointer("/usable").and_then(Value::as_bool) == Some(true);
    println!(
        "  result:               {}",
        if usable { "usable" } else { "NOT usable" }
    );
    println!("  summary:              {}", text(signed, "/summary"));
    if let Some(tls) = signed.get("tls").filter(|t| !t.is_null()) {
        println!(
            "  TLS:                  {} {} (server verified: {})",
            text(tls, "/version"),
            text(tls, "/cipher_suite"),
            if tls.get("server_verified").and_then(Value::as_bool) == Some(true) {
                "yes"
            } else {
                "no"
            }
        );
    }
    let flag = |pointer: &str| match signed.pointer(pointer).and_then(Value::as_bool) {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    println!(
        "  certificate accepted: {}",
        flag("/client_certificate/accepted")
    );
    println!("  signature valid:      {}", flag("/signature/valid"));
    if let Some(skew) = signed
        .pointer("/clock/skew_seconds")
        .and_then(Value::as_f64)
    {
        println!("  clock skew:           {skew:+.1} s");
    }
    if let Some(findings) = signed.get("findings").and_then(Value::as_array) {
        for finding in findings {
            println!(
                "  finding ({}): {}",
                text(finding, "/severity"),
                text(finding, "/message")
            );
        }
    }
    println!();
    if problems.is_empty() && args.ca.is_empty() {
        println!(
            "signature valid and the report is as signed, but the signer's chain was NOT checked: \
             give --ca <the CA's certificate> to check who signed it"
        );
    } else if problems.is_empty() {
        println!("report verified: the signature is valid, the signer chains to the CA and the report is as signed");
    } else {
        for problem in problems {
            println!("PROBLEM: {problem}");
        }
    }
}

fn print_json(
    args: &VerifyReportArgs,
    verified: &VerifiedReport,
    signed: &Value,
    problems: &[String],
) -> anyhow::Result<()> {
    let signers: Vec<Value> = verified
        .signers
        .iter()
        .map(|signer| {
            serde_json::json!({
                "subject": signer.subject,
                "serial": signer.serial_hex,
                "signing_time": signer.signing_time.map(output::rfc3339),
                "signature_valid": signer.signature_ok,
                "chain_valid": signer.chain_ok,
                "problem": signer.problem,
            })
        })
        .collect();
    output::print_json(&serde_json::json!({
        "file": args.file.display().to_string(),
        "valid": problems.is_empty(),
        "problems": problems,
        "edited": verified.edited,
        "chain_checked": verified.chain_checked,
        "signers": signers,
        "report": signed,
    }))
}
