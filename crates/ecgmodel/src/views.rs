//! The views MSCR restores, and their masks.
//!
//! From a `[B, 12, 1000]` window: the global view is a 960-sample crop (random offset in
//! training = small time shift; centred at test), cut into 24 patches of 400 ms of which
//! some are zeroed in all leads at once; the trend view is the smoothed first difference
//! of the crop with the same mask; the beat view is 800 ms around one R peak (280 ms
//! before) with one contiguous 240 ms span zeroed. Each masked input carries its mask as a
//! 13th channel. At test time [`N_TEST_MASKS`] fixed interleaved patch masks are used
//! (mask `k` hides patches `p ≡ k mod 3`, so every sample is hidden once) and the beat
//! spans start at 0, 28 and 56 samples.

use crate::contract::{
    BEAT_LEN, BEAT_MASK_LEN, BEAT_PRE, GLOBAL_LEN, GLOBAL_OFFSET, N_PATCHES, N_SAMPLES,
    N_TEST_MASKS, PATCH_LEN,
};
use crate::net::trend;
use tch::{Device, Kind, Tensor};

/// Beat-mask starts used at test time.
pub const TEST_BEAT_MASK_STARTS: [usize; 3] = [0, 28, 56];

/// How to cut one example.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewSpec {
    /// Start of the global crop in the 1000-sample window.
    pub offset: usize,
    /// R peak of the beat (window samples).
    pub beat_peak: usize,
    /// Which of the [`N_PATCHES`] patches are hidden.
    pub masked_patches: Vec<bool>,
    /// Start of the hidden span in the beat.
    pub beat_mask_start: usize,
}

/// Inputs and targets for one batch.
#[derive(Debug)]
pub struct Views {
    /// `[B, 13, 960]`: masked crop + mask channel.
    pub global_in: Tensor,
    /// `[B, 13, 960]`: masked trend + mask channel.
    pub trend_in: Tensor,
    /// `[B, 13, 80]`: masked beat + mask channel.
    pub beat_in: Tensor,
    /// `[B, 12, 960]` clean crop.
    pub global_target: Tensor,
    /// `[B, 12, 960]` trend of the clean crop.
    pub trend_target: Tensor,
    /// `[B, 12, 80]` clean beat.
    pub beat_target: Tensor,
    /// `[B, 1, 960]`, 1 where hidden.
    pub global_mask: Tensor,
    /// `[B, 1, 80]`, 1 where hidden.
    pub beat_mask: Tensor,
}

fn gather_windows(x: &Tensor, starts: &[i64], len: i64) -> Tensor {
    let device = x.device();
    let (b, c, n) = x.size3().unwrap_or((0, 0, 0));
    let s = Tensor::from_slice(starts).to_device(device).view([b, 1]);
    let idx = (Tensor::arange(len, (Kind::Int64, device)).view([1, len]) + s).clamp(0, n - 1);
    x.gather(2, &idx.unsqueeze(1).expand([b, c, len], false), false)
}

/// A `[B]` spec list → masks as tensors.
fn masks(specs: &[ViewSpec], device: Device) -> (Tensor, Tensor) {
    let b = specs.len() as i64;
    let mut g = Vec::with_capacity(specs.len() * GLOBAL_LEN);
    let mut bm = Vec::with_capacity(specs.len() * BEAT_LEN);
    for s in specs {
        for p in 0..N_PATCHES {
            let hidden = s.masked_patches.get(p).copied().unwrap_or(false);
            g.extend(std::iter::repeat_n(
                if hidden { 1.0_f32 } else { 0.0 },
                PATCH_LEN,
            ));
        }
        for i in 0..BEAT_LEN {
            let hidden = i >= s.beat_mask_start && i < s.beat_mask_start + BEAT_MASK_LEN;
            bm.push(if hidden { 1.0_f32 } else { 0.0 });
        }
    }
    (
        Tensor::from_slice(&g)
            .view([b, 1, GLOBAL_LEN as i64])
            .to_device(device),
        Tensor::from_slice(&bm)
            .view([b, 1, BEAT_LEN as i64])
            .to_device(device),
    )
}

/// Cut the views. `clean` and `noisy` are `[B, 12, 1000]` on the same device (pass the
/// same tensor twice at test time); inputs come from `noisy`, targets from `clean`.
pub fn build(clean: &Tensor, noisy: &Tensor, specs: &[ViewSpec]) -> Views {
    let device = clean.device();
    let offsets: Vec<i64> = specs.iter().map(|s| s.offset as i64).collect();
    let beat_starts: Vec<i64> = specs
        .iter()
        .map(|s| s.beat_peak as i64 - BEAT_PRE as i64)
        .collect();
    let crop_clean = gather_windows(clean, &offsets, GLOBAL_LEN as i64);
    let crop_noisy = gather_windows(noisy, &offsets, GLOBAL_LEN as i64);
    let beat_clean = gather_windows(clean, &beat_starts, BEAT_LEN as i64);
    let beat_noisy = gather_windows(noisy, &beat_starts, BEAT_LEN as i64);
    let (gmask, bmask) = masks(specs, device);
    let keep_g = 1.0 - &gmask;
    let keep_b = 1.0 - &bmask;
    let trend_clean = trend(&crop_clean);
    let trend_noisy = trend(&crop_noisy);
    Views {
        global_in: Tensor::cat(&[&crop_noisy * &keep_g, gmask.shallow_clone()], 1),
        trend_in: Tensor::cat(&[&trend_noisy * &keep_g, gmask.shallow_clone()], 1),
        beat_in: Tensor::cat(&[&beat_noisy * &keep_b, bmask.shallow_clone()], 1),
        global_target: crop_clean,
        trend_target: trend_clean,
        beat_target: beat_clean,
        global_mask: gmask,
        beat_mask: bmask,
    }
}

/// The beat view of each window: `x` `[P, C, 1000]`, one R peak per row → `[P, C, 80]`
/// (from [`BEAT_PRE`] samples before the peak; edges repeat the end sample).
pub fn beat_windows(x: &Tensor, peaks: &[usize]) -> Tensor {
    let starts: Vec<i64> = peaks.iter().map(|&p| p as i64 - BEAT_PRE as i64).collect();
    gather_windows(x, &starts, BEAT_LEN as i64)
}

/// The beats scored in one window: its usable beats, or the window's centre when none
/// was found (so every window gets a score).
pub fn beats_or_centre(beats: &[usize]) -> Vec<usize> {
    if beats.is_empty() {
        vec![N_SAMPLES / 2]
    } else {
        beats.to_vec()
    }
}

/// The centred crop `[B, 12, 960]`.
pub fn centre_crop(x: &Tensor) -> Tensor {
    x.narrow(2, GLOBAL_OFFSET as i64, GLOBAL_LEN as i64)
}

/// Fixed test-time specs for one window with the given beats: `max(3, beats)` passes;
/// pass `i` uses patch mask `i mod 3`, beat `i mod beats` and beat span `i mod 3`.
pub fn test_specs(beats: &[usize]) -> Vec<ViewSpec> {
    let fallback = [N_SAMPLES / 2];
    let beats = if beats.is_empty() {
        &fallback[..]
    } else {
        beats
    };
    let n = beats.len().max(N_TEST_MASKS);
    (0..n)
        .map(|i| ViewSpec {
            offset: GLOBAL_OFFSET,
            beat_peak: beats[i % beats.len()],
            masked_patches: (0..N_PATCHES)
                .map(|p| p % N_TEST_MASKS == i % N_TEST_MASKS)
                .collect(),
            beat_mask_start: TEST_BEAT_MASK_STARTS[i % TEST_BEAT_MASK_STARTS.len()],
        })
        .collect()
}

/// SplitMix64: a small deterministic generator for crop offsets, beats and masks.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % (n.max(1) as u64)) as usize
    }
    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// A random training spec: random crop offset, random beat, random patches, random span.
pub fn random_spec(rng: &mut SplitMix64, beats: &[usize], n_masked: usize) -> ViewSpec {
    let offset = rng.below(N_SAMPLES - GLOBAL_LEN + 1);
    let beat_peak = if beats.is_empty() {
        N_SAMPLES / 2
    } else {
        beats[rng.below(beats.len())]
    };
    let mut order: Vec<usize> = (0..N_PATCHES).collect();
    rng.shuffle(&mut order);
    let mut masked_patches = vec![false; N_PATCHES];
    for &p in order.iter().take(n_masked) {
        masked_patches[p] = true;
    }
    ViewSpec {
        offset,
        beat_peak,
        masked_patches,
        beat_mask_start: rng.below(BEAT_LEN - BEAT_MASK_LEN + 1),
    }
}
