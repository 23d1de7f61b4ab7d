//! The clinical record service's operator pages in Chromium: the real `medgate serve --role
//! clinical`, an operator login made with `medgate operator user create` on the service's data
//! folder, signing in at `/operator` (Hungarian by default), an institution refused by its
//! rule and then registered, a unit, a practitioner (the TOTP secret shown once with its QR
//! code) and a certificate issued (the PKCS#12 link and its one-time code), then English
//! (screenshots in both). Every page and refusal is tested in process,
//! `crates/medgate-server/tests/clinical/operator_pages.rs`.

use super::{create_operator, wait_for, wait_text, STAFF_PASSWORD};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};

#[test]
fn web_clinical_service_operator_registers_an_institution_in_chromium() {
    let Some(service) = Node::start_with(Backend::Sqlite, &["--role", "clinical"]) else {
        return;
    };
    create_operator(&service, "eszter");
    let Some(browser) = Browser::start() else {
        return;
    };
    let base = service.url();

    browser.goto(&format!("{base}/operator"));
    assert_eq!(browser.text("h1"), "Bejelentkezés");
    assert!(
        !browser.source().contains("<script"),
        "no scripts on the pages"
    );
    browser.screenshot("clinical-operator-sign-in-hu");
    browser.fill("#f-login", "eszter");
    browser.fill("#f-password", STAFF_PASSWORD);
    browser.click("button[type=submit]");
    wait_for(&browser, "/operator/institutions");
    assert_eq!(browser.text("h1"), "Intézmények");

    // An institution id of five digits is refused naming the rule; six are registered.
    browser.fill("#f-id", "50609");
    browser.fill("#f-name", "Mosoly Fogászat Kft.");
    browser.click("#add-institution button[type=submit]");
    wait_text(&browser, "[role=alert]", "pontosan 6 számjegy");
    browser.screenshot("clinical-operator-institution-refused-hu");
    browser.fill("#f-id", "506097");
    browser.click("#add-institution button[type=submit]");
    wait_for(&browser, "/operator/institutions/506097?done=saved");
    assert!(browser.text("h1").contains("506097 – Mosoly Fogászat Kft."));
    browser.fill("#f-unit", "001044299");
    browser.fill("#f-unit_name", "Fogászati rendelő");
    browser.click("#add-unit button[type=submit]");
    wait_for(&browser, "/operator/institutions/506097?done=saved");
    assert!(browser.text("#units").contains("001044299"));

    // A certificate: the PKCS#12 link and its one-time code, once.
    browser.click("#issue-certificate button[type=submit]");
    wait_text(&browser, "h1", "Kiadott tanúsítvány");
    assert!(browser.exists("#pkcs12"));
    assert_eq!(
        browser.text("#one-time-code").len(),
        19,
        "a code as K7QM-2XWD-9RTB-HC4N"
    );
    browser.screenshot("clinical-operator-certificate-hu");

    // A practitioner: the TOTP secret as otpauth URI and QR code.
    browser.click_link("Egészségügyi dolgozók");
    wait_text(&browser, "h1", "Egészségügyi dolgozók");
    browser.fill("#f-user_name", "dr.kovacs");
    browser.fill("#f-name", "Dr. Kovács Anna");
    browser.fill("#f-stamp_number", "58012");
    browser.fill("#f-password", "korrekt ló elem kapocs");
    browser.click("#add-practitioner button[type=submit]");
    wait_text(&browser, "h1", "Egészségügyi dolgozó nyilvántartva");
    assert!(browser
        .text("#otpauth")
        .starts_with("otpauth://totp/medgate:dr.kovacs?secret="));
    assert!(browser.exists("#totp-qr svg"));
    browser.screenshot("clinical-operator-practitioner-hu");

    // English.
    browser.click_link("English");
    wait_text(&browser, "h1", "Practitioners");
    assert!(browser.text("#practitioners").contains("58012"));
    browser.screenshot("clinical-operator-practitioners-en");
    browser.goto(&format!("{base}/operator/institutions/506097"));
    assert!(browser.text("h1").contains("Institution 506097"));
    assert!(browser
        .text("#connection-state")
        .contains("not verified yet"));
    browser.resize(1280, 1900);
    browser.screenshot("clinical-operator-institution-en");
}
