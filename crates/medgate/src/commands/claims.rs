//! `medgate claims`: the claims registers offline — `check` runs the format-logical control
//! of a package (the shipped Q015/Q022 catalogues or `--catalogue`, the starter books plus
//! `--nsi DIR`) and writes the `V` protocol, then the medico-economic control of the cases
//! that passed (the shipped Q016/Q023 or `--mek-catalogue`, the paid cases of `--paid FILE`);
//! `keys` prints the paid-case keys of an accepted package; `generate` writes a realistic
//! package; `sign` and `verify` (in `claims_signing`) the three signatures; `nsi import`/`list`
//! (in `claims_nsi`) the NSI books of the data folder; `documents` (in `claims_documents`) the
//! package's invoice, registers and MEK act as PDFs; `mo`, `smo`, `period` and `user` are the
//! fund operator's commands on a claims node (`claims_fund`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use medgate_claims::flk::money;
use medgate_claims::generate::{self, Fault, Options};
use medgate_claims::{
    case_keys, check_package_with_mek, protocol, Catalogue, MekSettings, Nsi, PaidCases, Period,
    Report, Settings,
};

use crate::output::{print_json, print_table};

#[derive(Debug, Args)]
pub struct ClaimsArgs {
    #[command(subcommand)]
    command: ClaimsCommand,
}

#[derive(Debug, Subcommand)]
enum ClaimsCommand {
    /// Format-logical (FLK) then medico-economic control (MEK) of a register package; exit
    /// status 1 when either finds errors.
    Check(CheckArgs),
    /// Print the paid-case key of every case of an accepted package, one a line (for `--paid`).
    Keys(KeysArgs),
    /// Write a realistic general-care package (HM… with its LM… file) for tests and trials.
    Generate(GenerateArgs),
    /// Sign a register package as one of its three signers (detached CMS; the key stays here).
    Sign(super::claims_signing::SignArgs),
    /// Check a register's three signatures in order against the signers' certificates; exit
    /// status 1 on any problem.
    Verify(super::claims_signing::VerifyArgs),
    /// Write a package's invoice, summary register, register and (with `--mek`) MEK act as
    /// PDFs.
    Documents(super::claims_documents::DocumentsArgs),
    /// The federal NSI reference books installed in the data folder (`import`, `list`).
    Nsi(super::claims_nsi::NsiArgs),
    /// Fund operator: medical organisations and their subdivisions (of a claims node).
    Mo(super::claims_fund::MoArgs),
    /// Fund operator: insurers (SMO).
    Smo(super::claims_fund::SmoArgs),
    /// Fund operator: reporting periods, opened and closed for uploads.
    Period(super::claims_fund::PeriodArgs),
    /// Fund operator: the MO staff's logins and their one-time links.
    User(super::claims_fund::UserArgs),
    /// Fund operator: cases already paid, which the node's MEK refuses (`import`).
    Paid(super::claims_fund::PaidArgs),
    /// Fund operator: the CAs (and CRLs) trusted for signers' certificates (`add`, `list`,
    /// `remove`).
    SignerCa(super::claims_signer_ca::SignerCaArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The package: `HM…`/`CM…`/`TM…`/`D?M…` `.zip` holding the main file and its L file.
    file: PathBuf,
    /// A folder of federal NSI packets (`V002.xml`, `M001.xml`, …) loaded over the starter books.
    #[arg(long, value_name = "DIR")]
    nsi: Option<PathBuf>,
    /// An FLK catalogue in the federal format (repeatable); default: the shipped Q015 and Q022.
    #[arg(long = "catalogue", value_name = "FILE")]
    catalogues: Vec<PathBuf>,
    /// A MEK catalogue in the federal format (repeatable); default: the shipped Q016 and Q023.
    #[arg(long = "mek-catalogue", value_name = "FILE")]
    mek_catalogues: Vec<PathBuf>,
    /// Cases paid in earlier registers: one key a line,
    /// `LPU;POLICY;DATE_Z_1;DATE_Z_2;USL_OK;PROFIL;DS1` (`medgate claims keys` writes them).
    #[arg(long, value_name = "FILE")]
    paid: Option<PathBuf>,
    /// Write the protocol (`V…` files in a ZIP) here.
    #[arg(long, value_name = "OUT.zip")]
    protocol: Option<PathBuf>,
    /// List the catalogue rules the control did not run, and why.
    #[arg(long)]
    rules: bool,
    /// JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct KeysArgs {
    /// The accepted package (`HM…zip`).
    file: PathBuf,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Number of cases.
    #[arg(long, default_value_t = 100)]
    cases: u32,
    /// Reporting period, YYYY-MM.
    #[arg(long, default_value = "2025-01")]
    period: String,
    /// Folder to write the package into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Seed one defect in the second case.
    #[arg(long, value_enum)]
    fault: Option<FaultArg>,
    /// The sending medical organisation's 6-digit code.
    #[arg(long, default_value = "010001")]
    mo: String,
    /// The package's number within the period (the name's last digits).
    #[arg(long, default_value_t = 1)]
    number: u32,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FaultArg {
    InvoiceSum,
    DateAfterPeriod,
    DatesReversed,
    MissingPersonalRecord,
    BadSnils,
    BadDictionaryCode,
    DuplicateCase,
    DuplicateService,
    MissingDiagnosis,
    EmptyDiagnosis,
    WrongOrder,
    BadDateFormat,
    InvalidEncoding,
    SexDiagnosis,
    AgeDiagnosis,
    SameCaseTwice,
    SumMismatch,
    CaseOutsidePeriod,
}

impl From<FaultArg> for Fault {
    fn from(fault: FaultArg) -> Fault {
        match fault {
            FaultArg::InvoiceSum => Fault::InvoiceSum,
            FaultArg::DateAfterPeriod => Fault::DateAfterPeriod,
            FaultArg::DatesReversed => Fault::DatesReversed,
            FaultArg::MissingPersonalRecord => Fault::MissingPersonalRecord,
            FaultArg::BadSnils => Fault::BadSnils,
            FaultArg::BadDictionaryCode => Fault::BadDictionaryCode,
            FaultArg::DuplicateCase => Fault::DuplicateCase,
            FaultArg::DuplicateService => Fault::DuplicateService,
            FaultArg::MissingDiagnosis => Fault::MissingDiagnosis,
            FaultArg::EmptyDiagnosis => Fault::EmptyDiagnosis,
            FaultArg::WrongOrder => Fault::WrongOrder,
            FaultArg::BadDateFormat => Fault::BadDateFormat,
            FaultArg::InvalidEncoding => Fault::InvalidEncoding,
            FaultArg::SexDiagnosis => Fault::SexDiagnosis,
            FaultArg::AgeDiagnosis => Fault::AgeDiagnosis,
            FaultArg::SameCaseTwice => Fault::SameCaseTwice,
            FaultArg::SumMismatch => Fault::SumMismatch,
            FaultArg::CaseOutsidePeriod => Fault::CaseOutsidePeriod,
        }
    }
}

pub fn run(args: ClaimsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ClaimsCommand::Check(args) => check(&args),
        ClaimsCommand::Keys(args) => keys(&args),
        ClaimsCommand::Generate(args) => generate(&args),
        ClaimsCommand::Sign(args) => super::claims_signing::run_sign(&args),
        ClaimsCommand::Verify(args) => super::claims_signing::run_verify(&args),
        ClaimsCommand::Documents(args) => super::claims_documents::run(&args),
        ClaimsCommand::Nsi(args) => super::claims_nsi::run(args),
        ClaimsCommand::SignerCa(args) => super::claims_signer_ca::run(args),
        ClaimsCommand::Mo(args) => {
            super::claims_fund::run(super::claims_fund::FundCommand::Mo(args))
        }
        ClaimsCommand::Smo(args) => {
            super::claims_fund::run(super::claims_fund::FundCommand::Smo(args))
        }
        ClaimsCommand::Period(args) => {
            super::claims_fund::run(super::claims_fund::FundCommand::Period(args))
        }
        ClaimsCommand::User(args) => {
            super::claims_fund::run(super::claims_fund::FundCommand::User(args))
        }
        ClaimsCommand::Paid(args) => {
            super::claims_fund::run(super::claims_fund::FundCommand::Paid(args))
        }
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let catalogues = if args.catalogues.is_empty() {
        Catalogue::shipped()?
    } else {
        args.catalogues
            .iter()
            .map(|path| Catalogue::load(path))
            .collect::<Result<Vec<_>, _>>()?
    };
    let mut nsi = Nsi::starter()?;
    if let Some(dir) = &args.nsi {
        let count = nsi.load_dir(dir)?;
        if count == 0 {
            anyhow::bail!("{} holds no NSI packet (*.xml)", dir.display());
        }
    }
    let mek_catalogues = if args.mek_catalogues.is_empty() {
        Catalogue::shipped_mek()?
    } else {
        args.mek_catalogues
            .iter()
            .map(|path| Catalogue::load(path))
            .collect::<Result<Vec<_>, _>>()?
    };
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
    let bar = progress_bar();
    let result = check_package_with_mek(&args.file, &settings, &mek, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            let Some(code) = error.f012_code() else {
                return Err(error.into());
            };
            if let Some(out) = &args.protocol {
                let name = args
                    .file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("package.zip");
                let protocol = protocol::package_protocol(
                    name,
                    code,
                    &error.to_string(),
                    &error.package_russian().unwrap_or_else(|| error.to_string()),
                )?;
                write_protocol(out, &protocol.bytes)?;
            }
            anyhow::bail!("package refused, F012 {code}: {error}");
        }
    };
    if let Some(out) = &args.protocol {
        let protocol = protocol::protocol(&report.name, &report.findings)?;
        write_protocol(out, &protocol.bytes)?;
    }
    if args.json {
        print_json(&report_json(&report, &catalogues, &mek_catalogues))?;
    } else {
        print_report(&report, &catalogues, &mek_catalogues, args);
    }
    let mek_findings = report.mek.as_ref().map_or(0, |mek| mek.total_findings());
    Ok(if report.total_findings() == 0 && mek_findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_protocol(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(out, bytes)
        .with_context(|| format!("cannot write the protocol to {}", out.display()))
}

pub(super) fn progress_bar() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn catalogue_names(catalogues: &[Catalogue]) -> String {
    catalogues
        .iter()
        .map(|c| format!("{} {}", c.name, c.rules.len()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn keys(args: &KeysArgs) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = None;
    let missing = case_keys(&args.file, &mut |key| {
        if failed.is_none() {
            if let Err(error) = writeln!(out, "{key}") {
                failed = Some(error);
            }
        }
    })?;
    if let Some(error) = failed {
        return Err(error).context("cannot write the keys");
    }
    out.flush().context("cannot write the keys")?;
    if missing > 0 {
        anyhow::bail!("{missing} case(s) lack a field of the key (LPU, policy, dates or USL_OK)");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(
    report: &Report,
    catalogues: &[Catalogue],
    mek_catalogues: &[Catalogue],
    args: &CheckArgs,
) {
    let name = &report.name;
    let counts = &report.counts;
    println!(
        "package {}: {} (kind {}), from {}{} to {}{}, period {}",
        args.file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?"),
        name.main_stem(),
        name.kind().prefix(),
        name.sender().letter(),
        name.sender().code(),
        name.receiver().letter(),
        name.receiver().code(),
        name.period()
    );
    println!("read: {} cases, {} patients", report.cases, report.patients);
    println!(
        "rules: {} loaded ({}); {} in force for {}; {} for these files: {} applied, {} not interpretable, {} without their book",
        counts.loaded,
        catalogue_names(catalogues),
        counts.in_force,
        name.period(),
        counts.for_files,
        counts.applied,
        counts.not_interpretable,
        counts.without_book
    );
    if args.rules {
        let rows: Vec<[String; 3]> = report
            .not_run
            .iter()
            .map(|r| [r.rule.clone(), r.element.clone(), r.reason.clone()])
            .collect();
        print_table(["RULE", "ELEMENT", "NOT RUN BECAUSE"], &rows);
    }
    let total = report.total_findings();
    println!("FLK: {total} error{}", if total == 1 { "" } else { "s" });
    if !report.findings.is_empty() {
        let rows: Vec<[String; 9]> = report
            .findings
            .iter()
            .map(|f| {
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                [
                    f.code.to_string(),
                    f.file.clone(),
                    f.element.clone(),
                    f.base.clone(),
                    opt(&f.n_zap),
                    opt(&f.idcase),
                    opt(&f.sl_id),
                    opt(&f.rule),
                    f.comment.clone(),
                ]
            })
            .collect();
        print_table(
            [
                "OSHIB", "FILE", "IM_POL", "BAS_EL", "N_ZAP", "IDCASE", "SL_ID", "RULE", "COMMENT",
            ],
            &rows,
        );
        if report.findings_dropped > 0 {
            println!("… and {} more (see the protocol)", report.findings_dropped);
        }
    }
    let Some(mek) = &report.mek else { return };
    let counts = &mek.counts;
    println!(
        "MEK rules: {} loaded ({}); {} in force for {}, {} of another region; {} for these files: {} applied, {} not interpretable, {} provide no control",
        counts.loaded,
        catalogue_names(mek_catalogues),
        counts.in_force,
        name.period(),
        counts.other_region,
        counts.for_files,
        counts.applied,
        counts.not_interpretable,
        counts.no_control
    );
    println!(
        "MEK controls besides the catalogue: {}",
        mek.builtin.join("; ")
    );
    if args.rules {
        let rows: Vec<[String; 3]> = mek
            .not_run
            .iter()
            .map(|r| [r.rule.clone(), r.element.clone(), r.reason.clone()])
            .collect();
        print_table(["MEK RULE", "ELEMENT", "NOT RUN BECAUSE"], &rows);
    }
    let total = mek.total_findings();
    println!(
        "MEK: {} cases checked ({} left out by FLK), {total} finding{} in {} case{}, {} withheld",
        mek.cases_checked,
        mek.cases_failed_flk,
        if total == 1 { "" } else { "s" },
        mek.cases_refused,
        if mek.cases_refused == 1 { "" } else { "s" },
        money(mek.withheld)
    );
    if !mek.findings.is_empty() {
        let rows: Vec<[String; 9]> = mek
            .findings
            .iter()
            .map(|f| {
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                [
                    f.reason.code.to_string(),
                    f.reason.basis.to_owned(),
                    opt(&f.rule),
                    f.element.clone(),
                    opt(&f.n_zap),
                    opt(&f.idcase),
                    opt(&f.sl_id),
                    money(f.withheld),
                    f.comment.clone(),
                ]
            })
            .collect();
        print_table(
            [
                "F014", "BASIS", "RULE", "ELEMENT", "N_ZAP", "IDCASE", "SL_ID", "WITHHELD",
                "COMMENT",
            ],
            &rows,
        );
        if mek.findings_dropped > 0 {
            println!("… and {} more MEK findings", mek.findings_dropped);
        }
    }
}

fn mek_json(report: &Report, mek_catalogues: &[Catalogue]) -> serde_json::Value {
    let Some(mek) = &report.mek else {
        return serde_json::Value::Null;
    };
    let counts = &mek.counts;
    serde_json::json!({
        "catalogues": mek_catalogues.iter().map(|c| serde_json::json!({"name": c.name, "rules": c.rules.len()})).collect::<Vec<_>>(),
        "rules": {
            "loaded": counts.loaded,
            "in_force": counts.in_force,
            "other_region": counts.other_region,
            "for_files": counts.for_files,
            "applied": counts.applied,
            "not_interpretable": counts.not_interpretable,
            "no_control": counts.no_control,
            "not_run": mek.not_run.iter().map(|r| serde_json::json!({"rule": r.rule, "element": r.element, "reason": r.reason})).collect::<Vec<_>>(),
        },
        "builtin": mek.builtin,
        "paid_keys": mek.paid_keys,
        "cases_checked": mek.cases_checked,
        "cases_failed_flk": mek.cases_failed_flk,
        "cases_refused": mek.cases_refused,
        "withheld": money(mek.withheld),
        "errors": mek.total_findings(),
        "findings": mek.findings.iter().map(|f| serde_json::json!({
            "f014": f.reason.code,
            "basis": f.reason.basis,
            "reason": f.reason.name,
            "rule": f.rule,
            "element": f.element,
            "n_zap": f.n_zap,
            "idcase": f.idcase,
            "sl_id": f.sl_id,
            "withheld": money(f.withheld),
            "comment": f.comment,
        })).collect::<Vec<_>>(),
    })
}

fn report_json(
    report: &Report,
    catalogues: &[Catalogue],
    mek_catalogues: &[Catalogue],
) -> serde_json::Value {
    let counts = &report.counts;
    serde_json::json!({
        "package": report.name.main_stem(),
        "kind": report.name.kind().prefix(),
        "period": report.name.period().to_string(),
        "cases": report.cases,
        "patients": report.patients,
        "catalogues": catalogues.iter().map(|c| serde_json::json!({"name": c.name, "rules": c.rules.len()})).collect::<Vec<_>>(),
        "books": report.books,
        "rules": {
            "loaded": counts.loaded,
            "in_force": counts.in_force,
            "for_files": counts.for_files,
            "applied": counts.applied,
            "not_interpretable": counts.not_interpretable,
            "without_book": counts.without_book,
            "not_run": report.not_run.iter().map(|r| serde_json::json!({"rule": r.rule, "element": r.element, "reason": r.reason})).collect::<Vec<_>>(),
        },
        "errors": report.total_findings(),
        "findings": report.findings.iter().map(|f| serde_json::json!({
            "oshib": f.code,
            "rule": f.rule,
            "file": f.file,
            "im_pol": f.element,
            "bas_el": f.base,
            "n_zap": f.n_zap,
            "idcase": f.idcase,
            "sl_id": f.sl_id,
            "idserv": f.idserv,
            "comment": f.comment,
            "comment_ru": f.comment_ru,
        })).collect::<Vec<_>>(),
        "mek": mek_json(report, mek_catalogues),
    })
}

fn generate(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let period = parse_period(&args.period)?;
    if args.cases == 0 {
        anyhow::bail!("--cases must be at least 1");
    }
    let mut options = Options::new(args.cases, period);
    options.fault = args.fault.map(Fault::from);
    options.medical_organisation = medgate_claims::fund::parse_mo_code(&args.mo)?;
    if args.number == 0 {
        anyhow::bail!("--number must be at least 1");
    }
    options.number = args.number;
    let path = args.out.join(format!("{}.zip", options.name().main_stem()));
    if path.exists() {
        anyhow::bail!("{} already exists", path.display());
    }
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    generate::write_package(std::io::BufWriter::new(file), &options)?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// A `--period` of YYYY-MM.
pub(crate) fn parse_period(text: &str) -> anyhow::Result<Period> {
    let (year, month) = text
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u8>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("--period {text:?} is not YYYY-MM"))?;
    Ok(Period::new(year, month)?)
}
