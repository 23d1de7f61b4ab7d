//! The OpenAPI documents against the running servers, checked by an independent peer:
//! schemathesis generates requests from the served `/api/v1/openapi.json` of a repository
//! and of a national registry (valid ones, and ones that break the document), sends them over
//! mutual TLS, signed by `schemathesis_hooks.py` like a clinic's (or a repository's, at the
//! registry), and fails on any 5xx, any answer whose status, content type, headers or body
//! the document does not describe, a wrong method not answered 405 with `Allow`, and a
//! request valid by the document refused with 400 (a constraint the document does not
//! state). Settings: `schemathesis.toml` beside this file. Bounded: a fixed seed and number
//! of examples per operation, one worker, no stateful phase;
//! `MEDGATE_SCHEMATHESIS_SEED` and `MEDGATE_SCHEMATHESIS_EXAMPLES` override the two.

use std::path::{Path, PathBuf};
use std::process::Command;

use medgate_test_peers::{require_command, require_python};

use super::harness::{Backend, Node};
use super::national::issue_national;
use super::portal::{create_consent, day, put_document, NAME_A, NAME_B, PESEL_A, PESEL_B};
use crate::support::{run_ok, run_peer_ok};

/// The version `scripts/test` installs.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
const DEFAULT_SEED: &str = "20261203";
const DEFAULT_EXAMPLES: &str = "25";

fn hooks_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli/repository"))
}

/// The serial of a certificate, the signature's keyid.
fn serial(certificate: &Path) -> String {
    let inspect = run_ok(&["pki", "inspect", &certificate.to_string_lossy(), "--json"]);
    let inspect: serde_json::Value = serde_json::from_str(&inspect).expect("inspect JSON");
    inspect
        .pointer("/certificates/0/serial")
        .and_then(|v| v.as_str())
        .expect("serial")
        .to_owned()
}

/// Who schemathesis calls as: a TLS certificate and key, the WSS key that signs.
struct Credentials {
    tls_cert: PathBuf,
    /// Encrypted, like every key medgate writes; decrypted into `work` for `requests`.
    tls_key: PathBuf,
    wss_cert: PathBuf,
    wss_key: PathBuf,
    password_file: PathBuf,
    tenant: String,
}

/// What one run did.
struct Run {
    passed: bool,
    report: String,
    seconds: f64,
    cases: u64,
}

/// `schemathesis run` against a node's served document with `credentials`; `known` gives
/// ids of things that exist (see the hooks).
fn schemathesis(
    python: &Path,
    openssl: &Path,
    node: &Node,
    credentials: &Credentials,
    known: &serde_json::Value,
    work: &Path,
    extra: &[&str],
) -> Run {
    let seed = std::env::var("MEDGATE_SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    let examples =
        std::env::var("MEDGATE_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| DEFAULT_EXAMPLES.into());
    std::fs::create_dir_all(work).expect("work folder");
    // schemathesis (through `requests`) reads an unencrypted TLS key only.
    let tls_key = work.join("tls-plain.key");
    run_peer_ok(openssl, &[
        "pkey", "-in", &credentials.tls_key.to_string_lossy(),
        "-passin", &format!("file:{}", credentials.password_file.to_string_lossy()),
        "-out", &tls_key.to_string_lossy(),
    ]);
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let started = std::time::Instant::now();
    let output = Command::new(python)
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(hooks_dir().join("schemathesis.toml"))
        .args(["run", &format!("{}/api/v1/openapi.json", node.url()), "--url", &node.url()])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &examples, "--seed", &seed])
        // One worker: schemathesis' generation is not safe across threads on every Python
        // (a worker can die inside hypothesis), and the run must be repeatable.
        .args(["--generation-database", "none", "--workers", "1"])
        .args(["--tls-verify", &s(&node.ca())])
        .args(["--request-cert", &s(&credentials.tls_cert), "--request-cert-key", &s(&tls_key)])
        .args(["--request-timeout", "30", "--no-color", "--continue-on-failure"])
        .args(extra)
        .env("PYTHONPATH", hooks_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("MEDGATE_ST_WSS_KEY", &credentials.wss_key)
        .env("MEDGATE_ST_PASSWORD_FILE", &credentials.password_file)
        .env("MEDGATE_ST_KEY_ID", serial(&credentials.wss_cert))
        .env("MEDGATE_ST_TENANT", &credentials.tenant)
        .env("MEDGATE_ST_KNOWN", known.to_string())
        .current_dir(work)
        .output()
        .expect("schemathesis runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // "Test cases:\n  2619 generated, 2619 passed"
    let cases = report
        .split("Test cases:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Run {
        passed: output.status.success(),
        report,
        seconds: started.elapsed().as_secs_f64(),
        cases,
    }
}

/// The number after `label` in a report, e.g. `Tested: 31`.
fn count_after(report: &str, label: &str) -> Option<u64> {
    report
        .split(label)
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .find(|part| !part.is_empty())?
        .parse()
        .ok()
}

/// Fails the test unless the run passed after really testing every selected operation.
fn assert_clean(what: &str, run: &Run) {
    eprintln!("schemathesis on the {what}: {} test cases in {:.0} s", run.cases, run.seconds);
    assert!(run.passed, "schemathesis found failures in the {what}'s answers:\n{}", run.report);
    let selected = count_after(&run.report, "Selected:").unwrap_or(0);
    let tested = count_after(&run.report, "Tested:").unwrap_or(0);
    assert!(
        selected > 0 && tested == selected,
        "not every operation of the {what} was tested:\n{}",
        run.report
    );
    assert!(run.cases >= 10 * tested, "too few test cases:\n{}", run.report);
}

#[test]
fn the_openapi_documents_describe_every_answer_of_the_repository_and_the_registry() {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else { return };
    let Some(_) = require_python("requests_http_signature", "pip install requests-http-signature") else { return };
    let Some(python) = require_python("schemathesis", &format!("pip install '{SCHEMATHESIS}'")) else { return };
    let registry = Node::start_registry();
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let Some(node) = Node::start_with(
        Backend::Sqlite,
        &["--registry-url", &registry.url(), "--registry-ca-file", &s(&registry.ca())],
    ) else {
        return;
    };
    let clinic = node.enroll("0000000000007010", 10, 1000);

    // Something to find: two CDA documents, an attachment, a consent, the organisational
    // structure, a national registration.
    let first = put_document(&clinic, "ST-1", PESEL_A, NAME_A, "Karta informacyjna");
    let second = put_document(&clinic, "ST-2", PESEL_B, NAME_B, "Skierowanie");
    let scan = clinic.path("scan.pdf");
    std::fs::write(&scan, b"%PDF-1.4\n% a scan\n").expect("scan");
    let attachment: serde_json::Value = serde_json::from_str(&clinic.run_ok(&[
        "put-attachment", &scan, "--patient", PESEL_A, "--title", "Skan", "--json",
    ]))
    .expect("attachment JSON");
    let attachment = attachment["document"]["id"].as_str().expect("id").to_owned();
    let consent = create_consent(&clinic, PESEL_A, &day(-1), &day(30), "Dr Nowak", &[&first]);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/organisation.toml");
    clinic.run_ok(&["org", "push", &s(&example)]);
    let national = issue_national(&registry, &clinic, "national");
    let register = [
        "national", "register", "--tls-p12", &national.tls_p12, "--wss-p12", &national.wss_p12,
        "--password-file", &national.password,
    ];
    clinic.run_ok(&register);
    clinic.run_ok(&["index", &first]);
    let pesel_system = "urn:oid:2.16.840.1.113883.3.4424.1.1.616";

    // The registry first, called as the clinic's repository with its national certificates:
    // everything but deregistering, then that (after which every call is 403).
    let national_credentials = Credentials {
        tls_cert: national.dir.join("tls.pem"),
        tls_key: national.dir.join("tls.key"),
        wss_cert: national.dir.join("wss.pem"),
        wss_key: national.dir.join("wss.key"),
        password_file: national.dir.join("key-password"),
        tenant: clinic.tenant.clone(),
    };
    let deregister = "DELETE /api/v1/registry/repositories/self";
    let registry_known = serde_json::json!({ "/api/v1/registry/entries?patient": [PESEL_A] });
    let registry_runs = [
        schemathesis(
            &python, &openssl, &registry, &national_credentials, &registry_known,
            &clinic.dir.join("schemathesis-registry"), &["--exclude-name", deregister],
        ),
        schemathesis(
            &python, &openssl, &registry, &national_credentials, &registry_known,
            &clinic.dir.join("schemathesis-registry-2"), &["--include-name", deregister],
        ),
    ];
    assert_clean("registry", &registry_runs[0]);
    assert_clean("registry", &registry_runs[1]);

    // Registering again (same id) after the deregistration.
    clinic.run_ok(&register);
    let fhir_id = |id: &str| id.replace('^', "-");
    let documents = [first.as_str(), second.as_str(), attachment.as_str()];
    let known = serde_json::json!({
        "/api/v1/documents/{id}:id": documents,
        "/api/v1/documents/{id}/metadata:id": documents,
        // Only a CDA document renders; an attachment is 400 `not_cda` by design.
        "/api/v1/documents/{id}/render:id": [first.as_str(), second.as_str()],
        "/api/v1/documents/{id}/export:id": documents,
        "/api/v1/consents/{id}:id": [consent],
        "/fhir/DocumentReference/{id}:id": [fhir_id(&first), fhir_id(&second)],
        "/fhir/Binary/{id}:id": [fhir_id(&first), fhir_id(&second)],
        "/api/v1/documents?patient": [PESEL_A],
        "/api/v1/audit?patient": [PESEL_A],
        "/api/v1/consents?patient": [PESEL_A],
        "/api/v1/national/find?patient": [PESEL_A],
        "/fhir/DocumentReference?patient.identifier": [format!("{pesel_system}|{PESEL_A}")],
    });
    let repository_run = schemathesis(
        &python,
        &openssl,
        &node,
        &Credentials {
            tls_cert: clinic.dir.join("certs/tls.pem"),
            tls_key: clinic.dir.join("certs/tls.key"),
            wss_cert: clinic.dir.join("certs/wss.pem"),
            wss_key: clinic.dir.join("certs/wss.key"),
            password_file: clinic.dir.join("password"),
            tenant: clinic.tenant.clone(),
        },
        &known,
        &clinic.dir.join("schemathesis-repository"),
        &[],
    );
    assert_clean("repository", &repository_run);

    // The seeded data is still there: the fuzzer's writes never touched it.
    let found = clinic.run_ok(&["search", "--patient", PESEL_A, "--limit", "500", "--json"]);
    assert!(found.contains("ST-1") && found.contains(&attachment), "{found}");
    let shown = clinic.run_ok(&["consent", "show", "--json", &consent]);
    assert!(shown.contains("\"draft\""), "{shown}");
}

/// Sends, on one kept-alive connection (Python `requests`), a wrong method and an unknown
/// path each with a 3 MB body, then a request that must still be answered.
const WRONG_METHOD_CLIENT: &str = r#"
import json, sys
import requests
a = json.load(sys.stdin)
session = requests.Session()
kw = {"cert": (a["tls_cert"], a["tls_key"]), "verify": a["ca"]}
answers = []
for method, path in [("PATCH", "/api/v1/account/admin-users"), ("DELETE", "/api/v1/nothing-here")]:
    r = session.request(method, a["url"] + path, data=b"x" * 3_000_000, **kw)
    answers.append({"status": r.status_code, "type": r.headers.get("content-type"),
                    "allow": r.headers.get("allow"), "code": r.json().get("code")})
    after = session.get(a["url"] + "/api/v1/account", **kw)
    answers.append({"status": after.status_code})
print(json.dumps(answers))
"#;

#[test]
fn a_wrong_method_or_path_with_a_large_body_is_refused_in_json_and_the_connection_lives_on() {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else { return };
    let Some(python) = require_python("requests", "pip install requests") else { return };
    let Some(node) = Node::start(Backend::Sqlite) else { return };
    let clinic = node.enroll("0000000000007020", 10, 100);
    let tls_key = clinic.path("tls-plain.key");
    run_peer_ok(&openssl, &[
        "pkey", "-in", &clinic.path("certs/tls.key"),
        "-passin", &format!("file:{}", clinic.path("password")), "-out", &tls_key,
    ]);
    let input = serde_json::json!({
        "url": node.url(), "tls_cert": clinic.path("certs/tls.pem"), "tls_key": tls_key,
        "ca": node.ca(),
    });
    let mut child = Command::new(&python)
        .args(["-c", WRONG_METHOD_CLIENT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(input.to_string().as_bytes()).expect("input");
    let output = child.wait_with_output().expect("python finishes");
    assert!(output.status.success(), "python client failed: {}", String::from_utf8_lossy(&output.stderr));
    let answers: serde_json::Value = serde_json::from_slice(&output.stdout).expect("python JSON");
    assert_eq!(
        answers,
        serde_json::json!([
            {"status": 405, "type": "application/json", "allow": "POST", "code": "method_not_allowed"},
            {"status": 200},
            {"status": 404, "type": "application/json", "allow": null, "code": "no_such_route"},
            {"status": 200},
        ])
    );
}
