//! Activation, the account view, certificate replacement and every authentication refusal
//! of seed 000's support catalogue, on SQLite and PostgreSQL.

use super::harness::{Backend, Clinic, Node};
use crate::support::run_ok;

const A: &str = "0000000000005010";
const B: &str = "0000000000007020";

fn activation_and_refusals(backend: Backend) {
    let Some(node) = Node::start(backend) else { return };
    node.create_tenant(A, 20, 100);
    let clinic = Clinic::prepare(&node, A);

    // Before activation the certificate is not registered.
    let error = clinic.run_fails(&["account"]);
    assert!(error.contains("403 certificate_not_registered"), "{error}");

    let log = clinic.run_ok(&["activate", "--provider-oid", "2.16.840.1.113883.3.4424.2.7.26"]);
    for step in [
        "Certificates accepted.",
        "Account activated.",
        "Provider OID \"2.16.840.1.113883.3.4424.2.7.26\" recorded.",
        "Domain id assigned: 2.999.1.2.",
        "Repository id assigned: 2.999.1.4.",
    ] {
        assert!(log.contains(step), "missing step {step}: {log}");
    }
    let account = clinic.account();
    assert_eq!(account["status"], "active");
    assert_eq!(account["quota"]["total_mb"], 20);
    assert_eq!(account["quota"]["max_files"], 100);
    assert_eq!(account["certificates"].as_array().map(Vec::len), Some(2));
    let error = clinic.run_fails(&["activate", "--provider-oid", "2.16.840.1.113883.3.4424.2.7.26"]);
    assert!(error.contains("409 already_active"), "{error}");

    // The WSS certificate presented for TLS: 400 naming the expected subject.
    let error = clinic.run_fails(&["--tls-cert", &clinic.path("certs/wss.pem"), "--tls-key", &clinic.path("certs/wss.key"), "account"]);
    assert!(error.contains("400 wrong_certificate_kind") && error.contains("CN=0000000000005010 TLS"), "{error}");

    // The WSS key loaded as the TLS key: the client says so before connecting.
    let error = clinic.run_fails(&["--tls-key", &clinic.path("certs/wss.key"), "account"]);
    assert!(error.contains("this is the WSS key") && error.contains("TLS handshake would fail"), "{error}");

    // Another tenant's certificate while acting for A: 400 naming A's expected subject.
    let other = node.enroll(B, 5, 10);
    let error = clinic.run_fails(&[
        "--tls-cert", &other.path("certs/tls.pem"), "--tls-key", &other.path("certs/tls.key"),
        "--wss-cert", &other.path("certs/wss.pem"), "--wss-key", &other.path("certs/wss.key"),
        "account",
    ]);
    assert!(error.contains("400 wrong_tenant_certificate") && error.contains("CN=0000000000005010 TLS"), "{error}");

    // A certificate from the tenant CA that was never registered: 403.
    let fresh = Clinic::prepare(&node, A);
    let error = fresh.run_fails(&["account"]);
    assert!(error.contains("403 certificate_not_registered"), "{error}");

    // Replacing the certificates: the new ones work, the old ones get 403 (TLS) and the
    // old WSS key's signatures 401.
    let s = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    let update = clinic.run_ok(&[
        "update-certs",
        "--new-tls-cert", &s(fresh.dir.join("certs/tls.pem")),
        "--new-wss-cert", &s(fresh.dir.join("certs/wss.pem")),
    ]);
    assert!(update.contains("certificates replaced"), "{update}");
    let account: serde_json::Value = serde_json::from_str(&fresh.run_ok(&["account", "--json"])).expect("json");
    assert_eq!(account["status"], "active");
    let error = clinic.run_fails(&["account"]);
    assert!(error.contains("403 certificate_not_registered") && error.contains("replaced"), "{error}");
    let error = fresh.run_fails(&[
        "--wss-cert", &clinic.path("certs/wss.pem"), "--wss-key", &clinic.path("certs/wss.key"),
        "update-certs", "--new-tls-cert", &clinic.path("certs/tls.pem"),
    ]);
    assert!(error.contains("401"), "{error}");

    // Suspended and expired accounts: 403.
    node.tenant(&["suspend", A]);
    let error = fresh.run_fails(&["account"]);
    assert!(error.contains("403 account_suspended"), "{error}");
    node.tenant(&["resume", A]);
    fresh.run_ok(&["account"]);

    let expired = "0000000000009030";
    node.tenant(&[
        "create", "--id", expired, "--valid-from", "2019-01-01", "--valid-to", "2020-01-01",
        "--quota-mb", "1", "--max-files", "1",
    ]);
    let late = Clinic::prepare(&node, expired);
    late.run_ok(&["activate", "--provider-oid", "2.16.840.1.113883.3.4424.2.7.26"]);
    let error = late.run_fails(&["account"]);
    assert!(error.contains("403 account_expired"), "{error}");

    // The operator's view lists all three accounts.
    let list = node.tenant(&["list"]);
    assert!(list.contains(A) && list.contains(B) && list.contains(expired), "{list}");
}

#[test]
fn activation_and_refusals_on_sqlite() {
    activation_and_refusals(Backend::Sqlite);
}

#[test]
fn activation_and_refusals_on_postgres() {
    activation_and_refusals(Backend::Postgres);
}

#[test]
fn a_client_pointed_at_nothing_says_so() {
    let dir = crate::support::temp_dir();
    let node_like = dir.path();
    let s = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    // Material for a client without any server.
    run_ok(&["ca", "init", "--dir", &s(node_like.join("ca")), "--name", "Test CA", "--algorithm", "p256"]);
    run_ok(&["pki", "csr", "--tenant", A, "--org", "O", "--unit", "U", "--out", &s(node_like.join("c")), "--algorithm", "p256"]);
    for kind in ["tls", "wss"] {
        run_ok(&["ca", "sign", "--dir", &s(node_like.join("ca")), "--csr", &s(node_like.join(format!("c/{kind}.csr"))), "--out", &s(node_like.join(format!("c/{kind}.pem")))]);
    }
    let output = crate::support::run(&[
        "client", "--server", "https://127.0.0.1:9", "--tenant", A,
        "--tls-cert", &s(node_like.join("c/tls.pem")), "--tls-key", &s(node_like.join("c/tls.key")),
        "--wss-cert", &s(node_like.join("c/wss.pem")), "--wss-key", &s(node_like.join("c/wss.key")),
        "--ca", &s(node_like.join("ca/ca.pem")), "--timeout-ms", "3000", "account",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("nothing is listening at https://127.0.0.1:9"), "{stderr}");
}
