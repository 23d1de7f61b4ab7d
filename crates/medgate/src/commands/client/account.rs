//! `client activate`, `client account`, `client update-certs`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use http::Method;
use serde_json::{json, Value};

use super::ClientArgs;
use crate::output::print_json;

#[derive(Debug, Args)]
pub struct ActivateArgs {
    /// The healthcare provider's OID, e.g. 2.16.840.1.113883.3.4424.2.7.26.
    #[arg(long)]
    pub provider_oid: String,
    /// Print JSON instead of text (the steps and the account with the ids assigned).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AccountArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateCertsArgs {
    /// The new TLS certificate.
    #[arg(long)]
    pub new_tls_cert: Option<PathBuf>,
    /// The new WSS certificate.
    #[arg(long)]
    pub new_wss_cert: Option<PathBuf>,
}

fn certificate_pem(path: &std::path::Path) -> anyhow::Result<String> {
    Ok(medgate_pki::load_certificate(path)?.to_pem())
}

pub async fn activate(args: &ClientArgs, activate: &ActivateArgs) -> anyhow::Result<ExitCode> {
    medgate_ids::Oid::parse(&activate.provider_oid)?;
    let client = args.connect()?;
    let body = json!({
        "provider_oid": activate.provider_oid,
        "tls_certificate": client.tls_certificate().to_pem(),
        "wss_certificate": client.wss_certificate().to_pem(),
    });
    let answer: Value = client
        .send_json(Method::POST, "/api/v1/account/activate", &body)
        .await?;
    if activate.json {
        print_json(&answer)?;
    } else if let Some(lines) = answer["log"].as_array() {
        for line in lines {
            println!("[Info] {}", line.as_str().unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn show(args: &ClientArgs, show: &AccountArgs) -> anyhow::Result<ExitCode> {
    let client = args.connect()?;
    let account: Value = client.get_json("/api/v1/account").await?;
    if show.json {
        print_json(&account)?;
    } else {
        print_account(&account);
    }
    Ok(ExitCode::SUCCESS)
}

/// The account view laid out like seed 000's account panel.
pub fn print_account(account: &Value) {
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| "-".to_owned());
    let date = |v: &Value| v.as_str().map(|s| s.chars().take(10).collect()).unwrap_or_else(|| "-".to_owned());
    println!("Account:                {} ({})", text(&account["tenant"]), text(&account["status"]));
    println!("Domain id:              {}", text(&account["domain_id"]));
    println!("Repository id:          {}", text(&account["repository_id"]));
    println!("National repository id: {}", text(&account["national_repository_id"]));
    println!("Provider OID:           {}", text(&account["provider_oid"]));
    println!("Valid:                  {} to {}", date(&account["valid_from"]), date(&account["valid_to"]));
    let quota = &account["quota"];
    println!(
        "Quota:                  {} MB used of {} MB",
        quota["used_mb"], quota["total_mb"]
    );
    println!(
        "Files:                  {} deposited of {}",
        quota["files"], quota["max_files"]
    );
    if let Some(certificates) = account["certificates"].as_array() {
        for certificate in certificates {
            println!(
                "{} certificate:        serial {}, valid {} to {} ({} days left)",
                text(&certificate["kind"]),
                text(&certificate["serial"]),
                text(&certificate["not_before"]),
                text(&certificate["not_after"]),
                certificate["days_left"]
            );
        }
    }
    if let Some(warnings) = account["warnings"].as_array() {
        for warning in warnings {
            println!("WARNING: {}", text(&warning["message"]));
        }
    }
}

pub async fn update_certs(args: &ClientArgs, update: &UpdateCertsArgs) -> anyhow::Result<ExitCode> {
    if update.new_tls_cert.is_none() && update.new_wss_cert.is_none() {
        anyhow::bail!("give --new-tls-cert, --new-wss-cert or both");
    }
    let mut body = serde_json::Map::new();
    if let Some(path) = &update.new_tls_cert {
        body.insert("tls_certificate".into(), certificate_pem(path)?.into());
    }
    if let Some(path) = &update.new_wss_cert {
        body.insert("wss_certificate".into(), certificate_pem(path)?.into());
    }
    let client = args.connect()?;
    let account: Value = client
        .send_json(Method::PUT, "/api/v1/account/certificates", &Value::Object(body))
        .await?;
    println!("certificates replaced; the previous ones no longer work");
    print_account(&account);
    Ok(ExitCode::SUCCESS)
}
