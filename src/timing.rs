//! Timing a piece of work: median, minimum and 95th percentile of repeated runs (for
//! `ecgscope bench`; speed is measured by benchmarks, never asserted in tests).

use std::time::Instant;

/// Median, min and 95th percentile of durations, in ms.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Timing {
    pub median_ms: f64,
    pub min_ms: f64,
    pub p95_ms: f64,
    pub runs: usize,
}

/// Time `f` `runs` times after one warm-up.
pub fn time(runs: usize, mut f: impl FnMut()) -> Timing {
    f();
    let mut ms: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let pick = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Timing {
        median_ms: pick(0.5),
        min_ms: ms[0],
        p95_ms: pick(0.95),
        runs: ms.len(),
    }
}
