//! Wave delineation on the median beat: global P onset/offset, QRS onset/offset, T end,
//! and each lead's own boundaries.
//!
//! **Global boundaries** are a multi-lead consensus, stated so that one noisy lead cannot
//! move them, and calibrated against LUDB's robust reference (per beat, the
//! second-earliest onset and second-latest offset over the 12 leads the cardiologists
//! marked independently): not the strict earliest onset / latest offset over all leads,
//! which stretches the QRS by one lead's marking spread (about 9 ms on LUDB):
//! - QRS onset/offset: the mean of two estimates whose errors are partly independent:
//!   (1) the spatial velocity Σ|dx/dt| over leads falls below `floor + α·(peak − floor)`
//!   before/after its QRS maximum and stays below for 10 ms (the "spatial velocity"
//!   method of Xue et al., J Electrocardiol 2007, used by 12SL); (2) per lead, the same
//!   on the lead's own |dx/dt| at 5 % of its peak, then the second-earliest onset /
//!   second-latest offset over leads with a clear QRS. A boundary not found within
//!   150 ms of the velocity peak is searched up to 250 ms (bundle-branch block); an
//!   offset still not found (the sloping ST of a left bundle-branch block keeps the
//!   velocity above the threshold) is the velocity's knee, its first local minimum below
//!   15 % of the peak;
//! - T end: per lead, the trapezium-area method of Vázquez-Seisdedos et al. (BioMedical
//!   Engineering OnLine 2011) after the T peak; the global end is the second-latest over
//!   leads with a visible T wave;
//! - P wave: the spatial magnitude √Σ(x − baseline)² in the window after the previous
//!   T wave and before the QRS, with a linear baseline; onset/offset where it falls to a
//!   fraction of its peak. The P wave is reported only when it is large enough and
//!   consistent from beat to beat (checked by the caller, see `measurements`).
//!
//! **Per-lead boundaries** ([`LeadBoundaries`]): the lead's own threshold crossing (QRS:
//! its |slope| at 5 % of its peak; T: its trapezium end; P: its |deflection| at the P
//! fraction of its largest one inside the global P wave), averaged half and half with the
//! global boundary (the weight was chosen by cross-validation: a lead's own crossing alone
//! is noisier than the cardiologists' per-lead marks, which mostly sit near the global
//! boundary), plus a constant shift per wave.
//!
//! Positions are sample indices into the median beat; thresholds are in the units of the
//! median beat (mV, mV/s). Parameters live in [`DelineationParams`] so validation can
//! sweep them. The constant shifts are fitted on LUDB and 5-fold cross-validated over its
//! records (`ecglab validate-intervals`, `ecglab::interval_cv`); the thresholds date from
//! an earlier fit on half of the LUDB records.

/// Tunable thresholds of the delineator (defaults tuned on LUDB; see `validate`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DelineationParams {
    /// QRS onset threshold as a fraction of the spatial-velocity peak above the floor
    /// (the crossing sits inside the QRS; the onset shift brings it back to the onset).
    pub qrs_onset_fraction: f32,
    /// QRS offset threshold fraction.
    pub qrs_offset_fraction: f32,
    /// Per-lead QRS boundaries: each lead's |slope| crosses this fraction of its own peak
    /// (onset and offset), then the `qrs_lead_rank`-th earliest onset / latest offset over
    /// leads whose slope peak is at least 20 % of the steepest lead's.
    pub qrs_lead_fraction: f32,
    /// 0 = earliest onset / latest offset over leads, 1 = second, …
    pub qrs_lead_rank: usize,
    /// Weight of the per-lead boundary in the global one: 0 = spatial velocity only,
    /// 1 = per lead only, in between a weighted mean of the two (their errors are partly
    /// independent, so the mean is steadier than either).
    pub qrs_lead_weight: f32,
    /// Lead weighting in the spatial velocity: 0 = slopes in mV/s as recorded, 1 = each
    /// lead scaled to the same QRS slope (see `spatial_velocity`).
    pub qrs_lead_equalise: f32,
    /// P onset/offset threshold as a fraction of the P spatial-magnitude peak.
    pub p_fraction: f32,
    /// Which late order statistic of per-lead T ends is the global T end: 0 = latest,
    /// 1 = second latest, …
    pub t_end_rank: usize,
    /// Least T-wave amplitude (mV) for a lead to vote on the T end.
    pub t_min_amplitude_mv: f32,
    /// Least T-wave amplitude relative to the largest lead's for a lead to vote.
    pub t_min_relative: f32,
    /// Per-lead T ends later than the median T end by more than this (ms) are outliers
    /// (a U wave or the next P wave taken for the T wave) and do not vote.
    pub t_outlier_ms: f32,
    /// Latest T end searched, as a multiple of √RR (s) after the R peak (a generous
    /// QTc limit), and never beyond 75 % of RR.
    pub t_search_sqrt_rr: f64,
    /// Least P spatial magnitude (mV) for a P wave to count.
    pub p_min_amplitude_mv: f32,
    /// Mean correlation of single-beat P waves with the median P wave needed to call the
    /// P waves consistent (used by `measurements`).
    pub p_min_consistency: f32,
    /// RR irregularity (median |ΔRR| / median RR) above which P waves are not trusted
    /// (atrial fibrillation; used by `measurements`).
    pub af_rr_irregularity: f32,
    /// Low-pass applied to the leads before the median beat is formed (Hz).
    pub lowpass_hz: f64,
    /// Shifts (ms) added to the threshold crossings: a threshold above the noise floor
    /// finds a wave a little inside the point where a cardiologist sees it leave the
    /// baseline; these constant corrections were fitted on LUDB (see `ecglab::intervals`).
    /// Negative = earlier.
    pub qrs_onset_shift_ms: f32,
    pub qrs_offset_shift_ms: f32,
    pub p_onset_shift_ms: f32,
    pub p_offset_shift_ms: f32,
    pub t_end_shift_ms: f32,
    /// Widening of the QRS on each side at 100 Hz (ms), removed as `w·(100/fs)²`.
    pub qrs_widening_ms_at_100_hz: f64,
    /// How much earlier the P onset is found at 100 Hz (ms), removed as `w·(100/fs)²`.
    pub p_onset_early_ms_at_100_hz: f64,
    /// Shifts (ms) of the per-lead boundaries ([`LeadBoundaries`]), fitted as the mean
    /// difference to the cardiologists' per-lead marks (LUDB, cross-validated by
    /// `ecglab validate-intervals`). Negative = earlier.
    pub lead_qrs_onset_shift_ms: f32,
    pub lead_qrs_offset_shift_ms: f32,
    pub lead_p_onset_shift_ms: f32,
    pub lead_p_offset_shift_ms: f32,
    pub lead_t_end_shift_ms: f32,
    /// Least P-wave amplitude (mV) in one lead for that lead's P boundaries.
    pub lead_p_min_amplitude_mv: f32,
    /// Global boundaries from the per-lead ones: the `global_lead_rank`-th earliest onset
    /// and latest offset over leads (as LUDB's robust reference is defined on the
    /// cardiologists' per-lead marks). `None` = the spatial-velocity estimators above.
    pub global_lead_rank: Option<usize>,
    /// Weight of a lead's own boundary against the global one (0 = every lead takes the
    /// global boundary, 1 = its own only; a lead without its own boundary takes the
    /// global one when the weight is below 1). Chosen among 0, ½ and 1 by the
    /// cross-validated per-lead SD on LUDB (½ was best for every wave).
    pub lead_own_weight: f32,
}

impl Default for DelineationParams {
    /// The fractions, per-lead weight and rank come from a small grid search on half of
    /// the public LUDB records (id mod 4 ∈ {0, 1}); the sampling-rate constants from LUDB
    /// resampled to 100/250/1000 Hz. The constant shifts zero the mean difference to the
    /// cardiologists' marks over all 100 records — global ones against the robust
    /// reference, per-lead ones against each lead's marks — and their generalisation is
    /// measured by 5-fold cross-validation (`ecglab validate-intervals`; the
    /// `ludb_intervals` test asserts the cross-validated table and that these defaults are
    /// the shifts fitted on all records).
    fn default() -> Self {
        DelineationParams {
            qrs_onset_fraction: 0.3,
            qrs_offset_fraction: 0.05,
            qrs_lead_fraction: 0.05,
            qrs_lead_rank: 1,
            qrs_lead_weight: 0.5,
            qrs_lead_equalise: 0.0,
            p_fraction: 0.2,
            t_end_rank: 1,
            t_min_amplitude_mv: 0.05,
            t_min_relative: 0.0,
            t_outlier_ms: 60.0,
            t_search_sqrt_rr: 0.5,
            p_min_amplitude_mv: 0.03,
            p_min_consistency: 0.6,
            af_rr_irregularity: 0.12,
            lowpass_hz: 40.0,
            qrs_onset_shift_ms: -17.2,
            qrs_offset_shift_ms: 5.7,
            p_onset_shift_ms: -10.8,
            p_offset_shift_ms: 7.0,
            t_end_shift_ms: -6.3,
            qrs_widening_ms_at_100_hz: 3.8,
            p_onset_early_ms_at_100_hz: 7.7,
            lead_qrs_onset_shift_ms: -6.7,
            lead_qrs_offset_shift_ms: -2.5,
            lead_p_onset_shift_ms: -0.4,
            lead_p_offset_shift_ms: -3.8,
            lead_t_end_shift_ms: -19.5,
            lead_p_min_amplitude_mv: 0.02,
            global_lead_rank: None,
            lead_own_weight: 0.5,
        }
    }
}

/// One lead's own boundaries on the median beat, in fractional samples (constant shifts
/// applied); `None` where the lead shows no such wave.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LeadBoundaries {
    pub p_onset: Option<f64>,
    pub p_offset: Option<f64>,
    pub qrs_onset: Option<f64>,
    pub qrs_offset: Option<f64>,
    pub t_offset: Option<f64>,
}

/// Boundaries found on the median beat (indices into it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Boundaries {
    pub p_onset: Option<usize>,
    pub p_peak: Option<usize>,
    pub p_offset: Option<usize>,
    /// Peak spatial magnitude of the P wave (mV).
    pub p_amplitude_mv: Option<f32>,
    pub qrs_onset: Option<usize>,
    pub qrs_offset: Option<usize>,
    pub t_peak: Option<usize>,
    pub t_offset: Option<usize>,
    /// The T wave had not ended at the end of the search window (QTc ≳ 550 ms, or a U
    /// wave merging with it): T end left unmeasured.
    pub t_beyond_window: bool,
    /// The same boundaries in fractional samples (intervals are computed from these).
    pub exact: ExactPositions,
    /// Each input lead's own boundaries (same order as the input leads).
    pub leads: Vec<LeadBoundaries>,
}

/// Boundaries in fractional sample positions within the median beat.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExactPositions {
    pub p_onset: Option<f64>,
    pub p_offset: Option<f64>,
    pub qrs_onset: Option<f64>,
    pub qrs_offset: Option<f64>,
    pub t_offset: Option<f64>,
}

/// Spatial-velocity fractions whose crossings anchor the P and T searches.
const ANCHOR_ONSET_FRACTION: f32 = 0.1;
const ANCHOR_OFFSET_FRACTION: f32 = 0.05;

/// How far (s) a single lead's QRS onset may lie before the spatial-velocity onset (or its
/// offset after the spatial-velocity offset) and still vote; on LUDB the second-earliest
/// lead lies 8–40 ms before the spatial velocity's 30 % crossing.
const LEAD_REACH_S: f64 = 0.06;

fn secs(s: f64, fs: f64) -> usize {
    (s * fs).round().max(0.0) as usize
}

/// Centred moving average (edges use the available samples).
fn smooth(x: &[f32], width: usize) -> Vec<f32> {
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

/// Replace non-finite samples by 0 (the median beat is baseline-corrected, so 0 is
/// "no deflection").
fn finite(x: &[f32]) -> Vec<f32> {
    x.iter()
        .map(|&v| if v.is_finite() { v } else { 0.0 })
        .collect()
}

/// Spatial velocity Σ_l |x_l[i+1] − x_l[i−1]| / 2 · fs (mV/s).
///
/// With `equalise > 0`, each lead's slope is divided by its largest slope within ±60 ms
/// of `r` raised to `equalise` (1 = every lead votes equally, 0 = mV/s as recorded);
/// leads below 5 % of the steepest are left out.
fn spatial_velocity(leads: &[Vec<f32>], fs: f64, r: usize, equalise: f32) -> Vec<f32> {
    let n = leads.first().map_or(0, Vec::len);
    let mut sv = vec![0.0_f32; n];
    let lo = r.saturating_sub(secs(0.06, fs));
    let hi = (r + secs(0.06, fs) + 1).min(n.saturating_sub(1));
    let peak_slope = |lead: &Vec<f32>| -> f32 {
        (lo.max(1)..hi)
            .map(|i| (lead[i + 1] - lead[i - 1]).abs())
            .fold(0.0, f32::max)
    };
    let peaks: Vec<f32> = leads.iter().map(peak_slope).collect();
    let steepest = peaks.iter().copied().fold(0.0_f32, f32::max);
    for (lead, &peak) in leads.iter().zip(&peaks) {
        let weight = if equalise > 0.0 {
            if peak <= 0.05 * steepest || peak <= 0.0 {
                continue;
            }
            (steepest / peak).powf(equalise)
        } else {
            1.0
        };
        for i in 1..n.saturating_sub(1) {
            sv[i] += weight * (lead[i + 1] - lead[i - 1]).abs();
        }
    }
    let scale = (fs / 2.0) as f32;
    for v in &mut sv {
        *v *= scale;
    }
    sv
}

/// Percentile (0–1) of a slice (copy, `NaN`-free input assumed).
fn percentile(x: &[f32], q: f32) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    let mut v = x.to_vec();
    let k = ((v.len() - 1) as f32 * q.clamp(0.0, 1.0)).round() as usize;
    let (_, m, _) = v.select_nth_unstable_by(k, f32::total_cmp);
    *m
}

/// Delineate the median beat. `leads` are the median-beat waveforms (mV, baseline
/// removed), `fiducial` the QRS fiducial index, `rr_s` the median RR interval (s).
pub fn delineate(
    leads: &[Vec<f32>],
    fiducial: usize,
    fs: f64,
    rr_s: f64,
    params: &DelineationParams,
) -> Boundaries {
    let mut b = Boundaries::default();
    let n = leads.first().map_or(0, Vec::len);
    if n < 8 || fiducial >= n || !(fs.is_finite() && fs > 0.0) {
        return b;
    }
    let leads: Vec<Vec<f32>> = leads.iter().map(|l| finite(l)).collect();
    let r = fiducial;

    // ---- QRS onset / offset: spatial velocity and per lead, combined.
    let sv = smooth(
        &spatial_velocity(&leads, fs, r, params.qrs_lead_equalise),
        secs(0.01, fs).max(1),
    );
    let (sv_on, sv_off) = match qrs_crossings(
        &sv,
        r,
        fs,
        params.qrs_onset_fraction,
        params.qrs_offset_fraction,
    ) {
        Some((on, off, _)) => (on, off),
        None => (None, None),
    };
    let weight = f64::from(params.qrs_lead_weight.clamp(0.0, 1.0));
    let (lead_on, lead_off, lead_qrs) = per_lead_qrs(&leads, r, fs, params, sv_on, sv_off);
    let (lead_on, lead_off) = if weight > 0.0 {
        (lead_on, lead_off)
    } else {
        (None, None)
    };
    let mut lead_raw: Vec<LeadBoundaries> = lead_qrs
        .iter()
        .map(|&(on, off)| LeadBoundaries {
            qrs_onset: on,
            qrs_offset: off,
            ..LeadBoundaries::default()
        })
        .collect();
    // The weighted mean where both exist; the spatial velocity alone where no lead
    // qualifies. Nothing where the spatial velocity finds no boundary: a complex wider
    // than the search (paced, very wide) is left unmeasured rather than guessed.
    let combine = |global: Option<f64>, lead: Option<f64>| -> Option<f64> {
        let global = global?;
        Some(lead.map_or(global, |l| (1.0 - weight) * global + weight * l))
    };
    let qrs_on_f = combine(sv_on, lead_on);
    let qrs_off_f = combine(sv_off, lead_off);
    b.qrs_onset = qrs_on_f.map(|v| v.round().max(0.0) as usize);
    b.qrs_offset = qrs_off_f.map(|v| v.round().max(0.0) as usize);
    let (Some(on_f), Some(off_f)) = (qrs_on_f, qrs_off_f) else {
        return b;
    };
    let n_leads = leads.len();
    // The P and T searches below are laid out from fixed anchors on the spatial velocity:
    // where it rises through 10 % and falls through 5 % of its QRS peak (they were fitted
    // that way; the P-wave search in particular is sensitive to where its window ends, so
    // the anchors stay put whatever the QRS boundary estimator). Where a crossing is not
    // found, the QRS boundary itself stands in.
    let (anchor_on, anchor_off) =
        qrs_crossings(&sv, r, fs, ANCHOR_ONSET_FRACTION, ANCHOR_OFFSET_FRACTION)
            .map_or((None, None), |(on, off, _)| (on, off));
    let to_index = |x: f64| (x.round().max(0.0) as usize).min(n - 1);
    let qrs_on = to_index(anchor_on.unwrap_or(on_f));
    let qrs_off = to_index(anchor_off.unwrap_or(off_f));

    // Isoelectric level of each lead: mean over the 20 ms before QRS onset.
    let iso_lo = qrs_on.saturating_sub(secs(0.02, fs));
    let iso: Vec<f32> = leads
        .iter()
        .map(|l| {
            let s = &l[iso_lo..=qrs_on];
            s.iter().sum::<f32>() / s.len() as f32
        })
        .collect();

    // ---- T end: trapezium area per lead.
    let rr_s = if rr_s.is_finite() && rr_s > 0.2 {
        rr_s
    } else {
        1.0
    };
    let t_search_s = (0.75 * rr_s)
        .min(params.t_search_sqrt_rr * rr_s.sqrt())
        .clamp(0.3, 0.65);
    let t_hi = (r + secs(t_search_s, fs)).min(n - 1);
    let t_lo = qrs_off + secs(0.06, fs);
    let mut t_ends = Vec::new();
    let mut t_peak_best: Option<(f32, usize)> = None;
    if t_lo + secs(0.08, fs) < t_hi {
        let smooth_w = secs(0.02, fs).max(1);
        for (li, (lead, &base)) in leads.iter().zip(&iso).enumerate() {
            let y: Vec<f32> = smooth(&lead[t_lo..=t_hi], smooth_w)
                .iter()
                .map(|v| v - base)
                .collect();
            let peak_hi = y.len().saturating_sub(secs(0.04, fs)).max(1);
            let Some((tp, amp)) = y[..peak_hi]
                .iter()
                .enumerate()
                .max_by(|a, c| a.1.abs().total_cmp(&c.1.abs()))
                .map(|(k, &v)| (k, v))
            else {
                continue;
            };
            if amp.abs() < params.t_min_amplitude_mv {
                continue;
            }
            if t_peak_best.is_none_or(|(a, _)| amp.abs() > a) {
                t_peak_best = Some((amp.abs(), t_lo + tp));
            }
            // Orient so the T wave is positive.
            let sign = amp.signum();
            let z: Vec<f32> = y.iter().map(|v| v * sign).collect();
            // Point of steepest descent after the peak (within 200 ms).
            let desc_hi = (tp + secs(0.2, fs)).min(z.len() - 1);
            if desc_hi <= tp + 1 {
                continue;
            }
            let Some(tm) = (tp + 1..desc_hi)
                .min_by(|&a, &c| (z[a + 1] - z[a - 1]).total_cmp(&(z[c + 1] - z[c - 1])))
            else {
                continue;
            };
            let tr = (tm + secs(0.15, fs)).min(z.len() - 1);
            if tr <= tm {
                continue;
            }
            let (xm, tmf, trf) = (z[tm], tm as f32, tr as f32);
            let te = (tm..=tr).max_by(|&a, &c| {
                let area = |t: usize| (xm - z[t]) * (2.0 * trf - t as f32 - tmf);
                area(a).total_cmp(&area(c))
            });
            if let Some(te) = te {
                t_ends.push((amp.abs(), t_lo + te, li));
            }
        }
    }
    let largest_t = t_ends.iter().map(|e| e.0).fold(0.0_f32, f32::max);
    let t_voters: Vec<(usize, usize)> = t_ends
        .into_iter()
        .filter(|e| e.0 >= params.t_min_relative * largest_t)
        .map(|e| (e.1, e.2))
        .collect();
    let mut t_ends: Vec<usize> = t_voters.iter().map(|e| e.0).collect();
    if !t_ends.is_empty() {
        t_ends.sort_unstable();
        let median_end = t_ends[t_ends.len() / 2] as f64;
        let limit = median_end + f64::from(params.t_outlier_ms) / 1000.0 * fs;
        // Each lead's own T end, where it is no outlier and not the window's edge.
        for &(end, li) in &t_voters {
            if end as f64 <= limit && end + secs(0.01, fs) < t_hi {
                if let Some(l) = lead_raw.get_mut(li) {
                    l.t_offset = Some(end as f64);
                }
            }
        }
        t_ends.retain(|&e| e as f64 <= limit);
        t_ends.reverse();
        let k = params.t_end_rank.min(t_ends.len() - 1);
        // An end at the edge of the search window is the window, not the wave: a very
        // long QT (or a U wave) that we do not measure rather than clip.
        if t_ends[k] + secs(0.01, fs) < t_hi {
            b.t_offset = Some(t_ends[k]);
        } else {
            b.t_beyond_window = true;
        }
        b.t_peak = t_peak_best.map(|(_, i)| i);
    }

    // ---- P wave: spatial magnitude before the QRS, after the previous T wave.
    let t_rel = b.t_offset.map_or(secs(0.4, fs), |t| t.saturating_sub(r));
    let prev_r = r as f64 - rr_s * fs;
    // The previous beat's T wave ends t_rel after its R, but never later than 55 % of the
    // RR interval (at fast rates the P wave rides on the end of the T wave).
    let t_rel = (t_rel as f64).min(0.55 * rr_s * fs);
    let after_prev_t = (prev_r + t_rel).max(0.0) as usize;
    let p_lo = qrs_on.saturating_sub(secs(0.32, fs)).max(after_prev_t);
    let p_hi = qrs_on.saturating_sub(secs(0.01, fs));
    if p_hi > p_lo + secs(0.06, fs) {
        let smooth_w = secs(0.02, fs).max(1);
        let width = (p_hi - p_lo) as f32;
        let mut vm = vec![0.0_f32; p_hi - p_lo + 1];
        let mut detrended: Vec<Vec<f32>> = Vec::with_capacity(n_leads);
        for lead in &leads {
            let mut y = smooth(&lead[p_lo..=p_hi], smooth_w);
            let (y0, y1) = (y[0], y[y.len() - 1]);
            for (k, (acc, v)) in vm.iter_mut().zip(y.iter_mut()).enumerate() {
                let base = y0 + (y1 - y0) * k as f32 / width;
                *v -= base;
                *acc += v.powi(2);
            }
            detrended.push(y);
        }
        for v in &mut vm {
            *v = v.sqrt();
        }
        if let Some((pk, amp)) = vm
            .iter()
            .enumerate()
            .max_by(|a, c| a.1.total_cmp(c.1))
            .map(|(k, &v)| (k, v))
        {
            b.p_amplitude_mv = Some(amp);
            if amp >= params.p_min_amplitude_mv {
                let thr = params.p_fraction * amp;
                // Within 120 ms of the peak; where the magnitude never falls that low
                // (a wave runs into the window edge), its lowest point there.
                let reach = secs(0.12, fs);
                let lowest =
                    |range: std::ops::Range<usize>| range.min_by(|&a, &c| vm[a].total_cmp(&vm[c]));
                let on_lo = pk.saturating_sub(reach);
                let on = (on_lo..pk)
                    .rev()
                    .find(|&k| vm[k] < thr)
                    .or_else(|| lowest(on_lo..pk));
                let off_hi = (pk + reach).min(vm.len());
                let off = (pk..off_hi)
                    .find(|&k| vm[k] < thr)
                    .or_else(|| lowest(pk..off_hi));
                if let (Some(on), Some(off)) = (on, off) {
                    b.p_onset = Some(p_lo + on);
                    b.p_offset = Some(p_lo + off);
                    b.p_peak = Some(p_lo + pk);
                    for (l, y) in lead_raw.iter_mut().zip(&detrended) {
                        if let Some((lon, loff)) = lead_p(
                            y,
                            on,
                            off,
                            reach,
                            params.p_fraction,
                            params.lead_p_min_amplitude_mv,
                        ) {
                            l.p_onset = Some((p_lo + lon) as f64);
                            l.p_offset = Some((p_lo + loff) as f64);
                        }
                    }
                }
            }
        }
    }
    // Constant corrections, kept in fractional samples so that intervals do not depend
    // on how a shift rounds at the recording's rate; the indices are rounded for drawing.
    let shift_exact = |x: Option<f64>, shift_ms: f32| -> Option<f64> {
        let moved = x? + f64::from(shift_ms) / 1000.0 * fs;
        Some(moved.clamp(0.0, (n - 1) as f64))
    };
    let shift = |i: Option<usize>, shift_ms: f32| shift_exact(i.map(|i| i as f64), shift_ms);
    // At low rates the anti-alias and measurement low-passes widen the QRS; it shrinks
    // with the square of the sampling step (fitted: LUDB resampled to 100/250/1000 Hz).
    let rate_ms = (params.qrs_widening_ms_at_100_hz * (100.0 / fs).powi(2)) as f32;
    b.exact = ExactPositions {
        p_onset: shift(
            b.p_onset,
            params.p_onset_shift_ms
                + (params.p_onset_early_ms_at_100_hz * (100.0 / fs).powi(2)) as f32,
        ),
        p_offset: shift(b.p_offset, params.p_offset_shift_ms),
        qrs_onset: shift_exact(qrs_on_f, params.qrs_onset_shift_ms + rate_ms),
        qrs_offset: shift_exact(qrs_off_f, params.qrs_offset_shift_ms - rate_ms),
        t_offset: shift(b.t_offset, params.t_end_shift_ms),
    };
    let lead_shift = |x: Option<f64>, shift_ms: f32| shift_exact(x, shift_ms);
    let w = f64::from(params.lead_own_weight.clamp(0.0, 1.0));
    let blend = |own: Option<f64>, global: Option<f64>, w: f64| -> Option<f64> {
        match (own, global) {
            (Some(o), Some(g)) => Some(w * o + (1.0 - w) * g),
            (None, Some(g)) if w < 1.0 => Some(g),
            (o, _) => o,
        }
    };
    let (g_p_on, g_p_off) = if b.p_onset.is_some() {
        (b.p_onset.map(|v| v as f64), b.p_offset.map(|v| v as f64))
    } else {
        (None, None)
    };
    for l in &mut lead_raw {
        l.qrs_onset = blend(l.qrs_onset, Some(on_f), w);
        l.qrs_offset = blend(l.qrs_offset, Some(off_f), w);
        l.p_onset = blend(l.p_onset, g_p_on, w);
        l.p_offset = blend(l.p_offset, g_p_off, w);
        l.t_offset = blend(l.t_offset, b.t_offset.map(|v| v as f64), w);
    }
    b.leads = lead_raw
        .iter()
        .map(|l| LeadBoundaries {
            p_onset: lead_shift(
                l.p_onset,
                params.lead_p_onset_shift_ms
                    + (params.p_onset_early_ms_at_100_hz * (100.0 / fs).powi(2)) as f32,
            ),
            p_offset: lead_shift(l.p_offset, params.lead_p_offset_shift_ms),
            qrs_onset: lead_shift(l.qrs_onset, params.lead_qrs_onset_shift_ms + rate_ms),
            qrs_offset: lead_shift(l.qrs_offset, params.lead_qrs_offset_shift_ms - rate_ms),
            t_offset: lead_shift(l.t_offset, params.lead_t_end_shift_ms),
        })
        .collect();
    if let Some(k) = params.global_lead_rank {
        let kth = |get: fn(&LeadBoundaries) -> Option<f64>, latest: bool| -> Option<f64> {
            let mut v: Vec<f64> = b.leads.iter().filter_map(get).collect();
            if latest {
                v.sort_unstable_by(|a, c| c.total_cmp(a));
            } else {
                v.sort_unstable_by(f64::total_cmp);
            }
            v.get(k.min(v.len().saturating_sub(1))).copied()
        };
        let keep = |global: Option<f64>, lead: Option<f64>| global.and(lead).or(global);
        b.exact.qrs_onset = keep(b.exact.qrs_onset, kth(|l| l.qrs_onset, false));
        b.exact.qrs_offset = keep(b.exact.qrs_offset, kth(|l| l.qrs_offset, true));
        b.exact.p_onset = keep(b.exact.p_onset, kth(|l| l.p_onset, false));
        b.exact.p_offset = keep(b.exact.p_offset, kth(|l| l.p_offset, true));
        b.exact.t_offset = keep(b.exact.t_offset, kth(|l| l.t_offset, true));
    }
    let round = |x: Option<f64>| x.map(|v| v.round() as usize);
    b.p_onset = round(b.exact.p_onset);
    b.p_offset = round(b.exact.p_offset);
    b.qrs_onset = round(b.exact.qrs_onset);
    b.qrs_offset = round(b.exact.qrs_offset);
    b.t_offset = round(b.exact.t_offset);
    b
}

/// QRS onset and offset on one velocity curve: going back (forward) from its maximum
/// within ±60 ms of `r`, the first point where it stays below `floor + fraction·(peak −
/// floor)` for 10 ms (floor = 10th percentile). Returns (onset, offset, peak value).
fn qrs_crossings(
    sv: &[f32],
    r: usize,
    fs: f64,
    onset_fraction: f32,
    offset_fraction: f32,
) -> Option<(Option<f64>, Option<f64>, f32)> {
    let narrow = qrs_crossings_within(sv, r, fs, onset_fraction, offset_fraction, NARROW_SPAN_S)?;
    if narrow.0.is_some() && narrow.1.is_some() {
        return Some(narrow);
    }
    // A wide complex (bundle-branch block, ventricular conduction delay): the velocity
    // does not settle within 150 ms of its peak on one side; search that side further.
    let wide = qrs_crossings_within(sv, r, fs, onset_fraction, offset_fraction, WIDE_SPAN_S)?;
    // In a bundle-branch block the ST segment slopes, so the velocity may never settle
    // below the offset fraction before the T wave: the QRS ends at the knee, the first
    // local minimum of the velocity below KNEE_FRACTION of its peak.
    let off = narrow.1.or(wide.1).or_else(|| knee_after_peak(sv, r, fs));
    Some((narrow.0.or(wide.0), off, narrow.2))
}

/// The velocity's maximum within ±60 ms of `r` (index, value) and its floor (10th
/// percentile of the whole curve).
fn velocity_peak(sv: &[f32], r: usize, fs: f64) -> Option<(usize, f32, f32)> {
    let floor = percentile(sv, 0.1);
    let search = secs(0.06, fs).max(1);
    let lo = r.saturating_sub(search);
    let hi = (r + search + 1).min(sv.len());
    let (peak_i, peak_v) = sv
        .get(lo..hi)?
        .iter()
        .enumerate()
        .max_by(|a, c| a.1.total_cmp(c.1))
        .map(|(k, &v)| (lo + k, v))?;
    Some((peak_i, peak_v, floor))
}

/// See [`knee_after_peak`].
const KNEE_FRACTION: f32 = 0.15;

/// The first local minimum of the velocity below [`KNEE_FRACTION`] of its peak (above
/// the floor), within [`WIDE_SPAN_S`] after the peak near `r`.
fn knee_after_peak(sv: &[f32], r: usize, fs: f64) -> Option<f64> {
    let n = sv.len();
    let (peak_i, peak_v, floor) = velocity_peak(sv, r, fs)?;
    let thr = floor + KNEE_FRACTION * (peak_v - floor);
    let end = (peak_i + secs(WIDE_SPAN_S, fs)).min(n.saturating_sub(1));
    (peak_i + 1..end)
        .find(|&i| sv[i] < thr && sv[i] <= sv[i + 1] && sv[i] <= sv[i - 1])
        .map(|i| i as f64)
}

/// How far from the velocity peak a QRS boundary is first searched (s).
const NARROW_SPAN_S: f64 = 0.15;
/// How far it is searched when not found within [`NARROW_SPAN_S`] (s): a QRS up to about
/// 250 ms.
const WIDE_SPAN_S: f64 = 0.25;

fn qrs_crossings_within(
    sv: &[f32],
    r: usize,
    fs: f64,
    onset_fraction: f32,
    offset_fraction: f32,
    span_s: f64,
) -> Option<(Option<f64>, Option<f64>, f32)> {
    let n = sv.len();
    let (peak_i, peak_v, floor) = velocity_peak(sv, r, fs)?;
    if peak_v <= floor || peak_v <= 0.0 {
        return None;
    }
    let hold = secs(0.01, fs).max(1);
    let max_span = secs(span_s, fs).max(2);
    let thr_on = floor + onset_fraction * (peak_v - floor);
    let thr_off = floor + offset_fraction * (peak_v - floor);
    let mut qrs_on = None;
    let start_limit = peak_i.saturating_sub(max_span);
    let mut i = peak_i;
    while i > start_limit + hold {
        if (i - hold..=i).all(|k| sv[k] < thr_on) {
            // The crossing lies between i and i + 1: interpolated linearly (unbiased at
            // coarse rates, where always taking i would widen the QRS by half a step).
            let (below, above) = (sv[i], sv[i + 1]);
            let frac = if above > below {
                ((thr_on - below) / (above - below)).clamp(0.0, 1.0)
            } else {
                0.0
            };
            qrs_on = Some(i as f64 + f64::from(frac));
            break;
        }
        i -= 1;
    }
    let mut qrs_off = None;
    let end_limit = (peak_i + max_span).min(n - 1);
    let mut i = peak_i;
    while i + hold < end_limit {
        if (i..=i + hold).all(|k| sv[k] < thr_off) {
            let (below, above) = (sv[i], sv[i.saturating_sub(1)]);
            let frac = if above > below && i > 0 {
                ((thr_off - below) / (above - below)).clamp(0.0, 1.0)
            } else {
                0.0
            };
            qrs_off = Some(i as f64 - f64::from(frac));
            break;
        }
        i += 1;
    }
    Some((qrs_on, qrs_off, peak_v))
}

/// (onset, offset) of one lead's QRS, fractional samples.
type OnOff = (Option<f64>, Option<f64>);

/// QRS boundaries per lead (|slope| of each lead), then the `qrs_lead_rank`-th earliest
/// onset and latest offset over leads whose slope peak is at least 20 % of the largest.
/// A lead's onset more than [`LEAD_REACH_S`] before `global_on` (or offset after
/// `global_off`) is a P or T wave taken for the QRS and does not vote.
fn per_lead_qrs(
    leads: &[Vec<f32>],
    r: usize,
    fs: f64,
    params: &DelineationParams,
    global_on: Option<f64>,
    global_off: Option<f64>,
) -> (Option<f64>, Option<f64>, Vec<OnOff>) {
    let reach = LEAD_REACH_S * fs;
    let earliest = global_on.map_or(f64::NEG_INFINITY, |g| g - reach);
    let latest = global_off.map_or(f64::INFINITY, |g| g + reach);
    let n = leads.first().map_or(0, Vec::len);
    let width = secs(0.01, fs).max(1);
    let scale = (fs / 2.0) as f32;
    let found: Vec<(Option<f64>, Option<f64>, f32)> = leads
        .iter()
        .map(|lead| {
            let mut v = vec![0.0_f32; n];
            for i in 1..n.saturating_sub(1) {
                v[i] = (lead[i + 1] - lead[i - 1]).abs() * scale;
            }
            qrs_crossings_within(
                &smooth(&v, width),
                r,
                fs,
                params.qrs_lead_fraction,
                params.qrs_lead_fraction,
                NARROW_SPAN_S,
            )
            .unwrap_or((None, None, 0.0))
        })
        .collect();
    let per_lead = found
        .iter()
        .map(|f| {
            (
                f.0.filter(|&on| on >= earliest),
                f.1.filter(|&off| off <= latest),
            )
        })
        .collect();
    let largest = found.iter().map(|f| f.2).fold(0.0_f32, f32::max);
    let voters: Vec<_> = found
        .iter()
        .filter(|f| f.2 > 0.0 && f.2 >= 0.2 * largest)
        .collect();
    let mut ons: Vec<f64> = voters
        .iter()
        .filter_map(|f| f.0)
        .filter(|&on| on >= earliest)
        .collect();
    let mut offs: Vec<f64> = voters
        .iter()
        .filter_map(|f| f.1)
        .filter(|&off| off <= latest)
        .collect();
    ons.sort_unstable_by(f64::total_cmp);
    offs.sort_unstable_by(|a, c| c.total_cmp(a));
    let k = params.qrs_lead_rank;
    let pick = |v: &[f64]| v.get(k.min(v.len().saturating_sub(1))).copied();
    (pick(&ons), pick(&offs), per_lead)
}

/// One lead's P-wave boundaries within its detrended P window `y`: the lead's largest
/// |deflection| between the global P onset `on` and offset `off` (indices into `y`), then
/// where |y| falls below `fraction` of it going out from there (within `reach` samples).
/// `None` when the lead's P wave is below `min_mv`.
fn lead_p(
    y: &[f32],
    on: usize,
    off: usize,
    reach: usize,
    fraction: f32,
    min_mv: f32,
) -> Option<(usize, usize)> {
    let hi = off.min(y.len().checked_sub(1)?);
    let (pk, amp) = (on..=hi)
        .map(|k| (k, y[k].abs()))
        .max_by(|a, c| a.1.total_cmp(&c.1))?;
    if amp < min_mv {
        return None;
    }
    let thr = fraction * amp;
    let lo = pk.saturating_sub(reach);
    let lon = (lo..pk).rev().find(|&k| y[k].abs() < thr).unwrap_or(lo);
    let top = (pk + reach).min(y.len());
    let loff = (pk..top).find(|&k| y[k].abs() < thr).unwrap_or(top - 1);
    Some((lon, loff))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A median beat built from Gaussian waves with known extents (±3σ as boundaries).
    fn gaussian_beat(fs: f64) -> (Vec<Vec<f32>>, usize) {
        let n = (1.2 * fs) as usize;
        let r = (0.5 * fs) as usize;
        let wave = |t: f64, c: f64, a: f64, w: f64| a * (-((t - c) / w).powi(2) / 2.0).exp();
        let lead = |gain: f64| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    let t = (i as f64 - r as f64) / fs;
                    (gain
                        * (wave(t, -0.16, 0.15, 0.015)
                            + wave(t, 0.0, 1.0, 0.012)
                            + wave(t, 0.3, 0.35, 0.04))) as f32
                })
                .collect()
        };
        (vec![lead(1.0), lead(0.6), lead(-0.8)], r)
    }

    #[test]
    fn finds_boundaries_of_gaussian_waves() {
        for fs in [250.0, 500.0, 1000.0] {
            let (leads, r) = gaussian_beat(fs);
            // The geometry of the method, without the LUDB-fitted constant shifts.
            let params = DelineationParams {
                qrs_onset_fraction: 0.1,
                qrs_offset_fraction: 0.1,
                qrs_onset_shift_ms: 0.0,
                qrs_offset_shift_ms: 0.0,
                p_onset_shift_ms: 0.0,
                p_offset_shift_ms: 0.0,
                t_end_shift_ms: 0.0,
                ..DelineationParams::default()
            };
            let b = delineate(&leads, r, fs, 1.0, &params);
            let ms = |i: Option<usize>| (i.unwrap() as f64 - r as f64) / fs * 1000.0;
            // QRS: σ = 12 ms, so the visible wave spans about ±30–40 ms.
            let (on, off) = (ms(b.qrs_onset), ms(b.qrs_offset));
            assert!((-45.0..=-25.0).contains(&on), "fs {fs}: QRS onset {on} ms");
            assert!((25.0..=45.0).contains(&off), "fs {fs}: QRS offset {off} ms");
            // T: centre 300 ms, σ 40 ms: ends about 390–430 ms.
            let t = ms(b.t_offset);
            assert!((370.0..=440.0).contains(&t), "fs {fs}: T end {t} ms");
            // P: centre −160 ms, σ 15 ms.
            let (pon, poff) = (ms(b.p_onset), ms(b.p_offset));
            assert!(
                (-205.0..=-180.0).contains(&pon),
                "fs {fs}: P onset {pon} ms"
            );
            assert!(
                (-140.0..=-115.0).contains(&poff),
                "fs {fs}: P offset {poff} ms"
            );
        }
    }

    #[test]
    fn flat_and_tiny_inputs_give_nothing() {
        let p = DelineationParams::default();
        assert_eq!(delineate(&[], 0, 500.0, 1.0, &p), Boundaries::default());
        let flat = vec![vec![0.0_f32; 600]];
        assert_eq!(delineate(&flat, 250, 500.0, 1.0, &p), Boundaries::default());
        let nan = vec![vec![f32::NAN; 600]];
        assert_eq!(delineate(&nan, 250, 500.0, 1.0, &p), Boundaries::default());
        let short = vec![vec![1.0_f32; 3]];
        assert_eq!(delineate(&short, 1, 500.0, 1.0, &p), Boundaries::default());
    }
}
