//! The FHIR facade: a read-only FHIR R4 view of the tenant's documents in the shape of IHE
//! MHD (Find Document References, Retrieve Document), under `/fhir`, authenticated like the
//! API (the account's TLS client certificate; reads need no signature) and audited like
//! every other read.
//!
//! - `GET /fhir/DocumentReference?patient.identifier=SYSTEM|VALUE` — a `searchset` Bundle of
//!   the patient's documents, newest first. `SYSTEM` is `urn:oid:<root>` (PESEL:
//!   `urn:oid:2.16.840.1.113883.3.4424.1.1.616`); `VALUE` alone or `|VALUE` matches the value
//!   under any root. Also `status` (only `current` documents exist), `_count` (1–500,
//!   default 50; `0` for the total alone), `_offset` (from the `next` link), `_summary`
//!   (`count`: the total alone; `false`: the default), `_totalMethod` (accepted; the total is
//!   always exact) and `_format` (`json` only). Unknown parameters follow FHIR's `Prefer:
//!   handling=`: `lenient` (the default, as most servers) ignores them and says so in an
//!   `OperationOutcome` entry of the Bundle (search mode `outcome`); `strict` refuses them.
//! - `GET /fhir/metadata` — the CapabilityStatement: what this facade supports (needs no
//!   certificate, as FHIR clients ask it first).
//! - `GET /fhir/DocumentReference/{id}` — one DocumentReference.
//! - `GET /fhir/Binary/{id}` — the document's bytes (checked against their SHA-256): as a
//!   FHIR `Binary` resource (contentType and base64 data) when the `Accept` header or
//!   `_format` asks for FHIR JSON (`application/fhir+json` or `application/json`), otherwise
//!   the raw bytes, as the FHIR RESTful API prescribes for Binary — sent as a download like
//!   every stored file (`medgate_web::stored_file::content_download`: `Content-Disposition:
//!   attachment`, the sandbox CSP, `nosniff`, their own content type only for the CDA's XML
//!   types, PDF, common images and plain text, else `application/octet-stream`), since this
//!   origin also serves the staff pages and the portal.
//!
//! Resource ids and the DocumentReference mapping are the repository domain's
//! (`medgate_repository::fhir`): `ROOT-EXTENSION` when that fits a FHIR id, else `n<key>`,
//! the document's row key in the store (see `Metadata::document_key`). Both forms are looked
//! up within the caller's tenant, so another tenant's id is 404 like an unknown one.
//!
//! Errors are `OperationOutcome` resources with the API's HTTP status (400 bad parameter, 401
//! and 403 as the API, 404 unknown id or path under `/fhir`, 405 another method) and
//! `Content-Type: application/fhir+json`.

use std::collections::HashMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::routing::any;
use axum::Router;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use medgate_ids::{Oid, Pesel};
use medgate_storage::{PatientQuery, SearchQuery, StoredDocument};
use serde_json::{json, Value};

use crate::repository::{domain, refused};
use medgate_repository::documents::checked_content;
use medgate_repository::export::download_name;
use medgate_repository::fhir::{
    document_reference, media_type, parse_fhir_id, readable_fhir_id, FhirIdTarget,
};
use medgate_web::stored_file::content_download;
use medgate_web::api::{audit_patient, Incoming};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

/// The media type of every FHIR JSON answer.
pub const FHIR_JSON: &str = "application/fhir+json";

/// Largest search page, and the page size when none is asked for.
const MAX_COUNT: u32 = 500;
const DEFAULT_COUNT: u32 = 50;

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// An [`ApiError`] answered as a FHIR `OperationOutcome` with the same status.
pub struct FhirError(ApiError);

impl From<ApiError> for FhirError {
    fn from(error: ApiError) -> Self {
        FhirError(error)
    }
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        let error = self.0;
        let code = match error.status() {
            StatusCode::BAD_REQUEST => "invalid",
            StatusCode::UNAUTHORIZED => "login",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not-found",
            StatusCode::NOT_ACCEPTABLE | StatusCode::METHOD_NOT_ALLOWED => "not-supported",
            status if status.is_server_error() => "exception",
            _ => "processing",
        };
        let outcome = json!({
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": "error",
                "code": code,
                "details": { "text": error.code() },
                "diagnostics": error.message(),
            }],
        });
        fhir_json(error.status(), &outcome)
    }
}

/// A JSON body with the FHIR media type.
fn fhir_json(status: StatusCode, value: &Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

// ---------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------

/// `GET /fhir/DocumentReference?patient.identifier=…`: a searchset Bundle.
pub async fn search_document_references(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Response, FhirError> {
    let caller = incoming.caller(&state).await?;
    let (mut parameters, ignored) = fhir_parameters(
        &incoming.uri,
        &incoming.headers,
        &[
            "patient.identifier",
            "status",
            "_count",
            "_offset",
            "_format",
            "_summary",
            "_totalMethod",
        ],
    )?;
    if let Some(format) = parameters.remove("_format") {
        json_format(&format)?;
    }
    // The total is always counted exactly, whatever method is asked for.
    parameters.remove("_totalMethod");
    let total_only = match parameters.remove("_summary").as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("count") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_parameter",
                format!("_summary: '{other}' is not supported; use count or false."),
            )
            .into())
        }
    };
    let identifier = parameters.remove("patient.identifier").ok_or_else(|| {
        ApiError::bad_request(
            "missing_parameter",
            format!(
                "patient.identifier: required, as SYSTEM|VALUE, e.g. urn:oid:{}|44051401359.",
                Pesel::OID
            ),
        )
    })?;
    let (patient, patient_warning) = patient_query(&identifier, strict_handling(&incoming.headers))?;
    let count = match parameters.remove("_count") {
        None => DEFAULT_COUNT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|count| *count <= MAX_COUNT)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "bad_parameter",
                    format!("_count: '{text}' is not a number from 0 to {MAX_COUNT}."),
                )
            })?,
    };
    let total_only = total_only || count == 0;
    let offset = match parameters.remove("_offset") {
        None => 0,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|offset| *offset <= i64::MAX as u64)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "bad_parameter",
                    format!("_offset: '{text}' is not a number of results to skip."),
                )
            })?,
    };
    // Every stored document is `current` (deleted ones are gone); asking only for other
    // statuses finds nothing.
    let current_wanted = match parameters.remove("status") {
        None => true,
        Some(text) => status_wanted(&text)?,
    };

    let base = base_url(&incoming.headers, &incoming.uri);
    let (total, documents) = if current_wanted {
        let query = SearchQuery {
            patient: Some(patient.clone()),
            // The total alone still runs the count; one row is the least a page reads.
            limit: if total_only { 1 } else { count },
            offset,
            ..SearchQuery::default()
        };
        let page = state
            .metadata
            .search_documents(&caller.tenant.id, &query)
            .await
            .map_err(|e| ApiError::internal("searching documents", &e))?;
        let documents = if total_only { Vec::new() } else { page.documents };
        (page.total, documents)
    } else {
        (0, Vec::new())
    };
    let mut entries = Vec::with_capacity(documents.len());
    for document in &documents {
        let id = fhir_id(&state, document).await?;
        entries.push(json!({
            "fullUrl": format!("{base}/fhir/DocumentReference/{id}"),
            "resource": document_reference(document, &id, &base),
            "search": { "mode": "match" },
        }));
    }

    let identifier_query = format!(
        "patient.identifier={}",
        urlencoding::encode(identifier.trim())
    );
    let self_url =
        format!("{base}/fhir/DocumentReference?{identifier_query}&_count={count}&_offset={offset}");
    let mut links = vec![json!({ "relation": "self", "url": self_url })];
    let shown = offset.saturating_add(documents.len() as u64);
    if current_wanted && !total_only && shown < total {
        links.push(json!({
            "relation": "next",
            "url": format!("{base}/fhir/DocumentReference?{identifier_query}&_count={count}&_offset={shown}"),
        }));
    }
    if let Some(warning) = patient_warning {
        entries.push(json!({
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{ "severity": "warning", "code": "value", "diagnostics": warning }],
            },
            "search": { "mode": "outcome" },
        }));
    }
    if !ignored.is_empty() {
        entries.push(json!({
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{
                    "severity": "warning",
                    "code": "not-supported",
                    "diagnostics": format!(
                        "Parameters ignored (not supported here): {}. Send `Prefer: handling=strict` to have them refused.",
                        ignored.join(", ")
                    ),
                }],
            },
            "search": { "mode": "outcome" },
        }));
    }
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": entries,
    });

    // One entry per search: the patient asked for, what was found; no document ids of
    // other patients can appear since every match is this patient's.
    audit_patient(
        &state,
        &caller,
        "fhir.document_reference.search",
        "DocumentReference",
        Some(&patient.extension),
        format!(
            "patient.identifier {}; {} of {total} matches from {offset}",
            identifier.trim(),
            documents.len()
        ),
    )
    .await?;
    Ok(fhir_json(StatusCode::OK, &bundle))
}

/// `GET /fhir/DocumentReference/{id}`.
pub async fn read_document_reference(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, FhirError> {
    let caller = incoming.caller(&state).await?;
    let (parameters, _ignored) = fhir_parameters(&incoming.uri, &incoming.headers, &["_format"])?;
    if let Some(format) = parameters.get("_format") {
        json_format(format)?;
    }
    let (fhir, document) = find(&state, &caller.tenant.id, id).await?;
    let base = base_url(&incoming.headers, &incoming.uri);
    let resource = document_reference(&document, &fhir, &base);
    audit_patient(
        &state,
        &caller,
        "fhir.document_reference.read",
        document.metadata.document_id.as_str(),
        Some(&document.metadata.patient.extension),
        String::new(),
    )
    .await?;
    Ok(fhir_json(StatusCode::OK, &resource))
}

/// `GET /fhir/Binary/{id}`: a Binary resource for FHIR JSON clients, else the raw bytes.
pub async fn read_binary(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, FhirError> {
    let caller = incoming.caller(&state).await?;
    let (parameters, _ignored) = fhir_parameters(&incoming.uri, &incoming.headers, &["_format"])?;
    let as_resource = match parameters.get("_format") {
        Some(format) => {
            json_format(format)?;
            true
        }
        None => accepts_fhir_json(&incoming.headers),
    };
    let (fhir, document) = find(&state, &caller.tenant.id, id).await?;
    let bytes = checked_content(&domain(&state), &document)
        .await
        .map_err(refused)?;
    let metadata = &document.metadata;
    audit_patient(
        &state,
        &caller,
        "fhir.binary.read",
        metadata.document_id.as_str(),
        Some(&metadata.patient.extension),
        if as_resource {
            "as a Binary resource".to_owned()
        } else {
            "raw bytes".to_owned()
        },
    )
    .await?;
    if as_resource {
        let resource = json!({
            "resourceType": "Binary",
            "id": fhir,
            "contentType": media_type(&metadata.content_type),
            "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
        });
        return Ok(fhir_json(StatusCode::OK, &resource));
    }
    Ok(content_download(metadata, &download_name(metadata), bytes))
}

// ---------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------

/// `_format` must name JSON: this facade speaks no XML.
/// Whether the client asked for `Prefer: handling=strict`.
fn strict_handling(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|preference| preference.trim().eq_ignore_ascii_case("handling=strict"))
}

/// The query's parameters, each at most once. Unknown ones are refused under `Prefer:
/// handling=strict` and otherwise returned by name, to be ignored and reported.
fn fhir_parameters(
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    known: &[&str],
) -> Result<(HashMap<String, String>, Vec<String>), ApiError> {
    let Query(pairs): Query<Vec<(String, String)>> = Query::try_from_uri(uri).map_err(|_| {
        ApiError::bad_request(
            "bad_query",
            "The query string cannot be read; percent-encode its values.",
        )
    })?;
    let strict = strict_handling(headers);
    let mut parameters = HashMap::new();
    let mut ignored = Vec::new();
    for (name, value) in pairs {
        if !known.contains(&name.as_str()) {
            if strict {
                return Err(ApiError::bad_request(
                    "bad_parameter",
                    format!("{name}: unknown parameter; known: {}.", known.join(", ")),
                ));
            }
            if !ignored.contains(&name) {
                ignored.push(name);
            }
            continue;
        }
        if parameters.insert(name.clone(), value).is_some() {
            return Err(ApiError::bad_request(
                "bad_parameter",
                format!("{name}: given more than once."),
            ));
        }
    }
    Ok((parameters, ignored))
}

/// `GET /fhir/metadata`: the CapabilityStatement of the facade.
pub async fn capability_statement(headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let base = base_url(&headers, &uri);
    let statement = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": medgate_web::rfc3339(medgate_web::now()),
        "publisher": "medgate",
        "kind": "instance",
        "software": { "name": "medgate", "version": env!("CARGO_PKG_VERSION") },
        "implementation": {
            "description": "medgate repository: read-only IHE MHD Document Consumer facade (ITI-67, ITI-68)",
            "url": format!("{base}/fhir"),
        },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "implementationGuide": ["https://profiles.ihe.net/ITI/MHD/ImplementationGuide/ihe.iti.mhd"],
        "rest": [{
            "mode": "server",
            "security": {
                "description": "Mutual TLS: the account's TLS client certificate, issued by the node's CA, opens every resource of the account and nothing else. Reads need no request signature."
            },
            "resource": [
                {
                    "type": "DocumentReference",
                    "interaction": [{ "code": "read" }, { "code": "search-type" }],
                    "searchParam": [
                        { "name": "patient.identifier", "type": "token", "documentation": "SYSTEM|VALUE (PESEL: urn:oid:2.16.840.1.113883.3.4424.1.1.616); required" },
                        { "name": "status", "type": "token" },
                        { "name": "_count", "type": "number", "documentation": "0 to 500 (0: the total alone)" },
                        { "name": "_offset", "type": "number" },
                        { "name": "_summary", "type": "token", "documentation": "count or false" }
                    ]
                },
                {
                    "type": "Binary",
                    "interaction": [{ "code": "read" }]
                }
            ]
        }]
    });
    fhir_json(StatusCode::OK, &statement)
}

/// Any other path under `/fhir`, and any method the facade does not serve.
pub fn unsupported() -> Router<AppState> {
    Router::new().route("/fhir/{*rest}", any(unknown_path))
}

async fn unknown_path(uri: axum::http::Uri) -> FhirError {
    FhirError(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "{}: this FHIR server has DocumentReference (search, read), Binary (read) and metadata.",
            uri.path()
        ),
    ))
}

/// A method other than GET on a FHIR resource: read-only.
pub async fn method_not_allowed(method: axum::http::Method) -> FhirError {
    FhirError(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method}: this FHIR facade is read-only; use GET."),
    ))
}

fn json_format(format: &str) -> Result<(), ApiError> {
    match format.trim() {
        "json" | "application/json" | "application/fhir+json" => Ok(()),
        other => Err(ApiError::bad_request(
            "bad_parameter",
            format!("_format: '{other}' is not supported; this server answers in FHIR JSON only (_format=json)."),
        )),
    }
}

/// True when the client asks for FHIR JSON by its `Accept` header.
fn accepts_fhir_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|item| {
            item.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .any(|media| media == FHIR_JSON || media == "application/json")
}

/// `status=current[,…]`: whether `current` documents are asked for; other FHIR statuses are
/// valid but match nothing here, anything else is refused.
fn status_wanted(text: &str) -> Result<bool, ApiError> {
    let mut current = false;
    for status in text.split(',').map(str::trim) {
        match status {
            "current" => current = true,
            "superseded" | "entered-in-error" => {}
            other => {
                return Err(ApiError::bad_request(
                    "bad_parameter",
                    format!("status: '{other}' is not a DocumentReference status (current, superseded, entered-in-error)."),
                ))
            }
        }
    }
    Ok(current)
}

/// `SYSTEM|VALUE`, `|VALUE` or `VALUE` as a patient search. `SYSTEM` must be `urn:oid:…`;
/// under the PESEL OID the value must be a valid PESEL.
/// The patient searched for, and a warning when the value given under the PESEL system is
/// not a valid PESEL: documents carrying such a number are stored and found by it (see
/// `medgate_repository::ingest::warnings`), so the search runs, saying so; under `Prefer:
/// handling=strict` it is refused.
fn patient_query(text: &str, strict: bool) -> Result<(PatientQuery, Option<String>), ApiError> {
    let text = text.trim();
    let (system, value) = match text.split_once('|') {
        Some((system, value)) => (Some(system.trim()).filter(|s| !s.is_empty()), value.trim()),
        None => (None, text),
    };
    if value.is_empty() || value.chars().count() > 64 || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "bad_parameter",
            format!(
                "patient.identifier: '{text}' has no identifier value; use SYSTEM|VALUE, e.g. urn:oid:{}|44051401359.",
                Pesel::OID
            ),
        ));
    }
    let mut warning = None;
    let root = match system {
        None => None,
        Some(system) => {
            let oid = system.strip_prefix("urn:oid:").ok_or_else(|| {
                ApiError::bad_request(
                    "bad_parameter",
                    format!(
                        "patient.identifier: system '{system}' is not known; identifiers are looked up by urn:oid:<root> (PESEL: urn:oid:{}).",
                        Pesel::OID
                    ),
                )
            })?;
            let oid = Oid::parse(oid).map_err(|e| {
                ApiError::bad_request(
                    "bad_parameter",
                    format!("patient.identifier: system '{system}' is not an OID: {e}."),
                )
            })?;
            if oid.as_str() == Pesel::OID {
                if let Err(e) = Pesel::parse(value) {
                    if strict {
                        return Err(ApiError::bad_request(
                            "bad_parameter",
                            format!("patient.identifier: {e}."),
                        ));
                    }
                    warning = Some(format!(
                        "patient.identifier: '{value}' is not a valid PESEL ({e}); documents that carry it are found as stored."
                    ));
                }
            }
            Some(oid)
        }
    };
    let query = PatientQuery {
        extension: value.to_owned(),
        root,
    };
    Ok((query, warning))
}

/// `https://<host>` as the client addressed this server (for absolute URLs in answers).
fn base_url(headers: &HeaderMap, uri: &axum::http::Uri) -> String {
    let host = uri
        .authority()
        .map(|authority| authority.as_str().to_owned())
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        })
        .filter(|host| {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or_else(|| "localhost".to_owned());
    format!("https://{host}")
}

// ---------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------

/// The FHIR id of a stored document (see the module documentation).
async fn fhir_id(state: &AppState, document: &StoredDocument) -> Result<String, ApiError> {
    if let Some(id) = readable_fhir_id(&document.metadata.document_id) {
        return Ok(id);
    }
    let key = state
        .metadata
        .document_key(&document.tenant, &document.metadata.document_id)
        .await
        .map_err(|e| ApiError::internal("reading a document key", &e))?
        .ok_or_else(|| ApiError::not_found("document"))?;
    Ok(format!("n{key}"))
}

/// The caller's document for a FHIR id in the path, with that id; 404 alike for unknown ids
/// and other tenants' documents.
async fn find(
    state: &AppState,
    tenant: &medgate_ids::TenantId,
    id: Result<Path<String>, PathRejection>,
) -> Result<(String, StoredDocument), ApiError> {
    let Path(id) = id.map_err(|_| {
        ApiError::bad_request("bad_id", "The resource id in the path cannot be read.")
    })?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "No resource with id '{}' exists in this account.",
                id.chars().take(80).collect::<String>()
            ),
        )
    };
    let document_id = match parse_fhir_id(&id).ok_or_else(not_found)? {
        FhirIdTarget::Document(document_id) => document_id,
        FhirIdTarget::Key(key) => state
            .metadata
            .document_id_by_key(tenant, key)
            .await
            .map_err(|e| ApiError::internal("reading a document by key", &e))?
            // A key whose document has a readable id is not an id this server gave out.
            .filter(|document_id| readable_fhir_id(document_id).is_none())
            .ok_or_else(not_found)?,
    };
    let document = state
        .metadata
        .get_document(tenant, &document_id)
        .await
        .map_err(|e| ApiError::internal("reading document metadata", &e))?
        .ok_or_else(not_found)?;
    Ok((id, document))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn patient_identifiers_take_oid_systems() {
        let (pesel, warning) =
            patient_query("urn:oid:2.16.840.1.113883.3.4424.1.1.616|44051401359", true).unwrap();
        assert_eq!(pesel.extension, "44051401359");
        assert_eq!(pesel.root.unwrap().as_str(), Pesel::OID);
        assert!(warning.is_none());
        assert_eq!(patient_query("44051401359", true).unwrap().0.root, None);
        assert_eq!(patient_query("|998991", true).unwrap().0.root, None);
        for bad in [
            "urn:oid:2.16.840.1.113883.3.4424.1.1.616|44051401358",
            "http://example.org/ids|1",
            "urn:oid:x.y|1",
            "urn:oid:1.2.3|",
            "",
        ] {
            assert_eq!(
                patient_query(bad, true).unwrap_err().code(),
                "bad_parameter",
                "{bad}"
            );
        }
        // Lenient: a PESEL with a wrong check digit is searched for, with a warning.
        let (query, warning) =
            patient_query("urn:oid:2.16.840.1.113883.3.4424.1.1.616|44051401358", false).unwrap();
        assert_eq!(query.extension, "44051401358");
        assert!(warning.unwrap().contains("not a valid PESEL"));
    }

    #[test]
    fn accept_headers_choose_the_binary_form() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_fhir_json(&headers));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert!(!accepts_fhir_json(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/xml, application/fhir+json;q=0.9"),
        );
        assert!(accepts_fhir_json(&headers));
    }
}
