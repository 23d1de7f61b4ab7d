//! Connecting and the TLS handshake: name lookup, TCP, then tokio-rustls with the client
//! certificate, recording what the server presented (its chain, whether it asked for a
//! client certificate and which CAs it named) and what was negotiated.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use medgate_pki::Certificate;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use x509_parser::prelude::FromDer;

use super::report::{cert_facts, millis, CertFacts, ConnectReport, Severity, TlsFacts};
use super::ConnectCheck;

impl ConnectCheck {
    /// Name lookup and TCP connection.
    pub(super) async fn connect(
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
    pub(super) async fn handshake(
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
}

/// What the handshake showed, recorded by the verifier and the certificate resolver.
#[derive(Clone, Debug, Default)]
pub(super) struct Observed {
    pub(super) chain: Vec<CertificateDer<'static>>,
    /// The outcome of verifying the server's chain; `Ok` without --ca.
    pub(super) verification: Option<Result<(), rustls::Error>>,
    pub(super) client_auth_requested: bool,
    pub(super) hints: Vec<Vec<u8>>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
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

/// The rustls error inside an I/O error from tokio-rustls, if there is one.
pub(super) fn rustls_error(error: &std::io::Error) -> Option<rustls::Error> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned()
}

pub(super) fn describe_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::UnexpectedEof => "the connection was closed".to_owned(),
        std::io::ErrorKind::ConnectionReset => "the connection was reset".to_owned(),
        _ => error.to_string(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            suite_name(rustls::CipherSuite::TLS13_AES_256_GCM_SHA384),
            "TLS_AES_256_GCM_SHA384"
        );
        assert_eq!(
            suite_name(rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(version_name(rustls::ProtocolVersion::TLSv1_3), "TLSv1.3");
    }
}
