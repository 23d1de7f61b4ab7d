//! Helpers shared by the integration tests: where the samples and fixtures are, the peer
//! tools (xsltproc, xmllint, under `medgate_test_peers`' one missing-peer rule), and checks
//! on rendered HTML.

use std::path::{Path, PathBuf};
use std::process::Command;

use medgate_test_peers::require;

/// The Polish PIK sample documents, `/work/shared/testdata/cda/pik` in the development setup.
pub fn pik_samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/cda/pik")
}

/// The PIK XML schemas beside the samples.
pub fn pik_schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/cda/xsd/extPL_r2.xsd")
}

/// Every PIK sample, sorted; empty (after a loud note) when the folder is absent, so the
/// fixture tests still run on a checkout without the shared test data.
pub fn pik_samples(test: &str) -> Vec<PathBuf> {
    let dir = pik_samples_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "*** SKIPPED PART OF {test}: the PIK samples folder {} is absent ***",
            dir.display()
        );
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "xml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .xml files in {}", dir.display());
    files
}

/// One PIK sample by the end of its name (e.g. `1.3-1.xml`), or `None` (after a loud note)
/// when the folder is absent.
pub fn pik_sample(name: &str, test: &str) -> Option<Vec<u8>> {
    let path = pik_samples_dir().join(format!("2.16.840.1.113883.3.4424.13.10.{name}"));
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) if !pik_samples_dir().exists() => {
            eprintln!("*** SKIPPED {test}: the PIK samples folder is absent ***");
            None
        }
        Err(error) => panic!("cannot read {}: {error}", path.display()),
    }
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

/// Every fixture that is a complete CDA document.
pub fn fixture_documents() -> Vec<PathBuf> {
    ["ccda-continuity-of-care.xml", "hostile-narrative.xml"]
        .iter()
        .map(|name| fixture_path(name))
        .collect()
}

pub fn stylesheet_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/medgate-cda.xsl")
}

/// Whether a peer tool (`xsltproc`, `xmllint`) is there, under the one missing-peer rule:
/// missing, it fails the test with the install command, or, with
/// `MEDGATE_SKIP_MISSING_PEERS=1`, prints a loud SKIPPED line and returns false.
pub fn required_peer(tool: &str, package: &str) -> bool {
    let probe = Command::new(tool)
        .arg("--version")
        .output()
        .map(|_| ())
        .map_err(|error| format!("{tool} cannot run: {error}"));
    require(tool, &format!("apt-get install {package}"), probe).is_some()
}

/// Runs xsltproc with medgate's stylesheet on `document` and returns the HTML.
pub fn xsltproc(document: &Path) -> String {
    let output = Command::new("xsltproc")
        .arg("--nonet")
        .arg(stylesheet_path())
        .arg(document)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "xsltproc failed on {}: {}",
        document.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The text of an HTML page: tags removed, the entities our renderers write decoded, and
/// whitespace collapsed.
pub fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Patient name and section titles of a document, as the renderers should show them.
pub struct Expected {
    pub patient_name: String,
    pub section_titles: Vec<String>,
}

pub fn expected(bytes: &[u8]) -> Expected {
    let header = medgate_cda::parse(bytes).unwrap();
    let text = std::str::from_utf8(bytes).unwrap();
    let document = roxmltree::Document::parse(text).unwrap();
    let section_titles = document
        .descendants()
        .filter(|node| node.has_tag_name(("urn:hl7-org:v3", "title")))
        .filter(|node| {
            node.parent()
                .is_some_and(|parent| parent.has_tag_name(("urn:hl7-org:v3", "section")))
        })
        .map(|node| {
            node.descendants()
                .filter(|d| d.is_text())
                .flat_map(|d| d.text().unwrap_or("").split_whitespace())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|title| !title.is_empty())
        .collect();
    Expected {
        patient_name: header.patient.name.unwrap().to_string(),
        section_titles,
    }
}

/// Checks a page shows the document's patient name and every section title.
pub fn assert_shows_patient_and_sections(html: &str, bytes: &[u8], what: &str) {
    let expected = expected(bytes);
    let text = visible_text(html);
    assert!(
        text.contains(&expected.patient_name),
        "{what}: patient name '{}' not shown",
        expected.patient_name
    );
    for title in &expected.section_titles {
        assert!(
            text.contains(title.as_str()),
            "{what}: section title '{title}' not shown"
        );
    }
}

/// The HTML elements the renderers may write.
const ALLOWED_ELEMENTS: &[&str] = &[
    "html", "head", "meta", "title", "style", "body", "article", "header", "main", "footer",
    "section", "h1", "h2", "h3", "h4", "h5", "h6", "div", "p", "span", "strong", "table",
    "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td", "ul", "ol", "li",
    "a", "br", "sub", "sup", "ins", "del", "img", "pre",
];

/// The attributes the renderers may write (`http-equiv` is added by xsltproc itself).
const ALLOWED_ATTRIBUTES: &[&str] = &[
    "class",
    "id",
    "href",
    "rel",
    "src",
    "alt",
    "colspan",
    "rowspan",
    "span",
    "scope",
    "value",
    "lang",
    "charset",
    "name",
    "content",
    "http-equiv",
];

/// Checks every tag of a page against the whitelist: allowed element and attribute names,
/// `href` only http(s)/mailto/#fragment, `src` only `data:` PNG, JPEG or GIF.
pub fn assert_sanitised(html: &str, what: &str) {
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').map(|end| start + end).unwrap();
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') || tag.starts_with('/') {
            assert!(
                tag.starts_with("!DOCTYPE html")
                    || tag[1..].chars().all(|c| c.is_ascii_alphanumeric()),
                "{what}: unexpected markup <{tag}>"
            );
            continue;
        }
        let name_end = tag.find([' ', '/']).unwrap_or(tag.len());
        let element = &tag[..name_end];
        assert!(
            ALLOWED_ELEMENTS.contains(&element),
            "{what}: element <{element}> is not allowed"
        );
        let mut attributes = &tag[name_end..];
        loop {
            attributes = attributes.trim_start_matches([' ', '/']);
            if attributes.is_empty() {
                break;
            }
            let equals = attributes
                .find('=')
                .unwrap_or_else(|| panic!("{what}: bad tag <{tag}>"));
            let name = &attributes[..equals];
            assert!(
                ALLOWED_ATTRIBUTES.contains(&name),
                "{what}: attribute {name} on <{element}> is not allowed"
            );
            let value_start = equals + 2;
            assert_eq!(
                &attributes[equals + 1..value_start],
                "\"",
                "{what}: unquoted value in <{tag}>"
            );
            let value_end = value_start + attributes[value_start..].find('"').unwrap();
            let value = &attributes[value_start..value_end];
            match name {
                "href" => assert!(
                    value.starts_with("http://")
                        || value.starts_with("https://")
                        || value.starts_with("mailto:")
                        || value.starts_with('#'),
                    "{what}: href {value} is not allowed"
                ),
                "src" => assert!(
                    [
                        "data:image/png;base64,",
                        "data:image/jpeg;base64,",
                        "data:image/gif;base64,"
                    ]
                    .iter()
                    .any(|prefix| value.starts_with(prefix)),
                    "{what}: src {value} is not allowed"
                ),
                _ => {}
            }
            attributes = &attributes[value_end + 1..];
        }
    }
}

/// Checks that none of the hostile fixture's payloads made it into a page.
pub fn assert_no_hostile_payload(html: &str, what: &str) {
    let lower = html.to_ascii_lowercase();
    for forbidden in [
        "<script",
        "onclick",
        "onmouseover",
        "onerror",
        "onload",
        "javascript:",
        "vbscript:",
        "style=",
        "<iframe",
        "data:text/html",
        "svg",
        "evil.example",
        "/api/v1",
    ] {
        assert!(
            !lower.contains(forbidden),
            "{what}: output contains {forbidden}"
        );
    }
    assert!(
        html.contains("&lt;script&gt;"),
        "{what}: escaped text should stay visible"
    );
    assert!(
        html.contains("<img src=\"data:image/png;base64,iVBORw0KGgo"),
        "{what}: the real PNG should be shown"
    );
    assert_eq!(
        html.matches("<img ").count(),
        1,
        "{what}: only the real PNG is an image"
    );
    assert_eq!(
        html.matches("class=\"cda-media-missing\"").count(),
        3,
        "{what}: three objects not shown"
    );
    assert!(
        html.contains("<a href=\"https://example.org/safe\" rel=\"noopener noreferrer\">seven</a>"),
        "{what}: the safe link should be kept"
    );
    assert_eq!(
        html.matches("<a ").count(),
        1,
        "{what}: only the safe link is a link"
    );
    assert!(
        html.contains("<html>"),
        "{what}: an unsafe language code must not become lang"
    );
    assert_sanitised(html, what);
}
