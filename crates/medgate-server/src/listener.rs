//! The accept loop: TCP → TLS handshake (with a time limit) → HTTP/1.1 or HTTP/2 served by
//! the axum router, with the client's certificate and address attached to every request as
//! extensions. Stops accepting on shutdown and lets open requests finish.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish after shutdown was requested.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

pub use medgate_web::PeerInfo;

/// Serves `router` on `listener` with TLS until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send,
) {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, address) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Running out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    tracing::info!(%address, %error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::info!(%address, "TLS handshake timed out");
                    return;
                }
            };
            let (_, connection) = stream.get_ref();
            let peer = PeerInfo {
                client_certificate: connection
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .map(|cert: &CertificateDer<'_>| Arc::new(cert.as_ref().to_vec())),
                address,
                tls_version: connection
                    .protocol_version()
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_default(),
            };
            let service = router.map_request(move |mut request: axum::http::Request<_>| {
                request.extensions_mut().insert(peer.clone());
                request
            });
            let service = hyper_util::service::TowerToHyperService::new(service);
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%address, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("open connections did not finish in time; closing them");
        }
    }
}
