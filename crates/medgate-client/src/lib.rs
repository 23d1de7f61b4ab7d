//! The client side of the repository API: one [`RepositoryClient`] that opens mutual TLS with
//! the tenant's TLS certificate, signs every request with the WSS key (RFC 9421 over method,
//! path, `content-digest` and creation time) and turns failures into sentences a clinic's IT
//! person can act on — the seed's support catalogue seen from the client.
//!
//! The clinic's side of the clinical record service is [`clinical`]; an MO's information
//! system at a claims node is [`claims`].
//!
//! Settings come from a `client.toml` and command-line flags ([`ClientSettings`]).

pub mod batch;
pub mod claims;
pub mod clinical;
pub mod connect_check;
mod error;
pub mod registry;
mod settings;
mod transport;

pub use batch::{BatchDocument, BatchRefusal, BatchResult};
pub use error::ClientError;
pub use settings::{ClientSettings, ClientSettingsFile};
pub use registry::{RegistryClient, RegistryCredentials, RegistryError};
pub use transport::{ApiResponse, RepositoryClient};
