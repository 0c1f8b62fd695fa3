//! The median (representative) beat of each lead with the global fiducial marks the
//! intervals are measured between: P onset/offset, QRS onset/offset and T end, drawn as
//! vertical lines across all twelve small panels (the same sample index in every lead, as
//! global delineation defines them). Drawn at 50 mm/s-like proportions, not true scale.

use super::theme;
use ecgcore::dsp::measurements::Measurements;
use egui::{Pos2, Rect, RichText, Stroke};

/// A 3×4 grid of our median beats with fiducial lines.
pub fn median_beat_ui(ui: &mut egui::Ui, m: &Measurements) {
    let Some(beat) = &m.median_beat else {
        ui.label("No median beat (too few consistent beats).");
        return;
    };
    ui.label(
        RichText::new(format!(
            "Median beat of {} beats; lines: P on/off (blue), QRS on/off (black), T end (green)",
            beat.n_beats
        ))
        .small(),
    );
    beats_grid_ui(
        ui,
        &beat.leads,
        &beat.samples_mv,
        Some(&m.fiducials),
        "Median beats with fiducial marks",
    );
}

/// The representative beats stored in the file by the acquiring device (no marks: the
/// device's own fiducials are not read).
pub fn device_median_beats_ui(ui: &mut egui::Ui, leads: &[ecgcore::Lead]) {
    let names: Vec<String> = leads.iter().map(|l| l.name.clone()).collect();
    let samples: Vec<Vec<f32>> = leads.iter().map(|l| l.samples_mv.clone()).collect();
    beats_grid_ui(ui, &names, &samples, None, "Device median beats");
}

/// Beats in a grid (3 rows × 4 columns for 12 leads), optional fiducial lines.
fn beats_grid_ui(
    ui: &mut egui::Ui,
    leads: &[String],
    beats: &[Vec<f32>],
    fiducials: Option<&ecgcore::dsp::measurements::Fiducials>,
    accessible_name: &'static str,
) {
    let n = beats.first().map_or(0, Vec::len);
    if n < 2 {
        return;
    }
    let cols = 4usize;
    let rows = beats.len().div_ceil(cols);
    let cell = egui::vec2(64.0, 70.0);
    let (rect, response) = ui.allocate_exact_size(
        egui::vec2(cell.x * cols as f32, cell.y * rows as f32),
        egui::Sense::hover(),
    );
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::accesskit::Role::Figure, true, accessible_name)
    });
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, theme::PAPER);
    let marks: Vec<(Option<usize>, egui::Color32)> = fiducials.map_or_else(Vec::new, |f| {
        vec![
            (f.p_onset, theme::CALIPER),
            (f.p_offset, theme::CALIPER),
            (f.qrs_onset, theme::TRACE),
            (f.qrs_offset, theme::TRACE),
            (f.t_offset, theme::NORMAL),
        ]
    });
    for (k, (name, samples)) in leads.iter().zip(beats).enumerate() {
        // Column-major like the 3×4 paper layout: I, II, III / aVR, aVL, aVF / …
        let (c, r) = (k / 3, k % 3);
        let (c, r) = if rows == 3 {
            (c, r)
        } else {
            (k % cols, k / cols)
        };
        let cell_rect = Rect::from_min_size(
            rect.min + egui::vec2(c as f32 * cell.x, r as f32 * cell.y),
            cell,
        )
        .shrink(2.0);
        let x_of = |i: usize| cell_rect.min.x + cell_rect.width() * i as f32 / (n - 1) as f32;
        // 1 mV = a third of the panel height, baseline in the middle.
        let mv = cell_rect.height() / 3.0;
        let y_of = |v: f32| (cell_rect.center().y - v * mv).clamp(cell_rect.min.y, cell_rect.max.y);
        for &(idx, colour) in &marks {
            if let Some(i) = idx.filter(|i| *i < n) {
                painter.line_segment(
                    [
                        Pos2::new(x_of(i), cell_rect.min.y),
                        Pos2::new(x_of(i), cell_rect.max.y),
                    ],
                    Stroke::new(1.0, colour.gamma_multiply(0.7)),
                );
            }
        }
        let pts: Vec<Pos2> = samples
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| Pos2::new(x_of(i), y_of(*v)))
            .collect();
        if pts.len() > 1 {
            painter.add(egui::Shape::line(pts, Stroke::new(1.0, theme::TRACE)));
        }
        painter.text(
            cell_rect.min,
            egui::Align2::LEFT_TOP,
            ecgcore::StandardLead::from_name(name).map_or(name.as_str(), |l| l.label()),
            egui::FontId::proportional(10.0),
            theme::LABEL,
        );
    }
}
