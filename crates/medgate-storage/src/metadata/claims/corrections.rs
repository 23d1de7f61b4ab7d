//! Corrections made at the node (migration 0018): the package a specialist corrected and
//! the new package holding the correction, registered in one job with the link between
//! them, so a package is corrected at most once and never without its new package.

use sqlx::any::AnyRow;

use super::packages::{insert_package, NewClaimsPackage};
use super::{database, ClaimsStoreError};
use crate::error::MetadataError;
use crate::metadata::{column, is_unique_violation, Metadata};

/// One element of one record changed: the correction a new package holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClaimsCorrection {
    /// The package corrected (it stays as it was).
    pub corrects_package_id: i64,
    pub n_zap: String,
    pub element: String,
    pub old_value: String,
    pub new_value: String,
}

/// A correction as stored: `package_id` is the new package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsCorrection {
    pub package_id: i64,
    pub corrects_package_id: i64,
    pub n_zap: String,
    pub element: String,
    pub old_value: String,
    pub new_value: String,
}

/// A package's place among corrections: the correction it holds, and the package that
/// corrected it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimsPackageCorrections {
    /// The correction this package holds (it is the corrected copy of another).
    pub corrects: Option<ClaimsCorrection>,
    /// The package holding this package's correction.
    pub corrected_by: Option<ClaimsCorrection>,
}

const CORRECTION_COLUMNS: &str =
    "package_id, corrects_package_id, n_zap, element, old_value, new_value";

fn correction_from_row(row: &AnyRow) -> Result<ClaimsCorrection, MetadataError> {
    Ok(ClaimsCorrection {
        package_id: column(row, "package_id")?,
        corrects_package_id: column(row, "corrects_package_id")?,
        n_zap: column(row, "n_zap")?,
        element: column(row, "element")?,
        old_value: column(row, "old_value")?,
        new_value: column(row, "new_value")?,
    })
}

impl Metadata {
    /// Registers the corrected copy of a package as a new `checking` package, linked to the
    /// package it corrects, in one job. Refused (nothing stored) when the corrected package
    /// is not `package.mo_code`'s with FLK errors (`NotFound`), was corrected already
    /// (`Exists`), or the period is closed.
    pub async fn register_claims_correction(
        &self,
        package: &NewClaimsPackage,
        correction: &NewClaimsCorrection,
    ) -> Result<i64, ClaimsStoreError> {
        const OPERATION: &str = "register a correction";
        let (row, correction) = (package.clone(), correction.clone());
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let original = correction.corrects_package_id;
                    let found = sqlx::query(
                        "SELECT id FROM claims_packages WHERE id = $1 AND mo_code = $2 \
                         AND status = 'flk_errors'",
                    )
                    .bind(original)
                    .bind(row.mo_code.clone())
                    .fetch_optional(&mut *connection)
                    .await
                    .map_err(database(OPERATION))?;
                    if found.is_none() {
                        return Err(ClaimsStoreError::NotFound {
                            what: "package with FLK errors",
                            id: original.to_string(),
                        });
                    }
                    let id = insert_package(&mut *connection, &row).await?;
                    let linked = sqlx::query(
                        "INSERT INTO claims_package_corrections (package_id, \
                         corrects_package_id, n_zap, element, old_value, new_value) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(id)
                    .bind(original)
                    .bind(correction.n_zap.clone())
                    .bind(correction.element.clone())
                    .bind(correction.old_value.clone())
                    .bind(correction.new_value.clone())
                    .execute(&mut *connection)
                    .await;
                    match linked {
                        Ok(_) => Ok(id),
                        Err(error) if is_unique_violation(&error) => {
                            Err(ClaimsStoreError::Exists {
                                what: "correction of package",
                                id: original.to_string(),
                            })
                        }
                        Err(error) => Err(database(OPERATION)(error)),
                    }
                })
            })
            .await
    }

    /// The correction the package `id` holds and the one that corrected it.
    pub async fn claims_package_corrections(
        &self,
        id: i64,
    ) -> Result<ClaimsPackageCorrections, MetadataError> {
        let rows = sqlx::query(&format!(
            "SELECT {CORRECTION_COLUMNS} FROM claims_package_corrections \
             WHERE package_id = $1 OR corrects_package_id = $1"
        ))
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("read a package's corrections"))?;
        let mut found = ClaimsPackageCorrections::default();
        for row in &rows {
            let correction = correction_from_row(row)?;
            if correction.package_id == id {
                found.corrects = Some(correction);
            } else {
                found.corrected_by = Some(correction);
            }
        }
        Ok(found)
    }
}
