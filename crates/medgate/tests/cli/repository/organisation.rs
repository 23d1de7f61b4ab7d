//! The organisational structure (`client org push|show`) and document type policies
//! (`client types list|set`) as the commands show them: what `org push` and `org show`
//! print, a refusal naming the file and the field, TOML mistakes named before anything is
//! sent; what `types set` and `types list` print, and a bad `--archive`. The server's
//! validation (every error at once, nothing stored), revisions, the seed's defaults and
//! tenant isolation are tested in process, on SQLite and PostgreSQL, in
//! `crates/medgate-server/tests/organisation.rs`.

use std::path::PathBuf;

use super::harness::{Backend, Clinic, Node};

const A: &str = "0000000000005010";

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/organisation.toml")
}

/// Writes the example with `edit` applied to its text into the clinic's folder.
fn edited_example(clinic: &Clinic, name: &str, edit: impl Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(example()).expect("example readable");
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed nothing");
    let path = clinic.path(name);
    std::fs::write(&path, edited).expect("edited example written");
    path
}

fn show_json(clinic: &Clinic) -> serde_json::Value {
    serde_json::from_str(&clinic.run_ok(&["org", "show", "--json"])).expect("org show JSON")
}

fn types_json(clinic: &Clinic) -> Vec<serde_json::Value> {
    let answer: serde_json::Value =
        serde_json::from_str(&clinic.run_ok(&["types", "list", "--json"])).expect("types JSON");
    answer["types"].as_array().cloned().expect("types array")
}

fn type_entry(types: &[serde_json::Value], code: &str) -> serde_json::Value {
    types
        .iter()
        .find(|entry| entry["code"] == code)
        .cloned()
        .unwrap_or_else(|| panic!("type {code} listed: {types:?}"))
}

#[test]
fn organisation_and_type_commands_print_and_refuse_on_sqlite() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(A, 20, 100);

    // The example is accepted and shown back, as JSON and as text.
    let example = example().to_string_lossy().into_owned();
    let pushed = clinic.run_ok(&["org", "push", &example]);
    assert!(
        pushed.contains("revision 1 (2 facilities, 3 units)"),
        "{pushed}"
    );
    let shown = show_json(&clinic);
    assert_eq!(shown["revision"], 1);
    assert_eq!(shown["organisation"]["provider"]["nip"], "5252417363");
    let text = clinic.run_ok(&["org", "show"]);
    for expected in [
        "Provider",
        "Centrum Medyczne Zdrowie Sp. z o.o.",
        "ul. Puławska 145, 02-715 Warszawa, PL",
        "Register code part I:  000000012345",
        "[02] Przychodnia Zdrowie Ursynów",
        "[KARD-MOK] Poradnia kardiologiczna (facility 01)",
        "Register codes: V 01, VII 002, VIII 1100, IX HC.1.3, X 107",
        "kardiologia@cmzdrowie.pl",
    ] {
        assert!(text.contains(expected), "missing {expected}: {text}");
    }

    // A bad NIP: exit 1 naming the file, the field and the failed checksum rule.
    let bad_nip = edited_example(&clinic, "bad-nip.toml", |text| {
        text.replacen("nip = \"5252417363\"", "nip = \"5252417364\"", 1)
    });
    let error = clinic.run_fails(&["org", "push", &bad_nip]);
    let lines: Vec<&str> = error.lines().collect();
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("bad-nip.toml") && lines[0].contains("nothing was stored"),
        "{error}"
    );
    assert!(
        error.contains("provider.nip: invalid NIP '5252417364': check digit is 4 but should be 3"),
        "{error}"
    );
    assert_eq!(show_json(&clinic)["revision"], 1);

    // A TOML mistake names the file, the line and the key, before anything is sent.
    let typo = edited_example(&clinic, "typo.toml", |text| {
        text.replacen("regon = ", "regonn = ", 1)
    });
    let error = clinic.run_fails(&["org", "push", &typo]);
    assert!(
        error.contains("typo.toml, line 13")
            && error.contains("provider.regonn")
            && error.contains("unknown field"),
        "{error}"
    );
    let wrong_type = edited_example(&clinic, "wrong-type.toml", |text| {
        text.replacen("regon = \"146273503\"", "regon = 146273503", 1)
    });
    let error = clinic.run_fails(&["org", "push", &wrong_type]);
    assert!(
        error.contains("wrong-type.toml, line 13, key `provider.regon`"),
        "{error}"
    );
    assert_eq!(show_json(&clinic)["revision"], 1);

    // Document types: the answer, the JSON list and the table show a change.
    let set = clinic.run_ok(&[
        "types",
        "set",
        "ZBD",
        "--archive",
        "no",
        "--local-days",
        "45",
    ]);
    assert!(
        set.contains("ZBD") && set.contains("archive automatically no, keep locally 45 days"),
        "{set}"
    );
    let entry = type_entry(&types_json(&clinic), "ZBD");
    assert_eq!(entry["keep_local_days"], 45);
    assert_eq!(entry["overridden"], true);
    let table = clinic.run_ok(&["types", "list"]);
    let zbd = table
        .lines()
        .find(|line| line.starts_with("ZBD"))
        .expect("ZBD row");
    assert!(
        zbd.contains(" no ") && zbd.contains("45") && zbd.ends_with("(changed)"),
        "{zbd}"
    );
    let kif = table
        .lines()
        .find(|line| line.starts_with("KIF"))
        .expect("KIF row");
    assert!(kif.contains(" yes ") && !kif.contains("(changed)"), "{kif}");

    // A bad --archive is refused by the command; nothing is sent.
    let error = clinic.run_fails(&[
        "types",
        "set",
        "KIF",
        "--archive",
        "maybe",
        "--local-days",
        "1",
    ]);
    assert!(error.contains("use yes or no"), "{error}");
    assert_eq!(type_entry(&types_json(&clinic), "KIF")["overridden"], false);
}
