//! HTTP Message Signatures (RFC 9421) and `Content-Digest` (RFC 9530) for the requests a
//! clinic system sends to a medgate repository: the CLI client signs with the tenant's WSS
//! key ([`sign_request`]), the server verifies against the registered WSS certificate
//! ([`verify_request`]). Works on `http` 1.x types; knows nothing about tenants, databases or
//! a particular HTTP client or server.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use medgate_httpsig::{sign_request, verify_request, SignOptions, VerifyPolicy, VerifyingKey};
//! use medgate_pki::{KeyAlgorithm, PrivateKey};
//!
//! let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
//! let body = br#"{"hello": "world"}"#;
//! let (mut parts, ()) = http::Request::post("https://repo.example:8443/api/v1/documents")
//!     .header("content-type", "application/json")
//!     .body(())?
//!     .into_parts();
//! sign_request(&mut parts, Some(body), &key, &SignOptions::new("clinic-wss"))?;
//!
//! let registered = VerifyingKey::from_private_key(&key)?;
//! let verified = verify_request(
//!     &parts.method, &parts.uri, &parts.headers, body, &VerifyPolicy::default(),
//!     |keyid| (keyid == "clinic-wss").then(|| registered.clone()),
//! )?;
//! assert_eq!(verified.keyid, "clinic-wss");
//! assert!(verified.content_digest_verified);
//! # Ok(())
//! # }
//! ```

pub mod algorithm;
pub mod base;
pub mod component;
pub mod digest;
pub mod error;
pub mod key;
pub mod sign;
pub mod verify;

pub use algorithm::{Algorithm, KeyType};
pub use base::{parse_signature, parse_signature_input, signature_base, SignatureParams};
pub use component::{Component, ComponentParameter, RequestView};
pub use digest::{
    content_digest_header, content_digest_header_of, content_digest_header_with,
    verify_content_digest, verify_content_digest_digests, verify_content_digest_header,
    BodyDigests, BodyHasher, DigestAlgorithm,
};
pub use error::{HttpSigError, Result, ERROR_CODES};
pub use key::{canonical_signature, ecdsa_p256_der_to_fixed, signature_hash, VerifyingKey};
pub use sign::{
    sign_message, sign_message_digested, sign_request, SignOptions, Signed, DEFAULT_LABEL,
};
pub use verify::{
    verify_request, verify_request_at, verify_request_digested, verify_request_digested_at,
    Requirement, VerifiedSignature, VerifyPolicy,
};
