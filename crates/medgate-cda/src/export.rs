//! What the export needs besides the document: the `xml-stylesheet` processing instruction
//! that makes a browser render the `.xml` file, and medgate's own XSLT 1.0 stylesheet.

/// File name the export gives the stylesheet; [`with_stylesheet_pi`] is usually called with it.
pub const STYLESHEET_FILE_NAME: &str = "medgate-cda.xsl";

/// medgate's XSLT 1.0 stylesheet for CDA R2 documents. It renders the same view as
/// [`render_html`](crate::render_html) (header block, every section and its narrative, the
/// same CSS) in any XSLT 1.0 engine, including browsers, with the same sanitising rules: only
/// whitelisted elements and attributes, only `http`, `https`, `mailto` and `#fragment` links,
/// only PNG, JPEG and GIF images as `data:` URIs.
pub const STYLESHEET_XSL: &str = include_str!("../assets/medgate-cda.xsl");

/// Returns `bytes` with `<?xml-stylesheet type="text/xsl" href="HREF"?>` inserted right after
/// the XML declaration (or at the very start, after a byte-order mark, when there is no
/// declaration). Nothing else changes. Putting it first means it wins over any stylesheet
/// instruction the document already has (browsers apply the first one).
///
/// `href` is escaped, so it cannot end the processing instruction early.
pub fn with_stylesheet_pi(bytes: &[u8], href: &str) -> Vec<u8> {
    let (bom, rest) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (&bytes[..3], rest),
        None => (&bytes[..0], bytes),
    };
    let declaration_length =
        if rest.starts_with(b"<?xml") && rest.get(5).is_some_and(|b| b.is_ascii_whitespace()) {
            rest.windows(2)
                .position(|pair| pair == b"?>")
                .map_or(0, |end| end + 2)
        } else {
            0
        };
    let mut escaped_href = String::with_capacity(href.len());
    for c in href.chars() {
        match c {
            '&' => escaped_href.push_str("&amp;"),
            '<' => escaped_href.push_str("&lt;"),
            '>' => escaped_href.push_str("&gt;"),
            '"' => escaped_href.push_str("&quot;"),
            c if c.is_control() => {}
            c => escaped_href.push(c),
        }
    }
    let instruction = format!("<?xml-stylesheet type=\"text/xsl\" href=\"{escaped_href}\"?>");
    let (declaration, body) = rest.split_at(declaration_length);
    let mut out = Vec::with_capacity(bytes.len() + instruction.len() + 1);
    out.extend_from_slice(bom);
    out.extend_from_slice(declaration);
    if declaration.is_empty() {
        out.extend_from_slice(instruction.as_bytes());
        out.push(b'\n');
    } else {
        out.push(b'\n');
        out.extend_from_slice(instruction.as_bytes());
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn inserted_after_the_declaration() {
        let out = with_stylesheet_pi(b"<?xml version=\"1.0\"?>\n<a/>", STYLESHEET_FILE_NAME);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<?xml version=\"1.0\"?>\n<?xml-stylesheet type=\"text/xsl\" href=\"medgate-cda.xsl\"?>\n<a/>"
        );
    }

    #[test]
    fn inserted_at_the_start_without_a_declaration() {
        let out = with_stylesheet_pi(b"<a/>", "x.xsl");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<?xml-stylesheet type=\"text/xsl\" href=\"x.xsl\"?>\n<a/>"
        );
        let out = with_stylesheet_pi(
            b"\xEF\xBB\xBF<?xml-stylesheet href=\"old.xsl\"?><a/>",
            "x.xsl",
        );
        assert!(out.starts_with(b"\xEF\xBB\xBF<?xml-stylesheet type=\"text/xsl\" href=\"x.xsl\"?>\n<?xml-stylesheet href=\"old.xsl\"?>"));
    }

    #[test]
    fn href_cannot_break_out() {
        let out = with_stylesheet_pi(b"<a/>", "x\"?><script/>");
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(
            "<?xml-stylesheet type=\"text/xsl\" href=\"x&quot;?&gt;&lt;script/&gt;\"?>"
        ));
    }

    #[test]
    fn the_rest_is_unchanged() {
        let original = "<?xml version='1.0' encoding='UTF-8'?><ClinicalDocument/>\n";
        let out = with_stylesheet_pi(original.as_bytes(), "s.xsl");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.replace("\n<?xml-stylesheet type=\"text/xsl\" href=\"s.xsl\"?>", ""),
            original
        );
    }
}
