//! `medgate ca`: a CA folder, certificates issued from tenant CSRs and for servers,
//! revocation and CRLs, all checked with OpenSSL (and Python `cryptography` for exact subject
//! copying and key identifiers).

use std::path::Path;

use medgate_test_peers::{require_command, require_python};

use crate::csr::{assert_one_line_error, make_csrs, TENANT};
use crate::support::{password_file, path, run_fails, run_ok, run_peer, run_peer_ok, temp_dir};

/// Creates a CA in `dir/ca` whose key is encrypted with the password in `dir/ca-pw.txt`.
fn make_ca(dir: &Path, algorithm: &str) -> (String, String) {
    let ca = path(dir, "ca");
    let password = password_file(dir, "ca-pw.txt", "ca password");
    let stdout = run_ok(&[
        "ca",
        "init",
        "--dir",
        &ca,
        "--name",
        "Medgate Test CA",
        "--algorithm",
        algorithm,
        "--password-file",
        &password,
    ]);
    assert!(
        stdout.contains("ca.pem") && !stdout.contains("PRIVATE KEY"),
        "{stdout}"
    );
    (ca, password)
}

fn sign(ca: &str, password: &str, csr: &str, out: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "ca",
        "sign",
        "--dir",
        ca,
        "--csr",
        csr,
        "--out",
        out,
        "--password-file",
        password,
    ];
    args.extend_from_slice(extra);
    run_ok(&args)
}

fn serial_of(openssl: &Path, cert: &str) -> String {
    let out = run_peer_ok(openssl, &["x509", "-in", cert, "-noout", "-serial"]);
    out.trim().trim_start_matches("serial=").to_owned()
}

fn openssl() -> Option<std::path::PathBuf> {
    require_command("openssl", "apt-get install openssl")
}

const PYTHON_ISSUED: &str = r#"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
csr = x509.load_pem_x509_csr(open(sys.argv[1], "rb").read())
cert = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
ca = x509.load_pem_x509_certificate(open(sys.argv[3], "rb").read())
assert cert.subject.public_bytes() == csr.subject.public_bytes(), "subject not copied exactly"
spki = lambda k: k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
assert spki(cert.public_key()) == spki(csr.public_key()), "public key not copied"
cert.verify_directly_issued_by(ca)
aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
assert aki == ski, "authorityKeyIdentifier is not the CA's key id"
assert cert.serial_number > 0
print("serial_bytes=%d" % ((cert.serial_number.bit_length() + 7) // 8))
"#;

#[test]
fn tls_and_wss_certificates_verify_and_carry_the_usages_of_their_kind() {
    let dir = temp_dir();
    let (ca, password) = make_ca(dir.path(), "rsa3072");
    let keys = make_csrs(dir.path(), "keys", "both", "rsa2048");
    let tls_csr = path(Path::new(&keys), "tls.csr");
    let wss_csr = path(Path::new(&keys), "wss.csr");
    let tls = path(dir.path(), "tls.pem");
    let wss = path(dir.path(), "wss.pem");
    let stdout = sign(&ca, &password, &tls_csr, &tls, &[]);
    assert!(
        stdout.contains("clientAuth") && stdout.contains(&format!("CN={TENANT} TLS")),
        "{stdout}"
    );
    sign(&ca, &password, &wss_csr, &wss, &["--days", "30"]);
    let ca_pem = path(Path::new(&ca), "ca.pem");

    let Some(openssl) = openssl() else { return };
    let verified = run_peer_ok(&openssl, &["verify", "-CAfile", &ca_pem, &tls, &wss]);
    assert!(
        verified.contains("tls.pem: OK") && verified.contains("wss.pem: OK"),
        "{verified}"
    );
    run_peer_ok(
        &openssl,
        &["verify", "-purpose", "sslclient", "-CAfile", &ca_pem, &tls],
    );

    let tls_text = run_peer_ok(&openssl, &["x509", "-in", &tls, "-noout", "-text"]);
    assert!(
        tls_text.contains("TLS Web Client Authentication"),
        "{tls_text}"
    );
    assert!(
        tls_text.contains("Digital Signature, Key Encipherment"),
        "{tls_text}"
    );
    assert!(tls_text.contains("Authority Key Identifier"), "{tls_text}");
    assert!(tls_text.contains("CA:FALSE"), "{tls_text}");
    let wss_text = run_peer_ok(&openssl, &["x509", "-in", &wss, "-noout", "-text"]);
    assert!(
        wss_text.contains("Digital Signature, Non Repudiation"),
        "{wss_text}"
    );
    assert!(!wss_text.contains("Client Authentication"), "{wss_text}");
    let ca_text = run_peer_ok(&openssl, &["x509", "-in", &ca_pem, "-noout", "-text"]);
    assert!(
        ca_text.contains("CA:TRUE") && ca_text.contains("Certificate Sign, CRL Sign"),
        "{ca_text}"
    );
    assert!(ca_text.contains("Subject Key Identifier"), "{ca_text}");

    // Random serials of 20 bytes, different every time.
    let tls_serial = serial_of(&openssl, &tls);
    let wss_serial = serial_of(&openssl, &wss);
    assert!(
        tls_serial.len() >= 32,
        "serial {tls_serial} shorter than 16 bytes"
    );
    assert_ne!(tls_serial, wss_serial);
    assert!(Path::new(&ca)
        .join("issued")
        .join(format!("{tls_serial}.pem"))
        .exists());
    let listed = run_ok(&["ca", "list", "--dir", &ca]);
    assert!(
        listed.contains(&tls_serial) && listed.contains(&wss_serial),
        "{listed}"
    );

    // The subject as OpenSSL prints it is the CSR's.
    let csr_subject = run_peer_ok(&openssl, &["req", "-in", &tls_csr, "-noout", "-subject"]);
    let cert_subject = run_peer_ok(&openssl, &["x509", "-in", &tls, "-noout", "-subject"]);
    assert_eq!(csr_subject, cert_subject);

    // The encrypted CA key is standard PKCS#8.
    let ca_key = path(Path::new(&ca), "ca.key");
    run_peer_ok(
        &openssl,
        &[
            "pkey",
            "-in",
            &ca_key,
            "-passin",
            &format!("file:{password}"),
            "-noout",
        ],
    );

    if let Some(python) = require_python("cryptography", "pip install cryptography") {
        for (csr, cert) in [(&tls_csr, &tls), (&wss_csr, &wss)] {
            let report = run_peer_ok(&python, &["-c", PYTHON_ISSUED, csr, cert, &ca_pem]);
            assert!(report.contains("serial_bytes=20"), "{report}");
        }
    }
}

#[test]
fn explicit_validity_dates_are_used() {
    let dir = temp_dir();
    let (ca, password) = make_ca(dir.path(), "p256");
    let keys = make_csrs(dir.path(), "keys", "tls", "p256");
    let cert = path(dir.path(), "tls.pem");
    sign(
        &ca,
        &password,
        &path(Path::new(&keys), "tls.csr"),
        &cert,
        &[
            "--not-before",
            "2026-01-01",
            "--not-after",
            "2026-07-01T12:30:00Z",
        ],
    );
    if let Some(openssl) = openssl() {
        let dates = run_peer_ok(&openssl, &["x509", "-in", &cert, "-noout", "-dates"]);
        assert!(
            dates.contains("notBefore=Jan  1 00:00:00 2026 GMT"),
            "{dates}"
        );
        assert!(
            dates.contains("notAfter=Jul  1 12:30:00 2026 GMT"),
            "{dates}"
        );
    }
    let stderr = run_fails(&[
        "ca",
        "sign",
        "--dir",
        &ca,
        "--csr",
        &path(Path::new(&keys), "tls.csr"),
        "--out",
        &path(dir.path(), "other.pem"),
        "--password-file",
        &password,
        "--not-before",
        "2026-07-01",
        "--not-after",
        "2026-01-01",
    ]);
    assert_one_line_error(&stderr);
    assert!(stderr.contains("--not-after"), "{stderr}");
    // An existing output is not replaced without --force (and nothing is issued).
    let stderr = run_fails(&[
        "ca",
        "sign",
        "--dir",
        &ca,
        "--csr",
        &path(Path::new(&keys), "tls.csr"),
        "--out",
        &cert,
        "--password-file",
        &password,
    ]);
    assert!(stderr.contains("--force"), "{stderr}");
    let listed = run_ok(&["ca", "list", "--dir", &ca]);
    assert_eq!(listed.lines().count(), 1, "{listed}");
}

#[test]
fn tampered_and_foreign_requests_are_refused() {
    let dir = temp_dir();
    let (ca, password) = make_ca(dir.path(), "p256");
    let keys = make_csrs(dir.path(), "keys", "both", "p256");
    let Some(openssl) = openssl() else { return };
    let der_of = |pem: &str, der: &str| {
        run_peer_ok(
            &openssl,
            &["req", "-in", pem, "-outform", "DER", "-out", der],
        );
        std::fs::read(der).expect("der")
    };
    let tls_der = der_of(
        &path(Path::new(&keys), "tls.csr"),
        &path(dir.path(), "tls.der"),
    );

    // One bit flipped inside the signature (the last bytes of the DER).
    let mut flipped = tls_der.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 0x01;
    let flipped_path = path(dir.path(), "flipped.der");
    std::fs::write(&flipped_path, &flipped).expect("write");
    let out = path(dir.path(), "out.pem");
    let stderr = run_fails(&[
        "ca",
        "sign",
        "--dir",
        &ca,
        "--csr",
        &flipped_path,
        "--out",
        &out,
        "--password-file",
        &password,
    ]);
    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("flipped.der") && stderr.contains("does not verify"),
        "{stderr}"
    );

    // The public key swapped for the WSS one: the request no longer proves possession.
    let public_der = |csr: &str, name: &str| {
        let pem = path(dir.path(), &format!("{name}.pub.pem"));
        let der = path(dir.path(), &format!("{name}.pub.der"));
        run_peer_ok(
            &openssl,
            &["req", "-in", csr, "-noout", "-pubkey", "-out", &pem],
        );
        run_peer_ok(
            &openssl,
            &[
                "pkey", "-pubin", "-in", &pem, "-outform", "DER", "-out", &der,
            ],
        );
        std::fs::read(der).expect("public key")
    };
    let tls_key = public_der(&path(Path::new(&keys), "tls.csr"), "tls");
    let wss_key = public_der(&path(Path::new(&keys), "wss.csr"), "wss");
    assert_eq!(tls_key.len(), wss_key.len());
    let at = tls_der
        .windows(tls_key.len())
        .position(|w| w == tls_key.as_slice())
        .expect("public key inside the CSR");
    let mut swapped = tls_der.clone();
    swapped[at..at + wss_key.len()].copy_from_slice(&wss_key);
    let swapped_path = path(dir.path(), "swapped.der");
    std::fs::write(&swapped_path, &swapped).expect("write");
    let stderr = run_fails(&[
        "ca",
        "sign",
        "--dir",
        &ca,
        "--csr",
        &swapped_path,
        "--out",
        &out,
        "--password-file",
        &password,
    ]);
    assert!(
        stderr.contains("swapped.der") && stderr.contains("does not verify"),
        "{stderr}"
    );

    // The untouched DER request is fine.
    let good_path = path(dir.path(), "tls.der");
    run_ok(&[
        "ca",
        "sign",
        "--dir",
        &ca,
        "--csr",
        &good_path,
        "--out",
        &out,
        "--password-file",
        &password,
    ]);

    // A request that is not for a tenant certificate.
    let web_csr = path(dir.path(), "web.csr");
    run_peer_ok(
        &openssl,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &path(dir.path(), "web.key"),
            "-subj",
            "/O=Clinic/CN=www.example.com",
            "-out",
            &web_csr,
        ],
    );
    let stderr = run_fails(&[
        "ca",
        "sign",
        "--dir",
        &ca,
        "--csr",
        &web_csr,
        "--out",
        &path(dir.path(), "web.pem"),
        "--password-file",
        &password,
    ]);
    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("web.csr") && stderr.contains("www.example.com"),
        "{stderr}"
    );
    assert!(stderr.contains("CN=<16-digit tenant id> TLS"), "{stderr}");
    // Only the good request was recorded.
    let listed = run_ok(&["ca", "list", "--dir", &ca]);
    assert_eq!(listed.lines().count(), 1, "{listed}");
}

#[test]
fn revoked_certificates_appear_on_a_verifying_crl() {
    let dir = temp_dir();
    let (ca, password) = make_ca(dir.path(), "p256");
    let keys = make_csrs(dir.path(), "keys", "both", "p256");
    let tls = path(dir.path(), "tls.pem");
    let wss = path(dir.path(), "wss.pem");
    sign(
        &ca,
        &password,
        &path(Path::new(&keys), "tls.csr"),
        &tls,
        &[],
    );
    sign(
        &ca,
        &password,
        &path(Path::new(&keys), "wss.csr"),
        &wss,
        &[],
    );
    let ca_pem = path(Path::new(&ca), "ca.pem");
    let crl = path(dir.path(), "crl.pem");
    let Some(openssl) = openssl() else { return };

    let stdout = run_ok(&[
        "ca",
        "crl",
        "--dir",
        &ca,
        "--out",
        &crl,
        "--password-file",
        &password,
    ]);
    assert!(
        stdout.contains("number 1") && stdout.contains("0 revoked"),
        "{stdout}"
    );
    run_peer_ok(
        &openssl,
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            &crl,
            "-CAfile",
            &ca_pem,
            &tls,
        ],
    );

    // Revoke by serial as people copy it: lower case with colons.
    let serial = serial_of(&openssl, &tls);
    let typed: Vec<String> = serial
        .to_ascii_lowercase()
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect();
    let stdout = run_ok(&[
        "ca",
        "revoke",
        "--dir",
        &ca,
        "--serial",
        &typed.join(":"),
        "--reason",
        "key-compromise",
    ]);
    assert!(stdout.contains(&serial), "{stdout}");
    let stderr = run_fails(&["ca", "revoke", "--dir", &ca, "--serial", &serial]);
    assert_one_line_error(&stderr);
    assert!(stderr.contains("already revoked"), "{stderr}");
    let stderr = run_fails(&["ca", "revoke", "--dir", &ca, "--serial", "0BADC0FFEE"]);
    assert_one_line_error(&stderr);
    assert!(stderr.contains("0BADC0FFEE"), "{stderr}");
    let stderr = run_fails(&[
        "ca", "revoke", "--dir", &ca, "--serial", &serial, "--reason", "bored",
    ]);
    assert!(
        stderr.contains("unknown revocation reason 'bored'"),
        "{stderr}"
    );

    let stdout = run_ok(&[
        "ca",
        "crl",
        "--dir",
        &ca,
        "--out",
        &crl,
        "--password-file",
        &password,
        "--days",
        "3",
    ]);
    assert!(
        stdout.contains("number 2") && stdout.contains("1 revoked"),
        "{stdout}"
    );
    let checked = run_peer_ok(
        &openssl,
        &["crl", "-in", &crl, "-CAfile", &ca_pem, "-noout"],
    );
    assert!(checked.contains("verify OK"), "{checked}");
    let text = run_peer_ok(&openssl, &["crl", "-in", &crl, "-noout", "-text"]);
    assert!(text.contains("Version 2"), "{text}");
    assert!(text.contains(&format!("Serial Number: {serial}")), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(
        text.contains("X509v3 CRL Number") && text.contains("Authority Key Identifier"),
        "{text}"
    );

    let rejected = run_peer(
        &openssl,
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            &crl,
            "-CAfile",
            &ca_pem,
            &tls,
        ],
    );
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&rejected.stdout),
        String::from_utf8_lossy(&rejected.stderr)
    );
    assert!(!rejected.status.success(), "{output}");
    assert!(output.contains("certificate revoked"), "{output}");
    run_peer_ok(
        &openssl,
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            &crl,
            "-CAfile",
            &ca_pem,
            &wss,
        ],
    );
    let listed = run_ok(&["ca", "list", "--dir", &ca]);
    assert!(
        listed.contains("revoked") && listed.contains("key-compromise"),
        "{listed}"
    );
}

#[test]
fn server_certificates_verify_for_ssl_servers() {
    let dir = temp_dir();
    let (ca, password) = make_ca(dir.path(), "p256");
    let cert = path(dir.path(), "server.pem");
    let key = path(dir.path(), "server.key");
    let stdout = run_ok(&[
        "ca",
        "issue-server",
        "--dir",
        &ca,
        "--dns",
        "repo.example.org",
        "localhost",
        "--ip",
        "127.0.0.1",
        "::1",
        "--out",
        &cert,
        "--key-out",
        &key,
        "--password-file",
        &password,
    ]);
    assert!(
        stdout.contains("repo.example.org") && !stdout.contains("PRIVATE KEY"),
        "{stdout}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let stderr = run_fails(&[
        "ca",
        "issue-server",
        "--dir",
        &ca,
        "--dns",
        "bad name",
        "--out",
        &path(dir.path(), "x.pem"),
        "--key-out",
        &path(dir.path(), "x.key"),
        "--password-file",
        &password,
    ]);
    assert_one_line_error(&stderr);
    assert!(stderr.contains("'bad name'"), "{stderr}");
    let Some(openssl) = openssl() else { return };
    let ca_pem = path(Path::new(&ca), "ca.pem");
    run_peer_ok(
        &openssl,
        &["verify", "-purpose", "sslserver", "-CAfile", &ca_pem, &cert],
    );
    let text = run_peer_ok(&openssl, &["x509", "-in", &cert, "-noout", "-text"]);
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    assert!(
        text.contains("DNS:repo.example.org, DNS:localhost, IP Address:127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("Subject: CN = repo.example.org"), "{text}");
    // The key belongs to the certificate.
    let from_key = run_peer_ok(&openssl, &["pkey", "-in", &key, "-pubout"]);
    let from_cert = run_peer_ok(&openssl, &["x509", "-in", &cert, "-noout", "-pubkey"]);
    assert_eq!(from_key, from_cert);
}

#[test]
fn bad_inputs_name_the_file_and_the_problem() {
    let dir = temp_dir();
    let (ca, password) = make_ca(dir.path(), "p256");
    let keys = make_csrs(dir.path(), "keys", "tls", "p256");
    let csr = path(Path::new(&keys), "tls.csr");
    let out = path(dir.path(), "out.pem");
    let sign_fails = |ca: &str, csr: &str, password: &str| {
        let stderr = run_fails(&[
            "ca",
            "sign",
            "--dir",
            ca,
            "--csr",
            csr,
            "--out",
            &out,
            "--password-file",
            password,
        ]);
        assert_one_line_error(&stderr);
        stderr
    };

    let missing = path(dir.path(), "no-such-ca");
    let stderr = sign_fails(&missing, &csr, &password);
    assert!(
        stderr.contains("no-such-ca") && stderr.contains("does not exist"),
        "{stderr}"
    );

    let stderr = sign_fails(&ca, &path(Path::new(&ca), "ca.pem"), &password);
    assert!(
        stderr.contains("ca.pem") && stderr.contains("is a certificate, not a certificate request"),
        "{stderr}"
    );

    let text = std::fs::read_to_string(&csr).expect("csr");
    let truncated = path(dir.path(), "truncated.csr");
    std::fs::write(&truncated, &text[..text.len() / 2]).expect("write");
    let stderr = sign_fails(&ca, &truncated, &password);
    assert!(
        stderr.contains("truncated.csr") && stderr.contains("truncated"),
        "{stderr}"
    );

    let stderr = sign_fails(&ca, &path(dir.path(), "nothing.csr"), &password);
    assert!(stderr.contains("nothing.csr"), "{stderr}");

    let wrong = password_file(dir.path(), "wrong-pw.txt", "not the password");
    let stderr = sign_fails(&ca, &csr, &wrong);
    assert!(
        stderr.contains("ca.key") && stderr.contains("wrong password"),
        "{stderr}"
    );

    let stderr = run_fails(&["ca", "sign", "--dir", &ca, "--csr", &csr, "--out", &out]);
    assert!(
        stderr.contains("ca.key") && stderr.contains("--password-file"),
        "{stderr}"
    );

    let stderr = run_fails(&["ca", "init", "--dir", &ca, "--name", "Second"]);
    assert_one_line_error(&stderr);
    assert!(stderr.contains("already holds a CA"), "{stderr}");

    let stderr = run_fails(&[
        "ca",
        "crl",
        "--dir",
        &missing,
        "--out",
        &path(dir.path(), "crl.pem"),
    ]);
    assert!(stderr.contains("no-such-ca"), "{stderr}");
    assert!(!Path::new(&out).exists(), "no output for refused requests");
    let listed = run_ok(&["ca", "list", "--dir", &ca]);
    assert!(listed.contains("no certificates issued"), "{listed}");
}

#[test]
fn concurrent_signers_get_distinct_serials_and_keep_every_record() {
    let dir = temp_dir();
    let (ca, password) = make_ca(dir.path(), "p256");
    let keys = make_csrs(dir.path(), "keys", "tls", "p256");
    let csr = path(Path::new(&keys), "tls.csr");
    // Eight processes at once: each must get its own serial and its own index line.
    let racing: Vec<_> = (0..8)
        .map(|i| {
            crate::support::medgate()
                .args([
                    "ca",
                    "sign",
                    "--dir",
                    &ca,
                    "--csr",
                    &csr,
                    "--out",
                    &path(dir.path(), &format!("r{i}.pem")),
                    "--password-file",
                    &password,
                ])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut child in racing {
        assert!(child.wait().expect("wait").success());
    }
    let listed = run_ok(&["ca", "list", "--dir", &ca]);
    let mut serials: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(serials.len(), 8, "{listed}");
    serials.sort_unstable();
    serials.dedup();
    assert_eq!(serials.len(), 8, "serials must be distinct: {listed}");
}
