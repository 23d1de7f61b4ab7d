//! The in-process harness of the server's integration tests (`mod support;` in each test
//! file): a node started inside the test's own runtime (`startup::prepare` on 127.0.0.1:0 and
//! `serve` spawned) on a temporary data folder with SQLite, or on a fresh PostgreSQL
//! database; tenants created in its store and enrolled as `tenant create`, `ca sign` and
//! `client activate` do, through the libraries, each with the clinic's own
//! `RepositoryClient`; CDA documents made from the fixtures ([`documents`]); a cookie-keeping
//! HTTPS client for the web pages and staff logins made as `medgate tenant admin-user` and
//! `medgate operator user` make them ([`web`]); a claims node's fund, desk logins and
//! uploaded packages ([`claims`]).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod claims;
pub mod clinical;
pub mod consents;
pub mod documents;
pub mod streaming;
pub mod web;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use http::Method;
use medgate_client::{ClientError, ClientSettings, RepositoryClient};
use medgate_ids::TenantId;
use medgate_pki::ca::{CertificateAuthority, Validity};
use medgate_pki::csr::{generate_tenant_csr, Country, SubjectFields};
use medgate_pki::files::{Visibility, WriteMode};
use medgate_pki::{CertKind, Certificate, KeyAlgorithm, PrivateKey};
use medgate_server::config::{Overrides, ServerConfig};
use medgate_storage::{Metadata, NewTenant, TenantPlan, TenantStatus};
use medgate_web::clock::Clock;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// The provider OID every enrolled test account activates with.
pub const PROVIDER_OID: &str = "2.16.840.1.113883.3.4424.2.7.26";

/// The store a node runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite and content files, both in the data folder.
    Sqlite,
    /// A fresh PostgreSQL database (content files in the data folder).
    Postgres,
}

/// How a node is started besides its data folder.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `repository` (default) or `registry`.
    pub role: Option<String>,
    /// `None`: SQLite in the data folder.
    pub database_url: Option<String>,
    /// The national registry a repository registers with: its URL and CA file.
    pub registry: Option<(url::Url, PathBuf)>,
    /// A `medgate.toml` to load, as `medgate serve --config` does.
    pub config_file: Option<PathBuf>,
}

/// A node serving in the test's runtime until dropped or [`Node::stop`]ped.
pub struct Node {
    pub url: url::Url,
    pub address: SocketAddr,
    pub data: PathBuf,
    /// The node's CA (the tenant CA, or a registry's national CA).
    pub ca: CertificateAuthority,
    /// The node's own store, opened a second time, as the operator's commands open it.
    pub metadata: Metadata,
    pub database_url: String,
    /// The node's clock (its modules' time), which a test moves forward.
    pub clock: Clock,
    options: Options,
    running: Option<Running>,
    /// The PostgreSQL database made for this node, dropped after it.
    postgres: Option<PostgresDatabase>,
    /// The temporary folder holding `data` (and the clinics' files), when the node made it.
    dir: Option<tempfile::TempDir>,
    clinics: std::sync::atomic::AtomicUsize,
}

struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn serve(
    data: PathBuf,
    options: Options,
    listen: String,
) -> (SocketAddr, Running, String, Clock) {
    let config = ServerConfig::load(
        options.config_file.as_deref(),
        &Overrides {
            data_dir: Some(data),
            listen: Some(listen),
            role: options.role.clone(),
            database_url: options.database_url.clone(),
            registry_url: options.registry.as_ref().map(|(url, _)| url.to_string()),
            registry_ca_file: options.registry.as_ref().map(|(_, ca)| ca.clone()),
            ..Overrides::default()
        },
    )
    .unwrap();
    let database_url = config.database_url.clone();
    let prepared = medgate_server::startup::prepare(config).await.unwrap();
    let address = prepared.local_addr().unwrap();
    let clock = prepared.state.clock.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(prepared.serve(async move {
        let _ = stopped.await;
    }));
    (address, Running { stop, task }, database_url, clock)
}

impl Node {
    /// Starts a repository node on `backend` in a fresh temporary folder; `None` only when
    /// PostgreSQL is unavailable and the test is skipped (see [`fresh_postgres_database`]).
    pub async fn start(backend: Backend) -> Option<Node> {
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_postgres_database()?),
        };
        let options = Options {
            database_url: postgres.as_ref().map(|p| p.url.clone()),
            ..Options::default()
        };
        let mut node = Node::start_with(options).await;
        node.postgres = postgres;
        Some(node)
    }

    /// A clinical record service node (`role = clinical`) on `backend`; `None` only when
    /// PostgreSQL is unavailable and the test is skipped.
    pub async fn start_clinical(backend: Backend) -> Option<Node> {
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_postgres_database()?),
        };
        let options = Options {
            role: Some("clinical".into()),
            database_url: postgres.as_ref().map(|p| p.url.clone()),
            ..Options::default()
        };
        let mut node = Node::start_with(options).await;
        node.postgres = postgres;
        Some(node)
    }

    /// A claims registers node (`role = claims`) on `backend`; `None` only when PostgreSQL
    /// is unavailable and the test is skipped.
    pub async fn start_claims(backend: Backend) -> Option<Node> {
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_postgres_database()?),
        };
        let options = Options {
            role: Some("claims".into()),
            database_url: postgres.as_ref().map(|p| p.url.clone()),
            ..Options::default()
        };
        let mut node = Node::start_with(options).await;
        node.postgres = postgres;
        Some(node)
    }

    /// A repository node on SQLite.
    pub async fn sqlite() -> Node {
        Node::start_with(Options::default()).await
    }

    /// A national registry node (`role = registry`, SQLite) with its own CA.
    pub async fn start_registry() -> Node {
        Node::start_with(Options {
            role: Some("registry".into()),
            ..Options::default()
        })
        .await
    }

    /// A node with `options` in a fresh temporary folder (`DATA` is its `data` folder).
    pub async fn start_with(options: Options) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let mut node = Node::start_at(&dir.path().join("data"), options).await;
        node.dir = Some(dir);
        node
    }

    /// A node on the data folder `data` (created on first start).
    pub async fn start_at(data: &Path, options: Options) -> Node {
        let (address, running, database_url, clock) = serve(
            data.to_path_buf(),
            options.clone(),
            "127.0.0.1:0".to_owned(),
        )
        .await;
        Node {
            url: format!("https://{address}").parse().unwrap(),
            address,
            data: data.to_path_buf(),
            ca: CertificateAuthority::open(&data.join("ca"), None).unwrap(),
            metadata: Metadata::connect(&database_url).await.unwrap(),
            database_url,
            clock,
            options,
            running: Some(running),
            postgres: None,
            dir: None,
            clinics: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The options a repository needs to reach this registry node.
    pub fn as_registry(&self) -> Options {
        Options {
            registry: Some((self.url.clone(), self.ca_pem())),
            ..Options::default()
        }
    }

    /// Stops serving (graceful: open requests are answered) and waits until it has.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            let _ = running.task.await;
        }
    }

    /// Starts again on the same data folder, database and port (after [`Node::stop`]).
    pub async fn restart(&mut self) {
        self.stop().await;
        let listen = self.address.to_string();
        let started = Instant::now();
        // The port was just released; a moment may pass before it can be bound again.
        let (_, running, _, clock) = loop {
            // A start that fails (the port not yet free) panics in its own task.
            let attempt = tokio::spawn(serve(
                self.data.clone(),
                self.options.clone(),
                listen.clone(),
            ));
            match attempt.await.ok() {
                Some(served) => break served,
                None if started.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                None => panic!("the node did not start again on {listen}"),
            }
        };
        self.running = Some(running);
        self.clock = clock;
    }

    /// The CA certificate clients trust (`DATA/ca/ca.pem`).
    pub fn ca_pem(&self) -> PathBuf {
        self.data.join("ca").join("ca.pem")
    }

    /// A folder for files of the test (beside `DATA`).
    pub fn work_dir(&self) -> PathBuf {
        self.data.parent().unwrap().to_path_buf()
    }

    /// Creates an account, as `medgate tenant create` does.
    pub async fn create_tenant(&self, tenant: &str, plan: Plan) {
        self.metadata
            .create_tenant(&NewTenant {
                id: TenantId::parse(tenant).unwrap(),
                plan: plan.into(),
            })
            .await
            .unwrap();
    }

    /// `medgate tenant suspend` / `resume` (back to what activation made of it).
    pub async fn set_status(&self, tenant: &str, status: TenantStatus) {
        self.metadata
            .set_tenant_status(&TenantId::parse(tenant).unwrap(), status)
            .await
            .unwrap();
    }

    /// The clinic's files for `tenant` in a fresh folder: keys, certificates issued by this
    /// node's CA valid for a year, and the client's settings; not activated.
    pub fn prepare(&self, tenant: &str) -> Clinic {
        let number = self
            .clinics
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = self.work_dir().join(format!("clinic-{tenant}-{number}"));
        self.prepare_with(tenant, &dir, days(365), days(365))
    }

    /// The clinic's files in `dir`, with certificates of the given validity.
    pub fn prepare_with(&self, tenant: &str, dir: &Path, tls: Validity, wss: Validity) -> Clinic {
        let id = TenantId::parse(tenant).unwrap();
        let tls = issue(&self.ca, &id, CertKind::Tls, tls);
        let wss = issue(&self.ca, &id, CertKind::Wss, wss);
        std::fs::create_dir_all(dir).unwrap();
        write_certificate(&dir.join("tls.pem"), &tls.1);
        write_certificate(&dir.join("wss.pem"), &wss.1);
        tls.0
            .save(&dir.join("tls.key"), None, WriteMode::Replace)
            .unwrap();
        wss.0
            .save(&dir.join("wss.key"), None, WriteMode::Replace)
            .unwrap();
        let settings = ClientSettings {
            server: self.url.clone(),
            tenant: id.clone(),
            tls_cert: dir.join("tls.pem"),
            tls_key: dir.join("tls.key"),
            wss_cert: dir.join("wss.pem"),
            wss_key: dir.join("wss.key"),
            password_file: None,
            ca: self.ca_pem(),
            timeout: Duration::from_secs(30),
        };
        Clinic {
            client: RepositoryClient::new(&settings).unwrap(),
            tenant: id,
            dir: dir.to_path_buf(),
            settings,
            tls_serial: tls.1.summary().unwrap().serial_hex,
            wss_serial: wss.1.summary().unwrap().serial_hex,
            tls,
            wss,
        }
    }

    /// Creates, enrolls and activates an account; returns its clinic.
    pub async fn enrol(&self, tenant: &str, plan: Plan) -> Clinic {
        self.create_tenant(tenant, plan).await;
        let clinic = self.prepare(tenant);
        clinic.activate().await.unwrap();
        clinic
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            running.task.abort();
        }
    }
}

/// An account's plan.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub valid_from: OffsetDateTime,
    pub valid_to: OffsetDateTime,
    pub quota_bytes: u64,
    pub max_files: u64,
}

impl Plan {
    /// `--valid-from 2020-01-01 --valid-to 2099-12-31 --quota-mb MB --max-files N`, as the
    /// end-to-end tests create their accounts.
    pub fn mb(quota_mb: u64, max_files: u64) -> Plan {
        Plan {
            valid_from: time::macros::datetime!(2020-01-01 0:00 UTC),
            valid_to: time::macros::datetime!(2099-12-31 0:00 UTC),
            quota_bytes: quota_mb * 1024 * 1024,
            max_files,
        }
    }
}

impl From<Plan> for TenantPlan {
    fn from(plan: Plan) -> TenantPlan {
        TenantPlan {
            valid_from: plan.valid_from,
            valid_to: plan.valid_to,
            quota_bytes: plan.quota_bytes,
            max_files: plan.max_files,
        }
    }
}

/// A tenant key pair of `kind` and its certificate, issued by `ca`.
pub fn issue(
    ca: &CertificateAuthority,
    tenant: &TenantId,
    kind: CertKind,
    validity: Validity,
) -> (PrivateKey, Certificate) {
    let subject = SubjectFields::new("Przychodnia", "IT", Country::parse("PL").unwrap()).unwrap();
    let (key, csr) = generate_tenant_csr(tenant, kind, &subject, KeyAlgorithm::EcdsaP256).unwrap();
    let certificate = ca
        .sign_csr(csr.as_bytes(), Path::new("test.csr"), validity)
        .unwrap();
    (key, certificate)
}

/// A second copy of a private key (keys are not `Clone`).
pub fn copy(key: &PrivateKey) -> PrivateKey {
    PrivateKey::from_pkcs8_der(zeroize::Zeroizing::new(key.pkcs8_der().to_vec())).unwrap()
}

/// Valid from now for `n` days.
pub fn days(n: u32) -> Validity {
    Validity::days_from_now(n).unwrap()
}

/// Valid from an hour ago until `seconds` from now.
pub fn ending_in(seconds: i64) -> Validity {
    let now = OffsetDateTime::now_utc();
    Validity::new(
        now - time::Duration::hours(1),
        now + time::Duration::seconds(seconds),
    )
    .unwrap()
}

pub fn write_certificate(path: &Path, certificate: &Certificate) {
    medgate_pki::files::write(
        path,
        certificate.to_pem().as_bytes(),
        WriteMode::Replace,
        Visibility::Public,
    )
    .unwrap();
}

/// A clinic's files (keys, certificates, settings) and its client.
pub struct Clinic {
    pub tenant: TenantId,
    pub dir: PathBuf,
    pub settings: ClientSettings,
    pub tls: (PrivateKey, Certificate),
    pub wss: (PrivateKey, Certificate),
    pub tls_serial: String,
    pub wss_serial: String,
    pub client: RepositoryClient,
}

impl Clinic {
    /// `client activate --provider-oid PROVIDER_OID`.
    pub async fn activate(&self) -> Result<Value, ClientError> {
        self.client
            .send_json(
                Method::POST,
                "/api/v1/account/activate",
                &json!({
                    "provider_oid": PROVIDER_OID,
                    "tls_certificate": self.tls.1.to_pem(),
                    "wss_certificate": self.wss.1.to_pem(),
                }),
            )
            .await
    }

    /// A client with other files in place of some of this clinic's.
    pub fn client_with(
        &self,
        edit: impl FnOnce(&mut ClientSettings),
    ) -> Result<RepositoryClient, ClientError> {
        let mut settings = self.settings.clone();
        edit(&mut settings);
        RepositoryClient::new(&settings)
    }

    /// `GET /api/v1/account`.
    pub async fn account(&self) -> Value {
        self.client.get_json("/api/v1/account").await.unwrap()
    }

    /// (files, used bytes) of the account.
    pub async fn quota(&self) -> (u64, u64) {
        let account = self.account().await;
        (
            account["quota"]["files"].as_u64().unwrap(),
            account["quota"]["used_bytes"].as_u64().unwrap(),
        )
    }

    /// GET and parse, panicking on a refusal.
    pub async fn get(&self, path: &str) -> Value {
        match self.client.get_json(path).await {
            Ok(value) => value,
            Err(error) => panic!("GET {path}: {error}"),
        }
    }

    /// GET, expecting a refusal: (status, code, message).
    pub async fn get_refused(&self, path: &str) -> (u16, String, String) {
        refusal(self.client.get_json::<Value>(path).await)
    }

    /// `POST /api/v1/documents` with a CDA document; the answer's `document`.
    pub async fn put(&self, bytes: impl Into<Vec<u8>>) -> Result<Value, ClientError> {
        let answer: Value = self
            .client
            .send(
                Method::POST,
                "/api/v1/documents",
                Some((bytes.into(), "application/xml")),
            )
            .await?
            .json()?;
        Ok(answer["document"].clone())
    }

    /// `POST /api/v1/attachments?patient=…&title=…[&type=…]`; the answer's `document`.
    pub async fn put_attachment(
        &self,
        bytes: impl Into<Vec<u8>>,
        patient: &str,
        title: &str,
        type_code: Option<&str>,
        content_type: &str,
    ) -> Result<Value, ClientError> {
        let mut path = format!(
            "/api/v1/attachments?patient={}&title={}",
            urlencoding::encode(patient),
            urlencoding::encode(title)
        );
        if let Some(code) = type_code {
            path.push_str(&format!("&type={}", urlencoding::encode(code)));
        }
        let answer: Value = self
            .client
            .send(Method::POST, &path, Some((bytes.into(), content_type)))
            .await?
            .json()?;
        Ok(answer["document"].clone())
    }

    /// `GET /api/v1/documents?…` with the filters given as (name, value) pairs.
    pub async fn search(&self, filters: &[(&str, &str)]) -> Value {
        let query: Vec<String> = filters
            .iter()
            .map(|(name, value)| format!("{name}={}", urlencoding::encode(value)))
            .collect();
        self.get(&format!("/api/v1/documents?{}", query.join("&")))
            .await
    }

    /// The ids of a search's documents, in order.
    pub async fn search_ids(&self, filters: &[(&str, &str)]) -> Vec<String> {
        ids(&self.search(filters).await)
    }

    /// `DELETE /api/v1/documents/{id}`.
    pub async fn delete(&self, id: &str) -> Result<(), ClientError> {
        self.client
            .send(Method::DELETE, &document_path(id, ""), None)
            .await
            .map(|_| ())
    }

    /// The account's audit entries (`GET /api/v1/audit?limit=1000[&patient=…]`), newest first.
    pub async fn audit(&self, patient: Option<&str>) -> Vec<Value> {
        let mut path = "/api/v1/audit?limit=1000".to_owned();
        if let Some(patient) = patient {
            path.push_str(&format!("&patient={}", urlencoding::encode(patient)));
        }
        self.get(&path).await["entries"].as_array().unwrap().clone()
    }
}

/// `/api/v1/documents/<id><suffix>` with the id percent-encoded.
pub fn document_path(id: &str, suffix: &str) -> String {
    format!("/api/v1/documents/{}{suffix}", urlencoding::encode(id))
}

/// The ids of a search answer's documents.
pub fn ids(answer: &Value) -> Vec<String> {
    answer["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The actions of audit entries, in order.
pub fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["action"].as_str().expect("action").to_owned())
        .collect()
}

/// The server's refusal: (status, code, message).
pub fn refusal<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String, String) {
    match result {
        Err(ClientError::Api {
            status,
            code,
            message,
        }) => (status, code, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Waits until `condition` holds, at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A date `days` from today (UTC), as `YYYY-MM-DD`.
pub fn day(days: i64) -> String {
    let date = (OffsetDateTime::now_utc() + time::Duration::days(days)).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A PostgreSQL database made for one test, dropped with it.
pub struct PostgresDatabase {
    pub url: String,
    name: String,
}

/// The PostgreSQL server the tests use; `MEDGATE_TEST_POSTGRES_URL` overrides.
pub fn postgres_base_url() -> String {
    std::env::var("MEDGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn psql(sql: &str) -> std::io::Result<std::process::Output> {
    std::process::Command::new("psql")
        .args([&postgres_base_url(), "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
}

/// A fresh database, under the one missing-peer rule: an unreachable PostgreSQL fails the
/// test with how to get one, or, with `MEDGATE_SKIP_MISSING_PEERS=1`, is a loud SKIPPED line
/// and `None`.
pub fn fresh_postgres_database() -> Option<PostgresDatabase> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("medgate_inproc_{}_{nanos}", std::process::id());
    match psql(&format!("CREATE DATABASE {name}")) {
        Ok(output) if output.status.success() => {
            let base = postgres_base_url();
            let url = match base.rfind('/') {
                Some(slash) if slash > "postgres://".len() => format!("{}/{name}", &base[..slash]),
                _ => format!("{base}/{name}"),
            };
            Some(PostgresDatabase { url, name })
        }
        other => {
            let why = match other {
                Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                Err(error) => format!("psql: {error}"),
            };
            medgate_test_peers::require::<PostgresDatabase>(
                &format!(
                    "PostgreSQL at {}",
                    medgate_test_peers::without_password(&postgres_base_url())
                ),
                medgate_test_peers::POSTGRES_INSTALL,
                Err(why),
            )
        }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let _ = psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}
