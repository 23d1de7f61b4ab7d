//! `medgate claims nsi import` and `medgate claims nsi list`: a federal packet installed in the
//! data folder's NSI folder with its book and edition named, a newer edition replacing it, a
//! broken packet refused with the installed edition left as it was, the list showing installed
//! and starter books, and `claims check --nsi` reading the folder.

use std::path::Path;

use crate::support::{medgate, path, run_fails, run_ok, temp_dir};

/// A V006 packet in windows-1251, as the federal NSI portal publishes them.
fn packet(dir: &Path, name: &str, version: &str) -> String {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<packet>\n <zglv>\n  <type>V006</type>\n  \
         <version>{version}</version>\n  <date>27.11.2026</date>\n </zglv>\n <zap>\n  <IDUMP>1</IDUMP>\n  \
         <UMPNAME>Стационарно</UMPNAME>\n  <DATEBEG>18.10.2012</DATEBEG>\n  <DATEEND/>\n </zap>\n <zap>\n  \
         <IDUMP>3</IDUMP>\n  <UMPNAME>Амбулаторно</UMPNAME>\n  <DATEBEG>18.10.2012</DATEBEG>\n  <DATEEND/>\n </zap>\n</packet>\n"
    );
    // windows-1251: Cyrillic letters А..я are 0xC0..0xFF, ё 0xB8, Ё 0xA8.
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| match c {
            'А'..='я' => (c as u32 - 'А' as u32 + 0xC0) as u8,
            'ё' => 0xB8,
            'Ё' => 0xA8,
            other => u8::try_from(u32::from(other)).unwrap(),
        })
        .collect();
    std::fs::write(dir.join(name), bytes).unwrap();
    path(dir, name)
}

#[test]
fn claims_nsi_packets_are_installed_in_the_data_folder_with_their_edition() {
    let dir = temp_dir();
    let dir = dir.path();
    let data = path(dir, "data");
    let first = packet(dir, "download-1.xml", "4.1");
    let out = run_ok(&["claims", "nsi", "import", &first, "--data", &data]);
    let installed = dir.join("data").join("claims").join("nsi").join("V006.xml");
    assert_eq!(
        out.trim(),
        format!(
            "installed V006 (2 records, version 4.1 of 27.11.2026) as {}",
            installed.display()
        )
    );
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&first).unwrap()
    );

    let second = packet(dir, "download-2.xml", "4.2");
    let out = run_ok(&["claims", "nsi", "import", &second, "--data", &data]);
    assert!(out.contains("version 4.2 of 27.11.2026"), "{out}");
    assert!(
        out.contains("it replaces the edition installed before (version 4.1 of 27.11.2026)"),
        "{out}"
    );

    // A truncated download is refused; the installed edition stays.
    let bytes = std::fs::read(&second).unwrap();
    std::fs::write(dir.join("truncated.xml"), &bytes[..bytes.len() - 40]).unwrap();
    let refused = run_fails(&[
        "claims",
        "nsi",
        "import",
        &path(dir, "truncated.xml"),
        "--data",
        &data,
    ]);
    assert!(
        refused.contains("truncated.xml: malformed XML"),
        "{refused}"
    );
    std::fs::write(
        dir.join("notes.xml"),
        "<packet><zap><A>1</A></zap></packet>",
    )
    .unwrap();
    let refused = run_fails(&[
        "claims",
        "nsi",
        "import",
        &path(dir, "notes.xml"),
        "--data",
        &data,
    ]);
    assert!(
        refused.contains("notes.xml: names no federal book"),
        "{refused}"
    );
    assert_eq!(std::fs::read(&installed).unwrap(), bytes);
    assert_eq!(
        std::fs::read_dir(installed.parent().unwrap())
            .unwrap()
            .count(),
        1
    );

    // The list: V006 from the data folder, the other starter books as shipped.
    let list = run_ok(&["claims", "nsi", "list", "--data", &data]);
    assert!(
        list.starts_with(&format!(
            "1 book installed in {}, 12 more from the starter set",
            installed.parent().unwrap().display()
        )),
        "{list}"
    );
    let v006 = list.lines().find(|l| l.starts_with("V006")).unwrap();
    assert!(
        v006.contains("version 4.2 of 27.11.2026") && v006.contains("V006.xml"),
        "{list}"
    );
    let m001 = list.lines().find(|l| l.starts_with("M001")).unwrap();
    assert!(
        m001.contains("(starter set shipped with medgate)"),
        "{list}"
    );

    // --nsi-dir and MEDGATE_DATA name the folder too; `claims check --nsi` reads it.
    let elsewhere = path(dir, "books");
    run_ok(&["claims", "nsi", "import", &first, "--nsi-dir", &elsewhere]);
    assert!(dir.join("books").join("V006.xml").is_file());
    let listed = medgate()
        .env("MEDGATE_DATA", &data)
        .args(["claims", "nsi", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("version 4.2"));
    let generated = run_ok(&[
        "claims",
        "generate",
        "--cases",
        "5",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let check = run_ok(&[
        "claims",
        "check",
        generated.trim(),
        "--nsi",
        &installed.parent().unwrap().to_string_lossy(),
    ]);
    assert!(check.contains("FLK: 0 errors"), "{check}");
}
