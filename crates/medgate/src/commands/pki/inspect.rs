//! `medgate pki inspect`: what a certificate, CSR, key or PKCS#12/JKS file holds, as text
//! or JSON. The file type is read from the content; a private key is never printed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use medgate_pki::expiry::ValidityStatus;
use medgate_pki::inspect::{
    self, CertificateReport, CsrReport, Inspection, KeyDetails, KeyReport, KeystoreReport,
};
use medgate_pki::Password;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::output;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Certificate (PEM/DER), CSR, private key or PKCS#12 file.
    pub file: PathBuf,
    /// Password file for an encrypted key or a PKCS#12 file.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let password = args
        .password_file
        .as_deref()
        .map(Password::from_file)
        .transpose()?;
    let inspection = inspect::inspect_file(&args.file, password.as_ref())?;
    let now = OffsetDateTime::now_utc();
    let path = args.file.display().to_string();
    if args.json {
        output::print_json(&inspection_json(&path, &inspection, now))?;
    } else {
        print!("{}", inspection_text(&path, &inspection, now));
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------
// Text

/// Label column width, so that values line up.
const LABEL: usize = 21;

/// `label:` padded to the value column; an empty label continues the previous line's list.
fn line(out: &mut String, indent: &str, label: &str, value: impl AsRef<str>) {
    let label = if label.is_empty() {
        String::new()
    } else {
        format!("{label}:")
    };
    out.push_str(&format!("{indent}{label:<LABEL$}{}\n", value.as_ref()));
}

fn inspection_text(path: &str, inspection: &Inspection, now: OffsetDateTime) -> String {
    let mut out = String::new();
    match inspection {
        Inspection::Certificates {
            certificates,
            key,
            key_matches,
        } => {
            let what = if certificates.len() == 1 {
                "certificate".to_owned()
            } else {
                format!("{} certificates", certificates.len())
            };
            out.push_str(&format!("{path}: {what}\n"));
            for (index, certificate) in certificates.iter().enumerate() {
                if certificates.len() > 1 {
                    out.push_str(&format!(
                        "\ncertificate {} of {}\n",
                        index + 1,
                        certificates.len()
                    ));
                }
                certificate_text(&mut out, "  ", certificate, now);
            }
            if let Some(key) = key {
                out.push_str("\nprivate key in the same file\n");
                key_text(&mut out, "  ", key);
                if let Some(matches) = key_matches {
                    line(&mut out, "  ", "matches certificate", yes_no(*matches));
                }
            }
        }
        Inspection::Csr(csr) => {
            out.push_str(&format!("{path}: certificate signing request (CSR)\n"));
            csr_text(&mut out, "  ", csr);
        }
        Inspection::Key(key) => {
            out.push_str(&format!("{path}: private key (not shown)\n"));
            key_text(&mut out, "  ", key);
        }
        Inspection::Keystore(keystore) => keystore_text(&mut out, path, keystore, now),
    }
    out
}

fn certificate_text(
    out: &mut String,
    indent: &str,
    report: &CertificateReport,
    now: OffsetDateTime,
) {
    let summary = &report.summary;
    let status = ValidityStatus::at(summary.not_before, summary.not_after, now);
    line(out, indent, "subject", or_empty(&summary.subject));
    line(out, indent, "issuer", or_empty(&summary.issuer));
    line(out, indent, "serial", &summary.serial_hex);
    line(
        out,
        indent,
        "not before",
        output::human_time(summary.not_before),
    );
    line(
        out,
        indent,
        "not after",
        format!(
            "{} ({})",
            output::human_time(summary.not_after),
            status.describe()
        ),
    );
    line(out, indent, "key", &summary.key_description);
    line(out, indent, "public key SHA-256", &report.public_key_sha256);
    line(
        out,
        indent,
        "SHA-256 fingerprint",
        &summary.sha256_fingerprint,
    );
    line(out, indent, "signature", &report.signature_algorithm);
    line(out, indent, "kind", kind_text(summary));
    let usages = summary.usages.names();
    line(
        out,
        indent,
        "key usages",
        if usages.is_empty() {
            "none stated".to_owned()
        } else {
            usages.join(", ")
        },
    );
    if summary.is_ca {
        line(out, indent, "CA", "yes");
    }
    if summary.self_signed {
        line(out, indent, "self-signed", "yes");
    }
    if !summary.dns_names.is_empty() {
        line(out, indent, "DNS names", summary.dns_names.join(", "));
    }
    if !summary.ip_addresses.is_empty() {
        line(out, indent, "IP addresses", summary.ip_addresses.join(", "));
    }
}

fn kind_text(summary: &medgate_pki::CertificateSummary) -> String {
    match &summary.tenant_name {
        Some(name) => format!("{} (tenant {})", name.kind, name.tenant),
        None => "other (CN is not \"<tenant id> TLS|WSS\")".to_owned(),
    }
}

fn csr_text(out: &mut String, indent: &str, csr: &CsrReport) {
    line(out, indent, "subject", or_empty(&csr.subject));
    let kind = match &csr.tenant_name {
        Some(name) => format!("{} (tenant {})", name.kind, name.tenant),
        None => "other (CN is not \"<tenant id> TLS|WSS\")".to_owned(),
    };
    line(out, indent, "kind", kind);
    line(out, indent, "key", &csr.key_description);
    line(out, indent, "public key SHA-256", &csr.public_key_sha256);
    line(out, indent, "signature", &csr.signature_algorithm);
    let validity = match (csr.signature_valid, &csr.signature_problem) {
        (true, _) => "yes".to_owned(),
        (false, Some(problem)) => format!("NO ({problem})"),
        (false, None) => "NO (the CSR was altered or is damaged)".to_owned(),
    };
    line(out, indent, "signature valid", validity);
    for (index, extension) in csr.requested_extensions.iter().enumerate() {
        let label = if index == 0 { "requested" } else { "" };
        line(out, indent, label, extension);
    }
}

fn key_text(out: &mut String, indent: &str, key: &KeyReport) {
    line(out, indent, "format", &key.format);
    line(out, indent, "encrypted", yes_no(key.encrypted));
    if let Some(encryption) = &key.encryption {
        line(out, indent, "encryption", encryption);
    }
    match &key.details {
        Some(details) => key_details_text(out, indent, details),
        None => line(
            out,
            indent,
            "algorithm",
            "unknown until opened: give its password with --password-file",
        ),
    }
}

fn key_details_text(out: &mut String, indent: &str, details: &KeyDetails) {
    line(out, indent, "algorithm", &details.description);
    line(
        out,
        indent,
        "public key SHA-256",
        &details.public_key_sha256,
    );
}

fn keystore_text(out: &mut String, path: &str, keystore: &KeystoreReport, now: OffsetDateTime) {
    let entries = keystore.entries.len();
    out.push_str(&format!(
        "{path}: {} keystore, {entries} {}\n",
        keystore.format,
        if entries == 1 { "entry" } else { "entries" }
    ));
    for entry in &keystore.entries {
        out.push_str(&format!(
            "\nentry {}\n",
            entry
                .alias
                .as_deref()
                .map(|alias| format!("\"{alias}\""))
                .unwrap_or_else(|| "(no name)".to_owned())
        ));
        match &entry.key {
            Some(details) => {
                line(out, "  ", "private key", "present (not shown)");
                key_details_text(out, "  ", details);
                if let Some(matches) = entry.key_matches {
                    line(out, "  ", "matches certificate", yes_no(matches));
                }
            }
            None => line(out, "  ", "private key", "none"),
        }
        for (index, certificate) in entry.certificates.iter().enumerate() {
            let role = if index == 0 && entry.key.is_some() {
                "certificate".to_owned()
            } else if entry.key.is_some() {
                format!("chain certificate {index}")
            } else {
                format!("certificate {}", index + 1)
            };
            out.push_str(&format!("  {role}\n"));
            certificate_text(out, "    ", certificate, now);
        }
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn or_empty(text: &str) -> &str {
    if text.is_empty() {
        "(empty)"
    } else {
        text
    }
}

// ---------------------------------------------------------------------------------------
// JSON

fn inspection_json(path: &str, inspection: &Inspection, now: OffsetDateTime) -> Value {
    match inspection {
        Inspection::Certificates {
            certificates,
            key,
            key_matches,
        } => json!({
            "path": path,
            "type": "certificate",
            "certificates": certificates.iter().map(|c| certificate_json(c, now)).collect::<Vec<_>>(),
            "key": key.as_ref().map(key_json),
            "key_matches": key_matches,
        }),
        Inspection::Csr(csr) => json!({
            "path": path,
            "type": "csr",
            "subject": csr.subject,
            "common_name": csr.common_name,
            "kind": csr.tenant_name.as_ref().map(|n| n.kind.to_string()).unwrap_or_else(|| "other".into()),
            "tenant": csr.tenant_name.as_ref().map(|n| n.tenant.to_string()),
            "key": csr.key_description,
            "public_key_sha256": csr.public_key_sha256,
            "signature_algorithm": csr.signature_algorithm,
            "signature_valid": csr.signature_valid,
            "signature_problem": csr.signature_problem,
            "requested_extensions": csr.requested_extensions,
        }),
        Inspection::Key(key) => {
            let mut value = key_json(key);
            if let Value::Object(map) = &mut value {
                map.insert("path".into(), json!(path));
                map.insert("type".into(), json!("key"));
            }
            value
        }
        Inspection::Keystore(keystore) => json!({
            "path": path,
            "type": "keystore",
            "format": keystore.format,
            "entries": keystore.entries.iter().map(|entry| json!({
                "alias": entry.alias,
                "key": entry.key.as_ref().map(key_details_json),
                "key_matches": entry.key_matches,
                "certificates": entry.certificates.iter().map(|c| certificate_json(c, now)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
    }
}

fn certificate_json(report: &CertificateReport, now: OffsetDateTime) -> Value {
    let summary = &report.summary;
    let status = ValidityStatus::at(summary.not_before, summary.not_after, now);
    let state = match status {
        ValidityStatus::Valid { .. } => "valid",
        ValidityStatus::Expired { .. } => "expired",
        ValidityStatus::NotYetValid { .. } => "not_yet_valid",
    };
    json!({
        "subject": summary.subject,
        "issuer": summary.issuer,
        "common_name": summary.common_name,
        "serial": summary.serial_hex,
        "not_before": output::rfc3339(summary.not_before),
        "not_after": output::rfc3339(summary.not_after),
        "validity": state,
        "days_left": status.days_left(summary.not_after, now),
        "key": summary.key_description,
        "public_key_sha256": report.public_key_sha256,
        "sha256_fingerprint": summary.sha256_fingerprint,
        "signature_algorithm": report.signature_algorithm,
        "kind": summary.kind().map(|k| k.to_string()).unwrap_or_else(|| "other".into()),
        "tenant": summary.tenant_name.as_ref().map(|n| n.tenant.to_string()),
        "key_usages": summary.usages.names(),
        "is_ca": summary.is_ca,
        "self_signed": summary.self_signed,
        "dns_names": summary.dns_names,
        "ip_addresses": summary.ip_addresses,
    })
}

fn key_json(key: &KeyReport) -> Value {
    json!({
        "format": key.format,
        "encrypted": key.encrypted,
        "encryption": key.encryption,
        "algorithm": key.details.as_ref().map(|d| d.description.clone()),
        "public_key_sha256": key.details.as_ref().map(|d| d.public_key_sha256.clone()),
    })
}

fn key_details_json(details: &KeyDetails) -> Value {
    json!({
        "algorithm": details.description,
        "public_key_sha256": details.public_key_sha256,
    })
}
