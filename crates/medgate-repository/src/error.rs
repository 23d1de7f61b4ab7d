//! The repository's one error type. Each refusal says what the user needs to act on it —
//! which field broke which rule, what does not exist, what is in the way — with a stable
//! [`RepositoryError::code`] (the API's error codes) and a [`RepositoryError::kind`] a caller
//! maps to its own answer (an HTTP status, a page). Failures of the stores or the machine are
//! [`RepositoryError::Storage`] and [`RepositoryError::Internal`]: their message says only
//! what could not be done; the cause stays in `source()`, for the log.

use medgate_client::RegistryError;
use medgate_ids::TenantId;
use medgate_storage::{ConsentId, ConsentStatus, DocumentId};

use crate::organisation::FieldError;

/// What kind of refusal or failure an error is: what a caller maps to a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input breaks a rule (400).
    Invalid,
    /// The content is of a media type this operation does not take (415).
    UnsupportedMediaType,
    /// Nothing with that identifier exists for this account (404).
    NotFound,
    /// The thing exists but is in a state that does not allow the operation (409).
    Conflict,
    /// The account or the national registry does not allow it (403).
    Forbidden,
    /// The account's quota or file limit is reached (507).
    QuotaExceeded,
    /// The national registry did not answer usably (502).
    RegistryUnavailable,
    /// The national registry did not answer in time (504).
    RegistryTimeout,
    /// A failure of ours (500).
    Internal,
}

/// Which rule an [`RepositoryError::Invalid`] input broke; each is one stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Not an acceptable HL7 CDA R2 document, or one that cannot be found by patient.
    Cda,
    /// Not a media type.
    ContentType,
    /// Not a patient identifier.
    Patient,
    /// A search or query parameter out of its rules.
    Parameter,
    /// A required parameter is missing.
    MissingParameter,
    /// A document type code the account's catalogue does not have.
    DocumentType,
    /// The operation applies to CDA documents only.
    NotCda,
    /// A consent field.
    Consent,
    /// A consent names a document the account does not have.
    UnknownDocument,
    /// A consent names another patient's document.
    DocumentOfAnotherPatient,
    /// The body is not the expected JSON.
    Json,
    /// The provider OID is not an OID.
    ProviderOid,
    /// A certificate that cannot be read.
    Certificate,
    /// A certificate of the other kind (TLS for WSS or the reverse).
    CertificateKind,
    /// A certificate of another account.
    CertificateTenant,
    /// A certificate not issued by this repository's tenant CA.
    CertificateIssuer,
    /// A revoked certificate.
    CertificateRevoked,
    /// An expired certificate.
    CertificateExpired,
    /// A certificate not valid yet.
    CertificateNotYetValid,
    /// A certificate without the key usage its kind needs.
    KeyUsage,
    /// The TLS certificate sent is not the one presented on the connection.
    TlsCertificateMismatch,
    /// Neither certificate was given.
    NothingToUpdate,
    /// A local retention period out of range.
    KeepLocalDays,
    /// A PKCS#12 file that cannot be used.
    P12,
    /// The password does not open the PKCS#12 file.
    P12Password,
    /// A national certificate not issued by the registry's CA.
    RegistryIssuer,
}

impl Reason {
    /// The stable code of this rule, as the API answers it.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Cda => "invalid_cda",
            Reason::ContentType => "bad_content_type",
            Reason::Patient => "bad_patient",
            Reason::Parameter => "bad_parameter",
            Reason::MissingParameter => "missing_parameter",
            Reason::DocumentType => "unknown_document_type",
            Reason::NotCda => "not_cda",
            Reason::Consent => "bad_consent",
            Reason::UnknownDocument => "unknown_document",
            Reason::DocumentOfAnotherPatient => "document_of_another_patient",
            Reason::Json => "bad_json",
            Reason::ProviderOid => "bad_provider_oid",
            Reason::Certificate => "bad_certificate",
            Reason::CertificateKind => "wrong_certificate_kind",
            Reason::CertificateTenant => "wrong_tenant_certificate",
            Reason::CertificateIssuer => "certificate_not_from_tenant_ca",
            Reason::CertificateRevoked => "certificate_revoked",
            Reason::CertificateExpired => "certificate_expired",
            Reason::CertificateNotYetValid => "certificate_not_yet_valid",
            Reason::KeyUsage => "wrong_key_usage",
            Reason::TlsCertificateMismatch => "tls_certificate_mismatch",
            Reason::NothingToUpdate => "nothing_to_update",
            Reason::KeepLocalDays => "bad_keep_local_days",
            Reason::P12 => "bad_p12",
            Reason::P12Password => "wrong_p12_password",
            Reason::RegistryIssuer => "certificate_not_from_registry_ca",
        }
    }
}

type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a repository operation did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepositoryError {
    /// The input breaks a rule: `field` names the input (`patient`, `documents[1]`,
    /// `ClinicalDocument/id`…), `message` is the whole sentence, naming the field and the rule.
    #[error("{message}")]
    Invalid {
        reason: Reason,
        field: String,
        message: String,
    },

    /// A CDA document was sent as another media type.
    #[error(
        "A CDA document is sent as {accepted}; files of other kinds go to /api/v1/attachments."
    )]
    UnsupportedContentType { accepted: String },

    /// The organisational structure has invalid fields: every one of them, in field order.
    #[error(
        "The organisational structure has {} invalid field{}; nothing was stored.",
        .0.len(),
        if .0.len() == 1 { "" } else { "s" }
    )]
    InvalidOrganisation(Vec<FieldError>),

    /// No such thing in this account (the same whether it does not exist or belongs to
    /// another account).
    #[error("No {what} with that identifier exists in this account.")]
    NotFound { what: &'static str },

    /// The account has not sent an organisational structure yet.
    #[error("No organisational structure has been sent to this account yet; send one with `medgate client org push FILE.toml`.")]
    NoOrganisation,

    /// A document type policy for a code the catalogue does not have.
    #[error("There is no document type '{code}'; valid codes: {valid}.")]
    UnknownDocumentType { code: String, valid: String },

    #[error("document {0} is already stored; a new version needs a new id with the same setId and a higher versionNumber")]
    DocumentExists(DocumentId),

    #[error("version {version} of document set {set_id} is already stored; a new version needs a higher versionNumber")]
    DocumentVersionExists { set_id: DocumentId, version: u32 },

    /// The consent's status does not allow the operation.
    #[error("consent {id} is {status}; it cannot be {operation} (create a new consent instead).")]
    ConsentStatus {
        id: ConsentId,
        status: ConsentStatus,
        operation: &'static str,
    },

    /// All values in bytes.
    #[error(
        "the quota is exceeded: {} MB of {} MB used and this document needs {} MB more; delete documents or ask the operator for a larger plan",
        megabytes(*.used),
        megabytes(*.limit),
        megabytes(*.requested)
    )]
    QuotaExceeded {
        used: u64,
        requested: u64,
        limit: u64,
    },

    #[error("the account already holds {limit} files, its maximum; delete documents or ask the operator for a larger plan")]
    FileLimitReached { limit: u64 },

    /// Activation of an account the repository does not have.
    #[error("Account {0} does not exist on this repository; ask the operator.")]
    UnknownAccount(TenantId),

    #[error(
        "Account {0} is already active; use `medgate client update-certs` to replace certificates."
    )]
    AlreadyActive(TenantId),

    #[error("Account {0} is suspended; contact the operator.")]
    AccountSuspended(TenantId),

    #[error("This certificate is already registered; request a new certificate.")]
    CertificateInUse,

    #[error("This repository has no national registry configured ([registry] url and ca_file); ask the operator.")]
    RegistryNotConfigured,

    #[error("Account {0} is not registered in the national registry; run `medgate client national register` first.")]
    NotRegisteredNationally(TenantId),

    /// A call to the national registry failed; `what` says what did not happen.
    #[error("{what}: {cause}; {}.", registry_advice(.cause))]
    Registry { what: String, cause: RegistryError },

    /// The registry answered a registration without a usable national repository id.
    #[error("could not get the national repository id: the registry at {url} answered without a valid national_repository_id; nothing was changed, try again.")]
    RegistryAnswer { url: String },

    /// The stored bytes no longer match the SHA-256 taken at ingest.
    #[error("The stored bytes of document {document} no longer match their SHA-256; they are not sent. Report this to the operator.")]
    ContentCorrupted { document: DocumentId },

    /// The metadata or content store failed while `context`; the cause is for the log only.
    #[error("the repository's storage failed ({context})")]
    Storage {
        context: &'static str,
        #[source]
        cause: Cause,
    },

    /// Something of ours failed while `context` (the random source, a key, a ZIP…); the
    /// cause is for the log only.
    #[error("the repository could not complete the request ({context})")]
    Internal {
        context: &'static str,
        #[source]
        cause: Cause,
    },
}

fn megabytes(bytes: u64) -> String {
    const MEGABYTE: f64 = 1024.0 * 1024.0;
    format!("{:.2}", bytes as f64 / MEGABYTE)
}

/// What a user can do after a failed registry call; nothing was changed in every case.
fn registry_advice(cause: &RegistryError) -> &'static str {
    match cause {
        RegistryError::Unreachable { .. }
        | RegistryError::Timeout { .. }
        | RegistryError::BadAnswer { .. } => "nothing was changed, try again",
        RegistryError::ServerNotTrusted { .. } => "nothing was changed, ask the operator",
        _ => "nothing was changed",
    }
}

impl RepositoryError {
    /// An input refused by `reason`; `message` is the whole sentence for the user.
    pub fn invalid(reason: Reason, field: impl Into<String>, message: impl Into<String>) -> Self {
        RepositoryError::Invalid {
            reason,
            field: field.into(),
            message: message.into(),
        }
    }

    /// For `map_err`: a store failure while `context`.
    pub fn storage<E>(context: &'static str) -> impl FnOnce(E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |cause| RepositoryError::Storage {
            context,
            cause: Box::new(cause),
        }
    }

    /// A failure of ours while `context`.
    pub fn internal(context: &'static str, cause: impl Into<Cause>) -> Self {
        RepositoryError::Internal {
            context,
            cause: cause.into(),
        }
    }

    /// A failed registry call: `what` says what did not happen. A registry client that
    /// cannot even be set up is a failure of ours.
    pub fn registry(what: &str, cause: RegistryError) -> Self {
        match cause {
            RegistryError::Setup(_) => RepositoryError::internal("registry client", cause),
            cause => RepositoryError::Registry {
                what: what.to_owned(),
                cause,
            },
        }
    }

    /// The stable code, e.g. `document_exists`; the API's error codes.
    pub fn code(&self) -> &'static str {
        match self {
            RepositoryError::Invalid { reason, .. } => reason.code(),
            RepositoryError::UnsupportedContentType { .. } => "unsupported_content_type",
            RepositoryError::InvalidOrganisation(_) => "invalid_organisation",
            RepositoryError::NotFound { .. } | RepositoryError::NoOrganisation => "not_found",
            RepositoryError::UnknownDocumentType { .. } => "unknown_document_type",
            RepositoryError::DocumentExists(_) => "document_exists",
            RepositoryError::DocumentVersionExists { .. } => "document_version_exists",
            RepositoryError::ConsentStatus { status, .. } => match status {
                ConsentStatus::Revoked => "consent_revoked",
                _ => "consent_already_sent",
            },
            RepositoryError::QuotaExceeded { .. } => "quota_exceeded",
            RepositoryError::FileLimitReached { .. } => "file_limit_reached",
            RepositoryError::UnknownAccount(_) => "certificate_not_registered",
            RepositoryError::AlreadyActive(_) => "already_active",
            RepositoryError::AccountSuspended(_) => "account_suspended",
            RepositoryError::CertificateInUse => "certificate_in_use",
            RepositoryError::RegistryNotConfigured => "registry_not_configured",
            RepositoryError::NotRegisteredNationally(_) => "not_registered_nationally",
            RepositoryError::Registry { cause, .. } => match cause {
                RegistryError::Unreachable { .. } => "registry_unreachable",
                RegistryError::Timeout { .. } => "registry_timeout",
                RegistryError::CertificateRefused { .. } => "registry_refused_certificate",
                RegistryError::ServerNotTrusted { .. } => "registry_not_trusted",
                RegistryError::BadAnswer { .. } => "registry_bad_answer",
                RegistryError::Refused { .. } | RegistryError::Setup(_) => "registry_refused",
            },
            RepositoryError::RegistryAnswer { .. } => "registry_bad_answer",
            RepositoryError::ContentCorrupted { .. } => "content_corrupted",
            RepositoryError::Storage { .. } | RepositoryError::Internal { .. } => "internal_error",
        }
    }

    /// What kind of refusal or failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RepositoryError::Invalid { .. } | RepositoryError::InvalidOrganisation(_) => {
                ErrorKind::Invalid
            }
            RepositoryError::UnsupportedContentType { .. } => ErrorKind::UnsupportedMediaType,
            RepositoryError::NotFound { .. }
            | RepositoryError::NoOrganisation
            | RepositoryError::UnknownDocumentType { .. } => ErrorKind::NotFound,
            RepositoryError::DocumentExists(_)
            | RepositoryError::DocumentVersionExists { .. }
            | RepositoryError::ConsentStatus { .. }
            | RepositoryError::AlreadyActive(_)
            | RepositoryError::CertificateInUse
            | RepositoryError::RegistryNotConfigured
            | RepositoryError::NotRegisteredNationally(_) => ErrorKind::Conflict,
            RepositoryError::QuotaExceeded { .. } | RepositoryError::FileLimitReached { .. } => {
                ErrorKind::QuotaExceeded
            }
            RepositoryError::UnknownAccount(_) | RepositoryError::AccountSuspended(_) => {
                ErrorKind::Forbidden
            }
            RepositoryError::Registry { cause, .. } => match cause {
                RegistryError::Timeout { .. } => ErrorKind::RegistryTimeout,
                RegistryError::CertificateRefused { .. } => ErrorKind::Forbidden,
                RegistryError::Refused { status, .. } => match status {
                    401 | 403 => ErrorKind::Forbidden,
                    409 => ErrorKind::Conflict,
                    _ => ErrorKind::RegistryUnavailable,
                },
                RegistryError::Setup(_) => ErrorKind::Internal,
                _ => ErrorKind::RegistryUnavailable,
            },
            RepositoryError::RegistryAnswer { .. } => ErrorKind::RegistryUnavailable,
            RepositoryError::ContentCorrupted { .. }
            | RepositoryError::Storage { .. }
            | RepositoryError::Internal { .. } => ErrorKind::Internal,
        }
    }

    /// Whether this is a failure of ours rather than a refusal the user can act on.
    pub fn is_internal(&self) -> bool {
        self.kind() == ErrorKind::Internal
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn storage_failures_keep_their_cause_out_of_the_message() {
        let cause = std::io::Error::other("disk /srv/secret-volume is full");
        let error = RepositoryError::storage("storing content")(cause);
        assert_eq!(error.code(), "internal_error");
        assert_eq!(error.kind(), ErrorKind::Internal);
        assert!(!error.to_string().contains("secret-volume"), "{error}");
        let source = std::error::Error::source(&error).unwrap().to_string();
        assert!(source.contains("secret-volume"), "{source}");
    }

    #[test]
    fn refusals_say_what_to_do_and_keep_the_api_codes() {
        let quota = RepositoryError::QuotaExceeded {
            used: 1024 * 1024,
            requested: 512 * 1024,
            limit: 2 * 1024 * 1024,
        };
        assert_eq!(quota.code(), "quota_exceeded");
        assert_eq!(quota.kind(), ErrorKind::QuotaExceeded);
        assert_eq!(
            quota.to_string(),
            "the quota is exceeded: 1.00 MB of 2.00 MB used and this document needs 0.50 MB more; delete documents or ask the operator for a larger plan"
        );
        let invalid = RepositoryError::invalid(Reason::Patient, "patient", "patient: no.");
        assert_eq!(
            (invalid.code(), invalid.kind()),
            ("bad_patient", ErrorKind::Invalid)
        );
        let refused = RepositoryError::registry(
            "the document was not indexed",
            RegistryError::Refused {
                status: 409,
                code: "x".into(),
                message: "taken.".into(),
            },
        );
        assert_eq!(
            (refused.code(), refused.kind()),
            ("registry_refused", ErrorKind::Conflict)
        );
        assert!(
            refused.to_string().ends_with("; nothing was changed."),
            "{refused}"
        );
        let setup = RepositoryError::registry("x", RegistryError::Setup("no CA".into()));
        assert_eq!(setup.code(), "internal_error");
        let timeout = RepositoryError::registry(
            "x",
            RegistryError::Timeout {
                url: "https://r".into(),
                seconds: 2,
            },
        );
        assert_eq!(timeout.kind(), ErrorKind::RegistryTimeout);
        assert!(timeout
            .to_string()
            .ends_with("; nothing was changed, try again."));
    }
}
