//! An independent client: Python `requests` with the clinic's TLS certificate and
//! `requests-http-signature` signing with its WSS key uploads a CDA document and fetches it
//! back byte for byte; sending the same signed request again is refused as a replay; a batch
//! that `requests` encodes as multipart/form-data itself is stored document by document.

use medgate_test_peers::{require_command, require_python};

use super::harness::{Backend, Node};
use crate::support::{run_ok, run_peer_ok};

const CLIENT: &str = r#"
import json, sys, urllib.parse
import requests
from requests_http_signature import HTTPSignatureAuth, algorithms

a = json.load(sys.stdin)
session = requests.Session()
session.cert = (a["tls_cert"], a["tls_key"])
session.verify = a["ca"]
with open(a["wss_key"], "rb") as fh:
    wss_key = fh.read()

def auth(components):
    return HTTPSignatureAuth(
        signature_algorithm=algorithms.ECDSA_P256_SHA256,
        key=wss_key,
        key_id=a["key_id"],
        covered_component_ids=components,
    )

with open(a["document"], "rb") as fh:
    body = fh.read()
headers = {"Content-Type": "application/xml", "medgate-tenant": a["tenant"]}
request = requests.Request("POST", a["url"] + "/api/v1/documents", data=body, headers=headers,
                           auth=auth(("@method", "@target-uri", "content-digest")))
prepared = session.prepare_request(request)
stored = session.send(prepared, verify=a["ca"], cert=session.cert)
if stored.status_code != 201:
    sys.exit("upload failed: %s %s" % (stored.status_code, stored.text))
document_id = stored.json()["document"]["id"]

fetched = session.get(a["url"] + "/api/v1/documents/" + urllib.parse.quote(document_id, safe=""),
                      headers={"medgate-tenant": a["tenant"]}, auth=auth(("@method", "@target-uri")),
                      verify=a["ca"])
replayed = session.send(prepared, verify=a["ca"], cert=session.cert)

# A batch: multipart/form-data as requests encodes it, the first document again among them.
files = [("document", (name, open(path, "rb").read(), "application/xml"))
         for name, path in [("new-1.xml", a["batch"][0]), ("again.xml", a["document"]), ("new-2.xml", a["batch"][1])]]
batch = session.post(a["url"] + "/api/v1/documents/batch", files=files,
                     headers={"medgate-tenant": a["tenant"]},
                     auth=auth(("@method", "@target-uri", "content-digest")), verify=a["ca"])
print(json.dumps({
    "batch_status": batch.status_code,
    "batch": batch.json(),
    "id": document_id,
    "fetched_status": fetched.status_code,
    "identical": fetched.content == body,
    "sha256_header": fetched.headers.get("x-content-sha256"),
    "replay_status": replayed.status_code,
    "replay_code": replayed.json().get("code") if replayed.headers.get("content-type", "").startswith("application/json") else None,
}))
"#;

/// `requests` reads unencrypted PEM keys only: decrypted copies of the clinic's keys
/// (`tls-plain.key`, `wss-plain.key`, made with OpenSSL); returns the WSS certificate's
/// serial, the signature's keyid.
fn plain_keys_and_serial(openssl: &std::path::Path, clinic: &super::harness::Clinic) -> String {
    for kind in ["tls", "wss"] {
        run_peer_ok(openssl, &[
            "pkey", "-in", &clinic.path(&format!("certs/{kind}.key")),
            "-passin", &format!("file:{}", clinic.path("password")),
            "-out", &clinic.path(&format!("{kind}-plain.key")),
        ]);
    }
    let inspect = run_ok(&["pki", "inspect", &clinic.path("certs/wss.pem"), "--json"]);
    let inspect: serde_json::Value = serde_json::from_str(&inspect).expect("inspect JSON");
    let serial: String = inspect.pointer("/certificates/0/serial").and_then(|v| v.as_str()).expect("serial").to_owned();
    serial
}

#[test]
fn python_requests_with_http_signatures_uploads_and_fetches() {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else { return };
    let Some(python) = require_python("requests_http_signature", "pip install requests-http-signature") else { return };
    let Some(node) = Node::start(Backend::Sqlite) else { return };
    let clinic = node.enroll("0000000000005010", 10, 100);
    let key_id = plain_keys_and_serial(&openssl, &clinic);
    let document = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/bench-document.xml");
    let body = std::fs::read_to_string(document).expect("template").replace("{{NUMBER}}", "4242").replace("{{MONTH}}", "03").replace("{{DAY}}", "14");
    std::fs::write(clinic.path("document.xml"), &body).expect("document");
    for number in ["4243", "4244"] {
        std::fs::write(clinic.path(&format!("{number}.xml")), body.replace("4242", number)).expect("document");
    }

    let input = serde_json::json!({
        "url": node.url(),
        "tenant": clinic.tenant,
        "tls_cert": clinic.path("certs/tls.pem"),
        "tls_key": clinic.path("tls-plain.key"),
        "wss_key": clinic.path("wss-plain.key"),
        "ca": node.ca(),
        "key_id": key_id,
        "document": clinic.path("document.xml"),
        "batch": [clinic.path("4243.xml"), clinic.path("4244.xml")],
    });
    let mut child = std::process::Command::new(&python)
        .args(["-c", CLIENT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(input.to_string().as_bytes()).expect("input");
    let output = child.wait_with_output().expect("python finishes");
    assert!(output.status.success(), "python client failed: {}", String::from_utf8_lossy(&output.stderr));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).expect("python JSON");
    assert_eq!(result["id"], "2.16.840.1.113883.3.4424.2.7.26.7.9^BENCH-4242");
    assert_eq!(result["fetched_status"], 200);
    assert_eq!(result["identical"], true, "{result}");
    assert!(result["sha256_header"].as_str().is_some_and(|h| h.len() == 64), "{result}");
    assert_eq!(result["replay_status"], 401, "{result}");
    assert_eq!(result["replay_code"], "signature_replayed", "{result}");
    assert_eq!(result["batch_status"], 200, "{result}");
    let batch = &result["batch"];
    assert_eq!((batch["stored"].as_u64(), batch["refused"].as_u64()), (Some(2), Some(1)), "{batch}");
    let results = batch["results"].as_array().expect("results");
    assert_eq!(results[0]["filename"], "new-1.xml");
    assert_eq!(results[0]["document"]["id"], "2.16.840.1.113883.3.4424.2.7.26.7.9^BENCH-4243");
    assert_eq!(results[1]["status"], "refused");
    assert_eq!(results[1]["error"]["code"], "document_exists", "{batch}");
    assert_eq!(results[1]["error"]["status"], 409);
    assert_eq!(results[2]["part"], 3);
    assert_eq!(results[2]["status"], "stored");

    // The document is also visible to medgate's own client.
    let found = clinic.run_ok(&["search", "--patient", "44051401359", "--json"]);
    assert!(found.contains("BENCH-4242"), "{found}");
}

/// The README's Python example (`examples/signed_client.py`, shown in the README word for
/// word) uploads one of the project's sample documents.
#[test]
fn the_readmes_python_example_uploads_a_document() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/signed_client.py");
    let script = std::fs::read_to_string(example).expect("examples/signed_client.py");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README");
    assert!(readme.contains(&script), "README.md shows examples/signed_client.py as it is");

    let Some(openssl) = require_command("openssl", "apt-get install openssl") else { return };
    let Some(python) = require_python("requests_http_signature", "pip install requests-http-signature") else { return };
    let Some(node) = Node::start(Backend::Sqlite) else { return };
    let clinic = node.enroll("0000000000005030", 10, 100);
    let serial = plain_keys_and_serial(&openssl, &clinic);
    let document = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/cda/03-recepta.xml");
    let output = run_peer_ok(&python, &[
        example, &node.url(), &clinic.tenant, &clinic.path("certs/tls.pem"), &clinic.path("tls-plain.key"),
        &clinic.path("wss-plain.key"), &serial, &node.ca().to_string_lossy(), document,
    ]);
    assert!(output.starts_with("201 "), "{output}");
    assert!(output.contains("MG-0003"), "{output}");
}
