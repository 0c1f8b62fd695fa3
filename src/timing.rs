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

impl Timing {
    /// The statistics of measured durations (ms); all zero for none.
    pub fn from_samples(mut ms: Vec<f64>) -> Timing {
        if ms.is_empty() {
            return Timing {
                median_ms: 0.0,
                min_ms: 0.0,
                p95_ms: 0.0,
                runs: 0,
            };
        }
        ms.sort_by(f64::total_cmp);
        let pick = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
        Timing {
            median_ms: pick(0.5),
            min_ms: ms[0],
            p95_ms: pick(0.95),
            runs: ms.len(),
        }
    }
}

/// Time `f` `runs` times after one warm-up.
pub fn time(runs: usize, mut f: impl FnMut()) -> Timing {
    f();
    Timing::from_samples(
        (0..runs.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_samples() {
        let t = Timing::from_samples(vec![5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(
            (t.median_ms, t.min_ms, t.p95_ms, t.runs),
            (3.0, 1.0, 5.0, 5)
        );
        assert_eq!(Timing::from_samples(Vec::new()).runs, 0);
    }
}
