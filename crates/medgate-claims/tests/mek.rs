//! The medico-economic control of whole packages made by the generator, under the published
//! Q016 and Q023 catalogues: a valid package gives no finding and the rule counts add up,
//! each seeded MEK fault is found with its F014 reason, rule and case, a case paid earlier is
//! found from its key, cases FLK refused are left out, and a 100,000-case package is
//! controlled (FLK then MEK) in flat memory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use medgate_claims::generate::{self, Fault, Options};
use medgate_claims::{
    case_keys, check_package_with_mek, Catalogue, MekFinding, MekReport, MekSettings, Nsi,
    PaidCases, Period, Report, Settings,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogues")
}

fn load(names: &[&str]) -> Vec<Catalogue> {
    names
        .iter()
        .map(|name| Catalogue::load(&dir().join(name)).unwrap())
        .collect()
}

fn period() -> Period {
    Period::new(2025, 1).unwrap()
}

fn package(dir: &Path, options: &Options) -> PathBuf {
    let path = dir.join(format!("{}.zip", options.name().main_stem()));
    let file = std::fs::File::create(&path).unwrap();
    generate::write_package(std::io::BufWriter::new(file), options).unwrap();
    path
}

fn check(path: &Path, paid: Option<&PaidCases>, max: usize) -> Report {
    let flk = load(&["Q015.xml", "Q022.xml"]);
    let mek = load(&["Q016.xml", "Q023.xml"]);
    let nsi = Nsi::starter().unwrap();
    let settings = Settings {
        catalogues: &flk,
        nsi: &nsi,
        max_findings: max,
        keys_in_memory: medgate_claims::spill::ENTRIES_IN_MEMORY,
    };
    let mek = MekSettings {
        catalogues: &mek,
        paid,
    };
    check_package_with_mek(path, &settings, &mek, &mut |_, _| {}).unwrap()
}

fn mek_of(report: &Report) -> &MekReport {
    report.mek.as_ref().expect("the MEK ran")
}

fn with_fault(fault: Fault) -> MekReport {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(5, period());
    options.fault = Some(fault);
    let report = check(&package(dir.path(), &options), None, 1000);
    assert_eq!(report.findings, [], "FLK passes a MEK fault");
    mek_of(&report).clone()
}

/// The one finding a fault must produce: (F014 code, basis, rule, element, N_ZAP, SL_ID).
fn expect(
    report: &MekReport,
    code: u16,
    basis: &str,
    rule: Option<&str>,
    element: &str,
    sl_id: Option<&str>,
) -> MekFinding {
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let finding = report.findings[0].clone();
    assert_eq!(finding.reason.code, code, "{finding:#?}");
    assert_eq!(finding.reason.basis, basis, "{finding:#?}");
    assert_eq!(finding.rule.as_deref(), rule, "{finding:#?}");
    assert_eq!(finding.element, element, "{finding:#?}");
    assert_eq!(finding.n_zap.as_deref(), Some("2"), "{finding:#?}");
    assert_eq!(finding.idcase.as_deref(), Some("2"), "{finding:#?}");
    assert_eq!(finding.sl_id.as_deref(), sl_id, "{finding:#?}");
    // The second case claims 501.00 roubles; all of it is withheld.
    assert_eq!(finding.withheld, 50_100, "{finding:#?}");
    assert_eq!(report.withheld, 50_100);
    assert_eq!(report.cases_refused, 1);
    finding
}

#[test]
fn a_generated_package_passes_the_mek_and_its_rules_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let report = check(
        &package(dir.path(), &Options::new(40, period())),
        None,
        1000,
    );
    assert_eq!(report.findings, []);
    let mek = mek_of(&report);
    assert_eq!(mek.findings, [], "{:#?}", mek.findings);
    assert_eq!((mek.cases_checked, mek.cases_failed_flk), (40, 0));
    assert_eq!(mek.withheld, 0);
    let c = &mek.counts;
    println!(
        "MEK rules: {} loaded; {} in force, {} of another region; {} for these files: {} applied, {} not interpretable, {} no control",
        c.loaded, c.in_force, c.other_region, c.for_files, c.applied, c.not_interpretable, c.no_control
    );
    assert_eq!(c.loaded, 314 + 264);
    assert_eq!(
        c.applied + c.not_interpretable + c.no_control,
        c.for_files,
        "{c:?}"
    );
    assert_eq!(mek.not_run.len(), c.not_interpretable + c.no_control);
    // Q016 in force for 2025-01 and an H file: the figures of the published catalogue.
    assert_eq!(
        (c.in_force, c.other_region, c.for_files),
        (555, 261, 207),
        "{c:?}"
    );
    assert_eq!((c.applied, c.not_interpretable, c.no_control), (49, 78, 80));
    // Every rule not run says why.
    assert!(mek.not_run.iter().all(|r| !r.reason.is_empty()));
    assert!(mek
        .not_run
        .iter()
        .any(|r| r.rule == "003K.00.0950" && r.reason.contains("in words")));
}

#[test]
fn a_diagnosis_of_pregnancy_for_a_man_is_refused() {
    let report = with_fault(Fault::SexDiagnosis);
    let finding = expect(
        &report,
        207,
        "1.4.4.",
        Some("003K.00.0620"),
        "DS1",
        Some("1"),
    );
    assert!(finding.comment.contains("O80"), "{}", finding.comment);
}

#[test]
fn a_perinatal_diagnosis_for_an_adult_is_refused() {
    let report = with_fault(Fault::AgeDiagnosis);
    let finding = expect(
        &report,
        207,
        "1.4.4.",
        Some("003K.00.0590"),
        "DS1",
        Some("1"),
    );
    assert!(finding.comment.contains("P07"), "{}", finding.comment);
}

#[test]
fn the_same_case_twice_is_a_duplicate_even_under_another_patient_id() {
    let report = with_fault(Fault::SameCaseTwice);
    let finding = expect(
        &report,
        222,
        "1.10.2.",
        Some("003K.00.0410"),
        "SL",
        Some("1"),
    );
    assert!(
        finding.comment.contains("N_ZAP 1 IDCASE 1"),
        "{}",
        finding.comment
    );
}

#[test]
fn a_tariff_that_does_not_make_the_sum_is_refused() {
    let report = with_fault(Fault::SumMismatch);
    let finding = expect(&report, 208, "1.4.5.", None, "SUM_M", Some("1"));
    assert!(finding.comment.contains("500.00"), "{}", finding.comment);
}

#[test]
fn a_case_before_the_period_is_refused() {
    let report = with_fault(Fault::CaseOutsidePeriod);
    let finding = expect(&report, 209, "1.4.6.", None, "DATE_Z_2", None);
    assert!(
        finding.comment.contains("2024-12-22"),
        "{}",
        finding.comment
    );
}

#[test]
fn a_case_paid_earlier_is_refused_by_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = package(dir.path(), &Options::new(5, period()));
    let mut keys = Vec::new();
    let missing = case_keys(&path, &mut |key| keys.push(key)).unwrap();
    assert_eq!((keys.len(), missing), (5, 0));
    let paid = PaidCases::parse(&format!("# accepted in December\n{}\n", keys[1]), "paid").unwrap();
    let report = check(&path, Some(&paid), 1000);
    let mek = mek_of(&report);
    let finding = expect(mek, 221, "1.10.1.", None, "Z_SL", None);
    assert!(finding.comment.contains(&keys[1]), "{}", finding.comment);
    assert_eq!(mek.paid_keys, 1);
}

#[test]
fn cases_refused_by_flk_are_left_out_of_the_mek() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(5, period());
    options.fault = Some(Fault::BadDictionaryCode);
    let report = check(&package(dir.path(), &options), None, 1000);
    assert!(!report.findings.is_empty());
    let mek = mek_of(&report);
    assert_eq!((mek.cases_checked, mek.cases_failed_flk), (4, 1));
    // A patient whose PERS FLK refuses leaves their case out too.
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(5, period());
    options.fault = Some(Fault::BadSnils);
    let report = check(&package(dir.path(), &options), None, 1000);
    let mek = mek_of(&report);
    assert_eq!((mek.cases_checked, mek.cases_failed_flk), (4, 1));
}

fn peak_resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_100000_case_package_passes_flk_and_mek_in_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(100_000, period());
    options.fault = Some(Fault::SameCaseTwice);
    let path = package(dir.path(), &options);
    let main_size = zip::ZipArchive::new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .by_name(&format!("{}.xml", options.name().main_stem()))
        .unwrap()
        .size();
    let flk = load(&["Q015.xml", "Q022.xml"]);
    let mek = load(&["Q016.xml", "Q023.xml"]);
    let nsi = Nsi::starter().unwrap();
    // A year of paid cases the control is given: 100,000 keys of another organisation.
    let text: String = (0..100_000)
        .map(|i| format!("020002;{:016};2024-03-01;2024-03-01;3;97;I10\n", i))
        .collect();
    let paid = PaidCases::parse(&text, "paid").unwrap();
    drop(text);
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = peak_resident_kib();
    let settings = Settings {
        catalogues: &flk,
        nsi: &nsi,
        max_findings: 100,
        keys_in_memory: medgate_claims::spill::ENTRIES_IN_MEMORY,
    };
    let mek_settings = MekSettings {
        catalogues: &mek,
        paid: Some(&paid),
    };
    let report = check_package_with_mek(&path, &settings, &mek_settings, &mut |_, _| {}).unwrap();
    let grown = peak_resident_kib().saturating_sub(before);
    assert_eq!(report.cases, 100_000);
    assert_eq!(report.total_findings(), 0, "{:?}", report.findings);
    let mek = mek_of(&report);
    assert_eq!(mek.cases_checked, 100_000);
    assert_eq!(mek.total_findings(), 1, "{:?}", mek.findings);
    assert_eq!(mek.findings[0].reason.code, 222);
    println!(
        "main file {} MiB, FLK and MEK: peak resident grew {} MiB",
        main_size >> 20,
        grown >> 10
    );
    assert!(main_size > 100 << 20, "{main_size}");
    assert!(
        grown < 64 << 10,
        "peak resident memory grew by {grown} KiB for a {main_size}-byte file"
    );
}

#[test]
fn the_regional_rules_of_the_package_region_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(20, period());
    // A medical organisation of region 83: Q023's rules `NNNK.83.NNNN` are its region's.
    options.medical_organisation = "830001".to_owned();
    let report = check(&package(dir.path(), &options), None, 1000);
    let mek = mek_of(&report);
    let c = &mek.counts;
    println!("region 83: {c:?}");
    let regional = |id: &str| id.split('.').nth(1) == Some("83");
    let not_run_83 = mek.not_run.iter().filter(|r| regional(&r.rule)).count();
    assert!(c.other_region < 261, "{c:?}");
    assert!(not_run_83 > 0, "{c:?}");
    assert_eq!(c.applied + c.not_interpretable + c.no_control, c.for_files);
    // Region 83's rules that run agree with a valid package; those whose condition is only in
    // words (an outpatient visit "for a disease", "except CT and MRI") are listed, not run.
    assert_eq!(mek.findings, [], "{:#?}", mek.findings);
    assert!(mek.not_run.iter().any(|r| r.rule == "003K.83.0003"));
    assert!(mek.not_run.iter().any(|r| r.rule == "003K.83.0025"));
}
