//! The repository's client for the national registry: mutual TLS with a tenant's national
//! TLS certificate and every request signed (RFC 9421) with its national WSS key, both held
//! in memory (the repository keeps them encrypted in its database). Failures are sorted into
//! what the repository must tell its tenant: the registry did not answer, took too long,
//! refused the certificate in the handshake, is not the registry the CA file names, or
//! answered with a refusal of its own.

use std::time::Duration;

use http::Method;
use medgate_ids::TenantId;
use medgate_pki::{Certificate, PrivateKey};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::transport::{
    error_chain, mutual_tls_client, signed_request, TlsSetupError, TENANT_HEADER,
};

pub mod wire;

use wire::{
    Deregistered, DocumentEntry, EntryEnvelope, FindQuery, FindResult, RegisterRequest,
    RegisteredRepository, Withdrawn,
};

/// A tenant's national certificates and keys, in memory.
pub struct RegistryCredentials {
    /// The national TLS certificate first, then any chain.
    pub tls_chain: Vec<Certificate>,
    pub tls_key: PrivateKey,
    pub wss_certificate: Certificate,
    pub wss_key: PrivateKey,
}

/// Why a registry call failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Our own side: a URL, key or CA file that cannot be used.
    #[error("{0}")]
    Setup(String),
    /// Nothing answered (connection refused, name not resolved, connection reset).
    #[error("the registry at {url} did not answer ({cause})")]
    Unreachable { url: String, cause: String },
    /// No answer within the time limit.
    #[error("the registry at {url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    /// The registry refused the national TLS certificate during the handshake.
    #[error(
        "the registry at {url} refused the national TLS certificate during the TLS handshake \
         ({detail}): it was revoked, or it is not issued by the registry's CA"
    )]
    CertificateRefused { url: String, detail: String },
    /// The server is not the registry the configured CA file vouches for.
    #[error(
        "the server at {url} is not trusted as the registry: its certificate is not issued by \
         the CA in the repository's [registry] ca_file ({detail})"
    )]
    ServerNotTrusted { url: String, detail: String },
    /// The registry answered with an error of its own.
    #[error("the registry refused the request: {} ({status} {code})", .message.trim_end_matches('.'))]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// The registry answered something that is not the expected JSON.
    #[error("the registry at {url} gave an answer that cannot be read ({detail})")]
    BadAnswer { url: String, detail: String },
}

impl RegistryError {
    /// The registry's error code, when it answered with one.
    pub fn registry_code(&self) -> Option<&str> {
        match self {
            RegistryError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A connected, signing client for one tenant's national credentials.
pub struct RegistryClient {
    http: reqwest::Client,
    base: url::Url,
    tenant: TenantId,
    wss_key: PrivateKey,
    keyid: String,
    timeout: Duration,
}

impl RegistryClient {
    /// Prepares mutual TLS with `credentials.tls_chain` / `tls_key`, trusting only `trust`
    /// (the registry's CA) for the server.
    pub fn new(
        base: &url::Url,
        trust: &[Certificate],
        tenant: &TenantId,
        credentials: RegistryCredentials,
        timeout: Duration,
    ) -> Result<Self, RegistryError> {
        let setup = |message: String| RegistryError::Setup(message);
        if base.scheme() != "https" {
            return Err(setup(format!(
                "registry URL {base}: must start with https://"
            )));
        }
        let http = mutual_tls_client(trust, &credentials.tls_chain, &credentials.tls_key, timeout)
            .map_err(|error| match error {
                TlsSetupError::TrustAnchor(e) => {
                    setup(format!("registry CA certificate not usable: {e}"))
                }
                TlsSetupError::ClientCertificate(e) => {
                    setup(format!("national TLS certificate not usable: {e}"))
                }
                TlsSetupError::Client(e) => setup(e),
            })?;
        let keyid = credentials
            .wss_certificate
            .summary()
            .map_err(|e| setup(format!("national WSS certificate: {e}")))?
            .serial_hex;
        Ok(RegistryClient {
            http,
            base: base.clone(),
            tenant: tenant.clone(),
            wss_key: credentials.wss_key,
            keyid,
            timeout,
        })
    }

    /// The registry's base URL.
    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// Registers the repository, or registers it again with new certificates
    /// (`POST /api/v1/registry/repositories`); the answer holds its national repository id.
    pub async fn register(
        &self,
        request: &RegisterRequest,
    ) -> Result<RegisteredRepository, RegistryError> {
        self.call(
            Method::POST,
            wire::REPOSITORIES_PATH,
            Some(json_body(request)?),
        )
        .await
    }

    /// Deregisters the repository (`DELETE /api/v1/registry/repositories/self`); the
    /// registry withdraws all its entries.
    pub async fn deregister(&self) -> Result<Deregistered, RegistryError> {
        self.call(Method::DELETE, wire::SELF_PATH, None).await
    }

    /// Stores or replaces an entry of the repository (`PUT /api/v1/registry/entries/{uniqueId}`).
    pub async fn put_entry(&self, entry: &DocumentEntry) -> Result<EntryEnvelope, RegistryError> {
        let path = wire::entry_path(&entry.unique_id);
        self.call(Method::PUT, &path, Some(json_body(entry)?)).await
    }

    /// Withdraws an entry of the repository (`DELETE /api/v1/registry/entries/{uniqueId}`).
    pub async fn withdraw_entry(&self, unique_id: &str) -> Result<Withdrawn, RegistryError> {
        self.call(Method::DELETE, &wire::entry_path(unique_id), None)
            .await
    }

    /// A patient's entries across all repositories (`GET /api/v1/registry/entries`).
    pub async fn find(&self, query: &FindQuery) -> Result<FindResult, RegistryError> {
        self.call(Method::GET, &query.path(), None).await
    }

    /// Any request with any JSON body, answered with any JSON: for requests the methods
    /// above do not make (the registry's own tests send such to see its refusals).
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, RegistryError> {
        let body = body.map(json_body).transpose()?;
        self.call(method, path_and_query, body).await
    }

    /// Sends a signed request (with a JSON body when given) and reads the JSON answer of a
    /// 2xx response as `A`; anything else is a [`RegistryError`].
    async fn call<A: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body_bytes: Option<Vec<u8>>,
    ) -> Result<A, RegistryError> {
        let url = self.base.join(path_and_query).map_err(|e| {
            RegistryError::Setup(format!("bad registry path '{path_and_query}': {e}"))
        })?;
        let mut headers = http::HeaderMap::new();
        headers.insert(
            TENANT_HEADER,
            http::HeaderValue::from_str(self.tenant.as_str())
                .map_err(|e| RegistryError::Setup(format!("request: {e}")))?,
        );
        if body_bytes.is_some() {
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
        }
        let request = signed_request(
            &self.http,
            method,
            &url,
            headers,
            body_bytes,
            &self.wss_key,
            &self.keyid,
        )
        .map_err(RegistryError::Setup)?;
        let response = request.send().await.map_err(|e| self.explain(&e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| self.explain(&e))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| RegistryError::BadAnswer {
                url: self.base.to_string(),
                detail: format!("status {status}, not the expected JSON: {e}"),
            });
        }
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            code: String,
            message: String,
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(error) => Err(RegistryError::Refused {
                status,
                code: error.code,
                message: error.message,
            }),
            Err(_) => Err(RegistryError::BadAnswer {
                url: self.base.to_string(),
                detail: format!(
                    "status {status}: {}",
                    String::from_utf8_lossy(&bytes)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ),
            }),
        }
    }

    /// Sorts a transport failure into what the tenant must be told.
    fn explain(&self, error: &reqwest::Error) -> RegistryError {
        let url = self.base.to_string();
        if error.is_timeout() {
            return RegistryError::Timeout {
                url,
                seconds: self.timeout.as_secs().max(1),
            };
        }
        classify(url, &error_chain(error), self.timeout.as_secs().max(1))
    }
}

/// A request body as JSON.
fn json_body(body: &(impl Serialize + ?Sized)) -> Result<Vec<u8>, RegistryError> {
    serde_json::to_vec(body).map_err(|e| RegistryError::Setup(format!("request body: {e}")))
}

/// Sorts the text of a transport error chain (see [`RegistryClient::explain`]).
fn classify(url: String, chain: &str, timeout_seconds: u64) -> RegistryError {
    let last = chain.rsplit(": ").next().unwrap_or(chain).to_owned();
    let lower = chain.to_ascii_lowercase();
    if lower.contains("invalid peer certificate")
        || lower.contains("unknownissuer")
        || lower.contains("unknown issuer")
        || lower.contains("notvalidforname")
    {
        RegistryError::ServerNotTrusted { url, detail: last }
    } else if lower.contains("alert") || lower.contains("certificaterequired") {
        RegistryError::CertificateRefused { url, detail: last }
    } else if lower.contains("connection refused") {
        RegistryError::Unreachable {
            url,
            cause: "connection refused".to_owned(),
        }
    } else if lower.contains("dns error") || lower.contains("failed to lookup") {
        RegistryError::Unreachable {
            url,
            cause: "the host name cannot be resolved".to_owned(),
        }
    } else if lower.contains("timed out") {
        RegistryError::Timeout {
            url,
            seconds: timeout_seconds,
        }
    } else {
        RegistryError::Unreachable { url, cause: last }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_are_sorted_by_cause() {
        let url = "https://127.0.0.1:9/".to_owned();
        let refused = classify(
            url.clone(),
            "error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)",
            10,
        );
        assert_eq!(
            refused.to_string(),
            "the registry at https://127.0.0.1:9/ did not answer (connection refused)"
        );
        let revoked = classify(
            url.clone(),
            "error sending request: connection error: received fatal alert: CertificateRevoked",
            10,
        );
        assert!(
            matches!(revoked, RegistryError::CertificateRefused { ref detail, .. } if detail == "CertificateRevoked")
        );
        let untrusted = classify(
            url,
            "error sending request: invalid peer certificate: UnknownIssuer",
            10,
        );
        assert!(matches!(untrusted, RegistryError::ServerNotTrusted { .. }));
        assert!(untrusted.to_string().contains("[registry] ca_file"));
    }
}
