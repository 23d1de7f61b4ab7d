//! Batch uploads: several CDA documents in one signed `POST /api/v1/documents/batch`
//! (`multipart/form-data`, one part per document), each stored or refused on its own.

use http::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::{ClientError, RepositoryClient};

/// Most documents the client puts in one batch, and most bytes: well under the server's
/// limits (1,000 parts, 64 MiB), small enough that one slow batch holds up little.
pub const BATCH_DOCUMENTS: usize = 32;
pub const BATCH_BYTES: usize = 8 * 1024 * 1024;

/// One document of a batch: a name the answer repeats (a file name) and the CDA bytes.
#[derive(Clone, Debug)]
pub struct BatchDocument {
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// The server's answer for one document of a batch.
#[derive(Clone, Debug, Deserialize)]
pub struct BatchResult {
    /// Position in the batch, from 1.
    pub part: usize,
    #[serde(default)]
    pub filename: Option<String>,
    /// The stored document (its metadata), when stored.
    #[serde(default)]
    pub document: Option<Value>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Why it was refused, when refused: what a single upload would have been answered.
    #[serde(default)]
    pub error: Option<BatchRefusal>,
}

/// A refused document of a batch.
#[derive(Clone, Debug, Deserialize)]
pub struct BatchRefusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl BatchRefusal {
    /// The refusal as the error a single upload would have returned.
    pub fn into_error(self) -> ClientError {
        ClientError::Api {
            status: self.status,
            code: self.code,
            message: self.message,
        }
    }
}

#[derive(Deserialize)]
struct BatchAnswer {
    results: Vec<BatchResult>,
}

/// Splits documents into batches of at most [`BATCH_DOCUMENTS`] documents and
/// [`BATCH_BYTES`] bytes (a larger document goes alone), keeping their order.
pub fn batches<T>(items: Vec<T>, size: impl Fn(&T) -> usize) -> Vec<Vec<T>> {
    let mut batches: Vec<Vec<T>> = Vec::new();
    let mut bytes = 0;
    for item in items {
        let item_size = size(&item);
        let start_new = match batches.last() {
            None => true,
            Some(last) => last.len() >= BATCH_DOCUMENTS || bytes + item_size > BATCH_BYTES,
        };
        if start_new {
            batches.push(Vec::new());
            bytes = 0;
        }
        bytes += item_size;
        if let Some(last) = batches.last_mut() {
            last.push(item);
        }
    }
    batches
}

/// The `multipart/form-data` body of a batch and its `Content-Type`. The boundary is random
/// and checked against every document, so no document can end its part early.
pub fn multipart_body(documents: &[BatchDocument]) -> Result<(Vec<u8>, String), ClientError> {
    let boundary = loop {
        let mut random = [0u8; 16];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| ClientError::Settings("the system's random source failed".to_owned()))?;
        let boundary = format!("medgate-batch-{}", hex::encode(random));
        if !documents
            .iter()
            .any(|d| contains(&d.bytes, boundary.as_bytes()))
        {
            break boundary;
        }
    };
    let mut body = Vec::with_capacity(documents.iter().map(|d| d.bytes.len() + 200).sum());
    for document in documents {
        // A file name goes into a quoted header: quotes and line breaks are replaced.
        let filename: String = document
            .filename
            .chars()
            .map(|c| if c == '"' || c == '\\' || c.is_control() { '_' } else { c })
            .collect();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; \
                 filename=\"{filename}\"\r\nContent-Type: application/xml\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&document.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((body, format!("multipart/form-data; boundary={boundary}")))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

impl RepositoryClient {
    /// Sends `documents` as one batch; returns the server's answer for each, in order.
    /// `Err` only when the batch as a whole failed (connection, certificate, signature…).
    pub async fn put_batch(
        &self,
        documents: &[BatchDocument],
    ) -> Result<Vec<BatchResult>, ClientError> {
        let (body, content_type) = multipart_body(documents)?;
        let answer: BatchAnswer = self
            .send(
                Method::POST,
                "/api/v1/documents/batch",
                Some((body, content_type.as_str())),
            )
            .await?
            .json()?;
        if answer.results.len() != documents.len() {
            return Err(ClientError::Settings(format!(
                "the server answered for {} documents of a batch of {}",
                answer.results.len(),
                documents.len()
            )));
        }
        Ok(answer.results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_order_and_respect_both_limits() {
        let sizes: Vec<usize> = vec![1; 70];
        let split = batches(sizes, |s| *s);
        assert_eq!(split.iter().map(Vec::len).collect::<Vec<_>>(), vec![32, 32, 6]);
        let mib = 1024 * 1024;
        let big = vec![3 * mib, 3 * mib, 3 * mib, 20 * mib, 1, 2];
        let split = batches(big, |s| *s);
        // 3 + 3 fit in 8 MiB, a third does not; a document over the limit goes alone.
        assert_eq!(split.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 1, 1, 2]);
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_body_is_multipart_that_a_parser_reads_back() {
        let documents = vec![
            BatchDocument { filename: "a \"b\".xml".into(), bytes: b"<a/>".to_vec() },
            BatchDocument { filename: "c.xml".into(), bytes: b"<c>\r\n--x</c>".to_vec() },
        ];
        let (body, content_type) = multipart_body(&documents).unwrap();
        let boundary = content_type.split("boundary=").nth(1).unwrap();
        let text = String::from_utf8(body).unwrap();
        assert_eq!(text.matches(&format!("--{boundary}\r\n")).count(), 2);
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
        assert!(text.contains("filename=\"a _b_.xml\""));
        assert!(text.contains("<c>\r\n--x</c>\r\n--"));
    }
}
