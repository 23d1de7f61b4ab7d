//! `medgate pki csr`: key pairs and CSRs for a tenant, checked with OpenSSL and Python
//! `cryptography` as the national platform's tools would read them.

use std::path::Path;

use medgate_test_peers::{require_command, require_python};

use crate::support::{password_file, path, run_fails, run_ok, run_peer, run_peer_ok, temp_dir};

pub const TENANT: &str = "0000000000005010";

/// Generates key(s) + CSR(s) in `dir/<sub>` with `medgate pki csr` (unencrypted keys).
pub fn make_csrs(dir: &Path, sub: &str, kind: &str, algorithm: &str) -> String {
    let out = path(dir, sub);
    run_ok(&[
        "pki",
        "csr",
        "--tenant",
        TENANT,
        "--org",
        "Przychodnia Zdrowie",
        "--unit",
        "IT",
        "--country",
        "PL",
        "--out",
        &out,
        "--kind",
        kind,
        "--algorithm",
        algorithm,
    ]);
    out
}

/// Asserts a `run_fails` stderr is one `error:` line.
pub fn assert_one_line_error(stderr: &str) {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "expected one error line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
}

fn file_mode(file: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).expect("stat").permissions().mode() & 0o777
}

const PYTHON_CHECK: &str = r#"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa, ec
csr_path, key_path, password_path = sys.argv[1:4]
csr = x509.load_pem_x509_csr(open(csr_path, "rb").read())
assert csr.is_signature_valid, "signature"
password = open(password_path, "rb").read().splitlines()[0]
key = serialization.load_pem_private_key(open(key_path, "rb").read(), password=password)
same = key.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
) == csr.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)
assert same, "key does not match the CSR"
kind = "RSA %d" % key.key_size if isinstance(key, rsa.RSAPrivateKey) else "EC " + key.curve.name
print("subject=" + csr.subject.rfc4514_string())
print("key=" + kind)
"#;

#[test]
fn both_kinds_are_written_encrypted_and_readable_by_openssl_and_python() {
    let dir = temp_dir();
    let password = password_file(dir.path(), "pw.txt", "zażółć gęślą jaźń 42");
    let out = path(dir.path(), "keys");
    let stdout = run_ok(&[
        "pki",
        "csr",
        "--tenant",
        TENANT,
        "--org",
        "Przychodnia Zdrowie",
        "--unit",
        "IT",
        "--country",
        "Polska",
        "--out",
        &out,
        "--password-file",
        &password,
    ]);
    assert!(
        stdout.contains("tls.key") && stdout.contains("wss.csr"),
        "{stdout}"
    );
    assert!(stdout.contains("CN=0000000000005010 WSS"), "{stdout}");
    assert!(
        !stdout.contains("PRIVATE KEY") && !stdout.contains("-----"),
        "{stdout}"
    );

    for stem in ["tls", "wss"] {
        let key = Path::new(&out).join(format!("{stem}.key"));
        assert_eq!(file_mode(&key), 0o600, "{stem}.key must be owner-only");
        let text = std::fs::read_to_string(&key).expect("key");
        assert!(
            text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{text}"
        );
    }

    if let Some(openssl) = require_command("openssl", "apt-get install openssl") {
        for (stem, suffix) in [("tls", "TLS"), ("wss", "WSS")] {
            let csr = path(Path::new(&out), &format!("{stem}.csr"));
            let key = path(Path::new(&out), &format!("{stem}.key"));
            let verified = run_peer_ok(&openssl, &["req", "-verify", "-in", &csr, "-noout"]);
            assert!(verified.contains("verify OK"), "{verified}");
            let subject = run_peer_ok(&openssl, &["req", "-in", &csr, "-noout", "-subject"]);
            assert_eq!(
                subject.trim(),
                format!("subject=C = PL, O = Przychodnia Zdrowie, OU = IT, CN = {TENANT} {suffix}")
            );
            run_peer_ok(
                &openssl,
                &[
                    "pkey",
                    "-in",
                    &key,
                    "-passin",
                    &format!("file:{password}"),
                    "-noout",
                ],
            );
            // Without the password OpenSSL must not be able to read it.
            let refused = run_peer(
                &openssl,
                &["pkey", "-in", &key, "-passin", "pass:wrong", "-noout"],
            );
            assert!(!refused.status.success());
            let text = run_peer_ok(&openssl, &["req", "-in", &csr, "-noout", "-text"]);
            assert!(
                text.contains("rsaEncryption") && text.contains("2048 bit"),
                "{text}"
            );
            if stem == "tls" {
                assert!(text.contains("TLS Web Client Authentication"), "{text}");
            } else {
                assert!(text.contains("Non Repudiation"), "{text}");
                assert!(!text.contains("Client Authentication"), "{text}");
            }
        }
    }

    if let Some(python) = require_python("cryptography", "pip install cryptography") {
        for (stem, suffix) in [("tls", "TLS"), ("wss", "WSS")] {
            let csr = path(Path::new(&out), &format!("{stem}.csr"));
            let key = path(Path::new(&out), &format!("{stem}.key"));
            let report = run_peer_ok(&python, &["-c", PYTHON_CHECK, &csr, &key, &password]);
            assert!(
                report.contains(&format!(
                    "subject=CN={TENANT} {suffix},OU=IT,O=Przychodnia Zdrowie,C=PL"
                )),
                "{report}"
            );
            assert!(report.contains("key=RSA 2048"), "{report}");
        }
    }
}

#[test]
fn one_kind_with_p256_and_country_names_from_the_seeds() {
    let dir = temp_dir();
    for (country, code, kind) in [
        ("Magyarország", "HU", "tls"),
        ("Россия", "RU", "wss"),
        ("poland", "PL", "tls"),
    ] {
        let out = path(dir.path(), code);
        run_ok(&[
            "pki",
            "csr",
            "--tenant",
            TENANT,
            "--org",
            "Клиника",
            "--unit",
            "Rendelő",
            "--country",
            country,
            "--out",
            &out,
            "--kind",
            kind,
            "--algorithm",
            "p256",
        ]);
        let other = if kind == "tls" { "wss" } else { "tls" };
        assert!(Path::new(&out).join(format!("{kind}.csr")).exists());
        assert!(
            !Path::new(&out).join(format!("{other}.key")).exists(),
            "only {kind} was asked for"
        );
        if let Some(openssl) = require_command("openssl", "apt-get install openssl") {
            let csr = path(Path::new(&out), &format!("{kind}.csr"));
            let subject = run_peer_ok(
                &openssl,
                &[
                    "req",
                    "-in",
                    &csr,
                    "-noout",
                    "-subject",
                    "-nameopt",
                    "utf8,sep_comma_plus",
                ],
            );
            assert!(
                subject.contains(&format!("C={code}")),
                "{country}: {subject}"
            );
            assert!(
                subject.contains("O=Клиника") && subject.contains("OU=Rendelő"),
                "{subject}"
            );
            let text = run_peer_ok(&openssl, &["req", "-in", &csr, "-noout", "-text"]);
            assert!(
                text.contains("prime256v1") || text.contains("P-256"),
                "{text}"
            );
            run_peer_ok(&openssl, &["req", "-verify", "-in", &csr, "-noout"]);
        }
    }
    // An unencrypted key is plain PKCS#8, still owner-only.
    let key = dir.path().join("HU").join("tls.key");
    assert!(std::fs::read_to_string(&key)
        .expect("key")
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(file_mode(&key), 0o600);
}

#[test]
fn existing_files_are_kept_unless_forced_and_nothing_is_written_half_way() {
    let dir = temp_dir();
    let out = make_csrs(dir.path(), "keys", "both", "p256");
    let tls_key = Path::new(&out).join("tls.key");
    let before = std::fs::read(&tls_key).expect("key");

    let args = [
        "pki",
        "csr",
        "--tenant",
        TENANT,
        "--org",
        "Other",
        "--unit",
        "IT",
        "--out",
        &out,
        "--algorithm",
        "p256",
    ];
    let stderr = run_fails(&args);
    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("tls.key") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&tls_key).expect("key"),
        before,
        "refusal must not touch the key"
    );

    let mut forced = args.to_vec();
    forced.push("--force");
    run_ok(&forced);
    assert_ne!(
        std::fs::read(&tls_key).expect("key"),
        before,
        "--force replaces the key"
    );
    assert_eq!(file_mode(&tls_key), 0o600);

    // Only wss.csr is in the way: tls.key and tls.csr must not be created either.
    let partial = path(dir.path(), "partial");
    std::fs::create_dir(&partial).expect("mkdir");
    std::fs::write(Path::new(&partial).join("wss.csr"), "old request").expect("write");
    let stderr = run_fails(&[
        "pki",
        "csr",
        "--tenant",
        TENANT,
        "--org",
        "O",
        "--unit",
        "U",
        "--out",
        &partial,
        "--algorithm",
        "p256",
    ]);
    assert!(stderr.contains("wss.csr"), "{stderr}");
    let names: Vec<String> = std::fs::read_dir(&partial)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["wss.csr".to_owned()],
        "nothing else may be written"
    );
}

#[test]
fn bad_arguments_give_one_line_errors_and_write_nothing() {
    let dir = temp_dir();
    let out = path(dir.path(), "keys");
    let base = |tenant: &'static str, country: &'static str, kind: &'static str| {
        vec![
            "pki",
            "csr",
            "--tenant",
            tenant,
            "--org",
            "O",
            "--unit",
            "U",
            "--country",
            country,
            "--kind",
            kind,
            "--algorithm",
            "p256",
        ]
    };
    for (args, expected) in [
        (base("12345", "PL", "both"), "invalid tenant id '12345'"),
        (base("00000000000050x0", "PL", "both"), "tenant id"),
        (base(TENANT, "Narnia", "both"), "unknown country 'Narnia'"),
        (base(TENANT, "XX", "both"), "'XX' is not an ISO 3166"),
        (base(TENANT, "PL", "ssl"), "unknown kind 'ssl'"),
    ] {
        let mut args = args;
        args.extend(["--out", out.as_str()]);
        let stderr = run_fails(&args);
        assert_one_line_error(&stderr);
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    let stderr = run_fails(&[
        "pki",
        "csr",
        "--tenant",
        TENANT,
        "--org",
        "O",
        "--unit",
        "U",
        "--out",
        &out,
        "--password-file",
        &path(dir.path(), "missing-pw.txt"),
    ]);
    assert_one_line_error(&stderr);
    assert!(stderr.contains("missing-pw.txt"), "{stderr}");
    assert!(
        !Path::new(&out).exists(),
        "no folder may be created for refused arguments"
    );
}
