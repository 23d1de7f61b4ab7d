//! The clinical record service's store: institutions, units, practitioners and the matrix,
//! one-time code steps used once, sessions, versioned resources (atomic new versions, stale
//! writers refused), a referral consumed once, restrictions and the access log, each write
//! with its audit entry.

use std::sync::Arc;

use medgate_ids::{InstitutionId, StampNumber, Taj, UnitId};
use medgate_storage::{
    AuditOrigin, Authorisation, ClinicalStoreError, ClinicalUnit, ExpectedVersion,
    InstitutionCertificate, ListQuery, NewAccess, NewAuditEntry, NewPractitioner,
    PractitionerSession, ResourceWrite, Sha256Digest,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::TestDb;

const AT: OffsetDateTime = datetime!(2026-12-03 09:00 UTC);

fn institution(id: &str) -> InstitutionId {
    InstitutionId::parse(id).unwrap()
}

fn taj(value: &str) -> Taj {
    Taj::parse(value).unwrap()
}

fn audit(action: &str, target: &str) -> NewAuditEntry {
    NewAuditEntry {
        tenant: None,
        actor: "practitioner:dr.kovacs@506097".to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        origin: AuditOrigin::Cli,
        details: String::new(),
        patient: Some("123456788".to_owned()),
    }
}

fn access(
    patient: &str,
    action: &str,
    target: &str,
    reason: Option<&str>,
    at: OffsetDateTime,
) -> NewAccess {
    NewAccess {
        patient: taj(patient),
        at,
        user_name: "dr.kovacs".to_owned(),
        institution: institution("506097"),
        action: action.to_owned(),
        target: target.to_owned(),
        break_glass_reason: reason.map(str::to_owned),
    }
}

fn condition(id: &str, expected: ExpectedVersion, by: &str, text: &str) -> ResourceWrite {
    let version = match &expected {
        ExpectedVersion::New => 1,
        ExpectedVersion::Current { current, .. } => current + 1,
    };
    ResourceWrite {
        resource_type: "Condition".to_owned(),
        logical_id: id.to_owned(),
        patient: taj("123456788"),
        institution: institution(by),
        last_updated: AT + Duration::minutes(version as i64),
        deleted: false,
        status: None,
        restriction: None,
        resource: format!(
            r#"{{"resourceType":"Condition","id":"{id}","meta":{{"versionId":"{version}"}},"code":{{"text":"{text}"}}}}"#
        ),
        expected,
    }
}

async fn setup_registry(db: &TestDb) {
    let metadata = &db.metadata;
    metadata
        .create_clinical_institution(&institution("506097"), "Fogászat Kft.", AT)
        .await
        .unwrap();
    metadata
        .create_clinical_institution(&institution("111111"), "Szakrendelő", AT)
        .await
        .unwrap();
    metadata
        .create_clinical_practitioner(
            &NewPractitioner {
                user_name: "dr.kovacs".to_owned(),
                name: "Dr. Kovács Anna".to_owned(),
                stamp_number: StampNumber::parse("58012").unwrap(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$test$test".to_owned(),
                totp_secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".to_owned(),
            },
            AT,
        )
        .await
        .unwrap();
}

pub async fn institutions_units_practitioners_and_the_matrix(db: TestDb) {
    setup_registry(&db).await;
    let metadata = &db.metadata;
    let again = metadata
        .create_clinical_institution(&institution("506097"), "again", AT)
        .await;
    assert!(
        matches!(
            again,
            Err(ClinicalStoreError::Exists {
                what: "institution",
                ..
            })
        ),
        "{again:?}"
    );

    let unit = ClinicalUnit {
        id: UnitId::parse("001044299").unwrap(),
        institution: institution("506097"),
        name: "Fogászati rendelő".to_owned(),
    };
    metadata.add_clinical_unit(&unit).await.unwrap();
    let orphan = ClinicalUnit {
        id: UnitId::parse("001044300").unwrap(),
        institution: institution("222222"),
        name: "nowhere".to_owned(),
    };
    let refused = metadata.add_clinical_unit(&orphan).await;
    assert!(
        matches!(
            refused,
            Err(ClinicalStoreError::NotFound {
                what: "institution",
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(
        metadata
            .clinical_units(&institution("506097"))
            .await
            .unwrap(),
        vec![unit.clone()]
    );
    assert!(metadata
        .clinical_units(&institution("111111"))
        .await
        .unwrap()
        .is_empty());

    metadata
        .grant_clinical_authorisation(&Authorisation {
            user_name: "dr.kovacs".to_owned(),
            institution: institution("506097"),
            unit: None,
            role: "doctor".to_owned(),
        })
        .await
        .unwrap();
    let lines = metadata
        .clinical_authorisations("dr.kovacs", &institution("506097"))
        .await
        .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].unit, None);
    assert!(metadata
        .clinical_authorisations("dr.kovacs", &institution("111111"))
        .await
        .unwrap()
        .is_empty());

    let practitioner = metadata
        .clinical_practitioner("dr.kovacs")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(practitioner.stamp_number.as_str(), "58012");
    assert!(practitioner.active);
    let shown = format!("{practitioner:?}");
    assert!(
        !shown.contains("argon2") && !shown.contains("GEZDG"),
        "{shown}"
    );

    metadata
        .mark_clinical_connection_verified(&institution("506097"), AT)
        .await
        .unwrap();
    metadata
        .set_clinical_institution_active(&institution("111111"), false)
        .await
        .unwrap();
    let all = metadata.clinical_institutions().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id.as_str(), "111111");
    assert!(!all[0].active);
    assert_eq!(all[1].connection_verified_at, Some(AT));

    let certificate = InstitutionCertificate {
        serial: "0A1B2C".to_owned(),
        institution: institution("506097"),
        not_after: AT + Duration::days(365),
    };
    metadata
        .add_clinical_certificate(&certificate, AT)
        .await
        .unwrap();
    assert_eq!(
        metadata.clinical_certificate("0A1B2C").await.unwrap(),
        Some(certificate)
    );
    assert_eq!(metadata.clinical_certificate("FFFF").await.unwrap(), None);
}

pub async fn a_totp_step_is_used_once_and_sessions_end(db: TestDb) {
    setup_registry(&db).await;
    let metadata = &db.metadata;
    assert!(metadata
        .use_clinical_totp_step("dr.kovacs", 100)
        .await
        .unwrap());
    assert!(!metadata
        .use_clinical_totp_step("dr.kovacs", 100)
        .await
        .unwrap());
    assert!(!metadata
        .use_clinical_totp_step("dr.kovacs", 99)
        .await
        .unwrap());
    assert!(metadata
        .use_clinical_totp_step("dr.kovacs", 101)
        .await
        .unwrap());

    // Racing sign-ins with one code: exactly one wins.
    let metadata = Arc::new(metadata.clone());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let metadata = metadata.clone();
        tasks.push(tokio::spawn(async move {
            metadata
                .use_clinical_totp_step("dr.kovacs", 200)
                .await
                .unwrap()
        }));
    }
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);

    let session = PractitionerSession {
        token_hash: Sha256Digest::of(b"token"),
        user_name: "dr.kovacs".to_owned(),
        institution: institution("506097"),
        created_at: AT,
        expires_at: AT + Duration::hours(7),
    };
    metadata
        .create_practitioner_session(&session)
        .await
        .unwrap();
    assert_eq!(
        metadata
            .practitioner_session(&session.token_hash)
            .await
            .unwrap(),
        Some(session.clone())
    );
    // A later session removes the ended one.
    let later = PractitionerSession {
        token_hash: Sha256Digest::of(b"later"),
        created_at: AT + Duration::hours(8),
        expires_at: AT + Duration::hours(15),
        ..session.clone()
    };
    metadata.create_practitioner_session(&later).await.unwrap();
    assert_eq!(
        metadata
            .practitioner_session(&session.token_hash)
            .await
            .unwrap(),
        None
    );
    // Suspending the practitioner ends their sessions.
    metadata
        .set_clinical_practitioner_active("dr.kovacs", false)
        .await
        .unwrap();
    assert_eq!(
        metadata
            .practitioner_session(&later.token_hash)
            .await
            .unwrap(),
        None
    );
    assert!(
        !metadata
            .clinical_practitioner("dr.kovacs")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let unknown = metadata
        .set_clinical_practitioner_active("nobody", true)
        .await;
    assert!(
        matches!(
            unknown,
            Err(ClinicalStoreError::NotFound {
                what: "practitioner",
                ..
            })
        ),
        "{unknown:?}"
    );
    metadata
        .delete_practitioner_session(&later.token_hash)
        .await
        .unwrap();
    assert_eq!(
        metadata
            .practitioner_session(&later.token_hash)
            .await
            .unwrap(),
        None
    );
}

pub async fn versions_are_atomic_and_a_stale_writer_is_refused(db: TestDb) {
    setup_registry(&db).await;
    let metadata = &db.metadata;
    let first = metadata
        .write_clinical_resource(
            &condition("c1", ExpectedVersion::New, "506097", "diabetes"),
            &audit("clinical.create", "Condition/c1"),
            Some(&access("123456788", "create", "Condition/c1", None, AT)),
        )
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    let taken = metadata
        .write_clinical_resource(
            &condition("c1", ExpectedVersion::New, "506097", "again"),
            &audit("clinical.create", "Condition/c1"),
            None,
        )
        .await;
    assert!(
        matches!(taken, Err(ClinicalStoreError::Exists { .. })),
        "{taken:?}"
    );

    let second = metadata
        .write_clinical_resource(
            &condition(
                "c1",
                ExpectedVersion::Current {
                    current: 1,
                    status: None,
                },
                "111111",
                "diabetes type 2",
            ),
            &audit("clinical.update", "Condition/c1"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    let stale = metadata
        .write_clinical_resource(
            &condition(
                "c1",
                ExpectedVersion::Current {
                    current: 1,
                    status: None,
                },
                "111111",
                "lost update",
            ),
            &audit("clinical.update", "Condition/c1"),
            None,
        )
        .await;
    assert!(
        matches!(
            stale,
            Err(ClinicalStoreError::StaleVersion {
                expected: 1,
                current: 2,
                ..
            })
        ),
        "{stale:?}"
    );
    let missing = metadata
        .write_clinical_resource(
            &condition(
                "nope",
                ExpectedVersion::Current {
                    current: 1,
                    status: None,
                },
                "506097",
                "x",
            ),
            &audit("clinical.update", "Condition/nope"),
            None,
        )
        .await;
    assert!(
        matches!(missing, Err(ClinicalStoreError::NotFound { .. })),
        "{missing:?}"
    );

    let current = metadata
        .clinical_resource("Condition", "c1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.head.current_version, 2);
    assert_eq!(current.head.created_by.as_str(), "506097");
    assert!(current.resource.contains("diabetes type 2"));
    let history = metadata
        .clinical_resource_history("Condition", "c1")
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![2, 1]
    );
    assert_eq!(history[0].institution.as_str(), "111111");
    let first_again = metadata
        .clinical_resource_version("Condition", "c1", 1)
        .await
        .unwrap()
        .unwrap();
    assert!(first_again.resource.contains("\"diabetes\""));

    // Concurrent writers over version 2: exactly one gets version 3.
    let mut tasks = Vec::new();
    for n in 0..6 {
        let metadata = metadata.clone();
        tasks.push(tokio::spawn(async move {
            metadata
                .write_clinical_resource(
                    &condition(
                        "c1",
                        ExpectedVersion::Current {
                            current: 2,
                            status: None,
                        },
                        "506097",
                        &format!("writer {n}"),
                    ),
                    &audit("clinical.update", "Condition/c1"),
                    None,
                )
                .await
        }));
    }
    let mut written = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(version) => {
                assert_eq!(version.version, 3);
                written += 1;
            }
            Err(ClinicalStoreError::StaleVersion { current: 3, .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(written, 1);
    assert_eq!(
        metadata
            .clinical_resource_history("Condition", "c1")
            .await
            .unwrap()
            .len(),
        3
    );

    // A deletion is a version; listings leave the resource out.
    let mut delete = condition(
        "c1",
        ExpectedVersion::Current {
            current: 3,
            status: None,
        },
        "506097",
        "deleted",
    );
    delete.deleted = true;
    metadata
        .write_clinical_resource(&delete, &audit("clinical.delete", "Condition/c1"), None)
        .await
        .unwrap();
    assert!(
        metadata
            .clinical_resource("Condition", "c1")
            .await
            .unwrap()
            .unwrap()
            .head
            .deleted
    );
    assert!(metadata
        .clinical_resources_of_patient(&taj("123456788"), "Condition")
        .await
        .unwrap()
        .is_empty());

    // Every write is in the audit chain, and the chain is intact.
    let verification = metadata.verify_audit().await.unwrap();
    assert!(verification.is_intact());
    assert_eq!(verification.entries_verified, 4);
}

fn referral(expected: ExpectedVersion, status: &str) -> ResourceWrite {
    ResourceWrite {
        resource_type: "ServiceRequest".to_owned(),
        logical_id: "r1".to_owned(),
        patient: taj("123456788"),
        institution: institution("506097"),
        last_updated: AT,
        deleted: false,
        status: Some(status.to_owned()),
        restriction: None,
        resource: r#"{"resourceType":"ServiceRequest"}"#.to_owned(),
        expected,
    }
}

pub async fn a_referral_is_consumed_once(db: TestDb) {
    setup_registry(&db).await;
    let metadata = &db.metadata;
    metadata
        .write_clinical_resource(
            &referral(ExpectedVersion::New, "issued"),
            &audit("clinical.referral.issue", "ServiceRequest/r1"),
            None,
        )
        .await
        .unwrap();
    let consume = || {
        referral(
            ExpectedVersion::Current {
                current: 1,
                status: Some("issued".to_owned()),
            },
            "consumed",
        )
    };
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let metadata = metadata.clone();
        let write = consume();
        tasks.push(tokio::spawn(async move {
            metadata
                .write_clinical_resource(
                    &write,
                    &audit("clinical.referral.consume", "ServiceRequest/r1"),
                    None,
                )
                .await
        }));
    }
    let mut consumed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => consumed += 1,
            Err(ClinicalStoreError::WrongStatus { status, .. }) => assert_eq!(status, "consumed"),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(consumed, 1);
    let head = metadata
        .clinical_resource("ServiceRequest", "r1")
        .await
        .unwrap()
        .unwrap()
        .head;
    assert_eq!(head.status.as_deref(), Some("consumed"));
    assert_eq!(head.current_version, 2);
}

pub async fn restrictions_and_the_access_log_are_the_patients(db: TestDb) {
    setup_registry(&db).await;
    let metadata = &db.metadata;
    let consent = |patient: &str, id: &str, scope: &str, target: &str| ResourceWrite {
        resource_type: "Consent".to_owned(),
        logical_id: id.to_owned(),
        patient: taj(patient),
        institution: institution("000000"),
        last_updated: AT,
        deleted: false,
        status: Some("active".to_owned()),
        restriction: Some((scope.to_owned(), target.to_owned())),
        resource: r#"{"resourceType":"Consent"}"#.to_owned(),
        expected: ExpectedVersion::New,
    };
    for write in [
        consent("123456788", "k1", "institution", "111111"),
        consent("123456788", "k2", "all", ""),
        consent("111111110", "k3", "all", ""),
    ] {
        metadata
            .write_clinical_resource(&write, &audit("clinical.restriction.set", "Consent"), None)
            .await
            .unwrap();
    }
    let mut lift = consent("123456788", "k2", "all", "");
    lift.expected = ExpectedVersion::Current {
        current: 1,
        status: None,
    };
    lift.status = Some("inactive".to_owned());
    metadata
        .write_clinical_resource(
            &lift,
            &audit("clinical.restriction.lift", "Consent/k2"),
            None,
        )
        .await
        .unwrap();
    let restrictions = metadata
        .clinical_restrictions(&taj("123456788"))
        .await
        .unwrap();
    assert_eq!(restrictions.len(), 1);
    assert_eq!(
        (
            restrictions[0].scope.as_str(),
            restrictions[0].target.as_str()
        ),
        ("institution", "111111")
    );

    metadata
        .record_clinical_access(
            &access("123456788", "read", "DocumentReference/d1", None, AT),
            &audit("clinical.read", "DocumentReference/d1"),
        )
        .await
        .unwrap();
    metadata
        .record_clinical_access(
            &access(
                "123456788",
                "read",
                "DocumentReference/d2",
                Some("unconscious patient"),
                AT + Duration::minutes(1),
            ),
            &audit("clinical.read.break-glass", "DocumentReference/d2"),
        )
        .await
        .unwrap();
    metadata
        .record_clinical_access(
            &access("111111110", "read", "DocumentReference/d9", None, AT),
            &audit("clinical.read", "DocumentReference/d9"),
        )
        .await
        .unwrap();
    let log = metadata
        .clinical_access_log(&taj("123456788"), 50)
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[0].access.break_glass_reason.as_deref(),
        Some("unconscious patient")
    );
    assert_eq!(log[1].access.target, "DocumentReference/d1");
    assert_eq!(
        metadata
            .clinical_access_log(&taj("111111110"), 50)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Fails when a plan walks a table or index whole (`SCAN` on SQLite, `Seq Scan` on
/// PostgreSQL) or does not use `index`.
fn assert_driven_by(what: &str, plan: &[String], index: &str) {
    let shown = plan.join("\n");
    for line in plan {
        let trimmed = line.trim_start().trim_start_matches("->").trim_start();
        assert!(
            !trimmed.starts_with("SCAN ") && !trimmed.contains("Seq Scan"),
            "{what}: a whole table or index is walked ({trimmed}):\n{shown}"
        );
    }
    assert!(
        shown.contains(index),
        "{what}: the plan does not use {index}:\n{shown}"
    );
}

/// 20,000 resources (2 versions each) over 2,000 patients, their access log and restrictions,
/// 500 institutions with 10 units each and a matrix line per unit; then fresh statistics.
pub async fn clinical_lists_use_their_indexes(db: TestDb) {
    let numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)";
    for statement in [
        format!(
            "INSERT INTO clinical_resources (resource_type, logical_id, current_version, \
             patient_taj, created_by, status, restriction_scope, restriction_target, deleted, \
             last_updated) {numbers} SELECT CASE WHEN i % 4 = 0 THEN 'Consent' ELSE 'Condition' END, \
             'r' || CAST(i AS TEXT), 2, 'P' || CAST(i % 2000 AS TEXT), '506097', \
             CASE WHEN i % 4 = 0 THEN 'active' ELSE NULL END, NULL, NULL, 0, i FROM n"
        ),
        "INSERT INTO clinical_resource_versions (resource_type, logical_id, version_id, \
         patient_taj, institution_id, last_updated, deleted, resource) \
         SELECT r.resource_type, r.logical_id, v.version_id, r.patient_taj, '506097', \
         r.last_updated, 0, '{}' FROM clinical_resources r \
         CROSS JOIN (SELECT 1 AS version_id UNION ALL SELECT 2) v"
            .to_owned(),
        format!(
            "INSERT INTO clinical_access_log (patient_taj, at, user_name, institution_id, action, \
             target, break_glass_reason) {numbers} SELECT 'P' || CAST(i % 2000 AS TEXT), i, 'u', \
             '506097', 'read', 'x', NULL FROM n"
        ),
        format!(
            "INSERT INTO clinical_institutions (id, name, active, created_at) {numbers} \
             SELECT 'I' || CAST(i AS TEXT), 'n', 1, 0 FROM n WHERE i <= 500"
        ),
        format!(
            "INSERT INTO clinical_units (id, institution_id, name) {numbers} \
             SELECT 'U' || CAST(i AS TEXT), 'I' || CAST(1 + i % 500 AS TEXT), 'n' FROM n \
             WHERE i <= 5000"
        ),
        format!(
            "INSERT INTO clinical_practitioners (user_name, name, stamp_number, password_hash, \
             totp_secret, active, created_at) {numbers} SELECT 'user' || CAST(i AS TEXT), 'n', \
             '58012', 'h', 's', 1, 0 FROM n WHERE i <= 500"
        ),
        format!(
            "INSERT INTO clinical_authorisations (user_name, institution_id, unit_id, role) \
             {numbers} SELECT 'user' || CAST(1 + i % 500 AS TEXT), 'I' || CAST(1 + i % 500 AS TEXT), \
             'U' || CAST(i AS TEXT), 'doctor' FROM n WHERE i <= 5000"
        ),
        "ANALYZE".to_owned(),
    ] {
        db.execute_raw(&statement).await;
    }
    let metadata = &db.metadata;
    let plans = |list| async move { metadata.query_plans(list).await.unwrap() };
    assert_driven_by(
        "resources by patient",
        &plans(ListQuery::ClinicalResourcesByPatient {
            patient: "P42",
            resource_type: "Condition",
        })
        .await,
        "clinical_resources_by_patient",
    );
    assert_driven_by(
        "restrictions",
        &plans(ListQuery::ClinicalRestrictions { patient: "P42" }).await,
        "clinical_resources_by_patient",
    );
    assert_driven_by(
        "access log",
        &plans(ListQuery::ClinicalAccessLog { patient: "P42" }).await,
        "clinical_access_log_by_patient",
    );
    let history = plans(ListQuery::ClinicalHistory {
        resource_type: "Condition",
        logical_id: "r41",
    })
    .await;
    let primary_key = if db.url.starts_with("postgres") {
        "clinical_resource_versions_pkey"
    } else {
        "sqlite_autoindex_clinical_resource_versions_1"
    };
    assert_driven_by("history", &history, primary_key);
    assert_driven_by(
        "units",
        &plans(ListQuery::ClinicalUnits { institution: "I7" }).await,
        "clinical_units_by_institution",
    );
    let matrix_key = if db.url.starts_with("postgres") {
        "clinical_authorisations_pkey"
    } else {
        "sqlite_autoindex_clinical_authorisations_1"
    };
    assert_driven_by(
        "authorisations",
        &plans(ListQuery::ClinicalAuthorisations {
            user_name: "user7",
            institution: "I7",
        })
        .await,
        matrix_key,
    );
}
