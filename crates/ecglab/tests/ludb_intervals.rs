//! Wave boundaries and intervals measured by `ecgcore::dsp::measurements::measure`
//! against the LUDB cardiologists' marks (issues 3 and 16). Needs ../shared/data/ludb (the
//! 100 odd-id LUDB records, ODC-By); skips with a message otherwise.
//!
//! The constant shifts of the delineator are fitted on LUDB; the figures asserted are
//! 5-fold cross-validated over records (`ecglab::interval_cv`): each fold is measured
//! with shifts fitted on the other four.
//!
//! Reproduce the tables: `cargo run --release -p ecglab -- validate-intervals
//! ../shared/data/ludb` (or this test with `-- --nocapture`).

use ecgcore::dsp::delineate::DelineationParams;
use ecglab::interval_cv::cross_validate;
use ecglab::intervals::{compare, load_ludb, IntervalRow};
use std::path::PathBuf;

fn ludb_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ludb");
    if dir.join("data").is_dir() {
        Some(dir)
    } else {
        ecgcore::testing::skip(&format!("LUDB not found at {}", dir.display()));
        None
    }
}

/// |mean| and SD of a row within bounds, and at most 5 % of the referenced records (or
/// lead-waves) missing.
fn check(what: &str, row: &IntervalRow, mean_bound: f32, sd_bound: f32) {
    let name = row.name;
    let mean = row.mean_diff.expect("some measured");
    let sd = row.sd_diff.expect("some measured");
    assert!(
        mean.abs() <= mean_bound,
        "{what}: {name}: mean difference {mean:.1} beyond ±{mean_bound}"
    );
    assert!(
        sd <= sd_bound,
        "{what}: {name}: SD of differences {sd:.1} above {sd_bound}"
    );
    assert!(
        row.n_missing * 20 <= row.n_reference,
        "{what}: {name}: {} of {} referenced missing",
        row.n_missing,
        row.n_reference
    );
}

/// Per-lead boundaries pooled over the 12 leads (cross-validated), (name, |mean|, SD).
/// Targets: QRS on/off ±5 / 10 ms (met: −0.0 / 9.6 and 0.0 / 9.9 measured 2026-12-04);
/// P on/off SD 15 (met: 14.8, 15.0 — the bound leaves 0.5 ms for rounding); T end SD 15
/// (missed: 24.4 ms; the bound guards against regressions).
const LEAD_BOUNDS: [(&str, f32, f32); 5] = [
    ("QRS on", 5.0, 10.0),
    ("QRS off", 5.0, 10.0),
    ("P on", 5.0, 15.5),
    ("P off", 5.0, 15.5),
    ("T end", 5.0, 25.0),
];

/// Global intervals against LUDB's robust reference (second-earliest onset, second-latest
/// offset over leads), cross-validated. Targets PR and QRS ±10 / 10 ms, QT ±25 / 30 ms.
/// Measured 2026-12-04: PR −0.5 / 7.3, QRS −0.2 / 10.5 (missed by 0.5 ms: the paced record
/// 111, measured 44 ms long by the wide-complex search; 9.6 ms without measuring it), QT
/// −0.2 / 18.7; HR 0.4 / 2.1 bpm.
const GLOBAL_BOUNDS: [(&str, f32, f32); 4] = [
    ("HR", 2.0, 3.0),
    ("PR", 10.0, 10.0),
    ("QRS", 10.0, 11.0),
    ("QT", 25.0, 30.0),
];

#[test]
fn ludb_cross_validated_boundaries_and_intervals() {
    let Some(dir) = ludb_dir() else { return };
    let (records, failed) = load_ludb(&dir).expect("LUDB loads");
    assert!(failed.is_empty(), "records not read: {failed:?}");
    assert_eq!(records.len(), 100);
    let report = cross_validate(&records, &DelineationParams::default());
    println!("{report}");
    for (name, mean_bound, sd_bound) in LEAD_BOUNDS {
        let row = report.cv.lead(name).expect("row present");
        check("per lead (CV)", &row.row, mean_bound, sd_bound);
        assert!(
            row.f1.is_some_and(|f1| f1 >= 0.95),
            "per lead {name}: F1 {:?}",
            row.f1
        );
    }
    for (name, mean_bound, sd_bound) in GLOBAL_BOUNDS {
        let row = report.cv.robust(name).expect("row present");
        check("global vs robust (CV)", row, mean_bound, sd_bound);
    }
    // The strict reference (earliest onset / latest offset over 12 independently marked
    // leads) is longer: the product's QRS is about 9 ms shorter than it, by definition.
    let strict = report.cv.strict("QRS").and_then(|r| r.mean_diff).unwrap();
    assert!((-15.0..=-3.0).contains(&strict), "QRS vs strict {strict}");
    // The shipped shifts are the ones fitted on all records.
    let p = DelineationParams::default();
    let fitted = report.params;
    for (a, b) in [
        (p.qrs_onset_shift_ms, fitted.qrs_onset_shift_ms),
        (p.qrs_offset_shift_ms, fitted.qrs_offset_shift_ms),
        (p.lead_qrs_onset_shift_ms, fitted.lead_qrs_onset_shift_ms),
        (p.lead_qrs_offset_shift_ms, fitted.lead_qrs_offset_shift_ms),
        (p.lead_t_end_shift_ms, fitted.lead_t_end_shift_ms),
    ] {
        assert!((a - b).abs() <= 0.5, "default shift {a} vs fitted {b}");
    }
}

#[test]
fn atrial_fibrillation_gives_no_pr() {
    let Some(dir) = ludb_dir() else { return };
    let (records, failed) = load_ludb(&dir).expect("LUDB loads");
    let table = compare(&dir, &records, failed, &DelineationParams::default());
    // Most AF records must come out without a PR interval (the cardiologists marked no P
    // waves in any of them).
    let af: Vec<_> = table
        .records
        .iter()
        .filter(|r| r.rhythm.as_deref() == Some("Atrial fibrillation"))
        .collect();
    let af_without_pr = af.iter().filter(|r| r.ours[1].is_none()).count();
    assert!(af.len() >= 5, "LUDB subset has {} AF records", af.len());
    assert!(
        af_without_pr * 4 >= af.len() * 3,
        "only {af_without_pr} of {} AF records without PR",
        af.len()
    );
}

/// All records resampled to other rates (PTB-XL's 100 Hz, 250 Hz, 1000 Hz), against the
/// robust reference with the shipped constants (fitted at 500 Hz on these records, so
/// these are not cross-validated: they show what the rate changes). Bounds a little above
/// what was measured on 2026-12-04 (mean / SD, ms): 100 Hz PR 0.9 / 12.1, QRS −1.3 / 8.7,
/// QT −2.5 / 17.5; 250 Hz PR −0.7 / 8.2, QRS 0.7 / 10.6, QT −2.6 / 20.6; 1000 Hz PR
/// −1.2 / 7.4, QRS 0.6 / 11.2, QT −0.4 / 17.9 (at 500 Hz: PR −0.4 / 7.3, QRS −0.2 / 10.5).
#[test]
fn ludb_intervals_at_other_sample_rates() {
    use ecgcore::dsp::filter::resample;
    let Some(dir) = ludb_dir() else { return };
    let (records, _) = load_ludb(&dir).expect("LUDB loads");
    let mut checks = Vec::new();
    for rate in [100.0, 250.0, 1000.0] {
        let resampled: Vec<_> = records
            .iter()
            .cloned()
            .map(|mut r| {
                let from = r.recording.sample_rate_hz;
                for lead in &mut r.recording.leads {
                    lead.samples_mv = resample(&lead.samples_mv, from, rate);
                }
                r.recording.sample_rate_hz = rate;
                r
            })
            .collect();
        let table = compare(&dir, &resampled, Vec::new(), &DelineationParams::default());
        println!("at {rate} Hz:\n{table}");
        checks.push((rate, table));
    }
    for (rate, table) in &checks {
        for (name, mean_bound, sd_bound) in RATE_BOUNDS {
            let row = table
                .rows_robust
                .iter()
                .find(|r| r.name == name)
                .expect("row present");
            check(&format!("{rate} Hz vs robust"), row, mean_bound, sd_bound);
        }
    }
}

const RATE_BOUNDS: [(&str, f32, f32); 3] =
    [("PR", 10.0, 13.0), ("QRS", 10.0, 12.0), ("QT", 25.0, 30.0)];
