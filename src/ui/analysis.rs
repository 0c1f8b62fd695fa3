//! The model's findings beside the tracing: the study verdict (score against threshold,
//! plain words, per-lead scores), the predicted-vs-actual table, the baseline method's
//! verdict for comparison, and the most anomalous segments (click to jump there).
//!
//! Colours come from `theme`; the likelihood ramp is the PDF report's
//! (`ecgreport::likelihood_colour`), so screen and paper agree.

use super::theme;
use crate::app::Command;
use ecgcore::analysis::{Analysis, ModelOutput};
use ecgcore::Sex;
use egui::{RichText, Stroke};

/// "outside/within the range of the N normal ECGs the model learned from".
pub fn verdict_words(o: &ModelOutput) -> String {
    let n = o.n_training_normals;
    if o.abnormal {
        format!("Outside the range of the {n} normal ECGs the model learned from")
    } else {
        format!("Within the range of the {n} normal ECGs the model learned from")
    }
}

/// Score against threshold as a bar, with the verdict in words.
pub fn verdict_ui(ui: &mut egui::Ui, title: &str, o: &ModelOutput) {
    ui.label(RichText::new(title).strong());
    let colour = if o.abnormal {
        theme::ABNORMAL
    } else {
        theme::NORMAL
    };
    ui.label(RichText::new(verdict_words(o)).color(colour));
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
    let tx = rect.min.x + rect.width() * (o.threshold / scale_max).clamp(0.0, 1.0);
    painter.line_segment(
        [
            egui::pos2(tx, rect.min.y - 2.0),
            egui::pos2(tx, rect.max.y + 2.0),
        ],
        Stroke::new(2.0, ui.visuals().strong_text_color()),
    );
    response.on_hover_text(
        "Bar: anomaly score; line: threshold (90 % of abnormal validation ECGs lie above it)",
    );
    ui.label(format!(
        "score {} · threshold {} · {}",
        ecgreport::wording::number(o.score),
        ecgreport::wording::number(o.threshold),
        o.device
    ));
    if let Some(note) = &o.note {
        ui.label(RichText::new(note).small().weak());
    }
}

/// Per-lead scores as a small bar chart (the highest lead full width).
pub fn lead_scores_ui(ui: &mut egui::Ui, o: &ModelOutput) {
    let max = o
        .lead_scores
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f32::EPSILON, f32::max);
    egui::Grid::new(("lead_scores", &o.method))
        .num_columns(2)
        .spacing([6.0, 1.0])
        .show(ui, |ui| {
            for (name, score) in o.leads.iter().zip(&o.lead_scores) {
                ui.label(RichText::new(name).small());
                let (rect, _) =
                    ui.allocate_exact_size(egui::vec2(140.0, 8.0), egui::Sense::hover());
                let frac = if score.is_finite() {
                    (score / max).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let [r, g, b] = ecgreport::likelihood_colour(frac);
                ui.painter().rect_filled(
                    egui::Rect::from_min_size(
                        rect.min,
                        egui::vec2(rect.width() * frac, rect.height()),
                    ),
                    1.0,
                    egui::Color32::from_rgb(r, g, b),
                );
                ui.end_row();
            }
        });
}

/// One row of the predicted-vs-actual table.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeRow {
    pub name: &'static str,
    pub actual: Option<String>,
    pub predicted: Option<String>,
    /// |predicted − actual| larger than normal ECGs show (95th percentile on validation).
    pub flagged: bool,
}

/// Age and sex (from the file) and HR, PR, QRS, QT, QTc (measured) vs predicted.
pub fn attribute_rows(a: &Analysis) -> Vec<AttributeRow> {
    let pred = a
        .anomaly
        .as_ref()
        .and_then(|o| o.predicted.clone())
        .unwrap_or_default();
    let spread = a
        .anomaly
        .as_ref()
        .and_then(|o| o.normal_spread.clone())
        .unwrap_or_default();
    let m = a.measurements.clone().unwrap_or_default();
    let num = |name,
               actual: Option<f32>,
               predicted: Option<f32>,
               limit: Option<f32>,
               unit: &str| AttributeRow {
        name,
        actual: actual.map(|v| format!("{v:.0} {unit}")),
        predicted: predicted.map(|v| format!("{v:.0} {unit}")),
        flagged: matches!((actual, predicted, limit), (Some(x), Some(p), Some(l)) if (x - p).abs() > l),
    };
    let sex_actual = a.recording.patient.sex;
    let female_p = pred.female_probability;
    vec![
        num(
            "Age",
            a.recording.patient.age_years,
            pred.age_years,
            spread.age_years,
            "y",
        ),
        AttributeRow {
            name: "Sex",
            actual: sex_actual.map(|s| {
                if s == Sex::Female {
                    "female".into()
                } else {
                    "male".into()
                }
            }),
            predicted: female_p.map(|p| {
                if p >= 0.5 {
                    format!("female ({:.0} %)", p * 100.0)
                } else {
                    format!("male ({:.0} %)", (1.0 - p) * 100.0)
                }
            }),
            // A confident prediction of the other sex.
            flagged: matches!((sex_actual, female_p), (Some(Sex::Female), Some(p)) if p < 0.1)
                || matches!((sex_actual, female_p), (Some(Sex::Male), Some(p)) if p > 0.9),
        },
        num(
            "Heart rate",
            m.heart_rate_bpm,
            pred.heart_rate_bpm,
            spread.heart_rate_bpm,
            "bpm",
        ),
        num("PR", m.pr_ms, pred.pr_ms, spread.pr_ms, "ms"),
        num("QRS", m.qrs_ms, pred.qrs_ms, spread.qrs_ms, "ms"),
        num("QT", m.qt_ms, pred.qt_ms, spread.qt_ms, "ms"),
        num("QTc", m.qtc_bazett_ms, pred.qtc_ms, spread.qtc_ms, "ms"),
    ]
}

/// The predicted-vs-actual table.
pub fn predicted_vs_actual_ui(ui: &mut egui::Ui, a: &Analysis) {
    ui.label(RichText::new("Predicted vs actual").strong());
    egui::Grid::new("predicted_vs_actual")
        .num_columns(3)
        .striped(true)
        .show(ui, |ui| {
            ui.label(RichText::new("").weak());
            ui.label(RichText::new("actual").weak());
            ui.label(RichText::new("predicted").weak());
            ui.end_row();
            for row in attribute_rows(a) {
                ui.label(row.name);
                ui.label(row.actual.as_deref().unwrap_or("—"));
                let predicted = row.predicted.as_deref().unwrap_or("—");
                if row.flagged {
                    ui.label(
                        RichText::new(format!("{predicted} !"))
                            .color(theme::FLAG)
                            .strong(),
                    )
                    .on_hover_text("The gap is larger than 95 % of normal validation ECGs show");
                } else {
                    ui.label(predicted);
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

/// Derived from an analysis once when it arrives (not per frame): the most anomalous
/// segments of our map and where our map and the baseline's disagree most.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub segments: Vec<ecgreport::AnomalousSegment>,
    pub disagreement: Vec<(String, f32)>,
}

impl Findings {
    pub fn of(a: &Analysis) -> Findings {
        let Some(ours) = &a.anomaly else {
            return Findings::default();
        };
        Findings {
            segments: ecgreport::most_anomalous_segments(
                ours,
                a.measurements.as_ref(),
                a.recording.sample_rate_hz,
                8,
            ),
            disagreement: a
                .baseline
                .as_ref()
                .map(|b| disagreement(ours, b))
                .unwrap_or_default(),
        }
    }
}

/// The most anomalous segments; clicking one jumps there.
pub fn segments_ui(ui: &mut egui::Ui, segments: &[ecgreport::AnomalousSegment]) -> Vec<Command> {
    let mut commands = Vec::new();
    if segments.is_empty() {
        ui.label(ecgreport::nothing_listed_text());
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

/// Where our map and the baseline's disagree most (lead, mean |difference|).
pub fn disagreement(ours: &ModelOutput, baseline: &ModelOutput) -> Vec<(String, f32)> {
    let mut out: Vec<(String, f32)> = ours
        .leads
        .iter()
        .zip(&ours.map)
        .filter_map(|(name, m)| {
            let j = baseline.leads.iter().position(|l| l == name)?;
            let b = baseline.map.get(j)?;
            let n = m.len().min(b.len());
            if n == 0 {
                return None;
            }
            let d = m
                .iter()
                .zip(b)
                .take(n)
                .map(|(x, y)| (x - y).abs())
                .sum::<f32>()
                / n as f32;
            Some((name.clone(), d))
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// The panel shown when an analysis with model outputs is ready.
pub fn analysis_panel_ui(
    ui: &mut egui::Ui,
    a: &Analysis,
    findings: &Findings,
    compare: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let Some(ours) = &a.anomaly else {
        return commands;
    };
    ui.heading("Anomaly model");
    verdict_ui(ui, &ours.method, ours);
    egui::CollapsingHeader::new("Per-lead scores")
        .default_open(false)
        .show(ui, |ui| lead_scores_ui(ui, ours));
    if let Some(b) = &a.baseline {
        ui.add_space(4.0);
        verdict_ui(ui, &b.method, b);
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
    predicted_vs_actual_ui(ui, a);
    ui.separator();
    ui.label(RichText::new("Most anomalous segments").strong());
    commands.extend(segments_ui(ui, &findings.segments));
    commands
}
