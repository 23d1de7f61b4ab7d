//! Diagnosis of a certificate + private key pair (`pki check`): every problem a support desk
//! would look for, in the order it would look, each as a [`Finding`] with a stable code, a
//! severity, what is wrong and what to do. Also the single checks the server reuses: does a
//! key belong to a certificate, was a certificate issued by a CA, is it on a CRL.

use std::cmp::Reverse;
use std::fmt;
use std::path::{Path, PathBuf};

use ::time::{Duration, OffsetDateTime};
use medgate_ids::TenantId;
use x509_parser::error::X509Error;
use x509_parser::prelude::*;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::cert::{self, human_time, Certificate, CertificateSummary, Usages};
use crate::error::{PkiError, Result};
use crate::files;
use crate::key::PrivateKey;
use crate::kind::{CertKind, TenantCommonName};

/// How bad a finding is. Ordered from harmless to fatal: `Info < Warning < Error`, so the
/// worst of a list is its maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Something worth knowing that needs no action (for example a check that was skipped).
    Info,
    /// The pair works today but needs attention (expiring soon, stale CRL...).
    Warning,
    /// The pair will not work, or must not be used.
    Error,
}

impl Severity {
    /// Lower-case name, as used in JSON: `info`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Upper-case label, as printed at the start of a text line.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem (or note) about the pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// Stable snake_case code, e.g. `key_mismatch`, `expired`, `revoked`.
    pub code: &'static str,
    /// What is wrong, in one plain sentence.
    pub message: String,
    /// What to do about it, in one sentence.
    pub action: String,
}

impl Finding {
    fn new(
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        Finding {
            severity,
            code,
            message: message.into(),
            action: action.into(),
        }
    }
}

/// The worst severity among `findings`; `None` when there are none.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

/// How many findings have the given severity.
pub fn count(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity == severity).count()
}

/// What to check the pair against. Everything but `warn_days` and `now` is optional: a check
/// whose input is missing is skipped (and said to be skipped with an `Info` finding).
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// The tenant the certificate must be issued to.
    pub tenant: Option<TenantId>,
    /// The kind expected; when `None` it is read from the certificate's CN.
    pub kind: Option<CertKind>,
    /// The CA that must have issued the certificate.
    pub ca: Option<Certificate>,
    /// A CRL (DER, or PEM `X509 CRL`) and the file it came from (to name it in messages).
    pub crl: Option<(Vec<u8>, PathBuf)>,
    /// Warn when the certificate expires within this many days (0: never warn).
    pub warn_days: u32,
    /// The moment to check validity at (normally now).
    pub now: OffsetDateTime,
    /// Folders where a mismatched key's real certificate is looked for (typically the
    /// folders of the key and of the certificate).
    pub sibling_search_dirs: Vec<PathBuf>,
}

impl CheckOptions {
    /// Options with nothing to compare against, checking validity at `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        CheckOptions {
            tenant: None,
            kind: None,
            ca: None,
            crl: None,
            warn_days: 30,
            now,
            sibling_search_dirs: Vec::new(),
        }
    }
}

/// A revocation entry found for a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    /// When the CA revoked it.
    pub date: OffsetDateTime,
    /// The RFC 5280 reason name (`keyCompromise`, `superseded`, ...), when the CRL gives one.
    pub reason: Option<String>,
}

/// True when `key` is the private half of the certificate's public key.
pub fn key_matches(cert: &Certificate, key: &PrivateKey) -> Result<bool> {
    let parsed = cert.parsed()?;
    Ok(spki_matches(parsed.public_key(), key))
}

fn spki_matches(spki: &SubjectPublicKeyInfo<'_>, key: &PrivateKey) -> bool {
    if spki.subject_public_key.data.as_ref() == key.public_key_bits().as_slice() {
        return true;
    }
    // Same key, different encoding of the algorithm parameters is still the same key; the
    // bit comparison above covers RSA and EC; this covers anything it may miss.
    matches!(key.public_key_info_der(), Ok(der) if der.as_slice() == spki.raw)
}

/// True when `ca`'s subject is the certificate's issuer AND the certificate's signature
/// verifies with `ca`'s public key.
pub fn issued_by(cert: &Certificate, ca: &Certificate) -> bool {
    let (Ok(cert), Ok(ca)) = (cert.parsed(), ca.parsed()) else {
        return false;
    };
    names_equal(cert.issuer(), ca.subject()) && cert.verify_signature(Some(ca.public_key())).is_ok()
}

/// Looks the certificate up in a CRL (DER or PEM `X509 CRL`). `None` when the CRL does not
/// list it, including when the CRL belongs to another issuer (serial numbers are only unique
/// per issuer). The CRL's own signature is not checked here; see [`crl_signed_by`].
pub fn revocation(cert: &Certificate, crl: &[u8]) -> Result<Option<Revoked>> {
    let der = crl_der(Path::new("CRL"), crl)?;
    let parsed_crl = parse_crl(Path::new("CRL"), &der)?;
    let parsed_cert = cert.parsed()?;
    Ok(revocation_in(&parsed_cert, &parsed_crl))
}

/// True when the CRL (DER or PEM) names `ca` as its issuer and its signature verifies with
/// `ca`'s public key.
pub fn crl_signed_by(crl: &[u8], ca: &Certificate) -> Result<bool> {
    let der = crl_der(Path::new("CRL"), crl)?;
    let parsed_crl = parse_crl(Path::new("CRL"), &der)?;
    let ca = ca.parsed()?;
    Ok(names_equal(parsed_crl.issuer(), ca.subject())
        && parsed_crl.verify_signature(ca.public_key()).is_ok())
}

/// Reads a CRL file (PEM `X509 CRL` or DER) and returns its DER after checking it parses.
pub fn load_crl(path: &Path) -> Result<Vec<u8>> {
    let bytes = files::read(path)?;
    crl_der(path, &bytes)
}

/// Turns CRL bytes (PEM `X509 CRL` or DER) read from `path` into DER that parses as a CRL.
pub fn crl_der(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let der = if files::looks_like_pem(bytes) {
        let blocks = files::pem_blocks(path, bytes)?;
        let Some(block) = blocks.iter().find(|b| b.tag() == "X509 CRL") else {
            let tags: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
            return Err(PkiError::bad_file(
                path,
                format!(
                    "contains no CRL (found {}); expected an X509 CRL block",
                    crate::key::describe_tags(&tags)
                ),
            ));
        };
        block.contents().to_vec()
    } else {
        bytes.to_vec()
    };
    parse_crl(path, &der)?;
    Ok(der)
}

fn parse_crl<'a>(path: &Path, der: &'a [u8]) -> Result<CertificateRevocationList<'a>> {
    match CertificateRevocationList::from_der(der) {
        Ok((_, crl)) => Ok(crl),
        Err(_) if X509Certificate::from_der(der).is_ok() => Err(PkiError::bad_file(
            path,
            "is a certificate, not a certificate revocation list (CRL)",
        )),
        Err(error) => Err(PkiError::bad_file(
            path,
            format!("is not a certificate revocation list (CRL) ({error})"),
        )),
    }
}

fn revocation_in(
    cert: &X509Certificate<'_>,
    crl: &CertificateRevocationList<'_>,
) -> Option<Revoked> {
    if !names_equal(crl.issuer(), cert.issuer()) {
        return None;
    }
    let serial = trim_serial(cert.raw_serial());
    crl.iter_revoked_certificates()
        .find(|entry| trim_serial(entry.raw_serial()) == serial)
        .map(|entry| Revoked {
            date: entry.revocation_date.to_datetime(),
            reason: entry
                .reason_code()
                .map(|(_, code)| reason_name(code.0).to_owned()),
        })
}

fn trim_serial(raw: &[u8]) -> &[u8] {
    match raw.iter().position(|&b| b != 0) {
        Some(first) => &raw[first..],
        None => &[],
    }
}

/// RFC 5280 CRLReason names.
fn reason_name(code: u8) -> &'static str {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => "unknown reason",
    }
}

fn names_equal(a: &X509Name<'_>, b: &X509Name<'_>) -> bool {
    a.as_raw() == b.as_raw() || a.to_string() == b.to_string()
}

/// Everything wrong with the pair, worst first (errors, then warnings, then notes); within a
/// severity, in the order a support desk checks: key, name, validity, issuer, revocation,
/// key usage. An empty list, or one with only `Info` findings, means the pair is fine.
///
/// Fails only when an input cannot be read at all (a damaged certificate, CA or CRL).
pub fn diagnose(
    cert: &Certificate,
    key: &PrivateKey,
    options: &CheckOptions,
) -> Result<Vec<Finding>> {
    let parsed = cert.parsed()?;
    let summary = cert.summary()?;
    let mut findings = Vec::new();

    check_key(cert, &parsed, &summary, key, options, &mut findings);
    let kind = check_name(&summary, options, &mut findings);
    check_validity(&summary, options, &mut findings);
    check_issuer(&parsed, options, &mut findings)?;
    check_revocation(&parsed, &summary, options, &mut findings)?;
    check_usage(&summary, kind, &mut findings);

    findings.sort_by_key(|finding| Reverse(finding.severity));
    Ok(findings)
}

// 1. The key.

fn check_key(
    cert: &Certificate,
    parsed: &X509Certificate<'_>,
    summary: &CertificateSummary,
    key: &PrivateKey,
    options: &CheckOptions,
    findings: &mut Vec<Finding>,
) {
    if spki_matches(parsed.public_key(), key) {
        return;
    }
    let cert_kind = summary.kind();
    let base = format!(
        "the private key does not belong to this certificate ({})",
        describe_cn(summary)
    );
    let Some((path, owner)) =
        find_certificate_for_key(key, &options.sibling_search_dirs, cert.source())
    else {
        findings.push(Finding::new(
            Severity::Error,
            "key_mismatch",
            format!("{base}: the key's public half is not the certificate's public key"),
            "use the key that was generated together with this certificate's CSR; if that key is \
             lost, make a new key and CSR and have the CA issue a new certificate",
        ));
        return;
    };
    let owner_kind = owner.kind();
    let mut message = format!(
        "{base}: this key belongs to {} ({})",
        path.display(),
        describe_cn(&owner)
    );
    let mut action = format!(
        "load the key generated with this certificate's CSR, or use this key only with {}",
        path.display()
    );
    match (cert_kind, owner_kind) {
        (Some(cert_kind), Some(owner_kind)) if cert_kind != owner_kind => {
            if options.kind == Some(owner_kind) {
                message.push_str(&format!(
                    "; the {cert_kind} certificate was given in place of the {owner_kind} \
                     certificate"
                ));
                action = format!(
                    "use the {owner_kind} certificate {} with this key",
                    path.display()
                );
            } else {
                message.push_str(&format!(
                    "; the {owner_kind} key was loaded in place of the {cert_kind} key"
                ));
                action = format!(
                    "load the {cert_kind} key (usually {}.key, generated with the {cert_kind} CSR) \
                     with this certificate; keep the {owner_kind} key for {}",
                    cert_kind.file_stem(),
                    path.display()
                );
            }
        }
        _ => {}
    }
    findings.push(Finding::new(
        Severity::Error,
        "key_mismatch",
        message,
        action,
    ));
}

/// File extensions looked at when searching for a key's real certificate.
const CERTIFICATE_EXTENSIONS: &[&str] = &["pem", "crt", "cer", "der", "cert"];

/// Largest file read during the search (certificates and chains are a few kB).
const MAX_CANDIDATE_SIZE: u64 = 1024 * 1024;

/// Looks in `dirs` for a certificate file (other than `exclude`) whose public key is the
/// key's. Files named `tls.*` / `wss.*` are tried first, then the others by name.
fn find_certificate_for_key(
    key: &PrivateKey,
    dirs: &[PathBuf],
    exclude: &Path,
) -> Option<(PathBuf, CertificateSummary)> {
    let excluded = exclude.canonicalize().ok();
    let mut seen = Vec::new();
    let mut candidates = Vec::new();
    for dir in dirs {
        let canonical_dir = dir.canonicalize().ok();
        if canonical_dir.is_some() && seen.contains(&canonical_dir) {
            continue;
        }
        seen.push(canonical_dir);
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name_text = name.to_string_lossy().into_owned();
            let path = Path::new(&name_text);
            let extension = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            if name_text.starts_with('.') || !CERTIFICATE_EXTENSIONS.contains(&extension.as_str()) {
                continue;
            }
            let is_file_small = entry
                .metadata()
                .map(|m| m.is_file() && m.len() <= MAX_CANDIDATE_SIZE)
                .unwrap_or(false);
            if !is_file_small {
                continue;
            }
            let full = dir.join(&name);
            if excluded.is_some() && full.canonicalize().ok() == excluded {
                continue;
            }
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            let preferred = stem == "tls" || stem == "wss";
            candidates.push((!preferred, name_text, full));
        }
    }
    candidates.sort();
    candidates.into_iter().find_map(|(_, _, path)| {
        let certificates = cert::load_certificates(&path).ok()?;
        certificates.iter().find_map(|candidate| {
            let parsed = candidate.parsed().ok()?;
            if spki_matches(parsed.public_key(), key) {
                candidate
                    .summary()
                    .ok()
                    .map(|summary| (path.clone(), summary))
            } else {
                None
            }
        })
    })
}

/// `CN=...` of a certificate, or its whole subject when it has no CN.
fn describe_cn(summary: &CertificateSummary) -> String {
    match &summary.common_name {
        Some(cn) => format!("CN={cn}"),
        None if summary.subject.is_empty() => "empty subject".to_owned(),
        None => summary.subject.clone(),
    }
}

// 2. The name: tenant and kind.

/// Checks the CN; returns the kind the rest of the checks assume (given, or read from the CN).
fn check_name(
    summary: &CertificateSummary,
    options: &CheckOptions,
    findings: &mut Vec<Finding>,
) -> Option<CertKind> {
    let parsed_name = summary.tenant_name.as_ref();
    let kind = options.kind.or(parsed_name.map(|n| n.kind));
    let shown = describe_cn(summary);
    match (parsed_name, &options.tenant) {
        (None, tenant) => {
            let expected = match (tenant, kind) {
                (Some(tenant), Some(kind)) => format!("CN={}", kind.common_name(tenant)),
                (Some(tenant), None) => format!("CN={tenant} TLS or CN={tenant} WSS"),
                (None, Some(kind)) => format!("CN=<16-digit tenant id> {kind}"),
                (None, None) => "CN=<16-digit tenant id> TLS or WSS".to_owned(),
            };
            findings.push(Finding::new(
                Severity::Error,
                "wrong_common_name",
                format!(
                    "the subject ({shown}) is not a tenant certificate name: expected {expected}"
                ),
                format!("make a new CSR with the subject {expected} and have the CA sign it"),
            ));
        }
        (Some(TenantCommonName { tenant: found, .. }), Some(tenant)) if found != tenant => {
            let expected = format!("CN={}", kind.unwrap_or(CertKind::Tls).common_name(tenant));
            findings.push(Finding::new(
                Severity::Error,
                "other_tenant",
                format!(
                    "the certificate belongs to another tenant: it is issued to {found} ({shown}), \
                     expected {expected}"
                ),
                format!("use tenant {tenant}'s own certificate, whose subject is {expected}"),
            ));
        }
        _ => {}
    }
    if let (Some(found), Some(expected)) = (parsed_name, options.kind) {
        if found.kind != expected {
            let tenant = options.tenant.as_ref().unwrap_or(&found.tenant);
            findings.push(Finding::new(
                Severity::Error,
                "wrong_kind",
                format!(
                    "this is a {} certificate ({shown}), but a {expected} certificate was expected \
                     (CN={})",
                    found.kind,
                    expected.common_name(tenant)
                ),
                format!(
                    "use the {expected} certificate (usually {}.pem) instead of the {} one",
                    expected.file_stem(),
                    found.kind
                ),
            ));
        }
    }
    kind
}

// 3. Validity period.

fn check_validity(
    summary: &CertificateSummary,
    options: &CheckOptions,
    findings: &mut Vec<Finding>,
) {
    let now = options.now;
    if now < summary.not_before {
        findings.push(Finding::new(
            Severity::Error,
            "not_yet_valid",
            format!(
                "the certificate is not valid yet: its validity starts {} ({})",
                human_time(summary.not_before),
                in_days(summary.not_before - now)
            ),
            format!(
                "check this computer's clock and time zone; if they are right, wait until {} or \
                 ask the CA for a certificate valid from today",
                human_time(summary.not_before)
            ),
        ));
    }
    if now > summary.not_after {
        let ago = (now - summary.not_after).whole_days();
        let ago = match ago {
            0 => "less than a day ago".to_owned(),
            1 => "1 day ago".to_owned(),
            n => format!("{n} days ago"),
        };
        findings.push(Finding::new(
            Severity::Error,
            "expired",
            format!(
                "the certificate expired on {} ({ago})",
                human_time(summary.not_after)
            ),
            "request a new certificate: make a new CSR (medgate pki csr), have the CA sign it and \
             register it",
        ));
    } else if now >= summary.not_before
        && summary.not_after - now <= Duration::days(i64::from(options.warn_days))
    {
        findings.push(Finding::new(
            Severity::Warning,
            "expiring_soon",
            format!(
                "the certificate expires on {} ({})",
                human_time(summary.not_after),
                in_days(summary.not_after - now)
            ),
            "renew it before then: make a new CSR, have the CA sign it and register the new \
             certificate",
        ));
    }
}

/// "in 5 days", "in 1 day", "in less than a day" (rounded up to whole days left).
fn in_days(left: Duration) -> String {
    let seconds = left.whole_seconds().max(0);
    let days = (seconds + 86_399) / 86_400;
    match days {
        0 => "now".to_owned(),
        1 if seconds < 86_400 => "in less than a day".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    }
}


// 4. Issuer.

fn check_issuer(
    parsed: &X509Certificate<'_>,
    options: &CheckOptions,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let Some(ca) = &options.ca else {
        findings.push(Finding::new(
            Severity::Info,
            "issuer_not_checked",
            format!(
                "the issuer ({}) was not verified: no CA certificate was given",
                parsed.issuer()
            ),
            "give the tenant CA certificate (--ca) to check who issued it",
        ));
        return Ok(());
    };
    let ca_parsed = ca.parsed()?;
    let ca_name = ca_parsed.subject().to_string();
    if !names_equal(parsed.issuer(), ca_parsed.subject()) {
        findings.push(Finding::new(
            Severity::Error,
            "not_issued_by_ca",
            format!(
                "the certificate was not issued by the given CA ({ca_name}): its issuer is {}",
                parsed.issuer()
            ),
            format!(
                "use a certificate issued by {ca_name}, or check against the CA that issued this \
                 one ({})",
                parsed.issuer()
            ),
        ));
        return Ok(());
    }
    match parsed.verify_signature(Some(ca_parsed.public_key())) {
        Ok(()) => {}
        Err(X509Error::SignatureUnsupportedAlgorithm) => findings.push(Finding::new(
            Severity::Warning,
            "signature_not_checked",
            format!(
                "the issuer name matches the CA ({ca_name}) but the signature algorithm ({}) \
                 cannot be verified here",
                parsed.signature_algorithm.algorithm.to_id_string()
            ),
            "verify the certificate with the platform's own tools (for GOST: OpenSSL with the \
             GOST engine)",
        )),
        Err(_) => findings.push(Finding::new(
            Severity::Error,
            "not_issued_by_ca",
            format!(
                "the certificate names {ca_name} as issuer, but its signature does not verify \
                 with that CA's key: it was issued by another CA with the same name, or the file \
                 is damaged"
            ),
            "get the CA certificate that really issued it (or a certificate really issued by \
             this CA)",
        )),
    }
    if options.now > ca_parsed.validity().not_after.to_datetime() {
        findings.push(Finding::new(
            Severity::Warning,
            "ca_expired",
            format!(
                "the CA certificate ({ca_name}) expired on {}: certificates it issued are no \
                 longer trusted",
                human_time(ca_parsed.validity().not_after.to_datetime())
            ),
            "ask the operator for the renewed CA certificate and certificates issued by it",
        ));
    }
    Ok(())
}

// 5. Revocation.

fn check_revocation(
    parsed: &X509Certificate<'_>,
    summary: &CertificateSummary,
    options: &CheckOptions,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let Some((bytes, crl_path)) = &options.crl else {
        findings.push(Finding::new(
            Severity::Info,
            "revocation_not_checked",
            "revocation was not checked: no CRL was given",
            "give the CA's current CRL (--crl) to check whether the certificate was revoked",
        ));
        return Ok(());
    };
    let der = crl_der(crl_path, bytes)?;
    let crl = parse_crl(crl_path, &der)?;
    let crl_issuer = crl.issuer().to_string();
    let shown = crl_path.display();
    let same_issuer_as_cert = names_equal(crl.issuer(), parsed.issuer());

    if let Some(ca) = &options.ca {
        let ca = ca.parsed()?;
        if !names_equal(crl.issuer(), ca.subject()) {
            findings.push(Finding::new(
                Severity::Error,
                "crl_not_from_ca",
                format!(
                    "the CRL {shown} was not issued by the given CA ({}): its issuer is \
                     {crl_issuer}",
                    ca.subject()
                ),
                format!("get the current CRL published by {}", ca.subject()),
            ));
        } else {
            match crl.verify_signature(ca.public_key()) {
                Ok(()) => {}
                Err(X509Error::SignatureUnsupportedAlgorithm) => findings.push(Finding::new(
                    Severity::Warning,
                    "signature_not_checked",
                    format!(
                        "the CRL {shown} names the CA as issuer but its signature algorithm ({}) \
                         cannot be verified here",
                        crl.signature_algorithm.algorithm.to_id_string()
                    ),
                    "verify the CRL with the platform's own tools",
                )),
                Err(_) => findings.push(Finding::new(
                    Severity::Error,
                    "crl_not_from_ca",
                    format!(
                        "the CRL {shown} names the CA ({}) as issuer, but its signature does not \
                         verify with the CA's key: it is forged, damaged or from another CA with \
                         the same name",
                        ca.subject()
                    ),
                    format!(
                        "download the CRL again from the publisher of {}",
                        ca.subject()
                    ),
                )),
            }
        }
    } else if !same_issuer_as_cert {
        findings.push(Finding::new(
            Severity::Error,
            "crl_not_from_ca",
            format!(
                "the CRL {shown} was issued by {crl_issuer}, but the certificate by {}: this CRL \
                 cannot say whether the certificate is revoked",
                parsed.issuer()
            ),
            format!("get the current CRL published by {}", parsed.issuer()),
        ));
    }

    if let Some(next_update) = crl.next_update() {
        let next_update = next_update.to_datetime();
        if options.now > next_update {
            findings.push(Finding::new(
                Severity::Warning,
                "crl_stale",
                format!(
                    "the CRL {shown} is out of date: a newer one was due on {}, and it may list \
                     revocations this one does not",
                    human_time(next_update)
                ),
                "download the CA's current CRL and check again",
            ));
        }
    }

    if let Some(revoked) = revocation_in(parsed, &crl) {
        let reason = revoked.reason.as_deref().unwrap_or("no reason given");
        let action = match revoked.reason.as_deref() {
            Some("keyCompromise") => {
                "the key is considered compromised: generate a NEW key and CSR, have the CA \
                 issue a new certificate, and never use the old key again"
            }
            Some("certificateHold") => {
                "the certificate is on hold: ask the CA to release the hold, or request a new \
                 certificate"
            }
            _ => {
                "it can no longer be used: make a new CSR, have the CA issue a new certificate \
                 and register it"
            }
        };
        findings.push(Finding::new(
            Severity::Error,
            "revoked",
            format!(
                "the certificate (serial {}) was revoked on {} (reason: {reason}) according to \
                 the CRL {shown}",
                summary.serial_hex,
                human_time(revoked.date)
            ),
            action,
        ));
    }
    Ok(())
}

// 6. Key usage.

fn check_usage(summary: &CertificateSummary, kind: Option<CertKind>, findings: &mut Vec<Finding>) {
    let usages = &summary.usages;
    let present = present_usages(usages);
    match kind {
        None => findings.push(Finding::new(
            Severity::Info,
            "kind_unknown",
            "key usages were not checked: the kind (TLS or WSS) is neither given nor in the CN",
            "give the expected kind (--kind tls or --kind wss)",
        )),
        Some(CertKind::Tls) => {
            let mut missing = Vec::new();
            if !usages.has_extended_key_usage || !usages.client_auth {
                missing.push("clientAuth (extendedKeyUsage)");
            }
            if usages.has_key_usage && !usages.digital_signature {
                missing.push("digitalSignature (keyUsage)");
            }
            if !missing.is_empty() {
                findings.push(Finding::new(
                    Severity::Error,
                    "wrong_key_usage",
                    format!(
                        "the certificate cannot be used as a TLS client certificate: it lacks {} \
                         (it has {present})",
                        missing.join(" and ")
                    ),
                    "have the CA reissue it as a TLS certificate (extendedKeyUsage clientAuth, \
                     keyUsage digitalSignature)",
                ));
            }
        }
        Some(CertKind::Wss) => {
            if usages.has_key_usage {
                let mut missing = Vec::new();
                if !usages.digital_signature {
                    missing.push("digitalSignature");
                }
                if !usages.non_repudiation {
                    missing.push("nonRepudiation");
                }
                if !missing.is_empty() {
                    findings.push(Finding::new(
                        Severity::Error,
                        "wrong_key_usage",
                        format!(
                            "the certificate cannot be used to sign messages (WSS): its keyUsage \
                             lacks {} (it has {present})",
                            missing.join(" and ")
                        ),
                        "have the CA reissue it as a WSS certificate (keyUsage digitalSignature, \
                         nonRepudiation)",
                    ));
                }
            } else {
                findings.push(Finding::new(
                    Severity::Warning,
                    "no_key_usage",
                    "the WSS certificate has no keyUsage extension; signature verifiers that \
                     require nonRepudiation will refuse its signatures",
                    "have the CA reissue it with keyUsage digitalSignature, nonRepudiation",
                ));
            }
        }
    }
    if summary.is_ca {
        findings.push(Finding::new(
            Severity::Warning,
            "is_ca",
            format!(
                "the certificate is a CA certificate (basicConstraints CA:TRUE); a tenant {} \
                 certificate should not be one",
                kind.map(|k| k.suffix()).unwrap_or("TLS/WSS")
            ),
            "have the CA reissue it as an end-entity certificate (CA:FALSE)",
        ));
    }
}

fn present_usages(usages: &Usages) -> String {
    let names = usages.names();
    if names.is_empty() {
        "no key usages".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyAlgorithm;
    use rcgen::{
        BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
        ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, RevocationReason,
        RevokedCertParams, SerialNumber,
    };

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    const TENANT: &str = "0000000000005010";

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    struct Ca {
        params: CertificateParams,
        key: rcgen::KeyPair,
        cert: Certificate,
    }

    impl Ca {
        fn new(name: &str) -> std::result::Result<Self, Box<dyn std::error::Error>> {
            let mut params = CertificateParams::new(Vec::<String>::new())?;
            params.distinguished_name = rcgen::DistinguishedName::new();
            params.distinguished_name.push(DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            params.not_before = now() - Duration::days(10);
            params.not_after = now() + Duration::days(3650);
            let key = rcgen::KeyPair::generate()?;
            let der = params.self_signed(&key)?.der().to_vec();
            let cert = Certificate::from_der(der, Path::new("ca.pem"))?;
            Ok(Ca { params, key, cert })
        }

        fn issuer(&self) -> Issuer<'_, &rcgen::KeyPair> {
            Issuer::from_params(&self.params, &self.key)
        }

        fn crl(
            &self,
            revoked: &[(u64, Option<RevocationReason>)],
            next_update: OffsetDateTime,
        ) -> std::result::Result<Vec<u8>, Box<dyn std::error::Error>> {
            let params = CertificateRevocationListParams {
                this_update: next_update - Duration::days(30),
                next_update,
                crl_number: SerialNumber::from(1u64),
                issuing_distribution_point: None,
                revoked_certs: revoked
                    .iter()
                    .map(|(serial, reason)| RevokedCertParams {
                        serial_number: SerialNumber::from(*serial),
                        revocation_time: now() - Duration::days(2),
                        reason_code: *reason,
                        invalidity_date: None,
                    })
                    .collect(),
                key_identifier_method: KeyIdMethod::Sha256,
            };
            Ok(params.signed_by(&self.issuer())?.der().to_vec())
        }
    }

    /// What a test certificate looks like; defaults make a correct TLS certificate.
    struct Spec {
        cn: String,
        kind: CertKind,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        serial: u64,
        key_usages: Option<Vec<KeyUsagePurpose>>,
        ekus: Option<Vec<ExtendedKeyUsagePurpose>>,
        is_ca: bool,
    }

    impl Spec {
        fn new(kind: CertKind) -> Self {
            Spec {
                cn: format!("{TENANT} {}", kind.suffix()),
                kind,
                not_before: now() - Duration::days(1),
                not_after: now() + Duration::days(365),
                serial: 4242,
                key_usages: None,
                ekus: None,
                is_ca: false,
            }
        }
    }

    fn issue(
        spec: &Spec,
        ca: &Ca,
        key: &PrivateKey,
        file: &str,
    ) -> std::result::Result<Certificate, Box<dyn std::error::Error>> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, spec.cn.as_str());
        params.not_before = spec.not_before;
        params.not_after = spec.not_after;
        params.serial_number = Some(SerialNumber::from(spec.serial));
        let (default_ku, default_eku) = match spec.kind {
            CertKind::Tls => (
                vec![KeyUsagePurpose::DigitalSignature],
                vec![ExtendedKeyUsagePurpose::ClientAuth],
            ),
            CertKind::Wss => (
                vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::ContentCommitment,
                ],
                vec![],
            ),
        };
        params.key_usages = spec.key_usages.clone().unwrap_or(default_ku);
        params.extended_key_usages = spec.ekus.clone().unwrap_or(default_eku);
        if spec.is_ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        let pair = key.rcgen_key_pair()?;
        let der = params.signed_by(&pair, &ca.issuer())?.der().to_vec();
        Ok(Certificate::from_der(der, Path::new(file))?)
    }

    fn new_key() -> std::result::Result<PrivateKey, Box<dyn std::error::Error>> {
        Ok(PrivateKey::generate(KeyAlgorithm::EcdsaP256)?)
    }

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .map(|f| f.code)
            .collect()
    }

    fn find<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
        findings
            .iter()
            .find(|f| f.code == code)
            .unwrap_or_else(|| panic!("no {code} finding in {findings:#?}"))
    }

    fn options_with_ca(ca: &Ca) -> CheckOptions {
        let mut options = CheckOptions::new(now());
        options.tenant = TenantId::parse(TENANT).ok();
        options.ca = Some(ca.cert.clone());
        options
    }

    #[test]
    fn a_correct_pair_has_no_problem() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        for kind in [CertKind::Tls, CertKind::Wss] {
            let key = new_key()?;
            let cert = issue(&Spec::new(kind), &ca, &key, "c.pem")?;
            let mut options = options_with_ca(&ca);
            options.kind = Some(kind);
            options.crl = Some((
                ca.crl(&[(7, None)], now() + Duration::days(7))?,
                "ca.crl".into(),
            ));
            let findings = diagnose(&cert, &key, &options)?;
            assert!(findings.is_empty(), "{findings:#?}");
            assert_eq!(worst(&findings), None);
            assert!(key_matches(&cert, &key)?);
            assert!(issued_by(&cert, &ca.cert));
        }
        Ok(())
    }

    #[test]
    fn missing_inputs_are_noted_as_info() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        let key = new_key()?;
        let cert = issue(&Spec::new(CertKind::Tls), &ca, &key, "c.pem")?;
        let findings = diagnose(&cert, &key, &CheckOptions::new(now()))?;
        assert_eq!(worst(&findings), Some(Severity::Info));
        let codes: Vec<_> = findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["issuer_not_checked", "revocation_not_checked"]);
        Ok(())
    }

    #[test]
    fn rsa_keys_match_their_certificate_too() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        let key = PrivateKey::generate(KeyAlgorithm::Rsa2048)?;
        let cert = issue(&Spec::new(CertKind::Tls), &ca, &key, "c.pem")?;
        assert!(key_matches(&cert, &key)?);
        assert!(!key_matches(
            &cert,
            &PrivateKey::generate(KeyAlgorithm::Rsa2048)?
        )?);
        Ok(())
    }

    #[test]
    fn key_of_the_other_kind_is_named_with_its_file() -> TestResult {
        let dir = tempfile::tempdir()?;
        let ca = Ca::new("Tenant CA")?;
        let tls_key = new_key()?;
        let wss_key = new_key()?;
        let tls = issue(&Spec::new(CertKind::Tls), &ca, &tls_key, "tls.pem")?;
        let wss = issue(&Spec::new(CertKind::Wss), &ca, &wss_key, "wss.pem")?;
        let tls_path = dir.path().join("tls.pem");
        std::fs::write(&tls_path, tls.to_pem())?;
        std::fs::write(dir.path().join("wss.pem"), wss.to_pem())?;
        std::fs::write(dir.path().join("notes.pem"), "not a certificate")?;
        let tls = cert::load_certificate(&tls_path)?;

        let mut options = options_with_ca(&ca);
        options.sibling_search_dirs = vec![dir.path().to_path_buf(), dir.path().to_path_buf()];
        let findings = diagnose(&tls, &wss_key, &options)?;
        assert_eq!(codes(&findings), ["key_mismatch"]);
        let finding = find(&findings, "key_mismatch");
        assert!(finding.message.contains("wss.pem"), "{}", finding.message);
        assert!(
            finding.message.contains(&format!("CN={TENANT} WSS")),
            "{}",
            finding.message
        );
        assert!(
            finding
                .message
                .contains("the WSS key was loaded in place of the TLS key"),
            "{}",
            finding.message
        );
        assert!(!key_matches(&tls, &wss_key)?);

        // The right key for the expected kind, but the other kind's certificate.
        let wss = cert::load_certificate(&dir.path().join("wss.pem"))?;
        options.kind = Some(CertKind::Tls);
        let findings = diagnose(&wss, &tls_key, &options)?;
        let message = &find(&findings, "key_mismatch").message;
        assert!(message.contains("tls.pem"), "{message}");
        assert!(
            message.contains("the WSS certificate was given in place of the TLS certificate"),
            "{message}"
        );
        options.kind = None;

        // Without folders to search, the mismatch is still reported plainly.
        options.sibling_search_dirs.clear();
        let findings = diagnose(&tls, &wss_key, &options)?;
        let finding = find(&findings, "key_mismatch");
        assert!(
            finding.message.contains("does not belong"),
            "{}",
            finding.message
        );
        assert!(!finding.message.contains("wss.pem"));
        Ok(())
    }

    #[test]
    fn a_certificate_of_another_tenant_names_the_expected_cn() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        let key = new_key()?;
        let cert = issue(&Spec::new(CertKind::Tls), &ca, &key, "c.pem")?;
        let mut options = options_with_ca(&ca);
        options.tenant = TenantId::parse("0000000000009999").ok();
        let findings = diagnose(&cert, &key, &options)?;
        assert_eq!(codes(&findings), ["other_tenant"]);
        let finding = find(&findings, "other_tenant");
        assert!(
            finding.message.contains("CN=0000000000009999 TLS"),
            "{}",
            finding.message
        );
        assert!(finding.message.contains(TENANT), "{}", finding.message);
        Ok(())
    }

    #[test]
    fn a_non_tenant_common_name_is_an_error() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        let key = new_key()?;
        let mut spec = Spec::new(CertKind::Tls);
        spec.cn = "clinic.example".into();
        let cert = issue(&spec, &ca, &key, "c.pem")?;
        let mut options = options_with_ca(&ca);
        options.kind = Some(CertKind::Tls);
        let findings = diagnose(&cert, &key, &options)?;
        assert_eq!(codes(&findings), ["wrong_common_name"]);
        let message = &find(&findings, "wrong_common_name").message;
        assert!(message.contains(&format!("CN={TENANT} TLS")), "{message}");
        assert!(message.contains("clinic.example"), "{message}");
        Ok(())
    }

    #[test]
    fn the_other_kind_is_reported() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        let key = new_key()?;
        let cert = issue(&Spec::new(CertKind::Wss), &ca, &key, "wss.pem")?;
        let mut options = options_with_ca(&ca);
        options.kind = Some(CertKind::Tls);
        let findings = diagnose(&cert, &key, &options)?;
        // A WSS certificate checked as TLS: the name and the missing clientAuth.
        assert_eq!(codes(&findings), ["wrong_kind", "wrong_key_usage"]);
        let message = &find(&findings, "wrong_kind").message;
        assert!(message.contains(&format!("CN={TENANT} TLS")), "{message}");
        Ok(())
    }

    #[test]
    fn validity_problems_are_dated() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        let key = new_key()?;
        let options = options_with_ca(&ca);

        let mut spec = Spec::new(CertKind::Tls);
        spec.not_before = now() + Duration::days(3);
        let findings = diagnose(&issue(&spec, &ca, &key, "c.pem")?, &key, &options)?;
        assert_eq!(codes(&findings), ["not_yet_valid"]);

        let mut spec = Spec::new(CertKind::Tls);
        spec.not_before = now() - Duration::days(400);
        spec.not_after = now() - Duration::days(10) - Duration::hours(1);
        let findings = diagnose(&issue(&spec, &ca, &key, "c.pem")?, &key, &options)?;
        assert_eq!(codes(&findings), ["expired"]);
        let message = &find(&findings, "expired").message;
        assert!(message.contains("10 days ago"), "{message}");
        assert!(message.contains(&human_time(spec.not_after)), "{message}");

        let mut spec = Spec::new(CertKind::Tls);
        spec.not_after = now() + Duration::days(5);
        let cert = issue(&spec, &ca, &key, "c.pem")?;
        let findings = diagnose(&cert, &key, &options)?;
        assert_eq!(codes(&findings), ["expiring_soon"]);
        assert_eq!(find(&findings, "expiring_soon").severity, Severity::Warning);
        assert!(find(&findings, "expiring_soon")
            .message
            .contains("in 5 days"));
        let mut options = options;
        options.warn_days = 3;
        assert!(codes(&diagnose(&cert, &key, &options)?).is_empty());
        Ok(())
    }

    #[test]
    fn another_ca_is_detected_by_name_and_by_signature() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        let other = Ca::new("Other CA")?;
        let impostor = Ca::new("Tenant CA")?;
        let key = new_key()?;
        let cert = issue(&Spec::new(CertKind::Tls), &other, &key, "c.pem")?;
        let findings = diagnose(&cert, &key, &options_with_ca(&ca))?;
        assert_eq!(codes(&findings), ["not_issued_by_ca"]);
        let message = &find(&findings, "not_issued_by_ca").message;
        assert!(message.contains("CN=Other CA"), "{message}");
        assert!(!issued_by(&cert, &ca.cert));

        // Same name, different key: only the signature tells.
        let cert = issue(&Spec::new(CertKind::Tls), &impostor, &key, "c.pem")?;
        let findings = diagnose(&cert, &key, &options_with_ca(&ca))?;
        assert_eq!(codes(&findings), ["not_issued_by_ca"]);
        assert!(find(&findings, "not_issued_by_ca")
            .message
            .contains("signature"));
        assert!(!issued_by(&cert, &ca.cert));
        assert!(issued_by(&cert, &impostor.cert));
        Ok(())
    }

    #[test]
    fn a_revoked_certificate_is_reported_with_date_and_reason() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        let key = new_key()?;
        let cert = issue(&Spec::new(CertKind::Tls), &ca, &key, "c.pem")?;
        let crl = ca.crl(
            &[(1, None), (4242, Some(RevocationReason::KeyCompromise))],
            now() + Duration::days(7),
        )?;
        let revoked = revocation(&cert, &crl)?.ok_or("not revoked")?;
        assert_eq!(revoked.reason.as_deref(), Some("keyCompromise"));
        assert!(crl_signed_by(&crl, &ca.cert)?);

        let mut options = options_with_ca(&ca);
        options.crl = Some((crl.clone(), "ca.crl".into()));
        let findings = diagnose(&cert, &key, &options)?;
        assert_eq!(codes(&findings), ["revoked"]);
        let message = &find(&findings, "revoked").message;
        assert!(message.contains("keyCompromise"), "{message}");
        assert!(message.contains(&human_time(revoked.date)), "{message}");

        // PEM input works the same.
        let pem = ::pem::encode(&::pem::Pem::new("X509 CRL", crl));
        assert!(revocation(&cert, pem.as_bytes())?.is_some());
        Ok(())
    }

    #[test]
    fn crl_of_another_ca_and_stale_crl_are_reported() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        let other = Ca::new("Other CA")?;
        let impostor = Ca::new("Tenant CA")?;
        let key = new_key()?;
        let cert = issue(&Spec::new(CertKind::Tls), &ca, &key, "c.pem")?;

        let mut options = options_with_ca(&ca);
        options.crl = Some((
            other.crl(&[(4242, None)], now() + Duration::days(7))?,
            "o.crl".into(),
        ));
        let findings = diagnose(&cert, &key, &options)?;
        // The other CA's list says nothing about this certificate: not "revoked".
        assert_eq!(codes(&findings), ["crl_not_from_ca"]);
        assert!(find(&findings, "crl_not_from_ca")
            .message
            .contains("CN=Other CA"));

        options.crl = Some((
            impostor.crl(&[], now() + Duration::days(7))?,
            "i.crl".into(),
        ));
        let findings = diagnose(&cert, &key, &options)?;
        assert_eq!(codes(&findings), ["crl_not_from_ca"]);
        assert!(!crl_signed_by(
            &options.crl.as_ref().ok_or("crl")?.0,
            &ca.cert
        )?);

        // Without --ca, a CRL of another issuer is still spotted.
        let mut no_ca = CheckOptions::new(now());
        no_ca.crl = Some((other.crl(&[], now() + Duration::days(7))?, "o.crl".into()));
        assert_eq!(codes(&diagnose(&cert, &key, &no_ca)?), ["crl_not_from_ca"]);

        options.crl = Some((ca.crl(&[], now() - Duration::days(1))?, "old.crl".into()));
        let findings = diagnose(&cert, &key, &options)?;
        assert_eq!(codes(&findings), ["crl_stale"]);
        assert_eq!(find(&findings, "crl_stale").severity, Severity::Warning);
        Ok(())
    }

    #[test]
    fn wrong_key_usages_for_the_kind_are_errors() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        let key = new_key()?;
        let options = options_with_ca(&ca);

        let mut spec = Spec::new(CertKind::Tls);
        spec.ekus = Some(vec![ExtendedKeyUsagePurpose::ServerAuth]);
        let findings = diagnose(&issue(&spec, &ca, &key, "c.pem")?, &key, &options)?;
        assert_eq!(codes(&findings), ["wrong_key_usage"]);
        let message = &find(&findings, "wrong_key_usage").message;
        assert!(
            message.contains("clientAuth") && message.contains("serverAuth"),
            "{message}"
        );

        let mut spec = Spec::new(CertKind::Tls);
        spec.key_usages = Some(vec![KeyUsagePurpose::KeyEncipherment]);
        let findings = diagnose(&issue(&spec, &ca, &key, "c.pem")?, &key, &options)?;
        assert_eq!(codes(&findings), ["wrong_key_usage"]);
        assert!(find(&findings, "wrong_key_usage")
            .message
            .contains("digitalSignature"));

        let mut spec = Spec::new(CertKind::Wss);
        spec.key_usages = Some(vec![KeyUsagePurpose::DigitalSignature]);
        let findings = diagnose(&issue(&spec, &ca, &key, "c.pem")?, &key, &options)?;
        assert_eq!(codes(&findings), ["wrong_key_usage"]);
        assert!(find(&findings, "wrong_key_usage")
            .message
            .contains("nonRepudiation"));

        let mut spec = Spec::new(CertKind::Wss);
        spec.is_ca = true;
        let findings = diagnose(&issue(&spec, &ca, &key, "c.pem")?, &key, &options)?;
        assert_eq!(codes(&findings), ["is_ca"]);
        assert_eq!(find(&findings, "is_ca").severity, Severity::Warning);
        Ok(())
    }

    #[test]
    fn findings_are_sorted_worst_first_in_desk_order() -> TestResult {
        let ca = Ca::new("Tenant CA")?;
        let key = new_key()?;
        let mut spec = Spec::new(CertKind::Tls);
        spec.not_after = now() + Duration::days(2);
        spec.ekus = Some(vec![]);
        let cert = issue(&spec, &ca, &key, "c.pem")?;
        let mut options = options_with_ca(&ca);
        options.crl = Some((ca.crl(&[], now() - Duration::days(1))?, "old.crl".into()));
        let findings = diagnose(&cert, &new_key()?, &options)?;
        let all: Vec<_> = findings.iter().map(|f| f.code).collect();
        assert_eq!(
            all,
            [
                "key_mismatch",
                "wrong_key_usage",
                "expiring_soon",
                "crl_stale"
            ]
        );
        assert_eq!(count(&findings, Severity::Warning), 2);
        Ok(())
    }

    #[test]
    fn crl_files_are_recognised_and_wrong_files_named() -> TestResult {
        let dir = tempfile::tempdir()?;
        let ca = Ca::new("Tenant CA")?;
        let crl = ca.crl(&[], now() + Duration::days(7))?;
        let pem_path = dir.path().join("ca.crl.pem");
        std::fs::write(
            &pem_path,
            ::pem::encode(&::pem::Pem::new("X509 CRL", crl.clone())),
        )?;
        assert_eq!(load_crl(&pem_path)?, crl);
        let der_path = dir.path().join("ca.crl");
        std::fs::write(&der_path, &crl)?;
        assert_eq!(load_crl(&der_path)?, crl);

        let cert_path = dir.path().join("ca.pem");
        std::fs::write(&cert_path, ca.cert.to_pem())?;
        let message = load_crl(&cert_path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("ca.pem") && message.contains("CERTIFICATE"),
            "{message}"
        );
        let cert_der = dir.path().join("ca.der");
        std::fs::write(&cert_der, ca.cert.der())?;
        let message = load_crl(&cert_der)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("is a certificate"), "{message}");
        Ok(())
    }
}
