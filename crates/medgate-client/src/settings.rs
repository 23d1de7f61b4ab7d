//! Client settings: a `client.toml` file merged with command-line flags, validated into
//! [`ClientSettings`] with every file checked before any connection is attempted.
//!
//! ```toml
//! server = "https://127.0.0.1:8443"
//! tenant = "0000000000005010"
//! tls_cert = "certs/tls.pem"
//! tls_key = "certs/tls.key"
//! wss_cert = "certs/wss.pem"
//! wss_key = "certs/wss.key"
//! password_file = "certs/password"   # when the keys are encrypted
//! ca = "certs/ca.pem"                # the repository's CA (DATA/ca/ca.pem)
//! timeout_ms = 15000
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use medgate_ids::TenantId;
use serde::Deserialize;

use crate::ClientError;

/// The file form: every field optional, relative paths taken from the file's folder.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettingsFile {
    pub server: Option<String>,
    pub tenant: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub wss_cert: Option<PathBuf>,
    pub wss_key: Option<PathBuf>,
    pub password_file: Option<PathBuf>,
    pub ca: Option<PathBuf>,
    pub timeout_ms: Option<u64>,
}

impl ClientSettingsFile {
    /// Reads a `client.toml`; relative paths in it are resolved against its folder.
    pub fn load(path: &Path) -> Result<Self, ClientError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ClientError::Settings(format!("{}: cannot be read: {e}", path.display())))?;
        let mut file: ClientSettingsFile = toml::from_str(&text)
            .map_err(|e| ClientError::Settings(format!("{}: {}", path.display(), e.message())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for slot in [
            &mut file.tls_cert,
            &mut file.tls_key,
            &mut file.wss_cert,
            &mut file.wss_key,
            &mut file.password_file,
            &mut file.ca,
        ] {
            if let Some(p) = slot.as_mut() {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        Ok(file)
    }

    /// Fills unset fields from `other` (the flags win: call `flags.or(file)`).
    pub fn or(self, other: ClientSettingsFile) -> ClientSettingsFile {
        ClientSettingsFile {
            server: self.server.or(other.server),
            tenant: self.tenant.or(other.tenant),
            tls_cert: self.tls_cert.or(other.tls_cert),
            tls_key: self.tls_key.or(other.tls_key),
            wss_cert: self.wss_cert.or(other.wss_cert),
            wss_key: self.wss_key.or(other.wss_key),
            password_file: self.password_file.or(other.password_file),
            ca: self.ca.or(other.ca),
            timeout_ms: self.timeout_ms.or(other.timeout_ms),
        }
    }
}

/// Validated settings.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub server: url::Url,
    pub tenant: TenantId,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub wss_cert: PathBuf,
    pub wss_key: PathBuf,
    pub password_file: Option<PathBuf>,
    pub ca: PathBuf,
    pub timeout: Duration,
}

/// The default time limit of one request (seed 000 recommends 15000 ms).
pub const DEFAULT_TIMEOUT_MS: u64 = 15_000;

impl TryFrom<ClientSettingsFile> for ClientSettings {
    type Error = ClientError;

    fn try_from(file: ClientSettingsFile) -> Result<Self, ClientError> {
        let need = |value: Option<PathBuf>, flag: &str, key: &str| {
            value.ok_or_else(|| {
                ClientError::Settings(format!("missing {flag} (or `{key}` in client.toml)"))
            })
        };
        let server_text = file
            .server
            .unwrap_or_else(|| "https://127.0.0.1:8443".to_owned());
        let server = url::Url::parse(&server_text)
            .map_err(|e| ClientError::Settings(format!("server URL '{server_text}': {e}")))?;
        if server.scheme() != "https" {
            return Err(ClientError::Settings(format!(
                "server URL '{server_text}' must use https://"
            )));
        }
        let tenant_text = file.tenant.ok_or_else(|| {
            ClientError::Settings("missing --tenant (or `tenant` in client.toml)".into())
        })?;
        let tenant =
            TenantId::parse(&tenant_text).map_err(|e| ClientError::Settings(e.to_string()))?;
        let timeout_ms = file.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        if timeout_ms == 0 {
            return Err(ClientError::Settings("--timeout-ms must be above 0".into()));
        }
        Ok(ClientSettings {
            server,
            tenant,
            tls_cert: need(file.tls_cert, "--tls-cert", "tls_cert")?,
            tls_key: need(file.tls_key, "--tls-key", "tls_key")?,
            wss_cert: need(file.wss_cert, "--wss-cert", "wss_cert")?,
            wss_key: need(file.wss_key, "--wss-key", "wss_key")?,
            password_file: file.password_file,
            ca: need(file.ca, "--ca", "ca")?,
            timeout: Duration::from_millis(timeout_ms),
        })
    }
}
