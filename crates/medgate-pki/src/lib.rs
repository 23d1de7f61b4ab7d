//! medgate's certificate toolkit: everything a clinic or operator does with keys and
//! certificates before any connection to a national platform works. It knows nothing about
//! HTTP, SQL or the command line; the `medgate` binary is thin glue over it.

pub mod ca;
pub mod cert;
pub mod check;
pub mod cms;
pub mod csr;
pub mod error;
pub mod expiry;
pub mod files;
pub mod gost;
pub mod inspect;
pub mod jks;
pub mod key;
pub mod keystore;
pub mod kind;
pub mod report;

pub use cert::{
    certificates_from_bytes, load_certificate, load_certificates, Certificate, CertificateSummary,
};
pub use error::{PkiError, Result};
pub use files::Password;
pub use key::{KeyAlgorithm, PrivateKey, SignatureAlgorithm};
pub use kind::{CertKind, TenantCommonName};
