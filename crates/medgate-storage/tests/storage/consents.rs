//! Consents, patient accounts, web sessions and the sign-in lock-out: what a patient sees
//! (only sent consents in force, only their own, only at their clinic), refusals that store
//! nothing, one-time activation codes, session expiry.

use medgate_ids::TenantId;
use medgate_storage::{
    AccountOutcome, ConsentError, ConsentId, ConsentStatus, DocumentId, LockoutPolicy, Metadata,
    NewConsent, NewWebSession, PatientIdentifier, PendingActivation, Sha256Digest, SigninAttempt,
    SigninIdentity, WebSessionKind,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::{create_tenant, document, pesel_id, TestDb};

const PESEL: &str = "44051401359";
const OTHER_PESEL: &str = "02070803628";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn id(extension: &str) -> DocumentId {
    DocumentId::from_parts("2.16.840.1.113883.3.4424.2.7.26.7.1", Some(extension)).unwrap()
}

/// A consent for `pesel` over `documents`, in force from `from` to `to`.
fn consent(
    pesel: &str,
    documents: &[&str],
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> NewConsent {
    NewConsent {
        patient: pesel_id(pesel),
        recipient: "lek. Piotr Nowak".to_owned(),
        purpose: "konsultacja kardiologiczna".to_owned(),
        valid_from: from,
        valid_to: to,
        documents: documents.iter().map(|e| id(e)).collect(),
    }
}

fn activation(tag: &str) -> PendingActivation {
    PendingActivation {
        code_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$test${tag}"),
        expires_at: now() + Duration::days(30),
    }
}

async fn store(metadata: &Metadata, tenant: &TenantId, extension: &str, pesel: &str) {
    metadata
        .insert_document(
            tenant,
            &document(extension, pesel, datetime!(2024-03-15 10:30 UTC), 100),
        )
        .await
        .unwrap();
}

async fn shared_ids(
    metadata: &Metadata,
    tenant: &TenantId,
    patient: &PatientIdentifier,
    at: OffsetDateTime,
) -> Vec<String> {
    metadata
        .shared_documents(tenant, patient, at)
        .await
        .unwrap()
        .iter()
        .map(|shared| {
            shared
                .document
                .metadata
                .document_id
                .extension()
                .unwrap()
                .to_owned()
        })
        .collect()
}

pub async fn drafts_and_revoked_consents_share_nothing(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 7010, 1_000_000, 100).await;
    store(metadata, &tenant, "A", PESEL).await;
    store(metadata, &tenant, "B", PESEL).await;
    let patient = pesel_id(PESEL);
    let moment = now();
    let draft = metadata
        .create_consent(
            &tenant,
            &consent(
                PESEL,
                &["A", "B", "A"],
                moment - Duration::days(1),
                moment + Duration::days(1),
            ),
        )
        .await
        .unwrap();
    assert_eq!(draft.status, ConsentStatus::Draft);
    assert_eq!(
        draft.documents.len(),
        2,
        "a document named twice counts once"
    );
    assert!(
        shared_ids(metadata, &tenant, &patient, moment)
            .await
            .is_empty(),
        "a draft shares nothing"
    );
    assert!(metadata
        .documents_shared_now(&tenant, &[&id("A")], moment)
        .await
        .unwrap()
        .is_empty());

    let sent = metadata
        .send_consent(&tenant, &draft.id, &activation("a"))
        .await
        .unwrap();
    assert_eq!(sent.consent.status, ConsentStatus::Sent);
    assert!(sent.consent.sent_at.is_some());
    assert!(sent.consent.in_force_at(moment));
    assert_eq!(
        shared_ids(metadata, &tenant, &patient, moment).await,
        ["B", "A"]
    );
    let shared = metadata
        .shared_document(&tenant, &patient, &id("A"), moment)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shared.consents.len(), 1);
    assert_eq!(shared.consents[0].recipient, "lek. Piotr Nowak");
    assert_eq!(
        metadata
            .documents_shared_now(&tenant, &[&id("A"), &id("Z")], moment)
            .await
            .unwrap()
            .len(),
        1
    );

    let revoked = metadata.revoke_consent(&tenant, &draft.id).await.unwrap();
    assert_eq!(revoked.status, ConsentStatus::Revoked);
    assert!(revoked.revoked_at.is_some());
    assert!(
        shared_ids(metadata, &tenant, &patient, moment)
            .await
            .is_empty(),
        "revoked hides at once"
    );
    assert!(metadata
        .shared_document(&tenant, &patient, &id("A"), moment)
        .await
        .unwrap()
        .is_none());

    // Status changes that do not apply are refused and change nothing.
    assert!(matches!(
        metadata
            .send_consent(&tenant, &draft.id, &activation("b"))
            .await,
        Err(ConsentError::WrongStatus {
            status: ConsentStatus::Revoked,
            ..
        })
    ));
    assert!(matches!(
        metadata.revoke_consent(&tenant, &draft.id).await,
        Err(ConsentError::WrongStatus {
            status: ConsentStatus::Revoked,
            ..
        })
    ));
    let second = metadata
        .create_consent(
            &tenant,
            &consent(PESEL, &["A"], moment, moment + Duration::days(1)),
        )
        .await
        .unwrap();
    metadata
        .send_consent(&tenant, &second.id, &activation("c"))
        .await
        .unwrap();
    assert!(matches!(
        metadata
            .send_consent(&tenant, &second.id, &activation("d"))
            .await,
        Err(ConsentError::WrongStatus {
            status: ConsentStatus::Sent,
            ..
        })
    ));
    let unknown = ConsentId::generate().unwrap();
    assert!(matches!(
        metadata
            .send_consent(&tenant, &unknown, &activation("e"))
            .await,
        Err(ConsentError::NotFound(_))
    ));
    assert!(matches!(
        metadata.revoke_consent(&tenant, &unknown).await,
        Err(ConsentError::NotFound(_))
    ));
}

pub async fn only_the_dates_of_a_consent_show_its_documents(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 7020, 1_000_000, 100).await;
    store(metadata, &tenant, "PAST", PESEL).await;
    store(metadata, &tenant, "FUTURE", PESEL).await;
    store(metadata, &tenant, "NOW", PESEL).await;
    let patient = pesel_id(PESEL);
    let moment = now();
    for (extension, from, to) in [
        (
            "PAST",
            moment - Duration::days(30),
            moment - Duration::days(1),
        ),
        (
            "FUTURE",
            moment + Duration::days(1),
            moment + Duration::days(30),
        ),
        ("NOW", moment, moment),
    ] {
        let created = metadata
            .create_consent(&tenant, &consent(PESEL, &[extension], from, to))
            .await
            .unwrap();
        metadata
            .send_consent(&tenant, &created.id, &activation(extension))
            .await
            .unwrap();
    }
    assert_eq!(
        shared_ids(metadata, &tenant, &patient, moment).await,
        ["NOW"]
    );
    // Both ends are inclusive, and the same store answers differently as time passes.
    assert_eq!(
        shared_ids(metadata, &tenant, &patient, moment - Duration::days(1)).await,
        ["PAST"]
    );
    assert_eq!(
        shared_ids(metadata, &tenant, &patient, moment + Duration::seconds(1)).await,
        Vec::<String>::new()
    );
    assert_eq!(
        shared_ids(metadata, &tenant, &patient, moment + Duration::days(1)).await,
        ["FUTURE"]
    );
    let flags = metadata
        .documents_shared_now(&tenant, &[&id("PAST"), &id("FUTURE"), &id("NOW")], moment)
        .await
        .unwrap();
    assert_eq!(flags.into_iter().collect::<Vec<_>>(), [id("NOW")]);
}

pub async fn documents_must_exist_and_be_the_patients(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 7030, 1_000_000, 100).await;
    let other_tenant = create_tenant(metadata, 7031, 1_000_000, 100).await;
    store(metadata, &tenant, "MINE", PESEL).await;
    store(metadata, &tenant, "THEIRS", OTHER_PESEL).await;
    store(metadata, &other_tenant, "ELSEWHERE", PESEL).await;
    let moment = now();
    let until = moment + Duration::days(1);
    match metadata
        .create_consent(&tenant, &consent(PESEL, &["MINE", "THEIRS"], moment, until))
        .await
    {
        Err(ConsentError::DocumentOfAnotherPatient { document, patient }) => {
            assert_eq!(document, id("THEIRS"));
            assert!(patient.ends_with(PESEL), "{patient}");
        }
        other => panic!("expected another patient's document to be refused: {other:?}"),
    }
    match metadata
        .create_consent(
            &tenant,
            &consent(PESEL, &["MINE", "ELSEWHERE"], moment, until),
        )
        .await
    {
        Err(ConsentError::DocumentNotFound(document)) => assert_eq!(document, id("ELSEWHERE")),
        other => panic!("expected another tenant's document to be unknown: {other:?}"),
    }
    assert!(
        metadata
            .list_consents(&tenant, None)
            .await
            .unwrap()
            .is_empty(),
        "nothing stored half-way"
    );

    // A further patient identifier of a document counts as the patient's.
    let mut extra = document("EXTRA", OTHER_PESEL, datetime!(2024-01-01 00:00 UTC), 10);
    extra.other_patient_ids = vec![pesel_id(PESEL)];
    metadata.insert_document(&tenant, &extra).await.unwrap();
    let created = metadata
        .create_consent(&tenant, &consent(PESEL, &["MINE", "EXTRA"], moment, until))
        .await
        .unwrap();
    assert_eq!(created.documents.len(), 2);
    assert!(created.documents.iter().all(|d| d.available));

    // A deleted document stays named in the consent but is shown nowhere.
    metadata
        .send_consent(&tenant, &created.id, &activation("x"))
        .await
        .unwrap();
    metadata
        .delete_document(&tenant, &id("MINE"))
        .await
        .unwrap();
    let read = metadata
        .get_consent(&tenant, &created.id)
        .await
        .unwrap()
        .unwrap();
    let mine = read
        .documents
        .iter()
        .find(|d| d.document_id == id("MINE"))
        .unwrap();
    assert!(!mine.available);
    assert_eq!(
        shared_ids(metadata, &tenant, &pesel_id(PESEL), moment).await,
        ["EXTRA"]
    );
    // Uploading a document with the same id again does not bring it back under the old consent.
    store(metadata, &tenant, "MINE", PESEL).await;
    assert_eq!(
        shared_ids(metadata, &tenant, &pesel_id(PESEL), moment).await,
        ["EXTRA"]
    );
}

pub async fn tenants_and_patients_see_only_their_own(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 7040, 1_000_000, 100).await;
    let other_tenant = create_tenant(metadata, 7041, 1_000_000, 100).await;
    store(metadata, &tenant, "A", PESEL).await;
    store(metadata, &other_tenant, "A", PESEL).await;
    let moment = now();
    let created = metadata
        .create_consent(
            &tenant,
            &consent(PESEL, &["A"], moment, moment + Duration::days(1)),
        )
        .await
        .unwrap();
    metadata
        .send_consent(&tenant, &created.id, &activation("t"))
        .await
        .unwrap();

    // The other tenant cannot read, list, send or revoke it.
    assert!(metadata
        .get_consent(&other_tenant, &created.id)
        .await
        .unwrap()
        .is_none());
    assert!(metadata
        .list_consents(&other_tenant, None)
        .await
        .unwrap()
        .is_empty());
    assert!(metadata
        .list_consents(&other_tenant, Some((PESEL, None)))
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        metadata.revoke_consent(&other_tenant, &created.id).await,
        Err(ConsentError::NotFound(_))
    ));
    // The same PESEL at the other clinic, and another patient here, see nothing.
    assert!(
        shared_ids(metadata, &other_tenant, &pesel_id(PESEL), moment)
            .await
            .is_empty()
    );
    assert!(
        shared_ids(metadata, &tenant, &pesel_id(OTHER_PESEL), moment)
            .await
            .is_empty()
    );
    assert!(metadata
        .get_patient_account(&other_tenant, &pesel_id(PESEL))
        .await
        .unwrap()
        .is_none());
    // The same identifier value under another root is another patient.
    let other_root = PatientIdentifier {
        root: medgate_ids::Oid::parse("2.16.840.1.113883.19.5").unwrap(),
        extension: PESEL.to_owned(),
    };
    assert!(shared_ids(metadata, &tenant, &other_root, moment)
        .await
        .is_empty());

    assert_eq!(
        metadata
            .list_consents(&tenant, Some((PESEL, None)))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(metadata
        .list_consents(&tenant, Some((OTHER_PESEL, None)))
        .await
        .unwrap()
        .is_empty());
    let pesel_root = medgate_ids::Oid::parse(medgate_ids::Pesel::OID).unwrap();
    assert_eq!(
        metadata
            .list_consents(&tenant, Some((PESEL, Some(&pesel_root))))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(metadata
        .list_consents(&tenant, Some((PESEL, Some(&other_root.root))))
        .await
        .unwrap()
        .is_empty());
}

pub async fn activation_codes_work_once(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 7050, 1_000_000, 100).await;
    store(metadata, &tenant, "A", PESEL).await;
    let patient = pesel_id(PESEL);
    let moment = now();
    let send = |tag: &'static str| {
        let metadata = metadata.clone();
        let tenant = tenant.clone();
        async move {
            let created = metadata
                .create_consent(
                    &tenant,
                    &consent(PESEL, &["A"], moment, moment + Duration::days(1)),
                )
                .await
                .unwrap();
            metadata
                .send_consent(&tenant, &created.id, &activation(tag))
                .await
                .unwrap()
                .account
        }
    };
    assert_eq!(send("first").await, AccountOutcome::Created);
    let account = metadata
        .get_patient_account(&tenant, &patient)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.password_hash, None);
    assert_eq!(
        account.activation_code_hash,
        Some(activation("first").code_hash)
    );
    assert!(account.activation_expires_at.unwrap() > moment);

    // Sent again before activation: the new code replaces the first.
    assert_eq!(send("second").await, AccountOutcome::CodeRenewed);
    assert!(!metadata
        .activate_patient_account(
            &tenant,
            &patient,
            &activation("first").code_hash,
            "$argon2id$pw"
        )
        .await
        .unwrap());
    assert!(metadata
        .activate_patient_account(
            &tenant,
            &patient,
            &activation("second").code_hash,
            "$argon2id$pw"
        )
        .await
        .unwrap());
    assert!(
        !metadata
            .activate_patient_account(
                &tenant,
                &patient,
                &activation("second").code_hash,
                "$argon2id$other"
            )
            .await
            .unwrap(),
        "a code works once"
    );
    let account = metadata
        .get_patient_account(&tenant, &patient)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.password_hash.as_deref(), Some("$argon2id$pw"));
    assert_eq!(account.activation_code_hash, None);
    assert!(account.activated_at.is_some());

    // Once active, sending leaves the account (and its password) alone.
    assert_eq!(send("third").await, AccountOutcome::AlreadyActive);
    let account = metadata
        .get_patient_account(&tenant, &patient)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.password_hash.as_deref(), Some("$argon2id$pw"));
    assert_eq!(account.activation_code_hash, None);
}

pub async fn sessions_end_when_idle_or_expired_or_deleted(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 7060, 1_000, 1).await;
    let start = now();
    let new = |token: &str| NewWebSession {
        token_hash: Sha256Digest::of(token.as_bytes()),
        kind: WebSessionKind::new("patient"),
        tenant: Some(tenant.clone()),
        principal: format!("{}^{PESEL}", medgate_ids::Pesel::OID),
        csrf_secret: "ab".repeat(32),
        created_at: start,
        expires_at: start + Duration::hours(8),
    };
    let idle = Duration::minutes(30);
    metadata.create_web_session(&new("one")).await.unwrap();
    let hash = Sha256Digest::of(b"one");
    let live = metadata
        .touch_web_session(&hash, idle, start + Duration::minutes(20))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.tenant, Some(tenant.clone()));
    assert_eq!(live.kind, WebSessionKind::new("patient"));
    assert_eq!(live.last_seen_at, start + Duration::minutes(20));
    // Seen 20 minutes in, so still alive 45 minutes in; then idle for 31 minutes: ended.
    assert!(metadata
        .touch_web_session(&hash, idle, start + Duration::minutes(45))
        .await
        .unwrap()
        .is_some());
    assert!(metadata
        .touch_web_session(&hash, idle, start + Duration::minutes(76))
        .await
        .unwrap()
        .is_none());
    assert!(
        metadata
            .touch_web_session(&hash, idle, start + Duration::minutes(46))
            .await
            .unwrap()
            .is_none(),
        "an ended session is gone for good"
    );

    // However active, a session ends at its absolute end.
    metadata.create_web_session(&new("two")).await.unwrap();
    let hash = Sha256Digest::of(b"two");
    let mut at = start;
    while at < start + Duration::hours(8) {
        assert!(metadata
            .touch_web_session(&hash, idle, at)
            .await
            .unwrap()
            .is_some());
        at += Duration::minutes(25);
    }
    assert!(metadata
        .touch_web_session(
            &hash,
            idle,
            start + Duration::hours(8) + Duration::seconds(1)
        )
        .await
        .unwrap()
        .is_none());

    // Sign-out.
    metadata.create_web_session(&new("three")).await.unwrap();
    let hash = Sha256Digest::of(b"three");
    metadata.delete_web_session(&hash).await.unwrap();
    assert!(metadata
        .touch_web_session(&hash, idle, start)
        .await
        .unwrap()
        .is_none());
    assert!(metadata
        .touch_web_session(&Sha256Digest::of(b"never"), idle, start)
        .await
        .unwrap()
        .is_none());
}

const LOCKOUT: LockoutPolicy = LockoutPolicy {
    max_failures: 5,
    lock_for: Duration::minutes(15),
    forget_after: Duration::days(1),
};

async fn reserve(
    metadata: &Metadata,
    identity: SigninIdentity<'_>,
    at: OffsetDateTime,
) -> SigninAttempt {
    metadata
        .reserve_signin_attempt(identity, LOCKOUT, at)
        .await
        .unwrap()
}

pub async fn five_failures_lock_an_identity_whether_or_not_it_exists(db: TestDb) {
    let metadata = &db.metadata;
    let identity = SigninIdentity {
        kind: WebSessionKind::new("patient"),
        tenant: "0000000000007070",
        principal: "2.16.840.1.113883.3.4424.1.1.616^44051401359",
    };
    let other = SigninIdentity {
        principal: "2.16.840.1.113883.3.4424.1.1.616^02070803628",
        ..identity
    };
    let allowed = SigninAttempt::Allowed {
        locked_if_failed: None,
    };
    let start = now();
    for attempt in 0..4 {
        let at = start + Duration::seconds(attempt);
        assert_eq!(reserve(metadata, identity, at).await, allowed);
        assert_eq!(
            metadata.signin_locked_until(identity, at).await.unwrap(),
            None
        );
    }
    // The fifth attempt may still be checked, but locks the identity unless it succeeds.
    let fifth = start + Duration::seconds(10);
    let until = fifth + Duration::minutes(15);
    assert_eq!(
        reserve(metadata, identity, fifth).await,
        SigninAttempt::Allowed {
            locked_if_failed: Some(until)
        }
    );
    assert_eq!(
        metadata
            .signin_locked_until(identity, fifth + Duration::minutes(14))
            .await
            .unwrap(),
        Some(until)
    );
    assert_eq!(
        metadata.signin_locked_until(other, fifth).await.unwrap(),
        None,
        "only that identity"
    );
    // Further tries while locked are refused, also in the same second, and do not extend
    // the lock.
    for at in [
        fifth,
        fifth + Duration::minutes(1),
        fifth + Duration::minutes(14),
    ] {
        assert_eq!(
            reserve(metadata, identity, at).await,
            SigninAttempt::Locked { until }
        );
    }
    assert_eq!(
        metadata
            .signin_locked_until(identity, fifth + Duration::minutes(1))
            .await
            .unwrap(),
        Some(until)
    );
    // After the lock, counting starts again from zero.
    let later = fifth + Duration::minutes(16);
    assert_eq!(
        metadata.signin_locked_until(identity, later).await.unwrap(),
        None
    );
    for attempt in 0..4 {
        assert_eq!(
            reserve(metadata, identity, later + Duration::seconds(attempt)).await,
            allowed
        );
    }
    assert!(matches!(
        reserve(metadata, identity, later + Duration::seconds(5)).await,
        SigninAttempt::Allowed {
            locked_if_failed: Some(_)
        }
    ));
    // A success forgets the attempts, even the one that set the lock.
    metadata.clear_signin_failures(identity).await.unwrap();
    assert_eq!(
        reserve(metadata, identity, later + Duration::seconds(6)).await,
        allowed
    );
    for attempt in 0..3 {
        reserve(metadata, other, start + Duration::seconds(attempt)).await;
    }
    metadata.clear_signin_failures(other).await.unwrap();
    for attempt in 0..4 {
        assert_eq!(
            reserve(metadata, other, start + Duration::seconds(20 + attempt)).await,
            allowed
        );
    }
    // Attempts older than a day are forgotten.
    let next_day = start + Duration::seconds(23) + Duration::days(1) + Duration::seconds(1);
    assert_eq!(reserve(metadata, other, next_day).await, allowed);
    for attempt in 1..4 {
        assert_eq!(
            reserve(metadata, other, next_day + Duration::seconds(attempt)).await,
            allowed,
            "attempt {attempt} after the pause"
        );
    }
}

/// Many attempts at once, from two nodes sharing the database: exactly five are allowed to
/// be checked, every other one is refused as locked.
pub async fn concurrent_attempts_get_exactly_five_checks(db: TestDb) {
    let second_node = Metadata::connect(&db.url).await.unwrap();
    let at = now();
    let mut tasks = Vec::new();
    for index in 0..60 {
        let metadata = if index % 2 == 0 {
            db.metadata.clone()
        } else {
            second_node.clone()
        };
        tasks.push(tokio::spawn(async move {
            let identity = SigninIdentity {
                kind: WebSessionKind::new("admin"),
                tenant: "0000000000007071",
                principal: "boss",
            };
            metadata
                .reserve_signin_attempt(identity, LOCKOUT, at)
                .await
                .unwrap()
        }));
    }
    let mut allowed = 0;
    let mut last = 0;
    let mut locked = 0;
    for task in tasks {
        match task.await.unwrap() {
            SigninAttempt::Allowed {
                locked_if_failed: None,
            } => allowed += 1,
            SigninAttempt::Allowed {
                locked_if_failed: Some(until),
            } => {
                assert_eq!(until, at + Duration::minutes(15));
                last += 1;
            }
            SigninAttempt::Locked { until } => {
                assert_eq!(until, at + Duration::minutes(15));
                locked += 1;
            }
        }
    }
    assert_eq!((allowed, last, locked), (4, 1, 55));
    second_node.close().await;
}
