//! The agent itself: one pass over the outbox ([`Agent::run_once`]) — classify each settled
//! file, apply its type's policy, upload, then remove or set aside — and the loop that
//! repeats it until shutdown ([`Agent::run`]).
//!
//! # The invariants
//!
//! - A file leaves the outbox only after the repository answered 201 (stored) or 409
//!   `document_exists` (already stored), or when it is moved to `rejected/`. Nothing else
//!   deletes or moves a file.
//! - Before every request the journal says `uploading`; after the answer it says `uploaded`
//!   before the file is removed. A crash at any point therefore leads, at the next start, to
//!   either the removal being finished or the request being repeated, and a repeated request
//!   is answered 409 `document_exists`: never a loss, never a duplicate.
//! - An attachment's id is derived from its content (`ATTACHMENT_OID_ROOT^sha256`), so the
//!   same bytes are recognised as already stored whatever the file is called.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::Method;
use medgate_client::{ApiResponse, BatchDocument, BatchResult, ClientError, RepositoryClient};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::backoff::Backoff;
use crate::classify::ATTACHMENT_TYPE;
use crate::config::AgentConfig;
use crate::error::AgentError;
use crate::journal::{sha256_hex, Entry, Item, Journal, Kind, Stage};
use crate::outbox::{
    self, fingerprint_of, guess_content_type, is_settled, looks_like_xml, move_into, read_sidecar,
    remove_durably, sidecar_path, write_atomically, Candidate,
};
use crate::policy::{decide, Decision, PolicyBook, PolicySource, TypePolicy};
use crate::report::{human_time, Action, Outcome, Report};

/// The shortest pause of [`Agent::run`] between passes, so that a back-off ending "now" does
/// not make the loop spin.
const MIN_PAUSE: Duration = Duration::from_millis(200);

/// Why the repository is not being tried at the moment (for all files at once).
#[derive(Clone, Debug)]
enum ServerProblem {
    Unreachable(String),
    Quota(String),
    Refused(String),
}

impl ServerProblem {
    fn outcome(&self, retry_in: Duration) -> Outcome {
        match self {
            ServerProblem::Unreachable(reason) => Outcome::Waiting {
                reason: reason.clone(),
                retry_in,
            },
            ServerProblem::Quota(reason) => Outcome::QuotaExceeded {
                reason: reason.clone(),
                retry_in,
            },
            ServerProblem::Refused(reason) => Outcome::Refused {
                reason: reason.clone(),
                retry_in,
            },
        }
    }
}

/// What the repository's answer to an upload means for the file.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// 201, or 409 `document_exists`.
    Stored { id: String, already_stored: bool },
    /// Try again later: the repository is unreachable (`server_down`) or failed on this
    /// request (5xx).
    Retry { reason: String, server_down: bool },
    /// The account is full.
    Quota(String),
    /// The repository refuses the agent itself (certificates, signature, account).
    Refused(String),
    /// The repository refuses this file for good.
    Reject(String),
}

/// Words in an error code that say the request's sender, not the document, is at fault:
/// such refusals keep the file and wait for the account or settings to be fixed.
const CALLER_WORDS: &[&str] = &[
    "certificate",
    "signature",
    "tenant",
    "account",
    "digest",
    "replay",
    "key_usage",
];

fn judge(result: Result<ApiResponse, ClientError>, local_id: &str) -> Verdict {
    let error = match result {
        Ok(response) => {
            #[derive(Deserialize)]
            struct Created {
                document: CreatedDocument,
            }
            #[derive(Deserialize)]
            struct CreatedDocument {
                id: String,
            }
            // The repository's id is the one to report; the local one is the same by
            // construction and only used if the answer lacks it.
            let id = serde_json::from_slice::<Created>(&response.body)
                .map(|created| created.document.id)
                .unwrap_or_else(|_| local_id.to_owned());
            return Verdict::Stored {
                id,
                already_stored: false,
            };
        }
        Err(error) => error,
    };
    let reason = error.to_string();
    match &error {
        ClientError::Api { code, .. } if code == "document_exists" => Verdict::Stored {
            id: local_id.to_owned(),
            already_stored: true,
        },
        ClientError::Api { status, code, .. }
            if *status == 507 || code == "quota_exceeded" || code == "file_limit_reached" =>
        {
            Verdict::Quota(reason)
        }
        ClientError::Connection(_) | ClientError::Timeout { .. } => Verdict::Retry {
            reason,
            server_down: true,
        },
        ClientError::Api { .. } if error.is_retryable() => Verdict::Retry {
            reason,
            server_down: false,
        },
        ClientError::Api { status, code, .. }
            if matches!(status, 400 | 409 | 413 | 415 | 422)
                && !CALLER_WORDS.iter().any(|word| code.contains(word)) =>
        {
            Verdict::Reject(reason)
        }
        // 401, 403, 404 (an older repository without the route) and the like: not the
        // document's fault, so the file stays.
        ClientError::Api { .. } | ClientError::Settings(_) => Verdict::Refused(reason),
    }
}

/// One document's answer in a batch, read as [`judge`] reads a single upload's.
fn judge_part(result: BatchResult, local_id: &str) -> Verdict {
    match (result.document, result.error) {
        (Some(document), _) => Verdict::Stored {
            id: document["id"].as_str().unwrap_or(local_id).to_owned(),
            already_stored: false,
        },
        (None, Some(refusal)) => judge(Err(refusal.into_error()), local_id),
        (None, None) => Verdict::Refused(
            "the repository's answer for this document says neither stored nor refused".to_owned(),
        ),
    }
}

/// A file journalled as `uploading`, with what is sent.
struct Ready {
    entry: Entry,
    item: Item,
    bytes: Vec<u8>,
}

/// Receives every action as it happens.
type Reporter = Box<dyn FnMut(&Action) + Send>;

/// The archiving agent of one outbox.
pub struct Agent {
    config: AgentConfig,
    client: RepositoryClient,
    journal: Journal,
    policies: PolicyBook,
    /// When the policies were last asked for (successfully or with an answer that will not
    /// change soon, such as 404 from an older repository).
    policies_checked: Option<Instant>,
    policy_fallback_reported: bool,
    /// The back-off of the repository as a whole (unreachable, full, refusing).
    server: Backoff,
    server_problem: Option<ServerProblem>,
    /// The back-off of each file that failed on its own (5xx for that request).
    files: HashMap<String, Backoff>,
    /// Files already reported as waiting during the current problem (one line each).
    announced: HashSet<String>,
    warned_names: HashSet<PathBuf>,
    /// Files that failed with a local error, reported once until they succeed.
    failing: HashSet<String>,
    rng: fastrand::Rng,
    reporter: Option<Reporter>,
    /// CDA documents of the current pass journalled as `uploading`, sent together in
    /// batches at the end of the pass.
    ready: Vec<(Candidate, Ready)>,
    /// Held for the agent's lifetime: the flock that keeps a second agent away.
    _lock: File,
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Agent {
    /// Prepares the agent: checks the outbox, creates and locks the state folder, loads the
    /// certificates and keys, reads the journal and the last known policies.
    pub fn new(config: AgentConfig) -> Result<Agent, AgentError> {
        if !config.outbox.is_dir() {
            return Err(AgentError::Config(format!(
                "the outbox {} is not an existing folder (create it, or correct [agent] outbox)",
                config.outbox.display()
            )));
        }
        fs::create_dir_all(&config.state_dir).map_err(AgentError::io(
            &config.state_dir,
            "creating the state folder",
        ))?;
        let lock = lock_state_dir(&config.state_dir)?;
        let client = RepositoryClient::new(&config.client)?;
        let journal = Journal::open(&config.state_dir.join("journal"))?;
        let policies = match PolicyBook::load_cache(&policy_cache_path(&config.state_dir)) {
            Ok(Some(book)) => book,
            Ok(None) => PolicyBook::built_in(),
            Err(error) => {
                tracing::warn!(%error, "policy cache unusable; starting from the built-in defaults");
                PolicyBook::built_in()
            }
        };
        Ok(Agent {
            config,
            client,
            journal,
            policies,
            policies_checked: None,
            policy_fallback_reported: false,
            server: Backoff::default(),
            server_problem: None,
            files: HashMap::new(),
            announced: HashSet::new(),
            warned_names: HashSet::new(),
            failing: HashSet::new(),
            rng: fastrand::Rng::new(),
            reporter: None,
            ready: Vec::new(),
            _lock: lock,
        })
    }

    /// Calls `reporter` with every action as it happens (the `medgate agent` command prints
    /// them), in addition to collecting them in the pass's [`Report`].
    pub fn on_action(&mut self, reporter: impl FnMut(&Action) + Send + 'static) {
        self.reporter = Some(Box::new(reporter));
    }

    /// The configuration in use.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// Where the policies in use come from.
    pub fn policy_source(&self) -> &PolicySource {
        self.policies.source()
    }

    /// Runs passes over the outbox every poll interval (sooner when a retry is due) until
    /// `shutdown` completes. A pass interrupted by shutdown in the middle of an upload is
    /// safe: the journal says `uploading` and the next start repeats the request.
    pub async fn run(&mut self, shutdown: impl Future<Output = ()>) -> Result<(), AgentError> {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => return Ok(()),
                result = self.run_once() => {
                    if let Err(error) = result {
                        tracing::error!(%error, "the pass over the outbox failed; trying again at the next poll");
                    }
                }
            }
            let pause = self.next_pause();
            tokio::select! {
                biased;
                () = &mut shutdown => return Ok(()),
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    fn next_pause(&self) -> Duration {
        let now = Instant::now();
        let mut pause = self.config.poll_interval;
        let retries = self
            .files
            .values()
            .chain(std::iter::once(&self.server))
            .filter_map(Backoff::next_attempt);
        for at in retries {
            pause = pause.min(at.saturating_duration_since(now));
        }
        pause.max(MIN_PAUSE)
    }

    /// One pass: refreshes the policies when due, then handles every file of the outbox once
    /// (at most one upload attempt each) and returns what happened.
    pub async fn run_once(&mut self) -> Result<Report, AgentError> {
        let mut report = Report::default();
        self.refresh_policies(&mut report).await;
        let scan = outbox::scan(&self.config.outbox)
            .map_err(AgentError::io(&self.config.outbox, "reading the outbox"))?;
        for path in scan.unreadable_names {
            if self.warned_names.insert(path.clone()) {
                tracing::warn!(path = %path.display(), "file name is not valid UTF-8; rename it to have it uploaded");
            }
        }
        let present: HashSet<&str> = scan.candidates.iter().map(|c| c.name.as_str()).collect();
        let gone: Vec<Entry> = self
            .journal
            .entries()
            .filter(|entry| !present.contains(entry.file.as_str()))
            .cloned()
            .collect();
        for entry in gone {
            self.forget(entry, &mut report)?;
        }
        for candidate in &scan.candidates {
            // One file the agent cannot read or move (permissions, a disk error) must not
            // hold up the others: it is reported once and tried again at every pass.
            match self.process(candidate, &mut report).await {
                Ok(()) => {
                    self.failing.remove(&candidate.name);
                }
                Err(error) => {
                    report.local_errors += 1;
                    if self.failing.insert(candidate.name.clone()) {
                        self.emit(
                            &mut report,
                            Action {
                                file: candidate.name.clone(),
                                outcome: Outcome::LocalError {
                                    reason: error.to_string(),
                                },
                            },
                        );
                    }
                }
            }
        }
        self.send_ready(&mut report).await;
        Ok(report)
    }

    /// Fetches the tenant's policies when due and the repository is not known to be down.
    async fn refresh_policies(&mut self, report: &mut Report) {
        let now = Instant::now();
        let due = self
            .policies_checked
            .is_none_or(|at| now.duration_since(at) >= self.config.policy_refresh);
        if !due || !self.server.ready(now) {
            return;
        }
        let result = self
            .client
            .send(Method::GET, "/api/v1/document-types", None)
            .await;
        let problem = match result {
            Ok(response) => {
                match PolicyBook::from_repository(&response.body, OffsetDateTime::now_utc()) {
                    Ok(book) => {
                        if let Err(error) =
                            book.save_cache(&policy_cache_path(&self.config.state_dir))
                        {
                            tracing::warn!(%error, "could not keep a copy of the policies for offline use");
                        }
                        tracing::debug!(source = %book.source(), "document type policies fetched");
                        self.policies = book;
                        self.policies_checked = Some(now);
                        self.policy_fallback_reported = false;
                        self.repository_reachable();
                        return;
                    }
                    Err(reason) => {
                        self.policies_checked = Some(now);
                        reason
                    }
                }
            }
            Err(error) => {
                let reason = error.to_string();
                match &error {
                    ClientError::Connection(_) | ClientError::Timeout { .. } => {
                        self.policy_fetch_failed(
                            ServerProblem::Unreachable(reason.clone()),
                            report,
                        );
                        format!("the repository could not be reached ({reason})")
                    }
                    // The account or the certificates are refused: uploads would be too.
                    ClientError::Api {
                        status: 400 | 401 | 403,
                        ..
                    } => {
                        self.policy_fetch_failed(ServerProblem::Refused(reason.clone()), report);
                        format!("the repository refused to list the document types ({reason})")
                    }
                    _ => {
                        // 404 from an older repository, 5xx: the answer will not change in
                        // the next seconds; ask again at the next refresh.
                        self.policies_checked = Some(now);
                        format!("the repository did not list the document types ({reason})")
                    }
                }
            }
        };
        if !self.policy_fallback_reported {
            self.policy_fallback_reported = true;
            let using = self.policies.source().to_string();
            self.emit(
                report,
                Action {
                    file: String::new(),
                    outcome: Outcome::PolicyFallback {
                        reason: problem,
                        using,
                    },
                },
            );
        }
    }

    /// The policy request found the repository down or refusing. The first time the
    /// fallback line says so; at every later retry of an outage one line says when the next
    /// is, so that a watching agent shows its back-off (1 s, 2 s, 4 s … 5 min).
    fn policy_fetch_failed(&mut self, problem: ServerProblem, report: &mut Report) {
        let retry_in = self.server_failed(problem.clone());
        if self.policy_fallback_reported {
            let outcome = problem.outcome(retry_in);
            self.emit(
                report,
                Action {
                    file: String::new(),
                    outcome,
                },
            );
        }
    }

    /// Records that the repository as a whole failed; returns the wait before trying again.
    fn server_failed(&mut self, problem: ServerProblem) -> Duration {
        let delay = self.server.fail(Instant::now(), self.rng.f64());
        self.server_problem = Some(problem);
        delay
    }

    /// Clears the repository-wide back-off after a success.
    fn repository_reachable(&mut self) {
        self.server.succeed();
        self.server_problem = None;
        self.announced.clear();
    }

    /// A journal entry whose file is no longer in the outbox.
    fn forget(&mut self, entry: Entry, report: &mut Report) -> Result<(), AgentError> {
        let outcome = match &entry.stage {
            // Removed by this agent, which then stopped before noting it.
            Stage::Uploaded { id, already_stored } => {
                Some(stored_outcome(&entry, id, *already_stored))
            }
            Stage::Rejected { reason } => Some(Outcome::Rejected {
                reason: reason.clone(),
                moved_to: self.config.rejected_dir.clone(),
            }),
            Stage::Uploading => Some(Outcome::Vanished),
            Stage::Pending { .. } | Stage::Skipped | Stage::Unrecognised => {
                tracing::info!(file = %entry.file, stage = entry.stage.name(), "removed from the outbox by someone else; forgotten");
                None
            }
        };
        self.journal.remove(&entry.file)?;
        self.files.remove(&entry.file);
        self.announced.remove(&entry.file);
        if let Some(outcome) = outcome {
            self.emit(
                report,
                Action {
                    file: entry.file,
                    outcome,
                },
            );
        }
        Ok(())
    }

    async fn process(
        &mut self,
        candidate: &Candidate,
        report: &mut Report,
    ) -> Result<(), AgentError> {
        let known = self.journal.get(&candidate.name).cloned();
        let mut entry = match known {
            Some(entry) if entry.fingerprint == candidate.fingerprint => entry,
            other => {
                if other.is_some() {
                    // The same name with a different size or time: the clinic replaced the
                    // file. What was journalled for the old content is finished or moot; the
                    // new content starts afresh.
                    tracing::info!(file = %candidate.name, "file replaced in the outbox; handled as a new file");
                    self.journal.remove(&candidate.name)?;
                    self.files.remove(&candidate.name);
                }
                match self.classify(candidate, report)? {
                    Some(entry) => entry,
                    None => return Ok(()),
                }
            }
        };
        if entry.stage == Stage::Unrecognised {
            let sidecar_arrived =
                sidecar_path(&candidate.path).exists() && self.config.attachment_oid_root.is_some();
            if !sidecar_arrived {
                report.not_recognised += 1;
                return Ok(());
            }
            self.journal.remove(&candidate.name)?;
            entry = match self.classify(candidate, report)? {
                Some(entry) => entry,
                None => return Ok(()),
            };
        }
        match entry.stage.clone() {
            Stage::Unrecognised => {
                report.not_recognised += 1;
                Ok(())
            }
            Stage::Rejected { reason } => self.finish_rejection(candidate, entry, reason, report),
            Stage::Uploaded { .. } => self.finish_upload(candidate, entry, report),
            // A request may already have reached the repository: repeat it whatever the
            // policy says now; the answer is 201 or 409, never a duplicate.
            Stage::Uploading => self.upload(candidate, entry, report).await,
            Stage::Pending { .. } | Stage::Skipped => {
                self.apply_policy(candidate, entry, report).await
            }
        }
    }

    /// Reads a settled file and records what it is; `None` while it is still being written.
    fn classify(
        &mut self,
        candidate: &Candidate,
        report: &mut Report,
    ) -> Result<Option<Entry>, AgentError> {
        let now = SystemTime::now();
        let settle = self.config.settle_time;
        if !is_settled(candidate.modified, now, settle) {
            report.settling += 1;
            return Ok(None);
        }
        let sidecar = sidecar_path(&candidate.path);
        let sidecar_modified = match fingerprint_of(&sidecar) {
            Ok((_, modified)) => Some(modified),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(AgentError::io(&sidecar, "reading the sidecar")(error)),
        };
        if sidecar_modified.is_some_and(|modified| !is_settled(modified, now, settle)) {
            report.settling += 1;
            return Ok(None);
        }
        let bytes = match fs::read(&candidate.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(AgentError::io(&candidate.path, "reading")(error)),
        };
        // Changed while being read: a writer is still at work.
        match fingerprint_of(&candidate.path) {
            Ok((fingerprint, _)) if fingerprint == candidate.fingerprint => {}
            _ => {
                report.settling += 1;
                return Ok(None);
            }
        }
        let sha256 = sha256_hex(&bytes);
        let mut not_recognised_because = None;
        let (stage, item) = if sidecar_modified.is_some() {
            match &self.config.attachment_oid_root {
                Some(root) => {
                    match self.attachment_item(&sidecar, candidate, root.as_str(), sha256) {
                        Ok(item) => (Stage::Pending { not_before: None }, Some(item)),
                        Err(reason) => (Stage::Rejected { reason }, None),
                    }
                }
                None => {
                    not_recognised_because = Some(format!(
                        "{}.meta.toml describes it as an attachment, but [agent] attachment_oid_root \
                         is not set in agent.toml",
                        candidate.name
                    ));
                    (Stage::Unrecognised, None)
                }
            }
        } else if looks_like_xml(&bytes) {
            match medgate_cda::parse(&bytes) {
                Ok(header) => {
                    let item = Item {
                        sha256,
                        document_id: header.id.to_string(),
                        type_code: self.config.type_map.type_of(&header),
                        kind: Kind::Cda,
                    };
                    (Stage::Pending { not_before: None }, Some(item))
                }
                Err(error) => (
                    Stage::Rejected {
                        reason: format!("not a valid CDA document: {error}"),
                    },
                    None,
                ),
            }
        } else {
            not_recognised_because = Some(format!(
                "not a CDA document, and no {}.meta.toml sidecar (patient, title, type) describes it \
                 as an attachment",
                candidate.name
            ));
            (Stage::Unrecognised, None)
        };
        let entry = Entry {
            file: candidate.name.clone(),
            fingerprint: candidate.fingerprint,
            item,
            stage,
            attempts: 0,
            updated: 0,
        };
        self.journal.put(entry.clone())?;
        if let Some(why) = not_recognised_because {
            self.emit(
                report,
                Action {
                    file: candidate.name.clone(),
                    outcome: Outcome::NotRecognised { why },
                },
            );
        }
        Ok(Some(entry))
    }

    fn attachment_item(
        &self,
        sidecar: &Path,
        candidate: &Candidate,
        root: &str,
        sha256: String,
    ) -> Result<Item, String> {
        let description = read_sidecar(sidecar)?;
        let type_code = description
            .type_code
            .unwrap_or_else(|| ATTACHMENT_TYPE.to_owned());
        if !self.policies.knows(&type_code) {
            return Err(format!(
                "{}.meta.toml: type '{type_code}' is not a document type code (see `medgate client types list`)",
                candidate.name
            ));
        }
        let content_type = description
            .content_type
            .unwrap_or_else(|| guess_content_type(&candidate.name).to_owned());
        Ok(Item {
            document_id: format!("{root}^{sha256}"),
            sha256,
            type_code,
            kind: Kind::Attachment {
                patient: description.patient,
                title: description.title,
                content_type,
            },
        })
    }

    fn policy_of(&self, code: &str) -> TypePolicy {
        self.policies.get(code).unwrap_or_else(|| {
            // Codes are checked against the catalogue when configured or read; this only
            // happens with a journal written by another version. Archiving is the safe side.
            TypePolicy {
                code: code.to_owned(),
                name: code.to_owned(),
                archive_automatically: true,
                keep_local_days: 0,
            }
        })
    }

    async fn apply_policy(
        &mut self,
        candidate: &Candidate,
        mut entry: Entry,
        report: &mut Report,
    ) -> Result<(), AgentError> {
        let Some(item) = entry.item.clone() else {
            // A pending entry always has an item; one without is from a foreign version.
            self.journal.remove(&entry.file)?;
            return Ok(());
        };
        let policy = self.policy_of(&item.type_code);
        match decide(&policy, candidate.modified, SystemTime::now()) {
            Decision::Skip => {
                report.skipped += 1;
                if entry.stage != Stage::Skipped {
                    entry.stage = Stage::Skipped;
                    self.journal.put(entry)?;
                    self.emit(
                        report,
                        Action {
                            file: candidate.name.clone(),
                            outcome: Outcome::SkippedByPolicy {
                                type_code: item.type_code,
                            },
                        },
                    );
                }
                Ok(())
            }
            Decision::Defer { until } => {
                report.deferred += 1;
                let stage = Stage::Pending {
                    not_before: Some(unix_seconds(until)),
                };
                if entry.stage != stage {
                    entry.stage = stage;
                    self.journal.put(entry)?;
                    self.emit(
                        report,
                        Action {
                            file: candidate.name.clone(),
                            outcome: Outcome::Deferred {
                                type_code: item.type_code,
                                keep_local_days: policy.keep_local_days,
                                until,
                            },
                        },
                    );
                }
                Ok(())
            }
            Decision::Upload => self.upload(candidate, entry, report).await,
        }
    }

    /// Uploads one file now, or, for a CDA document, journals it as `uploading` and keeps
    /// it for the batches sent at the end of the pass ([`Agent::send_ready`]).
    async fn upload(
        &mut self,
        candidate: &Candidate,
        entry: Entry,
        report: &mut Report,
    ) -> Result<(), AgentError> {
        let Some(ready) = self.prepare_upload(candidate, entry, report)? else {
            return Ok(());
        };
        if matches!(ready.item.kind, Kind::Cda) {
            self.ready.push((candidate.clone(), ready));
            // A full batch goes now: the pass never holds more than one batch in memory.
            let bytes: usize = self.ready.iter().map(|(_, r)| r.bytes.len()).sum();
            if self.ready.len() >= medgate_client::batch::BATCH_DOCUMENTS
                || bytes >= medgate_client::batch::BATCH_BYTES
            {
                self.send_ready(report).await;
            }
            return Ok(());
        }
        let Ready { entry, item, bytes } = ready;
        let result = self.send_one(&item, bytes).await;
        let verdict = judge(result, &item.document_id);
        self.conclude(candidate, entry, verdict, report)
    }

    /// Checks that the repository and the file may be tried now, reads the file, and
    /// journals the attempt; `None` when the file waits (or was handled otherwise).
    fn prepare_upload(
        &mut self,
        candidate: &Candidate,
        mut entry: Entry,
        report: &mut Report,
    ) -> Result<Option<Ready>, AgentError> {
        let Some(item) = entry.item.clone() else {
            self.journal.remove(&entry.file)?;
            return Ok(None);
        };
        let now = Instant::now();
        if !self.server.ready(now) {
            report.waiting += 1;
            if self.announced.insert(candidate.name.clone()) {
                if let Some(problem) = &self.server_problem {
                    let outcome = problem.outcome(self.server.remaining(now));
                    self.emit(
                        report,
                        Action {
                            file: candidate.name.clone(),
                            outcome,
                        },
                    );
                }
            }
            return Ok(None);
        }
        if self
            .files
            .get(&candidate.name)
            .is_some_and(|b| !b.ready(now))
        {
            report.waiting += 1;
            return Ok(None);
        }
        let bytes = match fs::read(&candidate.path) {
            Ok(bytes) => bytes,
            // Gone since the scan: the next pass forgets it.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(AgentError::io(&candidate.path, "reading")(error)),
        };
        if sha256_hex(&bytes) != item.sha256 {
            // Rewritten in place without a new size or time (rare): start over with what is
            // there now.
            tracing::info!(file = %candidate.name, "content changed since it was classified; handled as a new file");
            self.journal.remove(&candidate.name)?;
            return Ok(None);
        }
        entry.stage = Stage::Uploading;
        entry.attempts = entry.attempts.saturating_add(1);
        self.journal.put(entry.clone())?;
        tracing::info!(file = %candidate.name, id = %item.document_id, attempt = entry.attempts, "uploading");
        Ok(Some(Ready { entry, item, bytes }))
    }

    /// Sends the CDA documents kept during the pass, in batches (`POST
    /// /api/v1/documents/batch`, each stored or refused on its own), and concludes each
    /// file. A repository without batches gets them one request each.
    async fn send_ready(&mut self, report: &mut Report) {
        let ready = std::mem::take(&mut self.ready);
        for mut batch in medgate_client::batch::batches(ready, |(_, r)| r.bytes.len()) {
            // The bytes move into the request; the journal entries stay for the verdicts.
            let documents: Vec<BatchDocument> = batch
                .iter_mut()
                .map(|(candidate, r)| BatchDocument {
                    filename: candidate.name.clone(),
                    bytes: std::mem::take(&mut r.bytes),
                })
                .collect();
            let verdicts: Vec<Verdict> = match self.client.put_batch(&documents).await {
                Ok(results) => batch
                    .iter()
                    .zip(results)
                    .map(|((_, r), result)| judge_part(result, &r.item.document_id))
                    .collect(),
                Err(ClientError::Api { status: 404 | 405, .. }) => {
                    let mut verdicts = Vec::new();
                    for ((_, r), document) in batch.iter().zip(documents) {
                        let result = self.send_one(&r.item, document.bytes).await;
                        verdicts.push(judge(result, &r.item.document_id));
                    }
                    verdicts
                }
                // The batch as a whole failed: each of its files failed the same way.
                Err(error) => batch
                    .iter()
                    .map(|(_, r)| judge(Err(error.clone()), &r.item.document_id))
                    .collect(),
            };
            for ((candidate, ready), verdict) in batch.into_iter().zip(verdicts) {
                if let Err(error) = self.conclude(&candidate, ready.entry, verdict, report) {
                    report.local_errors += 1;
                    if self.failing.insert(candidate.name.clone()) {
                        self.emit(
                            report,
                            Action {
                                file: candidate.name.clone(),
                                outcome: Outcome::LocalError {
                                    reason: error.to_string(),
                                },
                            },
                        );
                    }
                }
            }
        }
    }

    /// One upload request for one file.
    async fn send_one(&self, item: &Item, bytes: Vec<u8>) -> Result<ApiResponse, ClientError> {
        match &item.kind {
            Kind::Cda => {
                self.client
                    .send(
                        Method::POST,
                        "/api/v1/documents",
                        Some((bytes, "application/xml")),
                    )
                    .await
            }
            Kind::Attachment {
                patient,
                title,
                content_type,
            } => {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("patient", patient)
                    .append_pair("title", title)
                    .append_pair("type", &item.type_code)
                    .append_pair("id", &item.document_id)
                    .finish();
                self.client
                    .send(
                        Method::POST,
                        &format!("/api/v1/attachments?{query}"),
                        Some((bytes, content_type)),
                    )
                    .await
            }
        }
    }

    /// What the repository's answer means for the file: done, rejected, or wait.
    fn conclude(
        &mut self,
        candidate: &Candidate,
        mut entry: Entry,
        verdict: Verdict,
        report: &mut Report,
    ) -> Result<(), AgentError> {
        match verdict {
            Verdict::Stored { id, already_stored } => {
                self.repository_reachable();
                self.files.remove(&candidate.name);
                entry.stage = Stage::Uploaded { id, already_stored };
                self.journal.put(entry.clone())?;
                self.finish_upload(candidate, entry, report)
            }
            Verdict::Reject(reason) => {
                self.repository_reachable();
                self.files.remove(&candidate.name);
                entry.stage = Stage::Rejected {
                    reason: reason.clone(),
                };
                self.journal.put(entry.clone())?;
                self.finish_rejection(candidate, entry, reason, report)
            }
            Verdict::Retry {
                reason,
                server_down,
            } => {
                report.waiting += 1;
                let file_delay = self
                    .files
                    .entry(candidate.name.clone())
                    .or_default()
                    .fail(Instant::now(), self.rng.f64());
                let delay = if server_down {
                    file_delay.max(self.server_failed(ServerProblem::Unreachable(reason.clone())))
                } else {
                    file_delay
                };
                self.announced.insert(candidate.name.clone());
                self.emit(
                    report,
                    Action {
                        file: candidate.name.clone(),
                        outcome: Outcome::Waiting {
                            reason,
                            retry_in: delay,
                        },
                    },
                );
                Ok(())
            }
            Verdict::Quota(reason) => {
                report.waiting += 1;
                let delay = self.server_failed(ServerProblem::Quota(reason.clone()));
                self.announced.insert(candidate.name.clone());
                self.emit(
                    report,
                    Action {
                        file: candidate.name.clone(),
                        outcome: Outcome::QuotaExceeded {
                            reason,
                            retry_in: delay,
                        },
                    },
                );
                Ok(())
            }
            Verdict::Refused(reason) => {
                report.waiting += 1;
                let delay = self.server_failed(ServerProblem::Refused(reason.clone()));
                self.announced.insert(candidate.name.clone());
                self.emit(
                    report,
                    Action {
                        file: candidate.name.clone(),
                        outcome: Outcome::Refused {
                            reason,
                            retry_in: delay,
                        },
                    },
                );
                Ok(())
            }
        }
    }

    /// The repository has the file: remove it (and its sidecar) from the outbox, then the
    /// journal entry, then report.
    fn finish_upload(
        &mut self,
        candidate: &Candidate,
        entry: Entry,
        report: &mut Report,
    ) -> Result<(), AgentError> {
        let Stage::Uploaded { id, already_stored } = entry.stage.clone() else {
            return Ok(());
        };
        // Only the content that was uploaded may be removed: a file rewritten during the
        // upload stays and is handled as new at the next pass.
        match fingerprint_of(&candidate.path) {
            Ok((fingerprint, _)) if fingerprint != entry.fingerprint => {
                tracing::info!(file = %candidate.name, "file changed during its upload; kept and handled as a new file");
                self.journal.remove(&entry.file)?;
                self.emit(
                    report,
                    Action {
                        file: entry.file.clone(),
                        outcome: stored_outcome(&entry, &id, already_stored),
                    },
                );
                return Ok(());
            }
            _ => {}
        }
        if matches!(
            entry.item.as_ref().map(|item| &item.kind),
            Some(Kind::Attachment { .. })
        ) {
            let sidecar = sidecar_path(&candidate.path);
            remove_durably(&sidecar).map_err(AgentError::io(&sidecar, "removing the sidecar"))?;
        }
        remove_durably(&candidate.path)
            .map_err(AgentError::io(&candidate.path, "removing an uploaded file"))?;
        self.journal.remove(&entry.file)?;
        self.emit(
            report,
            Action {
                file: entry.file.clone(),
                outcome: stored_outcome(&entry, &id, already_stored),
            },
        );
        Ok(())
    }

    /// Moves a file refused for good (and its sidecar) to the rejected folder with a
    /// `.reason.txt` beside it.
    fn finish_rejection(
        &mut self,
        candidate: &Candidate,
        entry: Entry,
        reason: String,
        report: &mut Report,
    ) -> Result<(), AgentError> {
        let folder = self.config.rejected_dir.clone();
        let moved_to = move_into(&candidate.path, &folder)
            .map_err(AgentError::io(&candidate.path, "moving a rejected file"))?;
        let sidecar = sidecar_path(&candidate.path);
        if sidecar.exists() {
            let target = sidecar_path(&moved_to);
            fs::rename(&sidecar, &target)
                .or_else(|_| move_into(&sidecar, &folder).map(|_| ()))
                .map_err(AgentError::io(&sidecar, "moving a rejected file's sidecar"))?;
        }
        let mut reason_path = moved_to.clone().into_os_string();
        reason_path.push(".reason.txt");
        let reason_text = format!(
            "file: {}\nrejected: {}\nreason: {reason}\n",
            candidate.name,
            human_time(OffsetDateTime::now_utc())
        );
        let reason_path = PathBuf::from(reason_path);
        write_atomically(&reason_path, reason_text.as_bytes())
            .map_err(AgentError::io(&reason_path, "writing the reason"))?;
        self.journal.remove(&entry.file)?;
        self.emit(
            report,
            Action {
                file: entry.file,
                outcome: Outcome::Rejected { reason, moved_to },
            },
        );
        Ok(())
    }

    /// Logs an action (one structured line), hands it to the reporter and records it.
    fn emit(&mut self, report: &mut Report, action: Action) {
        let kind = action.outcome.kind();
        match &action.outcome {
            Outcome::QuotaExceeded { .. } | Outcome::Refused { .. } => {
                tracing::error!(file = %action.file, action = kind, "{action}");
            }
            outcome if outcome.is_problem() => {
                tracing::warn!(file = %action.file, action = kind, "{action}");
            }
            Outcome::PolicyFallback { .. } | Outcome::NotRecognised { .. } => {
                tracing::warn!(file = %action.file, action = kind, "{action}");
            }
            _ => tracing::info!(file = %action.file, action = kind, "{action}"),
        }
        if let Some(reporter) = self.reporter.as_mut() {
            reporter(&action);
        }
        report.actions.push(action);
    }
}

fn stored_outcome(entry: &Entry, id: &str, already_stored: bool) -> Outcome {
    if already_stored {
        Outcome::AlreadyStored { id: id.to_owned() }
    } else {
        Outcome::Uploaded {
            id: id.to_owned(),
            type_code: entry
                .item
                .as_ref()
                .map(|item| item.type_code.clone())
                .unwrap_or_default(),
        }
    }
}

fn policy_cache_path(state_dir: &Path) -> PathBuf {
    state_dir.join("policy.json")
}

/// Takes the state folder's lock (`STATE/lock`, an advisory flock the kernel releases when
/// the process ends, however it ends).
fn lock_state_dir(state_dir: &Path) -> Result<File, AgentError> {
    let path = state_dir.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(AgentError::io(&path, "opening the lock file"))?;
    #[cfg(unix)]
    {
        use rustix::fs::{flock, FlockOperation};
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(errno) if errno == rustix::io::Errno::WOULDBLOCK => {
                return Err(AgentError::Locked {
                    state_dir: state_dir.to_path_buf(),
                    lock: path,
                });
            }
            Err(errno) => return Err(AgentError::io(&path, "locking")(errno.into())),
        }
    }
    Ok(file)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> Result<ApiResponse, ClientError> {
        Err(ClientError::Api {
            status,
            code: code.to_owned(),
            message: "…".to_owned(),
        })
    }

    #[test]
    fn created_and_already_stored_both_count_as_stored() {
        let created = ApiResponse {
            status: 201,
            headers: http::HeaderMap::new(),
            body: bytes_of(r#"{"document":{"id":"2.999^7","size":10}}"#),
        };
        assert_eq!(
            judge(Ok(created), "local"),
            Verdict::Stored {
                id: "2.999^7".into(),
                already_stored: false
            }
        );
        assert_eq!(
            judge(api(409, "document_exists"), "2.999^7"),
            Verdict::Stored {
                id: "2.999^7".into(),
                already_stored: true
            }
        );
    }

    fn bytes_of(text: &str) -> bytes::Bytes {
        bytes::Bytes::from(text.to_owned())
    }

    #[test]
    fn failures_are_sorted_into_wait_full_refused_and_rejected() {
        assert!(matches!(
            judge(
                Err(ClientError::Connection("nothing is listening".into())),
                "x"
            ),
            Verdict::Retry {
                server_down: true,
                ..
            }
        ));
        assert!(matches!(
            judge(
                Err(ClientError::Timeout {
                    url: "u".into(),
                    timeout_ms: 1
                }),
                "x"
            ),
            Verdict::Retry {
                server_down: true,
                ..
            }
        ));
        assert!(matches!(
            judge(api(503, "unavailable"), "x"),
            Verdict::Retry {
                server_down: false,
                ..
            }
        ));
        assert!(matches!(
            judge(api(507, "quota_exceeded"), "x"),
            Verdict::Quota(_)
        ));
        assert!(matches!(
            judge(api(507, "file_limit_reached"), "x"),
            Verdict::Quota(_)
        ));
        assert!(matches!(
            judge(api(413, "quota_exceeded"), "x"),
            Verdict::Quota(_)
        ));
        assert!(matches!(
            judge(api(400, "invalid_cda"), "x"),
            Verdict::Reject(_)
        ));
        assert!(matches!(
            judge(api(413, "http_error"), "x"),
            Verdict::Reject(_)
        ));
        assert!(matches!(
            judge(api(409, "version_conflict"), "x"),
            Verdict::Reject(_)
        ));
        for (status, code) in [
            (400, "wrong_certificate_kind"),
            (400, "wrong_tenant_certificate"),
            (401, "bad_signature"),
            (403, "account_expired"),
            (403, "certificate_revoked"),
            (404, "no_such_route"),
        ] {
            assert!(
                matches!(judge(api(status, code), "x"), Verdict::Refused(_)),
                "{status} {code}"
            );
        }
    }
}
