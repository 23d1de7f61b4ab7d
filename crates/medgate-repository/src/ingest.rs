//! Storing a document: a CDA document's header becomes the metadata the repository keeps
//! ([`cda_metadata`]), an attachment (scan, photo, PDF…) gets its metadata from what the
//! clinic says of it ([`put_attachment`]); both are stored in the order the storage crate
//! prescribes — the content first (durable), then the metadata in one transaction that also
//! enforces the quota, and the content removed again when the metadata is refused
//! ([`store`]) — and audited with the patient.

use bytes::Bytes;
use medgate_ids::Oid;
use medgate_storage::{
    ContentKey, DocumentId, DocumentKind, DocumentMetadata, MetadataError, PatientIdentifier,
    Sha1Digest, Sha256Digest, StagedFile, StoredDocument,
};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::{Reason, RepositoryError};
use crate::patient::{parse_patient, pesel_oid};
use crate::{Actor, Repository};

/// Media types under which a CDA document may be sent; the first is assumed when the
/// request names none.
pub const CDA_CONTENT_TYPES: [&str; 3] = ["application/xml", "text/xml", "application/hl7-v3+xml"];

/// Arc under the tenant's repository id for the ids the repository gives attachments that
/// come without one (`<repository id>.9^<random hex>`).
const ATTACHMENT_ID_ARC: u64 = 9;

/// Longest attachment title.
const MAX_TITLE_CHARS: usize = 500;

/// The name of a document kind in answers and audit entries.
/// What a stored document's answer warns about: an identifier under the PESEL root whose
/// check digit is wrong. Such a document is stored (clinics' records carry such numbers, and
/// refusing would lose the document) and is found by that value; the patient portal and
/// consents, which identify a person, need a valid PESEL.
pub fn warnings(metadata: &medgate_storage::DocumentMetadata) -> Vec<String> {
    std::iter::once(&metadata.patient)
        .chain(&metadata.other_patient_ids)
        .filter(|id| id.root.as_str() == medgate_ids::Pesel::OID)
        .filter_map(|id| {
            medgate_ids::Pesel::parse(&id.extension).err().map(|e| {
                format!(
                    "recordTarget/patientRole/id: '{}' under the PESEL root is not a valid PESEL ({e}); the document is stored and found by this value, but consents and the patient portal need a valid PESEL",
                    id.extension
                )
            })
        })
        .collect()
}

pub fn kind_name(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Cda => "cda",
        DocumentKind::Attachment => "attachment",
    }
}

/// Stores a CDA document sent with the media type `content_type` (absent: XML).
pub async fn put_document(
    repository: &Repository,
    actor: &Actor,
    content_type: Option<&str>,
    body: Bytes,
) -> Result<StoredDocument, RepositoryError> {
    let metadata = prepare_document(content_type, &body)?;
    store(repository, actor, &metadata, body).await
}

/// Reads a CDA document sent with the media type `content_type` into the metadata it will
/// be stored with, refusing what cannot be stored; stores nothing. [`store`] stores it.
pub fn prepare_document(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<DocumentMetadata, RepositoryError> {
    let content_type = cda_content_type(content_type)?;
    let header = medgate_cda::parse(body).map_err(|e| {
        RepositoryError::invalid(
            Reason::Cda,
            "body",
            format!("The document is not an acceptable HL7 CDA R2 document: {e}."),
        )
    })?;
    cda_metadata(&header, content_type, body)
}

/// Stores a CDA document staged on disk (an API upload, received chunk by chunk and hashed
/// on the way). The document is read into memory once, for the header parse only: the
/// parser builds one tree of the whole XML document (its well-formedness is part of the
/// check), so a bounded reader of the header would not do; the caller accounts for that
/// memory. The digests are the staged ones, and the content goes to the store from the
/// file, after the copy in memory is dropped.
pub async fn put_staged_document(
    repository: &Repository,
    actor: &Actor,
    content_type: Option<&str>,
    file: StagedFile,
) -> Result<StoredDocument, RepositoryError> {
    let content_type = cda_content_type(content_type)?;
    let metadata = {
        let body = file
            .read_to_memory()
            .await
            .map_err(RepositoryError::storage("reading the upload"))?;
        let header = medgate_cda::parse(&body).map_err(|e| {
            RepositoryError::invalid(
                Reason::Cda,
                "body",
                format!("The document is not an acceptable HL7 CDA R2 document: {e}."),
            )
        })?;
        cda_metadata_of(&header, content_type, ContentFacts::of_staged(&file))?
    };
    store_content(repository, actor, &metadata, Content::Staged(file)).await
}

/// Size and digests of the bytes a document's metadata describes.
#[derive(Clone, Debug)]
pub struct ContentFacts {
    pub size_bytes: u64,
    pub sha256: Sha256Digest,
    pub sha1: Sha1Digest,
}

impl ContentFacts {
    /// Of bytes in memory.
    pub fn of(body: &[u8]) -> Self {
        ContentFacts {
            size_bytes: u64::try_from(body.len()).unwrap_or(u64::MAX),
            sha256: Sha256Digest::of(body),
            sha1: Sha1Digest::of(body),
        }
    }

    /// Of a staged upload: computed while it was written, so the file is not read again.
    pub fn of_staged(file: &StagedFile) -> Self {
        ContentFacts {
            size_bytes: file.len(),
            sha256: *file.sha256(),
            sha1: *file.sha1(),
        }
    }
}

/// The bytes to store: in memory, or a staged upload the store takes from its file.
enum Content {
    Bytes(Bytes),
    Staged(StagedFile),
}

/// An attachment as the clinic describes it (the API's query parameters, as sent).
#[derive(Clone, Debug, Default)]
pub struct AttachmentUpload {
    /// A PESEL or `root^extension`; required.
    pub patient: Option<String>,
    /// Required.
    pub title: Option<String>,
    /// A code of the account's document type catalogue.
    pub type_code: Option<String>,
    /// `root^extension`; one is made under the repository id when absent.
    pub id: Option<String>,
    /// The media type the bytes are sent back with (absent: `application/octet-stream`).
    pub content_type: Option<String>,
}

/// Stores any file for a patient. `repository_id` is the account's repository id, under
/// which an id is made for an attachment sent without one.
pub async fn put_attachment(
    repository: &Repository,
    actor: &Actor,
    repository_id: Option<&Oid>,
    upload: AttachmentUpload,
    body: Bytes,
) -> Result<StoredDocument, RepositoryError> {
    let metadata =
        attachment_metadata(repository, actor, repository_id, upload, ContentFacts::of(&body))
            .await?;
    store(repository, actor, &metadata, body).await
}

/// [`put_attachment`] for a file staged on disk (an API upload): never read into memory —
/// its digests were computed while it was written, and the store takes it from the file.
pub async fn put_staged_attachment(
    repository: &Repository,
    actor: &Actor,
    repository_id: Option<&Oid>,
    upload: AttachmentUpload,
    file: StagedFile,
) -> Result<StoredDocument, RepositoryError> {
    let metadata = attachment_metadata(
        repository,
        actor,
        repository_id,
        upload,
        ContentFacts::of_staged(&file),
    )
    .await?;
    store_content(repository, actor, &metadata, Content::Staged(file)).await
}

/// What the repository keeps of an attachment as the clinic describes it.
async fn attachment_metadata(
    repository: &Repository,
    actor: &Actor,
    repository_id: Option<&Oid>,
    upload: AttachmentUpload,
    facts: ContentFacts,
) -> Result<DocumentMetadata, RepositoryError> {
    let missing = |field: &str, message: &str| {
        RepositoryError::invalid(Reason::MissingParameter, field, message)
    };
    let patient_text = upload.patient.ok_or_else(|| {
        missing(
            "patient",
            "Give the patient: patient=<PESEL> or patient=<root>^<extension>.",
        )
    })?;
    let patient = parse_patient(&patient_text)?;
    let title = upload
        .title
        .map(|title| title.trim().to_owned())
        .filter(|title| !title.is_empty())
        .ok_or_else(|| missing("title", "Give the attachment a title: title=<text>."))?;
    if title.chars().count() > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
        return Err(RepositoryError::invalid(
            Reason::Parameter,
            "title",
            format!("title: at most {MAX_TITLE_CHARS} characters, no control characters."),
        ));
    }
    let document_type = match upload.type_code {
        None => None,
        Some(code) => Some(known_document_type(repository, actor, &code).await?),
    };
    let document_id = match upload.id {
        Some(text) => DocumentId::parse(&text)
            .map_err(|e| RepositoryError::invalid(Reason::Parameter, "id", format!("id: {e}.")))?,
        None => attachment_id(repository_id)?,
    };
    let content_type = attachment_content_type(upload.content_type.as_deref())?;
    Ok(DocumentMetadata {
        document_id,
        set_id: None,
        version: None,
        kind: DocumentKind::Attachment,
        type_code: document_type.as_ref().map(|(code, _)| code.clone()),
        type_system: None,
        type_display: document_type.map(|(_, name)| name),
        class_code: None,
        title: Some(title),
        // An attachment says nothing about when it was made; its upload is the best date.
        effective_time: OffsetDateTime::now_utc(),
        effective_time_as_written: None,
        confidentiality: None,
        language: None,
        patient,
        other_patient_ids: Vec::new(),
        patient_name: None,
        patient_birth_date: None,
        patient_gender: None,
        author_name: None,
        author_id: None,
        organisation: None,
        custodian: None,
        legal_authenticator: None,
        service_event_json: None,
        content_type,
        size_bytes: facts.size_bytes,
        sha256: facts.sha256,
        sha1: facts.sha1,
        content_key: new_content_key()?,
    })
}

/// Stores content then metadata, and audits; undoes the content when the metadata is
/// refused (a duplicate, the quota), so the repository never holds content it does not list
/// for long — and never lists metadata without content. A crash between the two leaves an
/// orphan for the sweep.
pub async fn store(
    repository: &Repository,
    actor: &Actor,
    metadata: &DocumentMetadata,
    body: Bytes,
) -> Result<StoredDocument, RepositoryError> {
    store_content(repository, actor, metadata, Content::Bytes(body)).await
}

/// [`store`] of bytes in memory or of a staged upload (`put_file`), in the same order.
async fn store_content(
    repository: &Repository,
    actor: &Actor,
    metadata: &DocumentMetadata,
    content: Content,
) -> Result<StoredDocument, RepositoryError> {
    match content {
        Content::Bytes(body) => put_content(repository, metadata, body).await?,
        Content::Staged(file) => repository
            .content
            .put_file(&metadata.content_key, file)
            .await
            .map_err(RepositoryError::storage("storing content"))?,
    }
    commit(repository, actor, metadata).await
}

/// The first half of [`store`]: the content, durably, under the metadata's content key.
/// Nothing lists it until [`commit`].
pub async fn put_content(
    repository: &Repository,
    metadata: &DocumentMetadata,
    body: Bytes,
) -> Result<(), RepositoryError> {
    repository
        .content
        .put(&metadata.content_key, body)
        .await
        .map_err(RepositoryError::storage("storing content"))
}

/// The second half of [`store`]: the metadata and its audit entry in one transaction (one
/// group commit with whatever else is written at the same moment); the content is removed
/// when the metadata is refused. Its first step queues the write, so commits started in an
/// order reach the writer in that order.
pub async fn commit(
    repository: &Repository,
    actor: &Actor,
    metadata: &DocumentMetadata,
) -> Result<StoredDocument, RepositoryError> {
    let details = format!(
        "{} {} bytes, sha256 {}",
        kind_name(metadata.kind),
        metadata.size_bytes,
        metadata.sha256
    );
    let entry = actor.entry(
        "document.put",
        metadata.document_id.as_str(),
        Some(&metadata.patient.extension),
        details,
    );
    match repository
        .metadata
        .insert_document_audited(&actor.tenant, metadata, &entry)
        .await
    {
        Ok((stored, _)) => Ok(stored),
        Err(error) => {
            if let Err(cleanup) = repository.content.delete(&metadata.content_key).await {
                tracing::warn!(error = %cleanup, content_key = %metadata.content_key, "content of a refused document not removed; the orphan sweep will");
            }
            Err(insert_error(error))
        }
    }
}

/// The refusals of the metadata store in the user's words.
fn insert_error(error: MetadataError) -> RepositoryError {
    match error {
        MetadataError::DocumentExists(id) => RepositoryError::DocumentExists(id),
        MetadataError::DocumentVersionExists { set_id, version } => {
            RepositoryError::DocumentVersionExists { set_id, version }
        }
        MetadataError::QuotaExceeded {
            used,
            requested,
            limit,
        } => RepositoryError::QuotaExceeded {
            used,
            requested,
            limit,
        },
        MetadataError::FileLimitReached { limit } => RepositoryError::FileLimitReached { limit },
        other => RepositoryError::storage("storing document metadata")(other),
    }
}

fn new_content_key() -> Result<ContentKey, RepositoryError> {
    ContentKey::generate().map_err(|e| RepositoryError::internal("content key", e))
}

/// `<repository id>.9^<32 random hex digits>`: unique without coordination, under an OID
/// the account owns, so it can never collide with ids the clinic software makes.
pub fn attachment_id(repository_id: Option<&Oid>) -> Result<DocumentId, RepositoryError> {
    let repository = repository_id.ok_or_else(|| {
        RepositoryError::internal("attachment id", "the active tenant has no repository id")
    })?;
    let mut random = [0u8; 16];
    aws_lc_rs::rand::fill(&mut random)
        .map_err(|_| RepositoryError::internal("attachment id", "random source failed"))?;
    let root = repository.child(ATTACHMENT_ID_ARC);
    DocumentId::from_parts(root.as_str(), Some(&hex::encode(random)))
        .map_err(|e| RepositoryError::internal("attachment id", e))
}

/// The catalogue entry for `code`, as (code, name); refused naming the known codes
/// otherwise.
async fn known_document_type(
    repository: &Repository,
    actor: &Actor,
    code: &str,
) -> Result<(String, String), RepositoryError> {
    let types = repository
        .metadata
        .list_document_types(&actor.tenant)
        .await
        .map_err(RepositoryError::storage("document types"))?;
    match types.iter().find(|policy| policy.code == code) {
        Some(policy) => Ok((policy.code.to_owned(), policy.name.to_owned())),
        None => Err(RepositoryError::invalid(
            Reason::DocumentType,
            "type",
            format!(
                "type: '{code}' is not a known document type; known codes: {}.",
                types
                    .iter()
                    .map(|policy| policy.code)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// The media type of a CDA upload (one of [`CDA_CONTENT_TYPES`]), without parameters;
/// `sent` is the `Content-Type` as sent (empty when it is not visible ASCII).
pub fn cda_content_type(sent: Option<&str>) -> Result<String, RepositoryError> {
    let Some(value) = sent else {
        return Ok(CDA_CONTENT_TYPES[0].to_owned());
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if CDA_CONTENT_TYPES.contains(&essence.as_str()) {
        Ok(essence)
    } else {
        Err(RepositoryError::UnsupportedContentType {
            accepted: CDA_CONTENT_TYPES.join(", "),
        })
    }
}

/// The content type of an attachment as sent (it is sent back as a header on download, so
/// it must be a plain `type/subtype[; parameters]` in visible ASCII).
pub fn attachment_content_type(sent: Option<&str>) -> Result<String, RepositoryError> {
    let Some(text) = sent else {
        return Ok("application/octet-stream".to_owned());
    };
    let text = text.trim();
    let essence = text.split(';').next().unwrap_or("").trim();
    let token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let valid = text.len() <= 255
        && text.bytes().all(|b| (0x20..0x7f).contains(&b))
        && essence
            .split_once('/')
            .is_some_and(|(kind, subtype)| token(kind) && token(subtype));
    if valid {
        Ok(text.to_owned())
    } else {
        Err(RepositoryError::invalid(
            Reason::ContentType,
            "Content-Type",
            "Content-Type must be a media type such as application/pdf or image/jpeg.",
        ))
    }
}

/// A CDA identifier the store can search: it needs an OID root and an extension (a
/// root-only or UUID-rooted patient id cannot be asked for as `root^extension`).
fn storable_identifier(id: &medgate_cda::InstanceId) -> Option<PatientIdentifier> {
    Some(PatientIdentifier {
        root: id.root.as_oid()?.clone(),
        extension: id.extension.clone()?,
    })
}

fn optional_text(value: String) -> Option<String> {
    let value = value.trim().to_owned();
    (!value.is_empty()).then_some(value)
}

/// An HL7 time as an instant: with its own zone when it has one, else read as UTC (the
/// document gives no zone, and UTC keeps date searches on the date written).
fn instant(timestamp: &medgate_cda::Timestamp) -> OffsetDateTime {
    timestamp
        .to_offset_date_time()
        .unwrap_or_else(|| timestamp.to_primitive().assume_utc())
}

/// What the repository keeps of a parsed CDA document sent as `content_type`.
pub fn cda_metadata(
    header: &medgate_cda::CdaHeader,
    content_type: String,
    body: &[u8],
) -> Result<DocumentMetadata, RepositoryError> {
    cda_metadata_of(header, content_type, ContentFacts::of(body))
}

/// [`cda_metadata`] with the size and digests given (computed while the body was staged).
pub fn cda_metadata_of(
    header: &medgate_cda::CdaHeader,
    content_type: String,
    facts: ContentFacts,
) -> Result<DocumentMetadata, RepositoryError> {
    let invalid =
        |field: &str, message: String| RepositoryError::invalid(Reason::Cda, field, message);
    let document_id = DocumentId::parse(&header.id.to_string())
        .map_err(|e| invalid("ClinicalDocument/id", format!("ClinicalDocument/id: {e}.")))?;
    let set_id = header
        .set_id
        .as_ref()
        .map(|id| DocumentId::parse(&id.to_string()))
        .transpose()
        .map_err(|e| {
            invalid(
                "ClinicalDocument/setId",
                format!("ClinicalDocument/setId: {e}."),
            )
        })?;

    // The PESEL when there is a valid one (what Polish searches use), else a number under
    // the PESEL root even with a wrong check digit (stored with a warning, see
    // [`warnings`]: it is still what the document says the patient's PESEL is), else the
    // first identifier; every other one stays searchable, including further recordTargets'.
    let patient = &header.patient;
    let mut identifiers: Vec<PatientIdentifier> = Vec::new();
    if let Some(pesel) = patient.pesel() {
        identifiers.push(PatientIdentifier {
            root: pesel_oid()?,
            extension: pesel.as_str().to_owned(),
        });
    } else if let Some(storable) = patient
        .identifiers
        .iter()
        .find(|identifier| matches!(identifier.kind, medgate_cda::IdentifierKind::InvalidPesel(_)))
        .and_then(|identifier| storable_identifier(&identifier.id))
    {
        identifiers.push(storable);
    }
    let all_patients = std::iter::once(patient).chain(&header.other_patients);
    for identifier in all_patients.flat_map(|p| &p.identifiers) {
        if let Some(storable) = storable_identifier(&identifier.id) {
            if !identifiers.contains(&storable) {
                identifiers.push(storable);
            }
        }
    }
    if identifiers.is_empty() {
        return Err(invalid(
            "recordTarget/patientRole/id",
            "recordTarget/patientRole has no <id> with an OID root and an extension; the document cannot be found by patient.".to_owned(),
        ));
    }
    let main = identifiers.remove(0);

    let author = header.authors.first();
    let author_name = author.and_then(|a| {
        a.person
            .as_ref()
            .map(ToString::to_string)
            .and_then(optional_text)
            .or_else(|| a.device.clone())
    });
    let service_events: Vec<Value> = header
        .service_events
        .iter()
        .map(|event| {
            json!({
                "code": event.code.as_ref().map(|c| &c.code),
                "code_system": event.code.as_ref().and_then(|c| c.code_system.as_ref()).map(|s| s.as_str()),
                "display": event.code.as_ref().and_then(|c| c.display_name.as_ref()),
                "low": event.low.as_ref().map(|t| t.as_hl7()),
                "high": event.high.as_ref().map(|t| t.as_hl7()),
            })
        })
        .collect();
    let code = &header.document_type.code;
    Ok(DocumentMetadata {
        document_id,
        set_id,
        version: header.version_number,
        kind: DocumentKind::Cda,
        type_code: optional_text(code.code.clone()),
        type_system: code.code_system.as_ref().map(|s| s.as_str().to_owned()),
        type_display: code.display_name.clone(),
        class_code: header
            .document_type
            .p1_class
            .as_ref()
            .map(|c| c.code.clone()),
        title: header.title.clone().and_then(optional_text),
        effective_time: instant(&header.effective_time),
        effective_time_as_written: Some(header.effective_time.as_hl7().to_owned()),
        confidentiality: header.confidentiality.as_ref().map(|c| c.code.clone()),
        language: header.language.clone(),
        patient: main,
        other_patient_ids: identifiers,
        patient_name: patient
            .name
            .as_ref()
            .map(ToString::to_string)
            .and_then(optional_text),
        patient_birth_date: patient
            .birth_time
            .as_ref()
            .filter(|t| t.precision() >= medgate_cda::Precision::Day)
            .map(|t| t.date()),
        patient_gender: patient.gender.as_ref().map(gender_code),
        author_name,
        author_id: author.and_then(|a| a.ids.first()).map(ToString::to_string),
        organisation: author
            .and_then(|a| a.organization.as_ref())
            .and_then(|o| o.name.clone()),
        custodian: header.custodian.as_ref().and_then(|o| o.name.clone()),
        legal_authenticator: header
            .legal_authenticator
            .as_ref()
            .and_then(|l| l.person.as_ref())
            .map(ToString::to_string)
            .and_then(optional_text),
        service_event_json: (!service_events.is_empty())
            .then(|| Value::Array(service_events).to_string()),
        content_type,
        size_bytes: facts.size_bytes,
        sha256: facts.sha256,
        sha1: facts.sha1,
        content_key: new_content_key()?,
    })
}

/// The administrative gender code as written in documents (`F`, `M`, `UN`, …).
fn gender_code(gender: &medgate_cda::Gender) -> String {
    match gender {
        medgate_cda::Gender::Female => "F".to_owned(),
        medgate_cda::Gender::Male => "M".to_owned(),
        medgate_cda::Gender::Undifferentiated => "UN".to_owned(),
        medgate_cda::Gender::Other(code) => code.clone(),
    }
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
