//! The small pieces of desk pages: dates, table cells, form fields, checkboxes, one-button
//! forms.

use time::OffsetDateTime;

use crate::csrf;
use crate::i18n::{Lang, Text};
use crate::layout::escape;
pub use crate::layout::{checkbox, field_id, Input};

pub use crate::now;

/// `YYYY-MM-DD` (UTC).
pub fn day(time: OffsetDateTime) -> String {
    let date = time.to_offset(time::UtcOffset::UTC).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `YYYY-MM-DD HH:MM` (UTC).
pub fn minute(time: OffsetDateTime) -> String {
    let time = time.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02}", day(time), time.hour(), time.minute())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn second(time: OffsetDateTime) -> String {
    let time = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{} {:02}:{:02}:{:02}",
        day(time),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// A table header cell.
pub fn th(lang: Lang, label: impl Text) -> String {
    format!("<th scope=\"col\">{}</th>", escape(label.text(lang)))
}

/// A table cell with its label for the stacked phone layout; `content` is trusted HTML.
pub fn td(lang: Lang, label: impl Text, content: &str) -> String {
    format!(
        "<td data-label=\"{}\">{content}</td>",
        escape(label.text(lang))
    )
}

/// A one-button form posting to `action` (e.g. suspend, revoke, index).
pub fn button_form(action: &str, csrf_secret: &str, class: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\">{csrf}<button class=\"{class}\" type=\"submit\">{label}</button></form>",
        action = escape(action),
        csrf = csrf::hidden_field(csrf_secret),
        label = escape(label),
    )
}

/// The path segment of an id, percent-encoded.
pub fn segment(id: &str) -> String {
    urlencoding::encode(id).into_owned()
}

pub use crate::layout::download;
