//! The `Analysis`: everything ecgscope knows about one study, as plain data.
//!
//! `Analysis = Recording + Measurements + ModelOutput (ours) + ModelOutput (baseline)`
//! (DESIGN.md §2). The GUI, the JSON of `ecgscope analyze` and the PDF report all draw
//! the same `Analysis`. The model crate fills [`ModelOutput`]; nothing here knows tch.

use crate::dsp::measurements::Measurements;
use crate::recording::Recording;
use serde::{Deserialize, Serialize};

/// Attributes the model predicts from the ECG alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PredictedAttributes {
    pub age_years: Option<f32>,
    pub female_probability: Option<f32>,
    pub heart_rate_bpm: Option<f32>,
    pub pr_ms: Option<f32>,
    pub qrs_ms: Option<f32>,
    pub qt_ms: Option<f32>,
    pub qtc_ms: Option<f32>,
}

/// Spread of |predicted − actual| on the validation fold's normal ECGs, per attribute,
/// used to flag gaps larger than normal ECGs show (e.g. 95th percentile).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NormalSpread {
    pub age_years: Option<f32>,
    pub heart_rate_bpm: Option<f32>,
    pub pr_ms: Option<f32>,
    pub qrs_ms: Option<f32>,
    pub qt_ms: Option<f32>,
    pub qtc_ms: Option<f32>,
}

/// One method's view of a study (ours or the baseline).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelOutput {
    /// Method name, e.g. "MSCR (ours)" or "Autoencoder baseline".
    pub method: String,
    /// Weights identity: file name and SHA-256 prefix.
    pub weights: String,
    /// Study-level anomaly score (higher = less like the normal training ECGs).
    pub score: f32,
    /// Threshold fixed on the validation fold (90 % recall of abnormal).
    pub threshold: f32,
    pub abnormal: bool,
    /// Half-width of the band around `threshold` in which the verdict is borderline: how far
    /// the score moves for a change of the tracing no reader would see (fitted on
    /// validation ECGs; 0 = no band fitted for this kind of input).
    #[serde(default)]
    pub borderline_margin: f32,
    /// The score lies within `borderline_margin` of the threshold ([`within_band`]): the
    /// verdict could go either way for the same heart.
    #[serde(default)]
    pub borderline: bool,
    /// Lead names the scores and maps refer to, in order.
    pub leads: Vec<String>,
    /// Per-lead scores, same order as `leads`.
    pub lead_scores: Vec<f32>,
    /// Per lead, per sample anomaly likelihood in [0, 1] at `map_rate_hz`.
    pub map: Vec<Vec<f32>>,
    /// Sample rate of `map` (the recording's own rate).
    pub map_rate_hz: f64,
    /// Attributes predicted by the model (ours only).
    pub predicted: Option<PredictedAttributes>,
    /// How far predictions stray from actual on normal validation ECGs.
    pub normal_spread: Option<NormalSpread>,
    /// Number of normal ECGs the model learned from.
    pub n_training_normals: usize,
    /// "cpu" or "cuda:0".
    pub device: String,
    /// What the reader should know about how this output was obtained (e.g. partly
    /// recorded leads), in words for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ModelOutput {
    /// Set the threshold the score is judged against, and the verdict with it (the one
    /// place `abnormal` is decided: score ≥ threshold; and `borderline`: within
    /// `borderline_margin` of it, so set the margin first).
    pub fn judge_against(&mut self, threshold: f32) {
        self.threshold = threshold;
        self.abnormal = self.score >= threshold;
        self.borderline = within_band(self.score, threshold, self.borderline_margin);
    }
}

/// Whether `score` lies within `margin` of `threshold` (inclusive): the borderline band.
/// No band where the margin is 0 or not finite (none fitted), and no score is in it.
pub fn within_band(score: f32, threshold: f32, margin: f32) -> bool {
    margin.is_finite() && margin > 0.0 && score.is_finite() && (score - threshold).abs() <= margin
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(score: f32, threshold: f32, margin: f32) -> ModelOutput {
        let mut o = ModelOutput {
            score,
            borderline_margin: margin,
            ..ModelOutput::default()
        };
        o.judge_against(threshold);
        o
    }

    #[test]
    fn a_score_within_the_margin_of_the_threshold_is_borderline_on_either_side() {
        let above = judged(0.9, 0.8, 0.3);
        assert!(above.abnormal && above.borderline);
        let below = judged(0.6, 0.8, 0.3);
        assert!(!below.abnormal && below.borderline);
        let far_above = judged(1.2, 0.8, 0.3);
        assert!(far_above.abnormal && !far_above.borderline);
        let far_below = judged(0.4, 0.8, 0.3);
        assert!(!far_below.abnormal && !far_below.borderline);
        // No band fitted (older manifests, paper input): never borderline.
        assert!(!judged(0.8, 0.8, 0.0).borderline);
        assert!(!judged(f32::NAN, 0.8, 0.3).borderline);
    }
}

/// Everything known about one study.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub recording: Recording,
    pub measurements: Option<Measurements>,
    pub anomaly: Option<ModelOutput>,
    pub baseline: Option<ModelOutput>,
    /// Why `anomaly`/`baseline` are absent (no model, or the input was refused), in words
    /// for the user.
    pub model_status: Option<String>,
    /// Measurements the reader corrected (`measurements` holds the corrected values), each
    /// with the automatic value it replaced.
    #[serde(default)]
    pub edited: Vec<crate::review::Edited>,
}

impl Analysis {
    /// This analysis with the reader's corrections applied to its (automatic)
    /// measurements.
    #[must_use]
    pub fn with_edits(&self, edits: &crate::review::MeasurementEdits) -> Analysis {
        let mut a = self.clone();
        if let Some(m) = &self.measurements {
            let (m, edited) = edits.apply(m);
            a.measurements = Some(m);
            a.edited = edited;
        }
        a
    }

    /// The corrected value of `q` with its automatic value, when the reader corrected it.
    #[must_use]
    pub fn edited(&self, q: crate::dsp::measurements::Quantity) -> Option<&crate::review::Edited> {
        self.edited.iter().find(|e| e.quantity == q)
    }
}
