//! Document routes: CDA ingest and attachments (signed writes that parse, hash and store in
//! the order the storage crate prescribes), search, the original bytes (hash-checked), the
//! metadata, the sanitised HTML view, the ZIP export and deletion for good.

use std::collections::HashMap;
use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::Json;
use medgate_ids::{Oid, Pesel};
use medgate_storage::{
    ContentKey, DocumentId, DocumentKind, DocumentMetadata, MetadataError, PatientIdentifier,
    PatientQuery, SearchQuery, Sha1Digest, Sha256Digest, StoredDocument,
};
use serde_json::{json, Value};
use time::{Date, OffsetDateTime, Time};

use medgate_web::api::{audit_patient, rfc3339, Incoming};
use medgate_web::auth::Caller;
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

/// Media types under which a CDA document may be sent; the first is assumed when the
/// request names none.
const CDA_CONTENT_TYPES: [&str; 3] = ["application/xml", "text/xml", "application/hl7-v3+xml"];

/// Largest page a search returns, so one request cannot make the server load everything.
const MAX_SEARCH_LIMIT: u32 = 500;

/// Arc under the tenant's repository id for the ids the server gives attachments that come
/// without one (`<repository id>.9^<random hex>`).
const ATTACHMENT_ID_ARC: u64 = 9;

/// The header carrying the SHA-256 of the bytes sent, so the client can check what it got.
const CONTENT_SHA256_HEADER: &str = "x-content-sha256";

const MEGABYTE: f64 = 1024.0 * 1024.0;

// ---------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------

/// `POST /api/v1/documents`: stores a CDA document sent as the request body.
pub async fn put_document(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let content_type = cda_content_type(&incoming.headers)?;
    let header = medgate_cda::parse(&body).map_err(|e| {
        ApiError::bad_request(
            "invalid_cda",
            format!("The document is not an acceptable HL7 CDA R2 document: {e}."),
        )
    })?;
    let metadata = cda_metadata(&header, content_type, &body)?;
    let stored = store(&state, &caller, &metadata, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "document": document_json(&stored) })),
    ))
}

/// `POST /api/v1/attachments?patient=P&title=T[&type=CODE][&id=ROOT^EXT]`: stores any file
/// (scan, photo, PDF…) for a patient.
pub async fn put_attachment(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let mut parameters = query_parameters(&incoming.uri, &["patient", "title", "type", "id"])?;
    let patient_text = parameters.remove("patient").ok_or_else(|| {
        ApiError::bad_request(
            "missing_parameter",
            "Give the patient: patient=<PESEL> or patient=<root>^<extension>.",
        )
    })?;
    let patient = parse_patient(&patient_text)?;
    let title = parameters
        .remove("title")
        .map(|title| title.trim().to_owned())
        .filter(|title| !title.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_parameter",
                "Give the attachment a title: title=<text>.",
            )
        })?;
    if title.chars().count() > 500 || title.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "bad_parameter",
            "title: at most 500 characters, no control characters.",
        ));
    }
    let document_type = match parameters.remove("type") {
        None => None,
        Some(code) => Some(known_document_type(&state, &caller, &code).await?),
    };
    let document_id = match parameters.remove("id") {
        Some(text) => DocumentId::parse(&text)
            .map_err(|e| ApiError::bad_request("bad_parameter", format!("id: {e}.")))?,
        None => generated_attachment_id(&caller)?,
    };
    let content_type = attachment_content_type(&incoming.headers)?;
    let now = OffsetDateTime::now_utc();
    let metadata = DocumentMetadata {
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
        effective_time: now,
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
        size_bytes: u64::try_from(body.len()).unwrap_or(u64::MAX),
        sha256: Sha256Digest::of(&body),
        sha1: Sha1Digest::of(&body),
        content_key: new_content_key()?,
    };
    let stored = store(&state, &caller, &metadata, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "document": document_json(&stored) })),
    ))
}

/// `DELETE /api/v1/documents/{id}`: removes the metadata, then the content (the reverse of
/// the ingest order, so a crash in between leaves only an orphan for the sweep).
pub async fn delete(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let document_id = path_document_id(id)?;
    delete_document(&state, &caller, &document_id).await?;
    Ok(Json(json!({ "deleted": document_id.as_str() })))
}

/// Deletes the caller's document for good (shared with the archive web page): the registry
/// entry, the metadata, then the content, audited; 404 when the caller has no such document.
pub(crate) async fn delete_document(
    state: &AppState,
    caller: &Caller,
    document_id: &DocumentId,
) -> Result<(), ApiError> {
    // The patient, for the audit entry (the patient's access log shows the deletion).
    let patient = state
        .metadata
        .get_document(&caller.tenant.id, document_id)
        .await
        .map_err(|e| ApiError::internal("reading document metadata", &e))?
        .map(|document| document.metadata.patient.extension);
    // An indexed document's registry entry goes first; if it cannot, nothing is deleted.
    super::national::withdraw_before_delete(state, caller, document_id).await?;
    let key = state
        .metadata
        .delete_document(&caller.tenant.id, document_id)
        .await
        .map_err(|e| ApiError::internal("deleting a document", &e))?
        .ok_or_else(|| ApiError::not_found("document"))?;
    if let Err(error) = state.content.delete(&key).await {
        // The metadata is gone, so the API no longer shows the document; the orphan sweep
        // removes the bytes at the next start.
        tracing::warn!(%error, content_key = %key, "content of a deleted document not removed");
    }
    audit_patient(
        state,
        caller,
        "document.delete",
        document_id.as_str(),
        patient.as_deref(),
        String::new(),
    )
    .await
}

/// Stores content then metadata; undoes the content when the metadata is refused.
async fn store(
    state: &AppState,
    caller: &Caller,
    metadata: &DocumentMetadata,
    body: Bytes,
) -> Result<StoredDocument, ApiError> {
    state
        .content
        .put(&metadata.content_key, body)
        .await
        .map_err(|e| ApiError::internal("storing content", &e))?;
    let stored = match state
        .metadata
        .insert_document(&caller.tenant.id, metadata)
        .await
    {
        Ok(stored) => stored,
        Err(error) => {
            if let Err(cleanup) = state.content.delete(&metadata.content_key).await {
                tracing::warn!(error = %cleanup, content_key = %metadata.content_key, "content of a refused document not removed; the orphan sweep will");
            }
            return Err(insert_error(error));
        }
    };
    let action = "document.put";
    let details = format!(
        "{} {} bytes, sha256 {}",
        kind_name(metadata.kind),
        metadata.size_bytes,
        metadata.sha256
    );
    audit_patient(
        state,
        caller,
        action,
        metadata.document_id.as_str(),
        Some(&metadata.patient.extension),
        details,
    )
    .await?;
    Ok(stored)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / MEGABYTE)
}

/// The refusals of the metadata store in the client's words.
fn insert_error(error: MetadataError) -> ApiError {
    match error {
        MetadataError::DocumentExists(id) => ApiError::new(
            StatusCode::CONFLICT,
            "document_exists",
            format!("document {id} is already stored; a new version needs a new id with the same setId and a higher versionNumber"),
        ),
        MetadataError::DocumentVersionExists { set_id, version } => ApiError::new(
            StatusCode::CONFLICT,
            "document_version_exists",
            format!("version {version} of document set {set_id} is already stored; a new version needs a higher versionNumber"),
        ),
        MetadataError::QuotaExceeded { used, requested, limit } => ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "quota_exceeded",
            format!(
                "the quota is exceeded: {} MB of {} MB used and this document needs {} MB more; delete documents or ask the operator for a larger plan",
                megabytes(used),
                megabytes(limit),
                megabytes(requested)
            ),
        ),
        MetadataError::FileLimitReached { limit } => ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "file_limit_reached",
            format!("the account already holds {limit} files, its maximum; delete documents or ask the operator for a larger plan"),
        ),
        other => ApiError::internal("storing document metadata", &other),
    }
}

fn new_content_key() -> Result<ContentKey, ApiError> {
    ContentKey::generate().map_err(|e| ApiError::internal("content key", &e))
}

/// `<repository id>.9^<32 random hex digits>`: unique without coordination, under an OID
/// the tenant owns, so it can never collide with ids the clinic software makes.
fn generated_attachment_id(caller: &Caller) -> Result<DocumentId, ApiError> {
    let repository = caller.tenant.repository_id.as_ref().ok_or_else(|| {
        ApiError::internal("attachment id", &"the active tenant has no repository id")
    })?;
    let mut random = [0u8; 16];
    aws_lc_rs::rand::fill(&mut random)
        .map_err(|_| ApiError::internal("attachment id", &"random source failed"))?;
    let root = repository.child(ATTACHMENT_ID_ARC);
    DocumentId::from_parts(root.as_str(), Some(&hex::encode(random)))
        .map_err(|e| ApiError::internal("attachment id", &e))
}

/// The catalogue entry for `code`, as (code, name); 400 naming the known codes otherwise.
async fn known_document_type(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> Result<(String, String), ApiError> {
    let types = state
        .metadata
        .list_document_types(&caller.tenant.id)
        .await
        .map_err(|e| ApiError::internal("document types", &e))?;
    match types.iter().find(|policy| policy.code == code) {
        Some(policy) => Ok((policy.code.to_owned(), policy.name.to_owned())),
        None => Err(ApiError::bad_request(
            "unknown_document_type",
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

/// The media type of a CDA upload (one of [`CDA_CONTENT_TYPES`]), without parameters.
fn cda_content_type(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(CDA_CONTENT_TYPES[0].to_owned());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if CDA_CONTENT_TYPES.contains(&essence.as_str()) {
        Ok(essence)
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_type",
            format!(
                "A CDA document is sent as {}; files of other kinds go to /api/v1/attachments.",
                CDA_CONTENT_TYPES.join(", ")
            ),
        ))
    }
}

/// The content type of an attachment as sent (it is sent back as a header on download, so
/// it must be a plain `type/subtype[; parameters]` in visible ASCII).
fn attachment_content_type(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok("application/octet-stream".to_owned());
    };
    let text = value.to_str().unwrap_or("").trim();
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
        Err(ApiError::bad_request(
            "bad_content_type",
            "Content-Type must be a media type such as application/pdf or image/jpeg.",
        ))
    }
}

/// A patient as the API takes it: a PESEL (checked), or `root^extension` with an OID root.
pub(crate) fn parse_patient(text: &str) -> Result<PatientIdentifier, ApiError> {
    let text = text.trim();
    if let Some((root, extension)) = text.split_once('^') {
        let root = Oid::parse(root).map_err(|e| {
            ApiError::bad_request(
                "bad_patient",
                format!("patient: the root of '{text}' is not an OID: {e}."),
            )
        })?;
        if extension.is_empty() || extension.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "bad_patient",
                format!("patient: '{text}' has no extension after '^'."),
            ));
        }
        if root.as_str() == Pesel::OID {
            Pesel::parse(extension)
                .map_err(|e| ApiError::bad_request("bad_patient", format!("patient: {e}.")))?;
        }
        return Ok(PatientIdentifier {
            root,
            extension: extension.to_owned(),
        });
    }
    let pesel = Pesel::parse(text).map_err(|e| {
        ApiError::bad_request(
            "bad_patient",
            format!("patient: {e}; give a PESEL or <root OID>^<identifier>."),
        )
    })?;
    Ok(PatientIdentifier {
        root: pesel_oid()?,
        extension: pesel.as_str().to_owned(),
    })
}

fn pesel_oid() -> Result<Oid, ApiError> {
    Oid::parse(Pesel::OID).map_err(|e| ApiError::internal("PESEL OID", &e))
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

/// What the repository keeps of a parsed CDA document.
fn cda_metadata(
    header: &medgate_cda::CdaHeader,
    content_type: String,
    body: &[u8],
) -> Result<DocumentMetadata, ApiError> {
    let document_id = DocumentId::parse(&header.id.to_string())
        .map_err(|e| ApiError::bad_request("invalid_cda", format!("ClinicalDocument/id: {e}.")))?;
    let set_id = header
        .set_id
        .as_ref()
        .map(|id| DocumentId::parse(&id.to_string()))
        .transpose()
        .map_err(|e| {
            ApiError::bad_request("invalid_cda", format!("ClinicalDocument/setId: {e}."))
        })?;

    // The PESEL when there is a valid one (what Polish searches use), else the first
    // identifier; every other one stays searchable, including further recordTargets'.
    let patient = &header.patient;
    let mut identifiers: Vec<PatientIdentifier> = Vec::new();
    if let Some(pesel) = patient.pesel() {
        identifiers.push(PatientIdentifier {
            root: pesel_oid()?,
            extension: pesel.as_str().to_owned(),
        });
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
        return Err(ApiError::bad_request(
            "invalid_cda",
            "recordTarget/patientRole has no <id> with an OID root and an extension; the document cannot be found by patient.",
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
        size_bytes: u64::try_from(body.len()).unwrap_or(u64::MAX),
        sha256: Sha256Digest::of(body),
        sha1: Sha1Digest::of(body),
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

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

/// `GET /api/v1/documents?patient=&from=&to=&type=&author=&title=&limit=&offset=`.
pub async fn search(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let mut parameters = query_parameters(
        &incoming.uri,
        &[
            "patient", "from", "to", "type", "author", "title", "limit", "offset",
        ],
    )?;
    let mut query = SearchQuery::default();
    if let Some(patient) = parameters
        .remove("patient")
        .filter(|p| !p.trim().is_empty())
    {
        let patient = patient.trim();
        query.patient = Some(match patient.split_once('^') {
            Some((root, extension)) => PatientQuery {
                root: Some(Oid::parse(root).map_err(|e| {
                    ApiError::bad_request(
                        "bad_parameter",
                        format!("patient: the root of '{patient}' is not an OID: {e}."),
                    )
                })?),
                extension: extension.to_owned(),
            },
            None => PatientQuery {
                root: None,
                extension: patient.to_owned(),
            },
        });
    }
    if let Some(from) = parameters.remove("from") {
        query.effective_from = Some(
            parse_day("from", &from)?
                .with_time(Time::MIDNIGHT)
                .assume_utc(),
        );
    }
    if let Some(to) = parameters.remove("to") {
        // Inclusive: everything up to the last second of that day (times are stored in
        // whole seconds).
        let day = parse_day("to", &to)?;
        query.effective_to = Some(
            day.with_time(Time::MIDNIGHT).assume_utc() + time::Duration::days(1)
                - time::Duration::seconds(1),
        );
    }
    if let (Some(from), Some(to)) = (query.effective_from, query.effective_to) {
        if from > to {
            return Err(ApiError::bad_request("bad_parameter", "from: is after to."));
        }
    }
    query.type_code = parameters.remove("type").filter(|t| !t.is_empty());
    query.author = parameters.remove("author").filter(|t| !t.is_empty());
    query.title = parameters.remove("title").filter(|t| !t.is_empty());
    if let Some(limit) = parameters.remove("limit") {
        query.limit = limit
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_SEARCH_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "bad_parameter",
                    format!("limit: '{limit}' is not a number from 1 to {MAX_SEARCH_LIMIT}."),
                )
            })?;
    }
    if let Some(offset) = parameters.remove("offset") {
        query.offset = offset
            .parse::<u64>()
            .ok()
            .filter(|o| *o <= i64::MAX as u64)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "bad_parameter",
                    format!("offset: '{offset}' is not a number of results to skip."),
                )
            })?;
    }
    let page = state
        .metadata
        .search_documents(&caller.tenant.id, &query)
        .await
        .map_err(|e| ApiError::internal("searching documents", &e))?;
    // One entry per search: the filters and how many matched; the patient only when the
    // search was by patient (never the ids of the patients found).
    audit_patient(
        &state,
        &caller,
        "document.search",
        "documents",
        query.patient.as_ref().map(|p| p.extension.as_str()),
        search_details(&query, page.total),
    )
    .await?;
    // Each document also says whether it is stored (always, here) and shared by a consent.
    let found: Vec<&StoredDocument> = page.documents.iter().collect();
    let shared = super::consents::shared_now(&state, &caller.tenant.id, &found).await?;
    let documents: Vec<Value> = page
        .documents
        .iter()
        .map(|d| {
            let consent = shared.contains(&d.metadata.document_id);
            super::consents::with_marks(document_json(d), consent)
        })
        .collect();
    Ok(Json(json!({
        "total": page.total,
        "documents": documents,
    })))
}

/// The audit details of a search: its filters and the number of matches.
fn search_details(query: &SearchQuery, total: u64) -> String {
    let mut parts = Vec::new();
    if let Some(patient) = &query.patient {
        match &patient.root {
            Some(root) => parts.push(format!("patient={root}^{}", patient.extension)),
            None => parts.push(format!("patient={}", patient.extension)),
        }
    }
    if let Some(from) = query.effective_from {
        parts.push(format!("from={}", format_date(from.date())));
    }
    if let Some(to) = query.effective_to {
        parts.push(format!("to={}", format_date(to.date())));
    }
    for (name, value) in [
        ("type", &query.type_code),
        ("author", &query.author),
        ("title", &query.title),
    ] {
        if let Some(value) = value {
            parts.push(format!("{name}={value:?}"));
        }
    }
    parts.push(format!("limit={} offset={}", query.limit, query.offset));
    format!("{}; {total} matches", parts.join(" "))
}

/// `GET /api/v1/documents/{id}`: the original bytes, checked against the stored SHA-256.
pub async fn get_content(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let caller = incoming.caller(&state).await?;
    let document = find(&state, &caller, id).await?;
    let bytes = checked_content(&state, &document).await?;
    let metadata = &document.metadata;
    audit_patient(
        &state,
        &caller,
        "document.read",
        metadata.document_id.as_str(),
        Some(&metadata.patient.extension),
        String::new(),
    )
    .await?;
    Ok(content_download(metadata, bytes))
}

/// `GET /api/v1/documents/{id}/metadata`.
pub async fn get_metadata(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let document = find(&state, &caller, id).await?;
    let shared = super::consents::shared_now(&state, &caller.tenant.id, &[&document]).await?;
    audit_patient(
        &state,
        &caller,
        "document.metadata",
        document.metadata.document_id.as_str(),
        Some(&document.metadata.patient.extension),
        String::new(),
    )
    .await?;
    let marked = super::consents::with_marks(
        document_json(&document),
        shared.contains(&document.metadata.document_id),
    );
    Ok(Json(json!({ "document": marked })))
}

/// `GET /api/v1/documents/{id}/render`: the sanitised HTML view, under a strict CSP so that
/// even a rendering mistake could not run script or load anything.
pub async fn render(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let caller = incoming.caller(&state).await?;
    let document = find(&state, &caller, id).await?;
    if document.metadata.kind != DocumentKind::Cda {
        return Err(ApiError::bad_request(
            "not_cda",
            "This document is an attachment, not a CDA document; download it with GET /api/v1/documents/{id}.",
        ));
    }
    let bytes = checked_content(&state, &document).await?;
    let html = tokio::task::spawn_blocking(move || medgate_cda::render_html(&bytes))
        .await
        .map_err(|e| ApiError::internal("rendering", &e))?
        .map_err(|e| ApiError::internal("rendering a stored document", &e))?;
    audit_patient(
        &state,
        &caller,
        "document.render",
        document.metadata.document_id.as_str(),
        Some(&document.metadata.patient.extension),
        String::new(),
    )
    .await?;
    response(
        HeaderValue::from_static("text/html; charset=utf-8"),
        &[
            (
                header::CONTENT_SECURITY_POLICY.as_str(),
                medgate_cda::CONTENT_SECURITY_POLICY.to_owned(),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS.as_str(),
                "nosniff".to_owned(),
            ),
            (header::REFERRER_POLICY.as_str(), "no-referrer".to_owned()),
        ],
        Bytes::from(html),
    )
}

/// `GET /api/v1/documents/{id}/export`: a ZIP that opens rendered in a browser (the XML
/// with a stylesheet instruction, and the stylesheet), or for an attachment the file itself.
pub async fn export(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let caller = incoming.caller(&state).await?;
    let document = find(&state, &caller, id).await?;
    let bytes = checked_content(&state, &document).await?;
    let (file_name, archive) = export_zip(&document, bytes).await?;
    let metadata = &document.metadata;
    audit_patient(
        &state,
        &caller,
        "document.export",
        metadata.document_id.as_str(),
        Some(&metadata.patient.extension),
        String::new(),
    )
    .await?;
    response(
        HeaderValue::from_static("application/zip"),
        &[(
            header::CONTENT_DISPOSITION.as_str(),
            format!("attachment; filename=\"{file_name}\""),
        )],
        Bytes::from(archive),
    )
}

/// The export ZIP of a document and its checked bytes, with its file name (shared with the
/// archive web page).
pub(crate) async fn export_zip(
    document: &StoredDocument,
    bytes: Bytes,
) -> Result<(String, Vec<u8>), ApiError> {
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
        .map_err(|e| ApiError::internal("export", &e))?
        .map_err(|e| ApiError::internal("building the ZIP export", &e))?;
    Ok((format!("{base_name}.zip"), archive))
}

/// The caller's document named in the path; 404 alike for missing and other tenants'.
async fn find(
    state: &AppState,
    caller: &Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<StoredDocument, ApiError> {
    let document_id = path_document_id(id)?;
    state
        .metadata
        .get_document(&caller.tenant.id, &document_id)
        .await
        .map_err(|e| ApiError::internal("reading document metadata", &e))?
        .ok_or_else(|| ApiError::not_found("document"))
}

fn path_document_id(id: Result<Path<String>, PathRejection>) -> Result<DocumentId, ApiError> {
    let Path(text) = id.map_err(|_| {
        ApiError::bad_request(
            "bad_document_id",
            "The document id in the path cannot be read; percent-encode it.",
        )
    })?;
    DocumentId::parse(&text).map_err(|e| ApiError::bad_request("bad_document_id", format!("{e}.")))
}

/// The stored bytes, refused if they no longer match the hash taken at ingest: a corrupted
/// medical document must not be handed out as if it were the original.
pub(crate) async fn checked_content(state: &AppState, document: &StoredDocument) -> Result<Bytes, ApiError> {
    let metadata = &document.metadata;
    let bytes = state
        .content
        .get(&metadata.content_key)
        .await
        .map_err(|e| ApiError::internal("reading content", &e))?;
    if Sha256Digest::of(&bytes) != metadata.sha256 {
        tracing::error!(
            tenant = %document.tenant,
            document = %metadata.document_id,
            content_key = %metadata.content_key,
            "stored content does not match its SHA-256"
        );
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "content_corrupted",
            format!(
                "The stored bytes of document {} no longer match their SHA-256; they are not sent. Report this to the operator.",
                metadata.document_id
            ),
        ));
    }
    Ok(bytes)
}

fn response(
    content_type: HeaderValue,
    headers: &[(&str, String)],
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type);
    for (name, value) in headers {
        builder = builder.header(*name, value.as_str());
    }
    builder
        .body(Body::from(body))
        .map_err(|e| ApiError::internal("building a response", &e))
}

/// A file name made of `[A-Za-z0-9._-]` only, so it is safe in a header, a ZIP and on any
/// file system.
pub(crate) fn safe_file_name(text: &str) -> String {
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

/// Media types a stored file is sent back with as its own type: the CDA's XML types, PDF,
/// common images, plain text — none of which a browser runs script in when it renders them
/// (SVG, HTML and the like are left out on purpose). Any other stored type goes out as
/// `application/octet-stream`.
const SERVED_AS_IS: [&str; 9] = [
    "application/xml",
    "text/xml",
    "application/hl7-v3+xml",
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/tiff",
    "text/plain",
];

/// The `Content-Type` a stored file is sent with: its media type (without parameters) when
/// [`SERVED_AS_IS`] lists it, else `application/octet-stream`.
pub(crate) fn served_content_type(content_type: &str) -> &'static str {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    SERVED_AS_IS
        .iter()
        .find(|allowed| **allowed == essence)
        .copied()
        .unwrap_or("application/octet-stream")
}

/// A stored document's (checked) bytes as a download, the one way they leave the node as a
/// file — the API, FHIR `Binary`, the administrator's archive, the portal: an attachment
/// with a safe file name, the type from [`served_content_type`], the sandbox CSP of every
/// download, `nosniff`, and their SHA-256. An uploader's `text/html` is thus never rendered on
/// this origin, where the staff pages and the portal live.
pub(crate) fn content_download(metadata: &DocumentMetadata, bytes: Bytes) -> Response {
    let file_name = format!(
        "{}.{}",
        safe_file_name(metadata.document_id.as_str()),
        extension_for(&metadata.content_type)
    );
    let mut response = medgate_web::layout::download(
        served_content_type(&metadata.content_type),
        &file_name,
        bytes,
    );
    if let Ok(value) = HeaderValue::from_str(&metadata.sha256.to_hex()) {
        response.headers_mut().insert(CONTENT_SHA256_HEADER, value);
    }
    response
}

/// The usual file extension of a media type.
pub(crate) fn extension_for(content_type: &str) -> &'static str {
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

pub(crate) fn zip_time(time: OffsetDateTime) -> zip::DateTime {
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

pub(crate) fn zip_entries(
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

// ---------------------------------------------------------------------------------------
// Shapes shared by the routes
// ---------------------------------------------------------------------------------------

/// The query string as a map; an unknown or repeated parameter is refused by name, so that
/// a misspelt filter does not silently match everything.
pub(crate) fn query_parameters(uri: &Uri, known: &[&str]) -> Result<HashMap<String, String>, ApiError> {
    let Query(pairs): Query<Vec<(String, String)>> = Query::try_from_uri(uri).map_err(|_| {
        ApiError::bad_request(
            "bad_query",
            "The query string cannot be read; percent-encode its values.",
        )
    })?;
    let mut parameters = HashMap::new();
    for (name, value) in pairs {
        if !known.contains(&name.as_str()) {
            return Err(ApiError::bad_request(
                "bad_parameter",
                format!("{name}: unknown parameter; known: {}.", known.join(", ")),
            ));
        }
        if parameters.insert(name.clone(), value).is_some() {
            return Err(ApiError::bad_request(
                "bad_parameter",
                format!("{name}: given more than once."),
            ));
        }
    }
    Ok(parameters)
}

fn parse_day(name: &str, text: &str) -> Result<Date, ApiError> {
    Date::parse(
        text.trim(),
        &time::format_description::well_known::Iso8601::DATE,
    )
    .ok()
    .filter(|_| text.trim().len() == 10)
    .ok_or_else(|| {
        ApiError::bad_request(
            "bad_parameter",
            format!("{name}: '{text}' is not a date in the form YYYY-MM-DD."),
        )
    })
}

fn kind_name(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Cda => "cda",
        DocumentKind::Attachment => "attachment",
    }
}

fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A document's metadata as every answer shows it.
fn document_json(document: &StoredDocument) -> Value {
    let metadata = &document.metadata;
    json!({
        "id": metadata.document_id.as_str(),
        "kind": kind_name(metadata.kind),
        "set_id": metadata.set_id.as_ref().map(DocumentId::as_str),
        "version": metadata.version,
        "type_code": metadata.type_code,
        "type_system": metadata.type_system,
        "type_display": metadata.type_display,
        "class_code": metadata.class_code,
        "title": metadata.title,
        "effective_time": rfc3339(metadata.effective_time),
        "confidentiality": metadata.confidentiality,
        "language": metadata.language,
        "patient": {
            "root": metadata.patient.root.as_str(),
            "extension": metadata.patient.extension,
        },
        "patient_name": metadata.patient_name,
        "patient_birth_date": metadata.patient_birth_date.map(format_date),
        "patient_gender": metadata.patient_gender,
        "author": metadata.author_name,
        "organisation": metadata.organisation,
        "custodian": metadata.custodian,
        "legal_authenticator": metadata.legal_authenticator,
        "content_type": metadata.content_type,
        "size": metadata.size_bytes,
        "sha256": metadata.sha256.to_hex(),
        "sha1": metadata.sha1.to_hex(),
        "created_at": rfc3339(document.created_at),
        "indexed_at": document.indexed_at.map(rfc3339),
        "indexed": document.indexed_at.is_some(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(safe_file_name("2.16.840.1^0001"), "2.16.840.1_0001");
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name("..."), "document");
        assert_eq!(safe_file_name("a\"b\r\nc"), "a_b__c");
    }

    #[test]
    fn patients_are_pesels_or_root_and_extension() {
        let pesel = parse_patient("44051401359").unwrap();
        assert_eq!(pesel.root.as_str(), Pesel::OID);
        assert_eq!(pesel.extension, "44051401359");
        assert_eq!(
            parse_patient("44051401358").unwrap_err().code(),
            "bad_patient"
        );
        let other = parse_patient("2.16.840.1.113883.19.5^998991").unwrap();
        assert_eq!(other.extension, "998991");
        assert_eq!(parse_patient("x.y^1").unwrap_err().code(), "bad_patient");
    }

    #[test]
    fn attachment_content_types_must_be_media_types() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/pdf"),
        );
        assert_eq!(
            attachment_content_type(&headers).unwrap(),
            "application/pdf"
        );
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        assert_eq!(
            attachment_content_type(&headers).unwrap(),
            "text/plain; charset=utf-8"
        );
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("pdf"));
        assert!(attachment_content_type(&headers).is_err());
        assert_eq!(
            attachment_content_type(&HeaderMap::new()).unwrap(),
            "application/octet-stream"
        );
    }

    #[test]
    fn only_listed_types_are_served_as_themselves() {
        for (stored, served) in [
            ("application/pdf", "application/pdf"),
            ("Image/JPEG", "image/jpeg"),
            ("application/hl7-v3+xml", "application/hl7-v3+xml"),
            ("text/plain; charset=utf-8", "text/plain"),
            ("text/html", "application/octet-stream"),
            ("text/html; charset=utf-8", "application/octet-stream"),
            ("image/svg+xml", "application/octet-stream"),
            ("application/xhtml+xml", "application/octet-stream"),
            ("application/octet-stream", "application/octet-stream"),
        ] {
            assert_eq!(served_content_type(stored), served, "{stored}");
        }
    }

    #[test]
    fn downloads_are_attachments_under_the_sandbox() {
        let body = b"<script>x()</script>";
        let metadata = DocumentMetadata {
            document_id: DocumentId::parse("1.2.3^x").unwrap(),
            set_id: None,
            version: None,
            kind: DocumentKind::Attachment,
            type_code: None,
            type_system: None,
            type_display: None,
            class_code: None,
            title: None,
            effective_time: OffsetDateTime::UNIX_EPOCH,
            confidentiality: None,
            language: None,
            patient: parse_patient("44051401359").unwrap(),
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
            content_type: "text/html".to_owned(),
            size_bytes: 20,
            sha256: Sha256Digest::of(body),
            sha1: Sha1Digest::of(body),
            content_key: ContentKey::generate().unwrap(),
        };
        let response = content_download(&metadata, Bytes::from_static(body));
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"1.2.3_x.bin\""
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            medgate_web::layout::DOWNLOAD_CSP
        );
        assert_eq!(
            headers[CONTENT_SHA256_HEADER],
            Sha256Digest::of(body).to_hex().as_str()
        );
    }

    #[test]
    fn days_must_be_complete_dates() {
        assert!(parse_day("from", "2024-01-05").is_ok());
        assert_eq!(
            parse_day("from", "2024-1-5").unwrap_err().code(),
            "bad_parameter"
        );
        assert!(parse_day("to", "yesterday")
            .unwrap_err()
            .to_string()
            .contains("to: 'yesterday'"));
    }
}
