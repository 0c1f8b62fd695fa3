//! ecgdigitize: scanned or photographed paper 12-lead ECGs become a [`Recording`].
//!
//! Pipeline (each step in its own module):
//! 1. [`load`]: decode PNG/JPEG/TIFF/BMP (PDF pages via `pdftoppm`) under memory limits;
//!    very large images are downscaled to [`WORK_MAX_PIXELS`].
//! 2. [`perspective`]: photographed pages whose grid lines converge are warped flat
//!    (vanishing points of the grid lines).
//!    [`grid`]: page skew by projection profiles; pixels per mm from the grid period.
//! 3. [`trace`]: ink mask (dark, unsaturated pixels), trace rows, calibration pulses,
//!    and a dynamic-programming trace follower per lead box. [`DigitizeOptions::rows`]
//!    sets the rows' baselines by hand ([`RowPositions`]: fractions of the image height,
//!    mapped through the rotation and perspective correction) where rows are missed;
//!    [`Digitized::row_baselines`] gives the rows read in the same coordinates.
//! 4. [`layout`]: the print layouts (3×4 + 0–3 rhythm strips of any leads, 6×2 and 12×1
//!    in the standard or ecg-image-kit's interleaved row order, with or without a strip)
//!    tell which lead each box holds and which seconds it shows. Every row is followed
//!    over its 10 s first; then the layout is chosen among those with that many rows by
//!    the printed lead labels ([`labels`]: template matching of label glyphs), a strip's
//!    lead by the block cell it repeats, and six rows whose last three repeat block
//!    cells are 3×4 with three strips. [`DigitizeOptions::layout`] forces a layout.
//!    15-lead pages ([`Layout::ThreeByFive`], 3–6 rows): labels are also read at the 2 s
//!    columns of the top three rows, the fifth column's with the extra leads' templates
//!    (V3R–V5R, V7–V9); the page is 3×5 when those labels fit it clearly better than the
//!    2.5 s columns' labels fit 3×4 and at least two fifth-column labels read as extra
//!    leads. The extra leads follow the twelve in the `Recording` under their printed
//!    names (not standard leads, so the model does not use them), and are in
//!    [`Digitized::extra_leads`].
//!    Partial pages (a crop or close-up photo showing some leads): when the rows fit no
//!    full layout, or the legible labels contradict the one chosen, every legible label
//!    along each row names the trace from there to the next label ([`Layout::Partial`];
//!    `Layout::parse("partial")` forces it). A cell's seconds come from its distance to
//!    the calibration pulse (column position) or, without one, from 0 s; the leads not
//!    on the page are missing (`NaN`), `lead_source` is [`LeadSource::Label`] for those
//!    read, and the provenance notes say "partial page" and name them. No legible label:
//!    [`DigitizeError::UnknownLayout`] (or [`DigitizeError::NoLabels`] when forced).
//! 5. [`confidence`]: per lead, the share of the cell on ink, jumps between traces,
//!    amplitude plausibility, Einthoven's and Goldberger's laws, a strip that does not
//!    repeat its cell, and labels that name other leads.
//! 6. Samples are converted to mV at the detected gain (calibration pulse height, else
//!    10 mm/mV) and taken 500 times per 25 mm of paper over the 250 mm row; the paper
//!    speed (set by hand, else 50 mm/s where the pulses are 10 mm wide, a 0.2 s pulse at
//!    that speed, else 25 mm/s) only sets the recording's sample rate (500 Hz and 10 s at
//!    25 mm/s, 1000 Hz and 5 s at 50 mm/s). Samples the image does not show are `NaN`.
//!
//! Product code only: measuring the result against ground truth (SNR as in the 2024
//! PhysioNet challenge) on ecg-image-kit renders and on synthetic pages, and the page
//! renderer that draws those, are the lab's (`ecglab::digitizer_eval`,
//! `ecglab::paper_render`).
//!
//! Units: pixels of the original image for everything a caller draws; mm, s, mV as named.
//!
//! Debugging: with `ECGDIGITIZE_DEBUG` set, the trace-row candidates, the chosen rows,
//! the labels read per row, the strip correlations and the law factors go to stderr;
//! with `ECGDIGITIZE_DEBUG_MASK=PATH.png` each pass's working ink mask is saved as
//! `PATH.WxH.png` (and its ink score beside it, `PATH.WxH.ink.png`); `examples/overlay.rs` draws the
//! followed traces and lead boxes over the image and `ecglab`'s example `kit_eval`
//! prints the per-set SNR table.
//!
//! ```no_run
//! use ecgdigitize::{digitize_path, DigitizeOptions};
//! let result = digitize_path(std::path::Path::new("scan.png"), &DigitizeOptions::default())?;
//! println!("{} at {:.2} px/mm", result.layout, result.px_per_mm);
//! # Ok::<(), ecgdigitize::DigitizeError>(())
//! ```

pub mod confidence;
pub mod grid;
/// The paper layouts (defined once, in `ecgcore::paper`).
pub mod layout {
    pub use ecgcore::paper::{
        Cell, ExtraCell, ExtraLead, Layout, Partial, PartialCell, PAGE_DURATION_S,
        THREE_BY_FIVE_COLUMN_S, THREE_BY_FOUR_COLUMN_S,
    };
}
pub mod labels;
pub mod load;
pub mod perspective;
pub mod plane;
pub mod trace;

pub use ecgcore::paper::ExtraLead;
pub use layout::{Cell, Layout, Partial, PartialCell};

use ecgcore::{Lead, Provenance, Recording, StandardLead};
use image::RgbImage;
use plane::Plane;
use std::path::{Path, PathBuf};

/// Output sample rate, Hz.
pub const OUTPUT_RATE_HZ: f64 = 500.0;
/// Images above this many pixels are downscaled before processing.
pub const WORK_MAX_PIXELS: u64 = 16_000_000;
/// Standard paper speed, mm/s.
pub const DEFAULT_SPEED_MM_PER_S: f32 = 25.0;
/// Standard gain, mm/mV.
pub const DEFAULT_GAIN_MM_PER_MV: f32 = 10.0;

/// Paper speed told by the calibration pulses' width: most carts print a 0.2 s pulse,
/// 5 mm wide at 25 mm/s (many narrower, 3–5 mm, none wider on the pages measured). A
/// median width of 8–12 mm over at least two pulses is a 0.2 s pulse at 50 mm/s; anything
/// else says nothing (25 mm/s is assumed, the speed can be set by hand).
fn speed_from_pulses(pulses: &[Option<trace::Pulse>], px_per_mm: f32) -> Option<f32> {
    let mut widths: Vec<f32> = pulses
        .iter()
        .flatten()
        .map(|p| p.width_px / px_per_mm)
        .collect();
    if widths.len() < 2 || px_per_mm.is_nan() || px_per_mm <= 0.0 {
        return None;
    }
    widths.sort_by(f32::total_cmp);
    let median = widths[widths.len() / 2];
    (8.0..=12.0).contains(&median).then_some(50.0)
}

/// Where a cell lies on its trace row.
struct CellSpan {
    row: usize,
    /// Columns of the working image.
    xa: usize,
    xb: usize,
    start_s: f32,
    end_s: f32,
    /// The cell's box in the original image, clockwise from the top-left.
    corners: [[f32; 2]; 4],
}

/// What was read in a cell.
struct CellRead {
    /// `n_out` samples in mV (`NaN` where not shown).
    values: Vec<f32>,
    /// [`cell_confidence`].
    confidence: f32,
    /// The followed trace in original image pixels.
    trace_pixels: Vec<[f32; 2]>,
    /// Whether any sample was read.
    any_trace: bool,
}

/// One cell's samples cut from its row's followed trace.
struct Sampled<'a> {
    /// `n_out` samples in mV, `NaN` outside `first..last` and where the trace was lost
    /// for more than 0.2 s.
    values: Vec<f32>,
    first: usize,
    last: usize,
    /// The cell's columns `a..b` in the trace's box, and the trace heights there.
    a: usize,
    b: usize,
    ys: &'a [f32],
}

/// Sample the cell `(start_s, end_s)` (page seconds) of the followed trace `f` between
/// image columns `xa..xb` at [`OUTPUT_RATE_HZ`]: `x_start` is the row's 0 s column and
/// `baseline_y` its 0 mV height; `(px_per_s, px_per_mv)` the scales.
fn sample_cell(
    f: &trace::Followed,
    (xa, xb): (usize, usize),
    (start_s, end_s): (f32, f32),
    (x_start, baseline_y): (f32, f32),
    (px_per_s, px_per_mv): (f32, f32),
    n_out: usize,
) -> Sampled<'_> {
    let a = xa.saturating_sub(f.x0).min(f.y.len());
    let b = xb.saturating_sub(f.x0).min(f.y.len());
    let ys = &f.y[a..b];
    let mut values = vec![f32::NAN; n_out];
    let first = (f64::from(start_s) * OUTPUT_RATE_HZ).round() as usize;
    let last = ((f64::from(end_s) * OUTPUT_RATE_HZ).round() as usize).min(n_out);
    for (n, v) in values.iter_mut().enumerate().take(last).skip(first) {
        let xf = x_start + (n as f32 / OUTPUT_RATE_HZ as f32) * px_per_s - (f.x0 + a) as f32;
        if let Some(y) = interpolate(ys, xf) {
            *v = (baseline_y - y) / px_per_mv;
        }
    }
    fill_gaps(&mut values[first..last], (0.2 * OUTPUT_RATE_HZ) as usize);
    Sampled {
        values,
        first,
        last,
        a,
        b,
        ys,
    }
}

/// A cell's confidence before the cross-checks: the share of its columns on ink, less
/// three times the share of steps that jumped between traces, halved where the amplitude
/// is implausible (over 8 mV peak to peak is rarely a lead: two traces merged; under
/// 0.05 mV is a flat line: no trace found, the baseline bridged). `shown`: its samples,
/// `(a, b)`: its columns in the trace's box.
fn cell_confidence(
    shown: &[f32],
    f: &trace::Followed,
    (a, b): (usize, usize),
    px_per_mm: f32,
) -> f32 {
    let (lo, hi) = shown
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let plausible = if hi - lo > 8.0 || hi - lo < 0.05 {
        0.5
    } else {
        1.0
    };
    let (found, jumps) = f.quality(a, b, px_per_mm);
    (found * (1.0 - 3.0 * jumps)).clamp(0.0, 1.0) * plausible
}

/// How far a cell's untaken steep strokes ([`trace::untaken_stroke_share`]) lower its
/// confidence: not at all up to a quarter of them (a neighbour's complex that its own path
/// did not claim, a stray mark), to 0.3 where 55 % or more were left (its QRS bridged
/// along the baseline). On the ecg-image-kit pages (`kit_eval`'s last table) it takes the
/// leads read below 3 dB that keep confidence 0.5 from 11 of 28 to 7, and leaves those read
/// at 12 dB or more as they were (589 of 597).
fn untaken_factor(share: Option<f32>) -> f32 {
    share.map_or(1.0, |s| (1.0 - 0.7 * (s - 0.25) / 0.3).clamp(0.3, 1.0))
}

/// Why an image could not be digitized. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DigitizeError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("not a readable image ({reason}): {}", path.display())]
    Decode { reason: String, path: PathBuf },
    #[error("image is too large ({what}): {}", path.display())]
    TooLarge { what: String, path: PathBuf },
    #[error("image is too small to hold an ECG ({width}×{height} pixels): {}", path.display())]
    TooSmall {
        width: u32,
        height: u32,
        path: PathBuf,
    },
    #[error("cannot read the PDF page ({reason}): {}", path.display())]
    Pdf { reason: String, path: PathBuf },
    #[error("no ECG grid and no full-width trace rows found, so the scale is unknown (set the pixels per mm, --px-per-mm): {}", path.display())]
    NoGrid { path: PathBuf },
    #[error("no ECG trace found on the page: {}", path.display())]
    NoTrace { path: PathBuf },
    #[error("the page layout is not recognised ({rows} trace rows found{}; 3×4 needs 3–6, 6×2 needs 6–7, 12×1 needs 12–13; a crop showing only some leads needs legible lead labels, and none were read): set the layout (--layout 3x4+II, 6x2+II, 12x1, …) and, where rows were missed, the rows' baselines (--rows 0.2,0.4,0.6,0.85: fractions of the image height from the top); in the viewer: the page panel, Layout, and drag the row bands; then re-run: {}", rows_at(found_rows), path.display())]
    UnknownLayout {
        rows: usize,
        /// The trace rows found, as [`RowPositions`] (fractions of the image height): a
        /// start for setting them by hand.
        found_rows: Vec<f32>,
        path: PathBuf,
    },
    #[error("read as a partial page, but no lead label was legible on its {rows} trace rows, so no lead can be named: set the page's full layout (--layout 3x4+II, 6x2+II, 12x1, …; in the viewer: the page panel, Layout) or include the printed lead labels in the crop, and re-run: {}", path.display())]
    NoLabels { rows: usize, path: PathBuf },
    #[error("the layout {layout} needs {want} trace rows but only {found} were found{}: set the rows' baselines by hand (--rows with {want} fractions of the image height from the top, e.g. 0.2,0.4,0.6,0.85; in the viewer: drag the row bands, add or remove rows, and re-run), or check the pixels per mm (--px-per-mm) or crop the image to the ECG: {}", rows_at(found_rows), path.display())]
    RowsNotFound {
        layout: String,
        want: usize,
        found: usize,
        /// The trace rows found, as for `UnknownLayout`.
        found_rows: Vec<f32>,
        path: PathBuf,
    },
    #[error("invalid digitizer setting ({what}): {}", path.display())]
    BadOption { what: String, path: PathBuf },
}

/// " (at 0.61, 0.86 of the image height)" for the rows an error found, to start `--rows`
/// from; empty without any.
fn rows_at(found: &[f32]) -> String {
    if found.is_empty() {
        return String::new();
    }
    let v: Vec<String> = found.iter().map(|f| format!("{f:.2}")).collect();
    format!(" (at {} of the image height)", v.join(", "))
}

impl DigitizeError {
    /// The trace rows the failed read found (as [`RowPositions`] fractions), where the
    /// error asks for rows or a layout: the viewer's best guess to start the bands from.
    pub fn found_rows(&self) -> &[f32] {
        match self {
            DigitizeError::UnknownLayout { found_rows, .. }
            | DigitizeError::RowsNotFound { found_rows, .. } => found_rows,
            _ => &[],
        }
    }
}

/// Settings a user may fix by hand and re-run with; `None` means "detect".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DigitizeOptions {
    /// Pixels per millimetre of paper in the original image (both axes).
    pub px_per_mm: Option<f32>,
    /// Paper speed, mm/s (default: from the calibration pulses' width, else 25).
    pub speed_mm_per_s: Option<f32>,
    /// Gain, mm/mV (default: from the calibration pulse, else 10).
    pub gain_mm_per_mv: Option<f32>,
    /// Print layout. `Layout::Partial` (with or without leads: `Layout::parse("partial")`)
    /// reads only the leads whose printed labels are legible, wherever they are.
    pub layout: Option<Layout>,
    /// Page rotation, degrees clockwise on screen (see [`Digitized::rotation_deg`]).
    pub rotation_deg: Option<f32>,
    /// Perspective correction for photos: `None` or `Some(true)` detect and correct it,
    /// `Some(false)` never warps the image.
    pub correct_perspective: Option<bool>,
    /// The trace rows' baselines set by hand (see [`RowPositions`]): they replace the
    /// rows the digitizer would find. With a full `layout` their number must be its row
    /// count; without one the layout is chosen from their number as usual.
    pub rows: Option<RowPositions>,
}

/// Most trace rows that can be set by hand.
pub const MAX_HAND_ROWS: usize = 16;

/// Hand-set rows closer than this are refused, mm of paper.
pub const MIN_HAND_ROW_GAP_MM: f32 = 5.0;

/// The trace rows' baselines set by hand, top to bottom, each as a fraction of the
/// original image's height (0 = top edge, 1 = bottom edge) where the row crosses the
/// image's vertical centre line: the image as a viewer shows it, before any rotation or
/// perspective correction the digitizer applies (the positions are mapped into its
/// working frame). Each is moved to the densest ink within 3 mm (the trace's baseline, as
/// a detected row would be placed); its left and right ends come from the ink along it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RowPositions {
    len: u8,
    fractions: [f32; MAX_HAND_ROWS],
}

impl RowPositions {
    /// 1–[`MAX_HAND_ROWS`] fractions, each in [0, 1], strictly increasing; otherwise
    /// what is wrong. (Their spacing on paper, at least [`MIN_HAND_ROW_GAP_MM`], is
    /// checked once the scale is known.)
    pub fn new(fractions: &[f32]) -> Result<RowPositions, String> {
        if fractions.is_empty() {
            return Err("no row position given".into());
        }
        if fractions.len() > MAX_HAND_ROWS {
            return Err(format!(
                "{} row positions given; at most {MAX_HAND_ROWS}",
                fractions.len()
            ));
        }
        for (i, f) in fractions.iter().enumerate() {
            if !(f.is_finite() && (0.0..=1.0).contains(f)) {
                return Err(format!(
                    "row {} at {f} is outside 0–1 (a fraction of the image height: 0 = top, 1 = bottom)",
                    i + 1
                ));
            }
        }
        if let Some(i) = fractions.windows(2).position(|w| w[1] <= w[0]) {
            return Err(format!(
                "row positions must increase from top to bottom: row {} at {} is not below row {} at {}",
                i + 2,
                fractions[i + 1],
                i + 1,
                fractions[i]
            ));
        }
        let mut out = RowPositions {
            len: fractions.len() as u8,
            fractions: [0.0; MAX_HAND_ROWS],
        };
        out.fractions[..fractions.len()].copy_from_slice(fractions);
        Ok(out)
    }

    /// Comma-separated fractions, e.g. `0.18,0.40,0.62,0.85`.
    pub fn parse(text: &str) -> Result<RowPositions, String> {
        let values = text
            .split(',')
            .map(|t| {
                t.trim()
                    .parse::<f32>()
                    .map_err(|_| format!("{:?} is not a number", t.trim()))
            })
            .collect::<Result<Vec<f32>, String>>()?;
        RowPositions::new(&values)
    }

    /// The baselines, top to bottom (fractions of the image height).
    pub fn as_slice(&self) -> &[f32] {
        &self.fractions[..usize::from(self.len).min(MAX_HAND_ROWS)]
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for RowPositions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.as_slice().iter().map(|v| format!("{v:.3}")).collect();
        f.write_str(&parts.join(","))
    }
}

/// How a lead's identity on the page was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadSource {
    /// Not on the page.
    Missing,
    /// From its place in the layout only (no legible label there).
    Layout,
    /// Its printed label was read and agrees.
    Label,
    /// A label was read clearly there and names another lead (the layout is doubtful).
    LabelDisagrees,
}

/// A label word whose best template match scores above this is taken as read.
pub const LABEL_MIN_SCORE: f32 = 0.55;

/// The layouts a page with `rows` trace rows may have, the usual one first.
pub fn layout_hypotheses(rows: usize) -> Vec<Layout> {
    use ecgcore::paper::{Grid, SIX_BY_TWO_INTERLEAVED, TWELVE_BY_ONE_INTERLEAVED};
    let with = |l: Layout, block: Option<[StandardLead; 12]>, strip: Option<StandardLead>| {
        let mut g = l.grid();
        if let Some(b) = block {
            g.block = b;
        }
        if strip.is_some() {
            g.strips = [strip, None, None];
        }
        Layout::from_grid(Grid { ..g })
    };
    let ii = Some(StandardLead::II);
    match rows {
        3..=5 => vec![Layout::ThreeByFour {
            rhythm_strips: (rows - 3) as u8,
        }],
        6 => vec![
            Layout::SixByTwo,
            with(Layout::SixByTwo, Some(SIX_BY_TWO_INTERLEAVED), None),
            Layout::ThreeByFour { rhythm_strips: 3 },
        ],
        7 => vec![
            with(Layout::SixByTwo, None, ii),
            with(Layout::SixByTwo, Some(SIX_BY_TWO_INTERLEAVED), ii),
        ],
        12 => vec![
            Layout::TwelveByOne,
            with(Layout::TwelveByOne, Some(TWELVE_BY_ONE_INTERLEAVED), None),
        ],
        13 => vec![
            with(Layout::TwelveByOne, None, ii),
            with(Layout::TwelveByOne, Some(TWELVE_BY_ONE_INTERLEAVED), ii),
        ],
        _ => Vec::new(),
    }
}

/// Choose among [`layout_hypotheses`] by the printed labels (`label_at(row, seconds)`):
/// the block order whose cells' labels match best (a cell without a legible label
/// scores −0.2; the usual order wins ties by a margin), then every rhythm strip whose
/// label reads clearly takes that lead.
fn choose_layout<'a>(
    rows: usize,
    label_at: &dyn Fn(usize, f32) -> Option<&'a labels::Word>,
) -> Option<Layout> {
    let mut best: Option<(f32, Layout)> = None;
    for (k, l) in layout_hypotheses(rows).into_iter().enumerate() {
        let g = l.grid();
        let cols = usize::from(g.columns.max(1));
        let mut score: f32 = g
            .block
            .iter()
            .enumerate()
            .map(|(i, lead)| {
                let t = layout::PAGE_DURATION_S * (i % cols) as f32 / cols as f32;
                label_at(i / cols, t).map_or(-0.2, |w| w.scores[lead.index()])
            })
            .sum();
        if k == 0 {
            score += 0.5;
        }
        if best.is_none_or(|b| score > b.0) {
            best = Some((score, l));
        }
    }
    let mut g = best?.1.grid();
    let block_rows = g.block_rows();
    for (s, strip) in g.strips.iter_mut().enumerate() {
        if strip.is_none() {
            break;
        }
        if let Some(w) = label_at(block_rows + s, 0.0) {
            let (lead, score, margin) = w.best();
            if score > LABEL_MIN_SCORE && margin > 0.05 {
                *strip = Some(lead);
            }
        }
    }
    Some(Layout::from_grid(g))
}

/// Labels of a 15-lead page's top three rows at its five 2 s columns (the fifth read with
/// the extra leads' templates).
type FifteenWords = Vec<[Option<labels::Word>; 5]>;

/// Whether a fifth-column word reads as an extra lead: the lead when its best extra
/// template scores over [`LABEL_MIN_SCORE`] and above every standard one.
fn extra_label(w: Option<&labels::Word>) -> Option<ExtraLead> {
    let (lead, score, margin) = w?.best_extra();
    (score > LABEL_MIN_SCORE && margin > 0.0).then_some(lead)
}

/// A 15-lead layout for a page of `rows` trace rows (3–6), when its labels say so: the
/// labels at the 2 s columns (and the fifth's extra leads) must fit 3×5 by 1 more (sum
/// of scores; −0.2 per cell without a legible label) than the labels at the 2.5 s
/// columns fit 3×4, and at least two fifth-column labels read as extra leads. The extra
/// leads are those read; one whose label is not legible is named only when the two read
/// fit exactly one usual set ([`ExtraLead::ADULT`], [`ExtraLead::PAEDIATRIC`]), else left
/// unnamed (`None`: not read). The strips as on 3×4 (II; II, V5; V1, II, V5) unless a
/// strip's label reads clearly as another lead.
fn fifteen_lead_layout<'a>(
    rows: usize,
    words: &'a FifteenWords,
    label_at: &dyn Fn(usize, f32) -> Option<&'a labels::Word>,
) -> Option<Layout> {
    if !(3..=6).contains(&rows) || words.len() < 3 {
        return None;
    }
    let block = ecgcore::paper::THREE_BY_FOUR;
    let (mut fit5, mut fit4) = (0.0f32, 0.0f32);
    let mut extra: [Option<ExtraLead>; 3] = [None; 3];
    let mut extras_read = 0;
    for (r, leads) in block.iter().enumerate() {
        for (c, lead) in leads.iter().enumerate().skip(1) {
            let score = |w: Option<&labels::Word>| w.map_or(-0.2, |w| w.scores[lead.index()]);
            fit5 += score(words[r][c].as_ref());
            fit4 += score(label_at(r, 2.5 * c as f32));
        }
        let fifth = words[r][4].as_ref();
        fit5 += fifth.map_or(-0.2, |w| w.best_extra().1);
        if let Some(x) = extra_label(fifth) {
            extra[r] = Some(x);
            extras_read += 1;
        }
    }
    if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
        eprintln!("3x5 fit {fit5:.2} vs 3x4 fit {fit4:.2}, extra labels read {extras_read}");
        for (r, w) in words.iter().enumerate().take(3) {
            if let Some(w) = &w[4] {
                eprintln!(
                    "3x5 row {r} fifth column: {:?} @{},{}",
                    w.extra_scores, w.x0, w.y0
                );
            }
        }
    }
    if fit5 < fit4 + 1.0 || extras_read < 2 {
        return None;
    }
    if extras_read == 2 {
        let fits = |set: &[ExtraLead; 3]| {
            extra
                .iter()
                .zip(set)
                .all(|(e, x)| e.is_none_or(|e| e == *x))
        };
        let sets: Vec<&[ExtraLead; 3]> = [&ExtraLead::ADULT, &ExtraLead::PAEDIATRIC]
            .into_iter()
            .filter(|s| fits(s))
            .collect();
        if let [set] = sets.as_slice() {
            extra = set.map(Some);
        }
    }
    let mut strips = Layout::ThreeByFour {
        rhythm_strips: (rows - 3) as u8,
    }
    .grid()
    .strips;
    for (s, strip) in strips.iter_mut().enumerate().take(rows - 3) {
        if let Some(w) = label_at(3 + s, 0.0) {
            let (lead, score, margin) = w.best();
            if score > LABEL_MIN_SCORE && margin > 0.05 {
                *strip = Some(lead);
            }
        }
    }
    Some(Layout::ThreeByFive { extra, strips })
}

/// Best correlation of `b` with `a` over shifts up to ±0.1 s (both at
/// [`OUTPUT_RATE_HZ`], `NaN` where not shown), on the samples both show; `None` when
/// they share under 0.5 s.
fn repeat_agreement(a: &[f32], b: &[f32]) -> Option<f32> {
    let max = (0.1 * OUTPUT_RATE_HZ) as isize;
    let mut best: Option<f32> = None;
    for d in (-max..=max).step_by(5) {
        let pairs: (Vec<f32>, Vec<f32>) = (0..a.len())
            .filter_map(|i| {
                let j = i as isize + d;
                let y = *b.get(usize::try_from(j).ok()?)?;
                let x = a[i];
                (x.is_finite() && y.is_finite()).then_some((x, y))
            })
            .unzip();
        if pairs.0.len() < (0.5 * OUTPUT_RATE_HZ) as usize {
            continue;
        }
        if let Some(r) = correlation(&pairs.0, &pairs.1) {
            best = Some(best.map_or(r, |b: f32| b.max(r)));
        }
    }
    best
}

/// Pearson correlation of two equally long slices over the places both are finite.
fn correlation(a: &[f32], b: &[f32]) -> Option<f32> {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (f64::from(*x), f64::from(*y)))
        .collect();
    if pairs.len() < 20 || pairs.len() * 2 < a.len() {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = pairs
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x / n, sy + y / n));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()) as f32)
}

/// Rhythm strips are printed simultaneously with the block: a strip's lead is the
/// block lead whose cell matches the same seconds of the strip (or, on pages that show
/// every column from 0 s, the strip's first seconds), when one matches clearly
/// (correlation > 0.95, 0.02 above the next). Otherwise the strip keeps the lead its
/// label gave when that matches the trace as well as the `usual` lead, else the usual.
/// Per block lead, how well rhythm strip `s` of `g` repeats that lead's cell: the best
/// correlation of the cell with the strip at the same seconds (or, on pages that show
/// every column from 0 s, the strip's first seconds), within ±0.12 s; best first.
fn strip_scores(
    g: &ecgcore::paper::Grid,
    s: usize,
    followed: &[trace::Followed],
    starts: &[f32],
    px_per_s: f32,
) -> Vec<(f32, StandardLead)> {
    let block_rows = g.block_rows();
    let cols = usize::from(g.columns.max(1));
    let slice = |row: usize, t0: f32, t1: f32| -> Option<&[f32]> {
        let f = followed.get(row)?;
        let x0 = starts.get(row)?;
        let a = (x0 + t0 * px_per_s - f.x0 as f32).round().max(0.0) as usize;
        let b = ((x0 + t1 * px_per_s - f.x0 as f32).round().max(0.0) as usize).min(f.y.len());
        (b > a).then(|| &f.y[a..b])
    };
    let lag = (0.12 * px_per_s).round() as isize;
    let mut scored: Vec<(f32, StandardLead)> = Vec::new();
    let (Some(fs), Some(xs)) = (followed.get(block_rows + s), starts.get(block_rows + s)) else {
        return scored;
    };
    for (i, lead) in g.block.iter().enumerate() {
        let (row, col) = (i / cols, i % cols);
        let t0 = layout::PAGE_DURATION_S * col as f32 / cols as f32;
        let t1 = t0 + layout::PAGE_DURATION_S / cols as f32;
        let Some(cell) = slice(row, t0, t1) else {
            continue;
        };
        let mut best = f32::MIN;
        for u0 in [t0, 0.0] {
            let base = (xs + u0 * px_per_s - fs.x0 as f32).round() as isize;
            for d in -lag..=lag {
                let from = base + d;
                if from < 0 {
                    continue;
                }
                let from = from as usize;
                let k = cell.len().min(fs.y.len().saturating_sub(from));
                if k * 10 < cell.len() * 9 {
                    continue;
                }
                if let Some(r) = correlation(&cell[..k], &fs.y[from..from + k]) {
                    best = best.max(r);
                }
            }
        }
        scored.push((best, *lead));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
}

/// Whether the last three of six rows repeat cells of a 3×4 block above them (3×4 with
/// three rhythm strips, rather than 6×2): each strip correlates above 0.9 with some cell.
fn rows_look_like_three_strips(
    followed: &[trace::Followed],
    starts: &[f32],
    px_per_s: f32,
) -> bool {
    let g = Layout::ThreeByFour { rhythm_strips: 3 }.grid();
    (0..3).all(|s| {
        strip_scores(&g, s, followed, starts, px_per_s)
            .first()
            .is_some_and(|b| b.0 > 0.9)
    })
}

fn strips_by_trace(
    layout: Layout,
    usual: [Option<StandardLead>; 3],
    followed: &[trace::Followed],
    starts: &[f32],
    px_per_s: f32,
) -> Layout {
    let mut g = layout.grid();
    for (s, usual_lead) in usual.iter().enumerate() {
        if g.strips[s].is_none() {
            break;
        }
        let scored = strip_scores(&g, s, followed, starts, px_per_s);
        if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
            eprintln!("strip {s}: {:?}", &scored[..scored.len().min(4)]);
        }
        if let [first, second, ..] = scored.as_slice() {
            if first.0 > 0.95 && first.0 - second.0 > 0.02 {
                g.strips[s] = Some(first.1);
                continue;
            }
        }
        // No clear match: a label read as another lead than the usual one must match the
        // trace at least as well (labels half hidden by a trace read "II" as "I").
        let corr = |lead: Option<StandardLead>| {
            scored
                .iter()
                .find(|x| Some(x.1) == lead)
                .map_or(f32::MIN, |x| x.0)
        };
        if usual_lead.is_some() && corr(*usual_lead) > corr(g.strips[s]) + 0.02 {
            g.strips[s] = *usual_lead;
        }
    }
    Layout::from_grid(g)
}

/// Whether the legible labels contradict `layout`: at least two cells' labels read
/// clearly as another lead, and more than read as the cell's own.
fn labels_contradict<'a>(
    layout: Layout,
    label_at: &dyn Fn(usize, f32) -> Option<&'a labels::Word>,
) -> bool {
    let (mut agree, mut disagree) = (0usize, 0usize);
    for cell in layout.cells() {
        let Some(w) = label_at(cell.row, cell.start_s) else {
            continue;
        };
        let (lead, score, margin) = w.best();
        if lead == cell.lead && score > LABEL_MIN_SCORE {
            agree += 1;
        } else if label_disagrees(w, cell.lead) && margin > 0.05 {
            disagree += 1;
        }
    }
    disagree >= 2 && disagree > agree + 1
}

/// Whether a legible label names another lead than `lead`, clearly (its score for `lead`
/// 0.2 under its best). Not when it reads as "I": any vertical stroke (a photographed
/// trace's, a column separator, a pulse's edge) reads as "I".
fn label_disagrees(w: &labels::Word, lead: StandardLead) -> bool {
    let (read, score, _) = w.best();
    read != lead
        && read != StandardLead::I
        && score > LABEL_MIN_SCORE
        && w.scores[lead.index()] < score - 0.2
}

/// A partial page as read from its labels.
struct PartialRead {
    layout: Layout,
    /// Where 0 s of the page is, working-image x.
    origin_x: f32,
    /// True when `origin_x` is a calibration pulse's end (else the first trace's start).
    from_pulse: bool,
    /// Per lead, the label's match score.
    scores: [f32; 12],
}

/// Printed lead labels are about 2.5–4 mm tall; shorter "words" found along a row are
/// bits of trace (a lone QRS stroke reads as "I").
const PARTIAL_LABEL_MIN_MM: f32 = 2.0;

/// A label read with the traces left in must match at least this well.
const PARTIAL_CLEAR_SCORE: f32 = 0.7;

/// Seconds between cells a column grid snaps to, and how near it must be.
const PARTIAL_SNAP_S: (f32, f32) = (2.5, 0.4);

/// Read a page that shows only some leads: every legible label near each row (searched
/// every 5 mm along it) names the trace from there to the next label of the row, or to
/// the row's end. Its seconds on the 10 s page are counted from the calibration pulse
/// when the rows have one (the column structure is then known), else from the leftmost
/// label (printed at a cell's start); a start within 0.4 s of a multiple of 2.5 s snaps
/// to it (the columns of 3×4 and 6×2); an "I" away from such a column start is taken for
/// a stray stroke of trace and dropped. Labels closer than 1.5 s in a row keep the better
/// match, a word near two rows goes to the nearer baseline, a lead labelled twice keeps
/// its longer cell. `None` when no label reads (score over [`LABEL_MIN_SCORE`], 0.05 over
/// the next).
#[allow(clippy::too_many_arguments)]
fn read_partial(
    rows: &[trace::Row],
    starts: &[f32],
    pulsed: bool,
    followed: &[trace::Followed],
    mask: &trace::Mask,
    on_trace: &[bool],
    spacing: f32,
    px_per_s: f32,
    px_per_mm_x: f32,
    px_per_mm_y: f32,
) -> Option<PartialRead> {
    if rows.is_empty() || px_per_s <= 0.0 || rows.len() > usize::from(u8::MAX) {
        return None;
    }
    let step = (5.0 * px_per_mm_x).max(1.0);
    let no_trace = vec![false; on_trace.len()];
    let mut found: Vec<(usize, labels::Word, f32)> = Vec::new(); // (row, word, score)
    for (i, row) in rows.iter().enumerate() {
        let (up, down) = row_gaps(rows, i, spacing);
        let start = starts.get(i).copied().unwrap_or(row.left_x as f32);
        let mut x = (start.min(row.left_x as f32) - 2.0 * px_per_mm_x).max(0.0);
        while x <= row.right_x as f32 {
            let anchor = (x, row.baseline_y);
            x += step;
            let read = |trace: &[bool], min_score: f32, min_margin: f32| {
                labels::read_label(mask, trace, anchor, 0.5 * up, 0.6 * down, px_per_mm_y).filter(
                    |w| {
                        let (_, score, margin) = w.best();
                        let tall = (w.y1 + 1 - w.y0) as f32 >= PARTIAL_LABEL_MIN_MM * px_per_mm_y;
                        score > min_score && margin > min_margin && tall
                    },
                )
            };
            // Where a wandering trace leaves its baseline the follower may take the
            // label's strokes for it: a second look with no trace removed, for a clear
            // match only.
            let Some(w) = read(on_trace, LABEL_MIN_SCORE, 0.05)
                .or_else(|| read(&no_trace, PARTIAL_CLEAR_SCORE, 0.05))
            else {
                continue;
            };
            let score = w.best().1;
            let cy = (w.y0 + w.y1) as f32 / 2.0;
            let same = found.iter_mut().find(|(_, f, _)| {
                let ix = w.x1.min(f.x1) as isize - w.x0.max(f.x0) as isize;
                let iy = w.y1.min(f.y1) as isize - w.y0.max(f.y0) as isize;
                ix > 0 && iy > 0
            });
            match same {
                Some(f) => {
                    let nearer = (cy - row.baseline_y).abs() < (cy - rows[f.0].baseline_y).abs();
                    if nearer {
                        f.0 = i;
                    }
                    if score > f.2 {
                        f.1 = w;
                        f.2 = score;
                    }
                }
                None => found.push((i, w, score)),
            }
        }
    }
    if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
        for (row, w, score) in &found {
            let (lead, _, margin) = w.best();
            eprintln!(
                "partial: row {row} {} {score:.2}/{margin:.2} @{},{}",
                lead.label(),
                w.x0,
                w.y0
            );
        }
    }
    if found.is_empty() {
        return None;
    }
    let origin_x = if pulsed {
        starts.first().copied().unwrap_or(0.0)
    } else {
        // The leftmost label (not a lone "I", which may be a stray stroke): printers set
        // labels at a cell's start, and ink left of it is the end of another lead.
        let left = |words: &mut dyn Iterator<Item = &(usize, labels::Word, f32)>| {
            words.map(|f| f.1.x0 as f32).fold(f32::MAX, f32::min)
        };
        let named = left(&mut found.iter().filter(|f| f.1.best().0 != StandardLead::I));
        let first = if named < f32::MAX {
            named
        } else {
            left(&mut found.iter())
        };
        (first - 0.5 * px_per_mm_x).max(0.0)
    };
    let on_column = |x: f32| {
        let t = (x - origin_x) / px_per_s;
        let q = (t / PARTIAL_SNAP_S.0).round() * PARTIAL_SNAP_S.0;
        ((t - q).abs() <= PARTIAL_SNAP_S.1).then_some(q)
    };
    let seconds = |x: f32| {
        on_column(x)
            .unwrap_or((x - origin_x) / px_per_s)
            .clamp(0.0, layout::PAGE_DURATION_S)
    };
    // Any stray stroke of a trace reads as "I": that label counts only where a column
    // starts.
    found.retain(|f| f.1.best().0 != StandardLead::I || on_column(f.1.x0 as f32).is_some());
    let mut partial = Partial::default();
    let mut scores = [0.0f32; 12];
    for (i, _) in rows.iter().enumerate() {
        // This row's labels, best first; one per 1.5 s.
        let mut mine: Vec<&(usize, labels::Word, f32)> =
            found.iter().filter(|f| f.0 == i).collect();
        mine.sort_by(|a, b| b.2.total_cmp(&a.2));
        let mut kept: Vec<&(usize, labels::Word, f32)> = Vec::new();
        for f in mine {
            let near = kept
                .iter()
                .any(|k| (k.1.x0 as f32 - f.1.x0 as f32).abs() < 1.5 * px_per_s);
            if !near {
                kept.push(f);
            }
        }
        kept.sort_by_key(|f| f.1.x0);
        let row_end = followed
            .get(i)
            .map_or(rows[i].right_x as f32, |f| (f.x0 + f.y.len()) as f32);
        for (k, f) in kept.iter().enumerate() {
            let t0 = seconds(f.1.x0 as f32);
            let t1 = kept
                .get(k + 1)
                .map_or_else(|| seconds(row_end), |n| seconds(n.1.x0 as f32));
            if t1 - t0 < 0.3 {
                continue;
            }
            let lead = f.1.best().0;
            let li = lead.index();
            let cell = PartialCell {
                row: i as u8,
                start_ms: (t0 * 1000.0).round() as u16,
                end_ms: (t1 * 1000.0).round() as u16,
            };
            let longer = partial.cells[li]
                .is_none_or(|c| cell.end_ms - cell.start_ms > c.end_ms - c.start_ms);
            if longer {
                partial.cells[li] = Some(cell);
                scores[li] = f.2;
            }
        }
    }
    partial
        .cells
        .iter()
        .any(Option::is_some)
        .then_some(PartialRead {
            layout: Layout::Partial(partial),
            origin_x,
            from_pulse: pulsed,
            scores,
        })
}

/// Where one lead was read on the image (original image pixels).
#[derive(Debug, Clone, PartialEq)]
pub struct LeadBox {
    pub lead: StandardLead,
    /// Corners of the box in the original image (deskewed box mapped back), clockwise
    /// from the top-left.
    pub corners: [[f32; 2]; 4],
    pub start_s: f32,
    pub end_s: f32,
}

/// An extra lead read on a 15-lead page ([`Layout::ThreeByFive`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraRead {
    pub lead: ExtraLead,
    /// 0–1, as [`Digitized::confidence_per_lead`] (share on ink, jumps, plausibility;
    /// no law checks it), 0.5× where its label names another lead.
    pub confidence: f32,
    /// [`LeadSource::Label`] when its printed label was read, else
    /// [`LeadSource::Layout`] (the name is then the layout's: set by hand, or the usual
    /// set the page's other extra labels fit).
    pub source: LeadSource,
    /// The followed trace in the original image's pixels.
    pub trace_pixels: Vec<[f32; 2]>,
    /// Its box, as [`LeadBox::corners`].
    pub corners: [[f32; 2]; 4],
    pub start_s: f32,
    pub end_s: f32,
}

/// A digitized page.
#[derive(Debug, Clone)]
pub struct Digitized {
    /// Twelve standard leads at 500 Hz over 10 s, `NaN` where the page shows nothing; on
    /// a 15-lead page the extra leads follow, named by their labels ("V4R", …; not
    /// standard leads, so the model does not use them).
    pub recording: Recording,
    /// Confidence 0–1 per lead, in [`StandardLead::ALL`] order: the share of the cell's
    /// columns on ink, less 3× the share of jumps between traces, halved for an
    /// implausible range (over 8 mV or a flat line), times the Einthoven/Goldberger
    /// agreement ([`confidence::law_factors`]), times 0.4 where a printed label names
    /// another lead and so do many others on the page (0.85 for a lone one).
    pub confidence_per_lead: [f32; 12],
    /// The followed trace per lead (in [`StandardLead::ALL`] order) as points in the
    /// original image's pixel coordinates, for drawing over the image.
    pub trace_pixels_per_lead: Vec<Vec<[f32; 2]>>,
    /// Lead boxes, for showing and correcting the layout.
    pub lead_boxes: Vec<LeadBox>,
    /// How each lead (in [`StandardLead::ALL`] order) was identified.
    pub lead_source: [LeadSource; 12],
    /// The extra leads of a 15-lead page, top row first (empty on other pages).
    pub extra_leads: Vec<ExtraRead>,
    /// Pixels per mm of paper in the original image (mean of both axes).
    pub px_per_mm: f32,
    pub px_per_mm_x: f32,
    pub px_per_mm_y: f32,
    /// True when the scale came from the printed grid (false: given by the user).
    pub grid_found: bool,
    /// Page rotation that was corrected, degrees clockwise on screen (after the
    /// perspective correction when there was one).
    pub rotation_deg: f32,
    /// When the page was photographed at an angle and warped flat: how much the grid
    /// lines converged across the page, degrees. Pixel sizes (`px_per_mm*`) are then those
    /// of the rectified page; traces and boxes are still in the original image's pixels.
    pub perspective_deg: Option<f32>,
    /// The layout read: a full one, or `Layout::Partial` with the leads found on a page
    /// that shows only some (each at the row and seconds it was read).
    pub layout: Layout,
    pub speed_mm_per_s: f32,
    /// True when the paper speed was told by the calibration pulses' width (a pulse
    /// 0.2 s wide, as most carts print, is 10 mm at 50 mm/s).
    pub speed_from_pulse: bool,
    pub gain_mm_per_mv: f32,
    /// True when the gain was measured on a calibration pulse.
    pub gain_from_pulse: bool,
    /// Original image size, pixels.
    pub image_width: u32,
    pub image_height: u32,
    /// The trace rows read (detected, or set by hand and moved onto their ink), top to
    /// bottom, in the coordinates of [`RowPositions`]: fractions of the image height where
    /// each row crosses the image's vertical centre line.
    pub row_baselines: Vec<f32>,
}

/// Digitize the image (or first PDF page) at `path`.
pub fn digitize_path(path: &Path, options: &DigitizeOptions) -> Result<Digitized, DigitizeError> {
    let rgb = load::load_rgb(path)?;
    digitize_rgb(&rgb, path, options)
}

fn check_options(options: &DigitizeOptions, path: &Path) -> Result<(), DigitizeError> {
    let bad = |what: String| {
        Err(DigitizeError::BadOption {
            what,
            path: path.to_path_buf(),
        })
    };
    if let Some(v) = options.px_per_mm {
        if !(v.is_finite() && (0.5..=200.0).contains(&v)) {
            return bad(format!("{v} pixels per mm is outside 0.5–200"));
        }
    }
    if let Some(v) = options.speed_mm_per_s {
        if !(v.is_finite() && (5.0..=200.0).contains(&v)) {
            return bad(format!("paper speed {v} mm/s is outside 5–200"));
        }
    }
    if let Some(v) = options.gain_mm_per_mv {
        if !(v.is_finite() && (1.0..=100.0).contains(&v)) {
            return bad(format!("gain {v} mm/mV is outside 1–100"));
        }
    }
    if let Some(v) = options.rotation_deg {
        if !(v.is_finite() && v.abs() <= 45.0) {
            return bad(format!("rotation {v}° is outside ±45°"));
        }
    }
    if let Some(r) = &options.rows {
        // Built only through `RowPositions::new`, except the empty default.
        if let Err(e) = RowPositions::new(r.as_slice()) {
            return bad(format!("--rows, in the viewer the row bands: {e}"));
        }
        if let Some(l) = options.layout.filter(|l| !matches!(l, Layout::Partial(_))) {
            if l.rows() != r.len() {
                return bad(format!(
                    "--rows, in the viewer the row bands: the layout {l} has {} trace rows but {} row positions were given",
                    l.rows(),
                    r.len()
                ));
            }
        }
    }
    Ok(())
}

/// Map points between the deskewed working image and the original image.
#[derive(Debug, Clone, Copy)]
struct Frame {
    sin: f32,
    cos: f32,
    cx: f32,
    cy: f32,
    /// Original pixels per working pixel.
    inv_scale: f32,
}

impl Frame {
    fn to_original(self, x: f32, y: f32) -> [f32; 2] {
        let (sx, sy) = plane::rotate_point_to_source(x - self.cx, y - self.cy, self.sin, self.cos);
        [
            (sx + self.cx + 0.5) * self.inv_scale - 0.5,
            (sy + self.cy + 0.5) * self.inv_scale - 0.5,
        ]
    }

    /// The working-image height of the (deskewed, so horizontal) row that crosses the
    /// original image's vertical centre line at original height `y`.
    fn row_to_working(self, y: f32) -> f32 {
        let scaled = (y + 0.5) / self.inv_scale - 0.5;
        self.cy + (scaled - self.cy) * self.cos
    }

    /// Inverse of [`Frame::row_to_working`]: where working row `y` crosses the original
    /// image's vertical centre line, original height.
    fn row_to_original(self, y: f32) -> f32 {
        let scaled = self.cy + (y - self.cy) / self.cos;
        (scaled + 0.5) * self.inv_scale - 0.5
    }
}

/// Pages coarser than this many pixels per mm are upsampled before the trace is read:
/// at 6 px/mm a pixel column is 6.5 ms, and the thin strokes of a QRS on a photo are read
/// at a fraction of their height (ecg-image-kit photo-like pages at 6.0–6.1 px/mm: median
/// 8.5 dB with 6 here, 9.4 with 7 or 7.5; clean 200-dpi pages are 7.9 px/mm).
pub const LOW_RES_PX_PER_MM: f32 = 7.0;
/// Resolution low-resolution pages are upsampled to, pixels per mm.
const UPSAMPLE_TO_PX_PER_MM: f32 = 8.0;

/// What a first pass over a low-resolution page measured, for the upsampled pass.
#[derive(Debug, Clone, Copy)]
struct Upsampled {
    /// Working pixels per original pixel (> 1).
    scale: f32,
    angle_rad: f32,
    /// Pixels per mm of the original image.
    px_per_mm_x: f32,
    px_per_mm_y: f32,
    grid_found: bool,
}

/// Digitize an already decoded image; `source` names it in errors and provenance.
///
/// Pages under [`LOW_RES_PX_PER_MM`] (about 150 dpi and below) are read twice: skew and
/// grid on the original pixels, then the trace on a bicubic (Catmull–Rom) upsampling to
/// about 8 px/mm, where a thin blurred trace keeps a connected ink mask, its runs have
/// sub-pixel resolution in the original, and the pulse and row detectors work at the
/// scale they were built for.
///
/// When the grid lines converge (a photo taken at an angle, see [`perspective`]), the
/// page is also read after warping it flat, and that reading is kept when its mean
/// confidence is at least the plain reading's (0.1 above it for a convergence over
/// [`PLAUSIBLE_PERSPECTIVE_DEG`]).
pub fn digitize_rgb(
    original: &RgbImage,
    source: &Path,
    options: &DigitizeOptions,
) -> Result<Digitized, DigitizeError> {
    if options.correct_perspective == Some(false) {
        return digitize_pass(original, source, options, None);
    }
    // The plain reading and the perspective check (with the warped reading when the grid
    // converges) are independent once the page's skew is known: each on its own core.
    check_options(options, source)?;
    let (ow, oh) = original.dimensions();
    load::check_size(ow, oh, source)?;
    let skew_deg = options
        .rotation_deg
        .unwrap_or_else(|| page_skew(original).to_degrees());
    if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
        eprintln!("page skew {skew_deg:.2}°");
    }
    let plain_options = &DigitizeOptions {
        rotation_deg: Some(skew_deg),
        ..*options
    };
    let (plain, checked) = std::thread::scope(|scope| {
        let plain = scope.spawn(|| digitize_pass(original, source, plain_options, None));
        let checked = read_flattened(original, source, options, skew_deg.to_radians());
        let plain = plain
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (plain, checked)
    });
    // A page whose plain reading fails is also checked from no skew (the skew measured on
    // it may be wrong), and where that finds no perspective the check from its own skew
    // stands: ecg00037 (curved, tilted; read flat, only 2 of its 4 rows are found) is read
    // through a 9.8° correction, every lead doubtful, where it used to be refused.
    let checked = if plain.is_err() && skew_deg != 0.0 && options.rotation_deg.is_none() {
        read_flattened(original, source, options, 0.0).or(checked)
    } else {
        checked
    };
    let Some((rect, flat)) = checked else {
        return plain;
    };
    if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
        eprintln!(
            "perspective {:.1}°: flat {:?}",
            rect.convergence_deg,
            flat.as_ref()
                .map(|d| d.confidence_per_lead)
                .map_err(std::string::ToString::to_string)
        );
    }
    let Ok(flat) = flat else {
        return plain;
    };
    keep_flattened(original, plain, rect, flat)
}

/// The page's skew (radians) as [`digitize_pass`] measures it: on the darkness plane of
/// the image at its working size.
fn page_skew(original: &RgbImage) -> f32 {
    let resized = scaled(original, working_scale(original));
    grid::estimate_skew(&darkness(resized.as_ref().unwrap_or(original)))
}

/// The scale an image is read at: down to [`WORK_MAX_PIXELS`] where it is larger.
fn working_scale(original: &RgbImage) -> f32 {
    let pixels = u64::from(original.width()) * u64::from(original.height());
    if pixels > WORK_MAX_PIXELS {
        (WORK_MAX_PIXELS as f64 / pixels as f64).sqrt() as f32
    } else {
        1.0
    }
}

/// The image resized by `scale` (Catmull-Rom up, triangle down); `None` at scale 1.
fn scaled(original: &RgbImage, scale: f32) -> Option<RgbImage> {
    if scale == 1.0 {
        return None;
    }
    let (ow, oh) = original.dimensions();
    let w = ((ow as f32 * scale).round() as u32).max(1);
    let h = ((oh as f32 * scale).round() as u32).max(1);
    let filter = if scale > 1.0 {
        image::imageops::FilterType::CatmullRom
    } else {
        image::imageops::FilterType::Triangle
    };
    Some(image::imageops::resize(original, w, h, filter))
}

/// Darkness plane (255 − the darkest channel: grid and trace) of an RGB image.
fn darkness(rgb: &RgbImage) -> Plane {
    let mut dark = Plane::filled(rgb.width() as usize, rgb.height() as usize, 0.0);
    for (x, y, p) in rgb.enumerate_pixels() {
        let [r, g, b] = p.0;
        dark.set(x as usize, y as usize, 255.0 - f32::from(r.min(g).min(b)));
    }
    dark
}

/// When the page's grid lines converge (a photo taken at an angle): the perspective
/// found near the page's skew, and the page read again warped flat.
fn read_flattened(
    original: &RgbImage,
    source: &Path,
    options: &DigitizeOptions,
    skew_rad: f32,
) -> Option<(perspective::Rectification, Result<Digitized, DigitizeError>)> {
    let rect = detect_perspective(original, skew_rad)?;
    let warped = perspective::warp(
        original,
        &rect.to_source,
        rect.width,
        rect.height,
        [255, 255, 255],
    );
    // Rows set by hand are positions on the original image: the same rows on the
    // warped one (where they cross the centre line).
    let flat_options = match options.rows {
        None => Some(*options),
        Some(r) => {
            let mapped: Vec<f32> = r
                .as_slice()
                .iter()
                .filter_map(|f| {
                    let p = rect.from_source.apply(
                        f64::from(original.width()) / 2.0,
                        f64::from(*f) * f64::from(original.height()),
                    )?;
                    Some((p[1] / f64::from(rect.height.max(1))).clamp(0.0, 1.0) as f32)
                })
                .collect();
            RowPositions::new(&mapped).ok().map(|rows| DigitizeOptions {
                rows: Some(rows),
                ..*options
            })
        }
    };
    let flat_options = flat_options?;
    Some((rect, digitize_pass(&warped, source, &flat_options, None)))
}

/// Keep the flattened reading of [`read_flattened`] when it reads better than the plain
/// one, its positions mapped back onto the original image.
fn keep_flattened(
    original: &RgbImage,
    plain: Result<Digitized, DigitizeError>,
    rect: perspective::Rectification,
    mut flat: Digitized,
) -> Result<Digitized, DigitizeError> {
    let mean = |d: &Digitized| d.confidence_per_lead.iter().sum::<f32>() / 12.0;
    if let Ok(p) = &plain {
        // The warped reading is kept only when it reads at least as well; a strong
        // "convergence" on a page that already reads well is more likely a misdetection
        // (creases, a curled edge) than a steep photo: warp by more than
        // `PLAUSIBLE_PERSPECTIVE_DEG` only when the flat reading is clearly better.
        let needed = if rect.convergence_deg > PLAUSIBLE_PERSPECTIVE_DEG {
            0.1
        } else {
            0.0
        };
        if mean(&flat) < mean(p) + needed {
            return plain;
        }
    }
    let back = |p: [f32; 2]| -> [f32; 2] {
        rect.to_source
            .apply(f64::from(p[0]), f64::from(p[1]))
            .map_or([f32::NAN, f32::NAN], |q| [q[0] as f32, q[1] as f32])
    };
    for trace in &mut flat.trace_pixels_per_lead {
        for p in trace.iter_mut() {
            *p = back(*p);
        }
        trace.retain(|p| p[0].is_finite() && p[1].is_finite());
    }
    for b in &mut flat.lead_boxes {
        for c in &mut b.corners {
            *c = back(*c);
        }
    }
    let (fw, fh) = (rect.width as f32, rect.height as f32);
    let oh = original.height().max(1) as f32;
    for f in &mut flat.row_baselines {
        let p = back([fw / 2.0, *f * fh]);
        if p[1].is_finite() {
            *f = (p[1] / oh).clamp(0.0, 1.0);
        }
    }
    flat.image_width = original.width();
    flat.image_height = original.height();
    flat.perspective_deg = Some(rect.convergence_deg as f32);
    flat.recording.provenance.notes.push(format!(
        "photo perspective corrected (grid lines converged by {:.1}° across the page)",
        rect.convergence_deg
    ));
    Ok(flat)
}

/// How far a row's trace is followed above and below its baseline, in gaps to the
/// neighbouring row: past the neighbour's baseline, so that tall complexes crossing it
/// keep their peaks (the pull towards the own baseline keeps the path home).
const BOX_REACH: f32 = 1.4;

/// Longest stretch (page seconds) over which two neighbouring rows' merged strokes are
/// rebuilt from each row's own trace either side: a wide QRS.
const SHARED_MAX_S: f32 = 0.12;

/// Grid convergence (degrees across the page) above which a warped reading must beat the
/// plain one clearly to be kept.
pub const PLAUSIBLE_PERSPECTIVE_DEG: f64 = 12.0;

/// Largest image the perspective is measured on, pixels.
const PERSPECTIVE_WORK_PIXELS: f64 = 600_000.0;

/// Measure the page's perspective on a downscaled darkness plane.
fn detect_perspective(original: &RgbImage, skew_rad: f32) -> Option<perspective::Rectification> {
    let (ow, oh) = original.dimensions();
    let pixels = f64::from(ow) * f64::from(oh);
    let f = (PERSPECTIVE_WORK_PIXELS / pixels).sqrt().min(1.0);
    let w = ((f64::from(ow) * f).round() as u32).max(1);
    let h = ((f64::from(oh) * f).round() as u32).max(1);
    let small = if f < 1.0 {
        image::imageops::resize(original, w, h, image::imageops::FilterType::Triangle)
    } else {
        original.clone()
    };
    let scale = f64::from(w) / f64::from(ow);
    perspective::detect(&darkness(&small), scale, skew_rad, ow, oh)
}

fn digitize_pass(
    original: &RgbImage,
    source: &Path,
    options: &DigitizeOptions,
    upsampled: Option<Upsampled>,
) -> Result<Digitized, DigitizeError> {
    check_options(options, source)?;
    // `partial`: read whichever leads the page shows by their labels (no row count).
    let partial_request = matches!(options.layout, Some(Layout::Partial(_)));
    let want_rows = options
        .layout
        .filter(|_| !partial_request)
        .map(Layout::rows);
    let (ow, oh) = original.dimensions();
    load::check_size(ow, oh, source)?;
    let pixels = u64::from(ow) * u64::from(oh);
    let scale = upsampled.map_or_else(|| working_scale(original), |u| u.scale);
    let resized = scaled(original, scale);
    let rgb: &RgbImage = resized.as_ref().unwrap_or(original);
    let scale = rgb.width() as f32 / ow as f32;
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);

    // Feature planes: ink (trace) and darkness (grid + trace).
    let mut ink = Plane::filled(w, h, 0.0);
    let mut dark = Plane::filled(w, h, 0.0);
    for (x, y, p) in rgb.enumerate_pixels() {
        let [r, g, b] = p.0;
        ink.set(x as usize, y as usize, trace::ink_score(r, g, b));
        dark.set(x as usize, y as usize, 255.0 - f32::from(r.min(g).min(b)));
    }

    // Skew.
    let angle = match (options.rotation_deg, upsampled) {
        (Some(deg), _) => deg.to_radians(),
        (None, Some(u)) => u.angle_rad,
        (None, None) => grid::estimate_skew(&dark),
    };
    if angle.abs() > 0.02f32.to_radians() {
        [ink, dark] = plane::rotate_all([&ink, &dark], angle, 0.0);
    }
    let (sin, cos) = angle.sin_cos();
    let frame = Frame {
        sin,
        cos,
        cx: w as f32 / 2.0,
        cy: h as f32 / 2.0,
        inv_scale: 1.0 / scale,
    };

    // Grid scale.
    let mut grid_strength = 1.0f32;
    let mut no_grid = false;
    let (px_per_mm_x, px_per_mm_y, grid_found) = if let Some(u) = upsampled {
        (u.px_per_mm_x * scale, u.px_per_mm_y * scale, u.grid_found)
    } else if let Some(v) = options.px_per_mm {
        (v * scale, v * scale, false)
    } else {
        {
            let (cols, rows) = grid::profiles(&dark);
            let long = w.max(h);
            let gx = grid::grid_period(&cols, long);
            let gy = grid::grid_period(&rows, long);
            if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
                eprintln!("grid periods: columns {gx:?}, rows {gy:?}");
            }
            grid_strength = gx
                .map_or(0.0, |g| g.strength)
                .max(gy.map_or(0.0, |g| g.strength));
            match (gx, gy) {
                (Some(a), Some(b)) => {
                    let ratio = a.px_per_mm / b.px_per_mm;
                    if (0.8..1.25).contains(&ratio) {
                        (a.px_per_mm, b.px_per_mm, true)
                    } else {
                        // Disagreeing axes: trust the stronger one for both.
                        let v = if a.strength >= b.strength {
                            a.px_per_mm
                        } else {
                            b.px_per_mm
                        };
                        (v, v, true)
                    }
                }
                (Some(a), None) => (a.px_per_mm, a.px_per_mm, true),
                (None, Some(b)) => (b.px_per_mm, b.px_per_mm, true),
                (None, None) => {
                    // No grid: a first guess (a page about 280 mm wide), corrected from
                    // the trace rows' length below.
                    no_grid = true;
                    let v = w as f32 / 280.0;
                    (v, v, false)
                }
            }
        }
    };

    if upsampled.is_none() {
        let finest = px_per_mm_x.min(px_per_mm_y);
        let room = (WORK_MAX_PIXELS as f32 / pixels as f32).sqrt();
        let k = (UPSAMPLE_TO_PX_PER_MM / finest).min(room);
        // A weak "grid" (noise, texture) is not worth the upsampling: it would smooth
        // noise into blobs that look like ink.
        if finest < LOW_RES_PX_PER_MM && k > 1.2 && grid_strength >= 0.2 {
            drop(ink);
            drop(dark);
            return digitize_pass(
                original,
                source,
                options,
                Some(Upsampled {
                    scale: k,
                    angle_rad: angle,
                    px_per_mm_x: px_per_mm_x / scale,
                    px_per_mm_y: px_per_mm_y / scale,
                    grid_found,
                }),
            );
        }
    }

    // A grid that reads as ink (grey, or greyed by a photo's colour temperature) is
    // removed by its periodicity first: on a flat page, whose squares are square (a
    // photo taken at an angle has no one period; its corrected pass may).
    if grid_found && (px_per_mm_x / px_per_mm_y - 1.0).abs() <= 0.005 {
        trace::remove_periodic_grid(&mut ink, 5.0 * px_per_mm_x, 5.0 * px_per_mm_y);
    }

    // Trace rows.
    // Ink mask and candidate rows; when fewer than three evenly spaced rows show, the
    // trace may be faint: retry with the sensitive mask.
    let mut mask = trace::ink_mask_with(&ink, px_per_mm_y, false, upsampled.is_some());
    let mut candidates = trace::find_rows(&mask, px_per_mm_y);
    let enough = |c: &[trace::Row]| trace::select_rows(c, want_rows).is_some_and(|r| r.len() >= 3);
    // Mean coverage of the chosen rows: how much of each trace the mask holds. A thin
    // blurred trace (low resolution) is broken into pieces by the normal threshold.
    let row_coverage = |c: &[trace::Row]| {
        trace::select_rows(c, want_rows)
            .filter(|r| !r.is_empty())
            .map_or(0.0, |r| {
                r.iter().map(|r| r.coverage).sum::<f32>() / r.len() as f32
            })
    };
    let normal_coverage = row_coverage(&candidates);
    if !enough(&candidates) || normal_coverage < 0.75 {
        let sensitive = trace::ink_mask(&ink, px_per_mm_y, true);
        let rows = trace::find_rows(&sensitive, px_per_mm_y);
        // A page of noise or texture is mostly "ink": not a trace.
        let ink_share = trace::ink_share(&sensitive);
        let better = if enough(&candidates) {
            enough(&rows) && row_coverage(&rows) > normal_coverage + 0.05
        } else {
            enough(&rows) || candidates.is_empty()
        };
        if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
            eprintln!("sensitive: ink share {ink_share:.3}, coverage {:.3} vs normal {normal_coverage:.3}, rows {:?}", row_coverage(&rows), rows.iter().map(|r| (r.baseline_y, r.coverage)).collect::<Vec<_>>());
        }
        if ink_share < trace::MAX_SENSITIVE_INK_SHARE && better {
            mask = sensitive;
            candidates = rows;
        }
    }
    drop(dark);
    if let Some(path) = std::env::var_os("ECGDIGITIZE_DEBUG_MASK") {
        let img = image::GrayImage::from_fn(mask.w as u32, mask.h as u32, |x, y| {
            image::Luma([if mask.at(x as usize, y as usize) {
                0
            } else {
                255
            }])
        });
        // Each pass (plain, perspective-corrected) writes its own: PATH.WxH.png.
        let path = std::path::PathBuf::from(&path).with_extension(format!("{w}x{h}.png"));
        if let Err(e) = img.save(&path) {
            eprintln!("ECGDIGITIZE_DEBUG_MASK: {e}");
        }
        let ink_img = image::GrayImage::from_fn(ink.w as u32, ink.h as u32, |x, y| {
            image::Luma([255 - ink.data[y as usize * ink.w + x as usize].clamp(0.0, 255.0) as u8])
        });
        let p = path.with_extension("ink.png");
        if let Err(e) = ink_img.save(p) {
            eprintln!("ECGDIGITIZE_DEBUG_MASK: {e}");
        }
    }
    if candidates.is_empty() && no_grid && options.rows.is_none() {
        return Err(DigitizeError::NoGrid {
            path: source.to_path_buf(),
        });
    }
    if candidates.is_empty() && options.rows.is_none() {
        return Err(DigitizeError::NoTrace {
            path: source.to_path_buf(),
        });
    }
    // Rows as [`RowPositions`] fractions, for errors that ask the user to set them.
    let fractions = |rows: &[trace::Row]| -> Vec<f32> {
        rows.iter()
            .map(|r| (frame.row_to_original(r.baseline_y) / oh.max(1) as f32).clamp(0.0, 1.0))
            .take(MAX_HAND_ROWS)
            .collect()
    };
    let unknown = |rows: &[trace::Row]| DigitizeError::UnknownLayout {
        rows: rows.len(),
        found_rows: fractions(rows),
        path: source.to_path_buf(),
    };
    if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
        eprintln!(
            "all candidates: {:?}",
            candidates
                .iter()
                .map(|r| (r.baseline_y, r.coverage, r.left_x, r.right_x))
                .collect::<Vec<_>>()
        );
    }
    let rows = if let Some(hand) = &options.rows {
        hand_set_rows(hand, frame, oh, &mask, px_per_mm_y, source)?
    } else if let Some(l) = options.layout.filter(|_| !partial_request) {
        trace::select_rows(&candidates, Some(l.rows())).ok_or_else(|| {
            DigitizeError::RowsNotFound {
                layout: l.to_string(),
                want: l.rows(),
                found: candidates.len(),
                found_rows: fractions(&candidates),
                path: source.to_path_buf(),
            }
        })?
    } else {
        // Row counts that fit no full layout are read as a partial page (below), when
        // the grid gives the scale.
        let rows = trace::select_rows(&candidates, None).ok_or_else(|| unknown(&candidates))?;
        if no_grid && layout_hypotheses(rows.len()).is_empty() {
            return Err(unknown(&rows));
        }
        rows
    };
    let fits_layout = options.layout.is_some() || !layout_hypotheses(rows.len()).is_empty();
    // Every layout prints 10 s per row: where the grid period is a harmonic (a wrinkled
    // photo's texture doubles it) or there is no grid, the widest row sets the scale. A
    // partial page set by hand keeps the grid's scale (its rows may be shorter).
    if options.px_per_mm.is_none() && !partial_request {
        let widest = rows
            .iter()
            .map(|r| r.right_x.saturating_sub(r.left_x))
            .max()
            .unwrap_or(0) as f32;
        // Rows are printed 250 mm long (10 s at 25 mm/s, 5 s at 50 mm/s).
        let row_mm = layout::PAGE_DURATION_S * DEFAULT_SPEED_MM_PER_S + 2.0;
        let ratio = widest / (px_per_mm_x * row_mm);
        // Grid periods are misread by simple factors: the dots or a texture between the
        // lines (×2, ×2.5, ×3), or every second or third line missed (×½, ×⅓).
        let near = |k: f32| (ratio / k - 1.0).abs() < 0.15;
        let harmonic = [1.0 / 3.0, 0.5, 2.0, 2.5, 3.0]
            .into_iter()
            .find(|k| near(*k));
        if widest > 0.0 && (no_grid || harmonic.is_some()) && fits_layout {
            // The grid's period, corrected by the factor, is far more precise than the
            // row's length (which includes the pulse, or not, and ends where the ink
            // fades): 1 % off is 0.1 s over a row.
            let v = match harmonic {
                Some(k) if !no_grid => px_per_mm_x * k / scale,
                _ => widest / row_mm / scale,
            };
            let harmonic = harmonic.is_some();
            let retry = DigitizeOptions {
                px_per_mm: Some(v),
                ..*options
            };
            let rescaled = digitize_pass(original, source, &retry, None).map(|mut d| {
                d.recording.provenance.notes.push(format!(
                    "scale {v:.2} px/mm from the trace rows' length (10 s per row), {}",
                    if no_grid {
                        "no grid found"
                    } else {
                        "the grid's period disagreed"
                    }
                ));
                d
            });
            if harmonic && !no_grid && options.layout.is_none() {
                // A crop of a page (rows of 5 s, say) looks just like a page whose grid
                // period was read doubled: read it also as a partial page at the grid's
                // scale, and keep that when the rescaled reading fits no full layout
                // either (the 10 s rows it assumes are a full page's), or when it names
                // more leads by their printed labels than the full layout does, two at
                // least: one label read on a blurred page (a QRS stroke read as "II")
                // had turned a full 3×4 reading into a one-lead partial page.
                let as_partial = DigitizeOptions {
                    layout: Some(Layout::Partial(Partial::default())),
                    ..*options
                };
                if let Ok(p) = digitize_pass(original, source, &as_partial, upsampled) {
                    let named = |d: &Digitized| {
                        d.lead_source
                            .iter()
                            .filter(|s| **s == LeadSource::Label)
                            .count()
                    };
                    let keep = match &rescaled {
                        Ok(r) if !matches!(r.layout, Layout::Partial(_)) => {
                            named(&p) > named(r) && named(&p) >= 2
                        }
                        _ => named(&p) > 0,
                    };
                    if keep {
                        return Ok(p);
                    }
                }
            }
            return rescaled;
        }
    }
    let spacing = if rows.len() > 1 {
        (rows[rows.len() - 1].baseline_y - rows[0].baseline_y) / (rows.len() - 1) as f32
    } else {
        40.0 * px_per_mm_y
    };
    let thickness = trace::line_thickness(&mask, &rows);

    // Calibration pulses: signal start and gain. Every standard layout prints 10 s per
    // row, so the row's right end less 10 s also tells where the signal starts: a
    // "pulse" ending more than 4 mm after that is some other mark, and where no pulse is
    // found the earlier of that and the ink's left end is the start.
    let ten_s_px = layout::PAGE_DURATION_S * DEFAULT_SPEED_MM_PER_S * px_per_mm_x;
    let end_less_10s = |r: &trace::Row| r.right_x as f32 - ten_s_px;
    let from_right = |r: &trace::Row| -> Option<f32> {
        let s = end_less_10s(r);
        (s >= 0.0 && (s - r.left_x as f32).abs() <= 8.0 * px_per_mm_x).then_some(s)
    };
    let pulses: Vec<Option<trace::Pulse>> = rows
        .iter()
        .map(|r| {
            trace::find_pulse(&mask, r, px_per_mm_x, thickness, 0.9 * spacing)
                .or_else(|| {
                    // Where the row's ink starts, or 10 s before its end (shading or a
                    // texture can extend the ink's left end).
                    let (left, e) = (r.left_x as f32, end_less_10s(r));
                    let (lo, hi) = if e >= 0.0 {
                        (e.min(left), e.max(left))
                    } else {
                        (left, left)
                    };
                    let range = (lo - 15.0 * px_per_mm_x, hi + 10.0 * px_per_mm_x);
                    trace::pulse_in_trace(&mask, r, range, px_per_mm_x, thickness, 0.9 * spacing)
                })
                .filter(|p| {
                    // A "pulse" ending well inside the trace is some other mark.
                    from_right(r).is_none_or(|s| p.end_x as f32 <= s + 4.0 * px_per_mm_x)
                })
        })
        .collect();
    let mut starts: Vec<f32> = rows
        .iter()
        .zip(&pulses)
        .map(|(r, p)| match p {
            Some(p) => p.end_x as f32,
            // Without a pulse, the earlier of the two: the ink's left end misses a faint
            // first stretch of trace, the right end less 10 s is late where the cart
            // prints a pulse after the signal.
            None => from_right(r).map_or(r.left_x as f32, |s| s.min(r.left_x as f32)),
        })
        .collect();
    // Pulses found on half the rows or more tell the start better than the other rows'
    // ends (a row whose trace fades before its end, from shading or a crease, would put
    // 0 s early); so do fewer where the rows' ink starts at a pulse's start or end (the
    // other rows' pulses were missed, not absent). Else one pulse may be some other mark
    // (a keystoned photo's rows start at different places anyway).
    let found: Vec<&trace::Pulse> = pulses.iter().flatten().collect();
    let pulses_tell = !found.is_empty() && {
        let mut lefts: Vec<f32> = rows.iter().map(|r| r.left_x as f32).collect();
        lefts.sort_by(f32::total_cmp);
        let left = lefts[lefts.len() / 2];
        2 * found.len() >= rows.len()
            || found.iter().any(|p| {
                let (end, start) = (p.end_x as f32, p.end_x as f32 - p.width_px);
                (left - end).abs().min((left - start).abs()) <= 2.0 * px_per_mm_x
            })
    };
    let mut sorted: Vec<f32> = if pulses_tell {
        found.iter().map(|p| p.end_x as f32).collect()
    } else {
        starts.clone()
    };
    sorted.sort_by(f32::total_cmp);
    let median_start = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    // Printed rows start at the same x: one start for all (the median; rows' own
    // pulse ends differ by a pixel or two, which shifts QRS complexes between leads that
    // Einthoven's law compares).
    starts.fill(median_start);
    let mut heights: Vec<f32> = pulses.iter().flatten().map(|p| p.height_px).collect();
    heights.sort_by(f32::total_cmp);
    let measured_gain = heights
        .get(heights.len() / 2)
        .map(|h| h / px_per_mm_y)
        .and_then(|g| {
            [2.5f32, 5.0, 10.0, 20.0]
                .into_iter()
                .find(|s| (g / s - 1.0).abs() < 0.2)
        });
    let (gain_mm_per_mv, gain_from_pulse) = match (options.gain_mm_per_mv, measured_gain) {
        (Some(g), _) => (g, false),
        (None, Some(g)) => (g, true),
        (None, None) => (DEFAULT_GAIN_MM_PER_MV, false),
    };
    // Paper speed: set by hand, else from the pulses' width, else 25 mm/s. Whatever the
    // speed, a row is read in "page seconds" of the usual 25 mm/s page (a 250 mm row is
    // 10 page seconds, the layouts' cells are where they always are); only the sample
    // rate of the recording says how many real seconds that is.
    let (speed_mm_per_s, speed_from_pulse) = match (
        options.speed_mm_per_s,
        speed_from_pulses(&pulses, px_per_mm_x),
    ) {
        (Some(v), _) => (v, false),
        (None, Some(v)) => (v, true),
        (None, None) => (DEFAULT_SPEED_MM_PER_S, false),
    };
    let px_per_s = px_per_mm_x * DEFAULT_SPEED_MM_PER_S;
    let px_per_mv = px_per_mm_y * gain_mm_per_mv;

    // Follow every row over its 10 s (cells are cut from the row afterwards, so that the
    // layout can be chosen after the labels are read).
    let row_boxes: Vec<(usize, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (up, down) = row_gaps(&rows, i, spacing);
            let y0 = (row.baseline_y - BOX_REACH * up).max(0.0) as usize;
            let y1 = ((row.baseline_y + BOX_REACH * down) as usize).min(h.saturating_sub(1));
            (y0, y1)
        })
        .collect();
    // Printed rows end together: a row whose trace wanders off its baseline band near the
    // end (baseline drift) still ends where the longest row does.
    let rows_right = rows.iter().map(|r| r.right_x).max().unwrap_or(0);
    // Follow row `i`'s trace (with the label boxes to keep off), sub-pixel heights where
    // the trace is a thin line (the ink-weighted centre of the run: anti-aliased or
    // blurred lines fall between the mask's pixel rows), off the pulse's falling edge.
    let follow_row = |i: usize, exclude: &[[usize; 4]]| -> trace::Followed {
        let (row, x_start, (y0, y1)) = (&rows[i], starts[i], row_boxes[i]);
        let xa = x_start.round().max(0.0) as usize;
        let xb = ((x_start + layout::PAGE_DURATION_S * px_per_s)
            .round()
            .max(0.0) as usize)
            .min(w)
            .min(rows_right + 1)
            .max(xa);
        let mut f = trace::follow(
            &mask,
            xa,
            xb,
            y0,
            y1,
            row.baseline_y,
            px_per_mm_y,
            thickness,
            exclude,
        );
        trace::refine_centres(&mut f, &ink, thickness);
        if let Some(p) = &pulses[i] {
            hold_past_pulse_edge(&mut f, p, thickness);
        }
        f
    };
    let mut followed: Vec<trace::Followed> = (0..rows.len()).map(|i| follow_row(i, &[])).collect();

    // Printed lead labels near every possible cell start (0, 2.5, 5, 7.5 s) of every
    // row, read from the ink that is not on a followed trace.
    let mut on_trace = vec![false; w * h];
    let pad = thickness.ceil() as usize + 1;
    for f in &followed {
        for (c, span) in f.spans.iter().enumerate() {
            if let Some((t, b)) = span {
                let x = f.x0 + c;
                for y in t.saturating_sub(pad)..=(b + pad).min(h.saturating_sub(1)) {
                    on_trace[y * w + x] = true;
                }
            }
        }
    }
    // The calibration pulses are no labels either (a pulse's edge reads as "I"): their
    // three strokes, not the box around them (12×1 pages print the label against the
    // falling edge).
    let half = (thickness / 2.0).ceil() + 1.0;
    for (row, pulse) in rows.iter().zip(&pulses) {
        let Some(p) = pulse else { continue };
        let (fall, rise) = (p.end_x as f32, p.end_x as f32 - p.width_px);
        let (top, base) = (row.baseline_y - p.height_px, row.baseline_y);
        let mut clear = |x0: f32, x1: f32, y0: f32, y1: f32| {
            let (xa, xb) = (x0.max(0.0) as usize, (x1.max(0.0) as usize).min(w - 1));
            let (ya, yb) = (y0.max(0.0) as usize, (y1.max(0.0) as usize).min(h - 1));
            for y in ya..=yb {
                if xa <= xb {
                    on_trace[y * w + xa..=y * w + xb].fill(true);
                }
            }
        };
        clear(rise - half, rise + half, top - half, base + half);
        clear(fall - half, fall + half, top - half, base + half);
        clear(rise - half, fall + half, top - half, top + half);
    }
    // Where cells may start on each row (0, 2.5, 5 and 7.5 s): labels are read there,
    // and separator bars are looked for there.
    let column_x: Vec<[f32; 4]> = starts
        .iter()
        .map(|&s| std::array::from_fn(|k| s + layout::THREE_BY_FOUR_COLUMN_S * k as f32 * px_per_s))
        .collect();
    let label_words: Vec<[Option<labels::Word>; 4]> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (up, down) = row_gaps(&rows, i, spacing);
            std::array::from_fn(|k| {
                let x = column_x[i][k];
                labels::read_label(
                    &mask,
                    &on_trace,
                    (x, row.baseline_y),
                    0.5 * up,
                    0.6 * down,
                    px_per_mm_y,
                )
            })
        })
        .collect();
    let label_at = |row: usize, t: f32| -> Option<&labels::Word> {
        let k = (t / 2.5).round() as usize;
        label_words
            .get(row)
            .and_then(|r| r.get(k))
            .and_then(Option::as_ref)
    };
    // A row whose path ran along a legible label's strokes (a deep QRS crossing the
    // label, cut short where the label offered a path nearer the baseline) is followed
    // again off the labels' ink.
    let mut label_boxes: Vec<[usize; 4]> = label_words
        .iter()
        .flatten()
        .flatten()
        .filter(|w| w.best().1 > LABEL_MIN_SCORE)
        .map(|w| [w.x0, w.y0, w.x1, w.y1])
        .collect();
    // And the labels a path hid, where the page's other labels say they are.
    let row_labels: Vec<labels::RowLabels<'_>> = rows
        .iter()
        .zip(&column_x)
        .zip(&label_words)
        .map(|((r, &column_x), words)| labels::RowLabels {
            baseline_y: r.baseline_y,
            column_x,
            words,
        })
        .collect();
    let hidden = labels::hidden_label_boxes(&row_labels, px_per_mm_y, LABEL_MIN_SCORE);
    if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
        eprintln!("hidden label boxes: {hidden:?}");
    }
    label_boxes.extend(hidden);
    for (i, f) in followed.iter_mut().enumerate() {
        let on_label = f.spans.iter().enumerate().any(|(c, span)| {
            span.is_some_and(|(t, b)| {
                let x = f.x0 + c;
                label_boxes
                    .iter()
                    .any(|l| (l[0]..=l[2]).contains(&x) && t >= l[1] && b <= l[3])
            })
        });
        if on_label {
            *f = follow_row(i, &label_boxes);
        }
    }
    drop(ink);
    // (Rows are in page order, top down.)
    trace::resolve_shared(&mut followed, (SHARED_MAX_S * px_per_s).round() as usize);
    // Separator bars where cells may meet (every 2.5 s of a row).
    for (i, f) in followed.iter_mut().enumerate() {
        let near: Vec<usize> = column_x[i][1..]
            .iter()
            .map(|x| x.round().max(0.0) as usize)
            .collect();
        let blanked = trace::blank_bars(
            f,
            rows[i].baseline_y,
            &near,
            (0.06 * px_per_s).round() as usize,
            thickness,
        );
        if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
            eprintln!("row {i}: {blanked} separator bar columns blanked");
        }
    }
    if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
        eprintln!(
            "candidates: {:?}",
            candidates
                .iter()
                .map(|r| (r.baseline_y, r.coverage, r.left_x, r.right_x))
                .collect::<Vec<_>>()
        );
        eprintln!(
            "rows: {:?}",
            rows.iter().map(|r| r.baseline_y).collect::<Vec<_>>()
        );
        eprintln!(
            "working {w}×{h} (scale {scale:.2}), {px_per_mm_x:.2} px/mm; row ends {:?}, pulses {pulses:?}, start {:?}, {px_per_s:.1} px/s",
            rows.iter().map(|r| (r.left_x, r.right_x)).collect::<Vec<_>>(),
            starts.first()
        );
        for (i, r) in label_words.iter().enumerate() {
            let t: Vec<String> = r
                .iter()
                .map(|w| {
                    w.as_ref().map_or("-".into(), |w| {
                        let b = w.best();
                        format!("{}:{:.2}/{:.2}@{},{}", b.0.label(), b.1, b.2, w.x0, w.y0)
                    })
                })
                .collect();
            eprintln!("row {i}: {}", t.join("  "));
        }
    }
    // 15-lead pages: the top three rows' labels at the 2 s columns, the fifth's with the
    // extra leads' templates (3–6 rows, unless another layout is set by hand).
    let fifteen_words: FifteenWords = if (3..=6).contains(&rows.len())
        && options
            .layout
            .is_none_or(|l| matches!(l, Layout::ThreeByFive { .. }))
    {
        rows.iter()
            .take(3)
            .enumerate()
            .map(|(i, row)| {
                let (up, down) = row_gaps(&rows, i, spacing);
                std::array::from_fn(|k| {
                    if k == 0 {
                        return label_words[i][0].clone();
                    }
                    let x = starts[i] + layout::THREE_BY_FIVE_COLUMN_S * k as f32 * px_per_s;
                    labels::read_label_with(
                        &mask,
                        &on_trace,
                        (x, row.baseline_y),
                        0.5 * up,
                        0.6 * down,
                        px_per_mm_y,
                        k == 4,
                    )
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    // Where a 15-lead page's labels are: its top three rows' at the 2 s columns.
    let label_at_15 = |row: usize, t: f32| -> Option<&labels::Word> {
        if row < 3 {
            let k = (t / layout::THREE_BY_FIVE_COLUMN_S).round() as usize;
            fifteen_words
                .get(row)
                .and_then(|r| r.get(k))
                .and_then(Option::as_ref)
        } else {
            label_at(row, t)
        }
    };
    // A full layout: the one set by hand, else the one the rows and labels fit.
    let full = if partial_request {
        None
    } else if let Some(Layout::ThreeByFive { extra, strips }) = options.layout {
        // Set by hand: the extra leads' legible labels name them.
        let mut extra = extra;
        for (r, x) in extra.iter_mut().enumerate() {
            if let Some(read) = extra_label(fifteen_words.get(r).and_then(|w| w[4].as_ref())) {
                *x = Some(read);
            }
        }
        Some(Layout::ThreeByFive { extra, strips })
    } else if let Some(l) = options.layout {
        Some(l)
    } else if let Some(l) = fifteen_lead_layout(rows.len(), &fifteen_words, &label_at) {
        Some(l)
    } else if let Some(mut l) = choose_layout(rows.len(), &label_at) {
        if rows.len() == 6
            && l.grid().columns == 2
            && rows_look_like_three_strips(&followed, &starts, px_per_s)
        {
            l = Layout::ThreeByFour { rhythm_strips: 3 };
        }
        let usual = layout_hypotheses(rows.len())
            .first()
            .map_or(l.grid().strips, |u| u.grid().strips);
        Some(strips_by_trace(l, usual, &followed, &starts, px_per_s))
    } else {
        None
    };
    // A partial page: set by hand, rows that fit no full layout, or a detected layout
    // that the legible labels contradict (a crop of 3 rows of a 6×2 page is no 3×4).
    let contradicted = |l: Layout| {
        if matches!(l, Layout::ThreeByFive { .. }) {
            labels_contradict(l, &label_at_15)
        } else {
            labels_contradict(l, &label_at)
        }
    };
    let try_partial = partial_request
        || full.is_none()
        || (options.layout.is_none() && full.is_some_and(contradicted));
    let partial = if try_partial {
        read_partial(
            &rows,
            &starts,
            pulses.iter().any(Option::is_some),
            &followed,
            &mask,
            &on_trace,
            spacing,
            px_per_s,
            px_per_mm_x,
            px_per_mm_y,
        )
    } else {
        None
    };
    drop(on_trace);
    let mut partial_scores = [0.0f32; 12];
    let mut partial_from_pulse = false;
    let layout = match (partial, full) {
        (Some(p), _) => {
            starts.fill(p.origin_x);
            partial_scores = p.scores;
            partial_from_pulse = p.from_pulse;
            p.layout
        }
        (None, Some(l)) => l,
        (None, None) if partial_request => {
            return Err(DigitizeError::NoLabels {
                rows: rows.len(),
                path: source.to_path_buf(),
            })
        }
        (None, None) => return Err(unknown(&rows)),
    };

    let fifteen = matches!(layout, Layout::ThreeByFive { .. });
    let cell_label = |row: usize, t: f32| {
        if fifteen {
            label_at_15(row, t)
        } else {
            label_at(row, t)
        }
    };
    // Cut every cell from its row.
    let n_out = (OUTPUT_RATE_HZ * f64::from(layout::PAGE_DURATION_S)).round() as usize;
    let mut samples: Vec<Vec<f32>> = vec![vec![f32::NAN; n_out]; 12];
    let mut confidence = [0.0f32; 12];
    let mut shown_s = [0.0f32; 12];
    let mut lead_source = [LeadSource::Missing; 12];
    // Each lead as first read (its block cell), for the cross-checks.
    let mut first_read: Vec<Vec<f32>> = vec![vec![f32::NAN; n_out]; 12];
    let mut traces: Vec<Vec<[f32; 2]>> = vec![Vec::new(); 12];
    let mut lead_boxes = Vec::new();
    let mut any_trace = false;
    // Where a cell lies on its row (columns `xa..xb` of the working image, its box's
    // corners in the original image); `None` when its row was not read.
    let span = |row: usize, start_s: f32, end_s: f32| -> Option<CellSpan> {
        let (x_start, (y0, y1)) = (*starts.get(row)?, *row_boxes.get(row)?);
        let xa = (x_start + start_s * px_per_s).round().max(0.0) as usize;
        let xb = ((x_start + end_s * px_per_s).round().max(0.0) as usize)
            .min(w)
            .min(rows_right + 1);
        let (xf, yf) = ((xa as f32, xb as f32), (y0 as f32, y1 as f32));
        Some(CellSpan {
            row,
            xa,
            xb,
            start_s,
            end_s,
            corners: [
                frame.to_original(xf.0, yf.0),
                frame.to_original(xf.1, yf.0),
                frame.to_original(xf.1, yf.1),
                frame.to_original(xf.0, yf.1),
            ],
        })
    };
    // A cell's samples, confidence before the cross-checks and trace (original image
    // pixels); `None` when it is too narrow to read.
    let read = |c: &CellSpan| -> Option<CellRead> {
        let (row, x_start, f) = (rows.get(c.row)?, starts.get(c.row)?, followed.get(c.row)?);
        if c.xb <= c.xa + 2 {
            return None;
        }
        let s = sample_cell(
            f,
            (c.xa, c.xb),
            (c.start_s, c.end_s),
            (*x_start, row.baseline_y),
            (px_per_s, px_per_mv),
            n_out,
        );
        let shown = &s.values[s.first..s.last];
        // The steep strokes (QRS) in the cell's band that its path did not take, away
        // from the cell's ends (separator bars, the pulse) and not taken by the rows
        // either side (their tall complexes).
        let (up, down) = row_gaps(&rows, c.row, spacing);
        let neighbours: Vec<&trace::Followed> = [c.row.checked_sub(1), Some(c.row + 1)]
            .into_iter()
            .flatten()
            .filter_map(|k| followed.get(k))
            .collect();
        let margin = (0.08 * px_per_s) as usize;
        let untaken = trace::untaken_stroke_share(
            &mask,
            f,
            &neighbours,
            (c.xa + margin, c.xb.saturating_sub(margin)),
            (
                (row.baseline_y - 0.5 * up).max(0.0) as usize,
                (row.baseline_y + 0.5 * down) as usize,
            ),
            row.baseline_y,
            thickness,
            (
                ((3.0 * thickness) as usize).max((1.5 * px_per_mm_y) as usize),
                5.0 * px_per_mm_y,
            ),
            &label_boxes,
            (2.0 * px_per_mm_y) as usize,
        );
        if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
            eprintln!(
                "row {} at {:.1} s: untaken strokes {untaken:?}",
                c.row, c.start_s
            );
        }
        Some(CellRead {
            any_trace: shown.iter().any(|v| v.is_finite()),
            confidence: cell_confidence(shown, f, (s.a, s.b), px_per_mm_y)
                * untaken_factor(untaken),
            trace_pixels: s
                .ys
                .iter()
                .enumerate()
                .filter(|(_, y)| y.is_finite())
                .map(|(i, y)| frame.to_original((f.x0 + s.a + i) as f32, *y))
                .collect(),
            values: s.values,
        })
    };
    for cell in layout.cells() {
        let Some(cs) = span(cell.row, cell.start_s, cell.end_s) else {
            continue;
        };
        lead_boxes.push(LeadBox {
            lead: cell.lead,
            corners: cs.corners,
            start_s: cell.start_s,
            end_s: cell.end_s,
        });
        if cs.xb <= cs.xa + 2 || followed.get(cell.row).is_none() {
            continue;
        }
        let li = cell.lead.index();
        let duration = cell.end_s - cell.start_s;
        if duration < shown_s[li] {
            continue; // a longer cell (rhythm strip) of this lead was already read
        }
        let repeat = shown_s[li] > 0.0;
        shown_s[li] = duration;
        let Some(CellRead {
            values,
            confidence: c,
            trace_pixels,
            any_trace: inked,
        }) = read(&cs)
        else {
            continue;
        };
        any_trace |= inked;
        confidence[li] = c;
        lead_source[li] = match cell_label(cell.row, cell.start_s).map(labels::Word::best) {
            Some((lead, score, _)) if lead == cell.lead && score > LABEL_MIN_SCORE => {
                LeadSource::Label
            }
            Some(_)
                if cell_label(cell.row, cell.start_s)
                    .is_some_and(|w| label_disagrees(w, cell.lead)) =>
            {
                LeadSource::LabelDisagrees
            }
            _ => LeadSource::Layout,
        };
        if repeat {
            // A rhythm strip repeats its lead's cell at the same seconds: where it does
            // not, the strip's lead is doubtful.
            let agree = repeat_agreement(&first_read[li], &values);
            if agree.is_some_and(|r| r < 0.8) {
                confidence[li] *= 0.5;
            }
        } else {
            first_read[li].clone_from(&values);
        }
        samples[li] = values;
        traces[li] = trace_pixels;
    }
    // A 15-lead page's extra leads, cut like the standard ones.
    let mut extra_leads: Vec<(ExtraRead, Vec<f32>)> = Vec::new();
    for cell in layout.extra_cells() {
        let Some(cs) = span(cell.row, cell.start_s, cell.end_s) else {
            continue;
        };
        let Some(r) = read(&cs) else {
            continue;
        };
        let word = fifteen_words.get(cell.row).and_then(|w| w[4].as_ref());
        let source = match extra_label(word) {
            Some(x) if x == cell.lead => LeadSource::Label,
            Some(_) => LeadSource::LabelDisagrees,
            None => LeadSource::Layout,
        };
        let confidence = if source == LeadSource::LabelDisagrees {
            0.5 * r.confidence
        } else {
            r.confidence
        };
        extra_leads.push((
            ExtraRead {
                lead: cell.lead,
                confidence,
                source,
                trace_pixels: r.trace_pixels,
                corners: cs.corners,
                start_s: cell.start_s,
                end_s: cell.end_s,
            },
            r.values,
        ));
    }
    // A partial page's leads were named by their labels; a weaker match counts less.
    if let Layout::Partial(p) = layout {
        for (i, c) in p.cells.iter().enumerate() {
            if c.is_some() && lead_source[i] != LeadSource::Missing {
                lead_source[i] = LeadSource::Label;
                confidence[i] *=
                    0.7 + 0.3 * ((partial_scores[i] - LABEL_MIN_SCORE) / 0.2).clamp(0.0, 1.0);
            }
        }
    }
    // Cross-checks: Einthoven's and Goldberger's laws, and labels that name another lead.
    // A label misread now and then (about one lead in twenty on ecg-image-kit pages)
    // costs little; many labels naming other leads mean the layout is wrong.
    // One pixel of the original page, in mV (the working image may be upsampled).
    let laws = confidence::law_factors(&first_read, scale / px_per_mv);
    if std::env::var_os("ECGDIGITIZE_DEBUG").is_some() {
        eprintln!("laws {laws:?} confidence before {confidence:?}");
    }
    let disagree = lead_source
        .iter()
        .filter(|s| **s == LeadSource::LabelDisagrees)
        .count();
    let read = disagree
        + lead_source
            .iter()
            .filter(|s| **s == LeadSource::Label)
            .count();
    let label_factor = if disagree >= 3 && disagree * 4 >= read {
        0.4
    } else {
        0.85
    };
    for (i, c) in confidence.iter_mut().enumerate() {
        *c *= laws[i];
        if lead_source[i] == LeadSource::LabelDisagrees {
            *c *= label_factor;
        }
    }
    if !any_trace {
        return Err(DigitizeError::NoTrace {
            path: source.to_path_buf(),
        });
    }

    let mut leads: Vec<Lead> = StandardLead::ALL
        .iter()
        .zip(samples)
        .map(|(lead, s)| Lead::new(lead.label(), s))
        .collect();
    let mut extra_confidence = Vec::new();
    let mut extra_reads = Vec::new();
    for (read, values) in extra_leads {
        let mut lead = Lead::new(read.lead.label(), values);
        lead.standard = None;
        leads.push(lead);
        extra_confidence.push((read.lead.label().to_string(), read.confidence));
        extra_reads.push(read);
    }
    let rotation_deg = angle.to_degrees();
    let px_per_mm_x_orig = px_per_mm_x / scale;
    let px_per_mm_y_orig = px_per_mm_y / scale;
    let mut notes = vec![format!(
        "digitized from an image: layout {layout}, {speed_mm_per_s} mm/s ({}), {gain_mm_per_mv} mm/mV ({}), grid {:.2} px/mm ({}), rotation {rotation_deg:.2}°",
        if speed_from_pulse { "calibration pulse width" } else if options.speed_mm_per_s.is_some() { "set by hand" } else { "assumed" },
        if gain_from_pulse { "calibration pulse" } else if options.gain_mm_per_mv.is_some() { "set by hand" } else { "assumed" },
        f32::midpoint(px_per_mm_x_orig, px_per_mm_y_orig),
        if grid_found { "measured" } else { "set by hand" },
    )];
    if !extra_reads.is_empty() {
        let named = |by_label: bool| {
            extra_reads
                .iter()
                .filter(|r| (r.source == LeadSource::Label) == by_label)
                .map(|r| r.lead.label())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (read, assumed) = (named(true), named(false));
        notes.push(format!(
            "15-lead page: extra leads {}{} (8–10 s); kept under their own names and shown, not used by the model",
            if read.is_empty() { String::new() } else { format!("{read} named by their printed labels") },
            if assumed.is_empty() { String::new() } else { format!("{}{assumed} named by the layout (label not legible)", if read.is_empty() { "" } else { ", " }) },
        ));
    }
    if let Layout::ThreeByFive { extra, .. } = layout {
        for (r, _) in extra.iter().enumerate().filter(|(_, x)| x.is_none()) {
            notes.push(format!(
                "15-lead page: the extra lead of row {} (8–10 s) is not read: its label is not legible (name it with the layout, e.g. --layout 3x5(V3R,V4R,V7))",
                r + 1
            ));
        }
    }
    if let Layout::Partial(p) = layout {
        let read: Vec<&str> = p
            .leads()
            .into_iter()
            .filter(|l| lead_source[l.index()] == LeadSource::Label)
            .map(StandardLead::label)
            .collect();
        notes.push(format!(
            "partial page: {} of 12 leads read, each named by its printed label ({}); the other leads are not on the page (missing); {}",
            read.len(),
            read.join(", "),
            if partial_from_pulse {
                "placed at their seconds from the calibration pulse"
            } else {
                "no calibration pulse, so placed from 0 s in the order printed (their true seconds in the recording are unknown)"
            }
        ));
    }
    // Samples are taken every 1/500 page second; at another paper speed a page second
    // is 25/speed real seconds.
    let sample_rate_hz = OUTPUT_RATE_HZ * f64::from(speed_mm_per_s / DEFAULT_SPEED_MM_PER_S);
    let recording = Recording {
        leads,
        sample_rate_hz,
        provenance: Provenance {
            format: "paper ECG image (digitized)".to_string(),
            path: source.to_path_buf(),
            original_sample_rate_hz: sample_rate_hz,
            notes,
            lead_confidence: StandardLead::ALL
                .iter()
                .zip(&confidence)
                .zip(&lead_source)
                .filter(|(_, s)| **s != LeadSource::Missing)
                .map(|((l, c), _)| (l.label().to_string(), *c))
                .chain(extra_confidence)
                .collect(),
            ..Provenance::default()
        },
        ..Recording::default()
    };
    Ok(Digitized {
        recording,
        confidence_per_lead: confidence,
        trace_pixels_per_lead: traces,
        lead_boxes,
        lead_source,
        extra_leads: extra_reads,
        px_per_mm: f32::midpoint(px_per_mm_x_orig, px_per_mm_y_orig),
        px_per_mm_x: px_per_mm_x_orig,
        px_per_mm_y: px_per_mm_y_orig,
        grid_found,
        rotation_deg,
        perspective_deg: None,
        layout,
        speed_mm_per_s,
        speed_from_pulse,
        gain_mm_per_mv,
        gain_from_pulse,
        image_width: ow,
        image_height: oh,
        row_baselines: rows
            .iter()
            .map(|r| (frame.row_to_original(r.baseline_y) / oh.max(1) as f32).clamp(0.0, 1.0))
            .collect(),
    })
}

/// Rows set by hand ([`RowPositions`]) in the working frame: each baseline moved to the
/// centre of the densest ink band within 3 mm of it (at most 0.3 of the gap to a
/// neighbour; kept where there is no ink), its ends from the ink along it (a row with
/// under half the widest row's length spans the widest row's, as printed rows do).
fn hand_set_rows(
    positions: &RowPositions,
    frame: Frame,
    original_height: u32,
    mask: &trace::Mask,
    px_per_mm_y: f32,
    source: &Path,
) -> Result<Vec<trace::Row>, DigitizeError> {
    let h = mask.h.max(1);
    let ys: Vec<f32> = positions
        .as_slice()
        .iter()
        .map(|f| {
            frame
                .row_to_working(f * original_height as f32)
                .clamp(0.0, (h - 1) as f32)
        })
        .collect();
    for (i, w) in ys.windows(2).enumerate() {
        let mm = (w[1] - w[0]) / px_per_mm_y;
        if mm < MIN_HAND_ROW_GAP_MM {
            return Err(DigitizeError::BadOption {
                what: format!(
                    "--rows, in the viewer the row bands: rows {} and {} are {mm:.1} mm apart on the paper; rows must be at least {MIN_HAND_ROW_GAP_MM} mm apart",
                    i + 1,
                    i + 2
                ),
                path: source.to_path_buf(),
            });
        }
    }
    let half = (1.5 * px_per_mm_y).round().max(1.0) as usize;
    let cov = trace::coverage(mask, half);
    let mut rows: Vec<trace::Row> = ys
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            let up = if i > 0 { y - ys[i - 1] } else { f32::MAX };
            let down = ys.get(i + 1).map_or(f32::MAX, |n| n - y);
            let reach = (3.0 * px_per_mm_y).min(0.3 * up.min(down));
            let lo = (y - reach).max(0.0).round() as usize;
            let hi = ((y + reach).round() as usize).min(h - 1).max(lo);
            let mut best = y.round() as usize;
            for k in lo..=hi {
                let nearer = (k as f32 - y).abs() < (best as f32 - y).abs();
                if cov[k] > cov[best] || (cov[k] == cov[best] && nearer) {
                    best = k;
                }
            }
            let v = cov[best];
            let baseline_y = if v > 0.0 {
                let (mut a, mut b) = (best, best);
                while a > lo && cov[a - 1] >= 0.97 * v {
                    a -= 1;
                }
                while b < hi && cov[b + 1] >= 0.97 * v {
                    b += 1;
                }
                (a + b) as f32 / 2.0
            } else {
                y
            };
            let (left_x, right_x) = trace::row_extent(mask, baseline_y, px_per_mm_y);
            trace::Row {
                baseline_y,
                coverage: v,
                left_x,
                right_x,
            }
        })
        .collect();
    let width = |r: &trace::Row| r.right_x.saturating_sub(r.left_x);
    let widest = rows.iter().copied().max_by_key(width);
    let (wl, wr) = match widest {
        Some(r) if width(&r) > 0 => (r.left_x, r.right_x),
        _ => (0, mask.w.saturating_sub(1)),
    };
    for r in &mut rows {
        if width(r) * 2 < wr - wl {
            r.left_x = wl;
            r.right_x = wr;
        }
    }
    Ok(rows)
}

/// Linear interpolation of `y` at fractional index `x`, using the nearest finite
/// neighbour within 3 columns where one side is missing.
fn interpolate(y: &[f32], x: f32) -> Option<f32> {
    if !x.is_finite() || x < -0.5 || x > y.len() as f32 - 0.5 {
        return None;
    }
    let i = x.floor().max(0.0) as usize;
    let f = x - i as f32;
    let a = y.get(i).copied().filter(|v| v.is_finite());
    let b = y.get(i + 1).copied().filter(|v| v.is_finite());
    match (a, b) {
        (Some(a), Some(b)) => Some(a + (b - a) * f.clamp(0.0, 1.0)),
        (Some(a), None) => Some(a),
        (None, Some(b)) => Some(b),
        (None, None) => (1..=3).find_map(|d| {
            let l = i.checked_sub(d).and_then(|j| y.get(j)).copied();
            let r = y.get(i + 1 + d).copied();
            l.filter(|v| v.is_finite()).or(r.filter(|v| v.is_finite()))
        }),
    }
}

/// The signal starts at the centre of the calibration pulse's falling edge, so the
/// followed trace's first columns lie on that vertical stroke and read the pulse's top
/// (up to 1 mV at 0 s). Hold the trace's first height past the stroke over them instead.
fn hold_past_pulse_edge(f: &mut trace::Followed, pulse: &trace::Pulse, thickness: f32) {
    let past = (pulse.end_x as f32 + thickness / 2.0 + 1.0).ceil() as usize;
    // The pulse's end is measured to a pixel or three; the stroke's own columns are
    // those whose run spans half the pulse's height.
    let on_stroke = f
        .spans
        .iter()
        .take_while(|s| s.is_some_and(|(t, b)| (b - t + 1) as f32 >= 0.5 * pulse.height_px))
        .count();
    let edge = past.saturating_sub(f.x0).max(on_stroke).min(f.y.len());
    // Only the stroke's own few columns; a pulse found far from the trace start is left alone.
    if edge == 0 || edge as f32 > 2.0 * thickness + 2.0 {
        return;
    }
    if let Some(&v) = f.y[edge..].iter().find(|v| v.is_finite()) {
        f.y[..edge].fill(v);
    }
}

/// Linearly fill runs of `NaN` no longer than `max_len` that have finite values on both
/// sides.
fn fill_gaps(v: &mut [f32], max_len: usize) {
    let mut i = 0;
    while i < v.len() {
        if v[i].is_finite() {
            i += 1;
            continue;
        }
        let start = i;
        while i < v.len() && !v[i].is_finite() {
            i += 1;
        }
        if start > 0 && i < v.len() && i - start <= max_len {
            let (a, b) = (v[start - 1], v[i]);
            let n = (i - start + 1) as f32;
            for (k, x) in v[start..i].iter_mut().enumerate() {
                *x = a + (b - a) * (k + 1) as f32 / n;
            }
        }
    }
}

/// The gaps (pixels) from row `i`'s baseline to the rows above and below it; `spacing` at
/// the page's edges.
fn row_gaps(rows: &[trace::Row], i: usize, spacing: f32) -> (f32, f32) {
    let here = rows[i].baseline_y;
    let up = if i > 0 {
        here - rows[i - 1].baseline_y
    } else {
        spacing
    };
    let down = rows.get(i + 1).map_or(spacing, |n| n.baseline_y - here);
    (up, down)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_filled_linearly() {
        let mut v = vec![0.0, f32::NAN, f32::NAN, 3.0, f32::NAN];
        fill_gaps(&mut v, 5);
        assert_eq!(&v[..4], &[0.0, 1.0, 2.0, 3.0]);
        assert!(v[4].is_nan());
    }

    #[test]
    fn odd_images_read_as_partial_pages_never_panic() {
        // A single dark line (a trace with no label), a dot, a one-pixel-high strip.
        let mut line = RgbImage::from_pixel(300, 60, image::Rgb([255, 255, 255]));
        for x in 10..290 {
            line.put_pixel(x, 30, image::Rgb([0, 0, 0]));
        }
        let mut dot = RgbImage::from_pixel(40, 40, image::Rgb([255, 255, 255]));
        dot.put_pixel(20, 20, image::Rgb([0, 0, 0]));
        let strip = RgbImage::from_pixel(500, 1, image::Rgb([0, 0, 0]));
        for img in [line, dot, strip] {
            for layout in [None, Layout::parse("partial")] {
                let options = DigitizeOptions {
                    layout,
                    ..DigitizeOptions::default()
                };
                // Nothing here is labelled: no lead may be named.
                let r = digitize_rgb(&img, Path::new("odd.png"), &options);
                assert!(r.is_err(), "{:?}", r.map(|d| d.layout.to_string()));
            }
        }
    }

    #[test]
    fn the_calibration_pulse_falling_edge_is_not_read_as_signal() {
        // Followed from the edge's centre (x 102, 3 px lines): the first columns lie on
        // the vertical stroke down from the pulse top (y 20) to the baseline (y 60).
        let followed = |start: usize| trace::Followed {
            x0: start,
            y: [20.0, 35.0, 50.0, 60.0, 61.0, 62.0, 58.0, 60.0].to_vec(),
            found: 1.0,
            jumps: 0.0,
            spans: vec![None; 8],
        };
        let pulse = trace::Pulse {
            height_px: 40.0,
            end_x: 102,
            width_px: 40.0,
        };
        let mut f = followed(102);
        hold_past_pulse_edge(&mut f, &pulse, 3.0);
        // Past the stroke (x ≥ 102 + 1.5 + 1): the trace's own heights, held before it.
        assert_eq!(f.y, [60.0, 60.0, 60.0, 60.0, 61.0, 62.0, 58.0, 60.0]);
        // A pulse found far before the trace start is not this trace's edge.
        let mut far = followed(140);
        hold_past_pulse_edge(&mut far, &pulse, 3.0);
        assert_eq!(far.y, followed(140).y);
        // The pulse's end measured 3 px early (x 99): its stroke's own columns, whose
        // runs span the pulse's height, are still held.
        let early = trace::Pulse { end_x: 99, ..pulse };
        let mut f = followed(102);
        f.spans[..3].copy_from_slice(&[Some((19, 61)), Some((19, 61)), Some((30, 61))]);
        f.spans[3..].fill(Some((59, 61)));
        hold_past_pulse_edge(&mut f, &early, 3.0);
        assert_eq!(f.y, [60.0, 60.0, 60.0, 60.0, 61.0, 62.0, 58.0, 60.0]);
    }

    /// A label word that reads as `lead` (standard) or `extra` at 0.8.
    fn word(lead: Option<StandardLead>, extra: Option<ExtraLead>) -> labels::Word {
        let mut w = labels::Word {
            x0: 0,
            y0: 0,
            x1: 10,
            y1: 10,
            scores: [0.1; 12],
            extra_scores: [0.1; 6],
        };
        if let Some(l) = lead {
            w.scores[l.index()] = 0.8;
        }
        if let Some(x) = extra {
            w.extra_scores[x.index()] = 0.8;
        }
        w
    }

    #[test]
    fn fifteen_lead_pages_are_told_by_their_labels_and_unread_names_are_not_invented() {
        use ecgcore::paper::THREE_BY_FOUR;
        use ExtraLead as X;
        let page = |fifth: [Option<ExtraLead>; 3]| -> FifteenWords {
            (0..3)
                .map(|r| {
                    std::array::from_fn(|c| {
                        if c < 4 {
                            Some(word(Some(THREE_BY_FOUR[r][c]), None))
                        } else {
                            fifth[r].map(|x| word(None, Some(x)))
                        }
                    })
                })
                .collect()
        };
        fn none<'a>(_: usize, _: f32) -> Option<&'a labels::Word> {
            None
        }
        let layout = |words: &FifteenWords, rows| fifteen_lead_layout(rows, words, &none);
        // All three read.
        let w = page([Some(X::V5R), Some(X::V8), Some(X::V9)]);
        assert_eq!(
            layout(&w, 4),
            Layout::parse("3x5(V5R,V8,V9)+II"),
            "{:?}",
            layout(&w, 4)
        );
        // One not legible: named only where one usual set fits the two read.
        let w = page([None, Some(X::V4R), Some(X::V7)]);
        assert_eq!(layout(&w, 3), Layout::parse("3x5(V3R,V4R,V7)"));
        let w = page([Some(X::V5R), None, Some(X::V9)]);
        assert_eq!(layout(&w, 3), Layout::parse("3x5(V5R,?,V9)"));
        // One extra label is not enough.
        assert_eq!(layout(&page([None, None, Some(X::V9)]), 3), None);
        // A 3×4 page (its labels at the 2.5 s columns) with stray "extra" words at 8 s.
        let mut w = page([Some(X::V4R), Some(X::V8), Some(X::V9)]);
        for r in &mut w {
            for c in r.iter_mut().take(4).skip(1) {
                *c = None;
            }
        }
        let three_by_four: Vec<[Option<labels::Word>; 4]> = (0..3)
            .map(|r| std::array::from_fn(|c| Some(word(Some(THREE_BY_FOUR[r][c]), None))))
            .collect();
        let label4 = |r: usize, t: f32| {
            three_by_four
                .get(r)
                .and_then(|w| w.get((t / 2.5).round() as usize))
                .and_then(Option::as_ref)
        };
        assert_eq!(fifteen_lead_layout(3, &w, &label4), None);
        // 3×4 labels at the 2.5 s columns beat an empty 2 s grid.
        assert_eq!(layout(&page([None; 3]), 3), None);
        assert_eq!(
            layout(&page([Some(X::V4R), Some(X::V8), Some(X::V9)]), 7),
            None
        );
    }

    #[test]
    fn blank_page_is_refused_cleanly() {
        let img = RgbImage::from_pixel(400, 300, image::Rgb([255, 255, 255]));
        let err = digitize_rgb(&img, Path::new("blank.png"), &DigitizeOptions::default());
        assert!(matches!(err, Err(DigitizeError::NoGrid { .. })), "{err:?}");
    }
}
