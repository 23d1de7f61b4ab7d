//! The API of the MOs' information systems in process: a claims node on loopback, two MOs
//! registered, a system certificate issued to each from the node's CA as
//! `medgate claims mo certificate issue` issues it; a system pushes generated packages over
//! mutual TLS with signed requests: a clean one accepted, a defective one concluded with the
//! exact finding, a non-ZIP refused with 801 as `{code, message}`; it lists its packages,
//! pulls the findings and the `V` protocol. Another MO's package answers 404; an unsigned
//! push, a push without a certificate and any call after the certificate's revocation are
//! refused, each with its code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use medgate_claims::generate::Fault;
use medgate_httpsig::{sign_request, SignOptions};
use medgate_pki::keystore::read_pkcs12;
use medgate_pki::{Certificate, Password, PrivateKey};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use time::OffsetDateTime;

mod support;
use support::claims::{claims_node_on, operator, package, TWO_MOS};
use support::{Backend, Node};

/// An MO's information system: its certificate's key and a client presenting it (or none).
struct System {
    http: reqwest::Client,
    base: url::Url,
    key: Option<PrivateKey>,
    keyid: String,
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

/// Issues a system certificate for `mo` as the operator's command does and opens it.
async fn system_of(node: &Node, mo: &str) -> (System, String) {
    let code = Password::new("одноразовый-код-1".to_owned());
    let issued = medgate_claims::systems::issue_certificate(
        &node.metadata,
        &operator(),
        &node.ca,
        mo,
        None,
        30,
        &code,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let contents = read_pkcs12(&issued.pkcs12, Path::new("mis.p12"), &code).unwrap();
    let (certificate, key) = (contents.certificate.unwrap(), contents.key.unwrap());
    assert_eq!(contents.chain.len(), 1, "the node's CA travels with it");
    let system = System {
        http: http_client(node, Some((&certificate, &key))),
        base: node.url.clone(),
        keyid: issued.serial.clone(),
        key: Some(key),
    };
    (system, issued.serial)
}

struct Answer {
    status: u16,
    json: Value,
    bytes: Vec<u8>,
    content_type: String,
}

impl System {
    async fn send(&self, method: Method, path: &str, body: Option<Vec<u8>>, sign: bool) -> Answer {
        let url = self.base.join(path).unwrap();
        let builder = http::Request::builder()
            .method(method.clone())
            .uri(url.as_str());
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        if let (true, Some(key)) = (sign, &self.key) {
            sign_request(
                &mut parts,
                body.as_deref(),
                key,
                &SignOptions::new(self.keyid.clone()),
            )
            .unwrap();
        }
        let mut request = self.http.request(method, url);
        for (name, value) in &parts.headers {
            request = request.header(name, value);
        }
        if let Some(bytes) = body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/zip")
                .body(bytes);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = response.bytes().await.unwrap().to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            json,
            bytes,
            content_type,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, false).await
    }

    async fn push(&self, name: &str, bytes: &[u8]) -> Answer {
        let path = format!("/api/v1/packages?period=2025-01&file_name={name}");
        self.send(Method::POST, &path, Some(bytes.to_vec()), true)
            .await
    }

    /// The package once its control concluded (polling its status).
    async fn concluded(&self, id: i64) -> Value {
        for _ in 0..300 {
            let answer = self.get(&format!("/api/v1/packages/{id}")).await;
            assert_eq!(answer.status, 200, "{}", answer.json);
            if answer.json["status"] != "checking" {
                assert_eq!(answer.json["progress"], 1000);
                return answer.json;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("package {id} is still being checked");
    }
}

async fn a_system_pushes_pulls_and_is_refused_where_it_must_be(backend: Backend) {
    let Some(node) = claims_node_on(backend, &TWO_MOS, &["14002"]).await else {
        return;
    };
    let (system, serial) = system_of(&node, "140001").await;

    // A clean package: 202 at once, then accepted.
    let (name, bytes) = package("140001", 12, 1, None);
    let pushed = system.push(&name, &bytes).await;
    assert_eq!(pushed.status, 202, "{}", pushed.json);
    assert_eq!(pushed.json["status"], "checking");
    assert_eq!(pushed.json["uploaded_by"], "140001_mis");
    let clean_id = pushed.json["id"].as_i64().unwrap();
    let clean = system.concluded(clean_id).await;
    assert_eq!(clean["status"], "accepted", "{clean}");
    assert_eq!(
        (clean["cases"].as_u64(), clean["findings"].as_u64()),
        (Some(12), Some(0))
    );
    assert!(clean["refusal"].is_null());

    // A defective one: the date after the period in record 2, with its code and rule.
    let (faulty_name, faulty) = package("140001", 12, 2, Some(Fault::DateAfterPeriod));
    let pushed = system.push(&faulty_name, &faulty).await;
    assert_eq!(pushed.status, 202, "{}", pushed.json);
    let faulty_id = pushed.json["id"].as_i64().unwrap();
    assert_eq!(system.concluded(faulty_id).await["status"], "flk_errors");
    let findings = system
        .get(&format!("/api/v1/packages/{faulty_id}/findings"))
        .await;
    assert_eq!(findings.status, 200, "{}", findings.json);
    let flk = findings.json["flk"].as_array().unwrap();
    let found = flk
        .iter()
        .find(|f| f["IM_POL"] == "DATE_Z_2")
        .unwrap_or_else(|| panic!("{}", findings.json));
    assert_eq!(
        (
            &found["code"],
            &found["rule_id"],
            &found["BAS_EL"],
            &found["N_ZAP"]
        ),
        (
            &Value::from(904),
            &Value::from("006F.00.0340"),
            &Value::from("Z_SL"),
            &Value::from("2")
        )
    );
    assert_eq!(
        findings.json["package"]["findings"].as_u64(),
        Some(flk.len() as u64)
    );
    assert!(
        found["comment_ru"].as_str().is_some_and(|c| !c.is_empty()),
        "{found}"
    );
    // Without a MEK catalogue on the node the answer says MEK did not run, not "no findings".
    assert_eq!(
        findings.json["mek"],
        serde_json::json!({ "state": "no_catalogue" })
    );

    // With Q016/Q023 installed, a package with a diagnosis of the other sex: its MEK finding
    // and the sum withheld, exact.
    let nsi = node.data.join("claims").join("nsi");
    let shipped =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../medgate-claims/catalogues");
    for name in ["Q016.xml", "Q023.xml"] {
        let bytes = std::fs::read(shipped.join(name)).unwrap();
        medgate_claims::nsi::install(&nsi, std::path::Path::new(name), &bytes).unwrap();
    }
    let (mek_name, mek_package) = package("140001", 12, 7, Some(Fault::SexDiagnosis));
    let pushed = system.push(&mek_name, &mek_package).await;
    assert_eq!(pushed.status, 202, "{}", pushed.json);
    let mek_id = pushed.json["id"].as_i64().unwrap();
    assert_eq!(system.concluded(mek_id).await["status"], "accepted_mek");
    let answer = system
        .get(&format!("/api/v1/packages/{mek_id}/findings"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    let mek = &answer.json["mek"];
    assert_eq!(
        (&mek["state"], &mek["cases_refused"], &mek["withheld"]),
        (
            &Value::from("done"),
            &Value::from(1),
            &Value::from("501.00")
        ),
        "{mek}"
    );
    let finding = &mek["findings"][0];
    assert_eq!(
        (
            &finding["reason_code"],
            &finding["reason_basis"],
            &finding["rule_id"],
            &finding["element"],
            &finding["withheld"]
        ),
        (
            &Value::from(207),
            &Value::from("1.4.4."),
            &Value::from("003K.00.0620"),
            &Value::from("DS1"),
            &Value::from("501.00")
        ),
        "{mek}"
    );

    // Its V protocol, as the page gives it.
    let protocol = system
        .get(&format!("/api/v1/packages/{faulty_id}/protocol"))
        .await;
    assert_eq!(
        (protocol.status, protocol.content_type.as_str()),
        (200, "application/zip")
    );
    let mut archive = zip::ZipArchive::new(Cursor::new(protocol.bytes)).unwrap();
    let main = faulty_name.trim_end_matches(".zip");
    let mut text = Vec::new();
    archive
        .by_name(&format!("V{main}.xml"))
        .unwrap()
        .read_to_end(&mut text)
        .unwrap();
    assert!(String::from_utf8_lossy(&text).contains("<OSHIB>904</OSHIB>"));

    // Not a ZIP: refused whole with F012 801 as {code, message}.
    let pushed = system.push("HM140001S14002_25013.zip", b"not a zip").await;
    assert_eq!(pushed.status, 202, "{}", pushed.json);
    let refused = system.concluded(pushed.json["id"].as_i64().unwrap()).await;
    assert_eq!(refused["status"], "refused");
    assert_eq!(refused["refusal"]["code"], 801, "{refused}");
    assert!(refused["refusal"]["message"].as_str().unwrap().len() > 5);

    // Bad requests are named before anything is registered.
    let missing = system
        .send(
            Method::POST,
            "/api/v1/packages?period=2025-01",
            Some(bytes.clone()),
            true,
        )
        .await;
    assert_eq!(
        (missing.status, &missing.json["code"]),
        (400, &Value::from("parameter_missing"))
    );
    let closed = system
        .send(
            Method::POST,
            &format!("/api/v1/packages?period=2024-12&file_name={name}"),
            Some(bytes.clone()),
            true,
        )
        .await;
    assert_eq!(
        (closed.status, &closed.json["code"]),
        (409, &Value::from("period_closed")),
        "{}",
        closed.json
    );
    let unsigned = system
        .send(
            Method::POST,
            &format!("/api/v1/packages?period=2025-01&file_name={name}"),
            Some(bytes.clone()),
            false,
        )
        .await;
    assert_eq!(unsigned.status, 401, "{}", unsigned.json);

    // The list: the three packages pushed, newest first.
    let list = system.get("/api/v1/packages").await;
    assert_eq!(list.status, 200);
    let ids: Vec<i64> = list.json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 4, "{}", list.json);
    assert!(ids.contains(&clean_id) && ids.contains(&faulty_id) && ids.contains(&mek_id));

    // Another MO's system: the same 404 as a package that does not exist.
    let (other, _) = system_of(&node, "140002").await;
    for path in [
        format!("/api/v1/packages/{faulty_id}"),
        format!("/api/v1/packages/{faulty_id}/findings"),
        format!("/api/v1/packages/{faulty_id}/protocol"),
        "/api/v1/packages/999999".to_owned(),
        "/api/v1/packages/abc".to_owned(),
    ] {
        let answer = other.get(&path).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.json);
    }
    let theirs = other.get("/api/v1/packages").await;
    assert_eq!(theirs.json["packages"].as_array().unwrap().len(), 0);

    // No certificate: refused before anything is read.
    let anonymous = System {
        http: http_client(&node, None),
        base: node.url.clone(),
        key: None,
        keyid: String::new(),
    };
    let answer = anonymous.get("/api/v1/packages").await;
    assert_eq!(
        (answer.status, &answer.json["code"]),
        (401, &Value::from("client_certificate_required")),
        "{}",
        answer.json
    );

    // Revoked: refused from the next request on, on the same client.
    medgate_claims::systems::revoke_certificate(
        &node.metadata,
        &operator(),
        &serial,
        "key lost",
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let answer = system.get("/api/v1/packages").await;
    assert_eq!(answer.status, 403, "{}", answer.json);
    assert!(
        answer.json["message"].as_str().unwrap().contains("revoked"),
        "{}",
        answer.json
    );
    let answer = system.push(&name, &bytes).await;
    assert!(
        matches!(answer.status, 401 | 403),
        "{} {}",
        answer.status,
        answer.json
    );
    assert_eq!(
        other.get("/api/v1/packages").await.status,
        200,
        "the other MO's system still works"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_pushes_pulls_and_is_refused_where_it_must_be_on_sqlite() {
    a_system_pushes_pulls_and_is_refused_where_it_must_be(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_pushes_pulls_and_is_refused_where_it_must_be_on_postgres() {
    a_system_pushes_pulls_and_is_refused_where_it_must_be(Backend::Postgres).await;
}
