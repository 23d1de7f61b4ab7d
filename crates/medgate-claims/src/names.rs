//! Register file names of the federal exchange order: `{kind}{Pi}{Ni}{Pp}{Np}_{YYMM}{N}`
//! (`HM010001S01001_2501001`), parsed to a typed name, and the name of a main file's
//! personal-data (`L`) file.

use std::fmt;

use crate::error::ClaimsError;

/// What a main register file holds; its letters open the file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// `H`: medical care except high-tech care, oncology and dispanserization.
    General,
    /// `C`: oncology cases.
    Oncology,
    /// `T`: high-tech medical care.
    HighTech,
    /// `DP`: dispanserization of adults, first stage.
    DispAdultFirst,
    /// `DV`: dispanserization of adults, second stage.
    DispAdultSecond,
    /// `DO`: preventive examinations of adults.
    PreventiveAdult,
    /// `DS`: dispanserization of orphans in residential care.
    DispOrphansResident,
    /// `DU`: dispanserization of orphans taken into families.
    DispOrphansAdopted,
    /// `DF`: preventive examinations of minors.
    PreventiveMinors,
}

impl FileKind {
    pub const ALL: [FileKind; 9] = [
        FileKind::General,
        FileKind::Oncology,
        FileKind::HighTech,
        FileKind::DispAdultFirst,
        FileKind::DispAdultSecond,
        FileKind::PreventiveAdult,
        FileKind::DispOrphansResident,
        FileKind::DispOrphansAdopted,
        FileKind::PreventiveMinors,
    ];

    /// The letters that open the main file's name.
    pub fn prefix(self) -> &'static str {
        match self {
            FileKind::General => "H",
            FileKind::Oncology => "C",
            FileKind::HighTech => "T",
            FileKind::DispAdultFirst => "DP",
            FileKind::DispAdultSecond => "DV",
            FileKind::PreventiveAdult => "DO",
            FileKind::DispOrphansResident => "DS",
            FileKind::DispOrphansAdopted => "DU",
            FileKind::PreventiveMinors => "DF",
        }
    }

    /// The letters that open its personal-data file's name: `L` for `H`, `LC`, `LT`, and
    /// `LP`/`LV`/`LO`/`LS`/`LU`/`LF` for dispanserization.
    pub fn personal_prefix(self) -> &'static str {
        match self {
            FileKind::General => "L",
            FileKind::Oncology => "LC",
            FileKind::HighTech => "LT",
            FileKind::DispAdultFirst => "LP",
            FileKind::DispAdultSecond => "LV",
            FileKind::PreventiveAdult => "LO",
            FileKind::DispOrphansResident => "LS",
            FileKind::DispOrphansAdopted => "LU",
            FileKind::PreventiveMinors => "LF",
        }
    }

    /// The file type letter of the federal catalogues' `TYPE_MD/TYPE_D` (`H`, `C`, `T`;
    /// `X` for every dispanserization file).
    pub fn catalogue_type(self) -> char {
        match self {
            FileKind::General => 'H',
            FileKind::Oncology => 'C',
            FileKind::HighTech => 'T',
            _ => 'X',
        }
    }

    /// Dispanserization registers are submitted per quarter.
    pub fn is_dispanserization(self) -> bool {
        self.catalogue_type() == 'X'
    }
}

/// Who sends or receives a file: a medical organisation (`M` + 6 digits), an insurer
/// (`S` + 5 digits) or a territorial fund (`T` + 2 digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Party {
    MedicalOrganisation(String),
    Insurer(String),
    TerritorialFund(String),
}

impl Party {
    pub fn letter(&self) -> char {
        match self {
            Party::MedicalOrganisation(_) => 'M',
            Party::Insurer(_) => 'S',
            Party::TerritorialFund(_) => 'T',
        }
    }

    pub fn code(&self) -> &str {
        match self {
            Party::MedicalOrganisation(code)
            | Party::Insurer(code)
            | Party::TerritorialFund(code) => code,
        }
    }

    fn digits(letter: char) -> Option<usize> {
        match letter {
            'M' => Some(6),
            'S' => Some(5),
            'T' => Some(2),
            _ => None,
        }
    }

    fn new(letter: char, code: String) -> Party {
        match letter {
            'M' => Party::MedicalOrganisation(code),
            'S' => Party::Insurer(code),
            _ => Party::TerritorialFund(code),
        }
    }
}

/// The months' names in Russian, January first, as the catalogues' conditions and the
/// documents' periods write them ("январь 2025").
pub const MONTH_NAMES: [&str; 12] = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
];

/// A reporting period: year and month (`YYMM` in a file name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: i32,
    month: u8,
}

impl Period {
    pub fn new(year: i32, month: u8) -> Result<Period, ClaimsError> {
        if !(1..=12).contains(&month) || !(2000..=2099).contains(&year) {
            return Err(ClaimsError::InvalidPeriod(format!("{year}-{month:02}")));
        }
        Ok(Period { year, month })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    /// The first day of the period.
    pub fn first_day(self) -> time::Date {
        // The constructor keeps year and month in range, so the date exists.
        time::Date::from_calendar_date(self.year, self.time_month(), 1).unwrap_or(time::Date::MIN)
    }

    /// The last day of the period.
    pub fn last_day(self) -> time::Date {
        let month = self.time_month();
        time::Date::from_calendar_date(self.year, month, month.length(self.year))
            .unwrap_or(time::Date::MAX)
    }

    fn time_month(self) -> time::Month {
        time::Month::try_from(self.month).unwrap_or(time::Month::January)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.year, self.month)
    }
}

/// A main register file's name, parsed: `HM010001S01001_2501001` is general care (`H`) sent
/// by the medical organisation 010001 to the insurer 01001 for January 2025, package 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegisterFileName {
    kind: FileKind,
    sender: Party,
    receiver: Party,
    period: Period,
    number: String,
}

impl RegisterFileName {
    pub fn new(
        kind: FileKind,
        sender: Party,
        receiver: Party,
        period: Period,
        number: u32,
    ) -> RegisterFileName {
        RegisterFileName {
            kind,
            sender,
            receiver,
            period,
            number: number.to_string(),
        }
    }

    /// Parses a main file's name, with or without its `.xml` or `.zip` extension.
    pub fn parse(name: &str) -> Result<RegisterFileName, ClaimsError> {
        let stem = strip_extension(name);
        let bad = |(why, why_ru): (&str, &str)| ClaimsError::BadFileName {
            name: name.to_owned(),
            reason: why.to_owned(),
            reason_ru: why_ru.to_owned(),
        };
        let kind = FileKind::ALL
            .iter()
            .copied()
            // The two-letter kinds first, so `DP…` is not taken for anything else.
            .filter(|kind| stem.starts_with(kind.prefix()))
            .max_by_key(|kind| kind.prefix().len())
            .ok_or_else(|| {
                bad((
                    "it does not start with a register kind (H, C, T, DP, DV, DO, DS, DU, DF)",
                    "оно не начинается с вида реестра (H, C, T, DP, DV, DO, DS, DU, DF)",
                ))
            })?;
        let (sender, receiver, period, number) = parse_parties(&stem[kind.prefix().len()..])
            .map_err(|(why, why_ru)| bad((&why, &why_ru)))?;
        Ok(RegisterFileName {
            kind,
            sender,
            receiver,
            period,
            number,
        })
    }

    /// Parses the name of a personal-data file and answers the main file name it belongs to.
    pub fn parse_personal(name: &str) -> Result<RegisterFileName, ClaimsError> {
        let stem = strip_extension(name);
        let bad = |(why, why_ru): (&str, &str)| ClaimsError::BadFileName {
            name: name.to_owned(),
            reason: why.to_owned(),
            reason_ru: why_ru.to_owned(),
        };
        let kind = FileKind::ALL
            .iter()
            .copied()
            .filter(|kind| {
                stem.strip_prefix(kind.personal_prefix())
                    .is_some_and(|rest| {
                        rest.starts_with(['M', 'S', 'T']) && parse_parties(rest).is_ok()
                    })
            })
            .max_by_key(|kind| kind.personal_prefix().len())
            .ok_or_else(|| {
                bad((
                    "it is not a personal-data file name (L, LC, LT, LP, LV, LO, LS, LU, LF)",
                    "это не имя файла персональных данных (L, LC, LT, LP, LV, LO, LS, LU, LF)",
                ))
            })?;
        let (sender, receiver, period, number) =
            parse_parties(&stem[kind.personal_prefix().len()..])
                .map_err(|(why, why_ru)| bad((&why, &why_ru)))?;
        Ok(RegisterFileName {
            kind,
            sender,
            receiver,
            period,
            number,
        })
    }

    pub fn kind(&self) -> FileKind {
        self.kind
    }

    pub fn sender(&self) -> &Party {
        &self.sender
    }

    pub fn receiver(&self) -> &Party {
        &self.receiver
    }

    pub fn period(&self) -> Period {
        self.period
    }

    /// The main file's name without extension.
    pub fn main_stem(&self) -> String {
        format!("{}{}", self.kind.prefix(), self.tail())
    }

    /// The personal-data file's name without extension.
    pub fn personal_stem(&self) -> String {
        format!("{}{}", self.kind.personal_prefix(), self.tail())
    }

    fn tail(&self) -> String {
        format!(
            "{}{}{}{}_{:02}{:02}{}",
            self.sender.letter(),
            self.sender.code(),
            self.receiver.letter(),
            self.receiver.code(),
            self.period.year % 100,
            self.period.month,
            self.number
        )
    }
}

impl fmt::Display for RegisterFileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.main_stem())
    }
}

fn strip_extension(name: &str) -> &str {
    let base = name.rsplit('/').next().unwrap_or(name);
    for extension in [".xml", ".XML", ".zip", ".ZIP"] {
        if let Some(stem) = base.strip_suffix(extension) {
            return stem;
        }
    }
    base
}

type Parties = (Party, Party, Period, String);

/// Why a name breaks the federal order, in English and Russian.
type Why = (String, String);

/// `M010001S01001_2501001` → sender, receiver, period, package number.
fn parse_parties(rest: &str) -> Result<Parties, Why> {
    let (parties, tail) = rest.split_once('_').ok_or_else(|| {
        (
            "the underscore before YYMM is missing".to_owned(),
            "нет подчёркивания перед ГГММ".to_owned(),
        )
    })?;
    let mut chars = parties.chars();
    let sender = take_party(&mut chars, ("sender", "отправителя"))?;
    let receiver = take_party(&mut chars, ("receiver", "получателя"))?;
    if chars.next().is_some() {
        return Err((
            format!("unexpected characters after the receiver in {parties:?}"),
            format!("лишние символы после получателя в «{parties}»"),
        ));
    }
    let not_yymm = || {
        (
            format!("{tail:?} is not YYMM followed by a package number"),
            format!("«{tail}» — не ГГММ с номером пакета"),
        )
    };
    if tail.len() < 5 || !tail.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_yymm());
    }
    let year: i32 = tail[..2].parse().map_err(|_| not_yymm())?;
    let month: u8 = tail[2..4].parse().map_err(|_| not_yymm())?;
    let period = Period::new(2000 + year, month).map_err(|_| {
        (
            format!("month {month:02} does not exist"),
            format!("месяца {month:02} не бывает"),
        )
    })?;
    Ok((sender, receiver, period, tail[4..].to_owned()))
}

fn take_party(
    chars: &mut std::str::Chars<'_>,
    (role, role_ru): (&str, &str),
) -> Result<Party, Why> {
    let letter = chars.next().ok_or_else(|| {
        (
            format!("the {role} is missing"),
            format!("нет кода {role_ru}"),
        )
    })?;
    let digits = Party::digits(letter).ok_or_else(|| {
        (
            format!("the {role} letter {letter:?} is not M, S or T"),
            format!("буква {role_ru} «{letter}» — не M, S и не T"),
        )
    })?;
    let code: String = chars.by_ref().take(digits).collect();
    if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err((
            format!("the {role} code after {letter} must be {digits} digits"),
            format!("код {role_ru} после {letter} — {digits} цифр"),
        ));
    }
    Ok(Party::new(letter, code))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn general_care_name_parses_and_names_its_personal_file() {
        let name = RegisterFileName::parse("HM010001S01001_2501001.xml").unwrap();
        assert_eq!(name.kind(), FileKind::General);
        assert_eq!(name.sender(), &Party::MedicalOrganisation("010001".into()));
        assert_eq!(name.receiver(), &Party::Insurer("01001".into()));
        assert_eq!(name.period().to_string(), "2025-01");
        assert_eq!(name.main_stem(), "HM010001S01001_2501001");
        assert_eq!(name.personal_stem(), "LM010001S01001_2501001");
    }

    #[test]
    fn every_kind_round_trips_with_its_personal_file() {
        for (main, personal) in [
            ("CM010001T01_25021", "LCM010001T01_25021"),
            ("TM010001S01001_25033", "LTM010001S01001_25033"),
            ("DPM010001S01001_250312", "LPM010001S01001_250312"),
            ("DVM010001S01001_25031", "LVM010001S01001_25031"),
            ("DOM010001S01001_25031", "LOM010001S01001_25031"),
            ("DSM010001S01001_25031", "LSM010001S01001_25031"),
            ("DUM010001S01001_25031", "LUM010001S01001_25031"),
            ("DFM010001S01001_25031", "LFM010001S01001_25031"),
        ] {
            let name = RegisterFileName::parse(main).unwrap();
            assert_eq!(name.main_stem(), main);
            assert_eq!(name.personal_stem(), personal);
            assert_eq!(
                RegisterFileName::parse_personal(personal).unwrap(),
                name,
                "{personal}"
            );
        }
    }

    #[test]
    fn bad_names_say_what_is_wrong() {
        for (name, reason) in [
            ("XM010001S01001_2501001", "register kind"),
            ("HM01001S01001_2501001", "6 digits"),
            ("HM010001Q01001_2501001", "not M, S or T"),
            ("HM010001S01001_2513001", "month 13"),
            ("HM010001S01001-2501001", "underscore"),
            ("HM010001S01001_250", "YYMM"),
        ] {
            let error = RegisterFileName::parse(name).unwrap_err().to_string();
            assert!(error.contains(reason), "{name}: {error}");
        }
        assert!(RegisterFileName::parse_personal("HM010001S01001_2501001").is_err());
    }

    #[test]
    fn period_days() {
        let period = Period::new(2024, 2).unwrap();
        assert_eq!(period.last_day().day(), 29);
        assert_eq!(period.first_day().day(), 1);
        assert!(Period::new(2024, 0).is_err());
    }
}
