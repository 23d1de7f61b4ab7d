//! The patients' portal of the clinical record service in Chromium: the real `medgate serve
//! --role clinical`, two institutions and a patient's account made with `medgate clinical …`
//! (the activation code read from what it prints once), the patient's record written in the
//! service's store by the domain's functions as the FHIR API writes it (two institutions'
//! documents, a profile entry modified by the other institution, a referral); the patient
//! activates, signs in, restricts their documents, and after another institution's
//! practitioner breaks the glass sees it in the access log. Every tab in Hungarian and
//! English, screenshots of each. The refusals, lock-out, isolation and the FHIR API's
//! answers are tested in process (`crates/medgate-server/tests/clinical_portal.rs`).

use medgate_clinical::documents::{self, NewDocument};
use medgate_clinical::{referrals, resources, Caller, ResourceType};
use medgate_ids::{InstitutionId, Taj};
use medgate_storage::{AuditOrigin, Metadata};
use serde_json::json;
use time::OffsetDateTime;

use super::{wait_for, wait_text};
use crate::browser::Browser;
use crate::repository::harness::{Backend, Node};
use crate::support::run_ok;

const PATIENT: &str = "123456788";
const PASSWORD: &str = "Kiss Anna jelszava 2026";
const REASON: &str = "eszméletlen beteg a sürgősségi osztályon";

fn clinical(service: &Node, args: &[&str]) -> String {
    let mut all: Vec<String> = vec!["clinical".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(service.store_args());
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    run_ok(&refs)
}

fn caller(user: &str, institution: &str) -> Caller {
    Caller {
        user_name: user.to_owned(),
        institution: InstitutionId::parse(institution).expect("institution id"),
        origin: AuditOrigin::Cli,
    }
}

async fn store(service: &Node) -> Metadata {
    let url = format!(
        "sqlite://{}?mode=rwc",
        service.data.join("medgate.db").display()
    );
    Metadata::connect(&url).await.expect("the service's store")
}

/// The patient's record as two institutions' practitioners write it; gives the ids of the
/// first institution's document and of the profile entry the second one modified.
async fn record(service: &Node) -> (String, String) {
    let store = store(service).await;
    let now = OffsetDateTime::now_utc();
    let (kovacs, nagy) = (caller("dr.kovacs", "506097"), caller("dr.nagy", "111111"));
    let document = |title: &str, content_type: &str, data: &[u8]| NewDocument {
        patient: Taj::parse(PATIENT).expect("TAJ"),
        encounter: None,
        content_type: content_type.to_owned(),
        title: title.to_owned(),
        data: data.to_vec(),
        fhir_base_url: format!("{}/fhir", service.url()),
        identifier: None,
    };
    let summary = documents::submit(
        &store,
        &kovacs,
        &document(
            "Ambuláns lap – fogászat",
            "application/pdf",
            b"%PDF-1.4\n%%EOF\n",
        ),
        now,
    )
    .await
    .expect("a document");
    let cda =
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>Zárójelentés</title></ClinicalDocument>";
    documents::submit(
        &store,
        &nagy,
        &document(
            "Zárójelentés – belgyógyászat",
            "application/hl7-v3+xml",
            cda.as_bytes(),
        ),
        now,
    )
    .await
    .expect("a CDA document");
    let condition = |text: &str| {
        json!({
            "resourceType": "Condition",
            "subject": { "reference": format!("Patient/{PATIENT}") },
            "code": { "text": text }
        })
    };
    let entry = resources::create(
        &store,
        &kovacs,
        ResourceType::Condition,
        condition("Magas vérnyomás"),
        now,
    )
    .await
    .expect("a profile entry");
    let id = entry["id"].as_str().expect("an id").to_owned();
    resources::update(
        &store,
        &nagy,
        ResourceType::Condition,
        &id,
        condition("Magas vérnyomás, gyógyszerrel kezelt"),
        Some(1),
        now,
    )
    .await
    .expect("a new version");
    let allergy = json!({
        "resourceType": "AllergyIntolerance",
        "patient": { "reference": format!("Patient/{PATIENT}") },
        "code": { "text": "Penicillin-allergia" }
    });
    resources::create(
        &store,
        &kovacs,
        ResourceType::AllergyIntolerance,
        allergy,
        now,
    )
    .await
    .expect("an allergy");
    referrals::issue(
        &store,
        &kovacs,
        json!({
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "subject": { "reference": format!("Patient/{PATIENT}") },
            "performerType": { "text": "kardiológia" }
        }),
        now,
    )
    .await
    .expect("a referral");
    store.close().await;
    (
        summary.resource["id"].as_str().expect("an id").to_owned(),
        id,
    )
}

/// The second institution's practitioner breaks the glass to read the restricted document.
async fn break_the_glass(service: &Node, id: &str) {
    let store = store(service).await;
    let nagy = caller("dr.nagy", "111111");
    let now = OffsetDateTime::now_utc();
    let refused = resources::read(
        &store,
        &nagy,
        ResourceType::DocumentReference,
        id,
        None,
        now,
    )
    .await;
    assert_eq!(refused.err().map(|e| e.code()), Some("restricted"));
    resources::read(
        &store,
        &nagy,
        ResourceType::DocumentReference,
        id,
        Some(REASON),
        now,
    )
    .await
    .expect("break-glass read");
    store.close().await;
}

#[test]
fn web_patients_portal_of_the_clinical_service_in_chromium() {
    let Some(service) = Node::start_with(Backend::Sqlite, &["--role", "clinical"]) else {
        return;
    };
    clinical(
        &service,
        &[
            "institution",
            "add",
            "--id",
            "506097",
            "--name",
            "Mosoly Fogászat Kft.",
        ],
    );
    clinical(
        &service,
        &[
            "institution",
            "add",
            "--id",
            "111111",
            "--name",
            "Városi Szakrendelő",
        ],
    );
    let added = clinical(
        &service,
        &["patient", "add", "--taj", PATIENT, "--name", "Kiss Anna"],
    );
    let code = added
        .lines()
        .find_map(|line| line.strip_prefix("activation code (shown once): "))
        .unwrap_or_else(|| panic!("no activation code printed: {added}"))
        .trim()
        .to_owned();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (document, entry) = runtime.block_on(record(&service));
    let Some(browser) = Browser::start() else {
        return;
    };
    let base = service.url();

    // Activation and sign-in, in Hungarian (the portal's default).
    browser.goto(&format!("{base}/portal"));
    assert_eq!(browser.text("h1"), "Bejelentkezés");
    assert!(
        !browser.source().contains("<script"),
        "no scripts on the pages"
    );
    browser.screenshot("clinical-portal-sign-in-hu");
    browser.click_link("English");
    assert_eq!(browser.text("h1"), "Sign in");
    assert!(browser.text("main").contains("TAJ number"));
    browser.screenshot("clinical-portal-sign-in-en");
    browser.click_link("Magyar");
    browser.click_link("Aktiváló kódot kapott? Állítsa be a jelszavát");
    assert_eq!(browser.text("h1"), "A betegfiók aktiválása");
    browser.screenshot("clinical-portal-activate-hu");
    browser.fill("#f-taj", PATIENT);
    browser.fill("#f-code", &code);
    browser.fill("#f-password", PASSWORD);
    browser.fill("#f-password2", PASSWORD);
    browser.click("main form button[type=submit]");
    wait_text(&browser, "main", "A jelszó beállítva");
    browser.fill("#f-taj", PATIENT);
    browser.fill("#f-password", PASSWORD);
    browser.click("main form button[type=submit]");
    wait_for(&browser, "/portal/documents");
    assert!(browser.text("header").contains("Kiss Anna · TAJ 123456788"));

    // Each tab.
    let documents = browser.text("#documents");
    assert!(
        documents.contains("Ambuláns lap – fogászat")
            && documents.contains("Városi Szakrendelő (111111)"),
        "{documents}"
    );
    browser.screenshot("clinical-portal-documents-hu");
    browser.click_link("Ambuláns lap – fogászat");
    assert!(browser
        .text("main")
        .contains(&format!("DocumentReference/{document}")));
    browser.screenshot("clinical-portal-document-hu");
    browser.goto(&format!("{base}/portal/profile"));
    assert!(browser
        .text("main")
        .contains("Magas vérnyomás, gyógyszerrel kezelt"));
    browser.screenshot("clinical-portal-profile-hu");
    browser.goto(&format!("{base}/portal/profile/Condition/{entry}"));
    let versions = browser.text("#versions");
    assert!(
        versions.contains("Mosoly Fogászat Kft. (506097)")
            && versions.contains("Városi Szakrendelő (111111)"),
        "{versions}"
    );
    browser.screenshot("clinical-portal-history-hu");
    browser.goto(&format!("{base}/portal/referrals"));
    assert!(browser.text("#referrals").contains("kiállítva"));
    browser.screenshot("clinical-portal-referrals-hu");

    // Restricting every document; another institution breaks the glass; the log shows it.
    browser.goto(&format!("{base}/portal/restrictions"));
    browser.click("form[action='/portal/restrictions'] button[type=submit]");
    wait_text(&browser, "#restrictions", "érvényes");
    browser.screenshot("clinical-portal-restrictions-hu");
    runtime.block_on(break_the_glass(&service, &document));
    browser.goto(&format!("{base}/portal/access-log"));
    let log = browser.text("#access-log");
    assert!(
        log.contains("dr.nagy")
            && log.contains("Városi Szakrendelő (111111)")
            && log.contains(REASON),
        "{log}"
    );
    browser.resize(1280, 1400);
    browser.screenshot("clinical-portal-access-log-hu");

    // The same tabs in English.
    browser.click_link("English");
    assert_eq!(browser.text("h1"), "Access log");
    assert!(browser
        .text("#access-log")
        .contains(&format!("Emergency access — reason: {REASON}")));
    browser.screenshot("clinical-portal-access-log-en");
    for (path, title, name) in [
        ("/portal/documents", "Documents", "documents"),
        ("/portal/profile", "Profile", "profile"),
        ("/portal/referrals", "Referrals", "referrals"),
        ("/portal/restrictions", "Restrictions", "restrictions"),
    ] {
        browser.goto(&format!("{base}{path}"));
        assert_eq!(browser.text("h1"), title);
        browser.screenshot(&format!("clinical-portal-{name}-en"));
    }
    browser.goto(&format!("{base}/portal/documents/{document}"));
    assert!(browser
        .text("main")
        .contains("The document's details (FHIR DocumentReference)"));
    browser.screenshot("clinical-portal-document-en");
    browser.goto(&format!("{base}/portal/profile/Condition/{entry}"));
    assert_eq!(
        browser.text("h1"),
        "Chronic condition, diagnosis: the entry's versions"
    );
    browser.screenshot("clinical-portal-history-en");
}
