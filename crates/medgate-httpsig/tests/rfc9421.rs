//! RFC 9421 Appendix B test vectors: the signature bases of B.2.1–B.2.6 reproduced exactly,
//! and the published signatures verified (RSA-PSS B.2.1–B.2.3 through `verify_request_at`,
//! ECDSA B.2.4 with the 64-byte `r || s`; HMAC B.2.5 and Ed25519 B.2.6 recomputed
//! bit for bit, which proves those bases to the last byte).

use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Method, Uri};
use medgate_httpsig::{
    parse_signature, parse_signature_input, signature_base, verify_request_at, Algorithm,
    HttpSigError, RequestView, VerifyPolicy, VerifyingKey,
};
use time::OffsetDateTime;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// B.1.2 test-key-rsa-pss (public).
const TEST_KEY_RSA_PSS: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----
";

/// B.1.3 test-key-ecc-p256 (public).
const TEST_KEY_ECC_P256: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----
";

/// B.1.4 test-key-ed25519 (public).
const TEST_KEY_ED25519: &str = "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=";

/// B.1.5 test-shared-secret.
const TEST_SHARED_SECRET: &str =
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";

const CREATED: i64 = 1_618_884_473;

const DIGEST_512: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

const BODY: &[u8] = br#"{"hello": "world"}"#;

/// The B.2 test request.
struct TestRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

fn test_request() -> Result<TestRequest, Box<dyn std::error::Error>> {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("example.com"));
    headers.insert(
        "date",
        HeaderValue::from_static("Tue, 20 Apr 2021 02:07:55 GMT"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("content-digest", HeaderValue::from_static(DIGEST_512));
    headers.insert("content-length", HeaderValue::from_static("18"));
    Ok(TestRequest {
        method: Method::POST,
        uri: "https://example.com/foo?param=Value&Pet=dog".parse()?,
        headers,
    })
}

fn base_of(request: &TestRequest, signature_input: &str) -> Result<String, HttpSigError> {
    let members = parse_signature_input(signature_input)?;
    let (_, params) = members
        .first()
        .ok_or_else(|| HttpSigError::MissingSignature {
            reason: "test".into(),
        })?;
    signature_base(
        &RequestView::new(&request.method, &request.uri, &request.headers),
        params,
    )
}

fn signature_bytes(signature: &str) -> Result<Vec<u8>, HttpSigError> {
    Ok(parse_signature(signature)?
        .into_iter()
        .next()
        .map(|(_, bytes)| bytes)
        .unwrap_or_default())
}

/// Verifies the B.2 request carrying `input` and `signature` with `key` at the vectors' time.
fn verify_vector(
    input: &str,
    signature: &str,
    key: VerifyingKey,
    policy: &VerifyPolicy,
) -> Result<medgate_httpsig::VerifiedSignature, Box<dyn std::error::Error>> {
    let mut request = test_request()?;
    request
        .headers
        .insert("signature-input", HeaderValue::from_str(input)?);
    request
        .headers
        .insert("signature", HeaderValue::from_str(signature)?);
    let now = OffsetDateTime::from_unix_timestamp(CREATED)?;
    Ok(verify_request_at(
        &request.method,
        &request.uri,
        &request.headers,
        BODY,
        policy,
        |keyid| (keyid == "test-key-rsa-pss").then(|| key.clone()),
        now,
    )?)
}

fn lenient_policy() -> VerifyPolicy {
    VerifyPolicy {
        required_components: Vec::new(),
        require_content_digest: false,
        ..VerifyPolicy::default()
    }
}

fn pss_key() -> Result<VerifyingKey, HttpSigError> {
    VerifyingKey::from_pem(TEST_KEY_RSA_PSS)?.with_algorithm(Algorithm::RsaPssSha512)
}

const B21_INPUT: &str =
    r#"sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#;
const B21_SIGNATURE: &str = "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:";

#[test]
fn b_2_1_minimal_signature_using_rsa_pss_sha512() -> TestResult {
    let request = test_request()?;
    assert_eq!(
        base_of(&request, B21_INPUT)?,
        r#""@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#
    );
    let verified = verify_vector(B21_INPUT, B21_SIGNATURE, pss_key()?, &lenient_policy())?;
    assert_eq!(verified.label, "sig-b21");
    assert_eq!(verified.algorithm, Algorithm::RsaPssSha512);
    assert_eq!(verified.nonce.as_deref(), Some("b3k2pp5k7z-50gnwp.yemd"));
    assert_eq!(verified.created.unix_timestamp(), CREATED);
    assert!(verified.components.is_empty());

    // Without pinning, an RSA key with no alg means rsa-v1_5-sha256: the PSS signature fails.
    let unpinned = VerifyingKey::from_pem(TEST_KEY_RSA_PSS)?;
    let error = verify_vector(B21_INPUT, B21_SIGNATURE, unpinned, &lenient_policy()).err();
    assert!(error.is_some_and(|e| e.to_string().contains("does not verify")));
    Ok(())
}

const B22_INPUT: &str = r#"sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example""#;
const B22_SIGNATURE: &str = "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:";

#[test]
fn b_2_2_selective_covered_components_using_rsa_pss_sha512() -> TestResult {
    let request = test_request()?;
    let expected = [
        r#""@authority": example.com"#.to_owned(),
        format!(r#""content-digest": {DIGEST_512}"#),
        r#""@query-param";name="Pet": dog"#.to_owned(),
        r#""@signature-params": ("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example""#.to_owned(),
    ]
    .join("\n");
    assert_eq!(base_of(&request, B22_INPUT)?, expected);
    let policy = VerifyPolicy {
        tag: Some("header-example".into()),
        ..lenient_policy()
    };
    let verified = verify_vector(B22_INPUT, B22_SIGNATURE, pss_key()?, &policy)?;
    assert_eq!(verified.tag.as_deref(), Some("header-example"));
    // The sha-512 Content-Digest is covered, so the body was checked against it.
    assert!(verified.content_digest_verified);
    assert_eq!(
        verified.components,
        ["@authority", "content-digest", "@query-param;name=\"Pet\""]
    );
    Ok(())
}

const B23_INPUT: &str = r#"sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#;
const B23_SIGNATURE: &str = "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:";

#[test]
fn b_2_3_full_coverage_using_rsa_pss_sha512() -> TestResult {
    let request = test_request()?;
    let expected = [
        r#""date": Tue, 20 Apr 2021 02:07:55 GMT"#.to_owned(),
        r#""@method": POST"#.to_owned(),
        r#""@path": /foo"#.to_owned(),
        r#""@query": ?param=Value&Pet=dog"#.to_owned(),
        r#""@authority": example.com"#.to_owned(),
        r#""content-type": application/json"#.to_owned(),
        format!(r#""content-digest": {DIGEST_512}"#),
        r#""content-length": 18"#.to_owned(),
        r#""@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#.to_owned(),
    ]
    .join("\n");
    assert_eq!(base_of(&request, B23_INPUT)?, expected);
    // medgate's default policy (method, path, content digest for a body) is met by B.2.3.
    let verified = verify_vector(
        B23_INPUT,
        B23_SIGNATURE,
        pss_key()?,
        &VerifyPolicy::default(),
    )?;
    assert!(verified.content_digest_verified);

    // The same signature over a changed query does not verify.
    let mut request = test_request()?;
    request.uri = "https://example.com/foo?param=Value&Pet=cat".parse()?;
    request
        .headers
        .insert("signature-input", HeaderValue::from_static(B23_INPUT));
    request
        .headers
        .insert("signature", HeaderValue::from_static(B23_SIGNATURE));
    let key = pss_key()?;
    let error = verify_request_at(
        &request.method,
        &request.uri,
        &request.headers,
        BODY,
        &VerifyPolicy::default(),
        |_| Some(key.clone()),
        OffsetDateTime::from_unix_timestamp(CREATED)?,
    )
    .err();
    assert_eq!(error.map(|e| e.code()), Some("bad_signature"));
    Ok(())
}

#[test]
fn b_2_4_response_signature_using_ecdsa_p256_sha256_is_fixed_width() -> TestResult {
    // A response (@status) is outside this crate's request API; the base is the RFC's.
    let base = [
        r#""@status": 200"#,
        r#""content-type": application/json"#,
        r#""content-digest": sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:"#,
        r#""content-length": 23"#,
        r#""@signature-params": ("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256""#,
    ]
    .join("\n");
    let members = parse_signature_input(
        r#"sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256""#,
    );
    // @status is refused in a request signature, with a reason.
    assert!(members
        .err()
        .is_some_and(|e| e.to_string().contains("@status belongs to responses")));
    let signature = signature_bytes(
        "sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:",
    )?;
    assert_eq!(signature.len(), 64);
    let key = VerifyingKey::from_pem(TEST_KEY_ECC_P256)?;
    assert_eq!(key.default_algorithm(), Algorithm::EcdsaP256Sha256);
    key.verify(Algorithm::EcdsaP256Sha256, base.as_bytes(), &signature)?;
    let changed = base.replace("200", "201");
    assert!(key
        .verify(Algorithm::EcdsaP256Sha256, changed.as_bytes(), &signature)
        .is_err());
    Ok(())
}

#[test]
fn b_2_5_hmac_sha256_base_is_exact_but_hmac_is_refused() -> TestResult {
    let request = test_request()?;
    let input = r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#;
    let base = base_of(&request, input)?;
    assert_eq!(
        base,
        [
            r#""date": Tue, 20 Apr 2021 02:07:55 GMT"#,
            r#""@authority": example.com"#,
            r#""content-type": application/json"#,
            r#""@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#,
        ]
        .join("\n")
    );
    // HMAC is deterministic: recomputing the RFC's signature proves the base byte for byte.
    let secret = base64::engine::general_purpose::STANDARD.decode(TEST_SHARED_SECRET)?;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
    let tag = aws_lc_rs::hmac::sign(&key, base.as_bytes());
    assert_eq!(
        tag.as_ref(),
        signature_bytes("sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:")?.as_slice()
    );

    // A request naming hmac-sha256 is refused before any key is looked up.
    let mut request = test_request()?;
    request.headers.insert(
        "signature-input",
        HeaderValue::from_static(
            r#"sig-b25=("@method" "@path");created=1618884473;keyid="test-shared-secret";alg="hmac-sha256""#,
        ),
    );
    request.headers.insert(
        "signature",
        HeaderValue::from_static("sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:"),
    );
    let error = verify_request_at(
        &request.method,
        &request.uri,
        &request.headers,
        b"",
        &lenient_policy(),
        |_| None,
        OffsetDateTime::from_unix_timestamp(CREATED)?,
    )
    .err();
    assert_eq!(error.map(|e| e.code()), Some("unsupported_algorithm"));
    Ok(())
}

#[test]
fn b_2_6_ed25519_base_is_exact() -> TestResult {
    let request = test_request()?;
    let input = r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#;
    let base = base_of(&request, input)?;
    assert_eq!(
        base,
        [
            r#""date": Tue, 20 Apr 2021 02:07:55 GMT"#,
            r#""@method": POST"#,
            r#""@path": /foo"#,
            r#""@authority": example.com"#,
            r#""content-type": application/json"#,
            r#""content-length": 18"#,
            r#""@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#,
        ]
        .join("\n")
    );
    let spki = base64::engine::general_purpose::STANDARD.decode(TEST_KEY_ED25519)?;
    let public = &spki[spki.len() - 32..];
    let signature = signature_bytes("sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:")?;
    aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, public)
        .verify(base.as_bytes(), &signature)
        .map_err(|_| "B.2.6 signature does not verify over our base")?;
    // Ed25519 keys are not accepted for medgate verification.
    let error = VerifyingKey::from_pem(&format!(
        "-----BEGIN PUBLIC KEY-----\n{TEST_KEY_ED25519}\n-----END PUBLIC KEY-----\n"
    ))
    .err();
    assert_eq!(error.map(|e| e.code()), Some("invalid_key"));
    Ok(())
}
