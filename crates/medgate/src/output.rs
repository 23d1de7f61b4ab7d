//! Small helpers shared by the commands for what the user sees: error lines, JSON output,
//! dates.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// One line for an error and its causes, without repeating a cause that the message
/// already contains.
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line.replace('\n', " ")
}

/// Prints a JSON value, pretty, on stdout.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// RFC 3339 text of a time (UTC), as used in JSON output.
pub fn rfc3339(time: OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| time.to_string())
}

/// `YYYY-MM-DD HH:MM:SS UTC`, as shown to people (the toolkit's own wording).
pub use medgate_pki::cert::human_time;


/// Parses a date or date-time given on the command line: `2026-01-31` (midnight UTC) or RFC
/// 3339 `2026-01-31T12:00:00Z`.
pub fn parse_time(text: &str) -> anyhow::Result<OffsetDateTime> {
    if let Ok(time) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(time);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).map_err(|_| {
        anyhow::anyhow!("'{text}' is not a date: use YYYY-MM-DD or RFC 3339 (2026-01-31T12:00:00Z)")
    })?;
    Ok(date.midnight().assume_utc())
}

/// Prints a table: the headings, then one line per row, each column as wide as its widest
/// cell (counted in characters, so Polish letters line up), two spaces apart.
pub fn print_table<const N: usize>(headings: [&str; N], rows: &[[String; N]]) {
    let mut widths = headings.map(|heading| heading.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells
            .zip(widths)
            .map(|(cell, width)| {
                format!("{cell}{}", " ".repeat(width.saturating_sub(cell.chars().count())))
            })
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(&mut headings.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}
