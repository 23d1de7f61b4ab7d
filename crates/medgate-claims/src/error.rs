//! `ClaimsError`: why a package, a catalogue or a dictionary could not be read at all. The
//! findings of the control itself are not errors but `Finding`s of the protocol.

use std::path::PathBuf;

/// A failure that stops the reading of a package, catalogue or dictionary.
#[derive(Debug, thiserror::Error)]
pub enum ClaimsError {
    /// F012 801: the package is not a ZIP archive.
    #[error("{name} is not a ZIP archive ({reason})")]
    NotZip { name: String, reason: String },
    /// F012 802: a name does not follow the federal order.
    #[error("{name:?} is not a register file name of the federal order: {reason}")]
    BadFileName {
        name: String,
        reason: String,
        reason_ru: String,
    },
    /// F012 803: the package lacks a file.
    #[error("package {package}: {reason}")]
    MissingFile {
        package: String,
        reason: String,
        reason_ru: String,
    },
    #[error("{0} is not a reporting period (YYYY-MM, month 01–12)")]
    InvalidPeriod(String),
    #[error("{file}: the text cannot be decoded: {reason}")]
    Encoding { file: String, reason: String },
    #[error("{file}: malformed XML near byte {position}: {reason}")]
    Xml {
        file: String,
        position: u64,
        reason: String,
    },
    #[error("{file}: {reason}")]
    Catalogue { file: String, reason: String },
    #[error("{file}: {reason}")]
    Dictionary { file: String, reason: String },
    /// A list of paid case keys that cannot be read.
    #[error("{file}: {reason}")]
    PaidKeys { file: String, reason: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: the ZIP archive cannot be read: {reason}")]
    Zip { file: String, reason: String },
    /// A correction made at the node that the package refuses (see `correct`).
    #[error("{file}: {refusal}")]
    Correction {
        file: String,
        refusal: crate::correct::CorrectionRefusal,
    },
    /// A document (invoice, registers, MEK act) that cannot be made from a package.
    #[error("{file}: {reason}")]
    Document { file: String, reason: String },
}

impl ClaimsError {
    /// The F012 package-level code of this failure, where there is one.
    pub fn f012_code(&self) -> Option<u16> {
        match self {
            ClaimsError::NotZip { .. } | ClaimsError::Zip { .. } => Some(801),
            ClaimsError::BadFileName { .. } => Some(802),
            ClaimsError::MissingFile { .. } => Some(803),
            ClaimsError::Encoding { .. } | ClaimsError::Xml { .. } => Some(804),
            _ => None,
        }
    }

    /// The refusal of a package (F012 801–804) in Russian, as the `V` protocol's `COMMENT`
    /// and the Russian pages show it; `None` for a failure that is no package refusal. The
    /// technical words of a library (a ZIP or XML reader's) are left out: the sentence says
    /// what is wrong in the package.
    pub fn package_russian(&self) -> Option<String> {
        Some(match self {
            ClaimsError::NotZip { name, .. } => format!(
                "Файл {name} не является ZIP-архивом; пакет реестра должен быть ZIP-архивом с \
                 основным файлом и файлом персональных данных."
            ),
            ClaimsError::Zip { file, .. } => {
                format!("ZIP-архив {file} повреждён: его содержимое не читается.")
            }
            ClaimsError::BadFileName {
                name, reason_ru, ..
            } => format!(
                "«{name}» не является именем файла реестра по федеральному порядку: {reason_ru}."
            ),
            ClaimsError::MissingFile {
                package, reason_ru, ..
            } => format!("Пакет {package}: {reason_ru}."),
            ClaimsError::Encoding { file, .. } => format!(
                "Файл {file}: текст не удаётся прочитать в кодировке, объявленной в заголовке \
                 XML (ожидается windows-1251)."
            ),
            ClaimsError::Xml { file, position, .. } => {
                format!("Файл {file}: XML построен неверно (около байта {position}).")
            }
            _ => return None,
        })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> ClaimsError {
        ClaimsError::Io {
            path: path.into(),
            source,
        }
    }
}

/// A refusal of the fund's service (its operator's registry, the logins, the uploads): one
/// variant per rule, with a stable [`FundError::code`]; a store failure keeps its cause out
/// of the message (`source()` only).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FundError {
    /// A value that breaks its rule: the field, the value as given and the rule.
    #[error("{field} {value:?} is not valid: {rule}")]
    Invalid {
        field: &'static str,
        value: String,
        rule: String,
        /// The rule in Russian, where the domain has it (else the page shows `rule`).
        rule_ru: Option<String>,
    },
    #[error("{what} {id} is registered already")]
    AlreadyRegistered { what: &'static str, id: String },
    #[error("there is no {what} {id}")]
    NotRegistered { what: &'static str, id: String },
    #[error("the reporting period {period} is not open for packages")]
    PeriodClosed { period: String },
    #[error("this one-time link was opened already (at {at}); ask the fund for a new one")]
    LinkSpent { at: String },
    #[error("this one-time link has expired unopened; ask the fund for a new one")]
    LinkExpired,
    #[error("there is no such one-time link")]
    LinkUnknown,
    #[error("the current password is wrong")]
    WrongPassword,
    /// A client certificate that opens nothing here (unknown, revoked or expired).
    #[error("the client certificate {serial} is not usable at this fund: {reason}")]
    CertificateRefused { serial: String, reason: String },
    #[error("the store failed to {operation}")]
    Storage {
        operation: &'static str,
        #[source]
        source: medgate_storage::MetadataError,
    },
    #[error("internal error: {what}")]
    Internal { what: &'static str },
}

impl FundError {
    /// The stable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            FundError::Invalid { .. } => "invalid_input",
            FundError::AlreadyRegistered { .. } => "already_registered",
            FundError::NotRegistered { .. } => "not_registered",
            FundError::PeriodClosed { .. } => "period_closed",
            FundError::LinkSpent { .. } => "link_spent",
            FundError::LinkExpired => "link_expired",
            FundError::LinkUnknown => "link_unknown",
            FundError::WrongPassword => "wrong_password",
            FundError::CertificateRefused { .. } => "certificate_refused",
            FundError::Storage { .. } => "storage_error",
            FundError::Internal { .. } => "internal_error",
        }
    }

    /// [`FundError::Invalid`] with its rule in English and Russian.
    pub(crate) fn invalid_ru(
        field: &'static str,
        value: &str,
        rule: impl Into<String>,
        rule_ru: impl Into<String>,
    ) -> FundError {
        FundError::Invalid {
            field,
            value: value.to_owned(),
            rule: rule.into(),
            rule_ru: Some(rule_ru.into()),
        }
    }

    /// The refusal in Russian, for the Russian pages (the English is its `Display`).
    pub fn russian(&self) -> String {
        match self {
            FundError::Invalid {
                field,
                value,
                rule,
                rule_ru,
            } => format!(
                "{} «{value}» не подходит: {}",
                field_ru(field),
                rule_ru.as_deref().unwrap_or(rule)
            ),
            FundError::AlreadyRegistered { what, id } => {
                format!("{} {id} уже зарегистрирован(а)", what_ru(what))
            }
            FundError::NotRegistered { what, id } => {
                format!("{} {id} не зарегистрирован(а)", what_ru(what))
            }
            FundError::PeriodClosed { period } => {
                format!("отчётный период {period} закрыт для приёма пакетов")
            }
            FundError::LinkSpent { at } => {
                format!("эта одноразовая ссылка уже открыта ({at}); запросите в фонде новую")
            }
            FundError::LinkExpired => {
                "срок одноразовой ссылки истёк; запросите в фонде новую".to_owned()
            }
            FundError::LinkUnknown => "такой одноразовой ссылки нет".to_owned(),
            FundError::WrongPassword => "текущий пароль неверен".to_owned(),
            FundError::CertificateRefused { serial, reason } => {
                format!("клиентский сертификат {serial} не действует в этом фонде: {reason}")
            }
            FundError::Storage { .. } | FundError::Internal { .. } => {
                "внутренняя ошибка хранилища".to_owned()
            }
        }
    }

    pub(crate) fn storage(
        operation: &'static str,
    ) -> impl FnOnce(medgate_storage::MetadataError) -> FundError {
        move |source| FundError::Storage { operation, source }
    }

    pub(crate) fn refused(
        operation: &'static str,
    ) -> impl FnOnce(medgate_storage::ClaimsStoreError) -> FundError {
        use medgate_storage::ClaimsStoreError as E;
        move |error| match error {
            E::Exists { what, id } => FundError::AlreadyRegistered { what, id },
            E::NotFound { what, id } => FundError::NotRegistered { what, id },
            E::PeriodClosed { period } => FundError::PeriodClosed { period },
            E::Metadata(source) => FundError::Storage { operation, source },
            _ => FundError::Internal {
                what: "an unknown refusal of the store",
            },
        }
    }
}

/// A field's name in Russian (the English one when there is none).
fn field_ru(field: &str) -> &str {
    match field {
        "role" => "роль",
        "MO code" => "код МО",
        "SMO code" => "код СМО",
        "subdivision code" | "subdivision" => "код подразделения",
        "period" => "период",
        "MO name" | "SMO name" | "subdivision name" | "name" => "наименование",
        "new password" => "новый пароль",
        "file name" => "имя файла",
        "package" => "пакет",
        "paid case keys file" => "файл ключей оплаченных случаев",
        "days" => "срок действия (дней)",
        "serial" => "серийный номер",
        "reason" => "причина",
        other => other,
    }
}

/// What is (not) registered, in Russian.
fn what_ru(what: &str) -> &str {
    match what {
        "medical organisation" => "медицинская организация",
        "insurer" => "СМО",
        "subdivision" => "подразделение",
        "reporting period" | "period" => "отчётный период",
        "login" => "логин",
        "certificate" => "сертификат",
        "document" => "документ",
        "register" => "реестр",
        "package" => "пакет",
        "package with FLK errors" => "пакет с ошибками ФЛК",
        "correction of package" => "исправление пакета",
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fund_refusals_read_in_both_languages() {
        let bad = crate::fund::parse_mo_code("14001").unwrap_err();
        assert_eq!(
            bad.to_string(),
            "MO code \"14001\" is not valid: must be 6 digits (the federal code)"
        );
        assert_eq!(
            bad.russian(),
            "код МО «14001» не подходит: нужно 6 цифр (федеральный код)"
        );
        let missing = FundError::NotRegistered {
            what: "medical organisation",
            id: "149999".to_owned(),
        };
        assert_eq!(
            missing.russian(),
            "медицинская организация 149999 не зарегистрирован(а)"
        );
        // A rule without its Russian keeps the English rule after the Russian field.
        let english_only = FundError::Invalid {
            field: "file name",
            value: String::new(),
            rule: "must be a file's name".to_owned(),
            rule_ru: None,
        };
        assert_eq!(
            english_only.russian(),
            "имя файла «» не подходит: must be a file's name"
        );
    }
}
