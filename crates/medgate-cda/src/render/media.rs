//! Images embedded in a CDA document (`observationMedia/value`, a non-XML body) turned into
//! `data:` URIs: only base64 PNG, JPEG and GIF whose bytes really are that format. SVG and
//! everything else is refused, because it can carry script or load external resources.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use roxmltree::Node;

use crate::xml::attribute;

/// Base64 as found in documents: padding optional, whitespace removed beforehand.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The image types that are shown, with the first bytes every file of the type starts with.
const IMAGE_TYPES: &[(&str, &[u8])] = &[
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xFF\xD8\xFF"),
    ("image/gif", b"GIF8"),
];

/// A `data:` URI for an `ED` value element holding a base64 PNG, JPEG or GIF image; `None`
/// for anything else (another media type, a reference, text, bytes that do not match).
pub(crate) fn image_data_uri(value: Node<'_, '_>) -> Option<String> {
    let media_type = attribute(value, "mediaType")?.to_ascii_lowercase();
    if attribute(value, "representation") != Some("B64") {
        return None;
    }
    let signature = IMAGE_TYPES
        .iter()
        .find(|(known, _)| *known == media_type)
        .map(|(_, signature)| *signature)?;
    let encoded: String = value
        .children()
        .filter(|node| node.is_text())
        .flat_map(|node| node.text().unwrap_or("").chars())
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = LENIENT.decode(encoded.as_bytes()).ok()?;
    if !bytes.starts_with(signature) {
        return None;
    }
    // Re-encoding gives a canonical value whatever the document's line breaks or padding.
    Some(format!(
        "data:{media_type};base64,{}",
        STANDARD.encode(&bytes)
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    /// A 1×1 PNG.
    const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

    fn value(xml: &str) -> Option<String> {
        let document = roxmltree::Document::parse(xml).unwrap();
        image_data_uri(document.root_element())
    }

    #[test]
    fn png_becomes_a_data_uri() {
        let wrapped = format!(
            "<value mediaType='image/png' representation='B64'>\n{}\n{}\n</value>",
            &PNG[..40],
            &PNG[40..]
        );
        assert_eq!(
            value(&wrapped),
            Some(format!("data:image/png;base64,{PNG}"))
        );
    }

    #[test]
    fn other_types_and_mismatches_are_refused() {
        let svg = base64::engine::general_purpose::STANDARD
            .encode("<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>");
        assert_eq!(
            value(&format!(
                "<value mediaType='image/svg+xml' representation='B64'>{svg}</value>"
            )),
            None
        );
        assert_eq!(
            value(&format!(
                "<value mediaType='image/jpeg' representation='B64'>{PNG}</value>"
            )),
            None
        );
        assert_eq!(
            value(&format!("<value mediaType='image/png'>{PNG}</value>")),
            None
        );
        assert_eq!(
            value("<value mediaType='image/png' representation='B64'>not base64!</value>"),
            None
        );
    }
}
