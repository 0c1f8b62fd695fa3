//! A folder of studies in the GUI (egui_kittest, no window): `ecgscope DIR` lists the
//! folder's studies, opens the first readable one, shows an unreadable file with its error,
//! and the Next button and the keyboard shortcuts move through the list.

use ecgscope::app::folder::EntryStatus;
use ecgscope::app::settings::Settings;
use ecgscope::app::{Command, EcgApp};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;

/// The built-in sample copied into `dir` as record `name`.
fn copy_sample(dir: &Path, name: &str) {
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    let header = std::fs::read_to_string(sample.join("00010_hr.hea")).unwrap();
    std::fs::write(
        dir.join(format!("{name}.hea")),
        header.replace("00010_hr", name),
    )
    .unwrap();
    std::fs::copy(sample.join("00010_hr.dat"), dir.join(format!("{name}.dat"))).unwrap();
}

fn folder(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("ecgscope-folder-gui-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("0_garbage.scp"), b"not an SCP-ECG file").unwrap();
    copy_sample(&dir, "first");
    copy_sample(&dir, "second");
    std::fs::write(dir.join("README.txt"), b"left out").unwrap();
    dir
}

fn current_file(app: &EcgApp) -> String {
    let study = app.study.as_ref().expect("a study is open");
    study
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_folder_lists_its_studies_and_next_and_previous_move_through_them() {
    let dir = folder("list");
    // As `ecgscope DIR` starts the app.
    let mut app = common::app_without_model(Settings::default(), Some(dir.clone()));
    app.wait_for_folder(Duration::from_mins(2));
    assert_eq!(current_file(&app), "first.hea", "the first readable study");
    let f = app.folder.as_ref().unwrap();
    assert_eq!(f.progress(), (3, 3));
    assert!(matches!(&f.entries[0].status, EntryStatus::Error(e) if e.contains("0_garbage.scp")));

    let mut harness = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .with_theme(egui::Theme::Light)
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    harness.get_by_label("second.hea");
    harness.get_by_label("study 2 of 3");
    harness.get_by_label_contains("Cannot be read: ");
    assert!(harness.query_by_label("README.txt").is_none());

    // The panel's Next button.
    harness.get_by_label("Next >").click();
    harness.step();
    harness.state_mut().wait_for_folder(Duration::from_mins(1));
    harness.run();
    assert_eq!(current_file(harness.state()), "second.hea");
    harness.get_by_label("study 3 of 3");

    // Alt+← goes back; Page Up at the first readable study stays (the unreadable file is
    // skipped) and says so.
    harness.key_press_modifiers(egui::Modifiers::ALT, egui::Key::ArrowLeft);
    harness.step();
    harness.state_mut().wait_for_folder(Duration::from_mins(1));
    harness.run();
    assert_eq!(current_file(harness.state()), "first.hea");
    harness.key_press(egui::Key::PageUp);
    harness.step();
    harness.run();
    assert_eq!(current_file(harness.state()), "first.hea");
    harness.get_by_label("This is the first study of the folder.");
    // Page Down goes forward.
    harness.key_press(egui::Key::PageDown);
    harness.step();
    harness.state_mut().wait_for_folder(Duration::from_mins(1));
    harness.run();
    assert_eq!(current_file(harness.state()), "second.hea");

    // Clicking an unreadable file shows its error, the list stays.
    harness.get_by_label("0_garbage.scp").click();
    harness.step();
    harness.state_mut().wait_for_folder(Duration::from_mins(1));
    harness.run();
    let (_, message) = harness.state().message.clone().expect("an error is shown");
    assert!(message.contains("0_garbage.scp"), "{message}");
    assert_eq!(harness.state().folder.as_ref().unwrap().current, Some(0));
    harness.get_by_label("first.hea");

    // Opening another folder replaces the list; closing it removes the panel.
    let other = folder("other");
    std::fs::remove_file(other.join("first.hea")).unwrap();
    harness
        .state_mut()
        .apply(Command::OpenFolder(other.clone()));
    harness.state_mut().wait_for_folder(Duration::from_mins(1));
    harness.run();
    assert!(harness.query_by_label("first.hea").is_none());
    harness.get_by_label("study 2 of 2");
    harness.state_mut().apply(Command::CloseFolder);
    harness.run();
    assert!(harness.query_by_label("Next >").is_none());
    assert!(harness.state().folder.is_none());
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&other).unwrap();
}

#[test]
fn a_folder_reopens_at_the_study_last_reviewed_there() {
    let dir = folder("position");
    let mut app = common::app_without_model(Settings::default(), None);
    app.apply(Command::OpenFolder(dir.clone()));
    app.wait_for_folder(Duration::from_mins(2));
    app.apply(Command::NextStudy);
    app.wait_for_folder(Duration::from_mins(1));
    assert_eq!(current_file(&app), "second.hea");
    // Next time (the same settings), the folder opens at the second study, not the first.
    let settings = app.settings.clone();
    assert!(settings
        .recent_files
        .iter()
        .any(|p| p.ends_with(dir.file_name().unwrap())));
    let mut again = common::app_without_model(settings, Some(dir.clone()));
    again.wait_for_folder(Duration::from_mins(2));
    assert_eq!(current_file(&again), "second.hea");
    assert_eq!(again.folder.as_ref().unwrap().current, Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn analyze_and_report_refuse_a_folder_and_say_to_open_it_in_the_viewer() {
    let dir = folder("cli");
    for args in [
        vec!["analyze".into(), dir.display().to_string()],
        vec![
            "report".into(),
            dir.display().to_string(),
            "-o".into(),
            dir.join("out.pdf").display().to_string(),
        ],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecgscope"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("is a folder; open it in the viewer with `ecgscope "),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert!(!dir.join("out.pdf").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_key_press_counts_even_several_in_one_frame() {
    let dir = folder("presses");
    copy_sample(&dir, "third");
    let mut app = common::app_without_model(Settings::default(), Some(dir.clone()));
    app.wait_for_folder(Duration::from_mins(2));
    assert_eq!(current_file(&app), "first.hea");
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .build_ui_state(|ui, app: &mut EcgApp| app.frame_ui(ui), app);
    harness.run();
    // Two presses before the next frame: two studies on, one study opened.
    harness.key_press_modifiers(egui::Modifiers::ALT, egui::Key::ArrowRight);
    harness.key_press(egui::Key::PageDown);
    harness.step();
    harness.state_mut().wait_for_folder(Duration::from_mins(1));
    harness.run();
    assert_eq!(current_file(harness.state()), "third.hea");
    // Three back from the third: the first readable one (the unreadable file is skipped).
    for _ in 0..3 {
        harness.key_press(egui::Key::PageUp);
    }
    harness.step();
    harness.state_mut().wait_for_folder(Duration::from_mins(1));
    harness.run();
    assert_eq!(current_file(harness.state()), "first.hea");
    assert_eq!(harness.state().folder.as_ref().unwrap().current, Some(1));
    std::fs::remove_dir_all(&dir).unwrap();
}
