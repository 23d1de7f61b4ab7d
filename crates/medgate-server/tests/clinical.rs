//! The clinical record service in process: a node of `role = clinical` on loopback with its
//! own CA, two institutions set up as `medgate clinical …` sets them up (the domain's admin
//! functions and certificates from the node's CA), and practitioners calling the FHIR API
//! over mutual TLS with signed writes and sessions opened with password and TOTP code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use medgate_clinical::admin::{self, Operator};
use medgate_clinical::patient::{self, RestrictionScope};
use medgate_clinical::PatientCaller;
use medgate_httpsig::{sign_request, SignOptions};
use medgate_ids::Taj;
use medgate_pki::{Certificate, PrivateKey};
use medgate_storage::AuditOrigin;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use time::OffsetDateTime;

mod support;

#[path = "clinical/operator_pages.rs"]
mod operator_pages;

use support::{Node, Options};

const PATIENT: &str = "123456788";
const PASSWORD: &str = support::clinical::PASSWORD;

/// A practitioner's system: the institution's certificate and key, and a session once
/// signed in.
struct Practitioner {
    http: reqwest::Client,
    base: url::Url,
    key: Option<PrivateKey>,
    certificate: Option<Certificate>,
    keyid: String,
    user_name: String,
    totp_secret: String,
    token: Option<String>,
}

fn http_client(node: &Node, identity: Option<(&Certificate, &PrivateKey)>) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(node.ca.certificate().der().to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let tls = match identity {
        Some((certificate, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(certificate.der().to_vec())],
                PrivateKeyDer::Pkcs8(key.pkcs8_der().to_vec().into()),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

impl Practitioner {
    /// Sends a request (signed when the practitioner has a key) and returns the status and
    /// the JSON answer (`Null` when empty).
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let url = self.base.join(path).unwrap();
        let bytes = body.map(|body| serde_json::to_vec(body).unwrap());
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(url.as_str());
        if bytes.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/fhir+json");
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        if let Some(key) = &self.key {
            sign_request(
                &mut parts,
                bytes.as_deref(),
                key,
                &SignOptions::new(self.keyid.clone()),
            )
            .unwrap();
        }
        let mut request = self.http.request(method, url);
        for (name, value) in &parts.headers {
            request = request.header(name, value);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(bytes) = bytes {
            request = request.body(bytes);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, value)
    }

    async fn ok(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let (status, answer) = self.send(method.clone(), path, body, &[]).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }

    async fn refused(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, String) {
        let (status, answer) = self.send(method.clone(), path, body, &[]).await;
        assert!(
            status >= 400,
            "{method} {path} was not refused: {status} {answer}"
        );
        // Every refusal under /fhir is an OperationOutcome carrying our code in its details.
        assert_eq!(answer["resourceType"], "OperationOutcome", "{method} {path}: {answer}");
        assert!(
            answer["issue"][0]["diagnostics"].as_str().is_some_and(|text| !text.is_empty()),
            "{answer}"
        );
        (
            status,
            answer["issue"][0]["details"]["coding"][0]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    async fn sign_in(&mut self) {
        let code = medgate_clinical::auth::totp_code(&self.totp_secret, OffsetDateTime::now_utc())
            .unwrap();
        let answer = self
            .ok(
                Method::POST,
                "/fhir/$login",
                Some(&json!({ "userName": self.user_name, "password": PASSWORD, "code": code })),
            )
            .await;
        assert_eq!(answer["tokenType"], "Bearer");
        self.token = Some(answer["token"].as_str().unwrap().to_owned());
    }
}

/// An institution enrolled ([`support::clinical::enrol`]) as its practitioner's system.
async fn institution(
    node: &Node,
    id: &str,
    unit: &str,
    user_name: &str,
    stamp: &str,
) -> Practitioner {
    let enrolled = support::clinical::enrol(node, id, unit, user_name, stamp).await;
    Practitioner {
        http: http_client(node, Some((&enrolled.certificate, &enrolled.key))),
        base: node.url.clone(),
        key: Some(enrolled.key),
        certificate: Some(enrolled.certificate),
        keyid: enrolled.serial_hex,
        user_name: user_name.to_owned(),
        totp_secret: enrolled.totp_secret,
        token: None,
    }
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().cloned().unwrap_or_default()
}

fn matches(bundle: &Value) -> Vec<Value> {
    entries(bundle)
        .into_iter()
        .filter(|entry| entry["search"]["mode"] == "match")
        .map(|entry| entry["resource"].clone())
        .collect()
}

#[tokio::test]
async fn clinical_node_serves_fhir_to_signed_in_practitioners_of_certified_institutions() {
    let node = Node::start_with(Options {
        role: Some("clinical".into()),
        ..Options::default()
    })
    .await;
    let ca_name = node.ca.certificate().summary().unwrap().subject;
    assert!(
        ca_name.contains("medgate clinical record service CA"),
        "{ca_name}"
    );

    let mut kovacs = institution(&node, "506097", "001044299", "dr.kovacs", "58012").await;
    let mut nagy = institution(&node, "111111", "002000001", "dr.nagy", "41234").await;

    // Health and the OpenAPI document need nothing.
    let anonymous = Practitioner {
        http: http_client(&node, None),
        base: node.url.clone(),
        key: None,
        certificate: None,
        keyid: String::new(),
        user_name: String::new(),
        totp_secret: String::new(),
        token: None,
    };
    let (status, _) = anonymous.send(Method::GET, "/healthz", None, &[]).await;
    assert_eq!(status, 200);
    // Refusals made before a handler runs are OperationOutcomes too under /fhir.
    let (status, code) = kovacs
        .refused(Method::PATCH, "/fhir/Condition/1", None)
        .await;
    assert_eq!(status, 405, "{code}");
    let (status, code) = anonymous
        .refused(Method::GET, "/fhir/Condition", None)
        .await;
    assert_eq!((status, code.as_str()), (401, "client_certificate_required"));
    let document = anonymous
        .ok(Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert_eq!(
        document["info"]["title"],
        "medgate clinical record service API"
    );
    // Without a certificate, nothing clinical.
    let search = format!("/fhir/DocumentReference?patient={PATIENT}");
    assert_eq!(
        anonymous.refused(Method::GET, &search, None).await,
        (401, "client_certificate_required".to_owned())
    );
    // The certificate alone reads nothing clinical.
    assert_eq!(
        kovacs.refused(Method::GET, &search, None).await,
        (401, "session_required".to_owned())
    );
    // A wrong code opens no session.
    let (status, answer) = kovacs
        .send(
            Method::POST,
            "/fhir/$login",
            Some(&json!({ "userName": "dr.kovacs", "password": PASSWORD, "code": "000000" })),
            &[],
        )
        .await;
    assert!(status == 401, "{status} {answer}");
    // A practitioner not in the matrix for the calling institution is refused.
    let mut stranger = institution_clone(&kovacs);
    stranger.user_name = nagy.user_name.clone();
    stranger.totp_secret = nagy.totp_secret.clone();
    let code = medgate_clinical::auth::totp_code(&stranger.totp_secret, OffsetDateTime::now_utc()).unwrap();
    assert_eq!(
        stranger
            .refused(
                Method::POST,
                "/fhir/$login",
                Some(&json!({ "userName": stranger.user_name, "password": PASSWORD, "code": code })),
            )
            .await,
        (403, "not_in_matrix".to_owned())
    );
    kovacs.sign_in().await;
    nagy.sign_in().await;

    // An unsigned write is refused.
    let unsigned = Practitioner {
        key: None,
        certificate: None,
        token: kovacs.token.clone(),
        http: kovacs.http.clone(),
        base: node.url.clone(),
        keyid: String::new(),
        user_name: String::new(),
        totp_secret: String::new(),
    };
    let (status, _) = unsigned
        .refused(Method::POST, "/fhir/Condition", Some(&json!({})))
        .await;
    assert_eq!(status, 401);
    // A session works only from its institution's certificate.
    let borrowed = Practitioner {
        token: kovacs.token.clone(),
        ..institution_clone(&nagy)
    };
    assert_eq!(
        borrowed.refused(Method::GET, &search, None).await,
        (403, "session_of_another_institution".to_owned())
    );

    // An encounter opened, a document submitted in it, the encounter closed.
    let encounter = kovacs
        .ok(
            Method::POST,
            "/fhir/Encounter",
            Some(&json!({
                "resourceType": "Encounter",
                "status": "in-progress",
                "subject": { "reference": format!("Patient/{PATIENT}") },
                "type": [{ "text": "járóbeteg-ellátás" }],
                "location": [{ "location": { "identifier": { "value": "001044299" } } }]
            })),
        )
        .await;
    assert_eq!(encounter["status"], "in-progress");
    let encounter_id = encounter["id"].as_str().unwrap().to_owned();
    let pdf = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        b"%PDF-1.4 lelet",
    );
    let reference = kovacs
        .ok(
            Method::POST,
            "/fhir/DocumentReference",
            Some(&json!({
                "resourceType": "DocumentReference",
                "status": "current",
                "subject": { "reference": format!("Patient/{PATIENT}") },
                "context": { "encounter": [{ "reference": format!("Encounter/{encounter_id}") }] },
                "content": [{ "attachment": { "contentType": "application/pdf", "data": pdf, "title": "Ambuláns lap" } }]
            })),
        )
        .await;
    let document_id = reference["id"].as_str().unwrap().to_owned();
    let closed = kovacs
        .ok(
            Method::POST,
            &format!("/fhir/Encounter/{encounter_id}/$close"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(closed["status"], "finished");
    assert_eq!(
        kovacs
            .refused(
                Method::POST,
                &format!("/fhir/Encounter/{encounter_id}/$close"),
                Some(&json!({}))
            )
            .await,
        (409, "encounter_not_open".to_owned())
    );

    // The other institution finds the patient's document and reads its Binary.
    let found = nagy.ok(Method::GET, &search, None).await;
    assert_eq!(found["resourceType"], "Bundle");
    assert_eq!(found["type"], "searchset");
    let documents = matches(&found);
    assert_eq!(documents.len(), 1, "{found}");
    assert_eq!(documents[0]["id"], document_id.as_str());
    let binary = nagy
        .ok(Method::GET, &format!("/fhir/Binary/{document_id}"), None)
        .await;
    assert_eq!(binary["data"], pdf.as_str());

    // A profile entry: created, a new version, its history; another institution may not delete it.
    let condition = json!({
        "resourceType": "Condition",
        "subject": { "reference": format!("Patient/{PATIENT}") },
        "code": { "text": "Diabetes mellitus" }
    });
    let created = kovacs
        .ok(Method::POST, "/fhir/Condition", Some(&condition))
        .await;
    let condition_id = created["id"].as_str().unwrap().to_owned();
    let mut changed = created.clone();
    changed["code"]["text"] = json!("Diabetes mellitus, 2-es típus");
    let updated = kovacs
        .ok(
            Method::PUT,
            &format!("/fhir/Condition/{condition_id}"),
            Some(&changed),
        )
        .await;
    assert_eq!(updated["meta"]["versionId"], "2", "{updated}");
    let history = nagy
        .ok(
            Method::GET,
            &format!("/fhir/Condition/{condition_id}/_history"),
            None,
        )
        .await;
    assert_eq!(history["type"], "history");
    assert_eq!(entries(&history).len(), 2, "{history}");
    assert_eq!(
        nagy.refused(
            Method::DELETE,
            &format!("/fhir/Condition/{condition_id}"),
            None
        )
        .await,
        (403, "not_owner".to_owned())
    );
    let (status, _) = kovacs
        .send(
            Method::DELETE,
            &format!("/fhir/Condition/{condition_id}"),
            None,
            &[],
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        nagy.refused(
            Method::GET,
            &format!("/fhir/Condition/{condition_id}"),
            None
        )
        .await,
        (410, "deleted".to_owned())
    );

    // A referral issued by one institution is consumed once by another.
    let referral = kovacs
        .ok(
            Method::POST,
            "/fhir/ServiceRequest",
            Some(&json!({
                "resourceType": "ServiceRequest",
                "intent": "order",
                "subject": { "reference": format!("Patient/{PATIENT}") },
                "performerType": { "text": "szájsebészet" }
            })),
        )
        .await;
    let referral_id = referral["id"].as_str().unwrap().to_owned();
    let by_id = nagy
        .ok(
            Method::GET,
            &format!("/fhir/ServiceRequest?_id={referral_id}"),
            None,
        )
        .await;
    assert_eq!(matches(&by_id).len(), 1);
    let consumed = nagy
        .ok(
            Method::POST,
            &format!("/fhir/ServiceRequest/{referral_id}/$consume"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(consumed["status"], "completed");
    assert_eq!(
        nagy.refused(
            Method::POST,
            &format!("/fhir/ServiceRequest/{referral_id}/$consume"),
            Some(&json!({}))
        )
        .await,
        (409, "referral_consumed".to_owned())
    );

    // The patient restricts their documents: withheld from a search, read only by breaking
    // the glass with a reason, which their access log shows.
    let patient = PatientCaller {
        patient: Taj::parse(PATIENT).unwrap(),
        origin: AuditOrigin::Cli,
    };
    patient::restrict(
        &node.metadata,
        &patient,
        &RestrictionScope::All,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let withheld = nagy.ok(Method::GET, &search, None).await;
    assert!(matches(&withheld).is_empty(), "{withheld}");
    assert!(withheld.to_string().contains("suppressed"), "{withheld}");
    assert_eq!(
        nagy.refused(
            Method::GET,
            &format!("/fhir/DocumentReference/{document_id}"),
            None
        )
        .await,
        (403, "restricted".to_owned())
    );
    let (status, read) = nagy
        .send(
            Method::GET,
            &format!("/fhir/DocumentReference/{document_id}"),
            None,
            &[(
                "medgate-break-glass",
                "unconscious patient in the emergency room",
            )],
        )
        .await;
    assert_eq!(status, 200, "{read}");
    let log = patient::access_log(&node.metadata, &patient, 100, node.clock.now())
        .await
        .unwrap();
    assert!(
        log.iter().any(|event| event
            .to_string()
            .contains("unconscious patient in the emergency room")),
        "{log:?}"
    );

    // Signed out, the token opens nothing.
    kovacs
        .ok(Method::POST, "/fhir/$logout", Some(&json!({})))
        .await;
    assert_eq!(
        kovacs.refused(Method::GET, &search, None).await,
        (401, "session_unknown".to_owned())
    );
    // Seven hours after sign-in a session ends: the service refuses it, saying so.
    let (status, answer) = nagy.send(Method::GET, &search, None, &[]).await;
    assert_eq!(status, 200, "{answer}");
    node.clock.advance(time::Duration::hours(7));
    let (status, answer) = nagy.send(Method::GET, &search, None, &[]).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["issue"][0]["details"]["coding"][0]["code"], "session_expired");
    let said = answer["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(said.contains("ended at") && said.contains("sign in again"), "{said}");
    // A suspended institution's certificate opens nothing, not even with a live session.
    let operator = Operator { name: "cli".to_owned(), origin: AuditOrigin::Cli };
    admin::set_institution_active(&node.metadata, &operator, "111111", false).await.unwrap();
    assert_eq!(nagy.refused(Method::GET, &search, None).await, (403, "certificate_not_recorded".to_owned()));
    assert!(node.metadata.verify_audit().await.unwrap().is_intact());
}

/// A second handle on a practitioner's system (same certificate and key), without a session.
fn institution_clone(practitioner: &Practitioner) -> Practitioner {
    Practitioner {
        http: practitioner.http.clone(),
        base: practitioner.base.clone(),
        key: practitioner.key.as_ref().map(support::copy),
        certificate: practitioner.certificate.clone(),
        keyid: practitioner.keyid.clone(),
        user_name: practitioner.user_name.clone(),
        totp_secret: practitioner.totp_secret.clone(),
        token: None,
    }
}

/// A DocumentReference of `content` for the patient, with the clinic's identifier `value`.
fn submission(value: &str, content: &[u8]) -> Value {
    use base64::Engine as _;
    json!({
        "resourceType": "DocumentReference", "status": "current",
        "identifier": [{ "system": "https://clinic.example/submission", "value": value }],
        "subject": { "reference": format!("Patient/{PATIENT}") },
        "content": [{ "attachment": {
            "contentType": "application/pdf", "title": "Ambuláns lap",
            "data": base64::engine::general_purpose::STANDARD.encode(content)
        } }]
    })
}

#[tokio::test]
async fn a_submission_sent_again_with_its_identifier_is_stored_once() {
    let node = Node::start_with(Options {
        role: Some("clinical".into()),
        ..Options::default()
    })
    .await;
    let mut kovacs = institution(&node, "506097", "001044299", "dr.kovacs", "58012").await;
    let mut nagy = institution(&node, "111111", "002000001", "dr.nagy", "41234").await;
    kovacs.sign_in().await;
    nagy.sign_in().await;
    let condition = "identifier=https%3A%2F%2Fclinic.example%2Fsubmission%7Clap-1";
    let body = submission("lap-1", b"%PDF-1.4 first");
    let headers = [("if-none-exist", condition)];

    let (status, first) = kovacs
        .send(Method::POST, "/fhir/DocumentReference", Some(&body), &headers)
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["identifier"][0]["value"], "lap-1");
    // The answer was lost; the clinic sends the same submission again.
    let (status, again) = kovacs
        .send(Method::POST, "/fhir/DocumentReference", Some(&body), &headers)
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["meta"]["versionId"], "1");
    let search = format!("/fhir/DocumentReference?patient={PATIENT}");
    assert_eq!(matches(&nagy.ok(Method::GET, &search, None).await).len(), 1);

    // The identifier cannot name other content, and the header and the resource must agree.
    let (status, answer) = kovacs
        .send(
            Method::POST,
            "/fhir/DocumentReference",
            Some(&submission("lap-1", b"%PDF-1.4 other")),
            &headers,
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["issue"][0]["details"]["coding"][0]["code"], "identifier_in_use", "{answer}");
    let (status, answer) = kovacs
        .send(
            Method::POST,
            "/fhir/DocumentReference",
            Some(&submission("lap-2", b"%PDF-1.4 first")),
            &headers,
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = kovacs
        .send(
            Method::POST,
            "/fhir/DocumentReference",
            Some(&body),
            &[("if-none-exist", "_id=x")],
        )
        .await;
    assert_eq!(status, 400, "{answer}");

    // Another institution's identifiers are its own.
    let (status, theirs) = nagy
        .send(Method::POST, "/fhir/DocumentReference", Some(&body), &headers)
        .await;
    assert_eq!(status, 201, "{theirs}");
    assert_ne!(theirs["id"], first["id"]);
    assert_eq!(matches(&nagy.ok(Method::GET, &search, None).await).len(), 2);
    assert!(node.metadata.verify_audit().await.unwrap().is_intact());
}
