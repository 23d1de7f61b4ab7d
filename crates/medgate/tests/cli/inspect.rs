//! `medgate pki inspect` on material made by OpenSSL: certificates (PEM, DER, chains), CSRs,
//! plain and encrypted keys and PKCS#12 files. Serial and fingerprint are compared with what
//! `openssl x509` prints, the key hash with OpenSSL's public key, and key output is checked
//! to contain nothing of the key itself.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::keystore::{assert_one_line_error, has_long_base64, OpensslPki, PASSWORD, TENANT};
use crate::support::{run_fails, run_ok};

/// The value of the first `label: value` line of a text report.
fn field(out: &str, label: &str) -> String {
    let prefix = format!("{label}:");
    out.lines()
        .map(str::trim_start)
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.trim().to_owned())
        .unwrap_or_else(|| panic!("no '{label}' line in: {out}"))
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// SHA-256 (lower-case hex) of a key's SubjectPublicKeyInfo, computed by OpenSSL.
fn openssl_public_key_sha256(pki: &OpensslPki, key: &str, passin: Option<&str>) -> String {
    let der = format!("{key}.pub.der");
    let mut args = vec![
        "pkey", "-in", key, "-pubout", "-outform", "DER", "-out", &der,
    ];
    if let Some(passin) = passin {
        args.extend(["-passin", passin]);
    }
    pki.openssl(&args);
    let digest = pki.openssl(&["dgst", "-sha256", "-r", &der]);
    digest.split_whitespace().next().expect("digest").to_owned()
}

#[test]
fn certificate_shows_serial_and_fingerprint_as_openssl_prints_them() {
    let Some(pki) = OpensslPki::new() else { return };
    pki.issue("tls", &format!("{TENANT} TLS"), "rsa:2048", 90);
    let cert = pki.path("tls.pem");
    let serial = pki.x509_field(&cert, "-serial", &[]);
    let fingerprint = pki.x509_field(&cert, "-fingerprint", &["-sha256"]);
    assert!(
        serial
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
        "{serial}"
    );

    let out = run_ok(&["pki", "inspect", &cert]);
    assert_eq!(field(&out, "serial"), serial);
    assert_eq!(field(&out, "SHA-256 fingerprint"), fingerprint);
    assert!(out.contains(&format!("CN={TENANT} TLS")), "{out}");
    assert!(out.contains("CN=Test Tenant CA"), "{out}");
    assert!(out.contains("RSA 2048"), "{out}");
    assert!(out.contains(&format!("TLS (tenant {TENANT})")), "{out}");
    assert_eq!(field(&out, "key usages"), "digitalSignature, clientAuth");
    assert!(
        field(&out, "not after").ends_with("(90 days left)"),
        "{out}"
    );
    let key_hash = openssl_public_key_sha256(&pki, &pki.path("tls.key"), None);
    assert_eq!(field(&out, "public key SHA-256"), key_hash);

    // The same certificate as DER is recognised by content, whatever its name.
    let der = pki.path("tls.bin");
    pki.openssl(&["x509", "-in", &cert, "-outform", "DER", "-out", &der]);
    let out = run_ok(&["pki", "inspect", &der, "--json"]);
    let value = json(&out);
    assert_eq!(value["type"], "certificate");
    let first = &value["certificates"][0];
    assert_eq!(first["serial"], serial.as_str());
    assert_eq!(first["sha256_fingerprint"], fingerprint.as_str());
    assert_eq!(first["kind"], "TLS");
    assert_eq!(first["tenant"], TENANT);
    assert_eq!(first["days_left"], 90);
    assert_eq!(first["validity"], "valid");
    assert_eq!(first["key"], "RSA 2048");
    assert_eq!(first["public_key_sha256"], key_hash.as_str());
}

#[test]
fn a_chain_shows_each_certificate() {
    let Some(pki) = OpensslPki::new() else { return };
    pki.issue("leaf", "clinic.example", "ec", 30);
    let chain = [pki.read("leaf.pem"), pki.read("ca.pem")].concat();
    let bundle = pki.write("bundle.pem", &String::from_utf8(chain).unwrap());
    let out = run_ok(&["pki", "inspect", &bundle]);
    assert!(out.contains("2 certificates"), "{out}");
    assert!(
        out.contains("certificate 1 of 2") && out.contains("certificate 2 of 2"),
        "{out}"
    );
    assert!(
        out.contains("ECDSA P-256") && out.contains("RSA 2048"),
        "{out}"
    );
    assert!(out.contains("other (CN is not"), "{out}");
    assert_eq!(field(&out, "CA"), "yes");
    let value = json(&run_ok(&["pki", "inspect", &bundle, "--json"]));
    assert_eq!(value["certificates"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        value["certificates"][1]["serial"],
        pki.x509_field(&pki.path("ca.pem"), "-serial", &[])
    );
}

#[test]
fn keys_are_described_never_printed() {
    let Some(pki) = OpensslPki::new() else { return };
    pki.issue("tls", &format!("{TENANT} TLS"), "rsa:2048", 30);
    let key = pki.path("tls.key");
    let key_hash = openssl_public_key_sha256(&pki, &key, None);

    let out = run_ok(&["pki", "inspect", &key]);
    assert!(
        !out.contains("PRIVATE KEY") && !has_long_base64(&out),
        "{out}"
    );
    assert!(out.contains("private key (not shown)"), "{out}");
    assert!(out.contains("PKCS#8") && out.contains("RSA 2048"), "{out}");
    assert_eq!(field(&out, "encrypted"), "no");
    assert_eq!(field(&out, "public key SHA-256"), key_hash);

    // Encrypted by OpenSSL (PBES2, AES-256-CBC): described without the password, opened
    // with it, refused with a wrong one.
    let passin = format!("file:{}", pki.path("password.txt"));
    let encrypted = pki.path("tls.enc.key");
    pki.openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        &key,
        "-out",
        &encrypted,
        "-v2",
        "aes-256-cbc",
        "-passout",
        &passin,
    ]);
    let out = run_ok(&["pki", "inspect", &encrypted]);
    assert!(
        !out.contains("PRIVATE KEY") && !has_long_base64(&out),
        "{out}"
    );
    assert_eq!(field(&out, "encrypted"), "yes");
    assert!(
        out.contains("AES-256-CBC") && out.contains("PBKDF2"),
        "{out}"
    );
    assert!(out.contains("--password-file"), "{out}");

    let out = run_ok(&[
        "pki",
        "inspect",
        &encrypted,
        "--password-file",
        &pki.path("password.txt"),
        "--json",
    ]);
    assert!(
        !out.contains("PRIVATE KEY") && !has_long_base64(&out),
        "{out}"
    );
    let value = json(&out);
    assert_eq!(value["type"], "key");
    assert_eq!(value["encrypted"], true);
    assert_eq!(value["algorithm"], "RSA 2048");
    assert_eq!(value["public_key_sha256"], key_hash.as_str());

    let wrong = pki.write("wrong.txt", "nope\n");
    let err = run_fails(&["pki", "inspect", &encrypted, "--password-file", &wrong]);
    assert_one_line_error(&err, "tls.enc.key", "wrong password");

    // An EC key in OpenSSL's traditional SEC1 form.
    let sec1 = pki.path("ec.key");
    pki.openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        &sec1,
    ]);
    let out = run_ok(&["pki", "inspect", &sec1]);
    assert!(
        !out.contains("PRIVATE KEY") && !has_long_base64(&out),
        "{out}"
    );
    assert!(out.contains("SEC1") && out.contains("ECDSA P-256"), "{out}");
    assert_eq!(
        field(&out, "public key SHA-256"),
        openssl_public_key_sha256(&pki, &sec1, None)
    );
}

#[test]
fn csr_shows_subject_key_and_signature() {
    let Some(pki) = OpensslPki::new() else { return };
    pki.csr("wss", &format!("{TENANT} WSS"), "ec");
    let out = run_ok(&["pki", "inspect", &pki.path("wss.csr")]);
    assert!(out.contains("certificate signing request (CSR)"), "{out}");
    assert!(out.contains(&format!("CN={TENANT} WSS")), "{out}");
    assert!(out.contains(&format!("WSS (tenant {TENANT})")), "{out}");
    assert!(out.contains("ECDSA P-256"), "{out}");
    assert_eq!(field(&out, "signature valid"), "yes");
    let value = json(&run_ok(&["pki", "inspect", &pki.path("wss.csr"), "--json"]));
    assert_eq!(value["type"], "csr");
    assert_eq!(value["signature_valid"], true);
    assert_eq!(
        value["public_key_sha256"],
        openssl_public_key_sha256(&pki, &pki.path("wss.key"), None).as_str()
    );
}

#[test]
fn pkcs12_shows_entries_and_whether_the_key_matches() {
    let Some(pki) = OpensslPki::new() else { return };
    pki.issue("tls", &format!("{TENANT} TLS"), "rsa:2048", 200);
    let passin = format!("file:{}", pki.path("password.txt"));
    let p12 = pki.path("openssl.p12");
    pki.openssl(&[
        "pkcs12",
        "-export",
        "-in",
        &pki.path("tls.pem"),
        "-inkey",
        &pki.path("tls.key"),
        "-certfile",
        &pki.path("ca.pem"),
        "-name",
        "clinic tls",
        "-out",
        &p12,
        "-passout",
        &passin,
    ]);
    let out = run_ok(&[
        "pki",
        "inspect",
        &p12,
        "--password-file",
        &pki.path("password.txt"),
    ]);
    assert!(
        !out.contains("PRIVATE KEY") && !has_long_base64(&out),
        "{out}"
    );
    assert!(out.contains("PKCS#12 keystore, 1 entry"), "{out}");
    assert!(out.contains("entry \"clinic tls\""), "{out}");
    assert_eq!(field(&out, "private key"), "present (not shown)");
    assert_eq!(field(&out, "matches certificate"), "yes");
    assert!(out.contains("chain certificate 1"), "{out}");
    assert!(
        out.contains(&pki.x509_field(&pki.path("tls.pem"), "-serial", &[])),
        "{out}"
    );

    let value = json(&run_ok(&[
        "pki",
        "inspect",
        &p12,
        "--password-file",
        &pki.path("password.txt"),
        "--json",
    ]));
    assert_eq!(value["format"], "PKCS#12");
    assert_eq!(value["entries"][0]["key_matches"], true);
    assert_eq!(
        value["entries"][0]["certificates"].as_array().map(Vec::len),
        Some(2)
    );

    let err = run_fails(&["pki", "inspect", &p12]);
    assert_one_line_error(
        &err,
        "openssl.p12",
        "give its password with --password-file",
    );
    let wrong = pki.write("wrong.txt", "nope\n");
    let err = run_fails(&["pki", "inspect", &p12, "--password-file", &wrong]);
    assert_one_line_error(
        &err,
        "openssl.p12",
        "wrong password (or the file is damaged)",
    );
    assert!(!PASSWORD.is_empty());
}

#[test]
fn bad_inputs_are_one_line_errors_naming_the_file() {
    let Some(pki) = OpensslPki::new() else { return };
    let pem = String::from_utf8(pki.read("ca.pem")).unwrap();
    let truncated = pki.write("truncated.pem", &pem[..pem.len() / 2]);
    let err = run_fails(&["pki", "inspect", &truncated]);
    assert_one_line_error(&err, "truncated.pem", "");

    let garbage = pki.write("notes.txt", "just some text\n");
    let err = run_fails(&["pki", "inspect", &garbage]);
    assert_one_line_error(
        &err,
        "notes.txt",
        "is not a certificate, CSR, private key or keystore",
    );

    let empty = pki.write("empty.pem", "");
    let err = run_fails(&["pki", "inspect", &empty]);
    assert_one_line_error(&err, "empty.pem", "is empty");

    let err = run_fails(&["pki", "inspect", &pki.path("missing.pem")]);
    assert_one_line_error(&err, "missing.pem", "");

    let err = run_fails(&["pki", "inspect", &pki.path("")]);
    assert_one_line_error(&err, "", "is a directory");
}
