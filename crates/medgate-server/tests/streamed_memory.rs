//! A 40 MB attachment is stored while the process's peak resident memory grows by far less
//! than the body: the node streams it to disk, and the test's client generates it chunk by
//! chunk. A test binary of its own (one test), so that nothing else runs in the process
//! while the peak (`VmHWM` of /proc/self/status, reset through /proc/self/clear_refs) is
//! measured; the measurement is checked to see a 40 MB buffer, so the test can fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::Method;
use support::documents::OWN_PESEL;
use support::streaming::*;
use support::{document_path, Node, Plan};

const BODY_BYTES: usize = 40 * 1024 * 1024;
/// How much the peak may grow while the 40 MB go through: a fraction of the body.
const ALLOWED_GROWTH_KIB: u64 = 12 * 1024;

/// (VmHWM, VmRSS) in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Sets the peak back to the current resident size (Linux ≥ 4.0); returns that size.
fn reset_peak() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("write 5 to /proc/self/clear_refs (Linux resets VmHWM)");
    let (peak, resident) = memory_kib();
    assert!(peak <= resident + 1024, "the peak was not reset: {peak} KiB, resident {resident} KiB");
    peak
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_40_mb_attachment_is_stored_without_holding_it_in_memory() {
    let node = Node::sqlite().await;
    let clinic = node.enrol("0000000000007020", Plan::mb(500, 100)).await;
    let client = StreamingClient::new(&node, &clinic);
    let path = format!("/api/v1/attachments?patient={OWN_PESEL}&title=Big");

    // A first upload warms everything a first request sets up (connections, pools, caches).
    let warm = client.upload(&path, "application/octet-stream", Generated { len: 1024 * 1024 }).await;
    assert_eq!(warm.status, 201, "{warm:?}");

    let big = Generated { len: BODY_BYTES };
    let digest = big.content_digest();
    let before = reset_peak();
    let answer = client
        .post(&path, "application/octet-stream", &digest, Some(BODY_BYTES as u64), big.body())
        .await
        .unwrap();
    let (peak, _) = memory_kib();
    assert_eq!(answer.status, 201, "{answer:?}");
    let growth = peak.saturating_sub(before);
    println!(
        "40 MiB attachment: peak resident memory {before} KiB before, {peak} KiB after: grew by {growth} KiB (allowed {ALLOWED_GROWTH_KIB} KiB)"
    );

    // The instrument sees a buffer of the body's size (so this test would fail if the
    // node held the upload).
    let base = reset_peak();
    let held = std::hint::black_box(vec![1u8; BODY_BYTES]);
    let (seen, _) = memory_kib();
    drop(held);
    println!("a 40 MiB buffer raises the peak by {} KiB", seen - base);
    assert!(
        seen - base >= (BODY_BYTES as u64 / 1024) * 9 / 10,
        "the peak measurement did not see a 40 MiB buffer ({} KiB)",
        seen - base
    );

    assert!(
        growth < ALLOWED_GROWTH_KIB,
        "storing a 40 MiB attachment raised the peak by {growth} KiB"
    );

    // Stored byte for byte (read back after the measurement: the download is in memory).
    let id = answer.json["document"]["id"].as_str().unwrap().to_owned();
    assert_eq!(answer.json["document"]["size"], BODY_BYTES);
    let back = clinic
        .client
        .send(Method::GET, &document_path(&id, ""), None)
        .await
        .unwrap();
    assert!(back.body == big.bytes(), "the stored attachment differs");
    assert!(staged_files(&node).is_empty());
}
