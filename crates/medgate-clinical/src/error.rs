//! The clinical service's one error type: one variant per refusal, each with a stable
//! [`ClinicalError::code`] and an [`ErrorKind`] a caller maps to its own answer (an HTTP
//! status, a FHIR OperationOutcome, a page). A failure of the store says only what could not
//! be done; its cause stays in `source()`, for the log.

use medgate_ids::{IdError, InstitutionId};
use medgate_storage::MetadataError;

/// What kind of refusal or failure an error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input breaks a rule (400).
    Invalid,
    /// No valid practitioner credentials or session (401).
    Unauthorized,
    /// Known caller, but not allowed (403).
    Forbidden,
    /// No such resource (404).
    NotFound,
    /// The resource was deleted (410).
    Gone,
    /// The resource is in a state or version that does not allow the operation (409).
    Conflict,
    /// A failure of ours (500).
    Internal,
}

/// Why a clinical operation did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClinicalError {
    /// A FHIR resource breaks a rule; `field` is its FHIRPath-like name (`subject.reference`).
    #[error("{field}: {message}")]
    InvalidResource { field: String, message: String },

    /// An identifier (TAJ, institution, unit, stamp number) breaks its rule.
    #[error("{0}")]
    InvalidIdentifier(#[from] IdError),

    /// The service keeps no resources of this type.
    #[error("the service keeps no {resource_type} resources")]
    UnsupportedResourceType { resource_type: String },

    /// Unknown user or wrong password (the answer does not say which).
    #[error("the user name or the password is wrong")]
    WrongCredentials,

    /// The one-time code is not the current one of the practitioner's token.
    #[error("the one-time code is wrong or too old; enter the code the token shows now")]
    WrongOneTimeCode,

    /// The one-time code was used already.
    #[error("this one-time code was used already; wait for the token's next code")]
    OneTimeCodeReused,

    /// Too many sign-in attempts without success.
    #[error("too many sign-in attempts; this user name is locked until {until}")]
    SigninLocked { until: String },

    /// The practitioner's account is suspended.
    #[error("practitioner {user_name} is suspended")]
    PractitionerSuspended { user_name: String },

    /// The institution is not known to the service or is suspended.
    #[error("institution {0} is not registered or is suspended")]
    InstitutionNotActive(InstitutionId),

    /// The practitioner is not in the authorisation matrix for the institution.
    #[error("user {user_name} may not act for institution {institution} (not in the authorisation matrix)")]
    NotInMatrix {
        user_name: String,
        institution: InstitutionId,
    },

    /// No session with that token.
    #[error("no practitioner session with that token; sign in with password and one-time code")]
    SessionUnknown,

    /// The session is over (7 hours after sign-in).
    #[error("the practitioner session ended at {ended}; sign in again")]
    SessionExpired { ended: String },

    /// The session was opened for another institution than the one calling.
    #[error("this practitioner session belongs to institution {session}, not {caller}")]
    SessionOfAnotherInstitution {
        session: InstitutionId,
        caller: InstitutionId,
    },

    /// The operator registers something that exists already.
    #[error("{what} {id} is registered already")]
    AlreadyRegistered { what: &'static str, id: String },

    /// The operator names something that is not registered.
    #[error("no {what} {id} is registered")]
    NotRegistered { what: &'static str, id: String },

    /// No such resource.
    #[error("{resource_type}/{id} does not exist")]
    NotFound { resource_type: String, id: String },

    /// The resource was deleted.
    #[error("{resource_type}/{id} was deleted")]
    Deleted { resource_type: String, id: String },

    /// The resource changed since the version the caller based the change on.
    #[error("{resource_type}/{id} is at version {current}, not {expected}; read it again and repeat the change")]
    VersionConflict {
        resource_type: String,
        id: String,
        expected: u64,
        current: u64,
    },

    /// Only the institution that created an entry may delete (or close) it.
    #[error("{resource_type}/{id} was created by institution {owner}; only that institution may {operation} it")]
    NotOwner {
        resource_type: String,
        id: String,
        owner: InstitutionId,
        operation: &'static str,
    },

    /// The encounter is not open.
    #[error("Encounter/{id} is {status}, not in-progress; only an open encounter can be closed")]
    EncounterNotOpen { id: String, status: String },

    /// The referral was consumed already.
    #[error("referral {id} was consumed already; a referral can be used once")]
    ReferralConsumed { id: String },

    /// A submission identifier the institution used already for another document.
    #[error("the identifier {system}|{value} names another document of this institution (another patient or other content); give a new document a new identifier")]
    IdentifierInUse { system: String, value: String },

    /// The referral is cancelled or expired.
    #[error("referral {id} is {status}; only an issued referral can be used or cancelled")]
    ReferralNotIssued { id: String, status: String },

    /// The patient restricted access to the resource; a break-glass read with a reason opens
    /// it.
    #[error("the patient restricted access to {resource_type}/{id}; in an emergency, read it with break-glass and state the reason")]
    Restricted { resource_type: String, id: String },

    /// A break-glass read without a reason.
    #[error("a break-glass read needs a reason")]
    BreakGlassReasonMissing,

    /// An institution's signed connection-check report does not show a verified connection.
    #[error("the connection-check report is refused: {reason}")]
    ReportRefused { reason: String },

    /// The service's CA could not issue or package a certificate (the message names the
    /// step; never key material).
    #[error("the certificate could not be issued: {0}")]
    CertificateNotIssued(String),

    /// The store failed.
    #[error("the clinical record store could not {operation}")]
    Storage {
        operation: &'static str,
        #[source]
        source: MetadataError,
    },

    /// A failure of ours (random source, a worker thread).
    #[error("internal error: {what}")]
    Internal { what: &'static str },
}

impl ClinicalError {
    /// The stable code of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            ClinicalError::InvalidResource { .. } => "invalid_resource",
            ClinicalError::InvalidIdentifier(_) => "invalid_identifier",
            ClinicalError::UnsupportedResourceType { .. } => "unsupported_resource_type",
            ClinicalError::WrongCredentials => "wrong_credentials",
            ClinicalError::WrongOneTimeCode => "wrong_one_time_code",
            ClinicalError::OneTimeCodeReused => "one_time_code_reused",
            ClinicalError::SigninLocked { .. } => "signin_locked",
            ClinicalError::PractitionerSuspended { .. } => "practitioner_suspended",
            ClinicalError::InstitutionNotActive(_) => "institution_not_active",
            ClinicalError::NotInMatrix { .. } => "not_in_matrix",
            ClinicalError::SessionUnknown => "session_unknown",
            ClinicalError::SessionExpired { .. } => "session_expired",
            ClinicalError::SessionOfAnotherInstitution { .. } => "session_of_another_institution",
            ClinicalError::AlreadyRegistered { .. } => "already_registered",
            ClinicalError::NotRegistered { .. } => "not_registered",
            ClinicalError::NotFound { .. } => "not_found",
            ClinicalError::Deleted { .. } => "deleted",
            ClinicalError::VersionConflict { .. } => "version_conflict",
            ClinicalError::NotOwner { .. } => "not_owner",
            ClinicalError::EncounterNotOpen { .. } => "encounter_not_open",
            ClinicalError::ReferralConsumed { .. } => "referral_consumed",
            ClinicalError::ReferralNotIssued { .. } => "referral_not_issued",
            ClinicalError::IdentifierInUse { .. } => "identifier_in_use",
            ClinicalError::Restricted { .. } => "restricted",
            ClinicalError::BreakGlassReasonMissing => "break_glass_reason_missing",
            ClinicalError::ReportRefused { .. } => "report_refused",
            ClinicalError::CertificateNotIssued(_) => "certificate_not_issued",
            ClinicalError::Storage { .. } => "storage_error",
            ClinicalError::Internal { .. } => "internal_error",
        }
    }

    /// What kind of refusal this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClinicalError::InvalidResource { .. }
            | ClinicalError::InvalidIdentifier(_)
            | ClinicalError::UnsupportedResourceType { .. }
            | ClinicalError::BreakGlassReasonMissing
            | ClinicalError::ReportRefused { .. } => ErrorKind::Invalid,
            ClinicalError::WrongCredentials
            | ClinicalError::WrongOneTimeCode
            | ClinicalError::OneTimeCodeReused
            | ClinicalError::SigninLocked { .. }
            | ClinicalError::SessionUnknown
            | ClinicalError::SessionExpired { .. } => ErrorKind::Unauthorized,
            ClinicalError::PractitionerSuspended { .. }
            | ClinicalError::InstitutionNotActive(_)
            | ClinicalError::NotInMatrix { .. }
            | ClinicalError::SessionOfAnotherInstitution { .. }
            | ClinicalError::NotOwner { .. }
            | ClinicalError::Restricted { .. } => ErrorKind::Forbidden,
            ClinicalError::NotFound { .. } | ClinicalError::NotRegistered { .. } => {
                ErrorKind::NotFound
            }
            ClinicalError::Deleted { .. } => ErrorKind::Gone,
            ClinicalError::VersionConflict { .. }
            | ClinicalError::AlreadyRegistered { .. }
            | ClinicalError::EncounterNotOpen { .. }
            | ClinicalError::ReferralConsumed { .. }
            | ClinicalError::ReferralNotIssued { .. }
            | ClinicalError::IdentifierInUse { .. } => ErrorKind::Conflict,
            ClinicalError::Storage { .. }
            | ClinicalError::Internal { .. }
            | ClinicalError::CertificateNotIssued(_) => ErrorKind::Internal,
        }
    }

    /// A store failure while trying to `operation`.
    pub(crate) fn storage(operation: &'static str) -> impl FnOnce(MetadataError) -> Self {
        move |source| ClinicalError::Storage { operation, source }
    }

    /// An invalid field of a resource.
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ClinicalError::InvalidResource {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_causes_stay_out_of_the_message() {
        let error = ClinicalError::storage("read a resource")(MetadataError::UnsupportedUrl {
            scheme: "secret-cause".to_owned(),
        });
        assert_eq!(
            error.to_string(),
            "the clinical record store could not read a resource"
        );
        assert_eq!(error.code(), "storage_error");
        assert_eq!(error.kind(), ErrorKind::Internal);
        assert!(std::error::Error::source(&error).is_some());
    }
}
