//! The FHIR facade end to end: PIK documents (and an attachment) stored through the API are
//! found with `GET /fhir/DocumentReference?patient.identifier=…`, read by id and retrieved
//! through `Binary`, by Python `requests` with the clinic's TLS certificate; every Bundle,
//! DocumentReference, Binary and OperationOutcome is validated with the FHIR R4 (4.0.1)
//! models of Python `fhir.resources` 6.4, which refuse unknown or mistyped elements. The
//! bytes retrieved are the bytes stored (SHA-256, and the SHA-1 `attachment.hash`). Another
//! tenant's ids are 404, bad parameters are OperationOutcomes with status 400, and the reads
//! appear in the audit log. (How FHIR `Binary` and the API's download send an uploaded page
//! is tested in process, `crates/medgate-server/tests/documents.rs`.)

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use medgate_test_peers::{python_runs, require, require_command};
use serde_json::{json, Value};

use super::harness::{Backend, Clinic, Node};
use crate::support::run_peer_ok;

const A: &str = "0000000000008010";
const B: &str = "0000000000008020";
const OWN_PESEL: &str = "44051401359";

/// Where `scripts/test` installs `fhir.resources` 6.4 (FHIR R4) with pydantic 1, apart from
/// the system's Python packages (newer ones need pydantic 2 and model R4B/R5);
/// `MEDGATE_TEST_FHIR_PYTHONPATH` overrides.
fn fhir_python_path() -> PathBuf {
    std::env::var_os("MEDGATE_TEST_FHIR_PYTHONPATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/python-fhir-r4")
        })
}

/// Python 3 that imports the R4 models, under the one missing-peer rule (fail with the
/// install hint, or skip loudly with MEDGATE_SKIP_MISSING_PEERS=1).
fn fhir_python() -> Option<PathBuf> {
    let python = require_command("python3", "apt-get install python3")?;
    let models = fhir_python_path();
    let probe = python_runs(
        &python,
        "import requests, fhir.resources as f; assert f.__fhir_version__ == '4.0.1', f.__fhir_version__",
        &[("PYTHONPATH", models.as_os_str())],
    );
    require(
        &format!("Python fhir.resources for FHIR R4 at {}", models.display()),
        &format!(
            "pip install --target {} 'fhir.resources==6.4.0' 'pydantic[email]<2'",
            models.display()
        ),
        probe.map(|()| python),
    )
}

const CLIENT: &str = r#"
import base64, hashlib, json, sys
import requests
import fhir.resources
from fhir.resources.binary import Binary
from fhir.resources.bundle import Bundle
from fhir.resources.documentreference import DocumentReference
from fhir.resources.operationoutcome import OperationOutcome
from fhir.resources.capabilitystatement import CapabilityStatement

assert fhir.resources.__fhir_version__ == "4.0.1"
a = json.load(sys.stdin)
base = a["url"]
class Client:
    """The clinic's TLS certificate and the node's CA on every request (passed each time:
    a Session's `verify` loses to REQUESTS_CA_BUNDLE in the environment)."""
    def get(self, url, **kw):
        return requests.get(url, cert=(a["tls_cert"], a["tls_key"]), verify=a["ca"], **kw)
    def post(self, url, **kw):
        return requests.post(url, cert=(a["tls_cert"], a["tls_key"]), verify=a["ca"], **kw)
s = Client()
FHIR = "application/fhir+json"

def fhir_body(r, status):
    assert r.status_code == status, (r.status_code, r.url, r.text)
    assert r.headers["content-type"].split(";")[0] == FHIR, r.headers
    return r.json()

def outcome(r, status):
    body = fhir_body(r, status)
    OperationOutcome.parse_obj(body)
    assert body["issue"][0]["severity"] == "error" and body["issue"][0]["diagnostics"], body
    return {"status": r.status_code, "code": body["issue"][0]["code"], "diagnostics": body["issue"][0]["diagnostics"]}

def document_id(identifier):
    if identifier["system"] == "urn:ietf:rfc:3986":
        return identifier["value"].split(":", 2)[2]
    assert identifier["system"].startswith("urn:oid:"), identifier
    return identifier["system"][len("urn:oid:"):] + "^" + identifier["value"]

def search(params):
    body = fhir_body(s.get(base + "/fhir/DocumentReference", params=params), 200)
    Bundle.parse_obj(body)
    assert body["type"] == "searchset", body
    return body

result = {"patients": [], "resources_validated": 0, "fhir_ids": {}}
for patient in a["patients"]:
    system, value = patient["system"], patient["value"]
    bundle = search({"patient.identifier": system + "|" + value, "_count": "500"})
    entries = bundle.get("entry", [])
    found = []
    for entry in entries:
        if entry["search"]["mode"] == "outcome":
            # A warning about the value searched for (a PESEL with a wrong check digit).
            OperationOutcome.parse_obj(entry["resource"])
            assert entry["resource"]["issue"][0]["severity"] == "warning", entry
            continue
        assert entry["search"]["mode"] == "match", entry
        resource = entry["resource"]
        DocumentReference.parse_obj(resource)
        assert resource["status"] == "current"
        did = document_id(resource["masterIdentifier"])
        expected = patient["documents"][did]
        result["fhir_ids"][did] = resource["id"]
        assert resource["subject"]["identifier"] == {"system": system, "value": value}, resource["subject"]
        assert entry["fullUrl"] == base + "/fhir/DocumentReference/" + resource["id"], entry["fullUrl"]
        # Read by id: the same resource.
        read = fhir_body(s.get(entry["fullUrl"]), 200)
        DocumentReference.parse_obj(read)
        assert read == resource, (read, resource)
        attachment = resource["content"][0]["attachment"]
        assert attachment["url"] == base + "/fhir/Binary/" + resource["id"], attachment
        # Retrieve: raw bytes by default, a Binary resource for FHIR JSON clients.
        raw = s.get(attachment["url"])
        assert raw.status_code == 200, raw.text
        assert raw.headers["content-type"].split(";")[0] == attachment["contentType"], raw.headers
        data = raw.content
        binary = fhir_body(s.get(attachment["url"], headers={"Accept": FHIR}), 200)
        Binary.parse_obj(binary)
        assert base64.b64decode(binary["data"]) == data
        assert binary["contentType"] == attachment["contentType"]
        assert binary["id"] == resource["id"]
        assert hashlib.sha256(data).hexdigest() == expected["sha256"], did
        assert attachment["hash"] == base64.b64encode(hashlib.sha1(data).digest()).decode(), did
        assert attachment["size"] == len(data) == expected["size"], did
        if expected.get("loinc"):
            coding = resource["type"]["coding"][0]
            assert coding == {**coding, "system": "http://loinc.org", "code": expected["loinc"]}, coding
        if expected.get("title"):
            assert resource["description"] == expected["title"] == attachment["title"]
        result["resources_validated"] += 4
        found.append(did)
    # The value alone finds the same documents.
    bare = search({"patient.identifier": value, "_count": "500"})
    result["patients"].append({
        "value": value,
        "total": bundle["total"],
        "found": sorted(found),
        "bare_total": bare["total"],
        "has_period": any("context" in e["resource"] for e in entries),
    })

# Paging: one per page, `next` continues.
first = a["patients"][0]
page = search({"patient.identifier": first["system"] + "|" + first["value"], "_count": "1"})
next_links = [l["url"] for l in page["link"] if l["relation"] == "next"]
paged = [page["entry"][0]["resource"]["id"]]
while next_links:
    page = fhir_body(s.get(next_links[0]), 200)
    Bundle.parse_obj(page)
    paged.append(page["entry"][0]["resource"]["id"])
    next_links = [l["url"] for l in page["link"] if l["relation"] == "next"]
result["paged"] = paged
result["only_superseded"] = search({"patient.identifier": first["value"], "status": "superseded"})["total"]

errors = {}
dr = base + "/fhir/DocumentReference"
errors["missing"] = outcome(s.get(dr), 400)
errors["bad_system"] = outcome(s.get(dr, params={"patient.identifier": "http://example.org/ids|1"}), 400)
errors["bad_pesel"] = outcome(s.get(dr, params={"patient.identifier": "urn:oid:2.16.840.1.113883.3.4424.1.1.616|44051401358"}, headers={"Prefer": "handling=strict"}), 400)
# Lenient: a PESEL with a wrong check digit is searched for as stored, with a warning.
bad_check = search({"patient.identifier": "urn:oid:2.16.840.1.113883.3.4424.1.1.616|44051401358"})
result["bad_pesel_lenient"] = [e["resource"]["issue"][0]["diagnostics"] for e in bad_check["entry"] if e["search"]["mode"] == "outcome"]
errors["unknown_parameter"] = outcome(s.get(dr, params={"patient.identifier": first["value"], "patient.identifer": first["value"]}, headers={"Prefer": "handling=strict"}), 400)
errors["xml"] = outcome(s.get(dr, params={"patient.identifier": first["value"], "_format": "xml"}), 400)
errors["bad_count"] = outcome(s.get(dr, params={"patient.identifier": first["value"], "_count": "501"}), 400)
errors["bad_summary"] = outcome(s.get(dr, params={"patient.identifier": first["value"], "_summary": "text"}), 400)
errors["unknown_path"] = outcome(s.get(base + "/fhir/Patient"), 404)
errors["post"] = outcome(s.post(dr, json={}), 405)
# Lenient by default: an unknown parameter is ignored, and the Bundle says so.
lenient = search({"patient.identifier": first["value"], "patient.identifer": "x"})
result["lenient"] = {
    "total": lenient["total"],
    "outcomes": [e["resource"]["issue"][0]["diagnostics"] for e in lenient["entry"] if e["search"]["mode"] == "outcome"],
}
# The total alone (fhirpy's .count() and _count=0).
counted = search({"patient.identifier": first["value"], "_summary": "count"})
zero = search({"patient.identifier": first["value"], "_count": "0"})
result["counted"] = {"total": counted["total"], "entries": len(counted.get("entry", [])), "zero_total": zero["total"], "zero_entries": len(zero.get("entry", []))}
# The CapabilityStatement, asked first by FHIR clients, with no certificate.
capability = requests.get(base + "/fhir/metadata", verify=a["ca"])
statement = fhir_body(capability, 200)
CapabilityStatement.parse_obj(statement)
result["capability"] = {
    "fhirVersion": statement["fhirVersion"],
    "resources": sorted(r["type"] for r in statement["rest"][0]["resource"]),
}
errors["unknown_id"] = outcome(s.get(dr + "/1.2.3.4-nope"), 404)
errors["malformed_id"] = outcome(s.get(dr + "/a%5Eb"), 404)
errors["unknown_key"] = outcome(s.get(base + "/fhir/Binary/n999999"), 404)
for name, foreign in a["foreign_ids"].items():
    errors["foreign_reference_" + name] = outcome(s.get(dr + "/" + foreign), 404)
    errors["foreign_binary_" + name] = outcome(s.get(base + "/fhir/Binary/" + foreign), 404)
    errors["foreign_search_" + name] = search({"patient.identifier": a["foreign_patient"]})["total"]
anonymous = requests.get(dr, params={"patient.identifier": first["value"]}, verify=a["ca"])
errors["no_certificate"] = outcome(anonymous, 401)
result["errors"] = errors
print(json.dumps(result))
"#;

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Every PIK example, stored unless its document id is already stored; none when the
/// examples are not beside the project (they add coverage; the test's own documents are
/// what it needs).
fn put_pik(clinic: &Clinic) -> Option<usize> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/cda/pik");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "\n*** NOTE: the PIK examples are not at {}; the FHIR facade is checked with the test's own documents only ***\n",
            dir.display()
        );
        return Some(0);
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let mut stored = 0;
    for file in files {
        let output = clinic.run(&["put", &s(&file)]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            stored += 1;
        } else {
            // Several examples reuse one document id; the first of them is stored.
            assert!(
                stderr.contains("already stored"),
                "{}: {stderr}",
                file.display()
            );
        }
    }
    assert!(stored >= 8, "only {stored} PIK examples stored");
    Some(stored)
}

/// A clinic's keys without their password, as `requests` needs them.
fn plain_tls_key(openssl: &Path, clinic: &Clinic) -> String {
    run_peer_ok(
        openssl,
        &[
            "pkey",
            "-in",
            &clinic.path("certs/tls.key"),
            "-passin",
            &format!("file:{}", clinic.path("password")),
            "-out",
            &clinic.path("tls-plain.key"),
        ],
    );
    clinic.path("tls-plain.key")
}

#[test]
fn fhir_facade_serves_valid_r4_resources_for_pik_documents() {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else {
        return;
    };
    let Some(python) = fhir_python() else { return };
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let a = node.enroll(A, 50, 1000);
    let b = node.enroll(B, 10, 100);
    let Some(pik) = put_pik(&a) else { return };
    let own =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/fixtures/cda-discharge-pesel.xml");
    a.run_ok(&["put", &s(&own)]);
    // A document id that cannot be a FHIR id (`_` and `/`): it gets a key id.
    let own_text = std::fs::read_to_string(&own).unwrap();
    let with_id = |extension: &str| {
        own_text
            .replacen(
                "extension=\"MG-0001\"",
                &format!("extension=\"{extension}\""),
                1,
            )
            .replacen(
                "extension=\"MG-SET-0001\"",
                &format!("extension=\"{extension}-SET\""),
                1,
            )
    };
    std::fs::write(a.path("odd-id.xml"), with_id("MG_0002/a")).unwrap();
    a.run_ok(&["put", &a.path("odd-id.xml")]);
    std::fs::write(a.path("scan.pdf"), b"%PDF-1.4 scan of a referral\n%%EOF\n").unwrap();
    let attachment = json_of(&a.run_ok(&[
        "put-attachment",
        &a.path("scan.pdf"),
        "--patient",
        OWN_PESEL,
        "--title",
        "Skan skierowania",
        "--json",
    ]));
    let attachment_id = attachment["document"]["id"]
        .as_str()
        .expect("attachment id")
        .to_owned();

    // The other tenant: a document and an attachment A does not have.
    let ccda = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../medgate-cda/tests/fixtures/ccda-continuity-of-care.xml");
    b.run_ok(&["put", &s(&ccda)]);
    std::fs::write(b.path("odd-id.xml"), with_id("B_0001/b")).unwrap();
    b.run_ok(&["put", &b.path("odd-id.xml")]);

    // What A holds, per patient, from the API itself.
    let listed = json_of(&a.run_ok(&["search", "--json", "--limit", "500"]));
    let documents = listed["documents"].as_array().expect("documents");
    assert_eq!(documents.len(), pik + 3);
    let mut patients: Vec<Value> = Vec::new();
    for document in documents {
        let root = document["patient"]["root"].as_str().unwrap();
        let value = document["patient"]["extension"].as_str().unwrap();
        let system = format!("urn:oid:{root}");
        let index = match patients
            .iter()
            .position(|p| p["system"] == system.as_str() && p["value"] == value)
        {
            Some(index) => index,
            None => {
                patients.push(json!({ "system": system, "value": value, "documents": {} }));
                patients.len() - 1
            }
        };
        let loinc = (document["type_system"] == "2.16.840.1.113883.6.1")
            .then(|| document["type_code"].clone());
        patients[index]["documents"][document["id"].as_str().unwrap()] = json!({
            "sha256": document["sha256"],
            "size": document["size"],
            "loinc": loinc,
            "title": document["title"],
        });
    }
    // The patient with the most documents first (paging is tried on it).
    patients.sort_by_key(|p| std::cmp::Reverse(p["documents"].as_object().unwrap().len()));

    // B's ids in the forms A's would have: readable (the C-CDA document) and by key.
    let foreign_key = {
        // B reads its own document through the facade to learn its id.
        let b_key = plain_tls_key(&openssl, &b);
        let script = r#"
import json, sys, requests
a = json.load(sys.stdin)
r = requests.get(a["url"] + "/fhir/DocumentReference", params={"patient.identifier": a["patient"]},
                 cert=(a["cert"], a["key"]), verify=a["ca"])
r.raise_for_status()
print(json.dumps([e["resource"]["id"] for e in r.json()["entry"]]))
"#;
        let ids = json_of(&python_run(
            &python,
            script,
            &json!({
                "url": node.url(), "patient": OWN_PESEL, "cert": b.path("certs/tls.pem"), "key": b_key, "ca": node.ca(),
            }),
        ));
        let ids: Vec<String> = ids
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert!(
            ids[0].starts_with('n') && ids[0][1..].bytes().all(|b| b.is_ascii_digit()),
            "{ids:?}"
        );
        ids[0].clone()
    };

    let input = json!({
        "url": node.url(),
        "tls_cert": a.path("certs/tls.pem"),
        "tls_key": plain_tls_key(&openssl, &a),
        "ca": node.ca(),
        "patients": patients,
        "foreign_ids": {
            "readable": "2.16.840.1.113883.19.5.99999.1-TT988",
            "key": foreign_key,
        },
        "foreign_patient": "urn:oid:2.16.840.1.113883.19.5|998991",
    });
    let result = json_of(&python_run(&python, CLIENT, &input));

    // Every document of every patient was found, read, retrieved and validated.
    let checked: usize = result["patients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["found"].as_array().unwrap().len())
        .sum();
    assert_eq!(checked, pik + 3, "{result}");
    for (patient, expected) in result["patients"].as_array().unwrap().iter().zip(&patients) {
        let mut ids: Vec<String> = expected["documents"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        ids.sort();
        let found: Vec<String> = patient["found"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(found, ids, "{result}");
        assert_eq!(patient["total"], ids.len(), "{result}");
        assert!(
            patient["bare_total"].as_u64() >= patient["total"].as_u64(),
            "{result}"
        );
    }
    assert_eq!(result["resources_validated"], 4 * (pik + 3));
    // A service period comes with the PIK examples' documentationOf.
    assert!(
        pik == 0
            || result["patients"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["has_period"] == true),
        "{result}"
    );
    let first_patient_documents = patients[0]["documents"].as_object().unwrap().len();
    assert!(first_patient_documents > 1);
    assert_eq!(
        result["paged"].as_array().unwrap().len(),
        first_patient_documents,
        "{result}"
    );
    assert_eq!(result["only_superseded"], 0);

    // Ids: readable where the document id fits, a key where it cannot.
    let fhir_ids = &result["fhir_ids"];
    assert_eq!(
        fhir_ids["2.16.840.1.113883.3.4424.2.7.26.7.1^MG-0001"],
        "2.16.840.1.113883.3.4424.2.7.26.7.1-MG-0001"
    );
    assert!(
        fhir_ids["2.16.840.1.113883.3.4424.2.7.26.7.1^MG_0002/a"]
            .as_str()
            .unwrap()
            .starts_with('n'),
        "{result}"
    );
    assert!(fhir_ids[attachment_id.as_str()].is_string(), "{result}");

    let errors = &result["errors"];
    for (name, code) in [
        ("missing", "invalid"),
        ("bad_system", "invalid"),
        ("bad_pesel", "invalid"),
        ("unknown_parameter", "invalid"),
        ("xml", "invalid"),
        ("bad_count", "invalid"),
        ("bad_summary", "invalid"),
        ("unknown_path", "not-found"),
        ("post", "not-supported"),
        ("unknown_id", "not-found"),
        ("malformed_id", "not-found"),
        ("unknown_key", "not-found"),
        ("foreign_reference_readable", "not-found"),
        ("foreign_binary_readable", "not-found"),
        ("foreign_reference_key", "not-found"),
        ("foreign_binary_key", "not-found"),
        ("no_certificate", "login"),
    ] {
        assert_eq!(errors[name]["code"], code, "{name}: {errors}");
    }
    assert!(errors["missing"]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("patient.identifier"));
    assert!(errors["bad_system"]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("http://example.org/ids"));
    assert!(errors["unknown_parameter"]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("patient.identifer"));
    assert_eq!(errors["foreign_search_readable"], 0);
    assert!(
        result["bad_pesel_lenient"][0].as_str().unwrap().contains("not a valid PESEL"),
        "{result}"
    );
    let lenient = &result["lenient"];
    assert_eq!(lenient["total"], result["patients"][0]["bare_total"], "{result}");
    assert!(lenient["outcomes"][0].as_str().unwrap().contains("patient.identifer"), "{result}");
    let counted = &result["counted"];
    assert_eq!(counted["total"], result["patients"][0]["bare_total"], "{result}");
    assert_eq!(counted["entries"], 0, "{result}");
    assert_eq!(counted["zero_total"], counted["total"], "{result}");
    assert_eq!(counted["zero_entries"], 0, "{result}");
    assert_eq!(result["capability"]["fhirVersion"], "4.0.1", "{result}");
    assert_eq!(result["capability"]["resources"], serde_json::json!(["Binary", "DocumentReference"]));

    // The reads are in A's audit log with the patient.
    let log = json_of(&a.run_ok(&["audit", "--json", "--patient", OWN_PESEL, "--limit", "1000"]));
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "fhir.document_reference.search",
        "fhir.document_reference.read",
        "fhir.binary.read",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    // B's search through the facade is B's, not A's.
    let b_log = json_of(&b.run_ok(&["audit", "--json", "--patient", OWN_PESEL]));
    assert!(b_log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "fhir.document_reference.search"));
}

/// Runs a Python script with the R4 models on the path, JSON in on stdin; returns stdout.
fn python_run(python: &Path, script: &str, input: &Value) -> String {
    let mut child = Command::new(python)
        .env("PYTHONPATH", fhir_python_path())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("input");
    let output = child.wait_with_output().expect("python finishes");
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
