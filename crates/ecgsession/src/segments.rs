//! The most anomalous segments of a study, from a model's per-lead likelihood map.
//!
//! Per lead, the map's highest peaks are taken greedily (non-maximum suppression: a
//! peak must be ≥ [`MIN_PEAK_LIKELIHOOD`] and at least [`SEPARATION_S`] from a stronger
//! one); each extends while the map stays ≥ half its peak (at most ±300 ms). Peaks in
//! different leads within [`MERGE_S`] of each other and on the same wave are merged into
//! one entry naming all its leads, so one abnormal beat seen in six leads is one line.
//!
//! The wave is named from the R peaks of `Measurements.r_peaks` (recording samples) and
//! the median beat's fiducials relative to its R peak (P onset/offset, QRS onset/offset,
//! T offset), applied to every beat. Without delineated fiducials the global intervals
//! stand in: QRS = R ± QRS/2, P = [QRS onset − PR, + P duration], ST-T = [QRS offset,
//! QRS onset + QT], with typical adult values (PR 160, P 100, QRS 100, QT 400 ms) for
//! any that is missing. Anything else lies between waves (TP). Without R peaks the wave
//! is unknown.
//!
//! Units: seconds from the recording's start; likelihood in [0, 1].

use ecgcore::analysis::ModelOutput;
use ecgcore::dsp::measurements::Measurements;
use serde::{Serialize, Serializer};

/// Peaks below this likelihood are not listed: the level the map is calibrated to
/// (ecgmodel's `mapcal`: 0.9 = higher, at that lead and phase of the beat, than almost every
/// normal ECG shows anywhere; the model card gives the share), so a normal study lists
/// nothing.
pub const MIN_PEAK_LIKELIHOOD: f32 = 0.9;

/// The same, short enough for a report column.
pub fn nothing_listed_short() -> String {
    format!("none ≥ {MIN_PEAK_LIKELIHOOD}: within the normal range")
}

/// What to say when nothing reaches [`MIN_PEAK_LIKELIHOOD`].
pub fn nothing_listed_text() -> String {
    format!(
        "None: the map stays below {MIN_PEAK_LIKELIHOOD} everywhere, within what normal ECGs show \
         at each lead and phase of the beat."
    )
}
/// Minimum distance between two peaks in one lead (s).
pub const SEPARATION_S: f64 = 0.2;
/// Peaks in different leads closer than this (s) are the same event.
pub const MERGE_S: f64 = 0.1;
/// Largest half-width of a segment (s).
const MAX_HALF_WIDTH_S: f64 = 0.3;
/// Peaks considered per lead before merging.
const PEAKS_PER_LEAD: usize = 12;

/// Most anomalous segments listed per method (the PDF prints the first few of the same list).
pub const SEGMENTS_LISTED: usize = 8;

/// Which part of the cardiac cycle a segment falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wave {
    P,
    Qrs,
    StT,
    /// Between the T wave and the next P wave (TP segment).
    Between,
    /// No R peaks to place it.
    Unknown,
}

impl Wave {
    /// Label as printed.
    pub fn label(self) -> &'static str {
        match self {
            Wave::P => "P",
            Wave::Qrs => "QRS",
            Wave::StT => "ST-T",
            Wave::Between => "TP",
            Wave::Unknown => "—",
        }
    }
}

impl Serialize for Wave {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomalousSegment {
    /// Leads where it shows, strongest first (names as the model output gives them).
    pub leads: Vec<String>,
    pub start_s: f64,
    pub end_s: f64,
    pub peak_s: f64,
    pub peak_likelihood: f32,
    pub wave: Wave,
}

/// Up to `max_segments` most anomalous segments of `output`'s map, strongest first.
/// `sample_rate_hz` is the recording's rate (that of `measurements.r_peaks`).
pub fn most_anomalous_segments(
    output: &ModelOutput,
    measurements: Option<&Measurements>,
    sample_rate_hz: f64,
    max_segments: usize,
) -> Vec<AnomalousSegment> {
    let rate = output.map_rate_hz;
    if !(rate.is_finite() && rate > 0.0) || max_segments == 0 {
        return Vec::new();
    }
    let waves = WaveWindows::new(measurements, sample_rate_hz);
    let mut peaks: Vec<AnomalousSegment> = Vec::new();
    for (lead_index, map) in output.map.iter().enumerate() {
        let name = output
            .leads
            .get(lead_index)
            .cloned()
            .unwrap_or_else(|| format!("lead {}", lead_index + 1));
        for (start, peak, end, p) in lead_peaks(map, rate) {
            let peak_s = peak as f64 / rate;
            peaks.push(AnomalousSegment {
                leads: vec![name.clone()],
                start_s: start as f64 / rate,
                end_s: (end + 1) as f64 / rate,
                peak_s,
                peak_likelihood: p,
                wave: waves.classify(peak_s),
            });
        }
    }
    peaks.sort_by(|a, b| {
        b.peak_likelihood
            .total_cmp(&a.peak_likelihood)
            .then(a.peak_s.total_cmp(&b.peak_s))
    });
    let mut merged: Vec<AnomalousSegment> = Vec::new();
    for seg in peaks {
        if let Some(m) = merged
            .iter_mut()
            .find(|m| m.wave == seg.wave && (m.peak_s - seg.peak_s).abs() <= MERGE_S)
        {
            for lead in seg.leads {
                if !m.leads.contains(&lead) {
                    m.leads.push(lead);
                }
            }
            m.start_s = m.start_s.min(seg.start_s);
            m.end_s = m.end_s.max(seg.end_s);
        } else if merged.len() < max_segments {
            merged.push(seg);
        }
    }
    merged
}

/// Greedy peaks of one lead's map: (start, peak, end, likelihood), in map samples.
fn lead_peaks(map: &[f32], rate_hz: f64) -> Vec<(usize, usize, usize, f32)> {
    let clean: Vec<f32> = map
        .iter()
        .map(|&p| {
            if p.is_finite() {
                p.clamp(0.0, 1.0)
            } else {
                0.0
            }
        })
        .collect();
    let separation = (SEPARATION_S * rate_hz).round() as usize;
    let max_half = (MAX_HALF_WIDTH_S * rate_hz).round().max(1.0) as usize;
    let mut suppressed = vec![false; clean.len()];
    let mut out = Vec::new();
    for _ in 0..PEAKS_PER_LEAD {
        let best = clean
            .iter()
            .enumerate()
            .filter(|(i, _)| !suppressed.get(*i).copied().unwrap_or(true))
            .fold(None::<(usize, &f32)>, |best, (i, v)| match best {
                Some((_, b)) if b.total_cmp(v).is_ge() => best,
                _ => Some((i, v)),
            });
        let Some((first, &p)) = best else { break };
        if p < MIN_PEAK_LIKELIHOOD {
            break;
        }
        // On a plateau, the peak is its middle.
        let mut last = first;
        while clean.get(last + 1).is_some_and(|&v| v == p) {
            last += 1;
        }
        let peak = first + (last - first) / 2;
        let half = p * 0.5;
        let mut start = peak;
        while start > 0
            && peak - start < max_half
            && clean.get(start - 1).is_some_and(|&v| v >= half)
        {
            start -= 1;
        }
        let mut end = peak;
        while end - peak < max_half && clean.get(end + 1).is_some_and(|&v| v >= half) {
            end += 1;
        }
        let lo = start.saturating_sub(separation);
        let hi = (end + separation).min(clean.len().saturating_sub(1));
        for s in suppressed.iter_mut().take(hi + 1).skip(lo) {
            *s = true;
        }
        out.push((start, peak, end, p));
    }
    out
}

/// Wave windows relative to each R peak (s): (start, end) of P, QRS and ST-T.
struct WaveWindows {
    r_peaks_s: Vec<f64>,
    p: (f64, f64),
    qrs: (f64, f64),
    st_t: (f64, f64),
}

impl WaveWindows {
    fn new(measurements: Option<&Measurements>, sample_rate_hz: f64) -> WaveWindows {
        let ms = |v: Option<f32>, typical: f64| {
            v.filter(|x| x.is_finite() && *x > 0.0)
                .map_or(typical, f64::from)
                / 1000.0
        };
        let r_peaks_s = match measurements {
            Some(m) if sample_rate_hz > 0.0 => {
                let mut r: Vec<f64> = m
                    .r_peaks
                    .iter()
                    .map(|&i| i as f64 / sample_rate_hz)
                    .collect();
                r.sort_by(f64::total_cmp);
                r
            }
            _ => Vec::new(),
        };
        // From the global intervals (typical values where absent), QRS centred on R.
        let qrs_s = ms(measurements.and_then(|m| m.qrs_ms), 100.0);
        let pr_s = ms(measurements.and_then(|m| m.pr_ms), 160.0);
        let p_s = ms(measurements.and_then(|m| m.p_ms), 100.0);
        let qt_s = ms(measurements.and_then(|m| m.qt_ms), 400.0);
        let mut qrs = (-qrs_s / 2.0, qrs_s / 2.0);
        let mut p = (qrs.0 - pr_s, qrs.0 - pr_s + p_s);
        let mut st_t = (qrs.1, qrs.0 + qt_s);
        // The median beat's own fiducials, relative to its R peak, when delineated.
        if let Some(f) = measurements.map(|m| &m.fiducials) {
            if let (Some(r), true) = (f.r_peak, sample_rate_hz > 0.0) {
                let rel = |i: Option<usize>| i.map(|i| (i as f64 - r as f64) / sample_rate_hz);
                if let (Some(on), Some(off)) = (rel(f.qrs_onset), rel(f.qrs_offset)) {
                    qrs = (on, off);
                    st_t.0 = off;
                }
                if let Some(t_end) = rel(f.t_offset) {
                    st_t.1 = t_end;
                }
                if let (Some(on), Some(off)) = (rel(f.p_onset), rel(f.p_offset)) {
                    p = (on, off);
                }
            }
        }
        WaveWindows {
            r_peaks_s,
            p,
            qrs,
            st_t,
        }
    }

    fn classify(&self, t_s: f64) -> Wave {
        if self.r_peaks_s.is_empty() {
            return Wave::Unknown;
        }
        // The beat this time belongs to: the nearest R before or after it.
        let next = self.r_peaks_s.partition_point(|&r| r < t_s);
        let candidates = [next.checked_sub(1), Some(next)];
        let mut found = Wave::Between;
        for r in candidates
            .into_iter()
            .flatten()
            .filter_map(|i| self.r_peaks_s.get(i))
        {
            let d = t_s - r;
            if d >= self.qrs.0 && d <= self.qrs.1 {
                return Wave::Qrs;
            }
            if d > self.st_t.0 && d <= self.st_t.1 {
                found = Wave::StT;
            } else if d >= self.p.0 && d <= self.p.1 && found == Wave::Between {
                found = Wave::P;
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(map: Vec<Vec<f32>>, leads: &[&str]) -> ModelOutput {
        ModelOutput {
            leads: leads.iter().map(|s| (*s).to_string()).collect(),
            map,
            map_rate_hz: 100.0,
            ..ModelOutput::default()
        }
    }

    #[test]
    fn peaks_are_found_merged_across_leads_and_named_by_wave() {
        // 10 s at 100 Hz; R peaks every second at 0.5 s + k.
        let mut a = vec![0.05_f32; 1000];
        let mut b = vec![0.05_f32; 1000];
        // QRS of the beat at 3.5 s in both leads; ST-T after the beat at 6.5 s in lead a.
        a[348..353].fill(0.99);
        b[348..353].fill(0.95);
        a[660..680].fill(0.93);
        // Below the calibrated level (0.9): within what normal ECGs show, not listed.
        b[760..780].fill(0.85);
        let m = Measurements {
            r_peaks: (0..10).map(|k| 250 + 500 * k).collect(), // 500 Hz samples
            qrs_ms: Some(100.0),
            qt_ms: Some(400.0),
            ..Measurements::default()
        };
        let segs = most_anomalous_segments(&output(vec![a, b], &["I", "II"]), Some(&m), 500.0, 5);
        assert_eq!(segs.len(), 2, "{segs:?}");
        assert_eq!(segs[0].leads, vec!["I".to_string(), "II".to_string()]);
        assert_eq!(segs[0].wave, Wave::Qrs);
        assert!((segs[0].peak_s - 3.5).abs() < 0.02);
        assert_eq!(segs[1].wave, Wave::StT, "{segs:?}");
        assert!((segs[1].start_s - 6.6).abs() < 0.02 && (segs[1].end_s - 6.8).abs() < 0.02);
    }

    #[test]
    fn flat_or_broken_maps_give_nothing_and_do_not_panic() {
        assert!(
            most_anomalous_segments(&output(vec![vec![0.1; 50]], &["I"]), None, 500.0, 5)
                .is_empty()
        );
        assert!(most_anomalous_segments(
            &output(vec![vec![f32::NAN; 50], vec![]], &[]),
            None,
            0.0,
            5
        )
        .is_empty());
        // A normal study's map (below the calibrated 0.9 everywhere) lists nothing.
        assert!(
            most_anomalous_segments(&output(vec![vec![0.89; 50]], &["I"]), None, 500.0, 5)
                .is_empty()
        );
        let segs = most_anomalous_segments(&output(vec![vec![0.95; 3]], &[]), None, 500.0, 5);
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].wave, Wave::Unknown);
        assert_eq!(segs[0].leads, vec!["lead 1".to_string()]);
    }
}
