//! What the unit tests of the domain share: a real SQLite metadata store in a temporary
//! folder with one active account, a content store in memory that can be told to fail, and
//! the account's actor.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use medgate_ids::{Oid, TenantId};
use medgate_storage::{
    Actor, AuditEntry, AuditOrigin, ContentError, ContentKey, ContentObject, ContentStore,
    Metadata, NewTenant, RecordKey, StagedFile, TenantActivation, TenantPlan,
};
use time::OffsetDateTime;

use crate::Repository;

/// The account every test acts for.
pub const TENANT: &str = "0000000000005010";

/// Content in memory; `fail_puts` makes every write fail as a full disk would.
#[derive(Debug, Default)]
pub struct MemoryContent {
    objects: Mutex<HashMap<ContentKey, Bytes>>,
    pub fail_puts: AtomicBool,
}

impl MemoryContent {
    pub fn keys(&self) -> Vec<ContentKey> {
        self.objects.lock().unwrap().keys().cloned().collect()
    }

    /// Replaces stored bytes behind the repository's back.
    pub fn overwrite(&self, key: &ContentKey, bytes: &'static [u8]) {
        self.objects
            .lock()
            .unwrap()
            .insert(key.clone(), Bytes::from_static(bytes));
    }
}

fn refused(operation: &'static str) -> ContentError {
    ContentError::Io {
        operation,
        path: PathBuf::from("/memory"),
        source: std::io::Error::other("no space left on device"),
    }
}

#[async_trait]
impl ContentStore for MemoryContent {
    async fn put(&self, key: &ContentKey, bytes: Bytes) -> Result<(), ContentError> {
        if self.fail_puts.load(Ordering::SeqCst) {
            return Err(refused("write"));
        }
        self.objects.lock().unwrap().insert(key.clone(), bytes);
        Ok(())
    }

    async fn put_file(&self, key: &ContentKey, file: StagedFile) -> Result<(), ContentError> {
        // A test double: small files only, read whole.
        let bytes = file.read_to_memory().await?;
        self.put(key, bytes).await
    }

    async fn get(&self, key: &ContentKey) -> Result<Bytes, ContentError> {
        self.objects
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .ok_or_else(|| ContentError::NotFound(key.clone()))
    }

    async fn delete(&self, key: &ContentKey) -> Result<(), ContentError> {
        self.objects.lock().unwrap().remove(key);
        Ok(())
    }

    async fn exists(&self, key: &ContentKey) -> Result<bool, ContentError> {
        Ok(self.objects.lock().unwrap().contains_key(key))
    }

    async fn list(&self) -> Result<Vec<ContentObject>, ContentError> {
        Ok(self
            .keys()
            .into_iter()
            .map(|key| ContentObject {
                key,
                modified_at: OffsetDateTime::now_utc(),
            })
            .collect())
    }

    async fn put_record(&self, _: &RecordKey, _: Bytes) -> Result<(), ContentError> {
        Err(refused("write a record"))
    }

    async fn get_record(&self, key: &RecordKey) -> Result<Bytes, ContentError> {
        Err(ContentError::RecordNotFound(key.clone()))
    }

    async fn list_records(&self, _: &str) -> Result<Vec<RecordKey>, ContentError> {
        Ok(Vec::new())
    }

    async fn check_reachable(&self) -> Result<(), ContentError> {
        Ok(())
    }
}

/// A repository over a fresh database with one active account.
pub struct Fixture {
    pub repository: Repository,
    pub content: Arc<MemoryContent>,
    pub actor: Actor,
    pub repository_id: Oid,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn new() -> Fixture {
        Fixture::with_plan(200 * 1024 * 1024, 10_000).await
    }

    pub async fn with_plan(quota_bytes: u64, max_files: u64) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("metadata.db").display()
        );
        let metadata = Metadata::connect(&url).await.unwrap();
        let tenant = TenantId::parse(TENANT).unwrap();
        let now = OffsetDateTime::now_utc();
        metadata
            .create_tenant(&NewTenant {
                id: tenant.clone(),
                plan: TenantPlan {
                    valid_from: now - time::Duration::days(1),
                    valid_to: now + time::Duration::days(365),
                    quota_bytes,
                    max_files,
                },
            })
            .await
            .unwrap();
        let repository_id = Oid::parse("2.999.4.1").unwrap();
        metadata
            .activate_tenant(
                &tenant,
                &TenantActivation {
                    provider_oid: Oid::parse("2.999.7").unwrap(),
                    domain_id: Oid::parse("2.999.2.1").unwrap(),
                    repository_id: repository_id.clone(),
                },
            )
            .await
            .unwrap();
        let content = Arc::new(MemoryContent::default());
        Fixture {
            repository: Repository::new(metadata, content.clone()),
            content,
            actor: Actor {
                tenant,
                name: "CN=0000000000005010 TLS".to_owned(),
                origin: AuditOrigin::Address(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            },
            repository_id,
            _dir: dir,
        }
    }

    /// The audit entries of the account, oldest first.
    pub async fn audit(&self) -> Vec<AuditEntry> {
        let mut entries = self
            .repository
            .metadata
            .list_audit(&self.actor.tenant, 1000)
            .await
            .unwrap();
        entries.sort_by_key(|e| e.seq);
        entries
    }
}

/// The PIK sample documents (kept outside the repository, in `shared/testdata`), or `None`
/// with a loud note when they are missing.
pub fn pik_samples() -> Option<Vec<PathBuf>> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/cda/pik");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "\n*** SKIPPED: the PIK examples are not at {}; the CDA mapping of every PIK document was not checked ***\n",
            dir.display()
        );
        return None;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no PIK examples in {}", dir.display());
    Some(files)
}

/// A small CDA document of the medgate-cda test fixtures, which live in the repository.
pub fn fixture_cda() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../medgate-cda/tests/fixtures/ccda-continuity-of-care.xml");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
