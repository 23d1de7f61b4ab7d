//! The fund operator's pages in process (`/operator` on a `role = claims` node, SQLite and
//! PostgreSQL): an operator made as `medgate operator user create` makes it signs in, in
//! Russian by default; registers an MO, a subdivision, an insurer, opens and closes a period
//! (bad codes refused naming their rule, nothing stored); issues a new one-time link for an
//! MO login (shown once, opening once); issues an MO system's certificate (its PKCS#12 opening
//! with the code shown once) and revokes one; forged forms are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use medgate_claims::fund::{self, Actor, Role};
use medgate_pki::Password;
use medgate_storage::AuditOrigin;
use time::OffsetDateTime;

mod support;
use support::web::{alert, operator_client, WebClient};
use support::{Backend, Node};

fn cli() -> Actor {
    Actor {
        name: "cli".to_owned(),
        origin: AuditOrigin::Cli,
    }
}

async fn post_form(
    web: &WebClient,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> support::web::Page {
    let csrf = web.token(page).await;
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    web.post(action, &all).await
}

async fn operator_pages_keep_the_registry(backend: Backend) {
    let Some(node) = Node::start_claims(backend).await else {
        return;
    };
    let store = &node.metadata;

    let anonymous = WebClient::new(&node);
    let page = anonymous.get("/operator/registry").await;
    assert_eq!(
        (page.status, page.location().as_deref()),
        (303, Some("/operator"))
    );
    let page = anonymous.get("/operator").await;
    assert!(
        page.text()
            .contains("Вход для операторов территориального фонда"),
        "{}",
        page.text()
    );

    let web = operator_client(&node, "fond-operator").await;
    let page = web.get("/operator/registry").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("Справочники фонда")
            && page.text().contains("Медицинских организаций пока нет.")
    );
    let english = web.get("/operator/registry?lang=en").await;
    assert!(
        english.text().contains("Medical organisations")
            && english.text().contains("Reporting periods"),
        "{}",
        english.text()
    );
    assert_eq!(web.get("/operator/registry?lang=ru").await.status, 200);

    // The registry, as the command line keeps it.
    let registry = "/operator/registry";
    let done = post_form(
        &web,
        registry,
        "/operator/registry/mo",
        &[("mo_code", "140001"), ("mo_name", "Городская больница")],
    )
    .await;
    assert_eq!(
        (done.status, done.location().as_deref()),
        (303, Some("/operator/registry?done=saved"))
    );
    let refused = post_form(
        &web,
        registry,
        "/operator/registry/mo",
        &[("mo_code", "14001"), ("mo_name", "x")],
    )
    .await;
    assert_eq!(refused.status, 400);
    let said = alert(&refused.text());
    assert!(
        said.contains("Отклонено: код МО «14001» не подходит: нужно 6 цифр (федеральный код)"),
        "{said}"
    );
    // The same refusal on the English page, in English.
    web.get("/operator/registry?lang=en").await;
    let refused = post_form(
        &web,
        registry,
        "/operator/registry/mo",
        &[("mo_code", "14001"), ("mo_name", "x")],
    )
    .await;
    let said = alert(&refused.text());
    assert!(
        said.contains("Refused: MO code &quot;14001&quot; is not valid: must be 6 digits"),
        "{said}"
    );
    web.get("/operator/registry?lang=ru").await;
    assert_eq!(
        store.claims_medical_organisations().await.unwrap().len(),
        1,
        "nothing stored"
    );
    let again = post_form(
        &web,
        registry,
        "/operator/registry/mo",
        &[("mo_code", "140001"), ("mo_name", "again")],
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.text());
    assert!(
        alert(&again.text()).contains("медицинская организация 140001 уже зарегистрирован(а)"),
        "{}",
        again.text()
    );
    assert_eq!(
        post_form(
            &web,
            registry,
            "/operator/registry/subdivision",
            &[
                ("mo", "140001"),
                ("subdivision_code", "01"),
                ("subdivision_name", "Центр 1")
            ]
        )
        .await
        .status,
        303
    );
    assert_eq!(
        post_form(
            &web,
            registry,
            "/operator/registry/insurer",
            &[("smo_code", "14002"), ("smo_name", "СМО")]
        )
        .await
        .status,
        303
    );
    assert_eq!(
        post_form(
            &web,
            registry,
            "/operator/registry/period/open",
            &[("period", "2025-01")]
        )
        .await
        .status,
        303
    );
    let bad = post_form(
        &web,
        registry,
        "/operator/registry/period/open",
        &[("period", "2025-13")],
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(
        alert(&bad.text())
            .contains("период «2025-13» не подходит: нужен формат ГГГГ-ММ, месяц 2000–2099 годов"),
        "{}",
        bad.text()
    );
    let page = web.get(registry).await.text();
    for shown in [
        "140001",
        "Городская больница",
        "Центр 1",
        "14002",
        "2025-01",
        "открыт",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert_eq!(
        post_form(
            &web,
            registry,
            "/operator/registry/period/close",
            &[("period", "2025-01")]
        )
        .await
        .status,
        303
    );
    assert!(!store.claims_periods().await.unwrap()[0].open);
    assert!(web.get(registry).await.text().contains("закрыт"));

    // A forged form changes nothing.
    let forged = web
        .post(
            "/operator/registry/period/open",
            &[("csrf", "forged"), ("period", "2025-02")],
        )
        .await;
    assert_ne!(forged.status, 303);
    assert_eq!(store.claims_periods().await.unwrap().len(), 1);

    // A login's new one-time link: shown once on the answer, and it opens once.
    let issued = fund::add_user(
        store,
        &cli(),
        "140001",
        Role::Executor,
        Some("01"),
        "Иванова И. И.",
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let logins = web.get("/operator/logins").await.text();
    assert!(
        logins.contains(&issued.login) && logins.contains("ссылка не открыта"),
        "{logins}"
    );
    let answer = post_form(
        &web,
        "/operator/logins",
        "/operator/logins/link",
        &[("login", &issued.login)],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let html = answer.text();
    let start = html.find("id=\"one-time-link\" class=\"mono\">").unwrap() + 31;
    let link = &html[start..start + html[start..].find('<').unwrap()];
    let token = link.rsplit('=').next().unwrap();
    assert_eq!(token.len(), 64, "{link}");
    assert!(
        !web.get("/operator/logins").await.text().contains(token),
        "shown once"
    );
    let staff = WebClient::new(&node);
    assert_eq!(
        staff.post("/claims/link", &[("token", token)]).await.status,
        200
    );
    assert_eq!(
        staff.post("/claims/link", &[("token", token)]).await.status,
        410
    );
    assert_eq!(
        staff
            .post("/claims/link", &[("token", &issued.token)])
            .await
            .status,
        404,
        "the old link is gone"
    );

    // An MO system's certificate issued from the page: the PKCS#12 and its code appear on the
    // answer only, and the file opens with the code.
    let page = web.get("/operator/certificates").await.text();
    assert!(page.contains("Выдать сертификат МИС"), "{page}");
    let english = web.get("/operator/certificates?lang=en").await.text();
    assert!(english.contains("Issue an MIS certificate"), "{english}");
    // Back to Russian (the choice of language is kept for the session).
    web.get("/operator/certificates?lang=ru").await;
    let answer = post_form(
        &web,
        "/operator/certificates",
        "/operator/certificates/issue",
        &[("mo", "140001"), ("subdivision", ""), ("days", "30")],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let html = answer.text();
    assert!(html.contains("Скачать файл PKCS#12"), "{html}");
    let between = |start: &str, end: char| {
        let from = html.find(start).unwrap() + start.len();
        html[from..from + html[from..].find(end).unwrap()].to_owned()
    };
    let code = between("id=\"one-time-code\">", '<');
    assert_eq!(code.len(), 19, "{code}");
    let data = between("base64,", '"');
    let pkcs12 = base64::engine::general_purpose::STANDARD
        .decode(&data)
        .unwrap();
    let code = Password::new(code);
    let contents =
        medgate_pki::keystore::read_pkcs12(&pkcs12, std::path::Path::new("mis.p12"), &code)
            .unwrap();
    assert!(contents.key.is_some());
    let summary = contents.certificate.unwrap().summary().unwrap();
    let stored = store
        .claims_mo_certificate(&summary.serial_hex.to_ascii_uppercase())
        .await
        .unwrap()
        .expect("the issued certificate is recorded");
    assert_eq!(
        (stored.mo_code.as_str(), stored.revoked_at),
        ("140001", None)
    );
    assert!(
        medgate_pki::keystore::read_pkcs12(
            &pkcs12,
            std::path::Path::new("mis.p12"),
            &Password::new("wrong-code".to_owned())
        )
        .is_err(),
        "the file opens with its code only"
    );
    let later = web.get("/operator/certificates").await.text();
    assert!(
        later.contains(&stored.serial) && !later.contains(&data[..40]),
        "the file is shown once"
    );
    // Refusals name their rule, and nothing is issued.
    let before = store.claims_mo_certificates(None).await.unwrap().len();
    for (fields, status, words) in [
        (
            [("mo", "140001"), ("subdivision", ""), ("days", "много")],
            400,
            "Отклонено: Срок действия — от 1 до 825 дней.",
        ),
        (
            [("mo", "140001"), ("subdivision", ""), ("days", "900")],
            400,
            "Отклонено: срок действия (дней) «900» не подходит: срок действия — от 1 до 825 дней",
        ),
        (
            [("mo", "149999"), ("subdivision", ""), ("days", "30")],
            404,
            "медицинская организация 149999 не зарегистрирован(а)",
        ),
        (
            [("mo", "140001"), ("subdivision", "77"), ("days", "30")],
            404,
            "77",
        ),
    ] {
        let answer = post_form(
            &web,
            "/operator/certificates",
            "/operator/certificates/issue",
            &fields,
        )
        .await;
        assert_eq!(answer.status, status, "{fields:?}: {}", answer.text());
        let text = alert(&answer.text());
        assert!(text.contains(words), "{fields:?}: {text}");
        assert!(!answer.text().contains("one-time-code"));
    }
    assert_eq!(
        store.claims_mo_certificates(None).await.unwrap().len(),
        before
    );

    // An MO system's certificate revoked from the page.
    let certificate = medgate_claims::systems::issue_certificate(
        store,
        &cli(),
        &node.ca,
        "140001",
        None,
        30,
        &Password::new("код".to_owned()),
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let page = web.get("/operator/certificates").await.text();
    assert!(
        page.contains(&certificate.serial) && page.contains("Отозвать"),
        "{page}"
    );
    let revoked = post_form(
        &web,
        "/operator/certificates",
        "/operator/certificates/revoke",
        &[
            ("serial", &certificate.serial),
            ("reason", "отозван оператором фонда"),
        ],
    )
    .await;
    assert_eq!(revoked.status, 303, "{}", revoked.text());
    let stored = store
        .claims_mo_certificate(&certificate.serial)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.revoked_at.is_some());
    let again = post_form(
        &web,
        "/operator/certificates",
        "/operator/certificates/revoke",
        &[("serial", &certificate.serial), ("reason", "x")],
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.text());
    assert!(web
        .get("/operator/certificates")
        .await
        .text()
        .contains("отозван"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_pages_keep_the_registry_on_sqlite() {
    operator_pages_keep_the_registry(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_pages_keep_the_registry_on_postgres() {
    operator_pages_keep_the_registry(Backend::Postgres).await;
}
