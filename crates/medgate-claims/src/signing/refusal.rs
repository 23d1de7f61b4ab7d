//! What a checked signature is, and why one is refused (each sentence in English and Russian).

use std::fmt;

use time::OffsetDateTime;

use crate::workflow::Role;

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
