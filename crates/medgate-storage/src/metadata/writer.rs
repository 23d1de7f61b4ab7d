//! The single writer: group commit for the hot writes (documents, audit entries, the
//! signature replay guard).
//!
//! One task owns one database connection and is the only one that runs these writes. Callers
//! send it a job (a closure over a connection) and wait. The task takes every job that has
//! queued, runs them one after the other inside **one** transaction, each in a savepoint of
//! its own (a refused job is rolled back alone and the others go on), commits once and only
//! then answers each caller. Many requests in flight therefore share one commit — one WAL
//! fsync on SQLite, one WAL flush on PostgreSQL — instead of each committing on its own and
//! all of them fighting for SQLite's write lock. While a batch commits, the next one queues;
//! with one request in flight a batch is that request alone, so nothing waits for company.
//!
//! A caller is answered `Ok` only after its batch's `COMMIT` returned, so an acknowledged
//! write is durable (kill -9 loses nothing acknowledged). When the commit fails, every job
//! of the batch is answered with that failure.
//!
//! On SQLite the writer has a second connection, through SQLite's C API, for the hot writes
//! ([`Writer::write_sql`], see [`super::sql`]): a batch's hot jobs are committed in one
//! transaction on it, then its other jobs in one on sqlx's connection. Each job is still in
//! exactly one transaction, committed before its caller is answered.
//!
//! On PostgreSQL each batch first locks the audit chain head, the lock almost every job
//! takes: batches of several nodes then queue on that one row instead of taking row locks in
//! different orders and deadlocking.

use std::any::Any as StdAny;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::BoxFuture;
use sqlx::{AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot};

pub(crate) use super::sql::Bind;
use super::sql::{bound, Sql, SqlJob};
use super::DatabaseBackend;
use crate::error::MetadataError;

/// The most jobs one transaction takes on SQLite; the rest wait for the next commit.
const MAX_BATCH: usize = 256;

/// The most jobs one transaction takes on PostgreSQL. Each job's savepoint that writes is a
/// subtransaction, and a backend caches at most 64 of them
/// (`PGPROC_MAX_CACHED_SUBXIDS`): past that every snapshot taken while the transaction runs,
/// on any connection, has to look subtransactions up in `pg_subtrans`, and the whole
/// database slows down.
const MAX_BATCH_POSTGRES: usize = 64;

/// Jobs waiting for the writer before senders wait too.
const QUEUE: usize = 4096;

type Answer = Result<Box<dyn StdAny + Send>, Failure>;

/// Why a job failed: the store (its own error), or the job refused with an error type of the
/// caller's ([`Writer::transact`]). Either way its savepoint is rolled back.
pub(crate) enum Failure {
    Store(MetadataError),
    Refused(Box<dyn StdAny + Send>),
}

impl From<MetadataError> for Failure {
    fn from(error: MetadataError) -> Self {
        Failure::Store(error)
    }
}

/// A write run by the writer task inside its batch transaction, on sqlx's connection.
pub(crate) type Job =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Answer> + Send + 'static>;

/// A write as the writer receives it.
enum Work {
    /// Written against sqlx's connection: runs on it on either database.
    Any(Job),
    /// Written against [`Sql`] (the hot writes): on SQLite it runs on the writer's direct
    /// connection, on PostgreSQL on sqlx's.
    Sql(SqlJob<Answer>),
}

enum Message {
    Write(Work, oneshot::Sender<Answer>),
    Close(oneshot::Sender<()>),
}

/// The handle the [`super::Metadata`] store keeps: a queue to the writer task.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    queue: mpsc::Sender<MessageBox>,
    counters: Arc<Counters>,
}

/// What the writer has done since the store was opened, for metrics and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStatistics {
    /// Transactions committed (or attempted).
    pub batches: u64,
    /// Writes run in them.
    pub writes: u64,
    /// Time spent in `COMMIT`, in microseconds, summed over the batches.
    pub commit_micros: u64,
    /// The most writes one batch held.
    pub largest_batch: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    writes: AtomicU64,
    commit_micros: AtomicU64,
    largest_batch: AtomicU64,
    /// Told of every batch committed (the node's metrics), once set.
    observer: std::sync::OnceLock<Arc<dyn WriteObserver>>,
}

/// Told of each batch the writer commits: how many writes it held and how long its `COMMIT`
/// took (the node's metrics keep them as histograms). Called on the writer task: it must
/// not block.
pub trait WriteObserver: Send + Sync + std::fmt::Debug {
    fn batch_committed(&self, writes: usize, commit: std::time::Duration);
}

/// [`Message`] behind a `Debug` impl, so [`Writer`] can derive it.
struct MessageBox(Message);

impl std::fmt::Debug for MessageBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("writer message")
    }
}

impl Writer {
    /// Starts the writer task on `connection`, which it owns from now on, with `direct` (on
    /// SQLite: the same database through its C API, for the [`Sql`] jobs; see [`super::sql`]).
    ///
    /// On SQLite the task has a thread of its own. Its jobs are many short statements, each
    /// handed to sqlx's SQLite thread and back; on the runtime's workers the writer was woken
    /// behind the requests' tasks (TLS, signatures, parsing) after every statement, and the
    /// writer — the one serial part of an upload — spent most of its time waiting to run. On
    /// PostgreSQL the connection's socket belongs to the runtime that opened it, and the
    /// round trips to the server dominate, so the task stays there.
    pub(crate) fn start(
        connection: AnyConnection,
        direct: Option<rusqlite::Connection>,
        backend: DatabaseBackend,
    ) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let task = run(connection, direct, backend, receiver, counters.clone());
        match backend {
            DatabaseBackend::Sqlite => {
                let spawned = std::thread::Builder::new()
                    .name("medgate-writer".to_owned())
                    .spawn(move || {
                        match tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            Ok(runtime) => runtime.block_on(task),
                            // The queue's receiver is dropped with `task`: every write is
                            // then refused as "the store is closed".
                            Err(error) => {
                                tracing::error!(%error, "the database writer could not start")
                            }
                        }
                    });
                if let Err(error) = spawned {
                    tracing::error!(%error, "the database writer's thread could not start");
                }
            }
            DatabaseBackend::Postgres => {
                tokio::spawn(task);
            }
        }
        Writer { queue, counters }
    }

    /// Sets the observer of committed batches; a second call is ignored (one per store).
    pub(crate) fn observe(&self, observer: Arc<dyn WriteObserver>) {
        let _ = self.counters.observer.set(observer);
    }

    pub(crate) fn statistics(&self) -> WriteStatistics {
        WriteStatistics {
            batches: self.counters.batches.load(Ordering::Relaxed),
            writes: self.counters.writes.load(Ordering::Relaxed),
            commit_micros: self.counters.commit_micros.load(Ordering::Relaxed),
            largest_batch: self.counters.largest_batch.load(Ordering::Relaxed),
        }
    }

    /// Runs `job` in the next batch and returns its answer once that batch is committed.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        operation: &'static str,
        job: impl for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, MetadataError>>
            + Send
            + 'static,
    ) -> Result<T, MetadataError> {
        self.transact(operation, job).await
    }

    /// [`Writer::write`] for a job that refuses with an error of its own (a consent of another
    /// patient, a login taken…): a refusal rolls back the job's savepoint alone and reaches the
    /// caller as it was returned.
    pub(crate) async fn transact<T, E>(
        &self,
        operation: &'static str,
        job: impl for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<MetadataError> + Send + 'static,
    {
        let job: Job = Box::new(move |connection| answer_of(job(connection)));
        self.submit(operation, Work::Any(job)).await
    }

    /// [`Writer::write`] for a job written against [`Sql`]: on SQLite it runs straight on the
    /// writer's thread, without a thread hand-off per statement (see [`super::sql`]).
    pub(crate) async fn write_sql<T: Send + 'static>(
        &self,
        operation: &'static str,
        job: impl for<'c> FnOnce(Sql<'c>) -> BoxFuture<'c, Result<T, MetadataError>> + Send + 'static,
    ) -> Result<T, MetadataError> {
        let job: SqlJob<Answer> = Box::new(move |sql| answer_of(job(sql)));
        self.submit(operation, Work::Sql(job)).await
    }

    /// Queues `work`, waits for its batch to commit, and returns its answer.
    async fn submit<T, E>(&self, operation: &'static str, work: Work) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<MetadataError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(MessageBox(Message::Write(work, answer)))
            .await
            .map_err(|_| closed(operation))?;
        let value = match answered.await.map_err(|_| closed(operation))? {
            Ok(value) => value,
            Err(Failure::Store(error)) => return Err(error.into()),
            Err(Failure::Refused(error)) => {
                return Err(match error.downcast::<E>() {
                    Ok(error) => *error,
                    Err(_) => wrong_type().into(),
                })
            }
        };
        value
            .downcast::<T>()
            .map(|value| *value)
            .map_err(|_| wrong_type().into())
    }

    /// Lets the writer finish what is queued, then closes its connection.
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self
            .queue
            .send(MessageBox(Message::Close(done)))
            .await
            .is_ok()
        {
            let _ = closed.await;
        }
    }
}

/// A job's result as the writer answers it: the value boxed, an error as the job's refusal.
fn answer_of<'c, T, E>(future: BoxFuture<'c, Result<T, E>>) -> BoxFuture<'c, Answer>
where
    T: Send + 'static,
    E: Send + 'static,
{
    Box::pin(async move {
        future
            .await
            .map(|value| Box::new(value) as Box<dyn StdAny + Send>)
            .map_err(|error| Failure::Refused(Box::new(error)))
    })
}

fn wrong_type() -> MetadataError {
    MetadataError::corrupt("writer", "a write answered with the wrong type")
}

fn closed(operation: &'static str) -> MetadataError {
    MetadataError::database(operation)(sqlx::Error::PoolClosed)
}

async fn run(
    mut connection: AnyConnection,
    mut direct: Option<rusqlite::Connection>,
    backend: DatabaseBackend,
    mut receiver: mpsc::Receiver<MessageBox>,
    counters: Arc<Counters>,
) {
    let max_batch = match backend {
        DatabaseBackend::Sqlite => MAX_BATCH,
        DatabaseBackend::Postgres => MAX_BATCH_POSTGRES,
    };
    let mut jobs: Vec<(Work, oneshot::Sender<Answer>)> = Vec::new();
    let mut close = None;
    while let Some(MessageBox(first)) = receiver.recv().await {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Write(work, answer) => jobs.push((work, answer)),
                Message::Close(done) => {
                    close = Some(done);
                    break;
                }
            }
            if jobs.len() >= max_batch {
                break;
            }
            next = receiver.try_recv().ok().map(|MessageBox(message)| message);
        }
        let batch = std::mem::take(&mut jobs);
        match direct.as_mut() {
            // The hot writes in one transaction on the direct connection, then the others in
            // one on sqlx's: two commits when a batch holds both kinds, one otherwise.
            Some(direct) => {
                let (hot, others): (Vec<_>, Vec<_>) = batch
                    .into_iter()
                    .partition(|(work, _)| matches!(work, Work::Sql(_)));
                run_batch(Sql::Direct(direct), backend, hot, &counters).await;
                run_batch(Sql::Any(&mut connection), backend, others, &counters).await;
            }
            None => run_batch(Sql::Any(&mut connection), backend, batch, &counters).await,
        }
        if let Some(done) = close.take() {
            drop(direct.take());
            let _ = connection.close().await;
            let _ = done.send(());
            return;
        }
    }
    let _ = connection.close().await;
}

/// One transaction for the whole batch, one savepoint per job.
async fn run_batch(
    mut sql: Sql<'_>,
    backend: DatabaseBackend,
    jobs: Vec<(Work, oneshot::Sender<Answer>)>,
    counters: &Counters,
) {
    const OPERATION: &str = "commit a batch of writes";
    if jobs.is_empty() {
        return;
    }
    let size = jobs.len();
    counters.batches.fetch_add(1, Ordering::Relaxed);
    counters.writes.fetch_add(size as u64, Ordering::Relaxed);
    counters
        .largest_batch
        .fetch_max(size as u64, Ordering::Relaxed);

    let begin = match backend {
        DatabaseBackend::Sqlite => "BEGIN IMMEDIATE",
        DatabaseBackend::Postgres => "BEGIN",
    };
    let mut opened = sql.control(OPERATION, begin).await;
    if opened.is_ok() && backend == DatabaseBackend::Postgres {
        opened = sql
            .control(
                OPERATION,
                "SELECT last_seq FROM audit_chain_head WHERE id = 1 FOR UPDATE",
            )
            .await;
        if opened.is_err() {
            let _ = sql.control(OPERATION, "ROLLBACK").await;
        }
    }
    if let Err(error) = opened {
        let message = driver_message(&error);
        for (_, answer) in jobs {
            let _ = answer.send(Err(batch_failed(OPERATION, &message).into()));
        }
        return;
    }

    let mut answers = Vec::with_capacity(size);
    for (work, answer) in jobs {
        let result = match sql.control(OPERATION, "SAVEPOINT job").await {
            Ok(()) => {
                let result = match (work, &mut sql) {
                    (Work::Sql(job), sql) => job(sql.reborrow()).await,
                    (Work::Any(job), Sql::Any(connection)) => job(connection).await,
                    (Work::Any(_), Sql::Direct(_)) => Err(Failure::Store(MetadataError::corrupt(
                        "writer",
                        "a write for sqlx's connection reached the direct one",
                    ))),
                };
                let undone = match result {
                    Ok(_) => Ok(()),
                    Err(_) => sql.control(OPERATION, "ROLLBACK TO SAVEPOINT job").await,
                };
                let released = sql.control(OPERATION, "RELEASE SAVEPOINT job").await;
                match undone.and(released) {
                    Ok(()) => result,
                    Err(error) => Err(error.into()),
                }
            }
            Err(error) => Err(error.into()),
        };
        answers.push((result, answer));
    }

    let committing = Instant::now();
    let committed = sql.control(OPERATION, "COMMIT").await;
    let took = committing.elapsed();
    let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    counters.commit_micros.fetch_add(micros, Ordering::Relaxed);
    if let Some(observer) = counters.observer.get() {
        observer.batch_committed(size, took);
    }
    match committed {
        Ok(()) => {
            for (result, answer) in answers {
                let _ = answer.send(result);
            }
        }
        Err(error) => {
            let message = driver_message(&error);
            tracing::error!(%message, jobs = answers.len(), "a batch of writes could not be committed");
            let _ = sql.control(OPERATION, "ROLLBACK").await;
            for (result, answer) in answers {
                // A job refused on its own keeps its own reason; the others fail with the
                // commit.
                let _ = answer.send(match result {
                    Ok(_) => Err(batch_failed(OPERATION, &message).into()),
                    Err(error) => Err(error),
                });
            }
        }
    }
}

/// The driver's own words of a failed statement, without the operation around them (each
/// job's error names its own).
fn driver_message(error: &MetadataError) -> String {
    match error {
        MetadataError::Database { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

fn batch_failed(operation: &'static str, message: &str) -> MetadataError {
    MetadataError::database(operation)(sqlx::Error::Protocol(message.to_owned()))
}

/// One statement with its values, run on `connection`: the rows it changed, and the row it
/// returned when it has a `RETURNING` clause.
pub(crate) async fn run_statement(
    connection: &mut AnyConnection,
    operation: &'static str,
    sql: &str,
    binds: Vec<Bind>,
) -> Result<(u64, Option<sqlx::any::AnyRow>), MetadataError> {
    let query = bound(sql, binds);
    if sql.contains("RETURNING") {
        let row = query
            .fetch_optional(connection)
            .await
            .map_err(MetadataError::database(operation))?;
        Ok((u64::from(row.is_some()), row))
    } else {
        let result = query
            .execute(connection)
            .await
            .map_err(MetadataError::database(operation))?;
        Ok((result.rows_affected(), None))
    }
}
