//! The staff accounts of the web pages, from the command line: `medgate tenant admin-user …`
//! (a tenant's administrators, who sign in at `/admin`) and `medgate operator user …` (the
//! operators, at `/operator`). Both work on the node's database directly, like the other
//! operator commands. A new or reset account gets a one-time activation code, printed once,
//! or the password in `--password-file`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use medgate_pki::Password;
use medgate_web::staff::{self as users, FirstCredential, Issued};
use medgate_storage::{Metadata, StaffLogin, StaffScope, StaffUser};

use crate::output::{print_json, rfc3339};

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a login; prints a one-time activation code unless --password-file is given.
    Create(CredentialArgs),
    /// List the logins.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Replace the login's password with a new one-time code (or --password-file); signs
    /// the user out everywhere.
    Reset(CredentialArgs),
    /// Disable the login and sign the user out everywhere.
    Disable(LoginArgs),
    /// Enable a disabled login again.
    Enable(LoginArgs),
}

#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// The login: letters a-z, digits and . _ - @ (at most 64 characters).
    #[arg(long)]
    pub login: String,
    /// Set this password (read from the file, first line) instead of issuing an activation
    /// code.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[arg(long)]
    pub login: String,
}

fn first_credential(password_file: Option<&std::path::Path>) -> anyhow::Result<FirstCredential> {
    match password_file {
        None => Ok(FirstCredential::ActivationCode),
        Some(path) => {
            let password = Password::from_file(path)?;
            Ok(FirstCredential::Password(password.expose().to_owned()))
        }
    }
}

fn describe_scope(scope: &StaffScope) -> String {
    match scope {
        StaffScope::Admin(tenant) => format!("administrator of account {tenant}"),
        StaffScope::Operator => "operator".to_owned(),
    }
}

fn activate_path(scope: &StaffScope) -> &'static str {
    match scope {
        StaffScope::Admin(_) => "/admin/activate",
        StaffScope::Operator => "/operator/activate",
    }
}

fn sign_in_path(scope: &StaffScope) -> &'static str {
    match scope {
        StaffScope::Admin(_) => "/admin",
        StaffScope::Operator => "/operator",
    }
}

fn state(user: &StaffUser) -> &'static str {
    if user.disabled_at.is_some() {
        "disabled"
    } else if user.password_hash.is_some() {
        "active"
    } else {
        "awaiting activation"
    }
}

fn user_json(user: &StaffUser) -> serde_json::Value {
    serde_json::json!({
        "login": user.login.as_str(),
        "role": match user.scope { StaffScope::Admin(_) => "admin", StaffScope::Operator => "operator" },
        "tenant": user.scope.tenant().map(|t| t.as_str()),
        "state": state(user),
        "created_at": rfc3339(user.created_at),
        "created_by": user.created_by,
        "activated_at": user.activated_at.map(rfc3339),
        "last_signin_at": user.last_signin_at.map(rfc3339),
        "disabled_at": user.disabled_at.map(rfc3339),
    })
}

fn credential_words(issued: &Issued) -> &'static str {
    if issued.activation_code.is_some() {
        "activation code issued"
    } else {
        "password set from a file"
    }
}

fn print_issued(verb: &str, issued: &Issued, json: bool) -> anyhow::Result<()> {
    let scope = &issued.user.scope;
    if json {
        let mut value = user_json(&issued.user);
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "activation_code".into(),
                issued.activation_code.clone().into(),
            );
            object.insert(
                "activation_expires_at".into(),
                issued.activation_expires_at.map(rfc3339).into(),
            );
            object.insert("activate_path".into(), activate_path(scope).into());
            object.insert("sign_in_path".into(), sign_in_path(scope).into());
        }
        return print_json(&value);
    }
    println!(
        "{verb} {} login {}",
        describe_scope(scope),
        issued.user.login
    );
    match (&issued.activation_code, issued.activation_expires_at) {
        (Some(code), Some(expires)) => {
            println!("hand the user, once:");
            println!(
                "  set a password at: https://<this server>{}",
                activate_path(scope)
            );
            if let StaffScope::Admin(tenant) = scope {
                println!("  account id:        {tenant}");
            }
            println!("  login:             {}", issued.user.login);
            println!(
                "  activation code:   {code}  (one-time, valid until {}; it is not shown again)",
                rfc3339(expires)
            );
        }
        _ => println!(
            "the password from the file is set; sign in at https://<this server>{}",
            sign_in_path(scope)
        ),
    }
    Ok(())
}

/// Records a change made from the command line in the audit log (actor `cli`, since the
/// operator at the shell has no login of their own).
async fn audit(
    metadata: &Metadata,
    scope: &StaffScope,
    action: &str,
    login: &StaffLogin,
    details: &str,
) -> anyhow::Result<()> {
    let kind = match scope {
        StaffScope::Admin(_) => "admin_user",
        StaffScope::Operator => "operator_user",
    };
    metadata
        .append_audit(&medgate_storage::NewAuditEntry {
            tenant: scope.tenant().cloned(),
            actor: "cli".to_owned(),
            action: format!("{kind}.{action}"),
            target: login.to_string(),
            origin: medgate_storage::AuditOrigin::Cli,
            details: details.to_owned(),
            patient: None,
        })
        .await?;
    Ok(())
}

/// Runs a staff command for `scope` on the node's database.
pub async fn execute(
    metadata: &Metadata,
    scope: StaffScope,
    command: StaffCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        StaffCommand::Create(args) => {
            let first = first_credential(args.password_file.as_deref())?;
            let issued = users::create(metadata, scope, &args.login, first, "cli").await?;
            audit(
                metadata,
                &issued.user.scope,
                "create",
                &issued.user.login,
                credential_words(&issued),
            )
            .await?;
            print_issued("created", &issued, args.json)?;
        }
        StaffCommand::Reset(args) => {
            let first = first_credential(args.password_file.as_deref())?;
            let issued = users::reset(metadata, &scope, &args.login, first).await?;
            audit(
                metadata,
                &scope,
                "reset",
                &issued.user.login,
                credential_words(&issued),
            )
            .await?;
            print_issued("reset", &issued, args.json)?;
        }
        StaffCommand::List { json } => {
            let users = metadata.list_staff_users(&scope).await?;
            if json {
                print_json(&serde_json::Value::Array(
                    users.iter().map(user_json).collect(),
                ))?;
            } else if users.is_empty() {
                println!("no {} logins", describe_scope(&scope));
            } else {
                for user in &users {
                    println!(
                        "{:<32}  {:<20}  last sign-in {}",
                        user.login,
                        state(user),
                        user.last_signin_at
                            .map(rfc3339)
                            .unwrap_or_else(|| "never".to_owned())
                    );
                }
            }
        }
        StaffCommand::Disable(args) => {
            let login = StaffLogin::parse(&args.login)?;
            let user = metadata
                .set_staff_disabled(&scope, &login, true, medgate_web::now())
                .await?;
            audit(metadata, &scope, "disable", &login, "sessions ended").await?;
            println!(
                "{} login {} disabled; its sessions ended",
                describe_scope(&scope),
                user.login
            );
        }
        StaffCommand::Enable(args) => {
            let login = StaffLogin::parse(&args.login)?;
            let user = metadata
                .set_staff_disabled(&scope, &login, false, medgate_web::now())
                .await?;
            audit(metadata, &scope, "enable", &login, "").await?;
            println!("{} login {} enabled", describe_scope(&scope), user.login);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The node's database, as `medgate tenant` and `medgate operator` open it.
pub fn with_metadata<F, Fut>(
    config: Option<PathBuf>,
    data: Option<PathBuf>,
    database_url: Option<String>,
    init: bool,
    work: F,
) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Metadata) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    use medgate_server::config::{Overrides, ServerConfig};
    let config = ServerConfig::load(
        config.as_deref(),
        &Overrides {
            data_dir: data,
            database_url,
            ..Overrides::default()
        },
    )?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let metadata = medgate_server::startup::open_node_metadata(&config, init).await?;
        let result = work(metadata.clone()).await;
        metadata.close().await;
        result
    })
}
