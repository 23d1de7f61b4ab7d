//! The registry API in process: a registry node (`role = registry`) on loopback with its own
//! CA, national certificates issued by that CA, and the medgate client a repository uses —
//! every refusal a repository can meet, and what each call leaves behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use http::Method;
use medgate_client::{RegistryClient, RegistryCredentials, RegistryError};
use medgate_ids::TenantId;
use medgate_pki::ca::{CertificateAuthority, RevocationReason, Validity};
use medgate_pki::{CertKind, Certificate, KeyAlgorithm, PrivateKey};
use medgate_client::registry::wire::{Coded, DocumentEntry, PatientId};
use serde_json::{json, Value};

const PESEL_ROOT: &str = "2.16.840.1.113883.3.4424.1.1.616";
const PESEL: &str = "44051401359";

mod support;

use support::{copy, days, Node};

/// The registry node: its URL and CA.
type Registry = Node;

async fn start_registry() -> Registry {
    Node::start_registry().await
}

fn issue(ca: &CertificateAuthority, tenant: &TenantId, kind: CertKind) -> (PrivateKey, Certificate) {
    support::issue(ca, tenant, kind, days(30))
}

/// A provider's national certificates.
struct Provider {
    tenant: TenantId,
    tls: (PrivateKey, Certificate),
    wss: (PrivateKey, Certificate),
}

impl Provider {
    fn new(registry: &Registry, tenant: &str) -> Provider {
        let tenant = TenantId::parse(tenant).unwrap();
        Provider {
            tls: issue(&registry.ca, &tenant, CertKind::Tls),
            wss: issue(&registry.ca, &tenant, CertKind::Wss),
            tenant,
        }
    }

    fn client(&self, registry: &Registry) -> RegistryClient {
        self.client_with(registry, &self.tls, &self.wss)
    }

    fn client_with(
        &self,
        registry: &Registry,
        tls: &(PrivateKey, Certificate),
        wss: &(PrivateKey, Certificate),
    ) -> RegistryClient {
        RegistryClient::new(
            &registry.url,
            std::slice::from_ref(registry.ca.certificate()),
            &self.tenant,
            RegistryCredentials {
                tls_chain: vec![tls.1.clone()],
                tls_key: copy(&tls.0),
                wss_certificate: wss.1.clone(),
                wss_key: copy(&wss.0),
            },
            Duration::from_secs(10),
        )
        .unwrap()
    }
}

async fn register(client: &RegistryClient, wss: &Certificate) -> Result<Value, RegistryError> {
    client
        .send(
            Method::POST,
            "/api/v1/registry/repositories",
            Some(&json!({
                "wss_certificate_pem": wss.to_pem(),
                "repository_url": "https://repo.example.org:8443",
                "name": "Przychodnia",
            })),
        )
        .await
}

fn entry(extension: &str, repository: &str) -> DocumentEntry {
    DocumentEntry {
        unique_id: format!("2.16.840.1.113883.3.4424.7.4.1^{extension}"),
        patient_id: PatientId {
            root: PESEL_ROOT.into(),
            extension: PESEL.into(),
        },
        class_code: Some("02.12".into()),
        type_code: Some(Coded {
            code: "34140-4".into(),
            system: Some("2.16.840.1.113883.6.1".into()),
            display: None,
        }),
        creation_time: "2013-04-12T00:00:00Z".into(),
        hash: "11f861fb72cbd20f62c39924b36bb5ff0d12f730".into(),
        sha256: "3a28e9aa284d207503d26b9c1563ea33781765293e2549501230f0de24601430".into(),
        size: 10991,
        repository_unique_id: repository.into(),
        author: Some("lek. Piotr Nowak".into()),
        title: Some("Skierowanie".into()),
        confidentiality: Some("N".into()),
        mime_type: "application/xml".into(),
    }
}

fn entry_path(unique_id: &str) -> String {
    format!(
        "/api/v1/registry/entries/{}",
        urlencoding::encode(unique_id)
    )
}

async fn put(client: &RegistryClient, entry: &DocumentEntry) -> Result<Value, RegistryError> {
    client
        .send(
            Method::PUT,
            &entry_path(&entry.unique_id),
            Some(&serde_json::to_value(entry).unwrap()),
        )
        .await
}

async fn find(client: &RegistryClient) -> Result<Value, RegistryError> {
    client
        .send(
            Method::GET,
            &format!("/api/v1/registry/entries?patient={PESEL}"),
            None,
        )
        .await
}

/// The registry's refusal: (status, code, message).
fn refusal(result: Result<Value, RegistryError>) -> (u16, String, String) {
    match result {
        Err(RegistryError::Refused {
            status,
            code,
            message,
        }) => (status, code, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn registration_refusals_and_ownership() {
    let registry = start_registry().await;
    let a = Provider::new(&registry, "0000000000005010");
    let b = Provider::new(&registry, "0000000000007020");
    let client_a = a.client(&registry);

    // Nothing works before registering.
    let (status, code, _) = refusal(find(&client_a).await);
    assert_eq!((status, code.as_str()), (403, "repository_not_registered"));
    let (status, code, _) = refusal(put(&client_a, &entry("1", "2.999.1.5.1")).await);
    assert_eq!((status, code.as_str()), (403, "repository_not_registered"));

    // The WSS certificate must be the same provider's, of the WSS kind, from this CA, and its
    // key must sign the request.
    let (status, code, message) = refusal(register(&client_a, &b.wss.1).await);
    assert_eq!(
        (status, code.as_str()),
        (400, "wrong_tenant_certificate"),
        "{message}"
    );
    let (status, code, _) = refusal(register(&client_a, &a.tls.1).await);
    assert_eq!((status, code.as_str()), (400, "wrong_certificate_kind"));
    let foreign_dir = tempfile::tempdir().unwrap();
    // A day longer than the 30-day certificates it issues: made in the same second or the
    // next, those would otherwise end a second after it and be refused.
    let foreign = CertificateAuthority::init(
        &foreign_dir.path().join("ca"),
        "someone else's CA",
        KeyAlgorithm::EcdsaP256,
        Validity::days_from_now(31).unwrap(),
        None,
    )
    .unwrap();
    let foreign_wss = issue(&foreign, &a.tenant, CertKind::Wss);
    let (status, code, _) = refusal(
        register(
            &a.client_with(&registry, &a.tls, &foreign_wss),
            &foreign_wss.1,
        )
        .await,
    );
    assert_eq!(
        (status, code.as_str()),
        (403, "certificate_not_from_registry_ca")
    );
    let other_wss = issue(&registry.ca, &a.tenant, CertKind::Wss);
    let (status, code, _) = refusal(register(&client_a, &other_wss.1).await);
    assert_eq!(
        status, 401,
        "signed with another key than the WSS certificate sent: {code}"
    );

    // Registered: an id under <oid_root>.5; registering again gives it back.
    let first = register(&client_a, &a.wss.1).await.unwrap();
    assert_eq!(first["national_repository_id"], "2.999.1.5.1");
    assert_eq!(first["new"], true);
    let again = register(&client_a, &a.wss.1).await.unwrap();
    assert_eq!(again["national_repository_id"], "2.999.1.5.1");
    assert_eq!(again["new"], false);
    let client_b = b.client(&registry);
    assert_eq!(
        register(&client_b, &b.wss.1).await.unwrap()["national_repository_id"],
        "2.999.1.5.2"
    );

    // Entries: checked field by field, only under the caller's own repository id.
    let (status, code, _) = refusal(put(&client_a, &entry("1", "2.999.1.5.2")).await);
    assert_eq!((status, code.as_str()), (403, "wrong_repository"));
    let mut bad = entry("1", "2.999.1.5.1");
    bad.hash = "not-a-sha1".into();
    let (status, code, message) = refusal(put(&client_a, &bad).await);
    assert_eq!((status, code.as_str()), (400, "invalid_entry"));
    assert!(message.contains("hash"), "{message}");
    let mismatch = client_a
        .send(
            Method::PUT,
            &entry_path("1.2.3^other"),
            Some(&serde_json::to_value(entry("1", "2.999.1.5.1")).unwrap()),
        )
        .await;
    assert_eq!(refusal(mismatch).1, "unique_id_mismatch");
    let one = entry("1", "2.999.1.5.1");
    put(&client_a, &one).await.unwrap();
    put(&client_a, &one).await.unwrap();

    // Another repository can neither take over nor withdraw it, but finds it.
    let (status, code, _) = refusal(put(&client_b, &entry("1", "2.999.1.5.2")).await);
    assert_eq!(
        (status, code.as_str()),
        (409, "entry_owned_by_another_repository")
    );
    let (status, code, _) = refusal(
        client_b
            .send(Method::DELETE, &entry_path(&one.unique_id), None)
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "entry_not_found"));
    let found = find(&client_b).await.unwrap();
    assert_eq!(found["total"], 1);
    assert_eq!(found["entries"][0]["uniqueId"], one.unique_id.as_str());
    assert_eq!(found["entries"][0]["repositoryUniqueId"], "2.999.1.5.1");
    assert_eq!(
        found["entries"][0]["repository_url"],
        "https://repo.example.org:8443"
    );

    // Deregistered: entries withdrawn, writes refused until it registers again.
    let gone = client_a
        .send(Method::DELETE, "/api/v1/registry/repositories/self", None)
        .await
        .unwrap();
    assert_eq!(gone["withdrawn_entries"], 1);
    assert_eq!(find(&client_b).await.unwrap()["total"], 0);
    let (status, code, _) = refusal(put(&client_a, &one).await);
    assert_eq!((status, code.as_str()), (403, "repository_deregistered"));

    // Renewed TLS certificate: the old one is no longer the registered one.
    let renewed_tls = issue(&registry.ca, &a.tenant, CertKind::Tls);
    let renewed = a.client_with(&registry, &renewed_tls, &a.wss);
    assert_eq!(
        register(&renewed, &a.wss.1).await.unwrap()["national_repository_id"],
        "2.999.1.5.1"
    );
    let (status, code, _) = refusal(put(&client_a, &one).await);
    assert_eq!((status, code.as_str()), (403, "certificate_not_registered"));
    put(&renewed, &one).await.unwrap();

    // The operator revokes the WSS certificate: refused at the next request.
    let serial = a.wss.1.summary().unwrap().serial_hex;
    registry
        .ca
        .revoke(&serial, RevocationReason::KeyCompromise)
        .unwrap();
    let (status, code, message) = refusal(put(&renewed, &one).await);
    assert_eq!((status, code.as_str()), (403, "certificate_revoked"));
    assert!(
        message.contains(&format!("national WSS certificate {serial} was revoked")),
        "{message}"
    );
    assert_eq!(
        find(&client_b).await.unwrap()["total"],
        1,
        "the entry stays as it was"
    );
}
