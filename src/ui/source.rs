//! A digitized study's source image with the traces the digitizer read drawn on top, the
//! per-lead confidence, and the settings a user can correct before re-running it.

use super::theme;
use crate::app::{Command, Study, UnreadPage};
use ecgcore::StandardLead;
use ecgdigitize::{DigitizeOptions, Layout, RowPositions, MAX_HAND_ROWS};
use egui::{Color32, Pos2, RichText, Stroke};
use std::path::Path;

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
    /// The trace rows read ([`ecgdigitize::Digitized::row_baselines`]; none when unread).
    pub rows: Vec<f32>,
}

/// Where the page panel keeps what the user set for the page at `path`: shared by the
/// settings on the left and the row bands over the image.
pub fn options_id(path: &Path) -> egui::Id {
    egui::Id::unique(("digitize-options", path))
}

/// Closest two neighbouring hand-set rows may be, fraction of the image height (the
/// digitizer wants 5 mm; this only keeps their order while dragging).
const ROW_MIN_GAP: f32 = 0.01;

/// The rows drawn over the image: the ones set by hand when there are, else the ones the
/// digitizer read; true when set by hand.
pub fn shown_rows(o: &DigitizeOptions, read_rows: &[f32]) -> (Vec<f32>, bool) {
    match &o.rows {
        Some(r) if !r.is_empty() => (r.as_slice().to_vec(), true),
        _ => (read_rows.to_vec(), false),
    }
}

/// `n` rows spread evenly over the middle of the page (a start to drag from).
pub fn even_rows(n: usize) -> Vec<f32> {
    let n = n.clamp(1, MAX_HAND_ROWS);
    (0..n)
        .map(|i| 0.1 + 0.8 * (i as f32 + 0.5) / n as f32)
        .collect()
}

/// One more row: in the middle of the widest gap between rows (or between a row and the
/// page's edge).
pub fn add_row(rows: &[f32]) -> Vec<f32> {
    if rows.len() >= MAX_HAND_ROWS {
        return rows.to_vec();
    }
    let mut edges = vec![0.0];
    edges.extend_from_slice(rows);
    edges.push(1.0);
    let (mut at, mut widest) = (0, 0.0);
    for (i, w) in edges.windows(2).enumerate() {
        if w[1] - w[0] > widest {
            (at, widest) = (i, w[1] - w[0]);
        }
    }
    let mut out = rows.to_vec();
    out.insert(at, f32::midpoint(edges[at], edges[at + 1]));
    out
}

/// Row `index` moved to `to` (fraction of the image height), kept between its
/// neighbours.
pub fn drag_row(rows: &[f32], index: usize, to: f32) -> Vec<f32> {
    let mut out = rows.to_vec();
    if index < out.len() {
        let lo = if index > 0 {
            out[index - 1] + ROW_MIN_GAP
        } else {
            0.0
        };
        let hi = out.get(index + 1).map_or(1.0, |n| n - ROW_MIN_GAP);
        if lo <= hi {
            out[index] = to.clamp(lo, hi);
        }
    }
    out
}

/// Set the hand-set rows (none for an empty list; unchanged when `rows` is not valid).
fn set_rows(o: &mut DigitizeOptions, rows: &[f32]) {
    if rows.is_empty() {
        o.rows = None;
    } else if let Ok(r) = RowPositions::new(rows) {
        o.rows = Some(r);
    }
}

/// The row bands over the page image shown in `rect`: each row's baseline as a line
/// with a band to grab, dragged up or down to set the rows by hand (they are then drawn
/// orange; the rows the digitizer read are blue). Updates the page's settings
/// ([`options_id`]); the row last dragged is the one "Remove row" takes.
pub fn row_bands_ui(
    ui: &mut egui::Ui,
    rect: egui::Rect,
    id: egui::Id,
    start: DigitizeOptions,
    read_rows: &[f32],
) {
    let mut o: DigitizeOptions = ui.data_mut(|m| *m.get_temp_mut_or(id, start));
    let (rows, by_hand) = shown_rows(&o, read_rows);
    let colour = if by_hand {
        theme::FLAG
    } else {
        Color32::from_rgb(40, 90, 220)
    };
    let painter = ui.painter_at(rect);
    let grab = 6.0;
    let mut changed = None;
    for (i, f) in rows.iter().enumerate() {
        let y = rect.top() + f * rect.height();
        let band = egui::Rect::from_min_max(
            Pos2::new(rect.left(), y - grab),
            Pos2::new(rect.right(), y + grab),
        );
        let response = ui
            .interact(band, id.with(("row-band", i)), egui::Sense::drag())
            .on_hover_cursor(egui::CursorIcon::ResizeVertical)
            .on_hover_text("Drag to the row's baseline");
        let label = format!("Row {} baseline", i + 1);
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, label.clone()));
        let active = response.hovered() || response.dragged();
        painter.rect_filled(
            band,
            0.0,
            colour.gamma_multiply(if active { 0.3 } else { 0.12 }),
        );
        painter.line_segment(
            [Pos2::new(rect.left(), y), Pos2::new(rect.right(), y)],
            Stroke::new(if active { 2.0 } else { 1.2 }, colour),
        );
        painter.text(
            Pos2::new(rect.left() + 3.0, y - grab),
            egui::Align2::LEFT_BOTTOM,
            format!("row {}", i + 1),
            egui::FontId::proportional(12.0),
            colour,
        );
        if response.dragged() {
            if let Some(p) = response.interact_pointer_pos() {
                let to = (p.y - rect.top()) / rect.height().max(1.0);
                changed = Some(drag_row(&rows, i, to));
                ui.data_mut(|m| m.insert_temp(id.with("selected-row"), i));
            }
        }
    }
    if let Some(new_rows) = changed {
        set_rows(&mut o, &new_rows);
        ui.data_mut(|m| m.insert_temp(id, o));
    }
}

/// Layouts offered as buttons; any other is typed (`Layout::parse`). "3×5+1" is the adult
/// 15-lead page (V4R, V8, V9 in the fifth column; printed labels still name them).
const LAYOUT_BUTTONS: [(&str, Layout); 6] = [
    ("3×4+1", Layout::ThreeByFour { rhythm_strips: 1 }),
    ("3×4+3", Layout::ThreeByFour { rhythm_strips: 3 }),
    ("3×4", Layout::ThreeByFour { rhythm_strips: 0 }),
    (
        "3×5+1",
        Layout::ThreeByFive {
            extra: [
                Some(ecgcore::paper::ExtraLead::V4R),
                Some(ecgcore::paper::ExtraLead::V8),
                Some(ecgcore::paper::ExtraLead::V9),
            ],
            strips: [Some(ecgcore::StandardLead::II), None, None],
        },
    ),
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
    id: egui::Id,
    start: DigitizeOptions,
    read: &ReadSettings,
) -> Option<Command> {
    let mut command = None;
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
                "Not a layout: 3x4, 3x4+II, 3x4+V1,II,V5, 3x5+II (15 leads), 3x5(V3R,V4R,V7)+II, 6x2, 6x2+II, 6x2i, 12x1, 12x1i, partial",
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
    rows_ui(ui, id, &mut o, read);
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

/// The rows' controls: how many are drawn and whether set by hand, add or remove one,
/// place as many as the layout has, or go back to the rows the digitizer finds.
fn rows_ui(ui: &mut egui::Ui, id: egui::Id, o: &mut DigitizeOptions, read: &ReadSettings) {
    let (rows, by_hand) = shown_rows(o, &read.rows);
    ui.label("Rows");
    ui.label(
        RichText::new(match (rows.len(), by_hand) {
            (0, _) => {
                "None found: place them, then drag each band onto its row's baseline".to_string()
            }
            (n, true) => format!("{n} set by hand (drag the bands on the image)"),
            (n, false) => format!("{n} found (drag a band on the image to set them by hand)"),
        })
        .small(),
    );
    let layout = o
        .layout
        .or(read.layout)
        .filter(|l| !matches!(l, Layout::Partial(_)));
    if let Some(l) = layout {
        if !rows.is_empty() && rows.len() != l.rows() {
            ui.label(
                RichText::new(format!(
                    "The layout {l} has {} rows; {} are drawn",
                    l.rows(),
                    rows.len()
                ))
                .small()
                .color(theme::FLAG),
            );
        }
    }
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(rows.len() < MAX_HAND_ROWS, egui::Button::new("Add row"))
            .clicked()
        {
            set_rows(o, &add_row(&rows));
        }
        if ui
            .add_enabled(!rows.is_empty(), egui::Button::new("Remove row"))
            .on_hover_text("Removes the row last dragged (else the lowest)")
            .clicked()
        {
            let selected: Option<usize> = ui.data(|m| m.get_temp(id.with("selected-row")));
            let k = selected
                .filter(|k| *k < rows.len())
                .unwrap_or(rows.len() - 1);
            let mut fewer = rows.clone();
            fewer.remove(k);
            ui.data_mut(|m| m.remove::<usize>(id.with("selected-row")));
            if fewer.is_empty() {
                // No row left: back to the digitizer's own (none set by hand).
                o.rows = None;
            } else {
                set_rows(o, &fewer);
            }
        }
        if let Some(l) = layout {
            if rows.len() != l.rows()
                && ui
                    .button(format!("Place {} rows", l.rows()))
                    .on_hover_text("Spread evenly, to drag onto the rows")
                    .clicked()
            {
                set_rows(o, &even_rows(l.rows()));
            }
        }
        if by_hand
            && ui
                .button("Rows found")
                .on_hover_text("Let the digitizer find the rows")
                .clicked()
        {
            o.rows = None;
        }
    });
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
                    "Set what the digitizer could not find: the layout printed on the page, \
                     where rows were missed the rows (place them, then drag each band on the \
                     image onto its row's baseline) and, if the grid is faint or missing, its \
                     size in pixels per mm; then re-run.",
                );
                let read = ReadSettings {
                    // 0: not known, found from the printed grid unless the user sets it.
                    px_per_mm: page.options.px_per_mm.unwrap_or(0.0),
                    speed_mm_per_s: page.options.speed_mm_per_s.unwrap_or(25.0),
                    gain_mm_per_mv: page.options.gain_mm_per_mv.unwrap_or(10.0),
                    rotation_deg: page.options.rotation_deg.unwrap_or(0.0),
                    layout: page.options.layout,
                    rows: page.found_rows.clone(),
                };
                commands.extend(correction_ui(
                    ui,
                    options_id(&page.path),
                    page.options,
                    &read,
                ));
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
            let image = ui.image((texture.id(), size * scale));
            row_bands_ui(
                ui,
                image.rect,
                options_id(&page.path),
                page.options,
                &page.found_rows,
            );
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
                // A 15-lead page's extra leads: shown, not used by the model.
                for x in &d.extra_leads {
                    ui.label(x.lead.label()).on_hover_text(
                        "Extra lead of a 15-lead page: shown, not used by the model",
                    );
                    ui.label(
                        RichText::new(format!("{:.2}", x.confidence))
                            .color(confidence_colour(x.confidence)),
                    );
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
                rows: d.row_baselines.clone(),
            };
            commands.extend(correction_ui(
                ui,
                options_id(&study.path),
                study.digitize_options,
                &read,
            ));
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
        let traces = d.trace_pixels_per_lead.iter().zip(d.confidence_per_lead);
        let extra = d
            .extra_leads
            .iter()
            .map(|x| (&x.trace_pixels, x.confidence));
        for (trace, c) in traces.chain(extra) {
            let colour = confidence_colour(c).gamma_multiply(0.85);
            let pts: Vec<Pos2> = trace.iter().map(|p| to_screen(*p)).collect();
            if pts.len() > 1 {
                painter.add(egui::Shape::line(pts, Stroke::new(1.5, colour)));
            }
        }
        let boxes = d.lead_boxes.iter().map(|b| (b.corners, b.lead.label()));
        let extra = d.extra_leads.iter().map(|x| (x.corners, x.lead.label()));
        for (corners, label) in boxes.chain(extra) {
            let pts: Vec<Pos2> = corners.iter().map(|p| to_screen(*p)).collect();
            painter.add(egui::Shape::closed_line(
                pts.clone(),
                Stroke::new(1.0, theme::CALIPER.gamma_multiply(0.6)),
            ));
            if let Some(p) = pts.first() {
                painter.text(
                    *p + egui::vec2(3.0, 2.0),
                    egui::Align2::LEFT_TOP,
                    label,
                    egui::FontId::proportional(12.0),
                    theme::CALIPER,
                );
            }
        }
        row_bands_ui(
            ui,
            rect,
            options_id(&study.path),
            study.digitize_options,
            &d.row_baselines,
        );
    });
    commands
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_layout_button_is_a_layout_the_cli_takes_too() {
        for (label, layout) in super::LAYOUT_BUTTONS {
            let typed = label.replace("+1", "+II");
            assert_eq!(
                ecgdigitize::Layout::parse(&typed),
                Some(layout),
                "button {label}"
            );
        }
    }

    use super::*;

    #[test]
    fn rows_are_added_in_the_widest_gap_dragged_between_neighbours_and_shown() {
        assert_eq!(even_rows(4), vec![0.2, 0.4, 0.6, 0.8]);
        assert_eq!(add_row(&[]), vec![0.5]);
        assert_eq!(add_row(&[0.1, 0.2, 0.9]), vec![0.1, 0.2, 0.55, 0.9]);
        assert_eq!(add_row(&[0.5; MAX_HAND_ROWS]).len(), MAX_HAND_ROWS);
        // Kept between its neighbours, inside the page.
        assert_eq!(drag_row(&[0.2, 0.4, 0.6], 1, 0.5), vec![0.2, 0.5, 0.6]);
        let r = drag_row(&[0.2, 0.4, 0.6], 1, 0.9);
        assert!((r[1] - (0.6 - ROW_MIN_GAP)).abs() < 1e-6, "{r:?}");
        assert_eq!(drag_row(&[0.2, 0.4], 0, -0.3), vec![0.0, 0.4]);
        assert_eq!(drag_row(&[0.2, 0.4], 5, 0.3), vec![0.2, 0.4]);
        // The hand-set rows win over the ones read; none set: the ones read.
        let mut o = DigitizeOptions::default();
        assert_eq!(shown_rows(&o, &[0.3, 0.6]), (vec![0.3, 0.6], false));
        set_rows(&mut o, &[0.25, 0.5]);
        assert_eq!(shown_rows(&o, &[0.3, 0.6]), (vec![0.25, 0.5], true));
        // Invalid rows leave the setting as it was; none clears it.
        set_rows(&mut o, &[0.5, 0.25]);
        assert_eq!(shown_rows(&o, &[]).0, vec![0.25, 0.5]);
        set_rows(&mut o, &[]);
        assert_eq!(o.rows, None);
    }
}
