//! A minimal HTML writer that is safe by construction: element and attribute names are
//! `&'static str` chosen by medgate's code (never taken from the input), and every text and
//! attribute value is escaped.

/// Appends escaped text or attribute content to `out`. Escaping `"` and `'` as well as `&`,
/// `<` and `>` makes the same function right for text and for quoted attribute values.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and line breaks have no place in a page.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

/// The page being written.
#[derive(Default)]
pub(crate) struct Html {
    out: String,
}

impl Html {
    /// The finished page.
    pub(crate) fn finish(self) -> String {
        self.out
    }

    /// Raw markup written by medgate itself (the doctype, the constant CSS).
    pub(crate) fn trusted(&mut self, markup: &'static str) {
        self.out.push_str(markup);
    }

    /// `<tag a="v" …>`; attributes whose value is `None` are left out.
    pub(crate) fn open(&mut self, tag: &'static str, attributes: &[(&'static str, Option<&str>)]) {
        self.out.push('<');
        self.out.push_str(tag);
        for (name, value) in attributes {
            if let Some(value) = value {
                self.out.push(' ');
                self.out.push_str(name);
                self.out.push_str("=\"");
                escape_into(&mut self.out, value);
                self.out.push('"');
            }
        }
        self.out.push('>');
    }

    /// `</tag>`
    pub(crate) fn close(&mut self, tag: &'static str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    /// An element without content such as `<br>` or `<img …>`.
    pub(crate) fn void(&mut self, tag: &'static str, attributes: &[(&'static str, Option<&str>)]) {
        self.open(tag, attributes);
    }

    /// Escaped text.
    pub(crate) fn text(&mut self, text: &str) {
        escape_into(&mut self.out, text);
    }

    /// `<tag class="…">text</tag>`
    pub(crate) fn element(&mut self, tag: &'static str, class: Option<&str>, text: &str) {
        self.open(tag, &[("class", class)]);
        self.text(text);
        self.close(tag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        let mut html = Html::default();
        html.open("a", &[("href", Some("x\"><script>")), ("title", None)]);
        html.text("<b>&'\u{0}");
        html.close("a");
        assert_eq!(
            html.finish(),
            "<a href=\"x&quot;&gt;&lt;script&gt;\">&lt;b&gt;&amp;&#39;</a>"
        );
    }
}
