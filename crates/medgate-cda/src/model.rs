//! The typed CDA header: what [`parse`](crate::parse) extracts from a document, with
//! identifiers, codes, names and timestamps already validated.

use std::fmt;

use medgate_ids::{IdError, Oid, Pesel};

use crate::timestamp::Timestamp;

/// OID of the Polish document class code system `KLAS_DOK_P1` (PIK). A PIK document carries
/// its P1 class as a `translation` of the document `code` in this code system.
pub const KLAS_DOK_P1_OID: &str = "2.16.840.1.113883.3.4424.11.1.32";

/// OID of the LOINC code system, in which CDA document and section types are coded.
pub const LOINC_OID: &str = "2.16.840.1.113883.6.1";

/// An HL7 v3 unique identifier (`uid`): an OID, a UUID or an HL7-reserved RUID.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Uid {
    /// An ISO object identifier, e.g. `2.16.840.1.113883.3.4424.1.1.616`.
    Oid(Oid),
    /// A DCE UUID in its 36-character form, kept as written.
    Uuid(String),
    /// An HL7-reserved identifier: a letter followed by letters, digits and hyphens.
    Ruid(String),
}

impl Uid {
    /// Parses an OID, a UUID or a RUID; the error says which forms were expected.
    pub fn parse(value: &str) -> Result<Uid, String> {
        if let Ok(oid) = Oid::parse(value) {
            return Ok(Uid::Oid(oid));
        }
        if is_uuid(value) {
            return Ok(Uid::Uuid(value.to_owned()));
        }
        let mut characters = value.chars();
        let starts_with_letter = characters.next().is_some_and(|c| c.is_ascii_alphabetic());
        if starts_with_letter
            && value.len() <= 64
            && characters.all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Ok(Uid::Ruid(value.to_owned()));
        }
        Err(match Oid::parse(value) {
            Err(error) if value.starts_with(|c: char| c.is_ascii_digit()) => error.rule,
            _ => "not an OID, a UUID or an HL7 RUID".to_owned(),
        })
    }

    /// The identifier's text.
    pub fn as_str(&self) -> &str {
        match self {
            Uid::Oid(oid) => oid.as_str(),
            Uid::Uuid(text) | Uid::Ruid(text) => text,
        }
    }

    /// The OID, when this identifier is one.
    pub fn as_oid(&self) -> Option<&Oid> {
        match self {
            Uid::Oid(oid) => Some(oid),
            Uid::Uuid(_) | Uid::Ruid(_) => None,
        }
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_uuid(value: &str) -> bool {
    value.len() == 36
        && value.char_indices().all(|(index, c)| match index {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// An HL7 instance identifier (`II`): a root and an optional extension.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId {
    /// The namespace (or the whole identifier when there is no extension).
    pub root: Uid,
    /// The identifier within the root's namespace.
    pub extension: Option<String>,
}

/// `root^extension`, or `root` alone when there is no extension (the XDS form).
impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.extension {
            Some(extension) => write!(f, "{}^{}", self.root, extension),
            None => write!(f, "{}", self.root),
        }
    }
}

/// A coded value (`CD`/`CE`/`CV`): the code, its code system and the human-readable name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CodedValue {
    /// The code, e.g. `57833-6`.
    pub code: String,
    /// The code system, e.g. LOINC's OID `2.16.840.1.113883.6.1`.
    pub code_system: Option<Uid>,
    /// The code system's name as written in the document, e.g. `LOINC`.
    pub code_system_name: Option<String>,
    /// The name of the code, e.g. `Prescription for medication Document`.
    pub display_name: Option<String>,
}

/// What kind of document this is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DocumentType {
    /// `ClinicalDocument/code`, a LOINC code in PIK and C-CDA documents.
    pub code: CodedValue,
    /// The Polish P1 document class (`KLAS_DOK_P1`, e.g. `04.01` for a prescription), carried
    /// in PIK documents as a `translation` of the code in code system [`KLAS_DOK_P1_OID`].
    pub p1_class: Option<CodedValue>,
}

/// A person's name (`PN`). Structured parts are kept in document order; a name written as
/// plain text is kept in `text`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PersonName {
    /// Prefixes such as `lek.` or `Dr.`.
    pub prefixes: Vec<String>,
    /// Given names.
    pub given: Vec<String>,
    /// Family names.
    pub family: Vec<String>,
    /// Suffixes such as `Jr.`.
    pub suffixes: Vec<String>,
    /// The name as free text, when it has no structured parts.
    pub text: Option<String>,
}

/// The whole name in reading order, e.g. `lek. Piotr Nowak`.
impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = self
            .prefixes
            .iter()
            .chain(&self.given)
            .chain(&self.family)
            .chain(&self.suffixes)
            .map(String::as_str)
            .collect();
        if parts.is_empty() {
            f.write_str(self.text.as_deref().unwrap_or(""))
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

/// Administrative gender (`administrativeGenderCode`, HL7 AdministrativeGender).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Gender {
    /// `F`
    Female,
    /// `M`
    Male,
    /// `UN`
    Undifferentiated,
    /// Any other code, kept as written.
    Other(String),
}

impl Gender {
    pub(crate) fn from_code(code: &str) -> Gender {
        match code {
            "F" => Gender::Female,
            "M" => Gender::Male,
            "UN" => Gender::Undifferentiated,
            other => Gender::Other(other.to_owned()),
        }
    }
}

/// In words, as shown in the rendered header (`female`, `male`, `undifferentiated`).
impl fmt::Display for Gender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gender::Female => f.write_str("female"),
            Gender::Male => f.write_str("male"),
            Gender::Undifferentiated => f.write_str("undifferentiated"),
            Gender::Other(code) => f.write_str(code),
        }
    }
}

/// What a patient identifier was recognised as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentifierKind {
    /// A valid PESEL (root [`Pesel::OID`]).
    Pesel(Pesel),
    /// An identifier under the PESEL root whose value is not a valid PESEL. Sample and test
    /// documents often use made-up numbers, so the document is still accepted; the caller
    /// decides what to do with it.
    InvalidPesel(IdError),
    /// Any other identifier, kept with its root.
    Other,
}

/// One `recordTarget/patientRole/id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientIdentifier {
    /// The identifier as written (root and extension).
    pub id: InstanceId,
    /// What it was recognised as.
    pub kind: IdentifierKind,
}

/// The patient (`recordTarget/patientRole`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patient {
    /// Identifiers in document order; identifiers with only a `nullFlavor` are left out.
    pub identifiers: Vec<PatientIdentifier>,
    /// The first `patient/name`.
    pub name: Option<PersonName>,
    /// `patient/birthTime`.
    pub birth_time: Option<Timestamp>,
    /// `patient/administrativeGenderCode`.
    pub gender: Option<Gender>,
}

impl Patient {
    /// The first valid PESEL among the identifiers.
    pub fn pesel(&self) -> Option<&Pesel> {
        self.identifiers
            .iter()
            .find_map(|identifier| match &identifier.kind {
                IdentifierKind::Pesel(pesel) => Some(pesel),
                IdentifierKind::InvalidPesel(_) | IdentifierKind::Other => None,
            })
    }
}

/// An organisation (`representedOrganization`, `representedCustodianOrganization`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// Its identifiers (e.g. register codes, REGON).
    pub ids: Vec<InstanceId>,
    /// Its name.
    pub name: Option<String>,
    /// The organisation it is part of (`asOrganizationPartOf/wholeOrganization`), e.g. the
    /// clinic a ward belongs to.
    pub part_of: Option<Box<Organization>>,
}

/// One `author`: a person or a device, when, and on behalf of which organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// `author/time`.
    pub time: Option<Timestamp>,
    /// `assignedAuthor/id`, e.g. the professional licence number.
    pub ids: Vec<InstanceId>,
    /// `assignedAuthor/assignedPerson/name`.
    pub person: Option<PersonName>,
    /// `assignedAuthor/assignedAuthoringDevice` (software or model name).
    pub device: Option<String>,
    /// `assignedAuthor/representedOrganization`.
    pub organization: Option<Organization>,
}

/// The legal authenticator: who signed the document, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegalAuthenticator {
    /// `legalAuthenticator/time`.
    pub time: Option<Timestamp>,
    /// `signatureCode/@code` (`S` for signed).
    pub signature_code: Option<String>,
    /// `assignedEntity/id`.
    pub ids: Vec<InstanceId>,
    /// `assignedEntity/assignedPerson/name`.
    pub person: Option<PersonName>,
    /// `assignedEntity/representedOrganization`.
    pub organization: Option<Organization>,
}

/// A service event the document documents (`documentationOf/serviceEvent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEvent {
    /// What was done, e.g. an ICD-9-PL procedure.
    pub code: Option<CodedValue>,
    /// Start; for an `effectiveTime` with a single `value`, both `low` and `high` are it.
    pub low: Option<Timestamp>,
    /// End.
    pub high: Option<Timestamp>,
}

/// Everything medgate keeps about a CDA document apart from its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdaHeader {
    /// `ClinicalDocument/id`, shown as `root^extension`.
    pub id: InstanceId,
    /// `ClinicalDocument/setId`: the same for every version of a document.
    pub set_id: Option<InstanceId>,
    /// `ClinicalDocument/versionNumber`.
    pub version_number: Option<u32>,
    /// `ClinicalDocument/templateId`: the profiles the document claims to follow.
    pub template_ids: Vec<InstanceId>,
    /// The document type and, for PIK, its P1 class.
    pub document_type: DocumentType,
    /// `ClinicalDocument/title`, whitespace collapsed.
    pub title: Option<String>,
    /// `ClinicalDocument/effectiveTime`: when the document was created.
    pub effective_time: Timestamp,
    /// `ClinicalDocument/confidentialityCode` (`N`, `R`, `V`).
    pub confidentiality: Option<CodedValue>,
    /// `ClinicalDocument/languageCode`, e.g. `pl-PL`.
    pub language: Option<String>,
    /// The first `recordTarget`'s patient.
    pub patient: Patient,
    /// Patients of further `recordTarget`s (rare: e.g. a document about twins).
    pub other_patients: Vec<Patient>,
    /// Authors in document order.
    pub authors: Vec<Author>,
    /// The organisation in charge of the original document.
    pub custodian: Option<Organization>,
    /// Who signed the document.
    pub legal_authenticator: Option<LegalAuthenticator>,
    /// Service events in document order.
    pub service_events: Vec<ServiceEvent>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn uids_of_every_kind() {
        assert!(matches!(
            Uid::parse("2.16.840.1.113883.19.5"),
            Ok(Uid::Oid(_))
        ));
        assert!(matches!(
            Uid::parse("2a9ab3e4-5c3a-4e3b-9c1d-0e9f0b1c2d3e"),
            Ok(Uid::Uuid(_))
        ));
        assert!(matches!(Uid::parse("LOCAL-ids"), Ok(Uid::Ruid(_))));
        assert_eq!(
            Uid::parse("2.16.04").unwrap_err(),
            "arc '04' has a leading zero"
        );
        assert!(Uid::parse("not an id").is_err());
    }

    #[test]
    fn instance_ids_show_as_root_caret_extension() {
        let id = InstanceId {
            root: Uid::parse("2.16.840.1.113883.3.4424.2.7.99999.2.1").unwrap(),
            extension: Some("876543".to_owned()),
        };
        assert_eq!(
            id.to_string(),
            "2.16.840.1.113883.3.4424.2.7.99999.2.1^876543"
        );
        let root_only = InstanceId {
            extension: None,
            ..id
        };
        assert_eq!(
            root_only.to_string(),
            "2.16.840.1.113883.3.4424.2.7.99999.2.1"
        );
    }

    #[test]
    fn names_read_in_order() {
        let name = PersonName {
            prefixes: vec!["lek.".into()],
            given: vec!["Piotr".into()],
            family: vec!["Nowak".into()],
            ..PersonName::default()
        };
        assert_eq!(name.to_string(), "lek. Piotr Nowak");
        let plain = PersonName {
            text: Some("John Smith".into()),
            ..PersonName::default()
        };
        assert_eq!(plain.to_string(), "John Smith");
    }
}
