//! Intervals measured by `ecgcore::dsp::measurements::measure` against the LUDB
//! cardiologists' wave boundaries (issue 3). Needs ../shared/data/ludb (the 100 odd-id
//! LUDB records, ODC-By); skips with a message otherwise.
//!
//! The delineation parameters were fitted on the tuning half of LUDB only (record id mod
//! 4 in {0, 1}, see `ludb_half`); the bounds that matter are asserted on the held-out
//! half, which no fitting has seen. All records are checked too, as a regression guard.
//!
//! Reproduce the tables: `cargo test -p ecglab --test ludb_intervals -- --nocapture`
//! (or `cargo run --release -p ecglab -- validate-intervals ../shared/data/ludb`).

use ecglab::intervals::{validate_ludb, ValidationTable};
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

/// (name, |mean diff| bound, SD bound) on the held-out half: the IEC 60601-2-25 style
/// tolerances of issue 3 (mean ±10 ms PR/QRS, ±25 ms QT; SD 10/10/30 ms), all met.
/// Measured on 2026-11-25 (mean / SD): HR 0.4 / 1.1 bpm, PR −0.3 / 9.6 ms, QRS 0.0 / 9.1
/// ms, QT 1.2 / 21.1 ms; one QRS and one QT of 50 missing.
const HELD_OUT_BOUNDS: [(&str, f32, f32); 4] = [
    ("HR", 2.0, 2.0),
    ("PR", 10.0, 10.0),
    ("QRS", 10.0, 10.0),
    ("QT", 25.0, 30.0),
];

/// The same over all 100 records (the tuning half included). Measured on 2026-11-25:
/// HR 0.4 / 2.1 bpm, PR 0.1 / 8.7 ms, QRS −0.4 / 10.3 ms, QT −0.1 / 26.5 ms. The QRS SD
/// bound is a regression bound a little above 10.3 ms: the tuning half (SD 11.4 ms) holds
/// the harder records (a paced record, late single-lead QRS ends in LVH and AF).
const ALL_BOUNDS: [(&str, f32, f32); 4] = [
    ("HR", 2.0, 3.0),
    ("PR", 10.0, 10.0),
    ("QRS", 10.0, 11.0),
    ("QT", 25.0, 30.0),
];

fn check(table: &ValidationTable, bounds: &[(&str, f32, f32)]) {
    for &(name, mean_bound, sd_bound) in bounds {
        let row = table.row(name).expect("row present");
        let mean = row.mean_diff.expect("some records measured");
        let sd = row.sd_diff.expect("some records measured");
        let what = &table.label;
        assert!(
            mean.abs() <= mean_bound,
            "{what}: {name}: mean difference {mean:.1} beyond ±{mean_bound}"
        );
        assert!(
            sd <= sd_bound,
            "{what}: {name}: SD of differences {sd:.1} above {sd_bound}"
        );
        // At most 10 % of the records the cardiologists could measure are left empty.
        assert!(
            row.n_missing * 10 <= row.n_reference,
            "{what}: {name}: {} of {} measurable records missing",
            row.n_missing,
            row.n_reference
        );
    }
}

#[test]
fn ludb_intervals_within_tolerance() {
    let Some(dir) = ludb_dir() else { return };
    let validation = validate_ludb(&dir).expect("validation runs");
    println!("{validation}");
    assert_eq!(validation.held_out.records.len(), 50);
    check(&validation.held_out, &HELD_OUT_BOUNDS);
    let table = validation.all;
    assert!(
        table.failed.is_empty(),
        "records not read: {:?}",
        table.failed
    );
    assert_eq!(table.records.len(), 100);
    check(&table, &ALL_BOUNDS);
    // Atrial fibrillation: most AF records must come out without a PR interval (the
    // cardiologists marked no P waves in any of them).
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

/// The same validation on the held-out half after resampling to other rates (PTB-XL's
/// 100 Hz, 250 Hz, 1000 Hz): measurements must hold at any rate the readers deliver.
/// Bounds are the standard where it is met and otherwise a little above what was measured
/// on 2026-11-25 (mean / SD, ms): 100 Hz PR 1.0/9.8, QRS −0.9/9.1, QT −1.5/24.4; 250 Hz
/// PR −0.8/11.0, QRS 0.8/9.2, QT −0.1/22.3; 1000 Hz PR −1.2/10.0, QRS 1.0/10.5, QT
/// 0.9/21.2. (PR at 250 Hz and QRS at 1000 Hz miss the 10 ms SD standard.)
#[test]
fn ludb_intervals_at_other_sample_rates() {
    use ecgcore::dsp::delineate::DelineationParams;
    use ecgcore::dsp::filter::resample;
    use ecglab::intervals::{compare, load_ludb, records_of_half, LudbHalf};
    let Some(dir) = ludb_dir() else { return };
    let (records, _) = load_ludb(&dir).expect("LUDB loads");
    let held_out = records_of_half(&records, LudbHalf::HeldOut);
    let mut checks = Vec::new();
    for (rate, bounds) in [
        (
            100.0,
            [("PR", 10.0, 10.5), ("QRS", 10.0, 10.0), ("QT", 25.0, 30.0)],
        ),
        (
            250.0,
            [("PR", 10.0, 11.5), ("QRS", 10.0, 10.0), ("QT", 25.0, 30.0)],
        ),
        (
            1000.0,
            [("PR", 10.0, 10.5), ("QRS", 10.0, 11.0), ("QT", 25.0, 30.0)],
        ),
    ] {
        let resampled: Vec<_> = held_out
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
        checks.push((table, bounds));
    }
    for (table, bounds) in &checks {
        check(table, bounds);
    }
}
