//! Expiry monitoring: walking files and folders for certificates (PEM, DER, PKCS#12, JKS)
//! and listing those that are expired or expire within N days, plus the day arithmetic that
//! `inspect` shares ("12 days left", "expired 3 days ago"). The CLI's `pki expiring` (cron)
//! and the server's tenant warnings both use [`scan`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};

use crate::cert::Certificate;
use crate::error::{PkiError, Result};
use crate::files::{self, Password};
use crate::jks::{self, JksEntryKind};
use crate::keystore;

/// Files larger than this are not certificates; reading them would only slow a scan down.
const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// Where a certificate's validity stands at a given moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidityStatus {
    /// `not_before` is still ahead, by this many days (rounded up).
    NotYetValid { days_until: i64 },
    /// Valid; expires in this many days (rounded up, so a certificate issued for 10 days
    /// shows 10 and not 9 a second later).
    Valid { days_left: i64 },
    /// Expired this many whole days ago (0 = earlier today).
    Expired { days_ago: i64 },
}

impl ValidityStatus {
    /// The status at `now`.
    pub fn at(not_before: OffsetDateTime, not_after: OffsetDateTime, now: OffsetDateTime) -> Self {
        if now > not_after {
            ValidityStatus::Expired {
                days_ago: (now - not_after).whole_days(),
            }
        } else if now < not_before {
            ValidityStatus::NotYetValid {
                days_until: days_rounded_up(not_before - now),
            }
        } else {
            ValidityStatus::Valid {
                days_left: days_rounded_up(not_after - now),
            }
        }
    }

    /// Days until expiry, negative when expired (for sorting and JSON).
    pub fn days_left(self, not_after: OffsetDateTime, now: OffsetDateTime) -> i64 {
        match self {
            ValidityStatus::Expired { days_ago } => -days_ago,
            _ => days_rounded_up(not_after - now),
        }
    }

    /// Words for people: `12 days left`, `expired 3 days ago`, `not valid for another 2 days`.
    pub fn describe(self) -> String {
        match self {
            ValidityStatus::Valid { days_left } => plural(days_left, "day left", "days left"),
            ValidityStatus::Expired { days_ago: 0 } => "expired today".to_owned(),
            ValidityStatus::Expired { days_ago } => {
                format!("expired {}", plural(days_ago, "day ago", "days ago"))
            }
            ValidityStatus::NotYetValid { days_until } => {
                format!(
                    "not valid yet (starts in {})",
                    plural(days_until, "day", "days")
                )
            }
        }
    }
}

fn plural(count: i64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

fn days_rounded_up(duration: Duration) -> i64 {
    let seconds = duration.whole_seconds();
    let day = Duration::DAY.whole_seconds();
    seconds.div_euclid(day) + i64::from(seconds.rem_euclid(day) != 0)
}

/// A certificate that is expired or expires within the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file it was found in.
    pub path: PathBuf,
    /// Where in the file, when the file holds several (`certificate 2`, `chain of 'alias'`).
    pub location: Option<String>,
    pub subject: String,
    pub common_name: Option<String>,
    /// Upper-case hex, as `openssl x509 -serial` prints it.
    pub serial_hex: String,
    pub not_after: OffsetDateTime,
    /// Negative when expired.
    pub days_left: i64,
    pub expired: bool,
}

/// Something the scan could not look at (unreadable file, keystore without password...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub path: PathBuf,
    pub message: String,
}

/// The result of a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanReport {
    /// Expired first, then by days left.
    pub findings: Vec<Finding>,
    pub notes: Vec<Note>,
    /// Files looked at (whether or not they held certificates).
    pub files_scanned: usize,
    /// Certificates whose dates were checked.
    pub certificates_checked: usize,
    /// The window, in days.
    pub days: u32,
    /// The moment the scan compared against.
    pub now: OffsetDateTime,
}

impl ScanReport {
    /// True when anything is expired or expiring (the CLI exits 1).
    pub fn has_findings(&self) -> bool {
        !self.findings.is_empty()
    }
}

/// Scans `paths` (files, or folders walked recursively) for certificates that are expired or
/// expire within `days` days of `now`. `password` opens PKCS#12 and JKS keystores. Files that
/// hold no certificate (keys, CSRs, anything else) are skipped silently; files that cannot
/// be read or opened become notes. A path given explicitly that does not exist is an error.
pub fn scan(
    paths: &[PathBuf],
    days: u32,
    password: Option<&Password>,
    now: OffsetDateTime,
) -> Result<ScanReport> {
    let mut scanner = Scanner {
        report: ScanReport {
            findings: Vec::new(),
            notes: Vec::new(),
            files_scanned: 0,
            certificates_checked: 0,
            days,
            now,
        },
        password,
        deadline: now + Duration::days(i64::from(days)),
        visited: HashSet::new(),
    };
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                PkiError::bad_file(path, "does not exist")
            } else {
                PkiError::io(path, "reading", source)
            }
        })?;
        if metadata.is_dir() {
            scanner.walk(path);
        } else {
            scanner.file(path, metadata.len());
        }
    }
    scanner
        .report
        .findings
        .sort_by(|a, b| (a.days_left, &a.path).cmp(&(b.days_left, &b.path)));
    Ok(scanner.report)
}

struct Scanner<'a> {
    report: ScanReport,
    password: Option<&'a Password>,
    deadline: OffsetDateTime,
    /// Canonical folders already walked, so that symbolic-link loops end.
    visited: HashSet<PathBuf>,
}

impl Scanner<'_> {
    fn note(&mut self, path: &Path, message: impl Into<String>) {
        self.report.notes.push(Note {
            path: path.to_path_buf(),
            message: message.into(),
        });
    }

    fn walk(&mut self, dir: &Path) {
        if let Ok(canonical) = dir.canonicalize() {
            if !self.visited.insert(canonical) {
                return;
            }
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => return self.note(dir, format!("folder cannot be read ({error})")),
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        // Sorted so that reports are stable from one cron run to the next.
        children.sort();
        for child in children {
            match std::fs::metadata(&child) {
                Ok(metadata) if metadata.is_dir() => self.walk(&child),
                Ok(metadata) if metadata.is_file() => self.file(&child, metadata.len()),
                // Sockets, devices, FIFOs: not certificate files.
                Ok(_) => {}
                Err(error) => self.note(&child, format!("cannot be read ({error})")),
            }
        }
    }

    fn file(&mut self, path: &Path, size: u64) {
        self.report.files_scanned += 1;
        if size > MAX_FILE_SIZE {
            return;
        }
        let bytes = match files::read(path) {
            Ok(bytes) => bytes,
            Err(error) => return self.note(path, without_path(&error, path)),
        };
        match certificates_in(path, &bytes, self.password) {
            Ok(found) => {
                let several = found.len() > 1;
                for (index, (certificate, location)) in found.iter().enumerate() {
                    let location = location.clone().or_else(|| {
                        several.then(|| format!("certificate {} of {}", index + 1, found.len()))
                    });
                    self.check(path, certificate, location);
                }
            }
            Err(error) => self.note(path, without_path(&error, path)),
        }
    }

    fn check(&mut self, path: &Path, certificate: &Certificate, location: Option<String>) {
        let summary = match certificate.summary() {
            Ok(summary) => summary,
            Err(error) => return self.note(path, without_path(&error, path)),
        };
        self.report.certificates_checked += 1;
        if summary.not_after > self.deadline {
            return;
        }
        let now = self.report.now;
        let status = ValidityStatus::at(summary.not_before, summary.not_after, now);
        self.report.findings.push(Finding {
            path: path.to_path_buf(),
            location,
            subject: summary.subject,
            common_name: summary.common_name,
            serial_hex: summary.serial_hex,
            not_after: summary.not_after,
            days_left: status.days_left(summary.not_after, now),
            expired: matches!(status, ValidityStatus::Expired { .. }),
        });
    }
}

/// An error's message without the leading `path: ` (notes are shown next to the path).
fn without_path(error: &PkiError, path: &Path) -> String {
    let message = error.to_string();
    let prefix = format!("{}: ", path.display());
    message
        .strip_prefix(&prefix)
        .map(str::to_owned)
        .unwrap_or(message)
}

/// The certificates a file holds, each with where it sits in a keystore. `Ok(empty)` for
/// files that are not certificate files; `Err` for certificate files that cannot be read.
fn certificates_in(
    path: &Path,
    bytes: &[u8],
    password: Option<&Password>,
) -> Result<Vec<(Certificate, Option<String>)>> {
    if files::looks_like_pem(bytes) {
        let is_certificate = |tag: &str| {
            matches!(
                tag,
                "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE"
            )
        };
        // A damaged file that claims to hold a certificate deserves a note; any other
        // damaged PEM (a key, a CSR) is not our business here.
        let text = String::from_utf8_lossy(bytes);
        let claims_certificate = ["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"]
            .iter()
            .any(|tag| text.contains(&format!("-----BEGIN {tag}-----")));
        let blocks = match files::pem_blocks(path, bytes) {
            Ok(blocks) => blocks,
            Err(error) if claims_certificate => return Err(error),
            Err(_) => return Ok(Vec::new()),
        };
        let found = blocks
            .iter()
            .filter(|block| is_certificate(block.tag()))
            .map(|block| {
                Ok((
                    Certificate::from_der(block.contents().to_vec(), path)?,
                    None,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        if found.is_empty() && claims_certificate {
            return Err(PkiError::bad_file(
                path,
                "damaged or truncated PEM (a BEGIN CERTIFICATE line without a complete block)",
            ));
        }
        return Ok(found);
    }
    if let Ok(certificate) = Certificate::from_der(bytes.to_vec(), path) {
        return Ok(vec![(certificate, None)]);
    }
    if keystore::looks_like_pkcs12(bytes) {
        let Some(password) = password else {
            return Err(PkiError::bad_file(
                path,
                "PKCS#12 keystore not checked: give its password with --password-file",
            ));
        };
        let contents = keystore::read_pkcs12(bytes, path, password)?;
        let alias = contents.alias.clone();
        let mut found = Vec::new();
        if let Some(certificate) = contents.certificate {
            found.push((certificate, alias.as_ref().map(|a| format!("entry '{a}'"))));
        }
        for (index, certificate) in contents.chain.into_iter().enumerate() {
            found.push((
                certificate,
                Some(format!("chain certificate {}", index + 1)),
            ));
        }
        return Ok(found);
    }
    if jks::looks_like_jks(bytes) {
        let Some(password) = password else {
            return Err(PkiError::bad_file(
                path,
                "Java keystore not checked: give its password with --password-file",
            ));
        };
        let mut found = Vec::new();
        for entry in jks::read_jks(bytes, path, password)? {
            match entry.kind {
                JksEntryKind::PrivateKey { chain, .. } => {
                    for (index, certificate) in chain.into_iter().enumerate() {
                        let place = if index == 0 {
                            format!("entry '{}'", entry.alias)
                        } else {
                            format!("entry '{}' chain certificate {index}", entry.alias)
                        };
                        found.push((certificate, Some(place)));
                    }
                }
                JksEntryKind::TrustedCertificate(certificate) => {
                    found.push((certificate, Some(format!("entry '{}'", entry.alias))));
                }
            }
        }
        return Ok(found);
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{KeyAlgorithm, PrivateKey};
    use crate::keystore::testing::{leaf, leaf_for_days, test_ca};
    use crate::keystore::{write_pkcs12, Pkcs12Options};

    fn io(path: &Path) -> impl Fn(std::io::Error) -> PkiError + '_ {
        move |e| PkiError::io(path, "test", e)
    }

    #[test]
    fn days_are_counted_the_way_people_count_them() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        let start = now - Duration::days(1);
        let status =
            ValidityStatus::at(start, now + Duration::days(10) - Duration::seconds(5), now);
        assert_eq!(status, ValidityStatus::Valid { days_left: 10 });
        assert_eq!(status.describe(), "10 days left");
        let status = ValidityStatus::at(start, now - Duration::hours(30), now);
        assert_eq!(status, ValidityStatus::Expired { days_ago: 1 });
        assert_eq!(status.describe(), "expired 1 day ago");
        assert_eq!(status.days_left(now - Duration::hours(30), now), -1);
        let status = ValidityStatus::at(start, now - Duration::hours(3), now);
        assert_eq!(status.describe(), "expired today");
        let status = ValidityStatus::at(now + Duration::hours(1), now + Duration::days(5), now);
        assert_eq!(status, ValidityStatus::NotYetValid { days_until: 1 });
    }

    #[test]
    fn scan_lists_expired_and_expiring_and_notes_locked_keystores() -> Result<()> {
        let dir = tempfile::tempdir().map_err(io(Path::new("tmp")))?;
        let nested = dir.path().join("nested");
        std::fs::create_dir(&nested).map_err(io(&nested))?;
        let ca = test_ca("Test CA")?;
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let now = OffsetDateTime::now_utc();
        let soon = leaf_for_days(&ca, &key, "soon", 10)?;
        let old = leaf(
            &ca,
            &key,
            "old",
            now - Duration::days(400),
            now - Duration::days(35),
        )?;
        let fine = leaf_for_days(&ca, &key, "fine", 400)?;
        let write =
            |path: PathBuf, bytes: &[u8]| std::fs::write(&path, bytes).map_err(io(Path::new("w")));
        write(dir.path().join("soon.pem"), soon.to_pem().as_bytes())?;
        write(nested.join("old.der"), old.der())?;
        write(dir.path().join("fine.crt"), fine.to_pem().as_bytes())?;
        write(dir.path().join("tls.key"), key.to_pem(None)?.as_bytes())?;
        write(dir.path().join("notes.txt"), b"not a certificate")?;
        let password = Password::new("pw");
        let p12 = write_pkcs12(&soon, &[], &key, &password, &Pkcs12Options::default())?;
        write(dir.path().join("store.p12"), &p12)?;

        let report = scan(&[dir.path().to_path_buf()], 30, None, now)?;
        let names: Vec<_> = report
            .findings
            .iter()
            .map(|f| f.common_name.clone())
            .collect();
        assert_eq!(names, vec![Some("old".into()), Some("soon".into())]);
        assert!(report.findings[0].expired && report.findings[0].days_left == -35);
        assert_eq!(report.findings[1].days_left, 10);
        assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
        assert!(report.notes[0].message.contains("--password-file"));
        assert_eq!(report.files_scanned, 6);

        let report = scan(&[dir.path().to_path_buf()], 30, Some(&password), now)?;
        assert_eq!(report.findings.len(), 3);
        assert!(report.notes.is_empty());

        let report = scan(&[dir.path().join("fine.crt")], 30, None, now)?;
        assert!(!report.has_findings());
        assert_eq!(report.certificates_checked, 1);
        Ok(())
    }

    #[test]
    fn a_missing_path_is_an_error_naming_it() {
        let message = scan(
            &[PathBuf::from("/nonexistent/certs")],
            30,
            None,
            OffsetDateTime::now_utc(),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert_eq!(message, "/nonexistent/certs: does not exist");
    }
}
