//! Uploads streamed to disk, in process: a CDA document and an attachment (sent in chunks,
//! its length undeclared) stored through the staged path and read back byte for byte; a
//! wrong `Content-Digest` refused with nothing stored; a body over the limit refused with the
//! JSON 413; a client that goes away mid-upload; and after each, nothing left in `DATA/tmp`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use http::Method;
use medgate_httpsig::content_digest_header;
use support::documents::*;
use support::streaming::*;
use support::{document_path, eventually, Node, Plan};

const A: &str = "0000000000007010";

fn attachment_path(title: &str) -> String {
    format!("/api/v1/attachments?patient={OWN_PESEL}&title={title}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_streamed_to_disk_and_read_back_byte_identical() {
    let node = Node::sqlite().await;
    assert!(node.data.join("tmp").is_dir(), "the staging folder is made at start");
    let clinic = node.enrol(A, Plan::mb(200, 100)).await;
    let client = StreamingClient::new(&node, &clinic);

    // A CDA document, its length declared.
    let own = own_bytes();
    let answer = client
        .post(
            "/api/v1/documents",
            "application/xml",
            &content_digest_header(&own),
            Some(own.len() as u64),
            reqwest::Body::from(own.clone()),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.json["document"]["id"], OWN_ID);
    assert_eq!(
        answer.json["document"]["sha256"],
        medgate_cda::hashes(&own).sha256_hex.as_str()
    );
    let back = clinic
        .client
        .send(Method::GET, &document_path(OWN_ID, ""), None)
        .await
        .unwrap();
    assert!(back.body == own, "the document differs");

    // An attachment of a few MB in 64 KiB chunks, its length not declared (chunked).
    let scan = Generated {
        len: 3 * 1024 * 1024 + 5,
    };
    let answer = client
        .post(
            &attachment_path("Scan"),
            "image/png",
            &scan.content_digest(),
            None,
            scan.body(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 201, "{answer:?}");
    let document = &answer.json["document"];
    assert_eq!(document["size"], scan.len);
    let bytes = scan.bytes();
    assert_eq!(document["sha256"], medgate_cda::hashes(&bytes).sha256_hex.as_str());
    let id = document["id"].as_str().unwrap();
    let back = clinic
        .client
        .send(Method::GET, &document_path(id, ""), None)
        .await
        .unwrap();
    assert!(back.body == bytes, "the attachment differs");
    assert_eq!(back.headers["content-type"], "image/png");

    // The clinic's own client (the CLI's path) uploads through the same route.
    let pdf = clinic
        .put_attachment(b"%PDF-1.4 small".to_vec(), OWN_PESEL, "Wynik", None, "application/pdf")
        .await
        .unwrap();
    assert_eq!(pdf["size"], 14);
    assert_eq!(clinic.quota().await.0, 3);
    assert_eq!(content_files(&node).len(), 3);
    assert!(staged_files(&node).is_empty(), "{:?}", staged_files(&node));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_content_digest_stores_nothing_and_leaves_no_staged_file() {
    let node = Node::sqlite().await;
    let clinic = node.enrol(A, Plan::mb(200, 100)).await;
    let client = StreamingClient::new(&node, &clinic);
    let scan = Generated { len: 700_000 };
    let lie = content_digest_header(b"another body");
    for (path, content_type) in [
        (attachment_path("Scan"), "image/png"),
        ("/api/v1/documents".to_owned(), "application/xml"),
    ] {
        let answer = client
            .post(&path, content_type, &lie, Some(scan.len as u64), scan.body())
            .await
            .unwrap();
        assert_eq!(answer.status, 401, "{path}: {answer:?}");
        assert_eq!(answer.json["code"], "digest_mismatch", "{path}: {answer:?}");
        let message = answer.json["message"].as_str().unwrap();
        assert!(message.contains("700000 bytes"), "{message}");
    }
    assert_eq!(clinic.quota().await, (0, 0));
    assert!(content_files(&node).is_empty());
    assert!(staged_files(&node).is_empty(), "{:?}", staged_files(&node));
    // Nothing was audited as stored.
    assert!(clinic
        .audit(None)
        .await
        .iter()
        .all(|entry| entry["action"] != "document.put"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_with_the_json_413() {
    let node = Node::sqlite().await;
    let clinic = node.enrol(A, Plan::mb(200, 100)).await;
    let client = StreamingClient::new(&node, &clinic);
    // Sent in chunks, so nothing tells the node its size before the limit is passed.
    let limit = medgate_server::repository::api::MAX_BODY_BYTES;
    let oversized = Generated {
        len: limit + 100 * 1024,
    };
    let answer = client
        .post(
            &attachment_path("Huge"),
            "application/octet-stream",
            &content_digest_header(b"not computed"),
            None,
            oversized.body(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 413, "{answer:?}");
    assert_eq!(answer.json["code"], "body_too_large");
    assert!(answer.json["message"]
        .as_str()
        .unwrap()
        .contains(&format!("{limit} bytes at most")));
    assert_eq!(clinic.quota().await, (0, 0));
    assert!(content_files(&node).is_empty());
    assert!(staged_files(&node).is_empty(), "{:?}", staged_files(&node));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_mid_upload_leaves_no_staged_file() {
    let node = Node::sqlite().await;
    let clinic = node.enrol(A, Plan::mb(200, 100)).await;
    let client = StreamingClient::new(&node, &clinic);
    let scan = Generated {
        len: 8 * 1024 * 1024,
    };
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let path = attachment_path("Cut");
    let digest = scan.content_digest();
    let upload = tokio::spawn(async move {
        client
            .post(
                &path,
                "application/octet-stream",
                &digest,
                Some(scan.len as u64),
                reqwest::Body::wrap_stream(stream),
            )
            .await
    });
    for index in 0..40 {
        sender.send(Ok(scan.chunk(index))).await.unwrap();
    }
    // The part sent so far is on disk while the upload is in flight.
    let staging = node.data.join("tmp");
    assert!(
        eventually(Duration::from_secs(10), || async {
            std::fs::read_dir(&staging)
                .unwrap()
                .flatten()
                .any(|entry| entry.metadata().map(|m| m.len()).unwrap_or(0) > 0)
        })
        .await,
        "no staged file while the upload arrives"
    );
    // The client fails mid-body: it drops the request.
    sender
        .send(Err(std::io::Error::other("the clinic's disk failed")))
        .await
        .unwrap();
    drop(sender);
    let sent = upload.await.unwrap();
    assert!(sent.is_err() || sent.as_ref().is_ok_and(|a| a.status >= 400), "{sent:?}");
    assert!(
        eventually(Duration::from_secs(10), || async { staged_files(&node).is_empty() }).await,
        "a staged file outlived its request: {:?}",
        staged_files(&node)
    );
    assert_eq!(clinic.quota().await, (0, 0));
    assert!(content_files(&node).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_a_crash_left_in_the_staging_folder_are_removed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut node = Node::start_at(&data, support::Options::default()).await;
    node.stop().await;
    std::fs::write(data.join("tmp/upload-0123456789abcdef"), b"half an upload").unwrap();
    node.restart().await;
    assert!(staged_files(&node).is_empty(), "{:?}", staged_files(&node));
}
