//! The document types page: settings changed in the browser are what the API then lists; a
//! retention out of range is refused beside its field and nothing is written.

use serde_json::Value;

use super::{activate_and_sign_in_admin, code_of, create_admin, wait_for, wait_text};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Clinic, Node};

const TENANT: &str = "0000000000009040";

fn policy(clinic: &Clinic, code: &str) -> Value {
    let answer: Value =
        serde_json::from_str(&clinic.run_ok(&["types", "list", "--json"])).expect("types JSON");
    answer["types"]
        .as_array()
        .expect("types")
        .iter()
        .find(|entry| entry["code"] == code)
        .cloned()
        .unwrap_or_else(|| panic!("no type {code} in {answer}"))
}

#[test]
fn web_document_types_are_edited_and_the_api_agrees() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(TENANT, 10, 100);
    let code = code_of(&create_admin(&node, TENANT, "it"));
    let Some(browser) = Browser::start() else {
        return;
    };
    activate_and_sign_in_admin(&browser, &node, TENANT, "it", &code);
    browser.click_link("Rodzaje dokumentów");
    wait_for(&browser, "/admin/document-types");
    assert_eq!(browser.text("h1"), "Rodzaje dokumentów");
    assert_eq!(
        browser.text("#name-KIF"),
        "Karta informacyjna leczenia szpitalnego"
    );
    assert!(
        browser.exists("#archive-KIF:checked") && !browser.exists("#archive-REC:checked"),
        "the seed's defaults: e-prescriptions are not archived automatically"
    );
    // In English, the types' names are English too.
    browser.click_link("English");
    assert_eq!(browser.text("#name-KIF"), "Hospital discharge card");
    assert_eq!(browser.text("#name-REC"), "Prescription (e-prescription)");
    browser.screenshot("admin-document-types-en");
    browser.click_link("Polski");
    browser.screenshot("admin-document-types");

    // KIF: no longer automatic, 14 days; REC: automatic; ILK: out of range.
    browser.click("#archive-KIF");
    browser.fill("#keep-KIF", "14");
    browser.click("#archive-REC");
    browser.fill("#keep-ILK", "99999");
    browser.click("button.primary");
    let error = wait_text(&browser, "#keep-ILK-error", "dni");
    assert_eq!(error, "Podaj liczbę dni od 0 do 3650.");
    assert!(
        !browser.exists("#archive-KIF:checked"),
        "what was chosen is kept"
    );
    assert_eq!(
        policy(&clinic, "KIF")["archive_automatically"],
        true,
        "nothing written"
    );
    browser.screenshot("admin-document-types-error");

    browser.fill("#keep-ILK", "7");
    browser.click("button.primary");
    wait_for(&browser, "/admin/document-types?saved=3");
    assert!(browser.text("main").contains("Zapisano zmiany (3)"));
    let kif = policy(&clinic, "KIF");
    assert_eq!(kif["archive_automatically"], false, "{kif}");
    assert_eq!(kif["keep_local_days"], 14, "{kif}");
    assert_eq!(kif["overridden"], true);
    assert_eq!(policy(&clinic, "REC")["archive_automatically"], true);
    assert_eq!(policy(&clinic, "ILK")["keep_local_days"], 7);
    assert_eq!(
        policy(&clinic, "ZBD")["overridden"],
        false,
        "untouched rows stay default"
    );

    let entries = super::audited(&node, TENANT);
    let updates = entries
        .iter()
        .filter(|(actor, action)| actor == "admin:it" && action == "document_type.update")
        .count();
    assert_eq!(updates, 3, "one entry per changed type: {entries:?}");

    // Saving again without changes writes nothing.
    browser.click("button.primary");
    wait_for(&browser, "/admin/document-types?saved=0");
    browser.resize(390, 844);
    browser.screenshot("admin-document-types-phone");
    browser.resize(1280, 800);
}
