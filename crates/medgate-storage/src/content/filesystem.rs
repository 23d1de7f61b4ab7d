//! Content in a folder: `DATA_DIR/content/aa/bb/<key>` where `aa` and `bb` are the key's
//! first two pairs of hex digits (so no folder grows past 256 entries of folders). Writes go
//! to a temporary file in the target folder, which is renamed into place and then made durable
//! with the other uploads of the moment by one `syncfs` ([`super::group_sync`]) before the
//! write returns, so a stored object is either complete or absent after a crash.
//!
//! Records ([`RecordKey`]) live in `DATA_DIR/content/<namespace>/<name>`: one level below the
//! root, where the content walk (which only looks two folders down) never finds them, in a
//! folder whose name (three characters or more) is never a content fan-out folder.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use super::group_sync::GroupSync;
use super::{ContentObject, ContentStore};
use crate::error::ContentError;
use crate::staging::StagedFile;
use crate::values::{ContentKey, RecordKey};

/// Prefix of temporary files; never a valid content key, so never listed.
const PARTIAL_PREFIX: &str = ".partial-";

/// The content store of the embedded deployment.
#[derive(Clone, Debug)]
pub struct FilesystemContent {
    root: PathBuf,
    /// The shared `syncfs` every write waits for before it returns.
    durable: Arc<GroupSync>,
}

fn io_error(operation: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ContentError {
    let path = path.to_path_buf();
    move |source| ContentError::Io {
        operation,
        path,
        source,
    }
}

/// Fsyncs a directory so that entries created, renamed or removed in it are durable.
fn sync_directory(path: &Path) -> Result<(), ContentError> {
    fs::File::open(path)
        .and_then(|directory| directory.sync_all())
        .map_err(io_error("fsync the folder", path))
}

/// Runs blocking file system work off the async runtime's worker threads.
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> Result<T, ContentError> + Send + 'static,
) -> Result<T, ContentError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|join_error| ContentError::Io {
            operation: "finish file work on",
            path: path.to_path_buf(),
            source: io::Error::other(join_error.to_string()),
        })?
}

impl FilesystemContent {
    /// Opens (creating if needed) the content folder `data_dir/content` and its 256
    /// first-level fan-out folders, so that storing an object creates at most its second-level
    /// folder. Constant work whatever is stored: temporary
    /// files a crash left behind are removed by the background sweep
    /// ([`ContentStore::remove_stale_partials`]), not here.
    pub async fn open(data_dir: impl AsRef<Path>) -> Result<Self, ContentError> {
        let root = data_dir.as_ref().join("content");
        let folder = root.clone();
        let durable = blocking(&root.clone(), move || {
            fs::create_dir_all(&root).map_err(io_error("create the content folder", &root))?;
            let mut created = false;
            for first in 0..=255u8 {
                let folder = root.join(format!("{first:02x}"));
                if !folder.is_dir() {
                    match fs::create_dir(&folder) {
                        Ok(()) => created = true,
                        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(error) => {
                            return Err(io_error("create the folder", &folder)(error));
                        }
                    }
                }
            }
            if created {
                sync_directory(&root)?;
            }
            GroupSync::open(&root).map_err(io_error("open the content folder", &root))
        })
        .await?;
        Ok(FilesystemContent {
            root: folder,
            durable: Arc::new(durable),
        })
    }

    /// The content folder (`data_dir/content`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn folder_of(&self, key: &ContentKey) -> PathBuf {
        let key = key.as_str();
        self.root.join(&key[0..2]).join(&key[2..4])
    }

    fn path_of(&self, key: &ContentKey) -> PathBuf {
        self.folder_of(key).join(key.as_str())
    }
}

/// The file in the content folder that says a backup is reading it (`medgate backup`).
const BACKUP_HOLD: &str = ".backup-hold";

/// A hold older than this is left over from a backup that died; it is ignored.
const BACKUP_HOLD_STALE: Duration = Duration::from_secs(6 * 3600);

/// True when a backup holds the content folder `root` (a hold that is not stale).
fn backup_hold_active(root: &Path) -> bool {
    let Ok(status) = fs::metadata(root.join(BACKUP_HOLD)) else {
        return false;
    };
    let age = status
        .modified()
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .unwrap_or_default();
    if age > BACKUP_HOLD_STALE {
        tracing::warn!(file = %root.join(BACKUP_HOLD).display(), "ignoring a backup hold left by a backup that did not finish");
        return false;
    }
    true
}

/// While it lives, the folder store removes no content file (deletions of documents and the
/// orphan sweep leave the bytes in place; the sweep removes them after the hold ends), so a
/// backup that snapshots the database first and then reads the files its rows reference finds
/// every one of them. Taken by `medgate backup` before the snapshot; the file is removed when
/// the hold is dropped. A running node sees it because every removal looks for it first.
#[derive(Debug)]
pub struct BackupHold {
    path: PathBuf,
}

impl BackupHold {
    /// Places the hold in the content folder `root` (`DATA/content`), durably, so that a
    /// removal that starts after this returns cannot delete a file.
    /// One backup at a time: a hold that is there already is refused, unless it is stale.
    pub fn acquire(root: &Path) -> Result<Self, ContentError> {
        let path = root.join(BACKUP_HOLD);
        if path.exists() && !backup_hold_active(root) {
            fs::remove_file(&path).map_err(io_error("remove the stale backup hold", &path))?;
        }
        let mut file = fs::File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_error(
                "create (is another backup running? if none is, remove the file)",
                &path,
            ))?;
        writeln!(file, "medgate backup, process {}", std::process::id())
            .and_then(|()| file.sync_all())
            .map_err(io_error("write", &path))?;
        sync_directory(root)?;
        Ok(BackupHold { path })
    }

    /// Marks the hold as alive (a hold untouched for hours is taken for a dead backup's).
    pub fn refresh(&self) -> Result<(), ContentError> {
        fs::File::options()
            .append(true)
            .open(&self.path)
            .and_then(|file| file.set_modified(SystemTime::now()))
            .map_err(io_error("refresh", &self.path))
    }
}

impl Drop for BackupHold {
    fn drop(&mut self) {
        if let Err(error) = fs::remove_file(&self.path) {
            tracing::warn!(%error, file = %self.path.display(), "the backup hold could not be removed");
        }
    }
}

fn remove_stale_partials(root: &Path, age: Duration) -> Result<u64, ContentError> {
    let now = SystemTime::now();
    let mut removed = 0;
    for (path, name, modified) in walk(root)? {
        if name.starts_with(PARTIAL_PREFIX)
            && now.duration_since(modified).unwrap_or_default() > age
        {
            tracing::info!(path = %path.display(), "removing a stale temporary content file");
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(io_error("remove", &path)(error)),
            }
        }
    }
    Ok(removed)
}

/// Every file two folders below `root`, with its name and modification time.
fn walk(root: &Path) -> Result<Vec<(PathBuf, String, SystemTime)>, ContentError> {
    let mut files = Vec::new();
    let read = |path: &Path| fs::read_dir(path).map_err(io_error("list", path));
    for first in read(root)? {
        let first = first.map_err(io_error("list", root))?;
        if !first
            .file_type()
            .map_err(io_error("inspect", &first.path()))?
            .is_dir()
        {
            continue;
        }
        for second in read(&first.path())? {
            let second = second.map_err(io_error("list", &first.path()))?;
            if !second
                .file_type()
                .map_err(io_error("inspect", &second.path()))?
                .is_dir()
            {
                continue;
            }
            for file in read(&second.path())? {
                let file = file.map_err(io_error("list", &second.path()))?;
                let path = file.path();
                let metadata = file.metadata().map_err(io_error("inspect", &path))?;
                if !metadata.is_file() {
                    continue;
                }
                let modified = metadata.modified().map_err(io_error("inspect", &path))?;
                files.push((
                    path,
                    file.file_name().to_string_lossy().into_owned(),
                    modified,
                ));
            }
        }
    }
    Ok(files)
}

/// Creates `folder` when it is missing (not yet durably: the write's `syncfs` is what makes
/// it so).
fn ensure_folder(folder: &Path) -> Result<(), ContentError> {
    if folder.is_dir() {
        return Ok(());
    }
    // Made durable by the write's `syncfs`, with the file.
    fs::create_dir_all(folder).map_err(io_error("create the folder", folder))
}

/// Waits for the shared `syncfs` that makes `target`, written in `folder`, durable.
fn make_durable(durable: &GroupSync, target: &Path, folder: &Path) -> Result<(), ContentError> {
    durable
        .sync(target, folder)
        .map_err(io_error("make durable", target))
}

/// Moves the staged upload `file` to `target` inside `folder` (created if needed) and returns
/// once it is durable: renamed into place (atomic: the staging folder is on the content's file
/// system in the default layout), then the shared `syncfs`. When the rename crosses file
/// systems (a content root configured elsewhere), the file is copied to a temporary file in
/// `folder` and that one renamed, as [`write_durably`] does; the staged file is then removed
/// when dropped.
async fn move_durably(
    durable: Arc<GroupSync>,
    folder: PathBuf,
    target: PathBuf,
    file: StagedFile,
) -> Result<(), ContentError> {
    blocking(&target.clone(), move || {
        ensure_folder(&folder)?;
        let file = match file.persist(&target).map_err(|failed| *failed) {
            Ok(()) => return make_durable(&durable, &target, &folder),
            Err((file, error)) if error.kind() == io::ErrorKind::CrossesDevices => file,
            Err((_, error)) => {
                return Err(ContentError::Io {
                    operation: "move an upload to",
                    path: target,
                    source: error,
                })
            }
        };
        let mut temporary = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .tempfile_in(&folder)
            .map_err(io_error("create a temporary file in", &folder))?;
        let mut source = fs::File::open(file.path()).map_err(io_error("open", file.path()))?;
        io::copy(&mut source, temporary.as_file_mut())
            .map_err(io_error("copy an upload to", temporary.path()))?;
        temporary
            .persist(&target)
            .map_err(|persist_error| ContentError::Io {
                operation: "rename a temporary file to",
                path: target.clone(),
                source: persist_error.error,
            })?;
        drop(file);
        make_durable(&durable, &target, &folder)
    })
    .await
}

/// Writes `bytes` to `target` inside `folder` (created if needed): a temporary file renamed
/// into place, then the shared `syncfs`, so the file is complete or absent after a crash.
async fn write_durably(
    durable: Arc<GroupSync>,
    folder: PathBuf,
    target: PathBuf,
    bytes: Bytes,
) -> Result<(), ContentError> {
    blocking(&target.clone(), move || {
        ensure_folder(&folder)?;
        let mut temporary = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .tempfile_in(&folder)
            .map_err(io_error("create a temporary file in", &folder))?;
        temporary
            .write_all(&bytes)
            .map_err(io_error("write", temporary.path()))?;
        temporary
            .persist(&target)
            .map_err(|persist_error| ContentError::Io {
                operation: "rename a temporary file to",
                path: target.clone(),
                source: persist_error.error,
            })?;
        make_durable(&durable, &target, &folder)
    })
    .await
}

#[async_trait]
impl ContentStore for FilesystemContent {
    async fn put(&self, key: &ContentKey, bytes: Bytes) -> Result<(), ContentError> {
        write_durably(
            self.durable.clone(),
            self.folder_of(key),
            self.path_of(key),
            bytes,
        )
        .await
    }

    async fn put_file(&self, key: &ContentKey, file: StagedFile) -> Result<(), ContentError> {
        move_durably(
            self.durable.clone(),
            self.folder_of(key),
            self.path_of(key),
            file,
        )
        .await
    }

    async fn get(&self, key: &ContentKey) -> Result<Bytes, ContentError> {
        let path = self.path_of(key);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                Err(ContentError::NotFound(key.clone()))
            }
            Err(error) => Err(io_error("read", &path)(error)),
        }
    }

    async fn delete(&self, key: &ContentKey) -> Result<(), ContentError> {
        let folder = self.folder_of(key);
        let path = self.path_of(key);
        let root = self.root.clone();
        blocking(&path.clone(), move || {
            if backup_hold_active(&root) {
                // A backup is reading the files its database snapshot references: nothing
                // is removed until it ends; the orphan sweep removes this object later.
                tracing::info!(path = %path.display(), "a backup is running: the removal is left to the orphan sweep");
                return Ok(());
            }
            match fs::remove_file(&path) {
            Ok(()) => sync_directory(&folder),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(io_error("remove", &path)(error)),
            }
        })
        .await
    }

    async fn check_reachable(&self) -> Result<(), ContentError> {
        // The first fan-out folder, made at open: a content folder unmounted or removed
        // since then is missing it.
        let folder = self.root.join("00");
        let found = tokio::fs::metadata(&folder)
            .await
            .map_err(io_error("inspect", &folder))?;
        if found.is_dir() {
            Ok(())
        } else {
            Err(io_error("inspect", &folder)(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a folder",
            )))
        }
    }

    async fn exists(&self, key: &ContentKey) -> Result<bool, ContentError> {
        let path = self.path_of(key);
        tokio::fs::try_exists(&path)
            .await
            .map_err(io_error("inspect", &path))
    }

    async fn list(&self) -> Result<Vec<ContentObject>, ContentError> {
        let root = self.root.clone();
        blocking(&root.clone(), move || {
            Ok(walk(&root)?
                .into_iter()
                .filter_map(|(_, name, modified)| {
                    ContentKey::parse(&name).ok().map(|key| ContentObject {
                        key,
                        modified_at: OffsetDateTime::from(modified),
                    })
                })
                .collect())
        })
        .await
    }

    fn removals_held(&self) -> bool {
        backup_hold_active(&self.root)
    }

    async fn remove_stale_partials(&self, age: Duration) -> Result<u64, ContentError> {
        let root = self.root.clone();
        blocking(&root.clone(), move || remove_stale_partials(&root, age)).await
    }

    async fn put_record(&self, key: &RecordKey, bytes: Bytes) -> Result<(), ContentError> {
        let folder = self.root.join(key.namespace());
        let target = folder.join(key.name());
        write_durably(self.durable.clone(), folder, target, bytes).await
    }

    async fn get_record(&self, key: &RecordKey) -> Result<Bytes, ContentError> {
        let path = self.root.join(key.namespace()).join(key.name());
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                Err(ContentError::RecordNotFound(key.clone()))
            }
            Err(error) => Err(io_error("read", &path)(error)),
        }
    }

    async fn list_records(&self, namespace: &str) -> Result<Vec<RecordKey>, ContentError> {
        // Checks the namespace before it becomes a path.
        RecordKey::new(namespace, "x").map_err(ContentError::InvalidRecordKey)?;
        let folder = self.root.join(namespace);
        let namespace = namespace.to_owned();
        blocking(&folder.clone(), move || {
            let entries = match fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(error) => return Err(io_error("list", &folder)(error)),
            };
            let mut keys = Vec::new();
            for entry in entries {
                let entry = entry.map_err(io_error("list", &folder))?;
                let is_file = entry
                    .file_type()
                    .map_err(io_error("inspect", &entry.path()))?
                    .is_file();
                if !is_file {
                    continue;
                }
                if let Ok(key) = RecordKey::new(&namespace, &entry.file_name().to_string_lossy()) {
                    keys.push(key);
                }
            }
            Ok(keys)
        })
        .await
    }
}
