//! The IHE MHD mapping of a stored document to FHIR R4: its resource id and its
//! DocumentReference. A FHIR id is at most 64 characters of `[A-Za-z0-9.-]`, which a document
//! id (`root^extension`, up to 512 characters) does not always fit: a document whose root is
//! an OID and whose extension is made of letters, digits, `.` and `-` gets `ROOT-EXTENSION`
//! (or `ROOT`) when that fits, readable and reversible (an OID has no `-`); any other
//! document is named by its row key in the store, `n<key>`. The DocumentEntry mapping follows
//! IHE: `root^extension` becomes system `urn:oid:root` and value `extension`,
//! `attachment.hash` the base64 SHA-1.

use base64::Engine;
use medgate_ids::Oid;
use medgate_storage::{DocumentId, StoredDocument};
use serde_json::{json, Map, Value};

use crate::rfc3339;

/// Longest FHIR resource id (FHIR R4 `id` datatype).
pub const MAX_FHIR_ID_LEN: usize = 64;

const LOINC_OID: &str = "2.16.840.1.113883.6.1";
const LOINC_URI: &str = "http://loinc.org";
/// PIK's document class code system (KLAS_DOK_P1).
const KLAS_DOK_P1_OID: &str = "2.16.840.1.113883.3.4424.11.1.32";
const CONFIDENTIALITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

/// The readable form `ROOT-EXTENSION` / `ROOT`, when the document id allows it.
pub fn readable_fhir_id(document_id: &DocumentId) -> Option<String> {
    let root = document_id.root();
    Oid::parse(root).ok()?;
    let id = match document_id.extension() {
        None => root.to_owned(),
        Some(extension) => {
            let fits = extension
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !fits {
                return None;
            }
            format!("{root}-{extension}")
        }
    };
    (id.len() <= MAX_FHIR_ID_LEN).then_some(id)
}

/// What a FHIR id names, before it is looked up.
#[derive(Debug, PartialEq, Eq)]
pub enum FhirIdTarget {
    Document(DocumentId),
    Key(u64),
}

/// Reads a FHIR id back; `None` when it cannot name any document (then 404).
pub fn parse_fhir_id(id: &str) -> Option<FhirIdTarget> {
    if id.is_empty()
        || id.len() > MAX_FHIR_ID_LEN
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return None;
    }
    if let Some(key) = id.strip_prefix('n') {
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return key.parse().ok().map(FhirIdTarget::Key);
    }
    let document_id = match id.split_once('-') {
        Some((root, extension)) => DocumentId::from_parts(root, Some(extension)).ok()?,
        None => DocumentId::parse(id).ok()?,
    };
    // Only ids this server would have given out: the readable form of that very document.
    (readable_fhir_id(&document_id).as_deref() == Some(id))
        .then_some(FhirIdTarget::Document(document_id))
}

/// An II (root, optional extension) as a FHIR Identifier, the IHE way: `root^extension` is
/// system `urn:oid:<root>` with value `<extension>`; a root alone is system
/// `urn:ietf:rfc:3986` with value `urn:oid:<root>` (or `urn:uuid:<uuid>`).
fn identifier(root: &str, extension: Option<&str>) -> Map<String, Value> {
    let mut identifier = Map::new();
    let root_uri = if Oid::parse(root).is_ok() {
        format!("urn:oid:{root}")
    } else {
        format!("urn:uuid:{}", root.to_ascii_lowercase())
    };
    match extension {
        Some(extension) => {
            identifier.insert("system".into(), Value::String(root_uri));
            identifier.insert("value".into(), Value::String(extension.to_owned()));
        }
        None => {
            identifier.insert("system".into(), Value::String("urn:ietf:rfc:3986".into()));
            identifier.insert("value".into(), Value::String(root_uri));
        }
    }
    identifier
}

/// A code system OID as a FHIR system URI (LOINC by its canonical URL).
fn system_uri(oid: &str) -> String {
    if oid == LOINC_OID {
        LOINC_URI.to_owned()
    } else if oid.contains(':') {
        oid.to_owned()
    } else {
        format!("urn:oid:{oid}")
    }
}

/// The media type without parameters (FHIR `code`s carry no spaces).
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// An HL7 timestamp as a FHIR dateTime with the precision it has: a full time only with a
/// time zone (FHIR requires one), otherwise the date part.
fn fhir_date_time(hl7: &str) -> Option<String> {
    let timestamp = medgate_cda::Timestamp::parse(hl7).ok()?;
    let date = timestamp.date();
    let precision = timestamp.precision();
    if precision >= medgate_cda::Precision::Minute {
        if let Some(instant) = timestamp.to_offset_date_time() {
            let instant = instant.replace_nanosecond(0).unwrap_or(instant);
            return instant
                .format(&time::format_description::well_known::Rfc3339)
                .ok();
        }
    }
    Some(match precision {
        medgate_cda::Precision::Year => format!("{:04}", date.year()),
        medgate_cda::Precision::Month => {
            format!("{:04}-{:02}", date.year(), u8::from(date.month()))
        }
        _ => format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
    })
}

/// The service period from the stored service events: the first event's low and high.
fn service_period(service_event_json: Option<&str>) -> Option<Value> {
    let events: Value = serde_json::from_str(service_event_json?).ok()?;
    events.as_array()?.iter().find_map(|event| {
        let mut period = Map::new();
        for (field, name) in [("low", "start"), ("high", "end")] {
            if let Some(time) = event[field].as_str().and_then(fhir_date_time) {
                period.insert(name.into(), Value::String(time));
            }
        }
        (!period.is_empty()).then_some(Value::Object(period))
    })
}

/// The DocumentReference of a stored document (IHE MHD DocumentEntry mapping).
pub fn document_reference(document: &StoredDocument, id: &str, base: &str) -> Value {
    let metadata = &document.metadata;
    let document_id = &metadata.document_id;
    let mut resource = Map::new();
    resource.insert("resourceType".into(), json!("DocumentReference"));
    resource.insert("id".into(), json!(id));
    let master = identifier(document_id.root(), document_id.extension());
    resource.insert("masterIdentifier".into(), Value::Object(master.clone()));
    let mut identifiers = Vec::new();
    let mut official = master;
    official.insert("use".into(), json!("official"));
    identifiers.push(Value::Object(official));
    if let Some(set_id) = &metadata.set_id {
        let mut set = identifier(set_id.root(), set_id.extension());
        set.insert("use".into(), json!("secondary"));
        set.insert("type".into(), json!({ "text": "setId" }));
        identifiers.push(Value::Object(set));
    }
    resource.insert("identifier".into(), Value::Array(identifiers));
    resource.insert("status".into(), json!("current"));

    if let Some(code) = &metadata.type_code {
        let mut coding = Map::new();
        if let Some(system) = &metadata.type_system {
            coding.insert("system".into(), json!(system_uri(system)));
        }
        coding.insert("code".into(), json!(code));
        if let Some(display) = &metadata.type_display {
            coding.insert("display".into(), json!(display));
        }
        let mut concept = Map::new();
        concept.insert("coding".into(), json!([coding]));
        if let Some(display) = &metadata.type_display {
            concept.insert("text".into(), json!(display));
        }
        resource.insert("type".into(), Value::Object(concept));
    }
    if let Some(class) = &metadata.class_code {
        resource.insert(
            "category".into(),
            json!([{ "coding": [{ "system": system_uri(KLAS_DOK_P1_OID), "code": class }] }]),
        );
    }

    let mut subject = Map::new();
    subject.insert(
        "identifier".into(),
        Value::Object(identifier(
            metadata.patient.root.as_str(),
            Some(&metadata.patient.extension),
        )),
    );
    if let Some(name) = &metadata.patient_name {
        subject.insert("display".into(), json!(name));
    }
    resource.insert("subject".into(), Value::Object(subject));
    resource.insert("date".into(), json!(rfc3339(document.created_at)));

    let mut authors = Vec::new();
    if let Some(author) = &metadata.author_name {
        authors.push(json!({ "display": author }));
    }
    if let Some(organisation) = &metadata.organisation {
        authors.push(json!({ "display": organisation }));
    }
    if !authors.is_empty() {
        resource.insert("author".into(), Value::Array(authors));
    }
    if let Some(authenticator) = &metadata.legal_authenticator {
        resource.insert("authenticator".into(), json!({ "display": authenticator }));
    }
    if let Some(custodian) = &metadata.custodian {
        resource.insert("custodian".into(), json!({ "display": custodian }));
    }
    if let Some(title) = &metadata.title {
        resource.insert("description".into(), json!(title));
    }
    if let Some(confidentiality) = &metadata.confidentiality {
        resource.insert(
            "securityLabel".into(),
            json!([{ "coding": [{ "system": CONFIDENTIALITY_SYSTEM, "code": confidentiality }] }]),
        );
    }

    let mut attachment = Map::new();
    attachment.insert(
        "contentType".into(),
        json!(media_type(&metadata.content_type)),
    );
    if let Some(language) = &metadata.language {
        attachment.insert("language".into(), json!(language));
    }
    attachment.insert("url".into(), json!(format!("{base}/fhir/Binary/{id}")));
    attachment.insert("size".into(), json!(metadata.size_bytes));
    attachment.insert(
        "hash".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(metadata.sha1.as_bytes())),
    );
    if let Some(title) = &metadata.title {
        attachment.insert("title".into(), json!(title));
    }
    // The document's own date (a `dateTime`): its offset, or a bare date when it gives no
    // time. `date` above is when this reference was made (the upload), as FHIR defines it.
    attachment.insert(
        "creation".into(),
        json!(crate::dates::DocumentTime::of(metadata).fhir_date_time()),
    );
    resource.insert("content".into(), json!([{ "attachment": attachment }]));

    if let Some(period) = service_period(metadata.service_event_json.as_deref()) {
        resource.insert("context".into(), json!({ "period": period }));
    }
    Value::Object(resource)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn readable_ids_round_trip_and_others_need_a_key() {
        let id = DocumentId::parse("2.16.840.1.113883.3.4424.2.7.0.7.1^2345678").unwrap();
        let fhir = readable_fhir_id(&id).unwrap();
        assert_eq!(fhir, "2.16.840.1.113883.3.4424.2.7.0.7.1-2345678");
        assert_eq!(parse_fhir_id(&fhir), Some(FhirIdTarget::Document(id)));
        let with_dash = DocumentId::parse("1.2.3^a-b").unwrap();
        assert_eq!(
            parse_fhir_id(&readable_fhir_id(&with_dash).unwrap()),
            Some(FhirIdTarget::Document(with_dash))
        );
        let root_only = DocumentId::parse("1.2.3.4").unwrap();
        assert_eq!(readable_fhir_id(&root_only).unwrap(), "1.2.3.4");
        // Not representable: a `^`-free extension with other characters, a UUID root, too long.
        for text in [
            "1.2.3^a_b",
            "1.2.3^a b",
            "6f1a2b3c-0000-4000-8000-000000000001",
            &format!("1.2.3^{}", "7".repeat(60)),
        ] {
            assert_eq!(
                readable_fhir_id(&DocumentId::parse(text).unwrap()),
                None,
                "{text}"
            );
        }
        assert_eq!(parse_fhir_id("n42"), Some(FhirIdTarget::Key(42)));
        for bad in ["", "n", "nx", "x.y-1", "1.2^3", &"1".repeat(65)] {
            assert_eq!(parse_fhir_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn hl7_times_keep_their_precision() {
        assert_eq!(fhir_date_time("2014").unwrap(), "2014");
        assert_eq!(fhir_date_time("201409").unwrap(), "2014-09");
        assert_eq!(fhir_date_time("20140906").unwrap(), "2014-09-06");
        assert_eq!(fhir_date_time("201409051012").unwrap(), "2014-09-05");
        assert_eq!(
            fhir_date_time("20150301122300+0100").unwrap(),
            "2015-03-01T12:23:00+01:00"
        );
        assert_eq!(fhir_date_time("yesterday"), None);
    }

    #[tokio::test]
    async fn a_document_reference_follows_the_mhd_mapping() {
        let fixture = crate::testing::Fixture::new().await;
        let stored = crate::ingest::put_document(
            &fixture.repository,
            &fixture.actor,
            None,
            bytes::Bytes::from(crate::testing::fixture_cda()),
        )
        .await
        .unwrap();
        let id = readable_fhir_id(&stored.metadata.document_id).unwrap();
        let resource = document_reference(&stored, &id, "https://node.example:8443");
        assert_eq!(resource["resourceType"], "DocumentReference");
        assert_eq!(resource["id"], "2.16.840.1.113883.19.5.99999.1-TT988");
        assert_eq!(
            resource["masterIdentifier"],
            json!({ "system": "urn:oid:2.16.840.1.113883.19.5.99999.1", "value": "TT988" })
        );
        assert_eq!(
            resource["subject"]["identifier"],
            json!({ "system": "urn:oid:2.16.840.1.113883.19.5.99999.2", "value": "998991" })
        );
        let attachment = &resource["content"][0]["attachment"];
        assert_eq!(
            attachment["url"],
            "https://node.example:8443/fhir/Binary/2.16.840.1.113883.19.5.99999.1-TT988"
        );
        assert_eq!(
            attachment["hash"],
            base64::engine::general_purpose::STANDARD.encode(stored.metadata.sha1.as_bytes())
        );
        assert_eq!(attachment["contentType"], "application/xml");
        assert_eq!(resource["status"], "current");
    }
}
