//! The attributes the model predicts beside the score: age (years; PTB-XL's 300 = ">89"
//! becomes 90), sex (1 = female), heart rate (bpm, from the R peaks) and PR/QRS/QT/QTc (ms)
//! as `ecgcore` measures them; unknown values are NaN.

use crate::contract;
use ecgcore::dsp::measurements::Measurements;

/// Attribute order everywhere: age, sex (1 = female), HR, PR, QRS, QT, QTc.
pub const ATTR_NAMES: [&str; 7] = [
    "age_years",
    "female",
    "heart_rate_bpm",
    "pr_ms",
    "qrs_ms",
    "qt_ms",
    "qtc_ms",
];

/// Attribute targets of one prepared window: age/sex from metadata, HR from R peaks,
/// PR/QRS/QT/QTc (Bazett) from `ecgcore::dsp::measurements`.
pub fn attribute_targets(
    meas: &Measurements,
    beats: &[usize],
    age_years: Option<f32>,
    female: Option<bool>,
) -> [f32; 7] {
    let nan = |v: Option<f32>| v.filter(|x| x.is_finite()).unwrap_or(f32::NAN);
    let hr = meas
        .heart_rate_bpm
        .filter(|x| x.is_finite())
        .or_else(|| contract::heart_rate_bpm(beats))
        .unwrap_or(f32::NAN);
    [
        age_years.unwrap_or(f32::NAN),
        female.map_or(f32::NAN, |f| if f { 1.0 } else { 0.0 }),
        hr,
        nan(meas.pr_ms),
        nan(meas.qrs_ms),
        nan(meas.qt_ms),
        nan(meas.qtc_bazett_ms),
    ]
}
