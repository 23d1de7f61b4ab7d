//! Corrections an MO's specialist may make at the node (issue 14, the seed's "some FLK errors
//! can be fixed on the MO's side"): which findings are fixable ([`fixable`]) and the rewrite
//! of a package into a **new** corrected package ([`rewrite_package`]) — the kept package is
//! never changed in place.
//!
//! A finding is fixable when all of these hold:
//! - it is a wrong type/format (F012 903) or a wrong value, such as a code missing from its
//!   dictionary (904);
//! - it is in the main file (`H…`/`ZL_LIST`) and names its record (`N_ZAP`);
//! - its element is one of [`FIXABLE_ELEMENTS`]: coded leaf elements of the case whose
//!   value changes neither its sums (`SUMV`, `SUM_M`, `TARIF`, `ED_COL`), nor its keys and
//!   identity (`N_ZAP`, `IDCASE`, `SL_ID`, `IDSERV`, `ID_PAC`, the patient's data in the
//!   personal-data file), nor its dates (they place the case in the period and tell repeated
//!   cases apart).
//!
//! Every other finding is fixed in the MO's own system and the package uploaded again.
//!
//! The rewrite streams the archive through: the personal-data file and any other entry are
//! copied as they are (their compressed bytes), the main file is read in chunks and written
//! again byte for byte except the one element of the one record (`<ZAP>` held whole, one at
//! a time); the new value is encoded in the file's declared encoding (windows-1251 unless it
//! names another).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use encoding_rs::Encoding;

use crate::error::ClaimsError;
use crate::flk::{WRONG_TYPE, WRONG_VALUE};
use crate::xml::{declared_encoding, escape};

/// The main file's elements a specialist may correct at the node.
pub const FIXABLE_ELEMENTS: &[&str] = &[
    "USL_OK",
    "VIDPOM",
    "FOR_POM",
    "RSLT",
    "ISHOD",
    "IDSP",
    "PROFIL",
    "PRVS",
    "VERS_SPEC",
    "C_ZAB",
    "DET",
    "P_CEL",
    "DS0",
    "DS1",
    "DS2",
    "DS3",
    "PODR",
    "NPR_MO",
    "VID_HMP",
    "METOD_HMP",
    "PROFIL_K",
    "RSLT_D",
    "CODE_USL",
    "PRVS_USL",
];

/// The longest value a correction takes.
pub const MAX_VALUE_CHARS: usize = 250;

/// The largest record (`<ZAP>…</ZAP>`) the rewrite holds.
const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// Whether a finding (its F012 code, its file, its element, its record, its English
/// comment) may be corrected at the node: a value given to the element must be able to
/// clear it, so not a finding that the element must be absent. `main_stem` is the
/// package's main file's name without `.xml`.
pub fn fixable(
    code: u16,
    file: &str,
    element: &str,
    n_zap: Option<&str>,
    comment: &str,
    main_stem: &str,
) -> bool {
    let in_main = file
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .to_ascii_uppercase()
        .starts_with(&main_stem.to_ascii_uppercase());
    (code == WRONG_TYPE || code == WRONG_VALUE)
        && in_main
        && n_zap.is_some_and(|n| !n.trim().is_empty())
        && FIXABLE_ELEMENTS.contains(&element)
        && !crate::flk::asks_absence(comment)
}

/// One correction: in the record `n_zap`, the element `element` whose text is `current`
/// becomes `new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    pub n_zap: String,
    pub element: String,
    pub current: String,
    pub new: String,
}

impl Correction {
    /// Checks the correction itself: a fixable element, a new value that is plain text,
    /// not too long and not the current one.
    pub fn validate(&self) -> Result<(), CorrectionRefusal> {
        let element = self.element.clone();
        if !FIXABLE_ELEMENTS.contains(&self.element.as_str()) {
            return Err(CorrectionRefusal::NotFixable { element });
        }
        if self.n_zap.trim().is_empty() {
            return Err(CorrectionRefusal::NoRecord);
        }
        let new = self.new.as_str();
        if new.trim().is_empty() {
            return Err(CorrectionRefusal::Empty { element });
        }
        if new.trim() != new {
            return Err(CorrectionRefusal::Spaces { element });
        }
        if new.chars().count() > MAX_VALUE_CHARS {
            return Err(CorrectionRefusal::TooLong { element });
        }
        if new.chars().any(char::is_control) {
            return Err(CorrectionRefusal::ControlCharacter { element });
        }
        if new == self.current {
            return Err(CorrectionRefusal::Unchanged { element });
        }
        Ok(())
    }
}

/// Why a correction cannot be made at the node, in English (`Display`) and Russian
/// ([`CorrectionRefusal::russian`]), for the pages of both languages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CorrectionRefusal {
    #[error("{element} cannot be corrected at the node: fix it in your system and upload again")]
    NotFixable { element: String },
    #[error("the record's N_ZAP is empty")]
    NoRecord,
    #[error("the new value of {element} is empty")]
    Empty { element: String },
    #[error("the new value of {element} begins or ends with spaces")]
    Spaces { element: String },
    #[error("the new value of {element} is longer than {MAX_VALUE_CHARS} characters")]
    TooLong { element: String },
    #[error("the new value of {element} holds a control character")]
    ControlCharacter { element: String },
    #[error("the new value of {element} is the current one")]
    Unchanged { element: String },
    #[error("the new value of {element} holds a character {encoding} cannot encode")]
    Unencodable { element: String, encoding: String },
    #[error("the record N_ZAP {n_zap} holds no {element} with the value {current:?}")]
    NoSuchValue {
        n_zap: String,
        element: String,
        current: String,
    },
    #[error("the record N_ZAP {n_zap} holds {count} elements {element} with the value {current:?}: fix it in your system and upload again")]
    SeveralElements {
        n_zap: String,
        element: String,
        current: String,
        count: usize,
    },
    #[error("{count} records are numbered N_ZAP {n_zap}: fix it in your system and upload again")]
    SeveralRecords { n_zap: String, count: usize },
}

impl CorrectionRefusal {
    /// The refusal in Russian, for the Russian pages.
    pub fn russian(&self) -> String {
        use CorrectionRefusal as R;
        match self {
            R::NotFixable { element } => format!(
                "{element} нельзя исправить на узле: исправьте его в вашей МИС и загрузите пакет снова"
            ),
            R::NoRecord => "не указан номер записи N_ZAP".to_owned(),
            R::Empty { element } => format!("новое значение {element} не заполнено"),
            R::Spaces { element } => {
                format!("новое значение {element} начинается или заканчивается пробелом")
            }
            R::TooLong { element } => {
                format!("новое значение {element} длиннее {MAX_VALUE_CHARS} символов")
            }
            R::ControlCharacter { element } => {
                format!("новое значение {element} содержит управляющий символ")
            }
            R::Unchanged { element } => {
                format!("новое значение {element} совпадает с текущим")
            }
            R::Unencodable { element, encoding } => format!(
                "новое значение {element} содержит символ, которого нет в кодировке {encoding}"
            ),
            R::NoSuchValue {
                n_zap,
                element,
                current,
            } => format!("в записи N_ZAP {n_zap} нет {element} со значением «{current}»"),
            R::SeveralElements {
                n_zap,
                element,
                current,
                count,
            } => format!(
                "в записи N_ZAP {n_zap} {count} элемента {element} со значением «{current}»: исправьте их в вашей МИС и загрузите пакет снова"
            ),
            R::SeveralRecords { n_zap, count } => format!(
                "{count} записи с номером N_ZAP {n_zap}: исправьте это в вашей МИС и загрузите пакет снова"
            ),
        }
    }
}

fn zip_error(file: &str, reason: impl ToString) -> ClaimsError {
    ClaimsError::Zip {
        file: file.to_owned(),
        reason: reason.to_string(),
    }
}

fn refused(file: &str, refusal: CorrectionRefusal) -> ClaimsError {
    ClaimsError::Correction {
        file: file.to_owned(),
        refusal,
    }
}

/// Writes to `destination` a copy of the package at `source` whose main file
/// (`main_entry_stem`.xml) has the one correction made; the other entries are copied raw.
/// On any error nothing is left at `destination`.
pub fn rewrite_package(
    source: &Path,
    destination: &Path,
    main_stem: &str,
    correction: &Correction,
) -> Result<(), ClaimsError> {
    let outcome = rewrite_inner(source, destination, main_stem, correction);
    if outcome.is_err() {
        let _ = std::fs::remove_file(destination);
    }
    outcome
}

fn rewrite_inner(
    source: &Path,
    destination: &Path,
    main_stem: &str,
    correction: &Correction,
) -> Result<(), ClaimsError> {
    let display = source
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("package")
        .to_owned();
    correction
        .validate()
        .map_err(|refusal| refused(&display, refusal))?;
    let input = File::open(source).map_err(|e| ClaimsError::io(source, e))?;
    let mut archive =
        zip::ZipArchive::new(BufReader::new(input)).map_err(|e| zip_error(&display, e))?;
    let output = File::create(destination).map_err(|e| ClaimsError::io(destination, e))?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(output));
    let wanted = format!("{main_stem}.xml");
    let mut corrected = false;
    for index in 0..archive.len() {
        let name = archive
            .by_index_raw(index)
            .map_err(|e| zip_error(&display, e))?
            .name()
            .to_owned();
        let base = name.rsplit('/').next().unwrap_or(&name);
        if !base.eq_ignore_ascii_case(&wanted) {
            let entry = archive
                .by_index_raw(index)
                .map_err(|e| zip_error(&display, e))?;
            zip.raw_copy_file(entry)
                .map_err(|e| zip_error(&display, e))?;
            continue;
        }
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file(name.clone(), options)
            .map_err(|e| zip_error(&display, e))?;
        let entry = archive
            .by_index(index)
            .map_err(|e| zip_error(&display, e))?;
        let mut found = 0usize;
        rewrite_file(entry, &mut zip, &name, &mut |record, encoding| {
            correct_record(record, encoding, &name, correction, &mut found)
        })?;
        match found {
            0 => return Err(refused(&name, no_such_value(correction))),
            1 => corrected = true,
            count => {
                return Err(refused(
                    &name,
                    CorrectionRefusal::SeveralRecords {
                        n_zap: correction.n_zap.clone(),
                        count,
                    },
                ))
            }
        }
    }
    if !corrected {
        return Err(ClaimsError::MissingFile {
            package: display,
            reason: format!("the main file {wanted} is not in the archive"),
            reason_ru: format!("в архиве нет основного файла {wanted}"),
        });
    }
    let mut out = zip.finish().map_err(|e| zip_error(&display, e))?;
    out.flush().map_err(|e| ClaimsError::io(destination, e))?;
    Ok(())
}

/// The values of `element` in the main file's record `n_zap` (what a correction form shows
/// as the current value); empty when the record or the element is not there.
pub fn current_values(
    source: &Path,
    main_stem: &str,
    n_zap: &str,
    element: &str,
) -> Result<Vec<String>, ClaimsError> {
    let display = source
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("package")
        .to_owned();
    let input = File::open(source).map_err(|e| ClaimsError::io(source, e))?;
    let mut archive =
        zip::ZipArchive::new(BufReader::new(input)).map_err(|e| zip_error(&display, e))?;
    let wanted = format!("{main_stem}.xml");
    let mut values = Vec::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|e| zip_error(&display, e))?;
        let name = entry.name().to_owned();
        let base = name.rsplit('/').next().unwrap_or(&name);
        if !base.eq_ignore_ascii_case(&wanted) {
            continue;
        }
        rewrite_file(
            entry,
            &mut std::io::sink(),
            &name,
            &mut |record, encoding| {
                let ours = leaves(&record, "N_ZAP")
                    .first()
                    .is_some_and(|&(s, e)| decode(&record[s..e], encoding).trim() == n_zap.trim());
                if ours {
                    for (s, e) in leaves(&record, element) {
                        values.push(decode(&record[s..e], encoding));
                    }
                }
                Ok(record)
            },
        )?;
    }
    Ok(values)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Streams one register file from `input` to `output`, each `<ZAP>…</ZAP>` record through
/// `on_record` (with the file's encoding), everything else as it is.
fn rewrite_file(
    mut input: impl Read,
    output: &mut impl Write,
    file: &str,
    on_record: &mut dyn FnMut(Vec<u8>, &'static Encoding) -> Result<Vec<u8>, ClaimsError>,
) -> Result<(), ClaimsError> {
    let io = |e: std::io::Error| zip_error(file, e);
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut encoding: Option<&'static Encoding> = None;
    let mut in_record = false;
    let mut ended = false;
    loop {
        if !ended {
            let read = input.read(&mut chunk).map_err(io)?;
            if read == 0 {
                ended = true;
            } else {
                pending.extend_from_slice(&chunk[..read]);
            }
        }
        if encoding.is_none() && (pending.len() >= 512 || ended) {
            encoding =
                Some(
                    declared_encoding(&pending).map_err(|reason| ClaimsError::Encoding {
                        file: file.to_owned(),
                        reason,
                    })?,
                );
        }
        let Some(encoding) = encoding else { continue };
        loop {
            if in_record {
                let Some(end) = find(&pending, b"</ZAP>") else {
                    if pending.len() > MAX_RECORD_BYTES {
                        return Err(ClaimsError::Document {
                            file: file.to_owned(),
                            reason: "a ZAP record is too large".to_owned(),
                        });
                    }
                    break;
                };
                let record: Vec<u8> = pending.drain(..end + 6).collect();
                let record = on_record(record, encoding)?;
                output.write_all(&record).map_err(io)?;
                in_record = false;
            } else if let Some(start) = find(&pending, b"<ZAP>") {
                output.write_all(&pending[..start]).map_err(io)?;
                pending.drain(..start);
                in_record = true;
            } else {
                let keep = if ended { 0 } else { 4.min(pending.len()) };
                let cut = pending.len() - keep;
                output.write_all(&pending[..cut]).map_err(io)?;
                pending.drain(..cut);
                break;
            }
        }
        if ended {
            if in_record {
                return Err(ClaimsError::Xml {
                    file: file.to_owned(),
                    position: 0,
                    reason: "a ZAP record is not closed".to_owned(),
                });
            }
            output.write_all(&pending).map_err(io)?;
            return Ok(());
        }
    }
}

/// The text of the first `<name>…</name>` leaf in `bytes`, with its content's range.
fn leaves(bytes: &[u8], name: &str) -> Vec<(usize, usize)> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], open.as_bytes()) {
        let start = from + at + open.len();
        let Some(length) = find(&bytes[start..], close.as_bytes()) else {
            break;
        };
        let end = start + length;
        if !bytes[start..end].contains(&b'<') {
            found.push((start, end));
        }
        from = end + close.len();
    }
    found
}

fn decode(bytes: &[u8], encoding: &'static Encoding) -> String {
    let text = encoding.decode_without_bom_handling(bytes).0;
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn no_such_value(correction: &Correction) -> CorrectionRefusal {
    CorrectionRefusal::NoSuchValue {
        n_zap: correction.n_zap.clone(),
        element: correction.element.clone(),
        current: correction.current.clone(),
    }
}

fn correct_record(
    mut record: Vec<u8>,
    encoding: &'static Encoding,
    file: &str,
    correction: &Correction,
    matched: &mut usize,
) -> Result<Vec<u8>, ClaimsError> {
    let is_target = leaves(&record, "N_ZAP")
        .first()
        .is_some_and(|&(s, e)| decode(&record[s..e], encoding).trim() == correction.n_zap.trim());
    if !is_target {
        return Ok(record);
    }
    *matched += 1;
    if *matched > 1 {
        return Ok(record);
    }
    let hits: Vec<(usize, usize)> = leaves(&record, &correction.element)
        .into_iter()
        .filter(|&(s, e)| decode(&record[s..e], encoding).trim() == correction.current.trim())
        .collect();
    match hits.as_slice() {
        [] => Err(refused(file, no_such_value(correction))),
        [(start, end)] => {
            let escaped = escape(&correction.new);
            let (bytes, _, unmappable) = encoding.encode(&escaped);
            if unmappable {
                return Err(refused(
                    file,
                    CorrectionRefusal::Unencodable {
                        element: correction.element.clone(),
                        encoding: encoding.name().to_owned(),
                    },
                ));
            }
            record.splice(*start..*end, bytes.iter().copied());
            Ok(record)
        }
        more => Err(refused(
            file,
            CorrectionRefusal::SeveralElements {
                n_zap: correction.n_zap.clone(),
                element: correction.element.clone(),
                current: correction.current.clone(),
                count: more.len(),
            },
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::generate::{write_package, Fault, Options};
    use crate::names::Period;

    fn entries(path: &Path) -> Vec<(String, Vec<u8>)> {
        let mut archive = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut entry = archive.by_index(i).unwrap();
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).unwrap();
                (entry.name().to_owned(), bytes)
            })
            .collect()
    }

    fn generated(dir: &Path, fault: Option<Fault>) -> (std::path::PathBuf, String) {
        let mut options = Options::new(5, Period::new(2025, 1).unwrap());
        options.fault = fault;
        let name = options.name();
        let path = dir.join(format!("{}.zip", name.main_stem()));
        write_package(File::create(&path).unwrap(), &options).unwrap();
        (path, name.main_stem())
    }

    fn usl_ok_fix(new: &str) -> Correction {
        Correction {
            n_zap: "2".to_owned(),
            element: "USL_OK".to_owned(),
            current: "9".to_owned(),
            new: new.to_owned(),
        }
    }

    #[test]
    fn only_the_one_element_changes_and_the_encoding_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (source, stem) = generated(dir.path(), Some(Fault::BadDictionaryCode));
        let destination = dir
            .path()
            .join("corrected")
            .join(source.file_name().unwrap());
        std::fs::create_dir_all(destination.parent().unwrap()).unwrap();
        rewrite_package(&source, &destination, &stem, &usl_ok_fix("3")).unwrap();
        let before = entries(&source);
        let after = entries(&destination);
        assert_eq!(before.len(), after.len());
        for ((name_a, a), (name_b, b)) in before.iter().zip(after.iter()) {
            assert_eq!(name_a, name_b);
            if name_a.starts_with(&stem) {
                assert_ne!(a, b, "the main file changed");
                let at = find(a, b"<USL_OK>9</USL_OK>").unwrap();
                let mut expected = a.clone();
                expected.splice(at..at + 18, b"<USL_OK>3</USL_OK>".iter().copied());
                assert_eq!(&expected, b, "nothing but the one element changed");
                assert!(b.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>"));
            } else {
                assert_eq!(a, b, "{name_a} is copied as it was");
            }
        }
        // The corrected package is a clean one again for the FLK's reading.
        crate::package::Package::open(&destination).unwrap();
    }

    #[test]
    fn a_cyrillic_value_is_written_in_windows_1251() {
        let dir = tempfile::tempdir().unwrap();
        let (source, stem) = generated(dir.path(), Some(Fault::BadDictionaryCode));
        let destination = dir.path().join("p.zip");
        rewrite_package(&source, &destination, &stem, &usl_ok_fix("Ж<1")).unwrap();
        let main = entries(&destination)
            .into_iter()
            .find(|(name, _)| name.starts_with(&stem))
            .unwrap()
            .1;
        let expected = [b"<USL_OK>".as_slice(), &[0xC6], b"&lt;1</USL_OK>"].concat();
        assert!(find(&main, &expected).is_some());
    }

    #[test]
    fn a_wrong_current_value_or_record_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (source, stem) = generated(dir.path(), Some(Fault::BadDictionaryCode));
        let destination = dir.path().join("p.zip");
        let mut wrong = usl_ok_fix("3");
        wrong.current = "7".to_owned();
        let error = rewrite_package(&source, &destination, &stem, &wrong).unwrap_err();
        assert!(error.to_string().contains("holds no USL_OK"), "{error}");
        assert!(!destination.exists());
        let mut missing = usl_ok_fix("3");
        missing.n_zap = "99".to_owned();
        let error = rewrite_package(&source, &destination, &stem, &missing).unwrap_err();
        assert!(error.to_string().contains("N_ZAP 99"), "{error}");
        assert!(!destination.exists());
    }

    #[test]
    fn keys_sums_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (source, stem) = generated(dir.path(), None);
        let destination = dir.path().join("p.zip");
        for (element, new, words) in [
            ("SUMV", "1.00", "cannot be corrected"),
            ("IDCASE", "7", "cannot be corrected"),
            ("USL_OK", "", "is empty"),
            ("USL_OK", " 3", "spaces"),
            ("USL_OK", "9", "the current one"),
            ("USL_OK", "a\u{7}", "control character"),
            ("USL_OK", "✓", "cannot encode"),
        ] {
            let correction = Correction {
                n_zap: "2".to_owned(),
                element: element.to_owned(),
                current: if element == "USL_OK" { "3" } else { "x" }.to_owned(),
                new: new.to_owned(),
            };
            let mut correction = correction;
            if words == "the current one" {
                correction.current = "9".to_owned();
            }
            let error = rewrite_package(&source, &destination, &stem, &correction).unwrap_err();
            assert!(error.to_string().contains(words), "{element}: {error}");
            assert!(!destination.exists());
        }
    }

    #[test]
    fn the_fixable_set() {
        let stem = "HM010001S01001_2501001";
        let main = format!("{stem}.xml");
        assert!(fixable(904, &main, "USL_OK", Some("2"), "", stem));
        assert!(fixable(903, &main, "DS1", Some("2"), "", stem));
        assert!(!fixable(902, &main, "DS1", Some("2"), "", stem));
        assert!(!fixable(905, &main, "IDCASE", Some("2"), "", stem));
        assert!(!fixable(904, &main, "SUMV", Some("2"), "", stem));
        assert!(!fixable(903, &main, "DATE_Z_1", Some("2"), "", stem));
        assert!(!fixable(904, &main, "USL_OK", None, "", stem));
        assert!(!fixable(
            903,
            "LM010001S01001_2501001.xml",
            "SNILS",
            Some("2"),
            "",
            stem
        ));
        assert!(!fixable(
            904,
            &main,
            "P_CEL",
            Some("2"),
            "element P_CEL must be absent (when USL_OK=1)",
            stem
        ));
    }
}
