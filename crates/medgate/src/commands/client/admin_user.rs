//! `client admin-user create`: the clinic's system creates an administrator login of its own
//! account for the web pages (`POST /api/v1/account/admin-users`) and prints, once, what to
//! hand to the administrator.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use http::Method;
use serde_json::{json, Value};

use super::ClientArgs;
use crate::output::print_json;

#[derive(Debug, Subcommand)]
pub enum AdminUserCommand {
    /// Create an administrator login; prints its one-time activation code.
    Create(CreateArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The login: letters a-z, digits and . _ - @ (at most 64 characters).
    #[arg(long)]
    pub login: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: &ClientArgs, command: &AdminUserCommand) -> anyhow::Result<ExitCode> {
    let AdminUserCommand::Create(create) = command;
    let client = args.connect()?;
    let answer: Value = client
        .send_json(
            Method::POST,
            "/api/v1/account/admin-users",
            &json!({ "login": create.login }),
        )
        .await?;
    if create.json {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = |value: &Value| value.as_str().unwrap_or("-").to_owned();
    let settings = args.settings()?;
    println!("created administrator login {}", text(&answer["login"]));
    println!("hand the administrator, once:");
    println!(
        "  set a password at: {}{}",
        settings.server.as_str().trim_end_matches('/'),
        text(&answer["activate_path"])
    );
    println!("  account id:        {}", text(&answer["tenant"]));
    println!("  login:             {}", text(&answer["login"]));
    println!(
        "  activation code:   {}  (one-time, valid until {}; it is not shown again)",
        text(&answer["activation_code"]),
        text(&answer["activation_expires_at"])
    );
    Ok(ExitCode::SUCCESS)
}
