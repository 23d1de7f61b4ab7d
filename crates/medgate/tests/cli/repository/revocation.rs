//! The operator's revocation on a running node, as an operator does it: `medgate ca revoke`
//! on the node's CA folder says that it took effect, the clinic's next call is refused, the
//! node's published CRL lists the certificate (read by OpenSSL); and request bodies that
//! nobody authenticated cost the node nothing.

use std::path::Path;
use std::process::{Command, Stdio};

use medgate_test_peers::require_command;

use super::harness::{Backend, Node};
use crate::support::{run_ok, run_peer_ok};

fn fixture() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/fixtures/cda-discharge-pesel.xml")
        .to_string_lossy()
        .into_owned()
}

fn serial(account: &serde_json::Value, kind: &str) -> String {
    account["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .find(|c| c["kind"] == kind)
        .and_then(|c| c["serial"].as_str())
        .expect("serial")
        .to_owned()
}

fn revoke(node: &Node, serial: &str) -> String {
    let ca = node.data.join("ca").to_string_lossy().into_owned();
    let mut args = vec!["ca", "revoke", "--dir", &ca, "--serial", serial, "--reason", "key-compromise"];
    // A node on PostgreSQL: the operator names the shared database.
    if let Some(url) = &node.database_url {
        args.extend(["--database-url", url.as_str()]);
    }
    run_ok(&args)
}

/// `ca revoke` of an account's certificates on `node`'s CA folder (naming the database on
/// PostgreSQL); the PostgreSQL run is part of the end-to-end scenario in `documents.rs`.
pub(super) fn revocation_takes_effect(node: &Node, tenant: &str) {
    let clinic = node.enroll(tenant, 20, 100);
    let account = clinic.account();
    let (tls, wss) = (serial(&account, "TLS"), serial(&account, "WSS"));
    clinic.run_ok(&["put", &fixture()]);

    // The signing certificate: writes are refused, reads still work.
    let said = revoke(node, &wss);
    assert!(said.contains(&format!("revoked {wss}")), "{said}");
    assert!(said.contains("took effect: 1 running node refuses the certificate"), "{said}");
    let refused = clinic.run_fails(&["types", "set", "DWP", "--archive", "no", "--local-days", "0"]);
    assert!(refused.contains("403 certificate_revoked") && refused.contains(&wss), "{refused}");
    clinic.run_ok(&["account"]);

    // The TLS certificate: nothing opens any more.
    let said = revoke(node, &tls);
    assert!(said.contains("took effect: 1 running node refuses the certificate"), "{said}");
    let refused = clinic.run_fails(&["account"]);
    assert!(!refused.contains("panicked"), "{refused}");

    // The node's CRL lists both, as OpenSSL reads it.
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else { return };
    let crl = node.data.join("ca").join("crl.pem");
    let text = run_peer_ok(&openssl, &["crl", "-in", &crl.to_string_lossy(), "-noout", "-text"]);
    for serial in [&tls, &wss] {
        assert!(text.contains(serial.as_str()), "{serial} not in the CRL:\n{text}");
    }
}

#[test]
fn ca_revoke_takes_effect_on_a_running_node_on_sqlite() {
    let Some(node) = Node::start(Backend::Sqlite) else { return };
    revocation_takes_effect(&node, "0000000000006010");
}

/// Peak resident memory of a process (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn bodies_nobody_authenticated_are_not_read() {
    let Some(curl) = require_command("curl", "apt-get install curl") else { return };
    let Some(node) = Node::start(Backend::Sqlite) else { return };
    let clinic = node.enroll("0000000000006020", 200, 100);
    let big = node.dir.path().join("big.xml");
    let file = std::fs::File::create(&big).expect("big file");
    file.set_len(60 * 1024 * 1024).expect("60 MB");
    let before = peak_rss_kib(node.child.id());

    // Twelve 60 MB uploads at once without a client certificate, the body sent at once
    // (no `Expect: 100-continue`).
    let url = format!("{}/api/v1/documents", node.url());
    let ca = node.ca().to_string_lossy().into_owned();
    let uploads: Vec<_> = (0..12)
        .map(|_| {
            Command::new(&curl)
                .args(["-sS", "--http1.1", "--cacert", &ca, "-H", "Expect:", "-H", "Content-Type: application/xml"])
                .args(["--data-binary", &format!("@{}", big.display()), "-o", "-", "-w", "\n%{http_code}", &url])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("curl starts")
        })
        .collect();
    let mut answered = 0;
    for upload in uploads {
        let output = upload.wait_with_output().expect("curl ends");
        let text = String::from_utf8_lossy(&output.stdout);
        // curl may see the connection closed while it still sends; when it read the answer,
        // it is the JSON refusal.
        if text.trim_end().ends_with("401") {
            assert!(text.contains("\"code\":\"client_certificate_required\""), "{text}");
            answered += 1;
        }
    }
    assert!(answered > 0, "no upload got the 401 answer");
    let after = peak_rss_kib(node.child.id());
    assert!(after < 100 * 1024, "peak RSS {after} KiB (was {before} KiB before the uploads)");

    // With a certificate: a body over the limit is refused with a JSON 413, on HTTP/1.1 and
    // HTTP/2, before it is read.
    file.set_len(65 * 1024 * 1024).expect("65 MB");
    for version in ["--http1.1", "--http2"] {
        let output = run_peer_ok(
            &curl,
            &[
                "-sS", version, "--cacert", &ca,
                "--cert", &clinic.path("certs/tls.pem"), "--key", &clinic.path("certs/tls.key"), "--pass", "clinic-secret",
                "-H", "Expect:", "-H", "Content-Type: application/xml",
                "--data-binary", &format!("@{}", big.display()),
                "-o", "-", "-w", "\n%{http_code} %{content_type}", &url,
            ],
        );
        assert!(output.trim_end().ends_with("413 application/json"), "{version}: {output}");
        assert!(output.contains("\"code\":\"body_too_large\""), "{version}: {output}");
    }
    let after = peak_rss_kib(node.child.id());
    assert!(after < 100 * 1024, "peak RSS {after} KiB");
    // The account is unchanged and the node still serves.
    let account = clinic.account();
    assert_eq!(account["quota"]["files"], 0);
}
