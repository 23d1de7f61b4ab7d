//! medgate's server: the host that runs a node, and one folder per module.
//!
//! The host is `config` (TOML + environment + flags → [`config::ServerConfig`]), `startup`
//! (data folder, CA, stores, bind; the background tasks), `tls`, `listener`, `body_guard`,
//! `metrics_listener` (Prometheus `/metrics` on its own address), `readiness` (`/readyz`),
//! `revocation` (the task that keeps the revocation set fresh), `audit_checkpoint` and
//! `router` (which assembles the modules of a node's role). `startup::prepare` builds a node;
//! `PreparedServer::serve` runs it.
//!
//! The modules — `repository` (API and the administrator's desk), `registry`, `portal`,
//! `staff` — each hold their routes and handlers over their domain crate and the web
//! foundation (`medgate-web`); a module folder never imports another (a test checks it).

pub mod audit_checkpoint;
pub mod backup;
pub mod body_guard;
pub mod config;
pub mod listener;
pub mod metrics_listener;
pub mod readiness;
pub mod revocation;
pub mod router;
pub mod startup;
pub mod tls;

pub mod claims;
pub mod clinical;
pub mod portal;
pub mod registry;
pub mod repository;
pub mod staff;
