//! One connection setup and one request path for every client command: load and cross-check
//! the tenant's certificates and keys, open mutual TLS, sign, send, and explain failures.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method};
use medgate_httpsig::{sign_request, SignOptions};
use medgate_ids::TenantId;
use medgate_pki::keystore::key_belongs_to;
use medgate_pki::{load_certificate, load_certificates, Certificate, Password, PrivateKey};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::de::DeserializeOwned;

use crate::{ClientError, ClientSettings};

/// The header naming the tenant the client acts for, so that the server can say "this is
/// the certificate of another tenant" instead of a bare refusal.
pub const TENANT_HEADER: &str = "medgate-tenant";

/// A connected, signing client for one tenant.
pub struct RepositoryClient {
    http: reqwest::Client,
    base: url::Url,
    tenant: TenantId,
    wss_key: PrivateKey,
    wss_certificate: Certificate,
    tls_certificate: Certificate,
    timeout_ms: u64,
    ca_path: String,
    tls_cert_path: String,
}

/// A response with a 2xx status.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl ApiResponse {
    /// Parses the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ClientError::Connection(format!("the server's answer is not the expected JSON: {e}"))
        })
    }
}

fn settings_error(error: impl std::fmt::Display) -> ClientError {
    ClientError::Settings(error.to_string())
}

impl RepositoryClient {
    /// Loads the four files, checks that each key belongs to its certificate (naming the
    /// classic mix-up of the WSS key loaded as the TLS key), and prepares TLS.
    pub fn new(settings: &ClientSettings) -> Result<Self, ClientError> {
        let password = settings
            .password_file
            .as_deref()
            .map(Password::from_file)
            .transpose()
            .map_err(settings_error)?;
        let tls_chain = load_certificates(&settings.tls_cert).map_err(settings_error)?;
        let tls_certificate = tls_chain
            .first()
            .cloned()
            .ok_or_else(|| settings_error(format!("{}: no certificate", settings.tls_cert.display())))?;
        let wss_certificate = load_certificate(&settings.wss_cert).map_err(settings_error)?;
        let tls_key = PrivateKey::load(&settings.tls_key, password.as_ref()).map_err(settings_error)?;
        let wss_key = PrivateKey::load(&settings.wss_key, password.as_ref()).map_err(settings_error)?;
        check_pair("TLS", &tls_key, &settings.tls_key, &tls_certificate, &wss_certificate)?;
        check_pair("WSS", &wss_key, &settings.wss_key, &wss_certificate, &tls_certificate)?;

        let trust = load_certificates(&settings.ca).map_err(settings_error)?;
        let http = mutual_tls_client(&trust, &tls_chain, &tls_key, settings.timeout).map_err(
            |error| match error {
                TlsSetupError::TrustAnchor(e) => settings_error(format!(
                    "{}: not usable as a trust anchor: {e}",
                    settings.ca.display()
                )),
                TlsSetupError::ClientCertificate(e) => {
                    settings_error(format!("TLS client certificate not usable: {e}"))
                }
                TlsSetupError::Client(e) => settings_error(e),
            },
        )?;
        Ok(RepositoryClient {
            http,
            base: settings.server.clone(),
            tenant: settings.tenant.clone(),
            wss_key,
            wss_certificate,
            tls_certificate,
            timeout_ms: u64::try_from(settings.timeout.as_millis()).unwrap_or(u64::MAX),
            ca_path: settings.ca.display().to_string(),
            tls_cert_path: settings.tls_cert.display().to_string(),
        })
    }

    /// The tenant this client acts for.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The TLS certificate presented by this client.
    pub fn tls_certificate(&self) -> &Certificate {
        &self.tls_certificate
    }

    /// The WSS certificate whose key signs the requests.
    pub fn wss_certificate(&self) -> &Certificate {
        &self.wss_certificate
    }

    /// Sends a signed request to `path` (with query) and returns a 2xx response, or the
    /// server's refusal as [`ClientError::Api`].
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<ApiResponse, ClientError> {
        let url = self
            .base
            .join(path_and_query)
            .map_err(|e| settings_error(format!("bad request path '{path_and_query}': {e}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            TENANT_HEADER,
            http::HeaderValue::from_str(self.tenant.as_str()).map_err(settings_error)?,
        );
        if let Some((_, content_type)) = &body {
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_str(content_type).map_err(settings_error)?,
            );
        }
        let keyid = self
            .wss_certificate
            .summary()
            .map_err(settings_error)?
            .serial_hex;
        let request = signed_request(
            &self.http,
            method,
            &url,
            headers,
            body.map(|(bytes, _)| bytes),
            &self.wss_key,
            &keyid,
        )
        .map_err(settings_error)?;
        let response = request.send().await.map_err(|e| self.explain(&e, &url))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| self.explain(&e, &url))?;
        if (200..300).contains(&status) {
            return Ok(ApiResponse {
                status,
                headers,
                body,
            });
        }
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            code: String,
            message: String,
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(error) => Err(ClientError::Api {
                status,
                code: error.code,
                message: error.message,
            }),
            Err(_) => Err(ClientError::Api {
                status,
                code: "http_error".into(),
                message: String::from_utf8_lossy(&body).chars().take(300).collect(),
            }),
        }
    }

    /// GET and parse JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(Method::GET, path, None).await?.json()
    }

    /// Sends a JSON body and parses the JSON answer.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        value: &serde_json::Value,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_vec(value).map_err(settings_error)?;
        self.send(method, path, Some((body, "application/json")))
            .await?
            .json()
    }

    /// Turns a transport failure into a sentence: what failed and what to check.
    fn explain(&self, error: &reqwest::Error, url: &url::Url) -> ClientError {
        if error.is_timeout() {
            return ClientError::Timeout {
                url: url.to_string(),
                timeout_ms: self.timeout_ms,
            };
        }
        let chain = error_chain(error);
        let host = url.host_str().unwrap_or("?");
        let sentence = if chain.contains("UnknownIssuer") || chain.contains("unknown issuer") {
            format!(
                "the server's certificate is not issued by the CA in {} (use the repository's DATA/ca/ca.pem)",
                self.ca_path
            )
        } else if chain.contains("NotValidForName") {
            format!("the server's certificate is not valid for the name '{host}'")
        } else if chain.contains("Revoked") || chain.contains("revoked") {
            format!(
                "the server refused the TLS client certificate {}: it has been revoked; request a new certificate",
                self.tls_cert_path
            )
        } else if chain.contains("alert") || chain.contains("CertificateRequired") {
            format!(
                "the server refused the TLS client certificate {} during the handshake: it is not issued by the repository's tenant CA, or it was revoked ({})",
                self.tls_cert_path,
                last_part(&chain)
            )
        } else if chain.contains("Connection refused") || chain.contains("connection refused") {
            format!("nothing is listening at {url} (is `medgate serve` running there?)")
        } else if chain.contains("dns error") || chain.contains("failed to lookup") {
            format!("the host name '{host}' cannot be resolved")
        } else {
            format!("request to {url} failed: {chain}")
        };
        ClientError::Connection(sentence)
    }
}

/// Why an HTTPS client could not be prepared.
#[derive(Debug)]
pub(crate) enum TlsSetupError {
    /// A CA certificate cannot serve as a trust anchor.
    TrustAnchor(String),
    /// The client certificate and key cannot be presented.
    ClientCertificate(String),
    /// The HTTP client itself (protocol versions, builder).
    Client(String),
}

/// An HTTPS client for mutual TLS: it trusts only `trust` for the server and presents
/// `chain` (the client's certificate first) with `key`; `timeout` bounds both the connection
/// and each whole request. Every client of this crate opens its connections here.
pub(crate) fn mutual_tls_client(
    trust: &[Certificate],
    chain: &[Certificate],
    key: &PrivateKey,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, TlsSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in trust {
        roots
            .add(CertificateDer::from(certificate.der().to_vec()))
            .map_err(|e| TlsSetupError::TrustAnchor(e.to_string()))?;
    }
    let chain: Vec<CertificateDer<'static>> = chain
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    if chain.is_empty() {
        return Err(TlsSetupError::ClientCertificate(
            "no client certificate".to_owned(),
        ));
    }
    let key_der = PrivateKeyDer::Pkcs8(key.pkcs8_der().to_vec().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Client(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key_der)
        .map_err(|e| TlsSetupError::ClientCertificate(e.to_string()))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| TlsSetupError::Client(format!("HTTP client: {e}")))
}

/// A request of `http` to `url` with `headers`, signed (RFC 9421) by `key` known to the
/// server as `keyid` over method, target URI and — with a body — its `Content-Digest`.
/// Each call signs afresh, so a retried request carries a new creation time.
pub(crate) fn signed_request(
    http: &reqwest::Client,
    method: Method,
    url: &url::Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    key: &PrivateKey,
    keyid: &str,
) -> Result<reqwest::RequestBuilder, String> {
    let mut builder = http::Request::builder()
        .method(method.clone())
        .uri(url.as_str());
    if let Some(slot) = builder.headers_mut() {
        slot.extend(headers);
    }
    let (mut parts, ()) = builder
        .body(())
        .map_err(|e| format!("request: {e}"))?
        .into_parts();
    sign_request(
        &mut parts,
        body.as_deref(),
        key,
        &SignOptions::new(keyid.to_owned()),
    )
    .map_err(|e| format!("signing the request: {e}"))?;
    let mut request = http.request(method, url.clone());
    for (name, value) in &parts.headers {
        request = request.header(name, value);
    }
    if let Some(bytes) = body {
        request = request.body(bytes);
    }
    Ok(request)
}

/// A transport error with all its causes, `: `-separated (the TLS alert or the OS error is
/// at the end).
pub(crate) fn error_chain(error: &reqwest::Error) -> String {
    let mut chain = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

fn last_part(chain: &str) -> &str {
    chain.rsplit(": ").next().unwrap_or(chain)
}

/// Checks that `key` belongs to `certificate`; when it belongs to the other kind's
/// certificate instead, says so in the words of seed 000's support note.
fn check_pair(
    kind: &str,
    key: &PrivateKey,
    key_path: &std::path::Path,
    certificate: &Certificate,
    other: &Certificate,
) -> Result<(), ClientError> {
    if key_belongs_to(key, certificate).map_err(settings_error)? {
        return Ok(());
    }
    let other_kind = if kind == "TLS" { "WSS" } else { "TLS" };
    if key_belongs_to(key, other).map_err(settings_error)? {
        return Err(ClientError::Settings(format!(
            "{}: this is the {other_kind} key (it belongs to {}), loaded in place of the {kind} key; \
             the TLS handshake would fail. Give the {kind} key generated together with the {} CSR",
            key_path.display(),
            other.source().display(),
            kind.to_ascii_lowercase()
        )));
    }
    Err(ClientError::Settings(format!(
        "{}: the {kind} key does not belong to the {kind} certificate {}; the TLS handshake would fail",
        key_path.display(),
        certificate.source().display()
    )))
}
