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

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderValue, Method, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use medgate_httpsig::{sign_request, SignOptions};
use medgate_pki::keystore::key_belongs_to;
use medgate_pki::{load_certificate, load_certificates, Certificate, Password, PrivateKey};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{AlertDescription, CertificateError, DigitallySignedStruct, SignatureScheme};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use x509_parser::prelude::FromDer;

use crate::transport::TENANT_HEADER;
use crate::ClientError;

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
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
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
        let tls_chain = load_certificates(&settings.tls_cert).map_err(settings_error)?;
        let tls_certificate = tls_chain.first().cloned().ok_or_else(|| {
            settings_error(format!("{}: no certificate", settings.tls_cert.display()))
        })?;
        let tls_key =
            PrivateKey::load(&settings.tls_key, password.as_ref()).map_err(settings_error)?;
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
            &settings.tls_key,
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

    fn empty_report(&self) -> ConnectReport {
        let host = self.url.host_str().unwrap_or("").to_owned();
        let port = self.url.port_or_known_default().unwrap_or(443);
        let tls_facts = self.tls_chain.first().map(cert_facts);
        let tenant = self.tls_chain.first().and_then(tenant_of);
        ConnectReport {
            tool: self.tool.clone(),
            time: rfc3339(OffsetDateTime::now_utc()),
            url: self.url.to_string(),
            usable: false,
            summary: String::new(),
            client: ClientSide {
                tenant,
                tls_certificate: tls_facts.unwrap_or_default(),
                signing_key: self.signing_key,
                signing_certificate: cert_facts(&self.signer),
            },
            connection: ConnectionFacts {
                host,
                port,
                address: None,
                established: false,
                error: None,
            },
            tls: None,
            probe: None,
            client_certificate: CertificateVerdict::default(),
            signature: SignatureVerdict {
                valid: None,
                signed_with: self.signing_key,
                keyid: cert_facts(&self.signer).serial,
                code: None,
                message: None,
            },
            clock: None,
            latency_ms: Latency::default(),
            findings: Vec::new(),
        }
    }

    /// What can be said about the client's own certificates before connecting.
    fn client_findings(&self, report: &mut ConnectReport) {
        let mut certificates = vec![("TLS", report.client.tls_certificate.clone())];
        if self.signing_key == SigningKey::Wss {
            certificates.push(("WSS", report.client.signing_certificate.clone()));
        }
        for (kind, facts) in certificates {
            if facts.not_yet_valid {
                report.add(
                    Severity::Error,
                    "client_certificate_not_yet_valid",
                    format!(
                        "the {kind} certificate ({}) is not valid before {}",
                        facts.subject, facts.not_before
                    ),
                    "wait until it is valid, or check this computer's clock",
                );
            } else if facts.days_left < 0 {
                report.add(
                    Severity::Error,
                    "client_certificate_expired",
                    format!(
                        "the {kind} certificate ({}) expired on {}",
                        facts.subject, facts.not_after
                    ),
                    "request a new certificate and register it (`medgate client update-certs`)",
                );
            } else if facts.days_left <= EXPIRY_WARNING_DAYS {
                report.add(
                    Severity::Warning,
                    "client_certificate_expiring",
                    format!(
                        "the {kind} certificate ({}) expires in {} day(s), on {}",
                        facts.subject, facts.days_left, facts.not_after
                    ),
                    "request a new certificate now and register it before the old one expires",
                );
            }
        }
        if self.signing_key == SigningKey::Tls {
            report.add(
                Severity::Info,
                "signed_with_tls_key",
                "no WSS key was given (--wss-cert/--wss-key): the probe is signed with the TLS key",
                "the server checks signatures against the account's WSS certificate; give the WSS \
                 certificate and key to test message signing as real requests do it",
            );
        }
    }

    /// Name lookup and TCP connection.
    async fn connect(
        &self,
        report: &mut ConnectReport,
        deadline: tokio::time::Instant,
    ) -> Option<TcpStream> {
        let host = report.connection.host.clone();
        let port = report.connection.port;
        let authority = format!("{host}:{port}");
        let started = Instant::now();
        let lookup = tokio::time::timeout_at(deadline, tokio::net::lookup_host(authority.clone()));
        let addresses: Vec<SocketAddr> = match lookup.await {
            Ok(Ok(found)) => found.collect(),
            Ok(Err(error)) => {
                let message = format!("the host name '{host}' cannot be resolved ({error})");
                report.connection.error = Some(message.clone());
                report.add(
                    Severity::Error,
                    "dns_failed",
                    message,
                    "check the host name in the URL and this computer's DNS settings",
                );
                return None;
            }
            Err(_) => {
                self.timed_out(report, "looking up the host name");
                return None;
            }
        };
        report.latency_ms.dns = Some(millis(started.elapsed()));
        if addresses.is_empty() {
            let message = format!("the host name '{host}' has no address");
            report.connection.error = Some(message.clone());
            report.add(
                Severity::Error,
                "dns_failed",
                message,
                "check the host name in the URL",
            );
            return None;
        }
        let mut last_error = None;
        for address in &addresses {
            let started = Instant::now();
            match tokio::time::timeout_at(deadline, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    report.latency_ms.tcp_connect = Some(millis(started.elapsed()));
                    report.connection.address = Some(address.to_string());
                    report.connection.established = true;
                    return Some(stream);
                }
                Ok(Err(error)) => last_error = Some((*address, error)),
                Err(_) => {
                    report.connection.address = Some(address.to_string());
                    self.timed_out(report, &format!("connecting to {address}"));
                    return None;
                }
            }
        }
        if let Some((address, error)) = last_error {
            report.connection.address = Some(address.to_string());
            let (code, message, action) = match error.kind() {
                std::io::ErrorKind::ConnectionRefused => (
                    "connection_refused",
                    format!("nothing is listening at {address} (connection refused)"),
                    "check the port in the URL and that the server is running; a firewall may also reject the connection",
                ),
                _ => (
                    "connect_failed",
                    format!("cannot connect to {address}: {error}"),
                    "check the URL, the network route and the firewall between this computer and the server",
                ),
            };
            report.connection.error = Some(message.clone());
            report.add(Severity::Error, code, message, action);
        }
        None
    }

    fn timed_out(&self, report: &mut ConnectReport, step: &str) {
        let ms = self.timeout.as_millis();
        let message = format!("no answer within {ms} ms while {step}");
        if report.connection.error.is_none() {
            report.connection.error = Some(message.clone());
        }
        report.add(
            Severity::Error,
            "timeout",
            message,
            "check that the server is reachable from this network (a firewall that drops packets \
             looks like this), or raise --timeout-ms",
        );
    }

    fn server_name(&self) -> Result<ServerName<'static>, String> {
        match self.url.host() {
            Some(url::Host::Domain(name)) => ServerName::try_from(name.to_owned())
                .map_err(|e| format!("'{name}' is not a valid server name: {e}")),
            Some(url::Host::Ipv4(ip)) => Ok(ServerName::IpAddress(std::net::IpAddr::V4(ip).into())),
            Some(url::Host::Ipv6(ip)) => Ok(ServerName::IpAddress(std::net::IpAddr::V6(ip).into())),
            None => Err("the URL has no host".to_owned()),
        }
    }

    /// The TLS handshake with the client certificate; fills `report.tls`.
    async fn handshake(
        &self,
        report: &mut ConnectReport,
        tcp: TcpStream,
        deadline: tokio::time::Instant,
    ) -> Option<tokio_rustls::client::TlsStream<TcpStream>> {
        let server_name_text = report.connection.host.clone();
        let mut facts = TlsFacts {
            server_name: server_name_text.clone(),
            verification: match &self.ca {
                Some((path, _)) => format!("against {}", path.display()),
                None => "not verified: no --ca given".to_owned(),
            },
            ..TlsFacts::default()
        };
        let observed = Arc::new(Mutex::new(Observed::default()));
        let config = match self.tls_config(observed.clone()) {
            Ok(config) => config,
            Err(message) => {
                facts.error = Some(message.clone());
                report.tls = Some(facts);
                report.add(
                    Severity::Error,
                    "tls_setup",
                    message,
                    "check the certificate and key files",
                );
                return None;
            }
        };
        let server_name = match self.server_name() {
            Ok(name) => name,
            Err(message) => {
                facts.error = Some(message.clone());
                report.tls = Some(facts);
                report.add(Severity::Error, "bad_url", message, "check the URL");
                return None;
            }
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let started = Instant::now();
        let outcome = tokio::time::timeout_at(deadline, connector.connect(server_name, tcp)).await;
        let seen = lock(&observed).clone();
        facts.server_chain = seen
            .chain
            .iter()
            .map(|der| {
                Certificate::from_der(der.to_vec(), std::path::Path::new("server certificate"))
                    .map(|c| cert_facts(&c))
                    .unwrap_or_else(|e| CertFacts {
                        subject: format!("(unreadable certificate: {e})"),
                        ..CertFacts::default()
                    })
            })
            .collect();
        if let (Some((path, _)), Some(Ok(()))) = (&self.ca, &seen.verification) {
            facts.server_verified = true;
            facts.verification = format!(
                "the chain leads to the CA in {} and the certificate is valid for '{}'",
                path.display(),
                server_name_text
            );
        }
        facts.client_certificate_requested = Some(seen.client_auth_requested);
        facts.acceptable_client_cas = seen.hints.iter().map(|h| name_text(h)).collect();
        let stream = match outcome {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                let tls_error = rustls_error(&error);
                facts.error = Some(describe_io(&error));
                self.handshake_failure(report, &mut facts, &seen, tls_error.as_ref(), &error);
                report.tls = Some(facts);
                return None;
            }
            Err(_) => {
                facts.error = Some("timed out".into());
                report.tls = Some(facts);
                self.timed_out(report, "in the TLS handshake");
                return None;
            }
        };
        report.latency_ms.tls_handshake = Some(millis(started.elapsed()));
        let (_, connection) = stream.get_ref();
        facts.established = true;
        facts.version = connection.protocol_version().map(version_name);
        facts.cipher_suite = connection
            .negotiated_cipher_suite()
            .map(|suite| suite_name(suite.suite()));
        facts.alpn = connection
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        report.tls = Some(facts);
        self.tls_findings(report, &seen);
        Some(stream)
    }

    fn tls_config(&self, observed: Arc<Mutex<Observed>>) -> Result<rustls::ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let inner = match &self.ca {
            Some((path, anchors)) => {
                let mut roots = rustls::RootCertStore::empty();
                for anchor in anchors {
                    roots
                        .add(CertificateDer::from(anchor.der().to_vec()))
                        .map_err(|e| {
                            format!("{}: not usable as a trust anchor: {e}", path.display())
                        })?;
                }
                let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider.clone(),
                )
                .build()
                .map_err(|e| format!("{}: {e}", path.display()))?;
                Some(verifier)
            }
            None => None,
        };
        let verifier = RecordingVerifier {
            inner,
            provider: provider.clone(),
            observed: observed.clone(),
        };
        let chain: Vec<CertificateDer<'static>> = self
            .tls_chain
            .iter()
            .map(|c| CertificateDer::from(c.der().to_vec()))
            .collect();
        let key = PrivateKeyDer::Pkcs8(self.tls_key.pkcs8_der().to_vec().into());
        let certified = CertifiedKey::from_der(chain, key, &provider)
            .map_err(|e| format!("the TLS certificate and key are not usable together: {e}"))?;
        let resolver = RecordingResolver {
            key: Arc::new(certified),
            observed,
        };
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }

    /// Explains a failed handshake.
    fn handshake_failure(
        &self,
        report: &mut ConnectReport,
        facts: &mut TlsFacts,
        seen: &Observed,
        tls_error: Option<&rustls::Error>,
        io_error: &std::io::Error,
    ) {
        if let Some(Err(error)) = &seen.verification {
            facts.server_verified = false;
            let (code, reason) = self.server_verification_problem(error);
            facts.verification = format!("server not verified: {reason}");
            let ca = self
                .ca
                .as_ref()
                .map(|(p, _)| p.display().to_string())
                .unwrap_or_default();
            report.add(
                Severity::Error,
                code,
                format!("server not verified: {reason}"),
                format!(
                    "give with --ca the CA that issued the repository's certificate (the repository's \
                     DATA/ca/ca.pem, from its operator), not {ca}; if it is the right CA, you may be \
                     talking to another server than you think"
                ),
            );
            return;
        }
        if let Some(rustls::Error::AlertReceived(alert)) = tls_error {
            if let Some(explanation) = client_certificate_alert(*alert) {
                self.refused_certificate(report, facts, *alert, explanation, true);
                return;
            }
            let message = format!(
                "the server ended the TLS handshake with the alert {alert:?}{}",
                match alert {
                    AlertDescription::HandshakeFailure
                    | AlertDescription::ProtocolVersion
                    | AlertDescription::InsufficientSecurity => {
                        ": no TLS version or cipher suite in common"
                    }
                    _ => "",
                }
            );
            facts.alert = Some(format!("{alert:?}"));
            report.add(
                Severity::Error,
                "tls_handshake_failed",
                message,
                "this client offers TLS 1.2 and 1.3 with modern cipher suites; ask the platform which it requires",
            );
            return;
        }
        let (code, message, action) = match tls_error {
            Some(rustls::Error::InvalidMessage(_))
            | Some(rustls::Error::InappropriateMessage { .. }) => (
                "not_tls",
                format!(
                    "the server does not answer with TLS at this address ({})",
                    describe_io(io_error)
                ),
                "check the port and that the URL starts with https:// for a TLS port",
            ),
            Some(rustls::Error::PeerIncompatible(problem)) => (
                "tls_incompatible",
                format!("the server's TLS parameters are not compatible: {problem:?}"),
                "ask the platform which TLS versions and cipher suites it requires",
            ),
            _ if matches!(
                io_error.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
            ) =>
            {
                (
                    "tls_closed",
                    format!(
                        "the server closed the connection during the TLS handshake ({})",
                        describe_io(io_error)
                    ),
                    "the port may not be a TLS port, or a proxy in between refuses the connection",
                )
            }
            _ => (
                "tls_handshake_failed",
                format!("the TLS handshake failed: {}", describe_io(io_error)),
                "check the URL and the certificate files",
            ),
        };
        report.add(Severity::Error, code, message, action);
    }

    fn server_verification_problem(&self, error: &rustls::Error) -> (&'static str, String) {
        let ca = self
            .ca
            .as_ref()
            .map(|(p, _)| p.display().to_string())
            .unwrap_or_default();
        let host = self.url.host_str().unwrap_or("?");
        match error {
            rustls::Error::InvalidCertificate(problem) => match problem {
                CertificateError::UnknownIssuer => (
                    "server_certificate_untrusted",
                    format!(
                        "the server's certificate is not issued by the CA in {ca} (unknown issuer)"
                    ),
                ),
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => (
                    "server_name_mismatch",
                    format!("the server's certificate is not valid for the name '{host}'"),
                ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
                    "server_certificate_expired",
                    "the server's certificate has expired".to_owned(),
                ),
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
                    "server_certificate_not_yet_valid",
                    "the server's certificate is not valid yet (or this computer's clock is wrong)"
                        .to_owned(),
                ),
                CertificateError::Revoked => (
                    "server_certificate_revoked",
                    "the server's certificate has been revoked".to_owned(),
                ),
                other => (
                    "server_certificate_invalid",
                    format!("the server's certificate is not acceptable: {other:?}"),
                ),
            },
            other => (
                "server_certificate_invalid",
                format!("the server's certificate could not be verified: {other}"),
            ),
        }
    }

    fn refused_certificate(
        &self,
        report: &mut ConnectReport,
        facts: &mut TlsFacts,
        alert: AlertDescription,
        explanation: &str,
        during_handshake: bool,
    ) {
        facts.alert = Some(format!("{alert:?}"));
        facts.client_certificate_refused = true;
        report.client_certificate.accepted = Some(false);
        report.client_certificate.refused_during_handshake = true;
        report.client_certificate.code = Some("tls_alert".into());
        let issuer = &report.client.tls_certificate.issuer;
        // With TLS 1.3 the server checks the certificate after the client finished its part
        // of the handshake, so the alert arrives with the first read.
        let after = if during_handshake {
            ""
        } else {
            "; the alert arrived right after the handshake, as with TLS 1.3"
        };
        let message = format!(
            "the server refused the client certificate during the TLS handshake: TLS alert {alert:?} ({explanation}){after}"
        );
        report.client_certificate.message = Some(message.clone());
        let hints = &facts.acceptable_client_cas;
        let expected = if hints.is_empty() {
            String::new()
        } else {
            format!(
                "; the server accepts certificates issued by: {}",
                hints.join(" | ")
            )
        };
        report.add(
            Severity::Error,
            "client_certificate_refused",
            message,
            format!(
                "use a TLS certificate issued by the platform's tenant CA (yours is issued by {issuer}{expected}); \
                 if it is, it may have been revoked: request a new one"
            ),
        );
    }

    fn tls_findings(&self, report: &mut ConnectReport, seen: &Observed) {
        let Some(facts) = report.tls.clone() else {
            return;
        };
        if self.ca.is_none() {
            report.add(
                Severity::Warning,
                "server_not_verified",
                "server not verified: no --ca given, so the server's chain is only reported, not checked",
                "give the repository's CA certificate with --ca (its DATA/ca/ca.pem, from the operator) \
                 to make sure this is the right server",
            );
        }
        if let Some(first) = facts.server_chain.first() {
            if first.days_left >= 0 && first.days_left <= EXPIRY_WARNING_DAYS {
                report.add(
                    Severity::Warning,
                    "server_certificate_expiring",
                    format!(
                        "the server's certificate expires in {} day(s), on {}",
                        first.days_left, first.not_after
                    ),
                    "tell the platform's operator",
                );
            }
        }
        if facts.version.as_deref() == Some("TLSv1.2") {
            report.add(
                Severity::Info,
                "tls12",
                "the connection uses TLS 1.2; TLS 1.3 is preferred",
                "nothing to do on this side",
            );
        }
        if !seen.client_auth_requested {
            report.add(
                Severity::Warning,
                "client_certificate_not_requested",
                "the server did not ask for a client certificate during the handshake",
                "the URL may point to a proxy or a server that does not authenticate institutions; check the URL",
            );
        } else if !facts.acceptable_client_cas.is_empty() {
            let issuer = &report.client.tls_certificate.issuer;
            if !facts.acceptable_client_cas.iter().any(|ca| ca == issuer) {
                report.add(
                    Severity::Warning,
                    "client_certificate_issuer_not_listed",
                    format!(
                        "the server asks for certificates issued by {}; the TLS certificate is issued by {issuer}",
                        facts.acceptable_client_cas.join(" | ")
                    ),
                    "use a TLS certificate issued by the platform's tenant CA",
                );
            }
        }
    }

    /// The signed probe request over the TLS connection.
    async fn probe(
        &self,
        report: &mut ConnectReport,
        stream: tokio_rustls::client::TlsStream<TcpStream>,
        deadline: tokio::time::Instant,
    ) {
        let http2 = report
            .tls
            .as_ref()
            .and_then(|t| t.alpn.as_deref())
            .is_some_and(|p| p == "h2");
        let request = match self.probe_request(http2, report.client.tenant.as_deref()) {
            Ok(request) => request,
            Err(message) => {
                report.add(
                    Severity::Error,
                    "probe_not_sent",
                    message,
                    "check the signing key",
                );
                return;
            }
        };
        let recorded = Arc::new(Mutex::new(None));
        let io = TokioIo::new(Recorder {
            inner: stream,
            error: recorded.clone(),
        });
        let local_before = OffsetDateTime::now_utc();
        let started = Instant::now();
        let exchange = async {
            if http2 {
                let (mut sender, connection) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
                let driver = tokio::spawn(connection);
                let response = sender.send_request(request).await;
                Ok::<_, hyper::Error>((response, driver))
            } else {
                let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
                let driver = tokio::spawn(connection);
                let response = sender.send_request(request).await;
                Ok((response, driver))
            }
        };
        let outcome = tokio::time::timeout_at(deadline, async {
            let (response, driver) = exchange.await?;
            let result = match response {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    body.collect().await.map(|b| (parts, b.to_bytes()))
                }
                Err(error) => Err(error),
            };
            driver.abort();
            result
        })
        .await;
        let elapsed = started.elapsed();
        let local_after = OffsetDateTime::now_utc();
        let (parts, body) = match outcome {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => {
                let recorded = lock(&recorded).clone();
                self.request_failure(report, &error, recorded);
                return;
            }
            Err(_) => {
                self.timed_out(report, "waiting for the answer to the probe");
                return;
            }
        };
        report.latency_ms.request = Some(millis(elapsed));
        let http_version = match parts.version {
            Version::HTTP_2 => "HTTP/2",
            Version::HTTP_11 => "HTTP/1.1",
            Version::HTTP_10 => "HTTP/1.0",
            _ => "HTTP",
        };
        let mut probe = ProbeFacts {
            path: PROBE_PATH.to_owned(),
            http_version: http_version.to_owned(),
            status: parts.status.as_u16(),
            ..ProbeFacts::default()
        };
        let answer: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        if !parts.status.is_success() {
            let code = answer
                .as_ref()
                .and_then(|a| a["code"].as_str())
                .unwrap_or("http_error")
                .to_owned();
            let detail = answer
                .as_ref()
                .and_then(|a| a["message"].as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
            report.probe = Some(probe);
            let (message, action) = if parts.status == http::StatusCode::NOT_FOUND {
                (
                    format!("the server does not offer {PROBE_PATH} (HTTP 404)"),
                    "check the URL: it must be the repository's base address",
                )
            } else {
                (
                    format!(
                        "the probe was refused: HTTP {} {code}: {detail}",
                        parts.status.as_u16()
                    ),
                    "see the server's message",
                )
            };
            report.add(Severity::Error, "probe_refused", message, action);
            return;
        }
        let Some(answer) = answer else {
            report.probe = Some(probe);
            report.add(
                Severity::Error,
                "probe_unreadable",
                "the answer to the probe is not JSON",
                "check the URL: it must be a medgate repository",
            );
            return;
        };
        probe.server_tls_version = answer["tls_version"].as_str().map(str::to_owned);
        probe.server_time = answer["server_time"].as_str().map(str::to_owned);
        if let Some(seen) = answer["client_certificate"].as_object() {
            probe.presented_certificate = Some(PresentedCertificate {
                subject: seen
                    .get("subject")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned(),
                serial: seen
                    .get("serial")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned(),
            });
        }
        report.probe = Some(probe);
        self.account_verdict(report, &answer);
        self.clock(report, &answer, local_before, local_after);
    }

    fn probe_request(
        &self,
        http2: bool,
        tenant: Option<&str>,
    ) -> Result<http::Request<Full<Bytes>>, String> {
        let target = self
            .url
            .join(PROBE_PATH)
            .map_err(|e| format!("probe URL: {e}"))?;
        let body = Bytes::from(format!(
            "{{\"probe\":\"connect-check\",\"tool\":{}}}",
            serde_json::Value::String(self.tool.clone())
        ));
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(target.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, self.tool.as_str());
        if let Some(tenant) = tenant {
            builder = builder.header(TENANT_HEADER, tenant);
        }
        let (mut parts, ()) = builder
            .body(())
            .map_err(|e| format!("probe request: {e}"))?
            .into_parts();
        let keyid = cert_facts(&self.signer).serial;
        sign_request(
            &mut parts,
            Some(&body),
            self.signing_key(),
            &SignOptions::new(keyid),
        )
        .map_err(|e| format!("signing the probe: {e}"))?;
        if http2 {
            parts.version = Version::HTTP_2;
        } else {
            // HTTP/1.1 sends the origin form; the server rebuilds the signed absolute URI
            // from Host, which must be the authority exactly as signed.
            parts.version = Version::HTTP_11;
            let host = match target.port() {
                Some(port) => format!("{}:{port}", target.host_str().unwrap_or("")),
                None => target.host_str().unwrap_or("").to_owned(),
            };
            let value = HeaderValue::from_str(&host).map_err(|e| format!("Host header: {e}"))?;
            parts.headers.insert(HOST, value);
            parts.uri = PROBE_PATH.parse().map_err(|e| format!("probe path: {e}"))?;
        }
        Ok(http::Request::from_parts(parts, Full::new(body)))
    }

    fn request_failure(
        &self,
        report: &mut ConnectReport,
        error: &hyper::Error,
        recorded: Option<Recorded>,
    ) {
        if let Some(Recorded::Tls(rustls::Error::AlertReceived(alert))) = &recorded {
            if let Some(explanation) = client_certificate_alert(*alert) {
                if let Some(mut facts) = report.tls.take() {
                    self.refused_certificate(report, &mut facts, *alert, explanation, false);
                    facts.error = Some(format!("received fatal alert: {alert:?}"));
                    report.tls = Some(facts);
                }
                return;
            }
        }
        let mut chain = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        let recorded_text = match &recorded {
            Some(Recorded::Tls(e)) => format!(" ({e})"),
            Some(Recorded::Io(text)) => format!(" ({text})"),
            None => String::new(),
        };
        let closed = error.is_incomplete_message()
            || error.is_canceled()
            || matches!(recorded, Some(Recorded::Io(_)))
            || chain.contains("closed");
        if closed {
            report.add(
                Severity::Error,
                "closed_after_handshake",
                format!(
                    "the server closed the connection after the TLS handshake without answering the probe{recorded_text}"
                ),
                "the server may have refused the client certificate; check that it is issued by the \
                 platform's tenant CA and not revoked, and look at the server's log",
            );
        } else {
            report.add(
                Severity::Error,
                "probe_failed",
                format!("the probe request failed: {chain}{recorded_text}"),
                "check the URL; see the server's log",
            );
        }
    }

    fn account_verdict(&self, report: &mut ConnectReport, answer: &serde_json::Value) {
        let account = &answer["account"];
        let text = |v: &serde_json::Value, key: &str| v[key].as_str().map(without_status);
        let accepted = account["accepted"].as_bool();
        report.client_certificate.accepted = accepted;
        report.client_certificate.tenant = text(account, "tenant");
        report.client_certificate.code = text(account, "code");
        report.client_certificate.message = text(account, "message");
        let signature = &answer["signature"];
        report.signature.valid = signature["valid"].as_bool();
        report.signature.code = text(signature, "code");
        report.signature.message = text(signature, "message");
        match accepted {
            Some(true) => {}
            Some(false) => {
                let code = report.client_certificate.code.clone().unwrap_or_default();
                let message = report
                    .client_certificate
                    .message
                    .clone()
                    .unwrap_or_default();
                let action = match code.as_str() {
                    "certificate_not_registered" => {
                        "register the certificates and activate the account (`medgate client activate`), \
                         or use the account's current TLS certificate"
                    }
                    "wrong_certificate_kind" => "present the TLS certificate (CN=<tenant> TLS), not the WSS one",
                    "wrong_tenant_certificate" => "present this account's own TLS certificate",
                    "account_suspended" | "account_expired" | "account_not_yet_valid" => {
                        "contact the platform's operator"
                    }
                    "account_not_active" => "activate the account (`medgate client activate`)",
                    _ => "see the server's message",
                };
                report.add(
                    Severity::Error,
                    "client_certificate_not_accepted",
                    format!("client certificate not accepted by the server: {code}: {message}"),
                    action,
                );
            }
            None => report.add(
                Severity::Error,
                "probe_unreadable",
                "the probe answer does not say whether the certificate was accepted",
                "check that the URL is a medgate repository",
            ),
        }
        match report.signature.valid {
            Some(true) => {}
            Some(false) if accepted == Some(false) => report.add(
                Severity::Info,
                "signature_not_checked",
                "the signature could not be checked because the client certificate was not accepted",
                "fix the certificate first",
            ),
            Some(false) => {
                let code = report.signature.code.clone().unwrap_or_default();
                let message = report.signature.message.clone().unwrap_or_default();
                let action = match (self.signing_key, code.as_str()) {
                    (SigningKey::Tls, _) => {
                        "sign with the WSS key registered for the account (--wss-cert/--wss-key)"
                    }
                    (_, "unknown_key") => {
                        "sign with the WSS key of the certificate registered for the account \
                         (`medgate client account` lists it)"
                    }
                    (_, "signature_expired" | "signature_in_future" | "created_in_future") => {
                        "set this computer's clock right (NTP)"
                    }
                    _ => "see the server's message",
                };
                report.add(
                    Severity::Error,
                    "signature_invalid",
                    format!("signature not valid: {code}: {message}"),
                    action,
                );
            }
            None => report.add(
                Severity::Error,
                "probe_unreadable",
                "the probe answer does not say whether the signature was valid",
                "check that the URL is a medgate repository",
            ),
        }
    }

    fn clock(
        &self,
        report: &mut ConnectReport,
        answer: &serde_json::Value,
        before: OffsetDateTime,
        after: OffsetDateTime,
    ) {
        let Some(server_time) = answer["server_time"]
            .as_str()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        else {
            return;
        };
        let round_trip: time::Duration = after - before;
        let midpoint = before + round_trip / 2;
        let difference: time::Duration = server_time - midpoint;
        let skew = difference.as_seconds_f64();
        let skew = (skew * 10.0).round() / 10.0;
        let warning = skew.abs() > SKEW_WARNING_SECONDS;
        report.clock = Some(ClockFacts {
            server_time: rfc3339(server_time),
            local_time: rfc3339(midpoint),
            skew_seconds: skew,
            warning,
        });
        if skew.abs() > SIGNATURE_MAX_AGE_SECONDS {
            report.add(
                Severity::Error,
                "clock_skew",
                format!(
                    "this computer's clock is {:.0} s {} the server's: signatures older than {SIGNATURE_MAX_AGE_SECONDS:.0} s are refused",
                    skew.abs(),
                    if skew > 0.0 { "behind" } else { "ahead of" }
                ),
                "set the clock right (NTP) before sending documents",
            );
        } else if warning {
            report.add(
                Severity::Warning,
                "clock_skew",
                format!(
                    "this computer's clock is {:.0} s {} the server's (more than {SKEW_WARNING_SECONDS:.0} s)",
                    skew.abs(),
                    if skew > 0.0 { "behind" } else { "ahead of" }
                ),
                "set the clock right (NTP); signatures older than 300 s are refused",
            );
        }
    }
}

/// The result of a check: what was seen at each step, and findings with what to do.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ConnectReport {
    /// The program and version that made the check.
    pub tool: String,
    /// When the check started (RFC 3339, UTC).
    pub time: String,
    pub url: String,
    /// True when the connection is usable: TLS established, client certificate accepted,
    /// signature valid, and no error finding.
    pub usable: bool,
    /// One sentence: usable, or the first problem.
    pub summary: String,
    pub client: ClientSide,
    pub connection: ConnectionFacts,
    pub tls: Option<TlsFacts>,
    pub probe: Option<ProbeFacts>,
    pub client_certificate: CertificateVerdict,
    pub signature: SignatureVerdict,
    pub clock: Option<ClockFacts>,
    pub latency_ms: Latency,
    pub findings: Vec<Finding>,
}

impl ConnectReport {
    fn add(
        &mut self,
        severity: Severity,
        code: &str,
        message: impl Into<String>,
        action: impl Into<String>,
    ) {
        self.findings.push(Finding {
            severity,
            code: code.to_owned(),
            message: message.into(),
            action: action.into(),
        });
    }

    fn finish(&mut self) {
        let tls_ok = self.tls.as_ref().is_some_and(|t| t.established);
        let errors = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        self.usable = tls_ok
            && self.client_certificate.accepted == Some(true)
            && self.signature.valid == Some(true)
            && errors == 0;
        self.findings.sort_by_key(|f| f.severity);
        self.summary = if self.usable {
            let tls = self.tls.as_ref();
            format!(
                "the connection is usable: {} {}, client certificate accepted, signature valid",
                tls.and_then(|t| t.version.as_deref()).unwrap_or("TLS"),
                tls.and_then(|t| t.cipher_suite.as_deref()).unwrap_or("")
            )
        } else {
            match self.findings.iter().find(|f| f.severity == Severity::Error) {
                Some(first) => format!("the connection is not usable: {}", first.message),
                None => "the connection is not usable".to_owned(),
            }
        };
    }

    /// The number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// The client's certificates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientSide {
    /// The tenant named by the TLS certificate's CN (`<tenant> TLS`), when it names one.
    pub tenant: Option<String>,
    pub tls_certificate: CertFacts,
    /// Which key signed the probe and the report.
    pub signing_key: SigningKey,
    pub signing_certificate: CertFacts,
}

impl Default for ClientSide {
    fn default() -> Self {
        ClientSide {
            tenant: None,
            tls_certificate: CertFacts::default(),
            signing_key: SigningKey::Wss,
            signing_certificate: CertFacts::default(),
        }
    }
}

/// A certificate, as a person checks it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CertFacts {
    pub subject: String,
    pub issuer: String,
    /// Upper-case hex.
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// Whole days until `not_after` (negative when expired).
    pub days_left: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_yet_valid: bool,
}

/// Name lookup and TCP.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ConnectionFacts {
    pub host: String,
    pub port: u16,
    /// The address connected to (or last tried).
    pub address: Option<String>,
    pub established: bool,
    pub error: Option<String>,
}

/// The TLS handshake.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TlsFacts {
    /// True when the handshake completed on the client side.
    pub established: bool,
    /// `TLSv1.3` or `TLSv1.2` (as OpenSSL names them).
    pub version: Option<String>,
    /// IANA name, e.g. `TLS_AES_256_GCM_SHA384`.
    pub cipher_suite: Option<String>,
    pub alpn: Option<String>,
    /// The name the server's certificate is checked against.
    pub server_name: String,
    /// True only when the chain was verified against --ca and the name matched.
    pub server_verified: bool,
    /// In words.
    pub verification: String,
    /// As the server sent it: its certificate first.
    pub server_chain: Vec<CertFacts>,
    /// Whether the server asked for a client certificate (`None`: the handshake did not
    /// get that far).
    pub client_certificate_requested: Option<bool>,
    /// The CAs the server said it accepts client certificates from.
    pub acceptable_client_cas: Vec<String>,
    /// True when the server refused the client certificate with a TLS alert.
    pub client_certificate_refused: bool,
    /// The TLS alert received, if any.
    pub alert: Option<String>,
    pub error: Option<String>,
}

/// The probe request and what the server answered about the connection.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProbeFacts {
    pub path: String,
    pub http_version: String,
    pub status: u16,
    /// The TLS version as the server saw it.
    pub server_tls_version: Option<String>,
    pub server_time: Option<String>,
    /// The client certificate as the server saw it.
    pub presented_certificate: Option<PresentedCertificate>,
}

/// Subject and serial of the certificate the server saw.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PresentedCertificate {
    pub subject: String,
    pub serial: String,
}

/// Whether the server accepted the client certificate.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CertificateVerdict {
    /// `None` when the check did not get far enough to know.
    pub accepted: Option<bool>,
    /// The account the certificate belongs to, when accepted.
    pub tenant: Option<String>,
    /// The server's refusal code (or `tls_alert` for a refusal in the handshake).
    pub code: Option<String>,
    pub message: Option<String>,
    /// True when the refusal came as a TLS alert, not as an answer.
    pub refused_during_handshake: bool,
}

/// Whether the server accepted the probe's RFC 9421 signature.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignatureVerdict {
    pub valid: Option<bool>,
    pub signed_with: SigningKey,
    /// The `keyid` sent: the signing certificate's serial.
    pub keyid: String,
    pub code: Option<String>,
    pub message: Option<String>,
}

impl Default for SignatureVerdict {
    fn default() -> Self {
        SignatureVerdict {
            valid: None,
            signed_with: SigningKey::Wss,
            keyid: String::new(),
            code: None,
            message: None,
        }
    }
}

/// The server's clock against this computer's.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ClockFacts {
    pub server_time: String,
    /// The local time at the middle of the request.
    pub local_time: String,
    /// Server minus local, seconds (positive: the local clock is behind).
    pub skew_seconds: f64,
    /// True above 30 s.
    pub warning: bool,
}

/// Durations in milliseconds (0.1 ms resolution).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Latency {
    pub dns: Option<f64>,
    pub tcp_connect: Option<f64>,
    pub tls_handshake: Option<f64>,
    /// The probe's round trip: request sent to answer received.
    pub request: Option<f64>,
    pub total: Option<f64>,
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// One thing found, and what to do about it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    pub action: String,
}

// ---------------------------------------------------------------------------------------
// TLS observation.

/// What the handshake showed, recorded by the verifier and the certificate resolver.
#[derive(Clone, Debug, Default)]
struct Observed {
    chain: Vec<CertificateDer<'static>>,
    /// The outcome of verifying the server's chain; `Ok` without --ca.
    verification: Option<Result<(), rustls::Error>>,
    client_auth_requested: bool,
    hints: Vec<Vec<u8>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Records the server's chain; verifies it with WebPKI against --ca when given. Without
/// --ca it accepts any chain, only so that the chain can be reported (the report then says
/// the server was not verified); the handshake signature is still checked.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    observed: Arc<Mutex<Observed>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let outcome = match &self.inner {
            Some(verifier) => verifier
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .map(|_| ()),
            None => Ok(()),
        };
        let mut observed = lock(&self.observed);
        observed.chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        observed.verification = Some(outcome.clone());
        outcome.map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match &self.inner {
            Some(verifier) => verifier.verify_tls12_signature(message, cert, dss),
            None => rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            ),
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match &self.inner {
            Some(verifier) => verifier.verify_tls13_signature(message, cert, dss),
            None => rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            ),
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Always offers the TLS certificate, recording that the server asked and which CAs it
/// named as acceptable.
#[derive(Debug)]
struct RecordingResolver {
    key: Arc<CertifiedKey>,
    observed: Arc<Mutex<Observed>>,
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let mut observed = lock(&self.observed);
        observed.client_auth_requested = true;
        observed.hints = root_hint_subjects.iter().map(|h| h.to_vec()).collect();
        Some(self.key.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// An I/O error seen on the TLS stream during the request.
#[derive(Clone, Debug)]
enum Recorded {
    Tls(rustls::Error),
    Io(String),
}

/// Passes reads and writes through, keeping the first error (the TLS alert a server sends
/// when it refuses the client certificate after a TLS 1.3 handshake shows up here, while
/// hyper only reports a closed connection).
struct Recorder<S> {
    inner: S,
    error: Arc<Mutex<Option<Recorded>>>,
}

impl<S> Recorder<S> {
    fn record(&self, error: &std::io::Error) {
        let mut slot = lock(&self.error);
        let recorded = match rustls_error(error) {
            Some(tls) => Recorded::Tls(tls),
            None => Recorded::Io(describe_io(error)),
        };
        // A TLS error explains more than an I/O error that follows from it.
        match (&*slot, &recorded) {
            (None, _) | (Some(Recorded::Io(_)), Recorded::Tls(_)) => *slot = Some(recorded),
            _ => {}
        }
    }

    fn seen<T>(&self, poll: Poll<std::io::Result<T>>) -> Poll<std::io::Result<T>> {
        if let Poll::Ready(Err(error)) = &poll {
            self.record(error);
        }
        poll
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recorder<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.seen(poll)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recorder<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.seen(poll)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.seen(poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.seen(poll)
    }
}

// ---------------------------------------------------------------------------------------
// Small helpers.

/// The rustls error inside an I/O error from tokio-rustls, if there is one.
fn rustls_error(error: &std::io::Error) -> Option<rustls::Error> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned()
}

fn describe_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::UnexpectedEof => "the connection was closed".to_owned(),
        std::io::ErrorKind::ConnectionReset => "the connection was reset".to_owned(),
        _ => error.to_string(),
    }
}

/// The server's message without the `403 (code): ` that its error text starts with (the
/// report gives the code on its own).
fn without_status(message: &str) -> String {
    let bytes = message.as_bytes();
    if bytes.len() > 6
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && message[3..].starts_with(" (")
    {
        if let Some(end) = message.find("): ") {
            return message[end + 3..].to_owned();
        }
    }
    message.to_owned()
}

/// The alerts a server sends when it does not accept the client certificate, explained.
fn client_certificate_alert(alert: AlertDescription) -> Option<&'static str> {
    Some(match alert {
        AlertDescription::UnknownCA => "the certificate is not issued by a CA the server trusts",
        AlertDescription::CertificateRevoked => "the certificate has been revoked",
        AlertDescription::CertificateExpired => {
            "the server considers the certificate expired or not yet valid"
        }
        AlertDescription::BadCertificate
        | AlertDescription::UnsupportedCertificate
        | AlertDescription::CertificateUnknown => {
            "the certificate is damaged or not usable for client authentication"
        }
        AlertDescription::CertificateRequired | AlertDescription::NoCertificate => {
            "the server requires a client certificate"
        }
        AlertDescription::DecryptError => {
            "the handshake signature did not verify: the key may not belong to the certificate"
        }
        AlertDescription::AccessDenied => "access denied",
        _ => return None,
    })
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

fn version_name(version: rustls::ProtocolVersion) -> String {
    match version {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
        other => format!("{other:?}"),
    }
}

/// The IANA name (OpenSSL uses the same for TLS 1.3 suites); rustls writes `TLS13_` where
/// IANA writes `TLS_`.
fn suite_name(suite: rustls::CipherSuite) -> String {
    match suite.as_str() {
        Some(name) => match name.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => name.to_owned(),
        },
        None => format!("{suite:?}"),
    }
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

fn rfc3339(time: OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(time.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(time)
        .format(&Rfc3339)
        .unwrap_or_else(|_| time.to_string())
}

fn cert_facts(certificate: &Certificate) -> CertFacts {
    match certificate.summary() {
        Ok(summary) => {
            let now = OffsetDateTime::now_utc();
            CertFacts {
                subject: summary.subject,
                issuer: summary.issuer,
                serial: summary.serial_hex,
                not_before: rfc3339(summary.not_before),
                not_after: rfc3339(summary.not_after),
                days_left: (summary.not_after - now).whole_days(),
                not_yet_valid: now < summary.not_before,
            }
        }
        Err(e) => CertFacts {
            subject: format!("(unreadable certificate: {e})"),
            ..CertFacts::default()
        },
    }
}

fn tenant_of(certificate: &Certificate) -> Option<String> {
    certificate
        .summary()
        .ok()
        .and_then(|s| s.tenant_name)
        .map(|name| name.tenant.as_str().to_owned())
}

/// A distinguished name from the server's list of acceptable CAs, as text (the same form as
/// certificate summaries give).
fn name_text(der: &[u8]) -> String {
    let parse = |bytes: &[u8]| {
        x509_parser::x509::X509Name::from_der(bytes)
            .ok()
            .map(|(_, name)| name.to_string())
    };
    if let Some(text) = parse(der) {
        return text;
    }
    // Some encodings leave out the outer SEQUENCE; put it back.
    let mut wrapped = vec![0x30];
    let len = der.len();
    if len < 0x80 {
        wrapped.push(len as u8);
    } else if len < 0x100 {
        wrapped.extend([0x81, len as u8]);
    } else {
        wrapped.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    wrapped.extend_from_slice(der);
    parse(&wrapped).unwrap_or_else(|| format!("(unreadable name, {len} bytes)"))
}

/// Checks that `key` belongs to `certificate`, naming the classic mix-up of the other
/// kind's key.
fn check_pair(
    kind: &str,
    key: &PrivateKey,
    key_path: &std::path::Path,
    certificate: &Certificate,
    other: Option<&Certificate>,
) -> Result<(), ClientError> {
    if key_belongs_to(key, certificate).map_err(settings_error)? {
        return Ok(());
    }
    let other_kind = if kind == "TLS" { "WSS" } else { "TLS" };
    if let Some(other) = other {
        if key_belongs_to(key, other).map_err(settings_error)? {
            return Err(ClientError::Settings(format!(
                "{}: this is the {other_kind} key (it belongs to {}), given in place of the {kind} key",
                key_path.display(),
                other.source().display(),
            )));
        }
    }
    Err(ClientError::Settings(format!(
        "{}: the {kind} key does not belong to the {kind} certificate {}; the TLS handshake would fail",
        key_path.display(),
        certificate.source().display()
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls() {
        assert_eq!(
            suite_name(rustls::CipherSuite::TLS13_AES_256_GCM_SHA384),
            "TLS_AES_256_GCM_SHA384"
        );
        assert_eq!(
            suite_name(rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(version_name(rustls::ProtocolVersion::TLSv1_3), "TLSv1.3");
        assert_eq!(
            parse_url("127.0.0.1:8443").unwrap().as_str(),
            "https://127.0.0.1:8443/"
        );
        assert!(parse_url("http://127.0.0.1:8443").is_err());
        assert_eq!(millis(Duration::from_micros(1_234)), 1.2);
        assert_eq!(
            without_status("403 (certificate_not_registered): Certificate X"),
            "Certificate X"
        );
        assert_eq!(
            without_status("Certificate X (a): b"),
            "Certificate X (a): b"
        );
    }

    #[test]
    fn findings_sort_worst_first_and_decide_usability() {
        let mut report = ConnectReport::default();
        report.add(Severity::Info, "i", "info", "");
        report.add(Severity::Error, "e", "broken", "");
        report.tls = Some(TlsFacts {
            established: true,
            ..TlsFacts::default()
        });
        report.client_certificate.accepted = Some(true);
        report.signature.valid = Some(true);
        report.finish();
        assert!(!report.usable);
        assert_eq!(report.findings[0].code, "e");
        assert_eq!(report.summary, "the connection is not usable: broken");
        report.findings.retain(|f| f.severity != Severity::Error);
        report.finish();
        assert!(report.usable, "{}", report.summary);
    }
}
