//! The claims desk speaks the page's language in its refusals, and shows each login only the
//! tabs it can use, in process: a signer's certificate refused in Russian (not a certificate,
//! a private key, issued by a CA the fund does not trust) and in English; the page saying
//! whether certificates are checked against a CA on this node; a package refused whole (801)
//! with its Russian comment on the page and in the `V` protocol (windows-1251), English on the
//! English page; the password rules in Russian; the insurer's reviewer seeing only the
//! insurer's tab while an MO login sees the MO's, and a reviewer's direct visit to an MO tab
//! sent to the registers. Runs on SQLite and, when it is there, PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Read};
use std::time::Duration;

use medgate_claims::fund::{self, Role};
use medgate_claims::signing::trust;
use medgate_test_peers::openssl_ca::OpensslCa;
use medgate_test_peers::require_command;
use time::OffsetDateTime;

mod support;
use support::claims::{
    change_password, claims_node_on, first_sign_in, operator, reviewer_login, signed_in_as,
    NEW_PASSWORD,
};
use support::web::{alert, WebClient};
use support::Backend;

/// The one MO registered: code and name.
const MO: [(&str, &str); 1] = [("140001", "Больница")];

/// The MO's tabs, which an insurer's reviewer does not get.
const MO_TABS: [&str; 5] = [
    "/claims/upload",
    "/claims/flk",
    "/claims/mek",
    "/claims/forming",
    "/claims/admin/signature",
];

/// The addresses of the page's tabs.
fn tabs(html: &str) -> Vec<String> {
    let start = html.find("<nav class=\"tabs\"").expect("the page has tabs");
    let nav = &html[start..start + html[start..].find("</nav>").unwrap()];
    nav.split("<a href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

async fn upload_certificate(web: &WebClient, name: &str, bytes: &[u8]) -> support::web::Page {
    let csrf = web.token("/claims/admin/signature").await;
    web.post_multipart(
        "/claims/admin/signature",
        &[("csrf", &csrf)],
        &[("certificate", name, bytes)],
    )
    .await
}

async fn the_reviewer_sees_only_the_insurers_tab(backend: Backend) {
    let Some(node) = claims_node_on(backend, &MO, &["14002"]).await else {
        return;
    };
    let executor = signed_in_as(&node, "140001", Role::Executor).await;
    let reviewer = reviewer_login(&node, "14002").await;

    let mo = executor.get("/claims/registers").await.text();
    let mut expected: Vec<String> = MO_TABS.iter().map(|tab| (*tab).to_owned()).collect();
    expected.insert(4, "/claims/registers".to_owned());
    assert_eq!(tabs(&mo), expected, "{mo}");

    for lang in ["ru", "en"] {
        let page = reviewer
            .get(&format!("/claims/registers?lang={lang}"))
            .await;
        assert_eq!(page.status, 200);
        let html = page.text();
        assert_eq!(tabs(&html), ["/claims/registers"], "{html}");
        let label = if lang == "ru" {
            "Реестры СМО"
        } else {
            "Insurer&#39;s registers"
        };
        assert!(
            html.contains(&format!(
                "<a href=\"/claims/registers\" aria-current=\"page\">{label}</a>"
            )),
            "{html}"
        );
        for tab in MO_TABS {
            assert!(!html.contains(&format!("href=\"{tab}\"")), "{tab}: {html}");
        }
    }
    // A direct visit to an MO tab is sent to the registers, as before.
    for tab in MO_TABS {
        let page = reviewer.get(tab).await;
        assert_eq!(page.status, 303, "{tab}");
        assert_eq!(
            page.location().as_deref(),
            Some("/claims/registers"),
            "{tab}"
        );
        assert_eq!(executor.get(tab).await.status, 200, "{tab}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reviewer_sees_only_the_insurers_tab_on_sqlite() {
    the_reviewer_sees_only_the_insurers_tab(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reviewer_sees_only_the_insurers_tab_on_postgres() {
    the_reviewer_sees_only_the_insurers_tab(Backend::Postgres).await;
}

async fn refusals_speak_the_pages_language(backend: Backend) {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else {
        return;
    };
    let Some(node) = claims_node_on(backend, &MO, &["14002"]).await else {
        return;
    };
    // The password rules, in Russian.
    let issued = fund::add_user(
        &node.metadata,
        &operator(),
        "140001",
        Role::Executor,
        None,
        "Иванова И. И.",
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let (executor, password) = first_sign_in(&node, &issued.login, &issued.token).await;
    let short = change_password(&executor, &password, "короткий").await;
    assert_eq!(short.status, 400);
    let html = short.text();
    assert!(html.contains("нужно не меньше 12 символов"), "{html}");
    assert!(!html.contains("must be at least"), "{html}");
    let changed = change_password(&executor, &password, NEW_PASSWORD).await;
    assert_eq!(changed.status, 303, "{}", changed.text());

    // A certificate upload refused in the page's language.
    let page = executor.get("/claims/admin/signature").await.text();
    assert!(
        page.contains(
            "На этом узле сертификаты подписантов не проверяются по удостоверяющему центру"
        ),
        "{page}"
    );
    let notes = upload_certificate(&executor, "notes.txt", "просто текст".as_bytes()).await;
    assert_eq!(notes.status, 422);
    let said = alert(&notes.text());
    assert!(
        said.contains(
            "Сертификат не принят. Файл notes.txt не является сертификатом: ожидается сертификат \
             X.509 в формате DER или PEM (.cer)."
        ),
        "{said}"
    );
    assert!(!said.contains("is not a certificate"), "{said}");

    let work = tempfile::tempdir().unwrap();
    let trusted = OpensslCa::new(&openssl, &work.path().join("trusted"), "/CN=УЦ ТФОМС/C=RU");
    let other = OpensslCa::new(&openssl, &work.path().join("other"), "/CN=Чужой УЦ/C=RU");
    let good = std::fs::read(trusted.issue("good", "Исполнитель", false)).unwrap();
    let stranger = std::fs::read(other.issue("stranger", "Посторонний", false)).unwrap();
    let key = std::fs::read(work.path().join("trusted/good.key")).unwrap();
    let as_key = upload_certificate(&executor, "good.key", &key).await;
    assert!(
        alert(&as_key.text()).contains("Файл good.key — закрытый ключ, а не сертификат."),
        "{}",
        as_key.text()
    );

    trust::install(&node.data, &trusted.certificate()).unwrap();
    let page = executor.get("/claims/admin/signature").await.text();
    assert!(
        page.contains(
            "выдан одним из удостоверяющих центров, которым доверяет фонд (установлено: 1)"
        ),
        "{page}"
    );
    let untrusted = upload_certificate(&executor, "stranger.cer", &stranger).await;
    assert_eq!(untrusted.status, 422);
    let said = alert(&untrusted.text());
    assert!(
        said.contains(
            "Файл stranger.cer: сертификат CN=Посторонний выдан не удостоверяющим центром, \
             которому доверяет фонд (издатель: CN=Чужой УЦ, C=RU)"
        ),
        "{said}"
    );
    let accepted = upload_certificate(&executor, "good.cer", &good).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    assert!(
        accepted
            .text()
            .contains("Сертификат зарегистрирован: CN=Исполнитель."),
        "{}",
        accepted.text()
    );
    // English on the English page.
    executor.get("/claims/admin/signature?lang=en").await;
    let english = upload_certificate(&executor, "stranger.cer", &stranger).await;
    let said = alert(&english.text());
    assert!(
        said.contains(
            "is not issued by a CA this fund trusts for signers (its issuer: CN=Чужой УЦ, C=RU)"
        ),
        "{said}"
    );
    assert!(!said.contains("удостоверяющим"), "{said}");
    executor.get("/claims/upload?lang=ru").await;

    // A package refused whole: its Russian comment on the page and in the V protocol.
    let csrf = executor.token("/claims/upload").await;
    let uploaded = executor
        .post_multipart(
            "/claims/upload",
            &[("csrf", &csrf), ("period", "2025-01")],
            &[("package", "HM140001S14002_25011.zip", b"not a zip at all")],
        )
        .await;
    assert_eq!(uploaded.status, 303, "{}", uploaded.text());
    let path = uploaded.location().unwrap();
    let mut html = String::new();
    for _ in 0..300 {
        html = executor.get(&path).await.text();
        if !html.contains("status-checking") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let russian = "Файл HM140001S14002_25011.zip не является ZIP-архивом; пакет реестра \
                   должен быть ZIP-архивом с основным файлом и файлом персональных данных.";
    assert!(
        html.contains(&format!("Пакет отклонён целиком, код 801: {russian}")),
        "{html}"
    );
    assert!(!html.contains("is not a ZIP archive"), "{html}");
    let english = executor.get(&format!("{path}?lang=en")).await.text();
    assert!(
        english.contains("The package was refused whole, code 801: HM140001S14002_25011.zip is not a ZIP archive"),
        "{english}"
    );
    let protocol = executor.get(&format!("{path}/protocol")).await;
    assert_eq!(protocol.status, 200);
    let mut archive = zip::ZipArchive::new(Cursor::new(protocol.body.clone())).unwrap();
    let mut entry = archive.by_name("VHM140001S14002_25011.xml").unwrap();
    let mut raw = Vec::new();
    entry.read_to_end(&mut raw).unwrap();
    assert!(raw.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>"));
    let mut text = String::new();
    medgate_claims::xml::DecodingReader::new(raw.as_slice(), "protocol")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        text.contains("<OSHIB>801</OSHIB>")
            && text.contains(&format!("<COMMENT>{russian}</COMMENT>")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_speak_the_pages_language_on_sqlite() {
    refusals_speak_the_pages_language(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_speak_the_pages_language_on_postgres() {
    refusals_speak_the_pages_language(Backend::Postgres).await;
}
