//! Starting a real repository node and enrolling tenants the way an operator and a clinic
//! would: `tenant create`, `pki csr`, `ca sign`, `client activate`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{medgate, run_ok};

/// The storage backend a node runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running `medgate serve`, stopped (SIGKILL) when dropped.
pub struct Node {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub database_url: Option<String>,
    postgres_database: Option<String>,
    /// Further `medgate serve` arguments (role, registry link), kept for `restart`.
    pub extra_args: Vec<String>,
}

/// The PostgreSQL server the tests use; `MEDGATE_TEST_POSTGRES_URL` overrides.
pub fn postgres_base_url() -> String {
    std::env::var("MEDGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn psql(sql: &str) -> Option<Output> {
    Command::new("psql")
        .args([&postgres_base_url(), "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .ok()
}

/// Creates a fresh PostgreSQL database for one test, or says loudly why it cannot: under
/// `CI=true` a missing PostgreSQL fails the test, elsewhere the test is skipped.
pub fn fresh_postgres_database() -> Option<(String, String)> {
    let name = format!("medgate_e2e_{}", random_suffix());
    match psql(&format!("CREATE DATABASE {name}")) {
        Some(output) if output.status.success() => {
            let base = postgres_base_url();
            let url = match base.rfind('/') {
                Some(slash) if slash > "postgres://".len() => format!("{}/{name}", &base[..slash]),
                _ => format!("{base}/{name}"),
            };
            Some((name, url))
        }
        other => {
            let why = match other {
                Some(output) => String::from_utf8_lossy(&output.stderr).into_owned(),
                None => "psql is not installed".to_owned(),
            };
            let message = format!(
                "PostgreSQL not reachable at {} ({}); set MEDGATE_TEST_POSTGRES_URL",
                postgres_base_url(),
                why.trim()
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{message}");
            }
            eprintln!("\n*** SKIPPED: {message} ***\n");
            None
        }
    }
}

fn random_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}_{nanos}", std::process::id())
}

impl Node {
    /// Starts a node; `None` only when the backend is unavailable and the test is skipped.
    pub fn start(backend: Backend) -> Option<Node> {
        Self::start_with(backend, &[])
    }

    /// Starts a national registry node (`--role registry`, SQLite) with its own CA.
    pub fn start_registry() -> Node {
        Self::start_with(Backend::Sqlite, &["--role", "registry"]).expect("SQLite is always available")
    }

    /// Starts a node with further `medgate serve` arguments.
    pub fn start_with(backend: Backend, extra: &[&str]) -> Option<Node> {
        let extra_args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let dir = crate::support::temp_dir();
        let data = dir.path().join("data");
        let (postgres_database, database_url) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => {
                let (name, url) = fresh_postgres_database()?;
                (Some(name), Some(url))
            }
        };
        let mut node = Node {
            child: spawn(&data, database_url.as_deref(), "127.0.0.1:0", &extra_args),
            port: 0,
            dir,
            data,
            database_url,
            postgres_database,
            extra_args,
        };
        node.port = read_port(&mut node.child);
        Some(node)
    }

    /// Starts again on the same data folder and port (after `kill`).
    pub fn restart(&mut self) {
        self.child = spawn(
            &self.data,
            self.database_url.as_deref(),
            &format!("127.0.0.1:{}", self.port),
            &self.extra_args,
        );
        read_port(&mut self.child);
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn ca(&self) -> PathBuf {
        self.data.join("ca").join("ca.pem")
    }

    /// Arguments selecting this node's database for operator commands.
    pub fn store_args(&self) -> Vec<String> {
        let mut args = vec!["--data".to_owned(), self.data.to_string_lossy().into_owned()];
        if let Some(url) = &self.database_url {
            args.push("--database-url".into());
            args.push(url.clone());
        }
        args
    }

    /// Runs `medgate tenant <args>` against this node's store.
    pub fn tenant(&self, args: &[&str]) -> String {
        let mut all: Vec<String> = vec!["tenant".into()];
        all.extend(args.iter().map(|s| s.to_string()));
        all.extend(self.store_args());
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run_ok(&refs)
    }

    /// Creates an account with a generous plan valid now.
    pub fn create_tenant(&self, id: &str, quota_mb: u64, max_files: u64) {
        self.tenant(&[
            "create",
            "--id",
            id,
            "--valid-from",
            "2020-01-01",
            "--valid-to",
            "2099-12-31",
            "--quota-mb",
            &quota_mb.to_string(),
            "--max-files",
            &max_files.to_string(),
        ]);
    }

    /// Creates, enrolls and activates a tenant; returns its client.
    pub fn enroll(&self, id: &str, quota_mb: u64, max_files: u64) -> Clinic {
        self.create_tenant(id, quota_mb, max_files);
        let clinic = Clinic::prepare(self, id);
        clinic.run_ok(&["activate", "--provider-oid", "2.16.840.1.113883.3.4424.2.7.26"]);
        clinic
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        if let Some(name) = &self.postgres_database {
            let _ = psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn spawn(data: &Path, database_url: Option<&str>, listen: &str, extra: &[String]) -> Child {
    let mut command = medgate();
    command
        .args(["serve", "--data", &data.to_string_lossy(), "--listen", listen])
        .args(extra)
        .env("MEDGATE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    command.spawn().expect("medgate serve starts")
}

/// Reads the "listening on https://127.0.0.1:PORT" line (waiting up to 60 s).
fn read_port(child: &mut Child) -> u16 {
    let stdout = child.stdout.take().expect("stdout piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = sender.send(line);
        }
        // Keep draining so the server never blocks on a full pipe.
        for _ in lines {}
    });
    let line = receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("medgate serve printed its address");
    let address = line
        .split("https://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("address in the first line");
    address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

/// A clinic's folder: keys, certificates, client.toml.
pub struct Clinic {
    pub tenant: String,
    pub dir: PathBuf,
    pub config: PathBuf,
}

impl Clinic {
    /// Generates keys and CSRs, has the node's CA sign them, writes client.toml.
    pub fn prepare(node: &Node, tenant: &str) -> Clinic {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        let number = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = node.dir.path().join(format!("clinic-{tenant}-{number}"));
        std::fs::create_dir_all(&dir).expect("clinic folder");
        let certs = dir.join("certs");
        let password = dir.join("password");
        std::fs::write(&password, "clinic-secret\n").expect("password");
        let s = |p: &Path| p.to_string_lossy().into_owned();
        run_ok(&[
            "pki", "csr", "--tenant", tenant, "--org", "Przychodnia Test", "--unit", "IT",
            "--country", "PL", "--out", &s(&certs), "--algorithm", "p256",
            "--password-file", &s(&password),
        ]);
        let ca_dir = node.data.join("ca");
        for kind in ["tls", "wss"] {
            run_ok(&[
                "ca", "sign", "--dir", &s(&ca_dir),
                "--csr", &s(&certs.join(format!("{kind}.csr"))),
                "--out", &s(&certs.join(format!("{kind}.pem"))),
            ]);
        }
        let config = dir.join("client.toml");
        std::fs::write(
            &config,
            format!(
                "server = \"{}\"\ntenant = \"{tenant}\"\ntls_cert = \"certs/tls.pem\"\ntls_key = \"certs/tls.key\"\n\
                 wss_cert = \"certs/wss.pem\"\nwss_key = \"certs/wss.key\"\npassword_file = \"password\"\nca = \"{}\"\n",
                node.url(),
                s(&node.ca())
            ),
        )
        .expect("client.toml");
        Clinic {
            tenant: tenant.to_owned(),
            dir,
            config,
        }
    }

    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<String> {
        let mut all = vec!["client".to_owned(), "--config".to_owned(), self.config.to_string_lossy().into_owned()];
        all.extend(extra.iter().map(|s| s.to_string()));
        all
    }

    /// Runs `medgate client --config … <extra>`, whatever the outcome.
    pub fn run(&self, extra: &[&str]) -> Output {
        medgate().args(self.args(extra)).output().expect("medgate client runs")
    }

    /// Runs a client command that must succeed; returns stdout.
    pub fn run_ok(&self, extra: &[&str]) -> String {
        let output = self.run(extra);
        assert!(
            output.status.success(),
            "medgate client {} failed: {}{}",
            extra.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs a client command that must fail with exit 1; returns stderr.
    pub fn run_fails(&self, extra: &[&str]) -> String {
        let output = self.run(extra);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(1), "should fail: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }

    /// `client account --json`.
    pub fn account(&self) -> serde_json::Value {
        serde_json::from_str(&self.run_ok(&["account", "--json"])).expect("account JSON")
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

/// Waits until `condition` holds (for asynchronous effects), at most `limit`.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
