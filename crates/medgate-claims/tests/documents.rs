//! The documents of generated packages read back by poppler, an independent PDF reader:
//! `pdftotext` gives back the Cyrillic words, the MO code, the totals and a case line (so the
//! ToUnicode map is right), `pdfinfo` the page counts, `pdffonts` the embedded font; the MEK
//! act lists the F014 reason of a seeded duplicate and the invoice the sum to pay; a
//! 10,000-case register is written in flat memory; nothing is left behind on a refusal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use medgate_claims::documents::{write_documents, Options as DocumentOptions};
use medgate_claims::generate::{self, Fault, Options};
use medgate_claims::{
    check_package_with_mek, Catalogue, MekSettings, Nsi, Period, Report, Settings,
};
use medgate_test_peers::require_command;

const POPPLER: &str = "apt-get install poppler-utils";

fn period() -> Period {
    Period::new(2025, 1).unwrap()
}

fn package(dir: &Path, options: &Options) -> PathBuf {
    let path = dir.join(format!("{}.zip", options.name().main_stem()));
    let file = std::fs::File::create(&path).unwrap();
    generate::write_package(std::io::BufWriter::new(file), options).unwrap();
    path
}

fn check(path: &Path) -> Report {
    let flk = Catalogue::shipped().unwrap();
    let mek = Catalogue::shipped_mek().unwrap();
    let nsi = Nsi::starter().unwrap();
    let settings = Settings {
        catalogues: &flk,
        nsi: &nsi,
        max_findings: 1000,
        keys_in_memory: medgate_claims::spill::ENTRIES_IN_MEMORY,
    };
    let mek = MekSettings {
        catalogues: &mek,
        paid: None,
    };
    check_package_with_mek(path, &settings, &mek, &mut |_, _| {}).unwrap()
}

fn run(program: &Path, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn text(pdftotext: &Path, pdf: &Path) -> String {
    // Without -layout the words of a line come one after another; collapse the spaces.
    let raw = run(pdftotext, &["-layout", pdf.to_str().unwrap(), "-"]);
    raw.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Kopecks as the documents write them, thousands apart: `5252500` → `52 525,00`.
fn rubles(kopecks: i128) -> String {
    let whole = (kopecks / 100).to_string();
    let mut groups = Vec::new();
    let mut end = whole.len();
    while end > 3 {
        groups.insert(0, &whole[end - 3..end]);
        end -= 3;
    }
    groups.insert(0, &whole[..end]);
    format!("{},{:02}", groups.join(" "), kopecks % 100)
}

fn pages(pdfinfo: &Path, pdf: &Path) -> usize {
    let info = run(pdfinfo, &[pdf.to_str().unwrap()]);
    let line = info.lines().find(|l| l.starts_with("Pages:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn the_documents_are_read_back_by_poppler() {
    let Some(pdftotext) = require_command("pdftotext", POPPLER) else {
        return;
    };
    let Some(pdfinfo) = require_command("pdfinfo", POPPLER) else {
        return;
    };
    let Some(pdffonts) = require_command("pdffonts", POPPLER) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(100, period());
    options.fault = Some(Fault::SameCaseTwice);
    let path = package(dir.path(), &options);
    let report = check(&path);
    let mek = report.mek.as_ref().unwrap();
    assert_eq!(mek.cases_refused, 1, "{:?}", mek.findings);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let written = write_documents(
        &path,
        &out,
        &DocumentOptions {
            mo_name: Some("ГБУЗ «Городская поликлиника № 1»"),
            mek: Some(mek),
        },
    )
    .unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|w| w.path.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["invoice.pdf", "summary.pdf", "register.pdf", "mek-act.pdf"]
    );
    for document in &written {
        assert_eq!(pages(&pdfinfo, &document.path), document.pages);
        let fonts = run(&pdffonts, &[document.path.to_str().unwrap()]);
        let line = fonts
            .lines()
            .find(|l| l.starts_with("DejaVuSansCondensed"))
            .unwrap_or_else(|| panic!("{fonts}"));
        // name, type (2 words), encoding, emb, sub, uni
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            fields[1..7],
            ["CID", "TrueType", "Identity-H", "yes", "no", "yes"],
            "{fonts}"
        );
    }
    // No temporary file is left.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 4);

    // The generator's sums: 500.00 roubles plus 0.50 a case number.
    let cases_sum: i128 = (1..=100).map(|index| 50_000 + index * 50).sum();
    let total = rubles(cases_sum);
    assert_eq!(total, "52 525,00");
    let withheld_text = rubles(mek.withheld);
    let pay_text = rubles(cases_sum - mek.withheld);

    let invoice = text(&pdftotext, &out.join("invoice.pdf"));
    for expected in [
        "Счёт № 1-1 от 31.01.2025",
        "за январь 2025 г.",
        "Поставщик: ГБУЗ «Городская поликлиника № 1», код МО 010001",
        "код СМО 14002",
        "Количество случаев: 100",
        &format!("Сумма, предъявленная к оплате: {total} руб."),
        &format!("Снято по результатам МЭК: {withheld_text} руб. (1 случ.)"),
        &format!("К оплате: {pay_text} руб."),
        "Главный бухгалтер",
    ] {
        assert!(invoice.contains(expected), "{expected:?} not in\n{invoice}");
    }

    let summary = text(&pdftotext, &out.join("summary.pdf"));
    for expected in [
        "Сводный реестр счетов № 1-1 от 31.01.2025",
        &format!("3 — Амбулаторно все 100 {total}"),
        &format!("97 100 {total}"),
        &format!("Итого: случаев 100, на сумму {total} руб."),
    ] {
        assert!(summary.contains(expected), "{expected:?} not in\n{summary}");
    }

    let register = text(&pdftotext, &out.join("register.pdf"));
    let register_pages = written[2].pages;
    assert!(register_pages >= 3, "{register_pages} pages for 100 cases");
    // The header and the page number on every page.
    assert_eq!(
        register
            .matches("Реестр счетов № 1-1 от 31.01.2025")
            .count(),
        register_pages
    );
    assert_eq!(
        register.matches("№ записи Пациент Полис").count(),
        register_pages
    );
    assert!(
        register.contains(&format!("Лист {register_pages}")),
        "{register}"
    );
    // Every patient is named from the personal-data file, none left as an ID_PAC.
    assert!(!register.contains("P000000"), "{register}");
    for expected in [
        "3 Кузнецов И. И. 7700000000000003 3 97 04.01.2025 04.01.2025 J20.9 501,50",
        "Медицинская организация: ГБУЗ «Городская поликлиника № 1» (код 010001)",
        &format!("Итого: случаев 100, на сумму {total} руб."),
    ] {
        assert!(
            register.contains(expected),
            "{expected:?} not in\n{register}"
        );
    }
    // The refused case carries the sum withheld.
    assert!(
        register.contains(&format!("I11.9 {withheld_text} {withheld_text}")),
        "{register}"
    );

    let act = text(&pdftotext, &out.join("mek-act.pdf"));
    for expected in [
        "Акт медико-экономического контроля к счёту № 1-1 от 31.01.2025",
        "222 1.10.2.",
        "Дублирование случаев",
        "Проверено случаев: 100; отказано в оплате: 1; не прошли ФЛК: 0",
        &format!("снято по МЭК: {withheld_text} руб."),
    ] {
        assert!(act.contains(expected), "{expected:?} not in\n{act}");
    }
}

#[test]
fn without_a_mek_report_there_is_no_act_and_a_bad_package_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = package(dir.path(), &Options::new(3, period()));
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let written = write_documents(&path, &out, &DocumentOptions::default()).unwrap();
    assert_eq!(written.len(), 3);
    assert!(written.iter().all(|w| w.pages == 1), "{written:?}");

    // A renamed package is refused before anything is written.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let renamed = dir.path().join("XM010001S14002_25011.zip");
    std::fs::copy(&path, &renamed).unwrap();
    assert!(write_documents(&renamed, &empty, &DocumentOptions::default()).is_err());
    let missing = write_documents(
        &path,
        &dir.path().join("nowhere"),
        &DocumentOptions::default(),
    )
    .unwrap_err();
    assert!(missing.to_string().contains("output folder"), "{missing}");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

fn peak_resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_10000_case_register_is_written_in_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::new(10_000, period());
    let path = package(dir.path(), &options);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // Generating the package peaked too: start the high-water mark afresh (Linux: 5 resets it).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = peak_resident_kib();
    let written = write_documents(&path, &out, &DocumentOptions::default()).unwrap();
    let grown = peak_resident_kib().saturating_sub(before);
    let register = &written[2];
    let size = std::fs::metadata(&register.path).unwrap().len();
    println!(
        "10,000 cases: register {} pages, {} KiB; peak resident grew {} KiB",
        register.pages,
        size >> 10,
        grown
    );
    assert!(register.pages > 200, "{written:?}");
    // The font (0.7 MB, deflated once a document) and buffers, not the register's pages.
    assert!(grown < 24 << 10, "peak resident grew {grown} KiB");
}
