//! The machine's own ceiling for ingest, measured in the same run as medgate: the same
//! document bytes written durably to a scratch folder and one row per document inserted into
//! a scratch SQLite database (WAL, `synchronous=FULL`, as medgate runs it), with no HTTP, TLS,
//! signatures, parsing or audit. Two ways: one commit per document (each file fsynced,
//! renamed, its folder fsynced), and batched (a batch's files written and renamed, one
//! `syncfs`, then one transaction for its rows).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::{Connection, Executor, SqliteConnection};

/// What the ceiling run measured: documents per second each way.
pub struct Ceiling {
    pub per_document: f64,
    pub batched: f64,
    pub batch: usize,
}

/// Writes `documents` twice into `dir` (a folder of its own), one commit per document then
/// in batches of `batch`.
pub async fn measure(dir: &Path, documents: &[Vec<u8>], batch: usize) -> anyhow::Result<Ceiling> {
    let per_document = run(&dir.join("one-by-one"), documents, 1).await?;
    let batched = run(&dir.join("batched"), documents, batch.max(1)).await?;
    let rate = |elapsed: Duration| documents.len() as f64 / elapsed.as_secs_f64().max(1e-9);
    Ok(Ceiling {
        per_document: rate(per_document),
        batched: rate(batched),
        batch: batch.max(1),
    })
}

async fn run(dir: &Path, documents: &[Vec<u8>], batch: usize) -> anyhow::Result<Duration> {
    let content = dir.join("content");
    // The same two-level fan-out as medgate's content folder, made beforehand.
    for first in 0..16 {
        std::fs::create_dir_all(content.join(format!("{first:02x}")))
            .with_context(|| format!("creating {}", content.display()))?;
    }
    let url = format!("sqlite://{}?mode=rwc", dir.join("raw.db").display());
    let mut database = SqliteConnection::connect(&url).await?;
    for statement in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "CREATE TABLE documents (id INTEGER PRIMARY KEY, document_id TEXT NOT NULL UNIQUE, \
         sha256 TEXT NOT NULL, size_bytes INTEGER NOT NULL, content_key TEXT NOT NULL, \
         created_at INTEGER NOT NULL)",
    ] {
        database.execute(statement).await?;
    }
    let started = Instant::now();
    for (number, chunk) in documents.chunks(batch).enumerate() {
        let mut rows = Vec::with_capacity(chunk.len());
        for (offset, bytes) in chunk.iter().enumerate() {
            let key = format!("{:016x}{:08x}", number, offset);
            let folder = content.join(format!("{:02x}", (number * batch + offset) % 16));
            let path = folder.join(&key);
            let temporary = folder.join(format!(".partial-{key}"));
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(bytes)?;
            if batch == 1 {
                file.sync_all()?;
            }
            std::fs::rename(&temporary, &path)?;
            if batch == 1 {
                std::fs::File::open(&folder)?.sync_all()?;
            }
            rows.push((key, bytes.len()));
        }
        if batch > 1 {
            let root = std::fs::File::open(&content)?;
            rustix::fs::syncfs(&root).context("syncfs")?;
        }
        let mut transaction = database.begin().await?;
        for (key, size) in rows {
            sqlx::query(
                "INSERT INTO documents (document_id, sha256, size_bytes, content_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(format!("2.16.840.1.113883.3.4424.2.7.26.7.9^RAW-{key}"))
            .bind("0".repeat(64))
            .bind(i64::try_from(size).unwrap_or(i64::MAX))
            .bind(&key)
            .bind(0i64)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
    }
    let elapsed = started.elapsed();
    database.close().await?;
    Ok(elapsed)
}
