//! Reading inputs and writing outputs of the toolkit: owner-only permissions for secrets,
//! refusing to overwrite unless asked, passwords read from files, PEM/DER detection.

use std::fs;
use std::io::Write;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{PkiError, Result};

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    if path.is_dir() {
        return Err(PkiError::bad_file(path, "is a directory, expected a file"));
    }
    fs::read(path).map_err(|source| PkiError::io(path, "reading", source))
}

/// A password, wiped from memory when dropped. It has no `Debug` so it cannot be logged.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Takes a password given in memory.
    pub fn new(value: impl Into<String>) -> Self {
        Password(Zeroizing::new(value.into()))
    }

    /// Reads a password file: the first line, without its line ending. An empty password is
    /// refused because every reader treats it differently.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = Zeroizing::new(read(path)?);
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| PkiError::bad_file(path, "password file is not UTF-8 text"))?;
        let first_line = text.lines().next().unwrap_or("");
        if first_line.is_empty() {
            return Err(PkiError::bad_file(path, "password file is empty"));
        }
        Ok(Password(Zeroizing::new(first_line.to_owned())))
    }

    /// The password text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// How an output file may be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Create it; fail when it exists.
    CreateNew,
    /// Create or replace it.
    Replace,
}

/// Which permissions an output file gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Owner read/write only (0600): private keys, keystores.
    Secret,
    /// Normal permissions (umask): certificates, CSRs, CRLs, reports.
    Public,
}

/// Checks, before any work is done, that `path` can be written with `mode`: it is not a
/// folder, it does not exist unless replacing is allowed, and its folder exists. Returns
/// that folder. Commands that produce something costly (a certificate issued and recorded)
/// call it first, so nothing is produced that cannot then be saved.
pub fn check_writable(path: &Path, mode: WriteMode) -> Result<&Path> {
    if path.is_dir() {
        return Err(PkiError::bad_file(path, "is a folder, expected a file name"));
    }
    if mode == WriteMode::CreateNew && path.exists() {
        return Err(PkiError::WouldOverwrite {
            path: path.to_path_buf(),
        });
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(PkiError::bad_file(
            path,
            format!("folder {} does not exist", parent.display()),
        ));
    }
    Ok(parent)
}

/// Writes `contents` to `path` atomically (temporary file in the same folder, fsync, rename)
/// with the requested permissions. The parent folder must exist: a missing folder is
/// reported, not created silently in an unexpected place.
pub fn write(path: &Path, contents: &[u8], mode: WriteMode, visibility: Visibility) -> Result<()> {
    let parent = check_writable(path, mode)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".medgate-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match visibility {
            Visibility::Secret => 0o600,
            Visibility::Public => 0o644,
        };
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = visibility;
    let mut temporary = builder
        .tempfile_in(parent)
        .map_err(|source| PkiError::io(path, "creating", source))?;
    temporary
        .write_all(contents)
        .and_then(|()| temporary.as_file().sync_all())
        .map_err(|source| PkiError::io(path, "writing", source))?;
    let persisted = if mode == WriteMode::CreateNew {
        temporary.persist_noclobber(path)
    } else {
        temporary.persist(path)
    };
    persisted.map_err(|error| {
        if error.error.kind() == std::io::ErrorKind::AlreadyExists {
            PkiError::WouldOverwrite {
                path: path.to_path_buf(),
            }
        } else {
            PkiError::io(path, "writing", error.error)
        }
    })?;
    Ok(())
}

/// Makes sure a folder exists (creating it and its parents), naming it on failure.
pub fn ensure_dir(path: &Path) -> Result<()> {
    if path.exists() && !path.is_dir() {
        return Err(PkiError::bad_file(path, "exists and is not a folder"));
    }
    fs::create_dir_all(path).map_err(|source| PkiError::io(path, "creating folder", source))
}

/// True when the bytes look like PEM text (a `-----BEGIN` line somewhere near the start).
pub fn looks_like_pem(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    head.windows(11).any(|window| window == b"-----BEGIN ")
}

/// Parses every PEM block of a file, naming the file on error (for example a truncated
/// block without its END line).
pub fn pem_blocks(path: &Path, bytes: &[u8]) -> Result<Vec<pem::Pem>> {
    pem::parse_many(bytes).map_err(|error| {
        PkiError::bad_file(path, format!("damaged or truncated PEM ({error})"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_refuses_to_overwrite_and_sets_owner_only_mode() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| PkiError::io(Path::new("tmp"), "mk", e))?;
        let path = dir.path().join("secret.key");
        write(&path, b"one", WriteMode::CreateNew, Visibility::Secret)?;
        let second = write(&path, b"two", WriteMode::CreateNew, Visibility::Secret);
        assert!(matches!(second, Err(PkiError::WouldOverwrite { .. })));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).map_err(|e| PkiError::io(&path, "stat", e))?;
            assert_eq!(mode.permissions().mode() & 0o777, 0o600);
        }
        write(&path, b"two", WriteMode::Replace, Visibility::Secret)?;
        assert_eq!(read(&path)?, b"two");
        Ok(())
    }

    #[test]
    fn write_names_a_missing_folder() {
        let result = write(
            Path::new("/nonexistent-folder-medgate/x.pem"),
            b"x",
            WriteMode::Replace,
            Visibility::Public,
        );
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("does not exist"), "{message}");
    }

    #[test]
    fn password_file_takes_first_line_and_refuses_empty() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| PkiError::io(Path::new("tmp"), "mk", e))?;
        let path = dir.path().join("pw");
        fs::write(&path, "sekret\n").map_err(|e| PkiError::io(&path, "w", e))?;
        assert_eq!(Password::from_file(&path)?.expose(), "sekret");
        fs::write(&path, "\n").map_err(|e| PkiError::io(&path, "w", e))?;
        assert!(Password::from_file(&path).is_err());
        Ok(())
    }
}
