//! Signing in to the staff desks: activation with the one-time code, sign-in and sign-out in
//! Chromium, the language switch; with curl, the lock-out after five failures (whether or not
//! the login exists), forged forms, a login of one tenant tried at another, and a disabled
//! login signed out at once.

use super::{
    activate_and_sign_in_admin, code_of, create_admin, create_operator, operator_command, wait_for,
    wait_text, STAFF_PASSWORD,
};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};
use crate::repository::portal::Portal;

const TENANT: &str = "0000000000009010";
const OTHER_TENANT: &str = "0000000000009011";

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

#[test]
fn web_staff_sign_in_locks_out_and_refuses_forged_forms() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    node.create_tenant(TENANT, 10, 100);
    node.create_tenant(OTHER_TENANT, 10, 100);
    let Some(staff) = Portal::new(&node, "staff") else {
        return;
    };
    let code = code_of(&create_admin(&node, TENANT, "boss"));
    let token = staff.token("/admin/activate");
    let activated = staff.post(
        "/admin/activate",
        &[
            ("csrf", &token),
            ("tenant", TENANT),
            ("login", "boss"),
            ("code", &code),
            ("password", STAFF_PASSWORD),
            ("password2", STAFF_PASSWORD),
        ],
        &[],
    );
    assert_eq!(activated.status, 303, "{}", activated.body);
    let sign_in = |tenant: &str, login: &str, password: &str| {
        let token = staff.token("/admin");
        staff.post(
            "/admin",
            &[
                ("csrf", &token),
                ("tenant", tenant),
                ("login", login),
                ("password", password),
            ],
            &[],
        )
    };

    // Forged forms: no token, a wrong token, another site's origin.
    let refused = staff.post(
        "/admin",
        &[
            ("tenant", TENANT),
            ("login", "boss"),
            ("password", STAFF_PASSWORD),
        ],
        &[],
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    let refused = staff.post(
        "/admin",
        &[
            ("csrf", &"0".repeat(64)),
            ("tenant", TENANT),
            ("login", "boss"),
            ("password", STAFF_PASSWORD),
        ],
        &[],
    );
    assert_eq!(refused.status, 403);
    let token = staff.token("/admin");
    let refused = staff.post(
        "/admin",
        &[
            ("csrf", &token),
            ("tenant", TENANT),
            ("login", "boss"),
            ("password", STAFF_PASSWORD),
        ],
        &["Origin: https://evil.example", "Sec-Fetch-Site: cross-site"],
    );
    assert_eq!(refused.status, 403);

    // The right login at another tenant is not an account there.
    let wrong_tenant = sign_in(OTHER_TENANT, "boss", STAFF_PASSWORD);
    assert_eq!(wrong_tenant.status, 401, "{}", wrong_tenant.body);

    // Five failures lock the identity, even against the right password; a login that does
    // not exist is locked in the same words.
    for attempt in 1..=4 {
        let failed = sign_in(TENANT, "boss", "wrong password!");
        assert_eq!(failed.status, 401, "attempt {attempt}");
        assert!(
            failed.body.contains("Nie udało się zalogować"),
            "{}",
            failed.body
        );
    }
    let locked = sign_in(TENANT, "boss", "wrong password!");
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(
        locked.body.contains("Zbyt wiele nieudanych prób"),
        "{}",
        locked.body
    );
    let still = sign_in(TENANT, "boss", STAFF_PASSWORD);
    assert_eq!(
        still.status, 429,
        "the right password does not lift the lock"
    );
    for _ in 1..=5 {
        sign_in(TENANT, "ghost", "whatever password");
    }
    let ghost = sign_in(TENANT, "ghost", "whatever password");
    assert_eq!(ghost.status, 429);
    let locked_text = |body: &str| {
        body.split("role=\"alert\">")
            .nth(1)
            .unwrap_or("")
            .split(" (")
            .next()
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(locked_text(&ghost.body), locked_text(&still.body));

    // Another administrator, signed in, is signed out at once when disabled.
    let answer = create_admin(&node, TENANT, "second");
    let second = Portal::new(&node, "second").expect("curl");
    let token = second.token("/admin/activate");
    let code = code_of(&answer);
    second.post(
        "/admin/activate",
        &[
            ("csrf", &token),
            ("tenant", TENANT),
            ("login", "second"),
            ("code", &code),
            ("password", STAFF_PASSWORD),
            ("password2", STAFF_PASSWORD),
        ],
        &[],
    );
    let token = second.token("/admin");
    let signed = second.post(
        "/admin",
        &[
            ("csrf", &token),
            ("tenant", TENANT),
            ("login", "second"),
            ("password", STAFF_PASSWORD),
        ],
        &[],
    );
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(second.get("/admin/account").status, 200);
    // An administrator's session opens no operator page.
    let operator_page = second.get("/operator/tenants");
    assert_eq!(operator_page.status, 303);
    assert!(operator_page
        .location()
        .unwrap_or_default()
        .starts_with("/operator"));
    assert_eq!(
        second.get("/admin/account").status,
        200,
        "the administrator's own session goes on"
    );
    node.tenant(&["admin-user", "disable", TENANT, "--login", "second"]);
    let after = second.get("/admin/account");
    assert_eq!(after.status, 303);
    assert_eq!(after.location().as_deref(), Some("/admin?notice=expired"));
    let listed = node.tenant(&["admin-user", "list", TENANT]);
    assert!(
        listed.contains("second") && listed.contains("disabled"),
        "{listed}"
    );

    // Operators: a password file sets the password; no code is shown.
    create_operator(&node, "olek");
    let operator = Portal::new(&node, "operator").expect("curl");
    let token = operator.token("/operator");
    let signed = operator.post(
        "/operator",
        &[
            ("csrf", &token),
            ("login", "olek"),
            ("password", STAFF_PASSWORD),
        ],
        &[],
    );
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location().as_deref(), Some("/operator/tenants"));
    let listed = operator_command(&node, &["list"]);
    assert!(
        listed.contains("olek") && listed.contains("active"),
        "{listed}"
    );
    // An operator's session opens no administrator page.
    assert_eq!(operator.get("/admin/account").status, 303);
}

#[test]
fn web_clinic_system_creates_the_first_administrator_login() {
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
    let code = code_of(&answer);
    let text = clinic.run_ok(&["admin-user", "create", "--login", "drugi"]);
    assert!(
        text.contains("/admin/activate") && text.contains("activation code:"),
        "{text}"
    );
    let refused = clinic.run_fails(&["admin-user", "create", "--login", "informatyk"]);
    assert!(refused.contains("409 login_exists"), "{refused}");
    let refused = clinic.run_fails(&["admin-user", "create", "--login", "zły login"]);
    assert!(refused.contains("400 bad_login"), "{refused}");
    let Some(admin) = super::StaffClient::new(&node, "first") else {
        return;
    };
    admin.activate_admin("0000000000009012", "informatyk", &code);
    admin.sign_in_admin("0000000000009012", "informatyk");
    assert!(admin
        .get("/admin/account")
        .text()
        .contains("0000000000009012"));
    let entries = super::audited(&node, "0000000000009012");
    assert!(
        entries
            .iter()
            .any(|(actor, action)| actor.contains("CN=0000000000009012 TLS")
                && action == "admin_user.create"),
        "{entries:?}"
    );
}

/// Forty sign-ins sent at once, the right password 16th: each attempt is counted before its
/// password is checked, so exactly five passwords are checked (five audited failures), every
/// other attempt gets the lock-out answer, and the right password does not sign in.
#[test]
fn web_parallel_admin_sign_ins_get_at_most_five_checks() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    node.create_tenant(TENANT, 10, 100);
    let Some(staff) = Portal::new(&node, "burst") else {
        return;
    };
    let code = code_of(&create_admin(&node, TENANT, "boss"));
    let token = staff.token("/admin/activate");
    let activated = staff.post(
        "/admin/activate",
        &[
            ("csrf", &token),
            ("tenant", TENANT),
            ("login", "boss"),
            ("code", &code),
            ("password", STAFF_PASSWORD),
            ("password2", STAFF_PASSWORD),
        ],
        &[],
    );
    assert_eq!(activated.status, 303, "{}", activated.body);

    let token = staff.token("/admin");
    let forms: Vec<Vec<(&str, &str)>> = (1..=40)
        .map(|attempt| {
            let password = if attempt == 16 {
                STAFF_PASSWORD
            } else {
                "a wrong guess 2025"
            };
            vec![
                ("csrf", token.as_str()),
                ("tenant", TENANT),
                ("login", "boss"),
                ("password", password),
            ]
        })
        .collect();
    let replies = staff.post_parallel("/admin", &forms);
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    assert_ne!(
        statuses[15], 303,
        "the right password signed in: {statuses:?}"
    );
    assert!(
        replies[15]
            .set_cookies()
            .iter()
            .all(|c| !c.contains("medgate_session=")),
        "no session for the 16th attempt"
    );
    let past_lock = replies
        .iter()
        .filter(|reply| !(reply.status == 429 && reply.body.contains("Zbyt wiele nieudanych prób")))
        .count();
    assert!(
        past_lock <= 5,
        "{past_lock} answers were not the lock-out: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|status| [401, 429].contains(status)),
        "{statuses:?}"
    );
    let failures = super::audited(&node, TENANT)
        .into_iter()
        .filter(|(actor, action)| actor == "admin:boss" && action == "admin.signin.failed")
        .count();
    assert_eq!(failures, 5, "passwords checked: {statuses:?}");

    // Still locked afterwards, for the right password too.
    let after = staff.post(
        "/admin",
        &[
            ("csrf", &token),
            ("tenant", TENANT),
            ("login", "boss"),
            ("password", STAFF_PASSWORD),
        ],
        &[],
    );
    assert_eq!(after.status, 429, "{}", after.body);
}
