//! A small CA run by `openssl ca` for the tests of signers' certificates: certificates issued
//! by an independent peer (RSA or ECDSA keys, `.cer` in DER), one valid in the past only, one
//! revoked and listed on the CA's CRL.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA in its own folder (`ca.key`, `ca.pem`, the `openssl ca` database).
pub struct OpensslCa {
    openssl: PathBuf,
    dir: PathBuf,
    /// GOST R 34.10-2012 256-bit keys through OpenSSL's GOST engine, for the CA and what it
    /// issues; RSA for the CA and ECDSA P-256 for the leaves otherwise.
    gost: bool,
}

/// `openssl` with a working GOST engine, under [`crate::require`]'s rule.
#[track_caller]
pub fn require_gost_openssl() -> Option<PathBuf> {
    let probe = Command::new("openssl")
        .args(["engine", "gost", "-t"])
        .output()
        .map_err(|e| format!("openssl: {e}"))
        .and_then(|out| {
            if String::from_utf8_lossy(&out.stdout).contains("[ available ]") {
                Ok(PathBuf::from("openssl"))
            } else {
                Err("openssl has no GOST engine".to_owned())
            }
        });
    crate::require(
        "OpenSSL's GOST engine",
        "apt-get install openssl libengine-gost-openssl",
        probe,
    )
}

/// `openssl` with `args`, after the GOST engine's arguments when `gost`.
fn engine<'a>(gost: bool, command: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![command];
    if gost {
        all.extend(["-engine", "gost"]);
    }
    all.extend(args);
    all
}

/// The `genpkey` arguments of a new key: GOST 2012 256-bit, or `other`.
fn key_algorithm(gost: bool, other: [&str; 4]) -> [&str; 4] {
    if gost {
        ["-algorithm", "gost2012_256", "-pkeyopt", "paramset:A"]
    } else {
        other
    }
}

/// Runs `openssl` with `args`; panics with its error output when it fails.
pub fn openssl_ok(openssl: &Path, args: &[&str]) {
    let out = Command::new(openssl)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("openssl {args:?} could not run: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn text(path: &Path) -> String {
    path.to_str().unwrap_or_default().to_owned()
}

impl OpensslCa {
    /// `openssl ca` with the CA's configuration (and the GOST engine for a GOST CA).
    fn ca(&self, args: &[&str]) {
        let config = text(&self.dir.join("ca.cnf"));
        let all = [&["-config", config.as_str()][..], args].concat();
        openssl_ok(&self.openssl, &engine(self.gost, "ca", &all));
    }

    /// A self-signed RSA CA named `subject` (e.g. `/CN=УЦ 1/C=RU`) in `dir` (created).
    pub fn new(openssl: &Path, dir: &Path, subject: &str) -> OpensslCa {
        OpensslCa::made(openssl, dir, subject, false)
    }

    /// A self-signed GOST R 34.10-2012 CA issuing GOST certificates, through the engine
    /// ([`require_gost_openssl`] finds an `openssl` that has it).
    pub fn new_gost(openssl: &Path, dir: &Path, subject: &str) -> OpensslCa {
        OpensslCa::made(openssl, dir, subject, true)
    }

    fn made(openssl: &Path, dir: &Path, subject: &str, gost: bool) -> OpensslCa {
        let made = std::fs::create_dir_all(dir.join("newcerts"))
            .and_then(|()| std::fs::write(dir.join("index.txt"), ""))
            .and_then(|()| std::fs::write(dir.join("serial"), "1000\n"))
            .and_then(|()| std::fs::write(dir.join("crlnumber"), "01\n"))
            .and_then(|()| {
                std::fs::write(
                    dir.join("ca.cnf"),
                    format!(
                        "[ca]\ndefault_ca = ca_default\n\
                         [ca_default]\ndir = {dir}\ndatabase = {dir}/index.txt\n\
                         new_certs_dir = {dir}/newcerts\nserial = {dir}/serial\n\
                         crlnumber = {dir}/crlnumber\ncertificate = {dir}/ca.pem\n\
                         private_key = {dir}/ca.key\ndefault_md = {md}\ndefault_days = 30\n\
                         default_crl_days = 30\npolicy = any\nunique_subject = no\n\
                         copy_extensions = none\nutf8 = yes\nstring_mask = utf8only\n\
                         [any]\ncommonName = supplied\ncountryName = optional\n\
                         [signer]\nbasicConstraints = CA:FALSE\n\
                         keyUsage = critical,digitalSignature,nonRepudiation\n",
                        dir = dir.display(),
                        md = if gost { "md_gost12_256" } else { "sha256" }
                    ),
                )
            });
        if let Err(error) = made {
            panic!("the CA's folder {}: {error}", dir.display());
        }
        let key = text(&dir.join("ca.key"));
        let algorithm = key_algorithm(
            gost,
            ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        );
        openssl_ok(
            openssl,
            &engine(gost, "genpkey", &[&algorithm[..], &["-out", &key]].concat()),
        );
        openssl_ok(
            openssl,
            &engine(
                gost,
                "req",
                &[
                    "-x509",
                    "-new",
                    "-utf8",
                    "-key",
                    &key,
                    "-days",
                    "365",
                    "-subj",
                    subject,
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                    "-out",
                    &text(&dir.join("ca.pem")),
                ],
            ),
        );
        OpensslCa {
            openssl: openssl.to_owned(),
            dir: dir.to_owned(),
            gost,
        }
    }

    /// The CA's certificate (PEM).
    pub fn certificate(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Issues `stem`'s certificate (an ECDSA P-256 key, or GOST for a GOST CA: `stem.key`,
    /// `stem.pem` and `stem.cer` in DER) to `/CN=<common_name>`; `expired`: valid in January
    /// 2020 only. Answers the `.cer`.
    pub fn issue(&self, stem: &str, common_name: &str, expired: bool) -> PathBuf {
        let file = |ext: &str| text(&self.dir.join(format!("{stem}.{ext}")));
        let gost = self.gost;
        let algorithm = key_algorithm(
            gost,
            ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        );
        openssl_ok(
            &self.openssl,
            &engine(
                gost,
                "genpkey",
                &[&algorithm[..], &["-out", &file("key")]].concat(),
            ),
        );
        openssl_ok(
            &self.openssl,
            &engine(
                gost,
                "req",
                &[
                    "-new",
                    "-utf8",
                    "-key",
                    &file("key"),
                    "-subj",
                    &format!("/CN={common_name}"),
                    "-out",
                    &file("csr"),
                ],
            ),
        );
        let (csr, pem) = (file("csr"), file("pem"));
        let mut args = vec![
            "-batch",
            "-notext",
            "-extensions",
            "signer",
            "-in",
            &csr,
            "-out",
            &pem,
        ];
        if expired {
            args.extend([
                "-startdate",
                "20200101000000Z",
                "-enddate",
                "20200201000000Z",
            ]);
        }
        self.ca(&args);
        openssl_ok(
            &self.openssl,
            &engine(
                gost,
                "x509",
                &["-in", &pem, "-outform", "DER", "-out", &file("cer")],
            ),
        );
        self.dir.join(format!("{stem}.cer"))
    }

    /// Revokes `stem`'s certificate in the CA's database.
    pub fn revoke(&self, stem: &str) {
        self.ca(&["-revoke", &text(&self.dir.join(format!("{stem}.pem")))]);
    }

    /// The CA's CRL (PEM) listing what it revoked so far.
    pub fn crl(&self) -> PathBuf {
        let out = self.dir.join("ca.crl");
        self.ca(&["-gencrl", "-out", &text(&out)]);
        out
    }
}
