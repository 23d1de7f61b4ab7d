//! The clinical document of an encounter: a one-page (or longer) PDF of what the practitioner
//! typed when closing it, with the patient, the institution, the unit, the practitioner and
//! the times in its header. Written by hand (a few objects of PDF 1.4 with the standard
//! Helvetica font) since the document is plain text; Hungarian letters are kept: the font's
//! encoding is WinAnsi plus the four letters with a double acute (ő Ő ű Ű), which the
//! standard font has. A character the font cannot show becomes `?`.

/// The header lines and the text of an encounter's summary.
pub struct Summary<'a> {
    pub title: &'a str,
    /// `label: value` lines above the text.
    pub header: Vec<String>,
    pub text: &'a str,
}

/// Characters a line holds at 10 pt on A4 with the margins below (Helvetica averages about
/// half an em).
const LINE_CHARS: usize = 95;
const LINES_PER_PAGE: usize = 60;

/// The codes of the font's encoding given to the double-acute letters (unused in WinAnsi).
const DIFFERENCES: [(u8, char, &str); 4] = [
    (0x81, 'Ő', "Ohungarumlaut"),
    (0x8D, 'ő', "ohungarumlaut"),
    (0x8F, 'Ű', "Uhungarumlaut"),
    (0x90, 'ű', "uhungarumlaut"),
];

/// The byte of `c` in the font's encoding.
fn encode_char(c: char) -> u8 {
    if let Some((code, _, _)) = DIFFERENCES.iter().find(|(_, letter, _)| *letter == c) {
        return *code;
    }
    match u32::from(c) {
        code @ 0x20..=0x7E => code as u8,
        // Latin-1's upper half is WinAnsi's too.
        code @ 0xA0..=0xFF => code as u8,
        _ => match c {
            '–' => 0x96,
            '—' => 0x97,
            '„' => 0x84,
            '”' => 0x94,
            '“' => 0x93,
            '’' => 0x92,
            '‘' => 0x91,
            '€' => 0x80,
            '…' => 0x85,
            '\t' => b' ',
            _ => b'?',
        },
    }
}

/// A PDF string literal of `text`.
fn literal(text: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for c in text.chars() {
        match encode_char(c) {
            byte @ (b'(' | b')' | b'\\') => out.extend_from_slice(&[b'\\', byte]),
            byte => out.push(byte),
        }
    }
    out.push(b')');
    out
}

/// `text` broken into lines of at most [`LINE_CHARS`] characters, at spaces where possible.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let mut word = word.to_owned();
            while word.chars().count() > LINE_CHARS {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(LINE_CHARS).collect();
                word = word.chars().skip(LINE_CHARS).collect();
                lines.push(head);
            }
            let extra = usize::from(!line.is_empty());
            if line.chars().count() + extra + word.chars().count() > LINE_CHARS {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        lines.push(line);
    }
    lines
}

/// The PDF document of `summary`.
pub fn pdf(summary: &Summary<'_>) -> Vec<u8> {
    let mut lines: Vec<(u8, String)> = vec![(14, summary.title.to_owned()), (10, String::new())];
    lines.extend(summary.header.iter().map(|line| (10, line.clone())));
    lines.push((10, String::new()));
    lines.extend(wrap(summary.text).into_iter().map(|line| (10, line)));
    let pages: Vec<&[(u8, String)]> = lines.chunks(LINES_PER_PAGE).collect();

    // Objects: 1 catalog, 2 page tree, 3 font, then a page and its content per page.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..pages.len()).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    );
    let differences: Vec<String> = DIFFERENCES
        .iter()
        .map(|(code, _, name)| format!("{code} /{name}"))
        .collect();
    objects.push(
        format!(
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding \
             /BaseEncoding /WinAnsiEncoding /Differences [{}] >> >>",
            differences.join(" ")
        )
        .into_bytes(),
    );
    for (index, page) in pages.iter().enumerate() {
        let content_id = 5 + 2 * index;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
            )
            .into_bytes(),
        );
        let mut stream = b"BT\n56 790 Td\n".to_vec();
        for (size, line) in page.iter() {
            stream.extend_from_slice(format!("/F1 {size} Tf\n").as_bytes());
            stream.extend_from_slice(&literal(line));
            stream.extend_from_slice(format!(" Tj\n0 -{} Td\n", u32::from(*size) + 3).as_bytes());
        }
        stream.extend_from_slice(b"ET\n");
        let mut object = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
        object.extend_from_slice(&stream);
        object.extend_from_slice(b"endstream");
        objects.push(object);
    }

    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", index + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn hungarian_letters_are_kept_and_parentheses_escaped() {
        assert_eq!(literal("Ő ő (x) \\"), b"(\x81 \x8D \\(x\\) \\\\)".to_vec());
        assert_eq!(literal("áéíóöúü"), "áéíóöúü".chars().map(|c| c as u8).collect::<Vec<_>>().into_iter().fold(vec![b'('], |mut v, b| { v.push(b); v }).into_iter().chain([b')']).collect::<Vec<_>>());
        assert_eq!(literal("✓"), b"(?)".to_vec());
    }

    #[test]
    fn long_text_wraps_and_the_cross_reference_points_at_the_objects() {
        let text = format!("{}\nRövid sor.", "szó ".repeat(100));
        let lines = wrap(&text);
        assert!(lines.iter().all(|line| line.chars().count() <= LINE_CHARS));
        assert_eq!(lines.last().unwrap(), "Rövid sor.");
        let long = "x".repeat(3 * LINE_CHARS);
        assert_eq!(wrap(&long).len(), 3);

        let document = pdf(&Summary {
            title: "Ambuláns lap",
            header: vec!["Beteg (TAJ): 123456788".to_owned()],
            text: &"Panasz: fogfájás.\n".repeat(150),
        });
        assert!(document.starts_with(b"%PDF-1.4"));
        assert!(document.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&document);
        // 150 lines and the header: three pages.
        assert!(text.contains("/Count 3"), "{text}");
        let startxref: usize = text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(document[startxref..].starts_with(b"xref"));
        // Every object is where the table says.
        let table = &text[startxref..];
        for (index, entry) in table.lines().skip(3).take_while(|l| l.ends_with(" n ")).enumerate() {
            let offset: usize = entry[..10].parse().unwrap();
            assert!(
                document[offset..].starts_with(format!("{} 0 obj", index + 1).as_bytes()),
                "object {}",
                index + 1
            );
        }
    }
}
