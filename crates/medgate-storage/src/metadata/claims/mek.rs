//! The medico-economic control on the node (migration 0015): each package's MEK findings with
//! the sum each withholds (integer kopecks), stored in the job that concludes the package, and
//! the keys of the cases already paid, which the MEK of later packages refuses (F014 221,
//! 1.10.1). A key is the text of `medgate_claims::mek::paid` (this crate knows no register
//! format; the keys arrive checked); it is kept once, with the register or file it came from.

use sqlx::AnyConnection;
use time::OffsetDateTime;

use super::packages::{ClaimsMekFinding, MekOutcome};
use super::{database, number, ClaimsStoreError};
use crate::error::MetadataError;
use crate::metadata::{column, to_unix, Metadata};

/// The most paid keys one call adds (a larger file is given in several calls).
pub const MAX_PAID_KEYS_AT_ONCE: usize = 1_000_000;

/// Stores a package's MEK outcome (on the writer's connection, in the job that concludes it).
pub(super) async fn store_mek(
    connection: &mut AnyConnection,
    id: i64,
    mek: MekOutcome,
) -> Result<(), ClaimsStoreError> {
    const OPERATION: &str = "store a package's MEK";
    let as_i64 = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    match mek {
        MekOutcome::NoCatalogue => {
            sqlx::query("UPDATE claims_packages SET mek_state = 'no_catalogue' WHERE id = $1")
                .bind(id)
                .execute(&mut *connection)
                .await
                .map_err(database(OPERATION))?;
        }
        MekOutcome::Done {
            cases_checked,
            cases_refused,
            total_findings,
            withheld_kopecks,
            catalogues,
            findings,
        } => {
            sqlx::query(
                "UPDATE claims_packages SET mek_state = 'done', mek_cases_checked = $2, \
                 mek_cases_refused = $3, mek_findings = $4, mek_withheld_kopecks = $5, \
                 mek_catalogues = $6 WHERE id = $1",
            )
            .bind(id)
            .bind(as_i64(cases_checked))
            .bind(as_i64(cases_refused))
            .bind(as_i64(total_findings))
            .bind(withheld_kopecks)
            .bind(catalogues)
            .execute(&mut *connection)
            .await
            .map_err(database(OPERATION))?;
            for (seq, finding) in findings.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO claims_mek_findings (package_id, seq, reason_code, \
                     reason_basis, rule_id, element, n_zap, idcase, sl_id, comment, comment_ru, \
                     withheld_kopecks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(id)
                .bind(i64::try_from(seq).unwrap_or(i64::MAX))
                .bind(i64::from(finding.reason_code))
                .bind(finding.reason_basis.clone())
                .bind(finding.rule_id.clone())
                .bind(finding.element.clone())
                .bind(finding.n_zap.clone())
                .bind(finding.idcase.clone())
                .bind(finding.sl_id.clone())
                .bind(finding.comment.clone())
                .bind(finding.comment_ru.clone())
                .bind(finding.withheld_kopecks)
                .execute(&mut *connection)
                .await
                .map_err(database(OPERATION))?;
            }
        }
    }
    Ok(())
}

impl Metadata {
    /// The stored MEK findings of a package, in the order the control found them.
    pub async fn claims_mek_findings(
        &self,
        package_id: i64,
    ) -> Result<Vec<ClaimsMekFinding>, MetadataError> {
        sqlx::query(
            "SELECT reason_code, reason_basis, rule_id, element, n_zap, idcase, sl_id, comment, \
             comment_ru, withheld_kopecks FROM claims_mek_findings WHERE package_id = $1 ORDER BY seq",
        )
        .bind(package_id)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list a package's MEK findings"))?
        .iter()
        .map(|row| {
            Ok(ClaimsMekFinding {
                reason_code: number(row, "reason_code")?,
                reason_basis: column(row, "reason_basis")?,
                rule_id: column(row, "rule_id")?,
                element: column(row, "element")?,
                n_zap: column(row, "n_zap")?,
                idcase: column(row, "idcase")?,
                sl_id: column(row, "sl_id")?,
                comment: column(row, "comment")?,
                comment_ru: column(row, "comment_ru")?,
                withheld_kopecks: column(row, "withheld_kopecks")?,
            })
        })
        .collect()
    }

    /// Records the case keys as paid, each with the register or file it came from (`source`),
    /// in one job: all of them or none. A key recorded before keeps its first source. Answers
    /// how many were new.
    pub async fn add_claims_paid_cases(
        &self,
        keys: &[String],
        source: &str,
        at: OffsetDateTime,
    ) -> Result<u64, ClaimsStoreError> {
        const OPERATION: &str = "record paid cases";
        if source.trim().is_empty() {
            return Err(ClaimsStoreError::Metadata(MetadataError::CorruptValue {
                field: "source",
                problem: "a paid case's source is empty".to_owned(),
            }));
        }
        if keys.len() > MAX_PAID_KEYS_AT_ONCE {
            return Err(ClaimsStoreError::Metadata(MetadataError::CorruptValue {
                field: "keys",
                problem: format!(
                    "{} keys at once; at most {MAX_PAID_KEYS_AT_ONCE}",
                    keys.len()
                ),
            }));
        }
        let (keys, source) = (keys.to_vec(), source.to_owned());
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let mut added = 0u64;
                    for key in &keys {
                        let done = sqlx::query(
                            "INSERT INTO claims_paid_cases (case_key, source, added_at) \
                             VALUES ($1, $2, $3) ON CONFLICT (case_key) DO NOTHING",
                        )
                        .bind(key.clone())
                        .bind(source.clone())
                        .bind(to_unix(at))
                        .execute(&mut *connection)
                        .await
                        .map_err(database(OPERATION))?;
                        added += done.rows_affected();
                    }
                    Ok(added)
                })
            })
            .await
    }

    /// Every paid case key, for the MEK of a package.
    pub async fn claims_paid_case_keys(&self) -> Result<Vec<String>, MetadataError> {
        sqlx::query("SELECT case_key FROM claims_paid_cases ORDER BY case_key")
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list the paid cases"))?
            .iter()
            .map(|row| column(row, "case_key"))
            .collect()
    }

    /// The source a paid case key was recorded from, if it was.
    pub async fn claims_paid_case_source(
        &self,
        key: &str,
    ) -> Result<Option<String>, MetadataError> {
        sqlx::query("SELECT source FROM claims_paid_cases WHERE case_key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a paid case"))?
            .map(|row| column(&row, "source"))
            .transpose()
    }
}
