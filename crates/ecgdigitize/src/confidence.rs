//! Cross-checks of a digitized page's leads that no single trace can make: the limb
//! leads are tied by Einthoven's law (I + III = II) and the augmented leads by Goldberger's
//! (aVR + aVL + aVF = 0). Where a page shows the leads of one law at the same seconds, the
//! residual of that law, relative to the leads' own size, tells whether they were read
//! (and identified) right.
//!
//! Units: mV samples at a common rate; results are factors 0–1 per lead in
//! [`StandardLead::ALL`](ecgcore::StandardLead::ALL) order.

use ecgcore::StandardLead as L;

/// Residual of `Σ cᵢ·leadᵢ` over the samples where every lead is finite (each lead's mean
/// there removed), as a share of the leads' mean RMS; `None` with under `min_len` common
/// samples. The best of small shifts (±`max_shift` samples) of each lead against the
/// first is not searched: leads of one column are printed at the same seconds.
pub fn law_residual(leads: &[(&[f32], f32)], min_len: usize) -> Option<f32> {
    let n = leads.iter().map(|(s, _)| s.len()).min()?;
    let idx: Vec<usize> = (0..n)
        .filter(|&i| leads.iter().all(|(s, _)| s[i].is_finite()))
        .collect();
    if idx.len() < min_len {
        return None;
    }
    let m = idx.len() as f64;
    let means: Vec<f64> = leads
        .iter()
        .map(|(s, _)| idx.iter().map(|&i| f64::from(s[i])).sum::<f64>() / m)
        .collect();
    let rms: Vec<f64> = leads
        .iter()
        .zip(&means)
        .map(|((s, _), mu)| {
            (idx.iter()
                .map(|&i| (f64::from(s[i]) - mu).powi(2))
                .sum::<f64>()
                / m)
                .sqrt()
        })
        .collect();
    let scale = rms.iter().sum::<f64>() / rms.len() as f64;
    if scale < 1e-3 {
        return None;
    }
    let res = (idx
        .iter()
        .map(|&i| {
            leads
                .iter()
                .zip(&means)
                .map(|((s, c), mu)| f64::from(*c) * (f64::from(s[i]) - mu))
                .sum::<f64>()
                .powi(2)
        })
        .sum::<f64>()
        / m)
        .sqrt();
    Some((res / scale) as f32)
}

/// Per-lead factors from Einthoven's and Goldberger's laws on `samples` (12 leads in
/// standard order, `NaN` where not shown, 500 Hz): 1 where a law holds (residual under
/// 0.25 of the leads' size) or cannot be checked, falling to 0.3 at a residual of 1
/// (a lead that has nothing to do with the others).
pub fn law_factors(samples: &[Vec<f32>]) -> [f32; 12] {
    let mut out = [1.0f32; 12];
    if samples.len() < 12 {
        return out;
    }
    let laws: [&[(L, f32)]; 2] = [
        &[(L::I, 1.0), (L::III, 1.0), (L::II, -1.0)],
        &[(L::AVR, 1.0), (L::AVL, 1.0), (L::AVF, 1.0)],
    ];
    for law in laws {
        let leads: Vec<(&[f32], f32)> = law
            .iter()
            .map(|(l, c)| (samples[l.index()].as_slice(), *c))
            .collect();
        if let Some(q) = law_residual(&leads, 250) {
            let f = (1.0 - 0.7 * (q - 0.25) / 0.75).clamp(0.3, 1.0);
            for (l, _) in law {
                out[l.index()] = out[l.index()].min(f);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(phase: f32, amp: f32) -> Vec<f32> {
        (0..1250)
            .map(|i| amp * ((i as f32 / 500.0) * 7.0 + phase).sin() + 0.3)
            .collect()
    }

    #[test]
    fn einthoven_holds_for_consistent_leads_and_fails_for_a_wrong_one() {
        let mut s = vec![vec![f32::NAN; 1250]; 12];
        s[L::I.index()] = wave(0.0, 0.5);
        s[L::III.index()] = wave(1.0, 0.4);
        s[L::II.index()] = s[L::I.index()]
            .iter()
            .zip(&s[L::III.index()])
            .map(|(a, b)| a + b)
            .collect();
        let good = law_factors(&s);
        assert!(good.iter().all(|f| *f == 1.0), "{good:?}");
        // III read from another trace (a neighbour's, or the wrong lead).
        s[L::III.index()] = wave(2.5, 0.8);
        let bad = law_factors(&s);
        assert!(bad[L::III.index()] < 0.7, "{bad:?}");
        assert_eq!(bad[L::V1.index()], 1.0);
    }
}
