//! Time the PDF report of one study: `cargo run --release -p ecgreport --example
//! report_bench -- FILE [OUT.pdf] [RUNS]`.
//!
//! Reads FILE with ecgcore, measures it with ecgcore's dsp, attaches a SYNTHETIC
//! anomaly map and baseline (the model is not part of this crate) so every part of
//! both pages is drawn, then renders the two-page report RUNS times (default 20) and
//! prints the median/min/max time and the file size. Writes OUT.pdf when given.

use ecgcore::analysis::{Analysis, ModelOutput, NormalSpread, PredictedAttributes};
use ecgreport::{bench_render, render_pdf, ReportOptions};
use std::path::PathBuf;

fn synthetic_output(rec: &ecgcore::Recording, method: &str, centre_s: f64) -> ModelOutput {
    let rate = rec.sample_rate_hz;
    let n = rec.len_samples();
    let map = rec
        .leads
        .iter()
        .enumerate()
        .map(|(j, _)| {
            (0..n)
                .map(|i| {
                    let t = i as f64 / rate - centre_s - 0.3 * j as f64;
                    (0.9 * (-t * t / 0.02).exp() + 0.05) as f32
                })
                .collect()
        })
        .collect();
    ModelOutput {
        method: method.to_string(),
        weights: "synthetic".to_string(),
        score: 1.5,
        threshold: 1.2,
        abnormal: true,
        borderline_margin: 0.0,
        borderline: false,
        leads: rec.lead_names(),
        lead_scores: vec![0.5; rec.leads.len()],
        map,
        map_rate_hz: rate,
        predicted: Some(PredictedAttributes {
            age_years: Some(50.0),
            female_probability: Some(0.4),
            ..PredictedAttributes::default()
        }),
        normal_spread: Some(NormalSpread::default()),
        n_training_normals: 763,
        device: "cpu".to_string(),
        note: None,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = PathBuf::from(
        args.next()
            .ok_or("usage: report_bench FILE [OUT.pdf] [RUNS]")?,
    );
    let out = args.next().map(PathBuf::from);
    let runs: usize = args.next().map_or(Ok(20), |s| s.parse())?;
    let recording = ecgcore::formats::open(&file)?;
    let measurements = ecgcore::dsp::measurements::measure(&recording);
    let analysis = Analysis {
        anomaly: Some(synthetic_output(&recording, "synthetic map", 2.0)),
        baseline: Some(synthetic_output(&recording, "synthetic baseline", 6.0)),
        measurements: Some(measurements),
        recording,
        model_status: None,
        edited: Vec::new(),
    };
    let options = ReportOptions {
        include_baseline_page: true,
        software_version: env!("CARGO_PKG_VERSION").to_string(),
        model_label: "synthetic map (benchmark input)".to_string(),
        ..ReportOptions::default()
    };
    let timing = bench_render(&analysis, &options, runs)?;
    println!(
        "report (2 pages): median {:.1} ms, min {:.1} ms, max {:.1} ms over {} runs; {} bytes",
        timing.median.as_secs_f64() * 1e3,
        timing.min.as_secs_f64() * 1e3,
        timing.max.as_secs_f64() * 1e3,
        timing.runs,
        timing.pdf_bytes
    );
    let one_page = ReportOptions {
        include_baseline_page: false,
        ..options.clone()
    };
    let timing = bench_render(&analysis, &one_page, runs)?;
    println!(
        "report (page 1 only): median {:.1} ms; {} bytes",
        timing.median.as_secs_f64() * 1e3,
        timing.pdf_bytes
    );
    if let Some(out) = out {
        std::fs::write(&out, render_pdf(&analysis, &options)?)?;
        println!("wrote {}", out.display());
    }
    Ok(())
}
