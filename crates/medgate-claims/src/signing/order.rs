//! The signatures of one register taken in their fixed order, one at a time or as a set.

use medgate_pki::cms;
use medgate_pki::gost::{self, SystemOpenssl};

use crate::workflow::{Role, SIGNING_ORDER};

use super::*;

/// The signatures of one register as they arrive, one at a time, in order.
pub struct SignatureProgress<'a> {
    signers: &'a Signers,
    register: &'a [u8],
    accepted: Vec<VerifiedSignature>,
}

impl<'a> SignatureProgress<'a> {
    /// No signature yet over `register_zip`.
    pub fn new(signers: &'a Signers, register_zip: &'a [u8]) -> SignatureProgress<'a> {
        SignatureProgress {
            signers,
            register: bytes_to_sign(register_zip),
            accepted: Vec::new(),
        }
    }

    /// The signer whose signature comes next, or `None` once all three have signed.
    pub fn next_role(&self) -> Option<Role> {
        SIGNING_ORDER.get(self.accepted.len()).copied()
    }

    /// The signatures accepted so far, in order.
    pub fn accepted(&self) -> &[VerifiedSignature] {
        &self.accepted
    }

    pub fn is_complete(&self) -> bool {
        self.accepted.len() == SIGNING_ORDER.len()
    }

    /// Takes `signature` (DER, BER or PEM) as `role`'s: refused unless it is that role's turn,
    /// the signature is made with the certificate registered for that role over this
    /// register's bytes, verifies, and was not made before the previous one.
    pub fn accept(
        &mut self,
        role: Role,
        signature: &[u8],
    ) -> Result<&VerifiedSignature, SignatureRefusal> {
        let position = self.accepted.len() + 1;
        let Some(expected) = self.next_role() else {
            return Err(SignatureRefusal::Complete);
        };
        let Some(registered) = self.signers.signer(role) else {
            return Err(SignatureRefusal::Unreadable {
                position,
                reason: format!("{role} does not sign registers"),
            });
        };
        if role != expected {
            return Err(if role.signing_position() < expected.signing_position() {
                SignatureRefusal::AlreadySigned {
                    position,
                    role,
                    expected,
                }
            } else {
                SignatureRefusal::OutOfOrder {
                    position,
                    role,
                    expected,
                    signer: registered.describe(),
                }
            });
        }
        let verified = self.check(position, registered, signature)?;
        self.accepted.push(verified);
        Ok(&self.accepted[self.accepted.len() - 1])
    }

    fn check(
        &self,
        position: usize,
        registered: &SignerCertificate,
        signature: &[u8],
    ) -> Result<VerifiedSignature, SignatureRefusal> {
        let role = registered.role;
        let unreadable = |reason: String| SignatureRefusal::Unreadable { position, reason };
        // Whose is it? Only the SignerInfo and its embedded certificate are read here.
        let reports = cms::verify_detached(signature, self.register, &[])
            .map_err(|e| unreadable(e.to_string()))?;
        let report = match reports.as_slice() {
            [report] => report,
            several => {
                return Err(unreadable(format!(
                    "it holds {} signers; each of the three signs their own signature file",
                    several.len()
                )))
            }
        };
        let Some(certificate) = &report.certificate else {
            return Err(unreadable(format!(
                "it does not carry its signer's certificate ({})",
                report.subject
            )));
        };
        let used = format!("{}, serial {}", report.subject, report.serial_hex);
        match self.signers.holder_of(certificate) {
            Some(holder) if holder.role == role => {}
            Some(holder) => {
                return Err(
                    if holder.role.signing_position() > role.signing_position() {
                        SignatureRefusal::OutOfOrder {
                            position,
                            role: holder.role,
                            expected: role,
                            signer: holder.describe(),
                        }
                    } else {
                        SignatureRefusal::WrongUser {
                            position,
                            expected: role,
                            expected_signer: registered.describe(),
                            signed_by: holder.role,
                            signer: holder.describe(),
                        }
                    },
                )
            }
            None => {
                return Err(SignatureRefusal::OtherCertificate {
                    position,
                    expected: role,
                    registered: registered.describe(),
                    used,
                })
            }
        }
        // Over these bytes?
        if !cms::covers_content(signature, self.register).map_err(|e| unreadable(e.to_string()))? {
            return Err(SignatureRefusal::OtherBytes { position, role });
        }
        if registered.is_gost() {
            if let Err(e) = SystemOpenssl::locate() {
                return Err(SignatureRefusal::GostUnavailable {
                    position,
                    reason: e.to_string(),
                });
            }
        }
        if !report.signature_ok {
            return Err(SignatureRefusal::Invalid {
                position,
                role,
                reason: report
                    .problem
                    .clone()
                    .unwrap_or_else(|| "its signature does not match its certificate".to_owned()),
            });
        }
        if let Some(signed_at) = report.signing_time {
            let not_before = certificate.summary().map(|summary| summary.not_before).ok();
            let outside = not_before.is_some_and(|not_before| signed_at < not_before)
                || signed_at > registered.not_after;
            if outside {
                return Err(SignatureRefusal::CertificateNotValid {
                    position,
                    role,
                    signed_at,
                });
            }
        }
        if let (Some(signed_at), Some(previous_at)) = (
            report.signing_time,
            self.accepted
                .last()
                .and_then(|previous| previous.signing_time),
        ) {
            if signed_at < previous_at {
                return Err(SignatureRefusal::SignedBeforePrevious {
                    position,
                    role,
                    signed_at,
                    previous_at,
                });
            }
        }
        let algorithm = certificate
            .summary()
            .map(|summary| summary.key_description)
            .unwrap_or_default();
        let algorithm = if registered.is_gost() {
            match gost::key_size(certificate) {
                Some(gost::GostKeySize::Bits512) => "GOST R 34.10-2012 512".to_owned(),
                _ => "GOST R 34.10-2012 256".to_owned(),
            }
        } else {
            algorithm
        };
        Ok(VerifiedSignature {
            position,
            role,
            login: registered.login.clone(),
            subject: registered.subject.clone(),
            serial_hex: registered.serial_hex.clone(),
            signing_time: report.signing_time,
            algorithm,
        })
    }
}

/// Checks a complete set of signatures over `register_zip`: signature 1 the executor's, 2 the
/// chief accountant's, 3 the head's, as [`SignatureProgress::accept`] takes them.
pub fn verify_in_order(
    signers: &Signers,
    register_zip: &[u8],
    signatures: &[Vec<u8>],
) -> Result<Vec<VerifiedSignature>, SignatureRefusal> {
    if signatures.len() > SIGNING_ORDER.len() {
        return Err(SignatureRefusal::TooMany {
            count: signatures.len(),
        });
    }
    let mut progress = SignatureProgress::new(signers, register_zip);
    for (signature, role) in signatures.iter().zip(SIGNING_ORDER) {
        progress.accept(role, signature)?;
    }
    if let Some(role) = progress.next_role() {
        return Err(SignatureRefusal::Missing { role });
    }
    Ok(progress.accepted)
}
