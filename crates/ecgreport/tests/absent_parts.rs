//! Every part of the report renders "not available" when the Analysis lacks it, and
//! missing or derived leads are said so on the page.

mod common;

use common::*;
use ecgcore::analysis::Analysis;
use ecgcore::dsp::measurements::{Missing, Quantity};
use ecgcore::recording::StandardLead;
use ecgreport::{render_pdf, Paper, ReportOptions};

#[test]
fn a_bare_recording_renders_with_every_absence_named() {
    let Some(record) = record_path() else { return };
    if !have_poppler() {
        return;
    }
    let recording = ecgcore::formats::open(&record).unwrap();
    let analysis = Analysis {
        recording,
        ..Analysis::default()
    };
    let options = ReportOptions {
        include_baseline_page: true,
        ..ReportOptions::default()
    };
    let pdf = render_pdf(&analysis, &options).unwrap();
    let dir = scratch("bare");
    let path = dir.join("bare.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = pdf_text(&path);
    for needle in [
        "Measurements not available",
        "Anomaly model not available",
        "Predicted attributes: not available",
        "Baseline method: not available",
        "Anomaly likelihood (model): not available",
        "25 mm/s",
        "10 mm/mV",
        "Decision support, not a diagnosis.",
    ] {
        assert!(text.contains(needle), "lacks {needle:?}:\n{text}");
    }
    assert_eq!(text.matches('\u{c}').count(), 2);
}

#[test]
fn missing_and_derived_leads_are_labelled_and_gaps_do_not_break_it() {
    let Some(record) = record_path() else { return };
    if !have_poppler() {
        return;
    }
    let mut recording = ecgcore::formats::open(&record).unwrap();
    // Keep I, II and V1–V4 as recorded; derive the limb leads; V5/V6 are missing.
    recording.leads.retain(|l| {
        matches!(
            l.standard,
            Some(
                StandardLead::I
                    | StandardLead::II
                    | StandardLead::V1
                    | StandardLead::V2
                    | StandardLead::V3
                    | StandardLead::V4
            )
        )
    });
    recording.derive_missing_limb_leads();
    // A gap of NaN (as digitized images have) in lead I.
    if let Some(i) = recording
        .leads
        .iter_mut()
        .find(|l| l.standard == Some(StandardLead::I))
    {
        for v in i.samples_mv.iter_mut().skip(300).take(400) {
            *v = f32::NAN;
        }
    }
    let mut analysis = realistic_analysis(&record);
    analysis.recording = recording;
    // A map of the wrong length must not matter.
    if let Some(a) = analysis.anomaly.as_mut() {
        a.map[0].truncate(10);
    }
    let options = ReportOptions {
        paper: Paper::Letter,
        ..ReportOptions::default()
    };
    let pdf = render_pdf(&analysis, &options).unwrap();
    let path = scratch("leads").join("leads.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = pdf_text(&path);
    for needle in [
        "lead V5 not in the file",
        "lead V6 not in the file",
        "derived",
        "missing",
    ] {
        assert!(text.contains(needle), "lacks {needle:?}:\n{text}");
    }
    assert!(text.matches("derived").count() >= 4, "{text}");
}

#[test]
fn an_invalid_recording_is_an_error_not_a_panic() {
    let analysis = Analysis::default();
    let err = render_pdf(&analysis, &ReportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no leads"), "{err}");
}

#[test]
fn long_texts_and_absent_measurements_stay_on_the_page() {
    let Some(record) = record_path() else { return };
    if !have_poppler() {
        return;
    }
    let mut analysis = realistic_analysis(&record);
    analysis.recording.patient.id = Some("X".repeat(300));
    analysis.recording.provenance.device = Some("Device ".repeat(40));
    if let Some(m) = analysis.measurements.as_mut() {
        m.pr_ms = None;
        m.p_ms = None;
        m.p_axis_deg = None;
        m.missing_reasons.push(Missing {
            field: Quantity::PrMs,
            reason: "no consistent P waves (atrial fibrillation or noise) in any lead".to_string(),
        });
        m.missing_reasons.push(Missing {
            field: Quantity::PAxisDeg,
            reason: "no P waves".to_string(),
        });
    }
    let options = ReportOptions {
        paper: Paper::Letter,
        filters_label: "filter ".repeat(50),
        model_label: "model ".repeat(60),
        ..ReportOptions::default()
    };
    let pdf = render_pdf(&analysis, &options).unwrap();
    let path = scratch("long").join("long.pdf");
    std::fs::write(&path, &pdf).unwrap();
    // pdftotext -bbox gives every word's box: all must lie inside the page.
    let out = std::process::Command::new("pdftotext")
        .arg("-bbox")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&out.stdout);
    let (w_pt, h_pt) = Paper::Letter.size_pt();
    let mut words = 0;
    for line in html.lines().filter(|l| l.contains("<word ")) {
        let attr = |name: &str| -> f32 {
            let key = format!("{name}=\"");
            let start = line.find(&key).unwrap() + key.len();
            let end = start + line[start..].find('"').unwrap();
            line[start..end].parse().unwrap()
        };
        words += 1;
        assert!(
            attr("xMin") >= 0.0 && attr("xMax") <= w_pt,
            "off the page: {line}"
        );
        assert!(
            attr("yMin") >= 0.0 && attr("yMax") <= h_pt,
            "off the page: {line}"
        );
    }
    assert!(words > 100);
    let text = pdf_text(&path);
    assert!(text.contains("(no consistent P waves"), "{text}");
    assert!(text.contains("Decision support, not a diagnosis."));
}
