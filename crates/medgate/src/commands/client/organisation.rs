//! `client org push|show` and `client types list|set`: the organisational structure (sent
//! from a TOML file in the API's JSON shape, validated by the repository) and the archiving
//! policy of each document type.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use http::Method;
use medgate_client::ClientError;
use medgate_repository::organisation::{AddressForm, OrganisationForm};
use serde_json::{json, Value};

use super::ClientArgs;
use crate::output::print_json;

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Send the organisational structure from a TOML file (provider, facilities, units).
    Push {
        /// The TOML file.
        file: PathBuf,
        /// Print JSON instead of text (the stored revision).
        #[arg(long)]
        json: bool,
    },
    /// Show the organisational structure stored in the repository.
    Show {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TypesCommand {
    /// List document types with their archiving policy.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change a document type's policy.
    Set {
        /// Type code, e.g. ZBD.
        code: String,
        /// Archive automatically: yes or no.
        #[arg(long)]
        archive: String,
        /// Keep the local copy for this many days.
        #[arg(long)]
        local_days: u32,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run_org(client: &ClientArgs, command: &OrgCommand) -> anyhow::Result<ExitCode> {
    match command {
        OrgCommand::Push { file, json } => push(client, file, *json).await,
        OrgCommand::Show { json } => show(client, *json).await,
    }
}

pub async fn run_types(client: &ClientArgs, command: &TypesCommand) -> anyhow::Result<ExitCode> {
    match command {
        TypesCommand::List { json } => list_types(client, *json).await,
        TypesCommand::Set {
            code,
            archive,
            local_days,
            json,
        } => set_type(client, code, archive, *local_days, *json).await,
    }
}

/// Reads the TOML file into the form; errors name the file, the line and the key.
fn read_form(file: &Path) -> anyhow::Result<OrganisationForm> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let deserializer =
        toml::Deserializer::parse(&text).map_err(|error| toml_error(file, &text, &error, None))?;
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let key = error.path().to_string();
        toml_error(file, &text, error.inner(), Some(key))
    })
}

/// `FILE, line N, key `a.b`: message` in one line.
fn toml_error(
    file: &Path,
    text: &str,
    error: &toml::de::Error,
    key: Option<String>,
) -> anyhow::Error {
    let mut place = file.display().to_string();
    if let Some(span) = error.span() {
        let start = span.start.min(text.len());
        let line = text.as_bytes()[..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        place.push_str(&format!(", line {line}"));
    }
    if let Some(key) = key.filter(|key| !key.is_empty() && key != ".") {
        place.push_str(&format!(", key `{key}`"));
    }
    let message = error.message().trim().replace('\n', " ");
    anyhow::anyhow!("{place}: {message}")
}

async fn push(client: &ClientArgs, file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let form = read_form(file)?;
    let body = serde_json::to_value(&form)?;
    let connected = client.connect()?;
    let answer: Result<Value, ClientError> = connected
        .send_json(Method::PUT, "/api/v1/organisation", &body)
        .await;
    match answer {
        Ok(answer) if json => {
            print_json(&answer)?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(answer) => {
            let stored: OrganisationForm =
                serde_json::from_value(answer["organisation"].clone())
                    .context("the server's answer is not an organisational structure")?;
            println!(
                "organisational structure stored as revision {} ({} facilities, {} units)",
                answer["revision"],
                stored.facilities.len(),
                stored.units.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(ClientError::Api { code, message, .. }) if code == "invalid_organisation" => {
            // The message's first line is a summary, then one `field: message` per line.
            let mut lines = message.lines();
            let summary = lines.next().unwrap_or_default();
            eprintln!("error: {}: {summary}", file.display());
            for line in lines {
                eprintln!("{line}");
            }
            Ok(ExitCode::from(1))
        }
        Err(other) => Err(other.into()),
    }
}

async fn show(client: &ClientArgs, json: bool) -> anyhow::Result<ExitCode> {
    let answer: Value = client.connect()?.get_json("/api/v1/organisation").await?;
    if json {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    let organisation: OrganisationForm = serde_json::from_value(answer["organisation"].clone())
        .context("the server's answer is not an organisational structure")?;
    println!(
        "Organisational structure, revision {} (updated {})",
        answer["revision"],
        answer["updated_at"].as_str().unwrap_or("-")
    );
    print_organisation(&organisation);
    Ok(ExitCode::SUCCESS)
}

fn address_line(address: &AddressForm) -> String {
    let mut line = format!("{} {}", address.street, address.building);
    if let Some(apartment) = &address.apartment {
        line.push_str(&format!("/{apartment}"));
    }
    line.push_str(&format!(", {} {}", address.postal_code, address.city));
    if let Some(country) = &address.country {
        line.push_str(&format!(", {country}"));
    }
    line
}

/// The structure laid out like seed 000's "Struktura organizacyjna" window: provider block,
/// facilities, units with their register codes.
fn print_organisation(organisation: &OrganisationForm) {
    let provider = &organisation.provider;
    println!();
    println!("Provider");
    println!("  Name:                  {}", provider.name);
    println!(
        "  Address:               {}",
        address_line(&provider.address)
    );
    println!("  Phone:                 {}", provider.phone);
    println!("  REGON:                 {}", provider.regon);
    println!("  NIP:                   {}", provider.nip);
    println!("  Register code part I:  {}", provider.register_code_part_1);
    println!();
    println!("Facilities ({})", organisation.facilities.len());
    for facility in &organisation.facilities {
        println!("  [{}] {}", facility.id, facility.name);
        println!("      Address:  {}", address_line(&facility.address));
        if let Some(phone) = &facility.phone {
            println!("      Phone:    {phone}");
        }
        println!("      REGON:    {}", facility.regon14);
        println!("      NIP:      {}", facility.nip);
    }
    println!();
    println!("Units ({})", organisation.units.len());
    for unit in &organisation.units {
        println!(
            "  [{}] {} (facility {})",
            unit.code, unit.name, unit.facility
        );
        println!(
            "      Register codes: V {}, VII {}, VIII {}, IX {}, X {}",
            unit.register_code_part_5,
            unit.register_code_part_7,
            unit.register_code_part_8,
            unit.register_code_part_9,
            unit.register_code_part_10
        );
        if let Some(phone) = &unit.phone {
            println!("      Phone:    {phone}");
        }
        if let Some(email) = &unit.email {
            println!("      E-mail:   {email}");
        }
    }
}

async fn list_types(client: &ClientArgs, json: bool) -> anyhow::Result<ExitCode> {
    let answer: Value = client.connect()?.get_json("/api/v1/document-types").await?;
    if json {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    let types = answer["types"].as_array().cloned().unwrap_or_default();
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let name_width = types
        .iter()
        .map(|entry| text(&entry["name"]).chars().count())
        .max()
        .unwrap_or(0)
        .max("NAME".len());
    println!(
        "{:<5} {:<name_width$} {:<7}  {:>10}",
        "CODE", "NAME", "ARCHIVE", "LOCAL DAYS"
    );
    for entry in &types {
        println!(
            "{:<5} {:<name_width$} {:<7}  {:>10}{}",
            text(&entry["code"]),
            text(&entry["name"]),
            yes_no(entry["archive_automatically"].as_bool().unwrap_or(false)),
            entry["keep_local_days"].to_string(),
            if entry["overridden"].as_bool().unwrap_or(false) {
                "  (changed)"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn parse_yes_no(text: &str) -> anyhow::Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" => Ok(true),
        "no" | "n" | "false" => Ok(false),
        _ => anyhow::bail!("--archive '{text}': use yes or no"),
    }
}

async fn set_type(
    client: &ClientArgs,
    code: &str,
    archive: &str,
    local_days: u32,
    json_output: bool,
) -> anyhow::Result<ExitCode> {
    let archive = parse_yes_no(archive)?;
    let code = code.trim().to_ascii_uppercase();
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        anyhow::bail!("'{code}' is not a document type code (letters and digits, e.g. ZBD)");
    }
    let body = json!({
        "archive_automatically": archive,
        "keep_local_days": local_days,
    });
    let entry: Value = client
        .connect()?
        .send_json(
            Method::PUT,
            &format!("/api/v1/document-types/{code}"),
            &body,
        )
        .await?;
    if json_output {
        print_json(&entry)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} ({}): archive automatically {}, keep locally {} days",
        entry["code"].as_str().unwrap_or_default(),
        entry["name"].as_str().unwrap_or_default(),
        yes_no(entry["archive_automatically"].as_bool().unwrap_or(false)),
        entry["keep_local_days"]
    );
    Ok(ExitCode::SUCCESS)
}
