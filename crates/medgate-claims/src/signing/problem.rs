//! Why a signer's certificate cannot be used, in English ([`std::fmt::Display`]) and in
//! Russian ([`CertificateProblem::russian`]): the refusals of the upload under «Электронная
//! подпись», of the three signers' set, and of the check against the CAs the fund trusts.

use std::fmt;

use time::OffsetDateTime;

use crate::workflow::Role;

/// What a file that should be a certificate holds instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotACertificate {
    /// A certificate request (CSR), not yet signed by a CA.
    Request,
    /// A private key.
    PrivateKey,
    /// Nothing, or something else than PEM or DER X.509.
    Other,
}

/// One reason a signer's certificate is refused; `file` names the uploaded file, `subject`
/// the certificate's holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateProblem {
    /// The role does not sign registers.
    NotASigner { role: Role },
    /// An MO login's suffix says another role.
    LoginOfAnotherRole {
        login: String,
        login_role: Role,
        role: Role,
    },
    /// The file holds no certificate (`reason`: the reader's own words, English).
    NotACertificate {
        file: String,
        holds: NotACertificate,
        reason: String,
    },
    /// The file holds more than one certificate.
    Several { file: String, count: usize },
    NotYetValid {
        file: String,
        subject: String,
        not_before: OffsetDateTime,
    },
    Expired {
        file: String,
        subject: String,
        not_after: OffsetDateTime,
    },
    /// A CA's certificate, not an end user's.
    CaCertificate { file: String, subject: String },
    /// The key usage allows no signature.
    NoSignatureUsage { file: String, subject: String },
    /// In the signers' set: a certificate in another role's place.
    WrongPlace {
        signer: String,
        registered: Role,
        given: Role,
    },
    /// In the signers' set: one certificate for two roles.
    Shared {
        subject: String,
        serial_hex: String,
        first: Role,
        second: Role,
    },
    /// Not issued by any CA the fund installed for signers (`issuer`: the certificate's).
    Untrusted {
        file: String,
        subject: String,
        issuer: String,
    },
    /// Issued by an installed CA whose own validity does not cover `at`.
    CaNotValid {
        file: String,
        ca: String,
        at: OffsetDateTime,
    },
    /// Listed on the CRL of its CA.
    Revoked {
        file: String,
        subject: String,
        serial_hex: String,
        revoked_at: OffsetDateTime,
    },
    /// The CA check could not be made (a GOST chain on a machine without the engine, say).
    Unchecked { file: String, reason: String },
}

fn date(at: &OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    )
}

impl fmt::Display for CertificateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertificateProblem::NotASigner { role } => write!(
                f,
                "{role} does not sign registers; the signers are the executor, the chief \
                 accountant and the head"
            ),
            CertificateProblem::LoginOfAnotherRole {
                login,
                login_role,
                role,
            } => write!(
                f,
                "login {login} is {login_role}'s (its suffix), not {role}'s"
            ),
            CertificateProblem::NotACertificate { reason, .. } => f.write_str(reason),
            CertificateProblem::Several { file, count } => write!(
                f,
                "{file}: holds {count} certificates; upload the signer's own certificate alone \
                 (.cer)"
            ),
            CertificateProblem::NotYetValid {
                file,
                subject,
                not_before,
            } => write!(
                f,
                "{file}: the certificate of {subject} is valid only from {not_before}"
            ),
            CertificateProblem::Expired {
                file,
                subject,
                not_after,
            } => write!(
                f,
                "{file}: the certificate of {subject} expired on {not_after}"
            ),
            CertificateProblem::CaCertificate { file, subject } => {
                write!(f, "{file}: is a CA certificate ({subject}), not a signer's")
            }
            CertificateProblem::NoSignatureUsage { file, subject } => write!(
                f,
                "{file}: the certificate of {subject} does not allow signatures (its key usage \
                 lacks digitalSignature and nonRepudiation)"
            ),
            CertificateProblem::WrongPlace {
                signer,
                registered,
                given,
            } => write!(
                f,
                "{signer} is registered as {registered}, given as {given}"
            ),
            CertificateProblem::Shared {
                subject,
                serial_hex,
                first,
                second,
            } => write!(
                f,
                "one certificate ({subject}, serial {serial_hex}) is registered for both {first} \
                 and {second}; each signer has their own"
            ),
            CertificateProblem::Untrusted {
                file,
                subject,
                issuer,
            } => write!(
                f,
                "{file}: the certificate of {subject} is not issued by a CA this fund trusts for \
                 signers (its issuer: {issuer}); a certificate from an accredited CA installed \
                 on the node is needed"
            ),
            CertificateProblem::CaNotValid { file, ca, at } => write!(
                f,
                "{file}: the certificate's CA ({ca}) is not valid on {}",
                date(at)
            ),
            CertificateProblem::Revoked {
                file,
                subject,
                serial_hex,
                revoked_at,
            } => write!(
                f,
                "{file}: the certificate of {subject} (serial {serial_hex}) is revoked: its CA's \
                 revocation list lists it since {}",
                date(revoked_at)
            ),
            CertificateProblem::Unchecked { file, reason } => write!(
                f,
                "{file}: the certificate cannot be checked against the CAs this fund trusts: \
                 {reason}"
            ),
        }
    }
}

impl std::error::Error for CertificateProblem {}

impl CertificateProblem {
    /// The same sentence in Russian, for the pages of the fund's system (the certificate's
    /// subject and the file's name stay as they are).
    pub fn russian(&self) -> String {
        match self {
            CertificateProblem::NotASigner { role } => format!(
                "Роль «{}» не подписывает реестры; подписывают исполнитель, главный бухгалтер и \
                 руководитель.",
                role.russian()
            ),
            CertificateProblem::LoginOfAnotherRole {
                login,
                login_role,
                role,
            } => format!(
                "Логин {login} по своему окончанию относится к роли «{}», а не «{}».",
                login_role.russian(),
                role.russian()
            ),
            CertificateProblem::NotACertificate { file, holds, .. } => match holds {
                NotACertificate::Request => format!(
                    "Файл {file} — запрос на сертификат (CSR), а не сертификат; сначала \
                     получите по нему сертификат в удостоверяющем центре."
                ),
                NotACertificate::PrivateKey => format!(
                    "Файл {file} — закрытый ключ, а не сертификат. Закрытый ключ не покидает \
                     компьютер подписанта; загрузите сертификат (.cer)."
                ),
                NotACertificate::Other => format!(
                    "Файл {file} не является сертификатом: ожидается сертификат X.509 в \
                     формате DER или PEM (.cer)."
                ),
            },
            CertificateProblem::Several { file, count } => format!(
                "Файл {file} содержит сертификатов: {count}; загрузите только собственный \
                 сертификат подписанта (.cer)."
            ),
            CertificateProblem::NotYetValid {
                file,
                subject,
                not_before,
            } => format!(
                "Файл {file}: сертификат {subject} начинает действовать только с {}.",
                date(not_before)
            ),
            CertificateProblem::Expired {
                file,
                subject,
                not_after,
            } => format!(
                "Файл {file}: срок действия сертификата {subject} истёк {}.",
                date(not_after)
            ),
            CertificateProblem::CaCertificate { file, subject } => format!(
                "Файл {file}: это сертификат удостоверяющего центра ({subject}), а не \
                 подписанта."
            ),
            CertificateProblem::NoSignatureUsage { file, subject } => format!(
                "Файл {file}: сертификат {subject} не предназначен для подписи (в его \
                 назначении ключа нет digitalSignature и nonRepudiation)."
            ),
            CertificateProblem::WrongPlace {
                signer,
                registered,
                given,
            } => format!(
                "{signer} зарегистрирован для роли «{}», а указан для роли «{}».",
                registered.russian(),
                given.russian()
            ),
            CertificateProblem::Shared {
                subject,
                serial_hex,
                first,
                second,
            } => format!(
                "Один сертификат ({subject}, серийный номер {serial_hex}) загружен и для роли \
                 «{}», и для роли «{}»; у каждого подписанта свой сертификат.",
                first.russian(),
                second.russian()
            ),
            CertificateProblem::Untrusted {
                file,
                subject,
                issuer,
            } => format!(
                "Файл {file}: сертификат {subject} выдан не удостоверяющим центром, которому \
                 доверяет фонд (издатель: {issuer}); нужен сертификат аккредитованного УЦ, \
                 установленного на узле."
            ),
            CertificateProblem::CaNotValid { file, ca, at } => format!(
                "Файл {file}: сертификат удостоверяющего центра ({ca}) не действует на {}.",
                date(at)
            ),
            CertificateProblem::Revoked {
                file,
                subject,
                serial_hex,
                revoked_at,
            } => format!(
                "Файл {file}: сертификат {subject} (серийный номер {serial_hex}) отозван: он в \
                 списке отзыва своего УЦ с {}.",
                date(revoked_at)
            ),
            CertificateProblem::Unchecked { file, .. } => format!(
                "Файл {file}: сертификат не удаётся проверить по удостоверяющим центрам, \
                 которым доверяет фонд (для ГОСТ-сертификатов нужен модуль ГОСТ системного \
                 OpenSSL)."
            ),
        }
    }
}
