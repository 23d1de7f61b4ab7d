//! A clinic's client that streams an upload: the body is generated chunk by chunk (never
//! held whole by the test either, so a test can measure the node's memory), its
//! `Content-Digest` computed beforehand over the same chunks, the request signed over that
//! header with the clinic's WSS key, as `medgate client put` signs.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use medgate_httpsig::{sign_message, BodyHasher, Component, SignOptions};
use serde_json::Value;

use super::{copy, Clinic, Node};

/// Size of the generated chunks.
pub const CHUNK: usize = 64 * 1024;

/// A body of `len` bytes made of numbered 64 KiB chunks: different bytes everywhere, the
/// same every time it is made.
#[derive(Clone, Copy, Debug)]
pub struct Generated {
    pub len: usize,
}

impl Generated {
    /// Chunk `index` (the last one may be short).
    pub fn chunk(&self, index: usize) -> Bytes {
        let start = index * CHUNK;
        let size = CHUNK.min(self.len.saturating_sub(start));
        let mut chunk: Vec<u8> = (0..size).map(|i| ((i * 31 + 7) % 251) as u8).collect();
        for (slot, byte) in chunk.iter_mut().zip((index as u64).to_le_bytes()) {
            *slot = byte;
        }
        Bytes::from(chunk)
    }

    pub fn chunks(&self) -> usize {
        self.len.div_ceil(CHUNK)
    }

    /// `sha-256=:…:` of the whole body, computed chunk by chunk.
    pub fn content_digest(&self) -> String {
        let mut hasher = BodyHasher::new();
        for index in 0..self.chunks() {
            hasher.update(&self.chunk(index));
        }
        let digests = hasher.finish();
        use base64::Engine as _;
        format!(
            "sha-256=:{}:",
            base64::engine::general_purpose::STANDARD
                .encode(digests.digest(medgate_httpsig::DigestAlgorithm::Sha256))
        )
    }

    /// The whole body (for small bodies and comparisons after a measurement).
    pub fn bytes(&self) -> Vec<u8> {
        (0..self.chunks())
            .flat_map(|index| self.chunk(index).to_vec())
            .collect()
    }

    /// A request body producing the chunks one at a time.
    pub fn body(self) -> reqwest::Body {
        let stream = futures_util::stream::iter(0..self.chunks())
            .map(move |index| Ok::<Bytes, std::io::Error>(self.chunk(index)));
        reqwest::Body::wrap_stream(stream)
    }
}

use futures_util::StreamExt as _;

/// The clinic's mutual-TLS client, signing each request itself.
pub struct StreamingClient {
    http: reqwest::Client,
    base: url::Url,
    clinic_tenant: String,
    wss_key: medgate_pki::PrivateKey,
    keyid: String,
}

/// What the node answered: status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub json: Value,
}

impl StreamingClient {
    pub fn new(node: &Node, clinic: &Clinic) -> StreamingClient {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                node.ca.certificate().der().to_vec(),
            ))
            .unwrap();
        let chain = vec![rustls::pki_types::CertificateDer::from(
            clinic.tls.1.der().to_vec(),
        )];
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(clinic.tls.0.pkcs8_der().to_vec().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .unwrap();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        StreamingClient {
            http,
            base: node.url.clone(),
            clinic_tenant: clinic.tenant.as_str().to_owned(),
            wss_key: copy(&clinic.wss.0),
            keyid: clinic.wss_serial.clone(),
        }
    }

    /// `POST path_and_query` with `body`, signed over `content_digest` (which need not be
    /// the body's: a test may lie); `content_length` declared when given.
    pub async fn post(
        &self,
        path_and_query: &str,
        content_type: &str,
        content_digest: &str,
        content_length: Option<u64>,
        body: reqwest::Body,
    ) -> Result<Answer, reqwest::Error> {
        let url = self.base.join(path_and_query).unwrap();
        let uri: http::Uri = url.as_str().parse().unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", content_type.parse().unwrap());
        headers.insert("content-digest", content_digest.parse().unwrap());
        headers.insert("medgate-tenant", self.clinic_tenant.parse().unwrap());
        let mut options = SignOptions::new(self.keyid.clone());
        options
            .components
            .push(Component::parse("content-digest").unwrap());
        sign_message(
            &http::Method::POST,
            &uri,
            &mut headers,
            None,
            &self.wss_key,
            &options,
        )
        .unwrap();
        if let Some(length) = content_length {
            headers.insert("content-length", length.into());
        }
        let response = self
            .http
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Answer { status, json })
    }

    /// Streams `body` to `POST path` with its true `Content-Digest` and length.
    pub async fn upload(
        &self,
        path_and_query: &str,
        content_type: &str,
        body: Generated,
    ) -> Answer {
        self.post(
            path_and_query,
            content_type,
            &body.content_digest(),
            Some(body.len as u64),
            body.body(),
        )
        .await
        .unwrap()
    }
}

/// The files in the node's staging folder (`DATA/tmp`).
pub fn staged_files(node: &Node) -> Vec<String> {
    std::fs::read_dir(node.data.join("tmp"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The files under `DATA/content` (records aside: the audit checkpoints' folder).
pub fn content_files(node: &Node) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, depth: usize, found: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if depth < 2 {
                    walk(&path, depth + 1, found);
                }
            } else if depth == 2 {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&node.data.join("content"), 0, &mut found);
    found
}
