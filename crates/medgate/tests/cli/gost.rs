//! GOST R 34.10-2012 (the signatures Russian OMS funds require) through the system OpenSSL's
//! GOST engine: keys and CSRs made by `medgate pki gost`, certificates issued by a GOST CA
//! made with `openssl` itself, a claims register signed by its three signers in the fixed
//! order with `medgate pki sign` (`--cosign`), and every signature checked by the independent
//! peer, `openssl cms -verify` with the engine. Also: OpenSSL's own GOST signature taken as
//! the first signer, a changed register, a wrong password, and a machine without the engine.

use std::path::Path;

use medgate_test_peers::openssl_ca::require_gost_openssl as gost_openssl;

use crate::support::{medgate, password_file, path, run_fails, run_ok, run_peer, run_peer_ok, temp_dir};

/// Serial numbers decrease, so a DER-sorted SET OF SignerInfo would come out reversed: the
/// signing order survives only if medgate keeps it.
const SIGNERS: [(&str, &str, &str, &str); 3] = [
    ("executor", "256", "0x30", "/CN=Иванов Иван Иванович/O=ГБУЗ Городская поликлиника № 1/C=RU"),
    ("accountant", "512", "0x20", "/CN=Петрова Анна Сергеевна/O=ГБУЗ Городская поликлиника № 1/C=RU"),
    ("head", "256", "0x10", "/CN=Сидоров Пётр Ильич/O=ГБУЗ Городская поликлиника № 1/C=RU"),
];

/// A GOST CA (made by OpenSSL) and the three signers' keys, CSRs (made by medgate) and
/// certificates (issued by the CA with OpenSSL).
fn pki(openssl: &Path, dir: &Path) {
    let p = |name: &str| path(dir, name);
    run_peer_ok(openssl, &[
        "genpkey", "-engine", "gost", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:A",
        "-out", &p("ca.key"),
    ]);
    run_peer_ok(openssl, &[
        "req", "-engine", "gost", "-x509", "-new", "-key", &p("ca.key"), "-days", "30",
        "-subj", "/CN=Удостоверяющий центр ТФОМС/C=RU", "-utf8", "-out", &p("ca.pem"),
    ]);
    for (stem, size, serial, subject) in SIGNERS {
        let password = password_file(dir, &format!("{stem}.pw"), &format!("пароль {stem} 2026"));
        let said = run_ok(&[
            "pki", "gost", "key", "--size", size, "--out", &p(&format!("{stem}.key")),
            "--password-file", &password,
        ]);
        assert!(said.contains(&format!("{size}-bit key written")), "{said}");
        run_ok(&[
            "pki", "gost", "csr", "--key", &p(&format!("{stem}.key")), "--password-file", &password,
            "--subject", subject, "--out", &p(&format!("{stem}.csr")),
        ]);
        run_peer_ok(openssl, &[
            "x509", "-engine", "gost", "-req", "-in", &p(&format!("{stem}.csr")), "-CA", &p("ca.pem"),
            "-CAkey", &p("ca.key"), "-set_serial", serial, "-days", "30",
            "-out", &p(&format!("{stem}.pem")),
        ]);
    }
}

fn sign(dir: &Path, stem: &str, cosign: bool) -> String {
    let p = |name: &str| path(dir, name);
    let (register, sig, cert, key, pw) =
        (p("HM123456S45001_261201.xml"), p("register.sig"), p(&format!("{stem}.pem")), p(&format!("{stem}.key")), p(&format!("{stem}.pw")));
    let mut args = vec!["pki", "sign", &register, "--cert", &cert, "--key", &key, "--password-file", &pw];
    if cosign {
        args.extend(["--cosign", &sig]);
    } else {
        args.extend(["--out", &sig]);
    }
    run_ok(&args)
}

fn openssl_verifies(openssl: &Path, dir: &Path) -> bool {
    let p = |name: &str| path(dir, name);
    let out = run_peer(openssl, &[
        "cms", "-engine", "gost", "-verify", "-binary", "-inform", "DER", "-in", &p("register.sig"),
        "-content", &p("HM123456S45001_261201.xml"), "-CAfile", &p("ca.pem"), "-purpose", "any",
        "-out", &p("verified.out"),
    ]);
    out.status.success()
}

#[test]
fn a_register_signed_in_order_with_gost_keys_verifies_with_openssl() {
    let Some(openssl) = gost_openssl() else { return };
    let dir = temp_dir();
    let dir = dir.path();
    pki(&openssl, dir);
    std::fs::write(
        dir.join("HM123456S45001_261201.xml"),
        "<?xml version=\"1.0\" encoding=\"windows-1251\"?><ZL_LIST><ZGLV><VERSION>3.2</VERSION></ZGLV></ZL_LIST>\n",
    )
    .unwrap();

    let first = sign(dir, "executor", false);
    assert!(first.contains("as signer 1 of 1") && first.contains("GOST R 34.10-2012"), "{first}");
    assert!(openssl_verifies(&openssl, dir), "OpenSSL refuses the executor's signature");
    let second = sign(dir, "accountant", true);
    assert!(second.contains("as signer 2 of 2"), "{second}");
    let third = sign(dir, "head", true);
    assert!(third.contains("as signer 3 of 3"), "{third}");
    assert!(openssl_verifies(&openssl, dir), "OpenSSL refuses the three signatures");

    // medgate lists them in signing order, each valid and chained to the GOST CA.
    let p = |name: &str| path(dir, name);
    let verified = run_ok(&["pki", "verify", &p("HM123456S45001_261201.xml"), "--sig", &p("register.sig"), "--ca", &p("ca.pem"), "--json"]);
    let verified: serde_json::Value = serde_json::from_str(&verified).expect("verify JSON");
    let signers = verified["signers"].as_array().expect("signers");
    let subjects: Vec<&str> = signers.iter().map(|s| s["subject"].as_str().unwrap_or("")).collect();
    assert_eq!(subjects.len(), 3, "{verified}");
    for (subject, name) in subjects.iter().zip(["Иванов", "Петрова", "Сидоров"]) {
        assert!(subject.contains(name), "{subjects:?}");
    }
    assert!(signers.iter().all(|s| s["signature_valid"] == true && s["chain_valid"] == true), "{verified}");

    // The head cannot sign twice; a changed register fails for every signer, in words.
    let twice = run_fails(&["pki", "sign", &p("HM123456S45001_261201.xml"), "--cert", &p("head.pem"), "--key", &p("head.key"), "--password-file", &p("head.pw"), "--cosign", &p("register.sig")]);
    assert!(twice.contains("has already signed this file (signer 3)"), "{twice}");
    std::fs::write(dir.join("HM123456S45001_261201.xml"), "<ZL_LIST/>\n").unwrap();
    let changed = run_fails(&["pki", "verify", &p("HM123456S45001_261201.xml"), "--sig", &p("register.sig"), "--ca", &p("ca.pem")]);
    assert!(changed.contains("the file was changed after signer 1 signed it"), "{changed}");
    assert!(!openssl_verifies(&openssl, dir));
}

#[test]
fn openssl_gost_signature_takes_a_medgate_cosigner_and_bad_inputs_are_named() {
    let Some(openssl) = gost_openssl() else { return };
    let dir = temp_dir();
    let dir = dir.path();
    pki(&openssl, dir);
    let p = |name: &str| path(dir, name);
    std::fs::write(dir.join("HM123456S45001_261201.xml"), "<ZL_LIST>реестр</ZL_LIST>\n").unwrap();
    // The executor signs with OpenSSL itself (its key decrypted for it), medgate adds the
    // accountant.
    run_peer_ok(&openssl, &[
        "cms", "-engine", "gost", "-sign", "-binary", "-in", &p("HM123456S45001_261201.xml"),
        "-signer", &p("executor.pem"), "-inkey", &p("executor.key"),
        "-passin", &format!("file:{}", p("executor.pw")), "-outform", "DER", "-out", &p("register.sig"),
        "-md", "md_gost12_256",
    ]);
    let second = sign(dir, "accountant", true);
    assert!(second.contains("as signer 2 of 2"), "{second}");
    assert!(openssl_verifies(&openssl, dir), "OpenSSL refuses its signature co-signed by medgate");

    // A wrong password, a key of another signer: one sentence each, nothing written.
    let wrong = run_fails(&["pki", "sign", &p("HM123456S45001_261201.xml"), "--cert", &p("head.pem"), "--key", &p("head.key"), "--password-file", &p("executor.pw"), "--out", &p("x.sig")]);
    assert!(wrong.contains("head.key: wrong password"), "{wrong}");
    let other = run_fails(&["pki", "sign", &p("HM123456S45001_261201.xml"), "--cert", &p("head.pem"), "--key", &p("executor.key"), "--password-file", &p("executor.pw"), "--out", &p("x.sig")]);
    assert!(other.contains("private key does not match certificate"), "{other}");
    assert!(!dir.join("x.sig").exists());
    for secret in ["пароль executor 2026", "пароль head 2026"] {
        assert!(!wrong.contains(secret) && !other.contains(secret));
    }

    // Without the engine: what to install, for keys and for signatures.
    let missing = medgate()
        .env("MEDGATE_OPENSSL", dir.join("no-openssl-here"))
        .args(["pki", "gost", "key", "--out", &p("y.key"), "--password-file", &p("executor.pw")])
        .output()
        .expect("medgate runs");
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success() && said.contains("apt-get install openssl libengine-gost-openssl"), "{said}");
    let verify = medgate()
        .env("MEDGATE_OPENSSL", dir.join("no-openssl-here"))
        .args(["pki", "verify", &p("HM123456S45001_261201.xml"), "--sig", &p("register.sig")])
        .output()
        .expect("medgate runs");
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(!verify.status.success() && said.contains("libengine-gost-openssl"), "{said}");
}
