//! A PDF written page by page to its file. `pdf_writer::Pdf` keeps the whole document in one
//! buffer until the end, which for the register of a 100,000-case package (about 2,300
//! pages, 20 MB of page content before compression) grows with the register; here each
//! object is built with `pdf_writer::Chunk`, written as soon as it is complete and only its
//! offset kept, and the cross-reference table is written by hand at the end. The font
//! objects come last, once the glyphs the pages used are known: a Type0 font over a
//! CIDFontType2 (the shipped TrueType, embedded whole), `Identity-H` (two bytes a glyph) and a
//! `ToUnicode` CMap of the glyphs used, so text extraction gives the Cyrillic back.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::ZlibEncoder;
use flate2::Compression;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Chunk, Content, Filter, Finish, Name, Rect, Ref, Str, TextStr};

use super::font::{self, Font};
use crate::error::ClaimsError;

const CATALOG: Ref = Ref::new(1);
const PAGES: Ref = Ref::new(2);
const TYPE0: Ref = Ref::new(3);
const CID_FONT: Ref = Ref::new(4);
const DESCRIPTOR: Ref = Ref::new(5);
const FONT_FILE: Ref = Ref::new(6);
const TO_UNICODE: Ref = Ref::new(7);
const INFO: Ref = Ref::new(8);
const FIRST_FREE: i32 = 9;
const FONT_RESOURCE: Name<'static> = Name(b"F1");

/// A4 portrait, in points.
pub const A4: (f32, f32) = (595.0, 842.0);
/// A4 landscape.
pub const A4_LANDSCAPE: (f32, f32) = (842.0, 595.0);

/// A document being written.
pub struct PdfFile<'f> {
    path: PathBuf,
    out: BufWriter<File>,
    position: u64,
    /// Offset of each object, by number (0 unused).
    offsets: Vec<u64>,
    next: i32,
    pages: Vec<Ref>,
    used: BTreeMap<u16, char>,
    font: &'f Font,
    pub size: (f32, f32),
}

/// One page's drawing.
pub struct Page<'p, 'f> {
    file: &'p mut PdfFile<'f>,
    content: Content,
}

impl<'p, 'f> Page<'p, 'f> {
    /// Text with its baseline's left end at (x, y).
    pub fn text(&mut self, x: f32, y: f32, size: f32, text: &str) {
        let mut bytes = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let glyph = self.file.font.glyph(c);
            self.file.used.entry(glyph).or_insert(c);
            bytes.extend_from_slice(&glyph.to_be_bytes());
        }
        self.content
            .begin_text()
            .set_font(FONT_RESOURCE, size)
            .next_line(x, y)
            .show(Str(&bytes))
            .end_text();
    }

    /// Text cut (with "…") to a width.
    pub fn text_fit(&mut self, x: f32, y: f32, size: f32, width: f32, text: &str) {
        let font = self.file.font;
        if font.width(text, size) <= width {
            return self.text(x, y, size, text);
        }
        let mut cut: String = text.to_owned();
        while !cut.is_empty() && font.width(&cut, size) + font.width("…", size) > width {
            cut.pop();
        }
        cut.push('…');
        self.text(x, y, size, &cut);
    }

    /// Text whose right end is at x.
    pub fn text_right(&mut self, x: f32, y: f32, size: f32, text: &str) {
        let width = self.file.font.width(text, size);
        self.text(x - width, y, size, text);
    }

    /// Text centred on x.
    pub fn text_centre(&mut self, x: f32, y: f32, size: f32, text: &str) {
        let width = self.file.font.width(text, size);
        self.text(x - width / 2.0, y, size, text);
    }

    pub fn width(&self, text: &str, size: f32) -> f32 {
        self.file.font.width(text, size)
    }

    /// A thin line.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        self.content
            .set_line_width(width)
            .move_to(x1, y1)
            .line_to(x2, y2)
            .stroke();
    }

    /// Writes the page to the file.
    pub fn finish(self) -> Result<(), ClaimsError> {
        let Page { file, content } = self;
        let data = deflate(&content.finish().into_vec());
        let content_id = file.allocate();
        let page_id = file.allocate();
        let mut chunk = Chunk::new();
        chunk.stream(content_id, &data).filter(Filter::FlateDecode);
        file.write_object(content_id, &chunk)?;
        let (width, height) = file.size;
        let mut chunk = Chunk::new();
        let mut page = chunk.page(page_id);
        page.parent(PAGES)
            .media_box(Rect::new(0.0, 0.0, width, height))
            .contents(content_id);
        page.resources().fonts().pair(FONT_RESOURCE, TYPE0);
        page.finish();
        file.write_object(page_id, &chunk)?;
        file.pages.push(page_id);
        Ok(())
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(data.len() / 3), Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

impl<'f> PdfFile<'f> {
    /// Starts a document at `path` (the caller renames it into place once finished).
    pub fn create(
        path: &Path,
        font: &'f Font,
        size: (f32, f32),
    ) -> Result<PdfFile<'f>, ClaimsError> {
        let file = File::create(path).map_err(|e| ClaimsError::io(path, e))?;
        let mut pdf = PdfFile {
            path: path.to_owned(),
            out: BufWriter::with_capacity(64 * 1024, file),
            position: 0,
            offsets: vec![0; FIRST_FREE as usize],
            next: FIRST_FREE,
            pages: Vec::new(),
            used: BTreeMap::new(),
            font,
            size,
        };
        pdf.write(b"%PDF-1.7\n%\x80\x80\x80\x80\n")?;
        Ok(pdf)
    }

    /// A new page to draw on.
    pub fn page(&mut self) -> Page<'_, 'f> {
        Page {
            file: self,
            content: Content::new(),
        }
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    fn allocate(&mut self) -> Ref {
        let id = Ref::new(self.next);
        self.next += 1;
        self.offsets.push(0);
        id
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), ClaimsError> {
        self.out
            .write_all(bytes)
            .map_err(|e| ClaimsError::io(&self.path, e))?;
        self.position += bytes.len() as u64;
        Ok(())
    }

    fn write_object(&mut self, id: Ref, chunk: &Chunk) -> Result<(), ClaimsError> {
        self.offsets[id.get() as usize] = self.position;
        self.write(chunk.as_bytes())
    }

    /// Writes the pages tree, the font, the catalogue and the cross-reference table; answers
    /// the number of pages.
    pub fn finish(mut self, title: &str) -> Result<usize, ClaimsError> {
        let font = self.font;
        let mut chunk = Chunk::new();
        let count = self.pages.len() as i32;
        chunk
            .pages(PAGES)
            .kids(self.pages.iter().copied())
            .count(count);
        self.write_object(PAGES, &chunk)?;

        let base = Name(font::NAME.as_bytes());
        let system = || SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        let mut chunk = Chunk::new();
        chunk
            .type0_font(TYPE0)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(CID_FONT)
            .to_unicode(TO_UNICODE);
        self.write_object(TYPE0, &chunk)?;

        let mut chunk = Chunk::new();
        let mut cid = chunk.cid_font(CID_FONT);
        cid.subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(system())
            .font_descriptor(DESCRIPTOR)
            .default_width(font.advance(0))
            .cid_to_gid_map_predefined(Name(b"Identity"));
        let mut widths = cid.widths();
        for &glyph in self.used.keys() {
            widths.consecutive(glyph, [font.advance(glyph)]);
        }
        widths.finish();
        cid.finish();
        self.write_object(CID_FONT, &chunk)?;

        let mut chunk = Chunk::new();
        let [x0, y0, x1, y1] = font.bbox;
        chunk
            .font_descriptor(DESCRIPTOR)
            .name(base)
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(
                font.scale(x0),
                font.scale(y0),
                font.scale(x1),
                font.scale(y1),
            ))
            .italic_angle(0.0)
            .ascent(font.scale(font.ascent))
            .descent(font.scale(font.descent))
            .cap_height(font.scale(font.ascent))
            .stem_v(80.0)
            .font_file2(FONT_FILE);
        self.write_object(DESCRIPTOR, &chunk)?;

        let data = deflate(font::TTF);
        let mut chunk = Chunk::new();
        chunk
            .stream(FONT_FILE, &data)
            .filter(Filter::FlateDecode)
            .pair(Name(b"Length1"), font::TTF.len() as i32);
        self.write_object(FONT_FILE, &chunk)?;

        let mut cmap = UnicodeCmap::new(Name(b"Medgate-UTF16"), system());
        for (&glyph, &c) in &self.used {
            if glyph != 0 {
                cmap.pair(glyph, c);
            }
        }
        let cmap = cmap.finish();
        let mut chunk = Chunk::new();
        chunk
            .cmap(TO_UNICODE, &cmap)
            .name(Name(b"Medgate-UTF16"))
            .system_info(system());
        self.write_object(TO_UNICODE, &chunk)?;

        let mut chunk = Chunk::new();
        let mut info = chunk.indirect(INFO).dict();
        info.pair(Name(b"Title"), TextStr(title));
        info.pair(Name(b"Producer"), TextStr("medgate"));
        info.finish();
        self.write_object(INFO, &chunk)?;

        let mut chunk = Chunk::new();
        let mut catalog = chunk.indirect(CATALOG).dict();
        catalog.pair(Name(b"Type"), Name(b"Catalog"));
        catalog.pair(Name(b"Pages"), PAGES);
        catalog.finish();
        self.write_object(CATALOG, &chunk)?;

        let start = self.position;
        let mut xref = format!("xref\n0 {}\n0000000000 65535 f \n", self.offsets.len());
        for offset in &self.offsets[1..] {
            xref.push_str(&format!("{offset:010} 00000 n \n"));
        }
        xref.push_str(&format!(
            "trailer\n<< /Size {} /Root {} 0 R /Info {} 0 R >>\nstartxref\n{start}\n%%EOF\n",
            self.offsets.len(),
            CATALOG.get(),
            INFO.get()
        ));
        self.write(xref.as_bytes())?;
        self.out
            .flush()
            .map_err(|e| ClaimsError::io(&self.path, e))?;
        Ok(count as usize)
    }
}
