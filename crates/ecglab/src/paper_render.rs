//! A simple paper-ECG page renderer with distortions, to make evaluation images with
//! known ground truth for the digitizer ([`crate::digitizer_eval`], the examples
//! `render_evalset`, `digitizer_tune`, `calibrate_digitized`).
//!
//! It draws what an ECG cart prints (US Letter landscape, 25 mm/s, 10 mm/mV): a 1 mm /
//! 5 mm grid in a chosen colour, a 1 mV × 0.2 s calibration pulse at each row start, the
//! 3×4 layout (column c shows seconds 2.5·c to 2.5·(c+1)) with short separator ticks, a
//! 10 s lead II rhythm strip, and dark blocks standing in for header text and lead labels.
//! Lines are anti-aliased by exact distance to each segment. Distortions follow the
//! issue's list: rotation, Gaussian blur, additive Gaussian noise, JPEG compression and
//! lower resolution (a lower `dpi`). A seeded SplitMix64 generator makes every page
//! reproducible.
//!
//! [`render_labelled`] draws any full layout, 15-lead pages (3×5) included, with every
//! lead's label printed as text (the digitizer's template glyphs); PTB-XL has no extra leads (V3R–V5R, V7–V9), so
//! their traces are other real leads of the same record ([`extra_stand_in`]).
//!
//! Units: millimetres on paper, pixels at `dpi`, mV, 500 Hz input samples.

use ecgdigitize::layout::Layout;
use ecgdigitize::plane::{self, Plane};
use image::RgbImage;

/// Paper size, mm (US Letter landscape).
pub const PAGE_W_MM: f32 = 279.4;
pub const PAGE_H_MM: f32 = 215.9;
/// Where the 10 s of signal start on each row, mm from the left edge.
pub const SIGNAL_X0_MM: f32 = 15.0;
/// Row baselines, mm from the top.
pub const ROW_BASELINES_MM: [f32; 4] = [78.0, 112.0, 146.0, 180.0];
/// Input sample rate, Hz.
pub const INPUT_RATE_HZ: f32 = 500.0;

/// Grid colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridColour {
    Red,
    Grey,
    Green,
    Blue,
}

impl GridColour {
    /// (minor, major) line colours.
    fn rgb(self) -> ([f32; 3], [f32; 3]) {
        match self {
            GridColour::Red => ([250.0, 195.0, 195.0], [235.0, 90.0, 90.0]),
            GridColour::Grey => ([205.0, 205.0, 205.0], [150.0, 150.0, 150.0]),
            GridColour::Green => ([190.0, 225.0, 190.0], [70.0, 150.0, 70.0]),
            GridColour::Blue => ([195.0, 205.0, 245.0], [90.0, 110.0, 200.0]),
        }
    }
}

/// How to draw and distort one page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderStyle {
    pub dpi: f32,
    pub grid: GridColour,
    pub trace_width_mm: f32,
    /// Rotation of the whole page, degrees counter-clockwise on screen.
    pub rotation_deg: f32,
    /// Gaussian blur, pixels.
    pub blur_sigma_px: f32,
    /// Additive Gaussian noise, grey levels.
    pub noise_sigma: f32,
    /// JPEG quality (1–100) when the page is JPEG-compressed.
    pub jpeg_quality: Option<u8>,
    pub seed: u64,
    /// Paper speed, mm/s: a row is always 250 mm long, so at 50 mm/s it shows 5 s.
    pub speed_mm_per_s: f32,
    /// Gain, mm/mV (the calibration pulse is 1 mV high).
    pub gain_mm_per_mv: f32,
}

impl Default for RenderStyle {
    fn default() -> Self {
        RenderStyle {
            dpi: 200.0,
            grid: GridColour::Red,
            trace_width_mm: 0.25,
            rotation_deg: 0.0,
            blur_sigma_px: 0.0,
            noise_sigma: 0.0,
            jpeg_quality: None,
            seed: 1,
            speed_mm_per_s: 25.0,
            gain_mm_per_mv: 10.0,
        }
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): small, seeded, reproducible everywhere.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(1e-7);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

struct Canvas {
    rgb: [Plane; 3],
    px_per_mm: f32,
}

impl Canvas {
    fn blend(&mut self, x: usize, y: usize, colour: [f32; 3], alpha: f32) {
        for (plane, c) in self.rgb.iter_mut().zip(colour) {
            let v = plane.get(x, y);
            plane.set(x, y, v + (c - v) * alpha);
        }
    }
}

/// Coverage (0–1) of a line of `half` px half-width at distance `d`.
#[inline]
fn coverage(d: f32, half: f32) -> f32 {
    (half + 0.5 - d).clamp(0.0, 1.0)
}

fn draw_grid(c: &mut Canvas, colour: GridColour) {
    let (minor, major) = colour.rgb();
    let (w, h) = (c.rgb[0].w, c.rgb[0].h);
    let p = c.px_per_mm;
    let half_minor = (0.05 * p).max(0.5);
    let half_major = (0.1 * p).max(0.7);
    // Per axis: (alpha, is_major) for each pixel index.
    let line = |i: usize| -> (f32, bool) {
        let mm = i as f32 / p;
        let d_minor = (mm - mm.round()).abs() * p;
        let d_major = (mm / 5.0 - (mm / 5.0).round()).abs() * 5.0 * p;
        let a_major = coverage(d_major, half_major);
        if a_major > 0.0 {
            (a_major, true)
        } else {
            (coverage(d_minor, half_minor), false)
        }
    };
    let cols: Vec<(f32, bool)> = (0..w).map(line).collect();
    let rows: Vec<(f32, bool)> = (0..h).map(line).collect();
    for (y, (ay, my)) in rows.iter().enumerate() {
        for (x, (ax, mx)) in cols.iter().enumerate() {
            // Minor lines first, major on top.
            for (a, m) in [(*ay, *my), (*ax, *mx)] {
                if a > 0.0 && !m {
                    c.blend(x, y, minor, a);
                }
            }
            for (a, m) in [(*ay, *my), (*ax, *mx)] {
                if a > 0.0 && m {
                    c.blend(x, y, major, a);
                }
            }
        }
    }
}

/// Accumulate a polyline (pixel coordinates) into an alpha plane.
fn stroke(alpha: &mut Plane, points: &[(f32, f32)], half: f32) {
    for seg in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (seg[0], seg[1]);
        let pad = half + 1.5;
        let xa = (x0.min(x1) - pad).floor().max(0.0) as usize;
        let xb = ((x0.max(x1) + pad).ceil().max(0.0) as usize).min(alpha.w.saturating_sub(1));
        let ya = (y0.min(y1) - pad).floor().max(0.0) as usize;
        let yb = ((y0.max(y1) + pad).ceil().max(0.0) as usize).min(alpha.h.saturating_sub(1));
        let (dx, dy) = (x1 - x0, y1 - y0);
        let len2 = dx * dx + dy * dy;
        for y in ya..=yb {
            for x in xa..=xb {
                let (px, py) = (x as f32 - x0, y as f32 - y0);
                let t = if len2 > 0.0 {
                    ((px * dx + py * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (ex, ey) = (px - t * dx, py - t * dy);
                let a = coverage((ex * ex + ey * ey).sqrt(), half);
                if a > alpha.get(x, y) {
                    alpha.set(x, y, a);
                }
            }
        }
    }
}

fn fill_rect(alpha: &mut Plane, x0: f32, y0: f32, x1: f32, y1: f32) {
    for y in (y0.max(0.0) as usize)..(y1.max(0.0) as usize).min(alpha.h) {
        for x in (x0.max(0.0) as usize)..(x1.max(0.0) as usize).min(alpha.w) {
            alpha.set(x, y, 1.0);
        }
    }
}

/// One lead at the renderer's [`INPUT_RATE_HZ`] from `fs` Hz, by linear interpolation
/// (as the paper calibration draws PTB-XL's 100 Hz records).
pub fn at_input_rate(x: &[f32], fs: f64) -> Vec<f32> {
    let ratio = f64::from(INPUT_RATE_HZ) / fs;
    if (ratio - 1.0).abs() < 1e-9 || x.is_empty() {
        return x.to_vec();
    }
    let n = (x.len() as f64 * ratio).round() as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / ratio;
            let i0 = (t.floor() as usize).min(x.len() - 1);
            let i1 = (i0 + 1).min(x.len() - 1);
            let f = (t - i0 as f64) as f32;
            x[i0] * (1.0 - f) + x[i1] * f
        })
        .collect()
}

/// Draw a 3×4 + lead II page of `leads` (12 leads in standard order, mV at 500 Hz,
/// at least 10 s each), undistorted except for `style.dpi` and line widths.
pub fn render_page(leads: &[Vec<f32>], style: &RenderStyle) -> RgbImage {
    render_layout(
        leads,
        style,
        Layout::ThreeByFour { rhythm_strips: 1 },
        &ROW_BASELINES_MM,
    )
}

/// The page the paper calibration (`calibrate_digitized`) draws of PTB-XL record `id`
/// (`rec`, any rate): its 12 standard leads at [`INPUT_RATE_HZ`] ([`at_input_rate`]) as a
/// 3×4 + II page, clean for an even id, distorted ([`random_distorted_style`] seeded
/// by the id) for an odd one.
pub fn calibration_page(rec: &ecgcore::Recording, id: u32) -> RgbImage {
    let leads = page_leads(rec);
    if id % 2 == 1 {
        let style = random_distorted_style(u64::from(id));
        distort(&render_page(&leads, &style), &style)
    } else {
        let style = RenderStyle {
            seed: u64::from(id),
            ..RenderStyle::default()
        };
        render_page(&leads, &style)
    }
}

/// The 12 standard leads of `rec` at [`INPUT_RATE_HZ`], in standard order (empty where
/// the recording lacks one): what a page draws.
pub fn page_leads(rec: &ecgcore::Recording) -> Vec<Vec<f32>> {
    ecgcore::StandardLead::ALL
        .iter()
        .map(|l| {
            rec.lead(*l)
                .map(|x| at_input_rate(&x.samples_mv, rec.sample_rate_hz))
                .unwrap_or_default()
        })
        .collect()
}

/// Draw `layout` with its rows' baselines at `baselines_mm` (mm from the top; rows
/// closer than a tall complex overlap their neighbours, as on many printouts).
pub fn render_layout(
    leads: &[Vec<f32>],
    style: &RenderStyle,
    layout: Layout,
    baselines_mm: &[f32],
) -> RgbImage {
    draw_page(
        leads,
        style,
        layout,
        &|row| baselines_mm.get(row).copied(),
        Labels::Blocks,
    )
}

/// How a page prints its lead labels.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Labels {
    /// A small dark block below each cell's start (labels the digitizer cannot read).
    Blocks,
    /// The lead's name as text ([`label_glyph`]), 3.5 mm tall; extra leads drawn too.
    Text,
}

/// The page renderers' one body: grid, header "text", every cell's trace at the style's
/// speed and gain, the calibration pulse at each row start, separator ticks between
/// columns and the labels; rows at `baseline(row)` mm from the top (`None`: not drawn).
fn draw_page(
    leads: &[Vec<f32>],
    style: &RenderStyle,
    layout: Layout,
    baseline: &dyn Fn(usize) -> Option<f32>,
    labels: Labels,
) -> RgbImage {
    let p = style.dpi / 25.4;
    let w = (PAGE_W_MM * p).round() as usize;
    let h = (PAGE_H_MM * p).round() as usize;
    let mut canvas = Canvas {
        rgb: [
            Plane::filled(w, h, 255.0),
            Plane::filled(w, h, 255.0),
            Plane::filled(w, h, 255.0),
        ],
        px_per_mm: p,
    };
    draw_grid(&mut canvas, style.grid);
    let mut ink = Plane::filled(w, h, 0.0);
    let half = (style.trace_width_mm * p / 2.0).max(0.55);
    let px_per_s = style.speed_mm_per_s * p;
    let px_per_mv = style.gain_mm_per_mv * p;
    // Real seconds per second of the usual 25 mm/s page (the layout's cells).
    let k = 25.0 / style.speed_mm_per_s.max(1.0);
    let x0 = SIGNAL_X0_MM * p;
    let salt = match labels {
        Labels::Blocks => 0x5EED,
        Labels::Text => 0x15EAD,
    };
    let mut rng = SplitMix64(style.seed ^ salt);
    // Header "text".
    for line in 0..3 {
        let y = (12.0 + 7.0 * line as f32) * p;
        let mut x = 10.0 * p;
        while x < 200.0 * p {
            let word = (3.0 + 12.0 * rng.uniform()) * p;
            fill_rect(&mut ink, x, y, x + word, y + 3.0 * p);
            x += word + 3.0 * p;
        }
    }
    // (label, signal, row, start s, end s) per cell.
    let mut cells: Vec<(&str, &[f32], usize, f32, f32)> = Vec::new();
    for c in layout.cells() {
        if let Some(s) = leads.get(c.lead.index()) {
            cells.push((c.lead.label(), s, c.row, c.start_s, c.end_s));
        }
    }
    if labels == Labels::Text {
        for c in layout.extra_cells() {
            if let Some(s) = leads.get(extra_stand_in(c.lead).index()) {
                cells.push((c.lead.label(), s, c.row, c.start_s, c.end_s));
            }
        }
    }
    for (label, signal, row, start_s, end_s) in cells {
        let Some(base_mm) = baseline(row) else {
            continue;
        };
        let base = base_mm * p;
        let first = (start_s * k * INPUT_RATE_HZ) as usize;
        let last = ((end_s * k * INPUT_RATE_HZ) as usize).min(signal.len());
        let window = signal.get(first..last).unwrap_or(&[]);
        let finite: Vec<f32> = window.iter().copied().filter(|v| v.is_finite()).collect();
        let mean = finite.iter().sum::<f32>() / finite.len().max(1) as f32;
        let points: Vec<(f32, f32)> = window
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let t = (first + i) as f32 / INPUT_RATE_HZ;
                let v = if v.is_finite() { v - mean } else { 0.0 };
                (x0 + t * px_per_s, base - v * px_per_mv)
            })
            .collect();
        stroke(&mut ink, &points, half);
        let xs = x0 + start_s * k * px_per_s;
        if start_s > 0.0 {
            // Separator tick between columns.
            stroke(
                &mut ink,
                &[(xs, base - 3.0 * p), (xs, base + 3.0 * p)],
                half,
            );
        } else {
            // Calibration pulse before the signal: 0.2 s wide, 1 mV high.
            let xp = x0 - 0.2 * px_per_s;
            let pulse = [
                (xp - 2.0 * p, base),
                (xp, base),
                (xp, base - px_per_mv),
                (x0, base - px_per_mv),
                (x0, base),
            ];
            stroke(&mut ink, &pulse, half);
        }
        // Lead label below the start of the cell.
        let (lx, ly) = (xs + 1.5 * p, base + 5.0 * p);
        match labels {
            Labels::Blocks => fill_rect(
                &mut ink,
                lx,
                ly,
                lx + (2.0 + 3.0 * rng.uniform()) * p,
                ly + 3.0 * p,
            ),
            Labels::Text => draw_label(&mut ink, label, lx, ly, 3.5 * p),
        }
    }
    for y in 0..h {
        for x in 0..w {
            let a = ink.get(x, y);
            if a > 0.0 {
                canvas.blend(x, y, [20.0, 20.0, 25.0], a);
            }
        }
    }
    to_rgb(&canvas.rgb)
}

fn to_rgb(planes: &[Plane; 3]) -> RgbImage {
    let (w, h) = (planes[0].w, planes[0].h);
    let mut img = RgbImage::new(w as u32, h as u32);
    for (x, y, px) in img.enumerate_pixels_mut() {
        for (c, plane) in planes.iter().enumerate() {
            px[c] = plane.get(x as usize, y as usize).round().clamp(0.0, 255.0) as u8;
        }
    }
    img
}

fn gaussian_blur(p: &Plane, sigma: f32) -> Plane {
    let r = (3.0 * sigma).ceil().max(1.0) as isize;
    let kernel: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let norm: f32 = kernel.iter().sum();
    let pass = |src: &Plane, horizontal: bool| -> Plane {
        let mut out = Plane::filled(src.w, src.h, 0.0);
        for y in 0..src.h {
            for x in 0..src.w {
                let mut s = 0.0;
                for (k, wk) in kernel.iter().enumerate() {
                    let d = k as isize - r;
                    let (sx, sy) = if horizontal {
                        ((x as isize + d).clamp(0, src.w as isize - 1), y as isize)
                    } else {
                        (x as isize, (y as isize + d).clamp(0, src.h as isize - 1))
                    };
                    s += wk * src.get(sx as usize, sy as usize);
                }
                out.set(x, y, s / norm);
            }
        }
        out
    };
    pass(&pass(p, true), false)
}

/// Apply `style`'s rotation, blur, noise and JPEG compression to a rendered page.
pub fn distort(img: &RgbImage, style: &RenderStyle) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut planes: [Plane; 3] = std::array::from_fn(|c| {
        let mut p = Plane::filled(w, h, 0.0);
        for (x, y, px) in img.enumerate_pixels() {
            p.set(x as usize, y as usize, f32::from(px[c]));
        }
        p
    });
    if style.rotation_deg != 0.0 {
        for p in &mut planes {
            *p = plane::rotate(p, style.rotation_deg.to_radians(), 255.0);
        }
    }
    if style.blur_sigma_px > 0.05 {
        for p in &mut planes {
            *p = gaussian_blur(p, style.blur_sigma_px);
        }
    }
    if style.noise_sigma > 0.0 {
        let mut rng = SplitMix64(style.seed ^ 0x0153);
        for p in &mut planes {
            for v in &mut p.data {
                *v += style.noise_sigma * rng.normal();
            }
        }
    }
    let mut out = to_rgb(&planes);
    if let Some(q) = style.jpeg_quality {
        let mut bytes = Vec::new();
        let encoder =
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, q.clamp(1, 100));
        if out.write_with_encoder(encoder).is_ok() {
            if let Ok(decoded) =
                image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
            {
                out = decoded.into_rgb8();
            }
        }
    }
    out
}

/// A photo taken at an angle: the page's corners move inwards by up to `strength` of
/// the width and height (seeded, each corner independently), over a dim table colour.
/// Returns the warped image and the map from its pixels to the flat page's pixels.
pub fn perspective_photo(
    img: &RgbImage,
    strength: f32,
    seed: u64,
) -> (RgbImage, ecgdigitize::perspective::Homography) {
    let mut rng = SplitMix64(seed ^ 0x9E25_7A11);
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let s = f64::from(strength.clamp(0.0, 0.3));
    let page = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
    let inward = [[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]];
    let mut photo = page;
    for (p, d) in photo.iter_mut().zip(inward) {
        p[0] += d[0] * s * w * f64::from(rng.uniform());
        p[1] += d[1] * s * h * f64::from(rng.uniform());
    }
    let to_page = ecgdigitize::perspective::Homography::from_correspondences(photo, page)
        .unwrap_or(ecgdigitize::perspective::Homography::IDENTITY);
    let out =
        ecgdigitize::perspective::warp(img, &to_page, img.width(), img.height(), [150, 140, 130]);
    (out, to_page)
}

/// A distorted style drawn at random (seeded) from the ranges: rotation ±5°,
/// blur 0–1.5 px, noise 0–12 grey levels, JPEG quality 30–90, grid colour, 100–300 dpi.
pub fn random_distorted_style(seed: u64) -> RenderStyle {
    let mut rng = SplitMix64(seed);
    let grid = match rng.next_u64() % 4 {
        0 => GridColour::Red,
        1 => GridColour::Grey,
        2 => GridColour::Green,
        _ => GridColour::Blue,
    };
    let dpi = [100.0, 150.0, 200.0, 300.0][(rng.next_u64() % 4) as usize];
    RenderStyle {
        dpi,
        grid,
        trace_width_mm: 0.2 + 0.15 * rng.uniform(),
        rotation_deg: -5.0 + 10.0 * rng.uniform(),
        blur_sigma_px: 1.5 * rng.uniform(),
        noise_sigma: 12.0 * rng.uniform(),
        jpeg_quality: Some(30 + (rng.next_u64() % 61) as u8),
        seed,
        ..RenderStyle::default()
    }
}

/// A printed lead label's glyphs: the Helvetica (Nimbus Sans) bitmap of the digitizer's
/// label templates (`crates/ecgdigitize/assets/labels/`, rendered from the font, see its
/// README), ink 0–1 row-major with its width and height; `None` for a name without one.
pub fn label_glyph(name: &str) -> Option<(Vec<f32>, usize, usize)> {
    macro_rules! glyphs {
        ($($name:literal),*) => {
            [$(($name, include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../ecgdigitize/assets/labels/Helvetica_",
                $name,
                ".png"
            )) as &[u8])),*]
        };
    }
    let all = glyphs!(
        "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6", "V3R", "V4R",
        "V5R", "V7", "V8", "V9"
    );
    let bytes = all.iter().find(|(n, _)| *n == name)?.1;
    let img = image::load_from_memory(bytes).ok()?.to_luma8();
    let ink = img
        .pixels()
        .map(|p| 1.0 - f32::from(p.0[0]) / 255.0)
        .collect();
    Some((ink, img.width() as usize, img.height() as usize))
}

/// Draw `name` as text into `alpha`: its glyph bitmap scaled to `height_px` tall with
/// its top-left corner at (`x`, `y`), each pixel the mean of the bitmap's pixels under it.
fn draw_label(alpha: &mut Plane, name: &str, x: f32, y: f32, height_px: f32) {
    let Some((ink, gw, gh)) = label_glyph(name) else {
        return;
    };
    let k = height_px / gh as f32;
    let (w, h) = (
        (gw as f32 * k).ceil() as usize,
        (gh as f32 * k).ceil() as usize,
    );
    let (ox, oy) = (x.round().max(0.0) as usize, y.round().max(0.0) as usize);
    for py in 0..h {
        for px in 0..w {
            let (tx0, tx1) = ((px as f32 / k) as usize, (((px + 1) as f32 / k) as usize));
            let (ty0, ty1) = ((py as f32 / k) as usize, (((py + 1) as f32 / k) as usize));
            let (tx1, ty1) = (tx1.max(tx0 + 1).min(gw), ty1.max(ty0 + 1).min(gh));
            let (mut sum, mut n) = (0.0, 0usize);
            for ty in ty0.min(gh)..ty1 {
                for tx in tx0.min(gw)..tx1 {
                    sum += ink[ty * gw + tx];
                    n += 1;
                }
            }
            let (ax, ay) = (ox + px, oy + py);
            if n > 0 && ax < alpha.w && ay < alpha.h {
                let a = sum / n as f32;
                if a > alpha.get(ax, ay) {
                    alpha.set(ax, ay, a);
                }
            }
        }
    }
}

/// The real PTB-XL lead (in [`StandardLead::ALL`](ecgcore::StandardLead::ALL) order)
/// drawn in place of an extra lead on a test 15-lead page. PTB-XL records have no V3R–V5R
/// or V7–V9, so a 15-lead test page can only draw another real lead of the same record
/// under the extra lead's label: this is a test of the page layout and the label reading,
/// not 15-lead data, and the "truth" for an extra lead is the signal drawn.
pub fn extra_stand_in(lead: ecgcore::paper::ExtraLead) -> ecgcore::StandardLead {
    use ecgcore::paper::ExtraLead as X;
    use ecgcore::StandardLead as L;
    match lead {
        X::V3R => L::V2,
        X::V4R => L::V1,
        X::V5R => L::AVR,
        X::V7 => L::V6,
        X::V8 => L::V5,
        X::V9 => L::V4,
    }
}

/// Draw `layout` (a full one: a partial layout draws nothing but the header) of `leads`
/// (12 leads in standard order, mV at 500 Hz, at least 10 s each) at the style's speed
/// and gain, with every lead's label printed as text (the glyphs of [`label_glyph`],
/// 3.5 mm tall, below the baseline at the start of its cell), the calibration pulse at each
/// row start and separator ticks between columns. On a 15-lead page
/// ([`Layout::ThreeByFive`]) each extra lead's trace is its [`extra_stand_in`]'s signal (a
/// real lead of the same record, not the extra lead: see there). Rows at
/// [`ROW_BASELINES_MM`] plus 34 mm per row after the fourth.
pub fn render_labelled(leads: &[Vec<f32>], style: &RenderStyle, layout: Layout) -> RgbImage {
    draw_page(
        leads,
        style,
        layout,
        &|row| {
            Some(
                ROW_BASELINES_MM
                    .get(row)
                    .copied()
                    .unwrap_or(ROW_BASELINES_MM[3] + 34.0 * (row as f32 - 3.0)),
            )
        },
        Labels::Text,
    )
}
