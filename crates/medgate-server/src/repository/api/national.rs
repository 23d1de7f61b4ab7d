//! The repository's side of the national registry: a tenant registers its repository with
//! national certificates (uploaded as PKCS#12 + password), indexes documents, finds a
//! patient's entries across all repositories, and revokes (deregisters). Every call to the
//! registry uses the tenant's national TLS certificate for mutual TLS and signs with its
//! national WSS key. Nothing is stored here unless the registry answered: a registry that is
//! down, slow or refusing leaves the account as it was, with an error naming the cause.
//!
//! The national private keys are kept encrypted (PKCS#8 PBES2) under the node's credentials
//! key (`DATA/secrets/credentials.key`, or `credentials_key_file`).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use base64::Engine;
use medgate_client::registry::wire::{self, Coded, DocumentEntry, FindQuery, FindResult, PatientId};
use medgate_client::{RegistryClient, RegistryCredentials, RegistryError};
use medgate_ids::{Oid, TenantId};
use medgate_pki::keystore::read_pkcs12;
use medgate_pki::{CertKind, Certificate, Password, PkiError, PrivateKey};
use medgate_storage::{DocumentId, NationalCredentials, StoredDocument};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use medgate_web::api::{audit, audit_patient, rfc3339, Incoming};
use medgate_web::auth::Caller;
use medgate_web::state::RegistryLink;
use medgate_web::error::ApiError;
use medgate_web::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    tls_p12_base64: String,
    wss_p12_base64: String,
    password: String,
    #[serde(default)]
    name: Option<String>,
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "bad_json",
            format!("The request body is not the expected JSON: {e}."),
        )
    })
}

/// The `[registry]` link, or 409 when the operator configured none.
fn registry_link(state: &AppState) -> Result<&RegistryLink, ApiError> {
    state.node.registry.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "registry_not_configured",
            "This repository has no national registry configured ([registry] url and ca_file); ask the operator.",
        )
    })
}

fn not_registered(tenant: &TenantId) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "not_registered_nationally",
        format!(
            "Account {tenant} is not registered in the national registry; run `medgate client national register` first."
        ),
    )
}

/// The registry's CA certificate(s) from `[registry] ca_file`.
fn registry_ca(link: &RegistryLink) -> Result<Vec<Certificate>, ApiError> {
    medgate_pki::load_certificates(&link.ca_file)
        .map_err(|e| ApiError::internal("reading [registry] ca_file", &e))
}

/// Turns a failed registry call into the tenant's error: `what` says what did not happen;
/// every message ends by saying that nothing was changed.
fn registry_failure(what: &str, error: RegistryError) -> ApiError {
    let retry = "nothing was changed, try again";
    match &error {
        RegistryError::Setup(_) => ApiError::internal("registry client", &error),
        RegistryError::Unreachable { .. } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "registry_unreachable",
            format!("{what}: {error}; {retry}."),
        ),
        RegistryError::Timeout { .. } => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "registry_timeout",
            format!("{what}: {error}; {retry}."),
        ),
        RegistryError::CertificateRefused { .. } => ApiError::new(
            StatusCode::FORBIDDEN,
            "registry_refused_certificate",
            format!("{what}: {error}; nothing was changed."),
        ),
        RegistryError::ServerNotTrusted { .. } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "registry_not_trusted",
            format!("{what}: {error}; nothing was changed, ask the operator."),
        ),
        RegistryError::Refused { status, .. } => {
            let status = match status {
                401 | 403 => StatusCode::FORBIDDEN,
                409 => StatusCode::CONFLICT,
                _ => StatusCode::BAD_GATEWAY,
            };
            ApiError::new(
                status,
                "registry_refused",
                format!("{what}: {error}; nothing was changed."),
            )
        }
        RegistryError::BadAnswer { .. } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "registry_bad_answer",
            format!("{what}: {error}; {retry}."),
        ),
    }
}

/// One uploaded keystore, opened and checked: a certificate of `kind` for this tenant with
/// its key, issued by the registry's CA and valid now.
struct NationalPart {
    chain: Vec<Certificate>,
    key: PrivateKey,
    serial: String,
    not_after: OffsetDateTime,
}

fn open_p12(
    field: &str,
    bytes: &[u8],
    password: &Password,
    tenant: &TenantId,
    kind: CertKind,
    registry_ca: &[Certificate],
) -> Result<NationalPart, ApiError> {
    let bad = |code: &'static str, message: String| {
        ApiError::bad_request(code, format!("{field}: {message}; nothing was changed."))
    };
    let contents =
        read_pkcs12(bytes, std::path::Path::new(field), password).map_err(
            |error| match error {
                PkiError::WrongPassword { .. } => bad(
                    "wrong_p12_password",
                    "the password does not open this PKCS#12 file (or the file is damaged)".into(),
                ),
                other => ApiError::bad_request("bad_p12", format!("{other}; nothing was changed.")),
            },
        )?;
    let (Some(certificate), Some(key)) = (contents.certificate.clone(), contents.key) else {
        return Err(bad(
            "bad_p12",
            format!("must hold the national {kind} certificate together with its private key"),
        ));
    };
    if !medgate_pki::keystore::key_belongs_to(&key, &certificate).unwrap_or(false) {
        return Err(bad(
            "bad_p12",
            "the private key does not belong to the certificate".into(),
        ));
    }
    let summary = certificate
        .summary()
        .map_err(|_| bad("bad_p12", "the certificate cannot be read".into()))?;
    let expected = kind.common_name(tenant);
    match &summary.tenant_name {
        Some(name) if name.tenant == *tenant && name.kind == kind => {}
        Some(name) if name.tenant == *tenant => {
            return Err(bad(
                "wrong_certificate_kind",
                format!(
                    "holds the {} certificate; expected the {kind} certificate CN={expected}",
                    name.kind
                ),
            ))
        }
        _ => {
            return Err(bad(
                "wrong_tenant_certificate",
                format!(
                    "holds a certificate with subject {}; expected CN={expected}",
                    summary.subject
                ),
            ))
        }
    }
    if !registry_ca
        .iter()
        .any(|ca| medgate_pki::check::issued_by(&certificate, ca))
    {
        return Err(bad(
            "certificate_not_from_registry_ca",
            format!(
                "the certificate {} was issued by {}, not by the national registry's CA; national certificates come from the registry's operator",
                summary.serial_hex, summary.issuer
            ),
        ));
    }
    let now = OffsetDateTime::now_utc();
    if now > summary.not_after {
        return Err(bad(
            "certificate_expired",
            format!("the certificate expired on {}", summary.not_after.date()),
        ));
    }
    if now < summary.not_before {
        return Err(bad(
            "certificate_not_yet_valid",
            format!(
                "the certificate is valid from {}",
                rfc3339(summary.not_before)
            ),
        ));
    }
    let mut chain = vec![certificate];
    chain.extend(contents.chain);
    Ok(NationalPart {
        chain,
        key,
        serial: summary.serial_hex,
        not_after: summary.not_after,
    })
}

/// The secret the national keys are encrypted with.
fn credentials_secret(state: &AppState) -> Result<Password, ApiError> {
    Password::from_file(&state.node.credentials_key_file)
        .map_err(|e| ApiError::internal("reading the credentials key", &e))
}

fn pem_chain(chain: &[Certificate]) -> String {
    chain.iter().map(Certificate::to_pem).collect()
}

fn certificates_from_pem(text: &str, what: &str) -> Result<Vec<Certificate>, ApiError> {
    let blocks = pem::parse_many(text.as_bytes()).map_err(|e| ApiError::internal(what, &e))?;
    let certificates = blocks
        .into_iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .map(|block| {
            Certificate::from_der(
                block.into_contents(),
                std::path::Path::new("stored national certificate"),
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(what, &e))?;
    if certificates.is_empty() {
        return Err(ApiError::internal(what, &"no certificate stored"));
    }
    Ok(certificates)
}

/// The tenant's registry client from its stored national credentials, or `None` when it has
/// not registered.
async fn national_client(
    state: &AppState,
    tenant: &TenantId,
) -> Result<Option<(RegistryClient, NationalCredentials)>, ApiError> {
    let Some(stored) = state
        .metadata
        .national_credentials(tenant)
        .await
        .map_err(|e| ApiError::internal("reading national credentials", &e))?
    else {
        return Ok(None);
    };
    let link = registry_link(state)?;
    let trust = registry_ca(link)?;
    let secret = credentials_secret(state)?;
    let tls_chain = certificates_from_pem(
        &stored.tls_certificate_pem,
        "stored national TLS certificate",
    )?;
    let mut wss = certificates_from_pem(
        &stored.wss_certificate_pem,
        "stored national WSS certificate",
    )?;
    let wss_certificate = wss.remove(0);
    let (tls_pem, wss_pem) = (stored.tls_key_pem.clone(), stored.wss_key_pem.clone());
    // PBKDF2 takes a moment; keep it off the request threads.
    let (tls_key, wss_key) = tokio::task::spawn_blocking(move || {
        let open = |pem: &str, name: &str| {
            PrivateKey::from_bytes(std::path::Path::new(name), pem.as_bytes(), Some(&secret))
        };
        Ok::<_, PkiError>((
            open(&tls_pem, "stored national TLS key")?,
            open(&wss_pem, "stored national WSS key")?,
        ))
    })
    .await
    .map_err(|e| ApiError::internal("opening national keys", &e))?
    .map_err(|e| {
        ApiError::internal(
            "opening national keys (is credentials_key_file the one they were stored with?)",
            &e,
        )
    })?;
    let client = RegistryClient::new(
        &link.url,
        &trust,
        tenant,
        RegistryCredentials {
            tls_chain,
            tls_key,
            wss_certificate,
            wss_key,
        },
        link.timeout,
    )
    .map_err(|e| ApiError::internal("registry client", &e))?;
    Ok(Some((client, stored)))
}

/// `POST /api/v1/national/register`: registers this tenant's repository in the national
/// domain with the uploaded national certificates; stores them and the national repository
/// id only when the registry answered.
pub async fn register(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    registry_link(&state)?;
    let request: RegisterRequest = parse_json(&body)?;
    let decode = |field: &str, text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| {
                ApiError::bad_request(
                    "bad_p12",
                    format!("{field}: is not base64; nothing was changed."),
                )
            })
    };
    let tls_p12 = decode("tls_p12", &request.tls_p12_base64)?;
    let wss_p12 = decode("wss_p12", &request.wss_p12_base64)?;
    let registered = register_national(
        &state,
        &caller.tenant.id,
        tls_p12,
        wss_p12,
        Password::new(request.password),
        request.name,
    )
    .await?;
    audit(
        &state,
        &caller,
        "national.register",
        registered.national_id.as_str(),
        registered.detail.clone(),
    )
    .await?;
    let account = super::account::account_view(&state, &caller.tenant.id).await?;
    Ok(Json(json!({
        "log": registered.log,
        "national_repository_id": registered.national_id.as_str(),
        "account": account,
    })))
}

/// What [`register_national`] did.
pub(crate) struct NationalRegistration {
    /// One line per step.
    pub log: Vec<String>,
    pub national_id: Oid,
    /// The audit entry's details.
    pub detail: String,
}

/// Registers an account's repository in the national domain with its national certificates
/// (each a PKCS#12 with the key, both opened with `password`): checks them, calls the
/// registry, and stores the credentials and the national repository id only when the
/// registry answered. The API and the administrator's page both end here; the caller
/// audits.
pub(crate) async fn register_national(
    state: &AppState,
    tenant_id: &TenantId,
    tls_p12: Vec<u8>,
    wss_p12: Vec<u8>,
    password: Password,
    name: Option<String>,
) -> Result<NationalRegistration, ApiError> {
    let link = registry_link(state)?.clone();
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let trust = registry_ca(&link)?;
    let tenant = tenant_id.clone();
    let checked_trust = trust.clone();
    let secret = credentials_secret(state)?;
    // Opening PKCS#12 files and encrypting the keys for storage run PBKDF2: off the request
    // threads. The keys are encrypted now so that nothing can fail after the registry
    // answered but before they are stored.
    let (tls, wss, tls_key_pem, wss_key_pem) = tokio::task::spawn_blocking(move || {
        let tls = open_p12(
            "tls_p12",
            &tls_p12,
            &password,
            &tenant,
            CertKind::Tls,
            &checked_trust,
        )?;
        let wss = open_p12(
            "wss_p12",
            &wss_p12,
            &password,
            &tenant,
            CertKind::Wss,
            &checked_trust,
        )?;
        let encrypt = |key: &PrivateKey| {
            key.to_pem(Some(&secret))
                .map_err(|e| ApiError::internal("encrypting national keys", &e))
        };
        let (tls_key_pem, wss_key_pem) = (encrypt(&tls.key)?, encrypt(&wss.key)?);
        Ok::<_, ApiError>((tls, wss, tls_key_pem, wss_key_pem))
    })
    .await
    .map_err(|e| ApiError::internal("opening keystores", &e))??;
    let wss_certificate = wss.chain[0].clone();
    let public_url = state.node.public_url.clone();
    let mut log = vec!["National certificates accepted.".to_owned()];
    let (tls_chain, tls_serial, wss_serial) =
        (tls.chain.clone(), tls.serial.clone(), wss.serial.clone());
    let not_after = tls.not_after.min(wss.not_after);
    let client = RegistryClient::new(
        &link.url,
        &trust,
        tenant_id,
        RegistryCredentials {
            tls_chain: tls.chain,
            tls_key: tls.key,
            wss_certificate: wss_certificate.clone(),
            wss_key: wss.key,
        },
        link.timeout,
    )
    .map_err(|e| ApiError::internal("registry client", &e))?;
    let answer = client
        .register(&wire::RegisterRequest {
            wss_certificate_pem: wss_certificate.to_pem(),
            repository_url: public_url,
            name,
        })
        .await
        .map_err(|e| registry_failure("could not get the national repository id", e))?;
    let national_id = Oid::parse(&answer.national_repository_id)
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "registry_bad_answer",
                format!(
                    "could not get the national repository id: the registry at {} answered without a valid national_repository_id; nothing was changed, try again.",
                    link.url
                ),
            )
        })?;
    log.push(format!(
        "Registered in the national registry at {}.",
        link.url
    ));
    let credentials = NationalCredentials {
        national_repository_id: national_id.clone(),
        registry_url: link.url.to_string(),
        tls_certificate_pem: pem_chain(&tls_chain),
        tls_key_pem: tls_key_pem.to_string(),
        tls_serial: tls_serial.clone(),
        wss_certificate_pem: pem_chain(std::slice::from_ref(&wss_certificate)),
        wss_key_pem: wss_key_pem.to_string(),
        wss_serial: wss_serial.clone(),
        not_after,
        registered_at: OffsetDateTime::now_utc(),
    };
    state
        .metadata
        .save_national_credentials(tenant_id, &credentials)
        .await
        .map_err(|e| ApiError::internal("storing national credentials", &e))?;
    log.push(format!("National repository id: {national_id}."));
    Ok(NationalRegistration {
        log,
        national_id,
        detail: format!("registry {}; TLS {tls_serial}, WSS {wss_serial}", link.url),
    })
}

/// `POST /api/v1/national/revoke`: deregisters at the registry (which withdraws every entry
/// of this repository), then removes the national credentials, the national repository id
/// and the indexed marks. When the registry cannot be reached nothing is removed: the
/// registry would go on listing the entries.
pub async fn revoke(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let revoked = revoke_national(&state, &caller.tenant.id).await?;
    audit(
        &state,
        &caller,
        "national.revoke",
        revoked.national_id.as_str(),
        revoked.detail(),
    )
    .await?;
    let account = super::account::account_view(&state, &caller.tenant.id).await?;
    Ok(Json(json!({
        "deregistered": revoked.national_id.as_str(),
        "withdrawn_entries": revoked.withdrawn,
        "unindexed_documents": revoked.unindexed,
        "account": account,
    })))
}

/// What [`revoke_national`] did.
pub(crate) struct NationalRevocation {
    pub national_id: Oid,
    /// Entries the registry withdrew.
    pub withdrawn: u64,
    /// Documents no longer marked indexed here.
    pub unindexed: u64,
}

impl NationalRevocation {
    /// The audit entry's details.
    pub fn detail(&self) -> String {
        format!(
            "{} entries withdrawn at the registry; {} documents no longer indexed",
            self.withdrawn, self.unindexed
        )
    }
}

/// Deregisters an account's repository at the registry, then removes its national
/// credentials; the API and the administrator's page both end here; the caller audits.
pub(crate) async fn revoke_national(
    state: &AppState,
    tenant_id: &TenantId,
) -> Result<NationalRevocation, ApiError> {
    let (client, stored) = national_client(state, tenant_id)
        .await?
        .ok_or_else(|| not_registered(tenant_id))?;
    let withdrawn = match client.deregister().await {
        Ok(answer) => answer.withdrawn_entries,
        // The registry holds nothing for these credentials any more.
        Err(RegistryError::Refused { ref code, .. })
            if code == "repository_deregistered" || code == "repository_not_registered" =>
        {
            0
        }
        Err(error) => return Err(registry_failure(
            "the national certificates were not revoked (the repository could not be deregistered)",
            error,
        )),
    };
    let (_, unindexed) = state
        .metadata
        .remove_national_credentials(tenant_id)
        .await
        .map_err(|e| ApiError::internal("removing national credentials", &e))?;
    Ok(NationalRevocation {
        national_id: stored.national_repository_id,
        withdrawn,
        unindexed,
    })
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

/// `POST /api/v1/documents/{id}/index`: sends the document's DocumentEntry to the registry
/// and marks the document indexed (again, when it was: the entry is replaced).
pub async fn index(
    State(state): State<AppState>,
    incoming: Incoming,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = incoming.signed_caller(&state, &body).await?;
    let document_id = path_document_id(id)?;
    index_document(&state, &caller, &document_id).await.map(Json)
}

/// Indexes the caller's document in the national registry (shared with the archive web
/// page); answers what `POST /api/v1/documents/{id}/index` answers.
pub async fn index_document(
    state: &AppState,
    caller: &Caller,
    document_id: &DocumentId,
) -> Result<Value, ApiError> {
    let document = state
        .metadata
        .get_document(&caller.tenant.id, document_id)
        .await
        .map_err(|e| ApiError::internal("reading document metadata", &e))?
        .ok_or_else(|| ApiError::not_found("document"))?;
    let (client, stored) = national_client(state, &caller.tenant.id)
        .await?
        .ok_or_else(|| not_registered(&caller.tenant.id))?;
    let entry = entry_of(&document, &stored.national_repository_id);
    client
        .put_entry(&entry)
        .await
        .map_err(|e| registry_failure("the document was not indexed", e))?;
    let at = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    state
        .metadata
        .mark_document_indexed(&caller.tenant.id, document_id, at)
        .await
        .map_err(|e| ApiError::internal("marking a document indexed", &e))?;
    audit_patient(
        state,
        caller,
        "document.index",
        document_id.as_str(),
        Some(&entry.patient_id.extension),
        format!("national repository {}", stored.national_repository_id),
    )
    .await?;
    Ok(json!({
        "document": document_id.as_str(),
        "indexed": true,
        "indexed_at": rfc3339(at),
        "national_repository_id": stored.national_repository_id.as_str(),
        "entry": entry,
    }))
}

/// Before a document is deleted: withdraws its registry entry when it is indexed. Any
/// failure refuses the deletion (the registry would otherwise point at a document that no
/// longer exists); an entry the registry no longer has counts as withdrawn.
pub async fn withdraw_before_delete(
    state: &AppState,
    caller: &Caller,
    document_id: &DocumentId,
) -> Result<(), ApiError> {
    let Some(document) = state
        .metadata
        .get_document(&caller.tenant.id, document_id)
        .await
        .map_err(|e| ApiError::internal("reading document metadata", &e))?
    else {
        return Ok(());
    };
    if document.indexed_at.is_none() {
        return Ok(());
    }
    let Some((client, stored)) = national_client(state, &caller.tenant.id).await? else {
        tracing::warn!(document = %document_id, "indexed document of a tenant without national credentials");
        return Ok(());
    };
    match client.withdraw_entry(document_id.as_str()).await {
        Ok(_) => {}
        Err(RegistryError::Refused { ref code, .. }) if code == "entry_not_found" => {}
        Err(error) => {
            return Err(registry_failure(
                "the document was not deleted: its entry in the national registry could not be withdrawn",
                error,
            ))
        }
    }
    audit_patient(
        state,
        caller,
        "document.unindex",
        document_id.as_str(),
        Some(&document.metadata.patient.extension),
        format!("national repository {}", stored.national_repository_id),
    )
    .await
}

/// `GET /api/v1/national/find?patient=ID[&patient_root=OID]`: the patient's entries in the
/// national registry, across all repositories (`patient` may also be `root^extension`).
pub async fn find(
    State(state): State<AppState>,
    incoming: Incoming,
    query: Result<Query<FindQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FindResult>, ApiError> {
    let caller = incoming.caller(&state).await?;
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
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_parameter",
                "Give the patient: patient=<PESEL> or patient=<root>^<extension>.",
            )
        })?;
    let (root, extension) = match patient.split_once('^') {
        Some((root, extension)) => (Some(root.to_owned()), extension.to_owned()),
        None => (
            query.patient_root.filter(|r| !r.trim().is_empty()),
            patient.clone(),
        ),
    };
    if let Some(root) = &root {
        Oid::parse(root.trim())
            .map_err(|e| ApiError::bad_request("bad_parameter", format!("patient_root: {e}.")))?;
    }
    if extension.is_empty() || extension.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "bad_parameter",
            "patient: the identifier is empty or has control characters.",
        ));
    }
    let (client, _) = national_client(&state, &caller.tenant.id)
        .await?
        .ok_or_else(|| not_registered(&caller.tenant.id))?;
    let search = FindQuery {
        patient: Some(extension.clone()),
        patient_root: root.as_deref().map(|root| root.trim().to_owned()),
    };
    let answer = client
        .find(&search)
        .await
        .map_err(|e| registry_failure("the national registry could not be searched", e))?;
    audit_patient(
        &state,
        &caller,
        "national.find",
        &extension,
        Some(&extension),
        format!("{} entries", answer.total),
    )
    .await?;
    Ok(Json(answer))
}
/// The registry entry of a stored document of a repository whose national id is
/// `repository`. The patientId is the national identifier (PESEL root) when the document
/// carries one, even one whose check digit fails (test documents do), else the main
/// identifier.
fn entry_of(document: &StoredDocument, repository: &Oid) -> DocumentEntry {
    let metadata = &document.metadata;
    let patient = std::iter::once(&metadata.patient)
        .chain(&metadata.other_patient_ids)
        .find(|id| id.root.as_str() == medgate_ids::Pesel::OID)
        .unwrap_or(&metadata.patient);
    DocumentEntry {
        unique_id: metadata.document_id.as_str().to_owned(),
        patient_id: PatientId {
            root: patient.root.as_str().to_owned(),
            extension: patient.extension.clone(),
        },
        class_code: metadata.class_code.clone(),
        type_code: metadata.type_code.as_ref().map(|code| Coded {
            code: code.clone(),
            system: metadata.type_system.clone(),
            display: metadata.type_display.clone(),
        }),
        creation_time: rfc3339(metadata.effective_time),
        hash: metadata.sha1.to_hex(),
        sha256: metadata.sha256.to_hex(),
        size: metadata.size_bytes,
        repository_unique_id: repository.as_str().to_owned(),
        author: metadata.author_name.clone(),
        title: metadata.title.clone(),
        confidentiality: metadata.confidentiality.clone(),
        mime_type: metadata.content_type.clone(),
    }
}

