//! The claims registers' store: medical organisations, subdivisions, insurers, periods,
//! logins with a one-time link that opens once, and packages concluded with their findings
//! (a second accepted copy refused with F012 805).

use medgate_storage::{
    ClaimsFinding, ClaimsMoCertificate, ClaimsStoreError, ClaimsSubdivision, LinkOpening,
    NewClaimsPackage, NewClaimsUser, PackageOutcome,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::TestDb;

const AT: OffsetDateTime = datetime!(2026-12-04 09:00 UTC);

fn user(login: &str, mo: &str, link_hash: &str) -> NewClaimsUser {
    NewClaimsUser {
        login: login.to_owned(),
        role: "executor".to_owned(),
        mo_code: mo.to_owned(),
        subdivision_code: None,
        name: "Иванова И. И.".to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        link_hash: link_hash.to_owned(),
        link_expires_at: AT + Duration::days(7),
        created_at: AT,
    }
}

fn package(name: &str, sha256: &str) -> NewClaimsPackage {
    NewClaimsPackage {
        mo_code: "140001".to_owned(),
        period: "2026-11".to_owned(),
        subdivision_code: None,
        file_name: name.to_owned(),
        sha256: sha256.to_owned(),
        size_bytes: 1234,
        uploaded_by: "M140001_1".to_owned(),
        uploaded_at: AT,
    }
}

fn finding(code: u16, element: &str, n_zap: &str) -> ClaimsFinding {
    ClaimsFinding {
        code,
        rule_id: Some("004F.00.0010".to_owned()),
        file: "HM140001S14002_261101.xml".to_owned(),
        element: element.to_owned(),
        base: "SL".to_owned(),
        n_zap: Some(n_zap.to_owned()),
        idcase: Some(n_zap.to_owned()),
        sl_id: None,
        idserv: None,
        comment: "a value not allowed".to_owned(),
    }
}

pub async fn organisations_insurers_and_periods(db: TestDb) {
    let store = &db.metadata;
    store
        .create_claims_medical_organisation("140001", "ГБУ РС(Я) «Больница»", AT)
        .await
        .unwrap();
    let again = store
        .create_claims_medical_organisation("140001", "again", AT)
        .await;
    assert!(
        matches!(again, Err(ClaimsStoreError::Exists { .. })),
        "{again:?}"
    );
    store
        .add_claims_subdivision(&ClaimsSubdivision {
            mo_code: "140001".to_owned(),
            code: "01".to_owned(),
            name: "Центр 1".to_owned(),
        })
        .await
        .unwrap();
    let orphan = store
        .add_claims_subdivision(&ClaimsSubdivision {
            mo_code: "149999".to_owned(),
            code: "01".to_owned(),
            name: "nowhere".to_owned(),
        })
        .await;
    assert!(
        matches!(&orphan, Err(ClaimsStoreError::NotFound { what: "medical organisation", id }) if id == "149999"),
        "{orphan:?}"
    );
    assert_eq!(store.claims_subdivisions("140001").await.unwrap().len(), 1);
    assert_eq!(store.claims_medical_organisations().await.unwrap().len(), 1);
    store
        .create_claims_insurer("14002", "СМО", AT)
        .await
        .unwrap();
    assert_eq!(store.claims_insurers().await.unwrap()[0].code, "14002");

    let opened = store.open_claims_period("2026-11", AT).await.unwrap();
    assert!(opened.open);
    let closed = store
        .close_claims_period("2026-11", AT + Duration::days(1))
        .await
        .unwrap();
    assert!(!closed.open);
    assert!(closed.closed_at.is_some());
    let reopened = store.open_claims_period("2026-11", AT).await.unwrap();
    assert!(reopened.open && reopened.closed_at.is_none());
    let unknown = store.close_claims_period("2020-01", AT).await;
    assert!(
        matches!(unknown, Err(ClaimsStoreError::NotFound { .. })),
        "{unknown:?}"
    );
    assert_eq!(store.claims_periods().await.unwrap().len(), 1);
}

pub async fn a_link_opens_once_and_a_renewed_one_again(db: TestDb) {
    let store = &db.metadata;
    store
        .create_claims_medical_organisation("140001", "Больница", AT)
        .await
        .unwrap();
    let orphan = store
        .create_claims_user(&user("M149999_1", "149999", "h0"))
        .await;
    assert!(
        matches!(orphan, Err(ClaimsStoreError::NotFound { .. })),
        "{orphan:?}"
    );
    store
        .create_claims_user(&user("M140001_1", "140001", "h1"))
        .await
        .unwrap();
    let twice = store
        .create_claims_user(&user("M140001_1", "140001", "h2"))
        .await;
    assert!(
        matches!(twice, Err(ClaimsStoreError::Exists { .. })),
        "{twice:?}"
    );
    assert!(
        store
            .claims_user("M140001_1")
            .await
            .unwrap()
            .unwrap()
            .must_change_password
    );

    assert_eq!(
        store.open_claims_link("h1", AT).await.unwrap(),
        LinkOpening::Opened {
            login: "M140001_1".to_owned()
        }
    );
    assert_eq!(
        store
            .open_claims_link("h1", AT + Duration::minutes(1))
            .await
            .unwrap(),
        LinkOpening::Spent { at: AT }
    );
    assert_eq!(
        store.open_claims_link("nope", AT).await.unwrap(),
        LinkOpening::Unknown
    );

    assert!(store
        .renew_claims_user_link("M140001_1", "$argon2id$new", "h3", AT + Duration::days(7))
        .await
        .unwrap());
    assert_eq!(
        store
            .open_claims_link("h3", AT + Duration::days(8))
            .await
            .unwrap(),
        LinkOpening::Expired
    );
    assert_eq!(
        store.open_claims_link("h1", AT).await.unwrap(),
        LinkOpening::Unknown
    );
    assert!(store
        .set_claims_password("M140001_1", "$argon2id$chosen")
        .await
        .unwrap());
    let stored = store.claims_user("M140001_1").await.unwrap().unwrap();
    assert!(!stored.must_change_password);
    assert_eq!(stored.password_hash, "$argon2id$chosen");
    assert_eq!(store.claims_users(Some("140001")).await.unwrap().len(), 1);
    assert_eq!(store.claims_users(Some("140002")).await.unwrap().len(), 0);
}

pub async fn packages_are_concluded_once_and_a_second_accepted_copy_is_refused(db: TestDb) {
    let store = &db.metadata;
    store
        .create_claims_medical_organisation("140001", "Больница", AT)
        .await
        .unwrap();
    let closed = store
        .register_claims_package(&package("HM1.zip", "aa"))
        .await;
    assert!(
        matches!(closed, Err(ClaimsStoreError::PeriodClosed { .. })),
        "{closed:?}"
    );
    store.open_claims_period("2026-11", AT).await.unwrap();

    let first = store
        .register_claims_package(&package("HM1.zip", "aa"))
        .await
        .unwrap();
    store.set_claims_package_progress(first, 500).await.unwrap();
    assert_eq!(
        store.claims_package(first).await.unwrap().unwrap().progress,
        500
    );
    let clean = PackageOutcome::Checked {
        cases: 10,
        patients: 9,
        total_findings: 0,
        findings: Vec::new(),
    };
    let accepted = store
        .finish_claims_package(first, clean.clone(), AT)
        .await
        .unwrap();
    assert_eq!(accepted.status, "accepted");
    assert_eq!(
        (accepted.cases, accepted.patients, accepted.progress),
        (10, 9, 1000)
    );
    let again = store.finish_claims_package(first, clean.clone(), AT).await;
    assert!(
        matches!(again, Err(ClaimsStoreError::NotFound { .. })),
        "{again:?}"
    );

    // The same content under another name, and the same name with other content.
    for (name, sha) in [("HM2.zip", "aa"), ("HM1.zip", "bb")] {
        let copy = store
            .register_claims_package(&package(name, sha))
            .await
            .unwrap();
        let refused = store
            .finish_claims_package(copy, clean.clone(), AT)
            .await
            .unwrap();
        assert_eq!(refused.status, "refused");
        assert_eq!(refused.refusal_code, Some(805));
        assert!(
            refused
                .refusal_comment
                .as_deref()
                .unwrap_or("")
                .contains(&format!("package {first}")),
            "{refused:?}"
        );
    }

    let faulty = store
        .register_claims_package(&package("HM3.zip", "cc"))
        .await
        .unwrap();
    let findings = vec![finding(904, "DS1", "2"), finding(902, "DATE_1", "5")];
    let concluded = store
        .finish_claims_package(
            faulty,
            PackageOutcome::Checked {
                cases: 10,
                patients: 10,
                total_findings: 3,
                findings: findings.clone(),
            },
            AT,
        )
        .await
        .unwrap();
    assert_eq!(
        (concluded.status.as_str(), concluded.findings),
        ("flk_errors", 3)
    );
    assert_eq!(store.claims_findings(faulty).await.unwrap(), findings);

    let broken = store
        .register_claims_package(&package("x.zip", "dd"))
        .await
        .unwrap();
    let refused = store
        .finish_claims_package(
            broken,
            PackageOutcome::Refused {
                code: 801,
                comment: "not a ZIP archive".to_owned(),
            },
            AT,
        )
        .await
        .unwrap();
    assert_eq!(
        (refused.status.as_str(), refused.refusal_code),
        ("refused", Some(801))
    );

    let listed: Vec<i64> = store
        .claims_packages("140001")
        .await
        .unwrap()
        .iter()
        .map(|package| package.id)
        .collect();
    assert_eq!(listed.len(), 5);
    assert!(
        listed.windows(2).all(|pair| pair[0] > pair[1]),
        "{listed:?}"
    );
    assert!(store.claims_packages("140002").await.unwrap().is_empty());
}

pub async fn mo_system_certificates_are_recorded_listed_and_revoked_once(db: TestDb) {
    let store = &db.metadata;
    store
        .create_claims_medical_organisation("140001", "Больница", AT)
        .await
        .unwrap();
    let certificate = |serial: &str, mo: &str, at: OffsetDateTime| ClaimsMoCertificate {
        serial: serial.to_owned(),
        mo_code: mo.to_owned(),
        subdivision_code: None,
        not_after: at + Duration::days(365),
        issued_at: at,
        issued_by: "cli".to_owned(),
        revoked_at: None,
        revoked_reason: None,
    };
    store
        .add_claims_mo_certificate(&certificate("0A01", "140001", AT))
        .await
        .unwrap();
    store
        .add_claims_mo_certificate(&certificate("0A02", "140001", AT + Duration::hours(1)))
        .await
        .unwrap();
    let again = store
        .add_claims_mo_certificate(&certificate("0A01", "140001", AT))
        .await;
    assert!(
        matches!(again, Err(ClaimsStoreError::Exists { .. })),
        "{again:?}"
    );
    let unknown_mo = store
        .add_claims_mo_certificate(&certificate("0A03", "999999", AT))
        .await;
    assert!(
        matches!(unknown_mo, Err(ClaimsStoreError::NotFound { .. })),
        "{unknown_mo:?}"
    );

    let listed: Vec<String> = store
        .claims_mo_certificates(Some("140001"))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.serial)
        .collect();
    assert_eq!(listed, ["0A02", "0A01"], "newest first");
    assert_eq!(store.claims_mo_certificates(None).await.unwrap().len(), 2);
    assert!(store
        .claims_mo_certificates(Some("140002"))
        .await
        .unwrap()
        .is_empty());

    let revoked = store
        .revoke_claims_mo_certificate("0A01", "key lost", AT + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(AT + Duration::days(1)));
    assert_eq!(revoked.revoked_reason.as_deref(), Some("key lost"));
    let twice = store
        .revoke_claims_mo_certificate("0A01", "again", AT + Duration::days(2))
        .await;
    assert!(
        matches!(twice, Err(ClaimsStoreError::Exists { .. })),
        "{twice:?}"
    );
    let missing = store.revoke_claims_mo_certificate("0AFF", "none", AT).await;
    assert!(
        matches!(missing, Err(ClaimsStoreError::NotFound { .. })),
        "{missing:?}"
    );
    let kept = store.claims_mo_certificate("0A01").await.unwrap().unwrap();
    assert_eq!(
        kept.revoked_reason.as_deref(),
        Some("key lost"),
        "the first revocation stays"
    );
    assert!(store
        .claims_mo_certificate("0A02")
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
}
