//! Separating the trace from the paper, finding the trace rows, and following one trace
//! through its lead box.
//!
//! - Ink: the trace is printed dark and unsaturated, while ECG grids are coloured (red,
//!   green, blue, brown) or lighter grey. The ink score is darkness minus twice the
//!   saturation spread, `255 − V − 2·(V − min(R,G,B))` (V = max channel), minus its local
//!   mean (removes shadows and creases), thresholded by Otsu's method (Otsu 1979) over
//!   the non-paper pixels. A grid that scores as ink too (grey, or greyed by a photo's
//!   colour temperature) is first removed by its periodicity ([`remove_periodic_grid`]).
//! - Rows: a row's isoelectric baseline is the height at which the most image columns
//!   have ink within ±1.5 mm ("coverage"); peaks of coverage are rows.
//! - Calibration pulse: a 1 mV rectangle at a row's start (a plateau of ink ≥ 3 mm above
//!   the baseline within the first 10 mm); its height gives the gain in mm/mV and its
//!   falling edge the start of the signal.
//! - Trace following: per image column, the vertical runs of ink in the lead box are
//!   candidates; a Viterbi path (dynamic programming over columns) picks the run sequence
//!   with the smallest total vertical gap, with a weak pull towards the baseline, which
//!   keeps the path on its own trace where neighbouring rows overlap; runs less than a
//!   line's thickness (≤ 0.6 mm) apart in a column count as one (grid lines cut steep
//!   strokes). Each column's value
//!   is the run's centre, or its outer edge at local peaks and troughs so that R and S
//!   waves keep their amplitude.
//!
//! Units: pixels of the deskewed working image unless a name says otherwise.

use crate::plane::Plane;

/// Ink score of one RGB pixel (0 = paper or coloured grid, 255 = black ink).
#[inline]
pub fn ink_score(r: u8, g: u8, b: u8) -> f32 {
    let v = f32::from(r.max(g).max(b));
    let m = f32::from(r.min(g).min(b));
    (255.0 - v - 2.0 * (v - m)).clamp(0.0, 255.0)
}

/// Least ink score (0–255) a printed grid must show at the darker tenth of its phases,
/// in the median tile, to be removed by [`remove_periodic_grid`]: a coloured grid on a
/// clean page scores 0 there, a grey one or a photo's greyed one 30–70.
const MIN_GRID_INK: f32 = 20.0;

/// Remove a printed grid that the ink score alone does not (a grey or dark grid, or a
/// coloured one greyed by a photo's colour temperature) by its periodicity; returns
/// whether it did.
///
/// The grid repeats every large square (`period_x` × `period_y` pixels, 5 mm) while the
/// trace does not, so within a tile of a few large squares the median ink score at each
/// phase of the square is the grid's own darkness there; a trace covers any one phase in
/// only a minority of the tile's squares. Thin lines drawn at a fraction of a pixel read
/// differently at each repeat, so the lines are also taken from the median at each
/// phase of one axis, in quarter-pixel steps; the grid is the darker of the two. Each
/// pixel keeps how much darker it is than the grid at its phase, relative to the room the
/// grid leaves (`255 · (v − g)/(255 − g)`), so a trace keeps its score where it crosses a
/// grid line. Tiles of a few squares follow a grid bent by wrinkles or a slightly wrong
/// scale.
///
/// Nothing is changed where the grid is not in the ink score (under [`MIN_GRID_INK`]) or
/// is no darker than the paper's texture (lines under twice the paper's ink), a period
/// is under 4 px, or the plane is smaller than two squares.
pub fn remove_periodic_grid(ink: &mut Plane, period_x: f32, period_y: f32) -> bool {
    const SQUARES_PER_TILE: usize = 6;
    const FINE: usize = 4;
    fn median(s: &mut [f32]) -> f32 {
        if s.is_empty() {
            return 0.0;
        }
        let mid = s.len() / 2;
        *s.select_nth_unstable_by(mid, f32::total_cmp).1
    }
    /// One tile: its pixel ranges and its grid at each phase.
    struct Tile {
        xs: std::ops::Range<usize>,
        ys: std::ops::Range<usize>,
        square: Vec<f32>,
        lines_x: Vec<f32>,
        lines_y: Vec<f32>,
    }
    if !(period_x.is_finite() && period_y.is_finite() && period_x >= 4.0 && period_y >= 4.0) {
        return false;
    }
    let (w, h) = (ink.w, ink.h);
    let bins_x = period_x.round() as usize;
    let bins_y = period_y.round() as usize;
    if w < 2 * bins_x || h < 2 * bins_y || ink.data.len() != w * h {
        return false;
    }
    // Tiles of SQUARES_PER_TILE squares; the last of each axis takes a short remainder.
    let spans = |n: usize, tile: usize| -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < n {
            let end = if n - start < tile + tile / 2 {
                n
            } else {
                start + tile
            };
            out.push(start..end);
            start = end;
        }
        out
    };
    let phase = |i: usize, period: f32, bins: usize| -> usize {
        let f = (i as f32 / period).fract();
        ((f * bins as f32) as usize).min(bins - 1)
    };
    let col_bin: Vec<usize> = (0..w).map(|x| phase(x, period_x, bins_x)).collect();
    let row_bin: Vec<usize> = (0..h).map(|y| phase(y, period_y, bins_y)).collect();
    let fine_col: Vec<usize> = (0..w).map(|x| phase(x, period_x, FINE * bins_x)).collect();
    let fine_row: Vec<usize> = (0..h).map(|y| phase(y, period_y, FINE * bins_y)).collect();
    let mut square_samples: Vec<Vec<f32>> = vec![Vec::new(); bins_x * bins_y];
    let mut x_samples: Vec<Vec<f32>> = vec![Vec::new(); FINE * bins_x];
    let mut y_samples: Vec<Vec<f32>> = vec![Vec::new(); FINE * bins_y];
    let mut tiles = Vec::new();
    for ys in spans(h, bins_y * SQUARES_PER_TILE) {
        for xs in spans(w, bins_x * SQUARES_PER_TILE) {
            for s in square_samples
                .iter_mut()
                .chain(&mut x_samples)
                .chain(&mut y_samples)
            {
                s.clear();
            }
            for y in ys.clone() {
                let row = &ink.data[y * w..(y + 1) * w];
                let rb = row_bin[y] * bins_x;
                for x in xs.clone() {
                    let v = row[x];
                    square_samples[rb + col_bin[x]].push(v);
                    x_samples[fine_col[x]].push(v);
                    y_samples[fine_row[y]].push(v);
                }
            }
            tiles.push(Tile {
                xs: xs.clone(),
                ys: ys.clone(),
                square: square_samples.iter_mut().map(|s| median(s)).collect(),
                lines_x: x_samples.iter_mut().map(|s| median(s)).collect(),
                lines_y: y_samples.iter_mut().map(|s| median(s)).collect(),
            });
        }
    }
    // The grid's ink: the darker tenth of a tile's phases, and the paper's, the median
    // phase, each in the median tile. A grid is lines on paper: the lines at least
    // twice as dark as the paper between them (a page of noise or texture is as dark at
    // every phase).
    let median_tile = |q: f32| -> f32 {
        let mut v: Vec<f32> = tiles
            .iter()
            .map(|t| {
                let mut v = t.square.clone();
                v.sort_by(f32::total_cmp);
                v[((v.len() as f32 * q) as usize).min(v.len() - 1)]
            })
            .collect();
        v.sort_by(f32::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let (lines, paper) = (median_tile(0.9), median_tile(0.5));
    if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
        eprintln!("grid in the ink: lines {lines:.0}, paper {paper:.0} (removed from {MIN_GRID_INK} on lines twice the paper)");
    }
    if lines < MIN_GRID_INK || lines < 2.0 * paper {
        return false;
    }
    for t in &tiles {
        for y in t.ys.clone() {
            let rb = row_bin[y] * bins_x;
            let line_y = t.lines_y[fine_row[y]];
            let row = &mut ink.data[y * w..(y + 1) * w];
            for x in t.xs.clone() {
                let g = t.square[rb + col_bin[x]]
                    .max(line_y)
                    .max(t.lines_x[fine_col[x]])
                    .clamp(0.0, 254.0);
                row[x] = (255.0 * (row[x] - g) / (255.0 - g)).max(0.0);
            }
        }
    }
    true
}

/// Otsu threshold of the values above `floor` (256-bin histogram over 0–255).
fn otsu(values: &[f32], floor: f32) -> Option<f32> {
    let mut hist = [0u64; 256];
    let mut n = 0u64;
    for v in values {
        if *v > floor {
            hist[(v.clamp(0.0, 255.0)) as usize] += 1;
            n += 1;
        }
    }
    if n < 16 {
        return None;
    }
    let total: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, c)| i as f64 * *c as f64)
        .sum();
    let (mut w0, mut sum0) = (0.0f64, 0.0f64);
    let mut best = (0.0f64, 0usize);
    for (i, c) in hist.iter().enumerate() {
        w0 += *c as f64;
        sum0 += i as f64 * *c as f64;
        let w1 = n as f64 - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let m0 = sum0 / w0;
        let m1 = (total - sum0) / w1;
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best.0 {
            best = (between, i);
        }
    }
    Some(best.1 as f32 + 0.5)
}

/// Otsu threshold of a `w`×`h` contrast plane's values above `floor`, solid blocks left
/// out.
///
/// A filled block (a redaction bar over the patient's name, a logo, a black label box) is
/// far darker than a thin printed trace; on a page whose trace is faint, its pixels form
/// the upper class of Otsu's split, which then falls between trace and block and cuts the
/// trace into dashes. Blocks are found on cells of about half a millimetre: a square of
/// 2×2 cells each at least 90 % above a first split is a block's core (a printed trace, a
/// line well under a millimetre thick, never fills one). The cores and the cells around
/// them (the blocks' blurred rims) are left out of the histogram for the second split,
/// which is kept where it is the lower.
fn otsu_without_blocks(
    contrast: &[f32],
    w: usize,
    h: usize,
    px_per_mm: f32,
    floor: f32,
) -> Option<f32> {
    let first = otsu(contrast, floor)?;
    if contrast.len() != w * h || w == 0 {
        return Some(first);
    }
    let c = (0.5 * px_per_mm).round().max(1.0) as usize;
    let (cw, ch) = (w.div_ceil(c), h.div_ceil(c));
    let mut filled = vec![0u32; cw * ch];
    for (y, row) in contrast.chunks_exact(w).enumerate() {
        let cells = &mut filled[(y / c) * cw..(y / c + 1) * cw];
        for (x, v) in row.iter().enumerate() {
            cells[x / c] += u32::from(*v > first);
        }
    }
    let full = |cx: usize, cy: usize| {
        let area = c.min(w - cx * c) * c.min(h - cy * c);
        filled[cy * cw + cx] as f32 >= 0.9 * area as f32
    };
    let mut near = vec![false; cw * ch];
    let mut any = false;
    for cy in 0..ch.saturating_sub(1) {
        for cx in 0..cw.saturating_sub(1) {
            if full(cx, cy) && full(cx + 1, cy) && full(cx, cy + 1) && full(cx + 1, cy + 1) {
                any = true;
                for ny in cy.saturating_sub(1)..(cy + 3).min(ch) {
                    for nx in cx.saturating_sub(1)..(cx + 3).min(cw) {
                        near[ny * cw + nx] = true;
                    }
                }
            }
        }
    }
    if !any {
        return Some(first);
    }
    let kept: Vec<f32> = contrast
        .chunks_exact(w)
        .enumerate()
        .flat_map(|(y, row)| {
            let cells = &near[(y / c) * cw..(y / c + 1) * cw];
            row.iter()
                .enumerate()
                .filter(move |(x, _)| !cells[x / c])
                .map(|(_, v)| *v)
        })
        .collect();
    let second = otsu(&kept, floor);
    if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
        eprintln!(
            "otsu {first} → {second:?} without {} block pixels",
            contrast.len() - kept.len()
        );
    }
    // Blocks only ever pull the split up past a faint trace; where leaving them out
    // raises it, they were not what set it.
    Some(second.map_or(first, |s| s.min(first)))
}

/// Most of a page the normal ink mask may cover.
const MAX_INK_SHARE: f32 = 0.03;

/// Most of a page the sensitive ink mask may cover: above it, the mask holds a page of
/// noise or texture, not a faint trace.
pub const MAX_SENSITIVE_INK_SHARE: f32 = 0.12;

/// Share of a mask's pixels that are ink.
pub fn ink_share(mask: &Mask) -> f32 {
    mask.ink.iter().filter(|v| **v).count() as f32 / mask.ink.len().max(1) as f32
}

/// The `q` quantile of values clamped to 0–255 (256-bin histogram).
fn quantile_255(values: &[f32], q: f32) -> f32 {
    let mut hist = [0u64; 256];
    for v in values {
        hist[v.clamp(0.0, 255.0) as usize] += 1;
    }
    let target = (q.clamp(0.0, 1.0) * values.len() as f32) as u64;
    let mut acc = 0u64;
    for (i, c) in hist.iter().enumerate() {
        acc += c;
        if acc > target {
            return i as f32 + 0.5;
        }
    }
    255.0
}

/// A binary ink mask, row-major.
#[derive(Debug, Clone)]
pub struct Mask {
    pub w: usize,
    pub h: usize,
    pub ink: Vec<bool>,
}

impl Mask {
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> bool {
        x < self.w && y < self.h && self.ink.get(y * self.w + x).copied().unwrap_or(false)
    }
}

/// Ink mask of an ink-score plane; `px_per_mm` sets the background window.
///
/// `sensitive` is the fallback for faint traces (low resolution, blur): it removes grid
/// lines, halves the threshold and then grows the mask by hysteresis (Canny 1986): pixels above half that threshold join when
/// they touch the mask, which closes the gaps a thin blurred trace leaves, at some cost
/// in precision on clean pages.
pub fn ink_mask(ink: &Plane, px_per_mm: f32, sensitive: bool) -> Mask {
    ink_mask_with(ink, px_per_mm, sensitive, false)
}

/// [`ink_mask`]; with `grow`, the normal mask of a clean page (under 2 % ink) also takes
/// fainter pixels (above half its threshold) connected to it.
pub fn ink_mask_with(ink: &Plane, px_per_mm: f32, sensitive: bool, grow: bool) -> Mask {
    let mut contrast = local_contrast(ink, px_per_mm);
    let mut mask = if sensitive {
        suppress_grid_lines(&mut contrast, ink.w, ink.h);
        // Half of Otsu's split keeps faint (thin, blurred) trace pixels that solid text
        // would otherwise push below the threshold.
        let high = |split: Option<f32>| (0.5 * split.unwrap_or(100.0)).clamp(30.0, 120.0);
        let plain = high(otsu(&contrast, 20.0));
        let lowered = high(otsu_without_blocks(
            &contrast, ink.w, ink.h, px_per_mm, 20.0,
        ));
        let mask = hysteresis(&contrast, ink.w, ink.h, lowered, 0.5 * lowered);
        // The split without solid blocks, unless it lets in more than a sensitive mask
        // may hold (then the page's noise, not a faint trace, was below the plain split).
        if lowered < plain && ink_share(&mask) >= MAX_SENSITIVE_INK_SHARE {
            hysteresis(&contrast, ink.w, ink.h, plain, 0.5 * plain)
        } else {
            mask
        }
    } else {
        let (mut threshold, share) = otsu_split(&contrast, ink.w, ink.h, px_per_mm);
        // Traces and text cover a few per cent of a page; when Otsu's split lets far more
        // through, it has split paper from grid (a photo's grid, greyed by its colour
        // temperature), not grid from ink: take the darkest share instead.
        if share > MAX_INK_SHARE {
            threshold = threshold.max(quantile_255(&contrast, 1.0 - MAX_INK_SHARE));
        }
        if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
            eprintln!("ink share {share:.3} threshold {threshold}");
        }
        if grow && share < 0.02 {
            // Low resolution: thin steep strokes (QRS) are faint after upsampling; grow the
            // mask into fainter pixels that touch it (hysteresis) — on clean pages only,
            // where little besides trace and text passes Otsu's split (on noisy photos
            // the growth takes the noise).
            hysteresis(&contrast, ink.w, ink.h, threshold, 0.5 * threshold)
        } else {
            Mask {
                w: ink.w,
                h: ink.h,
                ink: contrast.iter().map(|v| *v > threshold).collect(),
            }
        }
    };
    remove_long_straight_lines(&mut mask, (30.0 * px_per_mm).round() as usize);
    mask
}

/// Each pixel's ink score above the mean of the 3 mm around it (shadows and creases
/// removed), never below 0.
fn local_contrast(ink: &Plane, px_per_mm: f32) -> Vec<f32> {
    let r = (3.0 * px_per_mm).round().max(2.0) as usize;
    let background = ink.box_mean(r);
    ink.data
        .iter()
        .zip(&background.data)
        .map(|(v, b)| (v - b).max(0.0))
        .collect()
}

/// Otsu's split of a contrast plane (held to 50–160) and the share of pixels above it.
fn otsu_split(contrast: &[f32], w: usize, h: usize, px_per_mm: f32) -> (f32, f32) {
    let threshold = otsu_without_blocks(contrast, w, h, px_per_mm, 25.0)
        .unwrap_or(100.0)
        .clamp(50.0, 160.0);
    let share =
        contrast.iter().filter(|v| **v > threshold).count() as f32 / contrast.len().max(1) as f32;
    (threshold, share)
}

/// Pixels above `high`, plus those above `low` 8-connected to them.
fn hysteresis(values: &[f32], w: usize, h: usize, high: f32, low: f32) -> Mask {
    let mut ink: Vec<bool> = values.iter().map(|v| *v > high).collect();
    let mut stack: Vec<usize> = (0..ink.len()).filter(|&i| ink[i]).collect();
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w.max(1), i / w.max(1));
        for dy in -1isize..=1 {
            for dx in -1isize..=1 {
                let (nx, ny) = (x as isize + dx, y as isize + dy);
                if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if let (Some(false), Some(v)) = (ink.get(j).copied(), values.get(j)) {
                    if *v > low {
                        ink[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
    }
    Mask { w, h, ink }
}

/// Subtract from every pixel the 20th percentile of its row and of its column: a grid
/// line darkens (nearly) its whole row or column, a trace only a small part, so this
/// removes dark grid lines (grey grids, after deskew) and keeps the trace.
fn suppress_grid_lines(contrast: &mut [f32], w: usize, h: usize) {
    fn low_percentile(values: impl Iterator<Item = f32>, n: usize) -> f32 {
        let mut hist = [0u32; 256];
        for v in values {
            hist[v.clamp(0.0, 255.0) as usize] += 1;
        }
        let target = (n / 5) as u32;
        let mut acc = 0u32;
        for (i, c) in hist.iter().enumerate() {
            acc += c;
            if acc > target {
                return i as f32;
            }
        }
        0.0
    }
    if w == 0 || h == 0 || contrast.len() != w * h {
        return;
    }
    let rows: Vec<f32> = contrast
        .chunks_exact(w)
        .map(|row| low_percentile(row.iter().copied(), w))
        .collect();
    let cols: Vec<f32> = (0..w)
        .map(|x| low_percentile(contrast.iter().skip(x).step_by(w).copied(), h))
        .collect();
    for (y, row) in contrast.chunks_exact_mut(w).enumerate() {
        let ry = rows[y];
        for (v, cx) in row.iter_mut().zip(&cols) {
            *v = (*v - ry.max(*cx)).max(0.0);
        }
    }
}

/// Clear perfectly straight horizontal or vertical ink runs of at least `min_len`
/// pixels: page borders, boxes and dark grid lines, never an ECG trace (which is not
/// flat to the pixel for 1.2 s, nor vertical for 3 mV).
fn remove_long_straight_lines(mask: &mut Mask, min_len: usize) {
    let min_len = min_len.max(8);
    let (w, h) = (mask.w, mask.h);
    let mut clear = Vec::new();
    for y in 0..h {
        let mut x = 0;
        while x < w {
            if mask.at(x, y) {
                let start = x;
                while x < w && mask.at(x, y) {
                    x += 1;
                }
                if x - start >= min_len {
                    clear.extend((start..x).map(|xx| y * w + xx));
                }
            } else {
                x += 1;
            }
        }
    }
    for x in 0..w {
        let mut y = 0;
        while y < h {
            if mask.at(x, y) {
                let start = y;
                while y < h && mask.at(x, y) {
                    y += 1;
                }
                if y - start >= min_len {
                    clear.extend((start..y).map(|yy| yy * w + x));
                }
            } else {
                y += 1;
            }
        }
    }
    for i in clear {
        if let Some(p) = mask.ink.get_mut(i) {
            *p = false;
        }
    }
}

/// A trace row found on the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Baseline (isoelectric line) height, pixels.
    pub baseline_y: f32,
    /// Fraction of image columns with ink near the baseline.
    pub coverage: f32,
    /// First and last column of the row's trace.
    pub left_x: usize,
    pub right_x: usize,
}

/// Coverage per image row: how many columns have ink within ±`half` rows.
pub fn coverage(mask: &Mask, half: usize) -> Vec<f32> {
    let mut count = vec![0u32; mask.w];
    let mut cov = vec![0.0f32; mask.h];
    let add_row = |count: &mut [u32], y: usize, delta: i32| {
        for (x, c) in count.iter_mut().enumerate() {
            if mask.at(x, y) {
                *c = c.saturating_add_signed(delta);
            }
        }
    };
    for y in 0..half.min(mask.h) {
        add_row(&mut count, y, 1);
    }
    for (y, out) in cov.iter_mut().enumerate() {
        if y + half < mask.h {
            add_row(&mut count, y + half, 1);
        }
        if y > half {
            add_row(&mut count, y - half - 1, -1);
        }
        *out = count.iter().filter(|c| **c > 0).count() as f32 / mask.w.max(1) as f32;
    }
    cov
}

/// Find trace rows: peaks of coverage at least `min_sep_px` apart.
pub fn find_rows(mask: &Mask, px_per_mm_y: f32) -> Vec<Row> {
    let half = (1.5 * px_per_mm_y).round().max(1.0) as usize;
    let cov = coverage(mask, half);
    let max = cov.iter().copied().fold(0.0f32, f32::max);
    if max <= 0.0 {
        return Vec::new();
    }
    let min_sep = (8.0 * px_per_mm_y).round().max(3.0) as usize;
    let mut peaks: Vec<usize> = Vec::new();
    for y in 0..cov.len() {
        let v = cov[y];
        if v < 0.4 * max {
            continue;
        }
        let lo = y.saturating_sub(min_sep);
        let hi = (y + min_sep).min(cov.len() - 1);
        let window = &cov[lo..=hi];
        let is_max = window.iter().enumerate().all(|(i, w)| {
            let yy = lo + i;
            *w < v || (*w == v && yy >= y)
        });
        if is_max {
            peaks.push(y);
        }
    }
    let mut rows: Vec<Row> = peaks
        .iter()
        .map(|&y| {
            // Centre of the plateau of near-peak coverage.
            let v = cov[y];
            let mut a = y;
            while a > 0 && cov[a - 1] >= 0.97 * v {
                a -= 1;
            }
            let mut b = y;
            while b + 1 < cov.len() && cov[b + 1] >= 0.97 * v {
                b += 1;
            }
            let baseline_y = (a + b) as f32 / 2.0;
            let (left_x, right_x) = row_extent(mask, baseline_y, px_per_mm_y);
            Row {
                baseline_y,
                coverage: v,
                left_x,
                right_x,
            }
        })
        .collect();
    let widest = rows
        .iter()
        .map(|r| r.right_x.saturating_sub(r.left_x))
        .max()
        .unwrap_or(0);
    rows.retain(|r| r.right_x.saturating_sub(r.left_x) * 2 >= widest && widest > 0);
    rows
}

/// Choose the trace rows among candidates (sorted by height): the longest run of
/// consecutive rows with even spacing (each gap within ±15 % of the run's median gap),
/// ties broken by total coverage. Header text and stray marks break the even spacing of
/// printed rows, so they fall outside. With `want`, the best run of exactly that many
/// rows is chosen (None when there are fewer candidates).
///
/// Printers often set the rhythm strips under a 3×4 block closer or farther than the
/// block's own rows (0.6–1.3 times its spacing on the real printouts here), so when the
/// evenly spaced run is a 3-row block, up to two rows right below it are added as rhythm
/// strips if they look like one: gap 0.5–1.35 times the block's, as wide as the block
/// (80 %), and as well covered by ink (80 % of the block's weakest row).
pub fn select_rows(rows: &[Row], want: Option<usize>) -> Option<Vec<Row>> {
    let mut even = select_even_rows(rows, want.filter(|&k| k <= 3))?;
    if even.len() >= 5 {
        even = fill_missing_rows(rows, &even);
    }
    if matches!(even.len(), 5 | 11) {
        even = complete_block(rows, &even);
    }
    let strips_allowed = match even.len() {
        3 => 3,
        6 | 12 => 1,
        _ => 0,
    };
    if strips_allowed == 0 || want == Some(even.len()) {
        return if want.is_none_or(|k| k == even.len()) {
            Some(even)
        } else {
            select_even_rows(rows, want)
        };
    }
    let last = even.len() - 1;
    let block_gap = (even[last].baseline_y - even[0].baseline_y) / last as f32;
    let width = |r: &Row| r.right_x.saturating_sub(r.left_x) as f32;
    let block_width = even.iter().map(width).fold(f32::MAX, f32::min);
    let block_cov = even
        .iter()
        .filter(|r| r.coverage > 0.0)
        .map(|r| r.coverage)
        .fold(f32::MAX, f32::min);
    let mut out = even.clone();
    for r in rows.iter().filter(|r| r.baseline_y > even[last].baseline_y) {
        if out.len() == even.len() + strips_allowed || want.is_some_and(|k| out.len() == k) {
            break;
        }
        let gap = r.baseline_y - out[out.len() - 1].baseline_y;
        let strip = (0.5..=1.35).contains(&(gap / block_gap))
            && width(r) >= 0.8 * block_width
            && r.coverage >= 0.8 * block_cov;
        if !strip {
            break;
        }
        out.push(*r);
    }
    if want.is_none_or(|k| k == out.len()) {
        Some(out)
    } else {
        select_even_rows(rows, want)
    }
}

/// A run one row short of a 6- or 12-row block takes the candidate just above (or else
/// below) it when that lies 0.75–1.3 gaps away: tall complexes pull a row's coverage peak
/// off its baseline. The row is moved to one gap from the run.
fn complete_block(rows: &[Row], run: &[Row]) -> Vec<Row> {
    let n = run.len();
    let gap = (run[n - 1].baseline_y - run[0].baseline_y) / (n - 1) as f32;
    let ok = |d: f32| (0.75..=1.3).contains(&(d / gap));
    let mut out = run.to_vec();
    if let Some(r) = rows
        .iter()
        .rev()
        .find(|r| r.baseline_y < run[0].baseline_y - 0.3 * gap)
    {
        if ok(run[0].baseline_y - r.baseline_y) {
            out.insert(
                0,
                Row {
                    baseline_y: run[0].baseline_y - gap,
                    ..*r
                },
            );
            return out;
        }
    }
    if let Some(r) = rows
        .iter()
        .find(|r| r.baseline_y > run[n - 1].baseline_y + 0.3 * gap)
    {
        if ok(r.baseline_y - run[n - 1].baseline_y) {
            out.push(Row {
                baseline_y: run[n - 1].baseline_y + gap,
                ..*r
            });
        }
    }
    out
}

/// Extend an evenly spaced run of rows over single missing rows: where the next
/// candidate above or below lies two gaps away (±10 %), a row is assumed midway (a flat
/// or faint trace whose coverage peak was lost among tall neighbours). Coverage 0 marks
/// such a row.
fn fill_missing_rows(rows: &[Row], run: &[Row]) -> Vec<Row> {
    let mut out = run.to_vec();
    let n = out.len();
    if n < 2 {
        return out;
    }
    let gap = (out[n - 1].baseline_y - out[0].baseline_y) / (n - 1) as f32;
    // Inside the run nothing is missing (it is evenly spaced); look past its ends.
    loop {
        let last = out[out.len() - 1];
        let next = rows
            .iter()
            .find(|r| r.baseline_y > last.baseline_y + 0.3 * gap);
        match next {
            Some(r) if ((r.baseline_y - last.baseline_y) / gap - 2.0).abs() <= 0.1 => {
                out.push(Row {
                    baseline_y: last.baseline_y + gap,
                    coverage: 0.0,
                    ..last
                });
                out.push(*r);
            }
            Some(r)
                if ((r.baseline_y - last.baseline_y) / gap - 1.0).abs() <= 0.1 && out.len() > n =>
            {
                out.push(*r);
            }
            _ => break,
        }
    }
    loop {
        let first = out[0];
        let prev = rows
            .iter()
            .rev()
            .find(|r| r.baseline_y < first.baseline_y - 0.3 * gap);
        match prev {
            Some(r) if ((first.baseline_y - r.baseline_y) / gap - 2.0).abs() <= 0.1 => {
                out.insert(
                    0,
                    Row {
                        baseline_y: first.baseline_y - gap,
                        coverage: 0.0,
                        ..first
                    },
                );
                out.insert(0, *r);
            }
            Some(r)
                if ((first.baseline_y - r.baseline_y) / gap - 1.0).abs() <= 0.1
                    && out.len() > n =>
            {
                out.insert(0, *r);
            }
            _ => break,
        }
    }
    out
}

/// The evenly spaced run of [`select_rows`] without the rhythm-strip rule.
///
/// Runs are taken of consecutive candidates, and also of the strong candidates alone
/// (coverage at least half the best row's), so that a weak peak between two rows (the
/// tall complexes of a row reaching towards the next, or a faint label) does not break
/// the run: the better-scoring run is kept (the run of all candidates on a tie). A run of
/// strong candidates counts only when it has three rows or more and the candidates it
/// skips break the even spacing: a weak candidate that keeps it is a faint row of the
/// page (every second row of a finer run is evenly spaced too).
fn select_even_rows(rows: &[Row], want: Option<usize>) -> Option<Vec<Row>> {
    // Rows well below the best row's coverage (grid lines or texture taken for ink on a
    // photo) count for little: a run scores the sum of its rows' coverage above half the
    // best row's, then its length.
    let max_cov = rows.iter().map(|r| r.coverage).fold(0.0f32, f32::max);
    let all = best_even_run(rows, want, max_cov);
    let strong: Vec<Row> = rows
        .iter()
        .filter(|r| r.coverage >= 0.5 * max_cov)
        .copied()
        .collect();
    let skips_only_strays = |run: &[Row]| {
        let (first, last) = (run[0].baseline_y, run[run.len() - 1].baseline_y);
        let span: Vec<Row> = rows
            .iter()
            .filter(|r| (first..=last).contains(&r.baseline_y))
            .copied()
            .collect();
        run.len() >= 3 && !evenly_spaced(&span)
    };
    let skipping = if strong.len() < rows.len() {
        best_even_run(&strong, want, max_cov).filter(|(_, run)| skips_only_strays(run))
    } else {
        None
    };
    match (all, skipping) {
        (Some(a), Some(s)) if s.0 > a.0 + 1e-6 => Some(s.1),
        (a, s) => a.or(s).map(|(_, run)| run),
    }
}

/// Whether rows are evenly spaced: each gap within ±15 % of their median gap (two rows or
/// fewer always are).
fn evenly_spaced(run: &[Row]) -> bool {
    if run.len() < 3 {
        return true;
    }
    let mut gaps: Vec<f32> = run
        .windows(2)
        .map(|w| w[1].baseline_y - w[0].baseline_y)
        .collect();
    gaps.sort_by(f32::total_cmp);
    let median = gaps[gaps.len() / 2];
    gaps.iter().all(|g| (g / median - 1.0).abs() <= 0.15)
}

/// The best run of consecutive `rows` with even spacing ([`evenly_spaced`]) and its score (the sum of its rows' coverage above half of
/// `max_cov`; longer runs win ties).
fn best_even_run(rows: &[Row], want: Option<usize>, max_cov: f32) -> Option<(f32, Vec<Row>)> {
    let n = rows.len();
    if n == 0 {
        return None;
    }
    let mut best: Option<(f32, usize, usize)> = None; // (score, len, start)
    for start in 0..n {
        for end in start + 1..=n {
            let run = &rows[start..end];
            let len = run.len();
            if want.is_some_and(|k| k != len) || !evenly_spaced(run) {
                continue;
            }
            let score: f32 = run.iter().map(|r| r.coverage - 0.5 * max_cov).sum();
            let better = match best {
                None => true,
                Some((bs, bl, _)) => score > bs + 1e-6 || ((score - bs).abs() <= 1e-6 && len > bl),
            };
            if better {
                best = Some((score, len, start));
            }
        }
    }
    best.map(|(score, len, start)| (score, rows[start..start + len].to_vec()))
}

/// Leftmost and rightmost column where the row's band holds ink densely.
pub fn row_extent(mask: &Mask, baseline_y: f32, px_per_mm: f32) -> (usize, usize) {
    let band = (4.0 * px_per_mm).round() as isize;
    let b = baseline_y.round() as isize;
    let has: Vec<bool> = (0..mask.w)
        .map(|x| (b - band..=b + band).any(|y| y >= 0 && mask.at(x, y as usize)))
        .collect();
    let win = (5.0 * px_per_mm).round().max(2.0) as usize;
    let dense = |start: usize, forward: bool| -> bool {
        let mut n = 0;
        for i in 0..win {
            let x = if forward {
                start + i
            } else {
                match start.checked_sub(i) {
                    Some(x) => x,
                    None => break,
                }
            };
            if has.get(x).copied().unwrap_or(false) {
                n += 1;
            }
        }
        n * 2 >= win
    };
    let left = (0..mask.w).find(|&x| has[x] && dense(x, true)).unwrap_or(0);
    let right = (0..mask.w)
        .rev()
        .find(|&x| has[x] && dense(x, false))
        .unwrap_or(0);
    (left, right.max(left))
}

/// Vertical ink runs `[top, bottom]` (inclusive) in column `x` within `[y0, y1]`.
fn runs_in_column(mask: &Mask, x: usize, y0: usize, y1: usize, out: &mut Vec<(usize, usize)>) {
    out.clear();
    let mut start: Option<usize> = None;
    for y in y0..=y1.min(mask.h.saturating_sub(1)) {
        match (mask.at(x, y), start) {
            (true, None) => start = Some(y),
            (false, Some(s)) => {
                out.push((s, y - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, y1.min(mask.h.saturating_sub(1))));
    }
}

/// Merge runs (sorted, inclusive) separated by at most `gap` empty rows.
fn close_gaps(runs: &mut Vec<(usize, usize)>, gap: usize) {
    if gap == 0 || runs.len() < 2 {
        return;
    }
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(runs.len());
    for &r in runs.iter() {
        match out.last_mut() {
            Some(last) if r.0 <= last.1 + gap + 1 => last.1 = last.1.max(r.1),
            _ => out.push(r),
        }
    }
    *runs = out;
}

/// Typical trace thickness: median length of short runs near the rows' baselines.
pub fn line_thickness(mask: &Mask, rows: &[Row]) -> f32 {
    let mut lens = Vec::new();
    let mut runs = Vec::new();
    for row in rows {
        let y = row.baseline_y.round() as usize;
        let (y0, y1) = (y.saturating_sub(6), y + 6);
        for x in (row.left_x..=row.right_x).step_by(3) {
            runs_in_column(mask, x, y0, y1, &mut runs);
            for (a, b) in &runs {
                if *a > y0 && *b < y1 {
                    lens.push(b - a + 1);
                }
            }
        }
    }
    lens.sort_unstable();
    lens.get(lens.len() / 2).map_or(2.0, |v| *v as f32)
}

/// A detected calibration pulse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pulse {
    /// Height above the baseline, pixels (1 mV).
    pub height_px: f32,
    /// First column after the pulse (where the signal starts).
    pub end_x: usize,
    /// Distance between its rising and falling edges, pixels (0.2 s on most carts).
    pub width_px: f32,
}

/// Look for a 1 mV calibration rectangle near the start of `row`: a flat top 2.5–25 mm
/// above the baseline, at least 1.5 mm long, with vertical ink edges down to the baseline
/// at both ends.
pub fn find_pulse(
    mask: &Mask,
    row: &Row,
    px_per_mm: f32,
    thickness: f32,
    up_limit_px: f32,
) -> Option<Pulse> {
    let b = row.baseline_y;
    let from = (row.left_x as f32 - 15.0 * px_per_mm).max(0.0) as usize;
    let to = ((row.left_x as f32 + 10.0 * px_per_mm) as usize).min(mask.w);
    let top_lo = (b - up_limit_px.min(25.0 * px_per_mm)).max(0.0) as usize;
    let top_hi = (b - 2.5 * px_per_mm).max(0.0) as usize;
    if top_hi <= top_lo || to <= from {
        return None;
    }
    // Per column, the topmost ink of the band (a pulse's plateau, with a lead label
    // printed inside the pulse below it); where that finds no pulse, the top of the first
    // ink met going up from the baseline (a label or the row above printed over the
    // pulse, in the same band).
    let topmost: Vec<Option<usize>> = (from..to)
        .map(|x| (top_lo..=top_hi).find(|&y| mask.at(x, y)))
        .collect();
    let from_below: Vec<Option<usize>> = (from..to)
        .map(|x| {
            let mut top = (top_lo..=top_hi).rev().find(|&y| mask.at(x, y))?;
            while top > top_lo && mask.at(x, top - 1) {
                top -= 1;
            }
            Some(top)
        })
        .collect();
    let tol = 1 + (thickness / 2.0) as usize;
    // Fraction of the rows between `top` and the baseline holding ink near column x.
    let edge = |x: usize, top: usize| -> f32 {
        let bottom = b.round() as usize;
        if bottom <= top {
            return 0.0;
        }
        let hits = (top..bottom)
            .filter(|&y| (x.saturating_sub(tol)..=x + tol).any(|xx| mask.at(xx, y)))
            .count();
        hits as f32 / (bottom - top) as f32
    };
    let min_len = (1.5 * px_per_mm).round().max(2.0) as usize;
    let plateau = |tops: &[Option<usize>]| -> Option<Pulse> {
        let mut i = 0;
        while i < tops.len() {
            let Some(t0) = tops[i] else {
                i += 1;
                continue;
            };
            let mut j = i;
            while j + 1 < tops.len() {
                match tops[j + 1] {
                    Some(t) if t.abs_diff(t0) <= tol => j += 1,
                    _ => break,
                }
            }
            let (xa, xb) = (from + i, from + j);
            if j + 1 - i >= min_len && edge(xa, t0) > 0.8 && edge(xb, t0) > 0.8 {
                let run: Vec<usize> = tops[i..=j].iter().flatten().copied().collect();
                let mean_top = run.iter().sum::<usize>() as f32 / run.len().max(1) as f32;
                let height_px = b - (mean_top + thickness / 2.0 - 0.5);
                // The signal starts at the falling edge's centre.
                let end_x = xb.saturating_sub((thickness / 2.0) as usize);
                return Some(Pulse {
                    height_px,
                    end_x,
                    width_px: (xb - xa) as f32,
                });
            }
            i = j + 1;
        }
        None
    };
    plateau(&topmost).or_else(|| plateau(&from_below))
}

/// Look for the calibration pulse in the trace itself, where [`find_pulse`] finds none
/// because other ink (a dark grid in the mask, shading) lies over the pulse's band:
/// follow the row's start (columns `from_x..to_x`) and look for a flat top 4.5–25 mm
/// above the baseline (5 mm/mV and up: lower bumps are too easily a wave), 1.5–12 mm
/// long, that falls back to the baseline within 1 mm.
pub fn pulse_in_trace(
    mask: &Mask,
    row: &Row,
    (from_x, to_x): (f32, f32),
    px_per_mm: f32,
    thickness: f32,
    up_limit_px: f32,
) -> Option<Pulse> {
    let b = row.baseline_y;
    let x0 = from_x.max(0.0) as usize;
    let x1 = (to_x.max(0.0) as usize).min(mask.w);
    let y0 = (b - up_limit_px.min(25.0 * px_per_mm)).max(0.0) as usize;
    let y1 = ((b + 3.0 * px_per_mm) as usize).min(mask.h.saturating_sub(1));
    if x1 <= x0 + 2 || y1 <= y0 {
        return None;
    }
    let f = follow(mask, x0, x1, y0, y1, b, px_per_mm, thickness, &[]);
    let up: Vec<f32> = f.y.iter().map(|y| b - y).collect();
    let tol = thickness.max(0.3 * px_per_mm);
    let mut c = 0;
    while c < up.len() {
        if up[c].is_nan() || up[c] < 4.5 * px_per_mm {
            c += 1;
            continue;
        }
        let start = c;
        while c < up.len() && up[c] >= 4.5 * px_per_mm {
            c += 1;
        }
        // Columns `start..c` are up; the edges' own columns read part way up.
        let mut run: Vec<f32> = up[start..c].to_vec();
        run.sort_by(f32::total_cmp);
        let top = run[run.len() / 2];
        let flat: Vec<usize> = (start..c).filter(|&i| (up[i] - top).abs() <= tol).collect();
        let (Some(&first), Some(&last)) = (flat.first(), flat.last()) else {
            continue;
        };
        let len = (last - first + 1) as f32;
        if flat.len() as f32 >= 0.8 * len && (1.5 * px_per_mm..=12.0 * px_per_mm).contains(&len) {
            // Back at the baseline within 1 mm of the flat top's end.
            let back = (last + 1..(last + 1 + px_per_mm.ceil() as usize).min(up.len()))
                .find(|&i| up[i].abs() < 1.5 * px_per_mm);
            if let Some(back) = back {
                // The falling edge's centre: the first column past the top below 3/4 of it.
                let edge = (last + 1..=back)
                    .find(|&i| up[i] < 0.75 * top)
                    .unwrap_or(back);
                return Some(Pulse {
                    height_px: top,
                    end_x: f.x0 + edge,
                    width_px: len,
                });
            }
        }
    }
    None
}

/// Follower state: (path cost, back pointer, span `(top, bottom)`).
type State = (f32, usize, (usize, usize));

/// One followed trace: per column of the box, the trace height (NaN where none).
#[derive(Debug, Clone)]
pub struct Followed {
    pub x0: usize,
    pub y: Vec<f32>,
    /// Fraction of columns with ink on the path.
    pub found: f32,
    /// Fraction of steps that jumped more than 2 mm vertically.
    pub jumps: f32,
    /// Per column: the ink run the path took (`None` where it bridged a gap).
    pub spans: Vec<Option<(usize, usize)>>,
}

impl Followed {
    /// Share of columns `[a, b)` (box-relative) on ink, and share of their steps that
    /// jumped more than 2 mm between thin runs.
    pub fn quality(&self, a: usize, b: usize, px_per_mm: f32) -> (f32, f32) {
        let b = b.min(self.y.len());
        if b <= a {
            return (0.0, 0.0);
        }
        let found = self.spans[a..b].iter().filter(|s| s.is_some()).count();
        let mut steps = 0usize;
        let mut jumps = 0usize;
        let mut prev: Option<f32> = None;
        for c in a..b {
            let (Some(v), Some((t, btm))) =
                (Some(self.y[c]).filter(|v| v.is_finite()), self.spans[c])
            else {
                continue;
            };
            if let Some(p) = prev {
                steps += 1;
                if (v - p).abs() > 2.0 * px_per_mm && ((btm - t + 1) as f32) < 2.0 * px_per_mm {
                    jumps += 1;
                }
            }
            prev = Some(v);
        }
        (
            found as f32 / (b - a) as f32,
            jumps as f32 / steps.max(1) as f32,
        )
    }
}

/// How far a trace must leave its baseline to be on the run of ink `(top, bottom)`: the
/// run's nearest point (0 for a run through the baseline, as a tall QRS stroke is).
fn off_baseline(run: (usize, usize), baseline_y: f32) -> f32 {
    let (top, bottom) = (run.0 as f32, run.1 as f32);
    (top - baseline_y).max(baseline_y - bottom).max(0.0)
}

/// Whether the run `(top, bottom)` reaches two line widths past `baseline_y` both ways:
/// a mark across the baseline (a separator bar), not a wave's tip.
fn crosses_baseline(run: (usize, usize), baseline_y: f32, thickness: f32) -> bool {
    (run.0 as f32) < baseline_y - 2.0 * thickness && (run.1 as f32) > baseline_y + 2.0 * thickness
}

/// Widest flat tip (columns whose runs end at the same pixel) still read as a peak or
/// trough.
const PLATEAU_MAX: usize = 3;

/// Whether two runs of one column or of neighbouring columns (`[top, bottom]`) overlap or
/// come within `pad` pixels of each other.
fn runs_meet(a: (usize, usize), b: (usize, usize), pad: usize) -> bool {
    a.0 <= b.1 + pad && b.0 <= a.1 + pad
}

/// How much of the follower's pull towards the baseline each run of `col_runs` (runs per
/// column) pays: 1 for a plain line, less for a steep stroke. A run taller than two line
/// widths is a stroke of the trace (a QRS), whose distance from the baseline is the wave's
/// doing, not a stray mark's, so its pull is scaled by two line widths over its length.
/// Where a photo's faint stroke breaks into pieces, the full pull made the follower take
/// whichever piece lay nearest the baseline in each column and read a deep S wave at a
/// fraction of its depth (ecg-image-kit 00031's V1: −0.27 mV for −0.88). Only strokes
/// that belong to the trace are eased:
/// - joined to the trace: connected, through touching runs of neighbouring columns, to a
///   run within 2 mm of the baseline (a printed label beside the trace is not, and
///   strokes of a label taken for trace had hidden it);
/// - narrow: 1 mm to either side no run covers half of its heights (a photo's shadow or
///   crease is a wide blob, and the follower had wandered onto one).
pub fn stroke_pull_factors(
    col_runs: &[Vec<(usize, usize)>],
    baseline_y: f32,
    px_per_mm: f32,
    thickness: f32,
) -> Vec<Vec<f32>> {
    let ncols = col_runs.len();
    let near_base = 2.0 * px_per_mm;
    let mut joined: Vec<Vec<bool>> = col_runs
        .iter()
        .map(|rs| {
            rs.iter()
                .map(|&r| off_baseline(r, baseline_y) <= near_base)
                .collect()
        })
        .collect();
    // Joined from the left, then from the right; twice, for strokes that turn back.
    let steps: Vec<(usize, usize)> = (1..ncols)
        .map(|c| (c, c - 1))
        .chain((1..ncols).rev().map(|c| (c - 1, c)))
        .collect();
    for _ in 0..2 {
        for &(c, from) in &steps {
            for k in 0..col_runs[c].len() {
                if !joined[c][k] {
                    let r = col_runs[c][k];
                    joined[c][k] = col_runs[from]
                        .iter()
                        .zip(&joined[from])
                        .any(|(&p, &j)| j && runs_meet(p, r, 1));
                }
            }
        }
    }
    let side = (px_per_mm.round() as usize).max(1);
    let stroke = 2.0 * thickness;
    col_runs
        .iter()
        .enumerate()
        .map(|(c, rs)| {
            rs.iter()
                .enumerate()
                .map(|(k, &run)| {
                    let len = (run.1 - run.0 + 1) as f32;
                    if len <= stroke || !joined[c][k] {
                        return 1.0;
                    }
                    let covered = |cc: Option<usize>| {
                        cc.and_then(|cc| col_runs.get(cc)).is_some_and(|other| {
                            other.iter().any(|r| {
                                let o = r.1.min(run.1) as f32 - r.0.max(run.0) as f32 + 1.0;
                                o >= 0.5 * len
                            })
                        })
                    };
                    if covered(c.checked_sub(side)) || covered(Some(c + side)) {
                        1.0
                    } else {
                        stroke / len
                    }
                })
                .collect()
        })
        .collect()
}

/// Follow the trace through columns `[x0, x1)` within rows `[y0, y1]`, starting near
/// `baseline_y`. Ink runs lying wholly inside one of the `exclude` boxes (`[x0, y0, x1,
/// y1]`, inclusive: printed lead labels) are not taken: a deep QRS crossing a label
/// must not be cut short along the label's strokes.
#[allow(clippy::too_many_arguments)]
pub fn follow(
    mask: &Mask,
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
    baseline_y: f32,
    px_per_mm: f32,
    thickness: f32,
    exclude: &[[usize; 4]],
) -> Followed {
    const MAX_RUNS: usize = 24;
    let x1 = x1.min(mask.w);
    let ncols = x1.saturating_sub(x0);
    let pull = 0.05 / px_per_mm; // cost per pixel from the baseline
    let gap_cost = 1.0 / px_per_mm; // cost per pixel of vertical gap
                                    // Runs of one column closer than a line's thickness (at most 0.6 mm) are one stroke:
                                    // a steep stroke (QRS) is cut where it crosses a coloured grid line (the mixed pixels
                                    // look coloured, not ink), and the follower would rather stay on the baseline than
                                    // jump the gaps. (A fixed 0.6 mm also merged handwriting and creases into thin
                                    // traces on the ecg-image-kit pages.)
    let close = (0.6 * px_per_mm).min(thickness).round() as usize;
    let mut col_runs: Vec<Vec<(usize, usize)>> = Vec::with_capacity(ncols);
    let mut buf = Vec::new();
    for x in x0..x1 {
        runs_in_column(mask, x, y0, y1, &mut buf);
        close_gaps(&mut buf, close);
        for b in exclude.iter().filter(|b| (b[0]..=b[2]).contains(&x)) {
            buf.retain(|r| r.0 < b[1] || r.1 > b[3]);
        }
        if buf.len() > MAX_RUNS {
            buf.sort_by(|a, b| {
                off_baseline(*a, baseline_y).total_cmp(&off_baseline(*b, baseline_y))
            });
            buf.truncate(MAX_RUNS);
            buf.sort_unstable();
        }
        col_runs.push(buf.clone());
    }
    // Viterbi over runs plus one "skip" state per column (the trace is missing here: it
    // keeps the span of its best predecessor and costs `skip_cost`), so that a short gap
    // in the ink is bridged instead of jumping to some other mark.
    let skip_cost = 1.0f32;
    let pull_factor = stroke_pull_factors(&col_runs, baseline_y, px_per_mm, thickness);
    let gap_between = |a: (usize, usize), b: (usize, usize)| -> usize {
        if b.0 > a.1 + 1 {
            b.0 - a.1 - 1
        } else if a.0 > b.1 + 1 {
            a.0 - b.1 - 1
        } else {
            0
        }
    };
    // Per column: states' (cost, back pointer, span); the last state is the skip state.
    let mut states: Vec<Vec<State>> = Vec::with_capacity(ncols);
    for (c, runs) in col_runs.iter().enumerate() {
        let prev = c.checked_sub(1).and_then(|p| states.get(p));
        let mut cur = Vec::with_capacity(runs.len() + 1);
        for (k, &run) in runs.iter().enumerate() {
            let own = pull * off_baseline(run, baseline_y) * pull_factor[c][k];
            let (best, arg) = match prev {
                None => (0.0, 0),
                Some(prev) => prev
                    .iter()
                    .enumerate()
                    .map(|(i, (pc, _, span))| (pc + gap_cost * gap_between(*span, run) as f32, i))
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .unwrap_or((0.0, 0)),
            };
            cur.push((best + own, arg, run));
        }
        let skip = match prev {
            None => {
                let b = baseline_y.round().max(0.0) as usize;
                (skip_cost, 0, (b, b))
            }
            Some(prev) => prev
                .iter()
                .enumerate()
                .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
                .map_or((skip_cost, 0, (0, 0)), |(i, (pc, _, span))| {
                    (pc + skip_cost, i, *span)
                }),
        };
        cur.push(skip);
        states.push(cur);
    }
    // Backtrack from the cheapest final state.
    let mut chosen: Vec<Option<(usize, usize)>> = vec![None; ncols];
    let mut state = states.last().and_then(|last| {
        last.iter()
            .enumerate()
            .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
            .map(|(i, _)| i)
    });
    for c in (0..ncols).rev() {
        let Some(i) = state else { break };
        let Some(st) = states.get(c).and_then(|s| s.get(i)) else {
            break;
        };
        let is_skip = i + 1 == states[c].len();
        if !is_skip {
            chosen[c] = Some(st.2);
        }
        state = Some(st.1);
    }
    // Values: centre, or the outer edge at local extremes.
    let half_thick = thickness / 2.0;
    let mut y = vec![f32::NAN; ncols];
    let mut jumps = 0usize;
    let mut steps = 0usize;
    let mut prev_centre: Option<f32> = None;
    for c in 0..ncols {
        let Some((top, bottom)) = chosen[c] else {
            continue;
        };
        // The first neighbouring run on side `d` (±1) whose end (`.0` top, `.1` bottom)
        // differs from this column's: a tip drawn over two or three columns ends at the
        // same pixel in each of them, and each is that tip. `Some(None)` where the trace
        // breaks off first; `None` (no tip) where every run up to the widest tip ends at
        // the same pixel (a flat stretch), where one of them is this very run (a vertical
        // bar, as printed between cells) or where the box ends first (the trace's first
        // columns lie on the calibration pulse's falling edge).
        let beyond = |d: isize, end: fn((usize, usize)) -> usize| {
            let own = end((top, bottom));
            (1..=PLATEAU_MAX as isize)
                .map(|k| c as isize + d * k)
                .take_while(|&i| i >= 0 && (i as usize) < ncols)
                .map(|i| chosen[i as usize])
                .find(|n| n.is_none_or(|n| end(n) != own || n == (top, bottom)))
                .filter(|n| *n != Some((top, bottom)))
        };
        let len = (bottom - top + 1) as f32;
        let mut v = (top + bottom) as f32 / 2.0;
        if len > thickness * 1.5 {
            let (lt, rt) = (beyond(-1, |n| n.0), beyond(1, |n| n.0));
            let (lb, rb) = (beyond(-1, |n| n.1), beyond(1, |n| n.1));
            let above =
                |n: Option<Option<(usize, usize)>>| n.is_some_and(|n| n.is_none_or(|n| top < n.0));
            let below = |n: Option<Option<(usize, usize)>>| {
                n.is_some_and(|n| n.is_none_or(|n| bottom > n.1))
            };
            // A flat end on a run across the baseline is a bar (the separators printed
            // between cells run through the baseline, a few pixels wide), no tip.
            let next = |d: isize| {
                let i = c as isize + d;
                (i >= 0 && (i as usize) < ncols)
                    .then(|| chosen[i as usize])
                    .flatten()
            };
            let crosses = crosses_baseline((top, bottom), baseline_y, thickness);
            let flat = |end: fn((usize, usize)) -> usize| {
                [-1, 1]
                    .iter()
                    .any(|&d| next(d).is_some_and(|n| end(n) == end((top, bottom))))
            };
            let peak = above(lt) && above(rt) && !(crosses && flat(|n| n.0));
            let trough = below(lb) && below(rb) && !(crosses && flat(|n| n.1));
            if peak && !trough {
                v = top as f32 + half_thick - 0.5;
            } else if trough && !peak {
                v = bottom as f32 - half_thick + 0.5;
            }
        }
        if let Some(p) = prev_centre {
            steps += 1;
            let gap = if v > p { v - p } else { p - v };
            if gap > 2.0 * px_per_mm && len < 2.0 * px_per_mm {
                jumps += 1;
            }
        }
        prev_centre = Some(v);
        y[c] = v;
    }
    let found_n = y.iter().filter(|v| v.is_finite()).count();
    Followed {
        x0,
        y,
        found: found_n as f32 / ncols.max(1) as f32,
        jumps: jumps as f32 / steps.max(1) as f32,
        spans: chosen,
    }
}

/// Replace the height of every column whose run is a plain line (not a peak or trough,
/// at most 1.5 line thicknesses long) by the centre of the ink score over the run and
/// two pixels either side, less the lower of the two ends (paper or grid).
pub fn refine_centres(f: &mut Followed, ink: &Plane, thickness: f32) {
    for (c, span) in f.spans.iter().enumerate() {
        let Some((t, b)) = *span else { continue };
        if ((b - t + 1) as f32) > 1.5 * thickness || !f.y[c].is_finite() {
            continue;
        }
        let x = f.x0 + c;
        if x >= ink.w {
            continue;
        }
        let y0 = t.saturating_sub(2);
        let y1 = (b + 2).min(ink.h.saturating_sub(1));
        let floor = ink.get(x, y0).min(ink.get(x, y1));
        let (mut sw, mut swy) = (0.0f32, 0.0f32);
        for y in y0..=y1 {
            let v = (ink.get(x, y) - floor).max(0.0);
            sw += v;
            swy += v * y as f32;
        }
        if sw > 0.0 {
            let centre = swy / sw;
            // Stay within the run (a neighbouring mark inside the window must not pull).
            f.y[c] = centre.clamp(t as f32 - 0.5, b as f32 + 0.5);
        }
    }
}

/// Of the steep strokes of ink in columns `[xa, xb)` between heights `y0..=y1` (runs at
/// least `min_len` long: the QRS), the share that the path `f` did not take: a lead whose
/// QRS strokes were bridged along the baseline (faint, broken strokes on a photo) leaves
/// them untaken, however smooth its path. Strokes that a `neighbours` path took (the next
/// row's tall complexes) and those inside `exclude` boxes (labels) do not count, nor does
/// ink not connected to the row's baseline `baseline_y` through runs at most `max_gap`
/// apart in its column (printed text below a strip, a neighbour's peaks). `None` where
/// the cell has under `min_total` pixels of strokes.
#[allow(clippy::too_many_arguments)]
pub fn untaken_stroke_share(
    mask: &Mask,
    f: &Followed,
    neighbours: &[&Followed],
    (xa, xb): (usize, usize),
    (y0, y1): (usize, usize),
    baseline_y: f32,
    thickness: f32,
    (min_len, max_gap): (usize, f32),
    exclude: &[[usize; 4]],
    min_total: usize,
) -> Option<f32> {
    let pad = thickness.ceil() as usize;
    let close = thickness.round() as usize;
    let span_at = |g: &Followed, x: usize| -> Option<(usize, usize)> {
        x.checked_sub(g.x0)
            .and_then(|c| g.spans.get(c).copied().flatten())
    };
    let overlaps = |r: (usize, usize), s: (usize, usize)| runs_meet(r, s, pad);
    let (mut taken, mut untaken) = (0usize, 0usize);
    let mut buf = Vec::new();
    for x in xa..xb.min(mask.w) {
        runs_in_column(mask, x, y0, y1.min(mask.h.saturating_sub(1)), &mut buf);
        close_gaps(&mut buf, close);
        // The runs reached from the baseline outwards across gaps up to `max_gap`.
        let (mut up, mut down) = (baseline_y, baseline_y);
        let mut reached = vec![false; buf.len()];
        for (k, r) in buf.iter().enumerate() {
            if (r.0 as f32) <= baseline_y + max_gap && (r.1 as f32) >= baseline_y - max_gap {
                reached[k] = true;
                up = up.min(r.0 as f32);
                down = down.max(r.1 as f32);
            }
        }
        for (k, r) in buf.iter().enumerate().rev() {
            if !reached[k] && (r.1 as f32) < up && up - r.1 as f32 <= max_gap {
                reached[k] = true;
                up = r.0 as f32;
            }
        }
        for (k, r) in buf.iter().enumerate() {
            if !reached[k] && (r.0 as f32) > down && r.0 as f32 - down <= max_gap {
                reached[k] = true;
                down = r.1 as f32;
            }
        }
        // A column with steep ink on both sides of the trace is a vertical grid line in
        // the ink (or a separator), not a stroke of this trace: it says nothing.
        let own = span_at(f, x);
        let (t, b) = own.map_or((baseline_y as usize, baseline_y as usize), |s| {
            (s.0.saturating_sub(pad), s.1 + pad)
        });
        let past_path = |above: bool| -> usize {
            buf.iter()
                .zip(&reached)
                .filter(|(_, &on)| on)
                .map(|(r, _)| {
                    let past = if above {
                        t.saturating_sub(r.0)
                    } else {
                        r.1.saturating_sub(b)
                    };
                    past.min(r.1 - r.0 + 1)
                })
                .sum()
        };
        if past_path(true) >= min_len && past_path(false) >= min_len {
            continue;
        }
        for (k, &r) in buf.iter().enumerate() {
            let len = r.1 - r.0 + 1;
            if len < min_len || !reached[k] {
                continue;
            }
            let elsewhere = neighbours
                .iter()
                .any(|g| span_at(g, x).is_some_and(|s| overlaps(r, s)))
                || exclude
                    .iter()
                    .any(|b| (b[0]..=b[2]).contains(&x) && r.0 >= b[1] && r.1 <= b[3]);
            if own.is_some_and(|s| overlaps(r, s)) {
                taken += len;
            } else if !elsewhere {
                untaken += len;
            }
        }
    }
    let total = taken + untaken;
    (total >= min_total).then(|| untaken as f32 / total as f32)
}

/// Blank (`NaN`) the columns of a separator bar near each of the image columns `near`
/// (within `reach` columns): printers mark where one lead's cell ends and the next begins
/// with a short thick vertical bar across the baseline, and the trace's heights there are
/// the bar's, not the trace's (a QRS that falls on the bar was read at its centre, a T
/// wave at its end). A bar is two or more neighbouring columns whose runs cross the
/// baseline by two line widths each way and end at the same pixels (±1), with the columns
/// next to them whose runs share one of those ends (the trace's stroke merged into the
/// bar). The cell sampling bridges the blanked columns from either side. Returns how many
/// columns were blanked.
pub fn blank_bars(
    f: &mut Followed,
    baseline_y: f32,
    near: &[usize],
    reach: usize,
    thickness: f32,
) -> usize {
    let mut blanked = 0;
    let n = f.spans.len();
    let crosses = |r: (usize, usize)| crosses_baseline(r, baseline_y, thickness);
    let close = |a: usize, b: usize| a.abs_diff(b) <= 1;
    for &x in near {
        let Some(centre) = x.checked_sub(f.x0) else {
            continue;
        };
        let lo = centre.saturating_sub(reach);
        let hi = (centre + reach).min(n.saturating_sub(1));
        if lo >= hi {
            continue;
        }
        let mut c = lo;
        while c < hi {
            let (Some(a), Some(b)) = (f.spans[c], f.spans[c + 1]) else {
                c += 1;
                continue;
            };
            if !(crosses(a) && crosses(b) && close(a.0, b.0) && close(a.1, b.1)) {
                c += 1;
                continue;
            }
            // The bar's core: columns alike; then the merged columns either side.
            let (mut s, mut e) = (c, c + 1);
            while e + 1 < n
                && f.spans[e + 1].is_some_and(|r| crosses(r) && close(r.0, a.0) && close(r.1, a.1))
            {
                e += 1;
            }
            let merged = |r: Option<(usize, usize)>| {
                r.is_some_and(|r| crosses(r) && (close(r.0, a.0) || close(r.1, a.1)))
            };
            if s > 0 && merged(f.spans[s - 1]) {
                s -= 1;
            }
            if e + 1 < n && merged(f.spans[e + 1]) {
                e += 1;
            }
            f.y[s..=e].fill(f32::NAN);
            blanked += e - s + 1;
            c = e + 1;
        }
    }
    blanked
}

/// Where the paths of two neighbouring rows took overlapping ink in a column (a tall
/// complex of one row reaching into the next: the two strokes merge into one run), that
/// run's height says nothing about either row: its far end belongs to the other row's
/// stroke. Each row's heights over such columns are rebuilt from its own columns either
/// side: where the path arrives rising and leaves falling (or the reverse), as the tip of
/// the two strokes extended until they meet, held within the merged run; elsewhere (a
/// baseline crossed by the neighbour's stroke) as the straight line between the sides.
/// Only stretches of at most `max_len` columns (a complex's width) are rebuilt: two paths
/// on the same ink for longer are one row following the other's trace, which no
/// interpolation mends. `followed`: the rows from the top of the page down.
pub fn resolve_shared(followed: &mut [Followed], max_len: usize) {
    let mut shared: Vec<Vec<bool>> = followed.iter().map(|f| vec![false; f.y.len()]).collect();
    for (i, pair) in followed.windows(2).enumerate() {
        let (j, a, b) = (i + 1, &pair[0], &pair[1]);
        let lo = a.x0.max(b.x0);
        let hi = (a.x0 + a.spans.len()).min(b.x0 + b.spans.len());
        for x in lo..hi {
            let (Some(sa), Some(sb)) = (a.spans[x - a.x0], b.spans[x - b.x0]) else {
                continue;
            };
            if sa.0 <= sb.1 && sb.0 <= sa.1 {
                shared[i][x - a.x0] = true;
                shared[j][x - b.x0] = true;
            }
        }
    }
    // A column or two between merged columns lies on the same collision (the strokes
    // part for a pixel where they cross at a slant): one stretch.
    for marks in &mut shared {
        let mut last: Option<usize> = None;
        for c in 0..marks.len() {
            if !marks[c] {
                continue;
            }
            if let Some(p) = last.filter(|&p| c - p <= 3) {
                marks[p..c].fill(true);
            }
            last = Some(c);
        }
    }
    for (f, marks) in followed.iter_mut().zip(&shared) {
        rebuild_shared(f, marks, max_len);
    }
}

/// Rebuild `f`'s heights over each stretch of `marked` columns (see [`resolve_shared`]).
fn rebuild_shared(f: &mut Followed, marked: &[bool], max_len: usize) {
    let n = f.y.len();
    let own = |c: usize, f: &Followed| -> Option<f32> {
        (!marked[c]).then(|| f.y[c]).filter(|v| v.is_finite())
    };
    let mut c = 0;
    while c < n {
        if !marked[c] {
            c += 1;
            continue;
        }
        let c0 = c;
        while c < n && marked[c] {
            c += 1;
        }
        let c1 = c - 1;
        if c1 - c0 + 1 > max_len {
            continue;
        }
        let left1 = c0.checked_sub(1).and_then(|k| own(k, f));
        let left2 = c0.checked_sub(2).and_then(|k| own(k, f));
        let right1 = (c1 + 1 < n).then(|| own(c1 + 1, f)).flatten();
        let right2 = (c1 + 2 < n).then(|| own(c1 + 2, f)).flatten();
        let (Some(l1), Some(r1)) = (left1, right1) else {
            // No own trace on one side (the row's end): nothing to rebuild from.
            continue;
        };
        let (xl, xr) = (c0 as f32 - 1.0, c1 as f32 + 1.0);
        let line = |c: usize| l1 + (r1 - l1) * (c as f32 - xl) / (xr - xl);
        let tip = match (left2, right2) {
            (Some(l2), Some(r2)) => {
                let (sl, sr) = (l1 - l2, r2 - r1);
                // Rising into the stretch and falling out of it (in either sense):
                // the two strokes meet at a tip inside it.
                if sl * sr < 0.0 && (sl - sr).abs() > f32::EPSILON {
                    let x = (r1 - l1 + sl * xl - sr * xr) / (sl - sr);
                    (x > xl && x < xr).then_some((x, sl, sr))
                } else {
                    None
                }
            }
            _ => None,
        };
        for k in c0..=c1 {
            let v = match tip {
                Some((x, sl, sr)) => {
                    let xf = k as f32;
                    let v = if xf <= x {
                        l1 + sl * (xf - xl)
                    } else {
                        r1 + sr * (xf - xr)
                    };
                    // Within the merged run.
                    match f.spans[k] {
                        Some((t, b)) => v.clamp(t as f32, b as f32),
                        None => v,
                    }
                }
                None => line(k),
            };
            f.y[k] = v;
        }
    }
}

#[cfg(test)]
mod tests {

    fn row(y: f32, coverage: f32, left_x: usize, right_x: usize) -> Row {
        Row {
            baseline_y: y,
            coverage,
            left_x,
            right_x,
        }
    }

    /// A 1 px-line pulse (10 px/mm: 10 mm tall, 5 mm wide from x = 20) on a baseline
    /// at y = 200, the trace going on to x = 300, and optionally a blob of ink above the
    /// pulse's top in the same band (a lead label, or the row above dipping down).
    fn pulse_mask(blob_above: bool) -> Mask {
        let (w, h) = (320, 260);
        let mut ink = vec![false; w * h];
        let mut set = |x: usize, y: usize| ink[y * w + x] = true;
        for x in 5..=300 {
            if !(20..=70).contains(&x) {
                set(x, 200);
            }
        }
        for y in 100..=200 {
            set(20, y);
            set(70, y);
        }
        for x in 20..=70 {
            set(x, 100);
        }
        if blob_above {
            for y in 60..75 {
                for x in 40..80 {
                    set(x, y);
                }
            }
        }
        Mask { w, h, ink }
    }

    #[test]
    fn a_pulse_is_found_under_a_label_printed_above_it() {
        let r = row(200.0, 0.9, 5, 300);
        for blob in [false, true] {
            let p = find_pulse(&pulse_mask(blob), &r, 10.0, 1.0, 180.0)
                .unwrap_or_else(|| panic!("pulse not found (ink above: {blob})"));
            assert_eq!(p.end_x, 70, "ink above: {blob}");
            assert!((p.height_px - 100.0).abs() <= 1.0, "{}", p.height_px);
        }
    }

    #[test]
    fn a_pulse_hidden_from_the_band_search_is_found_in_the_trace() {
        // Ink above the pulse and a mark inside it (a label, a shadow): no column band
        // shows the plateau with both edges, but the followed trace runs over it.
        let mut m = pulse_mask(true);
        for y in 150..160 {
            for x in 30..60 {
                m.ink[y * m.w + x] = true;
            }
        }
        let r = row(200.0, 0.9, 20, 300);
        assert_eq!(find_pulse(&m, &r, 10.0, 1.0, 180.0), None);
        let p = pulse_in_trace(&m, &r, (0.0, 300.0), 10.0, 1.0, 180.0).expect("pulse in the trace");
        assert!(p.end_x.abs_diff(70) <= 1, "{p:?}");
        assert!((p.height_px - 100.0).abs() <= 1.0, "{p:?}");
        assert!((p.width_px - 50.0).abs() <= 2.0, "{p:?}");
        // A trace without a pulse has none.
        let mut flat = pulse_mask(false);
        flat.ink.fill(false);
        for x in 5..=300 {
            flat.ink[200 * flat.w + x] = true;
        }
        assert_eq!(
            pulse_in_trace(
                &flat,
                &row(200.0, 0.9, 5, 300),
                (0.0, 300.0),
                10.0,
                1.0,
                180.0
            ),
            None
        );
    }

    #[test]
    fn a_rhythm_strip_closer_than_the_block_rows_is_kept() {
        // ecg00049-like: block gaps 380, strip 217 below (0.57), full width, well inked.
        let rows = [
            row(95.0, 0.6, 300, 900), // header text: narrower, uneven gap
            row(148.0, 0.61, 40, 1560),
            row(528.0, 0.75, 40, 1560),
            row(906.0, 0.64, 40, 1560),
            row(1123.0, 0.85, 40, 1570),
        ];
        let picked = select_rows(&rows, None).unwrap();
        let ys: Vec<f32> = picked.iter().map(|r| r.baseline_y).collect();
        assert_eq!(ys, [148.0, 528.0, 906.0, 1123.0]);
        // Asked for exactly 3 rows: the block alone.
        assert_eq!(select_rows(&rows, Some(3)).unwrap().len(), 3);
    }

    #[test]
    fn a_weak_peak_between_rows_does_not_break_the_block_but_a_faint_row_stays() {
        // The candidates of PTB-XL 151's distorted calibration page (working pixels): the
        // block at 628, 892.5 and 1169.5 and the strip at 1436.5, header text above, and
        // a weak peak at 806 between the first two rows. Without skipping it the run
        // started at the second row, and rows 2-4 were read as the block.
        let rows = [
            row(89.0, 0.73, 0, 2220),
            row(205.0, 0.74, 1, 2199),
            row(361.0, 0.38, 73, 2232),
            row(628.0, 0.92, 15, 2233),
            row(806.0, 0.41, 7, 2210),
            row(892.5, 0.88, 1, 2226),
            row(1169.5, 0.90, 2, 2228),
            row(1436.5, 0.92, 39, 2126),
            row(1640.0, 0.43, 69, 2204),
        ];
        let ys = |r: Vec<Row>| r.iter().map(|r| r.baseline_y).collect::<Vec<_>>();
        assert_eq!(
            ys(select_rows(&rows, None).unwrap()),
            [628.0, 892.5, 1169.5, 1436.5]
        );
        // Faint rows that keep the even spacing are rows: every second row of a block is
        // evenly spaced too, and is not taken for the block.
        let faint = [
            row(100.0, 0.9, 40, 1560),
            row(200.0, 0.1, 40, 1560),
            row(300.0, 0.9, 40, 1560),
            row(400.0, 0.1, 40, 1560),
            row(500.0, 0.9, 40, 1560),
        ];
        let picked = ys(select_rows(&faint, None).unwrap());
        assert!(
            picked.contains(&200.0) && picked.contains(&400.0),
            "{picked:?}"
        );
        // Two strong rows are no run of their own (a crop's faint middle row stays).
        let crop = [
            row(100.0, 0.9, 40, 1560),
            row(200.0, 0.1, 40, 1560),
            row(300.0, 0.9, 40, 1560),
        ];
        assert_eq!(select_rows(&crop, None).unwrap().len(), 3);
    }

    #[test]
    fn short_or_faint_rows_below_the_block_are_not_strips() {
        let block = [
            row(100.0, 0.8, 40, 1560),
            row(400.0, 0.8, 40, 1560),
            row(700.0, 0.8, 40, 1560),
        ];
        // a footer line of text: half as wide
        let mut rows = block.to_vec();
        rows.push(row(900.0, 0.8, 40, 800));
        assert_eq!(select_rows(&rows, None).unwrap().len(), 3);
        // faint
        let mut rows = block.to_vec();
        rows.push(row(900.0, 0.3, 40, 1560));
        assert_eq!(select_rows(&rows, None).unwrap().len(), 3);
        // far below (twice the block spacing)
        let mut rows = block.to_vec();
        rows.push(row(1300.0, 0.8, 40, 1560));
        assert_eq!(select_rows(&rows, None).unwrap().len(), 3);
        // an evenly spaced fourth row is a strip as before
        let mut rows = block.to_vec();
        rows.push(row(1000.0, 0.8, 40, 1560));
        assert_eq!(select_rows(&rows, None).unwrap().len(), 4);
    }

    use super::*;

    #[test]
    fn ink_score_separates_black_from_grid_colours() {
        assert_eq!(ink_score(0, 0, 0), 255.0);
        assert_eq!(ink_score(255, 255, 255), 0.0);
        assert_eq!(ink_score(255, 0, 0), 0.0);
        assert!(ink_score(78, 131, 56) < 10.0);
        assert!(ink_score(40, 40, 40) > 200.0);
    }

    /// An 800 × 400 ink plane (8 px/mm): a faint trace (3 px core at 75, 1 px edges at
    /// 40) along a slow wave with narrow spikes, faint paper noise (0–20), and, when
    /// `blocks`, eight solid boxes at 230 (3 × 2 mm, 1 px blurred rims at 120), the way a
    /// page's black label boxes or a redaction bar show; returns the plane and the trace's
    /// core pixel in each column.
    fn faint_trace_plane(blocks: bool) -> (Plane, Vec<usize>) {
        let (w, h) = (800usize, 400usize);
        let mut p = Plane::filled(w, h, 0.0);
        for (i, v) in p.data.iter_mut().enumerate() {
            *v = ((i * 7919) % 21) as f32;
        }
        let mut core = Vec::with_capacity(w);
        for x in 0..w {
            let spike = if x % 80 == 40 { 30.0 } else { 0.0 };
            let y = (200.0 + 10.0 * (x as f32 / 30.0).sin() - spike) as usize;
            core.push(y);
            for dy in 0..5 {
                let v = if dy == 0 || dy == 4 { 40.0 } else { 75.0 };
                let at = (y + dy - 2) * w + x;
                p.data[at] = p.data[at].max(v);
            }
        }
        if blocks {
            for b in 0..8 {
                let (x0, y0) = (20 + 96 * b, 20 + 340 * (b % 2));
                for y in y0 - 1..y0 + 17 {
                    for x in x0 - 1..x0 + 25 {
                        let rim = y == y0 - 1 || y == y0 + 16 || x == x0 - 1 || x == x0 + 24;
                        p.data[y * w + x] = if rim { 120.0 } else { 230.0 };
                    }
                }
            }
        }
        (p, core)
    }

    /// The mask holds the trace's core pixel in at least 95 % of the columns.
    fn assert_holds_trace(mask: &Mask, core: &[usize]) {
        let held = core
            .iter()
            .enumerate()
            .filter(|(x, y)| mask.at(*x, **y))
            .count();
        assert!(
            held >= core.len() * 95 / 100,
            "{held} of {} columns",
            core.len()
        );
    }

    #[test]
    fn solid_blocks_do_not_raise_the_ink_threshold_above_a_faint_trace() {
        let (with, core) = faint_trace_plane(true);
        // Plain Otsu splits the trace from the blocks, and the trace's core falls below it.
        let plain = otsu(&with.data, 25.0).unwrap();
        assert!(plain > 75.0, "plain Otsu {plain}");
        let split = otsu_without_blocks(&with.data, with.w, with.h, 8.0, 25.0).unwrap();
        assert!(split > 20.0 && split < 75.0, "without blocks {split}");
        // The mask then holds the whole trace (and the blocks, which are still ink).
        let mask = ink_mask(&with, 8.0, false);
        assert_holds_trace(&mask, &core);
        assert!(mask.at(30, 28), "a block's middle is ink");
        // With no block on the page the split is Otsu's own.
        let (without, _) = faint_trace_plane(false);
        assert_eq!(
            otsu_without_blocks(&without.data, without.w, without.h, 8.0, 25.0),
            otsu(&without.data, 25.0)
        );
    }

    #[test]
    fn the_sensitive_mask_keeps_the_plain_split_where_the_lower_one_takes_the_noise() {
        // The page with blocks, its trace darker (core 130, edges 70, blocks 250, rims
        // 160), on paper whose noise (0–80) reaches half the split without the blocks:
        // a sensitive mask at that split would take the noise.
        let (mut p, core) = faint_trace_plane(true);
        for (i, v) in p.data.iter_mut().enumerate() {
            *v = match *v as u32 {
                0..=20 => ((i * 7919) % 81) as f32,
                40 => 70.0,
                75 => 130.0,
                120 => 160.0,
                _ => 250.0,
            };
        }
        let mut contrast = local_contrast(&p, 8.0);
        suppress_grid_lines(&mut contrast, p.w, p.h);
        let lowered =
            (0.5 * otsu_without_blocks(&contrast, p.w, p.h, 8.0, 20.0).unwrap()).clamp(30.0, 120.0);
        let plain = (0.5 * otsu(&contrast, 20.0).unwrap()).clamp(30.0, 120.0);
        let noisy = hysteresis(&contrast, p.w, p.h, lowered, 0.5 * lowered);
        assert!(lowered < plain, "{lowered} vs {plain}");
        assert!(ink_share(&noisy) >= MAX_SENSITIVE_INK_SHARE);
        let mask = ink_mask(&p, 8.0, true);
        assert!(
            ink_share(&mask) < MAX_SENSITIVE_INK_SHARE,
            "{}",
            ink_share(&mask)
        );
        assert_holds_trace(&mask, &core);
    }

    /// A 400 × 300 plane (8 px/mm) with a grey grid (1 px minor lines every 8 px at
    /// `minor`, 2 px major lines every 40 px at `major`) and, when `trace`, a 2 px trace
    /// of ink 220 along a sine wave with a tall narrow spike (a QRS) at x = 200.
    fn grid_plane(minor: f32, major: f32, trace: bool) -> (Plane, Vec<(usize, usize)>) {
        let (w, h) = (400, 300);
        let mut p = Plane::filled(w, h, 0.0);
        for y in 0..h {
            for x in 0..w {
                let mut v: f32 = 0.0;
                if x % 8 == 3 || y % 8 == 5 {
                    v = minor;
                }
                if x % 40 < 2 || y % 40 < 2 {
                    v = major;
                }
                p.set(x, y, v);
            }
        }
        let mut on = Vec::new();
        if trace {
            for x in 0..w {
                let base = 150.0 + 12.0 * (x as f32 / 30.0).sin();
                let spike = if (196..204).contains(&x) { 90.0 } else { 0.0 };
                let top = (base - spike).round() as usize;
                for y in top..=(base.round() as usize + 1) {
                    p.set(x, y, 220.0);
                    on.push((x, y));
                }
            }
        }
        (p, on)
    }

    #[test]
    fn a_grey_grid_is_removed_and_the_trace_kept() {
        let (mut p, on) = grid_plane(60.0, 110.0, true);
        assert!(remove_periodic_grid(&mut p, 40.0, 40.0));
        let on_trace = |x: usize, y: usize| {
            on.iter()
                .any(|&(a, b)| a.abs_diff(x) <= 1 && b.abs_diff(y) <= 1)
        };
        let mut worst_grid = 0.0f32;
        for y in 0..p.h {
            for x in 0..p.w {
                if !on_trace(x, y) {
                    worst_grid = worst_grid.max(p.get(x, y));
                }
            }
        }
        assert!(worst_grid < 10.0, "grid left at {worst_grid}");
        // The trace keeps its score, also where it crosses a grid line, spike included.
        let weakest = on
            .iter()
            .map(|&(x, y)| p.get(x, y))
            .fold(f32::MAX, f32::min);
        assert!(weakest > 150.0, "trace down to {weakest}");
        // A mask of it holds the whole spike and nothing of the grid.
        let mask = ink_mask(&p, 8.0, false);
        let spike_rows = (60..150)
            .filter(|&y| (196..204).any(|x| mask.at(x, y)))
            .count();
        assert!(spike_rows >= 80, "spike rows {spike_rows}");
        let stray = (0..p.h)
            .flat_map(|y| (0..p.w).map(move |x| (x, y)))
            .filter(|&(x, y)| mask.at(x, y) && !on_trace(x, y))
            .count();
        assert!(stray < 50, "{stray} grid pixels in the mask");
    }

    #[test]
    fn a_grid_that_is_not_in_the_ink_is_left_alone() {
        // A red grid scores 0 as ink: nothing to remove, and the plane is unchanged.
        let (mut p, _) = grid_plane(0.0, 0.0, true);
        let before = p.clone();
        assert!(!remove_periodic_grid(&mut p, 40.0, 40.0));
        assert_eq!(p, before);
        // Faint grey (under MIN_GRID_INK at its darker phases) is left alone too.
        let (mut p, _) = grid_plane(5.0, 12.0, true);
        let before = p.clone();
        assert!(!remove_periodic_grid(&mut p, 40.0, 40.0));
        assert_eq!(p, before);
        // Noise is as dark at every phase: no grid.
        let mut state = 7u64;
        let mut noise = Plane::filled(400, 300, 0.0);
        for v in &mut noise.data {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *v = (state >> 56) as f32;
        }
        let before = noise.clone();
        assert!(!remove_periodic_grid(&mut noise, 40.0, 40.0));
        assert_eq!(noise, before);
        // Degenerate sizes and periods never panic.
        let mut tiny = Plane::filled(3, 3, 100.0);
        assert!(!remove_periodic_grid(&mut tiny, 40.0, 40.0));
        assert!(!remove_periodic_grid(&mut p, f32::NAN, 40.0));
        assert!(!remove_periodic_grid(&mut p, 2.0, 2.0));
    }

    #[test]
    fn close_gaps_merges_only_near_runs() {
        let mut runs = vec![(10, 20), (23, 40), (50, 52)];
        close_gaps(&mut runs, 3);
        assert_eq!(runs, vec![(10, 40), (50, 52)]);
        let mut runs = vec![(10, 20), (23, 40)];
        close_gaps(&mut runs, 0);
        assert_eq!(runs, vec![(10, 20), (23, 40)]);
    }

    #[test]
    fn follows_a_straight_line_and_a_spike() {
        let (w, h) = (60, 40);
        let mut ink = vec![false; w * h];
        for x in 0..w {
            let y = if x == 30 { 5 } else { 20 };
            let (a, b) = if x == 30 { (5, 20) } else { (y, y + 1) };
            for yy in a..=b {
                ink[yy * w + x] = true;
            }
        }
        // A distractor line far away.
        for x in 0..w {
            ink[35 * w + x] = true;
        }
        let mask = Mask { w, h, ink };
        let f = follow(&mask, 0, w, 0, h - 1, 20.0, 4.0, 2.0, &[]);
        assert_eq!(f.found, 1.0);
        assert!((f.y[10] - 20.5).abs() < 0.01);
        assert!(f.y[30] < 7.0, "peak kept: {}", f.y[30]);
    }

    #[test]
    fn a_tall_spike_through_the_baseline_costs_no_more_than_the_baseline() {
        // 4 px/mm; an R wave 60 mm tall (240 px) rising from the baseline at y = 300, over
        // three columns. Priced by its centre, 120 px off the baseline, each column cost more
        // than skipping it, and the spike was lost; priced by its nearest point (on the
        // baseline) it is followed to its top.
        let (w, h) = (120, 320);
        let mut ink = vec![false; w * h];
        for x in 0..w {
            let (a, b) = match x {
                60 | 62 => (150, 301),
                61 => (60, 301),
                _ => (300, 301),
            };
            for y in a..=b {
                ink[y * w + x] = true;
            }
        }
        let mask = Mask { w, h, ink };
        let f = follow(&mask, 0, w, 0, h - 1, 300.0, 4.0, 2.0, &[]);
        assert!(f.y[61] < 65.0, "spike top read at {}", f.y[61]);
        assert!((f.y[20] - 300.5).abs() < 0.01);
    }

    /// A mask `h` pixels tall with the runs `runs[x]` (inclusive) in column `x`.
    fn runs_mask(h: usize, runs: &[Vec<(usize, usize)>]) -> Mask {
        let w = runs.len();
        let mut ink = vec![false; w * h];
        for (x, rs) in runs.iter().enumerate() {
            for &(a, b) in rs {
                for y in a..=b {
                    ink[y * w + x] = true;
                }
            }
        }
        Mask { w, h, ink }
    }

    /// A mask with at most one run per column.
    fn column_mask(h: usize, runs: &[Option<(usize, usize)>]) -> Mask {
        let runs: Vec<Vec<(usize, usize)>> =
            runs.iter().map(|r| r.iter().copied().collect()).collect();
        runs_mask(h, &runs)
    }

    #[test]
    fn a_broken_stroke_is_followed_to_its_trough_past_specks_nearer_the_baseline() {
        // 8 px/mm, 3 px line at y 99–101. An S wave in columns 40–44 whose downstroke
        // breaks in two (as a photo's faint stroke does), with a speck of noise (y 120)
        // in the trough's columns: at full pull the follower took the speck, nearer the
        // baseline, and read the S wave at a third of its depth.
        let base = (99, 101);
        let mut runs: Vec<Vec<(usize, usize)>> = vec![vec![base]; 90];
        runs[40] = vec![(99, 140)];
        runs[41] = vec![(120, 121), (126, 170)];
        runs[42] = vec![(120, 121), (130, 176)];
        runs[43] = vec![(110, 150)];
        runs[44] = vec![(99, 130)];
        // A label's stroke beside the trace (not joined to it) and a shadow (wide).
        runs[60] = vec![base, (150, 180)];
        runs[61] = vec![base, (150, 180)];
        for r in &mut runs[10..31] {
            r[0] = (99, 140);
        }
        let factors = stroke_pull_factors(&runs, 100.0, 8.0, 3.0);
        assert!(
            factors[41][1] < 0.2 && factors[42][1] < 0.2,
            "{:?}",
            &factors[40..45]
        );
        assert_eq!(factors[41][0], 1.0, "a speck is no stroke");
        assert_eq!(factors[60][1], 1.0, "a stroke not joined to the trace");
        assert_eq!(factors[20][0], 1.0, "a wide blob");
        assert_eq!(factors[0][0], 1.0, "a plain line");
        let mask = runs_mask(200, &runs);
        let f = follow(&mask, 0, 90, 40, 199, 100.0, 8.0, 3.0, &[]);
        let deepest = f.y[40..45].iter().copied().fold(f32::MIN, f32::max);
        assert!(
            deepest > 170.0,
            "trough read at {deepest} ({:?})",
            &f.spans[40..45]
        );
    }

    #[test]
    fn a_tip_over_two_columns_is_read_at_its_tip_and_a_bar_across_the_baseline_is_not() {
        // Baseline at y 100 (2 px line). An R wave whose tip (y 40) is drawn in columns
        // 29 and 30: both end at the same pixel, and both are the tip (read at their
        // centre, it came out 20 px short). A separator bar (y 80–120) across the
        // baseline in columns 50–52, the first merged with an S wave's upstroke: no tip.
        let mut runs: Vec<Option<(usize, usize)>> = vec![Some((100, 101)); 80];
        runs[28] = Some((60, 101));
        runs[29] = Some((40, 80));
        runs[30] = Some((40, 85));
        runs[31] = Some((70, 101));
        runs[49] = Some((110, 125));
        runs[50] = Some((80, 118));
        runs[51] = Some((80, 120));
        runs[52] = Some((80, 120));
        let mask = column_mask(160, &runs);
        let f = follow(&mask, 0, 80, 0, 159, 100.0, 4.0, 2.0, &[]);
        assert!((f.y[29] - 40.5).abs() < 0.01, "tip {}", f.y[29]);
        assert!((f.y[30] - 40.5).abs() < 0.01, "tip {}", f.y[30]);
        for c in 50..=52 {
            assert!(
                (f.y[c] - 100.0).abs() < 2.0,
                "bar column {c} read at {}",
                f.y[c]
            );
        }
        // A flat stretch is no tip either: the baseline reads at its centre.
        assert!((f.y[10] - 100.5).abs() < 0.01);
    }

    /// A followed trace with `y` and each column's run `span` (± 1 px about `y` unless
    /// given).
    fn followed(y: Vec<f32>, merged: &[(usize, (usize, usize))]) -> Followed {
        let mut spans: Vec<Option<(usize, usize)>> = y
            .iter()
            .map(|v| Some(((v - 1.0) as usize, (v + 1.0) as usize)))
            .collect();
        for &(c, run) in merged {
            spans[c] = Some(run);
        }
        Followed {
            x0: 0,
            y,
            found: 1.0,
            jumps: 0.0,
            spans,
        }
    }

    #[test]
    fn strokes_of_neighbouring_rows_merged_in_one_run_are_rebuilt_from_each_row() {
        // Row A (baseline 100) dips to an S wave at y 170 in column 50 while row B below
        // (baseline 200) rises to an R wave at y 120: in columns 48–52 the two strokes are
        // one run (110–190), and each row read that run's far end (the other row's
        // stroke). Each is rebuilt as its own two strokes extended to their tip.
        let n = 80;
        let wave = |base: f32, slope: f32| -> Vec<f32> {
            (0..n)
                .map(|c| {
                    let d = (c as f32 - 50.0).abs();
                    if d < 5.0 {
                        base + slope * (5.0 - d)
                    } else {
                        base
                    }
                })
                .collect()
        };
        let (mut a_true, mut b_true) = (wave(100.0, 14.0), wave(200.0, -16.0));
        a_true[50] = 170.0;
        b_true[50] = 120.0;
        let merged: Vec<(usize, (usize, usize))> = (48..=52).map(|c| (c, (110, 190))).collect();
        let mut a_read = a_true.clone();
        let mut b_read = b_true.clone();
        for c in 48..=52 {
            a_read[c] = 189.5;
            b_read[c] = 110.5;
        }
        let mut rows = vec![followed(a_read, &merged), followed(b_read, &merged)];
        resolve_shared(&mut rows, 12);
        for c in 45..=55 {
            assert!(
                (rows[0].y[c] - a_true[c]).abs() < 1.0,
                "A {c}: {} vs {}",
                rows[0].y[c],
                a_true[c]
            );
            assert!(
                (rows[1].y[c] - b_true[c]).abs() < 1.0,
                "B {c}: {} vs {}",
                rows[1].y[c],
                b_true[c]
            );
        }
        // Shared for longer than a complex: one row follows the other's trace, left as read.
        let long: Vec<(usize, (usize, usize))> = (20..=60).map(|c| (c, (110, 190))).collect();
        let mut rows = vec![
            followed(vec![150.0; n], &long),
            followed(vec![150.0; n], &long),
        ];
        resolve_shared(&mut rows, 12);
        assert!(rows[0].y.iter().all(|&v| v == 150.0));
    }

    #[test]
    fn separator_bars_near_cell_boundaries_are_blanked_and_nothing_else() {
        // Baseline at y 100, 2 px lines; a separator bar (y 80–120) in columns 40–43, the
        // R wave's downstroke merged into it in column 39; a QRS crossing the baseline in
        // columns 70–71 with different runs (no bar), and a bar far from any boundary.
        let mut spans: Vec<Option<(usize, usize)>> = vec![Some((99, 101)); 120];
        spans[38] = Some((50, 70));
        spans[39] = Some((60, 120));
        spans[40..=43].fill(Some((80, 120)));
        spans[70] = Some((60, 110));
        spans[71] = Some((70, 125));
        spans[100] = Some((80, 120));
        spans[101] = Some((80, 120));
        let y: Vec<f32> = spans
            .iter()
            .map(|s| s.map_or(f32::NAN, |(a, b)| (a + b) as f32 / 2.0))
            .collect();
        let mut f = Followed {
            x0: 10,
            y: y.clone(),
            found: 1.0,
            jumps: 0.0,
            spans,
        };
        // Boundaries at image columns 52 and 81 (box columns 42 and 71), 5 columns' reach.
        blank_bars(&mut f, 100.0, &[52, 81], 5, 2.0);
        for (c, (got, was)) in f.y.iter().zip(&y).enumerate() {
            if (39..=43).contains(&c) {
                assert!(got.is_nan(), "bar column {c} kept at {got}");
            } else {
                assert_eq!(got, was, "column {c}");
            }
        }
    }

    #[test]
    fn untaken_strokes_are_counted_and_grid_lines_text_and_neighbours_are_not() {
        // Baseline trace at y 100 (2 px); an R wave stroke broken off the baseline (y
        // 40–92, a faint photo) in columns 40–41; a vertical grid line through the trace
        // (y 60–140) in column 70; a glyph of text (y 140–150) in column 90; a
        // neighbour's tall stroke reaching down near this baseline (y 20–95) in column 110.
        let mut runs: Vec<Vec<(usize, usize)>> = vec![vec![(99, 101)]; 130];
        runs[40] = vec![(40, 92), (99, 101)];
        runs[41] = vec![(40, 92), (99, 101)];
        runs[70] = vec![(60, 140)];
        runs[90].push((140, 150));
        runs[110] = vec![(20, 95), (99, 101)];
        let mask = runs_mask(200, &runs);
        let path = |spans: Vec<Option<(usize, usize)>>| Followed {
            x0: 0,
            y: vec![100.0; spans.len()],
            found: 1.0,
            jumps: 0.0,
            spans,
        };
        let mut took = vec![Some((99, 101)); 130];
        took[40] = Some((40, 92));
        took[41] = Some((40, 92));
        let bridged = path(vec![Some((99, 101)); 130]);
        let took = path(took);
        let mut theirs = vec![None; 130];
        theirs[110] = Some((20, 95));
        let neighbour = path(theirs);
        let share = |f: &Followed, others: &[&Followed]| {
            untaken_stroke_share(
                &mask,
                f,
                others,
                (0, 130),
                (0, 199),
                100.0,
                2.0,
                (10, 10.0),
                &[],
                20,
            )
        };
        // The stroke taken: nothing left (the grid line, text and neighbour's stroke
        // do not count).
        assert_eq!(share(&took, &[&neighbour]), Some(0.0));
        // The stroke bridged along the baseline: all the strokes are left (the
        // baseline's own runs are too short to count).
        assert_eq!(share(&bridged, &[&neighbour]), Some(1.0));
        // Without the neighbour's path its stroke counts against this one.
        let alone = share(&took, &[]).unwrap();
        assert!((alone - 76.0 / 182.0).abs() < 1e-6, "{alone}");
    }
}
