//! Scores and maps from the networks' restorations, and the calibration that turns them
//! into one study score.
//!
//! MSCR (DESIGN.md §3): for each window, [`crate::views::test_specs`] passes (3 fixed patch
//! masks × the window's beats) are restored in one batch without autograd. Per pass the
//! uncertainty-weighted error `exp(-s)·(x̂ − x)²` is averaged over hidden samples (global
//! and beat), the trend error over hidden samples, and the attributes, pooled embedding and
//! encoder features over the first [`SCORE_PASSES`] passes (one per test mask; only those
//! run when no map is asked for). The point map pastes the hidden-sample errors of every
//! global pass and of every beat back at their positions (averaging overlaps) and smooths them with a Gaussian
//! of σ = 30 ms. The baseline's score is the geometric mean of the beats' per-lead mean
//! squared reconstruction errors, its map the smoothed squared error pasted back at the
//! beats.
//!
//! The study score is a weighted sum of robust z-scores of named components (log
//! restoration errors, Mahalanobis distance of the embedding from the training normals,
//! attribute gaps), centred and scaled by their median and IQR on the validation fold's
//! normal ECGs; which components enter is chosen on fold 9. Everything here is
//! applied as the manifest ships it; fitting it (the normal models, the calibration, the
//! component selection) is `ecglab::fit`'s.

use crate::attributes::Attributes;
use crate::contract::{BEAT_LEN, BEAT_PRE, GLOBAL_LEN, MODEL_RATE_HZ, N_LEADS, N_SAMPLES};
use crate::net::{BeatAe, Mscr, EMBED_DIM, N_ATTRS};
use crate::views::{self, ViewSpec};
use serde::{Deserialize, Serialize};
use tch::nn::ModuleT;
use tch::{Kind, Tensor};

/// Normalization of the attribute targets (physical = z · std + mean; sex is a logit),
/// and the linear readouts that replace the attribute head for some attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrNorm {
    pub mean: [f32; 7],
    pub std: [f32; 7],
    /// Attributes read from the encoder features instead of the attribute head
    /// (`decode`); absent in older manifests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readout: Vec<AttrReadout>,
}

/// One attribute read linearly from a window's pooled encoder features
/// (`MscrRaw::features`): physical value = `intercept + weights · features`. Fitted by
/// ridge regression on the training normals, kept only where it predicts the attribute
/// better than the head on fold-9 normals (`ecglab::fit::attribute_readout`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrReadout {
    /// Index into the 7 attributes (`Attributes::to_array` order).
    pub attr: usize,
    pub intercept: f32,
    pub weights: Vec<f32>,
    /// Ridge penalty chosen on fold 9 (on standardized features; for the record).
    pub alpha: f32,
    /// The training normals' range of the attribute: a reading outside it is not used.
    pub range: (f32, f32),
}

impl AttrReadout {
    /// The attribute for pooled features `features`; `None` where the features' length
    /// differs or the reading falls outside the training normals' range (the features
    /// are then unlike any normal's, where a linear readout extrapolates: the attribute
    /// head's prediction is used instead).
    pub fn predict(&self, features: &[f32]) -> Option<f32> {
        if features.len() != self.weights.len() {
            return None;
        }
        let dot: f64 = features
            .iter()
            .zip(&self.weights)
            .map(|(&f, &w)| f64::from(f) * f64::from(w))
            .sum();
        let v = (f64::from(self.intercept) + dot) as f32;
        (v >= self.range.0 && v <= self.range.1).then_some(v)
    }
}

impl AttrNorm {
    /// Physical targets → normalized (NaN stays NaN).
    pub fn normalize(&self, t: &[f32; 7]) -> [f32; 7] {
        let mut out = [0.0; 7];
        for a in 0..7 {
            out[a] = (t[a] - self.mean[a]) / self.std[a];
        }
        out
    }

    /// Network output → physical (sex → probability of female).
    pub fn denormalize(&self, z: &[f32]) -> [f32; 7] {
        let mut out = [f32::NAN; 7];
        for (a, o) in out.iter_mut().enumerate() {
            let v = z.get(a).copied().unwrap_or(f32::NAN);
            *o = if a == Attributes::FEMALE_INDEX {
                1.0 / (1.0 + (-v).exp())
            } else {
                v * self.std[a] + self.mean[a]
            };
        }
        out
    }

    /// Network output `z` and pooled features → physical attributes: the head's
    /// denormalized output, replaced by the linear readout where there is one and its
    /// reading lies within the training normals' range.
    pub fn decode(&self, z: &[f32], features: &[f32]) -> [f32; 7] {
        let mut out = self.denormalize(z);
        self.read_out(&mut out, features);
        out
    }

    /// Replace the attributes `attrs` (physical, from the head) by the readouts' readings
    /// of `features` where those lie within the training normals' range.
    pub fn read_out(&self, attrs: &mut [f32; 7], features: &[f32]) {
        for r in &self.readout {
            if let (Some(o), Some(v)) = (attrs.get_mut(r.attr), r.predict(features)) {
                *o = v;
            }
        }
    }
}

/// Raw MSCR results for one 10 s window.
#[derive(Debug, Clone, PartialEq)]
pub struct MscrRaw {
    pub global_err: f32,
    pub beat_err: f32,
    pub trend_err: f32,
    /// Per-lead uncertainty-weighted global error.
    pub lead_err: Vec<f32>,
    /// Predicted attributes in physical units (sex: probability female).
    pub attrs: [f32; 7],
    pub embedding: Vec<f32>,
    /// Multi-scale encoder feature summary, mean over passes.
    pub features: Vec<f32>,
    /// Smoothed point error `[12 × 1000]` (lead-major), empty unless maps were asked for.
    pub point_err: Vec<f32>,
}

/// Raw baseline results for one window.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineRaw {
    /// The study score: geometric mean over the beats and leads of each beat's mean squared
    /// reconstruction error in one lead (mV²). Squared errors are heavy-tailed, so the
    /// arithmetic mean followed one noisy lead or beat; on fold 9 the geometric mean
    /// separates better with each of three trained baselines (AUROC +0.008 to +0.010 with
    /// the same weights, docs/MODEL_HISTORY.md).
    pub mse: f32,
    pub lead_err: Vec<f32>,
    pub point_err: Vec<f32>,
}

/// A tensor's values as a flat `Vec<f32>` (on the CPU).
pub fn to_vec(t: &Tensor) -> Vec<f32> {
    let t = t
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous()
        .view([-1]);
    // A contiguous float CPU tensor always converts; failing here is a bug, not bad input.
    Vec::<f32>::try_from(&t).expect("a float CPU tensor converts to Vec<f32>")
}

/// The network boundary: a tensor of another shape is a programming error (a network and
/// a scorer out of step), never to be read as silent zeros.
fn expect_shape(t: &Tensor, expected: &[i64], what: &str) {
    assert_eq!(t.size(), expected, "{what}: network output shape");
}

/// Gaussian smoothing (σ in samples) of each `len`-sample row.
pub fn gaussian_smooth(x: &mut [f32], len: usize, sigma: f32) {
    let radius = (3.0 * sigma).ceil() as usize;
    let kernel: Vec<f32> = (0..=2 * radius)
        .map(|i| {
            let d = i as f32 - radius as f32;
            (-0.5 * d * d / (sigma * sigma)).exp()
        })
        .collect();
    for row in x.chunks_exact_mut(len) {
        let src = row.to_vec();
        for (i, out) in row.iter_mut().enumerate() {
            let (mut acc, mut wsum) = (0.0, 0.0);
            for (k, w) in kernel.iter().enumerate() {
                let j = i as isize + k as isize - radius as isize;
                if let Some(v) = usize::try_from(j).ok().and_then(|j| src.get(j)) {
                    acc += w * v;
                    wsum += w;
                }
            }
            *out = if wsum > 0.0 { acc / wsum } else { 0.0 };
        }
    }
}

/// Fill NaN gaps of each row with the nearest finite value (0 when the row has none).
fn fill_gaps(x: &mut [f32], len: usize) {
    for row in x.chunks_exact_mut(len) {
        let mut last = row.iter().copied().find(|v| v.is_finite()).unwrap_or(0.0);
        for v in row.iter_mut() {
            if v.is_finite() {
                last = *v;
            } else {
                *v = last;
            }
        }
    }
}

/// Set the map of window `w` to NaN ("not recorded") where `valid` (all windows,
/// `[W × 12 × 1000]`) is 0.
fn blank_unrecorded(map: &mut [f32], valid: Option<&[f32]>, w: usize) {
    let Some(valid) = valid else { return };
    let Some(v) = valid.get(w * N_LEADS * N_SAMPLES..(w + 1) * N_LEADS * N_SAMPLES) else {
        return;
    };
    for (m, ok) in map.iter_mut().zip(v) {
        if *ok <= 0.0 {
            *m = f32::NAN;
        }
    }
}

/// A point map from pasted errors (`acc` sums, `cnt` counts per sample): the mean where
/// something was pasted, gaps filled from the nearest value, smoothed, and NaN where
/// window `w` was not recorded.
fn finish_map(acc: &[f32], cnt: &[f32], valid: Option<&[f32]>, w: usize) -> Vec<f32> {
    let mut e: Vec<f32> = acc
        .iter()
        .zip(cnt)
        .map(|(a, c)| if *c > 0.0 { a / c } else { f32::NAN })
        .collect();
    fill_gaps(&mut e, N_SAMPLES);
    gaussian_smooth(&mut e, N_SAMPLES, MAP_SIGMA_SAMPLES);
    blank_unrecorded(&mut e, valid, w);
    e
}

/// Passes a window's scores (errors, attributes, embedding, features) are pooled over:
/// the first [`views::test_specs`] passes, one per fixed test mask on the first beats.
/// The map uses every pass (each beat restored); on fold 9 the feature density from these
/// three passes separates as well as from all of them (AUROC 0.881 vs 0.880), at a third
/// of the cost when no map is needed (`eval`).
pub const SCORE_PASSES: usize = crate::contract::N_TEST_MASKS;

/// Gaussian σ of the map smoothing: 30 ms at the model rate.
pub const MAP_SIGMA_SAMPLES: f32 = (0.030 * MODEL_RATE_HZ) as f32;

/// Run MSCR over windows `[W, 12, 1000]` with their beats. Call inside `tch::no_grad`.
/// `valid` (`[W, 12, 1000]`, 1 = real sample, 0 = lead not recorded there) restricts
/// every error and the map to real samples; `None` means all samples are real. Errors
/// are pooled over the scored passes as Σ error / Σ count, which for complete leads equals
/// the mean over them (every pass hides the same number of samples).
pub fn mscr_raw(
    model: &Mscr,
    windows: &Tensor,
    beats: &[Vec<usize>],
    norm: &AttrNorm,
    with_maps: bool,
    valid: Option<&Tensor>,
) -> Vec<MscrRaw> {
    let device = windows.device();
    let w_count = windows.size().first().copied().unwrap_or(0) as usize;
    let mut out = Vec::with_capacity(w_count);
    let valid_v = valid.filter(|_| with_maps).map(to_vec);
    let chunk = 16;
    let mut start = 0;
    while start < w_count {
        let end = (start + chunk).min(w_count);
        let mut specs: Vec<ViewSpec> = Vec::new();
        let mut owner: Vec<i64> = Vec::new();
        for w in start..end {
            let mut s = views::test_specs(beats.get(w).map_or(&[][..], Vec::as_slice));
            if !with_maps {
                s.truncate(SCORE_PASSES);
            }
            owner.extend(std::iter::repeat_n(w as i64, s.len()));
            specs.extend(s);
        }
        let owner_t = Tensor::from_slice(&owner).to_device(device);
        let x = windows.index_select(0, &owner_t);
        let v = views::build(&x, &x, &specs);
        let o = model.forward_t(&v.global_in, &v.trend_in, &v.beat_in, false);
        let n_pass = owner.len() as i64;
        expect_shape(&o.attributes, &[n_pass, N_ATTRS], "attributes");
        expect_shape(&o.embedding, &[n_pass, EMBED_DIM], "embedding");
        expect_shape(
            &o.global_mean,
            &v.global_target.size(),
            "global restoration",
        );
        expect_shape(&o.beat_mean, &v.beat_target.size(), "beat restoration");
        expect_shape(&o.trend, &v.trend_target.size(), "trend restoration");
        assert_eq!(
            o.features.size().first(),
            Some(&n_pass),
            "features: network output shape"
        );
        let eg = (-&o.global_logvar).exp() * (&o.global_mean - &v.global_target).square();
        let eb = (-&o.beat_logvar).exp() * (&o.beat_mean - &v.beat_target).square();
        let et = (&o.trend - &v.trend_target).square();
        // Hidden ∧ real samples, per pass and lead: [P, 12, len].
        let (gm, bm) = match valid {
            Some(valid) => {
                let vx = valid.index_select(0, &owner_t);
                let vv = views::build(&vx, &vx, &specs);
                (
                    &v.global_mask * vv.global_target,
                    &v.beat_mask * vv.beat_target,
                )
            }
            None => (
                v.global_mask.expand_as(&eg).contiguous(),
                v.beat_mask.expand_as(&eb).contiguous(),
            ),
        };
        let dims12: &[i64] = &[1, 2];
        let dim2: &[i64] = &[2];
        let g_num = to_vec(&(&eg * &gm).sum_dim_intlist(dims12, false, Kind::Float));
        let g_den = to_vec(&gm.sum_dim_intlist(dims12, false, Kind::Float));
        let b_num = to_vec(&(&eb * &bm).sum_dim_intlist(dims12, false, Kind::Float));
        let b_den = to_vec(&bm.sum_dim_intlist(dims12, false, Kind::Float));
        let t_num = to_vec(&(&et * &gm).sum_dim_intlist(dims12, false, Kind::Float));
        let lead_num = to_vec(&(&eg * &gm).sum_dim_intlist(dim2, false, Kind::Float));
        let lead_den = to_vec(&gm.sum_dim_intlist(dim2, false, Kind::Float));
        let attr_pass = to_vec(&o.attributes);
        let emb_pass = to_vec(&o.embedding);
        let feat_dim = o.features.size().get(1).copied().unwrap_or(0) as usize;
        let feat_pass = to_vec(&o.features);
        let (eg_v, gm_v, eb_v, bm_v) = if with_maps {
            (
                to_vec(&(&eg * &gm)),
                to_vec(&gm),
                to_vec(&(&eb * &bm)),
                to_vec(&bm),
            )
        } else {
            (Vec::new(), Vec::new(), Vec::new(), Vec::new())
        };
        for w in start..end {
            let all_passes: Vec<usize> = owner
                .iter()
                .enumerate()
                .filter(|(_, &o)| o as usize == w)
                .map(|(i, _)| i)
                .collect();
            // Scores from the first passes only; the map from every pass.
            let passes: Vec<usize> = all_passes.iter().copied().take(SCORE_PASSES).collect();
            let n = passes.len().max(1) as f32;
            let sum_of = |v: &[f32]| passes.iter().filter_map(|&p| v.get(p)).sum::<f32>();
            let pooled = |num: &[f32], den: &[f32]| {
                let d = sum_of(den);
                if d > 0.0 {
                    sum_of(num) / d
                } else {
                    f32::NAN
                }
            };
            let mut lead_acc = [(0.0_f32, 0.0_f32); N_LEADS];
            let mut attr_z = vec![0.0_f32; N_ATTRS as usize];
            let mut embedding = vec![0.0_f32; EMBED_DIM as usize];
            let mut features = vec![0.0_f32; feat_dim];
            for &p in &passes {
                for (d, f) in features.iter_mut().enumerate() {
                    *f += feat_pass.get(p * feat_dim + d).copied().unwrap_or(0.0) / n;
                }
                for (l, (num, den)) in lead_acc.iter_mut().enumerate() {
                    *num += lead_num.get(p * N_LEADS + l).copied().unwrap_or(0.0);
                    *den += lead_den.get(p * N_LEADS + l).copied().unwrap_or(0.0);
                }
                for (a, z) in attr_z.iter_mut().enumerate() {
                    *z += attr_pass
                        .get(p * N_ATTRS as usize + a)
                        .copied()
                        .unwrap_or(0.0)
                        / n;
                }
                for (d, e) in embedding.iter_mut().enumerate() {
                    *e += emb_pass
                        .get(p * EMBED_DIM as usize + d)
                        .copied()
                        .unwrap_or(0.0)
                        / n;
                }
            }
            let point_err = if with_maps {
                let mut acc = vec![0.0_f32; N_LEADS * N_SAMPLES];
                let mut cnt = vec![0.0_f32; N_LEADS * N_SAMPLES];
                for &p in &all_passes {
                    let Some(spec) = specs.get(p) else { continue };
                    for l in 0..N_LEADS {
                        for j in 0..GLOBAL_LEN {
                            let m = gm_v
                                .get((p * N_LEADS + l) * GLOBAL_LEN + j)
                                .copied()
                                .unwrap_or(0.0);
                            if m > 0.0 {
                                let pos = l * N_SAMPLES + spec.offset + j;
                                if let (Some(a), Some(c)) = (acc.get_mut(pos), cnt.get_mut(pos)) {
                                    *a += eg_v
                                        .get((p * N_LEADS + l) * GLOBAL_LEN + j)
                                        .copied()
                                        .unwrap_or(0.0);
                                    *c += 1.0;
                                }
                            }
                        }
                        for j in 0..BEAT_LEN {
                            let m = bm_v
                                .get((p * N_LEADS + l) * BEAT_LEN + j)
                                .copied()
                                .unwrap_or(0.0);
                            let t = (spec.beat_peak + j).checked_sub(BEAT_PRE);
                            if let (true, Some(t)) = (m > 0.0, t) {
                                if t < N_SAMPLES {
                                    let pos = l * N_SAMPLES + t;
                                    if let (Some(a), Some(c)) = (acc.get_mut(pos), cnt.get_mut(pos))
                                    {
                                        *a += eb_v
                                            .get((p * N_LEADS + l) * BEAT_LEN + j)
                                            .copied()
                                            .unwrap_or(0.0);
                                        *c += 1.0;
                                    }
                                }
                            }
                        }
                    }
                }
                finish_map(&acc, &cnt, valid_v.as_deref(), w)
            } else {
                Vec::new()
            };
            let lead_err = lead_acc
                .iter()
                .map(|&(num, den)| if den > 0.0 { num / den } else { f32::NAN })
                .collect();
            out.push(MscrRaw {
                global_err: pooled(&g_num, &g_den),
                beat_err: pooled(&b_num, &b_den),
                trend_err: pooled(&t_num, &g_den),
                lead_err,
                attrs: norm.decode(&attr_z, &features),
                embedding,
                features,
                point_err,
            });
        }
        start = end;
    }
    out
}

/// Smallest per-beat, per-lead MSE the baseline's geometric mean takes (mV²), so that an
/// exact reconstruction (a flat lead) does not send the score to 0.
pub const BASELINE_ERROR_FLOOR: f64 = 1e-9;

/// Run the baseline over windows `[W, 12, 1000]` with their beats: every beat of a
/// window (its centre when it has none) is reconstructed; the score is the geometric mean
/// of the beats' per-lead MSE ([`BaselineRaw::mse`]), the map the squared error pasted
/// back at the beats' positions (overlaps averaged, gaps between beats filled from the
/// nearest beat, smoothed). Call inside `tch::no_grad`. `valid` as in [`mscr_raw`]: errors and maps
/// over real samples only.
pub fn baseline_raw(
    model: &BeatAe,
    windows: &Tensor,
    beats: &[Vec<usize>],
    with_maps: bool,
    valid: Option<&Tensor>,
) -> Vec<BaselineRaw> {
    let device = windows.device();
    let w_count = windows.size().first().copied().unwrap_or(0) as usize;
    let mut owner: Vec<i64> = Vec::new();
    let mut peaks: Vec<usize> = Vec::new();
    for w in 0..w_count {
        let b = views::beats_or_centre(beats.get(w).map_or(&[][..], Vec::as_slice));
        owner.extend(std::iter::repeat_n(w as i64, b.len()));
        peaks.extend(b);
    }
    let owner_t = Tensor::from_slice(&owner).to_device(device);
    let x = views::beat_windows(&windows.index_select(0, &owner_t), &peaks);
    let r = model.forward_t(&x, false);
    expect_shape(&r, &x.size(), "baseline reconstruction");
    let e = (&r - &x).square();
    let m = valid.map_or_else(
        || e.ones_like(),
        |v| views::beat_windows(&v.index_select(0, &owner_t), &peaks),
    );
    let dim2: &[i64] = &[2];
    let lead_num = to_vec(&(&e * &m).sum_dim_intlist(dim2, false, Kind::Float));
    let lead_den = to_vec(&m.sum_dim_intlist(dim2, false, Kind::Float));
    let (ev, mv) = if with_maps {
        (to_vec(&e), to_vec(&m))
    } else {
        (Vec::new(), Vec::new())
    };
    let valid_v = valid.filter(|_| with_maps).map(to_vec);
    let mut out = Vec::with_capacity(w_count);
    for w in 0..w_count {
        let passes: Vec<usize> = (0..owner.len())
            .filter(|&p| owner[p] as usize == w)
            .collect();
        let mut lead = [(0.0_f32, 0.0_f32); N_LEADS];
        for &p in &passes {
            for (l, acc) in lead.iter_mut().enumerate() {
                acc.0 += lead_num.get(p * N_LEADS + l).copied().unwrap_or(0.0);
                acc.1 += lead_den.get(p * N_LEADS + l).copied().unwrap_or(0.0);
            }
        }
        // The score: the geometric mean of every beat's per-lead MSE, each weighted by its
        // real samples (all alike on a complete recording); 0/0 (no real sample) gives
        // NaN: "not recorded".
        let (log_sum, den) = passes
            .iter()
            .flat_map(|&p| (0..N_LEADS).map(move |l| p * N_LEADS + l))
            .fold((0.0_f64, 0.0_f64), |(a, b), k| {
                let n = f64::from(lead_num.get(k).copied().unwrap_or(0.0));
                let d = f64::from(lead_den.get(k).copied().unwrap_or(0.0));
                if d > 0.0 {
                    (a + d * (n / d).max(BASELINE_ERROR_FLOOR).ln(), b + d)
                } else {
                    (a, b)
                }
            });
        let mse = (log_sum / den).exp() as f32;
        let lead_err = lead.iter().map(|(n, d)| n / d).collect();
        let point_err = if with_maps {
            let mut acc = vec![0.0_f32; N_LEADS * N_SAMPLES];
            let mut cnt = vec![0.0_f32; N_LEADS * N_SAMPLES];
            for &p in &passes {
                let peak = peaks.get(p).copied().unwrap_or(0);
                for l in 0..N_LEADS {
                    for j in 0..BEAT_LEN {
                        let k = (p * N_LEADS + l) * BEAT_LEN + j;
                        let Some(t) = (peak + j).checked_sub(BEAT_PRE) else {
                            continue;
                        };
                        if t >= N_SAMPLES || mv.get(k).copied().unwrap_or(0.0) <= 0.0 {
                            continue;
                        }
                        acc[l * N_SAMPLES + t] += ev.get(k).copied().unwrap_or(0.0);
                        cnt[l * N_SAMPLES + t] += 1.0;
                    }
                }
            }
            finish_map(&acc, &cnt, valid_v.as_deref(), w)
        } else {
            Vec::new()
        };
        out.push(BaselineRaw {
            mse,
            lead_err,
            point_err,
        });
    }
    out
}

/// Gaussian model of the training normals' embeddings (mean, shrunk precision).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingModel {
    pub mean: Vec<f32>,
    /// Row-major `[d × d]` inverse of the shrunk covariance.
    pub precision: Vec<f32>,
}

impl EmbeddingModel {
    /// Mahalanobis distance of one embedding.
    pub fn distance(&self, x: &[f32]) -> f32 {
        let d = self.mean.len();
        let diff: Vec<f64> = x
            .iter()
            .zip(&self.mean)
            .map(|(a, b)| f64::from(*a) - f64::from(*b))
            .collect();
        let mut acc = 0.0;
        for i in 0..d {
            let row = self.precision.get(i * d..(i + 1) * d).unwrap_or(&[]);
            let s: f64 = row.iter().zip(&diff).map(|(p, v)| f64::from(*p) * v).sum();
            acc += diff.get(i).copied().unwrap_or(0.0) * s;
        }
        acc.max(0.0).sqrt() as f32
    }
}

/// Floor added before the log of a feature statistic (activations are mostly ≥ 0).
const FEATURE_LOG_FLOOR: f32 = 1e-3;

/// Gaussian model of one block of the feature summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockGaussian {
    /// First feature of the block and its width.
    pub start: usize,
    pub len: usize,
    pub mean: Vec<f32>,
    /// Row-major `[len × len]` inverse of the shrunk covariance.
    pub precision: Vec<f32>,
    /// Median and IQR/1.349 of the block's distance on fold-9 normals.
    pub center: f32,
    pub scale: f32,
    /// The block's weight in [`FeatureModel::distance`] (1 = the plain mean over blocks;
    /// fitted on fold 9 by `ecglab`'s non-negative logistic weighting of the score).
    #[serde(default = "unit_weight")]
    pub weight: f32,
}

fn unit_weight() -> f32 {
    1.0
}

/// Density of the multi-scale encoder features ([`MscrRaw::features`]) of the training
/// normals, block by block (one Gaussian per encoder block on the log of its activation
/// statistics), in the manner of feature-density anomaly detectors (PaDiM, Defard et al.
/// 2021). The distance of a study is the weighted mean over blocks of each block's
/// Mahalanobis distance as a robust z-score on fold-9 normals (every weight 1: every
/// scale of the encoders, early blocks waveform detail, late ones rhythm and morphology,
/// counts alike).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureModel {
    pub blocks: Vec<BlockGaussian>,
    /// What each block's Gaussian models of the input (the encoder features' log by
    /// default; older manifests have no such field).
    #[serde(default)]
    pub input: FeatureInput,
}

/// The statistic a [`FeatureModel`]'s Gaussians model of its input vector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum FeatureInput {
    /// ln(|x| + floor) of every value ([`log_features`]): the encoder features.
    #[default]
    Log,
    /// (x − centre) / scale of every value, held within ±[`ROBUST_CLIP`]: measures of
    /// any units ([`crate::waves`]), centre and scale the training normals' median and
    /// IQR/1.349.
    Robust { center: Vec<f32>, scale: Vec<f32> },
}

/// Bound of a robustly standardized measure, so that one failed measurement cannot
/// outweigh the rest of its block.
pub const ROBUST_CLIP: f64 = 30.0;

impl FeatureInput {
    /// The modelled statistic of `x`, the inputs from `start` on (empty when `x` does not
    /// fit the standardization).
    pub fn apply(&self, x: &[f32], start: usize) -> Vec<f64> {
        match self {
            FeatureInput::Log => log_features(x),
            FeatureInput::Robust { center, scale } => {
                let (Some(c), Some(s)) = (
                    center.get(start..start + x.len()),
                    scale.get(start..start + x.len()),
                ) else {
                    return Vec::new();
                };
                x.iter()
                    .zip(c.iter().zip(s))
                    .map(|(v, (c, s))| {
                        (f64::from(*v - *c) / f64::from(s.max(1e-9)))
                            .clamp(-ROBUST_CLIP, ROBUST_CLIP)
                    })
                    .collect()
            }
        }
    }
}

/// The statistic each block's Gaussian models: ln(|x| + floor) of every feature.
pub fn log_features(x: &[f32]) -> Vec<f64> {
    x.iter()
        .map(|v| f64::from((v.abs() + FEATURE_LOG_FLOOR).ln()))
        .collect()
}

impl FeatureModel {
    /// Mahalanobis distance of one block (`b`) of a feature summary from its Gaussian,
    /// before the block's centre and scale (NaN when the features do not match).
    pub fn block_distance(&self, b: usize, features: &[f32]) -> f32 {
        let Some(block) = self.blocks.get(b) else {
            return f32::NAN;
        };
        let Some(x) = features.get(block.start..block.start + block.len) else {
            return f32::NAN;
        };
        let diff: Vec<f64> = self
            .input
            .apply(x, block.start)
            .iter()
            .zip(&block.mean)
            .map(|(a, m)| a - f64::from(*m))
            .collect();
        if diff.len() != block.len || block.precision.len() != block.len * block.len {
            return f32::NAN;
        }
        let mut acc = 0.0;
        for (i, row) in block.precision.chunks_exact(block.len).enumerate() {
            let s: f64 = row.iter().zip(&diff).map(|(p, v)| f64::from(*p) * v).sum();
            acc += diff[i] * s;
        }
        acc.max(0.0).sqrt() as f32
    }

    /// The block's robust z-scored distance (NaN when the features do not match).
    pub fn block_z(&self, b: usize, features: &[f32]) -> f32 {
        self.blocks.get(b).map_or(f32::NAN, |block| {
            (self.block_distance(b, features) - block.center) / block.scale
        })
    }

    /// Weighted mean over blocks of the blocks' robust z-scored distances (NaN when the
    /// features do not match the model).
    pub fn distance(&self, features: &[f32]) -> f32 {
        let n = self.blocks.len().max(1) as f32;
        self.blocks
            .iter()
            .enumerate()
            .map(|(b, block)| {
                if block.weight == 0.0 {
                    0.0
                } else {
                    block.weight * self.block_z(b, features)
                }
            })
            .sum::<f32>()
            / n
    }
}

/// The models of the training normals that score components compare a study with.
#[derive(Debug, Clone, Copy, Default)]
pub struct NormalModels<'a> {
    pub embedding: Option<&'a EmbeddingModel>,
    pub features: Option<&'a FeatureModel>,
    pub shape: Option<&'a crate::shape::ShapeModel>,
    /// Density of the training normals' wave measures ([`crate::waves`]).
    pub waves: Option<&'a FeatureModel>,
}

/// Named score components of one window (NaN = not available). The `_gap` ones are
/// |predicted − actual| of an attribute, the `_excess` ones the same difference with its
/// sign for the measured ones (predicted − measured: the network expects a faster, longer-PR,
/// longer-QRS … tracing than the one measured); see [`is_signed`]. Age and sex keep only
/// their unsigned gap: with a sign, the recorded age itself would enter the score (the
/// predicted age regresses to the mean), making older patients look less normal for their
/// age alone. `waves` is the block-wise density of the median beat's wave measures
/// ([`crate::waves`]).
pub const COMPONENTS: [&str; 19] = [
    "global",
    "beat",
    "trend",
    "embedding",
    "features",
    "age_gap",
    "sex_gap",
    "hr_gap",
    "pr_gap",
    "qrs_gap",
    "qt_gap",
    "qtc_gap",
    "shape",
    "hr_excess",
    "pr_excess",
    "qrs_excess",
    "qt_excess",
    "qtc_excess",
    "waves",
];

/// Whether a component is signed (either direction may be the unusual one, so its weight
/// may be negative); every other component is a distance, higher = less normal.
pub fn is_signed(name: &str) -> bool {
    name.ends_with("_excess")
}

/// Component values for one window. `actual` are the known attributes (NaN unknown),
/// `beat` the study's median-beat vector ([`crate::shape::beat_vector`]) when it has one.
pub fn components(
    raw: &MscrRaw,
    actual: &Attributes,
    beat: Option<&[f32]>,
    normals: NormalModels<'_>,
) -> Vec<f32> {
    let actual = actual.to_array();
    let ln = |v: f32| v.max(1e-8).ln();
    let excess = |a: usize| raw.attrs[a] - actual[a];
    let gap = |a: usize| excess(a).abs();
    vec![
        ln(raw.global_err),
        ln(raw.beat_err),
        ln(raw.trend_err),
        normals
            .embedding
            .map_or(f32::NAN, |m| m.distance(&raw.embedding)),
        normals
            .features
            .map_or(f32::NAN, |m| m.distance(&raw.features)),
        gap(0),
        gap(1),
        gap(2),
        gap(3),
        gap(4),
        gap(5),
        gap(6),
        match (normals.shape, beat) {
            (Some(m), Some(b)) => m.distance(b),
            _ => f32::NAN,
        },
        excess(2),
        excess(3),
        excess(4),
        excess(5),
        excess(6),
        match (normals.waves, beat.and_then(crate::waves::wave_measures)) {
            (Some(m), Some(w)) => m.distance(&w),
            _ => f32::NAN,
        },
    ]
}

/// How raw components become one study score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Component names, order of [`COMPONENTS`].
    pub names: Vec<String>,
    /// Median of each component on fold-9 normals.
    pub center: Vec<f32>,
    /// IQR/1.349 of each component on fold-9 normals.
    pub scale: Vec<f32>,
    /// Weight of each component (0 = not used).
    pub weights: Vec<f32>,
}

impl Calibration {
    /// Weighted sum of robust z-scores; unavailable components count as 0.
    pub fn score(&self, comps: &[f32]) -> f32 {
        self.contributions(comps).iter().sum()
    }

    /// What each component adds to [`Calibration::score`] (weight × robust z, order of
    /// the weights; 0 where unused or unavailable).
    pub fn contributions(&self, comps: &[f32]) -> Vec<f32> {
        self.weights
            .iter()
            .enumerate()
            .map(|(c, &w)| {
                if w == 0.0 {
                    return 0.0;
                }
                let v = comps.get(c).copied().unwrap_or(f32::NAN);
                let z = (v - self.center.get(c).copied().unwrap_or(0.0))
                    / self.scale.get(c).copied().unwrap_or(1.0);
                if z.is_finite() {
                    w * z
                } else {
                    0.0
                }
            })
            .collect()
    }
}
