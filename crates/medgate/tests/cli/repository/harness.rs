//! Starting a real repository node and enrolling tenants the way an operator and a clinic
//! would: `tenant create`, `pki csr`, `ca sign`, `client activate`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use medgate_test_peers::{require, without_password, MOTO_INSTALL, POSTGRES_INSTALL};

use crate::support::{medgate, run_ok};

/// The storage backend a node runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite and content files, both in the data folder.
    Sqlite,
    /// The scale-out configuration: PostgreSQL, and content in an S3 bucket (a local moto).
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
    /// `--config FILE` holding the `[content]` section, when content is in S3.
    pub config: Option<PathBuf>,
    /// The S3 server holding the content; a field, so it is dropped after `drop` has killed
    /// the node, and kept across `restart`.
    s3: Option<MotoServer>,
}

/// The bucket a node on S3 keeps its content in (objects `content/<key>`).
pub const BUCKET: &str = "medgate-e2e";

/// The PostgreSQL server the tests use; `MEDGATE_TEST_POSTGRES_URL` overrides.
pub fn postgres_base_url() -> String {
    std::env::var("MEDGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn psql(sql: &str) -> Option<Output> {
    Command::new("psql")
        .args([&postgres_base_url(), "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .ok()
}

/// Creates a fresh PostgreSQL database for one test, under the one missing-peer rule: an
/// unreachable PostgreSQL fails the test with how to get one, or, with
/// `MEDGATE_SKIP_MISSING_PEERS=1`, is a loud SKIPPED line and `None`.
pub fn fresh_postgres_database() -> Option<(String, String)> {
    let name = format!("medgate_e2e_{}", random_suffix());
    let probe = match psql(&format!("CREATE DATABASE {name}")) {
        Some(output) if output.status.success() => {
            let base = postgres_base_url();
            let url = match base.rfind('/') {
                Some(slash) if slash > "postgres://".len() => format!("{}/{name}", &base[..slash]),
                _ => format!("{base}/{name}"),
            };
            Ok((name, url))
        }
        Some(output) => Err(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
        None => Err("psql is not installed".to_owned()),
    };
    require(
        &format!("PostgreSQL at {}", without_password(&postgres_base_url())),
        POSTGRES_INSTALL,
        probe,
    )
}

fn random_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}_{nanos}", std::process::id())
}

impl Node {
    /// Starts a node; `None` only when a peer of the backend is missing and
    /// `MEDGATE_SKIP_MISSING_PEERS=1` (the test is then skipped loudly).
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
        let (postgres_database, database_url, s3, config) = match backend {
            Backend::Sqlite => (None, None, None, None),
            Backend::Postgres => {
                // Moto takes seconds to start: the database is created meanwhile.
                let s3 = MotoServer::launch(&dir.path().join("moto.log"))?;
                let (name, url) = fresh_postgres_database()?;
                let s3 = match s3.ready() {
                    Ok(s3) => s3,
                    Err(missing) => {
                        let _ = psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                        return require("the moto S3 server", MOTO_INSTALL, Err(missing));
                    }
                };
                // The server does not create its bucket; the operator does, once.
                s3.create_bucket(BUCKET);
                let config = s3.write_config(dir.path());
                (Some(name), Some(url), Some(s3), Some(config))
            }
        };
        let child = spawn(
            &data,
            database_url.as_deref(),
            config.as_deref(),
            "127.0.0.1:0",
            &extra_args,
        );
        let mut node = Node {
            child,
            port: 0,
            dir,
            data,
            database_url,
            postgres_database,
            extra_args,
            config,
            s3,
        };
        node.port = read_port(&mut node.child);
        Some(node)
    }

    /// Starts again on the same data folder, database, bucket and port (after `kill`).
    pub fn restart(&mut self) {
        self.child = spawn(
            &self.data,
            self.database_url.as_deref(),
            self.config.as_deref(),
            &format!("127.0.0.1:{}", self.port),
            &self.extra_args,
        );
        read_port(&mut self.child);
    }

    /// Whether document content is in the S3 bucket rather than under `DATA/content`.
    pub fn content_in_s3(&self) -> bool {
        self.s3.is_some()
    }

    /// The S3 server holding the content (bucket [`BUCKET`]), when there is one.
    pub fn s3(&self) -> Option<&MotoServer> {
        self.s3.as_ref()
    }

    /// The stored content object holding exactly `bytes`, found behind the API's back: a
    /// file under `DATA/content`, or an object in the bucket.
    pub fn content_holding(&self, bytes: &[u8]) -> Option<StoredContent> {
        match &self.s3 {
            None => content_file_with(&self.data.join("content"), bytes).map(StoredContent::File),
            Some(s3) => s3
                .keys(BUCKET, "content/")
                .into_iter()
                .find(|key| s3.get(BUCKET, key).as_deref() == Some(bytes))
                .map(StoredContent::Object),
        }
    }

    /// Replaces a stored content object's bytes behind the API's back.
    pub fn overwrite_content(&self, stored: &StoredContent, bytes: &[u8]) {
        match (stored, &self.s3) {
            (StoredContent::File(path), _) => {
                std::fs::write(path, bytes).expect("content file written")
            }
            (StoredContent::Object(key), Some(s3)) => s3.put(BUCKET, key, bytes),
            (StoredContent::Object(key), None) => panic!("{key}: this node has no S3 store"),
        }
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

    /// Arguments selecting this node's store for operator commands, as `medgate serve` got
    /// them (`--data` first; none of these commands reads content, but an operator of a
    /// scale-out node passes the same configuration file).
    pub fn store_args(&self) -> Vec<String> {
        let mut args = vec!["--data".to_owned(), self.data.to_string_lossy().into_owned()];
        if let Some(url) = &self.database_url {
            args.push("--database-url".into());
            args.push(url.clone());
        }
        if let Some(config) = &self.config {
            args.push("--config".into());
            args.push(config.to_string_lossy().into_owned());
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
        // The server goes first; moto (the `s3` field) is dropped after this body.
        self.kill();
        if let Some(name) = &self.postgres_database {
            let _ = psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn spawn(
    data: &Path,
    database_url: Option<&str>,
    config: Option<&Path>,
    listen: &str,
    extra: &[String],
) -> Child {
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
    // The file holds only `[content]`; the flags above win over anything else in it.
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    command.spawn().expect("medgate serve starts")
}

/// A stored content object, as [`Node::content_holding`] found it.
#[derive(Debug)]
pub enum StoredContent {
    /// A file of the filesystem content store.
    File(PathBuf),
    /// The key of an object in [`BUCKET`].
    Object(String),
}

/// The file of the filesystem content store that holds exactly `bytes`.
fn content_file_with(dir: &Path, bytes: &[u8]) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = content_file_with(&path, bytes) {
                return Some(found);
            }
        } else if std::fs::read(&path).ok().as_deref() == Some(bytes) {
            return Some(path);
        }
    }
    None
}

/// A moto S3 server on a free loopback port, killed when dropped (as in the storage
/// crate's tests).
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
    address: SocketAddr,
    /// Its stderr: the reason when it does not start, and the requests it served.
    log: PathBuf,
}

impl MotoServer {
    /// Launches moto in the background, its log in `log`; it takes seconds to start, so the
    /// caller does other work before [`MotoServer::ready`]. Without `python3`, the one
    /// missing-peer rule: the test fails, or, with `MEDGATE_SKIP_MISSING_PEERS=1`, `None`
    /// after a loud SKIPPED line.
    pub fn launch(log: &Path) -> Option<MotoServer> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log_file = std::fs::File::create(log).expect("moto log file");
        let spawned = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(error) => {
                return require(
                    "python3 for the moto S3 server",
                    &format!("apt-get install python3, then {MOTO_INSTALL}"),
                    Err(format!("python3 cannot run: {error}")),
                );
            }
        };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        Some(MotoServer {
            child,
            endpoint: format!("http://{address}"),
            address,
            log: log.to_owned(),
        })
    }

    /// Waits until moto listens; `Err` says that moto is not installed, for the caller to
    /// tidy up and hand to the missing-peer rule.
    pub fn ready(mut self) -> Result<MotoServer, String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(self.address).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                if log.contains("No module named") {
                    return Err("Python module moto.server is not installed".into());
                }
                panic!(
                    "moto exited ({status}) before listening on {}: {log}",
                    self.address
                );
            }
            assert!(
                Instant::now() < deadline,
                "moto did not start listening on {}",
                self.address
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(self)
    }

    /// Writes the secret key and a configuration file holding only `[content]` into `dir`;
    /// returns the file.
    fn write_config(&self, dir: &Path) -> PathBuf {
        let secret = dir.join("s3-secret");
        std::fs::write(&secret, "medgate-e2e-secret\n").expect("S3 secret file");
        let config = dir.join("medgate.toml");
        std::fs::write(
            &config,
            format!(
                "[content]\nkind = \"s3\"\nendpoint = \"{}\"\nbucket = \"{BUCKET}\"\n\
                 region = \"us-east-1\"\naccess_key_id = \"medgate-e2e\"\n\
                 secret_access_key_file = \"{}\"\n",
                self.endpoint,
                secret.to_string_lossy()
            ),
        )
        .expect("medgate.toml");
        config
    }

    /// One request; returns the status and the body. Moto does not check signatures, but
    /// it refuses anonymous reads, so a placeholder `Authorization` header goes along.
    fn request(&self, method: &str, target: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(self.address).expect("moto reachable");
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=medgate-e2e/20250101/us-east-1/s3/aws4_request, \
             SignedHeaders=host, Signature=0\r\nConnection: close\r\n\r\n",
            self.address,
            body.len()
        )
        .expect("request sent");
        stream.write_all(body).expect("request body sent");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("response read");
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("response headers end");
        let head = String::from_utf8_lossy(&response[..split]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("moto status line: {head}"));
        (status, response[split + 4..].to_vec())
    }

    /// Creates a bucket (the server does not; an operator creates it once).
    pub fn create_bucket(&self, bucket: &str) {
        let (status, body) = self.request("PUT", &format!("/{bucket}"), b"");
        assert_eq!(
            status,
            200,
            "creating bucket {bucket}: {}",
            String::from_utf8_lossy(&body)
        );
    }

    /// The keys under `prefix` (one page of up to 1000 is plenty for a test).
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let (status, body) = self.request(
            "GET",
            &format!("/{bucket}?list-type=2&prefix={prefix}"),
            b"",
        );
        let listing = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "listing {bucket}: {listing}");
        assert!(
            !listing.contains("<IsTruncated>true"),
            "more than one page in {bucket}"
        );
        listing
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_owned()))
            .collect()
    }

    /// An object's bytes, `None` when there is no such object.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        match self.request("GET", &format!("/{bucket}/{key}"), b"") {
            (200, body) => Some(body),
            (404, _) => None,
            (status, body) => panic!("reading {key}: {status} {}", String::from_utf8_lossy(&body)),
        }
    }

    /// Writes an object.
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let (status, body) = self.request("PUT", &format!("/{bucket}/{key}"), bytes);
        assert_eq!(
            status,
            200,
            "writing {key}: {}",
            String::from_utf8_lossy(&body)
        );
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
