//! The one font of the claims documents: DejaVu Sans Condensed, shipped in the crate
//! (`font/DejaVuSansCondensed.ttf`, from Debian's `fonts-dejavu-core` 2.37, Bitstream Vera
//! licence with the DejaVu changes in the public domain: `font/LICENSE`), so the binary needs
//! no system font. What the PDF needs is read from it with `ttf-parser`: the glyph of each
//! character, the advance widths and the vertical metrics.

use ttf_parser::{Face, GlyphId};

/// The font's bytes, embedded whole in each document (`FontFile2`).
pub const TTF: &[u8] = include_bytes!("font/DejaVuSansCondensed.ttf");
/// The font's PostScript name.
pub const NAME: &str = "DejaVuSansCondensed";

/// The shipped font, read with `ttf-parser`, and the metrics the PDF names, in font units.
pub struct Font {
    face: Face<'static>,
    pub units_per_em: u16,
    pub ascent: i16,
    pub descent: i16,
    pub bbox: [i16; 4],
}

impl Font {
    /// Reads the shipped font.
    pub fn shipped() -> Result<Font, String> {
        Font::parse(TTF)
    }

    pub fn parse(data: &'static [u8]) -> Result<Font, String> {
        let face = Face::parse(data, 0).map_err(|e| format!("the font cannot be read: {e}"))?;
        let rect = face.global_bounding_box();
        Ok(Font {
            units_per_em: face.units_per_em(),
            ascent: face.ascender(),
            descent: face.descender(),
            bbox: [rect.x_min, rect.y_min, rect.x_max, rect.y_max],
            face,
        })
    }

    /// The glyph of a character: `.notdef` (0) when the font has none.
    pub fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |glyph| glyph.0)
    }

    /// A glyph's advance in thousandths of the font size (PDF glyph space).
    pub fn advance(&self, glyph: u16) -> f32 {
        let units = self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0);
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
