//! `--json` wherever a script needs the answer: the ids an activation assigns, what a
//! download wrote, a deleted document, a document type's new policy, a stored
//! organisational structure, a new account, a signed certificate, new key pairs.

use serde_json::Value;

use super::harness::{Backend, Node};
use super::portal::{put_document, NAME_A, PESEL_A};
use crate::support::{path, run_ok, temp_dir};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn commands_answer_in_json_when_asked() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll("0000000000009110", 10, 100);
    let id = put_document(&clinic, "J-1", PESEL_A, NAME_A, "Karta");
    let dir = temp_dir();

    let xml = path(dir.path(), "doc.xml");
    let got = json(&clinic.run_ok(&["get", &id, "--out", &xml, "--json"]));
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["sha256_verified"], true);
    assert_eq!(got["bytes"].as_u64(), Some(std::fs::metadata(&xml).unwrap().len()));
    let html = path(dir.path(), "doc.html");
    let rendered = json(&clinic.run_ok(&["render", &id, "--out", &html, "--json"]));
    assert!(rendered["content_security_policy"].as_str().unwrap().contains("default-src 'none'"));
    let zip = path(dir.path(), "doc.zip");
    assert_eq!(json(&clinic.run_ok(&["export", &id, "--out", &zip, "--json"]))["file"], zip.as_str());

    let policy = json(&clinic.run_ok(&["types", "set", "ZBD", "--archive", "no", "--local-days", "7", "--json"]));
    assert_eq!(policy["code"], "ZBD");
    assert_eq!(policy["keep_local_days"], 7);

    let organisation = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/organisation.toml");
    let stored = json(&clinic.run_ok(&["org", "push", &organisation.to_string_lossy(), "--json"]));
    assert_eq!(stored["revision"], 1, "{stored}");

    let deleted = json(&clinic.run_ok(&["delete", &id, "--json"]));
    assert_eq!(deleted["deleted"], id.as_str(), "{deleted}");

    // The operator's side, on the node's folder.
    let data = node.data.to_string_lossy().into_owned();
    let created = json(&run_ok(&[
        "tenant", "create", "--data", &data, "--id", "0000000000009120", "--valid-from", "2026-01-01",
        "--valid-to", "2027-01-01", "--quota-mb", "10", "--max-files", "10", "--json",
    ]));
    assert_eq!(created["id"], "0000000000009120");
    assert_eq!(created["status"], "created");
    let keys = json(&run_ok(&[
        "pki", "csr", "--tenant", "0000000000009120", "--org", "Przychodnia", "--unit", "IT",
        "--country", "PL", "--out", &path(dir.path(), "certs"), "--json",
    ]));
    let pairs = keys["key_pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 2, "{keys}");
    let csr = pairs[0]["csr"].as_str().unwrap().to_owned();
    let signed = json(&run_ok(&[
        "ca", "sign", "--dir", &node.data.join("ca").to_string_lossy(), "--csr", &csr,
        "--out", &path(dir.path(), "signed.pem"), "--json",
    ]));
    assert!(signed["subject"].as_str().unwrap().contains("CN=0000000000009120"), "{signed}");
    assert!(signed["serial"].as_str().is_some_and(|s| !s.is_empty()), "{signed}");
}
