//! The account panel: every value the page shows is the one `GET /api/v1/account` (the
//! clinic's `medgate client account --json`) answers, and the warnings appear when the plan
//! is nearly full.

use super::{activate_and_sign_in_admin, code_of, create_admin};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};
use crate::repository::portal::{put_document, NAME_A, PESEL_A};

const TENANT: &str = "0000000000009020";

#[test]
fn web_account_panel_matches_the_api_and_warns() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    // 1 MB and 2 files: one document and a 0.95 MB scan fill both past 90 %.
    let clinic = node.enroll(TENANT, 1, 2);
    put_document(&clinic, "ACC-1", PESEL_A, NAME_A, "Karta informacyjna");
    let scan = clinic.dir.join("skan.pdf");
    std::fs::write(&scan, vec![b'%'; 972_000]).expect("scan written");
    clinic.run_ok(&[
        "put-attachment",
        &scan.to_string_lossy(),
        "--patient",
        PESEL_A,
        "--title",
        "Skan skierowania",
        "--content-type",
        "application/pdf",
    ]);
    let api = clinic.account();
    let code = code_of(&create_admin(&node, TENANT, "kierownik"));

    let Some(browser) = Browser::start() else {
        return;
    };
    activate_and_sign_in_admin(&browser, &node, TENANT, "kierownik", &code);
    assert_eq!(browser.text("h1"), "Zarządzanie kontem");
    let shown = |css: &str| browser.text(css);
    let or_dash = |value: &serde_json::Value| value.as_str().unwrap_or("-").to_owned();
    assert_eq!(shown("#account-tenant"), api["tenant"].as_str().unwrap());
    assert_eq!(api["status"], "active");
    assert_eq!(shown("#account-status"), "Aktywowane");
    assert_eq!(shown("#account-domain-id"), or_dash(&api["domain_id"]));
    assert_eq!(
        shown("#account-repository-id"),
        or_dash(&api["repository_id"])
    );
    assert_eq!(
        shown("#account-national-repository-id"),
        or_dash(&api["national_repository_id"])
    );
    assert_eq!(
        shown("#account-provider-oid"),
        or_dash(&api["provider_oid"])
    );
    let validity = shown("#account-validity");
    assert_eq!(
        validity,
        format!(
            "Aktywne od {} do {}",
            &api["valid_from"].as_str().unwrap()[..10],
            &api["valid_to"].as_str().unwrap()[..10]
        )
    );
    let quota = &api["quota"];
    assert_eq!(
        shown("label[for=account-quota]"),
        format!(
            "Wielkość konta {} MB, wykorzystano {} MB",
            quota["total_mb"], quota["used_mb"]
        )
    );
    assert_eq!(
        shown("label[for=account-files]"),
        format!(
            "Maksymalna liczba plików {}, zdeponowano {} dokumentów",
            quota["max_files"], quota["files"]
        )
    );
    let source = browser.source();
    assert!(
        source.contains(&format!(
            "<progress id=\"account-quota\" max=\"{}\" value=\"{}\">",
            quota["total_bytes"], quota["used_bytes"]
        )),
        "the quota bar holds the API's bytes: {source}"
    );
    for certificate in api["certificates"].as_array().unwrap() {
        let kind = certificate["kind"].as_str().unwrap().to_ascii_lowercase();
        assert_eq!(
            shown(&format!("#{kind}-serial")),
            certificate["serial"].as_str().unwrap()
        );
        assert_eq!(
            shown(&format!("#{kind}-days-left")),
            certificate["days_left"].to_string()
        );
        let validity = shown(&format!("#{kind}-validity"));
        let from = certificate["not_before"]
            .as_str()
            .unwrap()
            .replace('T', " ");
        let to = certificate["not_after"].as_str().unwrap().replace('T', " ");
        assert_eq!(
            validity,
            format!("{} – {}", &from[..19], &to[..19]),
            "{kind}"
        );
    }
    // The API's warnings, each in the page's words.
    let codes: Vec<&str> = api["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"quota_nearly_full"), "{api}");
    assert!(codes.contains(&"file_limit_nearly_reached"), "{api}");
    for code in &codes {
        assert!(
            browser.exists(&format!("#warnings li[data-code={code}]")),
            "warning {code} shown"
        );
    }
    assert!(
        shown("#warnings").contains("Wykorzystano 9"),
        "{}",
        shown("#warnings")
    );
    assert!(shown("#warnings").contains("Zdeponowano 2 z 2 plików"));
    browser.screenshot("admin-account");

    browser.click_link("English");
    assert_eq!(browser.text("h1"), "Account panel");
    assert!(shown("#warnings").contains("of the account size is used"));
    browser.click_link("Polski");
    browser.resize(390, 844);
    browser.goto(&format!("{}/admin/account", node.url()));
    browser.screenshot("admin-account-phone");
    browser.resize(1280, 800);

    // Suspended by the operator: the panel says so.
    node.tenant(&["suspend", TENANT]);
    browser.goto(&format!("{}/admin/account", node.url()));
    assert_eq!(shown("#account-status"), "Zawieszone");
    assert!(shown("main").contains("Konto jest zawieszone przez operatora"));
}
