//! The fund operator's pages of a claims node in Chromium: the real `medgate serve --role
//! claims`, an operator login made with `medgate operator user create`, signing in at
//! `/operator` (Russian by default): an MO refused by its code then registered, a period
//! opened, a login's new one-time link, an MO system's certificate issued (its PKCS#12 offered
//! once, its one-time code beside it) and one revoked; then the same
//! pages in English; a screenshot of each. Every refusal is tested in process
//! (`crates/medgate-server/tests/claims_operator.rs`).

use super::{create_operator, wait_for, wait_text, STAFF_PASSWORD};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};
use crate::support::run_ok;

fn claims(node: &Node, args: &[&str]) -> String {
    let mut all: Vec<String> = vec!["claims".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(node.store_args());
    run_ok(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn web_claims_fund_operator_keeps_the_registry_in_chromium() {
    let node = Node::start_with(Backend::Sqlite, &["--role", "claims"])
        .expect("SQLite is always available");
    create_operator(&node, "fond");
    claims(
        &node,
        &["smo", "add", "--code", "14002", "--name", "АО «СОГАЗ-Мед»"],
    );
    let Some(browser) = Browser::start() else {
        return;
    };
    let base = node.url();

    browser.goto(&format!("{base}/operator"));
    assert!(
        !browser.source().contains("<script"),
        "no scripts on the pages"
    );
    browser.screenshot("claims-operator-sign-in-ru");
    browser.fill("#f-login", "fond");
    browser.fill("#f-password", STAFF_PASSWORD);
    browser.click("button[type=submit]");
    wait_for(&browser, "/operator/registry");
    assert_eq!(browser.text("h1"), "Справочники фонда");

    // An MO code of five digits is refused naming the rule; six are registered.
    browser.fill("#f-mo_code", "14001");
    browser.fill("#f-mo_name", "Городская больница № 1");
    browser.click("#add-mo button[type=submit]");
    let refused = wait_text(&browser, "main", "Отклонено");
    assert!(refused.contains("нужно 6 цифр"), "{refused}");
    browser.screenshot("claims-operator-refused-ru");
    browser.fill("#f-mo_code", "140001");
    browser.fill("#f-mo_name", "Городская больница № 1");
    browser.click("#add-mo button[type=submit]");
    wait_for(&browser, "/operator/registry?done=saved");
    browser.fill("#f-mo", "140001");
    browser.fill("#f-subdivision_code", "01");
    browser.fill("#f-subdivision_name", "Детская поликлиника");
    browser.click("#add-subdivision button[type=submit]");
    wait_for(&browser, "/operator/registry?done=saved");
    browser.fill("#f-period", "2025-01");
    browser.click("#open-period button[type=submit]");
    wait_for(&browser, "/operator/registry?done=saved");
    let main = browser.text("main");
    assert!(
        main.contains("Детская поликлиника") && main.contains("открыт"),
        "{main}"
    );
    browser.screenshot("claims-operator-registry-ru");

    // A login's new one-time link, shown once.
    claims(
        &node,
        &[
            "user",
            "add",
            "--mo",
            "140001",
            "--role",
            "head",
            "--name",
            "Сидоров С. С.",
        ],
    );
    browser.goto(&format!("{base}/operator/logins"));
    browser.click("#logins button[type=submit]");
    let shown = wait_text(&browser, "main", "Новая одноразовая ссылка");
    assert!(shown.contains("M140001_3"), "{shown}");
    assert!(browser
        .text("#one-time-link")
        .contains("/claims/link?token="));
    browser.screenshot("claims-operator-logins-ru");

    // An MO system's certificate revoked with one button.
    let out = node
        .dir
        .path()
        .join("mis.p12")
        .to_string_lossy()
        .into_owned();
    claims(
        &node,
        &[
            "mo",
            "certificate",
            "issue",
            "--mo",
            "140001",
            "--out",
            &out,
        ],
    );
    browser.goto(&format!("{base}/operator/certificates"));
    browser.screenshot("claims-operator-certificates-ru");

    // An MO system's certificate issued on the page: the PKCS#12 offered once, its code beside.
    browser.fill("#f-mo", "140001");
    browser.fill("#f-subdivision", "01");
    browser.fill("#f-days", "90");
    browser.click("#issue-certificate button[type=submit]");
    let issued = wait_text(&browser, "main", "Скачать файл PKCS#12");
    assert!(issued.contains("140001/01"), "{issued}");
    assert_eq!(browser.text("#one-time-code").len(), 19);
    browser.screenshot("claims-operator-certificate-issued-ru");
    browser.goto(&format!("{base}/operator/certificates"));
    browser.click("#certificates tr:first-child button[type=submit]");
    wait_for(&browser, "/operator/certificates?done=saved");
    assert!(
        browser.text("main").contains("отозван"),
        "{}",
        browser.text("main")
    );
    browser.screenshot("claims-operator-revoked-ru");

    // The same pages in English.
    browser.click_link("English");
    assert!(
        browser.text("main").contains("revoked"),
        "{}",
        browser.text("main")
    );
    browser.screenshot("claims-operator-certificates-en");
    browser.fill("#f-mo", "140001");
    browser.fill("#f-days", "30");
    browser.click("#issue-certificate button[type=submit]");
    let issued = wait_text(&browser, "main", "Download the PKCS#12 file");
    assert!(issued.contains("valid until"), "{issued}");
    browser.screenshot("claims-operator-certificate-issued-en");
    browser.goto(&format!("{base}/operator/registry"));
    assert_eq!(browser.text("h1"), "The fund's registry");
    browser.screenshot("claims-operator-registry-en");
    browser.goto(&format!("{base}/operator/logins"));
    browser.screenshot("claims-operator-logins-en");
}
