//! The packages uploaded, their control's progress and conclusion (805 decided here), and
//! their findings.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use time::OffsetDateTime;

use super::{database, number, optional_time, ClaimsStoreError, ALREADY_REGISTERED, LIST_LIMIT};
use crate::error::MetadataError;
use crate::metadata::{column, from_unix, is_foreign_key_violation, to_unix, Metadata};

/// A package to register: who uploaded what, for which MO and period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClaimsPackage {
    pub mo_code: String,
    pub period: String,
    pub subdivision_code: Option<String>,
    pub file_name: String,
    /// Hex.
    pub sha256: String,
    pub size_bytes: u64,
    pub uploaded_by: String,
    pub uploaded_at: OffsetDateTime,
}

/// A package as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsPackage {
    pub id: i64,
    pub mo_code: String,
    pub period: String,
    pub subdivision_code: Option<String>,
    pub file_name: String,
    pub sha256: String,
    pub size_bytes: u64,
    /// `checking`, `accepted`, `accepted_mek` (no FLK error; MEK withholds cases),
    /// `flk_errors` or `refused`.
    pub status: String,
    /// Per mille of the control done.
    pub progress: u16,
    pub cases: u64,
    pub patients: u64,
    /// Every finding of the control, also those beyond the stored ones.
    pub findings: u64,
    /// F012 801–805 when the package was refused whole.
    pub refusal_code: Option<u16>,
    pub refusal_comment: Option<String>,
    /// The refusal's comment in Russian (migration 0019), as the `V` protocol and the Russian
    /// pages show it; `None` for a package refused before it was kept.
    pub refusal_comment_ru: Option<String>,
    pub uploaded_by: String,
    pub uploaded_at: OffsetDateTime,
    pub checked_at: Option<OffsetDateTime>,
    /// The medico-economic control: `None` while checking or when refused whole.
    pub mek: Option<ClaimsMekSummary>,
}

/// What the medico-economic control of a package came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimsMekSummary {
    /// The node has no MEK catalogue (Q016) installed: MEK did not run.
    NoCatalogue,
    /// MEK ran over the cases that passed FLK.
    Done {
        cases_checked: u64,
        cases_refused: u64,
        /// Every finding, also those beyond the stored ones.
        findings: u64,
        /// Kopecks withheld, each refused case counted once.
        withheld_kopecks: i64,
        /// The catalogues it ran with (`Q016 1.9 (08.05.2020); Q023 …`).
        catalogues: String,
    },
}

/// One finding of the medico-economic control, with the sum it withholds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsMekFinding {
    /// The F014 reason's code (`Kod`, e.g. 222).
    pub reason_code: u16,
    /// Its basis in the order (`Osn`, e.g. `1.10.2.`).
    pub reason_basis: String,
    /// The Q016/Q023 rule's id, when a catalogue rule found it.
    pub rule_id: Option<String>,
    pub element: String,
    pub n_zap: Option<String>,
    pub idcase: Option<String>,
    pub sl_id: Option<String>,
    /// What is wrong, in English.
    pub comment: String,
    /// The same in Russian.
    pub comment_ru: String,
    /// Kopecks withheld (the case's `SUMV`).
    pub withheld_kopecks: i64,
}

/// The MEK part of a package's conclusion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MekOutcome {
    /// No MEK catalogue installed on the node.
    NoCatalogue,
    Done {
        cases_checked: u64,
        cases_refused: u64,
        total_findings: u64,
        withheld_kopecks: i64,
        catalogues: String,
        findings: Vec<ClaimsMekFinding>,
    },
}

/// One finding of the format-logical control, as the `V` protocol's `PR` carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsFinding {
    /// F012 code (901–905).
    pub code: u16,
    /// The Q015/Q022 rule's id, when a catalogue rule found it.
    pub rule_id: Option<String>,
    /// The file of the package it is in.
    pub file: String,
    /// `IM_POL`: the element.
    pub element: String,
    /// `BAS_EL`: the element's parent.
    pub base: String,
    pub n_zap: Option<String>,
    pub idcase: Option<String>,
    pub sl_id: Option<String>,
    pub idserv: Option<String>,
    /// What is wrong, in English.
    pub comment: String,
    /// The same in Russian (the `V` protocol's and the Russian pages' comment); empty for a
    /// finding stored before migration 0015.
    pub comment_ru: String,
}

/// How the control of a package ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PackageOutcome {
    /// The package was read through: its counts and the findings kept (`total_findings`
    /// counts those dropped past the limit too), and the MEK. An FLK finding: `flk_errors`;
    /// else a MEK finding: `accepted_mek`; else `accepted`.
    Checked {
        cases: u64,
        patients: u64,
        total_findings: u64,
        findings: Vec<ClaimsFinding>,
        mek: MekOutcome,
    },
    /// Refused whole with an F012 80x code: why, in English and Russian.
    Refused {
        code: u16,
        comment: String,
        comment_ru: String,
    },
}

const PACKAGE_COLUMNS: &str = "id, mo_code, period, subdivision_code, file_name, sha256, \
     size_bytes, status, progress, cases, patients, findings, refusal_code, refusal_comment, \
     refusal_comment_ru, uploaded_by, uploaded_at, checked_at, mek_state, mek_cases_checked, mek_cases_refused, \
     mek_findings, mek_withheld_kopecks, mek_catalogues";

fn package_from_row(row: &AnyRow) -> Result<ClaimsPackage, MetadataError> {
    let refusal_code: Option<i64> = column(row, "refusal_code")?;
    Ok(ClaimsPackage {
        id: column(row, "id")?,
        mo_code: column(row, "mo_code")?,
        period: column(row, "period")?,
        subdivision_code: column(row, "subdivision_code")?,
        file_name: column(row, "file_name")?,
        sha256: column(row, "sha256")?,
        size_bytes: number(row, "size_bytes")?,
        status: column(row, "status")?,
        progress: number(row, "progress")?,
        cases: number(row, "cases")?,
        patients: number(row, "patients")?,
        findings: number(row, "findings")?,
        refusal_code: refusal_code.and_then(|code| u16::try_from(code).ok()),
        refusal_comment: column(row, "refusal_comment")?,
        refusal_comment_ru: column(row, "refusal_comment_ru")?,
        uploaded_by: column(row, "uploaded_by")?,
        uploaded_at: from_unix("uploaded_at", column(row, "uploaded_at")?)?,
        checked_at: optional_time(row, "checked_at")?,
        mek: match column::<Option<String>>(row, "mek_state")?.as_deref() {
            Some("no_catalogue") => Some(ClaimsMekSummary::NoCatalogue),
            Some(_) => Some(ClaimsMekSummary::Done {
                cases_checked: number(row, "mek_cases_checked")?,
                cases_refused: number(row, "mek_cases_refused")?,
                findings: number(row, "mek_findings")?,
                withheld_kopecks: column(row, "mek_withheld_kopecks")?,
                catalogues: column::<Option<String>>(row, "mek_catalogues")?.unwrap_or_default(),
            }),
            None => None,
        },
    })
}

/// Inserts a package as `checking` on the writer's connection, once its period is found
/// open and its MO registered; answers its id.
pub(super) async fn insert_package(
    connection: &mut AnyConnection,
    row: &NewClaimsPackage,
) -> Result<i64, ClaimsStoreError> {
    const OPERATION: &str = "register a package";
    let size = i64::try_from(row.size_bytes).map_err(|_| MetadataError::CorruptValue {
        field: "size_bytes",
        problem: "too large".to_owned(),
    })?;
    let open = sqlx::query("SELECT is_open FROM claims_periods WHERE period = $1")
        .bind(row.period.clone())
        .fetch_optional(&mut *connection)
        .await
        .map_err(database(OPERATION))?;
    match open {
        Some(open) if column::<i64>(&open, "is_open")? != 0 => {}
        _ => {
            return Err(ClaimsStoreError::PeriodClosed {
                period: row.period.clone(),
            })
        }
    }
    let inserted = sqlx::query(
        "INSERT INTO claims_packages (mo_code, period, subdivision_code, \
         file_name, sha256, size_bytes, status, progress, cases, patients, \
         findings, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, \
         'checking', 0, 0, 0, 0, $7, $8) RETURNING id",
    )
    .bind(row.mo_code.clone())
    .bind(row.period.clone())
    .bind(row.subdivision_code.clone())
    .bind(row.file_name.clone())
    .bind(row.sha256.clone())
    .bind(size)
    .bind(row.uploaded_by.clone())
    .bind(to_unix(row.uploaded_at))
    .fetch_one(&mut *connection)
    .await;
    match inserted {
        Ok(inserted) => Ok(column::<i64>(&inserted, "id")?),
        Err(error) if is_foreign_key_violation(&error) => Err(ClaimsStoreError::NotFound {
            what: "medical organisation",
            id: row.mo_code.clone(),
        }),
        Err(error) => Err(database(OPERATION)(error)),
    }
}

impl Metadata {
    /// Registers an uploaded package as `checking`; refused when its period is not open (or
    /// was never opened) or the MO is not registered. Answers its id.
    pub async fn register_claims_package(
        &self,
        package: &NewClaimsPackage,
    ) -> Result<i64, ClaimsStoreError> {
        const OPERATION: &str = "register a package";
        let row = package.clone();
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move { insert_package(&mut *connection, &row).await })
            })
            .await
    }

    /// Records how far the control of a checking package got (per mille).
    pub async fn set_claims_package_progress(
        &self,
        id: i64,
        progress: u16,
    ) -> Result<(), MetadataError> {
        self.write_one(
            "record a package's progress",
            "UPDATE claims_packages SET progress = $2 WHERE id = $1 AND status = 'checking'",
            vec![id.into(), i64::from(progress.min(1000)).into()],
        )
        .await?;
        Ok(())
    }

    /// Concludes the control of a checking package: its findings and status in one job. A
    /// package without findings whose file name or SHA-256 was accepted before is refused
    /// with [`ALREADY_REGISTERED`] instead. Answers the package as stored.
    pub async fn finish_claims_package(
        &self,
        id: i64,
        outcome: PackageOutcome,
        at: OffsetDateTime,
    ) -> Result<ClaimsPackage, ClaimsStoreError> {
        const OPERATION: &str = "conclude a package's control";
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let current = sqlx::query(&format!(
                        "SELECT {PACKAGE_COLUMNS} FROM claims_packages WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&mut *connection)
                    .await
                    .map_err(database(OPERATION))?
                    .ok_or_else(|| ClaimsStoreError::NotFound {
                        what: "package",
                        id: id.to_string(),
                    })?;
                    let current = package_from_row(&current)?;
                    let clean = matches!(
                        &outcome,
                        PackageOutcome::Checked { findings, total_findings, .. }
                            if findings.is_empty() && *total_findings == 0
                    );
                    let outcome = if clean {
                        let earlier = sqlx::query(
                            "SELECT id FROM claims_packages WHERE status IN ('accepted', \
                             'accepted_mek') \
                             AND id <> $1 AND (file_name = $2 OR sha256 = $3) LIMIT 1",
                        )
                        .bind(id)
                        .bind(current.file_name.clone())
                        .bind(current.sha256.clone())
                        .fetch_optional(&mut *connection)
                        .await
                        .map_err(database(OPERATION))?;
                        match earlier {
                            Some(earlier) => {
                                let earlier = column::<i64>(&earlier, "id")?;
                                PackageOutcome::Refused {
                                    code: ALREADY_REGISTERED,
                                    comment: format!(
                                        "the package was registered before: package {earlier} \
                                         was accepted with the same file name or the same content"
                                    ),
                                    comment_ru: format!(
                                        "Пакет уже зарегистрирован: пакет {earlier} принят ранее \
                                         с тем же именем файла или тем же содержимым."
                                    ),
                                }
                            }
                            None => outcome,
                        }
                    } else {
                        outcome
                    };
                    let (status, cases, patients, total, code, comments, findings, mek) =
                        match outcome {
                            PackageOutcome::Checked {
                                cases,
                                patients,
                                total_findings,
                                findings,
                                mek,
                            } => (
                                match &mek {
                                    _ if total_findings > 0 => "flk_errors",
                                    MekOutcome::Done { total_findings, .. }
                                        if *total_findings > 0 =>
                                    {
                                        "accepted_mek"
                                    }
                                    _ => "accepted",
                                },
                                cases,
                                patients,
                                total_findings,
                                None,
                                None,
                                findings,
                                Some(mek),
                            ),
                            PackageOutcome::Refused {
                                code,
                                comment,
                                comment_ru,
                            } => (
                                "refused",
                                0,
                                0,
                                0,
                                Some(i64::from(code)),
                                Some((comment, comment_ru)),
                                Vec::new(),
                                None,
                            ),
                        };
                    let as_i64 = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
                    let (comment, comment_ru) = comments.unzip();
                    let updated = sqlx::query(
                        "UPDATE claims_packages SET status = $2, progress = 1000, cases = $3, \
                         patients = $4, findings = $5, refusal_code = $6, refusal_comment = $7, \
                         checked_at = $8, refusal_comment_ru = $9 \
                         WHERE id = $1 AND status = 'checking'",
                    )
                    .bind(id)
                    .bind(status)
                    .bind(as_i64(cases))
                    .bind(as_i64(patients))
                    .bind(as_i64(total))
                    .bind(code)
                    .bind(comment)
                    .bind(to_unix(at))
                    .bind(comment_ru)
                    .execute(&mut *connection)
                    .await
                    .map_err(database(OPERATION))?;
                    if updated.rows_affected() != 1 {
                        return Err(ClaimsStoreError::NotFound {
                            what: "package being checked",
                            id: id.to_string(),
                        });
                    }
                    if let Some(mek) = mek {
                        super::mek::store_mek(&mut *connection, id, mek).await?;
                    }
                    for (seq, finding) in findings.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO claims_findings (package_id, seq, code, rule_id, file, \
                             im_pol, bas_el, n_zap, idcase, sl_id, idserv, comment, comment_ru) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                        )
                        .bind(id)
                        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
                        .bind(i64::from(finding.code))
                        .bind(finding.rule_id.clone())
                        .bind(finding.file.clone())
                        .bind(finding.element.clone())
                        .bind(finding.base.clone())
                        .bind(finding.n_zap.clone())
                        .bind(finding.idcase.clone())
                        .bind(finding.sl_id.clone())
                        .bind(finding.idserv.clone())
                        .bind(finding.comment.clone())
                        .bind(finding.comment_ru.clone())
                        .execute(&mut *connection)
                        .await
                        .map_err(database(OPERATION))?;
                    }
                    let stored = sqlx::query(&format!(
                        "SELECT {PACKAGE_COLUMNS} FROM claims_packages WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_one(&mut *connection)
                    .await
                    .map_err(database(OPERATION))?;
                    Ok(package_from_row(&stored)?)
                })
            })
            .await
    }

    /// The package `id`.
    pub async fn claims_package(&self, id: i64) -> Result<Option<ClaimsPackage>, MetadataError> {
        sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM claims_packages WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a package"))?
        .as_ref()
        .map(package_from_row)
        .transpose()
    }

    /// The packages of one medical organisation, newest first.
    pub async fn claims_packages(
        &self,
        mo_code: &str,
    ) -> Result<Vec<ClaimsPackage>, MetadataError> {
        sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM claims_packages WHERE mo_code = $1 \
             ORDER BY id DESC LIMIT $2"
        ))
        .bind(mo_code)
        .bind(LIST_LIMIT)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list the packages"))?
        .iter()
        .map(package_from_row)
        .collect()
    }

    /// The packages still being checked, of every MO, oldest first (those a stopped node
    /// left behind, when a node starts).
    pub async fn claims_packages_checking(&self) -> Result<Vec<ClaimsPackage>, MetadataError> {
        sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM claims_packages WHERE status = 'checking' \
             ORDER BY id LIMIT $1"
        ))
        .bind(LIST_LIMIT)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list the packages being checked"))?
        .iter()
        .map(package_from_row)
        .collect()
    }

    /// The stored findings of a package, in the order the control found them.
    pub async fn claims_findings(
        &self,
        package_id: i64,
    ) -> Result<Vec<ClaimsFinding>, MetadataError> {
        sqlx::query(
            "SELECT code, rule_id, file, im_pol, bas_el, n_zap, idcase, sl_id, idserv, comment, \
             comment_ru FROM claims_findings WHERE package_id = $1 ORDER BY seq",
        )
        .bind(package_id)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list a package's findings"))?
        .iter()
        .map(|row| {
            Ok(ClaimsFinding {
                code: number(row, "code")?,
                rule_id: column(row, "rule_id")?,
                file: column(row, "file")?,
                element: column(row, "im_pol")?,
                base: column(row, "bas_el")?,
                n_zap: column(row, "n_zap")?,
                idcase: column(row, "idcase")?,
                sl_id: column(row, "sl_id")?,
                idserv: column(row, "idserv")?,
                comment: column(row, "comment")?,
                comment_ru: column(row, "comment_ru")?,
            })
        })
        .collect()
    }
}
