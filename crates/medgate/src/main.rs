//! The `medgate` binary: parses the command line, sets up logging and hands over to the
//! libraries. Every error ends here as one line on stderr and exit status 1 (or the status a
//! command chose, such as `pki check`'s warning/error distinction).

use std::process::ExitCode;

use clap::Parser;

mod commands;
mod output;

use commands::Command;

/// medgate: an e-health exchange node. Certificate toolkit, document repository, registry.
#[derive(Debug, Parser)]
#[command(name = "medgate", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", output::error_line(&error));
            ExitCode::from(1)
        }
    }
}

/// Structured logs on stderr; level from `MEDGATE_LOG` (default `warn`), JSON when
/// `MEDGATE_LOG_FORMAT=json`.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MEDGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("MEDGATE_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
