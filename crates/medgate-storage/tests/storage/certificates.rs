//! Tenant certificates: registration replaces the active one of the same kind.

use medgate_storage::{
    CertificateKind, CertificateOwner, CertificateStatus, MetadataError, NewCertificate,
    Sha256Digest,
};
use time::macros::datetime;

use crate::support::{create_tenant, tenant_id, TestDb};

fn certificate(kind: CertificateKind, serial: &str) -> NewCertificate {
    let der = format!("DER of {serial}").into_bytes();
    NewCertificate {
        kind,
        serial_hex: serial.to_owned(),
        fingerprint_sha256: Sha256Digest::of(&der),
        der,
        subject: format!("CN=0000000000005010 {}", kind.as_str()),
        not_before: datetime!(2025-01-01 00:00 UTC),
        not_after: datetime!(2026-01-01 00:00 UTC),
    }
}

pub async fn registration_replaces_the_active_certificate_of_the_same_kind(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1000, 10).await;
    let old_tls = certificate(CertificateKind::Tls, "01");
    let old_wss = certificate(CertificateKind::Wss, "02");
    let stored = metadata
        .register_certificates(&tenant, &[old_tls.clone(), old_wss.clone()])
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].der, old_tls.der);
    assert_eq!(stored[0].status, CertificateStatus::Active);

    // Renew only the TLS certificate.
    let new_tls = certificate(CertificateKind::Tls, "03");
    metadata
        .register_certificates(&tenant, std::slice::from_ref(&new_tls))
        .await
        .unwrap();

    let active = metadata.active_certificates(&tenant).await.unwrap();
    let summary: Vec<_> = active
        .iter()
        .map(|certificate| (certificate.kind, certificate.serial_hex.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![(CertificateKind::Tls, "03"), (CertificateKind::Wss, "02")]
    );
    assert_eq!(active[0].fingerprint_sha256, new_tls.fingerprint_sha256);
    assert_eq!(active[0].not_after, new_tls.not_after);
    assert_eq!(active[0].tenant, tenant);

    assert_eq!(
        metadata
            .find_certificate(&old_tls.fingerprint_sha256)
            .await
            .unwrap(),
        Some(CertificateOwner {
            tenant: tenant.clone(),
            kind: CertificateKind::Tls,
            status: CertificateStatus::Replaced,
        })
    );
    assert_eq!(
        metadata
            .find_certificate(&new_tls.fingerprint_sha256)
            .await
            .unwrap(),
        Some(CertificateOwner {
            tenant: tenant.clone(),
            kind: CertificateKind::Tls,
            status: CertificateStatus::Active,
        })
    );
    assert_eq!(
        metadata
            .find_certificate(&old_wss.fingerprint_sha256)
            .await
            .unwrap()
            .map(|owner| owner.status),
        Some(CertificateStatus::Active)
    );
    assert_eq!(
        metadata
            .find_certificate(&Sha256Digest::of(b"unknown"))
            .await
            .unwrap(),
        None
    );
}

pub async fn duplicate_fingerprint_refuses_the_whole_set(db: TestDb) {
    let metadata = &db.metadata;
    let first = create_tenant(metadata, 1, 1000, 10).await;
    let second = create_tenant(metadata, 2, 1000, 10).await;
    let tls = certificate(CertificateKind::Tls, "01");
    metadata
        .register_certificates(&first, std::slice::from_ref(&tls))
        .await
        .unwrap();

    // The second tenant presents a new WSS certificate and the first tenant's TLS one.
    let wss = certificate(CertificateKind::Wss, "02");
    let refused = metadata
        .register_certificates(&second, &[wss.clone(), tls.clone()])
        .await
        .unwrap_err();
    assert!(
        matches!(refused, MetadataError::CertificateExists(fingerprint) if fingerprint == tls.fingerprint_sha256),
        "{refused:?}"
    );
    // Nothing of the set was kept.
    assert!(metadata
        .active_certificates(&second)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        metadata
            .find_certificate(&wss.fingerprint_sha256)
            .await
            .unwrap(),
        None
    );
    // The owner's certificate is untouched.
    assert_eq!(
        metadata
            .find_certificate(&tls.fingerprint_sha256)
            .await
            .unwrap()
            .map(|owner| owner.tenant),
        Some(first)
    );
}

pub async fn registration_for_unknown_tenant_is_refused(db: TestDb) {
    let refused = db
        .metadata
        .register_certificates(&tenant_id(99), &[certificate(CertificateKind::Tls, "01")])
        .await
        .unwrap_err();
    assert!(
        matches!(refused, MetadataError::TenantNotFound(_)),
        "{refused:?}"
    );
}
