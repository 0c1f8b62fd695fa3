//! Paging through a long EDF/BDF recording: the file opens as its first
//! [`DEFAULT_WINDOW_S`]-second window (see `ecgcore::formats::edf`); this bar says which
//! window is shown ("window 00:10:00–00:10:10 of 02:13:45") and asks for another one by
//! previous/next buttons, a start-time slider or a typed time (hh:mm:ss, mm:ss or
//! seconds); Page Down / Page Up step to the next / previous window when no text field has
//! the keyboard. The window is read on a background job by the app ([`Command::ShowWindow`]).

use crate::app::Command;
use ecgcore::formats::edf::{hms, parse_hms, EdfAnnotation, EdfWindow, DEFAULT_WINDOW_S};
use egui::RichText;

/// The window bar; `busy` disables it while a window (or anything else) is loading.
/// `annotations` (EDF+) are offered as jump targets.
pub fn window_bar_ui(
    ui: &mut egui::Ui,
    window: &EdfWindow,
    annotations: &[EdfAnnotation],
    busy: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal(|ui| {
        ui.label(RichText::new(window.label()).strong());
        ui.add_enabled_ui(!busy, |ui| {
            let step = format!("{DEFAULT_WINDOW_S:.0} s");
            let previous = window.previous_start_s();
            if ui
                .add_enabled(
                    previous.is_some(),
                    egui::Button::new(format!("< Previous {step}")),
                )
                .on_hover_text("Page Up")
                .clicked()
            {
                commands.extend(previous.map(Command::ShowWindow));
            }
            let next = window.next_start_s();
            if ui
                .add_enabled(next.is_some(), egui::Button::new(format!("Next {step} >")))
                .on_hover_text("Page Down")
                .clicked()
            {
                commands.extend(next.map(Command::ShowWindow));
            }
            commands.extend(start_slider_ui(ui, window));
            commands.extend(go_to_ui(ui, window));
            commands.extend(annotations_ui(ui, window, annotations));
            if commands.is_empty() && !ui.ctx().text_edit_focused() {
                let (down, up) = ui.input(|i| {
                    (
                        i.key_pressed(egui::Key::PageDown),
                        i.key_pressed(egui::Key::PageUp),
                    )
                });
                if down {
                    commands.extend(next.map(Command::ShowWindow));
                } else if up {
                    commands.extend(previous.map(Command::ShowWindow));
                }
            }
        });
    });
    commands
}

/// Slider over the window start (whole seconds); the window is read when the drag ends
/// (or on a click or key press), not on every step of the drag.
fn start_slider_ui(ui: &mut egui::Ui, window: &EdfWindow) -> Option<Command> {
    let last_start = (window.total_s - DEFAULT_WINDOW_S).max(0.0).floor();
    let id = ui.make_persistent_id("edf_window_start");
    let mut start = ui.data(|d| d.get_temp::<f64>(id)).unwrap_or(window.start_s);
    let response = ui.add(
        egui::Slider::new(&mut start, 0.0..=last_start)
            .step_by(1.0)
            .show_value(false)
            .text("Window start"),
    );
    ui.label(hms(start));
    if response.dragged() {
        ui.data_mut(|d| d.insert_temp(id, start));
        None
    } else {
        ui.data_mut(|d| d.remove::<f64>(id));
        ((response.changed() || response.drag_stopped()) && start != window.start_s)
            .then_some(Command::ShowWindow(start))
    }
}

/// A time field: Enter reads the window starting there.
fn go_to_ui(ui: &mut egui::Ui, window: &EdfWindow) -> Option<Command> {
    let label = ui.label("Go to");
    let id = ui.make_persistent_id("edf_window_go_to");
    let mut text = ui
        .data(|d| d.get_temp::<String>(id))
        .unwrap_or_else(|| hms(window.start_s));
    let response = ui
        .add(
            egui::TextEdit::singleline(&mut text)
                .desired_width(72.0)
                .hint_text("hh:mm:ss"),
        )
        .labelled_by(label.id);
    let entered = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    let parsed = parse_hms(&text);
    // the typed text lives while the field has focus, then reverts to the window start
    if response.has_focus() {
        ui.data_mut(|d| d.insert_temp(id, text.clone()));
    } else {
        ui.data_mut(|d| d.remove::<String>(id));
    }
    if entered {
        return parsed.map(Command::ShowWindow);
    }
    if response.has_focus() && parsed.is_none() {
        ui.label(RichText::new("not a time (hh:mm:ss)").color(super::theme::ABNORMAL));
    }
    None
}

/// Start of the window that shows an event at `onset_s` 2 s after its left edge.
#[must_use]
pub fn window_start_for(onset_s: f64) -> f64 {
    (onset_s - 2.0).max(0.0).floor()
}

/// The annotations of the file; choosing one reads the window that shows it. Those
/// inside the current window are marked.
fn annotations_ui(
    ui: &mut egui::Ui,
    window: &EdfWindow,
    annotations: &[EdfAnnotation],
) -> Option<Command> {
    if annotations.is_empty() {
        return None;
    }
    let mut chosen = None;
    let shown = |a: &EdfAnnotation| {
        a.onset_s >= window.start_s && a.onset_s < window.start_s + window.duration_s
    };
    egui::ComboBox::from_label("Jump to annotation")
        .selected_text(format!("Annotations ({})", annotations.len()))
        .height(400.0)
        .show_ui(ui, |ui| {
            for (k, a) in annotations.iter().enumerate() {
                let text = format!(
                    "{} {}{}",
                    hms(a.onset_s),
                    a.text,
                    if shown(a) { "  (shown)" } else { "" }
                );
                if ui.selectable_label(shown(a), text).clicked() {
                    chosen = Some(k);
                }
            }
        });
    chosen
        .and_then(|k| annotations.get(k))
        .map(|a| Command::ShowWindow(window_start_for(a.onset_s)))
}
