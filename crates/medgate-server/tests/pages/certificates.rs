//! The account's certificates on the staff pages without a browser: self-service CSRs off
//! until the operator allows it; another account's CSR refused; the operator's queue issued
//! and rejected by form, a forged decision changing nothing; the certificate downloaded by
//! the account's administrator only; forged certificate uploads refused.

use medgate_ids::TenantId;
use medgate_pki::csr::{generate_tenant_csr, Country, SubjectFields};
use medgate_pki::{CertKind, KeyAlgorithm};
use crate::support::web::{admin_client, assert_audited, audited, operator_client};
use crate::support::{Node, Plan};

const TENANT: &str = "0000000000009080";
const OTHER: &str = "0000000000009081";

fn csr(tenant: &str, kind: CertKind) -> String {
    let subject = SubjectFields::new("Przychodnia Test", "IT", Country::parse("PL").unwrap()).unwrap();
    generate_tenant_csr(&TenantId::parse(tenant).unwrap(), kind, &subject, KeyAlgorithm::EcdsaP256)
        .unwrap()
        .1
}

/// The first pending request's id on the operator's queue.
fn first_request(queue: &str) -> String {
    queue
        .split("/operator/certificate-requests/")
        .nth(1)
        .expect("a pending request")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_certificate_requests_are_switched_on_queued_issued_rejected_and_downloaded() {
    let node = Node::sqlite().await;
    node.enrol(TENANT, Plan::mb(10, 100)).await;
    node.enrol(OTHER, Plan::mb(10, 100)).await;
    let operator = operator_client(&node, "olek").await;
    let admin = admin_client(&node, TENANT, "it").await;
    let other_admin = admin_client(&node, OTHER, "it").await;
    let tls_csr = csr(TENANT, CertKind::Tls);

    // Off: the page says so and an upload is refused.
    let page = admin.get("/admin/certificate-requests").await.text();
    assert!(page.contains("nie udostępnił"), "{page}");
    let token = admin.token("/admin/account").await;
    let refused = admin.post("/admin/certificate-requests", &[("csrf", &token), ("csr", &tls_csr)]).await;
    assert_eq!(refused.status, 403);

    // The operator allows it.
    let token = operator.token(&format!("/operator/tenants/{TENANT}")).await;
    let enabled = operator
        .post(&format!("/operator/tenants/{TENANT}/self-service?enable=1"), &[("csrf", &token)])
        .await;
    assert_eq!(enabled.status, 303, "{}", enabled.text());

    // Another account's CSR is refused naming the subject expected; ours is queued.
    let token = admin.token("/admin/certificate-requests").await;
    let foreign = admin
        .post("/admin/certificate-requests", &[("csrf", &token), ("csr", &csr(OTHER, CertKind::Tls))])
        .await;
    assert_eq!(foreign.status, 400, "{}", foreign.text());
    assert!(foreign.text().contains(&format!("CN={TENANT} TLS")), "{}", foreign.text());
    let queued = admin.post("/admin/certificate-requests", &[("csrf", &token), ("csr", &tls_csr)]).await;
    assert_eq!(queued.status, 303, "{}", queued.text());

    // The operator issues it with the node's CA.
    let queue = operator.get("/operator/certificate-requests").await.text();
    assert!(queue.contains(TENANT) && queue.contains("TLS"), "{queue}");
    let id = first_request(&queue);
    let token = operator.token("/operator/certificate-requests").await;
    let issued = operator
        .post(&format!("/operator/certificate-requests/{id}/issue"), &[("csrf", &token), ("days", "30")])
        .await;
    assert_eq!(issued.status, 303, "{}", issued.text());

    // Downloaded by the administrator; another account's administrator gets 404.
    let listing = admin.get("/admin/certificate-requests").await.text();
    let start = listing.find("/admin/certificate-requests/").expect("download link");
    let link: String = listing[start..].chars().take_while(|c| *c != '"').collect();
    let pem = admin.get(&link).await;
    assert_eq!(pem.status, 200);
    assert!(pem.text().starts_with("-----BEGIN CERTIFICATE-----"), "{}", pem.text());
    assert_eq!(other_admin.get(&link).await.status, 404, "another account's administrator");

    // A forged decision changes nothing; a rejection's reason reaches the administrator.
    let token = admin.token("/admin/certificate-requests").await;
    let wss = admin
        .post("/admin/certificate-requests", &[("csrf", &token), ("csr", &csr(TENANT, CertKind::Wss))])
        .await;
    assert_eq!(wss.status, 303);
    let id = first_request(&operator.get("/operator/certificate-requests").await.text());
    let forged = operator
        .post(&format!("/operator/certificate-requests/{id}/issue"), &[("days", "30")])
        .await;
    assert_eq!(forged.status, 403);
    assert!(operator.get("/operator/certificate-requests").await.text().contains("WSS"), "still pending");
    let token = operator.token("/operator/certificate-requests").await;
    let rejected = operator
        .post(
            &format!("/operator/certificate-requests/{id}/reject"),
            &[("csrf", &token), ("reason", "zła nazwa organizacji")],
        )
        .await;
    assert_eq!(rejected.status, 303);
    assert!(admin.get("/admin/certificate-requests").await.text().contains("zła nazwa organizacji"));

    let entries = audited(&node, TENANT).await;
    assert_audited(&entries, "admin:it", "certificate_request.submit");
    assert_audited(&entries, "admin:it", "certificate_request.download");
    assert_audited(&entries, "operator:olek", "certificate_request.issue");
    assert_audited(&entries, "operator:olek", "tenant.csr_self_service.enable");
}

/// Uploads of certificates with a forged form token, or none, change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_forged_certificate_uploads_change_nothing() {
    let node = Node::sqlite().await;
    let clinic = node.enrol(TENANT, Plan::mb(10, 100)).await;
    let admin = admin_client(&node, TENANT, "kierownik").await;
    let before = clinic.account().await;
    let wss_pem = clinic.wss.1.to_pem();
    let forged = admin
        .post_multipart(
            "/admin/account/certificates",
            &[("csrf", "forged")],
            &[("wss_file", "wss.pem", wss_pem.as_bytes())],
        )
        .await;
    assert_eq!(forged.status, 403);
    let forged = admin
        .post_multipart(
            "/admin/account/national",
            &[("national_password", "national-p12-secret")],
            &[("national_tls", "tls.p12", b"not read"), ("national_wss", "wss.p12", b"not read")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let after = clinic.account().await;
    assert_eq!(after["certificates"], before["certificates"]);
    assert!(after["national_repository_id"].is_null());
}
