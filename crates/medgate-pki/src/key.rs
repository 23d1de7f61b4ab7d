//! Private keys: generation (RSA-2048/3072, ECDSA P-256), PKCS#8 storage encrypted with
//! PBES2 (PBKDF2-HMAC-SHA256 + AES-256-CBC), loading from the formats clinics actually have
//! (PKCS#8, encrypted PKCS#8, PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, PEM or DER),
//! signing, and the public half for matching against certificates.
//!
//! The key bytes live in `Zeroizing` buffers and `PrivateKey` has a `Debug` that prints only
//! the algorithm, so a key cannot end up in a log by accident.

use std::fmt;
use std::path::Path;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use pkcs8::der::Decode;
use pkcs8::pkcs5::pbes2;
use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo};
use zeroize::Zeroizing;

use crate::error::{PkiError, Result};
use crate::files::{self, Password, Visibility, WriteMode};

/// PBKDF2 iterations for keys we encrypt: OpenSSL 3's default for `pkcs8 -topk8` is 2048;
/// we use more because a key file may leave the machine.
const PBKDF2_ITERATIONS: u32 = 100_000;

/// The key algorithms the national platforms accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Rsa2048,
    Rsa3072,
    EcdsaP256,
}

impl KeyAlgorithm {
    /// Parses the command-line spelling: `rsa2048`, `rsa3072`, `p256`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "rsa2048" | "rsa-2048" | "rsa" => Ok(KeyAlgorithm::Rsa2048),
            "rsa3072" | "rsa-3072" => Ok(KeyAlgorithm::Rsa3072),
            "p256" | "p-256" | "ecdsa-p256" | "prime256v1" | "secp256r1" => {
                Ok(KeyAlgorithm::EcdsaP256)
            }
            other => Err(PkiError::Invalid(format!(
                "unknown key algorithm '{other}': use rsa2048, rsa3072 or p256"
            ))),
        }
    }

    /// Human name, e.g. `RSA 2048` or `ECDSA P-256`.
    pub fn describe(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "RSA 2048",
            KeyAlgorithm::Rsa3072 => "RSA 3072",
            KeyAlgorithm::EcdsaP256 => "ECDSA P-256",
        }
    }
}

/// How a signature is made with a key: the hash and padding used, named by the OID that
/// goes into certificates, CSRs and CMS structures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// sha256WithRSAEncryption (PKCS#1 v1.5).
    RsaPkcs1Sha256,
    /// ecdsa-with-SHA256, DER-encoded (r, s).
    EcdsaP256Sha256,
}

impl SignatureAlgorithm {
    /// The rcgen descriptor for certificate and CSR signing.
    pub fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            SignatureAlgorithm::RsaPkcs1Sha256 => &rcgen::PKCS_RSA_SHA256,
            SignatureAlgorithm::EcdsaP256Sha256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }
}

enum Inner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A private key ready to sign. Created by [`PrivateKey::generate`] or loaded from a file.
pub struct PrivateKey {
    inner: Inner,
    pkcs8: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({})", self.describe())
    }
}

fn crypto(what: &str) -> impl Fn(aws_lc_rs::error::Unspecified) -> PkiError + '_ {
    move |_| PkiError::Crypto(format!("{what} failed"))
}

impl PrivateKey {
    /// Generates a fresh key.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self> {
        let pkcs8 = match algorithm {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 => {
                let size = if algorithm == KeyAlgorithm::Rsa2048 {
                    KeySize::Rsa2048
                } else {
                    KeySize::Rsa3072
                };
                let pair = RsaKeyPair::generate(size).map_err(crypto("RSA key generation"))?;
                let der = pair.as_der().map_err(crypto("RSA key encoding"))?;
                Zeroizing::new(der.as_ref().to_vec())
            }
            KeyAlgorithm::EcdsaP256 => {
                let document = EcdsaKeyPair::generate_pkcs8(
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    &SystemRandom::new(),
                )
                .map_err(crypto("P-256 key generation"))?;
                Zeroizing::new(document.as_ref().to_vec())
            }
        };
        Self::from_pkcs8_der(pkcs8).map_err(|_| PkiError::Crypto("generated key rejected".into()))
    }

    /// Builds a key from unencrypted PKCS#8 DER.
    pub fn from_pkcs8_der(pkcs8: Zeroizing<Vec<u8>>) -> std::result::Result<Self, String> {
        if let Ok(pair) = RsaKeyPair::from_pkcs8(&pkcs8) {
            return Ok(PrivateKey {
                inner: Inner::Rsa(pair),
                pkcs8,
            });
        }
        match EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8) {
            Ok(pair) => Ok(PrivateKey {
                inner: Inner::Ec(pair),
                pkcs8,
            }),
            Err(rejected) => Err(format!(
                "not an RSA or ECDSA P-256 private key ({rejected})"
            )),
        }
    }

    /// Loads a key file. `password` opens an encrypted PKCS#8 key; it is ignored for an
    /// unencrypted one.
    pub fn load(path: &Path, password: Option<&Password>) -> Result<Self> {
        let bytes = Zeroizing::new(files::read(path)?);
        Self::from_bytes(path, &bytes, password)
    }

    /// Parses key bytes (PEM or DER) read from `path` (used only to name it in errors).
    pub fn from_bytes(path: &Path, bytes: &[u8], password: Option<&Password>) -> Result<Self> {
        if files::looks_like_pem(bytes) {
            let blocks = files::pem_blocks(path, bytes)?;
            let Some(block) = blocks.iter().find(|b| b.tag().ends_with("PRIVATE KEY")) else {
                let tags: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
                return Err(PkiError::bad_file(
                    path,
                    format!(
                        "contains no private key (found {}); expected a PRIVATE KEY block",
                        describe_tags(&tags)
                    ),
                ));
            };
            let der = Zeroizing::new(block.contents().to_vec());
            match block.tag() {
                "PRIVATE KEY" => Self::from_pkcs8_der(der)
                    .map_err(|problem| PkiError::bad_file(path, problem)),
                "ENCRYPTED PRIVATE KEY" => Self::decrypt(path, &der, password),
                "RSA PRIVATE KEY" => {
                    if block.headers().get("Proc-Type").is_some() {
                        return Err(PkiError::bad_file(
                            path,
                            "legacy OpenSSL-encrypted RSA key; convert it with \
                             `openssl pkcs8 -topk8 -in KEY -out KEY.p8` first",
                        ));
                    }
                    let pair = RsaKeyPair::from_der(&der).map_err(|rejected| {
                        PkiError::bad_file(path, format!("damaged RSA private key ({rejected})"))
                    })?;
                    let pkcs8 = pair
                        .as_der()
                        .map_err(|_| PkiError::bad_file(path, "RSA key cannot be re-encoded"))?;
                    Self::from_pkcs8_der(Zeroizing::new(pkcs8.as_ref().to_vec()))
                        .map_err(|problem| PkiError::bad_file(path, problem))
                }
                "EC PRIVATE KEY" => {
                    let pair = EcdsaKeyPair::from_private_key_der(
                        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                        &der,
                    )
                    .map_err(|rejected| {
                        PkiError::bad_file(
                            path,
                            format!("not a usable P-256 EC private key ({rejected})"),
                        )
                    })?;
                    let pkcs8 = pair
                        .to_pkcs8v1()
                        .map_err(|_| PkiError::bad_file(path, "EC key cannot be re-encoded"))?;
                    Self::from_pkcs8_der(Zeroizing::new(pkcs8.as_ref().to_vec()))
                        .map_err(|problem| PkiError::bad_file(path, problem))
                }
                other => Err(PkiError::bad_file(
                    path,
                    format!("unsupported key format '{other}'"),
                )),
            }
        } else {
            // DER: try encrypted PKCS#8 first (it is a different structure), then plain.
            if EncryptedPrivateKeyInfo::from_der(bytes).is_ok() {
                return Self::decrypt(path, bytes, password);
            }
            if PrivateKeyInfo::from_der(bytes).is_ok() {
                return Self::from_pkcs8_der(Zeroizing::new(bytes.to_vec()))
                    .map_err(|problem| PkiError::bad_file(path, problem));
            }
            if let Ok(pair) = RsaKeyPair::from_der(bytes) {
                let pkcs8 = pair
                    .as_der()
                    .map_err(|_| PkiError::bad_file(path, "RSA key cannot be re-encoded"))?;
                return Self::from_pkcs8_der(Zeroizing::new(pkcs8.as_ref().to_vec()))
                    .map_err(|problem| PkiError::bad_file(path, problem));
            }
            Err(PkiError::bad_file(
                path,
                "not a private key (neither PEM nor DER PKCS#8/PKCS#1)",
            ))
        }
    }

    fn decrypt(path: &Path, der: &[u8], password: Option<&Password>) -> Result<Self> {
        let Some(password) = password else {
            return Err(PkiError::PasswordRequired {
                path: path.to_path_buf(),
            });
        };
        let encrypted = EncryptedPrivateKeyInfo::from_der(der)
            .map_err(|e| PkiError::bad_file(path, format!("damaged encrypted key ({e})")))?;
        let document = encrypted
            .decrypt(password.expose())
            .map_err(|_| PkiError::WrongPassword {
                path: path.to_path_buf(),
            })?;
        Self::from_pkcs8_der(Zeroizing::new(document.as_bytes().to_vec()))
            .map_err(|problem| PkiError::bad_file(path, problem))
    }

    /// The algorithm and size of the key.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match &self.inner {
            Inner::Rsa(pair) if pair.public_modulus_len() * 8 >= 3072 => KeyAlgorithm::Rsa3072,
            Inner::Rsa(_) => KeyAlgorithm::Rsa2048,
            Inner::Ec(_) => KeyAlgorithm::EcdsaP256,
        }
    }

    /// A short description such as `RSA 2048` (from the real modulus length).
    pub fn describe(&self) -> String {
        match &self.inner {
            Inner::Rsa(pair) => format!("RSA {}", pair.public_modulus_len() * 8),
            Inner::Ec(_) => "ECDSA P-256".to_owned(),
        }
    }

    /// The signature algorithm this key signs with.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        match &self.inner {
            Inner::Rsa(_) => SignatureAlgorithm::RsaPkcs1Sha256,
            Inner::Ec(_) => SignatureAlgorithm::EcdsaP256Sha256,
        }
    }

    /// Signs `message` (hashing it with SHA-256).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(crypto("RSA signing"))?;
                Ok(signature)
            }
            Inner::Ec(pair) => Ok(pair
                .sign(&rng, message)
                .map_err(crypto("ECDSA signing"))?
                .as_ref()
                .to_vec()),
        }
    }

    /// The subjectPublicKeyInfo (DER) of the key's public half, as it appears in a
    /// certificate or CSR.
    pub fn public_key_info_der(&self) -> Result<Vec<u8>> {
        let pair = self.rcgen_key_pair()?;
        Ok(rcgen::PublicKeyData::subject_public_key_info(&pair))
    }

    /// The raw subjectPublicKey bits, for comparing with a certificate's key.
    pub fn public_key_bits(&self) -> Vec<u8> {
        match &self.inner {
            Inner::Rsa(pair) => pair.public_key().as_ref().to_vec(),
            Inner::Ec(pair) => pair.public_key().as_ref().to_vec(),
        }
    }

    /// The key as an rcgen key pair, for building CSRs and certificates.
    pub fn rcgen_key_pair(&self) -> Result<rcgen::KeyPair> {
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(self.pkcs8.as_slice());
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, self.signature_algorithm().rcgen())
            .map_err(|e| PkiError::Crypto(format!("key not usable for signing: {e}")))
    }

    /// The unencrypted PKCS#8 DER. Handle with care: callers must not log it.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// PEM text of the key: `ENCRYPTED PRIVATE KEY` (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC)
    /// when a password is given, `PRIVATE KEY` otherwise.
    pub fn to_pem(&self, password: Option<&Password>) -> Result<Zeroizing<String>> {
        let Some(password) = password else {
            let block = pem::Pem::new("PRIVATE KEY", self.pkcs8.to_vec());
            return Ok(Zeroizing::new(pem::encode(&block)));
        };
        let rng = SystemRandom::new();
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        rng.fill(&mut salt).map_err(crypto("random salt"))?;
        rng.fill(&mut iv).map_err(crypto("random IV"))?;
        let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
            .map_err(|e| PkiError::Crypto(format!("PBES2 parameters: {e}")))?;
        let info = PrivateKeyInfo::from_der(&self.pkcs8)
            .map_err(|e| PkiError::Crypto(format!("PKCS#8 encoding: {e}")))?;
        let encrypted = info
            .encrypt_with_params(params, password.expose())
            .map_err(|e| PkiError::Crypto(format!("key encryption: {e}")))?;
        let block = pem::Pem::new("ENCRYPTED PRIVATE KEY", encrypted.as_bytes().to_vec());
        Ok(Zeroizing::new(pem::encode(&block)))
    }

    /// Writes the key as PEM with owner-only permissions.
    pub fn save(&self, path: &Path, password: Option<&Password>, mode: WriteMode) -> Result<()> {
        let text = self.to_pem(password)?;
        files::write(path, text.as_bytes(), mode, Visibility::Secret)
    }
}

/// Lists PEM block names for an error message ("a CERTIFICATE block", "nothing").
pub(crate) fn describe_tags(tags: &[&str]) -> String {
    if tags.is_empty() {
        "no PEM blocks".to_owned()
    } else {
        tags.join(", ")
    }
}

/// Verifies `signature` over `message` with the public key in `spki_der`
/// (subjectPublicKeyInfo) and the signature algorithm named by `algorithm_oid`.
/// Supports RSA PKCS#1 v1.5 with SHA-256/384/512 and ECDSA P-256/P-384 with SHA-256/384.
pub fn verify_signature(
    spki_der: &[u8],
    algorithm_oid: &str,
    message: &[u8],
    signature_bytes: &[u8],
) -> std::result::Result<(), String> {
    use x509_parser::prelude::FromDer;
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|e| format!("unreadable public key ({e})"))?;
    let key_oid = spki.algorithm.algorithm.to_id_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|oid| oid.to_id_string());
    let algorithm: &dyn signature::VerificationAlgorithm = match (algorithm_oid, key_oid.as_str())
    {
        // sha256WithRSAEncryption, or rsaEncryption as used in CMS SignerInfo.
        ("1.2.840.113549.1.1.11", "1.2.840.113549.1.1.1") => &signature::RSA_PKCS1_2048_8192_SHA256,
        ("1.2.840.113549.1.1.12", "1.2.840.113549.1.1.1") => &signature::RSA_PKCS1_2048_8192_SHA384,
        ("1.2.840.113549.1.1.13", "1.2.840.113549.1.1.1") => &signature::RSA_PKCS1_2048_8192_SHA512,
        ("1.2.840.10045.4.3.2", "1.2.840.10045.2.1") => match curve.as_deref() {
            Some("1.2.840.10045.3.1.7") => &signature::ECDSA_P256_SHA256_ASN1,
            Some("1.3.132.0.34") => &signature::ECDSA_P384_SHA256_ASN1,
            _ => return Err("unsupported elliptic curve".to_owned()),
        },
        ("1.2.840.10045.4.3.3", "1.2.840.10045.2.1") => match curve.as_deref() {
            Some("1.2.840.10045.3.1.7") => &signature::ECDSA_P256_SHA384_ASN1,
            Some("1.3.132.0.34") => &signature::ECDSA_P384_SHA384_ASN1,
            _ => return Err("unsupported elliptic curve".to_owned()),
        },
        (sig, key) => {
            return Err(format!(
                "unsupported signature algorithm {sig} for key type {key}"
            ))
        }
    };
    signature::UnparsedPublicKey::new(algorithm, spki.subject_public_key.data.as_ref())
        .verify(message, signature_bytes)
        .map_err(|_| "signature does not verify".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_key_round_trips_and_wrong_password_is_named() -> Result<()> {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let password = Password::new("correct horse");
        let pem = key.to_pem(Some(&password))?;
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let path = Path::new("tls.key");
        let loaded = PrivateKey::from_bytes(path, pem.as_bytes(), Some(&password))?;
        assert_eq!(loaded.public_key_bits(), key.public_key_bits());
        let wrong = PrivateKey::from_bytes(path, pem.as_bytes(), Some(&Password::new("nope")));
        assert!(matches!(wrong, Err(PkiError::WrongPassword { .. })));
        let missing = PrivateKey::from_bytes(path, pem.as_bytes(), None);
        assert!(matches!(missing, Err(PkiError::PasswordRequired { .. })));
        Ok(())
    }

    #[test]
    fn signature_made_by_a_key_verifies_with_its_public_key() -> Result<()> {
        for algorithm in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
            let key = PrivateKey::generate(algorithm)?;
            let signature = key.sign(b"message")?;
            let oid = match key.signature_algorithm() {
                SignatureAlgorithm::RsaPkcs1Sha256 => "1.2.840.113549.1.1.11",
                SignatureAlgorithm::EcdsaP256Sha256 => "1.2.840.10045.4.3.2",
            };
            let spki = key.public_key_info_der()?;
            assert_eq!(verify_signature(&spki, oid, b"message", &signature), Ok(()));
            assert!(verify_signature(&spki, oid, b"other", &signature).is_err());
        }
        Ok(())
    }

    #[test]
    fn debug_never_shows_key_material() -> Result<()> {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        assert_eq!(format!("{key:?}"), "PrivateKey(ECDSA P-256)");
        Ok(())
    }

    #[test]
    fn a_certificate_in_place_of_a_key_is_named() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let error = PrivateKey::from_bytes(Path::new("tls.key"), pem.as_bytes(), None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("tls.key") && error.contains("CERTIFICATE"), "{error}");
    }
}
