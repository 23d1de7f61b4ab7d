//! The outbox folder: which of its files are candidates, when a file is complete enough to
//! pick up, attachment sidecars, and the durable file operations that follow an outcome
//! (remove after upload, move to `rejected/`).
//!
//! # Which files
//!
//! Regular files directly in the outbox. Names starting with `.` and ending in `.part`,
//! `.tmp`, `.partial`, `.crdownload` or `~` are being written by someone and are ignored, and
//! so are sidecars (`*.meta.toml`) and sub-folders (the state folder and `rejected/` live
//! there by default).
//!
//! # When a file is complete
//!
//! A file is picked up once it has not been modified for the settle time (by default one
//! poll interval): its modification time must be at least that old, and its size and
//! modification time must be the same after the agent has read it as before. A writer that
//! can pause for longer than that in the middle of a file should write it under a temporary
//! name (`report.xml.part`, `.report.xml`) and rename it into place when complete, which is
//! atomic and always safe.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::journal::Fingerprint;

/// The suffix of an attachment's sidecar: `scan.pdf` is described by `scan.pdf.meta.toml`.
pub const SIDECAR_SUFFIX: &str = ".meta.toml";

const IN_PROGRESS_SUFFIXES: &[&str] = &[".part", ".tmp", ".partial", ".crdownload", "~"];

/// A file of the outbox as seen by one scan.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The file name (the journal's key).
    pub name: String,
    /// The full path.
    pub path: PathBuf,
    /// Size and modification time.
    pub fingerprint: Fingerprint,
    /// The modification time: when the document was dropped.
    pub modified: SystemTime,
}

/// True for names the agent never picks up itself.
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with(SIDECAR_SUFFIX)
        || IN_PROGRESS_SUFFIXES
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// Outbox entries that are not valid UTF-8 names cannot be journal keys; they are returned
/// apart so the agent can report them.
#[derive(Debug, Default)]
pub struct Scan {
    pub candidates: Vec<Candidate>,
    pub unreadable_names: Vec<PathBuf>,
}

/// Lists the candidates of `outbox`, oldest first (then by name), so that documents go to
/// the repository roughly in the order they were produced.
pub fn scan(outbox: &Path) -> std::io::Result<Scan> {
    let mut result = Scan::default();
    for entry in fs::read_dir(outbox)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            result.unreadable_names.push(entry.path());
            continue;
        };
        if is_ignored(&name) {
            continue;
        }
        // `metadata` follows symbolic links, so a link to a document is uploaded; removing it
        // afterwards removes the link, never the target.
        let metadata = match fs::metadata(entry.path()) {
            Ok(metadata) => metadata,
            // Removed between listing and reading: not a candidate any more.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        if !metadata.is_file() {
            continue;
        }
        let modified = metadata.modified()?;
        result.candidates.push(Candidate {
            path: entry.path(),
            fingerprint: Fingerprint::new(metadata.len(), modified),
            modified,
            name,
        });
    }
    result.candidates.sort_by(|a, b| {
        a.modified
            .cmp(&b.modified)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(result)
}

/// True when a file last modified at `modified` has been left alone for `settle` at `now`.
pub fn is_settled(modified: SystemTime, now: SystemTime, settle: Duration) -> bool {
    match now.duration_since(modified) {
        Ok(age) => age >= settle,
        // Modified "in the future" (a writer's clock ahead of ours): settled only when no
        // settle time is asked for.
        Err(_) => settle.is_zero(),
    }
}

/// Reads the current size and modification time of `path`.
pub fn fingerprint_of(path: &Path) -> std::io::Result<(Fingerprint, SystemTime)> {
    let metadata = fs::metadata(path)?;
    let modified = metadata.modified()?;
    Ok((Fingerprint::new(metadata.len(), modified), modified))
}

/// The sidecar path of `path`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(SIDECAR_SUFFIX);
    path.with_file_name(name)
}

/// An attachment's description, `FILE.meta.toml` next to `FILE`:
///
/// ```toml
/// patient = "02070803628"        # PESEL, or root^extension for other identifiers
/// title = "Skan skierowania"
/// type = "ZAL"                   # document type code (default ZAL, "Załącznik")
/// content_type = "application/pdf"  # default: guessed from the file name
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    pub patient: String,
    pub title: String,
    #[serde(rename = "type")]
    pub type_code: Option<String>,
    pub content_type: Option<String>,
}

/// Reads and checks a sidecar; the error says what is wrong with it.
pub fn read_sidecar(path: &Path) -> Result<Sidecar, String> {
    let text = fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot be read: {e}", file_name(path)))?;
    let sidecar: Sidecar =
        toml::from_str(&text).map_err(|e| format!("{}: {}", file_name(path), e.message()))?;
    if sidecar.patient.trim().is_empty() {
        return Err(format!("{}: `patient` is empty", file_name(path)));
    }
    if sidecar.title.trim().is_empty() {
        return Err(format!("{}: `title` is empty", file_name(path)));
    }
    Ok(sidecar)
}

/// The content type of an attachment from its file name, for the common kinds of scans and
/// photos a clinic produces; anything else is sent as bytes.
pub fn guess_content_type(name: &str) -> &'static str {
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "tif" | "tiff" => "image/tiff",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "webp" => "image/webp",
        "dcm" => "application/dicom",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "htm" | "html" => "text/html",
        "rtf" => "application/rtf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "odt" => "application/vnd.oasis.opendocument.text",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// True when `bytes` look like XML (after an optional byte-order mark and white space): such
/// a file is treated as a CDA document, any other file needs a sidecar.
pub fn looks_like_xml(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|byte| *byte == b'<')
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Writes `bytes` to `path` so that a crash leaves either the old or the new content, never
/// a part: a temporary file beside it, fsync, rename over, fsync of the folder.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    temporary_name.push(".tmp");
    let temporary = path.with_file_name(temporary_name);
    {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&temporary, path)?;
    sync_folder_of(path)
}

/// Makes a rename, creation or removal in `path`'s folder durable.
pub fn sync_folder_of(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => sync_folder(folder),
        _ => sync_folder(Path::new(".")),
    }
}

/// fsync of a folder (its entries), where the platform supports it.
pub fn sync_folder(folder: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(folder)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = folder;
        Ok(())
    }
}

/// Removes `path` durably; a file already gone is fine (a crash may have come after the
/// removal and before the journal noted it).
pub fn remove_durably(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_folder_of(path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// Moves `path` into `folder` under a name not yet taken there (`x.xml`, `x-1.xml`, …) and
/// returns the new path. A rename when both are on one file system; otherwise a durable copy
/// followed by the removal of the original, so that the file exists somewhere at every
/// moment.
pub fn move_into(path: &Path, folder: &Path) -> std::io::Result<PathBuf> {
    fs::create_dir_all(folder)?;
    let name = file_name(path);
    let mut target = folder.join(&name);
    let mut counter = 1u32;
    while target.exists() {
        let (stem, extension) = match name.rsplit_once('.') {
            Some((stem, extension)) if !stem.is_empty() => (stem, format!(".{extension}")),
            _ => (name.as_str(), String::new()),
        };
        target = folder.join(format!("{stem}-{counter}{extension}"));
        counter += 1;
    }
    match fs::rename(path, &target) {
        Ok(()) => {}
        Err(_) => {
            // Another file system (EXDEV) or similar: copy, make the copy durable, then remove.
            fs::copy(path, &target)?;
            OpenOptions::new().write(true).open(&target)?.sync_all()?;
            fs::remove_file(path)?;
        }
    }
    sync_folder(folder)?;
    sync_folder_of(path)?;
    Ok(target)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn files_being_written_sidecars_and_hidden_files_are_not_candidates() {
        for name in [
            ".medgate-agent",
            ".report.xml",
            "report.xml.part",
            "report.xml.tmp",
            "report.xml~",
            "scan.pdf.meta.toml",
        ] {
            assert!(is_ignored(name), "{name}");
        }
        for name in ["report.xml", "scan.pdf", "partial-report.xml"] {
            assert!(!is_ignored(name), "{name}");
        }
    }

    #[test]
    fn a_file_is_settled_once_it_has_not_changed_for_the_settle_time() {
        let now = SystemTime::now();
        let settle = Duration::from_secs(5);
        assert!(!is_settled(now, now, settle));
        assert!(!is_settled(now - Duration::from_secs(4), now, settle));
        assert!(is_settled(now - Duration::from_secs(5), now, settle));
        assert!(!is_settled(now + Duration::from_secs(1), now, settle));
        assert!(is_settled(
            now + Duration::from_secs(1),
            now,
            Duration::ZERO
        ));
    }

    #[test]
    fn scan_lists_regular_files_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("b-old.xml");
        fs::write(&old, "<a/>").unwrap();
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        fs::write(dir.path().join("a-new.xml"), "<a/>").unwrap();
        fs::write(dir.path().join("a-new.xml.part"), "<a").unwrap();
        fs::write(dir.path().join("scan.pdf.meta.toml"), "").unwrap();
        fs::create_dir(dir.path().join("rejected")).unwrap();
        let names: Vec<String> = scan(dir.path())
            .unwrap()
            .candidates
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["b-old.xml", "a-new.xml"]);
    }

    #[test]
    fn sidecars_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.pdf.meta.toml");
        assert_eq!(sidecar_path(&dir.path().join("scan.pdf")), path);
        fs::write(
            &path,
            "patient = \"02070803628\"\ntitle = \"Skan\"\ntype = \"ZAL\"\n",
        )
        .unwrap();
        assert_eq!(
            read_sidecar(&path).unwrap(),
            Sidecar {
                patient: "02070803628".into(),
                title: "Skan".into(),
                type_code: Some("ZAL".into()),
                content_type: None,
            }
        );
        fs::write(&path, "patient = \"1\"\n").unwrap();
        assert!(read_sidecar(&path).unwrap_err().contains("title"));
        fs::write(&path, "patient = \"1\"\ntitle = \"t\"\npatinet = \"x\"\n").unwrap();
        assert!(read_sidecar(&path).unwrap_err().contains("patinet"));
        fs::write(&path, "patient = \" \"\ntitle = \"t\"\n").unwrap();
        assert!(read_sidecar(&path).unwrap_err().contains("patient"));
    }

    #[test]
    fn xml_is_recognised_after_a_byte_order_mark_and_white_space() {
        assert!(looks_like_xml(b"<?xml version='1.0'?><a/>"));
        assert!(looks_like_xml(b"\xEF\xBB\xBF\n  <ClinicalDocument/>"));
        assert!(!looks_like_xml(b"%PDF-1.7"));
        assert!(!looks_like_xml(b""));
        assert_eq!(guess_content_type("Scan.PDF"), "application/pdf");
        assert_eq!(guess_content_type("photo.jpeg"), "image/jpeg");
        assert_eq!(
            guess_content_type("noextension"),
            "application/octet-stream"
        );
    }

    #[test]
    fn moving_never_overwrites_and_atomic_writes_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("rejected");
        for round in 0..3 {
            let path = dir.path().join("bad.xml");
            fs::write(&path, format!("{round}")).unwrap();
            move_into(&path, &target).unwrap();
            assert!(!path.exists());
        }
        let mut names: Vec<String> = fs::read_dir(&target)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["bad-1.xml", "bad-2.xml", "bad.xml"]);

        let file = dir.path().join("state.json");
        write_atomically(&file, b"one").unwrap();
        write_atomically(&file, b"two").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        assert!(!dir.path().join("state.json.tmp").exists());
        remove_durably(&file).unwrap();
        remove_durably(&file).unwrap();
    }
}
