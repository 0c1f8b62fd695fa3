//! Cross-validated comparison of our wave boundaries with the LUDB cardiologists' marks,
//! per lead and global (issue #16). `ecglab validate-intervals` prints it.
//!
//! What is tuned on LUDB is the set of constant shifts of [`DelineationParams`] (per-lead
//! P on/off, QRS on/off, T end; and the global ones): each is the mean difference
//! between a threshold crossing and the cardiologists' mark. They are fitted here by
//! k-fold cross-validation over records ([`K_FOLDS`] folds, record `i` in id order in fold
//! `i mod K`): for each fold the shifts are fitted on the other folds (from one run with
//! all shifts at zero), then the held-out fold is measured with them; the figures pooled
//! over the held-out folds are the headline. Beside them, the figures with the shifts
//! fitted on all records and measured on the same records ("fitted on these records").
//! The thresholds (fractions of slope and magnitude peaks) are not re-fitted here: they
//! date from an earlier fit on half of the records (id mod 4 ∈ {0, 1}).
//!
//! Per lead: a lead's reference boundary is the median over beats of (the lead's mark −
//! our R peak of that beat); it exists when at least half of that lead's marked QRS
//! complexes have the wave marked. Detection F1 counts a lead-wave as found when we give
//! a boundary and the reference has one, missed when only the reference has one and extra
//! when only we do.
//!
//! Global: against LUDB's robust reference (per beat the second-earliest onset and
//! second-latest offset over the 12 leads, median over beats) and beside it the strict one
//! (earliest onset, latest offset).

use crate::intervals::{
    boundary_errors, summarise_pairs, IntervalRow, LudbRecord, BOUNDARIES, INTERVALS, LUDB_LEADS,
};
use ecgcore::dsp::delineate::DelineationParams;
use ecgcore::dsp::measurements::{measure_with, Measurements};
use ecgcore::formats::wfdb_annotation::{Wave, WaveKind};
use std::fmt;

/// Folds of the cross-validation.
pub const K_FOLDS: usize = 5;

/// (ours, reference) of one quantity.
type Pair = (Option<f32>, Option<f32>);

/// Everything compared for one record under one parameter set.
#[derive(Debug, Clone)]
struct Observed {
    /// [lead][boundary]: ours and the lead's reference, ms relative to our R peak.
    lead: Vec<[Pair; 5]>,
    /// Intervals (HR, PR, P, QRS, QT) against the robust and the strict reference.
    intervals_robust: [Pair; 5],
    intervals_strict: [Pair; 5],
    /// Global boundaries relative to our R peaks (ours − reference, as the second of the
    /// pair) against the robust and the strict reference.
    boundary_robust: [Option<f32>; 5],
    boundary_strict: [Option<f32>; 5],
}

/// One row of the per-lead table: the error of a boundary and its detection F1.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadRow {
    pub row: IntervalRow,
    pub n_extra: usize,
    pub f1: Option<f32>,
}

/// Figures under one way of fitting (cross-validated, or fitted on the same records).
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Per boundary, pooled over the 12 leads.
    pub lead_pooled: Vec<LeadRow>,
    /// [lead][boundary].
    pub lead_matrix: Vec<Vec<LeadRow>>,
    /// Intervals against the robust reference.
    pub global_robust: Vec<IntervalRow>,
    /// Intervals against the strict reference.
    pub global_strict: Vec<IntervalRow>,
    /// Global boundaries (relative to our R peaks) against the robust / strict reference.
    pub boundary_robust: Vec<IntervalRow>,
    pub boundary_strict: Vec<IntervalRow>,
}

impl Figures {
    /// A row of the per-lead pooled table by boundary name ("QRS on", …).
    pub fn lead(&self, name: &str) -> Option<&LeadRow> {
        self.lead_pooled.iter().find(|r| r.row.name == name)
    }

    /// A global interval against the robust reference ("PR", "QRS", "QT", …).
    pub fn robust(&self, name: &str) -> Option<&IntervalRow> {
        self.global_robust.iter().find(|r| r.name == name)
    }

    /// A global interval against the strict reference.
    pub fn strict(&self, name: &str) -> Option<&IntervalRow> {
        self.global_strict.iter().find(|r| r.name == name)
    }
}

/// The cross-validated report.
#[derive(Debug, Clone, PartialEq)]
pub struct CvReport {
    pub n_records: usize,
    /// Pooled over the held-out folds: the headline.
    pub cv: Figures,
    /// Shifts fitted on all records, measured on them.
    pub fitted: Figures,
    /// The parameters with the shifts fitted on all records (what the product ships).
    pub params: DelineationParams,
    /// The shifts fitted in each fold (for their spread).
    pub fold_params: Vec<DelineationParams>,
}

/// A lead's reference boundaries relative to our R peaks (ms), in [`BOUNDARIES`] order:
/// median over beats of (mark − our R peak of the beat). A QRS belongs to the R peak
/// within 100 ms of its peak mark; a P wave to the first R peak after its peak (within
/// 450 ms); a T wave to the last R peak before its peak (within 800 ms). A boundary is
/// referenced when marked in at least half of the lead's matched QRS complexes.
pub fn lead_reference(
    waves: &[Wave],
    reference_rate_hz: f64,
    r_peaks: &[usize],
    fs: f64,
) -> [Option<f32>; 5] {
    let peaks: Vec<f64> = r_peaks.iter().map(|&p| p as f64 / fs * 1000.0).collect();
    let t = |x: u64| x as f64 / reference_rate_hz * 1000.0;
    let mut rel: [Vec<f32>; 5] = Default::default();
    let mut n_qrs = 0usize;
    for w in waves {
        let peak = t(w.peak);
        let r = match w.kind {
            WaveKind::Qrs => peaks
                .iter()
                .copied()
                .min_by(|a, c| (a - peak).abs().total_cmp(&(c - peak).abs()))
                .filter(|r| (r - peak).abs() <= 100.0),
            WaveKind::P => peaks
                .iter()
                .copied()
                .find(|&r| r > peak)
                .filter(|r| r - peak <= 450.0),
            WaveKind::T => peaks
                .iter()
                .copied()
                .rev()
                .find(|&r| r < peak)
                .filter(|r| peak - r <= 800.0),
        };
        let Some(r) = r else { continue };
        let (on, off) = match w.kind {
            WaveKind::P => (Some(0), Some(1)),
            WaveKind::Qrs => {
                n_qrs += 1;
                (Some(2), Some(3))
            }
            WaveKind::T => (None, Some(4)),
        };
        if let (Some(k), Some(x)) = (on, w.onset) {
            rel[k].push((t(x) - r) as f32);
        }
        if let (Some(k), Some(x)) = (off, w.offset) {
            rel[k].push((t(x) - r) as f32);
        }
    }
    rel.map(|mut v| {
        if v.is_empty() || 2 * v.len() < n_qrs {
            return None;
        }
        crate::intervals::median(&mut v)
    })
}

/// Our per-lead boundaries (ms relative to the median beat's R fiducial), by LUDB lead.
fn ours_per_lead(m: &Measurements, fs: f64) -> Vec<[Option<f32>; 5]> {
    let names: Vec<String> = m
        .median_beat
        .as_ref()
        .map(|mb| mb.leads.iter().map(|l| l.to_lowercase()).collect())
        .unwrap_or_default();
    let r = m.fiducials.r_peak;
    LUDB_LEADS
        .iter()
        .map(|name| {
            let (Some(k), Some(r)) = (names.iter().position(|n| n == name), r) else {
                return [None; 5];
            };
            let Some(l) = m.lead_boundaries.get(k) else {
                return [None; 5];
            };
            [l.p_onset, l.p_offset, l.qrs_onset, l.qrs_offset, l.t_offset]
                .map(|x| x.map(|x| ((x - r as f64) / fs * 1000.0) as f32))
        })
        .collect()
}

fn observe(rec: &LudbRecord, params: &DelineationParams) -> Observed {
    let fs = rec.recording.sample_rate_hz;
    let m = measure_with(&rec.recording, params);
    let ours = ours_per_lead(&m, fs);
    let lead = rec
        .lead_waves
        .iter()
        .zip(&ours)
        .map(|(waves, o)| {
            let reference = lead_reference(waves, rec.reference_rate_hz, &m.r_peaks, fs);
            std::array::from_fn(|k| (o[k], reference[k]))
        })
        .collect();
    let values = [m.heart_rate_bpm, m.pr_ms, m.p_ms, m.qrs_ms, m.qt_ms];
    Observed {
        lead,
        intervals_robust: std::array::from_fn(|k| (values[k], rec.reference_robust.values[k])),
        intervals_strict: std::array::from_fn(|k| (values[k], rec.reference.values[k])),
        boundary_robust: boundary_errors(
            &rec.reference_beats_robust,
            rec.reference_rate_hz,
            &m,
            fs,
        ),
        boundary_strict: boundary_errors(&rec.reference_beats, rec.reference_rate_hz, &m, fs),
    }
}

/// The parameters with every fitted shift at zero (the raw threshold crossings).
pub fn unshifted(base: &DelineationParams) -> DelineationParams {
    DelineationParams {
        qrs_onset_shift_ms: 0.0,
        qrs_offset_shift_ms: 0.0,
        p_onset_shift_ms: 0.0,
        p_offset_shift_ms: 0.0,
        t_end_shift_ms: 0.0,
        lead_qrs_onset_shift_ms: 0.0,
        lead_qrs_offset_shift_ms: 0.0,
        lead_p_onset_shift_ms: 0.0,
        lead_p_offset_shift_ms: 0.0,
        lead_t_end_shift_ms: 0.0,
        ..*base
    }
}

fn mean(v: &[f32]) -> f32 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f32>() / v.len() as f32
    }
}

/// Fit the shifts on raw observations (made with [`unshifted`] parameters): each is minus
/// the mean difference (per lead pooled over leads; global against the robust reference).
fn fit(base: &DelineationParams, raw: &[&Observed]) -> DelineationParams {
    let lead_shift = |k: usize| {
        let d: Vec<f32> = raw
            .iter()
            .flat_map(|o| o.lead.iter())
            .filter_map(|p| Some(p[k].0? - p[k].1?))
            .collect();
        -mean(&d)
    };
    let global_shift = |k: usize| {
        let d: Vec<f32> = raw.iter().filter_map(|o| o.boundary_robust[k]).collect();
        -mean(&d)
    };
    let round = |x: f32| (x * 10.0).round() / 10.0;
    DelineationParams {
        p_onset_shift_ms: round(global_shift(0)),
        p_offset_shift_ms: round(global_shift(1)),
        qrs_onset_shift_ms: round(global_shift(2)),
        qrs_offset_shift_ms: round(global_shift(3)),
        t_end_shift_ms: round(global_shift(4)),
        lead_p_onset_shift_ms: round(lead_shift(0)),
        lead_p_offset_shift_ms: round(lead_shift(1)),
        lead_qrs_onset_shift_ms: round(lead_shift(2)),
        lead_qrs_offset_shift_ms: round(lead_shift(3)),
        lead_t_end_shift_ms: round(lead_shift(4)),
        ..*base
    }
}

fn lead_row(name: &'static str, pairs: &[Pair]) -> LeadRow {
    let row = summarise_pairs(name, "ms", pairs.iter().copied());
    let tp = row.n_measured;
    let (fneg, fpos) = (row.n_missing, row.n_extra);
    let f1 = (tp + fneg + fpos > 0).then(|| 2.0 * tp as f32 / (2 * tp + fneg + fpos) as f32);
    LeadRow {
        n_extra: fpos,
        row,
        f1,
    }
}

fn figures(obs: &[Observed]) -> Figures {
    let lead_pairs = |lead: Option<usize>, k: usize| -> Vec<Pair> {
        obs.iter()
            .flat_map(|o| {
                o.lead
                    .iter()
                    .enumerate()
                    .filter(move |(l, _)| lead.is_none_or(|x| x == *l))
                    .map(move |(_, p)| p[k])
            })
            .collect()
    };
    let boundary = |robust: bool| -> Vec<IntervalRow> {
        crate::intervals::boundary_error_rows(obs.iter().map(move |o| {
            if robust {
                o.boundary_robust
            } else {
                o.boundary_strict
            }
        }))
    };
    let intervals = |robust: bool| -> Vec<IntervalRow> {
        INTERVALS
            .iter()
            .enumerate()
            .map(|(k, &(name, unit))| {
                summarise_pairs(
                    name,
                    unit,
                    obs.iter().map(|o| {
                        if robust {
                            o.intervals_robust[k]
                        } else {
                            o.intervals_strict[k]
                        }
                    }),
                )
            })
            .collect()
    };
    Figures {
        lead_pooled: BOUNDARIES
            .iter()
            .enumerate()
            .map(|(k, &name)| lead_row(name, &lead_pairs(None, k)))
            .collect(),
        lead_matrix: (0..LUDB_LEADS.len())
            .map(|l| {
                BOUNDARIES
                    .iter()
                    .enumerate()
                    .map(|(k, &name)| lead_row(name, &lead_pairs(Some(l), k)))
                    .collect()
            })
            .collect(),
        global_robust: intervals(true),
        global_strict: intervals(false),
        boundary_robust: boundary(true),
        boundary_strict: boundary(false),
    }
}

/// Cross-validate the shifts of `base` over `records` (see the module docs).
pub fn cross_validate(records: &[LudbRecord], base: &DelineationParams) -> CvReport {
    let raw_params = unshifted(base);
    let raw: Vec<Observed> = records.iter().map(|r| observe(r, &raw_params)).collect();
    let mut held_out: Vec<(usize, Observed)> = Vec::with_capacity(records.len());
    let mut fold_params = Vec::new();
    for f in 0..K_FOLDS {
        let train: Vec<&Observed> = raw
            .iter()
            .enumerate()
            .filter(|(i, _)| i % K_FOLDS != f)
            .map(|(_, o)| o)
            .collect();
        let p = fit(base, &train);
        for (i, r) in records.iter().enumerate().filter(|(i, _)| i % K_FOLDS == f) {
            held_out.push((i, observe(r, &p)));
        }
        fold_params.push(p);
    }
    held_out.sort_by_key(|(i, _)| *i);
    if let Ok(limit) = std::env::var("ECGLAB_WORST_MS") {
        // Records whose cross-validated QRS or QT error (robust reference) exceeds the limit.
        let limit: f32 = limit.parse().unwrap_or(25.0);
        for ((_, o), r) in held_out.iter().zip(records) {
            for (k, name) in [(3, "QRS"), (4, "QT"), (1, "PR")] {
                let (ours, reference) = o.intervals_robust[k];
                if let (Some(a), Some(b)) = (ours, reference) {
                    if (a - b).abs() > limit {
                        println!(
                            "{} {name}: ours {a:.0} reference {b:.0} ({:?})",
                            r.name, r.rhythm
                        );
                    }
                }
            }
        }
    }
    let cv_obs: Vec<Observed> = held_out.into_iter().map(|(_, o)| o).collect();
    let params = fit(base, &raw.iter().collect::<Vec<_>>());
    let fitted_obs: Vec<Observed> = records.iter().map(|r| observe(r, &params)).collect();
    CvReport {
        n_records: records.len(),
        cv: figures(&cv_obs),
        fitted: figures(&fitted_obs),
        params,
        fold_params,
    }
}

fn opt(v: Option<f32>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.1}"))
}

fn mean_sd(r: &IntervalRow) -> String {
    format!("{:>6} ± {:<5}", opt(r.mean_diff), opt(r.sd_diff))
}

impl fmt::Display for CvReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "LUDB, {} records, ours − cardiologists (ms, mean ± SD). Constant shifts \
             {}-fold cross-validated over records (headline); beside: fitted on the same records.",
            self.n_records, K_FOLDS
        )?;
        writeln!(f, "\nPer-lead boundaries, pooled over the 12 leads:")?;
        writeln!(
            f,
            "{:<8} {:>15} {:>6} {:>5} {:>5} {:>5}   {:>15}  target",
            "boundary", "CV mean ± SD", "F1", "n", "miss", "extra", "fitted mean ± SD"
        )?;
        for (cv, fit) in self.cv.lead_pooled.iter().zip(&self.fitted.lead_pooled) {
            let target = match cv.row.name {
                "QRS on" | "QRS off" => "±5 / 10",
                _ => "SD 15",
            };
            writeln!(
                f,
                "{:<8} {:>15} {:>6} {:>5} {:>5} {:>5}   {:>15}  {target}",
                cv.row.name,
                mean_sd(&cv.row),
                opt(cv.f1.map(|v| v * 100.0)).replace(".0", "") + "%",
                cv.row.n_measured,
                cv.row.n_missing,
                cv.n_extra,
                mean_sd(&fit.row),
            )?;
        }
        writeln!(f, "\nPer lead (CV mean ± SD, F1 %):")?;
        write!(f, "{:<5}", "lead")?;
        for b in BOUNDARIES {
            write!(f, " {b:>22}")?;
        }
        writeln!(f)?;
        for (l, rows) in self.cv.lead_matrix.iter().enumerate() {
            write!(f, "{:<5}", LUDB_LEADS[l])?;
            for r in rows {
                write!(
                    f,
                    " {:>15} {:>5}",
                    mean_sd(&r.row),
                    r.f1.map_or("—".into(), |v| format!("{:.0}%", v * 100.0))
                )?;
            }
            writeln!(f)?;
        }
        let global = |f: &mut fmt::Formatter<'_>,
                      title: &str,
                      cv: &[IntervalRow],
                      fit: &[IntervalRow],
                      targets: bool|
         -> fmt::Result {
            writeln!(f, "\n{title}")?;
            writeln!(
                f,
                "{:<8} {:>5} {:>5} {:>5} {:>15}   {:>15}  target",
                "", "n_ref", "miss", "extra", "CV mean ± SD", "fitted mean ± SD"
            )?;
            for (c, t) in cv.iter().zip(fit) {
                let target = match (targets, c.name) {
                    (true, "PR" | "QRS") => "±10 / 10",
                    (true, "QT") => "±25 / 30",
                    _ => "",
                };
                writeln!(
                    f,
                    "{:<8} {:>5} {:>5} {:>5} {:>15}   {:>15}  {target}",
                    c.name,
                    c.n_reference,
                    c.n_missing,
                    c.n_extra,
                    mean_sd(c),
                    mean_sd(t)
                )?;
            }
            Ok(())
        };
        global(
            f,
            "Global intervals vs LUDB's robust reference (per beat second-earliest onset, \
             second-latest offset over the 12 leads; HR in bpm):",
            &self.cv.global_robust,
            &self.fitted.global_robust,
            true,
        )?;
        global(
            f,
            "Beside it, vs the strict reference (earliest onset, latest offset):",
            &self.cv.global_strict,
            &self.fitted.global_strict,
            false,
        )?;
        global(
            f,
            "Global boundaries relative to our R peaks vs the robust reference:",
            &self.cv.boundary_robust,
            &self.fitted.boundary_robust,
            false,
        )?;
        global(
            f,
            "… and vs the strict reference:",
            &self.cv.boundary_strict,
            &self.fitted.boundary_strict,
            false,
        )?;
        let p = &self.params;
        writeln!(
            f,
            "\nShifts fitted on all records (ms): per lead P on {:.1}, P off {:.1}, QRS on {:.1}, \
             QRS off {:.1}, T end {:.1}; global P on {:.1}, P off {:.1}, QRS on {:.1}, QRS off \
             {:.1}, T end {:.1}",
            p.lead_p_onset_shift_ms,
            p.lead_p_offset_shift_ms,
            p.lead_qrs_onset_shift_ms,
            p.lead_qrs_offset_shift_ms,
            p.lead_t_end_shift_ms,
            p.p_onset_shift_ms,
            p.p_offset_shift_ms,
            p.qrs_onset_shift_ms,
            p.qrs_offset_shift_ms,
            p.t_end_shift_ms
        )?;
        let spread = |get: fn(&DelineationParams) -> f32| {
            let v: Vec<f32> = self.fold_params.iter().map(get).collect();
            let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            format!("{lo:.1}…{hi:.1}")
        };
        writeln!(
            f,
            "Across folds: per lead QRS on {}, QRS off {}, T end {}",
            spread(|p| p.lead_qrs_onset_shift_ms),
            spread(|p| p.lead_qrs_offset_shift_ms),
            spread(|p| p.lead_t_end_shift_ms)
        )
    }
}
