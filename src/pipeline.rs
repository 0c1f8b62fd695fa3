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
    /// The engine with the shipped model when it loads; otherwise measurement only, with
    /// the reason kept for the user.
    pub fn load_default() -> Engine {
        Engine::without_model("the anomaly model is not part of this build yet")
    }

    /// "cpu", "cuda:0" or "none" (no model).
    pub fn device_label(&self) -> String {
        "none".to_string()
    }

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

/// Time the model alone (ours + baseline) on a recording, when a model is loaded.
pub fn time_model(_rec: &Recording, _engine: &Engine, _runs: usize) -> Option<crate::cli::bench::Timing> {
    None
}

/// Report options for an analysis drawn with the given display filters.
pub fn report_options(
    analysis: &Analysis,
    filters: &FilterSettings,
    paper: ecgreport::Paper,
    include_baseline: bool,
) -> ecgreport::ReportOptions {
    let model_label = analysis.anomaly.as_ref().map_or_else(
        || "anomaly model not available".to_string(),
        |o| format!("{} ({})", o.method, o.weights),
    );
    ecgreport::ReportOptions {
        paper,
        include_baseline_page: include_baseline,
        filters_label: filters.label(),
        software_version: crate::VERSION.to_string(),
        model_label,
    }
}

/// The analysis as drawn on paper: traces with the display filters applied.
pub fn filtered_for_report(analysis: &Analysis, filters: &FilterSettings) -> Analysis {
    Analysis {
        recording: display_filtered(&analysis.recording, filters),
        ..analysis.clone()
    }
}

/// Write the PDF report for an analysis (atomically; refuses to replace a file unless
/// `overwrite`).
pub fn write_report(
    analysis: &Analysis,
    filters: &FilterSettings,
    path: &Path,
    include_baseline: bool,
    overwrite: bool,
) -> anyhow::Result<()> {
    let options = report_options(analysis, filters, ecgreport::Paper::A4, include_baseline);
    ecgreport::write_pdf(&filtered_for_report(analysis, filters), &options, path, overwrite)
        .with_context(|| format!("could not write the report {}", path.display()))
}
