//! Evaluate both methods on a manifest of labelled ECG files (DESIGN.md §4).
//!
//! Manifest: CSV with header `path,label` and optional `age,sex,class` columns. Paths are
//! relative to the manifest's folder or absolute; `label` 0 = normal, 1 = abnormal;
//! `age` in years; `sex` `F`/`M` (or `female`/`male`, or PTB-XL's `1` = female, `0` =
//! male); `class` a `;`-separated list of superclasses (e.g. `MI;STTC`) for per-class
//! AUROC (each class's records against the label-0 records). Age/sex from the manifest
//! override the file's. Reports AUROC and, at the stored thresholds (90 % recall of
//! abnormal on fold 9), sensitivity, specificity, precision and F1, for ours and the
//! baseline; age MAE, sex AUROC and HR/PR/QRS/QT/QTc MAE against the measured values.

use crate::analyzer::Analyzer;
use crate::attributes::Attributes;
use crate::metrics;
use crate::ModelError;
use ecgcore::analysis::ModelOutput;
use ecgcore::recording::Sex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One manifest row.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestRow {
    pub path: PathBuf,
    pub label: u8,
    pub age_years: Option<f32>,
    pub sex: Option<Sex>,
    pub classes: Vec<String>,
}

impl ManifestRow {
    /// The row's recording, with the manifest's age and sex where the row gives them (they
    /// replace what the file records).
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn open(&self) -> Result<ecgcore::recording::Recording, ecgcore::formats::FormatError> {
        let mut rec = ecgcore::formats::open(&self.path)?;
        if self.age_years.is_some() {
            rec.patient.age_years = self.age_years;
        }
        if self.sex.is_some() {
            rec.patient.sex = self.sex;
        }
        Ok(rec)
    }
}

/// Read a manifest CSV.
pub fn read_manifest(path: &Path) -> Result<Vec<ManifestRow>, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    let rows = parse_csv(&text);
    let header: Vec<String> = rows
        .first()
        .ok_or_else(|| ModelError::data(path, "empty manifest"))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |n: &str| header.iter().position(|h| h == n);
    let (Some(c_path), Some(c_label)) = (col("path"), col("label")) else {
        return Err(ModelError::data(path, "manifest needs columns path,label"));
    };
    let (c_age, c_sex, c_class) = (col("age"), col("sex"), col("class"));
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (line, r) in rows.iter().enumerate().skip(1) {
        let get = |c: Option<usize>| c.and_then(|c| r.get(c)).map_or("", |s| s.trim());
        let p = get(Some(c_path));
        if p.is_empty() {
            continue;
        }
        let label = match get(Some(c_label)) {
            "0" => 0,
            "1" => 1,
            other => {
                return Err(ModelError::data(
                    path,
                    format!("line {}: label must be 0 or 1, got {other:?}", line + 1),
                ))
            }
        };
        let sex = match get(c_sex).to_ascii_lowercase().as_str() {
            "f" | "female" | "1" => Some(Sex::Female),
            "m" | "male" | "0" => Some(Sex::Male),
            _ => None,
        };
        let pb = PathBuf::from(p);
        out.push(ManifestRow {
            path: if pb.is_absolute() { pb } else { base.join(pb) },
            label,
            age_years: get(c_age).parse::<f32>().ok().filter(|a| a.is_finite()),
            sex,
            classes: get(c_class)
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    Ok(out)
}

/// Detection metrics of one method.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MethodMetrics {
    pub method: String,
    pub n: usize,
    pub auroc: Option<f64>,
    pub threshold: f32,
    pub sensitivity: f64,
    pub specificity: f64,
    pub precision: f64,
    pub f1: f64,
    pub per_class_auroc: BTreeMap<String, f64>,
    /// Studies within the borderline band around the threshold, and the verdicts' accuracy
    /// on the others (the calls the viewer states without "borderline").
    #[serde(default)]
    pub band: BandMetrics,
}

/// The borderline band on an evaluated set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BandMetrics {
    pub margin: f32,
    pub borderline: usize,
    pub sensitivity_outside: f64,
    pub specificity_outside: f64,
}

/// Mean absolute errors of predicted attributes against measured/recorded values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributeErrors {
    pub n: usize,
    pub age_mae_years: Option<f64>,
    pub sex_auroc: Option<f64>,
    pub heart_rate_mae_bpm: Option<f64>,
    pub pr_mae_ms: Option<f64>,
    pub qrs_mae_ms: Option<f64>,
    pub qt_mae_ms: Option<f64>,
    pub qtc_mae_ms: Option<f64>,
}

/// The evaluation of a manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub manifest: String,
    pub device: String,
    pub n: usize,
    pub n_abnormal: usize,
    pub auroc: Option<f64>,
    pub threshold: f32,
    pub sensitivity: f64,
    pub specificity: f64,
    pub precision: f64,
    pub f1: f64,
    pub per_class_auroc: BTreeMap<String, f64>,
    /// Our borderline band on this set (see [`MethodMetrics::band`]).
    #[serde(default)]
    pub band: BandMetrics,
    pub age_mae_years: Option<f64>,
    pub sex_auroc: Option<f64>,
    /// Attribute errors on the normal (label 0) and abnormal (label 1) records.
    pub attributes_normal: AttributeErrors,
    pub attributes_abnormal: AttributeErrors,
    pub baseline: MethodMetrics,
    /// Files that could not be analysed, with the reason.
    pub failures: Vec<(String, String)>,
    /// Per-record scores (path, label, ours, baseline), for plots and checks.
    pub scores: Vec<(String, u8, f32, f32)>,
}

fn method_metrics(
    method: &str,
    scores: &[f32],
    labels: &[u8],
    classes: &[Vec<String>],
    (threshold, margin): (f32, f32),
) -> MethodMetrics {
    let m = metrics::at_threshold(scores, labels, threshold);
    let (outside, outside_labels): (Vec<f32>, Vec<u8>) = scores
        .iter()
        .zip(labels)
        .filter(|(s, _)| !ecgcore::analysis::within_band(**s, threshold, margin))
        .map(|(s, l)| (*s, *l))
        .unzip();
    let confident = metrics::at_threshold(&outside, &outside_labels, threshold);
    let mut per_class = BTreeMap::new();
    let mut names: Vec<&String> = classes.iter().flatten().collect();
    names.sort();
    names.dedup();
    for c in names {
        if c == "NORM" {
            continue;
        }
        let (mut s, mut l) = (Vec::new(), Vec::new());
        for ((&sc, &lab), cl) in scores.iter().zip(labels).zip(classes) {
            if lab == 0 || cl.contains(c) {
                s.push(sc);
                l.push(u8::from(lab == 1));
            }
        }
        if let Some(a) = metrics::auroc(&s, &l) {
            per_class.insert(c.clone(), a);
        }
    }
    MethodMetrics {
        method: method.to_string(),
        n: scores.len(),
        auroc: metrics::auroc(scores, labels),
        threshold,
        sensitivity: m.sensitivity,
        specificity: m.specificity,
        precision: m.precision,
        f1: m.f1,
        per_class_auroc: per_class,
        band: BandMetrics {
            margin,
            borderline: scores.len() - outside.len(),
            sensitivity_outside: confident.sensitivity,
            specificity_outside: confident.specificity,
        },
    }
}

fn attribute_errors(pred: &[Attributes], actual: &[Attributes]) -> AttributeErrors {
    let mae = |of: fn(&Attributes) -> f32| {
        let v: Vec<f64> = pred
            .iter()
            .zip(actual)
            .map(|(p, t)| f64::from((of(p) - of(t)).abs()))
            .filter(|x| x.is_finite())
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let (s, l): (Vec<f32>, Vec<u8>) = pred
        .iter()
        .zip(actual)
        .filter(|(p, t)| p.female.is_finite() && t.female.is_finite())
        .map(|(p, t)| (p.female, u8::from(t.female > 0.5)))
        .unzip();
    AttributeErrors {
        n: pred.len(),
        age_mae_years: mae(|a| a.age_years),
        sex_auroc: metrics::auroc(&s, &l),
        heart_rate_mae_bpm: mae(|a| a.heart_rate_bpm),
        pr_mae_ms: mae(|a| a.pr_ms),
        qrs_mae_ms: mae(|a| a.qrs_ms),
        qt_mae_ms: mae(|a| a.qt_ms),
        qtc_mae_ms: mae(|a| a.qtc_ms),
    }
}

/// One row scored: (ours, baseline, the attributes they were compared with), or why not.
pub type RowResult = Result<(ModelOutput, ModelOutput, Attributes), String>;

/// A change applied to each row's recording before it is scored (`row index`), e.g. noise
/// for a repeatability study.
pub type Perturb<'a> = &'a (dyn Fn(&mut ecgcore::recording::Recording, usize) + Sync);

/// Open, measure and score every row (after `perturb`, where given), in the manifest's
/// order.
///
/// The networks are small, so LibTorch's parallelism within one study mostly waits on
/// itself: on 2 cores, its two threads spent 42 % of a batch's CPU time waiting, and
/// reading and measuring the files competed with them. One worker per core instead, each
/// taking the next row and scoring it with one LibTorch thread, keeps every core on its
/// own study. The calling thread is one of the workers; its LibTorch thread count is put
/// back afterwards.
pub fn score_rows(
    rows: &[ManifestRow],
    analyzer: &Analyzer,
    bar: &indicatif::ProgressBar,
    perturb: Option<Perturb<'_>>,
) -> Vec<RowResult> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, rows.len().max(1));
    let threads_before = tch::get_num_threads();
    let next = AtomicUsize::new(0);
    let score = |analyzer: &Analyzer, i: usize, row: &ManifestRow| -> RowResult {
        let mut rec = row.open().map_err(|e| e.to_string())?;
        if let Some(perturb) = perturb {
            perturb(&mut rec, i);
        }
        let meas = ecgcore::dsp::measurements::measure(&rec);
        analyzer
            .analyze_scores(&rec, Some(&meas))
            .map_err(|e| e.to_string())
    };
    // The calling thread scores with `analyzer`; every further worker with its own copy.
    let copies: Vec<Analyzer> = (1..workers)
        .map_while(|_| analyzer.try_clone().ok())
        .collect();
    let work = |analyzer: &Analyzer| {
        // LibTorch keeps the count per thread once a thread has run parallel work (a new
        // thread adopts the last count set anywhere): each worker sets its own.
        tch::set_num_threads(1);
        let _guard = tch::no_grad_guard();
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(row) = rows.get(i) else { break };
            out.push((i, score(analyzer, i, row)));
            bar.inc(1);
        }
        out
    };
    let done: Vec<(usize, RowResult)> = std::thread::scope(|scope| {
        let handles: Vec<_> = copies
            .into_iter()
            .map(|copy| scope.spawn(move || work(&copy)))
            .collect();
        let mut done = work(analyzer);
        for h in handles {
            // A worker that panicked leaves its rows unscored; they are reported below.
            done.extend(h.join().unwrap_or_default());
        }
        done
    });
    tch::set_num_threads(threads_before);
    let mut out: Vec<Option<RowResult>> = (0..rows.len()).map(|_| None).collect();
    for (i, r) in done {
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(r);
        }
    }
    out.into_iter()
        .map(|r| {
            r.unwrap_or_else(|| Err("the worker scoring this study stopped unexpectedly".into()))
        })
        .collect()
}

/// Evaluate `manifest_csv` with a loaded analyzer; progress on stderr when `progress`.
pub fn run(
    manifest_csv: &Path,
    analyzer: &Analyzer,
    progress: bool,
) -> Result<EvalReport, ModelError> {
    let rows = read_manifest(manifest_csv)?;
    let bar = if progress {
        indicatif::ProgressBar::new(rows.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut report = EvalReport {
        manifest: manifest_csv.display().to_string(),
        device: crate::device_name(analyzer.device()),
        ..EvalReport::default()
    };
    let (mut ours, mut base, mut labels, mut classes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut pred_n, mut act_n, mut pred_a, mut act_a) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let scored = score_rows(&rows, analyzer, &bar, None);
    for (row, result) in rows.iter().zip(scored) {
        let (o, b, actual) = match result {
            Ok(x) => x,
            Err(e) => {
                report.failures.push((row.path.display().to_string(), e));
                continue;
            }
        };
        let p = o.predicted.clone().unwrap_or_default();
        let f = |v: Option<f32>| v.unwrap_or(f32::NAN);
        let pred = Attributes {
            age_years: f(p.age_years),
            female: f(p.female_probability),
            heart_rate_bpm: f(p.heart_rate_bpm),
            pr_ms: f(p.pr_ms),
            qrs_ms: f(p.qrs_ms),
            qt_ms: f(p.qt_ms),
            qtc_ms: f(p.qtc_ms),
        };
        if row.label == 0 {
            pred_n.push(pred);
            act_n.push(actual);
        } else {
            pred_a.push(pred);
            act_a.push(actual);
        }
        report
            .scores
            .push((row.path.display().to_string(), row.label, o.score, b.score));
        ours.push(o.score);
        base.push(b.score);
        labels.push(row.label);
        classes.push(row.classes.clone());
    }
    bar.finish_and_clear();
    let m = analyzer.manifest();
    let band = |e: &crate::manifest::NetEntry| (e.threshold, e.borderline_margin);
    let mine = method_metrics("ours", &ours, &labels, &classes, band(&m.mscr));
    report.baseline = method_metrics("baseline", &base, &labels, &classes, band(&m.baseline));
    report.n = mine.n;
    report.n_abnormal = labels.iter().map(|&l| usize::from(l == 1)).sum();
    report.auroc = mine.auroc;
    report.threshold = mine.threshold;
    report.sensitivity = mine.sensitivity;
    report.specificity = mine.specificity;
    report.precision = mine.precision;
    report.f1 = mine.f1;
    report.per_class_auroc = mine.per_class_auroc;
    report.band = mine.band;
    report.attributes_normal = attribute_errors(&pred_n, &act_n);
    report.attributes_abnormal = attribute_errors(&pred_a, &act_a);
    let all_pred: Vec<Attributes> = pred_n.iter().chain(&pred_a).copied().collect();
    let all_act: Vec<Attributes> = act_n.iter().chain(&act_a).copied().collect();
    let all = attribute_errors(&all_pred, &all_act);
    report.age_mae_years = all.age_mae_years;
    report.sex_auroc = all.sex_auroc;
    Ok(report)
}

/// Split a CSV text into rows of fields (RFC 4180 quoting, newlines allowed in quotes).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
        } else {
            match c {
                '"' => in_quotes = true,
                ',' => row.push(std::mem::take(&mut field)),
                '\n' => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                '\r' => {}
                _ => field.push(c),
            }
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_leaves_the_calls_near_the_threshold_out_of_the_confident_ones() {
        // Threshold 1, margin 0.2: 0.9 (a normal called normal) and 1.1 (a normal called
        // abnormal) are borderline; outside the band every call is right.
        let scores = [0.1, 0.9, 1.1, 2.0, 3.0, 0.5];
        let labels = [0, 0, 0, 1, 1, 1];
        let classes = vec![Vec::new(); 6];
        let m = method_metrics("ours", &scores, &labels, &classes, (1.0, 0.2));
        assert_eq!(m.band.borderline, 2);
        assert!(
            (m.specificity - 2.0 / 3.0).abs() < 1e-9,
            "{}",
            m.specificity
        );
        assert!((m.sensitivity - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(m.band.specificity_outside, 1.0);
        assert!((m.band.sensitivity_outside - 2.0 / 3.0).abs() < 1e-9);
        // No band: the confident calls are all the calls.
        let none = method_metrics("ours", &scores, &labels, &classes, (1.0, 0.0));
        assert_eq!(none.band.borderline, 0);
        assert_eq!(none.band.specificity_outside, none.specificity);
    }
}
