//! Forming registers from accepted cases (tab «Формирование»): the cases of an MO's packages
//! of a period that passed control, grouped by register kind, care conditions (`USL_OK`, V006)
//! and insurer, each group written as one register package — the main file and its
//! personal-data file, windows-1251, named per the federal order, in a ZIP — with the records
//! renumbered (`N_ZAP` and `IDCASE` 1, 2, 3 …; `ID_PAC` renumbered in both files, since two
//! packages may use one patient id for different people), `ZGLV/SD_Z` the cases counted and
//! `SCHET/SUMMAV` the sum of their `SUMV` recomputed. The packages are streamed, one record at
//! a time; only the group's patient ids are held.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::ClaimsError;
use crate::flk::{money, parse_money};
use crate::names::{FileKind, Party, RegisterFileName};
use crate::package::Package;
use crate::xml::{encode_windows_1251, write_element, Element, Item};

/// A package whose accepted cases go into registers.
#[derive(Clone, Debug)]
pub struct Source {
    pub package_id: i64,
    pub path: PathBuf,
    /// The `N_ZAP` of the records control refused (left out).
    pub refused: HashSet<String>,
}

/// The key of one register: its kind, care conditions and insurer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    pub kind: FileKind,
    pub usl_ok: String,
    pub smo: String,
}

/// One register to write: the cases counted and summed by [`plan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub key: GroupKey,
    pub cases: u64,
    /// Kopecks.
    pub sum: i128,
    /// The packages that give it cases.
    pub packages: Vec<i64>,
}

impl Group {
    /// `SCHET/SUMMAV` as written.
    pub fn summav(&self) -> String {
        money(self.sum)
    }
}

fn package_name(source: &Source) -> Result<(Package, RegisterFileName), ClaimsError> {
    let package = Package::open(&source.path)?;
    let name = package.name().clone();
    Ok((package, name))
}

/// The insurer a package's cases are for: the receiver its name names, else `SCHET/PLAT`.
fn insurer_of(name: &RegisterFileName, schet: &Element) -> String {
    match name.receiver() {
        Party::Insurer(code) => code.clone(),
        _ => schet.child_text("PLAT").unwrap_or("").trim().to_owned(),
    }
}

fn kept(source: &Source, zap: &Element) -> bool {
    zap.child_text("N_ZAP")
        .is_some_and(|n_zap| !source.refused.contains(n_zap.trim()))
}

fn usl_ok(zap: &Element) -> String {
    zap.child("Z_SL")
        .and_then(|z_sl| z_sl.child_text("USL_OK"))
        .unwrap_or("")
        .trim()
        .to_owned()
}

fn sumv(zap: &Element) -> i128 {
    zap.child("Z_SL")
        .and_then(|z_sl| z_sl.child_text("SUMV"))
        .and_then(parse_money)
        .unwrap_or(0)
}

/// Reads the sources once and answers the registers they make, in key order.
pub fn plan(sources: &[Source]) -> Result<Vec<Group>, ClaimsError> {
    let mut groups: BTreeMap<GroupKey, Group> = BTreeMap::new();
    for source in sources {
        let (mut package, name) = package_name(source)?;
        let mut smo = String::new();
        package.read_main(&mut |item| {
            match item {
                Item::Header(header) if header.name == "SCHET" => smo = insurer_of(&name, &header),
                Item::Record(zap) if kept(source, &zap) => {
                    let key = GroupKey {
                        kind: name.kind(),
                        usl_ok: usl_ok(&zap),
                        smo: smo.clone(),
                    };
                    let group = groups.entry(key.clone()).or_insert_with(|| Group {
                        key,
                        cases: 0,
                        sum: 0,
                        packages: Vec::new(),
                    });
                    group.cases += 1;
                    group.sum += sumv(&zap);
                    if group.packages.last() != Some(&source.package_id) {
                        group.packages.push(source.package_id);
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
    }
    Ok(groups.into_values().collect())
}

/// What writing a register made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub cases: u64,
    pub patients: u64,
    pub summav: String,
}

/// Writes the register `group` named `name` into `out` (the `.zip`), formed on `date`
/// (`YYYY-MM-DD`); a failure leaves no file behind.
pub fn write_register(
    sources: &[Source],
    group: &Group,
    name: &RegisterFileName,
    number: u32,
    mo_code: &str,
    date: &str,
    out: &Path,
) -> Result<Written, ClaimsError> {
    let result = write_zip(sources, group, name, number, mo_code, date, out);
    if result.is_err() {
        let _ = std::fs::remove_file(out);
    }
    result
}

fn write_zip(
    sources: &[Source],
    group: &Group,
    name: &RegisterFileName,
    number: u32,
    mo_code: &str,
    date: &str,
    out: &Path,
) -> Result<Written, ClaimsError> {
    let zip_name = format!("{}.zip", name.main_stem());
    let fail = |reason: String| ClaimsError::Zip {
        file: zip_name.clone(),
        reason,
    };
    let file = File::create(out).map_err(|e| ClaimsError::io(out, e))?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let put = |zip: &mut zip::ZipWriter<BufWriter<File>>, text: &str| {
        let bytes = encode_windows_1251(text).map_err(&fail)?;
        zip.write_all(&bytes).map_err(|e| fail(e.to_string()))
    };

    // The main file: the header and invoice first, then the kept records renumbered.
    zip.start_file(format!("{}.xml", name.main_stem()), options)
        .map_err(|e| fail(e.to_string()))?;
    let period = name.period();
    let header = Element::new("ZGLV")
        .with("VERSION", "3.1")
        .with("DATA", date)
        .with("FILENAME", name.main_stem())
        .with("SD_Z", group.cases.to_string());
    let schet = Element::new("SCHET")
        .with("CODE", number.to_string())
        .with("CODE_MO", mo_code)
        .with("YEAR", period.year().to_string())
        .with("MONTH", period.month().to_string())
        .with("NSCHET", format!("{}-{number}", period.month()))
        .with("DSCHET", date)
        .with("PLAT", group.key.smo.clone())
        .with("SUMMAV", group.summav());
    let mut text = String::from("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<ZL_LIST>\n");
    write_element(&mut text, &header, 1);
    write_element(&mut text, &schet, 1);
    put(&mut zip, &text)?;
    // (package, old ID_PAC) → new ID_PAC.
    let mut patients: HashMap<(i64, String), String> = HashMap::new();
    let mut written: u64 = 0;
    let mut sum: i128 = 0;
    for source in sources
        .iter()
        .filter(|source| group.packages.contains(&source.package_id))
    {
        let (mut package, package_name) = package_name(source)?;
        if package_name.kind() != group.key.kind {
            continue;
        }
        let mut smo = String::new();
        package.read_main(&mut |item| {
            match item {
                Item::Header(header) if header.name == "SCHET" => {
                    smo = insurer_of(&package_name, &header)
                }
                Item::Record(mut zap)
                    if kept(source, &zap)
                        && smo == group.key.smo
                        && usl_ok(&zap) == group.key.usl_ok =>
                {
                    written += 1;
                    sum += sumv(&zap);
                    renumber(&mut zap, source.package_id, written, &mut patients);
                    let mut text = String::new();
                    write_element(&mut text, &zap, 1);
                    put(&mut zip, &text)?;
                }
                _ => {}
            }
            Ok(())
        })?;
    }
    put(&mut zip, "</ZL_LIST>\n")?;
    if written != group.cases || sum != group.sum {
        return Err(fail(format!(
            "the packages changed while the register was formed ({written} cases of {}, \
             {} of {})",
            group.cases,
            money(sum),
            group.summav()
        )));
    }

    // The personal-data file: the patients of the kept records, under their new ids.
    zip.start_file(format!("{}.xml", name.personal_stem()), options)
        .map_err(|e| fail(e.to_string()))?;
    let header = Element::new("ZGLV")
        .with("VERSION", "3.2")
        .with("DATA", date)
        .with("FILENAME", name.personal_stem())
        .with("FILENAME1", name.main_stem());
    let mut text = String::from("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<PERS_LIST>\n");
    write_element(&mut text, &header, 1);
    put(&mut zip, &text)?;
    let mut persons: u64 = 0;
    let mut seen: HashSet<String> = HashSet::new();
    for source in sources
        .iter()
        .filter(|source| group.packages.contains(&source.package_id))
    {
        let (mut package, _) = package_name(source)?;
        package.read_personal(&mut |item| {
            if let Item::Record(mut pers) = item {
                let old = pers.child_text("ID_PAC").unwrap_or("").trim().to_owned();
                if let Some(new) = patients.get(&(source.package_id, old)) {
                    if seen.insert(new.clone()) {
                        set_child(&mut pers, "ID_PAC", new.clone());
                        let mut text = String::new();
                        write_element(&mut text, &pers, 1);
                        put(&mut zip, &text)?;
                        persons += 1;
                    }
                }
            }
            Ok(())
        })?;
    }
    put(&mut zip, "</PERS_LIST>\n")?;
    zip.finish()
        .and_then(|mut out| out.flush().map_err(Into::into))
        .map_err(|e| fail(e.to_string()))?;
    Ok(Written {
        cases: written,
        patients: persons,
        summav: money(sum),
    })
}

fn set_child(element: &mut Element, name: &str, text: String) {
    if let Some(child) = element.children.iter_mut().find(|child| child.name == name) {
        child.text = text;
    }
}

/// `N_ZAP` and `IDCASE` become `number`; `PACIENT/ID_PAC` the patient's new id in the register.
fn renumber(
    zap: &mut Element,
    package_id: i64,
    number: u64,
    patients: &mut HashMap<(i64, String), String>,
) {
    set_child(zap, "N_ZAP", number.to_string());
    if let Some(z_sl) = zap.children.iter_mut().find(|child| child.name == "Z_SL") {
        set_child(z_sl, "IDCASE", number.to_string());
    }
    if let Some(pacient) = zap
        .children
        .iter_mut()
        .find(|child| child.name == "PACIENT")
    {
        let old = pacient.child_text("ID_PAC").unwrap_or("").trim().to_owned();
        let next = patients.len() + 1;
        let new = patients
            .entry((package_id, old))
            .or_insert_with(|| format!("P{next:08}"))
            .clone();
        set_child(pacient, "ID_PAC", new);
    }
}
