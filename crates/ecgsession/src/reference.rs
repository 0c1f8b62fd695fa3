//! Where a study's score falls among the validation ECGs' scores: the percentiles of each
//! method's scores on PTB-XL fold 9 (the validation fold; normals and abnormals apart), as
//! shipped in `models/score_reference.json` (written by
//! `cargo run --release -p ecglab --example score_reference`).

use serde::{Deserialize, Serialize};

/// One method's validation scores, as percentiles 0, 1, …, 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodReference {
    /// As `ModelOutput::method` names it.
    pub method: String,
    pub threshold: f32,
    pub n_normals: usize,
    pub n_abnormals: usize,
    /// 101 percentiles of the normals' scores.
    pub normals: Vec<f32>,
    /// 101 percentiles of the abnormals' scores.
    pub abnormals: Vec<f32>,
}

/// The validation scores of both methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreReference {
    /// Where the scores come from ("PTB-XL fold 9 (validation), 2146 records").
    pub source: String,
    pub methods: Vec<MethodReference>,
}

impl ScoreReference {
    /// The reference of the method called `method`.
    #[must_use]
    pub fn method(&self, method: &str) -> Option<&MethodReference> {
        self.methods.iter().find(|m| m.method == method)
    }

    /// Refuse a reference whose percentiles are not 101 ascending finite numbers.
    ///
    /// # Errors
    /// What is wrong, naming the method.
    pub fn check(&self) -> Result<(), String> {
        for m in &self.methods {
            for (name, q) in [("normals", &m.normals), ("abnormals", &m.abnormals)] {
                let ok = q.len() == 101
                    && q.iter().all(|v| v.is_finite())
                    && q.windows(2).all(|w| w[0] <= w[1]);
                if !ok {
                    return Err(format!(
                        "the score reference of {} ({name}) is not 101 ascending percentiles",
                        m.method
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The percentiles (0–100) of a sorted sample.
#[must_use]
pub fn percentiles(scores: &[f32]) -> Vec<f32> {
    let mut s: Vec<f32> = scores.iter().copied().filter(|v| v.is_finite()).collect();
    s.sort_by(f32::total_cmp);
    if s.is_empty() {
        return Vec::new();
    }
    (0..=100)
        .map(|p| {
            let x = p as f32 / 100.0 * (s.len() - 1) as f32;
            let (i, f) = (x.floor() as usize, x.fract());
            let next = s[(i + 1).min(s.len() - 1)];
            s[i] + (next - s[i]) * f
        })
        .collect()
}

/// The share (0–1) of the sample whose percentiles are `q` that lies below `score`
/// (linear between percentiles).
#[must_use]
pub fn share_below(q: &[f32], score: f32) -> f32 {
    let (Some(&lo), Some(&hi)) = (q.first(), q.last()) else {
        return f32::NAN;
    };
    if score <= lo {
        return 0.0;
    }
    if score >= hi {
        return 1.0;
    }
    let i = q.partition_point(|v| *v <= score).saturating_sub(1);
    let (a, b) = (q[i], q[(i + 1).min(q.len() - 1)]);
    let f = if b > a { (score - a) / (b - a) } else { 0.0 };
    (i as f32 + f) / (q.len() - 1) as f32
}

/// "Higher than 97 % of the validation normals and 61 % of the validation abnormals."
#[must_use]
pub fn placement_text(r: &MethodReference, score: f32) -> String {
    let pct = |q: &[f32]| (share_below(q, score) * 100.0).round();
    format!(
        "Higher than {:.0} % of the {} validation normals' scores and {:.0} % of the {} abnormals'.",
        pct(&r.normals),
        r.n_normals,
        pct(&r.abnormals),
        r.n_abnormals
    )
}

/// The plotting axis of a method's scores: asinh(score / threshold), linear near the
/// threshold and logarithmic in the long tail, whatever the method's score units.
#[must_use]
pub fn axis(score: f32, threshold: f32) -> f64 {
    let unit = f64::from(threshold.abs()).max(f64::MIN_POSITIVE);
    (f64::from(score) / unit).asinh()
}

/// The score at a point of [`axis`].
#[must_use]
pub fn from_axis(x: f64, threshold: f32) -> f64 {
    x.sinh() * f64::from(threshold.abs())
}

/// A histogram for plotting: (axis position, share per axis unit) over `bins` equal bins of
/// [`axis`] from `lo` to `hi`, from the percentiles (the share in a bin is the difference of
/// [`share_below`] at its edges).
#[must_use]
pub fn density(q: &[f32], threshold: f32, lo: f64, hi: f64, bins: usize) -> Vec<(f64, f64)> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) || bins == 0 {
        return Vec::new();
    }
    let width = (hi - lo) / bins as f64;
    let below = |x: f64| f64::from(share_below(q, from_axis(x, threshold) as f32));
    (0..bins)
        .map(|k| {
            let (a, b) = (lo + k as f64 * width, lo + (k + 1) as f64 * width);
            (f64::midpoint(a, b), (below(b) - below(a)) / width)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_shares_agree() {
        let scores: Vec<f32> = (0..=1000).map(|i| i as f32 / 10.0).collect();
        let q = percentiles(&scores);
        assert_eq!(q.len(), 101);
        assert_eq!(q[0], 0.0);
        assert_eq!(q[100], 100.0);
        assert!((q[50] - 50.0).abs() < 1e-4);
        assert!((share_below(&q, 25.0) - 0.25).abs() < 1e-4);
        assert_eq!(share_below(&q, -3.0), 0.0);
        assert_eq!(share_below(&q, 300.0), 1.0);
        let r = MethodReference {
            method: "m".into(),
            threshold: 1.0,
            n_normals: 1001,
            n_abnormals: 1001,
            normals: q.clone(),
            abnormals: q.iter().map(|v| v + 50.0).collect(),
        };
        assert_eq!(
            placement_text(&r, 75.0),
            "Higher than 75 % of the 1001 validation normals' scores and 25 % of the 1001 abnormals'."
        );
        let reference = ScoreReference {
            source: "test".into(),
            methods: vec![r],
        };
        assert!(reference.check().is_ok());
        let d = density(&q, 1.0, axis(0.0, 1.0), axis(100.0, 1.0), 40);
        let total: f64 = d.iter().map(|p| p.1).sum::<f64>() * (d[1].0 - d[0].0);
        assert!((total - 1.0).abs() < 1e-3, "{total}");
        assert!((from_axis(axis(3.0, 0.5), 0.5) - 3.0).abs() < 1e-9);
        let mut bad = reference.clone();
        bad.methods[0].normals.reverse();
        assert!(bad.check().is_err());
    }
}
