//! What the agent did: one [`Action`] per thing that happened to a file (shown to a person
//! as one line, logged as one structured event), and the [`Report`] of a pass over the
//! outbox with the counts that decide `--once`'s exit status.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;

use crate::backoff::human_delay;

/// Something that happened to one outbox file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// The outbox file name; empty for what concerns the agent as a whole (the policies,
    /// the repository being down between two retries).
    pub file: String,
    pub outcome: Outcome,
}

/// The outcomes an action can have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored by the repository (201) under `id`; the file left the outbox.
    Uploaded { id: String, type_code: String },
    /// The repository already had it (409 `document_exists`): not stored twice; the file
    /// left the outbox.
    AlreadyStored { id: String },
    /// Its type is not archived automatically; the file stays in the outbox.
    SkippedByPolicy { type_code: String },
    /// Kept locally until `until` by its type's `keep_local_days`.
    Deferred {
        type_code: String,
        keep_local_days: u32,
        until: SystemTime,
    },
    /// The repository is unreachable (or answered 5xx): the file stays, retried later.
    Waiting { reason: String, retry_in: Duration },
    /// The account's quota or file limit is reached: the file stays, retried later.
    QuotaExceeded { reason: String, retry_in: Duration },
    /// The repository refused the agent itself (certificate, signature, account status):
    /// the file stays; someone has to fix the account or the settings.
    Refused { reason: String, retry_in: Duration },
    /// Refused for good (not a valid CDA document, bad sidecar…): moved to `moved_to` with a
    /// `.reason.txt` beside it.
    Rejected { reason: String, moved_to: PathBuf },
    /// Not something the agent can upload as it is (not a CDA document and no
    /// `FILE.meta.toml` sidecar, or attachments not configured): left alone.
    NotRecognised { why: String },
    /// The file disappeared from the outbox while an upload was in progress; whether the
    /// repository has it is unknown.
    Vanished,
    /// The agent could not read, move or record the file (permissions, disk): the file
    /// stays and is tried again at every pass.
    LocalError { reason: String },
    /// The repository's policies could not be read; `using` says which are used instead.
    PolicyFallback { reason: String, using: String },
}

impl Outcome {
    /// A short stable name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Uploaded { .. } => "uploaded",
            Outcome::AlreadyStored { .. } => "already_stored",
            Outcome::SkippedByPolicy { .. } => "skipped_by_policy",
            Outcome::Deferred { .. } => "deferred",
            Outcome::Waiting { .. } => "waiting",
            Outcome::QuotaExceeded { .. } => "quota_exceeded",
            Outcome::Refused { .. } => "refused",
            Outcome::Rejected { .. } => "rejected",
            Outcome::NotRecognised { .. } => "not_recognised",
            Outcome::Vanished => "vanished",
            Outcome::LocalError { .. } => "local_error",
            Outcome::PolicyFallback { .. } => "policy_fallback",
        }
    }

    /// True for outcomes somebody has to act on (or that leave work undone).
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            Outcome::Waiting { .. }
                | Outcome::QuotaExceeded { .. }
                | Outcome::Refused { .. }
                | Outcome::Rejected { .. }
                | Outcome::Vanished
                | Outcome::LocalError { .. }
        )
    }
}

/// "2025-07-01 14:30 UTC".
pub fn human_time(at: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

fn human_system_time(at: SystemTime) -> String {
    human_time(OffsetDateTime::from(at))
}

/// One line for a person, e.g. `uploaded kif.xml as 2.16.840.1.113883.3.4424.2.7.0.7.1^2345678 (KIF)`.
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = &self.file;
        match &self.outcome {
            Outcome::Uploaded { id, type_code } => {
                write!(f, "uploaded {file} as {id} ({type_code})")
            }
            Outcome::AlreadyStored { id } => write!(
                f,
                "already stored: {file} is in the repository as {id}; not uploaded twice"
            ),
            Outcome::SkippedByPolicy { type_code } => write!(
                f,
                "skipped by policy ({type_code}: not archived automatically): {file} stays in the outbox"
            ),
            Outcome::Deferred {
                type_code,
                keep_local_days,
                until,
            } => write!(
                f,
                "deferred: {file} ({type_code}: kept locally for {keep_local_days} days, uploaded from {})",
                human_system_time(*until)
            ),
            Outcome::Waiting { reason, retry_in } => {
                let delay = human_delay(*retry_in);
                if file.is_empty() {
                    write!(f, "waiting: server unreachable, retry in {delay} ({reason})")
                } else {
                    write!(
                        f,
                        "waiting: server unreachable, retry in {delay}: {file} stays in the outbox ({reason})"
                    )
                }
            }
            Outcome::QuotaExceeded { reason, retry_in } => write!(
                f,
                "QUOTA EXCEEDED: the repository account is full ({reason}); {}retry in {}. \
                 Free space or ask the operator for a larger plan",
                stays(file),
                human_delay(*retry_in)
            ),
            Outcome::Refused { reason, retry_in } => write!(
                f,
                "REFUSED: the repository refused this agent ({reason}); {}retry in {}. \
                 Check the account and the certificates in agent.toml",
                stays(file),
                human_delay(*retry_in)
            ),
            Outcome::Rejected { reason, moved_to } => write!(
                f,
                "rejected: {file}: {reason} (moved to {})",
                moved_to.display()
            ),
            Outcome::NotRecognised { why } => {
                write!(f, "not handled: {file}: {why}; left in the outbox")
            }
            Outcome::Vanished => write!(
                f,
                "vanished: {file} was removed from the outbox during its upload; check with \
                 `medgate client search` whether the repository has it"
            ),
            Outcome::LocalError { reason } => write!(
                f,
                "error: {file} cannot be handled ({reason}); it stays in the outbox and is tried again"
            ),
            Outcome::PolicyFallback { reason, using } => {
                write!(f, "policy: {reason}; using {using}")
            }
        }
    }
}

/// "FILE stays in the outbox, " for an action about a file; nothing for the agent as a whole.
fn stays(file: &str) -> String {
    if file.is_empty() {
        String::new()
    } else {
        format!("{file} stays in the outbox, ")
    }
}

/// The result of one pass over the outbox.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// What happened in this pass, in order.
    pub actions: Vec<Action>,
    /// Files due for upload that are still in the outbox because the repository was
    /// unreachable, refused or full (tried in this pass or held back by the back-off).
    pub waiting: usize,
    /// Files kept locally by their type's `keep_local_days`.
    pub deferred: usize,
    /// Files whose type is not archived automatically.
    pub skipped: usize,
    /// Files that are neither CDA documents nor described by a sidecar.
    pub not_recognised: usize,
    /// Files still being written (not settled yet).
    pub settling: usize,
    /// Files the agent could not read, move or record.
    pub local_errors: usize,
}

impl Report {
    /// Files uploaded (201) in this pass.
    pub fn uploaded(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Uploaded { .. }))
    }

    /// Files the repository already had (409) in this pass.
    pub fn already_stored(&self) -> usize {
        self.count(|o| matches!(o, Outcome::AlreadyStored { .. }))
    }

    /// Files refused for good in this pass.
    pub fn rejected(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Rejected { .. }))
    }

    fn count(&self, predicate: impl Fn(&Outcome) -> bool) -> usize {
        self.actions
            .iter()
            .filter(|a| predicate(&a.outcome))
            .count()
    }

    /// True when something failed for good or is still waiting for the repository — what
    /// `medgate agent --once` turns into exit status 1. Files deferred or skipped by policy,
    /// still being written or without a sidecar are not failures.
    pub fn needs_attention(&self) -> bool {
        self.waiting > 0
            || self.local_errors > 0
            || self.actions.iter().any(|a| a.outcome.is_problem())
    }

    /// One line summing the pass up.
    pub fn summary(&self) -> String {
        let mut parts = vec![
            format!("{} uploaded", self.uploaded()),
            format!("{} already stored", self.already_stored()),
            format!("{} rejected", self.rejected()),
            format!("{} waiting for the repository", self.waiting),
            format!("{} deferred by policy", self.deferred),
            format!("{} skipped by policy", self.skipped),
        ];
        if self.not_recognised > 0 {
            parts.push(format!("{} not recognised", self.not_recognised));
        }
        if self.local_errors > 0 {
            parts.push(format!("{} failed locally", self.local_errors));
        }
        if self.settling > 0 {
            parts.push(format!("{} still being written", self.settling));
        }
        format!("outbox: {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(outcome: Outcome) -> Action {
        Action {
            file: "a.xml".into(),
            outcome,
        }
    }

    #[test]
    fn lines_say_what_happened() {
        assert_eq!(
            action(Outcome::Uploaded {
                id: "2.999^1".into(),
                type_code: "KIF".into()
            })
            .to_string(),
            "uploaded a.xml as 2.999^1 (KIF)"
        );
        assert_eq!(
            action(Outcome::SkippedByPolicy {
                type_code: "REC".into()
            })
            .to_string(),
            "skipped by policy (REC: not archived automatically): a.xml stays in the outbox"
        );
        let waiting = action(Outcome::Waiting {
            reason: "nothing is listening".into(),
            retry_in: Duration::from_millis(7_400),
        })
        .to_string();
        assert!(
            waiting.starts_with("waiting: server unreachable, retry in 8 s"),
            "{waiting}"
        );
        let agent_wide = Action {
            file: String::new(),
            outcome: Outcome::Waiting {
                reason: "timeout".into(),
                retry_in: Duration::from_secs(4),
            },
        };
        assert_eq!(
            agent_wide.to_string(),
            "waiting: server unreachable, retry in 4 s (timeout)"
        );
        let full = action(Outcome::QuotaExceeded {
            reason: "507 quota_exceeded: …".into(),
            retry_in: Duration::from_secs(300),
        })
        .to_string();
        assert!(
            full.starts_with("QUOTA EXCEEDED: the repository account is full (507 quota_exceeded: …); a.xml stays in the outbox, retry in 5 min."),
            "{full}"
        );
        let deferred = action(Outcome::Deferred {
            type_code: "KIF".into(),
            keep_local_days: 3,
            until: SystemTime::UNIX_EPOCH + Duration::from_secs(1_751_380_200),
        })
        .to_string();
        assert_eq!(
            deferred,
            "deferred: a.xml (KIF: kept locally for 3 days, uploaded from 2025-07-01 14:30 UTC)"
        );
    }

    #[test]
    fn only_failures_and_waiting_need_attention() {
        let mut report = Report {
            deferred: 2,
            skipped: 1,
            not_recognised: 1,
            settling: 1,
            ..Report::default()
        };
        report
            .actions
            .push(action(Outcome::AlreadyStored { id: "x".into() }));
        report.actions.push(action(Outcome::NotRecognised {
            why: "no sidecar".into(),
        }));
        assert!(!report.needs_attention());
        report.waiting = 1;
        assert!(report.needs_attention());
        report.waiting = 0;
        report.actions.push(action(Outcome::Rejected {
            reason: "bad".into(),
            moved_to: PathBuf::from("rejected/a.xml"),
        }));
        assert!(report.needs_attention());
        assert_eq!(
            report.summary(),
            "outbox: 0 uploaded, 1 already stored, 1 rejected, 0 waiting for the repository, \
             2 deferred by policy, 1 skipped by policy, 1 not recognised, 1 still being written"
        );
    }
}
