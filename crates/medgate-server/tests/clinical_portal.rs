//! The patients' portal of the clinical record service in process: a node of `role =
//! clinical` on loopback with two institutions enrolled; a patient's account made as
//! `medgate clinical patient add` makes it, activated with its one-time code; sign-in (wrong
//! password, lock-out); each tab (documents with details and content, profile with an entry's
//! versions, referrals, access log, restrictions) in Hungarian and English; a restriction set
//! on the portal refusing a practitioner's read on the FHIR API at once, break-glass with a
//! reason then shown in the patient's access log with its institution, the restriction lifted;
//! nothing of another patient reachable by id.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use medgate_clinical::accounts::create_patient_account;
use medgate_clinical::admin::Operator;
use medgate_clinical::auth::{self, SignIn};
use medgate_clinical::documents::{self, NewDocument};
use medgate_clinical::{referrals, resources, Caller, ResourceType};
use medgate_ids::{InstitutionId, Taj};
use medgate_storage::AuditOrigin;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};

mod support;
use support::web::{alert, form_token, WebClient};
use support::{Node, Options};

const ANNA: &str = "123456788";
const BELA: &str = "111111110";
const PASSWORD: &str = "Hosszú-jelszó 2026 tavasz";

fn caller(user: &str, institution: &str) -> Caller {
    Caller {
        user_name: user.to_owned(),
        institution: InstitutionId::parse(institution).unwrap(),
        origin: AuditOrigin::Cli,
    }
}

fn document(
    node: &Node,
    patient: &str,
    title: &str,
    content_type: &str,
    data: &[u8],
) -> NewDocument {
    NewDocument {
        patient: Taj::parse(patient).unwrap(),
        encounter: None,
        content_type: content_type.to_owned(),
        title: title.to_owned(),
        data: data.to_vec(),
        fhir_base_url: format!("{}fhir", node.url),
        identifier: None,
    }
}

fn condition(patient: &str, text: &str) -> Value {
    json!({
        "resourceType": "Condition",
        "subject": { "reference": format!("Patient/{patient}") },
        "code": { "text": text }
    })
}

/// A practitioner's system calling the FHIR API over mutual TLS with a session.
struct Fhir {
    http: reqwest::Client,
    base: url::Url,
    token: String,
}

impl Fhir {
    async fn new(
        node: &Node,
        enrolled: &support::clinical::Enrolled,
        user: &str,
        institution: &str,
    ) -> Fhir {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(node.ca.certificate().der().to_vec()))
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(
                vec![CertificateDer::from(enrolled.certificate.der().to_vec())],
                PrivateKeyDer::Pkcs8(enrolled.key.pkcs8_der().to_vec().into()),
            )
            .unwrap();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let now = node.clock.now();
        let code = auth::totp_code(&enrolled.totp_secret, now).unwrap();
        let opened = auth::sign_in(
            &node.metadata,
            &SignIn {
                user_name: user,
                password: support::clinical::PASSWORD,
                one_time_code: &code,
                institution: &InstitutionId::parse(institution).unwrap(),
                origin: AuditOrigin::Cli,
            },
            now,
        )
        .await
        .unwrap();
        Fhir {
            http,
            base: node.url.clone(),
            token: opened.token,
        }
    }

    async fn read(&self, path: &str, break_glass: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .get(self.base.join(path).unwrap())
            .bearer_auth(&self.token);
        if let Some(reason) = break_glass {
            request = request.header("medgate-break-glass", reason);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// The value of the first `name="<field>" value="…"` on a page.
fn field_value(html: &str, field: &str) -> Option<String> {
    let marker = format!("name=\"{field}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_owned())
}

async fn activate(client: &WebClient, taj: &str, code: &str, password: &str) -> support::web::Page {
    let token = client.token("/portal/activate").await;
    client
        .post(
            "/portal/activate",
            &[
                ("csrf", &token),
                ("taj", taj),
                ("code", code),
                ("password", password),
                ("password2", password),
            ],
        )
        .await
}

async fn sign_in(client: &WebClient, taj: &str, password: &str) -> support::web::Page {
    let token = client.token("/portal").await;
    client
        .post(
            "/portal",
            &[("csrf", &token), ("taj", taj), ("password", password)],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patients_see_their_record_and_restrict_it_on_the_clinical_portal() {
    let node = Node::start_with(Options {
        role: Some("clinical".into()),
        ..Options::default()
    })
    .await;
    let kovacs_enrolled =
        support::clinical::enrol(&node, "506097", "001044299", "dr.kovacs", "58012").await;
    let nagy_enrolled =
        support::clinical::enrol(&node, "111111", "002000001", "dr.nagy", "41234").await;
    let store = &node.metadata;
    let now = node.clock.now();
    let kovacs = caller("dr.kovacs", "506097");
    let nagy = caller("dr.nagy", "111111");

    // Anna's record in two institutions; Béla's beside it.
    let pdf = b"%PDF-1.4\n% Ambulans lap\n%%EOF\n".to_vec();
    let summary = documents::submit(
        store,
        &kovacs,
        &document(&node, ANNA, "Ambuláns lap", "application/pdf", &pdf),
        now,
    )
    .await
    .unwrap();
    let pdf_id = summary.resource["id"].as_str().unwrap().to_owned();
    let cda = "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>Zárójelentés &amp; javaslat</title></ClinicalDocument>".as_bytes().to_vec();
    let report = documents::submit(
        store,
        &nagy,
        &document(&node, ANNA, "Zárójelentés", "application/hl7-v3+xml", &cda),
        now,
    )
    .await
    .unwrap();
    let cda_id = report.resource["id"].as_str().unwrap().to_owned();
    let entry = resources::create(
        store,
        &kovacs,
        ResourceType::Condition,
        condition(ANNA, "Magas vérnyomás"),
        now,
    )
    .await
    .unwrap();
    let entry_id = entry["id"].as_str().unwrap().to_owned();
    resources::update(
        store,
        &nagy,
        ResourceType::Condition,
        &entry_id,
        condition(ANNA, "Magas vérnyomás, kezelt"),
        Some(1),
        now,
    )
    .await
    .unwrap();
    referrals::issue(
        store,
        &kovacs,
        json!({
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "subject": { "reference": format!("Patient/{ANNA}") },
            "performerType": { "text": "kardiológia" }
        }),
        now,
    )
    .await
    .unwrap();
    let other = documents::submit(
        store,
        &kovacs,
        &document(
            &node,
            BELA,
            "Béla lapja",
            "application/pdf",
            b"%PDF-1.4\n%%EOF\n",
        ),
        now,
    )
    .await
    .unwrap();
    let other_id = other.resource["id"].as_str().unwrap().to_owned();
    let other_entry = resources::create(
        store,
        &kovacs,
        ResourceType::Condition,
        condition(BELA, "Béla asztmája"),
        now,
    )
    .await
    .unwrap();
    let other_entry_id = other_entry["id"].as_str().unwrap().to_owned();

    // The operator creates the accounts (the code printed once).
    let operator = Operator {
        name: "cli".to_owned(),
        origin: AuditOrigin::Cli,
    };
    let anna = create_patient_account(store, &operator, ANNA, "Kiss Anna", now)
        .await
        .unwrap();
    let bela = create_patient_account(store, &operator, BELA, "Nagy Béla", now)
        .await
        .unwrap();

    // The sign-in page speaks Hungarian by default, English on request; no script.
    let browser = WebClient::new(&node);
    let page = browser.get("/portal").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("lang=\"hu\"") && html.contains("Bejelentkezés") && html.contains("TAJ szám"),
        "{html}"
    );
    assert!(!html.contains("<script"));
    let english = browser.get("/portal?lang=en").await.text();
    assert!(
        english.contains("lang=\"en\"")
            && english.contains("TAJ number")
            && english.contains("Sign in")
    );
    let _ = browser.get("/portal?lang=hu").await;

    // Activation: a wrong code and a bad TAJ refused; the right code once.
    let wrong = activate(&browser, ANNA, "AAAA-BBBB-CCCC-DDDD", PASSWORD).await;
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    assert!(
        alert(&wrong.text()).contains("aktiválás nem sikerült"),
        "{}",
        wrong.text()
    );
    let bad = activate(&browser, "123456789", &anna.activation_code, PASSWORD).await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.text().contains("Érvénytelen TAJ szám"),
        "{}",
        bad.text()
    );
    let done = activate(
        &browser,
        ANNA,
        &anna.activation_code.to_lowercase(),
        PASSWORD,
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(done.location().as_deref(), Some("/portal?notice=activated"));
    assert_eq!(
        activate(&browser, ANNA, &anna.activation_code, PASSWORD)
            .await
            .status,
        401
    );

    // Sign-in: a wrong password refused in the same words as an unknown account; Béla's
    // TAJ locked by the fifth failure, his right password then refused too.
    let refused = sign_in(&browser, ANNA, "nem ez a jelszó").await;
    assert_eq!(refused.status, 401);
    assert!(alert(&refused.text()).contains("TAJ szám vagy a jelszó hibás"));
    let unknown = sign_in(&browser, "111111213", PASSWORD).await;
    assert_eq!(alert(&unknown.text()), alert(&refused.text()));
    let other_browser = WebClient::new(&node);
    assert_eq!(
        activate(&other_browser, BELA, &bela.activation_code, PASSWORD)
            .await
            .status,
        303
    );
    for _ in 0..4 {
        assert_eq!(
            sign_in(&other_browser, BELA, "rossz jelszó!!").await.status,
            401
        );
    }
    assert_eq!(
        sign_in(&other_browser, BELA, "rossz jelszó!!").await.status,
        429
    );
    let locked = sign_in(&other_browser, BELA, PASSWORD).await;
    assert_eq!(locked.status, 429);
    assert!(
        alert(&locked.text()).contains("zárolva"),
        "{}",
        locked.text()
    );

    let signed_in = sign_in(&browser, ANNA, PASSWORD).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text());
    assert_eq!(signed_in.location().as_deref(), Some("/portal/documents"));

    // Documents across both institutions, newest first.
    let documents = browser.get("/portal/documents").await.text();
    assert!(
        documents.contains("Kiss Anna · TAJ 123456788"),
        "{documents}"
    );
    for text in [
        "Ambuláns lap",
        "Zárójelentés",
        "Intézmény 506097 (506097)",
        "Intézmény 111111 (111111)",
        "application/pdf",
    ] {
        assert!(documents.contains(text), "{text}: {documents}");
    }
    assert!(!documents.contains("Béla lapja"));
    let details = browser.get(&format!("/portal/documents/{pdf_id}")).await;
    assert_eq!(details.status, 200);
    let details = details.text();
    assert!(
        details.contains(&format!("DocumentReference/{pdf_id}"))
            && details.contains(&format!("{} B", pdf.len())),
        "{details}"
    );
    let content = browser
        .get(&format!("/portal/documents/{pdf_id}/content"))
        .await;
    assert_eq!(content.status, 200);
    assert_eq!(
        content.header("content-type").as_deref(),
        Some("application/pdf")
    );
    assert!(content
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(content.body, pdf);
    let cda_page = browser
        .get(&format!("/portal/documents/{cda_id}?lang=en"))
        .await
        .text();
    assert!(
        cda_page.contains("The document&#39;s text (CDA XML)")
            || cda_page.contains("The document's text (CDA XML)"),
        "{cda_page}"
    );
    assert!(
        cda_page.contains("&lt;title&gt;Zárójelentés &amp;amp; javaslat&lt;/title&gt;"),
        "{cda_page}"
    );
    let _ = browser.get("/portal/documents?lang=hu").await;

    // Profile with the entry's versions.
    let profile = browser.get("/portal/profile").await.text();
    assert!(
        profile.contains("Magas vérnyomás, kezelt") && profile.contains("Krónikus betegség"),
        "{profile}"
    );
    let history = browser
        .get(&format!("/portal/profile/Condition/{entry_id}"))
        .await;
    assert_eq!(history.status, 200);
    let history = history.text();
    assert!(
        history.contains("Magas vérnyomás, kezelt") && history.contains(">Magas vérnyomás<"),
        "{history}"
    );
    assert!(
        history.contains("Intézmény 111111 (111111)")
            && history.contains("Intézmény 506097 (506097)")
    );

    // Referrals with their status.
    let referrals_page = browser.get("/portal/referrals").await.text();
    assert!(
        referrals_page.contains("kardiológia") && referrals_page.contains("kiállítva"),
        "{referrals_page}"
    );

    // Isolation: Béla's document and entry are the same 404 as what does not exist.
    let missing = browser.get("/portal/documents/no-such-document").await;
    assert_eq!(missing.status, 404);
    for path in [
        format!("/portal/documents/{other_id}"),
        format!("/portal/documents/{other_id}/content"),
        format!("/portal/profile/Condition/{other_entry_id}"),
        "/portal/profile/Binary/x".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert_eq!(alert(&page.text()), alert(&missing.text()), "{path}");
        assert!(!page.text().contains("Béla"), "{path}");
        assert_eq!(
            page.header("content-type").as_deref(),
            Some("text/html; charset=utf-8")
        );
    }

    // A restriction set on the portal is in force on the FHIR API at once.
    let practitioner = Fhir::new(&node, &nagy_enrolled, "dr.nagy", "111111").await;
    let _ = Fhir::new(&node, &kovacs_enrolled, "dr.kovacs", "506097").await;
    let read = format!("/fhir/DocumentReference/{pdf_id}");
    assert_eq!(practitioner.read(&read, None).await.0, 200);
    let restrictions = browser.get("/portal/restrictions").await.text();
    assert!(restrictions.contains("Nincs korlátozás"), "{restrictions}");
    let token = form_token(&restrictions).unwrap();
    // Bad input is named, nothing stored; a form without its token is refused.
    let bad_institution = browser
        .post(
            "/portal/restrictions",
            &[
                ("csrf", &token),
                ("scope", "institution"),
                ("institution", "12345"),
            ],
        )
        .await;
    assert_eq!(bad_institution.status, 400);
    assert!(
        bad_institution
            .text()
            .contains("Érvénytelen intézmény azonosító"),
        "{}",
        bad_institution.text()
    );
    let unknown_institution = browser
        .post(
            "/portal/restrictions",
            &[
                ("csrf", &token),
                ("scope", "institution"),
                ("institution", "999999"),
            ],
        )
        .await;
    assert_eq!(unknown_institution.status, 400);
    assert!(unknown_institution
        .text()
        .contains("Nincs 999999 azonosítójú intézmény"));
    let not_mine = browser
        .post(
            "/portal/restrictions",
            &[
                ("csrf", &token),
                ("scope", "document"),
                ("document", &other_id),
            ],
        )
        .await;
    assert_eq!(not_mine.status, 404);
    let no_document = browser
        .post(
            "/portal/restrictions",
            &[("csrf", &token), ("scope", "document"), ("document", " ")],
        )
        .await;
    assert_eq!(no_document.status, 400);
    let forged = browser
        .post(
            "/portal/restrictions",
            &[("csrf", "forged"), ("scope", "all")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(browser
        .get("/portal/restrictions")
        .await
        .text()
        .contains("Nincs korlátozás"));
    let restricted = browser
        .post(
            "/portal/restrictions",
            &[("csrf", &token), ("scope", "all")],
        )
        .await;
    assert_eq!(restricted.status, 303, "{}", restricted.text());
    let (status, refusal) = practitioner.read(&read, None).await;
    assert_eq!(status, 403, "{refusal}");
    assert_eq!(
        refusal["issue"][0]["details"]["coding"][0]["code"],
        "restricted"
    );
    let reason = "eszméletlen beteg a sürgősségin";
    let (status, opened) = practitioner.read(&read, Some(reason)).await;
    assert_eq!(status, 200, "{opened}");

    // The access log shows the break-glass with its reason and institution, and Anna's own
    // views as hers.
    let log = browser.get("/portal/access-log").await.text();
    assert!(
        log.contains("dr.nagy") && log.contains("Intézmény 111111 (111111)"),
        "{log}"
    );
    assert!(
        log.contains(&format!("Vészhelyzeti hozzáférés — indok: {reason}")),
        "{log}"
    );
    assert!(log.contains("<td data-label=\"Ki\">Ön</td>"), "{log}");
    let english_log = browser.get("/portal/access-log?lang=en").await.text();
    assert!(english_log.contains(&format!("Emergency access — reason: {reason}")));
    let _ = browser.get("/portal/access-log?lang=hu").await;

    // Lifted, the practitioner reads without breaking the glass again.
    let restrictions = browser.get("/portal/restrictions").await.text();
    assert!(
        restrictions.contains("Minden dokumentum") && restrictions.contains("érvényes"),
        "{restrictions}"
    );
    let consent = field_value(&restrictions, "id").unwrap();
    let lifted = browser
        .post(
            "/portal/restrictions/lift",
            &[("csrf", &token), ("id", &consent)],
        )
        .await;
    assert_eq!(lifted.status, 303);
    assert_eq!(practitioner.read(&read, None).await.0, 200);
    assert!(browser
        .get("/portal/restrictions")
        .await
        .text()
        .contains("feloldva"));
    // One institution's documents: Kovács's summary withheld from Nagy, Nagy's own report not.
    let by_institution = browser
        .post(
            "/portal/restrictions",
            &[
                ("csrf", &token),
                ("scope", "institution"),
                ("institution", "506097"),
            ],
        )
        .await;
    assert_eq!(by_institution.status, 303);
    assert_eq!(practitioner.read(&read, None).await.0, 403);
    assert_eq!(
        practitioner
            .read(&format!("/fhir/DocumentReference/{cda_id}"), None)
            .await
            .0,
        200
    );

    // Signed out, the pages send back to the sign-in.
    let page = browser.get("/portal/documents").await.text();
    let token = form_token(&page).unwrap();
    let out = browser.post("/portal/logout", &[("csrf", &token)]).await;
    assert_eq!(out.status, 303);
    let after = browser.get("/portal/documents").await;
    assert_eq!(after.status, 303);
    assert!(after.location().unwrap().starts_with("/portal"));

    let verification = store.verify_audit().await.unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    let audit = store.list_audit_all(1000).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.actor == format!("patient:{ANNA}") && e.action == "clinical-portal.signin"));
    assert!(audit
        .iter()
        .any(|e| e.actor == format!("patient:{ANNA}") && e.action == "clinical.restriction.set"));
}
