//! HL7 CDA R2 documents for medgate's document repository: checking and header extraction
//! at ingest, size and hashes, a sanitised HTML view, and the pieces of the ZIP export.
//!
//! # What it does
//!
//! - [`parse`] checks that bytes are an HL7 CDA R2 document (UTF-8 XML, no DTD, root
//!   `ClinicalDocument` in namespace `urn:hl7-org:v3`, with `id`, `code`, `effectiveTime` and
//!   `recordTarget`) and extracts its header into a typed [`CdaHeader`]: document id
//!   (`root^extension`), set id and version, type (LOINC code and, for Polish PIK documents,
//!   the P1 class `KLAS_DOK_P1`), title, effective time, confidentiality, language, patient
//!   identifiers (a PESEL under [`Pesel::OID`](medgate_ids::Pesel::OID) is validated; others
//!   are kept with their OID), name, birth date and gender, authors and their organisations,
//!   custodian, legal authenticator and service events. Any CDA R2 document is accepted: the
//!   Polish PIK profile is handled first, C-CDA and others work the same way.
//! - [`hashes`] gives the size, SHA-256 and SHA-1 (for IHE XDS) of the original bytes.
//! - [`render_html`] renders a standalone HTML5 page: a header block and every section with
//!   its narrative block (paragraphs, lists, tables, styled content, links, footnotes,
//!   embedded images). The page is sanitised by construction and is meant to be served with
//!   [`CONTENT_SECURITY_POLICY`].
//! - [`with_stylesheet_pi`] and [`STYLESHEET_XSL`] make an exported `.xml` file open rendered
//!   in a browser, through medgate's own XSLT 1.0 stylesheet, which shows the same view.
//!
//! # Errors
//!
//! Every refusal is a [`CdaError`] whose message starts with the line and column and names
//! the element at fault, e.g. `line 12, column 5: element <recordTarget> is missing under
//! <ClinicalDocument>` or `line 3, column 7: XML is malformed: …`. Nothing is returned
//! half-way: either the whole header is extracted or the document is refused.
//!
//! Values that the repository stores are validated (identifiers' roots must be OIDs, UUIDs or
//! RUIDs; timestamps must be HL7 `TS` values); an invalid one refuses the document with the
//! element named. One exception: an identifier under the PESEL root whose number fails the
//! PESEL rules is kept and marked [`IdentifierKind::InvalidPesel`], because sample and test
//! documents (including the PIK examples) use made-up numbers.
//!
//! # Security
//!
//! Documents with a `<!DOCTYPE>` are refused, so there are no entity declarations to expand
//! and nothing is ever loaded from outside. The HTML writer takes element and attribute names
//! only from medgate's code and escapes every value; see [`render_html`].
//!
//! # Boundaries
//!
//! This crate knows nothing about HTTP, SQL, files on disk or serialisation formats: it
//! takes bytes and returns typed values, strings and bytes.
//!
//! # Example
//!
//! ```
//! let document = br#"<ClinicalDocument xmlns="urn:hl7-org:v3">
//!   <id root="2.16.840.1.113883.19.5" extension="42"/>
//!   <code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>
//!   <effectiveTime value="20240105143000+0100"/>
//!   <recordTarget><patientRole>
//!     <id root="2.16.840.1.113883.3.4424.1.1.616" extension="02070803628"/>
//!   </patientRole></recordTarget>
//! </ClinicalDocument>"#;
//! let header = medgate_cda::parse(document)?;
//! assert_eq!(header.id.to_string(), "2.16.840.1.113883.19.5^42");
//! assert_eq!(header.patient.pesel().map(|p| p.as_str()), Some("02070803628"));
//! assert_eq!(header.effective_time.to_string(), "2024-01-05 14:30:00 +01:00");
//!
//! let page = medgate_cda::render_html(document)?;
//! assert!(page.starts_with("<!DOCTYPE html>"));
//!
//! let missing = medgate_cda::parse(b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>").unwrap_err();
//! assert_eq!(missing.to_string(), "line 1, column 1: element <id> is missing under <ClinicalDocument>");
//! # Ok::<(), medgate_cda::CdaError>(())
//! ```

mod digest;
mod error;
mod export;
mod header;
mod model;
mod render;
mod timestamp;
mod xml;

pub use digest::{hashes, DocumentHashes};
pub use error::{CdaError, Position};
pub use export::{with_stylesheet_pi, STYLESHEET_FILE_NAME, STYLESHEET_XSL};
pub use model::{
    Author, CdaHeader, CodedValue, DocumentType, Gender, IdentifierKind, InstanceId,
    LegalAuthenticator, Organization, Patient, PatientIdentifier, PersonName, ServiceEvent, Uid,
    KLAS_DOK_P1_OID, LOINC_OID,
};
pub use render::{render_html, CONTENT_SECURITY_POLICY};
pub use timestamp::{Precision, Timestamp, TimestampError};

/// The HL7 v3 XML namespace that CDA R2 documents use.
pub const CDA_NAMESPACE: &str = "urn:hl7-org:v3";

/// Checks that `bytes` are an HL7 CDA R2 document and extracts its header.
///
/// See the [crate documentation](crate) for what is checked and extracted; errors name the
/// line, column and element at fault.
pub fn parse(bytes: &[u8]) -> Result<CdaHeader, CdaError> {
    let text = xml::decode(bytes)?;
    let document = xml::load(text)?;
    header::extract(document.root_element())
}
