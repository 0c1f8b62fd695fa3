//! A digitized study's source image with the traces the digitizer read drawn on top, the
//! per-lead confidence, and the settings a user can correct before re-running it.

use super::theme;
use crate::app::{Command, Study, UnreadPage};
use ecgcore::StandardLead;
use ecgdigitize::{DigitizeOptions, Layout};
use egui::{Color32, Pos2, RichText, Stroke};

/// Colour of a lead's traced line by confidence (green good, orange doubtful, red low:
/// the leads the verdict's note names, [`ecgcore::recording::LOW_LEAD_CONFIDENCE`]).
fn confidence_colour(c: f32) -> Color32 {
    if c >= 0.8 {
        Color32::from_rgb(0, 150, 70)
    } else if c >= ecgcore::recording::LOW_LEAD_CONFIDENCE {
        theme::FLAG
    } else {
        theme::ABNORMAL
    }
}

/// The settings a page was read with (or the defaults when it was not read): where the
/// corrections start from.
pub struct ReadSettings {
    pub px_per_mm: f32,
    pub speed_mm_per_s: f32,
    pub gain_mm_per_mv: f32,
    pub rotation_deg: f32,
    /// `None`: the layout was not recognised.
    pub layout: Option<Layout>,
}

/// Layouts offered as buttons; any other is typed (`Layout::parse`).
const LAYOUT_BUTTONS: [(&str, Layout); 5] = [
    ("3×4+1", Layout::ThreeByFour { rhythm_strips: 1 }),
    ("3×4+3", Layout::ThreeByFour { rhythm_strips: 3 }),
    ("3×4", Layout::ThreeByFour { rhythm_strips: 0 }),
    ("6×2", Layout::SixByTwo),
    ("12×1", Layout::TwelveByOne),
];

/// One row of the correction grid: a label, the value's control named by it (for screen
/// readers and tests) with a hover text; true when the user changed the value.
fn labelled_value(ui: &mut egui::Ui, label: &str, value: egui::DragValue<'_>, hover: &str) -> bool {
    let label = ui.label(label);
    let changed = ui
        .add(value)
        .on_hover_text(hover)
        .labelled_by(label.id)
        .changed();
    ui.end_row();
    changed
}

/// The "correct and re-run" controls: layout, grid size, speed, gain, rotation and
/// perspective, starting from `start` (what the user set last) over `read` (what the
/// digitizer found); the command to re-run when asked.
pub fn correction_ui(
    ui: &mut egui::Ui,
    start: DigitizeOptions,
    read: &ReadSettings,
) -> Option<Command> {
    let mut command = None;
    let id = ui.scope_id().with("digitize-options");
    let mut o: DigitizeOptions = ui.data_mut(|m| *m.get_temp_mut_or(id, start));
    let mut px = o.px_per_mm.unwrap_or(read.px_per_mm);
    let mut speed = o.speed_mm_per_s.unwrap_or(read.speed_mm_per_s);
    let mut gain = o.gain_mm_per_mv.unwrap_or(read.gain_mm_per_mv);
    let mut rotation = o.rotation_deg.unwrap_or(read.rotation_deg);
    egui::Grid::new("digitize-fix")
        .num_columns(2)
        .show(ui, |ui| {
            if labelled_value(
                ui,
                "px per mm",
                egui::DragValue::new(&mut px).range(0.0..=200.0).speed(0.01),
                "Size of the grid: measure a 5 mm square on the image and divide its \
                 width in pixels by 5 (0 = find it from the printed grid)",
            ) {
                o.px_per_mm = (px >= 0.5).then_some(px);
            }
            if labelled_value(
                ui,
                "speed mm/s",
                egui::DragValue::new(&mut speed).range(5.0..=200.0),
                "Paper speed printed on the page (usually 25 mm/s)",
            ) {
                o.speed_mm_per_s = Some(speed);
            }
            if labelled_value(
                ui,
                "gain mm/mV",
                egui::DragValue::new(&mut gain).range(1.0..=100.0),
                "Gain printed on the page (usually 10 mm/mV; the calibration pulse is 1 mV tall)",
            ) {
                o.gain_mm_per_mv = Some(gain);
            }
            if labelled_value(
                ui,
                "rotation °",
                egui::DragValue::new(&mut rotation)
                    .range(-45.0..=45.0)
                    .speed(0.1),
                "Rotation of the page in the image, degrees",
            ) {
                o.rotation_deg = Some(rotation);
            }
        });
    ui.label("Layout");
    ui.horizontal_wrapped(|ui| {
        for (label, layout) in LAYOUT_BUTTONS {
            let selected = o.layout.or(read.layout) == Some(layout);
            if ui.selectable_label(selected, label).clicked() {
                o.layout = Some(layout);
            }
        }
    });
    let text_id = id.with("layout-text");
    let mut text: String = ui.data_mut(|m| m.get_temp_mut_or_default::<String>(text_id).clone());
    ui.horizontal(|ui| {
        let label = ui.label("other:");
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text("e.g. 3x4+V1,II,V5")
                    .desired_width(120.0),
            )
            .labelled_by(label.id);
        if edit.changed() {
            if let Some(l) = Layout::parse(&text) {
                o.layout = Some(l);
            }
        }
    });
    if !text.trim().is_empty() && Layout::parse(&text).is_none() {
        ui.label(
            RichText::new(
                "Not a layout: 3x4, 3x4+II, 3x4+V1,II,V5, 6x2, 6x2+II, 6x2i, 12x1, 12x1i, partial",
            )
            .small()
            .color(theme::FLAG),
        );
    }
    ui.data_mut(|m| m.insert_temp(text_id, text));
    match o.layout.or(read.layout) {
        Some(l) => ui.label(format!("Will read as: {l}")),
        None => ui.label(RichText::new("Choose the layout printed on the page").color(theme::FLAG)),
    };
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
            command = Some(Command::Redigitize(o));
        }
        if ui.button("Detect again").clicked() {
            ui.data_mut(|m| m.insert_temp(id, DigitizeOptions::default()));
            command = Some(Command::Redigitize(DigitizeOptions::default()));
        }
    });
    command
}

/// A page the digitizer could not read: what went wrong, the settings to set by hand and
/// the image itself, so that opening a page never ends in an empty window.
pub fn unread_page_ui(ui: &mut egui::Ui, page: &UnreadPage) -> Vec<Command> {
    let mut commands = Vec::new();
    egui::Panel::left("unread-page")
        .default_size(260.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.heading("Page not read");
                ui.label(RichText::new(&page.error).color(theme::ABNORMAL));
                ui.separator();
                ui.label(
                    "Set what the digitizer could not find: the layout printed on the page and, \
                     if the grid is faint or missing, its size in pixels per mm; then re-run.",
                );
                let read = ReadSettings {
                    // 0: not known, found from the printed grid unless the user sets it.
                    px_per_mm: page.options.px_per_mm.unwrap_or(0.0),
                    speed_mm_per_s: page.options.speed_mm_per_s.unwrap_or(25.0),
                    gain_mm_per_mv: page.options.gain_mm_per_mv.unwrap_or(10.0),
                    rotation_deg: page.options.rotation_deg.unwrap_or(0.0),
                    layout: page.options.layout,
                };
                commands.extend(correction_ui(ui, page.options, &read));
                ui.separator();
                if ui.button("Close this page").clicked() {
                    commands.push(Command::CloseUnreadPage);
                }
            });
        });
    egui::CentralPanel::default().show(ui, |ui| match &page.texture {
        Some(texture) => {
            let size = texture.size_vec2();
            let avail = ui.available_size();
            let scale = (avail.x / size.x.max(1.0))
                .min(avail.y / size.y.max(1.0))
                .min(2.0);
            ui.image((texture.id(), size * scale));
        }
        None => {
            ui.label("The image itself could not be decoded for display.");
        }
    });
    commands
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
            let read = ReadSettings {
                px_per_mm: d.px_per_mm,
                speed_mm_per_s: d.speed_mm_per_s,
                gain_mm_per_mv: d.gain_mm_per_mv,
                rotation_deg: d.rotation_deg,
                layout: Some(d.layout),
            };
            commands.extend(correction_ui(ui, study.digitize_options, &read));
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
