//! The registers' pages in Chromium on the real `medgate serve --role claims`: the executor
//! of a medical organisation uploads a clean package from the file chooser, forms the register
//! on «Формирование» with one click, finds it among «Текущие реестры», opens it (state,
//! history, the actions the login may take) and sends it, then opens «Электронная подпись»;
//! the insurer's reviewer, on a browser session of their own, returns it for rework with a
//! comment, on a desk showing only the insurer's tab; the same pages in English. A screenshot
//! of each in both languages. The whole
//! workflow and the signatures are walked without a browser in
//! `repository::claims_registers_desk` and in process in
//! `crates/medgate-server/tests/claims_registers.rs`.

use super::{wait_for, wait_text};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};
use crate::support::run_ok;

const NEW_PASSWORD: &str = "Новый пароль для реестров 2025";

fn claims(node: &Node, args: &[&str]) -> String {
    let mut all: Vec<String> = vec!["claims".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(node.store_args());
    run_ok(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

fn token_of(issued: &str) -> String {
    issued
        .lines()
        .find_map(|line| {
            line.trim()
                .split_once("/claims/link?token=")
                .map(|(_, token)| token.to_owned())
        })
        .unwrap_or_else(|| panic!("no link in:\n{issued}"))
}

/// Opens the link, signs in with the default password and replaces it.
fn through_link(browser: &Browser, base: &str, login: &str, token: &str, home: &str) {
    browser.goto(&format!("{base}/claims/link?token={token}&lang=ru"));
    browser.click("main button[type=submit]");
    let password = browser.text("#default-password");
    browser.goto(&format!("{base}/claims"));
    browser.fill("#f-login", login);
    browser.fill("#f-password", &password);
    browser.click("button[type=submit]");
    wait_for(browser, "/claims/password");
    browser.fill("#f-current", &password);
    browser.fill("#f-new", NEW_PASSWORD);
    browser.fill("#f-repeat", NEW_PASSWORD);
    browser.click("main button[type=submit]");
    wait_for(browser, home);
}

#[test]
fn web_claims_registers_are_formed_sent_and_returned_in_chromium() {
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
    let executor = token_of(&claims(
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
    ));
    let reviewer = token_of(&claims(
        &node,
        &["user", "add", "--smo", "14002", "--name", "Петров П. П."],
    ));
    let out = node.dir.path().to_string_lossy().into_owned();
    let package = run_ok(&[
        "claims", "generate", "--cases", "30", "--period", "2025-01", "--mo", "140001", "--out",
        &out,
    ]);
    let package = std::path::PathBuf::from(package.trim());
    let Some(browser) = Browser::start() else {
        return;
    };
    let base = node.url();
    through_link(
        &browser,
        &base,
        "M140001_1",
        &executor,
        "/claims/upload?changed=1",
    );
    browser.choose_file("#package", &package);
    browser.click("form[action='/claims/upload'] button[type=submit]");
    wait_text(&browser, "main", "пакет принят");

    // «Формирование»: one click.
    browser.goto(&format!("{base}/claims/forming"));
    assert!(
        !browser.source().contains("<script"),
        "no scripts on the pages"
    );
    browser.screenshot("claims-forming-ru");
    browser.click("form[action='/claims/forming'] button[type=submit]");
    wait_for(&browser, "/claims/registers?formed=1");
    let listed = browser.text("main");
    assert!(
        listed.contains("HM140001S14002_25011.zip") && listed.contains("Черновик"),
        "{listed}"
    );
    browser.screenshot("claims-registers-ru");

    // The register: state, history, the executor's action; sent. A tall window shows it all.
    browser.resize(1280, 1500);
    browser.goto(&format!("{base}/claims/registers/1"));
    assert_eq!(browser.text("#register-state"), "Черновик");
    browser.screenshot("claims-register-draft-ru");
    browser.click("button[value=send]");
    wait_for(&browser, "/claims/registers/1?moved=sent");
    assert_eq!(browser.text("#register-state"), "Отправлен");
    browser.screenshot("claims-register-sent-ru");

    // «Электронная подпись».
    browser.goto(&format!("{base}/claims/admin/signature"));
    assert!(
        browser.text("main").contains("Сертификат не загружен"),
        "{}",
        browser.text("main")
    );
    browser.screenshot("claims-signature-ru");
    browser.click_link("English");
    assert!(
        browser.text("main").contains("No certificate uploaded"),
        "{}",
        browser.text("main")
    );
    browser.screenshot("claims-signature-en");
    browser.goto(&format!("{base}/claims/registers?lang=en"));
    browser.screenshot("claims-registers-en");
    browser.goto(&format!("{base}/claims/forming?lang=en"));
    browser.screenshot("claims-forming-en");

    // The reviewer, in a session of their own: returns it for rework with a comment.
    let Some(insurer) = Browser::start() else {
        return;
    };
    // The reviewer's desk opens on the registers sent to their insurer.
    through_link(&insurer, &base, "S14002_R1", &reviewer, "/claims/registers");
    insurer.resize(1280, 1500);
    insurer.goto(&format!("{base}/claims/registers/1?lang=ru"));
    insurer.click("button[value=return_for_rework]");
    wait_text(&insurer, "[role=alert]", "комментарий");
    insurer.screenshot("claims-register-no-comment-ru");
    insurer.fill("#comment", "Проверьте диагнозы в случаях 3 и 5");
    insurer.click("button[value=return_for_rework]");
    wait_for(&insurer, "/claims/registers/1?moved=for_rework");
    assert_eq!(insurer.text("#register-state"), "На доработку");
    insurer.screenshot("claims-register-returned-ru");

    // The reviewer's desk: the insurer's one tab and no MO tab, in Russian and English.
    for (lang, tab) in [("ru", "Реестры СМО"), ("en", "Insurer's registers")] {
        insurer.goto(&format!("{base}/claims/registers?lang={lang}"));
        assert_eq!(insurer.text("nav.tabs").trim(), tab);
        insurer.screenshot(&format!("claims-reviewer-desk-{lang}"));
    }

    browser.goto(&format!("{base}/claims/registers/1?lang=en"));
    assert_eq!(browser.text("#register-state"), "for rework");
    assert!(
        browser.text("main").contains("Проверьте диагнозы"),
        "{}",
        browser.text("main")
    );
    browser.screenshot("claims-register-returned-en");
}
