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
    quiet_on_closed_stdout();
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

/// `medgate … --json | head` closes our standard output early; printing then fails with
/// "Broken pipe". Like the classic Unix tools killed by SIGPIPE, end quietly with status 141
/// instead of reporting a panic; every other panic is reported as usual.
fn quiet_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
}
