//! The national clinical record service's store (issue 13): institutions and their units,
//! practitioners and the authorisation matrix, institution certificates, practitioner
//! sessions, versioned FHIR resources, the referral status, the patient's restrictions
//! (Consent resources) and the access log.
//!
//! Resources are kept as their JSON text: this crate knows no FHIR, only a resource's type,
//! logical id, version, patient (TAJ), the institution that created it and the few columns
//! the service acts on (`status`, a restriction's scope). Every write goes through the writer
//! (see [`super::writer`]); a new version, its row in `clinical_resources` and its audit entry
//! are one job, so either all are stored or none. A version is written only over the version
//! the caller read (`current_version = $expected` in the `UPDATE`): of two writers that read
//! the same version, the second is refused as stale, and a referral is consumed once (`status =
//! 'issued'` in the same `UPDATE`).

use std::fmt;
use std::sync::{Arc, Mutex};

use medgate_ids::{InstitutionId, StampNumber, Taj, UnitId};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use time::OffsetDateTime;

use super::audit::{append_audit_on, NewAuditEntry};
use super::sql::Sql;
use super::{
    column, from_unix, is_foreign_key_violation, is_unique_violation, parsed_column, to_i64,
    to_u64, to_unix, DatabaseBackend, Metadata,
};
use crate::error::MetadataError;
use crate::values::Sha256Digest;

/// The most rows one listing returns.
const LIST_LIMIT: i64 = 1000;

/// Why a clinical store operation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClinicalStoreError {
    /// Nothing of that kind with that identifier.
    #[error("no {what} '{id}' exists")]
    NotFound { what: &'static str, id: String },

    /// One with that identifier exists already.
    #[error("{what} '{id}' exists already")]
    Exists { what: &'static str, id: String },

    /// The resource changed since the caller read it.
    #[error("{resource_type}/{logical_id} is at version {current}, not {expected}")]
    StaleVersion {
        resource_type: String,
        logical_id: String,
        expected: u64,
        current: u64,
    },

    /// The resource's status is not the one the operation requires (a referral consumed or
    /// cancelled already).
    #[error("{resource_type}/{logical_id} is {status}, not {required}")]
    WrongStatus {
        resource_type: String,
        logical_id: String,
        status: String,
        required: String,
    },

    /// The store failed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

fn database(operation: &'static str) -> impl FnOnce(sqlx::Error) -> ClinicalStoreError {
    move |error| ClinicalStoreError::Metadata(MetadataError::database(operation)(error))
}

fn flag(row: &AnyRow, name: &'static str) -> Result<bool, MetadataError> {
    Ok(column::<i64>(row, name)? != 0)
}

fn optional_time(
    row: &AnyRow,
    name: &'static str,
) -> Result<Option<OffsetDateTime>, MetadataError> {
    let seconds: Option<i64> = column(row, name)?;
    seconds.map(|seconds| from_unix(name, seconds)).transpose()
}

mod patients;
mod registry;
mod resources;
mod sessions;

pub use patients::*;
pub use registry::*;
pub use resources::*;
pub use sessions::*;
