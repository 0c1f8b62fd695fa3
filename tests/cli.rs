//! The command line: `analyze --json` on real records and clean failures on bad files.

use std::path::Path;
use std::process::Command;

mod common;
use common::repo;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ecgscope"))
}

#[test]
fn analyze_json_reports_leads_rate_duration_patient_and_source() {
    let v = common::json_ok(
        bin()
            .args(["analyze", "--json"])
            .arg(repo().join("assets/sample/00010_hr.hea")),
    );
    assert_eq!(v["leads"].as_array().unwrap().len(), 12);
    assert_eq!(v["leads"][3], "AVR");
    assert_eq!(v["sample_rate_hz"], 500.0);
    assert_eq!(v["duration_s"], 10.0);
    assert_eq!(v["patient"]["age_years"], 22.0);
    assert_eq!(v["patient"]["sex"], "female");
    assert_eq!(v["source"]["format"], "WFDB");
}

#[test]
fn analyze_ptbxl_record_from_shared_data() {
    let rec = repo().join("../shared/data/ptbxl/records500/00000/00010_hr.hea");
    if !rec.exists() {
        ecgcore::testing::skip("../shared/data is absent");
        return;
    }
    let out = bin()
        .args(["analyze", "--json"])
        .arg(&rec)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["leads"].as_array().unwrap().len(), 12);
    assert_eq!(v["sample_rate_hz"], 500.0);
    assert_eq!(v["duration_s"], 10.0);
}

#[test]
fn analyze_a_paper_image_scores_the_digitized_leads_with_the_paper_calibration() {
    let image = repo().join("../shared/data/images/rendered-ptbxl/PTB_XL_op/00003_hr-0.png");
    if !image.exists() {
        ecgcore::testing::skip("../shared/data is absent");
        return;
    }
    let v = common::json_ok(bin().args(["analyze", "--json"]).arg(&image));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo().join("models/manifest.json")).unwrap())
            .unwrap();
    for (key, threshold) in [
        ("anomaly", &manifest["partial"]["threshold"]),
        ("baseline", &manifest["partial"]["baseline_threshold"]),
    ] {
        let o = &v[key];
        assert!(o["score"].as_f64().unwrap().is_finite(), "{key}");
        let (got, want) = (
            o["threshold"].as_f64().unwrap(),
            threshold.as_f64().unwrap(),
        );
        assert!(
            (got - want).abs() < 1e-6 * want.abs().max(1.0),
            "{key}: {got} vs {want}"
        );
        assert!(
            o["note"].as_str().unwrap().contains("partly recorded"),
            "{key}"
        );
    }
    // V1 (index 6) is on the page only in the third column (5.0-7.5 s): its map is a
    // likelihood there and "not recorded" (null) at 1 s; lead II runs the whole 10 s.
    let map = &v["anomaly"]["map"];
    let rate = v["anomaly"]["map_rate_hz"].as_f64().unwrap();
    let at = |lead: usize, t: f64| map[lead][(t * rate) as usize].clone();
    assert!(at(6, 1.0).is_null(), "{}", at(6, 1.0));
    let p = at(6, 6.2).as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p), "{p}");
    assert!(at(1, 1.0).as_f64().is_some() && at(1, 9.0).as_f64().is_some());
}

/// A phone photo whose leads the digitizer reads with low confidence (real-world
/// ecg00047: taken at an angle, both limb-lead laws fail): the verdict's note names them,
/// in the JSON findings too. A clean print read confidently (ecg00001) gets no such note.
#[test]
fn the_verdict_on_a_paper_page_names_the_leads_read_with_low_confidence() {
    let photo = repo().join("../shared/data/images/real-world/ecg00047.jpg");
    let clean = repo().join("../shared/data/images/real-world/ecg00001.png");
    if !photo.exists() || !clean.exists() {
        ecgcore::testing::skip("../shared/data is absent");
        return;
    }
    let v = common::json_ok(bin().args(["analyze", "--json", "--no-maps"]).arg(&photo));
    for key in ["anomaly", "baseline"] {
        let note = v[key]["note"].as_str().unwrap();
        assert!(
            note.contains("low confidence (") && note.contains("V1"),
            "{key}: {note}"
        );
    }
    let findings_note = v["findings"]["ours"]["note"].as_str().unwrap();
    assert!(findings_note.contains("low confidence"), "{findings_note}");
    let per_lead = v["source"]["lead_confidence"].as_array().unwrap();
    assert_eq!(per_lead.len(), 12);
    assert!(per_lead
        .iter()
        .all(|l| l["confidence"].as_f64().unwrap() < 0.5));
    let v = common::json_ok(bin().args(["analyze", "--json", "--no-maps"]).arg(&clean));
    let note = v["anomaly"]["note"].as_str().unwrap();
    assert!(!note.contains("low confidence"), "{note}");
    assert!(v["source"]["lead_confidence"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["confidence"].as_f64().unwrap() >= 0.5));
}

#[test]
fn analyze_start_picks_a_window_of_a_long_edf() {
    let edf = repo().join("../shared/data/formats/edf/pyedflib/test_utf8.edf");
    if !edf.exists() {
        ecgcore::testing::skip("../shared/data is absent");
        return;
    }
    let v = common::json_ok(
        bin()
            .args(["analyze", "--json", "--no-maps", "--start", "00:01:40"])
            .arg(&edf),
    );
    assert_eq!(v["duration_s"], 10.0);
    let notes = v["source"]["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str() == Some("window 100.000–110.000 s of 698.000 s")),
        "{notes:?}"
    );
    // --start on a file that is not EDF/BDF, and a start that is not a time
    let out = bin()
        .args(["analyze", "--start", "5"])
        .arg(repo().join("assets/sample/00010_hr.hea"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--start: a start time applies to EDF/BDF recordings"));
    let out = bin()
        .args(["analyze", "--start", "1:99"])
        .arg(&edf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a time"));
}

fn assert_fails_cleanly(path: &Path, want: &str) {
    let out = bin()
        .args(["analyze", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit status 2 for {}",
        path.display()
    );
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(want), "{err:?} should mention {want:?}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_files_exit_2_with_one_line() {
    let dir = std::env::temp_dir().join(format!("ecgscope-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert_fails_cleanly(&dir.join("nope.hea"), "nope.hea");
    let junk = dir.join("junk.bin");
    std::fs::write(&junk, [0u8, 159, 146, 150, 1, 2, 3]).unwrap();
    assert_fails_cleanly(&junk, "no reader recognises this file");
    let truncated = dir.join("t.hea");
    std::fs::write(
        &truncated,
        "t 12 500 5000\n".to_string() + &"t.dat 16 1000/mV 16 0 0 0 0 I\n".repeat(12),
    )
    .unwrap();
    std::fs::write(dir.join("t.dat"), vec![0u8; 1000]).unwrap();
    assert_fails_cleanly(&truncated, "promises 5000 samples");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `ECGSCOPE_MODELS` pointing at a copy of `models/` whose MSCR weights have one byte
/// changed: `analyze` and `report` still work (measurements, no model output) and say why,
/// and neither the corrupt copy nor the shipped weights are touched.
#[test]
fn corrupt_weights_are_refused_by_hash_and_the_study_is_still_analysed() {
    let Some(dir) = common::corrupted_models("cli") else {
        return;
    };
    let models = repo().join("models");
    let weights = dir.join("mscr.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    let shipped_before = std::fs::read(models.join("mscr.safetensors")).unwrap();

    let sample = repo().join("assets/sample/00010_hr.hea");
    let v = common::json_ok(
        bin()
            .env("ECGSCOPE_MODELS", &dir)
            .args(["analyze", "--json", "--no-maps"])
            .arg(&sample),
    );
    let status = v["model_status"].as_str().unwrap();
    assert!(status.contains("weights file is corrupt"), "{status}");
    assert!(status.contains("mscr.safetensors"), "{status}");
    assert!(v.get("anomaly").is_none_or(serde_json::Value::is_null));
    let hr = v["measurements"]["heart_rate_bpm"].as_f64().unwrap();
    assert!((50.0..80.0).contains(&hr), "{hr}");

    let pdf = dir.join("report.pdf");
    common::run_ok(
        bin()
            .env("ECGSCOPE_MODELS", &dir)
            .arg("report")
            .arg(&sample)
            .arg("-o")
            .arg(&pdf),
    );
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    assert_eq!(std::fs::read(&weights).unwrap(), bytes);
    assert_eq!(
        std::fs::read(models.join("mscr.safetensors")).unwrap(),
        shipped_before
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_honours_paper_size_and_device() {
    let dir = std::env::temp_dir().join(format!("ecgscope-cli-paper-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sample = common::repo().join("assets/sample/00010_hr.hea");
    let size = |paper: &str| -> String {
        let pdf = dir.join(format!("{paper}.pdf"));
        common::run_ok(
            bin()
                .args(["report", "--device", "cpu", "--paper", paper, "-o"])
                .arg(&pdf)
                .arg(&sample),
        );
        let bytes = std::fs::read(&pdf).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let at = text.find("/MediaBox").expect("a page size");
        text[at..at + 40].to_string()
    };
    // Landscape A4 is 841.9 × 595.3 pt, landscape Letter 792 × 612 pt.
    assert!(size("a4").contains("841.8"), "{}", size("a4"));
    assert!(size("letter").contains("792"), "{}", size("letter"));
    let out = bin()
        .args(["report", "--paper", "a3", "-o"])
        .arg(dir.join("x.pdf"))
        .arg(&sample)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("a4, letter"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_product_offers_the_users_verbs_and_none_of_the_lab() {
    let out = common::run_ok(bin().arg("--help"));
    let help = String::from_utf8_lossy(&out.stdout);
    let verbs: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        verbs,
        ["open", "analyze", "eval", "report", "bench", "digitize", "help"],
        "{help}"
    );
}

/// `--rows`: real-world ecg00037 (a curved, tilted photo) shows 4 rows but, read flat
/// (`--no-perspective`), only 2 are found, so `--layout 3x4+II` alone is refused with an
/// error naming `--rows`; with the rows' baselines set by hand both `digitize` and
/// `analyze` read it. Bad positions are
/// refused naming the flag and what to give.
#[test]
fn rows_set_by_hand_read_a_page_whose_rows_are_not_found() {
    let image = repo().join("../shared/data/images/real-world/ecg00037.jpg");
    if !image.exists() {
        ecgcore::testing::skip("../shared/data is absent");
        return;
    }
    let dir = std::env::temp_dir().join(format!("ecgscope-cli-rows-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_csv = dir.join("ecg00037.csv");
    let digitize = |extra: &[&str]| {
        bin()
            .arg("digitize")
            .arg(&image)
            .arg("-o")
            .arg(&out_csv)
            .arg("--force")
            .args(extra)
            .output()
            .unwrap()
    };
    let fails_with = |out: std::process::Output, want: &[&str]| {
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        for w in want {
            assert!(err.contains(w), "{err:?} should mention {w:?}");
        }
        assert!(!err.contains("panicked"), "{err}");
    };
    fails_with(
        digitize(&["--layout", "3x4+II", "--no-perspective"]),
        &["only 2 were found", "--rows", "drag the row bands"],
    );

    let rows = "0.14,0.36,0.60,0.88";
    let out = common::run_ok(
        bin()
            .arg("digitize")
            .arg(&image)
            .arg("-o")
            .arg(&out_csv)
            .arg("--force")
            .args(["--layout", "3x4+II", "--rows", rows]),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("3×4 + 1 rhythm strip"), "{err}");
    assert!(err.contains("(set by hand; --rows sets them)"), "{err}");
    let csv = std::fs::read_to_string(&out_csv).unwrap();
    assert!(csv.lines().count() > 4000, "{} lines", csv.lines().count());

    let v = common::json_ok(
        bin()
            .args([
                "analyze",
                "--json",
                "--no-maps",
                "--layout",
                "3x4+II",
                "--rows",
                rows,
            ])
            .arg(&image),
    );
    assert_eq!(v["leads"].as_array().unwrap().len(), 12);
    assert_eq!(v["source"]["lead_confidence"].as_array().unwrap().len(), 12);

    // Bad positions: the flag and what to give are named.
    for bad in ["0.6,0.4", "0.2,1.4", "0.2;0.4", ""] {
        fails_with(
            digitize(&["--rows", bad]),
            &["--rows", "fraction of the image height"],
        );
    }
    // As many positions as the layout has rows.
    fails_with(
        digitize(&["--layout", "3x4+II", "--rows", "0.2,0.5,0.8"]),
        &["--rows", "has 4 trace rows but 3"],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
