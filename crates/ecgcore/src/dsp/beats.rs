//! Dominant-beat selection and the median (representative) beat.
//!
//! As clinical 12-lead programs do (e.g. the Glasgow and GE 12SL programs; see also
//! Kligfield et al., "Recommendations for the standardization and interpretation of the
//! electrocardiogram", Circulation 2007), intervals are measured on one representative
//! beat built from the dominant beats:
//! 1. every detected QRS is cut out over ±60 ms on all leads and compared with the
//!    sample-wise median of all QRS complexes (the initial template);
//! 2. each beat is re-aligned to the template by the lag (±40 ms) that maximises their
//!    dot product, which removes fiducial jitter (R vs S peak);
//! 3. beats whose correlation with the template is ≥ 0.9 (at least the best half when
//!    few reach it) are dominant; ectopic (different-shape) beats are left out;
//! 4. the median beat is the sample-wise median over dominant beats, per lead, over a
//!    window of [`PRE_S`] before to [`POST_S`] after the fiducial (`NaN`s ignored).
//!
//! Units: samples in mV, positions in samples at the recording's rate.

/// Median-beat window before the QRS fiducial (s).
pub const PRE_S: f64 = 0.5;
/// Median-beat window after the QRS fiducial (s).
pub const POST_S: f64 = 0.7;
/// Correlation with the template that makes a beat dominant.
const DOMINANT_CORRELATION: f32 = 0.9;

/// The representative beat of a recording.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MedianBeat {
    /// One median waveform per input lead (same order), `len()` samples each.
    pub leads: Vec<Vec<f32>>,
    /// Index of the QRS fiducial within each waveform.
    pub fiducial: usize,
    /// Indices (into the detected beats) of the dominant beats that were averaged.
    pub dominant: Vec<usize>,
    /// Aligned fiducial of every detected beat (recording sample index).
    pub aligned_peaks: Vec<usize>,
    /// Correlation of every detected beat with the template.
    pub correlation: Vec<f32>,
}

impl MedianBeat {
    /// Samples per lead.
    pub fn len(&self) -> usize {
        self.leads.first().map_or(0, Vec::len)
    }

    /// True when there is no waveform.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Median of the finite values of `v` (reorders `v`); `NaN` when none.
pub(crate) fn median_in_place(v: &mut Vec<f32>) -> f32 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f32::NAN;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    let upper = *m;
    if v.len() % 2 == 1 {
        upper
    } else {
        let lower = v[..mid].iter().copied().fold(f32::NEG_INFINITY, f32::max);
        0.5 * (lower + upper)
    }
}

/// Sample `lead[i]` or `NaN` outside.
fn at(lead: &[f32], i: isize) -> f32 {
    if i < 0 {
        return f32::NAN;
    }
    lead.get(i as usize).copied().unwrap_or(f32::NAN)
}

/// Cut `[c − pre, c + post)` from every lead, concatenated (`NaN` outside the record).
fn cut(leads: &[&[f32]], c: isize, pre: isize, post: isize) -> Vec<f32> {
    let mut out = Vec::with_capacity(leads.len() * (pre + post) as usize);
    for lead in leads {
        for k in -pre..post {
            out.push(at(lead, c + k));
        }
    }
    out
}

/// Pearson correlation over pairs where both are finite (0 when undefined).
fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let (mut n, mut sa, mut sb) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (&x, &y) in a.iter().zip(b) {
        if x.is_finite() && y.is_finite() {
            n += 1.0;
            sa += f64::from(x);
            sb += f64::from(y);
        }
    }
    if n < 3.0 {
        return 0.0;
    }
    let (ma, mb) = (sa / n, sb / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        if x.is_finite() && y.is_finite() {
            let (dx, dy) = (f64::from(x) - ma, f64::from(y) - mb);
            sab += dx * dy;
            saa += dx * dx;
            sbb += dy * dy;
        }
    }
    if saa <= 0.0 || sbb <= 0.0 {
        return 0.0;
    }
    (sab / (saa * sbb).sqrt()) as f32
}

/// Sample-wise median over several equally long vectors.
fn pointwise_median(rows: &[Vec<f32>]) -> Vec<f32> {
    let len = rows.first().map_or(0, Vec::len);
    let mut column = Vec::with_capacity(rows.len());
    (0..len)
        .map(|i| {
            column.clear();
            column.extend(rows.iter().filter_map(|r| r.get(i).copied()));
            median_in_place(&mut column)
        })
        .collect()
}

/// Build the median beat of `leads` (already filtered for measurement) around the QRS
/// fiducials `peaks`. `None` when there are no beats or no leads.
pub fn median_beat(leads: &[&[f32]], peaks: &[usize], sample_rate_hz: f64) -> Option<MedianBeat> {
    if leads.is_empty() || peaks.is_empty() || !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0)
    {
        return None;
    }
    let samples = |s: f64| ((s * sample_rate_hz).round() as isize).max(1);
    let qrs_half = samples(0.06);
    let max_lag = samples(0.04);

    // 1. Initial template from all QRS complexes.
    let qrs: Vec<Vec<f32>> = peaks
        .iter()
        .map(|&p| cut(leads, p as isize, qrs_half, qrs_half + 1))
        .collect();
    let template = pointwise_median(&qrs);

    // 2. Align each beat to the template (staying inside the recording).
    let record_len = leads.iter().map(|l| l.len()).max().unwrap_or(0) as isize;
    let width = (2 * qrs_half + 1) as usize;
    let aligned: Vec<usize> = peaks
        .iter()
        .map(|&p| {
            let p = p as isize;
            let mut best = (f32::NEG_INFINITY, p);
            for lag in -max_lag..=max_lag {
                let c = p + lag;
                if c < 0 || c >= record_len {
                    continue;
                }
                let mut score = 0.0_f32;
                for (lead, tmpl) in leads.iter().zip(template.chunks(width)) {
                    let start = c - qrs_half;
                    for (k, &t) in tmpl.iter().enumerate() {
                        let v = at(lead, start + k as isize);
                        if v.is_finite() && t.is_finite() {
                            score += v * t;
                        }
                    }
                }
                // Prefer small lags on ties.
                if score > best.0 + 1e-6
                    || (score >= best.0 - 1e-6 && lag.abs() < (best.1 - p).abs())
                {
                    best = (score, c);
                }
            }
            best.1.max(0) as usize
        })
        .collect();

    // 3. Correlation with a template rebuilt from the aligned beats; pick dominant beats.
    let qrs_aligned: Vec<Vec<f32>> = aligned
        .iter()
        .map(|&p| cut(leads, p as isize, qrs_half, qrs_half + 1))
        .collect();
    let template = pointwise_median(&qrs_aligned);
    let corr: Vec<f32> = qrs_aligned
        .iter()
        .map(|b| correlation(b, &template))
        .collect();
    let mut dominant: Vec<usize> = (0..aligned.len())
        .filter(|&i| corr[i] >= DOMINANT_CORRELATION)
        .collect();
    let half = aligned.len().div_ceil(2);
    if dominant.len() < half.min(3) {
        let mut order: Vec<usize> = (0..aligned.len()).collect();
        order.sort_unstable_by(|&a, &b| corr[b].total_cmp(&corr[a]));
        dominant = order.into_iter().take(half).collect();
        dominant.sort_unstable();
    }

    // 4. Median over dominant beats, per lead.
    let pre = samples(PRE_S);
    let post = samples(POST_S);
    let len = (pre + post) as usize;
    let mut out_leads = Vec::with_capacity(leads.len());
    let mut column = Vec::with_capacity(dominant.len());
    for lead in leads {
        let wave: Vec<f32> = (0..len)
            .map(|k| {
                column.clear();
                column.extend(
                    dominant
                        .iter()
                        .map(|&b| at(lead, aligned[b] as isize - pre + k as isize)),
                );
                median_in_place(&mut column)
            })
            .collect();
        out_leads.push(wave);
    }
    Some(MedianBeat {
        leads: out_leads,
        fiducial: pre as usize,
        dominant,
        aligned_peaks: aligned,
        correlation: corr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::qrs::tests::synthetic_lead;

    #[test]
    fn median_of_identical_beats_is_the_beat() {
        let fs = 500.0;
        let (x, peaks) = synthetic_lead(fs, 10.0, &[0.9], 1.0);
        let mb = median_beat(&[&x], &peaks, fs).unwrap();
        assert_eq!(mb.fiducial, 250);
        assert_eq!(mb.len(), 600);
        // R peak amplitude at the fiducial (1.2 mV minus Q/S tails).
        assert!((mb.leads[0][mb.fiducial] - 1.2).abs() < 0.05);
        assert_eq!(mb.dominant.len(), peaks.len());
    }

    #[test]
    fn ectopic_beat_is_excluded_and_jitter_removed() {
        let fs = 500.0;
        let (mut x, peaks) = synthetic_lead(fs, 10.0, &[0.9], 1.0);
        // Make beat 3 an inverted wide "PVC".
        let p = peaks[3];
        for v in &mut x[p - 60..p + 60] {
            *v = -*v * 0.5;
        }
        // Jitter the fiducials by a few samples.
        let jittered: Vec<usize> = peaks
            .iter()
            .enumerate()
            .map(|(i, &p)| p + (i % 3) * 4)
            .collect();
        let mb = median_beat(&[&x], &jittered, fs).unwrap();
        assert!(!mb.dominant.contains(&3));
        // All beats end up aligned to each other (a common offset from the truth).
        let offsets: Vec<isize> = mb
            .aligned_peaks
            .iter()
            .zip(&peaks)
            .enumerate()
            .filter(|(i, _)| *i != 3)
            .map(|(_, (&a, &t))| a as isize - t as isize)
            .collect();
        assert!(
            offsets.iter().all(|&o| (o - offsets[0]).abs() <= 1),
            "{offsets:?}"
        );
        assert!(offsets[0].abs() <= 8);
    }

    #[test]
    fn median_handles_even_counts_and_nan() {
        let mut v = vec![4.0, f32::NAN, 1.0, 3.0, 2.0];
        assert_eq!(median_in_place(&mut v), 2.5);
        let mut e: Vec<f32> = vec![f32::NAN];
        assert!(median_in_place(&mut e).is_nan());
        assert!(median_beat(&[], &[1], 500.0).is_none());
        assert!(median_beat(&[&[1.0, 2.0]], &[], 500.0).is_none());
        assert!(median_beat(&[&[1.0, 2.0]], &[1], 500.0).is_some());
    }
}
