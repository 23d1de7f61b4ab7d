//! Kill -9 of the server in the middle of a bulk upload: every document the client was told
//! was stored is there afterwards, byte for byte; nothing the API shows is half-stored; and
//! uploading the folder again completes it without duplicates. `client put FOLDER` sends its
//! CDA files in batches (`POST /api/v1/documents/batch`, 32 documents a request), so the kill
//! lands while a batch is being stored or answered.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use medgate_client::batch::BATCH_DOCUMENTS;

use super::harness::{Backend, Node};
use crate::support::medgate;

const DOCUMENTS: usize = 150;

fn document(number: usize) -> String {
    include_str!("../../../assets/bench-document.xml")
        .replace("{{NUMBER}}", &format!("{number:07}"))
        .replace("{{MONTH}}", &format!("{:02}", number % 12 + 1))
        .replace("{{DAY}}", &format!("{:02}", number % 28 + 1))
}

fn kill_during_bulk_upload(backend: Backend) {
    let Some(mut node) = Node::start(backend) else { return };
    let clinic = node.enroll("0000000000005010", 100, 10_000);
    let outbox = clinic.dir.join("outbox");
    std::fs::create_dir_all(&outbox).expect("folder");
    for number in 0..DOCUMENTS {
        std::fs::write(outbox.join(format!("doc-{number:04}.xml")), document(number)).expect("document");
    }

    let mut upload = medgate()
        .args(["client", "--config", &clinic.config.to_string_lossy(), "--timeout-ms", "5000", "put", &outbox.to_string_lossy()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("client starts");
    let stdout = upload.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    // Let a good part of the upload be acknowledged, then kill the server mid-flight.
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    let started = Instant::now();
    while acknowledged.len() < 30 && started.elapsed() < Duration::from_secs(60) {
        if let Ok(line) = receiver.recv_timeout(Duration::from_millis(100)) {
            if let Some(rest) = line.strip_prefix("stored ") {
                let (file, description) = rest.split_once(": ").expect("stored FILE: ID (…)");
                let id = description.split(' ').next().expect("id").to_owned();
                acknowledged.push((file.to_owned(), id));
            }
        }
    }
    assert!(acknowledged.len() >= 30, "the upload did not get going");
    node.kill();
    let status = upload.wait().expect("client ends");
    for line in receiver.try_iter() {
        if let Some(rest) = line.strip_prefix("stored ") {
            if let Some((file, description)) = rest.split_once(": ") {
                acknowledged.push((file.to_owned(), description.split(' ').next().unwrap_or("").to_owned()));
            }
        }
    }
    assert!(!status.success(), "the client must report the failures after the kill");
    assert!(acknowledged.len() < DOCUMENTS, "the kill came too late to test anything");

    node.restart();
    // Every acknowledged document survived, byte for byte.
    for (file, id) in &acknowledged {
        let out = clinic.path("fetched.xml");
        clinic.run_ok(&["get", id, "--out", &out, "--force"]);
        let fetched = std::fs::read(&out).expect("fetched");
        let original = std::fs::read(outbox.join(file)).expect("original");
        assert_eq!(fetched, original, "{id} differs after the crash");
    }
    // Whatever the API lists can be fetched: no metadata without content.
    let listed: serde_json::Value = serde_json::from_str(&clinic.run_ok(&["search", "--limit", "500", "--json"])).expect("json");
    let documents = listed["documents"].as_array().expect("documents");
    assert!(documents.len() >= acknowledged.len());
    // Documents of the one batch in flight may have been committed and not yet answered
    // (each stored whole, as the fetches above and below show); nothing beyond it.
    let unacknowledged = documents.len() - acknowledged.len();
    assert!(
        unacknowledged <= BATCH_DOCUMENTS,
        "more than the batch in flight was committed unacknowledged: {unacknowledged}"
    );
    for document in documents {
        clinic.run_ok(&["get", document["id"].as_str().expect("id"), "--out", &clinic.path("check.xml"), "--force"]);
    }
    // Uploading the folder again completes it: the already stored ones are recognised.
    let again = clinic.run_ok(&["put", &outbox.to_string_lossy()]);
    assert!(again.contains(&format!("{} stored", DOCUMENTS - documents.len())), "{again}");
    let listed: serde_json::Value = serde_json::from_str(&clinic.run_ok(&["search", "--limit", "1", "--json"])).expect("json");
    assert_eq!(listed["total"], DOCUMENTS, "no document lost or duplicated");
    let account = clinic.account();
    assert_eq!(account["quota"]["files"], DOCUMENTS);
}

#[test]
fn kill_during_bulk_upload_on_sqlite() {
    kill_during_bulk_upload(Backend::Sqlite);
}

#[test]
fn kill_during_bulk_upload_on_postgres() {
    kill_during_bulk_upload(Backend::Postgres);
}
