//! The consent register end to end with the real binary: refusals that name the field and
//! store nothing, the draft → sent → revoked life with the `stored` / `consent` marks of
//! search results, and above all the deny paths — before `send`, after `revoke`, outside the
//! dates (future and past), another patient, another clinic's patient with the same PESEL —
//! each of which must see nothing, in the API and in the portal, next to a control consent
//! that does show (so "nothing" is never the portal simply not working).

use serde_json::Value;

use super::harness::{Backend, Clinic, Node};
use super::portal::{
    code, create_consent, day, put_document, revoke_consent, send_consent, Portal, NAME_A, NAME_B,
    PESEL_A, PESEL_B,
};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `client search --json --patient P`: document id → (stored, consent).
fn marks(clinic: &Clinic, patient: &str) -> Vec<(String, bool, bool)> {
    let answer = json(&clinic.run_ok(&["search", "--json", "--patient", patient]));
    answer["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| {
            (
                d["id"].as_str().expect("id").to_owned(),
                d["stored"].as_bool().expect("stored mark"),
                d["consent"].as_bool().expect("consent mark"),
            )
        })
        .collect()
}

fn consent_mark(clinic: &Clinic, patient: &str, document: &str) -> bool {
    marks(clinic, patient)
        .into_iter()
        .find(|(id, _, _)| id == document)
        .map(|(_, stored, consent)| {
            assert!(stored);
            consent
        })
        .unwrap_or_else(|| panic!("{document} not found"))
}

fn list(clinic: &Clinic, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["consent", "list", "--json"];
    args.extend_from_slice(extra);
    json(&clinic.run_ok(&args))["consents"]
        .as_array()
        .expect("consents")
        .clone()
}

fn register_refusals_and_life(backend: Backend) {
    let Some(node) = Node::start(backend) else {
        return;
    };
    let clinic = node.enroll("0000000000009010", 10, 100);
    let other_clinic = node.enroll("0000000000009020", 10, 100);
    let mine = put_document(&clinic, "R-1", PESEL_A, NAME_A, "Karta informacyjna");
    let theirs = put_document(&clinic, "R-2", PESEL_B, NAME_B, "Skierowanie");
    let elsewhere = put_document(&other_clinic, "R-3", PESEL_A, NAME_A, "Wynik");

    // Each refusal names what is wrong, and nothing is stored.
    let create = |patient: &str, from: &str, to: &str, recipient: &str, documents: &[&str]| {
        let mut args = vec![
            "consent",
            "create",
            "--patient",
            patient,
            "--recipient",
            recipient,
            "--purpose",
            "leczenie",
            "--from",
            from,
            "--to",
            to,
        ];
        args.extend_from_slice(documents);
        clinic.run_fails(&args)
    };
    let error = create(PESEL_A, "2025-02-30", "2025-03-01", "Dr X", &[&mine]);
    assert!(
        error.contains("from: '2025-02-30' is not a date"),
        "{error}"
    );
    let error = create(PESEL_A, "2025-03-02", "2025-03-01", "Dr X", &[&mine]);
    assert!(
        error.contains("to: 2025-03-01 is before from (2025-03-02)"),
        "{error}"
    );
    let error = create(PESEL_A, "2025-03-01", "2025-03-31", "   ", &[&mine]);
    assert!(error.contains("recipient: must not be empty"), "{error}");
    let error = create("44051401358", "2025-03-01", "2025-03-31", "Dr X", &[&mine]);
    assert!(error.contains("patient:"), "{error}");
    let error = create(
        PESEL_A,
        "2025-03-01",
        "2025-03-31",
        "Dr X",
        &[&mine, &theirs],
    );
    assert!(
        error.contains(&format!(
            "documents: document {theirs} is not a document of patient"
        )),
        "{error}"
    );
    let error = create(
        PESEL_A,
        "2025-03-01",
        "2025-03-31",
        "Dr X",
        &[&mine, &elsewhere],
    );
    assert!(
        error.contains(&format!(
            "documents: document {elsewhere} does not exist in this account"
        )),
        "{error}"
    );
    let error = create(PESEL_A, "2025-03-01", "2025-03-31", "Dr X", &["^bad"]);
    assert!(error.contains("documents[0]:"), "{error}");
    assert!(list(&clinic, &[]).is_empty(), "nothing stored half-way");

    // Draft: stored, not consented.
    let id = create_consent(
        &clinic,
        PESEL_A,
        &day(-1),
        &day(10),
        "lek. Piotr Nowak",
        &[&mine],
    );
    let shown = json(&clinic.run_ok(&["consent", "show", "--json", &id]))["consent"].clone();
    assert_eq!(shown["status"], "draft");
    assert_eq!(shown["active"], false);
    assert_eq!(shown["documents"][0]["id"], mine.as_str());
    assert!(!consent_mark(&clinic, PESEL_A, &mine));
    let metadata = json(&clinic.run_ok(&["search", "--json", "--title", "Karta"]));
    assert_eq!(metadata["documents"][0]["consent"], false);

    // Sent: marked, and the text output says what to hand over.
    let output = clinic.run_ok(&["consent", "send", &id]);
    assert!(
        output.contains("a portal account was created for the patient"),
        "{output}"
    );
    assert!(
        output.contains(&format!("{}/portal/activate", node.url())),
        "{output}"
    );
    assert!(
        output.contains("clinic id:       0000000000009010"),
        "{output}"
    );
    assert!(output.contains("activation code: "), "{output}");
    assert!(consent_mark(&clinic, PESEL_A, &mine));
    assert!(!consent_mark(&clinic, PESEL_B, &theirs));
    let table = clinic.run_ok(&["search", "--patient", PESEL_A]);
    let header = table.lines().next().expect("table header");
    assert!(
        header.contains("STORED") && header.contains("CONSENT"),
        "{table}"
    );
    let row = table.lines().find(|l| l.contains("R-1")).expect("row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[cells.len() - 2..], ["yes", "yes"], "{row}");
    let listed = clinic.run_ok(&["consent", "list", "--patient", PESEL_A]);
    assert!(
        listed.contains(&id) && listed.contains("sent") && listed.contains("yes"),
        "{listed}"
    );
    let again = clinic.run_fails(&["consent", "send", &id]);
    assert!(again.contains("is sent; it cannot be sent"), "{again}");

    // The other clinic cannot see, list or revoke it: the same 404 as for no consent.
    let hidden = other_clinic.run_fails(&["consent", "show", &id]);
    assert!(
        hidden.contains("No consent with that identifier exists in this account"),
        "{hidden}"
    );
    assert!(other_clinic
        .run_fails(&["consent", "revoke", &id])
        .contains("No consent"));
    assert!(list(&other_clinic, &[]).is_empty());
    assert!(list(&other_clinic, &["--patient", PESEL_A]).is_empty());
    assert!(!consent_mark(&other_clinic, PESEL_A, &elsewhere));

    // Revoked: unmarked at once; nothing more can be done with it.
    revoke_consent(&clinic, &id);
    assert!(!consent_mark(&clinic, PESEL_A, &mine));
    assert!(clinic
        .run_fails(&["consent", "revoke", &id])
        .contains("is revoked"));
    assert!(clinic
        .run_fails(&["consent", "send", &id])
        .contains("is revoked"));
    let bad = clinic.run_fails(&["consent", "show", "not-a-uuid"]);
    assert!(bad.contains("consent id"), "{bad}");

    // Every change is in the audit log under the patient.
    let audit = json(&clinic.run_ok(&["audit", "--patient", PESEL_A, "--json"]));
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e["action"].as_str())
                .collect()
        })
        .unwrap_or_default();
    for action in ["consent.create", "consent.send", "consent.revoke"] {
        assert!(actions.contains(&action), "{action} missing from {audit}");
    }
}

#[test]
fn consent_register_refuses_bad_input_and_marks_documents_on_sqlite() {
    register_refusals_and_life(Backend::Sqlite);
}

#[test]
fn consent_register_refuses_bad_input_and_marks_documents_on_postgres() {
    register_refusals_and_life(Backend::Postgres);
}

/// Each deny path next to a control consent that shows: the patient sees exactly the
/// control document, in the API's marks and on the portal, and every other document's
/// address answers 404 — before send, after revoke, dates in the future, dates in the past,
/// another patient's document, and the same PESEL's documents at another clinic.
#[test]
fn every_deny_path_sees_nothing_in_the_api_and_the_portal() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll("0000000000009030", 10, 100);
    let other_clinic = node.enroll("0000000000009040", 10, 100);
    let draft_doc = put_document(&clinic, "D-DRAFT", PESEL_A, NAME_A, "Dokument szkicu");
    let revoked_doc = put_document(&clinic, "D-REVOKED", PESEL_A, NAME_A, "Dokument wycofany");
    let future_doc = put_document(&clinic, "D-FUTURE", PESEL_A, NAME_A, "Dokument przyszły");
    let past_doc = put_document(&clinic, "D-PAST", PESEL_A, NAME_A, "Dokument przeszły");
    let control_doc = put_document(&clinic, "D-CONTROL", PESEL_A, NAME_A, "Dokument kontrolny");
    let b_doc = put_document(&clinic, "D-B", PESEL_B, NAME_B, "Dokument pacjenta B");
    let elsewhere_doc = put_document(
        &other_clinic,
        "D-ELSEWHERE",
        PESEL_A,
        NAME_A,
        "Dokument z innej placówki",
    );

    let recipient = "lek. Anna Kowalska";
    let _draft = create_consent(
        &clinic,
        PESEL_A,
        &day(-1),
        &day(30),
        recipient,
        &[&draft_doc],
    );
    let revoked = create_consent(
        &clinic,
        PESEL_A,
        &day(-1),
        &day(30),
        recipient,
        &[&revoked_doc],
    );
    let future = create_consent(
        &clinic,
        PESEL_A,
        &day(2),
        &day(30),
        recipient,
        &[&future_doc],
    );
    let past = create_consent(
        &clinic,
        PESEL_A,
        "2020-01-01",
        "2020-12-31",
        recipient,
        &[&past_doc],
    );
    let control = create_consent(
        &clinic,
        PESEL_A,
        &day(0),
        &day(0),
        recipient,
        &[&control_doc],
    );
    let for_b = create_consent(&clinic, PESEL_B, &day(-1), &day(30), recipient, &[&b_doc]);
    let elsewhere = create_consent(
        &other_clinic,
        PESEL_A,
        &day(-1),
        &day(30),
        recipient,
        &[&elsewhere_doc],
    );

    let mut a_code = code(&send_consent(&clinic, &revoked));
    for id in [&future, &past, &control] {
        let answer = send_consent(&clinic, id);
        assert_eq!(answer["patient_account"]["status"], "code_renewed");
        a_code = code(&answer);
    }
    revoke_consent(&clinic, &revoked);
    let b_code = code(&send_consent(&clinic, &for_b));
    let elsewhere_code = code(&send_consent(&other_clinic, &elsewhere));

    // The API: only the control consent (and B's, and the other clinic's) is in force.
    let active: Vec<(String, bool)> = list(&clinic, &["--patient", PESEL_A])
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or("").to_owned(),
                c["active"] == true,
            )
        })
        .collect();
    assert_eq!(active.len(), 5);
    for (id, is_active) in &active {
        assert_eq!(
            *is_active,
            *id == control,
            "consent {id} in force: {active:?}"
        );
    }
    let a_marks = marks(&clinic, PESEL_A);
    assert_eq!(a_marks.len(), 5);
    for (id, stored, consent) in &a_marks {
        assert!(stored);
        assert_eq!(
            *consent,
            *id == control_doc,
            "consent mark of {id}: {a_marks:?}"
        );
    }
    assert!(consent_mark(&clinic, PESEL_B, &b_doc));
    assert!(consent_mark(&other_clinic, PESEL_A, &elsewhere_doc));

    // The portal: patient A at the clinic sees the control document only.
    let Some(a) = Portal::new(&node, "patient-a") else {
        return;
    };
    a.activate_and_sign_in("0000000000009030", PESEL_A, &a_code);
    let page = a.documents();
    assert!(
        page.contains("Dokument kontrolny"),
        "the control shows: {page}"
    );
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
    assert_eq!(a.open(&control_doc).status, 200);
    for hidden in [
        &draft_doc,
        &revoked_doc,
        &future_doc,
        &past_doc,
        &b_doc,
        &elsewhere_doc,
    ] {
        let reply = a.open(hidden);
        assert_eq!(reply.status, 404, "{hidden} must be 404: {}", reply.body);
        assert!(reply.body.contains("nie jest Ci teraz udostępniony"));
        assert!(
            !reply.body.contains("Dokument "),
            "nothing of the document shows"
        );
    }

    // Patient B sees only their own document.
    let Some(b) = Portal::new(&node, "patient-b") else {
        return;
    };
    b.activate_and_sign_in("0000000000009030", PESEL_B, &b_code);
    let page = b.documents();
    assert!(page.contains("Dokument pacjenta B"), "{page}");
    assert!(!page.contains("Dokument kontrolny"), "{page}");
    assert_eq!(b.open(&control_doc).status, 404);
    assert_eq!(b.open(&b_doc).status, 200);

    // The same PESEL at another clinic is another account: A's password does not open it,
    // and signed in there the patient sees only that clinic's document.
    let Some(elsewhere_portal) = Portal::new(&node, "patient-a-elsewhere") else {
        return;
    };
    let refused = elsewhere_portal.sign_in("0000000000009040", PESEL_A, super::portal::PASSWORD);
    assert_eq!(refused.status, 401, "not activated there yet");
    elsewhere_portal.activate_and_sign_in("0000000000009040", PESEL_A, &elsewhere_code);
    let page = elsewhere_portal.documents();
    assert!(page.contains("Dokument z innej placówki"), "{page}");
    assert!(!page.contains("Dokument kontrolny"), "{page}");
    assert_eq!(elsewhere_portal.open(&control_doc).status, 404);
    assert_eq!(a.open(&elsewhere_doc).status, 404);

    // The control consent revoked: A now sees nothing at all, at once.
    revoke_consent(&clinic, &control);
    let page = a.documents();
    assert!(
        page.contains("Nie ma dokumentów udostępnionych Ci w tej chwili."),
        "{page}"
    );
    assert_eq!(a.open(&control_doc).status, 404);
    assert!(!consent_mark(&clinic, PESEL_A, &control_doc));
}
