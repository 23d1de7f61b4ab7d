//! medgate's web foundation: what the API and the pages of every module share, so that a
//! module (repository, registry, portal, staff, and the ones to come) is only its own routes
//! and handlers over its domain crate.
//!
//! | module | owns |
//! |---|---|
//! | [`error`] | `ApiError`: status + stable code + a sentence; internal details only in the log |
//! | [`state`] | `AppState`: the stores, the CA, the revocations and the node's settings every handler reads |
//! | [`auth`] | who is calling: TLS client certificate → tenant, account state, RFC 9421 signature and replay refusal |
//! | [`api`] | `Incoming` (what authentication needs of a request), the audit entry of an action, RFC 3339 times |
//! | [`revocation`] | the in-memory revocation set every certificate is checked against on every request |
//! | [`openapi`] | checks of a module's OpenAPI document against its router and handler source, for the modules' tests |
//! | [`request`] | cookies, form bodies, `WebRequest` (method, target, headers, address, language) |
//! | [`session`] | random 32-byte session tokens in the `__Host-medgate_session` cookie (`Secure; HttpOnly; SameSite=Strict; Path=/`, no `Domain`), stored as SHA-256 only, with idle and absolute expiry |
//! | [`csrf`] | a per-session secret in a hidden field of every form (a double-submit `__Host-medgate_csrf` cookie before sign-in), checked on every POST together with `Origin` / `Sec-Fetch-Site` |
//! | [`staff`] | creating staff accounts of every desk and issuing their one-time activation codes (the CLI and the operator's pages) |
//! | [`desk`] | the staff desks (administrator, operator): the page frame with their tabs, the sign-in check of each request, their texts in Polish and English |
//! | [`password`] | Argon2id hashes, password rules, one-time activation codes |
//! | [`lockout`] | at most 5 attempts checked, then 15 minutes locked, per identity typed whether or not an account exists; each attempt counted atomically before it is checked |
//! | [`layout`] | the HTML page frame, escaping, a strict CSP (no scripts at all; the one inline style allowed by its hash) |
//! | [`i18n`] | Polish and English texts, `?lang=` switch remembered in a cookie |
//! | [`stored_file`] | the one way a stored document's bytes leave the node as a file: an attachment under the sandbox CSP, its own media type only when it is safe to render |
//! | [`upload`] | `multipart/form-data` file uploads (certificates, keystores) with their text fields as a `Form` |
//! | [`streamed`] | API uploads streamed to a staged file in `DATA/tmp` while hashed, within the route's limit, never held whole in memory |
//! | [`metrics`] | the node's Prometheus series (requests by route template, latency, the writer, the pool, content errors, the audit chain, sign-in refusals and lock-outs, certificate expiry, quota use) and their exposition; modules add counters by name |
//! | [`budget`] | the node's memory budget for request bodies, with each account's share |
//!
//! Pages are plain `format!` over [`layout::escape`]d values: every value that did not come
//! from a crate's own literals goes through `escape` before it is written.

pub mod api;
pub mod auth;
pub mod budget;
pub mod clock;
pub mod csrf;
pub mod desk;
pub mod error;
pub mod i18n;
pub mod layout;
pub mod lockout;
pub mod metrics;
pub mod openapi;
pub mod password;
pub mod request;
pub mod revocation;
pub mod session;
pub mod staff;
pub mod state;
pub mod stored_file;
pub mod streamed;
pub mod upload;

pub use api::rfc3339;
pub use error::ApiError;
pub use request::{cookie, Form, WebRequest, MAX_FORM_BYTES};
pub use state::AppState;

use std::net::SocketAddr;
use std::sync::Arc;

/// What the TLS layer knows about the peer, attached to each request by the host's listener.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// The client's end-entity certificate (DER), when it presented one that the tenant CA
    /// verified.
    pub client_certificate: Option<Arc<Vec<u8>>>,
    /// The client's address.
    pub address: SocketAddr,
    /// Negotiated TLS version, e.g. `TLSv1_3`.
    pub tls_version: String,
}

/// The current time in whole seconds, as the stores keep times.
pub fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}
