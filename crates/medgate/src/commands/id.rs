//! `medgate id check KIND VALUE`: validates an identifier and says what it encodes.

use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use medgate_ids::{IdKind, Nip, Oid, Pesel, Regon14, Regon9, Sex, Taj, TenantId};

#[derive(Debug, Subcommand)]
pub enum IdCommand {
    /// Check one identifier: exit 0 when valid, 1 with the failed rule otherwise.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// pesel, nip, regon (9 or 14 digits), regon9, regon14, taj, oid or tenant.
    pub kind: String,
    /// The value to check.
    pub value: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: IdCommand) -> anyhow::Result<ExitCode> {
    match command {
        IdCommand::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let Some(kind) = IdKind::parse(&args.kind) else {
        bail!(
            "unknown identifier kind '{}': use one of {}",
            args.kind,
            IdKind::NAMES.join(", ")
        );
    };
    let value = args.value.trim();
    let (canonical, kind_name, details): (String, &str, Vec<(&str, String)>) = match kind {
        IdKind::Pesel => {
            let pesel = Pesel::parse(value)?;
            let sex = match pesel.sex() {
                Sex::Female => "female",
                Sex::Male => "male",
            };
            (
                pesel.to_string(),
                "PESEL",
                vec![("birth date", pesel.birth_date().to_string()), ("sex", sex.to_owned())],
            )
        }
        IdKind::Nip => (Nip::parse(value)?.to_string(), "NIP", vec![]),
        IdKind::Regon9 => (Regon9::parse(value)?.to_string(), "REGON-9", vec![]),
        IdKind::Regon14 => {
            let regon = Regon14::parse(value)?;
            (regon.to_string(), "REGON-14", vec![("entity REGON-9", regon.entity().to_string())])
        }
        IdKind::Regon => {
            if value.len() == 14 {
                let regon = Regon14::parse(value)?;
                (regon.to_string(), "REGON-14", vec![("entity REGON-9", regon.entity().to_string())])
            } else {
                (Regon9::parse(value)?.to_string(), "REGON-9", vec![])
            }
        }
        IdKind::Taj => (Taj::parse(value)?.to_string(), "TAJ", vec![]),
        IdKind::Oid => (Oid::parse(value)?.to_string(), "OID", vec![]),
        IdKind::Tenant => (TenantId::parse(value)?.to_string(), "tenant id", vec![]),
    };
    if args.json {
        let mut object = serde_json::Map::new();
        object.insert("kind".into(), kind_name.into());
        object.insert("value".into(), canonical.clone().into());
        object.insert("valid".into(), true.into());
        for (name, detail) in &details {
            object.insert(name.replace(' ', "_"), detail.clone().into());
        }
        crate::output::print_json(&serde_json::Value::Object(object))?;
    } else {
        let extra: Vec<String> = details.iter().map(|(n, d)| format!("{n} {d}")).collect();
        if extra.is_empty() {
            println!("valid {kind_name} {canonical}");
        } else {
            println!("valid {kind_name} {canonical} ({})", extra.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
