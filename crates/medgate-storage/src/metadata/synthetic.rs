//! Synthetic documents written straight into the metadata tables, many at once: for
//! `medgate bench --preload` and for the tests that read query plans on a populated
//! database. Never part of serving: nothing here checks a quota or writes content.

use medgate_ids::TenantId;

use super::{to_unix, Metadata};
use crate::error::MetadataError;
use crate::values::{Sha1Digest, Sha256Digest};

/// The root of every synthetic patient identifier (the PESEL namespace).
pub const SYNTHETIC_PATIENT_ROOT: &str = "2.16.840.1.113883.3.4424.1.1.616";

/// Rows written per transaction.
const BATCH: u64 = 10_000;

/// Which synthetic documents to write: `documents` documents spread round-robin over
/// `patients` patients, ids and patient values made from `prefix` (so that several sets can
/// live in one tenant).
#[derive(Clone, Debug)]
pub struct SyntheticDocuments<'a> {
    pub prefix: &'a str,
    /// The LOINC code of every document of the set.
    pub type_code: &'a str,
    pub documents: u64,
    pub patients: u64,
}

impl SyntheticDocuments<'_> {
    /// The identifier value of synthetic patient `number` (below `patients`).
    pub fn patient(&self, number: u64) -> String {
        format!("{}{number:010}", self.prefix)
    }

    /// The document id of synthetic document `number`.
    pub fn document_id(&self, number: u64) -> String {
        format!(
            "2.16.840.1.113883.3.4424.2.7.26.9.1^{}{number:010}",
            self.prefix
        )
    }
}

impl Metadata {
    /// Writes synthetic documents (and their patient identifier rows) into the tenant, one
    /// transaction per 10,000 documents with the same prepared statements, and adds them to
    /// the tenant's usage. `progress` is called after each transaction with the number written.
    pub async fn preload_synthetic_documents(
        &self,
        tenant: &TenantId,
        set: &SyntheticDocuments<'_>,
        mut progress: impl FnMut(u64),
    ) -> Result<(), MetadataError> {
        const OPERATION: &str = "preload synthetic documents";
        if set.patients == 0 {
            return Ok(());
        }
        // Effective times spread over ten years from 2015-01-01.
        const START: i64 = 1_420_070_400;
        const SPAN: i64 = 10 * 365 * 86_400;
        let created_at = to_unix(super::now());
        let mut written = 0;
        while written < set.documents {
            let end = (written + BATCH).min(set.documents);
            let mut transaction = self.begin_write(OPERATION).await?;
            let first = sqlx::query("SELECT COALESCE(MAX(id), 0) AS highest FROM documents")
                .fetch_one(&mut *transaction)
                .await
                .map_err(MetadataError::database(OPERATION))?;
            let highest: i64 = super::column(&first, "highest")?;
            for number in written..end {
                let key = Sha256Digest::of(format!("{}{number}", set.prefix).as_bytes()).to_hex();
                let spread = i64::try_from(number.wrapping_mul(7_919) % 1_000_003).unwrap_or(0);
                sqlx::query(
                    "INSERT INTO documents (tenant_id, document_id, kind, type_code, type_system, \
                     type_display, title, title_search, effective_time, patient_id_root, \
                     patient_id_extension, author_name, author_search, content_type, size_bytes, \
                     sha256, sha1, content_key, created_at) \
                     VALUES ($1, $2, 'cda', $10, '2.16.840.1.113883.6.1', \
                     'Karta informacyjna', 'Karta informacyjna', 'karta informacyjna', \
                     $3, $4, $5, 'Jan Nowak', $11, 'text/xml', 2048, $6, $7, $8, $9)",
                )
                .bind(tenant.as_str())
                .bind(set.document_id(number))
                .bind(START + spread * (SPAN / 1_000_003))
                .bind(SYNTHETIC_PATIENT_ROOT)
                .bind(set.patient(number % set.patients))
                .bind(key.as_str())
                .bind(Sha1Digest::of(key.as_bytes()).to_hex())
                .bind(&key[..32])
                .bind(created_at)
                .bind(set.type_code)
                .bind("jan nowak\u{1f}")
                .execute(&mut *transaction)
                .await
                .map_err(MetadataError::database(OPERATION))?;
            }
            sqlx::query(
                "INSERT INTO document_patient_ids (document_pk, tenant_id, root, extension, \
                 effective_time, created_at) SELECT id, tenant_id, patient_id_root, \
                 patient_id_extension, effective_time, created_at FROM documents WHERE id > $1",
            )
            .bind(highest)
            .execute(&mut *transaction)
            .await
            .map_err(MetadataError::database(OPERATION))?;
            let count = i64::try_from(end - written).unwrap_or(i64::MAX);
            sqlx::query(
                "UPDATE tenants SET used_bytes = used_bytes + $2, file_count = file_count + $3 \
                 WHERE id = $1",
            )
            .bind(tenant.as_str())
            .bind(count * 2048)
            .bind(count)
            .execute(&mut *transaction)
            .await
            .map_err(MetadataError::database(OPERATION))?;
            transaction
                .commit()
                .await
                .map_err(MetadataError::database(OPERATION))?;
            written = end;
            progress(written);
        }
        // Fresh statistics, as a database in service would have.
        sqlx::query("ANALYZE")
            .execute(self.pool())
            .await
            .map_err(MetadataError::database(OPERATION))?;
        // And a short write-ahead log, as a database in service keeps by checkpointing as it
        // goes: a bulk load beside a running node's readers leaves one of gigabytes that the
        // next start would have to read whole.
        if self.backend == super::DatabaseBackend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(self.pool())
                .await
                .map_err(MetadataError::database(OPERATION))?;
        }
        Ok(())
    }
}
