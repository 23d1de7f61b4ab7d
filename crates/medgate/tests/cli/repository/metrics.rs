//! The real `medgate serve --metrics-listen …` after a scripted workload (three uploads, a
//! read, a failed administrator sign-in sent by Python `requests` as a browser would), its
//! `/metrics` read by an independent parser — Python `prometheus_client`'s text parser — before
//! and after: the counters moved by what the workload did, and there is a certificate-expiry
//! gauge for each account's TLS and WSS certificate.

use std::collections::HashMap;

use medgate_test_peers::require_python;

use super::harness::{Backend, Node};
use crate::support::run_peer_ok;

const A: &str = "0000000000005510";
const B: &str = "0000000000005520";

/// Reads `/metrics` with prometheus_client's parser; prints one JSON object per sample.
const SCRAPE: &str = r#"
import json, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode("utf-8")
for family in text_string_to_metric_families(text):
    for sample in family.samples:
        print(json.dumps({"family": family.name, "type": family.type, "name": sample.name,
                          "labels": sample.labels, "value": sample.value}))
"#;

/// A wrong password on the administrator's sign-in form, sent as a browser sends it: the
/// form's CSRF token and cookie, `Origin` and `Sec-Fetch-Site`. Prints the status.
const SIGN_IN: &str = r#"
import re, sys, requests
url, ca, tenant = sys.argv[1], sys.argv[2], sys.argv[3]
session = requests.Session()
form = session.get(url + "/admin", timeout=10, verify=ca)
token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
answer = session.post(url + "/admin", timeout=10, verify=ca,
                      data={"csrf": token, "tenant": tenant, "login": "reception", "password": "not the password"},
                      headers={"Origin": url, "Sec-Fetch-Site": "same-origin"})
print(answer.status_code)
"#;

/// One sample as the parser read it.
#[derive(Debug)]
struct Sample {
    family_type: String,
    labels: HashMap<String, String>,
    value: f64,
}

fn scrape(python: &std::path::Path, url: &str) -> HashMap<String, Vec<Sample>> {
    let output = run_peer_ok(python, &["-c", SCRAPE, url]);
    let mut samples: HashMap<String, Vec<Sample>> = HashMap::new();
    for line in output.lines() {
        let sample: serde_json::Value = serde_json::from_str(line).expect("sample JSON");
        let labels = sample["labels"]
            .as_object()
            .expect("labels")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("label").to_owned()))
            .collect();
        samples
            .entry(sample["name"].as_str().expect("name").to_owned())
            .or_default()
            .push(Sample {
                family_type: sample["type"].as_str().expect("type").to_owned(),
                labels,
                value: sample["value"].as_f64().expect("value"),
            });
    }
    samples
}

/// The value of `name` with exactly `labels` (0 when the series does not exist yet).
fn value(samples: &HashMap<String, Vec<Sample>>, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .get(name)
        .into_iter()
        .flatten()
        .find(|s| {
            s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map_or(0.0, |s| s.value)
}

#[test]
fn prometheus_client_reads_the_counters_the_workload_moved() {
    let Some(python) = require_python(
        "prometheus_client.parser, requests",
        "pip install prometheus-client requests",
    ) else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let Some(node) = Node::start_with(Backend::Sqlite, &["--metrics-listen", &listen]) else {
        return;
    };
    let metrics = format!("http://{listen}/metrics");
    let a = node.enroll(A, 10, 100);
    let _b = node.enroll(B, 10, 100);

    let before = scrape(&python, &metrics);
    let uploads = ("/api/v1/documents", "POST", "201");
    let reads = ("/api/v1/documents/{id}", "GET", "200");
    let requests = |samples: &HashMap<String, Vec<Sample>>,
                    (route, method, status): (&str, &str, &str)| {
        value(
            samples,
            "medgate_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    let refusals = |samples: &HashMap<String, Vec<Sample>>| {
        value(
            samples,
            "medgate_signin_refusals_total",
            &[("desk", "admin"), ("reason", "credentials")],
        )
    };

    // The workload.
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/cda");
    let mut ids = Vec::new();
    for file in [
        "01-karta-informacyjna.xml",
        "03-recepta.xml",
        "05-wynik-badania-laboratoryjnego.xml",
    ] {
        let stored = a.run_ok(&["put", "--json", &format!("{examples}/{file}")]);
        let stored: serde_json::Value = serde_json::from_str(&stored).expect("put JSON");
        ids.push(stored["document"]["id"].as_str().expect("id").to_owned());
    }
    let read = a.run_ok(&["get", &ids[0], "--out", &a.path("read.xml")]);
    assert!(read.contains("verified"), "{read}");
    let status = run_peer_ok(
        &python,
        &["-c", SIGN_IN, &node.url(), &node.ca().to_string_lossy(), A],
    );
    assert_eq!(status.trim(), "401", "a wrong password is refused");

    let after = scrape(&python, &metrics);
    assert_eq!(requests(&after, uploads) - requests(&before, uploads), 3.0);
    assert_eq!(requests(&after, reads) - requests(&before, reads), 1.0);
    assert_eq!(refusals(&after) - refusals(&before), 1.0);
    let writes = |samples: &HashMap<String, Vec<Sample>>| {
        value(samples, "medgate_db_write_batch_size_count", &[])
    };
    assert!(
        writes(&after) - writes(&before) >= 3.0,
        "the writer committed the uploads"
    );
    let chain =
        |samples: &HashMap<String, Vec<Sample>>| value(samples, "medgate_audit_chain_length", &[]);
    assert!(
        chain(&after) - chain(&before) >= 4.0,
        "every upload and read is audited"
    );
    let latency = value(
        &after,
        "medgate_http_request_duration_seconds_count",
        &[("route", "/api/v1/documents"), ("method", "POST")],
    );
    assert!(latency >= 3.0, "{latency}");
    let files = |tenant: &str| {
        value(
            &after,
            "medgate_tenant_quota_use_percent",
            &[("tenant", tenant), ("resource", "files")],
        )
    };
    assert_eq!((files(A), files(B)), (3.0, 0.0));

    // A certificate-expiry gauge for every account's TLS and WSS certificate (two years left:
    // `medgate ca sign`'s default of 730 days), and the node's own.
    let expiry = after
        .get("medgate_certificate_expiry_days")
        .expect("certificate expiry gauges");
    for tenant in [A, B] {
        for kind in ["tls", "wss"] {
            let gauges: Vec<_> = expiry
                .iter()
                .filter(|s| {
                    s.labels.get("tenant").map(String::as_str) == Some(tenant)
                        && s.labels.get("kind").map(String::as_str) == Some(kind)
                })
                .collect();
            assert_eq!(gauges.len(), 1, "{tenant} {kind}: {expiry:?}");
            assert_eq!(gauges[0].family_type, "gauge");
            assert!(!gauges[0].labels["serial"].is_empty());
            assert!(
                gauges[0].value > 729.0 && gauges[0].value <= 730.0,
                "{:?}",
                gauges[0]
            );
        }
    }
    for kind in ["server", "ca"] {
        assert!(
            expiry
                .iter()
                .any(|s| s.labels["tenant"] == "node" && s.labels["kind"] == kind),
            "{kind}: {expiry:?}"
        );
    }
    // No label holds a document id (and so no patient identifier from a path).
    for samples in after.values() {
        for sample in samples {
            for label in sample.labels.values() {
                assert!(
                    ids.iter().all(|id| !label.contains(id.as_str())),
                    "{sample:?}"
                );
            }
        }
    }
}
