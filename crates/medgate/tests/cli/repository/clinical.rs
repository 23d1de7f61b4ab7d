//! The clinical record service end to end: the real `medgate serve --role clinical`, two
//! institutions set up with `medgate clinical …` (institution, unit, practitioner with its
//! TOTP secret as an otpauth:// URI, matrix line, PKCS#12 certificate from the service's CA,
//! connection checked with `medgate connect-check --p12` and verified from its signed report),
//! and practitioners' systems written in Python by others' libraries:
//! `requests` with the institution's certificate, `requests-http-signature` signing every
//! write (RFC 9421), `pyotp` computing the sign-in code from the printed URI, and every
//! returned resource validated with the FHIR R4 (4.0.1) models of `fhir.resources` 6.4 —
//! refusals too, as OperationOutcomes —, and an independent FHIR client, `fhirpy`, reading and
//! searching with the institution's certificate and a practitioner's session.
//! (Restrictions with break-glass and the patient's access log, through the patients' portal:
//! `clinical_client.rs`.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use medgate_test_peers::{python_runs, require, require_command};
use serde_json::{json, Value};

use super::harness::{Backend, Node};
use crate::support::{password_file, run_fails, run_ok};

pub(super) const PASSWORD: &str = "korrekt ló elem kapocs";
const PATIENT: &str = "123456788";

/// Where `scripts/test` installs `fhir.resources` 6.4 (FHIR R4) apart from the system's
/// Python packages; `MEDGATE_TEST_FHIR_PYTHONPATH` overrides.
fn fhir_python_path() -> PathBuf {
    std::env::var_os("MEDGATE_TEST_FHIR_PYTHONPATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/python-fhir-r4")
        })
}

/// Python 3 with the peers of this test, under the one missing-peer rule.
fn python() -> Option<PathBuf> {
    let python = require_command("python3", "apt-get install python3")?;
    let models = fhir_python_path();
    let probe = python_runs(
        &python,
        "import pyotp, requests, requests_http_signature, cryptography, fhirpy, fhir.resources as f; assert f.__fhir_version__ == '4.0.1'",
        &[("PYTHONPATH", models.as_os_str())],
    );
    require(
        "Python pyotp, requests-http-signature, cryptography, fhirpy and fhir.resources (FHIR R4)",
        &format!(
            "pip install pyotp requests-http-signature cryptography fhirpy==2.3.1; pip install --target {} 'fhir.resources==6.4.0' 'pydantic[email]<2' (scripts/test does both)",
            models.display()
        ),
        probe.map(|()| python),
    )
}

const PRACTITIONERS: &str = r#"
import base64, json, os, sys
import pyotp, requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from requests_http_signature import HTTPSignatureAuth, algorithms
import fhir.resources
from fhir.resources.bundle import Bundle
from fhir.resources.binary import Binary
from fhir.resources.capabilitystatement import CapabilityStatement
from fhir.resources.condition import Condition
from fhir.resources.documentreference import DocumentReference
from fhir.resources.encounter import Encounter
from fhir.resources.operationoutcome import OperationOutcome
from fhir.resources.servicerequest import ServiceRequest

assert fhir.resources.__fhir_version__ == "4.0.1"
a = json.load(sys.stdin)
base = a["url"] + "/fhir"
FHIR = "application/fhir+json"
MODELS = {"Bundle": Bundle, "Binary": Binary, "CapabilityStatement": CapabilityStatement, "Condition": Condition, "DocumentReference": DocumentReference,
          "Encounter": Encounter, "OperationOutcome": OperationOutcome, "ServiceRequest": ServiceRequest}
validated = []

def valid(r, status):
    assert r.status_code == status, (r.status_code, r.request.method, r.url, r.text)
    assert r.headers["content-type"].split(";")[0] == FHIR, r.headers
    body = r.json()
    MODELS[body["resourceType"]].parse_obj(body)
    validated.append(body["resourceType"] + ("." + body["type"] if body["resourceType"] == "Bundle" else ""))
    return body

def refused(r):
    """A refusal: an OperationOutcome (validated) with our code in its details."""
    assert r.status_code >= 400, (r.status_code, r.url, r.text)
    body = valid(r, r.status_code)
    assert body["resourceType"] == "OperationOutcome", body
    issue = body["issue"][0]
    assert issue["severity"] == "error" and issue["diagnostics"], issue
    return [r.status_code, issue["details"]["coding"][0]["code"]]

class Institution:
    def __init__(self, i):
        key, cert, _ = pkcs12.load_key_and_certificates(open(i["p12"], "rb").read(), i["password"].encode())
        folder = os.path.dirname(i["p12"])
        self.cert = os.path.join(folder, i["id"] + "-cert.pem")
        self.key_file = os.path.join(folder, i["id"] + "-key.pem")
        open(self.cert, "wb").write(cert.public_bytes(serialization.Encoding.PEM))
        self.key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        open(self.key_file, "wb").write(self.key)
        self.serial = i["serial"]
        self.user = i["user"]
        self.totp = pyotp.parse_uri(i["otpauth"])
        self.token = None

    def headers(self):
        h = {"Content-Type": FHIR}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        return h

    def auth(self, components):
        return HTTPSignatureAuth(signature_algorithm=algorithms.ECDSA_P256_SHA256, key=self.key,
                                 key_id=self.serial, covered_component_ids=components)

    def write(self, method, path, body):
        return requests.request(method, base + path, data=json.dumps(body).encode(), headers=self.headers(),
                                auth=self.auth(("@method", "@target-uri", "content-digest")),
                                cert=(self.cert, self.key_file), verify=a["ca"])

    def read(self, path):
        return requests.get(base + path, headers=self.headers(), cert=(self.cert, self.key_file), verify=a["ca"])

    def login(self):
        r = self.write("POST", "/$login", {"userName": self.user, "password": a["password"], "code": self.totp.now()})
        assert r.status_code == 200, r.text
        self.token = r.json()["token"]

A = Institution(a["institutions"][0])
B = Institution(a["institutions"][1])
out = {}
capabilities = valid(requests.get(base + "/metadata", verify=a["ca"]), 200)
out["capability_types"] = [r["type"] for r in capabilities["rest"][0]["resource"]]
# The certificate alone reads nothing clinical.
r = A.read("/DocumentReference?patient=" + a["patient"])
out["no_session"] = refused(r)
A.login()
B.login()
patient = {"reference": "Patient/" + a["patient"]}
encounter = valid(A.write("POST", "/Encounter", {
    "resourceType": "Encounter", "status": "in-progress", "subject": patient,
    "type": [{"text": "járóbeteg-ellátás"}],
    "location": [{"location": {"identifier": {"value": a["institutions"][0]["unit"]}}}]}), 201)
pdf = b"%PDF-1.4 ambulans lap"
reference = valid(A.write("POST", "/DocumentReference", {
    "resourceType": "DocumentReference", "status": "current", "subject": patient,
    "context": {"encounter": [{"reference": "Encounter/" + encounter["id"]}]},
    "content": [{"attachment": {"contentType": "application/pdf", "data": base64.b64encode(pdf).decode(), "title": "Ambuláns lap"}}]}), 201)
closed = valid(A.write("POST", "/Encounter/" + encounter["id"] + "/$close", {}), 200)
out["closed"] = closed["status"]
found = valid(B.read("/DocumentReference?patient=" + a["patient"]), 200)
out["found"] = [e["resource"]["id"] for e in found.get("entry", [])]
out["document"] = reference["id"]
binary = valid(B.read("/Binary/" + reference["id"]), 200)
out["binary_identical"] = base64.b64decode(binary["data"]) == pdf
condition = valid(A.write("POST", "/Condition", {"resourceType": "Condition", "subject": patient, "code": {"text": "Diabetes mellitus"}}), 201)
changed = dict(condition, code={"text": "Diabetes mellitus, 2-es típus"})
updated = valid(A.write("PUT", "/Condition/" + condition["id"], changed), 200)
out["updated_version"] = updated["meta"]["versionId"]
r = B.write("DELETE", "/Condition/" + condition["id"], {})
out["foreign_delete"] = refused(r)
history = valid(B.read("/Condition/" + condition["id"] + "/_history"), 200)
out["history"] = len(history["entry"])
referral = valid(A.write("POST", "/ServiceRequest", {"resourceType": "ServiceRequest", "intent": "order", "subject": patient,
                                                    "performerType": {"text": "szájsebészet"}}), 201)
consumed = valid(B.write("POST", "/ServiceRequest/" + referral["id"] + "/$consume", {}), 200)
out["consumed"] = consumed["status"]
r = B.write("POST", "/ServiceRequest/" + referral["id"] + "/$consume", {})
out["consumed_again"] = refused(r)
valid(B.read("/ServiceRequest?_id=" + referral["id"]), 200)

# An independent FHIR client, fhirpy, reads and searches with B's certificate and session.
from fhirpy import SyncFHIRClient
client = SyncFHIRClient(base, authorization="Bearer " + B.token,
                        requests_config={"cert": (B.cert, B.key_file), "verify": a["ca"]})
out["fhirpy_documents"] = [d.id for d in client.resources("DocumentReference").search(patient=a["patient"]).fetch_all()]
out["fhirpy_condition_version"] = client.reference("Condition", condition["id"]).to_resource()["meta"]["versionId"]
out["fhirpy_referrals"] = [r["status"] for r in client.resources("ServiceRequest").search(_id=referral["id"]).fetch()]
out["fhirpy_encounters"] = [e["status"] for e in client.resources("Encounter").search(patient=a["patient"]).fetch_all()]
out["validated"] = validated
print(json.dumps(out))
"#;

/// `medgate clinical <args>` on the node's store.
pub(super) fn clinical(node: &Node, args: &[&str]) -> String {
    let mut all: Vec<String> = vec!["clinical".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(node.store_args());
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    run_ok(&refs)
}

/// One institution set up with the operator's commands; returns what its system needs.
pub(super) fn set_up(node: &Node, id: &str, unit: &str, user: &str, stamp: &str) -> Value {
    let dir = node.dir.path();
    clinical(
        node,
        &[
            "institution",
            "add",
            "--id",
            id,
            "--name",
            &format!("Intézmény {id}"),
        ],
    );
    clinical(
        node,
        &[
            "unit",
            "add",
            "--institution",
            id,
            "--id",
            unit,
            "--name",
            "Rendelő",
        ],
    );
    let password = password_file(dir, &format!("{user}.password"), PASSWORD);
    let added = clinical(
        node,
        &[
            "practitioner",
            "add",
            "--user-name",
            user,
            "--name",
            user,
            "--stamp-number",
            stamp,
            "--password-file",
            &password,
        ],
    );
    let otpauth = added
        .lines()
        .find(|line| line.starts_with("otpauth://totp/"))
        .unwrap_or_else(|| panic!("no otpauth URI printed: {added}"))
        .to_owned();
    clinical(
        node,
        &[
            "grant",
            "--user-name",
            user,
            "--institution",
            id,
            "--role",
            "doctor",
        ],
    );
    let p12 = dir.join(format!("{id}.p12"));
    let issued = clinical(
        node,
        &[
            "certificate",
            "issue",
            "--institution",
            id,
            "--out",
            &p12.to_string_lossy(),
        ],
    );
    let serial = issued
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no serial printed: {issued}"))
        .to_owned();
    let p12_password = issued
        .lines()
        .find_map(|line| line.strip_prefix("PKCS#12 password (shown once): "))
        .unwrap_or_else(|| panic!("no PKCS#12 password printed: {issued}"))
        .trim()
        .to_owned();
    // The platform's connection check (seed 003): the institution checks its connection with
    // the PKCS#12 and its code, and the operator verifies the signed report it sends.
    let code_file = password_file(dir, &format!("{id}.p12.code"), &p12_password);
    let report = dir.join(format!("{id}-connect-check.json"));
    let checked = run_ok(&[
        "connect-check",
        &node.url(),
        "--p12",
        &p12.to_string_lossy(),
        "--password-file",
        &code_file,
        "--ca",
        &node.ca().to_string_lossy(),
        "--report",
        &report.to_string_lossy(),
    ]);
    assert!(checked.contains("usable"), "{checked}");
    let verified = clinical(
        node,
        &["connection", "verified", "--institution", id, "--report", &report.to_string_lossy()],
    );
    assert!(verified.contains("verified from its signed report"), "{verified}");
    json!({
        "id": id, "unit": unit, "user": user, "otpauth": otpauth,
        "p12": p12, "password": p12_password, "serial": serial,
    })
}

#[test]
fn practitioners_of_two_institutions_work_with_the_clinical_record_service() {
    let Some(python) = python() else { return };
    let node = Node::start_with(Backend::Sqlite, &["--role", "clinical"])
        .expect("SQLite is always available");
    let a = set_up(&node, "506097", "001044299", "dr.kovacs", "58012");
    let b = set_up(&node, "111111", "002000001", "dr.nagy", "41234");
    // A matrix line granted and revoked again; revoking it twice is refused naming the line.
    let line = ["--user-name", "dr.nagy", "--institution", "506097", "--role", "consultant"];
    clinical(&node, &[&["grant"][..], &line[..]].concat());
    let revoked = clinical(&node, &[&["revoke"][..], &line[..]].concat());
    assert!(revoked.contains("no longer acts for institution 506097"), "{revoked}");
    let mut again: Vec<String> = ["clinical", "revoke"].iter().chain(line.iter()).map(|s| s.to_string()).collect();
    again.extend(node.store_args());
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    let refused = run_fails(&again);
    assert!(refused.contains("no authorisation dr.nagy for 506097 as consultant"), "{refused}");
    // One institution's report does not verify another's connection.
    let foreign = node.dir.path().join("111111-connect-check.json");
    let mut args: Vec<String> = ["clinical", "connection", "verified", "--institution", "506097", "--report"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(foreign.to_string_lossy().into_owned());
    args.extend(node.store_args());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let refused = run_fails(&refs);
    assert!(refused.contains("institution 111111, not 506097"), "{refused}");
    let listed: Value =
        serde_json::from_str(&clinical(&node, &["institution", "list", "--json"])).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    assert!(listed[0]["connection_verified_at"].is_string(), "{listed}");

    let input = json!({
        "url": node.url(),
        "ca": node.ca(),
        "password": PASSWORD,
        "patient": PATIENT,
        "institutions": [a, b],
    });
    let mut child = Command::new(&python)
        .args(["-c", PRACTITIONERS])
        .env("PYTHONPATH", fhir_python_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("input");
    let output = child.wait_with_output().expect("python finishes");
    assert!(
        output.status.success(),
        "the practitioners' systems failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_slice(&output.stdout).expect("python JSON");
    assert_eq!(out["no_session"], json!([401, "session_required"]));
    assert_eq!(out["closed"], "finished");
    assert_eq!(out["found"], json!([out["document"].clone()]), "{out}");
    assert_eq!(out["binary_identical"], true);
    assert_eq!(out["foreign_delete"], json!([403, "not_owner"]));
    assert_eq!(out["updated_version"], "2");
    assert_eq!(out["history"], 2, "both versions: {out}");
    assert_eq!(out["consumed"], "completed");
    assert_eq!(out["consumed_again"], json!([409, "referral_consumed"]));
    // fhirpy found, read and searched what the service holds.
    assert_eq!(out["fhirpy_documents"], out["found"], "{out}");
    assert_eq!(out["fhirpy_condition_version"], "2", "{out}");
    assert_eq!(out["fhirpy_referrals"], json!(["completed"]), "{out}");
    assert_eq!(out["fhirpy_encounters"], json!(["finished"]), "{out}");
    let types = out["capability_types"].as_array().expect("capability types");
    assert!(types.iter().any(|t| t == "MedicationStatement"), "{out}");
    let validated = out["validated"].as_array().expect("validated");
    for kind in [
        "CapabilityStatement",
        "Encounter",
        "DocumentReference",
        "Binary",
        "Condition",
        "ServiceRequest",
        "Bundle.searchset",
        "Bundle.history",
        "OperationOutcome",
    ] {
        assert!(
            validated.iter().any(|v| v == kind),
            "{kind} not validated: {out}"
        );
    }
}
