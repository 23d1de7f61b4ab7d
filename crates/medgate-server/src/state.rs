//! What every request handler shares: the stores, the CA, the certificate revocations every
//! request is checked against, and the configuration.

use std::sync::Arc;

use medgate_pki::ca::CertificateAuthority;
use medgate_storage::{ContentStore, Metadata};

use crate::config::ServerConfig;
use crate::revocation::Revocations;

/// Shared server state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    pub metadata: Metadata,
    pub content: Arc<dyn ContentStore>,
    pub ca: Arc<CertificateAuthority>,
    pub revocations: Arc<Revocations>,
    pub config: Arc<ServerConfig>,
}
