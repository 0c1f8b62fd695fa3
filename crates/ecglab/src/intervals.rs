//! Validation of measured intervals against cardiologists' wave boundaries (LUDB).
//!
//! LUDB (Kalyakulina et al., IEEE Access 2020) marks onset `(`, peak and offset `)` of
//! every P, QRS and T wave in each of the 12 leads (WFDB annotation files `N.i` …
//! `N.v6`). The reference global intervals of a record follow IEC 60601-2-25 practice:
//! per beat, the earliest onset and latest offset across leads (QRS complexes of different
//! leads are the same beat when their peaks lie within 100 ms; a P wave belongs to the
//! beat whose QRS it precedes by at most 450 ms; a T wave to the QRS it follows), then the
//! median over beats. PR and P are referenced only when at least half of the beats carry a
//! marked P wave (none are marked in atrial fibrillation). Heart rate is 60 000 / mean RR
//! of consecutive marked beats.
//!
//! [`validate_ludb`] measures every record with `ecgcore::dsp::measurements::measure_with` and
//! reports, per interval, the mean and SD of (ours − reference), how many records were
//! measured, how many the reference has but we left empty (missing), and how many we
//! measured although the reference has none (extra). Differences in ms (bpm for HR).
//! A second block tells which boundary (P on/off, QRS on/off, T end) the interval errors
//! come from, each relative to our own R peaks.
//!
//! Honest figures: the delineation constants are fitted on LUDB. The cross-validated
//! tables (per lead and global, against the robust and the strict reference) are in
//! [`crate::interval_cv`], which `ecglab validate-intervals` prints. The split into halves
//! ([`ludb_half`]) is what the thresholds were first fitted on (`ecglab tune sweep`).

use ecgcore::dsp::delineate::DelineationParams;
use ecgcore::dsp::measurements::{measure_with, Measurements};
use ecgcore::formats::wfdb_annotation::{read_annotations, waves, Wave, WaveKind};
use ecgcore::formats::{self, FormatError};
use ecgcore::recording::Recording;
use std::fmt;
use std::path::{Path, PathBuf};

/// LUDB lead annotation extensions, in file order.
pub const LUDB_LEADS: [&str; 12] = [
    "i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6",
];

/// The intervals compared, in table order.
pub const INTERVALS: [(&str, &str); 5] = [
    ("HR", "bpm"),
    ("PR", "ms"),
    ("P", "ms"),
    ("QRS", "ms"),
    ("QT", "ms"),
];

/// Why validation could not run.
#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    #[error("no LUDB records (.hea files) found in {}", .0.display())]
    NoRecords(PathBuf),
    #[error("cannot list {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reference global values of one record (HR, PR, P, QRS, QT; `None` when not marked).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReferenceIntervals {
    pub values: [Option<f32>; 5],
    /// Beats (QRS clusters) found in the marks.
    pub n_beats: usize,
}

/// Ours and the reference for one record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordComparison {
    pub record: String,
    pub ours: [Option<f32>; 5],
    pub reference: [Option<f32>; 5],
    /// Reference ignoring the single most extreme lead per boundary.
    pub reference_robust: [Option<f32>; 5],
    /// Rhythm as the header states it ("Sinus rhythm", "Atrial fibrillation", …).
    pub rhythm: Option<String>,
    /// Ours − reference per boundary (ms), in [`BOUNDARIES`] order (see
    /// [`boundary_errors`]).
    pub boundary_ms: [Option<f32>; 5],
}

/// Summary of one interval over all records.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalRow {
    pub name: &'static str,
    pub unit: &'static str,
    /// Records with a reference value.
    pub n_reference: usize,
    /// Records where both have a value (the differences below are over these).
    pub n_measured: usize,
    /// Reference has a value, we do not.
    pub n_missing: usize,
    /// We have a value, the reference does not.
    pub n_extra: usize,
    pub mean_diff: Option<f32>,
    pub sd_diff: Option<f32>,
    pub mean_abs_diff: Option<f32>,
}

/// The validation result.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationTable {
    pub dir: PathBuf,
    /// Which records the table covers ("held-out half", "all records", …).
    pub label: String,
    /// Against the standard reference (earliest onset / latest offset over leads).
    pub rows: Vec<IntervalRow>,
    /// Against the reference that ignores the single most extreme lead per boundary
    /// (second-earliest onset / second-latest offset): shows how much of the spread comes
    /// from one lead's marks. Not the standard; reported beside it.
    pub rows_robust: Vec<IntervalRow>,
    /// Per boundary (P onset, P offset, QRS onset, QRS offset, T end), ours − reference
    /// relative to our R peaks (see [`boundary_errors`]): which boundary an interval
    /// error comes from. `n_measured` counts records where both exist.
    pub boundary_rows: Vec<IntervalRow>,
    pub records: Vec<RecordComparison>,
    /// Records that could not be read, with the error.
    pub failed: Vec<(String, String)>,
}

impl ValidationTable {
    /// The row of an interval by name ("HR", "PR", "P", "QRS", "QT").
    pub fn row(&self, name: &str) -> Option<&IntervalRow> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// The table over the records of one half of LUDB only (see [`ludb_half`]).
    #[must_use]
    pub fn half(&self, half: LudbHalf) -> ValidationTable {
        let records: Vec<RecordComparison> = self
            .records
            .iter()
            .filter(|r| ludb_half(&r.record) == half)
            .cloned()
            .collect();
        let failed = self
            .failed
            .iter()
            .filter(|f| ludb_half(&f.0) == half)
            .cloned()
            .collect();
        table_from_records(&self.dir, half.label(), records, failed)
    }
}

/// The two halves of LUDB: delineation parameters are fitted on the tuning half only
/// (`ecglab tune`), and the held-out half tells how well they generalise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LudbHalf {
    Tuning,
    HeldOut,
}

impl LudbHalf {
    /// How a table over this half is labelled.
    pub fn label(self) -> &'static str {
        match self {
            LudbHalf::Tuning => "tuning half (record id mod 4 in {0, 1})",
            LudbHalf::HeldOut => "held-out half (record id mod 4 in {2, 3})",
        }
    }
}

/// The half a LUDB record belongs to, fixed by its numeric id: id mod 4 in {0, 1} tunes,
/// {2, 3} is held out (of the odd ids in `../shared/data/ludb`: 1, 5, 9, … tune and 3, 7,
/// 11, … are held out, 50 each, with atrial fibrillation in both). A deterministic split
/// by id, so it does not change when a record fails to read. Names that are not numbers
/// are held out.
pub fn ludb_half(record: &str) -> LudbHalf {
    match record.trim().parse::<u64>() {
        Ok(id) if id % 4 < 2 => LudbHalf::Tuning,
        _ => LudbHalf::HeldOut,
    }
}

/// Validation of the default parameters: the held-out half (the honest figure), and all
/// records (the held-out half plus the half the parameters were fitted on).
#[derive(Debug, Clone, PartialEq)]
pub struct LudbValidation {
    pub held_out: ValidationTable,
    pub all: ValidationTable,
}

impl fmt::Display for LudbValidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Delineation parameters were fitted on the tuning half of LUDB only; the \
             held-out half is the honest figure."
        )?;
        writeln!(f, "{}", self.held_out)?;
        write!(f, "{}", self.all)
    }
}

/// Tolerances of IEC 60601-2-25 style automated measurement (mean, SD), ms.
fn tolerance(name: &str) -> &'static str {
    match name {
        "PR" | "QRS" => "±10 / 10",
        "QT" => "±25 / 30",
        _ => "",
    }
}

impl fmt::Display for ValidationTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Intervals vs cardiologists' marks (LUDB), {}, {} records, ours − reference: {}",
            self.label,
            self.records.len(),
            self.dir.display()
        )?;
        writeln!(
            f,
            "{:<7} {:<4} {:>6} {:>9} {:>8} {:>6} {:>10} {:>8} {:>9}  tolerance (mean/SD)",
            "wave",
            "unit",
            "n_ref",
            "measured",
            "missing",
            "extra",
            "mean diff",
            "SD diff",
            "mean |d|",
        )?;
        let opt = |v: Option<f32>| v.map_or_else(|| "—".to_string(), |v| format!("{v:.1}"));
        let row_line = |f: &mut fmt::Formatter<'_>, r: &IntervalRow| {
            writeln!(
                f,
                "{:<7} {:<4} {:>6} {:>9} {:>8} {:>6} {:>10} {:>8} {:>9}  {}",
                r.name,
                r.unit,
                r.n_reference,
                r.n_measured,
                r.n_missing,
                r.n_extra,
                opt(r.mean_diff),
                opt(r.sd_diff),
                opt(r.mean_abs_diff),
                tolerance(r.name)
            )
        };
        for r in &self.rows {
            row_line(f, r)?;
        }
        if !self.rows_robust.is_empty() {
            writeln!(
                f,
                "beside it, against a reference ignoring the single most extreme lead per boundary:"
            )?;
            for r in &self.rows_robust {
                row_line(f, r)?;
            }
        }
        if !self.boundary_rows.is_empty() {
            writeln!(
                f,
                "per boundary, relative to our R peaks (ours − reference; + = ours later):"
            )?;
            for r in &self.boundary_rows {
                row_line(f, r)?;
            }
        }
        for (rec, err) in &self.failed {
            writeln!(f, "not read: {rec}: {err}")?;
        }
        Ok(())
    }
}

/// Median of `v` (sorted in place; the mean of the middle two for an even count).
pub(crate) fn median(v: &mut [f32]) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f32::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// Reference intervals of the record whose files are `base.i` … `base.v6` at
/// `sample_rate_hz`.
///
/// # Errors
/// When an annotation file cannot be read.
pub fn reference_intervals(
    base: &Path,
    sample_rate_hz: f64,
) -> Result<ReferenceIntervals, FormatError> {
    Ok(reference_from_waves(
        &reference_waves(base)?,
        sample_rate_hz,
    ))
}

/// All marked waves of all leads of the record `base` (`base.i` … `base.v6`).
///
/// # Errors
/// When an annotation file cannot be read.
pub fn reference_waves(base: &Path) -> Result<Vec<Wave>, FormatError> {
    let mut all: Vec<Wave> = Vec::new();
    for ext in LUDB_LEADS {
        let mut p = base.as_os_str().to_owned();
        p.push(".");
        p.push(ext);
        let p = PathBuf::from(p);
        if !p.exists() {
            continue;
        }
        all.extend(waves(&read_annotations(&p)?));
    }
    Ok(all)
}

/// Each lead's marked waves of the record `base`, in [`LUDB_LEADS`] order (empty where a
/// file is missing).
///
/// # Errors
/// When an annotation file cannot be read.
pub fn lead_waves(base: &Path) -> Result<Vec<Vec<Wave>>, FormatError> {
    LUDB_LEADS
        .iter()
        .map(|ext| {
            let mut p = base.as_os_str().to_owned();
            p.push(".");
            p.push(ext);
            let p = PathBuf::from(p);
            if p.exists() {
                Ok(waves(&read_annotations(&p)?))
            } else {
                Ok(Vec::new())
            }
        })
        .collect()
}

/// Reference intervals from the waves of all leads together (see module docs).
pub fn reference_from_waves(all: &[Wave], fs: f64) -> ReferenceIntervals {
    reference_from_waves_ranked(all, fs, 0)
}

/// One beat of the reference: global boundaries (sample indices in the record) at the
/// requested rank (see [`reference_beats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceBeat {
    pub qrs_onset: u64,
    pub qrs_offset: u64,
    /// The first QRS peak mark of the beat (any lead).
    pub qrs_peak: u64,
    pub p_onset: Option<u64>,
    pub p_offset: Option<u64>,
    pub t_offset: Option<u64>,
}

/// The beats of the reference with their global boundaries: per beat the `rank`-th
/// earliest onset and latest offset across leads (0 = earliest/latest, the standard
/// definition; 1 ignores the one most extreme lead). See the module docs for how marks of
/// different leads are grouped into beats.
pub fn reference_beats(all: &[Wave], fs: f64, rank: usize) -> Vec<ReferenceBeat> {
    // k-th smallest / largest of a list (the last one when shorter).
    let kth_min = |mut v: Vec<u64>| -> Option<u64> {
        v.sort_unstable();
        v.get(rank.min(v.len().saturating_sub(1))).copied()
    };
    let kth_max = |mut v: Vec<u64>| -> Option<u64> {
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.get(rank.min(v.len().saturating_sub(1))).copied()
    };
    let samples = |s: f64| (s * fs).round() as u64;
    let mut qrs: Vec<&Wave> = all
        .iter()
        .filter(|w| w.kind == WaveKind::Qrs && w.onset.is_some() && w.offset.is_some())
        .collect();
    qrs.sort_by_key(|w| w.onset);
    // Cluster QRS marks of different leads into beats (onset, offset, peak, leads): a mark
    // joins the current beat when it overlaps it or peaks within 100 ms of its first peak.
    /// (earliest onset, latest offset, first peak, all onsets, all offsets).
    type Cluster = (u64, u64, u64, Vec<u64>, Vec<u64>);
    let mut clusters: Vec<Cluster> = Vec::new();
    for w in qrs {
        let (Some(on), Some(off)) = (w.onset, w.offset) else {
            continue;
        };
        match clusters.last_mut() {
            Some(b) if on < b.1 || w.peak <= b.2 + samples(0.1) => {
                b.0 = b.0.min(on);
                b.1 = b.1.max(off);
                b.3.push(on);
                b.4.push(off);
            }
            _ => clusters.push((on, off, w.peak, vec![on], vec![off])),
        }
    }
    // (onset, offset, first peak) per beat at the requested rank.
    let qrs_beats: Vec<(u64, u64, u64)> = clusters
        .into_iter()
        .map(|c| {
            let on = kth_min(c.3).unwrap_or(c.0);
            let off = kth_max(c.4).unwrap_or(c.1);
            (on, off.max(on), c.2)
        })
        .collect();
    qrs_beats
        .iter()
        .enumerate()
        .map(|(k, &(on, off, peak))| {
            let prev_off = k
                .checked_sub(1)
                .and_then(|j| qrs_beats.get(j))
                .map_or(0, |pb| pb.1);
            let next_on = qrs_beats.get(k + 1).map_or(u64::MAX, |nb| nb.0);
            let ps: Vec<&Wave> = all
                .iter()
                .filter(|w| {
                    w.kind == WaveKind::P
                        && w.peak < on
                        && w.peak + samples(0.45) >= on
                        && w.peak > prev_off
                        && w.onset.is_some()
                        && w.offset.is_some()
                })
                .collect();
            let (p_onset, p_offset) = match (
                kth_min(ps.iter().filter_map(|w| w.onset).collect()),
                kth_max(ps.iter().filter_map(|w| w.offset).collect()),
            ) {
                (Some(pon), Some(poff)) if pon < on => (Some(pon), Some(poff.min(on))),
                _ => (None, None),
            };
            let t_offset = kth_max(
                all.iter()
                    .filter(|w| w.kind == WaveKind::T && w.peak > off && w.peak < next_on)
                    .filter_map(|w| w.offset)
                    .collect(),
            )
            .filter(|&t| t > on);
            ReferenceBeat {
                qrs_onset: on,
                qrs_offset: off,
                qrs_peak: peak,
                p_onset,
                p_offset,
                t_offset,
            }
        })
        .collect()
}

/// As [`reference_from_waves`], but per beat the `rank`-th earliest onset and latest
/// offset across leads (0 = earliest/latest, the standard definition; 1 ignores the one
/// most extreme lead, which shows how much single-lead marks drive the reference).
pub fn reference_from_waves_ranked(all: &[Wave], fs: f64, rank: usize) -> ReferenceIntervals {
    let beats = reference_beats(all, fs, rank);
    let to_ms = |d: u64| (d as f64 / fs * 1000.0) as f32;
    let mut pr = Vec::new();
    let mut p = Vec::new();
    let mut qrs_d = Vec::new();
    let mut qt = Vec::new();
    for b in &beats {
        qrs_d.push(to_ms(b.qrs_offset - b.qrs_onset));
        if let (Some(pon), Some(poff)) = (b.p_onset, b.p_offset) {
            pr.push(to_ms(b.qrs_onset - pon));
            p.push(to_ms(poff.saturating_sub(pon)));
        }
        if let Some(t) = b.t_offset {
            qt.push(to_ms(t - b.qrs_onset));
        }
    }
    let rr: Vec<f64> = beats
        .windows(2)
        .map(|w| (w[1].qrs_peak - w[0].qrs_peak) as f64 / fs * 1000.0)
        .collect();
    let hr =
        (!rr.is_empty()).then(|| (60_000.0 / (rr.iter().sum::<f64>() / rr.len() as f64)) as f32);
    let has_p = !beats.is_empty() && 2 * pr.len() >= beats.len();
    ReferenceIntervals {
        values: [
            hr,
            if has_p { median(&mut pr) } else { None },
            if has_p { median(&mut p) } else { None },
            median(&mut qrs_d),
            median(&mut qt),
        ],
        n_beats: beats.len(),
    }
}

/// Boundary names of [`boundary_errors`], in order.
pub const BOUNDARIES: [&str; 5] = ["P on", "P off", "QRS on", "QRS off", "T end"];

/// Where each of our median-beat boundaries lies relative to the reference, in ms (ours
/// − reference; negative = ours earlier), to tell which boundary an interval error comes
/// from. Both are taken relative to our R peaks: ours as boundary − fiducial on the median
/// beat, the reference as the median over beats of (reference boundary − our aligned R
/// peak of that beat, when one lies within 100 ms of the beat's first peak mark).
/// `reference_rate_hz` is the rate of the marks, `fs` the rate the record was measured at.
pub fn boundary_errors(
    beats: &[ReferenceBeat],
    reference_rate_hz: f64,
    m: &Measurements,
    fs: f64,
) -> [Option<f32>; 5] {
    let f = &m.fiducials;
    let Some(r) = f.r_peak else {
        return [None; 5];
    };
    let ours = [f.p_onset, f.p_offset, f.qrs_onset, f.qrs_offset, f.t_offset]
        .map(|b| b.map(|b| ((b as f64 - r as f64) / fs * 1000.0) as f32));
    let reference = reference_relative(beats, reference_rate_hz, &m.r_peaks, fs);
    let mut out = [None; 5];
    for k in 0..5 {
        if let (Some(o), Some(refv)) = (ours[k], reference[k]) {
            out[k] = Some(o - refv);
        }
    }
    out
}

/// The reference boundaries relative to our R peaks (ms), in [`BOUNDARIES`] order: the
/// median over reference beats of (boundary − our R peak of that beat), for beats with one
/// of `r_peaks` (sample indices at `fs`) within 100 ms of their first QRS peak mark.
pub fn reference_relative(
    beats: &[ReferenceBeat],
    reference_rate_hz: f64,
    r_peaks: &[usize],
    fs: f64,
) -> [Option<f32>; 5] {
    let mut rel: [Vec<f32>; 5] = Default::default();
    let peaks_ms: Vec<f64> = r_peaks.iter().map(|&p| p as f64 / fs * 1000.0).collect();
    let mark_ms = |x: u64| x as f64 / reference_rate_hz * 1000.0;
    for b in beats {
        let first_peak = mark_ms(b.qrs_peak);
        let Some(&peak) = peaks_ms
            .iter()
            .min_by(|a, c| (*a - first_peak).abs().total_cmp(&(*c - first_peak).abs()))
        else {
            continue;
        };
        if (peak - first_peak).abs() > 100.0 {
            continue;
        }
        let marks = [
            b.p_onset,
            b.p_offset,
            Some(b.qrs_onset),
            Some(b.qrs_offset),
            b.t_offset,
        ];
        for (k, mark) in marks.iter().enumerate() {
            if let Some(x) = mark {
                rel[k].push((mark_ms(*x) - peak) as f32);
            }
        }
    }
    rel.each_mut().map(|v| median(v))
}

/// Our values in table order.
fn ours(m: &Measurements) -> [Option<f32>; 5] {
    [m.heart_rate_bpm, m.pr_ms, m.p_ms, m.qrs_ms, m.qt_ms]
}

/// Rhythm line from a LUDB header ("#Rhythm: Sinus rhythm.").
fn rhythm_from_header(hea: &Path) -> Option<String> {
    let text = std::fs::read_to_string(hea).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("#Rhythm:"))
        .map(|r| r.trim().trim_end_matches('.').to_string())
}

/// The `.hea` files of a LUDB folder (the folder itself or its `data/` subfolder).
fn record_headers(dir: &Path) -> Result<Vec<PathBuf>, ValidationError> {
    let data = if dir.join("data").is_dir() {
        dir.join("data")
    } else {
        dir.to_path_buf()
    };
    let entries = std::fs::read_dir(&data).map_err(|source| ValidationError::Io {
        path: data.clone(),
        source,
    })?;
    let mut heads: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "hea"))
        .collect();
    // Numeric order where names are numbers (1, 3, 5, …).
    heads.sort_by_key(|p| {
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        (stem.parse::<u64>().unwrap_or(u64::MAX), stem)
    });
    if heads.is_empty() {
        return Err(ValidationError::NoRecords(dir.to_path_buf()));
    }
    Ok(heads)
}

/// Validate with the default delineation parameters: the held-out half and all records.
///
/// # Errors
/// When the folder cannot be listed or holds no records.
pub fn validate_ludb(dir: &Path) -> Result<LudbValidation, ValidationError> {
    let all = validate_ludb_with(dir, &DelineationParams::default())?;
    Ok(LudbValidation {
        held_out: all.half(LudbHalf::HeldOut),
        all,
    })
}

/// The records of one half (see [`ludb_half`]).
pub fn records_of_half(records: &[LudbRecord], half: LudbHalf) -> Vec<LudbRecord> {
    records
        .iter()
        .filter(|r| ludb_half(&r.name) == half)
        .cloned()
        .collect()
}

/// Records that could not be read: (record name, error).
pub type FailedRecords = Vec<(String, String)>;

/// One LUDB record, read, with its reference intervals.
#[derive(Debug, Clone)]
pub struct LudbRecord {
    pub name: String,
    pub recording: Recording,
    pub reference: ReferenceIntervals,
    /// Reference ignoring the single most extreme lead per boundary (rank 1).
    pub reference_robust: ReferenceIntervals,
    /// The reference beats (standard rank 0), sample indices at `reference_rate_hz`.
    pub reference_beats: Vec<ReferenceBeat>,
    /// The reference beats at rank 1 (second-earliest onset / second-latest offset).
    pub reference_beats_robust: Vec<ReferenceBeat>,
    /// Each lead's own marks, in [`LUDB_LEADS`] order (empty where a file is missing).
    pub lead_waves: Vec<Vec<Wave>>,
    /// Sample rate of the marks (the record's rate as read).
    pub reference_rate_hz: f64,
    pub rhythm: Option<String>,
}

/// Read every record of a LUDB folder with its reference intervals. Records that cannot
/// be read are returned separately with the error, not silently dropped.
pub fn load_ludb(dir: &Path) -> Result<(Vec<LudbRecord>, FailedRecords), ValidationError> {
    let heads = record_headers(dir)?;
    let mut records = Vec::new();
    let mut failed = Vec::new();
    for hea in heads {
        let name = hea
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let recording = match formats::open(&hea) {
            Ok(r) => r,
            Err(e) => {
                failed.push((name, e.to_string()));
                continue;
            }
        };
        let base = hea.with_extension("");
        match reference_waves(&base).and_then(|all| Ok((all, lead_waves(&base)?))) {
            Ok((all, lead_waves)) => records.push(LudbRecord {
                reference_beats_robust: reference_beats(&all, recording.sample_rate_hz, 1),
                lead_waves,
                name,
                reference: reference_from_waves(&all, recording.sample_rate_hz),
                reference_robust: reference_from_waves_ranked(&all, recording.sample_rate_hz, 1),
                reference_beats: reference_beats(&all, recording.sample_rate_hz, 0),
                reference_rate_hz: recording.sample_rate_hz,
                recording,
                rhythm: rhythm_from_header(&hea),
            }),
            Err(e) => failed.push((name, e.to_string())),
        }
    }
    Ok((records, failed))
}

/// Measure already loaded records and build the table (use [`ValidationTable::half`] or
/// [`records_of_half`] for one half). Labelled with the half when all records belong to
/// one, "all records" otherwise.
pub fn compare(
    dir: &Path,
    records: &[LudbRecord],
    failed: Vec<(String, String)>,
    params: &DelineationParams,
) -> ValidationTable {
    let records: Vec<RecordComparison> = records
        .iter()
        .map(|r| {
            let m = measure_with(&r.recording, params);
            RecordComparison {
                record: r.name.clone(),
                ours: ours(&m),
                reference: r.reference.values,
                reference_robust: r.reference_robust.values,
                rhythm: r.rhythm.clone(),
                boundary_ms: boundary_errors(
                    &r.reference_beats,
                    r.reference_rate_hz,
                    &m,
                    r.recording.sample_rate_hz,
                ),
            }
        })
        .collect();
    let halves: Vec<LudbHalf> = records.iter().map(|r| ludb_half(&r.record)).collect();
    let label = match halves.first() {
        Some(&h) if halves.iter().all(|&x| x == h) => h.label(),
        _ => "all records",
    };
    table_from_records(dir, label, records, failed)
}

fn table_from_records(
    dir: &Path,
    label: &str,
    records: Vec<RecordComparison>,
    failed: Vec<(String, String)>,
) -> ValidationTable {
    let rows = INTERVALS
        .iter()
        .enumerate()
        .map(|(k, &(name, unit))| summarise(name, unit, k, &records, false))
        .collect();
    let rows_robust = INTERVALS
        .iter()
        .enumerate()
        .map(|(k, &(name, unit))| summarise(name, unit, k, &records, true))
        .collect();
    let boundary_rows = boundary_error_rows(records.iter().map(|r| r.boundary_ms));
    ValidationTable {
        dir: dir.to_path_buf(),
        label: label.to_string(),
        rows,
        rows_robust,
        boundary_rows,
        records,
        failed,
    }
}

/// Validate with explicit delineation parameters (for parameter sweeps).
pub fn validate_ludb_with(
    dir: &Path,
    params: &DelineationParams,
) -> Result<ValidationTable, ValidationError> {
    let (records, failed) = load_ludb(dir)?;
    Ok(compare(dir, &records, failed, params))
}

fn summarise(
    name: &'static str,
    unit: &'static str,
    k: usize,
    records: &[RecordComparison],
    robust: bool,
) -> IntervalRow {
    summarise_pairs(
        name,
        unit,
        records.iter().map(|r| {
            let reference = if robust {
                r.reference_robust[k]
            } else {
                r.reference[k]
            };
            (r.ours[k], reference)
        }),
    )
}

/// One row per boundary ([`BOUNDARIES`]) of errors already relative to the reference (ms;
/// `None` where either side has no boundary).
pub(crate) fn boundary_error_rows(
    errors: impl Iterator<Item = [Option<f32>; 5]> + Clone,
) -> Vec<IntervalRow> {
    BOUNDARIES
        .iter()
        .enumerate()
        .map(|(k, &name)| {
            summarise_pairs(
                name,
                "ms",
                errors.clone().map(|e| (e[k], e[k].map(|_| 0.0))),
            )
        })
        .collect()
}

/// Summary of (ours, reference) pairs.
pub fn summarise_pairs(
    name: &'static str,
    unit: &'static str,
    pairs: impl Iterator<Item = (Option<f32>, Option<f32>)>,
) -> IntervalRow {
    let mut diffs = Vec::new();
    let (mut n_reference, mut n_missing, mut n_extra) = (0, 0, 0);
    for pair in pairs {
        match pair {
            (Some(o), Some(f)) => {
                n_reference += 1;
                diffs.push(f64::from(o - f));
            }
            (None, Some(_)) => {
                n_reference += 1;
                n_missing += 1;
            }
            (Some(_), None) => n_extra += 1,
            (None, None) => {}
        }
    }
    let n = diffs.len();
    let mean = (n > 0).then(|| diffs.iter().sum::<f64>() / n as f64);
    let sd = mean
        .filter(|_| n > 1)
        .map(|m| (diffs.iter().map(|d| (d - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    let mean_abs = (n > 0).then(|| diffs.iter().map(|d| d.abs()).sum::<f64>() / n as f64);
    IntervalRow {
        name,
        unit,
        n_reference,
        n_measured: n,
        n_missing,
        n_extra,
        mean_diff: mean.map(|v| v as f32),
        sd_diff: sd.map(|v| v as f32),
        mean_abs_diff: mean_abs.map(|v| v as f32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(kind: WaveKind, on: u64, peak: u64, off: u64) -> Wave {
        Wave {
            kind,
            onset: Some(on),
            peak,
            offset: Some(off),
        }
    }

    #[test]
    fn halves_split_by_record_id() {
        let tuning: Vec<u64> = (1..=20)
            .filter(|id| ludb_half(&id.to_string()) == LudbHalf::Tuning)
            .collect();
        assert_eq!(tuning, [1, 4, 5, 8, 9, 12, 13, 16, 17, 20]);
        // Of the odd ids: 1, 5, 9, … tune, 3, 7, 11, … are held out.
        assert_eq!(ludb_half("3"), LudbHalf::HeldOut);
        assert_eq!(ludb_half("199"), LudbHalf::HeldOut);
        assert_eq!(ludb_half("197"), LudbHalf::Tuning);
        assert_eq!(ludb_half("x"), LudbHalf::HeldOut);
    }

    #[test]
    fn reference_takes_earliest_onset_and_latest_offset() {
        // Two beats 500 samples apart at 500 Hz, two leads with slightly different marks.
        let mut all = Vec::new();
        for (k, shift) in [(0_u64, 0_u64), (1, 2)] {
            let b = 1000 + 500 * k;
            all.push(w(WaveKind::P, b - 90, b - 70, b - 40 + shift));
            all.push(w(WaveKind::Qrs, b - 20 + shift, b, b + 25));
            all.push(w(WaveKind::Qrs, b - 22, b + 2, b + 20 + shift));
            all.push(w(WaveKind::T, b + 100, b + 150, b + 190 + shift));
        }
        let r = reference_from_waves(&all, 500.0);
        assert_eq!(r.n_beats, 2);
        let [hr, pr, p, qrs, qt] = r.values;
        assert_eq!(hr, Some(60.0));
        assert_eq!(pr, Some((90.0 - 22.0) * 2.0)); // P onset b−90 to QRS onset b−22
        assert_eq!(p, Some(50.0 * 2.0 + 1.0 * 2.0)); // median of 50 and 52 samples
        assert_eq!(qrs, Some(47.0 * 2.0)); // b−22 … b+25
        assert_eq!(qt, Some(213.0 * 2.0)); // median of 212 and 214 samples
    }
}
