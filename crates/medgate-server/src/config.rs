//! Server configuration: an optional TOML file, then `MEDGATE_*` environment variables, then
//! command-line flags (applied by the binary), validated into a [`ServerConfig`] that cannot
//! be half-valid. With nothing given, `medgate serve` runs on SQLite in `./medgate-data`
//! listening on 127.0.0.1:8443.
//!
//! ```toml
//! data_dir = "/var/lib/medgate"
//! listen = "0.0.0.0:8443"
//! role = "repository"                    # or "registry", "clinical", "claims"
//! server_names = ["repo.example.org"]    # DNS names / IPs for the server certificate
//! oid_root = "1.3.6.1.4.1.99999.1"       # operator's arc for domain and repository ids
//! database_url = "postgres://medgate@db/medgate"   # default: SQLite in data_dir
//! signature_max_age_seconds = 300
//! public_url = "https://repo.example.org:8443"   # how the registry points back here
//! credentials_key_file = "/etc/medgate/credentials.key"  # default DATA/secrets/credentials.key
//! orphan_sweep_seconds = 300              # how often content without metadata is looked for
//! orphan_grace_seconds = 600              # how old (by its write time) such content must be
//! audit_checkpoint_seconds = 300          # signed audit checkpoints; 0 = none
//! metrics_listen = "127.0.0.1:9464"       # Prometheus /metrics over plain HTTP; default: off
//!
//! [registry]                              # repository role: the national registry to use
//! url = "https://registry.example.org:9443"
//! ca_file = "/etc/medgate/registry-ca.pem"   # the registry's REGDATA/ca/ca.pem
//! timeout_seconds = 10
//!
//! [content]                               # default: files under data_dir/content
//! kind = "s3"
//! endpoint = "http://127.0.0.1:9000"
//! bucket = "medgate"
//! region = "us-east-1"
//! access_key_id = "…"
//! secret_access_key_file = "/etc/medgate/s3-secret"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use medgate_ids::Oid;
use serde::Deserialize;

/// The example arc of ITU-T X.660 (2.999), used until the operator sets their own root.
pub const DEFAULT_OID_ROOT: &str = "2.999.1";

/// A configuration problem, naming the setting and where it came from.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

/// Which service this node provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A multi-tenant document repository (the default).
    Repository,
    /// The national document registry.
    Registry,
    /// The national clinical record service (Hungary, FHIR R4 under `/fhir`).
    Clinical,
    /// The claims registers of a territorial OMS fund (Russia, pages under `/claims`).
    Claims,
}

impl Role {
    fn parse(text: &str) -> Result<Self, ConfigError> {
        match text {
            "repository" => Ok(Role::Repository),
            "registry" => Ok(Role::Registry),
            "clinical" => Ok(Role::Clinical),
            "claims" => Ok(Role::Claims),
            other => Err(ConfigError(format!(
                "role '{other}' is unknown: use repository, registry, clinical or claims"
            ))),
        }
    }
}

/// Where document content is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentConfig {
    /// Files under a folder (default `DATA/content`).
    Filesystem { root: PathBuf },
    /// An S3-compatible object store.
    S3 {
        endpoint: String,
        bucket: String,
        region: String,
        access_key_id: String,
        secret_access_key: String,
    },
}

pub use medgate_web::state::RegistryLink;

/// Default time limit of a call to the registry.
pub const DEFAULT_REGISTRY_TIMEOUT_SECONDS: u64 = 10;

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub role: Role,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    pub content: ContentConfig,
    /// Names in the server certificate besides localhost and 127.0.0.1.
    pub server_names: Vec<String>,
    pub oid_root: Oid,
    pub signature_max_age_seconds: u64,
    /// Password file of the CA key, when the CA key is encrypted.
    pub ca_password_file: Option<PathBuf>,
    /// The URL under which clients (and the registry's entries) reach this node; `None`
    /// until startup fills in `https://<bound address>`.
    pub public_url: Option<String>,
    /// The secret that encrypts the national private keys at rest (created on first start;
    /// nodes sharing a database must share this file).
    pub credentials_key_file: PathBuf,
    /// The national registry a repository registers with, when configured.
    pub registry: Option<RegistryLink>,
    /// How often the node looks for content a crash left without metadata.
    pub orphan_sweep_seconds: u64,
    /// How old such content must be, by its own write time, before it is removed (uploads in
    /// flight on any node are younger).
    pub orphan_grace_seconds: u64,
    /// How often the running node writes a signed checkpoint of the audit chain head (when
    /// the chain grew); 0 writes none.
    pub audit_checkpoint_seconds: u64,
    /// Where `/metrics` (and `/readyz`) are served over plain HTTP for Prometheus; `None`
    /// (the default) serves no metrics. Never the public port: a listener of its own.
    pub metrics_listen: Option<SocketAddr>,
}

/// Default of `audit_checkpoint_seconds`.
pub const DEFAULT_AUDIT_CHECKPOINT_SECONDS: u64 = 300;
/// Default of `orphan_sweep_seconds`.
pub const DEFAULT_ORPHAN_SWEEP_SECONDS: u64 = 300;
/// Default of `orphan_grace_seconds`.
pub const DEFAULT_ORPHAN_GRACE_SECONDS: u64 = 600;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    role: Option<String>,
    database_url: Option<String>,
    server_names: Option<Vec<String>>,
    oid_root: Option<String>,
    signature_max_age_seconds: Option<u64>,
    ca_password_file: Option<PathBuf>,
    content: Option<FileContent>,
    public_url: Option<String>,
    credentials_key_file: Option<PathBuf>,
    registry: Option<FileRegistry>,
    orphan_sweep_seconds: Option<u64>,
    orphan_grace_seconds: Option<u64>,
    audit_checkpoint_seconds: Option<u64>,
    metrics_listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRegistry {
    url: Option<String>,
    ca_file: Option<PathBuf>,
    timeout_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileContent {
    kind: String,
    root: Option<PathBuf>,
    endpoint: Option<String>,
    bucket: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key_file: Option<PathBuf>,
}

/// Values given on the command line; they win over the file and the environment.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub role: Option<String>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub registry_url: Option<String>,
    pub registry_ca_file: Option<PathBuf>,
    pub metrics_listen: Option<String>,
}

impl ServerConfig {
    /// Reads the optional file, applies environment variables (`MEDGATE_DATA`,
    /// `MEDGATE_LISTEN`, `MEDGATE_ROLE`, `MEDGATE_DATABASE_URL`, `MEDGATE_OID_ROOT`,
    /// `MEDGATE_SERVER_NAMES` comma-separated, `MEDGATE_PUBLIC_URL`,
    /// `MEDGATE_CREDENTIALS_KEY_FILE`, `MEDGATE_REGISTRY_URL`, `MEDGATE_REGISTRY_CA_FILE`,
    /// `MEDGATE_REGISTRY_TIMEOUT_SECONDS`, `MEDGATE_AUDIT_CHECKPOINT_SECONDS`,
    /// `MEDGATE_METRICS_LISTEN`) and then
    /// `overrides`, and validates.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut raw = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("{}: cannot be read: {e}", path.display()))
                })?;
                toml::from_str::<FileConfig>(&text)
                    .map_err(|e| ConfigError(format!("{}: {}", path.display(), e.message())))?
            }
            None => FileConfig::default(),
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("MEDGATE_DATA") {
            raw.data_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env("MEDGATE_LISTEN") {
            raw.listen = Some(v);
        }
        if let Some(v) = env("MEDGATE_ROLE") {
            raw.role = Some(v);
        }
        if let Some(v) = env("MEDGATE_DATABASE_URL") {
            raw.database_url = Some(v);
        }
        if let Some(v) = env("MEDGATE_OID_ROOT") {
            raw.oid_root = Some(v);
        }
        if let Some(v) = env("MEDGATE_SERVER_NAMES") {
            raw.server_names = Some(v.split(',').map(|s| s.trim().to_owned()).collect());
        }
        if let Some(v) = env("MEDGATE_PUBLIC_URL") {
            raw.public_url = Some(v);
        }
        if let Some(v) = env("MEDGATE_CREDENTIALS_KEY_FILE") {
            raw.credentials_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("MEDGATE_REGISTRY_URL") {
            raw.registry.get_or_insert_with(FileRegistry::default).url = Some(v);
        }
        if let Some(v) = env("MEDGATE_REGISTRY_CA_FILE") {
            raw.registry.get_or_insert_with(FileRegistry::default).ca_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("MEDGATE_REGISTRY_TIMEOUT_SECONDS") {
            let seconds = v.parse().map_err(|_| {
                ConfigError(format!(
                    "MEDGATE_REGISTRY_TIMEOUT_SECONDS '{v}' is not a number of seconds"
                ))
            })?;
            raw.registry.get_or_insert_with(FileRegistry::default).timeout_seconds = Some(seconds);
        }
        for (name, field) in [
            ("MEDGATE_ORPHAN_SWEEP_SECONDS", &mut raw.orphan_sweep_seconds),
            ("MEDGATE_ORPHAN_GRACE_SECONDS", &mut raw.orphan_grace_seconds),
        ] {
            if let Some(v) = env(name) {
                *field = Some(v.parse().map_err(|_| {
                    ConfigError(format!("{name} '{v}' is not a number of seconds"))
                })?);
            }
        }
        if let Some(v) = env("MEDGATE_AUDIT_CHECKPOINT_SECONDS") {
            raw.audit_checkpoint_seconds = Some(v.parse().map_err(|_| {
                ConfigError(format!(
                    "MEDGATE_AUDIT_CHECKPOINT_SECONDS '{v}' is not a number of seconds"
                ))
            })?);
        }
        if let Some(v) = env("MEDGATE_METRICS_LISTEN") {
            raw.metrics_listen = Some(v);
        }
        if let Some(v) = &overrides.metrics_listen {
            raw.metrics_listen = Some(v.clone());
        }
        if let Some(v) = &overrides.public_url {
            raw.public_url = Some(v.clone());
        }
        if let Some(v) = &overrides.registry_url {
            raw.registry.get_or_insert_with(FileRegistry::default).url = Some(v.clone());
        }
        if let Some(v) = &overrides.registry_ca_file {
            raw.registry.get_or_insert_with(FileRegistry::default).ca_file = Some(v.clone());
        }
        if let Some(v) = &overrides.data_dir {
            raw.data_dir = Some(v.clone());
        }
        if let Some(v) = &overrides.listen {
            raw.listen = Some(v.clone());
        }
        if let Some(v) = &overrides.role {
            raw.role = Some(v.clone());
        }
        if let Some(v) = &overrides.database_url {
            raw.database_url = Some(v.clone());
        }
        Self::validate(raw)
    }

    fn validate(raw: FileConfig) -> Result<Self, ConfigError> {
        let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("medgate-data"));
        let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8443".to_owned());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError(format!(
                "listen address '{listen_text}' is not IP:PORT (for example 127.0.0.1:8443)"
            ))
        })?;
        let role = Role::parse(raw.role.as_deref().unwrap_or("repository"))?;
        let database_url = match raw.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:") => url,
            Some(url) => {
                return Err(ConfigError(format!(
                    "database_url '{}' must start with sqlite: or postgres://",
                    redact_url(&url)
                )))
            }
            None => format!("sqlite://{}?mode=rwc", data_dir.join("medgate.db").display()),
        };
        let content = match raw.content {
            None => ContentConfig::Filesystem {
                root: data_dir.join("content"),
            },
            Some(content) => match content.kind.as_str() {
                "filesystem" => ContentConfig::Filesystem {
                    root: content.root.unwrap_or_else(|| data_dir.join("content")),
                },
                "s3" => {
                    let need = |value: Option<String>, name: &str| {
                        value.ok_or_else(|| ConfigError(format!("[content] kind = \"s3\" needs {name}")))
                    };
                    let secret_file = content.secret_access_key_file.ok_or_else(|| {
                        ConfigError("[content] kind = \"s3\" needs secret_access_key_file".into())
                    })?;
                    let secret = std::fs::read_to_string(&secret_file).map_err(|e| {
                        ConfigError(format!("{}: cannot be read: {e}", secret_file.display()))
                    })?;
                    ContentConfig::S3 {
                        endpoint: need(content.endpoint, "endpoint")?,
                        bucket: need(content.bucket, "bucket")?,
                        region: content.region.unwrap_or_else(|| "us-east-1".to_owned()),
                        access_key_id: need(content.access_key_id, "access_key_id")?,
                        secret_access_key: secret.trim().to_owned(),
                    }
                }
                other => {
                    return Err(ConfigError(format!(
                        "[content] kind '{other}' is unknown: use filesystem or s3"
                    )))
                }
            },
        };
        let public_url = raw
            .public_url
            .map(|text| {
                let parsed = url::Url::parse(text.trim()).map_err(|e| {
                    ConfigError(format!("public_url '{text}' is not a URL: {e}"))
                })?;
                if parsed.scheme() != "https" {
                    return Err(ConfigError(format!(
                        "public_url '{text}' must start with https://"
                    )));
                }
                Ok(parsed.as_str().trim_end_matches('/').to_owned())
            })
            .transpose()?;
        let credentials_key_file = raw
            .credentials_key_file
            .unwrap_or_else(|| data_dir.join("secrets").join("credentials.key"));
        let registry = match raw.registry {
            None => None,
            Some(_) if role != Role::Repository => {
                return Err(ConfigError(
                    "[registry] (or --registry-url) tells a repository where the national registry is; a node with role = registry, clinical or claims does not use it".into(),
                ))
            }
            Some(FileRegistry { url: None, .. }) => {
                return Err(ConfigError(
                    "[registry] needs url = \"https://host:port\" of the national registry".into(),
                ))
            }
            Some(FileRegistry {
                url: Some(text),
                ca_file,
                timeout_seconds,
            }) => {
                let url = url::Url::parse(text.trim())
                    .map_err(|e| ConfigError(format!("[registry] url '{text}' is not a URL: {e}")))?;
                if url.scheme() != "https" {
                    return Err(ConfigError(format!(
                        "[registry] url '{text}' must start with https:// (the registry is reached over mutual TLS)"
                    )));
                }
                let ca_file = ca_file.ok_or_else(|| {
                    ConfigError(
                        "[registry] needs ca_file: the registry's CA certificate (its REGDATA/ca/ca.pem)".into(),
                    )
                })?;
                let seconds = timeout_seconds.unwrap_or(DEFAULT_REGISTRY_TIMEOUT_SECONDS);
                if seconds == 0 {
                    return Err(ConfigError("[registry] timeout_seconds must be at least 1".into()));
                }
                Some(RegistryLink {
                    url,
                    ca_file,
                    timeout: std::time::Duration::from_secs(seconds),
                })
            }
        };
        let metrics_listen = raw
            .metrics_listen
            .map(|text| {
                let address: SocketAddr = text.trim().parse().map_err(|_| {
                    ConfigError(format!(
                        "metrics_listen '{text}' is not IP:PORT (for example 127.0.0.1:9464)"
                    ))
                })?;
                if address == listen && address.port() != 0 {
                    return Err(ConfigError(format!(
                        "metrics_listen {address} is the public listen address: metrics are served on a listener of their own"
                    )));
                }
                Ok(address)
            })
            .transpose()?;
        let oid_text = raw.oid_root.unwrap_or_else(|| DEFAULT_OID_ROOT.to_owned());
        let oid_root = Oid::parse(&oid_text).map_err(|e| ConfigError(format!("oid_root: {e}")))?;
        Ok(ServerConfig {
            data_dir,
            listen,
            role,
            database_url,
            content,
            server_names: raw.server_names.unwrap_or_default(),
            oid_root,
            signature_max_age_seconds: raw.signature_max_age_seconds.unwrap_or(300),
            ca_password_file: raw.ca_password_file,
            public_url,
            credentials_key_file,
            registry,
            orphan_sweep_seconds: raw.orphan_sweep_seconds.unwrap_or(DEFAULT_ORPHAN_SWEEP_SECONDS),
            orphan_grace_seconds: raw.orphan_grace_seconds.unwrap_or(DEFAULT_ORPHAN_GRACE_SECONDS),
            audit_checkpoint_seconds: raw
                .audit_checkpoint_seconds
                .unwrap_or(DEFAULT_AUDIT_CHECKPOINT_SECONDS),
            metrics_listen,
        })
    }
}

/// A database URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_file() -> Result<(), ConfigError> {
        let config = ServerConfig::validate(FileConfig::default())?;
        assert_eq!(config.listen.to_string(), "127.0.0.1:8443");
        assert!(config.database_url.starts_with("sqlite://medgate-data/medgate.db"));
        assert_eq!(config.role, Role::Repository);
        assert_eq!(config.audit_checkpoint_seconds, 300);
        assert_eq!(config.metrics_listen, None);
        Ok(())
    }

    #[test]
    fn metrics_listen_is_an_address_of_its_own() {
        let raw = |metrics: &str| FileConfig {
            metrics_listen: Some(metrics.into()),
            ..FileConfig::default()
        };
        let error = |raw| {
            ServerConfig::validate(raw)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(error(raw("9464")).contains("metrics_listen '9464' is not IP:PORT"));
        assert!(error(raw("127.0.0.1:8443")).contains("is the public listen address"));
        let config =
            ServerConfig::validate(raw("127.0.0.1:9464")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.metrics_listen.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:9464")
        );
    }

    #[test]
    fn the_clinical_role_is_known_and_takes_no_registry_link() {
        let raw = FileConfig {
            role: Some("clinical".into()),
            ..FileConfig::default()
        };
        let config = ServerConfig::validate(raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.role, Role::Clinical);
        let raw = FileConfig {
            role: Some("clinical".into()),
            registry: Some(FileRegistry {
                url: Some("https://r:9443".into()),
                ca_file: Some(PathBuf::from("ca.pem")),
                timeout_seconds: None,
            }),
            ..FileConfig::default()
        };
        let error = ServerConfig::validate(raw).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("does not use it"), "{error}");
        let raw = FileConfig {
            role: Some("claims".into()),
            ..FileConfig::default()
        };
        let config = ServerConfig::validate(raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.role, Role::Claims);
        let raw = FileConfig {
            role: Some("billing".into()),
            ..FileConfig::default()
        };
        let error = ServerConfig::validate(raw).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("use repository, registry, clinical or claims"), "{error}");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let raw = FileConfig {
            listen: Some("localhost".into()),
            ..FileConfig::default()
        };
        let error = ServerConfig::validate(raw).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("listen address 'localhost'"), "{error}");
        let raw = FileConfig {
            database_url: Some("mysql://u:secret@h/db".into()),
            ..FileConfig::default()
        };
        let error = ServerConfig::validate(raw).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("mysql://u:***@h/db") && !error.contains("secret"), "{error}");
    }

    #[test]
    fn the_registry_link_needs_an_https_url_and_a_ca_file() {
        let registry = |url: Option<&str>, ca_file: Option<&str>| FileConfig {
            registry: Some(FileRegistry {
                url: url.map(str::to_owned),
                ca_file: ca_file.map(PathBuf::from),
                timeout_seconds: None,
            }),
            ..FileConfig::default()
        };
        let error = |raw| ServerConfig::validate(raw).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error(registry(Some("https://r:9443"), None)).contains("needs ca_file"));
        assert!(error(registry(None, Some("ca.pem"))).contains("needs url"));
        assert!(error(registry(Some("http://r:9443"), Some("ca.pem"))).contains("must start with https://"));
        let mut on_registry = registry(Some("https://r:9443"), Some("ca.pem"));
        on_registry.role = Some("registry".into());
        assert!(error(on_registry).contains("does not use it"));
        let config = ServerConfig::validate(registry(Some("https://r:9443"), Some("ca.pem"))).unwrap_or_else(|e| panic!("{e}"));
        let link = config.registry.unwrap_or_else(|| panic!("registry link"));
        assert_eq!(link.url.as_str(), "https://r:9443/");
        assert_eq!(link.timeout.as_secs(), DEFAULT_REGISTRY_TIMEOUT_SECONDS);
        assert!(config.credentials_key_file.ends_with("secrets/credentials.key"));
    }
}
