//! A single-channel `f32` image plane and the few raster operations the digitizer needs.
//!
//! Units: pixel coordinates (x right, y down, origin at the top-left pixel's centre);
//! values are whatever the caller stores (0–255 darkness scores here). All accessors are
//! bounds-checked or clamped, so no operation can panic on any size, including 0×0.

/// A `w × h` plane of `f32`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Plane {
    /// A plane filled with `value`.
    pub fn filled(w: usize, h: usize, value: f32) -> Plane {
        Plane {
            w,
            h,
            data: vec![value; w * h],
        }
    }

    /// Value at (x, y); 0 outside the plane.
    #[inline]
    pub fn get(&self, x: usize, y: usize) -> f32 {
        if x < self.w && y < self.h {
            self.data.get(y * self.w + x).copied().unwrap_or(0.0)
        } else {
            0.0
        }
    }

    /// Set (x, y); ignored outside the plane.
    #[inline]
    pub fn set(&mut self, x: usize, y: usize, v: f32) {
        if x < self.w && y < self.h {
            if let Some(p) = self.data.get_mut(y * self.w + x) {
                *p = v;
            }
        }
    }

    /// One row as a slice (empty outside the plane).
    pub fn row(&self, y: usize) -> &[f32] {
        if y < self.h {
            self.data.get(y * self.w..(y + 1) * self.w).unwrap_or(&[])
        } else {
            &[]
        }
    }

    /// Bilinear sample at fractional (x, y); `fill` outside the plane.
    pub fn sample_bilinear(&self, x: f32, y: f32, fill: f32) -> f32 {
        if !(x.is_finite() && y.is_finite()) || x < 0.0 || y < 0.0 {
            return fill;
        }
        let x0 = x.floor() as usize;
        let y0 = y.floor() as usize;
        if x0 + 1 >= self.w || y0 + 1 >= self.h {
            if x0 < self.w && y0 < self.h {
                return self.get(x0, y0);
            }
            return fill;
        }
        let fx = x - x0 as f32;
        let fy = y - y0 as f32;
        let a = self.get(x0, y0);
        let b = self.get(x0 + 1, y0);
        let c = self.get(x0, y0 + 1);
        let d = self.get(x0 + 1, y0 + 1);
        let top = a + (b - a) * fx;
        let bottom = c + (d - c) * fx;
        top + (bottom - top) * fy
    }

    /// Mean over a `(2r+1) × (2r+1)` box (clamped at the borders), by running sums
    /// along rows then columns: O(w·h) whatever `r`.
    pub fn box_mean(&self, r: usize) -> Plane {
        let horizontal = box_rows(self, r);
        box_columns(&horizontal, r)
    }

    /// The plane with rows and columns swapped.
    pub fn transposed(&self) -> Plane {
        transpose(self)
    }

    /// Downscale by an integer factor (mean of each `f × f` block).
    pub fn downscale(&self, f: usize) -> Plane {
        let f = f.max(1);
        let w = self.w / f;
        let h = self.h / f;
        let mut out = Plane::filled(w, h, 0.0);
        let norm = 1.0 / (f * f) as f32;
        for y in 0..h {
            for x in 0..w {
                let mut s = 0.0;
                for dy in 0..f {
                    for dx in 0..f {
                        s += self.get(x * f + dx, y * f + dy);
                    }
                }
                out.set(x, y, s * norm);
            }
        }
        out
    }
}

/// Running-mean of width `2r+1` along each row, with the window clipped at the ends.
fn box_rows(p: &Plane, r: usize) -> Plane {
    let mut out = Plane::filled(p.w, p.h, 0.0);
    if p.data.len() != p.w * p.h {
        return out;
    }
    let mut prefix = vec![0.0f64; p.w + 1];
    for (row, out_row) in p
        .data
        .chunks_exact(p.w.max(1))
        .zip(out.data.chunks_exact_mut(p.w.max(1)))
    {
        for (i, v) in row.iter().enumerate() {
            prefix[i + 1] = prefix[i] + f64::from(*v);
        }
        for (x, o) in out_row.iter_mut().enumerate() {
            let a = x.saturating_sub(r);
            let b = (x + r + 1).min(p.w);
            let n = (b - a).max(1) as f64;
            *o = ((prefix[b] - prefix[a]) / n) as f32;
        }
    }
    out
}

/// Running-mean of height `2r+1` down each column, with the window clipped at the ends:
/// one running sum per column, updated a row at a time (no transposes).
fn box_columns(p: &Plane, r: usize) -> Plane {
    let (w, h) = (p.w, p.h);
    let mut out = Plane::filled(w, h, 0.0);
    if w == 0 || h == 0 || p.data.len() != w * h {
        return out;
    }
    let row = |y: usize| &p.data[y * w..(y + 1) * w];
    let mut sum = vec![0.0f64; w];
    // Rows 0..=r are in the window of row 0.
    for y in 0..=r.min(h - 1) {
        for (s, v) in sum.iter_mut().zip(row(y)) {
            *s += f64::from(*v);
        }
    }
    for y in 0..h {
        if y > 0 {
            if y + r < h {
                for (s, v) in sum.iter_mut().zip(row(y + r)) {
                    *s += f64::from(*v);
                }
            }
            if y > r {
                for (s, v) in sum.iter_mut().zip(row(y - r - 1)) {
                    *s -= f64::from(*v);
                }
            }
        }
        let n = ((y + r + 1).min(h) - y.saturating_sub(r)).max(1) as f64;
        for (o, s) in out.data[y * w..(y + 1) * w].iter_mut().zip(&sum) {
            *o = (s / n) as f32;
        }
    }
    out
}

fn transpose(p: &Plane) -> Plane {
    let mut out = Plane::filled(p.h, p.w, 0.0);
    for y in 0..p.h {
        for (x, v) in p.row(y).iter().enumerate() {
            out.set(y, x, *v);
        }
    }
    out
}

/// Rotate `p` by `angle_rad` about its centre, into a plane of the same size, so that
/// lines in `p` along `y = c + x·tan(angle)` become horizontal (see `grid::estimate_skew`).
pub fn rotate(p: &Plane, angle_rad: f32, fill: f32) -> Plane {
    let mut out = Plane::filled(p.w, p.h, fill);
    if p.w == 0 || p.h == 0 || p.data.len() != p.w * p.h {
        return out;
    }
    let (s, c) = angle_rad.sin_cos();
    let cx = p.w as f32 / 2.0;
    let cy = p.h as f32 / 2.0;
    let w = p.w;
    for (y, out_row) in out.data.chunks_exact_mut(w).enumerate() {
        let dy = y as f32 - cy;
        for (x, o) in out_row.iter_mut().enumerate() {
            let dx = x as f32 - cx;
            let (sx, sy) = rotate_point_to_source(dx, dy, s, c);
            let (sx, sy) = (sx + cx, sy + cy);
            // Inside the plane (the common case), interpolate from the four pixels
            // directly; at and past the edges, as `sample_bilinear` does.
            if sx >= 0.0 && sy >= 0.0 && sx < (w - 1) as f32 && sy < (p.h - 1) as f32 {
                let (x0, y0) = (sx as usize, sy as usize);
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                let i = y0 * w + x0;
                let (a, b) = (p.data[i], p.data[i + 1]);
                let (cc, d) = (p.data[i + w], p.data[i + w + 1]);
                let top = a + (b - a) * fx;
                let bottom = cc + (d - cc) * fx;
                *o = top + (bottom - top) * fy;
            } else {
                *o = p.sample_bilinear(sx, sy, fill);
            }
        }
    }
    out
}

/// [`rotate`] of two planes by the same angle, the second on its own thread (a panic
/// there is raised here, as it would be unthreaded).
pub fn rotate_all(planes: [&Plane; 2], angle_rad: f32, fill: f32) -> [Plane; 2] {
    std::thread::scope(|scope| {
        let second = scope.spawn(|| rotate(planes[1], angle_rad, fill));
        let first = rotate(planes[0], angle_rad, fill);
        let second = second
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        [first, second]
    })
}

/// Source offset (from the centre) of a deskewed offset (dx, dy).
#[inline]
pub fn rotate_point_to_source(dx: f32, dy: f32, sin: f32, cos: f32) -> (f32, f32) {
    (dx * cos - dy * sin, dx * sin + dy * cos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_mean_of_constant_is_constant() {
        let p = Plane::filled(7, 5, 3.0);
        let m = p.box_mean(2);
        assert!(m.data.iter().all(|v| (v - 3.0).abs() < 1e-5));
    }

    #[test]
    fn box_mean_matches_the_plain_window_mean() {
        let mut p = Plane::filled(13, 9, 0.0);
        for (i, v) in p.data.iter_mut().enumerate() {
            *v = ((i * 37) % 11) as f32;
        }
        for r in [0, 1, 3, 20] {
            let m = p.box_mean(r);
            for y in 0..p.h {
                for x in 0..p.w {
                    let (mut s, mut n) = (0.0f32, 0.0f32);
                    for yy in y.saturating_sub(r)..(y + r + 1).min(p.h) {
                        for xx in x.saturating_sub(r)..(x + r + 1).min(p.w) {
                            s += p.get(xx, yy);
                            n += 1.0;
                        }
                    }
                    assert!((m.get(x, y) - s / n).abs() < 1e-4, "r {r} at {x},{y}");
                }
            }
        }
    }

    #[test]
    fn rotate_reads_as_bilinear_sampling() {
        let mut p = Plane::filled(31, 17, 0.0);
        for (i, v) in p.data.iter_mut().enumerate() {
            *v = ((i * 53) % 17) as f32;
        }
        let angle = 0.07f32;
        let r = rotate(&p, angle, -1.0);
        let (s, c) = angle.sin_cos();
        let (cx, cy) = (p.w as f32 / 2.0, p.h as f32 / 2.0);
        for y in 0..p.h {
            for x in 0..p.w {
                let (sx, sy) = rotate_point_to_source(x as f32 - cx, y as f32 - cy, s, c);
                let want = p.sample_bilinear(sx + cx, sy + cy, -1.0);
                assert!((r.get(x, y) - want).abs() < 1e-4, "at {x},{y}");
            }
        }
        // Two planes at once, as one at a time.
        let [a, b] = rotate_all([&p, &r], angle, 0.0);
        assert_eq!(a, rotate(&p, angle, 0.0));
        assert_eq!(b, rotate(&r, angle, 0.0));
    }

    #[test]
    fn empty_plane_operations_do_not_panic() {
        let p = Plane::filled(0, 0, 0.0);
        assert_eq!(p.box_mean(3).data.len(), 0);
        assert_eq!(rotate(&p, 0.1, 0.0).data.len(), 0);
        assert_eq!(p.sample_bilinear(1.0, 1.0, 7.0), 7.0);
        assert_eq!(p.downscale(3).data.len(), 0);
    }
}
