//! The claims registers' pages in Chromium: the real `medgate serve --role claims`, the fund
//! operator's `medgate claims mo|smo|period|user` on its data folder, and the executor of a
//! medical organisation at `/claims` (Russian by default): the one-time link shows the login
//! and default password, the first sign-in leads to the password change, a package made by
//! `medgate claims generate` with one seeded defect is uploaded from the file chooser, its
//! page refreshes itself until the control ends and shows the finding (F012 904 on
//! `DATE_Z_2`), then the same in English; with the MEK catalogue installed (`medgate claims
//! nsi import Q016.xml`), a package with a man's O80 diagnosis is uploaded and its МЭК tab
//! shows the finding and the sum withheld, and the MEK list its total, in both languages; a
//! package with a code outside its dictionary is corrected on its ФЛК tab («Исправить»), the
//! corrected copy accepted as a new package, the two linked; a screenshot of each step in
//! both languages. The
//! same walk without a browser, with the protocol read by lxml, is
//! `repository::claims_desk`; every refusal is tested in process
//! (`crates/medgate-server/tests/claims_pages.rs`).

use super::{wait_for, wait_text};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};
use crate::support::run_ok;

const NEW_PASSWORD: &str = "Новый пароль исполнителя 2025";

fn claims(node: &Node, args: &[&str]) -> String {
    let mut all: Vec<String> = vec!["claims".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(node.store_args());
    run_ok(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn web_claims_executor_uploads_a_register_and_reads_its_flk_findings_in_chromium() {
    let node = Node::start_with(Backend::Sqlite, &["--role", "claims"])
        .expect("SQLite is always available");
    claims(
        &node,
        &[
            "mo",
            "add",
            "--code",
            "140001",
            "--name",
            "Городская больница № 1",
        ],
    );
    claims(
        &node,
        &["smo", "add", "--code", "14002", "--name", "АО «СОГАЗ-Мед»"],
    );
    claims(&node, &["period", "open", "2025-01"]);
    let issued = claims(
        &node,
        &[
            "user",
            "add",
            "--mo",
            "140001",
            "--role",
            "executor",
            "--name",
            "Иванова И. И.",
        ],
    );
    // The link names the node's public_url, unset here: the same token on the test's port.
    let token = issued
        .lines()
        .find_map(|line| {
            line.trim()
                .split_once("/claims/link?token=")
                .map(|(_, token)| token.to_owned())
        })
        .unwrap_or_else(|| panic!("no link in:\n{issued}"));
    let out = node.dir.path().to_string_lossy().into_owned();
    let package = run_ok(&[
        "claims",
        "generate",
        "--cases",
        "50",
        "--period",
        "2025-01",
        "--mo",
        "140001",
        "--out",
        &out,
        "--fault",
        "date-after-period",
    ]);
    let package = std::path::PathBuf::from(package.trim());
    let mek_dir = node.dir.path().join("mek");
    std::fs::create_dir_all(&mek_dir).unwrap();
    let mek_package = run_ok(&[
        "claims",
        "generate",
        "--cases",
        "50",
        "--period",
        "2025-01",
        "--mo",
        "140001",
        "--number",
        "2",
        "--out",
        &mek_dir.to_string_lossy(),
        "--fault",
        "sex-diagnosis",
    ]);
    let mek_package = std::path::PathBuf::from(mek_package.trim());
    let fix_dir = node.dir.path().join("fix");
    std::fs::create_dir_all(&fix_dir).unwrap();
    let fix_package = run_ok(&[
        "claims",
        "generate",
        "--cases",
        "50",
        "--period",
        "2025-01",
        "--mo",
        "140001",
        "--number",
        "3",
        "--out",
        &fix_dir.to_string_lossy(),
        "--fault",
        "bad-dictionary-code",
    ]);
    let fix_package = std::path::PathBuf::from(fix_package.trim());
    let catalogue = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../medgate-claims/catalogues/Q016.xml");
    run_ok(&[
        "claims",
        "nsi",
        "import",
        &catalogue.to_string_lossy(),
        "--data",
        &node.data.to_string_lossy(),
    ]);
    let Some(browser) = Browser::start() else {
        return;
    };
    let base = node.url();
    let link = format!("{base}/claims/link?token={token}");

    // The one-time link: its address shows a button, in the language chosen on it; the
    // button shows the login and its default password, once.
    browser.goto(&link);
    assert!(
        !browser.source().contains("<script"),
        "no scripts on the pages"
    );
    browser.click_link("English");
    assert!(
        browser.text("main").contains("Open the link"),
        "{}",
        browser.text("main")
    );
    browser.screenshot("claims-link-button-en");
    browser.click_link("Русский");
    browser.screenshot("claims-link-button-ru");
    browser.click("button[type=submit]");
    let password = browser.text("#default-password");
    assert!(!password.is_empty(), "the default password is shown");
    assert!(browser.source().contains("M140001_1"));
    browser.screenshot("claims-link-ru");
    browser.goto(&link);
    browser.click("button[type=submit]");
    assert!(
        browser.text("main").contains("уже была открыта"),
        "{}",
        browser.text("main")
    );
    browser.screenshot("claims-link-spent-ru");

    // Sign-in in Russian; the first one leads to the password change.
    browser.goto(&format!("{base}/claims"));
    browser.screenshot("claims-sign-in-ru");
    browser.fill("#f-login", "M140001_1");
    browser.fill("#f-password", &password);
    browser.click("button[type=submit]");
    wait_for(&browser, "/claims/password");
    browser.screenshot("claims-password-ru");
    browser.fill("#f-current", &password);
    browser.fill("#f-new", NEW_PASSWORD);
    browser.fill("#f-repeat", NEW_PASSWORD);
    browser.click("main button[type=submit]");
    wait_for(&browser, "/claims/upload?changed=1");
    browser.screenshot("claims-upload-ru");

    // The package from the file chooser; its page refreshes until the control has ended.
    browser.choose_file("#package", &package);
    browser.click("form[action='/claims/upload'] button[type=submit]");
    let finding = wait_text(&browser, "main", "904");
    assert!(finding.contains("DATE_Z_2"), "{finding}");
    assert!(finding.contains("006F.00.0340"), "{finding}");
    browser.screenshot("claims-package-ru");

    assert!(browser
        .source()
        .contains("href=\"/claims/packages/1/protocol\""));

    // The FLK tab lists it; then the same pages in English.
    browser.goto(&format!("{base}/claims/flk"));
    assert!(browser.source().contains("href=\"/claims/packages/1\""));
    browser.screenshot("claims-flk-ru");
    browser.click_link("English");
    assert!(browser.source().contains("href=\"/claims/packages/1\""));
    browser.screenshot("claims-flk-en");
    browser.goto(&format!("{base}/claims/packages/1?lang=en"));
    let finding = wait_text(&browser, "main", "904");
    assert!(finding.contains("DATE_Z_2"), "{finding}");
    assert!(
        browser.text("h1").starts_with("Package"),
        "{}",
        browser.text("h1")
    );
    browser.screenshot("claims-package-en");

    // MEK: a man with O80 — the МЭК tab beside ФЛК, its finding and the sum withheld.
    browser.goto(&format!("{base}/claims/upload?lang=ru"));
    browser.choose_file("#package", &mek_package);
    browser.click("form[action='/claims/upload'] button[type=submit]");
    wait_text(&browser, "main", "принят, удержания МЭК");
    browser.goto(&format!("{base}/claims/packages/2/mek"));
    let mek = browser.text("main");
    assert!(mek.contains("003K.00.0620"), "{mek}");
    assert!(mek.contains("Удержано всего: 501,00 руб."), "{mek}");
    browser.screenshot("claims-mek-package-ru");
    browser.goto(&format!("{base}/claims/mek"));
    assert!(browser.source().contains("href=\"/claims/packages/2/mek\""));
    browser.screenshot("claims-mek-ru");
    browser.goto(&format!("{base}/claims/packages/2/mek?lang=en"));
    let mek = browser.text("main");
    assert!(mek.contains("Withheld in total: 501.00 RUB."), "{mek}");
    browser.screenshot("claims-mek-package-en");
    browser.goto(&format!("{base}/claims/mek?lang=en"));
    browser.screenshot("claims-mek-en");

    // A code outside its dictionary (USL_OK 9 in record 2) corrected on the ФЛК tab: the
    // form shows the current value; the corrected copy is package 4, checked at once, and
    // the two packages link each other.
    browser.goto(&format!("{base}/claims/upload?lang=en"));
    browser.choose_file("#package", &fix_package);
    browser.click("form[action='/claims/upload'] button[type=submit]");
    let findings = wait_text(&browser, "main", "Fix");
    assert!(findings.contains("USL_OK"), "{findings}");
    browser.screenshot("claims-fixable-en");
    browser.click("a.fix[href*='element=USL_OK']");
    assert!(
        browser.text("#current-value") == "9",
        "{}",
        browser.text("main")
    );
    browser.screenshot("claims-correct-form-en");
    browser.click_link("Русский");
    assert!(
        browser.text("main").contains("Исправить и проверить"),
        "{}",
        browser.text("main")
    );
    browser.fill("#f-new", "");
    browser.click("main button[type=submit]");
    let refused = browser.text("main");
    assert!(
        refused.contains("Новое значение USL_OK не заполнено."),
        "{refused}"
    );
    browser.screenshot("claims-correct-refused-ru");
    browser.fill("#f-new", "3");
    browser.click("main button[type=submit]");
    wait_for(&browser, "/claims/packages/4");
    let corrected = wait_text(&browser, "main", "принят");
    assert!(
        corrected.contains("Исправление пакета №3: USL_OK записи 2 «9» → «3»"),
        "{corrected}"
    );
    browser.screenshot("claims-corrected-ru");
    browser.goto(&format!("{base}/claims/packages/3"));
    let old = browser.text("main");
    assert!(old.contains("исправленная копия — пакет №4"), "{old}");
    assert!(browser.source().contains("href=\"/claims/packages/4\""));
    browser.screenshot("claims-corrected-old-ru");
    browser.goto(&format!("{base}/claims/packages/4?lang=en"));
    let corrected = browser.text("main");
    assert!(
        corrected.contains("Correction of package No. 3: USL_OK of record 2 “9” → “3”"),
        "{corrected}"
    );
    browser.screenshot("claims-corrected-en");
}
