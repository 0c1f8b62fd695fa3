//! Measurement review: the reader corrects R-R, PR, QRS and QT by dragging the onset/offset
//! markers on an enlarged median beat, by typing the value, or from the caliper; corrected
//! values are marked as edited everywhere, with the automatic value beside them.
//! "Revert to automatic" drops every correction.

use super::theme;
use crate::app::view::CaliperReadout;
use crate::app::{Command, Study};
use ecgcore::dsp::measurements::{Measurements, Quantity};
use ecgcore::review::MeasurementEdits;
use ecgcore::StandardLead;
use egui::{Pos2, Rect, RichText, Stroke};

/// One draggable marker on the median beat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    POnset,
    QrsOnset,
    QrsOffset,
    TEnd,
}

impl Marker {
    fn label(self) -> &'static str {
        match self {
            Marker::POnset => "P on",
            Marker::QrsOnset => "QRS on",
            Marker::QrsOffset => "QRS off",
            Marker::TEnd => "T end",
        }
    }
}

/// The edits after moving `marker` by `dt_ms` (positive = later), from the values now shown
/// (`m`, corrected) and the current edits. Moving QRS onset changes PR, QRS and QT together.
#[must_use]
pub fn drag(
    edits: &MeasurementEdits,
    m: &Measurements,
    marker: Marker,
    dt_ms: f32,
) -> MeasurementEdits {
    let mut e = *edits;
    let round = |v: f32| v.round();
    match marker {
        Marker::POnset => e.pr_ms = m.pr_ms.map(|v| round(v - dt_ms)),
        Marker::QrsOnset => {
            e.qrs_onset_shift_ms = Some(edits.qrs_onset_shift_ms.unwrap_or(0.0) + dt_ms);
            e.pr_ms = m.pr_ms.map(|v| round(v + dt_ms)).or(e.pr_ms);
            e.qrs_ms = m.qrs_ms.map(|v| round(v - dt_ms)).or(e.qrs_ms);
            e.qt_ms = m.qt_ms.map(|v| round(v - dt_ms)).or(e.qt_ms);
        }
        Marker::QrsOffset => e.qrs_ms = m.qrs_ms.map(|v| round(v + dt_ms)),
        Marker::TEnd => e.qt_ms = m.qt_ms.map(|v| round(v + dt_ms)),
    }
    e
}

/// Where each marker lies (ms from the median beat's start), from the corrected values.
fn marker_ms(m: &Measurements, edits: &MeasurementEdits, fs: f64) -> Vec<(Marker, f32)> {
    let Some(on) = m.fiducials.qrs_onset else {
        return Vec::new();
    };
    let on = (on as f64 * 1000.0 / fs) as f32 + edits.qrs_onset_shift_ms.unwrap_or(0.0);
    let mut out = vec![(Marker::QrsOnset, on)];
    if let Some(pr) = m.pr_ms {
        out.push((Marker::POnset, on - pr));
    }
    if let Some(qrs) = m.qrs_ms {
        out.push((Marker::QrsOffset, on + qrs));
    }
    if let Some(qt) = m.qt_ms {
        out.push((Marker::TEnd, on + qt));
    }
    out
}

/// The review window.
pub fn review_window_ui(
    ctx: &egui::Context,
    study: &Study,
    caliper: Option<CaliperReadout>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let mut open = true;
    egui::Window::new("Review measurements")
        .open(&mut open)
        .default_width(720.0)
        .show(ctx, |ui| {
            let (Some(shown), Some(auto)) = (
                study.analysis.as_ref().and_then(|a| a.measurements.as_ref()),
                study.automatic.as_ref().and_then(|a| a.measurements.as_ref()),
            ) else {
                ui.label("Measuring…");
                return;
            };
            if study.edf.is_some() {
                ui.label(
                    "Corrections are for a 10 s study; a window of a long recording is not corrected.",
                );
                return;
            }
            commands.extend(beat_ui(ui, study, shown));
            ui.add_space(6.0);
            commands.extend(values_ui(ui, &study.edits, shown, auto, caliper));
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(!study.edits.is_empty(), egui::Button::new("Revert to automatic"))
                    .clicked()
                {
                    commands.push(Command::EditMeasurements(MeasurementEdits::default()));
                }
                ui.label(
                    RichText::new(if study.edits_fingerprint.is_some() {
                        "Corrections are saved in ecgscope's data folder (never in the study file) and restored when the study is reopened."
                    } else {
                        "Corrections apply until the study is closed (no data folder to save them in)."
                    })
                    .small()
                    .weak(),
                );
            });
        });
    if !open {
        commands.push(Command::ShowReview(false));
    }
    commands
}

/// The enlarged median beat of one lead with the four draggable markers.
fn beat_ui(ui: &mut egui::Ui, study: &Study, m: &Measurements) -> Vec<Command> {
    let mut commands = Vec::new();
    let Some(beat) = &m.median_beat else {
        ui.label("No median beat (too few consistent beats): type corrected values below.");
        return commands;
    };
    let lead_id = ui.scope_id().with("review-lead");
    let default = beat
        .leads
        .iter()
        .position(|n| StandardLead::from_name(n) == Some(StandardLead::II))
        .unwrap_or(0);
    let mut lead = ui.data(|d| d.get_temp::<usize>(lead_id)).unwrap_or(default);
    ui.horizontal(|ui| {
        egui::ComboBox::from_label("lead")
            .selected_text(beat.leads.get(lead).cloned().unwrap_or_default())
            .show_ui(ui, |ui| {
                for (i, name) in beat.leads.iter().enumerate() {
                    ui.selectable_value(&mut lead, i, name);
                }
            });
        ui.label(
            RichText::new(
                "Drag a marker to correct the interval it bounds (all leads share them).",
            )
            .small(),
        );
    });
    ui.data_mut(|d| d.insert_temp(lead_id, lead));
    let Some(samples) = beat.samples_mv.get(lead).filter(|s| s.len() > 1) else {
        return commands;
    };
    let fs = beat.sample_rate_hz;
    let duration_ms = samples.len() as f32 * 1000.0 / fs as f32;
    let (rect, _) = ui.allocate_exact_size(egui::vec2(680.0, 260.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, theme::PAPER);
    let x_of = |ms: f32| rect.min.x + rect.width() * ms / duration_ms;
    let px_per_ms = rect.width() / duration_ms;
    let (lo, hi) = samples
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let span = (hi - lo).max(0.5);
    let y_of = |v: f32| rect.max.y - 20.0 - (v - lo) / span * (rect.height() - 40.0);
    let pts: Vec<Pos2> = samples
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| Pos2::new(x_of(i as f32 * 1000.0 / fs as f32), y_of(*v)))
        .collect();
    painter.add(egui::Shape::line(pts, Stroke::new(1.5, theme::TRACE)));
    for (marker, ms) in marker_ms(m, &study.edits, fs) {
        let x = x_of(ms);
        if !(rect.min.x..=rect.max.x).contains(&x) {
            continue;
        }
        let hit = Rect::from_min_max(
            Pos2::new(x - 6.0, rect.min.y),
            Pos2::new(x + 6.0, rect.max.y),
        );
        let id = ui.scope_id().with(("marker", marker.label()));
        let response = ui
            .interact(hit, id, egui::Sense::drag())
            .on_hover_cursor(egui::CursorIcon::ResizeHorizontal)
            .on_hover_text(format!("{}: drag to correct", marker.label()));
        response.widget_info(|| {
            egui::WidgetInfo::labeled(egui::accesskit::Role::Slider, true, marker.label())
        });
        let colour = match marker {
            Marker::POnset => theme::CALIPER,
            Marker::QrsOnset | Marker::QrsOffset => theme::LABEL,
            Marker::TEnd => theme::NORMAL,
        };
        let width = if response.hovered() || response.dragged() {
            2.5
        } else {
            1.5
        };
        painter.line_segment(
            [Pos2::new(x, rect.min.y + 14.0), Pos2::new(x, rect.max.y)],
            Stroke::new(width, colour),
        );
        painter.text(
            Pos2::new(x, rect.min.y + 2.0),
            egui::Align2::CENTER_TOP,
            marker.label(),
            egui::FontId::proportional(11.0),
            colour,
        );
        // The marker follows the pointer (absolute, so a jumpy pointer cannot fling it).
        if let Some(p) = response
            .interact_pointer_pos()
            .filter(|_| response.dragged())
        {
            let dt_ms = (p.x.clamp(rect.min.x, rect.max.x) - x) / px_per_ms;
            if dt_ms.abs() >= 0.5 {
                commands.push(Command::EditMeasurements(drag(
                    &study.edits,
                    m,
                    marker,
                    dt_ms,
                )));
            }
        }
    }
    commands
}

/// The correctable values: typed, from the caliper, or reset one by one.
fn values_ui(
    ui: &mut egui::Ui,
    edits: &MeasurementEdits,
    shown: &Measurements,
    auto: &Measurements,
    caliper: Option<CaliperReadout>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    type Slot = fn(&mut MeasurementEdits) -> &mut Option<f32>;
    let rows: [(Quantity, Option<f32>, Option<f32>, Slot); 4] = [
        (Quantity::RrMs, shown.rr_ms, auto.rr_ms, |e| &mut e.rr_ms),
        (Quantity::PrMs, shown.pr_ms, auto.pr_ms, |e| &mut e.pr_ms),
        (Quantity::QrsMs, shown.qrs_ms, auto.qrs_ms, |e| {
            &mut e.qrs_ms
        }),
        (Quantity::QtMs, shown.qt_ms, auto.qt_ms, |e| &mut e.qt_ms),
    ];
    egui::Grid::new("review-values")
        .num_columns(5)
        .show(ui, |ui| {
            for h in ["", "value (ms)", "automatic", "", ""] {
                ui.label(RichText::new(h).weak());
            }
            ui.end_row();
            for (q, value, automatic, slot) in rows {
                let mut e = *edits;
                let edited = slot(&mut e).is_some();
                let name = ecgcore::review::label(q);
                let label = ui.label(if edited {
                    RichText::new(format!("{name} (edited)")).color(theme::FLAG)
                } else {
                    RichText::new(name)
                });
                let mut v = value.or(automatic).unwrap_or(0.0);
                let (lo, hi) = ecgcore::review::PLAUSIBLE_MS
                    .iter()
                    .find(|(p, _, _)| *p == q)
                    .map_or((0.0, 3000.0), |(_, lo, hi)| (*lo, *hi));
                let response = ui
                    .add(
                        egui::DragValue::new(&mut v)
                            .range(lo..=hi)
                            .speed(1.0)
                            .fixed_decimals(0),
                    )
                    .labelled_by(label.id);
                if response.changed() {
                    *slot(&mut e) = Some(v.round());
                    commands.push(Command::EditMeasurements(e));
                }
                ui.label(automatic.map_or_else(|| "—".to_string(), |a| format!("{a:.0} ms")));
                match caliper.filter(|c| (lo..=hi).contains(&c.dt_ms)) {
                    Some(c) => {
                        if ui
                            .small_button(format!("Use caliper ({:.0} ms)", c.dt_ms))
                            .clicked()
                        {
                            let mut e = *edits;
                            *slot(&mut e) = Some(c.dt_ms.round());
                            commands.push(Command::EditMeasurements(e));
                        }
                    }
                    None => {
                        ui.label("");
                    }
                }
                if ui
                    .add_enabled(edited, egui::Button::new("Automatic").small())
                    .clicked()
                {
                    let mut e = *edits;
                    *slot(&mut e) = None;
                    if q != Quantity::RrMs {
                        e.qrs_onset_shift_ms = None;
                    }
                    commands.push(Command::EditMeasurements(e));
                }
                ui.end_row();
            }
        });
    commands
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dragging_markers_changes_the_intervals_they_bound() {
        let m = Measurements {
            pr_ms: Some(160.0),
            qrs_ms: Some(100.0),
            qt_ms: Some(400.0),
            ..Measurements::default()
        };
        let none = MeasurementEdits::default();
        assert_eq!(drag(&none, &m, Marker::QrsOffset, -12.0).qrs_ms, Some(88.0));
        assert_eq!(drag(&none, &m, Marker::POnset, -20.0).pr_ms, Some(180.0));
        assert_eq!(drag(&none, &m, Marker::TEnd, 15.0).qt_ms, Some(415.0));
        let e = drag(&none, &m, Marker::QrsOnset, 10.0);
        assert_eq!(
            (e.pr_ms, e.qrs_ms, e.qt_ms, e.qrs_onset_shift_ms),
            (Some(170.0), Some(90.0), Some(390.0), Some(10.0))
        );
        assert_eq!(e.rr_ms, None);
    }
}
