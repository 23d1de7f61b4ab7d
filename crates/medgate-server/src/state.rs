//! What every request handler shares: the stores, the CA, the TLS verifier that must be
//! reloaded after a revocation, and the configuration.

use std::sync::Arc;

use medgate_pki::ca::CertificateAuthority;
use medgate_storage::{ContentStore, Metadata};
use time::OffsetDateTime;

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::tls::ReloadableClientVerifier;

/// Shared server state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    pub metadata: Metadata,
    pub content: Arc<dyn ContentStore>,
    pub ca: Arc<CertificateAuthority>,
    pub verifier: Arc<ReloadableClientVerifier>,
    pub config: Arc<ServerConfig>,
}

/// How long a published CRL stays valid before the next one is due.
pub const CRL_VALIDITY: time::Duration = time::Duration::days(7);

impl AppState {
    /// Writes a fresh CRL to `DATA/ca/crl.pem` and makes the TLS layer use it, so that a
    /// revoked certificate is refused at the next handshake.
    pub fn publish_crl(&self) -> Result<(), ApiError> {
        let crl = self
            .ca
            .crl(OffsetDateTime::now_utc() + CRL_VALIDITY)
            .map_err(|e| ApiError::internal("building the CRL", &e))?;
        medgate_pki::files::write(
            &self.ca.dir().join("crl.pem"),
            crl.to_pem().as_bytes(),
            medgate_pki::files::WriteMode::Replace,
            medgate_pki::files::Visibility::Public,
        )
        .map_err(|e| ApiError::internal("writing the CRL", &e))?;
        self.verifier
            .reload(self.ca.certificate(), &[crl.der])
            .map_err(|e| ApiError::internal("reloading the client verifier", &e))
    }
}
