//! The fund's registry: medical organisations and their subdivisions, insurers, reporting
//! periods, and the MO staff's logins with their one-time links.

use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{insert, optional_time, ClaimsStoreError, LIST_LIMIT};
use crate::error::MetadataError;
use crate::metadata::{column, from_unix, to_unix, Metadata};

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
    /// `executor`, `chief_accountant`, `head` (an MO's) or `insurer_reviewer` (an SMO's).
    pub role: String,
    /// The MO of an MO's login; `None` for an insurer's reviewer.
    pub mo_code: Option<String>,
    /// The SMO of an insurer's reviewer; `None` for an MO's login.
    pub smo_code: Option<String>,
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
            .field("smo_code", &self.smo_code)
            .field("must_change_password", &self.must_change_password)
            .finish_non_exhaustive()
    }
}

/// A login to create: its default password's hash and its one-time link's SHA-256 (hex).
#[derive(Clone)]
pub struct NewClaimsUser {
    pub login: String,
    pub role: String,
    /// Exactly one of `mo_code` (an MO's login) and `smo_code` (an insurer's reviewer).
    pub mo_code: Option<String>,
    pub smo_code: Option<String>,
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

const USER_COLUMNS: &str =
    "login, role, mo_code, smo_code, subdivision_code, name, password_hash, \
     must_change_password, link_expires_at, link_opened_at, created_at";

fn user_from_row(row: &AnyRow) -> Result<ClaimsUser, MetadataError> {
    Ok(ClaimsUser {
        login: column(row, "login")?,
        role: column(row, "role")?,
        mo_code: column(row, "mo_code")?,
        smo_code: column(row, "smo_code")?,
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
                        "INSERT INTO claims_users (login, role, mo_code, smo_code, \
                         subdivision_code, name, password_hash, must_change_password, link_hash, \
                         link_expires_at, created_at) VALUES ($1, $2, $3, $10, $4, $5, $6, 1, $7, \
                         $8, $9)",
                    )
                    .bind(row.login.clone())
                    .bind(row.role.clone())
                    .bind(row.mo_code.clone())
                    .bind(row.subdivision_code.clone())
                    .bind(row.name.clone())
                    .bind(row.password_hash.clone())
                    .bind(row.link_hash.clone())
                    .bind(to_unix(row.link_expires_at))
                    .bind(to_unix(row.created_at))
                    .bind(row.smo_code.clone());
                    let parent = match (&row.mo_code, &row.smo_code) {
                        (Some(mo), _) => ("medical organisation", mo.clone()),
                        (None, smo) => ("insurer", smo.clone().unwrap_or_default()),
                    };
                    insert(
                        connection,
                        OPERATION,
                        query,
                        ("login", row.login.clone()),
                        parent,
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
}
