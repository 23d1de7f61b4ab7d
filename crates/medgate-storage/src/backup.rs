//! What a backup of the embedded deployment needs from storage: a consistent snapshot of the
//! SQLite database taken while the node runs, and the content keys the snapshot's rows
//! reference, read as a stream (memory stays flat whatever the number of documents). The
//! content folder's side is [`crate::BackupHold`].
//!
//! The snapshot is SQLite's `VACUUM INTO`, not its C backup API (`sqlite3_backup_*`): both
//! read the database in one read transaction and so give a consistent copy without stopping
//! the node's writers (WAL), but the C API is only reachable through raw FFI calls, which the
//! workspace forbids (`unsafe_code = "forbid"`). `VACUUM INTO` writes a compact copy page by
//! page (no row is held in memory) and is never a file copy of a database being written.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Row};

use crate::error::MetadataError;
use crate::values::ContentKey;

/// A consistent copy of a node's SQLite database, open for reading.
#[derive(Debug)]
pub struct SqliteSnapshot {
    connection: SqliteConnection,
}

impl SqliteSnapshot {
    /// Copies the database `database` (which a running node may be writing) into the new
    /// file `out` as of one instant, and opens the copy.
    pub async fn take(database: &Path, out: &Path) -> Result<Self, MetadataError> {
        let mut source = SqliteConnectOptions::new()
            .filename(database)
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(30))
            .connect()
            .await
            .map_err(MetadataError::database("open the database to back up"))?;
        sqlx::query("VACUUM INTO $1")
            .bind(out.to_string_lossy().into_owned())
            .execute(&mut source)
            .await
            .map_err(MetadataError::database(
                "snapshot the database (VACUUM INTO)",
            ))?;
        source
            .close()
            .await
            .map_err(MetadataError::database("close the database to back up"))?;
        Self::open(out).await
    }

    /// Opens a snapshot file taken earlier.
    pub async fn open(file: &Path) -> Result<Self, MetadataError> {
        let connection = SqliteConnectOptions::from_str("sqlite://")
            .map_err(MetadataError::database("open the database snapshot"))?
            .filename(file)
            .create_if_missing(false)
            .read_only(true)
            .connect()
            .await
            .map_err(MetadataError::database("open the database snapshot"))?;
        Ok(SqliteSnapshot { connection })
    }

    /// How many documents (and attachments) the snapshot holds.
    pub async fn document_count(&mut self) -> Result<u64, MetadataError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM documents")
            .fetch_one(&mut self.connection)
            .await
            .map_err(MetadataError::database("count the snapshot's documents"))?;
        let count: i64 = row
            .try_get("n")
            .map_err(MetadataError::database("count the snapshot's documents"))?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// The content key of every document in the snapshot, one row at a time.
    pub fn content_keys(&mut self) -> BoxStream<'_, Result<ContentKey, MetadataError>> {
        sqlx::query("SELECT content_key FROM documents")
            .fetch(&mut self.connection)
            .map(|row| {
                let row =
                    row.map_err(MetadataError::database("read the snapshot's content keys"))?;
                let text: String = row
                    .try_get("content_key")
                    .map_err(MetadataError::database("read the snapshot's content keys"))?;
                ContentKey::parse(&text).map_err(|e| MetadataError::corrupt("content_key", e))
            })
            .boxed()
    }

    /// Closes the snapshot (the file stays).
    pub async fn close(self) -> Result<(), MetadataError> {
        self.connection
            .close()
            .await
            .map_err(MetadataError::database("close the database snapshot"))
    }
}
