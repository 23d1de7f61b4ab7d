//! Activation, the account view, certificate replacement and every authentication refusal
//! of seed 000's support catalogue, in process on SQLite and PostgreSQL: the clinic's own
//! client with its files swapped the ways clinics swap them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::Method;
use medgate_client::ClientError;
use medgate_storage::TenantStatus;
use serde_json::{json, Value};
use support::{refusal, Backend, Node, Plan};

const A: &str = "0000000000005010";
const B: &str = "0000000000007020";
const EXPIRED: &str = "0000000000009030";

async fn activation_and_refusals(backend: Backend) {
    let Some(node) = Node::start(backend).await else { return };
    node.create_tenant(A, Plan::mb(20, 100)).await;
    let clinic = node.prepare(A);

    // Before activation the certificate is not registered.
    let (status, code, _) = clinic.get_refused("/api/v1/account").await;
    assert_eq!((status, code.as_str()), (403, "certificate_not_registered"));

    // Activation answers one line per step.
    let answer = clinic.activate().await.unwrap();
    let log: Vec<&str> = answer["log"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    for step in [
        "Certificates accepted.",
        "Account activated.",
        "Provider OID \"2.16.840.1.113883.3.4424.2.7.26\" recorded.",
        "Domain id assigned: 2.999.1.2.",
        "Repository id assigned: 2.999.1.4.",
    ] {
        assert!(log.iter().any(|line| line.starts_with(step)), "missing step {step}: {log:?}");
    }
    let account = clinic.account().await;
    assert_eq!(account["status"], "active");
    assert_eq!(account["quota"]["total_mb"], 20);
    assert_eq!(account["quota"]["max_files"], 100);
    assert_eq!(account["certificates"].as_array().map(Vec::len), Some(2));
    let (status, code, _) = refusal(clinic.activate().await);
    assert_eq!((status, code.as_str()), (409, "already_active"));

    // The WSS certificate presented for TLS: 400 naming the expected subject.
    let swapped = clinic
        .client_with(|s| {
            s.tls_cert = clinic.dir.join("wss.pem");
            s.tls_key = clinic.dir.join("wss.key");
        })
        .unwrap();
    let (status, code, message) = refusal(swapped.get_json::<Value>("/api/v1/account").await);
    assert_eq!((status, code.as_str()), (400, "wrong_certificate_kind"), "{message}");
    assert!(message.contains("CN=0000000000005010 TLS"), "{message}");

    // The WSS key loaded as the TLS key: the client says so before connecting.
    let error = clinic.client_with(|s| s.tls_key = clinic.dir.join("wss.key")).err().unwrap();
    let ClientError::Settings(message) = error else { panic!("{error:?}") };
    assert!(message.contains("this is the WSS key") && message.contains("TLS handshake would fail"), "{message}");

    // Another tenant's certificates while acting for A: 400 naming A's expected subject.
    let other = node.enrol(B, Plan::mb(5, 10)).await;
    let foreign = clinic
        .client_with(|s| {
            s.tls_cert = other.dir.join("tls.pem");
            s.tls_key = other.dir.join("tls.key");
            s.wss_cert = other.dir.join("wss.pem");
            s.wss_key = other.dir.join("wss.key");
        })
        .unwrap();
    let (status, code, message) = refusal(foreign.get_json::<Value>("/api/v1/account").await);
    assert_eq!((status, code.as_str()), (400, "wrong_tenant_certificate"), "{message}");
    assert!(message.contains("CN=0000000000005010 TLS"), "{message}");

    // A certificate from the tenant CA that was never registered: 403.
    let fresh = node.prepare(A);
    let (status, code, _) = fresh.get_refused("/api/v1/account").await;
    assert_eq!((status, code.as_str()), (403, "certificate_not_registered"));

    // Replacing the certificates: the new ones work, the old ones get 403 (TLS) and the old
    // WSS key's signatures 401.
    let replaced: Value = clinic
        .client
        .send_json(
            Method::PUT,
            "/api/v1/account/certificates",
            &json!({ "tls_certificate": fresh.tls.1.to_pem(), "wss_certificate": fresh.wss.1.to_pem() }),
        )
        .await
        .unwrap();
    assert_eq!(replaced["status"], "active", "{replaced}");
    assert_eq!(fresh.account().await["status"], "active");
    let (status, code, message) = clinic.get_refused("/api/v1/account").await;
    assert_eq!((status, code.as_str()), (403, "certificate_not_registered"));
    assert!(message.contains("replaced"), "{message}");
    let old_signer = fresh
        .client_with(|s| {
            s.wss_cert = clinic.dir.join("wss.pem");
            s.wss_key = clinic.dir.join("wss.key");
        })
        .unwrap();
    let (status, _, message) = refusal(
        old_signer
            .send_json::<Value>(
                Method::PUT,
                "/api/v1/account/certificates",
                &json!({ "tls_certificate": clinic.tls.1.to_pem() }),
            )
            .await,
    );
    assert_eq!(status, 401, "{message}");

    // Suspended and expired accounts: 403.
    node.set_status(A, TenantStatus::Suspended).await;
    let (status, code, _) = fresh.get_refused("/api/v1/account").await;
    assert_eq!((status, code.as_str()), (403, "account_suspended"));
    node.set_status(A, TenantStatus::Active).await;
    fresh.account().await;

    node.create_tenant(
        EXPIRED,
        Plan {
            valid_from: time::macros::datetime!(2019-01-01 0:00 UTC),
            valid_to: time::macros::datetime!(2020-01-01 0:00 UTC),
            quota_bytes: 1024 * 1024,
            max_files: 1,
        },
    )
    .await;
    let late = node.prepare(EXPIRED);
    late.activate().await.unwrap();
    let (status, code, _) = late.get_refused("/api/v1/account").await;
    assert_eq!((status, code.as_str()), (403, "account_expired"));

    // The operator's view of the store lists all three accounts.
    let listed: Vec<String> = node
        .metadata
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|tenant| tenant.id.as_str().to_owned())
        .collect();
    for tenant in [A, B, EXPIRED] {
        assert!(listed.iter().any(|t| t == tenant), "{listed:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_and_refusals_on_sqlite() {
    activation_and_refusals(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_and_refusals_on_postgres() {
    activation_and_refusals(Backend::Postgres).await;
}
