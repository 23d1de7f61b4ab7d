//! `client consent create|send|revoke|list|show`: the consent register. `send` prints what
//! the clinic hands to the patient: the portal address, the clinic id, the patient id and
//! the one-time activation code (shown only by this command, only once).

use std::process::ExitCode;

use clap::Subcommand;
use http::Method;
use serde_json::{json, Value};

use super::ClientArgs;
use crate::output::print_json;

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Create a consent (a draft) sharing documents of one patient.
    Create {
        /// The patient: PESEL, or root^extension for other identifiers.
        #[arg(long)]
        patient: String,
        /// Who the documents are shared for (e.g. a doctor or a clinic).
        #[arg(long)]
        recipient: String,
        /// What for (the matter).
        #[arg(long)]
        purpose: String,
        /// First day in force (YYYY-MM-DD, UTC).
        #[arg(long)]
        from: String,
        /// Last day in force (YYYY-MM-DD, UTC, inclusive).
        #[arg(long)]
        to: String,
        /// The documents (root^extension), each the patient's.
        #[arg(required = true)]
        documents: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Send a consent: the patient sees its documents on the portal (prints the activation
    /// code for a new patient account).
    Send {
        /// Consent id.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a consent: its documents disappear from the portal at once.
    Revoke {
        /// Consent id.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List consents, newest first.
    List {
        /// Only this patient's (PESEL, or root^extension).
        #[arg(long)]
        patient: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one consent with its documents.
    Show {
        /// Consent id.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(client: &ClientArgs, command: &ConsentCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConsentCommand::Create {
            patient,
            recipient,
            purpose,
            from,
            to,
            documents,
            json,
        } => {
            let patient = match patient.trim().split_once('^') {
                Some((root, extension)) => json!({ "root": root, "extension": extension }),
                None => json!({ "extension": patient.trim() }),
            };
            let body = json!({
                "patient": patient,
                "recipient": recipient,
                "purpose": purpose,
                "from": from,
                "to": to,
                "documents": documents,
            });
            let answer: Value = client
                .connect()?
                .send_json(Method::POST, "/api/v1/consents", &body)
                .await?;
            if *json {
                print_json(&answer)?;
            } else {
                let consent = &answer["consent"];
                println!("created consent {}", describe(consent));
                // The command to run next, with the same client.toml when one was given.
                let connection = match &client.config {
                    Some(path) => format!(" --config {}", path.display()),
                    None => " [the same connection options]".to_owned(),
                };
                println!(
                    "it is a draft: the patient sees nothing until `medgate client{connection} consent send {}`",
                    text(&consent["id"])
                );
            }
        }
        ConsentCommand::Send { id, json } => {
            let connected = client.connect()?;
            let answer: Value = connected
                .send(Method::POST, &consent_path(id, "/send"), None)
                .await?
                .json()?;
            if *json {
                print_json(&answer)?;
            } else {
                print_sent(client, &answer)?;
            }
        }
        ConsentCommand::Revoke { id, json } => {
            let answer: Value = client
                .connect()?
                .send(Method::POST, &consent_path(id, "/revoke"), None)
                .await?
                .json()?;
            if *json {
                print_json(&answer)?;
            } else {
                println!(
                    "revoked consent {}; its documents are no longer shown to the patient",
                    describe(&answer["consent"])
                );
            }
        }
        ConsentCommand::List { patient, json } => {
            let path = match patient {
                Some(patient) => format!(
                    "/api/v1/consents?patient={}",
                    urlencoding::encode(patient.trim())
                ),
                None => "/api/v1/consents".to_owned(),
            };
            let answer: Value = client.connect()?.get_json(&path).await?;
            if *json {
                print_json(&answer)?;
            } else {
                print_table(&answer);
            }
        }
        ConsentCommand::Show { id, json } => {
            let answer: Value = client.connect()?.get_json(&consent_path(id, "")).await?;
            if *json {
                print_json(&answer)?;
            } else {
                let consent = &answer["consent"];
                println!("consent {}", describe(consent));
                for document in consent["documents"].as_array().into_iter().flatten() {
                    let note = if document["available"].as_bool() == Some(false) {
                        " (deleted from the repository)"
                    } else {
                        ""
                    };
                    println!("  document {}{note}", text(&document["id"]));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn consent_path(id: &str, suffix: &str) -> String {
    format!(
        "/api/v1/consents/{}{suffix}",
        urlencoding::encode(id.trim())
    )
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("-").to_owned()
}

/// `<id> (<status>, patient <ext>, <from> to <to>, <n> documents, for <recipient>: <purpose>)`.
fn describe(consent: &Value) -> String {
    let documents = consent["documents"].as_array().map_or(0, Vec::len);
    let active = if consent["active"].as_bool() == Some(true) {
        ", in force now"
    } else {
        ""
    };
    format!(
        "{} ({}{active}, patient {}, {} to {}, {documents} document{}, for {}: {})",
        text(&consent["id"]),
        text(&consent["status"]),
        text(&consent["patient"]["extension"]),
        text(&consent["from"]),
        text(&consent["to"]),
        if documents == 1 { "" } else { "s" },
        text(&consent["recipient"]),
        text(&consent["purpose"]),
    )
}

/// What `send` tells the clinic, and what it hands to the patient.
fn print_sent(client: &ClientArgs, answer: &Value) -> anyhow::Result<()> {
    let consent = &answer["consent"];
    let account = &answer["patient_account"];
    println!("sent consent {}", describe(consent));
    if consent["active"].as_bool() != Some(true) {
        println!(
            "note: today is outside the consent's dates ({} to {}); the patient sees its documents only within them",
            text(&consent["from"]),
            text(&consent["to"])
        );
    }
    let settings = client.settings()?;
    let server = &settings.server;
    let activation = server
        .join(
            account["activation_path"]
                .as_str()
                .unwrap_or("/portal/activate"),
        )
        .map(|url| url.to_string())
        .unwrap_or_default();
    let portal = server
        .join(account["portal_path"].as_str().unwrap_or("/portal"))
        .map(|url| url.to_string())
        .unwrap_or_default();
    let tenant = &settings.tenant;
    match account["activation_code"].as_str() {
        Some(code) => {
            let what = if account["status"] == "code_renewed" {
                "the patient's portal account is not activated yet; a new activation code replaces any earlier one"
            } else {
                "a portal account was created for the patient"
            };
            println!("{what}. Hand the patient:");
            println!("  activate at:     {activation}");
            println!("  clinic id:       {tenant}");
            println!(
                "  patient id:      {}",
                text(&consent["patient"]["extension"])
            );
            println!(
                "  activation code: {code}  (one-time, valid until {}; it is not shown again)",
                text(&account["activation_expires_at"])
            );
        }
        None => {
            println!("the patient's portal account is already active; they sign in at {portal}")
        }
    }
    Ok(())
}

/// Consents as a table.
fn print_table(answer: &Value) {
    let consents = answer["consents"].as_array().cloned().unwrap_or_default();
    let rows: Vec<[String; 8]> = consents
        .iter()
        .map(|c| {
            [
                text(&c["id"]),
                text(&c["status"]),
                (if c["active"].as_bool() == Some(true) {
                    "yes"
                } else {
                    "no"
                })
                .to_owned(),
                text(&c["patient"]["extension"]),
                format!("{}..{}", text(&c["from"]), text(&c["to"])),
                c["documents"].as_array().map_or(0, Vec::len).to_string(),
                text(&c["recipient"]),
                text(&c["purpose"]),
            ]
        })
        .collect();
    let headings = [
        "ID",
        "STATUS",
        "IN FORCE",
        "PATIENT",
        "DATES",
        "DOCS",
        "RECIPIENT",
        "PURPOSE",
    ];
    crate::output::print_table(headings, &rows);
    if consents.is_empty() {
        println!("no consents");
    }
}
