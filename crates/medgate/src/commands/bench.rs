//! `medgate bench`: ingests N documents through the real HTTPS API — mutual TLS, every
//! request signed — into a fresh `medgate serve` on SQLite in a temporary folder, and prints
//! documents per second, p50/p99 latency and the server's peak memory. Figures belong here,
//! not in timed tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use http::Method;
use medgate_client::{ClientSettings, RepositoryClient};
use medgate_ids::TenantId;
use medgate_pki::ca::{CertificateAuthority, Validity};
use medgate_pki::csr::{generate_tenant_csr, Country, SubjectFields};
use medgate_pki::files::{self, Visibility, WriteMode};
use medgate_pki::{CertKind, KeyAlgorithm};

/// The document every upload is made from (ids and dates vary per upload).
const TEMPLATE: &str = include_str!("../../assets/bench-document.xml");
const TENANT: &str = "0000000000000001";

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Number of documents to ingest.
    #[arg(long, default_value_t = 500)]
    pub documents: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
}

/// Kills the server when the benchmark ends, however it ends.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.documents == 0 || args.concurrency == 0 {
        bail!("--documents and --concurrency must be above 0");
    }
    let exe = std::env::current_exe().context("finding the medgate executable")?;
    let work = tempfile::tempdir().context("temporary folder")?;
    let data = work.path().join("data");
    let data_text = data.to_string_lossy().into_owned();

    let mut child = Command::new(&exe)
        .args(["serve", "--data", &data_text, "--listen", "127.0.0.1:0"])
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

    let status = Command::new(&exe)
        .args([
            "tenant", "--data", &data_text, "create", "--id", TENANT, "--valid-from", "2020-01-01",
            "--valid-to", "2099-12-31", "--quota-mb", "100000", "--max-files", "10000000",
        ])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("creating the benchmark account failed");
    }
    let settings = enroll(work.path(), &data, port)?;

    let runtime = tokio::runtime::Runtime::new()?;
    let (latencies, elapsed) = runtime.block_on(async {
        let client = Arc::new(RepositoryClient::new(&settings)?);
        let activation = serde_json::json!({
            "provider_oid": "2.16.840.1.113883.3.4424.2.7.26",
            "tls_certificate": client.tls_certificate().to_pem(),
            "wss_certificate": client.wss_certificate().to_pem(),
        });
        client
            .send_json::<serde_json::Value>(Method::POST, "/api/v1/account/activate", &activation)
            .await?;
        eprintln!(
            "ingesting {} documents with {} in flight over HTTPS (mutual TLS, signed requests)…",
            args.documents, args.concurrency
        );
        let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..args.concurrency {
            let client = client.clone();
            let next = next.clone();
            let total = args.documents;
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let number = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if number >= total {
                        break;
                    }
                    let body = document(number);
                    let sent = Instant::now();
                    client
                        .send(Method::POST, "/api/v1/documents", Some((body, "application/xml")))
                        .await?;
                    latencies.push(sent.elapsed());
                }
                anyhow::Ok(latencies)
            }));
        }
        let mut latencies = Vec::new();
        for worker in workers {
            latencies.extend(worker.await??);
        }
        anyhow::Ok((latencies, started.elapsed()))
    })?;
    let peak = peak_memory_kib(server.0.id());
    drop(server);

    let mut sorted = latencies;
    sorted.sort();
    let percentile = |p: f64| -> Duration {
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    };
    let count = sorted.len();
    println!("medgate bench: {count} CDA documents ingested through the HTTPS API on SQLite");
    println!("  concurrency:       {}", args.concurrency);
    println!("  elapsed:           {:.2} s", elapsed.as_secs_f64());
    println!("  throughput:        {:.1} documents/s", count as f64 / elapsed.as_secs_f64());
    println!("  latency p50:       {:.1} ms", percentile(0.50).as_secs_f64() * 1000.0);
    println!("  latency p99:       {:.1} ms", percentile(0.99).as_secs_f64() * 1000.0);
    match peak {
        Some(kib) => println!("  server peak RSS:   {:.1} MiB", kib as f64 / 1024.0),
        None => println!("  server peak RSS:   unknown (no /proc on this system)"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Keys, CSRs and certificates for the benchmark account, signed by the node's CA.
fn enroll(dir: &Path, data: &Path, port: u16) -> anyhow::Result<ClientSettings> {
    let tenant = TenantId::parse(TENANT)?;
    let ca = CertificateAuthority::open(&data.join("ca"), None)?;
    let subject = SubjectFields::new("medgate bench", "bench", Country::parse("PL")?)?;
    let certs = dir.join("certs");
    files::ensure_dir(&certs)?;
    for kind in [CertKind::Tls, CertKind::Wss] {
        let (key, csr) = generate_tenant_csr(&tenant, kind, &subject, KeyAlgorithm::EcdsaP256)?;
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
}
