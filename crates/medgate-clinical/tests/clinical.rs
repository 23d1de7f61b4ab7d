//! The clinical service's rules on a real store (SQLite in a temporary folder): sign-in with a
//! one-time code computed here the RFC 6238 way (HMAC-SHA-1 by hand, not the crate the
//! service uses), sessions of 7 hours, encounters, documents across institutions, profile
//! versions and deletion by the creator only, a referral consumed once, restrictions with
//! break-glass in the patient's access log, and the audit chain intact at the end. Each runs
//! on SQLite and on PostgreSQL (a database of its own).

// A test that meets an unexpected value fails by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use medgate_clinical::auth::{self, SignIn, SESSION_LENGTH};
use medgate_clinical::documents::{self, NewDocument, SubmissionIdentifier};
use medgate_clinical::encounters::{self, NewEncounter};
use medgate_clinical::patient::{self, RestrictionScope};
use medgate_clinical::resources::{self};
use medgate_clinical::{referrals, Caller, ClinicalError, PatientCaller, ResourceType};
use medgate_ids::{InstitutionId, StampNumber, Taj, UnitId};
use medgate_storage::{AuditOrigin, Authorisation, ClinicalUnit, Metadata, NewPractitioner};
use serde_json::{json, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const PATIENT: &str = "123456788";
const PASSWORD: &str = "korrekt ló elem kapocs";
/// RFC 6238's SHA-1 test secret "12345678901234567890", base32.
const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn institution(id: &str) -> InstitutionId {
    InstitutionId::parse(id).unwrap()
}

/// RFC 4648 base32 (no padding) decoding, for the test's own TOTP.
fn base32_decode(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u64, Vec::new());
    for c in text.bytes() {
        let index = alphabet.iter().position(|a| *a == c).unwrap() as u64;
        value = (value << 5) | index;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

/// RFC 6238 with RFC 4226's dynamic truncation: HMAC-SHA-1 over the big-endian step
/// counter, 6 digits.
fn rfc6238_code(secret_base32: &str, at: OffsetDateTime) -> String {
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        &base32_decode(secret_base32),
    );
    let counter = (at.unix_timestamp() as u64) / 30;
    let mac = aws_lc_rs::hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[19] & 0x0f);
    let number = (u32::from(mac[offset] & 0x7f) << 24)
        | (u32::from(mac[offset + 1]) << 16)
        | (u32::from(mac[offset + 2]) << 8)
        | u32::from(mac[offset + 3]);
    format!("{:06}", number % 1_000_000)
}

/// The PostgreSQL server tests use unless `MEDGATE_TEST_POSTGRES_URL` names another.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh store: SQLite in a temporary folder, or a new PostgreSQL database dropped by
/// [`World::close`] (PostgreSQL missing: the one rule of `medgate-test-peers`).
struct World {
    store: Metadata,
    _folder: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl World {
    async fn close(self) {
        self.store.close().await;
        if let Some((admin_url, database)) = self.postgres {
            use sqlx::{Connection, Executor};
            let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
            admin
                .execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str())
                .await
                .unwrap();
            admin.close().await.unwrap();
        }
    }
}

async fn empty(backend: Backend) -> Option<World> {
    match backend {
        Backend::Sqlite => {
            let folder = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/clinical.db?mode=rwc", folder.path().display());
            Some(World {
                store: Metadata::connect(&url).await.unwrap(),
                _folder: Some(folder),
                postgres: None,
            })
        }
        Backend::Postgres => {
            use sqlx::{Connection, Executor};
            sqlx::any::install_default_drivers();
            let admin_url = std::env::var("MEDGATE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
            let probe = match tokio::time::timeout(
                std::time::Duration::from_secs(10),
                sqlx::AnyConnection::connect(&admin_url),
            )
            .await
            {
                Ok(Ok(connection)) => Ok(connection),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err("no connection within 10 s".to_owned()),
            };
            let mut admin = medgate_test_peers::require(
                &format!(
                    "PostgreSQL at {}",
                    medgate_test_peers::without_password(&admin_url)
                ),
                medgate_test_peers::POSTGRES_INSTALL,
                probe,
            )?;
            let database = format!(
                "medgate_test_{}",
                &auth::generate_totp_secret().unwrap()[..12].to_ascii_lowercase()
            );
            admin
                .execute(format!("CREATE DATABASE {database}").as_str())
                .await
                .unwrap();
            admin.close().await.unwrap();
            let (base, _) = admin_url.rsplit_once('/').unwrap();
            let url = format!("{base}/{database}");
            Some(World {
                store: Metadata::connect(&url).await.unwrap(),
                _folder: None,
                postgres: Some((admin_url, database)),
            })
        }
    }
}

/// Two institutions with a unit each and a practitioner each in the matrix.
async fn world(backend: Backend) -> Option<World> {
    let world = empty(backend).await?;
    let store = &world.store;
    let at = datetime!(2026-12-01 08:00 UTC);
    for (id, name, unit) in [
        ("506097", "Mosoly Fogászat Kft.", "001044299"),
        ("111111", "Városi Szakrendelő", "002000001"),
    ] {
        store
            .create_clinical_institution(&institution(id), name, at)
            .await
            .unwrap();
        store
            .add_clinical_unit(&ClinicalUnit {
                id: UnitId::parse(unit).unwrap(),
                institution: institution(id),
                name: format!("{name} rendelő"),
            })
            .await
            .unwrap();
    }
    let hash = auth::hash_password(PASSWORD).unwrap();
    for (user, stamp, at_institution) in [
        ("dr.kovacs", "58012", "506097"),
        ("dr.nagy", "41234", "111111"),
    ] {
        store
            .create_clinical_practitioner(
                &NewPractitioner {
                    user_name: user.to_owned(),
                    name: user.to_owned(),
                    stamp_number: StampNumber::parse(stamp).unwrap(),
                    password_hash: hash.clone(),
                    totp_secret: SECRET.to_owned(),
                },
                at,
            )
            .await
            .unwrap();
        store
            .grant_clinical_authorisation(&Authorisation {
                user_name: user.to_owned(),
                institution: institution(at_institution),
                unit: None,
                role: "doctor".to_owned(),
            })
            .await
            .unwrap();
    }
    Some(world)
}

fn caller(user: &str, at: &str) -> Caller {
    Caller {
        user_name: user.to_owned(),
        institution: institution(at),
        origin: AuditOrigin::Cli,
    }
}

fn code_of(error: Result<impl std::fmt::Debug, ClinicalError>) -> &'static str {
    match error {
        Ok(value) => panic!("expected a refusal, got {value:?}"),
        Err(error) => error.code(),
    }
}

async fn sign_in_with_password_and_an_rfc_6238_code_for_seven_hours(backend: Backend) {
    let Some(world) = world(backend).await else {
        return;
    };
    let store = &world.store;
    let now = datetime!(2026-12-03 09:00:10 UTC);
    let a = institution("506097");
    let code = rfc6238_code(SECRET, now);
    let request = |password: &'static str, code: String, institution: &InstitutionId| {
        (password, code, institution.clone())
    };

    let sign_in = |(password, code, institution): (&'static str, String, InstitutionId)| {
        let store = store.clone();
        async move {
            auth::sign_in(
                &store,
                &SignIn {
                    user_name: "dr.kovacs",
                    password,
                    one_time_code: &code,
                    institution: &institution,
                    origin: AuditOrigin::Cli,
                },
                now,
            )
            .await
        }
    };

    assert_eq!(
        code_of(sign_in(request("wrong password!", code.clone(), &a)).await),
        "wrong_credentials"
    );
    assert_eq!(
        code_of(sign_in(request(PASSWORD, "000000".to_owned(), &a)).await),
        "wrong_one_time_code"
    );
    // Not in the matrix for the other institution.
    assert_eq!(
        code_of(sign_in(request(PASSWORD, code.clone(), &institution("111111"))).await),
        "not_in_matrix"
    );
    // Unknown institution.
    assert_eq!(
        code_of(sign_in(request(PASSWORD, code.clone(), &institution("999999"))).await),
        "institution_not_active"
    );

    let opened = sign_in(request(PASSWORD, code.clone(), &a)).await.unwrap();
    assert_eq!(opened.session.expires_at, now + SESSION_LENGTH);
    // The same code again is a replay.
    assert_eq!(
        code_of(sign_in(request(PASSWORD, code, &a)).await),
        "one_time_code_reused"
    );

    let caller = auth::authenticate(
        store,
        &opened.token,
        &a,
        AuditOrigin::Cli,
        now + Duration::hours(6),
    )
    .await
    .unwrap();
    assert_eq!(caller.user_name, "dr.kovacs");
    assert_eq!(
        code_of(
            auth::authenticate(
                store,
                &opened.token,
                &a,
                AuditOrigin::Cli,
                now + Duration::hours(7)
            )
            .await
        ),
        "session_expired"
    );
    assert_eq!(
        code_of(
            auth::authenticate(
                store,
                &opened.token,
                &institution("111111"),
                AuditOrigin::Cli,
                now
            )
            .await
        ),
        "session_of_another_institution"
    );
    assert_eq!(
        code_of(auth::authenticate(store, "no such token", &a, AuditOrigin::Cli, now).await),
        "session_unknown"
    );
    // A suspended institution's sessions open nothing; a suspended practitioner's end.
    store
        .set_clinical_institution_active(&a, false)
        .await
        .unwrap();
    assert_eq!(
        code_of(auth::authenticate(store, &opened.token, &a, AuditOrigin::Cli, now).await),
        "institution_not_active"
    );
    store
        .set_clinical_institution_active(&a, true)
        .await
        .unwrap();
    store
        .set_clinical_practitioner_active("dr.kovacs", false)
        .await
        .unwrap();
    assert_eq!(
        code_of(auth::authenticate(store, &opened.token, &a, AuditOrigin::Cli, now).await),
        "session_unknown"
    );
    store
        .set_clinical_practitioner_active("dr.kovacs", true)
        .await
        .unwrap();
    // The next step's code signs in again.
    let next = now + Duration::seconds(30);
    let again = auth::sign_in(
        store,
        &SignIn {
            user_name: "dr.kovacs",
            password: PASSWORD,
            one_time_code: &rfc6238_code(SECRET, next),
            institution: &a,
            origin: AuditOrigin::Cli,
        },
        next,
    )
    .await;
    assert!(again.is_ok(), "{again:?}");

    // Five wrong passwords in a row lock the user name, also for the right one, for 15
    // minutes.
    let later = now + Duration::minutes(10);
    let attempt = |password: &'static str, at: OffsetDateTime| {
        let (store, a) = (store.clone(), a.clone());
        async move {
            auth::sign_in(
                &store,
                &SignIn {
                    user_name: "dr.kovacs",
                    password,
                    one_time_code: &rfc6238_code(SECRET, at),
                    institution: &a,
                    origin: AuditOrigin::Cli,
                },
                at,
            )
            .await
        }
    };
    for _ in 0..5 {
        assert_eq!(
            code_of(attempt("wrong password!", later).await),
            "wrong_credentials"
        );
    }
    assert_eq!(code_of(attempt(PASSWORD, later).await), "signin_locked");
    let unlocked = later + Duration::minutes(16);
    assert!(attempt(PASSWORD, unlocked).await.is_ok());
    assert!(store.verify_audit().await.unwrap().is_intact());
    world.close().await;
}

fn condition(text: &str) -> Value {
    json!({
        "resourceType": "Condition",
        "subject": { "reference": format!("Patient/{PATIENT}") },
        "code": { "text": text }
    })
}

async fn encounters_documents_profile_referrals_and_break_glass(backend: Backend) {
    let Some(world) = world(backend).await else {
        return;
    };
    let store = &world.store;
    let now = datetime!(2026-12-03 10:00 UTC);
    let kovacs = caller("dr.kovacs", "506097");
    let nagy = caller("dr.nagy", "111111");
    let patient = Taj::parse(PATIENT).unwrap();

    // An encounter opened, a document submitted with it, the encounter closed.
    let unit = UnitId::parse("001044299").unwrap();
    let encounter = encounters::open(
        store,
        &kovacs,
        &NewEncounter {
            patient: patient.clone(),
            unit: unit.clone(),
            care_type: "fogászati járóbeteg-ellátás".to_owned(),
            start: now,
        },
        now,
    )
    .await
    .unwrap();
    let encounter_id = encounter["id"].as_str().unwrap().to_owned();
    assert_eq!(encounter["status"], "in-progress");
    assert_eq!(encounter["meta"]["versionId"], "1");
    // Another institution's unit is refused.
    let foreign_unit = encounters::open(
        store,
        &kovacs,
        &NewEncounter {
            patient: patient.clone(),
            unit: UnitId::parse("002000001").unwrap(),
            care_type: "x".to_owned(),
            start: now,
        },
        now,
    )
    .await;
    assert_eq!(code_of(foreign_unit), "invalid_resource");

    let document = documents::submit(
        store,
        &kovacs,
        &NewDocument {
            patient: patient.clone(),
            encounter: Some(encounter_id.clone()),
            content_type: "application/pdf".to_owned(),
            title: "Ambuláns lap".to_owned(),
            data: b"%PDF-1.4 test".to_vec(),
            fhir_base_url: "https://clinical.example:8443/fhir/".to_owned(),
            identifier: None,
        },
        now,
    )
    .await
    .unwrap()
    .resource;
    let document_id = document["id"].as_str().unwrap().to_owned();
    assert_eq!(
        document["content"][0]["attachment"]["url"],
        format!("https://clinical.example:8443/fhir/Binary/{document_id}")
    );

    let closed = encounters::close(
        store,
        &kovacs,
        &encounter_id,
        now + Duration::minutes(30),
        now,
    )
    .await
    .unwrap();
    assert_eq!(closed["status"], "finished");
    assert_eq!(closed["meta"]["versionId"], "2");
    assert_eq!(
        code_of(encounters::close(store, &kovacs, &encounter_id, now, now).await),
        "encounter_not_open"
    );

    // The other institution lists the patient's documents across institutions.
    let found = resources::search(
        store,
        &nagy,
        ResourceType::DocumentReference,
        &patient,
        None,
        now,
    )
    .await
    .unwrap();
    assert_eq!(found.resources.len(), 1);
    let binary = resources::read(store, &nagy, ResourceType::Binary, &document_id, None, now)
        .await
        .unwrap();
    assert_eq!(binary["contentType"], "application/pdf");

    // A profile entry: created by one, modified by the other (history keeps both), deleted
    // by the creator only.
    let entry = resources::create(
        store,
        &kovacs,
        ResourceType::Condition,
        condition("diabetes"),
        now,
    )
    .await
    .unwrap();
    let entry_id = entry["id"].as_str().unwrap().to_owned();
    let mut modified = condition("diabetes mellitus, type 2");
    modified["id"] = json!(entry_id);
    let modified = resources::update(
        store,
        &nagy,
        ResourceType::Condition,
        &entry_id,
        modified,
        Some(1),
        now,
    )
    .await
    .unwrap();
    assert_eq!(modified["meta"]["versionId"], "2");
    assert_eq!(
        code_of(
            resources::update(
                store,
                &nagy,
                ResourceType::Condition,
                &entry_id,
                condition("stale"),
                Some(1),
                now
            )
            .await
        ),
        "version_conflict"
    );
    let history = resources::history(
        store,
        &kovacs,
        ResourceType::Condition,
        &entry_id,
        None,
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![2, 1]
    );
    assert_eq!(history[1].resource["code"]["text"], "diabetes");
    assert_eq!(
        code_of(resources::delete(store, &nagy, ResourceType::Condition, &entry_id, now).await),
        "not_owner"
    );
    resources::delete(store, &kovacs, ResourceType::Condition, &entry_id, now)
        .await
        .unwrap();
    assert_eq!(
        code_of(
            resources::read(
                store,
                &kovacs,
                ResourceType::Condition,
                &entry_id,
                None,
                now
            )
            .await
        ),
        "deleted"
    );

    // A referral issued by one, consumed by the other once.
    let referral = referrals::issue(
        store,
        &kovacs,
        json!({
            "resourceType": "ServiceRequest",
            "intent": "order",
            "subject": { "reference": format!("Patient/{PATIENT}") },
            "performerType": { "text": "szájsebészet" }
        }),
        now,
    )
    .await
    .unwrap();
    let referral_id = referral["id"].as_str().unwrap().to_owned();
    assert_eq!(referral["status"], "active");
    let consumed = referrals::consume(store, &nagy, &referral_id, now)
        .await
        .unwrap();
    assert_eq!(consumed["status"], "completed");
    assert_eq!(
        code_of(referrals::consume(store, &nagy, &referral_id, now).await),
        "referral_consumed"
    );
    assert_eq!(
        code_of(referrals::cancel(store, &kovacs, &referral_id, now).await),
        "referral_consumed"
    );
    let seen_by_issuer = resources::read(
        store,
        &kovacs,
        ResourceType::ServiceRequest,
        &referral_id,
        None,
        now,
    )
    .await
    .unwrap();
    assert_eq!(seen_by_issuer["extension"][0]["valueCode"], "consumed");

    // Only the issuer cancels; a referral past its period expires instead of being used.
    let order = |end: OffsetDateTime| {
        json!({
            "resourceType": "ServiceRequest",
            "intent": "order",
            "subject": { "reference": format!("Patient/{PATIENT}") },
            "occurrencePeriod": { "end": medgate_clinical::fhir::instant(end) }
        })
    };
    let to_cancel = referrals::issue(store, &kovacs, order(now + Duration::days(30)), now)
        .await
        .unwrap();
    let to_cancel = to_cancel["id"].as_str().unwrap().to_owned();
    assert_eq!(
        code_of(referrals::cancel(store, &nagy, &to_cancel, now).await),
        "not_owner"
    );
    let cancelled = referrals::cancel(store, &kovacs, &to_cancel, now)
        .await
        .unwrap();
    assert_eq!(cancelled["status"], "revoked");
    assert_eq!(cancelled["extension"][0]["valueCode"], "cancelled");
    assert_eq!(
        code_of(referrals::consume(store, &nagy, &to_cancel, now).await),
        "referral_not_issued"
    );
    let short = referrals::issue(store, &kovacs, order(now + Duration::days(1)), now)
        .await
        .unwrap();
    let short = short["id"].as_str().unwrap().to_owned();
    let too_late = now + Duration::days(2);
    assert_eq!(
        code_of(referrals::consume(store, &nagy, &short, too_late).await),
        "referral_not_issued"
    );
    let expired = resources::read(
        store,
        &kovacs,
        ResourceType::ServiceRequest,
        &short,
        None,
        too_late,
    )
    .await
    .unwrap();
    assert_eq!(expired["extension"][0]["valueCode"], "expired");
    assert_eq!(
        code_of(referrals::issue(store, &kovacs, order(now - Duration::days(1)), now).await),
        "invalid_resource"
    );

    // The patient restricts their documents: the other institution is refused, breaks the
    // glass with a reason, and the patient sees it.
    let me = PatientCaller {
        patient: patient.clone(),
        origin: AuditOrigin::Cli,
    };
    let consent = patient::restrict(store, &me, &RestrictionScope::All, now)
        .await
        .unwrap();
    assert_eq!(consent["status"], "active");
    assert_eq!(
        code_of(
            resources::read(
                store,
                &nagy,
                ResourceType::DocumentReference,
                &document_id,
                None,
                now
            )
            .await
        ),
        "restricted"
    );
    assert_eq!(
        code_of(
            resources::read(
                store,
                &nagy,
                ResourceType::DocumentReference,
                &document_id,
                Some("  "),
                now
            )
            .await
        ),
        "break_glass_reason_missing"
    );
    let withheld = resources::search(
        store,
        &nagy,
        ResourceType::DocumentReference,
        &patient,
        None,
        now,
    )
    .await
    .unwrap();
    assert!(withheld.resources.is_empty());
    assert_eq!(withheld.withheld, vec![document_id.clone()]);
    // The creator still reads its own document.
    resources::read(
        store,
        &kovacs,
        ResourceType::DocumentReference,
        &document_id,
        None,
        now,
    )
    .await
    .unwrap();
    let later = now + Duration::minutes(5);
    resources::read(
        store,
        &nagy,
        ResourceType::DocumentReference,
        &document_id,
        Some("eszméletlen beteg, sürgős ellátás"),
        later,
    )
    .await
    .unwrap();
    let log = patient::access_log(store, &me, 100, later).await.unwrap();
    // The break-glass read is the one with a purpose of use (later reads follow it).
    let newest = log
        .iter()
        .find(|event| event["agent"][0].get("purposeOfUse").is_some())
        .unwrap();
    assert_eq!(
        log.iter()
            .filter(|event| event["agent"][0].get("purposeOfUse").is_some())
            .count(),
        1
    );
    assert_eq!(newest["resourceType"], "AuditEvent");
    assert_eq!(newest["agent"][0]["who"]["identifier"]["value"], "dr.nagy");
    assert_eq!(
        newest["agent"][0]["purposeOfUse"][0]["text"],
        "break-glass: eszméletlen beteg, sürgős ellátás"
    );
    assert_eq!(
        newest["agent"][1]["who"]["reference"],
        "Organization/111111"
    );

    // Lifted, the document opens again without break-glass.
    patient::lift(store, &me, consent["id"].as_str().unwrap(), now)
        .await
        .unwrap();
    resources::read(
        store,
        &nagy,
        ResourceType::DocumentReference,
        &document_id,
        None,
        later,
    )
    .await
    .unwrap();

    // The patient reads their own record, restricted or not, with the profile's history;
    // another patient reaches none of it.
    let documents = patient::resources(store, &me, ResourceType::DocumentReference, later)
        .await
        .unwrap();
    assert_eq!(documents.len(), 1);
    let pdf = patient::read(store, &me, ResourceType::Binary, &document_id, later)
        .await
        .unwrap();
    assert_eq!(pdf["contentType"], "application/pdf");
    let versions = patient::history(store, &me, ResourceType::Condition, &entry_id, later)
        .await
        .unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    assert!(versions[0].deleted);
    let stranger = PatientCaller {
        patient: Taj::parse("111111110").unwrap(),
        origin: AuditOrigin::Cli,
    };
    assert_eq!(
        code_of(patient::read(store, &stranger, ResourceType::Binary, &document_id, later).await),
        "not_found"
    );
    assert_eq!(
        code_of(
            patient::history(store, &stranger, ResourceType::Condition, &entry_id, later).await
        ),
        "not_found"
    );
    assert!(
        patient::resources(store, &stranger, ResourceType::DocumentReference, later)
            .await
            .unwrap()
            .is_empty()
    );

    // Another patient's TAJ reaches nothing of this one.
    let other = Taj::parse("111111110").unwrap();
    let nothing = resources::search(
        store,
        &nagy,
        ResourceType::DocumentReference,
        &other,
        None,
        now,
    )
    .await
    .unwrap();
    assert!(nothing.resources.is_empty() && nothing.withheld.is_empty());

    let verification = store.verify_audit().await.unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    assert!(verification.entries_verified > 20);
    world.close().await;
}

async fn every_profile_type_is_kept_with_its_checks(backend: Backend) {
    let Some(world) = world(backend).await else {
        return;
    };
    let store = &world.store;
    let now = datetime!(2026-12-03 11:00 UTC);
    let kovacs = caller("dr.kovacs", "506097");
    let subject = json!({ "reference": format!("Patient/{PATIENT}") });
    let entries = [
        json!({ "resourceType": "AllergyIntolerance", "patient": subject,
                "code": { "text": "penicillin" } }),
        json!({ "resourceType": "Device", "patient": subject,
                "type": { "text": "dental implant" } }),
        json!({ "resourceType": "DeviceUseStatement", "subject": subject, "status": "active",
                "device": { "reference": "Device/implant-1" } }),
        json!({ "resourceType": "Condition", "subject": subject,
                "code": { "text": "hypertension" } }),
        json!({ "resourceType": "CarePlan", "subject": subject, "status": "active",
                "intent": "plan" }),
        json!({ "resourceType": "MedicationStatement", "subject": subject, "status": "active",
                "medicationCodeableConcept": { "text": "metformin 500 mg" } }),
    ];
    for (kind, entry) in ResourceType::PROFILE.into_iter().zip(entries) {
        let stored = resources::create(store, &kovacs, kind, entry.clone(), now)
            .await
            .unwrap();
        assert_eq!(stored["meta"]["versionId"], "1", "{kind:?}");
        let found = resources::search(
            store,
            &kovacs,
            kind,
            &Taj::parse(PATIENT).unwrap(),
            None,
            now,
        )
        .await
        .unwrap();
        assert_eq!(found.resources, vec![stored], "{kind:?}");
        // Without the patient reference, each is refused naming the field.
        let mut without = entry;
        let element = if without.get("patient").is_some() {
            "patient"
        } else {
            "subject"
        };
        without.as_object_mut().unwrap().remove(element);
        let error = resources::create(store, &kovacs, kind, without, now)
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{element}.reference: is required"),
            "{kind:?}"
        );
    }
    // A resource of another type than the one named is refused.
    let error = resources::create(
        store,
        &kovacs,
        ResourceType::Condition,
        json!({ "resourceType": "CarePlan", "subject": subject }),
        now,
    )
    .await
    .unwrap_err();
    assert!(error.to_string().starts_with("resourceType:"), "{error}");
    assert_eq!(
        ResourceType::parse("Observation").unwrap_err().code(),
        "unsupported_resource_type"
    );
    world.close().await;
}

async fn the_operator_registers_with_identifiers_checked_and_audited(backend: Backend) {
    use medgate_clinical::admin::{self, Operator};
    use medgate_storage::InstitutionCertificate;

    let Some(world) = empty(backend).await else {
        return;
    };
    let store = world.store.clone();
    let now = datetime!(2026-12-03 08:00 UTC);
    let operator = Operator {
        name: "operator:admin".to_owned(),
        origin: AuditOrigin::Cli,
    };
    fn refusal<T>(result: Result<T, ClinicalError>) -> String {
        result.map(|_| ()).unwrap_err().to_string()
    }

    assert_eq!(
        refusal(admin::register_institution(&store, &operator, "50609", "x", now).await),
        "invalid institution id '50609': must be exactly 6 digits (got 5 characters)"
    );
    admin::register_institution(&store, &operator, "506097", "Mosoly Fogászat Kft.", now)
        .await
        .unwrap();
    let again = admin::register_institution(&store, &operator, "506097", "again", now).await;
    assert_eq!(again.map(|_| ()).unwrap_err().code(), "already_registered");
    assert!(
        refusal(admin::add_unit(&store, &operator, "506097", "0010442", "x").await)
            .contains("unit id")
    );
    admin::add_unit(&store, &operator, "506097", "001044299", "Rendelő")
        .await
        .unwrap();
    let unknown = admin::add_unit(&store, &operator, "111111", "001044300", "x").await;
    assert_eq!(unknown.map(|_| ()).unwrap_err().code(), "not_registered");

    assert!(refusal(
        admin::register_practitioner(
            &store,
            &operator,
            "dr.kovacs",
            "Dr. K",
            "5801",
            PASSWORD,
            now
        )
        .await
    )
    .contains("stamp number"));
    assert!(refusal(
        admin::register_practitioner(
            &store,
            &operator,
            "dr.kovacs",
            "Dr. K",
            "58012",
            "short",
            now
        )
        .await
    )
    .starts_with("password:"));
    let registered = admin::register_practitioner(
        &store,
        &operator,
        "dr.kovacs",
        "Dr. K",
        "58012",
        PASSWORD,
        now,
    )
    .await
    .unwrap();
    assert_eq!(registered.totp_secret.len(), 32);
    assert!(!format!("{registered:?}").contains(&registered.totp_secret));
    let foreign_unit = admin::grant(
        &store,
        &operator,
        "dr.kovacs",
        "506097",
        Some("009999999"),
        "doctor",
    )
    .await;
    assert_eq!(
        foreign_unit.map(|_| ()).unwrap_err().code(),
        "not_registered"
    );
    admin::grant(
        &store,
        &operator,
        "dr.kovacs",
        "506097",
        Some("001044299"),
        "doctor",
    )
    .await
    .unwrap();

    // The registered practitioner signs in with the secret they were given.
    let institution = institution("506097");
    let opened = auth::sign_in(
        &store,
        &SignIn {
            user_name: "dr.kovacs",
            password: PASSWORD,
            one_time_code: &rfc6238_code(&registered.totp_secret, now),
            institution: &institution,
            origin: AuditOrigin::Cli,
        },
        now,
    )
    .await;
    assert!(opened.is_ok(), "{opened:?}");

    let certificate = InstitutionCertificate {
        serial: "7F3A".to_owned(),
        institution: institution.clone(),
        not_after: now + Duration::days(365),
    };
    admin::record_certificate(&store, &operator, &certificate, now)
        .await
        .unwrap();
    assert_eq!(
        admin::institution_of_certificate(&store, "7F3A", now)
            .await
            .unwrap(),
        institution
    );
    assert_eq!(
        admin::institution_of_certificate(&store, "7F3A", now + Duration::days(366))
            .await
            .map(|_| ())
            .unwrap_err()
            .code(),
        "not_registered"
    );
    admin::set_institution_active(&store, &operator, "506097", false)
        .await
        .unwrap();
    assert_eq!(
        admin::institution_of_certificate(&store, "7F3A", now)
            .await
            .map(|_| ())
            .unwrap_err()
            .code(),
        "institution_not_active"
    );
    admin::mark_connection_verified(&store, &operator, "506097", now)
        .await
        .unwrap();
    let stored = store
        .clinical_institution(&institution)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.connection_verified_at, Some(now));

    let entries = store.list_audit_all(100).await.unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .filter(|entry| entry.actor == "operator:admin")
        .map(|entry| entry.action.as_str())
        .collect();
    for action in [
        "clinical.institution.register",
        "clinical.unit.add",
        "clinical.practitioner.register",
        "clinical.matrix.grant",
        "clinical.certificate.issue",
        "clinical.institution.suspend",
        "clinical.institution.connection-verified",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    assert!(store.verify_audit().await.unwrap().is_intact());
    world.close().await;
}

/// A document submitted with the clinic's identifier is stored once: sent again it answers
/// the first, two attempts racing each other store one document, the identifier cannot
/// name other content, and another institution's identifiers are its own.
async fn a_submission_identifier_stores_a_document_once(backend: Backend) {
    let Some(world) = world(backend).await else {
        return;
    };
    let store = &world.store;
    let now = datetime!(2026-12-03 10:00 UTC);
    let kovacs = caller("dr.kovacs", "506097");
    let nagy = caller("dr.nagy", "111111");
    let patient = Taj::parse(PATIENT).unwrap();
    let document = |value: &str, data: &[u8]| NewDocument {
        patient: patient.clone(),
        encounter: None,
        content_type: "application/pdf".to_owned(),
        title: "Ambuláns lap".to_owned(),
        data: data.to_vec(),
        fhir_base_url: "https://clinical.example:8443/fhir".to_owned(),
        identifier: Some(
            SubmissionIdentifier::new("https://clinic.example/submission", value).unwrap(),
        ),
    };
    let first = document("lap-1", b"%PDF-1.4 first");
    let stored = documents::submit(store, &kovacs, &first, now)
        .await
        .unwrap();
    assert!(stored.created);
    assert_eq!(stored.resource["identifier"][0]["value"], "lap-1");
    let again = documents::submit(store, &kovacs, &first, now)
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.resource, stored.resource);

    let racing = document("lap-2", b"%PDF-1.4 second");
    let (one, other) = tokio::join!(
        documents::submit(store, &kovacs, &racing, now),
        documents::submit(store, &kovacs, &racing, now)
    );
    let (one, other) = (one.unwrap(), other.unwrap());
    assert_eq!(u8::from(one.created) + u8::from(other.created), 1);
    assert_eq!(one.resource["id"], other.resource["id"]);

    assert_eq!(
        code_of(
            documents::submit(store, &kovacs, &document("lap-1", b"%PDF-1.4 other"), now).await
        ),
        "identifier_in_use"
    );
    let theirs = documents::submit(store, &nagy, &first, now).await.unwrap();
    assert!(theirs.created);
    assert_ne!(theirs.resource["id"], stored.resource["id"]);
    let found = resources::search(
        store,
        &nagy,
        ResourceType::DocumentReference,
        &patient,
        None,
        now,
    )
    .await
    .unwrap();
    assert_eq!(found.resources.len(), 3);
    assert!(store.verify_audit().await.unwrap().is_intact());
    world.close().await;
}

/// The patients' portal accounts: created by the operator for a valid TAJ with a one-time
/// code (only its hash stored, the creation audited), refused for a bad TAJ or a second time,
/// activated once with the code's hash (a second activation changes nothing), given a new
/// code that takes the password away; the patient's own reads land in their access log as
/// theirs.
async fn patient_accounts_are_created_once_and_activated_once(backend: Backend) {
    let Some(world) = world(backend).await else {
        return;
    };
    let store = &world.store;
    let now = datetime!(2026-12-03 10:00 UTC);
    let operator = medgate_clinical::admin::Operator {
        name: "cli".to_owned(),
        origin: AuditOrigin::Cli,
    };
    let taj = Taj::parse(PATIENT).unwrap();
    assert!(store
        .clinical_patient_account(&taj)
        .await
        .unwrap()
        .is_none());
    let created = medgate_clinical::accounts::create_patient_account(
        store,
        &operator,
        PATIENT,
        " Kiss Anna ",
        now,
    )
    .await
    .unwrap();
    assert_eq!(created.name, "Kiss Anna");
    assert_eq!(
        created.expires_at,
        now + medgate_clinical::accounts::ACTIVATION_VALIDITY
    );
    assert_eq!(
        created.activation_code.len(),
        19,
        "{}",
        created.activation_code
    );
    assert!(!format!("{created:?}").contains(&created.activation_code));
    let stored = store.clinical_patient_account(&taj).await.unwrap().unwrap();
    assert_eq!(stored.name, "Kiss Anna");
    assert!(stored.password_hash.is_none());
    let code_hash = stored.activation_code_hash.clone().unwrap();
    assert!(
        code_hash.starts_with("$argon2id$"),
        "only the code's hash is kept"
    );
    assert!(!code_hash.contains(&created.activation_code.replace('-', "")));
    assert_eq!(stored.activation_expires_at, Some(created.expires_at));
    // A second account for the TAJ, a bad TAJ, an empty name: refused, naming the rule.
    assert_eq!(
        code_of(
            medgate_clinical::accounts::create_patient_account(
                store,
                &operator,
                PATIENT,
                "Kiss Anna",
                now
            )
            .await
        ),
        "already_registered"
    );
    let bad =
        medgate_clinical::accounts::create_patient_account(store, &operator, "123456789", "X", now)
            .await
            .unwrap_err();
    assert_eq!(bad.code(), "invalid_identifier", "{bad}");
    assert!(bad.to_string().contains("check digit"), "{bad}");
    assert_eq!(
        code_of(
            medgate_clinical::accounts::create_patient_account(
                store,
                &operator,
                "111111110",
                "  ",
                now
            )
            .await
        ),
        "invalid_resource"
    );
    assert!(store
        .clinical_patient_account(&Taj::parse("111111110").unwrap())
        .await
        .unwrap()
        .is_none());
    // Activated once: the code's hash must still be the pending one.
    assert!(!store
        .activate_clinical_patient_account(&taj, "$argon2id$other", "$argon2id$password", now)
        .await
        .unwrap());
    assert!(store
        .activate_clinical_patient_account(&taj, &code_hash, "$argon2id$password", now)
        .await
        .unwrap());
    assert!(!store
        .activate_clinical_patient_account(&taj, &code_hash, "$argon2id$again", now)
        .await
        .unwrap());
    let active = store.clinical_patient_account(&taj).await.unwrap().unwrap();
    assert_eq!(active.password_hash.as_deref(), Some("$argon2id$password"));
    assert!(active.activation_code_hash.is_none() && active.activated_at == Some(now));

    // A renewed code: the password stops working, the new code is pending; a TAJ without an
    // account is refused.
    let renewed = medgate_clinical::accounts::renew_activation_code(store, &operator, PATIENT, now)
        .await
        .unwrap();
    assert_eq!(renewed.name, "Kiss Anna");
    assert_ne!(renewed.activation_code, created.activation_code);
    let reset = store.clinical_patient_account(&taj).await.unwrap().unwrap();
    assert!(reset.password_hash.is_none() && reset.activated_at.is_none());
    let new_hash = reset.activation_code_hash.unwrap();
    assert_ne!(new_hash, code_hash);
    assert!(store
        .activate_clinical_patient_account(&taj, &new_hash, "$argon2id$new", now)
        .await
        .unwrap());
    assert_eq!(
        code_of(
            medgate_clinical::accounts::renew_activation_code(store, &operator, "111111110", now)
                .await
        ),
        "not_registered"
    );

    // The patient's own reads are lines of their access log, as theirs.
    let me = PatientCaller {
        patient: taj.clone(),
        origin: AuditOrigin::Cli,
    };
    patient::resources(store, &me, ResourceType::DocumentReference, now)
        .await
        .unwrap();
    let lines = patient::access_entries(store, &me, 10, now + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(lines.len(), 1);
    assert!(patient::is_own(&lines[0].access));
    assert_eq!(lines[0].access.action, "search");
    assert_eq!(
        lines[0].access.target,
        format!("DocumentReference?patient=Patient/{PATIENT}")
    );
    let events = patient::access_log(store, &me, 10, now + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(events.len(), 2, "the access log's own read is a line too");
    assert_eq!(
        events[0]["agent"][0]["who"]["reference"],
        format!("Patient/{PATIENT}")
    );
    assert_eq!(events[0]["agent"].as_array().unwrap().len(), 1);
    let audit = store.list_audit_all(100).await.unwrap();
    assert!(audit
        .iter()
        .any(|entry| entry.action == "clinical.patient-account.create"
            && entry.patient.as_deref() == Some(PATIENT)
            && !entry.details.contains(&created.activation_code)));
    assert!(store.verify_audit().await.unwrap().is_intact());
    world.close().await;
}

/// One `#[tokio::test]` per backend for each scenario: `sqlite::<test>`, `postgres::<test>`.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test(super::Backend::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test(super::Backend::Postgres).await;
            })*
        }
    };
}

on_both_backends!(
    sign_in_with_password_and_an_rfc_6238_code_for_seven_hours,
    encounters_documents_profile_referrals_and_break_glass,
    every_profile_type_is_kept_with_its_checks,
    the_operator_registers_with_identifiers_checked_and_audited,
    a_submission_identifier_stores_a_document_once,
    patient_accounts_are_created_once_and_activated_once,
);
