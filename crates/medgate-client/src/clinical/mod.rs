//! The clinic's side of the clinical record service (`medgate serve --role clinical`, the
//! Hungarian EESZT's role): an institution's credentials opened from the PKCS#12 file and
//! one-time code the service's operator handed out and checked before they are kept
//! ([`InstitutionCredentials`]); [`ClinicalClient`], the FHIR R4 calls a practice makes —
//! practitioner sign-in (password + TOTP code → a 7-hour [`Session`]), encounters, documents
//! (submitted as a conditional create, so a retry never stores twice), the patient's
//! documents across institutions with break-glass, profile entries with their history,
//! referrals; and [`ClinicalFolder`], where the command line keeps a set-up institution and
//! a practitioner's session.
//!
//! It knows nothing of the service's insides: only the wire (mutual TLS with the
//! institution certificate, RFC 9421 signatures with keyid = its serial, FHIR JSON, the
//! `medgate-break-glass` header).

mod client;
mod credentials;
mod error;
mod folder;
mod model;

pub use client::{ClinicalClient, ClinicalOptions, FHIR_JSON};
pub use credentials::{
    institution_of_common_name, service_ca_from_bytes, CredentialsError, InstitutionCredentials,
    COMMON_NAME_SUFFIX,
};
pub use error::ClinicalClientError;
pub use folder::{ClinicalFolder, ClinicalFolderError, ClinicalSetup};
pub use model::{
    DocumentContent, DocumentList, DocumentSubmission, FhirResource, HistoryEntry, NewEncounter,
    NewReferral, ProfileKind, Session, SubmissionId, Submitted, BREAK_GLASS_HEADER,
    DOCUMENT_CONTENT_TYPES, REFERRAL_STATUS_EXTENSION, SUBMISSION_SYSTEM,
};
