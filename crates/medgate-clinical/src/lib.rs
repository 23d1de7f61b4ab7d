//! The national clinical record service's domain (issue 13: the Hungarian platform's
//! functions, over FHIR R4 JSON): what the service does for a practitioner acting for an
//! institution, and for a patient, whoever asks — the service's API handlers and pages call
//! these functions with the store and a caller, and map [`ClinicalError`] to their answers.
//! No HTTP here.
//!
//! - [`accounts`]: the patients' portal accounts (created by the operator for a TAJ with a
//!   one-time activation code).
//! - [`admin`]: the operator's registry: institutions, units, practitioners (with their TOTP
//!   secret), the authorisation matrix, institution certificates, suspension, the verified
//!   connection check.
//! - [`auth`]: sign-in with password and TOTP for a user in the authorisation matrix of the
//!   calling institution; sessions of 7 hours; [`auth::authenticate`] turns a session token
//!   into a [`Caller`].
//! - [`resources`]: versioned FHIR resources (create, update with the version read, delete by
//!   the creating institution only, read, search by patient, `_history`), every change and
//!   read audited in the hash chain and written to the patient's access log; a patient's
//!   restriction refuses a read of their documents unless the practitioner breaks the glass
//!   with a reason.
//! - [`encounters`] (the event catalogue), [`documents`] (DocumentReference + Binary),
//!   [`referrals`] (ServiceRequest: issued, consumed once, cancelled, expired),
//!   [`patient`] (the patient's restrictions as Consent resources and their access log as
//!   AuditEvent resources).

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod documents;
pub mod encounters;
pub mod error;
pub mod fhir;
pub mod patient;
pub mod referrals;
pub mod resources;

use medgate_ids::{InstitutionId, Taj};
use medgate_storage::{AuditOrigin, NewAccess, NewAuditEntry};
use time::OffsetDateTime;

pub use error::{ClinicalError, ErrorKind};
pub use fhir::ResourceType;

/// A practitioner acting for an institution, from a live session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The practitioner's platform user name.
    pub user_name: String,
    /// The institution they act for (the session's, which is the calling certificate's).
    pub institution: InstitutionId,
    /// Where the request came from.
    pub origin: AuditOrigin,
}

impl Caller {
    /// What the audit log names as the actor: `practitioner:<user>@<institution>`.
    pub fn actor(&self) -> String {
        format!("practitioner:{}@{}", self.user_name, self.institution)
    }

    /// The audit entry of `action` on `target` about `patient`.
    pub(crate) fn audit(
        &self,
        action: &str,
        target: &str,
        patient: Option<&Taj>,
        details: String,
    ) -> NewAuditEntry {
        NewAuditEntry {
            tenant: None,
            actor: self.actor(),
            action: action.to_owned(),
            target: target.to_owned(),
            origin: self.origin,
            details,
            patient: patient.map(Taj::to_string),
        }
    }

    /// The patient's access log line of `action` on `target`.
    pub(crate) fn access(
        &self,
        patient: &Taj,
        action: &str,
        target: &str,
        break_glass_reason: Option<&str>,
        at: OffsetDateTime,
    ) -> NewAccess {
        NewAccess {
            patient: patient.clone(),
            at,
            user_name: self.user_name.clone(),
            institution: self.institution.clone(),
            action: action.to_owned(),
            target: target.to_owned(),
            break_glass_reason: break_glass_reason.map(str::to_owned),
        }
    }
}

/// A patient acting on their own record (the portal): restrictions, the access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientCaller {
    pub patient: Taj,
    pub origin: AuditOrigin,
}

impl PatientCaller {
    /// What the audit log names as the actor: `patient:<TAJ>`.
    pub fn actor(&self) -> String {
        format!("patient:{}", self.patient)
    }

    pub(crate) fn audit(&self, action: &str, target: &str, details: String) -> NewAuditEntry {
        NewAuditEntry {
            tenant: None,
            actor: self.actor(),
            action: action.to_owned(),
            target: target.to_owned(),
            origin: self.origin,
            details,
            patient: Some(self.patient.to_string()),
        }
    }
}
