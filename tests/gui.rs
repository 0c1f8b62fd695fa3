//! GUI tests with egui_kittest: open the built-in sample, switch layout and gain, place a
//! caliper, and one rendered snapshot (fixed light theme, fixed size).

use ecgscope::app::settings::{Layout, Settings};
use ecgscope::app::EcgApp;
use ecgscope::pipeline::Engine;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample/00010_hr.hea")
}

fn harness_with_sample() -> Harness<'static, EcgApp> {
    let mut app = EcgApp::new(
        Settings::default(),
        None,
        Arc::new(Engine::without_model("tests run without the model")),
        Some(sample()),
        None,
    );
    app.wait_for_jobs(Duration::from_mins(1));
    assert!(
        app.study.is_some(),
        "the sample study opened: {:?}",
        app.message
    );
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1500.0, 900.0))
        .with_theme(egui::Theme::Light)
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    harness
}

#[test]
fn opens_the_sample_and_switches_layout_and_gain() {
    let mut harness = harness_with_sample();
    harness.get_by_label("ECG paper, 3×4 + II layout, 12 of 12 standard leads");
    harness.get_by_label("00010_hr.hea");
    harness.get_by_label("22 y");
    harness.get_by_label("female");
    // Measurements beside the tracing, with the median beat and its fiducial marks.
    harness.get_by_label("Measurements");
    harness.get_by_label("Median beats with fiducial marks");
    harness.get_by_label("QTc Fridericia");

    harness.get_by_label("6×2").click();
    harness.run();
    assert_eq!(harness.state().settings.layout, Layout::SixByTwo);
    harness.get_by_label("ECG paper, 6×2 layout, 12 of 12 standard leads");

    harness.get_by_label("20 mm/mV").click();
    harness.run();
    assert_eq!(harness.state().settings.gain_mm_per_mv, 20.0);
    harness.get_by_label_contains("20 mm/mV · 0.5–150 Hz");

    harness.get_by_label("12×1").click();
    harness.run();
    harness.get_by_label("ECG paper, 12×1 layout, 12 of 12 standard leads");
}

#[test]
fn places_a_caliper_and_reads_interval_voltage_and_rate() {
    let mut harness = harness_with_sample();
    harness.get_by_label("Calipers").click();
    harness.run();
    assert!(harness.state().paper.caliper_mode);
    harness.get_by_label("Click two points on the tracing.");

    let paper = harness.get_by_label_contains("ECG paper").rect();
    let pt_per_mm = 96.0 / 25.4;
    // 20 mm apart horizontally = 800 ms at 25 mm/s; 10 mm apart vertically = 1 mV.
    let a = paper.min + egui::vec2(40.0, 60.0) * pt_per_mm;
    let b = paper.min + egui::vec2(60.0, 50.0) * pt_per_mm;
    for p in [a, b] {
        harness.hover_at(p);
        harness.run();
        harness.drag_at(p);
        harness.run();
        harness.drop_at(p);
        harness.run();
    }
    let r = harness
        .state()
        .paper
        .caliper
        .readout(25.0, 10.0)
        .expect("both caliper ends placed");
    assert!((r.dt_ms - 800.0).abs() < 1.0, "{r:?}");
    assert!((r.dv_uv - 1000.0).abs() < 5.0, "{r:?}");
    harness.get_by_label("Δt 800 ms · ΔV 1000 µV · 75 bpm");
}

#[test]
fn snapshot_of_the_sample_on_paper() {
    let mut harness = harness_with_sample();
    // Software rendering may be unavailable on some machines; the snapshot is then skipped
    // with a message rather than failing the suite for a missing GPU stack.
    match harness.try_snapshot("sample_3x4") {
        Ok(()) => {}
        Err(e) => {
            let msg = e.to_string();
            if msg.contains("adapter") || msg.contains("renderer") {
                eprintln!("SKIPPED snapshot: no wgpu adapter ({msg})");
            } else {
                panic!("snapshot differs: {msg}");
            }
        }
    }
}

#[test]
fn a_bad_file_shows_an_error_not_a_crash() {
    let dir = std::env::temp_dir().join(format!("ecgscope-gui-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("broken.hea");
    std::fs::write(
        &bad,
        "broken 2 500 5000\nbroken.dat 16 200 16 0 0 0 0 I\nbroken.dat 16 200 16 0 0 0 0 II\n",
    )
    .unwrap();
    let mut app = EcgApp::new(
        Settings::default(),
        None,
        Arc::new(Engine::without_model("test")),
        Some(bad),
        None,
    );
    app.wait_for_jobs(Duration::from_secs(30));
    let (_, message) = app.message.clone().expect("an error message is shown");
    assert!(message.contains("broken.dat is missing"), "{message}");
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 700.0))
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    harness.get_by_label_contains("broken.dat is missing");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_clinical_file_shows_device_measurements_and_its_median_beats() {
    let scp = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/formats/ecgtoolkit_examples/Example.scp");
    if !scp.exists() {
        eprintln!("SKIPPED: ../shared/data is absent");
        return;
    }
    let mut app = EcgApp::new(
        Settings::default(),
        None,
        Arc::new(Engine::without_model("test")),
        Some(scp),
        None,
    );
    app.wait_for_jobs(Duration::from_mins(1));
    assert!(app.study.is_some(), "{:?}", app.message);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1500.0, 1200.0))
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    harness.get_by_label("Device measurements");
    harness.get_by_label("As reported by the acquiring device, not by ecgscope");
    harness
        .get_by_label("Device median beats (from the file)")
        .click();
    harness.run();
    harness.get_by_label("Device median beats");
}
