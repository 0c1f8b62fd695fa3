//! The GUI's panels. Each `*_ui` function draws and returns the [`Command`]s the user
//! asked for; the app applies them at the end of the frame. Nothing here does I/O or
//! inference.

pub mod analysis;
pub mod comparison;
pub mod edf_window;
pub mod folder;
pub mod layout;
pub mod median_beat;
pub mod paper;
pub mod review;
pub mod source;
pub mod theme;

use crate::app::settings::{FilterSettings, Layout, Notch};
use crate::app::{Command, EcgApp, Severity};
use ecgcore::analysis::ModelOutput;
use ecgcore::dsp::measurements::Measurements;
use ecgcore::dsp::measurements::Quantity;
use ecgcore::{Recording, Sex, StandardLead};
use egui::RichText;

/// The whole window.
pub fn app_ui(ui: &mut egui::Ui, app: &EcgApp) -> Vec<Command> {
    let mut commands = folder::shortcuts_ui(ui.ctx(), app);
    egui::Panel::top("menu").show(ui, |ui| {
        commands.extend(menu_ui(ui, app));
        commands.extend(toolbar_ui(ui, app));
    });
    if let Some((severity, text)) = app.message.clone() {
        egui::Panel::bottom("message").show(ui, |ui| {
            ui.horizontal(|ui| {
                let colour = match severity {
                    Severity::Info => ui.visuals().text_color(),
                    Severity::Warning => theme::FLAG,
                    Severity::Error => theme::ABNORMAL,
                };
                ui.label(RichText::new(text).color(colour));
                if ui.small_button("Dismiss").clicked() {
                    commands.push(Command::DismissMessage);
                }
            });
        });
    }
    commands.extend(folder::folder_panel_ui(ui, app));
    if let Some(page) = &app.unread_page {
        commands.extend(source::unread_page_ui(ui, page));
        return commands;
    }
    egui::Panel::left("study")
        .default_size(290.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                commands.extend(study_panel_ui(ui, app));
            });
        });
    egui::CentralPanel::default().show(ui, |ui| {
        let Some(study) = &app.study else {
            ui.centered_and_justified(|ui| {
                if let Some(busy) = app.busy() {
                    ui.spinner();
                    ui.label(busy);
                } else {
                    ui.label(
                        "Open an ECG (or a folder of them) with the File menu, or drop it on \
                         this window.",
                    );
                }
            });
            return;
        };
        if study.digitized.is_some() {
            ui.horizontal(|ui| {
                let mut show = study.show_source;
                if ui
                    .toggle_value(&mut show, "Source image")
                    .on_hover_text("The scan with the traces read from it")
                    .changed()
                {
                    commands.push(Command::ShowSourceImage(show));
                }
                ui.label(
                    RichText::new("Digitized from an image: check the traces against the scan.")
                        .color(theme::FLAG),
                );
            });
            if study.show_source {
                commands.extend(source::source_image_ui(ui, study));
                return;
            }
        }
        if let Some(prior) = app.prior() {
            commands.extend(comparison::prior_bar_ui(
                ui,
                &app.priors,
                app.selected_prior,
                app.show_comparison,
            ));
            if app.show_comparison {
                let mm = paper::POINTS_PER_MM_NOMINAL * app.settings.screen_calibration;
                comparison::comparison_ui(ui, study.analysis.as_ref(), prior, &app.priors, mm);
                return;
            }
        }
        if let Some(paging) = &study.edf {
            commands.extend(edf_window::window_bar_ui(
                ui,
                &paging.window,
                &paging.annotations,
                app.busy().is_some(),
            ));
        }
        let analysis = study.analysis.as_ref();
        let generation = study.analysis_generation;
        fn overlay_of(o: Option<&ModelOutput>, generation: u64) -> Option<paper::Overlay<'_>> {
            o.map(|o| paper::Overlay {
                leads: &o.leads,
                maps: &o.map,
                rate_hz: o.map_rate_hz,
                generation,
            })
        }
        let ours = overlay_of(analysis.and_then(|a| a.anomaly.as_ref()), generation);
        let baseline = overlay_of(
            analysis.and_then(|a| a.baseline.as_ref()),
            generation.wrapping_add(1 << 40),
        );
        let compare = app.settings.compare && baseline.is_some();
        if ours.is_some() {
            commands.extend(overlay_bar_ui(ui, &app.settings, baseline.is_some()));
        }
        egui::ScrollArea::both()
            .id_salt("tracing")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if compare {
                    let name = analysis
                        .and_then(|a| a.anomaly.as_ref())
                        .map_or("", |o| o.method.as_str());
                    ui.label(RichText::new(format!("Ours: {name}")).strong());
                }
                let other = paper::cursor_of(ui.ctx(), paper::BASELINE_PANE);
                commands.extend(paper::paper_ui(
                    ui,
                    paper::MAIN_PANE,
                    &study.display,
                    study.display_generation,
                    &app.settings,
                    ours.as_ref(),
                    if compare { other } else { None },
                    Some(&app.paper),
                ));
                if compare {
                    let name = analysis
                        .and_then(|a| a.baseline.as_ref())
                        .map_or("", |o| o.method.as_str());
                    ui.label(RichText::new(format!("Baseline: {name}")).strong());
                    let other = paper::cursor_of(ui.ctx(), paper::MAIN_PANE);
                    commands.extend(paper::paper_ui(
                        ui,
                        paper::BASELINE_PANE,
                        &study.display,
                        study.display_generation,
                        &app.settings,
                        baseline.as_ref(),
                        other,
                        None,
                    ));
                }
            });
    });
    if app.study.is_some() {
        drop_targets_ui(ui.ctx());
    }
    if app.show_review {
        if let Some(study) = &app.study {
            let caliper = app
                .paper
                .caliper
                .readout(app.settings.speed_mm_per_s, app.settings.gain_mm_per_mv);
            commands.extend(review::review_window_ui(ui.ctx(), study, caliper));
        }
    }
    if app.show_about {
        commands.extend(about_window_ui(ui.ctx(), app));
    }
    if app.show_calibration_window {
        commands.extend(calibration_window_ui(
            ui.ctx(),
            app.settings.screen_calibration,
        ));
    }
    commands
}

/// Overlay controls and the colour legend.
fn overlay_bar_ui(
    ui: &mut egui::Ui,
    s: &crate::app::settings::Settings,
    has_baseline: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal(|ui| {
        let mut on = s.show_overlay;
        if ui.checkbox(&mut on, "Anomaly overlay").changed() {
            commands.push(Command::SetOverlay(on));
        }
        let mut opacity = s.overlay_opacity;
        if ui
            .add(
                egui::Slider::new(&mut opacity, 0.0..=1.0)
                    .show_value(false)
                    .text("Opacity"),
            )
            .changed()
        {
            commands.push(Command::SetOverlayOpacity(opacity));
        }
        if has_baseline {
            let mut compare = s.compare;
            if ui
                .toggle_value(&mut compare, "Compare with baseline")
                .changed()
            {
                commands.push(Command::SetCompare(compare));
            }
        }
        ui.separator();
        legend_ui(ui);
    });
    commands
}

/// The likelihood colour ramp with its end labels.
fn legend_ui(ui: &mut egui::Ui) {
    ui.label(RichText::new("likelihood 0").small());
    let (rect, response) = ui.allocate_exact_size(egui::vec2(120.0, 12.0), egui::Sense::hover());
    let n = 24;
    for i in 0..n {
        let p = i as f32 / (n - 1) as f32;
        let [r, g, b] = ecgreport::likelihood_colour(p);
        let x0 = rect.min.x + rect.width() * i as f32 / n as f32;
        let x1 = rect.min.x + rect.width() * (i + 1) as f32 / n as f32;
        ui.painter().rect_filled(
            egui::Rect::from_min_max(egui::pos2(x0, rect.min.y), egui::pos2(x1, rect.max.y)),
            0.0,
            egui::Color32::from_rgb(r, g, b),
        );
    }
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::accesskit::Role::Image,
            true,
            "Anomaly likelihood legend",
        )
    });
    ui.label(RichText::new("1").small());
}

/// While a file is dragged over the window with a study open: the two drop targets (open
/// it, or compare with it as the prior — the right third).
fn drop_targets_ui(ctx: &egui::Context) {
    if ctx.input(|i| i.raw.hovered_files.is_empty()) {
        return;
    }
    let window = ctx.content_rect();
    let prior = crate::app::prior_drop_zone(window);
    let open = egui::Rect::from_min_max(window.min, egui::pos2(prior.min.x, window.max.y));
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop-targets"),
    ));
    for (rect, text, colour) in [
        (open, "Drop to open", theme::LABEL),
        (prior, "Drop to compare\nas the prior ECG", theme::PRIOR),
    ] {
        painter.rect_filled(rect.shrink(8.0), 8.0, colour.gamma_multiply(0.15));
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            text,
            egui::FontId::proportional(24.0),
            colour,
        );
    }
}

fn menu_ui(ui: &mut egui::Ui, app: &EcgApp) -> Vec<Command> {
    let mut commands = Vec::new();
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if ui.button("Open…").clicked() {
                commands.push(Command::OpenDialog);
                ui.close();
            }
            commands.extend(folder::open_folder_item_ui(ui));
            ui.menu_button("Open recent", |ui| {
                if app.settings.recent_files.is_empty() {
                    ui.label("(none yet)");
                }
                for path in &app.settings.recent_files {
                    let name = path.file_name().map_or_else(
                        || path.display().to_string(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                    if ui
                        .button(name)
                        .on_hover_text(path.display().to_string())
                        .clicked()
                    {
                        commands.push(Command::Open(path.clone()));
                        ui.close();
                    }
                }
            });
            commands.extend(folder::folder_items_ui(ui, app));
            if ui
                .add_enabled(app.study.is_some(), egui::Button::new("Compare with prior…"))
                .on_hover_text(
                    "Open an earlier ECG of the same patient (or drop it on the right third of the window)",
                )
                .clicked()
            {
                commands.push(Command::OpenPriorDialog);
                ui.close();
            }
            if app.prior().is_some() && ui.button("Close prior").clicked() {
                commands.push(Command::ClosePrior);
                ui.close();
            }
            if ui
                .add_enabled(app.study.is_some(), egui::Button::new("Export PDF…"))
                .on_hover_text("With a prior open, the report gains a comparison page")
                .clicked()
            {
                commands.push(Command::ExportPdfDialog);
                ui.close();
            }
            ui.separator();
            if ui.button("Quit").clicked() {
                commands.push(Command::Quit);
            }
        });
        ui.menu_button("View", |ui| {
            if ui.button("Calibrate screen scale…").clicked() {
                commands.push(Command::ShowCalibrationWindow(true));
                ui.close();
            }
        });
        ui.menu_button("Help", |ui| {
            if ui.button("About ecgscope").clicked() {
                commands.push(Command::ShowAbout(true));
                ui.close();
            }
        });
        if let Some(busy) = app.busy() {
            ui.separator();
            ui.spinner();
            ui.label(busy);
        }
    });
    commands
}

fn toolbar_ui(ui: &mut egui::Ui, app: &EcgApp) -> Vec<Command> {
    let mut commands = Vec::new();
    let s = &app.settings;
    ui.horizontal_wrapped(|ui| {
        ui.label("Layout:");
        for layout in Layout::ALL {
            if ui
                .selectable_label(s.layout == layout, layout.label())
                .clicked()
            {
                commands.push(Command::SetLayout(layout));
            }
        }
        if s.layout == Layout::Single {
            let current = StandardLead::ALL[s.single_lead.min(11)];
            ui.label("Lead");
            egui::ComboBox::from_id_salt("single_lead")
                .selected_text(current.label())
                .show_ui(ui, |ui| {
                    for (i, l) in StandardLead::ALL.iter().enumerate() {
                        if ui.selectable_label(i == s.single_lead, l.label()).clicked() {
                            commands.push(Command::SetSingleLead(i));
                        }
                    }
                })
                .response
                .widget_info(|| {
                    egui::WidgetInfo::labeled(egui::accesskit::Role::ComboBox, true, "Lead")
                });
        }
        ui.separator();
        ui.label("Speed:");
        for speed in [12.5, 25.0, 50.0] {
            if ui
                .selectable_label(s.speed_mm_per_s == speed, format!("{speed} mm/s"))
                .clicked()
            {
                commands.push(Command::SetSpeed(speed));
            }
        }
        ui.separator();
        ui.label("Gain:");
        for gain in [5.0, 10.0, 20.0] {
            if ui
                .selectable_label(s.gain_mm_per_mv == gain, format!("{gain} mm/mV"))
                .clicked()
            {
                commands.push(Command::SetGain(gain));
            }
        }
        ui.separator();
        commands.extend(filters_ui(ui, &s.filters));
        ui.separator();
        let mut caliper = app.paper.caliper_mode;
        if ui
            .toggle_value(&mut caliper, "Calipers")
            .on_hover_text("Click two points on the tracing")
            .changed()
        {
            commands.push(Command::SetCaliperMode(caliper));
        }
    });
    commands
}

fn filters_ui(ui: &mut egui::Ui, f: &FilterSettings) -> Vec<Command> {
    let mut commands = Vec::new();
    let mut new = *f;
    ui.label("Filters:");
    ui.checkbox(&mut new.baseline_wander, "Baseline");
    ui.label("Notch");
    egui::ComboBox::from_id_salt("notch")
        .selected_text(match new.notch {
            Notch::Off => "off",
            Notch::Hz50 => "50 Hz",
            Notch::Hz60 => "60 Hz",
        })
        .width(60.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut new.notch, Notch::Off, "off");
            ui.selectable_value(&mut new.notch, Notch::Hz50, "50 Hz");
            ui.selectable_value(&mut new.notch, Notch::Hz60, "60 Hz");
        })
        .response
        .widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::ComboBox, true, "Notch"));
    ui.label("Low-pass");
    egui::ComboBox::from_id_salt("lowpass")
        .selected_text(
            new.lowpass_hz
                .map_or("off".to_string(), |f| format!("{f:.0} Hz")),
        )
        .width(60.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut new.lowpass_hz, None, "off");
            for hz in [40.0, 100.0, 150.0] {
                ui.selectable_value(&mut new.lowpass_hz, Some(hz), format!("{hz:.0} Hz"));
            }
        })
        .response
        .widget_info(|| {
            egui::WidgetInfo::labeled(egui::accesskit::Role::ComboBox, true, "Low-pass")
        });
    if new != *f {
        commands.push(Command::SetFilters(new));
    }
    commands
}

fn study_panel_ui(ui: &mut egui::Ui, app: &EcgApp) -> Vec<Command> {
    let mut commands = Vec::new();
    let Some(study) = &app.study else {
        ui.heading("No study open");
        return commands;
    };
    let rec: &Recording = &study.original;
    ui.heading("Patient");
    egui::Grid::new("patient").num_columns(2).show(ui, |ui| {
        row(ui, "Patient ID", rec.patient.id.as_deref().unwrap_or("—"));
        row(
            ui,
            "Age",
            &rec.patient
                .age_years
                .map_or("—".into(), |a| format!("{a:.0} y")),
        );
        row(
            ui,
            "Sex",
            match rec.patient.sex {
                Some(Sex::Male) => "male",
                Some(Sex::Female) => "female",
                None => "—",
            },
        );
        row(
            ui,
            "Acquired",
            rec.provenance.acquisition_time.as_deref().unwrap_or("—"),
        );
    });
    ui.separator();
    ui.heading("Recording");
    egui::Grid::new("recording").num_columns(2).show(ui, |ui| {
        let file = study.path.file_name().map_or_else(
            || study.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        row(ui, "Source file", &file);
        row(ui, "Format", &rec.provenance.format);
        row(
            ui,
            "Original rate",
            &format!("{} Hz", rec.provenance.original_sample_rate_hz),
        );
        row(ui, "Duration", &format!("{:.1} s", rec.duration_s()));
        row(ui, "Leads", &rec.leads.len().to_string());
        if let Some(device) = &rec.provenance.device {
            row(ui, "Device", device);
        }
        if let Some(filters) = &rec.provenance.device_filters {
            row(ui, "Device filters", filters);
        }
    });
    let missing = rec.missing_standard_leads();
    if !missing.is_empty() {
        let names: Vec<_> = missing.iter().map(|l| l.label()).collect();
        ui.label(
            RichText::new(format!("Missing leads: {}", names.join(", "))).color(theme::MISSING),
        );
    }
    for note in &rec.provenance.notes {
        ui.label(RichText::new(note).small());
    }
    if let Some(beats) = rec.median_beats.as_ref().filter(|b| !b.is_empty()) {
        egui::CollapsingHeader::new("Device median beats (from the file)")
            .default_open(false)
            .show(ui, |ui| median_beat::device_median_beats_ui(ui, beats));
    }
    ui.separator();
    if let Some(a) = &study.analysis {
        if a.anomaly.is_some() {
            commands.extend(analysis::analysis_panel_ui(
                ui,
                a,
                &study.findings,
                app.settings.compare,
                app.engine().score_reference(),
            ));
            ui.separator();
        } else {
            ui.label(
                RichText::new(format!(
                    "Anomaly model: {}",
                    a.model_status
                        .as_deref()
                        .unwrap_or(&app.engine().model_status)
                ))
                .small(),
            );
        }
    }
    commands.extend(measurements_ui(
        ui,
        study
            .analysis
            .as_ref()
            .and_then(|a| a.measurements.as_ref()),
        study.analysis.as_ref().map_or(&[], |a| a.edited.as_slice()),
        app.busy().is_some(),
    ));
    ui.separator();
    ui.heading("Display");
    ui.label(format!(
        "{} mm/s · {} mm/mV · {}",
        app.settings.speed_mm_per_s,
        app.settings.gain_mm_per_mv,
        app.settings.filters.label()
    ));
    if app.paper.caliper_mode {
        ui.separator();
        ui.heading("Calipers");
        match app
            .paper
            .caliper
            .readout(app.settings.speed_mm_per_s, app.settings.gain_mm_per_mv)
        {
            Some(r) => {
                ui.label(paper::readout_text(&r));
                if ui.small_button("Clear caliper").clicked() {
                    commands.push(Command::ClearCaliper);
                }
            }
            None => {
                ui.label("Click two points on the tracing.");
            }
        }
    }
    if !rec.device_findings.measurements.is_empty() || !rec.device_findings.statements.is_empty() {
        ui.separator();
        ui.heading("Device measurements");
        ui.label(RichText::new("As reported by the acquiring device, not by ecgscope").small());
        egui::Grid::new("device").num_columns(2).show(ui, |ui| {
            for (k, v) in &rec.device_findings.measurements {
                row(ui, k, v);
            }
        });
        for s in &rec.device_findings.statements {
            ui.label(s);
        }
    }
    commands
}

/// Measured intervals and axes ("—" with the reason on hover when not measurable).
fn measurements_ui(
    ui: &mut egui::Ui,
    m: Option<&Measurements>,
    edited: &[ecgcore::review::Edited],
    busy: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal(|ui| {
        ui.heading("Measurements");
        if m.is_some()
            && ui
                .small_button("Review…")
                .on_hover_text("Correct R-R, PR, QRS or QT on the median beat")
                .clicked()
        {
            commands.push(Command::ShowReview(true));
        }
    });
    let Some(m) = m else {
        ui.label(if busy {
            "Measuring…"
        } else {
            "Not available"
        });
        return commands;
    };
    let reason = |key: Quantity| m.reason(key).map(str::to_string);
    egui::Grid::new("measurements")
        .num_columns(2)
        .show(ui, |ui| {
            let rows: [(&str, Quantity, Option<f32>, &str); 11] = [
                (
                    "Heart rate",
                    Quantity::HeartRateBpm,
                    m.heart_rate_bpm,
                    "bpm",
                ),
                ("RR", Quantity::RrMs, m.rr_ms, "ms"),
                ("PR", Quantity::PrMs, m.pr_ms, "ms"),
                ("P duration", Quantity::PMs, m.p_ms, "ms"),
                ("QRS", Quantity::QrsMs, m.qrs_ms, "ms"),
                ("QT", Quantity::QtMs, m.qt_ms, "ms"),
                ("QTc Bazett", Quantity::QtcBazettMs, m.qtc_bazett_ms, "ms"),
                (
                    "QTc Fridericia",
                    Quantity::QtcFridericiaMs,
                    m.qtc_fridericia_ms,
                    "ms",
                ),
                ("P axis", Quantity::PAxisDeg, m.p_axis_deg, "°"),
                ("QRS axis", Quantity::QrsAxisDeg, m.qrs_axis_deg, "°"),
                ("T axis", Quantity::TAxisDeg, m.t_axis_deg, "°"),
            ];
            for (name, key, value, unit) in rows {
                ui.label(RichText::new(name).weak());
                let corrected = edited.iter().find(|e| e.quantity == key);
                if let (Some(v), Some(e)) = (value, corrected) {
                    let automatic = e
                        .automatic
                        .map_or_else(|| "—".to_string(), |a| format!("{a:.0} {unit}"));
                    ui.label(RichText::new(format!("{v:.0} {unit} (edited)")).color(theme::FLAG))
                        .on_hover_text(format!("Corrected by the reader; automatic: {automatic}"));
                } else if let Some(v) = value {
                    ui.label(format!("{v:.0} {unit}"));
                } else {
                    let why = reason(key).unwrap_or_else(|| "not measurable".into());
                    ui.label("—").on_hover_text(why);
                }
                ui.end_row();
            }
        });
    ui.label(
        RichText::new(format!(
            "{} beats, {} dominant",
            m.n_beats, m.n_dominant_beats
        ))
        .small(),
    );
    egui::CollapsingHeader::new("Median beat and fiducials")
        .default_open(true)
        .show(ui, |ui| median_beat::median_beat_ui(ui, m));
    commands
}

fn row(ui: &mut egui::Ui, key: &str, value: &str) {
    ui.label(RichText::new(key).weak());
    ui.label(value);
    ui.end_row();
}

/// Versions: app, model weights, LibTorch, device.
fn about_window_ui(ctx: &egui::Context, app: &EcgApp) -> Vec<Command> {
    let mut open = true;
    egui::Window::new("About ecgscope").open(&mut open).show(ctx, |ui| {
        ui.label(format!("ecgscope {}", crate::VERSION));
        ui.label("A 12-lead ECG viewer with a local anomaly model. Decision support, not a diagnosis.");
        ui.label("Everything runs on this computer; no data leaves it.");
        ui.separator();
        egui::Grid::new("about").num_columns(2).show(ui, |ui| {
            row(ui, "LibTorch", crate::LIBTORCH_VERSION);
            let (weights, device) = app.engine().about_summary();
            row(ui, "Model weights", &weights);
            row(ui, "Device", &device);
        });
    });
    if open {
        Vec::new()
    } else {
        vec![Command::ShowAbout(false)]
    }
}

/// A 100 mm ruler; the user measures it on screen and enters what they measured.
fn calibration_window_ui(ctx: &egui::Context, calibration: f32) -> Vec<Command> {
    let mut commands = Vec::new();
    let mut open = true;
    egui::Window::new("Screen calibration")
        .open(&mut open)
        .show(ctx, |ui| {
            ui.label("Hold a ruler against the bar below. It should be exactly 100 mm long.");
            let pt_per_mm = paper::POINTS_PER_MM_NOMINAL * calibration;
            let (rect, _) =
                ui.allocate_exact_size(egui::vec2(100.0 * pt_per_mm, 24.0), egui::Sense::hover());
            let painter = ui.painter_at(rect);
            painter.rect_filled(rect, 0.0, theme::PAPER);
            for mm in 0..=100 {
                let x = rect.min.x + mm as f32 * pt_per_mm;
                let h = if mm % 10 == 0 {
                    24.0
                } else if mm % 5 == 0 {
                    14.0
                } else {
                    8.0
                };
                painter.line_segment(
                    [egui::pos2(x, rect.min.y), egui::pos2(x, rect.min.y + h)],
                    egui::Stroke::new(1.0, theme::TRACE),
                );
            }
            ui.horizontal(|ui| {
                ui.label("Measured length (mm):");
                let mut measured = 100.0 * 1.0f32;
                let id = ui.scope_id().with("measured_mm");
                measured = ui.data_mut(|d| *d.get_temp_mut_or(id, measured));
                if ui
                    .add(
                        egui::DragValue::new(&mut measured)
                            .range(25.0..=400.0)
                            .speed(0.5),
                    )
                    .changed()
                {
                    ui.data_mut(|d| d.insert_temp(id, measured));
                }
                if ui.button("Apply").clicked() {
                    commands.push(Command::SetScreenCalibration(
                        calibration * 100.0 / measured,
                    ));
                    ui.data_mut(|d| d.insert_temp(id, 100.0f32));
                }
            });
            ui.label(format!("Current correction: ×{calibration:.3}"));
            if ui.button("Reset to operating-system scale").clicked() {
                commands.push(Command::SetScreenCalibration(1.0));
            }
        });
    if !open {
        commands.push(Command::ShowCalibrationWindow(false));
    }
    commands
}
