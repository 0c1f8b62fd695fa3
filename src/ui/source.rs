//! A digitized study's source image with the traces the digitizer read drawn on top, the
//! per-lead confidence, and the settings a user can correct before re-running it.

use super::theme;
use crate::app::{Command, Study};
use ecgcore::StandardLead;
use ecgdigitize::{DigitizeOptions, Layout};
use egui::{Color32, Pos2, RichText, Stroke};

/// Colour of a lead's traced line by confidence (green good, orange doubtful, red poor).
fn confidence_colour(c: f32) -> Color32 {
    if c >= 0.8 {
        Color32::from_rgb(0, 150, 70)
    } else if c >= 0.5 {
        theme::FLAG
    } else {
        theme::ABNORMAL
    }
}

/// The panel: corrections and confidence on the left, the image on the right.
pub fn source_image_ui(ui: &mut egui::Ui, study: &Study) -> Vec<Command> {
    let mut commands = Vec::new();
    let Some(d) = &study.digitized else {
        return commands;
    };
    egui::Panel::left("digitizer")
        .default_size(230.0)
        .show(ui, |ui| {
            ui.heading("Digitizer");
            ui.label(format!("Layout: {}", d.layout));
            ui.label(format!(
                "Grid: {:.2} px/mm{}",
                d.px_per_mm,
                if d.grid_found {
                    " (from the printed grid)"
                } else {
                    " (given)"
                }
            ));
            ui.label(format!("Rotation corrected: {:.1}°", d.rotation_deg));
            if let Some(p) = d.perspective_deg {
                ui.label(format!("Perspective corrected ({p:.1}°)"))
                    .on_hover_text("The grid lines converged: the photo was warped flat");
            }
            ui.label(format!(
                "{} mm/s, {} mm/mV{}",
                d.speed_mm_per_s,
                d.gain_mm_per_mv,
                if d.gain_from_pulse {
                    " (from the calibration pulse)"
                } else {
                    " (assumed)"
                }
            ));
            ui.separator();
            ui.label(RichText::new("Confidence per lead").strong());
            egui::Grid::new("confidence").num_columns(2).show(ui, |ui| {
                for (lead, c) in StandardLead::ALL.iter().zip(d.confidence_per_lead) {
                    ui.label(lead.label());
                    ui.label(RichText::new(format!("{c:.2}")).color(confidence_colour(c)));
                    ui.end_row();
                }
            });
            ui.separator();
            ui.label(RichText::new("Correct and re-run").strong());
            let id = ui.scope_id().with("digitize-options");
            let mut o: DigitizeOptions =
                ui.data_mut(|m| *m.get_temp_mut_or(id, study.digitize_options));
            let mut px = o.px_per_mm.unwrap_or(d.px_per_mm);
            let mut speed = o.speed_mm_per_s.unwrap_or(d.speed_mm_per_s);
            let mut gain = o.gain_mm_per_mv.unwrap_or(d.gain_mm_per_mv);
            let mut rotation = o.rotation_deg.unwrap_or(d.rotation_deg);
            egui::Grid::new("digitize-fix")
                .num_columns(2)
                .show(ui, |ui| {
                    ui.label("px per mm");
                    if ui
                        .add(egui::DragValue::new(&mut px).range(0.5..=200.0).speed(0.01))
                        .changed()
                    {
                        o.px_per_mm = Some(px);
                    }
                    ui.end_row();
                    ui.label("speed mm/s");
                    if ui
                        .add(egui::DragValue::new(&mut speed).range(5.0..=200.0))
                        .changed()
                    {
                        o.speed_mm_per_s = Some(speed);
                    }
                    ui.end_row();
                    ui.label("gain mm/mV");
                    if ui
                        .add(egui::DragValue::new(&mut gain).range(1.0..=100.0))
                        .changed()
                    {
                        o.gain_mm_per_mv = Some(gain);
                    }
                    ui.end_row();
                    ui.label("rotation °");
                    if ui
                        .add(
                            egui::DragValue::new(&mut rotation)
                                .range(-45.0..=45.0)
                                .speed(0.1),
                        )
                        .changed()
                    {
                        o.rotation_deg = Some(rotation);
                    }
                    ui.end_row();
                });
            ui.horizontal_wrapped(|ui| {
                for (label, layout) in [
                    ("3×4+1", Layout::ThreeByFour { rhythm_strips: 1 }),
                    ("3×4+3", Layout::ThreeByFour { rhythm_strips: 3 }),
                    ("3×4", Layout::ThreeByFour { rhythm_strips: 0 }),
                    ("6×2", Layout::SixByTwo),
                    ("12×1", Layout::TwelveByOne),
                ] {
                    let selected = o.layout.unwrap_or(d.layout) == layout;
                    if ui.selectable_label(selected, label).clicked() {
                        o.layout = Some(layout);
                    }
                }
            });
            let mut perspective = o.correct_perspective.unwrap_or(true);
            if ui
                .checkbox(&mut perspective, "Correct perspective (photos)")
                .changed()
            {
                o.correct_perspective = Some(perspective);
            }
            ui.data_mut(|m| m.insert_temp(id, o));
            ui.horizontal(|ui| {
                if ui.button("Re-run digitizer").clicked() {
                    commands.push(Command::Redigitize(o));
                }
                if ui.button("Detect again").clicked() {
                    ui.data_mut(|m| m.insert_temp(id, DigitizeOptions::default()));
                    commands.push(Command::Redigitize(DigitizeOptions::default()));
                }
            });
        });
    egui::CentralPanel::default().show(ui, |ui| {
        let Some(texture) = &study.source_texture else {
            ui.label("The image could not be displayed.");
            return;
        };
        let avail = ui.available_size();
        let (w, h) = (d.image_width.max(1) as f32, d.image_height.max(1) as f32);
        let scale = (avail.x / w).min(avail.y / h).min(2.0);
        let (rect, _) =
            ui.allocate_exact_size(egui::vec2(w * scale, h * scale), egui::Sense::hover());
        let painter = ui.painter_at(rect);
        painter.image(
            texture.id(),
            rect,
            egui::Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
            Color32::WHITE,
        );
        let to_screen = |p: [f32; 2]| rect.min + egui::vec2(p[0] * scale, p[1] * scale);
        for (i, trace) in d.trace_pixels_per_lead.iter().enumerate() {
            let c = d.confidence_per_lead.get(i).copied().unwrap_or(0.0);
            let colour = confidence_colour(c).gamma_multiply(0.85);
            let pts: Vec<Pos2> = trace.iter().map(|p| to_screen(*p)).collect();
            if pts.len() > 1 {
                painter.add(egui::Shape::line(pts, Stroke::new(1.5, colour)));
            }
        }
        for b in &d.lead_boxes {
            let pts: Vec<Pos2> = b.corners.iter().map(|p| to_screen(*p)).collect();
            painter.add(egui::Shape::closed_line(
                pts.clone(),
                Stroke::new(1.0, theme::CALIPER.gamma_multiply(0.6)),
            ));
            if let Some(p) = pts.first() {
                painter.text(
                    *p + egui::vec2(3.0, 2.0),
                    egui::Align2::LEFT_TOP,
                    b.lead.label(),
                    egui::FontId::proportional(12.0),
                    theme::CALIPER,
                );
            }
        }
    });
    commands
}
