//! The claims registers' desk in process: a node of `role = claims` on loopback with two
//! medical organisations registered as `medgate claims mo add` registers them
//! (`medgate_claims::fund`), logins with their one-time link (opens once, then 410 Gone),
//! the first sign-in forced to change the default password, the lock-out after five wrong
//! passwords; packages made by the project's generator uploaded on the page (streamed
//! multipart): a clean one accepted, the same again refused with 805, one with a seeded
//! defect concluded `flk_errors` with the exact code, element and record, its `V` protocol
//! downloaded and read; another MO's package answered 404.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Read};

use medgate_claims::fund::{self, Role};
use medgate_claims::generate::{self, Fault};
use medgate_storage::AuditOrigin;
use time::OffsetDateTime;

mod support;
use support::claims::{
    claims_node_on, concluded, default_password_on, new_login_as, operator, package, sign_in,
    signed_in_as, upload, NEW_PASSWORD, TWO_MOS,
};
use support::web::{form_token, WebClient};
use support::{Backend, Node};

/// A claims node on SQLite with two MOs, an insurer and the period 2025-01 open.
async fn claims_node() -> Node {
    claims_node_on(Backend::Sqlite, &TWO_MOS, &["14002"])
        .await
        .expect("SQLite is always available")
}

/// A new executor login of `mo`: its link's token.
async fn new_login(node: &Node, mo: &str) -> (String, String) {
    new_login_as(node, mo, Role::Executor).await
}

/// A login of `mo` whose link was opened and whose password was changed on the page.
async fn signed_in(node: &Node, mo: &str) -> WebClient {
    signed_in_as(node, mo, Role::Executor).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_opens_once_the_first_sign_in_forces_a_change_and_failures_lock_out() {
    let node = claims_node().await;
    let (login, token) = new_login(&node, "140001").await;
    assert_eq!(login, "M140001_1");
    let web = WebClient::new(&node);

    // Opening the address opens nothing: a button does, and the language can be chosen first.
    for (lang, button_text, other) in [
        ("en", "Open the link", "ru"),
        ("ru", "Открыть ссылку", "en"),
    ] {
        let button = web
            .get(&format!("/claims/link?token={token}&lang={lang}"))
            .await;
        assert_eq!(button.status, 200, "{}", button.text());
        let html = button.text();
        assert!(html.contains(button_text), "{html}");
        assert!(html.contains(&format!("value=\"{token}\"")), "{html}");
        assert!(
            html.contains(&format!(
                "href=\"/claims/link?token={token}&amp;lang={other}\""
            )),
            "{html}"
        );
        assert!(!html.contains("M140001_1"), "{html}");
    }
    let first = web.post("/claims/link", &[("token", &token)]).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let html = first.text();
    assert!(html.contains("M140001_1"), "{html}");
    assert!(html.contains("открывается только 1 раз"), "{html}");
    // The switch of the opened link leads to the sign-in page, not to the link again.
    assert!(html.contains("href=\"/claims?lang=en\""), "{html}");
    let password = default_password_on(&html);
    assert_eq!(password, fund::default_password(&token));
    let second = web.post("/claims/link", &[("token", &token)]).await;
    assert_eq!(second.status, 410);
    assert!(
        second.text().contains("уже была открыта"),
        "{}",
        second.text()
    );
    assert!(!second.text().contains(&password));
    let english = web.post("/claims/link?lang=en", &[("token", &token)]).await;
    assert_eq!(english.status, 410);
    assert!(
        english.text().contains("was opened already"),
        "{}",
        english.text()
    );
    assert_eq!(
        web.post("/claims/link", &[("token", &"0".repeat(64))])
            .await
            .status,
        404
    );

    // The default password signs in, but every page waits for a new one.
    let web = WebClient::new(&node);
    let signed = sign_in(&web, &login, &password).await;
    assert_eq!(signed.status, 303);
    assert_eq!(signed.location().as_deref(), Some("/claims/upload"));
    let upload = web.get("/claims/upload").await;
    assert_eq!(
        (upload.status, upload.location().as_deref()),
        (303, Some("/claims/password"))
    );
    let csrf = web.token("/claims/password").await;
    let wrong = web
        .post(
            "/claims/password",
            &[
                ("csrf", &csrf),
                ("current", "not it at all"),
                ("new", NEW_PASSWORD),
                ("repeat", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.text().contains("Текущий пароль неверен"),
        "{}",
        wrong.text()
    );
    let short = web
        .post(
            "/claims/password",
            &[
                ("csrf", &csrf),
                ("current", &password),
                ("new", "short"),
                ("repeat", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 400);
    // The rule in the page's language (Russian here).
    assert!(
        short.text().contains("нужно не меньше 12 символов")
            && !short.text().contains("at least 12 characters"),
        "{}",
        short.text()
    );
    let changed = web
        .post(
            "/claims/password",
            &[
                ("csrf", &csrf),
                ("current", &password),
                ("new", NEW_PASSWORD),
                ("repeat", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.text());
    let upload = web.get("/claims/upload").await;
    assert_eq!(upload.status, 200);
    assert!(
        upload.text().contains("Загрузка файла"),
        "{}",
        upload.text()
    );
    assert!(upload.text().contains("2025-01"));

    // The default password no longer works; five wrong passwords lock the login out.
    let other = WebClient::new(&node);
    assert_eq!(sign_in(&other, &login, &password).await.status, 401);
    for attempt in 2..=5 {
        let page = sign_in(&other, &login, "wrong password 123").await;
        let expected = if attempt == 5 { 429 } else { 401 };
        assert_eq!(page.status, expected, "attempt {attempt}: {}", page.text());
    }
    let locked = sign_in(&other, &login, NEW_PASSWORD).await;
    assert_eq!(locked.status, 429);
    assert!(locked.text().contains("заблокирован"), "{}", locked.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_controlled_refusals_coded_and_another_mos_package_is_not_found() {
    let node = claims_node().await;
    let web = signed_in(&node, "140001").await;

    let (name, bytes) = package("140001", 12, 1, None);
    let clean = upload(&web, &name, &bytes).await;
    let html = concluded(&web, &clean).await;
    assert!(html.contains("status-accepted"), "{html}");
    let id: i64 = clean.rsplit('/').next().unwrap().parse().unwrap();
    let stored = node.metadata.claims_package(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.cases, stored.size_bytes),
        ("accepted", 12, bytes.len() as u64)
    );
    assert!(node
        .data
        .join("claims/packages")
        .join(id.to_string())
        .join(&name)
        .exists());

    // The same package again: 805.
    let again = upload(&web, &name, &bytes).await;
    let html = concluded(&web, &again).await;
    assert!(
        html.contains("status-refused") && html.contains("805"),
        "{html}"
    );

    // Not a ZIP: 801.
    let broken = upload(&web, "HM140001S14002_25012.zip", b"not a zip at all").await;
    let html = concluded(&web, &broken).await;
    assert!(html.contains("801"), "{html}");

    // A seeded defect: the case after the period in record 2.
    let (faulty_name, faulty) = package("140001", 12, 3, Some(Fault::DateAfterPeriod));
    let defective = upload(&web, &faulty_name, &faulty).await;
    let html = concluded(&web, &defective).await;
    assert!(html.contains("status-flk_errors"), "{html}");
    let id: i64 = defective.rsplit('/').next().unwrap().parse().unwrap();
    let findings = node.metadata.claims_findings(id).await.unwrap();
    let found = findings
        .iter()
        .find(|finding| finding.element == "DATE_Z_2")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(
        (
            found.code,
            found.base.as_str(),
            found.n_zap.as_deref(),
            found.rule_id.as_deref()
        ),
        (904, "Z_SL", Some("2"), Some("006F.00.0340"))
    );
    assert!(
        html.contains("<td>904</td><td>006F.00.0340</td><td>DATE_Z_2</td><td>Z_SL</td><td>2</td>"),
        "{html}"
    );

    // The protocol, read as the standard V file.
    let protocol = web.get(&format!("{defective}/protocol")).await;
    assert_eq!(protocol.status, 200);
    assert_eq!(
        protocol.header("content-type").as_deref(),
        Some("application/zip")
    );
    let mut archive = zip::ZipArchive::new(Cursor::new(protocol.body.clone())).unwrap();
    let main = faulty_name.trim_end_matches(".zip");
    let mut entry = archive.by_name(&format!("V{main}.xml")).unwrap();
    let mut raw = Vec::new();
    entry.read_to_end(&mut raw).unwrap();
    let mut text = String::new();
    medgate_claims::xml::DecodingReader::new(raw.as_slice(), "protocol")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("encoding=\"windows-1251\""), "{text}");
    // The protocol's comment is Russian, as the fund's staff read it.
    assert!(
        text.contains(
            "<COMMENT>006F.00.0340: DATE_Z_2 &quot;2025-02-03&quot; не удовлетворяет условию DATE_Z_1&lt;=DSCHET</COMMENT>"
        ),
        "{text}"
    );
    // The pages show the comment in their language, from the finding's stored texts.
    assert_eq!(
        found.comment_ru,
        "DATE_Z_2 \"2025-02-03\" не удовлетворяет условию DATE_Z_1<=DSCHET"
    );
    assert!(
        html.contains(
            "DATE_Z_2 &quot;2025-02-03&quot; не удовлетворяет условию DATE_Z_1&lt;=DSCHET"
        ),
        "{html}"
    );
    let english = web.get(&format!("{defective}?lang=en")).await.text();
    assert!(
        english.contains("DATE_Z_2 &quot;2025-02-03&quot; does not satisfy DATE_Z_1&lt;=DSCHET"),
        "{english}"
    );
    web.get("/claims/flk?lang=ru").await;
    assert!(text.contains("<OSHIB>904</OSHIB>\n  <IM_POL>DATE_Z_2</IM_POL>\n  <BAS_EL>Z_SL</BAS_EL>\n  <N_ZAP>2</N_ZAP>"), "{text}");

    // Another MO's staff: the same 404 as a package that does not exist.
    let other = signed_in(&node, "140002").await;
    for path in [
        defective.clone(),
        format!("{defective}/protocol"),
        "/claims/packages/999999".to_owned(),
    ] {
        let page = other.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.text());
    }
    let flk = other.get("/claims/flk").await;
    assert!(!flk.text().contains(&faulty_name), "{}", flk.text());
    let mine = web.get("/claims/flk").await;
    assert!(mine.text().contains(&faulty_name));

    // The head of the MO reads the packages but does not upload.
    let head = signed_in_as(&node, "140001", Role::Head).await;
    let page = head.get("/claims/upload").await.text();
    assert!(
        page.contains("Пакеты загружает исполнитель") && page.contains(&faulty_name),
        "{page}"
    );
    assert!(!page.contains("multipart/form-data"), "{page}");
    let csrf = form_token(&page).unwrap();
    let refused = head
        .post_multipart(
            "/claims/upload",
            &[("csrf", &csrf), ("period", "2025-01")],
            &[("package", "HM140001S14002_25019.zip", b"x")],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(head.get(&defective).await.status, 200);

    // A file for another MO is refused with 802.
    let mut options = generate::Options::new(3, fund::parse_period("2025-01").unwrap());
    options.medical_organisation = "140002".to_owned();
    let mut buffer = Cursor::new(Vec::new());
    let name = generate::write_package(&mut buffer, &options).unwrap();
    let foreign = upload(
        &web,
        &format!("{}.zip", name.main_stem()),
        &buffer.into_inner(),
    )
    .await;
    let html = concluded(&web, &foreign).await;
    assert!(html.contains("802") && html.contains("M140002"), "{html}");

    // Every step is in the audit hash chain, with who did it.
    let entries = node.metadata.list_audit_all(1000).await.unwrap();
    let logged = |actor: &str, action: &str, target: &str| {
        entries
            .iter()
            .any(|e| e.actor == actor && e.action == action && e.target == target)
    };
    let executor = "claims:M140001_1";
    assert!(logged("cli", "claims.mo.add", "mo:140001"));
    assert!(logged("cli", "claims.user.add", "login:M140001_1"));
    assert!(logged(executor, "claims.link.open", "login:M140001_1"));
    assert!(logged(executor, "claims.signin", "M140001_1"));
    assert!(logged(
        executor,
        "claims.password.change",
        "login:M140001_1"
    ));
    assert!(logged(
        executor,
        "claims.package.upload",
        &format!("package:{id}")
    ));
    assert!(logged(
        executor,
        "claims.package.checked",
        &format!("package:{id}")
    ));
    assert!(logged(
        executor,
        "claims.protocol.download",
        &format!("package:{id}")
    ));
    assert!(node.metadata.verify_audit().await.unwrap().is_intact());

    // A closed period takes nothing.
    fund::close_period(
        &node.metadata,
        &operator(),
        "2025-01",
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let page = web.get("/claims/upload").await.text();
    assert!(page.contains("Нет открытых отчётных периодов"), "{page}");
    assert!(!page.contains("multipart/form-data"), "{page}");
    let csrf = form_token(&page).unwrap();
    let (name, bytes) = package("140001", 12, 4, None);
    let refused = web
        .post_multipart(
            "/claims/upload",
            &[("csrf", &csrf), ("period", "2025-01")],
            &[("package", &name, &bytes)],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused
            .text()
            .contains("отчётный период 2025-01 закрыт для приёма пакетов"),
        "{}",
        refused.text()
    );
    let packages = node.metadata.claims_packages("140001").await.unwrap();
    assert!(packages.iter().all(|package| package.file_name != name));
}

/// A package larger than any page body (1 MiB) passes the body guard unread and is streamed
/// to disk; on PostgreSQL too.
async fn a_package_larger_than_a_page_body_is_streamed_and_accepted(backend: Backend) {
    let Some(node) = claims_node_on(backend, &TWO_MOS, &["14002"]).await else {
        return;
    };
    let web = signed_in(&node, "140001").await;
    let mut options = generate::Options::new(20_000, fund::parse_period("2025-01").unwrap());
    options.medical_organisation = "140001".to_owned();
    let mut buffer = Cursor::new(Vec::new());
    let name = generate::write_package(&mut buffer, &options).unwrap();
    let bytes = buffer.into_inner();
    assert!(bytes.len() > 1024 * 1024, "{}", bytes.len());
    let name = format!("{}.zip", name.main_stem());
    let path = upload(&web, &name, &bytes).await;
    let html = concluded(&web, &path).await;
    assert!(html.contains("status-accepted"), "{html}");
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let stored = node.metadata.claims_package(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.cases, stored.size_bytes),
        (20_000, bytes.len() as u64)
    );
    let kept = std::fs::read(
        node.data
            .join("claims/packages")
            .join(id.to_string())
            .join(&name),
    )
    .unwrap();
    assert!(kept == bytes, "the kept package differs from the upload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_larger_than_a_page_body_is_streamed_on_sqlite() {
    a_package_larger_than_a_page_body_is_streamed_and_accepted(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_larger_than_a_page_body_is_streamed_on_postgres() {
    a_package_larger_than_a_page_body_is_streamed_and_accepted(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_left_checking_by_a_stopped_node_is_checked_when_it_starts() {
    let mut node = claims_node().await;
    let web = signed_in(&node, "140001").await;
    let (name, bytes) = package("140001", 12, 7, Some(Fault::DateAfterPeriod));
    // As an upload the node stopped during leaves it: registered, kept, not concluded.
    let uploader = medgate_claims::intake::Uploader {
        login: "M140001_1".to_owned(),
        mo_code: "140001".to_owned(),
        subdivision_code: None,
        origin: AuditOrigin::Cli,
    };
    node.stop().await;
    let id = medgate_claims::intake::register_upload(
        &node.metadata,
        &uploader,
        "2025-01",
        &name,
        &"ab".repeat(32),
        bytes.len() as u64,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let folder = node.data.join("claims/packages").join(id.to_string());
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(&name), &bytes).unwrap();
    node.restart().await;
    let html = concluded(&web, &format!("/claims/packages/{id}")).await;
    assert!(
        html.contains("status-flk_errors") && html.contains("DATE_Z_2"),
        "{html}"
    );
}

/// Installs the published MEK catalogues in the node's NSI folder, as `medgate claims nsi
/// import Q016.xml` does.
fn install_mek_catalogues(node: &Node) {
    let dir = node.data.join("claims").join("nsi");
    let shipped =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../medgate-claims/catalogues");
    for name in ["Q016.xml", "Q023.xml"] {
        let bytes = std::fs::read(shipped.join(name)).unwrap();
        medgate_claims::nsi::install(&dir, std::path::Path::new(name), &bytes).unwrap();
    }
}

/// The rows of the MEK findings table: the text of each cell.
fn mek_rows(html: &str) -> Vec<Vec<String>> {
    let Some(start) = html.find("<table class=\"findings mek\">") else {
        return Vec::new();
    };
    let table = &html[start..];
    let body = &table[table.find("<tbody>").unwrap() + 7..table.find("</tbody>").unwrap()];
    body.split("<tr>")
        .filter(|row| !row.is_empty())
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let cell = &cell[cell.find('>').unwrap() + 1..];
                    cell[..cell.find("</td>").unwrap()].to_owned()
                })
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mek_runs_on_the_node_with_its_installed_catalogue_and_paid_cases() {
    let node = claims_node().await;
    let web = signed_in(&node, "140001").await;

    // No MEK catalogue installed: the MEK tab says so; it does not claim "no findings".
    let (name, bytes) = package("140001", 12, 1, Some(Fault::SexDiagnosis));
    let first = upload(&web, &name, &bytes).await;
    concluded(&web, &first).await;
    let html = web.get(&format!("{first}/mek")).await.text();
    assert!(html.contains("не установлен каталог МЭК Q016"), "{html}");
    assert!(mek_rows(&html).is_empty());
    let id: i64 = first.rsplit('/').next().unwrap().parse().unwrap();
    let stored = node.metadata.claims_package(id).await.unwrap().unwrap();
    assert_eq!(stored.status, "accepted");
    assert_eq!(
        stored.mek,
        Some(medgate_storage::ClaimsMekSummary::NoCatalogue)
    );

    install_mek_catalogues(&node);

    // A man with O80: F014 207 (1.4.4.) by rule 003K.00.0620, the case's 501.00 withheld.
    let (name, bytes) = package("140001", 12, 2, Some(Fault::SexDiagnosis));
    let sex = upload(&web, &name, &bytes).await;
    let flk = concluded(&web, &sex).await;
    assert!(flk.contains("status-accepted_mek"), "{flk}");
    assert!(flk.contains("/mek\">МЭК</a>"), "{flk}");
    let page = web.get(&format!("{sex}/mek")).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert_eq!(
        mek_rows(&html),
        vec![vec![
            "207".to_owned(),
            "1.4.4.".to_owned(),
            "003K.00.0620".to_owned(),
            "DS1".to_owned(),
            "2".to_owned(),
            "2".to_owned(),
            "1".to_owned(),
            "501,00".to_owned(),
            "DS1 O80 (рубрика O) у пациента пола W=1: Несоответствие диагноза полу пациента"
                .to_owned(),
        ]],
        "{html}"
    );
    assert!(html.contains("Удержано всего: 501,00 руб."), "{html}");
    assert!(
        html.contains("Q016 1.9 (08.05.2020); Q023"),
        "{html}"
    );
    let id: i64 = sex.rsplit('/').next().unwrap().parse().unwrap();
    let stored = node.metadata.claims_package(id).await.unwrap().unwrap();
    assert_eq!(
        stored.mek,
        Some(medgate_storage::ClaimsMekSummary::Done {
            cases_checked: 12,
            cases_refused: 1,
            findings: 1,
            withheld_kopecks: 50_100,
            catalogues: "Q016 1.9 (08.05.2020); Q023 2.35 (12.02.2021)".to_owned(),
        })
    );
    let english = web.get(&format!("{sex}/mek?lang=en")).await.text();
    assert!(
        english.contains("Withheld in total: 501.00 RUB."),
        "{english}"
    );
    assert!(english.contains(">501.00</td>"), "{english}");
    assert!(
        english.contains("DS1 O80 (rubric O) for a patient of sex W=1: "),
        "{english}"
    );

    // The MEK list shows the package's totals.
    let list = web.get("/claims/mek?lang=ru").await.text();
    assert!(list.contains(&format!("{sex}/mek")), "{list}");
    assert!(list.contains(">501,00</td>"), "{list}");

    // A case paid before: recorded on the node, refused in a later package (221, 1.10.1).
    let keys = "140001;7700000000000001;2025-01-02;2025-01-02;3;97;J06.9\n";
    let imported = medgate_claims::intake::import_paid_cases(
        &node.metadata,
        &operator(),
        keys,
        "HM140001S14002_24121.zip",
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    assert_eq!((imported.read, imported.added), (1, 1));
    let bad = medgate_claims::intake::import_paid_cases(
        &node.metadata,
        &operator(),
        "140001;x;2025-01-02\n",
        "bad.txt",
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(bad.contains("line 1") && bad.contains("7 fields"), "{bad}");
    let (name, bytes) = package("140001", 12, 3, None);
    let paid = upload(&web, &name, &bytes).await;
    concluded(&web, &paid).await;
    let rows = mek_rows(&web.get(&format!("{paid}/mek?lang=ru")).await.text());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0][..8],
        ["221", "1.10.1.", "", "Z_SL", "1", "1", "", "500,50"]
    );

    // Another MO's package's MEK tab is not there.
    let other = signed_in(&node, "140002").await;
    assert_eq!(other.get(&format!("{sex}/mek")).await.status, 404);
}
