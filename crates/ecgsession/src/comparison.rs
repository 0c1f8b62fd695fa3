//! Serial comparison: what changed between a prior ECG of the patient and today's, in the
//! terms a cardiologist reads a serial comparison in (the screen, the PDF's comparison page
//! and `analyze --prior` all render this).
//!
//! A change is *notable* when it reaches the limit of its row ([`LIMITS`]): heart rate
//! ±10 bpm, PR ±20 ms, QRS ±20 ms, QT and QTc ±30 ms, QRS axis ±30°, ST level ±0.1 mV in a
//! lead; a pathological Q wave (≥ 40 ms, ≥ 0.1 mV; `ecgcore::dsp::leadwise`) present in
//! one study and not the other. Intervals come from each study's own measurements (each at
//! its own sample rate), so different rates, lengths and formats compare directly.

use ecgcore::analysis::Analysis;
use ecgcore::dsp::leadwise::{lead_features, LeadFeatures};
use ecgcore::dsp::measurements::Measurements;
use serde::Serialize;

/// One compared quantity: label, unit, how it is read from the measurements, the change
/// that counts as notable.
pub struct Limit {
    pub label: &'static str,
    pub unit: &'static str,
    pub value: fn(&Measurements) -> Option<f32>,
    pub notable: f32,
}

/// The compared quantities and their limits.
pub const LIMITS: [Limit; 6] = [
    Limit {
        label: "Heart rate",
        unit: "bpm",
        value: |m| m.heart_rate_bpm,
        notable: 10.0,
    },
    Limit {
        label: "PR",
        unit: "ms",
        value: |m| m.pr_ms,
        notable: 20.0,
    },
    Limit {
        label: "QRS",
        unit: "ms",
        value: |m| m.qrs_ms,
        notable: 20.0,
    },
    Limit {
        label: "QT",
        unit: "ms",
        value: |m| m.qt_ms,
        notable: 30.0,
    },
    Limit {
        label: "QTc Bazett",
        unit: "ms",
        value: |m| m.qtc_bazett_ms,
        notable: 30.0,
    },
    Limit {
        label: "QRS axis",
        unit: "°",
        value: |m| m.qrs_axis_deg,
        notable: 30.0,
    },
];

/// An ST change of this size (mV) in a lead is notable (1 mm at 10 mm/mV).
pub const ST_NOTABLE_MV: f32 = 0.1;

/// Which study a column describes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// File name.
    pub name: String,
    pub acquisition_time: Option<String>,
    pub format: String,
    pub sample_rate_hz: f64,
    pub duration_s: f64,
}

/// One row of the side-by-side table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub label: &'static str,
    pub unit: &'static str,
    pub current: Option<f32>,
    pub prior: Option<f32>,
    /// current − prior (for the axis: the shortest signed turn, degrees).
    pub delta: Option<f32>,
    pub notable: bool,
}

/// A lead whose ST level moved by at least [`ST_NOTABLE_MV`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StChange {
    pub lead: String,
    pub current_mv: f32,
    pub prior_mv: f32,
}

/// One method's score in both studies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreChange {
    pub method: String,
    pub current: f32,
    pub prior: f32,
    pub threshold: f32,
    pub current_abnormal: bool,
    pub prior_abnormal: bool,
    /// Each score within its borderline band (`ModelOutput::borderline`).
    pub current_borderline: bool,
    pub prior_borderline: bool,
}

impl ScoreChange {
    /// The verdict turned between the two studies, and not only within the borderline band
    /// (both scores inside it: a turn that noise too small to see can cause).
    pub fn turned(&self) -> bool {
        self.current_abnormal != self.prior_abnormal
            && !(self.current_borderline && self.prior_borderline)
    }
}

/// What changed from the prior ECG to the current one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub current: Side,
    pub prior: Side,
    /// Time between the acquisitions, when both state one ("3 years 2 months").
    pub interval: Option<String>,
    pub changes: Vec<Change>,
    pub st_changes: Vec<StChange>,
    /// Leads with a pathological Q wave now and none in the prior.
    pub new_q_waves: Vec<String>,
    /// Leads with one in the prior and none now.
    pub resolved_q_waves: Vec<String>,
    pub scores: Vec<ScoreChange>,
    /// The plain-language summary, most important first.
    pub summary: Vec<String>,
    /// What limits the comparison (a digitized prior, missing measurements…).
    pub caveats: Vec<String>,
}

impl Comparison {
    /// Compare `current` with `prior`.
    #[must_use]
    pub fn of(current: &Analysis, prior: &Analysis) -> Comparison {
        let (cm, pm) = (current.measurements.as_ref(), prior.measurements.as_ref());
        let changes: Vec<Change> = LIMITS
            .iter()
            .map(|limit| {
                let c = cm.and_then(limit.value).filter(|v| v.is_finite());
                let p = pm.and_then(limit.value).filter(|v| v.is_finite());
                let delta = c.zip(p).map(|(c, p)| {
                    if limit.unit == "°" {
                        (c - p + 540.0).rem_euclid(360.0) - 180.0
                    } else {
                        c - p
                    }
                });
                Change {
                    label: limit.label,
                    unit: limit.unit,
                    current: c,
                    prior: p,
                    delta,
                    notable: delta.is_some_and(|d| d.abs() >= limit.notable),
                }
            })
            .collect();
        let (cf, pf) = (
            cm.map(lead_features).unwrap_or_default(),
            pm.map(lead_features).unwrap_or_default(),
        );
        let paired: Vec<(&LeadFeatures, &LeadFeatures)> = cf
            .iter()
            .filter_map(|c| pf.iter().find(|p| p.lead == c.lead).map(|p| (c, p)))
            .collect();
        let st_changes: Vec<StChange> = paired
            .iter()
            .filter_map(|(c, p)| {
                let (cv, pv) = (c.st_mv?, p.st_mv?);
                ((cv - pv).abs() >= ST_NOTABLE_MV).then(|| StChange {
                    lead: c.lead.clone(),
                    current_mv: cv,
                    prior_mv: pv,
                })
            })
            .collect();
        let new_q_waves = paired
            .iter()
            .filter(|(c, p)| c.q_wave.is_some() && p.q_wave.is_none())
            .map(|(c, _)| c.lead.clone())
            .collect();
        let resolved_q_waves = paired
            .iter()
            .filter(|(c, p)| c.q_wave.is_none() && p.q_wave.is_some())
            .map(|(c, _)| c.lead.clone())
            .collect();
        let scores = [
            (&current.anomaly, &prior.anomaly),
            (&current.baseline, &prior.baseline),
        ]
        .into_iter()
        .filter_map(|(c, p)| {
            let (c, p) = (c.as_ref()?, p.as_ref()?);
            Some(ScoreChange {
                method: c.method.clone(),
                current: c.score,
                prior: p.score,
                threshold: c.threshold,
                current_abnormal: c.abnormal,
                prior_abnormal: p.abnormal,
                current_borderline: c.borderline,
                prior_borderline: p.borderline,
            })
        })
        .collect();
        let mut comparison = Comparison {
            current: side(current),
            prior: side(prior),
            interval: between(
                prior.recording.provenance.acquisition_time.as_deref(),
                current.recording.provenance.acquisition_time.as_deref(),
            ),
            changes,
            st_changes,
            new_q_waves,
            resolved_q_waves,
            scores,
            summary: Vec::new(),
            caveats: caveats(current, prior, &cf, &pf),
        };
        comparison.summary = summary(&comparison);
        comparison
    }

    /// Whether anything reached its limit.
    #[must_use]
    pub fn any_notable(&self) -> bool {
        self.changes.iter().any(|c| c.notable)
            || !self.st_changes.is_empty()
            || !self.new_q_waves.is_empty()
            || !self.resolved_q_waves.is_empty()
            || self.scores.iter().any(ScoreChange::turned)
    }
}

fn side(a: &Analysis) -> Side {
    let rec = &a.recording;
    Side {
        name: rec.provenance.path.file_name().map_or_else(
            || rec.provenance.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        acquisition_time: rec.provenance.acquisition_time.clone(),
        format: rec.provenance.format.clone(),
        sample_rate_hz: rec.sample_rate_hz,
        duration_s: rec.duration_s(),
    }
}

/// Days since 0000-03-01 of an ISO date's first ten characters (`YYYY-MM-DD`).
fn day_number(iso: &str) -> Option<i64> {
    let d = iso.get(..10)?;
    let mut it = d.split('-');
    let (y, m, dd): (i64, i64, i64) = (
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&dd) {
        return None;
    }
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    Some(365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + dd - 1)
}

/// "2 years 3 months", "5 days", or "same day"; `None` when a date is missing or the prior
/// is not earlier.
fn between(prior: Option<&str>, current: Option<&str>) -> Option<String> {
    let days = day_number(current?)? - day_number(prior?)?;
    Some(match days {
        d if d < 0 => return None,
        0 => "same day".to_string(),
        1 => "1 day".to_string(),
        d if d < 62 => format!("{d} days"),
        d => {
            let months = (d as f64 / 30.44).round() as i64;
            let (y, m) = (months / 12, months % 12);
            match (y, m) {
                (0, m) => format!("{m} months"),
                (y, 0) => format!("{y} year{}", if y == 1 { "" } else { "s" }),
                (y, m) => format!("{y} year{} {m} months", if y == 1 { "" } else { "s" }),
            }
        }
    })
}

fn caveats(
    current: &Analysis,
    prior: &Analysis,
    cf: &[LeadFeatures],
    pf: &[LeadFeatures],
) -> Vec<String> {
    let mut out = Vec::new();
    for (which, a) in [("current", current), ("prior", prior)] {
        if a.recording.provenance.format.contains("digitized") {
            out.push(format!(
                "The {which} ECG was digitized from paper: its intervals and ST levels are less precise (about ±10 ms, ±0.05 mV)."
            ));
        }
        if a.measurements.is_none() {
            out.push(format!("The {which} ECG has no measurements."));
        }
    }
    if (current.recording.sample_rate_hz - prior.recording.sample_rate_hz).abs() > 1e-6 {
        out.push(format!(
            "Recorded at different sample rates ({:.0} Hz now, {:.0} Hz before); each is measured at its own rate.",
            current.recording.sample_rate_hz, prior.recording.sample_rate_hz
        ));
    }
    if cf.is_empty() || pf.is_empty() {
        out.push(
            "ST and Q waves are not compared: one of the ECGs has no median beat with QRS onset and offset."
                .to_string(),
        );
    }
    out
}

fn direction(c: &Change, d: f32) -> &'static str {
    match (c.label, d > 0.0) {
        ("Heart rate", true) => "increased",
        ("Heart rate", false) => "decreased",
        ("QRS", true) => "widened",
        ("QRS", false) => "narrowed",
        ("QRS axis", true) => "turned clockwise (rightward)",
        ("QRS axis", false) => "turned counter-clockwise (leftward)",
        (_, true) => "lengthened",
        (_, false) => "shortened",
    }
}

fn summary(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    for s in &c.scores {
        if s.current_abnormal != s.prior_abnormal {
            let band = if s.turned() {
                ""
            } else {
                " Both scores lie within the borderline band, where noise too small to see \
                 can turn a verdict."
            };
            out.push(format!(
                "{}: {} the normal range now (score {}), {} before ({}).{band}",
                s.method,
                if s.current_abnormal {
                    "outside"
                } else {
                    "within"
                },
                crate::wording::number(s.current),
                if s.prior_abnormal {
                    "outside"
                } else {
                    "within"
                },
                crate::wording::number(s.prior)
            ));
        }
    }
    if !c.new_q_waves.is_empty() {
        out.push(format!(
            "New Q waves in {} (≥ 40 ms).",
            c.new_q_waves.join(", ")
        ));
    }
    let (up, down): (Vec<&StChange>, Vec<&StChange>) =
        c.st_changes.iter().partition(|s| s.current_mv > s.prior_mv);
    for (list, verb) in [(up, "higher"), (down, "lower")] {
        if !list.is_empty() {
            let leads: Vec<String> = list
                .iter()
                .map(|s| format!("{} ({:+.2} to {:+.2} mV)", s.lead, s.prior_mv, s.current_mv))
                .collect();
            out.push(format!(
                "ST {verb} by ≥ {ST_NOTABLE_MV} mV in {}.",
                leads.join(", ")
            ));
        }
    }
    for ch in c.changes.iter().filter(|ch| ch.notable) {
        let (Some(d), Some(p), Some(n)) = (ch.delta, ch.prior, ch.current) else {
            continue;
        };
        let unit = if ch.unit == "°" { "°" } else { ch.unit };
        let sep = if ch.unit == "°" { "" } else { " " };
        out.push(format!(
            "{} {} by {:.0}{sep}{unit} (from {:.0} to {:.0}{sep}{unit}).",
            ch.label,
            direction(ch, d),
            d.abs(),
            p,
            n
        ));
    }
    if !c.resolved_q_waves.is_empty() {
        out.push(format!(
            "Q waves of the prior no longer seen in {}.",
            c.resolved_q_waves.join(", ")
        ));
    }
    if out.is_empty() {
        out.push(
            "No notable change: heart rate, PR, QRS, QT/QTc, QRS axis, ST levels and Q waves are within the comparison limits."
                .to_string(),
        );
    }
    let unmeasured: Vec<&str> = c
        .changes
        .iter()
        .filter(|ch| ch.delta.is_none())
        .map(|ch| ch.label)
        .collect();
    if !unmeasured.is_empty() {
        out.push(format!(
            "Not compared (not measured in both): {}.",
            unmeasured.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgcore::analysis::ModelOutput;
    use ecgcore::dsp::measurements::{Fiducials, MedianBeatWaveforms};
    use ecgcore::Recording;

    fn analysis(hr: f32, qrs: f32, axis: f32, q_in_iii: bool, st_v2: f32, date: &str) -> Analysis {
        let beat = |q: bool, st: f32| {
            let mut x = vec![0.0_f32; 400];
            if q {
                for v in &mut x[100..125] {
                    *v = -0.4;
                }
            }
            for v in &mut x[125..150] {
                *v = 1.0;
            }
            for v in &mut x[150..] {
                *v = st;
            }
            x
        };
        let mut rec = Recording {
            sample_rate_hz: 500.0,
            ..Recording::default()
        };
        rec.provenance.acquisition_time = Some(date.into());
        rec.provenance.format = "WFDB".into();
        Analysis {
            recording: rec,
            measurements: Some(Measurements {
                heart_rate_bpm: Some(hr),
                pr_ms: Some(160.0),
                qrs_ms: Some(qrs),
                qt_ms: Some(400.0),
                qtc_bazett_ms: Some(410.0),
                qrs_axis_deg: Some(axis),
                fiducials: Fiducials {
                    qrs_onset: Some(100),
                    qrs_offset: Some(150),
                    ..Fiducials::default()
                },
                median_beat: Some(MedianBeatWaveforms {
                    leads: vec!["III".into(), "V2".into()],
                    samples_mv: vec![beat(q_in_iii, 0.0), beat(false, st_v2)],
                    sample_rate_hz: 500.0,
                    n_beats: 8,
                }),
                ..Measurements::default()
            }),
            anomaly: Some(ModelOutput {
                method: "MSCR (ours)".into(),
                score: if q_in_iii { 2.0 } else { 0.1 },
                threshold: 0.5,
                abnormal: q_in_iii,
                ..ModelOutput::default()
            }),
            ..Analysis::default()
        }
    }

    #[test]
    fn an_unchanged_ecg_has_no_notable_change() {
        let a = analysis(60.0, 90.0, 50.0, false, 0.0, "2024-03-01T10:00:00");
        let c = Comparison::of(&a, &a);
        assert!(!c.any_notable());
        assert!(
            c.summary[0].starts_with("No notable change"),
            "{:?}",
            c.summary
        );
        assert_eq!(c.interval.as_deref(), Some("same day"));
    }

    #[test]
    fn widening_axis_shift_new_q_and_st_are_reported() {
        let prior = analysis(60.0, 90.0, 50.0, false, 0.0, "2021-01-10T09:00:00");
        let now = analysis(64.0, 134.0, -20.0, true, 0.25, "2024-03-01T10:00:00");
        let c = Comparison::of(&now, &prior);
        assert!(c.any_notable());
        let qrs = c.changes.iter().find(|x| x.label == "QRS").unwrap();
        assert_eq!(qrs.delta, Some(44.0));
        assert!(qrs.notable);
        let hr = c.changes.iter().find(|x| x.label == "Heart rate").unwrap();
        assert!(!hr.notable);
        let axis = c.changes.iter().find(|x| x.label == "QRS axis").unwrap();
        assert_eq!(axis.delta, Some(-70.0));
        assert_eq!(c.new_q_waves, ["III"]);
        assert_eq!(c.st_changes.len(), 1);
        assert_eq!(c.st_changes[0].lead, "V2");
        let text = c.summary.join(" ");
        assert!(text.contains("outside the normal range now"), "{text}");
        assert!(text.contains("New Q waves in III"), "{text}");
        assert!(text.contains("ST higher"), "{text}");
        assert!(
            text.contains("QRS widened by 44 ms (from 90 to 134 ms)"),
            "{text}"
        );
        assert!(text.contains("counter-clockwise"), "{text}");
        assert_eq!(c.interval.as_deref(), Some("3 years 2 months"));
    }

    #[test]
    fn a_verdict_turning_within_the_borderline_band_is_said_but_not_notable() {
        // Prior 0.45 and current 0.55 around a threshold of 0.5, both within ± 0.2.
        let judged = |score: f32, date: &str| {
            let mut a = analysis(60.0, 90.0, 50.0, false, 0.0, date);
            let o = a.anomaly.as_mut().unwrap();
            o.score = score;
            o.borderline_margin = 0.2;
            o.judge_against(0.5);
            a
        };
        let (prior, now) = (judged(0.45, "2024-01-01"), judged(0.55, "2024-02-01"));
        let c = Comparison::of(&now, &prior);
        assert!(!c.scores[0].turned());
        assert!(!c.any_notable(), "{:?}", c.summary);
        let text = c.summary.join(" ");
        assert!(text.contains("outside the normal range now"), "{text}");
        assert!(
            text.contains("Both scores lie within the borderline band"),
            "{text}"
        );
        // From inside the band to far beyond it: a real turn.
        let far = judged(1.5, "2024-03-01");
        let c = Comparison::of(&far, &prior);
        assert!(c.scores[0].turned() && c.any_notable());
        assert!(!c.summary.join(" ").contains("borderline band"));
    }

    #[test]
    fn axis_change_takes_the_short_way_round() {
        let prior = analysis(60.0, 90.0, 170.0, false, 0.0, "2024-01-01");
        let now = analysis(60.0, 90.0, -170.0, false, 0.0, "2024-01-02");
        let c = Comparison::of(&now, &prior);
        let axis = c.changes.iter().find(|x| x.label == "QRS axis").unwrap();
        assert_eq!(axis.delta, Some(20.0));
        assert!(!axis.notable);
    }
}
