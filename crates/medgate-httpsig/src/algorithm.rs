//! The signature algorithms of the RFC 9421 registry that medgate accepts, and the key types
//! they need. HMAC (shared secrets) and anything unknown are refused.

use std::fmt;

use crate::error::{HttpSigError, Result};

/// A signature algorithm, named as in the HTTP Signature Algorithms registry (RFC 9421 §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `rsa-v1_5-sha256`: RSASSA-PKCS1-v1_5 with SHA-256 (§3.3.2).
    RsaV15Sha256,
    /// `rsa-pss-sha512`: RSASSA-PSS with SHA-512, MGF1 SHA-512, 64-byte salt (§3.3.1).
    RsaPssSha512,
    /// `ecdsa-p256-sha256`: ECDSA on P-256 with SHA-256, signature as 64-byte `r || s`
    /// (§3.3.4).
    EcdsaP256Sha256,
}

/// The kind of public key a signature is checked with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    Rsa,
    EcdsaP256,
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Rsa => "RSA",
            KeyType::EcdsaP256 => "ECDSA P-256",
        })
    }
}

impl Algorithm {
    /// Every algorithm this crate implements.
    pub const ALL: [Algorithm; 3] = [
        Algorithm::RsaV15Sha256,
        Algorithm::RsaPssSha512,
        Algorithm::EcdsaP256Sha256,
    ];

    /// The registry name, e.g. `rsa-v1_5-sha256`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RsaV15Sha256 => "rsa-v1_5-sha256",
            Algorithm::RsaPssSha512 => "rsa-pss-sha512",
            Algorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
        }
    }

    /// Parses a registry name (the `alg` signature parameter). Names are case-sensitive as in
    /// the registry. HMAC, Ed25519, P-384 and unknown names are refused with a reason.
    pub fn from_name(name: &str) -> Result<Self> {
        let reason = match name {
            "rsa-v1_5-sha256" => return Ok(Algorithm::RsaV15Sha256),
            "rsa-pss-sha512" => return Ok(Algorithm::RsaPssSha512),
            "ecdsa-p256-sha256" => return Ok(Algorithm::EcdsaP256Sha256),
            "hmac-sha256" => "shared-secret (HMAC) signatures cannot be tied to a certificate",
            "ed25519" | "ecdsa-p384-sha384" => "medgate certificates use RSA or ECDSA P-256 keys",
            _ => "it is not an RFC 9421 algorithm name",
        };
        Err(HttpSigError::UnsupportedAlgorithm {
            algorithm: format!("\"{name}\""),
            reason: reason.to_owned(),
        })
    }

    /// The key type the algorithm needs.
    pub fn key_type(self) -> KeyType {
        match self {
            Algorithm::RsaV15Sha256 | Algorithm::RsaPssSha512 => KeyType::Rsa,
            Algorithm::EcdsaP256Sha256 => KeyType::EcdsaP256,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() -> Result<()> {
        for algorithm in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(algorithm.name())?, algorithm);
        }
        Ok(())
    }

    #[test]
    fn hmac_and_unknown_are_refused_with_a_reason() {
        for name in ["hmac-sha256", "ed25519", "RSA-V1_5-SHA256", "rsa-sha1"] {
            let error = Algorithm::from_name(name).err();
            assert_eq!(
                error.as_ref().map(HttpSigError::code),
                Some("unsupported_algorithm"),
                "{name}"
            );
        }
    }
}
