//! The clinical document of an encounter: a one-page (or longer) PDF of what the practitioner
//! typed when closing it, with the patient, the institution, the unit, the practitioner and
//! the times in its header, written with `pdf-writer` in the standard Helvetica font (the
//! document is plain text, so no font is embedded). Hungarian letters are kept: the font's
//! encoding is WinAnsi plus the four letters with a double acute (ő Ő ű Ű), which the
//! standard font has, under unused codes; a character the font cannot show becomes `?`.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

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

/// The bytes of `text` in the font's encoding (pdf-writer escapes them in the string).
fn encode(text: &str) -> Vec<u8> {
    text.chars().map(encode_char).collect()
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
    let mut lines: Vec<(f32, String)> = vec![(14.0, summary.title.to_owned()), (10.0, String::new())];
    lines.extend(summary.header.iter().map(|line| (10.0, line.clone())));
    lines.push((10.0, String::new()));
    lines.extend(wrap(summary.text).into_iter().map(|line| (10.0, line)));
    let pages: Vec<&[(f32, String)]> = lines.chunks(LINES_PER_PAGE).collect();

    // 1 catalog, 2 page tree, 3 font, then a page and its content per page.
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let page_ids: Vec<(Ref, Ref)> = (0..pages.len())
        .map(|index| {
            let index = i32::try_from(index).unwrap_or(i32::MAX / 2 - 5);
            (Ref::new(4 + 2 * index), Ref::new(5 + 2 * index))
        })
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    {
        let mut helvetica = pdf.type1_font(font);
        helvetica.base_font(Name(b"Helvetica"));
        let mut encoding = helvetica.encoding_custom();
        encoding.base_encoding(Name(b"WinAnsiEncoding"));
        let mut differences = encoding.differences();
        for (code, _, name) in DIFFERENCES {
            differences.consecutive(code, [Name(name.as_bytes())]);
        }
    }
    for (lines, (page_id, content_id)) in pages.iter().zip(&page_ids) {
        let mut page = pdf.page(*page_id);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
            .contents(*content_id);
        page.resources().fonts().pair(Name(b"F1"), font);
        page.finish();
        let mut content = Content::new();
        content.begin_text().next_line(56.0, 790.0);
        for (size, line) in lines.iter() {
            content
                .set_font(Name(b"F1"), *size)
                .show(Str(&encode(line)))
                .next_line(0.0, -(size + 3.0));
        }
        content.end_text();
        pdf.stream(*content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn hungarian_letters_are_kept_in_the_font_encoding() {
        assert_eq!(encode("Ő ő ű Ű"), vec![0x81, b' ', 0x8D, b' ', 0x90, b' ', 0x8F]);
        assert_eq!(encode("áéíóöúü"), "áéíóöúü".chars().map(|c| u8::try_from(u32::from(c)).unwrap()).collect::<Vec<_>>());
        assert_eq!(encode("✓ „x”"), vec![b'?', b' ', 0x84, b'x', 0x94]);
    }

    fn sample() -> Vec<u8> {
        pdf(&Summary {
            title: "Ambuláns lap",
            header: vec!["Beteg (TAJ): 123456788".to_owned(), "Orvos: Dr. Kovács Anna (58012)".to_owned()],
            text: &format!("Panasz: fogfájás (bal alsó őrlő), ősszel kezdődött.\n{}", "Kontroll egy hét múlva.\n".repeat(150)),
        })
    }

    #[test]
    fn long_text_wraps_onto_pages() {
        let text = format!("{}\nRövid sor.", "szó ".repeat(100));
        let lines = wrap(&text);
        assert!(lines.iter().all(|line| line.chars().count() <= LINE_CHARS));
        assert_eq!(lines.last().unwrap(), "Rövid sor.");
        let long = "x".repeat(3 * LINE_CHARS);
        assert_eq!(wrap(&long).len(), 3);
        let document = sample();
        assert!(document.starts_with(b"%PDF-"));
        // 151 lines and the header: three pages.
        assert!(String::from_utf8_lossy(&document).contains("/Count 3"));
    }

    /// The text read back by poppler's `pdftotext`, a reader nobody here wrote: every page,
    /// the Hungarian letters (the double acute ones through the font's differences) and the
    /// parentheses as typed.
    #[test]
    fn pdftotext_reads_the_summary_back() {
        let Some(pdftotext) = medgate_test_peers::require_command(
            "pdftotext",
            "apt-get install poppler-utils (scripts/test does it)",
        ) else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("summary.pdf");
        std::fs::write(&file, sample()).unwrap();
        let output = std::process::Command::new(pdftotext)
            .arg("-enc")
            .arg("UTF-8")
            .arg(&file)
            .arg("-")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("Ambuláns lap"), "{text}");
        assert!(text.contains("Beteg (TAJ): 123456788"), "{text}");
        assert!(text.contains("Panasz: fogfájás (bal alsó őrlő), ősszel kezdődött."), "{text}");
        assert_eq!(text.matches("Kontroll egy hét múlva.").count(), 150, "{text}");
        // Pages are separated by form feeds.
        assert_eq!(text.matches('\u{c}').count(), 3, "{text}");
    }
}
