//! What every request handler shares: the stores, the CA, the certificate revocations every
//! request is checked against, and what the modules read of the node's configuration.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use medgate_ids::Oid;
use medgate_pki::ca::CertificateAuthority;
use medgate_storage::{ContentStore, Metadata, StagingArea};

use crate::budget::BodyBudget;
use crate::revocation::Revocations;

/// Shared server state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    pub metadata: Metadata,
    pub content: Arc<dyn ContentStore>,
    pub ca: Arc<CertificateAuthority>,
    pub revocations: Arc<Revocations>,
    pub node: Arc<NodeSettings>,
    /// Where uploads are streamed to before they are stored (`DATA/tmp`).
    pub staging: StagingArea,
    /// The memory budget for request bodies (the host's body guard and the handlers that
    /// read a streamed upload into memory share it).
    pub body_budget: BodyBudget,
    /// The time the modules' rules reason with (sessions, encounters, referrals); tests move
    /// it forward.
    pub clock: crate::clock::Clock,
    /// The node's metrics (`/metrics` on the host's metrics listener).
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// What the modules read of the node's configuration (the host's `ServerConfig` holds the
/// rest: where to listen, the database, the background tasks).
#[derive(Clone, Debug)]
pub struct NodeSettings {
    /// The OID arc under which this node names documents and repositories.
    pub oid_root: Oid,
    /// How old a request signature may be.
    pub signature_max_age_seconds: u64,
    /// The address clinics and the registry reach this node at, `https://host:port`.
    pub public_url: String,
    /// The key file the national credentials are encrypted with.
    pub credentials_key_file: PathBuf,
    /// The national registry a repository registers with, when configured.
    pub registry: Option<RegistryLink>,
}

/// How a repository reaches the national registry (`[registry]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryLink {
    /// `https://host:port` of the registry node.
    pub url: url::Url,
    /// The registry's CA certificate (its `REGDATA/ca/ca.pem`): the registry's server
    /// certificate and the national certificates it issues chain to it.
    pub ca_file: PathBuf,
    pub timeout: Duration,
}
