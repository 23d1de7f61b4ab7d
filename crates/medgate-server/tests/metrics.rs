//! Metrics and readiness in process: `/metrics` on its own plain-HTTP listener names requests
//! by route template (never the path asked, which may hold a patient's identifier) with their
//! status, counts sign-in refusals and the lock-out, and shows the writer's batches, the pool,
//! the audit chain, quota use and certificate expiry (each account's TLS and WSS, the server's,
//! the CA's; a clinical service's institutions'); `/readyz` answers 200 with each check named,
//! 503 naming the content store when its folder is gone (the failure counted), and 503 naming
//! the database when PostgreSQL cannot be reached (a TCP proxy in front of it, cut), then 200
//! again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::documents::own_bytes;
use support::web::WebClient;
use support::{
    document_path, eventually, fresh_postgres_database, postgres_base_url, Node, Options, Plan,
};
use tokio::net::{TcpListener, TcpStream};

const A: &str = "0000000000006610";
const B: &str = "0000000000006620";

/// A free loopback port for the metrics listener (bound and released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `medgate.toml` with `metrics_listen` (and the database URL, when given), in `dir`.
fn config_with_metrics(dir: &Path, database_url: Option<&str>) -> (std::path::PathBuf, SocketAddr) {
    let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut text = format!("metrics_listen = \"{address}\"\n");
    if let Some(url) = database_url {
        text.push_str(&format!("database_url = \"{url}\"\n"));
    }
    let file = dir.join("medgate.toml");
    std::fs::write(&file, text).unwrap();
    (file, address)
}

async fn plain_get(url: &str) -> (u16, String, String) {
    let response = reqwest::Client::new().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, media, response.text().await.unwrap())
}

/// The samples of an exposition: `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    *samples.get(series).unwrap_or_else(|| {
        panic!(
            "no sample {series} in {:#?}",
            samples.keys().collect::<Vec<_>>()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_name_routes_by_template_and_show_every_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (config, metrics) = config_with_metrics(dir.path(), None);
    let node = Node::start_with(Options {
        config_file: Some(config),
        ..Options::default()
    })
    .await;
    let a = node.enrol(A, Plan::mb(1, 10)).await;
    let _b = node.enrol(B, Plan::mb(1, 10)).await;

    let stored = a.put(own_bytes()).await.unwrap();
    let id = stored["id"].as_str().unwrap().to_owned();
    a.get(&document_path(&id, "/metadata")).await;
    // A document that is not there, by an id holding a PESEL: a 404 under the route's template.
    let (status, _, _) = a
        .get_refused(&document_path("1.2.3^44051401359", "/metadata"))
        .await;
    assert_eq!(status, 404);

    // Five wrong passwords lock the identity; the sixth attempt is refused unchecked.
    let web = WebClient::new(&node);
    for _ in 0..6 {
        web.admin_sign_in(A, "nobody", "wrong password").await;
    }

    let (status, media, text) = plain_get(&format!("http://{metrics}/metrics")).await;
    assert_eq!(status, 200, "{text}");
    assert!(media.starts_with("application/openmetrics-text"), "{media}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    let s = samples(&text);
    let route = "/api/v1/documents/{id}/metadata";
    assert_eq!(
        value(
            &s,
            &format!(r#"medgate_http_requests_total{{route="{route}",method="GET",status="200"}}"#)
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            &format!(r#"medgate_http_requests_total{{route="{route}",method="GET",status="404"}}"#)
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            r#"medgate_http_requests_total{route="/api/v1/documents",method="POST",status="201"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            &format!(
                r#"medgate_http_request_duration_seconds_count{{route="{route}",method="GET"}}"#
            )
        ),
        2.0
    );
    assert!(
        !text.contains("44051401359") && !text.contains(&id),
        "a path or patient in a label: {text}"
    );
    assert_eq!(
        value(
            &s,
            r#"medgate_signin_refusals_total{desk="admin",reason="credentials"}"#
        ),
        5.0
    );
    assert_eq!(
        value(
            &s,
            r#"medgate_signin_refusals_total{desk="admin",reason="locked"}"#
        ),
        1.0
    );
    assert_eq!(
        value(&s, r#"medgate_signin_lockouts_total{desk="admin"}"#),
        1.0
    );
    assert!(value(&s, "medgate_db_write_batch_size_count") >= 1.0);
    assert!(value(&s, "medgate_db_write_commit_duration_seconds_count") >= 1.0);
    assert_eq!(
        value(&s, r#"medgate_db_pool_connections{state="max"}"#),
        8.0
    );
    // Every read and write is audited: the upload, the read, the refusal, the sign-ins.
    assert!(value(&s, "medgate_audit_chain_length") >= 2.0);

    // Certificate expiry: both accounts' TLS and WSS, the server's (397 days) and the CA's.
    for tenant in [A, B] {
        for kind in ["tls", "wss"] {
            let found: Vec<_> = s
                .iter()
                .filter(|(series, _)| {
                    series.starts_with("medgate_certificate_expiry_days{")
                        && series.contains(&format!(r#"tenant="{tenant}""#))
                        && series.contains(&format!(r#"kind="{kind}""#))
                })
                .collect();
            assert_eq!(found.len(), 1, "{tenant} {kind}: {found:?}");
            assert!(*found[0].1 > 300.0 && *found[0].1 < 400.0, "{found:?}");
        }
    }
    let node_days = |kind: &str| -> f64 {
        s.iter()
            .find(|(series, _)| {
                series.starts_with("medgate_certificate_expiry_days{tenant=\"node\"")
                    && series.contains(&format!(r#"kind="{kind}""#))
            })
            .map(|(_, days)| *days)
            .unwrap_or_else(|| panic!("no {kind} expiry in {text}"))
    };
    assert!((396.0..=397.0).contains(&node_days("server")), "{text}");
    assert!(node_days("ca") > 3600.0, "{text}");

    // Quota: one document of the account's 10 files.
    assert_eq!(
        value(
            &s,
            &format!(r#"medgate_tenant_quota_use_percent{{tenant="{A}",resource="files"}}"#)
        ),
        10.0
    );
    assert_eq!(
        value(
            &s,
            &format!(r#"medgate_tenant_quota_use_percent{{tenant="{B}",resource="files"}}"#)
        ),
        0.0
    );

    // Readiness, on the public port and on the metrics listener.
    let readyz = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(node.ca_pem()).unwrap()).unwrap(),
        )
        .build()
        .unwrap()
        .get(node.url.join("/readyz").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(readyz.status().as_u16(), 200);
    let body: serde_json::Value = readyz.json().await.unwrap();
    assert_eq!(body["ready"], true, "{body}");
    for check in ["database", "migrations", "content_store", "revocation_data"] {
        assert_eq!(body["checks"][check]["ok"], true, "{body}");
    }
    let (status, _, text) = plain_get(&format!("http://{metrics}/readyz")).await;
    assert_eq!(status, 200, "{text}");
    let (status, _, _) = plain_get(&format!("http://{metrics}/admin")).await;
    assert_eq!(status, 404, "the metrics listener serves no pages");

    // The content folder gone from under the node (its first fan-out folder replaced by a
    // file): unready, naming the content store, and the failure counted.
    let fan_out = node.data.join("content").join("00");
    std::fs::remove_dir_all(&fan_out).unwrap();
    std::fs::write(&fan_out, b"not a folder").unwrap();
    let (status, _, text) = plain_get(&format!("http://{metrics}/readyz")).await;
    assert_eq!(status, 503, "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["checks"]["content_store"]["ok"], false, "{body}");
    assert_eq!(body["checks"]["database"]["ok"], true, "{body}");
    assert!(!text.contains("/content"), "no path in the answer: {text}");
    let (_, _, text) = plain_get(&format!("http://{metrics}/metrics")).await;
    let s = samples(&text);
    assert_eq!(
        value(
            &s,
            r#"medgate_content_store_errors_total{operation="check_reachable"}"#
        ),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clinical_service_shows_its_institutions_certificates_and_its_own_counters() {
    let dir = tempfile::tempdir().unwrap();
    let (config, metrics) = config_with_metrics(dir.path(), None);
    let node = Node::start_with(Options {
        role: Some("clinical".into()),
        config_file: Some(config),
        ..Options::default()
    })
    .await;
    let enrolled =
        support::clinical::enrol(&node, "506097", "001044299", "dr.kovacs", "58012").await;

    let (status, _, text) = plain_get(&format!("http://{metrics}/metrics")).await;
    assert_eq!(status, 200, "{text}");
    let s = samples(&text);
    let days = value(
        &s,
        &format!(
            r#"medgate_certificate_expiry_days{{tenant="506097",kind="institution",serial="{}"}}"#,
            enrolled.serial_hex.to_ascii_uppercase()
        ),
    );
    assert!((29.0..=30.0).contains(&days), "{days}");
    for counter in [
        "medgate_clinical_sessions_opened_total",
        "medgate_clinical_login_refusals_total",
        "medgate_clinical_break_glass_total",
    ] {
        assert_eq!(value(&s, counter), 0.0, "{counter} declared at 0");
    }
}

/// A TCP proxy to PostgreSQL that the test can cut (every connection closed, new ones
/// refused at once) and restore.
struct Proxy {
    address: SocketAddr,
    cut: Arc<AtomicBool>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let flag = flag.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut client, &mut server);
                    let watch = async {
                        while !flag.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! {
                        _ = copy => {}
                        () = watch => {}
                    }
                });
            }
        });
        Proxy { address, cut }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_postgresql_cannot_be_reached() {
    let Some(database) = fresh_postgres_database() else {
        return;
    };
    let base = url::Url::parse(&postgres_base_url()).unwrap();
    let upstream = format!(
        "{}:{}",
        base.host_str().unwrap(),
        base.port().unwrap_or(5432)
    );
    let proxy = Proxy::start(upstream).await;
    let mut through_proxy = url::Url::parse(&database.url).unwrap();
    through_proxy.set_host(Some("127.0.0.1")).unwrap();
    through_proxy.set_port(Some(proxy.address.port())).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (config, metrics) = config_with_metrics(dir.path(), Some(through_proxy.as_str()));
    let _node = Node::start_with(Options {
        config_file: Some(config),
        ..Options::default()
    })
    .await;
    let readyz = format!("http://{metrics}/readyz");
    let (status, _, text) = plain_get(&readyz).await;
    assert_eq!(status, 200, "{text}");

    proxy.cut.store(true, Ordering::SeqCst);
    // The proxy closes the open connections within 20 ms; each answer takes at most the
    // checks' 2 s limit.
    let deadline = std::time::Instant::now() + Duration::from_secs(6);
    let answer = loop {
        let started = std::time::Instant::now();
        let answer = plain_get(&readyz).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "readyz took {:?}",
            started.elapsed()
        );
        let database_down = answer.2.contains(r#""database":{"error""#);
        if database_down || std::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        answer.0, 503,
        "readyz says nothing of PostgreSQL cut off: {}",
        answer.2
    );
    let text = answer.2.clone();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"]["database"]["ok"], false, "{body}");
    let said = body["checks"]["database"]["error"].as_str().unwrap();
    assert!(
        said.contains("database cannot be reached") || said.contains("no answer within"),
        "{said}"
    );
    assert_eq!(body["checks"]["content_store"]["ok"], true, "{body}");
    let name = through_proxy.path().trim_start_matches('/').to_owned();
    assert!(
        !text.contains(&name) && !text.contains("127.0.0.1"),
        "no URL in the answer: {text}"
    );
    // A scrape that cannot read the database says so rather than show stale values.
    let (status, _, _) = plain_get(&format!("http://{metrics}/metrics")).await;
    assert_eq!(status, 503);

    proxy.cut.store(false, Ordering::SeqCst);
    assert!(
        eventually(Duration::from_secs(20), || async {
            plain_get(&readyz).await.0 == 200
        })
        .await,
        "ready again once PostgreSQL is reachable"
    );
}
