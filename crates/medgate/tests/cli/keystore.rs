//! `medgate pki p12` and `medgate pki unpack`, checked with independent readers: OpenSSL 3
//! (`pkcs12` with and without `-legacy`), Java `keytool` (PKCS#12 and JKS, including a
//! JKS → PKCS#12 conversion that makes Java decrypt our JKS key) and Python `cryptography`;
//! and unpacking of keystores made by `openssl pkcs12 -export` (default and `-legacy`).
//!
//! Also home of [`OpensslPki`], the OpenSSL-made test material shared with the `inspect` and
//! `expiring` tests.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use medgate_test_peers::{require_command, require_python};

use crate::support::{self, path, run_fails, run_ok, run_peer, run_peer_ok};

pub(crate) const TENANT: &str = "0000000000005010";
pub(crate) const TLS_EXT: &str =
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n";
pub(crate) const PASSWORD: &str = "Keystore-Pa55";

/// A temporary folder with a CA made by OpenSSL (`ca.pem`, `ca.key`) and helpers to make
/// keys, CSRs and certificates with it. OpenSSL is the independent peer: nothing here is
/// produced by medgate.
pub(crate) struct OpensslPki {
    pub openssl: PathBuf,
    pub dir: tempfile::TempDir,
}

impl OpensslPki {
    /// `None` when OpenSSL is missing and MEDGATE_SKIP_MISSING_PEERS=1.
    pub fn new() -> Option<Self> {
        let openssl = require_command("openssl", "apt-get install openssl")?;
        let pki = OpensslPki {
            openssl,
            dir: support::temp_dir(),
        };
        pki.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &pki.path("ca.key"),
            "-out",
            &pki.path("ca.pem"),
            "-subj",
            "/CN=Test Tenant CA/O=medgate tests",
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        pki.write("password.txt", &format!("{PASSWORD}\n"));
        Some(pki)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> String {
        path(self.dir(), name)
    }

    pub fn openssl(&self, args: &[&str]) -> String {
        run_peer_ok(&self.openssl, args)
    }

    pub fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir().join(name), text).expect("write test file");
        self.path(name)
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir().join(name)).expect("read test file")
    }

    /// `<stem>.key` (unencrypted PKCS#8; `key` is `rsa:2048` or `ec`) and `<stem>.csr`.
    pub fn csr(&self, stem: &str, cn: &str, key: &str) {
        let mut args = vec!["req", "-new", "-newkey", key, "-nodes", "-keyout"];
        let key_path = self.path(&format!("{stem}.key"));
        let csr_path = self.path(&format!("{stem}.csr"));
        let subject = format!("/CN={cn}/O=Clinic");
        args.extend([
            key_path.as_str(),
            "-out",
            csr_path.as_str(),
            "-subj",
            subject.as_str(),
        ]);
        if key == "ec" {
            args.extend(["-pkeyopt", "ec_paramgen_curve:P-256"]);
        }
        self.openssl(&args);
    }

    /// Key, CSR and certificate `<stem>.pem` valid for `days` days from now, issued by the
    /// CA with `openssl x509 -req`.
    pub fn issue(&self, stem: &str, cn: &str, key: &str, days: u32) {
        self.csr(stem, cn, key);
        let ext = self.write(&format!("{stem}.ext"), TLS_EXT);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &self.path(&format!("{stem}.csr")),
            "-CA",
            &self.path("ca.pem"),
            "-CAkey",
            &self.path("ca.key"),
            "-CAcreateserial",
            "-out",
            &self.path(&format!("{stem}.pem")),
            "-days",
            &days.to_string(),
            "-extfile",
            &ext,
        ]);
    }

    /// A certificate `<stem>.pem` with explicit dates (YYYYMMDDHHMMSSZ) issued by `openssl
    /// ca`: OpenSSL 3.0's `x509 -req` cannot back-date.
    pub fn issue_dated(&self, stem: &str, cn: &str, start: &str, end: &str) {
        let dir = self.dir().display().to_string();
        std::fs::create_dir_all(self.dir().join("newcerts")).expect("newcerts");
        if !self.dir().join("index.txt").exists() {
            self.write("index.txt", "");
        }
        let config = self.write(
            "ca.cnf",
            &format!(
                "[ ca ]\ndefault_ca = test_ca\n[ test_ca ]\ndatabase = {dir}/index.txt\n\
                 new_certs_dir = {dir}/newcerts\nserial = {dir}/serial\ndefault_md = sha256\npolicy = any\n\
                 unique_subject = no\n[ any ]\ncommonName = supplied\n[ ext ]\n{TLS_EXT}"
            ),
        );
        self.csr(stem, cn, "rsa:2048");
        self.openssl(&[
            "ca",
            "-batch",
            "-notext",
            "-rand_serial",
            "-config",
            &config,
            "-extensions",
            "ext",
            "-cert",
            &self.path("ca.pem"),
            "-keyfile",
            &self.path("ca.key"),
            "-in",
            &self.path(&format!("{stem}.csr")),
            "-out",
            &self.path(&format!("{stem}.pem")),
            "-startdate",
            start,
            "-enddate",
            end,
        ]);
    }

    /// `openssl x509 -noout <flag>` output after the `=`, e.g. the serial or fingerprint.
    pub fn x509_field(&self, cert: &str, flag: &str, extra: &[&str]) -> String {
        let mut args = vec!["x509", "-noout", "-in", cert, flag];
        args.extend(extra);
        let out = self.openssl(&args);
        out.trim()
            .split_once('=')
            .map(|(_, v)| v.to_owned())
            .expect("field=value")
    }

    /// DER of the (first) certificate in a PEM file, as OpenSSL converts it.
    pub fn cert_der(&self, pem_path: &str) -> Vec<u8> {
        let out = format!("{pem_path}.der");
        self.openssl(&["x509", "-in", pem_path, "-outform", "DER", "-out", &out]);
        std::fs::read(out).expect("der")
    }

    /// The public key (PEM) of a private key file, as OpenSSL extracts it.
    pub fn public_key(&self, key_path: &str, password_file: Option<&str>) -> String {
        let passin = password_file.map(|p| format!("file:{p}"));
        let mut args = vec!["pkey", "-in", key_path, "-pubout"];
        if let Some(passin) = &passin {
            args.extend(["-passin", passin.as_str()]);
        }
        self.openssl(&args)
    }
}

/// True when `text` contains a run of 40+ base64 characters that is not plain hex (hashes
/// are shown in hex on purpose): what a leaked key would look like.
pub(crate) fn has_long_base64(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
        .any(|run| run.len() >= 40 && !run.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Asserts a one-line error naming `file` and containing `problem`.
pub(crate) fn assert_one_line_error(stderr: &str, file: &str, problem: &str) {
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(file), "does not name {file}: {stderr}");
    assert!(
        stderr.contains(problem),
        "does not say '{problem}': {stderr}"
    );
}

#[cfg(unix)]
fn mode(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// A leaf `tls.pem`/`tls.key` (P-256) and `medgate pki p12` over it with the CA as chain.
fn medgate_p12(pki: &OpensslPki, extra: &[&str]) -> String {
    pki.issue("tls", &format!("{TENANT} TLS"), "ec", 365);
    let out = pki.path("tls.p12");
    let mut args = vec![
        "pki".to_owned(),
        "p12".into(),
        "--cert".into(),
        pki.path("tls.pem"),
        "--key".into(),
        pki.path("tls.key"),
        "--chain".into(),
        pki.path("ca.pem"),
        "--password-file".into(),
        pki.path("password.txt"),
        "--out".into(),
        out.clone(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let stdout = run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(stdout.contains("wrote"), "{stdout}");
    out
}

#[test]
fn p12_opens_with_openssl_3_without_legacy_and_uses_aes_pbkdf2_sha256_mac() {
    let Some(pki) = OpensslPki::new() else { return };
    let p12 = medgate_p12(&pki, &[]);
    #[cfg(unix)]
    assert_eq!(mode(&p12), 0o600);
    let passin = format!("file:{}", pki.path("password.txt"));

    let certs = pki.openssl(&["pkcs12", "-in", &p12, "-passin", &passin, "-nokeys"]);
    assert!(
        certs.contains(&format!("subject=CN = {TENANT} TLS")),
        "{certs}"
    );
    assert!(certs.contains("subject=CN = Test Tenant CA"), "{certs}");

    let info = pki.openssl(&["pkcs12", "-info", "-noout", "-in", &p12, "-passin", &passin]);
    assert!(info.contains("MAC: sha256"), "{info}");
    assert!(info.contains("PBES2, PBKDF2, AES-256-CBC"), "{info}");
    assert!(
        !info.contains("TripleDES") && !info.contains("RC2"),
        "{info}"
    );

    // The key OpenSSL takes out is the one we put in.
    let key_pem = pki.openssl(&[
        "pkcs12", "-in", &p12, "-passin", &passin, "-nocerts", "-nodes",
    ]);
    let extracted = pki.write("extracted.key", &key_pem);
    assert_eq!(
        pki.public_key(&extracted, None),
        pki.public_key(&pki.path("tls.key"), None)
    );
}

#[test]
fn p12_is_listed_by_keytool_as_a_private_key_entry() {
    let Some(pki) = OpensslPki::new() else { return };
    let Some(keytool) = require_command("keytool", "apt-get install default-jre-headless") else {
        return;
    };
    let p12 = medgate_p12(&pki, &["--alias", "clinic-tls"]);
    let storepass = pki.path("password.txt");
    let listing = run_peer_ok(
        &keytool,
        &[
            "-list",
            "-v",
            "-storetype",
            "PKCS12",
            "-keystore",
            &p12,
            "-storepass:file",
            &storepass,
        ],
    );
    assert!(listing.contains("PrivateKeyEntry"), "{listing}");
    assert!(listing.contains("clinic-tls"), "{listing}");
    assert!(listing.contains("Certificate chain length: 2"), "{listing}");
}

#[test]
fn p12_is_loaded_by_python_cryptography() {
    let Some(pki) = OpensslPki::new() else { return };
    let Some(python) = require_python("cryptography", "pip install cryptography") else {
        return;
    };
    let p12 = medgate_p12(&pki, &[]);
    let script = "import sys\n\
        from cryptography.hazmat.primitives.serialization import pkcs12, Encoding, PublicFormat\n\
        data = open(sys.argv[1], 'rb').read()\n\
        key, cert, extra = pkcs12.load_key_and_certificates(data, sys.argv[2].encode())\n\
        pub = lambda k: k.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)\n\
        assert pub(key.public_key()) == pub(cert.public_key()), 'key does not match'\n\
        print(cert.subject.rfc4514_string(), len(extra), key.curve.name)\n";
    let out = run_peer_ok(&python, &["-c", script, &p12, PASSWORD]);
    assert!(
        out.contains(&format!("O=Clinic,CN={TENANT} TLS 1 secp256r1")),
        "{out}"
    );
}

#[test]
fn jks_is_read_by_keytool_and_its_key_decrypts_in_java() {
    let Some(pki) = OpensslPki::new() else { return };
    let Some(keytool) = require_command("keytool", "apt-get install default-jre-headless") else {
        return;
    };
    let jks = pki.path("tls.jks");
    medgate_p12(&pki, &["--jks", &jks]);
    #[cfg(unix)]
    assert_eq!(mode(&jks), 0o600);
    let storepass = pki.path("password.txt");
    let listing = run_peer_ok(
        &keytool,
        &[
            "-list",
            "-v",
            "-keystore",
            &jks,
            "-storepass:file",
            &storepass,
        ],
    );
    assert!(
        listing.contains("Keystore type: JKS") || listing.contains("Keystore type: jks"),
        "{listing}"
    );
    assert!(listing.contains("PrivateKeyEntry"), "{listing}");
    assert!(listing.contains("Certificate chain length: 2"), "{listing}");
    assert!(listing.contains(&format!("{} tls", TENANT)), "{listing}");

    // Converting to PKCS#12 makes Java recover the key with Sun's key protector, which
    // proves the JKS key encryption, not just the listing; OpenSSL then reads the result.
    let converted = pki.path("converted.p12");
    run_peer_ok(
        &keytool,
        &[
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            &jks,
            "-srcstoretype",
            "JKS",
            "-srcstorepass:file",
            &storepass,
            "-destkeystore",
            &converted,
            "-deststoretype",
            "PKCS12",
            "-deststorepass:file",
            &storepass,
        ],
    );
    let passin = format!("file:{storepass}");
    let key_pem = pki.openssl(&[
        "pkcs12", "-in", &converted, "-passin", &passin, "-nocerts", "-nodes",
    ]);
    let extracted = pki.write("from-java.key", &key_pem);
    assert_eq!(
        pki.public_key(&extracted, None),
        pki.public_key(&pki.path("tls.key"), None)
    );
}

#[test]
fn legacy_p12_opens_with_openssl_legacy() {
    let Some(pki) = OpensslPki::new() else { return };
    let p12 = medgate_p12(&pki, &["--legacy"]);
    let passin = format!("file:{}", pki.path("password.txt"));
    let info = pki.openssl(&[
        "pkcs12", "-legacy", "-info", "-noout", "-in", &p12, "-passin", &passin,
    ]);
    assert!(info.contains("MAC: sha1"), "{info}");
    assert!(info.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{info}");
    let certs = pki.openssl(&[
        "pkcs12", "-legacy", "-in", &p12, "-passin", &passin, "-nokeys",
    ]);
    assert!(
        certs.contains(&format!("subject=CN = {TENANT} TLS")),
        "{certs}"
    );
}

#[test]
fn unpack_reads_openssl_made_keystores_default_and_legacy() {
    let Some(pki) = OpensslPki::new() else { return };
    pki.issue("leaf", "clinic.example", "rsa:2048", 365);
    let passin = format!("file:{}", pki.path("password.txt"));
    let original_der = pki.cert_der(&pki.path("leaf.pem"));
    let original_public = pki.public_key(&pki.path("leaf.key"), None);
    for (name, legacy) in [("default", false), ("legacy", true)] {
        let p12 = pki.path(&format!("{name}.p12"));
        let (cert, key, ca) = (
            pki.path("leaf.pem"),
            pki.path("leaf.key"),
            pki.path("ca.pem"),
        );
        let mut args = vec![
            "pkcs12",
            "-export",
            "-in",
            &cert,
            "-inkey",
            &key,
            "-certfile",
            &ca,
            "-out",
            &p12,
            "-passout",
            &passin,
        ];
        if legacy {
            args.push("-legacy");
        }
        pki.openssl(&args);

        let out = pki.path(name);
        let stdout = run_ok(&[
            "pki",
            "unpack",
            &p12,
            "--password-file",
            &pki.path("password.txt"),
            "--out",
            &out,
        ]);
        assert!(
            stdout.contains("cert.pem") && stdout.contains("key.pem"),
            "{stdout}"
        );
        assert!(!stdout.contains("PRIVATE KEY"), "{stdout}");
        assert_eq!(
            pki.cert_der(&format!("{out}/cert.pem")),
            original_der,
            "{name}"
        );
        let chain = String::from_utf8(std::fs::read(format!("{out}/chain.pem")).unwrap()).unwrap();
        assert_eq!(
            pki.cert_der(&format!("{out}/chain.pem")),
            pki.cert_der(&ca),
            "{chain}"
        );
        assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 1, "{chain}");
        let key_pem = String::from_utf8(std::fs::read(format!("{out}/key.pem")).unwrap()).unwrap();
        assert!(
            key_pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{name}"
        );
        #[cfg(unix)]
        assert_eq!(mode(&format!("{out}/key.pem")), 0o600);
        let unpacked_public =
            pki.public_key(&format!("{out}/key.pem"), Some(&pki.path("password.txt")));
        assert_eq!(unpacked_public, original_public, "{name}");
    }

    // --no-key-password writes a plain PKCS#8 key; a second run without --force refuses.
    let out = pki.path("plain");
    let args = [
        "pki",
        "unpack",
        &pki.path("default.p12"),
        "--password-file",
        &pki.path("password.txt"),
        "--out",
        &out,
        "--no-key-password",
    ];
    run_ok(&args);
    let key_pem = String::from_utf8(std::fs::read(format!("{out}/key.pem")).unwrap()).unwrap();
    assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let err = run_fails(&args);
    assert_one_line_error(&err, "cert.pem", "already exists");
}

#[test]
fn medgate_p12_round_trips_through_unpack() {
    let Some(pki) = OpensslPki::new() else { return };
    let p12 = medgate_p12(&pki, &[]);
    let key_password = pki.write("key-password.txt", "another one\n");
    let out = pki.path("unpacked");
    run_ok(&[
        "pki",
        "unpack",
        &p12,
        "--password-file",
        &pki.path("password.txt"),
        "--key-password-file",
        &key_password,
        "--out",
        &out,
    ]);
    assert_eq!(
        pki.cert_der(&format!("{out}/cert.pem")),
        pki.cert_der(&pki.path("tls.pem"))
    );
    assert_eq!(
        pki.public_key(&format!("{out}/key.pem"), Some(&key_password)),
        pki.public_key(&pki.path("tls.key"), None)
    );
    // The keystore password does not open the key any more.
    let output = run_peer(
        &pki.openssl,
        &[
            "pkey",
            "-in",
            &format!("{out}/key.pem"),
            "-passin",
            &format!("file:{}", pki.path("password.txt")),
        ],
    );
    assert!(!output.status.success());
}

#[test]
fn bad_inputs_are_one_line_errors_naming_the_file() {
    let Some(pki) = OpensslPki::new() else { return };
    let p12 = medgate_p12(&pki, &[]);
    let wrong = pki.write("wrong.txt", "not the password\n");

    // Wrong password.
    let err = run_fails(&[
        "pki",
        "unpack",
        &p12,
        "--password-file",
        &wrong,
        "--out",
        &pki.path("x"),
    ]);
    assert_one_line_error(&err, "tls.p12", "wrong password (or the file is damaged)");

    // A key that belongs to another certificate.
    pki.issue("other", &format!("{TENANT} WSS"), "ec", 365);
    let err = run_fails(&[
        "pki",
        "p12",
        "--cert",
        &pki.path("tls.pem"),
        "--key",
        &pki.path("other.key"),
        "--password-file",
        &pki.path("password.txt"),
        "--out",
        &pki.path("mixed.p12"),
    ]);
    assert_one_line_error(&err, "other.key", "does not belong to certificate");
    assert!(err.contains("tls.pem"), "{err}");
    assert!(!Path::new(&pki.path("mixed.p12")).exists());

    // A CSR in place of the certificate.
    let err = run_fails(&[
        "pki",
        "p12",
        "--cert",
        &pki.path("tls.csr"),
        "--key",
        &pki.path("tls.key"),
        "--password-file",
        &pki.path("password.txt"),
        "--out",
        &pki.path("csr.p12"),
    ]);
    assert_one_line_error(&err, "tls.csr", "certificate request (CSR)");

    // A truncated certificate.
    let pem = String::from_utf8(pki.read("tls.pem")).unwrap();
    let truncated = pki.write("truncated.pem", &pem[..pem.len() / 2]);
    let err = run_fails(&[
        "pki",
        "p12",
        "--cert",
        &truncated,
        "--key",
        &pki.path("tls.key"),
        "--password-file",
        &pki.path("password.txt"),
        "--out",
        &pki.path("t.p12"),
    ]);
    assert_one_line_error(&err, "truncated.pem", "");

    // An existing output without --force.
    let err = run_fails(&[
        "pki",
        "p12",
        "--cert",
        &pki.path("tls.pem"),
        "--key",
        &pki.path("tls.key"),
        "--password-file",
        &pki.path("password.txt"),
        "--out",
        &p12,
    ]);
    assert_one_line_error(&err, "tls.p12", "already exists; pass --force");

    // Something that is not a keystore.
    let err = run_fails(&[
        "pki",
        "unpack",
        &pki.path("tls.pem"),
        "--password-file",
        &pki.path("password.txt"),
        "--out",
        &pki.path("y"),
    ]);
    assert_one_line_error(&err, "tls.pem", "not a PKCS#12");

    // A missing keystore.
    let err = run_fails(&[
        "pki",
        "unpack",
        &pki.path("missing.p12"),
        "--password-file",
        &pki.path("password.txt"),
        "--out",
        &pki.path("z"),
    ]);
    assert_one_line_error(&err, "missing.p12", "");
}
