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
    BadFileName { name: String, reason: String },
    /// F012 803: the package lacks a file.
    #[error("package {package}: {reason}")]
    MissingFile { package: String, reason: String },
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

    pub(crate) fn invalid(field: &'static str, value: &str, rule: impl Into<String>) -> FundError {
        FundError::Invalid {
            field,
            value: value.to_owned(),
            rule: rule.into(),
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
