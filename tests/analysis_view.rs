//! The analysis view with the shipped model: the overlay appears when the analysis is
//! ready, compare mode shows two linked panes, and the predicted-vs-actual table lists
//! all seven quantities. Skips (with a message) when the weights are absent.

use ecgscope::app::settings::Settings;
use ecgscope::app::EcgApp;
use ecgscope::pipeline::Engine;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{corrupted_models, repo, shipped_mscr_sha256};

/// The app with the weights in `models` (on the CPU), once `file` is opened and analysed.
fn analysed_with(models: PathBuf, file: PathBuf) -> EcgApp {
    let engine = Engine::with_models(Some(models), Some(tch::Device::Cpu));
    let mut app = EcgApp::new(
        Settings::default(),
        None,
        Arc::new(engine),
        Some(file),
        None,
    );
    app.wait_for_jobs(Duration::from_mins(2));
    app
}

/// A light-theme 1600 × 1000 harness over `app`, after its first frames.
fn harness(app: EcgApp) -> Harness<'static, EcgApp> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .with_theme(egui::Theme::Light)
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    harness
}

fn analysed_sample() -> Option<Harness<'static, EcgApp>> {
    let models = repo().join("models");
    if !models.join("manifest.json").exists() {
        ecgcore::testing::skip("models/manifest.json is absent");
        return None;
    }
    let app = analysed_with(models, repo().join("assets/sample/00010_hr.hea"));
    let analysis = app.study.as_ref()?.analysis.as_ref()?;
    assert!(
        analysis.anomaly.is_some(),
        "model output present: {:?}",
        analysis.model_status
    );
    let harness = harness(app);
    Some(harness)
}

#[test]
fn a_digitized_paper_page_gets_the_overlay_and_says_how_it_was_scored() {
    let models = repo().join("models");
    let image = repo().join("../shared/data/images/rendered-ptbxl/PTB_XL_op/00002_hr-0.png");
    if !models.join("manifest.json").exists() || !image.exists() {
        ecgcore::testing::skip("models/manifest.json or ../shared/data is absent");
        return;
    }
    let app = analysed_with(models, image);
    let analysis = app.study.as_ref().unwrap().analysis.clone().unwrap();
    let ours = analysis
        .anomaly
        .as_ref()
        .unwrap_or_else(|| panic!("model output present: {:?}", analysis.model_status));
    assert!(ours.score.is_finite());
    assert!(ours.note.as_deref().unwrap().contains("partly recorded"));
    let harness = harness(app);
    harness.get_by_label_contains("anomaly overlay");
    harness.get_by_label("Anomaly likelihood legend");
    assert_eq!(
        harness
            .query_all_by_label_contains("Leads are only partly recorded")
            .count(),
        2
    );
}

#[test]
fn overlay_verdict_and_predicted_table_appear_when_the_analysis_is_ready() {
    let Some(mut harness) = analysed_sample() else {
        return;
    };
    harness.get_by_label("ECG paper, 3×4 + II layout, 12 of 12 standard leads, anomaly overlay");
    harness.get_by_label("Anomaly likelihood legend");
    // Two verdicts: ours and the baseline's.
    assert_eq!(
        harness
            .query_all_by_label_contains("normal ECGs the model learned from")
            .count(),
        2
    );
    harness.get_by_label("Predicted vs actual");
    harness.get_by_label("Decision support, not a diagnosis.");
    // Where the score falls among the validation ECGs' (models/score_reference.json).
    harness.get_by_label("Score distribution plot");
    assert_eq!(
        harness
            .query_all_by_label_contains("validation normals' scores and")
            .count(),
        1
    );

    let analysis = harness
        .state()
        .study
        .as_ref()
        .unwrap()
        .analysis
        .clone()
        .unwrap();
    let rows = ecgsession::StudyFindings::of(&analysis).attributes;
    let names: Vec<_> = rows.iter().map(|r| r.label).collect();
    assert_eq!(
        names,
        [
            "Age (y)",
            "Sex",
            "HR (bpm)",
            "PR (ms)",
            "QRS (ms)",
            "QT (ms)",
            "QTcB (ms)"
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r.predicted != ecgsession::wording::DASH),
        "every quantity predicted: {rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.actual != ecgsession::wording::DASH),
        "every quantity known: {rows:?}"
    );

    // Overlay off removes it from the paper.
    harness.get_by_label("Anomaly overlay").click();
    harness.run();
    harness.get_by_label("ECG paper, 3×4 + II layout, 12 of 12 standard leads");
}

#[test]
fn compare_mode_shows_two_linked_panes() {
    let Some(mut harness) = analysed_sample() else {
        return;
    };
    harness.get_by_label("Compare with baseline").click();
    harness.run();
    let panes: Vec<egui::Rect> = harness
        .query_all_by_label_contains("ECG paper")
        .map(|n| n.rect())
        .collect();
    assert_eq!(panes.len(), 2, "ours and the baseline");
    // Linked axes: same time scale and horizontal position, one above the other.
    assert_eq!(panes[0].x_range(), panes[1].x_range());
    assert!(panes[1].min.y >= panes[0].max.y);
    // One cursor: hovering our pane gives the baseline pane a cursor at the same place.
    let p = panes[0].center();
    harness.hover_at(p);
    harness.run();
    let cursor = ecgscope::ui::paper::cursor_of(&harness.ctx, ecgscope::ui::paper::MAIN_PANE)
        .expect("cursor on our pane");
    assert!(cursor.x > 0.0);
    harness.get_by_label_contains("Maps disagree most in");
    // Switching back keeps the study and the layout.
    harness.get_by_label("Compare with baseline").click();
    harness.run();
    assert_eq!(harness.query_all_by_label_contains("ECG paper").count(), 1);
}

#[test]
fn snapshot_with_overlay() {
    let Some(mut harness) = analysed_sample() else {
        return;
    };
    if let Err(e) = harness.try_snapshot("sample_overlay") {
        let msg = e.to_string();
        assert!(
            msg.contains("adapter") || msg.contains("renderer"),
            "snapshot differs: {msg}"
        );
        ecgcore::testing::skip(&format!("snapshot: {msg}"));
    }
}

/// Help > About ecgscope.
fn open_about(harness: &mut Harness<'_, EcgApp>) {
    harness.get_by_label("Help").click();
    harness.run();
    harness.get_by_label("About ecgscope").click();
    harness.run();
}

#[test]
fn about_shows_app_libtorch_weights_hash_and_device() {
    let Some(mut harness) = analysed_sample() else {
        return;
    };
    open_about(&mut harness);
    harness.get_by_label(&format!("ecgscope {}", ecgscope::VERSION));
    harness.get_by_label(ecgscope::LIBTORCH_VERSION);
    // The weights line names the manifest's MSCR hash (first 16 hex digits).
    let sha = shipped_mscr_sha256().unwrap();
    harness.get_by_label(&format!(
        "mscr.safetensors sha256 {} (verified)",
        &sha[..16]
    ));
    harness.get_by_label("cpu");
}

#[test]
fn about_before_any_study_names_the_weights_and_the_device_to_be_used() {
    let Some(sha) = shipped_mscr_sha256() else {
        return;
    };
    let engine = Engine::with_models(Some(repo().join("models")), Some(tch::Device::Cpu));
    let app = EcgApp::new(Settings::default(), None, Arc::new(engine), None, None);
    let mut harness = harness(app);
    open_about(&mut harness);
    harness.get_by_label(&format!(
        "mscr.safetensors sha256 {} (checked when first used)",
        &sha[..16]
    ));
    harness.get_by_label("cpu (when the model first runs)");
    // Showing About does not load the model.
    let (_, device) = harness.state().engine().about_summary();
    assert_eq!(device, "cpu (when the model first runs)");
}

#[test]
fn corrupt_weights_say_so_and_the_study_still_opens_and_is_measured() {
    let Some(dir) = corrupted_models("gui") else {
        return;
    };
    let app = analysed_with(dir.clone(), repo().join("assets/sample/00010_hr.hea"));
    let analysis = app.study.as_ref().unwrap().analysis.clone().unwrap();
    assert!(analysis.anomaly.is_none() && analysis.baseline.is_none());
    let hr = analysis
        .measurements
        .as_ref()
        .and_then(|m| m.heart_rate_bpm)
        .expect("measured");
    assert!((50.0..80.0).contains(&hr), "{hr}");
    let harness = harness(app);
    // The paper shows the study, without an overlay, and the panel says why.
    harness.get_by_label("ECG paper, 3×4 + II layout, 12 of 12 standard leads");
    harness.get_by_label_contains(
        "Anomaly model: the anomaly model could not be loaded: the weights file is corrupt",
    );
    let _ = std::fs::remove_dir_all(dir);
}
