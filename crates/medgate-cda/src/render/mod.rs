//! The standalone HTML5 view of a CDA document: a header block (patient, document, authors,
//! custodian, signer, service events) and every section with its narrative, sanitised by
//! construction. The XSL stylesheet in `assets/` renders the same view; keep them in step.

mod html;
mod media;
mod narrative;

use roxmltree::Node;

use crate::error::CdaError;
use crate::model::{
    Author, CdaHeader, CodedValue, InstanceId, Organization, PatientIdentifier, PersonName,
};
use crate::xml::{attribute, child, children, normalized_text};
use crate::{header, xml};
use html::Html;
use narrative::NarrativeContext;

/// The page's CSS, shared word for word with the XSL stylesheet.
pub(crate) const CSS: &str = include_str!("../../assets/medgate-cda.css");

/// The `Content-Security-Policy` to send with [`render_html`]'s page: nothing may load except
/// `data:` images; the inline `<style>` is allowed; no scripts, frames, forms or base URL.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src data:; \
     style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Sections nested deeper than this are not shown (a bound against hostile documents).
const SECTION_DEPTH_LIMIT: usize = 24;

/// Renders a CDA document as a complete, standalone HTML5 page.
///
/// The document is checked exactly as by [`parse`](crate::parse), so the same errors come
/// back. The output is sanitised by construction: every text and attribute is escaped, only
/// whitelisted elements and attributes are written, links keep only `http`, `https`, `mailto`
/// and `#fragment` targets, images only `data:` PNG, JPEG or GIF; nothing from the input
/// becomes a script, an event handler or a `style` attribute. Serve it with
/// [`CONTENT_SECURITY_POLICY`].
pub fn render_html(bytes: &[u8]) -> Result<String, CdaError> {
    let text = xml::decode(bytes)?;
    let document = xml::load(text)?;
    let root = document.root_element();
    let header = header::extract(root)?;
    let context = NarrativeContext::new(&document);

    let mut html = Html::default();
    html.trusted("<!DOCTYPE html>\n");
    let language = header.language.as_deref().filter(|code| {
        code.len() <= 35 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    html.open("html", &[("lang", language)]);
    html.open("head", &[]);
    html.void("meta", &[("charset", Some("utf-8"))]);
    html.void(
        "meta",
        &[
            ("name", Some("viewport")),
            ("content", Some("width=device-width, initial-scale=1")),
        ],
    );
    html.void(
        "meta",
        &[("name", Some("referrer")), ("content", Some("no-referrer"))],
    );
    html.element("title", None, &document_title(&header));
    html.open("style", &[]);
    html.trusted("\n");
    html.trusted(CSS);
    html.close("style");
    html.close("head");
    html.open("body", &[]);
    html.open("article", &[("class", Some("cda-document"))]);
    header_block(&mut html, &header);
    html.open("main", &[("class", Some("cda-body"))]);
    body(&mut html, root, &context);
    html.close("main");
    html.open("footer", &[("class", Some("cda-footer"))]);
    html.text(
        "Rendered by medgate from the original CDA document, which remains the authoritative \
         record.",
    );
    html.close("footer");
    html.close("article");
    html.close("body");
    html.close("html");
    html.trusted("\n");
    Ok(html.finish())
}

/// The title shown: the document's title, else the name of its type, else its code.
fn document_title(header: &CdaHeader) -> String {
    header
        .title
        .clone()
        .or_else(|| header.document_type.code.display_name.clone())
        .unwrap_or_else(|| format!("Clinical document {}", header.document_type.code.code))
}

fn header_block(html: &mut Html, header: &CdaHeader) {
    html.open("header", &[("class", Some("cda-header"))]);
    html.element("h1", Some("cda-title"), &document_title(header));
    html.open("table", &[("class", Some("cda-header-table"))]);
    html.open("tbody", &[]);

    let patient = &header.patient;
    row_start(html, "Patient");
    if let Some(name) = &patient.name {
        html.element("strong", Some("cda-patient-name"), &name.to_string());
    }
    patient_identifiers(html, &patient.identifiers);
    row_end(html);
    if let Some(birth) = &patient.birth_time {
        text_row(html, "Date of birth", &birth.to_string());
    }
    if let Some(gender) = &patient.gender {
        text_row(html, "Gender", &gender.to_string());
    }
    for other in &header.other_patients {
        row_start(html, "Also about");
        if let Some(name) = &other.name {
            html.element("strong", Some("cda-patient-name"), &name.to_string());
        }
        patient_identifiers(html, &other.identifiers);
        row_end(html);
    }

    row_start(html, "Document type");
    html.text(&coded(&header.document_type.code));
    if let Some(class) = &header.document_type.p1_class {
        html.text("; P1 class ");
        html.text(&coded(class));
    }
    row_end(html);
    text_row(html, "Document date", &header.effective_time.to_string());
    row_start(html, "Document id");
    html.text(&header.id.to_string());
    if let Some(set_id) = &header.set_id {
        let version = header
            .version_number
            .map(|number| format!(", version {number}"))
            .unwrap_or_default();
        html.element(
            "span",
            Some("cda-muted"),
            &format!(" (set {set_id}{version})"),
        );
    } else if let Some(number) = header.version_number {
        html.element("span", Some("cda-muted"), &format!(" (version {number})"));
    }
    row_end(html);

    if !header.authors.is_empty() {
        row_start(
            html,
            if header.authors.len() == 1 {
                "Author"
            } else {
                "Authors"
            },
        );
        html.open("ul", &[("class", Some("cda-entries"))]);
        for author in &header.authors {
            html.open("li", &[]);
            author_entry(html, author);
            html.close("li");
        }
        html.close("ul");
        row_end(html);
    }
    if let Some(custodian) = &header.custodian {
        row_start(html, "Custodian");
        organization(html, custodian);
        row_end(html);
    }
    if let Some(signer) = &header.legal_authenticator {
        row_start(html, "Legal authenticator");
        person(html, signer.person.as_ref(), &signer.ids);
        if let Some(time) = &signer.time {
            html.text(", ");
            html.text(&time.to_string());
        }
        if let Some(organization_value) = &signer.organization {
            html.text("; ");
            organization(html, organization_value);
        }
        row_end(html);
    }
    for event in &header.service_events {
        row_start(html, "Service event");
        if let Some(code) = &event.code {
            html.text(&coded(code));
        }
        let period = match (&event.low, &event.high) {
            (Some(low), Some(high)) if low == high => Some(low.to_string()),
            (Some(low), Some(high)) => Some(format!("{low} – {high}")),
            (Some(low), None) => Some(format!("from {low}")),
            (None, Some(high)) => Some(format!("until {high}")),
            (None, None) => None,
        };
        if let Some(period) = period {
            if event.code.is_some() {
                html.text(", ");
            }
            html.text(&period);
        }
        row_end(html);
    }
    if let Some(confidentiality) = &header.confidentiality {
        text_row(html, "Confidentiality", &coded(confidentiality));
    }
    if let Some(language) = &header.language {
        text_row(html, "Language", language);
    }
    html.close("tbody");
    html.close("table");
    html.close("header");
}

fn row_start(html: &mut Html, label: &str) {
    html.open("tr", &[]);
    html.open("th", &[("scope", Some("row"))]);
    html.text(label);
    html.close("th");
    html.open("td", &[]);
}

fn row_end(html: &mut Html) {
    html.close("td");
    html.close("tr");
}

fn text_row(html: &mut Html, label: &str, value: &str) {
    row_start(html, label);
    html.text(value);
    row_end(html);
}

/// `Display name (SYSTEM code)`, or what of that is known.
fn coded(value: &CodedValue) -> String {
    let system_and_code = match &value.code_system_name {
        Some(system) => format!("{system} {}", value.code),
        None => value.code.clone(),
    };
    match &value.display_name {
        Some(name) => format!("{name} ({system_and_code})"),
        None => system_and_code,
    }
}

fn patient_identifiers(html: &mut Html, identifiers: &[PatientIdentifier]) {
    if identifiers.is_empty() {
        return;
    }
    html.open("ul", &[("class", Some("cda-ids"))]);
    for identifier in identifiers {
        html.open("li", &[]);
        identifier_text(html, &identifier.id);
        html.close("li");
    }
    html.close("ul");
}

/// `PESEL 62091599999`, or `extension [root]`, or the root alone.
fn identifier_text(html: &mut Html, id: &InstanceId) {
    match (&id.extension, id.root.as_str()) {
        (Some(extension), medgate_ids::Pesel::OID) => html.text(&format!("PESEL {extension}")),
        (Some(extension), root) => {
            html.text(extension);
            html.text(" ");
            html.element("span", Some("cda-oid"), &format!("[{root}]"));
        }
        (None, root) => html.element("span", Some("cda-oid"), root),
    }
}

fn person(html: &mut Html, name: Option<&PersonName>, ids: &[InstanceId]) {
    if let Some(name) = name {
        html.element("strong", None, &name.to_string());
    }
    for (index, id) in ids.iter().enumerate() {
        html.text(if index == 0 && name.is_none() {
            ""
        } else {
            " "
        });
        identifier_text(html, id);
    }
}

fn author_entry(html: &mut Html, author: &Author) {
    match (&author.person, &author.device) {
        (None, Some(device)) => {
            html.element("strong", None, device);
            for id in &author.ids {
                html.text(" ");
                identifier_text(html, id);
            }
        }
        (person_name, _) => person(html, person_name.as_ref(), &author.ids),
    }
    if let Some(time) = &author.time {
        html.text(", ");
        html.text(&time.to_string());
    }
    if let Some(organization_value) = &author.organization {
        html.text("; ");
        organization(html, organization_value);
    }
}

/// The organisation's name (or its first identifier), then the names of the organisations it
/// is part of: `Poradnia POZ — NZOZ „POL-MED”`.
fn organization(html: &mut Html, organization: &Organization) {
    match (&organization.name, organization.ids.first()) {
        (Some(name), _) => html.text(name),
        (None, Some(id)) => identifier_text(html, id),
        (None, None) => {}
    }
    let mut parent = organization.part_of.as_deref();
    while let Some(whole) = parent {
        if let Some(name) = &whole.name {
            html.text(" — ");
            html.text(name);
        }
        parent = whole.part_of.as_deref();
    }
}

fn body(html: &mut Html, document: Node<'_, '_>, context: &NarrativeContext<'_, '_>) {
    let Some(component) = child(document, "component") else {
        html.element("p", Some("cda-muted"), "This document has no body.");
        return;
    };
    if let Some(structured) = child(component, "structuredBody") {
        for section in children(structured, "component").filter_map(|c| child(c, "section")) {
            render_section(html, section, 0, context);
        }
    } else if let Some(non_xml) = child(component, "nonXMLBody") {
        non_xml_body(html, non_xml);
    }
}

fn render_section(
    html: &mut Html,
    section: Node<'_, '_>,
    depth: usize,
    context: &NarrativeContext<'_, '_>,
) {
    if depth > SECTION_DEPTH_LIMIT {
        return;
    }
    html.open("section", &[("class", Some("cda-section"))]);
    let title = child(section, "title")
        .and_then(normalized_text)
        .or_else(|| {
            child(section, "code")
                .and_then(|code| attribute(code, "displayName"))
                .map(|name| name.split_whitespace().collect::<Vec<_>>().join(" "))
        });
    if let Some(title) = title {
        let tag = ["h2", "h3", "h4", "h5", "h6"][depth.min(4)];
        html.element(tag, Some("cda-section-title"), &title);
    }
    if let Some(text) = child(section, "text") {
        context.render_text(html, text);
    }
    for nested in children(section, "component").filter_map(|c| child(c, "section")) {
        render_section(html, nested, depth + 1, context);
    }
    html.close("section");
}

/// A non-XML body: shown when it is plain text or a PNG, JPEG or GIF image; otherwise a note.
fn non_xml_body(html: &mut Html, non_xml: Node<'_, '_>) {
    let Some(value) = child(non_xml, "text") else {
        html.element("p", Some("cda-muted"), "This document's body is empty.");
        return;
    };
    let media_type = attribute(value, "mediaType").unwrap_or("text/plain");
    let representation = attribute(value, "representation").unwrap_or("TXT");
    if let Some(data_uri) = media::image_data_uri(value) {
        html.open("span", &[("class", Some("cda-media"))]);
        html.void(
            "img",
            &[("src", Some(&data_uri)), ("alt", Some("document image"))],
        );
        html.close("span");
    } else if media_type == "text/plain" && representation == "TXT" {
        let text: String = value
            .children()
            .filter(|node| node.is_text())
            .map(|node| node.text().unwrap_or(""))
            .collect();
        html.element("pre", Some("cda-non-xml-body"), text.trim());
    } else {
        html.element(
            "p",
            Some("cda-muted"),
            &format!(
                "The body of this document is not XML ({media_type}) and is not shown here; \
                 download the original to open it."
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_is_safe_to_embed_in_html_and_xml() {
        assert!(!CSS.contains('<'));
        assert!(!CSS.contains('&'));
    }

    #[test]
    fn the_stylesheet_carries_the_same_css() {
        assert!(crate::STYLESHEET_XSL.contains(CSS.trim_end()));
    }

    #[test]
    fn policy_allows_no_scripts() {
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none';"));
        assert!(!CONTENT_SECURITY_POLICY.contains("script-src"));
    }
}
