//! The anomaly-likelihood ramp: one colour scale for the screen and the PDF.
//!
//! The ramp [`likelihood_colour`] runs from neutral light grey (p = 0, "like the normal
//! ECGs") through sand and orange to a dark brick red (p = 1). It is built in OKLab
//! (Ottosson 2020, <https://bottosson.github.io/posts/oklab/>): lightness falls linearly
//! from 0.93 to 0.40 and chroma rises linearly from 0 while the hue turns from yellow
//! (95°) to red (30°). Because lightness alone is monotonic, the ramp reads correctly for
//! every kind of colour-vision deficiency and in greyscale print; equal steps in p give
//! near-equal perceptual steps (constant ΔL, slowly growing ΔC). Colours outside sRGB are
//! brought in by reducing chroma at constant lightness and hue.
//!
//! Units: sRGB 8-bit triples.

/// sRGB triple, 0–255 per channel.
pub type Rgb = [u8; 3];

/// Lightness (OKLab L) at p = 0 and p = 1.
const RAMP_LIGHTNESS: (f32, f32) = (0.93, 0.40);
/// Chroma (OKLab C) at p = 1; 0 at p = 0.
const RAMP_MAX_CHROMA: f32 = 0.17;
/// Hue (degrees) at p = 0 and p = 1.
const RAMP_HUE_DEG: (f32, f32) = (95.0, 30.0);

/// Colour of an anomaly likelihood `p` in [0, 1] (clamped; NaN counts as 0).
///
/// Perceptually ordered, colour-blind-safe neutral → warm ramp (see the module notes).
/// The GUI uses the same function so screen and paper agree.
///
/// ```
/// let neutral = ecgsession::ramp::likelihood_colour(0.0);
/// let warm = ecgsession::ramp::likelihood_colour(1.0);
/// assert_eq!(neutral[0], neutral[2]); // grey
/// assert!(warm[0] > warm[2]);         // red dominates
/// ```
pub fn likelihood_colour(p: f32) -> Rgb {
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
    let lightness = RAMP_LIGHTNESS.0 + (RAMP_LIGHTNESS.1 - RAMP_LIGHTNESS.0) * p;
    let hue = (RAMP_HUE_DEG.0 + (RAMP_HUE_DEG.1 - RAMP_HUE_DEG.0) * p).to_radians();
    let mut chroma = RAMP_MAX_CHROMA * p;
    // Reduce chroma until the colour fits in sRGB (at most a few halvings).
    for _ in 0..24 {
        let rgb = linear_srgb_from_oklab(lightness, chroma * hue.cos(), chroma * hue.sin());
        if rgb.iter().all(|c| (-1e-4..=1.0001).contains(c)) {
            return rgb.map(srgb_u8_from_linear);
        }
        chroma *= 0.9;
    }
    let rgb = linear_srgb_from_oklab(lightness, 0.0, 0.0);
    rgb.map(srgb_u8_from_linear)
}

/// OKLab → linear sRGB (Ottosson's reference matrices).
fn linear_srgb_from_oklab(l: f32, a: f32, b: f32) -> [f32; 3] {
    let l_ = l + 0.396_337_78 * a + 0.215_803_76 * b;
    let m_ = l - 0.105_561_346 * a - 0.063_854_17 * b;
    let s_ = l - 0.089_484_18 * a - 1.291_485_5 * b;
    let (l3, m3, s3) = (l_ * l_ * l_, m_ * m_ * m_, s_ * s_ * s_);
    [
        4.076_741_7 * l3 - 3.307_711_6 * m3 + 0.230_969_94 * s3,
        -1.268_438 * l3 + 2.609_757_4 * m3 - 0.341_319_38 * s3,
        -0.004_196_086_3 * l3 - 0.703_418_6 * m3 + 1.707_614_7 * s3,
    ]
}

/// Linear-light channel → gamma-encoded 8-bit sRGB (IEC 61966-2-1).
fn srgb_u8_from_linear(c: f32) -> u8 {
    let c = c.clamp(0.0, 1.0);
    let v = if c <= 0.003_130_8 {
        12.92 * c
    } else {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    };
    (v * 255.0).round().clamp(0.0, 255.0) as u8
}

/// Relative luminance (WCAG) of an 8-bit sRGB colour, for tests and contrast checks.
pub fn relative_luminance(rgb: Rgb) -> f32 {
    let lin = |c: u8| {
        let c = f32::from(c) / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_is_monotonic_in_lightness_and_neutral_at_zero() {
        let zero = likelihood_colour(0.0);
        assert!(zero[0].abs_diff(zero[1]) <= 1 && zero[1].abs_diff(zero[2]) <= 1);
        let mut previous = f32::INFINITY;
        for i in 0..=100 {
            let y = relative_luminance(likelihood_colour(i as f32 / 100.0));
            assert!(y < previous, "luminance must fall monotonically (step {i})");
            previous = y;
        }
        let one = likelihood_colour(1.0);
        assert!(one[0] > 120 && one[1] < 80 && one[2] < 80, "{one:?}");
    }

    #[test]
    fn ramp_clamps_out_of_range_and_nan() {
        assert_eq!(likelihood_colour(f32::NAN), likelihood_colour(0.0));
        assert_eq!(likelihood_colour(-3.0), likelihood_colour(0.0));
        assert_eq!(likelihood_colour(7.0), likelihood_colour(1.0));
    }
}
