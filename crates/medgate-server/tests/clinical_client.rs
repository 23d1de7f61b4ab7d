//! The clinic's library (`medgate_client::clinical`) against an in-process clinical record
//! service: credentials opened from the institution's PKCS#12 and one-time code, every call
//! a practice makes, the service's refusals in its words, a session that ended, a service
//! that is not there, and a submission whose answer was lost on the way — retried with its
//! identifier and stored once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use medgate_client::clinical::{
    ClinicalClient, ClinicalClientError, ClinicalOptions, DocumentSubmission,
    InstitutionCredentials, NewEncounter, NewReferral, ProfileKind, SubmissionId,
};
use medgate_ids::{InstitutionId, Taj, UnitId};
use medgate_pki::keystore::{write_pkcs12, Pkcs12Options};
use medgate_pki::Password;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod support;

use support::clinical::{enrol, Enrolled, PASSWORD};
use support::{Node, Options};

const PATIENT: &str = "123456788";
const ONE_TIME_CODE: &str = "ABCD-EFGH-JKLM";

/// The clinic's client for an enrolled institution, its credentials taken the way a clinic
/// takes them: from a PKCS#12 file opened with its one-time code.
fn client_of(
    node: &Node,
    enrolled: &Enrolled,
    id: &str,
    url: &url::Url,
    options: ClinicalOptions,
) -> ClinicalClient {
    let p12 = write_pkcs12(
        &enrolled.certificate,
        std::slice::from_ref(node.ca.certificate()),
        &enrolled.key,
        &Password::new(ONE_TIME_CODE),
        &Pkcs12Options::default(),
    )
    .unwrap();
    let credentials = InstitutionCredentials::open(
        &p12,
        std::path::Path::new("institution.p12"),
        &Password::new(ONE_TIME_CODE),
        node.ca.certificate().clone(),
        std::path::Path::new("service-ca.pem"),
        &InstitutionId::parse(id).unwrap(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    ClinicalClient::new(url, credentials, options).unwrap()
}

/// The code the practitioner's token shows now.
fn code(enrolled: &Enrolled) -> String {
    medgate_clinical::auth::totp_code(&enrolled.totp_secret, OffsetDateTime::now_utc()).unwrap()
}

/// The clinic's library on the service: credentials from the institution's PKCS#12 and
/// one-time code, a practitioner's session, a retried submission stored once, the
/// service's refusals in its words, and a service that is not there named by its URL.
#[tokio::test]
async fn the_clinic_library_speaks_to_the_service() {
    let node = Node::start_with(Options {
        role: Some("clinical".into()),
        ..Options::default()
    })
    .await;
    let kovacs = enrol(&node, "506097", "001044299", "dr.kovacs", "58012").await;
    let nagy = enrol(&node, "111111", "002000001", "dr.nagy", "41234").await;
    let a = client_of(
        &node,
        &kovacs,
        "506097",
        &node.url,
        ClinicalOptions::default(),
    );
    let b = client_of(
        &node,
        &nagy,
        "111111",
        &node.url,
        ClinicalOptions::default(),
    );
    let password = Password::new(PASSWORD);
    let wrong = a
        .login(
            "dr.kovacs",
            &Password::new("not the password"),
            &code(&kovacs),
        )
        .await;
    assert_eq!(wrong.unwrap_err().code(), Some("wrong_credentials"));
    let session_a = a
        .login("dr.kovacs", &password, &code(&kovacs))
        .await
        .unwrap();
    let session_b = b.login("dr.nagy", &password, &code(&nagy)).await.unwrap();
    assert!(session_a.expires_at > OffsetDateTime::now_utc() + time::Duration::hours(6));
    assert!(!format!("{session_a:?}").contains(session_a.token()));

    let patient = Taj::parse(PATIENT).unwrap();
    let encounter = a
        .open_encounter(
            &session_a,
            &NewEncounter {
                patient: patient.clone(),
                unit: UnitId::parse("001044299").unwrap(),
                care_type: "járóbeteg-ellátás".into(),
                start: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(encounter.status(), Some("in-progress"));
    let document = DocumentSubmission {
        identifier: SubmissionId::generate().unwrap(),
        patient: patient.clone(),
        encounter: Some(encounter.id().to_owned()),
        content_type: "application/pdf".into(),
        title: "Ambuláns lap".into(),
        data: b"%PDF-1.4 ambulans lap".to_vec(),
    };
    let first = a.submit_document(&session_a, &document).await.unwrap();
    let again = a.submit_document(&session_a, &document).await.unwrap();
    assert!(first.created && !again.created);
    assert_eq!(first.document.id(), again.document.id());
    let closed = a.close_encounter(&session_a, encounter.id()).await.unwrap();
    assert_eq!(closed.status(), Some("finished"));

    let listed = b
        .patient_documents(&session_b, &patient, None)
        .await
        .unwrap();
    assert_eq!(listed.documents.len(), 1);
    let content = b
        .document_content(&session_b, listed.documents[0].id(), None)
        .await
        .unwrap();
    assert_eq!(content.data, document.data);
    assert_eq!(content.content_type, "application/pdf");

    let entry = ProfileKind::Condition
        .entry(&patient, "Diabetes mellitus")
        .unwrap();
    let created = a
        .create_profile_entry(&session_a, ProfileKind::Condition, &entry)
        .await
        .unwrap();
    let changed = ProfileKind::Condition
        .with_text(created.json().clone(), "Diabetes mellitus, 2-es típus")
        .unwrap();
    let updated = a
        .update_profile_entry(
            &session_a,
            ProfileKind::Condition,
            created.id(),
            &changed,
            1,
        )
        .await
        .unwrap();
    assert_eq!(updated.version(), Some(2));
    let stale = a
        .update_profile_entry(
            &session_a,
            ProfileKind::Condition,
            created.id(),
            &changed,
            1,
        )
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Some("version_conflict"), "{stale}");
    let history = b
        .profile_history(&session_b, ProfileKind::Condition, created.id())
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|h| h.version).collect::<Vec<_>>(),
        vec![Some(2), Some(1)]
    );
    let foreign = b
        .delete_profile_entry(&session_b, ProfileKind::Condition, created.id())
        .await
        .unwrap_err();
    assert!(
        matches!(foreign, ClinicalClientError::Refused { status: 403, .. }),
        "{foreign}"
    );
    assert!(foreign.to_string().contains("506097"), "{foreign}");

    let referral = a
        .issue_referral(
            &session_a,
            &NewReferral {
                patient: patient.clone(),
                specialty: "szájsebészet".into(),
                note: None,
                valid_until: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(referral.referral_status(), Some("issued"));
    let found = b
        .referral(&session_b, referral.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id(), referral.id());
    assert_eq!(
        b.patient_referrals(&session_b, &patient)
            .await
            .unwrap()
            .len(),
        1
    );
    let consumed = b.consume_referral(&session_b, referral.id()).await.unwrap();
    assert_eq!(consumed.referral_status(), Some("consumed"));
    let twice = b
        .consume_referral(&session_b, referral.id())
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Some("referral_consumed"));

    // Signed out, the session is over: the distinct error says so.
    a.logout(&session_a).await.unwrap();
    let ended = a
        .patient_documents(&session_a, &patient, None)
        .await
        .unwrap_err();
    assert!(
        matches!(ended, ClinicalClientError::SessionEnded { .. }),
        "{ended}"
    );
    assert_eq!(
        ended.to_string(),
        "the practitioner's session ended; sign in again"
    );

    // A service that is not there: retried, then named by its URL.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere =
        url::Url::parse(&format!("https://{}", closed_port.local_addr().unwrap())).unwrap();
    drop(closed_port);
    let options = ClinicalOptions {
        timeout: Duration::from_secs(2),
        attempts: 3,
        pause: Duration::from_millis(10),
    };
    let away = client_of(&node, &nagy, "111111", &nowhere, options);
    let down = away
        .patient_documents(&session_b, &patient, None)
        .await
        .unwrap_err();
    assert!(
        matches!(down, ClinicalClientError::Unreachable { attempts: 3, .. }),
        "{down}"
    );
    assert!(down.to_string().contains(nowhere.as_str()), "{down}");
}

/// A TCP relay to `target` that loses one answer: on the first connection whose upload
/// reaches `threshold` bytes, the request goes through whole but what the service sends back
/// from then on is dropped and the client's side closed — a timeout's lost answer, without
/// the wait. `lost` is set once it did.
async fn lossy_relay(target: SocketAddr, threshold: usize, lost: Arc<AtomicBool>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let lost = lost.clone();
            tokio::spawn(async move {
                let service = TcpStream::connect(target).await.unwrap();
                let (mut client_read, mut client_write) = client.into_split();
                let (mut service_read, mut service_write) = service.into_split();
                let uploaded = Arc::new(AtomicUsize::new(0));
                let counter = uploaded.clone();
                let upload = tokio::spawn(async move {
                    let mut buffer = vec![0u8; 16 * 1024];
                    while let Ok(n) = client_read.read(&mut buffer).await {
                        if n == 0 || service_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                        counter.fetch_add(n, Ordering::SeqCst);
                    }
                });
                let mut buffer = vec![0u8; 16 * 1024];
                let mut losing = false;
                while let Ok(n) = service_read.read(&mut buffer).await {
                    if n == 0 {
                        break;
                    }
                    if !losing
                        && uploaded.load(Ordering::SeqCst) >= threshold
                        && !lost.swap(true, Ordering::SeqCst)
                    {
                        losing = true;
                        let _ = client_write.shutdown().await;
                    }
                    if !losing && client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
                upload.abort();
            });
        }
    });
    address
}

#[tokio::test]
async fn a_submission_whose_answer_was_lost_is_retried_and_stored_once() {
    let node = Node::start_with(Options {
        role: Some("clinical".into()),
        ..Options::default()
    })
    .await;
    let kovacs = enrol(&node, "506097", "001044299", "dr.kovacs", "58012").await;
    let direct = client_of(
        &node,
        &kovacs,
        "506097",
        &node.url,
        ClinicalOptions::default(),
    );
    let session = direct
        .login("dr.kovacs", &Password::new(PASSWORD), &code(&kovacs))
        .await
        .unwrap();
    // A document large enough that its upload is told apart from the TLS handshake.
    let data: Vec<u8> = b"%PDF-1.4 "
        .iter()
        .copied()
        .chain((0..200_000u32).map(|i| (i % 251) as u8))
        .collect();
    let lost = Arc::new(AtomicBool::new(false));
    let relay = lossy_relay(node.address, 200_000, lost.clone()).await;
    let mut through_relay = node.url.clone();
    through_relay.set_port(Some(relay.port())).unwrap();
    let lossy = client_of(
        &node,
        &kovacs,
        "506097",
        &through_relay,
        ClinicalOptions::default(),
    );
    let patient = Taj::parse(PATIENT).unwrap();
    let document = DocumentSubmission {
        identifier: SubmissionId::generate().unwrap(),
        patient: patient.clone(),
        encounter: None,
        content_type: "application/pdf".into(),
        title: "Panoráma-röntgen lelet".into(),
        data: data.clone(),
    };
    let submitted = lossy.submit_document(&session, &document).await.unwrap();
    assert!(lost.load(Ordering::SeqCst), "the relay lost no answer");
    // The first attempt stored it; the retry found it.
    assert!(!submitted.created, "{submitted:?}");
    let listed = direct
        .patient_documents(&session, &patient, None)
        .await
        .unwrap();
    assert_eq!(listed.documents.len(), 1, "{listed:?}");
    assert_eq!(listed.documents[0].id(), submitted.document.id());
    let content = direct
        .document_content(&session, submitted.document.id(), None)
        .await
        .unwrap();
    assert_eq!(content.data, data);
}
