//! `medgate pki expiring` over folders of OpenSSL-made certificates: one valid 10 days
//! (`openssl x509 -req -days 10`), one expired since 2020 (`openssl ca -enddate`, because
//! OpenSSL 3.0's `x509 -req` cannot back-date), one valid 400 days, plus keys, CSRs and a
//! PKCS#12 that must not disturb the scan. Exit status 1 when anything is found, 0 otherwise.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;

use crate::keystore::{assert_one_line_error, OpensslPki};
use crate::support::{run, run_fails};

/// Runs the scan and returns (exit code, stdout, stderr), refusing panics.
fn expiring(args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["pki", "expiring"];
    all.extend(args);
    let output = run(&all);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (output.status.code(), stdout, stderr)
}

/// `certs/soon.pem` (10 days), `certs/old/expired.pem` (2019–2020), `certs/fine.pem` (400
/// days), with their keys and CSRs next to them. Returns the certs folder.
fn folder(pki: &OpensslPki) -> String {
    pki.issue("soon", "soon.clinic.example", "ec", 10);
    pki.issue_dated(
        "expired",
        "expired.clinic.example",
        "20190101000000Z",
        "20200101000000Z",
    );
    pki.issue("fine", "fine.clinic.example", "rsa:2048", 400);
    let certs = pki.dir().join("certs");
    std::fs::create_dir_all(certs.join("old")).unwrap();
    for (from, to) in [
        ("soon.pem", "soon.pem"),
        ("soon.key", "soon.key"),
        ("soon.csr", "soon.csr"),
        ("expired.pem", "old/expired.pem"),
        ("expired.key", "old/expired.key"),
        ("fine.pem", "fine.pem"),
        ("fine.csr", "fine.csr"),
    ] {
        std::fs::copy(pki.dir().join(from), certs.join(to)).unwrap();
    }
    std::fs::write(certs.join("README.txt"), "certificates of the clinic\n").unwrap();
    certs.to_string_lossy().into_owned()
}

#[test]
fn lists_expired_and_expiring_certificates_and_exits_1() {
    let Some(pki) = OpensslPki::new() else { return };
    let certs = folder(&pki);
    let (code, out, err) = expiring(&[&certs, "--days", "30"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.is_empty(),
        "keys, CSRs and text files are skipped quietly: {err}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "two findings and a summary: {out}");

    let expired_serial = pki.x509_field(&pki.path("expired.pem"), "-serial", &[]);
    let soon_serial = pki.x509_field(&pki.path("soon.pem"), "-serial", &[]);
    assert!(lines[0].starts_with("EXPIRED"), "{out}");
    assert!(lines[0].contains("old/expired.pem"), "{out}");
    assert!(lines[0].contains(&expired_serial), "{out}");
    assert!(lines[0].contains("2020-01-01 00:00:00 UTC"), "{out}");
    assert!(lines[0].contains("days ago"), "{out}");
    assert!(lines[1].starts_with("EXPIRING"), "{out}");
    assert!(
        lines[1].contains("soon.pem") && lines[1].contains(&soon_serial),
        "{out}"
    );
    assert!(lines[1].contains("CN=soon.clinic.example"), "{out}");
    assert!(lines[1].contains("(10 days left)"), "{out}");
    assert!(!out.contains("fine.pem"), "{out}");
    assert!(
        lines[2].contains("1 expired and 1 expiring within 30 days, of 3 certificates"),
        "{out}"
    );
}

#[test]
fn nothing_expiring_exits_0() {
    let Some(pki) = OpensslPki::new() else { return };
    pki.issue("fine", "fine.clinic.example", "rsa:2048", 400);
    let (code, out, err) = expiring(&[&pki.path("fine.pem")]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.starts_with("OK: none of 1 certificate expires within 30 days"),
        "{out}"
    );
    let (code, out, _) = expiring(&[&pki.path("fine.pem"), "--quiet"]);
    assert_eq!(code, Some(0));
    assert!(out.is_empty(), "{out}");
    // A wider window catches it.
    let (code, out, _) = expiring(&[&pki.path("fine.pem"), "--days", "401"]);
    assert_eq!(code, Some(1), "{out}");
}

#[test]
fn json_report_lists_the_findings() {
    let Some(pki) = OpensslPki::new() else { return };
    let certs = folder(&pki);
    let (code, out, _) = expiring(&[&certs, "--json"]);
    assert_eq!(code, Some(1), "{out}");
    let value: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(value["days"], 30);
    assert_eq!(value["certificates_checked"], 3);
    let findings = value["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 2, "{out}");
    assert_eq!(findings[0]["expired"], true);
    assert_eq!(findings[0]["not_after"], "2020-01-01T00:00:00Z");
    assert!(findings[0]["days_left"].as_i64().unwrap() < -365);
    assert_eq!(
        findings[0]["serial"],
        pki.x509_field(&pki.path("expired.pem"), "-serial", &[])
    );
    assert_eq!(findings[1]["expired"], false);
    assert_eq!(findings[1]["days_left"], 10);
    assert_eq!(findings[1]["common_name"], "soon.clinic.example");
    assert!(findings[1]["path"].as_str().unwrap().ends_with("soon.pem"));
    assert_eq!(value["notes"].as_array().map(Vec::len), Some(0));
}

#[test]
fn keystores_need_the_password_and_are_noted_otherwise() {
    let Some(pki) = OpensslPki::new() else { return };
    pki.issue("soon", "soon.clinic.example", "ec", 5);
    let passin = format!("file:{}", pki.path("password.txt"));
    let store = pki.dir().join("store");
    std::fs::create_dir(&store).unwrap();
    let p12 = store.join("soon.p12").to_string_lossy().into_owned();
    pki.openssl(&[
        "pkcs12",
        "-export",
        "-in",
        &pki.path("soon.pem"),
        "-inkey",
        &pki.path("soon.key"),
        "-out",
        &p12,
        "-passout",
        &passin,
    ]);
    let damaged = store.join("damaged.pem");
    let pem = String::from_utf8(pki.read("soon.pem")).unwrap();
    std::fs::write(&damaged, &pem[..pem.len() / 2]).unwrap();
    let store = store.to_string_lossy().into_owned();

    // Without a password: a note for the keystore and one for the damaged file, no crash.
    let (code, out, err) = expiring(&[&store]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        err.contains("note: ") && err.contains("soon.p12") && err.contains("--password-file"),
        "{err}"
    );
    assert!(err.contains("damaged.pem"), "{err}");
    assert!(out.contains("2 notes"), "{out}");

    // With it: the certificate inside is found.
    let (code, out, err) = expiring(&[&store, "--password-file", &pki.path("password.txt")]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("EXPIRING") && out.contains("soon.p12"),
        "{out}"
    );
    assert!(out.contains("(5 days left)"), "{out}");

    // A wrong password is a note too (a scan of many files goes on).
    let wrong = pki.write("wrong.txt", "nope\n");
    let (code, _, err) = expiring(&[&store, "--password-file", &wrong]);
    assert_eq!(code, Some(0));
    assert!(err.contains("soon.p12: wrong password"), "{err}");
}

#[test]
fn a_missing_folder_is_a_one_line_error() {
    let Some(pki) = OpensslPki::new() else { return };
    let missing = pki.path("no-such-folder");
    let err = run_fails(&["pki", "expiring", &missing]);
    assert_one_line_error(&err, "no-such-folder", "does not exist");
    assert!(!Path::new(&missing).exists());
}
