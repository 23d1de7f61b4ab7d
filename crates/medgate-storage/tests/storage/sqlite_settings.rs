//! SQLite-only: the embedded database runs in WAL mode.

use sqlx::{Connection, Row};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_database_is_in_wal_mode() {
    let folder = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/medgate.db?mode=rwc", folder.path().display());
    let metadata = medgate_storage::Metadata::connect(&url).await.unwrap();
    assert_eq!(metadata.backend(), medgate_storage::DatabaseBackend::Sqlite);
    metadata.ping().await.unwrap();

    // The journal mode is a property of the file, so a separate connection sees it.
    let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    let mode: String = row.try_get(0).unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    connection.close().await.unwrap();
    metadata.close().await;
}

#[tokio::test]
async fn unsupported_url_is_refused_without_echoing_it() {
    let refused = medgate_storage::Metadata::connect("mysql://user:secret@host/db")
        .await
        .unwrap_err();
    let message = refused.to_string();
    assert!(
        message.contains("'mysql'") && !message.contains("secret"),
        "{message}"
    );
}
