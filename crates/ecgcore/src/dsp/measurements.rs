//! Global ECG measurements of one recording: heart rate, RR variability, PR, P, QRS, QT,
//! QTc (Bazett and Fridericia) and frontal P/QRS/T axes.
//!
//! Pipeline ([`measure`]): multi-lead QRS detection on the raw leads ([`super::qrs`]);
//! baseline-wander removal (0.5 Hz) and a 40 Hz low-pass, both zero-phase
//! ([`super::filter`]); the median beat of the dominant beats ([`super::beats`]); global
//! delineation on it ([`super::delineate`]). Intervals follow the usual clinical
//! definitions (PR = QRS onset − P onset, QT = T end − QRS onset; QTc Bazett = QT/√RR,
//! Fridericia = QT/∛RR with RR in seconds). Heart rate = 60 000 / mean RR (ms). Frontal
//! axes are atan2(net area in aVF, net area in I) over each wave (Kligfield et al.,
//! Circulation 2007), with aVF and I derived from I/II/III when missing.
//!
//! A value that cannot be measured is `None` with a [`Missing`] reason, never a
//! guess: e.g. no consistent P waves (atrial fibrillation) leaves PR and P empty. Works at
//! any sample rate (positions are samples at the recording's own rate, values in ms,
//! bpm, degrees). Never panics on any input.

use super::beats::{self, MedianBeat};
use super::delineate::{self, DelineationParams, LeadBoundaries};
use super::{filter, qrs};
use crate::recording::{Recording, StandardLead};
use serde::{Deserialize, Serialize};

/// A measured value or the reason it could not be measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub value: Option<f32>,
    pub reason: Option<String>,
}

/// Fiducial points of the median beat (sample indices into the median beat).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fiducials {
    pub p_onset: Option<usize>,
    pub p_offset: Option<usize>,
    pub qrs_onset: Option<usize>,
    pub qrs_offset: Option<usize>,
    pub t_offset: Option<usize>,
    /// The QRS fiducial (R peak) the median beat is aligned on.
    #[serde(default)]
    pub r_peak: Option<usize>,
    #[serde(default)]
    pub p_peak: Option<usize>,
    #[serde(default)]
    pub t_peak: Option<usize>,
}

/// The representative beat, for drawing with its fiducials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MedianBeatWaveforms {
    /// Lead names, same order as `samples_mv`.
    pub leads: Vec<String>,
    /// One waveform per lead (mV, baseline removed, 40 Hz low-pass).
    pub samples_mv: Vec<Vec<f32>>,
    /// Sample rate (Hz), the recording's own.
    pub sample_rate_hz: f64,
    /// Number of beats averaged.
    pub n_beats: usize,
}

/// Global measurements of one recording.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    pub heart_rate_bpm: Option<f32>,
    pub rr_ms: Option<f32>,
    pub pr_ms: Option<f32>,
    pub p_ms: Option<f32>,
    pub qrs_ms: Option<f32>,
    pub qt_ms: Option<f32>,
    pub qtc_bazett_ms: Option<f32>,
    pub qtc_fridericia_ms: Option<f32>,
    pub p_axis_deg: Option<f32>,
    pub qrs_axis_deg: Option<f32>,
    pub t_axis_deg: Option<f32>,
    /// Why a value is `None` (e.g. PR: "no P waves").
    pub missing_reasons: Vec<Missing>,
    /// R-peak sample indices in the recording.
    pub r_peaks: Vec<usize>,
    pub fiducials: Fiducials,
    /// Standard deviation of RR intervals (SDNN over the recording, ms).
    #[serde(default)]
    pub rr_sd_ms: Option<f32>,
    /// Root mean square of successive RR differences (ms).
    #[serde(default)]
    pub rr_rmssd_ms: Option<f32>,
    /// Beats detected / dominant beats in the median beat.
    #[serde(default)]
    pub n_beats: usize,
    #[serde(default)]
    pub n_dominant_beats: usize,
    /// Median |successive RR difference| / median RR: about 0.01–0.05 in sinus rhythm,
    /// well above 0.08 in atrial fibrillation; robust to single ectopic beats.
    #[serde(default)]
    pub rr_irregularity: Option<f32>,
    /// Mean correlation of single-beat P waves with the median P wave (−1…1); low values
    /// mean no consistent atrial activity (atrial fibrillation).
    #[serde(default)]
    pub p_wave_consistency: Option<f32>,
    /// The median beat the intervals were measured on.
    #[serde(default)]
    pub median_beat: Option<MedianBeatWaveforms>,
    /// Each lead's own wave boundaries on the median beat (fractional sample positions in
    /// it; same lead order as `median_beat`).
    #[serde(default)]
    pub lead_boundaries: Vec<LeadBoundaries>,
}

/// A quantity of [`Measurements`] that can be absent (serialized as its field name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    HeartRateBpm,
    RrMs,
    PrMs,
    PMs,
    QrsMs,
    QtMs,
    QtcBazettMs,
    QtcFridericiaMs,
    PAxisDeg,
    QrsAxisDeg,
    TAxisDeg,
}

/// Why a quantity is absent: shown beside its "—" on screen, in the PDF and in the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    pub field: Quantity,
    pub reason: String,
}

impl Measurements {
    fn missing(&mut self, field: Quantity, reason: &str) {
        self.missing_reasons.push(Missing {
            field,
            reason: reason.to_string(),
        });
    }

    /// Why `field` is absent, if a reason was recorded.
    pub fn reason(&self, field: Quantity) -> Option<&str> {
        self.missing_reasons
            .iter()
            .find(|m| m.field == field)
            .map(|m| m.reason.as_str())
    }
}

/// Fewest beats needed for a median beat.
const MIN_BEATS: usize = 2;

/// Measure a recording with the default delineation parameters.
pub fn measure(rec: &Recording) -> Measurements {
    measure_with(rec, &DelineationParams::default())
}

/// The leads used for measurement: the standard leads when any are present (in standard
/// order), otherwise every lead.
fn measurement_leads(rec: &Recording) -> Vec<(String, Option<StandardLead>, &[f32])> {
    let n = rec.len_samples();
    let standard: Vec<_> = rec
        .standard_leads()
        .into_iter()
        .flatten()
        .filter(|l| l.samples_mv.len() == n)
        .map(|l| (l.name.clone(), l.standard, l.samples_mv.as_slice()))
        .collect();
    if !standard.is_empty() {
        return standard;
    }
    rec.leads
        .iter()
        .filter(|l| l.samples_mv.len() == n)
        .map(|l| (l.name.clone(), l.standard, l.samples_mv.as_slice()))
        .collect()
}

fn ms(samples: f64, fs: f64) -> f32 {
    (samples / fs * 1000.0) as f32
}

/// Measure a recording with explicit delineation parameters (for validation sweeps).
pub fn measure_with(rec: &Recording, params: &DelineationParams) -> Measurements {
    let mut m = Measurements::default();
    let fs = rec.sample_rate_hz;
    let all = [
        Quantity::HeartRateBpm,
        Quantity::RrMs,
        Quantity::PrMs,
        Quantity::PMs,
        Quantity::QrsMs,
        Quantity::QtMs,
        Quantity::QtcBazettMs,
        Quantity::QtcFridericiaMs,
        Quantity::PAxisDeg,
        Quantity::QrsAxisDeg,
        Quantity::TAxisDeg,
    ];
    let fail = |m: &mut Measurements, reason: &str| {
        for f in all {
            m.missing(f, reason);
        }
    };
    if !(fs.is_finite() && fs >= 50.0) {
        fail(&mut m, "sample rate too low or unknown for measurement");
        return m;
    }
    let leads = measurement_leads(rec);
    if leads.is_empty() || rec.len_samples() < (2.0 * fs) as usize {
        fail(&mut m, "recording too short (less than 2 s)");
        return m;
    }
    let raw: Vec<&[f32]> = leads.iter().map(|l| l.2).collect();
    let peaks = qrs::detect_qrs(&raw, fs);
    m.n_beats = peaks.len();
    if peaks.len() < MIN_BEATS {
        m.r_peaks = peaks;
        fail(
            &mut m,
            "fewer than two QRS complexes detected (flat or too noisy signal?)",
        );
        return m;
    }

    // Rhythm.
    let rr: Vec<f64> = peaks
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / fs * 1000.0)
        .collect();
    let mean_rr = rr.iter().sum::<f64>() / rr.len() as f64;
    m.rr_ms = Some(mean_rr as f32);
    m.heart_rate_bpm = Some((60_000.0 / mean_rr) as f32);
    if rr.len() >= 2 {
        let var = rr.iter().map(|v| (v - mean_rr).powi(2)).sum::<f64>() / (rr.len() - 1) as f64;
        m.rr_sd_ms = Some(var.sqrt() as f32);
        let sq = rr.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / (rr.len() - 1) as f64;
        m.rr_rmssd_ms = Some(sq.sqrt() as f32);
        let mut diffs: Vec<f32> = rr.windows(2).map(|w| (w[1] - w[0]).abs() as f32).collect();
        let mut rr_f: Vec<f32> = rr.iter().map(|&v| v as f32).collect();
        let (d, r) = (
            beats::median_in_place(&mut diffs),
            beats::median_in_place(&mut rr_f),
        );
        if d.is_finite() && r > 0.0 {
            m.rr_irregularity = Some(d / r);
        }
    }

    // Median beat on cleaned leads.
    let clean = filter::bandpass_many(
        &raw,
        fs,
        filter::BASELINE_CUTOFF_HZ,
        params.lowpass_hz.min(0.45 * fs),
    );
    let clean_refs: Vec<&[f32]> = clean.iter().map(Vec::as_slice).collect();
    let Some(mb) = beats::median_beat(&clean_refs, &peaks, fs) else {
        m.r_peaks = peaks;
        fail(&mut m, "no median beat could be formed");
        return m;
    };
    m.r_peaks.clone_from(&mb.aligned_peaks);
    m.n_dominant_beats = mb.dominant.len();
    let mut sorted_rr = rr.clone();
    sorted_rr.sort_unstable_by(f64::total_cmp);
    let median_rr_s = sorted_rr[sorted_rr.len() / 2] / 1000.0;
    let b = delineate::delineate(&mb.leads, mb.fiducial, fs, median_rr_s, params);

    m.fiducials = Fiducials {
        p_onset: b.p_onset,
        p_offset: b.p_offset,
        qrs_onset: b.qrs_onset,
        qrs_offset: b.qrs_offset,
        t_offset: b.t_offset,
        r_peak: Some(mb.fiducial),
        p_peak: b.p_peak,
        t_peak: b.t_peak,
    };

    // P wave consistency across beats (atrial fibrillation / flutter, AV dissociation).
    let consistency = match (b.p_onset, b.p_offset) {
        (Some(on), Some(off)) => Some(p_consistency(&clean_refs, &mb, on, off)),
        _ => None,
    };
    m.p_wave_consistency = consistency;
    let irregular = m
        .rr_irregularity
        .is_some_and(|v| v > params.af_rr_irregularity);
    let p_consistent = !irregular && consistency.is_some_and(|c| c >= params.p_min_consistency);
    if !p_consistent {
        m.fiducials.p_onset = None;
        m.fiducials.p_offset = None;
        m.fiducials.p_peak = None;
    }

    // Intervals.
    let rr_s = mean_rr / 1000.0;
    let e = b.exact;
    match (e.qrs_onset, e.qrs_offset) {
        (Some(on), Some(off)) if off > on => m.qrs_ms = Some(ms(off - on, fs)),
        _ => m.missing(
            Quantity::QrsMs,
            "QRS boundaries not found on the median beat (very wide or paced QRS?)",
        ),
    }
    match (e.qrs_onset, e.t_offset) {
        (Some(on), Some(t)) if t > on => {
            let qt = f64::from(ms(t - on, fs));
            m.qt_ms = Some(qt as f32);
            m.qtc_bazett_ms = Some((qt / rr_s.sqrt()) as f32);
            m.qtc_fridericia_ms = Some((qt / rr_s.cbrt()) as f32);
        }
        _ => {
            let reason = if b.t_beyond_window {
                "T wave not ended within 0.5·√RR s of the R peak (QTc above about 550 ms, \
                 or a U wave merging with T): measure by hand"
            } else {
                "T-wave end not found (flat or low-amplitude T waves?)"
            };
            m.missing(Quantity::QtMs, reason);
            m.missing(Quantity::QtcBazettMs, reason);
            m.missing(Quantity::QtcFridericiaMs, reason);
        }
    }
    let p_reason = if b
        .p_amplitude_mv
        .is_none_or(|a| a < params.p_min_amplitude_mv)
        || b.p_onset.is_none()
    {
        "no P waves found before the QRS (atrial fibrillation, junctional rhythm?)"
    } else {
        "no consistent P waves (atrial fibrillation or flutter?)"
    };
    match (p_consistent, e.p_onset, e.p_offset, e.qrs_onset) {
        (true, Some(pon), Some(poff), Some(qon)) if poff > pon && qon > pon => {
            m.pr_ms = Some(ms(qon - pon, fs));
            m.p_ms = Some(ms(poff - pon, fs));
        }
        _ => {
            m.missing(Quantity::PrMs, p_reason);
            m.missing(Quantity::PMs, p_reason);
        }
    }

    // Frontal axes from the median beat.
    let frontal = frontal_leads(&leads, &mb);
    let axis = |lo: Option<usize>, hi: Option<usize>| -> Option<f32> {
        let (lo, hi) = (lo?, hi?);
        let (i, avf) = frontal.as_ref()?;
        frontal_axis(
            i,
            avf,
            lo,
            hi,
            b.qrs_onset,
            ((0.01 * fs).round() as usize).max(1),
        )
    };
    let no_limb = "limb leads I and aVF (or two of I, II, III) not available";
    match axis(b.qrs_onset, b.qrs_offset) {
        Some(a) => m.qrs_axis_deg = Some(a),
        None => m.missing(
            Quantity::QrsAxisDeg,
            if frontal.is_none() {
                no_limb
            } else {
                "QRS not delineated"
            },
        ),
    }
    match axis(b.qrs_offset, b.t_offset) {
        Some(a) => m.t_axis_deg = Some(a),
        None => m.missing(
            Quantity::TAxisDeg,
            if frontal.is_none() {
                no_limb
            } else {
                "T wave not delineated"
            },
        ),
    }
    let p_axis = if p_consistent {
        axis(b.p_onset, b.p_offset)
    } else {
        None
    };
    match p_axis {
        Some(a) => m.p_axis_deg = Some(a),
        None => m.missing(
            Quantity::PAxisDeg,
            if frontal.is_none() { no_limb } else { p_reason },
        ),
    }

    m.lead_boundaries.clone_from(&b.leads);
    if !p_consistent {
        for l in &mut m.lead_boundaries {
            l.p_onset = None;
            l.p_offset = None;
        }
    }
    m.median_beat = Some(MedianBeatWaveforms {
        leads: leads.iter().map(|l| l.0.clone()).collect(),
        samples_mv: mb.leads.clone(),
        sample_rate_hz: fs,
        n_beats: mb.dominant.len(),
    });
    m
}

/// Mean wall-clock time of one [`measure`] call over `iterations` runs (at least one),
/// for `ecgscope bench` (benchmarks, never timed tests).
pub fn time_measure(rec: &Recording, iterations: usize) -> std::time::Duration {
    let iterations = u32::try_from(iterations).unwrap_or(u32::MAX).max(1);
    let start = std::time::Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(measure(std::hint::black_box(rec)));
    }
    start.elapsed() / iterations
}

/// Mean correlation of each dominant beat's P segment (all leads) with the median beat's.
fn p_consistency(leads: &[&[f32]], mb: &MedianBeat, on: usize, off: usize) -> f32 {
    let pad = off.saturating_sub(on) / 4;
    let lo = on.saturating_sub(pad);
    let hi = (off + pad).min(mb.len().saturating_sub(1));
    if hi <= lo + 2 || mb.dominant.is_empty() {
        return 0.0;
    }
    // Remove the straight line through the segment's ends (baseline drift, T-wave tail).
    let detrend = |seg: &mut [f32]| {
        let n = seg.len();
        let (first, last) = (seg[0], seg[n - 1]);
        let span = (n - 1).max(1) as f32;
        for (k, v) in seg.iter_mut().enumerate() {
            *v -= first + (last - first) * k as f32 / span;
        }
    };
    let mut template = Vec::new();
    for lead in &mb.leads {
        let mut seg = lead[lo..=hi].to_vec();
        detrend(&mut seg);
        template.extend(seg);
    }
    let mut corrs = Vec::new();
    for &d in &mb.dominant {
        let Some(&peak) = mb.aligned_peaks.get(d) else {
            continue;
        };
        let start = peak as isize - mb.fiducial as isize + lo as isize;
        let end = peak as isize - mb.fiducial as isize + hi as isize;
        if start < 0 {
            continue;
        }
        let mut beat = Vec::with_capacity(template.len());
        let mut ok = true;
        for lead in leads {
            let Some(seg) = lead.get(start as usize..=end as usize) else {
                ok = false;
                break;
            };
            if seg.iter().any(|v| !v.is_finite()) {
                ok = false;
                break;
            }
            let mut seg = seg.to_vec();
            detrend(&mut seg);
            beat.extend(seg);
        }
        if ok {
            let dotp: f32 = beat.iter().zip(&template).map(|(a, b)| a * b).sum();
            let na: f32 = beat.iter().map(|a| a * a).sum::<f32>().sqrt();
            let nb: f32 = template.iter().map(|a| a * a).sum::<f32>().sqrt();
            if na > 0.0 && nb > 0.0 {
                corrs.push(dotp / (na * nb));
            }
        }
    }
    if corrs.is_empty() {
        return 0.0;
    }
    corrs.iter().sum::<f32>() / corrs.len() as f32
}

/// Median-beat waveforms of leads I and aVF, derived from the other limb leads when
/// needed (aVF = II − I/2, I = II − III).
fn frontal_leads(
    leads: &[(String, Option<StandardLead>, &[f32])],
    mb: &MedianBeat,
) -> Option<(Vec<f32>, Vec<f32>)> {
    let find = |s: StandardLead| -> Option<&Vec<f32>> {
        leads
            .iter()
            .position(|l| l.1 == Some(s))
            .and_then(|k| mb.leads.get(k))
    };
    let (i, ii, iii, avf) = (
        find(StandardLead::I),
        find(StandardLead::II),
        find(StandardLead::III),
        find(StandardLead::AVF),
    );
    let lead_i = match (i, ii, iii) {
        (Some(i), _, _) => i.clone(),
        (None, Some(ii), Some(iii)) => ii.iter().zip(iii).map(|(a, b)| a - b).collect(),
        _ => return None,
    };
    let lead_avf = match (avf, ii) {
        (Some(f), _) => f.clone(),
        (None, Some(ii)) => ii.iter().zip(&lead_i).map(|(a, b)| a - b / 2.0).collect(),
        _ => return None,
    };
    Some((lead_i, lead_avf))
}

/// Frontal axis (degrees, −180…180) from net areas of I and aVF over `[lo, hi]`, each
/// relative to its mean level over the `width` samples up to `baseline_at` (QRS onset;
/// the PR segment is isoelectric; a mean rather than one sample, so that the level does
/// not depend on where exactly the onset falls at the recording's rate).
fn frontal_axis(
    i: &[f32],
    avf: &[f32],
    lo: usize,
    hi: usize,
    baseline_at: Option<usize>,
    width: usize,
) -> Option<f32> {
    if hi <= lo || hi >= i.len() || hi >= avf.len() {
        return None;
    }
    let base = |x: &[f32]| {
        baseline_at
            .and_then(|k| {
                let seg = x.get(k.saturating_sub(width)..=k)?;
                let v: Vec<f32> = seg.iter().copied().filter(|v| v.is_finite()).collect();
                (!v.is_empty()).then(|| v.iter().sum::<f32>() / v.len() as f32)
            })
            .unwrap_or(0.0)
    };
    let (bi, bf) = (base(i), base(avf));
    let area = |x: &[f32], b: f32| -> f32 {
        x[lo..=hi]
            .iter()
            .filter(|v| v.is_finite())
            .map(|v| v - b)
            .sum()
    };
    let (ai, af) = (area(i, bi), area(avf, bf));
    if ai == 0.0 && af == 0.0 {
        return None;
    }
    Some(af.atan2(ai).to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::Lead;

    /// A 12-lead synthetic recording: the same Gaussian beat scaled per lead so the
    /// frontal QRS axis is 60° (I = cos, aVF = sin projections).
    fn synthetic_12_lead(fs: f64, rr_s: f64, with_p: bool) -> Recording {
        let n = (10.0 * fs) as usize;
        let wave = |t: f64, c: f64, a: f64, w: f64| a * (-((t - c) / w).powi(2) / 2.0).exp();
        let beat = |t: f64| {
            (if with_p {
                wave(t, -0.16, 0.15, 0.015)
            } else {
                0.0
            }) + wave(t, 0.0, 1.0, 0.012)
                + wave(t, 0.3, 0.3, 0.04)
        };
        let base: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 / fs;
                let k = ((t - 0.6) / rr_s).round();
                beat(t - 0.6 - k * rr_s)
            })
            .collect();
        let angle = 60_f64.to_radians();
        // Projection of a frontal vector at `angle` on each limb lead's axis (degrees).
        let limb = [
            ("I", 0.0),
            ("II", 60.0),
            ("III", 120.0),
            ("aVR", -150.0),
            ("aVL", -30.0),
            ("aVF", 90.0),
        ];
        let mut leads = Vec::new();
        for (name, ax) in limb {
            let g = (angle - f64::to_radians(ax)).cos();
            leads.push(Lead::new(
                name,
                base.iter().map(|v| (v * g) as f32).collect(),
            ));
        }
        for (k, name) in ["V1", "V2", "V3", "V4", "V5", "V6"].iter().enumerate() {
            let g = -0.8 + 0.3 * k as f64;
            leads.push(Lead::new(
                *name,
                base.iter().map(|v| (v * g) as f32).collect(),
            ));
        }
        Recording {
            leads,
            sample_rate_hz: fs,
            ..Recording::default()
        }
    }

    #[test]
    fn synthetic_sinus_rhythm_is_measured() {
        for fs in [250.0, 500.0, 1000.0] {
            let rec = synthetic_12_lead(fs, 0.8, true);
            let m = measure(&rec);
            let hr = m.heart_rate_bpm.unwrap();
            assert!((hr - 75.0).abs() < 1.0, "fs {fs}: HR {hr}");
            let qrs = m.qrs_ms.unwrap();
            // σ = 12 ms Gaussian R: visible ±35 ms, plus the LUDB-fitted widening (25 ms).
            assert!((70.0..=115.0).contains(&qrs), "fs {fs}: QRS {qrs}");
            let qt = m.qt_ms.unwrap();
            assert!((380.0..=480.0).contains(&qt), "fs {fs}: QT {qt}");
            let pr = m.pr_ms.expect("PR");
            assert!((130.0..=180.0).contains(&pr), "fs {fs}: PR {pr}");
            let qtc = m.qtc_bazett_ms.unwrap();
            assert!((qtc - qt / 0.8_f32.sqrt()).abs() < 1.0);
            let axis = m.qrs_axis_deg.unwrap();
            assert!((axis - 60.0).abs() < 3.0, "fs {fs}: axis {axis}");
            assert!(m.missing_reasons.is_empty(), "{:?}", m.missing_reasons);
            assert!(m.median_beat.is_some());
        }
    }

    #[test]
    fn a_missing_value_serializes_with_its_field_name() {
        let m = Missing {
            field: Quantity::QtcFridericiaMs,
            reason: "no T wave end".into(),
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"field":"qtc_fridericia_ms","reason":"no T wave end"}"#
        );
    }

    #[test]
    fn no_p_waves_leave_pr_empty_with_a_reason() {
        let rec = synthetic_12_lead(500.0, 0.7, false);
        let m = measure(&rec);
        assert!(m.pr_ms.is_none());
        assert!(m
            .reason(Quantity::PrMs)
            .is_some_and(|r| r.contains("P wave")));
        assert!(m.qrs_ms.is_some());
    }

    #[test]
    fn irregular_rhythm_leaves_pr_empty_with_the_af_reason() {
        use crate::dsp::qrs::tests::synthetic_lead;
        let fs = 500.0;
        // Irregularly irregular RR (0.45–1.1 s), as in atrial fibrillation.
        let rr = [0.62, 0.95, 0.48, 1.1, 0.7, 0.55, 0.88, 0.45, 1.0];
        let (ii, _) = synthetic_lead(fs, 10.0, &rr, 1.0);
        let (v1, _) = synthetic_lead(fs, 10.0, &rr, -0.6);
        let rec = Recording {
            leads: vec![Lead::new("II", ii), Lead::new("V1", v1)],
            sample_rate_hz: fs,
            ..Recording::default()
        };
        let m = measure(&rec);
        assert!(m.rr_irregularity.unwrap() > 0.12);
        assert!(m.pr_ms.is_none() && m.p_ms.is_none());
        let reason = m.reason(Quantity::PrMs);
        assert!(
            reason.is_some_and(|r| r.contains("atrial fibrillation")),
            "{reason:?}"
        );
        assert!(m.qrs_ms.is_some() && m.heart_rate_bpm.is_some());
    }

    #[test]
    fn never_panics_on_random_and_extreme_signals() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for (k, (fs, len)) in [
            (500.0, 5000),
            (100.0, 1000),
            (1000.0, 3000),
            (250.0, 600),
            (500.0, 1001),
        ]
        .into_iter()
        .enumerate()
        {
            let mut leads = Vec::new();
            for l in 0..12 {
                let mut x: Vec<f32> = (0..len).map(|_| next()).collect();
                match (k + l) % 5 {
                    0 => x.iter_mut().step_by(97).for_each(|v| *v = f32::NAN),
                    1 => x.iter_mut().step_by(101).for_each(|v| *v = 1e30),
                    2 => x.iter_mut().step_by(89).for_each(|v| *v = f32::INFINITY),
                    3 => x.iter_mut().for_each(|v| *v *= 1e-9),
                    _ => {}
                }
                leads.push(Lead::new(StandardLead::ALL[l].label(), x));
            }
            let rec = Recording {
                leads,
                sample_rate_hz: fs,
                ..Recording::default()
            };
            let m = measure(&rec);
            // Whatever comes out is finite or absent, never NaN.
            for v in [m.heart_rate_bpm, m.pr_ms, m.qrs_ms, m.qt_ms, m.qrs_axis_deg]
                .into_iter()
                .flatten()
            {
                assert!(v.is_finite(), "{v}");
            }
        }
    }

    #[test]
    fn never_panics_on_odd_recordings() {
        let cases = vec![
            Recording::default(),
            Recording {
                leads: vec![Lead::new("II", vec![0.0; 5000])],
                sample_rate_hz: 500.0,
                ..Recording::default()
            },
            Recording {
                leads: vec![Lead::new("II", vec![f32::NAN; 5000])],
                sample_rate_hz: 500.0,
                ..Recording::default()
            },
            Recording {
                leads: vec![Lead::new("II", vec![1.0; 10])],
                sample_rate_hz: 500.0,
                ..Recording::default()
            },
            Recording {
                leads: vec![Lead::new("X", vec![1.0; 1000])],
                sample_rate_hz: f64::NAN,
                ..Recording::default()
            },
        ];
        for rec in cases {
            let m = measure(&rec);
            assert!(m.heart_rate_bpm.is_none());
            assert!(!m.missing_reasons.is_empty());
        }
        // 100 Hz works too.
        let m = measure(&synthetic_12_lead(100.0, 1.0, true));
        assert!((m.heart_rate_bpm.unwrap() - 60.0).abs() < 1.0);
        assert!(m.qrs_ms.is_some());
    }
}
