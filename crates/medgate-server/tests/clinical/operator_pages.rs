//! The service's operator pages in process (`/operator` on a `role = clinical` node, SQLite
//! and PostgreSQL): an operator login made as `medgate operator user create` makes it signs
//! in, registers an institution, a unit, a practitioner (the TOTP secret shown once, with its
//! QR code), grants and revokes a matrix line, issues a certificate (the PKCS#12 opened with
//! the one-time code the page shows) and has the institution's signed connection-check report
//! checked; every bad input is refused naming its rule with nothing stored, forged forms are
//! refused, wrong passwords lock the login out, and every change is in the audit log as the
//! operator's.

use base64::Engine as _;
use medgate_pki::keystore::read_pkcs12;
use medgate_pki::report::sign_report;
use medgate_pki::Password;
use serde_json::json;

use crate::support::web::{alert, form_token, operator_client, Page, WebClient};
use crate::support::{Backend, Node};

fn assert_refused(page: &Page, status: u16, words: &str) {
    assert_eq!(page.status, status, "{}", page.text());
    let alert = alert(&page.text());
    assert!(
        alert.contains("Elutasítva") && alert.contains(words),
        "the refusal should name {words:?}: {alert:?}"
    );
}

/// The value of `attribute="…"` in the element whose id is `id`.
fn attribute_of(html: &str, id: &str, attribute: &str) -> String {
    let element = html
        .split(&format!("id=\"{id}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = element.find(&format!("{attribute}=\"")).unwrap() + attribute.len() + 2;
    element[start..start + element[start..].find('"').unwrap()].to_owned()
}

fn text_of(html: &str, id: &str) -> String {
    let element = html.split(&format!("id=\"{id}\"")).nth(1).unwrap();
    let start = element.find('>').unwrap() + 1;
    element[start..start + element[start..].find('<').unwrap()].to_owned()
}

async fn operator_pages_do_what_the_command_line_does(backend: Backend) {
    let Some(node) = Node::start_clinical(backend).await else {
        return;
    };
    let store = &node.metadata;

    // Without a session: the sign-in page, in Hungarian.
    let anonymous = WebClient::new(&node);
    let page = anonymous.get("/operator/institutions").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location().as_deref(), Some("/operator"));
    let page = anonymous.get("/operator").await;
    assert!(
        page.text().contains("Bejelentkezés") && page.text().contains("Jelszó"),
        "{}",
        page.text()
    );

    let web = operator_client(&node, "eszter").await;
    if backend == Backend::Sqlite {
        // Wrong passwords: refused in the desk's words, then the login is locked (the
        // foundation's lock-out), in Hungarian.
        let stranger = WebClient::new(&node);
        let token = stranger.token("/operator").await;
        let mut last = String::new();
        for _ in 0..6 {
            let page = stranger
                .post(
                    "/operator",
                    &[
                        ("csrf", &token),
                        ("login", "eszter"),
                        ("password", "nem ez a jelszó"),
                    ],
                )
                .await;
            assert_ne!(page.status, 303, "a wrong password never signs in");
            last = alert(&page.text());
        }
        assert!(last.contains("Túl sok sikertelen próbálkozás"), "{last}");
    }
    let page = web.get("/operator/institutions").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Még nincs nyilvántartott intézmény."));
    let token = form_token(&page.text()).unwrap();

    // Institutions: a bad id is refused by its rule, nothing stored; then one registered.
    let page = web
        .post(
            "/operator/institutions",
            &[
                ("csrf", &token),
                ("id", "50609"),
                ("name", "Mosoly Fogászat"),
            ],
        )
        .await;
    assert_refused(&page, 400, "pontosan 6 számjegy");
    assert!(store.clinical_institutions().await.unwrap().is_empty());
    let page = web
        .post(
            "/operator/institutions",
            &[("csrf", &token), ("id", "506097"), ("name", "")],
        )
        .await;
    assert_refused(&page, 400, "1–200 karakter");
    let page = web
        .post(
            "/operator/institutions",
            &[
                ("csrf", &token),
                ("id", "506097"),
                ("name", "Mosoly Fogászat"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.text());
    assert_eq!(
        page.location().as_deref(),
        Some("/operator/institutions/506097?done=saved")
    );
    let page = web
        .post(
            "/operator/institutions",
            &[("csrf", &token), ("id", "506097"), ("name", "Másik")],
        )
        .await;
    assert_refused(&page, 409, "506097");
    // A form without this session's token changes nothing.
    let page = web
        .post(
            "/operator/institutions",
            &[("csrf", "forged"), ("id", "111111"), ("name", "Hamis")],
        )
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(store.clinical_institutions().await.unwrap().len(), 1);

    // Units.
    let page = web
        .post(
            "/operator/institutions/506097/units",
            &[
                ("csrf", &token),
                ("unit", "00104429x"),
                ("unit_name", "Rendelő"),
            ],
        )
        .await;
    assert_refused(&page, 400, "pontosan 9 számjegy");
    let page = web
        .post(
            "/operator/institutions/506097/units",
            &[
                ("csrf", &token),
                ("unit", "001044299"),
                ("unit_name", "Rendelő"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.text());
    let page = web.get("/operator/institutions/506097").await;
    assert!(page.text().contains("001044299") && page.text().contains("Rendelő"));
    assert!(page.text().contains("A kapcsolat még nincs ellenőrizve."));
    assert_eq!(web.get("/operator/institutions/999999").await.status, 404);

    // Practitioners: the stamp number's and the password's rules; then the secret shown once.
    let fields = |stamp: &'static str, password: &'static str| {
        vec![
            ("csrf", token.clone()),
            ("user_name", "dr.kovacs".to_owned()),
            ("name", "Dr. Kovács Anna".to_owned()),
            ("stamp_number", stamp.to_owned()),
            ("password", password.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let web = web.clone();
        async move {
            let borrowed: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            web.post("/operator/practitioners", &borrowed).await
        }
    };
    assert_refused(
        &post(fields("5801", "korrekt ló elem kapocs")).await,
        400,
        "pontosan 5 számjegy",
    );
    assert_refused(
        &post(fields("00000", "korrekt ló elem kapocs")).await,
        400,
        "nem mind nulla",
    );
    assert_refused(
        &post(fields("58012", "rövid")).await,
        400,
        "12–128 karakter",
    );
    assert!(store.clinical_practitioners().await.unwrap().is_empty());
    let page = post(fields("58012", "korrekt ló elem kapocs")).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    let uri = text_of(&page.text(), "otpauth");
    let stored = store
        .clinical_practitioner("dr.kovacs")
        .await
        .unwrap()
        .unwrap();
    assert!(
        uri.starts_with("otpauth://totp/medgate:dr.kovacs?secret="),
        "{uri}"
    );
    assert!(
        uri.contains(&stored.totp_secret),
        "the page shows the stored secret"
    );
    assert!(page.text().contains("<svg") && page.text().contains("id=\"totp-qr\""));
    let list = web.get("/operator/practitioners").await.text();
    assert!(list.contains("dr.kovacs") && list.contains("58012"));
    assert!(
        !list.contains(&stored.totp_secret),
        "the secret is shown once only"
    );
    let page = web
        .post(
            "/operator/practitioners/dr.kovacs/status?active=0",
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(
        !store
            .clinical_practitioner("dr.kovacs")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    web.post(
        "/operator/practitioners/dr.kovacs/status?active=1",
        &[("csrf", &token)],
    )
    .await;
    assert!(
        store
            .clinical_practitioner("dr.kovacs")
            .await
            .unwrap()
            .unwrap()
            .active
    );

    // The matrix: a unit of another rule or of no such unit refused; granted; revoked.
    let line = |unit: &'static str| {
        vec![
            ("csrf", token.as_str()),
            ("user_name", "dr.kovacs"),
            ("institution", "506097"),
            ("unit", unit),
            ("role", "orvos"),
        ]
    };
    assert_refused(
        &web.post("/operator/matrix", &line("12")).await,
        400,
        "pontosan 9 számjegy",
    );
    assert_refused(
        &web.post("/operator/matrix", &line("001044298")).await,
        404,
        "001044298",
    );
    assert!(store.clinical_matrix().await.unwrap().is_empty());
    assert_eq!(web.post("/operator/matrix", &line("")).await.status, 303);
    assert_eq!(
        web.post("/operator/matrix", &line("001044299"))
            .await
            .status,
        303
    );
    let page = web.get("/operator/matrix").await.text();
    assert!(
        page.contains("minden egység") && page.contains("orvos"),
        "{page}"
    );
    assert_eq!(
        web.post("/operator/matrix/revoke", &line("001044299"))
            .await
            .status,
        303
    );
    assert_eq!(store.clinical_matrix().await.unwrap().len(), 1);
    assert_refused(
        &web.post("/operator/matrix/revoke", &line("001044299"))
            .await,
        404,
        "dr.kovacs",
    );

    // A certificate: the validity's rule; then the PKCS#12 and its code, shown once.
    let issue = "/operator/institutions/506097/certificates";
    assert_refused(
        &web.post(issue, &[("csrf", &token), ("days", "0")]).await,
        400,
        "1 és 825 nap",
    );
    assert!(store.clinical_certificates().await.unwrap().is_empty());
    let page = web.post(issue, &[("csrf", &token), ("days", "30")]).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    let html = page.text();
    let code = text_of(&html, "one-time-code");
    let href = attribute_of(&html, "pkcs12", "href");
    let p12 = base64::engine::general_purpose::STANDARD
        .decode(
            href.strip_prefix("data:application/x-pkcs12;base64,")
                .unwrap(),
        )
        .unwrap();
    let opened = read_pkcs12(
        &p12,
        std::path::Path::new("issued.p12"),
        &Password::new(code),
    )
    .unwrap();
    let (certificate, key) = (opened.certificate.unwrap(), opened.key.unwrap());
    let serial = certificate
        .summary()
        .unwrap()
        .serial_hex
        .to_ascii_uppercase();
    let certificates = store.clinical_certificates().await.unwrap();
    assert_eq!(certificates.len(), 1);
    assert_eq!(certificates[0].0.serial, serial);
    assert!(web
        .get("/operator/certificates")
        .await
        .text()
        .contains(&serial));

    // The connection check: no file, a report of a failed check and a report that is no
    // signed report are refused; the institution's signed report of a passed check marks it.
    let connection = "/operator/institutions/506097/connection";
    let report = |usable: bool| {
        let json = json!({
            "usable": usable,
            "summary": if usable { "the service accepted the certificate" } else { "refused" },
            "client_certificate": { "tenant": "506097" },
        });
        sign_report(json.to_string().as_bytes(), &certificate, &key).unwrap()
    };
    let page = web
        .post_multipart(connection, &[("csrf", &token)], &[])
        .await;
    assert_refused(&page, 400, "jelentés");
    let failed = report(false);
    let page = web
        .post_multipart(
            connection,
            &[("csrf", &token)],
            &[("report", "report.json", &failed)],
        )
        .await;
    assert_refused(&page, 400, "the check did not pass");
    let page = web
        .post_multipart(
            connection,
            &[("csrf", &token)],
            &[("report", "report.json", b"{\"usable\":true}")],
        )
        .await;
    assert_refused(&page, 400, "not a signed connection-check report");
    assert!(store.clinical_institutions().await.unwrap()[0]
        .connection_verified_at
        .is_none());
    let passed = report(true);
    let page = web
        .post_multipart(
            connection,
            &[("csrf", &token)],
            &[("report", "report.json", &passed)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.text().contains("ellenőrzöttnek jelölve"),
        "{}",
        page.text()
    );
    assert!(page.text().contains("Kapcsolat ellenőrizve:"));
    assert!(store.clinical_institutions().await.unwrap()[0]
        .connection_verified_at
        .is_some());

    // Suspending the institution.
    let page = web
        .post(
            "/operator/institutions/506097/status?active=0",
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(!store.clinical_institutions().await.unwrap()[0].active);

    // English on request.
    let page = web.get("/operator/institutions?lang=en").await.text();
    assert!(
        page.contains("Institutions") && page.contains("suspended"),
        "{page}"
    );

    // Every change is the operator's in the audit log.
    let actions: Vec<String> = store
        .list_audit_all(1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|entry| entry.actor == "operator:eszter")
        .map(|entry| entry.action)
        .collect();
    for action in [
        "clinical.institution.register",
        "clinical.unit.add",
        "clinical.practitioner.register",
        "clinical.practitioner.suspend",
        "clinical.practitioner.activate",
        "clinical.matrix.grant",
        "clinical.matrix.revoke",
        "clinical.certificate.issue",
        "clinical.institution.connection-verified",
        "clinical.institution.suspend",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} not audited: {actions:?}"
        );
    }
    assert!(store.verify_audit().await.unwrap().is_intact());
}

#[tokio::test]
async fn sqlite_operator_pages_do_what_the_command_line_does() {
    operator_pages_do_what_the_command_line_does(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_operator_pages_do_what_the_command_line_does() {
    operator_pages_do_what_the_command_line_does(Backend::Postgres).await;
}
