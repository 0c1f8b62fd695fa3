//! Fonts and text metrics for the report.
//!
//! The report embeds Ubuntu Light (shipped by `epaint_default_fonts`, the same face the
//! GUI uses; Ubuntu Font Licence 1.0), so it never depends on system fonts. krilla subsets
//! the TrueType font to the glyphs used and writes a ToUnicode map, so `pdftotext` and
//! screen readers get the text back. Widths come from the font's `hmtx` advances via
//! skrifa (no kerning; used only for alignment). Bold is simulated by stroking the glyph
//! outlines with the fill colour (PDF text render mode 2).
//!
//! Units: font sizes in points, widths in millimetres.

use crate::layout::PT_PER_MM;
use crate::ReportError;
use skrifa::instance::{LocationRef, Size};
use skrifa::MetadataProvider;

/// One embedded typeface.
#[derive(Clone)]
pub(crate) struct Face {
    pub font: krilla::text::Font,
    data: &'static [u8],
}

impl Face {
    fn load(name: &'static str, data: &'static [u8]) -> Result<Face, ReportError> {
        let font = krilla::text::Font::new(data.into(), 0).ok_or(ReportError::Font(name))?;
        skrifa::FontRef::new(data).map_err(|_| ReportError::Font(name))?;
        Ok(Face { font, data })
    }

    /// Width of `text` at `size_pt`, in mm.
    pub fn width_mm(&self, text: &str, size_pt: f32) -> f32 {
        let Ok(font) = skrifa::FontRef::new(self.data) else {
            return 0.0;
        };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::new(size_pt), LocationRef::default());
        let width_pt: f32 = text
            .chars()
            .filter_map(|c| charmap.map(c))
            .filter_map(|g| metrics.advance_width(g))
            .sum();
        width_pt / PT_PER_MM
    }

    /// `text` with every character the font cannot draw replaced by '?', and control
    /// characters dropped (a file's patient id may hold anything; a missing glyph would
    /// print as a box and break PDF/A).
    pub fn printable(&self, text: &str) -> String {
        let Ok(font) = skrifa::FontRef::new(self.data) else {
            return String::new();
        };
        let charmap = font.charmap();
        text.chars()
            .filter(|c| !c.is_control())
            .map(|c| if charmap.map(c).is_some() { c } else { '?' })
            .collect()
    }
}

/// The faces the report uses.
#[derive(Clone)]
pub(crate) struct Fonts {
    pub sans: Face,
}

impl Fonts {
    pub fn load() -> Result<Fonts, ReportError> {
        Ok(Fonts {
            sans: Face::load("Ubuntu Light", epaint_default_fonts::UBUNTU_LIGHT)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_draws_the_symbols_the_report_prints() {
        let fonts = Fonts::load().unwrap();
        let needed = "—·°±×≥≤µ–’ %/()[]!?<>";
        assert_eq!(fonts.sans.printable(needed), needed);
        assert_eq!(fonts.sans.printable("a\u{7}b\u{4E2D}"), "ab?");
        let w = fonts.sans.width_mm("25 mm/s", 10.0);
        assert!(w > 8.0 && w < 20.0, "{w}");
    }
}
