//! Calibration of the anomaly map against normal ECGs, per lead and beat phase.
//!
//! A network restores some parts of every normal beat less well than others (the QRS
//! complex more than the TP segment, V2 more than aVR), so one cut-off over all samples
//! paints every normal QRS as anomalous. Here each point error is first compared with the
//! errors of validation normals at the same kind of point: the same lead and the same
//! phase of the beat, the phase being the time to the next R peak (up to
//! [`PRE_R_MS`] before it: P wave, PR segment, QRS onset) or else the time since the
//! last one (up to [`POST_R_MS`] after it: QRS, ST segment, T wave), in
//! [`PHASE_BIN_MS`] bins, and one "between beats" phase for the rest (TP segment, pauses,
//! no beats found). Per cell (lead × phase): `z = (ln e − median) / (q90 − median)` of the
//! cell's normal log-errors.
//!
//! The z scale is then tied to whole studies: over the validation normals, the study
//! maximum of `z` (any lead, any sample) has quantiles ([`study_levels`]); likelihood 0.5
//! sits at their median, 0.9 at their quantile [`MapCalibration::study_q90`] (the 95th
//! percentile, [`DEFAULT_STUDY_Q90`]: `ecglab::train` measures higher ones for the model
//! card and keeps this one) and 0.99 nine tenths of the way from there to the maximum,
//! linear in between (0 at the cell median, extrapolated above 0.99 and clamped at 1). So
//! a likelihood of 0.9 means "higher, here, than that share of normal ECGs show
//! anywhere": a normal study stays pale, and a mark is a real outlier for that lead and
//! phase.
//!
//! Fitted by `ecglab::fit::map_calibration` and `ecglab::fit::restoration_knots`; applied
//! here.
//!
//! Units: point errors as the networks give them (contract units squared, smoothed);
//! samples at the model rate; R peaks in window samples.

use crate::contract::{MODEL_RATE_HZ, N_LEADS};
use serde::{Deserialize, Serialize};

/// Width of one phase bin (ms).
pub const PHASE_BIN_MS: f64 = 20.0;
/// Phases measured back from the next R peak reach this far (ms).
pub const PRE_R_MS: f64 = 280.0;
/// Phases measured from the last R peak reach this far (ms).
pub const POST_R_MS: f64 = 600.0;
/// The quantile of the normal studies' maximum z that likelihood 0.9 marks unless a
/// calibration says otherwise (calibrations written before it was chosen used it).
pub const DEFAULT_STUDY_Q90: f64 = 0.95;

/// Quantiles of the normal studies' maximum z that likelihoods 0.5, 0.9 and 0.99 mark,
/// with 0.9 at `q90`: 0.5 at the median, 0.99 nine tenths of the way from `q90` to 1.
pub fn study_levels(q90: f64) -> [(f32, f64); 3] {
    [(0.5, 0.5), (0.9, q90), (0.99, q90 + 0.9 * (1.0 - q90))]
}

fn default_study_q90() -> f64 {
    DEFAULT_STUDY_Q90
}

fn bin_samples() -> usize {
    ((PHASE_BIN_MS * MODEL_RATE_HZ / 1000.0).round() as usize).max(1)
}
fn pre_bins() -> usize {
    (PRE_R_MS / PHASE_BIN_MS).round() as usize
}
fn post_bins() -> usize {
    (POST_R_MS / PHASE_BIN_MS).round() as usize
}

/// Phases per lead: pre-R bins, post-R bins and "between beats".
pub fn n_phases() -> usize {
    pre_bins() + post_bins() + 1
}

/// Phase index of every sample of a `len`-sample window with R peaks `peaks` (sorted).
pub fn phases(peaks: &[usize], len: usize) -> Vec<usize> {
    let bin = bin_samples();
    let pre = pre_bins() * bin;
    let post = post_bins() * bin;
    let between = n_phases() - 1;
    let mut out = Vec::with_capacity(len);
    let mut next = 0; // index of the first peak > t
    for t in 0..len {
        while peaks.get(next).is_some_and(|&p| p <= t) {
            next += 1;
        }
        let to_next = peaks.get(next).map(|&p| p - t);
        let since_last = next
            .checked_sub(1)
            .and_then(|i| peaks.get(i))
            .map(|&p| t - p);
        let phase = match (to_next, since_last) {
            (Some(d), _) if d <= pre && d > 0 => pre_bins() - 1 - (d - 1) / bin,
            (_, Some(d)) if d < post => pre_bins() + d / bin,
            _ => between,
        };
        out.push(phase.min(between));
    }
    out
}

/// The piecewise-linear likelihood of `z` through the knots `(zk, pk)` (increasing; below
/// the first knot its likelihood, above the last extrapolated, clamped to [0, 1]; NaN
/// stays NaN, as do fewer than two knots).
pub fn piecewise_likelihood(z: f32, zk: &[f32], pk: &[f32]) -> f32 {
    if !z.is_finite() {
        return f32::NAN;
    }
    let n = zk.len().min(pk.len());
    if n < 2 {
        return f32::NAN;
    }
    if z <= zk[0] {
        return pk[0];
    }
    // The segment holding z, or the last one extrapolated.
    let k = (1..n).find(|&k| z <= zk[k]).unwrap_or(n - 1);
    let t = (z - zk[k - 1]) / (zk[k] - zk[k - 1]).max(1e-6);
    (pk[k - 1] + t * (pk[k] - pk[k - 1])).clamp(0.0, 1.0)
}

/// Per-lead, per-phase calibration of one network's point errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapCalibration {
    /// Phase layout the statistics were fitted with (checked on load).
    pub phase_bin_ms: f64,
    pub pre_r_ms: f64,
    pub post_r_ms: f64,
    /// Median of ln(error) per cell, `[12 × phases]` lead-major.
    pub center: Vec<f32>,
    /// q90 − median of ln(error) per cell.
    pub scale: Vec<f32>,
    /// z values of the piecewise-linear likelihood, increasing, starting at 0.
    pub z_knots: Vec<f32>,
    /// Likelihoods at `z_knots`, starting at 0.
    pub p_knots: Vec<f32>,
    /// Normal studies the calibration was fitted on.
    pub n_studies: usize,
    /// The quantile of those studies' maximum z that likelihood 0.9 marks.
    #[serde(default = "default_study_q90")]
    pub study_q90: f64,
    /// How the study score guides the map (our network only; `None`: it does not).
    #[serde(default)]
    pub guide: Option<ScoreGuide>,
}

/// The study score's share of the map. A study whose score is beyond what almost every
/// normal ECG reaches is anomalous somewhere, even where no single point is: its own most
/// deviant segments (within `z_margin` of its highest point z, [`MapCalibration::z`]) are
/// raised to the score's likelihood, so an anomalous verdict always points at the place
/// that deviates most, and a study whose score normals reach gains nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreGuide {
    /// Study scores of the piecewise-linear likelihood (increasing): fold-9 normals'
    /// quantiles.
    pub score_knots: Vec<f32>,
    /// Likelihoods at `score_knots` (0, 0.9, 0.99).
    pub p_knots: Vec<f32>,
    /// Width below the study's highest z over which the raised level fades to 0.
    pub z_margin: f32,
}

impl ScoreGuide {
    /// The level a study with this score raises its most deviant segments to.
    pub fn level(&self, score: f32) -> f32 {
        piecewise_likelihood(score, &self.score_knots, &self.p_knots)
    }

    /// Raise `map` (likelihoods, leads of samples) where `z` (same shape: point z) is
    /// within the margin of its maximum, to `level` × closeness; NaN samples stay NaN.
    pub fn apply(&self, map: &mut [Vec<f32>], z: &[Vec<f32>], level: f32) {
        if level.is_nan() || level <= 0.0 || self.z_margin.is_nan() || self.z_margin <= 0.0 {
            return;
        }
        let top = z
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f32::NEG_INFINITY, f32::max);
        if !top.is_finite() {
            return;
        }
        for (lead, zl) in map.iter_mut().zip(z) {
            for (v, &zv) in lead.iter_mut().zip(zl) {
                if v.is_finite() && zv.is_finite() {
                    let near = (1.0 - (top - zv) / self.z_margin).clamp(0.0, 1.0);
                    *v = v.max(level * near);
                }
            }
        }
    }
}

/// The log-error every cell's statistics are taken of (errors floored at 1e-7).
pub fn ln_err(e: f32) -> f32 {
    e.max(1e-7).ln()
}

impl MapCalibration {
    /// Whether this calibration was fitted with the phase layout of this build.
    pub fn matches_layout(&self) -> bool {
        (self.phase_bin_ms - PHASE_BIN_MS).abs() < 1e-9
            && (self.pre_r_ms - PRE_R_MS).abs() < 1e-9
            && (self.post_r_ms - POST_R_MS).abs() < 1e-9
            && self.center.len() == N_LEADS * n_phases()
            && self.scale.len() == self.center.len()
            && self.z_knots.len() == self.p_knots.len()
            && self.z_knots.len() >= 2
    }

    /// z of every sample of a `[12 × len]` point-error map (NaN stays NaN).
    pub fn z(&self, map: &[f32], peaks: &[usize]) -> Vec<f32> {
        let np = n_phases();
        let len = map.len() / N_LEADS;
        let ph = phases(peaks, len);
        map.iter()
            .enumerate()
            .map(|(i, &e)| {
                let (l, t) = (i / len.max(1), i % len.max(1));
                let c = l * np + ph.get(t).copied().unwrap_or(np - 1);
                match (self.center.get(c), self.scale.get(c)) {
                    (Some(m), Some(s)) if e.is_finite() => (ln_err(e) - m) / s,
                    _ => f32::NAN,
                }
            })
            .collect()
    }

    /// Likelihood in [0, 1] of one z value (NaN stays NaN).
    pub fn likelihood_of(&self, z: f32) -> f32 {
        piecewise_likelihood(z, &self.z_knots, &self.p_knots)
    }

    /// Likelihood of every sample of a `[12 × len]` point-error map with R peaks `peaks`.
    pub fn likelihood(&self, map: &[f32], peaks: &[usize]) -> Vec<f32> {
        self.z(map, peaks)
            .into_iter()
            .map(|z| self.likelihood_of(z))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_levels_keep_the_default_knots_and_stay_below_one() {
        assert_eq!(
            study_levels(DEFAULT_STUDY_Q90),
            [(0.5, 0.5), (0.9, 0.95), (0.99, 0.995)]
        );
        for q in [0.95, 0.97, 0.99, 0.995] {
            let l = study_levels(q);
            assert!(
                l[0].1 < l[1].1 && l[1].1 < l[2].1 && l[2].1 < 1.0,
                "{q}: {l:?}"
            );
        }
    }

    #[test]
    fn phases_follow_the_beat() {
        // R peaks at 1.0 s and 2.0 s (100 Hz).
        let ph = phases(&[100, 200], 300);
        let between = n_phases() - 1;
        assert_eq!(ph[0], between, "long before the first beat");
        assert_eq!(ph[99], pre_bins() - 1, "just before R");
        assert_eq!(ph[100], pre_bins(), "at R");
        assert_eq!(ph[130], pre_bins() + 15, "300 ms after R (T wave)");
        assert_eq!(
            ph[175],
            pre_bins() - 1 - 24 / 2,
            "250 ms before the next R (P wave)"
        );
        assert_eq!(ph[290], between, "900 ms after the last R");
        assert!(ph.iter().all(|&p| p < n_phases()));
        assert!(phases(&[], 50).iter().all(|&p| p == between));
    }

    #[test]
    fn the_score_guide_raises_only_an_anomalous_studys_most_deviant_segment() {
        let guide = ScoreGuide {
            score_knots: vec![2.0, 3.0, 6.0],
            p_knots: vec![0.0, 0.9, 0.99],
            z_margin: 1.0,
        };
        assert_eq!(guide.level(1.0), 0.0, "a score normals reach adds nothing");
        assert!((guide.level(3.0) - 0.9).abs() < 1e-6);
        assert!(guide.level(10.0) <= 1.0);
        // Lead 0 peaks at sample 2 (z 3.0), lead 1 comes within the margin at sample 1.
        let z = vec![vec![0.0, 1.0, 3.0, 1.5], vec![0.0, 2.5, f32::NAN, 0.0]];
        let mut map = vec![vec![0.1, 0.2, 0.3, 0.2], vec![0.1, 0.1, f32::NAN, 0.95]];
        guide.apply(&mut map, &z, 0.9);
        assert!(
            (map[0][2] - 0.9).abs() < 1e-6,
            "the peak is raised to the level"
        );
        assert!(
            (map[1][1] - 0.45).abs() < 1e-6,
            "half the margin below: half the level"
        );
        assert_eq!(map[0][0], 0.1, "far below the peak: unchanged");
        assert_eq!(map[0][3], 0.2, "1.5 below the peak: unchanged");
        assert!(map[1][2].is_nan(), "unrecorded stays unrecorded");
        assert_eq!(map[1][3], 0.95, "never lowered");
        let mut pale = vec![vec![0.1; 4]];
        guide.apply(&mut pale, &[vec![0.0, 1.0, 2.0, 3.0]], guide.level(1.5));
        assert!(
            pale[0].iter().all(|&v| v == 0.1),
            "a normal score paints nothing"
        );
    }
}
