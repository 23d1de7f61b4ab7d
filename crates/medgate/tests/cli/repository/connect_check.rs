//! `medgate connect-check` against a real `medgate serve` (SQLite): a usable connection with
//! its TLS facts, chain, acceptance, signature and clock; the signed report and `pki
//! verify-report` (also after an edit of the readable copy); every refusal — unregistered
//! certificate, certificate of another CA refused in the handshake, wrong `--ca`, nothing
//! listening — and OpenSSL's `s_client` agreeing on protocol and cipher suite.

use std::path::Path;
use std::process::Output;

use medgate_test_peers::require_command;

use super::harness::{Backend, Clinic, Node};
use crate::support::{medgate, path, run_ok, run_peer};

const A: &str = "0000000000005010";

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `connect-check` with a clinic's TLS (and WSS) certificate and key.
fn check(node: &Node, clinic: &Clinic, wss: bool, ca: &str, extra: &[&str]) -> Output {
    let url = node.url();
    let (tls_cert, tls_key) = (clinic.path("certs/tls.pem"), clinic.path("certs/tls.key"));
    let (wss_cert, wss_key) = (clinic.path("certs/wss.pem"), clinic.path("certs/wss.key"));
    let password = clinic.path("password");
    let mut args = vec![
        "connect-check",
        &url,
        "--cert",
        &tls_cert,
        "--key",
        &tls_key,
        "--password-file",
        &password,
        "--ca",
        ca,
    ];
    if wss {
        args.extend(["--wss-cert", &wss_cert, "--wss-key", &wss_key]);
    }
    args.extend(extra);
    medgate().args(&args).output().expect("medgate runs")
}

fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_fails(output: &Output) -> (String, String) {
    let (stdout, stderr) = texts(output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "should exit 1:\n{stdout}\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let error_lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "one error line: {stderr}");
    (stdout, stderr)
}

#[test]
fn connect_check_against_a_real_node() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(A, 10, 100);
    let ca = s(&node.ca());
    let dir = crate::support::temp_dir();
    let report = path(dir.path(), "report.json");

    // The clinic's client.toml is all it needs: the same verdict as with every flag.
    let config = s(&clinic.config);
    let configured = medgate().args(["connect-check", "--config", &config]).output().expect("medgate runs");
    let (stdout, stderr) = texts(&configured);
    assert!(configured.status.success(), "connect-check --config failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("Result: the connection is usable"), "{stdout}");
    assert!(stdout.contains("signature valid:      yes (signed with the WSS key"), "{stdout}");
    let nothing = medgate().args(["connect-check"]).output().expect("medgate runs");
    let (_, stderr) = assert_fails(&nothing);
    assert!(stderr.contains("--config client.toml"), "{stderr}");

    // A usable connection: exit 0, every fact shown.
    let output = check(&node, &clinic, true, &ca, &["--report", &report]);
    let (stdout, stderr) = texts(&output);
    assert!(
        output.status.success(),
        "connect-check failed:\n{stdout}\n{stderr}"
    );
    for expected in [
        "protocol:           TLS 1.3 (TLSv1.3)",
        "cipher suite:       TLS_",
        "server verified:    yes",
        "server chain:       2 certificate(s)",
        "certificate accepted: yes (account 0000000000005010)",
        "signature valid:      yes (signed with the WSS key",
        "clock skew:",
        "TLS handshake:",
        "Result: the connection is usable",
        "signed report written to",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }

    // The same as JSON.
    let output = check(&node, &clinic, true, &ca, &["--json"]);
    assert!(output.status.success(), "{}", texts(&output).1);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["usable"], true, "{json:#}");
    assert_eq!(json["tls"]["version"], "TLSv1.3");
    assert_eq!(json["tls"]["server_verified"], true);
    assert_eq!(
        json["tls"]["server_chain"].as_array().map(Vec::len),
        Some(2),
        "{json:#}"
    );
    assert_eq!(
        json["tls"]["server_chain"][1]["subject"],
        json["tls"]["server_chain"][0]["issuer"]
    );
    assert_eq!(json["client_certificate"]["accepted"], true);
    assert_eq!(json["client_certificate"]["tenant"], A);
    assert_eq!(json["signature"]["valid"], true);
    assert_eq!(json["signature"]["signed_with"], "WSS");
    let skew = json["clock"]["skew_seconds"].as_f64().expect("skew");
    assert!(skew.abs() < 5.0, "skew {skew}");
    assert!(json["latency_ms"]["tls_handshake"].as_f64().is_some());
    assert!(json["latency_ms"]["request"].as_f64().is_some());
    let cipher = json["tls"]["cipher_suite"]
        .as_str()
        .expect("cipher")
        .to_owned();

    // OpenSSL sees the same protocol and cipher suite.
    if let Some(openssl) = require_command("openssl", "apt-get install openssl") {
        let address = format!("127.0.0.1:{}", node.port);
        let pass = format!("file:{}", clinic.path("password"));
        let output = run_peer(
            &openssl,
            &[
                "s_client",
                "-connect",
                &address,
                "-cert",
                &clinic.path("certs/tls.pem"),
                "-key",
                &clinic.path("certs/tls.key"),
                "-pass",
                &pass,
                "-CAfile",
                &ca,
                "-brief",
            ],
        );
        let text = format!("{}{}", texts(&output).0, texts(&output).1);
        assert!(text.contains("Protocol version: TLSv1.3"), "{text}");
        assert!(
            text.contains(&format!("Ciphersuite: {cipher}")),
            "connect-check said {cipher}: {text}"
        );
        assert!(text.contains("Verification: OK"), "{text}");
    }

    // The signed report verifies against the node's CA.
    let verified = run_ok(&["pki", "verify-report", &report, "--ca", &ca]);
    for expected in [
        "CN=0000000000005010 WSS (serial",
        "signature:       valid; chain to CA: valid",
        "readable copy:   identical to the signed payload",
        "result:               usable",
        "report verified",
    ] {
        assert!(
            verified.contains(expected),
            "missing {expected:?} in:\n{verified}"
        );
    }
    // Without --ca the signature is checked but not who made it: said so, never "verified".
    let unchained = run_ok(&["pki", "verify-report", &report]);
    assert!(
        unchained.contains("chain was NOT checked") && !unchained.contains("report verified"),
        "{unchained}"
    );
    let json: serde_json::Value = serde_json::from_str(&run_ok(&[
        "pki",
        "verify-report",
        &report,
        "--ca",
        &ca,
        "--json",
    ]))
    .expect("JSON");
    assert_eq!(json["valid"], true);
    assert_eq!(json["report"]["tls"]["version"], "TLSv1.3");

    // One character of the readable copy edited: refused, naming the field.
    let original = std::fs::read_to_string(&report).expect("report");
    let edited_path = path(dir.path(), "edited.json");
    std::fs::write(
        &edited_path,
        original.replacen("\"TLSv1.3\"", "\"TLSv1.2\"", 1),
    )
    .expect("write");
    let stderr = crate::support::run_fails(&["pki", "verify-report", &edited_path, "--ca", &ca]);
    assert!(
        stderr.contains("edited")
            && stderr.contains("report.tls.version is \"TLSv1.2\" in the file"),
        "{stderr}"
    );

    // The node's CA is not the signer's only possible anchor: another CA → untrusted signer.
    let other_ca = path(dir.path(), "other-ca");
    run_ok(&[
        "ca",
        "init",
        "--dir",
        &other_ca,
        "--name",
        "Other Tenant CA",
        "--algorithm",
        "p256",
    ]);
    let other_ca_pem = path(dir.path(), "other-ca/ca.pem");
    let stderr =
        crate::support::run_fails(&["pki", "verify-report", &report, "--ca", &other_ca_pem]);
    assert!(stderr.contains("untrusted signer"), "{stderr}");

    // A certificate of the tenant CA that is not registered: not accepted, with the code.
    let fresh = Clinic::prepare(&node, A);
    let (stdout, stderr) = assert_fails(&check(&node, &fresh, true, &ca, &[]));
    assert!(
        stdout.contains("certificate accepted: NO, not accepted: certificate_not_registered"),
        "{stdout}"
    );
    assert!(
        stderr.contains("not accepted") && stderr.contains("certificate_not_registered"),
        "{stderr}"
    );

    // Without the WSS key the TLS key signs, and the report says so.
    let (stdout, _) = assert_fails(&check(&node, &clinic, false, &ca, &[]));
    assert!(stdout.contains("certificate accepted: yes"), "{stdout}");
    assert!(stdout.contains("signed with the TLS key"), "{stdout}");
    assert!(stdout.contains("signature valid:      NO"), "{stdout}");

    // A client certificate from another CA: refused by the server in the handshake.
    let foreign = dir.path().join("foreign");
    run_ok(&[
        "pki",
        "csr",
        "--tenant",
        A,
        "--org",
        "Przychodnia Test",
        "--unit",
        "IT",
        "--country",
        "PL",
        "--out",
        &s(&foreign),
        "--algorithm",
        "p256",
        "--kind",
        "tls",
    ]);
    run_ok(&[
        "ca",
        "sign",
        "--dir",
        &other_ca,
        "--csr",
        &s(&foreign.join("tls.csr")),
        "--out",
        &s(&foreign.join("tls.pem")),
    ]);
    let output = medgate()
        .args([
            "connect-check",
            &node.url(),
            "--cert",
            &s(&foreign.join("tls.pem")),
            "--key",
            &s(&foreign.join("tls.key")),
            "--ca",
            &ca,
        ])
        .output()
        .expect("runs");
    let (stdout, stderr) = assert_fails(&output);
    assert!(
        stderr.contains("the server refused the client certificate during the TLS handshake"),
        "{stderr}"
    );
    assert!(
        stdout.contains("UnknownCA") && stdout.contains("CN=Other Tenant CA"),
        "{stdout}"
    );

    // The wrong CA for the server: not verified, nothing sent.
    let (stdout, stderr) = assert_fails(&check(&node, &clinic, true, &other_ca_pem, &[]));
    assert!(stdout.contains("server verified:    NO"), "{stdout}");
    assert!(
        stderr.contains("server not verified") && stderr.contains("unknown issuer"),
        "{stderr}"
    );
    assert!(
        stdout.contains("server chain:       2 certificate(s)"),
        "{stdout}"
    );

    // Without --ca the chain is reported, and that it was not verified.
    let url = node.url();
    let output = medgate()
        .args([
            "connect-check",
            &url,
            "--cert",
            &clinic.path("certs/tls.pem"),
            "--key",
            &clinic.path("certs/tls.key"),
            "--wss-cert",
            &clinic.path("certs/wss.pem"),
            "--wss-key",
            &clinic.path("certs/wss.key"),
            "--password-file",
            &clinic.path("password"),
            "--json",
        ])
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["tls"]["server_verified"], false);
    assert_eq!(
        json["tls"]["server_chain"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(
        json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["code"] == "server_not_verified"),
        "{json:#}"
    );
}

#[test]
fn connect_check_with_nothing_listening() {
    let dir = crate::support::temp_dir();
    let d = dir.path();
    run_ok(&[
        "ca",
        "init",
        "--dir",
        &path(d, "ca"),
        "--name",
        "Tenant CA",
        "--algorithm",
        "p256",
    ]);
    run_ok(&[
        "pki",
        "csr",
        "--tenant",
        A,
        "--org",
        "O",
        "--unit",
        "U",
        "--kind",
        "tls",
        "--out",
        &path(d, "k"),
        "--algorithm",
        "p256",
    ]);
    run_ok(&[
        "ca",
        "sign",
        "--dir",
        &path(d, "ca"),
        "--csr",
        &path(d, "k/tls.csr"),
        "--out",
        &path(d, "k/tls.pem"),
    ]);
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let url = format!("https://127.0.0.1:{port}");
    let output = medgate()
        .args([
            "connect-check",
            &url,
            "--cert",
            &path(d, "k/tls.pem"),
            "--key",
            &path(d, "k/tls.key"),
        ])
        .output()
        .expect("runs");
    let (stdout, stderr) = assert_fails(&output);
    assert!(
        stderr.contains(&format!(
            "nothing is listening at 127.0.0.1:{port} (connection refused)"
        )),
        "{stderr}"
    );
    assert!(stdout.contains("TCP connection:     FAILED"), "{stdout}");

    // A report is still written and signed with the TLS key; it verifies, saying not usable.
    let report = path(d, "report.json");
    let output = medgate()
        .args([
            "connect-check",
            &url,
            "--cert",
            &path(d, "k/tls.pem"),
            "--key",
            &path(d, "k/tls.key"),
            "--report",
            &report,
        ])
        .output()
        .expect("runs");
    assert_fails(&output);
    let verified = run_ok(&[
        "pki",
        "verify-report",
        &report,
        "--ca",
        &path(d, "ca/ca.pem"),
    ]);
    assert!(
        verified.contains("result:               NOT usable"),
        "{verified}"
    );
    assert!(
        verified.contains("CN=0000000000005010 TLS (serial"),
        "{verified}"
    );
}
