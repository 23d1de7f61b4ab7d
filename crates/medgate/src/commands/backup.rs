//! `medgate backup` and `medgate restore`: one archive file of a whole node on SQLite with a
//! content folder, taken while it runs (`medgate_server::backup` does the work; this is the
//! command line and the progress bar).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use medgate_server::backup::{self, Passphrase};
use medgate_server::config::{Overrides, ServerConfig};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// TOML configuration file of the node.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data folder of the node (it may be running).
    #[arg(long, visible_alias = "data-dir")]
    pub data: Option<PathBuf>,
    /// The archive to write (a new file; never overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// File whose first line is the passphrase that encrypts the CA folder and secrets.
    #[arg(long)]
    pub passphrase_file: PathBuf,
    /// Only the CA folder and secrets (for a node on PostgreSQL and S3, whose database and
    /// bucket are backed up with their own tools).
    #[arg(long)]
    pub secrets_only: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The archive `medgate backup` wrote.
    pub file: PathBuf,
    /// The new data folder (absent or empty; never overwritten).
    #[arg(long, visible_alias = "data-dir")]
    pub data: PathBuf,
    /// File whose first line is the backup's passphrase.
    #[arg(long)]
    pub passphrase_file: PathBuf,
}

fn bar(unit: &str) -> ProgressBar {
    // Hidden by itself when stderr is not a terminal.
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{{msg}} {{bar:40}} {{pos}}/{{len}} {unit} ({{elapsed}})"
    )) {
        bar.set_style(style);
    }
    bar
}

pub fn run_backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig::load(
        args.config.as_deref(),
        &Overrides {
            data_dir: args.data,
            ..Overrides::default()
        },
    )?;
    let passphrase = Passphrase::from_file(&args.passphrase_file)?;
    let progress = bar("documents");
    progress.set_message("backing up");
    let runtime = tokio::runtime::Runtime::new()?;
    let summary = runtime.block_on(backup::create(
        &config,
        &args.out,
        &passphrase,
        args.secrets_only,
        &mut |done, total| {
            progress.set_length(total);
            progress.set_position(done);
        },
    ));
    progress.finish_and_clear();
    let summary = summary?;
    println!(
        "backup written to {}: {} documents with their content, {} audit checkpoints and \
         records, {} files of the CA folder and secrets (encrypted), {} bytes",
        args.out.display(),
        summary.documents,
        summary.records,
        summary.secret_files,
        summary.bytes
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run_restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let passphrase = Passphrase::from_file(&args.passphrase_file)?;
    let progress = bar("bytes");
    progress.set_message("restoring");
    let summary = backup::restore(&args.file, &args.data, &passphrase, &mut |done, total| {
        progress.set_length(total);
        progress.set_position(done);
    });
    progress.finish_and_clear();
    let summary = summary?;
    if summary.database {
        println!(
            "restored into {}: {} documents with their content, {} audit checkpoints and \
             records, {} files of the CA folder and secrets; every entry matched the manifest. \
             Start it with `medgate serve --data {}`",
            args.data.display(),
            summary.documents,
            summary.records,
            summary.secret_files,
            args.data.display()
        );
    } else {
        println!(
            "restored the CA folder and secrets into {} ({} files; every entry matched the \
             manifest): restore the database and the bucket with their own tools, then start \
             the node with its configuration",
            args.data.display(),
            summary.secret_files
        );
    }
    Ok(ExitCode::SUCCESS)
}
