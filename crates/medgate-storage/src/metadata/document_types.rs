//! Document types and their archiving policies: the default catalogue (from seed 000, the
//! mMedica "Rodzaje dokumentów" screen) and each tenant's overrides of it.

use medgate_ids::TenantId;

use super::{column, is_foreign_key_violation, now, to_unix, Metadata};
use crate::error::MetadataError;

/// A document type of the default catalogue with its default policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocumentTypeDefault {
    /// Short code, e.g. `KIF`.
    pub code: &'static str,
    /// Polish name as the clinic software shows it.
    pub name: &'static str,
    /// Whether documents of this type are sent to the repository automatically.
    pub archive_automatically: bool,
    /// How many days a document stays available locally before it goes to the archive.
    pub keep_local_days: u32,
}

/// The seed names no default for the local retention; a month keeps recent documents at
/// hand without letting the clinic's database grow without bound.
const DEFAULT_KEEP_LOCAL_DAYS: u32 = 30;

const fn default_type(
    code: &'static str,
    name: &'static str,
    archive_automatically: bool,
) -> DocumentTypeDefault {
    DocumentTypeDefault {
        code,
        name,
        archive_automatically,
        keep_local_days: DEFAULT_KEEP_LOCAL_DAYS,
    }
}

/// The default catalogue. The six codes ZBD, KIF, ILK, ZPS, ZPA and ZPO are the seed's own;
/// the seed lists the other types by name only, so their three-letter codes are ours, made in
/// the same style. As the seed prescribes (since mMedica 7.2.0), e-prescriptions and the
/// e-referrals processed by the national platform P1 (to a specialist, to hospital, for a
/// diagnostic test sent to P1) are not archived automatically; everything else is.
pub const DEFAULT_DOCUMENT_TYPES: &[DocumentTypeDefault] = &[
    default_type("DWP", "Dokument własny pacjenta", true),
    default_type("WBL", "Wynik badania laboratoryjnego PIK HL7 CDA", true),
    default_type("WBD", "Wynik badania diagnostycznego PIK HL7 CDA", true),
    default_type("ZAL", "Załącznik", true),
    default_type("UDM", "Udostępniona dokumentacja medyczna", true),
    default_type("REC", "Recepta (e-Recepta)", false),
    default_type("KIF", "Karta informacyjna leczenia szpitalnego", true),
    default_type("ILK", "Informacja dla lekarza kierującego", true),
    default_type("DAN", "Dokument anulujący (anulowanie e-Recepty)", true),
    default_type("SKS", "Skierowanie do specjalisty (e-Skierowanie)", false),
    default_type("SKH", "Skierowanie do szpitala (e-Skierowanie)", false),
    default_type("SKD", "Skierowanie na badanie diagnostyczne", false),
    default_type(
        "ZBD",
        "Skierowanie na badania diagnostyczne wysłane do P1",
        true,
    ),
    default_type("KOP", "Karta odmowy przyjęcia do szpitala", true),
    default_type(
        "ZPS",
        "Wynik weryfikacji zlecenia na zaopatrzenie w wyroby medyczne",
        true,
    ),
    default_type(
        "ZPA",
        "Anulowanie zlecenia na zaopatrzenie w wyroby medyczne",
        true,
    ),
    default_type("ZPO", "Zlecenie na zaopatrzenie w wyroby medyczne", true),
];

/// The default catalogue entry with this code.
pub fn default_document_type(code: &str) -> Option<&'static DocumentTypeDefault> {
    DEFAULT_DOCUMENT_TYPES
        .iter()
        .find(|entry| entry.code == code)
}

/// A document type's policy for one tenant: the default, or the tenant's override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentTypePolicy {
    pub code: &'static str,
    pub name: &'static str,
    pub archive_automatically: bool,
    pub keep_local_days: u32,
    /// True when the tenant changed the default.
    pub overridden: bool,
}

impl Metadata {
    /// Every document type of the catalogue, in catalogue order, with the tenant's policy.
    pub async fn list_document_types(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<DocumentTypePolicy>, MetadataError> {
        let rows = sqlx::query(
            "SELECT code, archive_automatically, keep_local_days FROM document_type_policies \
             WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("read document type policies"))?;
        let mut overrides = Vec::with_capacity(rows.len());
        for row in &rows {
            let code: String = column(row, "code")?;
            let archive: i64 = column(row, "archive_automatically")?;
            let days: i64 = column(row, "keep_local_days")?;
            let days = u32::try_from(days).map_err(|_| {
                MetadataError::corrupt("keep_local_days", format!("{days} out of range"))
            })?;
            overrides.push((code, archive != 0, days));
        }
        Ok(DEFAULT_DOCUMENT_TYPES
            .iter()
            .map(
                |default| match overrides.iter().find(|(code, _, _)| code == default.code) {
                    Some((_, archive, days)) => DocumentTypePolicy {
                        code: default.code,
                        name: default.name,
                        archive_automatically: *archive,
                        keep_local_days: *days,
                        overridden: true,
                    },
                    None => DocumentTypePolicy {
                        code: default.code,
                        name: default.name,
                        archive_automatically: default.archive_automatically,
                        keep_local_days: default.keep_local_days,
                        overridden: false,
                    },
                },
            )
            .collect())
    }

    /// Sets the tenant's policy for one document type of the catalogue; an unknown code is
    /// refused with [`MetadataError::UnknownDocumentType`].
    pub async fn set_document_type(
        &self,
        tenant: &TenantId,
        code: &str,
        archive_automatically: bool,
        keep_local_days: u32,
    ) -> Result<DocumentTypePolicy, MetadataError> {
        let default = default_document_type(code)
            .ok_or_else(|| MetadataError::UnknownDocumentType(code.to_owned()))?;
        let (tenant_owned,) = (tenant.clone(),);
        let () = self
            .writer
            .transact("set a document type policy", move |connection| {
                Box::pin(async move {
                    let (tenant,) = (&tenant_owned,);
                    sqlx::query(
            "INSERT INTO document_type_policies (tenant_id, code, archive_automatically, \
             keep_local_days, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, code) DO UPDATE SET \
             archive_automatically = excluded.archive_automatically, \
             keep_local_days = excluded.keep_local_days, updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(default.code)
        .bind(i64::from(archive_automatically))
        .bind(i64::from(keep_local_days))
        .bind(to_unix(now()))
        .execute(&mut *connection)
        .await
        .map_err(|error| {
            if is_foreign_key_violation(&error) {
                MetadataError::TenantNotFound(tenant.clone())
            } else {
                MetadataError::database("set a document type policy")(error)
            }
        })?;
                    Ok::<_, MetadataError>(())
                })
            })
            .await?;
        Ok(DocumentTypePolicy {
            code: default.code,
            name: default.name,
            archive_automatically,
            keep_local_days,
            overridden: true,
        })
    }

    /// Goes back to the catalogue's default policy for one document type.
    pub async fn reset_document_type(
        &self,
        tenant: &TenantId,
        code: &str,
    ) -> Result<DocumentTypePolicy, MetadataError> {
        let default = default_document_type(code)
            .ok_or_else(|| MetadataError::UnknownDocumentType(code.to_owned()))?;
        let (tenant_owned,) = (tenant.clone(),);
        self.writer
            .transact("reset a document type policy", move |connection| {
                Box::pin(async move {
                    let (tenant,) = (&tenant_owned,);
                    sqlx::query(
                        "DELETE FROM document_type_policies WHERE tenant_id = $1 AND code = $2",
                    )
                    .bind(tenant.as_str())
                    .bind(default.code)
                    .execute(&mut *connection)
                    .await
                    .map_err(MetadataError::database("reset a document type policy"))?;
                    Ok::<_, MetadataError>(())
                })
            })
            .await?;
        Ok(DocumentTypePolicy {
            code: default.code,
            name: default.name,
            archive_automatically: default.archive_automatically,
            keep_local_days: default.keep_local_days,
            overridden: false,
        })
    }
}
