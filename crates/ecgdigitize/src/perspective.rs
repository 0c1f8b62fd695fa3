//! Perspective correction for photographed pages: find where the grid's horizontal and
//! vertical lines converge and warp the photo so that they are parallel again.
//!
//! Method (vanishing-point rectification; Hartley & Zisserman, "Multiple View Geometry",
//! 2nd ed., §2.7 "Recovery of affine and metric properties from images"):
//! 1. The page is cut into overlapping tiles; in each, the direction of the horizontal grid lines
//!    (and, on the transposed tile, of the vertical ones) is the angle that makes the
//!    projection profile sharpest, as for the page skew in [`crate::grid`].
//! 2. Each tile gives a line through its centre; the lines of one family meet in a
//!    vanishing point, found as the homogeneous point nearest to all of them (smallest
//!    eigenvector of Σ w·l·lᵀ, Jacobi eigen-decomposition), so that parallel lines (a point
//!    at infinity) need no special case.
//! 3. The image of the line at infinity is the line through both vanishing points; the
//!    projective map that sends it back to infinity makes the grid lines parallel with even
//!    spacing, and an affine map then turns the two families to the x and y axes, keeping
//!    lengths near the centre. The warp is sampled bilinearly.
//!
//! Pages whose lines converge by less than [`MIN_CONVERGENCE_DEG`] across the page
//! (scans, renders) are left alone.
//!
//! Units: pixels of the image given; angles in degrees unless a name says radians.

use crate::grid::sharpness_over;
use crate::plane::Plane;
use image::RgbImage;

/// Largest deviation of a tile's lines from the page's mean direction searched, degrees.
const MAX_TILE_DEG: f32 = 14.0;
/// Below this spread of line directions across the page, no correction is made, degrees.
pub const MIN_CONVERGENCE_DEG: f64 = 0.25;
/// A tile counts when its sharpest angle beats the median angle's sharpness by this
/// factor less one (grid tiles score 20–400; noise and plain paper about 0.5).
const MIN_TILE_QUALITY: f64 = 3.0;
/// Tile size relative to an even split into `TILES × TILES`.
const TILE_SPAN: f64 = 1.5;
/// Tiles per side.
const TILES: usize = 5;

/// A plane projective map (3×3, row-major) acting on `[x, y, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography(pub [f64; 9]);

impl Homography {
    pub const IDENTITY: Homography = Homography([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);

    /// Image of point (x, y), `None` where it maps to infinity.
    pub fn apply(&self, x: f64, y: f64) -> Option<[f64; 2]> {
        let m = &self.0;
        let w = m[6] * x + m[7] * y + m[8];
        if w.abs() < 1e-12 {
            return None;
        }
        let u = (m[0] * x + m[1] * y + m[2]) / w;
        let v = (m[3] * x + m[4] * y + m[5]) / w;
        (u.is_finite() && v.is_finite()).then_some([u, v])
    }

    /// `self` after `first`.
    pub fn compose(&self, first: &Homography) -> Homography {
        let (a, b) = (&self.0, &first.0);
        let mut out = [0.0; 9];
        for r in 0..3 {
            for c in 0..3 {
                out[r * 3 + c] = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum();
            }
        }
        Homography(out)
    }

    /// The inverse map, `None` when singular.
    pub fn inverse(&self) -> Option<Homography> {
        let m = &self.0;
        let cof = [
            m[4] * m[8] - m[5] * m[7],
            m[2] * m[7] - m[1] * m[8],
            m[1] * m[5] - m[2] * m[4],
            m[5] * m[6] - m[3] * m[8],
            m[0] * m[8] - m[2] * m[6],
            m[2] * m[3] - m[0] * m[5],
            m[3] * m[7] - m[4] * m[6],
            m[1] * m[6] - m[0] * m[7],
            m[0] * m[4] - m[1] * m[3],
        ];
        let det = m[0] * cof[0] + m[1] * cof[3] + m[2] * cof[6];
        if !det.is_finite() || det.abs() < 1e-15 {
            return None;
        }
        Some(Homography(cof.map(|v| v / det)))
    }

    /// The map sending each `from[i]` to `to[i]` (direct linear transform, 8×8 solve).
    pub fn from_correspondences(from: [[f64; 2]; 4], to: [[f64; 2]; 4]) -> Option<Homography> {
        let mut a = [[0.0f64; 9]; 8];
        for i in 0..4 {
            let ([x, y], [u, v]) = (from[i], to[i]);
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        // Gaussian elimination with partial pivoting on the augmented 8×9 system.
        for col in 0..8 {
            let pivot = (col..8).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
            if a[pivot][col].abs() < 1e-12 {
                return None;
            }
            a.swap(col, pivot);
            let pivot_row = a[col];
            for (r, row) in a.iter_mut().enumerate() {
                if r != col {
                    let f = row[col] / pivot_row[col];
                    for (x, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                        *x -= f * p;
                    }
                }
            }
        }
        let h: Vec<f64> = (0..8).map(|i| a[i][8] / a[i][i]).collect();
        Some(Homography([
            h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0,
        ]))
    }
}

/// A detected perspective and the rectified page's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rectification {
    /// Rectified pixel → source pixel.
    pub to_source: Homography,
    /// Source pixel → rectified pixel.
    pub from_source: Homography,
    pub width: u32,
    pub height: u32,
    /// Largest spread of grid-line directions across the page, degrees.
    pub convergence_deg: f64,
}

/// Best angle (radians) of lines `y = c + x·tan(a)` in `p` within `centre ± half`, and
/// how distinct the sharpness peak is (best / median − 1).
fn tile_angle(p: &Plane, centre: f32, half: f32) -> (f32, f32) {
    // Coarse: 1° steps on the tile at half resolution (the 5 mm lines survive).
    let step = 1.0f32.to_radians();
    let n = ((2.0 * half / step).round() as usize).max(2) + 1;
    let small;
    let coarse_plane = if p.w >= 120 && p.h >= 120 {
        small = p.downscale(2);
        &small
    } else {
        p
    };
    let scores = sharpness_over(coarse_plane, (centre - half, centre + half), n, 1);
    let mut sorted: Vec<f64> = scores.iter().map(|s| s.1).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let Some(&(coarse, best)) = scores.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return (centre, 0.0);
    };
    // Refine around the coarse maximum, then a parabola through the best three.
    let fine_half = step;
    let m = 9;
    let fine = sharpness_over(p, (coarse - fine_half, coarse + fine_half), m, 1);
    let i = (0..m)
        .max_by(|&a, &b| fine[a].1.total_cmp(&fine[b].1))
        .unwrap_or(m / 2);
    let mut fine_angle = fine[i].0;
    if i > 0 && i + 1 < m {
        let (a, b, c) = (fine[i - 1].1, fine[i].1, fine[i + 1].1);
        let denom = a - 2.0 * b + c;
        if denom < 0.0 {
            let delta = (0.5 * (a - c) / denom).clamp(-0.5, 0.5) as f32;
            fine_angle += delta * 2.0 * fine_half / (m - 1) as f32;
        }
    }
    let fine = fine_angle;
    let quality = if median > 0.0 {
        (best / median - 1.0) as f32
    } else {
        0.0
    };
    (fine, quality)
}

/// A tile's line: a point and an angle (radians, lines `y = c + x·tan(a)` for the
/// horizontal family, `x = c + y·tan(a)` for the vertical one), with a weight.
#[derive(Debug, Clone, Copy)]
struct TileLine {
    x: f64,
    y: f64,
    angle: f64,
    weight: f64,
}

/// Homogeneous line through (x, y) along (dx, dy), normalised so that `l·[X, Y, 1]` is
/// the distance of (X, Y) from it.
fn line_through(x: f64, y: f64, dx: f64, dy: f64) -> [f64; 3] {
    let (a, b) = (dy, -dx);
    let n = (a * a + b * b).sqrt().max(1e-12);
    [a / n, b / n, -(a * x + b * y) / n]
}

/// Eigenvector of the smallest eigenvalue of a symmetric 3×3 matrix (cyclic Jacobi).
fn smallest_eigenvector(mut m: [[f64; 3]; 3]) -> [f64; 3] {
    let mut v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _ in 0..50 {
        let off = m[0][1].abs() + m[0][2].abs() + m[1][2].abs();
        if off < 1e-14 {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if m[p][q].abs() < 1e-18 {
                continue;
            }
            let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let t = if theta == 0.0 { 1.0 } else { t };
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            for row in &mut m {
                let (mkp, mkq) = (row[p], row[q]);
                row[p] = c * mkp - s * mkq;
                row[q] = s * mkp + c * mkq;
            }
            let (rp, rq) = (m[p], m[q]);
            for k in 0..3 {
                m[p][k] = c * rp[k] - s * rq[k];
                m[q][k] = s * rp[k] + c * rq[k];
            }
            for row in &mut v {
                let (vp, vq) = (row[p], row[q]);
                row[p] = c * vp - s * vq;
                row[q] = s * vp + c * vq;
            }
        }
    }
    let i = (0..3)
        .min_by(|&a, &b| m[a][a].total_cmp(&m[b][b]))
        .unwrap_or(2);
    [v[0][i], v[1][i], v[2][i]]
}

/// Vanishing point (homogeneous, in the coordinates of `lines`) of one line family.
fn vanishing_point(lines: &[TileLine], vertical: bool) -> [f64; 3] {
    let mut m = [[0.0f64; 3]; 3];
    for t in lines {
        let (s, c) = t.angle.sin_cos();
        let (dx, dy) = if vertical { (s, c) } else { (c, s) };
        let l = line_through(t.x, t.y, dx, dy);
        for r in 0..3 {
            for k in 0..3 {
                m[r][k] += t.weight * l[r] * l[k];
            }
        }
    }
    smallest_eigenvector(m)
}

/// Direction (radians from the family's axis) at (x, y) of the line through the
/// vanishing point `v`; `fallback` when `v` is the point itself.
fn direction_at(v: [f64; 3], x: f64, y: f64, vertical: bool, fallback: f64) -> f64 {
    // Direction from (x, y) towards v: v.xy − v.w·(x, y).
    let (dx, dy) = (v[0] - v[2] * x, v[1] - v[2] * y);
    if dx.hypot(dy) < 1e-12 {
        return fallback;
    }
    let a = if vertical { dx.atan2(dy) } else { dy.atan2(dx) };
    // Lines have no orientation: fold into ±90°.
    let half_pi = std::f64::consts::FRAC_PI_2;
    let mut a = a;
    while a > half_pi {
        a -= std::f64::consts::PI;
    }
    while a < -half_pi {
        a += std::f64::consts::PI;
    }
    a
}

fn tile(p: &Plane, x0: usize, y0: usize, w: usize, h: usize) -> Plane {
    let mut out = Plane::filled(w, h, 0.0);
    for y in 0..h {
        for x in 0..w {
            out.set(x, y, p.get(x0 + x, y0 + y));
        }
    }
    out
}

/// Detect the page's perspective on a darkness plane (255 − min channel) of the image
/// downscaled by `1 / scale` (`scale` = plane pixels per image pixel), near the page skew
/// `skew_rad`. `None` when the lines are parallel within [`MIN_CONVERGENCE_DEG`] or the
/// grid is too weak to tell.
pub fn detect(
    dark: &Plane,
    scale: f64,
    skew_rad: f32,
    image_w: u32,
    image_h: u32,
) -> Option<Rectification> {
    let (w, h) = (dark.w, dark.h);
    if w < 100 || h < 100 || scale.is_nan() || scale <= 0.0 {
        return None;
    }
    // Overlapping tiles, TILE_SPAN times the plain tile size, centres evenly spread: more
    // lines per tile give steadier angles (tuned on the separate `digitizer_tune` pages:
    // median 15.0 → 16 dB there from 1.0 to 1.3–1.6; 2.2 is worse, the direction varies
    // within a tile).
    let span = TILE_SPAN;
    let (tw, th) = (
        ((w as f64 / TILES as f64) * span).min(w as f64) as usize,
        ((h as f64 / TILES as f64) * span).min(h as f64) as usize,
    );
    let origin = |i: usize, size: usize, total: usize| -> usize {
        (i * total.saturating_sub(size)) / (TILES - 1)
    };
    let half = MAX_TILE_DEG.to_radians();
    let mut horizontal = Vec::new();
    let mut vertical = Vec::new();
    // Plane coordinates are normalised to the centre and half-diagonal for conditioning.
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let norm = (cx * cx + cy * cy).sqrt();
    for ty in 0..TILES {
        for tx in 0..TILES {
            let (ox, oy) = (origin(tx, tw, w), origin(ty, th, h));
            let t = tile(dark, ox, oy, tw, th);
            let x = ((ox as f64 + tw as f64 / 2.0) - cx) / norm;
            let y = ((oy as f64 + th as f64 / 2.0) - cy) / norm;
            let (a, q) = tile_angle(&t, skew_rad, half);
            horizontal.push(TileLine {
                x,
                y,
                angle: f64::from(a),
                weight: f64::from(q),
            });
            // Vertical lines x = c + y·tan(b) are horizontal in the transposed tile; a
            // page turned by `skew` turns its vertical lines by −skew in that frame.
            let (b, q) = tile_angle(&t.transposed(), -skew_rad, half);
            vertical.push(TileLine {
                x,
                y,
                angle: f64::from(b),
                weight: f64::from(q),
            });
        }
    }
    let keep = |lines: &mut Vec<TileLine>| {
        let best = lines.iter().map(|l| l.weight).fold(0.0f64, f64::max);
        lines.retain(|l| l.weight > 0.25 * best && l.weight > MIN_TILE_QUALITY);
    };
    keep(&mut horizontal);
    keep(&mut vertical);
    if horizontal.len() < 6 || vertical.len() < 6 {
        return None;
    }
    // Fit, drop the tiles that disagree most (text, table edges), fit again.
    let fit = |lines: &mut Vec<TileLine>, vert: bool| -> [f64; 3] {
        let mut v = vanishing_point(lines, vert);
        for _ in 0..2 {
            let mut res: Vec<f64> = lines
                .iter()
                .map(|l| (direction_at(v, l.x, l.y, vert, l.angle) - l.angle).abs())
                .collect();
            let mut sorted = res.clone();
            sorted.sort_by(f64::total_cmp);
            let limit = (3.0 * sorted.get(sorted.len() / 2).copied().unwrap_or(0.0))
                .max(0.3f64.to_radians());
            let mut i = 0;
            lines.retain(|_| {
                let ok = res[i] <= limit;
                i += 1;
                ok
            });
            res.clear();
            if lines.len() < 5 {
                break;
            }
            v = vanishing_point(lines, vert);
        }
        v
    };
    let vh = fit(&mut horizontal, false);
    let vv = fit(&mut vertical, true);
    if horizontal.len() < 5 || vertical.len() < 5 {
        return None;
    }
    // How much do the directions change over the page?
    let spread = |v: [f64; 3], vert: bool| -> f64 {
        let corners = [(-cx, -cy), (cx, -cy), (cx, cy), (-cx, cy)]
            .map(|(x, y)| direction_at(v, x / norm, y / norm, vert, 0.0));
        let lo = corners.iter().copied().fold(f64::MAX, f64::min);
        let hi = corners.iter().copied().fold(f64::MIN, f64::max);
        (hi - lo).to_degrees()
    };
    let convergence_deg = spread(vh, false).max(spread(vv, true));
    if !(MIN_CONVERGENCE_DEG..=40.0).contains(&convergence_deg) {
        return None;
    }
    // Projective part: send the line at infinity's image back to infinity.
    let l = [
        vh[1] * vv[2] - vh[2] * vv[1],
        vh[2] * vv[0] - vh[0] * vv[2],
        vh[0] * vv[1] - vh[1] * vv[0],
    ];
    if l[2].abs() < 1e-9 {
        return None;
    }
    let l = [l[0] / l[2], l[1] / l[2], 1.0];
    // Within the page (|x|, |y| ≤ 1) the map must not cross infinity.
    if l[0].abs() + l[1].abs() > 0.8 {
        return None;
    }
    let hp = Homography([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, l[0], l[1], l[2]]);
    // Affine part: the vanishing directions after `hp` become the axes.
    let dir = |v: [f64; 3], positive_x: bool| -> Option<[f64; 2]> {
        let m = &hp.0;
        let d = [
            m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
            m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
        ];
        let n = d[0].hypot(d[1]);
        if n < 1e-12 {
            return None;
        }
        let d = [d[0] / n, d[1] / n];
        let flip = if positive_x { d[0] < 0.0 } else { d[1] < 0.0 };
        Some(if flip { [-d[0], -d[1]] } else { d })
    };
    let (dh, dv) = (dir(vh, true)?, dir(vv, false)?);
    // A maps dh → (1, 0) and dv → (0, 1): A = [dh dv]⁻¹.
    let det = dh[0] * dv[1] - dv[0] * dh[1];
    if det.abs() < 0.3 {
        return None; // the families are far from perpendicular: not a grid
    }
    let affine = Homography([
        dv[1] / det,
        -dv[0] / det,
        0.0,
        -dh[1] / det,
        dh[0] / det,
        0.0,
        0.0,
        0.0,
        1.0,
    ]);
    // Image pixels → normalised plane coordinates.
    let s = scale / norm;
    let to_norm = Homography([s, 0.0, -cx / norm, 0.0, s, -cy / norm, 0.0, 0.0, 1.0]);
    let rect_norm = affine.compose(&hp).compose(&to_norm);
    // Output: the image's corners' bounding box, at about the source's pixel count.
    let (iw, ih) = (f64::from(image_w), f64::from(image_h));
    let corners = [[0.0, 0.0], [iw, 0.0], [iw, ih], [0.0, ih]];
    let mapped: Vec<[f64; 2]> = corners
        .iter()
        .filter_map(|c| rect_norm.apply(c[0], c[1]))
        .collect();
    if mapped.len() != 4 {
        return None;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for [x, y] in &mapped {
        x0 = x0.min(*x);
        y0 = y0.min(*y);
        x1 = x1.max(*x);
        y1 = y1.max(*y);
    }
    let area = (x1 - x0) * (y1 - y0);
    if !(area.is_finite() && area > 0.0) {
        return None;
    }
    // Keep the scale at the page centre: one normalised unit was `norm / scale` pixels.
    let k = norm / scale;
    let (ow, oh) = ((x1 - x0) * k, (y1 - y0) * k);
    if !(ow.is_finite() && oh.is_finite()) || ow * oh > 4.0 * iw * ih || ow < 50.0 || oh < 50.0 {
        return None;
    }
    let place = Homography([k, 0.0, -x0 * k, 0.0, k, -y0 * k, 0.0, 0.0, 1.0]);
    let from_source = place.compose(&rect_norm);
    let to_source = from_source.inverse()?;
    Some(Rectification {
        to_source,
        from_source,
        width: ow.round() as u32,
        height: oh.round() as u32,
        convergence_deg,
    })
}

/// Warp `rgb` by `to_source` into a `width × height` image (bilinear; `fill` outside).
pub fn warp(
    rgb: &RgbImage,
    to_source: &Homography,
    width: u32,
    height: u32,
    fill: [u8; 3],
) -> RgbImage {
    let (sw, sh) = (rgb.width(), rgb.height());
    let mut out = RgbImage::from_pixel(width, height, image::Rgb(fill));
    for (x, y, px) in out.enumerate_pixels_mut() {
        let Some([sx, sy]) = to_source.apply(f64::from(x), f64::from(y)) else {
            continue;
        };
        if !(sx >= 0.0 && sy >= 0.0 && sx <= f64::from(sw - 1) && sy <= f64::from(sh - 1)) {
            continue;
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(sw - 1), (y0 + 1).min(sh - 1));
        let (fx, fy) = ((sx - f64::from(x0)) as f32, (sy - f64::from(y0)) as f32);
        let (a, b, c, d) = (
            rgb.get_pixel(x0, y0),
            rgb.get_pixel(x1, y0),
            rgb.get_pixel(x0, y1),
            rgb.get_pixel(x1, y1),
        );
        for ch in 0..3 {
            let top = f32::from(a[ch]) + (f32::from(b[ch]) - f32::from(a[ch])) * fx;
            let bottom = f32::from(c[ch]) + (f32::from(d[ch]) - f32::from(c[ch])) * fx;
            px[ch] = (top + (bottom - top) * fy).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homography_from_correspondences_round_trips() {
        let from = [[0.0, 0.0], [100.0, 0.0], [100.0, 80.0], [0.0, 80.0]];
        let to = [[5.0, 3.0], [90.0, 8.0], [97.0, 77.0], [2.0, 70.0]];
        let h = Homography::from_correspondences(from, to).unwrap();
        for (f, t) in from.iter().zip(&to) {
            let p = h.apply(f[0], f[1]).unwrap();
            assert!(
                (p[0] - t[0]).abs() < 1e-6 && (p[1] - t[1]).abs() < 1e-6,
                "{p:?}"
            );
        }
        let inv = h.inverse().unwrap();
        let back = inv.apply(to[2][0], to[2][1]).unwrap();
        assert!((back[0] - 100.0).abs() < 1e-6 && (back[1] - 80.0).abs() < 1e-6);
    }

    #[test]
    fn vanishing_point_of_parallel_lines_is_at_infinity() {
        let lines: Vec<TileLine> = (0..5)
            .map(|i| TileLine {
                x: 0.1 * f64::from(i),
                y: 0.2 * f64::from(i) - 0.3,
                angle: 0.05,
                weight: 1.0,
            })
            .collect();
        let v = vanishing_point(&lines, false);
        assert!(v[2].abs() < 1e-6, "{v:?}");
        assert!((v[1] / v[0] - 0.05f64.tan()).abs() < 1e-6);
    }
}
