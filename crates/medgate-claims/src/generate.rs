//! Realistic register packages of any size for tests and benchmarks: general-care (`H`)
//! outpatient cases, each with its patient in the personal-data file, written straight into
//! the ZIP one record at a time (windows-1251), valid against the catalogues and the starter
//! books — or with one seeded fault, so each check (FLK or MEK) can be shown to find it.
//! Every patient is a distinct person (surname, name, patronymic and birth date never repeat),
//! so the MEK's duplicate control has something to tell apart.

use std::io::{Seek, Write};

use crate::error::ClaimsError;
use crate::flk::{money, snils};
use crate::names::{FileKind, Party, Period, RegisterFileName};
use crate::xml::{write_element, Element};

/// One defect to seed in the second case (or its patient).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `SCHET/SUMMAV` one rouble more than the cases' sum.
    InvoiceSum,
    /// `DATE_Z_2` (and the stay) after the reporting period.
    DateAfterPeriod,
    /// `DATE_1` after `DATE_2`.
    DatesReversed,
    /// The patient's `PERS` left out of the personal-data file.
    MissingPersonalRecord,
    /// Wrong SNILS check digits.
    BadSnils,
    /// `USL_OK` 9, not a code of V006.
    BadDictionaryCode,
    /// The case's `IDCASE` equal to the first case's.
    DuplicateCase,
    /// Two services with one `IDSERV`.
    DuplicateService,
    /// `DS1` left out.
    MissingDiagnosis,
    /// `DS1` present but empty.
    EmptyDiagnosis,
    /// `PR_NOV` before `N_ZAP`.
    WrongOrder,
    /// `DATE_Z_1` written `DD.MM.YYYY`.
    BadDateFormat,
    /// A byte that is no windows-1251 character in a patient's name.
    InvalidEncoding,
    /// MEK: a diagnosis of pregnancy (`O80`, ICD-10 rubric O) for a man.
    SexDiagnosis,
    /// MEK: a perinatal diagnosis (`P07`, rubric P) for an adult.
    AgeDiagnosis,
    /// MEK: the first case submitted again as the second — same person (under another
    /// `ID_PAC`), same two-day stay, profile and specialty, new `N_ZAP` and `IDCASE`.
    SameCaseTwice,
    /// MEK: the stay's `SUM_M` is not `TARIF` × `ED_COL` (the tariff one rouble lower).
    SumMismatch,
    /// MEK: the case ended ten days before the reporting period.
    CaseOutsidePeriod,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    pub cases: u32,
    pub period: Period,
    pub medical_organisation: String,
    pub insurer: String,
    pub number: u32,
    pub fault: Option<Fault>,
}

impl Options {
    pub fn new(cases: u32, period: Period) -> Options {
        Options {
            cases,
            period,
            medical_organisation: "010001".to_owned(),
            insurer: INSURER.to_owned(),
            number: 1,
            fault: None,
        }
    }

    /// The package's name.
    pub fn name(&self) -> RegisterFileName {
        RegisterFileName::new(
            FileKind::General,
            Party::MedicalOrganisation(self.medical_organisation.clone()),
            Party::Insurer(self.insurer.clone()),
            self.period,
            self.number,
        )
    }
}

/// An insurer of the starter F002 book.
pub const INSURER: &str = "14002";

const DIAGNOSES: [&str; 6] = ["I10", "J06.9", "I11.9", "J20.9", "I25.1", "J45.0"];
const SURNAMES: [&str; 5] = ["Иванов", "Петров", "Сидоров", "Кузнецов", "Смирнов"];
const NAMES: [&str; 5] = ["Иван", "Пётр", "Сергей", "Алексей", "Николай"];
const WOMEN_NAMES: [&str; 5] = ["Мария", "Анна", "Елена", "Ольга", "Татьяна"];
const PATRONYMICS: [&str; 5] = [
    "Иванович",
    "Петрович",
    "Сергеевич",
    "Алексеевич",
    "Николаевич",
];
const WOMEN_PATRONYMICS: [&str; 5] = [
    "Ивановна",
    "Петровна",
    "Сергеевна",
    "Алексеевна",
    "Николаевна",
];

/// A patient's person: surname, name, patronymic, birth date. `index % 125` picks the
/// three names, `index / 125` the birth date (a different day for each), so two indexes never
/// give the same person.
fn person(index: u32, man: bool) -> (String, &'static str, &'static str, time::Date) {
    let combo = (index % 125) as usize;
    let (s, n, p) = (combo % 5, combo / 5 % 5, combo / 25);
    let mut surname = SURNAMES[s].to_owned();
    if !man {
        surname.push('а');
    }
    let (name, patronymic) = if man {
        (NAMES[n], PATRONYMICS[p])
    } else {
        (WOMEN_NAMES[n], WOMEN_PATRONYMICS[p])
    };
    // 13 and 21,000 are coprime: a distinct day from 1940 to 1997 for up to 2.6 million cases.
    let day = i64::from(index / 125) * 13 % 21_000;
    let first =
        time::Date::from_calendar_date(1940, time::Month::January, 1).unwrap_or(time::Date::MIN);
    (surname, name, patronymic, first + time::Duration::days(day))
}

fn faulty(options: &Options, index: u32, fault: Fault) -> bool {
    index == 2 && options.fault == Some(fault)
}

fn case_sum(index: u32) -> i128 {
    // 500.00 to 2,499.50 roubles.
    50_000 + i128::from(index % 4000) * 50
}

fn day(period: Period, index: u32) -> time::Date {
    let last = period.last_day().day();
    let offset = (index % u32::from(last.saturating_sub(1)).max(1)) as u8;
    period
        .first_day()
        .replace_day(1 + offset)
        .unwrap_or(period.first_day())
}

/// A valid SNILS for a patient number.
pub fn snils_for(index: u32) -> String {
    let nine = 100_000_000 + u64::from(index) * 7_919 % 800_000_000;
    let digits: Vec<u32> = format!("{nine:09}")
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    let check = snils::check_digits(&digits);
    let text = format!("{nine:09}");
    format!("{}-{}-{} {check:02}", &text[..3], &text[3..6], &text[6..])
}

fn patient_id(index: u32) -> String {
    format!("P{index:08}")
}

fn zap(options: &Options, index: u32) -> Element {
    let name = options.name();
    let period = options.period;
    let same_case_twice = options.fault == Some(Fault::SameCaseTwice) && index <= 2;
    let mut start = day(period, if same_case_twice { 1 } else { index });
    let mut end = start;
    if faulty(options, index, Fault::DateAfterPeriod) {
        start = period.last_day() + time::Duration::days(3);
        end = start;
    }
    if faulty(options, index, Fault::CaseOutsidePeriod) {
        start = period.first_day() - time::Duration::days(10);
        end = start;
    }
    if same_case_twice {
        // A two-day outpatient case: the duplicate control leaves same-day visits out.
        end = start + time::Duration::days(1);
    }
    let date = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let sum = money(case_sum(index));
    let diagnosis = if faulty(options, index, Fault::SexDiagnosis) {
        "O80"
    } else if faulty(options, index, Fault::AgeDiagnosis) {
        "P07"
    } else {
        DIAGNOSES[(index as usize) % DIAGNOSES.len()]
    };
    let tariff = if faulty(options, index, Fault::SumMismatch) {
        money(case_sum(index) - 100)
    } else {
        sum.clone()
    };
    let idcase = if faulty(options, index, Fault::DuplicateCase) {
        1
    } else {
        index
    };
    let pacient = Element::new("PACIENT")
        .with("ID_PAC", patient_id(index))
        .with("VPOLIS", "3")
        .with(
            "NPOLIS",
            format!("{:016}", 7_700_000_000_000_000u64 + u64::from(index)),
        )
        .with("SMO", name.receiver().code())
        .with("NOVOR", "0");
    let service = |idserv: u32| {
        Element::new("USL")
            .with("IDSERV", idserv.to_string())
            .with("LPU", options.medical_organisation.clone())
            .with("PROFIL", "97")
            .with("DET", "0")
            .with("DATE_IN", date(start))
            .with("DATE_OUT", date(end))
            .with("DS", diagnosis)
            .with("CODE_USL", "B01.047.001")
            .with("KOL_USL", "1.00")
            .with("TARIF", sum.clone())
            .with("SUMV_USL", sum.clone())
            .with("PRVS", "76")
            .with("CODE_MD", snils_for(1_000_000 + index % 50))
    };
    let (first_date, second_date) = if faulty(options, index, Fault::DatesReversed) {
        (date(end + time::Duration::days(1)), date(end))
    } else {
        (date(start), date(end))
    };
    let mut sl = Element::new("SL")
        .with("SL_ID", "1")
        .with("PROFIL", "97")
        .with("DET", "0")
        .with("P_CEL", "1.0")
        .with("NHISTORY", format!("A-{index}"))
        .with("DATE_1", first_date)
        .with("DATE_2", second_date);
    if !faulty(options, index, Fault::MissingDiagnosis) {
        let value = if faulty(options, index, Fault::EmptyDiagnosis) {
            ""
        } else {
            diagnosis
        };
        sl = sl.with("DS1", value);
    }
    sl = sl
        .with("C_ZAB", "1")
        .with("PRVS", "76")
        .with("VERS_SPEC", "V021")
        .with("IDDOKT", snils_for(1_000_000 + index % 50))
        .with("ED_COL", "1.00")
        .with("TARIF", tariff)
        .with("SUM_M", sum.clone())
        .with_child(service(1));
    if faulty(options, index, Fault::DuplicateService) {
        sl = sl.with_child(service(1));
    }
    let date_z_1 = if faulty(options, index, Fault::BadDateFormat) {
        format!(
            "{:02}.{:02}.{:04}",
            start.day(),
            u8::from(start.month()),
            start.year()
        )
    } else {
        date(start)
    };
    let usl_ok = if faulty(options, index, Fault::BadDictionaryCode) {
        "9"
    } else {
        "3"
    };
    let z_sl = Element::new("Z_SL")
        .with("IDCASE", idcase.to_string())
        .with("USL_OK", usl_ok)
        .with("VIDPOM", "12")
        .with("FOR_POM", "3")
        .with("LPU", options.medical_organisation.clone())
        .with("DATE_Z_1", date_z_1)
        .with("DATE_Z_2", date(end))
        .with("RSLT", "301")
        .with("ISHOD", "304")
        .with_child(sl)
        .with("IDSP", "29")
        .with("SUMV", sum);
    let zap = Element::new("ZAP");
    let zap = if faulty(options, index, Fault::WrongOrder) {
        zap.with("PR_NOV", "0").with("N_ZAP", index.to_string())
    } else {
        zap.with("N_ZAP", index.to_string()).with("PR_NOV", "0")
    };
    zap.with_child(pacient).with_child(z_sl)
}

fn pers(options: &Options, index: u32) -> Element {
    // The same case twice: the second patient record is the first one's person.
    let who = if faulty(options, index, Fault::SameCaseTwice) {
        1
    } else {
        index
    };
    let man = who % 2 == 1 || faulty(options, index, Fault::SexDiagnosis);
    let (surname, first, patronymic, birth) = person(who, man);
    let snils = if faulty(options, index, Fault::BadSnils) {
        let good = snils_for(index);
        let check: u32 = good[12..].parse().unwrap_or(0);
        format!("{}{:02}", &good[..12], (check + 1) % 100)
    } else {
        snils_for(index)
    };
    Element::new("PERS")
        .with("ID_PAC", patient_id(index))
        .with("FAM", surname)
        .with("IM", first)
        .with("OT", patronymic)
        .with("W", if man { "1" } else { "2" })
        .with(
            "DR",
            format!(
                "{:04}-{:02}-{:02}",
                birth.year(),
                u8::from(birth.month()),
                birth.day()
            ),
        )
        .with("SNILS", snils)
}

/// Writes a package to `out` (a file or a buffer); answers its name.
pub fn write_package<W: Write + Seek>(
    out: W,
    options: &Options,
) -> Result<RegisterFileName, ClaimsError> {
    let name = options.name();
    let fail = |reason: String| ClaimsError::Zip {
        file: format!("{}.zip", name.main_stem()),
        reason,
    };
    let mut zip = zip::ZipWriter::new(out);
    let file_options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let today = options.period.last_day();
    let today = format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );

    // The personal-data file.
    zip.start_file(format!("{}.xml", name.personal_stem()), file_options)
        .map_err(|e| fail(e.to_string()))?;
    // Q015 asks version 3.1 of the main file and 3.2 of the personal-data file.
    let header = Element::new("ZGLV")
        .with("VERSION", "3.2")
        .with("DATA", today.clone())
        .with("FILENAME", name.personal_stem())
        .with("FILENAME1", name.main_stem());
    let mut text = String::from("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<PERS_LIST>\n");
    write_element(&mut text, &header, 1);
    write_1251(&mut zip, &text).map_err(fail)?;
    for index in 1..=options.cases {
        if faulty(options, index, Fault::MissingPersonalRecord) {
            continue;
        }
        let mut text = String::new();
        write_element(&mut text, &pers(options, index), 1);
        if faulty(options, index, Fault::InvalidEncoding) {
            let mut bytes = encoding_rs::WINDOWS_1251.encode(&text).0.into_owned();
            if let Some(at) = bytes.windows(5).position(|w| w == b"<FAM>") {
                bytes.insert(at + 5, 0x98);
            }
            zip.write_all(&bytes).map_err(|e| fail(e.to_string()))?;
        } else {
            write_1251(&mut zip, &text).map_err(fail)?;
        }
    }
    write_1251(&mut zip, "</PERS_LIST>\n").map_err(fail)?;

    // The main file.
    zip.start_file(format!("{}.xml", name.main_stem()), file_options)
        .map_err(|e| fail(e.to_string()))?;
    let mut invoice: i128 = (1..=options.cases).map(case_sum).sum();
    if options.fault == Some(Fault::InvoiceSum) {
        invoice += 100;
    }
    let header = Element::new("ZGLV")
        .with("VERSION", "3.1")
        .with("DATA", today.clone())
        .with("FILENAME", name.main_stem())
        .with("SD_Z", options.cases.to_string());
    let schet = Element::new("SCHET")
        .with("CODE", format!("{}", options.number))
        .with("CODE_MO", options.medical_organisation.clone())
        .with("YEAR", options.period.year().to_string())
        .with("MONTH", options.period.month().to_string())
        .with(
            "NSCHET",
            format!("{}-{}", options.period.month(), options.number),
        )
        .with("DSCHET", today)
        .with("PLAT", options.insurer.clone())
        .with("SUMMAV", money(invoice));
    let mut text = String::from("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<ZL_LIST>\n");
    write_element(&mut text, &header, 1);
    write_element(&mut text, &schet, 1);
    write_1251(&mut zip, &text).map_err(fail)?;
    for index in 1..=options.cases {
        let mut text = String::new();
        write_element(&mut text, &zap(options, index), 1);
        write_1251(&mut zip, &text).map_err(fail)?;
    }
    write_1251(&mut zip, "</ZL_LIST>\n").map_err(fail)?;
    zip.finish().map_err(|e| fail(e.to_string()))?;
    Ok(name)
}

fn write_1251(out: &mut impl Write, text: &str) -> Result<(), String> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(text);
    if unmappable {
        return Err("generated text holds a character windows-1251 lacks".to_owned());
    }
    out.write_all(&bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_patients_are_distinct_people() {
        let mut seen = std::collections::HashSet::new();
        for index in 1..=30_000 {
            let man = index % 2 == 1;
            let (surname, name, patronymic, birth) = person(index, man);
            assert!(
                seen.insert((man, surname.clone(), name, patronymic, birth)),
                "patient {index} repeats {surname} {name} {patronymic} {birth}"
            );
        }
    }

    #[test]
    fn generated_snils_are_valid() {
        for index in [1, 2, 999, 123_456] {
            assert_eq!(
                snils::check_snils(&snils_for(index)),
                Ok(()),
                "{}",
                snils_for(index)
            );
        }
    }
}
