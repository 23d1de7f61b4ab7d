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
use medgate_storage::StagedFile;

use crate::error::ApiError;
use crate::state::AppState;

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
pub async fn stage_body(state: &AppState, body: Body, limit: usize) -> Result<StagedBody, ApiError> {
    let mut writer = state
        .staging
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
