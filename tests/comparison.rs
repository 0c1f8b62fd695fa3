//! Serial comparison with a prior ECG: `analyze --prior` (the `comparison` object), the
//! report's comparison page and the GUI's comparison view.

use ecgscope::app::settings::Settings;
use ecgscope::app::{Command, EcgApp};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use std::path::PathBuf;
use std::time::Duration;

mod common;
use common::repo;

fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_ecgscope"))
}

fn sample() -> PathBuf {
    repo().join("assets/sample/00010_hr.hea")
}

/// The `comparison` object of `analyze --json --prior`.
fn comparison_json(current: &std::path::Path, prior: &std::path::Path) -> serde_json::Value {
    let v = common::json_ok(
        bin()
            .args(["analyze", "--json", "--no-maps", "--device", "cpu"])
            .arg(current)
            .arg("--prior")
            .arg(prior),
    );
    v["comparison"].clone()
}

/// The app (without the model) with the sample open.
fn sample_app() -> EcgApp {
    let mut app = common::app_without_model(Settings::default(), Some(sample()));
    app.wait_for_jobs(Duration::from_mins(1));
    app
}

/// Two ECGs of one PTB-XL patient (21551): an anteroseptal MI (ecg 177), then more
/// extensive infarction with ST elevation, faster (ecg 181).
fn ptbxl_pair() -> Option<(PathBuf, PathBuf)> {
    let dir = repo().join("../shared/data/ptbxl/records500/00000");
    let (prior, current) = (dir.join("00177_hr.hea"), dir.join("00181_hr.hea"));
    if !(prior.exists() && current.exists()) {
        ecgcore::testing::skip("../shared/data/ptbxl is absent");
        return None;
    }
    Some((prior, current))
}

#[test]
fn analyze_prior_reports_what_changed_on_a_real_pair() {
    let Some((prior, current)) = ptbxl_pair() else {
        return;
    };
    let c = &comparison_json(&current, &prior);
    assert_eq!(c["prior"]["name"], "00177_hr.hea");
    assert_eq!(c["current"]["name"], "00181_hr.hea");
    let changes = c["changes"].as_array().unwrap();
    let labels: Vec<&str> = changes
        .iter()
        .map(|x| x["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["Heart rate", "PR", "QRS", "QT", "QTc Bazett", "QRS axis"]
    );
    // The rate rose from about 94 to about 137 bpm.
    let hr = &changes[0];
    let delta = hr["delta"].as_f64().unwrap();
    assert!((35.0..50.0).contains(&delta), "{hr}");
    assert_eq!(hr["notable"], true);
    // ST rose by about half a millivolt across V2–V3.
    let st = c["st_changes"].as_array().unwrap();
    let v2 = st
        .iter()
        .find(|s| s["lead"] == "V2")
        .expect("ST change in V2");
    assert!(v2["current_mv"].as_f64().unwrap() - v2["prior_mv"].as_f64().unwrap() > 0.3);
    let summary: Vec<&str> = c["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        summary.iter().any(|s| s.starts_with("ST higher")),
        "{summary:?}"
    );
    assert!(
        summary
            .iter()
            .any(|s| s.starts_with("Heart rate increased")),
        "{summary:?}"
    );
    // Both scored by both methods.
    assert_eq!(c["scores"].as_array().unwrap().len(), 2);

    // A paper page as the prior (a rendered PTB-XL record, digitized) compares too, with
    // the caveat that it was digitized.
    let page = repo().join("../shared/data/images/rendered-ptbxl/PTB_XL_op/00003_hr-0.png");
    if !page.exists() {
        ecgcore::testing::skip("../shared/data/images is absent");
        return;
    }
    let c = &comparison_json(&current, &page);
    assert!(c["prior"]["format"].as_str().unwrap().contains("digitized"));
    assert!(c["caveats"][0]
        .as_str()
        .unwrap()
        .contains("digitized from paper"));
    assert!(
        c["changes"][0]["delta"].as_f64().is_some(),
        "HR compared: {c}"
    );
    assert_eq!(c["current"]["sample_rate_hz"], 500.0);
}

#[test]
fn a_study_compared_with_itself_has_no_notable_change_and_a_bad_prior_is_named() {
    let c = &comparison_json(&sample(), &sample());
    assert!(c["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["delta"] == 0.0 && x["notable"] == false));
    assert!(c["summary"][0]
        .as_str()
        .unwrap()
        .starts_with("No notable change"));
    assert!(c["st_changes"].as_array().unwrap().is_empty());

    let missing = repo().join("tests/data/no-such-prior.hea");
    let out = bin()
        .args(["analyze"])
        .arg(sample())
        .arg("--prior")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the prior ECG") && err.contains("no-such-prior.hea"),
        "{err}"
    );
}

#[test]
fn the_report_gains_a_comparison_page_with_a_prior() {
    let dir = std::env::temp_dir().join(format!("ecgscope-cmp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pages = |prior: bool| -> usize {
        let pdf = dir.join(format!("r-{prior}.pdf"));
        let mut cmd = bin();
        cmd.args(["report", "--device", "cpu", "--force", "-o"])
            .arg(&pdf)
            .arg(sample());
        if prior {
            cmd.arg("--prior").arg(sample());
        }
        common::run_ok(&mut cmd);
        let text = String::from_utf8_lossy(&std::fs::read(&pdf).unwrap()).into_owned();
        let at = text.find("/Count ").expect("a page tree");
        text[at + 7..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    };
    assert_eq!(pages(false), 1);
    assert_eq!(pages(true), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_gui_compares_with_a_prior_and_drops_it_for_another_patient() {
    let mut app = sample_app();
    app.apply(Command::OpenPrior(sample()));
    app.wait_for_jobs(Duration::from_mins(1));
    let prior = app.prior().expect("the prior opened");
    let c = prior.comparison.as_ref().expect("compared");
    assert!(!c.any_notable());
    assert!(app.show_comparison);

    let mut harness = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .with_theme(egui::Theme::Light)
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    harness.get_by_label("What changed");
    harness.get_by_label("Median beats overlaid");
    harness.get_by_label("Comparison with prior");
    harness.get_by_label("Close prior").click();
    harness.run();
    assert!(harness.state().priors.is_empty());
    assert!(harness.query_by_label("What changed").is_none());

    // A prior that cannot be read is reported, naming it; the study stays.
    let app = harness.state_mut();
    app.apply(Command::OpenPrior(repo().join("Cargo.toml")));
    app.wait_for_jobs(Duration::from_mins(1));
    let (_, message) = app.message.clone().expect("an error message");
    assert!(
        message.contains("the prior ECG") && message.contains("Cargo.toml"),
        "{message}"
    );
    assert!(app.priors.is_empty() && app.study.is_some());

    // Opening another study drops the prior (it belonged to the other patient).
    app.apply(Command::OpenPrior(sample()));
    app.wait_for_jobs(Duration::from_mins(1));
    assert_eq!(app.priors.len(), 1);
    let dir = std::env::temp_dir().join(format!("ecgscope-cmp-gui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["hea", "dat"] {
        std::fs::copy(
            repo().join(format!("assets/sample/00010_hr.{ext}")),
            dir.join(format!("00010_hr.{ext}")),
        )
        .unwrap();
    }
    app.apply(Command::Open(dir.join("00010_hr.hea")));
    app.wait_for_jobs(Duration::from_mins(1));
    assert!(app.study.as_ref().is_some_and(|s| s.path.starts_with(&dir)));
    assert!(app.priors.is_empty(), "{:?}", app.message);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn measurement_corrections_are_marked_saved_outside_the_study_restored_and_reverted() {
    let dir = std::env::temp_dir().join(format!("ecgscope-review-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = ecgscope::edits::EditsStore::at(dir.join("data/measurement-edits"));
    let open = |store: &ecgscope::edits::EditsStore| {
        let mut app = common::app_without_model(Settings::default(), None);
        app.edits_store = Some(store.clone());
        app.apply(Command::Open(sample()));
        app.wait_for_jobs(Duration::from_mins(1));
        app
    };
    let mut app = open(&store);
    let auto_qrs = app
        .study
        .as_ref()
        .unwrap()
        .analysis
        .as_ref()
        .unwrap()
        .measurements
        .as_ref()
        .unwrap()
        .qrs_ms
        .unwrap();
    let edits = ecgcore::review::MeasurementEdits {
        qrs_ms: Some(92.0),
        rr_ms: Some(800.0),
        ..Default::default()
    };
    app.apply(Command::EditMeasurements(edits));
    let a = app.study.as_ref().unwrap().analysis.clone().unwrap();
    let m = a.measurements.as_ref().unwrap();
    assert_eq!(m.qrs_ms, Some(92.0));
    assert_eq!(m.heart_rate_bpm, Some(75.0));
    let qrs = a
        .edited(ecgcore::dsp::measurements::Quantity::QrsMs)
        .unwrap();
    assert_eq!(qrs.automatic, Some(auto_qrs));
    // The findings (predicted vs measured) follow the corrected value.
    let f = &app.study.as_ref().unwrap().findings;
    let qrs_col = f
        .attributes
        .iter()
        .find(|c| c.label.starts_with("QRS"))
        .unwrap();
    assert!(format!("{qrs_col:?}").contains("92"), "{qrs_col:?}");
    // Saved in the data folder, never beside the study.
    assert!(store.file_for(&sample()).is_file());
    let beside: Vec<_> = std::fs::read_dir(repo().join("assets/sample"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside.len(), 3, "{beside:?}");
    // Implausible corrections are refused with what to enter.
    app.apply(Command::EditMeasurements(
        ecgcore::review::MeasurementEdits {
            qt_ms: Some(2000.0),
            ..edits
        },
    ));
    assert!(app
        .message
        .as_ref()
        .unwrap()
        .1
        .contains("from 100 to 800 ms"));
    assert_eq!(app.study.as_ref().unwrap().edits, edits);

    // Reopened: restored. The PDF and JSON mark them too (same Analysis).
    let mut app = open(&store);
    assert_eq!(app.study.as_ref().unwrap().edits, edits);
    let a = app.study.as_ref().unwrap().analysis.clone().unwrap();
    assert_eq!(a.measurements.as_ref().unwrap().qrs_ms, Some(92.0));
    let json = ecgscope::cli::analyze::analysis_json(&a, false);
    assert_eq!(json["edited"][0]["quantity"], "rr_ms");
    assert!(json["edited"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["quantity"] == "qrs_ms" && e["value"] == 92.0));

    // Revert to automatic: values back, saved file gone.
    app.apply(Command::EditMeasurements(
        ecgcore::review::MeasurementEdits::default(),
    ));
    let a = app.study.as_ref().unwrap().analysis.clone().unwrap();
    assert_eq!(a.measurements.as_ref().unwrap().qrs_ms, Some(auto_qrs));
    assert!(a.edited.is_empty());
    assert!(!store.file_for(&sample()).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn analyze_applies_the_corrections_saved_in_the_data_folder() {
    let dir = std::env::temp_dir().join(format!("ecgscope-review-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = ecgscope::edits::EditsStore::at(dir.join("measurement-edits"));
    let fp = ecgscope::edits::EditsStore::fingerprint(&sample()).unwrap();
    let edits = ecgcore::review::MeasurementEdits {
        pr_ms: Some(150.0),
        ..Default::default()
    };
    store.save(&sample(), &fp, &edits).unwrap();
    let v = common::json_ok(
        bin()
            .env("ECGSCOPE_DATA_DIR", &dir)
            .args(["analyze", "--json", "--no-maps", "--device", "cpu"])
            .arg(sample()),
    );
    assert_eq!(v["measurements"]["pr_ms"], 150.0);
    assert_eq!(v["edited"][0]["quantity"], "pr_ms");
    assert!(v["edited"][0]["automatic"].as_f64().unwrap() > 150.5);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn several_priors_make_a_trend_and_each_can_be_chosen_and_closed() {
    let dir = std::env::temp_dir().join(format!("ecgscope-cmp-trend-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["hea", "dat"] {
        std::fs::copy(
            repo().join(format!("assets/sample/00010_hr.{ext}")),
            dir.join(format!("older.{ext}")),
        )
        .unwrap();
    }
    // The copy's header names its own record.
    let hea = std::fs::read_to_string(dir.join("older.hea")).unwrap();
    std::fs::write(dir.join("older.hea"), hea.replace("00010_hr", "older")).unwrap();
    let mut app = sample_app();
    app.apply(Command::OpenPrior(sample()));
    app.wait_for_jobs(Duration::from_mins(1));
    app.apply(Command::OpenPrior(dir.join("older.hea")));
    app.wait_for_jobs(Duration::from_mins(1));
    assert_eq!(app.priors.len(), 2, "{:?}", app.message);
    assert_eq!(app.selected_prior, 1);
    // Opening one again replaces it rather than adding a third.
    app.apply(Command::OpenPrior(sample()));
    app.wait_for_jobs(Duration::from_mins(1));
    assert_eq!((app.priors.len(), app.selected_prior), (2, 0));
    assert!(app.priors.iter().all(|p| p.comparison.is_some()));

    let mut harness = Harness::builder()
        .with_size(egui::vec2(1500.0, 1100.0))
        .with_theme(egui::Theme::Light)
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    harness.get_by_label("Trend of intervals");
    harness.get_by_label("Trend of scores");
    harness.state_mut().apply(Command::SelectPrior(1));
    harness.run();
    assert!(harness.state().prior().unwrap().path.ends_with("older.hea"));
    harness.state_mut().apply(Command::ClosePrior);
    harness.run();
    assert_eq!(harness.state().priors.len(), 1);
    assert!(harness.query_by_label("Trend of intervals").is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_review_window_shows_the_markers_and_reverts() {
    let mut app = sample_app();
    app.apply(Command::ShowReview(true));
    app.apply(Command::EditMeasurements(
        ecgcore::review::MeasurementEdits {
            qrs_ms: Some(95.0),
            ..Default::default()
        },
    ));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .with_theme(egui::Theme::Light)
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    harness.get_by_label("Review measurements");
    for marker in ["P on", "QRS on", "QRS off", "T end"] {
        harness.get_by_label(marker);
    }
    // Marked as edited in the measurements table, with the automatic value on hover.
    harness.get_by_label("95 ms (edited)");
    harness.get_by_label("QRS (edited)");
    harness.get_by_label("Revert to automatic").click();
    harness.run();
    assert!(harness.state().study.as_ref().unwrap().edits.is_empty());
    assert!(harness.query_by_label("95 ms (edited)").is_none());
}
