//! Detection metrics for `eval`: AUROC (Mann–Whitney U with midranks for ties) and
//! sensitivity/specificity/precision/F1 at a threshold (score ≥ threshold = abnormal).
//! Labels: 0 normal, 1 abnormal. (Choosing a threshold is `ecglab::fit`'s.)

use serde::{Deserialize, Serialize};

/// Area under the ROC curve; `None` when a class is empty. Non-finite scores are ranked lowest.
pub fn auroc(scores: &[f32], labels: &[u8]) -> Option<f64> {
    let mut pairs: Vec<(f32, u8)> = scores
        .iter()
        .zip(labels)
        .map(|(&s, &l)| (if s.is_finite() { s } else { f32::MIN }, l))
        .collect();
    let n_pos = pairs.iter().filter(|p| p.1 == 1).count();
    let n_neg = pairs.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_pos = 0.0_f64;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j + 1 < pairs.len() && pairs[j + 1].0 == pairs[i].0 {
            j += 1;
        }
        let midrank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += midrank * pairs[i..=j].iter().filter(|p| p.1 == 1).count() as f64;
        i = j + 1;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// Confusion-matrix metrics at a threshold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BinaryMetrics {
    pub sensitivity: f64,
    pub specificity: f64,
    pub precision: f64,
    pub f1: f64,
}

/// Metrics of `score ≥ threshold` as abnormal.
pub fn at_threshold(scores: &[f32], labels: &[u8], threshold: f32) -> BinaryMetrics {
    let (mut tp, mut fp, mut tn, mut fneg) = (0.0, 0.0, 0.0, 0.0);
    for (&s, &l) in scores.iter().zip(labels) {
        let pred = s >= threshold;
        match (pred, l == 1) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, false) => tn += 1.0,
            (false, true) => fneg += 1.0,
        }
    }
    let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let sensitivity = div(tp, tp + fneg);
    let precision = div(tp, tp + fp);
    BinaryMetrics {
        sensitivity,
        specificity: div(tn, tn + fp),
        precision,
        f1: div(2.0 * precision * sensitivity, precision + sensitivity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_known_answers() {
        assert_eq!(auroc(&[0.1, 0.2, 0.8, 0.9], &[0, 0, 1, 1]), Some(1.0));
        assert_eq!(auroc(&[0.9, 0.8, 0.2, 0.1], &[0, 0, 1, 1]), Some(0.0));
        assert_eq!(auroc(&[0.5, 0.5], &[0, 1]), Some(0.5));
        // one inversion out of four pairs
        assert_eq!(auroc(&[0.1, 0.6, 0.5, 0.9], &[0, 0, 1, 1]), Some(0.75));
    }
}

/// Detection metrics of one method on one split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitMetrics {
    pub n: usize,
    pub n_abnormal: usize,
    pub auroc: f64,
    pub sensitivity: f64,
    pub specificity: f64,
    pub precision: f64,
    pub f1: f64,
    /// AUROC of each abnormal superclass against the normals.
    pub per_class_auroc: std::collections::BTreeMap<String, f64>,
}
