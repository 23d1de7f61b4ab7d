//! Every finding of a package with many faults at once — FLK faults in the main file, in the
//! personal-data file and in the invoice, MEK faults in cases that pass FLK and in cases that
//! do not, duplicate stays whose first one FLK refused — written out field by field and
//! compared with the stored expectation (`expected/control_findings.txt`): the control may be
//! made faster or restructured, but its findings, their order and their counts stay the same.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use medgate_claims::generate::{self, Options};
use medgate_claims::spill::ENTRIES_IN_MEMORY;
use medgate_claims::{check_package_with_mek, Catalogue, MekSettings, Nsi, Period, Settings};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogues")
}

fn load(names: &[&str]) -> Vec<Catalogue> {
    names
        .iter()
        .map(|name| Catalogue::load(&dir().join(name)).unwrap())
        .collect()
}

/// The `index`-th (1-based) `<tag>…</tag>` record of `text`, edited by `edit`.
fn edit_record(text: &mut String, tag: &str, index: usize, edit: impl FnOnce(&mut String)) {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.match_indices(&open).nth(index - 1).unwrap().0;
    let end = start + text[start..].find(&close).unwrap() + close.len();
    let mut record = text[start..end].to_owned();
    edit(&mut record);
    text.replace_range(start..end, &record);
}

/// Sets the value of every `<field>` of the record.
fn set(record: &mut String, field: &str, value: &str) {
    let open = format!("<{field}>");
    let close = format!("</{field}>");
    let mut from = 0;
    while let Some(at) = record[from..].find(&open) {
        let start = from + at + open.len();
        let end = start + record[start..].find(&close).unwrap();
        record.replace_range(start..end, value);
        from = start + value.len();
    }
}

/// Sets the value of the first `<field>` after `anchor`.
fn set_after(record: &mut String, anchor: &str, field: &str, value: &str) {
    let base = record.find(anchor).unwrap();
    let open = format!("<{field}>");
    let start = base + record[base..].find(&open).unwrap() + open.len();
    let end = start + record[start..].find(&format!("</{field}>")).unwrap();
    record.replace_range(start..end, value);
}

/// The value of the first `<field>` of the record.
fn get(record: &str, field: &str) -> String {
    let open = format!("<{field}>");
    let start = record.find(&open).unwrap() + open.len();
    let end = start + record[start..].find(&format!("</{field}>")).unwrap();
    record[start..end].to_owned()
}

/// A two-day stay from 10 to 11 January, the same for every case it is given to.
fn same_stay(record: &mut String) {
    for field in ["DATE_Z_1", "DATE_1", "DATE_IN"] {
        set(record, field, "2025-01-10");
    }
    for field in ["DATE_Z_2", "DATE_2", "DATE_OUT"] {
        set(record, field, "2025-01-11");
    }
}

/// The generated package of 24 cases, with its faults seeded by editing its files' text;
/// `personal_faults`: with faults in patients' `PERS` records too (the MEK then leaves out
/// their cases, and a case a later one duplicates may be one of them).
fn faulty_package(dir: &Path, personal_faults: bool) -> PathBuf {
    let options = Options::new(24, Period::new(2025, 1).unwrap());
    let name = options.name();
    let mut clean = std::io::Cursor::new(Vec::new());
    generate::write_package(&mut clean, &options).unwrap();
    let mut archive = zip::ZipArchive::new(clean).unwrap();
    let mut entry = |stem: String| {
        let mut bytes = Vec::new();
        archive
            .by_name(&format!("{stem}.xml"))
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        encoding_rs::WINDOWS_1251.decode(&bytes).0.into_owned()
    };
    let mut main = entry(name.main_stem());
    let mut personal = entry(name.personal_stem());

    // FLK on the case and MEK on it too (a man's pregnancy): the MEK leaves it out.
    edit_record(&mut main, "ZAP", 3, |r| {
        set(r, "USL_OK", "9");
        set(r, "DS1", "O80");
        set(r, "DS", "O80");
    });
    // MEK: a pregnancy diagnosis for a man.
    edit_record(&mut main, "ZAP", 5, |r| {
        set(r, "DS1", "O80");
        set(r, "DS", "O80");
    });
    // FLK on the patient's PERS (its SNILS) and MEK on the case: the MEK leaves it out.
    edit_record(&mut personal, "PERS", 6, |r| {
        if !personal_faults {
            return;
        }
        let snils = get(r, "SNILS");
        let wrong = format!(
            "{}{:02}",
            &snils[..12],
            (snils[12..].parse::<u32>().unwrap() + 1) % 100
        );
        set(r, "SNILS", &wrong);
    });
    edit_record(&mut main, "ZAP", 6, |r| {
        set_after(r, "<ED_COL>", "TARIF", "1.00")
    });
    // MEK: tariff × units is not the sum.
    edit_record(&mut main, "ZAP", 7, |r| {
        set_after(r, "<ED_COL>", "TARIF", "10.00")
    });
    // FLK: the stay ends before it starts.
    edit_record(&mut main, "ZAP", 8, |r| set(r, "DATE_1", "2025-01-30"));
    // MEK: the case ended before the period.
    edit_record(&mut main, "ZAP", 9, |r| {
        for field in [
            "DATE_Z_1", "DATE_Z_2", "DATE_1", "DATE_2", "DATE_IN", "DATE_OUT",
        ] {
            set(r, field, "2024-12-20");
        }
    });
    // Duplicate stays: one person (under different ID_PAC) with the same two-day stay in cases
    // 12 to 18. Case 12's patient fails FLK, case 16 fails FLK: neither counts as the first.
    let person = {
        let mut fields = Vec::new();
        edit_record(&mut personal, "PERS", 12, |r| {
            for field in ["FAM", "IM", "OT", "W", "DR"] {
                fields.push((field, get(r, field)));
            }
        });
        fields
    };
    for index in 12..=18 {
        edit_record(&mut main, "ZAP", index, same_stay);
        edit_record(&mut personal, "PERS", index, |r| {
            for (field, value) in &person {
                set(r, field, value);
            }
        });
    }
    if personal_faults {
        edit_record(&mut personal, "PERS", 12, |r| {
            set(r, "SNILS", "123-456-789 00")
        });
    }
    edit_record(&mut main, "ZAP", 16, |r| set(r, "VIDPOM", "99"));
    // Case 19's patient has no PERS (FLK on the case).
    let pers_19 = {
        let mut text = String::new();
        edit_record(&mut personal, "PERS", 19, |r| {
            text = r.clone();
            r.clear();
        });
        text
    };
    assert!(!pers_19.is_empty());
    // MEK, three faults in one case: a perinatal diagnosis for an adult, a wrong tariff and
    // a case before the period.
    edit_record(&mut main, "ZAP", 20, |r| {
        set(r, "DS1", "P07");
        set(r, "DS", "P07");
        set_after(r, "<ED_COL>", "TARIF", "2.00");
        for field in [
            "DATE_Z_1", "DATE_Z_2", "DATE_1", "DATE_2", "DATE_IN", "DATE_OUT",
        ] {
            set(r, field, "2024-11-05");
        }
    });
    // A newborn's case: the PERS rules that read NOVOR from the main file apply.
    if personal_faults {
        edit_record(&mut main, "ZAP", 21, |r| set(r, "NOVOR", "1"));
    }
    // FLK: an empty mandatory diagnosis.
    edit_record(&mut main, "ZAP", 22, |r| set(r, "DS1", ""));
    // FLK at the end of the file: the invoice sum.
    edit_record(&mut main, "SCHET", 1, |r| {
        let sum = get(r, "SUMMAV");
        set(r, "SUMMAV", &format!("{sum}1"));
    });

    let path = dir.join(format!("{}.zip", name.main_stem()));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (stem, text) in [(name.personal_stem(), &personal), (name.main_stem(), &main)] {
        zip.start_file(format!("{stem}.xml"), deflated).unwrap();
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(text);
        assert!(!unmappable);
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
    path
}

fn field(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("-")
}

/// Everything the control found, one line per finding, then the counts (a MEK finding's
/// Russian comment is left out: `medgate claims check --json`, which wrote the stored
/// expectation with the control as it was, does not print it).
fn written(path: &Path, max_findings: usize, keys_in_memory: usize) -> String {
    let flk = load(&["Q015.xml", "Q022.xml"]);
    let mek = load(&["Q016.xml", "Q023.xml"]);
    let nsi = Nsi::starter().unwrap();
    let settings = Settings {
        catalogues: &flk,
        nsi: &nsi,
        max_findings,
        keys_in_memory,
    };
    let mek = MekSettings {
        catalogues: &mek,
        paid: None,
    };
    let report = check_package_with_mek(path, &settings, &mek, &mut |_, _| {}).unwrap();
    let mut out = format!("max_findings {max_findings}\n");
    for f in &report.findings {
        out.push_str(&format!(
            "FLK {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}\n",
            f.code,
            field(&f.rule),
            f.file,
            f.element,
            f.base,
            field(&f.n_zap),
            field(&f.idcase),
            field(&f.sl_id),
            field(&f.idserv),
            f.comment,
            f.comment_ru
        ));
    }
    out.push_str(&format!(
        "FLK cases {} patients {} kept {} dropped {}\n",
        report.cases,
        report.patients,
        report.findings.len(),
        report.findings_dropped
    ));
    let mek = report.mek.as_ref().unwrap();
    for f in &mek.findings {
        out.push_str(&format!(
            "MEK {} {} | {} | {} | {} | {} | {} | {} | {}\n",
            f.reason.code,
            f.reason.basis,
            field(&f.rule),
            f.element,
            field(&f.n_zap),
            field(&f.idcase),
            field(&f.sl_id),
            f.withheld,
            f.comment,
        ));
    }
    out.push_str(&format!(
        "MEK checked {} failed_flk {} refused {} withheld {} kept {} dropped {}\n",
        mek.cases_checked,
        mek.cases_failed_flk,
        mek.cases_refused,
        mek.withheld,
        mek.findings.len(),
        mek.findings_dropped
    ));
    out
}

#[test]
fn a_package_with_flk_and_mek_faults_gives_the_expected_findings() {
    let mut actual = String::new();
    for personal_faults in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = faulty_package(dir.path(), personal_faults);
        actual.push_str(&format!("personal faults {personal_faults}\n"));
        let in_memory = written(&path, 10_000, ENTRIES_IN_MEMORY);
        // The same findings when the keys, patients and stays move to the temporary files
        // after every third one.
        assert_eq!(written(&path, 10_000, 3), in_memory);
        actual.push_str(&in_memory);
        actual.push_str(&written(&path, 7, ENTRIES_IN_MEMORY));
    }
    let expected_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expected/control_findings.txt");
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    if actual != expected {
        let written_to = std::env::temp_dir().join("control_findings.actual.txt");
        std::fs::write(&written_to, &actual).unwrap();
        let first = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .unwrap_or(actual.lines().count().min(expected.lines().count()));
        panic!(
            "the findings differ from {} at line {} (the actual ones are in {}):\n  expected: {}\n  actual:   {}",
            expected_path.display(),
            first + 1,
            written_to.display(),
            expected.lines().nth(first).unwrap_or("(nothing)"),
            actual.lines().nth(first).unwrap_or("(nothing)")
        );
    }
    // The faults seeded are all there: the stored file is not empty or trivial.
    assert!(actual.contains("MEK checked"), "{actual}");
    assert!(actual.matches("\nMEK 222").count() >= 4, "{actual}");
}
