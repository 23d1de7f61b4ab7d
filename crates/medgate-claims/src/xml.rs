//! Streamed reading of register files: the bytes decoded from the encoding the XML
//! declaration names (windows-1251 by default) as they are read, and the document handed
//! out one child of the root at a time (`ZGLV`, `SCHET`, then each `ZAP` or `PERS`) as a
//! small tree, so a file of any size is read in the memory of one record.

use std::io::{BufRead, Read};

use encoding_rs::{CoderResult, Decoder, Encoding, WINDOWS_1251};
use quick_xml::events::Event;

use crate::error::ClaimsError;

/// One element with its text and children, in document order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn new(name: &str) -> Element {
        Element {
            name: name.to_owned(),
            ..Element::default()
        }
    }

    /// The first child of that name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.is_named(name))
    }

    /// Whether the element has that name: the length and first byte, which tell most names
    /// apart, compared before the whole.
    fn is_named(&self, name: &str) -> bool {
        let own = self.name.as_bytes();
        own.len() == name.len() && own.first() == name.as_bytes().first() && own == name.as_bytes()
    }

    /// The text of the first child of that name, trimmed.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|child| trim(&child.text))
    }

    /// Its text, trimmed.
    pub fn value(&self) -> &str {
        trim(&self.text)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children
            .iter()
            .filter(move |child| child.is_named(name))
    }

    /// Builder for tests and the generator: a child with text.
    pub fn with(mut self, name: &str, text: impl Into<String>) -> Element {
        self.children.push(Element {
            name: name.to_owned(),
            text: text.into(),
            children: Vec::new(),
        });
        self
    }

    /// Builder: a child element.
    pub fn with_child(mut self, child: Element) -> Element {
        self.children.push(child);
        self
    }
}

/// `text.trim()`, without walking the characters when the text starts and ends with a
/// printable ASCII character, as nearly every value does (the control trims every value it
/// looks at).
pub fn trim(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(&first), Some(&last))
            if (0x21..0x7F).contains(&first) && (0x21..0x7F).contains(&last) =>
        {
            text
        }
        _ => text.trim(),
    }
}

/// What a register file reader hands out.
#[derive(Debug)]
pub enum Item {
    /// A child of the root that is not a record (`ZGLV`, `SCHET`).
    Header(Element),
    /// One record (`ZAP` of `ZL_LIST`, `PERS` of `PERS_LIST`).
    Record(Element),
}

/// Progress of a read: bytes of the file read so far, of its total.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// A reader that decodes the file's bytes to UTF-8 while it reads them, from the encoding its
/// XML declaration names, and counts the bytes it consumed.
pub struct DecodingReader<R> {
    inner: R,
    decoder: Decoder,
    encoding: &'static Encoding,
    raw: Vec<u8>,
    raw_start: usize,
    raw_end: usize,
    out: Vec<u8>,
    out_start: usize,
    out_end: usize,
    consumed: u64,
    finished: bool,
    file: String,
}

const CHUNK: usize = 64 * 1024;

impl<R: Read> DecodingReader<R> {
    /// Reads the start of the file to find its declared encoding (windows-1251 when none
    /// is named: the federal order's encoding).
    pub fn new(mut inner: R, file: &str) -> Result<DecodingReader<R>, ClaimsError> {
        let mut raw = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < 256 {
            let read = inner
                .read(&mut raw[filled..])
                .map_err(|error| ClaimsError::Encoding {
                    file: file.to_owned(),
                    reason: error.to_string(),
                })?;
            if read == 0 {
                break;
            }
            filled += read;
        }
        let encoding =
            declared_encoding(&raw[..filled]).map_err(|reason| ClaimsError::Encoding {
                file: file.to_owned(),
                reason,
            })?;
        Ok(DecodingReader {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            encoding,
            raw,
            raw_start: 0,
            raw_end: filled,
            out: vec![0u8; CHUNK * 3 + 16],
            out_start: 0,
            out_end: 0,
            consumed: 0,
            finished: false,
            file: file.to_owned(),
        })
    }

    /// The encoding the declaration named.
    pub fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// Bytes of the file decoded so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    fn refill(&mut self) -> std::io::Result<()> {
        while self.out_start == self.out_end && !self.finished {
            if self.raw_start == self.raw_end {
                self.raw_start = 0;
                self.raw_end = self.inner.read(&mut self.raw)?;
            }
            let last = self.raw_end == 0;
            let input = &self.raw[self.raw_start..self.raw_end];
            let (result, read, written, replaced) =
                self.decoder.decode_to_utf8(input, &mut self.out, last);
            if replaced {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{}: bytes near offset {} are not valid {}",
                        self.file,
                        self.consumed + read as u64,
                        self.encoding.name()
                    ),
                ));
            }
            // Windows-1251 maps every byte, 0x98 to a C1 control character: no register has
            // one, so it is taken as the invalid byte it is. The decoder writes whole UTF-8
            // characters, where U+0080–U+009F are the bytes C2 80 to C2 9F.
            if let Some(at) = c1_control(&self.out[..written]) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{}: a byte near offset {} is not a character of {} (a control code)",
                        self.file,
                        self.consumed + at as u64,
                        self.encoding.name()
                    ),
                ));
            }
            self.raw_start += read;
            self.consumed += read as u64;
            self.out_start = 0;
            self.out_end = written;
            if last && result == CoderResult::InputEmpty {
                self.finished = true;
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(buf.len());
        buf[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

impl<R: Read> BufRead for DecodingReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.refill()?;
        Ok(&self.out[self.out_start..self.out_end])
    }

    fn consume(&mut self, amount: usize) {
        self.out_start = (self.out_start + amount).min(self.out_end);
    }
}

/// Where the first C1 control character (U+0080–U+009F) of UTF-8 text starts.
fn c1_control(text: &[u8]) -> Option<usize> {
    memchr::memchr_iter(0xC2, text)
        .find(|&at| text.get(at + 1).is_some_and(|b| (0x80..=0x9F).contains(b)))
}

/// The encoding named by the XML declaration at the start of `head`; windows-1251 when the
/// declaration names none; UTF-8 after a UTF-8 byte order mark.
pub fn declared_encoding(head: &[u8]) -> Result<&'static Encoding, String> {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok(encoding_rs::UTF_8);
    }
    let text: String = head
        .iter()
        .take_while(|&&b| b != b'>')
        .map(|&b| b as char)
        .collect();
    if !text.trim_start().starts_with("<?xml") {
        return Ok(WINDOWS_1251);
    }
    let Some(at) = text.find("encoding") else {
        return Ok(WINDOWS_1251);
    };
    let rest = text[at + "encoding".len()..]
        .trim_start()
        .trim_start_matches('=')
        .trim_start();
    let quote = rest
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')
        .ok_or("the XML declaration's encoding is not quoted")?;
    let label: String = rest[1..].chars().take_while(|c| *c != quote).collect();
    Encoding::for_label(label.trim().as_bytes())
        .ok_or_else(|| format!("the XML declaration names an unknown encoding {label:?}"))
}

/// Reads a register file one child of the root at a time.
pub struct RecordReader<R: BufRead> {
    reader: quick_xml::Reader<R>,
    buffer: Vec<u8>,
    record_name: &'static str,
    root: Option<String>,
    done: bool,
    file: String,
    /// Elements open below the root while an item is read: the first is the item.
    stack: Vec<Element>,
    /// Elements of items given back ([`RecordReader::recycle`]), emptied but with their
    /// allocations, so the next items are built without allocating again.
    spare: Vec<Element>,
}

impl<R: BufRead> RecordReader<R> {
    /// `record_name` is the repeated child of the root: `ZAP` or `PERS`.
    pub fn new(input: R, record_name: &'static str, file: &str) -> RecordReader<R> {
        let mut reader = quick_xml::Reader::from_reader(input);
        reader.config_mut().check_end_names = true;
        RecordReader {
            reader,
            buffer: Vec::with_capacity(4096),
            record_name,
            root: None,
            done: false,
            file: file.to_owned(),
            stack: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// Gives back an item read before, once it is no longer needed: its elements are reused
    /// for the next ones.
    pub fn recycle(&mut self, item: Item) {
        let (Item::Header(element) | Item::Record(element)) = item;
        let first = self.spare.len();
        self.spare.push(element);
        let mut at = first;
        while at < self.spare.len() {
            let mut children = std::mem::take(&mut self.spare[at].children);
            self.spare.append(&mut children);
            let element = &mut self.spare[at];
            element.children = children;
            element.name.clear();
            element.text.clear();
            at += 1;
        }
    }

    /// The root element's name, once the first item was read.
    pub fn root(&self) -> Option<&str> {
        self.root.as_deref()
    }

    /// How far the parser is in the decoded text.
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    pub fn get_ref(&self) -> &R {
        self.reader.get_ref()
    }

    fn error(&self, reason: impl ToString) -> ClaimsError {
        xml_error(&self.reader, &self.file, reason)
    }

    /// The next child of the root, or `None` at the end of the document.
    pub fn next_item(&mut self) -> Result<Option<Item>, ClaimsError> {
        if self.done {
            return Ok(None);
        }
        // Elements open below the root: the first is the item being built.
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        let item = self.items(&mut stack);
        self.stack = stack;
        item
    }

    fn items(&mut self, stack: &mut Vec<Element>) -> Result<Option<Item>, ClaimsError> {
        loop {
            self.buffer.clear();
            let event = match self.reader.read_event_into(&mut self.buffer) {
                Ok(event) => event,
                // The decoding reader's refusal: the bytes are not of the declared encoding.
                Err(quick_xml::Error::Io(io)) if io.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(ClaimsError::Encoding {
                        file: self.file.clone(),
                        reason: io.to_string(),
                    });
                }
                Err(error) => return Err(self.error(error)),
            };
            match event {
                Event::Start(start) => {
                    if self.root.is_none() {
                        let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                        self.root = Some(name);
                    } else {
                        let element = element(&mut self.spare, start.name().as_ref());
                        stack.push(element);
                    }
                }
                Event::Empty(empty) => {
                    if self.root.is_none() {
                        let name = String::from_utf8_lossy(empty.name().as_ref()).into_owned();
                        self.root = Some(name);
                        self.done = true;
                        return Ok(None);
                    }
                    let element = element(&mut self.spare, empty.name().as_ref());
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => return Ok(Some(self.finish(element))),
                    }
                }
                Event::Text(text) => {
                    if let Some(open) = stack.last_mut() {
                        // The layout between elements: an element's value is read trimmed,
                        // so blanks before its text or among its children say nothing.
                        if (open.text.is_empty() || !open.children.is_empty())
                            && text.iter().all(u8::is_ascii_whitespace)
                        {
                            continue;
                        }
                        let decoded = text
                            .decode()
                            .map_err(|error| xml_error(&self.reader, &self.file, error))?;
                        open.text.push_str(&decoded);
                    } else if !text
                        .decode()
                        .map_err(|error| xml_error(&self.reader, &self.file, error))?
                        .trim()
                        .is_empty()
                    {
                        return Err(self.error("text outside any element"));
                    }
                }
                Event::CData(data) => {
                    if let Some(open) = stack.last_mut() {
                        open.text.push_str(&String::from_utf8_lossy(&data));
                    }
                }
                Event::GeneralRef(reference) => {
                    let resolved = match reference
                        .resolve_char_ref()
                        .map_err(|error| xml_error(&self.reader, &self.file, error))?
                    {
                        Some(c) => c.to_string(),
                        None => {
                            let name = reference
                                .decode()
                                .map_err(|error| xml_error(&self.reader, &self.file, error))?;
                            match name.as_ref() {
                                "amp" => "&".to_owned(),
                                "lt" => "<".to_owned(),
                                "gt" => ">".to_owned(),
                                "quot" => "\"".to_owned(),
                                "apos" => "'".to_owned(),
                                other => {
                                    return Err(xml_error(
                                        &self.reader,
                                        &self.file,
                                        format!("unknown entity &{other};"),
                                    ))
                                }
                            }
                        }
                    };
                    if let Some(open) = stack.last_mut() {
                        open.text.push_str(&resolved);
                    }
                }
                Event::End(_) => match stack.pop() {
                    Some(element) => match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => return Ok(Some(self.finish(element))),
                    },
                    None => {
                        self.done = true;
                        return Ok(None);
                    }
                },
                Event::Eof => {
                    if self.root.is_none() {
                        return Err(self.error("the file holds no XML element"));
                    }
                    if !stack.is_empty() || !self.done {
                        return Err(self.error("the file ends inside an element"));
                    }
                    return Ok(None);
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            }
        }
    }

    fn finish(&self, element: Element) -> Item {
        if element.name == self.record_name {
            Item::Record(element)
        } else {
            Item::Header(element)
        }
    }
}

/// An empty element named `name`: a spare one when there is one.
fn element(spare: &mut Vec<Element>, name: &[u8]) -> Element {
    let mut element = spare.pop().unwrap_or_default();
    match std::str::from_utf8(name) {
        Ok(name) => element.name.push_str(name),
        Err(_) => element.name.push_str(&String::from_utf8_lossy(name)),
    }
    element
}

fn xml_error<R>(reader: &quick_xml::Reader<R>, file: &str, reason: impl ToString) -> ClaimsError {
    ClaimsError::Xml {
        file: file.to_owned(),
        position: reader.error_position(),
        reason: reason.to_string(),
    }
}

/// Escapes text for an element's content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Writes an element tree as indented XML text.
pub fn write_element(out: &mut String, element: &Element, depth: usize) {
    let indent = " ".repeat(depth);
    if element.children.is_empty() {
        out.push_str(&format!(
            "{indent}<{0}>{1}</{0}>\n",
            element.name,
            escape(&element.text)
        ));
    } else {
        out.push_str(&format!("{indent}<{}>\n", element.name));
        for child in &element.children {
            write_element(out, child, depth + 1);
        }
        out.push_str(&format!("{indent}</{}>\n", element.name));
    }
}

/// Encodes UTF-8 text as windows-1251; a character it cannot hold is an error.
pub fn encode_windows_1251(text: &str) -> Result<Vec<u8>, String> {
    let (bytes, _, unmappable) = WINDOWS_1251.encode(text);
    if unmappable {
        return Err("the text holds a character windows-1251 cannot encode".to_owned());
    }
    Ok(bytes.into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn items(bytes: &[u8]) -> Result<Vec<Item>, ClaimsError> {
        let decoded = DecodingReader::new(bytes, "test.xml")?;
        let mut reader = RecordReader::new(decoded, "ZAP", "test.xml");
        let mut items = Vec::new();
        while let Some(item) = reader.next_item()? {
            items.push(item);
        }
        Ok(items)
    }

    #[test]
    fn windows_1251_records_come_one_by_one() {
        let text = "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<ZL_LIST><ZGLV><VERSION>3.2</VERSION></ZGLV>\
                    <ZAP><N_ZAP>1</N_ZAP><X>Иванов &amp; сын</X></ZAP><ZAP><N_ZAP>2</N_ZAP><E/></ZAP></ZL_LIST>";
        let bytes = encode_windows_1251(text).unwrap();
        let items = items(&bytes).unwrap();
        assert_eq!(items.len(), 3);
        assert!(
            matches!(&items[0], Item::Header(e) if e.name == "ZGLV" && e.child_text("VERSION") == Some("3.2"))
        );
        assert!(matches!(&items[1], Item::Record(e) if e.child_text("X") == Some("Иванов & сын")));
        assert!(matches!(&items[2], Item::Record(e) if e.child("E").is_some()));
    }

    #[test]
    fn declared_encodings_are_honoured() {
        assert_eq!(
            declared_encoding(b"<?xml version=\"1.0\" encoding='UTF-8'?>").unwrap(),
            encoding_rs::UTF_8
        );
        assert_eq!(
            declared_encoding(b"<?xml version=\"1.0\"?>").unwrap(),
            WINDOWS_1251
        );
        assert!(declared_encoding(b"<?xml version=\"1.0\" encoding=\"klingon\"?>").is_err());
        let utf8 =
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><ZL_LIST><ZAP><X>Пётр</X></ZAP></ZL_LIST>";
        let items = items(utf8.as_bytes()).unwrap();
        assert!(matches!(&items[0], Item::Record(e) if e.child_text("X") == Some("Пётр")));
    }

    #[test]
    fn invalid_bytes_and_broken_xml_are_refused() {
        let mut bytes =
            b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><ZL_LIST><ZAP><X>".to_vec();
        bytes.push(0x98);
        bytes.extend_from_slice(b"</X></ZAP></ZL_LIST>");
        let error = items(&bytes).unwrap_err().to_string();
        assert!(error.contains("not a character of windows-1251"), "{error}");
        let bad_utf8 =
            b"<?xml version=\"1.0\" encoding=\"utf-8\"?><ZL_LIST><ZAP><X>\xff</X></ZAP></ZL_LIST>";
        assert!(items(bad_utf8)
            .unwrap_err()
            .to_string()
            .contains("not valid UTF-8"));
        let unclosed = b"<ZL_LIST><ZAP><X>1</X></ZAP>";
        assert!(items(unclosed).is_err());
        let mismatched = b"<ZL_LIST><ZAP><X>1</Y></ZAP></ZL_LIST>";
        assert!(items(mismatched).is_err());
    }
}
