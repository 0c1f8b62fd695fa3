//! Scoring studies whose leads are recorded only in part — the usual paper layout.
//!
//! A 3×4 paper ECG shows each lead for 2.5 s (I, II, III in the first column, aVR, aVL,
//! aVF in the second, V1–V3 in the third, V4–V6 in the fourth) plus a 10 s rhythm strip
//! of lead II; a digitized page therefore reaches the model with three quarters of most
//! leads missing. The networks see the missing samples as 0 and the errors are taken
//! over real samples only (see [`crate::score::mscr_raw`]), but the restorations, the
//! embedding and the predicted attributes shift when so much input is absent, so the
//! study score must not be compared with the full-lead threshold. Instead the score
//! components are re-centred and re-scaled, chosen anew (greedily, as for complete
//! recordings) and given their own threshold (90 % recall of abnormal) on fold-9 ECGs
//! masked to this layout (`ecglab::partial_fit`) or digitized from pages of it; the
//! fold-10 figures under the same mask are the honest estimate for paper input (without
//! the digitizer's own errors). Any partial input is scored with this calibration and
//! says so in its output.

use crate::metrics::SplitMetrics;
use crate::score::Calibration;
use serde::{Deserialize, Serialize};

/// Name of the layout the partial calibration assumes.
pub const LAYOUT_3X4: &str = "3×4 + II rhythm strip";

/// The calibration used for partial input, with its fold-9 and fold-10 figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialCalibration {
    /// Layout the fold-9 ECGs were masked to.
    pub layout: String,
    /// Its own components and weights (chosen on the validation studies); centre/scale from masked
    /// fold-9 normals.
    pub calibration: Calibration,
    /// MSCR threshold (90 % recall of abnormal on masked fold 9).
    pub threshold: f32,
    /// Baseline threshold likewise.
    pub baseline_threshold: f32,
    pub mscr_validation: SplitMetrics,
    pub mscr_test: SplitMetrics,
    pub baseline_validation: SplitMetrics,
    pub baseline_test: SplitMetrics,
}
