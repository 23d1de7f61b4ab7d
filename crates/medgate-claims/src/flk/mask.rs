//! The value masks of the federal FLK catalogue (`MASK_VAL`): `9` a digit, `X`/`Х` (Latin or
//! Cyrillic) a character that may be left out, `A` a letter, `ГГГГ-ММ-ДД` a date, anything
//! else itself. A mask of digits only (`ХХХХХХХХХХХХХХ9.99`) is a decimal number: as many
//! integer digits as its `9`s up to its `9`s and `X`s, and at most as many decimals.

/// A compiled mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mask {
    /// `ГГГГ-ММ-ДД`: a calendar date.
    Date,
    /// A number: integer digits between the bounds, at most `decimals` decimals.
    Number {
        min_integer: usize,
        max_integer: usize,
        decimals: usize,
    },
    /// Character by character.
    Pattern(Vec<Token>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    Digit,
    Letter,
    Optional,
    Literal(char),
}

impl Mask {
    /// Compiles a mask; `None` when the text is not a mask but a sentence (the catalogue
    /// writes some conditions there in words).
    pub fn parse(mask: &str) -> Option<Mask> {
        let mask = mask.trim();
        if mask.is_empty() || mask.contains(' ') && mask.split(' ').count() > 2 {
            return None;
        }
        if mask == "ГГГГ-ММ-ДД" {
            return Some(Mask::Date);
        }
        let is_optional = |c: char| c == 'X' || c == 'Х';
        if mask.chars().all(|c| c == '9' || is_optional(c) || c == '.')
            && mask.matches('.').count() <= 1
        {
            let (integer, fraction) = mask.split_once('.').unwrap_or((mask, ""));
            let required = integer.chars().filter(|c| *c == '9').count();
            if fraction.chars().any(is_optional)
                || integer
                    .chars()
                    .skip_while(|c| is_optional(*c))
                    .any(is_optional)
            {
                // Optional characters after the first digit: a code, not a number.
                return Some(Mask::Pattern(tokens(mask)));
            }
            return Some(Mask::Number {
                min_integer: required.max(1),
                max_integer: integer.chars().count(),
                decimals: fraction.chars().count(),
            });
        }
        if mask
            .chars()
            .any(|c| c.is_alphabetic() && !matches!(c, 'A' | 'X' | 'Х'))
        {
            return None;
        }
        Some(Mask::Pattern(tokens(mask)))
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Mask::Date => parse_date(value).is_some(),
            Mask::Number {
                min_integer,
                max_integer,
                decimals,
            } => {
                let (integer, fraction) = match value.split_once('.') {
                    Some((integer, fraction)) => {
                        if fraction.is_empty() || *decimals == 0 {
                            return false;
                        }
                        (integer, fraction)
                    }
                    None => (value, ""),
                };
                integer.len() >= *min_integer
                    && integer.len() <= *max_integer
                    && fraction.len() <= *decimals
                    && integer.bytes().all(|b| b.is_ascii_digit())
                    && fraction.bytes().all(|b| b.is_ascii_digit())
            }
            Mask::Pattern(tokens) => {
                let chars: Vec<char> = value.chars().collect();
                match_tokens(tokens, &chars)
            }
        }
    }
}

fn tokens(mask: &str) -> Vec<Token> {
    mask.chars()
        .map(|c| match c {
            '9' => Token::Digit,
            'A' => Token::Letter,
            'X' | 'Х' => Token::Optional,
            other => Token::Literal(other),
        })
        .collect()
}

/// Backtracking match; a literal `.` followed only by optional characters may be left out
/// with them (`A99.ХX` takes `I10` as well as `C18.1`).
fn match_tokens(tokens: &[Token], value: &[char]) -> bool {
    match tokens.first() {
        None => value.is_empty(),
        Some(Token::Digit) => {
            value.first().is_some_and(|c| c.is_ascii_digit())
                && match_tokens(&tokens[1..], &value[1..])
        }
        Some(Token::Letter) => {
            value.first().is_some_and(|c| c.is_alphabetic())
                && match_tokens(&tokens[1..], &value[1..])
        }
        Some(Token::Optional) => {
            (value.first().is_some_and(|c| c.is_alphanumeric())
                && match_tokens(&tokens[1..], &value[1..]))
                || match_tokens(&tokens[1..], value)
        }
        Some(Token::Literal(literal)) => {
            let rest_optional = tokens[1..].iter().all(|token| *token == Token::Optional);
            // A dot before optional characters is written only with one of them after it.
            let dot_then_optional = *literal == '.' && rest_optional;
            (value.first() == Some(literal)
                && (!dot_then_optional || value.len() > 1)
                && match_tokens(&tokens[1..], &value[1..]))
                || (dot_then_optional && value.is_empty())
        }
    }
}

/// `YYYY-MM-DD`, a real calendar day.
pub fn parse_date(value: &str) -> Option<time::Date> {
    let bytes = value.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year: i32 = value[..4].parse().ok()?;
    let month: u8 = value[5..7].parse().ok()?;
    let day: u8 = value[8..].parse().ok()?;
    time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn mask(text: &str) -> Mask {
        Mask::parse(text).unwrap()
    }

    #[test]
    fn dates() {
        assert!(mask("ГГГГ-ММ-ДД").matches("2025-01-31"));
        assert!(!mask("ГГГГ-ММ-ДД").matches("2025-02-30"));
        assert!(!mask("ГГГГ-ММ-ДД").matches("31.01.2025"));
    }

    #[test]
    fn sums_and_numbers() {
        let sum = mask("ХХХХХХХХХХХХХХ9.99");
        for good in ["0", "1500", "1500.5", "1500.50", "123456789012345.00"] {
            assert!(sum.matches(good), "{good}");
        }
        for bad in [
            "",
            "1500.",
            "1500.505",
            "-1",
            "1,50",
            "1234567890123456.00",
            "1e3",
        ] {
            assert!(!sum.matches(bad), "{bad}");
        }
        assert!(mask("9").matches("7"));
        assert!(!mask("9").matches("12"));
        assert!(mask("9999999999999999").matches("7751234567890123"));
        assert!(!mask("9999999999999999").matches("775123456789012"));
        assert!(mask("XХХХХХХХ9").matches("12"));
        assert!(mask("X9.99999").matches("1.5"));
    }

    #[test]
    fn codes() {
        let icd = mask("A99.ХX");
        for good in ["I10", "C18.1", "S72.00", "D45"] {
            assert!(icd.matches(good), "{good}");
        }
        for bad in ["10", "I1", "C18.", "C18.123", "C1B.1"] {
            assert!(!icd.matches(bad), "{bad}");
        }
        let snils = mask("999-999-999 99");
        assert!(snils.matches("112-233-445 95"));
        assert!(!snils.matches("11223344595"));
        assert!(mask("Х9.9Х").matches("3.2"));
        assert!(mask("Х9.9Х").matches("3.11"));
        assert!(!mask("Х9.9Х").matches("3"));
    }

    #[test]
    fn sentences_are_not_masks() {
        assert_eq!(
            Mask::parse("Значение DocNum должно соответствовать маске значения закрепленного в строке классификатора F011"),
            None
        );
    }
}
