//! The archiving agent that runs at the clinic: it watches an outbox folder where the clinic
//! software drops CDA documents and attachments, and uploads each to the tenant's repository
//! according to its document type's policy — at once, after the type's "keep locally for N
//! days", or never — retrying with back-off while the repository is unreachable, and never
//! losing or duplicating a document.
//!
//! # Use
//!
//! ```no_run
//! # async fn example() -> Result<(), medgate_agent::AgentError> {
//! use medgate_agent::{Agent, AgentConfig};
//!
//! let config = AgentConfig::load(std::path::Path::new("agent.toml"))?;
//! let mut agent = Agent::new(config)?;
//! agent.on_action(|action| println!("{action}"));
//! let report = agent.run_once().await?;          // one pass, as `medgate agent --once`
//! println!("{}", report.summary());
//! // Then keep watching until `shutdown` completes (the command passes Ctrl-C or SIGTERM).
//! let shutdown = std::future::pending::<()>();
//! agent.run(shutdown).await?;
//! # Ok(()) }
//! ```
//!
//! # What happens to a file
//!
//! 1. **Pick-up.** Regular files directly in the outbox, once unmodified for the settle time
//!    (one poll interval by default); see [`outbox`] for the names that are
//!    ignored and for writing files atomically.
//! 2. **Classification.** A file with a sidecar `FILE.meta.toml` (patient, title, type,
//!    optional content type) is an attachment, with the id `ATTACHMENT_OID_ROOT^sha256` so
//!    that the same bytes are always the same attachment. Any other file that starts like XML
//!    must be a CDA document: it is parsed and typed by the [`TypeMap`] (P1 class or LOINC
//!    code → catalogue type); one that does not parse is rejected. Anything else is left alone
//!    and reported once.
//! 3. **Policy.** The type's policy ([`PolicyBook`]: the repository's, the last known copy,
//!    or the built-in defaults) decides: not archived automatically → skipped, the file stays
//!    in the outbox; archived after N days → kept in the outbox until N days after it was
//!    dropped (its modification time), then uploaded. The outbox is the local copy that the
//!    seed's "keep locally for N days" speaks of: the agent keeps no second one. Policies
//!    are applied afresh at every pass, so a type the tenant switches to "archive" later has
//!    its waiting and skipped files uploaded then.
//! 4. **Upload** with mutual TLS and a signed request. 201 and 409 `document_exists` both
//!    mean stored: the file (and its sidecar) leaves the outbox. 400 `invalid_cda` and other
//!    refusals of the document move it to `rejected/` with a `.reason.txt`. An unreachable
//!    repository or 5xx: the file stays and is retried with exponential back-off (1 s doubling
//!    to 5 min, with jitter). 507 `quota_exceeded`/`file_limit_reached` and refusals of the
//!    agent itself (certificates, account): the file stays, reported loudly, retried with the
//!    same back-off.
//!
//! Every step is recorded first in the [`journal`] (one small file per
//! document, fsync + rename), so a crash at any moment — SIGKILL mid-upload included — is
//! resumed at the next start without a loss or a duplicate.
//!
//! # Boundaries
//!
//! The agent talks to the repository only through `medgate-client` and knows nothing about
//! the server's storage; it reads CDA headers with `medgate-cda`. Its state is plain files in
//! its state folder (`OUTBOX/.medgate-agent` by default): `journal/*.json`, `policy.json`
//! and `lock`.

mod agent;
mod backoff;
mod classify;
mod config;
mod error;
pub mod journal;
pub mod outbox;
mod policy;
mod report;

pub use agent::Agent;
pub use backoff::{human_delay, Backoff, INITIAL_DELAY, MAX_DELAY};
pub use classify::{TypeMap, ATTACHMENT_TYPE, DEFAULT_TYPE};
pub use config::{AgentConfig, DEFAULT_POLL_SECONDS};
pub use error::AgentError;
pub use policy::{decide, Decision, PolicyBook, PolicySource, TypePolicy};
pub use report::{Action, Outcome, Report};
