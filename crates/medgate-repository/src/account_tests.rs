//! Tests of the account: certificate checks against a real tenant CA, activation and the
//! account view.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test that meets an unexpected value fails by panicking.

use std::path::Path;

use medgate_pki::ca::Validity;
use medgate_pki::csr::{generate_tenant_csr, Country, SubjectFields};
use medgate_pki::KeyAlgorithm;
use medgate_storage::{NewTenant, TenantPlan};

use super::*;
use crate::testing::Fixture;

struct Ca {
    ca: CertificateAuthority,
    _dir: tempfile::TempDir,
}

impl Ca {
    fn new() -> Ca {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::init(
            dir.path(),
            "Test tenant CA",
            KeyAlgorithm::EcdsaP256,
            Validity::days_from_now(400).unwrap(),
            None,
        )
        .unwrap();
        Ca { ca, _dir: dir }
    }

    fn issue(&self, tenant: &TenantId, kind: CertKind, days: u32) -> Certificate {
        let subject = SubjectFields::new("Clinic", "IT", Country::parse("PL").unwrap()).unwrap();
        let (_, csr) =
            generate_tenant_csr(tenant, kind, &subject, KeyAlgorithm::EcdsaP256).unwrap();
        self.ca
            .sign_csr(
                csr.as_bytes(),
                Path::new("request.csr"),
                Validity::days_from_now(days).unwrap(),
            )
            .unwrap()
    }
}

fn issuer(ca: &Ca) -> Issuer<'_> {
    Issuer {
        ca: &ca.ca,
        is_revoked: Box::new(|_| false),
    }
}

#[test]
fn certificates_are_checked_for_account_kind_issuer_and_revocation() {
    let ca = Ca::new();
    let tenant = TenantId::parse("0000000000005010").unwrap();
    let other = TenantId::parse("0000000000005028").unwrap();
    let tls = ca.issue(&tenant, CertKind::Tls, 10);
    let checked = checked_certificate(&issuer(&ca), "tls", &tls, &tenant, CertKind::Tls).unwrap();
    assert_eq!(checked.kind, CertificateKind::Tls);
    assert_eq!(checked.der, tls.der());

    let reason = |result: Result<NewCertificate, RepositoryError>| match result.err() {
        Some(RepositoryError::Invalid {
            reason,
            field,
            message,
        }) => {
            assert!(message.starts_with(&format!("{field}: ")), "{message}");
            reason
        }
        other => panic!("expected an invalid input, got {other:?}"),
    };
    assert_eq!(
        reason(checked_certificate(
            &issuer(&ca),
            "wss",
            &tls,
            &tenant,
            CertKind::Wss
        )),
        Reason::CertificateKind
    );
    assert_eq!(
        reason(checked_certificate(
            &issuer(&ca),
            "tls",
            &tls,
            &other,
            CertKind::Tls
        )),
        Reason::CertificateTenant
    );
    let stranger = Ca::new().issue(&tenant, CertKind::Tls, 10);
    assert_eq!(
        reason(checked_certificate(
            &issuer(&ca),
            "tls",
            &stranger,
            &tenant,
            CertKind::Tls
        )),
        Reason::CertificateIssuer
    );
    let revoking = Issuer {
        ca: &ca.ca,
        is_revoked: Box::new(|_| true),
    };
    assert_eq!(
        reason(checked_certificate(
            &revoking,
            "tls",
            &tls,
            &tenant,
            CertKind::Tls
        )),
        Reason::CertificateRevoked
    );
    assert_eq!(
        reason(checked_certificate_pem(
            &issuer(&ca),
            "tls_certificate",
            "nonsense",
            &tenant,
            CertKind::Tls
        )),
        Reason::Certificate
    );
    assert_eq!(
        checked_certificate_pem(
            &issuer(&ca),
            "tls_certificate",
            &tls.to_pem(),
            &tenant,
            CertKind::Tls
        )
        .unwrap()
        .serial_hex,
        checked.serial_hex
    );
}

#[tokio::test]
async fn an_account_is_activated_once_with_its_presented_certificate() {
    let fixture = Fixture::new().await;
    let ca = Ca::new();
    let tenant = TenantId::parse("0000000000005036").unwrap();
    let now = OffsetDateTime::now_utc();
    fixture
        .repository
        .metadata
        .create_tenant(&NewTenant {
            id: tenant.clone(),
            plan: TenantPlan {
                valid_from: now,
                valid_to: now + time::Duration::days(20),
                quota_bytes: 1024 * 1024,
                max_files: 10,
            },
        })
        .await
        .unwrap();
    let repository = &fixture.repository;
    let target = activation_target(repository, &tenant).await.unwrap();
    assert_eq!(target.status, TenantStatus::Created);

    let (tls, wss) = (
        ca.issue(&tenant, CertKind::Tls, 10),
        ca.issue(&tenant, CertKind::Wss, 10),
    );
    let body = json!({
        "provider_oid": "2.16.840.1.113883.3.4424.2.7.26",
        "tls_certificate": tls.to_pem(),
        "wss_certificate": wss.to_pem(),
    })
    .to_string();
    let presented = Sha256Digest::from_bytes(tls.sha256());
    let elsewhere = Sha256Digest::from_bytes(wss.sha256());
    let mismatch = checked_activation(&issuer(&ca), &tenant, body.as_bytes(), &elsewhere).err();
    assert_eq!(mismatch.map(|e| e.code()), Some("tls_certificate_mismatch"));
    let bad_json = checked_activation(&issuer(&ca), &tenant, b"{}", &presented).err();
    assert_eq!(bad_json.map(|e| e.code()), Some("bad_json"));

    let activation =
        checked_activation(&issuer(&ca), &tenant, body.as_bytes(), &presented).unwrap();
    assert_eq!(activation.wss_certificate().unwrap().der(), wss.der());
    let actor = Actor {
        tenant: tenant.clone(),
        ..fixture.actor.clone()
    };
    let root = Oid::parse("2.998").unwrap();
    let activated = activate(repository, &root, &actor, activation)
        .await
        .unwrap();
    assert_eq!(activated.log[0], "Certificates accepted.");
    assert!(
        activated.log[3].starts_with("Domain id assigned: 2.998.2."),
        "{:?}",
        activated.log
    );
    assert_eq!(activated.account["status"], "active");
    assert_eq!(
        activated.account["provider_oid"],
        "2.16.840.1.113883.3.4424.2.7.26"
    );
    assert_eq!(
        activated.account["certificates"].as_array().unwrap().len(),
        2
    );
    // Within 30 days of its end, the account and its certificates are flagged.
    let warnings: Vec<&str> = activated.account["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        warnings,
        [
            "certificate_expiring",
            "certificate_expiring",
            "account_expiring"
        ]
    );

    let again = activation_target(repository, &tenant).await.err();
    assert_eq!(again.map(|e| e.code()), Some("already_active"));
    let unknown = TenantId::parse("0000000000005044").unwrap();
    let missing = activation_target(repository, &unknown).await.err();
    assert_eq!(
        missing.as_ref().map(|e| (e.code(), e.kind())),
        Some(("certificate_not_registered", crate::ErrorKind::Forbidden))
    );
    let entries = repository.metadata.list_audit(&tenant, 10).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["account.activate"]);
}

#[tokio::test]
async fn certificates_are_replaced_and_reuse_is_refused() {
    let fixture = Fixture::new().await;
    let ca = Ca::new();
    let tenant = fixture.actor.tenant.clone();
    let repository = &fixture.repository;
    let nothing = update_certificates(repository, &issuer(&ca), &fixture.actor, b"{}")
        .await
        .err();
    assert_eq!(nothing.map(|e| e.code()), Some("nothing_to_update"));
    let tls = ca.issue(&tenant, CertKind::Tls, 90);
    let body = json!({ "tls_certificate": tls.to_pem() }).to_string();
    let view = update_certificates(repository, &issuer(&ca), &fixture.actor, body.as_bytes())
        .await
        .unwrap();
    assert_eq!(view["certificates"][0]["kind"], "TLS");
    let again = update_certificates(repository, &issuer(&ca), &fixture.actor, body.as_bytes())
        .await
        .err();
    assert_eq!(
        again.as_ref().map(|e| (e.code(), e.kind())),
        Some(("certificate_in_use", crate::ErrorKind::Conflict))
    );
    let shown = show(repository, &fixture.actor).await.unwrap();
    assert_eq!(shown["repository_id"], "2.999.4.1");
    assert_eq!(shown["quota"]["total_mb"], 200);
    let actions: Vec<String> = fixture
        .audit()
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["account.certificates", "account.show"]);
}
