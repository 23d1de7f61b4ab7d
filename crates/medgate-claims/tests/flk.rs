//! The control of whole packages made by the generator: a valid package passes with no
//! finding under the published Q015 and Q022 catalogues and the starter books, each seeded
//! fault is found with its F012 code, element, record and (where a rule found it) rule id,
//! package-level refusals carry 801–804, and a 100,000-case file is read in flat memory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use medgate_claims::generate::{self, Fault, Options};
use medgate_claims::{
    check_package, Catalogue, ClaimsError, Finding, Nsi, Period, Report, Settings,
};

fn catalogues() -> Vec<Catalogue> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogues");
    ["Q015.xml", "Q022.xml"]
        .iter()
        .map(|name| Catalogue::load(&dir.join(name)).unwrap())
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

fn check(path: &Path) -> Result<Report, ClaimsError> {
    let catalogues = catalogues();
    let nsi = Nsi::starter().unwrap();
    let settings = Settings {
        catalogues: &catalogues,
        nsi: &nsi,
        max_findings: 10_000,
        keys_in_memory: medgate_claims::spill::ENTRIES_IN_MEMORY,
    };
    check_package(path, &settings, &mut |_, _| {})
}

fn with_fault(fault: Fault) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(5, period());
    options.fault = Some(fault);
    check(&package(dir.path(), &options)).unwrap().findings
}

#[test]
fn a_generated_package_passes_with_no_finding() {
    let dir = tempfile::tempdir().unwrap();
    let report = check(&package(dir.path(), &Options::new(40, period()))).unwrap();
    assert_eq!(report.findings, [], "{:#?}", report.findings);
    assert_eq!(report.cases, 40);
    assert_eq!(report.patients, 40);
    let counts = &report.counts;
    println!("{counts:?}");
    assert_eq!(counts.loaded, 800 + catalogues()[1].rules.len());
    assert!(counts.applied > 200, "{counts:?}");
    assert_eq!(
        counts.applied + counts.not_interpretable + counts.without_book,
        counts.for_files
    );
    assert_eq!(
        report.not_run.len(),
        counts.not_interpretable + counts.without_book
    );
}

/// The one finding a fault must produce: (code, element, parent, N_ZAP, rule id prefix).
fn expect(
    findings: &[Finding],
    code: u16,
    element: &str,
    base: &str,
    n_zap: Option<&str>,
    rule: Option<&str>,
) {
    let found = findings
        .iter()
        .find(|f| f.code == code && f.element == element && f.base == base);
    let Some(found) = found else {
        panic!("no {code} on {base}/{element} in {findings:#?}");
    };
    assert_eq!(found.n_zap.as_deref(), n_zap, "{found:?}");
    match rule {
        Some(prefix) => assert!(
            found.rule.as_deref().is_some_and(|r| r.starts_with(prefix)),
            "rule of {found:?}"
        ),
        None => assert_eq!(found.rule, None, "{found:?}"),
    }
    // Nothing outside the faulty record (the second case, its patient or the invoice).
    for other in findings {
        assert!(
            other.n_zap.is_none() || other.n_zap.as_deref() == Some("2"),
            "{other:?}"
        );
    }
}

#[test]
fn the_invoice_sum_must_be_the_sum_of_the_cases() {
    let findings = with_fault(Fault::InvoiceSum);
    expect(
        &findings,
        904,
        "SUMMAV",
        "SCHET",
        None,
        Some("006F.00.1040"),
    );
    assert!(
        findings[0].comment.contains("is not the sum of Z_SL/SUMV"),
        "{findings:?}"
    );
    assert_eq!(
        findings[0].comment_ru,
        "SUMMAV 2508.50 не равна сумме Z_SL/SUMV (2507.50)"
    );
}

#[test]
fn every_finding_carries_its_comment_in_russian_too() {
    let faults = [
        Fault::InvoiceSum,
        Fault::DateAfterPeriod,
        Fault::DatesReversed,
        Fault::MissingPersonalRecord,
        Fault::BadSnils,
    ];
    for fault in faults {
        for finding in with_fault(fault) {
            assert!(
                finding.comment_ru.chars().any(|c| ('а'..='я').contains(&c)),
                "{fault:?}: {finding:?}"
            );
            assert_ne!(finding.comment_ru, finding.comment, "{finding:?}");
        }
    }
    let snils = with_fault(Fault::BadSnils);
    let found = snils.iter().find(|f| f.element == "SNILS").unwrap();
    assert!(
        found.comment_ru.starts_with("ID_PAC P00000002: СНИЛС"),
        "{found:?}"
    );
}

#[test]
fn a_case_after_the_period_is_refused() {
    // The catalogue rule (DATE_Z_1 <= DSCHET) and the period check find it; the rule is named.
    expect(
        &with_fault(Fault::DateAfterPeriod),
        904,
        "DATE_Z_2",
        "Z_SL",
        Some("2"),
        Some("006F.00.0340"),
    );
}

#[test]
fn a_stay_that_ends_before_it_starts_is_refused() {
    let findings = with_fault(Fault::DatesReversed);
    let found = findings
        .iter()
        .find(|f| f.element == "DATE_1" && f.code == 904)
        .unwrap();
    assert_eq!(
        (found.idcase.as_deref(), found.sl_id.as_deref()),
        (Some("2"), Some("1"))
    );
}

#[test]
fn every_patient_needs_a_personal_record() {
    expect(
        &with_fault(Fault::MissingPersonalRecord),
        904,
        "ID_PAC",
        "PACIENT",
        Some("2"),
        None,
    );
}

#[test]
fn snils_check_digits_are_checked() {
    let findings = with_fault(Fault::BadSnils);
    let found = findings.iter().find(|f| f.element == "SNILS").unwrap();
    assert_eq!((found.code, found.base.as_str()), (904, "PERS"));
    assert!(found.file.starts_with("LM"), "{found:?}");
    assert!(found.comment.contains("ID_PAC P00000002"), "{found:?}");
}

#[test]
fn a_code_outside_its_book_is_found_by_the_catalogue_rule() {
    expect(
        &with_fault(Fault::BadDictionaryCode),
        904,
        "USL_OK",
        "Z_SL",
        Some("2"),
        Some("001F"),
    );
}

#[test]
fn duplicate_keys_are_refused() {
    expect(
        &with_fault(Fault::DuplicateCase),
        905,
        "IDCASE",
        "Z_SL",
        Some("2"),
        None,
    );
    let findings = with_fault(Fault::DuplicateService);
    let found = findings.iter().find(|f| f.code == 905).unwrap();
    assert_eq!(
        (found.element.as_str(), found.idserv.as_deref()),
        ("IDSERV", Some("1"))
    );
}

#[test]
fn a_missing_or_empty_mandatory_element() {
    expect(
        &with_fault(Fault::MissingDiagnosis),
        901,
        "DS1",
        "SL",
        Some("2"),
        Some("003F"),
    );
    expect(
        &with_fault(Fault::EmptyDiagnosis),
        902,
        "DS1",
        "SL",
        Some("2"),
        Some("003F"),
    );
}

#[test]
fn elements_out_of_order() {
    expect(
        &with_fault(Fault::WrongOrder),
        901,
        "N_ZAP",
        "ZAP",
        Some("2"),
        None,
    );
}

#[test]
fn a_date_in_another_format_is_a_type_error() {
    let findings = with_fault(Fault::BadDateFormat);
    let found = findings.iter().find(|f| f.element == "DATE_Z_1").unwrap();
    assert_eq!(
        (found.code, found.n_zap.as_deref()),
        (903, Some("2")),
        "{found:?}"
    );
}

#[test]
fn package_level_refusals_carry_801_to_804() {
    let dir = tempfile::tempdir().unwrap();
    let not_zip = dir.path().join("HM010001S14002_2501001.zip");
    std::fs::write(&not_zip, b"<ZL_LIST/>").unwrap();
    assert_eq!(check(&not_zip).unwrap_err().f012_code(), Some(801));

    let good = package(dir.path(), &Options::new(2, period()));
    let renamed = dir.path().join("XM010001S14002_2501001.zip");
    std::fs::copy(&good, &renamed).unwrap();
    let error = check(&renamed).unwrap_err();
    assert_eq!(error.f012_code(), Some(802), "{error}");

    // A package holding only the main file.
    let only_main = dir.path().join("HM010001S14002_2501002.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&only_main).unwrap());
    writer
        .start_file(
            "HM010001S14002_2501002.xml",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
    std::io::Write::write_all(&mut writer, b"<ZL_LIST/>").unwrap();
    writer.finish().unwrap();
    let error = check(&only_main).unwrap_err();
    assert_eq!(error.f012_code(), Some(803), "{error}");
    assert!(
        error.to_string().contains("LM010001S14002_2501002.xml"),
        "{error}"
    );

    let mut options = Options::new(3, period());
    options.fault = Some(Fault::InvalidEncoding);
    let error = check(&package(dir.path(), &options)).unwrap_err();
    assert_eq!(error.f012_code(), Some(804), "{error}");
    assert!(error.to_string().contains("windows-1251"), "{error}");
}

fn peak_resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_100000_case_package_is_checked_in_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::new(100_000, period());
    let path = package(dir.path(), &options);
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let main_size = archive
        .by_name(&format!("{}.xml", options.name().main_stem()))
        .unwrap()
        .size();
    drop(archive);
    // Generating the package peaked too: start the high-water mark afresh (Linux: 5 resets it).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = peak_resident_kib();
    let mut calls = 0u64;
    let mut last = (0, 0);
    let catalogues = catalogues();
    let nsi = Nsi::starter().unwrap();
    let settings = Settings {
        catalogues: &catalogues,
        nsi: &nsi,
        max_findings: 100,
        keys_in_memory: medgate_claims::spill::ENTRIES_IN_MEMORY,
    };
    let report = check_package(&path, &settings, &mut |done, total| {
        assert!(
            done >= last.0 && done <= total,
            "progress {done} of {total} after {last:?}"
        );
        last = (done, total);
        calls += 1;
    })
    .unwrap();
    let grown = peak_resident_kib().saturating_sub(before);
    assert_eq!(report.cases, 100_000);
    assert_eq!(report.total_findings(), 0, "{:?}", report.findings);
    assert_eq!(last.0, last.1, "the progress ends at the total");
    assert!(calls > 100, "progress reported {calls} times");
    // The main file alone is far larger than what the check may take.
    println!(
        "main file {} MiB, peak resident grew {} MiB",
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
fn an_invoice_after_the_cases_is_out_of_order_and_still_summed() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let options = Options::new(300, period());
    let name = options.name();
    let clean = package(dir.path(), &options);
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&clean).unwrap()).unwrap();
    let moved = dir.path().join("moved");
    std::fs::create_dir_all(&moved).unwrap();
    let path = moved.join(clean.file_name().unwrap());
    let mut out = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if entry.name() == format!("{}.xml", name.main_stem()) {
            let text = encoding_rs::WINDOWS_1251.decode(&bytes).0.into_owned();
            let start = text.find("<SCHET>").unwrap();
            let end = text.find("</SCHET>").unwrap() + "</SCHET>".len();
            // The invoice after the cases, its sum one rouble more than theirs.
            let schet = text[start..end].to_owned();
            let sum = schet
                .split("<SUMMAV>")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap();
            let wrong = medgate_claims::flk::parse_money(sum).unwrap() + 100;
            let schet = schet.replace(sum, &medgate_claims::flk::money(wrong));
            let text = format!("{}{}", &text[..start], &text[end..])
                .replace("</ZL_LIST>", &format!("{schet}</ZL_LIST>"));
            bytes = encoding_rs::WINDOWS_1251.encode(&text).0.into_owned();
        }
        out.start_file(entry.name(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap();
    let findings = check(&path).unwrap().findings;
    let order = findings
        .iter()
        .find(|f| f.element == "SCHET")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(order.code, 901);
    assert!(order.comment.contains("out of order"), "{order:?}");
    assert!(
        findings
            .iter()
            .any(|f| f.element == "SUMMAV" && f.code == 904 && f.base == "SCHET"),
        "{findings:#?}"
    );
}
