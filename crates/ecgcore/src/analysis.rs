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
    /// place `abnormal` is decided: score ≥ threshold).
    pub fn judge_against(&mut self, threshold: f32) {
        self.threshold = threshold;
        self.abnormal = self.score >= threshold;
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
