//! The metadata store: tenants, certificates, documents, organisation structures, document
//! type policies, the audit log and the signature replay guard, on SQLite or PostgreSQL.
//!
//! # One code path over `sqlx::Any`
//!
//! Both backends run the same SQL through `sqlx::Any`, rather than a trait with two
//! implementations that would have to be kept in step by hand. This works because the schema
//! and the queries stay inside the common ground of the two databases:
//!
//! - placeholders are `$1`, `$2`, … (PostgreSQL's style; SQLite accepts `$N` as a named
//!   parameter and sqlx binds it by its number);
//! - every integer is a 64-bit integer (`INTEGER` in SQLite, `BIGINT` in PostgreSQL), every
//!   timestamp is unix seconds UTC in such an integer, every boolean is 0/1 in one, and sums
//!   are `CAST(… AS BIGINT)` so that PostgreSQL never answers with `NUMERIC`;
//! - `INSERT … ON CONFLICT … DO UPDATE … WHERE`, `RETURNING`, partial unique indexes and
//!   `LIKE … ESCAPE` mean the same in both;
//! - case-insensitive search compares against columns lower-cased in Rust (SQLite's `LOWER`
//!   only folds ASCII, and Polish names are not ASCII).
//!
//! Where the two must differ, [`DatabaseBackend`] says how, in exactly two places: how a
//! writing transaction begins (SQLite: `BEGIN IMMEDIATE`, which takes the database's write lock
//! at once so a transaction never reads a snapshot it then cannot write from; PostgreSQL: a
//! plain `BEGIN`; both in [`writer`], which runs every write, and in the synthetic preload of
//! the benchmarks), and the row lock suffix (`FOR UPDATE` on PostgreSQL, nothing on SQLite where
//! the transaction already holds the only write lock). Every read-check-write operation
//! (quota check before a document insert, the audit chain head, certificate replacement) uses
//! both, so concurrent writers are serialised on either database. The migrations are one
//! file per backend under identical names.
//!
//! Tenant isolation: every query on tenant data has `tenant_id = $1` in its `WHERE` clause,
//! including the lookups by document id, so one tenant can neither read nor learn of another
//! tenant's documents.

pub mod audit;
pub mod certificate_requests;
pub mod certificates;
pub mod claims;
pub mod clinical;
pub mod clinical_connection;
pub mod consents;
pub mod document_keys;
pub(crate) mod document_search;
pub mod document_types;
pub mod documents;
pub mod national;
pub mod organisation;
pub mod plans;
pub mod portal;
pub mod registry;
pub mod replay_guard;
pub mod revocations;
pub(crate) mod sql;
pub mod staff;
pub mod synthetic;
pub mod tenants;
pub mod web;
pub mod writer;

use std::borrow::Cow;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Connection, Executor, Row, Transaction};
use time::OffsetDateTime;

use crate::error::{BackendError, MetadataError};

/// How long an SQLite connection waits for another connection's write lock.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 15_000;

/// Which database a [`Metadata`] store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseBackend {
    Sqlite,
    Postgres,
}

impl DatabaseBackend {
    fn from_url(url: &str) -> Result<Self, MetadataError> {
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        match scheme {
            "sqlite" => Ok(DatabaseBackend::Sqlite),
            "postgres" | "postgresql" => Ok(DatabaseBackend::Postgres),
            other => Err(MetadataError::UnsupportedUrl {
                scheme: other.chars().take(32).collect(),
            }),
        }
    }

    /// Appended to a `SELECT` that reads a row the transaction is about to change.
    pub(crate) fn row_lock(self) -> &'static str {
        match self {
            DatabaseBackend::Sqlite => "",
            DatabaseBackend::Postgres => " FOR UPDATE",
        }
    }

    fn migrations(self) -> &'static [EmbeddedMigration] {
        match self {
            DatabaseBackend::Sqlite => SQLITE_MIGRATIONS,
            DatabaseBackend::Postgres => POSTGRES_MIGRATIONS,
        }
    }
}

/// A migration compiled into the binary: version, description, SQL.
type EmbeddedMigration = (i64, &'static str, &'static str);

const SQLITE_MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "registry",
        include_str!("../../migrations/sqlite/0002_registry.sql"),
    ),
    (
        3,
        "consents portal",
        include_str!("../../migrations/sqlite/0003_consents_portal.sql"),
    ),
    (
        4,
        "audit patient",
        include_str!("../../migrations/sqlite/0004_audit_patient.sql"),
    ),
    (
        5,
        "web users",
        include_str!("../../migrations/sqlite/0005_web_users.sql"),
    ),
    (
        6,
        "revocations",
        include_str!("../../migrations/sqlite/0006_revocations.sql"),
    ),
    (
        7,
        "web session kinds",
        include_str!("../../migrations/sqlite/0007_web_session_kinds.sql"),
    ),
    (
        8,
        "list indexes",
        include_str!("../../migrations/sqlite/0008_list_indexes.sql"),
    ),
    (
        9,
        "effective time text",
        include_str!("../../migrations/sqlite/0009_effective_time_text.sql"),
    ),
    (
        10,
        "clinical",
        include_str!("../../migrations/sqlite/0010_clinical.sql"),
    ),
    (
        11,
        "patient sort keys",
        include_str!("../../migrations/sqlite/0011_patient_sort_keys.sql"),
    ),
    (
        12,
        "clinical connections",
        include_str!("../../migrations/sqlite/0012_clinical_connections.sql"),
    ),
    (
        13,
        "clinical patient accounts",
        include_str!("../../migrations/sqlite/0013_clinical_patient_accounts.sql"),
    ),
    (
        14,
        "claims",
        include_str!("../../migrations/sqlite/0014_claims.sql"),
    ),
    (
        15,
        "claims mek",
        include_str!("../../migrations/sqlite/0015_claims_mek.sql"),
    ),
    (
        16,
        "claims registers",
        include_str!("../../migrations/sqlite/0016_claims_registers.sql"),
    ),
    (
        17,
        "claims mo certificates",
        include_str!("../../migrations/sqlite/0017_claims_mo_certificates.sql"),
    ),
    (
        18,
        "claims corrections",
        include_str!("../../migrations/sqlite/0018_claims_corrections.sql"),
    ),
    (
        19,
        "claims refusal comment ru",
        include_str!("../../migrations/sqlite/0019_claims_refusal_comment_ru.sql"),
    ),
    (
        20,
        "patient ids repeated",
        include_str!("../../migrations/sqlite/0020_patient_ids_repeated.sql"),
    ),
];

const POSTGRES_MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "registry",
        include_str!("../../migrations/postgres/0002_registry.sql"),
    ),
    (
        3,
        "consents portal",
        include_str!("../../migrations/postgres/0003_consents_portal.sql"),
    ),
    (
        4,
        "audit patient",
        include_str!("../../migrations/postgres/0004_audit_patient.sql"),
    ),
    (
        5,
        "web users",
        include_str!("../../migrations/postgres/0005_web_users.sql"),
    ),
    (
        6,
        "revocations",
        include_str!("../../migrations/postgres/0006_revocations.sql"),
    ),
    (
        7,
        "web session kinds",
        include_str!("../../migrations/postgres/0007_web_session_kinds.sql"),
    ),
    (
        8,
        "list indexes",
        include_str!("../../migrations/postgres/0008_list_indexes.sql"),
    ),
    (
        9,
        "effective time text",
        include_str!("../../migrations/postgres/0009_effective_time_text.sql"),
    ),
    (
        10,
        "clinical",
        include_str!("../../migrations/postgres/0010_clinical.sql"),
    ),
    (
        11,
        "patient sort keys",
        include_str!("../../migrations/postgres/0011_patient_sort_keys.sql"),
    ),
    (
        12,
        "clinical connections",
        include_str!("../../migrations/postgres/0012_clinical_connections.sql"),
    ),
    (
        13,
        "clinical patient accounts",
        include_str!("../../migrations/postgres/0013_clinical_patient_accounts.sql"),
    ),
    (
        14,
        "claims",
        include_str!("../../migrations/postgres/0014_claims.sql"),
    ),
    (
        15,
        "claims mek",
        include_str!("../../migrations/postgres/0015_claims_mek.sql"),
    ),
    (
        16,
        "claims registers",
        include_str!("../../migrations/postgres/0016_claims_registers.sql"),
    ),
    (
        17,
        "claims mo certificates",
        include_str!("../../migrations/postgres/0017_claims_mo_certificates.sql"),
    ),
    (
        18,
        "claims corrections",
        include_str!("../../migrations/postgres/0018_claims_corrections.sql"),
    ),
    (
        19,
        "claims refusal comment ru",
        include_str!("../../migrations/postgres/0019_claims_refusal_comment_ru.sql"),
    ),
    (
        20,
        "patient ids repeated",
        include_str!("../../migrations/postgres/0020_patient_ids_repeated.sql"),
    ),
];

/// The embedded migrations of one backend, in the shape sqlx's migrator reads (the same
/// versions, descriptions and checksums `sqlx migrate` would compute from the files).
#[derive(Debug)]
struct Embedded(&'static [EmbeddedMigration]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The metadata store. Cheap to clone (a connection pool behind an `Arc`); share one per
/// process.
#[derive(Clone, Debug)]
pub struct Metadata {
    pool: AnyPool,
    backend: DatabaseBackend,
    /// The one task that runs the hot writes in group commits (see [`writer`]).
    writer: writer::Writer,
}

impl Metadata {
    /// Connects to `sqlite://PATH?mode=rwc` or `postgres://…` and brings the schema up to
    /// date with the embedded migrations.
    ///
    /// SQLite connections run in WAL mode with `synchronous=FULL` (a commit is on disk when it
    /// returns), foreign keys on and a busy timeout, so concurrent writers wait for each other
    /// instead of failing.
    pub async fn connect(url: &str) -> Result<Self, MetadataError> {
        let backend = DatabaseBackend::from_url(url)?;
        sqlx::any::install_default_drivers();

        let options = match backend {
            DatabaseBackend::Sqlite => {
                // WAL is a property of the database file and switching to it needs an
                // exclusive lock that the busy timeout does not cover, so it is set once here
                // on a lone connection before the pool opens any other.
                let mut connection = sqlx::AnyConnection::connect(url)
                    .await
                    .map_err(MetadataError::database("open the SQLite database"))?;
                connection
                    .execute("PRAGMA journal_mode = WAL")
                    .await
                    .map_err(MetadataError::database("switch SQLite to WAL mode"))?;
                connection
                    .close()
                    .await
                    .map_err(MetadataError::database("open the SQLite database"))?;
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|connection, _| {
                        Box::pin(async move { sqlite_pragmas(connection).await })
                    })
            }
            DatabaseBackend::Postgres => AnyPoolOptions::new().max_connections(16),
        };
        let pool = options
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(MetadataError::database("connect to the database"))?;

        let migrator = Migrator::new(Embedded(backend.migrations()))
            .await
            .map_err(|error| MetadataError::Migration(BackendError::new(error)))?;
        migrator
            .run(&pool)
            .await
            .map_err(|error| MetadataError::Migration(BackendError::new(error)))?;
        let writer = writer::Writer::start(
            writer_connection(url, backend).await?,
            direct_connection(url, backend)?,
            backend,
        );
        tracing::debug!(?backend, "metadata store ready");
        Ok(Metadata {
            pool,
            backend,
            writer,
        })
    }

    /// How many batches the writer committed and how many writes they held (see
    /// [`writer`]): the group commit at work.
    pub fn write_statistics(&self) -> writer::WriteStatistics {
        self.writer.statistics()
    }

    /// Has `observer` told of every batch the writer commits from now on (one observer per
    /// store; a second is ignored).
    pub fn observe_writes(&self, observer: std::sync::Arc<dyn writer::WriteObserver>) {
        self.writer.observe(observer);
    }

    /// The connection pool as it is now: connections open, of them idle, and the most it
    /// opens (the writer's own connection is not counted).
    pub fn pool_use(&self) -> PoolUse {
        PoolUse {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    /// Whether every embedded migration is applied (the node ran them at start; a database
    /// shared with a newer or broken node may say otherwise): the versions missing or failed.
    pub async fn migrations_pending(&self) -> Result<Vec<i64>, MetadataError> {
        let rows = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_all(&self.pool)
            .await
            .map_err(MetadataError::database("read the applied migrations"))?;
        let mut applied = std::collections::HashSet::new();
        for row in &rows {
            applied.insert(column::<i64>(row, "version")?);
        }
        Ok(self
            .backend
            .migrations()
            .iter()
            .map(|(version, _, _)| *version)
            .filter(|version| !applied.contains(version))
            .collect())
    }

    /// Runs one statement on the writer (see [`writer`]), in its next batch: the rows it
    /// changed, and the row it returned with a `RETURNING` clause. Every write that would
    /// otherwise take SQLite's write lock from the pool goes here, so that a busy writer
    /// cannot starve it.
    pub(crate) async fn write_one(
        &self,
        operation: &'static str,
        sql: impl Into<String>,
        binds: Vec<writer::Bind>,
    ) -> Result<(u64, Option<AnyRow>), MetadataError> {
        let sql = sql.into();
        self.writer
            .write(operation, move |connection| {
                Box::pin(
                    async move { writer::run_statement(connection, operation, &sql, binds).await },
                )
            })
            .await
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> DatabaseBackend {
        self.backend
    }

    /// A cheap round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), MetadataError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(MetadataError::database("reach the database"))?;
        Ok(())
    }

    /// Closes every connection; waits for the ones in use to be returned and for the writes
    /// already queued to be committed.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Begins a transaction that will write after reading (see the module docs), on the pool:
    /// only for the synthetic preload, which runs alone. Every other write goes through the
    /// writer ([`writer`]), so that a busy ingest cannot starve it of SQLite's write lock.
    pub(crate) async fn begin_write(
        &self,
        operation: &'static str,
    ) -> Result<Transaction<'static, Any>, MetadataError> {
        let transaction = match self.backend {
            DatabaseBackend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            DatabaseBackend::Postgres => self.pool.begin().await,
        };
        transaction.map_err(MetadataError::database(operation))
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// The metadata pool's connections ([`Metadata::pool_use`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// The settings of every SQLite connection, sqlx's and the writer's direct one
/// ([`sql::open_direct`]): wait for another connection's write lock, a commit is on disk when
/// it returns, foreign keys enforced.
fn sqlite_settings() -> [String; 3] {
    [
        format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"),
        "PRAGMA synchronous = FULL".to_owned(),
        "PRAGMA foreign_keys = ON".to_owned(),
    ]
}

/// [`sqlite_settings`] on one of sqlx's connections.
async fn sqlite_pragmas(connection: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    for pragma in sqlite_settings() {
        connection.execute(pragma.as_str()).await?;
    }
    Ok(())
}

/// The writer task's own connection, outside the pool (the pool's `close` waits for every
/// connection it lent).
async fn writer_connection(
    url: &str,
    backend: DatabaseBackend,
) -> Result<sqlx::AnyConnection, MetadataError> {
    let mut connection = sqlx::AnyConnection::connect(url)
        .await
        .map_err(MetadataError::database("open the writer's connection"))?;
    if backend == DatabaseBackend::Sqlite {
        sqlite_pragmas(&mut connection)
            .await
            .map_err(MetadataError::database("open the writer's connection"))?;
    }
    if backend == DatabaseBackend::Postgres {
        // The writer's connection lives as long as the node and prepares each statement once.
        // PostgreSQL then settles on a generic plan after five runs, chosen while a new
        // node's tables are nearly empty, and keeps it: the duplicate checks of every upload
        // came to fetch many of the table's rows instead of one index entry as it grew
        // (batches of 32 at 8 in flight 380–391 → 477–497 documents/s with a plan made for
        // each run's values).
        connection
            .execute("SET plan_cache_mode = force_custom_plan")
            .await
            .map_err(MetadataError::database("open the writer's connection"))?;
    }
    Ok(connection)
}

/// On SQLite, the writer's second connection to the same file, through SQLite's C API, for
/// the hot writes ([`sql`]); `None` on PostgreSQL.
fn direct_connection(
    url: &str,
    backend: DatabaseBackend,
) -> Result<Option<rusqlite::Connection>, MetadataError> {
    const OPERATION: &str = "open the writer's direct connection";
    if backend != DatabaseBackend::Sqlite {
        return Ok(None);
    }
    let options = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .map_err(MetadataError::database(OPERATION))?;
    let path = options.get_filename();
    if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
        // A database in memory is one per connection: the hot writes stay on sqlx's.
        return Ok(None);
    }
    sql::open_direct(path)
        .map(Some)
        .map_err(|source| MetadataError::Database {
            operation: OPERATION,
            source: BackendError::new(source),
        })
}

/// The current time, truncated to whole seconds as it is stored.
pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

pub(crate) fn to_unix(time: OffsetDateTime) -> i64 {
    time.unix_timestamp()
}

pub(crate) fn from_unix(
    field: &'static str,
    seconds: i64,
) -> Result<OffsetDateTime, MetadataError> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|error| MetadataError::corrupt(field, error))
}

pub(crate) fn to_i64(field: &'static str, value: u64) -> Result<i64, MetadataError> {
    i64::try_from(value).map_err(|_| MetadataError::ValueTooLarge { field, value })
}

pub(crate) fn to_u64(field: &'static str, value: i64) -> Result<u64, MetadataError> {
    u64::try_from(value)
        .map_err(|_| MetadataError::corrupt(field, format!("negative number {value}")))
}

/// Reads a column, turning a decoding failure into [`MetadataError::CorruptValue`].
pub(crate) fn column<'r, T>(row: &'r AnyRow, name: &'static str) -> Result<T, MetadataError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(name)
        .map_err(|error| MetadataError::corrupt(name, error))
}

/// Reads a column that holds a value this crate parses (an id, a digest, an enum).
pub(crate) fn parsed_column<T, E: std::fmt::Display>(
    row: &AnyRow,
    name: &'static str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, MetadataError> {
    let text: String = column(row, name)?;
    parse(&text).map_err(|error| MetadataError::corrupt(name, error))
}

/// Like [`parsed_column`] for a nullable column.
pub(crate) fn optional_parsed_column<T, E: std::fmt::Display>(
    row: &AnyRow,
    name: &'static str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, MetadataError> {
    let text: Option<String> = column(row, name)?;
    text.map(|text| parse(&text).map_err(|error| MetadataError::corrupt(name, error)))
        .transpose()
}

/// True when `error` is the violation of a unique constraint or primary key.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// True when `error` is the violation of a foreign key (e.g. a tenant that does not exist).
pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}
