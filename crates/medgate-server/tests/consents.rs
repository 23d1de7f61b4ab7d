//! The consent register in process: refusals that name the field and store nothing, the
//! draft → sent → revoked life with the `stored` / `consent` marks of search results (on
//! SQLite and PostgreSQL), and above all the deny paths — before `send`, after `revoke`,
//! outside the dates (future and past), another patient, another clinic's patient with the
//! same PESEL — each of which must see nothing, in the API and in the portal, next to a
//! control consent that does show (so "nothing" is never the portal simply not working).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::consents::{code, consent_path};
use support::documents::{NAME_A, NAME_B, PESEL_A, PESEL_B};
use support::web::{WebClient, PATIENT_PASSWORD};
use support::{actions, day, refusal, Backend, Clinic, Node, Plan};

/// A search by patient: document id → (stored, consent).
async fn marks(clinic: &Clinic, patient: &str) -> Vec<(String, bool, bool)> {
    clinic.search(&[("patient", patient)]).await["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_owned(),
                d["stored"].as_bool().expect("stored mark"),
                d["consent"].as_bool().expect("consent mark"),
            )
        })
        .collect()
}

async fn consent_mark(clinic: &Clinic, patient: &str, document: &str) -> bool {
    marks(clinic, patient)
        .await
        .into_iter()
        .find(|(id, _, _)| id == document)
        .map(|(_, stored, consent)| {
            assert!(stored);
            consent
        })
        .unwrap_or_else(|| panic!("{document} not found"))
}

async fn list(clinic: &Clinic, patient: Option<&str>) -> Vec<Value> {
    let path = match patient {
        Some(patient) => format!("/api/v1/consents?patient={patient}"),
        None => "/api/v1/consents".to_owned(),
    };
    clinic.get(&path).await["consents"].as_array().unwrap().clone()
}

async fn register_refusals_and_life(backend: Backend) {
    let Some(node) = Node::start(backend).await else { return };
    let clinic = node.enrol("0000000000009010", Plan::mb(10, 100)).await;
    let other_clinic = node.enrol("0000000000009020", Plan::mb(10, 100)).await;
    let mine = clinic.put_document("R-1", PESEL_A, NAME_A, "Karta informacyjna").await;
    let theirs = clinic.put_document("R-2", PESEL_B, NAME_B, "Skierowanie").await;
    let elsewhere = other_clinic.put_document("R-3", PESEL_A, NAME_A, "Wynik").await;

    // Each refusal names what is wrong, and nothing is stored.
    let refused = |patient: &'static str, from: &'static str, to: &'static str, recipient: &'static str, documents: Vec<String>| {
        let clinic = &clinic;
        async move {
            let documents: Vec<&str> = documents.iter().map(String::as_str).collect();
            let (status, _, message) = refusal(clinic.try_create_consent(patient, from, to, recipient, &documents).await);
            assert_eq!(status, 400, "{message}");
            message
        }
    };
    let message = refused(PESEL_A, "2025-02-30", "2025-03-01", "Dr X", vec![mine.clone()]).await;
    assert!(message.contains("from: '2025-02-30' is not a date"), "{message}");
    let message = refused(PESEL_A, "2025-03-02", "2025-03-01", "Dr X", vec![mine.clone()]).await;
    assert!(message.contains("to: 2025-03-01 is before from (2025-03-02)"), "{message}");
    let message = refused(PESEL_A, "2025-03-01", "2025-03-31", "   ", vec![mine.clone()]).await;
    assert!(message.contains("recipient: must not be empty"), "{message}");
    let message = refused("44051401358", "2025-03-01", "2025-03-31", "Dr X", vec![mine.clone()]).await;
    assert!(message.contains("patient:"), "{message}");
    let message = refused(PESEL_A, "2025-03-01", "2025-03-31", "Dr X", vec![mine.clone(), theirs.clone()]).await;
    assert!(message.contains(&format!("documents: document {theirs} is not a document of patient")), "{message}");
    let message = refused(PESEL_A, "2025-03-01", "2025-03-31", "Dr X", vec![mine.clone(), elsewhere.clone()]).await;
    assert!(
        message.contains(&format!("documents: document {elsewhere} does not exist in this account")),
        "{message}"
    );
    let message = refused(PESEL_A, "2025-03-01", "2025-03-31", "Dr X", vec!["^bad".to_owned()]).await;
    assert!(message.contains("documents[0]:"), "{message}");
    assert!(list(&clinic, None).await.is_empty(), "nothing stored half-way");

    // Draft: stored, not consented.
    let id = clinic.create_consent(PESEL_A, &day(-1), &day(10), "lek. Piotr Nowak", &[&mine]).await;
    let shown = clinic.get(&consent_path(&id, "")).await["consent"].clone();
    assert_eq!(shown["status"], "draft");
    assert_eq!(shown["active"], false);
    assert_eq!(shown["documents"][0]["id"], mine.as_str());
    assert!(!consent_mark(&clinic, PESEL_A, &mine).await);
    let by_title = clinic.search(&[("title", "Karta")]).await;
    assert_eq!(by_title["documents"][0]["consent"], false);

    // Sent: marked; the answer holds the patient's new portal account and its code.
    let sent = clinic.send_consent(&id).await;
    assert_eq!(sent["patient_account"]["status"], "created", "{sent}");
    assert!(!code(&sent).is_empty());
    assert!(consent_mark(&clinic, PESEL_A, &mine).await);
    assert!(!consent_mark(&clinic, PESEL_B, &theirs).await);
    let listed = list(&clinic, Some(PESEL_A)).await;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0]["id"].as_str(), listed[0]["status"].as_str()), (Some(id.as_str()), Some("sent")));
    assert_eq!(listed[0]["active"], true);
    let (status, _, message) = refusal(clinic.consent_action(&id, "send").await);
    assert_eq!(status, 409, "{message}");
    assert!(message.contains("is sent; it cannot be sent"), "{message}");

    // The other clinic cannot see, list or revoke it: the same 404 as for no consent.
    let (status, _, message) = other_clinic.get_refused(&consent_path(&id, "")).await;
    assert_eq!(status, 404);
    assert!(message.contains("No consent with that identifier exists in this account"), "{message}");
    let (status, _, message) = refusal(other_clinic.consent_action(&id, "revoke").await);
    assert_eq!(status, 404);
    assert!(message.contains("No consent"), "{message}");
    assert!(list(&other_clinic, None).await.is_empty());
    assert!(list(&other_clinic, Some(PESEL_A)).await.is_empty());
    assert!(!consent_mark(&other_clinic, PESEL_A, &elsewhere).await);

    // Revoked: unmarked at once; nothing more can be done with it.
    clinic.revoke_consent(&id).await;
    assert!(!consent_mark(&clinic, PESEL_A, &mine).await);
    let (_, _, message) = refusal(clinic.consent_action(&id, "revoke").await);
    assert!(message.contains("is revoked"), "{message}");
    let (_, _, message) = refusal(clinic.consent_action(&id, "send").await);
    assert!(message.contains("is revoked"), "{message}");
    let (_, _, message) = clinic.get_refused("/api/v1/consents/not-a-uuid").await;
    assert!(message.contains("consent id"), "{message}");

    // Every change is in the audit log under the patient.
    let audited = actions(&clinic.audit(Some(PESEL_A)).await);
    for action in ["consent.create", "consent.send", "consent.revoke"] {
        assert!(audited.iter().any(|a| a == action), "{action} missing from {audited:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_register_refuses_bad_input_and_marks_documents_on_sqlite() {
    register_refusals_and_life(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_register_refuses_bad_input_and_marks_documents_on_postgres() {
    register_refusals_and_life(Backend::Postgres).await;
}

/// Each deny path next to a control consent that shows: the patient sees exactly the
/// control document, in the API's marks and on the portal, and every other document's
/// address answers 404 — before send, after revoke, dates in the future, dates in the past,
/// another patient's document, and the same PESEL's documents at another clinic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_deny_path_sees_nothing_in_the_api_and_the_portal() {
    let node = Node::sqlite().await;
    let clinic = node.enrol("0000000000009030", Plan::mb(10, 100)).await;
    let other_clinic = node.enrol("0000000000009040", Plan::mb(10, 100)).await;
    let draft_doc = clinic.put_document("D-DRAFT", PESEL_A, NAME_A, "Dokument szkicu").await;
    let revoked_doc = clinic.put_document("D-REVOKED", PESEL_A, NAME_A, "Dokument wycofany").await;
    let future_doc = clinic.put_document("D-FUTURE", PESEL_A, NAME_A, "Dokument przyszły").await;
    let past_doc = clinic.put_document("D-PAST", PESEL_A, NAME_A, "Dokument przeszły").await;
    let control_doc = clinic.put_document("D-CONTROL", PESEL_A, NAME_A, "Dokument kontrolny").await;
    let b_doc = clinic.put_document("D-B", PESEL_B, NAME_B, "Dokument pacjenta B").await;
    let elsewhere_doc = other_clinic
        .put_document("D-ELSEWHERE", PESEL_A, NAME_A, "Dokument z innej placówki")
        .await;

    let recipient = "lek. Anna Kowalska";
    let _draft = clinic.create_consent(PESEL_A, &day(-1), &day(30), recipient, &[&draft_doc]).await;
    let revoked = clinic.create_consent(PESEL_A, &day(-1), &day(30), recipient, &[&revoked_doc]).await;
    let future = clinic.create_consent(PESEL_A, &day(2), &day(30), recipient, &[&future_doc]).await;
    let past = clinic.create_consent(PESEL_A, "2020-01-01", "2020-12-31", recipient, &[&past_doc]).await;
    let control = clinic.create_consent(PESEL_A, &day(0), &day(0), recipient, &[&control_doc]).await;
    let for_b = clinic.create_consent(PESEL_B, &day(-1), &day(30), recipient, &[&b_doc]).await;
    let elsewhere = other_clinic.create_consent(PESEL_A, &day(-1), &day(30), recipient, &[&elsewhere_doc]).await;

    let mut a_code = code(&clinic.send_consent(&revoked).await);
    for id in [&future, &past, &control] {
        let answer = clinic.send_consent(id).await;
        assert_eq!(answer["patient_account"]["status"], "code_renewed");
        a_code = code(&answer);
    }
    clinic.revoke_consent(&revoked).await;
    let b_code = code(&clinic.send_consent(&for_b).await);
    let elsewhere_code = code(&other_clinic.send_consent(&elsewhere).await);

    // The API: only the control consent (and B's, and the other clinic's) is in force.
    let active: Vec<(String, bool)> = list(&clinic, Some(PESEL_A))
        .await
        .iter()
        .map(|c| (c["id"].as_str().unwrap_or("").to_owned(), c["active"] == true))
        .collect();
    assert_eq!(active.len(), 5);
    for (id, is_active) in &active {
        assert_eq!(*is_active, *id == control, "consent {id} in force: {active:?}");
    }
    let a_marks = marks(&clinic, PESEL_A).await;
    assert_eq!(a_marks.len(), 5);
    for (id, stored, consent) in &a_marks {
        assert!(stored);
        assert_eq!(*consent, *id == control_doc, "consent mark of {id}: {a_marks:?}");
    }
    assert!(consent_mark(&clinic, PESEL_B, &b_doc).await);
    assert!(consent_mark(&other_clinic, PESEL_A, &elsewhere_doc).await);

    // The portal: patient A at the clinic sees the control document only.
    let a = WebClient::new(&node);
    a.activate_and_sign_in_patient("0000000000009030", PESEL_A, &a_code).await;
    let page = a.portal_documents().await;
    assert!(page.contains("Dokument kontrolny"), "the control shows: {page}");
    for hidden in [
        "Dokument szkicu",
        "Dokument wycofany",
        "Dokument przyszły",
        "Dokument przeszły",
        "Dokument pacjenta B",
        "Dokument z innej placówki",
    ] {
        assert!(!page.contains(hidden), "{hidden} must not show: {page}");
    }
    assert_eq!(a.portal_open(&control_doc).await.status, 200);
    for hidden in [&draft_doc, &revoked_doc, &future_doc, &past_doc, &b_doc, &elsewhere_doc] {
        let reply = a.portal_open(hidden).await;
        let body = reply.text();
        assert_eq!(reply.status, 404, "{hidden} must be 404: {body}");
        assert!(body.contains("nie jest Ci teraz udostępniony"));
        assert!(!body.contains("Dokument "), "nothing of the document shows");
    }

    // Patient B sees only their own document.
    let b = WebClient::new(&node);
    b.activate_and_sign_in_patient("0000000000009030", PESEL_B, &b_code).await;
    let page = b.portal_documents().await;
    assert!(page.contains("Dokument pacjenta B"), "{page}");
    assert!(!page.contains("Dokument kontrolny"), "{page}");
    assert_eq!(b.portal_open(&control_doc).await.status, 404);
    assert_eq!(b.portal_open(&b_doc).await.status, 200);

    // The same PESEL at another clinic is another account: A's password does not open it,
    // and signed in there the patient sees only that clinic's document.
    let elsewhere_portal = WebClient::new(&node);
    let refused = elsewhere_portal.patient_sign_in("0000000000009040", PESEL_A, PATIENT_PASSWORD).await;
    assert_eq!(refused.status, 401, "not activated there yet");
    elsewhere_portal
        .activate_and_sign_in_patient("0000000000009040", PESEL_A, &elsewhere_code)
        .await;
    let page = elsewhere_portal.portal_documents().await;
    assert!(page.contains("Dokument z innej placówki"), "{page}");
    assert!(!page.contains("Dokument kontrolny"), "{page}");
    assert_eq!(elsewhere_portal.portal_open(&control_doc).await.status, 404);
    assert_eq!(a.portal_open(&elsewhere_doc).await.status, 404);

    // The control consent revoked: A now sees nothing at all, at once.
    clinic.revoke_consent(&control).await;
    let page = a.portal_documents().await;
    assert!(page.contains("Nie ma dokumentów udostępnionych Ci w tej chwili."), "{page}");
    assert_eq!(a.portal_open(&control_doc).await.status, 404);
    assert!(!consent_mark(&clinic, PESEL_A, &control_doc).await);
}
