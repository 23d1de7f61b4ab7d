//! `client audit`: the account's own audit log (who did what, when, from where), optionally
//! only the entries concerning one patient.

use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use super::ClientArgs;
use crate::output::print_json;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only entries concerning this patient: PESEL (or root^extension).
    #[arg(long)]
    pub patient: Option<String>,
    /// How many entries (1-1000).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Only entries older than this entry number (the `next_before` of a previous page).
    #[arg(long)]
    pub before: Option<u64>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub async fn list(client: &ClientArgs, args: &AuditArgs) -> anyhow::Result<ExitCode> {
    let mut query = vec![format!("limit={}", args.limit)];
    if let Some(patient) = &args.patient {
        query.push(format!("patient={}", urlencoding::encode(patient)));
    }
    if let Some(before) = args.before {
        query.push(format!("before={before}"));
    }
    let answer: Value = client
        .connect()?
        .get_json(&format!("/api/v1/audit?{}", query.join("&")))
        .await?;
    if args.json {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    let entries = answer["entries"].as_array().cloned().unwrap_or_default();
    let text = |value: &Value| value.as_str().unwrap_or("-").to_owned();
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|entry| {
            [
                entry["seq"].to_string(),
                text(&entry["at"]),
                text(&entry["action"]),
                text(&entry["target"]),
                text(&entry["patient"]),
                text(&entry["actor"]),
                text(&entry["origin"]),
            ]
        })
        .collect();
    let headings = [
        "SEQ", "TIME", "ACTION", "TARGET", "PATIENT", "ACTOR", "ORIGIN",
    ];
    crate::output::print_table(headings, &rows);
    if let Some(before) = answer["next_before"].as_u64() {
        println!("(more: --before {before})");
    }
    Ok(ExitCode::SUCCESS)
}
