//! The CDA narrative block (`section/text`) turned into HTML through a whitelist: each CDA
//! narrative element maps to a fixed HTML element, a few attributes are carried over after
//! validation, and everything else (unknown elements, other namespaces, event handlers,
//! `style`, comments, processing instructions) is dropped with its content.

use std::collections::HashMap;

use roxmltree::{Document, Node, NodeId};

use crate::render::html::Html;
use crate::render::media;
use crate::xml::{attribute, child, children, is_v3, normalized_text};

/// Narrative deeper than this is shown as plain text: real documents nest a few levels, and
/// a bound keeps hostile documents from exhausting the stack.
const DEPTH_LIMIT: usize = 48;

/// What rendering a narrative block needs to know about the whole document.
pub(crate) struct NarrativeContext<'a, 'input> {
    /// `observationMedia` elements by their `ID`, for `renderMultiMedia`.
    media: HashMap<&'a str, Node<'a, 'input>>,
    /// The number of each `footnote`, counted through the whole document.
    footnote_numbers: HashMap<NodeId, usize>,
    /// The number of each `footnote` that has an `ID`, for `footnoteRef`.
    footnote_numbers_by_id: HashMap<&'a str, usize>,
}

impl<'a, 'input> NarrativeContext<'a, 'input> {
    pub(crate) fn new(document: &'a Document<'input>) -> Self {
        let mut context = NarrativeContext {
            media: HashMap::new(),
            footnote_numbers: HashMap::new(),
            footnote_numbers_by_id: HashMap::new(),
        };
        for node in document.descendants() {
            if is_v3(node, "observationMedia") {
                if let Some(id) = attribute(node, "ID") {
                    context.media.entry(id).or_insert(node);
                }
            } else if is_v3(node, "footnote") {
                let number = context.footnote_numbers.len() + 1;
                context.footnote_numbers.insert(node.id(), number);
                if let Some(id) = attribute(node, "ID") {
                    context.footnote_numbers_by_id.entry(id).or_insert(number);
                }
            }
        }
        context
    }

    /// Renders a `section/text` element: its content, then the footnotes it contains.
    pub(crate) fn render_text(&self, html: &mut Html, text: Node<'_, '_>) {
        html.open("div", &[("class", Some("cda-narrative"))]);
        self.render_children(html, text, 0);
        html.close("div");
        let footnotes: Vec<Node<'_, '_>> = text
            .descendants()
            .filter(|node| is_v3(*node, "footnote"))
            .collect();
        if !footnotes.is_empty() {
            html.open("ol", &[("class", Some("cda-footnotes"))]);
            for footnote in footnotes {
                let number = self.footnote_number(footnote).to_string();
                let id = format!("cda-footnote-{number}");
                html.open("li", &[("id", Some(&id)), ("value", Some(&number))]);
                self.render_children(html, footnote, 1);
                html.close("li");
            }
            html.close("ol");
        }
    }

    fn footnote_number(&self, footnote: Node<'_, '_>) -> usize {
        self.footnote_numbers
            .get(&footnote.id())
            .copied()
            .unwrap_or(0)
    }

    fn render_children(&self, html: &mut Html, node: Node<'_, '_>, depth: usize) {
        for child in node.children() {
            self.render_node(html, child, depth + 1);
        }
    }

    fn render_node(&self, html: &mut Html, node: Node<'_, '_>, depth: usize) {
        if node.is_text() {
            html.text(node.text().unwrap_or(""));
            return;
        }
        if !node.is_element() || node.tag_name().namespace() != Some(crate::CDA_NAMESPACE) {
            return;
        }
        if depth > DEPTH_LIMIT {
            if let Some(text) = normalized_text(node) {
                html.text(&text);
                html.text(" ");
            }
            return;
        }
        let id = safe_id(node);
        let classes = style_classes(node, &[]);
        let class = classes.as_deref();
        match node.tag_name().name() {
            "paragraph" => {
                html.open("p", &[("id", id), ("class", class)]);
                self.render_children(html, node, depth);
                html.close("p");
            }
            "content" => {
                let tag = match attribute(node, "revised") {
                    Some("insert") => "ins",
                    Some("delete") => "del",
                    _ => "span",
                };
                html.open(tag, &[("id", id), ("class", class)]);
                self.render_children(html, node, depth);
                html.close(tag);
            }
            "linkHtml" => match attribute(node, "href").and_then(safe_href) {
                Some(href) => {
                    html.open(
                        "a",
                        &[
                            ("id", id),
                            ("class", class),
                            ("href", Some(href)),
                            ("rel", Some("noopener noreferrer")),
                        ],
                    );
                    self.render_children(html, node, depth);
                    html.close("a");
                }
                None => {
                    html.open("span", &[("id", id), ("class", class)]);
                    self.render_children(html, node, depth);
                    html.close("span");
                }
            },
            "sub" => {
                html.open("sub", &[]);
                self.render_children(html, node, depth);
                html.close("sub");
            }
            "sup" => {
                html.open("sup", &[]);
                self.render_children(html, node, depth);
                html.close("sup");
            }
            "br" => html.void("br", &[]),
            "footnote" => self.footnote_marker(html, self.footnote_number(node)),
            "footnoteRef" => {
                let number = attribute(node, "IDREF")
                    .and_then(|reference| self.footnote_numbers_by_id.get(reference));
                if let Some(number) = number {
                    self.footnote_marker(html, *number);
                }
            }
            "caption" => {
                html.open("span", &[("id", id), ("class", Some("cda-caption"))]);
                self.render_children(html, node, depth);
                html.close("span");
            }
            "list" => self.render_list(html, node, depth),
            "table" => self.render_table(html, node, depth),
            "renderMultiMedia" => self.render_multimedia(html, node, depth),
            _ => {}
        }
    }

    fn footnote_marker(&self, html: &mut Html, number: usize) {
        if number == 0 {
            return;
        }
        let number = number.to_string();
        let target = format!("#cda-footnote-{number}");
        html.open("sup", &[("class", Some("cda-footnote-ref"))]);
        html.open("a", &[("href", Some(&target))]);
        html.text(&number);
        html.close("a");
        html.close("sup");
    }

    fn render_list(&self, html: &mut Html, list: Node<'_, '_>, depth: usize) {
        if let Some(caption) = child(list, "caption") {
            html.open("p", &[("class", Some("cda-caption"))]);
            self.render_children(html, caption, depth);
            html.close("p");
        }
        let tag = if attribute(list, "listType") == Some("ordered") {
            "ol"
        } else {
            "ul"
        };
        let classes = style_classes(list, &[]);
        html.open(tag, &[("id", safe_id(list)), ("class", classes.as_deref())]);
        for item in children(list, "item") {
            let item_classes = style_classes(item, &[]);
            html.open(
                "li",
                &[("id", safe_id(item)), ("class", item_classes.as_deref())],
            );
            self.render_children(html, item, depth + 1);
            html.close("li");
        }
        html.close(tag);
    }

    fn render_table(&self, html: &mut Html, table: Node<'_, '_>, depth: usize) {
        let classes = style_classes(table, &["cda-table"]);
        html.open(
            "table",
            &[("id", safe_id(table)), ("class", classes.as_deref())],
        );
        for part in table.children().filter(|part| part.is_element()) {
            match part.tag_name().name() {
                "caption" if is_v3(part, "caption") => {
                    html.open("caption", &[]);
                    self.render_children(html, part, depth + 1);
                    html.close("caption");
                }
                "colgroup" if is_v3(part, "colgroup") => {
                    html.open("colgroup", &[("span", span_attribute(part, "span"))]);
                    for column in children(part, "col") {
                        html.void("col", &[("span", span_attribute(column, "span"))]);
                    }
                    html.close("colgroup");
                }
                "col" if is_v3(part, "col") => {
                    html.void("col", &[("span", span_attribute(part, "span"))]);
                }
                name @ ("thead" | "tbody" | "tfoot") if is_v3(part, name) => {
                    let tag = match name {
                        "thead" => "thead",
                        "tfoot" => "tfoot",
                        _ => "tbody",
                    };
                    html.open(tag, &[("id", safe_id(part))]);
                    for row in children(part, "tr") {
                        self.render_row(html, row, depth + 2);
                    }
                    html.close(tag);
                }
                "tr" if is_v3(part, "tr") => self.render_row(html, part, depth + 1),
                _ => {}
            }
        }
        html.close("table");
    }

    fn render_row(&self, html: &mut Html, row: Node<'_, '_>, depth: usize) {
        let classes = style_classes(row, &[]);
        html.open("tr", &[("id", safe_id(row)), ("class", classes.as_deref())]);
        for cell in row
            .children()
            .filter(|cell| is_v3(*cell, "th") || is_v3(*cell, "td"))
        {
            let tag = if cell.tag_name().name() == "th" {
                "th"
            } else {
                "td"
            };
            let align_class = attribute(cell, "align").and_then(|align| match align {
                "left" => Some("cda-align-left"),
                "center" => Some("cda-align-center"),
                "right" => Some("cda-align-right"),
                "justify" => Some("cda-align-justify"),
                _ => None,
            });
            let classes = style_classes(cell, align_class.as_slice());
            html.open(
                tag,
                &[
                    ("id", safe_id(cell)),
                    ("class", classes.as_deref()),
                    ("colspan", span_attribute(cell, "colspan")),
                    ("rowspan", span_attribute(cell, "rowspan")),
                ],
            );
            self.render_children(html, cell, depth + 1);
            html.close(tag);
        }
        html.close("tr");
    }

    fn render_multimedia(&self, html: &mut Html, node: Node<'_, '_>, depth: usize) {
        let caption = child(node, "caption");
        let alt = caption
            .and_then(normalized_text)
            .unwrap_or_else(|| "embedded image".to_owned());
        let references = attribute(node, "referencedObject").unwrap_or("");
        for reference in references.split_whitespace() {
            let image = self
                .media
                .get(reference)
                .and_then(|media| child(*media, "value"))
                .and_then(media::image_data_uri);
            match image {
                Some(data_uri) => {
                    html.open("span", &[("class", Some("cda-media"))]);
                    html.void("img", &[("src", Some(&data_uri)), ("alt", Some(&alt))]);
                    if let Some(caption) = caption {
                        html.open("span", &[("class", Some("cda-media-caption"))]);
                        self.render_children(html, caption, depth + 1);
                        html.close("span");
                    }
                    html.close("span");
                }
                None => {
                    html.element(
                        "span",
                        Some("cda-media-missing"),
                        "[embedded object not shown: only PNG, JPEG and GIF images inside the document are displayed]",
                    );
                }
            }
        }
    }
}

/// The HTML `id` for an element's CDA `ID`, when it is a plain token (letters, digits, `_`,
/// `-`, `.`, `:`, starting with a letter or `_`).
fn safe_id<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    attribute(node, "ID").filter(|id| is_safe_id(id))
}

pub(crate) fn is_safe_id(id: &str) -> bool {
    let mut characters = id.chars();
    characters
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && id.len() <= 128
        && characters.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// A link target that is kept: `http:`, `https:` and `mailto:` URLs, and `#fragment`s naming
/// a plain token. Everything else (`javascript:`, `data:`, `vbscript:`, relative paths that
/// would reach the server) is dropped.
pub(crate) fn safe_href(href: &str) -> Option<&str> {
    let href = href.trim();
    if href.chars().any(char::is_control) {
        return None;
    }
    if let Some(fragment) = href.strip_prefix('#') {
        return is_safe_id(fragment).then_some(href);
    }
    let lower = href.get(..8).unwrap_or(href).to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
        .then_some(href)
}

/// `colspan`, `rowspan` and `span` values: whole numbers from 1 to 1000.
fn span_attribute<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    attribute(node, name).filter(|value| {
        value.len() <= 4
            && value.bytes().all(|b| b.is_ascii_digit())
            && value
                .parse::<u32>()
                .is_ok_and(|number| (1..=1000).contains(&number))
    })
}

/// CSS classes for the element's `styleCode` tokens that medgate knows, after `extra`.
fn style_classes(node: Node<'_, '_>, extra: &[&str]) -> Option<String> {
    let mut classes: Vec<&str> = extra.to_vec();
    for token in attribute(node, "styleCode")
        .unwrap_or("")
        .split_whitespace()
    {
        let class = match token {
            "Bold" => "cda-bold",
            "Italics" => "cda-italics",
            "Underline" => "cda-underline",
            "Emphasis" => "cda-emphasis",
            "Lrule" => "cda-lrule",
            "Rrule" => "cda-rrule",
            "Toprule" => "cda-toprule",
            "Botrule" => "cda-botrule",
            "Arabic" => "cda-list-arabic",
            "LittleRoman" => "cda-list-littleroman",
            "BigRoman" => "cda-list-bigroman",
            "LittleAlpha" => "cda-list-littlealpha",
            "BigAlpha" => "cda-list-bigalpha",
            "Disc" => "cda-list-disc",
            "Circle" => "cda-list-circle",
            "Square" => "cda-list-square",
            _ => continue,
        };
        if !classes.contains(&class) {
            classes.push(class);
        }
    }
    (!classes.is_empty()).then(|| classes.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_links_are_kept() {
        for good in [
            "http://example.org/a?b=c",
            "HTTPS://example.org",
            "mailto:a@b.pl",
            "#OBS_1",
        ] {
            assert_eq!(safe_href(good), Some(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,<script>",
            "vbscript:x",
            "/relative/path",
            "ftp://example.org",
            "#bad fragment",
            "#\"onclick",
            "",
        ] {
            assert_eq!(safe_href(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_are_plain_tokens() {
        assert!(is_safe_id("OBS_1"));
        assert!(is_safe_id("a.b:c-d"));
        assert!(!is_safe_id("1abc"));
        assert!(!is_safe_id("a\"b"));
        assert!(!is_safe_id(""));
    }
}
