//! The IHE XDS DocumentEntry a repository sends for a stored document ([`entry_of`]); the
//! type is the registry wire's (`medgate_client::registry::wire`), the one shape both sides
//! speak.

use medgate_ids::Oid;
use medgate_storage::StoredDocument;

use crate::rfc3339;

pub use medgate_client::registry::wire::{Coded, DocumentEntry, PatientId};

/// The entry of a stored document of a repository whose national id is `repository`.
/// The patientId is the national identifier (PESEL root) when the document carries one,
/// even one whose check digit fails (test documents do), else the main identifier.
pub fn entry_of(document: &StoredDocument, repository: &Oid) -> DocumentEntry {
    let metadata = &document.metadata;
    let patient = std::iter::once(&metadata.patient)
        .chain(&metadata.other_patient_ids)
        .find(|id| id.root.as_str() == medgate_ids::Pesel::OID)
        .unwrap_or(&metadata.patient);
    DocumentEntry {
        unique_id: metadata.document_id.as_str().to_owned(),
        patient_id: PatientId {
            root: patient.root.as_str().to_owned(),
            extension: patient.extension.clone(),
        },
        class_code: metadata.class_code.clone(),
        type_code: metadata.type_code.as_ref().map(|code| Coded {
            code: code.clone(),
            system: metadata.type_system.clone(),
            display: metadata.type_display.clone(),
        }),
        creation_time: rfc3339(metadata.effective_time),
        hash: metadata.sha1.to_hex(),
        sha256: metadata.sha256.to_hex(),
        size: metadata.size_bytes,
        repository_unique_id: repository.as_str().to_owned(),
        author: metadata.author_name.clone(),
        title: metadata.title.clone(),
        confidentiality: metadata.confidentiality.clone(),
        mime_type: metadata.content_type.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::testing::{pik_samples, Fixture};

    #[tokio::test]
    async fn an_entry_names_the_pesel_even_with_a_wrong_check_digit() {
        let Some(files) = pik_samples() else { return };
        let file = files
            .iter()
            .find(|f| f.ends_with("2.16.840.1.113883.3.4424.13.10.1.10-1.xml"))
            .unwrap();
        let fixture = Fixture::new().await;
        let bytes = std::fs::read(file).unwrap();
        let stored = crate::ingest::put_document(
            &fixture.repository,
            &fixture.actor,
            None,
            Bytes::from(bytes.clone()),
        )
        .await
        .unwrap();
        let repository = Oid::parse("2.999.5.1").unwrap();
        let entry = entry_of(&stored, &repository);
        // The number under the PESEL root is the main identifier even with a wrong check
        // digit (stored with a warning); the local "12345" stays searchable.
        assert_eq!(stored.metadata.patient.extension, "62091599999");
        assert!(stored.metadata.other_patient_ids.iter().any(|id| id.extension == "12345"));
        assert_eq!(entry.patient_id.root, medgate_ids::Pesel::OID);
        assert_eq!(entry.patient_id.extension, "62091599999");
        assert_eq!(entry.unique_id, "2.16.840.1.113883.3.4424.7.4.1^2345678");
        assert_eq!(entry.creation_time, "2013-04-12T00:00:00Z");
        assert_eq!(entry.size, bytes.len() as u64);
        assert_eq!(entry.repository_unique_id, "2.999.5.1");
        assert_eq!(
            entry.type_code.as_ref().map(|c| c.code.as_str()),
            Some("34140-4")
        );
        let text = serde_json::to_string(&entry).unwrap();
        assert!(
            text.contains("\"uniqueId\"") && text.contains("\"repositoryUniqueId\""),
            "{text}"
        );
        let back: DocumentEntry = serde_json::from_str(&text).unwrap();
        assert_eq!(back, entry);
    }
}
