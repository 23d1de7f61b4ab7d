//! `medgate claims documents`: the invoice, the summary register, the register and (with
//! `--mek`, after running the control) the MEK act of a package, written as PDFs
//! (`medgate_claims::documents`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use medgate_claims::documents::{self, Options};
use medgate_claims::{check_package_with_mek, Catalogue, MekSettings, Nsi, PaidCases, Settings};

use crate::output::print_table;

#[derive(Debug, Args)]
pub struct DocumentsArgs {
    /// The package: `HM…`/`CM…`/`TM…`/`D?M…` `.zip` holding the main file and its L file.
    file: PathBuf,
    /// The folder to write `invoice.pdf`, `summary.pdf`, `register.pdf` (and `mek-act.pdf`)
    /// into; it must exist.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Run the format-logical then the medico-economic control (the shipped catalogues) and
    /// write the MEK act; the invoice then shows the sum withheld and the sum to pay.
    #[arg(long)]
    mek: bool,
    /// Cases paid in earlier registers, for the MEK (`medgate claims keys` writes them).
    #[arg(long, value_name = "FILE", requires = "mek")]
    paid: Option<PathBuf>,
    /// A folder of federal NSI packets loaded over the starter books, for the control.
    #[arg(long, value_name = "DIR", requires = "mek")]
    nsi: Option<PathBuf>,
    /// The medical organisation's name, shown next to its code.
    #[arg(long, value_name = "NAME")]
    mo_name: Option<String>,
}

pub fn run(args: &DocumentsArgs) -> anyhow::Result<ExitCode> {
    if !args.out.is_dir() {
        bail!(
            "--out {}: no such folder (create it first)",
            args.out.display()
        );
    }
    let report = if args.mek {
        let catalogues = Catalogue::shipped()?;
        let mek_catalogues = Catalogue::shipped_mek()?;
        let mut nsi = Nsi::starter()?;
        if let Some(dir) = &args.nsi {
            if nsi.load_dir(dir)? == 0 {
                bail!("{} holds no NSI packet (*.xml)", dir.display());
            }
        }
        let paid = args.paid.as_deref().map(PaidCases::load).transpose()?;
        let settings = Settings {
            catalogues: &catalogues,
            nsi: &nsi,
            max_findings: 100_000,
            keys_in_memory: medgate_claims::spill::ENTRIES_IN_MEMORY,
        };
        let mek = MekSettings {
            catalogues: &mek_catalogues,
            paid: paid.as_ref(),
        };
        let bar = super::claims::progress_bar();
        let result = check_package_with_mek(&args.file, &settings, &mek, &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        });
        bar.finish_and_clear();
        let report = match result {
            Ok(report) => report,
            Err(error) => match error.f012_code() {
                Some(code) => bail!("package refused, F012 {code}: {error}"),
                None => return Err(error.into()),
            },
        };
        Some(report)
    } else {
        None
    };
    let options = Options {
        mo_name: args.mo_name.as_deref(),
        mek: report.as_ref().and_then(|report| report.mek.as_ref()),
    };
    let written = documents::write_documents(&args.file, &args.out, &options)
        .with_context(|| format!("cannot write the documents of {}", args.file.display()))?;
    let rows: Vec<[String; 2]> = written
        .iter()
        .map(|doc| [doc.path.display().to_string(), doc.pages.to_string()])
        .collect();
    print_table(["FILE", "PAGES"], &rows);
    if let Some(report) = &report {
        let mek = report.mek.as_ref();
        println!(
            "FLK findings: {}; MEK findings: {}, cases refused: {}, withheld: {}",
            report.total_findings(),
            mek.map_or(0, |m| m.total_findings()),
            mek.map_or(0, |m| m.cases_refused),
            medgate_claims::flk::money(mek.map_or(0, |m| m.withheld))
        );
    }
    Ok(ExitCode::SUCCESS)
}
