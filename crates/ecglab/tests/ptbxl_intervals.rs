//! QRS and QT on PTB-XL folds 1–9 by diagnosis (issue #16): healthy records (NORM only)
//! should have QRS < 120 ms, complete bundle-branch blocks (CLBBB, CRBBB) QRS ≥ 120 ms,
//! and both a QT. Needs the unpacked PTB-XL (`.data/ptbxl`, `make data`) or, for ids
//! 1–1999 only, `../shared/data/ptbxl`; skips with a message otherwise.
//!
//! Reproduce the table: `cargo run --release -p ecglab -- ptbxl-intervals` (all NORM
//! records; this test measures every 8th to stay short).

use ecglab::ptbxl_intervals::{evaluate_ptbxl, Group};
use std::path::PathBuf;

fn ptbxl_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let unpacked = ecglab::data::default_ptbxl_dir(&root);
    let shared = root.join("../shared/data/ptbxl");
    for dir in [unpacked, shared] {
        if dir.join("labels.csv").is_file() && dir.join("records100").is_dir() {
            return Some(dir);
        }
    }
    ecgcore::testing::skip("PTB-XL not found (.data/ptbxl or ../shared/data/ptbxl)");
    None
}

#[test]
fn ptbxl_qrs_by_diagnosis() {
    let Some(dir) = ptbxl_dir() else { return };
    let report = evaluate_ptbxl(&dir, 8).expect("labels.csv reads");
    println!("{report}");
    let get = |g: Group| report.groups.get(&g).expect("group present");
    let norm = get(Group::Norm);
    assert!(norm.n >= 100, "only {} NORM records", norm.n);
    assert!(norm.qrs_measured() >= 0.99);
    // Target: QRS < 120 ms on ≥ 95 % of NORM records. Measured 2026-12-04 (.data/ptbxl,
    // every 8th NORM record, 1,020 of them): 93.3 %, median 107 ms (all 8,157: 93.2 %,
    // median 107 ms): missed. The bound guards against regressions.
    let narrow = 1.0 - norm.wide();
    assert!(
        narrow >= 0.92,
        "QRS < 120 ms on {:.1} % of NORM",
        100.0 * narrow
    );
    let median = norm.qrs_percentile(0.5).expect("some QRS");
    assert!((95.0..=112.0).contains(&median), "NORM median QRS {median}");
    assert!(norm.qt_measured() >= 0.98);
    // Bundle-branch blocks: a QRS on ≥ 95 % and ≥ 120 ms on ≥ 90 % (met: CLBBB 100 % /
    // 97.4 %, CRBBB 100 % / 100 %); a QT on 94.7 % / 91.9 %.
    for g in [Group::Clbbb, Group::Crbbb] {
        let x = get(g);
        assert!(x.n >= 20, "only {} {} records", x.n, g.label());
        assert!(
            x.qrs_measured() >= 0.95,
            "{}: QRS measured on {:.1} %",
            g.label(),
            100.0 * x.qrs_measured()
        );
        assert!(
            x.wide() >= 0.9,
            "{}: QRS ≥ 120 ms on {:.1} %",
            g.label(),
            100.0 * x.wide()
        );
        assert!(
            x.qt_measured() >= 0.9,
            "{}: QT measured on {:.1} %",
            g.label(),
            100.0 * x.qt_measured()
        );
    }
}
