//! The ECG drawn like paper: grid, calibration pulses, traces, labels, the anomaly
//! overlay, hover read-out and calipers.
//!
//! Scale: 1 paper millimetre = `96 / 25.4 × calibration` egui points. egui points are
//! the operating system's logical pixels (96 dpi × its scale factor), so true scale holds
//! when the OS scale factor matches the screen; the user corrects any remaining error with
//! the screen calibration (persisted). Traces are decimated (min/max per 0.25 mm column)
//! into paper-millimetre polylines once per change of recording, layout, speed or gain,
//! and only translated per frame; the overlay is precomputed the same way.

use super::layout::{self, Page, Segment};
use super::theme;
use crate::app::settings::{Layout, Settings};
pub use crate::app::view::readout_text;
use crate::app::view::{Caliper, PaperView};
use crate::app::Command;
use ecgcore::Recording;
use egui::{Color32, Pos2, Rect, Sense, Shape, Stroke, Vec2};
use std::fmt::Write as _;
use std::sync::Arc;

/// Nominal egui points per paper millimetre before the user's calibration (96 dpi).
pub const POINTS_PER_MM_NOMINAL: f32 = 96.0 / 25.4;

/// Decimation column width in paper millimetres.
const COLUMN_MM: f32 = 0.25;
/// Overlay column width in paper millimetres.
const OVERLAY_COLUMN_MM: f32 = 0.5;

/// Per-lead, per-sample anomaly likelihoods to paint.
pub struct Overlay<'a> {
    /// Lead names `maps` refer to (matched to the recording's leads by standard lead or name).
    pub leads: &'a [String],
    /// `maps[i]` belongs to `leads[i]`; values in [0, 1].
    pub maps: &'a [Vec<f32>],
    pub rate_hz: f64,
    /// Changes whenever `maps` changes (cache key).
    pub generation: u64,
}

impl Overlay<'_> {
    /// The map for a recording lead, if the model produced one for it.
    pub fn map_for(&self, lead: &ecgcore::Lead) -> Option<&[f32]> {
        let i = self.leads.iter().position(|name| {
            name == &lead.name
                || (lead.standard.is_some()
                    && ecgcore::StandardLead::from_name(name) == lead.standard)
        })?;
        self.maps.get(i).map(Vec::as_slice)
    }
}

/// Precomputed drawing of one page (paper millimetres).
struct PageCache {
    key: CacheKey,
    page: Page,
    /// Polylines per segment (a segment may break at missing samples).
    traces: Vec<Vec<Vec<Pos2>>>,
    /// Overlay rectangles with their colours.
    overlay: Vec<(Rect, Color32)>,
    /// How many of the 12 standard leads the recording has (for the accessible label).
    n_present: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct CacheKey {
    recording_generation: u64,
    overlay_generation: Option<u64>,
    layout: Layout,
    speed: f32,
    gain: f32,
    single_lead: usize,
    opacity: f32,
}

/// What the paper widget remembers between frames (egui memory, keyed by the pane): the
/// drawing cache, the pointer position, the highlight of the last jump and which jump it was.
#[derive(Clone, Default)]
struct PaperMemory {
    cache: Option<Arc<PageCache>>,
    /// Paper point under the pointer (for the other pane's cursor).
    cursor_mm: Option<Pos2>,
    /// Highlighted paper rectangle and the time (egui seconds) it fades.
    highlight: Option<(Rect, f64)>,
    /// Id of the last jump scrolled to.
    jumped: u64,
}

/// The two panes of compare mode.
pub const MAIN_PANE: &str = "paper-main";
pub const BASELINE_PANE: &str = "paper-baseline";

/// Where the pointer was over `pane` on the last frame (paper millimetres).
pub fn cursor_of(ctx: &egui::Context, pane: &str) -> Option<Pos2> {
    ctx.data(|d| d.get_temp::<PaperMemory>(egui::Id::unique(pane)))
        .and_then(|m| m.cursor_mm)
}

/// Draw the paper of `pane`. `recording_generation` must change whenever `rec` changes.
/// `view` (calipers, jumps) is given for the pane that has them. Caliper clicks come back
/// as commands.
pub fn paper_ui(
    ui: &mut egui::Ui,
    pane: &str,
    rec: &Recording,
    recording_generation: u64,
    settings: &Settings,
    overlay: Option<&Overlay<'_>>,
    other_cursor_mm: Option<Pos2>,
    view: Option<&PaperView>,
) -> Vec<Command> {
    let id = egui::Id::unique(pane);
    let mut state: PaperMemory = ui.data(|d| d.get_temp(id)).unwrap_or_default();
    let commands = paper_frame(
        ui,
        rec,
        settings,
        overlay,
        other_cursor_mm,
        view,
        recording_generation,
        &mut state,
    );
    ui.data_mut(|d| d.insert_temp(id, state));
    commands
}

fn paper_frame(
    ui: &mut egui::Ui,
    rec: &Recording,
    settings: &Settings,
    overlay: Option<&Overlay<'_>>,
    other_cursor_mm: Option<Pos2>,
    view: Option<&PaperView>,
    recording_generation: u64,
    state: &mut PaperMemory,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let key = CacheKey {
        recording_generation,
        overlay_generation: overlay
            .filter(|_| settings.show_overlay)
            .map(|o| o.generation),
        layout: settings.layout,
        speed: settings.speed_mm_per_s,
        gain: settings.gain_mm_per_mv,
        single_lead: settings.single_lead,
        opacity: settings.overlay_opacity,
    };
    if state.cache.as_ref().is_none_or(|c| c.key != key) {
        state.cache = Some(Arc::new(build_cache(
            rec,
            settings,
            overlay.filter(|_| settings.show_overlay),
            key,
        )));
    }
    let Some(cache) = state.cache.clone() else {
        return commands;
    };
    let page = &cache.page;
    let pt_per_mm = POINTS_PER_MM_NOMINAL * settings.screen_calibration;
    let size = Vec2::new(page.width_mm, page.height_mm) * pt_per_mm;
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    let n_present = cache.n_present;
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::accesskit::Role::Figure,
            true,
            format!(
                "ECG paper, {} layout, {} of 12 standard leads{}",
                settings.layout.label(),
                n_present,
                if overlay.is_some() && settings.show_overlay {
                    ", anomaly overlay"
                } else {
                    ""
                }
            ),
        )
    });
    let to_screen = |p: Pos2| rect.min + p.to_vec2() * pt_per_mm;
    let to_paper = |p: Pos2| Pos2::ZERO + (p - rect.min) / pt_per_mm;
    let painter = ui.painter_at(rect);
    if !ui.is_rect_visible(rect) {
        return commands;
    }
    draw_grid(&painter, rect, pt_per_mm);

    // Overlay under the traces.
    for (r, colour) in &cache.overlay {
        painter.rect_filled(
            Rect::from_min_max(to_screen(r.min), to_screen(r.max)),
            0.0,
            *colour,
        );
    }

    let trace_stroke = Stroke::new((0.25 * pt_per_mm).clamp(1.0, 2.0), theme::TRACE);
    for row in &page.rows {
        draw_calibration_pulse(&painter, page, row.baseline_y_mm, &to_screen, trace_stroke);
    }
    for (segment, lines) in page
        .rows
        .iter()
        .flat_map(|r| &r.segments)
        .zip(&cache.traces)
    {
        for line in lines {
            let pts: Vec<Pos2> = line.iter().map(|p| to_screen(*p)).collect();
            painter.add(Shape::line(pts, trace_stroke));
        }
        draw_segment_label(&painter, page, segment, &to_screen, pt_per_mm);
    }
    let footer = format!(
        "{} mm/s   {} mm/mV   {}",
        fmt_num(settings.speed_mm_per_s),
        fmt_num(settings.gain_mm_per_mv),
        settings.filters.label()
    );
    painter.text(
        to_screen(Pos2::new(page.pulse_area_mm, page.height_mm - 1.0)),
        egui::Align2::LEFT_BOTTOM,
        footer,
        egui::FontId::proportional((2.8 * pt_per_mm).clamp(10.0, 14.0)),
        theme::LABEL,
    );

    // Jump to a finding: scroll there and highlight it for two seconds.
    if let Some(jump) = view
        .and_then(|v| v.jump.as_ref())
        .filter(|j| j.id != state.jumped)
    {
        state.jumped = jump.id;
        if let Some(r) = find_time(page, &jump.lead, jump.time_s) {
            let now = ui.input(|i| i.time);
            state.highlight = Some((r, now + 2.0));
            ui.scroll_to_rect(
                Rect::from_min_max(to_screen(r.min), to_screen(r.max)),
                Some(egui::Align::Center),
            );
        }
    }
    if let Some((r, until)) = state.highlight {
        let now = ui.input(|i| i.time);
        if now < until {
            painter.rect_stroke(
                Rect::from_min_max(to_screen(r.min), to_screen(r.max)),
                2.0,
                Stroke::new(2.5, theme::CALIPER),
                egui::StrokeKind::Outside,
            );
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        } else {
            state.highlight = None;
        }
    }
    // The other pane's cursor (compare mode), at the same paper position.
    if let Some(p) = other_cursor_mm {
        painter.line_segment(
            [
                to_screen(Pos2::new(p.x, 0.0)),
                to_screen(Pos2::new(p.x, page.height_mm)),
            ],
            Stroke::new(1.0, theme::CURSOR),
        );
    }

    // Hover read-out and shared cursor.
    state.cursor_mm = response.hover_pos().map(to_paper);
    if let Some(p) = state.cursor_mm {
        if let Some(seg) = page.segment_at(p.x, p.y) {
            let t = page.time_at(seg, p.x);
            painter.line_segment(
                [
                    to_screen(Pos2::new(p.x, seg.baseline_y_mm - 12.0)),
                    to_screen(Pos2::new(p.x, seg.baseline_y_mm + 12.0)),
                ],
                Stroke::new(1.0, theme::CURSOR),
            );
            let text = hover_text(rec, seg, t, overlay);
            response.clone().on_hover_text_at_pointer(text);
        }
    }

    // Calipers.
    if let Some(view) = view.filter(|v| v.caliper_mode) {
        if response.clicked() {
            if let Some(p) = response.interact_pointer_pos() {
                commands.push(Command::CaliperClick(to_paper(p)));
            }
        }
        draw_caliper(&painter, &view.caliper, page, &to_screen, pt_per_mm);
    }
    commands
}

/// Paper rectangle (±0.4 s) showing `lead` at time `t_s`: the segment of that lead if it
/// covers the time, else the rhythm strip or any segment covering it.
fn find_time(page: &Page, lead: &str, t_s: f64) -> Option<Rect> {
    let wanted = ecgcore::StandardLead::from_name(lead);
    let segments: Vec<&Segment> = page.rows.iter().flat_map(|r| &r.segments).collect();
    let covers = |s: &&Segment| t_s >= s.t_start_s && t_s < s.t_end_s;
    let same_lead = |s: &&Segment| {
        s.lead.label.eq_ignore_ascii_case(lead)
            || (wanted.is_some() && ecgcore::StandardLead::from_name(&s.lead.label) == wanted)
    };
    let seg = segments
        .iter()
        .find(|s| covers(s) && same_lead(s))
        .or_else(|| {
            segments
                .iter()
                .rev()
                .find(|s| covers(s) && s.t_end_s - s.t_start_s >= 9.9)
        })
        .or_else(|| segments.iter().find(|s| covers(s)))?;
    let x = seg.x_mm + ((t_s - seg.t_start_s) as f32) * page.speed_mm_per_s;
    let half_w = 0.4 * page.speed_mm_per_s;
    let half_h = 1.4 * page.gain_mm_per_mv;
    Some(Rect::from_min_max(
        Pos2::new(x - half_w, seg.baseline_y_mm - half_h),
        Pos2::new(x + half_w, seg.baseline_y_mm + half_h),
    ))
}

fn fmt_num(v: f32) -> String {
    if (v - v.round()).abs() < 1e-3 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn hover_text(rec: &Recording, seg: &Segment, t_s: f64, overlay: Option<&Overlay<'_>>) -> String {
    let Some(i) = seg.lead.source else {
        return format!("{}: missing in this file", seg.lead.label);
    };
    let idx = (t_s * rec.sample_rate_hz).round() as usize;
    let v = rec.leads[i]
        .samples_mv
        .get(idx)
        .copied()
        .unwrap_or(f32::NAN);
    let mut s = format!("{}  t = {:.3} s  ", seg.lead.label, t_s);
    if v.is_finite() {
        let _ = write!(s, "{v:.2} mV");
    } else {
        s.push_str("no sample");
    }
    if let Some(o) = overlay {
        let j = (t_s * o.rate_hz).round() as usize;
        if let Some(p) = o.map_for(&rec.leads[i]).and_then(|m| m.get(j)) {
            let _ = write!(s, "  anomaly likelihood {p:.2}");
        }
    }
    s
}

fn build_cache(
    rec: &Recording,
    settings: &Settings,
    overlay: Option<&Overlay<'_>>,
    key: CacheKey,
) -> PageCache {
    let page = layout::page(
        rec,
        settings.layout,
        settings.speed_mm_per_s,
        settings.gain_mm_per_mv,
        settings.single_lead,
    );
    let fs = rec.sample_rate_hz;
    let mut traces = Vec::new();
    let mut overlay_rects = Vec::new();
    for seg in page.rows.iter().flat_map(|r| &r.segments) {
        let Some(i) = seg.lead.source else {
            traces.push(Vec::new());
            continue;
        };
        let samples = &rec.leads[i].samples_mv;
        let i0 = ((seg.t_start_s * fs).round() as usize).min(samples.len());
        let i1 = ((seg.t_end_s * fs).round() as usize).min(samples.len());
        let x_of =
            |k: usize| seg.x_mm + ((k as f64 / fs - seg.t_start_s) as f32) * page.speed_mm_per_s;
        let y_of = |v: f32| seg.baseline_y_mm - v * page.gain_mm_per_mv;
        traces.push(decimate(&samples[i0..i1], i0, &x_of, &y_of));
        if let Some(o) = overlay {
            if let Some(map) = o.map_for(&rec.leads[i]) {
                let per_col =
                    (f64::from(OVERLAY_COLUMN_MM / page.speed_mm_per_s) * o.rate_hz).max(1.0);
                let j0 = (seg.t_start_s * o.rate_hz) as usize;
                let j1 = ((seg.t_end_s * o.rate_hz) as usize).min(map.len());
                let mut j = j0;
                while j < j1 {
                    let je = ((j as f64 + per_col) as usize).min(j1).max(j + 1);
                    let p = map[j..je]
                        .iter()
                        .copied()
                        .filter(|v| v.is_finite())
                        .fold(0.0f32, f32::max);
                    let colour = theme::likelihood_colour(p, settings.overlay_opacity);
                    if colour.a() > 4 {
                        let x0 = seg.x_mm
                            + ((j as f64 / o.rate_hz - seg.t_start_s) as f32) * page.speed_mm_per_s;
                        let x1 = seg.x_mm
                            + ((je as f64 / o.rate_hz - seg.t_start_s) as f32)
                                * page.speed_mm_per_s;
                        let half = 0.4 * settings.gain_mm_per_mv.max(8.0);
                        overlay_rects.push((
                            Rect::from_min_max(
                                Pos2::new(x0, seg.baseline_y_mm - half),
                                Pos2::new(x1, seg.baseline_y_mm + half),
                            ),
                            colour,
                        ));
                    }
                    j = je;
                }
            }
        }
    }
    let n_present = layout::display_leads(rec)
        .iter()
        .take(12)
        .filter(|l| l.source.is_some())
        .count();
    PageCache {
        key,
        page,
        traces,
        overlay: overlay_rects,
        n_present,
    }
}

/// Min/max decimation into paper-mm polylines; breaks lines at missing samples.
fn decimate(
    samples: &[f32],
    first_index: usize,
    x_of: &dyn Fn(usize) -> f32,
    y_of: &dyn Fn(f32) -> f32,
) -> Vec<Vec<Pos2>> {
    let mut lines = Vec::new();
    let mut current: Vec<Pos2> = Vec::new();
    let mut k = 0;
    while k < samples.len() {
        // Samples in this column.
        let col = (x_of(first_index + k) / COLUMN_MM).floor();
        let mut end = k + 1;
        while end < samples.len() && (x_of(first_index + end) / COLUMN_MM).floor() == col {
            end += 1;
        }
        let chunk = &samples[k..end];
        if chunk.iter().any(|v| !v.is_finite()) {
            if current.len() > 1 {
                lines.push(std::mem::take(&mut current));
            }
            current.clear();
            k = end;
            continue;
        }
        if chunk.len() <= 2 {
            for (o, v) in chunk.iter().enumerate() {
                current.push(Pos2::new(x_of(first_index + k + o), y_of(*v)));
            }
        } else {
            let (mut lo, mut hi) = (0, 0);
            for (o, v) in chunk.iter().enumerate() {
                if *v < chunk[lo] {
                    lo = o;
                }
                if *v > chunk[hi] {
                    hi = o;
                }
            }
            let (first, second) = if lo < hi { (lo, hi) } else { (hi, lo) };
            current.push(Pos2::new(x_of(first_index + k + first), y_of(chunk[first])));
            current.push(Pos2::new(
                x_of(first_index + k + second),
                y_of(chunk[second]),
            ));
        }
        k = end;
    }
    if current.len() > 1 {
        lines.push(current);
    }
    lines
}

fn draw_grid(painter: &egui::Painter, rect: Rect, pt_per_mm: f32) {
    painter.rect_filled(rect, 0.0, theme::PAPER);
    let minor = Stroke::new(0.6, theme::GRID_MINOR);
    let major = Stroke::new(1.0, theme::GRID_MAJOR);
    let width_mm = (rect.width() / pt_per_mm).floor() as i32;
    let height_mm = (rect.height() / pt_per_mm).floor() as i32;
    // Minor lines first so major lines stay on top.
    for pass in [false, true] {
        for i in 0..=width_mm {
            if (i % 5 == 0) == pass {
                let x = rect.min.x + i as f32 * pt_per_mm;
                painter.line_segment(
                    [Pos2::new(x, rect.min.y), Pos2::new(x, rect.max.y)],
                    if pass { major } else { minor },
                );
            }
        }
        for j in 0..=height_mm {
            if (j % 5 == 0) == pass {
                let y = rect.min.y + j as f32 * pt_per_mm;
                painter.line_segment(
                    [Pos2::new(rect.min.x, y), Pos2::new(rect.max.x, y)],
                    if pass { major } else { minor },
                );
            }
        }
    }
}

fn draw_calibration_pulse(
    painter: &egui::Painter,
    page: &Page,
    baseline_y_mm: f32,
    to_screen: &dyn Fn(Pos2) -> Pos2,
    stroke: Stroke,
) {
    let w = 0.2 * page.speed_mm_per_s;
    let h = page.gain_mm_per_mv; // 1 mV
    let x0 = 2.0;
    let pts = [
        Pos2::new(x0, baseline_y_mm),
        Pos2::new(x0 + 1.0, baseline_y_mm),
        Pos2::new(x0 + 1.0, baseline_y_mm - h),
        Pos2::new(x0 + 1.0 + w, baseline_y_mm - h),
        Pos2::new(x0 + 1.0 + w, baseline_y_mm),
        Pos2::new(page.pulse_area_mm - 1.0, baseline_y_mm),
    ];
    painter.add(Shape::line(
        pts.iter().map(|p| to_screen(*p)).collect(),
        stroke,
    ));
}

fn draw_segment_label(
    painter: &egui::Painter,
    page: &Page,
    seg: &Segment,
    to_screen: &dyn Fn(Pos2) -> Pos2,
    pt_per_mm: f32,
) {
    let font = egui::FontId::proportional((3.5 * pt_per_mm).clamp(11.0, 18.0));
    let label_pos = to_screen(Pos2::new(
        seg.x_mm + 1.0,
        seg.baseline_y_mm - 0.45 * page.gain_mm_per_mv.max(10.0) * 2.4,
    ));
    match (seg.lead.source, seg.lead.derived) {
        (None, _) => {
            painter.text(
                label_pos,
                egui::Align2::LEFT_TOP,
                &seg.lead.label,
                font.clone(),
                theme::MISSING,
            );
            let mid_x =
                seg.x_mm + ((seg.t_end_s - seg.t_start_s) as f32) * page.speed_mm_per_s / 2.0;
            painter.text(
                to_screen(Pos2::new(mid_x, seg.baseline_y_mm)),
                egui::Align2::CENTER_CENTER,
                format!("{} missing", seg.lead.label),
                font,
                theme::MISSING,
            );
        }
        (Some(_), true) => {
            painter.text(
                label_pos,
                egui::Align2::LEFT_TOP,
                format!("{} (derived)", seg.lead.label),
                font,
                theme::DERIVED,
            );
        }
        (Some(_), false) => {
            painter.text(
                label_pos,
                egui::Align2::LEFT_TOP,
                &seg.lead.label,
                font,
                theme::LABEL,
            );
        }
    }
    // Column boundary tick, as on paper.
    if seg.t_start_s > 0.0 {
        let x = seg.x_mm;
        painter.line_segment(
            [
                to_screen(Pos2::new(x, seg.baseline_y_mm - 3.0)),
                to_screen(Pos2::new(x, seg.baseline_y_mm + 3.0)),
            ],
            Stroke::new(1.5, theme::TRACE),
        );
    }
}

fn draw_caliper(
    painter: &egui::Painter,
    caliper: &Caliper,
    page: &Page,
    to_screen: &dyn Fn(Pos2) -> Pos2,
    pt_per_mm: f32,
) {
    let stroke = Stroke::new(1.5, theme::CALIPER);
    let vline = |x: f32| {
        painter.line_segment(
            [
                to_screen(Pos2::new(x, 0.0)),
                to_screen(Pos2::new(x, page.height_mm)),
            ],
            stroke,
        );
    };
    if let Some(a) = caliper.a {
        vline(a.x);
        if let Some(b) = caliper.b {
            vline(b.x);
            painter.line_segment([to_screen(a), to_screen(Pos2::new(b.x, a.y))], stroke);
            painter.line_segment([to_screen(Pos2::new(b.x, a.y)), to_screen(b)], stroke);
            if let Some(r) = caliper.readout(page.speed_mm_per_s, page.gain_mm_per_mv) {
                let text = readout_text(&r);
                painter.text(
                    to_screen(Pos2::new(a.x.min(b.x), a.y.min(b.y) - 2.0)),
                    egui::Align2::LEFT_BOTTOM,
                    text,
                    egui::FontId::proportional((3.2 * pt_per_mm).clamp(11.0, 16.0)),
                    theme::CALIPER,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_extremes_and_breaks_at_gaps() {
        let mut samples: Vec<f32> = (0..1000).map(|i| ((i as f32) * 0.05).sin()).collect();
        samples[500] = 5.0;
        samples[700] = f32::NAN;
        let lines = decimate(&samples, 0, &|k| k as f32 * 0.05, &|v| -v);
        assert_eq!(lines.len(), 2, "NaN splits the trace");
        let min_y = lines
            .iter()
            .flatten()
            .map(|p| p.y)
            .fold(f32::INFINITY, f32::min);
        assert_eq!(min_y, -5.0, "the spike survives decimation");
        let n: usize = lines.iter().map(Vec::len).sum();
        assert!(n < 500, "decimated to {n} points");
    }
}
