//! The crate's error type: why a byte string is not an acceptable CDA document, always with
//! the line and column where the problem is and, where one is at fault, the element's name.

use std::fmt;

use crate::CDA_NAMESPACE;

/// A place in the document text: 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line number, starting at 1.
    pub line: u32,
    /// Column number in characters, starting at 1.
    pub column: u32,
}

impl Position {
    /// Position of the byte `offset` in `text` (clamped to the end of the text).
    pub(crate) fn of_offset(text: &str, offset: usize) -> Position {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |index| index + 1);
        let column = before[line_start..].chars().count() + 1;
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a byte string was refused as an HL7 CDA R2 document.
///
/// Every variant carries the [`Position`] of the problem; the message starts with it, e.g.
/// `line 12, column 5: element <recordTarget> is missing under <ClinicalDocument>`. Messages
/// quote at most a short, sanitised piece of the input, so they can be shown to the sender.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CdaError {
    /// The bytes are not UTF-8 text (binary data, or a document in another encoding).
    #[error("{position}: the document is not XML text: {reason}")]
    NotText {
        /// Where decoding stopped.
        position: Position,
        /// What was found, in words.
        reason: String,
    },

    /// The text is not well-formed XML.
    #[error("{position}: XML is malformed: {reason}")]
    MalformedXml {
        /// Where the XML parser stopped.
        position: Position,
        /// The parser's explanation.
        reason: String,
    },

    /// The document carries a document type declaration. DTDs can declare entities (entity
    /// expansion attacks, external resources), and CDA never needs one, so they are refused.
    #[error(
        "{position}: a document type declaration (<!DOCTYPE ...>) is not allowed in a CDA \
         document (DTDs and entity declarations are refused)"
    )]
    DoctypeForbidden {
        /// Where the `<!DOCTYPE` starts.
        position: Position,
    },

    /// The root element is not `ClinicalDocument`.
    #[error(
        "{position}: the root element is <{found}>, but a CDA document's root element is \
         <ClinicalDocument> in namespace {CDA_NAMESPACE}"
    )]
    NotClinicalDocument {
        /// Where the root element starts.
        position: Position,
        /// The root element's local name.
        found: String,
    },

    /// The root element is called `ClinicalDocument` but is not in the HL7 v3 namespace.
    #[error(
        "{position}: element <ClinicalDocument> is in namespace {}, but a CDA document must \
         use namespace {CDA_NAMESPACE}",
        found.as_deref().map_or_else(|| "(none)".to_owned(), |uri| format!("'{uri}'"))
    )]
    WrongNamespace {
        /// Where the root element starts.
        position: Position,
        /// The namespace it is in, if any.
        found: Option<String>,
    },

    /// A mandatory element is missing.
    #[error("{position}: element <{element}> is missing under <{parent}>")]
    MissingElement {
        /// Where the parent element starts.
        position: Position,
        /// The missing element's local name.
        element: &'static str,
        /// The parent element's local name.
        parent: String,
    },

    /// A mandatory attribute is missing (often a `nullFlavor` where a value is required).
    #[error("{position}: element <{element}> has no {attribute} attribute")]
    MissingAttribute {
        /// Where the element starts.
        position: Position,
        /// The element's local name.
        element: String,
        /// The missing attribute.
        attribute: &'static str,
    },

    /// An attribute value that is extracted does not have the form its data type requires.
    #[error("{position}: element <{element}> has an invalid {attribute} '{value}': {reason}")]
    InvalidValue {
        /// Where the element starts.
        position: Position,
        /// The element's local name.
        element: String,
        /// The attribute holding the value.
        attribute: &'static str,
        /// The value, shortened to at most 64 characters.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
}

impl CdaError {
    /// Where in the document the problem is.
    pub fn position(&self) -> Position {
        match self {
            CdaError::NotText { position, .. }
            | CdaError::MalformedXml { position, .. }
            | CdaError::DoctypeForbidden { position }
            | CdaError::NotClinicalDocument { position, .. }
            | CdaError::WrongNamespace { position, .. }
            | CdaError::MissingElement { position, .. }
            | CdaError::MissingAttribute { position, .. }
            | CdaError::InvalidValue { position, .. } => *position,
        }
    }

    /// The local name of the element at fault, when one is.
    pub fn element(&self) -> Option<&str> {
        match self {
            CdaError::NotText { .. } | CdaError::MalformedXml { .. } => None,
            CdaError::DoctypeForbidden { .. } => Some("!DOCTYPE"),
            CdaError::NotClinicalDocument { found, .. } => Some(found),
            CdaError::WrongNamespace { .. } => Some("ClinicalDocument"),
            CdaError::MissingElement { element, .. } => Some(element),
            CdaError::MissingAttribute { element, .. } | CdaError::InvalidValue { element, .. } => {
                Some(element)
            }
        }
    }
}

/// Shortens an input value quoted in an error message and replaces control characters, so a
/// hostile document cannot make the message huge or break a log line.
pub(crate) fn quoted_value(value: &str) -> String {
    const LIMIT: usize = 64;
    let mut out: String = value
        .chars()
        .take(LIMIT)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if value.chars().count() > LIMIT {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_characters() {
        let text = "ab\nżółw x";
        assert_eq!(
            Position::of_offset(text, 0),
            Position { line: 1, column: 1 }
        );
        let x = text.find('x').unwrap();
        assert_eq!(
            Position::of_offset(text, x),
            Position { line: 2, column: 6 }
        );
        assert_eq!(
            Position::of_offset(text, 10_000),
            Position { line: 2, column: 7 }
        );
    }

    #[test]
    fn message_starts_with_the_position_and_names_the_element() {
        let error = CdaError::MissingElement {
            position: Position {
                line: 12,
                column: 5,
            },
            element: "recordTarget",
            parent: "ClinicalDocument".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "line 12, column 5: element <recordTarget> is missing under <ClinicalDocument>"
        );
        assert_eq!(error.element(), Some("recordTarget"));
    }

    #[test]
    fn quoted_values_are_short_and_printable() {
        assert_eq!(quoted_value("a\nb"), "a\u{FFFD}b");
        assert_eq!(quoted_value(&"x".repeat(100)).chars().count(), 65);
    }
}
