//! How a stored file leaves the node: the one way a document's (hash-checked) bytes are sent
//! as a file — the API, FHIR `Binary`, the administrator's archive, the portal. An attachment
//! ([`crate::layout::download`]: `Content-Disposition: attachment`, the sandbox CSP of every
//! download, `nosniff`) with the stored media type only when [`served_content_type`] allows
//! it, and the bytes' SHA-256. An uploader's `text/html` is thus never rendered on this
//! origin, where the staff pages and the portal live.

use axum::http::HeaderValue;
use axum::response::Response;
use medgate_storage::DocumentMetadata;

/// The header carrying the SHA-256 of the bytes sent, so the client can check what it got.
pub const CONTENT_SHA256_HEADER: &str = "x-content-sha256";

/// Media types a stored file is sent back with as its own type: the CDA's XML types, PDF,
/// common images, plain text — none of which a browser runs script in when it renders them
/// (SVG, HTML and the like are left out on purpose). Any other stored type goes out as
/// `application/octet-stream`.
const SERVED_AS_IS: [&str; 9] = [
    "application/xml",
    "text/xml",
    "application/hl7-v3+xml",
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/tiff",
    "text/plain",
];

/// The `Content-Type` a stored file is sent with: its media type (without parameters) when
/// [`SERVED_AS_IS`] lists it, else `application/octet-stream`.
pub fn served_content_type(content_type: &str) -> &'static str {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    SERVED_AS_IS
        .iter()
        .find(|allowed| **allowed == essence)
        .copied()
        .unwrap_or("application/octet-stream")
}

/// A stored document's checked bytes as a download named `file_name` (a safe name, as the
/// repository makes them).
pub fn content_download(
    metadata: &DocumentMetadata,
    file_name: &str,
    bytes: bytes::Bytes,
) -> Response {
    let mut response = crate::layout::download(
        served_content_type(&metadata.content_type),
        file_name,
        bytes,
    );
    if let Ok(value) = HeaderValue::from_str(&metadata.sha256.to_hex()) {
        response.headers_mut().insert(CONTENT_SHA256_HEADER, value);
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use axum::http::header;
    use medgate_ids::Oid;
    use medgate_storage::{
        ContentKey, DocumentId, DocumentKind, PatientIdentifier, Sha1Digest, Sha256Digest,
    };
    use time::OffsetDateTime;

    use super::*;

    #[test]
    fn only_listed_types_are_served_as_themselves() {
        for (stored, served) in [
            ("application/pdf", "application/pdf"),
            ("Image/JPEG", "image/jpeg"),
            ("application/hl7-v3+xml", "application/hl7-v3+xml"),
            ("text/plain; charset=utf-8", "text/plain"),
            ("text/html", "application/octet-stream"),
            ("text/html; charset=utf-8", "application/octet-stream"),
            ("image/svg+xml", "application/octet-stream"),
            ("application/xhtml+xml", "application/octet-stream"),
            ("application/octet-stream", "application/octet-stream"),
        ] {
            assert_eq!(served_content_type(stored), served, "{stored}");
        }
    }

    #[test]
    fn downloads_are_attachments_under_the_sandbox() {
        let body = b"<script>x()</script>";
        let metadata = DocumentMetadata {
            document_id: DocumentId::parse("1.2.3^x").unwrap(),
            set_id: None,
            version: None,
            kind: DocumentKind::Attachment,
            type_code: None,
            type_system: None,
            type_display: None,
            class_code: None,
            title: None,
            effective_time: OffsetDateTime::UNIX_EPOCH,
            effective_time_as_written: None,
            confidentiality: None,
            language: None,
            patient: PatientIdentifier {
                root: Oid::parse(medgate_ids::Pesel::OID).unwrap(),
                extension: "44051401359".to_owned(),
            },
            other_patient_ids: Vec::new(),
            patient_name: None,
            patient_birth_date: None,
            patient_gender: None,
            author_name: None,
            author_id: None,
            organisation: None,
            custodian: None,
            legal_authenticator: None,
            service_event_json: None,
            content_type: "text/html".to_owned(),
            size_bytes: 20,
            sha256: Sha256Digest::of(body),
            sha1: Sha1Digest::of(body),
            content_key: ContentKey::generate().unwrap(),
        };
        let response = content_download(&metadata, "1.2.3_x.bin", bytes::Bytes::from_static(body));
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"1.2.3_x.bin\""
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            crate::layout::DOWNLOAD_CSP
        );
        assert_eq!(
            headers[CONTENT_SHA256_HEADER],
            Sha256Digest::of(body).to_hex().as_str()
        );
    }
}
