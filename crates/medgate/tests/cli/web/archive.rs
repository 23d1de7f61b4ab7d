//! The archive browser: paging, the advanced search, a document opened rendered, indexing in
//! a real national registry node, deletion after its confirmation page. The downloads (export
//! ZIP, attachment) and another tenant's document id typed into every action address are
//! tested in process in `crates/medgate-server/tests/pages/archive.rs`.

use std::path::Path;

use serde_json::Value;

use super::{activate_and_sign_in_admin, code_of, create_admin, wait_for, wait_text};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Clinic, Node};
use crate::repository::portal::{NAME_A, NAME_B, PESEL_A, PESEL_B};
use crate::support::run_ok;

const TENANT: &str = "0000000000009050";
pub const ROOT: &str = "2.16.840.1.113883.3.4424.2.7.26.7.1";

/// One document to make from the fixture.
pub struct Made<'a> {
    pub extension: &'a str,
    pub pesel: &'a str,
    pub name: (&'a str, &'a str),
    pub title: &'a str,
    /// `YYYYMMDD` of the effective time.
    pub day: &'a str,
    pub author: &'a str,
}

/// Writes the documents into one folder and uploads it with one `client put`; returns their
/// ids.
pub fn upload(clinic: &Clinic, folder: &str, documents: &[Made<'_>]) -> Vec<String> {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/fixtures/cda-discharge-pesel.xml");
    let template = std::fs::read_to_string(fixture).expect("fixture");
    let dir = clinic.dir.join(folder);
    std::fs::create_dir_all(&dir).expect("batch folder");
    let mut ids = Vec::new();
    for made in documents {
        let text = template
            .replace(
                "extension=\"MG-0001\"",
                &format!("extension=\"{}\"", made.extension),
            )
            .replace(
                "extension=\"MG-SET-0001\"",
                &format!("extension=\"{}-SET\"", made.extension),
            )
            .replace(
                "extension=\"44051401359\"",
                &format!("extension=\"{}\"", made.pesel),
            )
            .replace(
                "<given>Zofia</given>",
                &format!("<given>{}</given>", made.name.0),
            )
            .replace(
                "<family>Testowa-Wiśniewska</family>",
                &format!("<family>{}</family>", made.name.1),
            )
            .replace(
                "<title>Karta informacyjna z leczenia szpitalnego</title>",
                &format!("<title>{}</title>", made.title),
            )
            .replace(
                "value=\"20240315103000+0100\"",
                &format!("value=\"{}103000+0100\"", made.day),
            )
            .replacen(
                "<family>Nowak</family>",
                &format!("<family>{}</family>", made.author),
                1,
            );
        std::fs::write(dir.join(format!("{}.xml", made.extension)), text)
            .expect("document written");
        ids.push(format!("{ROOT}^{}", made.extension));
    }
    let out = clinic.run_ok(&["put", &dir.to_string_lossy()]);
    assert!(
        out.contains(&format!("{} stored", documents.len())),
        "{out}"
    );
    ids
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// National certificates from the registry's CA, packed as the clinic uploads them; then
/// `client national register`.
fn register_nationally(registry: &Node, clinic: &Clinic) {
    let dir = clinic.dir.join("national");
    std::fs::create_dir_all(&dir).unwrap();
    let key_password = dir.join("key-password");
    std::fs::write(&key_password, "national-key-secret\n").unwrap();
    let password = dir.join("p12-password");
    std::fs::write(&password, "national-p12-secret\n").unwrap();
    run_ok(&[
        "pki",
        "csr",
        "--tenant",
        &clinic.tenant,
        "--org",
        "Przychodnia Test",
        "--unit",
        "IT",
        "--country",
        "PL",
        "--out",
        &s(&dir),
        "--algorithm",
        "p256",
        "--password-file",
        &s(&key_password),
    ]);
    let ca_dir = registry.data.join("ca");
    for kind in ["tls", "wss"] {
        run_ok(&[
            "ca",
            "sign",
            "--dir",
            &s(&ca_dir),
            "--csr",
            &s(&dir.join(format!("{kind}.csr"))),
            "--out",
            &s(&dir.join(format!("{kind}.pem"))),
        ]);
        run_ok(&[
            "pki",
            "p12",
            "--cert",
            &s(&dir.join(format!("{kind}.pem"))),
            "--key",
            &s(&dir.join(format!("{kind}.key"))),
            "--key-password-file",
            &s(&key_password),
            "--chain",
            &s(&registry.ca()),
            "--password-file",
            &s(&password),
            "--out",
            &s(&dir.join(format!("{kind}.p12"))),
        ]);
    }
    clinic.run_ok(&[
        "national",
        "register",
        "--tls-p12",
        &s(&dir.join("tls.p12")),
        "--wss-p12",
        &s(&dir.join("wss.p12")),
        "--password-file",
        &s(&password),
    ]);
}

fn search(clinic: &Clinic, patient: &str) -> Vec<Value> {
    json(&clinic.run_ok(&["search", "--json", "--patient", patient, "--limit", "100"]))["documents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn web_archive_searches_pages_opens_exports_indexes_and_deletes() {
    let registry = Node::start_registry();
    let Some(node) = Node::start_with(
        Backend::Sqlite,
        &[
            "--registry-url",
            &registry.url(),
            "--registry-ca-file",
            &s(&registry.ca()),
        ],
    ) else {
        return;
    };
    let clinic = node.enroll(TENANT, 50, 1000);
    // 21 results for one patient (two pages), two documents of another, one attachment.
    let titles: Vec<String> = (1..=21)
        .map(|n| format!("Wynik badania kontrolnego {n:02}"))
        .collect();
    let extensions: Vec<String> = (1..=21).map(|n| format!("ARC-{n:02}")).collect();
    let days: Vec<String> = (1..=21).map(|n| format!("202401{n:02}")).collect();
    let mut made: Vec<Made<'_>> = (0..21)
        .map(|i| Made {
            extension: &extensions[i],
            pesel: PESEL_A,
            name: NAME_A,
            title: &titles[i],
            day: &days[i],
            author: "Nowak",
        })
        .collect();
    made.push(Made {
        extension: "ARC-B1",
        pesel: PESEL_B,
        name: NAME_B,
        title: "Karta informacyjna z leczenia szpitalnego",
        day: "20240315",
        author: "Kowalska",
    });
    made.push(Made {
        extension: "ARC-B2",
        pesel: PESEL_B,
        name: NAME_B,
        title: "Informacja dla lekarza kierującego",
        day: "20240320",
        author: "Kowalska",
    });
    let ids = upload(&clinic, "batch", &made);
    let scan = clinic.dir.join("skan.pdf");
    std::fs::write(&scan, b"%PDF-1.4 scan of a referral").unwrap();
    clinic.run_ok(&[
        "put-attachment",
        &s(&scan),
        "--patient",
        PESEL_B,
        "--title",
        "Skan skierowania",
        "--content-type",
        "application/pdf",
    ]);
    let code = code_of(&create_admin(&node, TENANT, "archiwista"));

    let Some(browser) = Browser::start() else {
        return;
    };
    let base = node.url();
    activate_and_sign_in_admin(&browser, &node, TENANT, "archiwista", &code);
    browser.click_link("Archiwum");
    wait_for(&browser, "/admin/documents");
    assert_eq!(browser.text("h1"), "Przegląd archiwum dokumentów");
    assert_eq!(browser.text("#range"), "Dokumenty 1–20 z 24");
    let table = browser.text("#documents");
    for column in [
        "Pacjent",
        "Pesel",
        "eRepozytorium",
        "Wystawiono zgodę",
        "Rodzaj",
        "Data dodania",
        "Użytkownik dostawcy",
    ] {
        assert!(table.contains(column), "column {column}: {table}");
    }
    assert!(
        table.contains("Marek Próbny") && table.contains(PESEL_B),
        "{table}"
    );
    browser.screenshot("admin-archive");
    browser.click_link("Następne →");
    wait_text(&browser, "#range", "Dokumenty 21–24 z 24");

    // The advanced search: by patient, by title, by dates, by author; a bad date is named.
    browser.goto(&format!("{base}/admin/documents"));
    browser.click("details.search summary");
    browser.fill("#f-patient", PESEL_B);
    browser.click("form[role=search] button[type=submit]");
    wait_text(&browser, "#range", "z 3");
    let table = browser.text("#documents");
    assert!(
        table.contains("Skan skierowania") && !table.contains("Wynik badania"),
        "{table}"
    );
    browser.screenshot("admin-archive-search");
    browser.goto(&format!("{base}/admin/documents?title=kontrolnego+07"));
    wait_text(&browser, "#range", "Dokumenty 1–1 z 1");
    browser.goto(&format!(
        "{base}/admin/documents?from=2024-01-10&to=2024-01-12&patient={PESEL_A}"
    ));
    wait_text(&browser, "#range", "z 3");
    browser.goto(&format!("{base}/admin/documents?author=kowalska"));
    wait_text(&browser, "#range", "z 2");
    browser.goto(&format!("{base}/admin/documents?from=2024-13-01"));
    assert_eq!(
        browser.text("#f-from-error"),
        "Podaj datę w postaci RRRR-MM-DD."
    );

    // A document's page, then shown in the browser.
    browser.goto(&format!("{base}/admin/documents?patient={PESEL_B}"));
    browser.click_link("Karta informacyjna z leczenia szpitalnego");
    wait_text(&browser, "#facts", &ids[21]);
    let actions = browser.text("#actions");
    for action in [
        "Pokaż w przeglądarce",
        "Zapisz XML HL7 CDA",
        "Pobierz paczkę ZIP",
        "Indeksuj dokument",
        "Udostępnij",
        "Usuń",
    ] {
        assert!(actions.contains(action), "{action}: {actions}");
    }
    browser.screenshot("admin-document");
    // "Save XML" gives the XML itself; the ZIP is offered as a ZIP.
    let source = browser.source();
    assert!(source.contains("/content\">Zapisz XML HL7 CDA</a>"), "{source}");
    assert!(source.contains("/export\">Pobierz paczkę ZIP"), "{source}");
    browser.click_link("Pokaż w przeglądarce");
    wait_text(&browser, "body", "Marek");
    let rendered = browser.text("body");
    assert!(
        rendered.contains("Próbny") && rendered.contains(PESEL_B),
        "{rendered}"
    );
    assert!(rendered.contains("Karta informacyjna z leczenia szpitalnego"));
    browser.screenshot("admin-document-view");
    browser.click_link("← Wróć do dokumentu");
    wait_text(&browser, "#facts", &ids[21]);

    // Indexing: refused with the API's reason before the repository is registered, done after.
    browser.click("#actions form button");
    wait_text(&browser, "[role=alert]", "nie został zindeksowany");
    assert!(browser
        .text("[role=alert]")
        .contains("not registered in the national registry"));
    register_nationally(&registry, &clinic);
    browser.goto(&format!(
        "{base}/admin/documents/{}",
        urlencoding::encode(&ids[21])
    ));
    browser.click("#actions form button");
    wait_text(
        &browser,
        "[role=status]",
        "zindeksowany w rejestrze krajowym",
    );
    assert!(!browser.text("#facts").contains("Zindeksowano w P1\nnie"));
    let found = json(&clinic.run_ok(&["national", "find", "--patient", PESEL_B, "--json"]));
    assert!(found.to_string().contains("ARC-B1"), "{found}");

    // Deletion, after the confirmation page; the registry entry goes with it.
    browser.goto(&format!(
        "{base}/admin/documents/{}",
        urlencoding::encode(&ids[21])
    ));
    browser.click_link("Usuń");
    wait_text(&browser, "h1", "Usunięcie dokumentu");
    assert!(browser.text("[role=alert]").contains("nie można cofnąć"));
    browser.screenshot("admin-document-delete");
    browser.click("button.danger");
    wait_for(&browser, "/admin/documents?deleted=1");
    assert!(browser.text("main").contains("Dokument został usunięty"));
    assert!(search(&clinic, PESEL_B)
        .iter()
        .all(|d| d["id"] != ids[21].as_str()));
    let found = json(&clinic.run_ok(&["national", "find", "--patient", PESEL_B, "--json"]));
    assert!(!found.to_string().contains("ARC-B1"), "{found}");

    let entries = super::audited(&node, TENANT);
    for action in [
        "document.search",
        "document.metadata",
        "document.render",
        "document.index",
        "document.delete",
    ] {
        super::assert_audited(&entries, "admin:archiwista", action);
    }
    browser.resize(390, 844);
    browser.goto(&format!("{base}/admin/documents?patient={PESEL_B}"));
    browser.screenshot("admin-archive-phone");
    browser.resize(1280, 800);
    browser.click_link("English");
    assert_eq!(browser.text("h1"), "Document archive");
}
