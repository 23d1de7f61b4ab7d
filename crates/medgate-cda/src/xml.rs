//! Turning bytes into a checked XML tree whose root is a CDA `ClinicalDocument`, and the small
//! helpers every other module uses to walk it in the HL7 v3 namespace.
//!
//! Security: the parser never resolves external entities or loads anything; documents with a
//! `<!DOCTYPE>` are refused outright, so entity-expansion attacks cannot start either.

use roxmltree::{Document, Node, ParsingOptions};

use crate::error::{quoted_value, CdaError, Position};
use crate::CDA_NAMESPACE;

/// Decodes `bytes` as UTF-8 (without a byte-order mark), refusing other encodings with the
/// position of the first byte that is not UTF-8.
pub(crate) fn decode(bytes: &[u8]) -> Result<&str, CdaError> {
    let start = Position { line: 1, column: 1 };
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(CdaError::NotText {
            position: start,
            reason: "it starts with a UTF-16 byte-order mark; CDA documents must be UTF-8"
                .to_owned(),
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let valid_prefix = std::str::from_utf8(&bytes[..error.valid_up_to()]).unwrap_or("");
            return Err(CdaError::NotText {
                position: Position::of_offset(valid_prefix, valid_prefix.len()),
                reason: format!(
                    "byte {} is not UTF-8 (binary data, or a text encoding other than UTF-8)",
                    error.valid_up_to() + 1
                ),
            });
        }
    };
    check_declared_encoding(text)?;
    Ok(text)
}

/// A declaration may name another encoding. Pure ASCII reads the same in every encoding CDA
/// documents use, so that is accepted; anything else would be decoded wrongly and is refused.
fn check_declared_encoding(text: &str) -> Result<(), CdaError> {
    let Some(rest) = text.strip_prefix("<?xml") else {
        return Ok(());
    };
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Ok(());
    }
    let declaration = &rest[..rest.find("?>").unwrap_or(rest.len())];
    let Some(at) = declaration.find("encoding") else {
        return Ok(());
    };
    let after = declaration[at + "encoding".len()..].trim_start();
    let Some(after) = after.strip_prefix('=') else {
        return Ok(());
    };
    let after = after.trim_start();
    let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        return Ok(());
    };
    let label = after[1..].split(quote).next().unwrap_or("");
    let utf8_compatible = ["utf-8", "utf8", "us-ascii", "ascii"]
        .iter()
        .any(|known| label.eq_ignore_ascii_case(known));
    if utf8_compatible || text.is_ascii() {
        return Ok(());
    }
    Err(CdaError::NotText {
        position: Position::of_offset(text, "<?xml".len() + at + 1),
        reason: format!(
            "the XML declaration names encoding '{}'; only UTF-8 CDA documents are accepted",
            quoted_value(label)
        ),
    })
}

/// Parses `text` into a tree and checks that its root is `ClinicalDocument` in the HL7 v3
/// namespace.
pub(crate) fn load(text: &str) -> Result<Document<'_>, CdaError> {
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    let document = Document::parse_with_options(text, options).map_err(|error| {
        let position = match error {
            roxmltree::Error::UnclosedRootNode
            | roxmltree::Error::UnexpectedEndOfStream
            | roxmltree::Error::NoRootNode => Position::of_offset(text, text.len()),
            _ => {
                let at = error.pos();
                Position {
                    line: at.row,
                    column: at.col,
                }
            }
        };
        if error == roxmltree::Error::DtdDetected {
            return CdaError::DoctypeForbidden {
                position: text
                    .find("<!DOCTYPE")
                    .map_or(position, |offset| Position::of_offset(text, offset)),
            };
        }
        // roxmltree puts " at LINE:COLUMN" into its messages; ours start with the position.
        let at = error.pos();
        let reason = error
            .to_string()
            .replace(&format!(" at {}:{}", at.row, at.col), "");
        CdaError::MalformedXml { position, reason }
    })?;
    let root = document.root_element();
    let position = position_of(root);
    if root.tag_name().name() != "ClinicalDocument" {
        return Err(CdaError::NotClinicalDocument {
            position,
            found: quoted_value(root.tag_name().name()),
        });
    }
    if root.tag_name().namespace() != Some(CDA_NAMESPACE) {
        return Err(CdaError::WrongNamespace {
            position,
            found: root.tag_name().namespace().map(quoted_value),
        });
    }
    Ok(document)
}

/// Where `node` starts in the document text.
pub(crate) fn position_of(node: Node<'_, '_>) -> Position {
    let at = node.document().text_pos_at(node.range().start);
    Position {
        line: at.row,
        column: at.col,
    }
}

/// True when `node` is an element called `name` in the HL7 v3 namespace.
pub(crate) fn is_v3(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(CDA_NAMESPACE)
}

/// The first child element called `name` in the HL7 v3 namespace.
pub(crate) fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|candidate| is_v3(*candidate, name))
}

/// All child elements called `name` in the HL7 v3 namespace.
pub(crate) fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |candidate| is_v3(*candidate, name))
}

/// Follows a path of child element names, each step taking the first match.
pub(crate) fn path<'a, 'input>(node: Node<'a, 'input>, steps: &[&str]) -> Option<Node<'a, 'input>> {
    steps
        .iter()
        .try_fold(node, |current, step| child(current, step))
}

/// An attribute value with surrounding whitespace removed; `None` when absent or empty.
pub(crate) fn attribute<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attribute(name)
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// The text content of `node` and its descendants with whitespace runs collapsed to single
/// spaces; `None` when that leaves nothing.
pub(crate) fn normalized_text(node: Node<'_, '_>) -> Option<String> {
    let mut words = Vec::new();
    for descendant in node.descendants().filter(|d| d.is_text()) {
        words.extend(descendant.text().unwrap_or("").split_whitespace());
    }
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn byte_order_mark_is_accepted_and_utf16_refused() {
        assert_eq!(decode(b"\xEF\xBB\xBF<a/>").unwrap(), "<a/>");
        let error = decode(b"\xFF\xFE<\0a\0/\0>\0").unwrap_err();
        assert!(error.to_string().contains("UTF-16"), "{error}");
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let error = decode(b"<a>\n<b>\xC3\x28</b></a>").unwrap_err();
        assert_eq!(error.position(), Position { line: 2, column: 4 });
        assert!(error
            .to_string()
            .starts_with("line 2, column 4: the document is not XML"));
    }

    #[test]
    fn other_declared_encodings_are_refused_unless_the_text_is_ascii() {
        assert!(decode(b"<?xml version='1.0' encoding='ISO-8859-2'?><a/>").is_ok());
        let error =
            decode("<?xml version='1.0' encoding='ISO-8859-2'?><a>ż</a>".as_bytes()).unwrap_err();
        assert!(error.to_string().contains("ISO-8859-2"), "{error}");
        assert!(decode("<?xml version='1.0' encoding=\"utf-8\"?><a>ż</a>".as_bytes()).is_ok());
    }

    #[test]
    fn doctype_is_refused_with_its_position() {
        let text = "<?xml version='1.0'?>\n<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>\n<x>&e;</x>";
        let error = load(text).unwrap_err();
        assert_eq!(
            error,
            CdaError::DoctypeForbidden {
                position: Position { line: 2, column: 1 }
            }
        );
    }

    #[test]
    fn malformed_xml_message_has_one_position() {
        let error = load("<a>\n  <b></c>\n</a>").unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("line 2, column "), "{message}");
        assert!(message.contains("XML is malformed"), "{message}");
        assert!(!message.contains(" at 2:"), "{message}");
    }

    #[test]
    fn unclosed_document_points_at_its_end() {
        let error = load("<ClinicalDocument xmlns='urn:hl7-org:v3'>\n<id/>\n").unwrap_err();
        assert_eq!(error.position().line, 3);
    }
}
