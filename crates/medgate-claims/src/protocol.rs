//! The FLK protocol as the order defines it: one `V` file per checked file (`V` + the
//! checked file's name: `VHM…`, `VLM…`), root `FLK_P` with `FNAME` (the protocol's name),
//! `FNAME_I` (the checked file's name) and one `PR` per finding (`OSHIB`, `IM_POL`,
//! `BAS_EL`, `N_ZAP`, `IDCASE`, `SL_ID`, `IDSERV`, `COMMENT`), windows-1251, in a ZIP named
//! `V` + the package's name. The comments are Russian (`Finding::comment_ru`), as the
//! fund's staff read them.

use std::io::Write;

use crate::error::ClaimsError;
use crate::flk::Finding;
use crate::names::RegisterFileName;
use crate::xml::escape;

/// The ZIP of a package's protocol: its name and bytes.
pub struct Protocol {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// The protocol of a checked package: a `V` file for the main file and one for the
/// personal-data file.
pub fn protocol(name: &RegisterFileName, findings: &[Finding]) -> Result<Protocol, ClaimsError> {
    let main = format!("{}.xml", name.main_stem());
    let personal = format!("{}.xml", name.personal_stem());
    let files = [
        (
            name.main_stem(),
            findings
                .iter()
                .filter(|f| f.file.ends_with(&main))
                .collect::<Vec<_>>(),
        ),
        (
            name.personal_stem(),
            findings
                .iter()
                .filter(|f| f.file.ends_with(&personal))
                .collect(),
        ),
    ];
    zip_protocol(&format!("V{}.zip", name.main_stem()), &files)
}

/// The protocol of a package refused as a whole (801–805): one `PR` naming the package, its
/// `COMMENT` the Russian `comment_ru` (`comment` is the English kept beside it).
pub fn package_protocol(
    package_file_name: &str,
    code: u16,
    comment: &str,
    comment_ru: &str,
) -> Result<Protocol, ClaimsError> {
    let stem = package_file_name
        .rsplit('/')
        .next()
        .unwrap_or(package_file_name);
    let stem = stem
        .strip_suffix(".zip")
        .or_else(|| stem.strip_suffix(".ZIP"))
        .unwrap_or(stem);
    let finding = Finding {
        code,
        rule: None,
        file: package_file_name.to_owned(),
        element: String::new(),
        base: String::new(),
        n_zap: None,
        idcase: None,
        sl_id: None,
        idserv: None,
        comment: comment.to_owned(),
        comment_ru: comment_ru.to_owned(),
    };
    zip_protocol(
        &format!("V{stem}.zip"),
        &[(stem.to_owned(), vec![&finding])],
    )
}

fn zip_protocol(
    zip_name: &str,
    files: &[(String, Vec<&Finding>)],
) -> Result<Protocol, ClaimsError> {
    let fail = |reason: String| ClaimsError::Zip {
        file: zip_name.to_owned(),
        reason,
    };
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (checked, findings) in files {
        let text = v_file(&format!("V{checked}"), checked, findings);
        // A character windows-1251 lacks becomes a numeric character reference, which XML
        // reads back as that character.
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
        writer
            .start_file(format!("V{checked}.xml"), options)
            .map_err(|e| fail(e.to_string()))?;
        writer.write_all(&bytes).map_err(|e| fail(e.to_string()))?;
    }
    let cursor = writer.finish().map_err(|e| fail(e.to_string()))?;
    Ok(Protocol {
        file_name: zip_name.to_owned(),
        bytes: cursor.into_inner(),
    })
}

/// The text of one `V` file.
pub fn v_file(protocol_name: &str, checked_name: &str, findings: &[&Finding]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<FLK_P>\n");
    out.push_str(&format!(
        " <FNAME>{}</FNAME>\n <FNAME_I>{}</FNAME_I>\n",
        escape(protocol_name),
        escape(checked_name)
    ));
    for finding in findings {
        out.push_str(" <PR>\n");
        out.push_str(&format!("  <OSHIB>{}</OSHIB>\n", finding.code));
        if !finding.element.is_empty() {
            out.push_str(&format!(
                "  <IM_POL>{}</IM_POL>\n",
                escape(&finding.element)
            ));
        }
        if !finding.base.is_empty() {
            out.push_str(&format!("  <BAS_EL>{}</BAS_EL>\n", escape(&finding.base)));
        }
        for (tag, value) in [
            ("N_ZAP", &finding.n_zap),
            ("IDCASE", &finding.idcase),
            ("SL_ID", &finding.sl_id),
            ("IDSERV", &finding.idserv),
        ] {
            if let Some(value) = value {
                out.push_str(&format!("  <{tag}>{}</{tag}>\n", escape(value)));
            }
        }
        let text = if finding.comment_ru.is_empty() {
            &finding.comment
        } else {
            &finding.comment_ru
        };
        let comment = match &finding.rule {
            Some(rule) => format!("{rule}: {text}"),
            None => text.clone(),
        };
        // Characters windows-1251 lacks are written plainly: ∞ as `*`, any other as `?`
        // (its dashes, guillemets and ellipsis stay as they are).
        let comment: String = comment
            .chars()
            .map(|c| match c {
                '∞' => '*',
                c if in_windows_1251(c) => c,
                _ => '?',
            })
            .collect();
        out.push_str(&format!("  <COMMENT>{}</COMMENT>\n", escape(&comment)));
        out.push_str(" </PR>\n");
    }
    out.push_str("</FLK_P>\n");
    out
}

/// Whether windows-1251 has the character.
fn in_windows_1251(c: char) -> bool {
    let mut buffer = [0u8; 4];
    let (_, _, unmappable) = encoding_rs::WINDOWS_1251.encode(c.encode_utf8(&mut buffer));
    !unmappable
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::names::RegisterFileName;
    use crate::xml::{DecodingReader, Item, RecordReader};
    use std::io::Read;

    fn finding(file: &str, comment: &str) -> Finding {
        Finding {
            code: 904,
            rule: Some("001F.00.0160".to_owned()),
            file: file.to_owned(),
            element: "USL_OK".to_owned(),
            base: "Z_SL".to_owned(),
            n_zap: Some("2".to_owned()),
            idcase: Some("2".to_owned()),
            sl_id: None,
            idserv: None,
            comment: "English, not in the protocol".to_owned(),
            comment_ru: comment.to_owned(),
        }
    }

    fn entries(protocol: &Protocol) -> Vec<(String, Vec<Item>)> {
        let mut archive =
            zip::ZipArchive::new(std::io::Cursor::new(protocol.bytes.clone())).unwrap();
        let mut out = Vec::new();
        for index in 0..archive.len() {
            let mut file = archive.by_index(index).unwrap();
            let name = file.name().to_owned();
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).unwrap();
            assert!(bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>"));
            let mut reader = RecordReader::new(
                DecodingReader::new(bytes.as_slice(), &name).unwrap(),
                "PR",
                &name,
            );
            let mut items = Vec::new();
            while let Some(item) = reader.next_item().unwrap() {
                items.push(item);
            }
            out.push((name, items));
        }
        out
    }

    #[test]
    fn one_v_file_per_checked_file_in_windows_1251() {
        let name = RegisterFileName::parse("HM010001S14002_25011").unwrap();
        let findings = [finding(
            "HM010001S14002_25011.xml",
            "код «9» <не> из V006 – ∞ — … ✓",
        )];
        let protocol = protocol(&name, &findings).unwrap();
        assert_eq!(protocol.file_name, "VHM010001S14002_25011.zip");
        let files = entries(&protocol);
        assert_eq!(
            files.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["VHM010001S14002_25011.xml", "VLM010001S14002_25011.xml"]
        );
        let (_, items) = &files[0];
        assert!(
            matches!(&items[0], Item::Header(e) if e.name == "FNAME" && e.text == "VHM010001S14002_25011")
        );
        assert!(
            matches!(&items[1], Item::Header(e) if e.name == "FNAME_I" && e.text == "HM010001S14002_25011")
        );
        let Item::Record(pr) = &items[2] else {
            panic!("no PR")
        };
        assert_eq!(pr.child_text("OSHIB"), Some("904"));
        assert_eq!(pr.child_text("IM_POL"), Some("USL_OK"));
        assert_eq!(pr.child_text("BAS_EL"), Some("Z_SL"));
        assert_eq!(pr.child_text("IDCASE"), Some("2"));
        assert_eq!(pr.child("SL_ID"), None);
        // Cyrillic, guillemets, dashes, the ellipsis and the escaped `<` survive; ∞ and
        // what windows-1251 lacks are written plainly.
        assert_eq!(
            pr.child_text("COMMENT"),
            Some("001F.00.0160: код «9» <не> из V006 – * — … ?")
        );
        assert_eq!(
            files[1].1.len(),
            2,
            "the personal-data file's protocol has no PR"
        );
    }

    #[test]
    fn a_refused_package_gets_one_pr_with_its_code() {
        let protocol = package_protocol(
            "HM010001S14002_25011.zip",
            803,
            "the L file is missing",
            "в архиве нет файла персональных данных",
        )
        .unwrap();
        assert_eq!(protocol.file_name, "VHM010001S14002_25011.zip");
        let files = entries(&protocol);
        assert_eq!(files.len(), 1);
        let Item::Record(pr) = &files[0].1[2] else {
            panic!("no PR")
        };
        assert_eq!(pr.child_text("OSHIB"), Some("803"));
        assert_eq!(pr.child("IM_POL"), None);
        assert_eq!(
            pr.child_text("COMMENT"),
            Some("в архиве нет файла персональных данных")
        );
    }
}
