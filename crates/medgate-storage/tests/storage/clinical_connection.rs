//! The clinic's side of the clinical record service: an account's connection with its
//! practitioners (saved whole or not at all, replaced, per account, no key in debug output)
//! and the practitioners' desk sessions (kept with their web session, never given out once
//! expired, no token in debug output).

use medgate_ids::{InstitutionId, StampNumber, UnitId};
use medgate_storage::{
    ClinicPractitioner, ClinicalConnection, DeskSession, NewWebSession, Sha256Digest,
    WebSessionKind,
};
use time::{Duration, OffsetDateTime};

use crate::support::{create_tenant, TestDb};

fn practitioner(user_name: &str, name: &str, stamp: &str) -> ClinicPractitioner {
    ClinicPractitioner {
        name: name.to_owned(),
        stamp_number: StampNumber::parse(stamp).unwrap(),
        user_name: user_name.to_owned(),
    }
}

fn connection(
    institution: &str,
    serial: &str,
    practitioners: Vec<ClinicPractitioner>,
) -> ClinicalConnection {
    ClinicalConnection {
        service_url: "https://eeszt.example:8443".to_owned(),
        service_ca_pem: "SERVICE CA".to_owned(),
        institution: InstitutionId::parse(institution).unwrap(),
        institution_name: "Fogászat Kft.".to_owned(),
        keystore_pem: format!("ENCRYPTED KEYSTORE {serial}"),
        serial: serial.to_owned(),
        not_after: OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap(),
        units: vec![
            UnitId::parse("001044299").unwrap(),
            UnitId::parse("001044300").unwrap(),
        ],
        practitioners,
        saved_at: OffsetDateTime::UNIX_EPOCH,
    }
}

pub async fn a_connection_is_saved_whole_replaced_and_per_account(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5110, 1_000_000, 100).await;
    let other = create_tenant(metadata, 5120, 1_000_000, 100).await;
    assert_eq!(metadata.clinical_connection(&tenant).await.unwrap(), None);

    let first = connection(
        "506097",
        "AA01",
        vec![
            practitioner("dr.kovacs", "Dr. Kovács Anna", "58012"),
            practitioner("dr.nagy", "Dr. Nagy Béla", "41234"),
        ],
    );
    metadata
        .save_clinical_connection(&tenant, &first)
        .await
        .unwrap();
    let stored = metadata
        .clinical_connection(&tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.institution.as_str(), "506097");
    assert_eq!(stored.units.len(), 2);
    assert_eq!(stored.units[1].as_str(), "001044300");
    assert_eq!(stored.keystore_pem, "ENCRYPTED KEYSTORE AA01");
    assert_eq!(stored.practitioners.len(), 2);
    assert_eq!(stored.practitioners[0].user_name, "dr.kovacs");
    assert_eq!(stored.practitioners[1].stamp_number.as_str(), "41234");
    assert!(
        stored.saved_at > OffsetDateTime::UNIX_EPOCH,
        "set by the store"
    );
    assert!(
        !format!("{stored:?}").contains("KEY"),
        "no key in debug output"
    );
    assert_eq!(metadata.clinical_connection(&other).await.unwrap(), None);

    // A save listing one user name twice is refused whole: the first settings stay.
    let twice = connection(
        "111111",
        "BB02",
        vec![
            practitioner("dr.kovacs", "Dr. Kovács Anna", "58012"),
            practitioner("dr.kovacs", "Another", "11111"),
        ],
    );
    let refused = metadata
        .save_clinical_connection(&tenant, &twice)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("dr.kovacs"), "{refused}");
    let kept = metadata
        .clinical_connection(&tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.serial, "AA01");
    assert_eq!(kept.practitioners.len(), 2);

    // A new save replaces the connection and its practitioners.
    let second = connection(
        "506097",
        "CC03",
        vec![practitioner("dr.szabo", "Dr. Szabó Csaba", "70001")],
    );
    metadata
        .save_clinical_connection(&tenant, &second)
        .await
        .unwrap();
    let replaced = metadata
        .clinical_connection(&tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replaced.keystore_pem, "ENCRYPTED KEYSTORE CC03");
    assert_eq!(
        replaced.practitioners,
        vec![practitioner("dr.szabo", "Dr. Szabó Csaba", "70001")]
    );

    // An unknown account is named.
    let unknown = crate::support::tenant_id(9999);
    let error = metadata
        .save_clinical_connection(&unknown, &second)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("9999"), "{error}");
}

pub async fn a_desk_session_lives_with_its_web_session_until_it_expires(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5130, 1_000_000, 100).await;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let web = |token: &str| NewWebSession {
        token_hash: Sha256Digest::of(token.as_bytes()),
        kind: WebSessionKind::new("practitioner"),
        tenant: Some(tenant.clone()),
        principal: "dr.kovacs".to_owned(),
        csrf_secret: "ab".repeat(32),
        created_at: now,
        expires_at: now + Duration::hours(7),
    };
    let desk = |token: &str, expires_at| DeskSession {
        tenant: tenant.clone(),
        user_name: "dr.kovacs".to_owned(),
        service_token: token.to_owned(),
        expires_at,
    };
    let (one, two) = (Sha256Digest::of(b"one"), Sha256Digest::of(b"two"));

    // A desk session needs its web session.
    assert!(metadata
        .save_desk_session(&one, &desk("service-token-1", now + Duration::hours(7)))
        .await
        .is_err());
    metadata.create_web_session(&web("one")).await.unwrap();
    metadata
        .save_desk_session(&one, &desk("service-token-1", now + Duration::hours(7)))
        .await
        .unwrap();
    let read = metadata.desk_session(&one, now).await.unwrap().unwrap();
    assert_eq!(read.service_token, "service-token-1");
    assert_eq!(read.user_name, "dr.kovacs");
    assert!(
        !format!("{read:?}").contains("service-token"),
        "no token in debug output"
    );

    // Expiry is enforced on read: one second before it is live, at it it is gone.
    let expires = now + Duration::hours(7);
    assert!(metadata
        .desk_session(&one, expires - Duration::seconds(1))
        .await
        .unwrap()
        .is_some());
    assert_eq!(metadata.desk_session(&one, expires).await.unwrap(), None);
    assert_eq!(metadata.desk_session(&two, now).await.unwrap(), None);

    // Signing out (the web session deleted) removes the desk session with it.
    metadata.delete_web_session(&one).await.unwrap();
    assert_eq!(metadata.desk_session(&one, now).await.unwrap(), None);

    // Ending one removes it and every expired one.
    metadata.create_web_session(&web("two")).await.unwrap();
    metadata.create_web_session(&web("one")).await.unwrap();
    metadata
        .save_desk_session(&two, &desk("service-token-2", now + Duration::minutes(1)))
        .await
        .unwrap();
    metadata
        .save_desk_session(&one, &desk("service-token-3", now + Duration::hours(7)))
        .await
        .unwrap();
    metadata
        .end_desk_session(&one, now + Duration::minutes(2))
        .await
        .unwrap();
    let raw = db.execute_raw("DELETE FROM clinic_desk_sessions").await;
    assert_eq!(
        raw, 0,
        "both were removed: the one ended and the one expired"
    );
}
