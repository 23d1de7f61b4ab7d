//! Forming a register from the accepted cases of generated packages: the cases control
//! refused stay out, the records and patients are renumbered across packages, the sums are
//! recomputed, and the register formed passes the format-logical control itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use medgate_claims::flk::money;
use medgate_claims::generate::{self, Fault, Options};
use medgate_claims::registers::{forming, summary};
use medgate_claims::{
    check_package, Catalogue, FileKind, Nsi, Party, Period, RegisterFileName, Report, Settings,
};

fn period() -> Period {
    Period::new(2026, 11).unwrap()
}

fn options(cases: u32, number: u32, fault: Option<Fault>) -> Options {
    let mut options = Options::new(cases, period());
    options.medical_organisation = "140001".to_owned();
    options.number = number;
    options.fault = fault;
    options
}

fn package(dir: &Path, options: &Options) -> PathBuf {
    let path = dir.join(format!("{}.zip", options.name().main_stem()));
    let file = std::fs::File::create(&path).unwrap();
    generate::write_package(std::io::BufWriter::new(file), options).unwrap();
    path
}

fn check(path: &Path) -> Report {
    let catalogues = Catalogue::shipped().unwrap();
    let nsi = Nsi::starter().unwrap();
    let settings = Settings {
        catalogues: &catalogues,
        nsi: &nsi,
        max_findings: 10_000,
        keys_in_memory: medgate_claims::spill::ENTRIES_IN_MEMORY,
    };
    check_package(path, &settings, &mut |_, _| {}).unwrap()
}

#[test]
fn a_register_takes_the_accepted_cases_renumbered_and_passes_the_control() {
    let dir = tempfile::tempdir().unwrap();
    let clean = package(dir.path(), &options(6, 1, None));
    let faulty = package(dir.path(), &options(5, 2, Some(Fault::DateAfterPeriod)));
    assert_eq!(check(&clean).total_findings(), 0);
    let report = check(&faulty);
    let refused: HashSet<String> = report
        .findings
        .iter()
        .map(|finding| {
            finding
                .n_zap
                .clone()
                .expect("a case's finding names its record")
        })
        .collect();
    assert_eq!(refused, HashSet::from(["2".to_owned()]));

    let sources = vec![
        forming::Source {
            package_id: 1,
            path: clean,
            refused: HashSet::new(),
        },
        forming::Source {
            package_id: 2,
            path: faulty.clone(),
            refused,
        },
    ];
    let groups = forming::plan(&sources).unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    let group = &groups[0];
    assert_eq!(
        (
            group.key.kind,
            group.key.usl_ok.as_str(),
            group.key.smo.as_str()
        ),
        (FileKind::General, "3", generate::INSURER)
    );
    assert_eq!(group.cases, 10);
    assert_eq!(group.packages, vec![1, 2]);

    let name = RegisterFileName::new(
        FileKind::General,
        Party::MedicalOrganisation("140001".to_owned()),
        Party::Insurer(generate::INSURER.to_owned()),
        period(),
        3,
    );
    let out = dir.path().join(format!("{}.zip", name.main_stem()));
    let written =
        forming::write_register(&sources, group, &name, 3, "140001", "2026-12-04", &out).unwrap();
    assert_eq!((written.cases, written.patients), (10, 10));
    assert_eq!(written.summav, group.summav());

    // The register formed passes the control: numbering, links, sums and names all hold.
    let report = check(&out);
    assert_eq!(report.total_findings(), 0, "{:#?}", report.findings);
    assert_eq!((report.cases, report.patients), (10, 10));

    let read = summary::read(&out).unwrap();
    let numbers: Vec<&str> = read.lines.iter().map(|line| line.n_zap.as_str()).collect();
    assert_eq!(numbers, ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    let patients: HashSet<&str> = read.lines.iter().map(|line| line.id_pac.as_str()).collect();
    assert_eq!(
        patients.len(),
        10,
        "two packages' P00000001 are two patients"
    );
    assert_eq!(read.invoice.get("SUMMAV"), Some(&written.summav));
    assert_eq!(money(read.total.sum), written.summav);
    // The refused case (the faulty package's second) is not in: its sum is missing.
    let faulty_read = summary::read(&faulty).unwrap();
    let expected: i128 = check_sum(&dir.path().join("HM140001S14002_26111.zip"))
        + faulty_read.total.sum
        - medgate_claims::flk::parse_money(&faulty_read.lines[1].sumv).unwrap();
    assert_eq!(read.total.sum, expected);
}

fn check_sum(path: &Path) -> i128 {
    summary::read(path).unwrap().total.sum
}

#[test]
fn packages_of_nothing_accepted_form_no_register() {
    let dir = tempfile::tempdir().unwrap();
    let one = package(dir.path(), &options(1, 1, None));
    let sources = vec![forming::Source {
        package_id: 1,
        path: one,
        refused: HashSet::from(["1".to_owned()]),
    }];
    assert!(forming::plan(&sources).unwrap().is_empty());
}
