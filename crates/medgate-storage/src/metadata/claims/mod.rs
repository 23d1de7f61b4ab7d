//! The claims registers' store (issue 14, `--role claims`, migration 0014): the fund's
//! medical organisations (MO) and the subdivisions that submit separately, the insurers
//! (SMO), the reporting periods, the MO staff's logins and the packages uploaded with their
//! FLK findings; the registers formed from accepted cases, their workflow history, the
//! signers' certificates and the signatures (migration 0016, [`registers`]); the certificates of the MOs'
//! information systems (migration 0017); the corrections made at the node, each a new
//! package linked to the one it corrects (migration 0018, [`corrections`]).
//!
//! Identifiers arrive here already checked by `medgate-claims` (this crate knows no register
//! format): an MO code is text, a period `YYYY-MM`. Logins keep Argon2id hashes only; the
//! one-time link is kept as its SHA-256 and opens once: the `UPDATE` that finds it also marks
//! it opened, so two requests racing on one link cannot both open it. A package is registered
//! (`checking`) in the job that checks its period is open, and concluded in the job that
//! stores its findings; a package concluded `accepted` while another with its file name or
//! SHA-256 was accepted before is refused there with F012 805 — the writer runs one job at a
//! time, so two uploads of one package never both end accepted.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use time::OffsetDateTime;

use super::{column, from_unix, is_foreign_key_violation, is_unique_violation};
use crate::error::MetadataError;

mod certificates;
mod corrections;
mod mek;
mod packages;
mod registers;
mod registry;

pub use certificates::*;
pub use corrections::*;
pub use mek::MAX_PAID_KEYS_AT_ONCE;

pub use packages::*;
pub use registers::*;
pub use registry::*;

/// The most rows one listing returns.
const LIST_LIMIT: i64 = 1000;

/// F012: the package was registered before (its name or its content).
pub const ALREADY_REGISTERED: u16 = 805;

/// Why a claims store operation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsStoreError {
    /// Nothing of that kind with that identifier.
    #[error("no {what} '{id}' exists")]
    NotFound { what: &'static str, id: String },

    /// One with that identifier exists already.
    #[error("{what} '{id}' exists already")]
    Exists { what: &'static str, id: String },

    /// The reporting period is not open for packages.
    #[error("the reporting period {period} is closed")]
    PeriodClosed { period: String },

    /// The store failed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

fn database(operation: &'static str) -> impl FnOnce(sqlx::Error) -> ClaimsStoreError {
    move |error| ClaimsStoreError::Metadata(MetadataError::database(operation)(error))
}

fn optional_time(
    row: &AnyRow,
    name: &'static str,
) -> Result<Option<OffsetDateTime>, MetadataError> {
    let seconds: Option<i64> = column(row, name)?;
    seconds.map(|seconds| from_unix(name, seconds)).transpose()
}

fn number<T: TryFrom<i64>>(row: &AnyRow, name: &'static str) -> Result<T, MetadataError> {
    let value: i64 = column(row, name)?;
    T::try_from(value).map_err(|_| MetadataError::CorruptValue {
        field: name,
        problem: format!("{value} is out of range"),
    })
}

/// An insert on the writer's connection: a unique violation is `Exists` (`what`), a foreign
/// key violation `NotFound` (`parent`).
async fn insert<'q>(
    connection: &mut AnyConnection,
    operation: &'static str,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    what: (&'static str, String),
    parent: (&'static str, String),
) -> Result<(), ClaimsStoreError> {
    match query.execute(&mut *connection).await {
        Ok(_) => Ok(()),
        Err(error) if is_unique_violation(&error) => Err(ClaimsStoreError::Exists {
            what: what.0,
            id: what.1,
        }),
        Err(error) if is_foreign_key_violation(&error) => Err(ClaimsStoreError::NotFound {
            what: parent.0,
            id: parent.1,
        }),
        Err(error) => Err(database(operation)(error)),
    }
}
