//! The median-beat shape density: how unlike the training normals' representative beats a
//! study's representative beat is.
//!
//! The restoration networks judge a tracing sample by sample, and their error is dominated
//! by noise and by beat-to-beat variation; many diagnoses (an old infarct's Q waves, ST
//! depression, T inversion, hypertrophy voltage, a wide QRS, a long PR) are instead a
//! consistent change of every beat's shape. So a second view of the same study is its
//! median beat (`ecgcore::dsp::measurements`, the beat the intervals are measured on),
//! all twelve leads aligned on the global QRS onset, each lead's PR-segment level
//! subtracted, sampled every [`STEP_MS`] from [`FROM_MS`] to [`TO_MS`] around the onset,
//! plus the rhythm and interval figures (RR, PR, QRS, QT, the three axes as unit vectors,
//! RR irregularity, and a 0/1 flag where PR is missing). The training normals' vectors (folds 1–8) are modelled as one Gaussian by
//! probabilistic PCA ([`ShapeModel`]): the Mahalanobis distance within the leading
//! components plus the residual energy outside them (the `shape` score component).
//!
//! The same vector gives a map: each beat sample's z against the training normals' mean
//! and SD there ([`ShapeModel::point_z`]), as a likelihood calibrated on fold-9 normals'
//! study maxima, painted on every detected beat at the same time from its QRS onset
//! ([`ShapeModel::lead_map`]); the analyzer shows the higher of it and the restoration
//! map. Fitted by `ecglab::fit`; applied here.
//!
//! Units: mV for the beat (scaled by [`BEAT_SCALE_MV`]), the interval figures in their
//! units divided by their `SCALES`; only the distance leaves this module.

use ecgcore::dsp::leadwise;
use ecgcore::dsp::measurements::Measurements;
use ecgcore::recording::StandardLead;
use serde::{Deserialize, Serialize};

/// First sample of the beat vector, relative to QRS onset (ms).
pub const FROM_MS: f64 = -200.0;
/// Last sample of the beat vector, relative to QRS onset (ms).
pub const TO_MS: f64 = 600.0;
/// Step between samples (ms).
pub const STEP_MS: f64 = 10.0;
/// Beat amplitudes are divided by this (mV) so that they weigh like the interval figures.
pub const BEAT_SCALE_MV: f32 = 0.1;

/// Samples per lead in the beat vector.
pub fn samples_per_lead() -> usize {
    ((TO_MS - FROM_MS) / STEP_MS).round() as usize + 1
}

/// Interval and rhythm figures after the beat: name and divisor.
const SCALARS: [(&str, f32); 12] = [
    ("rr_ms", 100.0),
    ("pr_ms", 20.0),
    ("pr_missing", 1.0),
    ("qrs_ms", 10.0),
    ("qt_ms", 20.0),
    ("p_axis_cos", 1.0),
    ("p_axis_sin", 1.0),
    ("qrs_axis_cos", 1.0),
    ("qrs_axis_sin", 1.0),
    ("t_axis_cos", 1.0),
    ("t_axis_sin", 1.0),
    ("rr_irregularity", 0.05),
];

/// Where an interval or rhythm figure sits in the vector (`name` as in its table, e.g.
/// `"qrs_ms"`) and the divisor it is stored with; `None` for another name.
pub fn scalar_slot(name: &str) -> Option<(usize, f32)> {
    let k = SCALARS.iter().position(|(n, _)| *n == name)?;
    Some((12 * samples_per_lead() + k, SCALARS[k].1))
}

/// An interval or rhythm figure of a vector, in its own units (ms for the intervals);
/// `None` for another name or a vector of another length.
pub fn scalar(v: &[f32], name: &str) -> Option<f32> {
    let (i, divisor) = scalar_slot(name)?;
    (v.len() == dim()).then(|| v[i] * divisor)
}

/// The interval and rhythm figures of a vector as stored (each divided by its divisor),
/// in table order; `None` for a vector of another length.
pub fn scaled_scalars(v: &[f32]) -> Option<&[f32]> {
    (v.len() == dim()).then(|| &v[12 * samples_per_lead()..])
}

/// Length of the whole vector.
pub fn dim() -> usize {
    12 * samples_per_lead() + SCALARS.len()
}

/// The study's vector, or `None` when it has no median beat with a QRS onset in all twelve
/// standard leads (the component is then unavailable and counts as 0).
pub fn beat_vector(m: &Measurements) -> Option<Vec<f32>> {
    let n = samples_per_lead();
    let mut out = Vec::with_capacity(dim());
    for lead in StandardLead::ALL {
        let b = leadwise::aligned_beat(m, lead)?;
        let fs = b.sample_rate_hz;
        if !(fs.is_finite() && fs > 0.0) || b.samples_mv.is_empty() {
            return None;
        }
        let last = b.samples_mv.len() - 1;
        for k in 0..n {
            let t_ms = FROM_MS + k as f64 * STEP_MS;
            let pos = (b.qrs_onset as f64 + t_ms * fs / 1000.0).clamp(0.0, last as f64);
            let i = pos.floor() as usize;
            let f = (pos - i as f64) as f32;
            let a = b.samples_mv.get(i).copied().unwrap_or(0.0);
            let c = b.samples_mv.get((i + 1).min(last)).copied().unwrap_or(a);
            let v = (a + f * (c - a) - b.level_mv) / BEAT_SCALE_MV;
            out.push(if v.is_finite() { v } else { 0.0 });
        }
    }
    let angle = |deg: Option<f32>| {
        deg.filter(|d| d.is_finite())
            .map_or((0.0, 0.0), |d| (d.to_radians().cos(), d.to_radians().sin()))
    };
    let (pc, ps) = angle(m.p_axis_deg);
    let (qc, qs) = angle(m.qrs_axis_deg);
    let (tc, ts) = angle(m.t_axis_deg);
    let or0 = |v: Option<f32>| v.filter(|x| x.is_finite()).unwrap_or(0.0);
    let values = [
        or0(m.rr_ms),
        or0(m.pr_ms),
        if m.pr_ms.is_some() { 0.0 } else { 1.0 },
        or0(m.qrs_ms),
        or0(m.qt_ms),
        pc,
        ps,
        qc,
        qs,
        tc,
        ts,
        or0(m.rr_irregularity),
    ];
    for (v, (_, s)) in values.iter().zip(SCALARS) {
        out.push(v / s);
    }
    Some(out)
}

/// Probabilistic-PCA Gaussian of the training normals' beat vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapeModel {
    pub mean: Vec<f32>,
    /// Leading principal directions, row-major `[k × dim]`, unit length.
    pub components: Vec<f32>,
    /// Variance along each leading direction.
    pub variances: Vec<f32>,
    /// Mean variance per dimension outside the leading directions.
    pub residual_variance: f32,
    /// The beat's point-wise spread on the training normals: SD of every beat sample
    /// (`12 × samples_per_lead()`), for the map.
    #[serde(default)]
    pub beat_sd: Vec<f32>,
    /// Likelihood knots of the smoothed point z (as [`crate::mapcal`]'s: 0.5 at the
    /// fold-9 normals' median study maximum, 0.9 and 0.99 at higher quantiles).
    #[serde(default)]
    pub z_knots: Vec<f32>,
    #[serde(default)]
    pub p_knots: Vec<f32>,
}

/// Steps either side averaged into one point z of the map (±10 ms).
pub const MAP_SMOOTH_STEPS: usize = 1;

impl ShapeModel {
    /// Squared-distance form: Σ (projection² / variance) + residual² / residual variance,
    /// returned as its square root (NaN when the vector does not match the model).
    pub fn distance(&self, x: &[f32]) -> f32 {
        let d = self.mean.len();
        let k = self.variances.len();
        if x.len() != d || self.components.len() != k * d || d == 0 {
            return f32::NAN;
        }
        let diff: Vec<f64> = x
            .iter()
            .zip(&self.mean)
            .map(|(a, m)| f64::from(*a) - f64::from(*m))
            .collect();
        let total: f64 = diff.iter().map(|v| v * v).sum();
        let mut explained = 0.0;
        let mut maha = 0.0;
        for (row, var) in self.components.chunks_exact(d).zip(&self.variances) {
            let p: f64 = row.iter().zip(&diff).map(|(c, v)| f64::from(*c) * v).sum();
            explained += p * p;
            maha += p * p / f64::from(var.max(1e-9));
        }
        let residual = (total - explained).max(0.0);
        let r = maha + residual / f64::from(self.residual_variance.max(1e-9));
        r.sqrt() as f32
    }

    /// Distance of a measured study (NaN when it has no usable median beat).
    pub fn study_distance(&self, m: &Measurements) -> f32 {
        beat_vector(m).map_or(f32::NAN, |v| self.distance(&v))
    }

    /// |z| of every beat sample (`[12 × samples_per_lead()]`) against the training
    /// normals' mean and SD there, averaged over ±[`MAP_SMOOTH_STEPS`]; empty when the
    /// model has no point-wise spread or the vector does not match.
    pub fn point_z(&self, v: &[f32]) -> Vec<f32> {
        let spl = samples_per_lead();
        let nb = 12 * spl;
        if self.beat_sd.len() != nb || v.len() < nb || self.mean.len() < nb {
            return Vec::new();
        }
        let z: Vec<f32> = (0..nb)
            .map(|j| (v[j] - self.mean[j]) / self.beat_sd[j].max(1e-3))
            .collect();
        let mut out = Vec::with_capacity(nb);
        for l in 0..12 {
            for t in 0..spl {
                let lo = t.saturating_sub(MAP_SMOOTH_STEPS);
                let hi = (t + MAP_SMOOTH_STEPS).min(spl - 1);
                let m = z[l * spl + lo..=l * spl + hi].iter().sum::<f32>() / (hi - lo + 1) as f32;
                out.push(m.abs());
            }
        }
        out
    }

    /// The study maximum of [`ShapeModel::point_z`] (NaN when unavailable).
    pub fn max_point_z(&self, v: &[f32]) -> f32 {
        self.point_z(v).into_iter().fold(f32::NAN, f32::max)
    }

    /// The median beat's deviation as a map over the recording: per standard lead
    /// ([`StandardLead::ALL`] order), per sample of an `n_samples`-long recording at the
    /// median beat's rate, the likelihood of the median beat's point z painted on every
    /// detected beat at the same time from its QRS onset (0 between beats). `None`
    /// without a usable median beat or a calibrated model.
    pub fn lead_map(&self, m: &Measurements, n_samples: usize) -> Option<Vec<Vec<f32>>> {
        let v = beat_vector(m)?;
        let z = self.point_z(&v);
        if z.is_empty() || self.z_knots.len() < 2 {
            return None;
        }
        let beat = m.median_beat.as_ref()?;
        let fs = beat.sample_rate_hz;
        let (r_med, on_med) = (m.fiducials.r_peak?, m.fiducials.qrs_onset?);
        let spl = samples_per_lead();
        let mut out = vec![vec![0.0_f32; n_samples]; 12];
        let half = STEP_MS / 2.0;
        for &r in &m.r_peaks {
            let onset = r as f64 - (r_med as f64 - on_med as f64);
            for (l, lead) in out.iter_mut().enumerate() {
                for k in 0..spl {
                    let t = FROM_MS + k as f64 * STEP_MS;
                    let p = crate::mapcal::piecewise_likelihood(
                        z[l * spl + k],
                        &self.z_knots,
                        &self.p_knots,
                    );
                    if !p.is_finite() {
                        continue;
                    }
                    let a = (onset + (t - half) * fs / 1000.0).round().max(0.0) as usize;
                    let b = ((onset + (t + half) * fs / 1000.0).round().max(0.0) as usize)
                        .min(n_samples);
                    for x in lead.iter_mut().take(b).skip(a) {
                        *x = x.max(p);
                    }
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_is_mahalanobis_plus_residual() {
        // 3-D model: one leading direction along x (variance 4), residual variance 1.
        let m = ShapeModel {
            mean: vec![1.0, 0.0, 0.0],
            components: vec![1.0, 0.0, 0.0],
            variances: vec![4.0],
            residual_variance: 1.0,
            beat_sd: Vec::new(),
            z_knots: Vec::new(),
            p_knots: Vec::new(),
        };
        assert!(m.distance(&[1.0, 0.0, 0.0]).abs() < 1e-6);
        // 2 along x: 2²/4 = 1; 1 along y: 1²/1 = 1 → √2.
        assert!((m.distance(&[3.0, 1.0, 0.0]) - 2f32.sqrt()).abs() < 1e-5);
        assert!(m.distance(&[0.0, 0.0]).is_nan());
    }
}
