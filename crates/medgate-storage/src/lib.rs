//! medgate's storage: the metadata store ([`Metadata`], SQLite or PostgreSQL) and the content
//! store ([`ContentStore`]: a folder on disk or an S3-compatible object store).
//!
//! # Backends
//!
//! | deployment | metadata | content |
//! |---|---|---|
//! | embedded default | `sqlite://DATA_DIR/medgate.db?mode=rwc` | [`FilesystemContent`] in `DATA_DIR/content` |
//! | scale-out | `postgres://…` | [`S3Content`] (MinIO, Garage, Ceph, AWS…) |
//!
//! Both metadata backends run the same queries (see [`metadata`] for why and how) and pass
//! the same test suite; both content stores implement one trait and pass one test suite.
//!
//! # Document ingest order
//!
//! The server stores a document in this order, so that a crash at any point never leaves
//! metadata without content (the only thing the API could show that would be broken):
//!
//! 1. generate a random [`ContentKey`] (never derived from user input);
//! 2. [`ContentStore::put`] the bytes — or [`ContentStore::put_file`] an upload staged on disk
//!    ([`staging`]: written chunk by chunk and hashed on the way, never held whole in
//!    memory); it returns only once they are durable;
//! 3. [`Metadata::insert_document`] in one transaction, which also checks the quota;
//! 4. if the insert fails (duplicate, quota, database down), [`ContentStore::delete`] the
//!    content again.
//!
//! A crash between steps 2 and 3 leaves an orphan content object that no metadata points
//! to. [`sweep_orphans`] removes such objects (the server runs it in the background, after the
//! start and then periodically); it only removes objects older than a grace period by their
//! own write time, so an upload in flight on any node of a scale-out deployment is safe.
//!
//! Deletion runs the other way round: [`Metadata::delete_document`] first (it returns the
//! content key), then [`ContentStore::delete`]; a crash in between again leaves only an
//! orphan.
//!
//! # What this crate does not know
//!
//! Nothing about HTTP, JSON shapes of the API or CDA parsing: the server parses documents
//! and validates organisation structures, and hands this crate typed values.

pub mod backup;
pub mod content;
pub mod error;
pub mod metadata;
pub mod staging;
pub mod sweep;
pub mod values;

pub use content::{
    BackupHold, ContentObject, ContentStore, FilesystemContent, S3Config, S3Content,
};
pub use error::{BackendError, ContentError, MetadataError, SweepError};
pub use metadata::audit::{
    Actor, AuditAnchor, AuditEntry, AuditFault, AuditHead, AuditOrigin, AuditProblem,
    AuditVerification, NewAuditEntry, FOREIGN_ROWS_LISTED,
};
pub use metadata::certificate_requests::{
    CertificateRequest, CertificateRequestError, NewCertificateRequest, RequestStatus,
};
pub use metadata::certificates::{
    CertificateExpiry, CertificateKind, CertificateOwner, CertificateStatus, NewCertificate,
    TenantCertificate,
};
pub use metadata::claims::{
    ClaimsCertificate, ClaimsCorrection, ClaimsFinding, ClaimsInsurer, ClaimsMedicalOrganisation,
    ClaimsMekFinding, ClaimsMekSummary, ClaimsMoCertificate, ClaimsPackage,
    ClaimsPackageCorrections, ClaimsPeriod, ClaimsRegister, ClaimsRegisterEvent,
    ClaimsRegisterSignature, ClaimsStoreError, ClaimsSubdivision, ClaimsUser, LinkOpening,
    MekOutcome, NewClaimsCorrection, NewClaimsPackage, NewClaimsRegister, NewClaimsUser,
    PackageOutcome, MAX_PAID_KEYS_AT_ONCE,
};
pub use metadata::clinical::{
    AccessEntry, Authorisation, ClinicalInstitution, ClinicalPatientAccount, ClinicalStoreError,
    ClinicalUnit, CurrentResource, ExpectedVersion, InstitutionCertificate, NewAccess,
    NewPractitioner, Practitioner, PractitionerSession, ResourceHead, ResourceVersion,
    ResourceWrite, Restriction,
};
pub use metadata::clinical_connection::{ClinicPractitioner, ClinicalConnection, DeskSession};
pub use metadata::consents::{
    Consent, ConsentDocument, ConsentError, ConsentId, ConsentStatus, ConsentSummary, NewConsent,
    SentConsent, SharedDocument,
};
pub use metadata::document_types::{
    default_document_type, DocumentTypeDefault, DocumentTypePolicy, DEFAULT_DOCUMENT_TYPES,
};
pub use metadata::documents::{
    DocumentKind, DocumentMetadata, DocumentPage, PatientIdentifier, PatientQuery, SearchQuery,
    StoredDocument,
};
pub use metadata::national::NationalCredentials;
pub use metadata::organisation::OrganisationStructure;
pub use metadata::plans::ListQuery;
pub use metadata::portal::{
    AccountOutcome, PatientAccount, PendingActivation, PATIENT_ACTIVATION_VALIDITY,
};
pub use metadata::registry::{
    EntryStored, Registered, RegistryEntry, RegistryRepository, RegistryRepositoryStatus,
    RepositoryRegistration, StoredRegistryEntry,
};
pub use metadata::revocations::{
    normalize_serial_hex, NodeRevocationStatus, RecordedRevocation, RevocationGeneration,
};
pub use metadata::staff::{
    NewStaffUser, StaffCredential, StaffLogin, StaffScope, StaffUser, StaffUserError,
};
pub use metadata::synthetic::{SyntheticDocuments, SYNTHETIC_PATIENT_ROOT};
pub use metadata::tenants::{
    NewTenant, OidArc, Tenant, TenantActivation, TenantPlan, TenantStatus, Usage,
};
pub use metadata::web::{
    LockoutPolicy, NewWebSession, SigninAttempt, SigninIdentity, WebSession, WebSessionKind,
};
pub use metadata::writer::{WriteObserver, WriteStatistics};
pub use metadata::{DatabaseBackend, Metadata, PoolUse};
pub use staging::{StagedFile, StagedWriter, StagingArea};
pub use sweep::{sweep_orphans, SweepReport};
pub use values::{ContentKey, DocumentId, InvalidValue, RecordKey, Sha1Digest, Sha256Digest};
