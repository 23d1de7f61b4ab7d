//! The CAs the fund trusts for its signers' certificates (`<data>/claims/signer-ca/`): real
//! funds accept only certificates of accredited CAs. The fund's operator installs each CA's
//! certificate (DER or PEM; RSA, ECDSA or GOST R 34.10-2012) and, optionally, its CRLs
//! (`medgate claims signer-ca add|list|remove`). With at least one CA installed, a signer's
//! certificate is accepted (at its upload and at each signature) only when it is issued by an
//! installed CA valid at that moment and no installed CRL of that CA lists it; with none
//! installed, certificates are not checked against a CA on this node (the page says so).
//!
//! RSA and ECDSA chains are checked in process ([`check::issued_by`]); a GOST certificate's
//! chain through the system OpenSSL's GOST engine at run time ([`SystemOpenssl::verify_chain`]).
//! A CRL is installed only when an installed CA signed it ([`check::crl_signed_by`]), so the
//! lookups later ([`check::revocation`]) read only CRLs the fund's CAs issued.

use std::path::{Path, PathBuf};

use medgate_pki::check;
use medgate_pki::gost::{self, SystemOpenssl};
use medgate_pki::{certificates_from_bytes, Certificate};
use time::OffsetDateTime;

use super::problem::CertificateProblem;
use super::SigningError;

/// The folder under the node's data folder.
pub const SIGNER_CA_FOLDER: &str = "claims/signer-ca";

/// One installed file: a CA's certificate or a CRL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Installed {
    Ca {
        /// The file's name in the folder (`ca-<fingerprint>.pem`), which `remove` takes.
        file: String,
        subject: String,
        serial_hex: String,
        not_after: OffsetDateTime,
        gost: bool,
    },
    Crl {
        /// `crl-<fingerprint>.crl`.
        file: String,
        /// The subject of the installed CA that signed it.
        issuer: String,
    },
}

impl Installed {
    pub fn file(&self) -> &str {
        match self {
            Installed::Ca { file, .. } | Installed::Crl { file, .. } => file,
        }
    }
}

/// The CAs and CRLs installed on the node, read from its data folder.
#[derive(Clone, Debug, Default)]
pub struct SignerTrust {
    cas: Vec<Certificate>,
    crls: Vec<Vec<u8>>,
}

fn folder(data: &Path) -> PathBuf {
    data.join(SIGNER_CA_FOLDER)
}

fn trouble(what: &str, path: &Path, error: impl std::fmt::Display) -> SigningError {
    SigningError::Trust(format!("{what} {}: {error}", path.display()))
}

fn fingerprint(der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    hex::encode(&digest.as_ref()[..8])
}

impl SignerTrust {
    /// Reads `<data>/claims/signer-ca/` (no folder: nothing installed).
    pub fn load(data: &Path) -> Result<SignerTrust, SigningError> {
        let mut trust = SignerTrust::default();
        for (path, bytes) in files(data)? {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("ca-") {
                let mut certificates = certificates_from_bytes(bytes, &path)
                    .map_err(|e| trouble("reading the installed CA", &path, e))?;
                trust.cas.append(&mut certificates);
            } else if name.starts_with("crl-") {
                trust.crls.push(bytes);
            }
        }
        Ok(trust)
    }

    /// True when no CA is installed: certificates are not checked against a CA here.
    pub fn is_empty(&self) -> bool {
        self.cas.is_empty()
    }

    /// The number of CAs installed.
    pub fn cas(&self) -> usize {
        self.cas.len()
    }

    /// Checks a signer's certificate (from the file `file`) at `at` against the installed
    /// CAs and CRLs; nothing installed: nothing to check.
    pub fn check(
        &self,
        certificate: &Certificate,
        file: &str,
        at: OffsetDateTime,
    ) -> Result<(), CertificateProblem> {
        if self.cas.is_empty() {
            return Ok(());
        }
        let summary = certificate
            .summary()
            .map_err(|e| CertificateProblem::Unchecked {
                file: file.to_owned(),
                reason: e.to_string(),
            })?;
        let untrusted = || CertificateProblem::Untrusted {
            file: file.to_owned(),
            subject: summary.subject.clone(),
            issuer: summary.issuer.clone(),
        };
        let ca = if gost::is_gost_certificate(certificate) {
            let openssl = SystemOpenssl::locate().map_err(|e| CertificateProblem::Unchecked {
                file: file.to_owned(),
                reason: e.to_string(),
            })?;
            let issuers: Vec<Certificate> = self
                .cas
                .iter()
                .filter(|ca| ca.summary().is_ok_and(|ca| ca.subject == summary.issuer))
                .cloned()
                .collect();
            if issuers.is_empty() {
                return Err(untrusted());
            }
            // OpenSSL checks the CA's validity too; at `at` inside the certificate's (checked
            // at its registration), a failure here is a chain that does not hold.
            openssl
                .verify_chain(certificate, &[], &issuers, at)
                .map_err(|_| untrusted())?;
            issuers.into_iter().next().ok_or_else(untrusted)?
        } else {
            self.cas
                .iter()
                .find(|ca| check::issued_by(certificate, ca))
                .cloned()
                .ok_or_else(untrusted)?
        };
        let ca_summary = ca.summary().map_err(|e| CertificateProblem::Unchecked {
            file: file.to_owned(),
            reason: e.to_string(),
        })?;
        if at < ca_summary.not_before || at > ca_summary.not_after {
            return Err(CertificateProblem::CaNotValid {
                file: file.to_owned(),
                ca: ca_summary.subject,
                at,
            });
        }
        for crl in &self.crls {
            // `revocation` reads only a CRL of the certificate's own issuer.
            if let Ok(Some(revoked)) = check::revocation(certificate, crl) {
                return Err(CertificateProblem::Revoked {
                    file: file.to_owned(),
                    subject: summary.subject.clone(),
                    serial_hex: summary.serial_hex.clone(),
                    revoked_at: revoked.date,
                });
            }
        }
        Ok(())
    }
}

/// The folder's files with their bytes, by name.
fn files(data: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, SigningError> {
    let folder = folder(data);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(trouble("reading", &folder, error)),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("ca-") || n.starts_with("crl-"))
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).map_err(|e| trouble("reading", &path, e))?;
            Ok((path, bytes))
        })
        .collect()
}

/// What is installed, CAs first.
pub fn installed(data: &Path) -> Result<Vec<Installed>, SigningError> {
    let trust = SignerTrust::load(data)?;
    let mut out = Vec::new();
    let mut crls = Vec::new();
    for (path, bytes) in files(data)? {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if file.starts_with("ca-") {
            let certificates = certificates_from_bytes(bytes, &path)
                .map_err(|e| trouble("reading the installed CA", &path, e))?;
            for certificate in certificates {
                out.push(ca_entry(&file, &certificate)?);
            }
        } else {
            let issuer = trust
                .cas
                .iter()
                .find(|ca| check::crl_signed_by(&bytes, ca).unwrap_or(false))
                .and_then(|ca| ca.summary().ok())
                .map(|ca| ca.subject)
                .unwrap_or_else(|| "(its CA is not installed)".to_owned());
            crls.push(Installed::Crl { file, issuer });
        }
    }
    out.append(&mut crls);
    Ok(out)
}

fn ca_entry(file: &str, certificate: &Certificate) -> Result<Installed, SigningError> {
    let summary = certificate
        .summary()
        .map_err(|e| SigningError::Trust(e.to_string()))?;
    Ok(Installed::Ca {
        file: file.to_owned(),
        subject: summary.subject,
        serial_hex: summary.serial_hex,
        not_after: summary.not_after,
        gost: gost::is_gost_certificate(certificate),
    })
}

/// Installs the file `source`: CA certificates (DER or PEM, one or a bundle; each a CA's) or
/// a CRL (DER or PEM) signed by an installed CA. Answers what was installed; a file already
/// installed is refused.
pub fn install(data: &Path, source: &Path) -> Result<Vec<Installed>, SigningError> {
    let bytes = std::fs::read(source).map_err(|e| trouble("reading", source, e))?;
    let refuse = |why: String| SigningError::Trust(format!("{}: {why}", source.display()));
    let folder = folder(data);
    std::fs::create_dir_all(&folder).map_err(|e| trouble("creating", &folder, e))?;
    let write = |name: &str, contents: &[u8]| -> Result<(), SigningError> {
        let path = folder.join(name);
        if path.exists() {
            return Err(refuse(format!("is installed already (as {name})")));
        }
        let part = folder.join(format!("{name}.part"));
        std::fs::write(&part, contents).map_err(|e| trouble("writing", &part, e))?;
        std::fs::rename(&part, &path).map_err(|e| trouble("writing", &path, e))
    };
    match certificates_from_bytes(bytes.clone(), source) {
        Ok(certificates) => {
            for certificate in &certificates {
                let summary = certificate.summary().map_err(|e| refuse(e.to_string()))?;
                if !summary.is_ca {
                    return Err(refuse(format!(
                        "{} is not a CA's certificate (its basic constraints do not say CA); \
                         install the CA that issues the signers' certificates",
                        summary.subject
                    )));
                }
            }
            let mut out = Vec::new();
            for certificate in &certificates {
                let name = format!("ca-{}.pem", fingerprint(certificate.der()));
                write(&name, certificate.to_pem().as_bytes())?;
                out.push(ca_entry(&name, certificate)?);
            }
            Ok(out)
        }
        Err(not_certificate) => {
            let der = check::crl_der(source, &bytes).map_err(|_| {
                refuse(format!(
                    "is neither a CA certificate nor a CRL ({not_certificate})"
                ))
            })?;
            let trust = SignerTrust::load(data)?;
            // A GOST CA's signature is checked by the system OpenSSL's GOST engine.
            let mut openssl = None;
            let mut signed_by = |ca: &Certificate| -> Result<bool, SigningError> {
                if !gost::is_gost_certificate(ca) {
                    return Ok(check::crl_signed_by(&der, ca).unwrap_or(false));
                }
                if openssl.is_none() {
                    openssl = Some(SystemOpenssl::locate().map_err(|e| {
                        refuse(format!(
                            "may be signed by a GOST CA, which only the system OpenSSL's GOST \
                             engine checks: {e}"
                        ))
                    })?);
                }
                Ok(openssl
                    .as_ref()
                    .is_some_and(|openssl| openssl.crl_signed_by(&der, ca).unwrap_or(false)))
            };
            // The CAs checked in process first, so a missing engine stops only a CRL that
            // none of them signed.
            let mut cas: Vec<&Certificate> = trust.cas.iter().collect();
            cas.sort_by_key(|ca| gost::is_gost_certificate(ca));
            let mut issuer = None;
            for ca in cas {
                if signed_by(ca)? {
                    issuer = Some(ca);
                    break;
                }
            }
            let issuer = issuer.ok_or_else(|| {
                refuse("is a CRL signed by no installed CA; install its CA first".to_owned())
            })?;
            let issuer = issuer.summary().map_err(|e| refuse(e.to_string()))?.subject;
            let name = format!("crl-{}.crl", fingerprint(&der));
            write(&name, &der)?;
            Ok(vec![Installed::Crl { file: name, issuer }])
        }
    }
}

/// Removes an installed CA or CRL: `name` is the installed file's name (as `installed`
/// lists it) or the path of the file that was installed.
pub fn remove(data: &Path, name: &str) -> Result<Installed, SigningError> {
    let all = installed(data)?;
    let wanted = match all.iter().any(|entry| entry.file() == name) {
        true => name.to_owned(),
        false => installed_name(Path::new(name)).unwrap_or_default(),
    };
    let entry = all
        .into_iter()
        .find(|entry| entry.file() == wanted)
        .ok_or_else(|| {
            SigningError::Trust(format!(
                "{name} is not installed (`medgate claims signer-ca list` names the files)"
            ))
        })?;
    let path = folder(data).join(&wanted);
    std::fs::remove_file(&path).map_err(|e| trouble("removing", &path, e))?;
    Ok(entry)
}

/// The name a CA certificate (the first of the file) or a CRL file is installed under.
fn installed_name(source: &Path) -> Option<String> {
    let bytes = std::fs::read(source).ok()?;
    match certificates_from_bytes(bytes.clone(), source) {
        Ok(certificates) => certificates
            .first()
            .map(|certificate| format!("ca-{}.pem", fingerprint(certificate.der()))),
        Err(_) => check::crl_der(source, &bytes)
            .ok()
            .map(|der| format!("crl-{}.crl", fingerprint(&der))),
    }
}
