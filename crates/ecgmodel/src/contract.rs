//! The model's input contract, in one place: sample rate, window length, lead order,
//! filtering and normalization, shared by training, evaluation and inference.
//!
//! A `Recording` at any rate becomes a `[12, 1000]` array: the twelve standard leads in
//! [`StandardLead::ALL`] order, resampled to [`MODEL_RATE_HZ`] (100 Hz), band-passed
//! 1–40 Hz, both with `ecgcore::dsp::filter` (the same DSP the viewer and the
//! measurements use: anti-aliased resampling, zero-phase Butterworth), and scaled by a fixed
//! [`AMPLITUDE_SCALE_MV`] and clipped to ±[`CLIP_MV`]. The "per-lead normalization" keeps
//! physical amplitude (one fixed scale for every lead) on purpose: voltage is diagnostic
//! (hypertrophy criteria, low voltage), which per-lead min–max scaling (as in the
//! reference code) would erase. R peaks for the beat view are found on the 100 Hz signal
//! by `ecgcore::dsp::qrs` ([`detect_r_peaks`]). Units: mV in, unitless
//! (mV / scale) out, sample indices at 100 Hz.
//!
//! Partial leads: a paper ECG shows most leads for only part of the 10 s (2.5 s per lead
//! in the 3×4 layout), so a digitized study has long runs of missing (NaN) samples. A
//! study in which some lead has a run of missing samples of at least [`MIN_GAP_S`] is
//! "partial": each lead's stretches between such long gaps are filtered on their own
//! (short tracing dropouts inside them bridged linearly), missing samples become 0 and
//! [`Prepared::valid`] marks which samples are real, so that the scores and maps are
//! taken over real samples only. In a complete study, NaN samples remain an error.

use ecgcore::dsp::{filter, qrs};
use ecgcore::recording::{Recording, StandardLead};

/// Version of the input contract (and of the lab's cache of prepared records); bump when
/// `prepare`, any constant here, or `ecgcore`'s measurement definitions (the attribute
/// head's targets) change. A manifest naming another version is refused.
/// v6: intervals by the robust-reference delineator (#16).
pub const CONTRACT_VERSION: &str = "ptbxl100-v6";

/// Rate the networks see (Hz).
pub const MODEL_RATE_HZ: f64 = 100.0;
/// Seconds per analysis window.
pub const WINDOW_S: f64 = 10.0;
/// Samples per lead in one window at the model rate.
pub const N_SAMPLES: usize = 1000;
/// Leads, in [`StandardLead::ALL`] order.
pub const N_LEADS: usize = 12;
/// Global view: a 9.6 s crop of the 10 s window (random offset in training, centred at test).
pub const GLOBAL_LEN: usize = 960;
/// Offset of the global crop at test time (centred).
pub const GLOBAL_OFFSET: usize = (N_SAMPLES - GLOBAL_LEN) / 2;
/// Patch length for masking the global view (samples; 400 ms).
pub const PATCH_LEN: usize = 40;
/// Patches in the global view.
pub const N_PATCHES: usize = GLOBAL_LEN / PATCH_LEN;
/// Patches masked per training example (~30 %).
pub const N_MASKED_PATCHES: usize = 7;
/// Fixed test-time masks: mask `k` hides patches `p` with `p % N_TEST_MASKS == k`.
pub const N_TEST_MASKS: usize = 3;
/// Beat view: samples before the R peak (280 ms).
pub const BEAT_PRE: usize = 28;
/// Beat view length (800 ms).
pub const BEAT_LEN: usize = 80;
/// Contiguous masked span in the beat view (30 %).
pub const BEAT_MASK_LEN: usize = 24;
/// Most beats scored per window.
pub const MAX_BEATS: usize = 8;
/// Fixed amplitude scale (mV per unit).
pub const AMPLITUDE_SCALE_MV: f32 = 1.0;
/// Samples are clipped to ± this (mV) after filtering.
pub const CLIP_MV: f32 = 5.0;
/// High-pass corner (Hz) removing baseline wander.
pub const HIGHPASS_HZ: f64 = 1.0;
/// Low-pass corner (Hz).
pub const LOWPASS_HZ: f64 = 40.0;
/// Shortest recording accepted (s): the global crop must fit.
pub const MIN_DURATION_S: f64 = GLOBAL_LEN as f64 / MODEL_RATE_HZ;
/// A lead whose filtered standard deviation is below this (mV) is flat.
pub const FLAT_STD_MV: f32 = 0.005;
/// Shortest run of missing samples accepted as "not shown" (s); shorter gaps are errors.
pub const MIN_GAP_S: f64 = 1.0;
/// Shortest run of present samples used (s); shorter runs are treated as missing.
pub const MIN_RUN_S: f64 = 1.0;
/// Least signal a partial lead must have in all (s).
pub const MIN_PRESENT_S: f64 = 1.5;

/// Why a recording cannot be analysed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("the recording lacks lead(s) {0}; the model needs all 12 standard leads")]
    MissingLeads(String),
    #[error("lead {lead} contains {count} missing or non-finite samples (NaN/inf)")]
    NonFinite { lead: String, count: usize },
    #[error("lead {lead} shows only {present_s:.1} s of signal; the model needs at least {need_s:.1} s per lead")]
    TooLittleSignal {
        lead: String,
        present_s: f64,
        need_s: f64,
    },
    #[error("lead {0} is flat (no signal); check the electrode or the file")]
    FlatLead(String),
    #[error("the recording is {got_s:.2} s long; the model needs at least {need_s:.1} s")]
    TooShort { got_s: f64, need_s: f64 },
    #[error("the sample rate {0} Hz is not usable")]
    BadRate(f64),
    #[error("some leads are only partly recorded and these model weights have no calibration for partial leads (use the shipped models/ folder, or retrain with `cargo run --release -p ecglab -- train`)")]
    PartialUncalibrated,
}

/// One recording in model form: windows of `[N_LEADS][N_SAMPLES]` at 100 Hz.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Consecutive 10 s windows covering the recording (the last one ends at the end).
    pub windows: Vec<Vec<f32>>,
    /// Start of each window in model-rate samples.
    pub window_starts: Vec<usize>,
    /// Length of the whole recording at the model rate.
    pub total_len: usize,
    /// Per window, `[N_LEADS][N_SAMPLES]`: 1 where the sample is real, 0 where the lead
    /// was not recorded (partial leads, see the module notes).
    pub valid: Vec<Vec<f32>>,
    /// Whether any lead is partial (some `valid` entry is 0).
    pub partial: bool,
    /// R peaks of each window ([`detect_r_peaks`], window samples).
    pub peaks: Vec<Vec<usize>>,
}

/// Turn a recording into model input.
///
/// # Errors
/// [`InputError`] for missing leads, NaN/inf samples, flat leads, a too-short record.
pub fn prepare(rec: &Recording) -> Result<Prepared, InputError> {
    let fs = rec.sample_rate_hz;
    if !(fs.is_finite() && fs >= 50.0) {
        return Err(InputError::BadRate(fs));
    }
    let leads = rec.standard_leads();
    let missing: Vec<&str> = StandardLead::ALL
        .iter()
        .zip(leads.iter())
        .filter(|(_, l)| l.is_none())
        .map(|(s, _)| s.label())
        .collect();
    if !missing.is_empty() {
        return Err(InputError::MissingLeads(missing.join(", ")));
    }
    let duration_s = rec.duration_s();
    if duration_s + 1e-9 < MIN_DURATION_S {
        return Err(InputError::TooShort {
            got_s: duration_s,
            need_s: MIN_DURATION_S,
        });
    }
    let total_len = ((rec.len_samples() as f64) * MODEL_RATE_HZ / fs)
        .round()
        .max(1.0) as usize;
    let mut model_rate: Vec<Vec<f32>> = Vec::with_capacity(N_LEADS);
    let mut valid_rate: Vec<Vec<f32>> = Vec::with_capacity(N_LEADS);
    let partial_study = leads
        .iter()
        .flatten()
        .any(|l| has_long_gap(&l.samples_mv, fs));
    for lead in leads.iter().flatten() {
        let (x, v) = prepare_lead(&lead.name, &lead.samples_mv, fs, total_len, partial_study)?;
        let present: Vec<f32> = x
            .iter()
            .zip(&v)
            .filter(|(_, &ok)| ok > 0.0)
            .map(|(s, _)| *s)
            .collect();
        if std_dev(&present) < FLAT_STD_MV {
            return Err(InputError::FlatLead(lead.name.clone()));
        }
        model_rate.push(x);
        valid_rate.push(v);
    }
    let partial = valid_rate.iter().flatten().any(|&v| v == 0.0);
    // Pad a record between 9.6 and 10 s by repeating the edge.
    let mut starts = Vec::new();
    if total_len <= N_SAMPLES {
        starts.push(0);
    } else {
        let mut s = 0;
        while s + N_SAMPLES < total_len {
            starts.push(s);
            s += N_SAMPLES;
        }
        starts.push(total_len - N_SAMPLES);
    }
    let cut = |rows: &[Vec<f32>], s: usize, clip: bool| {
        let mut w = Vec::with_capacity(N_LEADS * N_SAMPLES);
        for x in rows {
            for i in 0..N_SAMPLES {
                let v = x.get(s + i).or(x.last()).copied().unwrap_or(0.0);
                w.push(if clip {
                    (v / AMPLITUDE_SCALE_MV).clamp(-CLIP_MV, CLIP_MV)
                } else {
                    v
                });
            }
        }
        w
    };
    let windows: Vec<Vec<f32>> = starts.iter().map(|&s| cut(&model_rate, s, true)).collect();
    let valid = starts.iter().map(|&s| cut(&valid_rate, s, false)).collect();
    let peaks = windows
        .iter()
        .map(|w| detect_r_peaks(w, N_SAMPLES))
        .collect();
    Ok(Prepared {
        windows,
        window_starts: starts,
        total_len,
        valid,
        partial,
        peaks,
    })
}

/// Runs of non-finite samples as `(start, end)` (end exclusive).
fn nan_runs(samples: &[f32]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < samples.len() {
        if samples.get(i).is_some_and(|v| v.is_finite()) {
            i += 1;
            continue;
        }
        let s = i;
        while samples.get(i).is_some_and(|v| !v.is_finite()) {
            i += 1;
        }
        runs.push((s, i));
    }
    runs
}

/// Whether a lead has a run of missing samples long enough to mean "not recorded here".
fn has_long_gap(samples: &[f32], fs: f64) -> bool {
    nan_runs(samples)
        .iter()
        .any(|&(s, e)| (e - s) as f64 >= MIN_GAP_S * fs)
}

/// One lead at the model rate, filtered, with its validity (1 real, 0 not recorded).
/// A lead without NaN is filtered whole. Otherwise, when the study is partial
/// (`partial`: some lead has a long gap), long gaps split the lead into segments filtered
/// one by one, short gaps inside a segment (tracing dropouts) are bridged linearly for
/// the filter, and every missing sample is marked not recorded; in a complete study any
/// missing sample is an error.
fn prepare_lead(
    name: &str,
    samples: &[f32],
    fs: f64,
    total_len: usize,
    partial: bool,
) -> Result<(Vec<f32>, Vec<f32>), InputError> {
    let fit = |mut x: Vec<f32>| {
        x.resize(total_len, x.last().copied().unwrap_or(0.0));
        x
    };
    let runs = nan_runs(samples);
    if runs.is_empty() {
        return Ok((fit(filter_lead(samples, fs)), vec![1.0; total_len]));
    }
    let bad: usize = runs.iter().map(|(s, e)| e - s).sum();
    // Infinite values are corrupt data, never "not shown".
    if !partial || samples.iter().any(|v| v.is_infinite()) {
        return Err(InputError::NonFinite {
            lead: name.to_string(),
            count: bad,
        });
    }
    let long = |&(s, e): &(usize, usize)| (e - s) as f64 >= MIN_GAP_S * fs;
    // Segments between long gaps.
    let mut segments: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    for r in runs.iter().filter(|r| long(r)) {
        if r.0 > from {
            segments.push((from, r.0));
        }
        from = r.1;
    }
    if from < samples.len() {
        segments.push((from, samples.len()));
    }
    let mut x = vec![0.0_f32; total_len];
    let mut v = vec![0.0_f32; total_len];
    let mut present_s = 0.0;
    let to_model = |i: usize| ((i as f64) * MODEL_RATE_HZ / fs).round() as usize;
    for (s, e) in segments {
        let Some(seg) = samples.get(s..e) else {
            continue;
        };
        let present = seg.iter().filter(|v| v.is_finite()).count();
        if (present as f64) < MIN_RUN_S * fs {
            continue;
        }
        present_s += present as f64 / fs;
        let bridged = bridge_gaps(seg);
        let f = filter_lead(&bridged, fs);
        let at = to_model(s);
        for (k, val) in f.into_iter().enumerate() {
            if let Some(dst) = x.get_mut(at + k) {
                *dst = val;
            }
        }
        // Valid where the original samples were present (nearest sample at model rate).
        for k in to_model(s)..to_model(e).min(total_len) {
            let src = ((k as f64) * fs / MODEL_RATE_HZ).round() as usize;
            if let (Some(ok), Some(orig)) = (v.get_mut(k), samples.get(src.min(e - 1))) {
                *ok = if orig.is_finite() { 1.0 } else { 0.0 };
            }
        }
    }
    if present_s < MIN_PRESENT_S {
        return Err(InputError::TooLittleSignal {
            lead: name.to_string(),
            present_s,
            need_s: MIN_PRESENT_S,
        });
    }
    Ok((x, v))
}

/// Fill non-finite samples by linear interpolation between their finite neighbours
/// (the nearest finite value at the ends).
fn bridge_gaps(seg: &[f32]) -> Vec<f32> {
    let mut out = seg.to_vec();
    for (s, e) in nan_runs(seg) {
        let left = s.checked_sub(1).and_then(|i| seg.get(i)).copied();
        let right = seg.get(e).copied();
        let (a, b) = match (left, right) {
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) => (a, a),
            (None, Some(b)) => (b, b),
            (None, None) => (0.0, 0.0),
        };
        let n = (e - s + 1) as f32;
        for (k, o) in out.iter_mut().enumerate().take(e).skip(s) {
            let t = (k - s + 1) as f32 / n;
            *o = a + (b - a) * t;
        }
    }
    out
}

/// Resample one lead to the model rate and band-pass it (mV in, mV out), with
/// `ecgcore::dsp::filter` (anti-aliased resampling, zero-phase Butterworth band-pass).
pub fn filter_lead(x: &[f32], fs: f64) -> Vec<f32> {
    let at_model_rate = filter::resample(x, fs, MODEL_RATE_HZ);
    filter::bandpass(&at_model_rate, MODEL_RATE_HZ, HIGHPASS_HZ, LOWPASS_HZ)
}

fn std_dev(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = x
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    var.sqrt() as f32
}

/// Linear resampling of a map (f32) to `n_out` samples.
pub fn resample_to_len(x: &[f32], n_out: usize) -> Vec<f32> {
    if x.is_empty() || n_out == 0 {
        return vec![0.0; n_out];
    }
    let last = x.len() - 1;
    let ratio = if n_out > 1 {
        last as f64 / (n_out - 1) as f64
    } else {
        0.0
    };
    (0..n_out)
        .map(|i| {
            let t = i as f64 * ratio;
            let i0 = (t.floor() as usize).min(last);
            let i1 = (i0 + 1).min(last);
            let frac = (t - i0 as f64) as f32;
            x[i0] * (1.0 - frac) + x[i1] * frac
        })
        .collect()
}

/// R peaks in one window (`[N_LEADS * len]`, model rate), by `ecgcore::dsp::qrs`'s
/// multi-lead detector. Returns sample indices.
pub fn detect_r_peaks(window: &[f32], len: usize) -> Vec<usize> {
    if len < 3 || window.len() < N_LEADS * len {
        return Vec::new();
    }
    let leads: Vec<&[f32]> = window.chunks_exact(len).take(N_LEADS).collect();
    qrs::detect_qrs(&leads, MODEL_RATE_HZ)
}

/// Heart rate (bpm) from R peaks at the model rate (median RR).
pub fn heart_rate_bpm(peaks: &[usize]) -> Option<f32> {
    let mut rr: Vec<f32> = peaks.windows(2).map(|w| (w[1] - w[0]) as f32).collect();
    if rr.is_empty() {
        return None;
    }
    rr.sort_by(f32::total_cmp);
    let med = rr[rr.len() / 2];
    (med > 0.0).then(|| 60.0 * MODEL_RATE_HZ as f32 / med)
}

/// The beats used for the local view: peaks whose window lies inside the record, at most
/// [`MAX_BEATS`], spread evenly.
pub fn usable_beats(peaks: &[usize], len: usize) -> Vec<usize> {
    let ok: Vec<usize> = peaks
        .iter()
        .copied()
        .filter(|&p| p >= BEAT_PRE && p + BEAT_LEN - BEAT_PRE <= len)
        .collect();
    if ok.len() <= MAX_BEATS {
        return ok;
    }
    (0..MAX_BEATS)
        .map(|i| ok[i * ok.len() / MAX_BEATS])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twelve_leads() -> Recording {
        crate::testing::synthetic_recording(500.0, 10.0)
    }

    #[test]
    fn paper_layout_gaps_become_unrecorded_samples_and_short_dropouts_are_bridged() {
        let mut rec = twelve_leads();
        // V1 recorded only in 5.0–7.5 s (as on a 3×4 page), with a 40 ms tracing dropout.
        for (i, v) in rec.leads[6].samples_mv.iter_mut().enumerate() {
            if !(2500..3750).contains(&i) || (3000..3020).contains(&i) {
                *v = f32::NAN;
            }
        }
        let p = prepare(&rec).unwrap();
        assert!(p.partial);
        let valid = &p.valid[0];
        let v1 = &valid[6 * N_SAMPLES..7 * N_SAMPLES];
        // 2.5 s minus the 40 ms dropout, at 100 Hz.
        let shown: f32 = v1.iter().sum();
        assert!((shown - 246.0).abs() <= 2.0, "{shown}");
        assert_eq!(v1[100], 0.0);
        assert_eq!(v1[700], 1.0);
        assert_eq!(v1[601], 0.0, "the dropout is not recorded");
        // Unrecorded input is 0, recorded input follows the signal.
        let x = &p.windows[0][6 * N_SAMPLES..7 * N_SAMPLES];
        assert_eq!(x[100], 0.0);
        assert!(x[500..750].iter().any(|v| v.abs() > 0.1));
        // Complete leads stay complete.
        assert!(valid[..6 * N_SAMPLES].iter().all(|&v| v == 1.0));
    }

    #[test]
    fn missing_samples_in_a_complete_study_are_still_an_error() {
        let mut rec = twelve_leads();
        rec.leads[2].samples_mv[1234] = f32::NAN;
        let err = prepare(&rec).unwrap_err();
        assert_eq!(
            err,
            InputError::NonFinite {
                lead: "III".into(),
                count: 1
            }
        );
        // ... and infinite values even in a partial one.
        let mut rec = twelve_leads();
        rec.leads[6].samples_mv[..2000].fill(f32::NAN);
        rec.leads[6].samples_mv[3000] = f32::INFINITY;
        assert!(matches!(
            prepare(&rec).unwrap_err(),
            InputError::NonFinite { .. }
        ));
    }

    #[test]
    fn highpass_removes_dc_and_keeps_10hz() {
        let fs = 100.0;
        let x: Vec<f32> = (0..1000)
            .map(|i| 2.0 + (2.0 * std::f32::consts::PI * 10.0 * i as f32 / fs as f32).sin())
            .collect();
        let y = filter_lead(&x, fs);
        let mid = &y[200..800];
        let mean: f32 = mid.iter().sum::<f32>() / mid.len() as f32;
        assert!(mean.abs() < 0.01, "{mean}");
        let peak = mid.iter().fold(0.0_f32, |a, &b| a.max(b.abs()));
        assert!((peak - 1.0).abs() < 0.05, "{peak}");
    }

    #[test]
    fn resample_500_to_100_keeps_length() {
        let x = vec![0.5_f32; 5000];
        assert_eq!(filter_lead(&x, 500.0).len(), 1000);
    }
}
