//! An independent peer: Python `requests-http-signature` (RFC 9421 through the
//! `http-message-signatures` package) signs requests that `verify_request` must accept, and
//! `http_message_signatures.HTTPMessageVerifier` must accept requests made by `sign_request`.
//! Python prepares the request and applies the auth without any network connection and prints
//! method, URL, headers and body as JSON.
//!
//! Needs `pip install requests-http-signature` (2.x). Without it the tests fail with that
//! hint, or, with `MEDGATE_SKIP_MISSING_PEERS=1`, print a loud SKIPPED line.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use medgate_httpsig::{
    sign_request, verify_request, Algorithm, HttpSigError, SignOptions, VerifiedSignature,
    VerifyPolicy, VerifyingKey,
};
use medgate_pki::{KeyAlgorithm, PrivateKey};
use medgate_test_peers::{python_runs, require};
use serde_json::{json, Value};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const URL: &str = "https://repo.example.test:8443/api/v1/documents?patient=PESEL%3A44051401359&x=1";
const BODY: &[u8] = b"<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>Karta informacyjna</title></ClinicalDocument>";

const PEER: &str = r#"
import base64, datetime, json, sys

import requests
from requests_http_signature import HTTPSignatureAuth, algorithms
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver

args = json.load(sys.stdin)
algorithm = getattr(algorithms, args["algorithm"])
body = base64.b64decode(args["body_b64"]) if args.get("body_b64") is not None else None

if sys.argv[1] == "sign":
    with open(args["key_path"], "rb") as fh:
        key = fh.read()
    prepared = requests.Request(
        args["method"], args["url"], data=body, headers=args.get("headers", {})
    ).prepare()
    auth = HTTPSignatureAuth(
        signature_algorithm=algorithm,
        key=key,
        key_id=args["key_id"],
        covered_component_ids=tuple(args["components"]),
    )
    prepared = auth(prepared)
    print(json.dumps({
        "method": prepared.method,
        "url": prepared.url,
        "headers": dict(prepared.headers),
        "body_b64": base64.b64encode(prepared.body or b"").decode(),
    }))
elif sys.argv[1] == "verify":
    public_keys = {args["key_id"]: args["public_key_pem"].encode()}

    class Resolver(HTTPSignatureKeyResolver):
        def resolve_public_key(self, key_id):
            return public_keys.get(key_id)

        def resolve_private_key(self, key_id):
            raise KeyError(key_id)

    prepared = requests.Request(
        args["method"], args["url"], data=body, headers=args["headers"]
    ).prepare()
    verifier = HTTPMessageVerifier(signature_algorithm=algorithm, key_resolver=Resolver())
    try:
        results = verifier.verify(
            prepared,
            max_age=datetime.timedelta(minutes=5),
            require_components=("@method", "@target-uri"),
            body=body if body is not None else b"",
        )
        result = results[0]
        print(json.dumps({
            "ok": True,
            "label": result.label,
            "parameters": dict(result.parameters),
            "covered": list(result.covered_components.keys()),
            "body_verified": result.body is not None,
        }))
    except Exception as error:
        print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
"#;

struct Peer {
    python: String,
    dir: tempfile::TempDir,
}

/// The Python peer, under the one missing-peer rule: without its packages the test fails
/// with how to install them, or, with `MEDGATE_SKIP_MISSING_PEERS=1`, gets `None` after a
/// loud SKIPPED line.
fn peer() -> Result<Option<Peer>, Box<dyn std::error::Error>> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = python_runs(
        Path::new(&python),
        "import requests_http_signature, http_message_signatures, requests",
        &[],
    );
    let peer = format!("Python module requests_http_signature (for {python})");
    if require(&peer, "pip install requests-http-signature", probe).is_none() {
        return Ok(None);
    }
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("peer.py"), PEER)?;
    Ok(Some(Peer { python, dir }))
}

impl Peer {
    fn run(&self, mode: &str, input: &Value) -> Result<Value, Box<dyn std::error::Error>> {
        let mut child = Command::new(&self.python)
            .arg(self.dir.path().join("peer.py"))
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .ok_or("no stdin")?
            .write_all(input.to_string().as_bytes())?;
        let output = child.wait_with_output()?;
        if !output.status.success() {
            return Err(format!(
                "python peer {mode} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(serde_json::from_slice(&output.stdout)?)
    }

    fn key_file(&self, key: &PrivateKey) -> Result<String, Box<dyn std::error::Error>> {
        let path = self
            .dir
            .path()
            .join(format!("{}.pem", key.describe().replace(' ', "-")));
        std::fs::write(&path, key.to_pem(None)?.as_bytes())?;
        Ok(path.to_string_lossy().into_owned())
    }
}

fn public_pem(key: &PrivateKey) -> Result<String, Box<dyn std::error::Error>> {
    Ok(pem::encode(&pem::Pem::new(
        "PUBLIC KEY",
        key.public_key_info_der()?,
    )))
}

/// A request as the Python peer printed it.
struct Printed {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn printed(value: &Value) -> Result<Printed, Box<dyn std::error::Error>> {
    let mut headers = HeaderMap::new();
    for (name, value) in value["headers"].as_object().ok_or("no headers")? {
        headers.append(
            HeaderName::from_bytes(name.as_bytes())?,
            HeaderValue::from_str(value.as_str().ok_or("header not a string")?)?,
        );
    }
    Ok(Printed {
        method: value["method"].as_str().ok_or("no method")?.parse()?,
        uri: value["url"].as_str().ok_or("no url")?.parse()?,
        headers,
        body: base64::engine::general_purpose::STANDARD
            .decode(value["body_b64"].as_str().ok_or("no body")?)?,
    })
}

fn python_signs(
    peer: &Peer,
    key: &PrivateKey,
    algorithm: &str,
) -> Result<Printed, Box<dyn std::error::Error>> {
    let output = peer.run(
        "sign",
        &json!({
            "algorithm": algorithm,
            "key_path": peer.key_file(key)?,
            "key_id": "clinic-7-wss",
            "method": "POST",
            "url": URL,
            "headers": {"Content-Type": "application/xml"},
            "body_b64": base64::engine::general_purpose::STANDARD.encode(BODY),
            "components": ["@method", "@authority", "@target-uri", "content-type"],
        }),
    )?;
    printed(&output)
}

fn rust_verifies(
    request: &Printed,
    body: &[u8],
    key: &PrivateKey,
) -> Result<VerifiedSignature, HttpSigError> {
    let registered = VerifyingKey::from_private_key(key)?;
    verify_request(
        &request.method,
        &request.uri,
        &request.headers,
        body,
        &VerifyPolicy::default(),
        |keyid| (keyid == "clinic-7-wss").then(|| registered.clone()),
    )
}

fn python_to_rust(
    key_algorithm: KeyAlgorithm,
    python_algorithm: &str,
    expected: Algorithm,
) -> TestResult {
    let Some(peer) = peer()? else { return Ok(()) };
    let key = PrivateKey::generate(key_algorithm)?;
    let request = python_signs(&peer, &key, python_algorithm)?;
    assert_eq!(request.body, BODY);
    let input = request
        .headers
        .get("signature-input")
        .ok_or("python wrote no Signature-Input")?
        .to_str()?
        .to_owned();
    assert!(
        input.contains(&format!("alg=\"{}\"", expected.name())),
        "{input}"
    );
    let verified = rust_verifies(&request, &request.body, &key)?;
    assert_eq!(verified.keyid, "clinic-7-wss");
    assert_eq!(verified.algorithm, expected);
    assert!(verified.content_digest_verified, "{input}");
    for component in [
        "@method",
        "@authority",
        "@target-uri",
        "content-type",
        "content-digest",
    ] {
        assert!(
            verified.components.iter().any(|c| c == component),
            "{component} not in {:?}",
            verified.components
        );
    }
    // The same request with a changed body is refused.
    let error = rust_verifies(&request, b"<changed/>", &key).err();
    assert_eq!(error.map(|e| e.code()), Some("digest_mismatch"));
    // And one whose method was changed.
    let mut changed = request;
    changed.method = Method::PUT;
    let error = rust_verifies(&changed, BODY, &key).err();
    assert_eq!(error.map(|e| e.code()), Some("bad_signature"));
    Ok(())
}

#[test]
fn python_rsa_v1_5_sha256_is_verified_by_rust() -> TestResult {
    python_to_rust(
        KeyAlgorithm::Rsa2048,
        "RSA_V1_5_SHA256",
        Algorithm::RsaV15Sha256,
    )
}

#[test]
fn python_ecdsa_p256_sha256_is_verified_by_rust() -> TestResult {
    python_to_rust(
        KeyAlgorithm::EcdsaP256,
        "ECDSA_P256_SHA256",
        Algorithm::EcdsaP256Sha256,
    )
}

#[test]
fn python_rsa_pss_sha512_is_verified_by_rust() -> TestResult {
    python_to_rust(
        KeyAlgorithm::Rsa2048,
        "RSA_PSS_SHA512",
        Algorithm::RsaPssSha512,
    )
}

fn rust_to_python(key_algorithm: KeyAlgorithm, python_algorithm: &str) -> TestResult {
    let Some(peer) = peer()? else { return Ok(()) };
    let key = PrivateKey::generate(key_algorithm)?;
    let (mut parts, ()) = http::Request::post(URL)
        .header("content-type", "application/xml")
        .body(())?
        .into_parts();
    sign_request(
        &mut parts,
        Some(BODY),
        &key,
        &SignOptions::new("clinic-7-wss"),
    )?;
    let mut headers = serde_json::Map::new();
    for (name, value) in &parts.headers {
        headers.insert(name.as_str().to_owned(), Value::from(value.to_str()?));
    }
    let request = json!({
        "algorithm": python_algorithm,
        "key_id": "clinic-7-wss",
        "public_key_pem": public_pem(&key)?,
        "method": parts.method.as_str(),
        "url": parts.uri.to_string(),
        "headers": headers,
        "body_b64": base64::engine::general_purpose::STANDARD.encode(BODY),
    });
    let answer = peer.run("verify", &request)?;
    assert_eq!(answer["ok"], Value::Bool(true), "{answer}");
    assert_eq!(answer["label"], "sig1");
    assert_eq!(answer["parameters"]["keyid"], "clinic-7-wss");
    assert_eq!(answer["body_verified"], Value::Bool(true), "{answer}");
    assert_eq!(
        answer["covered"],
        json!([
            "\"@method\"",
            "\"@target-uri\"",
            "\"content-digest\"",
            "\"@signature-params\""
        ])
    );

    // Python refuses the same request with another body.
    let mut tampered = request.clone();
    tampered["body_b64"] = Value::from(base64::engine::general_purpose::STANDARD.encode(b"<x/>"));
    let answer = peer.run("verify", &tampered)?;
    assert_eq!(answer["ok"], Value::Bool(false), "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("Content-Digest does not match")),
        "{answer}"
    );
    // And with another target.
    let mut tampered = request;
    tampered["url"] = Value::from(URL.replace("x=1", "x=2"));
    let answer = peer.run("verify", &tampered)?;
    assert_eq!(answer["ok"], Value::Bool(false), "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("InvalidSignature")),
        "{answer}"
    );
    Ok(())
}

#[test]
fn rust_rsa_signature_is_verified_by_python() -> TestResult {
    rust_to_python(KeyAlgorithm::Rsa2048, "RSA_V1_5_SHA256")
}

#[test]
fn rust_p256_signature_is_verified_by_python() -> TestResult {
    rust_to_python(KeyAlgorithm::EcdsaP256, "ECDSA_P256_SHA256")
}
