//! One way through (DESIGN.md §2): file → `Recording` → measurements + model outputs →
//! `Analysis`, shared by the GUI, the JSON of `ecgscope analyze` and the PDF report.

use crate::app::{notch_hz, settings::FilterSettings};
use anyhow::Context as _;
use ecgcore::analysis::Analysis;
use ecgcore::dsp::filter;
use ecgcore::formats::{self, OpenOptions};
use ecgcore::Recording;
use std::path::Path;

/// The model side of the analysis. `None` model = the viewer still works without it.
#[derive(Default)]
pub struct Engine {
    /// Why the model is not available (shown to the user), when it is not.
    pub model_status: String,
}

impl Engine {
    /// An engine that only measures (no anomaly model).
    pub fn without_model(reason: &str) -> Engine {
        Engine {
            model_status: reason.to_string(),
        }
    }
}

/// Open any supported file.
pub fn open(path: &Path) -> anyhow::Result<Recording> {
    open_with(path, &OpenOptions::default())
}

/// Open any supported file with reader options (e.g. a CSV's sample rate).
pub fn open_with(path: &Path, options: &OpenOptions) -> anyhow::Result<Recording> {
    let rec = formats::open_with(path, options)?;
    Ok(rec)
}

/// The recording with the display filters applied (zero-phase, per lead).
pub fn display_filtered(rec: &Recording, filters: &FilterSettings) -> Recording {
    let mut out = rec.clone();
    let fs = rec.sample_rate_hz;
    for lead in &mut out.leads {
        let mut x = std::mem::take(&mut lead.samples_mv);
        if filters.baseline_wander {
            x = filter::remove_baseline_wander(&x, fs);
        }
        if let Some(mains) = notch_hz(filters.notch) {
            x = filter::notch(&x, fs, mains);
        }
        if let Some(cutoff) = filters.lowpass_hz {
            x = filter::lowpass(&x, fs, f64::from(cutoff));
        }
        lead.samples_mv = x;
    }
    out
}

/// Measurements and model outputs for a recording.
pub fn analyze(rec: &Recording, _engine: &Engine) -> Analysis {
    Analysis {
        recording: rec.clone(),
        measurements: Some(ecgcore::dsp::measurements::measure(rec)),
        ..Analysis::default()
    }
}

/// Write the PDF report for an analysis.
pub fn write_report(
    _analysis: &Analysis,
    _filters: &FilterSettings,
    path: &Path,
    _include_baseline: bool,
    _overwrite: bool,
) -> anyhow::Result<()> {
    Err(anyhow::anyhow!("PDF export is not built into this version")).with_context(|| path.display().to_string())
}
