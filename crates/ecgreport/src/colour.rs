//! Colours of the report. The anomaly-likelihood ramp is `ecgsession::ramp`, shared with
//! the GUI so screen and paper agree.

pub use ecgsession::ramp::{likelihood_colour, relative_luminance, Rgb};

/// Fixed colours of the printed page (one place, as the style guide asks).
pub(crate) mod theme {
    use super::Rgb;
    // The grid is blue-grey rather than the pink of thermal paper: warm colours are
    // reserved for the anomaly likelihood, and a translucent warm band over a pink 5 mm
    // line would be the same hue as the line.
    /// ECG paper: 1 mm lines.
    pub const GRID_MINOR: Rgb = [204, 220, 238];
    /// ECG paper: 5 mm lines.
    pub const GRID_MAJOR: Rgb = [128, 160, 204];
    /// Traces, calibration pulses and body text.
    pub const INK: Rgb = [0, 0, 0];
    /// Secondary text (labels, units, reasons).
    pub const MUTED: Rgb = [90, 90, 90];
    /// Verdict "outside the normal range" and flagged gaps.
    pub const ALERT: Rgb = [170, 40, 20];
    /// Verdict "within the normal range".
    pub const CALM: Rgb = [30, 90, 60];
    /// A verdict within the borderline band around the threshold.
    pub const BORDERLINE: Rgb = [160, 100, 0];
    /// Box outlines and rules.
    pub const RULE: Rgb = [150, 150, 150];
    /// The prior ECG's traces on the comparison page.
    pub const PRIOR: Rgb = [40, 80, 190];
    /// Placeholder text for a lead that is not in the file.
    pub const MISSING: Rgb = [120, 120, 120];
}
