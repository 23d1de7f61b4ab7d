//! Parsing the conditions' text into [`Condition`]: one spelling for the catalogues'
//! variants, tokens, `или` over `и` over atoms, each atom a presence, a period or a
//! comparison of an element with a value, a set or another element.

use super::{Condition, Name, Names, Operand, Operator, Value};
use crate::names::{Period, MONTH_NAMES};

/// Parses a `USL_TEST` text; the empty text is `Always`.
pub(super) fn parse(text: &str, names: &dyn Names) -> Result<Condition, String> {
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
        self.joined(&Token::Or, Self::and, Condition::Or)
    }

    fn and(&mut self) -> Result<Condition, String> {
        self.joined(&Token::And, Self::primary, Condition::And)
    }

    /// `part (joiner part)*`: the one part alone, or the parts joined.
    fn joined(
        &mut self,
        joiner: &Token,
        part: fn(&mut Self) -> Result<Condition, String>,
        join: fn(Vec<Condition>) -> Condition,
    ) -> Result<Condition, String> {
        let mut parts = vec![part(self)?];
        while self.tokens.get(self.at) == Some(joiner) {
            self.at += 1;
            parts.push(part(self)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            join(parts)
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
    let index = MONTH_NAMES
        .iter()
        .position(|m| *m == month.to_lowercase())
        .ok_or_else(|| format!("unknown month {month:?}"))?;
    let year: i32 = year
        .trim()
        .parse()
        .map_err(|_| format!("not a year: {year:?}"))?;
    Period::new(year, index as u8 + 1).map_err(|error| error.to_string())
}
