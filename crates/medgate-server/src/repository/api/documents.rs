//! Document routes: CDA ingest and attachments (signed writes), search, the original bytes
//! (hash-checked), the metadata, the sanitised HTML view, the ZIP export and deletion for
//! good. Each handler authenticates, makes one call to the repository domain
//! (`medgate_repository::{ingest, search, documents, export}`) and shapes the answer.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::Json;
use medgate_repository::export::download_name;
use medgate_repository::ingest::{kind_name, AttachmentUpload};
use medgate_repository::{documents, export, format_date, ingest, search};
use medgate_storage::{DocumentId, DocumentMetadata, StoredDocument};
use futures_util::StreamExt;
use serde_json::{json, Value};

use medgate_web::api::{rfc3339, Incoming};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;
use medgate_web::stored_file::content_download;
use medgate_web::streamed::stage_body;

use super::MAX_BODY_BYTES;
use crate::repository::{domain, national, refused};

// ---------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------

/// The `Content-Type` as sent: `None` when absent, empty when it is not visible ASCII.
fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or(""))
}

/// `POST /api/v1/documents`: stores a CDA document sent as the request body. The body is
/// streamed to a staged file (never held whole while it arrives), the signature checked
/// against its digests; the document is then read into memory once for its header parse,
/// within the node's and the account's body budget, and stored from the file.
pub async fn put_document(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let staged = stage_body(&state.staging, body, MAX_BODY_BYTES).await?;
    let caller = incoming.signed_caller_digested(&state, &staged.digests).await?;
    let size = usize::try_from(staged.file.len()).unwrap_or(usize::MAX);
    let _room = state
        .body_budget
        .hold(Some(caller.tenant.id.as_str()), size)
        .await?;
    let stored = ingest::put_staged_document(
        &domain(&state),
        &caller.actor(),
        content_type(&incoming.headers),
        staged.file,
    )
    .await
    .map_err(refused)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "document": document_json(&stored),
            "warnings": ingest::warnings(&stored.metadata),
        })),
    ))
}

/// Most documents one batch may carry.
pub const MAX_BATCH_DOCUMENTS: usize = 1000;

/// `POST /api/v1/documents/batch`: several CDA documents in one signed request, as
/// `multipart/form-data` with one part per document (any part name; a part's `Content-Type`
/// is the document's, XML when absent). Each document is stored or refused on its own, and
/// the answer lists, part by part in the order sent, what happened to it: `stored` (with the
/// document and its warnings) or `refused` (with the status, code and message a single upload
/// would have got). The documents are stored several at a time, so they share the writer's
/// commits. The whole body is checked against its signature before any part is looked at.
pub async fn put_batch(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let staged = stage_body(&state.staging, body, MAX_BODY_BYTES).await?;
    let caller = incoming.signed_caller_digested(&state, &staged.digests).await?;
    let boundary = content_type(&incoming.headers)
        .and_then(|value| multer::parse_boundary(value).ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "batch_not_multipart",
                "A batch is sent as multipart/form-data with a boundary, one part per CDA document.",
            )
        })?;
    let size = usize::try_from(staged.file.len()).unwrap_or(usize::MAX);
    // The body and the parts cut from it are in memory together.
    let _room = state
        .body_budget
        .hold(Some(caller.tenant.id.as_str()), size.saturating_mul(2))
        .await?;
    let bytes = staged
        .file
        .read_to_memory()
        .await
        .map_err(|e| ApiError::internal("reading a batch", &e))?;
    let mut multipart = multer::Multipart::new(
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) }),
        boundary,
    );
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| bad_batch(&e))? {
        if parts.len() == MAX_BATCH_DOCUMENTS {
            return Err(ApiError::bad_request(
                "batch_too_many_documents",
                format!("A batch holds at most {MAX_BATCH_DOCUMENTS} documents; send the rest in another."),
            ));
        }
        let filename = field.file_name().map(str::to_owned);
        let media_type = field.content_type().map(|mime| mime.essence_str().to_owned());
        let content = field.bytes().await.map_err(|e| bad_batch(&e))?;
        parts.push((filename, media_type, content));
    }
    if parts.is_empty() {
        return Err(ApiError::bad_request(
            "batch_empty",
            "The batch holds no document: send one multipart part per CDA document.",
        ));
    }

    // Every part read first (refusals of unreadable documents need no storage), then stored
    // several at a time in waves: a document whose id (or setId and version) an earlier part
    // of the batch carries waits for the wave after that part's, so the earlier one wins as
    // it would sent one by one.
    let mut results: Vec<Option<Value>> = vec![None; parts.len()];
    let mut waves: Vec<Vec<(usize, DocumentMetadata, Bytes)>> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, (filename, media_type, content)) in parts.into_iter().enumerate() {
        let mut result = json!({ "part": index + 1 });
        if let Some(filename) = filename {
            result["filename"] = json!(filename);
        }
        results[index] = Some(result);
        match ingest::prepare_document(media_type.as_deref(), &content) {
            Ok(metadata) => {
                let mut keys = vec![metadata.document_id.as_str().to_owned()];
                if let (Some(set), Some(version)) = (&metadata.set_id, metadata.version) {
                    keys.push(format!("set {set} {version}"));
                }
                let wave = keys.iter().map(|key| seen.get(key).copied().unwrap_or(0)).max().unwrap_or(0);
                for key in keys {
                    seen.insert(key, wave + 1);
                }
                if waves.len() <= wave {
                    waves.resize_with(wave + 1, Vec::new);
                }
                waves[wave].push((index, metadata, content));
            }
            Err(error) => refused_part(results[index].as_mut(), error),
        }
    }
    let repository = domain(&state);
    let actor = caller.actor();
    for wave in waves {
        // The content files several at a time; then the metadata, queued in part order so
        // that the plan's limits take the earlier parts first (as one by one) and the wave
        // shares the writer's commits.
        let written: Vec<(usize, DocumentMetadata, Result<(), _>)> = futures_util::stream::iter(wave)
            .map(|(index, metadata, content)| {
                let repository = &repository;
                async move {
                    let written = ingest::put_content(repository, &metadata, content).await;
                    (index, metadata, written)
                }
            })
            .buffered(BATCH_IN_FLIGHT)
            .collect()
            .await;
        let mut commits = Vec::new();
        for (index, metadata, written) in written {
            match written {
                Ok(()) => commits.push((index, metadata)),
                Err(error) => refused_part(results[index].as_mut(), error),
            }
        }
        let outcomes = futures_util::future::join_all(commits.iter().map(|(index, metadata)| {
            let (repository, actor) = (&repository, &actor);
            async move { (*index, ingest::commit(repository, actor, metadata).await) }
        }))
        .await;
        for (index, outcome) in outcomes {
            match outcome {
                Ok(stored) => {
                    if let Some(result) = results[index].as_mut() {
                        result["status"] = json!("stored");
                        result["document"] = document_json(&stored);
                        result["warnings"] = json!(ingest::warnings(&stored.metadata));
                    }
                }
                Err(error) => refused_part(results[index].as_mut(), error),
            }
        }
    }
    let results: Vec<Value> = results.into_iter().flatten().collect();
    let stored = results.iter().filter(|r| r["status"] == "stored").count();
    Ok(Json(json!({
        "stored": stored,
        "refused": results.len() - stored,
        "results": results,
    })))
}

/// Content files of one batch written at the same time.
const BATCH_IN_FLIGHT: usize = 8;

/// A part's refusal: what a single upload of it would have been answered.
fn refused_part(result: Option<&mut Value>, error: medgate_repository::RepositoryError) {
    let error = refused(error);
    if let Some(result) = result {
        result["status"] = json!("refused");
        result["error"] = json!({
            "status": error.status().as_u16(),
            "code": error.code(),
            "message": error.message(),
        });
    }
}

fn bad_batch(error: &multer::Error) -> ApiError {
    ApiError::bad_request(
        "batch_malformed",
        format!("The batch is not well-formed multipart/form-data: {error}."),
    )
}

/// `POST /api/v1/attachments?patient=P&title=T[&type=CODE][&id=ROOT^EXT]`: stores any file
/// (scan, photo, PDF…) for a patient. Streamed to a staged file and stored from it: never
/// read whole into memory.
pub async fn put_attachment(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let staged = stage_body(&state.staging, body, MAX_BODY_BYTES).await?;
    let caller = incoming.signed_caller_digested(&state, &staged.digests).await?;
    let mut parameters = query_parameters(&incoming.uri, &["patient", "title", "type", "id"])?;
    let upload = AttachmentUpload {
        patient: parameters.remove("patient"),
        title: parameters.remove("title"),
        type_code: parameters.remove("type"),
        id: parameters.remove("id"),
        content_type: content_type(&incoming.headers).map(str::to_owned),
    };
    let stored = ingest::put_staged_attachment(
        &domain(&state),
        &caller.actor(),
        caller.tenant.repository_id.as_ref(),
        upload,
        staged.file,
    )
    .await
    .map_err(refused)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "document": document_json(&stored) })),
    ))
}

/// `DELETE /api/v1/documents/{id}`: removes the registry entry when indexed, the metadata,
/// then the content.
pub async fn delete(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let document_id = path_document_id(id)?;
    documents::delete(
        &domain(&state),
        &national(&state),
        &caller.actor(),
        &document_id,
    )
    .await
    .map_err(refused)?;
    Ok(Json(json!({ "deleted": document_id.as_str() })))
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
    let parameters = query_parameters(&incoming.uri, &search::PARAMETERS)?;
    let query = search::query(parameters).map_err(refused)?;
    let found = search::search(&domain(&state), &caller.actor(), &query)
        .await
        .map_err(refused)?;
    // Each document also says whether it is stored (always, here) and shared by a consent,
    // and, in a search by patient, which of its identifiers matched.
    let documents: Vec<Value> = found
        .page
        .documents
        .iter()
        .map(|d| {
            let mut document = with_marks(
                document_json(d),
                found.shared.contains(&d.metadata.document_id),
            );
            if let (Some(patient), Some(object)) = (&query.patient, document.as_object_mut()) {
                let matched = search::matched_identifier(patient, &d.metadata);
                object.insert(
                    "matched_patient".to_owned(),
                    matched.map(identifier_json).unwrap_or(Value::Null),
                );
            }
            document
        })
        .collect();
    Ok(Json(json!({
        "total": found.page.total,
        "documents": documents,
    })))
}

/// `GET /api/v1/documents/{id}`: the original bytes, checked against the stored SHA-256.
pub async fn get_content(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let caller = incoming.caller(&state).await?;
    let document_id = path_document_id(id)?;
    let (document, bytes) = documents::read(&domain(&state), &caller.actor(), &document_id)
        .await
        .map_err(refused)?;
    let metadata = &document.metadata;
    Ok(content_download(metadata, &download_name(metadata), bytes))
}

/// `GET /api/v1/documents/{id}/metadata`.
pub async fn get_metadata(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.caller(&state).await?;
    let document_id = path_document_id(id)?;
    let (document, shared) = documents::metadata(&domain(&state), &caller.actor(), &document_id)
        .await
        .map_err(refused)?;
    Ok(Json(
        json!({ "document": with_marks(document_json(&document), shared) }),
    ))
}

/// `GET /api/v1/documents/{id}/render`: the sanitised HTML view, under a strict CSP so that
/// even a rendering mistake could not run script or load anything.
pub async fn render(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let caller = incoming.caller(&state).await?;
    let document_id = path_document_id(id)?;
    let html = documents::render(&domain(&state), &caller.actor(), &document_id)
        .await
        .map_err(refused)?;
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
    let document_id = path_document_id(id)?;
    let export = export::export(&domain(&state), &caller.actor(), &document_id)
        .await
        .map_err(refused)?;
    response(
        HeaderValue::from_static("application/zip"),
        &[(
            header::CONTENT_DISPOSITION.as_str(),
            format!("attachment; filename=\"{}\"", export.file_name),
        )],
        Bytes::from(export.archive),
    )
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

// ---------------------------------------------------------------------------------------
// Shapes shared by the routes
// ---------------------------------------------------------------------------------------

/// The query string as a map; an unknown or repeated parameter is refused by name, so that
/// a misspelt filter does not silently match everything.
pub(crate) fn query_parameters(
    uri: &Uri,
    known: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
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

/// Adds the `stored` and `consent` marks to a document's JSON.
fn with_marks(mut document: Value, consent: bool) -> Value {
    if let Some(object) = document.as_object_mut() {
        object.insert("stored".to_owned(), Value::Bool(true));
        object.insert("consent".to_owned(), Value::Bool(consent));
    }
    document
}

/// A patient identifier as the answers show it.
fn identifier_json(identifier: &medgate_storage::PatientIdentifier) -> Value {
    json!({ "root": identifier.root.as_str(), "extension": identifier.extension })
}

/// A document's metadata as every answer shows it.
fn document_json(document: &StoredDocument) -> Value {
    let metadata = &document.metadata;
    let effective = medgate_repository::dates::DocumentTime::of(metadata);
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
        "effective_time": effective.rfc3339(),
        "effective_time_text": effective.display(),
        "effective_time_hl7": effective.as_hl7(),
        "effective_time_precision": effective.precision(),
        "confidentiality": metadata.confidentiality,
        "language": metadata.language,
        "patient": {
            "root": metadata.patient.root.as_str(),
            "extension": metadata.patient.extension,
        },
        "patient_ids": std::iter::once(&metadata.patient)
            .chain(&metadata.other_patient_ids)
            .map(identifier_json)
            .collect::<Vec<_>>(),
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
    fn unknown_and_repeated_parameters_are_refused_by_name() {
        let uri: Uri = "/api/v1/documents?patient=1&limit=2".parse().unwrap();
        let parameters = query_parameters(&uri, &search::PARAMETERS).unwrap();
        assert_eq!(parameters["limit"], "2");
        let misspelt: Uri = "/api/v1/documents?patien=1".parse().unwrap();
        let error = query_parameters(&misspelt, &search::PARAMETERS).unwrap_err();
        assert_eq!(error.code(), "bad_parameter");
        assert!(error
            .message()
            .starts_with("patien: unknown parameter; known: patient, "));
        let twice: Uri = "/api/v1/documents?limit=1&limit=2".parse().unwrap();
        assert_eq!(
            query_parameters(&twice, &search::PARAMETERS)
                .unwrap_err()
                .message(),
            "limit: given more than once."
        );
    }

    #[test]
    fn search_results_are_marked_stored_and_shared() {
        let marked = with_marks(json!({ "id": "1.2^3" }), true);
        assert_eq!(marked["stored"], true);
        assert_eq!(marked["consent"], true);
    }
}
