//! Intervals measured by `ecgcore::dsp::measurements::measure` against the LUDB
//! cardiologists' wave boundaries (issue 3). Needs ../shared/data/ludb (the 100 odd-id
//! LUDB records, ODC-By); skips with a message otherwise.
//!
//! Reproduce the table: `cargo test -p ecgcore --test ludb_intervals -- --nocapture`.

use ecgcore::dsp::validate::{validate_ludb, ValidationTable};
use std::path::PathBuf;

fn ludb_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ludb");
    if dir.join("data").is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: LUDB not found at {}", dir.display());
        None
    }
}

/// (name, |mean diff| bound, SD bound). The mean bounds are the IEC 60601-2-25 style
/// tolerances of issue 3 (±10 ms PR/QRS, ±25 ms QT) and are met, as are the PR and QT SD
/// targets (10 and 30 ms). The QRS SD target (10 ms) is NOT met yet: measured on
/// 2026-11-25 were SD PR 8.8, QRS 11.9, QT 26.5 ms (HR 2.1 bpm); the QRS SD bound below
/// is a regression bound a little worse than that, not the standard.
const BOUNDS: [(&str, f32, f32); 4] = [
    ("HR", 2.0, 3.0),
    ("PR", 10.0, 10.0),
    ("QRS", 10.0, 13.0),
    ("QT", 25.0, 30.0),
];

fn check(table: &ValidationTable) {
    for (name, mean_bound, sd_bound) in BOUNDS {
        let row = table.row(name).expect("row present");
        let mean = row.mean_diff.expect("some records measured");
        let sd = row.sd_diff.expect("some records measured");
        assert!(
            mean.abs() <= mean_bound,
            "{name}: mean difference {mean:.1} beyond ±{mean_bound}"
        );
        assert!(
            sd <= sd_bound,
            "{name}: SD of differences {sd:.1} above {sd_bound}"
        );
        // At most 10 % of the records the cardiologists could measure are left empty.
        assert!(
            row.n_missing * 10 <= row.n_reference,
            "{name}: {} of {} measurable records missing",
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
    check(&validation.held_out);
    let table = validation.all;
    assert!(
        table.failed.is_empty(),
        "records not read: {:?}",
        table.failed
    );
    assert_eq!(table.records.len(), 100);
    check(&table);
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

/// The same validation after resampling LUDB to other rates (PTB-XL's 100 Hz, 250 Hz,
/// 1000 Hz): measurements must hold at any rate the readers deliver. Bounds are looser
/// at 100 and 250 Hz and were set a little above what was measured on 2026-11-25
/// (mean / SD, ms: 100 Hz PR 2.5/12.5, QRS −1.1/12.3, QT −2.6/27.1; 250 Hz PR 0.1/9.3,
/// QRS 0.8/12.1, QT −2.3/29.2; 1000 Hz PR −0.8/9.0, QRS 0.7/11.8, QT 0.3/26.5).
#[test]
fn ludb_intervals_at_other_sample_rates() {
    use ecgcore::dsp::delineate::DelineationParams;
    use ecgcore::dsp::filter::resample;
    use ecgcore::dsp::validate::{compare, load_ludb};
    let Some(dir) = ludb_dir() else { return };
    let (records, failed) = load_ludb(&dir).expect("LUDB loads");
    for (rate, bounds) in [
        (
            100.0,
            [("PR", 10.0, 14.0), ("QRS", 10.0, 14.0), ("QT", 25.0, 30.0)],
        ),
        (
            250.0,
            [("PR", 10.0, 11.0), ("QRS", 10.0, 13.0), ("QT", 25.0, 31.0)],
        ),
        (
            1000.0,
            [("PR", 10.0, 10.0), ("QRS", 10.0, 13.0), ("QT", 25.0, 30.0)],
        ),
    ] {
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
        let table = compare(
            &dir,
            &resampled,
            failed.clone(),
            &DelineationParams::default(),
        );
        println!("at {rate} Hz:\n{table}");
        for (name, mean_bound, sd_bound) in bounds {
            let row = table.row(name).expect("row");
            let (mean, sd) = (row.mean_diff.unwrap(), row.sd_diff.unwrap());
            assert!(mean.abs() <= mean_bound, "{rate} Hz {name}: mean {mean:.1}");
            assert!(sd <= sd_bound, "{rate} Hz {name}: SD {sd:.1}");
            assert!(
                row.n_missing * 10 <= row.n_reference,
                "{rate} Hz {name}: {} missing",
                row.n_missing
            );
        }
    }
}
