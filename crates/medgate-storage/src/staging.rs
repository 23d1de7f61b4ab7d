//! The staging area: the node's `DATA/tmp` folder, where an upload is written chunk by chunk
//! while it arrives ([`StagedWriter`]), hashed on the way (SHA-256 and SHA-1 for the
//! metadata, SHA-512 for a `Content-Digest` that uses it), so that no upload is ever held
//! whole in memory. A finished upload is a [`StagedFile`]: its path, length and digests; it
//! goes into the content store with [`crate::ContentStore::put_file`] (moved into place, or
//! copied / uploaded from the file) or is dropped.
//!
//! Whatever happens, a staged file does not outlive its request: the file is removed when
//! the writer or the staged file is dropped — on a refusal, an error, a client that goes away
//! mid-upload (the request's future is dropped), or once the store has taken it — and
//! whatever a crash left in the folder is removed when the node opens it
//! ([`StagingArea::open`]). The folder belongs to one node (it is in the node's own data
//! folder, never shared), so everything found there at start is a leftover.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use bytes::Bytes;
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

use crate::error::ContentError;
use crate::values::{Sha1Digest, Sha256Digest};

/// Prefix of staged files.
const STAGED_PREFIX: &str = "upload-";

/// How many bytes a writer gathers before it hands them to the file (one blocking write per
/// this many bytes instead of one per network chunk).
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

fn io_error(operation: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ContentError {
    let path = path.to_path_buf();
    move |source| ContentError::Io {
        operation,
        path,
        source,
    }
}

/// The folder uploads are staged in.
#[derive(Clone, Debug)]
pub struct StagingArea {
    dir: PathBuf,
}

impl StagingArea {
    /// Opens (creating if needed) the staging folder `dir` and removes every staged file in
    /// it: at start no upload is in flight, so each one is a crash's leftover. Returns how
    /// many were removed with the area.
    pub async fn open(dir: impl AsRef<Path>) -> Result<(StagingArea, usize), ContentError> {
        let dir = dir.as_ref().to_path_buf();
        let area = StagingArea { dir: dir.clone() };
        let removed = tokio::task::spawn_blocking(move || {
            fs::create_dir_all(&dir).map_err(io_error("create the staging folder", &dir))?;
            let mut removed = 0;
            for entry in fs::read_dir(&dir).map_err(io_error("list", &dir))? {
                let entry = entry.map_err(io_error("list", &dir))?;
                let name = entry.file_name();
                let is_file = entry
                    .file_type()
                    .map_err(io_error("inspect", &entry.path()))?
                    .is_file();
                if is_file && name.to_string_lossy().starts_with(STAGED_PREFIX) {
                    let path = entry.path();
                    tracing::info!(path = %path.display(), "removing an upload a crash left behind");
                    fs::remove_file(&path).map_err(io_error("remove", &path))?;
                    removed += 1;
                }
            }
            Ok::<usize, ContentError>(removed)
        })
        .await
        .map_err(|join_error| ContentError::Io {
            operation: "clean",
            path: area.dir.clone(),
            source: io::Error::other(join_error.to_string()),
        })??;
        Ok((area, removed))
    }

    /// The staging folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new, empty staged file to write an upload into.
    pub async fn create(&self) -> Result<StagedWriter, ContentError> {
        let dir = self.dir.clone();
        let (file, path) = tokio::task::spawn_blocking(move || {
            tempfile::Builder::new()
                .prefix(STAGED_PREFIX)
                .rand_bytes(16)
                .tempfile_in(&dir)
                .map(tempfile::NamedTempFile::into_parts)
                .map_err(io_error("create a file in", &dir))
        })
        .await
        .map_err(|join_error| ContentError::Io {
            operation: "create a file in",
            path: self.dir.clone(),
            source: io::Error::other(join_error.to_string()),
        })??;
        Ok(StagedWriter {
            file: tokio::io::BufWriter::with_capacity(
                WRITE_BUFFER_BYTES,
                tokio::fs::File::from_std(file),
            ),
            path,
            len: 0,
            hashes: Hashes::new(),
        })
    }

    /// A staged file written by `write` (a blocking function given the new file's path, such
    /// as a rewrite that streams one file into another), then read once for its length and
    /// digests. When `write` fails its error is answered and the file is removed, as any
    /// staged file is when dropped.
    pub async fn write_with<E: Send + 'static>(
        &self,
        write: impl FnOnce(&Path) -> Result<(), E> + Send + 'static,
    ) -> Result<Result<StagedFile, E>, ContentError> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let path = tempfile::Builder::new()
                .prefix(STAGED_PREFIX)
                .rand_bytes(16)
                .tempfile_in(&dir)
                .map_err(io_error("create a file in", &dir))?
                .into_temp_path();
            if let Err(error) = write(&path) {
                return Ok(Err(error));
            }
            let mut file = fs::File::open(&path).map_err(io_error("read", &path))?;
            let mut hashes = Hashes::new();
            let mut len = 0u64;
            let mut chunk = vec![0u8; WRITE_BUFFER_BYTES];
            loop {
                let read =
                    io::Read::read(&mut file, &mut chunk).map_err(io_error("read", &path))?;
                if read == 0 {
                    break;
                }
                hashes.update(&chunk[..read]);
                len = len.saturating_add(read as u64);
            }
            Ok(Ok(hashes.staged(path, len)))
        })
        .await
        .map_err(|join_error| ContentError::Io {
            operation: "write a file in",
            path: self.dir.clone(),
            source: io::Error::other(join_error.to_string()),
        })?
    }
}

struct Hashes {
    sha256: digest::Context,
    sha512: digest::Context,
    sha1: digest::Context,
}

impl Hashes {
    fn new() -> Self {
        Hashes {
            sha256: digest::Context::new(&digest::SHA256),
            sha512: digest::Context::new(&digest::SHA512),
            sha1: digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        }
    }

    fn update(&mut self, chunk: &[u8]) {
        self.sha256.update(chunk);
        self.sha512.update(chunk);
        self.sha1.update(chunk);
    }

    /// The staged file at `path` of `len` bytes these digests were taken over.
    fn staged(self, path: TempPath, len: u64) -> StagedFile {
        let Hashes {
            sha256,
            sha512,
            sha1,
        } = self;
        let mut sha256_bytes = [0u8; Sha256Digest::LEN];
        sha256_bytes.copy_from_slice(sha256.finish().as_ref());
        let mut sha1_bytes = [0u8; Sha1Digest::LEN];
        sha1_bytes.copy_from_slice(sha1.finish().as_ref());
        let mut sha512_bytes = [0u8; 64];
        sha512_bytes.copy_from_slice(sha512.finish().as_ref());
        StagedFile {
            path,
            len,
            sha256: Sha256Digest::from_bytes(sha256_bytes),
            sha1: Sha1Digest::from_bytes(sha1_bytes),
            sha512: sha512_bytes,
        }
    }
}

/// An upload being written to the staging area. Dropped before [`StagedWriter::finish`],
/// its file is removed.
pub struct StagedWriter {
    file: tokio::io::BufWriter<tokio::fs::File>,
    /// Removes the file when dropped.
    path: TempPath,
    len: u64,
    hashes: Hashes,
}

impl std::fmt::Debug for StagedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedWriter")
            .field("path", &self.path.display())
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl StagedWriter {
    /// Appends the next chunk of the upload and hashes it.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), ContentError> {
        self.hashes.update(chunk);
        self.len = self.len.saturating_add(chunk.len() as u64);
        self.file
            .write_all(chunk)
            .await
            .map_err(io_error("write", &self.path))
    }

    /// How many bytes were written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The complete upload: written out to the file (not yet fsynced — the store that takes
    /// it makes it durable as it needs), with its length and digests.
    pub async fn finish(mut self) -> Result<StagedFile, ContentError> {
        self.file
            .flush()
            .await
            .map_err(io_error("write", &self.path))?;
        let mut file = self.file.into_inner();
        file.flush().await.map_err(io_error("write", &self.path))?;
        drop(file);
        Ok(self.hashes.staged(self.path, self.len))
    }
}

/// A complete upload in the staging area, with its length and digests. The file is removed
/// when this is dropped, unless a content store moved it into place.
pub struct StagedFile {
    path: TempPath,
    len: u64,
    sha256: Sha256Digest,
    sha1: Sha1Digest,
    sha512: [u8; 64],
}

impl std::fmt::Debug for StagedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedFile")
            .field("path", &self.path.display())
            .field("len", &self.len)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl StagedFile {
    /// Where the file is (while this value lives).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn sha256(&self) -> &Sha256Digest {
        &self.sha256
    }

    pub fn sha1(&self) -> &Sha1Digest {
        &self.sha1
    }

    pub fn sha512(&self) -> &[u8; 64] {
        &self.sha512
    }

    /// The whole file in memory. Only for what must be parsed as a whole (a CDA document's
    /// XML); the caller accounts for the memory. Refused when the file is not the length it
    /// was written with.
    pub async fn read_to_memory(&self) -> Result<Bytes, ContentError> {
        let bytes = tokio::fs::read(&*self.path)
            .await
            .map_err(io_error("read", &self.path))?;
        if bytes.len() as u64 != self.len {
            return Err(io_error("read", &self.path)(io::Error::other(format!(
                "the staged file has {} bytes, {} were written",
                bytes.len(),
                self.len
            ))));
        }
        Ok(Bytes::from(bytes))
    }

    /// Opens the file for reading (a store that copies or uploads it in pieces).
    pub async fn open(&self) -> Result<tokio::fs::File, ContentError> {
        tokio::fs::File::open(&*self.path)
            .await
            .map_err(io_error("open", &self.path))
    }

    /// Renames the file to `target` (same file system); on failure the staged file is given
    /// back with the error, still removed when dropped.
    pub(crate) fn persist(self, target: &Path) -> Result<(), Box<(StagedFile, io::Error)>> {
        let StagedFile {
            path,
            len,
            sha256,
            sha1,
            sha512,
        } = self;
        path.persist(target).map_err(|error| {
            Box::new((
                StagedFile {
                    path: error.path,
                    len,
                    sha256,
                    sha1,
                    sha512,
                },
                error.error,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn open_creates_the_folder_and_removes_leftovers_only() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("tmp");
        let (_, removed) = StagingArea::open(&dir).await.unwrap();
        assert_eq!(removed, 0);
        assert!(dir.is_dir());
        fs::write(dir.join("upload-leftover1234"), b"half an upload").unwrap();
        fs::write(dir.join("README"), b"not ours").unwrap();
        let (area, removed) = StagingArea::open(&dir).await.unwrap();
        assert_eq!(removed, 1);
        assert_eq!(files_in(area.dir()), vec!["README".to_owned()]);
    }

    #[tokio::test]
    async fn a_written_file_has_its_length_digests_and_bytes() {
        let data = tempfile::tempdir().unwrap();
        let (area, _) = StagingArea::open(data.path().join("tmp")).await.unwrap();
        let body: Vec<u8> = (0..600_000u32).map(|i| (i * 13 % 256) as u8).collect();
        let mut writer = area.create().await.unwrap();
        assert!(writer.is_empty());
        for chunk in body.chunks(16 * 1024 + 3) {
            writer.write(chunk).await.unwrap();
        }
        assert_eq!(writer.len(), 600_000);
        let staged = writer.finish().await.unwrap();
        assert_eq!(staged.len(), 600_000);
        assert_eq!(staged.sha256(), &Sha256Digest::of(&body));
        assert_eq!(staged.sha1(), &Sha1Digest::of(&body));
        assert_eq!(
            staged.sha512().as_slice(),
            digest::digest(&digest::SHA512, &body).as_ref()
        );
        assert_eq!(staged.read_to_memory().await.unwrap(), Bytes::from(body));
        let path = staged.path().to_path_buf();
        assert!(path.starts_with(area.dir()));
        drop(staged);
        assert!(!path.exists(), "a dropped staged file is removed");
        assert!(files_in(area.dir()).is_empty());
    }

    #[tokio::test]
    async fn a_file_written_by_another_function_is_hashed_or_removed_when_it_fails() {
        let data = tempfile::tempdir().unwrap();
        let (area, _) = StagingArea::open(data.path().join("tmp")).await.unwrap();
        let body: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let written = body.clone();
        let staged = area
            .write_with(move |path| std::fs::write(path, &written))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(staged.len(), 300_000);
        assert_eq!(staged.sha256(), &Sha256Digest::of(&body));
        assert_eq!(staged.sha1(), &Sha1Digest::of(&body));
        assert!(staged.path().starts_with(area.dir()));
        drop(staged);
        assert!(files_in(area.dir()).is_empty());
        let failed = area
            .write_with(|path| {
                std::fs::write(path, b"half")?;
                Err::<(), _>(io::Error::other("the rewrite failed"))
            })
            .await
            .unwrap();
        assert_eq!(failed.unwrap_err().to_string(), "the rewrite failed");
        assert!(files_in(area.dir()).is_empty(), "nothing is left behind");
    }

    #[tokio::test]
    async fn an_abandoned_writer_leaves_nothing() {
        let data = tempfile::tempdir().unwrap();
        let (area, _) = StagingArea::open(data.path().join("tmp")).await.unwrap();
        let mut writer = area.create().await.unwrap();
        writer.write(&[7u8; 300_000]).await.unwrap();
        assert_eq!(files_in(area.dir()).len(), 1);
        drop(writer);
        assert!(files_in(area.dir()).is_empty());
    }

    #[tokio::test]
    async fn persist_moves_the_file_and_gives_it_back_on_failure() {
        let data = tempfile::tempdir().unwrap();
        let (area, _) = StagingArea::open(data.path().join("tmp")).await.unwrap();
        let mut writer = area.create().await.unwrap();
        writer.write(b"bytes").await.unwrap();
        let staged = writer.finish().await.unwrap();
        let (staged, _) = *staged
            .persist(&data.path().join("no-such-folder").join("x"))
            .unwrap_err();
        assert_eq!(
            staged.read_to_memory().await.unwrap(),
            Bytes::from_static(b"bytes")
        );
        let target = data.path().join("moved");
        staged.persist(&target).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"bytes");
        assert!(files_in(area.dir()).is_empty());
    }
}
