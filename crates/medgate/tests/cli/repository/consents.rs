//! The consent commands as the clinic's staff meet them: `client consent send` prints what
//! to hand to the patient, `client search` shows the STORED and CONSENT columns, `consent
//! list` the consent in force. The register's refusals, the draft → sent → revoked life
//! and every deny path (in the API and in the portal) are tested in process in
//! `crates/medgate-server/tests/consents.rs`.

use serde_json::Value;

use super::harness::{Backend, Clinic, Node};
use super::portal::{create_consent, day, put_document, revoke_consent, NAME_A, PESEL_A};

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

#[test]
fn consent_commands_print_what_to_hand_over_on_sqlite() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll("0000000000009010", 10, 100);
    let mine = put_document(&clinic, "R-1", PESEL_A, NAME_A, "Karta informacyjna");
    let id = create_consent(
        &clinic,
        PESEL_A,
        &day(-1),
        &day(10),
        "lek. Piotr Nowak",
        &[&mine],
    );
    assert!(!consent_mark(&clinic, PESEL_A, &mine));
    // The text output names the next command as it can be run, with the same client.toml.
    let (from, to) = (day(-1), day(10));
    let created = clinic.run_ok(&[
        "consent", "create", "--patient", PESEL_A, "--recipient", "lek. Anna Nowak", "--purpose",
        "konsultacja", "--from", &from, "--to", &to, &mine,
    ]);
    assert!(
        created.contains(&format!("`medgate client --config {} consent send ", clinic.config.display())),
        "{created}"
    );

    // Sent: the text output says what to hand over.
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
    let table = clinic.run_ok(&["search", "--patient", PESEL_A]);
    let header = table.lines().next().expect("table header");
    assert!(
        header.contains("STORED") && header.contains("CONSENT"),
        "{table}"
    );
    let row = table.lines().find(|l| l.contains("R-1")).expect("row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[cells.len() - 2..], ["yes", "yes"], "{row}");
    // A search that finds nothing says so plainly.
    let none = clinic.run_ok(&["search", "--patient", "85031212336"]);
    assert!(none.trim_end().ends_with("no documents found"), "{none}");
    let past = clinic.run_ok(&["search", "--patient", PESEL_A, "--offset", "500"]);
    assert!(past.contains("no documents past result 500"), "{past}");
    let listed = clinic.run_ok(&["consent", "list", "--patient", PESEL_A]);
    assert!(
        listed.contains(&id) && listed.contains("sent") && listed.contains("yes"),
        "{listed}"
    );
    // The sent consent and the draft made above for its hint.
    assert_eq!(list(&clinic, &["--patient", PESEL_A]).len(), 2);

    // Revoked: unmarked at once.
    revoke_consent(&clinic, &id);
    assert!(!consent_mark(&clinic, PESEL_A, &mine));
}
