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
/// tolerances of issue 3 (±10 ms PR/QRS, ±25 ms QT) and are met, as is the QT SD target
/// (30 ms). The PR and QRS SD targets (10 ms) are NOT met yet: measured on 2026-11-25
/// were PR 10.3 and QRS 11.4 ms (QT 26.3 ms, HR 2.1 bpm); their bounds below are
/// regression bounds a little worse than that, not the standard. Tighten as it improves.
const BOUNDS: [(&str, f32, f32); 4] = [
    ("HR", 2.0, 3.0),
    ("PR", 10.0, 12.0),
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
    let table = validate_ludb(&dir).expect("validation runs");
    println!("{table}");
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
/// (mean / SD, ms: 100 Hz PR 0.2/13.6, QRS −0.3/11.6, QT 0.3/25.6; 250 Hz PR 0.2/12.8,
/// QRS 0.3/11.4, QT −1.2/28.5; 1000 Hz PR −0.8/10.2, QRS 0.0/11.4, QT 1.6/26.3).
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
            [("PR", 10.0, 14.0), ("QRS", 10.0, 16.0), ("QT", 25.0, 32.0)],
        ),
        (
            250.0,
            [("PR", 10.0, 15.0), ("QRS", 10.0, 13.0), ("QT", 25.0, 31.0)],
        ),
        (
            1000.0,
            [("PR", 10.0, 12.0), ("QRS", 10.0, 13.0), ("QT", 25.0, 30.0)],
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
