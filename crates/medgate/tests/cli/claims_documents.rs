//! `medgate claims documents`: a generated package with a seeded duplicate gives the invoice,
//! the summary register, the register and the MEK act as PDFs; the page counts it prints are
//! poppler's (`pdfinfo`), the text `pdftotext` reads back is Russian and carries the MO, the
//! sums and the refused case; a missing output folder is refused with its name.

use std::path::Path;
use std::process::Command;

use medgate_test_peers::require_command;

use crate::support::{run_fails, run_ok, temp_dir};

const POPPLER: &str = "apt-get install poppler-utils";

fn poppler(program: &Path, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_documents_of_a_package_are_pdfs_poppler_reads() {
    let Some(pdftotext) = require_command("pdftotext", POPPLER) else {
        return;
    };
    let Some(pdfinfo) = require_command("pdfinfo", POPPLER) else {
        return;
    };
    let dir = temp_dir();
    let folder = dir.path().to_str().unwrap();
    let package = run_ok(&[
        "claims",
        "generate",
        "--cases",
        "80",
        "--period",
        "2025-03",
        "--fault",
        "same-case-twice",
        "--out",
        folder,
    ]);
    let package = package.trim();
    let out = dir.path().join("docs");
    std::fs::create_dir(&out).unwrap();
    let printed = run_ok(&[
        "claims",
        "documents",
        package,
        "--out",
        out.to_str().unwrap(),
        "--mek",
        "--mo-name",
        "ГБУЗ «Городская больница № 2»",
    ]);
    assert!(
        printed.contains("MEK findings: 1, cases refused: 1, withheld: 501.00"),
        "{printed}"
    );
    for name in ["invoice.pdf", "summary.pdf", "register.pdf", "mek-act.pdf"] {
        let path = out.join(name);
        let info = poppler(&pdfinfo, &[path.to_str().unwrap()]);
        let pages = info
            .lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .unwrap()
            .trim()
            .to_owned();
        let line = printed
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{printed}"));
        assert_eq!(
            line.split_whitespace().last(),
            Some(pages.as_str()),
            "{printed}"
        );
    }
    let text = |name: &str| {
        let raw = poppler(
            &pdftotext,
            &["-layout", out.join(name).to_str().unwrap(), "-"],
        );
        raw.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let invoice = text("invoice.pdf");
    assert!(invoice.contains("Счёт № 3-1 от 31.03.2025"), "{invoice}");
    assert!(
        invoice.contains("ГБУЗ «Городская больница № 2», код МО 010001"),
        "{invoice}"
    );
    assert!(
        invoice.contains("Снято по результатам МЭК: 501,00 руб."),
        "{invoice}"
    );
    let register = text("register.pdf");
    assert!(
        register.contains("10 Иванова Е. И. 7700000000000010 3 97 11.03.2025 11.03.2025 I25.1 505,00"),
        "{register}"
    );
    let act = text("mek-act.pdf");
    assert!(act.contains("Дублирование случаев"), "{act}");
    let summary = text("summary.pdf");
    assert!(summary.contains("3 — Амбулаторно все 80"), "{summary}");

    let error = run_fails(&[
        "claims",
        "documents",
        package,
        "--out",
        dir.path().join("nowhere").to_str().unwrap(),
    ]);
    assert!(error.contains("nowhere: no such folder"), "{error}");
}
