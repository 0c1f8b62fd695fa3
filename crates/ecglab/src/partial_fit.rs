//! Fitting the model's calibration for partly recorded leads (paper layouts) on fold 9
//! masked to the 3×4 + II layout; fold 10 under the same mask gives the honest figures.

use crate::data::{Dataset, PtbxlRow, Split};
use crate::fit;
use crate::train::row_metrics;
use ecgmodel::attributes::Attributes;
use ecgmodel::contract::{N_LEADS, N_SAMPLES};
use ecgmodel::net::{BeatAe, Mscr};
use ecgmodel::partial::{PartialCalibration, LAYOUT_3X4};
use ecgmodel::score::{self, AttrNorm, NormalModels, COMPONENTS};
use tch::{Device, Tensor};

/// Which samples a 3×4 + II page shows, `[12 × 1000]` in [`ecgcore::recording::StandardLead::ALL`]
/// order (I, II, III, aVR, aVL, aVF, V1–V6): 1 shown, 0 not.
pub fn layout_3x4_valid() -> Vec<f32> {
    ecgcore::paper::Layout::THREE_BY_FOUR_II
        .visible(N_SAMPLES)
        .into_iter()
        .flatten()
        .map(|shown| if shown { 1.0 } else { 0.0 })
        .collect()
}

/// Masked windows `[n, 12, 1000]` and their validity for the records `idx`.
fn masked(ds: &Dataset, idx: &[usize], device: Device) -> (Tensor, Tensor) {
    let x = ds.select(idx).to_device(device);
    let v = Tensor::from_slice(&layout_3x4_valid())
        .view([1, N_LEADS as i64, N_SAMPLES as i64])
        .to_device(device)
        .expand_as(&x)
        .contiguous();
    (&x * &v, v)
}

fn scores(
    mscr: &Mscr,
    base: &BeatAe,
    ds: &Dataset,
    idx: &[usize],
    norm: &AttrNorm,
    normals: NormalModels<'_>,
    device: Device,
) -> (Vec<Vec<f32>>, Vec<f32>) {
    tch::no_grad(|| {
        let mut comps = Vec::with_capacity(idx.len());
        let mut base_scores = Vec::with_capacity(idx.len());
        for chunk in idx.chunks(64) {
            let (x, v) = masked(ds, chunk, device);
            let beats = ds.beats(chunk);
            let raw = score::mscr_raw(mscr, &x, &beats, norm, false, Some(&v));
            for (r, &i) in raw.iter().zip(chunk) {
                let actual = ds.records.get(i).map_or([f32::NAN; 7], |r| r.attrs);
                // The median beat of a masked record is not simulated: `shape` stays
                // unavailable here (calibrate_digitized measures it on real digitized pages).
                comps.push(score::components(
                    r,
                    &Attributes::from_array(actual),
                    None,
                    normals,
                ));
            }
            base_scores.extend(
                score::baseline_raw(base, &x, &beats, false, Some(&v))
                    .iter()
                    .map(|r| r.mse),
            );
        }
        (comps, base_scores)
    })
}

fn rows(set: &[Scored]) -> Vec<&PtbxlRow> {
    set.iter().map(|s| &s.row).collect()
}

/// One scored study for calibration: its PTB-XL row, MSCR score components and
/// baseline score.
#[derive(Debug, Clone)]
pub struct Scored {
    pub row: PtbxlRow,
    pub components: Vec<f32>,
    pub baseline: f32,
}

/// Fit a partial-input calibration from scored fold-9 studies (`validation`: same
/// components chosen greedily on them, centre and scale from its normals, thresholds at
/// 90 % recall of abnormal) and report it on scored fold-10 studies (`test`).
pub fn fit(layout: &str, validation: &[Scored], test: &[Scored]) -> PartialCalibration {
    let normals: Vec<Vec<f32>> = validation
        .iter()
        .filter(|s| s.row.label() == Some(0))
        .map(|s| s.components.clone())
        .collect();
    let mut calibration = fit::calibration(&normals);
    let labels =
        |set: &[Scored]| -> Vec<u8> { set.iter().map(|s| s.row.label().unwrap_or(0)).collect() };
    // Its own components: what survives the missing leads (and digitizing) differs from
    // what works on complete recordings; chosen greedily on the validation studies.
    let val_components: Vec<Vec<f32>> = validation.iter().map(|s| s.components.clone()).collect();
    fit::select_components(&mut calibration, &val_components, &labels(validation));
    debug_assert_eq!(calibration.weights.len(), COMPONENTS.len());
    let ours = |set: &[Scored]| -> Vec<f32> {
        set.iter()
            .map(|s| calibration.score(&s.components))
            .collect()
    };
    let base = |set: &[Scored]| -> Vec<f32> { set.iter().map(|s| s.baseline).collect() };
    let val_labels = labels(validation);
    let threshold = fit::threshold_for_recall(&ours(validation), &val_labels, 0.9).unwrap_or(0.0);
    let baseline_threshold =
        fit::threshold_for_recall(&base(validation), &val_labels, 0.9).unwrap_or(0.0);
    PartialCalibration {
        layout: layout.to_string(),
        mscr_validation: row_metrics(&rows(validation), &ours(validation), threshold),
        mscr_test: row_metrics(&rows(test), &ours(test), threshold),
        baseline_validation: row_metrics(&rows(validation), &base(validation), baseline_threshold),
        baseline_test: row_metrics(&rows(test), &base(test), baseline_threshold),
        calibration: calibration.clone(),
        threshold,
        baseline_threshold,
    }
}

/// Fit the partial-input calibration on fold 9 masked to [`LAYOUT_3X4`] (same components
/// chosen on it), and score fold 10 under the same mask for the card.
pub fn calibrate(
    mscr: &Mscr,
    base: &BeatAe,
    ds: &Dataset,
    norm: &AttrNorm,
    normals: NormalModels<'_>,
    device: Device,
) -> PartialCalibration {
    let scored = |split: Split| -> Vec<Scored> {
        let idx = ds.indices(split);
        let (comps, base_scores) = scores(mscr, base, ds, &idx, norm, normals, device);
        idx.iter()
            .zip(comps)
            .zip(base_scores)
            .filter_map(|((&i, components), baseline)| {
                Some(Scored {
                    row: ds.records.get(i)?.row.clone(),
                    components,
                    baseline,
                })
            })
            .collect()
    };
    fit(LAYOUT_3X4, &scored(Split::Validation), &scored(Split::Test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_shows_each_lead_in_its_column_and_ii_throughout() {
        let v = layout_3x4_valid();
        let shown =
            |lead: usize| -> f32 { v[lead * N_SAMPLES..(lead + 1) * N_SAMPLES].iter().sum() };
        assert_eq!(shown(1), N_SAMPLES as f32);
        for lead in [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] {
            assert_eq!(shown(lead), (N_SAMPLES / 4) as f32, "lead {lead}");
        }
        // V4 (index 9) is in the last column.
        assert_eq!(v[9 * N_SAMPLES + 999], 1.0);
        assert_eq!(v[9 * N_SAMPLES], 0.0);
        // aVR (index 3) in the second.
        assert_eq!(v[3 * N_SAMPLES + 300], 1.0);
    }
}
