//! Every colour the GUI uses, in one place (paper, grid, traces, overlay ramp).
//!
//! The paper mimics ECG chart paper: a warm white background, 1 mm minor and 5 mm major
//! red grid lines, black traces. The anomaly ramp is the PDF report's
//! (`ecgreport::likelihood_colour`: pale neutral → warm dark red, perceptually ordered in
//! OKLab, colour-blind safe), so screen and paper agree.

use egui::Color32;

pub const PAPER: Color32 = Color32::from_rgb(255, 250, 247);
pub const GRID_MINOR: Color32 = Color32::from_rgb(247, 205, 200);
pub const GRID_MAJOR: Color32 = Color32::from_rgb(232, 150, 142);
pub const TRACE: Color32 = Color32::from_rgb(10, 10, 10);
pub const LABEL: Color32 = Color32::from_rgb(20, 20, 60);
pub const MISSING: Color32 = Color32::from_rgb(130, 130, 130);
pub const DERIVED: Color32 = Color32::from_rgb(60, 90, 160);
pub const CALIPER: Color32 = Color32::from_rgb(0, 110, 190);
pub const CURSOR: Color32 = Color32::from_rgb(0, 140, 90);
pub const ABNORMAL: Color32 = Color32::from_rgb(200, 40, 30);
pub const NORMAL: Color32 = Color32::from_rgb(30, 130, 60);
pub const FLAG: Color32 = Color32::from_rgb(210, 110, 0);
/// A verdict within the borderline band around the threshold.
pub const BORDERLINE: Color32 = Color32::from_rgb(180, 120, 0);
/// The prior ECG in the serial comparison.
pub const PRIOR: Color32 = Color32::from_rgb(30, 80, 200);

/// The ramp colour with an opacity that grows with the likelihood (neutral stays clear).
pub fn likelihood_colour(p: f32, opacity: f32) -> Color32 {
    let [r, g, b] = ecgreport::likelihood_colour(p);
    let p = if p.is_finite() {
        p.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let alpha = (opacity.clamp(0.0, 1.0) * p.powf(0.7) * 255.0) as u8;
    Color32::from_rgba_unmultiplied(r, g, b, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_stays_clear_and_high_likelihood_is_opaque_and_warm() {
        assert_eq!(likelihood_colour(0.0, 1.0).a(), 0);
        assert_eq!(likelihood_colour(f32::NAN, 1.0).a(), 0);
        let hot = likelihood_colour(1.0, 0.8);
        assert!(hot.a() > 190, "{hot:?}");
        let [r, g, b] = ecgreport::likelihood_colour(1.0);
        assert!(r > g && r > b, "warm end is red-dominant");
    }
}
