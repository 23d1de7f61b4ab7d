//! `medgate bench`: ingests N documents through the real HTTPS API — mutual TLS, every
//! request signed — into a fresh `medgate serve` on SQLite in a temporary folder, and prints
//! documents per second, p50/p99 latency and the server's peak memory. With `--preload N`,
//! first writes N synthetic documents straight into the node's database (over N/10 patients,
//! and one patient with 1,800 documents), then reads through the API — search by patient, get
//! metadata — next to the same queries run directly on the database (the ceiling). Then, in
//! the same run, the machine's own ingest ceiling (the same bytes and rows written straight
//! to a scratch folder and SQLite database, one commit per document and batched; see
//! [`ceiling`]) and the time a restarted node takes to answer `/healthz` with everything
//! stored. `--backend postgres` runs the node on a scratch PostgreSQL database. Figures
//! belong here, not in timed tests. `medgate bench claims` measures the claims registers'
//! control instead (see [`claims`]).

mod ceiling;
mod claims;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use http::Method;
use medgate_client::{BatchDocument, ClientSettings, RepositoryClient};
use medgate_ids::TenantId;
use medgate_pki::ca::{CertificateAuthority, Validity};
use medgate_pki::csr::{generate_tenant_csr, Country, SubjectFields};
use medgate_pki::files::{self, Visibility, WriteMode};
use medgate_pki::{CertKind, KeyAlgorithm};
use medgate_storage::{
    DocumentId, Metadata, PatientQuery, SearchQuery, SyntheticDocuments,
};

/// The document every upload is made from (ids and dates vary per upload).
const TEMPLATE: &str = include_str!("../../../assets/bench-document.xml");
const TENANT: &str = "0000000000000001";

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    /// Without a subcommand, the ingest through the HTTPS API.
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    /// Number of documents to ingest.
    #[arg(long, default_value_t = 500)]
    pub documents: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
    /// Synthetic documents written straight into the database first (10 per patient), then
    /// a read phase through the API.
    #[arg(long, default_value_t = 0)]
    pub preload: u64,
    /// Requests of each kind in the read phase (one in flight).
    #[arg(long, default_value_t = 1000)]
    pub reads: u32,
    /// Documents per upload request: 1 sends `POST /api/v1/documents`, more send batches
    /// (`POST /api/v1/documents/batch`).
    #[arg(long, default_value_t = 1)]
    pub batch: u32,
    /// The node's database: the embedded SQLite, or a scratch PostgreSQL database made on
    /// the server of `--postgres-url` and dropped at the end.
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    pub backend: Backend,
    /// A PostgreSQL server's maintenance database, for `--backend postgres`.
    #[arg(long, default_value = "postgres://127.0.0.1:5432/postgres")]
    pub postgres_url: String,
    /// The account's key type (the signature on every request, the TLS client key).
    #[arg(long, value_enum, default_value_t = Keys::Ecdsa)]
    pub keys: Keys,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Claims registers (OMS): generate a package, run FLK + MEK on it in a child process
    /// (cases/s, peak memory) next to `xmllint --stream` reading the same file.
    Claims(claims::ClaimsBenchArgs),
    /// The measured child of `bench claims` (internal).
    #[command(hide = true)]
    ClaimsChild(claims::ClaimsChildArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Keys {
    /// ECDSA P-256.
    Ecdsa,
    /// RSA 2048.
    Rsa,
}

/// A scratch PostgreSQL database, dropped when the benchmark ends.
struct ScratchDatabase {
    maintenance: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    async fn create(maintenance: &str) -> anyhow::Result<Self> {
        use sqlx::{Connection, Executor};
        let name = format!("medgate_bench_{}", std::process::id());
        let mut connection = sqlx::PgConnection::connect(maintenance)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {maintenance} (--postgres-url)"))?;
        connection.execute(format!("DROP DATABASE IF EXISTS {name}").as_str()).await?;
        connection.execute(format!("CREATE DATABASE {name}").as_str()).await?;
        let mut url = url::Url::parse(maintenance).context("--postgres-url")?;
        url.set_path(&name);
        Ok(ScratchDatabase {
            maintenance: maintenance.to_owned(),
            name,
            url: url.to_string(),
        })
    }

    async fn drop_database(self) {
        use sqlx::{Connection, Executor};
        if let Ok(mut connection) = sqlx::PgConnection::connect(&self.maintenance).await {
            let _ = connection
                .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
                .await;
        }
    }
}

/// The documents preloaded: `--preload` of them over one patient in ten.
fn preloaded(count: u64) -> SyntheticDocuments<'static> {
    SyntheticDocuments {
        prefix: "P",
        type_code: "11490-0",
        documents: count,
        patients: (count / 10).max(1),
    }
}

/// One patient with many documents, preloaded besides.
const HEAVY_PATIENT: SyntheticDocuments<'static> = SyntheticDocuments {
    prefix: "H",
    type_code: "18842-5",
    documents: 1_800,
    patients: 1,
};

/// Kills the server when the benchmark ends, however it ends.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        Some(BenchCommand::Claims(claims)) => return claims::run(claims),
        Some(BenchCommand::ClaimsChild(child)) => return claims::child(child),
        None => {}
    }
    if (args.documents == 0 && args.preload == 0) || args.concurrency == 0 || args.reads == 0 {
        bail!("--concurrency and --reads must be above 0, and --documents too without --preload");
    }
    let exe = std::env::current_exe().context("finding the medgate executable")?;
    let work = tempfile::tempdir().context("temporary folder")?;
    let data = work.path().join("data");

    let runtime = tokio::runtime::Runtime::new()?;
    let scratch = match args.backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(runtime.block_on(ScratchDatabase::create(&args.postgres_url))?),
    };
    let database_url = match &scratch {
        Some(scratch) => scratch.url.clone(),
        None => format!("sqlite://{}?mode=rwc", data.join("medgate.db").display()),
    };
    let result = run_with(&args, &exe, work.path(), &data, &database_url, &runtime);
    if let Some(scratch) = scratch {
        runtime.block_on(scratch.drop_database());
    }
    result
}

/// Starts `medgate serve` on `data` and `database_url`; returns it with its port once it
/// listens.
fn start_server(exe: &Path, data: &Path, database_url: &str) -> anyhow::Result<(ServerProcess, u16)> {
    let mut child = Command::new(exe)
        .args(["serve", "--data", &data.to_string_lossy(), "--listen", "127.0.0.1:0"])
        .args(["--database-url", database_url])
        .env("MEDGATE_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting medgate serve")?;
    let stdout = child.stdout.take().context("server output")?;
    let server = ServerProcess(child);
    let mut first_line = String::new();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut first_line).context("reading the server's address")?;
    // Keep draining the pipe so the server never blocks writing to it.
    std::thread::spawn(move || for _ in reader.lines() {});
    let port: u16 = first_line
        .split("https://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .with_context(|| format!("unexpected first line from the server: {first_line}"))?;
    Ok((server, port))
}

fn run_with(
    args: &BenchArgs,
    exe: &Path,
    work: &Path,
    data: &Path,
    database_url: &str,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<ExitCode> {
    let data_text = data.to_string_lossy().into_owned();
    let (server, port) = start_server(exe, data, database_url)?;

    let status = Command::new(exe)
        .args([
            "tenant", "--data", &data_text, "create", "--id", TENANT, "--valid-from", "2020-01-01",
            "--valid-to", "2099-12-31", "--quota-mb", "100000", "--max-files", "10000000",
        ])
        .args(["--database-url", database_url])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("creating the benchmark account failed");
    }
    let algorithm = match args.keys {
        Keys::Ecdsa => KeyAlgorithm::EcdsaP256,
        Keys::Rsa => KeyAlgorithm::Rsa2048,
    };
    let settings = enroll(work, data, port, algorithm)?;
    let batch = args.batch.max(1);
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..args.documents).map(document).collect());

    let (latencies, elapsed, reads) = runtime.block_on(async {
        let client = Arc::new(RepositoryClient::new(&settings)?);
        let activation = serde_json::json!({
            "provider_oid": "2.16.840.1.113883.3.4424.2.7.26",
            "tls_certificate": client.tls_certificate().to_pem(),
            "wss_certificate": client.wss_certificate().to_pem(),
        });
        client
            .send_json::<serde_json::Value>(Method::POST, "/api/v1/account/activate", &activation)
            .await?;
        let database = if args.preload > 0 {
            let database = Metadata::connect(database_url).await?;
            let started = Instant::now();
            preload(&database, args.preload).await?;
            Some((database, started.elapsed()))
        } else {
            None
        };
        if args.documents > 0 {
            eprintln!(
                "ingesting {} documents, {} per request, {} requests in flight over HTTPS \
                 (mutual TLS, signed requests)…",
                args.documents, batch, args.concurrency
            );
        }
        let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..args.concurrency {
            let client = client.clone();
            let next = next.clone();
            let bodies = bodies.clone();
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let first = next.fetch_add(batch, std::sync::atomic::Ordering::Relaxed);
                    let total = u32::try_from(bodies.len()).unwrap_or(u32::MAX);
                    if first >= total {
                        break;
                    }
                    let last = first.saturating_add(batch).min(total);
                    let sent = Instant::now();
                    if batch == 1 {
                        let body = bodies[first as usize].clone();
                        client
                            .send(Method::POST, "/api/v1/documents", Some((body, "application/xml")))
                            .await?;
                    } else {
                        let documents: Vec<BatchDocument> = (first..last)
                            .map(|n| BatchDocument {
                                filename: format!("{n}.xml"),
                                bytes: bodies[n as usize].clone(),
                            })
                            .collect();
                        let results = client.put_batch(&documents).await?;
                        if let Some(refused) = results.iter().find_map(|r| r.error.as_ref()) {
                            bail!("a document of a batch was refused: {} {}", refused.code, refused.message);
                        }
                    }
                    latencies.push(sent.elapsed());
                }
                anyhow::Ok(latencies)
            }));
        }
        let mut latencies = Vec::new();
        for worker in workers {
            latencies.extend(worker.await??);
        }
        let elapsed = started.elapsed();
        let reads = match &database {
            Some((database, preload)) => {
                Some(read_phase(&client, database, *preload, args.preload, args.reads).await?)
            }
            None => None,
        };
        anyhow::Ok((latencies, elapsed, reads))
    })?;
    let peak = peak_memory_kib(server.0.id());
    drop(server);

    // A restart with everything stored: spawn to the first answer of /healthz.
    let restarted = Instant::now();
    let (server, port) = start_server(exe, data, database_url)?;
    let start_time = runtime.block_on(async {
        let client = reqwest_healthz_client()?;
        let url = format!("https://127.0.0.1:{port}/healthz");
        loop {
            if let Ok(answer) = client.get(&url).send().await {
                if answer.status().is_success() {
                    return anyhow::Ok(restarted.elapsed());
                }
            }
            if restarted.elapsed() > Duration::from_secs(120) {
                bail!("the restarted node did not answer /healthz within 120 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })?;
    drop(server);

    let ceiling = if args.documents > 0 {
        eprintln!("measuring the machine's ceiling: the same documents written straight to disk…");
        Some(runtime.block_on(ceiling::measure(&work.join("ceiling"), &bodies, 32))?)
    } else {
        None
    };

    let mut sorted = latencies;
    sorted.sort();
    let count = sorted.len();
    if count > 0 {
        println!(
            "medgate bench: {} CDA documents ingested through the HTTPS API on {}, {} keys",
            bodies.len(),
            backend_name(args.backend),
            match args.keys {
                Keys::Ecdsa => "ECDSA P-256",
                Keys::Rsa => "RSA 2048",
            }
        );
        println!("  documents/request: {batch}");
        println!("  requests in flight:{:>2}", args.concurrency);
        println!("  elapsed:           {:.2} s", elapsed.as_secs_f64());
        let throughput = bodies.len() as f64 / elapsed.as_secs_f64();
        println!("  throughput:        {throughput:.1} documents/s");
        println!("  request p50:       {:.1} ms", millis(percentile(&sorted, 0.50)));
        println!("  request p99:       {:.1} ms", millis(percentile(&sorted, 0.99)));
        if let Some(ceiling) = &ceiling {
            println!(
                "  machine ceiling:   {:.1} documents/s one commit per document, {:.1} documents/s \
                 batched ({} per transaction, one syncfs): the same bytes and a row each, \
                 written straight to a scratch folder and SQLite database",
                ceiling.per_document, ceiling.batched, ceiling.batch
            );
            println!(
                "  medgate ÷ ceiling: {:.0} % of one-by-one, {:.0} % of batched",
                100.0 * throughput / ceiling.per_document,
                100.0 * throughput / ceiling.batched
            );
        }
    }
    if let Some(reads) = reads {
        let set = preloaded(args.preload);
        println!(
            "medgate bench: reads through the HTTPS API on {}, {} documents over {} patients \
             (+{} of one patient), one request in flight",
            backend_name(args.backend), set.documents, set.patients, HEAVY_PATIENT.documents
        );
        println!(
            "  preload:           {:.1} s ({:.0} documents/s, straight into the database)",
            reads.preload.as_secs_f64(),
            (set.documents + HEAVY_PATIENT.documents) as f64 / reads.preload.as_secs_f64()
        );
        for (label, mut api, mut database) in reads.kinds {
            api.sort();
            database.sort();
            println!(
                "  {label:<32} API p50 {:>6.2} ms  p99 {:>6.2} ms   database p50 {:>6.3} ms  p99 {:>6.3} ms",
                millis(percentile(&api, 0.50)),
                millis(percentile(&api, 0.99)),
                millis(percentile(&database, 0.50)),
                millis(percentile(&database, 0.99)),
            );
        }
    }
    println!(
        "  restart:           {:.0} ms from start to the first /healthz answer, with everything above stored",
        millis(start_time)
    );
    match peak {
        Some(kib) => println!("  server peak RSS:   {:.1} MiB", kib as f64 / 1024.0),
        None => println!("  server peak RSS:   unknown (no /proc on this system)"),
    }
    Ok(ExitCode::SUCCESS)
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

/// A client for the restarted node's `/healthz` (no certificate needed; the node's own
/// certificate is not checked, only how soon it answers).
fn reqwest_healthz_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(5))
        .build()?)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Writes the synthetic documents into the node's database, with progress on stderr.
async fn preload(database: &Metadata, count: u64) -> anyhow::Result<()> {
    let tenant = TenantId::parse(TENANT)?;
    let set = preloaded(count);
    eprintln!(
        "preloading {} synthetic documents over {} patients, and {} of one patient, \
         straight into the database…",
        set.documents, set.patients, HEAVY_PATIENT.documents
    );
    let started = Instant::now();
    database
        .preload_synthetic_documents(&tenant, &set, |written| {
            if written % 100_000 == 0 {
                eprintln!("  {written} ({:.0} s)", started.elapsed().as_secs_f64());
            }
        })
        .await?;
    database
        .preload_synthetic_documents(&tenant, &HEAVY_PATIENT, |_| {})
        .await?;
    Ok(())
}

/// What the read phase measured: how long the preload took, and per kind of read the
/// latencies through the API and of the same query on the database.
struct Reads {
    preload: Duration,
    kinds: Vec<(&'static str, Vec<Duration>, Vec<Duration>)>,
}

/// Searches by patient (10 documents, then 1,800) and reads of one document's metadata,
/// each `reads` times through the API and then directly on the database.
async fn read_phase(
    client: &RepositoryClient,
    database: &Metadata,
    preload: Duration,
    count: u64,
    reads: u32,
) -> anyhow::Result<Reads> {
    let tenant = TenantId::parse(TENANT)?;
    let set = preloaded(count);
    eprintln!("reading: {reads} requests of each kind through the API, then on the database…");
    // Spread over the patients and documents, the same ones for the API and the database.
    let spread = |i: u32, over: u64| (u64::from(i) * 2_654_435_761 + 7) % over;
    let mut kinds = Vec::new();

    for (label, heavy) in [
        ("search by patient (10 docs):", false),
        ("search by patient (1,800 docs):", true),
    ] {
        let patient = |i| {
            if heavy {
                HEAVY_PATIENT.patient(0)
            } else {
                set.patient(spread(i, set.patients))
            }
        };
        let mut api = Vec::with_capacity(reads as usize);
        for i in 0..reads {
            let path = format!("/api/v1/documents?patient={}", patient(i));
            let sent = Instant::now();
            let answer: serde_json::Value = client.get_json(&path).await?;
            api.push(sent.elapsed());
            if answer["total"].as_u64().unwrap_or(0) == 0 {
                bail!("the search {path} found nothing");
            }
        }
        let mut direct = Vec::with_capacity(reads as usize);
        for i in 0..reads {
            let query = SearchQuery {
                patient: Some(PatientQuery {
                    extension: patient(i),
                    root: None,
                }),
                ..SearchQuery::default()
            };
            let sent = Instant::now();
            let page = database.search_documents(&tenant, &query).await?;
            direct.push(sent.elapsed());
            if page.total == 0 {
                bail!("the database search for {} found nothing", patient(i));
            }
        }
        kinds.push((label, api, direct));
    }

    let document = |i| set.document_id(spread(i, set.documents));
    let mut api = Vec::with_capacity(reads as usize);
    for i in 0..reads {
        let path = format!(
            "/api/v1/documents/{}/metadata",
            urlencoding::encode(&document(i))
        );
        let sent = Instant::now();
        let _: serde_json::Value = client.get_json(&path).await?;
        api.push(sent.elapsed());
    }
    let mut direct = Vec::with_capacity(reads as usize);
    for i in 0..reads {
        let id = DocumentId::parse(&document(i))?;
        let sent = Instant::now();
        let found = database.get_document(&tenant, &id).await?;
        direct.push(sent.elapsed());
        if found.is_none() {
            bail!("document {id} is not in the database");
        }
    }
    kinds.push(("get metadata:", api, direct));
    Ok(Reads { preload, kinds })
}

/// Keys, CSRs and certificates for the benchmark account, signed by the node's CA.
fn enroll(dir: &Path, data: &Path, port: u16, algorithm: KeyAlgorithm) -> anyhow::Result<ClientSettings> {
    let tenant = TenantId::parse(TENANT)?;
    let ca = CertificateAuthority::open(&data.join("ca"), None)?;
    let subject = SubjectFields::new("medgate bench", "bench", Country::parse("PL")?)?;
    let certs = dir.join("certs");
    files::ensure_dir(&certs)?;
    for kind in [CertKind::Tls, CertKind::Wss] {
        let (key, csr) = generate_tenant_csr(&tenant, kind, &subject, algorithm)?;
        let certificate = ca.sign_csr(csr.as_bytes(), Path::new("bench.csr"), Validity::days_from_now(2)?)?;
        key.save(&certs.join(format!("{}.key", kind.file_stem())), None, WriteMode::Replace)?;
        files::write(
            &certs.join(format!("{}.pem", kind.file_stem())),
            certificate.to_pem().as_bytes(),
            WriteMode::Replace,
            Visibility::Public,
        )?;
    }
    Ok(ClientSettings {
        server: url::Url::parse(&format!("https://127.0.0.1:{port}"))?,
        tenant,
        tls_cert: certs.join("tls.pem"),
        tls_key: certs.join("tls.key"),
        wss_cert: certs.join("wss.pem"),
        wss_key: certs.join("wss.key"),
        password_file: None,
        ca: data.join("ca").join("ca.pem"),
        timeout: Duration::from_secs(60),
    })
}

/// The template with this upload's number, and a date spread over the year.
fn document(number: u32) -> Vec<u8> {
    TEMPLATE
        .replace("{{NUMBER}}", &format!("{number:07}"))
        .replace("{{MONTH}}", &format!("{:02}", number % 12 + 1))
        .replace("{{DAY}}", &format!("{:02}", number % 28 + 1))
        .into_bytes()
}

/// The peak resident memory of a process (VmHWM), in KiB.
fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_benchmark_document_is_a_valid_cda_with_its_own_id() -> anyhow::Result<()> {
        let first = medgate_cda::parse(&document(0))?;
        let other = medgate_cda::parse(&document(41))?;
        assert_ne!(first.id.to_string(), other.id.to_string());
        assert_eq!(first.patient.pesel().map(|p| p.to_string()).as_deref(), Some("44051401359"));
        Ok(())
    }

    #[test]
    fn preloaded_documents_are_ten_per_patient_and_the_heavy_patient_is_apart() {
        let set = preloaded(1_000_000);
        assert_eq!(set.patients, 100_000);
        assert_eq!(preloaded(5).patients, 1);
        assert_ne!(set.patient(0), HEAVY_PATIENT.patient(0));
        assert_ne!(set.document_id(0), HEAVY_PATIENT.document_id(0));
        assert!(DocumentId::parse(&set.document_id(999_999)).is_ok());
    }
}
