//! medgate's document repository domain (SPEC §§1–7): what a repository does with an
//! account's documents, consents, organisational structure, document types, certificates and
//! national registration, whoever asks — a clinic system through the API or an administrator
//! through the pages. It knows nothing of HTTP serving: callers parse their requests, call one
//! function here with the stores ([`Repository`]) and who acts ([`Actor`]), and shape the
//! answer; a refusal is a [`RepositoryError`] with a stable code and a sentence for the user.
//!
//! | module | owns |
//! |---|---|
//! | [`error`] | `RepositoryError`: one variant per refusal, its stable `code()` and its `kind()` |
//! | [`patient`] | patient identifiers as users type them (a PESEL or `root^extension`) |
//! | [`ingest`] | CDA → metadata, attachments, the content-then-metadata store order and its clean-up |
//! | [`documents`] | reading a stored document (hash-checked), rendering it, deleting it |
//! | [`search`] | the document search: its query from parameters, the audited run, consent marks |
//! | [`export`] | the ZIP export and the names stored files leave the node under |
//! | [`fhir`] | the IHE MHD mapping: a document's FHIR id and its DocumentReference |
//! | [`consents`] | the consent register: drafts validated field by field, send, revoke |
//! | [`organisation`] | the organisational structure: the form, its validation, the stored revision |
//! | [`document_types`] | the document types' archiving policies |
//! | [`account`] | the account view, certificate checks, activation and replacement |
//! | [`national`] | the national registry: registration, indexing, withdrawal, search |
//!
//! Every action that reads or changes an account's data writes its audit entry here, with the
//! actor; an action whose entry cannot be written fails, so nothing unrecorded happens. Every
//! store call takes the actor's tenant, so another account's document or consent is the same
//! [`RepositoryError::NotFound`] as one that does not exist.

use std::sync::Arc;

use medgate_storage::{ContentStore, Metadata};
use time::OffsetDateTime;

pub mod account;
pub mod consents;
pub mod dates;
pub mod document_types;
pub mod documents;
pub mod error;
pub mod export;
pub mod fhir;
pub mod ingest;
pub mod national;
pub mod organisation;
pub mod patient;
pub mod search;

pub use error::{ErrorKind, Reason, RepositoryError};
pub use medgate_storage::Actor;

/// The stores a repository works on (cheap to clone).
#[derive(Clone, Debug)]
pub struct Repository {
    pub metadata: Metadata,
    pub content: Arc<dyn ContentStore>,
}

impl Repository {
    pub fn new(metadata: Metadata, content: Arc<dyn ContentStore>) -> Self {
        Repository { metadata, content }
    }

    /// Appends the audit entry of an action; fails when the audit log cannot be written.
    /// `patient` is the patient identifier's value alone (e.g. the PESEL), for actions that
    /// concern one patient.
    pub async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        patient: Option<&str>,
        details: String,
    ) -> Result<(), RepositoryError> {
        self.metadata
            .append_audit(&actor.entry(action, target, patient, details))
            .await
            .map(|_| ())
            .map_err(RepositoryError::storage("audit log"))
    }
}

/// A JSON body of the expected shape; refused as [`Reason::Json`] naming what is wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, RepositoryError> {
    serde_json::from_slice(body).map_err(|e| {
        RepositoryError::invalid(
            Reason::Json,
            "body",
            format!("The request body is not the expected JSON: {e}."),
        )
    })
}

/// The current time in whole seconds, as the stores keep times.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// RFC 3339 text of a time, as answers show times.
pub fn rfc3339(time: OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A date as `YYYY-MM-DD`.
pub fn format_date(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A whole day given as `YYYY-MM-DD` (exactly that form), or `None`.
pub fn parse_day(text: &str) -> Option<time::Date> {
    let text = text.trim();
    time::Date::parse(text, &time::format_description::well_known::Iso8601::DATE)
        .ok()
        .filter(|_| text.len() == 10)
}

#[cfg(test)]
pub(crate) mod testing;
