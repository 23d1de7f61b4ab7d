//! Typed identifiers used across medgate: Polish PESEL, NIP, REGON-9 and REGON-14, the
//! Hungarian TAJ number, ISO object identifiers and medgate tenant ids. Each is parsed once at
//! the edge into a value that cannot be invalid; errors name the rule that failed.

use std::fmt;
use std::str::FromStr;

use time::{Date, Month};

/// Why a value is not a valid identifier of the requested kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} '{value}': {rule}")]
pub struct IdError {
    /// The identifier kind, e.g. `PESEL`.
    pub kind: &'static str,
    /// The value as given (identifiers are not secrets).
    pub value: String,
    /// The rule that failed, in words.
    pub rule: String,
}

fn id_error(kind: &'static str, value: &str, rule: impl Into<String>) -> IdError {
    IdError {
        kind,
        value: value.to_owned(),
        rule: rule.into(),
    }
}

/// Checks that `value` is exactly `len` ASCII digits and returns them as numbers.
fn digits(kind: &'static str, value: &str, len: usize) -> Result<Vec<u32>, IdError> {
    if value.len() != len || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(id_error(
            kind,
            value,
            format!(
                "must be exactly {len} digits (got {} characters{})",
                value.chars().count(),
                if value.bytes().all(|b| b.is_ascii_digit()) {
                    ""
                } else {
                    ", not all digits"
                }
            ),
        ));
    }
    Ok(value.bytes().map(|b| u32::from(b - b'0')).collect())
}

/// Weighted sum of the digits with the given weights.
fn weighted(digits: &[u32], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| d * w).sum()
}

macro_rules! string_id {
    ($name:ident) => {
        impl $name {
            /// The identifier as its canonical text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Sex encoded in a PESEL (10th digit: odd male, even female).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sex {
    Female,
    Male,
}

/// Polish national identification number (11 digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pesel(String);
string_id!(Pesel);

impl Pesel {
    /// OID of the PESEL namespace used in HL7 CDA documents.
    pub const OID: &'static str = "2.16.840.1.113883.3.4424.1.1.616";

    /// Parses and validates: 11 digits, a real birth date (the century comes from the month
    /// field: +80 for 1800s, +0 for 1900s, +20 for 2000s, +40 for 2100s, +60 for 2200s), and
    /// the check digit (weights 1,3,7,9,1,3,7,9,1,3).
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let d = digits("PESEL", value, 11)?;
        let sum = weighted(&d[..10], &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]);
        let check = (10 - sum % 10) % 10;
        if check != d[10] {
            return Err(id_error(
                "PESEL",
                value,
                format!("check digit is {} but should be {check}", d[10]),
            ));
        }
        birth_date_of(&d).map_err(|rule| id_error("PESEL", value, rule))?;
        Ok(Pesel(value.to_owned()))
    }

    /// The birth date encoded in the number.
    pub fn birth_date(&self) -> Date {
        let d: Vec<u32> = self.0.bytes().map(|b| u32::from(b - b'0')).collect();
        // The date was validated in `parse`; the fallback is never taken.
        birth_date_of(&d).unwrap_or(Date::MIN)
    }

    /// The sex encoded in the 10th digit.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[9] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }
}

fn birth_date_of(d: &[u32]) -> Result<Date, String> {
    let year_in_century = d[0] * 10 + d[1];
    let month_field = d[2] * 10 + d[3];
    let day = d[4] * 10 + d[5];
    let (century, month) = match month_field {
        81..=92 => (1800, month_field - 80),
        1..=12 => (1900, month_field),
        21..=32 => (2000, month_field - 20),
        41..=52 => (2100, month_field - 40),
        61..=72 => (2200, month_field - 60),
        _ => return Err(format!("month field {month_field:02} is not a month of any century")),
    };
    let year = (century + year_in_century) as i32;
    let month = Month::try_from(month as u8).map_err(|_| format!("month {month} is invalid"))?;
    Date::from_calendar_date(year, month, day as u8)
        .map_err(|_| format!("birth date {year:04}-{:02}-{day:02} does not exist", month as u8))
}

/// Polish tax identification number (10 digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Nip(String);
string_id!(Nip);

impl Nip {
    /// Parses and validates: 10 digits (dashes and spaces allowed and removed), check digit
    /// = weighted sum (6,5,7,2,3,4,5,6,7) mod 11, which must not be 10.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let compact: String = value.chars().filter(|c| *c != '-' && *c != ' ').collect();
        let d = digits("NIP", &compact, 10)?;
        let check = weighted(&d[..9], &[6, 5, 7, 2, 3, 4, 5, 6, 7]) % 11;
        if check == 10 {
            return Err(id_error("NIP", value, "weighted sum mod 11 is 10, which no NIP has"));
        }
        if check != d[9] {
            return Err(id_error(
                "NIP",
                value,
                format!("check digit is {} but should be {check}", d[9]),
            ));
        }
        Ok(Nip(compact))
    }
}

/// Polish statistical number of an entity (9 digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Regon9(String);
string_id!(Regon9);

impl Regon9 {
    /// Parses and validates: 9 digits, check digit = weighted sum (8,9,2,3,4,5,6,7) mod 11,
    /// with 10 counting as 0.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let d = digits("REGON-9", value, 9)?;
        let check = weighted(&d[..8], &[8, 9, 2, 3, 4, 5, 6, 7]) % 11 % 10;
        if check != d[8] {
            return Err(id_error(
                "REGON-9",
                value,
                format!("check digit is {} but should be {check}", d[8]),
            ));
        }
        Ok(Regon9(value.to_owned()))
    }
}

/// Polish statistical number of a local unit (14 digits: the entity's REGON-9 + 5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Regon14(String);
string_id!(Regon14);

impl Regon14 {
    /// Parses and validates: 14 digits, check digit = weighted sum
    /// (2,4,8,5,0,9,7,3,6,1,2,4,8) mod 11, with 10 counting as 0; the first nine digits must
    /// themselves be a valid REGON-9.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let d = digits("REGON-14", value, 14)?;
        let check = weighted(&d[..13], &[2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8]) % 11 % 10;
        if check != d[13] {
            return Err(id_error(
                "REGON-14",
                value,
                format!("check digit is {} but should be {check}", d[13]),
            ));
        }
        Regon9::parse(&value[..9]).map_err(|e| {
            id_error("REGON-14", value, format!("its first nine digits are not a valid REGON-9 ({})", e.rule))
        })?;
        Ok(Regon14(value.to_owned()))
    }

    /// The REGON-9 of the entity the unit belongs to.
    pub fn entity(&self) -> Regon9 {
        Regon9(self.0[..9].to_owned())
    }
}

/// Hungarian social security number (TAJ, 9 digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Taj(String);
string_id!(Taj);

impl Taj {
    /// Parses and validates: 9 digits (spaces and dashes allowed and removed); check digit
    /// = (3·(d1+d3+d5+d7) + 7·(d2+d4+d6+d8)) mod 10.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let compact: String = value.chars().filter(|c| *c != '-' && *c != ' ').collect();
        let d = digits("TAJ", &compact, 9)?;
        let check = (3 * (d[0] + d[2] + d[4] + d[6]) + 7 * (d[1] + d[3] + d[5] + d[7])) % 10;
        if check != d[8] {
            return Err(id_error(
                "TAJ",
                value,
                format!("check digit is {} but should be {check}", d[8]),
            ));
        }
        Ok(Taj(compact))
    }
}

/// A Hungarian health care provider (institution) identifier as the national e-health
/// platform (EESZT) uses it: 6 digits, e.g. `506097`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstitutionId(String);
string_id!(InstitutionId);

impl InstitutionId {
    /// Parses and validates: exactly 6 digits.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        digits("institution id", value, 6)?;
        Ok(InstitutionId(value.to_owned()))
    }
}

/// A unit (department, "szervezeti egység") of a Hungarian institution: 9 digits, e.g.
/// `001044299`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId(String);
string_id!(UnitId);

impl UnitId {
    /// Parses and validates: exactly 9 digits.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        digits("unit id", value, 9)?;
        Ok(UnitId(value.to_owned()))
    }
}

/// A Hungarian practitioner's stamp number ("orvosi pecsétszám"): 5 digits, e.g. `58012`.
///
/// The stamp carries the doctor's number in the basic register of health professionals
/// ("alapnyilvántartási szám"; 50/2015. (XI. 12.) EMMI rendelet az orvosi bélyegzőkről, 2. §
/// (3) b), and before it 20/1991. (XI. 5.) NM rendelet, 2. § (3)). Neither decree nor the
/// register's public documentation (enkk.hu, "Basic Register") gives a check digit rule for
/// that number, unlike the TAJ, so none is checked: the rule is 5 digits, not all zero.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StampNumber(String);
string_id!(StampNumber);

impl StampNumber {
    /// Parses and validates: exactly 5 digits, not `00000`.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let d = digits("stamp number", value, 5)?;
        if d.iter().all(|digit| *digit == 0) {
            return Err(id_error("stamp number", value, "must not be all zeros"));
        }
        Ok(StampNumber(value.to_owned()))
    }
}

/// An ISO/ITU object identifier in dotted form, e.g. `2.16.840.1.113883.3.4424.2.7.26`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(String);
string_id!(Oid);

impl Oid {
    /// Parses and validates: at least two arcs, decimal numbers without leading zeros, first
    /// arc 0, 1 or 2, second arc below 40 under 0 and 1.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let arcs: Vec<&str> = value.split('.').collect();
        if arcs.len() < 2 {
            return Err(id_error("OID", value, "needs at least two arcs separated by dots"));
        }
        let mut numbers = Vec::with_capacity(arcs.len());
        for (index, arc) in arcs.iter().enumerate() {
            if arc.is_empty() {
                return Err(id_error("OID", value, format!("arc {} is empty", index + 1)));
            }
            if !arc.bytes().all(|b| b.is_ascii_digit()) {
                return Err(id_error("OID", value, format!("arc '{arc}' is not a number")));
            }
            if arc.len() > 1 && arc.starts_with('0') {
                return Err(id_error("OID", value, format!("arc '{arc}' has a leading zero")));
            }
            let number: u128 = arc
                .parse()
                .map_err(|_| id_error("OID", value, format!("arc '{arc}' is too large")))?;
            numbers.push(number);
        }
        if numbers[0] > 2 {
            return Err(id_error("OID", value, "the first arc must be 0, 1 or 2"));
        }
        if numbers[0] < 2 && numbers[1] >= 40 {
            return Err(id_error("OID", value, "under arc 0 or 1 the second arc must be below 40"));
        }
        Ok(Oid(value.to_owned()))
    }

    /// A child OID: this one with one more arc.
    pub fn child(&self, arc: u64) -> Oid {
        Oid(format!("{}.{arc}", self.0))
    }

    /// True when `self` is `other` or lies below it.
    pub fn is_under(&self, other: &Oid) -> bool {
        self.0 == other.0 || self.0.starts_with(&format!("{}.", other.0))
    }
}

/// A medgate tenant (repository account) id: 16 digits, e.g. `0000000000005010`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);
string_id!(TenantId);

impl TenantId {
    /// Parses and validates: exactly 16 digits.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        digits("tenant id", value, 16)?;
        Ok(TenantId(value.to_owned()))
    }
}

/// The identifier kinds `medgate id check` knows, by their command-line name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    Pesel,
    Nip,
    Regon9,
    Regon14,
    Regon,
    Taj,
    Oid,
    Tenant,
}

impl IdKind {
    /// All command-line names.
    pub const NAMES: &'static [&'static str] =
        &["pesel", "nip", "regon", "regon9", "regon14", "taj", "oid", "tenant"];

    /// Parses a command-line name (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "pesel" => IdKind::Pesel,
            "nip" => IdKind::Nip,
            "regon9" | "regon-9" => IdKind::Regon9,
            "regon14" | "regon-14" => IdKind::Regon14,
            "regon" => IdKind::Regon,
            "taj" => IdKind::Taj,
            "oid" => IdKind::Oid,
            "tenant" | "tenant-id" => IdKind::Tenant,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pesel_valid_numbers_give_birth_date_and_sex() -> Result<(), IdError> {
        let p = Pesel::parse("44051401359")?;
        assert_eq!(p.birth_date(), Date::from_calendar_date(1944, Month::May, 14).map_err(|_| id_error("t", "", ""))?);
        assert_eq!(p.sex(), Sex::Male);
        // 2000s: month field + 20.
        let p = Pesel::parse("02270803624")?;
        assert_eq!(p.birth_date().year(), 2002);
        assert_eq!(p.birth_date().month(), Month::July);
        assert_eq!(p.sex(), Sex::Female);
        Ok(())
    }

    #[test]
    fn pesel_errors_name_the_rule() {
        let e = Pesel::parse("44051401358").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("check digit is 8 but should be 9"), "{e}");
        let e = Pesel::parse("4405140135").err().map(|e| e.rule).unwrap_or_default();
        assert!(e.contains("exactly 11 digits"), "{e}");
        let e = Pesel::parse("4405140135X").err().map(|e| e.rule).unwrap_or_default();
        assert!(e.contains("not all digits"), "{e}");
        // Month 13 is not a month in any century: 44131401350 has a correct check digit.
        let value = with_pesel_check("4413140135");
        let e = Pesel::parse(&value).err().map(|e| e.rule).unwrap_or_default();
        assert!(e.contains("month field 13"), "{e}");
        // 30 February does not exist.
        let value = with_pesel_check("4402300135");
        let e = Pesel::parse(&value).err().map(|e| e.rule).unwrap_or_default();
        assert!(e.contains("1944-02-30 does not exist"), "{e}");
    }

    fn with_pesel_check(first_ten: &str) -> String {
        let d: Vec<u32> = first_ten.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum = weighted(&d, &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]);
        format!("{first_ten}{}", (10 - sum % 10) % 10)
    }

    #[test]
    fn nip_regon_and_taj_checksums() {
        assert!(Nip::parse("5260250274").is_ok());
        assert!(Nip::parse("526-025-02-74").is_ok());
        assert!(Nip::parse("5260250275").is_err());
        assert!(Regon9::parse("123456785").is_ok());
        assert!(Regon9::parse("123456786").is_err());
        assert!(Regon14::parse("12345678512347").is_ok());
        assert!(Regon14::parse("12345678512348").is_err());
        assert!(Taj::parse("111111110").is_ok());
        assert!(Taj::parse("123456788").is_ok());
        assert!(Taj::parse("123456789").is_err());
    }

    #[test]
    fn oids_and_tenant_ids() {
        assert!(Oid::parse("2.16.840.1.113883.3.4424.2.7.26").is_ok());
        assert!(Oid::parse("2.16.840.01").is_err());
        assert!(Oid::parse("3.1").is_err());
        assert!(Oid::parse("1.40").is_err());
        assert!(Oid::parse("2").is_err());
        assert!(Oid::parse("2..1").is_err());
        let root = Oid::parse("2.16.840.1.113883.3.4424").map_err(|e| e.to_string());
        if let Ok(root) = root {
            assert!(root.child(7).is_under(&root));
            assert!(!Oid::parse("2.16.8401").is_ok_and(|o| o.is_under(&root)));
        }
        assert!(TenantId::parse("0000000000005010").is_ok());
        assert!(TenantId::parse("000000000000501").is_err());
    }

    #[test]
    fn hungarian_institution_unit_and_stamp_numbers() {
        assert!(InstitutionId::parse("506097").is_ok());
        let e = InstitutionId::parse("50609").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("institution id") && e.contains("exactly 6 digits"), "{e}");
        assert!(UnitId::parse("001044299").is_ok());
        let e = UnitId::parse("00104429x").err().map(|e| e.rule).unwrap_or_default();
        assert!(e.contains("exactly 9 digits") && e.contains("not all digits"), "{e}");
        assert!(StampNumber::parse("58012").is_ok());
        assert!(StampNumber::parse("580121").is_err());
        let e = StampNumber::parse("00000").err().map(|e| e.rule).unwrap_or_default();
        assert!(e.contains("all zeros"), "{e}");
    }
}
