//! HL7 v3 point-in-time values (`TS`): `YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+|-ZZZZ]`, kept with
//! their precision, their time zone when one is given, and their original text.

use std::fmt;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// How much of a timestamp was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precision {
    /// `YYYY`
    Year,
    /// `YYYYMM`
    Month,
    /// `YYYYMMDD`
    Day,
    /// `YYYYMMDDHH`
    Hour,
    /// `YYYYMMDDHHMM`
    Minute,
    /// `YYYYMMDDHHMMSS`
    Second,
    /// `YYYYMMDDHHMMSS.S` to `.SSSS`
    FractionOfSecond,
}

/// Why a text is not an HL7 timestamp.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimestampError(String);

/// An HL7 v3 timestamp. Parts that were not given (month, day, time) are not invented: the
/// [`Precision`] says what is known, [`Timestamp::date`] fills missing month/day with 1, and
/// [`Timestamp::time`] is `None` for date-only values.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp {
    date: Date,
    time: Option<Time>,
    offset: Option<UtcOffset>,
    precision: Precision,
    text: String,
}

impl Timestamp {
    /// Parses the HL7 `TS` literal form, e.g. `20140906`, `201409051012`,
    /// `20150301122300+0100`, `2014`.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let fail = |rule: &str| Err(TimestampError(rule.to_owned()));
        let (main, offset_text) = match text.find(['+', '-']) {
            Some(at) => (&text[..at], Some(&text[at..])),
            None => (text, None),
        };
        let (digits, fraction) = match main.split_once('.') {
            Some((digits, fraction)) => (digits, Some(fraction)),
            None => (main, None),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return fail("expected digits in the form YYYYMMDD[HHMM[SS]][+ZZZZ]");
        }
        let precision = match digits.len() {
            4 => Precision::Year,
            6 => Precision::Month,
            8 => Precision::Day,
            10 => Precision::Hour,
            12 => Precision::Minute,
            14 => Precision::Second,
            _ => return fail("expected 4, 6, 8, 10, 12 or 14 digits (YYYYMMDD[HHMM[SS]])"),
        };
        let number = |from: usize, to: usize| -> u32 {
            digits
                .get(from..to)
                .and_then(|part| part.parse().ok())
                .unwrap_or(0)
        };
        let year = i32::try_from(number(0, 4)).unwrap_or(0);
        let month = if precision >= Precision::Month {
            number(4, 6)
        } else {
            1
        };
        let day = if precision >= Precision::Day {
            number(6, 8)
        } else {
            1
        };
        let Ok(month) = Month::try_from(u8::try_from(month).unwrap_or(0)) else {
            return fail("the month must be 01 to 12");
        };
        let date = match Date::from_calendar_date(year, month, u8::try_from(day).unwrap_or(0)) {
            Ok(date) => date,
            Err(_) => return fail("the day does not exist in that month"),
        };
        let mut precision = precision;
        let time = if precision >= Precision::Hour {
            let nanoseconds = match fraction {
                None => 0,
                Some(fraction) => {
                    if precision != Precision::Second
                        || fraction.is_empty()
                        || fraction.len() > 4
                        || !fraction.bytes().all(|b| b.is_ascii_digit())
                    {
                        return fail("a fraction of a second needs seconds and 1 to 4 digits");
                    }
                    precision = Precision::FractionOfSecond;
                    let scale = 10u32.pow(9 - u32::try_from(fraction.len()).unwrap_or(4));
                    fraction.parse::<u32>().unwrap_or(0) * scale
                }
            };
            match Time::from_hms_nano(
                u8::try_from(number(8, 10)).unwrap_or(99),
                u8::try_from(number(10, 12)).unwrap_or(99),
                u8::try_from(number(12, 14)).unwrap_or(99),
                nanoseconds,
            ) {
                Ok(time) => Some(time),
                Err(_) => return fail("hour, minute or second out of range"),
            }
        } else {
            if fraction.is_some() {
                return fail("a fraction of a second needs seconds");
            }
            None
        };
        let offset = match offset_text {
            None => None,
            Some(zone) => {
                let sign = if zone.starts_with('-') { -1 } else { 1 };
                let zone_digits = &zone[1..];
                if zone_digits.len() != 4 || !zone_digits.bytes().all(|b| b.is_ascii_digit()) {
                    return fail("the time zone must be +HHMM or -HHMM");
                }
                let hours = zone_digits[..2].parse::<i8>().unwrap_or(99);
                let minutes = zone_digits[2..].parse::<i8>().unwrap_or(99);
                if hours > 14 || minutes > 59 {
                    return fail("the time zone is out of range");
                }
                match UtcOffset::from_hms(sign * hours, sign * minutes, 0) {
                    Ok(offset) => Some(offset),
                    Err(_) => return fail("the time zone is out of range"),
                }
            }
        };
        Ok(Timestamp {
            date,
            time,
            offset,
            precision,
            text: text.to_owned(),
        })
    }

    /// The calendar date (month and day are 1 when the precision is coarser).
    pub fn date(&self) -> Date {
        self.date
    }

    /// The time of day, when the timestamp has one.
    pub fn time(&self) -> Option<Time> {
        self.time
    }

    /// The time zone offset, when one was given.
    pub fn offset(&self) -> Option<UtcOffset> {
        self.offset
    }

    /// How much was given.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The value exactly as written in the document.
    pub fn as_hl7(&self) -> &str {
        &self.text
    }

    /// The date and time without a zone (midnight for date-only values).
    pub fn to_primitive(&self) -> PrimitiveDateTime {
        PrimitiveDateTime::new(self.date, self.time.unwrap_or(Time::MIDNIGHT))
    }

    /// An absolute instant, when the document gave a time zone.
    pub fn to_offset_date_time(&self) -> Option<OffsetDateTime> {
        self.offset
            .map(|offset| self.to_primitive().assume_offset(offset))
    }
}

/// Shows the value for people, with exactly the given precision: `2014`, `2014-09`,
/// `2014-09-06`, `2014-09-05 10:12`, `2015-03-01 12:23:00 +01:00`. The XSL stylesheet formats
/// timestamps the same way.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.date.year())?;
        if self.precision >= Precision::Month {
            write!(f, "-{:02}", u8::from(self.date.month()))?;
        }
        if self.precision >= Precision::Day {
            write!(f, "-{:02}", self.date.day())?;
        }
        if let Some(time) = self.time {
            write!(f, " {:02}:{:02}", time.hour(), time.minute())?;
            if self.precision >= Precision::Second {
                write!(f, ":{:02}", time.second())?;
            }
        }
        if let Some(offset) = self.offset {
            let (hours, minutes, _) = offset.as_hms();
            let sign = if offset.is_negative() { '-' } else { '+' };
            write!(f, " {sign}{:02}:{:02}", hours.abs(), minutes.abs())?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;
    use time::macros::{date, offset, time};

    #[test]
    fn date_only() {
        let value = Timestamp::parse("20140906").unwrap();
        assert_eq!(value.date(), date!(2014 - 09 - 06));
        assert_eq!(value.time(), None);
        assert_eq!(value.precision(), Precision::Day);
        assert_eq!(value.to_string(), "2014-09-06");
        assert_eq!(value.as_hl7(), "20140906");
    }

    #[test]
    fn minutes_and_seconds_with_zone() {
        let value = Timestamp::parse("201409051012").unwrap();
        assert_eq!(value.time(), Some(time!(10:12)));
        assert_eq!(value.to_string(), "2014-09-05 10:12");
        let value = Timestamp::parse("20150301122300+0100").unwrap();
        assert_eq!(value.offset(), Some(offset!(+1)));
        assert_eq!(value.precision(), Precision::Second);
        assert_eq!(value.to_string(), "2015-03-01 12:23:00 +01:00");
        assert_eq!(
            value.to_offset_date_time().unwrap().unix_timestamp(),
            time::macros::datetime!(2015-03-01 11:23 UTC).unix_timestamp()
        );
        let value = Timestamp::parse("20240105143000-0530").unwrap();
        assert_eq!(value.offset(), Some(offset!(-5:30)));
        assert_eq!(value.to_string(), "2024-01-05 14:30:00 -05:30");
    }

    #[test]
    fn coarse_and_fine_precisions() {
        assert_eq!(Timestamp::parse("2014").unwrap().to_string(), "2014");
        assert_eq!(Timestamp::parse("201409").unwrap().to_string(), "2014-09");
        assert_eq!(
            Timestamp::parse("2014090510").unwrap().to_string(),
            "2014-09-05 10:00"
        );
        let fine = Timestamp::parse("20140905101259.25").unwrap();
        assert_eq!(fine.precision(), Precision::FractionOfSecond);
        assert_eq!(fine.time().unwrap().millisecond(), 250);
    }

    #[test]
    fn invalid_values_are_refused() {
        for bad in [
            "",
            "2014-09-06",
            "201409061",
            "20141306",
            "20140231",
            "201409062500",
            "20140906+01",
            "20140906+2500",
            "20140906.5",
            "2014090610.5",
            "20140906abc",
            "20140906120000.12345",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
