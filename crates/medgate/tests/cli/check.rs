//! `medgate pki check` against material made by the independent peer OpenSSL: a tenant CA
//! (`openssl req -x509`), TLS and WSS certificates (`openssl x509 -req` with an extfile),
//! back-dated, revoked and CRL material (`openssl ca`), and the broken inputs a support desk
//! sees (missing file, CSR in place of a certificate, wrong password, truncated PEM).
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};

use medgate_test_peers::require_command;

use crate::support::{self, path, run, run_fails, run_ok, run_peer_ok};

const TENANT: &str = "0000000000005010";

const TLS_EXT: &str =
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n";
const WSS_EXT: &str = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,nonRepudiation\n";

/// A folder with a tenant CA made by OpenSSL, and helpers to issue from it.
struct Fixture {
    openssl: PathBuf,
    dir: tempfile::TempDir,
}

impl Fixture {
    /// `None` when OpenSSL is missing and MEDGATE_SKIP_MISSING_PEERS=1.
    fn new() -> Option<Self> {
        let openssl = require_command("openssl", "apt-get install openssl")?;
        let fixture = Fixture {
            openssl,
            dir: support::temp_dir(),
        };
        fixture.make_ca("ca", "Tenant CA");
        Some(fixture)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, name: &str) -> String {
        path(self.dir(), name)
    }

    fn openssl(&self, args: &[&str]) -> String {
        run_peer_ok(&self.openssl, args)
    }

    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir().join(name), text).expect("write fixture file");
        self.path(name)
    }

    /// A self-signed CA: `<stem>.pem` and `<stem>.key`.
    fn make_ca(&self, stem: &str, name: &str) {
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &self.path(&format!("{stem}.key")),
            "-out",
            &self.path(&format!("{stem}.pem")),
            "-subj",
            &format!("/CN={name}"),
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
    }

    /// A new key `<stem>.key` and CSR `<stem>.csr` for the subject CN.
    fn make_csr(&self, stem: &str, cn: &str) {
        self.openssl(&[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &self.path(&format!("{stem}.key")),
            "-out",
            &self.path(&format!("{stem}.csr")),
            "-subj",
            &format!("/CN={cn}"),
        ]);
    }

    /// Key + certificate `<stem>.pem` signed with `openssl x509 -req` by CA `<ca>`.
    fn issue(&self, stem: &str, cn: &str, ext: &str, days: u32, ca: &str) {
        self.make_csr(stem, cn);
        let ext_file = self.write(&format!("{stem}.ext"), ext);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &self.path(&format!("{stem}.csr")),
            "-CA",
            &self.path(&format!("{ca}.pem")),
            "-CAkey",
            &self.path(&format!("{ca}.key")),
            "-CAcreateserial",
            "-out",
            &self.path(&format!("{stem}.pem")),
            "-days",
            &days.to_string(),
            "-extfile",
            &ext_file,
        ]);
    }

    /// The standard pair: `tls.pem`/`tls.key` and `wss.pem`/`wss.key` from the tenant CA.
    fn tls_and_wss(&self) {
        self.issue("tls", &format!("{TENANT} TLS"), TLS_EXT, 365, "ca");
        self.issue("wss", &format!("{TENANT} WSS"), WSS_EXT, 365, "ca");
    }

    /// A minimal `openssl ca` configuration over the tenant CA (database in the folder).
    fn ca_config(&self) -> String {
        let config_path = self.dir().join("ca.cnf");
        if !config_path.exists() {
            std::fs::create_dir_all(self.dir().join("newcerts")).expect("newcerts folder");
            std::fs::write(self.dir().join("index.txt"), "").expect("index");
            std::fs::write(self.dir().join("serial"), "1000\n").expect("serial");
            let dir = self.dir().display();
            let config = format!(
                "[ ca ]\ndefault_ca = tenant_ca\n\n\
                 [ tenant_ca ]\n\
                 database = {dir}/index.txt\n\
                 new_certs_dir = {dir}/newcerts\n\
                 certificate = {dir}/ca.pem\n\
                 private_key = {dir}/ca.key\n\
                 serial = {dir}/serial\n\
                 default_md = sha256\n\
                 default_days = 365\n\
                 default_crl_days = 30\n\
                 policy = policy_any\n\
                 unique_subject = no\n\
                 copy_extensions = none\n\n\
                 [ policy_any ]\ncommonName = supplied\n\n\
                 [ tls_ext ]\n{TLS_EXT}"
            );
            std::fs::write(&config_path, config).expect("ca.cnf");
        }
        config_path.to_string_lossy().into_owned()
    }

    /// A TLS certificate `<stem>.pem` issued by `openssl ca` with explicit dates
    /// (YYYYMMDDHHMMSSZ), which `openssl x509 -req` in OpenSSL 3.0 cannot back-date.
    fn issue_dated(&self, stem: &str, start: &str, end: &str) {
        let config = self.ca_config();
        self.make_csr(stem, &format!("{TENANT} TLS"));
        self.openssl(&[
            "ca",
            "-batch",
            "-notext",
            "-config",
            &config,
            "-extensions",
            "tls_ext",
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

    /// `medgate pki check` arguments for `<cert>.pem` + `<key>.key`, plus extras.
    fn args(&self, cert: &str, key: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "pki".into(),
            "check".into(),
            "--cert".into(),
            self.path(&format!("{cert}.pem")),
            "--key".into(),
            self.path(&format!("{key}.key")),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Runs the check and returns (exit code, stdout).
fn check(args: &[String]) -> (Option<i32>, String) {
    let output = run(&strs(args));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (output.status.code(), stdout)
}

/// The finding lines (between the header and the verdict).
fn finding_lines(stdout: &str) -> Vec<&str> {
    let lines: Vec<&str> = stdout.lines().collect();
    lines[1..lines.len().saturating_sub(1)].to_vec()
}

#[test]
fn a_correct_pair_is_ok() {
    let Some(f) = Fixture::new() else { return };
    f.tls_and_wss();
    let ca = f.path("ca.pem");
    for kind in ["tls", "wss"] {
        let args = f.args(
            kind,
            kind,
            &["--tenant", TENANT, "--kind", kind, "--ca", &ca],
        );
        let stdout = run_ok(&strs(&args));
        let lines: Vec<&str> = stdout.lines().collect();
        assert!(
            lines[0].starts_with(&format!("certificate: {}", f.path(&format!("{kind}.pem")))),
            "{stdout}"
        );
        assert!(
            lines[0].contains(&format!("CN={TENANT} {}", kind.to_uppercase())),
            "{stdout}"
        );
        assert!(lines[0].contains("serial "), "{stdout}");
        assert_eq!(lines.last(), Some(&"OK"), "{stdout}");
        assert!(
            !stdout.contains("ERROR") && !stdout.contains("WARNING"),
            "{stdout}"
        );
    }
}

#[test]
fn the_wss_key_with_the_tls_certificate_names_the_wss_file() {
    let Some(f) = Fixture::new() else { return };
    f.tls_and_wss();
    let (code, stdout) = check(&f.args("tls", "wss", &["--tenant", TENANT]));
    assert_eq!(code, Some(1), "{stdout}");
    let lines = finding_lines(&stdout);
    assert!(lines[0].starts_with("ERROR   key_mismatch: "), "{stdout}");
    assert!(lines[0].contains(&f.path("wss.pem")), "{stdout}");
    assert!(lines[0].contains(&format!("CN={TENANT} WSS")), "{stdout}");
    assert!(
        lines[0].contains("the WSS key was loaded in place of the TLS key"),
        "{stdout}"
    );
    assert!(lines[0].contains(" → "), "{stdout}");
    assert_eq!(
        stdout.lines().last(),
        Some("1 error, 0 warnings"),
        "{stdout}"
    );
}

#[test]
fn another_tenant_prints_the_expected_common_name() {
    let Some(f) = Fixture::new() else { return };
    f.tls_and_wss();
    let (code, stdout) = check(&f.args("tls", "tls", &["--tenant", "0000000000009999"]));
    assert_eq!(code, Some(1), "{stdout}");
    let line = finding_lines(&stdout)[0];
    assert!(line.starts_with("ERROR   other_tenant: "), "{stdout}");
    assert!(line.contains("CN=0000000000009999 TLS"), "{stdout}");
}

#[test]
fn the_wrong_kind_is_an_error() {
    let Some(f) = Fixture::new() else { return };
    f.tls_and_wss();
    let (code, stdout) = check(&f.args("wss", "wss", &["--kind", "tls"]));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("ERROR   wrong_kind: "), "{stdout}");
    assert!(stdout.contains(&format!("CN={TENANT} TLS")), "{stdout}");
}

#[test]
fn expiring_soon_is_a_warning_and_strict_makes_it_fail() {
    let Some(f) = Fixture::new() else { return };
    f.issue("tls", &format!("{TENANT} TLS"), TLS_EXT, 5, "ca");
    let args = f.args("tls", "tls", &["--tenant", TENANT, "--warn-days", "30"]);
    let stdout = run_ok(&strs(&args));
    let lines = finding_lines(&stdout);
    assert!(lines[0].starts_with("WARNING expiring_soon: "), "{stdout}");
    assert!(
        lines[0].contains("days)") || lines[0].contains("day)"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("OK with 1 warning"), "{stdout}");

    let mut strict = args.clone();
    strict.push("--strict".into());
    let (code, stdout) = check(&strict);
    assert_eq!(code, Some(1), "{stdout}");

    // Outside the warning window there is nothing to say.
    let quiet = f.args("tls", "tls", &["--warn-days", "2"]);
    assert_eq!(run_ok(&strs(&quiet)).lines().last(), Some("OK"));
}

#[test]
fn an_expired_certificate_says_since_when() {
    let Some(f) = Fixture::new() else { return };
    f.issue_dated("old", "20200101000000Z", "20210101000000Z");
    let (code, stdout) = check(&f.args("old", "old", &["--ca", &f.path("ca.pem")]));
    assert_eq!(code, Some(1), "{stdout}");
    let line = finding_lines(&stdout)[0];
    assert!(line.starts_with("ERROR   expired: "), "{stdout}");
    assert!(line.contains("2021-01-01"), "{stdout}");

    f.issue_dated("future", "20990101000000Z", "21000101000000Z");
    let (code, stdout) = check(&f.args("future", "future", &[]));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("ERROR   not_yet_valid: "), "{stdout}");
    assert!(stdout.contains("2099-01-01"), "{stdout}");
}

#[test]
fn a_certificate_from_another_ca_is_named() {
    let Some(f) = Fixture::new() else { return };
    f.make_ca("other", "Other CA");
    f.issue("tls", &format!("{TENANT} TLS"), TLS_EXT, 365, "other");
    let (code, stdout) = check(&f.args("tls", "tls", &["--ca", &f.path("ca.pem")]));
    assert_eq!(code, Some(1), "{stdout}");
    let line = finding_lines(&stdout)[0];
    assert!(line.starts_with("ERROR   not_issued_by_ca: "), "{stdout}");
    assert!(
        line.contains("CN=Other CA") && line.contains("CN=Tenant CA"),
        "{stdout}"
    );

    // Another CA with the very same name: only the signature can tell.
    f.make_ca("twin", "Tenant CA");
    f.issue("twin-tls", &format!("{TENANT} TLS"), TLS_EXT, 365, "twin");
    let (code, stdout) = check(&f.args("twin-tls", "twin-tls", &["--ca", &f.path("ca.pem")]));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("ERROR   not_issued_by_ca: "), "{stdout}");
    assert!(stdout.contains("signature"), "{stdout}");
}

#[test]
fn a_revoked_certificate_is_reported_from_an_openssl_crl() {
    let Some(f) = Fixture::new() else { return };
    f.issue_dated("good", "20240101000000Z", "20990101000000Z");
    f.issue_dated("bad", "20240101000000Z", "20990101000000Z");
    let config = f.ca_config();
    f.openssl(&[
        "ca",
        "-config",
        &config,
        "-revoke",
        &f.path("bad.pem"),
        "-crl_reason",
        "keyCompromise",
    ]);
    f.openssl(&[
        "ca",
        "-config",
        &config,
        "-gencrl",
        "-out",
        &f.path("ca.crl"),
    ]);
    let crl = f.path("ca.crl");
    let ca = f.path("ca.pem");

    let (code, stdout) = check(&f.args("bad", "bad", &["--ca", &ca, "--crl", &crl]));
    assert_eq!(code, Some(1), "{stdout}");
    let line = finding_lines(&stdout)[0];
    assert!(line.starts_with("ERROR   revoked: "), "{stdout}");
    assert!(line.contains("keyCompromise"), "{stdout}");

    let args = f.args("good", "good", &["--ca", &ca, "--crl", &crl]);
    assert_eq!(run_ok(&strs(&args)).lines().last(), Some("OK"));

    // The same CRL in DER works the same.
    f.openssl(&[
        "crl",
        "-in",
        &crl,
        "-outform",
        "DER",
        "-out",
        &f.path("ca.crl.der"),
    ]);
    let der = f.path("ca.crl.der");
    let (code, stdout) = check(&f.args("bad", "bad", &["--ca", &ca, "--crl", &der]));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("ERROR   revoked: "), "{stdout}");
}

#[test]
fn a_crl_of_another_ca_is_an_error_and_a_stale_one_a_warning() {
    let Some(f) = Fixture::new() else { return };
    f.issue("tls", &format!("{TENANT} TLS"), TLS_EXT, 365, "ca");
    let config = f.ca_config();
    f.openssl(&[
        "ca",
        "-config",
        &config,
        "-gencrl",
        "-crl_lastupdate",
        "20240101000000Z",
        "-crl_nextupdate",
        "20240201000000Z",
        "-out",
        &f.path("old.crl"),
    ]);
    let ca = f.path("ca.pem");
    let args = f.args("tls", "tls", &["--ca", &ca, "--crl", &f.path("old.crl")]);
    let stdout = run_ok(&strs(&args));
    assert!(stdout.contains("WARNING crl_stale: "), "{stdout}");
    assert!(stdout.contains("2024-02-01"), "{stdout}");

    // A CRL signed by another CA, checked against the tenant CA.
    f.make_ca("other", "Other CA");
    let other_config = f.ca_config().replace("ca.cnf", "other.cnf");
    let text = std::fs::read_to_string(&config)
        .expect("ca.cnf")
        .replace("/ca.pem", "/other.pem")
        .replace("/ca.key", "/other.key");
    std::fs::write(&other_config, text).expect("other.cnf");
    f.openssl(&[
        "ca",
        "-config",
        &other_config,
        "-gencrl",
        "-out",
        &f.path("other.crl"),
    ]);
    let args = f.args("tls", "tls", &["--ca", &ca, "--crl", &f.path("other.crl")]);
    let (code, stdout) = check(&args);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("ERROR   crl_not_from_ca: "), "{stdout}");
    assert!(stdout.contains("CN=Other CA"), "{stdout}");
}

#[test]
fn a_tls_certificate_without_client_auth_has_the_wrong_key_usage() {
    let Some(f) = Fixture::new() else { return };
    let server_ext = "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n";
    f.issue("tls", &format!("{TENANT} TLS"), server_ext, 365, "ca");
    let (code, stdout) = check(&f.args("tls", "tls", &["--kind", "tls"]));
    assert_eq!(code, Some(1), "{stdout}");
    let line = finding_lines(&stdout)[0];
    assert!(line.starts_with("ERROR   wrong_key_usage: "), "{stdout}");
    assert!(line.contains("clientAuth"), "{stdout}");

    // A WSS certificate without nonRepudiation.
    f.issue(
        "wss",
        &format!("{TENANT} WSS"),
        "keyUsage=digitalSignature\n",
        365,
        "ca",
    );
    let (code, stdout) = check(&f.args("wss", "wss", &[]));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("ERROR   wrong_key_usage: "), "{stdout}");
    assert!(stdout.contains("nonRepudiation"), "{stdout}");
}

#[test]
fn several_problems_are_all_reported_worst_first() {
    let Some(f) = Fixture::new() else { return };
    f.tls_and_wss();
    f.issue("soon", &format!("{TENANT} TLS"), TLS_EXT, 5, "ca");
    let (code, stdout) = check(&f.args(
        "soon",
        "wss",
        &["--tenant", "0000000000009999", "--ca", &f.path("ca.pem")],
    ));
    assert_eq!(code, Some(1), "{stdout}");
    let codes: Vec<&str> = finding_lines(&stdout)
        .iter()
        .filter_map(|line| line.split(':').next())
        .map(|head| head.split_whitespace().last().unwrap_or(""))
        .collect();
    assert_eq!(
        codes,
        [
            "key_mismatch",
            "other_tenant",
            "expiring_soon",
            "revocation_not_checked"
        ],
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().last(),
        Some("2 errors, 1 warning"),
        "{stdout}"
    );
}

#[test]
fn json_output_parses() {
    let Some(f) = Fixture::new() else { return };
    f.tls_and_wss();
    let (code, stdout) = check(&f.args("tls", "wss", &["--json", "--tenant", TENANT]));
    assert_eq!(code, Some(1), "{stdout}");
    let value: serde_json::Value = serde_json::from_str(&stdout).expect("JSON output");
    assert_eq!(value["verdict"], "error");
    assert_eq!(value["certificate"]["path"], f.path("tls.pem"));
    assert!(value["certificate"]["subject"]
        .as_str()
        .unwrap_or("")
        .contains(TENANT));
    let first = &value["findings"][0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["code"], "key_mismatch");
    assert!(first["message"].as_str().unwrap_or("").contains("wss.pem"));
    assert!(!first["action"].as_str().unwrap_or("").is_empty());

    let stdout = run_ok(&strs(&f.args(
        "wss",
        "wss",
        &["--json", "--ca", &f.path("ca.pem")],
    )));
    let value: serde_json::Value = serde_json::from_str(&stdout).expect("JSON output");
    assert_eq!(value["verdict"], "ok");
}

#[test]
fn an_encrypted_key_opens_with_its_password_and_a_wrong_one_is_a_command_error() {
    let Some(f) = Fixture::new() else { return };
    f.tls_and_wss();
    f.openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        &f.path("tls.key"),
        "-out",
        &f.path("tls-enc.key"),
        "-passout",
        "pass:correct horse",
    ]);
    let good = support::password_file(f.dir(), "good.pw", "correct horse");
    let bad = support::password_file(f.dir(), "bad.pw", "wrong");
    let args = f.args("tls", "tls-enc", &["--password-file", &good]);
    assert_eq!(run_ok(&strs(&args)).lines().last(), Some("OK"));

    let args = f.args("tls", "tls-enc", &["--password-file", &bad]);
    let stderr = run_fails(&strs(&args));
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains("wrong password") && stderr.contains("tls-enc.key"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    let stderr = run_fails(&strs(&f.args("tls", "tls-enc", &[])));
    assert!(stderr.contains("--password-file"), "{stderr}");
}

#[test]
fn unusable_inputs_are_one_line_errors() {
    let Some(f) = Fixture::new() else { return };
    f.tls_and_wss();
    let one_line = |stderr: &str| {
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    };

    // A missing file.
    let mut args = f.args("tls", "tls", &[]);
    args[3] = f.path("missing.pem");
    let stderr = run_fails(&strs(&args));
    one_line(&stderr);
    assert!(stderr.contains("missing.pem"), "{stderr}");

    // A CSR given as the certificate.
    let mut args = f.args("tls", "tls", &[]);
    args[3] = f.path("tls.csr");
    let stderr = run_fails(&strs(&args));
    one_line(&stderr);
    assert!(
        stderr.contains("tls.csr") && stderr.contains("CSR"),
        "{stderr}"
    );

    // A truncated PEM certificate.
    let text = std::fs::read_to_string(f.dir().join("tls.pem")).expect("tls.pem");
    let truncated = f.write("truncated.pem", &text[..text.len() / 2]);
    let mut args = f.args("tls", "tls", &[]);
    args[3] = truncated;
    let stderr = run_fails(&strs(&args));
    one_line(&stderr);
    assert!(stderr.contains("truncated.pem"), "{stderr}");

    // A certificate given as the key.
    let mut args = f.args("tls", "tls", &[]);
    args[5] = f.path("tls.pem");
    let stderr = run_fails(&strs(&args));
    one_line(&stderr);

    // A certificate given as the CRL, a bad tenant id, an unknown kind.
    let args = f.args("tls", "tls", &["--crl", &f.path("ca.pem")]);
    let stderr = run_fails(&strs(&args));
    one_line(&stderr);
    assert!(
        stderr.contains("ca.pem") && stderr.contains("CRL"),
        "{stderr}"
    );
    let stderr = run_fails(&strs(&f.args("tls", "tls", &["--tenant", "5010"])));
    one_line(&stderr);
    assert!(stderr.contains("16 digits"), "{stderr}");
    let stderr = run_fails(&strs(&f.args("tls", "tls", &["--kind", "smime"])));
    one_line(&stderr);
    assert!(stderr.contains("tls or wss"), "{stderr}");
}
