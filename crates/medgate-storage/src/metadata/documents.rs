//! Document metadata: insert with the quota check in one transaction, get, search, delete and
//! usage. Every query carries the tenant id, so tenants never see each other's documents.

use medgate_ids::{Oid, TenantId};
use sqlx::any::AnyRow;
use time::format_description::well_known::Iso8601;
use time::{Date, OffsetDateTime};

use super::audit::{append_audit_on, AuditEntry, NewAuditEntry};
use super::document_search::search_statements;
use super::sql::Sql;
use super::{
    column, from_unix, optional_parsed_column, parsed_column, to_i64, to_u64, to_unix,
    DatabaseBackend, Metadata,
};
use crate::error::MetadataError;
use crate::values::{ContentKey, DocumentId, Sha1Digest, Sha256Digest};

/// What was stored: a CDA document or an attachment (scan, photo, PDF…).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    Cda,
    Attachment,
}

impl DocumentKind {
    fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Cda => "cda",
            DocumentKind::Attachment => "attachment",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "cda" => Ok(DocumentKind::Cda),
            "attachment" => Ok(DocumentKind::Attachment),
            other => Err(format!("unknown document kind '{other}'")),
        }
    }
}

/// A patient identifier: the assigning authority's OID and the identifier under it (for a
/// PESEL, root `2.16.840.1.113883.3.4424.1.1.616`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PatientIdentifier {
    pub root: Oid,
    pub extension: String,
}

/// Everything the server extracted from a document and its content, ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentMetadata {
    pub document_id: DocumentId,
    pub set_id: Option<DocumentId>,
    pub version: Option<u32>,
    pub kind: DocumentKind,
    /// Document type (LOINC code for CDA) with its code system and display name.
    pub type_code: Option<String>,
    pub type_system: Option<String>,
    pub type_display: Option<String>,
    /// PIK P1 class (`KLAS_DOK_P1`), when the document has one.
    pub class_code: Option<String>,
    pub title: Option<String>,
    /// The CDA effective time; for an attachment, the time it describes or its upload time.
    /// Search ranges and the newest-first order use it.
    pub effective_time: OffsetDateTime,
    /// The effective time as the document wrote it: the HL7 `TS` text, e.g.
    /// `201409171904-0500` (local date and time, precision by its length, the offset when
    /// one is given) or `20140917` (a day). Stored verbatim in `effective_time_text`; the
    /// instant above is derived from it (a value without an offset taken as UTC, only to
    /// place it in the order: it is shown without one). `None` for attachments and for rows
    /// stored before it was kept, which show the instant in UTC.
    pub effective_time_as_written: Option<String>,
    pub confidentiality: Option<String>,
    pub language: Option<String>,
    /// The main patient identifier (for PIK: the PESEL).
    pub patient: PatientIdentifier,
    /// Any further identifiers of the same patient; searchable like the main one.
    pub other_patient_ids: Vec<PatientIdentifier>,
    pub patient_name: Option<String>,
    pub patient_birth_date: Option<Date>,
    /// Administrative gender code as in the document (`M`, `F`, `UN`…).
    pub patient_gender: Option<String>,
    pub author_name: Option<String>,
    pub author_id: Option<String>,
    pub organisation: Option<String>,
    pub custodian: Option<String>,
    pub legal_authenticator: Option<String>,
    /// The service event(s) as a JSON text that the server writes and reads.
    pub service_event_json: Option<String>,
    pub content_type: String,
    pub size_bytes: u64,
    pub sha256: Sha256Digest,
    pub sha1: Sha1Digest,
    pub content_key: ContentKey,
}

/// A stored document's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDocument {
    pub tenant: TenantId,
    pub metadata: DocumentMetadata,
    pub created_at: OffsetDateTime,
    /// When the document was indexed in the national registry, if it was.
    pub indexed_at: Option<OffsetDateTime>,
}

/// Which patient to search for: by identifier value, optionally only under one root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientQuery {
    pub extension: String,
    pub root: Option<Oid>,
}

/// A document search within one tenant. Empty fields do not filter. Results are newest first
/// (effective time, then creation time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    pub patient: Option<PatientQuery>,
    /// Effective time at or after this instant.
    pub effective_from: Option<OffsetDateTime>,
    /// Effective time at or before this instant.
    pub effective_to: Option<OffsetDateTime>,
    pub type_code: Option<String>,
    /// Case-insensitive substring of the author's name or id.
    pub author: Option<String>,
    /// Case-insensitive substring of the title.
    pub title: Option<String>,
    pub limit: u32,
    pub offset: u64,
}

impl SearchQuery {
    /// The page size when none is chosen.
    pub const DEFAULT_LIMIT: u32 = 50;
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            patient: None,
            effective_from: None,
            effective_to: None,
            type_code: None,
            author: None,
            title: None,
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// One page of search results with the number of all matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentPage {
    pub total: u64,
    pub documents: Vec<StoredDocument>,
}

pub(crate) const DOCUMENT_COLUMNS: &str = "d.id, d.tenant_id, d.document_id, d.set_id, d.version, d.kind, \
     d.type_code, d.type_system, d.type_display, d.class_code, d.title, d.effective_time, \
     d.effective_time_text, d.confidentiality, d.language, d.patient_id_root, d.patient_id_extension, d.patient_name, \
     d.patient_birth_date, d.patient_gender, d.author_name, d.author_id, d.organisation, \
     d.custodian, d.legal_authenticator, d.service_event_json, d.content_type, d.size_bytes, \
     d.sha256, d.sha1, d.content_key, d.created_at, d.indexed_at";

/// The text searched for authors: name and id, lower-cased, separated so that a search
/// cannot match across the two.
fn author_search_text(metadata: &DocumentMetadata) -> String {
    let name = metadata.author_name.as_deref().unwrap_or_default();
    let id = metadata.author_id.as_deref().unwrap_or_default();
    format!("{}\u{1f}{}", name.to_lowercase(), id.to_lowercase())
}

fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn parse_date(text: &str) -> Result<Date, time::error::Parse> {
    Date::parse(text, &Iso8601::DATE)
}

/// A row and the primary key it was read with (for loading its patient identifiers).
struct DocumentRow {
    primary_key: i64,
    document: StoredDocument,
}

fn document_from_row(row: &AnyRow) -> Result<DocumentRow, MetadataError> {
    let version: Option<i64> = column(row, "version")?;
    let indexed_at: Option<i64> = column(row, "indexed_at")?;
    let metadata = DocumentMetadata {
        document_id: parsed_column(row, "document_id", DocumentId::parse)?,
        set_id: optional_parsed_column(row, "set_id", DocumentId::parse)?,
        version: version
            .map(|version| {
                u32::try_from(version).map_err(|_| {
                    MetadataError::corrupt("version", format!("{version} out of range"))
                })
            })
            .transpose()?,
        kind: parsed_column(row, "kind", DocumentKind::parse)?,
        type_code: column(row, "type_code")?,
        type_system: column(row, "type_system")?,
        type_display: column(row, "type_display")?,
        class_code: column(row, "class_code")?,
        title: column(row, "title")?,
        effective_time: from_unix("effective_time", column(row, "effective_time")?)?,
        effective_time_as_written: column(row, "effective_time_text")?,
        confidentiality: column(row, "confidentiality")?,
        language: column(row, "language")?,
        patient: PatientIdentifier {
            root: parsed_column(row, "patient_id_root", Oid::parse)?,
            extension: column(row, "patient_id_extension")?,
        },
        other_patient_ids: Vec::new(),
        patient_name: column(row, "patient_name")?,
        patient_birth_date: optional_parsed_column(row, "patient_birth_date", parse_date)?,
        patient_gender: column(row, "patient_gender")?,
        author_name: column(row, "author_name")?,
        author_id: column(row, "author_id")?,
        organisation: column(row, "organisation")?,
        custodian: column(row, "custodian")?,
        legal_authenticator: column(row, "legal_authenticator")?,
        service_event_json: column(row, "service_event_json")?,
        content_type: column(row, "content_type")?,
        size_bytes: to_u64("size_bytes", column(row, "size_bytes")?)?,
        sha256: parsed_column(row, "sha256", Sha256Digest::parse_hex)?,
        sha1: parsed_column(row, "sha1", Sha1Digest::parse_hex)?,
        content_key: parsed_column(row, "content_key", ContentKey::parse)?,
    };
    Ok(DocumentRow {
        primary_key: column(row, "id")?,
        document: StoredDocument {
            tenant: parsed_column(row, "tenant_id", TenantId::parse)?,
            metadata,
            created_at: from_unix("created_at", column(row, "created_at")?)?,
            indexed_at: indexed_at
                .map(|seconds| from_unix("indexed_at", seconds))
                .transpose()?,
        },
    })
}

impl Metadata {
    /// Stores a document's metadata in one transaction that also checks and updates the
    /// tenant's usage, so two concurrent inserts cannot both pass a quota that only one of
    /// them fits in. Refusals leave nothing stored: [`MetadataError::DocumentExists`],
    /// [`MetadataError::DocumentVersionExists`], [`MetadataError::QuotaExceeded`],
    /// [`MetadataError::FileLimitReached`], [`MetadataError::TenantNotFound`].
    ///
    /// The content must already be in the content store (see the crate docs for the order).
    pub async fn insert_document(
        &self,
        tenant: &TenantId,
        metadata: &DocumentMetadata,
    ) -> Result<StoredDocument, MetadataError> {
        let backend = self.backend;
        let (tenant, metadata) = (tenant.clone(), metadata.clone());
        self.writer
            .write_sql("store a document", move |mut sql| {
                Box::pin(
                    async move { insert_document_on(&mut sql, backend, &tenant, &metadata).await },
                )
            })
            .await
    }

    /// [`Metadata::insert_document`] and the audit entry that records it, in one
    /// transaction: both are stored or neither.
    pub async fn insert_document_audited(
        &self,
        tenant: &TenantId,
        metadata: &DocumentMetadata,
        audit: &NewAuditEntry,
    ) -> Result<(StoredDocument, AuditEntry), MetadataError> {
        let backend = self.backend;
        let (tenant, metadata, audit) = (tenant.clone(), metadata.clone(), audit.clone());
        self.writer
            .write_sql("store a document", move |mut sql| {
                Box::pin(async move {
                    let stored = insert_document_on(&mut sql, backend, &tenant, &metadata).await?;
                    let entry = append_audit_on(&mut sql, backend, &audit).await?;
                    Ok((stored, entry))
                })
            })
            .await
    }

    /// The tenant's document with this id; `None` if this tenant has none (whether or not
    /// another tenant has one with the same id).
    pub async fn get_document(
        &self,
        tenant: &TenantId,
        document_id: &DocumentId,
    ) -> Result<Option<StoredDocument>, MetadataError> {
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.tenant_id = $1 AND d.document_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(document_id.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a document"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut documents = self
            .with_patient_ids(tenant, vec![document_from_row(&row)?])
            .await?;
        Ok(documents.pop())
    }

    /// Searches the tenant's documents; newest first, paged, with the total number of
    /// matches.
    pub async fn search_documents(
        &self,
        tenant: &TenantId,
        query: &SearchQuery,
    ) -> Result<DocumentPage, MetadataError> {
        let total = self.count_documents(tenant, query).await?;
        self.documents_page(tenant, query, total).await
    }

    /// The number of the tenant's documents a search matches (its page aside).
    pub async fn count_documents(
        &self,
        tenant: &TenantId,
        query: &SearchQuery,
    ) -> Result<u64, MetadataError> {
        let statements = search_statements(self.backend, tenant, query)?;
        let count_row = statements
            .filter
            .apply_without_page(sqlx::query(&statements.count_sql))
            .fetch_one(self.pool())
            .await
            .map_err(MetadataError::database("count the documents found"))?;
        to_u64("total", column(&count_row, "total")?)
    }

    /// One page of a search, newest first, returned with `total` (from
    /// [`Metadata::count_documents`]) as the number of matches.
    pub async fn documents_page(
        &self,
        tenant: &TenantId,
        query: &SearchQuery,
        total: u64,
    ) -> Result<DocumentPage, MetadataError> {
        let statements = search_statements(self.backend, tenant, query)?;
        let rows = statements
            .filter
            .apply(sqlx::query(&statements.page_sql))
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("search documents"))?;
        let documents = rows
            .iter()
            .map(document_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let documents = self.with_patient_ids(tenant, documents).await?;
        Ok(DocumentPage { total, documents })
    }

    /// Fills in the other patient identifiers of documents read from the main table.
    async fn with_patient_ids(
        &self,
        tenant: &TenantId,
        mut rows: Vec<DocumentRow>,
    ) -> Result<Vec<StoredDocument>, MetadataError> {
        if !rows.is_empty() {
            let placeholders = (0..rows.len())
                .map(|index| format!("${}", index + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT document_pk, root, extension FROM document_patient_ids \
                 WHERE tenant_id = $1 AND document_pk IN ({placeholders}) \
                 ORDER BY document_pk, root, extension"
            );
            let mut query = sqlx::query(&sql).bind(tenant.as_str());
            for row in &rows {
                query = query.bind(row.primary_key);
            }
            let identifier_rows = query
                .fetch_all(self.pool())
                .await
                .map_err(MetadataError::database("read patient identifiers"))?;
            for identifier_row in &identifier_rows {
                let primary_key: i64 = column(identifier_row, "document_pk")?;
                let identifier = PatientIdentifier {
                    root: parsed_column(identifier_row, "root", Oid::parse)?,
                    extension: column(identifier_row, "extension")?,
                };
                if let Some(row) = rows.iter_mut().find(|row| row.primary_key == primary_key) {
                    if identifier != row.document.metadata.patient {
                        row.document.metadata.other_patient_ids.push(identifier);
                    }
                }
            }
        }
        Ok(rows.into_iter().map(|row| row.document).collect())
    }

    /// Deletes the tenant's document and gives back its content key, so the caller can
    /// delete the content next; `None` if the tenant has no such document.
    pub async fn delete_document(
        &self,
        tenant: &TenantId,
        document_id: &DocumentId,
    ) -> Result<Option<ContentKey>, MetadataError> {
        const OPERATION: &str = "delete a document";
        let (tenant_owned, document_id_owned) = (tenant.clone(), document_id.clone());
        let deleted = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (tenant, document_id) = (&tenant_owned, &document_id_owned);
                    let deleted = delete_in(&mut *connection, tenant, document_id).await?;
                    Ok::<_, MetadataError>(deleted)
                })
            })
            .await?;
        Ok(deleted)
    }

    /// Records when the document was indexed in the national registry. False if the tenant
    /// has no such document.
    pub async fn mark_document_indexed(
        &self,
        tenant: &TenantId,
        document_id: &DocumentId,
        indexed_at: OffsetDateTime,
    ) -> Result<bool, MetadataError> {
        let (tenant, document_id) = (tenant.as_str().to_owned(), document_id.as_str().to_owned());
        let result = self
            .writer
            .write("mark a document indexed", move |connection| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE documents SET indexed_at = $3 WHERE tenant_id = $1 AND document_id = $2",
                    )
                    .bind(tenant)
                    .bind(document_id)
                    .bind(to_unix(indexed_at))
                    .execute(connection)
                    .await
                    .map_err(MetadataError::database("mark a document indexed"))
                })
            })
            .await?;
        Ok(result.rows_affected() > 0)
    }

    /// True if any document (of any tenant) refers to this content key; the orphan sweep asks.
    pub async fn content_key_in_use(&self, key: &ContentKey) -> Result<bool, MetadataError> {
        let row = sqlx::query("SELECT 1 FROM documents WHERE content_key = $1")
            .bind(key.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("look up a content key"))?;
        Ok(row.is_some())
    }
}

async fn delete_in(
    connection: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    document_id: &DocumentId,
) -> Result<Option<ContentKey>, MetadataError> {
    const OPERATION: &str = "delete a document";
    let row = sqlx::query(
        "DELETE FROM documents WHERE tenant_id = $1 AND document_id = $2 \
         RETURNING id, size_bytes, content_key",
    )
    .bind(tenant.as_str())
    .bind(document_id.as_str())
    .fetch_optional(&mut *connection)
    .await
    .map_err(MetadataError::database(OPERATION))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let primary_key: i64 = column(&row, "id")?;
    let size: i64 = column(&row, "size_bytes")?;
    // The foreign key cascades too; deleting explicitly keeps it independent of the pragma.
    sqlx::query("DELETE FROM document_patient_ids WHERE document_pk = $1")
        .bind(primary_key)
        .execute(&mut *connection)
        .await
        .map_err(MetadataError::database(OPERATION))?;
    sqlx::query(
        "UPDATE tenants SET used_bytes = used_bytes - $2, file_count = file_count - 1 \
         WHERE id = $1",
    )
    .bind(tenant.as_str())
    .bind(size)
    .execute(&mut *connection)
    .await
    .map_err(MetadataError::database(OPERATION))?;
    Ok(Some(parsed_column(&row, "content_key", ContentKey::parse)?))
}

/// [`Metadata::insert_document`] on the writer's connection, inside its batch.
async fn insert_document_on(
    sql: &mut Sql<'_>,
    backend: DatabaseBackend,
    tenant: &TenantId,
    metadata: &DocumentMetadata,
) -> Result<StoredDocument, MetadataError> {
    const OPERATION: &str = "store a document";
    let size = to_i64("size_bytes", metadata.size_bytes)?;
    let created_at = super::now();

    // Lock the tenant row: concurrent inserts for the same tenant wait here.
    let lock = format!(
        "SELECT quota_bytes, max_files, used_bytes, file_count FROM tenants WHERE id = $1{}",
        backend.row_lock()
    );
    let tenant_row = sql
        .fetch_optional(OPERATION, &lock, vec![tenant.as_str().into()])
        .await?
        .ok_or_else(|| MetadataError::TenantNotFound(tenant.clone()))?;

    let existing = sql
        .fetch_optional(
            OPERATION,
            "SELECT 1 FROM documents WHERE tenant_id = $1 AND document_id = $2",
            vec![tenant.as_str().into(), metadata.document_id.as_str().into()],
        )
        .await?;
    if existing.is_some() {
        return Err(MetadataError::DocumentExists(metadata.document_id.clone()));
    }
    if let (Some(set_id), Some(version)) = (&metadata.set_id, metadata.version) {
        let existing = sql
            .fetch_optional(
                OPERATION,
                "SELECT 1 FROM documents WHERE tenant_id = $1 AND set_id = $2 AND version = $3",
                vec![
                    tenant.as_str().into(),
                    set_id.as_str().into(),
                    i64::from(version).into(),
                ],
            )
            .await?;
        if existing.is_some() {
            return Err(MetadataError::DocumentVersionExists {
                set_id: set_id.clone(),
                version,
            });
        }
    }

    let quota_bytes = to_u64("quota_bytes", tenant_row.int("quota_bytes")?)?;
    let max_files = to_u64("max_files", tenant_row.int("max_files")?)?;
    let used_bytes = to_u64("used_bytes", tenant_row.int("used_bytes")?)?;
    let file_count = to_u64("file_count", tenant_row.int("file_count")?)?;
    if file_count >= max_files {
        return Err(MetadataError::FileLimitReached { limit: max_files });
    }
    if used_bytes.saturating_add(metadata.size_bytes) > quota_bytes {
        return Err(MetadataError::QuotaExceeded {
            used: used_bytes,
            requested: metadata.size_bytes,
            limit: quota_bytes,
        });
    }

    let row = sql
        .fetch_one(
            OPERATION,
            "INSERT INTO documents (tenant_id, document_id, set_id, version, kind, type_code, \
             type_system, type_display, class_code, title, title_search, effective_time, \
             confidentiality, language, patient_id_root, patient_id_extension, patient_name, \
             patient_birth_date, patient_gender, author_name, author_id, author_search, \
             organisation, custodian, legal_authenticator, service_event_json, content_type, \
             size_bytes, sha256, sha1, content_key, created_at, effective_time_text) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33) \
             RETURNING id",
            vec![
                tenant.as_str().into(),
                metadata.document_id.as_str().into(),
                metadata.set_id.as_ref().map(DocumentId::as_str).into(),
                metadata.version.map(i64::from).into(),
                metadata.kind.as_str().into(),
                metadata.type_code.as_deref().into(),
                metadata.type_system.as_deref().into(),
                metadata.type_display.as_deref().into(),
                metadata.class_code.as_deref().into(),
                metadata.title.as_deref().into(),
                metadata
                    .title
                    .as_deref()
                    .unwrap_or_default()
                    .to_lowercase()
                    .into(),
                to_unix(metadata.effective_time).into(),
                metadata.confidentiality.as_deref().into(),
                metadata.language.as_deref().into(),
                metadata.patient.root.as_str().into(),
                metadata.patient.extension.as_str().into(),
                metadata.patient_name.as_deref().into(),
                metadata.patient_birth_date.map(format_date).into(),
                metadata.patient_gender.as_deref().into(),
                metadata.author_name.as_deref().into(),
                metadata.author_id.as_deref().into(),
                author_search_text(metadata).into(),
                metadata.organisation.as_deref().into(),
                metadata.custodian.as_deref().into(),
                metadata.legal_authenticator.as_deref().into(),
                metadata.service_event_json.as_deref().into(),
                metadata.content_type.as_str().into(),
                size.into(),
                metadata.sha256.to_hex().into(),
                metadata.sha1.to_hex().into(),
                metadata.content_key.as_str().into(),
                to_unix(created_at).into(),
                metadata.effective_time_as_written.as_deref().into(),
            ],
        )
        .await?;
    let primary_key = row.int("id")?;

    let mut patient_ids = vec![&metadata.patient];
    for other in &metadata.other_patient_ids {
        if !patient_ids.contains(&other) {
            patient_ids.push(other);
        }
    }
    for patient in &patient_ids {
        // Every row but the first (smallest root) of one number counts as repeated, so a
        // search by the number alone finds the document once (migration 0020).
        let repeated = patient_ids.iter().any(|other| {
            other.extension == patient.extension && other.root.as_str() < patient.root.as_str()
        });
        sql.execute(
            OPERATION,
            "INSERT INTO document_patient_ids (document_pk, tenant_id, root, extension, \
                 effective_time, created_at, repeated) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                primary_key.into(),
                tenant.as_str().into(),
                patient.root.as_str().into(),
                patient.extension.as_str().into(),
                to_unix(metadata.effective_time).into(),
                to_unix(created_at).into(),
                i16::from(repeated).into(),
            ],
        )
        .await?;
    }

    sql.execute(
        OPERATION,
        "UPDATE tenants SET used_bytes = used_bytes + $2, file_count = file_count + 1 \
             WHERE id = $1",
        vec![tenant.as_str().into(), size.into()],
    )
    .await?;

    let mut metadata = metadata.clone();
    metadata
        .other_patient_ids
        .retain(|other| *other != metadata.patient);
    Ok(StoredDocument {
        tenant: tenant.clone(),
        metadata,
        created_at,
        indexed_at: None,
    })
}
