//! Public keys that verify signatures ([`VerifyingKey`], from a subjectPublicKeyInfo, a PEM
//! `PUBLIC KEY` or a certificate), and the ECDSA encodings: RFC 9421 §3.3.4 puts the
//! fixed-width 64-byte `r || s` on the wire, not the ASN.1 DER that X.509 and
//! [`medgate_pki::PrivateKey::sign`] use.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use medgate_pki::{Certificate, PrivateKey};
use x509_parser::prelude::FromDer;

use crate::algorithm::{Algorithm, KeyType};
use crate::error::{HttpSigError, Result};

const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";

/// A public key that verifies request signatures, optionally pinned to one algorithm.
///
/// When a signature carries no `alg` parameter, the algorithm comes from the key: the pinned
/// one, else `rsa-v1_5-sha256` for RSA and `ecdsa-p256-sha256` for P-256 keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKey {
    key_type: KeyType,
    /// The subjectPublicKey bits: PKCS#1 RSAPublicKey or the uncompressed EC point.
    public_key: Vec<u8>,
    pinned: Option<Algorithm>,
}

fn invalid(reason: impl Into<String>) -> HttpSigError {
    HttpSigError::InvalidKey {
        reason: reason.into(),
    }
}

impl VerifyingKey {
    /// Reads a DER subjectPublicKeyInfo (RSA, RSASSA-PSS or EC P-256).
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let (rest, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der)
            .map_err(|e| invalid(format!("not a DER subjectPublicKeyInfo ({e})")))?;
        if !rest.is_empty() {
            return Err(invalid("trailing bytes after the subjectPublicKeyInfo"));
        }
        let key_oid = spki.algorithm.algorithm.to_id_string();
        let public_key = spki.subject_public_key.data.to_vec();
        let (key_type, pinned) = match key_oid.as_str() {
            OID_RSA_ENCRYPTION => (KeyType::Rsa, None),
            OID_RSASSA_PSS => (KeyType::Rsa, Some(Algorithm::RsaPssSha512)),
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|oid| oid.to_id_string());
                match curve.as_deref() {
                    Some(OID_P256) => (KeyType::EcdsaP256, None),
                    Some(other) => {
                        return Err(invalid(format!(
                            "elliptic curve {other} is not P-256 (1.2.840.10045.3.1.7)"
                        )))
                    }
                    None => return Err(invalid("EC key without a named curve")),
                }
            }
            "1.3.101.112" => return Err(invalid("Ed25519 keys are not accepted")),
            other => return Err(invalid(format!("key algorithm {other} is not RSA or EC"))),
        };
        if key_type == KeyType::EcdsaP256 && (public_key.len() != 65 || public_key[0] != 4) {
            return Err(invalid(
                "the P-256 point is not an uncompressed 65-byte point",
            ));
        }
        Ok(VerifyingKey {
            key_type,
            public_key,
            pinned,
        })
    }

    /// Reads a PEM `PUBLIC KEY` block (subjectPublicKeyInfo) or a PEM `CERTIFICATE`.
    pub fn from_pem(text: &str) -> Result<Self> {
        let block = pem::parse(text).map_err(|e| invalid(format!("not PEM ({e})")))?;
        match block.tag() {
            "PUBLIC KEY" => Self::from_spki_der(block.contents()),
            "CERTIFICATE" => Self::from_certificate_der(block.contents()),
            other => Err(invalid(format!(
                "PEM block '{other}' is neither PUBLIC KEY nor CERTIFICATE"
            ))),
        }
    }

    /// The key of a certificate (for medgate: the tenant's registered WSS certificate).
    pub fn from_certificate(certificate: &Certificate) -> Result<Self> {
        Self::from_certificate_der(certificate.der())
    }

    fn from_certificate_der(der: &[u8]) -> Result<Self> {
        let (_, parsed) = x509_parser::certificate::X509Certificate::from_der(der)
            .map_err(|e| invalid(format!("damaged X.509 certificate ({e})")))?;
        Self::from_spki_der(parsed.public_key().raw)
    }

    /// The public half of a private key (to check one's own signatures).
    pub fn from_private_key(key: &PrivateKey) -> Result<Self> {
        let der = key
            .public_key_info_der()
            .map_err(|e| invalid(format!("cannot take the public key ({e})")))?;
        Self::from_spki_der(&der)
    }

    /// Pins the key to one algorithm: signatures made with another are refused, and a
    /// signature without `alg` uses this one.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Result<Self> {
        if algorithm.key_type() != self.key_type {
            return Err(invalid(format!(
                "{algorithm} needs an {} key, this is an {} key",
                algorithm.key_type(),
                self.key_type
            )));
        }
        self.pinned = Some(algorithm);
        Ok(self)
    }

    /// RSA or ECDSA P-256.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The algorithm this key is pinned to, if any.
    pub fn pinned_algorithm(&self) -> Option<Algorithm> {
        self.pinned
    }

    /// The algorithm used when a signature names none.
    pub fn default_algorithm(&self) -> Algorithm {
        match (self.pinned, self.key_type) {
            (Some(algorithm), _) => algorithm,
            (None, KeyType::Rsa) => Algorithm::RsaV15Sha256,
            (None, KeyType::EcdsaP256) => Algorithm::EcdsaP256Sha256,
        }
    }

    /// Checks that `algorithm` may be used with this key.
    pub fn check_algorithm(&self, algorithm: Algorithm) -> Result<()> {
        if algorithm.key_type() != self.key_type {
            return Err(HttpSigError::UnsupportedAlgorithm {
                algorithm: algorithm.name().to_owned(),
                reason: format!(
                    "it needs an {} key but the registered key is {}",
                    algorithm.key_type(),
                    self.key_type
                ),
            });
        }
        match self.pinned {
            Some(pinned) if pinned != algorithm => Err(HttpSigError::UnsupportedAlgorithm {
                algorithm: algorithm.name().to_owned(),
                reason: format!("the registered key is restricted to {pinned}"),
            }),
            _ => Ok(()),
        }
    }

    /// Verifies `signature` (as sent in the `Signature` header) over `message` (the signature
    /// base). ECDSA signatures must be the 64-byte `r || s` form.
    pub fn verify(&self, algorithm: Algorithm, message: &[u8], signature: &[u8]) -> Result<()> {
        self.check_algorithm(algorithm)?;
        let verification: &dyn VerificationAlgorithm = match algorithm {
            Algorithm::RsaV15Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RsaPssSha512 => &signature::RSA_PSS_2048_8192_SHA512,
            Algorithm::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_FIXED,
        };
        UnparsedPublicKey::new(verification, &self.public_key)
            .verify(message, signature)
            .map_err(|_| HttpSigError::BadSignature {
                what: format!("({algorithm}, {} bytes)", signature.len()),
            })
    }
}

/// Converts an ASN.1 DER ECDSA signature (`SEQUENCE { r INTEGER, s INTEGER }`) into the
/// 64-byte `r || s` of RFC 9421 §3.3.4.
pub fn ecdsa_p256_der_to_fixed(der: &[u8]) -> Option<[u8; 64]> {
    fn length(bytes: &[u8]) -> Option<(usize, &[u8])> {
        let (&first, rest) = bytes.split_first()?;
        match first {
            0..=0x7f => Some((usize::from(first), rest)),
            0x81 => {
                let (&len, rest) = rest.split_first()?;
                Some((usize::from(len), rest))
            }
            _ => None,
        }
    }
    fn integer(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
        let (&tag, rest) = bytes.split_first()?;
        if tag != 0x02 {
            return None;
        }
        let (len, rest) = length(rest)?;
        if rest.len() < len || len == 0 {
            return None;
        }
        let (value, rest) = rest.split_at(len);
        let mut value = value;
        while value.len() > 1 && value[0] == 0 {
            value = &value[1..];
        }
        if value.len() > 32 {
            return None;
        }
        Some((value, rest))
    }
    let (&tag, rest) = der.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (len, body) = length(rest)?;
    if body.len() != len {
        return None;
    }
    let (r, rest) = integer(body)?;
    let (s, rest) = integer(rest)?;
    if !rest.is_empty() {
        return None;
    }
    let mut fixed = [0u8; 64];
    fixed[32 - r.len()..32].copy_from_slice(r);
    fixed[64 - s.len()..].copy_from_slice(s);
    Some(fixed)
}

/// The order n of the P-256 group.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// n / 2 (rounded down): an `s` above it has the twin `n - s` that verifies as well.
const P256_HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// Big-endian `a - b` for `a >= b`.
fn subtract(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut digit = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = 0;
        if digit < 0 {
            digit += 256;
            borrow = 1;
        }
        out[i] = u8::try_from(digit).unwrap_or(0);
    }
    out
}

/// The signature bytes in a form that a third party cannot vary: an ECDSA `(r, s)` verifies
/// as `(r, n - s)` too, so the high `s` is replaced by the low one. Other signatures are
/// returned as they are (RSA signatures cannot be varied without the private key).
pub fn canonical_signature(algorithm: Algorithm, signature: &[u8]) -> Vec<u8> {
    if algorithm == Algorithm::EcdsaP256Sha256 && signature.len() == 64 {
        let s = &signature[32..];
        if s > P256_HALF_ORDER.as_slice() {
            let mut canonical = signature[..32].to_vec();
            canonical.extend_from_slice(&subtract(&P256_ORDER, s));
            return canonical;
        }
    }
    signature.to_vec()
}

/// Hex SHA-256 of [`canonical_signature`]: the replay key a server remembers for the
/// lifetime of a signature.
pub fn signature_hash(algorithm: Algorithm, signature: &[u8]) -> String {
    let canonical = canonical_signature(algorithm, signature);
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &canonical).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use medgate_pki::KeyAlgorithm;

    #[test]
    fn der_signatures_become_fixed_width_and_verify() -> Result<()> {
        let key =
            PrivateKey::generate(KeyAlgorithm::EcdsaP256).map_err(|e| invalid(e.to_string()))?;
        let verifying = VerifyingKey::from_private_key(&key)?;
        assert_eq!(verifying.key_type(), KeyType::EcdsaP256);
        for _ in 0..20 {
            let der = key.sign(b"base").map_err(|e| invalid(e.to_string()))?;
            let fixed = ecdsa_p256_der_to_fixed(&der).ok_or_else(|| invalid("DER"))?;
            verifying.verify(Algorithm::EcdsaP256Sha256, b"base", &fixed)?;
            // The twin (r, n - s) verifies too, and hashes the same.
            let mut twin = fixed.to_vec();
            let s: [u8; 32] = subtract(&P256_ORDER, &fixed[32..]);
            twin[32..].copy_from_slice(&s);
            verifying.verify(Algorithm::EcdsaP256Sha256, b"base", &twin)?;
            assert_eq!(
                signature_hash(Algorithm::EcdsaP256Sha256, &fixed),
                signature_hash(Algorithm::EcdsaP256Sha256, &twin)
            );
            let error = verifying.verify(Algorithm::EcdsaP256Sha256, b"base", &der);
            assert_eq!(error.err().map(|e| e.code()), Some("bad_signature"));
        }
        Ok(())
    }

    #[test]
    fn short_integers_are_left_padded() {
        let der = [0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07];
        let fixed = ecdsa_p256_der_to_fixed(&der).unwrap_or([0xff; 64]);
        assert_eq!(fixed[31], 5);
        assert_eq!(fixed[63], 7);
        assert!(fixed[..31].iter().all(|b| *b == 0));
        assert!(ecdsa_p256_der_to_fixed(&[0x30, 0x00]).is_none());
        assert!(ecdsa_p256_der_to_fixed(&der[..7]).is_none());
    }

    #[test]
    fn rsa_key_refuses_ecdsa_and_pins() -> Result<()> {
        let key =
            PrivateKey::generate(KeyAlgorithm::Rsa2048).map_err(|e| invalid(e.to_string()))?;
        let verifying = VerifyingKey::from_private_key(&key)?;
        assert_eq!(verifying.default_algorithm(), Algorithm::RsaV15Sha256);
        let error = verifying.check_algorithm(Algorithm::EcdsaP256Sha256);
        assert_eq!(error.err().map(|e| e.code()), Some("unsupported_algorithm"));
        let pinned = verifying.with_algorithm(Algorithm::RsaPssSha512)?;
        assert_eq!(pinned.default_algorithm(), Algorithm::RsaPssSha512);
        assert!(pinned.check_algorithm(Algorithm::RsaV15Sha256).is_err());
        Ok(())
    }

    #[test]
    fn garbage_is_an_invalid_key() {
        let error = VerifyingKey::from_spki_der(b"not a key").err();
        assert_eq!(error.map(|e| e.code()), Some("invalid_key"));
        let error = VerifyingKey::from_pem("-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n").err();
        assert_eq!(error.map(|e| e.code()), Some("invalid_key"));
    }
}
