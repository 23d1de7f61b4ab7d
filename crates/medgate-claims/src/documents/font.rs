//! The one font of the claims documents: DejaVu Sans Condensed, shipped in the crate
//! (`font/DejaVuSansCondensed.ttf`, from Debian's `fonts-dejavu-core` 2.37, Bitstream Vera
//! licence with the DejaVu changes in the public domain: `font/LICENSE`), so the binary needs
//! no system font. Only what the PDF needs is read from it: the Unicode `cmap` (format 4),
//! the advance widths and the vertical metrics.

use std::collections::HashMap;

/// The font's bytes, embedded whole in each document (`FontFile2`).
pub const TTF: &[u8] = include_bytes!("font/DejaVuSansCondensed.ttf");
/// The font's PostScript name.
pub const NAME: &str = "DejaVuSansCondensed";

/// The metrics of the shipped font, in font units.
pub struct Font {
    pub units_per_em: u16,
    pub ascent: i16,
    pub descent: i16,
    pub bbox: [i16; 4],
    advances: Vec<u16>,
    glyphs: HashMap<char, u16>,
}

fn u16_at(data: &[u8], at: usize) -> Result<u16, String> {
    data.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| format!("the font is cut short at byte {at}"))
}

fn i16_at(data: &[u8], at: usize) -> Result<i16, String> {
    u16_at(data, at).map(|v| v as i16)
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, String> {
    data.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("the font is cut short at byte {at}"))
}

impl Font {
    /// Reads the shipped font.
    pub fn shipped() -> Result<Font, String> {
        Font::parse(TTF)
    }

    pub fn parse(data: &[u8]) -> Result<Font, String> {
        let tables = u16_at(data, 4)? as usize;
        let mut offsets = HashMap::new();
        for index in 0..tables {
            let record = 12 + index * 16;
            let tag = data
                .get(record..record + 4)
                .ok_or("the font's table directory is cut short")?;
            offsets.insert(tag.to_vec(), u32_at(data, record + 8)? as usize);
        }
        let table = |tag: &[u8]| {
            offsets.get(tag).copied().ok_or_else(|| {
                format!(
                    "the font has no {} table",
                    String::from_utf8_lossy(tag).trim()
                )
            })
        };
        let head = table(b"head")?;
        let hhea = table(b"hhea")?;
        let hmtx = table(b"hmtx")?;
        let maxp = table(b"maxp")?;
        let cmap = table(b"cmap")?;
        let units_per_em = u16_at(data, head + 18)?;
        let bbox = [
            i16_at(data, head + 36)?,
            i16_at(data, head + 38)?,
            i16_at(data, head + 40)?,
            i16_at(data, head + 42)?,
        ];
        let ascent = i16_at(data, hhea + 4)?;
        let descent = i16_at(data, hhea + 6)?;
        let metrics = u16_at(data, hhea + 34)? as usize;
        let count = u16_at(data, maxp + 4)? as usize;
        let mut advances = Vec::with_capacity(count);
        for glyph in 0..count {
            let at = hmtx + 4 * glyph.min(metrics.saturating_sub(1));
            advances.push(u16_at(data, at)?);
        }
        // The Windows Unicode BMP subtable (platform 3, encoding 1), format 4.
        let subtables = u16_at(data, cmap + 2)? as usize;
        let mut format4 = None;
        for index in 0..subtables {
            let record = cmap + 4 + index * 8;
            if u16_at(data, record)? == 3 && u16_at(data, record + 2)? == 1 {
                format4 = Some(cmap + u32_at(data, record + 4)? as usize);
            }
        }
        let sub = format4.ok_or("the font has no Unicode (3,1) cmap")?;
        if u16_at(data, sub)? != 4 {
            return Err("the font's Unicode cmap is not of format 4".to_owned());
        }
        let segments = u16_at(data, sub + 6)? as usize / 2;
        let ends = sub + 14;
        let starts = ends + 2 * segments + 2;
        let deltas = starts + 2 * segments;
        let ranges = deltas + 2 * segments;
        let mut glyphs = HashMap::new();
        for segment in 0..segments {
            let end = u16_at(data, ends + 2 * segment)?;
            let start = u16_at(data, starts + 2 * segment)?;
            let delta = u16_at(data, deltas + 2 * segment)?;
            let range_at = ranges + 2 * segment;
            let range = u16_at(data, range_at)? as usize;
            if start == 0xFFFF {
                continue;
            }
            for code in start..=end {
                let glyph = if range == 0 {
                    code.wrapping_add(delta)
                } else {
                    let at = range_at + range + 2 * (code - start) as usize;
                    match u16_at(data, at)? {
                        0 => 0,
                        glyph => glyph.wrapping_add(delta),
                    }
                };
                if let (Some(c), true) = (char::from_u32(u32::from(code)), glyph != 0) {
                    glyphs.insert(c, glyph);
                }
            }
        }
        Ok(Font {
            units_per_em,
            ascent,
            descent,
            bbox,
            advances,
            glyphs,
        })
    }

    /// The glyph of a character: `.notdef` (0) when the font has none.
    pub fn glyph(&self, c: char) -> u16 {
        self.glyphs.get(&c).copied().unwrap_or(0)
    }

    /// A glyph's advance in thousandths of the font size (PDF glyph space).
    pub fn advance(&self, glyph: u16) -> f32 {
        let units = self.advances.get(glyph as usize).copied().unwrap_or(0);
        f32::from(units) * 1000.0 / f32::from(self.units_per_em)
    }

    /// The width of a text at a size, in points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.advance(self.glyph(c)))
            .sum::<f32>()
            * size
            / 1000.0
    }

    /// Converts font units to glyph space.
    pub fn scale(&self, units: i16) -> f32 {
        f32::from(units) * 1000.0 / f32::from(self.units_per_em)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_font_maps_cyrillic_and_latin() {
        let font = Font::shipped().unwrap();
        assert_eq!(font.units_per_em, 2048);
        for c in ['А', 'я', 'ё', 'Ж', '№', 'A', 'z', '0', '₽'] {
            assert_ne!(font.glyph(c), 0, "{c}");
            assert!(font.advance(font.glyph(c)) > 100.0, "{c}");
        }
        assert!(font.width("Счёт", 10.0) > 10.0);
    }
}
