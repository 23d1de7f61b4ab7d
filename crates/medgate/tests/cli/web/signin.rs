//! Signing in to the staff desks: activation with the one-time code, sign-in and sign-out in
//! Chromium, the language switch; and the commands that make staff logins (`client
//! admin-user`, `tenant admin-user`, `operator user`) with what they print. The lock-out,
//! forged forms, a login tried at another tenant, a disabled login signed out at once and
//! forty sign-ins at once are tested in process in
//! `crates/medgate-server/tests/pages/signin.rs`.

use super::{
    activate_and_sign_in_admin, code_of, create_admin, create_operator, operator_command, wait_for,
    wait_text, STAFF_PASSWORD,
};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};

const TENANT: &str = "0000000000009010";

#[test]
fn web_staff_sign_in_activation_and_language_in_chromium() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    node.enroll(TENANT, 10, 100);
    let answer = create_admin(&node, TENANT, "Anna.Admin");
    assert_eq!(
        answer["login"], "anna.admin",
        "logins are lower-cased: {answer}"
    );
    assert_eq!(answer["state"], "awaiting activation", "{answer}");
    assert_eq!(answer["activate_path"], "/admin/activate");
    let code = code_of(&answer);

    let Some(browser) = Browser::start() else {
        return;
    };
    let base = node.url();
    browser.goto(&format!("{base}/admin"));
    assert_eq!(browser.text("h1"), "Logowanie");
    assert!(
        !browser.source().contains("<script"),
        "no scripts on the pages"
    );
    browser.screenshot("admin-sign-in");

    // Activation: a mismatched repetition is named beside its field, nothing is spent.
    browser.goto(&format!("{base}/admin/activate"));
    assert_eq!(browser.text("h1"), "Aktywacja konta użytkownika");
    browser.fill("#f-tenant", TENANT);
    browser.fill("#f-login", "anna.admin");
    browser.fill("#f-code", &code);
    browser.fill("#f-password", STAFF_PASSWORD);
    browser.fill("#f-password2", "something else entirely");
    browser.click("button[type=submit]");
    wait_text(&browser, "#f-password2-error", "różni się");
    browser.screenshot("admin-activate-error");
    activate_and_sign_in_admin(&browser, &node, TENANT, "anna.admin", &code);
    assert_eq!(browser.text("h1"), "Zarządzanie kontem");
    assert!(browser
        .text("header")
        .contains("anna.admin · 0000000000009010"));

    // The code is spent.
    browser.click("header form button");
    wait_for(&browser, "/admin?notice=signed-out");
    assert!(browser.text("[role=status]").contains("Wylogowano"));
    browser.goto(&format!("{base}/admin/activate"));
    browser.fill("#f-tenant", TENANT);
    browser.fill("#f-login", "anna.admin");
    browser.fill("#f-code", &code);
    browser.fill("#f-password", "Another password 2025");
    browser.fill("#f-password2", "Another password 2025");
    browser.click("button[type=submit]");
    wait_text(&browser, "[role=alert]", "Aktywacja nie powiodła się");

    // After sign-out the desk's pages lead back to the sign-in form.
    browser.goto(&format!("{base}/admin/account"));
    wait_for(&browser, "/admin");

    // The language switch, remembered for the next pages.
    browser.click_link("English");
    assert_eq!(browser.text("h1"), "Sign in");
    assert!(browser.text("label[for=f-tenant]").contains("Account id"));
    browser.goto(&format!("{base}/admin/activate"));
    assert_eq!(browser.text("h1"), "Activate your login");
    browser.screenshot("admin-activate-en");
    browser.click_link("Polski");
    assert_eq!(browser.text("h1"), "Aktywacja konta użytkownika");

    // The operator's desk.
    create_operator(&node, "olek");
    browser.goto(&format!("{base}/operator"));
    assert_eq!(browser.text("h1"), "Logowanie");
    assert!(!browser.exists("#f-tenant"), "operators name no tenant");
    browser.screenshot("operator-sign-in");
    browser.fill("#f-login", "olek");
    browser.fill("#f-password", STAFF_PASSWORD);
    browser.click("button[type=submit]");
    wait_for(&browser, "/operator/tenants");
}

/// The logins' commands: the clinic's system makes one through the API (`client admin-user
/// create`, JSON and text), the operator disables and lists them (`tenant admin-user`), and
/// makes and lists operators (`operator user`, a password from a file: no code).
#[test]
fn staff_login_commands_print_codes_and_states() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll("0000000000009012", 10, 100);
    let answer: serde_json::Value = serde_json::from_str(&clinic.run_ok(&[
        "admin-user",
        "create",
        "--login",
        "Informatyk",
        "--json",
    ]))
    .expect("JSON");
    assert_eq!(answer["login"], "informatyk", "{answer}");
    assert_eq!(answer["activate_path"], "/admin/activate");
    code_of(&answer);
    let text = clinic.run_ok(&["admin-user", "create", "--login", "drugi"]);
    assert!(
        text.contains("/admin/activate") && text.contains("activation code:"),
        "{text}"
    );
    let refused = clinic.run_fails(&["admin-user", "create", "--login", "informatyk"]);
    assert!(refused.contains("409 login_exists"), "{refused}");

    node.tenant(&["admin-user", "disable", "0000000000009012", "--login", "drugi"]);
    let listed = node.tenant(&["admin-user", "list", "0000000000009012"]);
    let line = |login: &str| {
        listed
            .lines()
            .find(|line| line.starts_with(login))
            .unwrap_or_else(|| panic!("{login} not listed: {listed}"))
            .to_owned()
    };
    assert!(line("drugi").contains("disabled"), "{listed}");
    assert!(line("informatyk").contains("awaiting activation"), "{listed}");

    create_operator(&node, "olek");
    let listed = operator_command(&node, &["list"]);
    assert!(
        listed.contains("olek") && listed.contains("active"),
        "{listed}"
    );
}
