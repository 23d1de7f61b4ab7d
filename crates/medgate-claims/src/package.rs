//! A register package: a ZIP named after its main file (`HM010001S01001_2501001.zip`) holding
//! the main file and its personal-data file; and the control of a whole package — the
//! personal-data file's patients read first, then the main file checked record by record
//! and, when asked, each case the FLK passed given to the medico-economic control in the
//! same read, then the personal-data file checked with what its rules take from the main
//! file — each file streamed from the archive, never held whole. When that last FLK refuses
//! a patient, the MEK is run again over the main file without that patient's cases.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::error::ClaimsError;
use crate::flk::catalogue::Catalogue;
use crate::flk::scope::{FileContext, NameFilter};
use crate::flk::{FileChecker, Finding, MainFields, NotRun, Plan, RuleCounts};
use crate::mek::{CaseChecker, MekFinding, MekPlan, MekReport, PaidCases, Person};
use crate::names::Party;
use crate::names::RegisterFileName;
use crate::nsi::Nsi;
use crate::pipeline;
use crate::spill::{digest, DigestMap, DigestSet, Spill};
use crate::xml::{DecodingReader, Element, Item, RecordReader};

/// An opened package whose name and files are in order.
pub struct Package {
    path: PathBuf,
    name: RegisterFileName,
    archive: zip::ZipArchive<BufReader<File>>,
    main_entry: String,
    personal_entry: String,
}

impl Package {
    /// Opens a package: a ZIP (801), named per the order (802), holding both files (803).
    pub fn open(path: &Path) -> Result<Package, ClaimsError> {
        let display = display_name(path);
        let file = File::open(path).map_err(|e| ClaimsError::io(path, e))?;
        let mut archive =
            zip::ZipArchive::new(BufReader::new(file)).map_err(|error| ClaimsError::NotZip {
                name: display.clone(),
                reason: error.to_string(),
            })?;
        if !display.to_ascii_lowercase().ends_with(".zip") {
            return Err(ClaimsError::BadFileName {
                name: display,
                reason: "a package's name ends in .zip".to_owned(),
                reason_ru: "имя пакета оканчивается на .zip".to_owned(),
            });
        }
        let name = RegisterFileName::parse(&display)?;
        let entries: Vec<String> = archive.file_names().map(str::to_owned).collect();
        let find = |stem: &str| {
            entries.iter().find(|entry| {
                let base = entry.rsplit('/').next().unwrap_or(entry);
                base.eq_ignore_ascii_case(&format!("{stem}.xml"))
            })
        };
        let main_entry =
            find(&name.main_stem())
                .cloned()
                .ok_or_else(|| ClaimsError::MissingFile {
                    package: display.clone(),
                    reason: format!(
                        "the main file {}.xml is not in the archive (it holds: {})",
                        name.main_stem(),
                        listing(&entries)
                    ),
                    reason_ru: format!(
                        "в архиве нет основного файла {}.xml (в нём: {})",
                        name.main_stem(),
                        listing(&entries)
                    ),
                })?;
        let personal_entry =
            find(&name.personal_stem())
                .cloned()
                .ok_or_else(|| ClaimsError::MissingFile {
                    package: display.clone(),
                    reason: format!(
                        "the personal-data file {}.xml is not in the archive (it holds: {})",
                        name.personal_stem(),
                        listing(&entries)
                    ),
                    reason_ru: format!(
                        "в архиве нет файла персональных данных {}.xml (в нём: {})",
                        name.personal_stem(),
                        listing(&entries)
                    ),
                })?;
        // Check that both entries can be opened (a damaged central directory shows here).
        for entry in [&main_entry, &personal_entry] {
            archive.by_name(entry).map_err(|error| ClaimsError::Zip {
                file: display.clone(),
                reason: error.to_string(),
            })?;
        }
        Ok(Package {
            path: path.to_owned(),
            name,
            archive,
            main_entry,
            personal_entry,
        })
    }

    pub fn name(&self) -> &RegisterFileName {
        &self.name
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Streams the main file's items (`ZGLV`, `SCHET`, then each `ZAP`) through `visit`,
    /// one at a time.
    pub fn read_main(
        &mut self,
        visit: &mut dyn FnMut(Item) -> Result<(), ClaimsError>,
    ) -> Result<(), ClaimsError> {
        let entry = self.main_entry.clone();
        let root = self.read(&entry, "ZAP", 0, 0, &mut |_, _| {}, &mut |item| {
            visit(item).map(|()| None)
        })?;
        expect_root(&entry, &root, "ZL_LIST")
    }

    /// Streams the personal-data file's items (`ZGLV`, then each `PERS`) through `visit`,
    /// one at a time.
    pub fn read_personal(
        &mut self,
        visit: &mut dyn FnMut(Item) -> Result<(), ClaimsError>,
    ) -> Result<(), ClaimsError> {
        let entry = self.personal_entry.clone();
        let root = self.read(&entry, "PERS", 0, 0, &mut |_, _| {}, &mut |item| {
            visit(item).map(|()| None)
        })?;
        expect_root(&entry, &root, "PERS_LIST")
    }

    fn size(&mut self, entry: &str) -> u64 {
        self.archive
            .by_name(entry)
            .map(|file| file.size())
            .unwrap_or(0)
    }

    /// The headers of one file before its first record (`ZGLV`, `SCHET`).
    fn headers(
        &mut self,
        entry: &str,
        record_name: &'static str,
    ) -> Result<Vec<Element>, ClaimsError> {
        let mut reader = open_entry(&mut self.archive, &self.path, entry, record_name)?;
        let mut headers = Vec::new();
        while let Some(item) = reader.next_item()? {
            match item {
                Item::Header(header) => headers.push(header),
                Item::Record(_) => break,
            }
        }
        Ok(headers)
    }

    /// Streams one file of the package through `visit`, one item at a time; an item `visit`
    /// gives back is reused for the next ones (see [`RecordReader::recycle`]).
    fn read(
        &mut self,
        entry: &str,
        record_name: &'static str,
        done_before: u64,
        total: u64,
        progress: &mut dyn FnMut(u64, u64),
        visit: &mut dyn FnMut(Item) -> Result<Option<Item>, ClaimsError>,
    ) -> Result<String, ClaimsError> {
        let mut reader = open_entry(&mut self.archive, &self.path, entry, record_name)?;
        let mut count = 0u64;
        while let Some(item) = reader.next_item()? {
            if let Some(done) = visit(item)? {
                reader.recycle(done);
            }
            count += 1;
            if count % 256 == 0 {
                progress(done_before + reader.get_ref().consumed(), total);
            }
        }
        progress(done_before + reader.get_ref().consumed(), total);
        Ok(reader.root().unwrap_or("").to_owned())
    }
}

/// One file of a package's archive, read record by record (`record_name`: `ZAP` or `PERS`).
pub(crate) fn open_entry<'a, R: std::io::Read + std::io::Seek>(
    archive: &'a mut zip::ZipArchive<R>,
    path: &Path,
    entry: &str,
    record_name: &'static str,
) -> Result<RecordReader<DecodingReader<zip::read::ZipFile<'a, R>>>, ClaimsError> {
    let file = archive.by_name(entry).map_err(|error| ClaimsError::Zip {
        file: display_name(path),
        reason: error.to_string(),
    })?;
    let decoded = DecodingReader::new(file, entry)?;
    Ok(RecordReader::new(decoded, record_name, entry))
}

/// How a package is named in errors: its file's name.
pub(crate) fn display_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("package")
        .to_owned()
}

fn listing(entries: &[String]) -> String {
    if entries.is_empty() {
        "nothing".to_owned()
    } else {
        entries.join(", ")
    }
}

/// What the control needs besides the package.
pub struct Settings<'a> {
    pub catalogues: &'a [Catalogue],
    pub nsi: &'a Nsi,
    /// At most this many findings are kept (the rest counted).
    pub max_findings: usize,
    /// How many keys of each kind (`N_ZAP`, `IDCASE`, patients, stays…) the control keeps in
    /// memory before it moves them to a temporary file beside the package
    /// ([`crate::spill::ENTRIES_IN_MEMORY`] for flat memory).
    pub keys_in_memory: usize,
}

/// The outcome of the control of one package.
#[derive(Debug)]
pub struct Report {
    pub name: RegisterFileName,
    pub counts: RuleCounts,
    pub not_run: Vec<NotRun>,
    pub findings: Vec<Finding>,
    /// Findings beyond `max_findings`, counted only.
    pub findings_dropped: u64,
    pub cases: u64,
    pub patients: u64,
    pub books: Vec<String>,
    /// The medico-economic control, when it was asked for.
    pub mek: Option<MekReport>,
    /// Whether keys went beyond `Settings::keys_in_memory` to a temporary file.
    pub keys_on_disk: bool,
}

/// What the medico-economic control needs besides the FLK's settings.
pub struct MekSettings<'a> {
    /// The MEK catalogues (`Q016`, `Q023`).
    pub catalogues: &'a [Catalogue],
    /// Cases paid in earlier accepted registers.
    pub paid: Option<&'a PaidCases>,
}

impl Report {
    pub fn total_findings(&self) -> u64 {
        self.findings.len() as u64 + self.findings_dropped
    }
}

/// Checks a package file (FLK); a package-level refusal (801–804) is the error.
pub fn check_package(
    path: &Path,
    settings: &Settings<'_>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, ClaimsError> {
    check(path, settings, None, progress)
}

/// Checks a package file with FLK, then its cases that passed with MEK (`Report.mek`).
pub fn check_package_with_mek(
    path: &Path,
    settings: &Settings<'_>,
    mek: &MekSettings<'_>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, ClaimsError> {
    check(path, settings, Some(mek), progress)
}

fn check(
    path: &Path,
    settings: &Settings<'_>,
    mek: Option<&MekSettings<'_>>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, ClaimsError> {
    let mut package = Package::open(path)?;
    let name = package.name().clone();
    let plan = Plan::new(
        settings.catalogues,
        name.kind(),
        name.period(),
        settings.nsi,
    );
    let main_entry = package.main_entry.clone();
    let personal_entry = package.personal_entry.clone();
    let main_size = package.size(&main_entry);
    let personal_size = package.size(&personal_entry);
    let total = main_size + 2 * personal_size;

    let mut findings = Vec::new();
    let mut dropped = 0u64;
    let max = settings.max_findings;
    let mut keep = |new: Vec<Finding>, findings: &mut Vec<Finding>| {
        for finding in new {
            if findings.len() < max {
                findings.push(finding);
            } else {
                dropped += 1;
            }
        }
    };

    // What is kept of the whole file, in bounded memory.
    let spill = Spill::beside(path);
    let in_memory = settings.keys_in_memory;

    // 1. The patients of the personal-data file (for MEK, with their sex, age and identity).
    let mut persons: DigestMap<Person> = DigestMap::new(&spill, in_memory);
    let root = package.read(&personal_entry, "PERS", 0, total, progress, &mut |item| {
        if let Item::Record(pers) = &item {
            if let Some(id) = pers.child_text("ID_PAC") {
                let person = match mek {
                    Some(_) => Person::from_pers(pers),
                    None => Person::default(),
                };
                persons.insert(digest(id), person);
            }
        }
        Ok(Some(item))
    })?;
    expect_root(&personal_entry, &root, "PERS_LIST")?;
    spill.check()?;

    // 2. The main file: FLK on each record and, as soon as FLK passes it, MEK on its cases.
    // Its headers first, which the rules of every record use; then its records, checked
    // side by side on the checker threads and tallied in file order here.
    let mek_plan = mek.map(|mek| mek_plan(mek, &name));
    let mut mek_pass = mek
        .zip(mek_plan.as_ref())
        .map(|(mek, plan)| MekPass::new(mek, plan, &persons, &name, &spill, in_memory));
    let context = FileContext {
        name: name.clone(),
        root: "ZL_LIST",
        headers: Vec::new(),
    };
    let mut main_checker =
        FileChecker::new(&plan, settings.nsi, context, &main_entry, &spill, in_memory);
    main_checker.tally.patients = Some(&persons);
    let mut main_findings = Vec::new();
    for header in package.headers(&main_entry, "ZAP")? {
        if let Some(pass) = &mut mek_pass {
            pass.checker.header(header.clone());
        }
        keep(main_checker.header(header), &mut main_findings);
    }
    // The records (by their place in the file) FLK found errors in: MEK leaves them out.
    let mut failed_records = Ordinals::default();
    let root = {
        let rules = &main_checker.rules;
        let tally = &mut main_checker.tally;
        let (case_rules, mut mek_tally) = match &mut mek_pass {
            Some(MekPass {
                checker: CaseChecker { rules, stays },
                report,
            }) => (Some(&*rules), Some((stays, report))),
            None => (None, None),
        };
        let check = |zap: &Element| {
            let held = NameFilter::of(zap);
            let flk = rules.check_named(zap, &held);
            // MEK is run ahead on the cases FLK passes so far; the checks of the whole
            // file below may still refuse one, and then its MEK is not counted.
            let mek = case_rules
                .filter(|_| flk.is_empty())
                .map(|case_rules| case_rules.check_named(zap, &held));
            (flk, mek)
        };
        let mut ordinal = 0u64;
        pipeline::records(
            &pipeline::Source {
                path: package.path(),
                entry: &main_entry,
                record_name: "ZAP",
            },
            &check,
            &mut |item, checked| {
                let new = match item {
                    Item::Header(header) => tally.late_header(rules, header),
                    Item::Record(record) => {
                        ordinal += 1;
                        let (flk, mek) = checked.unwrap_or_default();
                        let new = tally.record(rules, record, flk);
                        if !new.is_empty() {
                            failed_records.mark(ordinal);
                        }
                        if let Some((stays, report)) = &mut mek_tally {
                            if !new.is_empty() {
                                report.cases_failed_flk += 1;
                            } else if let Some(parts) = mek {
                                // (Run ahead: a case without FLK findings here had none on
                                // its checker either.)
                                add_case(report, stays.resolve(parts), max);
                            }
                        }
                        new
                    }
                };
                keep(new, &mut main_findings);
                Ok(())
            },
            &mut |consumed| progress(personal_size + consumed, total),
        )?
    };
    expect_root(&main_entry, &root, "ZL_LIST")?;
    spill.check()?;
    let end = main_checker.finish();
    keep(end, &mut main_findings);
    let cases = main_checker.tally.records;
    let collected = std::mem::replace(
        &mut main_checker.tally.collected_fields,
        MainFields::new(&spill, 0),
    );
    drop(main_checker);
    findings.append(&mut main_findings);

    // 3. The personal-data file, with the main file's fields its rules name.
    let context = FileContext {
        name: name.clone(),
        root: "PERS_LIST",
        headers: Vec::new(),
    };
    let mut personal_checker = FileChecker::new(
        &plan,
        settings.nsi,
        context,
        &personal_entry,
        &spill,
        in_memory,
    );
    personal_checker.rules.main_fields = Some(&collected);
    let mut personal_findings = Vec::new();
    for header in package.headers(&personal_entry, "PERS")? {
        keep(personal_checker.header(header), &mut personal_findings);
    }
    let mut failed_patients: DigestSet = DigestMap::new(&spill, in_memory);
    {
        let rules = &personal_checker.rules;
        let tally = &mut personal_checker.tally;
        pipeline::records(
            &pipeline::Source {
                path: package.path(),
                entry: &personal_entry,
                record_name: "PERS",
            },
            &|pers: &Element| rules.check_item(pers),
            &mut |item, checked| {
                let new = match item {
                    Item::Header(header) => tally.late_header(rules, header),
                    Item::Record(record) => {
                        let new = tally.record(rules, record, checked.unwrap_or_default());
                        if !new.is_empty() {
                            if let Some(id) = record.child_text("ID_PAC") {
                                failed_patients.insert(digest(id), ());
                            }
                        }
                        new
                    }
                };
                keep(new, &mut personal_findings);
                Ok(())
            },
            &mut |consumed| progress(personal_size + main_size + consumed, total),
        )?;
    }
    spill.check()?;
    let end = personal_checker.finish();
    keep(end, &mut personal_findings);
    findings.append(&mut personal_findings);
    drop(personal_checker);
    drop(collected);

    // 4. The MEK stands when FLK refused no patient's PERS. Otherwise the cases of those
    // patients are left out too, which changes what the duplicate control saw first: the
    // MEK is run again over the main file, on the cases that passed both files' FLK.
    let mek = match (mek, mek_plan.as_ref(), mek_pass) {
        (Some(mek), Some(mek_plan), Some(pass)) if !failed_patients.is_empty() => {
            drop(pass);
            let mut pass = MekPass::new(mek, mek_plan, &persons, &name, &spill, in_memory);
            let mut ordinal = 0u64;
            package.read(
                &main_entry,
                "ZAP",
                total,
                total + main_size,
                progress,
                &mut |item| {
                    match &item {
                        Item::Header(header) => pass.checker.header(header.clone()),
                        Item::Record(zap) => {
                            ordinal += 1;
                            let patient_failed = zap
                                .child("PACIENT")
                                .and_then(|p| p.child_text("ID_PAC"))
                                .is_some_and(|id| failed_patients.contains(digest(id)));
                            if failed_records.marked(ordinal) || patient_failed {
                                pass.report.cases_failed_flk += 1;
                            } else {
                                pass.case(zap, max);
                            }
                        }
                    }
                    Ok(Some(item))
                },
            )?;
            Some(pass.report)
        }
        (_, _, pass) => pass.map(|pass| pass.report),
    };
    spill.check()?;

    Ok(Report {
        name,
        counts: plan.counts.clone(),
        not_run: plan.not_run.clone(),
        findings,
        findings_dropped: dropped,
        cases,
        patients: persons.len(),
        books: settings
            .nsi
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        mek,
        keys_on_disk: spill.used(),
    })
}

/// The MEK rules for a package (its kind, period and the region of its MO).
fn mek_plan(mek: &MekSettings<'_>, name: &RegisterFileName) -> MekPlan {
    let region = match name.sender() {
        Party::MedicalOrganisation(code) => code.get(..2).map(str::to_owned),
        _ => None,
    };
    MekPlan::new(
        mek.catalogues,
        name.kind(),
        name.period(),
        region.as_deref(),
    )
}

/// The medico-economic control over the main file's cases, one at a time, and its report.
struct MekPass<'a> {
    checker: CaseChecker<'a>,
    report: MekReport,
}

impl<'a> MekPass<'a> {
    fn new(
        mek: &MekSettings<'a>,
        plan: &'a MekPlan,
        persons: &'a DigestMap<'a, Person>,
        name: &RegisterFileName,
        spill: &'a Spill,
        keys_in_memory: usize,
    ) -> MekPass<'a> {
        let context = FileContext {
            name: name.clone(),
            root: "ZL_LIST",
            headers: Vec::new(),
        };
        let checker = CaseChecker::new(plan, persons, mek.paid, context, spill, keys_in_memory);
        let period = name.period();
        let mut builtin = vec![
            format!(
                "{} case outside the reporting period (DATE_Z_2)",
                crate::mek::ReasonKind::OutsidePeriod.reason(period).basis
            ),
            format!(
                "{} tariff × units = sum (SL/SUM_M without KSG, USL/SUMV_USL)",
                crate::mek::ReasonKind::SumArithmetic.reason(period).basis
            ),
        ];
        if let Some(paid) = mek.paid {
            builtin.push(format!(
                "{} case paid earlier ({} paid case keys)",
                crate::mek::ReasonKind::PaidEarlier.reason(period).basis,
                paid.len()
            ));
        }
        let report = MekReport {
            counts: plan.counts.clone(),
            not_run: plan.not_run.clone(),
            builtin,
            paid_keys: mek.paid.map_or(0, PaidCases::len),
            ..MekReport::default()
        };
        MekPass { checker, report }
    }

    /// One case (`ZAP`) that passed FLK; at most `max` findings are kept, the rest counted.
    fn case(&mut self, zap: &Element, max: usize) {
        let found = self.checker.record(zap);
        add_case(&mut self.report, found, max);
    }
}

/// Records by their place in the file, a bit each.
#[derive(Default)]
struct Ordinals(Vec<u64>);

impl Ordinals {
    fn mark(&mut self, ordinal: u64) {
        let (word, bit) = ((ordinal / 64) as usize, ordinal % 64);
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << bit;
    }

    fn marked(&self, ordinal: u64) -> bool {
        let (word, bit) = ((ordinal / 64) as usize, ordinal % 64);
        self.0.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }
}

/// What MEK found in one case that passed FLK, added to the report; at most `max` findings
/// are kept, the rest counted.
fn add_case(report: &mut MekReport, found: Vec<MekFinding>, max: usize) {
    report.cases_checked += 1;
    if found.is_empty() {
        return;
    }
    report.cases_refused += 1;
    let mut cases = HashSet::new();
    for finding in found {
        if cases.insert(finding.idcase.clone()) {
            report.withheld += finding.withheld;
        }
        if report.findings.len() < max {
            report.findings.push(finding);
        } else {
            report.findings_dropped += 1;
        }
    }
}

/// The paid-case key (`mek::paid`) of every case of a package, in file order, so the keys of
/// an accepted register can be given to the control of later ones.
pub fn case_keys(path: &Path, visit: &mut dyn FnMut(String)) -> Result<u64, ClaimsError> {
    let mut package = Package::open(path)?;
    let main_entry = package.main_entry.clone();
    let size = package.size(&main_entry);
    let mut missing = 0u64;
    let root = package.read(&main_entry, "ZAP", 0, size, &mut |_, _| {}, &mut |item| {
        if let Item::Record(zap) = &item {
            for z_sl in zap.children_named("Z_SL") {
                match crate::mek::paid::case_key(zap, z_sl) {
                    Some(key) => visit(key),
                    None => missing += 1,
                }
            }
        }
        Ok(Some(item))
    })?;
    expect_root(&main_entry, &root, "ZL_LIST")?;
    Ok(missing)
}

fn expect_root(file: &str, found: &str, expected: &str) -> Result<(), ClaimsError> {
    if found != expected {
        return Err(ClaimsError::Xml {
            file: file.to_owned(),
            position: 0,
            reason: format!("the root element is {found}, expected {expected}"),
        });
    }
    Ok(())
}
