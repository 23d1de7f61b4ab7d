//! The consent register: a consent made from the archive's "Udostępnij", refused beside the
//! field while incomplete, sent (the activation code shown once works on the real patient
//! portal, which then lists exactly the shared documents), marked in the archive, revoked
//! (gone from the portal at once). Another account's consent and document ids in the
//! register's addresses are tested in process in
//! `crates/medgate-server/tests/pages/consents.rs`.

use serde_json::Value;

use super::archive::{upload, Made};
use super::{activate_and_sign_in_admin, code_of, create_admin, wait_for, wait_text};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};
use crate::repository::portal::{Portal, NAME_A, NAME_B, PESEL_A, PESEL_B};

const TENANT: &str = "0000000000009060";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn web_consent_is_created_sent_to_the_portal_and_revoked() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(TENANT, 10, 100);
    let ids = upload(
        &clinic,
        "batch",
        &[
            Made {
                extension: "CON-A1",
                pesel: PESEL_A,
                name: NAME_A,
                title: "Karta informacyjna z leczenia szpitalnego",
                day: "20240315",
                author: "Nowak",
            },
            Made {
                extension: "CON-A2",
                pesel: PESEL_A,
                name: NAME_A,
                title: "Wynik badania kontrolnego",
                day: "20240401",
                author: "Nowak",
            },
            Made {
                extension: "CON-A3",
                pesel: PESEL_A,
                name: NAME_A,
                title: "Dokument nieudostępniany",
                day: "20240402",
                author: "Nowak",
            },
            Made {
                extension: "CON-B1",
                pesel: PESEL_B,
                name: NAME_B,
                title: "Dokument innego pacjenta",
                day: "20240315",
                author: "Nowak",
            },
        ],
    );
    let code = code_of(&create_admin(&node, TENANT, "rejestracja"));
    let Some(browser) = Browser::start() else {
        return;
    };
    let base = node.url();
    activate_and_sign_in_admin(&browser, &node, TENANT, "rejestracja", &code);
    browser.click_link("Rejestr zgód");
    wait_for(&browser, "/admin/consents");
    assert_eq!(browser.text("h1"), "Rejestr zgód");
    assert!(browser.text("main").contains("Brak zgód"));

    // "Udostępnij" on a document of the archive: the form with its patient and the document.
    browser.goto(&format!(
        "{base}/admin/documents/{}",
        urlencoding::encode(&ids[0])
    ));
    browser.click_link("Udostępnij");
    wait_text(&browser, "h1", "Nowa zgoda");
    let ticked =
        |id: &str| browser.exists(&format!("input[type=checkbox][value=\"{id}\"]:checked"));
    assert!(ticked(&ids[0]), "the shared document is ticked");
    assert!(!ticked(&ids[1]) && !ticked(&ids[2]));
    let offered = browser.text("#patient-documents");
    assert!(
        offered.contains("Wynik badania kontrolnego")
            && !offered.contains("Dokument innego pacjenta"),
        "{offered}"
    );
    browser.screenshot("admin-consent-new");

    // Incomplete: the recipient's error beside it, nothing stored.
    browser.fill("#f-purpose", "konsultacja kardiologiczna");
    browser.click("form[method=post] button.primary");
    assert_eq!(
        wait_text(&browser, "#f-recipient-error", "wymagane"),
        "To pole jest wymagane."
    );
    assert!(ticked(&ids[0]), "choices are kept");
    browser.screenshot("admin-consent-new-error");
    let listed = json(&clinic.run_ok(&["consent", "list", "--json"]));
    assert_eq!(
        listed["consents"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );

    browser.fill("#f-recipient", "lek. Piotr Nowak, kardiolog");
    browser.click(&format!("input[type=checkbox][value=\"{}\"]", ids[1]));
    browser.click("form[method=post] button.primary");
    wait_text(&browser, "[role=status]", "zapisana jako szkic");
    assert_eq!(browser.text("#consent .status"), "szkic");
    let page = browser.text("#consent-documents");
    assert!(
        page.contains("Karta informacyjna")
            && page.contains("Wynik badania kontrolnego")
            && !page.contains("nieudostępniany"),
        "{page}"
    );
    browser.screenshot("admin-consent-draft");

    // "Wyślij": the code, once; the patient activates with it on the real portal.
    browser.click("#actions form button.primary");
    let code = wait_text(&browser, "#activation-code", "-");
    // The whole address the patient types, this node's as configured.
    assert!(
        browser.text("#handover").contains(&format!("{base}/portal/activate")),
        "{}",
        browser.text("#handover")
    );
    assert_eq!(code.len(), 19, "{code}");
    assert!(browser
        .text("#consent .status")
        .starts_with("wysłana (obowiązuje)"));
    browser.screenshot("admin-consent-sent");
    let Some(patient) = Portal::new(&node, "patient") else {
        return;
    };
    patient.activate_and_sign_in(TENANT, PESEL_A, &code);
    let shared = patient.documents();
    assert!(
        shared.contains("Karta informacyjna") && shared.contains("Wynik badania kontrolnego"),
        "{shared}"
    );
    assert!(!shared.contains("nieudostępniany"), "{shared}");
    // The page does not show the code again.
    browser.goto(&browser.url());
    assert!(!browser.exists("#activation-code"));

    // The archive marks the consent.
    browser.goto(&format!("{base}/admin/documents?patient={PESEL_A}"));
    let row = browser.text(&format!("tr[data-id=\"{}\"]", ids[0]));
    assert!(
        row.contains("✓\ntak") || row.matches('✓').count() == 2,
        "{row}"
    );
    let unshared = browser.text(&format!("tr[data-id=\"{}\"]", ids[2]));
    assert_eq!(unshared.matches('✓').count(), 1, "{unshared}");

    // Revoked: gone from the portal at once.
    browser.click_link("Rejestr zgód");
    wait_for(&browser, "/admin/consents");
    browser.screenshot("admin-consents");
    browser.click_link("Otwórz");
    wait_text(&browser, "#consent", "lek. Piotr Nowak");
    // Revoking is asked once more, saying what it does.
    browser.click_link("Odwołaj zgodę");
    wait_for(&browser, "/revoke");
    assert_eq!(browser.text("h1"), "Odwołanie zgody");
    assert!(browser.text("main").contains("przestaje widzieć"));
    browser.screenshot("admin-consent-revoke");
    browser.click("#actions form button.danger");
    wait_text(&browser, "[role=status]", "odwołana");
    assert_eq!(browser.text("#consent .status"), "odwołana");
    assert!(
        !browser.exists("#actions form"),
        "nothing more to do with it"
    );
    let shared = patient.documents();
    assert!(!shared.contains("Karta informacyjna"), "{shared}");
    browser.goto(&format!("{base}/admin/consents?patient={PESEL_A}"));
    assert!(browser.text("#consents").contains("odwołana"));
    let entries = super::audited(&node, TENANT);
    for action in [
        "consent.create",
        "consent.send",
        "consent.revoke",
        "consent.list",
        "admin.signin",
    ] {
        super::assert_audited(&entries, "admin:rejestracja", action);
    }
    browser.click_link("English");
    assert_eq!(browser.text("h1"), "Consent register");
    assert!(browser.text("#consents").contains("revoked"));
    browser.resize(390, 844);
    browser.screenshot("admin-consents-phone");
    browser.resize(1280, 800);
}
