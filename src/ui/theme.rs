//! Every colour the GUI uses, in one place (paper, grid, traces, overlay ramp).
//!
//! The paper mimics ECG chart paper: a warm white background, 1 mm minor and 5 mm major
//! red grid lines, black traces. The anomaly ramp is sequential yellow→orange→red
//! (ColorBrewer YlOrRd, colour-blind safe and perceptually ordered), shared with the PDF
//! report so screen and paper agree.

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

/// YlOrRd anchor colours at p = 0, 0.25, 0.5, 0.75, 1.
const RAMP: [[u8; 3]; 5] = [
    [255, 255, 204],
    [254, 217, 118],
    [253, 141, 60],
    [227, 26, 28],
    [128, 0, 38],
];

/// Colour for an anomaly likelihood in [0, 1] (NaN → neutral).
pub fn likelihood_rgb(p: f32) -> [u8; 3] {
    let p = if p.is_finite() { p.clamp(0.0, 1.0) } else { 0.0 };
    let x = p * 4.0;
    let i = (x.floor() as usize).min(3);
    let f = x - i as f32;
    let (a, b) = (RAMP[i], RAMP[i + 1]);
    std::array::from_fn(|k| (f32::from(a[k]) + (f32::from(b[k]) - f32::from(a[k])) * f).round() as u8)
}

/// The ramp colour with an opacity that grows with the likelihood (neutral stays clear).
pub fn likelihood_colour(p: f32, opacity: f32) -> Color32 {
    let [r, g, b] = likelihood_rgb(p);
    let p = if p.is_finite() { p.clamp(0.0, 1.0) } else { 0.0 };
    let alpha = (opacity.clamp(0.0, 1.0) * p.powf(0.7) * 255.0) as u8;
    Color32::from_rgba_unmultiplied(r, g, b, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_runs_from_pale_to_dark_red() {
        assert_eq!(likelihood_rgb(0.0), [255, 255, 204]);
        assert_eq!(likelihood_rgb(1.0), [128, 0, 38]);
        assert_eq!(likelihood_rgb(f32::NAN), [255, 255, 204]);
        // Luminance decreases monotonically (perceptually ordered).
        let lum = |c: [u8; 3]| 0.2126 * f32::from(c[0]) + 0.7152 * f32::from(c[1]) + 0.0722 * f32::from(c[2]);
        let mut last = f32::INFINITY;
        for i in 0..=20 {
            let l = lum(likelihood_rgb(i as f32 / 20.0));
            assert!(l <= last + 0.5, "luminance not monotone at {i}");
            last = l;
        }
        assert_eq!(likelihood_colour(0.0, 1.0).a(), 0);
    }
}
