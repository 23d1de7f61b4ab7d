//! Self-service certificate requests in Chromium: the operator allows them; a CSR of another
//! account is refused beside the field; the operator issues the queued request with the
//! node's CA; the administrator downloads the certificate, the clinic's system registers it
//! (`client update-certs`) and the account panel then shows its serial. The refusals a
//! browser would not show (off until allowed, another account's administrator's download,
//! a forged decision, a rejection's reason) are tested in process in
//! `crates/medgate-server/tests/pages/certificates.rs`.

use std::path::Path;

use super::{admin_client, create_operator, wait_for, wait_text, STAFF_PASSWORD};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};
use crate::support::run_ok;

const TENANT: &str = "0000000000009080";
const OTHER: &str = "0000000000009081";

fn csrs(node: &Node, tenant: &str, name: &str) -> std::path::PathBuf {
    let dir = node.dir.path().join(name);
    let password = node.dir.path().join(format!("{name}.password"));
    std::fs::write(&password, "csr-key-secret\n").unwrap();
    let s = |p: &Path| p.to_string_lossy().into_owned();
    run_ok(&[
        "pki",
        "csr",
        "--tenant",
        tenant,
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
        &s(&password),
    ]);
    dir
}

fn sign_in(browser: &Browser, node: &Node, desk: &str, tenant: Option<&str>, login: &str) {
    browser.goto(&format!("{}/{desk}", node.url()));
    if let Some(tenant) = tenant {
        browser.fill("#f-tenant", tenant);
    }
    browser.fill("#f-login", login);
    browser.fill("#f-password", STAFF_PASSWORD);
    browser.click("button[type=submit]");
}

#[test]
fn web_certificate_requests_are_uploaded_issued_downloaded_and_registered() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(TENANT, 10, 100);
    create_operator(&node, "olek");
    let Some(admin) = admin_client(&node, TENANT, "it") else {
        return;
    };
    let fresh = csrs(&node, TENANT, "renewal");
    let foreign = csrs(&node, OTHER, "foreign");
    let tls_csr = std::fs::read_to_string(fresh.join("tls.csr")).unwrap();

    let Some(browser) = Browser::start() else {
        return;
    };
    sign_in(&browser, &node, "operator", None, "olek");
    wait_for(&browser, "/operator/tenants");
    browser.goto(&format!("{}/operator/tenants/{TENANT}", node.url()));
    browser.click("#self-service + .actions button");
    wait_for(&browser, "?done=self-service");
    assert_eq!(
        browser.text("#self-service"),
        "Administratorzy tego konta mogą przesyłać żądania CSR na panelu konta."
    );
    browser.click("header form button");

    // The administrator: another account's CSR is refused beside the field; ours is queued.
    sign_in(&browser, &node, "admin", Some(TENANT), "it");
    wait_for(&browser, "/admin/account");
    browser.click_link("Wnioski o certyfikaty (CSR)");
    wait_text(&browser, "h1", "Wnioski o certyfikaty");
    browser.fill(
        "#f-csr",
        &std::fs::read_to_string(foreign.join("tls.csr")).unwrap(),
    );
    browser.click("form button.primary");
    let error = wait_text(&browser, "#f-csr-error", "CN=");
    assert!(error.contains(&format!("CN={TENANT} TLS")), "{error}");
    browser.screenshot("admin-certificate-request-error");
    browser.fill("#f-csr", &tls_csr);
    browser.click("form button.primary");
    wait_text(&browser, "[role=status]", "przekazany operatorowi");
    assert!(browser.text("#requests").contains("oczekuje"));
    browser.screenshot("admin-certificate-requests");
    browser.click("header form button");

    // The operator issues it.
    sign_in(&browser, &node, "operator", None, "olek");
    wait_for(&browser, "/operator/tenants");
    browser.click_link("Wnioski o certyfikaty");
    wait_for(&browser, "/operator/certificate-requests");
    let queued = browser.text("#pending");
    assert!(
        queued.contains(TENANT) && queued.contains("TLS") && queued.contains("ECDSA P-256"),
        "{queued}"
    );
    browser.screenshot("operator-certificate-requests");
    browser.click("#pending button.primary");
    wait_for(&browser, "?done=issued");
    assert!(browser.text("main").contains("Żaden wniosek nie czeka"));

    // Downloaded by the administrator, registered by the clinic's system.
    let listing = admin.get("/admin/certificate-requests").text();
    let start = listing
        .find("/admin/certificate-requests/")
        .expect("download link");
    let link: String = listing[start..].chars().take_while(|c| *c != '"').collect();
    let pem = admin.get(&link);
    assert_eq!(pem.status, 200);
    let text = pem.text();
    assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{text}");
    let certificate = clinic.dir.join("renewed-tls.pem");
    std::fs::write(&certificate, &text).unwrap();
    let inspected = run_ok(&["pki", "inspect", &certificate.to_string_lossy()]);
    let serial = inspected
        .lines()
        .find_map(|line| line.trim().strip_prefix("serial:"))
        .map(|s| s.trim().to_owned())
        .expect("serial");
    assert!(
        inspected.contains(&format!("CN={TENANT} TLS")),
        "{inspected}"
    );
    clinic.run_ok(&[
        "update-certs",
        "--new-tls-cert",
        &certificate.to_string_lossy(),
    ]);
    let panel = admin.get("/admin/account").text();
    assert!(
        panel.contains(&serial),
        "the panel shows the new TLS serial {serial}"
    );
    let entries = super::audited(&node, TENANT);
    super::assert_audited(&entries, "admin:it", "certificate_request.submit");
    super::assert_audited(&entries, "admin:it", "certificate_request.download");
    super::assert_audited(&entries, "operator:olek", "certificate_request.issue");
    super::assert_audited(&entries, "operator:olek", "tenant.csr_self_service.enable");
}
