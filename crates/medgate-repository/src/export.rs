//! The export of a document — a ZIP that opens rendered in a browser (the CDA with a
//! stylesheet instruction, and the stylesheet), or for an attachment the file itself — and
//! the names stored files leave the node under: `[A-Za-z0-9._-]` only, so they are safe in a
//! header, a ZIP and on any file system.

use std::io::Write;

use bytes::Bytes;
use medgate_storage::{DocumentId, DocumentKind, DocumentMetadata, StoredDocument};
use time::OffsetDateTime;

use crate::error::RepositoryError;
use crate::{Actor, Repository};

/// A document's export.
pub struct Export {
    /// `<safe document id>.zip`.
    pub file_name: String,
    pub archive: Vec<u8>,
}

/// The actor's document as its export ZIP, audited as `document.export`.
pub async fn export(
    repository: &Repository,
    actor: &Actor,
    id: &DocumentId,
) -> Result<Export, RepositoryError> {
    let document = crate::documents::find(repository, actor, id).await?;
    let bytes = crate::documents::checked_content(repository, &document).await?;
    let export = export_zip(&document, bytes).await?;
    let metadata = &document.metadata;
    repository
        .audit(
            actor,
            "document.export",
            metadata.document_id.as_str(),
            Some(&metadata.patient.extension),
            String::new(),
        )
        .await?;
    Ok(export)
}

/// The export ZIP of a document and its checked bytes.
pub async fn export_zip(
    document: &StoredDocument,
    bytes: Bytes,
) -> Result<Export, RepositoryError> {
    let metadata = &document.metadata;
    let base_name = safe_file_name(metadata.document_id.as_str());
    let entries: Vec<(String, Vec<u8>)> = match metadata.kind {
        DocumentKind::Cda => vec![
            (
                format!("{base_name}.xml"),
                medgate_cda::with_stylesheet_pi(&bytes, medgate_cda::STYLESHEET_FILE_NAME),
            ),
            (
                medgate_cda::STYLESHEET_FILE_NAME.to_owned(),
                medgate_cda::STYLESHEET_XSL.as_bytes().to_vec(),
            ),
        ],
        DocumentKind::Attachment => vec![(
            format!("{base_name}.{}", extension_for(&metadata.content_type)),
            bytes.to_vec(),
        )],
    };
    let modified = zip_time(metadata.effective_time);
    let archive = tokio::task::spawn_blocking(move || zip_entries(&entries, modified))
        .await
        .map_err(|e| RepositoryError::internal("export", e))?
        .map_err(|e| RepositoryError::internal("building the ZIP export", e))?;
    Ok(Export {
        file_name: format!("{base_name}.zip"),
        archive,
    })
}

/// A file name made of `[A-Za-z0-9._-]` only, so it is safe in a header, a ZIP and on any
/// file system.
pub fn safe_file_name(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    let name = name.trim_start_matches('.');
    if name.is_empty() {
        "document".to_owned()
    } else {
        name.to_owned()
    }
}

/// The usual file extension of a media type.
pub fn extension_for(content_type: &str) -> &'static str {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/tiff" => "tif",
        "text/plain" => "txt",
        "application/xml" | "text/xml" | "application/hl7-v3+xml" => "xml",
        _ => "bin",
    }
}

/// The name a stored document's bytes are downloaded under: its safe id and the extension
/// of its media type.
pub fn download_name(metadata: &DocumentMetadata) -> String {
    format!(
        "{}.{}",
        safe_file_name(metadata.document_id.as_str()),
        extension_for(&metadata.content_type)
    )
}

/// A ZIP entry time (UTC; the DOS epoch when the time does not fit).
pub fn zip_time(time: OffsetDateTime) -> zip::DateTime {
    let time = time.to_offset(time::UtcOffset::UTC);
    u16::try_from(time.year())
        .ok()
        .and_then(|year| {
            zip::DateTime::from_date_and_time(
                year,
                u8::from(time.month()),
                time.day(),
                time.hour(),
                time.minute(),
                time.second(),
            )
            .ok()
        })
        .unwrap_or_default()
}

/// A ZIP of `entries` (name, bytes), deflated, each modified at `modified`.
pub fn zip_entries(
    entries: &[(String, Vec<u8>)],
    modified: zip::DateTime,
) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(modified)
        .unix_permissions(0o644);
    for (name, bytes) in entries {
        writer.start_file(name.as_str(), options)?;
        writer.write_all(bytes)?;
    }
    Ok(writer.finish()?.into_inner())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;
    use crate::testing::{fixture_cda, Fixture};

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(safe_file_name("2.16.840.1^0001"), "2.16.840.1_0001");
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name("..."), "document");
        assert_eq!(safe_file_name("a\"b\r\nc"), "a_b__c");
    }

    #[test]
    fn extensions_follow_the_media_type() {
        assert_eq!(extension_for("Application/PDF"), "pdf");
        assert_eq!(extension_for("text/xml; charset=utf-8"), "xml");
        assert_eq!(extension_for("text/html"), "bin");
    }

    #[tokio::test]
    async fn a_download_is_named_by_its_safe_id_and_media_type() {
        let fixture = Fixture::new().await;
        let stored = crate::ingest::put_attachment(
            &fixture.repository,
            &fixture.actor,
            Some(&fixture.repository_id),
            crate::ingest::AttachmentUpload {
                patient: Some("44051401359".into()),
                title: Some("Page".into()),
                id: Some("1.2.3^x".into()),
                content_type: Some("text/html".into()),
                ..Default::default()
            },
            Bytes::from_static(b"<script>x()</script>"),
        )
        .await
        .unwrap();
        assert_eq!(download_name(&stored.metadata), "1.2.3_x.bin");
        let export = export_zip(&stored, Bytes::from_static(b"<script>x()</script>"))
            .await
            .unwrap();
        let archive = zip::ZipArchive::new(std::io::Cursor::new(export.archive)).unwrap();
        assert_eq!(archive.file_names().collect::<Vec<_>>(), ["1.2.3_x.bin"]);
    }

    #[tokio::test]
    async fn a_cda_export_holds_the_document_and_its_stylesheet() {
        let fixture = Fixture::new().await;
        let stored = crate::ingest::put_document(
            &fixture.repository,
            &fixture.actor,
            None,
            Bytes::from(fixture_cda()),
        )
        .await
        .unwrap();
        let export = export(
            &fixture.repository,
            &fixture.actor,
            &stored.metadata.document_id,
        )
        .await
        .unwrap();
        assert_eq!(export.file_name, "2.16.840.1.113883.19.5.99999.1_TT988.zip");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(export.archive)).unwrap();
        let mut names: Vec<String> = archive.file_names().map(str::to_owned).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "2.16.840.1.113883.19.5.99999.1_TT988.xml".to_owned(),
                medgate_cda::STYLESHEET_FILE_NAME.to_owned()
            ]
        );
        let mut xml = String::new();
        std::io::Read::read_to_string(
            &mut archive
                .by_name("2.16.840.1.113883.19.5.99999.1_TT988.xml")
                .unwrap(),
            &mut xml,
        )
        .unwrap();
        assert!(
            xml.contains(medgate_cda::STYLESHEET_FILE_NAME),
            "no stylesheet instruction"
        );
        let entry = fixture.audit().await.pop().unwrap();
        assert_eq!(entry.action, "document.export");
    }
}
