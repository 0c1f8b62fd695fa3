//! GUI tests with egui_kittest: open the built-in sample, switch layout and gain, place a
//! caliper, and one rendered snapshot (fixed light theme, fixed size).

use ecgscope::app::settings::{Layout, Settings};
use ecgscope::app::EcgApp;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use std::path::PathBuf;
use std::time::Duration;

mod common;

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample/00010_hr.hea")
}

/// The app (without the model) with `path` opened, once the opening job is done.
fn opened(path: PathBuf) -> EcgApp {
    let mut app = common::app_without_model(Settings::default(), Some(path));
    app.wait_for_jobs(Duration::from_mins(1));
    assert!(app.study.is_some(), "the study opened: {:?}", app.message);
    app
}

/// A light-theme harness of `size` over `app`, after its first frames.
fn harness(app: EcgApp, size: egui::Vec2) -> Harness<'static, EcgApp> {
    let mut harness = Harness::builder()
        .with_size(size)
        .with_theme(egui::Theme::Light)
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    harness
}

fn harness_with_sample() -> Harness<'static, EcgApp> {
    harness(opened(sample()), egui::vec2(1500.0, 900.0))
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
                ecgcore::testing::skip(&format!("snapshot: no wgpu adapter ({msg})"));
            } else {
                panic!("snapshot differs: {msg}");
            }
        }
    }
}

/// The app (no model) after opening `page`, which the digitizer cannot read: no study.
fn open_unread(page: &std::path::Path) -> EcgApp {
    let mut app = common::app_without_model(Settings::default(), Some(page.to_path_buf()));
    app.wait_for_jobs(Duration::from_mins(1));
    assert!(app.study.is_none(), "{} was read", page.display());
    app
}

#[test]
fn a_page_the_digitizer_cannot_read_stays_open_with_settings_to_set_by_hand() {
    let dir = std::env::temp_dir().join(format!("ecgscope-gui-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A blank page: no grid and no trace for the digitizer to find.
    let page = dir.join("blank-page.png");
    image::RgbImage::from_pixel(600, 400, image::Rgb([255, 255, 255]))
        .save(&page)
        .unwrap();
    let app = open_unread(&page);
    let unread = app.unread_page.as_ref().expect("the unread page is kept");
    assert_eq!(unread.path, page);
    assert!(unread.error.contains("blank-page.png"), "{}", unread.error);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 700.0))
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    harness.get_by_label("Page not read");
    harness.get_by_label("Choose the layout printed on the page");
    // Choose a layout and a grid size, re-run: the page stays, with those settings.
    // The page panel's 6×2 (the toolbar has a display layout of the same name).
    harness
        .get_all_by_label("6×2")
        .find(|n| n.rect().min.y > 60.0)
        .expect("the page panel offers 6×2")
        .click();
    harness.run();
    harness.get_by_label("Will read as: 6×2");
    harness.get_by_label("Re-run digitizer").click();
    harness.step();
    harness.state_mut().wait_for_jobs(Duration::from_mins(1));
    harness.run();
    let unread = harness.state().unread_page.as_ref().expect("still unread");
    assert_eq!(unread.options.layout, Some(ecgdigitize::Layout::SixByTwo));
    harness.get_by_label("Page not read");
    // Closing it leaves the empty viewer; opening a readable file works as usual.
    harness.get_by_label("Close this page").click();
    harness.run();
    assert!(harness.state().unread_page.is_none());
    harness
        .state_mut()
        .apply(ecgscope::app::Command::Open(sample()));
    harness.state_mut().wait_for_jobs(Duration::from_mins(1));
    harness.step();
    assert!(harness.state().study.is_some());
    assert!(harness.state().unread_page.is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Real-world ecg00037 (a curved, tilted photo): read flat, only 2 of its 4 rows are
/// found. It opens read through its perspective correction (every lead doubtful); read
/// again without the correction it stays open unread. In the page panel the user picks
/// the layout, places its rows, drags the row bands onto the rows' baselines and re-runs:
/// the page is read from those rows.
#[test]
fn rows_set_by_hand_in_the_page_panel_read_a_page_whose_rows_are_not_found() {
    let page = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/images/real-world/ecg00037.jpg");
    if !page.exists() {
        ecgcore::testing::skip("../shared/data is absent");
        return;
    }
    let mut app = common::app_without_model(Settings::default(), Some(page.clone()));
    app.wait_for_jobs(Duration::from_mins(1));
    let read = app.study.as_ref().expect("the page opens read");
    let d = read.digitized.as_ref().unwrap();
    assert!(d.perspective_deg.is_some(), "read flat");
    assert!(
        d.confidence_per_lead.iter().all(|&c| c < 0.5),
        "{:?}",
        d.confidence_per_lead
    );
    app.apply(ecgscope::app::Command::Redigitize(
        ecgdigitize::DigitizeOptions {
            correct_perspective: Some(false),
            ..ecgdigitize::DigitizeOptions::default()
        },
    ));
    app.wait_for_jobs(Duration::from_mins(1));
    let unread = app.unread_page.as_ref().expect("the unread page is kept");
    assert!(unread.error.contains("--rows"), "{}", unread.error);
    // The failed read's two rows are kept: the bands start there (the best guess).
    assert_eq!(unread.found_rows.len(), 2, "{:?}", unread.found_rows);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 800.0))
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    harness.get_by_label("Page not read");
    harness.get_by_label("Row 2 baseline");
    assert!(harness.query_by_label("Row 3 baseline").is_none());
    harness
        .get_all_by_label("3×4+1")
        .find(|n| n.rect().min.y > 60.0)
        .expect("the page panel offers 3×4+1")
        .click();
    harness.run();
    // Two rows were found: place the layout's four, add one, remove one, go back to the
    // two found, place four again.
    harness.get_by_label("Place 4 rows").click();
    harness.run();
    harness.get_by_label("Row 4 baseline");
    harness.get_by_label("Add row").click();
    harness.run();
    harness.get_by_label("Row 5 baseline");
    harness.get_by_label_contains("has 4 rows; 5 are drawn");
    harness.get_by_label("Remove row").click();
    harness.run();
    assert!(harness.query_by_label("Row 5 baseline").is_none());
    harness.get_by_label("Rows found").click();
    harness.run();
    harness.get_by_label("Row 2 baseline");
    assert!(harness.query_by_label("Row 3 baseline").is_none());
    harness.get_by_label("Place 4 rows").click();
    harness.run();
    // The bands sit at 0.2, 0.4, 0.6 and 0.8 of the image's height: drag each onto its
    // row (read off the image where the rows cross its centre line).
    let centre = |h: &Harness<'_, EcgApp>, k: usize| {
        h.get_by_label(&format!("Row {k} baseline")).rect().center()
    };
    let (a, b) = (centre(&harness, 1), centre(&harness, 2));
    let height = (b.y - a.y) / 0.2;
    let top = a.y - 0.2 * height;
    let want = [0.14f32, 0.36, 0.60, 0.88];
    for (k, f) in want.iter().enumerate() {
        let from = centre(&harness, k + 1);
        let to = egui::pos2(from.x, top + f * height);
        harness.hover_at(from);
        harness.run();
        harness.drag_at(from);
        harness.run();
        harness.hover_at(egui::pos2(from.x, f32::midpoint(from.y, to.y)));
        harness.run();
        harness.hover_at(to);
        harness.run();
        harness.drop_at(to);
        harness.run();
    }
    let id = ecgscope::ui::source::options_id(&page);
    let set: ecgdigitize::DigitizeOptions = harness
        .ctx
        .data(|m| m.get_temp(id))
        .expect("the page's settings");
    let rows = set.rows.expect("rows set by hand");
    assert_eq!(rows.len(), 4);
    for (got, f) in rows.as_slice().iter().zip(want) {
        assert!((got - f).abs() < 0.01, "{rows}");
    }
    harness.get_by_label_contains("4 set by hand");
    harness.get_by_label("Re-run digitizer").click();
    harness.step();
    harness.state_mut().wait_for_jobs(Duration::from_mins(1));
    harness.run();
    assert!(
        harness.state().unread_page.is_none(),
        "{:?}",
        harness.state().unread_page.as_ref().map(|u| &u.error)
    );
    let study = harness.state().study.as_ref().expect("the page was read");
    assert_eq!(study.digitize_options.rows, Some(rows));
    let d = study.digitized.as_ref().unwrap();
    assert_eq!(
        d.layout,
        ecgdigitize::Layout::ThreeByFour { rhythm_strips: 1 }
    );
    for (got, f) in d.row_baselines.iter().zip(want) {
        assert!((got - f).abs() < 0.04, "{:?}", d.row_baselines);
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
    let mut app = common::app_without_model(Settings::default(), Some(bad));
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
        ecgcore::testing::skip("../shared/data is absent");
        return;
    }
    let mut harness = harness(opened(scp), egui::vec2(1500.0, 1200.0));
    harness.get_by_label("Device measurements");
    harness.get_by_label("As reported by the acquiring device, not by ecgscope");
    harness
        .get_by_label("Device median beats (from the file)")
        .click();
    harness.run();
    harness.get_by_label("Device median beats");
}

/// A plain EDF of `seconds` one-second records with leads I and II at 100 Hz: lead I is a
/// 1 mV spike each second on a baseline of (second mod 100) / 100 mV, so every 10 s window
/// differs; lead II is a 1 Hz sine.
fn write_long_edf(path: &std::path::Path, seconds: usize) {
    fn field(out: &mut Vec<u8>, text: &str, width: usize) {
        let mut f = text.as_bytes().to_vec();
        f.resize(width, b' ');
        out.extend_from_slice(&f);
    }
    let (ns, spr) = (2usize, 100usize);
    let mut h = Vec::new();
    field(&mut h, "0", 8);
    field(&mut h, "X X X X", 80);
    field(&mut h, "Startdate X X X X", 80);
    field(&mut h, "01.01.20", 8);
    field(&mut h, "00.00.00", 8);
    field(&mut h, &(256 * (ns + 1)).to_string(), 8);
    field(&mut h, "", 44);
    field(&mut h, &seconds.to_string(), 8);
    field(&mut h, "1", 8);
    field(&mut h, &ns.to_string(), 4);
    let per_signal: [(&str, usize); 10] = [
        ("I|II", 16),
        ("", 80),
        ("mV", 8),
        ("-10", 8),
        ("10", 8),
        ("-32768", 8),
        ("32767", 8),
        ("", 80),
        ("100", 8),
        ("", 32),
    ];
    for (values, width) in per_signal {
        for i in 0..ns {
            field(&mut h, values.split('|').nth(i).unwrap_or(values), width);
        }
    }
    // 10 mV over 32767.5 digital steps: digital = mV × 3276.75
    let digital = |mv: f64| ((mv * 3276.75).round() as i16).to_le_bytes();
    for sec in 0..seconds {
        for k in 0..spr {
            let spike = if k == 20 { 1.0 } else { 0.0 };
            h.extend_from_slice(&digital((sec % 100) as f64 / 100.0 + spike));
        }
        for k in 0..spr {
            h.extend_from_slice(&digital(
                0.5 * (2.0 * std::f64::consts::PI * k as f64 / spr as f64).sin(),
            ));
        }
    }
    std::fs::write(path, h).unwrap();
}

#[test]
fn a_long_edf_pages_through_its_windows() {
    let dir = std::env::temp_dir().join(format!("ecgscope-gui-edf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("long.edf");
    write_long_edf(&path, 400);
    let app = opened(path);
    let lead_i = |app: &EcgApp| {
        app.study.as_ref().unwrap().original.leads[0]
            .samples_mv
            .clone()
    };
    let first = lead_i(&app);
    assert_eq!(first.len(), 1000, "the first 10 s at 100 Hz");
    let mut harness = harness(app, egui::vec2(1600.0, 900.0));
    harness.get_by_label("window 00:00:00–00:00:10 of 00:06:40");
    harness.get_by_label("Window start");
    harness.get_by_label("< Previous 10 s");

    harness.get_by_label("Next 10 s >").click();
    harness.step();
    harness.state_mut().wait_for_jobs(Duration::from_mins(1));
    harness.run();
    harness.get_by_label("window 00:00:10–00:00:20 of 00:06:40");
    let second = lead_i(harness.state());
    assert_eq!(second.len(), 1000);
    assert_ne!(second, first, "the shown samples changed");
    // baseline of second 10 is 0.10 mV (one digital step is 0.0003 mV)
    assert!((second[0] - 0.10).abs() < 1e-3, "{}", second[0]);
    assert!((first[0] - 0.0).abs() < 1e-3, "{}", first[0]);

    // typed time: 00:05:00 reads the window 300-310 s
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Go to")
        .focus();
    harness.run();
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Go to")
        .set_text_value_accesskit("00:05:00");
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.step();
    harness.state_mut().wait_for_jobs(Duration::from_mins(1));
    harness.run();
    harness.get_by_label("window 00:05:00–00:05:10 of 00:06:40");
    let typed = lead_i(harness.state());
    // second 300: baseline (300 mod 100) / 100 = 0 mV, second 301: 0.01 mV
    assert!((typed[100] - 0.01).abs() < 1e-3, "{}", typed[100]);

    // the slider (as assistive technology sets it): 200 s
    harness
        .get_by_label("Window start")
        .set_value_accesskit(200.0);
    harness.step();
    harness.state_mut().wait_for_jobs(Duration::from_mins(1));
    harness.run();
    harness.get_by_label("window 00:03:20–00:03:30 of 00:06:40");

    // keyboard: Page Down / Page Up step by one window
    harness.key_press(egui::Key::PageDown);
    harness.step();
    harness.state_mut().wait_for_jobs(Duration::from_mins(1));
    harness.run();
    harness.get_by_label("window 00:03:30–00:03:40 of 00:06:40");
    harness.key_press(egui::Key::PageUp);
    harness.step();
    harness.state_mut().wait_for_jobs(Duration::from_mins(1));
    harness.run();
    harness.get_by_label("window 00:03:20–00:03:30 of 00:06:40");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn edf_annotations_are_jump_targets() {
    // pyedflib's 698 s EDF+ sample with four annotations (BSD-2, ../shared/data).
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/formats/edf/pyedflib/test_subsecond.edf");
    if !path.exists() {
        ecgcore::testing::skip("../shared/data is absent");
        return;
    }
    let app = opened(path);
    assert_eq!(
        app.study
            .as_ref()
            .unwrap()
            .edf
            .as_ref()
            .unwrap()
            .annotations
            .len(),
        4
    );
    let mut harness = harness(app, egui::vec2(1600.0, 900.0));
    harness.get_by_label("window 00:00:00–00:00:10 of 00:11:38");
    harness.get_by_label("Jump to annotation").click();
    harness.run();
    // The first two annotations lie in the window shown; XLEvent at 290.5 s does not.
    assert_eq!(harness.query_all_by_label_contains("(shown)").count(), 2);
    harness.get_by_label_contains("XLEvent").click();
    harness.step();
    harness.state_mut().wait_for_jobs(Duration::from_mins(1));
    harness.run();
    // The window that shows it starts 2 s before it.
    harness.get_by_label("window 00:04:48–00:04:58 of 00:11:38");
    assert_eq!(
        harness
            .state()
            .study
            .as_ref()
            .unwrap()
            .edf
            .as_ref()
            .unwrap()
            .annotations
            .len(),
        4
    );
}

/// A paper page opens in the layout it was printed in: a 12×1 page in the 12×1 view (the
/// 3×4 view would show each lead for 2.5 of its 10 s), a 6×2 page printed in another
/// order than the viewer's 6×2 in 12×1 too, and a 3×4 page back in 3×4 + II. The user's
/// single-lead view is kept.
#[test]
fn a_paper_page_opens_in_the_layout_it_was_printed_in() {
    let kit = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/images/ecg-image-kit");
    if !kit.exists() {
        ecgcore::testing::skip("../shared/data is absent");
        return;
    }
    let mut app =
        common::app_without_model(Settings::default(), Some(kit.join("00036_hr-3b-12x1.png")));
    let open = |app: &mut EcgApp, name: &str| {
        app.apply(ecgscope::app::Command::Open(kit.join(name)));
        app.wait_for_jobs(Duration::from_mins(1));
        let study = app.study.as_ref().expect("the page is read");
        assert!(study.path.ends_with(name), "{}", study.path.display());
    };
    app.wait_for_jobs(Duration::from_mins(1));
    assert!(app.study.is_some());
    assert_eq!(app.settings.layout, Layout::TwelveByOne);
    open(&mut app, "00006_hr-1-clean-3x4.png");
    assert_eq!(app.settings.layout, Layout::ThreeByFourRhythm);
    open(&mut app, "00436_hr-3a-6x2.png");
    assert_eq!(app.settings.layout, Layout::TwelveByOne);
    app.apply(ecgscope::app::Command::SetLayout(Layout::Single));
    open(&mut app, "00006_hr-1-clean-3x4.png");
    assert_eq!(app.settings.layout, Layout::Single);
}
