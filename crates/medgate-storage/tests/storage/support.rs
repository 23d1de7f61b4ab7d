//! Test harness: a fresh database per test on SQLite (a temporary folder) or PostgreSQL (a
//! new `medgate_test_<random>` database, dropped afterwards), a local S3 server (moto), and
//! builders for test data.

use std::future::Future;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use medgate_ids::{Oid, TenantId};
use medgate_storage::{
    ContentKey, DocumentId, DocumentKind, DocumentMetadata, Metadata, NewTenant, PatientIdentifier,
    Sha1Digest, Sha256Digest, TenantPlan,
};
use medgate_test_peers::{
    require, require_python, without_password, MOTO_INSTALL, POSTGRES_INSTALL,
};
use sqlx::{Connection, Executor};
use time::macros::datetime;
use time::OffsetDateTime;

/// The PostgreSQL server tests use unless `MEDGATE_TEST_POSTGRES_URL` names another.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// OID of the PESEL namespace.
pub const PESEL_ROOT: &str = "2.16.840.1.113883.3.4424.1.1.616";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What a test gets: the store, and the URL of its own database for raw SQL.
#[derive(Clone, Debug)]
pub struct TestDb {
    pub metadata: Metadata,
    pub url: String,
}

impl TestDb {
    /// Runs a statement directly, bypassing the store (to tamper with rows).
    pub async fn execute_raw(&self, sql: &str) -> u64 {
        let mut connection = sqlx::AnyConnection::connect(&self.url).await.unwrap();
        let result = connection.execute(sql).await.unwrap();
        connection.close().await.unwrap();
        result.rows_affected()
    }
}

fn random_suffix() -> String {
    ContentKey::generate().unwrap().as_str()[..12].to_owned()
}

/// `base` with its database name replaced by `database`.
fn with_database(base: &str, database: &str) -> String {
    let (without_query, query) = match base.split_once('?') {
        Some((url, query)) => (url, format!("?{query}")),
        None => (base, String::new()),
    };
    let (scheme, rest) = without_query.split_once("://").unwrap();
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    format!("{scheme}://{authority}/{database}{query}")
}

enum Environment {
    Sqlite { _folder: tempfile::TempDir },
    Postgres { admin_url: String, database: String },
}

async fn create_environment(backend: Backend) -> Option<(TestDb, Environment)> {
    match backend {
        Backend::Sqlite => {
            let folder = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/medgate.db?mode=rwc", folder.path().display());
            let metadata = Metadata::connect(&url).await.unwrap();
            Some((
                TestDb { metadata, url },
                Environment::Sqlite { _folder: folder },
            ))
        }
        Backend::Postgres => {
            sqlx::any::install_default_drivers();
            let admin_url = std::env::var("MEDGATE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
            let connected = tokio::time::timeout(
                Duration::from_secs(10),
                sqlx::AnyConnection::connect(&admin_url),
            )
            .await;
            let probe = match connected {
                Ok(Ok(connection)) => Ok(connection),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err("no connection within 10 s".to_owned()),
            };
            let mut admin = require(
                &format!("PostgreSQL at {}", without_password(&admin_url)),
                POSTGRES_INSTALL,
                probe,
            )?;
            let database = format!("medgate_test_{}", random_suffix());
            admin
                .execute(format!("CREATE DATABASE {database}").as_str())
                .await
                .unwrap();
            admin.close().await.unwrap();
            let url = with_database(&admin_url, &database);
            let metadata = Metadata::connect(&url).await.unwrap();
            Some((
                TestDb { metadata, url },
                Environment::Postgres {
                    admin_url,
                    database,
                },
            ))
        }
    }
}

async fn destroy_environment(db: TestDb, environment: Environment) {
    db.metadata.close().await;
    match environment {
        Environment::Sqlite { _folder } => drop(_folder),
        Environment::Postgres {
            admin_url,
            database,
        } => {
            let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
            admin
                .execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str())
                .await
                .unwrap();
            admin.close().await.unwrap();
        }
    }
}

/// Runs one test on a fresh database of the backend, then removes the database, also when
/// the test panics (the panic is passed on afterwards).
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some((db, environment)) = create_environment(backend).await else {
        return;
    };
    let outcome = AssertUnwindSafe(test(db.clone())).catch_unwind().await;
    destroy_environment(db, environment).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Generates, for each listed test function, one `#[tokio::test]` per backend:
/// `sqlite::<module>::<test>` and `postgres::<module>::<test>`.
macro_rules! on_both_backends {
    ($($module:ident { $($test:ident),* $(,)? })*) => {
        mod sqlite {
            $(mod $module {
                $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::support::run($crate::support::Backend::Sqlite, $crate::$module::$test).await;
                })*
            })*
        }
        mod postgres {
            $(mod $module {
                $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::support::run($crate::support::Backend::Postgres, $crate::$module::$test).await;
                })*
            })*
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Test data

pub fn tenant_id(number: u64) -> TenantId {
    TenantId::parse(&format!("{number:016}")).unwrap()
}

pub fn plan(quota_bytes: u64, max_files: u64) -> TenantPlan {
    TenantPlan {
        valid_from: datetime!(2025-01-01 00:00 UTC),
        valid_to: datetime!(2027-01-01 00:00 UTC),
        quota_bytes,
        max_files,
    }
}

/// Creates a tenant with the given quota and file limit.
pub async fn create_tenant(
    metadata: &Metadata,
    number: u64,
    quota_bytes: u64,
    max_files: u64,
) -> TenantId {
    let id = tenant_id(number);
    metadata
        .create_tenant(&NewTenant {
            id: id.clone(),
            plan: plan(quota_bytes, max_files),
        })
        .await
        .unwrap();
    id
}

pub fn oid(text: &str) -> Oid {
    Oid::parse(text).unwrap()
}

pub fn pesel_id(pesel: &str) -> PatientIdentifier {
    PatientIdentifier {
        root: oid(PESEL_ROOT),
        extension: pesel.to_owned(),
    }
}

/// A CDA document's metadata with a fresh content key; `extension` makes the document id.
pub fn document(
    extension: &str,
    pesel: &str,
    effective_time: OffsetDateTime,
    size: u64,
) -> DocumentMetadata {
    let content = format!("content of {extension}");
    DocumentMetadata {
        document_id: DocumentId::from_parts("2.16.840.1.113883.3.4424.2.7.26.7.1", Some(extension))
            .unwrap(),
        set_id: Some(
            DocumentId::from_parts("2.16.840.1.113883.3.4424.2.7.26.7.2", Some(extension)).unwrap(),
        ),
        version: Some(1),
        kind: DocumentKind::Cda,
        type_code: Some("11490-0".to_owned()),
        type_system: Some("2.16.840.1.113883.6.1".to_owned()),
        type_display: Some("Karta informacyjna leczenia szpitalnego".to_owned()),
        class_code: Some("KIF".to_owned()),
        title: Some(format!("Karta informacyjna {extension}")),
        effective_time,
        effective_time_as_written: None,
        confidentiality: Some("N".to_owned()),
        language: Some("pl-PL".to_owned()),
        patient: pesel_id(pesel),
        other_patient_ids: Vec::new(),
        patient_name: Some("Jan Kowalski".to_owned()),
        patient_birth_date: Some(time::macros::date!(1944 - 05 - 14)),
        patient_gender: Some("M".to_owned()),
        author_name: Some("Łucja Żółkiewska".to_owned()),
        author_id: Some("5425740".to_owned()),
        organisation: Some("Przychodnia".to_owned()),
        custodian: Some("Przychodnia (Asseco Poland S.A.)".to_owned()),
        legal_authenticator: Some("Łucja Żółkiewska".to_owned()),
        service_event_json: Some(r#"{"code":"1"}"#.to_owned()),
        content_type: "text/xml".to_owned(),
        size_bytes: size,
        sha256: Sha256Digest::of(content.as_bytes()),
        sha1: Sha1Digest::of(content.as_bytes()),
        content_key: ContentKey::generate().unwrap(),
    }
}

// ---------------------------------------------------------------------------------------------
// A local S3 server

/// A moto S3 server on a free loopback port, killed when dropped.
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
    address: SocketAddr,
}

impl MotoServer {
    /// Starts moto. Not installed, the one missing-peer rule: the test fails with how to
    /// install it, or, with `MEDGATE_SKIP_MISSING_PEERS=1`, gets `None` after a loud
    /// SKIPPED line.
    pub fn start() -> Option<MotoServer> {
        let python = require_python("moto.server, flask, flask_cors", MOTO_INSTALL)?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python)
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
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m moto.server starts");
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let server = MotoServer {
            child,
            endpoint: format!("http://{address}"),
            address,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(address).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start listening on {address}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(server)
    }

    /// Creates a bucket (moto does not check request signatures).
    pub fn create_bucket(&self, bucket: &str) {
        let mut stream = TcpStream::connect(self.address).unwrap();
        write!(
            stream,
            "PUT /{bucket} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.address
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
            "creating bucket {bucket} failed: {response}"
        );
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
