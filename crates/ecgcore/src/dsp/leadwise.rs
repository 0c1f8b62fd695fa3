//! Per-lead features of the median beat that serial comparison reads: the ST level and
//! whether the QRS starts with a pathological Q wave.
//!
//! Both are read on the median beat at the global fiducials (the same sample index in every
//! lead), relative to the PR-segment baseline:
//! - **ST level** at J + 60 ms (J = global QRS offset), in mV;
//! - **Q wave**: the initial QRS deflection is negative, reaches ≥ 0.1 mV below baseline
//!   and lasts ≥ 40 ms before the signal comes back to baseline (the usual "pathological
//!   Q" duration criterion). aVR is never reported (its QRS is normally negative).

use super::measurements::Measurements;
use crate::recording::StandardLead;
use serde::{Deserialize, Serialize};

/// Where ST is read after the J point (ms).
pub const ST_AFTER_J_MS: f64 = 60.0;
/// A Q wave this long (ms) or longer counts as pathological.
pub const Q_MIN_MS: f64 = 40.0;
/// … and at least this deep (mV).
pub const Q_MIN_MV: f32 = 0.1;

/// One lead's ST level and Q wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadFeatures {
    /// The lead's conventional label when it is a standard lead.
    pub lead: String,
    /// ST level at J + 60 ms relative to the PR baseline (mV).
    pub st_mv: Option<f32>,
    /// A pathological Q wave: (duration ms, depth mV).
    pub q_wave: Option<(f32, f32)>,
}

/// The per-lead features of a measured study; empty without a median beat or QRS
/// fiducials.
#[must_use]
pub fn lead_features(m: &Measurements) -> Vec<LeadFeatures> {
    let (Some(beat), Some(on), Some(off)) = (
        m.median_beat.as_ref(),
        m.fiducials.qrs_onset,
        m.fiducials.qrs_offset,
    ) else {
        return Vec::new();
    };
    let fs = beat.sample_rate_hz;
    if !(fs.is_finite() && fs > 0.0) || off <= on {
        return Vec::new();
    }
    let n_of = |ms: f64| (ms * fs / 1000.0).round() as usize;
    beat.leads
        .iter()
        .zip(&beat.samples_mv)
        .map(|(lead, x)| {
            let baseline = baseline_mv(x, on, m.fiducials.p_offset, n_of(10.0), n_of(20.0));
            let st_at = off + n_of(ST_AFTER_J_MS);
            let st_mv = baseline
                .zip(x.get(st_at))
                .map(|(b, v)| v - b)
                .filter(|v| v.is_finite());
            let standard = StandardLead::from_name(lead);
            let is_avr = standard == Some(StandardLead::AVR);
            let q_wave = baseline
                .filter(|_| !is_avr)
                .and_then(|b| q_wave(x, on, off, b, fs));
            LeadFeatures {
                // The conventional spelling ("aVF", not a file's "AVF").
                lead: standard.map_or_else(|| lead.clone(), |s| s.label().to_string()),
                st_mv,
                q_wave,
            }
        })
        .collect()
}

/// One lead's median beat ready to overlay on another study's: its samples, the sample of
/// (global) QRS onset, and the PR-segment level to subtract.
#[derive(Debug, Clone, Copy)]
pub struct AlignedBeat<'a> {
    pub samples_mv: &'a [f32],
    pub qrs_onset: usize,
    pub level_mv: f32,
    pub sample_rate_hz: f64,
}

/// The median beat of `lead` aligned on QRS onset (for serial comparison), when measured.
#[must_use]
pub fn aligned_beat(m: &Measurements, lead: StandardLead) -> Option<AlignedBeat<'_>> {
    let beat = m.median_beat.as_ref()?;
    let on = m.fiducials.qrs_onset?;
    let samples = beat
        .leads
        .iter()
        .position(|n| StandardLead::from_name(n) == Some(lead))
        .and_then(|i| beat.samples_mv.get(i))?;
    let fs = beat.sample_rate_hz;
    let n_of = |ms: f64| (ms * fs / 1000.0).round() as usize;
    let level =
        baseline_mv(samples, on, m.fiducials.p_offset, n_of(10.0), n_of(20.0)).unwrap_or(0.0);
    Some(AlignedBeat {
        samples_mv: samples,
        qrs_onset: on,
        level_mv: level,
        sample_rate_hz: fs,
    })
}

/// The PR-segment level: mean over the 20 ms ending 10 ms before QRS onset (not before the
/// P offset when it is known to lie later).
fn baseline_mv(
    x: &[f32],
    qrs_onset: usize,
    p_offset: Option<usize>,
    gap: usize,
    width: usize,
) -> Option<f32> {
    let end = qrs_onset.checked_sub(gap)?;
    let mut start = end.checked_sub(width.max(1))?;
    if let Some(p) = p_offset.filter(|p| *p > start && *p < end) {
        start = p;
    }
    let w = x.get(start..end)?;
    (!w.is_empty()).then(|| w.iter().sum::<f32>() / w.len() as f32)
}

/// A pathological initial negative deflection of the QRS: (duration ms, depth mV).
fn q_wave(x: &[f32], on: usize, off: usize, baseline: f32, fs: f64) -> Option<(f32, f32)> {
    let qrs = x.get(on..=off.min(x.len().saturating_sub(1)))?;
    // The first deflection that leaves a ±0.05 mV band decides whether there is a Q.
    let first = qrs.iter().position(|v| (v - baseline).abs() > 0.05)?;
    if qrs[first] > baseline {
        return None;
    }
    // The Q lasts from QRS onset until the signal comes back to baseline.
    let back = qrs[first..]
        .iter()
        .position(|v| *v >= baseline)
        .map_or(qrs.len(), |k| first + k);
    let depth = qrs[..back]
        .iter()
        .map(|v| baseline - v)
        .fold(0.0_f32, f32::max);
    let ms = (back as f64 * 1000.0 / fs) as f32;
    (f64::from(ms) >= Q_MIN_MS && depth >= Q_MIN_MV).then_some((ms, depth))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::measurements::{Fiducials, MedianBeatWaveforms};

    fn study(samples: Vec<f32>, lead: &str) -> Measurements {
        Measurements {
            fiducials: Fiducials {
                qrs_onset: Some(100),
                qrs_offset: Some(150),
                ..Fiducials::default()
            },
            median_beat: Some(MedianBeatWaveforms {
                leads: vec![lead.into()],
                samples_mv: vec![samples],
                sample_rate_hz: 500.0,
                n_beats: 8,
            }),
            ..Measurements::default()
        }
    }

    #[test]
    fn st_level_is_read_at_j_plus_60_ms_against_the_pr_segment() {
        // Baseline 0.05 mV, ST raised to 0.25 mV from J on.
        let mut x = vec![0.05_f32; 400];
        for v in &mut x[150..] {
            *v = 0.25;
        }
        let f = lead_features(&study(x, "V2"));
        assert_eq!(f.len(), 1);
        assert!((f[0].st_mv.unwrap() - 0.2).abs() < 1e-6);
        assert!(f[0].q_wave.is_none());
    }

    #[test]
    fn a_wide_deep_initial_negative_deflection_is_a_q_wave_but_not_in_avr() {
        // 50 ms (25 samples at 500 Hz) down to −0.4 mV, then an R wave.
        let mut x = vec![0.0_f32; 400];
        for v in &mut x[100..125] {
            *v = -0.4;
        }
        for v in &mut x[125..150] {
            *v = 1.0;
        }
        let f = lead_features(&study(x.clone(), "III"));
        let (ms, depth) = f[0].q_wave.unwrap();
        assert!((ms - 50.0).abs() < 0.5, "{ms}");
        assert!((depth - 0.4).abs() < 1e-6);
        assert!(lead_features(&study(x.clone(), "aVR"))[0].q_wave.is_none());
        // A narrow (20 ms) q is normal.
        let mut narrow = vec![0.0_f32; 400];
        for v in &mut narrow[100..110] {
            *v = -0.4;
        }
        for v in &mut narrow[110..150] {
            *v = 1.0;
        }
        assert!(lead_features(&study(narrow, "III"))[0].q_wave.is_none());
    }

    #[test]
    fn nothing_is_read_without_fiducials() {
        let mut m = study(vec![0.0; 400], "I");
        m.fiducials.qrs_offset = None;
        assert!(lead_features(&m).is_empty());
    }
}
