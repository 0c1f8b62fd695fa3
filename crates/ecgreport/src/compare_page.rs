//! The serial-comparison page (when a prior ECG is given): the two studies named, the
//! measurements side by side with their changes (notable ones in the alert colour), the
//! plain-language summary, the median beats of every lead overlaid (prior in blue,
//! aligned on QRS onset) and the two lead II rhythm strips one above the other with each
//! study's anomaly-likelihood bands, all at 25 mm/s and 10 mm/mV.

use crate::canvas::{Align, Canvas, Polyline, TextStyle};
use crate::colour::theme;
use crate::ecg::{draw_bands, draw_grid_rect, draw_trace, lead_map, TRACE_WIDTH_MM};
use crate::layout::{
    PageFrame, CALIBRATION_ZONE_MM, GAIN_MM_PER_MV, GRID_WIDTH_MM, PAPER_SPEED_MM_PER_S,
};
use ecgcore::analysis::Analysis;
use ecgcore::dsp::measurements::Measurements;
use ecgcore::StandardLead;
use ecgsession::comparison::{Change, Comparison};
use ecgsession::wording::{number, DASH};

const LINE_MM: f32 = 3.6;
/// Median-beat cells: 6 per row, two rows.
const BEAT_COLUMNS: usize = 6;
const BEAT_CELL_H_MM: f32 = 30.0;
/// Shown around QRS onset in each beat cell (s).
const BEAT_BEFORE_S: f32 = 0.3;
/// Rhythm strips.
const STRIP_H_MM: f32 = 25.0;

/// Draw the page.
pub(crate) fn draw_comparison_page(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    current: &Analysis,
    prior: &Analysis,
    comparison: &Comparison,
) -> f32 {
    let x0 = frame.grid_left_mm;
    let mut y = 16.0;
    let side = |label: &str, s: &ecgsession::comparison::Side| {
        format!(
            "{label}: {} · acquired {} · {} · {:.0} Hz, {:.1} s",
            s.name,
            s.acquisition_time.as_deref().unwrap_or("not recorded"),
            s.format,
            s.sample_rate_hz,
            s.duration_s
        )
    };
    canvas.text(
        x0,
        y,
        &side("Current", &comparison.current),
        TextStyle::new(7.5, theme::INK),
    );
    y += LINE_MM;
    let prior_line = match &comparison.interval {
        Some(i) => format!("{} ({i} earlier)", side("Prior", &comparison.prior)),
        None => side("Prior", &comparison.prior),
    };
    canvas.text(x0, y, &prior_line, TextStyle::new(7.5, theme::PRIOR));
    y += LINE_MM + 2.0;

    // The table, left.
    let cols = [x0, x0 + 38.0, x0 + 58.0, x0 + 78.0];
    let head = TextStyle::new(7.5, theme::MUTED);
    for (x, h) in cols.iter().zip(["", "Prior", "Current", "Change"]) {
        canvas.text(*x, y, h, head);
    }
    let table_top = y;
    y += LINE_MM;
    for c in &comparison.changes {
        draw_change_row(canvas, &cols, y, c);
        y += LINE_MM;
    }
    for s in &comparison.scores {
        let colour = if s.turned() {
            theme::ALERT
        } else if s.current_abnormal != s.prior_abnormal {
            theme::BORDERLINE
        } else {
            theme::INK
        };
        let name = s.method.split(" (").next().unwrap_or(&s.method);
        canvas.text(
            cols[0],
            y,
            &format!("{name} score"),
            TextStyle::new(7.5, theme::INK),
        );
        canvas.text(
            cols[1],
            y,
            &number(s.prior),
            TextStyle::new(7.5, theme::PRIOR),
        );
        canvas.text(cols[2], y, &number(s.current), TextStyle::new(7.5, colour));
        canvas.text(
            cols[3],
            y,
            &format!("threshold {}", number(s.threshold)),
            TextStyle::new(7.0, theme::MUTED),
        );
        y += LINE_MM;
    }
    let table_bottom = y;

    // Summary and caveats, right.
    let sx = x0 + 112.0;
    let width = frame.grid_right_mm() - sx;
    let mut sy = table_top;
    canvas.text(
        sx,
        sy,
        "What changed",
        TextStyle::new(8.5, theme::INK).bold(),
    );
    sy += LINE_MM + 0.4;
    for line in &comparison.summary {
        let colour = if comparison.any_notable() && !line.starts_with("Not compared") {
            theme::ALERT
        } else {
            theme::INK
        };
        sy = wrapped(canvas, sx, sy, width, &format!("• {line}"), 7.5, colour);
    }
    for line in &comparison.caveats {
        sy = wrapped(canvas, sx, sy, width, line, 6.8, theme::MUTED);
    }
    let mut y = table_bottom.max(sy) + 2.0;

    // Median beats overlaid.
    canvas.text(
        x0,
        y,
        "Median beats, aligned on QRS onset: current black, prior blue",
        TextStyle::new(7.0, theme::MUTED),
    );
    y += 1.5;
    let cell_w = (GRID_WIDTH_MM / BEAT_COLUMNS as f32).floor();
    draw_grid_rect(
        canvas,
        x0,
        y,
        cell_w * BEAT_COLUMNS as f32,
        BEAT_CELL_H_MM * 2.0,
    );
    let cell_s = cell_w / PAPER_SPEED_MM_PER_S;
    for (k, lead) in StandardLead::ALL.iter().enumerate() {
        let (col, row) = (k % BEAT_COLUMNS, k / BEAT_COLUMNS);
        let left = x0 + col as f32 * cell_w;
        let top = y + row as f32 * BEAT_CELL_H_MM;
        let base = top + BEAT_CELL_H_MM * 0.6;
        for (a, colour) in [(prior, theme::PRIOR), (current, theme::INK)] {
            if let Some(m) = &a.measurements {
                draw_beat(canvas, m, *lead, left, base, cell_s, colour);
            }
        }
        canvas.text(
            left + 1.0,
            top + 3.0,
            lead.label(),
            TextStyle::new(7.0, theme::INK).bold(),
        );
    }
    y += BEAT_CELL_H_MM * 2.0 + 4.5;

    // Rhythm strips: lead II, current above prior, each with its own likelihood bands.
    let strip_s = GRID_WIDTH_MM / PAPER_SPEED_MM_PER_S;
    for (a, colour, label) in [
        (current, theme::INK, "II, current"),
        (prior, theme::PRIOR, "II, prior"),
    ] {
        draw_grid_rect(canvas, x0, y, GRID_WIDTH_MM, STRIP_H_MM);
        draw_strip(canvas, frame, a, x0, y + STRIP_H_MM * 0.65, strip_s, colour);
        canvas.text(x0 + 1.0, y + 3.0, label, TextStyle::new(7.0, colour).bold());
        y += STRIP_H_MM + 1.0;
    }
    y
}

fn draw_change_row(canvas: &mut Canvas<'_, '_>, cols: &[f32; 4], y: f32, c: &Change) {
    let fmt = |v: Option<f32>| {
        v.map_or_else(
            || DASH.to_string(),
            |v| {
                if c.unit == "°" {
                    format!("{v:.0}°")
                } else {
                    format!("{v:.0} {}", c.unit)
                }
            },
        )
    };
    let colour = if c.notable { theme::ALERT } else { theme::INK };
    canvas.text(cols[0], y, c.label, TextStyle::new(7.5, theme::INK));
    canvas.text(cols[1], y, &fmt(c.prior), TextStyle::new(7.5, theme::PRIOR));
    canvas.text(cols[2], y, &fmt(c.current), TextStyle::new(7.5, theme::INK));
    let delta = c.delta.map_or_else(
        || DASH.to_string(),
        |d| {
            if c.unit == "°" {
                format!("{d:+.0}°")
            } else {
                format!("{d:+.0} {}", c.unit)
            }
        },
    );
    let style = TextStyle::new(7.5, colour);
    canvas.text(
        cols[3],
        y,
        &delta,
        if c.notable { style.bold() } else { style },
    );
}

/// Word-wrapped text; returns the y of the next line.
fn wrapped(
    canvas: &mut Canvas<'_, '_>,
    x: f32,
    mut y: f32,
    width: f32,
    text: &str,
    size: f32,
    colour: crate::colour::Rgb,
) -> f32 {
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if canvas.text_width(&candidate, size) > width && !line.is_empty() {
            canvas.text(x, y, &line, TextStyle::new(size, colour));
            y += size * 0.42;
            line = format!("  {word}");
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        canvas.text(x, y, &line, TextStyle::new(size, colour));
        y += size * 0.42;
    }
    y + 0.4
}

/// One lead's median beat, QRS onset at `BEAT_BEFORE_S` into the cell, baseline (the
/// PR segment's level) on `base_mm`.
fn draw_beat(
    canvas: &mut Canvas<'_, '_>,
    m: &Measurements,
    lead: StandardLead,
    left: f32,
    base_mm: f32,
    cell_s: f32,
    colour: crate::colour::Rgb,
) {
    let Some(b) = ecgcore::dsp::leadwise::aligned_beat(m, lead) else {
        return;
    };
    let (x, on, level, fs) = (
        b.samples_mv,
        b.qrs_onset,
        b.level_mv,
        b.sample_rate_hz as f32,
    );
    let mut path = Polyline::new();
    for (i, v) in x.iter().enumerate() {
        let t = (i as f32 - on as f32) / fs + BEAT_BEFORE_S;
        if !(0.0..=cell_s).contains(&t) || !v.is_finite() {
            path.lift();
            continue;
        }
        let y = (base_mm - (v - level) * GAIN_MM_PER_MV).clamp(base_mm - 17.5, base_mm + 11.5);
        path.point(left + t * PAPER_SPEED_MM_PER_S, y);
    }
    canvas.stroke(path, colour, TRACE_WIDTH_MM, 1.0);
}

/// The lead II rhythm strip (first `seconds`), centred on its median, with the study's
/// anomaly-likelihood bands (as on page 1).
fn draw_strip(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    a: &Analysis,
    left: f32,
    base_mm: f32,
    seconds: f32,
    colour: crate::colour::Rgb,
) {
    let rec = &a.recording;
    let Some(lead) = rec.lead(StandardLead::II) else {
        canvas.text(
            left + GRID_WIDTH_MM / 2.0,
            base_mm,
            "lead II not in the file",
            TextStyle::new(7.0, theme::MISSING).align(Align::Centre),
        );
        return;
    };
    // The page's time axis, starting at this strip's left edge.
    let strip = PageFrame {
        grid_left_mm: left - CALIBRATION_ZONE_MM,
        ..*frame
    };
    let fs = rec.sample_rate_hz;
    let offset = lead
        .median_of_first((f64::from(seconds) * fs) as usize)
        .unwrap_or(0.0);
    if let Some(map) = a
        .anomaly
        .as_ref()
        .and_then(|o| Some((lead_map(o, lead)?, o.map_rate_hz)))
    {
        draw_bands(
            canvas, &strip, lead, fs, map.0, map.1, 0.0, seconds, base_mm, offset,
        );
    }
    draw_trace(
        canvas, &strip, lead, fs, 0.0, seconds, base_mm, offset, colour,
    );
}
