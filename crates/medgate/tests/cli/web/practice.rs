//! The clinic's side of the clinical record service in Chromium: the real `medgate serve
//! --role clinical` with an institution set up by `medgate clinical …`, a repository node
//! whose administrator sets the connection up on `/admin/clinical-service` from the
//! PKCS#12 file and its one-time code, and a practitioner who signs in at `/practice` with
//! password and TOTP code and opens and closes an encounter for a patient (screenshots in
//! Hungarian and English). The refusals, the other institution, break-glass, the profile
//! and referrals are tested in process, `crates/medgate-server/tests/clinical_desk.rs`.

use super::{activate_and_sign_in_admin, code_of, create_admin, wait_for, wait_text};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};
use crate::support::{password_file, run_ok};

const TENANT: &str = "0000000000013010";
const PATIENT: &str = "123456788";
const PASSWORD: &str = "korrekt ló elem kapocs";

fn clinical(service: &Node, args: &[&str]) -> String {
    let mut all: Vec<String> = vec!["clinical".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(service.store_args());
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    run_ok(&refs)
}

/// Sets institution 506097 up with the operator's commands; gives the PKCS#12 file, its
/// one-time code and the practitioner's TOTP secret.
fn institution(service: &Node) -> (std::path::PathBuf, String, String) {
    let dir = service.dir.path();
    clinical(service, &["institution", "add", "--id", "506097", "--name", "Mosoly Fogászat Kft."]);
    clinical(service, &["unit", "add", "--institution", "506097", "--id", "001044299", "--name", "Fogászati rendelő"]);
    let password = password_file(dir, "kovacs.password", PASSWORD);
    let added = clinical(
        service,
        &["practitioner", "add", "--user-name", "dr.kovacs", "--name", "Dr. Kovács Anna", "--stamp-number", "58012", "--password-file", &password],
    );
    let secret = added
        .split("secret=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap_or_else(|| panic!("no TOTP secret printed: {added}"))
        .to_owned();
    clinical(service, &["grant", "--user-name", "dr.kovacs", "--institution", "506097", "--role", "doctor"]);
    let p12 = dir.join("mosoly.p12");
    let issued = clinical(service, &["certificate", "issue", "--institution", "506097", "--out", &p12.to_string_lossy()]);
    let code = issued
        .lines()
        .find_map(|line| line.strip_prefix("PKCS#12 password (shown once): "))
        .unwrap_or_else(|| panic!("no one-time code printed: {issued}"))
        .trim()
        .to_owned();
    (p12, code, secret)
}

#[test]
fn web_practitioners_desk_sign_in_and_an_encounter_in_chromium() {
    let Some(service) = Node::start_with(Backend::Sqlite, &["--role", "clinical"]) else {
        return;
    };
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let (p12, code, secret) = institution(&service);
    node.create_tenant(TENANT, 10, 100);
    let admin_code = code_of(&create_admin(&node, TENANT, "it"));
    let Some(browser) = Browser::start() else {
        return;
    };
    let base = node.url();

    // The administrator sets the connection up.
    activate_and_sign_in_admin(&browser, &node, TENANT, "it", &admin_code);
    browser.goto(&format!("{base}/admin/clinical-service"));
    assert_eq!(browser.text("h1"), "Usługa kliniczna (EESZT)");
    browser.fill("#f-service_url", &service.url());
    browser.choose_file("#f-ca_file", &service.ca());
    browser.choose_file("#f-p12_file", &p12);
    browser.fill("#f-code", &code);
    browser.fill("#f-institution", "506097");
    browser.fill("#f-institution_name", "Mosoly Fogászat Kft.");
    browser.fill("#f-units", "001044299");
    browser.fill("#f-practitioners", "Dr. Kovács Anna; 58012; dr.kovacs");
    browser.click("#clinical-form button[type=submit]");
    wait_for(&browser, "/admin/clinical-service?done=saved");
    assert!(browser.text("#clinical-institution").contains("506097 · Mosoly Fogászat Kft."));
    assert!(browser.text("#clinical-practitioners").contains("dr.kovacs"));
    browser.screenshot("admin-clinical-service");

    // The practitioner signs in at the desk, in Hungarian.
    browser.goto(&format!("{base}/practice"));
    assert_eq!(browser.text("h1"), "Bejelentkezés");
    assert!(!browser.source().contains("<script"), "no scripts on the pages");
    browser.screenshot("practice-sign-in-hu");
    browser.fill("#f-tenant", TENANT);
    browser.fill("#f-user_name", "dr.kovacs");
    browser.fill("#f-password", PASSWORD);
    let totp = medgate_clinical::auth::totp_code(&secret, time::OffsetDateTime::now_utc()).expect("TOTP code");
    browser.fill("#f-code", &totp);
    browser.click("#signin-form button[type=submit]");
    wait_for(&browser, "/practice/patient");
    assert!(browser.text("header").contains("Dr. Kovács Anna (58012) · Mosoly Fogászat Kft."));

    // A patient by TAJ; an encounter opened, then closed with its summary.
    browser.fill("#f-taj", PATIENT);
    browser.click("#patient-search button[type=submit]");
    wait_for(&browser, &format!("/practice/patient?taj={PATIENT}"));
    assert_eq!(browser.text("h1"), format!("Beteg · TAJ {PATIENT}"));
    browser.click("#open-form button[type=submit]");
    wait_text(&browser, "[role=status]", "Az esemény megnyílt");
    browser.fill("#f-summary", "Panasz: fogfájás a bal alsó őrlőfognál.\nKezelés: gyökérkezelés megkezdve, kontroll egy hét múlva.");
    browser.click("#close-form button[type=submit]");
    wait_text(&browser, "[role=status]", "az esemény lezárva");
    assert!(browser.text("#documents").contains("Ambuláns lap"));
    assert!(browser.text("#documents").contains("506097"));
    browser.fill("#f-text", "Penicillin-allergia");
    browser.click("#profile-form button[type=submit]");
    wait_text(&browser, "[role=status]", "A bejegyzés rögzítve");
    assert!(browser.text("#profile").contains("Penicillin-allergia"));
    browser.resize(1280, 2200);
    browser.screenshot("practice-patient-hu");

    // The same page in English.
    browser.click_link("English");
    assert_eq!(browser.text("h1"), format!("Patient · TAJ {PATIENT}"));
    assert!(browser.text("#documents-section").contains("Documents (from every institution)"));
    browser.screenshot("practice-patient-en");
}
