//! What stops the agent as a whole (as opposed to one file's outcome, which is an
//! [`Outcome`](crate::Outcome) in the report): unusable settings and an unusable disk.

use std::path::{Path, PathBuf};

use medgate_client::ClientError;

/// A failure of the agent itself, already explained for the clinic's IT person.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// `agent.toml` is missing, malformed or names something unusable.
    #[error("{0}")]
    Config(String),
    /// The client settings (certificates, keys, CA) are unusable.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A file or folder of the outbox or the state folder could not be used.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    /// Another agent already works on this outbox; two would race on the journal.
    #[error(
        "another medgate agent is already working with the state folder {} (it holds {}); \
         stop it first",
        state_dir.display(),
        lock.display()
    )]
    Locked { state_dir: PathBuf, lock: PathBuf },
}

impl AgentError {
    /// A closure for `map_err` that records which path and action failed.
    pub(crate) fn io(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| AgentError::Io {
            path,
            action,
            source,
        }
    }
}
