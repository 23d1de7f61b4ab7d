//! Bringing a node up from its configuration: the data folder, the tenant CA (created on
//! first start), the server certificate (issued by that CA for localhost and the configured
//! names, renewed when it nears expiry or the names change), the CRL, the stores and the
//! certificate revocations; then serving until shutdown, with the background tasks: the
//! revocation refresher and the orphan sweep.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use medgate_pki::ca::{CertificateAuthority, Validity};
use medgate_pki::files::{self, Visibility, WriteMode};
use medgate_pki::{load_certificate, KeyAlgorithm, Password, PrivateKey};
use medgate_storage::{
    ContentStore, FilesystemContent, Metadata, S3Config, S3Content, StagingArea,
};
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::config::{redact_url, ContentConfig, ServerConfig};
use crate::revocation::{self, Refresher, Revocations};
use medgate_web::state::{AppState, NodeSettings};
use crate::tls::{server_config, TenantClientVerifier};

/// Why the node could not start; each names the file or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Pki(#[from] medgate_pki::PkiError),
    #[error("database {url}: {source}")]
    Database {
        url: String,
        #[source]
        source: medgate_storage::MetadataError,
    },
    #[error("content store: {0}")]
    Content(#[from] medgate_storage::ContentError),
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsSetupError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// A node ready to serve: state built, port bound.
pub struct PreparedServer {
    pub state: AppState,
    pub config: Arc<ServerConfig>,
    pub tls: Arc<rustls::ServerConfig>,
    pub listener: TcpListener,
    /// The metrics listener (plain HTTP), when `metrics_listen` is set.
    pub metrics_listener: Option<TcpListener>,
    /// Carries the refresher's state from the first refresh (done before binding) on.
    refresher: Refresher,
}

impl PreparedServer {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, StartupError> {
        self.listener
            .local_addr()
            .map_err(|e| StartupError::Other(format!("local address: {e}")))
    }

    /// The address the metrics listener is bound to, when there is one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` resolves, then drains open requests. A registry node serves
    /// the registry API only, a repository node the repository API only.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()> + Send) {
        let refresher = revocation::spawn(
            self.state.metadata.clone(),
            self.state.ca.clone(),
            self.state.revocations.clone(),
            self.refresher,
        );
        let sweeper = spawn_orphan_sweep(&self.state, &self.config);
        if self.config.role == crate::config::Role::Claims {
            // The packages a stopped node left being checked are checked again.
            tokio::spawn(crate::claims::resume_checks(self.state.clone()));
        }
        crate::audit_checkpoint::spawn(&self.state, &self.config);
        let metrics = self.metrics_listener.map(|listener| {
            tokio::spawn(crate::metrics_listener::serve(listener, self.state.clone()))
        });
        let router = crate::router::router(self.config.role, self.state);
        crate::listener::serve(self.listener, self.tls, router, shutdown).await;
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        refresher.abort();
        if let Some(sweeper) = sweeper {
            sweeper.abort();
        }
    }
}

/// The CA's folder inside the data folder.
pub fn ca_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("ca")
}

/// Opens the tenant CA, creating it on first start.
pub fn open_or_create_ca(config: &ServerConfig) -> Result<CertificateAuthority, StartupError> {
    let dir = ca_dir(&config.data_dir);
    let password = config
        .ca_password_file
        .as_deref()
        .map(Password::from_file)
        .transpose()?;
    if dir.join("ca.pem").exists() {
        return Ok(CertificateAuthority::open(&dir, password.as_ref())?);
    }
    tracing::info!(dir = %dir.display(), "creating the tenant CA");
    let name = match config.role {
        crate::config::Role::Repository => "medgate tenant CA",
        crate::config::Role::Registry => "medgate national registry CA",
        crate::config::Role::Clinical => "medgate clinical record service CA",
        crate::config::Role::Claims => "medgate claims register CA",
    };
    Ok(CertificateAuthority::init(
        &dir,
        name,
        KeyAlgorithm::Rsa3072,
        Validity::days_from_now(3650)?,
        password.as_ref(),
    )?)
}

/// Returns the server certificate chain and key, issuing a new certificate when there is
/// none, it expires within 30 days, or it does not cover the names wanted now.
fn server_identity(
    config: &ServerConfig,
    ca: &CertificateAuthority,
) -> Result<(Vec<medgate_pki::Certificate>, PrivateKey), StartupError> {
    let dir = config.data_dir.join("server");
    files::ensure_dir(&dir)?;
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server.key");
    let mut dns_names = vec!["localhost".to_owned()];
    let mut ips: Vec<IpAddr> = vec![IpAddr::from([127, 0, 0, 1]), "::1".parse().map_err(|_| StartupError::Other("::1".into()))?];
    for name in &config.server_names {
        match name.parse::<IpAddr>() {
            Ok(ip) if !ips.contains(&ip) => ips.push(ip),
            Ok(_) => {}
            Err(_) if !dns_names.contains(name) => dns_names.push(name.clone()),
            Err(_) => {}
        }
    }
    if let (true, true) = (cert_path.exists(), key_path.exists()) {
        let certificate = load_certificate(&cert_path)?;
        let summary = certificate.summary()?;
        let fresh = summary.not_after > OffsetDateTime::now_utc() + time::Duration::days(30);
        let covers = dns_names.iter().all(|n| summary.dns_names.contains(n))
            && ips.iter().all(|ip| summary.ip_addresses.contains(&ip.to_string()));
        let same_ca = medgate_pki::check::issued_by(&certificate, ca.certificate());
        if fresh && covers && same_ca {
            let key = PrivateKey::load(&key_path, None)?;
            return Ok((vec![certificate, ca.certificate().clone()], key));
        }
        tracing::info!("renewing the server certificate");
    }
    let (certificate, key) = ca.issue_server(
        &dns_names,
        &ips,
        KeyAlgorithm::EcdsaP256,
        Validity::days_from_now(397)?,
    )?;
    key.save(&key_path, None, WriteMode::Replace)?;
    files::write(&cert_path, certificate.to_pem().as_bytes(), WriteMode::Replace, Visibility::Public)?;
    Ok((vec![certificate, ca.certificate().clone()], key))
}

/// Opens the content store the configuration names.
pub async fn open_content(config: &ServerConfig) -> Result<Arc<dyn ContentStore>, StartupError> {
    Ok(match &config.content {
        ContentConfig::Filesystem { root } => {
            // The store keeps its objects under `<dir>/content`.
            let parent = root.parent().unwrap_or(Path::new("."));
            Arc::new(FilesystemContent::open(parent).await?)
        }
        ContentConfig::S3 {
            endpoint,
            bucket,
            region,
            access_key_id,
            secret_access_key,
        } => Arc::new(S3Content::new(&S3Config {
            endpoint: Some(endpoint.clone()),
            bucket: bucket.clone(),
            region: region.clone(),
            access_key_id: access_key_id.clone(),
            secret_access_key: secret_access_key.clone(),
            allow_http: endpoint.starts_with("http://"),
            prefix: "content".to_owned(),
        })?),
    })
}

/// The staging folder uploads are streamed to, `DATA/tmp`: the node's own (beside the
/// content in the default layout, so a finished upload is renamed into the content folder;
/// a content folder configured on another file system gets a copy, an S3 store an upload
/// in parts). Created when missing; whatever a crash left in it is removed, since no
/// upload is in flight before the node serves.
pub async fn open_staging(data_dir: &Path) -> Result<StagingArea, StartupError> {
    let (area, removed) = StagingArea::open(staging_dir(data_dir)).await?;
    if removed > 0 {
        tracing::warn!(removed, folder = %area.dir().display(), "removed uploads a crash left half-written");
    }
    Ok(area)
}

/// `DATA/tmp`.
pub fn staging_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("tmp")
}

/// Connects to the configured database (creating the SQLite file and running migrations).
pub async fn open_metadata(config: &ServerConfig) -> Result<Metadata, StartupError> {
    if config.database_url.starts_with("sqlite:") {
        files::ensure_dir(&config.data_dir)?;
    }
    Metadata::connect(&config.database_url)
        .await
        .map_err(|source| StartupError::Database {
            url: redact_url(&config.database_url),
            source,
        })
}

/// Opens the database of an existing node for an operator's command (`medgate tenant`,
/// `medgate operator`). On the embedded default a data folder where no node was ever
/// started has no database: that is refused naming the folder, so a command run in the
/// wrong folder does not quietly make a second, empty node there, unless `init` (the
/// operator means to prepare the node before its first start).
pub async fn open_node_metadata(config: &ServerConfig, init: bool) -> Result<Metadata, StartupError> {
    if let Some(file) = sqlite_file(&config.database_url) {
        if !init && !file.exists() {
            return Err(StartupError::Other(format!(
                "there is no medgate node in {} (no database {}): give the node's folder with \
                 --data (or its --config), start the node there first with `medgate serve`, or \
                 add --init to create the node's database here",
                config.data_dir.display(),
                file.display()
            )));
        }
    }
    open_metadata(config).await
}

/// The database file of a `sqlite:` URL.
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Creates the secret that encrypts national private keys at rest, when it does not exist
/// yet: 32 random bytes as hex, in a file only the owner can read.
pub fn ensure_credentials_key(path: &Path) -> Result<(), StartupError> {
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        files::ensure_dir(parent)?;
    }
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    aws_lc_rs::rand::fill(secret.as_mut())
        .map_err(|_| StartupError::Other("the system random number generator failed".into()))?;
    let text = zeroize::Zeroizing::new(format!("{}\n", hex::encode(secret.as_ref())));
    tracing::info!(file = %path.display(), "creating the credentials key");
    files::write(path, text.as_bytes(), WriteMode::CreateNew, Visibility::Secret)?;
    Ok(())
}

/// Builds everything and binds the listening socket.
pub async fn prepare(mut config: ServerConfig) -> Result<PreparedServer, StartupError> {
    files::ensure_dir(&config.data_dir)?;
    if config.role == crate::config::Role::Repository {
        ensure_credentials_key(&config.credentials_key_file)?;
    }
    if let Some(link) = &config.registry {
        // A wrong [registry] ca_file is said at startup, not at the first registration.
        medgate_pki::load_certificates(&link.ca_file)?;
    }
    let ca = open_or_create_ca(&config)?;
    let (chain, key) = server_identity(&config, &ca)?;
    let metrics = Arc::new(medgate_web::metrics::Metrics::new());
    for (kind, certificate) in [("server", chain.first()), ("ca", Some(ca.certificate()))] {
        let Some(certificate) = certificate else {
            continue;
        };
        let summary = certificate.summary()?;
        metrics.node_certificate(kind, &summary.serial_hex, summary.not_after);
    }
    let metadata = open_metadata(&config).await?;
    metadata.observe_writes(metrics.clone());
    let content: Arc<dyn ContentStore> = Arc::new(medgate_web::metrics::CountedContent::new(
        open_content(&config).await?,
        metrics.clone(),
    ));
    let staging = open_staging(&config.data_dir).await?;
    // The node trusts no certificate before it knows the revocations: the first refresh
    // (CA folder → database → memory) must succeed.
    let revocations = Arc::new(Revocations::new());
    let mut refresher = Refresher::default();
    refresher
        .refresh(&metadata, &ca, &revocations)
        .await
        .map_err(|e| StartupError::Other(format!("reading certificate revocations: {e}")))?;
    let crl = revocation::publish_crl(&ca)?;
    let verifier = Arc::new(TenantClientVerifier::new(ca.certificate(), &[crl], revocations.clone())?);
    let tls = Arc::new(server_config(chain, key.pkcs8_der(), verifier)?);
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartupError::Listen {
            address: config.listen,
            source,
        })?;
    let metrics_listener = match config.metrics_listen {
        Some(address) => Some(
            TcpListener::bind(address)
                .await
                .map_err(|source| StartupError::Listen { address, source })?,
        ),
        None => None,
    };
    if config.public_url.is_none() {
        let bound = listener
            .local_addr()
            .map_err(|e| StartupError::Other(format!("local address: {e}")))?;
        config.public_url = Some(format!("https://{bound}"));
    }
    let state = AppState {
        metadata,
        content,
        ca: Arc::new(ca),
        revocations,
        node: Arc::new(node_settings(&config)),
        staging,
        body_budget: medgate_web::budget::BodyBudget::new(),
        clock: medgate_web::clock::Clock::system(),
        metrics,
    };
    Ok(PreparedServer {
        state,
        config: Arc::new(config),
        tls,
        listener,
        metrics_listener,
        refresher,
    })
}

/// What the modules read of the configuration. `public_url` is set by [`prepare`] once the
/// port is bound.
fn node_settings(config: &ServerConfig) -> NodeSettings {
    NodeSettings {
        oid_root: config.oid_root.clone(),
        signature_max_age_seconds: config.signature_max_age_seconds,
        public_url: config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("https://{}", config.listen)),
        credentials_key_file: config.credentials_key_file.clone(),
        registry: config.registry.clone(),
    }
}

/// Removes content that a crash left without metadata, in the background: shortly after the
/// start and then every `orphan_sweep_seconds`, only objects older than
/// `orphan_grace_seconds` by their own write time (an upload in flight on this or another
/// node has written its content but not yet committed its metadata). Nothing of it delays the
/// start. A registry keeps no content and sweeps nothing.
fn spawn_orphan_sweep(state: &AppState, config: &ServerConfig) -> Option<tokio::task::JoinHandle<()>> {
    if config.role != crate::config::Role::Repository {
        return None;
    }
    let metadata = state.metadata.clone();
    let content = state.content.clone();
    let interval = Duration::from_secs(config.orphan_sweep_seconds.max(1));
    let grace = Duration::from_secs(config.orphan_grace_seconds);
    Some(tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        loop {
            match medgate_storage::sweep::sweep_orphans(&metadata, content.as_ref(), grace).await {
                Ok(report) if report.removed > 0 || report.partials_removed > 0 => {
                    tracing::warn!(?report, "orphan sweep removed content without metadata")
                }
                Ok(report) => tracing::debug!(?report, "orphan sweep done"),
                Err(error) => tracing::warn!(%error, "orphan sweep failed"),
            }
            tokio::time::sleep(interval).await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_file_is_read_from_the_url() {
        assert_eq!(
            sqlite_file("sqlite://medgate-data/medgate.db?mode=rwc"),
            Some(PathBuf::from("medgate-data/medgate.db"))
        );
        assert_eq!(sqlite_file("sqlite:/srv/m.db"), Some(PathBuf::from("/srv/m.db")));
        assert_eq!(sqlite_file("postgres://db/medgate"), None);
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
