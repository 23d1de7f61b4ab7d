//! The SNILS (insurance account number) check digits: `NNN-NNN-NNN CC`, the last two the sum
//! of the nine digits weighted 9 down to 1, modulo 101, 100 written as 00. Numbers up to
//! 001-001-998 were issued before the check existed and have none.

/// Why a SNILS is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnilsProblem {
    Format,
    CheckDigits { expected: u32, found: u32 },
}

/// Checks a SNILS written `NNN-NNN-NNN CC` (or as 11 digits).
pub fn check_snils(value: &str) -> Result<(), SnilsProblem> {
    let digits: Vec<u32> = value.chars().filter_map(|c| c.to_digit(10)).collect();
    let shaped = value.len() == 14
        && value.as_bytes()[3] == b'-'
        && value.as_bytes()[7] == b'-'
        && value.as_bytes()[11] == b' ';
    if digits.len() != 11 || !(shaped || value.len() == 11) {
        return Err(SnilsProblem::Format);
    }
    let number = digits[..9]
        .iter()
        .fold(0u64, |acc, d| acc * 10 + u64::from(*d));
    let found = digits[9] * 10 + digits[10];
    if number <= 1_001_998 {
        return Ok(());
    }
    let expected = check_digits(&digits[..9]);
    if expected == found {
        Ok(())
    } else {
        Err(SnilsProblem::CheckDigits { expected, found })
    }
}

/// The two check digits of a SNILS's nine digits.
pub fn check_digits(nine: &[u32]) -> u32 {
    let sum: u32 = nine.iter().zip((1..=9).rev()).map(|(d, w)| d * w).sum();
    match sum {
        0..=99 => sum,
        100 | 101 => 0,
        _ => match sum % 101 {
            100 => 0,
            rest => rest,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn published_examples() {
        // The Pension Fund's worked example: 112-233-445 95.
        assert_eq!(check_snils("112-233-445 95"), Ok(()));
        assert_eq!(check_snils("11223344595"), Ok(()));
        assert_eq!(
            check_snils("112-233-445 96"),
            Err(SnilsProblem::CheckDigits {
                expected: 95,
                found: 96
            })
        );
        assert_eq!(check_snils("112-233-445"), Err(SnilsProblem::Format));
        assert_eq!(check_snils("112 233 445 95"), Err(SnilsProblem::Format));
        // Below 001-001-998 there is no check.
        assert_eq!(check_snils("001-001-997 00"), Ok(()));
    }

    #[test]
    fn sums_of_100_and_above() {
        // 9*9+8*9+... : choose digits whose weighted sum is 101 and 205.
        assert_eq!(check_digits(&[0, 0, 0, 0, 0, 0, 0, 0, 0]), 0);
        assert_eq!(check_digits(&[9, 0, 0, 0, 0, 0, 0, 2, 1]), 81 + 4 + 1);
        assert_eq!(check_digits(&[9, 2, 0, 0, 0, 0, 0, 1, 1]), 0); // 81+16+2+1 = 100
        assert_eq!(check_digits(&[9, 9, 9, 9, 9, 9, 9, 9, 9]), 405 % 101);
    }
}
