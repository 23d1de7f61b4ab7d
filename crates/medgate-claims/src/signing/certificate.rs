//! The signers' certificates: a `.cer` registered to a login and its role, and the three
//! signers of a register in their order.

use std::path::Path;

use medgate_pki::gost::{self};
use medgate_pki::{certificates_from_bytes, Certificate};
use time::OffsetDateTime;

use crate::workflow::{Role, SIGNING_ORDER};

use super::problem::{CertificateProblem, NotACertificate};
use super::*;

/// A signer's certificate registered to a user (the `.cer` uploaded under the user on the
/// "Электронная подпись" tab).
#[derive(Clone, Debug)]
pub struct SignerCertificate {
    pub(super) login: String,
    pub(super) role: Role,
    pub(super) certificate: Certificate,
    pub(super) subject: String,
    pub(super) serial_hex: String,
    pub(super) not_after: OffsetDateTime,
}

impl SignerCertificate {
    /// Registers the certificate in `bytes` (DER or PEM; `source` names it in errors) for the
    /// user `login` with `role`, checked at `at`: the role is one of the three signers', an MO
    /// login's suffix (`_1`, `_2`, `_3`) agrees with it, the file holds one certificate, valid
    /// at `at`, meant for signatures (its key usage, when it has one, allows them).
    pub fn register(
        login: &str,
        role: Role,
        bytes: Vec<u8>,
        source: &Path,
        at: OffsetDateTime,
    ) -> Result<SignerCertificate, SigningError> {
        let bad = SigningError::Certificate;
        let file = source.display().to_string();
        if role.signing_position().is_none() {
            return Err(bad(CertificateProblem::NotASigner { role }));
        }
        if let Some(login_role) = Role::of_mo_login(login) {
            if login_role != role {
                return Err(bad(CertificateProblem::LoginOfAnotherRole {
                    login: login.to_owned(),
                    login_role,
                    role,
                }));
            }
        }
        let not_a_certificate = |bytes: &[u8], reason: String| {
            let text = String::from_utf8_lossy(bytes);
            let holds = if text.contains("CERTIFICATE REQUEST") {
                NotACertificate::Request
            } else if text.contains("PRIVATE KEY-----") {
                NotACertificate::PrivateKey
            } else {
                NotACertificate::Other
            };
            bad(CertificateProblem::NotACertificate {
                file: file.clone(),
                holds,
                reason,
            })
        };
        let certificates = certificates_from_bytes(bytes.clone(), source)
            .map_err(|e| not_a_certificate(&bytes, e.to_string()))?;
        let [certificate] = <[Certificate; 1]>::try_from(certificates).map_err(|all| {
            bad(CertificateProblem::Several {
                file: file.clone(),
                count: all.len(),
            })
        })?;
        let summary = certificate
            .summary()
            .map_err(|e| not_a_certificate(&bytes, e.to_string()))?;
        if at < summary.not_before {
            return Err(bad(CertificateProblem::NotYetValid {
                file,
                subject: summary.subject,
                not_before: summary.not_before,
            }));
        }
        if at > summary.not_after {
            return Err(bad(CertificateProblem::Expired {
                file,
                subject: summary.subject,
                not_after: summary.not_after,
            }));
        }
        if summary.is_ca {
            return Err(bad(CertificateProblem::CaCertificate {
                file,
                subject: summary.subject,
            }));
        }
        let usages = &summary.usages;
        if usages.has_key_usage && !usages.digital_signature && !usages.non_repudiation {
            return Err(bad(CertificateProblem::NoSignatureUsage {
                file,
                subject: summary.subject,
            }));
        }
        Ok(SignerCertificate {
            login: login.to_owned(),
            role,
            subject: summary.subject,
            serial_hex: summary.serial_hex,
            not_after: summary.not_after,
            certificate,
        })
    }

    pub fn login(&self) -> &str {
        &self.login
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// True for a GOST R 34.10 key (its signatures need the system OpenSSL's engine).
    pub fn is_gost(&self) -> bool {
        gost::is_gost_certificate(&self.certificate)
    }

    /// `M140001_1, CN=…, serial 1A`: how refusals name this signer.
    pub(super) fn describe(&self) -> String {
        format!(
            "{}, {}, serial {}",
            self.login, self.subject, self.serial_hex
        )
    }
}

/// The MO's three registered signers, in signing order.
#[derive(Clone, Debug)]
pub struct Signers {
    in_order: [SignerCertificate; 3],
}

impl Signers {
    /// The executor's, the chief accountant's and the head's certificates; refused when a
    /// role is in the wrong place or one certificate is registered twice.
    pub fn new(
        executor: SignerCertificate,
        chief_accountant: SignerCertificate,
        head: SignerCertificate,
    ) -> Result<Signers, SigningError> {
        let in_order = [executor, chief_accountant, head];
        for (signer, role) in in_order.iter().zip(SIGNING_ORDER) {
            if signer.role != role {
                return Err(SigningError::Certificate(CertificateProblem::WrongPlace {
                    signer: signer.describe(),
                    registered: signer.role,
                    given: role,
                }));
            }
        }
        for (i, first) in in_order.iter().enumerate() {
            for second in &in_order[i + 1..] {
                if first.certificate.der() == second.certificate.der() {
                    return Err(SigningError::Certificate(CertificateProblem::Shared {
                        subject: first.subject.clone(),
                        serial_hex: first.serial_hex.clone(),
                        first: first.role,
                        second: second.role,
                    }));
                }
            }
        }
        Ok(Signers { in_order })
    }

    /// The signer of `role` (one of the three).
    pub fn signer(&self, role: Role) -> Option<&SignerCertificate> {
        self.in_order.iter().find(|signer| signer.role == role)
    }

    /// The signers in order.
    pub fn in_order(&self) -> &[SignerCertificate; 3] {
        &self.in_order
    }

    /// The registered signer whose certificate this is.
    pub(super) fn holder_of(&self, certificate: &Certificate) -> Option<&SignerCertificate> {
        self.in_order
            .iter()
            .find(|signer| signer.certificate.der() == certificate.der())
    }
}
