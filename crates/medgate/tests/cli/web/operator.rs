//! The operator's pages: the accounts with plan, usage and status; an account created,
//! its plan changed, suspended and resumed; an administrator login created with a one-time
//! code that then works; the certificates of all accounts by expiry. Checked against the
//! operator's CLI (`medgate tenant show --json`) and an administrator's own session.

use serde_json::Value;

use super::{create_operator, wait_for, wait_text, StaffClient, STAFF_PASSWORD};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};

const ENROLLED: &str = "0000000000009070";
const NEW: &str = "0000000000009071";

fn show(node: &Node, id: &str) -> Value {
    serde_json::from_str(&node.tenant(&["show", id, "--json"])).expect("tenant JSON")
}

#[test]
fn web_operator_creates_and_manages_accounts_in_chromium() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    node.enroll(ENROLLED, 10, 100);
    create_operator(&node, "olek");
    let Some(browser) = Browser::start() else {
        return;
    };
    let base = node.url();
    browser.goto(&format!("{base}/operator"));
    browser.fill("#f-login", "olek");
    browser.fill("#f-password", STAFF_PASSWORD);
    browser.click("button[type=submit]");
    wait_for(&browser, "/operator/tenants");
    assert_eq!(browser.text("h1"), "Konta placówek");
    let row = browser.text(&format!("tr[data-id=\"{ENROLLED}\"]"));
    assert!(
        row.contains("Aktywowane") && row.contains("z 10 MB") && row.contains("0 z 100"),
        "{row}"
    );
    browser.screenshot("operator-tenants");

    // A new account: a bad id is named beside the field, then created.
    browser.click_link("Utwórz konto");
    wait_text(&browser, "h1", "Utwórz konto");
    browser.fill("#f-id", "12345");
    browser.fill("#f-quota_mb", "100");
    browser.fill("#f-max_files", "500");
    browser.click("form button.primary");
    assert_eq!(
        wait_text(&browser, "#f-id-error", "16"),
        "Podaj 16 cyfr ID konta."
    );
    browser.screenshot("operator-tenant-new-error");
    browser.fill("#f-id", NEW);
    browser.click("form button.primary");
    wait_for(&browser, &format!("/operator/tenants/{NEW}?done=created"));
    let shown = show(&node, NEW);
    assert_eq!(shown["status"], "created");
    assert_eq!(shown["quota_mb"], 100);
    assert_eq!(shown["max_files"], 500);
    browser.screenshot("operator-tenant");
    // What a new account needs first (its administrator) comes before suspending it.
    let page = browser.source();
    let admins_form = page.find(&format!("action=\"/operator/tenants/{NEW}/admins\"")).unwrap();
    let suspend = page.find(&format!("action=\"/operator/tenants/{NEW}/suspend\"")).unwrap();
    assert!(admins_form < suspend, "the red button is not the first thing offered");

    // An administrator login: the code works once, for this account only.
    browser.fill("#f-login", "Kierownik");
    browser.click(&format!(
        "form[action=\"/operator/tenants/{NEW}/admins\"] button"
    ));
    let code = wait_text(&browser, "#activation-code", "-");
    assert!(
        browser.text("#handover").contains(&format!("{base}/admin/activate")),
        "{}",
        browser.text("#handover")
    );
    assert!(browser.text("#admins").contains("kierownik"));
    assert!(browser.text("#admins").contains("czeka na aktywację"));
    browser.screenshot("operator-admin-code");
    let admin = StaffClient::new(&node, "new-admin").expect("curl");
    admin.activate_admin(NEW, "kierownik", &code);
    admin.sign_in_admin(NEW, "kierownik");
    let panel = admin.get("/admin/account").text();
    assert!(
        panel.contains("Nieaktywowane") && panel.contains(NEW),
        "not activated yet"
    );
    // Its other pages wait for the account's activation, as the API does, and say so in
    // the page's language with the menu and the way to the activation.
    let waiting = admin.get("/admin/documents");
    assert_eq!(waiting.status, 403);
    let page = waiting.text();
    assert!(page.contains("Konto nie jest jeszcze aktywne"), "{page}");
    assert!(page.contains("href=\"/admin/account/certificates\""), "{page}");
    assert!(page.contains("class=\"tabs\""), "the desk's menu: {page}");

    // Plan, suspension, resumption.
    browser.goto(&format!("{base}/operator/tenants/{NEW}"));
    browser.fill("#f-quota_mb", "250");
    browser.click(&format!(
        "form[action=\"/operator/tenants/{NEW}/plan\"] button"
    ));
    wait_for(&browser, "?done=plan");
    assert_eq!(show(&node, NEW)["quota_mb"], 250);
    browser.click("#actions button.danger");
    wait_for(&browser, "?done=suspended");
    assert_eq!(show(&node, NEW)["status"], "suspended");
    assert!(admin.get("/admin/account").text().contains("Zawieszone"));
    browser.click("#actions button.primary");
    wait_for(&browser, "?done=resumed");
    assert_eq!(
        show(&node, NEW)["status"],
        "created",
        "never activated: back to waiting"
    );

    // Disabling the login signs the administrator out at once.
    browser.click("tr[data-login=kierownik] button.danger");
    wait_for(&browser, "?done=login");
    assert!(browser.text("#admins").contains("wyłączony"));
    assert_eq!(admin.get("/admin/account").status, 303);

    // Certificates of all accounts by expiry.
    browser.click_link("Wygasające certyfikaty");
    wait_for(&browser, "/operator/certificates");
    assert!(browser
        .text("main")
        .contains("Żaden certyfikat nie wygasa w ciągu 30 dni"));
    browser.goto(&format!("{base}/operator/certificates?days=3650"));
    let listed = browser.text("#expiring");
    assert!(
        listed.contains(ENROLLED) && listed.contains("TLS") && listed.contains("WSS"),
        "{listed}"
    );
    browser.screenshot("operator-certificates");

    let entries = super::audited(&node, NEW);
    for action in [
        "tenant.create",
        "tenant.plan",
        "tenant.suspend",
        "tenant.resume",
        "admin_user.create",
        "admin_user.disable",
    ] {
        super::assert_audited(&entries, "operator:olek", action);
    }
    super::assert_audited(&entries, "admin:kierownik", "admin.signin");

    // Unknown accounts: 404. English.
    browser.goto(&format!("{base}/operator/tenants/0000000000009999"));
    assert_eq!(browser.text("h1"), "Nie znaleziono");
    browser.goto(&format!("{base}/operator/tenants"));
    browser.click_link("English");
    assert_eq!(browser.text("h1"), "Clinic accounts");
    browser.resize(390, 844);
    browser.screenshot("operator-tenants-phone");
    browser.resize(1280, 800);
}
