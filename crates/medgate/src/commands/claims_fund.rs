//! `medgate claims mo|smo|period|user …`: the territorial fund operator's registry of a
//! claims node (`--role claims`), straight on the node's database (the same configuration as
//! `medgate serve`): medical organisations and the subdivisions that submit separately,
//! insurers, reporting periods, and the MO staff's logins — each new login's one-time link
//! printed once. The rules are `medgate_claims::fund`'s.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use medgate_claims::fund::{self, Actor, IssuedLink, Role};
use medgate_claims::systems;
use medgate_server::config::{Overrides, ServerConfig};
use medgate_storage::{AuditOrigin, Metadata};
use serde_json::json;
use time::OffsetDateTime;

use crate::output::{print_json, rfc3339};

/// Where the claims node's data is.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// TOML configuration file of the node.
    #[arg(long, global = true, help_heading = "Node")]
    pub config: Option<PathBuf>,
    /// Data folder of the node.
    #[arg(long, global = true, help_heading = "Node")]
    pub data: Option<PathBuf>,
    /// postgres://… when the node uses PostgreSQL.
    #[arg(long, global = true, help_heading = "Node")]
    pub database_url: Option<String>,
    /// Create the node's database when the data folder has none yet (before the node's
    /// first start); without it such a folder is refused.
    #[arg(long, global = true, help_heading = "Node")]
    pub init: bool,
}

#[derive(Debug, Args)]
pub struct MoArgs {
    #[command(flatten)]
    node: NodeArgs,
    #[command(subcommand)]
    command: MoCommand,
}

#[derive(Debug, Subcommand)]
enum MoCommand {
    /// Register a medical organisation.
    Add {
        /// 6 digits (the federal F003 code; an M before them is allowed).
        #[arg(long)]
        code: String,
        /// The name, as the pages and lists show it.
        #[arg(long)]
        name: String,
    },
    /// Add a subdivision that submits its registers separately (its executor gets a login
    /// of its own).
    AddSubdivision {
        /// The MO's 6-digit code.
        #[arg(long)]
        mo: String,
        /// 1 to 8 digits.
        #[arg(long)]
        code: String,
        /// The name, as the pages and lists show it.
        #[arg(long)]
        name: String,
    },
    /// List the medical organisations with their subdivisions.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The certificates of the MOs' information systems (mutual TLS and signed requests
    /// to the node's API).
    #[command(subcommand)]
    Certificate(CertificateCommand),
}

#[derive(Debug, Subcommand)]
enum CertificateCommand {
    /// Issue a certificate (with a fresh key) from the node's CA for an MO's information
    /// system, as a PKCS#12 file; its password, a one-time code, is printed once.
    Issue {
        /// The MO's 6-digit code.
        #[arg(long)]
        mo: String,
        /// The subdivision whose packages the system submits, where it submits separately.
        #[arg(long)]
        subdivision: Option<String>,
        /// The PKCS#12 file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u32,
    },
    /// List the certificates issued (of one MO with --mo), newest first.
    List {
        /// Only this MO's (6 digits).
        #[arg(long)]
        mo: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a certificate: it opens nothing from the next request on.
    Revoke {
        /// The certificate's serial (hex, as the list shows it).
        serial: String,
        /// Why (kept with the revocation).
        #[arg(long, default_value = "revoked by the fund's operator")]
        reason: String,
    },
}

#[derive(Debug, Args)]
pub struct SmoArgs {
    #[command(flatten)]
    node: NodeArgs,
    #[command(subcommand)]
    command: SmoCommand,
}

#[derive(Debug, Subcommand)]
enum SmoCommand {
    /// Register an insurer.
    Add {
        /// 5 digits (the federal F002 code).
        #[arg(long)]
        code: String,
        /// The name, as the pages and lists show it.
        #[arg(long)]
        name: String,
    },
    /// List the insurers.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct PeriodArgs {
    #[command(flatten)]
    node: NodeArgs,
    #[command(subcommand)]
    command: PeriodCommand,
}

#[derive(Debug, Subcommand)]
enum PeriodCommand {
    /// Open a reporting period for uploads.
    Open {
        /// YYYY-MM.
        period: String,
    },
    /// Close a reporting period: no package is taken for it any more.
    Close {
        /// YYYY-MM.
        period: String,
    },
    /// List the reporting periods.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    node: NodeArgs,
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a login of an MO's staff (--mo: M<MO>_1 executor, _2 chief accountant, _3
    /// head) or an insurer's reviewer (--smo: S<SMO>_R1, _R2, …); prints its one-time link,
    /// which opens once and shows the default password.
    Add {
        /// The MO's 6-digit code.
        #[arg(long, conflicts_with = "smo", required_unless_present = "smo")]
        mo: Option<String>,
        /// The insurer's 5-digit code: the login is that insurer's reviewer, who sees the
        /// registers sent to it and returns them for rework or passes them for signature.
        #[arg(long)]
        smo: Option<String>,
        /// executor (1), chief-accountant (2) or head (3); with --mo.
        #[arg(long, required_unless_present = "smo", conflicts_with = "smo")]
        role: Option<String>,
        /// The executor's subdivision, where the MO's subdivisions submit separately.
        #[arg(long)]
        subdivision: Option<String>,
        /// The person's name.
        /// The name, as the pages and lists show it.
        #[arg(long)]
        name: String,
    },
    /// A new one-time link and default password for a login (link lost or expired,
    /// password forgotten); the old password stops working.
    Link {
        /// The login, e.g. M140001_1.
        login: String,
    },
    /// List the logins (of one MO with --mo).
    List {
        /// Only the logins of this MO (6 digits).
        #[arg(long)]
        mo: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A fund operator's command, with its node.
#[derive(Debug, Args)]
pub struct PaidArgs {
    #[command(flatten)]
    node: NodeArgs,
    #[command(subcommand)]
    command: PaidCommand,
}

#[derive(Debug, Subcommand)]
enum PaidCommand {
    /// Record the cases of a keys file (as `medgate claims keys` writes it) as paid: the
    /// node's MEK refuses them in every later package (F014 221, 1.10.1). Every line is
    /// checked first; a malformed one records nothing.
    Import {
        /// One key a line: LPU;POLICY;DATE_Z_1;DATE_Z_2;USL_OK;PROFIL;DS1 (`#` starts a
        /// comment).
        file: PathBuf,
    },
}

pub enum FundCommand {
    Mo(MoArgs),
    Smo(SmoArgs),
    Period(PeriodArgs),
    User(UserArgs),
    Paid(PaidArgs),
}

pub fn run(command: FundCommand) -> anyhow::Result<ExitCode> {
    let node = match &command {
        FundCommand::Mo(args) => &args.node,
        FundCommand::Smo(args) => &args.node,
        FundCommand::Period(args) => &args.node,
        FundCommand::User(args) => &args.node,
        FundCommand::Paid(args) => &args.node,
    };
    let config = ServerConfig::load(
        node.config.as_deref(),
        &Overrides {
            data_dir: node.data.clone(),
            database_url: node.database_url.clone(),
            role: Some("claims".to_owned()),
            ..Overrides::default()
        },
    )?;
    let init = node.init;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let metadata = medgate_server::startup::open_node_metadata(&config, init).await?;
        let result = execute(&config, &metadata, command).await;
        metadata.close().await;
        result
    })
}

/// Where the node's pages are reached, for the links printed.
fn public_url(config: &ServerConfig) -> String {
    config.public_url.clone().unwrap_or_else(|| {
        let listen = config.listen;
        if listen.ip().is_unspecified() {
            format!("https://localhost:{}", listen.port())
        } else {
            format!("https://{listen}")
        }
    })
}

fn print_link(config: &ServerConfig, issued: &IssuedLink) {
    println!("login {}", issued.login);
    println!(
        "one-time link (opens once, until {}; it shows the default password, which must be \
         changed at the first sign-in):",
        rfc3339(issued.expires_at)
    );
    println!("{}", issued.url(&public_url(config)));
}

async fn execute(
    config: &ServerConfig,
    store: &Metadata,
    command: FundCommand,
) -> anyhow::Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    let actor = Actor {
        name: "cli".to_owned(),
        origin: AuditOrigin::Cli,
    };
    match command {
        FundCommand::Mo(args) => match args.command {
            MoCommand::Add { code, name } => {
                let mo = fund::add_medical_organisation(store, &actor, &code, &name, now).await?;
                println!("medical organisation {} registered: {}", mo.code, mo.name);
            }
            MoCommand::AddSubdivision { mo, code, name } => {
                let subdivision = fund::add_subdivision(store, &actor, &mo, &code, &name).await?;
                println!(
                    "subdivision {} of medical organisation {} added: {} (it submits separately)",
                    subdivision.code, subdivision.mo_code, subdivision.name
                );
            }
            MoCommand::List { json } => {
                let mut rows = Vec::new();
                for mo in store.claims_medical_organisations().await? {
                    let subdivisions = store.claims_subdivisions(&mo.code).await?;
                    rows.push((mo, subdivisions));
                }
                if json {
                    let list: Vec<_> = rows
                        .iter()
                        .map(|(mo, subdivisions)| {
                            json!({
                                "code": mo.code,
                                "name": mo.name,
                                "created_at": rfc3339(mo.created_at),
                                "subdivisions": subdivisions.iter().map(|s| json!({
                                    "code": s.code, "name": s.name,
                                })).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                    print_json(&json!(list))?;
                } else {
                    for (mo, subdivisions) in rows {
                        println!("{}  {}", mo.code, mo.name);
                        for subdivision in subdivisions {
                            println!("  {}  {}", subdivision.code, subdivision.name);
                        }
                    }
                }
            }
            MoCommand::Certificate(command) => {
                certificate(config, store, &actor, command, now).await?
            }
        },
        FundCommand::Smo(args) => match args.command {
            SmoCommand::Add { code, name } => {
                let insurer = fund::add_insurer(store, &actor, &code, &name, now).await?;
                println!("insurer {} registered: {}", insurer.code, insurer.name);
            }
            SmoCommand::List { json } => {
                let insurers = store.claims_insurers().await?;
                if json {
                    let list: Vec<_> = insurers
                        .iter()
                        .map(|i| json!({"code": i.code, "name": i.name, "created_at": rfc3339(i.created_at)}))
                        .collect();
                    print_json(&json!(list))?;
                } else {
                    for insurer in insurers {
                        println!("{}  {}", insurer.code, insurer.name);
                    }
                }
            }
        },
        FundCommand::Period(args) => match args.command {
            PeriodCommand::Open { period } => {
                let opened = fund::open_period(store, &actor, &period, now).await?;
                println!("reporting period {} is open for packages", opened.period);
            }
            PeriodCommand::Close { period } => {
                let closed = fund::close_period(store, &actor, &period, now).await?;
                println!("reporting period {} is closed", closed.period);
            }
            PeriodCommand::List { json } => {
                let periods = store.claims_periods().await?;
                if json {
                    let list: Vec<_> = periods
                        .iter()
                        .map(|p| {
                            json!({
                                "period": p.period,
                                "open": p.open,
                                "opened_at": rfc3339(p.opened_at),
                                "closed_at": p.closed_at.map(rfc3339),
                            })
                        })
                        .collect();
                    print_json(&json!(list))?;
                } else {
                    for period in periods {
                        println!(
                            "{}  {}",
                            period.period,
                            if period.open { "open" } else { "closed" }
                        );
                    }
                }
            }
        },
        FundCommand::User(args) => match args.command {
            UserCommand::Add {
                mo,
                smo,
                role,
                subdivision,
                name,
            } => {
                let issued = match (mo, smo, role) {
                    (Some(mo), _, Some(role)) => {
                        let role = Role::parse(&role)?;
                        fund::add_user(store, &actor, &mo, role, subdivision.as_deref(), &name, now)
                            .await?
                    }
                    (_, Some(smo), _) => {
                        if subdivision.is_some() {
                            anyhow::bail!(
                                "--subdivision is an MO executor's; an insurer's reviewer has none"
                            );
                        }
                        fund::add_reviewer(store, &actor, &smo, &name, now).await?
                    }
                    _ => anyhow::bail!("give --mo with --role, or --smo"),
                };
                print_link(config, &issued);
            }
            UserCommand::Link { login } => {
                let issued = fund::renew_link(store, &actor, &login, now).await?;
                print_link(config, &issued);
            }
            UserCommand::List { mo, json } => {
                let mo = mo.as_deref().map(fund::parse_mo_code).transpose()?;
                let users = store.claims_users(mo.as_deref()).await?;
                if json {
                    let list: Vec<_> = users
                        .iter()
                        .map(|u| {
                            json!({
                                "login": u.login,
                                "role": u.role,
                                "mo": u.mo_code,
                                "smo": u.smo_code,
                                "subdivision": u.subdivision_code,
                                "name": u.name,
                                "must_change_password": u.must_change_password,
                                "link_opened_at": u.link_opened_at.map(rfc3339),
                                "link_expires_at": u.link_expires_at.map(rfc3339),
                            })
                        })
                        .collect();
                    print_json(&json!(list))?;
                } else {
                    for user in users {
                        println!(
                            "{}  {}  {}{}  {}  {}",
                            user.login,
                            user.role,
                            match (&user.mo_code, &user.smo_code) {
                                (Some(mo), _) => format!("MO {mo}"),
                                (None, smo) => format!("SMO {}", smo.as_deref().unwrap_or("")),
                            },
                            user.subdivision_code
                                .map(|s| format!("/{s}"))
                                .unwrap_or_default(),
                            user.name,
                            if user.must_change_password {
                                match user.link_opened_at {
                                    Some(_) => "link opened, default password not changed yet",
                                    None => "link not opened yet",
                                }
                            } else {
                                "active"
                            }
                        );
                    }
                }
            }
        },
        FundCommand::Paid(args) => match args.command {
            PaidCommand::Import { file } => {
                let text = std::fs::read_to_string(&file).map_err(|e| {
                    anyhow::anyhow!("{}: cannot be read as text: {e}", file.display())
                })?;
                let source = file
                    .file_name()
                    .and_then(|name| name.to_str())
                    .unwrap_or("keys")
                    .to_owned();
                let imported =
                    medgate_claims::intake::import_paid_cases(store, &actor, &text, &source, now)
                        .await?;
                println!(
                    "{} paid case key{} read from {}, {} new; the MEK of later packages refuses those cases (F014 221, 1.10.1)",
                    imported.read,
                    if imported.read == 1 { "" } else { "s" },
                    file.display(),
                    imported.added
                );
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

async fn certificate(
    config: &ServerConfig,
    store: &Metadata,
    actor: &Actor,
    command: CertificateCommand,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    match command {
        CertificateCommand::Issue {
            mo,
            subdivision,
            out,
            days,
        } => {
            if out.exists() {
                anyhow::bail!("{} exists already; name a new file", out.display());
            }
            let ca = medgate_server::startup::open_or_create_ca(config)?;
            let code = medgate_web::password::activation_code()
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            let issued = systems::issue_certificate(
                store,
                actor,
                &ca,
                &mo,
                subdivision.as_deref(),
                days,
                &medgate_pki::Password::new(code.clone()),
                now,
            )
            .await?;
            medgate_pki::files::write(
                &out,
                &issued.pkcs12,
                medgate_pki::files::WriteMode::CreateNew,
                medgate_pki::files::Visibility::Secret,
            )?;
            println!(
                "certificate {} issued to the information system of MO {}{} until {}; written to {}",
                issued.serial,
                issued.mo_code,
                issued
                    .subdivision_code
                    .as_deref()
                    .map(|s| format!(" (subdivision {s})"))
                    .unwrap_or_default(),
                rfc3339(issued.not_after),
                out.display()
            );
            println!("PKCS#12 password (shown once): {code}");
        }
        CertificateCommand::List { mo, json } => {
            let mo = mo.as_deref().map(fund::parse_mo_code).transpose()?;
            let certificates = store.claims_mo_certificates(mo.as_deref()).await?;
            if json {
                let list: Vec<_> = certificates
                    .iter()
                    .map(|c| {
                        json!({
                            "serial": c.serial,
                            "mo": c.mo_code,
                            "subdivision": c.subdivision_code,
                            "not_after": rfc3339(c.not_after),
                            "issued_at": rfc3339(c.issued_at),
                            "issued_by": c.issued_by,
                            "revoked_at": c.revoked_at.map(rfc3339),
                            "revoked_reason": c.revoked_reason,
                        })
                    })
                    .collect();
                print_json(&json!(list))?;
            } else {
                for c in certificates {
                    println!(
                        "{}  MO {}{}  until {}  {}",
                        c.serial,
                        c.mo_code,
                        c.subdivision_code
                            .as_deref()
                            .map(|s| format!("/{s}"))
                            .unwrap_or_default(),
                        rfc3339(c.not_after),
                        match c.revoked_at {
                            Some(at) => format!(
                                "revoked {} ({})",
                                rfc3339(at),
                                c.revoked_reason.unwrap_or_default()
                            ),
                            None if c.not_after < now => "expired".to_owned(),
                            None => "active".to_owned(),
                        }
                    );
                }
            }
        }
        CertificateCommand::Revoke { serial, reason } => {
            let revoked = systems::revoke_certificate(store, actor, &serial, &reason, now).await?;
            println!(
                "certificate {} of MO {} revoked: it opens nothing from the next request on",
                revoked.serial, revoked.mo_code
            );
        }
    }
    Ok(())
}
