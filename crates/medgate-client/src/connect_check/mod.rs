//! `connect-check`: one connection to a repository made step by step, the way a national
//! platform asks a new institution to test before connecting — name lookup, TCP, the TLS
//! handshake with the institution's client certificate (read back: protocol, cipher suite,
//! ALPN, the server's chain and whether it verifies against the given CA), then one signed
//! `POST /api/v1/probe` over that same connection, whose answer says whether the server
//! accepted the certificate and the RFC 9421 signature. Everything ends in a
//! [`ConnectReport`] with findings that say what to do; nothing here prints.
//!
//! The handshake is done with tokio-rustls directly (not through an HTTP client) so that the
//! negotiated parameters and the server's chain can be read, and so that a refusal of the
//! client certificate by the server (a TLS alert, during the handshake with TLS 1.2 or just
//! after it with TLS 1.3) is told apart from every other failure.
//!
//! The code is cut by what it does: `tls` connects and makes the TLS handshake, recording
//! what the server presented; `probe` sends the signed probe over that connection;
//! `checks` turns what each step saw into findings; `report` holds the report and its
//! findings as they are serialised. This module holds the settings and the entry points.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use medgate_pki::{load_certificate, load_certificates, Certificate, Password, PrivateKey};
use serde::{Deserialize, Serialize};

use crate::ClientError;

mod checks;
mod probe;
mod report;
mod tls;

use checks::check_pair;
use report::millis;
pub use report::{
    CertFacts, CertificateVerdict, ClientSide, ClockFacts, ConnectReport, ConnectionFacts, Finding,
    Latency, PresentedCertificate, ProbeFacts, Severity, SignatureVerdict, TlsFacts,
};

/// The path of the probe endpoint.
pub const PROBE_PATH: &str = "/api/v1/probe";
/// Skew above which the report warns (seconds).
pub const SKEW_WARNING_SECONDS: f64 = 30.0;
/// Signatures older than this are refused by the server (seconds).
pub const SIGNATURE_MAX_AGE_SECONDS: f64 = 300.0;
/// Certificates expiring within this many days are reported.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// What to check and with which files.
#[derive(Clone, Debug)]
pub struct CheckSettings {
    /// The repository, `https://host:port` (a bare `host:port` is taken as https).
    pub url: String,
    /// The client certificate presented in the TLS handshake, with its key.
    pub identity: Identity,
    pub wss_cert: Option<PathBuf>,
    pub wss_key: Option<PathBuf>,
    pub password_file: Option<PathBuf>,
    /// The repository's CA: without it the server's chain is only reported, not verified.
    pub ca: Option<PathBuf>,
    /// Time limit of the whole check.
    pub timeout: Duration,
    /// Name and version of the tool, written into the report.
    pub tool: String,
}

/// Where the TLS client certificate and its key come from.
#[derive(Clone, Debug)]
pub enum Identity {
    /// A certificate file (PEM, may hold the chain) and a key file.
    Pem { cert: PathBuf, key: PathBuf },
    /// One PKCS#12 keystore holding both (the clinical record service hands institutions
    /// theirs this way), opened with the password file.
    Pkcs12(PathBuf),
}

/// Which key signs the probe (and the report).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SigningKey {
    /// The WSS (message signing) key, as real requests are signed.
    Wss,
    /// The TLS key, because no WSS key was given.
    Tls,
}

/// Loaded files, ready to run the check (any number of times).
pub struct ConnectCheck {
    url: url::Url,
    tls_chain: Vec<Certificate>,
    tls_key: PrivateKey,
    signer: Certificate,
    /// `None`: the TLS key signs.
    signer_key: Option<PrivateKey>,
    signing_key: SigningKey,
    /// The identity is a PKCS#12 keystore: its one key both connects and signs.
    one_key_identity: bool,
    ca: Option<(PathBuf, Vec<Certificate>)>,
    timeout: Duration,
    tool: String,
}

fn settings_error(error: impl std::fmt::Display) -> ClientError {
    ClientError::Settings(error.to_string())
}

impl ConnectCheck {
    /// Loads certificates and keys, checks that each key belongs to its certificate, and
    /// reads the URL. Fails (before any connection) when a file is unusable.
    pub fn new(settings: &CheckSettings) -> Result<Self, ClientError> {
        let url = parse_url(&settings.url)?;
        if settings.timeout.is_zero() {
            return Err(settings_error("--timeout-ms must be above 0"));
        }
        let password = settings
            .password_file
            .as_deref()
            .map(Password::from_file)
            .transpose()
            .map_err(settings_error)?;
        let (tls_chain, tls_key, tls_key_path) = load_identity(&settings.identity, password.as_ref())?;
        let tls_certificate = tls_chain.first().cloned().ok_or_else(|| {
            settings_error(format!("{}: no certificate", tls_key_path.display()))
        })?;
        let wss = match (&settings.wss_cert, &settings.wss_key) {
            (Some(cert), Some(key)) => Some((
                load_certificate(cert).map_err(settings_error)?,
                PrivateKey::load(key, password.as_ref()).map_err(settings_error)?,
                key.clone(),
            )),
            (None, None) => None,
            (Some(_), None) => return Err(settings_error("--wss-cert needs --wss-key")),
            (None, Some(_)) => return Err(settings_error("--wss-key needs --wss-cert")),
        };
        check_pair(
            "TLS",
            &tls_key,
            &tls_key_path,
            &tls_certificate,
            wss.as_ref().map(|(c, _, _)| c),
        )?;
        let (signer, signer_key, signing_key) = match wss {
            Some((cert, key, key_path)) => {
                check_pair("WSS", &key, &key_path, &cert, Some(&tls_certificate))?;
                (cert, Some(key), SigningKey::Wss)
            }
            None => (tls_certificate, None, SigningKey::Tls),
        };
        let ca = match &settings.ca {
            Some(path) => Some((
                path.clone(),
                load_certificates(path).map_err(settings_error)?,
            )),
            None => None,
        };
        Ok(ConnectCheck {
            url,
            tls_chain,
            tls_key,
            signer,
            signer_key,
            signing_key,
            one_key_identity: matches!(settings.identity, Identity::Pkcs12(_)),
            ca,
            timeout: settings.timeout,
            tool: settings.tool.clone(),
        })
    }

    /// The certificate whose key signs the probe; the report is signed with it too.
    pub fn signing_certificate(&self) -> &Certificate {
        &self.signer
    }

    /// The key that signs the probe and the report.
    pub fn signing_key(&self) -> &PrivateKey {
        self.signer_key.as_ref().unwrap_or(&self.tls_key)
    }

    /// Which key signs.
    pub fn signing_key_kind(&self) -> SigningKey {
        self.signing_key
    }

    /// The URL checked.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// Runs the check. Never fails: whatever went wrong is in the report's findings.
    pub async fn run(&self) -> ConnectReport {
        let started = Instant::now();
        let mut report = self.empty_report();
        let deadline = tokio::time::Instant::now() + self.timeout;
        self.client_findings(&mut report);
        if let Some(stream) = self.connect(&mut report, deadline).await {
            if let Some(tls) = self.handshake(&mut report, stream, deadline).await {
                self.probe(&mut report, tls, deadline).await;
            }
        }
        report.latency_ms.total = Some(millis(started.elapsed()));
        report.finish();
        report
    }
}

/// The TLS chain (leaf first) and key of `identity`, and the file that names the key in
/// errors.
fn load_identity(
    identity: &Identity,
    password: Option<&Password>,
) -> Result<(Vec<Certificate>, PrivateKey, PathBuf), ClientError> {
    match identity {
        Identity::Pem { cert, key } => {
            let chain = load_certificates(cert).map_err(settings_error)?;
            let key_value = PrivateKey::load(key, password).map_err(settings_error)?;
            Ok((chain, key_value, key.clone()))
        }
        Identity::Pkcs12(path) => {
            let password = password.ok_or_else(|| {
                settings_error(format!(
                    "{}: a PKCS#12 file opens with its password; give --password-file",
                    path.display()
                ))
            })?;
            let bytes = std::fs::read(path)
                .map_err(|error| settings_error(format!("{}: {error}", path.display())))?;
            let contents = medgate_pki::keystore::read_pkcs12(&bytes, path, password)
                .map_err(settings_error)?;
            let (Some(certificate), Some(key)) = (contents.certificate, contents.key) else {
                return Err(settings_error(format!(
                    "{}: the PKCS#12 file must hold a certificate and its private key",
                    path.display()
                )));
            };
            let mut chain = vec![certificate];
            chain.extend(contents.chain);
            Ok((chain, key, path.clone()))
        }
    }
}

fn parse_url(text: &str) -> Result<url::Url, ClientError> {
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let url =
        url::Url::parse(&with_scheme).map_err(|e| settings_error(format!("URL '{text}': {e}")))?;
    if url.scheme() != "https" {
        return Err(settings_error(format!("URL '{text}' must use https://")));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(settings_error(format!("URL '{text}' has no host")));
    }
    Ok(url)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("127.0.0.1:8443").unwrap().as_str(),
            "https://127.0.0.1:8443/"
        );
        assert!(parse_url("http://127.0.0.1:8443").is_err());
    }
}
