//! Fitting what `models/manifest.json` ships beside the weights: the attribute
//! normalization, the Gaussian models of the training normals (embedding and multi-scale
//! features), the study-score calibration (robust centre and scale of each component on
//! fold-9 normals, components chosen greedily on fold 9), the thresholds (a target recall
//! of the abnormal class) and the anomaly map's calibration.
//!
//! The types are `ecgmodel`'s (the product only reads and applies them); this module is
//! the one place that makes them. The formulas are DESIGN.md §3's and the ones the types'
//! documentation states: shrunk covariances, medians and IQR/1.349, per-cell map quantiles.

use ecgmodel::attributes::Attributes;
use ecgmodel::contract::{N_LEADS, N_SAMPLES};
use ecgmodel::mapcal::{self, MapCalibration, PHASE_BIN_MS, POST_R_MS, PRE_R_MS};
use ecgmodel::metrics;
use ecgmodel::score::{
    AttrNorm, BlockGaussian, Calibration, EmbeddingModel, FeatureInput, FeatureModel, COMPONENTS,
};
use tch::{Kind, Tensor};

/// Shrinkage of the embedding covariance towards its mean variance.
const EMBEDDING_SHRINKAGE: f64 = 0.2;
/// Shrinkage of each feature block's covariance towards its mean variance.
const FEATURE_SHRINKAGE: f64 = 0.01;
/// Fewest normal samples a map cell needs for its own statistics (else its lead's pooled ones).
const MIN_CELL_SAMPLES: usize = 200;

use ecgmodel::score::to_vec;

/// The attribute normalization from training targets (NaN ignored); sex keeps mean 0, std 1.
pub fn attr_norm(targets: &[[f32; 7]]) -> AttrNorm {
    let mut mean = [0.0_f32; 7];
    let mut std = [1.0_f32; 7];
    for a in 0..7 {
        if a == Attributes::FEMALE_INDEX {
            continue;
        }
        let v: Vec<f64> = targets
            .iter()
            .map(|t| f64::from(t[a]))
            .filter(|x| x.is_finite())
            .collect();
        if v.len() < 2 {
            continue;
        }
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
        mean[a] = m as f32;
        std[a] = if s > 1e-6 { s as f32 } else { 1.0 };
    }
    AttrNorm {
        mean,
        std,
        readout: Vec::new(),
    }
}

/// Predicted age regresses towards the training mean (the old are read younger, the
/// young older). The straight line `age = a + b·prediction` fitted by least squares on
/// `(prediction, recorded age)` pairs (fold-9 normals) corrects it; it is folded into the
/// age's decoding: the head's (`mean ← a + b·mean`, `std ← b·std`) and, where age is read
/// from the features, the age readout's intercept and weights, so every later use sees
/// corrected ages, whichever of the two gives the age (the readout, or the head where the
/// readout's reading falls outside the training normals' range). Returns `(a, b)`, or
/// `None` (and leaves `norm` alone) with fewer than 20 pairs or a slope outside 0.5–2.
pub fn recalibrate_age(norm: &mut AttrNorm, pairs: &[(f32, f32)]) -> Option<(f32, f32)> {
    let v: Vec<(f64, f64)> = pairs
        .iter()
        .filter(|(p, y)| p.is_finite() && y.is_finite())
        .map(|(p, y)| (f64::from(*p), f64::from(*y)))
        .collect();
    if v.len() < 20 {
        return None;
    }
    let n = v.len() as f64;
    let (mx, my) = (
        v.iter().map(|p| p.0).sum::<f64>() / n,
        v.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = v.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = v.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let b = sxy / sxx;
    if !(0.5..=2.0).contains(&b) {
        return None;
    }
    let a = my - b * mx;
    if let Some(r) = norm.readout.iter_mut().find(|r| r.attr == 0) {
        r.intercept = (a + b * f64::from(r.intercept)) as f32;
        for w in &mut r.weights {
            *w = (b * f64::from(*w)) as f32;
        }
    }
    norm.mean[0] = (a + b * f64::from(norm.mean[0])) as f32;
    norm.std[0] = (b * f64::from(norm.std[0])) as f32;
    Some((a as f32, b as f32))
}

/// Ridge penalties tried for the attribute readouts (on standardized features).
const READOUT_ALPHAS: [f64; 6] = [10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0];

/// What `attribute_readout` measured for one attribute on the fold-9 normals.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReadoutChoice {
    pub attr: usize,
    /// Mean absolute error of the head's prediction.
    pub head_mae: f64,
    /// Mean absolute error of the best readout, and its penalty.
    pub readout_mae: f64,
    pub alpha: f64,
    /// Whether the readout replaced the head.
    pub kept: bool,
}

/// Linear readouts of the attributes `attrs` from the encoder features: for each, a
/// ridge regression on the training normals' pooled features (standardized; the
/// penalties `READOUT_ALPHAS`) against their recorded values, the penalty chosen by the
/// mean absolute error on fold-9 normals, and the readout kept (pushed onto
/// `norm.readout`, folded back to raw features) only where it beats the head's
/// prediction `val_head` there; a reading outside the training normals' range of the
/// attribute is not used (`AttrReadout::predict`). Records whose value is missing are left out of that
/// attribute's fit. The attribute head keeps training the encoders (its loss shapes the
/// features); this only reads them better.
pub fn attribute_readout(
    norm: &mut AttrNorm,
    attrs: &[usize],
    train: (&[Vec<f32>], &[[f32; 7]]),
    val: (&[Vec<f32>], &[[f32; 7]]),
    val_head: &[[f32; 7]],
) -> Vec<ReadoutChoice> {
    let (train_f, train_y) = train;
    let (val_f, val_y) = val;
    let d = train_f.first().map_or(0, Vec::len);
    if d == 0 || train_f.iter().chain(val_f).any(|f| f.len() != d) {
        return Vec::new();
    }
    let to_t = |rows: &[&Vec<f32>]| {
        let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_slice(&flat)
            .view([rows.len() as i64, d as i64])
            .to_kind(Kind::Double)
    };
    let all = to_t(&train_f.iter().collect::<Vec<_>>());
    let mu = all.mean_dim([0i64].as_slice(), true, Kind::Double);
    let sd = all.std_dim([0i64].as_slice(), false, true) + 1e-6;
    drop(all);
    let mut out = Vec::new();
    for &a in attrs {
        let pick = |f: &[Vec<f32>], y: &[[f32; 7]]| -> (Vec<usize>, Vec<f64>) {
            f.iter()
                .zip(y)
                .enumerate()
                .filter(|(_, (_, t))| t.get(a).is_some_and(|v| v.is_finite()))
                .map(|(i, (_, t))| (i, f64::from(t[a])))
                .unzip()
        };
        let (ti, ty) = pick(train_f, train_y);
        let (vi, vy) = pick(val_f, val_y);
        if ti.len() < 2 * d.min(500) || vi.len() < 20 {
            continue;
        }
        let x = (to_t(&ti.iter().map(|&i| &train_f[i]).collect::<Vec<_>>()) - &mu) / &sd;
        let xv = (to_t(&vi.iter().map(|&i| &val_f[i]).collect::<Vec<_>>()) - &mu) / &sd;
        let ym = ty.iter().sum::<f64>() / ty.len() as f64;
        let yc = Tensor::from_slice(&ty.iter().map(|v| v - ym).collect::<Vec<_>>()).view([-1, 1]);
        let xm = x.mean_dim([0i64].as_slice(), true, Kind::Double);
        let xc = &x - &xm;
        let gram = xc.tr().matmul(&xc);
        let xty = xc.tr().matmul(&yc);
        let eye = Tensor::eye(d as i64, (Kind::Double, tch::Device::Cpu));
        let mae_of = |p: &[f64]| {
            p.iter().zip(&vy).map(|(p, y)| (p - y).abs()).sum::<f64>() / vy.len() as f64
        };
        let head: Vec<f64> = vi
            .iter()
            .map(|&i| f64::from(val_head.get(i).map_or(f32::NAN, |h| h[a])))
            .collect();
        let head_mae = mae_of(&head);
        let range = (
            ty.iter().copied().fold(f64::INFINITY, f64::min),
            ty.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        // As used: a reading outside the training range gives way to the head's.
        let as_used = |p: &Tensor| -> Vec<f64> {
            to_vec(p)
                .iter()
                .zip(&head)
                .map(|(&v, &h)| {
                    let v = f64::from(v);
                    if v >= range.0 && v <= range.1 {
                        v
                    } else {
                        h
                    }
                })
                .collect()
        };
        let mut best: Option<(f64, f64, Tensor)> = None;
        for &alpha in &READOUT_ALPHAS {
            let Ok(w) = Tensor::f_linalg_solve(&(&gram + &eye * alpha), &xty, true) else {
                continue;
            };
            let pred = (&xv - &xm).matmul(&w) + ym;
            let mae = mae_of(&as_used(&pred));
            if mae.is_finite() && best.as_ref().is_none_or(|b| mae < b.0) {
                best = Some((mae, alpha, w));
            }
        }
        let Some((readout_mae, alpha, w)) = best else {
            continue;
        };
        // A head whose error is NaN (no predictions) loses to any readout.
        let kept = readout_mae < head_mae || head_mae.is_nan();
        if kept {
            // Back to raw features: y = ym + ((f − mu)/sd − xm)·w.
            let w_raw = &w.view([1, -1]) / &sd;
            let intercept = ym
                - ((&mu + &xm * &sd) * &w_raw)
                    .sum(Kind::Double)
                    .double_value(&[]);
            norm.readout.retain(|r| r.attr != a);
            norm.readout.push(ecgmodel::score::AttrReadout {
                attr: a,
                intercept: intercept as f32,
                weights: to_vec(&w_raw),
                alpha: alpha as f32,
                range: (range.0 as f32, range.1 as f32),
            });
        }
        out.push(ReadoutChoice {
            attr: a,
            head_mae,
            readout_mae,
            alpha,
            kept,
        });
    }
    out
}

/// The Gaussian model of training normals' embeddings, with shrinkage
/// `(1 − α)Σ + α·tr(Σ)/d·I`, α = 0.2. `None` with fewer than 2 embeddings.
pub fn embedding_model(embeddings: &[Vec<f32>]) -> Option<EmbeddingModel> {
    let d = embeddings.first()?.len();
    let n = embeddings.len();
    if n < 2 || d == 0 {
        return None;
    }
    let e = Tensor::from_slice(&embeddings.concat())
        .view([n as i64, d as i64])
        .to_kind(Kind::Double);
    let mean = e.mean_dim([0i64].as_slice(), true, Kind::Double);
    let c = &e - &mean;
    let cov = c.transpose(0, 1).matmul(&c) / (n - 1) as f64;
    let tr = cov.trace().double_value(&[]) / d as f64;
    let alpha = EMBEDDING_SHRINKAGE;
    let shrunk = cov * (1.0 - alpha)
        + Tensor::eye(d as i64, (Kind::Double, tch::Device::Cpu)) * (alpha * tr);
    let prec = shrunk.f_inverse().ok()?;
    Some(EmbeddingModel {
        mean: to_vec(&mean),
        precision: to_vec(&prec),
    })
}

/// The block-wise feature density of training normals' features with the block widths
/// `blocks` (in order); every block's centre 0 and scale 1 until [`feature_scales`].
/// `None` with fewer than 20 studies or features of another width.
pub fn feature_model(features: &[Vec<f32>], blocks: &[usize]) -> Option<FeatureModel> {
    block_density(features, blocks, FeatureInput::Log)
}

/// The block-wise density of training normals' wave measures ([`ecgmodel::waves`]), each
/// measure standardized by the training normals' median and IQR/1.349 (1 where the IQR
/// vanishes); every block's centre 0 and scale 1 until [`feature_scales`]. `None` with
/// fewer than 20 studies.
pub fn wave_model(measures: &[Vec<f32>]) -> Option<FeatureModel> {
    let total: usize = ecgmodel::waves::WAVE_BLOCKS.iter().sum();
    if measures.iter().any(|m| m.len() != total) {
        return None;
    }
    let (mut center, mut scale) = (Vec::with_capacity(total), Vec::with_capacity(total));
    for k in 0..total {
        let mut v: Vec<f32> = measures.iter().map(|m| m[k]).collect();
        let (c, s) = robust_center_scale(&mut v)?;
        center.push(c);
        scale.push(s);
    }
    block_density(
        measures,
        &ecgmodel::waves::WAVE_BLOCKS,
        FeatureInput::Robust { center, scale },
    )
}

/// One Gaussian per block of `rows` (the statistic `input` gives), covariance shrunk as
/// `(1 − α)Σ + α·tr(Σ)/d·I`, α = [`FEATURE_SHRINKAGE`].
fn block_density(rows: &[Vec<f32>], blocks: &[usize], input: FeatureInput) -> Option<FeatureModel> {
    let n = rows.len();
    let total: usize = blocks.iter().sum();
    if n < 20 || rows.iter().any(|f| f.len() != total) {
        return None;
    }
    let stats: Vec<f64> = rows.iter().flat_map(|f| input.apply(f, 0)).collect();
    if stats.len() != n * total {
        return None;
    }
    let all = Tensor::from_slice(&stats).view([n as i64, total as i64]);
    let mut out = Vec::with_capacity(blocks.len());
    let mut start = 0;
    for &len in blocks {
        let e = all.narrow(1, start as i64, len as i64);
        let mean = e.mean_dim([0i64].as_slice(), true, Kind::Double);
        let c = &e - &mean;
        let cov = c.transpose(0, 1).matmul(&c) / (n - 1) as f64;
        let tr = cov.trace().double_value(&[]) / len as f64;
        let shrunk = cov * (1.0 - FEATURE_SHRINKAGE)
            + Tensor::eye(len as i64, (Kind::Double, tch::Device::Cpu))
                * (FEATURE_SHRINKAGE * tr.max(1e-9));
        let prec = shrunk.f_inverse().ok()?;
        out.push(BlockGaussian {
            start,
            len,
            mean: to_vec(&mean),
            precision: to_vec(&prec),
            center: 0.0,
            scale: 1.0,
            weight: 1.0,
        });
        start += len;
    }
    Some(FeatureModel { blocks: out, input })
}

/// Set each block's centre and scale from normal studies' features (fold 9).
pub fn feature_scales(model: &mut FeatureModel, normals: &[Vec<f32>]) {
    for b in 0..model.blocks.len() {
        let mut d: Vec<f32> = normals
            .iter()
            .map(|f| model.block_distance(b, f))
            .filter(|x| x.is_finite())
            .collect();
        if let (Some((center, scale)), Some(block)) =
            (robust_center_scale(&mut d), model.blocks.get_mut(b))
        {
            block.center = center;
            block.scale = scale;
        }
    }
}

/// Median and IQR/1.349 (1 when the IQR vanishes) of finite values, `None` with fewer
/// than 4: the robust centre and scale every z-score of the study score uses. Sorts `v`.
pub fn robust_center_scale(v: &mut [f32]) -> Option<(f32, f32)> {
    if v.len() < 4 {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let q = |p: f32| v[((v.len() - 1) as f32 * p).round() as usize];
    let iqr = (q(0.75) - q(0.25)) / 1.349;
    Some((q(0.5), if iqr > 1e-6 { iqr } else { 1.0 }))
}

/// The study-score calibration's robust centre and scale from validation normals'
/// components (order of [`COMPONENTS`]); every weight 0 until [`select_components`].
pub fn calibration(normals: &[Vec<f32>]) -> Calibration {
    let k = COMPONENTS.len();
    let mut center = vec![0.0; k];
    let mut scale = vec![1.0; k];
    for c in 0..k {
        let mut v: Vec<f32> = normals
            .iter()
            .filter_map(|r| r.get(c).copied())
            .filter(|x| x.is_finite())
            .collect();
        if let Some((m, sc)) = robust_center_scale(&mut v) {
            center[c] = m;
            scale[c] = sc;
        }
    }
    Calibration {
        names: COMPONENTS.iter().map(|s| (*s).to_string()).collect(),
        center,
        scale,
        weights: vec![0.0; k],
    }
}

/// Greedy forward selection of score components on fold 9: start from the single best
/// component, add the component that raises fold-9 AUROC most, while it raises it by at
/// least 0.005 (each with weight 1 on the robust z scale).
pub fn select_components(cal: &mut Calibration, comps: &[Vec<f32>], labels: &[u8]) {
    let k = COMPONENTS.len();
    cal.weights = vec![0.0; k];
    let eval = |cal: &Calibration| {
        let s: Vec<f32> = comps.iter().map(|c| cal.score(c)).collect();
        metrics::auroc(&s, labels).unwrap_or(0.5)
    };
    let mut best = 0.5;
    loop {
        let mut cand: Option<(usize, f64)> = None;
        for (c, name) in COMPONENTS.iter().enumerate().take(k) {
            if cal.weights[c] != 0.0 || ecgmodel::score::is_signed(name) {
                continue;
            }
            let mut trial = cal.clone();
            trial.weights[c] = 1.0;
            let a = eval(&trial);
            let margin = if best <= 0.5 { 0.0 } else { 0.005 };
            if a > best + margin && cand.is_none_or(|(_, b)| a > b) {
                cand = Some((c, a));
            }
        }
        match cand {
            Some((c, a)) => {
                cal.weights[c] = 1.0;
                best = a;
            }
            None => break,
        }
    }
}

/// L2 penalty of [`weigh_components`] (per weight, relative to the log-likelihood summed
/// over the records). 0.1–1000 give 0.889–0.892 cross-validated within fold 9
/// (`scripts/score-study.py`).
pub const WEIGHING_L2: f64 = 10.0;

/// Logistic regression (L2 penalty `l2`, intercept free) with sign constraints: weights
/// and intercept maximizing the penalized likelihood of `labels` (1 abnormal) given `x`
/// (rows of inputs, non-finite values taken as 0), every weight `≥ 0` except those of
/// the inputs marked in `signed` (missing = not signed). Projected gradient descent with
/// a backtracking step on the convex objective; deterministic.
pub fn signed_logistic(x: &[Vec<f32>], labels: &[u8], l2: f64, signed: &[bool]) -> (Vec<f64>, f64) {
    let free = |j: usize| signed.get(j).copied().unwrap_or(false);
    let d = x.first().map_or(0, Vec::len);
    let n = x.len().max(1) as f64;
    let rows: Vec<Vec<f64>> = x
        .iter()
        .map(|r| {
            (0..d)
                .map(|j| {
                    let v = f64::from(r.get(j).copied().unwrap_or(0.0));
                    if v.is_finite() {
                        v
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    let objective = |w: &[f64], b: f64| -> f64 {
        let mut loss = 0.0;
        for (r, &y) in rows.iter().zip(labels) {
            let z: f64 = r.iter().zip(w).map(|(a, c)| a * c).sum::<f64>() + b;
            // log(1 + e^z) − y·z, computed stably.
            loss += z.max(0.0) + (-z.abs()).exp().ln_1p() - f64::from(y) * z;
        }
        (loss + l2 * w.iter().map(|v| v * v).sum::<f64>()) / n
    };
    let mut w = vec![0.0; d];
    let mut b = 0.0;
    let mut f = objective(&w, b);
    let mut step = 1.0;
    for _ in 0..2000 {
        let mut gw = vec![0.0; d];
        let mut gb = 0.0;
        for (r, &y) in rows.iter().zip(labels) {
            let z: f64 = r.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>() + b;
            let e = 1.0 / (1.0 + (-z).exp()) - f64::from(y);
            for (g, a) in gw.iter_mut().zip(r) {
                *g += e * a;
            }
            gb += e;
        }
        for (g, v) in gw.iter_mut().zip(&w) {
            *g = (*g + 2.0 * l2 * v) / n;
        }
        gb /= n;
        // Backtracking along the projected gradient.
        let mut accepted = false;
        while step > 1e-10 {
            let nw: Vec<f64> = w
                .iter()
                .zip(&gw)
                .enumerate()
                .map(|(j, (v, g))| {
                    let t = v - step * g;
                    if free(j) {
                        t
                    } else {
                        t.max(0.0)
                    }
                })
                .collect();
            let nb = b - step * gb;
            let nf = objective(&nw, nb);
            let moved: f64 =
                nw.iter().zip(&w).map(|(a, c)| (a - c).powi(2)).sum::<f64>() + (nb - b).powi(2);
            if nf <= f - 1e-4 * moved / step {
                let done = f - nf < 1e-10;
                w = nw;
                b = nb;
                f = nf;
                accepted = !done;
                step *= 2.0;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    (w, b)
}

/// A block-wise density weighed block by block in [`weigh_components`]: the component it
/// gives ([`COMPONENTS`]), its model, and every fold-9 study's input vector (encoder
/// features or wave measures; empty where the study has none).
pub struct BlockSet<'a> {
    pub component: &'static str,
    pub model: &'a mut FeatureModel,
    pub inputs: Vec<Vec<f32>>,
}

/// The inputs [`weigh_components`] regresses on, a row per study: every block set's
/// blocks' robust z-scores, then the robust z-scores of every other component (order of
/// [`COMPONENTS`] without the block sets' components).
fn weighing_inputs(cal: &Calibration, sets: &[BlockSet<'_>], comps: &[Vec<f32>]) -> Vec<Vec<f32>> {
    comps
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row = Vec::new();
            for set in sets {
                let input = set.inputs.get(i).map_or(&[][..], Vec::as_slice);
                row.extend((0..set.model.blocks.len()).map(|b| set.model.block_z(b, input)));
            }
            for (k, name) in COMPONENTS.iter().enumerate() {
                if !sets.iter().any(|s| s.component == *name) {
                    let v = c.get(k).copied().unwrap_or(f32::NAN);
                    row.push((v - cal.center[k]) / cal.scale[k]);
                }
            }
            row
        })
        .collect()
}

/// Which of [`weighing_inputs`]' columns may take a negative weight (the signed
/// components, [`ecgmodel::score::is_signed`]; never a block).
fn weighing_signs(sets: &[BlockSet<'_>]) -> Vec<bool> {
    let mut v = vec![false; sets.iter().map(|s| s.model.blocks.len()).sum()];
    v.extend(
        COMPONENTS
            .iter()
            .filter(|n| !sets.iter().any(|s| s.component == **n))
            .map(|n| ecgmodel::score::is_signed(n)),
    );
    v
}

/// Every study's held-out score of the weighing: `x`'s rows in `folds` interleaved parts
/// (every `folds`-th row), each part scored on the regression's scale (`x · w`, no
/// intercept) with weights fitted on the others (`signed` as [`weighing_signs`]). Their
/// AUROC is the honest fold-9 estimate of a score whose weights were fitted on fold 9.
fn weighing_cv_scores(x: &[Vec<f32>], labels: &[u8], folds: usize, signed: &[bool]) -> Vec<f32> {
    let folds = folds.max(2);
    let mut scores = vec![f32::NAN; x.len()];
    for k in 0..folds {
        let (fit_x, fit_y): (Vec<Vec<f32>>, Vec<u8>) = x
            .iter()
            .zip(labels)
            .enumerate()
            .filter(|(i, _)| i % folds != k)
            .map(|(_, (r, &l))| (r.clone(), l))
            .unzip();
        let (w, _) = signed_logistic(&fit_x, &fit_y, WEIGHING_L2, signed);
        for (i, r) in x.iter().enumerate().filter(|(i, _)| i % folds == k) {
            scores[i] = dot_finite(r, &w);
        }
    }
    scores
}

/// `x · w`, non-finite inputs counting as 0 (as the study score counts them).
fn dot_finite(x: &[f32], w: &[f64]) -> f32 {
    x.iter()
        .zip(w)
        .map(|(a, c)| {
            if a.is_finite() {
                f64::from(*a) * c
            } else {
                0.0
            }
        })
        .sum::<f64>() as f32
}

/// What [`weigh_components`] found besides the weights.
#[derive(Debug, Clone)]
pub struct Weighing {
    /// Fold-9 AUROC of the weighing, cross-validated over 5 folds: the honest fold-9 figure.
    pub cv_auroc: f64,
    /// Per fold-9 study, what its score becomes when the weights are fitted without its
    /// fifth: add it to the study score to get a held-out score on the same scale. Levels
    /// set from fold-9 scores (thresholds, the map's score share) use held-out scores, so
    /// they are not set on scores the weights were fitted to (normals a little lower,
    /// abnormals a little higher than new studies of either kind will score).
    pub held_out_shift: Vec<f32>,
}

/// Weigh the score on fold 9 (`comps`: components of every fold-9 study, order of
/// [`COMPONENTS`]; `sets`: the block-wise densities, the encoder features' and the wave
/// measures', with the studies' inputs; `labels`: 1 abnormal): one logistic regression
/// over the densities' blocks (robust z-scores) and the other components (robust z-scores
/// of `cal`), so that the blocks and components that separate fold 9's abnormal studies
/// from its normals count more. Distances (the blocks and every unsigned component: higher
/// = less normal) get non-negative weights, so none counts against abnormality; the signed
/// attribute differences (`*_excess`) may weigh either direction. The block weights go
/// into each set's model, the component weights into `cal`; each set's component's centre
/// and scale are refitted on the fold-9 normals under the new block weights. Returns the
/// weighing's fold-9 AUROC cross-validated over 5 folds and the studies' held-out scores
/// ([`Weighing`]).
pub fn weigh_components(
    cal: &mut Calibration,
    sets: &mut [BlockSet<'_>],
    comps: &[Vec<f32>],
    labels: &[u8],
) -> Weighing {
    let x = weighing_inputs(cal, sets, comps);
    let signs = weighing_signs(sets);
    let held_out = weighing_cv_scores(&x, labels, 5, &signs);
    let cv_auroc = metrics::auroc(&held_out, labels).unwrap_or(0.5);
    let (w, _) = signed_logistic(&x, labels, WEIGHING_L2, &signs);
    // The study score is x · w plus a constant (the components' centres), so the shift
    // from the fitted weights to the held-out ones is x · (w_k − w).
    let held_out_shift = x
        .iter()
        .zip(&held_out)
        .map(|(r, h)| h - dot_finite(r, &w))
        .collect();
    cal.weights = vec![0.0; COMPONENTS.len()];
    let mut col = 0;
    for set in sets.iter_mut() {
        let nb = set.model.blocks.len();
        let bw = w.get(col..col + nb).unwrap_or(&[]);
        col += nb;
        let block_sum: f64 = bw.iter().sum();
        for (b, block) in set.model.blocks.iter_mut().enumerate() {
            block.weight = if block_sum > 0.0 {
                (bw.get(b).copied().unwrap_or(0.0) * nb as f64 / block_sum) as f32
            } else {
                1.0
            };
        }
        let Some(ci) = COMPONENTS.iter().position(|c| *c == set.component) else {
            continue;
        };
        // The component is now Σ a_b z_b / Σ a_b; its z-score times Σ a_b·scale gives back
        // the regression's Σ a_b z_b (up to a constant).
        let mut normals: Vec<f32> = set
            .inputs
            .iter()
            .zip(labels)
            .filter(|(_, &l)| l == 0)
            .map(|(f, _)| set.model.distance(f))
            .filter(|v| v.is_finite())
            .collect();
        if let Some((c, s)) = robust_center_scale(&mut normals) {
            cal.center[ci] = c;
            cal.scale[ci] = s;
        }
        cal.weights[ci] = (block_sum * f64::from(cal.scale[ci])) as f32;
    }
    for (k, name) in COMPONENTS.iter().enumerate() {
        if !sets.iter().any(|s| s.component == *name) {
            cal.weights[k] = w.get(col).copied().unwrap_or(0.0) as f32;
            col += 1;
        }
    }
    Weighing {
        cv_auroc,
        held_out_shift,
    }
}

/// Highest threshold at which at least `recall` of the abnormal scores are ≥ it
/// (labels: 0 normal, 1 abnormal); `None` without a finite abnormal score.
pub fn threshold_for_recall(scores: &[f32], labels: &[u8], recall: f64) -> Option<f32> {
    let mut pos: Vec<f32> = scores
        .iter()
        .zip(labels)
        .filter(|(s, &l)| l == 1 && s.is_finite())
        .map(|(&s, _)| s)
        .collect();
    if pos.is_empty() {
        return None;
    }
    pos.sort_by(|a, b| b.total_cmp(a));
    let k = ((recall * pos.len() as f64).ceil() as usize).clamp(1, pos.len());
    pos.get(k - 1).copied()
}

/// Largest finite value (NaN when there is none).
pub fn max_finite(v: &[f32]) -> f32 {
    v.iter()
        .copied()
        .filter(|x| x.is_finite())
        .fold(f32::NAN, f32::max)
}

fn quantile_sorted(v: &[f32], q: f64) -> f32 {
    if v.is_empty() {
        return f32::NAN;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// The anomaly map's calibration (see [`ecgmodel::mapcal`]) fitted on normal studies:
/// each item is a `[12 × 1000]` point-error map (NaN = not recorded) and the window's R
/// peaks; likelihood 0.9 at the [`mapcal::DEFAULT_STUDY_Q90`] quantile of their maxima
/// ([`restoration_knots`] moves it). `None` with fewer than 20 studies.
pub fn map_calibration(studies: &[(&[f32], &[usize])]) -> Option<MapCalibration> {
    if studies.len() < 20 {
        return None;
    }
    let np = mapcal::n_phases();
    let mut cells: Vec<Vec<f32>> = vec![Vec::new(); N_LEADS * np];
    let mut leads: Vec<Vec<f32>> = vec![Vec::new(); N_LEADS];
    for (map, peaks) in studies {
        let ph = mapcal::phases(peaks, N_SAMPLES);
        for l in 0..N_LEADS {
            for (t, &p) in ph.iter().enumerate() {
                let Some(&e) = map.get(l * N_SAMPLES + t) else {
                    continue;
                };
                if e.is_finite() {
                    cells[l * np + p].push(mapcal::ln_err(e));
                    if t % 8 == 0 {
                        leads[l].push(mapcal::ln_err(e));
                    }
                }
            }
        }
    }
    let stats = |v: &mut Vec<f32>| {
        v.sort_by(f32::total_cmp);
        let m = quantile_sorted(v, 0.5);
        let s = (quantile_sorted(v, 0.9) - m).max(1e-3);
        (m, s)
    };
    let lead_stats: Vec<(f32, f32)> = leads.iter_mut().map(stats).collect();
    let mut center = vec![0.0; N_LEADS * np];
    let mut scale = vec![1.0; N_LEADS * np];
    for (c, v) in cells.iter_mut().enumerate() {
        let (m, s) = if v.len() >= MIN_CELL_SAMPLES {
            stats(v)
        } else {
            lead_stats[c / np]
        };
        if m.is_finite() {
            center[c] = m;
            scale[c] = s;
        }
    }
    let mut cal = MapCalibration {
        phase_bin_ms: PHASE_BIN_MS,
        pre_r_ms: PRE_R_MS,
        post_r_ms: POST_R_MS,
        center,
        scale,
        z_knots: Vec::new(),
        p_knots: Vec::new(),
        n_studies: studies.len(),
        study_q90: mapcal::DEFAULT_STUDY_Q90,
        guide: None,
    };
    let maxima = study_maxima(&cal, studies);
    restoration_knots(&mut cal, &maxima, mapcal::DEFAULT_STUDY_Q90);
    Some(cal)
}

/// Each study's maximum point z under a map calibration (NaN-free; studies without a
/// finite z left out).
pub fn study_maxima(cal: &MapCalibration, studies: &[(&[f32], &[usize])]) -> Vec<f32> {
    studies
        .iter()
        .map(|(map, peaks)| max_finite(&cal.z(map, peaks)))
        .filter(|z| z.is_finite())
        .collect()
}

/// Set a map calibration's likelihood knots from its normal studies' maxima
/// ([`study_maxima`]) with 0.9 at their `q90` quantile ([`mapcal::study_levels`]).
pub fn restoration_knots(cal: &mut MapCalibration, maxima: &[f32], q90: f64) {
    (cal.z_knots, cal.p_knots) = likelihood_knots(maxima.to_vec(), &mapcal::study_levels(q90));
    cal.study_q90 = q90;
}

/// Piecewise-linear likelihood knots from normal studies' maxima of a z scale: (0, 0),
/// then each `(likelihood, quantile)` at that quantile of the maxima (kept increasing).
fn likelihood_knots(mut maxima: Vec<f32>, levels: &[(f32, f64)]) -> (Vec<f32>, Vec<f32>) {
    maxima.sort_by(f32::total_cmp);
    let mut z_knots = vec![0.0_f32];
    let mut p_knots = vec![0.0_f32];
    for &(p, q) in levels {
        let z = quantile_sorted(&maxima, q);
        let prev = z_knots.last().copied().unwrap_or(0.0);
        z_knots.push(if z.is_finite() {
            z.max(prev + 1e-3)
        } else {
            prev + 1.0
        });
        p_knots.push(p);
    }
    (z_knots, p_knots)
}

/// Leading directions of the median-beat model: the best of 8–128 on fold 9
/// (`cargo run --release -p ecglab --example shape_density`).
pub const SHAPE_DIRECTIONS: usize = 32;

/// The probabilistic-PCA Gaussian of training normals' median-beat vectors
/// ([`ecgmodel::shape`]) with `k` leading directions. `None` with fewer than `k + 2`
/// vectors or vectors of mixed width.
pub fn shape_model(vectors: &[Vec<f32>], k: usize) -> Option<ecgmodel::shape::ShapeModel> {
    let d = vectors.first()?.len();
    let n = vectors.len();
    if n < k + 2 || d <= k || vectors.iter().any(|v| v.len() != d) {
        return None;
    }
    let x = Tensor::from_slice(&vectors.concat())
        .view([n as i64, d as i64])
        .to_kind(Kind::Double);
    let mean = x.mean_dim([0i64].as_slice(), true, Kind::Double);
    let c = &x - &mean;
    let cov = c.transpose(0, 1).matmul(&c) / (n - 1) as f64;
    // Eigenvalues ascending; the last k columns are the leading directions.
    let (vals, vecs) = cov.f_linalg_eigh("L").ok()?;
    let vals = to_vec(&vals);
    let vecs = vecs.transpose(0, 1).contiguous(); // rows = eigenvectors
    let lead = vecs
        .narrow(0, (d - k) as i64, k as i64)
        .flip([0i64].as_slice());
    let variances: Vec<f32> = vals.iter().rev().take(k).copied().collect();
    let rest: f64 = vals[..d - k].iter().map(|v| f64::from(v.max(0.0))).sum();
    Some(ecgmodel::shape::ShapeModel {
        mean: to_vec(&mean),
        components: to_vec(&lead),
        variances,
        residual_variance: (rest / (d - k) as f64) as f32,
        beat_sd: to_vec(
            // The beat part (every column for vectors narrower than a beat vector).
            &c.narrow(
                1,
                0,
                (12 * ecgmodel::shape::samples_per_lead()).min(d) as i64,
            )
            .square()
            .mean_dim([0i64].as_slice(), false, Kind::Double)
            .sqrt(),
        ),
        z_knots: Vec::new(),
        p_knots: Vec::new(),
    })
}

/// The shape map's likelihood knots from normal studies' beat vectors: 0.5 at the median
/// study maximum of the point z, 0.9 at its `q90` quantile, 0.99 at `q99` (see
/// [`ecgmodel::mapcal::study_levels`] for the restoration map's).
pub fn shape_map_knots(
    model: &mut ecgmodel::shape::ShapeModel,
    normals: &[&[f32]],
    q90: f64,
    q99: f64,
) {
    let maxima: Vec<f32> = normals
        .iter()
        .map(|v| model.max_point_z(v))
        .filter(|z| z.is_finite())
        .collect();
    (model.z_knots, model.p_knots) =
        likelihood_knots(maxima, &[(0.5, 0.5), (0.9, q90), (0.99, q99)]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgmodel::mapcal::{n_phases, phases};

    #[test]
    fn age_recalibration_undoes_a_shrunk_prediction_through_the_denormalization() {
        // Predictions shrunk halfway to 60: prediction = 60 + 0.5·(age − 60).
        let pairs: Vec<(f32, f32)> = (20..90)
            .map(|age| (60.0 + 0.5 * (age as f32 - 60.0), age as f32))
            .collect();
        let mut norm = AttrNorm {
            mean: [55.0, 0.0, 70.0, 160.0, 90.0, 390.0, 410.0],
            std: [15.0, 1.0, 10.0, 20.0, 10.0, 30.0, 25.0],
            readout: Vec::new(),
        };
        let before = norm.clone();
        let (a, b) = recalibrate_age(&mut norm, &pairs).unwrap();
        assert!((b - 2.0).abs() < 1e-4 && (a + 60.0).abs() < 1e-2, "{a} {b}");
        // A network output z that read 70 years now reads the age it stood for, 80.
        let z = (70.0 - before.mean[0]) / before.std[0];
        let age = norm.denormalize(&[z, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])[0];
        assert!((age - 80.0).abs() < 1e-2, "{age}");
        // The other attributes are untouched.
        assert_eq!(norm.mean[1..], before.mean[1..]);
        assert_eq!(norm.std[1..], before.std[1..]);
        // Too few pairs, or an implausible slope, leave the normalization alone.
        let mut same = before.clone();
        assert!(recalibrate_age(&mut same, &pairs[..10]).is_none());
        let flat: Vec<(f32, f32)> = (0..50).map(|i| (i as f32, 50.0)).collect();
        assert!(recalibrate_age(&mut same, &flat).is_none());
        assert_eq!(same, before);
    }

    #[test]
    fn attribute_readout_reads_a_linear_attribute_and_keeps_only_what_beats_the_head() {
        // 8-D features; age = 50 + 3·f0 − 2·f3 (+ a little noise); heart rate unrelated
        // to the features. Raw features are offset and scaled, so the fold back to raw
        // features is checked too.
        let mut rng = crate::paper_render::SplitMix64(7);
        let mut make = |n: usize| -> (Vec<Vec<f32>>, Vec<[f32; 7]>) {
            (0..n)
                .map(|_| {
                    let z: Vec<f32> = (0..8).map(|_| rng.normal()).collect();
                    let f: Vec<f32> = z
                        .iter()
                        .enumerate()
                        .map(|(j, v)| 10.0 + (j as f32 + 1.0) * v)
                        .collect();
                    let age = 50.0 + 3.0 * z[0] - 2.0 * z[3] + 0.1 * rng.normal();
                    let hr = 70.0 + 5.0 * rng.normal();
                    (f, [age, 0.0, hr, f32::NAN, 0.0, 0.0, 0.0])
                })
                .unzip()
        };
        let (tf, ty) = make(1200);
        let (vf, vy) = make(300);
        // The head: age off by ±4 years, heart rate exact.
        let head: Vec<[f32; 7]> = vy
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut h = *t;
                h[0] += if i % 2 == 0 { 4.0 } else { -4.0 };
                h
            })
            .collect();
        let mut norm = attr_norm(&ty);
        let choice = attribute_readout(&mut norm, &[0, 2, 3], (&tf, &ty), (&vf, &vy), &head);
        // PR is missing everywhere: no choice for it.
        assert_eq!(
            choice.iter().map(|c| c.attr).collect::<Vec<_>>(),
            vec![0, 2]
        );
        let age = &choice[0];
        assert!(
            age.kept && age.readout_mae < 0.5 && (age.head_mae - 4.0).abs() < 1e-3,
            "{age:?}"
        );
        assert!(!choice[1].kept, "{:?}", choice[1]);
        assert_eq!(norm.readout.len(), 1);
        // The shipped readout, on raw features, gives the age.
        for (f, t) in vf.iter().zip(&vy).take(20) {
            let p = norm.readout[0].predict(f).unwrap();
            assert!((p - t[0]).abs() < 0.6, "{p} vs {}", t[0]);
            let decoded = norm.decode(&[0.0; 7], f);
            assert_eq!(decoded[0], p);
        }
        // The age line then folds into the readout and into the head's normalization
        // (which gives the age where the readout's reading is out of range).
        let before = norm.clone();
        let pairs: Vec<(f32, f32)> = (40..60)
            .map(|a| (50.0 + 0.9 * (a as f32 - 50.0), a as f32))
            .collect();
        let (a, b) = recalibrate_age(&mut norm, &pairs).unwrap();
        assert_eq!(norm.mean[1..], before.mean[1..]);
        assert_eq!(norm.std[1..], before.std[1..]);
        let (lo, hi) = norm.readout[0].range;
        for f in vf.iter().take(20) {
            let want = a + b * before.readout[0].predict(f).unwrap();
            match norm.readout[0].predict(f) {
                Some(p) => assert!((p - want).abs() < 1e-3, "{p} vs {want}"),
                None => assert!(want < lo || want > hi, "{want}"),
            }
        }
        // Features far outside the normals' give no reading: the head's age is kept.
        let wild: Vec<f32> = vf[0].iter().map(|v| v * 100.0).collect();
        assert_eq!(norm.readout[0].predict(&wild), None);
        let z = [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(norm.decode(&z, &wild)[0], norm.denormalize(&z)[0]);
        // … corrected by the same line.
        let head_before = before.denormalize(&z)[0];
        assert!((norm.decode(&z, &wild)[0] - (a + b * head_before)).abs() < 1e-3);
    }

    #[test]
    fn shape_model_finds_the_leading_direction_and_the_residual() {
        // 2000 vectors in 6-D, uniform with SD 2 along the first axis and SD 1 along the
        // others, mean (1, 0, …).
        let mut rng = ecgmodel::views::SplitMix64(7);
        let vectors: Vec<Vec<f32>> = (0..2000)
            .map(|_| {
                let mut v: Vec<f32> = (0..6)
                    .map(|_| (rng.below(1_000_000) as f32 / 1e6 - 0.5) * 12f32.sqrt())
                    .collect();
                v[0] = 1.0 + 2.0 * v[0];
                v
            })
            .collect();
        let m = shape_model(&vectors, 1).unwrap();
        assert!((m.mean[0] - 1.0).abs() < 0.2, "{:?}", m.mean);
        assert!((m.variances[0] - 4.0).abs() < 0.8, "{:?}", m.variances);
        assert!(
            (m.residual_variance - 1.0).abs() < 0.3,
            "{}",
            m.residual_variance
        );
        assert!(m.components[0].abs() > 0.95, "{:?}", &m.components[..6]);
        assert!(m.distance(&m.mean) < 1e-3);
        // 2 SD along the leading axis and 2 SD across it: both distance 2.
        let mut along = m.mean.clone();
        along[0] += 4.0;
        let mut across = m.mean.clone();
        across[3] += 2.0;
        assert!(
            (m.distance(&along) - 2.0).abs() < 0.4,
            "{}",
            m.distance(&along)
        );
        assert!(
            (m.distance(&across) - 2.0).abs() < 0.4,
            "{}",
            m.distance(&across)
        );
        assert!(shape_model(&vectors[..1], 1).is_none());
    }

    #[test]
    fn likelihood_knots_follow_the_quantiles_and_increase() {
        let (z, p) = likelihood_knots(
            (0..=100).map(|i| i as f32).collect(),
            &[(0.5, 0.5), (0.9, 0.95)],
        );
        assert_eq!(p, vec![0.0, 0.5, 0.9]);
        assert!(
            (z[1] - 50.0).abs() < 1.0 && (z[2] - 95.0).abs() < 1.0,
            "{z:?}"
        );
        let (z, _) = likelihood_knots(vec![0.0; 10], &[(0.5, 0.5), (0.9, 0.95)]);
        assert!(z.windows(2).all(|w| w[1] > w[0]), "{z:?}");
    }

    #[test]
    fn threshold_gives_recall() {
        let s = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
        let l = [1; 10];
        let t = threshold_for_recall(&s, &l, 0.9).unwrap();
        assert_eq!(t, 0.2);
        assert!((metrics::at_threshold(&s, &l, t).sensitivity - 0.9).abs() < 1e-9);
    }

    #[test]
    fn normal_studies_stay_pale_and_an_outlier_lights_up() {
        // Normals: error 1 everywhere except 4× at the R peak phase, with mild noise.
        let pre_bins = (PRE_R_MS / PHASE_BIN_MS).round() as usize;
        let peaks: Vec<usize> = (50..1000).step_by(90).collect();
        let ph = phases(&peaks, N_SAMPLES);
        let mut maps = Vec::new();
        let mut seed = 7u64;
        for _ in 0..200 {
            let mut m = vec![0.0_f32; N_LEADS * N_SAMPLES];
            for (i, v) in m.iter_mut().enumerate() {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (seed >> 40) as f32 / (1u64 << 24) as f32;
                let base = if ph[i % N_SAMPLES] == pre_bins {
                    4.0
                } else {
                    1.0
                };
                *v = base * (1.0 + 0.3 * u);
            }
            maps.push(m);
        }
        let studies: Vec<(&[f32], &[usize])> = maps
            .iter()
            .map(|m| (m.as_slice(), peaks.as_slice()))
            .collect();
        let cal = map_calibration(&studies).unwrap();
        assert!(cal.matches_layout());
        assert_eq!(cal.center.len(), N_LEADS * n_phases());
        // A normal QRS (4× the baseline error) is not an anomaly.
        let like = cal.likelihood(&maps[3], &peaks);
        assert!(max_finite(&like) < 0.95, "{}", max_finite(&like));
        let above: usize = studies
            .iter()
            .filter(|(m, p)| max_finite(&cal.likelihood(m, p)) >= 0.9)
            .count();
        assert!(above <= 20, "{above} of 200 normal studies reach 0.9");
        // The same error level in the TP segment is.
        let mut odd = maps[3].clone();
        odd[5 * N_SAMPLES + 95] = 4.0;
        let like = cal.likelihood(&odd, &peaks);
        assert!(like[5 * N_SAMPLES + 95] >= 0.99);
        assert!(like.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn calibration_centres_and_scales_robustly_and_selection_keeps_the_separating_component() {
        // Component 0 separates normals from abnormals; the others are noise.
        let k = COMPONENTS.len();
        let mut comps = Vec::new();
        let mut labels = Vec::new();
        for i in 0..40 {
            let abnormal = i % 2 == 1;
            let mut c = vec![((i * 7) % 5) as f32; k];
            c[0] = if abnormal {
                10.0 + i as f32
            } else {
                i as f32 * 0.1
            };
            comps.push(c);
            labels.push(u8::from(abnormal));
        }
        let normals: Vec<Vec<f32>> = comps
            .iter()
            .zip(&labels)
            .filter(|(_, &l)| l == 0)
            .map(|(c, _)| c.clone())
            .collect();
        let mut cal = calibration(&normals);
        assert_eq!(cal.names.len(), k);
        assert!(cal.weights.iter().all(|&w| w == 0.0));
        assert!(cal.scale.iter().all(|&s| s > 0.0));
        select_components(&mut cal, &comps, &labels);
        assert_eq!(cal.weights[0], 1.0);
        let s: Vec<f32> = comps.iter().map(|c| cal.score(c)).collect();
        assert_eq!(metrics::auroc(&s, &labels), Some(1.0));
    }

    #[test]
    fn logistic_weighing_keeps_distances_non_negative_and_lets_signed_inputs_go_either_way() {
        // Input 0 rises with abnormality, input 1 falls with it, input 2 is noise.
        let mut x = Vec::new();
        let mut labels = Vec::new();
        for i in 0..200 {
            let abnormal = i % 2 == 1;
            let noise = ((i * 37) % 11) as f32 / 11.0 - 0.5;
            let shift = if abnormal { 1.0 } else { 0.0 };
            x.push(vec![shift + noise, -shift - noise * 0.5, noise * 2.0]);
            labels.push(u8::from(abnormal));
        }
        let (w, _) = signed_logistic(&x, &labels, WEIGHING_L2, &[]);
        assert!(w[0] > 1.0, "{w:?}");
        assert_eq!(w[1], 0.0, "{w:?}");
        assert!(w.iter().all(|v| *v >= 0.0));
        assert!(w[2] < w[0] * 0.2, "{w:?}");
        // Marked signed, the falling input weighs against normality the other way.
        let (w, _) = signed_logistic(&x, &labels, WEIGHING_L2, &[false, true, false]);
        assert!(w[1] < -0.1, "{w:?}");
    }

    #[test]
    fn weighing_gives_each_density_s_separating_blocks_the_weight_and_refits_its_component() {
        // Uniform noise in [−0.5, 0.5) from a fixed linear congruential sequence.
        let mut state = 12345_u64;
        let mut noise = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let robust = |d: usize| FeatureInput::Robust {
            center: vec![0.0; d],
            scale: vec![1.0; d],
        };
        // Two densities of the training normals: "features" with two blocks of two, and
        // "waves" with one block of two.
        let train_a: Vec<Vec<f32>> = (0..300)
            .map(|_| (0..4).map(|_| noise()).collect())
            .collect();
        let train_b: Vec<Vec<f32>> = (0..300)
            .map(|_| (0..2).map(|_| noise()).collect())
            .collect();
        let mut a = block_density(&train_a, &[2, 2], robust(4)).unwrap();
        let mut b = block_density(&train_b, &[2], robust(2)).unwrap();
        // Fold 9: abnormal studies leave the normals in the second block of "features" and
        // in "waves"; the first block of "features" is noise for both.
        let mut inputs_a = Vec::new();
        let mut inputs_b = Vec::new();
        let mut labels = Vec::new();
        for i in 0..200 {
            let abnormal = i % 2 == 1;
            let shift = if abnormal { 1.5 } else { 0.0 };
            inputs_a.push(vec![noise(), noise(), noise() + shift, noise()]);
            inputs_b.push(vec![noise() + shift, noise()]);
            labels.push(u8::from(abnormal));
        }
        let normals = |x: &[Vec<f32>]| -> Vec<Vec<f32>> {
            x.iter()
                .zip(&labels)
                .filter(|(_, &l)| l == 0)
                .map(|(v, _)| v.clone())
                .collect()
        };
        feature_scales(&mut a, &normals(&inputs_a));
        feature_scales(&mut b, &normals(&inputs_b));
        let comps = vec![vec![0.0_f32; COMPONENTS.len()]; labels.len()];
        let mut cal = calibration(&normals(&comps));
        let mut sets = vec![
            BlockSet {
                component: "features",
                model: &mut a,
                inputs: inputs_a.clone(),
            },
            BlockSet {
                component: "waves",
                model: &mut b,
                inputs: inputs_b.clone(),
            },
        ];
        let weighing = weigh_components(&mut cal, &mut sets, &comps, &labels);
        let cv = weighing.cv_auroc;
        assert!(cv > 0.9, "cross-validated AUROC {cv}");
        assert_eq!(weighing.held_out_shift.len(), labels.len());
        assert!(
            a.blocks[1].weight > 5.0 * a.blocks[0].weight,
            "{:?}",
            a.blocks
        );
        let at = |name: &str| COMPONENTS.iter().position(|c| *c == name).unwrap();
        assert!(cal.weights[at("features")] > 0.0 && cal.weights[at("waves")] > 0.0);
        // Every other component is constant and keeps no weight.
        let others: f32 = (0..COMPONENTS.len())
            .filter(|&k| k != at("features") && k != at("waves"))
            .map(|k| cal.weights[k].abs())
            .sum();
        assert!(others < 1e-3, "{:?}", cal.weights);
        // The score built from the refitted components separates the studies.
        let scores: Vec<f32> = (0..labels.len())
            .map(|i| {
                let mut c = comps[i].clone();
                c[at("features")] = a.distance(&inputs_a[i]);
                c[at("waves")] = b.distance(&inputs_b[i]);
                cal.score(&c)
            })
            .collect();
        assert!(metrics::auroc(&scores, &labels).unwrap() > 0.95);
        // Shifted, the scores are the held-out ones: they rank the studies as the
        // cross-validation did.
        let held_out: Vec<f32> = scores
            .iter()
            .zip(&weighing.held_out_shift)
            .map(|(s, d)| s + d)
            .collect();
        let held_auroc = metrics::auroc(&held_out, &labels).unwrap();
        assert!((held_auroc - cv).abs() < 1e-3, "{held_auroc} vs {cv}");
        assert!(weighing.held_out_shift.iter().any(|d| d.abs() > 1e-4));
    }
}
