//! Paper skew and grid calibration: how far the page is rotated, and how many pixels
//! make one millimetre of ECG paper.
//!
//! Skew: the angle that makes the projection profile of the grid (and trace baselines)
//! sharpest — the classic projection-profile deskew method (Postl 1986; Hull, "Document
//! image skew detection: survey and annotated bibliography", 1998), searched coarse then
//! fine over ±`MAX_SKEW_DEG`.
//!
//! Grid: ECG paper has 1 mm minor and 5 mm major lines. The period is read from the
//! autocorrelation of the first difference of the column (and row) mean profile; the
//! 5 mm major lines show as a stronger peak at five times the minor period, which tells
//! minor from major when both are printed. The period is then refined on long lags (many
//! periods), which makes it accurate to a small fraction of a pixel.
//!
//! Units: angles in degrees (public) or radians (internal), periods in pixels per mm.

use crate::plane::Plane;

/// Largest page rotation searched for, in degrees.
pub const MAX_SKEW_DEG: f32 = 7.0;

/// Plausible limits for one millimetre on the image, in pixels.
const MIN_PX_PER_MM: f32 = 1.2;
const MAX_PX_PER_MM: f32 = 60.0;

/// Sharpness of the projection profile of `p` along lines `y = c + x·tan(angle)`.
pub fn profile_sharpness(p: &Plane, angle_rad: f32, step: usize) -> f64 {
    let t = angle_rad.tan();
    let offset = (p.w as f32 * t.abs()).ceil() as usize + 1;
    let bins = p.h + 2 * offset;
    let mut sum = vec![0.0f64; bins];
    let mut count = vec![0u32; bins];
    // Every row, so that no bin is starved at angle 0; columns may be subsampled.
    // The bin of (x, y) is round(y − x·t + offset) = y + round(offset − x·t), y being
    // whole: one shift per column, computed once (offset keeps it at 0 or more).
    let step = step.max(1);
    let shift: Vec<usize> = (0..p.w)
        .step_by(step)
        .map(|x| (offset as f32 - x as f32 * t).round().max(0.0) as usize)
        .collect();
    // Neighbouring columns share a shift (all of them near 0°): each run of sampled
    // columns with one shift adds its row segment to one bin.
    let mut runs: Vec<(usize, usize, usize)> = Vec::new(); // (first column, columns, shift)
    for (k, &sh) in shift.iter().enumerate() {
        match runs.last_mut() {
            Some(r) if r.2 == sh => r.1 += 1,
            _ => runs.push((k * step, 1, sh)),
        }
    }
    for y in 0..p.h {
        let row = p.row(y);
        for &(x0, n, sh) in &runs {
            let b = y + sh;
            if let (Some(s), Some(c)) = (sum.get_mut(b), count.get_mut(b)) {
                let seg = row.get(x0..).unwrap_or(&[]);
                *s += seg
                    .iter()
                    .step_by(step)
                    .take(n)
                    .map(|v| f64::from(*v))
                    .sum::<f64>();
                *c += n as u32;
            }
        }
    }
    profile_score(&sum, &count)
}

/// Sharpness of a projection profile given per bin as sums and pixel counts: the sum of
/// squared steps between neighbouring bins' means, over bins holding at least half the
/// fullest bin's pixels (the profile's ends, which few columns reach, are left out).
fn profile_score(sum: &[f64], count: &[u32]) -> f64 {
    let max_count = count.iter().copied().max().unwrap_or(0);
    let min_count = (max_count / 2).max(1);
    let mut score = 0.0;
    let mut prev: Option<f64> = None;
    for (s, c) in sum.iter().zip(count) {
        if *c >= min_count {
            let m = s / f64::from(*c);
            if let Some(q) = prev {
                score += (m - q) * (m - q);
            }
            prev = Some(m);
        } else {
            prev = None;
        }
    }
    score
}

/// [`profile_sharpness`] at each angle, the angles shared among the CPU's cores (at most
/// four threads; each trial reads the whole plane, so they are independent).
fn sharpness_at(p: &Plane, angles: &[f32], step: usize) -> Vec<(f32, f64)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 4)
        .min(angles.len().max(1));
    if threads < 2 {
        return angles
            .iter()
            .map(|&a| (a, profile_sharpness(p, a, step)))
            .collect();
    }
    let chunk = angles.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = angles
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|&a| (a, profile_sharpness(p, a, step)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// [`sharpness_at`] `n` (at least 2) evenly spaced angles from `lo` to `hi`.
pub(crate) fn sharpness_over(
    p: &Plane,
    (lo, hi): (f32, f32),
    n: usize,
    step: usize,
) -> Vec<(f32, f64)> {
    let n = n.max(2);
    let angles: Vec<f32> = (0..n)
        .map(|i| lo + (hi - lo) * i as f32 / (n - 1) as f32)
        .collect();
    sharpness_at(p, &angles, step)
}

/// Best angle in `[lo, hi]` by `n` evenly spaced trials, with parabolic refinement.
fn search_angle(p: &Plane, lo: f32, hi: f32, n: usize, step: usize) -> f32 {
    let n = n.max(3);
    let scores = sharpness_over(p, (lo, hi), n, step);
    let best = scores
        .iter()
        .enumerate()
        .max_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
        .map_or(0, |(i, _)| i);
    let (a, s0) = scores.get(best).copied().unwrap_or((0.0, 0.0));
    if best > 0 && best + 1 < scores.len() {
        let sm = scores[best - 1].1;
        let sp = scores[best + 1].1;
        let denom = sm - 2.0 * s0 + sp;
        if denom < 0.0 {
            let delta = (0.5 * (sm - sp) / denom).clamp(-0.5, 0.5) as f32;
            return a + delta * (hi - lo) / (n - 1) as f32;
        }
    }
    a
}

/// Page skew in radians: the angle of the grid's horizontal lines (positive when they
/// rise to the right on screen is negative here: lines follow `y = c + x·tan(angle)`).
pub fn estimate_skew(darkness: &Plane) -> f32 {
    let pixels = darkness.w * darkness.h;
    // Fine search at up to ~1.5 MP; coarse search 4× smaller, where the sharpness peak
    // is broad enough not to fall between trial angles.
    let f = ((pixels as f64 / 1.5e6).sqrt().floor() as usize).max(1);
    let work = if f > 1 {
        darkness.downscale(f)
    } else {
        darkness.clone()
    };
    let coarse_plane = if work.w * work.h > 400_000 {
        work.downscale(4)
    } else {
        work.clone()
    };
    let max = MAX_SKEW_DEG.to_radians();
    let coarse_step = 0.2f32.to_radians();
    let n = (2.0 * max / coarse_step).round() as usize + 1;
    // The coarse plane can alias a fine grid into a false peak: refine the three best
    // coarse peaks on the working plane and keep the sharpest.
    let coarse = sharpness_over(&coarse_plane, (-max, max), n, 1);
    let mut peaks: Vec<(f32, f64)> = coarse
        .iter()
        .enumerate()
        .filter(|(i, (_, v))| {
            let l = i.checked_sub(1).map_or(f64::MIN, |j| coarse[j].1);
            let r = coarse.get(i + 1).map_or(f64::MIN, |c| c.1);
            *v >= l && *v >= r
        })
        .map(|(_, c)| *c)
        .collect();
    peaks.sort_by(|a, b| b.1.total_cmp(&a.1));
    peaks.truncate(3);
    let mut best = (0.0f32, f64::MIN);
    for (a, _) in peaks {
        let half = 0.3f32.to_radians();
        let medium = search_angle(&work, a - half, a + half, 13, 4);
        let score = profile_sharpness(&work, medium, 4);
        if score > best.1 {
            best = (medium, score);
        }
    }
    let half = 0.06f32.to_radians();
    search_angle(&work, best.0 - half, best.0 + half, 13, 1)
}

/// What the grid told us along one axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AxisGrid {
    /// Pixels per millimetre along this axis.
    pub px_per_mm: f32,
    /// Normalised autocorrelation at the 1 mm (or 5 mm) period: how grid-like (0–1).
    pub strength: f32,
}

/// Normalised autocorrelation of `d` for lags `0..=max_lag`.
fn autocorrelation(d: &[f32], max_lag: usize) -> Vec<f32> {
    let n = d.len();
    let energy: f64 = d.iter().map(|v| f64::from(*v) * f64::from(*v)).sum();
    let mut r = vec![0.0f32; max_lag + 1];
    if energy <= 0.0 {
        return r;
    }
    for (lag, out) in r.iter_mut().enumerate() {
        if lag >= n {
            break;
        }
        let mut s = 0.0f64;
        for (a, b) in d.iter().zip(d.iter().skip(lag)) {
            s += f64::from(*a) * f64::from(*b);
        }
        // Unbiased: compensate for the shrinking overlap.
        *out = (s / energy * n as f64 / (n - lag) as f64) as f32;
    }
    r
}

/// Sub-sample position of the largest value of `r` in `[lo, hi]`.
fn peak_in(r: &[f32], lo: f32, hi: f32) -> Option<(f32, f32)> {
    let lo = lo.max(1.0).floor() as usize;
    let hi = (hi.ceil() as usize).min(r.len().saturating_sub(2));
    if lo > hi {
        return None;
    }
    let (i, v) = (lo..=hi)
        .filter_map(|i| r.get(i).map(|v| (i, *v)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let (a, b) = (r.get(i.wrapping_sub(1)).copied(), r.get(i + 1).copied());
    if let (Some(a), Some(b)) = (a, b) {
        let denom = a - 2.0 * v + b;
        if denom < 0.0 {
            let delta = (0.5 * (a - b) / denom).clamp(-0.5, 0.5);
            return Some((i as f32 + delta, v));
        }
    }
    Some((i as f32, v))
}

/// Grid period along a profile (mean darkness per column or per row).
pub fn grid_period(profile: &[f32], long_side_px: usize) -> Option<AxisGrid> {
    if profile.len() < 32 {
        return None;
    }
    let d: Vec<f32> = profile.windows(2).map(|w| w[1] - w[0]).collect();
    let n = d.len();
    let search_max = ((MAX_PX_PER_MM * 5.0) as usize).min(n / 3);
    let long_max = (n * 6 / 10).max(search_max);
    let r = autocorrelation(&d, long_max);
    // The first strong peak: the finest printed period.
    let lo = (MIN_PX_PER_MM.floor() as usize).max(2);
    let r_max = r
        .get(lo..=search_max)?
        .iter()
        .copied()
        .fold(f32::MIN, f32::max);
    if r_max < 0.08 {
        return None;
    }
    let mut first = None;
    for lag in lo..search_max {
        let (a, v, b) = (r[lag - 1], r[lag], r[lag + 1]);
        if v >= a && v > b && v >= 0.4 * r_max {
            first = Some(lag);
            break;
        }
    }
    let lag = first?;
    let (p1, strength) = peak_in(&r, lag as f32 - 1.0, lag as f32 + 1.0)?;
    let at = |lag: f32, tol: f32| peak_in(&r, lag - tol, lag + tol).map_or(0.0, |x| x.1);
    let value = |lag: f32| {
        let i = lag.round() as usize;
        r.get(i).copied().unwrap_or(0.0)
    };
    // Is p1 the 5 mm period with fainter 1 mm lines in between? Look for a comb at p1/5.
    let p = p1 / 5.0;
    let faint_minor = p >= 2.0 && {
        let on = (1..5).map(|k| at(k as f32 * p, 0.15 * p)).sum::<f32>() / 4.0;
        let off = (0..5).map(|k| value((k as f32 + 0.5) * p)).sum::<f32>() / 5.0;
        on - off > 0.1 * (strength - off).max(0.0) && on - off > 0.02
    };
    // Or is p1 the 1 mm period, with stronger 5 mm lines every fifth?
    let bump = at(5.0 * p1, 0.3 * p1) - 0.5 * (at(4.0 * p1, 0.3 * p1) + at(6.0 * p1, 0.3 * p1));
    let long_mm_if_minor = long_side_px as f32 / p1;
    // Only one kind of line visible: decide by the size of the page it implies.
    let minor = faint_minor
        || (6.0 * p1 < long_max as f32 && bump > 0.1 * strength)
        || p1 < 6.0
        || long_mm_if_minor * 5.0 > 450.0;
    let p1 = if faint_minor { p } else { p1 };
    let mut px_per_mm = if minor { p1 } else { p1 / 5.0 };
    // Refine on long lags: multiples of the 5 mm period.
    let mut k = 2.0f32;
    while k * 5.0 * px_per_mm < long_max as f32 - px_per_mm {
        let target = k * 5.0 * px_per_mm;
        let half = 0.45 * px_per_mm.max(1.0);
        match peak_in(&r, target - half, target + half) {
            Some((pos, v)) if v > 0.25 * strength => px_per_mm = pos / (k * 5.0),
            _ => break,
        }
        k *= 2.0;
    }
    if !(MIN_PX_PER_MM..=MAX_PX_PER_MM).contains(&px_per_mm) {
        return None;
    }
    Some(AxisGrid {
        px_per_mm,
        strength,
    })
}

/// Column and row mean profiles of a plane.
pub fn profiles(p: &Plane) -> (Vec<f32>, Vec<f32>) {
    let mut cols = vec![0.0f32; p.w];
    let mut rows = vec![0.0f32; p.h];
    for y in 0..p.h {
        let row = p.row(y);
        let mut s = 0.0;
        for (c, v) in cols.iter_mut().zip(row) {
            *c += v;
            s += v;
        }
        if let Some(r) = rows.get_mut(y) {
            *r = s / p.w.max(1) as f32;
        }
    }
    for c in &mut cols {
        *c /= p.h.max(1) as f32;
    }
    (cols, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_sharpness_sums_runs_of_columns_as_it_summed_pixels() {
        // The sharpness sums each run of columns that share a bin at once; the plain sum,
        // pixel by pixel, must bin the same on any plane, angle and column step.
        let reference = |p: &Plane, angle: f32, step: usize| -> f64 {
            let t = angle.tan();
            let offset = (p.w as f32 * t.abs()).ceil() as usize + 1;
            let bins = p.h + 2 * offset;
            let (mut sum, mut count) = (vec![0.0f64; bins], vec![0u32; bins]);
            for y in 0..p.h {
                for x in (0..p.w).step_by(step) {
                    let b = y + (offset as f32 - x as f32 * t).round().max(0.0) as usize;
                    sum[b] += f64::from(p.row(y)[x]);
                    count[b] += 1;
                }
            }
            profile_score(&sum, &count)
        };
        let mut p = Plane::filled(203, 97, 0.0);
        let mut seed = 12345u32;
        for y in 0..97 {
            for x in 0..203 {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let line = if y % 8 == 3 { 120.0 } else { 0.0 };
                p.set(x, y, line + (seed >> 24) as f32);
            }
        }
        for deg in [-7.0f32, -1.3, -0.2, 0.0, 0.05, 0.9, 4.4] {
            for step in [1, 3, 4] {
                let (got, want) = (
                    profile_sharpness(&p, deg.to_radians(), step),
                    reference(&p, deg.to_radians(), step),
                );
                assert!(
                    (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                    "{deg}° step {step}: {got} vs {want}"
                );
            }
        }
    }

    fn synthetic_grid(w: usize, h: usize, px_per_mm: f32, angle: f32) -> Plane {
        let mut p = Plane::filled(w, h, 0.0);
        let (s, c) = angle.sin_cos();
        for y in 0..h {
            for x in 0..w {
                // Coordinates in the paper's frame.
                let u = x as f32 * c + y as f32 * s;
                let v = -(x as f32) * s + y as f32 * c;
                let line = |q: f32| -> f32 {
                    let mm = q / px_per_mm;
                    let minor = (mm - mm.round()).abs() * px_per_mm < 0.6;
                    let major = (mm / 5.0 - (mm / 5.0).round()).abs() * 5.0 * px_per_mm < 0.9;
                    if major {
                        120.0
                    } else if minor {
                        50.0
                    } else {
                        0.0
                    }
                };
                p.set(x, y, line(u).max(line(v)));
            }
        }
        p
    }

    #[test]
    fn finds_minor_grid_period() {
        let p = synthetic_grid(800, 600, 7.874, 0.0);
        let (cols, rows) = profiles(&p);
        let gx = grid_period(&cols, 800).unwrap();
        let gy = grid_period(&rows, 800).unwrap();
        assert!((gx.px_per_mm - 7.874).abs() < 0.02, "{gx:?}");
        assert!((gy.px_per_mm - 7.874).abs() < 0.02, "{gy:?}");
    }

    #[test]
    fn finds_skew() {
        let angle = 2.0f32.to_radians();
        let p = synthetic_grid(700, 500, 6.0, angle);
        let est = estimate_skew(&p);
        // Paper lines v = const follow y = c + x·tan(angle) in image coordinates.
        assert!(
            (est - angle).abs() < 0.1f32.to_radians(),
            "{}",
            est.to_degrees()
        );
    }

    #[test]
    fn no_grid_in_flat_profile() {
        assert!(grid_period(&[0.0; 500], 500).is_none());
        assert!(grid_period(&[], 0).is_none());
    }
}
