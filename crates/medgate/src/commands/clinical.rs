//! `medgate clinical …`: the operator's registry of the clinical record service (a node of
//! `--role clinical`), straight on the node's database and CA folder (the same configuration
//! as `medgate serve`): institutions, units, practitioners (their TOTP secret printed once),
//! the authorisation matrix, institution certificates (PKCS#12 from the service's CA, its
//! password a one-time code printed once), the verified connection check and the patients'
//! portal accounts (their activation code printed once). The rules are
//! `medgate_clinical::admin`'s and `medgate_clinical::accounts`'.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use medgate_clinical::admin::{self, Operator};
use medgate_pki::ca::CertificateAuthority;
use medgate_pki::files::{Visibility, WriteMode};
use medgate_server::config::{Overrides, ServerConfig};
use medgate_storage::{AuditOrigin, Metadata};
use serde_json::json;
use time::OffsetDateTime;

use crate::output::{print_json, rfc3339};

#[derive(Debug, Args)]
pub struct ClinicalArgs {
    /// TOML configuration file of the node.
    #[arg(long, global = true, help_heading = "Node")]
    pub config: Option<PathBuf>,
    /// Data folder of the node.
    #[arg(long, global = true, help_heading = "Node")]
    pub data: Option<PathBuf>,
    /// postgres://… when the node uses PostgreSQL.
    #[arg(long, global = true, help_heading = "Node")]
    pub database_url: Option<String>,
    /// Create the node's database (and CA) when the data folder has none yet (before the
    /// node's first start); without it such a folder is refused.
    #[arg(long, global = true, help_heading = "Node")]
    pub init: bool,
    #[command(subcommand)]
    pub command: ClinicalCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClinicalCommand {
    /// Institutions (6-digit ids).
    #[command(subcommand)]
    Institution(InstitutionCommand),
    /// Units of institutions (9-digit ids).
    #[command(subcommand)]
    Unit(UnitCommand),
    /// Practitioners: user name, password and TOTP token.
    #[command(subcommand)]
    Practitioner(PractitionerCommand),
    /// Grant a practitioner a line of the authorisation matrix: acting for an institution
    /// (one unit of it, or all) in a role.
    Grant {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        institution: String,
        /// One unit of the institution (default: all its units).
        #[arg(long)]
        unit: Option<String>,
        /// The role, e.g. doctor or nurse.
        #[arg(long)]
        role: String,
    },
    /// Remove a line of the authorisation matrix (the same user, institution, unit or all,
    /// and role as granted); the user's sessions for the institution end with its last line.
    Revoke {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        institution: String,
        /// The unit of the line (default: the line for all units).
        #[arg(long)]
        unit: Option<String>,
        #[arg(long)]
        role: String,
    },
    /// Institution certificates from the service's CA.
    #[command(subcommand)]
    Certificate(CertificateCommand),
    /// Patients' accounts of the service's portal (`/portal`).
    #[command(subcommand)]
    Patient(PatientCommand),
    /// The institution's connection check.
    #[command(subcommand)]
    Connection(ConnectionCommand),
}

#[derive(Debug, Subcommand)]
pub enum InstitutionCommand {
    /// Register an institution.
    Add {
        /// 6 digits.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
    },
    /// List the institutions.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// Add a unit to an institution.
    Add {
        #[arg(long)]
        institution: String,
        /// 9 digits.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PractitionerCommand {
    /// Register a practitioner; prints the TOTP secret once, as an otpauth:// URI to enrol
    /// in the practitioner's authenticator.
    Add {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        name: String,
        /// The 5-digit stamp number.
        #[arg(long)]
        stamp_number: String,
        /// The password (12 to 128 characters), the file's first line.
        #[arg(long)]
        password_file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum PatientCommand {
    /// Create a patient's portal account; prints the one-time activation code once, for the
    /// patient to set their password at /portal/activate.
    Add {
        /// The patient's TAJ number (9 digits with its check digit).
        #[arg(long)]
        taj: String,
        /// The patient's name, as the portal greets them.
        #[arg(long)]
        name: String,
    },
    /// Give a patient a new activation code (lost, expired, or the password forgotten): their
    /// password stops working; prints the code once.
    Renew {
        /// The patient's TAJ number.
        #[arg(long)]
        taj: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CertificateCommand {
    /// Issue an institution certificate (TLS client and request signing, with a fresh key)
    /// as a PKCS#12 file; its password, a one-time code, is printed once.
    Issue {
        #[arg(long)]
        institution: String,
        /// The PKCS#12 file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Mark the institution's connection check as verified: with --report, after checking
    /// the signed report the institution made with `medgate connect-check --p12 … --report`.
    Verified {
        #[arg(long)]
        institution: String,
        /// The institution's signed connection-check report: it must verify (signature by a
        /// certificate of this service's CA recorded for the institution, not edited) and say
        /// the connection was usable for that institution.
        #[arg(long)]
        report: Option<PathBuf>,
    },
}

fn operator() -> Operator {
    Operator {
        name: "cli".to_owned(),
        origin: AuditOrigin::Cli,
    }
}

pub fn run(args: ClinicalArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig::load(
        args.config.as_deref(),
        &Overrides {
            data_dir: args.data,
            database_url: args.database_url,
            role: Some("clinical".to_owned()),
            ..Overrides::default()
        },
    )?;
    let init = args.init;
    let command = args.command;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let metadata = medgate_server::startup::open_node_metadata(&config, init).await?;
        let result = execute(&config, &metadata, command).await;
        metadata.close().await;
        result
    })
}

async fn execute(
    config: &ServerConfig,
    store: &Metadata,
    command: ClinicalCommand,
) -> anyhow::Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    let operator = operator();
    match command {
        ClinicalCommand::Institution(InstitutionCommand::Add { id, name }) => {
            let institution =
                admin::register_institution(store, &operator, &id, &name, now).await?;
            println!(
                "institution {} registered: {}",
                institution.id, institution.name
            );
        }
        ClinicalCommand::Institution(InstitutionCommand::List { json }) => {
            let institutions = store.clinical_institutions().await?;
            if json {
                let list: Vec<_> = institutions
                    .iter()
                    .map(|institution| {
                        json!({
                            "id": institution.id.as_str(),
                            "name": institution.name,
                            "active": institution.active,
                            "connection_verified_at": institution.connection_verified_at.map(rfc3339),
                            "created_at": rfc3339(institution.created_at),
                        })
                    })
                    .collect();
                print_json(&json!(list))?;
            } else {
                for institution in institutions {
                    println!(
                        "{}  {}  {}{}",
                        institution.id,
                        if institution.active {
                            "active"
                        } else {
                            "suspended"
                        },
                        institution.name,
                        institution
                            .connection_verified_at
                            .map(|at| format!("  (connection verified {})", rfc3339(at)))
                            .unwrap_or_default()
                    );
                }
            }
        }
        ClinicalCommand::Unit(UnitCommand::Add {
            institution,
            id,
            name,
        }) => {
            let unit = admin::add_unit(store, &operator, &institution, &id, &name).await?;
            println!(
                "unit {} of institution {} added: {}",
                unit.id, unit.institution, unit.name
            );
        }
        ClinicalCommand::Practitioner(PractitionerCommand::Add {
            user_name,
            name,
            stamp_number,
            password_file,
        }) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(&password_file)
                    .with_context(|| format!("{}: cannot be read", password_file.display()))?,
            );
            let password = text.lines().next().unwrap_or_default();
            let registered = admin::register_practitioner(
                store,
                &operator,
                &user_name,
                &name,
                &stamp_number,
                password,
                now,
            )
            .await?;
            println!(
                "practitioner {} registered; password set from {}",
                registered.user_name,
                password_file.display()
            );
            println!("TOTP secret (shown once; enrol it in the practitioner's authenticator):");
            println!("{}", registered.otpauth_uri());
        }
        ClinicalCommand::Grant {
            user_name,
            institution,
            unit,
            role,
        } => {
            admin::grant(
                store,
                &operator,
                &user_name,
                &institution,
                unit.as_deref(),
                &role,
            )
            .await?;
            println!(
                "{user_name} may act for institution {institution} ({}) as {role}",
                unit.map(|unit| format!("unit {unit}"))
                    .unwrap_or_else(|| "all units".to_owned())
            );
        }
        ClinicalCommand::Revoke {
            user_name,
            institution,
            unit,
            role,
        } => {
            admin::revoke(
                store,
                &operator,
                &user_name,
                &institution,
                unit.as_deref(),
                &role,
            )
            .await?;
            println!(
                "{user_name} no longer acts for institution {institution} ({}) as {role}",
                unit.map(|unit| format!("unit {unit}"))
                    .unwrap_or_else(|| "all units".to_owned())
            );
        }
        ClinicalCommand::Certificate(CertificateCommand::Issue {
            institution,
            out,
            days,
        }) => {
            if out.exists() {
                return Err(anyhow!("{} exists already; name a new file", out.display()));
            }
            let ca = open_ca(config)?;
            let code =
                medgate_web::password::activation_code().map_err(|e| anyhow!("{}", e.message()))?;
            let issued =
                admin::issue_certificate(store, &operator, &ca, &institution, days, &code, now)
                    .await?;
            medgate_pki::files::write(
                &out,
                &issued.pkcs12,
                WriteMode::CreateNew,
                Visibility::Secret,
            )?;
            println!(
                "certificate {} issued to institution {institution} until {}; written to {}",
                issued.serial,
                rfc3339(issued.not_after),
                out.display()
            );
            println!("PKCS#12 password (shown once): {code}");
        }
        ClinicalCommand::Patient(PatientCommand::Add { taj, name }) => {
            let account = medgate_clinical::accounts::create_patient_account(
                store, &operator, &taj, &name, now,
            )
            .await?;
            println!(
                "portal account of patient {} ({}) created; activate at /portal/activate by {}",
                account.taj,
                account.name,
                rfc3339(account.expires_at.replace_nanosecond(0).unwrap_or(account.expires_at))
            );
            println!("activation code (shown once): {}", account.activation_code);
        }
        ClinicalCommand::Patient(PatientCommand::Renew { taj }) => {
            let account =
                medgate_clinical::accounts::renew_activation_code(store, &operator, &taj, now)
                    .await?;
            println!(
                "new activation code for patient {} ({}); the password no longer works; activate at /portal/activate by {}",
                account.taj,
                account.name,
                rfc3339(account.expires_at.replace_nanosecond(0).unwrap_or(account.expires_at))
            );
            println!("activation code (shown once): {}", account.activation_code);
        }
        ClinicalCommand::Connection(ConnectionCommand::Verified {
            institution,
            report,
        }) => {
            let checked = match &report {
                Some(path) => Some(check_report(config, store, &institution, path, now).await?),
                None => None,
            };
            admin::mark_connection_verified(store, &operator, &institution, now).await?;
            match checked {
                Some(summary) => println!(
                    "institution {institution}: connection check verified from its signed report ({summary})"
                ),
                None => println!(
                    "institution {institution}: connection check verified (on the operator's word; no report checked)"
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks an institution's signed connection-check report before its connection is marked
/// verified (`medgate_clinical::admin::check_connection_report`, as the operator's pages do).
/// Returns the report's summary line.
async fn check_report(
    config: &ServerConfig,
    store: &Metadata,
    institution: &str,
    path: &std::path::Path,
    now: OffsetDateTime,
) -> anyhow::Result<String> {
    let ca = open_ca(config)?;
    let bytes =
        std::fs::read(path).with_context(|| format!("{}: cannot be read", path.display()))?;
    admin::check_connection_report(store, ca.certificate(), institution, &bytes, now)
        .await
        .map_err(|error| anyhow!("{}: {error}", path.display()))
}

/// The service's CA (created, named for the clinical service, when the data folder has none
/// yet).
fn open_ca(config: &ServerConfig) -> anyhow::Result<CertificateAuthority> {
    Ok(medgate_server::startup::open_or_create_ca(config)?)
}
