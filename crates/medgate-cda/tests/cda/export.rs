//! The export pieces: the stylesheet instruction and medgate's XSL, run with xsltproc.

use std::process::Command;

use medgate_cda::{parse, render_html, with_stylesheet_pi, STYLESHEET_FILE_NAME, STYLESHEET_XSL};

use crate::support::{
    assert_no_hostile_payload, assert_sanitised, assert_shows_patient_and_sections,
    fixture_documents, pik_samples, required_peer, stylesheet_path, xsltproc,
};

#[test]
fn the_asset_file_is_the_exported_stylesheet() {
    assert_eq!(
        std::fs::read_to_string(stylesheet_path()).unwrap(),
        STYLESHEET_XSL
    );
    assert!(STYLESHEET_XSL.contains("<xsl:stylesheet version=\"1.0\""));
}

#[test]
fn stylesheet_renders_every_sample_and_fixture() {
    let test = "stylesheet_renders_every_sample_and_fixture";
    if !required_peer("xsltproc", "xsltproc") {
        return;
    }
    let mut documents = pik_samples(test);
    documents.extend(fixture_documents());
    for path in documents {
        let bytes = std::fs::read(&path).unwrap();
        let html = xsltproc(&path);
        let what = format!("xsltproc {}", path.display());
        assert!(html.contains("<article class=\"cda-document\">"), "{what}");
        assert_shows_patient_and_sections(&html, &bytes, &what);
        assert_sanitised(&html, &what);
    }
}

#[test]
fn stylesheet_neutralises_the_hostile_fixture() {
    if !required_peer("xsltproc", "xsltproc") {
        return;
    }
    let html = xsltproc(&crate::support::fixture_path("hostile-narrative.xml"));
    assert_no_hostile_payload(&html, "xsltproc");
}

/// The stylesheet and render_html show the same view: apart from the meta element xsltproc
/// adds and the apostrophes and quotes it leaves unescaped in text, the pages are identical.
#[test]
fn stylesheet_and_render_html_produce_the_same_page() {
    let test = "stylesheet_and_render_html_produce_the_same_page";
    if !required_peer("xsltproc", "xsltproc") {
        return;
    }
    let normalise = |html: &str| {
        html.replace(
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\">",
            "",
        )
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
    };
    let mut documents = pik_samples(test);
    documents.extend(fixture_documents());
    for path in documents {
        let ours = render_html(&std::fs::read(&path).unwrap()).unwrap();
        let theirs = xsltproc(&path);
        let (ours, theirs) = (normalise(&ours), normalise(&theirs));
        if ours != theirs {
            let at = ours
                .char_indices()
                .zip(theirs.chars())
                .find(|((_, a), b)| a != b)
                .map_or(ours.len().min(theirs.len()), |((index, _), _)| index);
            let from = ours.floor_char_boundary(at.saturating_sub(120));
            panic!(
                "{}: the pages differ at byte {at}:\nrender_html: {}\nxsltproc:    {}",
                path.display(),
                &ours[from..ours.ceil_char_boundary((at + 120).min(ours.len()))],
                &theirs[theirs.floor_char_boundary(from.min(theirs.len()))
                    ..theirs.ceil_char_boundary((at + 120).min(theirs.len()))],
            );
        }
    }
}

#[test]
fn exported_document_opens_with_our_stylesheet() {
    let original =
        std::fs::read(crate::support::fixture_path("ccda-continuity-of-care.xml")).unwrap();
    let exported = with_stylesheet_pi(&original, STYLESHEET_FILE_NAME);
    assert_eq!(
        parse(&exported).unwrap(),
        parse(&original).unwrap(),
        "the header is unchanged"
    );
    let text = String::from_utf8(exported.clone()).unwrap();
    assert!(text.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?xml-stylesheet type=\"text/xsl\" href=\"medgate-cda.xsl\"?>\n<!--"
    ));
    if !required_peer("xsltproc", "xsltproc") {
        return;
    }
    // Like a browser opening the exported ZIP: the document names the stylesheet beside it.
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("document.xml"), &exported).unwrap();
    std::fs::write(folder.path().join(STYLESHEET_FILE_NAME), STYLESHEET_XSL).unwrap();
    let output = Command::new("xsltproc")
        .arg("--nonet")
        .arg(folder.path().join("document.xml"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html = String::from_utf8(output.stdout).unwrap();
    assert!(html.contains("<strong class=\"cda-patient-name\">Eve Marie Everywoman</strong>"));
}

#[test]
fn our_instruction_comes_before_the_pik_one() {
    let Some(bytes) =
        crate::support::pik_sample("1.3-1.xml", "our_instruction_comes_before_the_pik_one")
    else {
        return;
    };
    let exported = String::from_utf8(with_stylesheet_pi(&bytes, STYLESHEET_FILE_NAME)).unwrap();
    let ours = exported.find("href=\"medgate-cda.xsl\"").unwrap();
    let theirs = exported.find("href=\"CDA_PL_IG_1.3.1.xsl\"").unwrap();
    assert!(ours < theirs);
    assert_eq!(
        exported.len(),
        bytes.len() + "\n<?xml-stylesheet type=\"text/xsl\" href=\"medgate-cda.xsl\"?>".len()
    );
}
