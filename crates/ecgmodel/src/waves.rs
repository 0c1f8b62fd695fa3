//! Wave measures of the median beat, the inputs of the `waves` score component.
//!
//! The median-beat vector ([`crate::shape::beat_vector`]) modelled as one Gaussian dilutes
//! a change that only some measures show (an inferior Q wave, hypertrophy voltage, an
//! inverted T) among 984 dimensions. A cardiologist reads the same beat as a few measures
//! per lead, grouped by wave: R and S amplitude, the initial (Q) deflection, the J point
//! and ST level, the T wave's highest and lowest point, the P wave's size, the width of the
//! initial negative deflection (a pathological Q wave is 40 ms or wider), the voltage
//! criteria of hypertrophy, and the interval, axis and rhythm figures. [`wave_measures`]
//! takes those from the vector; [`WAVE_BLOCKS`] groups them, and `ecglab::fit` models each
//! group as one Gaussian of the training normals (after a robust standardization, as a
//! [`crate::score::FeatureModel`] with [`crate::score::FeatureInput::Robust`]), so that
//! each group is one distance, weighed like the encoder-feature blocks.
//!
//! Units: those of the beat vector (0.1 mV for amplitudes, the scaled interval figures);
//! the standardization removes them.

use crate::shape::{self, samples_per_lead, FROM_MS, STEP_MS};
use ecgcore::recording::StandardLead as L;

/// Per-lead measures (12 each, leads in [`ecgcore::recording::StandardLead::ALL`] order):
/// R (QRS maximum), S (QRS minimum), Q (minimum of the first 40 ms), J (mean of the 20 ms
/// after QRS end), ST (mean 40–80 ms after QRS end), T maximum and T minimum (100–400 ms
/// after QRS end), P (peak-to-peak before QRS onset, −200 to −20 ms), Q width (ms below
/// −[`Q_LEVEL_MV`] from QRS onset until the first sample above +[`Q_LEVEL_MV`]).
pub const PER_LEAD: [&str; 9] = ["r", "s", "q", "j", "st", "t_max", "t_min", "p", "q_width"];

/// Level (mV) a deflection must pass to count in the Q width.
pub const Q_LEVEL_MV: f32 = 0.05;

/// Widths of the groups each modelled as one Gaussian, in the order of
/// [`wave_measures`]: the nine per-lead measures, the two voltage criteria (Sokolow-Lyon
/// S V1 + R V5/V6, Cornell R aVL + S V3), the intervals (RR, PR, PR missing, QRS, QT), the
/// three axes (P, QRS, T as cosine and sine) and the RR irregularity.
pub const WAVE_BLOCKS: [usize; 13] = [12, 12, 12, 12, 12, 12, 12, 12, 12, 2, 5, 6, 1];

/// Names of [`WAVE_BLOCKS`], for reports.
pub const WAVE_BLOCK_NAMES: [&str; 13] = [
    "r",
    "s",
    "q",
    "j",
    "st",
    "t_max",
    "t_min",
    "p",
    "q_width",
    "voltage",
    "intervals",
    "axes",
    "rr_irregularity",
];

/// QRS durations outside this range (ms) are taken at its ends for the windows.
const QRS_WINDOW_MS: (f64, f64) = (60.0, 200.0);

/// Width (ms) of a lead's initial negative deflection: the samples of the QRS window
/// (`qrs`, from QRS onset) below −[`Q_LEVEL_MV`] before the first one above +[`Q_LEVEL_MV`].
fn q_width_ms(lead: &[f32], qrs: &[usize]) -> f32 {
    let level = Q_LEVEL_MV / crate::shape::BEAT_SCALE_MV;
    let negative = qrs
        .iter()
        .map(|&k| lead[k])
        .take_while(|&v| v <= level)
        .filter(|&v| v < -level)
        .count();
    negative as f32 * STEP_MS as f32
}

/// The measures of one beat vector (`None` when it is not one of this build's).
pub fn wave_measures(beat: &[f32]) -> Option<Vec<f32>> {
    let n = samples_per_lead();
    let scalars = shape::scaled_scalars(beat)?;
    let qrs_ms = f64::from(shape::scalar(beat, "qrs_ms")?).clamp(QRS_WINDOW_MS.0, QRS_WINDOW_MS.1);
    let t = |k: usize| FROM_MS + k as f64 * STEP_MS;
    let window = |from: f64, to: f64| -> Vec<usize> {
        (0..n).filter(|&k| t(k) >= from && t(k) <= to).collect()
    };
    let qrs = window(0.0, qrs_ms);
    let q = window(0.0, 40.0);
    let j = window(qrs_ms, qrs_ms + 20.0);
    let st = window(qrs_ms + 40.0, qrs_ms + 80.0);
    let tw = window(qrs_ms + 100.0, qrs_ms + 400.0);
    let p = window(FROM_MS, -20.0);
    let mut per_lead = vec![[0.0_f32; 12]; PER_LEAD.len()];
    for lead in 0..12 {
        let b = &beat[lead * n..(lead + 1) * n];
        let max = |w: &[usize]| w.iter().map(|&k| b[k]).fold(f32::NEG_INFINITY, f32::max);
        let min = |w: &[usize]| w.iter().map(|&k| b[k]).fold(f32::INFINITY, f32::min);
        let mean = |w: &[usize]| w.iter().map(|&k| b[k]).sum::<f32>() / w.len().max(1) as f32;
        let values = [
            max(&qrs),
            min(&qrs),
            min(&q),
            mean(&j),
            mean(&st),
            max(&tw),
            min(&tw),
            max(&p) - min(&p),
            q_width_ms(b, &qrs),
        ];
        for (m, v) in values.into_iter().enumerate() {
            per_lead[m][lead] = if v.is_finite() { v } else { 0.0 };
        }
    }
    let r = |l: L| per_lead[0][l.index()];
    let s = |l: L| per_lead[1][l.index()];
    let sokolow = -s(L::V1) + r(L::V5).max(r(L::V6));
    let cornell = r(L::AVL) - s(L::V3);
    let mut out: Vec<f32> = per_lead.concat();
    out.extend([sokolow, cornell]);
    out.extend_from_slice(scalars);
    debug_assert_eq!(out.len(), WAVE_BLOCKS.iter().sum::<usize>());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A beat vector with one lead's QRS drawn as a 1 mV R wave and the T wave inverted.
    fn beat(r_mv: f32, t_mv: f32) -> Vec<f32> {
        let n = samples_per_lead();
        let mut v = vec![0.0_f32; crate::shape::dim()];
        let at = |ms: f64| ((ms - FROM_MS) / STEP_MS).round() as usize;
        for lead in 0..12 {
            v[lead * n + at(40.0)] = r_mv / crate::shape::BEAT_SCALE_MV;
            v[lead * n + at(350.0)] = t_mv / crate::shape::BEAT_SCALE_MV;
        }
        // QRS 100 ms.
        let (qrs, divisor) = shape::scalar_slot("qrs_ms").unwrap();
        v[qrs] = 100.0 / divisor;
        v
    }

    #[test]
    fn measures_read_the_waves_where_they_are() {
        let m = wave_measures(&beat(1.0, -0.3)).expect("a beat vector of this build");
        assert_eq!(m.len(), WAVE_BLOCKS.iter().sum::<usize>());
        let at = |name: &str| 12 * PER_LEAD.iter().position(|n| *n == name).unwrap();
        // R of lead I: 1 mV = 10 units; T minimum −3 units; T maximum 0; no Q wave.
        assert!((m[at("r")] - 10.0).abs() < 1e-5);
        assert!((m[at("t_min")] + 3.0).abs() < 1e-5);
        assert!(m[at("t_max")].abs() < 1e-5);
        assert_eq!(m[at("q_width")], 0.0);
        // Sokolow-Lyon: S V1 is 0, R V5 is 10 units.
        let voltage = 12 * PER_LEAD.len();
        assert!((m[voltage] - 10.0).abs() < 1e-5);
        // The figures follow as stored: the QRS one among them.
        assert_eq!(shape::scalar(&beat(1.0, -0.3), "qrs_ms"), Some(100.0));
        let (qrs, _) = shape::scalar_slot("qrs_ms").unwrap();
        let first = 12 * samples_per_lead();
        assert_eq!(m[voltage + 2 + qrs - first], v_qrs(&beat(1.0, -0.3)));
    }

    #[test]
    fn a_q_wave_is_measured_until_the_first_positive_deflection() {
        let n = samples_per_lead();
        let mut v = beat(1.0, 0.2);
        let at = |ms: f64| ((ms - FROM_MS) / STEP_MS).round() as usize;
        // Lead III (index 2): −0.3 mV from 0 to 30 ms (four samples), then 0 until its R
        // at 60 ms.
        for ms in [0.0, 10.0, 20.0, 30.0] {
            v[2 * n + at(ms)] = -3.0;
        }
        v[2 * n + at(40.0)] = 0.0;
        v[2 * n + at(60.0)] = 10.0;
        let m = wave_measures(&v).unwrap();
        let q_width = 12 * PER_LEAD.iter().position(|n| *n == "q_width").unwrap();
        assert_eq!(m[q_width + 2], 40.0);
        assert_eq!(m[q_width], 0.0, "lead I has no Q wave");
    }

    fn v_qrs(v: &[f32]) -> f32 {
        v[shape::scalar_slot("qrs_ms").unwrap().0]
    }

    #[test]
    fn a_vector_of_another_length_has_no_measures() {
        assert!(wave_measures(&[0.0; 10]).is_none());
    }
}
