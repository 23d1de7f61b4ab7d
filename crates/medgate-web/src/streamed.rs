//! Upload bodies that are never held whole in memory: [`stage_body`] writes a request's body
//! chunk by chunk to a file in the node's staging folder (`DATA/tmp`), hashing it on the way
//! and enforcing the route's limit, so that an upload costs a few chunks of memory whatever
//! its size. The handler then checks the signature and `Content-Digest` against the digests
//! ([`crate::api::Incoming::signed_caller_digested`]) and hands the file to its domain call,
//! which stores it with `ContentStore::put_file`.
//!
//! The staged file is removed when the [`StagedBody`] is dropped — on a refusal, an error,
//! a client that disconnects mid-upload (the handler's future is dropped with the writer) —
//! unless the content store moved it into place.

use axum::body::Body;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use medgate_httpsig::BodyDigests;
use medgate_storage::{StagedFile, StagingArea};

use crate::error::ApiError;

/// A request body staged on disk, with the digests `Content-Digest` is checked against.
#[derive(Debug)]
pub struct StagedBody {
    pub file: StagedFile,
    pub digests: BodyDigests,
}

/// The answer to a body larger than the route accepts (refused before it is read when its
/// declared length says so, or as soon as it passes the limit).
pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "The request body is larger than this route accepts ({} bytes at most); nothing was stored.",
            limit
        ),
    )
}

/// The answer to a body that broke off (the client went away, a malformed chunk).
pub fn unreadable() -> ApiError {
    ApiError::bad_request(
        "body_unreadable",
        "The request body could not be read completely; send it again.",
    )
}

/// Streams `body` to a new staged file, at most `limit` bytes. A larger body is refused with
/// [`too_large`] as soon as it passes the limit: what was written is removed at once, and
/// the rest of the body is read and dropped (up to the limit again, for at most ten
/// seconds) before the answer, so that a client still sending gets the answer rather than
/// a reset connection.
/// `staging` is the node's (`AppState::staging`).
pub async fn stage_body(
    staging: &StagingArea,
    body: Body,
    limit: usize,
) -> Result<StagedBody, ApiError> {
    let mut writer = staging
        .create()
        .await
        .map_err(|e| ApiError::internal("staging an upload", &e))?;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| unreadable())?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if writer.len().saturating_add(data.len() as u64) > limit as u64 {
            drop(writer);
            drain(body, limit).await;
            return Err(too_large(limit));
        }
        writer
            .write(&data)
            .await
            .map_err(|e| ApiError::internal("staging an upload", &e))?;
    }
    let file = writer
        .finish()
        .await
        .map_err(|e| ApiError::internal("staging an upload", &e))?;
    let digests = BodyDigests::from_parts(file.len(), *file.sha256().as_bytes(), *file.sha512());
    Ok(StagedBody { file, digests })
}

/// Reads and drops up to `at_most` more bytes of a body, for at most ten seconds.
async fn drain(mut body: Body, at_most: usize) {
    let mut seen = 0usize;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen <= at_most {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    seen += data.len();
                }
            }
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use axum::body::Bytes;
    use http_body::Frame;

    use super::*;

    /// A body arriving in chunks, or breaking off where a chunk is an error.
    struct Chunks(VecDeque<Result<Bytes, std::io::Error>>);

    impl http_body::Body for Chunks {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| chunk.map(Frame::data)))
        }
    }

    fn chunked(len: usize, then_fail: bool) -> (Body, Vec<u8>) {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        let mut chunks: VecDeque<_> = bytes
            .chunks(16 * 1024)
            .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
            .collect();
        if then_fail {
            chunks.push_back(Err(std::io::Error::other("connection reset")));
        }
        (Body::new(Chunks(chunks)), bytes)
    }

    async fn area() -> (StagingArea, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let (area, _) = StagingArea::open(dir.path().join("tmp")).await.unwrap();
        (area, dir)
    }

    fn files(area: &StagingArea) -> usize {
        std::fs::read_dir(area.dir()).unwrap().count()
    }

    #[tokio::test]
    async fn a_body_is_staged_with_its_digests() {
        let (area, _dir) = area().await;
        let (body, bytes) = chunked(200_000, false);
        let staged = stage_body(&area, body, 200_000).await.unwrap();
        assert_eq!(staged.digests, BodyDigests::of(&bytes));
        assert_eq!(staged.file.read_to_memory().await.unwrap(), bytes);
        assert_eq!(files(&area), 1);
        drop(staged);
        assert_eq!(files(&area), 0, "the staged file goes with its body");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_and_nothing_stays() {
        let (area, _dir) = area().await;
        let (body, _) = chunked(200_001, false);
        let refused = stage_body(&area, body, 200_000).await.unwrap_err();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(refused.code(), "body_too_large");
        assert!(refused.message().contains("200000 bytes at most"), "{refused}");
        assert_eq!(files(&area), 0);
    }

    #[tokio::test]
    async fn a_body_that_breaks_off_is_refused_and_nothing_stays() {
        let (area, _dir) = area().await;
        let (body, _) = chunked(100_000, true);
        let refused = stage_body(&area, body, 200_000).await.unwrap_err();
        assert_eq!(refused.code(), "body_unreadable");
        assert_eq!(files(&area), 0);
    }
}
