//! The operator's certificate authority, kept in one folder: creating it, issuing tenant
//! certificates from CSRs (key usages chosen by the kind in the CN) and TLS server
//! certificates, the record of everything issued, revocation and signed CRLs.
//!
//! Folder layout (everything written atomically through [`crate::files::write`]):
//!
//! ```text
//! ca.pem               the CA certificate
//! ca.key               its private key (PKCS#8, encrypted when a password was given, 0600)
//! index.txt            one line per issued certificate (see `INDEX_HEADER`)
//! issued/<SERIAL>.pem  a copy of every issued certificate
//! crlnumber            the number of the last CRL signed
//! .lock                advisory lock: one process at a time changes the folder
//! ```
//!
//! The same code serves the tenant CA run by the operator (`medgate ca …`) and the CA the
//! repository and registry servers open in-process from their data folders.

use std::fs::{File, OpenOptions};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use const_oid::AssociatedOid;
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString, SetOfVec, Uint, UtcTime};
use der::{Any, Decode, Encode, Tag};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlNumber, CrlReason, ExtendedKeyUsage, KeyUsage,
    KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity as X509Validity};
use x509_parser::prelude::{FromDer, ParsedExtension};

use crate::cert::{load_certificate, serial_hex, Certificate};
use crate::csr::parse_csr;
use crate::error::{PkiError, Result};
use crate::files::{self, Password, Visibility, WriteMode};
use crate::key::{KeyAlgorithm, PrivateKey, SignatureAlgorithm};
use crate::kind::CertKind;

/// File name of the CA certificate inside the CA folder.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA private key inside the CA folder.
pub const CA_KEY_FILE: &str = "ca.key";
const INDEX_FILE: &str = "index.txt";
const CRL_NUMBER_FILE: &str = "crlnumber";
const LOCK_FILE: &str = ".lock";
const ISSUED_DIR: &str = "issued";

const INDEX_HEADER: &str = "# medgate CA index, format 1: one issued certificate per line, \
fields separated by tabs:\n# serial\tkind\tnot_before\tnot_after\tissued_at\trevoked_at\t\
reason\tsubject\n# Times are RFC 3339 UTC; '-' marks an empty field; in the subject \\t, \\n, \
\\r and \\\\ stand for tab, newline, carriage return and backslash.\n";

/// Certificates start a few minutes in the past so that a machine whose clock is slightly
/// behind the CA's does not reject a certificate issued a moment ago as "not yet valid".
const BACKDATE: Duration = Duration::minutes(5);

/// How long to wait for another process that is using the same CA folder.
const LOCK_TIMEOUT: StdDuration = StdDuration::from_secs(60);

/// Serial numbers have 20 bytes (the RFC 5280 maximum) of which 158 bits are random: the
/// CA/Browser Forum asks for at least 64 random bits, the issue for at least 16 bytes.
const SERIAL_LENGTH: usize = 20;

const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_KP_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const OID_KP_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// The period a certificate or CRL is valid for (whole seconds, UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From a few minutes ago (see `BACKDATE`) until `days` days from now.
    pub fn days_from_now(days: u32) -> Result<Self> {
        if days == 0 {
            return Err(PkiError::Invalid(
                "validity must be at least 1 day".to_owned(),
            ));
        }
        let now = now();
        Self::new(now - BACKDATE, now + Duration::days(i64::from(days)))
    }

    /// An explicit period; the end must be after the start.
    pub fn new(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<Self> {
        let not_before = whole_seconds(not_before);
        let not_after = whole_seconds(not_after);
        if not_after <= not_before {
            return Err(PkiError::Invalid(format!(
                "the validity end {} is not after its start {}",
                rfc3339(not_after),
                rfc3339(not_before)
            )));
        }
        for moment in [not_before, not_after] {
            if moment.year() < 1970 || moment.year() > 9999 {
                return Err(PkiError::Invalid(format!(
                    "{} cannot be written in a certificate (years 1970 to 9999 only)",
                    rfc3339(moment)
                )));
            }
        }
        Ok(Validity {
            not_before,
            not_after,
        })
    }
}

/// Why a certificate was revoked (RFC 5280 CRLReason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    PrivilegeWithdrawn,
}

impl RevocationReason {
    /// Every reason, in RFC order.
    pub const ALL: [RevocationReason; 8] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::CertificateHold,
        RevocationReason::PrivilegeWithdrawn,
    ];

    /// Parses `key-compromise`, `keyCompromise` or `key_compromise` (any case).
    pub fn parse(text: &str) -> Result<Self> {
        let wanted: String = text
            .chars()
            .filter(|c| *c != '-' && *c != '_' && *c != ' ')
            .collect::<String>()
            .to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|reason| reason.name().replace('-', "") == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|r| r.name()).collect();
                PkiError::Invalid(format!(
                    "unknown revocation reason '{text}': use one of {}",
                    names.join(", ")
                ))
            })
    }

    /// The command-line spelling, e.g. `key-compromise`.
    pub fn name(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "key-compromise",
            RevocationReason::CaCompromise => "ca-compromise",
            RevocationReason::AffiliationChanged => "affiliation-changed",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessation-of-operation",
            RevocationReason::CertificateHold => "certificate-hold",
            RevocationReason::PrivilegeWithdrawn => "privilege-withdrawn",
        }
    }

    /// The CRL reasonCode; `None` for `unspecified`, which RFC 5280 says to leave out.
    fn crl_reason(self) -> Option<CrlReason> {
        match self {
            RevocationReason::Unspecified => None,
            RevocationReason::KeyCompromise => Some(CrlReason::KeyCompromise),
            RevocationReason::CaCompromise => Some(CrlReason::CaCompromise),
            RevocationReason::AffiliationChanged => Some(CrlReason::AffiliationChanged),
            RevocationReason::Superseded => Some(CrlReason::Superseded),
            RevocationReason::CessationOfOperation => Some(CrlReason::CessationOfOperation),
            RevocationReason::CertificateHold => Some(CrlReason::CertificateHold),
            RevocationReason::PrivilegeWithdrawn => Some(CrlReason::PrivilegeWithdrawn),
        }
    }
}

impl std::fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an issued certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IssuedProfile {
    /// Tenant client authentication (`CN=<tenant> TLS`).
    Tls,
    /// Tenant message signing (`CN=<tenant> WSS`).
    Wss,
    /// A TLS server certificate (serverAuth, DNS names / IP addresses).
    Server,
}

impl IssuedProfile {
    /// `TLS`, `WSS` or `server`.
    pub fn name(self) -> &'static str {
        match self {
            IssuedProfile::Tls => "TLS",
            IssuedProfile::Wss => "WSS",
            IssuedProfile::Server => "server",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "TLS" => Some(IssuedProfile::Tls),
            "WSS" => Some(IssuedProfile::Wss),
            "server" => Some(IssuedProfile::Server),
            _ => None,
        }
    }
}

impl From<CertKind> for IssuedProfile {
    fn from(kind: CertKind) -> Self {
        match kind {
            CertKind::Tls => IssuedProfile::Tls,
            CertKind::Wss => IssuedProfile::Wss,
        }
    }
}

impl std::fmt::Display for IssuedProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// When and why a certificate was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub at: OffsetDateTime,
    pub reason: RevocationReason,
}

/// One line of the CA's record of issued certificates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedRecord {
    /// Upper-case hex without separators, as `pki inspect` prints it.
    pub serial_hex: String,
    pub profile: IssuedProfile,
    /// E.g. `C=PL, O=Clinic, OU=IT, CN=0000000000005010 TLS`.
    pub subject: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub issued_at: OffsetDateTime,
    pub revocation: Option<Revocation>,
}

impl IssuedRecord {
    /// True once the certificate has been revoked.
    pub fn is_revoked(&self) -> bool {
        self.revocation.is_some()
    }

    fn to_line(&self) -> String {
        let (revoked_at, reason) = match &self.revocation {
            Some(revocation) => (rfc3339(revocation.at), revocation.reason.name().to_owned()),
            None => ("-".to_owned(), "-".to_owned()),
        };
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            self.serial_hex,
            self.profile.name(),
            rfc3339(self.not_before),
            rfc3339(self.not_after),
            rfc3339(self.issued_at),
            revoked_at,
            reason,
            escape(&self.subject)
        )
    }

    fn from_line(line: &str) -> std::result::Result<Self, String> {
        let fields: Vec<&str> = line.splitn(8, '\t').collect();
        let [serial, profile, not_before, not_after, issued_at, revoked_at, reason, subject] =
            fields[..]
        else {
            return Err(format!(
                "expected 8 tab-separated fields, found {}",
                fields.len()
            ));
        };
        if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("serial '{serial}' is not hexadecimal"));
        }
        let time = |text: &str| {
            OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|_| format!("'{text}' is not an RFC 3339 time"))
        };
        let revocation = match (revoked_at, reason) {
            ("-", "-") => None,
            (at, reason) => Some(Revocation {
                at: time(at)?,
                reason: RevocationReason::parse(reason).map_err(|e| e.to_string())?,
            }),
        };
        Ok(IssuedRecord {
            serial_hex: serial.to_ascii_uppercase(),
            profile: IssuedProfile::parse(profile)
                .ok_or_else(|| format!("unknown certificate kind '{profile}'"))?,
            subject: unescape(subject),
            not_before: time(not_before)?,
            not_after: time(not_after)?,
            issued_at: time(issued_at)?,
            revocation,
        })
    }
}

/// A signed certificate revocation list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crl {
    /// DER encoding.
    pub der: Vec<u8>,
    /// The crlNumber extension's value (1 for the first CRL of a CA).
    pub number: u64,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    /// How many certificates it lists.
    pub revoked_count: usize,
}

impl Crl {
    /// PEM text (`X509 CRL`), as OpenSSL reads it.
    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("X509 CRL", self.der.clone()))
    }
}

/// Normalises a serial number typed by a person: hex in any case, colons or spaces between
/// bytes allowed, an optional `0x`; leading zero bytes (sign padding) dropped. The result
/// is upper-case hex as `pki inspect` prints it.
pub fn normalize_serial(text: &str) -> Result<String> {
    let compact: String = text
        .trim()
        .trim_start_matches("0x")
        .trim_start_matches("0X")
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    if compact.is_empty() {
        return Err(PkiError::Invalid("the serial number is empty".to_owned()));
    }
    if let Some(bad) = compact.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(PkiError::Invalid(format!(
            "serial number '{}' is not hexadecimal (found '{bad}'); copy it as `medgate pki \
             inspect` prints it, e.g. 2E79A132A405EBA40EE3D94AF829F81940DA5B2A",
            text.trim()
        )));
    }
    let even = if compact.len() % 2 == 1 {
        format!("0{compact}")
    } else {
        compact
    };
    let bytes = hex::decode(&even)
        .map_err(|e| PkiError::Invalid(format!("serial number '{}': {e}", text.trim())))?;
    Ok(serial_hex(&bytes))
}

/// The CA folder without its private key: the record of issued certificates, revocation, and
/// the files. Revoking and listing need no CA password; signing (certificates, CRLs) does, see
/// [`CertificateAuthority`].
#[derive(Clone, Debug)]
pub struct CaFolder {
    dir: PathBuf,
}

impl CaFolder {
    /// Opens an existing CA folder; the error says when the folder is missing or is not a CA.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.exists() {
            return Err(PkiError::bad_file(
                dir,
                "CA folder does not exist (create a CA with `medgate ca init --dir ...`)",
            ));
        }
        if !dir.is_dir() {
            return Err(PkiError::bad_file(
                dir,
                "is not a folder; --dir expects the CA folder",
            ));
        }
        let folder = CaFolder {
            dir: dir.to_path_buf(),
        };
        if !folder.certificate_path().is_file() {
            return Err(PkiError::bad_file(
                dir,
                format!(
                    "is not a CA folder: {CA_CERT_FILE} is missing (create a CA with `medgate ca \
                     init --dir ...`)"
                ),
            ));
        }
        Ok(folder)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/ca.pem`.
    pub fn certificate_path(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }

    /// `<dir>/ca.key`.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(CA_KEY_FILE)
    }

    /// `<dir>/index.txt`.
    pub fn index_path(&self) -> PathBuf {
        self.dir.join(INDEX_FILE)
    }

    /// Where the copy of an issued certificate is kept: `<dir>/issued/<SERIAL>.pem`.
    pub fn issued_path(&self, serial_hex: &str) -> PathBuf {
        self.dir.join(ISSUED_DIR).join(format!("{serial_hex}.pem"))
    }

    /// Everything this CA has issued, oldest first.
    pub fn issued(&self) -> Result<Vec<IssuedRecord>> {
        self.read_index()
    }

    /// The record of one serial number (any spelling [`normalize_serial`] accepts).
    pub fn find(&self, serial: &str) -> Result<IssuedRecord> {
        let serial = normalize_serial(serial)?;
        self.read_index()?
            .into_iter()
            .find(|record| record.serial_hex == serial)
            .ok_or_else(|| self.unknown_serial(&serial))
    }

    /// Whether the certificate with this serial was revoked; unknown serials are an error.
    pub fn is_revoked(&self, serial: &str) -> Result<bool> {
        Ok(self.find(serial)?.is_revoked())
    }

    /// The issued certificate itself, from `issued/<SERIAL>.pem`.
    pub fn issued_certificate(&self, serial: &str) -> Result<Certificate> {
        let record = self.find(serial)?;
        load_certificate(&self.issued_path(&record.serial_hex))
    }

    /// Marks a certificate revoked (it appears on the next CRL). Unknown and already revoked
    /// serials are refused with a message naming them.
    pub fn revoke(&self, serial: &str, reason: RevocationReason) -> Result<IssuedRecord> {
        let serial = normalize_serial(serial)?;
        let _lock = self.lock()?;
        let mut records = self.read_index()?;
        let record = records
            .iter_mut()
            .find(|record| record.serial_hex == serial)
            .ok_or_else(|| self.unknown_serial(&serial))?;
        if let Some(revocation) = &record.revocation {
            return Err(PkiError::Invalid(format!(
                "certificate {serial} ({}) is already revoked since {} (reason: {})",
                record.subject,
                rfc3339(revocation.at),
                revocation.reason
            )));
        }
        record.revocation = Some(Revocation { at: now(), reason });
        let revoked = record.clone();
        self.write_index(&records)?;
        Ok(revoked)
    }

    fn unknown_serial(&self, serial: &str) -> PkiError {
        PkiError::Invalid(format!(
            "serial number {serial} was not issued by the CA in {} (see `medgate ca list`)",
            self.dir.display()
        ))
    }

    fn read_index(&self) -> Result<Vec<IssuedRecord>> {
        let path = self.index_path();
        if !path.exists() {
            return Ok(Vec::new());
        }
        let bytes = files::read(&path)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| PkiError::bad_file(&path, "is not UTF-8 text"))?;
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
            .map(|(number, line)| {
                IssuedRecord::from_line(line).map_err(|problem| {
                    PkiError::bad_file(&path, format!("line {}: {problem}", number + 1))
                })
            })
            .collect()
    }

    fn write_index(&self, records: &[IssuedRecord]) -> Result<()> {
        let mut text = String::from(INDEX_HEADER);
        for record in records {
            text.push_str(&record.to_line());
        }
        files::write(
            &self.index_path(),
            text.as_bytes(),
            WriteMode::Replace,
            Visibility::Public,
        )
    }

    /// Takes the folder's advisory lock: every change (serial allocation + index update, CRL
    /// number) happens under it, so two processes never hand out the same serial or lose
    /// each other's index lines. The lock goes away with the process, so a crash leaves no
    /// stale lock behind.
    fn lock(&self) -> Result<FolderLock> {
        let path = self.dir.join(LOCK_FILE);
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(&path)
            .map_err(|source| PkiError::io(&path, "opening the lock file", source))?;
        #[cfg(unix)]
        {
            use rustix::fs::{flock, FlockOperation};
            use rustix::io::Errno;
            let deadline = std::time::Instant::now() + LOCK_TIMEOUT;
            loop {
                match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                    Ok(()) => break,
                    Err(errno) if errno == Errno::WOULDBLOCK || errno == Errno::INTR => {
                        if std::time::Instant::now() >= deadline {
                            return Err(PkiError::bad_file(
                                &path,
                                format!(
                                    "another medgate process has been using this CA for more \
                                     than {} s; try again when it has finished",
                                    LOCK_TIMEOUT.as_secs()
                                ),
                            ));
                        }
                        std::thread::sleep(StdDuration::from_millis(20));
                    }
                    Err(errno) => return Err(PkiError::io(&path, "locking", errno.into())),
                }
            }
        }
        Ok(FolderLock { _file: file })
    }

    /// Increments and returns the CRL number (under the lock).
    fn next_crl_number(&self) -> Result<u64> {
        let path = self.dir.join(CRL_NUMBER_FILE);
        let last = if path.exists() {
            let bytes = files::read(&path)?;
            std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| PkiError::bad_file(&path, "does not hold a CRL number"))?
        } else {
            0
        };
        let next = last + 1;
        files::write(
            &path,
            format!("{next}\n").as_bytes(),
            WriteMode::Replace,
            Visibility::Public,
        )?;
        Ok(next)
    }
}

/// Held while the CA folder is being changed; the lock is released when the file closes.
struct FolderLock {
    _file: File,
}

/// A CA opened with its private key: it can issue certificates and sign CRLs.
pub struct CertificateAuthority {
    folder: CaFolder,
    certificate: Certificate,
    key: PrivateKey,
    /// The CA's subject (DER), the issuer of everything it signs.
    name_der: Vec<u8>,
    /// The CA's subjectKeyIdentifier, used as authorityKeyIdentifier.
    key_id: Vec<u8>,
    ca_not_after: OffsetDateTime,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("dir", &self.folder.dir)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What an issued certificate needs besides the CA: subject, key, period and purpose.
struct IssueRequest<'a> {
    subject_der: &'a [u8],
    public_key_info_der: &'a [u8],
    validity: Validity,
    profile: IssuedProfile,
    alt_names: Vec<GeneralName>,
    /// Names the input in errors (the CSR file, or "server certificate").
    source: &'a Path,
}

impl CertificateAuthority {
    /// Creates a CA in `dir` (created when missing): a key and a self-signed certificate with
    /// `CN=<name>`, basicConstraints CA:TRUE (critical, path length 0: it issues end-entity
    /// certificates only), keyUsage keyCertSign + cRLSign (critical) and a key identifier.
    /// Refuses a folder that already holds a CA.
    pub fn init(
        dir: &Path,
        name: &str,
        algorithm: KeyAlgorithm,
        validity: Validity,
        password: Option<&Password>,
    ) -> Result<Self> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(PkiError::Invalid(format!(
                "CA name '{name}' must be 1 to 64 characters without control characters"
            )));
        }
        files::ensure_dir(dir)?;
        let folder = CaFolder {
            dir: dir.to_path_buf(),
        };
        let _lock = folder.lock()?;
        for existing in [
            folder.certificate_path(),
            folder.key_path(),
            folder.index_path(),
        ] {
            if existing.exists() {
                return Err(PkiError::bad_file(
                    dir,
                    format!(
                        "already holds a CA ({} exists); choose an empty folder",
                        existing
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    ),
                ));
            }
        }
        let key = PrivateKey::generate(algorithm)?;
        let subject_der = common_name_der(name)?;
        let spki_der = key.public_key_info_der()?;
        let spki = decode_spki(&spki_der, Path::new(CA_KEY_FILE))?;
        let key_id = key_identifier(&spki);
        let serial = random_serial()?;
        let extensions = vec![
            extension(
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
                true,
            )?,
            extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign), true)?,
            extension(&SubjectKeyIdentifier(octets(&key_id)?), false)?,
            extension(&authority_key_identifier(&key_id)?, false)?,
        ];
        let der = sign_certificate(
            &key,
            &serial,
            &subject_der,
            &subject_der,
            spki,
            validity,
            extensions,
        )?;
        let certificate = Certificate::from_der(der, &folder.certificate_path())?;

        // Nothing exists yet (checked above, under the lock); remove what we created if a
        // later write fails so that the folder is not left holding half a CA.
        let key_path = folder.key_path();
        let written = key
            .save(&key_path, password, WriteMode::CreateNew)
            .and_then(|()| {
                files::write(
                    &folder.certificate_path(),
                    certificate.to_pem().as_bytes(),
                    WriteMode::CreateNew,
                    Visibility::Public,
                )
            })
            .and_then(|()| folder.write_index(&[]))
            .and_then(|()| files::ensure_dir(&dir.join(ISSUED_DIR)));
        if let Err(error) = written {
            for path in [key_path, folder.certificate_path(), folder.index_path()] {
                let _ = std::fs::remove_file(path);
            }
            return Err(error);
        }
        Ok(CertificateAuthority {
            folder,
            certificate,
            key,
            name_der: subject_der,
            key_id,
            ca_not_after: validity.not_after,
        })
    }

    /// Opens the CA in `dir`; `password` opens an encrypted CA key. Checks that the key
    /// belongs to the certificate and that the certificate is a CA.
    pub fn open(dir: &Path, password: Option<&Password>) -> Result<Self> {
        let folder = CaFolder::open(dir)?;
        let certificate_path = folder.certificate_path();
        let certificate = load_certificate(&certificate_path)?;
        let key = PrivateKey::load(&folder.key_path(), password)?;
        let parsed = certificate.parsed()?;
        if parsed.public_key().subject_public_key.data.as_ref() != key.public_key_bits() {
            return Err(PkiError::bad_file(
                &folder.key_path(),
                format!("is not the private key of {}", certificate_path.display()),
            ));
        }
        let mut key_id = None;
        let mut is_ca = false;
        for extension in parsed.extensions() {
            match extension.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => key_id = Some(id.0.to_vec()),
                ParsedExtension::BasicConstraints(constraints) => is_ca = constraints.ca,
                _ => {}
            }
        }
        if !is_ca {
            return Err(PkiError::bad_file(
                &certificate_path,
                "is not a CA certificate (basicConstraints CA:TRUE is missing)",
            ));
        }
        let key_id = match key_id {
            Some(id) => id,
            None => key_identifier(&decode_spki(parsed.public_key().raw, &certificate_path)?),
        };
        let name_der = parsed.subject().as_raw().to_vec();
        let ca_not_after = parsed.validity().not_after.to_datetime();
        drop(parsed);
        Ok(CertificateAuthority {
            folder,
            certificate,
            key,
            name_der,
            key_id,
            ca_not_after,
        })
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The folder (records, paths) without signing rights.
    pub fn folder(&self) -> &CaFolder {
        &self.folder
    }

    /// The CA folder.
    pub fn dir(&self) -> &Path {
        self.folder.dir()
    }

    /// Issues a tenant certificate from a CSR (PEM or DER bytes read from `source`, which
    /// names it in errors). The request must verify (proof that the requester holds the
    /// key) and its CN must be `<16-digit tenant id> TLS|WSS`; the subject is copied exactly.
    /// TLS: keyUsage digitalSignature (+ keyEncipherment for RSA), extendedKeyUsage
    /// clientAuth. WSS: keyUsage digitalSignature + nonRepudiation, no extendedKeyUsage.
    /// Extensions requested in the CSR are ignored: the CA decides what the kind allows.
    pub fn sign_csr(&self, csr: &[u8], source: &Path, validity: Validity) -> Result<Certificate> {
        let request = parse_csr(csr, source)?;
        if !request.signature_valid {
            return Err(PkiError::bad_file(
                source,
                format!(
                    "refusing to sign: the CSR's signature does not verify ({})",
                    request
                        .signature_problem
                        .as_deref()
                        .unwrap_or("invalid signature")
                ),
            ));
        }
        let Some(tenant_name) = request.tenant_name.as_ref() else {
            let found = match &request.common_name {
                Some(cn) => format!("its CN is '{cn}'"),
                None => "it has no CN".to_owned(),
            };
            return Err(PkiError::bad_file(
                source,
                format!(
                    "refusing to sign: {found}; a tenant CSR needs CN=<16-digit tenant id> TLS or \
                     CN=<16-digit tenant id> WSS, e.g. CN=0000000000005010 TLS"
                ),
            ));
        };
        self.issue(IssueRequest {
            subject_der: &request.subject_der,
            public_key_info_der: &request.public_key_info_der,
            validity,
            profile: tenant_name.kind.into(),
            alt_names: Vec::new(),
            source,
        })
    }

    /// Issues a TLS server certificate for DNS names and/or IP addresses with a fresh key:
    /// extendedKeyUsage serverAuth, every name in subjectAltName, CN = the first DNS name
    /// (or the first IP address when there is none).
    pub fn issue_server(
        &self,
        dns_names: &[String],
        ip_addresses: &[IpAddr],
        algorithm: KeyAlgorithm,
        validity: Validity,
    ) -> Result<(Certificate, PrivateKey)> {
        let mut alt_names = Vec::new();
        for name in dns_names {
            check_dns_name(name)?;
            let ia5 = Ia5String::new(name)
                .map_err(|e| PkiError::Invalid(format!("DNS name '{name}': {e}")))?;
            alt_names.push(GeneralName::DnsName(ia5));
        }
        alt_names.extend(ip_addresses.iter().map(|ip| GeneralName::from(*ip)));
        let common_name = match (dns_names.first(), ip_addresses.first()) {
            (Some(dns), _) => dns.clone(),
            (None, Some(ip)) => ip.to_string(),
            (None, None) => {
                return Err(PkiError::Invalid(
                    "a server certificate needs at least one DNS name (--dns) or IP address \
                     (--ip)"
                        .to_owned(),
                ))
            }
        };
        let key = PrivateKey::generate(algorithm)?;
        let spki_der = key.public_key_info_der()?;
        let subject_der = common_name_der(&common_name)?;
        let certificate = self.issue(IssueRequest {
            subject_der: &subject_der,
            public_key_info_der: &spki_der,
            validity,
            profile: IssuedProfile::Server,
            alt_names,
            source: Path::new("server certificate"),
        })?;
        Ok((certificate, key))
    }

    /// Issues a TLS client certificate with a fresh key for a subject that is not a tenant
    /// (an institution of the clinical record service: `CN=<common_name>`): keyUsage
    /// digitalSignature (+ keyEncipherment for RSA), extendedKeyUsage clientAuth. The same
    /// key signs the institution's requests.
    pub fn issue_client(
        &self,
        common_name: &str,
        algorithm: KeyAlgorithm,
        validity: Validity,
    ) -> Result<(Certificate, PrivateKey)> {
        if common_name.trim().is_empty() || common_name.len() > 64 {
            return Err(PkiError::Invalid(
                "a client certificate's common name must be 1 to 64 characters".to_owned(),
            ));
        }
        let key = PrivateKey::generate(algorithm)?;
        let spki_der = key.public_key_info_der()?;
        let subject_der = common_name_der(common_name)?;
        let certificate = self.issue(IssueRequest {
            subject_der: &subject_der,
            public_key_info_der: &spki_der,
            validity,
            profile: IssuedProfile::Tls,
            alt_names: Vec::new(),
            source: Path::new("client certificate"),
        })?;
        Ok((certificate, key))
    }

    /// See [`CaFolder::revoke`].
    pub fn revoke(&self, serial: &str, reason: RevocationReason) -> Result<IssuedRecord> {
        self.folder.revoke(serial, reason)
    }

    /// See [`CaFolder::issued`].
    pub fn issued(&self) -> Result<Vec<IssuedRecord>> {
        self.folder.issued()
    }

    /// See [`CaFolder::is_revoked`].
    pub fn is_revoked(&self, serial: &str) -> Result<bool> {
        self.folder.is_revoked(serial)
    }

    /// Signs a new CRL (X.509 v2) listing every revoked certificate with its revocation
    /// time and reason, valid until `next_update`; each CRL gets the next crlNumber.
    pub fn crl(&self, next_update: OffsetDateTime) -> Result<Crl> {
        let this_update = now();
        let next_update = whole_seconds(next_update);
        if next_update <= this_update {
            return Err(PkiError::Invalid(format!(
                "the CRL's next update {} must be in the future",
                rfc3339(next_update)
            )));
        }
        let _lock = self.folder.lock()?;
        let records = self.folder.read_index()?;
        let mut revoked: Vec<&IssuedRecord> = records.iter().filter(|r| r.is_revoked()).collect();
        revoked.sort_by(|a, b| a.serial_hex.cmp(&b.serial_hex));
        let index_path = self.folder.index_path();
        let mut entries = Vec::with_capacity(revoked.len());
        for record in &revoked {
            let Some(revocation) = record.revocation else {
                continue;
            };
            let bytes = hex::decode(&record.serial_hex).map_err(|_| {
                PkiError::bad_file(
                    &index_path,
                    format!("serial {} is not hex", record.serial_hex),
                )
            })?;
            let serial_number = SerialNumber::new(&bytes).map_err(|e| {
                PkiError::bad_file(&index_path, format!("serial {}: {e}", record.serial_hex))
            })?;
            let crl_entry_extensions = match revocation.reason.crl_reason() {
                Some(reason) => Some(vec![extension(&reason, false)?]),
                None => None,
            };
            entries.push(RevokedCert {
                serial_number,
                revocation_date: x509_time(revocation.at)?,
                crl_entry_extensions,
            });
        }
        let number = self.folder.next_crl_number()?;
        let crl_number = Uint::new(&number.to_be_bytes()).map_err(der_error("CRL number"))?;
        let algorithm = signature_algorithm_identifier(self.key.signature_algorithm());
        let tbs = TbsCertList {
            version: Version::V2,
            signature: algorithm.clone(),
            issuer: decode_name(&self.name_der, &self.folder.certificate_path())?,
            this_update: x509_time(this_update)?,
            next_update: Some(x509_time(next_update)?),
            revoked_certificates: if entries.is_empty() {
                None
            } else {
                Some(entries)
            },
            crl_extensions: Some(vec![
                extension(&authority_key_identifier(&self.key_id)?, false)?,
                extension(&CrlNumber(crl_number), false)?,
            ]),
        };
        let tbs_der = tbs.to_der().map_err(der_error("CRL"))?;
        let signature = self.key.sign(&tbs_der)?;
        let list = CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: algorithm,
            signature: BitString::from_bytes(&signature).map_err(der_error("CRL signature"))?,
        };
        Ok(Crl {
            der: list.to_der().map_err(der_error("CRL"))?,
            number,
            this_update,
            next_update,
            revoked_count: revoked.len(),
        })
    }

    /// Builds, signs and records one certificate: serial allocation, the copy in `issued/`
    /// and the index line all happen under the folder lock.
    fn issue(&self, request: IssueRequest<'_>) -> Result<Certificate> {
        let validity = request.validity;
        if self.ca_not_after <= now() {
            return Err(PkiError::bad_file(
                &self.folder.certificate_path(),
                format!(
                    "the CA certificate expired on {}: it can no longer issue certificates",
                    rfc3339(self.ca_not_after)
                ),
            ));
        }
        if validity.not_after > self.ca_not_after {
            return Err(PkiError::Invalid(format!(
                "the requested validity ends {} but the CA certificate expires {}: shorten the \
                 validity (a certificate cannot outlive its CA)",
                rfc3339(validity.not_after),
                rfc3339(self.ca_not_after)
            )));
        }
        let spki = decode_spki(request.public_key_info_der, request.source)?;
        let rsa = check_subject_key(&spki, request.source)?;
        let subject = decode_name(request.subject_der, request.source)?;
        let subject_key_id = key_identifier(&spki);

        let mut usages = KeyUsage(KeyUsages::DigitalSignature.into());
        let mut extended = Vec::new();
        match request.profile {
            IssuedProfile::Tls | IssuedProfile::Server => {
                if rsa {
                    usages.0 |= KeyUsages::KeyEncipherment;
                }
                extended.push(if request.profile == IssuedProfile::Tls {
                    OID_KP_CLIENT_AUTH
                } else {
                    OID_KP_SERVER_AUTH
                });
            }
            IssuedProfile::Wss => usages.0 |= KeyUsages::NonRepudiation,
        }
        let mut extensions = vec![
            extension(
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                false,
            )?,
            extension(&usages, true)?,
        ];
        if !extended.is_empty() {
            extensions.push(extension(&ExtendedKeyUsage(extended), false)?);
        }
        if !request.alt_names.is_empty() {
            extensions.push(extension(&SubjectAltName(request.alt_names), false)?);
        }
        extensions.push(extension(
            &SubjectKeyIdentifier(octets(&subject_key_id)?),
            false,
        )?);
        extensions.push(extension(&authority_key_identifier(&self.key_id)?, false)?);

        let _lock = self.folder.lock()?;
        let mut records = self.folder.read_index()?;
        let serial = loop {
            let serial = random_serial()?;
            let hex = serial_hex(&serial);
            // 158 random bits never collide in practice; the check makes it a guarantee.
            if !records.iter().any(|r| r.serial_hex == hex)
                && !self.folder.issued_path(&hex).exists()
            {
                break serial;
            }
        };
        let der = sign_certificate(
            &self.key,
            &serial,
            &self.name_der,
            &subject.to_der().map_err(der_error("subject"))?,
            spki,
            validity,
            extensions,
        )?;
        let serial_text = serial_hex(&serial);
        let path = self.folder.issued_path(&serial_text);
        let certificate = Certificate::from_der(der, &path)?;
        let subject_text = certificate.parsed()?.subject().to_string();
        files::ensure_dir(&self.folder.dir.join(ISSUED_DIR))?;
        files::write(
            &path,
            certificate.to_pem().as_bytes(),
            WriteMode::CreateNew,
            Visibility::Public,
        )?;
        records.push(IssuedRecord {
            serial_hex: serial_text,
            profile: request.profile,
            subject: subject_text,
            not_before: validity.not_before,
            not_after: validity.not_after,
            issued_at: now(),
            revocation: None,
        });
        if let Err(error) = self.folder.write_index(&records) {
            // Without its index line the certificate is unknown to revoke/CRL: withdraw it.
            let _ = std::fs::remove_file(&path);
            return Err(error);
        }
        Ok(certificate)
    }
}

/// Encodes, signs and assembles a v3 certificate.
fn sign_certificate(
    key: &PrivateKey,
    serial: &[u8],
    issuer_der: &[u8],
    subject_der: &[u8],
    spki: SubjectPublicKeyInfoOwned,
    validity: Validity,
    extensions: Vec<Extension>,
) -> Result<Vec<u8>> {
    let algorithm = signature_algorithm_identifier(key.signature_algorithm());
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(serial).map_err(der_error("serial number"))?,
        signature: algorithm.clone(),
        issuer: Name::from_der(issuer_der).map_err(der_error("issuer name"))?,
        validity: X509Validity {
            not_before: x509_time(validity.not_before)?,
            not_after: x509_time(validity.not_after)?,
        },
        subject: Name::from_der(subject_der).map_err(der_error("subject name"))?,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let tbs_der = tbs.to_der().map_err(der_error("certificate"))?;
    let signature = key.sign(&tbs_der)?;
    let certificate = x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature).map_err(der_error("signature"))?,
    };
    certificate.to_der().map_err(der_error("certificate"))
}

fn der_error(what: &'static str) -> impl Fn(der::Error) -> PkiError {
    move |error| PkiError::Crypto(format!("encoding the {what} failed: {error}"))
}

fn signature_algorithm_identifier(algorithm: SignatureAlgorithm) -> AlgorithmIdentifierOwned {
    match algorithm {
        // RFC 4055: the RSA PKCS#1 v1.5 identifiers carry an explicit NULL parameter.
        SignatureAlgorithm::RsaPkcs1Sha256 => AlgorithmIdentifierOwned {
            oid: OID_SHA256_WITH_RSA,
            parameters: Some(Any::null()),
        },
        // RFC 5758: the ECDSA identifiers have no parameters at all.
        SignatureAlgorithm::EcdsaP256Sha256 => AlgorithmIdentifierOwned {
            oid: OID_ECDSA_WITH_SHA256,
            parameters: None,
        },
    }
}

fn extension<T: Encode + AssociatedOid>(value: &T, critical: bool) -> Result<Extension> {
    let content = value.to_der().map_err(der_error("extension"))?;
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(content).map_err(der_error("extension"))?,
    })
}

fn octets(bytes: &[u8]) -> Result<OctetString> {
    OctetString::new(bytes).map_err(der_error("key identifier"))
}

fn authority_key_identifier(key_id: &[u8]) -> Result<AuthorityKeyIdentifier> {
    Ok(AuthorityKeyIdentifier {
        key_identifier: Some(octets(key_id)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    })
}

/// RFC 7093 section 2 method 1: the leftmost 160 bits of the SHA-256 of the
/// subjectPublicKey bits (SHA-1, RFC 5280's example, is avoided).
fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        spki.subject_public_key.raw_bytes(),
    );
    digest.as_ref()[..20].to_vec()
}

/// A positive 20-byte serial: the top bit is cleared (positive INTEGER without a padding
/// byte) and the next one set, so that the encoding is always exactly 20 bytes long.
fn random_serial() -> Result<Vec<u8>> {
    let mut serial = vec![0u8; SERIAL_LENGTH];
    SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| PkiError::Crypto("random serial number generation failed".to_owned()))?;
    serial[0] = (serial[0] & 0x7f) | 0x40;
    Ok(serial)
}

fn decode_spki(der: &[u8], source: &Path) -> Result<SubjectPublicKeyInfoOwned> {
    SubjectPublicKeyInfoOwned::from_der(der)
        .map_err(|e| PkiError::bad_file(source, format!("unreadable public key ({e})")))
}

fn decode_name(der: &[u8], source: &Path) -> Result<Name> {
    Name::from_der(der).map_err(|e| {
        PkiError::bad_file(
            source,
            format!("the subject name cannot be copied: it is not valid DER ({e})"),
        )
    })
}

/// Accepts the keys the national platforms accept (RSA of at least 2048 bits, ECDSA P-256 or
/// P-384); returns whether the key is RSA (which also gets keyEncipherment).
fn check_subject_key(spki: &SubjectPublicKeyInfoOwned, source: &Path) -> Result<bool> {
    let der = spki.to_der().map_err(der_error("public key"))?;
    let description = x509_parser::x509::SubjectPublicKeyInfo::from_der(&der)
        .map(|(_, parsed)| crate::cert::describe_public_key(&parsed))
        .map_err(|e| PkiError::bad_file(source, format!("unreadable public key ({e})")))?;
    if spki.algorithm.oid == OID_RSA_ENCRYPTION {
        let bits = description
            .strip_prefix("RSA ")
            .and_then(|bits| bits.parse::<usize>().ok())
            .unwrap_or(0);
        if bits < 2048 {
            return Err(PkiError::bad_file(
                source,
                format!(
                    "refusing to sign: the key is {description}; RSA keys need at least 2048 bits"
                ),
            ));
        }
        return Ok(true);
    }
    if description == "ECDSA P-256" || description == "ECDSA P-384" {
        return Ok(false);
    }
    Err(PkiError::bad_file(
        source,
        format!(
            "refusing to sign: key type {description} is not accepted; use RSA 2048/3072 or \
             ECDSA P-256"
        ),
    ))
}

/// DER of a Name holding only `CN=<value>` (UTF8String).
fn common_name_der(value: &str) -> Result<Vec<u8>> {
    let attribute = AttributeTypeAndValue {
        oid: OID_COMMON_NAME,
        value: Any::new(Tag::Utf8String, value.as_bytes()).map_err(der_error("common name"))?,
    };
    let set = SetOfVec::try_from(vec![attribute]).map_err(der_error("common name"))?;
    RdnSequence(vec![RelativeDistinguishedName(set)])
        .to_der()
        .map_err(der_error("subject name"))
}

fn check_dns_name(name: &str) -> Result<()> {
    let invalid = |why: &str| {
        Err(PkiError::Invalid(format!(
            "'{name}' is not a usable DNS name: {why}"
        )))
    };
    let host = name.strip_prefix("*.").unwrap_or(name);
    if host.is_empty() || name.len() > 253 {
        return invalid("it must be 1 to 253 characters");
    }
    if host.parse::<IpAddr>().is_ok() {
        return invalid("it is an IP address; pass it with --ip");
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return invalid("every label between dots must be 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return invalid(
                "only letters, digits, '-' and dots are allowed (use punycode for other letters)",
            );
        }
        if label.starts_with('-') || label.ends_with('-') {
            return invalid("a label cannot start or end with '-'");
        }
    }
    Ok(())
}

/// RFC 5280 section 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on.
fn x509_time(moment: OffsetDateTime) -> Result<Time> {
    let seconds = u64::try_from(moment.unix_timestamp())
        .map_err(|_| PkiError::Invalid(format!("{} is before 1970", rfc3339(moment))))?;
    let date_time = der::DateTime::from_unix_duration(StdDuration::from_secs(seconds))
        .map_err(der_error("time"))?;
    if moment.year() < 2050 {
        Ok(Time::UtcTime(
            UtcTime::from_date_time(date_time).map_err(der_error("time"))?,
        ))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(
            date_time,
        )))
    }
}

fn now() -> OffsetDateTime {
    whole_seconds(OffsetDateTime::now_utc())
}

fn whole_seconds(moment: OffsetDateTime) -> OffsetDateTime {
    let utc = moment.to_offset(time::UtcOffset::UTC);
    utc.replace_nanosecond(0).unwrap_or(utc)
}

fn rfc3339(moment: OffsetDateTime) -> String {
    moment
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| moment.to_string())
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\t' => escaped.push_str("\\t"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn unescape(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            plain.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => plain.push('\t'),
            Some('n') => plain.push('\n'),
            Some('r') => plain.push('\r'),
            Some(other) => plain.push(other),
            None => plain.push('\\'),
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::{generate_tenant_csr, Country, SubjectFields};
    use medgate_ids::TenantId;
    use x509_parser::prelude::FromDer;
    use x509_parser::revocation_list::CertificateRevocationList;

    fn temp() -> Result<tempfile::TempDir> {
        tempfile::tempdir().map_err(|e| PkiError::io(Path::new("tmp"), "mk", e))
    }

    fn new_ca(dir: &Path) -> Result<CertificateAuthority> {
        CertificateAuthority::init(
            dir,
            "Test CA",
            KeyAlgorithm::EcdsaP256,
            Validity::days_from_now(365)?,
            None,
        )
    }

    fn tenant_csr(kind: CertKind, algorithm: KeyAlgorithm) -> Result<String> {
        let tenant =
            TenantId::parse("0000000000005010").map_err(|e| PkiError::Invalid(e.to_string()))?;
        let subject = SubjectFields::new("Clinic", "IT", Country::parse("PL")?)?;
        Ok(generate_tenant_csr(&tenant, kind, &subject, algorithm)?.1)
    }

    #[test]
    fn serials_are_normalised() -> Result<()> {
        assert_eq!(normalize_serial("2e:79:a1")?, "2E79A1");
        assert_eq!(normalize_serial(" 0x00ABcd ")?, "ABCD");
        assert_eq!(normalize_serial("abc")?, "0ABC");
        assert!(normalize_serial("").is_err());
        assert!(normalize_serial("12G4").is_err());
        Ok(())
    }

    #[test]
    fn reasons_parse_in_any_spelling() -> Result<()> {
        assert_eq!(
            RevocationReason::parse("key-compromise")?,
            RevocationReason::KeyCompromise
        );
        assert_eq!(
            RevocationReason::parse("keyCompromise")?,
            RevocationReason::KeyCompromise
        );
        assert_eq!(
            RevocationReason::parse("SUPERSEDED")?,
            RevocationReason::Superseded
        );
        assert!(RevocationReason::parse("bored").is_err());
        Ok(())
    }

    #[test]
    fn index_lines_round_trip_with_awkward_subjects() -> std::result::Result<(), String> {
        let record = IssuedRecord {
            serial_hex: "4A01".into(),
            profile: IssuedProfile::Wss,
            subject: "C=PL, O=A\tB\\C\nD, CN=0000000000005010 WSS".into(),
            not_before: OffsetDateTime::UNIX_EPOCH,
            not_after: OffsetDateTime::UNIX_EPOCH + Duration::days(1),
            issued_at: OffsetDateTime::UNIX_EPOCH,
            revocation: Some(Revocation {
                at: OffsetDateTime::UNIX_EPOCH + Duration::hours(1),
                reason: RevocationReason::KeyCompromise,
            }),
        };
        let line = record.to_line();
        assert_eq!(line.matches('\n').count(), 1);
        assert_eq!(
            IssuedRecord::from_line(line.trim_end_matches('\n'))?,
            record
        );
        assert!(IssuedRecord::from_line("zz\tTLS").is_err());
        Ok(())
    }

    #[test]
    fn a_ca_issues_tenant_certificates_with_the_usages_of_their_kind() -> Result<()> {
        let dir = temp()?;
        let ca = new_ca(dir.path())?;
        let ca_summary = ca.certificate().summary()?;
        assert!(ca_summary.is_ca && ca_summary.self_signed);
        assert!(ca_summary.usages.key_cert_sign && ca_summary.usages.crl_sign);

        let csr = tenant_csr(CertKind::Tls, KeyAlgorithm::Rsa2048)?;
        let tls = ca.sign_csr(
            csr.as_bytes(),
            Path::new("tls.csr"),
            Validity::days_from_now(30)?,
        )?;
        let summary = tls.summary()?;
        assert_eq!(
            summary.subject,
            "C=PL, O=Clinic, OU=IT, CN=0000000000005010 TLS"
        );
        assert_eq!(summary.issuer, "CN=Test CA");
        assert_eq!(summary.serial_hex.len(), 40);
        assert!(summary.usages.digital_signature && summary.usages.key_encipherment);
        assert!(summary.usages.client_auth && !summary.usages.non_repudiation);
        assert!(!summary.is_ca);
        // The signature verifies with the CA key.
        let parsed = tls.parsed()?;
        let ca_parsed = ca.certificate().parsed()?;
        assert!(parsed
            .verify_signature(Some(ca_parsed.public_key()))
            .is_ok());

        let csr = tenant_csr(CertKind::Wss, KeyAlgorithm::EcdsaP256)?;
        let wss = ca.sign_csr(
            csr.as_bytes(),
            Path::new("wss.csr"),
            Validity::days_from_now(30)?,
        )?;
        let usages = wss.summary()?.usages;
        assert!(usages.digital_signature && usages.non_repudiation);
        assert!(!usages.client_auth && !usages.has_extended_key_usage && !usages.key_encipherment);

        let issued = ca.issued()?;
        assert_eq!(issued.len(), 2);
        assert_eq!(issued[0].serial_hex, summary.serial_hex);
        assert_eq!(issued[0].profile, IssuedProfile::Tls);
        assert_eq!(
            ca.folder().issued_certificate(&summary.serial_hex)?.der(),
            tls.der()
        );
        Ok(())
    }

    #[test]
    fn refusals_name_the_problem() -> Result<()> {
        let dir = temp()?;
        let ca = new_ca(dir.path())?;
        let validity = Validity::days_from_now(30)?;
        let message =
            |result: Result<Certificate>| result.err().map(|e| e.to_string()).unwrap_or_default();

        // A request for something that is not a tenant certificate.
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "www.example.com");
        let other = params
            .serialize_request(&key.rcgen_key_pair()?)
            .and_then(|csr| csr.pem())
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        let got = message(ca.sign_csr(other.as_bytes(), Path::new("web.csr"), validity));
        assert!(
            got.contains("web.csr") && got.contains("<16-digit tenant id> TLS"),
            "{got}"
        );

        // A request whose public key was swapped for another one.
        let csr = parse_csr(
            tenant_csr(CertKind::Tls, KeyAlgorithm::EcdsaP256)?.as_bytes(),
            Path::new("a"),
        )?;
        let other_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?.public_key_info_der()?;
        let mut der = csr.der.clone();
        let at = der
            .windows(csr.public_key_info_der.len())
            .position(|w| w == csr.public_key_info_der.as_slice())
            .ok_or_else(|| PkiError::Invalid("spki not found".into()))?;
        der[at..at + other_key.len()].copy_from_slice(&other_key);
        let got = message(ca.sign_csr(&der, Path::new("swapped.csr"), validity));
        assert!(
            got.contains("swapped.csr") && got.contains("does not verify"),
            "{got}"
        );

        // Longer than the CA.
        let csr = tenant_csr(CertKind::Tls, KeyAlgorithm::EcdsaP256)?;
        let got = message(ca.sign_csr(
            csr.as_bytes(),
            Path::new("tls.csr"),
            Validity::days_from_now(400)?,
        ));
        assert!(got.contains("outlive"), "{got}");
        assert!(
            ca.issued()?.is_empty(),
            "nothing may be recorded for a refusal"
        );
        Ok(())
    }

    #[test]
    fn open_checks_the_password_and_the_folder() -> Result<()> {
        let dir = temp()?;
        let password = Password::new("ca secret");
        CertificateAuthority::init(
            dir.path(),
            "Locked CA",
            KeyAlgorithm::EcdsaP256,
            Validity::days_from_now(10)?,
            Some(&password),
        )?;
        assert!(CertificateAuthority::open(dir.path(), Some(&password)).is_ok());
        let wrong = CertificateAuthority::open(dir.path(), Some(&Password::new("nope")));
        assert!(matches!(wrong, Err(PkiError::WrongPassword { .. })));
        let missing = CertificateAuthority::open(dir.path(), None);
        assert!(matches!(missing, Err(PkiError::PasswordRequired { .. })));
        let again = CertificateAuthority::init(
            dir.path(),
            "Again",
            KeyAlgorithm::EcdsaP256,
            Validity::days_from_now(10)?,
            None,
        );
        let got = again.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(got.contains("already holds a CA"), "{got}");
        let nowhere = CaFolder::open(&dir.path().join("nope"));
        let got = nowhere.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            got.contains("nope") && got.contains("does not exist"),
            "{got}"
        );
        Ok(())
    }

    #[test]
    fn revocation_shows_on_numbered_crls() -> Result<()> {
        let dir = temp()?;
        let ca = new_ca(dir.path())?;
        let csr = tenant_csr(CertKind::Wss, KeyAlgorithm::EcdsaP256)?;
        let cert = ca.sign_csr(
            csr.as_bytes(),
            Path::new("wss.csr"),
            Validity::days_from_now(30)?,
        )?;
        let serial = cert.summary()?.serial_hex;
        let first = ca.crl(OffsetDateTime::now_utc() + Duration::days(7))?;
        assert_eq!((first.number, first.revoked_count), (1, 0));

        let lower_with_colons = serial
            .to_ascii_lowercase()
            .as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).into_owned())
            .collect::<Vec<_>>()
            .join(":");
        let record = ca.revoke(&lower_with_colons, RevocationReason::KeyCompromise)?;
        assert_eq!(record.serial_hex, serial);
        assert!(ca.is_revoked(&serial)?);
        let again = ca.revoke(&serial, RevocationReason::Superseded);
        let got = again.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(got.contains("already revoked"), "{got}");
        let unknown = ca.revoke("0BADC0DE", RevocationReason::Superseded);
        let got = unknown.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(got.contains("0BADC0DE"), "{got}");

        let second = ca.crl(OffsetDateTime::now_utc() + Duration::days(7))?;
        assert_eq!((second.number, second.revoked_count), (2, 1));
        let (_, crl) = CertificateRevocationList::from_der(&second.der)
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        let ca_parsed = ca.certificate().parsed()?;
        assert!(crl.verify_signature(ca_parsed.public_key()).is_ok());
        assert_eq!(
            crl.crl_number().map(|n| n.to_string()),
            Some("2".to_owned())
        );
        let entry = crl
            .iter_revoked_certificates()
            .next()
            .ok_or_else(|| PkiError::Invalid("no entry".into()))?;
        assert_eq!(serial_hex(entry.raw_serial()), serial);
        assert_eq!(
            entry.reason_code().map(|(_, code)| code.0),
            Some(1),
            "keyCompromise"
        );
        assert!(second.to_pem().starts_with("-----BEGIN X509 CRL-----"));
        Ok(())
    }

    #[test]
    fn server_certificates_carry_names_and_server_auth() -> Result<()> {
        let dir = temp()?;
        let ca = new_ca(dir.path())?;
        let ips: Vec<IpAddr> = vec![IpAddr::from([127, 0, 0, 1])];
        let (cert, key) = ca.issue_server(
            &["repo.example.org".to_owned(), "localhost".to_owned()],
            &ips,
            KeyAlgorithm::EcdsaP256,
            Validity::days_from_now(30)?,
        )?;
        let summary = cert.summary()?;
        assert_eq!(summary.common_name.as_deref(), Some("repo.example.org"));
        assert_eq!(summary.dns_names, vec!["repo.example.org", "localhost"]);
        assert_eq!(summary.ip_addresses, vec!["127.0.0.1"]);
        assert!(summary.usages.server_auth && !summary.usages.client_auth);
        assert_eq!(
            cert.parsed()?.public_key().subject_public_key.data.as_ref(),
            key.public_key_bits().as_slice()
        );
        assert!(ca
            .issue_server(
                &["bad name".to_owned()],
                &[],
                KeyAlgorithm::EcdsaP256,
                Validity::days_from_now(1)?
            )
            .is_err());
        assert!(ca
            .issue_server(
                &[],
                &[],
                KeyAlgorithm::EcdsaP256,
                Validity::days_from_now(1)?
            )
            .is_err());
        assert_eq!(ca.issued()?[0].profile, IssuedProfile::Server);
        Ok(())
    }

    #[test]
    fn concurrent_issuers_keep_every_index_line() -> Result<()> {
        let dir = temp()?;
        new_ca(dir.path())?;
        let csr = tenant_csr(CertKind::Tls, KeyAlgorithm::EcdsaP256)?;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let dir = dir.path().to_path_buf();
                let csr = csr.clone();
                std::thread::spawn(move || -> Result<()> {
                    // Each thread opens its own CA, as separate processes would: flock locks
                    // belong to the open file, so they also exclude each other in-process.
                    let ca = CertificateAuthority::open(&dir, None)?;
                    for _ in 0..5 {
                        ca.sign_csr(
                            csr.as_bytes(),
                            Path::new("tls.csr"),
                            Validity::days_from_now(1)?,
                        )?;
                    }
                    Ok(())
                })
            })
            .collect();
        for thread in threads {
            thread
                .join()
                .map_err(|_| PkiError::Invalid("thread panicked".into()))??;
        }
        let issued = CaFolder::open(dir.path())?.issued()?;
        assert_eq!(issued.len(), 20);
        let mut serials: Vec<&str> = issued.iter().map(|r| r.serial_hex.as_str()).collect();
        serials.sort_unstable();
        serials.dedup();
        assert_eq!(serials.len(), 20);
        Ok(())
    }
}
