//! The model's findings beside the tracing: the study verdict (score against threshold,
//! plain words, per-lead scores), the predicted-vs-actual table, the baseline method's
//! verdict for comparison, and the most anomalous segments (click to jump there).
//!
//! Every word and flag comes from `ecgsession::StudyFindings`, derived once per analysis
//! and rendered alike by the PDF and `analyze --json`. Colours come from `theme`; the
//! likelihood ramp is `ecgsession::ramp`, as on paper.

use super::theme;
use crate::app::Command;
use ecgcore::analysis::{Analysis, ModelOutput};
use ecgsession::segments::AnomalousSegment;
use ecgsession::wording::Tone;
use ecgsession::{MethodFindings, StudyFindings};
use egui::{RichText, Stroke};

/// Score against threshold as a bar, with the verdict in words.
pub fn verdict_ui(ui: &mut egui::Ui, o: &ModelOutput, said: &MethodFindings) {
    ui.label(RichText::new(&said.method).strong());
    let colour = match said.tone {
        Tone::Abnormal => theme::ABNORMAL,
        Tone::Borderline => theme::BORDERLINE,
        Tone::Normal => theme::NORMAL,
    };
    ui.label(RichText::new(&said.verdict).color(colour));
    // Bar: the threshold sits at 50 % of the width; the score is placed on a scale
    // running to twice the threshold.
    let width = ui.available_width().min(260.0);
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, 14.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let scale_max = (2.0 * o.threshold).max(o.score).max(f32::EPSILON);
    let frac = (o.score / scale_max).clamp(0.0, 1.0);
    let filled =
        egui::Rect::from_min_size(rect.min, egui::vec2(rect.width() * frac, rect.height()));
    painter.rect_filled(filled, 2.0, colour);
    // The borderline band around the threshold, faint behind the threshold's line.
    if o.borderline_margin > 0.0 && o.borderline_margin.is_finite() {
        let at = |v: f32| rect.min.x + rect.width() * (v / scale_max).clamp(0.0, 1.0);
        let band = egui::Rect::from_x_y_ranges(
            at(o.threshold - o.borderline_margin)..=at(o.threshold + o.borderline_margin),
            rect.y_range(),
        );
        painter.rect_filled(band, 0.0, theme::BORDERLINE.gamma_multiply(0.25));
    }
    let tx = rect.min.x + rect.width() * (o.threshold / scale_max).clamp(0.0, 1.0);
    painter.line_segment(
        [
            egui::pos2(tx, rect.min.y - 2.0),
            egui::pos2(tx, rect.max.y + 2.0),
        ],
        Stroke::new(2.0, ui.visuals().strong_text_color()),
    );
    response.on_hover_text(
        "Bar: anomaly score; line: threshold (90 % of abnormal validation ECGs lie above it); \
         shaded: the borderline band, where noise too small to see can turn the verdict",
    );
    ui.label(format!("{} · {}", said.score_line, o.device));
    if let Some(note) = &said.borderline_note {
        ui.label(RichText::new(note).small().color(theme::BORDERLINE));
    }
    if let Some(note) = &said.note {
        ui.label(RichText::new(note).small().weak());
    }
}

/// Per-lead scores as a horizontal bar chart (egui_plot), coloured by their share of the
/// highest.
pub fn lead_scores_ui(ui: &mut egui::Ui, o: &ModelOutput) {
    use egui_plot::{Bar, BarChart, Plot};
    let max = o
        .lead_scores
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f32::EPSILON, f32::max);
    let n = o.leads.len();
    // First lead at the top.
    let bars: Vec<Bar> = o
        .leads
        .iter()
        .zip(&o.lead_scores)
        .enumerate()
        .map(|(i, (name, score))| {
            let v = if score.is_finite() { *score } else { 0.0 };
            let [r, g, b] = ecgsession::ramp::likelihood_colour((v / max).clamp(0.0, 1.0));
            Bar::new((n - 1 - i) as f64, f64::from(v))
                .name(name)
                .fill(egui::Color32::from_rgb(r, g, b))
                .width(0.7)
        })
        .collect();
    let names = o.leads.clone();
    Plot::new(("lead-scores", &o.method))
        .height(16.0 * n as f32 + 24.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .show_grid(false)
        .y_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() > 1e-6 || i < 0.0 || i as usize >= names.len() {
                return String::new();
            }
            names[names.len() - 1 - i as usize].clone()
        })
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new("per-lead score", bars).horizontal());
        })
        .response
        .widget_info(|| {
            egui::WidgetInfo::labeled(egui::accesskit::Role::Figure, true, "Per-lead scores")
        });
}

/// Where this study's score falls among the validation ECGs' (normals green, abnormals red,
/// the threshold dashed), on an asinh axis that keeps both the normals' narrow range and the
/// abnormals' long tail readable.
pub fn score_placement_ui(
    ui: &mut egui::Ui,
    o: &ModelOutput,
    r: &ecgsession::reference::MethodReference,
) {
    use ecgsession::reference::{axis, density, from_axis, placement_text};
    use egui_plot::{Line, LineStyle, Plot, PlotPoints, Polygon, VLine};
    let t = r.threshold;
    // From the lowest percentile shown to the study's score or the abnormals' 99th
    // percentile, whichever is further.
    let lo = axis(r.normals[1].min(r.abnormals[1]).min(o.score), t);
    let hi = axis(r.abnormals[99].max(r.normals[99]).max(o.score), t);
    let (lo, hi) = (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo));
    let (normals, abnormals) = (
        density(&r.normals, t, lo, hi, 48),
        density(&r.abnormals, t, lo, hi, 48),
    );
    let top = normals
        .iter()
        .chain(&abnormals)
        .map(|p| p.1)
        .fold(0.0_f64, f64::max);
    let curve = |d: &[(f64, f64)]| -> PlotPoints<'static> {
        d.iter().map(|&(x, y)| [x, y]).collect::<Vec<_>>().into()
    };
    // The borderline band, where the study's verdict could go either way.
    let m = o.borderline_margin;
    let band = (m > 0.0 && m.is_finite() && top > 0.0).then(|| {
        let (a, b) = (axis(t - m, t), axis(t + m, t));
        Polygon::new(
            "borderline band",
            vec![[a, 0.0], [b, 0.0], [b, top], [a, top]],
        )
        .fill_color(theme::BORDERLINE.gamma_multiply(0.2))
        .stroke(egui::Stroke::NONE)
    });
    let this_study = ui.visuals().strong_text_color();
    Plot::new(("score-placement", &o.method))
        .height(110.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .show_y(false)
        .show_axes([true, false])
        .x_axis_formatter(move |mark, _| score_tick(from_axis(mark.value, t)))
        // A mark every two axis units (0, ≈ 3.6 × and ≈ 27 × the threshold, …).
        .x_grid_spacer(|input| {
            let (a, b) = input.bounds;
            ((a / 2.0).ceil() as i64..=(b / 2.0).floor() as i64)
                .map(|k| egui_plot::GridMark {
                    value: 2.0 * k as f64,
                    step_size: 2.0,
                })
                .collect()
        })
        .show(ui, |plot| {
            if let Some(band) = band {
                plot.polygon(band);
            }
            plot.line(
                Line::new("validation normals", curve(&normals))
                    .color(theme::NORMAL)
                    .fill(0.0)
                    .fill_alpha(0.25),
            );
            plot.line(
                Line::new("validation abnormals", curve(&abnormals))
                    .color(theme::ABNORMAL)
                    .fill(0.0)
                    .fill_alpha(0.25),
            );
            plot.vline(
                VLine::new("threshold", axis(r.threshold, t))
                    .color(egui::Color32::GRAY)
                    .style(LineStyle::dashed_loose()),
            );
            plot.vline(
                VLine::new("this study", axis(o.score, t))
                    .color(this_study)
                    .width(2.0),
            );
        })
        .response
        .widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::accesskit::Role::Figure,
                true,
                "Score distribution plot",
            )
        });
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        ui.label(
            RichText::new("validation normals")
                .small()
                .color(theme::NORMAL),
        );
        ui.label(RichText::new("abnormals").small().color(theme::ABNORMAL));
        ui.label(RichText::new("- - threshold").small().weak());
        if o.borderline_margin > 0.0 {
            ui.label(
                RichText::new("shaded: borderline")
                    .small()
                    .color(theme::BORDERLINE),
            );
        }
        ui.label(RichText::new("| this study").small().strong());
    });
    ui.label(RichText::new(placement_text(r, o.score)).small());
}

/// A score tick: three significant digits, no trailing noise.
pub fn score_tick(x: f64) -> String {
    ecgsession::wording::number(x as f32)
}

/// The predicted-vs-actual table (the PDF's columns, the same flags).
pub fn predicted_vs_actual_ui(ui: &mut egui::Ui, findings: &StudyFindings) {
    ui.label(RichText::new("Predicted vs actual").strong());
    egui::Grid::new("predicted_vs_actual")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            ui.label(RichText::new("").weak());
            ui.label(RichText::new("actual").weak());
            ui.label(RichText::new("predicted").weak());
            ui.label(RichText::new("gap").weak());
            ui.end_row();
            for col in &findings.attributes {
                ui.label(col.label);
                ui.label(&col.actual);
                ui.label(&col.predicted);
                if col.flagged {
                    ui.label(
                        RichText::new(format!("{} !", col.gap))
                            .color(theme::FLAG)
                            .strong(),
                    )
                    .on_hover_text(
                        "Larger than 95 % of normal validation ECGs show (sex: the other sex \
                         predicted at ≥ 90 %)",
                    );
                } else {
                    ui.label(&col.gap);
                }
                ui.end_row();
            }
        });
    ui.label(
        RichText::new(
            "Actual: age/sex from the file, intervals measured from the signal (QTc Bazett).",
        )
        .small(),
    );
}

/// The most anomalous segments; clicking one jumps there.
pub fn segments_ui(ui: &mut egui::Ui, said: &MethodFindings) -> Vec<Command> {
    let mut commands = Vec::new();
    let segments: &[AnomalousSegment] = &said.segments;
    if let Some(note) = &said.segments_note {
        ui.label(note);
    }
    for s in segments {
        let text = format!(
            "{:.2} s · {} · {} · {:.2}",
            s.peak_s,
            s.leads.join(", "),
            s.wave.label(),
            s.peak_likelihood
        );
        if ui.link(text).on_hover_text("Show on the tracing").clicked() {
            commands.push(Command::JumpTo {
                lead: s.leads.first().cloned().unwrap_or_default(),
                time_s: s.peak_s,
            });
        }
    }
    commands
}

/// The panel shown when an analysis with model outputs is ready.
pub fn analysis_panel_ui(
    ui: &mut egui::Ui,
    a: &Analysis,
    findings: &StudyFindings,
    compare: bool,
    reference: Option<&ecgsession::reference::ScoreReference>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let (Some(ours), Some(ours_said)) = (&a.anomaly, &findings.ours) else {
        return commands;
    };
    ui.heading("Anomaly model");
    verdict_ui(ui, ours, ours_said);
    // The reference holds full-recording scores: a paper page, scored against its own
    // threshold, is not placed on it.
    if let Some(r) = reference
        .and_then(|r| r.method(&ours.method))
        .filter(|r| (r.threshold - ours.threshold).abs() <= 1e-6 * r.threshold.abs().max(1.0))
    {
        egui::CollapsingHeader::new("Score among the validation ECGs")
            .default_open(true)
            .show(ui, |ui| score_placement_ui(ui, ours, r));
    }
    egui::CollapsingHeader::new("Per-lead scores")
        .default_open(false)
        .show(ui, |ui| lead_scores_ui(ui, ours));
    if let (Some(b), Some(b_said)) = (&a.baseline, &findings.baseline) {
        ui.add_space(4.0);
        verdict_ui(ui, b, b_said);
        if compare {
            let top: Vec<String> = findings
                .disagreement
                .iter()
                .take(3)
                .map(|(l, v)| format!("{l} ({v:.2})"))
                .collect();
            ui.label(format!("Maps disagree most in: {}", top.join(", ")));
        }
    }
    ui.label(
        RichText::new("Decision support, not a diagnosis.")
            .small()
            .italics(),
    );
    ui.separator();
    predicted_vs_actual_ui(ui, findings);
    ui.separator();
    ui.label(RichText::new("Most anomalous segments").strong());
    commands.extend(segments_ui(ui, ours_said));
    commands
}
