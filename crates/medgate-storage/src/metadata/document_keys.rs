//! Short numeric keys for documents, for interfaces whose identifiers cannot carry a document
//! id (the FHIR facade: a FHIR resource id is at most 64 characters of `[A-Za-z0-9.-]`, a
//! document id up to 512 of almost anything). The key is the document row's primary key; it
//! stays the same for the life of the row and is looked up within the tenant, so another
//! tenant's key finds nothing.

use medgate_ids::TenantId;

use super::{column, parsed_column, to_i64, to_u64, Metadata};
use crate::error::MetadataError;
use crate::values::DocumentId;

impl Metadata {
    /// The key of the tenant's document `document_id`, if it is stored.
    pub async fn document_key(
        &self,
        tenant: &TenantId,
        document_id: &DocumentId,
    ) -> Result<Option<u64>, MetadataError> {
        let row = sqlx::query("SELECT id FROM documents WHERE tenant_id = $1 AND document_id = $2")
            .bind(tenant.as_str())
            .bind(document_id.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a document key"))?;
        row.map(|row| to_u64("id", column(&row, "id")?)).transpose()
    }

    /// The id of the tenant's document with this key, if there is one.
    pub async fn document_id_by_key(
        &self,
        tenant: &TenantId,
        key: u64,
    ) -> Result<Option<DocumentId>, MetadataError> {
        let Ok(key) = to_i64("key", key) else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT document_id FROM documents WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a document by key"))?;
        row.map(|row| parsed_column(&row, "document_id", DocumentId::parse))
            .transpose()
    }
}
