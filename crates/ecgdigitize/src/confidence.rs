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
/// there removed), as a share of the leads' mean RMS or of `floor_mv`, whichever is
/// larger; `None` with under `min_len` common samples. The best of small shifts (±`max_shift` samples) of each lead against the
/// first is not searched: leads of one column are printed at the same seconds.
pub fn law_residual(leads: &[(&[f32], f32)], min_len: usize, floor_mv: f32) -> Option<f32> {
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
    let scale = (rms.iter().sum::<f64>() / rms.len() as f64).max(f64::from(floor_mv));
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
///
/// `pixel_mv` is one pixel of the page in mV: three correctly read lines leave about a
/// pixel of residual, so the leads' size counts as at least 4 pixels (small complexes on
/// a coarse scan are not called misread for their quantization).
///
/// Where both laws fail (factors under 0.6), the rows or columns the page was cut into
/// are in doubt, and with them the precordial leads, which no law checks: they get the
/// better of the two factors.
pub fn law_factors(samples: &[Vec<f32>], pixel_mv: f32) -> [f32; 12] {
    let mut out = [1.0f32; 12];
    if samples.len() < 12 {
        return out;
    }
    let laws: [&[(L, f32)]; 2] = [
        &[(L::I, 1.0), (L::III, 1.0), (L::II, -1.0)],
        &[(L::AVR, 1.0), (L::AVL, 1.0), (L::AVF, 1.0)],
    ];
    let mut law_factor = [None; 2];
    for (k, law) in laws.iter().enumerate() {
        let leads: Vec<(&[f32], f32)> = law
            .iter()
            .map(|(l, c)| (samples[l.index()].as_slice(), *c))
            .collect();
        if let Some(q) = law_residual(&leads, 250, 4.0 * pixel_mv.max(0.0)) {
            let f = (1.0 - 0.7 * (q - 0.25) / 0.75).clamp(0.3, 1.0);
            law_factor[k] = Some(f);
            for (l, _) in *law {
                out[l.index()] = out[l.index()].min(f);
            }
        }
    }
    if let [Some(a), Some(b)] = law_factor {
        if a < 0.6 && b < 0.6 {
            for l in [L::V1, L::V2, L::V3, L::V4, L::V5, L::V6] {
                out[l.index()] = out[l.index()].min(a.max(b));
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
        let good = law_factors(&s, 0.0);
        assert!(good.iter().all(|f| *f == 1.0), "{good:?}");
        // III read from another trace (a neighbour's, or the wrong lead).
        s[L::III.index()] = wave(2.5, 0.8);
        let bad = law_factors(&s, 0.0);
        assert!(bad[L::III.index()] < 0.7, "{bad:?}");
        assert_eq!(bad[L::V1.index()], 1.0);
    }

    /// Leads I, II, III and aVR, aVL, aVF consistent (Goldberger from the same two
    /// limb potentials), each sample rounded to `pixel` mV as a page's pixels would.
    fn limb_leads(amp: f32, pixel: f32) -> Vec<Vec<f32>> {
        let q = |v: f32| (v / pixel).round() * pixel;
        let mut s = vec![vec![f32::NAN; 1250]; 12];
        let i = wave(0.0, amp);
        let iii = wave(1.0, 0.8 * amp);
        for n in 0..1250 {
            let ii = i[n] + iii[n];
            s[L::I.index()][n] = q(i[n]);
            s[L::II.index()][n] = q(ii);
            s[L::III.index()][n] = q(iii[n]);
            s[L::AVR.index()][n] = q(-(i[n] + ii) / 2.0);
            s[L::AVL.index()][n] = q(i[n] - ii / 2.0);
            s[L::AVF.index()][n] = q(ii - i[n] / 2.0);
        }
        s
    }

    #[test]
    fn small_complexes_on_a_coarse_page_are_not_called_misread_for_their_pixels() {
        // 0.05 mV waves on a page where a pixel is 0.04 mV (2.5 px/mm at 10 mm/mV).
        let s = limb_leads(0.05, 0.04);
        let strict = law_factors(&s, 0.0);
        assert!(strict[L::I.index()] < 0.9, "{strict:?}");
        let with_pixels = law_factors(&s, 0.04);
        assert!(with_pixels[L::I.index()] > 0.95, "{with_pixels:?}");
        assert!(with_pixels[L::AVR.index()] > 0.95, "{with_pixels:?}");
        // A real misread is still one at that resolution.
        let mut bad = limb_leads(0.5, 0.04);
        bad[L::III.index()] = wave(2.5, 0.8);
        assert!(law_factors(&bad, 0.04)[L::III.index()] < 0.7);
    }

    #[test]
    fn when_both_laws_fail_the_precordial_leads_are_in_doubt_too() {
        let mut s = limb_leads(0.5, 0.0001);
        for l in [L::V1, L::V2, L::V3, L::V4, L::V5, L::V6] {
            s[l.index()] = wave(0.3, 1.0);
        }
        assert!(law_factors(&s, 0.0).iter().all(|f| *f == 1.0));
        // Only Einthoven fails (III from the wrong trace): the precordial leads stand.
        let mut one = s.clone();
        one[L::III.index()] = wave(2.5, 0.8);
        let f = law_factors(&one, 0.0);
        assert!(f[L::III.index()] < 0.7 && f[L::V1.index()] == 1.0, "{f:?}");
        // Both fail (every limb lead from a shifted cut of the rows): all are in doubt.
        let mut both = one;
        both[L::AVF.index()] = wave(4.0, 0.9);
        let f = law_factors(&both, 0.0);
        assert!(f[L::AVF.index()] < 0.6, "{f:?}");
        for l in [L::V1, L::V4, L::V6] {
            assert!(f[l.index()] < 0.6, "{l:?}: {f:?}");
        }
    }
}
