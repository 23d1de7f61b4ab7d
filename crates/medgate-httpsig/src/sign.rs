//! Signing a request: `Content-Digest` for the body, then `Signature-Input` and `Signature`
//! (RFC 9421 §3.1) with the tenant's WSS key — `rsa-v1_5-sha256` for RSA keys,
//! `ecdsa-p256-sha256` (64-byte `r || s`) for P-256 keys.

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};
use medgate_pki::{PrivateKey, SignatureAlgorithm};
use time::OffsetDateTime;

use crate::algorithm::Algorithm;
use crate::base::{
    label_key, signature_base, signature_header, signature_input_header, SignatureParams,
};
use crate::component::{Component, RequestView};
use crate::digest::{
    content_digest_header, content_digest_header_of, BodyDigests, DigestAlgorithm,
};
use crate::error::{HttpSigError, Result};
use crate::key::ecdsa_p256_der_to_fixed;

/// The label medgate's signatures carry unless told otherwise.
pub const DEFAULT_LABEL: &str = "sig1";

/// How to sign. [`SignOptions::new`] gives medgate's defaults: label `sig1`, components
/// `@method` and `@target-uri` (plus `content-digest` when there is a body), `created` now,
/// `alg` included.
#[derive(Clone, Debug)]
pub struct SignOptions {
    /// The `keyid` parameter: how the server finds the key (e.g. the WSS certificate serial).
    pub keyid: String,
    /// The dictionary label of the signature.
    pub label: String,
    /// The covered components; `content-digest` is appended when a body is signed.
    pub components: Vec<Component>,
    /// Creation time; `None` means now.
    pub created: Option<OffsetDateTime>,
    /// Lifetime written as `expires = created + expires_in`; `None` writes no `expires`.
    pub expires_in: Option<time::Duration>,
    /// A `nonce` parameter.
    pub nonce: Option<String>,
    /// A `tag` parameter.
    pub tag: Option<String>,
    /// Whether to write the `alg` parameter (default true).
    pub include_alg: bool,
}

impl SignOptions {
    /// medgate's defaults for a key known to the server as `keyid`.
    pub fn new(keyid: impl Into<String>) -> Self {
        SignOptions {
            keyid: keyid.into(),
            label: DEFAULT_LABEL.to_owned(),
            components: vec![Component::known("@method"), Component::known("@target-uri")],
            created: None,
            expires_in: None,
            nonce: None,
            tag: None,
            include_alg: true,
        }
    }
}

/// What [`sign_request`] added.
#[derive(Clone, Debug, PartialEq)]
pub struct Signed {
    pub label: String,
    pub algorithm: Algorithm,
    pub params: SignatureParams,
    /// The signature bytes (as base64 in the `Signature` header).
    pub signature: Vec<u8>,
    /// The signature base that was signed.
    pub base: String,
}

/// Signs a request given as [`http::request::Parts`] (`parts.uri` must be absolute). `body`
/// `Some` (even empty) adds `Content-Digest` and covers it; `None` signs without a body.
/// Existing `Signature-Input`/`Signature` headers are replaced.
pub fn sign_request(
    parts: &mut http::request::Parts,
    body: Option<&[u8]>,
    key: &PrivateKey,
    options: &SignOptions,
) -> Result<Signed> {
    sign_message(
        &parts.method,
        &parts.uri,
        &mut parts.headers,
        body,
        key,
        options,
    )
}

/// [`sign_request`] for a request held as separate method, URI and headers.
pub fn sign_message(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    body: Option<&[u8]>,
    key: &PrivateKey,
    options: &SignOptions,
) -> Result<Signed> {
    sign_covering(
        method,
        uri,
        headers,
        body.map(content_digest_header),
        key,
        options,
    )
}

/// [`sign_message`] for a body known by its digests (a file streamed as the body, never held
/// whole): `Content-Digest` (SHA-256) is written from `digests` and covered.
pub fn sign_message_digested(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    digests: &BodyDigests,
    key: &PrivateKey,
    options: &SignOptions,
) -> Result<Signed> {
    let value = content_digest_header_of(DigestAlgorithm::Sha256, digests);
    sign_covering(method, uri, headers, Some(value), key, options)
}

/// Signs with `content_digest` (when there is a body) written and covered.
fn sign_covering(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    content_digest: Option<String>,
    key: &PrivateKey,
    options: &SignOptions,
) -> Result<Signed> {
    let algorithm = match key.signature_algorithm() {
        SignatureAlgorithm::RsaPkcs1Sha256 => Algorithm::RsaV15Sha256,
        SignatureAlgorithm::EcdsaP256Sha256 => Algorithm::EcdsaP256Sha256,
    };
    // Refuse a bad label before the request is touched.
    label_key(&options.label)?;
    let mut components = options.components.clone();
    let digest = Component::known("content-digest");
    if let Some(content_digest) = content_digest {
        let value = HeaderValue::from_str(&content_digest)
            .map_err(|e| HttpSigError::invalid_request(format!("Content-Digest value: {e}")))?;
        headers.insert(HeaderName::from_static("content-digest"), value);
        let covered = components.iter().any(|c| c.name() == "content-digest");
        if !covered {
            components.push(digest);
        }
    }
    let created = options.created.unwrap_or_else(OffsetDateTime::now_utc);
    let mut params = SignatureParams::new(components);
    params.created = Some(created.unix_timestamp());
    params.expires = options
        .expires_in
        .map(|lifetime| (created + lifetime).unix_timestamp());
    params.keyid = Some(options.keyid.clone());
    params.alg = options.include_alg.then(|| algorithm.name().to_owned());
    params.nonce = options.nonce.clone();
    params.tag = options.tag.clone();

    headers.remove("signature-input");
    headers.remove("signature");
    let base = signature_base(&RequestView::new(method, uri, headers), &params)?;
    let raw = key
        .sign(base.as_bytes())
        .map_err(|e| HttpSigError::SigningFailed {
            reason: e.to_string(),
        })?;
    let signature = match algorithm {
        Algorithm::EcdsaP256Sha256 => ecdsa_p256_der_to_fixed(&raw)
            .ok_or_else(|| HttpSigError::SigningFailed {
                reason: "the ECDSA signature is not DER (r, s) of P-256".to_owned(),
            })?
            .to_vec(),
        _ => raw,
    };
    let header = |text: String| {
        HeaderValue::from_str(&text)
            .map_err(|e| HttpSigError::invalid_request(format!("signature header: {e}")))
    };
    headers.insert(
        HeaderName::from_static("signature-input"),
        header(signature_input_header(&options.label, &params)?)?,
    );
    headers.insert(
        HeaderName::from_static("signature"),
        header(signature_header(&options.label, &signature)?)?,
    );
    Ok(Signed {
        label: options.label.clone(),
        algorithm,
        params,
        signature,
        base,
    })
}
