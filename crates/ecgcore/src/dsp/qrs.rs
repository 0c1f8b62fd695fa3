//! Multi-lead QRS detection (R-peak / QRS fiducial sample indices).
//!
//! Algorithm (in the spirit of Pan & Tompkins, IEEE TBME 1985, made multi-lead as in
//! the spatial-velocity detectors of commercial 12-lead programs):
//! 1. each lead is band-passed 5–20 Hz (zero-phase, [`super::filter`]) and differentiated;
//! 2. the absolute slope of each lead is divided by that lead's robust QRS slope scale
//!    (median of per-window maxima), so every lead votes with the same weight and one
//!    noisy or huge lead cannot dominate; the votes are summed across leads;
//! 3. the sum is smoothed by a centred 80 ms moving average (QRS energy envelope);
//! 4. peaks of the envelope at least 200 ms apart and above 30 % of the typical beat
//!    level are beats; a late, low-slope peak within 360 ms of a beat is a T wave and is
//!    dropped (Pan–Tompkins); long gaps (> 1.66 × median RR) are searched back at half
//!    the threshold;
//! 5. each beat is placed at the maximum of the summed, normalised band-passed amplitude
//!    within ±60 ms of the envelope peak (a fiducial that is stable from beat to beat,
//!    which is what median-beat alignment needs).
//!
//! Input: leads of equal length (`NaN` allowed; treated as no information), sample rate
//! in Hz (any, ≥ 50 Hz meaningful). Output: sorted sample indices. Never panics.

use super::filter;

/// Shortest allowed RR interval (s): 300 bpm.
const REFRACTORY_S: f64 = 0.2;
/// Envelope smoothing window (s).
const ENVELOPE_S: f64 = 0.08;
/// Fraction of the typical beat level a peak must reach.
const THRESHOLD_FRACTION: f32 = 0.3;

/// Band-pass a lead for QRS detection (5–20 Hz, zero phase); `NaN` stays `NaN`.
pub fn qrs_band(x: &[f32], sample_rate_hz: f64) -> Vec<f32> {
    let hi = (0.45 * sample_rate_hz).min(20.0);
    filter::bandpass(x, sample_rate_hz, 5.0, hi)
}

/// Robust scale of a non-negative feature: the median of its maxima over 1 s windows
/// (ignoring `NaN`); `None` when the lead carries nothing.
fn robust_scale(feature: &[f32], window: usize) -> Option<f32> {
    let window = window.max(1);
    let mut maxima: Vec<f32> = feature
        .chunks(window)
        .filter_map(|c| {
            c.iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(None, |m: Option<f32>, v| Some(m.map_or(v, |m| m.max(v))))
        })
        .collect();
    if maxima.is_empty() {
        return None;
    }
    let mid = maxima.len() / 2;
    let (_, m, _) = maxima.select_nth_unstable_by(mid, f32::total_cmp);
    let m = *m;
    (m.is_finite() && m > 0.0).then_some(m)
}

/// Centred moving average over `width` samples (edges use the available samples).
fn moving_average(x: &[f32], width: usize) -> Vec<f32> {
    let n = x.len();
    let half = width / 2;
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0_f64);
    let mut acc = 0.0_f64;
    for &v in x {
        acc += f64::from(v);
        prefix.push(acc);
    }
    (0..n)
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(n);
            ((prefix[hi] - prefix[lo]) / (hi - lo) as f64) as f32
        })
        .collect()
}

/// Per-lead QRS-band signals and the combined detection features.
struct Features {
    /// Summed normalised |slope|, smoothed (the QRS envelope).
    envelope: Vec<f32>,
    /// Summed normalised |band-passed amplitude| (for fiducial placement).
    amplitude: Vec<f32>,
    /// Summed normalised |slope| before smoothing.
    slope: Vec<f32>,
}

fn features(leads: &[&[f32]], sample_rate_hz: f64) -> Option<Features> {
    let n = leads.first().map_or(0, |l| l.len());
    if n < 3 {
        return None;
    }
    let window = (sample_rate_hz.max(1.0)).round() as usize;
    let mut slope_sum = vec![0.0_f32; n];
    let mut amp_sum = vec![0.0_f32; n];
    let mut used = 0;
    let same_length: Vec<&[f32]> = leads.iter().copied().filter(|l| l.len() == n).collect();
    let hi = (0.45 * sample_rate_hz).min(20.0);
    let bands = filter::bandpass_many(&same_length, sample_rate_hz, 5.0, hi);
    for band in bands {
        let mut slope = vec![0.0_f32; n];
        for i in 1..n - 1 {
            let d = (band[i + 1] - band[i - 1]) * 0.5;
            slope[i] = if d.is_finite() { d.abs() } else { 0.0 };
        }
        let amp: Vec<f32> = band
            .iter()
            .map(|v| if v.is_finite() { v.abs() } else { 0.0 })
            .collect();
        let (Some(s_scale), Some(a_scale)) =
            (robust_scale(&slope, window), robust_scale(&amp, window))
        else {
            continue;
        };
        used += 1;
        for ((acc, s), (acc_a, a)) in slope_sum
            .iter_mut()
            .zip(&slope)
            .zip(amp_sum.iter_mut().zip(&amp))
        {
            // Clip each lead's vote so a single artefact cannot outvote the others.
            *acc += (s / s_scale).min(3.0);
            *acc_a += (a / a_scale).min(3.0);
        }
    }
    if used == 0 {
        return None;
    }
    let width = ((ENVELOPE_S * sample_rate_hz).round() as usize).max(1);
    Some(Features {
        envelope: moving_average(&slope_sum, width),
        amplitude: amp_sum,
        slope: slope_sum,
    })
}

/// Local maxima of `x` that are the largest within ±`half` samples (first one wins ties).
fn dominant_peaks(x: &[f32], half: usize) -> Vec<usize> {
    let n = x.len();
    let mut peaks = Vec::new();
    let mut i = 0;
    while i < n {
        let lo = i.saturating_sub(half);
        let hi = (i + half + 1).min(n);
        let v = x[i];
        let is_max = v > 0.0
            && x[lo..hi]
                .iter()
                .enumerate()
                .all(|(k, &w)| w < v || (w == v && lo + k >= i));
        if is_max {
            peaks.push(i);
            i += half.max(1);
        } else {
            i += 1;
        }
    }
    peaks
}

fn median_usize(v: &[usize]) -> Option<usize> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    Some(s[s.len() / 2])
}

/// Detect QRS complexes in simultaneously recorded leads.
///
/// `leads` are equally long sample slices (mV, `NaN` allowed); leads of a different
/// length than the first are ignored. Returns the sorted sample indices of the QRS
/// fiducial (the point of maximal summed band-passed amplitude, close to the R peak).
pub fn detect_qrs(leads: &[&[f32]], sample_rate_hz: f64) -> Vec<usize> {
    if !(sample_rate_hz.is_finite() && sample_rate_hz >= 20.0) {
        return Vec::new();
    }
    let Some(f) = features(leads, sample_rate_hz) else {
        return Vec::new();
    };
    let n = f.envelope.len();
    let refractory = ((REFRACTORY_S * sample_rate_hz).round() as usize).max(1);
    let candidates = dominant_peaks(&f.envelope, refractory / 2);
    if candidates.is_empty() {
        return Vec::new();
    }
    // Typical beat level: the median of the largest candidates, as many as beats at 40 bpm.
    let mut amps: Vec<f32> = candidates.iter().map(|&i| f.envelope[i]).collect();
    amps.sort_unstable_by(|a, b| b.total_cmp(a));
    let duration_s = n as f64 / sample_rate_hz;
    let k = ((duration_s * 40.0 / 60.0).floor() as usize).clamp(1, amps.len());
    let level = amps[(k - 1) / 2];
    if !(level.is_finite() && level > 0.0) {
        return Vec::new();
    }
    let threshold = THRESHOLD_FRACTION * level;

    // Greedy acceptance in time order with refractory period and T-wave rejection.
    let max_slope = |i: usize| -> f32 {
        let half = (0.05 * sample_rate_hz) as usize;
        let lo = i.saturating_sub(half);
        let hi = (i + half + 1).min(n);
        f.slope[lo..hi].iter().copied().fold(0.0, f32::max)
    };
    let t_window = (0.36 * sample_rate_hz) as usize;
    let mut beats: Vec<usize> = Vec::new();
    for &c in &candidates {
        if f.envelope[c] < threshold {
            continue;
        }
        if let Some(&last) = beats.last() {
            let gap = c - last;
            if gap < refractory {
                if f.envelope[c] > f.envelope[last] {
                    beats.pop();
                    beats.push(c);
                }
                continue;
            }
            if gap < t_window && max_slope(c) < 0.5 * max_slope(last) {
                continue;
            }
        }
        beats.push(c);
    }

    // Search back in long gaps at half the threshold.
    if beats.len() >= 2 {
        let rrs: Vec<usize> = beats.windows(2).map(|w| w[1] - w[0]).collect();
        if let Some(med) = median_usize(&rrs) {
            let limit = med + med * 2 / 3;
            let mut added = Vec::new();
            for w in beats.windows(2) {
                if w[1] - w[0] > limit {
                    let best = candidates
                        .iter()
                        .copied()
                        .filter(|&c| {
                            c > w[0] + refractory
                                && c + refractory < w[1]
                                && f.envelope[c] >= 0.5 * threshold
                        })
                        .max_by(|&a, &b| f.envelope[a].total_cmp(&f.envelope[b]));
                    if let Some(b) = best {
                        added.push(b);
                    }
                }
            }
            beats.extend(added);
            beats.sort_unstable();
        }
    }

    // Fiducial: maximum summed normalised band-passed amplitude near the envelope peak.
    let half = ((0.06 * sample_rate_hz).round() as usize).max(1);
    let mut out: Vec<usize> = beats
        .iter()
        .map(|&b| {
            let lo = b.saturating_sub(half);
            let hi = (b + half + 1).min(n);
            f.amplitude[lo..hi]
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(b, |(k, _)| lo + k)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A synthetic beat train: Gaussian P, QRS (Q, R, S) and T waves at `rr_s` spacing.
    /// Returns the signal and the R-peak sample indices.
    pub(crate) fn synthetic_lead(
        fs: f64,
        duration_s: f64,
        rr_s: &[f64],
        gain: f32,
    ) -> (Vec<f32>, Vec<usize>) {
        let n = (duration_s * fs) as usize;
        let mut x = vec![0.0_f32; n];
        let mut r_peaks = Vec::new();
        let mut t = 0.5;
        let mut k = 0;
        while t < duration_s - 0.6 {
            r_peaks.push((t * fs).round() as usize);
            let waves: [(f64, f64, f64); 5] = [
                (-0.18, 0.15, 0.020),  // P
                (-0.025, -0.1, 0.008), // Q
                (0.0, 1.2, 0.010),     // R
                (0.025, -0.25, 0.008), // S
                (0.28, 0.3, 0.045),    // T
            ];
            for (i, v) in x.iter_mut().enumerate() {
                let ti = i as f64 / fs - t;
                if ti.abs() > 0.5 {
                    continue;
                }
                let mut s = 0.0;
                for (c, a, w) in waves {
                    s += a * (-((ti - c) / w).powi(2) / 2.0).exp();
                }
                *v += gain * s as f32;
            }
            t += rr_s[k % rr_s.len()];
            k += 1;
        }
        (x, r_peaks)
    }

    fn matches(found: &[usize], truth: &[usize], tol: usize) -> usize {
        truth
            .iter()
            .filter(|&&t| found.iter().any(|&f| f.abs_diff(t) <= tol))
            .count()
    }

    #[test]
    fn finds_every_beat_on_a_clean_train() {
        for fs in [100.0, 250.0, 500.0, 1000.0] {
            let (x, truth) = synthetic_lead(fs, 10.0, &[0.8], 1.0);
            let (y, _) = synthetic_lead(fs, 10.0, &[0.8], -0.5);
            let found = detect_qrs(&[&x, &y], fs);
            let tol = (0.03 * fs) as usize;
            assert_eq!(found.len(), truth.len(), "fs {fs}: {found:?} vs {truth:?}");
            assert_eq!(matches(&found, &truth, tol), truth.len(), "fs {fs}");
        }
    }

    #[test]
    fn irregular_rhythm_and_noise() {
        let fs = 500.0;
        // AF-like irregular RR between 0.4 and 1.2 s.
        let (mut x, truth) = synthetic_lead(fs, 10.0, &[0.45, 1.1, 0.6, 0.9, 0.4, 1.2, 0.7], 1.0);
        // Deterministic pseudo-noise (LCG) of 0.05 mV and 50 Hz hum.
        let mut seed: u32 = 12345;
        for (i, v) in x.iter_mut().enumerate() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let r = (seed >> 8) as f32 / (1 << 24) as f32 - 0.5;
            *v += 0.1 * r + 0.1 * (2.0 * std::f32::consts::PI * 50.0 * i as f32 / 500.0).sin();
        }
        let found = detect_qrs(&[&x], fs);
        assert_eq!(found.len(), truth.len(), "{found:?} vs {truth:?}");
        assert_eq!(matches(&found, &truth, 15), truth.len());
    }

    #[test]
    fn nan_leads_and_gaps_are_tolerated() {
        let fs = 500.0;
        let (x, truth) = synthetic_lead(fs, 10.0, &[1.0], 1.0);
        let nan = vec![f32::NAN; x.len()];
        let mut gappy = x.clone();
        for v in &mut gappy[2000..2600] {
            *v = f32::NAN;
        }
        let found = detect_qrs(&[&nan, &gappy, &x], fs);
        assert_eq!(matches(&found, &truth, 15), truth.len());
    }

    #[test]
    fn degenerate_inputs_give_nothing() {
        assert!(detect_qrs(&[], 500.0).is_empty());
        assert!(detect_qrs(&[&[]], 500.0).is_empty());
        assert!(detect_qrs(&[&[1.0]], 500.0).is_empty());
        let flat = vec![0.0_f32; 5000];
        assert!(detect_qrs(&[&flat], 500.0).is_empty());
        let nan = vec![f32::NAN; 5000];
        assert!(detect_qrs(&[&nan], 500.0).is_empty());
        let (x, _) = synthetic_lead(500.0, 10.0, &[1.0], 1.0);
        assert!(detect_qrs(&[&x], f64::NAN).is_empty());
        assert!(detect_qrs(&[&x], 0.0).is_empty());
    }
}
