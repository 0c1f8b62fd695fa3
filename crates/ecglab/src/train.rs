//! Training on PTB-XL normals with the protocol of DESIGN.md §4.
//!
//! Folds 1–8 NORM-only train both networks; fold 9 (normals and abnormals) chooses the
//! epoch (validation AUROC), the score calibration (which components enter) and the
//! thresholds (90 % recall of abnormal); fold 10 is only scored at the end for the model
//! card and never feeds back into any choice. Fixed seed (`tch::manual_seed` plus a
//! SplitMix64 for crops, beats and masks). Augmentation per example: amplitude scale
//! (±20 % global, ±5 % per lead), baseline wander (0.1–0.5 Hz, ≤ 0.15 mV), additive noise
//! (σ ≤ 0.03 mV, input only — the target stays clean) and a random crop (≤ ±200 ms shift).
//! MSCR loss: uncertainty-weighted restoration `mean(exp(-s)(x̂−x)² + s)` for the global
//! view and the beat (hidden samples weighted ×3), MSE for the trend, and the attribute
//! loss (MSE on normalized age/HR/intervals, BCE on sex). Baseline: MSE. AdamW, cosine
//! learning-rate decay, early stopping on fold-9 AUROC.

use crate::data::{self, Dataset, PtbxlRow, Split};
use crate::fit;
use ecgcore::analysis::NormalSpread;
use ecgmodel::attributes::Attributes;
use ecgmodel::contract::{N_MASKED_PATCHES, N_SAMPLES};
use ecgmodel::manifest::{self, ModelManifest, NetEntry, BASELINE_FILE, MSCR_FILE};
use ecgmodel::mapcal::MapCalibration;
use ecgmodel::metrics;
use ecgmodel::net::{self, BeatAe, Mscr};
use ecgmodel::score::{
    self, AttrNorm, EmbeddingModel, FeatureModel, MscrRaw, NormalModels, COMPONENTS,
};
use ecgmodel::views::{self, SplitMix64};
use ecgmodel::ModelError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// What to train and how.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// PTB-XL folder (with `labels.csv` and `records100/`).
    pub ptbxl_dir: PathBuf,
    /// Where the weights, manifest and card go (`models/`).
    pub out_dir: PathBuf,
    /// Where the preprocessed tensors are cached.
    pub cache_dir: PathBuf,
    pub seed: u64,
    pub mscr_epochs: usize,
    pub baseline_epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Stop after this many validations without improvement.
    pub patience: usize,
    /// Validate every this many epochs.
    pub eval_every: usize,
    /// Wall-clock budget per network (s); training stops at the next validation after it.
    pub time_budget_s: f64,
    pub threads: i32,
    pub device: Device,
    pub progress: bool,
    /// The command line, recorded in the model card.
    pub command: String,
    /// Skip MSCR training and load these weights instead (recalibration, baseline work).
    pub reuse_mscr: Option<PathBuf>,
    /// Skip baseline training and load these weights instead.
    pub reuse_baseline: Option<PathBuf>,
    /// Which fold-9 figure chooses the epoch.
    pub select: Selection,
}

/// The fold-9 figure that chooses the training epoch (both are printed at every
/// evaluation, and every evaluated epoch's weights are kept in the cache folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Selection {
    /// The global restoration error plus the feature density, weighed alike.
    #[default]
    Restoration,
    /// The score as shipped, weighed on fold 9 and cross-validated within it.
    Weighed,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            ptbxl_dir: PathBuf::from(".data/ptbxl"),
            out_dir: PathBuf::from("models"),
            cache_dir: PathBuf::from("target/ecgmodel-cache"),
            seed: 20240601,
            mscr_epochs: 24,
            baseline_epochs: 60,
            batch_size: 32,
            learning_rate: 2e-3,
            patience: 6,
            eval_every: 2,
            time_budget_s: 1800.0,
            threads: 2,
            device: Device::cuda_if_available(),
            progress: true,
            command: String::new(),
            reuse_mscr: None,
            reuse_baseline: None,
            select: Selection::Restoration,
        }
    }
}

/// Beats of each record per baseline training step.
const BASELINE_BEATS: usize = 4;

pub use ecgmodel::metrics::SplitMetrics;

/// Attribute errors on one split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributeMetrics {
    pub age_mae_years_normal: f64,
    pub age_mae_years_abnormal: f64,
    pub sex_auroc: f64,
    pub hr_mae_bpm_normal: f64,
    pub hr_mae_bpm_abnormal: f64,
}

/// What training did and reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    pub seed: u64,
    pub device: String,
    pub n_train: usize,
    pub n_validation: usize,
    pub n_test: usize,
    pub mscr_parameters: i64,
    pub baseline_parameters: i64,
    pub mscr_epochs_run: usize,
    pub mscr_best_epoch: usize,
    pub baseline_epochs_run: usize,
    pub baseline_best_epoch: usize,
    pub mscr_train_s: f64,
    pub baseline_train_s: f64,
    pub total_s: f64,
    /// Fold-9 AUROC of the global restoration error plus the feature density at each
    /// validation (epoch, auroc).
    pub mscr_curve: Vec<(usize, f64)>,
    /// Fold-9 AUROC of the weighed score, cross-validated, at each validation.
    #[serde(default)]
    pub mscr_curve_weighed: Vec<(usize, f64)>,
    /// Which of the two curves chose the epoch.
    #[serde(default)]
    pub mscr_selection: Selection,
    pub baseline_curve: Vec<(usize, f64)>,
    /// Components used in the study score and their weights.
    pub score_components: Vec<(String, f32)>,
    /// Fold-9 AUROC of each component alone.
    pub component_val_auroc: Vec<(String, f64)>,
    /// Fold-9 AUROC of the weighted score, 5-fold cross-validated within fold 9 (the
    /// weights fitted on four fifths, scored on the fifth): the honest fold-9 figure.
    #[serde(default)]
    pub weighing_cv_auroc: Option<f64>,
    /// The straight line `(a, b)` predicted ages are corrected by (age = a + b·prediction),
    /// fitted on fold-9 normals (`fit::recalibrate_age`).
    #[serde(default)]
    pub age_line: Option<(f32, f32)>,
    /// The attributes read from the encoder features instead of the head, and what
    /// fold-9 normals measured for each (`fit::attribute_readout`).
    #[serde(default)]
    pub attribute_readout: Vec<fit::ReadoutChoice>,
    pub mscr_validation: SplitMetrics,
    pub mscr_test: SplitMetrics,
    pub baseline_validation: SplitMetrics,
    pub baseline_test: SplitMetrics,
    pub attributes_test: AttributeMetrics,
    pub mscr_threshold: f32,
    pub baseline_threshold: f32,
    /// How the calibrated maps behave on fold 9 (fitted there) and fold 10.
    #[serde(default)]
    pub map_validation: MapReport,
    #[serde(default)]
    pub map_test: MapReport,
    /// How the map's normal budget was shared (fold 9); `None` in older reports.
    #[serde(default)]
    pub map_budget: Option<MapBudget>,
    pub command: String,
    /// The command that trained the baseline when it is not `command`'s training run (the
    /// baseline retrained with the MSCR weights reused); `None`: the same run trained both.
    #[serde(default)]
    pub baseline_command: Option<String>,
}

/// How a calibrated map behaves on a split's normal and abnormal studies (NaN, written
/// as `null`, where not computed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapMetrics {
    /// Share of normal studies with any sample at likelihood ≥ 0.9.
    #[serde(deserialize_with = "nan_if_null")]
    pub normal_any_ge_0_9: f64,
    /// Share of abnormal studies with any sample at likelihood ≥ 0.9.
    #[serde(deserialize_with = "nan_if_null")]
    pub abnormal_any_ge_0_9: f64,
    /// Mean share of samples at likelihood ≥ 0.5, normal studies.
    #[serde(deserialize_with = "nan_if_null")]
    pub normal_share_ge_0_5: f64,
    /// Mean share of samples at likelihood ≥ 0.5, abnormal studies.
    #[serde(deserialize_with = "nan_if_null")]
    pub abnormal_share_ge_0_5: f64,
    /// AUROC of the study's map maximum (abnormal vs normal).
    #[serde(deserialize_with = "nan_if_null")]
    pub max_auroc: f64,
}

/// JSON writes NaN as `null`; read it back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Map metrics of both networks on one split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapReport {
    /// Our map as shown: the restoration map and the median-beat map, whichever is higher
    /// (sample shares are the restoration map's).
    pub mscr: MapMetrics,
    /// Our restoration map alone.
    #[serde(default)]
    pub mscr_restoration: MapMetrics,
    /// The median-beat map alone (sample shares not computed).
    #[serde(default)]
    pub shape: MapMetrics,
    pub baseline: MapMetrics,
}

/// Map metrics from each study's map maximum only (sample shares NaN).
pub fn max_metrics(maxima: &[f32], labels: &[u8]) -> MapMetrics {
    let share = |want: u8| {
        let v: Vec<f32> = maxima
            .iter()
            .zip(labels)
            .filter(|(_, &l)| l == want)
            .map(|(m, _)| *m)
            .collect();
        v.iter().filter(|&&m| m >= 0.9).count() as f64 / v.len().max(1) as f64
    };
    MapMetrics {
        normal_any_ge_0_9: share(0),
        abnormal_any_ge_0_9: share(1),
        normal_share_ge_0_5: f64::NAN,
        abnormal_share_ge_0_5: f64::NAN,
        max_auroc: metrics::auroc(maxima, labels).unwrap_or(f64::NAN),
    }
}

/// Each study's maximum likelihood on its calibrated point-error map.
pub fn map_maxima(maps: &[&[f32]], peaks: &[Vec<usize>], cal: &MapCalibration) -> Vec<f32> {
    maps.iter()
        .zip(peaks)
        .map(|(m, p)| {
            cal.likelihood(m, p)
                .into_iter()
                .filter(|v| v.is_finite())
                .fold(0.0_f32, f32::max)
        })
        .collect()
}

/// Each study's maximum likelihood on the median-beat map (0 without a median beat).
pub fn shape_maxima(model: &ecgmodel::shape::ShapeModel, vectors: &[Option<&[f32]>]) -> Vec<f32> {
    vectors
        .iter()
        .map(|v| {
            v.map(|v| {
                ecgmodel::mapcal::piecewise_likelihood(
                    model.max_point_z(v),
                    &model.z_knots,
                    &model.p_knots,
                )
            })
            .filter(|p| p.is_finite())
            .unwrap_or(0.0)
        })
        .collect()
}

/// Map metrics of point-error maps (`[12 × 1000]` each) with their windows' R peaks.
pub fn map_metrics(
    maps: &[&[f32]],
    peaks: &[Vec<usize>],
    labels: &[u8],
    cal: &MapCalibration,
) -> MapMetrics {
    let (mut any, mut share, mut n) = ([0.0_f64; 2], [0.0_f64; 2], [0usize; 2]);
    let mut maxima = Vec::with_capacity(maps.len());
    for ((m, p), &l) in maps.iter().zip(peaks).zip(labels) {
        let like = cal.likelihood(m, p);
        let finite: Vec<f32> = like.into_iter().filter(|v| v.is_finite()).collect();
        let max = finite.iter().copied().fold(0.0_f32, f32::max);
        let g = usize::from(l == 1);
        n[g] += 1;
        any[g] += f64::from(u8::from(max >= 0.9));
        share[g] +=
            finite.iter().filter(|&&v| v >= 0.5).count() as f64 / finite.len().max(1) as f64;
        maxima.push(max);
    }
    let frac = |v: f64, k: usize| if k > 0 { v / k as f64 } else { f64::NAN };
    MapMetrics {
        normal_any_ge_0_9: frac(any[0], n[0]),
        abnormal_any_ge_0_9: frac(any[1], n[1]),
        normal_share_ge_0_5: frac(share[0], n[0]),
        abnormal_share_ge_0_5: frac(share[1], n[1]),
        max_auroc: metrics::auroc(&maxima, labels).unwrap_or(f64::NAN),
    }
}

/// When weights are reused, the training figures (epochs, curves, times, command) come
/// from the manifest beside the reused MSCR weights, and this run's command is added as
/// the refit; without such a manifest they stay as this run measured them.
fn with_reused_training(mut report: TrainReport, cfg: &TrainConfig) -> TrainReport {
    let Some(dir) = cfg.reuse_mscr.as_ref().and_then(|p| p.parent()) else {
        return report;
    };
    let Ok(old) = ModelManifest::read(dir) else {
        return report;
    };
    let Ok(old) = serde_json::from_value::<TrainReport>(old.report) else {
        return report;
    };
    report.mscr_epochs_run = old.mscr_epochs_run;
    report.mscr_best_epoch = old.mscr_best_epoch;
    report.mscr_train_s = old.mscr_train_s;
    report.mscr_curve = old.mscr_curve;
    report.mscr_curve_weighed = old.mscr_curve_weighed;
    report.mscr_selection = old.mscr_selection;
    if cfg.reuse_baseline.as_ref().and_then(|p| p.parent()) == Some(dir) {
        report.baseline_epochs_run = old.baseline_epochs_run;
        report.baseline_best_epoch = old.baseline_best_epoch;
        report.baseline_train_s = old.baseline_train_s;
        report.baseline_curve = old.baseline_curve;
        report.baseline_command = old.baseline_command;
    }
    const REFIT: &str = "; score, maps and thresholds refitted by ";
    report.command = match old.command.split_once(REFIT) {
        // Refitted before: keep the training command (with its time), replace the refit.
        Some((trained, _)) => format!("{trained}{REFIT}{}", report.command),
        None => format!(
            "{} (weights, {:.0} s in all){REFIT}{}",
            old.command, old.total_s, report.command
        ),
    };
    report
}

/// Shares of fold-9 normal studies the two local maps together (restoration or
/// median-beat map) may mark at ≥ 0.9, tried by [`fit_map_budget`] (the first was the
/// fixed share before it).
pub const LOCAL_BUDGETS: [f64; 5] = [0.065, 0.05, 0.035, 0.02, 0.01];

/// Quantiles of fold-9 normals' study maxima the restoration map's 0.9 is measured at by
/// [`fit_map_budget`]. Only the first ([`ecgmodel::mapcal::DEFAULT_STUDY_Q90`]) may be
/// chosen: higher ones mark more abnormal studies on fold 9 (the score's share takes the
/// budget they free), but an electrode artefact (1 mV at 15 Hz for 0.4 s in V2 of a normal
/// record, `map_is_higher_where_an_artefact_is_inserted`) then stays below 0.9 (0.86 at
/// 97 %, docs/MODEL_HISTORY.md): the restoration map is the part that marks what the
/// score cannot place, so it keeps the level at which such an event is marked. The others
/// are measured for the model card.
pub const RESTORATION_Q90: [f64; 3] = [0.95, 0.97, 0.99];

/// Shares of fold-9 abnormal studies marked that [`fit_map_budget`] counts as equal: half
/// a point, about six of fold 9's 1,232 abnormal studies.
pub const MAP_TIE: f64 = 0.005;

/// How the map's normal budget ([`MAP_GUIDED_BUDGET`]) is shared: the restoration map's
/// 0.9 quantile and the local maps' share chosen on fold 9, and every candidate tried.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapBudget {
    pub restoration_q90: f64,
    pub local_budget: f64,
    /// The held-out fold-9 normals' score quantile the score's share puts at 0.9 (1 − β of
    /// [`fit_score_guide`]; NaN without a score share).
    #[serde(default)]
    pub score_q90: f64,
    /// Every candidate tried, with the score's share fitted on top.
    pub candidates: Vec<BudgetCandidate>,
}

/// One way of sharing the map's normal budget, and what it marks on fold 9.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BudgetCandidate {
    /// The restoration map's 0.9 at this quantile of the fold-9 normals' study maxima.
    pub restoration_q90: f64,
    /// The share of fold-9 normals the local maps (restoration and median beat) may mark.
    pub local_budget: f64,
    /// Share of fold-9 normal studies the map as shown marks (any sample ≥ 0.9).
    pub normals_marked: f64,
    /// Share of fold-9 abnormal studies it marks.
    pub abnormals_marked: f64,
}

/// The median-beat map's knots: the 0.9 knot at the lowest quantile of the fold-9
/// normals' maxima (0.95–0.999) at which the map as shown marks at most `budget` of them
/// (0.99 halfway between it and 1).
fn fit_shape_knots(
    model: &mut ecgmodel::shape::ShapeModel,
    shapes: &[Option<&[f32]>],
    rest_max: &[f32],
    labels: &[u8],
    budget: f64,
) {
    let normals: Vec<(&[f32], f32)> = shapes
        .iter()
        .zip(rest_max)
        .zip(labels)
        .filter(|(_, &l)| l == 0)
        .filter_map(|((s, r), _)| s.map(|s| (s, *r)))
        .collect();
    let vectors: Vec<&[f32]> = normals.iter().map(|(s, _)| *s).collect();
    for step in 0..=49 {
        let q = 0.95 + f64::from(step) * 0.001;
        fit::shape_map_knots(model, &vectors, q, q + (1.0 - q) / 2.0);
        let shown = shape_maxima(
            model,
            &normals.iter().map(|(s, _)| Some(*s)).collect::<Vec<_>>(),
        )
        .iter()
        .zip(&normals)
        .filter(|(s, (_, r))| s.max(*r) >= 0.9)
        .count() as f64
            / normals.len().max(1) as f64;
        if shown <= budget {
            return;
        }
    }
}

/// One split's inputs to the map: point-error maps, R peaks, median-beat vectors, study
/// scores and labels, study by study.
struct MapInputs<'a> {
    maps: &'a [&'a [f32]],
    peaks: &'a [Vec<usize>],
    shapes: &'a [Option<&'a [f32]>],
    scores: &'a [f32],
    labels: &'a [u8],
}

/// Share the map's normal budget ([`MAP_GUIDED_BUDGET`] of fold-9 normals marked at
/// ≥ 0.9) between its parts so that it marks the most fold-9 abnormal studies: for every
/// restoration quantile ([`RESTORATION_Q90`], only the first eligible) and local share
/// ([`LOCAL_BUDGETS`]), the restoration map's 0.9 knot, the median-beat map's knots and the
/// score's share are fitted as before and the map as shown is measured on fold 9; the best
/// (see the tie-break below) is set on `map` and `shape`. A median-beat map that marks
/// little on abnormal studies leaves the budget to the study score, which separates them
/// best.
fn fit_map_budget(
    map: &mut MapCalibration,
    mut shape: Option<&mut ecgmodel::shape::ShapeModel>,
    val: &MapInputs,
) -> MapBudget {
    let normals: Vec<(&[f32], &[usize])> = val
        .maps
        .iter()
        .zip(val.peaks)
        .zip(val.labels)
        .filter(|(_, &l)| l == 0)
        .map(|((m, p), _)| (*m, p.as_slice()))
        .collect();
    let maxima = fit::study_maxima(map, &normals);
    let mut score_q90 = f64::NAN;
    // The restoration map at level q: its knots, and each study's maximum likelihood.
    let restore = |map: &mut MapCalibration, q: f64| -> Vec<f32> {
        fit::restoration_knots(map, &maxima, q);
        map_maxima(val.maps, val.peaks, map)
    };
    // The local maps' share b beside it, the score's share on top, and the map as shown.
    let mut share = |map: &mut MapCalibration, rest_max: &[f32], b: f64| -> MapMetrics {
        let local: Vec<f32> = match shape.as_deref_mut() {
            Some(m) => {
                fit_shape_knots(m, val.shapes, rest_max, val.labels, b);
                shape_maxima(m, val.shapes)
                    .iter()
                    .zip(rest_max)
                    .map(|(a, r)| a.max(*r))
                    .collect()
            }
            None => rest_max.to_vec(),
        };
        let guide = fit_score_guide(val.scores, &local, val.labels);
        score_q90 = guide.as_ref().map_or(f64::NAN, |g| g.1);
        map.guide = guide.map(|g| g.0);
        let shown: Vec<f32> = local
            .iter()
            .zip(val.scores)
            .map(|(l, s)| {
                let g = map.guide.as_ref().map_or(0.0, |g| g.level(*s));
                l.max(if g.is_finite() { g } else { 0.0 })
            })
            .collect();
        max_metrics(&shown, val.labels)
    };
    let mut out = MapBudget::default();
    for q in RESTORATION_Q90 {
        let rest_max = restore(map, q);
        for b in LOCAL_BUDGETS {
            let m = share(map, &rest_max, b);
            out.candidates.push(BudgetCandidate {
                restoration_q90: q,
                local_budget: b,
                normals_marked: m.normal_any_ge_0_9,
                abnormals_marked: m.abnormal_any_ge_0_9,
            });
        }
    }
    // At the restoration map's own level (RESTORATION_Q90) and within the budget, the
    // candidates that mark as many abnormal studies as the best (within MAP_TIE); of those,
    // the largest local share. A local map marks what the score cannot place (an odd beat,
    // a Q wave in one lead), so it keeps all the budget that costs nothing.
    let within = |c: &&BudgetCandidate| {
        c.normals_marked <= MAP_GUIDED_BUDGET
            && c.restoration_q90 == ecgmodel::mapcal::DEFAULT_STUDY_Q90
    };
    let best = out
        .candidates
        .iter()
        .filter(within)
        .map(|c| c.abnormals_marked)
        .fold(f64::NEG_INFINITY, f64::max);
    let chosen = out
        .candidates
        .iter()
        .filter(within)
        .filter(|c| c.abnormals_marked >= best - MAP_TIE)
        .max_by(|a, b| a.local_budget.total_cmp(&b.local_budget))
        .map_or((RESTORATION_Q90[0], LOCAL_BUDGETS[0]), |c| {
            (c.restoration_q90, c.local_budget)
        });
    (out.restoration_q90, out.local_budget) = chosen;
    let rest_max = restore(map, out.restoration_q90);
    share(map, &rest_max, out.local_budget);
    out.score_q90 = score_q90;
    out
}

/// Share of fold-9 normal studies the map as shown, with the study score's share
/// ([`ecgmodel::mapcal::ScoreGuide`]) added, may mark at ≥ 0.9.
pub const MAP_GUIDED_BUDGET: f64 = 0.075;

/// The study score's share of the map, fitted on fold 9 (`scores`, `local_max`: the
/// local maps' maxima, `labels`): likelihood 0.9 at the fold-9 normals' score quantile
/// 1 − β for the largest β (0.5–5 %) at which the map as shown marks at most
/// [`MAP_GUIDED_BUDGET`] of them; 0 at quantile 1 − 4β, 0.99 at 1 − β/5. `None` when
/// even β = 0.5 % exceeds the budget; else the guide and 1 − β.
fn fit_score_guide(
    scores: &[f32],
    local_max: &[f32],
    labels: &[u8],
) -> Option<(ecgmodel::mapcal::ScoreGuide, f64)> {
    let normals: Vec<(f32, f32)> = scores
        .iter()
        .zip(local_max)
        .zip(labels)
        .filter(|((s, _), &l)| l == 0 && s.is_finite())
        .map(|((s, m), _)| (*s, *m))
        .collect();
    let mut sorted: Vec<f32> = normals.iter().map(|(s, _)| *s).collect();
    if sorted.len() < 50 {
        return None;
    }
    sorted.sort_by(f32::total_cmp);
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let mut best = None;
    for step in 0..=18 {
        let beta = 0.005 + f64::from(step) * 0.0025;
        let at = q(1.0 - beta);
        let shown = normals
            .iter()
            .filter(|(s, m)| *s >= at || *m >= 0.9)
            .count() as f64
            / normals.len() as f64;
        if shown > MAP_GUIDED_BUDGET {
            break;
        }
        let knots = vec![q(1.0 - 4.0 * beta), at, q(1.0 - beta / 5.0)];
        if knots.windows(2).all(|w| w[0] < w[1]) {
            best = Some((
                ecgmodel::mapcal::ScoreGuide {
                    score_knots: knots,
                    p_knots: vec![0.0, 0.9, 0.99],
                    z_margin: 1.0,
                },
                1.0 - beta,
            ));
        }
    }
    best
}

/// R peaks of each record's window (as the analyzer finds them).
pub fn window_peaks(ds: &Dataset, idx: &[usize]) -> Vec<Vec<usize>> {
    idx.iter()
        .map(|&i| {
            let w = ds.signals.get(i as i64).contiguous().view([-1]);
            let w = Vec::<f32>::try_from(&w).unwrap_or_default();
            ecgmodel::contract::detect_r_peaks(&w, N_SAMPLES)
        })
        .collect()
}

fn augment(x: &Tensor) -> (Tensor, Tensor) {
    let device = x.device();
    let b = x.size().first().copied().unwrap_or(1);
    let opts = (Kind::Float, device);
    let u = |shape: &[i64]| Tensor::rand(shape, opts);
    let scale = 1.0 + (u(&[b, 1, 1]) * 2.0 - 1.0) * 0.2;
    let lead_scale = 1.0 + (u(&[b, 12, 1]) * 2.0 - 1.0) * 0.05;
    let t = Tensor::arange(N_SAMPLES as i64, opts).view([1, 1, N_SAMPLES as i64])
        / ecgmodel::contract::MODEL_RATE_HZ;
    let freq = 0.1 + u(&[b, 1, 1]) * 0.4;
    let phase = u(&[b, 1, 1]) * (2.0 * std::f64::consts::PI);
    let amp = u(&[b, 1, 1]) * 0.15 * u(&[b, 12, 1]);
    let arg: Tensor = t * freq * (2.0 * std::f64::consts::PI) + phase;
    let wander = amp * arg.sin();
    let clean = x * scale * lead_scale + wander;
    let sigma = u(&[b, 1, 1]) * 0.03;
    let noisy = &clean + Tensor::randn([b, 12, N_SAMPLES as i64], opts) * sigma;
    (clean, noisy)
}

fn weighted_mean(v: &Tensor, mask: &Tensor) -> Tensor {
    let w = 1.0 + mask * 2.0;
    (v * &w).mean(Kind::Float) / w.expand_as(v).mean(Kind::Float)
}

/// One MSCR training loss for a batch.
pub fn mscr_loss(
    model: &Mscr,
    x: &Tensor,
    targets_z: &Tensor,
    beats: &[&[usize]],
    rng: &mut SplitMix64,
    train: bool,
) -> Tensor {
    let (clean, noisy) = if train {
        augment(x)
    } else {
        (x.shallow_clone(), x.shallow_clone())
    };
    let specs: Vec<_> = beats
        .iter()
        .map(|b| views::random_spec(rng, b, N_MASKED_PATCHES))
        .collect();
    let v = views::build(&clean, &noisy, &specs);
    let o = model.forward_t(&v.global_in, &v.trend_in, &v.beat_in, train);
    let lg = weighted_mean(
        &((-&o.global_logvar).exp() * (&o.global_mean - &v.global_target).square()
            + &o.global_logvar),
        &v.global_mask,
    );
    let lb = weighted_mean(
        &((-&o.beat_logvar).exp() * (&o.beat_mean - &v.beat_target).square() + &o.beat_logvar),
        &v.beat_mask,
    );
    let lt = weighted_mean(&(&o.trend - &v.trend_target).square(), &v.global_mask);
    let known = targets_z.isfinite().to_kind(Kind::Float);
    let t0 = targets_z.nan_to_num(0.0, 0.0, 0.0);
    let sex_col = Tensor::from_slice(&[0.0_f32, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
        .to_device(x.device())
        .view([1, 7]);
    let reg_w = &known * (1.0 - &sex_col);
    let sex_w = &known * &sex_col;
    let reg = ((&o.attributes - &t0).square() * &reg_w).sum(Kind::Float)
        / reg_w.sum(Kind::Float).clamp_min(1.0);
    let bce = o.attributes.binary_cross_entropy_with_logits::<Tensor>(
        &t0,
        Some(sex_w.shallow_clone()),
        None,
        tch::Reduction::Sum,
    ) / sex_w.sum(Kind::Float).clamp_min(1.0);
    lg + lb + lt + (reg + bce) * 0.5
}

fn batches(rng: &mut SplitMix64, idx: &[usize], batch: usize) -> Vec<Vec<usize>> {
    let mut order = idx.to_vec();
    rng.shuffle(&mut order);
    order
        .chunks(batch)
        .filter(|c| c.len() > 1)
        .map(<[usize]>::to_vec)
        .collect()
}

/// The normal models fitted on training normals' results (`train_raw`), the feature
/// blocks scaled on the normals among `val_raw` (labels 0).
fn fit_normal_models(
    train_raw: &[MscrRaw],
    val_raw: &[MscrRaw],
    labels: &[u8],
) -> (Option<EmbeddingModel>, Option<FeatureModel>) {
    let emb = fit::embedding_model(
        &train_raw
            .iter()
            .map(|r| r.embedding.clone())
            .collect::<Vec<_>>(),
    );
    let mut feat = fit::feature_model(
        &train_raw
            .iter()
            .map(|r| r.features.clone())
            .collect::<Vec<_>>(),
        &net::feature_blocks(),
    );
    if let Some(f) = feat.as_mut() {
        let normals: Vec<Vec<f32>> = val_raw
            .iter()
            .zip(labels)
            .filter(|(_, &l)| l == 0)
            .map(|(r, _)| r.features.clone())
            .collect();
        fit::feature_scales(f, &normals);
    }
    (emb, feat)
}

/// The wave measures' density (`waves`), fitted like the features': on the training
/// normals (`train_idx`), each block's centre and scale on the fold-9 normals; with every
/// fold-9 study's measures (`val_idx`, empty without a median beat), for the weighing.
fn fit_wave_model(
    ds: &Dataset,
    train_idx: &[usize],
    val_idx: &[usize],
    val_labels: &[u8],
) -> (Option<FeatureModel>, Vec<Vec<f32>>) {
    let measures = |i: usize| ds.shape(i).and_then(ecgmodel::waves::wave_measures);
    let val: Vec<Vec<f32>> = val_idx
        .iter()
        .map(|&i| measures(i).unwrap_or_default())
        .collect();
    let mut model = fit::wave_model(
        &train_idx
            .iter()
            .filter_map(|&i| measures(i))
            .collect::<Vec<_>>(),
    );
    if let Some(m) = model.as_mut() {
        let normals: Vec<Vec<f32>> = val
            .iter()
            .zip(val_labels)
            .filter(|(v, &l)| l == 0 && !v.is_empty())
            .map(|(v, _)| v.clone())
            .collect();
        fit::feature_scales(m, &normals);
    }
    (model, val)
}

/// Every fold-9 study's score components (`raw`, the studies `idx`) against `normals`,
/// with the recorded attributes.
fn fold9_components(
    ds: &Dataset,
    idx: &[usize],
    raw: &[MscrRaw],
    normals: NormalModels<'_>,
) -> Vec<Vec<f32>> {
    raw.iter()
        .zip(idx)
        .map(|(r, &i)| {
            score::components(
                r,
                &Attributes::from_array(actual_attrs(ds, i)),
                ds.shape(i),
                normals,
            )
        })
        .collect()
}

/// The rows of `comps` whose label is normal.
fn normals_of(comps: &[Vec<f32>], labels: &[u8]) -> Vec<Vec<f32>> {
    comps
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l == 0)
        .map(|(c, _)| c.clone())
        .collect()
}

/// The score's weighing on fold 9 (`fit::weigh_components`) over the feature blocks of
/// `raw`, the wave blocks (`val_waves`) and the other components; `None` without a
/// feature model.
fn weigh(
    cal: &mut score::Calibration,
    raw: &[MscrRaw],
    (feat, waves): (Option<&mut FeatureModel>, Option<&mut FeatureModel>),
    val_waves: &[Vec<f32>],
    comps: &[Vec<f32>],
    labels: &[u8],
) -> Option<fit::Weighing> {
    let f = feat?;
    let mut sets = vec![fit::BlockSet {
        component: "features",
        model: f,
        inputs: raw.iter().map(|r| r.features.clone()).collect(),
    }];
    if let Some(w) = waves {
        sets.push(fit::BlockSet {
            component: "waves",
            model: w,
            inputs: val_waves.to_vec(),
        });
    }
    Some(fit::weigh_components(cal, &mut sets, comps, labels))
}

/// What the weighed criterion needs besides the network: the models that do not
/// depend on it (median beat, wave measures) and the fold-9 wave measures.
struct FixedModels {
    shape: Option<ecgmodel::shape::ShapeModel>,
    waves: Option<FeatureModel>,
    val_waves: Vec<Vec<f32>>,
}

impl FixedModels {
    fn fit(ds: &Dataset, train_idx: &[usize], val_idx: &[usize], labels: &[u8]) -> FixedModels {
        let shape = fit::shape_model(
            &train_idx
                .iter()
                .filter_map(|&i| ds.shape(i).map(<[f32]>::to_vec))
                .collect::<Vec<_>>(),
            fit::SHAPE_DIRECTIONS,
        );
        let (waves, val_waves) = fit_wave_model(ds, train_idx, val_idx, labels);
        FixedModels {
            shape,
            waves,
            val_waves,
        }
    }
}

/// The weighed validation criterion: the fold-9 AUROC, cross-validated within fold 9,
/// of the score as shipped (every component weighed by `fit::weigh_components`), with
/// the feature density fitted on `train_raw` (a subset of the training normals) and
/// the attributes as the head gives them (no readout).
fn weighed_validation_auroc(
    ds: &Dataset,
    val_idx: &[usize],
    labels: &[u8],
    (raw, train_raw): (&[MscrRaw], &[MscrRaw]),
    fixed: &FixedModels,
) -> f64 {
    let (emb, mut feat) = fit_normal_models(train_raw, raw, labels);
    let mut waves = fixed.waves.clone();
    let comps = fold9_components(
        ds,
        val_idx,
        raw,
        NormalModels {
            embedding: emb.as_ref(),
            features: feat.as_ref(),
            shape: fixed.shape.as_ref(),
            waves: waves.as_ref(),
        },
    );
    let mut cal = fit::calibration(&normals_of(&comps, labels));
    weigh(
        &mut cal,
        raw,
        (feat.as_mut(), waves.as_mut()),
        &fixed.val_waves,
        &comps,
        labels,
    )
    .map_or(0.5, |w| w.cv_auroc)
}

/// The validation criterion: fold-9 AUROC of the sum of the robust z-scores (fold-9
/// normals) of the feature-density component and the log global restoration error, so
/// that both the encoders' features and the restoration are kept good (training
/// normals `train_raw`, a subset, for the density).
fn validation_auroc(raw: &[MscrRaw], train_raw: &[MscrRaw], labels: &[u8]) -> f64 {
    let (_, feat) = fit_normal_models(train_raw, raw, labels);
    let normals = NormalModels {
        embedding: None,
        features: feat.as_ref(),
        shape: None,
        waves: None,
    };
    let comps: Vec<Vec<f32>> = raw
        .iter()
        .map(|r| score::components(r, &Attributes::default(), None, normals))
        .collect();
    let normal_comps: Vec<Vec<f32>> = comps
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l == 0)
        .map(|(c, _)| c.clone())
        .collect();
    let mut cal = fit::calibration(&normal_comps);
    for (w, name) in cal.weights.iter_mut().zip(COMPONENTS) {
        *w = if name == "global" || name == "features" {
            1.0
        } else {
            0.0
        };
    }
    let s: Vec<f32> = comps.iter().map(|c| cal.score(c)).collect();
    metrics::auroc(&s, labels).unwrap_or(0.5)
}

/// Attributes offered a linear readout from the encoder features (all but sex).
const READOUT_ATTRS: [usize; 6] = [0, 2, 3, 4, 5, 6];

/// Training normals whose embeddings stand for all of them during validation.
const VALIDATION_EMBEDDING_RECORDS: usize = 1500;

/// Raw MSCR results of the records `idx` (batches of 64, no autograd). `fast`: only 3
/// passes per record (3 masks × first 3 beats), for per-epoch validation.
pub fn run_mscr(
    model: &Mscr,
    ds: &Dataset,
    idx: &[usize],
    norm: &AttrNorm,
    device: Device,
    maps: bool,
    fast: bool,
) -> Vec<MscrRaw> {
    tch::no_grad(|| {
        let mut out = Vec::with_capacity(idx.len());
        for chunk in idx.chunks(64) {
            let x = ds.select(chunk).to_device(device);
            let beats: Vec<Vec<usize>> = ds
                .beats(chunk)
                .into_iter()
                .map(|b| {
                    if fast {
                        b.into_iter().step_by(3).take(3).collect()
                    } else {
                        b
                    }
                })
                .collect();
            out.extend(score::mscr_raw(model, &x, &beats, norm, maps, None));
        }
        out
    })
}

fn run_baseline(
    model: &BeatAe,
    ds: &Dataset,
    idx: &[usize],
    device: Device,
    maps: bool,
) -> Vec<score::BaselineRaw> {
    tch::no_grad(|| {
        let mut out = Vec::with_capacity(idx.len());
        for chunk in idx.chunks(64) {
            let x = ds.select(chunk).to_device(device);
            let beats = ds.beats(chunk);
            out.extend(score::baseline_raw(model, &x, &beats, maps, None));
        }
        out
    })
}

fn labels_of(ds: &Dataset, idx: &[usize]) -> Vec<u8> {
    idx.iter()
        .map(|&i| ds.records.get(i).and_then(|r| r.row.label()).unwrap_or(0))
        .collect()
}

/// AUROC, and metrics at `threshold`, of `scores` on the records `idx`.
pub fn split_metrics(ds: &Dataset, idx: &[usize], scores: &[f32], threshold: f32) -> SplitMetrics {
    let rows: Vec<&PtbxlRow> = idx
        .iter()
        .filter_map(|&i| ds.records.get(i).map(|r| &r.row))
        .collect();
    row_metrics(&rows, scores, threshold)
}

/// AUROC, metrics at `threshold` and per-superclass AUROC of `scores` (one per row).
pub fn row_metrics(rows: &[&PtbxlRow], scores: &[f32], threshold: f32) -> SplitMetrics {
    let labels: Vec<u8> = rows.iter().map(|r| r.label().unwrap_or(0)).collect();
    let m = metrics::at_threshold(scores, &labels, threshold);
    let mut per_class = std::collections::BTreeMap::new();
    for class in ["MI", "STTC", "CD", "HYP"] {
        let (mut s, mut l) = (Vec::new(), Vec::new());
        for (k, r) in rows.iter().enumerate() {
            let lab = r.label();
            if lab == Some(0) || r.superclasses.iter().any(|c| c == class) {
                s.push(scores.get(k).copied().unwrap_or(f32::NAN));
                l.push(u8::from(lab != Some(0)));
            }
        }
        if let Some(a) = metrics::auroc(&s, &l) {
            per_class.insert(class.to_string(), a);
        }
    }
    SplitMetrics {
        n: rows.len(),
        n_abnormal: labels.iter().map(|&l| usize::from(l == 1)).sum(),
        auroc: metrics::auroc(scores, &labels).unwrap_or(f64::NAN),
        sensitivity: m.sensitivity,
        specificity: m.specificity,
        precision: m.precision,
        f1: m.f1,
        per_class_auroc: per_class,
    }
}

pub(crate) fn quantile(v: &mut [f32], p: f32) -> f32 {
    v.sort_by(f32::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    v[((v.len() - 1) as f32 * p).round() as usize]
}

/// A validation curve: (epoch, fold-9 AUROC).
type Curve = Vec<(usize, f64)>;

/// A trained network: its var store, the network, epochs run, best epoch, validation curve.
type Trained<M> = (nn::VarStore, M, usize, usize, Curve);

/// Train MSCR; returns the best var store (by `cfg.select`'s fold-9 AUROC), epochs run,
/// best epoch and the two curves (restoration + features, weighed).
fn train_mscr(
    cfg: &TrainConfig,
    ds: &Dataset,
    norm: &AttrNorm,
    fixed: &FixedModels,
) -> Result<(Trained<Mscr>, Curve), ModelError> {
    let device = cfg.device;
    if let Some(path) = &cfg.reuse_mscr {
        let mut vs = nn::VarStore::new(device);
        let model = Mscr::new(&vs.root());
        vs.load(path).map_err(|e| ModelError::torch(path, e))?;
        return Ok(((vs, model, 0, 0, Vec::new()), Vec::new()));
    }
    let train_idx = ds.indices(Split::Train);
    let val_idx = ds.indices(Split::Validation);
    let val_labels = labels_of(ds, &val_idx);
    let vs = nn::VarStore::new(device);
    let model = Mscr::new(&vs.root());
    let mut best_vs = nn::VarStore::new(device);
    let best_model = Mscr::new(&best_vs.root());
    let mut opt = nn::AdamW::default()
        .wd(1e-3)
        .build(&vs, cfg.learning_rate)
        .map_err(|e| ModelError::torch(&cfg.out_dir, e))?;
    let targets: Vec<[f32; 7]> = ds
        .records
        .iter()
        .map(|r| norm.normalize(&r.attrs))
        .collect();
    let mut rng = SplitMix64(cfg.seed ^ 0x4D53_4352);
    let started = Instant::now();
    let bar = progress_bar(cfg, cfg.mscr_epochs, "MSCR");
    let (mut best, mut best_epoch, mut since, mut curve, mut epochs_run) =
        (f64::MIN, 0, 0, Vec::new(), 0);
    let mut curve_weighed = Vec::new();
    for epoch in 1..=cfg.mscr_epochs {
        epochs_run = epoch;
        let lr = cfg.learning_rate
            * 0.5
            * (1.0 + (std::f64::consts::PI * (epoch - 1) as f64 / cfg.mscr_epochs as f64).cos());
        opt.set_lr(lr);
        let mut loss_sum = 0.0;
        let all = batches(&mut rng, &train_idx, cfg.batch_size);
        for b in &all {
            let x = ds.select(b).to_device(device);
            let t: Vec<f32> = b
                .iter()
                .filter_map(|&i| targets.get(i))
                .flat_map(|t| *t)
                .collect();
            let t = Tensor::from_slice(&t).view([-1, 7]).to_device(device);
            let beats: Vec<&[usize]> = b
                .iter()
                .map(|&i| ds.records.get(i).map_or(&[][..], |r| r.beats.as_slice()))
                .collect();
            let loss = mscr_loss(&model, &x, &t, &beats, &mut rng, true);
            opt.backward_step(&loss);
            loss_sum += loss.double_value(&[]);
        }
        bar.inc(1);
        let msg = format!("loss {:.4}", loss_sum / all.len().max(1) as f64);
        if epoch % cfg.eval_every == 0 || epoch == cfg.mscr_epochs {
            let raw = run_mscr(&model, ds, &val_idx, norm, device, false, true);
            let emb_idx: Vec<usize> = train_idx
                .iter()
                .step_by((train_idx.len() / VALIDATION_EMBEDDING_RECORDS).max(1))
                .copied()
                .collect();
            let train_raw = run_mscr(&model, ds, &emb_idx, norm, device, false, true);
            let plain = validation_auroc(&raw, &train_raw, &val_labels);
            let weighed =
                weighed_validation_auroc(ds, &val_idx, &val_labels, (&raw, &train_raw), fixed);
            let auc = match cfg.select {
                Selection::Restoration => plain,
                Selection::Weighed => weighed,
            };
            curve.push((epoch, plain));
            curve_weighed.push((epoch, weighed));
            say(
                cfg,
                &bar,
                &format!(
                    "MSCR epoch {epoch} ({:.0} s): {msg}, fold-9 AUROC {plain:.4} \
                     (restoration + features), {weighed:.4} (weighed, cross-validated)",
                    started.elapsed().as_secs_f64()
                ),
            );
            let ckpt = cfg
                .cache_dir
                .join(format!("mscr_epoch_{epoch:02}.safetensors"));
            if let Err(e) = vs.save(&ckpt) {
                log::warn!("checkpoint {}: {e}", ckpt.display());
            }
            bar.set_message(format!(
                "{msg}, val AUROC {auc:.3} (best {:.3})",
                best.max(auc)
            ));
            if auc > best {
                best = auc;
                best_epoch = epoch;
                since = 0;
                best_vs
                    .copy(&vs)
                    .map_err(|e| ModelError::torch(&cfg.out_dir, e))?;
                let ckpt = cfg.cache_dir.join("mscr_best.safetensors");
                if let Err(e) = vs.save(&ckpt) {
                    log::warn!("checkpoint {}: {e}", ckpt.display());
                }
            } else {
                since += 1;
            }
            if since >= cfg.patience || started.elapsed().as_secs_f64() > cfg.time_budget_s {
                break;
            }
        } else {
            bar.set_message(msg);
        }
    }
    bar.finish_and_clear();
    drop(model);
    Ok((
        (best_vs, best_model, epochs_run, best_epoch, curve),
        curve_weighed,
    ))
}

fn train_baseline(cfg: &TrainConfig, ds: &Dataset) -> Result<Trained<BeatAe>, ModelError> {
    let device = cfg.device;
    if let Some(path) = &cfg.reuse_baseline {
        let mut vs = nn::VarStore::new(device);
        let model = BeatAe::new(&vs.root());
        vs.load(path).map_err(|e| ModelError::torch(path, e))?;
        return Ok((vs, model, 0, 0, Vec::new()));
    }
    let train_idx = ds.indices(Split::Train);
    let val_idx = ds.indices(Split::Validation);
    let val_labels = labels_of(ds, &val_idx);
    let vs = nn::VarStore::new(device);
    let model = BeatAe::new(&vs.root());
    let mut best_vs = nn::VarStore::new(device);
    let best_model = BeatAe::new(&best_vs.root());
    let mut opt = nn::AdamW::default()
        .wd(1e-3)
        .build(&vs, cfg.learning_rate)
        .map_err(|e| ModelError::torch(&cfg.out_dir, e))?;
    let mut rng = SplitMix64(cfg.seed ^ 0x0043_4145);
    let started = Instant::now();
    let bar = progress_bar(cfg, cfg.baseline_epochs, "baseline");
    let (mut best, mut best_epoch, mut since, mut curve, mut epochs_run) =
        (f64::MIN, 0, 0, Vec::new(), 0);
    for epoch in 1..=cfg.baseline_epochs {
        epochs_run = epoch;
        let lr = cfg.learning_rate
            * 0.5
            * (1.0
                + (std::f64::consts::PI * (epoch - 1) as f64 / cfg.baseline_epochs as f64).cos());
        opt.set_lr(lr);
        for b in batches(&mut rng, &train_idx, cfg.batch_size) {
            let x = ds.select(&b).to_device(device);
            let (clean, _) = augment(&x);
            // BASELINE_BEATS random beats of each record per step.
            let (mut owner, mut peaks) = (Vec::new(), Vec::new());
            for (k, &i) in b.iter().enumerate() {
                let beats = views::beats_or_centre(
                    ds.records.get(i).map_or(&[][..], |r| r.beats.as_slice()),
                );
                for _ in 0..BASELINE_BEATS {
                    owner.push(k as i64);
                    peaks.push(beats[rng.below(beats.len())]);
                }
            }
            let owner = Tensor::from_slice(&owner).to_device(device);
            let beat = views::beat_windows(&clean.index_select(0, &owner), &peaks);
            let r = model.forward_t(&beat, true);
            let loss = (&r - &beat).square().mean(Kind::Float);
            opt.backward_step(&loss);
        }
        bar.inc(1);
        if epoch % cfg.eval_every == 0 || epoch == cfg.baseline_epochs {
            let raw = run_baseline(&model, ds, &val_idx, device, false);
            let s: Vec<f32> = raw.iter().map(|r| r.mse).collect();
            let auc = metrics::auroc(&s, &val_labels).unwrap_or(0.5);
            curve.push((epoch, auc));
            say(
                cfg,
                &bar,
                &format!(
                    "baseline epoch {epoch} ({:.0} s): fold-9 AUROC {auc:.4}",
                    started.elapsed().as_secs_f64()
                ),
            );
            bar.set_message(format!("val AUROC {auc:.3}"));
            if auc > best {
                best = auc;
                best_epoch = epoch;
                since = 0;
                best_vs
                    .copy(&vs)
                    .map_err(|e| ModelError::torch(&cfg.out_dir, e))?;
            } else {
                since += 1;
            }
            if since >= cfg.patience || started.elapsed().as_secs_f64() > 0.4 * cfg.time_budget_s {
                break;
            }
        }
    }
    bar.finish_and_clear();
    Ok((best_vs, best_model, epochs_run, best_epoch, curve))
}

/// One line of training progress: above the bar, or on stderr when there is no bar.
fn say(cfg: &TrainConfig, bar: &indicatif::ProgressBar, line: &str) {
    // A bar drawn nowhere (stderr is not a terminal) would drop the line.
    if cfg.progress && !bar.is_hidden() {
        bar.println(line);
    } else {
        eprintln!("{line}");
    }
}

fn progress_bar(cfg: &TrainConfig, n: usize, what: &str) -> indicatif::ProgressBar {
    if !cfg.progress {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(n as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{prefix} [{bar:30}] epoch {pos}/{len} {elapsed} {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_string());
    bar
}

fn actual_attrs(ds: &Dataset, i: usize) -> [f32; 7] {
    ds.records.get(i).map_or([f32::NAN; 7], |r| r.attrs)
}

/// Train both networks, calibrate on fold 9, score fold 10, write weights, manifest and card.
pub fn run(cfg: &TrainConfig) -> Result<TrainReport, ModelError> {
    let started = Instant::now();
    tch::set_num_threads(cfg.threads);
    tch::manual_seed(cfg.seed as i64);
    let ds = data::load_ptbxl(&cfg.ptbxl_dir, &cfg.cache_dir, cfg.progress)?;
    let train_idx = ds.indices(Split::Train);
    let val_idx = ds.indices(Split::Validation);
    let test_idx = ds.indices(Split::Test);
    if train_idx.len() < 10 || val_idx.is_empty() {
        return Err(ModelError::data(
            &cfg.ptbxl_dir,
            "too few training or validation records",
        ));
    }
    let train_targets: Vec<[f32; 7]> = train_idx.iter().map(|&i| actual_attrs(&ds, i)).collect();
    let norm = fit::attr_norm(&train_targets);

    let fixed = FixedModels::fit(&ds, &train_idx, &val_idx, &labels_of(&ds, &val_idx));
    let t0 = Instant::now();
    let ((mscr_vs, mscr, m_epochs, m_best, m_curve), m_curve_weighed) =
        train_mscr(cfg, &ds, &norm, &fixed)?;
    let mscr_train_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    tch::manual_seed(cfg.seed as i64 + 1);
    let (base_vs, base, b_epochs, b_best, b_curve) = train_baseline(cfg, &ds)?;
    let baseline_train_s = t1.elapsed().as_secs_f64();

    // Calibration on fold 9 (and the embedding model on the training normals).
    let device = cfg.device;
    let train_raw = run_mscr(&mscr, &ds, &train_idx, &norm, device, false, false);
    let mut val_raw = run_mscr(&mscr, &ds, &val_idx, &norm, device, true, false);
    let val_labels = labels_of(&ds, &val_idx);
    // Age, heart rate and intervals read linearly from the encoder features where that
    // beats the head on fold-9 normals (`fit::attribute_readout`); then predicted age
    // corrected by a straight line fitted on fold-9 normals (`fit::recalibrate_age`):
    // from here on (fold-9 components, fold 10, the manifest).
    let mut norm = norm;
    let attribute_readout = {
        let normal_pos: Vec<usize> = (0..val_raw.len())
            .filter(|&k| val_labels.get(k) == Some(&0))
            .collect();
        let train_f: Vec<Vec<f32>> = train_raw.iter().map(|r| r.features.clone()).collect();
        let val_f: Vec<Vec<f32>> = normal_pos
            .iter()
            .map(|&k| val_raw[k].features.clone())
            .collect();
        let val_y: Vec<[f32; 7]> = normal_pos
            .iter()
            .map(|&k| actual_attrs(&ds, val_idx[k]))
            .collect();
        let val_head: Vec<[f32; 7]> = normal_pos.iter().map(|&k| val_raw[k].attrs).collect();
        fit::attribute_readout(
            &mut norm,
            &READOUT_ATTRS,
            (&train_f, &train_targets),
            (&val_f, &val_y),
            &val_head,
        )
    };
    for r in &mut val_raw {
        norm.read_out(&mut r.attrs, &r.features);
    }
    let age_pairs: Vec<(f32, f32)> = val_raw
        .iter()
        .zip(&val_idx)
        .zip(&val_labels)
        .filter(|(_, &l)| l == 0)
        .map(|((r, &i), _)| (r.attrs[0], actual_attrs(&ds, i)[0]))
        .collect();
    let age_line = fit::recalibrate_age(&mut norm, &age_pairs);
    if let Some((a, b)) = age_line {
        for r in &mut val_raw {
            r.attrs[0] = a + b * r.attrs[0];
        }
    }
    let (emb, mut feat) = fit_normal_models(&train_raw, &val_raw, &val_labels);
    drop(train_raw);
    let FixedModels {
        shape,
        mut waves,
        val_waves,
    } = fixed;
    let val_components =
        |normals: NormalModels<'_>| fold9_components(&ds, &val_idx, &val_raw, normals);
    // Components with the feature blocks weighed alike: their fold-9 AUROC (model card)
    // and the robust centres and scales the weighing starts from.
    let plain_comps = val_components(NormalModels {
        embedding: emb.as_ref(),
        features: feat.as_ref(),
        shape: shape.as_ref(),
        waves: waves.as_ref(),
    });
    let mut cal = fit::calibration(&normals_of(&plain_comps, &val_labels));
    let component_val_auroc: Vec<(String, f64)> = (0..COMPONENTS.len())
        .map(|c| {
            let s: Vec<f32> = plain_comps
                .iter()
                .map(|v| v.get(c).copied().unwrap_or(f32::NAN))
                .collect();
            (
                COMPONENTS[c].to_string(),
                metrics::auroc(&s, &val_labels).unwrap_or(f64::NAN),
            )
        })
        .collect();
    // Weights: non-negative logistic regression on fold 9 over the feature blocks and
    // the other components (`fit::weigh_components`).
    let (mut weighing_cv_auroc, mut held_out_shift) = (None, None);
    match weigh(
        &mut cal,
        &val_raw,
        (feat.as_mut(), waves.as_mut()),
        &val_waves,
        &plain_comps,
        &val_labels,
    ) {
        Some(weighing) => {
            weighing_cv_auroc = Some(weighing.cv_auroc);
            held_out_shift = Some(weighing.held_out_shift);
        }
        None => fit::select_components(&mut cal, &plain_comps, &val_labels),
    }
    let normals = NormalModels {
        embedding: emb.as_ref(),
        features: feat.as_ref(),
        shape: shape.as_ref(),
        waves: waves.as_ref(),
    };
    let val_comps = val_components(normals);
    let val_scores: Vec<f32> = val_comps.iter().map(|c| cal.score(c)).collect();
    // Levels are set on held-out fold-9 scores (`fit::Weighing::held_out_shift`) where the
    // weights were fitted on fold 9.
    let val_held_out: Vec<f32> = match &held_out_shift {
        Some(d) => val_scores.iter().zip(d).map(|(s, d)| s + d).collect(),
        None => val_scores.clone(),
    };
    let threshold = fit::threshold_for_recall(&val_held_out, &val_labels, 0.9).unwrap_or(0.0);

    // Map calibration per lead and beat phase on fold-9 normals' point errors.
    let val_peaks = window_peaks(&ds, &val_idx);
    let normal_maps = |maps: Vec<&[f32]>| -> Result<MapCalibration, ModelError> {
        let studies: Vec<(&[f32], &[usize])> = maps
            .into_iter()
            .zip(&val_peaks)
            .zip(&val_labels)
            .filter(|(_, &l)| l == 0)
            .map(|((m, p), _)| (m, p.as_slice()))
            .collect();
        fit::map_calibration(&studies)
            .ok_or_else(|| ModelError::data(&cfg.ptbxl_dir, "too few fold-9 normals for the map"))
    };
    let val_maps: Vec<&[f32]> = val_raw.iter().map(|r| r.point_err.as_slice()).collect();
    let mut mscr_map = normal_maps(val_maps.clone())?;
    let val_shapes: Vec<Option<&[f32]>> = val_idx.iter().map(|&i| ds.shape(i)).collect();
    // The same model with the map's knots (they do not change its distance).
    let mut shape_shipped = shape.clone();
    let map_budget = fit_map_budget(
        &mut mscr_map,
        shape_shipped.as_mut(),
        &MapInputs {
            maps: &val_maps,
            peaks: &val_peaks,
            shapes: &val_shapes,
            scores: &val_held_out,
            labels: &val_labels,
        },
    );

    // Normal spread of |pred − actual| (95th percentile) on fold-9 normals.
    let spread_of = |a: usize| {
        let mut v: Vec<f32> = val_raw
            .iter()
            .zip(&val_idx)
            .zip(&val_labels)
            .filter(|(_, &l)| l == 0)
            .map(|((r, &i), _)| (r.attrs[a] - actual_attrs(&ds, i)[a]).abs())
            .filter(|x| x.is_finite())
            .collect();
        (!v.is_empty()).then(|| quantile(&mut v, 0.95))
    };
    let normal_spread = NormalSpread {
        age_years: spread_of(0),
        heart_rate_bpm: spread_of(2),
        pr_ms: spread_of(3),
        qrs_ms: spread_of(4),
        qt_ms: spread_of(5),
        qtc_ms: spread_of(6),
    };

    // Baseline calibration.
    let base_val = run_baseline(&base, &ds, &val_idx, device, true);
    let base_val_scores: Vec<f32> = base_val.iter().map(|r| r.mse).collect();
    let base_threshold =
        fit::threshold_for_recall(&base_val_scores, &val_labels, 0.9).unwrap_or(0.0);
    let base_map = normal_maps(base_val.iter().map(|r| r.point_err.as_slice()).collect())?;
    let map_report = |ours: &[MscrRaw],
                      theirs: &[score::BaselineRaw],
                      peaks: &[Vec<usize>],
                      labels: &[u8],
                      shapes: &[Option<&[f32]>],
                      scores: &[f32]| {
        let ours_maps: Vec<&[f32]> = ours.iter().map(|r| r.point_err.as_slice()).collect();
        let rest = map_metrics(&ours_maps, peaks, labels, &mscr_map);
        let rest_max = map_maxima(&ours_maps, peaks, &mscr_map);
        let shape_max = shape_shipped
            .as_ref()
            .map_or_else(|| vec![0.0; shapes.len()], |m| shape_maxima(m, shapes));
        // As shown: restoration, median-beat and score-guided maps (the guided map's
        // maximum is the score's level: it raises the study's most deviant point to it).
        let both: Vec<f32> = rest_max
            .iter()
            .zip(&shape_max)
            .zip(scores)
            .map(|((a, b), s)| {
                let g = mscr_map.guide.as_ref().map_or(0.0, |g| g.level(*s));
                a.max(*b).max(if g.is_finite() { g } else { 0.0 })
            })
            .collect();
        let mut shown = max_metrics(&both, labels);
        shown.normal_share_ge_0_5 = rest.normal_share_ge_0_5;
        shown.abnormal_share_ge_0_5 = rest.abnormal_share_ge_0_5;
        MapReport {
            mscr: shown,
            mscr_restoration: rest,
            shape: max_metrics(&shape_max, labels),
            baseline: map_metrics(
                &theirs
                    .iter()
                    .map(|r| r.point_err.as_slice())
                    .collect::<Vec<_>>(),
                peaks,
                labels,
                &base_map,
            ),
        }
    };
    let map_validation = map_report(
        &val_raw,
        &base_val,
        &val_peaks,
        &val_labels,
        &val_shapes,
        &val_scores,
    );

    // Fold 10: scored once, for the card only.
    let test_raw = run_mscr(&mscr, &ds, &test_idx, &norm, device, true, false);
    let test_scores: Vec<f32> = test_raw
        .iter()
        .zip(&test_idx)
        .map(|(r, &i)| {
            cal.score(&score::components(
                r,
                &Attributes::from_array(actual_attrs(&ds, i)),
                ds.shape(i),
                normals,
            ))
        })
        .collect();
    let base_test_raw = run_baseline(&base, &ds, &test_idx, device, true);
    let base_test: Vec<f32> = base_test_raw.iter().map(|r| r.mse).collect();
    let test_labels = labels_of(&ds, &test_idx);
    let test_peaks = window_peaks(&ds, &test_idx);
    let test_shapes: Vec<Option<&[f32]>> = test_idx.iter().map(|&i| ds.shape(i)).collect();
    let map_test = map_report(
        &test_raw,
        &base_test_raw,
        &test_peaks,
        &test_labels,
        &test_shapes,
        &test_scores,
    );
    let mae = |want: u8, a: usize| {
        let v: Vec<f64> = test_raw
            .iter()
            .zip(&test_idx)
            .zip(&test_labels)
            .filter(|(_, &l)| l == want)
            .map(|((r, &i), _)| f64::from((r.attrs[a] - actual_attrs(&ds, i)[a]).abs()))
            .filter(|x| x.is_finite())
            .collect();
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let (sex_s, sex_l): (Vec<f32>, Vec<u8>) = test_raw
        .iter()
        .zip(&test_idx)
        .filter_map(|(r, &i)| {
            let f = actual_attrs(&ds, i)[1];
            f.is_finite().then_some((r.attrs[1], u8::from(f > 0.5)))
        })
        .unzip();
    let attributes_test = AttributeMetrics {
        age_mae_years_normal: mae(0, 0),
        age_mae_years_abnormal: mae(1, 0),
        sex_auroc: metrics::auroc(&sex_s, &sex_l).unwrap_or(f64::NAN),
        hr_mae_bpm_normal: mae(0, 2),
        hr_mae_bpm_abnormal: mae(1, 2),
    };

    // Calibration for partly recorded leads (paper layouts), on masked fold 9.
    let partial = crate::partial_fit::calibrate(&mscr, &base, &ds, &norm, normals, device);

    // Write weights and manifest.
    std::fs::create_dir_all(&cfg.out_dir).map_err(|e| ModelError::io(&cfg.out_dir, e))?;
    let mscr_path = cfg.out_dir.join(MSCR_FILE);
    let base_path = cfg.out_dir.join(BASELINE_FILE);
    mscr_vs
        .save(&mscr_path)
        .map_err(|e| ModelError::torch(&mscr_path, e))?;
    base_vs
        .save(&base_path)
        .map_err(|e| ModelError::torch(&base_path, e))?;
    let report = TrainReport {
        seed: cfg.seed,
        device: ecgmodel::device_name(device),
        n_train: train_idx.len(),
        n_validation: val_idx.len(),
        n_test: test_idx.len(),
        mscr_parameters: net::parameter_count(&mscr_vs),
        baseline_parameters: net::parameter_count(&base_vs),
        mscr_epochs_run: m_epochs,
        mscr_best_epoch: m_best,
        baseline_epochs_run: b_epochs,
        baseline_best_epoch: b_best,
        mscr_train_s,
        baseline_train_s,
        total_s: started.elapsed().as_secs_f64(),
        mscr_curve: m_curve,
        mscr_curve_weighed: m_curve_weighed,
        mscr_selection: cfg.select,
        baseline_curve: b_curve,
        score_components: cal
            .names
            .iter()
            .zip(&cal.weights)
            .filter(|(_, &w)| w != 0.0)
            .map(|(n, &w)| (n.clone(), w))
            .collect(),
        component_val_auroc,
        weighing_cv_auroc,
        age_line,
        attribute_readout,
        mscr_validation: split_metrics(&ds, &val_idx, &val_scores, threshold),
        mscr_test: split_metrics(&ds, &test_idx, &test_scores, threshold),
        baseline_validation: split_metrics(&ds, &val_idx, &base_val_scores, base_threshold),
        baseline_test: split_metrics(&ds, &test_idx, &base_test, base_threshold),
        attributes_test,
        mscr_threshold: threshold,
        baseline_threshold: base_threshold,
        map_validation,
        map_test,
        map_budget: Some(map_budget),
        command: cfg.command.clone(),
        // Training the baseline beside reused MSCR weights: this run trained it alone.
        baseline_command: (cfg.reuse_baseline.is_none() && cfg.reuse_mscr.is_some())
            .then(|| cfg.command.clone()),
    };
    let report = with_reused_training(report, cfg);
    let manifest = ModelManifest {
        contract: data::CACHE_VERSION.to_string(),
        mscr: NetEntry {
            file: MSCR_FILE.to_string(),
            sha256: manifest::sha256_file(&mscr_path)?,
            parameters: report.mscr_parameters,
            threshold,
            map: mscr_map,
            borderline_margin: 0.0,
        },
        baseline: NetEntry {
            file: BASELINE_FILE.to_string(),
            sha256: manifest::sha256_file(&base_path)?,
            parameters: report.baseline_parameters,
            threshold: base_threshold,
            map: base_map,
            borderline_margin: 0.0,
        },
        attr_norm: norm,
        calibration: cal,
        embedding: emb.clone(),
        features: feat.clone(),
        shape: shape_shipped,
        waves: waves.clone(),
        normal_spread,
        n_training_normals: train_idx.len(),
        partial: Some(partial),
        // Fitted below on the written models (`crate::borderline`).
        borderline: None,
        report: serde_json::to_value(&report).unwrap_or_default(),
    };
    manifest.write(&cfg.out_dir)?;
    // The borderline bands, on the written models as the product loads them.
    let band = crate::borderline::fit_and_write(&cfg.out_dir, &cfg.ptbxl_dir)?;
    eprintln!(
        "borderline band: ours ±{:.3} ({} of {} fold-9 studies), baseline ±{:.3e}",
        band.ours.margin,
        band.ours.validation.borderline,
        band.ours.validation.n,
        band.baseline.margin
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weighed epoch criterion scores what the weighing can separate: fold-9 studies
    /// whose encoder features leave the training normals' range in one block rank above the
    /// normals (cross-validated AUROC near 1); with nothing to tell them apart, near 0.5.
    #[test]
    fn the_weighed_criterion_rises_with_what_the_features_separate() {
        let mut rng = SplitMix64(11);
        let mut gauss = move || {
            // Box–Muller from two uniforms.
            let u = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            let v = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
        };
        let dim: usize = net::feature_blocks().iter().sum();
        let first_block = net::feature_blocks()[0];
        let mut raw = |shift: f32| MscrRaw {
            global_err: 1.0 + 0.1 * gauss(),
            beat_err: 1.0 + 0.1 * gauss(),
            trend_err: 1.0 + 0.1 * gauss(),
            lead_err: vec![1.0; 12],
            attrs: [50.0, 0.5, 70.0, 160.0, 90.0, 390.0, 410.0],
            embedding: (0..8).map(|_| gauss()).collect(),
            features: (0..dim)
                .map(|k| (1.0 + 0.2 * gauss() + if k < first_block { shift } else { 0.0 }).exp())
                .collect(),
            point_err: Vec::new(),
        };
        let train: Vec<MscrRaw> = (0..400).map(|_| raw(0.0)).collect();
        let n_val = 240;
        let labels: Vec<u8> = (0..n_val).map(|k| u8::from(k % 2 == 1)).collect();
        let records: Vec<data::CachedRecord> = labels
            .iter()
            .enumerate()
            .map(|(k, &l)| data::CachedRecord {
                row: PtbxlRow {
                    ecg_id: k as u32 + 1,
                    fold: 9,
                    age_years: Some(50.0),
                    female: Some(k % 3 == 0),
                    superclasses: if l == 1 {
                        vec!["MI".into()]
                    } else {
                        vec!["NORM".into()]
                    },
                    is_norm_only: l == 0,
                    filename_lr: String::new(),
                    excluded: false,
                },
                beats: Vec::new(),
                attrs: [50.0, 0.5, 70.0, 160.0, 90.0, 390.0, 410.0],
            })
            .collect();
        let ds = Dataset {
            records,
            signals: Tensor::zeros([n_val as i64, 1, 1], (Kind::Float, Device::Cpu)),
            shapes: vec![None; n_val],
        };
        let idx: Vec<usize> = (0..n_val).collect();
        let fixed = FixedModels {
            shape: None,
            waves: None,
            val_waves: vec![Vec::new(); n_val],
        };
        let auroc = |shift: f32, raw: &mut dyn FnMut(f32) -> MscrRaw| {
            let val: Vec<MscrRaw> = labels
                .iter()
                .map(|&l| raw(if l == 1 { shift } else { 0.0 }))
                .collect();
            weighed_validation_auroc(&ds, &idx, &labels, (&val, &train), &fixed)
        };
        let separated = auroc(1.0, &mut raw);
        let alike = auroc(0.0, &mut raw);
        eprintln!("weighed criterion: separated {separated:.3}, alike {alike:.3}");
        assert!(separated > 0.95, "{separated}");
        assert!((alike - 0.5).abs() < 0.12, "{alike}");
    }

    /// A median-beat map that marks normal and abnormal studies alike earns no more of the
    /// budget than it must: the search gives the share to the study score, which marks
    /// more abnormal studies within the same normal budget; the restoration map keeps its
    /// level.
    #[test]
    fn the_map_budget_goes_where_it_marks_abnormal_studies() {
        let mut rng = SplitMix64(7);
        let n = 300;
        let mut uniform = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        // Point errors and median beats: the same noise for every study, whatever its label.
        let maps: Vec<Vec<f32>> = (0..2 * n)
            .map(|_| {
                (0..ecgmodel::contract::N_LEADS * N_SAMPLES)
                    .map(|_| (0.01 * (1.0 + uniform())) as f32)
                    .collect()
            })
            .collect();
        let nb = 12 * ecgmodel::shape::samples_per_lead();
        // One study in eight of either kind has a beat far from the mean somewhere.
        let beats: Vec<Vec<f32>> = (0..2 * n)
            .map(|s| {
                let mut b: Vec<f32> = (0..nb).map(|_| (uniform() * 0.2 - 0.1) as f32).collect();
                if s % 8 == 0 {
                    let at = (uniform() * (nb - 4) as f64) as usize;
                    let size = (1.0 + 4.0 * uniform()) as f32;
                    b[at..at + 3].iter_mut().for_each(|v| *v += size);
                }
                b
            })
            .collect();
        let peaks: Vec<Vec<usize>> = (0..2 * n)
            .map(|_| (50..1000).step_by(100).collect())
            .collect();
        let labels: Vec<u8> = (0..2 * n).map(|s| u8::from(s >= n)).collect();
        // Scores: about N(0, 1) for normal studies and N(2, 1) for abnormal ones.
        let scores: Vec<f32> = (0..2 * n)
            .map(|s| {
                let z = ((0..4).map(|_| uniform()).sum::<f64>() - 2.0) * 3f64.sqrt();
                (z + if s >= n { 2.0 } else { 0.0 }) as f32
            })
            .collect();
        let map_refs: Vec<&[f32]> = maps.iter().map(Vec::as_slice).collect();
        let shapes: Vec<Option<&[f32]>> = beats.iter().map(|b| Some(b.as_slice())).collect();
        let normals: Vec<(&[f32], &[usize])> = map_refs[..n]
            .iter()
            .zip(&peaks[..n])
            .map(|(m, p)| (*m, p.as_slice()))
            .collect();
        let mut cal = fit::map_calibration(&normals).unwrap();
        let mut shape = ecgmodel::shape::ShapeModel {
            mean: vec![0.0; nb],
            components: Vec::new(),
            variances: Vec::new(),
            residual_variance: 1.0,
            beat_sd: vec![0.5; nb],
            z_knots: Vec::new(),
            p_knots: Vec::new(),
        };
        let budget = fit_map_budget(
            &mut cal,
            Some(&mut shape),
            &MapInputs {
                maps: &map_refs,
                peaks: &peaks,
                shapes: &shapes,
                scores: &scores,
                labels: &labels,
            },
        );
        assert_eq!(
            budget.candidates.len(),
            RESTORATION_Q90.len() * LOCAL_BUDGETS.len()
        );
        let first = budget.candidates[0];
        let chosen = budget
            .candidates
            .iter()
            .find(|c| {
                c.restoration_q90 == budget.restoration_q90 && c.local_budget == budget.local_budget
            })
            .copied()
            .unwrap();
        assert_eq!(budget.restoration_q90, ecgmodel::mapcal::DEFAULT_STUDY_Q90);
        assert!(budget.local_budget < LOCAL_BUDGETS[0], "{budget:?}");
        assert!(chosen.normals_marked <= MAP_GUIDED_BUDGET, "{chosen:?}");
        assert!(
            chosen.abnormals_marked > first.abnormals_marked,
            "chosen {chosen:?} vs the fixed split {first:?}"
        );
        assert!(budget
            .candidates
            .iter()
            .filter(|c| c.restoration_q90 == chosen.restoration_q90
                && c.normals_marked <= MAP_GUIDED_BUDGET)
            .all(|c| c.abnormals_marked <= chosen.abnormals_marked + MAP_TIE));
        // The calibration and the median-beat model keep what was chosen.
        assert_eq!(cal.study_q90, budget.restoration_q90);
        assert!(cal.guide.is_some() && budget.score_q90 > 0.9);
        assert_eq!(shape.z_knots.len(), 4, "{:?}", shape.z_knots);
    }
}
