//! Sign with `sign_request`, verify with `verify_request`: RSA and P-256 round trips, the
//! headers written, replay hashes, several signatures, keys from certificates, and every
//! error code with a message that names the cause.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use http::{HeaderValue, Method};
use medgate_httpsig::{
    content_digest_header, parse_signature, sign_request, verify_request, verify_request_at,
    verify_request_digested, verify_request_digested_at, Algorithm, BodyDigests, BodyHasher, Component, HttpSigError, Requirement, SignOptions, VerifiedSignature, VerifyPolicy,
    VerifyingKey, ERROR_CODES,
};
use medgate_pki::{Certificate, KeyAlgorithm, PrivateKey};
use time::OffsetDateTime;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const KEYID: &str = "clinic-7-wss";
const URI: &str = "https://repo.example.test:8443/api/v1/documents?patient=PESEL%3A44051401359&x=1";
const BODY: &[u8] = b"<ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>";

fn key(algorithm: KeyAlgorithm) -> &'static PrivateKey {
    static RSA: OnceLock<Option<PrivateKey>> = OnceLock::new();
    static EC: OnceLock<Option<PrivateKey>> = OnceLock::new();
    let cell = match algorithm {
        KeyAlgorithm::EcdsaP256 => &EC,
        _ => &RSA,
    };
    match cell.get_or_init(|| PrivateKey::generate(algorithm).ok()) {
        Some(key) => key,
        None => panic!("key generation failed"),
    }
}

fn request_parts(
    method: Method,
    uri: &str,
) -> Result<http::request::Parts, Box<dyn std::error::Error>> {
    let (parts, ()) = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/xml")
        .body(())?
        .into_parts();
    Ok(parts)
}

fn signed_post(
    algorithm: KeyAlgorithm,
    options: &SignOptions,
) -> Result<http::request::Parts, Box<dyn std::error::Error>> {
    let mut parts = request_parts(Method::POST, URI)?;
    sign_request(&mut parts, Some(BODY), key(algorithm), options)?;
    Ok(parts)
}

fn registered(algorithm: KeyAlgorithm) -> Result<VerifyingKey, HttpSigError> {
    VerifyingKey::from_private_key(key(algorithm))
}

fn verify_with(
    parts: &http::request::Parts,
    body: &[u8],
    policy: &VerifyPolicy,
    algorithm: KeyAlgorithm,
) -> Result<VerifiedSignature, HttpSigError> {
    let key = registered(algorithm)?;
    verify_request(
        &parts.method,
        &parts.uri,
        &parts.headers,
        body,
        policy,
        |keyid| (keyid == KEYID).then(|| key.clone()),
    )
}

fn code<T>(result: Result<T, HttpSigError>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(error) => {
            // Every message says something beyond the code.
            assert!(error.to_string().len() > 40, "{error}");
            error.code().to_owned()
        }
    }
}

fn message<T: std::fmt::Debug>(result: Result<T, HttpSigError>) -> String {
    result.err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn rsa_round_trip_writes_rfc9421_headers() -> TestResult {
    let parts = signed_post(KeyAlgorithm::Rsa2048, &SignOptions::new(KEYID))?;
    let input = parts
        .headers
        .get("signature-input")
        .ok_or("no input")?
        .to_str()?;
    assert!(
        input.starts_with(r#"sig1=("@method" "@target-uri" "content-digest");created="#),
        "{input}"
    );
    assert!(
        input.ends_with(r#";keyid="clinic-7-wss";alg="rsa-v1_5-sha256""#),
        "{input}"
    );
    assert_eq!(
        parts
            .headers
            .get("content-digest")
            .ok_or("no digest")?
            .to_str()?,
        content_digest_header(BODY)
    );
    let verified = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::Rsa2048,
    )?;
    assert_eq!(verified.label, "sig1");
    assert_eq!(verified.keyid, KEYID);
    assert_eq!(verified.algorithm, Algorithm::RsaV15Sha256);
    assert_eq!(
        verified.components,
        ["@method", "@target-uri", "content-digest"]
    );
    assert!(verified.content_digest_verified);
    assert_eq!(verified.signature_hash.len(), 64);
    assert!(
        (OffsetDateTime::now_utc() - verified.created)
            .whole_seconds()
            .abs()
            < 5
    );
    Ok(())
}

#[test]
fn p256_round_trip_uses_fixed_width_signatures() -> TestResult {
    let parts = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    let signature = parts
        .headers
        .get("signature")
        .ok_or("no signature")?
        .to_str()?;
    let members = parse_signature(signature)?;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].1.len(), 64, "r || s, not DER");
    let verified = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    )?;
    assert_eq!(verified.algorithm, Algorithm::EcdsaP256Sha256);
    Ok(())
}

#[test]
fn without_alg_the_key_type_decides() -> TestResult {
    for algorithm in [KeyAlgorithm::Rsa2048, KeyAlgorithm::EcdsaP256] {
        let options = SignOptions {
            include_alg: false,
            ..SignOptions::new(KEYID)
        };
        let parts = signed_post(algorithm, &options)?;
        let input = parts
            .headers
            .get("signature-input")
            .ok_or("no input")?
            .to_str()?;
        assert!(!input.contains("alg="), "{input}");
        verify_with(&parts, BODY, &VerifyPolicy::default(), algorithm)?;
    }
    Ok(())
}

#[test]
fn a_get_without_body_and_other_options() -> TestResult {
    let mut parts = request_parts(Method::GET, "https://repo.example.test/api/v1/documents")?;
    let options = SignOptions {
        label: "medgate".into(),
        components: vec![
            Component::parse("@method")?,
            Component::parse("@path")?,
            Component::parse("@authority")?,
            Component::parse("Content-Type")?,
        ],
        expires_in: Some(time::Duration::seconds(60)),
        nonce: Some("n-1".into()),
        tag: Some("medgate-client".into()),
        ..SignOptions::new(KEYID)
    };
    let signed = sign_request(&mut parts, None, key(KeyAlgorithm::EcdsaP256), &options)?;
    assert!(parts.headers.get("content-digest").is_none());
    assert!(signed.base.starts_with("\"@method\": GET\n\"@path\": /api/v1/documents\n\"@authority\": repo.example.test\n\"content-type\": application/xml\n"));
    let policy = VerifyPolicy {
        tag: Some("medgate-client".into()),
        required_components: vec![
            Requirement::method(),
            Requirement::path(),
            Requirement::component("@authority")?,
        ],
        ..VerifyPolicy::default()
    };
    let verified = verify_with(&parts, b"", &policy, KeyAlgorithm::EcdsaP256)?;
    assert_eq!(verified.label, "medgate");
    assert_eq!(verified.nonce.as_deref(), Some("n-1"));
    assert!(verified.expires.is_some());
    assert!(!verified.content_digest_verified);
    Ok(())
}

#[test]
fn replays_show_the_same_hash_and_new_requests_a_new_one() -> TestResult {
    let first = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    let again = verify_with(
        &first,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    )?;
    let replay = verify_with(
        &first,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    )?;
    assert_eq!(again.signature_hash, replay.signature_hash);
    let second = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    let other = verify_with(
        &second,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    )?;
    assert_ne!(again.signature_hash, other.signature_hash);
    Ok(())
}

#[test]
fn a_certificate_gives_the_verifying_key() -> TestResult {
    let pair = key(KeyAlgorithm::EcdsaP256).rcgen_key_pair()?;
    let certificate =
        rcgen::CertificateParams::new(vec!["clinic.example".to_owned()])?.self_signed(&pair)?;
    let certificate = Certificate::from_der(certificate.der().to_vec(), Path::new("wss.crt"))?;
    let from_certificate = VerifyingKey::from_certificate(&certificate)?;
    assert_eq!(from_certificate, registered(KeyAlgorithm::EcdsaP256)?);
    assert_eq!(
        VerifyingKey::from_pem(&certificate.to_pem())?,
        from_certificate
    );
    Ok(())
}

#[test]
fn one_good_signature_among_several_is_enough_and_labels_select() -> TestResult {
    let mut parts = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    let good_input = parts
        .headers
        .get("signature-input")
        .ok_or("input")?
        .to_str()?
        .to_owned();
    let good_signature = parts
        .headers
        .get("signature")
        .ok_or("sig")?
        .to_str()?
        .to_owned();
    // A second signature by an unknown key, listed first.
    parts.headers.insert(
        "signature-input",
        HeaderValue::from_str(&format!(
            r#"proxy=("@method");created={};keyid="proxy""#,
            OffsetDateTime::now_utc().unix_timestamp()
        ))?,
    );
    parts
        .headers
        .append("signature-input", HeaderValue::from_str(&good_input)?);
    parts
        .headers
        .insert("signature", HeaderValue::from_static("proxy=:AAAA:"));
    parts
        .headers
        .append("signature", HeaderValue::from_str(&good_signature)?);
    let verified = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    )?;
    assert_eq!(verified.label, "sig1");
    let only_proxy = VerifyPolicy {
        label: Some("proxy".into()),
        ..VerifyPolicy::default()
    };
    assert_eq!(
        code(verify_with(
            &parts,
            BODY,
            &only_proxy,
            KeyAlgorithm::EcdsaP256
        )),
        "component_not_covered"
    );
    Ok(())
}

// ---- every error code ------------------------------------------------------------------

#[test]
fn missing_signature() -> TestResult {
    let parts = request_parts(Method::POST, URI)?;
    let result = verify_with(
        &parts,
        b"",
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert!(message(result.clone()).contains("no Signature-Input header"));
    assert_eq!(code(result), "missing_signature");
    let signed = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    let policy = VerifyPolicy {
        label: Some("other".into()),
        ..VerifyPolicy::default()
    };
    let result = verify_with(&signed, BODY, &policy, KeyAlgorithm::EcdsaP256);
    assert!(message(result.clone()).contains("no signature is labelled 'other' (found: sig1)"));
    assert_eq!(code(result), "missing_signature");
    Ok(())
}

#[test]
fn malformed_signature_input() -> TestResult {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let cases = [
        ("sig1=(", "sig1=:AAAA:", "not a structured dictionary"),
        (
            r#"sig1=("@method" "@path");created=1"#,
            "sig2=:AAAA:",
            "'sig2' that Signature-Input does not describe",
        ),
        (
            r#"sig1=("@method" "@path")"#,
            "sig1=:AAAA:",
            "no created parameter",
        ),
        (
            &format!(r#"sig1=("@method" "@path");created={now}"#),
            "sig1=:AAAA:",
            "no keyid parameter",
        ),
        (
            &format!(r#"sig1=("@method" "@path" "@method");created={now};keyid="clinic-7-wss""#),
            "sig1=:AAAA:",
            "covered twice",
        ),
    ];
    for (input, signature, expected) in cases {
        let mut parts = request_parts(Method::GET, URI)?;
        parts
            .headers
            .insert("signature-input", HeaderValue::from_str(input)?);
        parts
            .headers
            .insert("signature", HeaderValue::from_str(signature)?);
        let result = verify_with(
            &parts,
            b"",
            &VerifyPolicy::default(),
            KeyAlgorithm::EcdsaP256,
        );
        assert!(
            message(result.clone()).contains(expected),
            "{input}: {}",
            message(result.clone())
        );
        assert_eq!(code(result), "malformed_signature_input", "{input}");
    }
    Ok(())
}

#[test]
fn component_not_covered() -> TestResult {
    let options = SignOptions {
        components: vec![Component::parse("@method")?],
        ..SignOptions::new(KEYID)
    };
    let parts = signed_post(KeyAlgorithm::EcdsaP256, &options)?;
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    let text = message(result.clone());
    assert!(
        text.contains("does not cover @path (or @target-uri, @request-target)"),
        "{text}"
    );
    assert!(
        text.contains("it covers: @method, content-digest"),
        "{text}"
    );
    assert_eq!(code(result), "component_not_covered");

    // A body whose Content-Digest is sent but not signed.
    let mut parts = parts_without_body_signature()?;
    parts.headers.insert(
        "content-digest",
        HeaderValue::from_str(&content_digest_header(BODY))?,
    );
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert!(message(result.clone()).contains("does not cover content-digest"));
    assert_eq!(code(result), "component_not_covered");
    Ok(())
}

/// A POST signed as if it had no body.
fn parts_without_body_signature() -> Result<http::request::Parts, Box<dyn std::error::Error>> {
    let mut parts = request_parts(Method::POST, URI)?;
    sign_request(
        &mut parts,
        None,
        key(KeyAlgorithm::EcdsaP256),
        &SignOptions::new(KEYID),
    )?;
    Ok(parts)
}

#[test]
fn missing_component() -> TestResult {
    let options = SignOptions {
        components: vec![
            Component::parse("@method")?,
            Component::parse("@target-uri")?,
            Component::parse("x-clinic-id")?,
        ],
        ..SignOptions::new(KEYID)
    };
    let mut parts = request_parts(Method::POST, URI)?;
    let result = sign_request(
        &mut parts,
        Some(BODY),
        key(KeyAlgorithm::EcdsaP256),
        &options,
    );
    assert_eq!(code(result), "missing_component");
    parts
        .headers
        .insert("x-clinic-id", HeaderValue::from_static("7"));
    sign_request(
        &mut parts,
        Some(BODY),
        key(KeyAlgorithm::EcdsaP256),
        &options,
    )?;
    parts.headers.remove("x-clinic-id");
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert!(message(result.clone()).contains("header x-clinic-id"));
    assert_eq!(code(result), "missing_component");
    Ok(())
}

#[test]
fn signature_expired() -> TestResult {
    let options = SignOptions {
        created: Some(OffsetDateTime::now_utc() - time::Duration::seconds(301)),
        ..SignOptions::new(KEYID)
    };
    let parts = signed_post(KeyAlgorithm::EcdsaP256, &options)?;
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    let text = message(result.clone());
    assert!(
        text.contains("was created 301 s ago") || text.contains("was created 302 s ago"),
        "{text}"
    );
    assert!(text.contains("more than the 300 s allowed"), "{text}");
    assert_eq!(code(result), "signature_expired");
    // A longer max_age accepts it.
    let patient = VerifyPolicy {
        max_age: Duration::from_secs(600),
        ..VerifyPolicy::default()
    };
    verify_with(&parts, BODY, &patient, KeyAlgorithm::EcdsaP256)?;

    // expires in the past (beyond the skew).
    let options = SignOptions {
        created: Some(OffsetDateTime::now_utc() - time::Duration::seconds(100)),
        expires_in: Some(time::Duration::seconds(10)),
        ..SignOptions::new(KEYID)
    };
    let parts = signed_post(KeyAlgorithm::EcdsaP256, &options)?;
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert!(message(result.clone()).contains("expired at"));
    assert_eq!(code(result), "signature_expired");
    Ok(())
}

#[test]
fn signature_in_future() -> TestResult {
    let options = SignOptions {
        created: Some(OffsetDateTime::now_utc() + time::Duration::seconds(120)),
        ..SignOptions::new(KEYID)
    };
    let parts = signed_post(KeyAlgorithm::EcdsaP256, &options)?;
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert!(message(result.clone()).contains("at most 30 s of clock skew"));
    assert_eq!(code(result), "signature_in_future");
    // Within the skew it passes.
    let options = SignOptions {
        created: Some(OffsetDateTime::now_utc() + time::Duration::seconds(20)),
        ..SignOptions::new(KEYID)
    };
    let parts = signed_post(KeyAlgorithm::EcdsaP256, &options)?;
    verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    )?;
    Ok(())
}

#[test]
fn digest_missing_mismatch_and_malformed() -> TestResult {
    // Body sent, no Content-Digest at all.
    let parts = parts_without_body_signature()?;
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert!(message(result.clone()).contains("body of 42 bytes but no Content-Digest"));
    assert_eq!(code(result), "digest_missing");

    // Body changed after signing.
    let parts = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    let result = verify_with(
        &parts,
        b"<changed/>",
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert!(message(result.clone()).contains("Content-Digest sha-256 does not match"));
    assert_eq!(code(result), "digest_mismatch");

    // Digest header replaced by garbage.
    let mut parts = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    parts.headers.insert(
        "content-digest",
        HeaderValue::from_static("sha-256=not-base64"),
    );
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert_eq!(code(result), "malformed_digest");
    Ok(())
}

#[test]
fn unknown_and_invalid_keys() -> TestResult {
    let parts = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new("someone-else"))?;
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert!(message(result.clone()).contains("\"someone-else\""));
    assert_eq!(code(result), "unknown_key");
    assert_eq!(
        code(VerifyingKey::from_spki_der(b"\x30\x03\x02\x01\x00")),
        "invalid_key"
    );
    Ok(())
}

#[test]
fn bad_signature() -> TestResult {
    // Another method than the one signed.
    let mut parts = signed_post(KeyAlgorithm::Rsa2048, &SignOptions::new(KEYID))?;
    parts.method = Method::PUT;
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::Rsa2048,
    );
    assert!(message(result.clone()).contains("'sig1' (keyid \"clinic-7-wss\", rsa-v1_5-sha256)"));
    assert_eq!(code(result), "bad_signature");

    // Another target.
    let mut parts = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    parts.uri = "https://repo.example.test:8443/api/v1/documents?patient=other".parse()?;
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert_eq!(code(result), "bad_signature");

    // Signed by another key than the registered one.
    let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
    let mut parts = request_parts(Method::POST, URI)?;
    sign_request(&mut parts, Some(BODY), &other, &SignOptions::new(KEYID))?;
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert_eq!(code(result), "bad_signature");

    // A DER ECDSA signature is named as such.
    let mut parts = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    let der = key(KeyAlgorithm::EcdsaP256).sign(b"x")?;
    let der_header = medgate_httpsig::parse_signature("sig1=:AAAA:")
        .map(|_| format!("sig1=:{}:", base64_encode(&der)))?;
    parts
        .headers
        .insert("signature", HeaderValue::from_str(&der_header)?);
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert!(message(result.clone()).contains("looks like ASN.1 DER"));
    assert_eq!(code(result), "bad_signature");
    Ok(())
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn unsupported_algorithm() -> TestResult {
    // hmac named in the input.
    let options = SignOptions {
        include_alg: false,
        ..SignOptions::new(KEYID)
    };
    let mut parts = signed_post(KeyAlgorithm::EcdsaP256, &options)?;
    let input = parts
        .headers
        .get("signature-input")
        .ok_or("input")?
        .to_str()?
        .to_owned();
    parts.headers.insert(
        "signature-input",
        HeaderValue::from_str(&format!("{input};alg=\"hmac-sha256\""))?,
    );
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert!(message(result.clone()).contains("HMAC"));
    assert_eq!(code(result), "unsupported_algorithm");

    // An RSA algorithm claimed for the registered P-256 key.
    parts.headers.insert(
        "signature-input",
        HeaderValue::from_str(&format!("{input};alg=\"rsa-pss-sha512\""))?,
    );
    let result = verify_with(
        &parts,
        BODY,
        &VerifyPolicy::default(),
        KeyAlgorithm::EcdsaP256,
    );
    assert!(message(result.clone()).contains("needs an RSA key"));
    assert_eq!(code(result), "unsupported_algorithm");

    // An algorithm the policy does not accept.
    let parts = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    let rsa_only = VerifyPolicy {
        algorithms: vec![Algorithm::RsaV15Sha256, Algorithm::RsaPssSha512],
        ..VerifyPolicy::default()
    };
    let result = verify_with(&parts, BODY, &rsa_only, KeyAlgorithm::EcdsaP256);
    assert!(message(result.clone()).contains("accepts only rsa-v1_5-sha256, rsa-pss-sha512"));
    assert_eq!(code(result), "unsupported_algorithm");
    Ok(())
}

#[test]
fn invalid_request() -> TestResult {
    // The server must hand in the absolute URI; an origin-form one cannot give @target-uri.
    let parts = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    let key = registered(KeyAlgorithm::EcdsaP256)?;
    let origin_form: http::Uri = "/api/v1/documents?patient=PESEL%3A44051401359&x=1".parse()?;
    let result = verify_request_at(
        &parts.method,
        &origin_form,
        &parts.headers,
        BODY,
        &VerifyPolicy::default(),
        |_| Some(key.clone()),
        OffsetDateTime::now_utc(),
    );
    assert!(message(result.clone()).contains("has no scheme"));
    assert_eq!(code(result), "invalid_request");
    // A label that is no structured-field key.
    let options = SignOptions {
        label: "Sig 1".into(),
        ..SignOptions::new(KEYID)
    };
    let mut parts = request_parts(Method::POST, URI)?;
    let result = sign_request(&mut parts, Some(BODY), key_ec(), &options);
    assert_eq!(code(result), "invalid_request");
    assert!(
        parts.headers.get("content-digest").is_none(),
        "nothing added on failure"
    );
    Ok(())
}

fn key_ec() -> &'static PrivateKey {
    key(KeyAlgorithm::EcdsaP256)
}

#[test]
fn every_code_is_documented() {
    // signing_failed needs a failing private key and is not reachable here; the others are
    // exercised by the tests above.
    assert_eq!(ERROR_CODES.len(), 15);
    for wanted in [
        "missing_signature",
        "malformed_signature_input",
        "component_not_covered",
        "signature_expired",
        "signature_in_future",
        "digest_mismatch",
        "digest_missing",
        "unknown_key",
        "bad_signature",
        "unsupported_algorithm",
    ] {
        assert!(ERROR_CODES.contains(&wanted), "{wanted}");
    }
}

/// A body received in chunks and verified by its digests alone: the same verdicts as over
/// the bytes, including a refusal naming the length when the body is not the one signed.
#[test]
fn digested_body_verifies_like_the_bytes() -> TestResult {
    let parts = signed_post(KeyAlgorithm::EcdsaP256, &SignOptions::new(KEYID))?;
    let key = registered(KeyAlgorithm::EcdsaP256)?;
    let lookup = |keyid: &str| (keyid == KEYID).then(|| key.clone());
    let mut hasher = BodyHasher::new();
    for chunk in BODY.chunks(7) {
        hasher.update(chunk);
    }
    let digests = hasher.finish();
    let verified = verify_request_digested(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &digests,
        &VerifyPolicy::default(),
        lookup,
    )?;
    assert!(verified.content_digest_verified);
    let over_bytes = verify_with(&parts, BODY, &VerifyPolicy::default(), KeyAlgorithm::EcdsaP256)?;
    assert_eq!(verified.signature_hash, over_bytes.signature_hash);

    let other = BodyDigests::of(b"<ClinicalDocument/>");
    let refused = verify_request_digested(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &other,
        &VerifyPolicy::default(),
        lookup,
    );
    let message = refused.as_ref().err().map(ToString::to_string).unwrap_or_default();
    assert_eq!(code(refused), "digest_mismatch");
    assert!(message.contains("19 bytes"), "{message}");

    // The time window applies as over the bytes.
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let expired = verify_request_digested_at(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &digests,
        &VerifyPolicy::default(),
        lookup,
        later,
    );
    assert_eq!(code(expired), "signature_expired");
    Ok(())
}
