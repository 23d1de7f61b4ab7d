//! A small CA run by `openssl ca` for the tests of signers' certificates: certificates issued
//! by an independent peer (RSA or ECDSA keys, `.cer` in DER), one valid in the past only, one
//! revoked and listed on the CA's CRL.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA in its own folder (`ca.key`, `ca.pem`, the `openssl ca` database).
pub struct OpensslCa {
    openssl: PathBuf,
    dir: PathBuf,
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
    /// A self-signed RSA CA named `subject` (e.g. `/CN=УЦ 1/C=RU`) in `dir` (created).
    pub fn new(openssl: &Path, dir: &Path, subject: &str) -> OpensslCa {
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
                         private_key = {dir}/ca.key\ndefault_md = sha256\ndefault_days = 30\n\
                         default_crl_days = 30\npolicy = any\nunique_subject = no\n\
                         copy_extensions = none\nutf8 = yes\nstring_mask = utf8only\n\
                         [any]\ncommonName = supplied\ncountryName = optional\n\
                         [signer]\nbasicConstraints = CA:FALSE\n\
                         keyUsage = critical,digitalSignature,nonRepudiation\n",
                        dir = dir.display()
                    ),
                )
            });
        if let Err(error) = made {
            panic!("the CA's folder {}: {error}", dir.display());
        }
        let key = text(&dir.join("ca.key"));
        openssl_ok(
            openssl,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &key,
            ],
        );
        openssl_ok(
            openssl,
            &[
                "req",
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
        );
        OpensslCa {
            openssl: openssl.to_owned(),
            dir: dir.to_owned(),
        }
    }

    /// The CA's certificate (PEM).
    pub fn certificate(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Issues `stem`'s certificate (an ECDSA P-256 key `stem.key`, `stem.pem` and `stem.cer`
    /// in DER) to `/CN=<common_name>`; `expired`: valid in January 2020 only. Answers the
    /// `.cer`.
    pub fn issue(&self, stem: &str, common_name: &str, expired: bool) -> PathBuf {
        let file = |ext: &str| text(&self.dir.join(format!("{stem}.{ext}")));
        openssl_ok(
            &self.openssl,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &file("key"),
            ],
        );
        openssl_ok(
            &self.openssl,
            &[
                "req",
                "-new",
                "-utf8",
                "-key",
                &file("key"),
                "-subj",
                &format!("/CN={common_name}"),
                "-out",
                &file("csr"),
            ],
        );
        let config = text(&self.dir.join("ca.cnf"));
        let (csr, pem) = (file("csr"), file("pem"));
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            &config,
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
        openssl_ok(&self.openssl, &args);
        openssl_ok(
            &self.openssl,
            &["x509", "-in", &pem, "-outform", "DER", "-out", &file("cer")],
        );
        self.dir.join(format!("{stem}.cer"))
    }

    /// Revokes `stem`'s certificate in the CA's database.
    pub fn revoke(&self, stem: &str) {
        openssl_ok(
            &self.openssl,
            &[
                "ca",
                "-config",
                &text(&self.dir.join("ca.cnf")),
                "-revoke",
                &text(&self.dir.join(format!("{stem}.pem"))),
            ],
        );
    }

    /// The CA's CRL (PEM) listing what it revoked so far.
    pub fn crl(&self) -> PathBuf {
        let out = self.dir.join("ca.crl");
        openssl_ok(
            &self.openssl,
            &[
                "ca",
                "-config",
                &text(&self.dir.join("ca.cnf")),
                "-gencrl",
                "-out",
                &text(&out),
            ],
        );
        out
    }
}
