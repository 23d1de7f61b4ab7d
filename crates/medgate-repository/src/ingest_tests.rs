//! Tests of the ingest: the CDA → metadata mapping on the PIK samples and the C-CDA fixture,
//! attachments, and the store order with its clean-up against a content store that fails
//! and a metadata store that refuses.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test that meets an unexpected value fails by panicking.

use std::sync::atomic::Ordering;

use medgate_ids::Pesel;

use super::*;
use crate::testing::{fixture_cda, pik_samples, Fixture};

fn metadata_of(bytes: &[u8]) -> Result<DocumentMetadata, RepositoryError> {
    let header = medgate_cda::parse(bytes).unwrap();
    cda_metadata(&header, "text/xml".to_owned(), bytes)
}

#[test]
fn every_pik_sample_maps_to_searchable_metadata() {
    let Some(files) = pik_samples() else { return };
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let header = medgate_cda::parse(&bytes).unwrap();
        let name = file.display();
        let metadata = cda_metadata(&header, "application/xml".to_owned(), &bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            metadata.document_id.as_str(),
            header.id.to_string(),
            "{name}"
        );
        assert_eq!(metadata.kind, DocumentKind::Cda);
        assert_eq!(metadata.content_type, "application/xml");
        assert_eq!(metadata.size_bytes, bytes.len() as u64);
        assert_eq!(metadata.sha256, Sha256Digest::of(&bytes));
        assert_eq!(metadata.sha1, Sha1Digest::of(&bytes));
        // Every identifier of every recordTarget that has an OID root and an extension is
        // searchable, once; a valid PESEL comes first.
        let all: Vec<&PatientIdentifier> = std::iter::once(&metadata.patient)
            .chain(&metadata.other_patient_ids)
            .collect();
        for (index, id) in all.iter().enumerate() {
            assert!(!all[index + 1..].contains(id), "{name}: {id:?} twice");
        }
        for identifier in std::iter::once(&header.patient)
            .chain(&header.other_patients)
            .flat_map(|p| &p.identifiers)
        {
            if let Some(storable) = storable_identifier(&identifier.id) {
                assert!(all.contains(&&storable), "{name}: {storable:?} left out");
            }
        }
        if let Some(pesel) = header.patient.pesel() {
            assert_eq!(metadata.patient.root.as_str(), Pesel::OID, "{name}");
            assert_eq!(metadata.patient.extension, pesel.as_str(), "{name}");
        }
        if let Some(service_events) = &metadata.service_event_json {
            let parsed: Value = serde_json::from_str(service_events).unwrap();
            assert_eq!(
                parsed.as_array().unwrap().len(),
                header.service_events.len()
            );
        }
    }
}

#[test]
fn a_pik_referral_keeps_its_header() {
    let Some(files) = pik_samples() else { return };
    let file = files
        .iter()
        .find(|f| f.ends_with("2.16.840.1.113883.3.4424.13.10.1.10-1.xml"))
        .expect("the referral sample");
    let metadata = metadata_of(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(
        metadata.document_id.as_str(),
        "2.16.840.1.113883.3.4424.7.4.1^2345678"
    );
    assert_eq!(
        metadata.set_id.as_ref().map(DocumentId::as_str),
        Some("2.16.840.1.113883.3.4424.7.4.2^432231")
    );
    assert_eq!(metadata.version, Some(1));
    assert_eq!(metadata.type_code.as_deref(), Some("34140-4"));
    assert_eq!(
        metadata.type_system.as_deref(),
        Some("2.16.840.1.113883.6.1")
    );
    assert_eq!(metadata.class_code.as_deref(), Some("02.12"));
    assert_eq!(
        metadata.title.as_deref(),
        Some("Skierowanie do zakładu opiekuńczo-leczniczego")
    );
    // A date without a zone is read as that day in UTC.
    assert_eq!(
        metadata.effective_time,
        time::macros::datetime!(2013-04-12 0:00 UTC)
    );
    assert_eq!(metadata.confidentiality.as_deref(), Some("N"));
    assert_eq!(metadata.language.as_deref(), Some("pl-PL"));
    // The sample's PESEL fails its check digit: it still leads (what the document says the
    // PESEL is; stored with a warning), and the local identifier stays searchable.
    assert_eq!(metadata.patient.root.as_str(), Pesel::OID);
    assert_eq!(metadata.patient.extension, "62091599999");
    assert!(metadata.other_patient_ids.iter().any(|id| id.extension == "12345"));
    assert_eq!(super::warnings(&metadata).len(), 1);
    assert_eq!(
        metadata.patient_name.as_deref(),
        Some("Jan Franciszek Kowalski")
    );
    assert_eq!(
        metadata.patient_birth_date,
        Some(time::macros::date!(1962 - 09 - 15))
    );
    assert_eq!(metadata.author_name.as_deref(), Some("lek. Piotr Nowak"));
    assert_eq!(
        metadata.author_id.as_deref(),
        Some("2.16.840.1.113883.3.4424.1.6.2^7724513")
    );
    assert_eq!(metadata.organisation.as_deref(), Some("Poradnia POZ"));
}

#[test]
fn a_ccda_document_maps_gender_and_identifiers() {
    let metadata = metadata_of(&fixture_cda()).unwrap();
    assert_eq!(
        metadata.document_id.as_str(),
        "2.16.840.1.113883.19.5.99999.1^TT988"
    );
    assert_eq!(
        metadata.patient.root.as_str(),
        "2.16.840.1.113883.19.5.99999.2"
    );
    assert_eq!(metadata.patient.extension, "998991");
    // The id with a null flavour is not searchable and left out.
    assert_eq!(metadata.other_patient_ids.len(), 1);
    assert_eq!(metadata.other_patient_ids[0].extension, "111-00-2330");
    assert_eq!(metadata.patient_gender.as_deref(), Some("F"));
    assert_eq!(gender_code(&medgate_cda::Gender::Undifferentiated), "UN");
    assert_eq!(gender_code(&medgate_cda::Gender::Other("X".into())), "X");
}

#[test]
fn a_document_without_a_searchable_patient_is_refused() {
    let text = String::from_utf8(fixture_cda()).unwrap();
    let text = text
        .replace(
            r#"<id root="2.16.840.1.113883.19.5.99999.2" extension="998991"/>"#,
            r#"<id root="2.16.840.1.113883.19.5.99999.2"/>"#,
        )
        .replace(
            r#"<id root="2.16.840.1.113883.4.1" extension="111-00-2330"/>"#,
            "",
        );
    let error = metadata_of(text.as_bytes()).unwrap_err();
    assert_eq!(error.code(), "invalid_cda");
    assert!(
        error
            .to_string()
            .starts_with("recordTarget/patientRole has no <id>"),
        "{error}"
    );
}

#[test]
fn content_types_are_checked() {
    assert_eq!(cda_content_type(None).unwrap(), "application/xml");
    assert_eq!(
        cda_content_type(Some("Text/XML; charset=utf-8")).unwrap(),
        "text/xml"
    );
    let refused = cda_content_type(Some("application/pdf")).unwrap_err();
    assert_eq!(refused.code(), "unsupported_content_type");
    assert_eq!(refused.kind(), crate::ErrorKind::UnsupportedMediaType);
    assert_eq!(
        attachment_content_type(Some("application/pdf")).unwrap(),
        "application/pdf"
    );
    assert_eq!(
        attachment_content_type(Some("text/plain; charset=utf-8")).unwrap(),
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        attachment_content_type(Some("pdf")).unwrap_err().code(),
        "bad_content_type"
    );
    assert!(attachment_content_type(Some("")).is_err());
    assert_eq!(
        attachment_content_type(None).unwrap(),
        "application/octet-stream"
    );
}

#[test]
fn generated_attachment_ids_lie_under_the_repository() {
    let repository = Oid::parse("2.999.4.1").unwrap();
    let first = attachment_id(Some(&repository)).unwrap();
    let second = attachment_id(Some(&repository)).unwrap();
    assert_eq!(first.root(), "2.999.4.1.9");
    assert_eq!(first.extension().map(str::len), Some(32));
    assert_ne!(first, second);
    assert_eq!(attachment_id(None).unwrap_err().code(), "internal_error");
}

#[tokio::test]
async fn a_stored_document_is_content_metadata_and_an_audit_entry() {
    let fixture = Fixture::new().await;
    let bytes = fixture_cda();
    let stored = put_document(
        &fixture.repository,
        &fixture.actor,
        None,
        Bytes::from(bytes.clone()),
    )
    .await
    .unwrap();
    let key = &stored.metadata.content_key;
    assert_eq!(fixture.content.keys(), vec![key.clone()]);
    assert_eq!(fixture.repository.content.get(key).await.unwrap(), bytes);
    let audit = fixture.audit().await;
    let entry = audit.last().unwrap();
    assert_eq!(entry.action, "document.put");
    assert_eq!(entry.target, stored.metadata.document_id.as_str());
    assert_eq!(entry.patient.as_deref(), Some("998991"));
    assert_eq!(entry.actor, fixture.actor.name);
    assert!(entry
        .details
        .starts_with(&format!("cda {} bytes, sha256 ", bytes.len())));
}

#[tokio::test]
async fn content_that_cannot_be_written_stores_nothing() {
    let fixture = Fixture::new().await;
    fixture.content.fail_puts.store(true, Ordering::SeqCst);
    let error = put_document(
        &fixture.repository,
        &fixture.actor,
        None,
        Bytes::from(fixture_cda()),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "internal_error");
    // The cause stays out of the message (it is for the log).
    assert!(!error.to_string().contains("no space left"), "{error}");
    let id = DocumentId::parse("2.16.840.1.113883.19.5.99999.1^TT988").unwrap();
    let found = fixture
        .repository
        .metadata
        .get_document(&fixture.actor.tenant, &id)
        .await
        .unwrap();
    assert!(found.is_none(), "metadata without content");
    assert!(fixture
        .audit()
        .await
        .iter()
        .all(|e| e.action != "document.put"));
}

#[tokio::test]
async fn refused_metadata_takes_its_content_away_again() {
    let fixture = Fixture::new().await;
    let bytes = Bytes::from(fixture_cda());
    put_document(&fixture.repository, &fixture.actor, None, bytes.clone())
        .await
        .unwrap();
    let before = fixture.content.keys();
    let error = put_document(&fixture.repository, &fixture.actor, Some("text/xml"), bytes)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "document_exists");
    assert_eq!(error.kind(), crate::ErrorKind::Conflict);
    assert!(error
        .to_string()
        .contains("needs a new id with the same setId"));
    assert_eq!(
        fixture.content.keys(),
        before,
        "the duplicate's content stayed"
    );
}

#[tokio::test]
async fn a_full_account_refuses_and_keeps_no_content() {
    let fixture = Fixture::with_plan(100, 10).await;
    let error = put_document(
        &fixture.repository,
        &fixture.actor,
        None,
        Bytes::from(fixture_cda()),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (error.code(), error.kind()),
        ("quota_exceeded", crate::ErrorKind::QuotaExceeded)
    );
    assert!(fixture.content.keys().is_empty());
}

#[tokio::test]
async fn attachments_are_checked_in_order_and_get_an_id() {
    let fixture = Fixture::new().await;
    let upload = |patient: Option<&str>, title: Option<&str>| AttachmentUpload {
        patient: patient.map(str::to_owned),
        title: title.map(str::to_owned),
        ..AttachmentUpload::default()
    };
    let put = |upload: AttachmentUpload| {
        put_attachment(
            &fixture.repository,
            &fixture.actor,
            Some(&fixture.repository_id),
            upload,
            Bytes::from_static(b"%PDF-1.4"),
        )
    };
    let missing = put(upload(None, Some("Scan"))).await.unwrap_err();
    assert_eq!(missing.code(), "missing_parameter");
    let bad = put(upload(Some("44051401358"), None)).await.unwrap_err();
    assert_eq!(bad.code(), "bad_patient");
    let untitled = put(upload(Some("44051401359"), Some("  ")))
        .await
        .unwrap_err();
    assert!(untitled.to_string().contains("title=<text>"));
    let unknown_type = put(AttachmentUpload {
        type_code: Some("NOPE".into()),
        ..upload(Some("44051401359"), Some("Scan"))
    })
    .await
    .unwrap_err();
    assert_eq!(unknown_type.code(), "unknown_document_type");
    assert_eq!(unknown_type.kind(), crate::ErrorKind::Invalid);
    let stored = put(AttachmentUpload {
        content_type: Some("application/pdf".into()),
        ..upload(Some("44051401359"), Some(" Scan "))
    })
    .await
    .unwrap();
    let metadata = &stored.metadata;
    assert_eq!(metadata.kind, DocumentKind::Attachment);
    assert_eq!(metadata.title.as_deref(), Some("Scan"));
    assert_eq!(metadata.content_type, "application/pdf");
    assert_eq!(metadata.patient.root.as_str(), Pesel::OID);
    assert!(metadata.document_id.as_str().starts_with("2.999.4.1.9^"));
}

/// `bytes` staged as an API upload is, in a staging folder of its own.
async fn staged(bytes: &[u8]) -> (medgate_storage::StagingArea, StagedFile, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (area, _) = medgate_storage::StagingArea::open(dir.path().join("tmp"))
        .await
        .unwrap();
    let mut writer = area.create().await.unwrap();
    for chunk in bytes.chunks(1000) {
        writer.write(chunk).await.unwrap();
    }
    (area.clone(), writer.finish().await.unwrap(), dir)
}

fn staged_files(area: &medgate_storage::StagingArea) -> usize {
    std::fs::read_dir(area.dir()).unwrap().count()
}

#[tokio::test]
async fn a_staged_document_is_stored_like_one_in_memory() {
    let fixture = Fixture::new().await;
    let bytes = fixture_cda();
    let (area, file, _dir) = staged(&bytes).await;
    let stored = put_staged_document(&fixture.repository, &fixture.actor, None, file)
        .await
        .unwrap();
    let metadata = &stored.metadata;
    assert_eq!(metadata, &{
        let mut expected = metadata_of(&bytes).unwrap();
        expected.content_type = "application/xml".to_owned();
        expected.content_key = metadata.content_key.clone();
        expected
    });
    assert_eq!(
        fixture.repository.content.get(&metadata.content_key).await.unwrap(),
        bytes
    );
    assert_eq!(staged_files(&area), 0, "the staged file is gone");

    // Not a CDA document: nothing stored, the staged file gone all the same.
    let (area, file, _dir) = staged(b"<html/>").await;
    let refused = put_staged_document(&fixture.repository, &fixture.actor, None, file)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "invalid_cda");
    assert_eq!(staged_files(&area), 0);
    assert_eq!(fixture.content.keys().len(), 1);
}

#[tokio::test]
async fn a_staged_attachment_is_stored_with_its_staged_digests() {
    let fixture = Fixture::new().await;
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let (area, file, _dir) = staged(&bytes).await;
    let upload = AttachmentUpload {
        patient: Some("44051401359".into()),
        title: Some("Scan".into()),
        content_type: Some("image/png".into()),
        ..AttachmentUpload::default()
    };
    let stored = put_staged_attachment(
        &fixture.repository,
        &fixture.actor,
        Some(&fixture.repository_id),
        upload.clone(),
        file,
    )
    .await
    .unwrap();
    let metadata = &stored.metadata;
    assert_eq!(metadata.size_bytes, 50_000);
    assert_eq!(metadata.sha256, Sha256Digest::of(&bytes));
    assert_eq!(metadata.sha1, Sha1Digest::of(&bytes));
    assert_eq!(
        fixture.repository.content.get(&metadata.content_key).await.unwrap(),
        bytes
    );
    assert_eq!(staged_files(&area), 0);

    // Refused before the store (no title): nothing stored, nothing staged left.
    let (area, file, _dir) = staged(&bytes).await;
    let refused = put_staged_attachment(
        &fixture.repository,
        &fixture.actor,
        Some(&fixture.repository_id),
        AttachmentUpload {
            title: None,
            ..upload
        },
        file,
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), "missing_parameter");
    assert_eq!(staged_files(&area), 0);
    assert_eq!(fixture.content.keys().len(), 1);
}
