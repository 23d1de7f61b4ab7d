//! The MO's three signatures over a register: the signers' certificates (`.cer`, DER or PEM)
//! registered to their users, the signing itself (on the signer's machine: the private key
//! never leaves it), and the check of the signatures in their fixed order executor → chief
//! accountant → head (seed 004, items 12–14), each refusal with its own sentence.
//!
//! **What is signed.** The register package's bytes exactly as they are: the `.zip` the MO
//! formed (`HM…`/`CM…`/`TM…`/`D?M…`), not a digest of its contents nor a canonical form of
//! its XML. The bytes are what is stored and sent, so any reader, `openssl cms -verify
//! -binary -content HM….zip` included, checks a signature without knowing our formats, and a
//! single changed byte in the archive breaks every signature.
//!
//! **What a signature is.** A detached CMS SignedData (DER) with exactly one signer, its
//! certificate embedded, signed attributes contentType, signingTime and messageDigest
//! ([`medgate_pki::cms`]); RSA and ECDSA with SHA-256 in process, GOST R 34.10-2012 with
//! Streebog through the system OpenSSL's GOST engine at run time ([`medgate_pki::gost`]). The
//! three signers each make their own file, so each is checked independently, by us and by
//! OpenSSL.
//!
//! **What the order means.** Signature 1 is the executor's, 2 the chief accountant's, 3 the
//! head's, each made with the certificate registered for that user. [`SignatureProgress`]
//! takes them one at a time, as the signers upload them, and refuses: a signature out of
//! order (a later signer before an earlier one, or a signing time before the previous
//! signature's), by the wrong user (another registered signer's certificate), with another
//! certificate (not the one registered for the user), or over other bytes than the register.
//! [`verify_in_order`] runs the same checks over a complete set.
//!
//! **The signed package.** A ZIP holding the register (`<name>.zip`) and `<name>.1.sig`,
//! `<name>.2.sig`, `<name>.3.sig` ([`write_signed_package`], [`read_signed_package`]).

use std::fmt;
use std::io::{Cursor, Read, Write};
use std::path::Path;

use medgate_pki::cms;
use medgate_pki::gost::{self, SystemOpenssl};
use medgate_pki::{certificates_from_bytes, Certificate, Password, PrivateKey};
use time::OffsetDateTime;

use crate::names::RegisterFileName;
use crate::workflow::{Role, SIGNING_ORDER};

/// Why a certificate, a key or a signed package cannot be used (the signature checks
/// themselves answer a [`SignatureRefusal`]).
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("{0}")]
    Certificate(String),
    #[error("{0}")]
    Signing(String),
    #[error("{0}")]
    Package(String),
}

/// A signer's certificate registered to a user (the `.cer` uploaded under the user on the
/// "Электронная подпись" tab).
#[derive(Clone, Debug)]
pub struct SignerCertificate {
    login: String,
    role: Role,
    certificate: Certificate,
    subject: String,
    serial_hex: String,
    not_after: OffsetDateTime,
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
        let bad = |problem: String| SigningError::Certificate(problem);
        if role.signing_position().is_none() {
            return Err(bad(format!(
                "{role} does not sign registers; the signers are the executor, the chief \
                 accountant and the head"
            )));
        }
        if let Some(login_role) = Role::of_mo_login(login) {
            if login_role != role {
                return Err(bad(format!(
                    "login {login} is {login_role}'s (its suffix), not {role}'s"
                )));
            }
        }
        let certificates =
            certificates_from_bytes(bytes, source).map_err(|e| bad(e.to_string()))?;
        let [certificate] = <[Certificate; 1]>::try_from(certificates).map_err(|all| {
            bad(format!(
                "{}: holds {} certificates; upload the signer's own certificate alone (.cer)",
                source.display(),
                all.len()
            ))
        })?;
        let summary = certificate.summary().map_err(|e| bad(e.to_string()))?;
        if at < summary.not_before {
            return Err(bad(format!(
                "{}: the certificate of {} is valid only from {}",
                source.display(),
                summary.subject,
                summary.not_before
            )));
        }
        if at > summary.not_after {
            return Err(bad(format!(
                "{}: the certificate of {} expired on {}",
                source.display(),
                summary.subject,
                summary.not_after
            )));
        }
        if summary.is_ca {
            return Err(bad(format!(
                "{}: is a CA certificate ({}), not a signer's",
                source.display(),
                summary.subject
            )));
        }
        let usages = &summary.usages;
        if usages.has_key_usage && !usages.digital_signature && !usages.non_repudiation {
            return Err(bad(format!(
                "{}: the certificate of {} does not allow signatures (its key usage lacks \
                 digitalSignature and nonRepudiation)",
                source.display(),
                summary.subject
            )));
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
    fn describe(&self) -> String {
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
                return Err(SigningError::Certificate(format!(
                    "{} is registered as {}, given as {role}",
                    signer.describe(),
                    signer.role
                )));
            }
        }
        for (i, first) in in_order.iter().enumerate() {
            for second in &in_order[i + 1..] {
                if first.certificate.der() == second.certificate.der() {
                    return Err(SigningError::Certificate(format!(
                        "one certificate ({}, serial {}) is registered for both {} and {}; \
                         each signer has their own",
                        first.subject, first.serial_hex, first.role, second.role
                    )));
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
    fn holder_of(&self, certificate: &Certificate) -> Option<&SignerCertificate> {
        self.in_order
            .iter()
            .find(|signer| signer.certificate.der() == certificate.der())
    }
}

/// The bytes a signer signs: the register package's bytes as they are (see the module's
/// documentation for why).
pub fn bytes_to_sign(register_zip: &[u8]) -> &[u8] {
    register_zip
}

/// Checks that `bytes` are a register package named `name`: a ZIP whose name is a register's.
pub fn check_register(name: &str, bytes: &[u8]) -> Result<RegisterFileName, SigningError> {
    let parsed = RegisterFileName::parse(name).map_err(|e| {
        SigningError::Package(format!("{e}; a signed register keeps its federal name"))
    })?;
    if !name.ends_with(".zip") || !bytes.starts_with(b"PK\x03\x04") {
        return Err(SigningError::Package(format!(
            "{name} is not a register package (a .zip archive); the MO signs the package it sends"
        )));
    }
    Ok(parsed)
}

/// The signer's private key, on the signer's machine.
pub enum SigningKey<'a> {
    /// An RSA or ECDSA key, loaded in process.
    InProcess(&'a PrivateKey),
    /// A GOST R 34.10-2012 key file (PEM, encrypted with `password` when given), used by the
    /// system OpenSSL's GOST engine.
    Gost {
        openssl: &'a SystemOpenssl,
        key: &'a Path,
        password: Option<&'a Password>,
    },
}

/// One signer's detached signature over the register's bytes (DER), made at `at`.
pub fn sign(
    register_zip: &[u8],
    certificate: &Certificate,
    key: SigningKey<'_>,
    at: OffsetDateTime,
) -> Result<Vec<u8>, SigningError> {
    let content = bytes_to_sign(register_zip);
    let signed = match key {
        SigningKey::InProcess(key) => {
            if gost::is_gost_certificate(certificate) {
                return Err(SigningError::Signing(format!(
                    "{} holds a GOST R 34.10-2012 key; sign with the GOST key file through the \
                     system OpenSSL's GOST engine",
                    certificate.source().display()
                )));
            }
            cms::sign_detached(content, certificate, key, at)
        }
        SigningKey::Gost {
            openssl,
            key,
            password,
        } => {
            if !gost::is_gost_certificate(certificate) {
                return Err(SigningError::Signing(format!(
                    "{} is not a GOST R 34.10-2012 certificate, and {} is used as a GOST key",
                    certificate.source().display(),
                    key.display()
                )));
            }
            cms::sign_detached_gost(openssl, content, certificate, key, password)
        }
    };
    signed.map_err(|e| SigningError::Signing(e.to_string()))
}

/// A signature that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// 1, 2 or 3.
    pub position: usize,
    pub role: Role,
    pub login: String,
    pub subject: String,
    pub serial_hex: String,
    /// The signer's signingTime attribute, when the signature has one.
    pub signing_time: Option<OffsetDateTime>,
    /// `GOST R 34.10-2012`, `RSA` or `ECDSA`, with the key's size.
    pub algorithm: String,
}

/// Why a signature is refused; each says which signature and whose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureRefusal {
    /// Not a detached CMS signature of one signer carrying its certificate.
    Unreadable { position: usize, reason: String },
    /// `role` signs while `expected` has not signed yet.
    OutOfOrder {
        position: usize,
        role: Role,
        expected: Role,
        signer: String,
    },
    /// The signature's signing time is before the previous signature's.
    SignedBeforePrevious {
        position: usize,
        role: Role,
        signed_at: OffsetDateTime,
        previous_at: OffsetDateTime,
    },
    /// Made with the certificate of another registered signer.
    WrongUser {
        position: usize,
        expected: Role,
        expected_signer: String,
        signed_by: Role,
        signer: String,
    },
    /// Made with a certificate registered for nobody.
    OtherCertificate {
        position: usize,
        expected: Role,
        registered: String,
        used: String,
    },
    /// Made over other bytes than this register.
    OtherBytes { position: usize, role: Role },
    /// The signing time is outside the certificate's validity.
    CertificateNotValid {
        position: usize,
        role: Role,
        signed_at: OffsetDateTime,
    },
    /// The signature does not verify with its certificate.
    Invalid {
        position: usize,
        role: Role,
        reason: String,
    },
    /// A GOST signature on a machine without the engine.
    GostUnavailable { position: usize, reason: String },
    /// `role` has signed already; signature `position` is `expected`'s.
    AlreadySigned {
        position: usize,
        role: Role,
        expected: Role,
    },
    /// All three have signed already.
    Complete,
    /// A complete set was expected and this signer's signature is missing.
    Missing { role: Role },
    /// More than three signatures.
    TooMany { count: usize },
}

impl fmt::Display for SignatureRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureRefusal::Unreadable { position, reason } => {
                write!(f, "signature {position} cannot be used: {reason}")
            }
            SignatureRefusal::OutOfOrder {
                position,
                role,
                expected,
                signer,
            } => write!(
                f,
                "signature {position} is out of order: it is {role}'s ({signer}), and {expected} \
                 signs first; the order is executor, chief accountant, head"
            ),
            SignatureRefusal::SignedBeforePrevious {
                position,
                role,
                signed_at,
                previous_at,
            } => write!(
                f,
                "signature {position} is out of order: {role} signed at {signed_at}, before \
                 signature {} was made at {previous_at}",
                position - 1
            ),
            SignatureRefusal::WrongUser {
                position,
                expected,
                expected_signer,
                signed_by,
                signer,
            } => write!(
                f,
                "signature {position} is by the wrong user: it was made with {signed_by}'s \
                 certificate ({signer}), and signature {position} is {expected}'s \
                 ({expected_signer})"
            ),
            SignatureRefusal::OtherCertificate {
                position,
                expected,
                registered,
                used,
            } => write!(
                f,
                "signature {position} was made with another certificate ({used}) than the one \
                 registered for {expected} ({registered})"
            ),
            SignatureRefusal::OtherBytes { position, role } => write!(
                f,
                "signature {position} ({role}'s) was made over other bytes than this register: \
                 its message digest does not match the package"
            ),
            SignatureRefusal::Invalid {
                position,
                role,
                reason,
            } => write!(
                f,
                "signature {position} ({role}'s) does not verify: {reason}"
            ),
            SignatureRefusal::CertificateNotValid {
                position,
                role,
                signed_at,
            } => write!(
                f,
                "signature {position} ({role}'s) says it was made at {signed_at}, when its \
                 certificate was not valid"
            ),
            SignatureRefusal::GostUnavailable { position, reason } => write!(
                f,
                "signature {position} is a GOST R 34.10-2012 signature and cannot be checked on \
                 this machine: {reason}"
            ),
            SignatureRefusal::AlreadySigned {
                position,
                role,
                expected,
            } => write!(
                f,
                "{role} has already signed (signature {}); signature {position} is {expected}'s",
                role.signing_position().unwrap_or(0)
            ),
            SignatureRefusal::Complete => f.write_str(
                "the register already carries its three signatures (executor, chief accountant, \
                 head)",
            ),
            SignatureRefusal::Missing { role } => write!(
                f,
                "{role}'s signature (number {}) is missing; a register carries three",
                role.signing_position().unwrap_or(0)
            ),
            SignatureRefusal::TooMany { count } => write!(
                f,
                "{count} signatures given; a register carries three (executor, chief accountant, \
                 head)"
            ),
        }
    }
}

impl std::error::Error for SignatureRefusal {}

impl SignatureRefusal {
    /// The refusal in Russian, for the pages of the fund's system (technical details — the
    /// certificate's subject, OpenSSL's words — stay as they are).
    pub fn russian(&self) -> String {
        match self {
            SignatureRefusal::Unreadable { position, reason } => {
                format!("Подпись {position} не может быть использована: {reason}.")
            }
            SignatureRefusal::OutOfOrder {
                position,
                role,
                expected,
                signer,
            } => format!(
                "Подпись {position} нарушает порядок: это подпись роли «{}» ({signer}), а первой \
                 подписывает роль «{}»; порядок: исполнитель, главный бухгалтер, руководитель.",
                role.russian(),
                expected.russian()
            ),
            SignatureRefusal::SignedBeforePrevious {
                position,
                role,
                signed_at,
                previous_at,
            } => format!(
                "Подпись {position} нарушает порядок: роль «{}» подписала в {signed_at}, раньше \
                 подписи {} ({previous_at}).",
                role.russian(),
                position - 1
            ),
            SignatureRefusal::WrongUser {
                position,
                expected,
                signed_by,
                signer,
                ..
            } => format!(
                "Подпись {position} поставлена не тем пользователем: она сделана сертификатом роли \
                 «{}» ({signer}), а подпись {position} — роли «{}».",
                signed_by.russian(),
                expected.russian()
            ),
            SignatureRefusal::OtherCertificate {
                position,
                expected,
                registered,
                used,
            } => format!(
                "Подпись {position} сделана другим сертификатом ({used}), не тем, что загружен \
                 для роли «{}» ({registered}).",
                expected.russian()
            ),
            SignatureRefusal::OtherBytes { position, role } => format!(
                "Подпись {position} (роль «{}») сделана не над этим реестром: хэш не совпадает \
                 с файлом реестра.",
                role.russian()
            ),
            SignatureRefusal::CertificateNotValid {
                position,
                role,
                signed_at,
            } => format!(
                "Подпись {position} (роль «{}») сделана в {signed_at}, когда её сертификат не \
                 действовал.",
                role.russian()
            ),
            SignatureRefusal::Invalid {
                position,
                role,
                reason,
            } => format!(
                "Подпись {position} (роль «{}») не проходит проверку: {reason}.",
                role.russian()
            ),
            SignatureRefusal::GostUnavailable { position, reason } => format!(
                "Подпись {position} сделана по ГОСТ Р 34.10-2012 и не может быть проверена на \
                 этом сервере: {reason}."
            ),
            SignatureRefusal::AlreadySigned {
                position,
                role,
                expected,
            } => format!(
                "Роль «{}» уже подписала реестр (подпись {}); подпись {position} — роли «{}».",
                role.russian(),
                role.signing_position().unwrap_or(0),
                expected.russian()
            ),
            SignatureRefusal::Complete => {
                "Реестр уже подписан всеми тремя подписями (исполнитель, главный бухгалтер, \
                 руководитель)."
                    .to_owned()
            }
            SignatureRefusal::Missing { role } => format!(
                "Нет подписи роли «{}» (подпись {}); реестр подписывают трое.",
                role.russian(),
                role.signing_position().unwrap_or(0)
            ),
            SignatureRefusal::TooMany { count } => format!(
                "Передано подписей: {count}; реестр подписывают трое (исполнитель, главный \
                 бухгалтер, руководитель)."
            ),
        }
    }
}

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

/// A register with its three signatures, as the signed package carries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPackage {
    /// The register's file name, `HM…_25011.zip`.
    pub register_name: String,
    pub register: Vec<u8>,
    /// Signatures 1, 2 and 3 (DER).
    pub signatures: Vec<Vec<u8>>,
}

/// `HM…_25011.zip` → `HM…_25011.2.sig`.
pub fn signature_name(register_name: &str, position: usize) -> String {
    let stem = register_name.strip_suffix(".zip").unwrap_or(register_name);
    format!("{stem}.{position}.sig")
}

/// The signed package (a ZIP): the register and its three signatures, stored uncompressed
/// (the register is a ZIP already, signatures do not compress).
pub fn write_signed_package(package: &SignedPackage) -> Result<Vec<u8>, SigningError> {
    check_register(&package.register_name, &package.register)?;
    if package.signatures.len() != SIGNING_ORDER.len() {
        return Err(SigningError::Package(format!(
            "a signed package holds three signatures, {} given",
            package.signatures.len()
        )));
    }
    let failed =
        |e: &dyn fmt::Display| SigningError::Package(format!("writing the signed package: {e}"));
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut entries = vec![(package.register_name.clone(), &package.register)];
    for (index, signature) in package.signatures.iter().enumerate() {
        entries.push((signature_name(&package.register_name, index + 1), signature));
    }
    for (name, bytes) in entries {
        writer.start_file(name, options).map_err(|e| failed(&e))?;
        writer.write_all(bytes).map_err(|e| failed(&e))?;
    }
    let cursor = writer.finish().map_err(|e| failed(&e))?;
    Ok(cursor.into_inner())
}

/// Reads a signed package: exactly one register (`.zip`) and its `.1.sig`, `.2.sig`,
/// `.3.sig`; anything missing or extra is named. `name` names the package in errors.
pub fn read_signed_package(name: &str, bytes: &[u8]) -> Result<SignedPackage, SigningError> {
    let bad = |problem: String| SigningError::Package(format!("{name}: {problem}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a ZIP archive ({e})")))?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| bad(format!("entry {} cannot be read ({e})", index + 1)))?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry.name().to_owned();
        if entry_name.contains('/') || entry_name.contains('\\') {
            return Err(bad(format!(
                "{entry_name:?} is in a folder; a signed package is flat: the register and its \
                 three .sig files"
            )));
        }
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|e| bad(format!("{entry_name} cannot be read ({e})")))?;
        files.push((entry_name, content));
    }
    let registers: Vec<&(String, Vec<u8>)> = files
        .iter()
        .filter(|(entry, _)| entry.ends_with(".zip"))
        .collect();
    let (register_name, register) = match registers.as_slice() {
        [(entry, content)] => (entry.clone(), content.clone()),
        [] => return Err(bad("holds no register (.zip)".to_owned())),
        several => {
            return Err(bad(format!(
                "holds {} registers; a signed package holds one",
                several.len()
            )))
        }
    };
    check_register(&register_name, &register).map_err(|e| bad(e.to_string()))?;
    let mut signatures = Vec::new();
    for position in 1..=SIGNING_ORDER.len() {
        let wanted = signature_name(&register_name, position);
        let Some((_, content)) = files.iter().find(|(entry, _)| *entry == wanted) else {
            return Err(bad(format!(
                "{wanted} ({}'s signature) is missing",
                SIGNING_ORDER[position - 1]
            )));
        };
        signatures.push(content.clone());
    }
    if let Some((extra, _)) = files.iter().find(|(entry, _)| {
        *entry != register_name
            && !(1..=SIGNING_ORDER.len()).any(|p| *entry == signature_name(&register_name, p))
    }) {
        return Err(bad(format!(
            "{extra} is not part of a signed package (the register and its three .sig files)"
        )));
    }
    Ok(SignedPackage {
        register_name,
        register,
        signatures,
    })
}
