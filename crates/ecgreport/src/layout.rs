//! Page geometry of the report: paper sizes, the ECG grid and the 3×4 + II layout.
//!
//! Everything is in millimetres from the page's top-left corner (y grows downwards);
//! [`PT_PER_MM`] converts to PDF points (1 pt = 1/72 in). The ECG is drawn at the
//! conventional true scale of IEC 60601-2-25 / AHA recommendations (Kligfield et al.,
//! Circulation 2007): 25 mm/s, 10 mm/mV, on a 1 mm / 5 mm grid, with a 1 mV × 200 ms
//! calibration pulse at the start of each row and 2.5 s per lead in the 3×4 layout
//! (columns at 0, 2.5, 5 and 7.5 s) above a 10 s lead II rhythm strip.

use ecgcore::paper::Layout;

/// PDF points per millimetre.
pub const PT_PER_MM: f32 = 72.0 / 25.4;
/// Paper speed (mm per second of signal).
pub const PAPER_SPEED_MM_PER_S: f32 = 25.0;
/// Gain (mm per millivolt).
pub const GAIN_MM_PER_MV: f32 = 10.0;
/// Seconds of signal shown across a row.
pub const ROW_SECONDS: f32 = 10.0;
/// Seconds per lead in the 3×4 layout.
pub const COLUMN_SECONDS: f32 = ecgcore::paper::THREE_BY_FOUR_COLUMN_S;
/// Width at the left of each row holding the calibration pulse (mm).
pub const CALIBRATION_ZONE_MM: f32 = 10.0;
/// Where the calibration pulse rises, from the grid's left edge (mm).
pub const CALIBRATION_RISE_MM: f32 = 2.0;
/// Calibration pulse: 1 mV for 200 ms.
pub const CALIBRATION_MV: f32 = 1.0;
/// Calibration pulse width (s).
pub const CALIBRATION_S: f32 = 0.2;
/// Grid width: calibration zone + 10 s (mm), a whole number of 5 mm boxes.
pub const GRID_WIDTH_MM: f32 = CALIBRATION_ZONE_MM + ROW_SECONDS * PAPER_SPEED_MM_PER_S;
/// Rows of the layout: three of four leads, one rhythm strip.
pub const ROWS: usize = 3 + 1;
/// Vertical pitch of the rows (mm), a whole number of 5 mm boxes.
pub const ROW_PITCH_MM: f32 = 35.0;
/// Grid height (mm).
pub const GRID_HEIGHT_MM: f32 = ROWS as f32 * ROW_PITCH_MM;
/// Baseline (0 mV) of each row, from the row's top (mm): leaves room for tall R waves.
pub const ROW_BASELINE_MM: f32 = 21.0;
/// Grid top, from the page top (mm).
pub const GRID_TOP_MM: f32 = 40.0;

/// The report's page layout: 3×4 with one lead II rhythm strip ([`ecgcore::paper`] defines it).
pub const REPORT_LAYOUT: Layout = Layout::THREE_BY_FOUR_II;

/// Paper size; pages are landscape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    /// ISO A4, 297 × 210 mm landscape.
    #[default]
    A4,
    /// US Letter, 11 × 8.5 in (279.4 × 215.9 mm) landscape.
    Letter,
}

impl Paper {
    /// Landscape page size (width, height) in mm.
    pub fn size_mm(self) -> (f32, f32) {
        match self {
            Paper::A4 => (297.0, 210.0),
            Paper::Letter => (279.4, 215.9),
        }
    }

    /// Landscape page size (width, height) in PDF points.
    pub fn size_pt(self) -> (f32, f32) {
        let (w, h) = self.size_mm();
        (w * PT_PER_MM, h * PT_PER_MM)
    }
}

/// Where things go on one page (mm from the top-left corner).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageFrame {
    pub width_mm: f32,
    pub height_mm: f32,
    /// Left edge of the ECG grid (also the left edge of the text blocks).
    pub grid_left_mm: f32,
    pub grid_top_mm: f32,
}

impl PageFrame {
    /// The frame for a paper size: the grid is centred horizontally.
    pub fn new(paper: Paper) -> PageFrame {
        let (width_mm, height_mm) = paper.size_mm();
        PageFrame {
            width_mm,
            height_mm,
            grid_left_mm: (width_mm - GRID_WIDTH_MM) / 2.0,
            grid_top_mm: GRID_TOP_MM,
        }
    }

    /// Right edge of the grid (mm).
    pub fn grid_right_mm(&self) -> f32 {
        self.grid_left_mm + GRID_WIDTH_MM
    }

    /// Bottom edge of the grid (mm).
    pub fn grid_bottom_mm(&self) -> f32 {
        self.grid_top_mm + GRID_HEIGHT_MM
    }

    /// The 0 mV line of row `row` (0–3) (mm).
    pub fn row_baseline_mm(&self, row: usize) -> f32 {
        self.grid_top_mm + row as f32 * ROW_PITCH_MM + ROW_BASELINE_MM
    }

    /// x of time `t_s` seconds into the displayed 10 s (mm).
    pub fn x_of_time_mm(&self, t_s: f32) -> f32 {
        self.grid_left_mm + CALIBRATION_ZONE_MM + t_s * PAPER_SPEED_MM_PER_S
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_fits_both_papers_with_margins() {
        for paper in [Paper::A4, Paper::Letter] {
            let f = PageFrame::new(paper);
            assert!(f.grid_left_mm >= 8.0, "{paper:?}");
            assert!(f.grid_bottom_mm() + 20.0 <= f.height_mm, "{paper:?}");
        }
        assert_eq!(GRID_WIDTH_MM % 5.0, 0.0);
        assert_eq!(GRID_HEIGHT_MM % 5.0, 0.0);
    }
}
