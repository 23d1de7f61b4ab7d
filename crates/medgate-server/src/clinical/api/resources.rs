//! The FHIR interactions: create, read, update (a new version), delete (by the creating
//! institution only), `_history`, search by patient, and the operations `$close`
//! (Encounter), `$consume` and `$cancel` (ServiceRequest). Each handler authenticates, parses
//! the request, makes one call of `medgate_clinical` and answers FHIR JSON; a refusal is the
//! domain's, mapped by [`super::refusal`].

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use medgate_clinical::documents::{NewDocument, SubmissionIdentifier};
use medgate_clinical::encounters::NewEncounter;
use medgate_clinical::{Caller, ResourceType};
use medgate_ids::{Taj, UnitId};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{break_glass, bundle, fhir, full_url, institution, practitioner, refusal, signed};
use medgate_web::api::Incoming;
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

type Parameters = Query<HashMap<String, String>>;

/// A practitioner reading (certificate and session).
async fn reader(state: &AppState, incoming: &Incoming) -> Result<Caller, ApiError> {
    let institution = institution(state, incoming).await?;
    practitioner(state, incoming, &institution).await
}

/// A practitioner writing (certificate, signature over `body`, session).
async fn writer(state: &AppState, incoming: &Incoming, body: &Bytes) -> Result<Caller, ApiError> {
    let institution = signed(state, incoming, body).await?;
    practitioner(state, incoming, &institution).await
}

fn kind_of(name: &str) -> Result<ResourceType, ApiError> {
    ResourceType::parse(name).map_err(refusal)
}

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "bad_json",
            format!("The body must be a FHIR resource in JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "bad_json",
            "The body must be a FHIR resource (a JSON object).",
        ));
    }
    Ok(value)
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_resource",
        format!("{field}: {message}"),
    )
}

/// The patient of a reference `Patient/<TAJ>` (or a bare TAJ).
fn patient_of(reference: &str) -> Result<Taj, ApiError> {
    let taj = reference.strip_prefix("Patient/").unwrap_or(reference);
    Taj::parse(taj)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_identifier", e.to_string()))
}

fn instant_at(resource: &Value, pointer: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    match text(resource, pointer) {
        None => Ok(None),
        Some(text) => OffsetDateTime::parse(text, &Rfc3339).map(Some).map_err(|_| {
            invalid(
                pointer,
                format!("'{text}' is not a date and time with a zone, e.g. 2026-12-03T09:30:00+01:00"),
            )
        }),
    }
}

/// The Encounter to open, read from the posted resource: `subject` the patient, the unit
/// as `location[0].location.identifier.value`, the care type as `type[0].text`, the start as
/// `period.start` (default now).
fn new_encounter(resource: &Value, now: OffsetDateTime) -> Result<NewEncounter, ApiError> {
    let patient = patient_of(
        text(resource, "/subject/reference")
            .ok_or_else(|| invalid("subject.reference", "is required (Patient/<TAJ>)".into()))?,
    )?;
    let unit = text(resource, "/location/0/location/identifier/value").ok_or_else(|| {
        invalid(
            "location.0.location.identifier.value",
            "is required: the 9-digit unit of the calling institution".into(),
        )
    })?;
    let unit = UnitId::parse(unit)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_identifier", e.to_string()))?;
    Ok(NewEncounter {
        patient,
        unit,
        care_type: text(resource, "/type/0/text")
            .unwrap_or_default()
            .to_owned(),
        start: instant_at(resource, "/period/start")?.unwrap_or(now),
    })
}

/// The submission identifier of a conditional create, `If-None-Exist:
/// identifier=<system>|<value>` (URL-encoded as a query is); it must be the resource's
/// `identifier[0]` when the resource carries one. Without the header, the resource's own
/// `identifier[0]` is the submission's.
fn submission_identifier(
    headers: &HeaderMap,
    resource: &Value,
) -> Result<Option<SubmissionIdentifier>, ApiError> {
    let in_resource = match (
        text(resource, "/identifier/0/system"),
        text(resource, "/identifier/0/value"),
    ) {
        (Some(system), Some(value)) => {
            Some(SubmissionIdentifier::new(system, value).map_err(refusal)?)
        }
        _ => None,
    };
    let Some(header) = headers.get("if-none-exist") else {
        return Ok(in_resource);
    };
    let query = header
        .to_str()
        .ok()
        .and_then(|text| urlencoding::decode(text).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_if_none_exist",
                "If-None-Exist must be identifier=<system>|<value>, URL-encoded.",
            )
        })?;
    let conditional = SubmissionIdentifier::parse_search(&query).map_err(refusal)?;
    match in_resource {
        Some(own) if own != conditional => Err(invalid(
            "identifier.0",
            "differs from the identifier in If-None-Exist; send the same identifier in both".into(),
        )),
        _ => Ok(Some(conditional)),
    }
}

/// The document to submit, read from the posted DocumentReference: `subject`, the content
/// as `content[0].attachment` (`contentType`, `data` in base64, `title`), the encounter as
/// `context.encounter[0].reference`, the clinic's identifier (see
/// [`submission_identifier`]).
fn new_document(
    state: &AppState,
    headers: &HeaderMap,
    resource: &Value,
) -> Result<NewDocument, ApiError> {
    let patient = patient_of(
        text(resource, "/subject/reference")
            .ok_or_else(|| invalid("subject.reference", "is required (Patient/<TAJ>)".into()))?,
    )?;
    let attachment = resource
        .pointer("/content/0/attachment")
        .ok_or_else(|| invalid("content.0.attachment", "is required".into()))?;
    let data = text(attachment, "/data")
        .ok_or_else(|| invalid("content.0.attachment.data", "is required (base64)".into()))?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| invalid("content.0.attachment.data", "is not base64".into()))?;
    let encounter = match text(resource, "/context/encounter/0/reference") {
        None => None,
        Some(reference) => Some(
            reference
                .strip_prefix("Encounter/")
                .ok_or_else(|| {
                    invalid(
                        "context.encounter.0.reference",
                        "must be Encounter/<id>".into(),
                    )
                })?
                .to_owned(),
        ),
    };
    Ok(NewDocument {
        patient,
        encounter,
        content_type: text(attachment, "/contentType")
            .unwrap_or_default()
            .to_owned(),
        title: text(attachment, "/title")
            .or_else(|| text(resource, "/description"))
            .unwrap_or_default()
            .to_owned(),
        data,
        fhir_base_url: format!("{}/fhir", state.node.public_url.trim_end_matches('/')),
        identifier: submission_identifier(headers, resource)?,
    })
}

/// A created resource: 201 with `Location`.
fn created(state: &AppState, resource: &Value) -> Response {
    let mut response = fhir(StatusCode::CREATED, resource);
    if let Ok(value) = full_url(state, resource).parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `POST /fhir/{type}`: an Encounter is opened, a DocumentReference submitted with its
/// Binary, a ServiceRequest issued, a profile entry created. A DocumentReference with a
/// submission identifier is a conditional create: when the institution stored it before,
/// the answer is 200 with that document, not a second one.
pub async fn create(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = kind_of(&kind)?;
    let caller = writer(&state, &incoming, &body).await?;
    let resource = json_body(&body)?;
    let now = state.clock.now();
    let store = &state.metadata;
    let answer = match kind {
        ResourceType::Encounter => {
            let encounter = new_encounter(&resource, now)?;
            medgate_clinical::encounters::open(store, &caller, &encounter, now).await
        }
        ResourceType::DocumentReference => {
            let document = new_document(&state, &incoming.headers, &resource)?;
            let submitted = medgate_clinical::documents::submit(store, &caller, &document, now)
                .await
                .map_err(refusal)?;
            if !submitted.created {
                return Ok(fhir(StatusCode::OK, &submitted.resource));
            }
            Ok(submitted.resource)
        }
        _ => medgate_clinical::resources::create(store, &caller, kind, resource, now).await,
    }
    .map_err(refusal)?;
    Ok(created(&state, &answer))
}

/// `GET /fhir/{type}/{id}`.
pub async fn read(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    Query(parameters): Parameters,
    incoming: Incoming,
) -> Result<Response, ApiError> {
    let kind = kind_of(&kind)?;
    let caller = reader(&state, &incoming).await?;
    let reason = break_glass(
        &state,
        &incoming.headers,
        parameters.get("_breakGlass").map(String::as_str),
    )?;
    let resource = medgate_clinical::resources::read(
        &state.metadata,
        &caller,
        kind,
        &id,
        reason.as_deref(),
        state.clock.now(),
    )
    .await
    .map_err(refusal)?;
    Ok(fhir(StatusCode::OK, &resource))
}

/// The version an `If-Match: W/"n"` names.
fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|text| text.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|text| text.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_if_match",
                "If-Match must be W/\"<versionId>\" of the version read.",
            )
        })
}

/// `PUT /fhir/{type}/{id}`: a new version (an Encounter with status `finished` is closed).
pub async fn update(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = kind_of(&kind)?;
    let caller = writer(&state, &incoming, &body).await?;
    let resource = json_body(&body)?;
    let now = state.clock.now();
    let store = &state.metadata;
    let answer = if kind == ResourceType::Encounter
        && text(&resource, "/status") == Some("finished")
    {
        let end = instant_at(&resource, "/period/end")?.unwrap_or(now);
        medgate_clinical::encounters::close(store, &caller, &id, end, now).await
    } else {
        let version = if_match(&incoming.headers)?;
        medgate_clinical::resources::update(store, &caller, kind, &id, resource, version, now).await
    }
    .map_err(refusal)?;
    Ok(fhir(StatusCode::OK, &answer))
}

/// `DELETE /fhir/{type}/{id}`: by the institution that created it only.
pub async fn delete(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    incoming: Incoming,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let kind = kind_of(&kind)?;
    let caller = writer(&state, &incoming, &body).await?;
    medgate_clinical::resources::delete(
        &state.metadata,
        &caller,
        kind,
        &id,
        state.clock.now(),
    )
    .await
    .map_err(refusal)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /fhir/{type}/{id}/_history`: every version, newest first, as a history Bundle.
pub async fn history(
    State(state): State<AppState>,
    Path((kind, id, operation)): Path<(String, String, String)>,
    Query(parameters): Parameters,
    incoming: Incoming,
) -> Result<Response, ApiError> {
    if operation != "_history" {
        return Err(ApiError::not_found(
            "FHIR interaction (GET …/_history only)",
        ));
    }
    let kind = kind_of(&kind)?;
    let caller = reader(&state, &incoming).await?;
    let reason = break_glass(
        &state,
        &incoming.headers,
        parameters.get("_breakGlass").map(String::as_str),
    )?;
    let versions = medgate_clinical::resources::history(
        &state.metadata,
        &caller,
        kind,
        &id,
        reason.as_deref(),
        state.clock.now(),
    )
    .await
    .map_err(refusal)?;
    let base = format!("{}/fhir", state.node.public_url.trim_end_matches('/'));
    let entries: Vec<Value> = versions
        .into_iter()
        .map(|version| {
            let url = format!("{}/{id}", kind.as_str());
            if version.deleted {
                json!({
                    "fullUrl": format!("{base}/{url}"),
                    "request": { "method": "DELETE", "url": url },
                    "response": { "status": "204", "lastModified": medgate_clinical::fhir::instant(version.last_updated) }
                })
            } else {
                let method = if version.version == 1 { "POST" } else { "PUT" };
                json!({
                    "fullUrl": format!("{base}/{url}"),
                    "resource": version.resource,
                    "request": { "method": method, "url": if method == "POST" { kind.as_str().to_owned() } else { url.clone() } },
                    "response": {
                        "status": if method == "POST" { "201" } else { "200" },
                        "etag": format!("W/\"{}\"", version.version),
                        "lastModified": medgate_clinical::fhir::instant(version.last_updated)
                    }
                })
            }
        })
        .collect();
    let mut answer = json!({ "resourceType": "Bundle", "type": "history", "total": entries.len() });
    if !entries.is_empty() {
        answer["entry"] = Value::Array(entries);
    }
    Ok(fhir(StatusCode::OK, &answer))
}

/// `POST /fhir/Encounter/{id}/$close`, `POST /fhir/ServiceRequest/{id}/$consume` and
/// `…/$cancel`.
pub async fn operation(
    State(state): State<AppState>,
    Path((kind, id, operation)): Path<(String, String, String)>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = kind_of(&kind)?;
    let caller = writer(&state, &incoming, &body).await?;
    let now = state.clock.now();
    let store = &state.metadata;
    let answer = match (kind, operation.as_str()) {
        (ResourceType::Encounter, "$close") => {
            medgate_clinical::encounters::close(store, &caller, &id, now, now).await
        }
        (ResourceType::ServiceRequest, "$consume") => {
            medgate_clinical::referrals::consume(store, &caller, &id, now).await
        }
        (ResourceType::ServiceRequest, "$cancel") => {
            medgate_clinical::referrals::cancel(store, &caller, &id, now).await
        }
        _ => {
            return Err(ApiError::bad_request(
                "unknown_operation",
                format!(
                    "{} has no operation {operation}: Encounter takes $close, ServiceRequest $consume and $cancel.",
                    kind.as_str()
                ),
            ))
        }
    }
    .map_err(refusal)?;
    Ok(fhir(StatusCode::OK, &answer))
}

/// `GET /fhir/{type}?patient=<TAJ>` (a ServiceRequest also by `_id`): a searchset Bundle,
/// newest first; documents the patient restricted are left out unless the glass is broken
/// (an OperationOutcome entry says how many were).
pub async fn search(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(parameters): Parameters,
    incoming: Incoming,
) -> Result<Response, ApiError> {
    let kind = kind_of(&kind)?;
    let caller = reader(&state, &incoming).await?;
    let reason = break_glass(
        &state,
        &incoming.headers,
        parameters.get("_breakGlass").map(String::as_str),
    )?;
    let now = state.clock.now();
    if let Some(id) = parameters.get("_id") {
        let found = medgate_clinical::resources::read(
            &state.metadata,
            &caller,
            kind,
            id,
            reason.as_deref(),
            now,
        )
        .await;
        let resources = match found {
            Ok(resource) => vec![resource],
            Err(error)
                if matches!(
                    error.kind(),
                    medgate_clinical::ErrorKind::NotFound | medgate_clinical::ErrorKind::Gone
                ) =>
            {
                Vec::new()
            }
            Err(error) => return Err(refusal(error)),
        };
        return Ok(fhir(
            StatusCode::OK,
            &bundle(&state, "searchset", resources),
        ));
    }
    let patient = parameters
        .get("patient")
        .or_else(|| parameters.get("subject"))
        .ok_or_else(|| {
            ApiError::bad_request("patient_required", "Search by patient=<TAJ> (or _id=<id>).")
        })?;
    let patient = patient_of(patient)?;
    let result = medgate_clinical::resources::search(
        &state.metadata,
        &caller,
        kind,
        &patient,
        reason.as_deref(),
        now,
    )
    .await
    .map_err(refusal)?;
    let mut answer = bundle(&state, "searchset", result.resources);
    if !result.withheld.is_empty() {
        let outcome = json!({
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{
                    "severity": "information",
                    "code": "suppressed",
                    "diagnostics": format!(
                        "{} document(s) withheld: the patient restricted them; break the glass with a reason ({} header) to see them.",
                        result.withheld.len(),
                        super::BREAK_GLASS_HEADER
                    )
                }]
            },
            "search": { "mode": "outcome" }
        });
        match answer.get_mut("entry").and_then(Value::as_array_mut) {
            Some(entries) => entries.push(outcome),
            None => answer["entry"] = json!([outcome]),
        }
    }
    Ok(fhir(StatusCode::OK, &answer).into_response())
}
