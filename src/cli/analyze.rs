//! `ecgscope analyze FILE [--json] [--start TIME] [--prior PRIOR]`: the study's leads, rate, patient,
//! source, measurements, model outputs and findings (verdicts, flags, most anomalous
//! segments — what the screen and the PDF state) as one JSON object (or a short summary);
//! `--start` picks the 10 s window of a long EDF/BDF recording; `--prior` adds the serial
//! comparison with a prior ECG (`comparison` in the JSON).

use super::{ModelArgs, ReadArgs};
use crate::pipeline;
use anyhow::Context as _;
use ecgcore::analysis::Analysis;
use ecgcore::Sex;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;

/// Run the verb.
pub fn run(
    file: &Path,
    as_json: bool,
    with_maps: bool,
    start_s: Option<f64>,
    prior: Option<&Path>,
    read: &ReadArgs,
    model: &ModelArgs,
) -> anyhow::Result<()> {
    let rec = match start_s {
        None => pipeline::open_any(file, &read.options(), &read.digitize_options())?.recording,
        Some(start_s) => {
            pipeline::open_edf_window(file, start_s, pipeline::Annotations::Skip)
                .context("--start")?
                .recording
        }
    };
    let engine = model.engine()?;
    let analysis = pipeline::analyze(&rec, &engine);
    // Corrections are not made on a window of a long recording.
    let (analysis, prior) =
        super::reviewed(analysis, file, start_s.is_none(), prior, read, &engine)?;
    let mut value = analysis_json(&analysis, with_maps);
    if let Some(prior) = &prior {
        let comparison = ecgsession::comparison::Comparison::of(&analysis, prior);
        value["comparison"] = serde_json::to_value(&comparison)?;
    }
    if as_json {
        super::outln!("{}", serde_json::to_string(&value)?);
    } else {
        super::outln!("{}", summary_text(&analysis));
        if let Some(prior) = &prior {
            let comparison = ecgsession::comparison::Comparison::of(&analysis, prior);
            super::outln!("{}", comparison_text(&comparison));
        }
    }
    Ok(())
}

/// The JSON object of `analyze --json`.
pub fn analysis_json(a: &Analysis, with_maps: bool) -> Value {
    let rec = &a.recording;
    let sex = rec.patient.sex.map(|s| match s {
        Sex::Male => "male",
        Sex::Female => "female",
    });
    let mut v = json!({
        "leads": rec.lead_names(),
        "derived_leads": rec.leads.iter().filter(|l| l.derived).map(|l| l.name.clone()).collect::<Vec<_>>(),
        "missing_leads": rec.missing_standard_leads().iter().map(|l| l.label()).collect::<Vec<_>>(),
        "sample_rate_hz": rec.sample_rate_hz,
        "n_samples": rec.len_samples(),
        "duration_s": rec.duration_s(),
        "patient": {
            "id": rec.patient.id,
            "age_years": rec.patient.age_years,
            "sex": sex,
            "birth_date": rec.patient.birth_date,
        },
        "source": {
            "format": rec.provenance.format,
            "path": rec.provenance.path,
            "original_sample_rate_hz": rec.provenance.original_sample_rate_hz,
            "device": rec.provenance.device,
            "device_filters": rec.provenance.device_filters,
            "acquisition_time": rec.provenance.acquisition_time,
            "notes": rec.provenance.notes,
            // Paper images only: how sure the digitizer is of each lead it read (0–1).
            "lead_confidence": rec.provenance.lead_confidence.iter().map(|(l, c)| json!({"lead": l, "confidence": c})).collect::<Vec<_>>(),
        },
        "device_findings": {
            "measurements": rec.device_findings.measurements.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
            "statements": rec.device_findings.statements,
        },
        "version": crate::VERSION,
    });
    if let Some(m) = &a.measurements {
        v["measurements"] = serde_json::to_value(m).unwrap_or(Value::Null);
    }
    // Values the reader corrected in the viewer, each with the automatic value.
    v["edited"] = serde_json::to_value(&a.edited).unwrap_or(Value::Null);
    if let Some(status) = &a.model_status {
        v["model_status"] = json!(status);
    }
    for (key, out) in [("anomaly", &a.anomaly), ("baseline", &a.baseline)] {
        if let Some(o) = out {
            let mut ov = serde_json::to_value(o).unwrap_or(Value::Null);
            if !with_maps {
                if let Some(obj) = ov.as_object_mut() {
                    obj.remove("map");
                }
            }
            v[key] = ov;
        }
    }
    // What the screen and the PDF state: verdicts, the predicted-vs-actual table with its
    // flags, the most anomalous segments (ecgsession, the one presentation model).
    v["findings"] = serde_json::to_value(ecgsession::StudyFindings::of(a)).unwrap_or(Value::Null);
    v
}

/// The comparison with a prior ECG, in a few lines.
pub fn comparison_text(c: &ecgsession::comparison::Comparison) -> String {
    let mut s = format!(
        "compared with the prior {}{}:",
        c.prior.name,
        c.interval
            .as_deref()
            .map_or_else(String::new, |i| format!(" ({i} earlier)"))
    );
    for line in c.summary.iter().chain(&c.caveats) {
        let _ = write!(s, "\n  {line}");
    }
    s
}

/// A few human-readable lines.
pub fn summary_text(a: &Analysis) -> String {
    let rec = &a.recording;
    let mut s = format!(
        "{}: {} leads ({}), {} Hz, {:.1} s",
        rec.provenance.path.display(),
        rec.leads.len(),
        rec.lead_names().join(" "),
        rec.sample_rate_hz,
        rec.duration_s()
    );
    if let Some(m) = &a.measurements {
        let f = |v: Option<f32>| v.map_or("—".to_string(), |v| format!("{v:.0}"));
        let _ = write!(
            s,
            "\nHR {} bpm, PR {} ms, QRS {} ms, QT {} ms, QTc Bazett {} ms, QTc Fridericia {} ms",
            f(m.heart_rate_bpm),
            f(m.pr_ms),
            f(m.qrs_ms),
            f(m.qt_ms),
            f(m.qtc_bazett_ms),
            f(m.qtc_fridericia_ms)
        );
    }
    let _ = match &a.anomaly {
        Some(o) => write!(
            s,
            "\n{}: {}: {}",
            o.method,
            ecgsession::wording::score_line(o),
            ecgsession::wording::verdict_short(o)
        ),
        None => write!(
            s,
            "\nanomaly model: {}",
            a.model_status.as_deref().unwrap_or("not available")
        ),
    };
    s
}
