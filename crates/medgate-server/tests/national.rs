//! The national registry in process: a repository node and a registry node (`role =
//! registry`) on loopback, each with its own CA and data folder. National certificates come
//! from the registry's CA packed as PKCS#12 files; the clinic registers, indexes a
//! document, finds it at the registry by PESEL, revokes, registers again; the registry stops
//! and starts again; the registry's operator revokes a national certificate; deleting a
//! document withdraws its entry.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};

use base64::Engine;
use http::Method;
use medgate_client::ClientError;
use medgate_pki::ca::RevocationReason;
use medgate_pki::keystore::{write_pkcs12, Pkcs12Options};
use medgate_pki::{CertKind, Password};
use serde_json::{json, Value};
use support::web::WebClient;
use support::{days, document_path, issue, refusal, Clinic, Node, Plan};

const A: &str = "0000000000005010";
const B: &str = "0000000000007020";
const PESEL: &str = "44051401359";
const P12_PASSWORD: &str = "national-p12-secret";

/// A discharge document of patient [`PESEL`] (the project's sample).
fn sample_document() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cda/01-karta-informacyjna.xml")
}

/// National certificates as the registry's operator issues them to a provider, packed as
/// the clinic uploads them: two PKCS#12 files (base64) with the registry's CA in the chain.
struct National {
    tls_p12: String,
    wss_p12: String,
    tls_serial: String,
}

fn issue_national(registry: &Node, tenant: &str) -> National {
    let tenant = medgate_ids::TenantId::parse(tenant).unwrap();
    let password = Password::new(P12_PASSWORD);
    let mut packed = Vec::new();
    let mut tls_serial = String::new();
    for kind in [CertKind::Tls, CertKind::Wss] {
        let (key, certificate) = issue(&registry.ca, &tenant, kind, days(365));
        if kind == CertKind::Tls {
            tls_serial = certificate.summary().unwrap().serial_hex;
        }
        let p12 = write_pkcs12(
            &certificate,
            std::slice::from_ref(registry.ca.certificate()),
            &key,
            &password,
            &Pkcs12Options::default(),
        )
        .unwrap();
        packed.push(base64::engine::general_purpose::STANDARD.encode(p12));
    }
    National {
        wss_p12: packed.pop().unwrap(),
        tls_p12: packed.pop().unwrap(),
        tls_serial,
    }
}

async fn register(clinic: &Clinic, tls_p12: &str, wss_p12: &str, password: &str) -> Result<Value, ClientError> {
    clinic
        .client
        .send_json(
            Method::POST,
            "/api/v1/national/register",
            &json!({ "tls_p12_base64": tls_p12, "wss_p12_base64": wss_p12, "password": password, "name": null }),
        )
        .await
}

async fn register_ok(clinic: &Clinic, national: &National) -> Value {
    register(clinic, &national.tls_p12, &national.wss_p12, P12_PASSWORD).await.unwrap()
}

async fn national_id(clinic: &Clinic) -> Value {
    clinic.account().await["national_repository_id"].clone()
}

async fn index(clinic: &Clinic, id: &str) -> Result<Value, ClientError> {
    clinic.client.send(Method::POST, &document_path(id, "/index"), None).await?.json()
}

async fn find(clinic: &Clinic) -> Result<Value, ClientError> {
    clinic.client.get_json(&format!("/api/v1/national/find?patient={PESEL}")).await
}

async fn found_ids(clinic: &Clinic) -> Vec<String> {
    let mut ids: Vec<String> = find(clinic).await.unwrap()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uniqueId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn metadata(clinic: &Clinic, id: &str) -> Value {
    clinic.get(&document_path(id, "/metadata")).await["document"].clone()
}

/// Replaces the `extension` of the first `<marker` element after `<ClinicalDocument`.
fn with_extension(text: &str, marker: &str, extension: &str) -> String {
    let start = text.find("<ClinicalDocument").unwrap();
    let element = start + text[start..].find(marker).unwrap();
    let at = element + text[element..].find("extension=\"").unwrap() + "extension=\"".len();
    let end = at + text[at..].find('"').unwrap();
    format!("{}{extension}{}", &text[..at], &text[end..])
}

/// Uploads the sample document as a new document (fresh id and setId).
async fn put_copy(clinic: &Clinic, source: &Path, extension: &str) -> String {
    let text = std::fs::read_to_string(source).unwrap();
    let changed = with_extension(&with_extension(&text, "<id ", extension), "<setId ", extension);
    clinic.put(changed).await.unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_index_find_revoke_and_survive_a_registry_outage() {
    let sample = sample_document();
    let mut registry = Node::start_registry().await;
    let repository = Node::start_with(registry.as_registry()).await;
    // Each node serves its own API only.
    let code = |page: support::web::Page| serde_json::from_slice::<Value>(&page.body).unwrap()["code"].clone();
    assert_eq!(code(WebClient::new(&registry).get("/api/v1/account").await), "no_such_route");
    assert_eq!(
        code(WebClient::new(&repository).get(&format!("/api/v1/registry/entries?patient={PESEL}")).await),
        "no_such_route"
    );

    let clinic = repository.enrol(A, Plan::mb(50, 100)).await;
    let national = issue_national(&registry, A);
    let document = put_copy(&clinic, &sample, "100001").await;

    // Not registered yet: nothing to index with.
    let (status, code, message) = refusal(index(&clinic, &document).await);
    assert_eq!((status, code.as_str()), (409, "not_registered_nationally"));
    assert!(message.contains("national register"), "{message}");

    // Bad uploads are refused by name and change nothing.
    let (status, code, message) = refusal(register(&clinic, &national.tls_p12, &national.wss_p12, "not-it").await);
    assert_eq!((status, code.as_str()), (400, "wrong_p12_password"));
    assert!(message.contains("tls_p12"), "{message}");
    assert!(!message.contains("not-it"), "the password is never echoed: {message}");
    let (status, code, message) = refusal(register(&clinic, &national.wss_p12, &national.tls_p12, P12_PASSWORD).await);
    assert_eq!((status, code.as_str()), (400, "wrong_certificate_kind"));
    assert!(message.contains("CN=0000000000005010 TLS"), "{message}");
    // The repository's own tenant certificates are not national ones.
    let tenant_p12 = write_pkcs12(&clinic.tls.1, &[], &clinic.tls.0, &Password::new(P12_PASSWORD), &Pkcs12Options::default()).unwrap();
    let tenant_p12 = base64::engine::general_purpose::STANDARD.encode(tenant_p12);
    let (status, code, _) = refusal(register(&clinic, &tenant_p12, &national.wss_p12, P12_PASSWORD).await);
    assert_eq!((status, code.as_str()), (400, "certificate_not_from_registry_ca"));
    assert_eq!(national_id(&clinic).await, Value::Null);

    // Register: the registry answers the national repository id; the account shows it.
    let answer = register_ok(&clinic, &national).await;
    let log = answer["log"].to_string();
    assert!(log.contains("National certificates accepted."), "{log}");
    assert!(log.contains("National repository id: 2.999.1.5.1."), "{log}");
    assert_eq!(answer["national_repository_id"], "2.999.1.5.1");
    assert_eq!(national_id(&clinic).await, "2.999.1.5.1");

    // Index the document; it shows as indexed; the registry finds it by PESEL and points
    // back to this repository.
    assert_eq!(metadata(&clinic, &document).await["indexed"], false);
    let indexed = index(&clinic, &document).await.unwrap();
    assert_eq!(indexed["document"], document.as_str());
    assert_eq!(indexed["national_repository_id"], "2.999.1.5.1");
    let shown = metadata(&clinic, &document).await;
    assert_eq!(shown["indexed"], true);
    assert!(shown["indexed_at"].is_string());
    let answer = find(&clinic).await.unwrap();
    let entry = &answer["entries"][0];
    assert_eq!(answer["total"], 1, "{answer}");
    assert_eq!(entry["uniqueId"], document.as_str());
    assert_eq!(entry["patientId"]["extension"], PESEL);
    assert_eq!(entry["patientId"]["root"], "2.16.840.1.113883.3.4424.1.1.616");
    assert_eq!(entry["repositoryUniqueId"], "2.999.1.5.1");
    assert_eq!(entry["repository_url"], repository.url.as_str().trim_end_matches('/'));
    assert_eq!(entry["sha256"], shown["sha256"]);
    assert_eq!(entry["hash"], shown["sha1"]);
    assert_eq!(entry["size"], shown["size"]);
    assert_eq!(entry["typeCode"]["code"], shown["type_code"]);

    // Revoke: deregistered, entry withdrawn, id gone; indexing and finding are refused.
    let revoked: Value = clinic.client.send(Method::POST, "/api/v1/national/revoke", None).await.unwrap().json().unwrap();
    assert_eq!(revoked["deregistered"], "2.999.1.5.1");
    assert_eq!(revoked["withdrawn_entries"], 1);
    assert_eq!(national_id(&clinic).await, Value::Null);
    assert_eq!(metadata(&clinic, &document).await["indexed"], false);
    let (status, code, _) = refusal(index(&clinic, &document).await);
    assert_eq!((status, code.as_str()), (409, "not_registered_nationally"));
    let (status, code, _) = refusal(find(&clinic).await);
    assert_eq!((status, code.as_str()), (409, "not_registered_nationally"));

    // Register again: the same national id; indexing is accepted.
    assert_eq!(register_ok(&clinic, &national).await["national_repository_id"], "2.999.1.5.1");
    index(&clinic, &document).await.unwrap();
    assert_eq!(found_ids(&clinic).await, std::slice::from_ref(&document));

    // The registry goes down: every call says so, and nothing changes.
    let other = repository.enrol(B, Plan::mb(50, 100)).await;
    let other_national = issue_national(&registry, B);
    let second = put_copy(&clinic, &sample, "100002").await;
    registry.stop().await;
    let (status, code, message) = refusal(register(&other, &other_national.tls_p12, &other_national.wss_p12, P12_PASSWORD).await);
    assert_eq!((status, code.as_str()), (502, "registry_unreachable"));
    let expected = format!(
        "could not get the national repository id: the registry at {} did not answer (connection refused); nothing was changed, try again",
        registry.url
    );
    assert!(message.contains(&expected), "{message}");
    assert_eq!(national_id(&other).await, Value::Null);
    let (status, code, message) = refusal(index(&clinic, &second).await);
    assert_eq!((status, code.as_str()), (502, "registry_unreachable"));
    assert!(message.contains("the document was not indexed"), "{message}");
    assert_eq!(metadata(&clinic, &second).await["indexed"], false);
    let (status, code, message) = refusal(clinic.delete(&document).await);
    assert_eq!((status, code.as_str()), (502, "registry_unreachable"));
    assert!(message.contains("the document was not deleted"), "{message}");
    assert_eq!(metadata(&clinic, &document).await["indexed"], true, "the document is still there");
    let (status, code, _) = refusal(clinic.client.send(Method::POST, "/api/v1/national/revoke", None).await);
    assert_eq!((status, code.as_str()), (502, "registry_unreachable"));
    assert_eq!(national_id(&clinic).await, "2.999.1.5.1");

    // Back up: the same calls work.
    registry.restart().await;
    assert_eq!(register_ok(&other, &other_national).await["national_repository_id"], "2.999.1.5.2");
    index(&clinic, &second).await.unwrap();
    let mut expected = vec![document.clone(), second.clone()];
    expected.sort();
    assert_eq!(found_ids(&clinic).await, expected);

    // Deleting a document withdraws its entry.
    clinic.delete(&document).await.unwrap();
    assert_eq!(found_ids(&clinic).await, std::slice::from_ref(&second));
    assert_eq!(found_ids(&other).await, std::slice::from_ref(&second), "another repository sees the same registry");

    // The registry's operator revokes the national TLS certificate: refused at once, with
    // the reason, and nothing changes.
    registry.ca.revoke(&national.tls_serial, RevocationReason::Unspecified).unwrap();
    let third = put_copy(&clinic, &sample, "100003").await;
    let (status, code, message) = refusal(index(&clinic, &third).await);
    // `registry_refused`, or `registry_refused_certificate` when refused in the handshake.
    assert!(status == 403 && code.starts_with("registry_refused"), "{status} {code}: {message}");
    assert!(message.contains("the document was not indexed"), "{message}");
    // Refused in the handshake (the node follows its CA folder's revocations), or, on a
    // connection made before, on the request naming the certificate.
    assert!(
        message.contains("during the TLS handshake (CertificateRevoked)")
            || message.contains(&format!("national TLS certificate {} was revoked", national.tls_serial)),
        "{message}"
    );
    assert_eq!(metadata(&clinic, &third).await["indexed"], false);
    assert_eq!(national_id(&clinic).await, "2.999.1.5.1");
    // After a restart the registry's TLS layer itself refuses the revoked certificate (its
    // CRL is rebuilt at startup); the message says so.
    registry.restart().await;
    let (status, code, message) = refusal(index(&clinic, &third).await);
    assert_eq!((status, code.as_str()), (403, "registry_refused_certificate"), "{message}");
    assert!(message.contains("refused the national TLS certificate during the TLS handshake"), "{message}");
    assert_eq!(metadata(&clinic, &third).await["indexed"], false);
    // The other repository is not affected.
    assert_eq!(found_ids(&other).await, [second]);
}
