//! The folder of studies: a panel listing the folder's studies (file, patient, acquisition
//! time, heart rate, the model's verdict once analysed, or why a file cannot be read), the
//! progress of the background analysis, previous/next, and their keyboard shortcuts.

use super::theme;
use crate::app::folder::{Entry, EntryStatus, Folder};
use crate::app::{Command, EcgApp};
use egui::{Key, KeyboardShortcut, Modifiers, RichText};
use std::fmt::Write as _;

/// Next study: Alt+→ (Page Down too, when the study is not a long EDF/BDF recording,
/// where Page Down moves to its next window).
pub const NEXT_STUDY: KeyboardShortcut = KeyboardShortcut::new(Modifiers::ALT, Key::ArrowRight);
/// Previous study: Alt+← (or Page Up, as for [`NEXT_STUDY`]).
pub const PREVIOUS_STUDY: KeyboardShortcut = KeyboardShortcut::new(Modifiers::ALT, Key::ArrowLeft);

/// "Alt+→ or Page Down" as the menu and the buttons show it.
fn shortcut_text(ctx: &egui::Context, shortcut: KeyboardShortcut, page: &str) -> String {
    format!("{} or {page}", ctx.format_shortcut(&shortcut))
}

/// The File menu's "Open folder…".
pub fn open_folder_item_ui(ui: &mut egui::Ui) -> Option<Command> {
    let clicked = ui
        .button("Open folder…")
        .on_hover_text("List the ECGs of a folder and go through them")
        .clicked();
    if clicked {
        ui.close();
    }
    clicked.then_some(Command::OpenFolderDialog)
}

/// The File menu's items for the open folder: next, previous, close.
pub fn folder_items_ui(ui: &mut egui::Ui, app: &EcgApp) -> Vec<Command> {
    let mut commands = Vec::new();
    if let Some(folder) = &app.folder {
        ui.separator();
        let ctx = ui.ctx().clone();
        let next = egui::Button::new("Next study").shortcut_text(shortcut_text(
            &ctx,
            NEXT_STUDY,
            "Page Down",
        ));
        if ui
            .add_enabled(folder.next_index().is_some(), next)
            .clicked()
        {
            commands.push(Command::NextStudy);
            ui.close();
        }
        let previous = egui::Button::new("Previous study").shortcut_text(shortcut_text(
            &ctx,
            PREVIOUS_STUDY,
            "Page Up",
        ));
        if ui
            .add_enabled(folder.previous_index().is_some(), previous)
            .clicked()
        {
            commands.push(Command::PreviousStudy);
            ui.close();
        }
        if ui.button("Close folder").clicked() {
            commands.push(Command::CloseFolder);
            ui.close();
        }
        ui.separator();
    }
    commands
}

/// Next/previous study from the keyboard while a folder is open.
pub fn shortcuts_ui(ctx: &egui::Context, app: &EcgApp) -> Vec<Command> {
    let mut commands = Vec::new();
    let Some(folder) = app.folder.as_ref().filter(|_| !ctx.text_edit_focused()) else {
        return commands;
    };
    // Page Up/Down page through a long EDF/BDF recording's windows instead.
    let paged = app.study.as_ref().is_some_and(|s| s.edf.is_some());
    // Every press counts, also several in one (slow) frame.
    let steps = ctx.input_mut(|i| {
        let mut count = |shortcut: KeyboardShortcut| {
            i.count_and_consume_key(shortcut.modifiers, shortcut.logical_key) as isize
        };
        let mut steps = count(NEXT_STUDY) - count(PREVIOUS_STUDY);
        if !paged {
            steps += count(KeyboardShortcut::new(Modifiers::NONE, Key::PageDown));
            steps -= count(KeyboardShortcut::new(Modifiers::NONE, Key::PageUp));
        }
        steps
    });
    // One study is opened, however far the presses go; at an end, Next/Previous says so.
    match (folder.step(steps), steps) {
        (Some(i), _) => commands.push(Command::OpenFolderEntry(i)),
        (None, s) if s > 0 => commands.push(Command::NextStudy),
        (None, s) if s < 0 => commands.push(Command::PreviousStudy),
        (None, _) => {}
    }
    commands
}

/// The folder panel (at the bottom of the window), when a folder is open.
pub fn folder_panel_ui(ui: &mut egui::Ui, app: &EcgApp) -> Vec<Command> {
    let mut commands = Vec::new();
    let Some(folder) = &app.folder else {
        return commands;
    };
    egui::Panel::bottom("folder")
        .resizable(true)
        .default_size(210.0)
        .min_size(80.0)
        .show(ui, |ui| {
            commands.extend(header_ui(ui, folder));
            ui.separator();
            commands.extend(list_ui(ui, folder));
        });
    commands
}

/// Folder name, position, previous/next, progress, close.
fn header_ui(ui: &mut egui::Ui, folder: &Folder) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal(|ui| {
        let name = folder.dir.file_name().map_or_else(
            || folder.dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        ui.label(RichText::new(format!("Folder: {name}")).strong())
            .on_hover_text(folder.dir.display().to_string());
        let total = folder.entries.len();
        match folder.current {
            Some(i) => ui.label(format!("study {} of {total}", i + 1)),
            None => ui.label(format!(
                "{total} {}",
                if total == 1 { "study" } else { "studies" }
            )),
        };
        let ctx = ui.ctx().clone();
        if ui
            .add_enabled(
                folder.previous_index().is_some(),
                egui::Button::new("< Previous"),
            )
            .on_hover_text(shortcut_text(&ctx, PREVIOUS_STUDY, "Page Up"))
            .clicked()
        {
            commands.push(Command::PreviousStudy);
        }
        if ui
            .add_enabled(folder.next_index().is_some(), egui::Button::new("Next >"))
            .on_hover_text(shortcut_text(&ctx, NEXT_STUDY, "Page Down"))
            .clicked()
        {
            commands.push(Command::NextStudy);
        }
        if let Some(text) = folder.progress_text() {
            let (done, total) = folder.progress();
            ui.add(
                egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                    .desired_width(260.0)
                    .text(text),
            );
        } else if total > 0 {
            let t = folder.tally();
            let mut text = if t.with_verdict > 0 {
                format!(
                    "All analysed: {} of {} outside the normal range, {} borderline",
                    t.abnormal, t.with_verdict, t.borderline
                )
            } else {
                "All analysed (measured only)".to_string()
            };
            if t.unreadable > 0 {
                let _ = write!(text, ", {} unreadable", t.unreadable);
            }
            ui.label(RichText::new(text).weak());
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .small_button("Close folder")
                .on_hover_text("Stop listing this folder")
                .clicked()
            {
                commands.push(Command::CloseFolder);
            }
        });
    });
    commands
}

/// Widths of the list's columns (points): number, file, patient ID, acquired, heart rate;
/// the verdict takes the rest of the row.
const COLUMNS: [f32; 5] = [32.0, 190.0, 130.0, 150.0, 64.0];
const ROW_HEIGHT: f32 = 20.0;

/// One cell of the list, `width` wide, its content clipped to it.
fn cell(ui: &mut egui::Ui, width: f32, add: impl FnOnce(&mut egui::Ui)) {
    ui.allocate_ui_with_layout(
        egui::vec2(width, ROW_HEIGHT),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_width(width);
            add(ui);
        },
    );
}

/// A label that is cut short (with the whole text on hover) when its column is too narrow.
fn short_label(ui: &mut egui::Ui, text: impl Into<egui::WidgetText>) -> egui::Response {
    ui.add(egui::Label::new(text).truncate())
}

/// The studies as a table under a fixed header row (only the rows in view are laid out);
/// click a file name to open it.
fn list_ui(ui: &mut egui::Ui, folder: &Folder) -> Vec<Command> {
    let mut commands = Vec::new();
    if folder.entries.is_empty() {
        ui.label("No ECG files in this folder.");
        return commands;
    }
    ui.horizontal(|ui| {
        for (title, width) in ["", "File", "Patient ID", "Acquired", "HR"]
            .into_iter()
            .zip(COLUMNS)
        {
            cell(ui, width, |ui| {
                ui.label(RichText::new(title).strong());
            });
        }
        ui.label(RichText::new("Verdict").strong());
    });
    // Bring the current study into view when it changes (keyboard, buttons, start).
    let spacing = ui.spacing().item_spacing.y;
    let scrolled_id = ui.make_persistent_id("folder_scrolled_to");
    let scrolled = ui
        .data(|d| d.get_temp::<Option<usize>>(scrolled_id))
        .flatten();
    let mut area = egui::ScrollArea::vertical()
        .id_salt("folder_list")
        .auto_shrink([false, false]);
    if let Some(i) = folder.current.filter(|&i| scrolled != Some(i)) {
        let centre = (i as f32 + 0.5) * (ROW_HEIGHT + spacing) - ui.available_height() / 2.0;
        area = area.vertical_scroll_offset(centre.max(0.0));
        ui.data_mut(|d| d.insert_temp(scrolled_id, Some(i)));
    }
    area.show_rows(ui, ROW_HEIGHT, folder.entries.len(), |ui, rows| {
        for i in rows {
            let entry = &folder.entries[i];
            let current = folder.current == Some(i);
            let stripe = ui.painter().add(egui::Shape::Noop);
            let row = ui.horizontal(|ui| {
                cell(ui, COLUMNS[0], |ui| {
                    ui.label(RichText::new(format!("{}", i + 1)).weak());
                });
                cell(ui, COLUMNS[1], |ui| {
                    let response = ui
                        .add(egui::Button::selectable(current, entry.name()).truncate())
                        .on_hover_text(entry.path.display().to_string());
                    if response.clicked() && !current {
                        commands.push(Command::OpenFolderEntry(i));
                    }
                });
                row_ui(ui, entry);
            });
            if i % 2 == 1 {
                let rect = egui::Rect::from_x_y_ranges(
                    ui.max_rect().x_range(),
                    row.response.rect.y_range(),
                );
                ui.painter().set(
                    stripe,
                    egui::Shape::rect_filled(rect, 0.0, ui.visuals().faint_bg_color),
                );
            }
        }
    });
    commands
}

/// Patient, time, heart rate and verdict of one entry (or its state).
fn row_ui(ui: &mut egui::Ui, entry: &Entry) {
    let dash = || RichText::new("—").weak();
    let info = entry.status.info();
    let patient = info.and_then(|i| i.patient_id.as_deref());
    cell(ui, COLUMNS[2], |ui| {
        short_label(ui, patient.map_or_else(dash, RichText::new));
    });
    let acquired = info.and_then(|i| i.acquisition_time.as_deref());
    cell(ui, COLUMNS[3], |ui| {
        short_label(ui, acquired.map_or_else(dash, RichText::new));
    });
    let hr = match &entry.status {
        EntryStatus::Done(s) => s.heart_rate_bpm,
        _ => None,
    };
    cell(ui, COLUMNS[4], |ui| {
        ui.label(hr.map_or_else(dash, |hr| RichText::new(format!("{hr:.0} bpm"))));
    });
    match &entry.status {
        EntryStatus::Pending => {
            ui.label(RichText::new("waiting").weak());
        }
        EntryStatus::Analysing(_) => {
            ui.spinner();
            ui.label(RichText::new("analysing…").weak());
        }
        EntryStatus::Done(s) => match &s.verdict {
            Some(v) => {
                let colour = if v.borderline {
                    theme::BORDERLINE
                } else if v.abnormal {
                    theme::ABNORMAL
                } else {
                    theme::NORMAL
                };
                short_label(
                    ui,
                    RichText::new(format!("{} · {}", capitalised(&v.short), v.score_line))
                        .color(colour),
                )
                .on_hover_text(&v.verdict);
            }
            None => {
                ui.label(RichText::new("measured only").weak())
                    .on_hover_text(
                        s.model_status
                            .as_deref()
                            .unwrap_or("the anomaly model did not run"),
                    );
            }
        },
        EntryStatus::Error(e) => {
            // The file is named in its own column; the whole error is on hover.
            let what = e.strip_prefix(&format!("{}: ", entry.name())).unwrap_or(e);
            short_label(
                ui,
                RichText::new(format!("Cannot be read: {what}"))
                    .italics()
                    .color(theme::ABNORMAL),
            )
            .on_hover_text(e);
        }
    }
}

/// "borderline, …" → "Borderline, …".
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}
