//! The national registry's commands end to end: two real processes on loopback — a
//! repository (`--registry-url`, `--registry-ca-file`) and a registry (`--role registry`),
//! each with its own CA and data folder. The registry's operator issues national
//! certificates from the registry CA (`pki csr`, `ca sign`, `pki p12`); the clinic registers
//! (`client national register`), indexes a document (`client index`), finds it
//! (`client national find`) and revokes (`client national revoke`), each printing its
//! result. The refusals, the registry outage and restart, the operator's revocation and
//! the withdrawal on deletion are tested in process in `crates/medgate-server/tests/national.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use medgate_test_peers::require_command;
use serde_json::Value;

use super::harness::{Backend, Clinic, Node};
use crate::support::run_ok;

const A: &str = "0000000000005010";
const PESEL: &str = "44051401359";

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A discharge document of patient [`PESEL`] (the project's sample).
fn sample_document() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cda/01-karta-informacyjna.xml")
}

/// National certificates as the registry's operator issues them to a provider: the clinic
/// makes the keys and CSRs, the registry CA signs, the clinic packs two PKCS#12 files.
pub struct National {
    pub tls_p12: String,
    pub wss_p12: String,
    /// The file holding the keystores' password.
    pub password: String,
    pub tls_serial: String,
    pub dir: PathBuf,
}

pub fn issue_national(registry: &Node, clinic: &Clinic, name: &str) -> National {
    let dir = clinic.dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let key_password = dir.join("key-password");
    std::fs::write(&key_password, "national-key-secret\n").unwrap();
    let password = dir.join("p12-password");
    std::fs::write(&password, "national-p12-secret\n").unwrap();
    run_ok(&[
        "pki", "csr", "--tenant", &clinic.tenant, "--org", "Przychodnia Test", "--unit", "IT",
        "--country", "PL", "--out", &s(&dir), "--algorithm", "p256",
        "--password-file", &s(&key_password),
    ]);
    let ca_dir = registry.data.join("ca");
    let mut tls_serial = String::new();
    for kind in ["tls", "wss"] {
        let signed = run_ok(&[
            "ca", "sign", "--dir", &s(&ca_dir),
            "--csr", &s(&dir.join(format!("{kind}.csr"))),
            "--out", &s(&dir.join(format!("{kind}.pem"))),
        ]);
        if kind == "tls" {
            tls_serial = signed
                .lines()
                .find_map(|line| line.trim().strip_prefix("serial:"))
                .map(|serial| serial.trim().to_owned())
                .unwrap_or_else(|| panic!("serial in: {signed}"));
        }
        run_ok(&[
            "pki", "p12", "--cert", &s(&dir.join(format!("{kind}.pem"))),
            "--key", &s(&dir.join(format!("{kind}.key"))),
            "--key-password-file", &s(&key_password),
            "--chain", &s(&registry.ca()),
            "--password-file", &s(&password),
            "--out", &s(&dir.join(format!("{kind}.p12"))),
        ]);
    }
    National {
        tls_p12: s(&dir.join("tls.p12")),
        wss_p12: s(&dir.join("wss.p12")),
        password: s(&password),
        tls_serial,
        dir,
    }
}

fn register_args(national: &National) -> Vec<&str> {
    vec![
        "national", "register", "--tls-p12", &national.tls_p12, "--wss-p12", &national.wss_p12,
        "--password-file", &national.password,
    ]
}

fn national_id(clinic: &Clinic) -> Value {
    clinic.account()["national_repository_id"].clone()
}

fn metadata(clinic: &Clinic, id: &str) -> Value {
    json(&clinic.run_ok(&["search", "--json", "--patient", PESEL]))["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("document {id} not found"))
}

fn found_ids(clinic: &Clinic) -> Vec<String> {
    let answer = json(&clinic.run_ok(&["national", "find", "--patient", PESEL, "--json"]));
    answer["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uniqueId"].as_str().unwrap().to_owned())
        .collect()
}

/// Replaces the `extension` of the first `<marker` element after `<ClinicalDocument`.
fn with_extension(text: &str, marker: &str, extension: &str) -> String {
    let start = text.find("<ClinicalDocument").unwrap();
    let element = start + text[start..].find(marker).unwrap();
    let at = element + text[element..].find("extension=\"").unwrap() + "extension=\"".len();
    let end = at + text[at..].find('"').unwrap();
    format!("{}{extension}{}", &text[..at], &text[end..])
}

/// Uploads the sample document as a new document (fresh id and setId), so one file serves
/// several documents.
fn put_copy(clinic: &Clinic, source: &Path, extension: &str) -> String {
    let text = std::fs::read_to_string(source).unwrap();
    let changed = with_extension(&with_extension(&text, "<id ", extension), "<setId ", extension);
    let file = clinic.dir.join(format!("pik-{extension}.xml"));
    std::fs::write(&file, changed).unwrap();
    let stored = json(&clinic.run_ok(&["put", &s(&file), "--json"]));
    stored["document"]["id"].as_str().unwrap().to_owned()
}

fn curl_code(curl: &Path, url: &str, ca: &Path) -> String {
    let output = Command::new(curl)
        .args(["-s", "--cacert", &s(ca), url])
        .output()
        .expect("curl runs");
    let body = String::from_utf8_lossy(&output.stdout).into_owned();
    json(&body)["code"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn national_commands_register_index_find_and_revoke() {
    let sample = sample_document();
    let registry = Node::start_registry();
    let repository = Node::start_with(
        Backend::Sqlite,
        &["--registry-url", &registry.url(), "--registry-ca-file", &s(&registry.ca())],
    )
    .unwrap();
    // Each node serves its own API only.
    if let Some(curl) = require_command("curl", "apt-get install curl") {
        let account = format!("{}/api/v1/account", registry.url());
        assert_eq!(curl_code(&curl, &account, &registry.ca()), "no_such_route");
    }

    let clinic = repository.enroll(A, 50, 100);
    let national = issue_national(&registry, &clinic, "national");
    let document = put_copy(&clinic, &sample, "100001");

    // Register: the registry answers the national repository id; the account shows it.
    let log = clinic.run_ok(&register_args(&national));
    assert!(log.contains("National certificates accepted."), "{log}");
    assert!(log.contains("National repository id: 2.999.1.5.1."), "{log}");
    assert_eq!(national_id(&clinic), "2.999.1.5.1");
    let account = clinic.run_ok(&["account"]);
    assert!(account.contains("National repository id: 2.999.1.5.1"), "{account}");

    // Index the document; the registry finds it by PESEL and points back here.
    assert_eq!(metadata(&clinic, &document)["indexed"], false);
    let indexed = clinic.run_ok(&["index", &document]);
    assert!(indexed.contains(&format!("indexed {document} in the national registry (repository 2.999.1.5.1)")), "{indexed}");
    assert_eq!(metadata(&clinic, &document)["indexed"], true);
    let answer = json(&clinic.run_ok(&["national", "find", "--patient", PESEL, "--json"]));
    assert_eq!(answer["total"], 1, "{answer}");
    assert_eq!(answer["entries"][0]["uniqueId"], document.as_str());
    assert_eq!(answer["entries"][0]["repository_url"], repository.url());
    assert_eq!(found_ids(&clinic), std::slice::from_ref(&document));
    let table = clinic.run_ok(&["national", "find", "--patient", PESEL]);
    assert!(table.contains(&document) && table.contains("2.999.1.5.1") && table.contains("1 entry in the national registry"), "{table}");

    // Revoke: deregistered, entry withdrawn, id gone.
    let revoked = clinic.run_ok(&["national", "revoke"]);
    assert!(revoked.contains("deregistered repository 2.999.1.5.1") && revoked.contains("1 entries withdrawn"), "{revoked}");
    assert_eq!(national_id(&clinic), Value::Null);
    let error = clinic.run_fails(&["index", &document]);
    assert!(error.contains("409 not_registered_nationally"), "{error}");
}
