//! Bad input is refused with an error that names the line (and column) and the element.

use medgate_cda::{parse, render_html, CdaError, Position};

use crate::support::{fixture, pik_sample};

/// The 1-based line of the first occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    let offset = text.find(needle).unwrap();
    text[..offset].matches('\n').count() as u32 + 1
}

#[test]
fn binary_data_is_refused_with_its_position() {
    let error = parse(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj").unwrap_err();
    assert!(matches!(error, CdaError::NotText { .. }), "{error:?}");
    assert_eq!(error.position(), Position { line: 2, column: 2 });
    assert!(
        error
            .to_string()
            .starts_with("line 2, column 2: the document is not XML text"),
        "{error}"
    );
}

#[test]
fn plain_text_is_malformed_xml() {
    let error = parse(b"Hello, this is not XML").unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 1, column 1: XML is malformed: unknown token"
    );
    assert!(parse(b"").is_err());
}

#[test]
fn malformed_xml_names_the_line() {
    let text = String::from_utf8(fixture("ccda-continuity-of-care.xml")).unwrap();
    let broken = text.replacen("</title>", "</titel>", 1);
    let error = parse(broken.as_bytes()).unwrap_err();
    assert!(matches!(error, CdaError::MalformedXml { .. }), "{error:?}");
    let message = error.to_string();
    let line = line_of(&broken, "</titel>");
    assert!(
        message.starts_with(&format!("line {line}, column ")),
        "{message}"
    );
    assert!(message.contains("XML is malformed"), "{message}");
    assert!(
        message.contains("title"),
        "the message names the element: {message}"
    );

    let unescaped = text.replacen("Allergies, Adverse Reactions &amp; Alerts", "A & B", 1);
    let error = parse(unescaped.as_bytes()).unwrap_err();
    assert_eq!(error.position().line, line_of(&unescaped, "A & B"));
}

#[test]
fn a_document_that_is_not_a_cda_is_refused() {
    let error = parse(
        b"<?xml version=\"1.0\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><body/></html>",
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 2, column 1: the root element is <html>, but a CDA document's root element is \
         <ClinicalDocument> in namespace urn:hl7-org:v3"
    );
    assert_eq!(error.element(), Some("html"));
}

#[test]
fn wrong_namespace_is_refused() {
    let text = String::from_utf8(fixture("ccda-continuity-of-care.xml")).unwrap();
    let wrong = text.replacen("xmlns=\"urn:hl7-org:v3\"", "xmlns=\"urn:hl7-org:v2\"", 1);
    let error = parse(wrong.as_bytes()).unwrap_err();
    let line = line_of(&wrong, "<ClinicalDocument");
    assert_eq!(
        error,
        CdaError::WrongNamespace {
            position: Position { line, column: 1 },
            found: Some("urn:hl7-org:v2".to_owned()),
        }
    );
    assert!(error
        .to_string()
        .contains("element <ClinicalDocument> is in namespace 'urn:hl7-org:v2'"));

    let none = parse(b"<ClinicalDocument><id/></ClinicalDocument>").unwrap_err();
    assert_eq!(
        none.to_string(),
        "line 1, column 1: element <ClinicalDocument> is in namespace (none), but a CDA \
         document must use namespace urn:hl7-org:v3"
    );
}

#[test]
fn missing_record_target_is_named() {
    let text = String::from_utf8(fixture("ccda-continuity-of-care.xml")).unwrap();
    let start = text.find("  <recordTarget>").unwrap();
    let end = text.find("</recordTarget>\n").unwrap() + "</recordTarget>\n".len();
    let without = format!("{}{}", &text[..start], &text[end..]);
    let error = parse(without.as_bytes()).unwrap_err();
    let line = line_of(&without, "<ClinicalDocument");
    assert_eq!(
        error.to_string(),
        format!(
            "line {line}, column 1: element <recordTarget> is missing under <ClinicalDocument>"
        )
    );
    assert_eq!(error.element(), Some("recordTarget"));
    assert_eq!(
        render_html(without.as_bytes()).unwrap_err(),
        error,
        "render refuses it the same way"
    );
}

#[test]
fn missing_record_target_in_a_pik_sample_is_named() {
    let Some(bytes) = pik_sample(
        "1.3-1.xml",
        "missing_record_target_in_a_pik_sample_is_named",
    ) else {
        return;
    };
    let text = String::from_utf8(bytes).unwrap();
    let start = text.find("    <recordTarget>").unwrap();
    let end = text.find("</recordTarget>\n").unwrap() + "</recordTarget>\n".len();
    let without = format!("{}{}", &text[..start], &text[end..]);
    let error = parse(without.as_bytes()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 3, column 1: element <recordTarget> is missing under <ClinicalDocument>"
    );
}

#[test]
fn missing_patient_role_is_named_under_record_target() {
    let text = String::from_utf8(fixture("ccda-continuity-of-care.xml")).unwrap();
    let broken = text.replacen("<patientRole>", "<patientRol>", 1).replacen(
        "</patientRole>",
        "</patientRol>",
        1,
    );
    let error = parse(broken.as_bytes()).unwrap_err();
    let line = line_of(&broken, "<recordTarget>");
    assert_eq!(
        error.to_string(),
        format!("line {line}, column 3: element <patientRole> is missing under <recordTarget>")
    );
}

#[test]
fn doctype_and_external_entities_are_refused() {
    let xxe = b"<?xml version=\"1.0\"?>\n<!DOCTYPE ClinicalDocument [\n  <!ENTITY secret SYSTEM \"file:///etc/passwd\">\n]>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>&secret;</title></ClinicalDocument>";
    let error = parse(xxe).unwrap_err();
    assert_eq!(
        error,
        CdaError::DoctypeForbidden {
            position: Position { line: 2, column: 1 }
        }
    );
    assert!(error
        .to_string()
        .starts_with("line 2, column 1: a document type declaration"));

    let laughs = b"<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]><ClinicalDocument xmlns=\"urn:hl7-org:v3\">&lol2;</ClinicalDocument>";
    assert!(matches!(
        parse(laughs),
        Err(CdaError::DoctypeForbidden { .. })
    ));
    assert!(matches!(
        render_html(laughs),
        Err(CdaError::DoctypeForbidden { .. })
    ));
}

#[test]
fn invalid_timestamp_is_named() {
    let text = String::from_utf8(fixture("ccda-continuity-of-care.xml")).unwrap();
    let broken = text.replacen(
        "<birthTime value=\"19750501\"/>",
        "<birthTime value=\"1975-05-01\"/>",
        1,
    );
    let error = parse(broken.as_bytes()).unwrap_err();
    let line = line_of(&broken, "<birthTime");
    assert!(
        error.to_string().starts_with(&format!(
            "line {line}, column 9: element <birthTime> has an invalid value '1975-05-01'"
        )),
        "{error}"
    );
}
