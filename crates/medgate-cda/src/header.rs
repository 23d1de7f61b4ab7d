//! Extraction of the CDA header from a checked tree into [`CdaHeader`]: mandatory parts are
//! enforced here, and every extracted value is validated with the position of its element.

use medgate_ids::{IdError, Pesel};
use roxmltree::Node;

use crate::error::{quoted_value, CdaError};
use crate::model::{
    Author, CdaHeader, CodedValue, DocumentType, Gender, IdentifierKind, InstanceId,
    LegalAuthenticator, Organization, Patient, PatientIdentifier, PersonName, ServiceEvent, Uid,
    KLAS_DOK_P1_OID,
};
use crate::timestamp::Timestamp;
use crate::xml::{attribute, child, children, normalized_text, path, position_of};

/// How many `asOrganizationPartOf` levels are followed; real hierarchies have two or three.
const ORGANIZATION_DEPTH_LIMIT: usize = 8;

/// Extracts the header from a `ClinicalDocument` element.
pub(crate) fn extract(document: Node<'_, '_>) -> Result<CdaHeader, CdaError> {
    let id = required_instance_id(required_child(document, "id")?)?;
    let code_element = required_child(document, "code")?;
    let code = coded_value(code_element)?.ok_or_else(|| missing_attribute(code_element, "code"))?;
    let p1_class = children(code_element, "translation")
        .find(|translation| {
            attribute(*translation, "codeSystem") == Some(KLAS_DOK_P1_OID)
                || attribute(*translation, "codeSystemName") == Some("KLAS_DOK_P1")
        })
        .map(coded_value)
        .transpose()?
        .flatten();
    let effective_element = required_child(document, "effectiveTime")?;
    let effective_time = timestamp(effective_element, "value")?
        .ok_or_else(|| missing_attribute(effective_element, "value"))?;
    let mut patients = children(document, "recordTarget").map(patient);
    let patient = match patients.next() {
        Some(first) => first?,
        None => {
            return Err(CdaError::MissingElement {
                position: position_of(document),
                element: "recordTarget",
                parent: document.tag_name().name().to_owned(),
            })
        }
    };
    let other_patients = patients.collect::<Result<Vec<_>, _>>()?;

    let version_number =
        match child(document, "versionNumber") {
            None => None,
            Some(element) => match attribute(element, "value") {
                None => None,
                Some(value) => Some(value.parse::<u32>().map_err(|_| {
                    invalid_value(element, "value", value, "expected a whole number")
                })?),
            },
        };

    Ok(CdaHeader {
        id,
        set_id: child(document, "setId")
            .map(instance_id)
            .transpose()?
            .flatten(),
        version_number,
        template_ids: instance_ids(children(document, "templateId"))?,
        document_type: DocumentType { code, p1_class },
        title: child(document, "title").and_then(normalized_text),
        effective_time,
        confidentiality: child(document, "confidentialityCode")
            .map(coded_value)
            .transpose()?
            .flatten(),
        language: child(document, "languageCode")
            .and_then(|element| attribute(element, "code"))
            .map(str::to_owned),
        patient,
        other_patients,
        authors: children(document, "author")
            .map(author)
            .collect::<Result<_, _>>()?,
        custodian: path(
            document,
            &[
                "custodian",
                "assignedCustodian",
                "representedCustodianOrganization",
            ],
        )
        .map(|element| organization(element, 0))
        .transpose()?,
        legal_authenticator: child(document, "legalAuthenticator")
            .map(legal_authenticator)
            .transpose()?,
        service_events: children(document, "documentationOf")
            .filter_map(|documentation| child(documentation, "serviceEvent"))
            .map(service_event)
            .collect::<Result<_, _>>()?,
    })
}

fn required_child<'a, 'input>(
    parent: Node<'a, 'input>,
    name: &'static str,
) -> Result<Node<'a, 'input>, CdaError> {
    child(parent, name).ok_or_else(|| CdaError::MissingElement {
        position: position_of(parent),
        element: name,
        parent: parent.tag_name().name().to_owned(),
    })
}

fn missing_attribute(element: Node<'_, '_>, name: &'static str) -> CdaError {
    CdaError::MissingAttribute {
        position: position_of(element),
        element: element.tag_name().name().to_owned(),
        attribute: name,
    }
}

fn invalid_value(
    element: Node<'_, '_>,
    attribute: &'static str,
    value: &str,
    reason: impl Into<String>,
) -> CdaError {
    CdaError::InvalidValue {
        position: position_of(element),
        element: element.tag_name().name().to_owned(),
        attribute,
        value: quoted_value(value),
        reason: reason.into(),
    }
}

/// An `II`; `None` when it has no root (a `nullFlavor` identifier).
fn instance_id(element: Node<'_, '_>) -> Result<Option<InstanceId>, CdaError> {
    let Some(root) = attribute(element, "root") else {
        return Ok(None);
    };
    let root = Uid::parse(root).map_err(|reason| invalid_value(element, "root", root, reason))?;
    Ok(Some(InstanceId {
        root,
        extension: attribute(element, "extension").map(str::to_owned),
    }))
}

fn required_instance_id(element: Node<'_, '_>) -> Result<InstanceId, CdaError> {
    instance_id(element)?.ok_or_else(|| missing_attribute(element, "root"))
}

fn instance_ids<'a, 'input: 'a>(
    elements: impl Iterator<Item = Node<'a, 'input>>,
) -> Result<Vec<InstanceId>, CdaError> {
    let mut ids = Vec::new();
    for element in elements {
        ids.extend(instance_id(element)?);
    }
    Ok(ids)
}

/// A coded value; `None` when it has no `code` (a `nullFlavor` code).
fn coded_value(element: Node<'_, '_>) -> Result<Option<CodedValue>, CdaError> {
    let Some(code) = attribute(element, "code") else {
        return Ok(None);
    };
    let code_system = attribute(element, "codeSystem")
        .map(|system| {
            Uid::parse(system)
                .map_err(|reason| invalid_value(element, "codeSystem", system, reason))
        })
        .transpose()?;
    Ok(Some(CodedValue {
        code: code.to_owned(),
        code_system,
        code_system_name: attribute(element, "codeSystemName").map(str::to_owned),
        display_name: attribute(element, "displayName")
            .map(|name| name.split_whitespace().collect::<Vec<_>>().join(" ")),
    }))
}

fn timestamp(element: Node<'_, '_>, name: &'static str) -> Result<Option<Timestamp>, CdaError> {
    attribute(element, name)
        .map(|value| {
            Timestamp::parse(value)
                .map_err(|error| invalid_value(element, name, value, error.to_string()))
        })
        .transpose()
}

/// `value` of an optional child element such as `time` or `birthTime`.
fn child_timestamp(parent: Node<'_, '_>, name: &str) -> Result<Option<Timestamp>, CdaError> {
    match child(parent, name) {
        Some(element) => timestamp(element, "value"),
        None => Ok(None),
    }
}

fn person_name(element: Node<'_, '_>) -> Option<PersonName> {
    let parts = |part: &str| -> Vec<String> {
        children(element, part)
            .filter_map(normalized_text)
            .collect()
    };
    let mut name = PersonName {
        prefixes: parts("prefix"),
        given: parts("given"),
        family: parts("family"),
        suffixes: parts("suffix"),
        text: None,
    };
    if name.prefixes.is_empty()
        && name.given.is_empty()
        && name.family.is_empty()
        && name.suffixes.is_empty()
    {
        name.text = Some(normalized_text(element)?);
    }
    Some(name)
}

fn patient(record_target: Node<'_, '_>) -> Result<Patient, CdaError> {
    let role = required_child(record_target, "patientRole")?;
    let mut identifiers = Vec::new();
    for element in children(role, "id") {
        if let Some(id) = instance_id(element)? {
            let kind = if id.root.as_str() == Pesel::OID {
                match id.extension.as_deref() {
                    Some(value) => match Pesel::parse(value) {
                        Ok(pesel) => IdentifierKind::Pesel(pesel),
                        Err(error) => IdentifierKind::InvalidPesel(error),
                    },
                    None => IdentifierKind::InvalidPesel(IdError {
                        kind: "PESEL",
                        value: String::new(),
                        rule: "the identifier has no extension (the number)".to_owned(),
                    }),
                }
            } else {
                IdentifierKind::Other
            };
            identifiers.push(PatientIdentifier { id, kind });
        }
    }
    let person = child(role, "patient");
    Ok(Patient {
        identifiers,
        name: person
            .and_then(|person| child(person, "name"))
            .and_then(person_name),
        birth_time: match person {
            Some(person) => child_timestamp(person, "birthTime")?,
            None => None,
        },
        gender: person
            .and_then(|person| child(person, "administrativeGenderCode"))
            .and_then(|element| attribute(element, "code"))
            .map(Gender::from_code),
    })
}

fn organization(element: Node<'_, '_>, depth: usize) -> Result<Organization, CdaError> {
    let part_of = match path(element, &["asOrganizationPartOf", "wholeOrganization"]) {
        Some(whole) if depth < ORGANIZATION_DEPTH_LIMIT => {
            Some(Box::new(organization(whole, depth + 1)?))
        }
        _ => None,
    };
    Ok(Organization {
        ids: instance_ids(children(element, "id"))?,
        name: child(element, "name").and_then(normalized_text),
        part_of,
    })
}

fn author(element: Node<'_, '_>) -> Result<Author, CdaError> {
    let assigned = child(element, "assignedAuthor");
    let device = assigned
        .and_then(|assigned| child(assigned, "assignedAuthoringDevice"))
        .and_then(|device| {
            let names: Vec<String> = ["manufacturerModelName", "softwareName"]
                .iter()
                .filter_map(|name| child(device, name).and_then(normalized_text))
                .collect();
            (!names.is_empty()).then(|| names.join(", "))
        });
    Ok(Author {
        time: child_timestamp(element, "time")?,
        ids: match assigned {
            Some(assigned) => instance_ids(children(assigned, "id"))?,
            None => Vec::new(),
        },
        person: assigned
            .and_then(|assigned| path(assigned, &["assignedPerson", "name"]))
            .and_then(person_name),
        device,
        organization: assigned
            .and_then(|assigned| child(assigned, "representedOrganization"))
            .map(|organization_element| organization(organization_element, 0))
            .transpose()?,
    })
}

fn legal_authenticator(element: Node<'_, '_>) -> Result<LegalAuthenticator, CdaError> {
    let assigned = child(element, "assignedEntity");
    Ok(LegalAuthenticator {
        time: child_timestamp(element, "time")?,
        signature_code: child(element, "signatureCode")
            .and_then(|signature| attribute(signature, "code"))
            .map(str::to_owned),
        ids: match assigned {
            Some(assigned) => instance_ids(children(assigned, "id"))?,
            None => Vec::new(),
        },
        person: assigned
            .and_then(|assigned| path(assigned, &["assignedPerson", "name"]))
            .and_then(person_name),
        organization: assigned
            .and_then(|assigned| child(assigned, "representedOrganization"))
            .map(|organization_element| organization(organization_element, 0))
            .transpose()?,
    })
}

fn service_event(element: Node<'_, '_>) -> Result<ServiceEvent, CdaError> {
    let code = child(element, "code")
        .map(coded_value)
        .transpose()?
        .flatten();
    let (low, high) = match child(element, "effectiveTime") {
        None => (None, None),
        Some(effective) => match timestamp(effective, "value")? {
            Some(point) => (Some(point.clone()), Some(point)),
            None => (
                child_timestamp(effective, "low")?,
                child_timestamp(effective, "high")?,
            ),
        },
    };
    Ok(ServiceEvent { code, low, high })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use crate::error::Position;
    use crate::model::{Gender, IdentifierKind, Uid};
    use crate::parse;

    const MINIMAL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <id root="2.16.840.1.113883.19.5" extension="doc-1"/>
  <code code="34133-9" codeSystem="2.16.840.1.113883.6.1" displayName="Summary of episode note"/>
  <effectiveTime value="20240105"/>
  <recordTarget>
    <patientRole>
      <id root="2.16.840.1.113883.3.4424.1.1.616" extension="02070803628"/>
      <id nullFlavor="NI"/>
      <patient><name>Anna Nowak</name><administrativeGenderCode code="F"/></patient>
    </patientRole>
  </recordTarget>
</ClinicalDocument>
"#;

    #[test]
    fn minimal_document_parses() {
        let header = parse(MINIMAL.as_bytes()).unwrap();
        assert_eq!(header.id.to_string(), "2.16.840.1.113883.19.5^doc-1");
        assert_eq!(header.document_type.code.code, "34133-9");
        assert_eq!(header.document_type.p1_class, None);
        assert_eq!(header.patient.identifiers.len(), 1);
        assert_eq!(header.patient.pesel().unwrap().as_str(), "02070803628");
        assert_eq!(
            header.patient.name.as_ref().unwrap().to_string(),
            "Anna Nowak"
        );
        assert_eq!(header.patient.gender, Some(Gender::Female));
        assert!(header.authors.is_empty());
        assert_eq!(header.title, None);
    }

    #[test]
    fn invalid_pesel_is_kept_and_marked() {
        let text = MINIMAL.replace("02070803628", "62091599999");
        let header = parse(text.as_bytes()).unwrap();
        let identifier = &header.patient.identifiers[0];
        assert!(matches!(identifier.kind, IdentifierKind::InvalidPesel(_)));
        assert_eq!(identifier.id.extension.as_deref(), Some("62091599999"));
        assert_eq!(header.patient.pesel(), None);
    }

    #[test]
    fn missing_mandatory_elements_are_named() {
        let record_target_start = MINIMAL.find("  <recordTarget>").unwrap();
        let record_target_end = MINIMAL.find("</recordTarget>\n").unwrap() + 16;
        let cases: [(&str, &str); 4] = [
            ("id", "  <id root=\"2.16.840.1.113883.19.5\" extension=\"doc-1\"/>\n"),
            ("code", "  <code code=\"34133-9\" codeSystem=\"2.16.840.1.113883.6.1\" displayName=\"Summary of episode note\"/>\n"),
            ("effectiveTime", "  <effectiveTime value=\"20240105\"/>\n"),
            ("recordTarget", &MINIMAL[record_target_start..record_target_end]),
        ];
        for (element, removed) in cases {
            assert!(MINIMAL.contains(removed), "{element}");
            let text = MINIMAL.replacen(removed, "", 1);
            let error = parse(text.as_bytes()).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!(
                    "line 2, column 1: element <{element}> is missing under <ClinicalDocument>"
                )
            );
            assert_eq!(error.element(), Some(element));
            assert_eq!(error.position(), Position { line: 2, column: 1 });
        }
    }

    #[test]
    fn null_flavored_mandatory_values_are_refused() {
        let text = MINIMAL.replace(
            r#"<effectiveTime value="20240105"/>"#,
            r#"<effectiveTime nullFlavor="UNK"/>"#,
        );
        let error = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 5, column 3: element <effectiveTime> has no value attribute"
        );
        let text = MINIMAL.replace(
            r#"<id root="2.16.840.1.113883.19.5" extension="doc-1"/>"#,
            r#"<id nullFlavor="NI"/>"#,
        );
        let error = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 3, column 3: element <id> has no root attribute"
        );
    }

    #[test]
    fn invalid_values_name_element_and_attribute() {
        let text = MINIMAL.replace("20240105", "2024-01-05");
        let error = parse(text.as_bytes()).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with(
                "line 5, column 3: element <effectiveTime> has an invalid value '2024-01-05'"
            ),
            "{message}"
        );
        let text = MINIMAL.replace("2.16.840.1.113883.19.5", "2.16.0840");
        let error = parse(text.as_bytes()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("<id> has an invalid root '2.16.0840'"),
            "{error}"
        );
    }

    #[test]
    fn uuid_document_ids_are_accepted() {
        let text = MINIMAL.replace(
            r#"root="2.16.840.1.113883.19.5" extension="doc-1""#,
            r#"root="2A9AB3E4-5C3A-4E3B-9C1D-0E9F0B1C2D3E""#,
        );
        let header = parse(text.as_bytes()).unwrap();
        assert!(matches!(header.id.root, Uid::Uuid(_)));
        assert_eq!(
            header.id.to_string(),
            "2A9AB3E4-5C3A-4E3B-9C1D-0E9F0B1C2D3E"
        );
    }
}
