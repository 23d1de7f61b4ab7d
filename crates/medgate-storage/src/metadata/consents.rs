//! The consent register: a consent shares some documents of one patient of one tenant with
//! the patient (on the portal) for a recipient and a purpose, between two dates. A consent is
//! created as a draft, becomes visible when sent and disappears when revoked; the dates are
//! checked at every read, so an expired consent hides its documents at once.
//!
//! Every query carries the tenant id. Sending a consent also creates (or renews the
//! activation code of) the patient's portal account in the same transaction.

use std::collections::HashSet;
use std::fmt;

use medgate_ids::{Oid, TenantId};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::portal::{ensure_patient_account, AccountOutcome, PendingActivation};
use super::{column, from_unix, parsed_column, to_unix, Metadata};
use crate::error::MetadataError;
use crate::metadata::documents::{PatientIdentifier, StoredDocument};
use crate::values::{DocumentId, InvalidValue};

/// Where a consent is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentStatus {
    /// Created, not yet shared: the patient sees nothing.
    Draft,
    /// Shared: the patient sees its documents while its dates include today.
    Sent,
    /// Withdrawn for good.
    Revoked,
}

impl ConsentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::Draft => "draft",
            ConsentStatus::Sent => "sent",
            ConsentStatus::Revoked => "revoked",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "draft" => Ok(ConsentStatus::Draft),
            "sent" => Ok(ConsentStatus::Sent),
            "revoked" => Ok(ConsentStatus::Revoked),
            other => Err(format!("unknown consent status '{other}'")),
        }
    }
}

impl fmt::Display for ConsentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A consent's id: 128 random bits written as a version 4 UUID (lowercase).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsentId(String);

impl ConsentId {
    /// A new random id from the system random number generator.
    pub fn generate() -> Result<Self, crate::ContentError> {
        let mut bytes = [0u8; 16];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| crate::ContentError::Random)?;
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex = hex::encode(bytes);
        Ok(ConsentId(format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )))
    }

    /// Parses a UUID in its lowercase or uppercase hyphenated form.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let lower = text.to_ascii_lowercase();
        let groups: Vec<&str> = lower.split('-').collect();
        let valid = groups.len() == 5
            && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
                group.len() == length && group.bytes().all(|b| b.is_ascii_hexdigit())
            });
        if valid {
            Ok(ConsentId(lower))
        } else {
            Err(InvalidValue {
                kind: "consent id",
                reason: "must be a UUID such as 0b7f4c2e-5d1a-4c8e-9f3b-2a6d8e1c4b70".to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConsentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A consent to create (as a draft).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewConsent {
    pub patient: PatientIdentifier,
    pub recipient: String,
    pub purpose: String,
    /// First instant of validity (inclusive).
    pub valid_from: OffsetDateTime,
    /// Last instant of validity (inclusive).
    pub valid_to: OffsetDateTime,
    /// The documents shared; each must be the tenant's and the patient's.
    pub documents: Vec<DocumentId>,
}

/// One document of a consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentDocument {
    pub document_id: DocumentId,
    /// False once the document was deleted from the repository.
    pub available: bool,
}

/// A stored consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    pub id: ConsentId,
    pub tenant: TenantId,
    pub patient: PatientIdentifier,
    pub recipient: String,
    pub purpose: String,
    pub valid_from: OffsetDateTime,
    pub valid_to: OffsetDateTime,
    pub status: ConsentStatus,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub documents: Vec<ConsentDocument>,
}

impl Consent {
    /// True when the patient sees the consent's documents at `now`: sent, not revoked, and
    /// `now` within its dates.
    pub fn in_force_at(&self, now: OffsetDateTime) -> bool {
        self.status == ConsentStatus::Sent && self.valid_from <= now && now <= self.valid_to
    }
}

/// What a patient sees of a consent next to a shared document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentSummary {
    pub id: ConsentId,
    pub recipient: String,
    pub purpose: String,
    pub valid_from: OffsetDateTime,
    pub valid_to: OffsetDateTime,
}

/// A document shared with a patient now, with the consents in force that share it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedDocument {
    pub document: StoredDocument,
    pub consents: Vec<ConsentSummary>,
}

/// The outcome of [`Metadata::send_consent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentConsent {
    pub consent: Consent,
    /// What happened to the patient's portal account.
    pub account: AccountOutcome,
}

/// Why a consent operation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentError {
    #[error("document {0} does not exist in this account")]
    DocumentNotFound(DocumentId),

    #[error("document {document} belongs to another patient, not {patient}")]
    DocumentOfAnotherPatient {
        document: DocumentId,
        patient: String,
    },

    #[error("no consent {0} exists in this account")]
    NotFound(ConsentId),

    /// The consent is not in a status the operation applies to.
    #[error("consent {id} is {status}; it cannot be {operation}")]
    WrongStatus {
        id: ConsentId,
        status: ConsentStatus,
        operation: &'static str,
    },

    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

/// The most consents one listing returns.
const LIST_LIMIT: i64 = 1000;

/// The most documents the portal lists for one patient.
const SHARED_LIMIT: i64 = 500;

const CONSENT_COLUMNS: &str = "c.id, c.tenant_id, c.patient_root, c.patient_extension, \
     c.recipient, c.purpose, c.valid_from, c.valid_to, c.status, c.created_at, c.sent_at, \
     c.revoked_at";

fn optional_time(
    row: &AnyRow,
    name: &'static str,
) -> Result<Option<OffsetDateTime>, MetadataError> {
    let seconds: Option<i64> = column(row, name)?;
    seconds.map(|seconds| from_unix(name, seconds)).transpose()
}

fn consent_from_row(row: &AnyRow) -> Result<Consent, MetadataError> {
    Ok(Consent {
        id: parsed_column(row, "id", ConsentId::parse)?,
        tenant: parsed_column(row, "tenant_id", TenantId::parse)?,
        patient: PatientIdentifier {
            root: parsed_column(row, "patient_root", Oid::parse)?,
            extension: column(row, "patient_extension")?,
        },
        recipient: column(row, "recipient")?,
        purpose: column(row, "purpose")?,
        valid_from: from_unix("valid_from", column(row, "valid_from")?)?,
        valid_to: from_unix("valid_to", column(row, "valid_to")?)?,
        status: parsed_column(row, "status", ConsentStatus::parse)?,
        created_at: from_unix("created_at", column(row, "created_at")?)?,
        sent_at: optional_time(row, "sent_at")?,
        revoked_at: optional_time(row, "revoked_at")?,
        documents: Vec::new(),
    })
}

fn summary_from_row(row: &AnyRow) -> Result<ConsentSummary, MetadataError> {
    Ok(ConsentSummary {
        id: parsed_column(row, "id", ConsentId::parse)?,
        recipient: column(row, "recipient")?,
        purpose: column(row, "purpose")?,
        valid_from: from_unix("valid_from", column(row, "valid_from")?)?,
        valid_to: from_unix("valid_to", column(row, "valid_to")?)?,
    })
}

/// One patient's consents in a tenant (`$1` tenant, `$2` identifier value, `$3` root or
/// empty, `$4` limit), driven by `consents_by_patient`.
pub(crate) fn consents_by_patient_sql() -> String {
    format!(
        "SELECT {CONSENT_COLUMNS} FROM consents c WHERE c.tenant_id = $1 \
         AND c.patient_extension = $2 AND ($3 = '' OR c.patient_root = $3) \
         ORDER BY c.created_at DESC, c.id LIMIT $4"
    )
}

impl Metadata {
    /// Creates a draft consent. Every document must be the tenant's and carry the patient's
    /// identifier (as its main or any further patient id); the first that does not refuses
    /// the whole consent and nothing is stored. A document named twice counts once.
    pub async fn create_consent(
        &self,
        tenant: &TenantId,
        consent: &NewConsent,
    ) -> Result<Consent, ConsentError> {
        const OPERATION: &str = "create a consent";
        let id = ConsentId::generate().map_err(|e| MetadataError::corrupt("consent id", e))?;
        let created_at = super::now();
        let (tenant_owned, consent_owned, id_owned) = (tenant.clone(), consent.clone(), id.clone());
        let documents =
            self.writer
                .transact(OPERATION, move |connection| {
                    Box::pin(async move {
                        let (tenant, consent, id) = (&tenant_owned, &consent_owned, &id_owned);

                        let mut documents: Vec<(DocumentId, i64)> = Vec::new();
                        for document_id in &consent.documents {
                            if documents.iter().any(|(known, _)| known == document_id) {
                                continue;
                            }
                            let row =
                sqlx::query("SELECT id FROM documents WHERE tenant_id = $1 AND document_id = $2")
                    .bind(tenant.as_str())
                    .bind(document_id.as_str())
                    .fetch_optional(&mut *connection)
                    .await
                    .map_err(MetadataError::database(OPERATION))?
                    .ok_or_else(|| ConsentError::DocumentNotFound(document_id.clone()))?;
                            let primary_key: i64 = column(&row, "id")?;
                            let of_patient = sqlx::query(
                "SELECT 1 FROM document_patient_ids WHERE document_pk = $1 AND tenant_id = $2 \
                 AND root = $3 AND extension = $4",
            )
            .bind(primary_key)
            .bind(tenant.as_str())
            .bind(consent.patient.root.as_str())
            .bind(consent.patient.extension.as_str())
            .fetch_optional(&mut *connection)
            .await
            .map_err(MetadataError::database(OPERATION))?;
                            if of_patient.is_none() {
                                return Err(ConsentError::DocumentOfAnotherPatient {
                                    document: document_id.clone(),
                                    patient: format!(
                                        "{}^{}",
                                        consent.patient.root, consent.patient.extension
                                    ),
                                });
                            }
                            documents.push((document_id.clone(), primary_key));
                        }

                        sqlx::query(
            "INSERT INTO consents (id, tenant_id, patient_root, patient_extension, recipient, \
             purpose, valid_from, valid_to, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9)",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(consent.patient.root.as_str())
        .bind(consent.patient.extension.as_str())
        .bind(consent.recipient.as_str())
        .bind(consent.purpose.as_str())
        .bind(to_unix(consent.valid_from))
        .bind(to_unix(consent.valid_to))
        .bind(to_unix(created_at))
        .execute(&mut *connection)
        .await
        .map_err(|error| {
            if super::is_foreign_key_violation(&error) {
                MetadataError::TenantNotFound(tenant.clone())
            } else {
                MetadataError::database(OPERATION)(error)
            }
        })?;
                        for (document_id, primary_key) in &documents {
                            sqlx::query(
                "INSERT INTO consent_documents (consent_id, tenant_id, document_id, document_pk) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id.as_str())
            .bind(tenant.as_str())
            .bind(document_id.as_str())
            .bind(*primary_key)
            .execute(&mut *connection)
            .await
            .map_err(MetadataError::database(OPERATION))?;
                        }
                        Ok::<_, ConsentError>(documents)
                    })
                })
                .await?;

        Ok(Consent {
            id,
            tenant: tenant.clone(),
            patient: consent.patient.clone(),
            recipient: consent.recipient.clone(),
            purpose: consent.purpose.clone(),
            valid_from: consent.valid_from,
            valid_to: consent.valid_to,
            status: ConsentStatus::Draft,
            created_at,
            sent_at: None,
            revoked_at: None,
            documents: documents
                .into_iter()
                .map(|(document_id, _)| ConsentDocument {
                    document_id,
                    available: true,
                })
                .collect(),
        })
    }

    /// The tenant's consent with this id; `None` if this tenant has none.
    pub async fn get_consent(
        &self,
        tenant: &TenantId,
        id: &ConsentId,
    ) -> Result<Option<Consent>, MetadataError> {
        let sql = format!(
            "SELECT {CONSENT_COLUMNS} FROM consents c WHERE c.tenant_id = $1 AND c.id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a consent"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut consents = self
            .with_documents(tenant, vec![consent_from_row(&row)?])
            .await?;
        Ok(consents.pop())
    }

    /// The tenant's consents, newest first; only those of patients with this identifier
    /// value (and root, when given) if `patient` is given.
    pub async fn list_consents(
        &self,
        tenant: &TenantId,
        patient: Option<(&str, Option<&Oid>)>,
    ) -> Result<Vec<Consent>, MetadataError> {
        const OPERATION: &str = "list consents";
        let rows = match patient {
            None => {
                let sql = format!(
                    "SELECT {CONSENT_COLUMNS} FROM consents c WHERE c.tenant_id = $1 \
                     ORDER BY c.created_at DESC, c.id LIMIT $2"
                );
                sqlx::query(&sql)
                    .bind(tenant.as_str())
                    .bind(LIST_LIMIT)
                    .fetch_all(self.pool())
                    .await
            }
            Some((extension, root)) => {
                let sql = consents_by_patient_sql();
                sqlx::query(&sql)
                    .bind(tenant.as_str())
                    .bind(extension)
                    .bind(root.map(Oid::as_str).unwrap_or_default())
                    .bind(LIST_LIMIT)
                    .fetch_all(self.pool())
                    .await
            }
        }
        .map_err(MetadataError::database(OPERATION))?;
        let consents = rows
            .iter()
            .map(consent_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.with_documents(tenant, consents).await
    }

    /// Fills in the documents of consents read from the main table.
    async fn with_documents(
        &self,
        tenant: &TenantId,
        mut consents: Vec<Consent>,
    ) -> Result<Vec<Consent>, MetadataError> {
        if consents.is_empty() {
            return Ok(consents);
        }
        let placeholders = (0..consents.len())
            .map(|index| format!("${}", index + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT consent_id, document_id, document_pk FROM consent_documents \
             WHERE tenant_id = $1 AND consent_id IN ({placeholders}) \
             ORDER BY consent_id, document_id"
        );
        let mut query = sqlx::query(&sql).bind(tenant.as_str());
        for consent in &consents {
            query = query.bind(consent.id.as_str());
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("read consent documents"))?;
        for row in &rows {
            let consent_id = parsed_column(row, "consent_id", ConsentId::parse)?;
            let document_pk: Option<i64> = column(row, "document_pk")?;
            let document = ConsentDocument {
                document_id: parsed_column(row, "document_id", DocumentId::parse)?,
                available: document_pk.is_some(),
            };
            if let Some(consent) = consents.iter_mut().find(|c| c.id == consent_id) {
                consent.documents.push(document);
            }
        }
        Ok(consents)
    }

    /// Sends a draft consent (its documents become visible to the patient within its dates)
    /// and, in the same transaction, makes sure the patient has a portal account: a new
    /// account gets `activation`; one not yet activated has its activation code replaced by
    /// it; an activated one is left as it is. Refused unless the consent is a draft.
    pub async fn send_consent(
        &self,
        tenant: &TenantId,
        id: &ConsentId,
        activation: &PendingActivation,
    ) -> Result<SentConsent, ConsentError> {
        const OPERATION: &str = "send a consent";
        let now = super::now();
        let backend = self.backend;
        let (tenant_owned, id_owned, activation_owned) =
            (tenant.clone(), id.clone(), activation.clone());
        let account = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (tenant, id, activation) = (&tenant_owned, &id_owned, &activation_owned);
                    let sql = format!(
            "SELECT {CONSENT_COLUMNS} FROM consents c WHERE c.tenant_id = $1 AND c.id = $2{}",
            backend.row_lock()
        );
                    let row = sqlx::query(&sql)
                        .bind(tenant.as_str())
                        .bind(id.as_str())
                        .fetch_optional(&mut *connection)
                        .await
                        .map_err(MetadataError::database(OPERATION))?
                        .ok_or_else(|| ConsentError::NotFound(id.clone()))?;
                    let consent = consent_from_row(&row)?;
                    if consent.status != ConsentStatus::Draft {
                        return Err(ConsentError::WrongStatus {
                            id: id.clone(),
                            status: consent.status,
                            operation: "sent",
                        });
                    }
                    sqlx::query(
            "UPDATE consents SET status = 'sent', sent_at = $3 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(to_unix(now))
        .execute(&mut *connection)
        .await
        .map_err(MetadataError::database(OPERATION))?;
                    let account = ensure_patient_account(
                        &mut *connection,
                        tenant,
                        &consent.patient,
                        activation,
                        now,
                    )
                    .await?;
                    Ok::<_, ConsentError>(account)
                })
            })
            .await?;
        let consent = self
            .get_consent(tenant, id)
            .await?
            .ok_or_else(|| ConsentError::NotFound(id.clone()))?;
        Ok(SentConsent { consent, account })
    }

    /// Revokes a draft or sent consent: from this moment the patient no longer sees its
    /// documents. Refused when it is already revoked.
    pub async fn revoke_consent(
        &self,
        tenant: &TenantId,
        id: &ConsentId,
    ) -> Result<Consent, ConsentError> {
        const OPERATION: &str = "revoke a consent";
        let now = super::now();
        let (tenant_owned, id_owned) = (tenant.clone(), id.clone());
        let result = self
            .writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let (tenant, id) = (&tenant_owned, &id_owned);
                    let result = sqlx::query(
                        "UPDATE consents SET status = 'revoked', revoked_at = $3 \
             WHERE tenant_id = $1 AND id = $2 AND status <> 'revoked'",
                    )
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .bind(to_unix(now))
                    .execute(&mut *connection)
                    .await
                    .map_err(MetadataError::database(OPERATION))?;
                    Ok::<_, MetadataError>(result)
                })
            })
            .await?;
        let consent = self
            .get_consent(tenant, id)
            .await?
            .ok_or_else(|| ConsentError::NotFound(id.clone()))?;
        if result.rows_affected() == 0 {
            return Err(ConsentError::WrongStatus {
                id: id.clone(),
                status: consent.status,
                operation: "revoked",
            });
        }
        Ok(consent)
    }

    /// Of `documents`, those the tenant shares with their patient at `now` through a sent
    /// consent whose dates include `now` (the "consent" mark of search results).
    pub async fn documents_shared_now(
        &self,
        tenant: &TenantId,
        documents: &[&DocumentId],
        now: OffsetDateTime,
    ) -> Result<HashSet<DocumentId>, MetadataError> {
        let mut shared = HashSet::new();
        // Bounded batches keep the number of bound parameters small on either database.
        for chunk in documents.chunks(200) {
            let placeholders = (0..chunk.len())
                .map(|index| format!("${}", index + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT DISTINCT cd.document_id FROM consent_documents cd \
                 JOIN consents c ON c.id = cd.consent_id AND c.tenant_id = cd.tenant_id \
                 WHERE cd.tenant_id = $1 AND cd.document_pk IS NOT NULL \
                 AND c.status = 'sent' AND c.valid_from <= $2 AND c.valid_to >= $2 \
                 AND cd.document_id IN ({placeholders})"
            );
            let mut query = sqlx::query(&sql).bind(tenant.as_str()).bind(to_unix(now));
            for document in chunk {
                query = query.bind(document.as_str());
            }
            let rows = query
                .fetch_all(self.pool())
                .await
                .map_err(MetadataError::database("look up consents of documents"))?;
            for row in &rows {
                shared.insert(parsed_column(row, "document_id", DocumentId::parse)?);
            }
        }
        Ok(shared)
    }

    /// The documents the tenant shares with this patient at `now`: those of sent consents
    /// for exactly this patient identifier whose dates include `now`, newest first, each
    /// with the consents that share it. Nothing is cached: a revocation or the end of a
    /// consent's dates hides its documents from the next call on.
    pub async fn shared_documents(
        &self,
        tenant: &TenantId,
        patient: &PatientIdentifier,
        now: OffsetDateTime,
    ) -> Result<Vec<SharedDocument>, MetadataError> {
        self.shared(tenant, patient, None, now).await
    }

    /// One document as [`Metadata::shared_documents`] would list it, or `None` when it is
    /// not shared with this patient at `now`.
    pub async fn shared_document(
        &self,
        tenant: &TenantId,
        patient: &PatientIdentifier,
        document_id: &DocumentId,
        now: OffsetDateTime,
    ) -> Result<Option<SharedDocument>, MetadataError> {
        Ok(self
            .shared(tenant, patient, Some(document_id), now)
            .await?
            .pop())
    }

    async fn shared(
        &self,
        tenant: &TenantId,
        patient: &PatientIdentifier,
        only: Option<&DocumentId>,
        now: OffsetDateTime,
    ) -> Result<Vec<SharedDocument>, MetadataError> {
        const OPERATION: &str = "list shared documents";
        let sql = format!(
            "SELECT c.id, c.recipient, c.purpose, c.valid_from, c.valid_to, cd.document_id \
             FROM consents c \
             JOIN consent_documents cd ON cd.consent_id = c.id AND cd.tenant_id = c.tenant_id \
             JOIN documents d ON d.id = cd.document_pk AND d.tenant_id = c.tenant_id \
             WHERE c.tenant_id = $1 AND c.patient_root = $2 AND c.patient_extension = $3 \
             AND c.status = 'sent' AND c.valid_from <= $4 AND c.valid_to >= $4 \
             AND ($5 = '' OR cd.document_id = $5) \
             ORDER BY d.effective_time DESC, d.id DESC, c.valid_from, c.id \
             LIMIT {SHARED_LIMIT}"
        );
        let rows = sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(patient.root.as_str())
            .bind(patient.extension.as_str())
            .bind(to_unix(now))
            .bind(only.map(DocumentId::as_str).unwrap_or_default())
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database(OPERATION))?;
        let mut shared: Vec<(DocumentId, Vec<ConsentSummary>)> = Vec::new();
        for row in &rows {
            let document_id = parsed_column(row, "document_id", DocumentId::parse)?;
            let summary = summary_from_row(row)?;
            match shared.iter_mut().find(|(known, _)| *known == document_id) {
                Some((_, consents)) => consents.push(summary),
                None => shared.push((document_id, vec![summary])),
            }
        }
        let mut documents = Vec::with_capacity(shared.len());
        for (document_id, consents) in shared {
            // Read through the documents module so the shape stays one; a document deleted
            // between the two reads is simply not listed.
            if let Some(document) = self.get_document(tenant, &document_id).await? {
                documents.push(SharedDocument { document, consents });
            }
        }
        Ok(documents)
    }
}
