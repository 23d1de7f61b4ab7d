//! A correction made at the node, through the real FLK: a package with a code outside its
//! dictionary (`USL_OK` 9) has its findings fixable; the corrected package written
//! beside it passes the control with no finding. A finding of a sum is not fixable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use medgate_claims::correct::{self, Correction};
use medgate_claims::generate::{self, Fault, Options};
use medgate_claims::{check_package, Catalogue, Finding, Nsi, Period, Settings};

fn findings(path: &Path) -> Vec<Finding> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogues");
    let catalogues: Vec<Catalogue> = ["Q015.xml", "Q022.xml"]
        .iter()
        .map(|name| Catalogue::load(&dir.join(name)).unwrap())
        .collect();
    let nsi = Nsi::starter().unwrap();
    let settings = Settings {
        catalogues: &catalogues,
        nsi: &nsi,
        max_findings: 10_000,
        keys_in_memory: medgate_claims::spill::ENTRIES_IN_MEMORY,
    };
    check_package(path, &settings, &mut |_, _| {})
        .unwrap()
        .findings
}

fn package(dir: &Path, fault: Fault) -> (PathBuf, String) {
    let mut options = Options::new(5, Period::new(2025, 1).unwrap());
    options.fault = Some(fault);
    let stem = options.name().main_stem();
    let path = dir.join(format!("{stem}.zip"));
    let file = std::fs::File::create(&path).unwrap();
    generate::write_package(std::io::BufWriter::new(file), &options).unwrap();
    (path, stem)
}

#[test]
fn a_dictionary_code_corrected_at_the_node_passes_the_control() {
    let dir = tempfile::tempdir().unwrap();
    let (source, stem) = package(dir.path(), Fault::BadDictionaryCode);
    let found = findings(&source);
    let fixable: Vec<&Finding> = found
        .iter()
        .filter(|f| {
            correct::fixable(
                f.code,
                &f.file,
                &f.element,
                f.n_zap.as_deref(),
                &f.comment,
                &stem,
            )
        })
        .collect();
    // `USL_OK` 9 is outside V006: fixable. What the catalogue says of other elements under
    // that `USL_OK` is fixable too, but for an element that must be absent: no value clears
    // that, and correcting `USL_OK` does.
    let absent: Vec<&Finding> = found
        .iter()
        .filter(|f| medgate_claims::flk::asks_absence(&f.comment))
        .collect();
    assert_eq!(fixable.len() + absent.len(), found.len(), "{found:#?}");
    // `P_CEL`, which the catalogue wants absent when `USL_OK` is not 3.
    assert!(absent.iter().any(|f| f.element == "P_CEL"), "{found:#?}");
    assert!(fixable.iter().any(|f| f.element == "USL_OK"), "{found:#?}");
    let finding = fixable
        .iter()
        .find(|f| f.element == "USL_OK")
        .expect("the USL_OK finding");
    let n_zap = finding.n_zap.clone().unwrap();
    let current = correct::current_values(&source, &stem, &n_zap, "USL_OK").unwrap();
    assert_eq!(current, ["9"]);
    let corrected = dir.path().join("corrected");
    std::fs::create_dir_all(&corrected).unwrap();
    let destination = corrected.join(source.file_name().unwrap());
    correct::rewrite_package(
        &source,
        &destination,
        &stem,
        &Correction {
            n_zap: n_zap.clone(),
            element: "USL_OK".to_owned(),
            current: "9".to_owned(),
            new: "3".to_owned(),
        },
    )
    .unwrap();
    assert_eq!(findings(&destination), [], "the corrected package is clean");
    assert_eq!(
        correct::current_values(&destination, &stem, &n_zap, "USL_OK").unwrap(),
        ["3"]
    );
    // The kept package is unchanged.
    assert_eq!(findings(&source).len(), found.len());
}

#[test]
fn a_sum_is_fixed_in_the_mo_system() {
    let dir = tempfile::tempdir().unwrap();
    let (source, stem) = package(dir.path(), Fault::InvoiceSum);
    let found = findings(&source);
    assert!(!found.is_empty());
    assert!(found.iter().all(|f| !correct::fixable(
        f.code,
        &f.file,
        &f.element,
        f.n_zap.as_deref(),
        &f.comment,
        &stem
    )));
}
