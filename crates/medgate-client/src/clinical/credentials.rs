//! The institution's credentials for the clinical record service: the certificate and key
//! the service's operator handed out as a PKCS#12 file, opened with its one-time code and
//! checked — before anything is kept — against the service's CA and the institution the
//! clinic says it is. The service writes the institution id as the certificate's common
//! name, `<institution id> clinical institution` (`medgate clinical certificate issue`).

use std::path::{Path, PathBuf};

use medgate_ids::InstitutionId;
use medgate_pki::cert::human_time;
use medgate_pki::keystore::{key_belongs_to, read_pkcs12, write_pkcs12, Pkcs12Options};
use medgate_pki::{certificates_from_bytes, Certificate, Password, PkiError, PrivateKey};
use time::OffsetDateTime;

/// The suffix of an institution certificate's common name after the institution id.
pub const COMMON_NAME_SUFFIX: &str = "clinical institution";

/// Why an institution's PKCS#12 file is refused. Each message is one sentence naming the
/// cause; none holds key material or the code.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// A file cannot be read.
    #[error("{path} cannot be read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    /// The service CA file holds no usable certificate.
    #[error("{path} does not hold the service's CA certificate: {reason}")]
    ServiceCaUnusable { path: PathBuf, reason: String },
    /// The file is not a PKCS#12 keystore.
    #[error("{path} is not a PKCS#12 (.p12/.pfx) file")]
    NotPkcs12 { path: PathBuf },
    /// The one-time code does not open the keystore.
    #[error("the one-time code does not open {path}: the code is wrong (or the file is damaged)")]
    WrongCode { path: PathBuf },
    /// The keystore opened but lacks the certificate or its key.
    #[error("{path} does not hold an institution certificate with its private key")]
    Incomplete { path: PathBuf },
    /// The key in the file is not the certificate's.
    #[error("the private key in {path} does not belong to its certificate")]
    KeyMismatch { path: PathBuf },
    /// The certificate was not issued by the service CA given.
    #[error(
        "the certificate in {path} (issued by {issuer}) was not issued by the service's CA in {ca_path}"
    )]
    NotIssuedByServiceCa {
        path: PathBuf,
        issuer: String,
        ca_path: PathBuf,
    },
    /// The certificate names no institution in the service's form.
    #[error(
        "the certificate in {path} is not an institution certificate of the clinical record service (its name is '{common_name}')"
    )]
    NotAnInstitutionCertificate { path: PathBuf, common_name: String },
    /// The certificate is another institution's.
    #[error(
        "the certificate in {path} belongs to institution {found}, not to institution {expected}"
    )]
    OtherInstitution {
        path: PathBuf,
        expected: InstitutionId,
        found: String,
    },
    /// The certificate's validity ended.
    #[error("the institution certificate {serial} expired on {not_after}; ask the service's operator for a new one")]
    Expired { serial: String, not_after: String },
    /// The certificate's validity has not begun.
    #[error("the institution certificate {serial} is valid only from {not_before}; check this computer's clock")]
    NotYetValid { serial: String, not_before: String },
    /// The keystore could not be written again (our side).
    #[error("the institution's keystore cannot be written: {0}")]
    Keystore(String),
}

/// An institution's certificate and key, checked: issued by the service CA, for the expected
/// institution, valid when opened. The key never leaves this value except re-encrypted
/// ([`InstitutionCredentials::to_pkcs12`]).
pub struct InstitutionCredentials {
    institution: InstitutionId,
    certificate: Certificate,
    key: PrivateKey,
    service_ca: Certificate,
    serial_hex: String,
    not_after: OffsetDateTime,
}

impl std::fmt::Debug for InstitutionCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstitutionCredentials")
            .field("institution", &self.institution)
            .field("serial_hex", &self.serial_hex)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

fn unreadable(path: &Path, error: std::io::Error) -> CredentialsError {
    CredentialsError::Unreadable {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

/// The service's CA certificate from PEM (or DER) bytes read from `path`.
pub fn service_ca_from_bytes(bytes: Vec<u8>, path: &Path) -> Result<Certificate, CredentialsError> {
    let unusable = |reason: String| CredentialsError::ServiceCaUnusable {
        path: path.to_path_buf(),
        reason,
    };
    let certificates = certificates_from_bytes(bytes, path).map_err(|e| unusable(e.to_string()))?;
    let first = certificates
        .into_iter()
        .next()
        .ok_or_else(|| unusable("no certificate in it".to_owned()))?;
    let summary = first.summary().map_err(|e| unusable(e.to_string()))?;
    if !summary.is_ca {
        return Err(unusable(format!(
            "'{}' is not a CA certificate",
            summary.subject
        )));
    }
    Ok(first)
}

impl InstitutionCredentials {
    /// Opens the PKCS#12 file at `p12_path` with `code` and checks it against the service CA
    /// certificate in `ca_path` and `expected`, at `now`.
    pub fn open_files(
        p12_path: &Path,
        code: &Password,
        ca_path: &Path,
        expected: &InstitutionId,
        now: OffsetDateTime,
    ) -> Result<Self, CredentialsError> {
        let ca_bytes = std::fs::read(ca_path).map_err(|e| unreadable(ca_path, e))?;
        let service_ca = service_ca_from_bytes(ca_bytes, ca_path)?;
        let p12 = std::fs::read(p12_path).map_err(|e| unreadable(p12_path, e))?;
        Self::open(&p12, p12_path, code, service_ca, ca_path, expected, now)
    }

    /// Opens PKCS#12 bytes (named `p12_path` in messages) with `code` and checks them
    /// against `service_ca` (named `ca_path`) and `expected`, at `now`: the code, the key,
    /// the issuer, the institution and the validity, in that order.
    pub fn open(
        p12: &[u8],
        p12_path: &Path,
        code: &Password,
        service_ca: Certificate,
        ca_path: &Path,
        expected: &InstitutionId,
        now: OffsetDateTime,
    ) -> Result<Self, CredentialsError> {
        let path = p12_path.to_path_buf();
        let contents = read_pkcs12(p12, p12_path, code).map_err(|error| match error {
            PkiError::WrongPassword { .. } | PkiError::PasswordRequired { .. } => {
                CredentialsError::WrongCode { path: path.clone() }
            }
            PkiError::BadFile { ref problem, .. } if problem.contains("not a PKCS#12") => {
                CredentialsError::NotPkcs12 { path: path.clone() }
            }
            other => CredentialsError::Unreadable {
                path: path.clone(),
                reason: other.to_string(),
            },
        })?;
        let (Some(key), Some(certificate)) = (contents.key, contents.certificate) else {
            return Err(CredentialsError::Incomplete { path });
        };
        if !key_belongs_to(&key, &certificate).unwrap_or(false) {
            return Err(CredentialsError::KeyMismatch { path });
        }
        let summary = certificate
            .summary()
            .map_err(|e| CredentialsError::Unreadable {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if !medgate_pki::check::issued_by(&certificate, &service_ca) {
            return Err(CredentialsError::NotIssuedByServiceCa {
                path,
                issuer: summary.issuer,
                ca_path: ca_path.to_path_buf(),
            });
        }
        let common_name = summary.common_name.clone().unwrap_or_default();
        let found = institution_of_common_name(&common_name).ok_or_else(|| {
            CredentialsError::NotAnInstitutionCertificate {
                path: path.clone(),
                common_name: common_name.clone(),
            }
        })?;
        if found != *expected {
            return Err(CredentialsError::OtherInstitution {
                path,
                expected: expected.clone(),
                found: found.to_string(),
            });
        }
        if now < summary.not_before {
            return Err(CredentialsError::NotYetValid {
                serial: summary.serial_hex,
                not_before: human_time(summary.not_before),
            });
        }
        if now > summary.not_after {
            return Err(CredentialsError::Expired {
                serial: summary.serial_hex,
                not_after: human_time(summary.not_after),
            });
        }
        Ok(InstitutionCredentials {
            institution: found,
            certificate,
            key,
            service_ca,
            serial_hex: summary.serial_hex,
            not_after: summary.not_after,
        })
    }

    /// The institution the certificate is for.
    pub fn institution(&self) -> &InstitutionId {
        &self.institution
    }

    /// The institution certificate (presented in TLS; its serial is the signatures' keyid).
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The service's CA certificate, the only one trusted for the service's TLS.
    pub fn service_ca(&self) -> &Certificate {
        &self.service_ca
    }

    /// The certificate's serial, upper-case hex: the keyid of every signature.
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    /// When the certificate expires.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    pub(crate) fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The certificate, its key and the service CA as a PKCS#12 keystore encrypted with
    /// `password` (AES-256, SHA-256 MAC): how a clinic keeps them once the one-time code
    /// has been used.
    pub fn to_pkcs12(&self, password: &Password) -> Result<Vec<u8>, CredentialsError> {
        write_pkcs12(
            &self.certificate,
            std::slice::from_ref(&self.service_ca),
            &self.key,
            password,
            &Pkcs12Options::default(),
        )
        .map_err(|e| CredentialsError::Keystore(e.to_string()))
    }
}

/// The institution id of a common name `<6 digits> clinical institution`.
pub fn institution_of_common_name(common_name: &str) -> Option<InstitutionId> {
    let (id, rest) = common_name.trim().split_once(' ')?;
    if rest.trim() != COMMON_NAME_SUFFIX {
        return None;
    }
    InstitutionId::parse(id).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use medgate_pki::ca::{CertificateAuthority, Validity};
    use medgate_pki::KeyAlgorithm;
    use time::Duration;

    const CODE: &str = "K7Q2-M9XD-4PLA";

    struct Service {
        _dir: tempdir::Dir,
        ca: CertificateAuthority,
        ca_path: PathBuf,
    }

    mod tempdir {
        /// A folder removed on drop (the crate has no dev-dependency for it).
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new(name: &str) -> Dir {
                let mut bytes = [0u8; 8];
                aws_lc_rs::rand::fill(&mut bytes).unwrap();
                let path = std::env::temp_dir()
                    .join(format!("medgate-clinical-{name}-{}", hex::encode(bytes)));
                std::fs::create_dir_all(&path).unwrap();
                Dir(path)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn new_service(name: &str) -> Service {
        let dir = tempdir::Dir::new(name);
        let ca = CertificateAuthority::init(
            &dir.0.join("ca"),
            "medgate clinical record service CA",
            KeyAlgorithm::EcdsaP256,
            Validity::days_from_now(3650).unwrap(),
            None,
        )
        .unwrap();
        let ca_path = dir.0.join("service-ca.pem");
        std::fs::write(&ca_path, ca.certificate().to_pem()).unwrap();
        Service {
            _dir: dir,
            ca,
            ca_path,
        }
    }

    fn p12(service: &Service, common_name: &str, validity: Validity) -> Vec<u8> {
        let (certificate, key) = service
            .ca
            .issue_client(common_name, KeyAlgorithm::EcdsaP256, validity)
            .unwrap();
        write_pkcs12(
            &certificate,
            std::slice::from_ref(service.ca.certificate()),
            &key,
            &Password::new(CODE),
            &Pkcs12Options::default(),
        )
        .unwrap()
    }

    fn open(
        service: &Service,
        bytes: &[u8],
        code: &str,
        expected: &str,
    ) -> Result<InstitutionCredentials, CredentialsError> {
        InstitutionCredentials::open(
            bytes,
            Path::new("506097.p12"),
            &Password::new(code),
            service.ca.certificate().clone(),
            &service.ca_path,
            &InstitutionId::parse(expected).unwrap(),
            OffsetDateTime::now_utc(),
        )
    }

    fn year() -> Validity {
        Validity::days_from_now(365).unwrap()
    }

    #[test]
    fn the_institutions_own_certificate_opens_with_its_code() {
        let service = new_service("good");
        let bytes = p12(&service, "506097 clinical institution", year());
        let credentials = open(&service, &bytes, CODE, "506097").unwrap();
        assert_eq!(credentials.institution().as_str(), "506097");
        assert!(!credentials.serial_hex().is_empty());
        // Kept under a new password, it opens again with the same checks.
        let again = credentials
            .to_pkcs12(&Password::new("another password"))
            .unwrap();
        let reopened = open(&service, &again, "another password", "506097").unwrap();
        assert_eq!(reopened.serial_hex(), credentials.serial_hex());
        assert!(!format!("{credentials:?}").contains("key"));
    }

    #[test]
    fn each_refusal_names_its_cause_without_the_code() {
        let service = new_service("refusals");
        let good = p12(&service, "506097 clinical institution", year());

        let wrong = open(&service, &good, "WRONG-CODE", "506097").unwrap_err();
        assert!(
            matches!(wrong, CredentialsError::WrongCode { .. }),
            "{wrong}"
        );
        assert!(!wrong.to_string().contains("WRONG-CODE"));
        assert!(!wrong.to_string().contains(CODE));

        let other = open(&service, &good, CODE, "111111").unwrap_err();
        assert!(
            matches!(other, CredentialsError::OtherInstitution { .. }),
            "{other}"
        );
        assert!(
            other
                .to_string()
                .contains("belongs to institution 506097, not to institution 111111"),
            "{other}"
        );

        let now = OffsetDateTime::now_utc();
        let expired = p12(
            &service,
            "506097 clinical institution",
            Validity::new(now - Duration::days(30), now - Duration::days(1)).unwrap(),
        );
        let error = open(&service, &expired, CODE, "506097").unwrap_err();
        assert!(matches!(error, CredentialsError::Expired { .. }), "{error}");
        assert!(error.to_string().contains("expired on"), "{error}");

        let future = p12(
            &service,
            "506097 clinical institution",
            Validity::new(now + Duration::days(2), now + Duration::days(30)).unwrap(),
        );
        let error = open(&service, &future, CODE, "506097").unwrap_err();
        assert!(
            matches!(error, CredentialsError::NotYetValid { .. }),
            "{error}"
        );

        let stranger = new_service("stranger");
        let foreign = p12(&stranger, "506097 clinical institution", year());
        let error = open(&service, &foreign, CODE, "506097").unwrap_err();
        assert!(
            matches!(error, CredentialsError::NotIssuedByServiceCa { .. }),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("was not issued by the service's CA"),
            "{error}"
        );

        let tenant = p12(&service, "0000000000005010 TLS", year());
        let error = open(&service, &tenant, CODE, "506097").unwrap_err();
        assert!(
            matches!(error, CredentialsError::NotAnInstitutionCertificate { .. }),
            "{error}"
        );

        let error = open(&service, b"not a keystore", CODE, "506097").unwrap_err();
        assert!(
            matches!(error, CredentialsError::NotPkcs12 { .. }),
            "{error}"
        );
    }

    #[test]
    fn the_service_ca_file_must_hold_a_ca() {
        let service = new_service("ca-file");
        let (leaf, _) = service
            .ca
            .issue_client(
                "506097 clinical institution",
                KeyAlgorithm::EcdsaP256,
                year(),
            )
            .unwrap();
        let error =
            service_ca_from_bytes(leaf.to_pem().into_bytes(), Path::new("leaf.pem")).unwrap_err();
        assert!(
            error.to_string().contains("is not a CA certificate"),
            "{error}"
        );
        assert!(service_ca_from_bytes(Vec::new(), Path::new("empty.pem")).is_err());
    }

    #[test]
    fn the_common_name_carries_the_institution() {
        assert_eq!(
            institution_of_common_name("506097 clinical institution").map(|i| i.to_string()),
            Some("506097".to_owned())
        );
        assert!(institution_of_common_name("50609 clinical institution").is_none());
        assert!(institution_of_common_name("506097 TLS").is_none());
    }
}
