//! The MO's three signatures over a register: the signers' certificates (`.cer`, DER or PEM)
//! registered to their users, the signing itself (on the signer's machine: the private key
//! never leaves it), and the check of the signatures in their fixed order executor → chief
//! accountant → head (seed 004, items 12–14), each refusal with its own sentence.
//!
//! **What is signed.** The register package's bytes exactly as they are: the `.zip` the MO
//! formed (`HM…`/`CM…`/`TM…`/`D?M…`), not a digest of its contents nor a canonical form of
//! its XML. The bytes are what is stored and sent, so any reader, `openssl cms -verify
//! -binary -content HM….zip` included, checks a signature without knowing our formats, and a
//! single changed byte in the archive breaks every signature.
//!
//! **What a signature is.** A detached CMS SignedData (DER) with exactly one signer, its
//! certificate embedded, signed attributes contentType, signingTime and messageDigest
//! ([`medgate_pki::cms`]); RSA and ECDSA with SHA-256 in process, GOST R 34.10-2012 with
//! Streebog through the system OpenSSL's GOST engine at run time ([`medgate_pki::gost`]). The
//! three signers each make their own file, so each is checked independently, by us and by
//! OpenSSL.
//!
//! **What the order means.** Signature 1 is the executor's, 2 the chief accountant's, 3 the
//! head's, each made with the certificate registered for that user. [`SignatureProgress`]
//! takes them one at a time, as the signers upload them, and refuses: a signature out of
//! order (a later signer before an earlier one, or a signing time before the previous
//! signature's), by the wrong user (another registered signer's certificate), with another
//! certificate (not the one registered for the user), or over other bytes than the register.
//! [`verify_in_order`] runs the same checks over a complete set.
//!
//! **The signed package.** A ZIP holding the register (`<name>.zip`) and `<name>.1.sig`,
//! `<name>.2.sig`, `<name>.3.sig` ([`write_signed_package`], [`read_signed_package`]).

use std::path::Path;

use medgate_pki::cms;
use medgate_pki::gost::{self, SystemOpenssl};
use medgate_pki::{Certificate, Password, PrivateKey};
use time::OffsetDateTime;

use crate::names::RegisterFileName;

mod certificate;
mod order;
mod package;
mod problem;
mod refusal;
pub mod trust;

pub use certificate::{SignerCertificate, Signers};
pub use order::{verify_in_order, SignatureProgress};
pub use package::{read_signed_package, signature_name, write_signed_package, SignedPackage};
pub use problem::{CertificateProblem, NotACertificate};
pub use refusal::{SignatureRefusal, VerifiedSignature};
pub use trust::SignerTrust;

/// Why a certificate, a key or a signed package cannot be used (the signature checks
/// themselves answer a [`SignatureRefusal`]).
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("{0}")]
    Certificate(CertificateProblem),
    #[error("{0}")]
    Signing(String),
    #[error("{0}")]
    Package(String),
    /// The CAs installed for signers cannot be read or changed.
    #[error("{0}")]
    Trust(String),
}

impl SigningError {
    /// The refusal in Russian where it reaches the fund's pages (a certificate's); the
    /// signing and the package's, which only the command line meets, stay English.
    pub fn russian(&self) -> String {
        match self {
            SigningError::Certificate(problem) => problem.russian(),
            other => other.to_string(),
        }
    }
}

/// The bytes a signer signs: the register package's bytes as they are (see the module's
/// documentation for why).
pub fn bytes_to_sign(register_zip: &[u8]) -> &[u8] {
    register_zip
}

/// Checks that `bytes` are a register package named `name`: a ZIP whose name is a register's.
pub fn check_register(name: &str, bytes: &[u8]) -> Result<RegisterFileName, SigningError> {
    let parsed = RegisterFileName::parse(name).map_err(|e| {
        SigningError::Package(format!("{e}; a signed register keeps its federal name"))
    })?;
    if !name.ends_with(".zip") || !bytes.starts_with(b"PK\x03\x04") {
        return Err(SigningError::Package(format!(
            "{name} is not a register package (a .zip archive); the MO signs the package it sends"
        )));
    }
    Ok(parsed)
}

/// The signer's private key, on the signer's machine.
pub enum SigningKey<'a> {
    /// An RSA or ECDSA key, loaded in process.
    InProcess(&'a PrivateKey),
    /// A GOST R 34.10-2012 key file (PEM, encrypted with `password` when given), used by the
    /// system OpenSSL's GOST engine.
    Gost {
        openssl: &'a SystemOpenssl,
        key: &'a Path,
        password: Option<&'a Password>,
    },
}

/// One signer's detached signature over the register's bytes (DER), made at `at`.
pub fn sign(
    register_zip: &[u8],
    certificate: &Certificate,
    key: SigningKey<'_>,
    at: OffsetDateTime,
) -> Result<Vec<u8>, SigningError> {
    let content = bytes_to_sign(register_zip);
    let signed = match key {
        SigningKey::InProcess(key) => {
            if gost::is_gost_certificate(certificate) {
                return Err(SigningError::Signing(format!(
                    "{} holds a GOST R 34.10-2012 key; sign with the GOST key file through the \
                     system OpenSSL's GOST engine",
                    certificate.source().display()
                )));
            }
            cms::sign_detached(content, certificate, key, at)
        }
        SigningKey::Gost {
            openssl,
            key,
            password,
        } => {
            if !gost::is_gost_certificate(certificate) {
                return Err(SigningError::Signing(format!(
                    "{} is not a GOST R 34.10-2012 certificate, and {} is used as a GOST key",
                    certificate.source().display(),
                    key.display()
                )));
            }
            cms::sign_detached_gost(openssl, content, certificate, key, password)
        }
    };
    signed.map_err(|e| SigningError::Signing(e.to_string()))
}
