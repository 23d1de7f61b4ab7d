//! TLS for the server: the rustls configuration with the server certificate, and the client
//! certificate verifier that checks a presented certificate against the tenant CA and its
//! CRL. Connections without a client certificate are allowed at the TLS layer (a browser
//! must be able to open the pages); API routes then refuse them with a clear error.
//!
//! Besides the CRL read at start, the verifier refuses every certificate in the node's
//! [`Revocations`], which follow the operator's revocations within a second, so a revoked
//! certificate is refused at the next handshake without a restart. Handshakes are not the only
//! gate: a kept-alive connection or a resumed TLS session makes none, so every request checks
//! its certificate again (`auth`, `revocation`).

use std::sync::Arc;

use medgate_pki::Certificate;

use crate::revocation::Revocations;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[error("TLS setup: {0}")]
pub struct TlsSetupError(String);

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A client-certificate verifier: the tenant CA as the trust anchor, its CRL, and the node's
/// current revocations.
#[derive(Debug)]
pub struct TenantClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    hints: Vec<DistinguishedName>,
    revocations: Arc<Revocations>,
}

fn build_verifier(
    ca: &Certificate,
    crls: &[Vec<u8>],
) -> Result<Arc<dyn ClientCertVerifier>, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.der().to_vec()))
        .map_err(|e| TlsSetupError(format!("CA certificate not usable as trust anchor: {e}")))?;
    let crls: Vec<CertificateRevocationListDer<'static>> = crls
        .iter()
        .map(|der| CertificateRevocationListDer::from(der.clone()))
        .collect();
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .with_crls(crls)
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsSetupError(format!("client verifier: {e}")))
}

impl TenantClientVerifier {
    /// Trusts client certificates issued by `ca`, not revoked by `crls` (DER) nor in
    /// `revocations`.
    pub fn new(
        ca: &Certificate,
        crls: &[Vec<u8>],
        revocations: Arc<Revocations>,
    ) -> Result<Self, TlsSetupError> {
        let inner = build_verifier(ca, crls)?;
        let hints = inner.root_hint_subjects().to_vec();
        Ok(TenantClientVerifier {
            inner,
            hints,
            revocations,
        })
    }

    fn current(&self) -> &Arc<dyn ClientCertVerifier> {
        &self.inner
    }
}

impl ClientCertVerifier for TenantClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .current()
            .verify_client_cert(end_entity, intermediates, now)?;
        let serial = Certificate::from_der(end_entity.as_ref().to_vec(), std::path::Path::new("client certificate"))
            .and_then(|certificate| certificate.summary())
            .map(|summary| summary.serial_hex)
            .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))?;
        if self.revocations.revoked(&serial).is_some() {
            return Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.current().supported_verify_schemes()
    }
}

/// Builds the rustls server configuration: TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1 by ALPN,
/// the server certificate chain and key, and the client verifier.
pub fn server_config(
    chain: Vec<Certificate>,
    key_pkcs8: &[u8],
    verifier: Arc<TenantClientVerifier>,
) -> Result<rustls::ServerConfig, TlsSetupError> {
    let chain: Vec<CertificateDer<'static>> = chain
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    let key = PrivateKeyDer::Pkcs8(key_pkcs8.to_vec().into());
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError(format!("protocol versions: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsSetupError(format!("server certificate or key rejected: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
