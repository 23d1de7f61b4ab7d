//! Certificates as files: loading PEM or DER (one or a chain), telling a CSR or a key apart
//! from a certificate, and the facts a person asks about one (subject, issuer, serial in
//! upper-case hex, validity, key, SHA-256 fingerprint, kind, key usages).

use std::path::{Path, PathBuf};

use ::time::OffsetDateTime;
use x509_parser::prelude::*;

use crate::error::{PkiError, Result};
use crate::files;
use crate::kind::{CertKind, TenantCommonName};

/// A certificate's DER bytes and the file it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    source: PathBuf,
}

impl Certificate {
    /// Wraps DER bytes after checking that they parse as an X.509 certificate.
    pub fn from_der(der: Vec<u8>, source: &Path) -> Result<Self> {
        X509Certificate::from_der(&der).map_err(|e| {
            PkiError::bad_file(source, format!("damaged X.509 certificate ({e})"))
        })?;
        Ok(Certificate {
            der,
            source: source.to_path_buf(),
        })
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 of the DER encoding: the certificate's fingerprint, as raw bytes.
    pub fn sha256(&self) -> [u8; 32] {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest.as_ref());
        bytes
    }

    /// The file this certificate was read from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// PEM text of the certificate.
    pub fn to_pem(&self) -> String {
        ::pem::encode(&::pem::Pem::new("CERTIFICATE", self.der.clone()))
    }

    /// The parsed certificate (borrowing the DER).
    pub fn parsed(&self) -> Result<X509Certificate<'_>> {
        X509Certificate::from_der(&self.der)
            .map(|(_, cert)| cert)
            .map_err(|e| PkiError::bad_file(&self.source, format!("damaged certificate ({e})")))
    }

    /// The facts about the certificate that `inspect` and `check` report.
    pub fn summary(&self) -> Result<CertificateSummary> {
        let cert = self.parsed()?;
        summarise(&cert, &self.der)
    }
}

/// Loads every certificate in a file: a PEM file may hold a chain; a DER file holds one.
/// A CSR, a key or a PKCS#12 file in place of a certificate is named as such.
pub fn load_certificates(path: &Path) -> Result<Vec<Certificate>> {
    certificates_from_bytes(files::read(path)?, path)
}

/// [`load_certificates`] for bytes read elsewhere (an upload); `path` names them in errors.
pub fn certificates_from_bytes(bytes: Vec<u8>, path: &Path) -> Result<Vec<Certificate>> {
    if files::looks_like_pem(&bytes) {
        let blocks = files::pem_blocks(path, &bytes)?;
        let certificates: Vec<Certificate> = blocks
            .iter()
            .filter(|b| b.tag() == "CERTIFICATE" || b.tag() == "X509 CERTIFICATE")
            .map(|b| Certificate::from_der(b.contents().to_vec(), path))
            .collect::<Result<_>>()?;
        if certificates.is_empty() {
            let tags: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
            let hint = if tags.iter().any(|t| t.contains("CERTIFICATE REQUEST")) {
                "is a certificate request (CSR), not a certificate; have it signed first"
                    .to_owned()
            } else if tags.iter().any(|t| t.ends_with("PRIVATE KEY")) {
                "is a private key, not a certificate".to_owned()
            } else {
                format!(
                    "contains no certificate (found {})",
                    crate::key::describe_tags(&tags)
                )
            };
            return Err(PkiError::bad_file(path, hint));
        }
        Ok(certificates)
    } else {
        if let Ok((_, cert)) = X509Certificate::from_der(&bytes) {
            drop(cert);
            return Ok(vec![Certificate {
                der: bytes,
                source: path.to_path_buf(),
            }]);
        }
        if X509CertificationRequest::from_der(&bytes).is_ok() {
            return Err(PkiError::bad_file(
                path,
                "is a certificate request (CSR), not a certificate; have it signed first",
            ));
        }
        Err(PkiError::bad_file(
            path,
            "is not a certificate (neither PEM nor DER X.509)",
        ))
    }
}

/// Loads a file that must hold exactly one certificate (the first of a chain is taken).
pub fn load_certificate(path: &Path) -> Result<Certificate> {
    load_certificates(path)?
        .into_iter()
        .next()
        .ok_or_else(|| PkiError::bad_file(path, "contains no certificate"))
}

/// Which purposes the certificate's extensions allow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usages {
    pub digital_signature: bool,
    pub non_repudiation: bool,
    pub key_encipherment: bool,
    pub key_cert_sign: bool,
    pub crl_sign: bool,
    pub client_auth: bool,
    pub server_auth: bool,
    /// False when the certificate has no keyUsage extension at all.
    pub has_key_usage: bool,
    /// False when the certificate has no extendedKeyUsage extension at all.
    pub has_extended_key_usage: bool,
}

impl Usages {
    /// Names of the usages present, for display.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        for (present, name) in [
            (self.digital_signature, "digitalSignature"),
            (self.non_repudiation, "nonRepudiation"),
            (self.key_encipherment, "keyEncipherment"),
            (self.key_cert_sign, "keyCertSign"),
            (self.crl_sign, "cRLSign"),
            (self.client_auth, "clientAuth"),
            (self.server_auth, "serverAuth"),
        ] {
            if present {
                names.push(name);
            }
        }
        names
    }
}

/// What `inspect` shows and `check` reasons about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateSummary {
    pub subject: String,
    pub issuer: String,
    pub common_name: Option<String>,
    /// Serial number in upper-case hex without separators, as the seeds print it.
    pub serial_hex: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// E.g. `RSA 2048`, `ECDSA P-256`.
    pub key_description: String,
    /// SHA-256 of the DER, upper-case hex with colons.
    pub sha256_fingerprint: String,
    /// TLS / WSS when the CN has the tenant form; `None` otherwise.
    pub tenant_name: Option<TenantCommonName>,
    pub usages: Usages,
    pub is_ca: bool,
    pub self_signed: bool,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
}

impl CertificateSummary {
    /// The kind read from the CN, if any.
    pub fn kind(&self) -> Option<CertKind> {
        self.tenant_name.as_ref().map(|n| n.kind)
    }
}

fn summarise(cert: &X509Certificate<'_>, der: &[u8]) -> Result<CertificateSummary> {
    let common_name = common_name_of(cert.subject());
    let mut usages = Usages::default();
    let mut is_ca = false;
    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    for extension in cert.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::KeyUsage(ku) => {
                usages.has_key_usage = true;
                usages.digital_signature = ku.digital_signature();
                usages.non_repudiation = ku.non_repudiation();
                usages.key_encipherment = ku.key_encipherment();
                usages.key_cert_sign = ku.key_cert_sign();
                usages.crl_sign = ku.crl_sign();
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                usages.has_extended_key_usage = true;
                usages.client_auth = eku.client_auth;
                usages.server_auth = eku.server_auth;
            }
            ParsedExtension::BasicConstraints(bc) => is_ca = bc.ca,
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(dns) => dns_names.push((*dns).to_owned()),
                        GeneralName::IPAddress(bytes) => {
                            ip_addresses.push(format_ip(bytes));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    Ok(CertificateSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        tenant_name: common_name.as_deref().and_then(TenantCommonName::parse),
        common_name,
        serial_hex: serial_hex(cert.raw_serial()),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        key_description: describe_public_key(cert.public_key()),
        sha256_fingerprint: colon_hex(digest.as_ref()),
        usages,
        is_ca,
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        dns_names,
        ip_addresses,
    })
}

/// The first common name of a distinguished name.
pub fn common_name_of(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
}

/// Serial number bytes as upper-case hex, leading zero bytes (sign padding) dropped.
pub fn serial_hex(raw: &[u8]) -> String {
    let trimmed: &[u8] = match raw.iter().position(|&b| b != 0) {
        Some(first) => &raw[first..],
        None => &[0],
    };
    hex::encode_upper(trimmed)
}

/// `YYYY-MM-DD HH:MM:SS UTC`, how times are shown to people.
pub fn human_time(time: OffsetDateTime) -> String {
    let utc = time.to_offset(::time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

/// Upper-case hex with a colon between bytes (how fingerprints are usually shown).
pub fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn format_ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(octets).to_string()
        }
        _ => hex::encode(bytes),
    }
}

/// Describes a public key: algorithm and size (`RSA 2048`, `ECDSA P-256`, ...).
pub fn describe_public_key(spki: &SubjectPublicKeyInfo<'_>) -> String {
    match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(x509_parser::public_key::PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "ECDSA P-256".to_owned(),
                Some("1.3.132.0.34") => "ECDSA P-384".to_owned(),
                Some("1.3.132.0.35") => "ECDSA P-521".to_owned(),
                Some(other) => format!("EC (curve {other})"),
                None => "EC".to_owned(),
            }
        }
        Ok(x509_parser::public_key::PublicKey::GostR3410_2012(_)) => {
            "GOST R 34.10-2012".to_owned()
        }
        _ => format!(
            "unknown ({})",
            spki.algorithm.algorithm.to_id_string()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_hex_drops_sign_padding_and_is_upper_case() {
        assert_eq!(serial_hex(&[0x00, 0x2e, 0x79, 0xa1]), "2E79A1");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    #[test]
    fn a_csr_in_place_of_a_certificate_is_named() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| PkiError::io(Path::new("tmp"), "mk", e))?;
        let key = crate::key::PrivateKey::generate(crate::key::KeyAlgorithm::EcdsaP256)?;
        let pair = key.rcgen_key_pair()?;
        let params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        let csr = params
            .serialize_request(&pair)
            .and_then(|csr| csr.pem())
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        let path = dir.path().join("tls.csr");
        std::fs::write(&path, csr).map_err(|e| PkiError::io(&path, "w", e))?;
        let message = load_certificates(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("tls.csr") && message.contains("(CSR)"), "{message}");
        Ok(())
    }
}
