//! GOST R 34.10-2012 keys and signatures (the signatures Russian OMS funds require), through
//! the system's OpenSSL and its GOST engine (Debian: `libengine-gost-openssl`), reached **at
//! run time** as the `openssl` program — never linked, so building medgate needs no OpenSSL
//! and a machine without the engine runs everything else. No well-kept Rust crate signs or
//! verifies GOST R 34.10-2012; the engine is the reference implementation the Russian
//! registers' own software uses.
//!
//! What runs here: key generation (encrypted PKCS#8 PEM), CSRs, one signer's detached CMS
//! signature, and the check of one signer's signature and of a certificate's chain. The
//! SignedData itself (signers kept in signing order, co-signing, reports) is
//! [`crate::cms`]'s, for GOST signers as for the others. Passwords reach `openssl` on its
//! standard input, never on its command line; keys and certificates go through files in a
//! private temporary folder (owner-only) removed afterwards.
//!
//! `MEDGATE_OPENSSL` names another `openssl` program (for example one built with the engine
//! under `/opt`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cert::Certificate;
use crate::error::{PkiError, Result};
use crate::files::Password;

/// Public-key algorithm OIDs of GOST R 34.10-2012 (256 and 512 bit) and of the older
/// GOST R 34.10-2001.
const GOST_KEY_OIDS: [&str; 3] = ["1.2.643.7.1.1.1.1", "1.2.643.7.1.1.1.2", "1.2.643.2.2.19"];

/// The key sizes of GOST R 34.10-2012.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GostKeySize {
    /// 256-bit key, Streebog-256 digest (parameter set A by default).
    Bits256,
    /// 512-bit key, Streebog-512 digest.
    Bits512,
}

impl GostKeySize {
    /// Reads `256` or `512`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "256" | "gost2012-256" | "gost2012_256" => Ok(GostKeySize::Bits256),
            "512" | "gost2012-512" | "gost2012_512" => Ok(GostKeySize::Bits512),
            other => Err(PkiError::Invalid(format!(
                "GOST key size {other:?}: GOST R 34.10-2012 keys are 256 or 512 bits"
            ))),
        }
    }

    fn algorithm(self) -> &'static str {
        match self {
            GostKeySize::Bits256 => "gost2012_256",
            GostKeySize::Bits512 => "gost2012_512",
        }
    }

    /// The Streebog digest the engine pairs with this key size.
    fn digest(self) -> &'static str {
        match self {
            GostKeySize::Bits256 => "md_gost12_256",
            GostKeySize::Bits512 => "md_gost12_512",
        }
    }
}

/// True when the certificate's key is a GOST key (its signatures need [`SystemOpenssl`]).
pub fn is_gost_certificate(cert: &Certificate) -> bool {
    cert.parsed()
        .map(|parsed| {
            let oid = parsed.public_key().algorithm.algorithm.to_id_string();
            GOST_KEY_OIDS.contains(&oid.as_str())
        })
        .unwrap_or(false)
}

/// The key size of a GOST certificate.
pub fn key_size(cert: &Certificate) -> Option<GostKeySize> {
    let parsed = cert.parsed().ok()?;
    match parsed.public_key().algorithm.algorithm.to_id_string().as_str() {
        "1.2.643.7.1.1.1.1" => Some(GostKeySize::Bits256),
        "1.2.643.7.1.1.1.2" => Some(GostKeySize::Bits512),
        _ => None,
    }
}

/// The system's `openssl` with its GOST engine, found and checked.
#[derive(Clone, Debug)]
pub struct SystemOpenssl {
    program: PathBuf,
}

/// The sentence for a machine without the engine.
const INSTALL_HINT: &str =
    "install the system OpenSSL with its GOST engine (Debian/Ubuntu: apt-get install openssl libengine-gost-openssl)";

impl SystemOpenssl {
    /// Finds `openssl` (`MEDGATE_OPENSSL`, else on `PATH`) and checks that it loads the GOST
    /// engine; otherwise says what to install.
    pub fn locate() -> Result<Self> {
        let program = std::env::var_os("MEDGATE_OPENSSL")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("openssl"));
        let output = Command::new(&program)
            .args(["engine", "gost", "-t"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                PkiError::Invalid(format!(
                    "GOST R 34.10-2012 keys and signatures use the system OpenSSL at run time, and \
                     {} could not be run ({e}); {INSTALL_HINT}",
                    program.display()
                ))
            })?;
        let said = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() || !said.contains("[ available ]") {
            return Err(PkiError::Invalid(format!(
                "GOST R 34.10-2012 keys and signatures need the GOST engine of the system OpenSSL, \
                 and {} has none; {INSTALL_HINT}",
                program.display()
            )));
        }
        Ok(SystemOpenssl { program })
    }

    /// Runs `openssl` with the engine, `stdin` written to it (a password line, or nothing);
    /// its standard output, or its error in words.
    fn run(&self, what: &str, args: &[&std::ffi::OsStr], stdin: Option<&[u8]>) -> Result<Vec<u8>> {
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| PkiError::Crypto(format!("{what}: {} could not be run ({e})", self.program.display())))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A program that fails early closes its input; its own error says why.
            let _ = pipe.write_all(input);
        }
        let output = child
            .wait_with_output()
            .map_err(|e| PkiError::Crypto(format!("{what}: {e}")))?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(PkiError::Crypto(format!("{what}: {}", openssl_reason(&output.stderr))))
        }
    }

    /// A new GOST R 34.10-2012 key, as PKCS#8 PEM encrypted with `password` (AES-256-CBC).
    pub fn generate_key(&self, size: GostKeySize, password: &Password) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let mut args = engine_args("genpkey");
        args.extend(["-algorithm", size.algorithm(), "-pkeyopt", "paramset:A", "-aes-256-cbc", "-pass", "stdin"].map(os));
        let pem = self.run("generating a GOST key", &args, Some(&password_line(Some(password))))?;
        Ok(zeroize::Zeroizing::new(pem))
    }

    /// A CSR (PEM) for the key in `key` (PEM, encrypted with `password`) and `subject`, an
    /// OpenSSL subject such as `/CN=Иванов Иван/O=ГБУЗ …` (UTF-8).
    pub fn csr(&self, key: &Path, password: Option<&Password>, subject: &str) -> Result<Vec<u8>> {
        let mut args = engine_args("req");
        args.extend(["-new", "-utf8", "-subj", subject, "-passin", "stdin"].map(os));
        args.extend([os("-key"), key.as_os_str()]);
        self.run("making a GOST CSR", &args, Some(&password_line(password)))
            .map_err(|e| key_error(e, key, password))
    }

    /// A detached CMS SignedData (DER) by one signer over `content`: `cert` and its key
    /// (`key`, PEM, encrypted with `password` when given), Streebog digest of the key's size,
    /// signed attributes contentType, signingTime and messageDigest.
    pub fn sign_detached(
        &self,
        content: &[u8],
        cert: &Certificate,
        key: &Path,
        password: Option<&Password>,
    ) -> Result<Vec<u8>> {
        let size = key_size(cert).unwrap_or(GostKeySize::Bits256);
        let folder = private_folder()?;
        let content_file = write_file(folder.path(), "content", content)?;
        let cert_file = write_file(folder.path(), "signer.pem", cert.to_pem().as_bytes())?;
        let mut args = engine_args("cms");
        args.extend(["-sign", "-binary", "-nosmimecap", "-outform", "DER", "-md", size.digest()].map(os));
        args.extend([os("-in"), content_file.as_os_str(), os("-signer"), cert_file.as_os_str(), os("-inkey"), key.as_os_str()]);
        args.extend(["-passin", "stdin"].map(os));
        self.run("signing with the GOST key", &args, Some(&password_line(password)))
            .map_err(|e| key_error(e, key, password))
    }

    /// Checks the signature of the one signer of `single` (a detached SignedData, DER) over
    /// `content`; the certificate's chain is not looked at here ([`Self::verify_chain`]).
    pub fn verify_single_signer(&self, single: &[u8], content: &[u8]) -> std::result::Result<(), String> {
        let folder = private_folder().map_err(|e| e.to_string())?;
        let signature = write_file(folder.path(), "signature.der", single).map_err(|e| e.to_string())?;
        let content_file = write_file(folder.path(), "content", content).map_err(|e| e.to_string())?;
        let mut args = engine_args("cms");
        let out = folder.path().join("content.out");
        args.extend(["-verify", "-binary", "-noverify", "-inform", "DER"].map(os));
        args.extend([os("-out"), out.as_os_str()]);
        args.extend([os("-in"), signature.as_os_str(), os("-content"), content_file.as_os_str()]);
        self.run("verifying a GOST signature", &args, None)
            .map(|_| ())
            .map_err(|e| strip_what(&e.to_string()))
    }

    /// Checks that `cert` chains to one of `trust` (through `intermediates`), valid at `at`.
    pub fn verify_chain(
        &self,
        cert: &Certificate,
        intermediates: &[Certificate],
        trust: &[Certificate],
        at: time::OffsetDateTime,
    ) -> std::result::Result<(), String> {
        let folder = private_folder().map_err(|e| e.to_string())?;
        let pems = |certs: &[Certificate]| certs.iter().map(Certificate::to_pem).collect::<String>();
        let trust_file = write_file(folder.path(), "trust.pem", pems(trust).as_bytes()).map_err(|e| e.to_string())?;
        let cert_file = write_file(folder.path(), "cert.pem", cert.to_pem().as_bytes()).map_err(|e| e.to_string())?;
        let mut args = engine_args("verify");
        let at = at.unix_timestamp().to_string();
        args.extend(["-purpose", "any", "-attime", &at].map(os));
        args.extend([os("-CAfile"), trust_file.as_os_str()]);
        let untrusted;
        if !intermediates.is_empty() {
            untrusted = write_file(folder.path(), "untrusted.pem", pems(intermediates).as_bytes()).map_err(|e| e.to_string())?;
            args.extend([os("-untrusted"), untrusted.as_os_str()]);
        }
        args.push(cert_file.as_os_str());
        self.run("checking a GOST certificate's chain", &args, None)
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "its certificate does not chain to a trusted CA ({})",
                    strip_what(&e.to_string())
                )
            })
    }
}

impl SystemOpenssl {
    /// Whether the CRL (DER) is signed by the GOST CA `ca`: `openssl crl` checks it against
    /// the CA with the GOST engine, which it loads from a configuration of its own (`crl` has
    /// no `-engine`); it says `verify OK` only when the CA issued the CRL and its signature
    /// holds.
    pub fn crl_signed_by(&self, crl: &[u8], ca: &Certificate) -> Result<bool> {
        let folder = private_folder()?;
        let crl_file = write_file(folder.path(), "crl.der", crl)?;
        let ca_file = write_file(folder.path(), "ca.pem", ca.to_pem().as_bytes())?;
        let config = write_file(folder.path(), "gost.cnf", ENGINE_CONFIG.as_bytes())?;
        let output = Command::new(&self.program)
            .env("OPENSSL_CONF", &config)
            .args(["crl", "-inform", "DER", "-noout", "-in"].map(os))
            .arg(&crl_file)
            .arg("-CAfile")
            .arg(&ca_file)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| PkiError::Crypto(format!("checking a GOST CRL: {} could not be run ({e})", self.program.display())))?;
        let said = |bytes: &[u8]| String::from_utf8_lossy(bytes).lines().any(|line| line.trim() == "verify OK");
        Ok(output.status.success() && (said(&output.stderr) || said(&output.stdout)))
    }
}

/// An OpenSSL configuration that loads the GOST engine for every algorithm, for the commands
/// without `-engine`.
const ENGINE_CONFIG: &str = "openssl_conf = openssl_init\n\
    [openssl_init]\nengines = engine_section\n\
    [engine_section]\ngost = gost_section\n\
    [gost_section]\nengine_id = gost\ndefault_algorithms = ALL\n";

fn os(text: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(text)
}

fn engine_args(command: &str) -> Vec<&std::ffi::OsStr> {
    vec![os(command), os("-engine"), os("gost")]
}

/// The password line `openssl` reads on its standard input (`-passin stdin`): an empty one
/// when none was given, so that an encrypted key fails instead of asking at the terminal.
fn password_line(password: Option<&Password>) -> Vec<u8> {
    format!("{}\n", password.map(Password::expose).unwrap_or_default()).into_bytes()
}

/// A key OpenSSL could not decrypt, said as the toolkit says it for every key.
fn key_error(error: PkiError, key: &Path, password: Option<&Password>) -> PkiError {
    let text = error.to_string();
    if !text.contains("bad decrypt") && !text.contains("Could not read") {
        return error;
    }
    match password {
        Some(_) => PkiError::WrongPassword { path: key.to_path_buf() },
        None if text.contains("bad decrypt") => PkiError::PasswordRequired { path: key.to_path_buf() },
        None => error,
    }
}

/// `what: reason` → `reason`.
fn strip_what(text: &str) -> String {
    text.split_once(": ").map(|(_, reason)| reason.to_owned()).unwrap_or_else(|| text.to_owned())
}

/// OpenSSL's error output in a sentence: its readable lines (the engine's banner and the
/// library's error codes left out).
fn openssl_reason(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let mut reasons: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("Engine \"gost\" set") {
            continue;
        }
        // 40C7…:error:1E08010C:DECODER routines:…:unsupported:crypto/…:Global default library context
        let reason = match line.split(':').collect::<Vec<_>>() {
            parts if parts.len() >= 6 && parts[1] == "error" => parts[5].to_owned(),
            _ => line.to_owned(),
        };
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    if reasons.is_empty() {
        "OpenSSL failed without saying why".to_owned()
    } else {
        reasons.join("; ")
    }
}

fn private_folder() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("medgate-gost-")
        .tempdir()
        .map_err(|e| PkiError::Crypto(format!("making a private temporary folder: {e}")))
}

fn write_file(folder: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = folder.join(name);
    std::fs::write(&path, bytes).map_err(|source| PkiError::io(&path, "writing", source))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sizes_are_read_or_refused_in_words() {
        assert_eq!(GostKeySize::parse("256").ok(), Some(GostKeySize::Bits256));
        assert_eq!(GostKeySize::parse("gost2012-512").ok(), Some(GostKeySize::Bits512));
        let error = GostKeySize::parse("1024").err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(error, "GOST key size \"1024\": GOST R 34.10-2012 keys are 256 or 512 bits");
    }

    #[test]
    fn openssl_errors_become_one_sentence_without_codes() {
        let stderr = b"Engine \"gost\" set.\n\
            Could not read signing key from k.pem\n\
            40C7B1D1E07F0000:error:1C800064:Provider routines:ossl_cipher_unpadblock:bad decrypt:../providers/implementations/ciphers/ciphercommon_block.c:124:\n\
            40C7B1D1E07F0000:error:1C800064:Provider routines:ossl_cipher_unpadblock:bad decrypt:../providers/implementations/ciphers/ciphercommon_block.c:124:\n";
        assert_eq!(openssl_reason(stderr), "Could not read signing key from k.pem; bad decrypt");
        assert_eq!(openssl_reason(b""), "OpenSSL failed without saying why");
        let wrong = key_error(
            PkiError::Crypto(format!("signing: {}", openssl_reason(stderr))),
            Path::new("k.pem"),
            Some(&Password::new("x")),
        );
        assert_eq!(wrong.to_string(), "k.pem: wrong password (or the file is damaged)");
        let missing = key_error(PkiError::Crypto("signing: bad decrypt".into()), Path::new("k.pem"), None);
        assert!(missing.to_string().contains("give its password with --password-file"), "{missing}");
    }

    #[test]
    fn only_gost_signature_oids_are_gost() {
        assert!(crate::cms::is_gost_signature("1.2.643.7.1.1.1.1"));
        assert!(crate::cms::is_gost_signature("1.2.643.7.1.1.3.3"));
        assert!(!crate::cms::is_gost_signature("1.2.840.10045.4.3.2"));
    }
}
