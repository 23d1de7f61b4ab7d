//! One `syncfs` for the content files of many uploads at once: the group commit of the
//! folder store, as the metadata writer's batches are for the database.
//!
//! A stored file used to take three fsyncs of its own (its new folder's parent, the file, its
//! folder after the rename), each a flush of the disk's cache. Now a writer creates the
//! folder, writes and renames without them and then calls [`GroupSync::sync`], which returns
//! only once a `syncfs` of the content's file system that *started after the call* has
//! finished: data, names and folders of every file written before then are on disk. While
//! one `syncfs` runs, the writers that arrive wait, and the next one covers all of them.
//!
//! A failed `syncfs` fails every writer it was to cover (and those of an earlier one still
//! waiting): after a write-back error the kernel may have dropped the data, and a later
//! `syncfs` that succeeds says nothing of it.
//!
//! Linux has `syncfs`; elsewhere each writer fsyncs its file and folder as before
//! ([`GroupSync::sync_one`]).

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};

/// The content file system's shared `syncfs` (see the module docs).
#[derive(Debug)]
pub(crate) struct GroupSync {
    /// The content root, opened once: `syncfs` flushes the file system it is on.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    root: File,
    /// `syncfs` (a test puts a failing one in its place).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    flush: fn(&File) -> io::Result<()>,
    state: Mutex<State>,
    finished: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The number of the newest `syncfs` started (they are numbered from 1).
    started: u64,
    /// The number of the newest one finished.
    finished: u64,
    running: bool,
    /// The newest one that failed, with its error.
    failure: Option<(u64, io::ErrorKind, String)>,
}

impl GroupSync {
    /// For the file system holding the folder `root`.
    pub(crate) fn open(root: &Path) -> io::Result<Self> {
        Ok(GroupSync {
            root: File::open(root)?,
            flush: syncfs,
            state: Mutex::new(State::default()),
            finished: Condvar::new(),
        })
    }

    /// Returns once every file written, renamed or created under the root before the call is
    /// on disk (`file` and `folder`: the one this caller wrote, fsynced alone where there is
    /// no `syncfs`). Blocks: call it from blocking work.
    pub(crate) fn sync(&self, file: &Path, folder: &Path) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            let _ = (file, folder);
            self.sync_all()
        }
        #[cfg(not(target_os = "linux"))]
        {
            Self::sync_one(file, folder)
        }
    }

    #[cfg(target_os = "linux")]
    fn sync_all(&self) -> io::Result<()> {
        let mut state = self.lock();
        // One that is running may have started before this caller's writes: the next one.
        let needed = state.started + 1;
        loop {
            if state.finished >= needed {
                return match &state.failure {
                    Some((number, kind, message)) if *number >= needed => {
                        Err(io::Error::new(*kind, format!("syncfs: {message}")))
                    }
                    _ => Ok(()),
                };
            }
            if state.running {
                state = self
                    .finished
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            state.running = true;
            state.started += 1;
            let number = state.started;
            drop(state);
            let result = (self.flush)(&self.root);
            state = self.lock();
            state.running = false;
            state.finished = number;
            if let Err(error) = result {
                state.failure = Some((number, error.kind(), error.to_string()));
            }
            self.finished.notify_all();
        }
    }

    /// Where there is no `syncfs`: the file, then its folder.
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    fn sync_one(file: &Path, folder: &Path) -> io::Result<()> {
        File::open(file)?.sync_all()?;
        File::open(folder)?.sync_all()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many `syncfs` calls have finished (for tests).
    #[cfg(test)]
    fn finished(&self) -> u64 {
        self.lock().finished
    }
}

#[cfg(target_os = "linux")]
fn syncfs(root: &File) -> io::Result<()> {
    rustix::fs::syncfs(root).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn syncfs(_: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Writers that call at once share `syncfs` calls: 64 threads, each writing a file and
    /// syncing while a slow `syncfs` runs, need a few — and each returns only after one that
    /// started after its call has finished.
    #[test]
    fn writers_at_once_share_a_syncfs() {
        fn slow(root: &File) -> io::Result<()> {
            std::thread::sleep(std::time::Duration::from_millis(200));
            syncfs(root)
        }
        let folder = tempfile::tempdir().unwrap();
        let mut group = GroupSync::open(folder.path()).unwrap();
        group.flush = slow;
        let group = Arc::new(group);
        let threads: Vec<_> = (0..64)
            .map(|index| {
                let group = group.clone();
                let path = folder.path().join(format!("f{index}"));
                std::thread::spawn(move || {
                    std::fs::write(&path, b"content").unwrap();
                    let before = group.lock().started;
                    group.sync(&path, path.parent().unwrap()).unwrap();
                    // A syncfs numbered after the one running at the call has finished.
                    assert!(group.finished() > before);
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // The first call's syncfs, and the next one for everyone who came while it ran
        // (a third only if a thread started more than 200 ms late).
        let calls = group.finished();
        assert!(
            (2..=3).contains(&calls),
            "64 writers took {calls} syncfs calls"
        );
    }

    /// A failed `syncfs` fails the writer it was to cover, naming the error; a writer whose
    /// `syncfs` comes after it and succeeds is not failed by it.
    #[test]
    fn a_failure_fails_the_writers_it_covered() {
        fn failing(_: &File) -> io::Result<()> {
            Err(io::Error::other("Input/output error"))
        }
        let folder = tempfile::tempdir().unwrap();
        let mut group = GroupSync::open(folder.path()).unwrap();
        let path = folder.path().join("f");
        std::fs::write(&path, b"x").unwrap();

        group.flush = failing;
        let error = group.sync(&path, folder.path()).unwrap_err();
        assert_eq!(error.to_string(), "syncfs: Input/output error");
        assert_eq!(group.finished(), 1);

        group.flush = syncfs;
        group.sync(&path, folder.path()).unwrap();
        assert_eq!(group.finished(), 2);
    }
}
