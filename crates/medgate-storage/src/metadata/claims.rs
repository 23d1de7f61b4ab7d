//! The claims registers' store (issue 14, `--role claims`, migration 0014): the fund's
//! medical organisations (MO) and the subdivisions that submit separately, the insurers
//! (SMO), the reporting periods, the MO staff's logins and the packages uploaded with their
//! FLK findings.
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

use super::{column, from_unix, is_foreign_key_violation, is_unique_violation, to_unix, Metadata};
use crate::error::MetadataError;

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

/// A medical organisation of the fund's territory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsMedicalOrganisation {
    /// Six digits (the federal F003 code).
    pub code: String,
    pub name: String,
    pub created_at: OffsetDateTime,
}

/// A subdivision (centre) of a medical organisation that submits its registers separately.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsSubdivision {
    pub mo_code: String,
    pub code: String,
    pub name: String,
}

/// An insurer (SMO).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsInsurer {
    /// Five digits (the federal F002 code).
    pub code: String,
    pub name: String,
    pub created_at: OffsetDateTime,
}

/// A reporting period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsPeriod {
    /// `YYYY-MM`.
    pub period: String,
    pub open: bool,
    pub opened_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
}

/// A login of a medical organisation's staff, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimsUser {
    pub login: String,
    /// `executor`, `chief_accountant` or `head`.
    pub role: String,
    pub mo_code: String,
    pub subdivision_code: Option<String>,
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// True until the user replaced the default password.
    pub must_change_password: bool,
    pub link_expires_at: Option<OffsetDateTime>,
    pub link_opened_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for ClaimsUser {
    /// Leaves the hash out: it does not belong in logs either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimsUser")
            .field("login", &self.login)
            .field("role", &self.role)
            .field("mo_code", &self.mo_code)
            .field("must_change_password", &self.must_change_password)
            .finish_non_exhaustive()
    }
}

/// A login to create: its default password's hash and its one-time link's SHA-256 (hex).
#[derive(Clone)]
pub struct NewClaimsUser {
    pub login: String,
    pub role: String,
    pub mo_code: String,
    pub subdivision_code: Option<String>,
    pub name: String,
    pub password_hash: String,
    pub link_hash: String,
    pub link_expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

/// What opening a one-time link found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkOpening {
    /// Opened now, for the first time: the login it belongs to.
    Opened { login: String },
    /// Opened before (at that time).
    Spent { at: OffsetDateTime },
    /// Never opened, and now past its time.
    Expired,
    /// No login has this link.
    Unknown,
}

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
    /// `checking`, `accepted`, `flk_errors` or `refused`.
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
    pub uploaded_by: String,
    pub uploaded_at: OffsetDateTime,
    pub checked_at: Option<OffsetDateTime>,
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
    pub comment: String,
}

/// How the control of a package ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PackageOutcome {
    /// The package was read through: its counts and the findings kept (`total_findings`
    /// counts those dropped past the limit too). No finding: `accepted`; else `flk_errors`.
    Checked {
        cases: u64,
        patients: u64,
        total_findings: u64,
        findings: Vec<ClaimsFinding>,
    },
    /// Refused whole with an F012 80x code.
    Refused { code: u16, comment: String },
}

const PACKAGE_COLUMNS: &str = "id, mo_code, period, subdivision_code, file_name, sha256, \
     size_bytes, status, progress, cases, patients, findings, refusal_code, refusal_comment, \
     uploaded_by, uploaded_at, checked_at";

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
        uploaded_by: column(row, "uploaded_by")?,
        uploaded_at: from_unix("uploaded_at", column(row, "uploaded_at")?)?,
        checked_at: optional_time(row, "checked_at")?,
    })
}

const USER_COLUMNS: &str = "login, role, mo_code, subdivision_code, name, password_hash, \
     must_change_password, link_expires_at, link_opened_at, created_at";

fn user_from_row(row: &AnyRow) -> Result<ClaimsUser, MetadataError> {
    Ok(ClaimsUser {
        login: column(row, "login")?,
        role: column(row, "role")?,
        mo_code: column(row, "mo_code")?,
        subdivision_code: column(row, "subdivision_code")?,
        name: column(row, "name")?,
        password_hash: column(row, "password_hash")?,
        must_change_password: column::<i64>(row, "must_change_password")? != 0,
        link_expires_at: optional_time(row, "link_expires_at")?,
        link_opened_at: optional_time(row, "link_opened_at")?,
        created_at: from_unix("created_at", column(row, "created_at")?)?,
    })
}

fn period_from_row(row: &AnyRow) -> Result<ClaimsPeriod, MetadataError> {
    Ok(ClaimsPeriod {
        period: column(row, "period")?,
        open: column::<i64>(row, "is_open")? != 0,
        opened_at: from_unix("opened_at", column(row, "opened_at")?)?,
        closed_at: optional_time(row, "closed_at")?,
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

impl Metadata {
    /// Registers a medical organisation.
    pub async fn create_claims_medical_organisation(
        &self,
        code: &str,
        name: &str,
        at: OffsetDateTime,
    ) -> Result<ClaimsMedicalOrganisation, ClaimsStoreError> {
        const OPERATION: &str = "register a medical organisation";
        let organisation = ClaimsMedicalOrganisation {
            code: code.to_owned(),
            name: name.to_owned(),
            created_at: at,
        };
        let row = organisation.clone();
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let query = sqlx::query(
                        "INSERT INTO claims_medical_organisations (code, name, created_at) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(row.code.clone())
                    .bind(row.name.clone())
                    .bind(to_unix(row.created_at));
                    insert(
                        connection,
                        OPERATION,
                        query,
                        ("medical organisation", row.code.clone()),
                        ("medical organisation", row.code.clone()),
                    )
                    .await
                })
            })
            .await?;
        Ok(organisation)
    }

    /// The medical organisation with this code.
    pub async fn claims_medical_organisation(
        &self,
        code: &str,
    ) -> Result<Option<ClaimsMedicalOrganisation>, MetadataError> {
        sqlx::query(
            "SELECT code, name, created_at FROM claims_medical_organisations WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a medical organisation"))?
        .map(|row| {
            Ok(ClaimsMedicalOrganisation {
                code: column(&row, "code")?,
                name: column(&row, "name")?,
                created_at: from_unix("created_at", column(&row, "created_at")?)?,
            })
        })
        .transpose()
    }

    /// Every medical organisation, by code.
    pub async fn claims_medical_organisations(
        &self,
    ) -> Result<Vec<ClaimsMedicalOrganisation>, MetadataError> {
        sqlx::query(
            "SELECT code, name, created_at FROM claims_medical_organisations ORDER BY code \
             LIMIT $1",
        )
        .bind(LIST_LIMIT)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list the medical organisations"))?
        .iter()
        .map(|row| {
            Ok(ClaimsMedicalOrganisation {
                code: column(row, "code")?,
                name: column(row, "name")?,
                created_at: from_unix("created_at", column(row, "created_at")?)?,
            })
        })
        .collect()
    }

    /// Adds a subdivision that submits separately to a registered medical organisation.
    pub async fn add_claims_subdivision(
        &self,
        subdivision: &ClaimsSubdivision,
    ) -> Result<(), ClaimsStoreError> {
        const OPERATION: &str = "add a subdivision";
        let row = subdivision.clone();
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let query = sqlx::query(
                        "INSERT INTO claims_subdivisions (mo_code, code, name) VALUES ($1, $2, $3)",
                    )
                    .bind(row.mo_code.clone())
                    .bind(row.code.clone())
                    .bind(row.name.clone());
                    insert(
                        connection,
                        OPERATION,
                        query,
                        ("subdivision", format!("{} of {}", row.code, row.mo_code)),
                        ("medical organisation", row.mo_code.clone()),
                    )
                    .await
                })
            })
            .await
    }

    /// The subdivisions of a medical organisation, by code.
    pub async fn claims_subdivisions(
        &self,
        mo_code: &str,
    ) -> Result<Vec<ClaimsSubdivision>, MetadataError> {
        sqlx::query(
            "SELECT mo_code, code, name FROM claims_subdivisions WHERE mo_code = $1 ORDER BY code",
        )
        .bind(mo_code)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list the subdivisions"))?
        .iter()
        .map(|row| {
            Ok(ClaimsSubdivision {
                mo_code: column(row, "mo_code")?,
                code: column(row, "code")?,
                name: column(row, "name")?,
            })
        })
        .collect()
    }

    /// Registers an insurer.
    pub async fn create_claims_insurer(
        &self,
        code: &str,
        name: &str,
        at: OffsetDateTime,
    ) -> Result<ClaimsInsurer, ClaimsStoreError> {
        const OPERATION: &str = "register an insurer";
        let insurer = ClaimsInsurer {
            code: code.to_owned(),
            name: name.to_owned(),
            created_at: at,
        };
        let row = insurer.clone();
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let query = sqlx::query(
                        "INSERT INTO claims_insurers (code, name, created_at) VALUES ($1, $2, $3)",
                    )
                    .bind(row.code.clone())
                    .bind(row.name.clone())
                    .bind(to_unix(row.created_at));
                    insert(
                        connection,
                        OPERATION,
                        query,
                        ("insurer", row.code.clone()),
                        ("insurer", row.code.clone()),
                    )
                    .await
                })
            })
            .await?;
        Ok(insurer)
    }

    /// Every insurer, by code.
    pub async fn claims_insurers(&self) -> Result<Vec<ClaimsInsurer>, MetadataError> {
        sqlx::query("SELECT code, name, created_at FROM claims_insurers ORDER BY code LIMIT $1")
            .bind(LIST_LIMIT)
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database("list the insurers"))?
            .iter()
            .map(|row| {
                Ok(ClaimsInsurer {
                    code: column(row, "code")?,
                    name: column(row, "name")?,
                    created_at: from_unix("created_at", column(row, "created_at")?)?,
                })
            })
            .collect()
    }

    /// Opens a reporting period (`YYYY-MM`), new or closed before.
    pub async fn open_claims_period(
        &self,
        period: &str,
        at: OffsetDateTime,
    ) -> Result<ClaimsPeriod, MetadataError> {
        let (_, row) = self
            .write_one(
                "open a reporting period",
                "INSERT INTO claims_periods (period, is_open, opened_at) VALUES ($1, 1, $2) \
                 ON CONFLICT (period) DO UPDATE SET is_open = 1, opened_at = $2, \
                 closed_at = NULL RETURNING period, is_open, opened_at, closed_at",
                vec![period.into(), to_unix(at).into()],
            )
            .await?;
        row.as_ref()
            .map(period_from_row)
            .transpose()?
            .ok_or(MetadataError::CorruptValue {
                field: "claims_periods",
                problem: "the opened period was not returned".to_owned(),
            })
    }

    /// Closes an open reporting period: no package is taken for it any more.
    pub async fn close_claims_period(
        &self,
        period: &str,
        at: OffsetDateTime,
    ) -> Result<ClaimsPeriod, ClaimsStoreError> {
        let (_, row) = self
            .write_one(
                "close a reporting period",
                "UPDATE claims_periods SET is_open = 0, closed_at = $2 WHERE period = $1 \
                 RETURNING period, is_open, opened_at, closed_at",
                vec![period.into(), to_unix(at).into()],
            )
            .await?;
        match row {
            Some(row) => Ok(period_from_row(&row)?),
            None => Err(ClaimsStoreError::NotFound {
                what: "reporting period",
                id: period.to_owned(),
            }),
        }
    }

    /// The reporting period `period`, if it was ever opened.
    pub async fn claims_period(&self, period: &str) -> Result<Option<ClaimsPeriod>, MetadataError> {
        sqlx::query(
            "SELECT period, is_open, opened_at, closed_at FROM claims_periods WHERE period = $1",
        )
        .bind(period)
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a reporting period"))?
        .as_ref()
        .map(period_from_row)
        .transpose()
    }

    /// Every reporting period, newest first.
    pub async fn claims_periods(&self) -> Result<Vec<ClaimsPeriod>, MetadataError> {
        sqlx::query(
            "SELECT period, is_open, opened_at, closed_at FROM claims_periods \
             ORDER BY period DESC LIMIT $1",
        )
        .bind(LIST_LIMIT)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list the reporting periods"))?
        .iter()
        .map(period_from_row)
        .collect()
    }

    /// Creates a login with its default password (hash) and one-time link (SHA-256); the
    /// user must change the password at the first sign-in.
    pub async fn create_claims_user(&self, user: &NewClaimsUser) -> Result<(), ClaimsStoreError> {
        const OPERATION: &str = "create a login";
        let row = user.clone();
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
                    let query = sqlx::query(
                        "INSERT INTO claims_users (login, role, mo_code, subdivision_code, name, \
                         password_hash, must_change_password, link_hash, link_expires_at, \
                         created_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9)",
                    )
                    .bind(row.login.clone())
                    .bind(row.role.clone())
                    .bind(row.mo_code.clone())
                    .bind(row.subdivision_code.clone())
                    .bind(row.name.clone())
                    .bind(row.password_hash.clone())
                    .bind(row.link_hash.clone())
                    .bind(to_unix(row.link_expires_at))
                    .bind(to_unix(row.created_at));
                    insert(
                        connection,
                        OPERATION,
                        query,
                        ("login", row.login.clone()),
                        ("medical organisation", row.mo_code.clone()),
                    )
                    .await
                })
            })
            .await
    }

    /// The login `login`, if there is one.
    pub async fn claims_user(&self, login: &str) -> Result<Option<ClaimsUser>, MetadataError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM claims_users WHERE login = $1"
        ))
        .bind(login)
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a login"))?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    /// The logins of one medical organisation, or of all, by login.
    pub async fn claims_users(
        &self,
        mo_code: Option<&str>,
    ) -> Result<Vec<ClaimsUser>, MetadataError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM claims_users WHERE ($1 = '' OR mo_code = $1) \
             ORDER BY login LIMIT $2"
        ))
        .bind(mo_code.unwrap_or(""))
        .bind(LIST_LIMIT)
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database("list the logins"))?
        .iter()
        .map(user_from_row)
        .collect()
    }

    /// Gives a login a new default password and a new one-time link (a link lost, expired or
    /// a password forgotten): the old password stops working and the user must change the
    /// new one. False when there is no such login.
    pub async fn renew_claims_user_link(
        &self,
        login: &str,
        password_hash: &str,
        link_hash: &str,
        link_expires_at: OffsetDateTime,
    ) -> Result<bool, MetadataError> {
        let (changed, _) = self
            .write_one(
                "renew a login's link",
                "UPDATE claims_users SET password_hash = $2, must_change_password = 1, \
                 link_hash = $3, link_expires_at = $4, link_opened_at = NULL WHERE login = $1",
                vec![
                    login.into(),
                    password_hash.into(),
                    link_hash.into(),
                    to_unix(link_expires_at).into(),
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Opens the one-time link whose SHA-256 is `link_hash`: only the first request finds it
    /// [`LinkOpening::Opened`].
    pub async fn open_claims_link(
        &self,
        link_hash: &str,
        now: OffsetDateTime,
    ) -> Result<LinkOpening, MetadataError> {
        let (_, row) = self
            .write_one(
                "open a one-time link",
                "UPDATE claims_users SET link_opened_at = $2 WHERE link_hash = $1 \
                 AND link_opened_at IS NULL AND link_expires_at > $2 RETURNING login",
                vec![link_hash.into(), to_unix(now).into()],
            )
            .await?;
        if let Some(row) = row {
            return Ok(LinkOpening::Opened {
                login: column(&row, "login")?,
            });
        }
        let row = sqlx::query("SELECT link_opened_at FROM claims_users WHERE link_hash = $1")
            .bind(link_hash)
            .fetch_optional(self.pool())
            .await
            .map_err(MetadataError::database("read a one-time link"))?;
        Ok(match row {
            None => LinkOpening::Unknown,
            Some(row) => match optional_time(&row, "link_opened_at")? {
                Some(at) => LinkOpening::Spent { at },
                None => LinkOpening::Expired,
            },
        })
    }

    /// Sets the password the user chose (the default one is replaced; no change is forced
    /// any more). False when there is no such login.
    pub async fn set_claims_password(
        &self,
        login: &str,
        password_hash: &str,
    ) -> Result<bool, MetadataError> {
        let (changed, _) = self
            .write_one(
                "change a login's password",
                "UPDATE claims_users SET password_hash = $2, must_change_password = 0 \
                 WHERE login = $1",
                vec![login.into(), password_hash.into()],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Registers an uploaded package as `checking`; refused when its period is not open (or
    /// was never opened) or the MO is not registered. Answers its id.
    pub async fn register_claims_package(
        &self,
        package: &NewClaimsPackage,
    ) -> Result<i64, ClaimsStoreError> {
        const OPERATION: &str = "register a package";
        let row = package.clone();
        let size = i64::try_from(package.size_bytes).map_err(|_| MetadataError::CorruptValue {
            field: "size_bytes",
            problem: "too large".to_owned(),
        })?;
        self.writer
            .transact(OPERATION, move |connection| {
                Box::pin(async move {
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
                        Err(error) if is_foreign_key_violation(&error) => {
                            Err(ClaimsStoreError::NotFound {
                                what: "medical organisation",
                                id: row.mo_code.clone(),
                            })
                        }
                        Err(error) => Err(database(OPERATION)(error)),
                    }
                })
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
                            "SELECT id FROM claims_packages WHERE status = 'accepted' \
                             AND id <> $1 AND (file_name = $2 OR sha256 = $3) LIMIT 1",
                        )
                        .bind(id)
                        .bind(current.file_name.clone())
                        .bind(current.sha256.clone())
                        .fetch_optional(&mut *connection)
                        .await
                        .map_err(database(OPERATION))?;
                        match earlier {
                            Some(earlier) => PackageOutcome::Refused {
                                code: ALREADY_REGISTERED,
                                comment: format!(
                                    "the package was registered before: package {} was \
                                     accepted with the same file name or the same content",
                                    column::<i64>(&earlier, "id")?
                                ),
                            },
                            None => outcome,
                        }
                    } else {
                        outcome
                    };
                    let (status, cases, patients, total, code, comment, findings) = match outcome {
                        PackageOutcome::Checked {
                            cases,
                            patients,
                            total_findings,
                            findings,
                        } => (
                            if total_findings == 0 {
                                "accepted"
                            } else {
                                "flk_errors"
                            },
                            cases,
                            patients,
                            total_findings,
                            None,
                            None,
                            findings,
                        ),
                        PackageOutcome::Refused { code, comment } => (
                            "refused",
                            0,
                            0,
                            0,
                            Some(i64::from(code)),
                            Some(comment),
                            Vec::new(),
                        ),
                    };
                    let as_i64 = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
                    let updated = sqlx::query(
                        "UPDATE claims_packages SET status = $2, progress = 1000, cases = $3, \
                         patients = $4, findings = $5, refusal_code = $6, refusal_comment = $7, \
                         checked_at = $8 WHERE id = $1 AND status = 'checking'",
                    )
                    .bind(id)
                    .bind(status)
                    .bind(as_i64(cases))
                    .bind(as_i64(patients))
                    .bind(as_i64(total))
                    .bind(code)
                    .bind(comment)
                    .bind(to_unix(at))
                    .execute(&mut *connection)
                    .await
                    .map_err(database(OPERATION))?;
                    if updated.rows_affected() != 1 {
                        return Err(ClaimsStoreError::NotFound {
                            what: "package being checked",
                            id: id.to_string(),
                        });
                    }
                    for (seq, finding) in findings.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO claims_findings (package_id, seq, code, rule_id, file, \
                             im_pol, bas_el, n_zap, idcase, sl_id, idserv, comment) VALUES \
                             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
            "SELECT code, rule_id, file, im_pol, bas_el, n_zap, idcase, sl_id, idserv, comment \
             FROM claims_findings WHERE package_id = $1 ORDER BY seq",
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
            })
        })
        .collect()
    }
}
