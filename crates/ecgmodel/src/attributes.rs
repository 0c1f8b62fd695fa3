//! The attributes the model predicts beside the score: age (years; PTB-XL's 300 = ">89"
//! becomes 90), sex (1 = female), heart rate (bpm, from the R peaks) and PR/QRS/QT/QTc (ms)
//! as `ecgcore` measures them; unknown values are NaN.

use crate::contract;
use ecgcore::dsp::measurements::Measurements;
use serde::{Deserialize, Serialize};

/// The seven attributes by name (NaN = unknown). The networks see them as a 7-vector in
/// [`ATTR_NAMES`] order: [`Attributes::to_array`] / [`Attributes::from_array`] are the only
/// places that order is spelled out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Attributes {
    pub age_years: f32,
    /// 1 = female, 0 = male; a prediction is the probability of female.
    pub female: f32,
    pub heart_rate_bpm: f32,
    pub pr_ms: f32,
    pub qrs_ms: f32,
    pub qt_ms: f32,
    /// QTc by Bazett.
    pub qtc_ms: f32,
}

impl Default for Attributes {
    fn default() -> Self {
        Attributes::from_array([f32::NAN; N_ATTRIBUTES])
    }
}

/// How many attributes the attribute head predicts.
pub const N_ATTRIBUTES: usize = 7;

impl Attributes {
    /// Index of the sex in the network's vector (the one attribute that is a probability).
    pub const FEMALE_INDEX: usize = 1;

    /// The network's order ([`ATTR_NAMES`]).
    pub fn to_array(self) -> [f32; N_ATTRIBUTES] {
        [
            self.age_years,
            self.female,
            self.heart_rate_bpm,
            self.pr_ms,
            self.qrs_ms,
            self.qt_ms,
            self.qtc_ms,
        ]
    }

    /// From the network's order ([`ATTR_NAMES`]).
    pub fn from_array(a: [f32; N_ATTRIBUTES]) -> Attributes {
        let [age_years, female, heart_rate_bpm, pr_ms, qrs_ms, qt_ms, qtc_ms] = a;
        Attributes {
            age_years,
            female,
            heart_rate_bpm,
            pr_ms,
            qrs_ms,
            qt_ms,
            qtc_ms,
        }
    }
}

/// Attribute order everywhere: age, sex (1 = female), HR, PR, QRS, QT, QTc.
pub const ATTR_NAMES: [&str; N_ATTRIBUTES] = [
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
) -> Attributes {
    let nan = |v: Option<f32>| v.filter(|x| x.is_finite()).unwrap_or(f32::NAN);
    let hr = meas
        .heart_rate_bpm
        .filter(|x| x.is_finite())
        .or_else(|| contract::heart_rate_bpm(beats))
        .unwrap_or(f32::NAN);
    Attributes {
        age_years: age_years.unwrap_or(f32::NAN),
        female: female.map_or(f32::NAN, |f| if f { 1.0 } else { 0.0 }),
        heart_rate_bpm: hr,
        pr_ms: nan(meas.pr_ms),
        qrs_ms: nan(meas.qrs_ms),
        qt_ms: nan(meas.qt_ms),
        qtc_ms: nan(meas.qtc_bazett_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_order_round_trips_and_names_match() {
        let a = Attributes {
            age_years: 1.0,
            female: 2.0,
            heart_rate_bpm: 3.0,
            pr_ms: 4.0,
            qrs_ms: 5.0,
            qt_ms: 6.0,
            qtc_ms: 7.0,
        };
        assert_eq!(Attributes::from_array(a.to_array()), a);
        assert_eq!(a.to_array()[Attributes::FEMALE_INDEX], a.female);
        assert_eq!(ATTR_NAMES[Attributes::FEMALE_INDEX], "female");
        assert!(Attributes::default().age_years.is_nan());
    }
}
