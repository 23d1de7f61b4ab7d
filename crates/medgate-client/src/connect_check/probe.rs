//! The signed probe: one `POST /api/v1/probe` over the connection the handshake opened
//! (HTTP/2 when ALPN chose it, else HTTP/1.1), signed with the WSS key (or the TLS key),
//! and what the server answered about the connection.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderValue, Method, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use medgate_httpsig::{sign_request, SignOptions};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::report::{
    cert_facts, millis, ConnectReport, PresentedCertificate, ProbeFacts, Severity,
};
use super::tls::{describe_io, lock, rustls_error};
use super::{ConnectCheck, PROBE_PATH};
use crate::transport::TENANT_HEADER;

impl ConnectCheck {
    /// The signed probe request over the TLS connection.
    pub(super) async fn probe(
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
}

/// An I/O error seen on the TLS stream during the request.
#[derive(Clone, Debug)]
pub(super) enum Recorded {
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
