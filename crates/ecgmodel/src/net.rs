//! The networks: the masked multi-scale cross-restoration network (MSCR, ours) and the
//! reconstruction autoencoder baseline.
//!
//! MSCR follows the multi-scale cross-restoration framework (Jiang et al., MICCAI 2023,
//! "Multi-scale Cross-restoration Framework for Electrocardiogram Anomaly Detection", and
//! its journal extension with the trend stream and attribute prediction; public code
//! MediaBrain-SJTU/ECGAD), sized down for ~800 training ECGs at 100 Hz:
//! - global encoder over the masked 9.6 s view (12 leads + mask channel), five stride-2
//!   conv blocks (BatchNorm + LeakyReLU) to 30 tokens of width [`D_MODEL`];
//! - trend encoder over the masked smoothed first difference, fused with the global tokens;
//! - beat encoder over one masked 0.8 s beat to 5 tokens;
//! - cross-attention: global tokens attend to beat tokens and vice versa (multi-head);
//! - mirrored transposed-conv decoders giving mean and log-variance for the global view and
//!   the beat, and the restored trend;
//! - an attribute head on the pooled tokens (age, sex, HR, PR, QRS, QT, QTc, normalized).
//!
//! The baseline is a BeatGAN-style autoencoder of single beats with a small latent
//! vector (MSE).
//! Shapes: `[batch, channels, samples]`; amplitudes in contract units (see `contract`).

use crate::contract::{BEAT_LEN, GLOBAL_LEN, N_LEADS};
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

/// Token width.
pub const D_MODEL: i64 = 64;
/// Attention heads.
pub const N_HEADS: i64 = 4;
/// Attributes predicted: age, sex (logit), HR, PR, QRS, QT, QTc.
pub const N_ATTRS: i64 = 7;
/// Width of the pooled embedding (global + beat).
pub const EMBED_DIM: i64 = 2 * D_MODEL;
/// Gain applied to the smoothed first difference so it has roughly unit scale.
pub const TREND_GAIN: f64 = 4.0;

const N_IN: i64 = N_LEADS as i64;

/// Conv block: stride-2 conv, BatchNorm, LeakyReLU.
#[derive(Debug)]
struct Down {
    conv: nn::Conv1D,
    bn: nn::BatchNorm,
}

impl Down {
    fn new(p: &nn::Path, c_in: i64, c_out: i64, k: i64) -> Down {
        let cfg = nn::ConvConfig {
            stride: 2,
            padding: k / 2,
            bias: false,
            ..Default::default()
        };
        Down {
            conv: nn::conv1d(p / "conv", c_in, c_out, k, cfg),
            bn: nn::batch_norm1d(p / "bn", c_out, nn::BatchNormConfig::default()),
        }
    }
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.bn.forward_t(&x.apply(&self.conv), train).leaky_relu()
    }
}

/// Up block: transposed conv doubling the length, BatchNorm, LeakyReLU.
#[derive(Debug)]
struct Up {
    conv: nn::ConvTranspose1D,
    bn: nn::BatchNorm,
}

impl Up {
    fn new(p: &nn::Path, c_in: i64, c_out: i64) -> Up {
        let cfg = nn::ConvTransposeConfig {
            stride: 2,
            padding: 1,
            bias: false,
            ..Default::default()
        };
        Up {
            conv: nn::conv_transpose1d(p / "conv", c_in, c_out, 4, cfg),
            bn: nn::batch_norm1d(p / "bn", c_out, nn::BatchNormConfig::default()),
        }
    }
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.bn.forward_t(&x.apply(&self.conv), train).leaky_relu()
    }
}

/// A stack of down blocks.
#[derive(Debug)]
struct Encoder {
    blocks: Vec<Down>,
}

impl Encoder {
    fn new(p: &nn::Path, channels: &[i64], kernels: &[i64]) -> Encoder {
        let blocks = channels
            .windows(2)
            .zip(kernels)
            .enumerate()
            .map(|(i, (c, &k))| Down::new(&(p / format!("d{i}")), c[0], c[1], k))
            .collect();
        Encoder { blocks }
    }
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.blocks
            .iter()
            .fold(x.shallow_clone(), |h, b| b.forward_t(&h, train))
    }

    /// Output, and the time mean and standard deviation of every block's activations
    /// `[B, Σ 2·channels]` (the multi-scale feature summary).
    fn forward_with_stats(&self, x: &Tensor, train: bool) -> (Tensor, Tensor) {
        let mut h = x.shallow_clone();
        let mut stats = Vec::with_capacity(2 * self.blocks.len());
        let dim: &[i64] = &[2];
        for b in &self.blocks {
            h = b.forward_t(&h, train);
            // Two passes (mean, then mean squared deviation) instead of `std_dim`, whose
            // Welford reduction in double precision took a tenth of a batch `eval`'s CPU
            // time; the same population SD to float precision.
            let mean = h.mean_dim(dim, true, Kind::Float);
            let sd = (&h - &mean)
                .square()
                .mean_dim(dim, false, Kind::Float)
                .sqrt();
            stats.push(mean.squeeze_dim(2));
            stats.push(sd);
        }
        (h, Tensor::cat(&stats, 1))
    }
}

/// A stack of up blocks and a final 3-tap conv to the output channels.
#[derive(Debug)]
struct Decoder {
    blocks: Vec<Up>,
    head: nn::Conv1D,
}

impl Decoder {
    fn new(p: &nn::Path, channels: &[i64], c_out: i64) -> Decoder {
        let blocks = channels
            .windows(2)
            .enumerate()
            .map(|(i, c)| Up::new(&(p / format!("u{i}")), c[0], c[1]))
            .collect();
        let last = channels.last().copied().unwrap_or(D_MODEL);
        let head = nn::conv1d(
            p / "head",
            last,
            c_out,
            3,
            nn::ConvConfig {
                padding: 1,
                ..Default::default()
            },
        );
        Decoder { blocks, head }
    }
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.blocks
            .iter()
            .fold(x.shallow_clone(), |h, b| b.forward_t(&h, train))
            .apply(&self.head)
    }
}

/// Multi-head attention (scaled dot product), queries from one token set, keys/values
/// from another, with residual and LayerNorm.
#[derive(Debug)]
struct CrossAttention {
    q: nn::Linear,
    k: nn::Linear,
    v: nn::Linear,
    o: nn::Linear,
    norm: nn::LayerNorm,
}

impl CrossAttention {
    fn new(p: &nn::Path) -> CrossAttention {
        let lin = |name: &str| nn::linear(p / name, D_MODEL, D_MODEL, nn::LinearConfig::default());
        CrossAttention {
            q: lin("q"),
            k: lin("k"),
            v: lin("v"),
            o: lin("o"),
            norm: nn::layer_norm(p / "norm", vec![D_MODEL], nn::LayerNormConfig::default()),
        }
    }

    /// `queries`: `[B, Lq, D]`, `context`: `[B, Lk, D]` → `[B, Lq, D]`.
    fn forward_t(&self, queries: &Tensor, context: &Tensor, train: bool) -> Tensor {
        let (b, lq, _) = queries.size3().unwrap_or((1, 1, D_MODEL));
        let lk = context.size().get(1).copied().unwrap_or(1);
        let dh = D_MODEL / N_HEADS;
        let split = |t: Tensor, l: i64| t.view([b, l, N_HEADS, dh]).transpose(1, 2);
        let q = split(queries.apply(&self.q), lq);
        let k = split(context.apply(&self.k), lk);
        let v = split(context.apply(&self.v), lk);
        let att = (q.matmul(&k.transpose(-2, -1)) / (dh as f64).sqrt())
            .softmax(-1, Kind::Float)
            .dropout(0.1, train);
        let out = att
            .matmul(&v)
            .transpose(1, 2)
            .contiguous()
            .view([b, lq, D_MODEL])
            .apply(&self.o);
        (queries + out).apply(&self.norm)
    }
}

/// Everything MSCR outputs for a batch.
#[derive(Debug)]
pub struct MscrOutput {
    /// Restored global view `[B, 12, 960]`.
    pub global_mean: Tensor,
    /// Log-variance of the global restoration `[B, 12, 960]` (clamped to ±5).
    pub global_logvar: Tensor,
    /// Restored beat `[B, 12, 80]`.
    pub beat_mean: Tensor,
    pub beat_logvar: Tensor,
    /// Restored trend `[B, 12, 960]`.
    pub trend: Tensor,
    /// Normalized attributes `[B, 7]` (sex as a logit).
    pub attributes: Tensor,
    /// Pooled embedding `[B, 128]`.
    pub embedding: Tensor,
    /// Multi-scale feature summary: time mean and SD of every encoder block's
    /// activations (global, trend, beat) `[B, F]`.
    pub features: Tensor,
}

/// The masked multi-scale cross-restoration network.
#[derive(Debug)]
pub struct Mscr {
    global_enc: Encoder,
    trend_enc: Encoder,
    beat_enc: Encoder,
    fuse: nn::Conv1D,
    pos_global: Tensor,
    pos_beat: Tensor,
    global_to_beat: CrossAttention,
    beat_to_global: CrossAttention,
    global_dec: Decoder,
    trend_dec: Decoder,
    beat_dec: Decoder,
    attr_hidden: nn::Linear,
    attr_out: nn::Linear,
}

/// Widths of the blocks of [`MscrOutput::features`] (mean and SD of each encoder block's
/// channels: global, trend, beat), in order.
pub fn feature_blocks() -> Vec<usize> {
    [
        GLOBAL_CHANNELS.as_slice(),
        TREND_CHANNELS.as_slice(),
        BEAT_CHANNELS.as_slice(),
    ]
    .iter()
    .flat_map(|c| c.iter().skip(1).map(|&w| 2 * w as usize))
    .collect()
}

const GLOBAL_CHANNELS: [i64; 6] = [N_IN + 1, 32, 48, 64, D_MODEL, D_MODEL];
const TREND_CHANNELS: [i64; 6] = [N_IN + 1, 16, 32, 48, D_MODEL, D_MODEL];
const BEAT_CHANNELS: [i64; 5] = [N_IN + 1, 32, 48, 64, D_MODEL];

/// Global tokens after five stride-2 blocks.
pub const N_GLOBAL_TOKENS: i64 = (GLOBAL_LEN / 32) as i64;
/// Beat tokens after four stride-2 blocks.
pub const N_BEAT_TOKENS: i64 = (BEAT_LEN / 16) as i64;

impl Mscr {
    /// Build the network's variables under `p`.
    pub fn new(p: &nn::Path) -> Mscr {
        let d = D_MODEL;
        Mscr {
            global_enc: Encoder::new(&(p / "global_enc"), &GLOBAL_CHANNELS, &[7, 5, 5, 3, 3]),
            trend_enc: Encoder::new(&(p / "trend_enc"), &TREND_CHANNELS, &[7, 5, 5, 3, 3]),
            beat_enc: Encoder::new(&(p / "beat_enc"), &BEAT_CHANNELS, &[7, 5, 3, 3]),
            fuse: nn::conv1d(p / "fuse", 2 * d, d, 1, nn::ConvConfig::default()),
            pos_global: p.randn("pos_global", &[1, N_GLOBAL_TOKENS, d], 0.0, 0.02),
            pos_beat: p.randn("pos_beat", &[1, N_BEAT_TOKENS, d], 0.0, 0.02),
            global_to_beat: CrossAttention::new(&(p / "g2b")),
            beat_to_global: CrossAttention::new(&(p / "b2g")),
            global_dec: Decoder::new(&(p / "global_dec"), &[d, 64, 48, 32, 24, 16], 2 * N_IN),
            trend_dec: Decoder::new(&(p / "trend_dec"), &[d, 32, 32, 16, 16, 8], N_IN),
            beat_dec: Decoder::new(&(p / "beat_dec"), &[d, d, 48, 32, 32], 2 * N_IN),
            attr_hidden: nn::linear(
                p / "attr_hidden",
                EMBED_DIM,
                64,
                nn::LinearConfig::default(),
            ),
            attr_out: nn::linear(p / "attr_out", 64, N_ATTRS, nn::LinearConfig::default()),
        }
    }

    /// `global_in`, `trend_in`: `[B, 13, 960]` (masked signal + mask channel);
    /// `beat_in`: `[B, 13, 80]`.
    pub fn forward_t(
        &self,
        global_in: &Tensor,
        trend_in: &Tensor,
        beat_in: &Tensor,
        train: bool,
    ) -> MscrOutput {
        let (g, g_stats) = self.global_enc.forward_with_stats(global_in, train);
        let (t, t_stats) = self.trend_enc.forward_with_stats(trend_in, train);
        let g = Tensor::cat(&[g, t], 1).apply(&self.fuse); // [B, D, 30]
        let (b, b_stats) = self.beat_enc.forward_with_stats(beat_in, train); // [B, D, 5]
        let features = Tensor::cat(&[g_stats, t_stats, b_stats], 1);
        let g_tok = g.transpose(1, 2) + &self.pos_global;
        let b_tok = b.transpose(1, 2) + &self.pos_beat;
        let g_att = self.beat_to_global.forward_t(&g_tok, &b_tok, train);
        let b_att = self.global_to_beat.forward_t(&b_tok, &g_tok, train);
        let g_lat = g_att.transpose(1, 2);
        let b_lat = b_att.transpose(1, 2);
        let global = self.global_dec.forward_t(&g_lat, train);
        let beat = self.beat_dec.forward_t(&b_lat, train);
        let trend = self.trend_dec.forward_t(&g_lat, train);
        let embedding = Tensor::cat(
            &[
                g_lat.mean_dim([2i64].as_slice(), false, Kind::Float),
                b_lat.mean_dim([2i64].as_slice(), false, Kind::Float),
            ],
            1,
        );
        let attributes = embedding
            .dropout(0.2, train)
            .apply(&self.attr_hidden)
            .leaky_relu()
            .dropout(0.2, train)
            .apply(&self.attr_out);
        let gm = global.narrow(1, 0, N_IN);
        let gs = global.narrow(1, N_IN, N_IN).clamp(-5.0, 5.0);
        let bm = beat.narrow(1, 0, N_IN);
        let bs = beat.narrow(1, N_IN, N_IN).clamp(-5.0, 5.0);
        MscrOutput {
            global_mean: gm,
            global_logvar: gs,
            beat_mean: bm,
            beat_logvar: bs,
            trend,
            attributes,
            embedding,
            features,
        }
    }
}

/// Width of the baseline's bottleneck vector.
pub const BASELINE_LATENT: i64 = 32;
/// Channels at the baseline's narrowest point (10 samples × this, around the latent).
const BASELINE_CH: i64 = 64;
/// Samples at the baseline's narrowest point (the 80-sample beat after three halvings).
const BASELINE_LEN: i64 = (BEAT_LEN / 8) as i64;

/// The baseline: beat reconstruction in the BeatGAN style (Zhou et al., IJCAI 2019): each
/// 12-lead beat (the 800 ms beat view around an R peak, see `views`) passes through a
/// conv encoder to a [`BASELINE_LATENT`]-wide vector and back through a mirrored
/// transposed-conv decoder, trained with MSE on normal beats (no masking, attention,
/// trend or attributes). The score is the geometric mean of the beats' per-lead mean
/// squared reconstruction errors ([`crate::score::BaselineRaw::mse`]), the
/// map the squared error pasted back at the beats' positions. Beats are aligned on their
/// R peak, so a small latent can hold what normal beats share; a whole 10 s window with
/// beats at arbitrary phases cannot pass such a bottleneck (it comes out flat), and
/// without the bottleneck the network learns to copy any input.
#[derive(Debug)]
pub struct BeatAe {
    enc: Encoder,
    to_latent: nn::Linear,
    from_latent: nn::Linear,
    dec: Decoder,
}

impl BeatAe {
    pub fn new(p: &nn::Path) -> BeatAe {
        let flat = BASELINE_CH * BASELINE_LEN;
        BeatAe {
            enc: Encoder::new(&(p / "enc"), &[N_IN, 32, 64, BASELINE_CH], &[5, 5, 3]),
            to_latent: nn::linear(
                p / "to_latent",
                flat,
                BASELINE_LATENT,
                nn::LinearConfig::default(),
            ),
            from_latent: nn::linear(
                p / "from_latent",
                BASELINE_LATENT,
                flat,
                nn::LinearConfig::default(),
            ),
            dec: Decoder::new(&(p / "dec"), &[BASELINE_CH, 64, 32, 32], N_IN),
        }
    }
}

impl ModuleT for BeatAe {
    /// `[B, 12, 80]` beats → their reconstruction.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = self.enc.forward_t(x, train);
        let b = h.size().first().copied().unwrap_or(1);
        let z = h.view([b, -1]).apply(&self.to_latent);
        let h = z
            .apply(&self.from_latent)
            .leaky_relu()
            .view([b, BASELINE_CH, BASELINE_LEN]);
        self.dec.forward_t(&h, train)
    }
}

/// Smoothed first difference (moving average over 5 samples, then difference), × [`TREND_GAIN`].
/// `[B, C, L]` → `[B, C, L]` (last sample 0).
pub fn trend(x: &Tensor) -> Tensor {
    let smooth = x.avg_pool1d(
        [5i64].as_slice(),
        [1i64].as_slice(),
        [2i64].as_slice(),
        false,
        false,
    );
    let len = smooth.size().last().copied().unwrap_or(0);
    let diff = smooth.narrow(-1, 1, len - 1) - smooth.narrow(-1, 0, len - 1);
    diff.constant_pad_nd([0i64, 1].as_slice()) * TREND_GAIN
}

/// Count trainable parameters of a var store.
pub fn parameter_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(Tensor::numel)
        .map(|n| n as i64)
        .sum()
}
