//! The account commands as a user meets them: `client activate` prints one line per step,
//! `client account` and `client update-certs` their results, flags override `client.toml`,
//! refusals are one `error:` line with exit status 1, the operator's `tenant suspend`,
//! `resume` and `list` act on the running node; and a client pointed at nothing says so. The
//! server's answers and refusals behind these commands (every refusal of the support
//! catalogue, on SQLite and PostgreSQL) are tested in process in
//! `crates/medgate-server/tests/account.rs`.

use super::harness::{Backend, Clinic, Node};
use crate::support::run_ok;

const A: &str = "0000000000005010";

#[test]
fn account_commands_print_their_steps_and_refusals() {
    let Some(node) = Node::start(Backend::Sqlite) else { return };
    node.create_tenant(A, 20, 100);
    let clinic = Clinic::prepare(&node, A);

    // Before activation the certificate is not registered: one line, exit 1.
    let error = clinic.run_fails(&["account"]);
    assert!(error.contains("403 certificate_not_registered"), "{error}");

    let log = clinic.run_ok(&["activate", "--provider-oid", "2.16.840.1.113883.3.4424.2.7.26"]);
    for step in [
        "[Info] Certificates accepted.",
        "[Info] Account activated.",
        "[Info] Provider OID \"2.16.840.1.113883.3.4424.2.7.26\" recorded.",
        "[Info] Domain id assigned: 2.999.1.2.",
        "[Info] Repository id assigned: 2.999.1.4.",
    ] {
        assert!(log.contains(step), "missing step {step}: {log}");
    }
    let account = clinic.account();
    assert_eq!(account["status"], "active");
    assert_eq!(account["quota"]["total_mb"], 20);

    // A flag wins over client.toml: the WSS key given as the TLS key is named before
    // connecting.
    let error = clinic.run_fails(&["--tls-key", &clinic.path("certs/wss.key"), "account"]);
    assert!(error.contains("this is the WSS key") && error.contains("TLS handshake would fail"), "{error}");

    // Replacing the certificates: the new ones work, the old ones no longer.
    let fresh = Clinic::prepare(&node, A);
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

    // The operator's commands act on the running node.
    node.tenant(&["suspend", A]);
    let error = fresh.run_fails(&["account"]);
    assert!(error.contains("403 account_suspended"), "{error}");
    node.tenant(&["resume", A]);
    fresh.run_ok(&["account"]);
    let list = node.tenant(&["list"]);
    assert!(list.contains(A), "{list}");
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
