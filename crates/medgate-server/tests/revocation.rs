//! A revoked or expired certificate opens nothing, from the next request on: in process, a
//! repository node on loopback, the clinic's own client (kept-alive connections, signed
//! writes) and a bare rustls client that shows each way a request can arrive — a new
//! connection, a connection kept alive across the revocation, a resumed TLS 1.3 session — and
//! a second node on a shared PostgreSQL database that learns of a revocation made on the first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use medgate_client::{ClientError, ClientSettings, RepositoryClient};
use medgate_pki::ca::{RevocationReason, Validity};
use medgate_test_peers::{require, without_password, POSTGRES_INSTALL};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;

use support::{copy, days, ending_in, refusal as api_code, Clinic, Node, Options, Plan};

async fn start_node(data: &Path, database_url: Option<&str>) -> Node {
    Node::start_at(
        data,
        Options {
            database_url: database_url.map(str::to_owned),
            ..Options::default()
        },
    )
    .await
}

/// Creates the account, issues its certificates with the node's CA and activates it through
/// the API, as `tenant create`, `ca sign` and `client activate` do.
async fn enrol(node: &Node, tenant: &str, dir: &Path, tls_validity: Validity, wss_validity: Validity) -> Clinic {
    node.create_tenant(
        tenant,
        Plan {
            valid_from: OffsetDateTime::now_utc() - time::Duration::days(1),
            valid_to: OffsetDateTime::now_utc() + time::Duration::days(365),
            quota_bytes: 10 * 1024 * 1024,
            max_files: 100,
        },
    )
    .await;
    let clinic = node.prepare_with(tenant, dir, tls_validity, wss_validity);
    let _: Value = clinic.activate().await.unwrap();
    clinic
}

/// A signed write: the account's setting of one document type.
async fn signed_write(client: &RepositoryClient) -> Result<(), ClientError> {
    client
        .send_json::<Value>(
            Method::PUT,
            "/api/v1/document-types/DWP",
            &json!({ "archive_automatically": true, "keep_local_days": 0 }),
        )
        .await
        .map(|_| ())
}

/// A bare TLS client with the clinic's TLS certificate; one config remembers sessions, so a
/// second connection with it resumes the first one's session.
fn tls_config(node: &Node, clinic: &Clinic) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(node.ca.certificate().der().to_vec())).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![CertificateDer::from(clinic.tls.1.der().to_vec())],
            PrivateKeyDer::Pkcs8(copy(&clinic.tls.0).pkcs8_der().to_vec().into()),
        )
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

type Stream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

async fn connect(node: &Node, config: &Arc<rustls::ClientConfig>) -> std::io::Result<Stream> {
    let tcp = tokio::net::TcpStream::connect(node.address).await?;
    let connector = tokio_rustls::TlsConnector::from(config.clone());
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

fn resumed(stream: &Stream) -> bool {
    stream.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
}

/// `GET /api/v1/account` over an open connection (HTTP/1.1, kept alive): status and body. An
/// error when the server closed the connection (a refused handshake shows here in TLS 1.3,
/// where the client learns of it at its first read).
async fn get_account(stream: &mut Stream, tenant: &str) -> std::io::Result<(u16, Value)> {
    let request = format!(
        "GET /api/v1/account HTTP/1.1\r\nHost: localhost\r\nmedgate-tenant: {tenant}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer).into_owned();
        let Some(end) = text.find("\r\n\r\n") else { continue };
        let head = &text[..end];
        let length: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .expect("content-length");
        if buffer.len() < end + 4 + length {
            continue;
        }
        let status = head[9..12].parse().unwrap();
        let body = serde_json::from_slice(&buffer[end + 4..end + 4 + length]).unwrap();
        return Ok((status, body));
    }
}

/// Waits until a new connection with `config`'s certificate is refused; returns how long it
/// took.
async fn until_new_connections_refused(node: &Node, clinic: &Clinic) -> Duration {
    let started = Instant::now();
    let tenant = clinic.settings.tenant.as_str().to_owned();
    loop {
        // A fresh config each time: no session to resume, a full handshake.
        let fresh = tls_config(node, clinic);
        let outcome = match connect(node, &fresh).await {
            Ok(mut stream) => get_account(&mut stream, &tenant).await,
            Err(error) => Err(error),
        };
        if outcome.is_err() {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "a revoked certificate is still accepted: {outcome:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_tls_certificate_opens_nothing_from_the_next_request_on() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(&dir.path().join("data"), None).await;
    let clinic = enrol(&node, "0000000000005010", &dir.path().join("clinic"), days(30), days(30)).await;
    let other = enrol(&node, "0000000000005011", &dir.path().join("other"), days(30), days(30)).await;
    let tenant = clinic.settings.tenant.as_str().to_owned();

    // Before: the clinic's client (connections kept alive in its pool) and a bare connection
    // whose session a later connection resumes.
    let client = RepositoryClient::new(&clinic.settings).unwrap();
    client.get_json::<Value>("/api/v1/account").await.unwrap();
    let config = tls_config(&node, &clinic);
    let mut kept_alive = connect(&node, &config).await.unwrap();
    assert_eq!(get_account(&mut kept_alive, &tenant).await.unwrap().0, 200);
    let mut before_revocation = connect(&node, &config).await.unwrap();
    assert!(resumed(&before_revocation), "the server resumes TLS 1.3 sessions");
    assert_eq!(get_account(&mut before_revocation, &tenant).await.unwrap().0, 200);

    // The operator revokes the TLS certificate in the CA folder.
    node.ca.revoke(&clinic.tls_serial, RevocationReason::KeyCompromise).unwrap();
    let took = until_new_connections_refused(&node, &clinic).await;
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // The connection kept alive across the revocation: refused on its next request.
    let (status, body) = get_account(&mut kept_alive, &tenant).await.unwrap();
    assert_eq!((status, body["code"].as_str()), (403, Some("certificate_revoked")), "{body}");
    assert!(body["message"].as_str().unwrap().contains(&clinic.tls_serial), "{body}");
    // A resumed session makes no new certificate check in the handshake: the request is refused.
    let mut resumed_after = connect(&node, &config).await.unwrap();
    assert!(resumed(&resumed_after));
    let (status, body) = get_account(&mut resumed_after, &tenant).await.unwrap();
    assert_eq!((status, body["code"].as_str()), (403, Some("certificate_revoked")), "{body}");
    // The clinic's own client, with its pooled connection, likewise.
    let (status, code, _) = api_code(client.get_json::<Value>("/api/v1/account").await);
    assert_eq!((status, code.as_str()), (403, "certificate_revoked"));

    // The node re-issued its CRL with the serial (read back with the CA's own parser).
    let crl = std::fs::read_to_string(node.data.join("ca").join("crl.pem")).unwrap();
    assert!(crl.contains("BEGIN X509 CRL"));
    assert!(node.ca.is_revoked(&clinic.tls_serial).unwrap());
    // Another account is untouched.
    let other_client = RepositoryClient::new(&other.settings).unwrap();
    other_client.get_json::<Value>("/api/v1/account").await.unwrap();
    signed_write(&other_client).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_or_expired_wss_certificate_signs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(&dir.path().join("data"), None).await;
    let revoked = enrol(&node, "0000000000005020", &dir.path().join("revoked"), days(30), days(30)).await;
    let expiring = enrol(&node, "0000000000005021", &dir.path().join("expiring"), days(30), ending_in(3)).await;
    let revoked_client = RepositoryClient::new(&revoked.settings).unwrap();
    let expiring_client = RepositoryClient::new(&expiring.settings).unwrap();
    signed_write(&revoked_client).await.unwrap();
    signed_write(&expiring_client).await.unwrap();

    node.ca.revoke(&revoked.wss_serial, RevocationReason::KeyCompromise).unwrap();
    let started = Instant::now();
    let refusal = loop {
        match signed_write(&revoked_client).await {
            Ok(()) => assert!(started.elapsed() < Duration::from_secs(1), "still accepted after {:?}", started.elapsed()),
            Err(error) => break api_code(Err::<(), _>(error)),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((refusal.0, refusal.1.as_str()), (403, "certificate_revoked"), "{}", refusal.2);
    assert!(refusal.2.contains("WSS (signing) certificate") && refusal.2.contains(&revoked.wss_serial), "{}", refusal.2);
    // Reading needs only the TLS certificate, which is still good.
    revoked_client.get_json::<Value>("/api/v1/account").await.unwrap();

    // The WSS certificate expires: its signatures are refused from then on.
    let not_after = expiring_client.wss_certificate().summary().unwrap().not_after;
    let wait = (not_after - OffsetDateTime::now_utc()).whole_milliseconds().max(0) as u64 + 1500;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let (status, code, message) = api_code(signed_write(&expiring_client).await);
    assert_eq!((status, code.as_str()), (403, "certificate_expired"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_tls_certificate_is_refused_on_kept_alive_and_resumed_connections() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(&dir.path().join("data"), None).await;
    let clinic = enrol(&node, "0000000000005030", &dir.path().join("clinic"), ending_in(4), days(30)).await;
    let tenant = clinic.settings.tenant.as_str().to_owned();
    let config = tls_config(&node, &clinic);
    let mut kept_alive = connect(&node, &config).await.unwrap();
    assert_eq!(get_account(&mut kept_alive, &tenant).await.unwrap().0, 200);

    let not_after = clinic.tls.1.summary().unwrap().not_after;
    let wait = (not_after - OffsetDateTime::now_utc()).whole_milliseconds().max(0) as u64 + 1500;
    tokio::time::sleep(Duration::from_millis(wait)).await;

    let (status, body) = get_account(&mut kept_alive, &tenant).await.unwrap();
    assert_eq!((status, body["code"].as_str()), (403, Some("certificate_expired")), "{body}");
    let mut resumed_after = connect(&node, &config).await.unwrap();
    assert!(resumed(&resumed_after));
    let (status, body) = get_account(&mut resumed_after, &tenant).await.unwrap();
    assert_eq!((status, body["code"].as_str()), (403, Some("certificate_expired")), "{body}");
    // A full handshake with it fails.
    let fresh = tls_config(&node, &clinic);
    let outcome = match connect(&node, &fresh).await {
        Ok(mut stream) => get_account(&mut stream, &tenant).await,
        Err(error) => Err(error),
    };
    assert!(outcome.is_err(), "{outcome:?}");
}

/// A database for the two nodes, under the one missing-peer rule: an unreachable PostgreSQL
/// fails the test with how to get one, or, with `MEDGATE_SKIP_MISSING_PEERS=1`, is a loud
/// SKIPPED line and `None`.
fn postgres_database() -> Option<String> {
    let base = std::env::var("MEDGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("medgate_revocation_{}", std::process::id());
    let psql = |sql: String| std::process::Command::new("psql").args([&base, "-v", "ON_ERROR_STOP=1", "-qAtc", &sql]).output();
    let _ = psql(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    let probe = match psql(format!("CREATE DATABASE {name}")) {
        Ok(output) if output.status.success() => {
            let slash = base.rfind('/').unwrap();
            Ok(format!("{}/{name}", &base[..slash]))
        }
        Ok(output) => Err(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
        Err(error) => Err(format!("psql: {error}")),
    };
    require(
        &format!("PostgreSQL at {}", without_password(&base)),
        POSTGRES_INSTALL,
        probe,
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_node_reaches_a_second_node_on_postgres_within_a_second() {
    let Some(url) = postgres_database() else { return };
    let dir = tempfile::tempdir().unwrap();
    let first = start_node(&dir.path().join("first"), Some(&url)).await;
    let clinic = enrol(&first, "0000000000005040", &dir.path().join("clinic"), days(30), days(30)).await;
    // The second node has a copy of the CA folder (as on another machine, copied after the
    // clinic's certificates were issued) and the same database.
    copy_dir(&dir.path().join("first").join("ca"), &dir.path().join("second").join("ca"));
    let second = start_node(&dir.path().join("second"), Some(&url)).await;
    let on_second = ClientSettings {
        server: second.url.clone(),
        ..clinic.settings.clone()
    };
    let client = RepositoryClient::new(&on_second).unwrap();
    client.get_json::<Value>("/api/v1/account").await.unwrap();
    signed_write(&client).await.unwrap();
    let config = tls_config(&second, &clinic);
    let mut kept_alive = connect(&second, &config).await.unwrap();
    assert_eq!(get_account(&mut kept_alive, clinic.settings.tenant.as_str()).await.unwrap().0, 200);

    // Revoked in the FIRST node's CA folder; the second node refuses within a second.
    first.ca.revoke(&clinic.tls_serial, RevocationReason::KeyCompromise).unwrap();
    let took = until_new_connections_refused(&second, &clinic).await;
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let (status, body) = get_account(&mut kept_alive, clinic.settings.tenant.as_str()).await.unwrap();
    assert_eq!((status, body["code"].as_str()), (403, Some("certificate_revoked")), "{body}");
    // The second node wrote the revocation into its own CA folder, so its CRL has it.
    assert!(second.ca.is_revoked(&clinic.tls_serial).unwrap());
    // Both nodes said what they enforce.
    let since = OffsetDateTime::now_utc() - time::Duration::seconds(10);
    let nodes = first.metadata.node_revocation_status(since).await.unwrap();
    let generation = first.metadata.revocation_generation().await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                let nodes = first.metadata.node_revocation_status(since).await.unwrap();
                if nodes.len() >= 2 && nodes.iter().all(|n| n.applied_seq >= generation.highest_seq) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .is_ok(),
        "{nodes:?}"
    );
    drop_database(&url);
}

fn drop_database(url: &str) {
    if let Some((base, name)) = url.rsplit_once('/') {
        let _ = std::process::Command::new("psql")
            .args([&format!("{base}/postgres"), "-qAtc", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")])
            .output();
    }
}
