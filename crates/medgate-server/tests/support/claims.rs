//! The claims desk of a claims node (`--role claims`) as its tests set it up: the fund's
//! register (MOs, insurers, the period 2025-01 open) made as the operator's
//! `medgate claims …` commands make it (`medgate_claims::fund`); logins whose one-time link
//! was opened and whose default password was replaced on the page; packages made by the
//! project's generator, uploaded on the page and followed until their control concludes.

use std::io::Cursor;
use std::time::Duration;

use medgate_claims::fund::{self, Actor, Role};
use medgate_claims::generate::{self, Fault};
use medgate_storage::AuditOrigin;
use time::OffsetDateTime;

use super::web::{Page, WebClient};
use super::{Backend, Node};

/// The password every login's default one is replaced with.
pub const NEW_PASSWORD: &str = "Новый-пароль 2025!";

/// The two MOs most tests register: codes and names.
pub const TWO_MOS: [(&str, &str); 2] = [
    ("140001", "Городская больница"),
    ("140002", "Районная больница"),
];

/// The fund's operator, as `medgate claims …` acts.
pub fn operator() -> Actor {
    Actor {
        name: "cli".to_owned(),
        origin: AuditOrigin::Cli,
    }
}

/// A claims node on `backend` with the MOs `mos` (code, name), the insurers `insurers`
/// (each named «СМО») and the period 2025-01 open, as the fund's operator makes them; `None`
/// when PostgreSQL is unavailable and the test is skipped.
pub async fn claims_node_on(
    backend: Backend,
    mos: &[(&str, &str)],
    insurers: &[&str],
) -> Option<Node> {
    let node = Node::start_claims(backend).await?;
    let now = OffsetDateTime::now_utc();
    for (code, name) in mos {
        fund::add_medical_organisation(&node.metadata, &operator(), code, name, now)
            .await
            .unwrap();
    }
    for code in insurers {
        fund::add_insurer(&node.metadata, &operator(), code, "СМО", now)
            .await
            .unwrap();
    }
    fund::open_period(&node.metadata, &operator(), "2025-01", now)
        .await
        .unwrap();
    Some(node)
}

/// A new login of `mo` with `role`: its name and its link's token.
pub async fn new_login_as(node: &Node, mo: &str, role: Role) -> (String, String) {
    let issued = fund::add_user(
        &node.metadata,
        &operator(),
        mo,
        role,
        None,
        "Иванова И. И.",
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    (issued.login.clone(), issued.token.clone())
}

/// The default password shown on an opened link's page.
pub fn default_password_on(html: &str) -> String {
    let start = html.find("<code id=\"default-password\">").unwrap() + 28;
    html[start..].split('<').next().unwrap().to_owned()
}

/// Posts the sign-in form of `/claims`.
pub async fn sign_in(web: &WebClient, login: &str, password: &str) -> Page {
    let token = web.token("/claims").await;
    web.post(
        "/claims",
        &[("csrf", &token), ("login", login), ("password", password)],
    )
    .await
}

/// Opens the one-time link and signs in with the default password (the password page next).
pub async fn first_sign_in(node: &Node, login: &str, token: &str) -> (WebClient, String) {
    let web = WebClient::new(node);
    let page = web.post("/claims/link", &[("token", token)]).await;
    let password = default_password_on(&page.text());
    let signed = sign_in(&web, login, &password).await;
    assert_eq!(signed.status, 303, "{}", signed.text());
    (web, password)
}

/// Posts the password form: `current` replaced by `new`, repeated.
pub async fn change_password(web: &WebClient, current: &str, new: &str) -> Page {
    let csrf = web.token("/claims/password").await;
    web.post(
        "/claims/password",
        &[
            ("csrf", &csrf),
            ("current", current),
            ("new", new),
            ("repeat", new),
        ],
    )
    .await
}

/// Opens the login's one-time link, signs in with the default password and replaces it
/// with [`NEW_PASSWORD`].
pub async fn through_link(node: &Node, login: &str, token: &str) -> WebClient {
    let (web, password) = first_sign_in(node, login, token).await;
    let changed = change_password(&web, &password, NEW_PASSWORD).await;
    assert_eq!(changed.status, 303, "{}", changed.text());
    web
}

/// A new login of `mo` with `role`, its link opened and its password changed.
pub async fn signed_in_as(node: &Node, mo: &str, role: Role) -> WebClient {
    let (login, token) = new_login_as(node, mo, role).await;
    through_link(node, &login, &token).await
}

/// A new reviewer of the insurer `smo`, its link opened and its password changed.
pub async fn reviewer_login(node: &Node, smo: &str) -> WebClient {
    let issued = fund::add_reviewer(
        &node.metadata,
        &operator(),
        smo,
        "Петров П. П.",
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    assert!(issued.login.starts_with(&format!("S{smo}_R")));
    through_link(node, &issued.login, &issued.token).await
}

/// A package of `cases` cases by MO `mo` for 2025-01 with `number`, `fault` seeded: its
/// file name and bytes.
pub fn package(mo: &str, cases: u32, number: u32, fault: Option<Fault>) -> (String, Vec<u8>) {
    let mut options = generate::Options::new(cases, fund::parse_period("2025-01").unwrap());
    options.medical_organisation = mo.to_owned();
    options.fault = fault;
    options.number = number;
    let mut buffer = Cursor::new(Vec::new());
    let name = generate::write_package(&mut buffer, &options).unwrap();
    (format!("{}.zip", name.main_stem()), buffer.into_inner())
}

/// Uploads on the page for 2025-01; answers the package's page path.
pub async fn upload(web: &WebClient, name: &str, bytes: &[u8]) -> String {
    let csrf = web.token("/claims/upload").await;
    let page = web
        .post_multipart(
            "/claims/upload",
            &[("csrf", &csrf), ("period", "2025-01")],
            &[("package", name, bytes)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.text());
    page.location().unwrap()
}

/// The package's page once its control has concluded (refreshing every 2 s until then).
pub async fn concluded(web: &WebClient, path: &str) -> String {
    for _ in 0..300 {
        let page = web.get(path).await;
        assert_eq!(page.status, 200, "{}", page.text());
        let html = page.text();
        if !html.contains("status-checking") {
            assert!(page.header("refresh").is_none());
            return html;
        }
        assert_eq!(page.header("refresh").as_deref(), Some("2"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} is still being checked");
}

/// Uploads on the page and waits until the package's control has concluded.
pub async fn upload_and_wait(web: &WebClient, name: &str, bytes: &[u8]) {
    let path = upload(web, name, bytes).await;
    concluded(web, &path).await;
}
