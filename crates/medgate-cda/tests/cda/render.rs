//! The HTML view: complete, showing header and every section, and sanitised.

use medgate_cda::{render_html, CONTENT_SECURITY_POLICY};

use crate::support::{
    assert_no_hostile_payload, assert_sanitised, assert_shows_patient_and_sections, fixture,
    pik_samples,
};

#[test]
fn every_pik_sample_renders_its_patient_and_sections() {
    for path in pik_samples("every_pik_sample_renders_its_patient_and_sections") {
        let bytes = std::fs::read(&path).unwrap();
        let html = render_html(&bytes).unwrap();
        let what = path.display().to_string();
        assert!(
            html.starts_with("<!DOCTYPE html>\n<html lang=\"pl-PL\">"),
            "{what}"
        );
        assert!(html.trim_end().ends_with("</html>"), "{what}");
        assert_shows_patient_and_sections(&html, &bytes, &what);
        assert_sanitised(&html, &what);
    }
}

#[test]
fn pik_sample_header_block_shows_the_header() {
    let Some(bytes) =
        crate::support::pik_sample("1.3-1.xml", "pik_sample_header_block_shows_the_header")
    else {
        return;
    };
    let html = render_html(&bytes).unwrap();
    for expected in [
        "<title>Recepta</title>",
        "<h1 class=\"cda-title\">Recepta</h1>",
        "<strong class=\"cda-patient-name\">Jan Franciszek Kowalski</strong>",
        "<li>PESEL 62091599999</li>",
        "<th scope=\"row\">Date of birth</th><td>1962-09-15</td>",
        "<th scope=\"row\">Gender</th><td>male</td>",
        "Prescription for medication Document (LOINC 57833-6); P1 class Recepta (KLAS_DOK_P1 04.01)",
        "<th scope=\"row\">Document date</th><td>2017-10-12</td>",
        "2.16.840.1.113883.3.4424.2.7.99999.2.1^876543",
        "<strong>Adam Kowalski</strong> 98765",
        "; Poradnia POZ</li>",
        "<th scope=\"row\">Custodian</th><td><span class=\"cda-oid\">2.16.840.1.113883.3.4424</span>",
        "<th scope=\"row\">Legal authenticator</th><td>98765 <span class=\"cda-oid\">[2.16.840.1.113883.3.4424.1.6.2]</span>, 2017-10-12</td>",
        "<h2 class=\"cda-section-title\">Rp.</h2>",
        "Polocard 150mg tabletki<br>",
    ] {
        assert!(html.contains(expected), "missing {expected}");
    }
}

#[test]
fn ccda_narrative_constructs_are_rendered() {
    let bytes = fixture("ccda-continuity-of-care.xml");
    let html = render_html(&bytes).unwrap();
    assert_shows_patient_and_sections(&html, &bytes, "C-CDA fixture");
    assert_sanitised(&html, "C-CDA fixture");
    for expected in [
        "<html lang=\"en-US\">",
        // Header block.
        "<th scope=\"row\">Document date</th><td>2024-01-05 14:30:00 -05:00</td>",
        "<strong>Dr. Henry Seven</strong> 5555555555 <span class=\"cda-oid\">[2.16.840.1.113883.4.6]</span>, 2024-01-05 14:30:00 -05:00; Good Health Clinic — Good Health Network",
        "<strong>Generic EHR, Generic EHR Clinical System 2.0</strong> EHR-1",
        "<th scope=\"row\">Service event</th><td>Pneumonia (SNOMED CT 233604007), 2023-12-01 – 2024-01-05</td>",
        "<th scope=\"row\">Confidentiality</th><td>normal (N)</td>",
        " (set 2.16.840.1.113883.19.5.99999.19^sTT988, version 2)",
        // Tables.
        "<table class=\"cda-table\"><caption>Known allergies</caption><colgroup span=\"1\"><col span=\"2\"></colgroup><thead>",
        "<th class=\"cda-align-center\">Status</th>",
        "<td class=\"cda-align-center\" rowspan=\"2\">Active</td>",
        "<td class=\"cda-italics cda-botrule\" colspan=\"2\">Codeine: <span class=\"cda-underline\">shortness of breath</span></td>",
        "<tr id=\"ALLERGY_1\">",
        "<span id=\"REACTION_1\" class=\"cda-bold\">Hives</span>",
        // Lists, content, sub/sup, br.
        "<p class=\"cda-caption\">Current medications</p><ol class=\"cda-list-littleroman\"><li id=\"MED_1\"><span class=\"cda-emphasis\">Proventil HFA</span>",
        "inhaler, 2 puffs every 6 hours<br>Started",
        "10<sup>-3</sup> mol, H<sub>2</sub>O",
        "<ul><li>Unordered item one</li>",
        "<span class=\"cda-caption\">Note:</span>",
        // Links.
        "<a href=\"#MED_1\" rel=\"noopener noreferrer\">first medication</a>",
        "<a href=\"https://www.hl7.org/implement/standards/\" rel=\"noopener noreferrer\">HL7 standards</a>",
        "<a href=\"mailto:clinic@example.org\" rel=\"noopener noreferrer\">write to the clinic</a>",
        // Footnote and its reference.
        "H<sub>2</sub>O<sup class=\"cda-footnote-ref\"><a href=\"#cda-footnote-1\">1</a></sup>",
        "write to the clinic</a><sup class=\"cda-footnote-ref\"><a href=\"#cda-footnote-1\">1</a></sup>",
        "<ol class=\"cda-footnotes\"><li id=\"cda-footnote-1\" value=\"1\">Dose adjusted for renal function.</li></ol>",
        // Nested sections and a section titled by its code.
        "<h3 class=\"cda-section-title\">Resolved Problems</h3>",
        "<h4 class=\"cda-section-title\">Childhood Conditions</h4>",
        "<h2 class=\"cda-section-title\">Social history</h2>",
        "<p><span class=\"cda-caption\">Active:</span> Community acquired pneumonia",
        "<h2 class=\"cda-section-title\">Allergies, Adverse Reactions &amp; Alerts</h2>",
    ] {
        assert!(html.contains(expected), "missing {expected}");
    }
}

#[test]
fn render_multimedia_image_is_a_data_uri() {
    let html = render_html(&fixture("ccda-continuity-of-care.xml")).unwrap();
    assert!(html.contains(
        "<span class=\"cda-media\"><img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGM4IScHRwzEcQCxYxBBO0tjggAAAABJRU5ErkJggg==\" alt=\"Chest X-ray thumbnail\"><span class=\"cda-media-caption\">Chest X-ray thumbnail</span></span>"
    ));
}

#[test]
fn hostile_narrative_is_neutralised() {
    let html = render_html(&fixture("hostile-narrative.xml")).unwrap();
    assert_no_hostile_payload(&html, "render_html");
    assert!(html.contains("<p id=\"P_1\" class=\"cda-bold\">First paragraph</p>"));
    assert!(html.contains("<p><span class=\"cda-italics\">Hover text</span></p>"));
    assert!(
        html.contains("<p>ID with a quote</p>"),
        "an unsafe ID is dropped"
    );
    assert!(
        html.contains("<td>Cell</td>"),
        "unsafe colspan/rowspan are dropped"
    );
    assert!(html.contains(
        "<h1 class=\"cda-title\">Notatka &lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;</h1>"
    ));
}

#[test]
fn page_is_standalone_with_inline_css_for_the_policy() {
    let html = render_html(&fixture("ccda-continuity-of-care.xml")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>\n"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("<style>\n"));
    for loads_something in [
        "<link", "<script", "url(", "@import", "<iframe", "<object", "<embed",
    ] {
        assert!(
            !html.contains(loads_something),
            "the page must not contain {loads_something}"
        );
    }
    assert!(CONTENT_SECURITY_POLICY.contains("default-src 'none'"));
    assert!(CONTENT_SECURITY_POLICY.contains("img-src data:"));
    assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
}

#[test]
fn non_xml_body_plain_text_is_shown_and_pdf_is_described() {
    let document = |body: &str| {
        format!(
            "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id root=\"1.2.3\" extension=\"9\"/>\
             <code code=\"11488-4\" codeSystem=\"2.16.840.1.113883.6.1\"/><title>Scan</title>\
             <effectiveTime value=\"20240102\"/><recordTarget><patientRole><id root=\"1.2.4\" extension=\"p\"/>\
             <patient><name>Jane Roe</name></patient></patientRole></recordTarget>\
             <component><nonXMLBody>{body}</nonXMLBody></component></ClinicalDocument>"
        )
    };
    let text =
        render_html(document("<text>Line one &lt;b&gt;\nLine two</text>").as_bytes()).unwrap();
    assert!(text.contains("<pre class=\"cda-non-xml-body\">Line one &lt;b&gt;\nLine two</pre>"));
    assert!(text.contains("<strong class=\"cda-patient-name\">Jane Roe</strong>"));
    let pdf = render_html(
        document("<text mediaType=\"application/pdf\" representation=\"B64\">JVBERi0xLjcK</text>")
            .as_bytes(),
    )
    .unwrap();
    assert!(pdf.contains("is not XML (application/pdf) and is not shown here"));
    assert!(!pdf.contains("JVBERi0xLjcK"));
}

/// Hostile nesting cannot exhaust the stack: narrative deeper than the renderer's bound is
/// shown as plain text, sections deeper than their bound are left out.
#[test]
fn deeply_nested_documents_render_without_overflowing() {
    let depth = 20_000;
    let narrative = format!(
        "{}deep text{}",
        "<content>".repeat(depth),
        "</content>".repeat(depth)
    );
    let sections = format!(
        "{}<text><paragraph>innermost</paragraph></text>{}",
        "<component><section><title>Level</title>".repeat(200),
        "</section></component>".repeat(200)
    );
    let document = format!(
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id root=\"1.2.3\"/>\
         <code code=\"34133-9\" codeSystem=\"2.16.840.1.113883.6.1\"/>\
         <effectiveTime value=\"20240102\"/><recordTarget><patientRole><id root=\"1.2.4\" extension=\"p\"/>\
         </patientRole></recordTarget><component><structuredBody>\
         <component><section><title>Deep</title><text><paragraph>{narrative}</paragraph></text></section></component>\
         {sections}</structuredBody></component></ClinicalDocument>"
    );
    let html = render_html(document.as_bytes()).unwrap();
    assert!(html.contains("deep text"));
    assert!(
        !html.contains("innermost"),
        "sections beyond the bound are left out"
    );
    assert!(html.matches("<section class=\"cda-section\">").count() < 30);
}
