//! The conditions of the FLK catalogues (`USL_TEST`) and their value expressions (`VAL_EL`),
//! parsed into a small language: element presence (`Тег X присутствует`, `X отсутствует`),
//! comparisons with a value, a set or another element (`X=v`, `X<>{a, b}`, `X<=Y`), ranges
//! (`C00.0<=DS1<D10`), the reporting period (`с отчетного периода "ноябрь 2019"`), joined by
//! `и`/`или` (`and`/`or`, `in (…)` of the regional catalogue) and parentheses. A text outside
//! the language is refused with the part not understood, so the engine reports the rule
//! instead of skipping it silently.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::ops::Deref;

use smallvec::SmallVec;

use crate::flk::scope::Lookup;
use crate::names::Period;

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
        let text = normalise(text);
        if text.is_empty() {
            return Ok(Condition::Always);
        }
        let tokens = tokenize(&text)?;
        let mut parser = Parser {
            tokens,
            at: 0,
            names,
        };
        let condition = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err(format!("unexpected text after the condition in {text:?}"));
        }
        Ok(condition)
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

/// One spelling for the catalogues' variants: `&lt;` already decoded, `in (…)` as a set,
/// Cyrillic letters that look Latin inside codes left alone.
fn normalise(text: &str) -> String {
    let mut text = text.trim().replace(['\n', '\r', '\t'], " ");
    while text.contains("  ") {
        text = text.replace("  ", " ");
    }
    for (from, to) in [
        (" not in (", "<>{"),
        (" NOT IN (", "<>{"),
        (" in (", "={"),
        (" IN (", "={"),
    ] {
        while let Some(at) = text.find(from) {
            let close = text[at..].find(')').map(|offset| at + offset);
            match close {
                Some(close) => {
                    let inside = text[at + from.len()..close].to_owned();
                    text = format!(
                        "{}{}{}}}{}",
                        &text[..at],
                        to,
                        inside.trim(),
                        &text[close + 1..]
                    );
                }
                None => break,
            }
        }
    }
    text.replace("!=", "<>")
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Atom(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut atom = String::new();
    let flush = |atom: &mut String, tokens: &mut Vec<Token>| {
        let trimmed = atom.trim();
        if !trimmed.is_empty() {
            tokens.push(Token::Atom(trimmed.to_owned()));
        }
        atom.clear();
    };
    let mut braces = 0;
    let mut quoted = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && braces == 0 {
            if c == '(' || c == ')' {
                flush(&mut atom, &mut tokens);
                tokens.push(if c == '(' { Token::Open } else { Token::Close });
                i += 1;
                continue;
            }
            let rest: String = chars[i..].iter().collect();
            let mut matched = false;
            for (word, token) in [
                (" и ", Token::And),
                (" или ", Token::Or),
                (" and ", Token::And),
                (" or ", Token::Or),
                (" AND ", Token::And),
                (" OR ", Token::Or),
            ] {
                if rest.starts_with(word) {
                    flush(&mut atom, &mut tokens);
                    tokens.push(token);
                    i += word.chars().count() - 1;
                    matched = true;
                    break;
                }
            }
            if matched {
                continue;
            }
        }
        if c == '{' {
            braces += 1;
        } else if c == '}' {
            braces -= 1;
        }
        atom.push(c);
        i += 1;
    }
    flush(&mut atom, &mut tokens);
    if braces != 0 || quoted {
        return Err(format!("unbalanced braces or quotes in {text:?}"));
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    names: &'a dyn Names,
}

impl Parser<'_> {
    fn or(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.and()?];
        while self.tokens.get(self.at) == Some(&Token::Or) {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.primary()?];
        while self.tokens.get(self.at) == Some(&Token::And) {
            self.at += 1;
            parts.push(self.primary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        })
    }

    fn primary(&mut self) -> Result<Condition, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or()?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err("a parenthesis is not closed".to_owned());
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Atom(text)) => {
                self.at += 1;
                atom(&text, self.names)
            }
            other => Err(format!("a condition was expected, found {other:?}")),
        }
    }
}

const OPERATORS: [(&str, Operator); 6] = [
    ("<>", Operator::NotEqual),
    ("<=", Operator::LessOrEqual),
    (">=", Operator::GreaterOrEqual),
    ("=", Operator::Equal),
    ("<", Operator::Less),
    (">", Operator::Greater),
];

fn atom(text: &str, names: &dyn Names) -> Result<Condition, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    // `Тег X присутствует`, `X присутствует`, `тег X отсутствует`.
    if let Some(last) = words.last() {
        let subject: Vec<&str> = words[..words.len() - 1]
            .iter()
            .copied()
            .filter(|w| !w.eq_ignore_ascii_case("тег") && *w != "Тег" && *w != "тег")
            .collect();
        if subject.len() == 1 && is_name(subject[0]) {
            match *last {
                "присутствует" => return Ok(Condition::Present(Name::new(subject[0]))),
                "отсутствует" => return Ok(Condition::Absent(Name::new(subject[0]))),
                _ => {}
            }
        }
    }
    // `отсутствует SL_KOEF`: the word first.
    if words.len() == 2 && is_name(words[1]) {
        match words[0] {
            "присутствует" => return Ok(Condition::Present(Name::new(words[1]))),
            "отсутствует" => return Ok(Condition::Absent(Name::new(words[1]))),
            _ => {}
        }
    }
    if let Some(period) = text.strip_prefix("с отчетного периода ") {
        return Ok(Condition::PeriodFrom(period_in_words(period)?));
    }
    if let Some(rest) = text.strip_prefix("до отчетного периода ") {
        let period = rest.strip_suffix(" включительно").unwrap_or(rest);
        return Ok(Condition::PeriodUntil(period_in_words(period)?));
    }
    let (parts, operators) = split_operators(text);
    match operators.len() {
        1 => {
            let (left, right) = (parts[0].trim(), parts[1].trim());
            let operator = operators[0];
            if is_name(left) && (names.is_element(left) || is_pseudo(left)) {
                return Ok(Condition::Compare {
                    field: Name::new(left),
                    operator,
                    operand: operand(right, names)?,
                });
            }
            if is_name(right) && names.is_element(right) {
                return Ok(Condition::Compare {
                    field: Name::new(right),
                    operator: mirror(operator),
                    operand: operand(left, names)?,
                });
            }
            Err(format!("no element named in {text:?}"))
        }
        2 => {
            let field = parts[1].trim();
            let ascending = |op: Operator| matches!(op, Operator::Less | Operator::LessOrEqual);
            if !is_name(field)
                || !names.is_element(field)
                || !ascending(operators[0])
                || !ascending(operators[1])
            {
                return Err(format!("not a range over an element: {text:?}"));
            }
            Ok(Condition::Range {
                low: operand(parts[0].trim(), names)?,
                low_inclusive: operators[0] == Operator::LessOrEqual,
                field: Name::new(field),
                high: operand(parts[2].trim(), names)?,
                high_inclusive: operators[1] == Operator::LessOrEqual,
            })
        }
        _ => Err(format!("not understood: {text:?}")),
    }
}

/// `Pi`, `Pp`, `Ni`, `Np`: the sender's and receiver's letter and code from the file name;
/// `YY`, `MM`: its period.
fn is_pseudo(name: &str) -> bool {
    matches!(name, "Pi" | "Pp" | "Ni" | "Np" | "YY" | "MM")
}

fn mirror(operator: Operator) -> Operator {
    match operator {
        Operator::Less => Operator::Greater,
        Operator::LessOrEqual => Operator::GreaterOrEqual,
        Operator::Greater => Operator::Less,
        Operator::GreaterOrEqual => Operator::LessOrEqual,
        other => other,
    }
}

fn operand(text: &str, names: &dyn Names) -> Result<Operand, String> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let set: Vec<Value> = inner
            .split(',')
            .map(|v| v.trim().trim_matches('\''))
            .filter(|v| !v.is_empty())
            .map(Value::new)
            .collect();
        if set.is_empty() || set.iter().any(|v| v.contains(' ')) {
            return Err(format!("not a set of values: {text:?}"));
        }
        return Ok(Operand::Set(set));
    }
    if text.is_empty() || text.contains(' ') || text.contains('(') {
        return Err(format!("not a value: {text:?}"));
    }
    if is_name(text) && (names.is_element(text) || is_pseudo(text)) {
        return Ok(Operand::Field(Name::new(text)));
    }
    Ok(Operand::Literal(Value::new(text.trim_matches('\''))))
}

/// Splits `a<=b<c` into its operands and operators.
fn split_operators(text: &str) -> (Vec<String>, Vec<Operator>) {
    let mut parts = vec![String::new()];
    let mut operators = Vec::new();
    let mut rest = text;
    let mut braces = 0;
    'outer: while let Some(c) = rest.chars().next() {
        if c == '{' {
            braces += 1;
        } else if c == '}' {
            braces -= 1;
        }
        if braces == 0 {
            for (symbol, operator) in OPERATORS {
                if let Some(after) = rest.strip_prefix(symbol) {
                    operators.push(operator);
                    parts.push(String::new());
                    rest = after;
                    continue 'outer;
                }
            }
        }
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    (parts, operators)
}

/// An element name as the catalogues write it: `DS1`, `SL.USL`, `ZL_LIST/ZAP/Z_SL/P_OTK`.
pub fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/'))
}

fn period_in_words(text: &str) -> Result<Period, String> {
    let inner = text.trim().trim_matches('"');
    let (month, year) = inner
        .split_once(' ')
        .ok_or_else(|| format!("not a month and year: {text:?}"))?;
    const MONTHS: [&str; 12] = [
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
    let index = MONTHS
        .iter()
        .position(|m| *m == month.to_lowercase())
        .ok_or_else(|| format!("unknown month {month:?}"))?;
    let year: i32 = year
        .trim()
        .parse()
        .map_err(|_| format!("not a year: {year:?}"))?;
    Period::new(year, index as u8 + 1).map_err(|error| error.to_string())
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
