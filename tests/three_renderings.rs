//! One study, three renderings: the screen (egui, via kittest), the PDF report (text read
//! back with pdftotext) and `analyze --json` state the same verdicts, the same flagged
//! predicted-vs-actual gaps and the same most anomalous segments — all three render
//! `ecgsession::StudyFindings`. Checked on the built-in normal sample and on a PTB-XL
//! record with complete left bundle branch block (00180, `.data/ptbxl`, `make data`).
//! Fails, never skips, when the weights, the data or pdftotext are missing.

use ecgscope::app::settings::Settings;
use ecgscope::app::EcgApp;
use ecgscope::pipeline::Engine;
use ecgsession::StudyFindings;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{json_ok, repo, run_ok};

fn exe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ecgscope"))
}

/// The app on `file` once analysed, and the findings it derived.
fn screen(file: &Path) -> (Harness<'static, EcgApp>, StudyFindings) {
    let models = repo().join("models");
    assert!(
        models.join("manifest.json").exists(),
        "models/ lacks its manifest"
    );
    let engine = Engine::with_models(Some(models), Some(tch::Device::Cpu));
    let mut app = EcgApp::new(
        Settings::default(),
        None,
        Arc::new(engine),
        Some(file.to_path_buf()),
        None,
    );
    app.wait_for_jobs(Duration::from_mins(2));
    let study = app.study.as_ref().expect("the study opened");
    let analysis = study.analysis.as_ref().expect("the study was analysed");
    assert!(analysis.anomaly.is_some(), "{:?}", analysis.model_status);
    let findings = study.findings.clone();
    assert_eq!(
        findings,
        StudyFindings::of(analysis),
        "findings derived once, from the analysis"
    );
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    (harness, findings)
}

fn pdf_text(file: &Path, dir: &Path) -> String {
    let pdf = dir.join("report.pdf");
    run_ok(
        exe()
            .args(["report", "--baseline", "--force", "-o"])
            .arg(&pdf)
            .arg(file),
    );
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs: make setup installs it");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn three_ways_agree(file: &Path, tag: &str) -> StudyFindings {
    let dir = std::env::temp_dir().join(format!("ecgscope-three-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (harness, f) = screen(file);
    let ours = f.ours.as_ref().expect("our verdict");
    let base = f.baseline.as_ref().expect("baseline verdict");

    // JSON: the same findings object, field for field (up to float printing).
    let json = json_ok(
        exe()
            .args(["analyze", "--json", "--no-maps", "--device", "cpu"])
            .arg(file),
    );
    let expected = serde_json::to_value(&f).unwrap();
    let got = &json["findings"];
    for method in ["ours", "baseline"] {
        assert_eq!(
            got[method]["verdict"], expected[method]["verdict"],
            "{tag} {method}"
        );
        assert_eq!(
            got[method]["abnormal"], expected[method]["abnormal"],
            "{tag} {method}"
        );
        assert_eq!(
            got[method]["score_line"], expected[method]["score_line"],
            "{tag} {method}"
        );
        let seg = |v: &serde_json::Value| -> Vec<(String, String)> {
            v[method]["segments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        format!("{:.2}", s["peak_s"].as_f64().unwrap()),
                        s["leads"].to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(seg(got), seg(&expected), "{tag} {method} segments");
    }
    let flagged = |v: &serde_json::Value| -> Vec<String> {
        v["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["flagged"] == true)
            .map(|c| c["label"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(flagged(got), flagged(&expected), "{tag} flags");

    // Screen: both verdict sentences, the flagged gaps marked "!", our segments (or the
    // "None" note) listed.
    for v in [&ours.verdict, &base.verdict] {
        let expected = [&ours.verdict, &base.verdict]
            .iter()
            .filter(|x| **x == v)
            .count();
        assert_eq!(
            harness.query_all_by_label(v).count(),
            expected,
            "{tag}: {v}"
        );
    }
    for col in f.flagged() {
        harness.get_by_label(&format!("{} !", col.gap));
    }
    match &ours.segments_note {
        Some(note) => {
            harness.get_by_label(note);
        }
        None => {
            for s in &ours.segments {
                harness.get_by_label_contains(&format!(
                    "{:.2} s · {}",
                    s.peak_s,
                    s.leads.join(", ")
                ));
            }
        }
    }

    // PDF: the verdict sentence, the flagged gaps, the first segments of both methods.
    let text = pdf_text(file, &dir);
    let squeeze = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = squeeze(&text);
    assert!(
        flat.contains(&squeeze(&ours.verdict)),
        "{tag}: PDF lacks {:?}",
        ours.verdict
    );
    assert!(
        flat.contains(&squeeze(&ours.score_line)),
        "{tag}: PDF lacks {:?}",
        ours.score_line
    );
    assert_eq!(
        // Each flagged gap cell ends in " !"; the table's note begins with "! gap larger".
        flat.matches(" !").count() - flat.matches("! gap larger").count(),
        f.flagged().count(),
        "{tag}: flagged gaps in the PDF"
    );
    for method in [ours, base] {
        if method.segments.is_empty() {
            assert!(flat.contains(&squeeze(&ecgsession::segments::nothing_listed_short())));
        }
        for s in method.segments.iter().take(4) {
            let span = format!("{:.2}–{:.2}", s.start_s, s.end_s);
            assert!(flat.contains(&span), "{tag}: PDF lacks segment {span}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    f
}

#[test]
fn the_normal_sample_reads_the_same_on_screen_in_the_pdf_and_in_json() {
    let f = three_ways_agree(&repo().join("assets/sample/00010_hr.hea"), "sample");
    let ours = f.ours.unwrap();
    assert!(!ours.abnormal);
    assert!(ours.segments.is_empty(), "a normal study lists no segment");
}

#[test]
fn an_lbbb_record_reads_the_same_on_screen_in_the_pdf_and_in_json() {
    let file: PathBuf = repo().join(".data/ptbxl/records500/00000/00180_hr.hea");
    assert!(
        file.exists(),
        "{} is absent: run `make data`",
        file.display()
    );
    let f = three_ways_agree(&file, "lbbb");
    let ours = f.ours.unwrap();
    assert!(ours.abnormal);
    assert!(
        !ours.segments.is_empty(),
        "complete LBBB lists anomalous segments"
    );
}
