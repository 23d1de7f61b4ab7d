//! Statements the hot writes (a document, an audit entry, a signature's replay guard) run on
//! the writer's connection, written once for both ways of reaching the database:
//!
//! - **through sqlx** ([`Sql::Any`]): PostgreSQL, and every other write on SQLite;
//! - **straight through SQLite's C API** ([`Sql::Direct`], by `rusqlite`), on the SQLite
//!   writer's own thread. sqlx runs each SQLite statement on a worker thread of its own and
//!   hands it there and back; an upload's dozen statements were a dozen pairs of thread
//!   wake-ups, and the writer — the one serial part of an upload — spent most of its time in
//!   them. Called directly, a statement is a function call on the thread that already runs.
//!
//! Both run the same SQL text with the same values: `$1`, `$2`… are numbered parameters on
//! PostgreSQL and named ones on SQLite, bound here by their number as sqlx binds them.

use futures_util::future::BoxFuture;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Executor};

use super::column;
use crate::error::{BackendError, MetadataError};

/// A value bound to a statement: owned, since a statement may run on the writer's thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Bind {
    Text(String),
    OptionalText(Option<String>),
    Int(i64),
    OptionalInt(Option<i64>),
    /// A `SMALLINT` column's value (PostgreSQL checks the width; SQLite stores an integer).
    Small(i16),
}

impl From<&str> for Bind {
    fn from(value: &str) -> Self {
        Bind::Text(value.to_owned())
    }
}

impl From<String> for Bind {
    fn from(value: String) -> Self {
        Bind::Text(value)
    }
}

impl From<Option<&str>> for Bind {
    fn from(value: Option<&str>) -> Self {
        Bind::OptionalText(value.map(str::to_owned))
    }
}

impl From<Option<String>> for Bind {
    fn from(value: Option<String>) -> Self {
        Bind::OptionalText(value)
    }
}

impl From<i64> for Bind {
    fn from(value: i64) -> Self {
        Bind::Int(value)
    }
}

impl From<Option<i64>> for Bind {
    fn from(value: Option<i64>) -> Self {
        Bind::OptionalInt(value)
    }
}

impl From<i16> for Bind {
    fn from(value: i16) -> Self {
        Bind::Small(value)
    }
}

/// A row a statement returned.
pub(crate) enum Row {
    Any(AnyRow),
    /// Column names and values, read off SQLite before the statement was reset.
    Direct(Vec<(String, Stored)>),
}

/// A value read straight from SQLite.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Stored {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Row {
    /// An integer column; an error naming the column when it is `NULL` or not an integer.
    pub(crate) fn int(&self, name: &'static str) -> Result<i64, MetadataError> {
        self.optional_int(name)?
            .ok_or_else(|| MetadataError::corrupt(name, "NULL where a number was expected"))
    }

    /// A nullable integer column.
    pub(crate) fn optional_int(&self, name: &'static str) -> Result<Option<i64>, MetadataError> {
        match self {
            Row::Any(row) => column(row, name),
            Row::Direct(_) => match self.direct(name)? {
                Stored::Null => Ok(None),
                Stored::Int(value) => Ok(Some(*value)),
                other => Err(mismatch(name, "a number", other)),
            },
        }
    }

    /// A text column.
    pub(crate) fn text(&self, name: &'static str) -> Result<String, MetadataError> {
        match self {
            Row::Any(row) => column(row, name),
            Row::Direct(_) => match self.direct(name)? {
                Stored::Text(value) => Ok(value.clone()),
                other => Err(mismatch(name, "text", other)),
            },
        }
    }

    fn direct(&self, name: &'static str) -> Result<&Stored, MetadataError> {
        let Row::Direct(columns) = self else {
            return Err(MetadataError::corrupt(name, "not a column of this row"));
        };
        columns
            .iter()
            .find(|(column, _)| column == name)
            .map(|(_, value)| value)
            .ok_or_else(|| MetadataError::corrupt(name, "no such column in the row"))
    }
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Row::Any(_) => f.write_str("Row::Any"),
            Row::Direct(columns) => f.debug_tuple("Row::Direct").field(columns).finish(),
        }
    }
}

fn mismatch(name: &'static str, expected: &str, found: &Stored) -> MetadataError {
    let found = match found {
        Stored::Null => "NULL",
        Stored::Int(_) => "a number",
        Stored::Real(_) => "a real number",
        Stored::Text(_) => "text",
        Stored::Blob(_) => "a blob",
    };
    MetadataError::corrupt(name, format!("{found} where {expected} was expected"))
}

/// The writer's connection as a hot write sees it.
pub(crate) enum Sql<'c> {
    Any(&'c mut AnyConnection),
    /// Borrowed mutably: a `rusqlite` connection may move between threads but not be shared.
    Direct(&'c mut rusqlite::Connection),
}

impl Sql<'_> {
    /// The same connection, for a call that takes it by value.
    pub(crate) fn reborrow(&mut self) -> Sql<'_> {
        match self {
            Sql::Any(connection) => Sql::Any(connection),
            Sql::Direct(connection) => Sql::Direct(connection),
        }
    }

    /// Runs a statement of the transaction's own (`BEGIN`, `SAVEPOINT`, `COMMIT`…), without
    /// values: as a simple query on PostgreSQL, not a prepared one.
    pub(crate) async fn control(
        &mut self,
        operation: &'static str,
        sql: &str,
    ) -> Result<(), MetadataError> {
        match self {
            Sql::Any(connection) => connection
                .execute(sql)
                .await
                .map(|_| ())
                .map_err(MetadataError::database(operation)),
            Sql::Direct(connection) => connection
                .execute_batch(sql)
                .map_err(direct_error(operation)),
        }
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub(crate) async fn execute(
        &mut self,
        operation: &'static str,
        sql: &str,
        binds: Vec<Bind>,
    ) -> Result<u64, MetadataError> {
        match self {
            Sql::Any(connection) => bound(sql, binds)
                .execute(&mut **connection)
                .await
                .map(|done| done.rows_affected())
                .map_err(MetadataError::database(operation)),
            Sql::Direct(connection) => {
                direct_execute(connection, sql, &binds).map_err(direct_error(operation))
            }
        }
    }

    /// Runs a statement and returns its first row, if any.
    pub(crate) async fn fetch_optional(
        &mut self,
        operation: &'static str,
        sql: &str,
        binds: Vec<Bind>,
    ) -> Result<Option<Row>, MetadataError> {
        match self {
            Sql::Any(connection) => bound(sql, binds)
                .fetch_optional(&mut **connection)
                .await
                .map(|row| row.map(Row::Any))
                .map_err(MetadataError::database(operation)),
            Sql::Direct(connection) => {
                direct_first_row(connection, sql, &binds).map_err(direct_error(operation))
            }
        }
    }

    /// Runs a statement that returns at least one row, and returns the first.
    pub(crate) async fn fetch_one(
        &mut self,
        operation: &'static str,
        sql: &str,
        binds: Vec<Bind>,
    ) -> Result<Row, MetadataError> {
        self.fetch_optional(operation, sql, binds)
            .await?
            .ok_or_else(|| MetadataError::database(operation)(sqlx::Error::RowNotFound))
    }
}

/// A job the writer runs on [`Sql`] (see [`super::writer::Writer::write_sql`]).
pub(crate) type SqlJob<T> = Box<dyn for<'c> FnOnce(Sql<'c>) -> BoxFuture<'c, T> + Send + 'static>;

/// `sql` with `binds` bound, for sqlx.
pub(crate) fn bound(
    sql: &str,
    binds: Vec<Bind>,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::OptionalText(text) => query.bind(text),
            Bind::Int(number) => query.bind(number),
            Bind::OptionalInt(number) => query.bind(number),
            Bind::Small(number) => query.bind(number),
        };
    }
    query
}

fn direct_error(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> MetadataError {
    move |source| MetadataError::Database {
        operation,
        source: BackendError::new(source),
    }
}

/// Prepares `sql` (from the connection's statement cache) and binds `binds` to it: the
/// parameter `$N` takes the `N`-th value, wherever it stands and however often.
fn prepared<'c>(
    connection: &'c rusqlite::Connection,
    sql: &str,
    binds: &[Bind],
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut statement = connection.prepare_cached(sql)?;
    for index in 1..=statement.parameter_count() {
        let number = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|number| number.parse::<usize>().ok())
            .unwrap_or(index);
        let bind = number
            .checked_sub(1)
            .and_then(|position| binds.get(position))
            .ok_or(rusqlite::Error::InvalidParameterCount(number, binds.len()))?;
        match bind {
            Bind::Text(text) | Bind::OptionalText(Some(text)) => {
                statement.raw_bind_parameter(index, text)?
            }
            Bind::OptionalText(None) | Bind::OptionalInt(None) => {
                statement.raw_bind_parameter(index, rusqlite::types::Null)?
            }
            Bind::Int(number) | Bind::OptionalInt(Some(number)) => {
                statement.raw_bind_parameter(index, number)?
            }
            Bind::Small(number) => statement.raw_bind_parameter(index, number)?,
        }
    }
    Ok(statement)
}

fn direct_execute(
    connection: &rusqlite::Connection,
    sql: &str,
    binds: &[Bind],
) -> rusqlite::Result<u64> {
    let mut statement = prepared(connection, sql, binds)?;
    let mut rows = statement.raw_query();
    while rows.next()?.is_some() {}
    Ok(connection.changes())
}

fn direct_first_row(
    connection: &rusqlite::Connection,
    sql: &str,
    binds: &[Bind],
) -> rusqlite::Result<Option<Row>> {
    let mut statement = prepared(connection, sql, binds)?;
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut rows = statement.raw_query();
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut columns = Vec::with_capacity(names.len());
    for (index, name) in names.into_iter().enumerate() {
        use rusqlite::types::ValueRef;
        let value = match row.get_ref(index)? {
            ValueRef::Null => Stored::Null,
            ValueRef::Integer(value) => Stored::Int(value),
            ValueRef::Real(value) => Stored::Real(value),
            ValueRef::Text(text) => Stored::Text(String::from_utf8_lossy(text).into_owned()),
            ValueRef::Blob(bytes) => Stored::Blob(bytes.to_vec()),
        };
        columns.push((name, value));
    }
    // The rest of the rows (an `INSERT … RETURNING` of several) still run to the end, so the
    // statement has done all its work before it is reset.
    while rows.next()?.is_some() {}
    Ok(Some(Row::Direct(columns)))
}

/// Opens the SQLite writer's direct connection to the database file `path`, with the settings
/// of every other connection ([`super::sqlite_settings`]).
pub(crate) fn open_direct(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    let connection = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
            | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )?;
    connection.execute_batch(&super::sqlite_settings().join(";"))?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    fn table() -> rusqlite::Connection {
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER, c)")
            .unwrap();
        connection
    }

    /// `$N` takes the `N`-th value wherever it stands and however often, as sqlx binds it;
    /// `NULL`s, `RETURNING` and the count of changed rows come back as sqlx gives them.
    #[tokio::test]
    async fn numbered_parameters_bind_by_their_number() {
        let mut connection = table();
        let mut sql = Sql::Direct(&mut connection);
        let row = sql
            .fetch_one(
                "test",
                "INSERT INTO t (c, b, a) VALUES ($2, $1, $2) RETURNING id, a, b, c",
                vec![7_i64.into(), "x".into()],
            )
            .await
            .unwrap();
        assert_eq!(row.int("id").unwrap(), 1);
        assert_eq!(row.text("a").unwrap(), "x");
        assert_eq!(row.int("b").unwrap(), 7);
        assert_eq!(row.text("c").unwrap(), "x");

        let changed = sql
            .execute(
                "test",
                "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)",
                vec![
                    Bind::OptionalText(None),
                    Bind::OptionalInt(None),
                    Bind::Small(-3),
                ],
            )
            .await
            .unwrap();
        assert_eq!(changed, 1);
        let row = sql
            .fetch_optional(
                "test",
                "SELECT a, b, c FROM t WHERE id = $1",
                vec![2_i64.into()],
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.optional_int("b").unwrap(), None);
        assert_eq!(row.optional_int("c").unwrap(), Some(-3));
        let changed = sql
            .execute("test", "UPDATE t SET b = $1", vec![1_i64.into()])
            .await
            .unwrap();
        assert_eq!(changed, 2);
        assert!(sql
            .fetch_optional("test", "SELECT 1 FROM t WHERE id = $1", vec![9_i64.into()])
            .await
            .unwrap()
            .is_none());
    }

    /// The direct connection has the settings of every SQLite connection.
    #[test]
    fn the_direct_connection_has_the_settings_of_the_others() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("medgate.db");
        rusqlite::Connection::open(&path).unwrap();
        let connection = open_direct(&path).unwrap();
        let read = |pragma: &str| -> i64 {
            connection
                .query_row(&format!("PRAGMA {pragma}"), [], |row| row.get(0))
                .unwrap()
        };
        assert_eq!(
            read("busy_timeout"),
            i64::from(super::super::SQLITE_BUSY_TIMEOUT_MS)
        );
        assert_eq!(read("synchronous"), 2, "FULL");
        assert_eq!(read("foreign_keys"), 1);
    }

    /// A statement short of values, a column read as the wrong kind and a statement that
    /// fails each say what is wrong, with the operation; nothing is half done.
    #[tokio::test]
    async fn mistakes_are_named() {
        let mut connection = table();
        let mut sql = Sql::Direct(&mut connection);
        let error = sql
            .execute(
                "store a thing",
                "INSERT INTO t (a, b) VALUES ($1, $2)",
                vec!["x".into()],
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("store a thing"), "{error}");
        assert!(error.contains("parameter"), "{error}");

        sql.execute("test", "INSERT INTO t (a) VALUES ($1)", vec!["x".into()])
            .await
            .unwrap();
        let row = sql
            .fetch_one("test", "SELECT a, b FROM t", Vec::new())
            .await
            .unwrap();
        let error = row.int("a").unwrap_err().to_string();
        assert!(
            error.contains('a') && error.contains("text where a number"),
            "{error}"
        );
        let error = row.int("b").unwrap_err().to_string();
        assert!(error.contains("NULL"), "{error}");
        assert!(row.text("missing").is_err());

        let error = sql
            .fetch_one(
                "read a thing",
                "SELECT a FROM t WHERE id = $1",
                vec![5_i64.into()],
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("read a thing"), "{error}");
        let error = sql
            .execute(
                "test",
                "INSERT INTO nowhere VALUES ($1)",
                vec![1_i64.into()],
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("nowhere"), "{error}");
        let count: i64 = connection
            .query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 1);
    }
}
