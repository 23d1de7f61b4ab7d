//! The claims registers' store: medical organisations, subdivisions, insurers, periods,
//! logins with a one-time link that opens once, and packages concluded with their findings
//! (a second accepted copy refused with F012 805).

use medgate_storage::{
    ClaimsFinding, ClaimsMekFinding, ClaimsMekSummary, ClaimsMoCertificate, ClaimsStoreError,
    ClaimsSubdivision, LinkOpening, MekOutcome, NewClaimsPackage, NewClaimsUser, PackageOutcome,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::TestDb;

pub(crate) const AT: OffsetDateTime = datetime!(2026-12-04 09:00 UTC);

fn user(login: &str, mo: &str, link_hash: &str) -> NewClaimsUser {
    NewClaimsUser {
        login: login.to_owned(),
        role: "executor".to_owned(),
        mo_code: Some(mo.to_owned()),
        smo_code: None,
        subdivision_code: None,
        name: "Иванова И. И.".to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        link_hash: link_hash.to_owned(),
        link_expires_at: AT + Duration::days(7),
        created_at: AT,
    }
}

pub(crate) fn package(name: &str, sha256: &str) -> NewClaimsPackage {
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

pub(crate) fn finding(code: u16, element: &str, n_zap: &str) -> ClaimsFinding {
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
        comment_ru: "недопустимое значение".to_owned(),
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
        mek: MekOutcome::NoCatalogue,
    };
    let accepted = store
        .finish_claims_package(first, clean.clone(), AT)
        .await
        .unwrap();
    assert_eq!(accepted.status, "accepted");
    assert_eq!(accepted.mek, Some(ClaimsMekSummary::NoCatalogue));
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
        assert_eq!(
            refused.refusal_comment_ru.as_deref(),
            Some(
                format!(
                    "Пакет уже зарегистрирован: пакет {first} принят ранее с тем же именем файла \
                     или тем же содержимым."
                )
                .as_str()
            )
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
                mek: MekOutcome::NoCatalogue,
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
                comment_ru: "не ZIP-архив".to_owned(),
            },
            AT,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            refused.status.as_str(),
            refused.refusal_code,
            refused.refusal_comment_ru.as_deref()
        ),
        ("refused", Some(801), Some("не ZIP-архив"))
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

fn mek_finding(reason: u16, basis: &str, n_zap: &str, kopecks: i64) -> ClaimsMekFinding {
    ClaimsMekFinding {
        reason_code: reason,
        reason_basis: basis.to_owned(),
        rule_id: (reason == 207).then(|| "003K.00.0620".to_owned()),
        element: "DS1".to_owned(),
        n_zap: Some(n_zap.to_owned()),
        idcase: Some(n_zap.to_owned()),
        sl_id: Some("1".to_owned()),
        comment: "DS1 O80 for a man".to_owned(),
        comment_ru: "диагноз O80 не совместим с полом".to_owned(),
        withheld_kopecks: kopecks,
    }
}

pub async fn mek_findings_and_paid_cases_are_kept_exactly(db: TestDb) {
    let store = &db.metadata;
    store
        .create_claims_medical_organisation("140001", "Больница", AT)
        .await
        .unwrap();
    store.open_claims_period("2026-11", AT).await.unwrap();

    // MEK findings: the package is accepted with withholdings, the sums kept to the kopeck.
    let withheld = package("HM1.zip", "aa");
    let id = store.register_claims_package(&withheld).await.unwrap();
    let findings = vec![
        mek_finding(207, "1.4.4.", "3", 50_050),
        mek_finding(221, "1.10.1.", "7", 9_007_199_254_740_993),
    ];
    let concluded = store
        .finish_claims_package(
            id,
            PackageOutcome::Checked {
                cases: 10,
                patients: 10,
                total_findings: 0,
                findings: Vec::new(),
                mek: MekOutcome::Done {
                    cases_checked: 10,
                    cases_refused: 2,
                    total_findings: 2,
                    withheld_kopecks: 9_007_199_254_791_043,
                    catalogues: "Q016 version 1.9 of 08.05.2020".to_owned(),
                    findings: findings.clone(),
                },
            },
            AT,
        )
        .await
        .unwrap();
    assert_eq!(concluded.status, "accepted_mek");
    assert_eq!(
        concluded.mek,
        Some(ClaimsMekSummary::Done {
            cases_checked: 10,
            cases_refused: 2,
            findings: 2,
            withheld_kopecks: 9_007_199_254_791_043,
            catalogues: "Q016 version 1.9 of 08.05.2020".to_owned(),
        })
    );
    assert_eq!(store.claims_mek_findings(id).await.unwrap(), findings);
    assert_eq!(store.claims_package(id).await.unwrap().unwrap(), concluded);

    // A package accepted with withholdings counts as accepted: a copy of it is refused (805).
    let copy = store
        .register_claims_package(&package("HM2.zip", "aa"))
        .await
        .unwrap();
    let refused = store
        .finish_claims_package(
            copy,
            PackageOutcome::Checked {
                cases: 10,
                patients: 10,
                total_findings: 0,
                findings: Vec::new(),
                mek: MekOutcome::NoCatalogue,
            },
            AT,
        )
        .await
        .unwrap();
    assert_eq!(refused.refusal_code, Some(805));
    assert_eq!(refused.mek, None);
    assert!(store.claims_mek_findings(copy).await.unwrap().is_empty());

    // Paid keys: kept once, with their first source.
    let keys = vec![
        "140001;7700000000000001;2026-11-02;2026-11-02;3;97;J06.9".to_owned(),
        "140001;7700000000000002;2026-11-03;2026-11-03;3;97;I11.9".to_owned(),
    ];
    assert_eq!(
        store
            .add_claims_paid_cases(&keys, "HM140001S14002_26101.zip", AT)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .add_claims_paid_cases(&keys[1..], "again.txt", AT)
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.claims_paid_case_keys().await.unwrap(), keys);
    assert_eq!(
        store
            .claims_paid_case_source(&keys[1])
            .await
            .unwrap()
            .as_deref(),
        Some("HM140001S14002_26101.zip")
    );
    assert!(store.add_claims_paid_cases(&keys, " ", AT).await.is_err());
}

fn register(number: u32, packages: Vec<i64>) -> medgate_storage::NewClaimsRegister {
    medgate_storage::NewClaimsRegister {
        mo_code: "140001".to_owned(),
        smo_code: "14002".to_owned(),
        period: "2026-11".to_owned(),
        usl_ok: "3".to_owned(),
        number,
        file_name: format!("HM140001S14002_2611{number}.zip"),
        sha256: "ab".repeat(32),
        size_bytes: 2048,
        cases: 9,
        summav: "9000.00".to_owned(),
        formed_by: "M140001_1".to_owned(),
        formed_at: AT,
        package_ids: packages,
    }
}

fn event(from: &str, to: &str, action: &str, login: &str) -> medgate_storage::ClaimsRegisterEvent {
    medgate_storage::ClaimsRegisterEvent {
        from_state: Some(from.to_owned()),
        to_state: to.to_owned(),
        action: action.to_owned(),
        role: "executor".to_owned(),
        login: login.to_owned(),
        comment: None,
        at: AT + Duration::minutes(5),
    }
}

pub async fn registers_take_a_package_once_and_move_from_the_state_read(db: TestDb) {
    let store = &db.metadata;
    store
        .create_claims_medical_organisation("140001", "Больница", AT)
        .await
        .unwrap();
    store
        .create_claims_insurer("14002", "Страховая", AT)
        .await
        .unwrap();
    store.open_claims_period("2026-11", AT).await.unwrap();
    let package_id = store
        .register_claims_package(&package("HM140001S14002_261101.zip", "aa"))
        .await
        .unwrap();
    assert_eq!(
        store
            .next_claims_register_number("140001", "2026-11")
            .await
            .unwrap(),
        1
    );
    let formed = store
        .create_claims_registers(vec![register(1, vec![package_id])])
        .await
        .unwrap();
    assert_eq!(formed.len(), 1);
    let id = formed[0].id;
    assert_eq!(formed[0].state, "draft");
    assert_eq!(
        store
            .claims_packages_in_registers("140001", "2026-11")
            .await
            .unwrap(),
        vec![package_id]
    );
    assert_eq!(
        store
            .next_claims_register_number("140001", "2026-11")
            .await
            .unwrap(),
        2
    );
    // The same package again: refused whole, nothing stored.
    let again = store
        .create_claims_registers(vec![register(2, vec![package_id])])
        .await;
    assert!(
        matches!(again, Err(ClaimsStoreError::Exists { .. })),
        "{again:?}"
    );
    assert_eq!(
        store.claims_registers_of_mo("140001").await.unwrap().len(),
        1
    );
    // A draft is the MO's: the insurer sees it once sent.
    assert!(store
        .claims_registers_for_smo("14002")
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .move_claims_register(id, event("draft", "sent", "send", "M140001_1"))
        .await
        .unwrap());
    // A second move from the state read before is refused: the register is `sent` now.
    assert!(!store
        .move_claims_register(id, event("draft", "sent", "send", "M140001_1"))
        .await
        .unwrap());
    assert_eq!(
        store.claims_registers_for_smo("14002").await.unwrap().len(),
        1
    );
    let mut returned = event("sent", "for_rework", "return_for_rework", "S14002_R1");
    returned.role = "insurer_reviewer".to_owned();
    returned.comment = Some("Исправьте диагноз".to_owned());
    assert!(store.move_claims_register(id, returned).await.unwrap());
    let history = store.claims_register_history(id).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|e| (e.from_state.clone(), e.to_state.as_str(), e.login.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (None, "draft", "M140001_1"),
            (Some("draft".to_owned()), "sent", "M140001_1"),
            (Some("sent".to_owned()), "for_rework", "S14002_R1"),
        ]
    );
    assert_eq!(history[2].comment.as_deref(), Some("Исправьте диагноз"));

    // A reviewer's login belongs to the insurer, not to an MO.
    let mut reviewer = user("S14002_R1", "140001", &"cd".repeat(32));
    reviewer.mo_code = None;
    reviewer.smo_code = Some("14002".to_owned());
    reviewer.role = "insurer_reviewer".to_owned();
    store.create_claims_user(&reviewer).await.unwrap();
    let stored = store.claims_user("S14002_R1").await.unwrap().unwrap();
    assert_eq!(
        (stored.mo_code, stored.smo_code.as_deref()),
        (None, Some("14002"))
    );
    let mut unknown = user("S19999_R1", "140001", &"ef".repeat(32));
    unknown.mo_code = None;
    unknown.smo_code = Some("19999".to_owned());
    assert!(matches!(
        store.create_claims_user(&unknown).await,
        Err(ClaimsStoreError::NotFound {
            what: "insurer",
            ..
        })
    ));

    // Certificates replace each other; a signature moves the state with it.
    store
        .create_claims_user(&user("M140001_1", "140001", &"01".repeat(32)))
        .await
        .unwrap();
    for serial in ["01", "02"] {
        store
            .set_claims_certificate(medgate_storage::ClaimsCertificate {
                login: "M140001_1".to_owned(),
                pem: "-----BEGIN CERTIFICATE-----".to_owned(),
                subject: "CN=Иванова".to_owned(),
                serial_hex: serial.to_owned(),
                not_after: AT + Duration::days(365),
                uploaded_at: AT,
            })
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .claims_certificate("M140001_1")
            .await
            .unwrap()
            .unwrap()
            .serial_hex,
        "02"
    );
    let signature = medgate_storage::ClaimsRegisterSignature {
        position: 1,
        login: "M140001_1".to_owned(),
        subject: "CN=Иванова".to_owned(),
        serial_hex: "02".to_owned(),
        sha256: "cd".repeat(32),
        signed_at: AT,
    };
    // Not in for_signature: nothing recorded.
    assert!(!store
        .sign_claims_register(
            id,
            event("for_signature", "signed_by_executor", "sign", "M140001_1"),
            signature.clone()
        )
        .await
        .unwrap());
    assert!(store
        .claims_register_signatures(id)
        .await
        .unwrap()
        .is_empty());
    let mut resent = event("for_rework", "sent", "send", "M140001_1");
    resent.at = AT + Duration::minutes(6);
    assert!(store.move_claims_register(id, resent).await.unwrap());
    let mut accepted = event("sent", "for_signature", "accept_for_signature", "S14002_R1");
    accepted.role = "insurer_reviewer".to_owned();
    assert!(store.move_claims_register(id, accepted).await.unwrap());
    assert!(store
        .sign_claims_register(
            id,
            event("for_signature", "signed_by_executor", "sign", "M140001_1"),
            signature.clone()
        )
        .await
        .unwrap());
    assert_eq!(
        store.claims_register_signatures(id).await.unwrap(),
        vec![signature]
    );
    assert_eq!(
        store.claims_register(id).await.unwrap().unwrap().state,
        "signed_by_executor"
    );
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
