//! Global ECG measurements (heart rate, intervals, axes) of one recording.
//!
//! Placeholder types; the measurement algorithms land with issue 3.

use serde::{Deserialize, Serialize};

/// A measured value or the reason it could not be measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub value: Option<f32>,
    pub reason: Option<String>,
}

/// Fiducial points of the median beat (sample indices into the median beat).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fiducials {
    pub p_onset: Option<usize>,
    pub p_offset: Option<usize>,
    pub qrs_onset: Option<usize>,
    pub qrs_offset: Option<usize>,
    pub t_offset: Option<usize>,
}

/// Global measurements of one recording.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    pub heart_rate_bpm: Option<f32>,
    pub rr_ms: Option<f32>,
    pub pr_ms: Option<f32>,
    pub p_ms: Option<f32>,
    pub qrs_ms: Option<f32>,
    pub qt_ms: Option<f32>,
    pub qtc_bazett_ms: Option<f32>,
    pub qtc_fridericia_ms: Option<f32>,
    pub p_axis_deg: Option<f32>,
    pub qrs_axis_deg: Option<f32>,
    pub t_axis_deg: Option<f32>,
    /// Why a value is `None`, keyed by field name (e.g. "pr_ms" → "no P waves").
    pub missing_reasons: Vec<(String, String)>,
    /// R-peak sample indices in the recording.
    pub r_peaks: Vec<usize>,
    pub fiducials: Fiducials,
}
