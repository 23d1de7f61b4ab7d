//! `medgate claims nsi import FILE` and `medgate claims nsi list`: the federal NSI reference
//! books a fund installs in its data folder (`<data>/claims/nsi`, or `--nsi-dir`), each packet
//! read whole before it replaces the book's previous edition (`medgate_claims::nsi::install`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use medgate_claims::nsi::{self, STARTER};
use medgate_claims::Nsi;

use crate::output::print_table;

#[derive(Debug, Args)]
pub struct NsiArgs {
    #[command(subcommand)]
    command: NsiCommand,
}

#[derive(Debug, Subcommand)]
enum NsiCommand {
    /// Install a federal NSI packet (`V006.xml`, `M001.xml`, …) into the data folder's NSI
    /// folder, replacing the book's previous edition.
    Import(ImportArgs),
    /// List the books: those installed, and the starter books shipped with medgate.
    List(Folder),
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The NSI packet (XML, windows-1251 or the encoding its declaration names).
    file: PathBuf,
    #[command(flatten)]
    folder: Folder,
}

/// The node's data folder, for the offline commands that keep files in its `claims/`
/// folders (`claims nsi`, `claims signer-ca`).
#[derive(Debug, Args)]
pub(crate) struct DataFolder {
    /// The node's data folder (the books go to its `claims/nsi` folder, the signers' CAs to
    /// `claims/signer-ca`).
    #[arg(
        long,
        value_name = "DIR",
        env = "MEDGATE_DATA",
        default_value = "medgate-data"
    )]
    pub(crate) data: PathBuf,
}

#[derive(Debug, Args)]
struct Folder {
    #[command(flatten)]
    data: DataFolder,
    /// The NSI folder itself, instead of the data folder's.
    #[arg(long, value_name = "DIR")]
    nsi_dir: Option<PathBuf>,
}

impl Folder {
    fn nsi_dir(&self) -> PathBuf {
        self.nsi_dir
            .clone()
            .unwrap_or_else(|| self.data.data.join("claims").join("nsi"))
    }
}

pub fn run(args: NsiArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        NsiCommand::Import(args) => import(&args),
        NsiCommand::List(folder) => list(&folder),
    }
}

fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| anyhow::anyhow!("{}: cannot be read: {e}", args.file.display()))?;
    let dir = args.folder.nsi_dir();
    let installation = nsi::install(&dir, &args.file, &bytes)?;
    let book = &installation.book;
    println!(
        "installed {} ({} records, {}) as {}",
        book.name,
        book.records,
        book.edition,
        book.path.display()
    );
    if let Some(previous) = &installation.replaced {
        println!("it replaces the edition installed before ({previous})");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(folder: &Folder) -> anyhow::Result<ExitCode> {
    let dir = folder.nsi_dir();
    let installed = nsi::installed(&dir)?;
    let starter = Nsi::starter()?;
    let mut rows: Vec<[String; 4]> = installed
        .iter()
        .map(|book| {
            [
                book.name.clone(),
                book.records.to_string(),
                book.edition.clone(),
                book.path.display().to_string(),
            ]
        })
        .collect();
    for (file, _) in STARTER {
        let name = file.trim_end_matches(".xml");
        if installed
            .iter()
            .any(|book| book.name.eq_ignore_ascii_case(name))
        {
            continue;
        }
        if let Some(book) = starter.get(name) {
            rows.push([
                book.name().to_owned(),
                book.len().to_string(),
                book.edition(),
                "(starter set shipped with medgate)".to_owned(),
            ]);
        }
    }
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    println!(
        "{} book{} installed in {}, {} more from the starter set",
        installed.len(),
        if installed.len() == 1 { "" } else { "s" },
        dir.display(),
        rows.len() - installed.len()
    );
    print_table(["BOOK", "RECORDS", "EDITION", "FILE"], &rows);
    Ok(ExitCode::SUCCESS)
}
