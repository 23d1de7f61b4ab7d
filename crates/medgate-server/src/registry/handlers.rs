//! The registry's routes. Every call comes over mutual TLS with a national TLS certificate
//! issued by this registry's CA; every write is signed (RFC 9421) with the national WSS key.
//! The CA folder's record of revocations is read on every request, so a certificate the
//! operator revokes with `medgate ca revoke --dir REGDATA/ca` is refused at once, without a
//! restart; revocations recorded by other registry nodes sharing the database are refused
//! within a second (`crate::revocation`).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use medgate_ids::{Oid, TenantId};
use medgate_pki::{CertKind, Certificate};
use medgate_storage::{
    AuditOrigin, EntryStored, NewAuditEntry, RegistryRepository, RegistryRepositoryStatus,
    RepositoryRegistration,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::entry::{DocumentEntry, RegistryEntryExt};
use medgate_web::auth::{self, Presented};
use medgate_web::error::ApiError;
use medgate_web::api::{rfc3339, Incoming};
use medgate_web::state::AppState;

/// The arc under the registry's `oid_root` that national repository ids are given from:
/// `<oid_root>.5.<n>`.
pub const NATIONAL_REPOSITORY_ARC: u64 = 5;

/// Largest number of entries one query answers.
const MAX_FIND_RESULTS: u32 = 500;

/// A caller that presented a valid national TLS certificate.
struct National {
    provider: TenantId,
    presented: Presented,
    origin: AuditOrigin,
}

fn forbidden(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message)
}

fn kind_name(kind: CertKind) -> &'static str {
    match kind {
        CertKind::Tls => "TLS",
        CertKind::Wss => "WSS",
    }
}

/// Checks that `certificate` was issued by this registry's CA, is in its records and is not
/// revoked (read from the CA folder now), and is within its validity.
fn check_national(
    state: &AppState,
    certificate: &Certificate,
    kind: CertKind,
) -> Result<String, ApiError> {
    let summary = certificate
        .summary()
        .map_err(|_| ApiError::bad_request("bad_certificate", "The certificate cannot be read."))?;
    let kind = kind_name(kind);
    let serial = summary.serial_hex.clone();
    if !medgate_pki::check::issued_by(certificate, state.ca.certificate()) {
        return Err(forbidden(
            "certificate_not_from_registry_ca",
            format!(
                "The national {kind} certificate {serial} was issued by {}, not by this registry's CA; ask the registry's operator for national certificates.",
                summary.issuer
            ),
        ));
    }
    let records = state
        .ca
        .issued()
        .map_err(|e| ApiError::internal("reading the CA's records", &e))?;
    let Some(record) = records
        .iter()
        .find(|r| r.serial_hex.eq_ignore_ascii_case(&serial))
    else {
        return Err(forbidden(
            "certificate_unknown",
            format!("The national {kind} certificate {serial} is not in this registry CA's records of issued certificates; ask the registry's operator."),
        ));
    };
    if let Some(revocation) = &record.revocation {
        return Err(forbidden(
            "certificate_revoked",
            format!(
                "The national {kind} certificate {serial} was revoked by the registry's operator on {} (reason: {}); ask for new national certificates and register again.",
                rfc3339(revocation.at),
                revocation.reason
            ),
        ));
    }
    // Revocations recorded by any registry node sharing the database, and the dates, now.
    state
        .revocations
        .check(&summary, &format!("The national {kind} certificate"))?;
    Ok(serial)
}

/// The national TLS client certificate of this connection, checked.
fn national_tls(state: &AppState, incoming: &Incoming) -> Result<National, ApiError> {
    let presented = auth::presented_certificate(&incoming.peer).map_err(|error| {
        if error.code() == "client_certificate_required" {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "client_certificate_required",
                "The registry API needs the national TLS client certificate issued by this registry's CA.",
            )
        } else {
            error
        }
    })?;
    let Some(name) = presented.tenant_name.clone() else {
        return Err(ApiError::bad_request(
            "wrong_tenant_certificate",
            format!(
                "The client certificate has subject {}; a national TLS certificate has CN=<provider id> TLS.",
                presented.subject
            ),
        ));
    };
    if name.kind != CertKind::Tls {
        return Err(ApiError::bad_request(
            "wrong_certificate_kind",
            format!(
                "The national WSS (signing) certificate was presented for TLS; present the national TLS certificate with subject CN={} TLS.",
                name.tenant
            ),
        ));
    }
    check_national(state, &presented.certificate, CertKind::Tls)?;
    Ok(National {
        provider: name.tenant,
        presented,
        origin: AuditOrigin::Address(incoming.peer.address.ip()),
    })
}

/// A registered repository calling with the certificates it registered, both still valid;
/// for writes (`body` given) the request must be signed with its national WSS key.
async fn registered(
    state: &AppState,
    incoming: &Incoming,
    body: Option<&Bytes>,
) -> Result<(National, RegistryRepository), ApiError> {
    let national = national_tls(state, incoming)?;
    let repository = state
        .metadata
        .get_registry_repository(&national.provider)
        .await
        .map_err(|e| ApiError::internal("repository lookup", &e))?
        .ok_or_else(|| {
            forbidden(
                "repository_not_registered",
                format!(
                    "No repository of provider {} is registered in the national registry; register it first.",
                    national.provider
                ),
            )
        })?;
    if repository.status == RegistryRepositoryStatus::Deregistered {
        return Err(forbidden(
            "repository_deregistered",
            format!(
                "Repository {} was deregistered{}; register it again before indexing.",
                repository.national_repository_id,
                repository
                    .deregistered_at
                    .map(|at| format!(" on {}", rfc3339(at)))
                    .unwrap_or_default()
            ),
        ));
    }
    if repository.tls_fingerprint != national.presented.fingerprint {
        return Err(forbidden(
            "certificate_not_registered",
            format!(
                "The national TLS certificate {} is not the one repository {} registered with ({}); register again with the new certificates.",
                national.presented.serial_hex, repository.national_repository_id, repository.tls_serial
            ),
        ));
    }
    let wss = wss_from_pem(&repository.wss_certificate_pem)
        .map_err(|_| ApiError::internal("registered WSS certificate", &"cannot be read"))?;
    check_national(state, &wss, CertKind::Wss)?;
    if let Some(body) = body {
        auth::verify_signature(
            state,
            &wss,
            &incoming.method,
            &incoming.uri,
            &incoming.headers,
            body,
        )
        .await?;
    }
    Ok((national, repository))
}

fn wss_from_pem(text: &str) -> Result<Certificate, ApiError> {
    let bad = |message: &str| {
        ApiError::bad_request(
            "bad_certificate",
            format!("wss_certificate_pem: {message}."),
        )
    };
    let block = pem::parse(text.as_bytes()).map_err(|_| bad("is not a PEM certificate"))?;
    if block.tag() != "CERTIFICATE" {
        return Err(bad(&format!(
            "is a {} block, not a CERTIFICATE",
            block.tag()
        )));
    }
    Certificate::from_der(
        block.contents().to_vec(),
        std::path::Path::new("wss_certificate_pem"),
    )
    .map_err(|_| bad("cannot be read as X.509"))
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "bad_json",
            format!("The request body is not the expected JSON: {e}."),
        )
    })
}

async fn audit(
    state: &AppState,
    national: &National,
    action: &str,
    target: &str,
    patient: Option<&str>,
    details: String,
) -> Result<(), ApiError> {
    state
        .metadata
        .append_audit(&NewAuditEntry {
            tenant: Some(national.provider.clone()),
            actor: national.presented.subject.clone(),
            action: action.to_owned(),
            target: target.to_owned(),
            origin: national.origin,
            details,
            patient: patient.map(str::to_owned),
        })
        .await
        .map(|_| ())
        .map_err(|e| ApiError::internal("audit log", &e))
}

fn repository_json(repository: &RegistryRepository) -> Value {
    json!({
        "national_repository_id": repository.national_repository_id.as_str(),
        "provider": repository.provider.as_str(),
        "name": repository.name,
        "repository_url": repository.repository_url,
        "status": repository.status.as_str(),
        "registered_at": rfc3339(repository.registered_at),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    wss_certificate_pem: String,
    repository_url: String,
    #[serde(default)]
    name: Option<String>,
}

/// `POST /api/v1/registry/repositories`: registers the calling repository (or registers it
/// again with new certificates) and answers its national repository id.
pub async fn register(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let national = national_tls(&state, &incoming)?;
    let request: RegisterRequest = parse_json(&body)?;
    let wss = wss_from_pem(&request.wss_certificate_pem)?;
    let summary = wss.summary().map_err(|_| {
        ApiError::bad_request(
            "bad_certificate",
            "wss_certificate_pem cannot be read as X.509.",
        )
    })?;
    match &summary.tenant_name {
        Some(name) if name.tenant == national.provider && name.kind == CertKind::Wss => {}
        Some(name) if name.tenant == national.provider => {
            return Err(ApiError::bad_request(
                "wrong_certificate_kind",
                format!("wss_certificate_pem is the {} certificate; expected subject CN={} WSS.", name.kind, national.provider),
            ))
        }
        _ => {
            return Err(ApiError::bad_request(
                "wrong_tenant_certificate",
                format!(
                    "wss_certificate_pem has subject {}; the TLS certificate is provider {}'s, so expected CN={} WSS.",
                    summary.subject, national.provider, national.provider
                ),
            ))
        }
    }
    let wss_serial = check_national(&state, &wss, CertKind::Wss)?;
    // Proof that the caller holds the WSS key being registered.
    auth::verify_signature(
        &state,
        &wss,
        &incoming.method,
        &incoming.uri,
        &incoming.headers,
        &body,
    )
    .await?;
    let repository_url = url::Url::parse(request.repository_url.trim())
        .ok()
        .filter(|u| u.scheme() == "https" && u.host().is_some())
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_repository_url",
                format!(
                    "repository_url '{}' is not an https:// URL.",
                    request.repository_url
                ),
            )
        })?;
    let name = request
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() > 200 || n.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(
            "bad_name",
            "name: at most 200 characters, no control characters.",
        ));
    }
    let root = state.node.oid_root.child(NATIONAL_REPOSITORY_ARC);
    let registered = state
        .metadata
        .register_repository(
            &RepositoryRegistration {
                provider: national.provider.clone(),
                name,
                repository_url: repository_url.as_str().trim_end_matches('/').to_owned(),
                tls_serial: national.presented.serial_hex.clone(),
                tls_fingerprint: national.presented.fingerprint,
                wss_serial: wss_serial.clone(),
                wss_certificate_pem: wss.to_pem(),
            },
            &root,
        )
        .await
        .map_err(|e| ApiError::internal("registering a repository", &e))?;
    let repository = &registered.repository;
    audit(
        &state,
        &national,
        "registry.register",
        repository.national_repository_id.as_str(),
        None,
        format!(
            "{} repository at {}; TLS {}, WSS {wss_serial}",
            if registered.new_id { "new" } else { "known" },
            repository.repository_url,
            national.presented.serial_hex
        ),
    )
    .await?;
    let mut answer = repository_json(repository);
    answer["new"] = json!(registered.new_id);
    Ok((
        if registered.new_id {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(answer),
    ))
}

/// `DELETE /api/v1/registry/repositories/self`: deregisters the calling repository and
/// withdraws all its entries.
pub async fn deregister(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (national, repository) = registered(&state, &incoming, Some(&body)).await?;
    let (repository, withdrawn) = state
        .metadata
        .deregister_repository(&national.provider)
        .await
        .map_err(|e| ApiError::internal("deregistering a repository", &e))?
        .ok_or_else(|| {
            forbidden(
                "repository_deregistered",
                format!(
                    "Repository {} is already deregistered.",
                    repository.national_repository_id
                ),
            )
        })?;
    audit(
        &state,
        &national,
        "registry.deregister",
        repository.national_repository_id.as_str(),
        None,
        format!("{withdrawn} entries withdrawn"),
    )
    .await?;
    Ok(Json(json!({
        "deregistered": repository.national_repository_id.as_str(),
        "withdrawn_entries": withdrawn,
    })))
}

fn path_unique_id(id: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(text) = id.map_err(|_| {
        ApiError::bad_request(
            "bad_unique_id",
            "The uniqueId in the path cannot be read; percent-encode it.",
        )
    })?;
    Ok(text)
}

/// `PUT /api/v1/registry/entries/{uniqueId}`: stores or replaces an entry of the calling
/// repository.
pub async fn put_entry(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (national, repository) = registered(&state, &incoming, Some(&body)).await?;
    let unique_id = path_unique_id(id)?;
    let document: DocumentEntry = parse_json(&body)?;
    if document.unique_id.trim() != unique_id {
        return Err(ApiError::bad_request(
            "unique_id_mismatch",
            format!(
                "The body's uniqueId '{}' is not the one in the path '{unique_id}'.",
                document.unique_id
            ),
        ));
    }
    if document.repository_unique_id.trim() != repository.national_repository_id.as_str() {
        return Err(forbidden(
            "wrong_repository",
            format!(
                "repositoryUniqueId {} is not this repository's national id {}; a repository indexes only its own documents.",
                document.repository_unique_id, repository.national_repository_id
            ),
        ));
    }
    let entry = document.validate()?;
    let outcome = state
        .metadata
        .put_registry_entry(&national.provider, &entry)
        .await
        .map_err(|e| ApiError::internal("storing an entry", &e))?;
    let status = match outcome {
        EntryStored::Created => StatusCode::CREATED,
        EntryStored::Replaced => StatusCode::OK,
        EntryStored::OwnedByAnotherRepository => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "entry_owned_by_another_repository",
                format!("An entry with uniqueId {unique_id} was indexed by another repository; a uniqueId is unique across the national domain."),
            ))
        }
    };
    audit(
        &state,
        &national,
        "registry.entry.put",
        &entry.unique_id,
        Some(&entry.patient.extension),
        if status == StatusCode::CREATED {
            "created".into()
        } else {
            "replaced".into()
        },
    )
    .await?;
    Ok((status, Json(json!({ "entry": document, "indexed": true }))))
}

/// `DELETE /api/v1/registry/entries/{uniqueId}`: withdraws an entry of the calling
/// repository (404 when it has none with this uniqueId).
pub async fn withdraw_entry(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (national, _) = registered(&state, &incoming, Some(&body)).await?;
    let unique_id = path_unique_id(id)?;
    let withdrawn = state
        .metadata
        .withdraw_registry_entry(&national.provider, &unique_id)
        .await
        .map_err(|e| ApiError::internal("withdrawing an entry", &e))?;
    if !withdrawn {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "entry_not_found",
            format!("This repository has no entry with uniqueId {unique_id}."),
        ));
    }
    audit(
        &state,
        &national,
        "registry.entry.withdraw",
        &unique_id,
        None,
        String::new(),
    )
    .await?;
    Ok(Json(json!({ "withdrawn": unique_id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindQuery {
    patient: Option<String>,
    patient_root: Option<String>,
}

/// `GET /api/v1/registry/entries?patient=EXT[&patient_root=OID]`: a patient's entries across
/// all registered repositories, each with the owning repository's id and URL.
pub async fn find(
    State(state): State<AppState>,
    incoming: Incoming,
    query: Result<Query<FindQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let (national, _) = registered(&state, &incoming, None).await?;
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(
            "bad_query",
            format!(
                "The query string cannot be read: {e}; known parameters: patient, patient_root."
            ),
        )
    })?;
    let patient = query
        .patient
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty() && !p.chars().any(char::is_control))
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_parameter",
                "Give the patient: patient=<identifier>, e.g. a PESEL.",
            )
        })?;
    let root = query
        .patient_root
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            Oid::parse(r.trim())
                .map_err(|e| ApiError::bad_request("bad_parameter", format!("patient_root: {e}.")))
        })
        .transpose()?;
    let found = state
        .metadata
        .find_registry_entries(&patient, root.as_ref(), MAX_FIND_RESULTS)
        .await
        .map_err(|e| ApiError::internal("searching entries", &e))?;
    audit(
        &state,
        &national,
        "registry.find",
        &patient,
        Some(&patient),
        format!("{} entries", found.len()),
    )
    .await?;
    let entries: Vec<Value> = found
        .iter()
        .map(|stored| {
            let mut value =
                serde_json::to_value(DocumentEntry::from_stored(stored)).unwrap_or(Value::Null);
            value["repository_url"] = json!(stored.repository_url);
            value["submitted_at"] = json!(rfc3339(stored.submitted_at));
            value
        })
        .collect();
    Ok(Json(json!({ "total": entries.len(), "entries": entries })))
}
