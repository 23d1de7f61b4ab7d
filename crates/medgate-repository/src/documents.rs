//! A stored document: found within the account, its bytes checked against the hash taken
//! at ingest before they are handed out, rendered as sanitised HTML, deleted for good. Each
//! read is audited with the patient.

use bytes::Bytes;
use medgate_storage::{DocumentId, DocumentKind, Sha256Digest, StoredDocument};

use crate::error::{Reason, RepositoryError};
use crate::national::{self, NationalSettings};
use crate::{Actor, Repository};

/// The actor's document `id`; not found alike whether it does not exist or belongs to
/// another account.
pub async fn find(
    repository: &Repository,
    actor: &Actor,
    id: &DocumentId,
) -> Result<StoredDocument, RepositoryError> {
    repository
        .metadata
        .get_document(&actor.tenant, id)
        .await
        .map_err(RepositoryError::storage("reading document metadata"))?
        .ok_or(RepositoryError::NotFound { what: "document" })
}

/// The stored bytes, refused if they no longer match the hash taken at ingest: a corrupted
/// medical document must not be handed out as if it were the original.
pub async fn checked_content(
    repository: &Repository,
    document: &StoredDocument,
) -> Result<Bytes, RepositoryError> {
    let metadata = &document.metadata;
    let bytes = repository
        .content
        .get(&metadata.content_key)
        .await
        .map_err(RepositoryError::storage("reading content"))?;
    if Sha256Digest::of(&bytes) != metadata.sha256 {
        tracing::error!(
            tenant = %document.tenant,
            document = %metadata.document_id,
            content_key = %metadata.content_key,
            "stored content does not match its SHA-256"
        );
        return Err(RepositoryError::ContentCorrupted {
            document: metadata.document_id.clone(),
        });
    }
    Ok(bytes)
}

/// The document and its checked bytes, audited as `document.read`.
pub async fn read(
    repository: &Repository,
    actor: &Actor,
    id: &DocumentId,
) -> Result<(StoredDocument, Bytes), RepositoryError> {
    let document = find(repository, actor, id).await?;
    let bytes = checked_content(repository, &document).await?;
    let metadata = &document.metadata;
    repository
        .audit(
            actor,
            "document.read",
            metadata.document_id.as_str(),
            Some(&metadata.patient.extension),
            String::new(),
        )
        .await?;
    Ok((document, bytes))
}

/// The document's metadata and whether a consent in force shares it now, audited as
/// `document.metadata`.
pub async fn metadata(
    repository: &Repository,
    actor: &Actor,
    id: &DocumentId,
) -> Result<(StoredDocument, bool), RepositoryError> {
    let document = find(repository, actor, id).await?;
    let shared = crate::consents::shared_now(repository, &actor.tenant, &[&document]).await?;
    repository
        .audit(
            actor,
            "document.metadata",
            document.metadata.document_id.as_str(),
            Some(&document.metadata.patient.extension),
            String::new(),
        )
        .await?;
    let consent = shared.contains(&document.metadata.document_id);
    Ok((document, consent))
}

/// A CDA document's sanitised HTML view (shown under `medgate_cda::CONTENT_SECURITY_POLICY`),
/// audited as `document.render`; an attachment is refused.
pub async fn render(
    repository: &Repository,
    actor: &Actor,
    id: &DocumentId,
) -> Result<String, RepositoryError> {
    let document = find(repository, actor, id).await?;
    if document.metadata.kind != DocumentKind::Cda {
        return Err(RepositoryError::invalid(
            Reason::NotCda,
            "id",
            "This document is an attachment, not a CDA document; download it with GET /api/v1/documents/{id}.",
        ));
    }
    let bytes = checked_content(repository, &document).await?;
    let html = render_html(bytes).await?;
    repository
        .audit(
            actor,
            "document.render",
            document.metadata.document_id.as_str(),
            Some(&document.metadata.patient.extension),
            String::new(),
        )
        .await?;
    Ok(html)
}

/// The sanitised HTML of a CDA document's checked bytes, rendered on the blocking pool.
pub async fn render_html(bytes: Bytes) -> Result<String, RepositoryError> {
    tokio::task::spawn_blocking(move || medgate_cda::render_html(&bytes))
        .await
        .map_err(|e| RepositoryError::internal("rendering", e))?
        .map_err(|e| RepositoryError::internal("rendering a stored document", e))
}

/// Deletes the actor's document for good: its national registry entry first when it is
/// indexed (if that cannot be withdrawn, nothing is deleted), then the metadata, then the
/// content — the reverse of the ingest order, so a crash in between leaves only an orphan for
/// the sweep. Audited with the patient; not found when the account has no such document.
pub async fn delete(
    repository: &Repository,
    national: &NationalSettings,
    actor: &Actor,
    id: &DocumentId,
) -> Result<(), RepositoryError> {
    // The patient, for the audit entry (the patient's access log shows the deletion).
    let patient = repository
        .metadata
        .get_document(&actor.tenant, id)
        .await
        .map_err(RepositoryError::storage("reading document metadata"))?
        .map(|document| document.metadata.patient.extension);
    national::withdraw_before_delete(repository, national, actor, id).await?;
    let key = repository
        .metadata
        .delete_document(&actor.tenant, id)
        .await
        .map_err(RepositoryError::storage("deleting a document"))?
        .ok_or(RepositoryError::NotFound { what: "document" })?;
    if let Err(error) = repository.content.delete(&key).await {
        // The metadata is gone, so the repository no longer shows the document; the orphan
        // sweep removes the bytes.
        tracing::warn!(%error, content_key = %key, "content of a deleted document not removed");
    }
    repository
        .audit(
            actor,
            "document.delete",
            id.as_str(),
            patient.as_deref(),
            String::new(),
        )
        .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;
    use crate::testing::{fixture_cda, Fixture};

    async fn stored(fixture: &Fixture) -> StoredDocument {
        crate::ingest::put_document(
            &fixture.repository,
            &fixture.actor,
            None,
            Bytes::from(fixture_cda()),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn reads_are_checked_and_audited() {
        let fixture = Fixture::new().await;
        let document = stored(&fixture).await;
        let id = &document.metadata.document_id;
        let (_, bytes) = read(&fixture.repository, &fixture.actor, id).await.unwrap();
        assert_eq!(bytes, fixture_cda());
        let html = render(&fixture.repository, &fixture.actor, id)
            .await
            .unwrap();
        assert!(html.contains("<html"), "{html}");
        let (_, shared) = metadata(&fixture.repository, &fixture.actor, id)
            .await
            .unwrap();
        assert!(!shared);
        let actions: Vec<String> = fixture
            .audit()
            .await
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            [
                "document.put",
                "document.read",
                "document.render",
                "document.metadata"
            ]
        );

        fixture
            .content
            .overwrite(&document.metadata.content_key, b"<altered/>");
        let error = read(&fixture.repository, &fixture.actor, id)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "content_corrupted");
        assert!(error.is_internal());
    }

    #[tokio::test]
    async fn another_accounts_document_is_not_found() {
        let fixture = Fixture::new().await;
        let document = stored(&fixture).await;
        let stranger = Actor {
            tenant: medgate_ids::TenantId::parse("0000000000005028").unwrap(),
            ..fixture.actor.clone()
        };
        let id = &document.metadata.document_id;
        let error = read(&fixture.repository, &stranger, id).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "No document with that identifier exists in this account."
        );
        let settings = NationalSettings::default();
        let error = delete(&fixture.repository, &settings, &stranger, id)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "not_found");
        assert!(fixture
            .repository
            .metadata
            .get_document(&fixture.actor.tenant, id)
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn a_deleted_document_loses_metadata_and_content() {
        let fixture = Fixture::new().await;
        let document = stored(&fixture).await;
        let id = &document.metadata.document_id;
        delete(
            &fixture.repository,
            &NationalSettings::default(),
            &fixture.actor,
            id,
        )
        .await
        .unwrap();
        assert!(fixture.content.keys().is_empty());
        assert_eq!(
            find(&fixture.repository, &fixture.actor, id)
                .await
                .unwrap_err()
                .code(),
            "not_found"
        );
        let last = fixture.audit().await.pop().unwrap();
        assert_eq!(
            (last.action.as_str(), last.patient.as_deref()),
            ("document.delete", Some("998991"))
        );
    }

    #[tokio::test]
    async fn attachments_are_not_rendered() {
        let fixture = Fixture::new().await;
        let stored = crate::ingest::put_attachment(
            &fixture.repository,
            &fixture.actor,
            Some(&fixture.repository_id),
            crate::ingest::AttachmentUpload {
                patient: Some("44051401359".into()),
                title: Some("Scan".into()),
                ..Default::default()
            },
            Bytes::from_static(b"bytes"),
        )
        .await
        .unwrap();
        let error = render(
            &fixture.repository,
            &fixture.actor,
            &stored.metadata.document_id,
        )
        .await
        .unwrap_err();
        assert_eq!(error.code(), "not_cda");
    }
}
