//! `medgate pki sign` / `medgate pki verify`: detached CMS signatures with three signers in a
//! fixed order, checked both ways against the independent peer OpenSSL (`openssl cms`).

use std::path::{Path, PathBuf};

use medgate_test_peers::require_command;

use crate::support::{path, run, run_fails, run_ok, run_peer, run_peer_ok, temp_dir};

fn openssl() -> Option<PathBuf> {
    require_command("openssl", "apt-get install openssl")
}

/// A CA and the three signers of a claims register, made with OpenSSL. Serial numbers
/// decrease (0x30, 0x20, 0x10) so that a DER-sorted SET OF SignerInfo would come out
/// reversed: the signing order can only survive if medgate keeps it.
struct Pki {
    dir: tempfile::TempDir,
    openssl: PathBuf,
}

const SIGNERS: [(&str, &str, &str); 3] = [
    ("executor", "Executor", "0x30"),
    ("accountant", "Chief Accountant", "0x20"),
    ("head", "Head", "0x10"),
];

impl Pki {
    fn new() -> Option<Self> {
        let openssl = openssl()?;
        let dir = temp_dir();
        let pki = Pki { dir, openssl };
        pki.make_ca("ca", "Medgate Test CA");
        for (n, (stem, name, serial)) in SIGNERS.iter().enumerate() {
            // The chief accountant has an EC P-256 key, the others RSA.
            let key_args: &[&str] = if n == 1 {
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
            } else {
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
            };
            pki.issue("ca", stem, name, serial, key_args);
        }
        Some(pki)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn p(&self, name: &str) -> String {
        path(self.dir(), name)
    }

    fn ssl(&self, args: &[&str]) -> String {
        run_peer_ok(&self.openssl, args)
    }

    fn make_ca(&self, stem: &str, name: &str) {
        self.ssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &self.p(&format!("{stem}.key")),
            "-out",
            &self.p(&format!("{stem}.pem")),
            "-subj",
            &format!("/CN={name}"),
            "-days",
            "30",
        ]);
    }

    fn issue(&self, ca: &str, stem: &str, name: &str, serial: &str, key_args: &[&str]) {
        let key = self.p(&format!("{stem}.key"));
        let mut genpkey = vec!["genpkey"];
        genpkey.extend_from_slice(key_args);
        genpkey.extend_from_slice(&["-out", &key]);
        self.ssl(&genpkey);
        let csr = self.p(&format!("{stem}.csr"));
        self.ssl(&[
            "req",
            "-new",
            "-key",
            &key,
            "-subj",
            &format!("/CN={name}/O=Clinic"),
            "-out",
            &csr,
        ]);
        self.ssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &self.p(&format!("{ca}.pem")),
            "-CAkey",
            &self.p(&format!("{ca}.key")),
            "-set_serial",
            serial,
            "-days",
            "30",
            "-out",
            &self.p(&format!("{stem}.pem")),
        ]);
    }

    fn write(&self, name: &str, content: &[u8]) -> String {
        let file = self.p(name);
        std::fs::write(&file, content).expect("write test file");
        file
    }

    /// `medgate pki sign FILE` as signer `stem`, with extra arguments.
    fn sign(&self, file: &str, stem: &str, extra: &[&str]) -> String {
        let cert = self.p(&format!("{stem}.pem"));
        let key = self.p(&format!("{stem}.key"));
        let mut args = vec!["pki", "sign", file, "--cert", &cert, "--key", &key];
        args.extend_from_slice(extra);
        run_ok(&args)
    }

    /// OpenSSL's own verification of a detached DER signature against the CA.
    fn openssl_verify(&self, file: &str, sig: &str, ca: &str) -> std::process::Output {
        run_peer(
            &self.openssl,
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                sig,
                "-content",
                file,
                "-CAfile",
                &self.p(ca),
                "-out",
                "/dev/null",
            ],
        )
    }

    /// The three signers, one after the other, on `file`; returns the signature path.
    fn three_signatures(&self, file: &str) -> String {
        let sig = format!("{file}.sig");
        let out = self.sign(file, "executor", &[]);
        assert!(out.contains("signer 1 of 1"), "{out}");
        let out = self.sign(file, "accountant", &["--cosign", &sig]);
        assert!(out.contains("signer 2 of 2"), "{out}");
        let out = self.sign(file, "head", &["--cosign", &sig]);
        assert!(out.contains("signer 3 of 3"), "{out}");
        sig
    }
}

fn in_order(text: &str, needles: &[&str]) -> bool {
    let mut from = 0;
    for needle in needles {
        match text[from..].find(needle) {
            Some(at) => from += at + needle.len(),
            None => return false,
        }
    }
    true
}

fn one_line(stderr: &str) -> &str {
    let trimmed = stderr.trim();
    assert_eq!(
        trimmed.lines().count(),
        1,
        "expected one error line: {stderr}"
    );
    assert!(trimmed.starts_with("error: "), "{stderr}");
    trimmed
}

#[test]
fn three_signers_in_fixed_order_verify_with_openssl() {
    let Some(pki) = Pki::new() else { return };
    let file = pki.write("register.xml", b"<register month=\"2026-01\"/>\n");
    let sig = pki.three_signatures(&file);

    let verified = pki.openssl_verify(&file, &sig, "ca.pem");
    let stderr = String::from_utf8_lossy(&verified.stderr);
    assert!(
        verified.status.success(),
        "openssl cms -verify failed: {stderr}"
    );
    assert!(stderr.contains("Verification successful"), "{stderr}");

    let printed = pki.ssl(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", &sig]);
    let signer_infos = printed.split("signerInfos:").nth(1).unwrap_or_default();
    assert_eq!(
        signer_infos.matches("d.issuerAndSerialNumber").count(),
        3,
        "{printed}"
    );
    assert!(
        in_order(
            signer_infos,
            &["serialNumber: 48", "serialNumber: 32", "serialNumber: 16"]
        ),
        "signers not in signing order: {signer_infos}"
    );
    // One SHA-256 entry in digestAlgorithms, three certificates.
    let digest_algorithms = printed.split("encapContentInfo").next().unwrap_or_default();
    assert_eq!(digest_algorithms.matches("sha256").count(), 1, "{printed}");
    assert_eq!(printed.matches("d.certificate:").count(), 3, "{printed}");

    let out = run_ok(&[
        "pki",
        "verify",
        &file,
        "--sig",
        &sig,
        "--ca",
        &pki.p("ca.pem"),
    ]);
    assert!(
        in_order(
            &out,
            &[
                "1. CN=Executor",
                "serial 30",
                "2. CN=Chief Accountant",
                "serial 20",
                "3. CN=Head",
                "serial 10"
            ]
        ),
        "{out}"
    );
    assert_eq!(
        out.matches("signature: valid; chain to CA: valid").count(),
        3,
        "{out}"
    );

    let json = run_ok(&[
        "pki",
        "verify",
        &file,
        "--sig",
        &sig,
        "--ca",
        &pki.p("ca.pem"),
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&json).expect("verify --json is JSON");
    assert_eq!(json["valid"], true, "{json}");
    let signers = json["signers"].as_array().expect("signers array");
    let subjects: Vec<&str> = signers
        .iter()
        .filter_map(|s| s["subject"].as_str())
        .collect();
    assert_eq!(
        subjects,
        [
            "CN=Executor, O=Clinic",
            "CN=Chief Accountant, O=Clinic",
            "CN=Head, O=Clinic"
        ]
    );
    for (n, signer) in signers.iter().enumerate() {
        assert_eq!(signer["index"], n + 1);
        assert_eq!(signer["serial"], SIGNERS[n].2.trim_start_matches("0x"));
        assert_eq!(signer["signature_valid"], true);
        assert_eq!(signer["chain_valid"], true);
        assert!(
            signer["signing_time"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{signer}"
        );
    }
}

#[test]
fn openssl_signature_verifies_and_takes_a_medgate_cosigner() {
    let Some(pki) = Pki::new() else { return };
    let file = pki.write("invoice.pdf", b"%PDF-1.4 not really\n\x00\x01\x02 binary");
    let openssl_sig = pki.p("invoice.openssl.sig");
    pki.ssl(&[
        "cms",
        "-sign",
        "-binary",
        "-outform",
        "DER",
        "-md",
        "sha256",
        "-signer",
        &pki.p("executor.pem"),
        "-inkey",
        &pki.p("executor.key"),
        "-in",
        &file,
        "-out",
        &openssl_sig,
    ]);
    let out = run_ok(&[
        "pki",
        "verify",
        &file,
        "--sig",
        &openssl_sig,
        "--ca",
        &pki.p("ca.pem"),
    ]);
    assert!(
        out.contains("1. CN=Executor") && out.contains("chain to CA: valid"),
        "{out}"
    );

    let both = pki.p("invoice.both.sig");
    pki.sign(
        &file,
        "accountant",
        &["--cosign", &openssl_sig, "--out", &both],
    );
    let verified = pki.openssl_verify(&file, &both, "ca.pem");
    assert!(
        verified.status.success(),
        "openssl cms -verify of the co-signed signature failed: {}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let out = run_ok(&[
        "pki",
        "verify",
        &file,
        "--sig",
        &both,
        "--ca",
        &pki.p("ca.pem"),
    ]);
    assert!(
        in_order(&out, &["1. CN=Executor", "2. CN=Chief Accountant"]),
        "{out}"
    );
    assert!(out.contains("all 2 signature(s) valid"), "{out}");

    // PEM ("CMS") signatures from OpenSSL are read too.
    let pem_sig = pki.p("invoice.sig.pem");
    pki.ssl(&[
        "cms",
        "-sign",
        "-binary",
        "-outform",
        "PEM",
        "-md",
        "sha256",
        "-signer",
        &pki.p("head.pem"),
        "-inkey",
        &pki.p("head.key"),
        "-in",
        &file,
        "-out",
        &pem_sig,
    ]);
    let out = run_ok(&[
        "pki",
        "verify",
        &file,
        "--sig",
        &pem_sig,
        "--ca",
        &pki.p("ca.pem"),
    ]);
    assert!(out.contains("1. CN=Head"), "{out}");
}

#[test]
fn a_changed_file_or_another_ca_fails_naming_the_signer() {
    let Some(pki) = Pki::new() else { return };
    let file = pki.write("register.xml", b"<register total=\"100.00\"/>\n");
    let sig = pki.three_signatures(&file);

    pki.make_ca("other", "Some Other CA");
    let err = one_line(&run_fails(&[
        "pki",
        "verify",
        &file,
        "--sig",
        &sig,
        "--ca",
        &pki.p("other.pem"),
    ]))
    .to_owned();
    assert!(
        err.contains("signer 1 (CN=Executor") && err.contains("does not chain"),
        "{err}"
    );
    assert!(err.contains("Some Other CA"), "{err}");

    pki.write("register.xml", b"<register total=\"900.00\"/>\n");
    let output = run(&[
        "pki",
        "verify",
        &file,
        "--sig",
        &sig,
        "--ca",
        &pki.p("ca.pem"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    let err = one_line(&err);
    assert!(
        err.contains("the file was changed after signer 1 signed it"),
        "{err}"
    );
    assert!(err.contains("signer 3 (CN=Head"), "{err}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.matches("signature: INVALID").count(), 3, "{stdout}");
    // OpenSSL agrees that the file no longer matches.
    assert!(!pki.openssl_verify(&file, &sig, "ca.pem").status.success());

    let json = run(&["pki", "verify", &file, "--sig", &sig, "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let json: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("verify --json is JSON even on failure");
    assert_eq!(json["valid"], false);
    assert_eq!(json["signers"][1]["signature_valid"], false);
    assert!(json["signers"][1]["chain_valid"].is_null());

    // Co-signing a signature made over another file is refused, and nothing is written.
    let other = pki.write("other.xml", b"<register total=\"1.00\"/>\n");
    let out_sig = pki.p("other.xml.sig");
    let cert = pki.p("accountant.pem");
    let key = pki.p("accountant.key");
    let err = run_fails(&[
        "pki", "sign", &other, "--cert", &cert, "--key", &key, "--cosign", &sig, "--out", &out_sig,
    ]);
    assert!(
        one_line(&err).contains(&format!("{sig} was made over a different file")),
        "{err}"
    );
    assert!(!Path::new(&out_sig).exists());
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let Some(pki) = Pki::new() else { return };
    let file = pki.write("doc.txt", b"document\n");
    let sig = pki.three_signatures(&file);
    let cert = pki.p("executor.pem");
    let key = pki.p("executor.key");

    // Missing file to sign or verify.
    let missing = pki.p("missing.txt");
    let err = run_fails(&["pki", "sign", &missing, "--cert", &cert, "--key", &key]);
    assert!(one_line(&err).contains("missing.txt"), "{err}");
    let err = run_fails(&["pki", "verify", &missing, "--sig", &sig]);
    assert!(one_line(&err).contains("missing.txt"), "{err}");
    let err = run_fails(&["pki", "verify", &file, "--sig", &pki.p("missing.sig")]);
    assert!(one_line(&err).contains("missing.sig"), "{err}");

    // A truncated PEM signature.
    let pem = pki.ssl(&[
        "cms", "-cmsout", "-inform", "DER", "-in", &sig, "-outform", "PEM",
    ]);
    let truncated = pki.write("truncated.pem", &pem.as_bytes()[..pem.len() / 2]);
    let err = run_fails(&["pki", "verify", &file, "--sig", &truncated]);
    let err = one_line(&err);
    assert!(
        err.contains("truncated.pem") && err.contains("truncated"),
        "{err}"
    );
    // A truncated DER signature.
    let der = std::fs::read(&sig).expect("read sig");
    let cut = pki.write("cut.sig", &der[..der.len() - 100]);
    let err = run_fails(&["pki", "verify", &file, "--sig", &cut]);
    assert!(one_line(&err).contains("cut.sig"), "{err}");

    // A certificate given as the signature (PEM and DER).
    let err = run_fails(&["pki", "verify", &file, "--sig", &cert]);
    assert!(
        one_line(&err).contains("is an X.509 certificate, not a CMS signature"),
        "{err}"
    );
    let cert_der = pki.p("executor.der");
    pki.ssl(&["x509", "-in", &cert, "-outform", "DER", "-out", &cert_der]);
    let err = run_fails(&["pki", "verify", &file, "--sig", &cert_der]);
    assert!(
        one_line(&err).contains("is an X.509 certificate, not a CMS signature"),
        "{err}"
    );

    // An attached signature (content inside) is named as such.
    let attached = pki.p("attached.sig");
    pki.ssl(&[
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-outform",
        "DER",
        "-md",
        "sha256",
        "-signer",
        &cert,
        "-inkey",
        &key,
        "-in",
        &file,
        "-out",
        &attached,
    ]);
    let err = run_fails(&["pki", "verify", &file, "--sig", &attached]);
    assert!(
        one_line(&err).contains("embeds the signed content"),
        "{err}"
    );

    // A key that does not belong to the certificate: both files are named.
    let wrong_key = pki.p("head.key");
    let out = pki.p("new.sig");
    let err = run_fails(&[
        "pki", "sign", &file, "--cert", &cert, "--key", &wrong_key, "--out", &out,
    ]);
    let err = one_line(&err);
    assert!(
        err.contains("does not match") && err.contains("head.key") && err.contains("executor.pem"),
        "{err}"
    );
    assert!(!Path::new(&out).exists());

    // An encrypted key: wrong password, and no password at all.
    let encrypted = pki.p("executor.enc.key");
    pki.ssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        &key,
        "-out",
        &encrypted,
        "-passout",
        "pass:right-password",
    ]);
    let wrong = crate::support::password_file(pki.dir(), "wrong.pw", "wrong-password");
    let err = run_fails(&[
        "pki",
        "sign",
        &file,
        "--cert",
        &cert,
        "--key",
        &encrypted,
        "--password-file",
        &wrong,
        "--out",
        &out,
    ]);
    assert!(one_line(&err).contains("wrong password"), "{err}");
    let err = run_fails(&[
        "pki", "sign", &file, "--cert", &cert, "--key", &encrypted, "--out", &out,
    ]);
    assert!(one_line(&err).contains("--password-file"), "{err}");
    let right = crate::support::password_file(pki.dir(), "right.pw", "right-password");
    run_ok(&[
        "pki",
        "sign",
        &file,
        "--cert",
        &cert,
        "--key",
        &encrypted,
        "--password-file",
        &right,
        "--out",
        &out,
    ]);
    assert!(pki.openssl_verify(&file, &out, "ca.pem").status.success());

    // An existing output is not replaced without --force.
    let err = run_fails(&[
        "pki", "sign", &file, "--cert", &cert, "--key", &key, "--out", &out,
    ]);
    assert!(one_line(&err).contains("--force"), "{err}");
    run_ok(&[
        "pki", "sign", &file, "--cert", &cert, "--key", &key, "--out", &out, "--force",
    ]);

    // The same signer cannot sign twice.
    let err = run_fails(&[
        "pki", "sign", &file, "--cert", &cert, "--key", &key, "--cosign", &sig,
    ]);
    assert!(one_line(&err).contains("already signed"), "{err}");
}

/// A signature made with a certificate the CA later revoked fails `pki verify --crl`.
#[test]
fn verify_with_crl_refuses_a_revoked_signer() {
    use crate::support::{path, run_fails, run_ok, temp_dir};
    let dir = temp_dir();
    let d = dir.path();
    run_ok(&["ca", "init", "--dir", &path(d, "ca"), "--name", "Register CA", "--algorithm", "p256"]);
    run_ok(&["pki", "csr", "--tenant", "0000000000005010", "--org", "O", "--unit", "U", "--kind", "wss", "--out", &path(d, "k"), "--algorithm", "p256"]);
    run_ok(&["ca", "sign", "--dir", &path(d, "ca"), "--csr", &path(d, "k/wss.csr"), "--out", &path(d, "k/wss.pem")]);
    std::fs::write(d.join("register.xml"), b"<ZL_LIST/>").expect("file");
    run_ok(&["pki", "sign", &path(d, "register.xml"), "--cert", &path(d, "k/wss.pem"), "--key", &path(d, "k/wss.key")]);
    run_ok(&["ca", "crl", "--dir", &path(d, "ca"), "--out", &path(d, "crl-before.pem")]);
    run_ok(&["pki", "verify", &path(d, "register.xml"), "--sig", &path(d, "register.xml.sig"), "--crl", &path(d, "crl-before.pem")]);
    let inspect = run_ok(&["pki", "inspect", &path(d, "k/wss.pem"), "--json"]);
    let serial = serde_json::from_str::<serde_json::Value>(&inspect).expect("json")
        .pointer("/certificates/0/serial").and_then(|v| v.as_str()).map(str::to_owned)
        .unwrap_or_else(|| panic!("serial in {inspect}"));
    run_ok(&["ca", "revoke", "--dir", &path(d, "ca"), "--serial", &serial, "--reason", "key-compromise"]);
    run_ok(&["ca", "crl", "--dir", &path(d, "ca"), "--out", &path(d, "crl.pem")]);
    let error = run_fails(&["pki", "verify", &path(d, "register.xml"), "--sig", &path(d, "register.xml.sig"), "--crl", &path(d, "crl.pem")]);
    assert!(error.contains("revoked"), "{error}");
}
