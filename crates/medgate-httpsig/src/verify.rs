//! Verifying a signed request (RFC 9421 §3.2) under a [`VerifyPolicy`]: which components must
//! be covered, how old or early `created` may be, which algorithms count; the body is checked
//! against its covered `Content-Digest`. The result carries a hash of the signature bytes for
//! the caller's replay cache.

use std::time::Duration;

use http::{HeaderMap, Method, Uri};
use time::OffsetDateTime;

use crate::algorithm::{Algorithm, KeyType};
use crate::base::{parse_signature, parse_signature_input, signature_base, SignatureParams};
use crate::component::{combined_field_value, Component, RequestView};
use crate::digest::{verify_content_digest_digests, BodyDigests};
use crate::error::{HttpSigError, Result};
use crate::key::{signature_hash, VerifyingKey};

/// A component the policy requires, satisfied by any one of its alternatives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    any_of: Vec<Component>,
}

impl Requirement {
    /// One component, e.g. `@method` or `content-type`.
    pub fn component(text: &str) -> Result<Self> {
        Ok(Requirement {
            any_of: vec![Component::parse(text)?],
        })
    }

    /// Any one of several components.
    pub fn any_of(texts: &[&str]) -> Result<Self> {
        let any_of = texts
            .iter()
            .map(|text| Component::parse(text))
            .collect::<Result<Vec<_>>>()?;
        if any_of.is_empty() {
            return Err(HttpSigError::invalid_request(
                "a requirement needs a component",
            ));
        }
        Ok(Requirement { any_of })
    }

    /// `@method`.
    pub fn method() -> Self {
        Requirement {
            any_of: vec![Component::known("@method")],
        }
    }

    /// "The path is covered": `@path`, `@target-uri` or `@request-target`.
    pub fn path() -> Self {
        Requirement {
            any_of: vec![
                Component::known("@path"),
                Component::known("@target-uri"),
                Component::known("@request-target"),
            ],
        }
    }

    fn satisfied_by(&self, covered: &[Component]) -> bool {
        self.any_of.iter().any(|wanted| covered.contains(wanted))
    }

    fn describe(&self) -> String {
        let names: Vec<String> = self.any_of.iter().map(ToString::to_string).collect();
        match names.split_first() {
            Some((first, rest)) if !rest.is_empty() => {
                format!("{first} (or {})", rest.join(", "))
            }
            _ => names.join(""),
        }
    }
}

/// What a verifier demands of a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Components that must be covered (default: `@method`, and `@path` or `@target-uri` or
    /// `@request-target`).
    pub required_components: Vec<Requirement>,
    /// A non-empty body needs a `Content-Digest` that the signature covers (default true).
    pub require_content_digest: bool,
    /// How old `created` may be (default 300 s).
    pub max_age: Duration,
    /// How far in the future `created` may be, and how long after `expires` a signature is
    /// still taken (clock skew; default 30 s).
    pub max_future_skew: Duration,
    /// Accepted algorithms (default all three).
    pub algorithms: Vec<Algorithm>,
    /// Only the signature with this label counts.
    pub label: Option<String>,
    /// Only signatures with this `tag` parameter count.
    pub tag: Option<String>,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        VerifyPolicy {
            required_components: vec![Requirement::method(), Requirement::path()],
            require_content_digest: true,
            max_age: Duration::from_secs(300),
            max_future_skew: Duration::from_secs(30),
            algorithms: Algorithm::ALL.to_vec(),
            label: None,
            tag: None,
        }
    }
}

/// A signature that verified, and what it vouches for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub label: String,
    pub keyid: String,
    pub algorithm: Algorithm,
    pub created: OffsetDateTime,
    pub expires: Option<OffsetDateTime>,
    pub nonce: Option<String>,
    pub tag: Option<String>,
    /// The covered components, e.g. `["@method", "@target-uri", "content-digest"]`.
    pub components: Vec<String>,
    /// True when the body was checked against a covered `Content-Digest`.
    pub content_digest_verified: bool,
    /// Hex SHA-256 of the signature bytes (ECDSA made canonical, see
    /// [`crate::key::canonical_signature`]): remember it until `created + max_age` and refuse
    /// a request that shows it again.
    pub signature_hash: String,
}

/// Verifies the request's signature now. `uri` must be the absolute URI (scheme and
/// authority as the client addressed the server); `body` is the body as received (empty when
/// none). `key_lookup` maps a `keyid` to the registered key.
pub fn verify_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    policy: &VerifyPolicy,
    key_lookup: impl Fn(&str) -> Option<VerifyingKey>,
) -> Result<VerifiedSignature> {
    verify_request_at(
        method,
        uri,
        headers,
        body,
        policy,
        key_lookup,
        OffsetDateTime::now_utc(),
    )
}

/// [`verify_request`] at a given time.
pub fn verify_request_at(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    policy: &VerifyPolicy,
    key_lookup: impl Fn(&str) -> Option<VerifyingKey>,
    now: OffsetDateTime,
) -> Result<VerifiedSignature> {
    verify_request_digested_at(
        method,
        uri,
        headers,
        &BodyDigests::of(body),
        policy,
        key_lookup,
        now,
    )
}

/// [`verify_request`] for a body that is not in memory: `body` holds its length and
/// digests, computed while it was received (a server streaming an upload to a file). The
/// same checks and refusals; the covered `Content-Digest` is checked against `body`.
pub fn verify_request_digested(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &BodyDigests,
    policy: &VerifyPolicy,
    key_lookup: impl Fn(&str) -> Option<VerifyingKey>,
) -> Result<VerifiedSignature> {
    verify_request_digested_at(
        method,
        uri,
        headers,
        body,
        policy,
        key_lookup,
        OffsetDateTime::now_utc(),
    )
}

/// [`verify_request_digested`] at a given time.
pub fn verify_request_digested_at(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &BodyDigests,
    policy: &VerifyPolicy,
    key_lookup: impl Fn(&str) -> Option<VerifyingKey>,
    now: OffsetDateTime,
) -> Result<VerifiedSignature> {
    let missing = |reason: &str| HttpSigError::MissingSignature {
        reason: reason.to_owned(),
    };
    let input = combined_field_value(headers, "signature-input")?
        .ok_or_else(|| missing("there is no Signature-Input header"))?;
    let signature = combined_field_value(headers, "signature")?
        .ok_or_else(|| missing("there is no Signature header"))?;
    let inputs = parse_signature_input(&input)?;
    let signatures = parse_signature(&signature)?;
    if inputs.is_empty() {
        return Err(missing("the Signature-Input header is empty"));
    }
    for (label, _) in &signatures {
        if !inputs.iter().any(|(l, _)| l == label) {
            return Err(HttpSigError::malformed(format!(
                "Signature has a member '{label}' that Signature-Input does not describe"
            )));
        }
    }
    let candidates: Vec<&(String, SignatureParams)> = inputs
        .iter()
        .filter(|(label, _)| policy.label.as_ref().is_none_or(|wanted| wanted == label))
        .filter(|(_, params)| {
            policy
                .tag
                .as_ref()
                .is_none_or(|wanted| params.tag.as_ref() == Some(wanted))
        })
        .collect();
    if candidates.is_empty() {
        let labels: Vec<&str> = inputs.iter().map(|(l, _)| l.as_str()).collect();
        let reason = match (&policy.label, &policy.tag) {
            (Some(label), _) => format!(
                "no signature is labelled '{label}' (found: {})",
                labels.join(", ")
            ),
            (None, Some(tag)) => format!("no signature has tag=\"{tag}\""),
            (None, None) => "no signature".to_owned(),
        };
        return Err(HttpSigError::MissingSignature { reason });
    }
    let request = RequestView::new(method, uri, headers);
    let mut first_error = None;
    for (label, params) in candidates {
        let Some((_, bytes)) = signatures.iter().find(|(l, _)| l == label) else {
            return Err(HttpSigError::malformed(format!(
                "Signature-Input describes '{label}' but the Signature header has no '{label}'"
            )));
        };
        let check = Check {
            request: &request,
            body,
            policy,
            label,
            params,
            signature: bytes,
            now,
        };
        match check.run(&key_lookup) {
            Ok(verified) => return Ok(verified),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| missing("no signature")))
}

struct Check<'a> {
    request: &'a RequestView<'a>,
    body: &'a BodyDigests,
    policy: &'a VerifyPolicy,
    label: &'a str,
    params: &'a SignatureParams,
    signature: &'a [u8],
    now: OffsetDateTime,
}

impl Check<'_> {
    fn run(&self, key_lookup: &impl Fn(&str) -> Option<VerifyingKey>) -> Result<VerifiedSignature> {
        let Check {
            request,
            body,
            policy,
            label,
            params,
            signature,
            now,
        } = self;
        let covered = &params.components;
        let covered_names = || {
            let names = params.component_names();
            if names.is_empty() {
                "nothing".to_owned()
            } else {
                names.join(", ")
            }
        };

        // 1. Coverage.
        for requirement in &policy.required_components {
            if !requirement.satisfied_by(covered) {
                return Err(HttpSigError::ComponentNotCovered {
                    label: label.to_string(),
                    required: requirement.describe(),
                    covered: covered_names(),
                });
            }
        }
        let digest_header = combined_field_value(request.headers, "content-digest")?;
        let digest_covered = covered.iter().any(|c| c.name() == "content-digest");
        if !body.is_empty() && policy.require_content_digest {
            if digest_header.is_none() {
                return Err(HttpSigError::DigestMissing {
                    reason: format!(
                        "the request has a body of {} bytes but no Content-Digest header",
                        body.len()
                    ),
                });
            }
            if !digest_covered {
                return Err(HttpSigError::ComponentNotCovered {
                    label: label.to_string(),
                    required: "content-digest".to_owned(),
                    covered: covered_names(),
                });
            }
        }

        // 2. Time window.
        let Some(created) = params.created else {
            return Err(HttpSigError::malformed(format!(
                "signature '{label}' has no created parameter; sign with a creation time"
            )));
        };
        let created_at = OffsetDateTime::from_unix_timestamp(created).map_err(|_| {
            HttpSigError::malformed(format!("signature '{label}': created={created} is no time"))
        })?;
        let now_seconds = now.unix_timestamp();
        let age = now_seconds.saturating_sub(created);
        let max_age = i64::try_from(policy.max_age.as_secs()).unwrap_or(i64::MAX);
        let skew = i64::try_from(policy.max_future_skew.as_secs()).unwrap_or(i64::MAX);
        if age > max_age {
            return Err(HttpSigError::SignatureExpired {
                reason: format!(
                    "signature '{label}' was created {age} s ago ({}), more than the {max_age} s \
                     allowed",
                    describe_time(created_at)
                ),
            });
        }
        if -age > skew {
            return Err(HttpSigError::SignatureInFuture {
                ahead_seconds: -age,
                allowed_seconds: policy.max_future_skew.as_secs(),
            });
        }
        let expires_at = match params.expires {
            Some(expires) => {
                let at = OffsetDateTime::from_unix_timestamp(expires).map_err(|_| {
                    HttpSigError::malformed(format!(
                        "signature '{label}': expires={expires} is no time"
                    ))
                })?;
                if now_seconds > expires.saturating_add(skew) {
                    return Err(HttpSigError::SignatureExpired {
                        reason: format!(
                            "signature '{label}' expired at {} ({} s ago)",
                            describe_time(at),
                            now_seconds - expires
                        ),
                    });
                }
                Some(at)
            }
            None => None,
        };

        // 3. Body.
        let mut content_digest_verified = false;
        if digest_covered {
            let Some(value) = digest_header else {
                return Err(HttpSigError::DigestMissing {
                    reason: "the signature covers content-digest but the request has no \
                             Content-Digest header"
                        .to_owned(),
                });
            };
            verify_content_digest_digests(&value, body)?;
            content_digest_verified = true;
        }

        // 4. Algorithm and key.
        let named = params
            .alg
            .as_deref()
            .map(Algorithm::from_name)
            .transpose()?;
        if let Some(algorithm) = named {
            accept(policy, algorithm)?;
        }
        let Some(keyid) = params.keyid.as_deref() else {
            return Err(HttpSigError::malformed(format!(
                "signature '{label}' has no keyid parameter; name the signing key"
            )));
        };
        let key = key_lookup(keyid).ok_or_else(|| HttpSigError::UnknownKey {
            keyid: keyid.to_owned(),
        })?;
        let algorithm = named.unwrap_or_else(|| key.default_algorithm());
        accept(policy, algorithm)?;
        key.check_algorithm(algorithm)?;

        // 5. Signature.
        let base = signature_base(request, params)?;
        let what = |hint: &str| HttpSigError::BadSignature {
            what: format!("'{label}' (keyid \"{keyid}\", {algorithm}){hint}"),
        };
        if key.key_type() == KeyType::EcdsaP256 && signature.len() != 64 {
            return Err(what(&format!(
                " — an ecdsa-p256-sha256 signature is 64 bytes r || s (RFC 9421 §3.3.4), this \
                 one has {}{}",
                signature.len(),
                if signature.first() == Some(&0x30) {
                    " and looks like ASN.1 DER"
                } else {
                    ""
                }
            )));
        }
        key.verify(algorithm, base.as_bytes(), signature)
            .map_err(|_| what(""))?;

        Ok(VerifiedSignature {
            label: label.to_string(),
            keyid: keyid.to_owned(),
            algorithm,
            created: created_at,
            expires: expires_at,
            nonce: params.nonce.clone(),
            tag: params.tag.clone(),
            components: params.component_names(),
            content_digest_verified,
            signature_hash: signature_hash(algorithm, signature),
        })
    }
}

fn accept(policy: &VerifyPolicy, algorithm: Algorithm) -> Result<()> {
    if policy.algorithms.contains(&algorithm) {
        return Ok(());
    }
    let accepted: Vec<&str> = policy.algorithms.iter().map(|a| a.name()).collect();
    Err(HttpSigError::UnsupportedAlgorithm {
        algorithm: algorithm.name().to_owned(),
        reason: format!("this server accepts only {}", accepted.join(", ")),
    })
}

fn describe_time(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}
