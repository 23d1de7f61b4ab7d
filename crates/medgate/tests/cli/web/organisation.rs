//! The organisational structure form: a bad NIP is refused beside its field with everything
//! typed kept and nothing stored; corrected, the structure is stored and is exactly what the
//! API then shows; rows are added without script.

use super::{activate_and_sign_in_admin, code_of, create_admin, wait_for, wait_text};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};

const TENANT: &str = "0000000000009030";

#[test]
fn web_organisation_form_shows_errors_beside_fields_and_stores_what_the_api_shows() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(TENANT, 10, 100);
    let code = code_of(&create_admin(&node, TENANT, "it"));
    let Some(browser) = Browser::start() else {
        return;
    };
    activate_and_sign_in_admin(&browser, &node, TENANT, "it", &code);
    browser.click_link("Struktura organizacyjna");
    wait_for(&browser, "/admin/organisation");
    assert_eq!(browser.text("h1"), "Struktura organizacyjna");
    assert!(browser
        .text("main")
        .contains("nie została jeszcze przekazana"));
    browser.screenshot("admin-organisation");

    let fields = [
        ("provider.name", "Przychodnia Zdrowie Sp. z o.o."),
        ("provider.phone", "178885550"),
        ("provider.regon", "010334578"),
        // The seed's NIP with a wrong check digit (…782 is right).
        ("provider.nip", "5220003781"),
        ("provider.register_code_part_1", "00000025677"),
        ("provider.address.street", "ul. Jana Kilińskiego"),
        ("provider.address.building", "29"),
        ("provider.address.postal_code", "08-110"),
        ("provider.address.city", "Siedlce"),
        ("facilities[0].id", "01"),
        ("facilities[0].name", "Przychodnia (Przychodnia Zdrowie)"),
        ("facilities[0].regon14", "01033457800005"),
        ("facilities[0].nip", "5220003782"),
        ("facilities[0].address.street", "ul. Dubois"),
        ("facilities[0].address.building", "5A"),
        ("facilities[0].address.postal_code", "00-184"),
        ("facilities[0].address.city", "Warszawa"),
        ("units[0].code", "01"),
        ("units[0].name", "Przychodnia"),
        ("units[0].facility", "01"),
        ("units[0].register_code_part_5", "01"),
        ("units[0].register_code_part_7", "001"),
        ("units[0].register_code_part_8", "1810"),
        ("units[0].register_code_part_9", "HC.1.1"),
        ("units[0].register_code_part_10", "115"),
        ("units[0].phone", "178885550"),
        ("units[0].email", "rejestracja@przychodnia.pl"),
    ];
    let id = |name: &str| {
        let cleaned: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("#f-{cleaned}")
    };
    for (name, value) in fields {
        browser.fill(&id(name), value);
    }
    browser.click("button.primary[value=save]");
    let error = wait_text(&browser, "#f-provider-nip-error", "NIP");
    assert_eq!(
        error,
        "To nie jest prawidłowy NIP: potrzeba 10 cyfr ze zgodną cyfrą kontrolną."
    );
    assert!(browser.exists("#f-provider-nip[aria-invalid=true]"));
    assert!(
        browser.text("#errors").contains("Świadczeniodawca › NIP"),
        "the summary links the field"
    );
    assert!(
        !browser.exists("#f-facilities-0--nip-error"),
        "the facility's NIP is right"
    );
    let source = browser.source();
    assert!(
        source.contains("value=\"Przychodnia Zdrowie Sp. z o.o.\""),
        "what was typed is kept"
    );
    browser.screenshot("admin-organisation-error");
    let refused = clinic.run(&["org", "show"]);
    assert!(!refused.status.success(), "nothing was stored");

    // Corrected, and Enter pressed in the field: saved (not "add a facility"), and the API
    // shows it.
    browser.fill("#f-provider-nip", "522-000-37-82\u{E007}");
    wait_for(&browser, "/admin/organisation?saved=1");
    assert!(browser
        .text("main")
        .contains("została przekazana (wersja 1"));
    let shown: serde_json::Value =
        serde_json::from_str(&clinic.run_ok(&["org", "show", "--json"])).expect("org JSON");
    let organisation = &shown["organisation"];
    assert_eq!(organisation["provider"]["nip"], "5220003782", "{shown}");
    assert_eq!(
        organisation["provider"]["name"],
        "Przychodnia Zdrowie Sp. z o.o."
    );
    assert_eq!(organisation["units"][0]["register_code_part_9"], "HC.1.1");
    assert_eq!(organisation["facilities"][0]["address"]["city"], "Warszawa");
    assert_eq!(
        browser.text("#f-provider-nip").len(),
        0,
        "inputs have no text content"
    );
    assert!(
        browser.source().contains("value=\"5220003782\""),
        "the canonical NIP is shown back"
    );
    browser.screenshot("admin-organisation-saved");

    // A second unit, added without script, with an unknown facility and a bad part VIII.
    browser.click("button[value=add-unit]");
    wait_text(&browser, "main", "Komórka organizacyjna 2");
    browser.fill("#f-units-1--code", "02");
    browser.fill("#f-units-1--name", "Poradnia kardiologiczna");
    browser.fill("#f-units-1--facility", "09");
    browser.fill("#f-units-1--register_code_part_5", "01");
    browser.fill("#f-units-1--register_code_part_7", "002");
    browser.fill("#f-units-1--register_code_part_8", "12");
    browser.fill("#f-units-1--register_code_part_9", "HC.1.3");
    browser.fill("#f-units-1--register_code_part_10", "115");
    browser.click("button.primary[value=save]");
    wait_text(&browser, "#f-units-1--facility-error", "Nie ma zakładu");
    assert_eq!(
        browser.text("#f-units-1--register_code_part_8-error"),
        "Ta część kodu resortowego ma dokładnie 4 cyfry."
    );
    browser.fill("#f-units-1--facility", "01");
    browser.fill("#f-units-1--register_code_part_8", "1220");
    browser.click("button.primary[value=save]");
    wait_for(&browser, "/admin/organisation?saved=1");
    let shown: serde_json::Value =
        serde_json::from_str(&clinic.run_ok(&["org", "show", "--json"])).expect("org JSON");
    assert_eq!(shown["revision"], 2);
    assert_eq!(
        shown["organisation"]["units"][1]["name"],
        "Poradnia kardiologiczna"
    );

    let entries = super::audited(&node, TENANT);
    super::assert_audited(&entries, "admin:it", "organisation.update");
    super::assert_audited(&entries, "cli", "admin_user.create");

    // English: the same error in English, with the validator's rule.
    browser.click_link("English");
    browser.fill("#f-provider-regon", "010334577");
    browser.click("button.primary[value=save]");
    let error = wait_text(&browser, "#f-provider-regon-error", "REGON");
    assert!(error.starts_with("This is not a valid REGON"), "{error}");
    browser.screenshot("admin-organisation-error-en");
    browser.click_link("Polski");
}
