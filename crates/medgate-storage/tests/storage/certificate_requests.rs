//! Self-service certificate requests: the per-account switch, one pending request per
//! account and kind, the operator's queue, issuing and rejecting once, and account scoping.

use medgate_storage::{
    CertificateKind, CertificateRequestError, NewCertificateRequest, RequestStatus,
};
use time::{Duration, OffsetDateTime};

use crate::support::{create_tenant, tenant_id, TestDb};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn request(tenant: &medgate_ids::TenantId, kind: CertificateKind) -> NewCertificateRequest {
    NewCertificateRequest {
        tenant: tenant.clone(),
        kind,
        csr_der: vec![0x30, 0x82, 0x01, 0x02, 0xff],
        subject: format!("C=PL, CN={tenant} {}", kind.as_str()),
        key_description: "ECDSA P-256".to_owned(),
        submitted_by: "admin:it".to_owned(),
    }
}

pub async fn self_service_is_switched_per_account(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 7201, 1_000, 10).await;
    let other = create_tenant(metadata, 7202, 1_000, 10).await;
    assert!(!metadata.csr_self_service(&tenant).await.unwrap());
    metadata
        .set_csr_self_service(&tenant, true, "operator:olek", now())
        .await
        .unwrap();
    // Enabling twice is harmless.
    metadata
        .set_csr_self_service(&tenant, true, "operator:olek", now())
        .await
        .unwrap();
    assert!(metadata.csr_self_service(&tenant).await.unwrap());
    assert!(!metadata.csr_self_service(&other).await.unwrap());
    metadata
        .set_csr_self_service(&tenant, false, "operator:olek", now())
        .await
        .unwrap();
    assert!(!metadata.csr_self_service(&tenant).await.unwrap());
    let missing = metadata
        .set_csr_self_service(&tenant_id(7299), true, "operator:olek", now())
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("does not exist"), "{missing}");
}

pub async fn requests_wait_one_per_kind_and_are_decided_once(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 7210, 1_000, 10).await;
    let other = create_tenant(metadata, 7211, 1_000, 10).await;
    let at = now();
    let tls = metadata
        .submit_certificate_request(&request(&tenant, CertificateKind::Tls), at)
        .await
        .unwrap();
    assert_eq!(tls.status, RequestStatus::Pending);
    assert_eq!(tls.csr_der, vec![0x30, 0x82, 0x01, 0x02, 0xff]);
    let refused = metadata
        .submit_certificate_request(&request(&tenant, CertificateKind::Tls), at)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, CertificateRequestError::PendingExists { .. }),
        "{refused:?}"
    );
    let wss = metadata
        .submit_certificate_request(
            &request(&tenant, CertificateKind::Wss),
            at + Duration::seconds(1),
        )
        .await
        .unwrap();
    metadata
        .submit_certificate_request(
            &request(&other, CertificateKind::Tls),
            at + Duration::seconds(2),
        )
        .await
        .unwrap();
    let queue = metadata.pending_certificate_requests().await.unwrap();
    assert_eq!(queue.len(), 3);
    assert_eq!(queue[0].id, tls.id, "oldest first");

    // Scoped reads: the other account cannot see this one's request.
    assert!(metadata
        .get_certificate_request(Some(&other), tls.id)
        .await
        .unwrap()
        .is_none());
    assert!(metadata
        .get_certificate_request(Some(&tenant), tls.id)
        .await
        .unwrap()
        .is_some());
    assert!(metadata
        .get_certificate_request(None, tls.id)
        .await
        .unwrap()
        .is_some());

    let issued = metadata
        .issue_certificate_request(tls.id, &[1, 2, 3], "0ABC", "operator:olek", at)
        .await
        .unwrap();
    assert_eq!(issued.status, RequestStatus::Issued);
    assert_eq!(issued.certificate_der.as_deref(), Some(&[1u8, 2, 3][..]));
    assert_eq!(issued.serial_hex.as_deref(), Some("0ABC"));
    let again = metadata
        .reject_certificate_request(tls.id, "late", "operator:olek", at)
        .await
        .unwrap_err();
    assert!(
        matches!(again, CertificateRequestError::NotPending(_)),
        "{again:?}"
    );
    let rejected = metadata
        .reject_certificate_request(wss.id, "wrong organisation name", "operator:olek", at)
        .await
        .unwrap();
    assert_eq!(rejected.reason.as_deref(), Some("wrong organisation name"));
    // Decided requests free the kind for a new one.
    metadata
        .submit_certificate_request(&request(&tenant, CertificateKind::Tls), at)
        .await
        .unwrap();
    let listed = metadata.list_certificate_requests(&tenant).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|r| r.tenant == tenant));
    assert_eq!(
        metadata.pending_certificate_requests().await.unwrap().len(),
        2
    );
}
