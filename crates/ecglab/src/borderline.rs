//! The borderline band around each method's threshold: the scores at which a change of
//! the tracing that no reader would see can turn the verdict.
//!
//! Every PTB-XL fold-9 study (validation) is scored as recorded and [`DRAWS`] times with
//! [`NOISE_UV`] µV (RMS) of white noise added to every lead (seeded by row and draw). Of
//! the noisy copies whose verdict differs from the study's, the margin is the [`SHARE`]
//! quantile of the distances of their studies' scores from the threshold, so that that
//! share of the turned verdicts lie inside the band (a study turned in two draws counts
//! twice: how likely a turn is, not only whether one was seen). A study whose score lies
//! within the margin of the threshold is called borderline (`ModelOutput::judge_against`). The same is done on
//! fold 10 and only reported: how many studies the band holds, and how many verdicts the
//! noise flipped, in all and outside the band.
//!
//! Fitted by `train` on the models it writes, and by
//! `cargo run --release -p ecglab --example calibrate_borderline -- [models]` on
//! existing ones.

use crate::train::quantile;
use ecgcore::recording::Recording;
use ecgmodel::eval::{self, ManifestRow};
use ecgmodel::manifest::{BandEffect, BorderlineFigures, BorderlineFit, ModelManifest};
use ecgmodel::views::SplitMix64;
use ecgmodel::{Analyzer, ModelError};
use std::path::Path;

/// RMS of the added white noise (µV): below the resolution of most recorders' paper and
/// screen (0.05 mm at 10 mm/mV), and within the noise floor of a resting ECG.
pub const NOISE_UV: f32 = 5.0;
/// Noise draws per study.
pub const DRAWS: usize = 3;
/// Share of the noisy copies whose verdict turned that the band holds.
pub const SHARE: f32 = 0.9;

/// Add `uv` µV (RMS) of uniform white noise to every lead of `rec`, seeded by `seed`.
pub fn add_white_noise(rec: &mut Recording, uv: f32, seed: u64) {
    let mut rng = SplitMix64(seed);
    let half_width = 0.001 * uv * 3f32.sqrt();
    for lead in &mut rec.leads {
        for v in &mut lead.samples_mv {
            let u = (rng.next_u64() >> 11) as f32 / (1u64 << 53) as f32;
            *v += (2.0 * u - 1.0) * half_width;
        }
    }
}

/// One study's score as recorded and with each perturbed copy (noise draws, another
/// scan, …).
pub type Scored = (f32, Vec<f32>);

/// Scores of one set of studies: (ours, baseline).
struct Pairs {
    ours: Vec<Scored>,
    baseline: Vec<Scored>,
}

fn score_pairs(analyzer: &Analyzer, rows: &[ManifestRow]) -> Pairs {
    let bar = indicatif::ProgressBar::hidden();
    let clean = eval::score_rows(rows, analyzer, &bar, None);
    let noisy: Vec<Vec<eval::RowResult>> = (0..DRAWS)
        .map(|draw| {
            let noise = move |rec: &mut Recording, i: usize| {
                let seed = 0x5eed_0000 + (i * DRAWS + draw) as u64;
                add_white_noise(rec, NOISE_UV, seed);
            };
            eval::score_rows(rows, analyzer, &bar, Some(&noise))
        })
        .collect();
    let mut pairs = Pairs {
        ours: Vec::new(),
        baseline: Vec::new(),
    };
    for (i, result) in clean.iter().enumerate() {
        let Ok((o, b, _)) = result else { continue };
        let (mut ours, mut base) = (Vec::new(), Vec::new());
        for draw in &noisy {
            if let Some(Ok((on, bn, _))) = draw.get(i) {
                ours.push(on.score);
                base.push(bn.score);
            }
        }
        pairs.ours.push((o.score, ours));
        pairs.baseline.push((b.score, base));
    }
    pairs
}

/// How many noise draws turned the study's verdict.
fn flipped((clean, noisy): &Scored, threshold: f32) -> usize {
    noisy
        .iter()
        .filter(|&&n| (n >= threshold) != (*clean >= threshold))
        .count()
}

/// The margin: the [`SHARE`] quantile of the turned copies' distances from the
/// threshold (0 when the noise turned none).
pub fn margin(scored: &[Scored], threshold: f32) -> f32 {
    let mut distances: Vec<f32> = scored
        .iter()
        .flat_map(|s| std::iter::repeat_n((s.0 - threshold).abs(), flipped(s, threshold)))
        .filter(|d| d.is_finite())
        .collect();
    if distances.is_empty() {
        return 0.0;
    }
    quantile(&mut distances, SHARE)
}

/// What a band of `margin` around `threshold` does on `scored`.
pub fn band_effect(scored: &[Scored], threshold: f32, margin: f32) -> BandEffect {
    let mut e = BandEffect {
        n: scored.len(),
        ..BandEffect::default()
    };
    for s in scored {
        let inside = ecgcore::analysis::within_band(s.0, threshold, margin);
        let flipped = flipped(s, threshold);
        e.borderline += usize::from(inside);
        e.flipped += flipped;
        if !inside {
            e.flipped_outside_band += flipped;
        }
    }
    e
}

/// Fit both methods' margins on `validation` and report their effect on it and on `test`.
pub fn fit(analyzer: &Analyzer, validation: &[ManifestRow], test: &[ManifestRow]) -> BorderlineFit {
    let (val, tst) = (
        score_pairs(analyzer, validation),
        score_pairs(analyzer, test),
    );
    let m = analyzer.manifest();
    let figures = |v: &[Scored], t: &[Scored], threshold: f32| {
        let margin = margin(v, threshold);
        BorderlineFigures {
            margin,
            threshold,
            validation: band_effect(v, threshold, margin),
            test: band_effect(t, threshold, margin),
        }
    };
    BorderlineFit {
        noise_uv: NOISE_UV,
        draws: DRAWS,
        share: SHARE,
        fitted_on: "PTB-XL fold 9 (validation), 100 Hz files".into(),
        ours: figures(&val.ours, &tst.ours, m.mscr.threshold),
        baseline: figures(&val.baseline, &tst.baseline, m.baseline.threshold),
    }
}

/// Fit the bands for the models in `models_dir` on PTB-XL folds 9 and 10 under
/// `ptbxl_dir` and write them into its manifest (nothing else changes).
///
/// # Errors
/// The models or the labels cannot be read, or the manifest cannot be written.
pub fn fit_and_write(models_dir: &Path, ptbxl_dir: &Path) -> Result<BorderlineFit, ModelError> {
    let analyzer = Analyzer::load(models_dir, tch::Device::Cpu)?;
    let validation = crate::manifests::ptbxl_rows(ptbxl_dir, 9)?;
    let test = crate::manifests::ptbxl_rows(ptbxl_dir, 10)?;
    if validation.is_empty() {
        return Err(ModelError::data(
            ptbxl_dir,
            "no fold-9 records to fit the borderline band on (run `make data`)",
        ));
    }
    let fit = fit(&analyzer, &validation, &test);
    let mut manifest = ModelManifest::read(models_dir)?;
    manifest.mscr.borderline_margin = fit.ours.margin;
    manifest.baseline.borderline_margin = fit.baseline.margin;
    manifest.borderline = Some(fit.clone());
    manifest.write(models_dir)?;
    Ok(fit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_holds_the_share_of_flipped_studies_nearest_the_threshold() {
        // Threshold 1. Turned: 0.8 once (distance 0.2), 1.1 once (0.1), 0.5 once (0.5);
        // never: 2.0, 0.9.
        let scored: Vec<Scored> = vec![
            (0.8, vec![0.9, 1.05]),
            (1.1, vec![0.95]),
            (0.5, vec![1.2, 0.4]),
            (2.0, vec![1.9]),
            (0.9, vec![0.95, 0.97]),
        ];
        // The 90 % quantile of (0.1, 0.2, 0.5) is the largest, 0.5.
        let m = margin(&scored, 1.0);
        assert!((m - 0.5).abs() < 1e-6, "{m}");
        // A study turned in both its draws counts twice: (0.1, 0.2, 0.2, 0.5) → 0.5 still,
        // but at 60 % the quantile is 0.2.
        let twice: Vec<Scored> = vec![(0.8, vec![1.05, 1.1]), (1.1, vec![0.95]), (0.5, vec![1.2])];
        let mut d = vec![0.2_f32, 0.2, 0.1, 0.5];
        assert_eq!(quantile(&mut d, 0.6), 0.2);
        assert!((margin(&twice, 1.0) - 0.5).abs() < 1e-6);
        let e = band_effect(&scored, 1.0, 0.3);
        assert_eq!(
            e,
            BandEffect {
                n: 5,
                borderline: 3,
                flipped: 3,
                flipped_outside_band: 1
            }
        );
        assert_eq!(margin(&scored[3..], 1.0), 0.0, "nothing flipped, no band");
    }

    #[test]
    fn white_noise_has_the_asked_rms_and_is_repeatable() {
        let clean = ecgmodel::testing::synthetic_recording(500.0, 10.0);
        let (mut rec, mut again) = (clean.clone(), clean.clone());
        add_white_noise(&mut rec, 5.0, 7);
        add_white_noise(&mut again, 5.0, 7);
        assert_eq!(rec, again);
        let d: Vec<f32> = rec
            .leads
            .iter()
            .zip(&clean.leads)
            .flat_map(|(a, b)| a.samples_mv.iter().zip(&b.samples_mv).map(|(x, y)| x - y))
            .collect();
        let rms = (d.iter().map(|x| x * x).sum::<f32>() / d.len() as f32).sqrt();
        assert!((rms - 0.005).abs() < 0.0002, "rms {rms} mV");
    }
}
