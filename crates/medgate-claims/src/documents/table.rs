//! The documents' tables: columns of fixed widths written over as many pages as they take,
//! the title and the column header repeated on each page, "Лист N" at its foot.

use super::pdf::{Page, PdfFile};
use crate::error::ClaimsError;

/// A column of a table: its title, width (points) and whether it is right-aligned.
pub(super) struct Column {
    pub(super) title: &'static str,
    pub(super) width: f32,
    pub(super) right: bool,
}

pub(super) const MARGIN: f32 = 36.0;
pub(super) const LINE: f32 = 12.0;
pub(super) const TEXT: f32 = 8.0;

/// A table written over as many pages as it takes, its title and header repeated on each.
pub(super) struct Table {
    title: Vec<String>,
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
    per_page: usize,
}

impl Table {
    pub(super) fn new(size: (f32, f32), title: Vec<String>, columns: Vec<Column>) -> Self {
        let (_, height) = size;
        let top = MARGIN + 14.0 * title.len() as f32 + 2.0 * LINE;
        let per_page = ((height - top - MARGIN - 2.0 * LINE) / LINE).floor() as usize;
        Table {
            title,
            columns,
            rows: Vec::with_capacity(per_page),
            per_page,
        }
    }

    pub(super) fn row(
        &mut self,
        pdf: &mut PdfFile<'_>,
        row: Vec<String>,
    ) -> Result<(), ClaimsError> {
        self.rows.push(row);
        if self.rows.len() == self.per_page {
            self.flush(pdf, &[])?;
        }
        Ok(())
    }

    /// Writes the rows held as one page, with `after` lines below the table.
    fn flush(&mut self, pdf: &mut PdfFile<'_>, after: &[String]) -> Result<(), ClaimsError> {
        let number = pdf.page_count() + 1;
        let (width, height) = pdf.size;
        let title = self.title.clone();
        let rows = std::mem::take(&mut self.rows);
        let columns = &self.columns;
        let mut page = pdf.page();
        let mut y = height - MARGIN - 10.0;
        for (index, line) in title.iter().enumerate() {
            let size = if index == 0 { 12.0 } else { 9.0 };
            page.text(MARGIN, y, size, line);
            y -= 14.0;
        }
        y -= 4.0;
        let right_edge = width - MARGIN;
        page.line(MARGIN, y + LINE - 2.0, right_edge, y + LINE - 2.0, 0.6);
        draw_row(
            &mut page,
            columns,
            y,
            &columns
                .iter()
                .map(|c| c.title.to_owned())
                .collect::<Vec<_>>(),
        );
        page.line(MARGIN, y - 4.0, right_edge, y - 4.0, 0.6);
        y -= LINE + 2.0;
        for row in &rows {
            draw_row(&mut page, columns, y, row);
            y -= LINE;
        }
        page.line(MARGIN, y + LINE - 3.0, right_edge, y + LINE - 3.0, 0.6);
        y -= 4.0;
        for line in after {
            page.text(MARGIN, y, 9.0, line);
            y -= LINE + 2.0;
        }
        page.text_right(right_edge, MARGIN - 14.0, TEXT, &format!("Лист {number}"));
        page.finish()
    }

    pub(super) fn finish(
        mut self,
        pdf: &mut PdfFile<'_>,
        after: &[String],
    ) -> Result<(), ClaimsError> {
        let room = self.per_page.saturating_sub(self.rows.len());
        if room < after.len() + 1 && !self.rows.is_empty() {
            self.flush(pdf, &[])?;
        }
        self.flush(pdf, after)
    }
}

pub(super) fn draw_row(page: &mut Page<'_, '_>, columns: &[Column], y: f32, cells: &[String]) {
    let mut x = MARGIN;
    for (column, cell) in columns.iter().zip(cells) {
        if column.right {
            page.text_right(x + column.width - 8.0, y, TEXT, cell);
        } else {
            page.text_fit(x, y, TEXT, column.width - 4.0, cell);
        }
        x += column.width;
    }
}
