//! [`ClaimsClient`]: an MO system's calls to the claims node's `/api/v1/packages`.

use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use http_body::{Frame, SizeHint};
use medgate_httpsig::{sign_message_digested, BodyDigests, BodyHasher, SignOptions};
use serde_json::Value;

use super::{ClaimsClientError, SystemCredentials};
use crate::transport::{error_chain, mutual_tls_client, TlsSetupError};

/// A package's `progress` once its control concluded (per mille).
pub const PROGRESS_DONE: u64 = 1000;

/// How long a push may take in all (a large package on a slow line).
const PUSH_TIMEOUT: Duration = Duration::from_secs(3600);

/// The chunks a package is read and sent in.
const CHUNK_BYTES: usize = 64 * 1024;

/// A downloaded `V` protocol.
#[derive(Debug)]
pub struct Protocol {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// The MO system's client of a claims node.
pub struct ClaimsClient {
    http: reqwest::Client,
    base: url::Url,
    credentials: SystemCredentials,
}

/// A file's chunks as a request body, counting the bytes handed to the connection.
struct FileBody {
    chunks: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    len: u64,
    sent: Arc<AtomicU64>,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.chunks.poll_recv(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

fn file_error(path: &Path, error: impl std::fmt::Display) -> ClaimsClientError {
    ClaimsClientError::File {
        path: path.display().to_string(),
        reason: error.to_string(),
    }
}

/// The length and digests of a file, read in chunks.
fn digests_of(path: &Path) -> Result<BodyDigests, ClaimsClientError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| file_error(path, e))?;
    let mut hasher = BodyHasher::new();
    let mut buffer = vec![0u8; CHUNK_BYTES];
    loop {
        let read = file.read(&mut buffer).map_err(|e| file_error(path, e))?;
        if read == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(&buffer[..read]);
    }
}

impl ClaimsClient {
    /// Prepares mutual TLS to the node at `url` with the system's checked credentials,
    /// trusting only the node's CA; `timeout` bounds each call but a push.
    pub fn new(
        url: &url::Url,
        credentials: SystemCredentials,
        timeout: Duration,
    ) -> Result<Self, ClaimsClientError> {
        if url.scheme() != "https" {
            return Err(ClaimsClientError::Setup(format!(
                "the claims node's URL {url} must start with https://"
            )));
        }
        let http = mutual_tls_client(
            std::slice::from_ref(credentials.node_ca()),
            std::slice::from_ref(credentials.certificate()),
            credentials.key(),
            timeout,
        )
        .map_err(|error| {
            ClaimsClientError::Setup(match error {
                TlsSetupError::TrustAnchor(e) => format!("the node's CA is not usable: {e}"),
                TlsSetupError::ClientCertificate(e) => {
                    format!("the MO system certificate is not usable: {e}")
                }
                TlsSetupError::Client(e) => e,
            })
        })?;
        let mut base = url.clone();
        base.set_path("/api/v1/");
        base.set_query(None);
        Ok(ClaimsClient {
            http,
            base,
            credentials,
        })
    }

    pub fn credentials(&self) -> &SystemCredentials {
        &self.credentials
    }

    fn url(&self, path: &str) -> Result<url::Url, ClaimsClientError> {
        self.base
            .join(path)
            .map_err(|e| ClaimsClientError::Setup(format!("the path {path}: {e}")))
    }

    fn unreachable(&self, error: &reqwest::Error) -> ClaimsClientError {
        let reason = error_chain(error);
        for (alert, said) in [
            ("CertificateRevoked", "the certificate is revoked"),
            ("UnknownCA", "the certificate is not from the node's CA"),
            ("BadCertificate", "the certificate is not accepted"),
        ] {
            if reason.contains(alert) {
                return ClaimsClientError::CertificateRefused {
                    reason: said.to_owned(),
                };
            }
        }
        ClaimsClientError::Unreachable {
            url: self.base.origin().ascii_serialization(),
            reason,
        }
    }

    /// The answer's bytes when 2xx; else the node's `{code, message}` as a refusal.
    async fn answer(
        &self,
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<(HeaderMap, Bytes), ClaimsClientError> {
        let response = response.map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        if (200..300).contains(&status) {
            return Ok((headers, bytes));
        }
        let refusal: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Err(ClaimsClientError::Refused {
            status,
            code: refusal["code"].as_str().unwrap_or("unknown").to_owned(),
            message: refusal["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect()),
        })
    }

    async fn get(&self, path: &str) -> Result<(HeaderMap, Bytes), ClaimsClientError> {
        let url = self.url(path)?;
        self.answer(self.http.get(url).send().await).await
    }

    async fn get_json(&self, path: &str) -> Result<Value, ClaimsClientError> {
        let (_, bytes) = self.get(path).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClaimsClientError::Refused {
            status: 200,
            code: "not_json".to_owned(),
            message: format!("the answer to {path} is not JSON: {e}"),
        })
    }

    /// Pushes the package at `path` for `period` as `file_name`: its digest is computed,
    /// then it is streamed, signed over that digest; `sent` counts the bytes handed to the
    /// connection. Answers the package as registered (`checking`).
    pub async fn push(
        &self,
        path: &Path,
        period: &str,
        file_name: &str,
        sent: Arc<AtomicU64>,
    ) -> Result<Value, ClaimsClientError> {
        let owned = path.to_owned();
        let digests = tokio::task::spawn_blocking(move || digests_of(&owned))
            .await
            .map_err(|e| file_error(path, e))??;
        let mut url = self.url("packages")?;
        url.query_pairs_mut()
            .append_pair("period", period)
            .append_pair("file_name", file_name);
        let uri: http::Uri = url
            .as_str()
            .parse()
            .map_err(|e| ClaimsClientError::Setup(format!("the URL {url}: {e}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/zip"),
        );
        sign_message_digested(
            &Method::POST,
            &uri,
            &mut headers,
            &digests,
            self.credentials.key(),
            &SignOptions::new(self.credentials.serial_hex().to_owned()),
        )
        .map_err(|e| ClaimsClientError::Setup(format!("signing the push: {e}")))?;
        let (sender, chunks) = tokio::sync::mpsc::channel(8);
        let reader_path = path.to_owned();
        let reader = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut file = match std::fs::File::open(&reader_path) {
                Ok(file) => file,
                Err(error) => {
                    let _ = sender.blocking_send(Err(error));
                    return;
                }
            };
            let mut buffer = vec![0u8; CHUNK_BYTES];
            loop {
                match file.read(&mut buffer) {
                    Ok(0) => return,
                    Ok(read) => {
                        let chunk = Bytes::copy_from_slice(&buffer[..read]);
                        if sender.blocking_send(Ok(chunk)).is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        let _ = sender.blocking_send(Err(error));
                        return;
                    }
                }
            }
        });
        let body = FileBody {
            chunks,
            len: digests.len(),
            sent,
        };
        let mut request = self
            .http
            .post(url)
            .timeout(PUSH_TIMEOUT)
            .body(reqwest::Body::wrap(body));
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let answer = self.answer(request.send().await).await;
        reader.abort();
        let (_, bytes) = answer?;
        serde_json::from_slice(&bytes).map_err(|e| ClaimsClientError::Refused {
            status: 202,
            code: "not_json".to_owned(),
            message: format!("the answer to the push is not JSON: {e}"),
        })
    }

    /// The MO's packages (`{mo, packages}`).
    pub async fn packages(&self) -> Result<Value, ClaimsClientError> {
        self.get_json("packages").await
    }

    /// A package's status and control progress.
    pub async fn package(&self, id: i64) -> Result<Value, ClaimsClientError> {
        self.get_json(&format!("packages/{id}")).await
    }

    /// A package with its findings (`{package, flk}`).
    pub async fn findings(&self, id: i64) -> Result<Value, ClaimsClientError> {
        self.get_json(&format!("packages/{id}/findings")).await
    }

    /// A concluded package's `V` protocol (a ZIP).
    pub async fn protocol(&self, id: i64) -> Result<Protocol, ClaimsClientError> {
        let (headers, bytes) = self.get(&format!("packages/{id}/protocol")).await?;
        let file_name = headers
            .get(http::header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("filename=\"").nth(1))
            .and_then(|v| v.split('"').next())
            .unwrap_or("protocol.zip")
            .to_owned();
        Ok(Protocol {
            file_name,
            bytes: bytes.to_vec(),
        })
    }
}
