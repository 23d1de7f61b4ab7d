//! The conditions of the FLK catalogues (`USL_TEST`) and their value expressions (`VAL_EL`),
//! parsed into a small language: element presence (`Тег X присутствует`, `X отсутствует`),
//! comparisons with a value, a set or another element (`X=v`, `X<>{a, b}`, `X<=Y`), ranges
//! (`C00.0<=DS1<D10`), the reporting period (`с отчетного периода "ноябрь 2019"`), joined by
//! `и`/`или` (`and`/`or`, `in (…)` of the regional catalogue) and parentheses. A text outside
//! the language is refused with the part not understood, so the engine reports the rule
//! instead of skipping it silently. The language's types and their evaluation are here,
//! its parsing in `parse.rs`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::ops::Deref;

use smallvec::SmallVec;

use crate::flk::scope::Lookup;
use crate::names::Period;

mod parse;

pub use parse::is_name;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Always,
    Present(Name),
    Absent(Name),
    Compare {
        field: Name,
        operator: Operator,
        operand: Operand,
    },
    /// `low <op> field <op> high`.
    Range {
        low: Operand,
        low_inclusive: bool,
        field: Name,
        high: Operand,
        high_inclusive: bool,
    },
    /// The reporting period is this month or later.
    PeriodFrom(Period),
    /// The reporting period is this month or earlier.
    PeriodUntil(Period),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// The right side of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Literal(Value),
    Set(Vec<Value>),
    Field(Name),
}

/// An element name of a condition, with how it is looked up decided when the condition is
/// parsed; it reads as the text the catalogue writes.
#[derive(Clone, PartialEq, Eq)]
pub struct Name {
    text: String,
    lookup: Box<Lookup>,
}

impl Name {
    pub fn new(text: &str) -> Name {
        Name {
            text: text.to_owned(),
            lookup: Box::new(Lookup::new(text)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn lookup(&self) -> &Lookup {
        &self.lookup
    }
}

impl Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

/// A value the catalogue writes, with the number it reads as (see [`compare`]) found when
/// the condition is parsed; it reads as its text.
#[derive(Clone, PartialEq)]
pub struct Value {
    text: String,
    number: Option<f64>,
}

impl Value {
    pub fn new(text: &str) -> Value {
        Value {
            text: text.to_owned(),
            number: Side::of(text).number,
        }
    }

    fn side(&self) -> Side<'_> {
        Side {
            text: crate::xml::trim(&self.text),
            number: self.number,
        }
    }
}

impl Deref for Value {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

/// The values a name designates: mostly one or none, kept inline.
pub type Found<'a> = SmallVec<[Cow<'a, str>; 2]>;

/// What a condition is evaluated against: the values of an element named as the catalogue
/// names it, and the reporting period.
pub trait Values {
    /// The values the name designates, borrowed from the record where they are in it (a
    /// lookup runs for every condition of every element: no copies, no allocation).
    fn values(&self, name: &str) -> Found<'_>;
    /// The same for a name of a parsed condition, which may use how it was resolved then.
    fn values_of(&self, name: &Name) -> Found<'_> {
        self.values(name)
    }
    fn period(&self) -> Period;
}

/// Names are told apart from literal values by the element names the catalogue knows.
pub trait Names {
    fn is_element(&self, name: &str) -> bool;
}

impl Condition {
    /// Parses a `USL_TEST` text; the empty text is `Always`.
    pub fn parse(text: &str, names: &dyn Names) -> Result<Condition, String> {
        parse::parse(text, names)
    }

    /// Whether the condition holds; one that cannot be decided (it names an element the
    /// record does not have as the other side of a comparison) does not.
    pub fn holds(&self, values: &dyn Values) -> bool {
        self.evaluate(values) == Some(true)
    }

    /// Whether the condition is broken: a value check that cannot be decided is not.
    pub fn is_broken(&self, values: &dyn Values) -> bool {
        self.evaluate(values) == Some(false)
    }

    /// Three-valued: `None` when a compared element is missing from the record.
    pub fn evaluate(&self, values: &dyn Values) -> Option<bool> {
        match self {
            Condition::Always => Some(true),
            Condition::Present(name) => Some(values.values_of(name).iter().any(|v| !v.is_empty())),
            Condition::Absent(name) => Some(values.values_of(name).iter().all(|v| v.is_empty())),
            Condition::Compare {
                field,
                operator,
                operand,
            } => {
                let found = values.values_of(field);
                if found.is_empty() {
                    // `VPOLIS<>3` holds when VPOLIS is absent; `SANK.S_SUM<>0` speaks of a
                    // SANK and does not hold without one; no other comparison holds.
                    return Some(*operator == Operator::NotEqual && !field.lookup().is_nested());
                }
                let right = operand_values(operand, values)?;
                Some(match operator {
                    // Not equal to every value of the right side, for every value present.
                    Operator::NotEqual => found.iter().all(|left| {
                        let left = Side::of(left);
                        right.all(|r| order(left, r) != Ordering::Equal)
                    }),
                    _ => found.iter().any(|left| {
                        let left = Side::of(left);
                        right.any(|r| operator.accepts(order(left, r)))
                    }),
                })
            }
            Condition::Range {
                low,
                low_inclusive,
                field,
                high,
                high_inclusive,
            } => {
                let lows = operand_values(low, values)?;
                let highs = operand_values(high, values)?;
                Some(values.values_of(field).iter().any(|value| {
                    let value = Side::of(value);
                    lows.any(|low| {
                        let order = order(low, value);
                        order == Ordering::Less || (*low_inclusive && order == Ordering::Equal)
                    }) && highs.any(|high| {
                        let order = order(value, high);
                        order == Ordering::Less || (*high_inclusive && order == Ordering::Equal)
                    })
                }))
            }
            Condition::PeriodFrom(period) => Some(values.period() >= *period),
            Condition::PeriodUntil(period) => Some(values.period() <= *period),
            // A false part makes an `and` false, a true one an `or` true, whatever the
            // others; otherwise a missing element leaves it unknown.
            Condition::And(parts) => {
                let mut all = true;
                for part in parts {
                    match part.evaluate(values) {
                        Some(false) => return Some(false),
                        Some(true) => {}
                        None => all = false,
                    }
                }
                all.then_some(true)
            }
            Condition::Or(parts) => {
                let mut all = true;
                for part in parts {
                    match part.evaluate(values) {
                        Some(true) => return Some(true),
                        Some(false) => {}
                        None => all = false,
                    }
                }
                all.then_some(false)
            }
        }
    }
}

impl Operator {
    fn accepts(self, order: Ordering) -> bool {
        match self {
            Operator::Equal => order == Ordering::Equal,
            Operator::NotEqual => order != Ordering::Equal,
            Operator::Less => order == Ordering::Less,
            Operator::LessOrEqual => order != Ordering::Greater,
            Operator::Greater => order == Ordering::Greater,
            Operator::GreaterOrEqual => order != Ordering::Less,
        }
    }
}

/// The right side's values: the catalogue's own, or the record's.
enum Right<'v> {
    Written(&'v [Value]),
    Found(Found<'v>),
}

impl Right<'_> {
    fn any(&self, mut test: impl FnMut(Side<'_>) -> bool) -> bool {
        match self {
            Right::Written(values) => values.iter().any(|value| test(value.side())),
            Right::Found(values) => values.iter().any(|value| test(Side::of(value))),
        }
    }

    fn all(&self, mut test: impl FnMut(Side<'_>) -> bool) -> bool {
        match self {
            Right::Written(values) => values.iter().all(|value| test(value.side())),
            Right::Found(values) => values.iter().all(|value| test(Side::of(value))),
        }
    }
}

fn operand_values<'v>(operand: &'v Operand, values: &'v dyn Values) -> Option<Right<'v>> {
    match operand {
        Operand::Literal(value) => Some(Right::Written(std::slice::from_ref(value))),
        Operand::Set(set) => Some(Right::Written(set)),
        Operand::Field(name) => Some(values.values_of(name))
            .filter(|found| !found.is_empty())
            .map(Right::Found),
    }
}

/// One side of a comparison: its trimmed text, and the number it reads as when it may be
/// one (see [`compare`]), parsed once for all the values it is compared with.
#[derive(Clone, Copy, Debug)]
struct Side<'t> {
    text: &'t str,
    number: Option<f64>,
}

impl Side<'_> {
    fn of(text: &str) -> Side<'_> {
        let text = crate::xml::trim(text);
        let number = if may_be_number(text) {
            text.parse::<f64>().ok()
        } else {
            None
        };
        Side { text, number }
    }
}

/// [`compare`] of two sides read before.
fn order(left: Side<'_>, right: Side<'_>) -> Ordering {
    if left.text == right.text {
        return Ordering::Equal;
    }
    match (left.number, right.number) {
        (Some(l), Some(r)) => l.partial_cmp(&r).unwrap_or(Ordering::Equal),
        _ => left.text.cmp(right.text),
    }
}

/// Numbers compare as numbers, everything else (codes such as `C18.1`, ISO dates) as text.
pub fn compare(left: &str, right: &str) -> Ordering {
    let (left, right) = (crate::xml::trim(left), crate::xml::trim(right));
    // The same text is the same number too; text that cannot start a number (most codes
    // start with a letter) needs no parsing.
    if left == right {
        return Ordering::Equal;
    }
    if !may_be_number(left) || !may_be_number(right) {
        return left.cmp(right);
    }
    match (left.parse::<f64>(), right.parse::<f64>()) {
        (Ok(l), Ok(r)) => l.partial_cmp(&r).unwrap_or(Ordering::Equal),
        _ => left.cmp(right),
    }
}

/// Whether `text` may parse as a number: it starts with a digit, a sign or a point, or
/// is one of the words Rust's number parser takes (`inf`, `infinity`, `nan`).
fn may_be_number(text: &str) -> bool {
    matches!(
        text.as_bytes().first(),
        Some(b'0'..=b'9' | b'+' | b'-' | b'.' | b'i' | b'I' | b'n' | b'N')
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Known;
    impl Names for Known {
        fn is_element(&self, name: &str) -> bool {
            let last = name.rsplit(['/', '.']).next().unwrap_or(name);
            [
                "DS1", "DS2", "USL_OK", "VIDPOM", "NOVOR", "VPOLIS", "SL", "USL", "P_OTK",
                "DATE_IN", "DATE_OUT", "SUMV", "SANK_IT", "FOR_POM", "S_SUM",
            ]
            .iter()
            .any(|known| known.eq_ignore_ascii_case(last))
        }
    }

    struct Record(HashMap<&'static str, Vec<&'static str>>);
    impl Values for Record {
        fn values(&self, name: &str) -> Found<'_> {
            let key = name
                .rsplit(['/', '.'])
                .next()
                .unwrap_or(name)
                .to_ascii_uppercase();
            self.0
                .iter()
                .find(|(k, _)| **k == key)
                .map(|(_, v)| v.iter().map(|s| Cow::Borrowed(*s)).collect())
                .unwrap_or_default()
        }
        fn period(&self) -> Period {
            Period::new(2025, 1).unwrap()
        }
    }

    fn holds(text: &str, fields: &[(&'static str, &'static str)]) -> bool {
        let mut map: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        for (k, v) in fields {
            map.entry(k).or_default().push(v);
        }
        Condition::parse(text, &Known).unwrap().holds(&Record(map))
    }

    #[test]
    fn presence_and_comparisons() {
        assert!(!holds("Тег SL.USL присутствует", &[("USL", "")]));
        assert!(holds("Тег SL.USL присутствует", &[("USL", "x")]));
        assert!(holds("ENP отсутствует", &[]));
        assert!(holds("VPOLIS<>3", &[("VPOLIS", "1")]));
        assert!(!holds("VPOLIS<>3", &[("VPOLIS", "3")]));
        assert!(holds("VIDPOM<>{32,33}", &[("VIDPOM", "31")]));
        assert!(!holds("VIDPOM<>{32,33}", &[("VIDPOM", "33")]));
        assert!(holds("USL_OK = {1, 2}", &[("USL_OK", "2")]));
        assert!(holds(
            "NOVOR=0 и VPOLIS=3",
            &[("NOVOR", "0"), ("VPOLIS", "3")]
        ));
        assert!(!holds(
            "NOVOR=0 и VPOLIS=3",
            &[("NOVOR", "0"), ("VPOLIS", "1")]
        ));
        assert!(holds(
            "DATE_IN<=DATE_OUT",
            &[("DATE_IN", "2025-01-02"), ("DATE_OUT", "2025-01-02")]
        ));
        assert!(!holds(
            "DATE_IN<=DATE_OUT",
            &[("DATE_IN", "2025-01-03"), ("DATE_OUT", "2025-01-02")]
        ));
        assert!(holds(
            "0<SANK_IT<SUMV",
            &[("SANK_IT", "10"), ("SUMV", "100.50")]
        ));
        // A comparison with an element the record lacks is undecided: no condition, no error.
        let undecided = Condition::parse("DATE_IN<=DATE_OUT", &Known).unwrap();
        let record = Record([("DATE_IN", vec!["2025-01-03"])].into_iter().collect());
        assert_eq!(undecided.evaluate(&record), None);
        assert!(!undecided.holds(&record) && !undecided.is_broken(&record));
        assert!(!holds("SANK.S_SUM<>0", &[]));
    }

    #[test]
    fn diagnosis_ranges_and_parentheses() {
        let oncology = "C00.0<=DS1<D10 или (DS1=D70 и (C00.0<=DS2<C81 или DS2=C97))";
        assert!(holds(oncology, &[("DS1", "C18.1")]));
        assert!(!holds(oncology, &[("DS1", "I10")]));
        assert!(holds(oncology, &[("DS1", "D70"), ("DS2", "C50.1")]));
        assert!(!holds(oncology, &[("DS1", "D70"), ("DS2", "C81.0")]));
        assert!(holds("DS1<C00 или DS1>=D48", &[("DS1", "A09")]));
    }

    #[test]
    fn regional_spelling_and_periods() {
        assert!(holds(
            "usl_ok = 1 and for_pom in ( 2,3 )",
            &[("USL_OK", "1"), ("FOR_POM", "3")]
        ));
        assert!(!holds(
            "usl_ok = 1 and for_pom in ( 2,3 )",
            &[("USL_OK", "1"), ("FOR_POM", "1")]
        ));
        assert!(holds("с отчетного периода \"ноябрь 2019\"", &[]));
        assert!(!holds(
            "до отчетного периода \"октябрь 2019\" включительно",
            &[]
        ));
    }

    /// Sides read once (the catalogue's values when parsed) order as `compare` orders the texts.
    #[test]
    fn sides_read_once_order_as_compare() {
        let texts = [
            "",
            " ",
            "0",
            "00",
            "0.0",
            " 1 ",
            "1",
            "1.00",
            "-1",
            "+1",
            "10",
            "9.5",
            ".5",
            "1e3",
            "inf",
            "-inf",
            "NaN",
            "nan",
            "i",
            "N",
            "C18.1",
            "C18",
            "D10",
            "2025-01-02",
            "2025-01-10",
            "abc",
            "ABC",
            "1a",
            "Иванов",
        ];
        for left in texts {
            for right in texts {
                let expected = compare(left, right);
                assert_eq!(
                    order(Side::of(left), Side::of(right)),
                    expected,
                    "{left:?} {right:?}"
                );
                assert_eq!(
                    order(Side::of(left), Value::new(right).side()),
                    expected,
                    "{left:?} {right:?}"
                );
                assert_eq!(
                    order(Value::new(left).side(), Side::of(right)),
                    expected,
                    "{left:?} {right:?}"
                );
            }
        }
    }

    #[test]
    fn parsed_names_and_values_read_as_written() {
        let condition = Condition::parse("SL.USL присутствует и VIDPOM<>{32, 33}", &Known).unwrap();
        let Condition::And(parts) = condition else {
            panic!("{condition:?}")
        };
        assert!(matches!(&parts[0], Condition::Present(name) if name.as_str() == "SL.USL"));
        assert!(
            matches!(&parts[1], Condition::Compare { field, operand: Operand::Set(set), .. }
            if &**field == "VIDPOM" && set.iter().map(|v| &**v).eq(["32", "33"]))
        );
        assert_eq!(format!("{:?}", parts[0]), "Present(\"SL.USL\")");
    }

    #[test]
    fn what_is_not_understood_is_said() {
        for text in [
            "DS1_T=0 и возраст пациента на DATE_Z_1 больше или равен 18 лет",
            "USL_TIP<>{3, 4} во всех элементах ONK_USL, входящих в ONK_SL",
            "(Pi=M и Pp=S) или (Pi=S и Pp=T); Pi и Pp определяются по полю FILENAME",
        ] {
            assert!(Condition::parse(text, &Known).is_err(), "{text}");
        }
    }
}
