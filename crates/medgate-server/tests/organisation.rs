//! The organisational structure (`PUT|GET /api/v1/organisation`) and document type policies
//! (`/api/v1/document-types`) in process, on SQLite and PostgreSQL: validation with every
//! error at once, nothing stored on refusal, and tenants kept apart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;

use http::Method;
use serde_json::{json, Value};
use support::{refusal, Backend, Clinic, Node, Plan};

const A: &str = "0000000000005010";
const B: &str = "0000000000007020";

/// The example structure, as the client sends it (TOML read into JSON).
fn example_text() -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/organisation.toml")).unwrap()
}

fn as_json(text: &str) -> Value {
    toml::from_str(text).unwrap()
}

/// The example with `edit` applied to its text.
fn edited(edit: impl Fn(String) -> String) -> Value {
    let text = example_text();
    let changed = edit(text.clone());
    assert_ne!(changed, text, "the edit changed nothing");
    as_json(&changed)
}

async fn push(clinic: &Clinic, body: &Value) -> Result<Value, medgate_client::ClientError> {
    clinic.client.send_json(Method::PUT, "/api/v1/organisation", body).await
}

async fn types(clinic: &Clinic) -> Vec<Value> {
    clinic.get("/api/v1/document-types").await["types"].as_array().unwrap().clone()
}

fn type_entry(types: &[Value], code: &str) -> Value {
    types
        .iter()
        .find(|entry| entry["code"] == code)
        .cloned()
        .unwrap_or_else(|| panic!("type {code} listed: {types:?}"))
}

async fn set_type(clinic: &Clinic, code: &str, archive: bool, days: u32) -> Result<Value, medgate_client::ClientError> {
    clinic
        .client
        .send_json(
            Method::PUT,
            &format!("/api/v1/document-types/{code}"),
            &json!({ "archive_automatically": archive, "keep_local_days": days }),
        )
        .await
}

async fn organisation_structure(backend: Backend) {
    let Some(node) = Node::start(backend).await else { return };
    let clinic = node.enrol(A, Plan::mb(20, 100)).await;
    let other = node.enrol(B, Plan::mb(20, 100)).await;

    // Never pushed: 404 saying how to push one.
    let (status, code, message) = clinic.get_refused("/api/v1/organisation").await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert!(message.contains("org push"), "{message}");

    // The example is accepted and shown back.
    let pushed = push(&clinic, &as_json(&example_text())).await.unwrap();
    assert_eq!(pushed["revision"], 1);
    assert_eq!(pushed["organisation"]["facilities"].as_array().map(Vec::len), Some(2));
    assert_eq!(pushed["organisation"]["units"].as_array().map(Vec::len), Some(3));
    let shown = clinic.get("/api/v1/organisation").await;
    assert_eq!(shown["revision"], 1);
    let organisation = &shown["organisation"];
    assert_eq!(organisation["provider"]["name"], "Centrum Medyczne Zdrowie Sp. z o.o.");
    assert_eq!(organisation["provider"]["nip"], "5252417363");
    assert_eq!(organisation["provider"]["regon"], "146273503");
    assert_eq!(organisation["facilities"][1]["regon14"], "14627350300027");
    // The country defaults to PL in the canonical form.
    assert_eq!(organisation["facilities"][0]["address"]["country"], "PL");
    assert_eq!(organisation["units"][1]["register_code_part_8"], "1100");
    assert_eq!(organisation["units"][2]["facility"], "02");

    // A bad NIP: refused naming the field and the failed checksum rule; nothing stored.
    let bad_nip = edited(|text| text.replacen("nip = \"5252417363\"", "nip = \"5252417364\"", 1));
    let (status, code, message) = refusal(push(&clinic, &bad_nip).await);
    assert_eq!((status, code.as_str()), (400, "invalid_organisation"));
    assert!(
        message.contains("provider.nip: invalid NIP '5252417364': check digit is 4 but should be 3"),
        "{message}"
    );
    let shown = clinic.get("/api/v1/organisation").await;
    assert_eq!(shown["revision"], 1);
    assert_eq!(shown["organisation"]["provider"]["nip"], "5252417363");

    // Several errors are reported together, one per line after the summary.
    let several = edited(|text| {
        text.replace("postal_code = \"02-777\"", "postal_code = \"02777\"")
            .replace("regon14 = \"14627350300010\"", "regon14 = \"14627350300011\"")
            .replace("register_code_part_8 = \"1100\"", "register_code_part_8 = \"110\"")
            .replace("email = \"poz.ursynow@cmzdrowie.pl\"", "email = \"poz.ursynow\"")
            .replace("facility = \"02\"", "facility = \"03\"")
    });
    let (status, code, message) = refusal(push(&clinic, &several).await);
    assert_eq!((status, code.as_str()), (400, "invalid_organisation"));
    let lines: Vec<&str> = message.lines().collect();
    assert!(lines[0].contains("5 invalid fields; nothing was stored"), "{message}");
    for (line, expected) in lines[1..].iter().zip([
        "facilities[0].regon14: invalid REGON-14 '14627350300011': check digit is 1 but should be 0",
        "facilities[1].address.postal_code: '02777' is not a Polish postal code NN-NNN",
        "units[1].register_code_part_8: '110' is not a register code part VIII",
        "units[2].email: 'poz.ursynow' is not an e-mail address",
        "units[2].facility: names facility '03', which is not among the facilities",
    ]) {
        assert!(line.starts_with(expected), "{line} should start with {expected}: {message}");
    }
    assert_eq!(lines.len(), 6, "{message}");
    assert_eq!(clinic.get("/api/v1/organisation").await["revision"], 1);

    // A second valid push is the next revision.
    let renamed = edited(|text| text.replace("Poradnia kardiologiczna", "Poradnia kardiologiczna dla dorosłych"));
    assert_eq!(push(&clinic, &renamed).await.unwrap()["revision"], 2);
    assert_eq!(
        clinic.get("/api/v1/organisation").await["organisation"]["units"][1]["name"],
        "Poradnia kardiologiczna dla dorosłych"
    );

    // Tenant B does not see A's structure; B's own push starts at revision 1 and leaves A's
    // alone.
    let (status, code, _) = other.get_refused("/api/v1/organisation").await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert_eq!(push(&other, &as_json(&example_text())).await.unwrap()["revision"], 1);
    assert_eq!(clinic.get("/api/v1/organisation").await["revision"], 2);
}

async fn document_types(backend: Backend) {
    let Some(node) = Node::start(backend).await else { return };
    let clinic = node.enrol(A, Plan::mb(20, 100)).await;
    let other = node.enrol(B, Plan::mb(20, 100)).await;

    // The seed's codes with their defaults: e-prescriptions and the e-referrals processed by
    // P1 are not archived automatically, the rest are.
    let listed = types(&clinic).await;
    for code in ["REC", "SKS", "SKH", "SKD"] {
        let entry = type_entry(&listed, code);
        assert_eq!(entry["archive_automatically"], false, "{entry}");
        assert_eq!(entry["overridden"], false, "{entry}");
    }
    for code in ["ZBD", "KIF", "ILK", "ZPS", "ZPA", "ZPO"] {
        assert_eq!(type_entry(&listed, code)["archive_automatically"], true, "{code}");
    }
    assert_eq!(type_entry(&listed, "KIF")["name"], "Karta informacyjna leczenia szpitalnego");

    // Changing one: the answer and the list show it.
    let set = set_type(&clinic, "ZBD", false, 45).await.unwrap();
    assert!(set.to_string().contains("ZBD"), "{set}");
    let entry = type_entry(&types(&clinic).await, "ZBD");
    assert_eq!(entry["archive_automatically"], false);
    assert_eq!(entry["keep_local_days"], 45);
    assert_eq!(entry["overridden"], true);
    assert_eq!(type_entry(&types(&clinic).await, "KIF")["overridden"], false);

    // Refusals: an unknown code lists the valid ones; out-of-range days.
    let (status, code, message) = refusal(set_type(&clinic, "XYZ", true, 1).await);
    assert_eq!((status, code.as_str()), (404, "unknown_document_type"));
    assert!(message.contains("ZBD, KOP, ZPS"), "{message}");
    let (status, code, _) = refusal(set_type(&clinic, "KIF", true, 3651).await);
    assert_eq!((status, code.as_str()), (400, "bad_keep_local_days"));
    assert_eq!(type_entry(&types(&clinic).await, "KIF")["overridden"], false);

    // Tenant B's policies are untouched by A's change.
    let entry = type_entry(&types(&other).await, "ZBD");
    assert_eq!(entry["archive_automatically"], true);
    assert_eq!(entry["overridden"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisation_structure_on_sqlite() {
    organisation_structure(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisation_structure_on_postgres() {
    organisation_structure(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_types_on_sqlite() {
    document_types(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_types_on_postgres() {
    document_types(Backend::Postgres).await;
}
