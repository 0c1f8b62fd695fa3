//! The ECG itself on the page: grid, calibration pulses, traces, lead labels and the
//! anomaly-likelihood bands, in the 3×4 + lead II rhythm layout at true scale.
//!
//! Scale: x = 25 mm/s, y = 10 mm/mV (see [`crate::layout`]). Each lead's median over the
//! displayed 10 s is subtracted so its trace sits on the row's 0 mV line; this constant
//! shift does not change any amplitude or ST level relative to the PR baseline. No other
//! filtering happens here (the caller's filters are named in the footer). `NaN` samples
//! break the trace. Above 500 Hz, each 0.05 mm column keeps its minimum and maximum so
//! spikes survive thinning.
//!
//! Anomaly bands: where the map's likelihood p ≥ [`BAND_FROM`], a translucent band of
//! colour [`crate::likelihood_colour`] (p quantised to tenths) is drawn under the trace.

use crate::canvas::{Align, Canvas, Polyline, TextStyle};
use crate::colour::{likelihood_colour, theme};
use crate::layout::{
    PageFrame, CALIBRATION_MV, CALIBRATION_RISE_MM, CALIBRATION_S, COLUMN_SECONDS, GAIN_MM_PER_MV,
    GRID_HEIGHT_MM, GRID_WIDTH_MM, PAPER_SPEED_MM_PER_S, REPORT_LAYOUT, ROWS, ROW_PITCH_MM,
    ROW_SECONDS,
};
use ecgcore::analysis::ModelOutput;
use ecgcore::recording::{Lead, Recording, StandardLead};

/// Likelihood from which a band is drawn under the trace.
pub const BAND_FROM: f32 = 0.3;
/// Band width (mm).
pub const BAND_WIDTH_MM: f32 = 1.8;
/// Band opacity (the grid shows through).
pub const BAND_OPACITY: f32 = 0.6;
/// Trace line width (mm).
pub const TRACE_WIDTH_MM: f32 = 0.22;
const MINOR_WIDTH_MM: f32 = 0.08;
const MAJOR_WIDTH_MM: f32 = 0.2;
/// Most trace points per mm of paper.
const POINTS_PER_MM: f64 = 20.0;

/// Draw the whole ECG block (grid, pulses, traces, bands, labels) for `recording`, with
/// `overlay`'s map as bands when given.
pub(crate) fn draw_ecg(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    recording: &Recording,
    overlay: Option<&ModelOutput>,
) {
    draw_grid(canvas, frame);
    let fs = recording.sample_rate_hz;
    let usable = fs.is_finite() && fs > 0.0;
    canvas.clip(
        frame.grid_left_mm,
        frame.grid_top_mm,
        GRID_WIDTH_MM,
        GRID_HEIGHT_MM,
    );
    let slots: Vec<(StandardLead, usize, f32, f32)> = REPORT_LAYOUT
        .cells()
        .into_iter()
        .map(|c| (c.lead, c.row, c.start_s, c.end_s))
        .collect();
    if usable {
        for &(which, row, t0, t1) in &slots {
            let Some(lead) = recording.lead(which) else {
                continue;
            };
            let offset = display_offset_mv(lead, fs);
            let baseline = frame.row_baseline_mm(row);
            if let Some(map) = overlay.and_then(|o| lead_map(o, lead)) {
                draw_bands(
                    canvas,
                    frame,
                    lead,
                    fs,
                    map,
                    overlay_rate(overlay),
                    t0,
                    t1,
                    baseline,
                    offset,
                );
            }
            draw_trace(
                canvas,
                frame,
                lead,
                fs,
                t0,
                t1,
                baseline,
                offset,
                theme::INK,
            );
        }
    }
    for row in 0..ROWS {
        draw_calibration_pulse(canvas, frame, frame.row_baseline_mm(row));
    }
    for row in 0..ROWS - 1 {
        for col in 1..4 {
            let x = frame.x_of_time_mm(col as f32 * COLUMN_SECONDS);
            let b = frame.row_baseline_mm(row);
            canvas.line(x, b - 3.0, x, b + 3.0, theme::INK, 0.3);
        }
    }
    canvas.unclip();
    for &(which, row, t0, t1) in &slots {
        let is_rhythm = t1 - t0 > COLUMN_SECONDS;
        draw_label(canvas, frame, recording, which, row, t0, is_rhythm);
    }
}

fn overlay_rate(overlay: Option<&ModelOutput>) -> f64 {
    overlay.map_or(0.0, |o| o.map_rate_hz)
}

/// Median of the lead's finite samples over the displayed 10 s (mV), 0 if none.
fn display_offset_mv(lead: &Lead, fs: f64) -> f32 {
    let n = ((f64::from(ROW_SECONDS) * fs).ceil() as usize).min(lead.samples_mv.len());
    let mut finite: Vec<f32> = lead
        .samples_mv
        .iter()
        .take(n)
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if finite.is_empty() {
        return 0.0;
    }
    let mid = finite.len() / 2;
    let (_, median, _) = finite.select_nth_unstable_by(mid, f32::total_cmp);
    *median
}

/// The map row of the model output that belongs to this lead, matched by standard lead
/// or, failing that, by name.
pub(crate) fn lead_map<'a>(output: &'a ModelOutput, lead: &Lead) -> Option<&'a [f32]> {
    let index = output.leads.iter().position(|name| {
        let standard = StandardLead::from_name(name);
        (standard.is_some() && standard == lead.standard) || name == &lead.name
    })?;
    output.map.get(index).map(Vec::as_slice)
}

/// Sample index range [n0, n1) of the window [t0, t1) seconds.
fn sample_range(lead: &Lead, fs: f64, t0: f32, t1: f32) -> (usize, usize) {
    let n0 = (f64::from(t0) * fs).ceil().max(0.0) as usize;
    let n1 = ((f64::from(t1) * fs).ceil().max(0.0) as usize).min(lead.samples_mv.len());
    (n0.min(n1), n1)
}

pub(crate) fn draw_trace(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    lead: &Lead,
    fs: f64,
    t0: f32,
    t1: f32,
    baseline_mm: f32,
    offset_mv: f32,
    colour: crate::colour::Rgb,
) {
    let (n0, n1) = sample_range(lead, fs, t0, t1);
    let y_of = |v: f32| baseline_mm - (v - offset_mv) * GAIN_MM_PER_MV;
    let x_of = |n: usize| frame.x_of_time_mm((n as f64 / fs) as f32);
    let mut path = Polyline::new();
    let per_bucket = (fs / (f64::from(PAPER_SPEED_MM_PER_S) * POINTS_PER_MM)).floor() as usize;
    let samples = lead.samples_mv.get(n0..n1).unwrap_or(&[]);
    if per_bucket <= 1 {
        for (i, &v) in samples.iter().enumerate() {
            if v.is_finite() {
                path.point(x_of(n0 + i), y_of(v));
            } else {
                path.lift();
            }
        }
    } else {
        // Keep each bucket's extremes, in time order, so QRS peaks are never thinned away.
        for (b, chunk) in samples.chunks(per_bucket).enumerate() {
            let start = n0 + b * per_bucket;
            let finite = chunk.iter().enumerate().filter(|(_, v)| v.is_finite());
            let lo = finite.clone().min_by(|a, b| a.1.total_cmp(b.1));
            let hi = finite.max_by(|a, b| a.1.total_cmp(b.1));
            match (lo, hi) {
                (Some((il, &vl)), Some((ih, &vh))) => {
                    let (first, second) = if il <= ih {
                        ((il, vl), (ih, vh))
                    } else {
                        ((ih, vh), (il, vl))
                    };
                    path.point(x_of(start + first.0), y_of(first.1));
                    path.point(x_of(start + second.0), y_of(second.1));
                }
                _ => path.lift(),
            }
            if chunk.iter().any(|v| !v.is_finite()) {
                path.lift();
            }
        }
    }
    canvas.stroke(path, colour, TRACE_WIDTH_MM, 1.0);
}

pub(crate) fn draw_bands(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    lead: &Lead,
    fs: f64,
    map: &[f32],
    map_rate_hz: f64,
    t0: f32,
    t1: f32,
    baseline_mm: f32,
    offset_mv: f32,
) {
    if !(map_rate_hz.is_finite() && map_rate_hz > 0.0) {
        return;
    }
    let (n0, n1) = sample_range(lead, fs, t0, t1);
    let mut bins: Vec<Polyline> = (0..10).map(|_| Polyline::new()).collect();
    let mut previous: Option<usize> = None;
    for n in n0..n1 {
        let Some(&v) = lead.samples_mv.get(n) else {
            break;
        };
        let k = (n as f64 * map_rate_hz / fs).round() as usize;
        let bin = map
            .get(k)
            .copied()
            .and_then(band_bin)
            .filter(|_| v.is_finite());
        let x = frame.x_of_time_mm((n as f64 / fs) as f32);
        let y = baseline_mm - (v - offset_mv) * GAIN_MM_PER_MV;
        if bin != previous {
            // Carry the previous run up to this sample so adjacent runs join.
            if let Some(line) = previous.and_then(|b| bins.get_mut(b)) {
                if v.is_finite() {
                    line.point(x, y);
                }
                line.lift();
            }
        }
        if let Some(line) = bin.and_then(|b| bins.get_mut(b)) {
            line.point(x, y);
        }
        previous = bin;
    }
    for (b, line) in bins.into_iter().enumerate() {
        let colour = likelihood_colour((b as f32 + 0.5) / 10.0);
        canvas.stroke_round(line, colour, BAND_WIDTH_MM, BAND_OPACITY);
    }
}

fn draw_calibration_pulse(canvas: &mut Canvas<'_, '_>, frame: &PageFrame, baseline_mm: f32) {
    let x0 = frame.grid_left_mm;
    let rise = x0 + CALIBRATION_RISE_MM;
    let fall = rise + CALIBRATION_S * PAPER_SPEED_MM_PER_S;
    let top = baseline_mm - CALIBRATION_MV * GAIN_MM_PER_MV;
    let mut p = Polyline::new();
    p.point(x0 + 0.5, baseline_mm);
    p.point(rise, baseline_mm);
    p.point(rise, top);
    p.point(fall, top);
    p.point(fall, baseline_mm);
    p.point(x0 + crate::layout::CALIBRATION_ZONE_MM - 0.5, baseline_mm);
    canvas.stroke(p, theme::INK, TRACE_WIDTH_MM, 1.0);
}

fn draw_label(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    recording: &Recording,
    which: StandardLead,
    row: usize,
    t0: f32,
    is_rhythm: bool,
) {
    let x = frame.x_of_time_mm(t0) + 1.2;
    let y = frame.grid_top_mm + row as f32 * ROW_PITCH_MM + 4.5;
    let label_style = TextStyle::new(8.0, theme::INK).bold();
    if let Some(lead) = recording.lead(which) {
        let name = if lead.name.trim().is_empty() {
            which.label()
        } else {
            lead.name.trim()
        };
        // Print the conventional spelling (aVR, not AVR) and the file's name if it differs.
        let mut label = which.label().to_string();
        if !name.eq_ignore_ascii_case(which.label()) {
            label = format!("{label} ({name})");
        }
        let end = canvas.text(x, y, &label, label_style);
        let mut notes = Vec::new();
        if lead.derived {
            notes.push("derived");
        }
        if is_rhythm {
            notes.push("rhythm, 10 s");
        }
        if !notes.is_empty() {
            canvas.text(
                end + 1.0,
                y,
                &notes.join(", "),
                TextStyle::new(6.5, theme::MUTED),
            );
        }
    } else {
        let end = canvas.text(
            x,
            y,
            which.label(),
            TextStyle::new(8.0, theme::MISSING).bold(),
        );
        canvas.text(end + 1.0, y, "missing", TextStyle::new(6.5, theme::MISSING));
        let width = if is_rhythm {
            ROW_SECONDS
        } else {
            COLUMN_SECONDS
        };
        canvas.text(
            frame.x_of_time_mm(t0 + width / 2.0),
            frame.row_baseline_mm(row) + 1.0,
            &format!("lead {} not in the file", which.label()),
            TextStyle::new(7.0, theme::MISSING).align(Align::Centre),
        );
    }
}

/// The ECG paper: 1 mm minor and 5 mm major lines over the whole grid area.
fn draw_grid(canvas: &mut Canvas<'_, '_>, frame: &PageFrame) {
    draw_grid_rect(
        canvas,
        frame.grid_left_mm,
        frame.grid_top_mm,
        GRID_WIDTH_MM,
        GRID_HEIGHT_MM,
    );
}

/// ECG paper (1 mm minor, 5 mm major lines) over a rectangle, whole millimetres.
pub(crate) fn draw_grid_rect(
    canvas: &mut Canvas<'_, '_>,
    left: f32,
    top: f32,
    width: f32,
    height: f32,
) {
    let (right, bottom) = (left + width.round(), top + height.round());
    let mut minor = Polyline::new();
    let mut major = Polyline::new();
    let columns = width.round() as usize;
    let rows = height.round() as usize;
    for i in 0..=columns {
        let x = left + i as f32;
        let line = if i % 5 == 0 { &mut major } else { &mut minor };
        line.segment(x, top, x, bottom);
    }
    for j in 0..=rows {
        let y = top + j as f32;
        let line = if j % 5 == 0 { &mut major } else { &mut minor };
        line.segment(left, y, right, y);
    }
    canvas.stroke(minor, theme::GRID_MINOR, MINOR_WIDTH_MM, 1.0);
    canvas.stroke(major, theme::GRID_MAJOR, MAJOR_WIDTH_MM, 1.0);
}

/// Colour bin (tenths) of a likelihood, `None` below [`BAND_FROM`].
fn band_bin(p: f32) -> Option<usize> {
    (p.is_finite() && p >= BAND_FROM).then(|| ((p * 10.0).floor() as usize).min(9))
}
