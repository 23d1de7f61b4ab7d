//! Content in an S3-compatible object store (MinIO, Garage, Ceph, AWS…) through the
//! `object_store` crate, with path-style addressing so that any endpoint works. Objects are
//! named `<prefix>/<key>`; S3 acknowledges a PUT only once the object is durable. Records
//! are `<prefix>/<namespace>/<name>`: never directly under the prefix and never named like a
//! content key, so the content listing (and the orphan sweep) skips them.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;

use super::{ContentObject, ContentStore};
use crate::error::{BackendError, ContentError};
use crate::staging::StagedFile;
use crate::values::{ContentKey, RecordKey};

/// The part size of a multipart upload (S3 takes parts of 5 MiB and more, but the last),
/// and the largest staged file sent as one PUT.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts in flight at once: a staged upload holds at most this many parts (and the one
/// being filled) in memory, whatever its size.
const PARTS_IN_FLIGHT: usize = 2;

/// How much of a staged file is read at a time.
const READ_BYTES: usize = 256 * 1024;

/// Where the object store is and how to sign in to it.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The endpoint URL, e.g. `http://127.0.0.1:9000` for a local MinIO; `None` for AWS.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Allow plain `http://` endpoints (local test servers); keep `false` otherwise.
    pub allow_http: bool,
    /// Folder inside the bucket under which objects are stored, e.g. `content`.
    pub prefix: String,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("allow_http", &self.allow_http)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// The content store of a scale-out deployment.
#[derive(Clone)]
pub struct S3Content {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    bucket: String,
}

impl fmt::Debug for S3Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Content")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix.as_ref())
            .finish()
    }
}

fn object_store_error(operation: &'static str) -> impl FnOnce(object_store::Error) -> ContentError {
    move |source| ContentError::ObjectStore {
        operation,
        source: BackendError::new(source),
    }
}

impl S3Content {
    /// Builds the client; does not contact the store (the first request does).
    pub fn new(config: &S3Config) -> Result<Self, ContentError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_allow_http(config.allow_http)
            .with_virtual_hosted_style_request(false);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder
            .build()
            .map_err(|error| ContentError::Configuration(error.to_string()))?;
        let prefix = ObjectPath::parse(config.prefix.trim_matches('/')).map_err(|error| {
            ContentError::Configuration(format!("invalid prefix '{}': {error}", config.prefix))
        })?;
        Ok(S3Content {
            store: Arc::new(store),
            prefix,
            bucket: config.bucket.clone(),
        })
    }

    fn path_of(&self, key: &ContentKey) -> ObjectPath {
        self.prefix.child(key.as_str())
    }

    fn record_path(&self, key: &RecordKey) -> ObjectPath {
        self.prefix.child(key.namespace()).child(key.name())
    }
}

/// Feeds a staged file to a multipart upload, a read at a time, never more than
/// [`PARTS_IN_FLIGHT`] parts waiting.
async fn send_parts(writer: &mut WriteMultipart, file: &StagedFile) -> Result<(), ContentError> {
    let mut reader = file.open().await?;
    let mut buffer = vec![0u8; READ_BYTES];
    let mut sent = 0u64;
    loop {
        let read = reader
            .read(&mut buffer)
            .await
            .map_err(|source| ContentError::Io {
                operation: "read",
                path: file.path().to_path_buf(),
                source,
            })?;
        if read == 0 {
            break;
        }
        writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(object_store_error("upload a part"))?;
        writer.write(&buffer[..read]);
        sent += read as u64;
    }
    if sent != file.len() {
        return Err(ContentError::Io {
            operation: "read",
            path: file.path().to_path_buf(),
            source: std::io::Error::other(format!(
                "the staged file has {sent} bytes, {} were written",
                file.len()
            )),
        });
    }
    Ok(())
}

#[async_trait]
impl ContentStore for S3Content {
    async fn put(&self, key: &ContentKey, bytes: Bytes) -> Result<(), ContentError> {
        self.store
            .put(&self.path_of(key), PutPayload::from(bytes))
            .await
            .map_err(object_store_error("store content"))?;
        Ok(())
    }

    async fn put_file(&self, key: &ContentKey, file: StagedFile) -> Result<(), ContentError> {
        let path = self.path_of(key);
        if file.len() <= PART_BYTES as u64 {
            // One part's worth: one PUT, as `put` does.
            let bytes = file.read_to_memory().await?;
            return self.put(key, bytes).await;
        }
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(object_store_error("start a multipart upload"))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        match send_parts(&mut writer, &file).await {
            Ok(()) => {
                writer
                    .finish()
                    .await
                    .map_err(object_store_error("complete a multipart upload"))?;
                Ok(())
            }
            Err(error) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, content_key = %key, "a failed multipart upload was not aborted; the bucket's lifecycle rule must remove its parts");
                }
                Err(error)
            }
        }
    }

    async fn get(&self, key: &ContentKey) -> Result<Bytes, ContentError> {
        let result = match self.store.get(&self.path_of(key)).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(ContentError::NotFound(key.clone()))
            }
            Err(error) => return Err(object_store_error("read content")(error)),
        };
        result
            .bytes()
            .await
            .map_err(object_store_error("read content"))
    }

    async fn delete(&self, key: &ContentKey) -> Result<(), ContentError> {
        match self.store.delete(&self.path_of(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(object_store_error("delete content")(error)),
        }
    }

    async fn check_reachable(&self) -> Result<(), ContentError> {
        match self.store.head(&self.prefix.child("readiness-probe")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(object_store_error("reach the object store")(error)),
        }
    }

    async fn exists(&self, key: &ContentKey) -> Result<bool, ContentError> {
        match self.store.head(&self.path_of(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(object_store_error("look up content")(error)),
        }
    }

    async fn list(&self) -> Result<Vec<ContentObject>, ContentError> {
        let objects: Vec<_> = self
            .store
            .list(Some(&self.prefix))
            .try_collect()
            .await
            .map_err(object_store_error("list content"))?;
        Ok(objects
            .into_iter()
            .filter_map(|object| {
                let key = ContentKey::parse(object.location.filename()?).ok()?;
                // Only objects directly under the prefix are ours.
                if object.location != self.path_of(&key) {
                    return None;
                }
                let modified_at =
                    OffsetDateTime::from_unix_timestamp(object.last_modified.timestamp()).ok()?;
                Some(ContentObject { key, modified_at })
            })
            .collect())
    }

    async fn put_record(&self, key: &RecordKey, bytes: Bytes) -> Result<(), ContentError> {
        self.store
            .put(&self.record_path(key), PutPayload::from(bytes))
            .await
            .map_err(object_store_error("store a record"))?;
        Ok(())
    }

    async fn get_record(&self, key: &RecordKey) -> Result<Bytes, ContentError> {
        let result = match self.store.get(&self.record_path(key)).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(ContentError::RecordNotFound(key.clone()))
            }
            Err(error) => return Err(object_store_error("read a record")(error)),
        };
        result
            .bytes()
            .await
            .map_err(object_store_error("read a record"))
    }

    async fn list_records(&self, namespace: &str) -> Result<Vec<RecordKey>, ContentError> {
        RecordKey::new(namespace, "x").map_err(ContentError::InvalidRecordKey)?;
        let folder = self.prefix.child(namespace);
        let objects: Vec<_> = self
            .store
            .list(Some(&folder))
            .try_collect()
            .await
            .map_err(object_store_error("list records"))?;
        Ok(objects
            .into_iter()
            .filter_map(|object| {
                let key = RecordKey::new(namespace, object.location.filename()?).ok()?;
                // Only objects directly in the namespace's folder.
                (object.location == self.record_path(&key)).then_some(key)
            })
            .collect())
    }
}
