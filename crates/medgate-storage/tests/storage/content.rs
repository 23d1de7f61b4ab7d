//! Content stores: the same checks on a folder and on a local S3 server (moto), and the
//! orphan sweep over both.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use medgate_storage::{
    sweep_orphans, BackupHold, ContentError, ContentKey, ContentStore, FilesystemContent, Metadata,
    RecordKey, S3Config, S3Content, StagedFile, StagingArea, SweepReport,
};
use time::macros::datetime;

use crate::support::{create_tenant, document, MotoServer};

/// The behaviour every content store must have.
async fn behaves_like_a_content_store(store: &dyn ContentStore) {
    let key = ContentKey::generate().unwrap();
    let other = ContentKey::generate().unwrap();
    assert!(!store.exists(&key).await.unwrap());
    assert!(
        matches!(store.get(&key).await, Err(ContentError::NotFound(ref missing)) if *missing == key)
    );

    // Arbitrary bytes (not UTF-8, with zero bytes) come back byte for byte.
    let bytes: Vec<u8> = (0..70_000u32)
        .map(|index| (index * 7 % 256) as u8)
        .collect();
    store.put(&key, Bytes::from(bytes.clone())).await.unwrap();
    store
        .put(&other, Bytes::from_static(b"<ClinicalDocument/>"))
        .await
        .unwrap();
    assert!(store.exists(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), Bytes::from(bytes));
    assert_eq!(
        store.get(&other).await.unwrap(),
        Bytes::from_static(b"<ClinicalDocument/>")
    );

    let mut listed: Vec<_> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|object| object.key)
        .collect();
    listed.sort();
    let mut expected = vec![key.clone(), other.clone()];
    expected.sort();
    assert_eq!(listed, expected);

    // Putting again replaces.
    store
        .put(&other, Bytes::from_static(b"replaced"))
        .await
        .unwrap();
    assert_eq!(
        store.get(&other).await.unwrap(),
        Bytes::from_static(b"replaced")
    );

    store.delete(&key).await.unwrap();
    assert!(!store.exists(&key).await.unwrap());
    assert!(matches!(
        store.get(&key).await,
        Err(ContentError::NotFound(_))
    ));
    // Deleting again is not an error (retries after a crash).
    store.delete(&key).await.unwrap();
    let listed: Vec<_> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|object| object.key)
        .collect();
    assert_eq!(listed, vec![other.clone()]);

    // Records live beside the content: never listed as content, listed per namespace.
    let record = RecordKey::new("audit-checkpoints", "00000000000000000007-1.json").unwrap();
    let elsewhere = RecordKey::new("other-records", "x.json").unwrap();
    assert!(matches!(
        store.get_record(&record).await,
        Err(ContentError::RecordNotFound(ref missing)) if *missing == record
    ));
    assert_eq!(
        store.list_records("audit-checkpoints").await.unwrap(),
        vec![]
    );
    store
        .put_record(&record, Bytes::from_static(b"{\"seq\":7}"))
        .await
        .unwrap();
    store
        .put_record(&elsewhere, Bytes::from_static(b"x"))
        .await
        .unwrap();
    assert_eq!(
        store.get_record(&record).await.unwrap(),
        Bytes::from_static(b"{\"seq\":7}")
    );
    assert_eq!(
        store.list_records("audit-checkpoints").await.unwrap(),
        vec![record.clone()]
    );
    let listed: Vec<_> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|object| object.key)
        .collect();
    assert_eq!(listed, vec![other]);
    assert!(matches!(
        store.list_records("../content").await,
        Err(ContentError::InvalidRecordKey(_))
    ));
}

/// Orphans (content no document refers to) are removed once older than the grace period;
/// referenced content and recent orphans stay.
async fn sweep_removes_only_old_orphans(store: Arc<dyn ContentStore>) {
    let folder = tempfile::tempdir().unwrap();
    let metadata = Metadata::connect(&format!(
        "sqlite://{}/medgate.db?mode=rwc",
        folder.path().display()
    ))
    .await
    .unwrap();
    let tenant = create_tenant(&metadata, 5010, 1_000_000, 100).await;

    let record = document("1", "44051401359", datetime!(2021-06-15 08:41 UTC), 5);
    store
        .put(&record.content_key, Bytes::from_static(b"<cda/>"))
        .await
        .unwrap();
    metadata.insert_document(&tenant, &record).await.unwrap();
    // A record (an audit checkpoint) is not content: the sweep never sees it.
    let checkpoint = RecordKey::new("audit-checkpoints", "00000000000000000001-1.json").unwrap();
    store
        .put_record(&checkpoint, Bytes::from_static(b"signed"))
        .await
        .unwrap();
    let orphan = ContentKey::generate().unwrap();
    store
        .put(
            &orphan,
            Bytes::from_static(b"crashed before the metadata insert"),
        )
        .await
        .unwrap();

    // Within the grace period nothing is removed: it may be an upload in flight.
    let report = sweep_orphans(&metadata, store.as_ref(), Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        report,
        SweepReport {
            examined: 2,
            removed: 0,
            too_recent: 1,
            partials_removed: 0,
        }
    );
    assert!(store.exists(&orphan).await.unwrap());

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = sweep_orphans(&metadata, store.as_ref(), Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(
        report,
        SweepReport {
            examined: 2,
            removed: 1,
            too_recent: 0,
            partials_removed: 0,
        }
    );
    assert!(!store.exists(&orphan).await.unwrap());
    assert!(store.exists(&record.content_key).await.unwrap());
    assert_eq!(
        store.get_record(&checkpoint).await.unwrap(),
        Bytes::from_static(b"signed")
    );
    metadata.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_store_behaves_like_a_content_store() {
    let data_dir = tempfile::tempdir().unwrap();
    let store = FilesystemContent::open(data_dir.path()).await.unwrap();
    behaves_like_a_content_store(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_store_removes_nothing_while_a_backup_holds_it() {
    let data_dir = tempfile::tempdir().unwrap();
    let store = FilesystemContent::open(data_dir.path()).await.unwrap();
    let key = ContentKey::generate().unwrap();
    store.put(&key, Bytes::from_static(b"bytes")).await.unwrap();
    let hold = BackupHold::acquire(store.root()).unwrap();
    // A document deleted (or swept) while a backup reads the files: the bytes stay for it.
    store.delete(&key).await.unwrap();
    assert!(store.exists(&key).await.unwrap());
    assert!(store.removals_held());
    // One backup at a time.
    let second = BackupHold::acquire(store.root()).unwrap_err().to_string();
    assert!(second.contains("another backup running"), "{second}");
    hold.refresh().unwrap();
    assert!(!store.list().await.unwrap().is_empty());
    drop(hold);
    assert!(!store.root().join(".backup-hold").exists());
    assert!(!store.removals_held());
    store.delete(&key).await.unwrap();
    assert!(!store.exists(&key).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_store_lays_out_content_in_two_levels_and_leaves_no_temporary_files() {
    let data_dir = tempfile::tempdir().unwrap();
    let store = FilesystemContent::open(data_dir.path()).await.unwrap();
    assert_eq!(store.root(), data_dir.path().join("content"));
    let key = ContentKey::generate().unwrap();
    store.put(&key, Bytes::from_static(b"bytes")).await.unwrap();
    let text = key.as_str();
    let path = data_dir
        .path()
        .join("content")
        .join(&text[0..2])
        .join(&text[2..4])
        .join(text);
    assert_eq!(std::fs::read(&path).unwrap(), b"bytes");
    let folder = path.parent().unwrap();
    let names: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec![text.to_owned()]);

    // A record sits one level down, in its namespace's folder.
    let record = RecordKey::new("audit-checkpoints", "a.json").unwrap();
    store
        .put_record(&record, Bytes::from_static(b"record"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(data_dir.path().join("content/audit-checkpoints/a.json")).unwrap(),
        b"record"
    );

    // A temporary file that a crash left behind is neither listed nor a problem.
    std::fs::write(folder.join(".partial-crashed"), b"half").unwrap();
    let listed: Vec<_> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|object| object.key)
        .collect();
    assert_eq!(listed, vec![key]);

    // It is removed by the sweep once older than the grace period, not by opening the store
    // (a start does no work per stored file).
    let partial = folder.join(".partial-crashed");
    assert_eq!(store.remove_stale_partials(Duration::from_secs(3600)).await.unwrap(), 0);
    assert!(partial.exists(), "a young temporary file may be an upload in flight");
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&partial)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let store = FilesystemContent::open(data_dir.path()).await.unwrap();
    assert!(partial.exists(), "opening the store walked the stored files");
    assert_eq!(store.remove_stale_partials(Duration::from_secs(3600)).await.unwrap(), 1);
    assert!(!partial.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_store_makes_its_first_level_folders_when_opened() {
    let data_dir = tempfile::tempdir().unwrap();
    FilesystemContent::open(data_dir.path()).await.unwrap();
    let first_level: Vec<String> = std::fs::read_dir(data_dir.path().join("content"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(first_level.len(), 256, "{first_level:?}");
    assert!(first_level.iter().all(|name| name.len() == 2
        && name.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())));
    // Opening again changes nothing.
    FilesystemContent::open(data_dir.path()).await.unwrap();
    assert_eq!(std::fs::read_dir(data_dir.path().join("content")).unwrap().count(), 256);
}
/// `bytes` written to a new staged file in `area`, in network-sized chunks.
async fn staged(area: &StagingArea, bytes: &[u8]) -> StagedFile {
    let mut writer = area.create().await.unwrap();
    for chunk in bytes.chunks(16 * 1024) {
        writer.write(chunk).await.unwrap();
    }
    writer.finish().await.unwrap()
}

/// The names of the files in a folder.
fn file_names(folder: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// `put_file`: a staged upload, small (one write) or larger than an object store's part
/// (several parts), comes back byte for byte, replaces what was there, and leaves nothing in
/// the staging folder.
async fn puts_staged_files(store: &dyn ContentStore, area: &StagingArea) {
    let small = ContentKey::generate().unwrap();
    store
        .put_file(&small, staged(area, b"<ClinicalDocument/>").await)
        .await
        .unwrap();
    assert_eq!(
        store.get(&small).await.unwrap(),
        Bytes::from_static(b"<ClinicalDocument/>")
    );
    let large: Vec<u8> = (0..12 * 1024 * 1024 + 17u32)
        .map(|index| (index * 11 % 253) as u8)
        .collect();
    let key = ContentKey::generate().unwrap();
    store.put_file(&key, staged(area, &large).await).await.unwrap();
    assert!(store.get(&key).await.unwrap() == large, "the large file differs");
    // Putting again replaces.
    store
        .put_file(&small, staged(area, b"replaced").await)
        .await
        .unwrap();
    assert_eq!(
        store.get(&small).await.unwrap(),
        Bytes::from_static(b"replaced")
    );
    assert!(file_names(area.dir()).is_empty(), "{:?}", file_names(area.dir()));
    store.delete(&small).await.unwrap();
    store.delete(&key).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_store_puts_staged_files() {
    let data_dir = tempfile::tempdir().unwrap();
    let store = FilesystemContent::open(data_dir.path()).await.unwrap();
    // The node's layout: the staging folder beside the content, on its file system.
    let (area, _) = StagingArea::open(data_dir.path().join("tmp")).await.unwrap();
    puts_staged_files(&store, &area).await;
    // Moved into place: no temporary file beside the content either.
    let key = ContentKey::generate().unwrap();
    store.put_file(&key, staged(&area, b"moved").await).await.unwrap();
    let text = key.as_str();
    let folder = data_dir.path().join("content").join(&text[0..2]).join(&text[2..4]);
    assert_eq!(file_names(&folder), vec![text.to_owned()]);
}

/// A staging folder on another file system (here /dev/shm, a tmpfs) than the content: the
/// rename cannot work, so the file is copied and the copy renamed into place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_store_copies_staged_files_from_another_file_system() {
    use std::os::unix::fs::MetadataExt;
    let data_dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir_in("/dev/shm").unwrap();
    assert_ne!(
        std::fs::metadata(data_dir.path()).unwrap().dev(),
        std::fs::metadata(elsewhere.path()).unwrap().dev(),
        "the test needs /dev/shm on another file system than the temporary folder"
    );
    let store = FilesystemContent::open(data_dir.path()).await.unwrap();
    let (area, _) = StagingArea::open(elsewhere.path().join("tmp")).await.unwrap();
    puts_staged_files(&store, &area).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_sweep_removes_only_old_orphans() {
    let data_dir = tempfile::tempdir().unwrap();
    let store = FilesystemContent::open(data_dir.path()).await.unwrap();
    sweep_removes_only_old_orphans(Arc::new(store)).await;
}

fn s3_store(moto: &MotoServer, bucket: &str, prefix: &str) -> S3Content {
    moto.create_bucket(bucket);
    S3Content::new(&S3Config {
        endpoint: Some(moto.endpoint.clone()),
        bucket: bucket.to_owned(),
        region: "us-east-1".to_owned(),
        access_key_id: "testing".to_owned(),
        secret_access_key: "testing".to_owned(),
        allow_http: true,
        prefix: prefix.to_owned(),
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_behaves_like_a_content_store() {
    let Some(moto) = MotoServer::start() else {
        return;
    };
    let store = s3_store(&moto, "medgate-content", "content");
    behaves_like_a_content_store(&store).await;
    let staging = tempfile::tempdir().unwrap();
    let (area, _) = StagingArea::open(staging.path().join("tmp")).await.unwrap();
    puts_staged_files(&store, &area).await;
    let debug = format!("{store:?}");
    assert!(!debug.contains("testing"), "{debug}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_sweep_removes_only_old_orphans() {
    let Some(moto) = MotoServer::start() else {
        return;
    };
    let store = s3_store(&moto, "medgate-sweep", "");
    sweep_removes_only_old_orphans(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_config_debug_hides_the_secret() {
    let config = S3Config {
        endpoint: None,
        bucket: "b".to_owned(),
        region: "eu-central-1".to_owned(),
        access_key_id: "AKIA".to_owned(),
        secret_access_key: "very-secret".to_owned(),
        allow_http: false,
        prefix: "content".to_owned(),
    };
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("very-secret") && debug.contains("<redacted>"),
        "{debug}"
    );
}
