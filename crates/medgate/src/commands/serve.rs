//! `medgate serve`: runs a repository (or registry) node until Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use medgate_server::config::{Overrides, ServerConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file (optional: defaults run on SQLite in ./medgate-data).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data folder: database, content, CA, server certificate.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8443 (port 0 picks a free port).
    #[arg(long)]
    pub listen: Option<String>,
    /// repository (default), registry, clinical or claims.
    #[arg(long)]
    pub role: Option<String>,
    /// postgres://… for the scale-out backend (default: SQLite in the data folder).
    #[arg(long)]
    pub database_url: Option<String>,
    /// How clients and the registry's entries reach this repository (default https://LISTEN).
    #[arg(long)]
    pub public_url: Option<String>,
    /// The national registry this repository registers with, e.g. https://registry:9443.
    #[arg(long)]
    pub registry_url: Option<String>,
    /// The registry's CA certificate (its REGDATA/ca/ca.pem).
    #[arg(long)]
    pub registry_ca_file: Option<PathBuf>,
    /// Check the configuration (file, environment and flags together), print what the node
    /// would run with, and exit without starting it: status 0 when it is valid.
    #[arg(long)]
    pub check: bool,
    /// Serve Prometheus /metrics (and /readyz) over plain HTTP here, e.g. 127.0.0.1:9464
    /// (default: no metrics; `metrics_listen` in the configuration file).
    #[arg(long)]
    pub metrics_listen: Option<String>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig::load(
        args.config.as_deref(),
        &Overrides {
            data_dir: args.data,
            listen: args.listen,
            role: args.role,
            database_url: args.database_url,
            public_url: args.public_url,
            registry_url: args.registry_url,
            registry_ca_file: args.registry_ca_file,
            metrics_listen: args.metrics_listen,
        },
    )?;
    if args.check {
        print_checked(&config);
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let data_dir = config.data_dir.clone();
        let role = config.role;
        let prepared = medgate_server::startup::prepare(config).await?;
        let address = prepared.local_addr()?;
        // The first line on stdout says where the node listens; tests read it to learn the
        // port when they asked for port 0.
        println!(
            "medgate {} listening on https://{address} (clients trust {})",
            match role {
                medgate_server::config::Role::Repository => "repository",
                medgate_server::config::Role::Registry => "registry",
                medgate_server::config::Role::Clinical => "clinical record service",
                medgate_server::config::Role::Claims => "claims registers",
            },
            data_dir.join("ca").join("ca.pem").display()
        );
        std::io::stdout().flush()?;
        prepared.serve(shutdown_signal()).await;
        println!("medgate stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What `serve --check` prints: the settings that decide where the node keeps its data and
/// where it listens; the database URL without its password, no secret.
fn print_checked(config: &ServerConfig) {
    use medgate_server::config::{redact_url, ContentConfig, Role};
    println!("configuration is valid");
    let role = match config.role {
        Role::Repository => "repository",
        Role::Registry => "registry",
        Role::Clinical => "clinical",
        Role::Claims => "claims",
    };
    println!("role: {role}");
    println!("listen: {}", config.listen);
    println!("data: {}", config.data_dir.display());
    println!("database: {}", redact_url(&config.database_url));
    match &config.content {
        ContentConfig::Filesystem { root } => println!("content: files in {}", root.display()),
        ContentConfig::S3 {
            endpoint, bucket, ..
        } => {
            println!("content: S3 bucket {bucket} at {endpoint}")
        }
    }
    println!("oid root: {}", config.oid_root);
}

/// Resolves on Ctrl-C or SIGTERM (the server and the agent stop on either).
pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        // Without a Ctrl-C handler (no terminal), wait for SIGTERM alone.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
