//! The repository's side of the national registry: an account registers its repository with
//! national certificates (uploaded as PKCS#12 + password), indexes documents, finds a
//! patient's entries across all repositories, and revokes (deregisters). Every call to the
//! registry uses the account's national TLS certificate for mutual TLS and signs with its
//! national WSS key. Nothing is stored here unless the registry answered: a registry that is
//! down, slow or refusing leaves the account as it was, with an error naming the cause.
//!
//! The national private keys are kept encrypted (PKCS#8 PBES2) under the node's credentials
//! key (`DATA/secrets/credentials.key`, or `credentials_key_file`).

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use medgate_client::registry::wire::{self, FindQuery};
use medgate_client::RegistryError;
use medgate_ids::{Oid, TenantId};
use medgate_pki::{CertKind, Password, PrivateKey};
use medgate_storage::{DocumentId, NationalCredentials};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::{Reason, RepositoryError};
use crate::{Actor, Repository};

pub mod entry;
mod keys;

pub use entry::DocumentEntry;
use keys::{credentials_secret, national_client, open_p12, pem_chain, registry_ca};

/// How a repository reaches the national registry (`[registry]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryEndpoint {
    /// `https://host:port` of the registry node.
    pub url: url::Url,
    /// The registry's CA certificate: the registry's server certificate and the national
    /// certificates it issues chain to it.
    pub ca_file: PathBuf,
    pub timeout: Duration,
}

/// What the national functions read of the node's configuration.
#[derive(Clone, Debug, Default)]
pub struct NationalSettings {
    /// The national registry, when the operator configured one.
    pub registry: Option<RegistryEndpoint>,
    /// The address clinics and the registry reach this node at, `https://host:port`.
    pub public_url: String,
    /// The key file the national credentials are encrypted with.
    pub credentials_key_file: PathBuf,
}

impl NationalSettings {
    /// The `[registry]` link, or refused when the operator configured none.
    pub fn registry_link(&self) -> Result<&RegistryEndpoint, RepositoryError> {
        self.registry
            .as_ref()
            .ok_or(RepositoryError::RegistryNotConfigured)
    }
}

fn not_registered(tenant: &TenantId) -> RepositoryError {
    RepositoryError::NotRegisteredNationally(tenant.clone())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    tls_p12_base64: String,
    wss_p12_base64: String,
    password: String,
    #[serde(default)]
    name: Option<String>,
}

/// What a registration did.
pub struct NationalRegistration {
    /// One line per step.
    pub log: Vec<String>,
    pub national_id: Oid,
    /// The audit entry's details.
    pub detail: String,
}

/// Registers the actor's repository from a JSON body (`{tls_p12_base64, wss_p12_base64,
/// password, name?}`; see [`register_national`]), audited as `national.register`; answers
/// what was done and the account view.
pub async fn register(
    repository: &Repository,
    settings: &NationalSettings,
    actor: &Actor,
    body: &[u8],
) -> Result<(NationalRegistration, Value), RepositoryError> {
    settings.registry_link()?;
    let request: RegisterRequest = crate::parse_json(body)?;
    let decode = |field: &str, text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| {
                RepositoryError::invalid(
                    Reason::P12,
                    field,
                    format!("{field}: is not base64; nothing was changed."),
                )
            })
    };
    let tls_p12 = decode("tls_p12", &request.tls_p12_base64)?;
    let wss_p12 = decode("wss_p12", &request.wss_p12_base64)?;
    let password = Password::new(request.password);
    let registered =
        register_keystores(repository, settings, actor, tls_p12, wss_p12, password, request.name)
            .await?;
    let account = crate::account::view(repository, &actor.tenant).await?;
    Ok((registered, account))
}

/// Registers the actor's repository with its national keystores (see
/// [`register_national`]), audited as `national.register`.
pub async fn register_keystores(
    repository: &Repository,
    settings: &NationalSettings,
    actor: &Actor,
    tls_p12: Vec<u8>,
    wss_p12: Vec<u8>,
    password: Password,
    name: Option<String>,
) -> Result<NationalRegistration, RepositoryError> {
    let registered = register_national(
        repository,
        settings,
        &actor.tenant,
        tls_p12,
        wss_p12,
        password,
        name,
    )
    .await?;
    repository
        .audit(
            actor,
            "national.register",
            registered.national_id.as_str(),
            None,
            registered.detail.clone(),
        )
        .await?;
    Ok(registered)
}

/// Registers an account's repository in the national domain with its national certificates
/// (each a PKCS#12 with the key, both opened with `password`): checks them, calls the
/// registry, and stores the credentials and the national repository id only when the
/// registry answered. [`register_keystores`] audits it.
async fn register_national(
    repository: &Repository,
    settings: &NationalSettings,
    tenant_id: &TenantId,
    tls_p12: Vec<u8>,
    wss_p12: Vec<u8>,
    password: Password,
    name: Option<String>,
) -> Result<NationalRegistration, RepositoryError> {
    let link = settings.registry_link()?.clone();
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let trust = registry_ca(&link)?;
    let tenant = tenant_id.clone();
    let checked_trust = trust.clone();
    let secret = credentials_secret(settings)?;
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
                .map_err(|e| RepositoryError::internal("encrypting national keys", e))
        };
        let (tls_key_pem, wss_key_pem) = (encrypt(&tls.key)?, encrypt(&wss.key)?);
        Ok::<_, RepositoryError>((tls, wss, tls_key_pem, wss_key_pem))
    })
    .await
    .map_err(|e| RepositoryError::internal("opening keystores", e))??;
    let wss_certificate = wss.chain[0].clone();
    let public_url = settings.public_url.clone();
    let mut log = vec!["National certificates accepted.".to_owned()];
    let (tls_chain, tls_serial, wss_serial) =
        (tls.chain.clone(), tls.serial.clone(), wss.serial.clone());
    let not_after = tls.not_after.min(wss.not_after);
    let client = medgate_client::RegistryClient::new(
        &link.url,
        &trust,
        tenant_id,
        medgate_client::RegistryCredentials {
            tls_chain: tls.chain,
            tls_key: tls.key,
            wss_certificate: wss_certificate.clone(),
            wss_key: wss.key,
        },
        link.timeout,
    )
    .map_err(|e| RepositoryError::internal("registry client", e))?;
    let answer = client
        .register(&wire::RegisterRequest {
            wss_certificate_pem: wss_certificate.to_pem(),
            repository_url: public_url,
            name: name.clone(),
        })
        .await
        .map_err(|e| RepositoryError::registry("could not get the national repository id", e))?;
    let national_id = Oid::parse(&answer.national_repository_id)
        .ok()
        .ok_or_else(|| RepositoryError::RegistryAnswer {
            url: link.url.to_string(),
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
    repository
        .metadata
        .save_national_credentials(tenant_id, &credentials)
        .await
        .map_err(RepositoryError::storage("storing national credentials"))?;
    log.push(format!("National repository id: {national_id}."));
    Ok(NationalRegistration {
        log,
        national_id,
        detail: format!("registry {}; TLS {tls_serial}, WSS {wss_serial}", link.url),
    })
}

/// What a revocation did.
pub struct NationalRevocation {
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

/// Deregisters the actor's repository (see [`revoke_national`]), audited as
/// `national.revoke`; answers what was done and the account view.
pub async fn revoke(
    repository: &Repository,
    settings: &NationalSettings,
    actor: &Actor,
) -> Result<(NationalRevocation, Value), RepositoryError> {
    let revoked = withdraw(repository, settings, actor).await?;
    let account = crate::account::view(repository, &actor.tenant).await?;
    Ok((revoked, account))
}

/// Deregisters the actor's repository (see [`revoke_national`]), audited as
/// `national.revoke`.
pub async fn withdraw(
    repository: &Repository,
    settings: &NationalSettings,
    actor: &Actor,
) -> Result<NationalRevocation, RepositoryError> {
    let revoked = revoke_national(repository, settings, &actor.tenant).await?;
    repository
        .audit(
            actor,
            "national.revoke",
            revoked.national_id.as_str(),
            None,
            revoked.detail(),
        )
        .await?;
    Ok(revoked)
}

/// Deregisters an account's repository at the registry (which withdraws every entry of
/// it), then removes its national credentials, the national repository id and the indexed
/// marks. When the registry cannot be reached nothing is removed: the registry would go on
/// listing the entries. [`withdraw`] audits it.
async fn revoke_national(
    repository: &Repository,
    settings: &NationalSettings,
    tenant_id: &TenantId,
) -> Result<NationalRevocation, RepositoryError> {
    let (client, stored) = national_client(repository, settings, tenant_id)
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
        Err(error) => return Err(RepositoryError::registry(
            "the national certificates were not revoked (the repository could not be deregistered)",
            error,
        )),
    };
    let (_, unindexed) = repository
        .metadata
        .remove_national_credentials(tenant_id)
        .await
        .map_err(RepositoryError::storage("removing national credentials"))?;
    Ok(NationalRevocation {
        national_id: stored.national_repository_id,
        withdrawn,
        unindexed,
    })
}

/// What indexing a document did.
pub struct Indexed {
    pub document_id: DocumentId,
    pub indexed_at: OffsetDateTime,
    pub national_repository_id: Oid,
    /// The entry the registry now holds.
    pub entry: DocumentEntry,
}

/// Sends the actor's document's DocumentEntry to the registry and marks the document
/// indexed (again, when it was: the entry is replaced); audited as `document.index`.
pub async fn index(
    repository: &Repository,
    settings: &NationalSettings,
    actor: &Actor,
    document_id: &DocumentId,
) -> Result<Indexed, RepositoryError> {
    let document = crate::documents::find(repository, actor, document_id).await?;
    let (client, stored) = national_client(repository, settings, &actor.tenant)
        .await?
        .ok_or_else(|| not_registered(&actor.tenant))?;
    let entry = entry::entry_of(&document, &stored.national_repository_id);
    client
        .put_entry(&entry)
        .await
        .map_err(|e| RepositoryError::registry("the document was not indexed", e))?;
    let at = crate::now();
    repository
        .metadata
        .mark_document_indexed(&actor.tenant, document_id, at)
        .await
        .map_err(RepositoryError::storage("marking a document indexed"))?;
    repository
        .audit(
            actor,
            "document.index",
            document_id.as_str(),
            Some(&entry.patient_id.extension),
            format!("national repository {}", stored.national_repository_id),
        )
        .await?;
    Ok(Indexed {
        document_id: document_id.clone(),
        indexed_at: at,
        national_repository_id: stored.national_repository_id,
        entry,
    })
}

/// Before a document is deleted: withdraws its registry entry when it is indexed, audited
/// as `document.unindex`. Any failure refuses the deletion (the registry would otherwise
/// point at a document that no longer exists); an entry the registry no longer has counts as
/// withdrawn.
pub async fn withdraw_before_delete(
    repository: &Repository,
    settings: &NationalSettings,
    actor: &Actor,
    document_id: &DocumentId,
) -> Result<(), RepositoryError> {
    let Some(document) = repository
        .metadata
        .get_document(&actor.tenant, document_id)
        .await
        .map_err(RepositoryError::storage("reading document metadata"))?
    else {
        return Ok(());
    };
    if document.indexed_at.is_none() {
        return Ok(());
    }
    let Some((client, stored)) = national_client(repository, settings, &actor.tenant).await? else {
        tracing::warn!(document = %document_id, "indexed document of a tenant without national credentials");
        return Ok(());
    };
    match client.withdraw_entry(document_id.as_str()).await {
        Ok(_) => {}
        Err(RegistryError::Refused { ref code, .. }) if code == "entry_not_found" => {}
        Err(error) => {
            return Err(RepositoryError::registry(
                "the document was not deleted: its entry in the national registry could not be withdrawn",
                error,
            ))
        }
    }
    repository
        .audit(
            actor,
            "document.unindex",
            document_id.as_str(),
            Some(&document.metadata.patient.extension),
            format!("national repository {}", stored.national_repository_id),
        )
        .await
}

/// The patient's entries in the national registry, across all repositories, as the registry
/// answers them: `patient` is an identifier or `root^extension`, `patient_root` the root
/// when `patient` has none. Audited as `national.find`.
pub async fn find(
    repository: &Repository,
    settings: &NationalSettings,
    actor: &Actor,
    patient: Option<String>,
    patient_root: Option<String>,
) -> Result<Value, RepositoryError> {
    let patient = patient
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            RepositoryError::invalid(
                Reason::MissingParameter,
                "patient",
                "Give the patient: patient=<PESEL> or patient=<root>^<extension>.",
            )
        })?;
    let (root, extension) = match patient.split_once('^') {
        Some((root, extension)) => (Some(root.to_owned()), extension.to_owned()),
        None => (
            patient_root.filter(|r| !r.trim().is_empty()),
            patient.clone(),
        ),
    };
    if let Some(root) = &root {
        Oid::parse(root.trim()).map_err(|e| {
            RepositoryError::invalid(
                Reason::Parameter,
                "patient_root",
                format!("patient_root: {e}."),
            )
        })?;
    }
    if extension.is_empty() || extension.chars().any(char::is_control) {
        return Err(RepositoryError::invalid(
            Reason::Parameter,
            "patient",
            "patient: the identifier is empty or has control characters.",
        ));
    }
    let (client, _) = national_client(repository, settings, &actor.tenant)
        .await?
        .ok_or_else(|| not_registered(&actor.tenant))?;
    let query = FindQuery {
        patient: Some(extension.clone()),
        patient_root: root.as_ref().map(|root| root.trim().to_owned()),
    };
    let found = client
        .find(&query)
        .await
        .map_err(|e| RepositoryError::registry("the national registry could not be searched", e))?;
    let answer =
        serde_json::to_value(&found).map_err(|e| RepositoryError::internal("registry answer JSON", e))?;
    repository
        .audit(
            actor,
            "national.find",
            &extension,
            Some(&extension),
            format!("{} entries", answer["total"].as_u64().unwrap_or(0)),
        )
        .await?;
    Ok(answer)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::testing::{fixture_cda, Fixture};

    #[tokio::test]
    async fn without_a_registry_nothing_is_called_and_nothing_changes() {
        let fixture = Fixture::new().await;
        let settings = NationalSettings::default();
        let (repository, actor) = (&fixture.repository, &fixture.actor);
        let refused = register(repository, &settings, actor, b"{}")
            .await
            .err()
            .unwrap();
        // The missing registry is said before the body is read.
        assert_eq!(
            (refused.code(), refused.kind()),
            ("registry_not_configured", crate::ErrorKind::Conflict)
        );
        let stored =
            crate::ingest::put_document(repository, actor, None, Bytes::from(fixture_cda()))
                .await
                .unwrap();
        let id = &stored.metadata.document_id;
        let unregistered = index(repository, &settings, actor, id).await.err().unwrap();
        assert_eq!(unregistered.code(), "not_registered_nationally");
        assert!(unregistered
            .to_string()
            .contains("medgate client national register"));
        let missing = find(repository, &settings, actor, Some(" ".into()), None)
            .await
            .err()
            .unwrap();
        assert_eq!(missing.code(), "missing_parameter");
        let bad_root = find(
            repository,
            &settings,
            actor,
            Some("1".into()),
            Some("x.y".into()),
        )
        .await
        .err()
        .unwrap();
        assert!(bad_root.to_string().starts_with("patient_root: "));
        assert_eq!(
            revoke(repository, &settings, actor)
                .await
                .err()
                .unwrap()
                .code(),
            "not_registered_nationally"
        );
        // A document that was never indexed is deleted without asking the registry.
        withdraw_before_delete(repository, &settings, actor, id)
            .await
            .unwrap();
        let actions: Vec<String> = fixture
            .audit()
            .await
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["document.put"]);
    }
}
