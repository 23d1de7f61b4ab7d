//! The account's certificate actions on the administrator's pages, against real peers:
//! activation by uploading the clinic's certificates (a PKCS#12 made by `medgate pki p12` and
//! a bare PEM certificate), after errors shown beside the fields; new certificates issued as
//! PKCS#12 files in a ZIP, opened by Python's `zipfile` and OpenSSL and verified against the
//! node's CA, which the clinic's system then uses while the old ones stop working; national
//! certificates registered with a real registry process and revoked after a confirmation.
//! (Forged uploads are tested in process in `crates/medgate-server/tests/pages/certificates.rs`.)

use std::path::Path;

use medgate_test_peers::require_command;

use super::{
    activate_and_sign_in_admin, admin_client, assert_audited, audited, code_of, create_admin,
    create_operator, wait_for, wait_text, StaffClient,
};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Clinic, Node};
use crate::repository::national::issue_national;
use crate::support::{run_ok, run_peer, run_peer_ok};

const TENANT: &str = "0000000000009100";
const PAGE: &str = "/admin/account/certificates";
const PROVIDER_OID: &str = "2.16.840.1.113883.3.4424.2.7.26";
const KEYSTORE_PASSWORD: &str = "keystore-secret-1";
const ISSUED_PASSWORD: &str = "issued keystore password 2026";

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[test]
fn web_certificates_activate_issue_keystores_and_register_national_ones() {
    let registry = Node::start_registry();
    let Some(node) = Node::start_with(
        Backend::Sqlite,
        &["--registry-url", &registry.url(), "--registry-ca-file", &s(&registry.ca())],
    ) else {
        return;
    };
    let (Some(openssl), Some(python)) = (
        require_command("openssl", "apt-get install openssl"),
        require_command("python3", "apt-get install python3"),
    ) else {
        return;
    };
    node.create_tenant(TENANT, 10, 100);
    let clinic = Clinic::prepare(&node, TENANT);
    let certs = clinic.dir.join("certs");
    let keystore_password = clinic.dir.join("p12-password");
    std::fs::write(&keystore_password, format!("{KEYSTORE_PASSWORD}\n")).unwrap();
    run_ok(&[
        "pki", "p12", "--cert", &s(&certs.join("tls.pem")), "--key", &s(&certs.join("tls.key")),
        "--key-password-file", &clinic.path("password"), "--password-file", &s(&keystore_password),
        "--out", &s(&certs.join("tls.p12")),
    ]);
    let code = code_of(&create_admin(&node, TENANT, "kierownik"));
    let Some(browser) = Browser::start() else {
        return;
    };
    activate_and_sign_in_admin(&browser, &node, TENANT, "kierownik", &code);
    browser.click("#manage-certificates");
    wait_text(&browser, "h1", "Certyfikaty konta");
    // Tall enough that each screenshot shows the whole page.
    browser.resize(1280, 2300);

    // Activation: a wrong keystore password and a bad OID are named beside their fields and
    // the account stays as it was.
    browser.fill("#f-provider_oid", "2.16.840.1.x");
    browser.choose_file("#f-tls_file", &certs.join("tls.p12"));
    browser.fill("#f-tls_password", "not the password");
    // The TLS certificate in the WSS field: refused in the page's language.
    browser.choose_file("#f-wss_file", &certs.join("tls.pem"));
    browser.click("#register-form button.primary");
    wait_text(&browser, "#f-tls_password-error", "Hasło nie otwiera");
    assert!(
        browser.text("#f-wss_file-error").contains("certyfikat innego rodzaju"),
        "{}",
        browser.text("#f-wss_file-error")
    );
    assert!(
        browser.text("#f-provider_oid-error").contains("To nie jest OID"),
        "in the page's language: {}",
        browser.text("#f-provider_oid-error")
    );
    assert!(browser.exists("#f-provider_oid"), "still not activated");
    browser.screenshot("admin-certificates-errors");

    browser.fill("#f-provider_oid", PROVIDER_OID);
    browser.choose_file("#f-tls_file", &certs.join("tls.p12"));
    browser.fill("#f-tls_password", KEYSTORE_PASSWORD);
    browser.choose_file("#f-wss_file", &certs.join("wss.pem"));
    browser.click("#register-form button.primary");
    wait_for(&browser, "?done=activated");
    // The clinic's system now works with exactly these certificates.
    let account = clinic.account();
    assert_eq!(account["status"], "active", "{account}");
    assert_eq!(account["provider_oid"], PROVIDER_OID);
    let serial = |kind: &str| {
        account["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .and_then(|c| c["serial"].as_str())
            .unwrap()
            .to_owned()
    };
    assert_eq!(browser.text("#tls-serial"), serial("TLS"));
    assert_eq!(browser.text("#wss-serial"), serial("WSS"));
    assert!(!browser.exists("#f-provider_oid"), "activated: no OID field any more");
    browser.screenshot("admin-certificates");

    // A certificate of another CA (the national registry's) is refused beside its field.
    let national = issue_national(&registry, &clinic, "national");
    browser.choose_file("#f-tls_file", &national.dir.join("tls.pem"));
    browser.click("#register-form button.primary");
    let error = wait_text(&browser, "#f-tls_file-error", "urząd certyfikacji tego węzła");
    assert!(!error.contains("tenant CA"), "in the page's language: {error}");
    assert_eq!(clinic.account()["certificates"], account["certificates"]);

    // New certificates as PKCS#12: off until the operator allows it.
    assert!(browser.exists("#issue-title") && !browser.exists("#issue-form"));
    create_operator(&node, "olek");
    let operator = StaffClient::new(&node, "operator").expect("curl");
    operator.sign_in_operator("olek");
    let token = operator.token(&format!("/operator/tenants/{TENANT}"));
    let enabled = operator.post(
        &format!("/operator/tenants/{TENANT}/self-service?enable=1"),
        &[("csrf", &token)],
    );
    assert_eq!(enabled.status, 303, "{}", enabled.text());
    browser.goto(&format!("{}{PAGE}", node.url()));
    browser.fill("#f-password", "short");
    browser.fill("#f-password_repeat", "short");
    browser.click("#issue-form button.primary");
    wait_text(&browser, "#f-password-error", "co najmniej 12");
    browser.screenshot("admin-certificates-issue");

    // Issued, downloaded (curl), opened by independent readers, registered at once.
    let Some(admin) = admin_client(&node, TENANT, "it") else {
        return;
    };
    let token = admin.token(PAGE);
    let zip = admin.post(
        "/admin/account/certificates/issue",
        &[
            ("csrf", &token),
            ("organisation", "Przychodnia Test"),
            ("country", "Polska"),
            ("algorithm", "p256"),
            ("password", ISSUED_PASSWORD),
            ("password_repeat", ISSUED_PASSWORD),
            ("register_now", "1"),
        ],
    );
    assert_eq!(zip.status, 200, "{}", zip.text());
    assert_eq!(zip.header("content-type").as_deref(), Some("application/zip"));
    let disposition = zip.header("content-disposition").unwrap_or_default();
    assert!(disposition.contains(&format!("{TENANT}-certificates.zip")), "{disposition}");
    let issued = clinic.dir.join("issued");
    std::fs::create_dir_all(&issued).unwrap();
    std::fs::write(issued.join("certificates.zip"), &zip.body).unwrap();
    run_peer_ok(
        &python,
        &[
            "-c",
            "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
            &s(&issued.join("certificates.zip")),
            &s(&issued),
        ],
    );
    let password_file = issued.join("password");
    std::fs::write(&password_file, format!("{ISSUED_PASSWORD}\n")).unwrap();
    let readme = std::fs::read_to_string(issued.join("README.txt")).unwrap();
    assert!(readme.contains(&format!("{TENANT}-tls.p12")), "{readme}");
    for kind in ["tls", "wss"] {
        let p12 = issued.join(format!("{TENANT}-{kind}.p12"));
        let leaf = issued.join(format!("{kind}-openssl.pem"));
        // OpenSSL 3 without -legacy: the MAC and the AES encryption open with the password.
        run_peer_ok(
            &openssl,
            &[
                "pkcs12", "-in", &s(&p12), "-passin", &format!("file:{}", s(&password_file)),
                "-nokeys", "-clcerts", "-out", &s(&leaf),
            ],
        );
        let verified = run_peer_ok(&openssl, &["verify", "-CAfile", &s(&issued.join("ca.pem")), &s(&leaf)]);
        assert!(verified.contains(": OK"), "{verified}");
        let wrong = run_peer(
            &openssl,
            &["pkcs12", "-in", &s(&p12), "-passin", "pass:wrong password", "-nokeys", "-out", "/dev/null"],
        );
        assert!(!wrong.status.success(), "a wrong password must not open {kind}");
        run_ok(&[
            "pki", "unpack", &s(&p12), "--password-file", &s(&password_file),
            "--out", &s(&issued.join(kind)),
        ]);
    }
    // The old certificates stop working; the clinic's system goes on with the new ones.
    let refused = clinic.run_fails(&["account"]);
    assert!(refused.contains("certificate_not_registered"), "{refused}");
    let config = std::fs::read_to_string(&clinic.config).unwrap();
    std::fs::write(
        &clinic.config,
        config
            .replace("certs/tls.pem", "issued/tls/cert.pem")
            .replace("certs/tls.key", "issued/tls/key.pem")
            .replace("certs/wss.pem", "issued/wss/cert.pem")
            .replace("certs/wss.key", "issued/wss/key.pem")
            .replace("password_file = \"password\"", "password_file = \"issued/password\""),
    )
    .unwrap();
    let renewed = clinic.account();
    assert_ne!(renewed["certificates"], account["certificates"]);
    let document = crate::repository::portal::put_document(
        &clinic,
        "CRT-1",
        crate::repository::portal::PESEL_A,
        crate::repository::portal::NAME_A,
        "Karta informacyjna",
    );
    assert!(!document.is_empty());

    // National certificates: a wrong password is named beside the field; then registered.
    browser.goto(&format!("{}{PAGE}", node.url()));
    browser.choose_file("#f-national_tls", Path::new(&national.tls_p12));
    browser.choose_file("#f-national_wss", Path::new(&national.wss_p12));
    browser.fill("#f-national_password", "not the password");
    browser.click("#national-form button.primary");
    wait_text(&browser, "#f-national_password-error", "Hasło nie otwiera");
    assert!(clinic.account()["national_repository_id"].is_null());
    let national_password = std::fs::read_to_string(&national.password).unwrap();
    browser.choose_file("#f-national_tls", Path::new(&national.tls_p12));
    browser.choose_file("#f-national_wss", Path::new(&national.wss_p12));
    browser.fill("#f-national_password", national_password.trim_end());
    browser.fill("#f-national_name", "Przychodnia Test");
    browser.click("#national-form button.primary");
    wait_for(&browser, "?done=national");
    let national_id = clinic.account()["national_repository_id"]
        .as_str()
        .expect("a national repository id")
        .to_owned();
    assert_eq!(browser.text("#national-id"), national_id);
    assert_eq!(browser.text("#national-tls-serial"), national.tls_serial);
    browser.screenshot("admin-certificates-national");
    // The registry answers for it: the clinic can index.
    clinic.run_ok(&["index", &document]);

    // Revoked after a confirmation page.
    browser.click_link("Odwołaj certyfikaty P1");
    wait_text(&browser, "main", &national_id);
    browser.screenshot("admin-certificates-national-revoke");
    browser.click("main form button.danger");
    wait_for(&browser, "?done=national-revoked");
    assert!(clinic.account()["national_repository_id"].is_null());
    assert!(browser.exists("#national-form"));

    let entries = audited(&node, TENANT);
    assert_audited(&entries, "admin:kierownik", "account.activate");
    assert_audited(&entries, "admin:it", "account.certificates_issued");
    assert_audited(&entries, "admin:kierownik", "national.register");
    assert_audited(&entries, "admin:kierownik", "national.revoke");
}
