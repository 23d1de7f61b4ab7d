//! Inspection: what a certificate (or chain), CSR, private key, PKCS#12 or JKS file holds,
//! recognised by content rather than by file name. Private key material never leaves this
//! module: a key is described by algorithm, size, protection and the SHA-256 of its public
//! key (which matches the same value shown for a certificate or CSR).

use std::path::Path;

use pkcs8::der::Decode;
use pkcs8::pkcs5::{pbes1, pbes2, EncryptionScheme};
use pkcs8::EncryptedPrivateKeyInfo;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;
use zeroize::Zeroizing;

use crate::cert::{Certificate, CertificateSummary};
use crate::csr;
use crate::error::{PkiError, Result};
use crate::files::{self, Password};
use crate::jks::{self, JksEntryKind};
use crate::key::PrivateKey;
use crate::keystore::{self, key_belongs_to};
use crate::kind::TenantCommonName;

/// What a file turned out to be, with what it holds.
#[derive(Debug)]
pub enum Inspection {
    /// One certificate or a chain (PEM or DER); a PEM bundle may also carry a key.
    Certificates {
        certificates: Vec<CertificateReport>,
        /// A private key found in the same PEM file, if any.
        key: Option<KeyReport>,
        /// Whether that key belongs to the first certificate (`None` without a usable key).
        key_matches: Option<bool>,
    },
    /// A certificate signing request.
    Csr(CsrReport),
    /// A private key on its own.
    Key(KeyReport),
    /// A PKCS#12 or JKS keystore.
    Keystore(KeystoreReport),
}

/// A certificate's facts plus the hash used to match it with a key.
#[derive(Clone, Debug)]
pub struct CertificateReport {
    pub summary: CertificateSummary,
    /// SHA-256 of the SubjectPublicKeyInfo (DER), lower-case hex: the value
    /// `openssl pkey -pubout -outform DER | sha256sum` gives for the matching key.
    pub public_key_sha256: String,
    /// E.g. `sha256WithRSAEncryption` (or the OID when unknown).
    pub signature_algorithm: String,
}

impl CertificateReport {
    /// Builds the report for one certificate.
    pub fn of(certificate: &Certificate) -> Result<Self> {
        let parsed = certificate.parsed()?;
        Ok(CertificateReport {
            summary: certificate.summary()?,
            public_key_sha256: sha256_hex(parsed.public_key().raw),
            signature_algorithm: algorithm_name(
                &parsed.signature_algorithm.algorithm.to_id_string(),
            ),
        })
    }
}

/// A CSR's facts: what [`crate::csr::parse_csr`] reads, plus the public key hash that
/// matches the key and the certificate issued from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrReport {
    pub subject: String,
    pub common_name: Option<String>,
    /// TLS / WSS when the CN has the tenant form.
    pub tenant_name: Option<TenantCommonName>,
    /// E.g. `RSA 2048`, `ECDSA P-256`.
    pub key_description: String,
    /// SHA-256 of the SubjectPublicKeyInfo, lower-case hex.
    pub public_key_sha256: String,
    pub signature_algorithm: String,
    /// Whether the CSR's self-signature verifies with its own key.
    pub signature_valid: bool,
    /// Why it does not verify, when it does not.
    pub signature_problem: Option<String>,
    /// Requested extensions, described (`keyUsage: digitalSignature`, ...).
    pub requested_extensions: Vec<String>,
}

/// What is known about a private key without showing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyReport {
    /// `PKCS#8`, `encrypted PKCS#8`, `PKCS#1 RSA (traditional OpenSSL format)`, ...
    pub format: String,
    pub encrypted: bool,
    /// How it is encrypted, e.g. `PBES2: PBKDF2-HMAC-SHA256 (100000 iterations), AES-256-CBC`.
    pub encryption: Option<String>,
    /// Algorithm and public key hash; `None` when the key is encrypted and no password was
    /// given.
    pub details: Option<KeyDetails>,
}

/// The public facts of a key that could be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDetails {
    /// E.g. `RSA 2048`, `ECDSA P-256`.
    pub description: String,
    /// SHA-256 of the SubjectPublicKeyInfo, lower-case hex (same as for its certificate).
    pub public_key_sha256: String,
}

impl KeyDetails {
    /// Describes an opened key.
    pub fn of(key: &PrivateKey) -> Result<Self> {
        Ok(KeyDetails {
            description: key.describe(),
            public_key_sha256: sha256_hex(&key.public_key_info_der()?),
        })
    }
}

/// A keystore's entries.
#[derive(Clone, Debug)]
pub struct KeystoreReport {
    /// `PKCS#12` or `JKS`.
    pub format: &'static str,
    pub entries: Vec<KeystoreEntryReport>,
}

/// One keystore entry: a key with its chain, or a lone (trusted) certificate.
#[derive(Clone, Debug)]
pub struct KeystoreEntryReport {
    /// Friendly name (PKCS#12) or alias (JKS).
    pub alias: Option<String>,
    /// The key's public facts, when the entry has a key.
    pub key: Option<KeyDetails>,
    /// Whether the key belongs to the first certificate.
    pub key_matches: Option<bool>,
    /// Leaf first, then the chain.
    pub certificates: Vec<CertificateReport>,
}

/// Reads and inspects a file. `password` opens encrypted keys and keystores.
pub fn inspect_file(path: &Path, password: Option<&Password>) -> Result<Inspection> {
    let bytes = Zeroizing::new(files::read(path)?);
    inspect_bytes(&bytes, path, password)
}

/// Inspects bytes read from `path` (used only to name it in errors).
pub fn inspect_bytes(bytes: &[u8], path: &Path, password: Option<&Password>) -> Result<Inspection> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PkiError::bad_file(path, "is empty"));
    }
    if files::looks_like_pem(bytes) {
        return inspect_pem(bytes, path, password);
    }
    if let Ok((_, _)) = x509_parser::certificate::X509Certificate::from_der(bytes) {
        let certificate = Certificate::from_der(bytes.to_vec(), path)?;
        return Ok(Inspection::Certificates {
            certificates: vec![CertificateReport::of(&certificate)?],
            key: None,
            key_matches: None,
        });
    }
    if X509CertificationRequest::from_der(bytes).is_ok() {
        return Ok(Inspection::Csr(inspect_csr(bytes, path)?));
    }
    if keystore::looks_like_pkcs12(bytes) {
        return inspect_pkcs12(bytes, path, password).map(Inspection::Keystore);
    }
    if jks::looks_like_jks(bytes) {
        return inspect_jks(bytes, path, password).map(Inspection::Keystore);
    }
    if let Ok(encrypted) = EncryptedPrivateKeyInfo::from_der(bytes) {
        let encryption = describe_encryption(&encrypted.encryption_algorithm);
        return inspect_key(
            bytes,
            path,
            password,
            "encrypted PKCS#8 (DER)",
            Some(encryption),
        )
        .map(Inspection::Key);
    }
    if pkcs8::PrivateKeyInfo::from_der(bytes).is_ok() {
        return inspect_key(bytes, path, password, "PKCS#8 (DER)", None).map(Inspection::Key);
    }
    if aws_lc_rs::signature::RsaKeyPair::from_der(bytes).is_ok() {
        return inspect_key(bytes, path, password, "PKCS#1 RSA (DER)", None).map(Inspection::Key);
    }
    Err(PkiError::bad_file(
        path,
        "is not a certificate, CSR, private key or keystore (neither PEM nor a known DER structure)",
    ))
}

fn inspect_pem(bytes: &[u8], path: &Path, password: Option<&Password>) -> Result<Inspection> {
    let blocks = files::pem_blocks(path, bytes)?;
    let is_certificate = |tag: &str| {
        matches!(
            tag,
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE"
        )
    };
    let certificates: Vec<CertificateReport> = blocks
        .iter()
        .filter(|block| is_certificate(block.tag()))
        .map(|block| {
            CertificateReport::of(&Certificate::from_der(block.contents().to_vec(), path)?)
        })
        .collect::<Result<_>>()?;
    let key_block = blocks
        .iter()
        .find(|block| block.tag().ends_with("PRIVATE KEY"));
    let key = match key_block {
        Some(block) => Some(inspect_pem_key(block, bytes, path, password)?),
        None => None,
    };
    if !certificates.is_empty() {
        let key_matches = match (&key, certificates.first()) {
            (
                Some(KeyReport {
                    details: Some(details),
                    ..
                }),
                Some(first),
            ) => Some(details.public_key_sha256 == first.public_key_sha256),
            _ => None,
        };
        return Ok(Inspection::Certificates {
            certificates,
            key,
            key_matches,
        });
    }
    if let Some(key) = key {
        return Ok(Inspection::Key(key));
    }
    if let Some(block) = blocks
        .iter()
        .find(|block| block.tag().contains("CERTIFICATE REQUEST"))
    {
        return Ok(Inspection::Csr(inspect_csr(block.contents(), path)?));
    }
    let tags: Vec<&str> = blocks.iter().map(|block| block.tag()).collect();
    let problem = if tags.iter().any(|tag| tag.contains("CRL")) {
        "is a certificate revocation list (CRL); medgate inspects certificates, CSRs, keys and keystores".to_owned()
    } else if tags.is_empty() {
        "holds no complete PEM block (truncated?)".to_owned()
    } else {
        format!(
            "holds {} blocks; medgate inspects certificates, CSRs, private keys and keystores",
            tags.join(", ")
        )
    };
    Err(PkiError::bad_file(path, problem))
}

fn inspect_pem_key(
    block: &pem::Pem,
    bytes: &[u8],
    path: &Path,
    password: Option<&Password>,
) -> Result<KeyReport> {
    match block.tag() {
        "ENCRYPTED PRIVATE KEY" => {
            let encryption = match EncryptedPrivateKeyInfo::from_der(block.contents()) {
                Ok(encrypted) => describe_encryption(&encrypted.encryption_algorithm),
                Err(_) => "unknown scheme".to_owned(),
            };
            inspect_key(bytes, path, password, "encrypted PKCS#8", Some(encryption))
        }
        "RSA PRIVATE KEY" | "EC PRIVATE KEY" if block.headers().get("Proc-Type").is_some() => {
            // Old OpenSSL "traditional" encryption: recognised, not decrypted (key.rs refuses
            // it with the conversion command), so only the format is reported.
            let cipher = block
                .headers()
                .get("DEK-Info")
                .and_then(|info| info.split(',').next())
                .unwrap_or("unknown cipher");
            Ok(KeyReport {
                format: format!(
                    "{} (legacy OpenSSL encryption)",
                    pem_key_format(block.tag())
                ),
                encrypted: true,
                encryption: Some(format!(
                    "{cipher} with MD5 key derivation (weak; convert with `openssl pkcs8 -topk8`)"
                )),
                details: None,
            })
        }
        tag => inspect_key(bytes, path, password, pem_key_format(tag), None),
    }
}

fn pem_key_format(tag: &str) -> &'static str {
    match tag {
        "PRIVATE KEY" => "PKCS#8",
        // Not the PEM tag itself: output that never contains "PRIVATE KEY" is easy to
        // check for leaks.
        "RSA PRIVATE KEY" => "PKCS#1 RSA (traditional OpenSSL format)",
        "EC PRIVATE KEY" => "SEC1 EC (traditional OpenSSL format)",
        _ => "unknown",
    }
}

/// Opens the key when possible (unencrypted, or with the password) to describe it.
fn inspect_key(
    bytes: &[u8],
    path: &Path,
    password: Option<&Password>,
    format: &str,
    encryption: Option<String>,
) -> Result<KeyReport> {
    let encrypted = encryption.is_some();
    let details = if encrypted && password.is_none() {
        None
    } else {
        Some(KeyDetails::of(&PrivateKey::from_bytes(
            path, bytes, password,
        )?)?)
    };
    Ok(KeyReport {
        format: format.to_owned(),
        encrypted,
        encryption,
        details,
    })
}

/// Describes how a PKCS#8 key is encrypted.
fn describe_encryption(scheme: &EncryptionScheme<'_>) -> String {
    match scheme {
        EncryptionScheme::Pbes2(parameters) => {
            let kdf = match &parameters.kdf {
                pbes2::Kdf::Pbkdf2(pbkdf2) => {
                    let prf = match pbkdf2.prf {
                        pbes2::Pbkdf2Prf::HmacWithSha1 => "SHA1",
                        pbes2::Pbkdf2Prf::HmacWithSha224 => "SHA224",
                        pbes2::Pbkdf2Prf::HmacWithSha256 => "SHA256",
                        pbes2::Pbkdf2Prf::HmacWithSha384 => "SHA384",
                        pbes2::Pbkdf2Prf::HmacWithSha512 => "SHA512",
                        _ => "?",
                    };
                    format!("PBKDF2-HMAC-{prf} ({} iterations)", pbkdf2.iteration_count)
                }
                pbes2::Kdf::Scrypt(_) => "scrypt".to_owned(),
                _ => "unknown KDF".to_owned(),
            };
            let cipher = match parameters.encryption.oid().to_string().as_str() {
                "2.16.840.1.101.3.4.1.2" => "AES-128-CBC".to_owned(),
                "2.16.840.1.101.3.4.1.22" => "AES-192-CBC".to_owned(),
                "2.16.840.1.101.3.4.1.42" => "AES-256-CBC".to_owned(),
                other => other.to_owned(),
            };
            format!("PBES2: {kdf}, {cipher}")
        }
        EncryptionScheme::Pbes1(algorithm) => {
            let name = match algorithm.encryption {
                pbes1::EncryptionScheme::PbeWithMd2AndDesCbc => "MD2 + DES",
                pbes1::EncryptionScheme::PbeWithMd2AndRc2Cbc => "MD2 + RC2",
                pbes1::EncryptionScheme::PbeWithMd5AndDesCbc => "MD5 + DES",
                pbes1::EncryptionScheme::PbeWithMd5AndRc2Cbc => "MD5 + RC2",
                pbes1::EncryptionScheme::PbeWithSha1AndDesCbc => "SHA-1 + DES",
                pbes1::EncryptionScheme::PbeWithSha1AndRc2Cbc => "SHA-1 + RC2",
            };
            format!("PBES1 (legacy): {name}")
        }
        _ => "unknown scheme".to_owned(),
    }
}

fn inspect_csr(der: &[u8], path: &Path) -> Result<CsrReport> {
    let info = csr::parse_csr(der, path)?;
    Ok(CsrReport {
        public_key_sha256: sha256_hex(&info.public_key_info_der),
        subject: info.subject,
        common_name: info.common_name,
        tenant_name: info.tenant_name,
        key_description: info.key_description,
        signature_algorithm: info.signature_algorithm,
        signature_valid: info.signature_valid,
        signature_problem: info.signature_problem,
        requested_extensions: info.requested_extensions,
    })
}

fn require_password<'a>(path: &Path, password: Option<&'a Password>) -> Result<&'a Password> {
    password.ok_or_else(|| PkiError::PasswordRequired {
        path: path.to_path_buf(),
    })
}

fn inspect_pkcs12(
    bytes: &[u8],
    path: &Path,
    password: Option<&Password>,
) -> Result<KeystoreReport> {
    let contents = keystore::read_pkcs12(bytes, path, require_password(path, password)?)?;
    let mut certificates = Vec::new();
    for certificate in contents.certificate.iter().chain(&contents.chain) {
        certificates.push(CertificateReport::of(certificate)?);
    }
    let key = contents.key.as_ref().map(KeyDetails::of).transpose()?;
    let mut entries = vec![KeystoreEntryReport {
        alias: contents.alias.clone(),
        key,
        key_matches: contents.key_matches(),
        certificates,
    }];
    if contents.extra_keys > 0 {
        entries.push(KeystoreEntryReport {
            alias: Some(format!(
                "({} further key(s) not shown)",
                contents.extra_keys
            )),
            key: None,
            key_matches: None,
            certificates: Vec::new(),
        });
    }
    Ok(KeystoreReport {
        format: "PKCS#12",
        entries,
    })
}

fn inspect_jks(bytes: &[u8], path: &Path, password: Option<&Password>) -> Result<KeystoreReport> {
    let mut entries = Vec::new();
    for entry in jks::read_jks(bytes, path, require_password(path, password)?)? {
        let report = match &entry.kind {
            JksEntryKind::PrivateKey { key, chain } => KeystoreEntryReport {
                alias: Some(entry.alias.clone()),
                key: Some(KeyDetails::of(key)?),
                key_matches: chain
                    .first()
                    .map(|leaf| key_belongs_to(key, leaf))
                    .transpose()?,
                certificates: chain
                    .iter()
                    .map(CertificateReport::of)
                    .collect::<Result<_>>()?,
            },
            JksEntryKind::TrustedCertificate(certificate) => KeystoreEntryReport {
                alias: Some(entry.alias.clone()),
                key: None,
                key_matches: None,
                certificates: vec![CertificateReport::of(certificate)?],
            },
        };
        entries.push(report);
    }
    Ok(KeystoreReport {
        format: "JKS",
        entries,
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}

/// Names the signature algorithms seen in practice; other OIDs are shown as such.
fn algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.2.643.7.1.1.3.2" => "GOST R 34.10-2012 (256) with GOST R 34.11-2012",
        "1.2.643.7.1.1.3.3" => "GOST R 34.10-2012 (512) with GOST R 34.11-2012",
        other => return other.to_owned(),
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyAlgorithm;
    use crate::keystore::testing::{leaf_for_days, test_ca};
    use crate::keystore::{write_pkcs12, Pkcs12Options};

    #[test]
    fn a_key_is_described_and_matched_without_showing_it() -> Result<()> {
        let ca = test_ca("Test CA")?;
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let cert = leaf_for_days(&ca, &key, "0000000000005010 WSS", 30)?;
        let password = Password::new("pw");
        let pem = key.to_pem(Some(&password))?;
        let path = Path::new("wss.key");

        let Inspection::Key(locked) = inspect_bytes(pem.as_bytes(), path, None)? else {
            return Err(PkiError::Invalid("expected a key".into()));
        };
        assert!(locked.encrypted && locked.details.is_none());
        assert_eq!(
            locked.encryption.as_deref(),
            Some("PBES2: PBKDF2-HMAC-SHA256 (100000 iterations), AES-256-CBC")
        );

        let Inspection::Key(opened) = inspect_bytes(pem.as_bytes(), path, Some(&password))? else {
            return Err(PkiError::Invalid("expected a key".into()));
        };
        let details = opened
            .details
            .ok_or_else(|| PkiError::Invalid("no details".into()))?;
        assert_eq!(details.description, "ECDSA P-256");
        let Inspection::Certificates { certificates, .. } =
            inspect_bytes(cert.to_pem().as_bytes(), Path::new("wss.crt"), None)?
        else {
            return Err(PkiError::Invalid("expected a certificate".into()));
        };
        assert_eq!(details.public_key_sha256, certificates[0].public_key_sha256);
        assert_eq!(
            certificates[0].summary.kind(),
            Some(crate::kind::CertKind::Wss)
        );

        let wrong = inspect_bytes(pem.as_bytes(), path, Some(&Password::new("nope")));
        let message = wrong.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(message, "wss.key: wrong password (or the file is damaged)");
        Ok(())
    }

    #[test]
    fn keystores_and_csrs_are_recognised_by_content() -> Result<()> {
        let ca = test_ca("Test CA")?;
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let cert = leaf_for_days(&ca, &key, "clinic", 30)?;
        let password = Password::new("pw");
        let p12 = write_pkcs12(
            &cert,
            std::slice::from_ref(&ca.cert),
            &key,
            &password,
            &Pkcs12Options::default(),
        )?;
        let Inspection::Keystore(report) =
            inspect_bytes(&p12, Path::new("a.crt"), Some(&password))?
        else {
            return Err(PkiError::Invalid("expected a keystore".into()));
        };
        assert_eq!(report.format, "PKCS#12");
        assert_eq!(report.entries[0].key_matches, Some(true));
        assert_eq!(report.entries[0].certificates.len(), 2);
        let locked = inspect_bytes(&p12, Path::new("a.p12"), None);
        assert!(matches!(locked, Err(PkiError::PasswordRequired { .. })));

        let pair = key.rcgen_key_pair()?;
        let mut params = rcgen::CertificateParams::new(vec!["clinic.example".to_owned()])
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "0000000000005010 TLS");
        let csr = params
            .serialize_request(&pair)
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        let Inspection::Csr(report) = inspect_bytes(csr.der(), Path::new("tls.bin"), None)? else {
            return Err(PkiError::Invalid("expected a CSR".into()));
        };
        assert!(report.signature_valid);
        let extensions = report.requested_extensions.join("; ");
        assert!(extensions.contains("clinic.example"), "{extensions}");
        assert_eq!(
            report.tenant_name.map(|n| n.kind),
            Some(crate::kind::CertKind::Tls)
        );
        Ok(())
    }

    #[test]
    fn truncated_pem_and_unknown_bytes_are_named() {
        let truncated = "-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOC\n";
        let message = inspect_bytes(truncated.as_bytes(), Path::new("t.pem"), None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.starts_with("t.pem: "), "{message}");
        let message = inspect_bytes(b"\x01\x02garbage", Path::new("g.bin"), None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.starts_with("g.bin: is not a certificate"),
            "{message}"
        );
    }
}
