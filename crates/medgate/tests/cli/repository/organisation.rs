//! The organisational structure (`client org push|show`) and document type policies
//! (`client types list|set`) end to end, on SQLite and PostgreSQL: validation with every
//! error at once, nothing stored on refusal, and tenants kept apart.

use std::path::PathBuf;

use super::harness::{Backend, Clinic, Node};

const A: &str = "0000000000005010";
const B: &str = "0000000000007020";

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

fn organisation_structure(backend: Backend) {
    let Some(node) = Node::start(backend) else {
        return;
    };
    let clinic = node.enroll(A, 20, 100);
    let other = node.enroll(B, 20, 100);

    // Never pushed: 404.
    let error = clinic.run_fails(&["org", "show"]);
    assert!(
        error.contains("404 not_found") && error.contains("org push"),
        "{error}"
    );

    // The example is accepted and shown back.
    let example = example().to_string_lossy().into_owned();
    let pushed = clinic.run_ok(&["org", "push", &example]);
    assert!(
        pushed.contains("revision 1 (2 facilities, 3 units)"),
        "{pushed}"
    );
    let shown = show_json(&clinic);
    assert_eq!(shown["revision"], 1);
    let organisation = &shown["organisation"];
    assert_eq!(
        organisation["provider"]["name"],
        "Centrum Medyczne Zdrowie Sp. z o.o."
    );
    assert_eq!(organisation["provider"]["nip"], "5252417363");
    assert_eq!(organisation["provider"]["regon"], "146273503");
    assert_eq!(organisation["facilities"][1]["regon14"], "14627350300027");
    // The country defaults to PL in the canonical form.
    assert_eq!(organisation["facilities"][0]["address"]["country"], "PL");
    assert_eq!(organisation["units"][1]["register_code_part_8"], "1100");
    assert_eq!(organisation["units"][2]["facility"], "02");
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

    // A bad NIP: exit 1 naming the field and the failed checksum rule; nothing stored.
    let bad_nip = edited_example(&clinic, "bad-nip.toml", |text| {
        text.replacen("nip = \"5252417363\"", "nip = \"5252417364\"", 1)
    });
    let error = clinic.run_fails(&["org", "push", &bad_nip]);
    assert!(error.contains("bad-nip.toml"), "{error}");
    assert!(
        error.contains("provider.nip: invalid NIP '5252417364': check digit is 4 but should be 3"),
        "{error}"
    );
    assert_eq!(show_json(&clinic)["revision"], 1);
    assert_eq!(
        show_json(&clinic)["organisation"]["provider"]["nip"],
        "5252417363"
    );

    // Several errors are reported together, one per line.
    let several = edited_example(&clinic, "several.toml", |text| {
        text.replace("postal_code = \"02-777\"", "postal_code = \"02777\"")
            .replace(
                "regon14 = \"14627350300010\"",
                "regon14 = \"14627350300011\"",
            )
            .replace(
                "register_code_part_8 = \"1100\"",
                "register_code_part_8 = \"110\"",
            )
            .replace(
                "email = \"poz.ursynow@cmzdrowie.pl\"",
                "email = \"poz.ursynow\"",
            )
            .replace("facility = \"02\"", "facility = \"03\"")
    });
    let error = clinic.run_fails(&["org", "push", &several]);
    let lines: Vec<&str> = error.lines().collect();
    assert!(
        lines[0].contains("5 invalid fields; nothing was stored"),
        "{error}"
    );
    for (line, expected) in lines[1..].iter().zip([
        "facilities[0].regon14: invalid REGON-14 '14627350300011': check digit is 1 but should be 0",
        "facilities[1].address.postal_code: '02777' is not a Polish postal code NN-NNN",
        "units[1].register_code_part_8: '110' is not a register code part VIII",
        "units[2].email: 'poz.ursynow' is not an e-mail address",
        "units[2].facility: names facility '03', which is not among the facilities",
    ]) {
        assert!(line.starts_with(expected), "{line} should start with {expected}: {error}");
    }
    assert_eq!(lines.len(), 6, "{error}");
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

    // A second valid push is the next revision.
    let renamed = edited_example(&clinic, "renamed.toml", |text| {
        text.replace(
            "Poradnia kardiologiczna",
            "Poradnia kardiologiczna dla dorosłych",
        )
    });
    let pushed = clinic.run_ok(&["org", "push", &renamed]);
    assert!(pushed.contains("revision 2"), "{pushed}");
    assert_eq!(
        show_json(&clinic)["organisation"]["units"][1]["name"],
        "Poradnia kardiologiczna dla dorosłych"
    );

    // Tenant B does not see A's structure.
    let error = other.run_fails(&["org", "show"]);
    assert!(error.contains("404 not_found"), "{error}");
    // B's own push starts at revision 1 and leaves A's alone.
    let pushed = other.run_ok(&["org", "push", &example]);
    assert!(pushed.contains("revision 1"), "{pushed}");
    assert_eq!(show_json(&clinic)["revision"], 2);
}

fn document_types(backend: Backend) {
    let Some(node) = Node::start(backend) else {
        return;
    };
    let clinic = node.enroll(A, 20, 100);
    let other = node.enroll(B, 20, 100);

    // The seed's codes with their defaults: e-prescriptions and the e-referrals processed by
    // P1 are not archived automatically, the rest are.
    let types = types_json(&clinic);
    for code in ["REC", "SKS", "SKH", "SKD"] {
        let entry = type_entry(&types, code);
        assert_eq!(entry["archive_automatically"], false, "{entry}");
        assert_eq!(entry["overridden"], false, "{entry}");
    }
    for code in ["ZBD", "KIF", "ILK", "ZPS", "ZPA", "ZPO"] {
        assert_eq!(
            type_entry(&types, code)["archive_automatically"],
            true,
            "{code}"
        );
    }
    assert_eq!(
        type_entry(&types, "KIF")["name"],
        "Karta informacyjna leczenia szpitalnego"
    );

    // Changing one: the answer, the JSON list and the table show it.
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
    assert_eq!(entry["archive_automatically"], false);
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

    // Refusals: an unknown code lists the valid ones; out-of-range days; a bad --archive.
    let error = clinic.run_fails(&[
        "types",
        "set",
        "XYZ",
        "--archive",
        "yes",
        "--local-days",
        "1",
    ]);
    assert!(
        error.contains("404 unknown_document_type") && error.contains("ZBD, KOP, ZPS"),
        "{error}"
    );
    let error = clinic.run_fails(&[
        "types",
        "set",
        "KIF",
        "--archive",
        "yes",
        "--local-days",
        "3651",
    ]);
    assert!(error.contains("400 bad_keep_local_days"), "{error}");
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

    // Tenant B's policies are untouched by A's change.
    let entry = type_entry(&types_json(&other), "ZBD");
    assert_eq!(entry["archive_automatically"], true);
    assert_eq!(entry["overridden"], false);
}

#[test]
fn organisation_structure_on_sqlite() {
    organisation_structure(Backend::Sqlite);
}

#[test]
fn organisation_structure_on_postgres() {
    organisation_structure(Backend::Postgres);
}

#[test]
fn document_types_on_sqlite() {
    document_types(Backend::Sqlite);
}

#[test]
fn document_types_on_postgres() {
    document_types(Backend::Postgres);
}
