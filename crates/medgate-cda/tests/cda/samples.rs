//! Every PIK sample and the C-CDA fixture parse; header values checked by hand for a few.

use medgate_cda::{parse, Gender, IdentifierKind, Precision, Uid};
use time::macros::{date, offset, time};

use crate::support::{fixture, pik_sample, pik_samples, pik_schema, required_peer};

#[test]
fn every_pik_sample_parses_with_the_mandatory_header() {
    for path in pik_samples("every_pik_sample_parses_with_the_mandatory_header") {
        let bytes = std::fs::read(&path).unwrap();
        let header = parse(&bytes).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(
            header
                .document_type
                .code
                .code_system
                .as_ref()
                .unwrap()
                .as_str(),
            medgate_cda::LOINC_OID,
            "{name}"
        );
        let p1 = header
            .document_type
            .p1_class
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no P1 class"));
        assert_eq!(
            p1.code_system.as_ref().unwrap().as_str(),
            medgate_cda::KLAS_DOK_P1_OID,
            "{name}"
        );
        assert!(header.title.is_some(), "{name}: no title");
        assert!(header.patient.name.is_some(), "{name}: no patient name");
        assert!(
            header
                .patient
                .identifiers
                .iter()
                .any(|identifier| identifier.id.root.as_str() == medgate_ids::Pesel::OID),
            "{name}: no PESEL"
        );
        assert!(!header.authors.is_empty(), "{name}: no author");
        assert!(header.custodian.is_some(), "{name}: no custodian");
        assert!(
            header.legal_authenticator.is_some(),
            "{name}: no legal authenticator"
        );
        assert_eq!(header.language.as_deref(), Some("pl-PL"), "{name}");
    }
}

#[test]
fn pik_prescription_header_by_hand() {
    let Some(bytes) = pik_sample("1.3-1.xml", "pik_prescription_header_by_hand") else {
        return;
    };
    let header = parse(&bytes).unwrap();
    assert_eq!(
        header.id.to_string(),
        "2.16.840.1.113883.3.4424.2.7.99999.2.1^876543"
    );
    assert_eq!(
        header.set_id.unwrap().to_string(),
        "2.16.840.1.113883.3.4424.2.7.99999.2.1^432231"
    );
    assert_eq!(header.version_number, Some(1));
    let code = &header.document_type.code;
    assert_eq!(code.code, "57833-6");
    assert_eq!(code.code_system_name.as_deref(), Some("LOINC"));
    assert_eq!(
        code.display_name.as_deref(),
        Some("Prescription for medication Document")
    );
    let p1 = header.document_type.p1_class.unwrap();
    assert_eq!(
        (p1.code.as_str(), p1.display_name.as_deref()),
        ("04.01", Some("Recepta"))
    );
    assert_eq!(header.title.as_deref(), Some("Recepta"));
    assert_eq!(header.effective_time.date(), date!(2017 - 10 - 12));
    assert_eq!(header.effective_time.precision(), Precision::Day);
    assert_eq!(header.confidentiality.unwrap().code, "N");

    let patient = &header.patient;
    assert_eq!(patient.identifiers.len(), 2);
    assert_eq!(
        patient.identifiers[0].id.to_string(),
        "2.16.840.1.113883.3.4424.2.7.99999.17.1^12345"
    );
    assert_eq!(patient.identifiers[0].kind, IdentifierKind::Other);
    // The sample's PESEL 62091599999 is a placeholder whose check digit should be 1, not 9.
    let pesel = &patient.identifiers[1];
    assert_eq!(pesel.id.extension.as_deref(), Some("62091599999"));
    match &pesel.kind {
        IdentifierKind::InvalidPesel(error) => {
            assert!(error.rule.contains("check digit"), "{error}")
        }
        other => panic!("expected an invalid PESEL, got {other:?}"),
    }
    assert_eq!(patient.pesel(), None);
    let name = patient.name.as_ref().unwrap();
    assert_eq!(name.given, ["Jan", "Franciszek"]);
    assert_eq!(name.family, ["Kowalski"]);
    assert_eq!(patient.gender, Some(Gender::Male));
    assert_eq!(
        patient.birth_time.as_ref().unwrap().date(),
        date!(1962 - 09 - 15)
    );

    let author = &header.authors[0];
    assert_eq!(author.person.as_ref().unwrap().to_string(), "Adam Kowalski");
    assert_eq!(
        author.ids[0].to_string(),
        "2.16.840.1.113883.3.4424.1.6.2^98765"
    );
    assert_eq!(author.time.as_ref().unwrap().date(), date!(2017 - 10 - 12));
    let organization = author.organization.as_ref().unwrap();
    assert_eq!(organization.name.as_deref(), Some("Poradnia POZ"));
    assert_eq!(
        organization.ids[0].to_string(),
        "2.16.840.1.113883.3.4424.2.3.2^1007-01"
    );
    let clinic = organization.part_of.as_ref().unwrap();
    assert_eq!(
        clinic.ids[0].to_string(),
        "2.16.840.1.113883.3.4424.2.2.2^12345678901234"
    );
    assert_eq!(clinic.part_of.as_ref().unwrap().ids.len(), 2);

    let custodian = header.custodian.unwrap();
    assert_eq!(custodian.ids[0].to_string(), "2.16.840.1.113883.3.4424");
    assert_eq!(custodian.name, None);
    let signer = header.legal_authenticator.unwrap();
    assert_eq!(signer.signature_code.as_deref(), Some("S"));
    assert_eq!(
        signer.ids[0].to_string(),
        "2.16.840.1.113883.3.4424.1.6.2^98765"
    );
    assert!(header.service_events.is_empty());
}

#[test]
fn pik_dispensation_with_a_valid_pesel_by_hand() {
    let Some(bytes) = pik_sample("1.27-1.xml", "pik_dispensation_with_a_valid_pesel_by_hand")
    else {
        return;
    };
    let header = parse(&bytes).unwrap();
    assert_eq!(
        header.id.to_string(),
        "2.16.840.1.113883.3.4424.2.7.99999.5.1^1234567"
    );
    assert_eq!(header.version_number, Some(2));
    assert_eq!(header.document_type.code.code, "60593-1");
    assert_eq!(header.document_type.p1_class.unwrap().code, "04.12");
    assert_eq!(
        header.title.as_deref(),
        Some("Realizacja recepty elektronicznej")
    );
    let effective = &header.effective_time;
    assert_eq!(effective.date(), date!(2015 - 03 - 01));
    assert_eq!(effective.time(), Some(time!(12:23:00)));
    assert_eq!(effective.offset(), None);
    assert_eq!(effective.to_string(), "2015-03-01 12:23:00");
    assert_eq!(header.patient.pesel().unwrap().as_str(), "96013002256");
    assert_eq!(
        header.patient.name.as_ref().unwrap().to_string(),
        "Anna Maria Nowak"
    );
    assert_eq!(header.patient.gender, Some(Gender::Female));
    assert_eq!(
        header.patient.birth_time.as_ref().unwrap().date(),
        date!(1996 - 01 - 30)
    );
    let author = &header.authors[0];
    assert_eq!(
        author.person.as_ref().unwrap().to_string(),
        "mgr Miłosz Najman"
    );
    assert_eq!(
        author.organization.as_ref().unwrap().name.as_deref(),
        Some("Apteka porcelanowa")
    );
}

#[test]
fn pik_imaging_result_with_a_service_event_by_hand() {
    let Some(bytes) = pik_sample(
        "1.16-1.xml",
        "pik_imaging_result_with_a_service_event_by_hand",
    ) else {
        return;
    };
    let header = parse(&bytes).unwrap();
    assert_eq!(header.document_type.code.code, "70004-7");
    assert_eq!(header.document_type.p1_class.unwrap().code, "06.00");
    assert_eq!(header.title.as_deref(), Some("RTG klatki piersiowej"));
    assert_eq!(header.effective_time.date(), date!(2014 - 09 - 06));
    assert_eq!(header.service_events.len(), 1);
    let event = &header.service_events[0];
    let code = event.code.as_ref().unwrap();
    assert_eq!(
        (code.code.as_str(), code.code_system_name.as_deref()),
        ("87.440", Some("ICD-9-PL"))
    );
    let low = event.low.as_ref().unwrap();
    assert_eq!(low.to_string(), "2014-09-05 10:12");
    assert_eq!(event.high.as_ref(), Some(low));
}

#[test]
fn pik_nursing_record_with_ward_and_hospital_by_hand() {
    let Some(bytes) = pik_sample(
        "1.22-1.xml",
        "pik_nursing_record_with_ward_and_hospital_by_hand",
    ) else {
        return;
    };
    let header = parse(&bytes).unwrap();
    assert_eq!(header.patient.pesel().unwrap().as_str(), "64012608919");
    assert_eq!(
        header.title.as_deref(),
        Some("Karta wywiadu pielęgniarskiego")
    );
    assert_eq!(header.document_type.p1_class.unwrap().code, "05.70");
    let ward = header.authors[0].organization.as_ref().unwrap();
    assert_eq!(ward.name.as_deref(), Some("Oddział neurologii"));
    assert_eq!(
        ward.part_of.as_ref().unwrap().name.as_deref(),
        Some("Wojewódzki szpital specjalistyczny")
    );
    assert_eq!(
        header.custodian.unwrap().ids[0].to_string(),
        "2.16.840.1.113883.3.4424.2.3.1^1007"
    );
}

#[test]
fn ccda_fixture_parses() {
    let header = parse(&fixture("ccda-continuity-of-care.xml")).unwrap();
    assert_eq!(
        header.id.to_string(),
        "2.16.840.1.113883.19.5.99999.1^TT988"
    );
    assert_eq!(
        header.set_id.unwrap().to_string(),
        "2.16.840.1.113883.19.5.99999.19^sTT988"
    );
    assert_eq!(header.version_number, Some(2));
    assert_eq!(header.template_ids.len(), 2);
    assert_eq!(
        header.template_ids[0].root.as_str(),
        "2.16.840.1.113883.10.20.22.1.1"
    );
    assert_eq!(header.document_type.code.code, "34133-9");
    assert_eq!(header.document_type.p1_class, None);
    assert_eq!(header.title.as_deref(), Some("Continuity of Care Document"));
    let effective = &header.effective_time;
    assert_eq!(effective.offset(), Some(offset!(-5)));
    assert_eq!(
        effective
            .to_offset_date_time()
            .unwrap()
            .to_offset(offset!(UTC))
            .time(),
        time!(19:30)
    );
    assert_eq!(header.language.as_deref(), Some("en-US"));

    let patient = &header.patient;
    assert_eq!(
        patient.identifiers.len(),
        2,
        "the nullFlavor id is left out"
    );
    assert!(patient
        .identifiers
        .iter()
        .all(|identifier| identifier.kind == IdentifierKind::Other));
    assert_eq!(
        patient.identifiers[1].id.to_string(),
        "2.16.840.1.113883.4.1^111-00-2330"
    );
    assert_eq!(patient.pesel(), None);
    assert_eq!(
        patient.name.as_ref().unwrap().to_string(),
        "Eve Marie Everywoman"
    );
    assert_eq!(patient.gender, Some(Gender::Female));
    assert_eq!(
        patient.birth_time.as_ref().unwrap().date(),
        date!(1975 - 05 - 01)
    );

    assert_eq!(header.authors.len(), 2);
    assert_eq!(
        header.authors[0].person.as_ref().unwrap().to_string(),
        "Dr. Henry Seven"
    );
    assert_eq!(header.authors[1].person, None);
    assert_eq!(
        header.authors[1].device.as_deref(),
        Some("Generic EHR, Generic EHR Clinical System 2.0")
    );
    assert_eq!(
        header.authors[1].time.as_ref().unwrap().precision(),
        Precision::Minute
    );
    assert_eq!(
        header.custodian.unwrap().name.as_deref(),
        Some("Good Health Clinic")
    );
    let signer = header.legal_authenticator.unwrap();
    assert_eq!(signer.person.unwrap().to_string(), "Henry Seven");
    let event = &header.service_events[0];
    assert_eq!(
        event.code.as_ref().unwrap().display_name.as_deref(),
        Some("Pneumonia")
    );
    assert_eq!(event.low.as_ref().unwrap().date(), date!(2023 - 12 - 01));
    assert_eq!(event.high.as_ref().unwrap().date(), date!(2024 - 01 - 05));
    assert!(matches!(header.id.root, Uid::Oid(_)));
}

#[test]
fn hashes_are_over_the_original_bytes() {
    let bytes = fixture("ccda-continuity-of-care.xml");
    let hashes = medgate_cda::hashes(&bytes);
    assert_eq!(hashes.size, bytes.len() as u64);
    assert_eq!(hashes.sha256_hex.len(), 64);
    assert_eq!(hashes.sha1_hex.len(), 40);
    assert_ne!(
        medgate_cda::hashes(&bytes[1..]).sha256_hex,
        hashes.sha256_hex
    );
}

/// The samples are valid against the PIK schemas (an independent check that the samples we
/// test against are real PIK documents), by xmllint.
#[test]
fn pik_samples_are_valid_against_the_pik_schema() {
    let test = "pik_samples_are_valid_against_the_pik_schema";
    let samples = pik_samples(test);
    if samples.is_empty() || !required_peer("xmllint", "libxml2-utils") {
        return;
    }
    let output = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(pik_schema())
        .args(&samples)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
