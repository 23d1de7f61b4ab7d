//! NSI reference books (`V002`, `F008`, `M001`, …) read from the federal NSI XML packets:
//! a root holding a header (`zglv`) and one element per record whose fields are child
//! elements (`<zap><IDPR>1</IDPR>…`) or attributes (`<item Kod="901" …/>`), each record valid
//! from `DATEBEG` to `DATEEND`. A starter set ships in the crate (`nsi/`, sources named in
//! `nsi/SOURCES.md`); a fund imports the current books over it.

use std::collections::HashMap;
use std::path::Path;

use quick_xml::events::Event;

use crate::error::ClaimsError;
use crate::flk::mask::parse_date;
use crate::xml::DecodingReader;

/// The starter books shipped with medgate: (file name, bytes).
pub const STARTER: &[(&str, &[u8])] = &[
    ("F002.xml", include_bytes!("../nsi/F002.xml")),
    ("F008.xml", include_bytes!("../nsi/F008.xml")),
    ("F011.xml", include_bytes!("../nsi/F011.xml")),
    ("M001.xml", include_bytes!("../nsi/M001.xml")),
    ("V002.xml", include_bytes!("../nsi/V002.xml")),
    ("V005.xml", include_bytes!("../nsi/V005.xml")),
    ("V006.xml", include_bytes!("../nsi/V006.xml")),
    ("V008.xml", include_bytes!("../nsi/V008.xml")),
    ("V009.xml", include_bytes!("../nsi/V009.xml")),
    ("V010.xml", include_bytes!("../nsi/V010.xml")),
    ("V012.xml", include_bytes!("../nsi/V012.xml")),
    ("V014.xml", include_bytes!("../nsi/V014.xml")),
    ("V025.xml", include_bytes!("../nsi/V025.xml")),
];

/// One record: its fields in file order and its validity.
#[derive(Clone, Debug)]
struct Record {
    begin: Option<time::Date>,
    end: Option<time::Date>,
}

/// One reference book.
#[derive(Clone, Debug)]
pub struct Dictionary {
    name: String,
    records: Vec<Record>,
    /// Field name in upper case → value → records holding it.
    index: HashMap<String, HashMap<String, Vec<usize>>>,
    /// The first field of the records: the code when the catalogue names no field.
    key_field: String,
    /// The header's `version` and `date` (the book's edition), when it gives them.
    version: Option<String>,
    date: Option<String>,
}

impl Dictionary {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The edition's version from the packet's header (`zglv/version`), when it has one.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The edition's date from the packet's header (`zglv/date`), as written there.
    pub fn date(&self) -> Option<&str> {
        self.date.as_deref()
    }

    /// The edition in words: `version 3.2 of 27.11.2026`, or what the header lacks.
    pub fn edition(&self) -> String {
        match (self.version(), self.date()) {
            (Some(version), Some(date)) => format!("version {version} of {date}"),
            (Some(version), None) => format!("version {version} (no date in its header)"),
            (None, Some(date)) => format!("of {date} (no version in its header)"),
            (None, None) => "no edition in its header".to_owned(),
        }
    }

    /// The edition as the pages show it in any language: `3.2 (27.11.2026)`, or as much of
    /// it as the header gives.
    pub fn edition_label(&self) -> String {
        match (self.version(), self.date()) {
            (Some(version), Some(date)) => format!("{version} ({date})"),
            (Some(version), None) => version.to_owned(),
            (None, Some(date)) => format!("({date})"),
            (None, None) => String::new(),
        }
    }

    /// Whether `field` (the code field when `None` or unknown to this book) holds `value` in a
    /// record valid on `date`.
    pub fn contains(&self, field: Option<&str>, value: &str, date: time::Date) -> bool {
        // (Runs for every coded value of every record: no copies when the name is upper case.)
        let upper = field.map(|field| {
            if field.bytes().any(|b| b.is_ascii_lowercase()) {
                std::borrow::Cow::Owned(field.to_ascii_uppercase())
            } else {
                std::borrow::Cow::Borrowed(field)
            }
        });
        let field = upper
            .as_deref()
            .filter(|field| self.index.contains_key(*field))
            .unwrap_or(&self.key_field);
        let Some(rows) = self
            .index
            .get(field)
            .and_then(|values| values.get(value.trim()))
        else {
            return false;
        };
        rows.iter().any(|&row| {
            let record = &self.records[row];
            record.begin.is_none_or(|begin| begin <= date)
                && record.end.is_none_or(|end| date <= end)
        })
    }

    /// Reads a book from the bytes of its NSI packet; `fallback_name` (the file stem) names it
    /// when the header does not.
    pub fn from_bytes(bytes: &[u8], fallback_name: &str) -> Result<Dictionary, ClaimsError> {
        let error = |reason: String| ClaimsError::Dictionary {
            file: fallback_name.to_owned(),
            reason,
        };
        let decoded = DecodingReader::new(bytes, fallback_name)?;
        let mut reader = quick_xml::Reader::from_reader(decoded);
        reader.config_mut().check_end_names = true;
        let mut buffer = Vec::new();
        let mut depth = 0usize;
        let mut header = false;
        let mut header_field = String::new();
        let mut name: Option<String> = None;
        let mut current: Vec<(String, String)> = Vec::new();
        let mut field: Option<String> = None;
        let mut dictionary = Dictionary {
            name: String::new(),
            records: Vec::new(),
            index: HashMap::new(),
            key_field: String::new(),
            version: None,
            date: None,
        };
        loop {
            buffer.clear();
            let event = reader.read_event_into(&mut buffer).map_err(|e| {
                error(format!(
                    "malformed XML near byte {}: {e}",
                    reader.error_position()
                ))
            })?;
            match event {
                Event::Start(start) if depth == 1 => {
                    (header, current) = record_start(&start).map_err(error)?;
                    depth += 1;
                }
                Event::Empty(start) if depth == 1 => {
                    let (is_header, fields) = record_start(&start).map_err(error)?;
                    if !is_header {
                        dictionary.push(fields);
                    }
                }
                Event::Start(start) => {
                    depth += 1;
                    if depth == 3 {
                        let tag = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                        if header {
                            header_field = tag;
                        } else {
                            field = Some(tag.clone());
                            current.push((tag, String::new()));
                        }
                    }
                }
                Event::Empty(empty) if depth == 2 && !header => {
                    current.push((
                        String::from_utf8_lossy(empty.name().as_ref()).into_owned(),
                        String::new(),
                    ));
                }
                Event::Empty(_) => {}
                Event::Text(text) if depth == 3 => {
                    let text = text
                        .decode()
                        .map_err(|e| error(e.to_string()))?
                        .into_owned();
                    if header && !text.trim().is_empty() {
                        let value = Some(text.trim().to_owned());
                        if header_field.eq_ignore_ascii_case("type") {
                            name = value;
                        } else if header_field.eq_ignore_ascii_case("version") {
                            dictionary.version = value;
                        } else if header_field.eq_ignore_ascii_case("date") {
                            dictionary.date = value;
                        }
                    } else if field.is_some() {
                        if let Some(last) = current.last_mut() {
                            last.1.push_str(&text);
                        }
                    }
                }
                Event::GeneralRef(reference) if depth == 3 && !header => {
                    let resolved = match reference
                        .decode()
                        .map_err(|e| error(e.to_string()))?
                        .as_ref()
                    {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        _ => "'",
                    };
                    if let Some(last) = current.last_mut() {
                        last.1.push_str(resolved);
                    }
                }
                Event::End(_) => {
                    depth = depth.saturating_sub(1);
                    if depth == 2 {
                        field = None;
                    }
                    if depth == 1 {
                        if !header {
                            dictionary.push(std::mem::take(&mut current));
                        }
                        header = false;
                    }
                }
                Event::Eof if depth > 0 => {
                    return Err(error(
                        "the packet ends before its root element is closed (a truncated file?)"
                            .to_owned(),
                    ))
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if dictionary.records.is_empty() {
            return Err(error("the packet holds no record".to_owned()));
        }
        dictionary.name = name
            .filter(|n| is_book_name(n))
            .unwrap_or_else(|| fallback_name.to_owned());
        Ok(dictionary)
    }

    /// True when the book's name is a federal book's (`V006`, `F011`, `M001`: a letter and
    /// three digits).
    pub fn has_book_name(&self) -> bool {
        is_book_name(&self.name)
    }

    fn push(&mut self, fields: Vec<(String, String)>) {
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v.trim().to_owned()))
            .collect();
        if fields.is_empty() {
            return;
        }
        let date = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| parse_nsi_date(v))
        };
        let row = self.records.len();
        self.records.push(Record {
            begin: date("DATEBEG"),
            end: date("DATEEND"),
        });
        if self.key_field.is_empty() {
            if let Some((first, _)) = fields
                .iter()
                .find(|(k, _)| k != "DATEBEG" && k != "DATEEND")
            {
                self.key_field = first.clone();
            }
        }
        for (key, value) in fields {
            if key == "DATEBEG" || key == "DATEEND" || value.is_empty() || value.len() > 64 {
                continue;
            }
            self.index
                .entry(key)
                .or_default()
                .entry(value)
                .or_default()
                .push(row);
        }
    }
}

/// A child of the root: whether it is the header, and the fields its attributes hold.
fn record_start(
    start: &quick_xml::events::BytesStart<'_>,
) -> Result<(bool, Vec<(String, String)>), String> {
    let header = start.name().as_ref().eq_ignore_ascii_case(b"zglv");
    let mut fields = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("bad attribute: {e}"))?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        let value = attribute
            .unescape_value()
            .map_err(|e| format!("bad attribute value: {e}"))?
            .into_owned();
        fields.push((key, value));
    }
    Ok((header, fields))
}

fn is_book_name(name: &str) -> bool {
    name.len() == 4
        && name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name[1..].bytes().all(|b| b.is_ascii_digit())
}

/// `DD.MM.YYYY` (the federal packets) or `YYYY-MM-DD`.
pub fn parse_nsi_date(value: &str) -> Option<time::Date> {
    let value = value.trim();
    if let Some(date) = parse_date(value) {
        return Some(date);
    }
    let mut parts = value.split('.');
    let day: u8 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let year: i32 = parts.next()?.get(..4)?.parse().ok()?;
    time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

/// The control catalogues an NSI folder may hold beside the books: FLK (`Q015` federal,
/// `Q022` regional) and MEK (`Q016` federal, `Q023` regional).
pub const CATALOGUES: [&str; 4] = ["Q015", "Q016", "Q022", "Q023"];

/// The books the control uses, by name.
#[derive(Clone, Debug, Default)]
pub struct Nsi {
    books: HashMap<String, Dictionary>,
}

impl Nsi {
    /// The starter set shipped with medgate.
    pub fn starter() -> Result<Nsi, ClaimsError> {
        let mut nsi = Nsi::default();
        for (file, bytes) in STARTER {
            nsi.insert(Dictionary::from_bytes(
                bytes,
                file.trim_end_matches(".xml"),
            )?);
        }
        Ok(nsi)
    }

    /// Adds (or replaces) every `*.xml` packet of a folder (the control catalogues installed
    /// beside the books, [`CATALOGUES`], are not books and are left out).
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, ClaimsError> {
        let entries = std::fs::read_dir(dir).map_err(|e| ClaimsError::io(dir, e))?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|ext| ext.eq_ignore_ascii_case("xml"))
                    && !path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .is_some_and(|stem| {
                            CATALOGUES
                                .iter()
                                .any(|catalogue| stem.eq_ignore_ascii_case(catalogue))
                        })
            })
            .collect();
        paths.sort();
        for path in &paths {
            self.load_file(path)?;
        }
        Ok(paths.len())
    }

    /// Adds (or replaces) one packet; answers the book's name.
    pub fn load_file(&mut self, path: &Path) -> Result<String, ClaimsError> {
        let bytes = std::fs::read(path).map_err(|e| ClaimsError::io(path, e))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("NSI");
        let dictionary = Dictionary::from_bytes(&bytes, stem)?;
        let name = dictionary.name.clone();
        self.insert(dictionary);
        Ok(name)
    }

    pub fn insert(&mut self, dictionary: Dictionary) {
        self.books
            .insert(dictionary.name.to_ascii_uppercase(), dictionary);
    }

    pub fn get(&self, name: &str) -> Option<&Dictionary> {
        self.books.get(&name.trim().to_ascii_uppercase())
    }

    /// The names of the books held, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.books.values().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        names
    }
}

/// A book installed in an NSI folder, as `install` and `installed` describe it.
#[derive(Clone, Debug)]
pub struct InstalledBook {
    pub name: String,
    pub records: usize,
    /// [`Dictionary::edition`].
    pub edition: String,
    pub path: std::path::PathBuf,
}

/// What [`install`] did.
#[derive(Clone, Debug)]
pub struct Installation {
    pub book: InstalledBook,
    /// The edition it replaced in the folder, if the book was there already.
    pub replaced: Option<String>,
}

/// Installs one federal NSI packet (`bytes`, read from `source`) into the NSI folder `dir`
/// as `<BOOK>.xml`, the bytes as they are: read whole first (well-formed, in its encoding,
/// records present, the book named by its header or its file name), then written to a
/// temporary file in `dir` and renamed over the old one, so a failure leaves the folder as it
/// was. `dir` is created when missing.
pub fn install(dir: &Path, source: &Path, bytes: &[u8]) -> Result<Installation, ClaimsError> {
    let stem = source.file_stem().and_then(|s| s.to_str()).unwrap_or("NSI");
    let file = source.display().to_string();
    let dictionary = Dictionary::from_bytes(bytes, stem).map_err(|error| match error {
        ClaimsError::Dictionary { reason, .. } => ClaimsError::Dictionary {
            file: file.clone(),
            reason,
        },
        other => other,
    })?;
    if !dictionary.has_book_name() {
        return Err(ClaimsError::Dictionary {
            file,
            reason: format!(
                "names no federal book: its header has no zglv/type such as V006, and its file \
                 name ({stem}) is not one either"
            ),
        });
    }
    let name = dictionary.name().to_ascii_uppercase();
    if CATALOGUES.contains(&name.as_str()) {
        // A control catalogue must read as one, or the node's control would fail on it.
        crate::Catalogue::from_bytes(bytes, &name).map_err(|error| ClaimsError::Dictionary {
            file: file.clone(),
            reason: format!("is not a readable {name} control catalogue: {error}"),
        })?;
    }
    std::fs::create_dir_all(dir).map_err(|e| ClaimsError::io(dir, e))?;
    let path = dir.join(format!("{name}.xml"));
    let replaced = match std::fs::read(&path) {
        Ok(old) => Some(
            Dictionary::from_bytes(&old, &name)
                .map(|old| old.edition())
                .unwrap_or_else(|_| "an unreadable copy".to_owned()),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(ClaimsError::io(&path, e)),
    };
    let temporary = dir.join(format!(".{name}.xml.importing"));
    let written = std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::File::open(&temporary).and_then(|f| f.sync_all()))
        .and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(ClaimsError::io(&path, e));
    }
    Ok(Installation {
        book: InstalledBook {
            name,
            records: dictionary.len(),
            edition: dictionary.edition(),
            path,
        },
        replaced,
    })
}

/// The books installed in the NSI folder `dir` (each `*.xml` read), sorted by name; an empty
/// list when the folder does not exist yet.
pub fn installed(dir: &Path) -> Result<Vec<InstalledBook>, ClaimsError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ClaimsError::io(dir, e)),
    };
    let mut books = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| ClaimsError::io(dir, e))?.path();
        if !path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("xml"))
        {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| ClaimsError::io(&path, e))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("NSI");
        let dictionary = Dictionary::from_bytes(&bytes, stem)?;
        books.push(InstalledBook {
            name: dictionary.name().to_owned(),
            records: dictionary.len(),
            edition: dictionary.edition(),
            path,
        });
    }
    books.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(books)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn day(text: &str) -> time::Date {
        parse_nsi_date(text).unwrap()
    }

    #[test]
    fn element_records_with_validity() {
        let packet = "<?xml version=\"1.0\" encoding=\"windows-1251\"?><packet><zglv><type>V006</type></zglv>\
            <zap><IDUMP>1</IDUMP><UMPNAME>Стационарно</UMPNAME><DATEBEG>01.01.2011</DATEBEG><DATEEND/></zap>\
            <zap><IDUMP>9</IDUMP><UMPNAME>Old</UMPNAME><DATEBEG>01.01.2011</DATEBEG><DATEEND>31.12.2018</DATEEND></zap></packet>";
        let bytes = crate::xml::encode_windows_1251(packet).unwrap();
        let book = Dictionary::from_bytes(&bytes, "x").unwrap();
        assert_eq!(book.name(), "V006");
        assert_eq!(book.len(), 2);
        assert!(book.contains(Some("IDUMP"), "1", day("01.01.2025")));
        assert!(book.contains(None, "1", day("01.01.2025")));
        assert!(!book.contains(Some("IDUMP"), "9", day("01.01.2025")));
        assert!(book.contains(Some("idump"), "9", day("01.01.2015")));
        assert!(!book.contains(Some("IDUMP"), "2", day("01.01.2015")));
    }

    #[test]
    fn attribute_records() {
        let packet = r#"<?xml version="1.0" encoding="utf-8"?><packet><item1 DATEBEG="01.01.2011" DATEEND="" Kod="901" Opis="x"/><item2 Kod="902" DATEBEG="01.01.2011"/></packet>"#;
        let book = Dictionary::from_bytes(packet.as_bytes(), "F012").unwrap();
        assert_eq!(book.name(), "F012");
        assert!(book.contains(Some("Kod"), "902", day("2025-01-01")));
    }

    #[test]
    fn starter_set_loads() {
        let nsi = Nsi::starter().unwrap();
        for name in [
            "V002", "V005", "V006", "V008", "V009", "V010", "V012", "V014", "V025", "F002", "F008",
            "F011", "M001",
        ] {
            assert!(nsi.get(name).is_some_and(|b| !b.is_empty()), "{name}");
        }
        assert!(nsi
            .get("M001")
            .unwrap()
            .contains(None, "I10", day("2025-01-01")));
    }

    #[test]
    fn packets_are_installed_whole_with_their_edition_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let nsi = dir.path().join("claims").join("nsi");
        let packet = |version: &str| {
            crate::xml::encode_windows_1251(&format!(
                "<?xml version=\"1.0\" encoding=\"windows-1251\"?><packet><zglv><type>V006</type>\
                 <version>{version}</version><date>27.11.2026</date></zglv>\
                 <zap><IDUMP>1</IDUMP><UMPNAME>Стационарно</UMPNAME><DATEBEG>01.01.2011</DATEBEG></zap></packet>"
            ))
            .unwrap()
        };
        let first = install(&nsi, Path::new("download.xml"), &packet("1.1")).unwrap();
        assert_eq!(first.book.name, "V006");
        assert_eq!(first.book.edition, "version 1.1 of 27.11.2026");
        let label = Dictionary::from_bytes(&packet("1.1"), "V006").unwrap();
        assert_eq!(label.edition_label(), "1.1 (27.11.2026)");
        assert_eq!(first.book.path, nsi.join("V006.xml"));
        assert!(first.replaced.is_none());
        let second = install(&nsi, Path::new("download.xml"), &packet("1.2")).unwrap();
        assert_eq!(
            second.replaced.as_deref(),
            Some("version 1.1 of 27.11.2026")
        );
        assert_eq!(std::fs::read(nsi.join("V006.xml")).unwrap(), packet("1.2"));

        // A broken packet changes nothing; a packet naming no book is refused.
        let broken = install(
            &nsi,
            Path::new("V006.xml"),
            b"<packet><zap><A>1</A></packet>",
        )
        .unwrap_err();
        assert!(
            broken.to_string().starts_with("V006.xml: malformed XML"),
            "{broken}"
        );
        let nameless = install(
            &nsi,
            Path::new("books.xml"),
            b"<packet><zap><A>1</A></zap></packet>",
        )
        .unwrap_err();
        assert_eq!(
            nameless.to_string(),
            "books.xml: names no federal book: its header has no zglv/type such as V006, and its file name (books) is not one either"
        );
        let books = installed(&nsi).unwrap();
        assert_eq!(books.len(), 1);
        assert_eq!((books[0].name.as_str(), books[0].records), ("V006", 1));
        assert_eq!(
            std::fs::read_dir(&nsi).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert!(installed(&dir.path().join("absent")).unwrap().is_empty());
    }

    #[test]
    fn empty_or_broken_packets_are_refused() {
        assert!(
            Dictionary::from_bytes(b"<packet><zglv><type>V005</type></zglv></packet>", "V005")
                .is_err()
        );
        assert!(Dictionary::from_bytes(b"<packet><zap><A>1</A></packet>", "V005").is_err());
    }
}
