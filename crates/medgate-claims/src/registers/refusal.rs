//! Why something asked of a register is refused, in English ([`std::fmt::Display`]) and in
//! Russian ([`RegisterError::russian`]): the workflow's and the signatures' own sentences, and
//! those of forming and of the certificates.

use std::fmt;

use crate::error::FundError;
use crate::signing::{CertificateProblem, SignatureRefusal};
use crate::workflow::{Refusal, Role};

/// A refusal of the registers' service.
#[derive(Debug)]
pub enum RegisterError {
    /// The workflow does not allow it (wrong role, wrong state, comment missing).
    Workflow(Refusal),
    /// The uploaded signature is refused (out of order, wrong user, another certificate,
    /// other bytes, unreadable…).
    Signature(SignatureRefusal),
    /// The certificate cannot be registered or used (the reason in both languages).
    Certificate(CertificateProblem),
    /// Signing needs the three signers' certificates; these roles have none yet.
    MissingCertificates(Vec<Role>),
    /// The login does not form registers or register certificates (a reviewer, say).
    NotAllowed { what: &'static str },
    /// No accepted case of the period is left to form a register from.
    NothingToForm { period: String },
    /// The register was moved by someone else meanwhile; the page is to be read again.
    Conflict,
    /// The register is not signed yet: there is no signed package.
    NotSigned,
    /// The service's own refusals and failures (not found, storage, …).
    Fund(FundError),
}

impl From<FundError> for RegisterError {
    fn from(error: FundError) -> RegisterError {
        RegisterError::Fund(error)
    }
}

fn roles(roles: &[Role], russian: bool) -> String {
    roles
        .iter()
        .map(|role| {
            if russian {
                role.russian()
            } else {
                role.english()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::Workflow(refusal) => write!(f, "{refusal}"),
            RegisterError::Signature(refusal) => write!(f, "{refusal}"),
            RegisterError::Certificate(reason) => {
                write!(f, "the certificate is not registered: {reason}")
            }
            RegisterError::MissingCertificates(missing) => write!(
                f,
                "the register cannot be signed yet: no certificate is registered for {}; each \
                 signer uploads theirs under Administration → Electronic signature",
                roles(missing, false)
            ),
            RegisterError::NotAllowed { what } => {
                write!(f, "this login cannot {what}; the MO's executor can")
            }
            RegisterError::NothingToForm { period } => write!(
                f,
                "there is no accepted case of {period} left to form a register from: every \
                 accepted package of the period is in a register already, or none was accepted"
            ),
            RegisterError::Conflict => f.write_str(
                "the register was changed by someone else meanwhile; open it again to see its state",
            ),
            RegisterError::NotSigned => f.write_str(
                "the register is not signed by all three signers yet; its signed package follows the third signature",
            ),
            RegisterError::Fund(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for RegisterError {}

impl RegisterError {
    /// The same sentence in Russian.
    pub fn russian(&self) -> String {
        match self {
            RegisterError::Workflow(refusal) => refusal.russian(),
            RegisterError::Signature(refusal) => refusal.russian(),
            RegisterError::Certificate(problem) => {
                format!("Сертификат не принят. {}", problem.russian())
            }
            RegisterError::MissingCertificates(missing) => format!(
                "Реестр пока нельзя подписать: не загружен сертификат ({}). Каждый подписант \
                 загружает свой в разделе «Администрирование → Электронная подпись».",
                roles(missing, true)
            ),
            RegisterError::NotAllowed { .. } => {
                "Это действие доступно только исполнителю МО.".to_owned()
            }
            RegisterError::NothingToForm { period } => format!(
                "За период {period} не осталось принятых случаев для формирования реестра: все \
                 принятые пакеты периода уже в реестрах или принятых пакетов нет."
            ),
            RegisterError::Conflict => {
                "Реестр тем временем изменил другой пользователь; откройте его снова.".to_owned()
            }
            RegisterError::NotSigned => {
                "Реестр ещё не подписан всеми тремя подписантами; подписанный пакет будет доступен после третьей подписи.".to_owned()
            }
            RegisterError::Fund(error) => error.russian(),
        }
    }

    /// The sentence in the page's language.
    pub fn in_language(&self, russian: bool) -> String {
        if russian {
            self.russian()
        } else {
            self.to_string()
        }
    }
}
