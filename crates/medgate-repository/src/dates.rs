//! A document's date as the document wrote it (issue 12, item 9).
//!
//! The metadata keeps two things: the instant (`effective_time`, whole seconds, what sorting
//! and date filters use) and the HL7 `TS` text as written (`effective_time_as_written`,
//! e.g. `201409171904-0500`). Everything shown to people and the API's `effective_time` come
//! from the text: the document's own local time, its own offset, its own precision. A `TS`
//! without an offset is shown without one (its instant was taken as UTC only to place it in
//! the order); a date-only `TS` is shown as a date. Rows without the text (attachments, rows
//! stored before it was kept) show the instant in UTC, labelled so.

use medgate_cda::{Precision, Timestamp};
use medgate_storage::DocumentMetadata;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A document's effective time: the instant and, when the document gave it, its own text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentTime {
    instant: OffsetDateTime,
    written: Option<Timestamp>,
}

impl DocumentTime {
    /// The effective time of a stored document (a text that no longer parses, which the
    /// ingest never stores, falls back to the instant).
    pub fn of(metadata: &DocumentMetadata) -> DocumentTime {
        DocumentTime::new(
            metadata.effective_time,
            metadata.effective_time_as_written.as_deref(),
        )
    }

    /// The effective time from its instant and the HL7 text as written, if any.
    pub fn new(instant: OffsetDateTime, as_written: Option<&str>) -> DocumentTime {
        DocumentTime {
            instant,
            written: as_written.and_then(|text| Timestamp::parse(text).ok()),
        }
    }

    /// The instant the node sorts and filters by.
    pub fn instant(&self) -> OffsetDateTime {
        self.instant
    }

    /// The HL7 text as the document wrote it, when it is known.
    pub fn as_hl7(&self) -> Option<&str> {
        self.written.as_ref().map(Timestamp::as_hl7)
    }

    /// Whether the document gave a time zone offset (`false` when it gave none, or when only
    /// the instant is known).
    pub fn has_own_offset(&self) -> bool {
        self.written.as_ref().and_then(Timestamp::offset).is_some()
    }

    /// For people, as the document says it, with exactly its precision:
    /// `2014-09-17 19:04 -05:00`, `2014-09-17 19:04` (no offset given), `2014-09-17` (a
    /// day), `2014-09-17 19:04:05 +01:00` (seconds). Without the text: the instant in UTC,
    /// `2014-09-18 00:04 UTC`.
    pub fn display(&self) -> String {
        match &self.written {
            Some(written) => written.to_string(),
            None => {
                let utc = self.instant.to_offset(UtcOffset::UTC);
                format!(
                    "{} {:02}:{:02} UTC",
                    crate::format_date(utc.date()),
                    utc.hour(),
                    utc.minute()
                )
            }
        }
    }

    /// The day as the document says it (`2014-09-17`; `2014-09` or `2014` when that is all
    /// it gives); without the text, the instant's UTC day.
    pub fn day(&self) -> String {
        match &self.written {
            Some(written) => {
                let mut day = written.to_string();
                // The date part of the display form is the first word.
                if let Some(at) = day.find(' ') {
                    day.truncate(at);
                }
                day
            }
            None => crate::format_date(self.instant.to_offset(UtcOffset::UTC).date()),
        }
    }

    /// RFC 3339 text of the instant in the document's own offset
    /// (`2014-09-17T19:04:00-05:00`); in UTC (`Z`) when the document gave no offset (the
    /// local time read as UTC, as the instant was) or only the instant is known.
    pub fn rfc3339(&self) -> String {
        let offset = self
            .written
            .as_ref()
            .and_then(Timestamp::offset)
            .unwrap_or(UtcOffset::UTC);
        self.instant
            .to_offset(offset)
            .format(&Rfc3339)
            .unwrap_or_default()
    }

    /// A FHIR `dateTime`: `2014-09-17`, `2014-09` or `2014` for a document that gives no
    /// time of day (FHIR keeps the precision), else [`DocumentTime::rfc3339`] (FHIR needs an
    /// offset once a time is given).
    pub fn fhir_date_time(&self) -> String {
        match &self.written {
            Some(written) if written.time().is_none() => self.day(),
            _ => self.rfc3339(),
        }
    }

    /// The precision the document gave: `year`, `month`, `day`, `hour`, `minute`, `second`
    /// or `fraction` (of a second); `second` when only the instant is known.
    pub fn precision(&self) -> &'static str {
        match self.written.as_ref().map(Timestamp::precision) {
            Some(Precision::Year) => "year",
            Some(Precision::Month) => "month",
            Some(Precision::Day) => "day",
            Some(Precision::Hour) => "hour",
            Some(Precision::Minute) => "minute",
            Some(Precision::Second) | None => "second",
            Some(Precision::FractionOfSecond) => "fraction",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_documents_own_time_and_offset() {
        let time = DocumentTime::new(
            datetime!(2014-09-18 00:04 UTC),
            Some("201409171904-0500"),
        );
        assert_eq!(time.display(), "2014-09-17 19:04 -05:00");
        assert_eq!(time.day(), "2014-09-17");
        assert_eq!(time.rfc3339(), "2014-09-17T19:04:00-05:00");
        assert_eq!(time.fhir_date_time(), "2014-09-17T19:04:00-05:00");
        assert_eq!(time.precision(), "minute");
        assert_eq!(time.as_hl7(), Some("201409171904-0500"));
        assert!(time.has_own_offset());
        assert_eq!(time.instant(), datetime!(2014-09-18 00:04 UTC));

        let plus_one = DocumentTime::new(
            datetime!(2024-01-05 13:30 UTC),
            Some("20240105143000+0100"),
        );
        assert_eq!(plus_one.display(), "2024-01-05 14:30:00 +01:00");
        assert_eq!(plus_one.rfc3339(), "2024-01-05T14:30:00+01:00");
        assert_eq!(plus_one.precision(), "second");
    }

    #[test]
    fn a_day_is_shown_as_a_day_and_no_offset_is_invented() {
        let day = DocumentTime::new(datetime!(2014-09-17 00:00 UTC), Some("20140917"));
        assert_eq!(day.display(), "2014-09-17");
        assert_eq!(day.day(), "2014-09-17");
        assert_eq!(day.fhir_date_time(), "2014-09-17");
        assert_eq!(day.precision(), "day");
        assert!(!day.has_own_offset());

        let month = DocumentTime::new(datetime!(2014-09-01 00:00 UTC), Some("201409"));
        assert_eq!(month.display(), "2014-09");
        assert_eq!(month.fhir_date_time(), "2014-09");

        let local = DocumentTime::new(datetime!(2014-09-17 19:04 UTC), Some("201409171904"));
        assert_eq!(local.display(), "2014-09-17 19:04");
        assert!(!local.has_own_offset());
        // The API's instant form needs an offset: the stored instant, in UTC.
        assert_eq!(local.rfc3339(), "2014-09-17T19:04:00Z");
    }

    #[test]
    fn without_the_text_the_instant_is_shown_in_utc() {
        let old = DocumentTime::new(datetime!(2014-09-18 00:04 UTC), None);
        assert_eq!(old.display(), "2014-09-18 00:04 UTC");
        assert_eq!(old.day(), "2014-09-18");
        assert_eq!(old.rfc3339(), "2014-09-18T00:04:00Z");
        assert_eq!(old.precision(), "second");
        assert_eq!(old.as_hl7(), None);
        let unreadable = DocumentTime::new(datetime!(2014-09-18 00:04 UTC), Some("yesterday"));
        assert_eq!(unreadable.display(), "2014-09-18 00:04 UTC");
    }
}
