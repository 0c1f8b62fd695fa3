//! Reading the printed lead labels (I, II, III, aVR, aVL, aVF, V1–V6, and on 15-lead
//! pages the extra leads V3R, V4R, V5R, V7, V8, V9) by template matching, to tell which
//! lead each trace is.
//!
//! Templates are whole labels rendered once from DejaVu Sans and a Helvetica clone
//! (`assets/labels/`, see its README). On the page, a label is a small group of ink
//! components that are not the trace: the ink mask less every followed trace (and less
//! long straight strokes such as calibration pulses and separators) is split into
//! 8-connected components of letter size, neighbours on one line are grouped into words,
//! and each word is compared with every template stretched to the word's box
//! (normalised cross-correlation, less a penalty for a different aspect ratio).
//! The extra leads' templates are matched only where a 15-lead page's labels are looked
//! for ([`read_label_with`] with `extra`), so 12-lead readings do not depend on them.
//!
//! Units: pixels of the deskewed working image; mm where named.

use crate::trace::Mask;
use ecgcore::paper::ExtraLead;
use ecgcore::StandardLead;
use std::sync::OnceLock;

struct Template {
    lead: StandardLead,
    /// `Some` for an extra lead's template (then `lead` is unused).
    extra: Option<ExtraLead>,
    w: usize,
    h: usize,
    /// Ink 0–1, row-major.
    ink: Vec<f32>,
}

fn templates() -> &'static [Template] {
    static CELL: OnceLock<Vec<Template>> = OnceLock::new();
    CELL.get_or_init(|| {
        use StandardLead as L;
        let files: [(StandardLead, &[u8]); 36] = [
            (
                L::I,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_I.png"
                )),
            ),
            (
                L::II,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_II.png"
                )),
            ),
            (
                L::III,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_III.png"
                )),
            ),
            (
                L::AVR,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_aVR.png"
                )),
            ),
            (
                L::AVL,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_aVL.png"
                )),
            ),
            (
                L::AVF,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_aVF.png"
                )),
            ),
            (
                L::V1,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_V1.png"
                )),
            ),
            (
                L::V2,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_V2.png"
                )),
            ),
            (
                L::V3,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_V3.png"
                )),
            ),
            (
                L::V4,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_V4.png"
                )),
            ),
            (
                L::V5,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_V5.png"
                )),
            ),
            (
                L::V6,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/DejaVu-Sans_V6.png"
                )),
            ),
            (
                L::I,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_I.png"
                )),
            ),
            (
                L::II,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_II.png"
                )),
            ),
            (
                L::III,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_III.png"
                )),
            ),
            (
                L::AVR,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_aVR.png"
                )),
            ),
            (
                L::AVL,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_aVL.png"
                )),
            ),
            (
                L::AVF,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_aVF.png"
                )),
            ),
            (
                L::V1,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_V1.png"
                )),
            ),
            (
                L::V2,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_V2.png"
                )),
            ),
            (
                L::V3,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_V3.png"
                )),
            ),
            (
                L::V4,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_V4.png"
                )),
            ),
            (
                L::V5,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_V5.png"
                )),
            ),
            (
                L::V6,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica_V6.png"
                )),
            ),
            (
                L::I,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_I.png"
                )),
            ),
            (
                L::II,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_II.png"
                )),
            ),
            (
                L::III,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_III.png"
                )),
            ),
            (
                L::AVR,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_aVR.png"
                )),
            ),
            (
                L::AVL,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_aVL.png"
                )),
            ),
            (
                L::AVF,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_aVF.png"
                )),
            ),
            (
                L::V1,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_V1.png"
                )),
            ),
            (
                L::V2,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_V2.png"
                )),
            ),
            (
                L::V3,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_V3.png"
                )),
            ),
            (
                L::V4,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_V4.png"
                )),
            ),
            (
                L::V5,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_V5.png"
                )),
            ),
            (
                L::V6,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/Helvetica-Bold_V6.png"
                )),
            ),
        ];
        let extra_files = extra_template_files();
        files
            .iter()
            .map(|(lead, bytes)| (*lead, None, *bytes))
            .chain(
                extra_files
                    .iter()
                    .map(|(x, bytes)| (StandardLead::I, Some(*x), *bytes)),
            )
            .filter_map(|(lead, extra, bytes)| {
                let img = image::load_from_memory(bytes).ok()?.to_luma8();
                Some(Template {
                    lead,
                    extra,
                    w: img.width() as usize,
                    h: img.height() as usize,
                    ink: img
                        .pixels()
                        .map(|p| 1.0 - f32::from(p.0[0]) / 255.0)
                        .collect(),
                })
            })
            .collect()
    })
}

/// The extra leads' templates (15-lead pages), rendered like the standard ones.
fn extra_template_files() -> [(ExtraLead, &'static [u8]); 18] {
    use ExtraLead as X;
    macro_rules! t {
        ($lead:expr, $file:literal) => {
            (
                $lead,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/labels/",
                    $file
                )) as &[u8],
            )
        };
    }
    [
        t!(X::V3R, "DejaVu-Sans_V3R.png"),
        t!(X::V4R, "DejaVu-Sans_V4R.png"),
        t!(X::V5R, "DejaVu-Sans_V5R.png"),
        t!(X::V7, "DejaVu-Sans_V7.png"),
        t!(X::V8, "DejaVu-Sans_V8.png"),
        t!(X::V9, "DejaVu-Sans_V9.png"),
        t!(X::V3R, "Helvetica_V3R.png"),
        t!(X::V4R, "Helvetica_V4R.png"),
        t!(X::V5R, "Helvetica_V5R.png"),
        t!(X::V7, "Helvetica_V7.png"),
        t!(X::V8, "Helvetica_V8.png"),
        t!(X::V9, "Helvetica_V9.png"),
        t!(X::V3R, "Helvetica-Bold_V3R.png"),
        t!(X::V4R, "Helvetica-Bold_V4R.png"),
        t!(X::V5R, "Helvetica-Bold_V5R.png"),
        t!(X::V7, "Helvetica-Bold_V7.png"),
        t!(X::V8, "Helvetica-Bold_V8.png"),
        t!(X::V9, "Helvetica-Bold_V9.png"),
    ]
}

/// A word of ink found near a label position.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// Bounding box, inclusive, working-image pixels.
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
    /// Match score per lead in [`StandardLead::ALL`] order (about −1 to 1; a clear
    /// match is above 0.6).
    pub scores: [f32; 12],
    /// Match score per extra lead in [`ExtraLead::ALL`] order; −1 where the extra
    /// leads' templates were not tried.
    pub extra_scores: [f32; 6],
}

impl Word {
    /// The best-matching extra lead, its score and its margin over the best standard
    /// lead (negative: a standard lead matches better).
    pub fn best_extra(&self) -> (ExtraLead, f32, f32) {
        let (i, score) = self
            .extra_scores
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |b, (i, v)| if v > b.1 { (i, v) } else { b });
        let standard = self.scores.iter().copied().fold(f32::MIN, f32::max);
        (ExtraLead::ALL[i], score, score - standard)
    }

    /// The best-matching lead and its margin over the runner-up.
    pub fn best(&self) -> (StandardLead, f32, f32) {
        let mut idx: Vec<usize> = (0..12).collect();
        idx.sort_by(|a, b| self.scores[*b].total_cmp(&self.scores[*a]));
        (
            StandardLead::ALL[idx[0]],
            self.scores[idx[0]],
            self.scores[idx[0]] - self.scores[idx[1]],
        )
    }
}

/// Score a binary crop (row-major, `w`×`h`) against every template.
pub fn classify(crop: &[bool], w: usize, h: usize) -> [f32; 12] {
    classify_masked(crop, None, w, h)
}

/// [`classify`] ignoring the pixels where `care` is false (hidden under a trace).
pub fn classify_masked(crop: &[bool], care: Option<&[bool]>, w: usize, h: usize) -> [f32; 12] {
    classify_sets(crop, care, w, h, false).0
}

/// [`classify_masked`], and with `extra` the extra leads' scores too (else −1).
pub fn classify_sets(
    crop: &[bool],
    care: Option<&[bool]>,
    w: usize,
    h: usize,
    extra: bool,
) -> ([f32; 12], [f32; 6]) {
    let mut scores = [-1.0f32; 12];
    let mut extra_scores = [-1.0f32; 6];
    if w == 0 || h == 0 || crop.len() != w * h || care.is_some_and(|c| c.len() != w * h) {
        return (scores, extra_scores);
    }
    let keep = |i: usize| care.is_none_or(|c| c[i]);
    let n = (0..w * h).filter(|&i| keep(i)).count().max(1) as f32;
    let a: Vec<f32> = crop
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if !keep(i) {
                f32::NAN
            } else if *v {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let ma = a.iter().filter(|v| !v.is_nan()).sum::<f32>() / n;
    let va: f32 = a
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| (v - ma) * (v - ma))
        .sum();
    let aspect = w as f32 / h as f32;
    for t in templates().iter().filter(|t| extra || t.extra.is_none()) {
        // Template sampled at the crop's pixel centres (box average over the covered
        // template pixels would be better for big reductions; templates are ~30 px
        // tall and labels 10–40 px).
        let mut b = Vec::with_capacity(w * h);
        for y in 0..h {
            let ty = (((y as f32 + 0.5) * t.h as f32 / h as f32) as usize).min(t.h - 1);
            for x in 0..w {
                let tx = (((x as f32 + 0.5) * t.w as f32 / w as f32) as usize).min(t.w - 1);
                b.push(t.ink[ty * t.w + tx]);
            }
        }
        let pairs = || a.iter().zip(&b).filter(|(x, _)| !x.is_nan());
        let mb = pairs().map(|(_, y)| y).sum::<f32>() / n;
        let vb: f32 = pairs().map(|(_, v)| (v - mb) * (v - mb)).sum();
        let cov: f32 = pairs().map(|(x, y)| (x - ma) * (y - mb)).sum();
        // Agreement of the ink (1 = identical), and the correlation where both vary (a
        // lone "I" is a solid bar).
        let mad = pairs().map(|(x, y)| (x - y).abs()).sum::<f32>() / n;
        let agree = 1.0 - 2.0 * mad;
        let ncc = if va > 1e-3 * n && vb > 1e-3 * n {
            0.5 * (cov / (va * vb).sqrt() + agree)
        } else {
            agree
        };
        let t_aspect = t.w as f32 / t.h as f32;
        let s = ncc - 0.6 * (aspect / t_aspect).ln().abs();
        if let Some(x) = t.extra {
            let i = x.index();
            extra_scores[i] = extra_scores[i].max(s);
        } else {
            let i = t.lead.index();
            scores[i] = scores[i].max(s);
        }
    }
    (scores, extra_scores)
}

/// Ink that belongs to no trace: `mask` less `trace` (pixels on a followed trace),
/// restricted to the window `[x0, x1) × [y0, y1)`, with straight strokes longer than
/// a label's letters removed (calibration pulses, separators, grid remnants).
fn label_ink(
    mask: &Mask,
    trace: &[bool],
    (x0, x1, y0, y1): (usize, usize, usize, usize),
    px_per_mm: f32,
) -> (Vec<bool>, usize, usize) {
    let (w, h) = (x1.saturating_sub(x0), y1.saturating_sub(y0));
    let mut ink = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let (gx, gy) = (x0 + x, y0 + y);
            let i = gy * mask.w + gx;
            ink[y * w + x] = mask.at(gx, gy) && !trace.get(i).copied().unwrap_or(false);
        }
    }
    let max_v = (6.0 * px_per_mm).round() as usize;
    let max_h = (4.0 * px_per_mm).round() as usize;
    let mut clear = Vec::new();
    for x in 0..w {
        let mut y = 0;
        while y < h {
            if ink[y * w + x] {
                let s = y;
                while y < h && ink[y * w + x] {
                    y += 1;
                }
                if y - s > max_v {
                    clear.extend((s..y).map(|yy| yy * w + x));
                }
            } else {
                y += 1;
            }
        }
    }
    for y in 0..h {
        let mut x = 0;
        while x < w {
            if ink[y * w + x] {
                let s = x;
                while x < w && ink[y * w + x] {
                    x += 1;
                }
                if x - s > max_h {
                    clear.extend((s..x).map(|xx| y * w + xx));
                }
            } else {
                x += 1;
            }
        }
    }
    for i in clear {
        ink[i] = false;
    }
    (ink, w, h)
}

/// Connected components (8-connected) as bounding boxes `(x0, y0, x1, y1, pixels)`,
/// dropping those that touch the window's border.
fn components(ink: &[bool], w: usize, h: usize) -> Vec<(usize, usize, usize, usize, usize)> {
    let mut seen = vec![false; ink.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..ink.len() {
        if !ink[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut bx0, mut by0, mut bx1, mut by1, mut n) = (usize::MAX, usize::MAX, 0, 0, 0);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            bx0 = bx0.min(x);
            by0 = by0.min(y);
            bx1 = bx1.max(x);
            by1 = by1.max(y);
            n += 1;
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if ink[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let touches = bx0 == 0 || by0 == 0 || bx1 + 1 == w || by1 + 1 == h;
        if !touches {
            out.push((bx0, by0, bx1, by1, n));
        }
    }
    out
}

/// The label printed near `anchor` (x, y: where a lead's trace starts on its baseline),
/// searched in `[anchor.x − 3 mm, anchor.x + 16 mm] × [anchor.y − up, anchor.y + down]`:
/// the best-matching word whose left edge is within 8 mm of the anchor, or `None`.
pub fn read_label(
    mask: &Mask,
    trace: &[bool],
    anchor: (f32, f32),
    up: f32,
    down: f32,
    px_per_mm: f32,
) -> Option<Word> {
    read_label_with(mask, trace, anchor, up, down, px_per_mm, false)
}

/// [`read_label`]; with `extra` the extra leads' templates are tried too and count in
/// choosing the word (15-lead pages' fifth column).
pub fn read_label_with(
    mask: &Mask,
    trace: &[bool],
    anchor: (f32, f32),
    up: f32,
    down: f32,
    px_per_mm: f32,
    extra: bool,
) -> Option<Word> {
    let x0 = (anchor.0 - 3.0 * px_per_mm).max(0.0) as usize;
    let x1 = ((anchor.0 + 16.0 * px_per_mm).max(0.0) as usize).min(mask.w);
    let y0 = (anchor.1 - up).max(0.0) as usize;
    let y1 = ((anchor.1 + down).max(0.0) as usize).min(mask.h);
    if x1 <= x0 + 4 || y1 <= y0 + 4 {
        return None;
    }
    let (ink, w, h) = label_ink(mask, trace, (x0, x1, y0, y1), px_per_mm);
    let min_h = px_per_mm;
    let max_h = 6.0 * px_per_mm;
    let mut comps: Vec<_> = components(&ink, w, h)
        .into_iter()
        .filter(|c| {
            let (cw, ch) = ((c.2 - c.0 + 1) as f32, (c.3 - c.1 + 1) as f32);
            ch >= 0.25 * min_h && ch <= max_h && cw <= 5.0 * px_per_mm && c.4 >= 3
        })
        .collect();
    comps.sort_by_key(|c| c.0);
    // Group letters into words: vertical overlap and a small horizontal gap.
    let mut words: Vec<(usize, usize, usize, usize, usize)> = Vec::new();
    for c in comps {
        let joined = words.iter_mut().rev().find(|wd| {
            let overlap = c.3.min(wd.3) as isize - c.1.max(wd.1) as isize;
            let smaller = (c.3 - c.1).min(wd.3 - wd.1) as isize;
            let gap = c.0 as isize - wd.2 as isize;
            overlap * 2 >= smaller
                && gap <= (1.2 * px_per_mm) as isize
                && gap > -(px_per_mm as isize)
        });
        match joined {
            Some(wd) => {
                wd.0 = wd.0.min(c.0);
                wd.1 = wd.1.min(c.1);
                wd.2 = wd.2.max(c.2);
                wd.3 = wd.3.max(c.3);
                wd.4 += 1;
            }
            None => words.push((c.0, c.1, c.2, c.3, 1)),
        }
    }
    let ax = anchor.0 - x0 as f32;
    let ay = anchor.1 - y0 as f32;
    let mut best: Option<(f32, Word)> = None;
    for wd in words {
        let (ww, wh) = (wd.2 - wd.0 + 1, wd.3 - wd.1 + 1);
        if (wh as f32) < 1.3 * px_per_mm || wd.4 > 6 || ww as f32 > 12.0 * px_per_mm {
            continue;
        }
        if (wd.0 as f32 - ax).abs() > 8.0 * px_per_mm {
            continue;
        }
        let mut crop = Vec::with_capacity(ww * wh);
        let mut care = Vec::with_capacity(ww * wh);
        for y in wd.1..=wd.3 {
            for x in wd.0..=wd.2 {
                crop.push(ink[y * w + x]);
                let i = (y0 + y) * mask.w + x0 + x;
                care.push(!trace.get(i).copied().unwrap_or(false));
            }
        }
        // A solid block wider than 0.8 of its height (a filled box, a blot) is no label:
        // the one single-stroke name, "I", is a narrow bar; with part of the block hidden
        // under the trace it could still match "I".
        let fill = crop.iter().filter(|v| **v).count() as f32 / crop.len().max(1) as f32;
        if wd.4 == 1 && ww as f32 > 0.8 * wh as f32 && fill > 0.8 {
            continue;
        }
        let (scores, extra_scores) = classify_sets(&crop, Some(&care), ww, wh, extra);
        let top = scores
            .iter()
            .chain(&extra_scores)
            .copied()
            .fold(f32::MIN, f32::max);
        // Nearer words first at equal score.
        let cy = (wd.1 + wd.3) as f32 / 2.0;
        let dist = ((wd.0 as f32 - ax).abs() + 0.3 * (cy - ay).abs()) / (10.0 * px_per_mm);
        let rank = top - 0.1 * dist;
        if best.as_ref().is_none_or(|b| rank > b.0) {
            best = Some((
                rank,
                Word {
                    x0: x0 + wd.0,
                    y0: y0 + wd.1,
                    x1: x0 + wd.2,
                    y1: y0 + wd.3,
                    scores,
                    extra_scores,
                },
            ));
        }
    }
    best.map(|b| b.1)
}

/// The words read on one trace row where its cells may start.
#[derive(Debug, Clone, Copy)]
pub struct RowLabels<'a> {
    /// The row's baseline, working-image pixels.
    pub baseline_y: f32,
    /// Where its cells may start: 0, 2.5, 5 and 7.5 s.
    pub column_x: [f32; 4],
    /// The word read at each (`None`: nothing read).
    pub words: &'a [Option<Word>; 4],
}

/// Where the labels the followed paths hid lie. A path that runs along a label's strokes
/// (a faint stretch of trace beside a dark label, on a photo) hides the label from
/// [`read_label`], which reads the ink off the paths, so the label is not kept off
/// either. Printers set every label of a page at the same place in its cell, so where
/// labels were read at one place in at least two of the columns after the first (2.5, 5
/// and 7.5 s: a page whose every cell is labelled, as a 3×4 page, not a 6×2 or 12×1
/// page), each cell of those columns where no label was read has its box at that place.
///
/// The place: the largest group of legible labels whose starts and heights (relative to
/// the cell's start and the row's baseline) agree within 1.5 mm, at least two, their
/// median; as wide as the widest of them ("V1" and "aVR" differ), 0.5 mm wider each way.
/// Reads of the limb leads' names do not count: no usual layout prints I, II or III after
/// its first column, and a lone QRS stroke left off a path reads as "I".
///
/// `rows`: each row's labels as `lib` reads them; `min_score`: what counts as legible.
/// The boxes only keep paths off, they name no lead.
pub fn hidden_label_boxes(
    rows: &[RowLabels<'_>],
    px_per_mm: f32,
    min_score: f32,
) -> Vec<[usize; 4]> {
    use StandardLead::{I, II, III};
    // A label read there (the limb leads' names are not read there: see above).
    let named = |w: &Word| {
        let (lead, score, _) = w.best();
        score > min_score && !matches!(lead, I | II | III)
    };
    // (column, [start x, top, right x, bottom] relative to the cell).
    let mut placed: Vec<(usize, [f32; 4])> = Vec::new();
    for row in rows {
        for (k, w) in row.words.iter().enumerate().skip(1) {
            let Some(w) = w.as_ref().filter(|w| named(w)) else {
                continue;
            };
            let cx = row.column_x[k];
            let o = [
                w.x0 as f32 - cx,
                w.y0 as f32 - row.baseline_y,
                w.x1 as f32 - cx,
                w.y1 as f32 - row.baseline_y,
            ];
            placed.push((k, o));
        }
    }
    let tol = 1.5 * px_per_mm;
    let agree = |a: &[f32; 4], b: &[f32; 4]| [0, 1, 3].iter().all(|&i| (a[i] - b[i]).abs() <= tol);
    let Some(group) = placed
        .iter()
        .map(|(_, a)| {
            placed
                .iter()
                .filter(|(_, b)| agree(a, b))
                .collect::<Vec<_>>()
        })
        .max_by_key(Vec::len)
    else {
        return Vec::new();
    };
    let mut columns: Vec<usize> = group.iter().map(|(k, _)| *k).collect();
    columns.sort_unstable();
    columns.dedup();
    if group.len() < 2 || columns.len() < 2 {
        return Vec::new();
    }
    let median = |i: usize| {
        let mut v: Vec<f32> = group.iter().map(|(_, o)| o[i]).collect();
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    let widest = group
        .iter()
        .map(|(_, o)| o[2] - o[0])
        .fold(0.0f32, f32::max);
    let (left, top, bottom) = (median(0), median(1), median(3));
    let pad = 0.5 * px_per_mm;
    let at = |v: f32| v.max(0.0).round() as usize;
    let mut boxes = Vec::new();
    for row in rows {
        for (k, w) in row.words.iter().enumerate().skip(1) {
            if w.as_ref().is_some_and(named) {
                continue;
            }
            let cx = row.column_x[k];
            boxes.push([
                at(cx + left - pad),
                at(row.baseline_y + top - pad),
                at(cx + left + widest + pad),
                at(row.baseline_y + bottom + pad),
            ]);
        }
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(lead: StandardLead, scale: f32) -> (Vec<bool>, usize, usize) {
        let t = templates()
            .iter()
            .find(|t| t.lead == lead && t.extra.is_none())
            .expect("template");
        render_template(t, scale)
    }

    fn render_template(t: &Template, scale: f32) -> (Vec<bool>, usize, usize) {
        let w = ((t.w as f32 * scale).round() as usize).max(1);
        let h = ((t.h as f32 * scale).round() as usize).max(1);
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let tx = ((x as f32 + 0.5) / scale) as usize;
                let ty = ((y as f32 + 0.5) / scale) as usize;
                out.push(t.ink[ty.min(t.h - 1) * t.w + tx.min(t.w - 1)] > 0.5);
            }
        }
        (out, w, h)
    }

    /// A word read as `lead` (score 0.8, every other lead 0) with its box.
    fn word(lead: StandardLead, x0: usize, y0: usize, x1: usize, y1: usize) -> Word {
        let mut scores = [0.0; 12];
        scores[lead.index()] = 0.8;
        Word {
            x0,
            y0,
            x1,
            y1,
            scores,
            extra_scores: [-1.0; 6],
        }
    }

    #[test]
    fn hidden_labels_are_placed_where_the_pages_other_labels_are() {
        use StandardLead::*;
        // 8 px/mm, 200 px/s: cells every 500 px from x = 100; labels 4–8 mm below the
        // baseline, 1 px into the cell ("aVR" 64 px wide, "V1" 40).
        let mm = 8.0;
        let row = |baseline_y, words| RowLabels {
            baseline_y,
            column_x: [100.0, 600.0, 1100.0, 1600.0],
            words,
        };
        let at = |base: usize, k: usize, lead, w: usize| {
            Some(word(
                lead,
                101 + 500 * k,
                base + 32,
                101 + 500 * k + w,
                base + 64,
            ))
        };
        let row0 = [None, at(300, 1, AVR, 64), at(300, 2, V1, 40), None];
        // Row 1: V5's cell holds a QRS stroke read as "I" (well off the labels' place).
        let stroke = Some(word(I, 1610, 500, 1614, 560));
        let row1 = [None, at(600, 1, AVL, 64), None, stroke];
        let cells = [row(300.0, &row0), row(600.0, &row1)];
        let boxes = hidden_label_boxes(&cells, mm, 0.55);
        // V4, V2 and V5's cells, as wide as "aVR", 4 px (0.5 mm) more each way.
        assert_eq!(
            boxes,
            [
                [1597, 328, 1669, 368],
                [1097, 628, 1169, 668],
                [1597, 628, 1669, 668]
            ]
        );
        // Labels read in one column only (a 6×2 page's second column): no boxes.
        let row0 = [None, None, at(300, 2, V1, 40), None];
        let row1 = [None, None, at(600, 2, V2, 40), None];
        let cells = [row(300.0, &row0), row(600.0, &row1)];
        assert!(hidden_label_boxes(&cells, mm, 0.55).is_empty());
        // Labels that disagree on their place (over 1.5 mm): no boxes.
        let row0 = [None, at(300, 1, AVR, 64), None, None];
        let far = Some(word(V2, 1101, 600 - 60, 1141, 600 - 28));
        let row1 = [None, None, far, None];
        let cells = [row(300.0, &row0), row(600.0, &row1)];
        assert!(hidden_label_boxes(&cells, mm, 0.55).is_empty());
    }

    #[test]
    fn every_extra_label_template_is_recognised_at_small_sizes() {
        assert_eq!(templates().iter().filter(|t| t.extra.is_some()).count(), 18);
        for t in templates().iter().filter(|t| t.extra.is_some()) {
            let lead = t.extra.unwrap();
            for scale in [0.4, 0.6, 1.0] {
                let (crop, w, h) = render_template(t, scale);
                let (scores, extra_scores) = classify_sets(&crop, None, w, h, true);
                let word = Word {
                    x0: 0,
                    y0: 0,
                    x1: w,
                    y1: h,
                    scores,
                    extra_scores,
                };
                let (best, score, margin) = word.best_extra();
                assert_eq!(best, lead, "scale {scale}: {extra_scores:?}");
                assert!(score > 0.6, "{lead:?} at {scale}: {score}");
                assert!(
                    margin > 0.0,
                    "{lead:?} at {scale}: {margin} over {scores:?}"
                );
                // Without the extra templates the scores are unset.
                assert_eq!(classify_sets(&crop, None, w, h, false).1, [-1.0; 6]);
            }
        }
    }

    #[test]
    fn every_label_template_is_recognised_at_small_sizes() {
        assert_eq!(templates().len(), 54);
        for lead in StandardLead::ALL {
            for scale in [0.4, 0.6, 1.0] {
                let (crop, w, h) = render(lead, scale);
                let word = Word {
                    x0: 0,
                    y0: 0,
                    x1: w,
                    y1: h,
                    scores: classify(&crop, w, h),
                    extra_scores: [-1.0; 6],
                };
                let (best, score, _) = word.best();
                assert_eq!(best, lead, "scale {scale}: {:?}", word.scores);
                assert!(score > 0.6, "{lead:?} at {scale}: {score}");
            }
        }
    }
}
