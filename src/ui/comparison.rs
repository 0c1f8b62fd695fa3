//! The serial comparison view: today's study against a prior ECG of the patient — what
//! changed in words, the measurements side by side with their changes, both models' scores,
//! the median beats of every lead overlaid (aligned on QRS onset) and the two lead II
//! rhythm strips one above the other, each with its anomaly-likelihood bands, on the same
//! paper geometry (25 mm/s, 10 mm/mV at the screen's calibrated millimetre).

use super::theme;
use crate::app::{Command, Prior};
use ecgcore::analysis::Analysis;
use ecgcore::dsp::measurements::Measurements;
use ecgcore::StandardLead;
use ecgsession::comparison::{Change, Comparison};
use ecgsession::wording::{number, DASH};
use egui::{Color32, Pos2, Rect, RichText, Stroke};

fn file_name(p: &std::path::Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The bar above the tracing while priors are open: switch views, pick the prior to
/// compare with, close it.
pub fn prior_bar_ui(
    ui: &mut egui::Ui,
    priors: &[Prior],
    selected: usize,
    showing: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal(|ui| {
        if ui.selectable_label(!showing, "Tracing").clicked() {
            commands.push(Command::ShowComparison(false));
        }
        if ui
            .selectable_label(showing, "Comparison with prior")
            .clicked()
        {
            commands.push(Command::ShowComparison(true));
        }
        let mut chosen = selected;
        egui::ComboBox::from_label("is the prior shown")
            .selected_text(
                priors
                    .get(selected)
                    .map_or_else(String::new, |p| file_name(&p.path)),
            )
            .show_ui(ui, |ui| {
                for (i, p) in priors.iter().enumerate() {
                    ui.selectable_value(&mut chosen, i, file_name(&p.path));
                }
            });
        if chosen != selected {
            commands.push(Command::SelectPrior(chosen));
            commands.push(Command::ShowComparison(true));
        }
        if ui
            .small_button("Close prior")
            .on_hover_text("Stop comparing with this prior ECG")
            .clicked()
        {
            commands.push(Command::ClosePrior);
        }
    });
    commands
}

/// The comparison itself (with the trend when more than one prior is open).
pub fn comparison_ui(
    ui: &mut egui::Ui,
    current: Option<&Analysis>,
    prior: &Prior,
    priors: &[Prior],
    mm: f32,
) {
    let (Some(current), Some(c)) = (current, prior.comparison.as_ref()) else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Comparing once the current study is analysed…");
        });
        return;
    };
    egui::ScrollArea::vertical()
        .id_salt("comparison")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            header_ui(ui, c);
            ui.add_space(6.0);
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| table_ui(ui, c));
                ui.add_space(24.0);
                ui.vertical(|ui| summary_ui(ui, c));
            });
            if priors.len() > 1 {
                ui.add_space(8.0);
                trend_ui(ui, current, priors);
            }
            ui.add_space(8.0);
            ui.label(
                RichText::new("Median beats, aligned on QRS onset: current black, prior blue")
                    .small(),
            );
            beats_ui(ui, current, &prior.analysis, mm);
            ui.add_space(8.0);
            ui.label(RichText::new("Lead II rhythm: current above, prior below").small());
            strip_ui(ui, current, theme::TRACE, mm, "II, current");
            strip_ui(ui, &prior.analysis, theme::PRIOR, mm, "II, prior");
        });
}

fn header_ui(ui: &mut egui::Ui, c: &Comparison) {
    let side = |s: &ecgsession::comparison::Side| {
        format!(
            "{} · acquired {} · {} · {:.0} Hz, {:.1} s",
            s.name,
            s.acquisition_time.as_deref().unwrap_or("not recorded"),
            s.format,
            s.sample_rate_hz,
            s.duration_s
        )
    };
    ui.label(RichText::new(format!("Current: {}", side(&c.current))).strong());
    let prior = match &c.interval {
        Some(i) => format!("Prior: {} ({i} earlier)", side(&c.prior)),
        None => format!("Prior: {}", side(&c.prior)),
    };
    ui.label(RichText::new(prior).color(theme::PRIOR));
}

fn table_ui(ui: &mut egui::Ui, c: &Comparison) {
    egui::Grid::new("comparison-table")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            for h in ["", "Prior", "Current", "Change"] {
                ui.label(RichText::new(h).weak());
            }
            ui.end_row();
            for ch in &c.changes {
                change_row_ui(ui, ch);
            }
            for s in &c.scores {
                let name = s.method.split(" (").next().unwrap_or(&s.method);
                ui.label(format!("{name} score"));
                ui.label(RichText::new(number(s.prior)).color(theme::PRIOR));
                let colour = if s.current_borderline {
                    theme::BORDERLINE
                } else if s.current_abnormal {
                    theme::ABNORMAL
                } else {
                    theme::NORMAL
                };
                ui.label(RichText::new(number(s.current)).color(colour));
                ui.label(RichText::new(format!("threshold {}", number(s.threshold))).weak());
                ui.end_row();
            }
        });
}

fn change_row_ui(ui: &mut egui::Ui, ch: &Change) {
    let fmt = |v: Option<f32>, sign: bool| {
        v.map_or_else(
            || DASH.to_string(),
            |v| match (ch.unit, sign) {
                ("°", false) => format!("{v:.0}°"),
                ("°", true) => format!("{v:+.0}°"),
                (u, false) => format!("{v:.0} {u}"),
                (u, true) => format!("{v:+.0} {u}"),
            },
        )
    };
    ui.label(ch.label);
    ui.label(RichText::new(fmt(ch.prior, false)).color(theme::PRIOR));
    ui.label(fmt(ch.current, false));
    let delta = RichText::new(fmt(ch.delta, true));
    ui.label(if ch.notable {
        delta.color(theme::ABNORMAL).strong()
    } else {
        delta
    });
    ui.end_row();
}

fn summary_ui(ui: &mut egui::Ui, c: &Comparison) {
    ui.label(RichText::new("What changed").strong());
    let notable = c.any_notable();
    for line in &c.summary {
        let text = RichText::new(format!("• {line}"));
        ui.label(if notable && !line.starts_with("Not compared") {
            text.color(theme::ABNORMAL)
        } else {
            text
        });
    }
    for line in &c.caveats {
        ui.label(RichText::new(line).small().weak());
    }
}

/// Time shown before QRS onset in a beat cell (s).
const BEFORE_S: f32 = 0.3;
/// Beat cell: seconds wide, millivolts tall.
const CELL_S: f32 = 1.0;
const CELL_MV: f32 = 3.5;

fn paper(painter: &egui::Painter, rect: Rect, mm: f32) {
    painter.rect_filled(rect, 0.0, theme::PAPER);
    let step = mm * 5.0;
    if step < 3.0 {
        return;
    }
    let mut x = rect.min.x;
    while x <= rect.max.x {
        painter.line_segment(
            [Pos2::new(x, rect.min.y), Pos2::new(x, rect.max.y)],
            Stroke::new(1.0, theme::GRID_MAJOR.gamma_multiply(0.6)),
        );
        x += step;
    }
    let mut y = rect.min.y;
    while y <= rect.max.y {
        painter.line_segment(
            [Pos2::new(rect.min.x, y), Pos2::new(rect.max.x, y)],
            Stroke::new(1.0, theme::GRID_MAJOR.gamma_multiply(0.6)),
        );
        y += step;
    }
}

fn beats_ui(ui: &mut egui::Ui, current: &Analysis, prior: &Analysis, mm: f32) {
    let (w, h) = (CELL_S * 25.0 * mm, CELL_MV * 10.0 * mm);
    let cols = 6;
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(w * cols as f32, h * 2.0), egui::Sense::hover());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::accesskit::Role::Figure, true, "Median beats overlaid")
    });
    let painter = ui.painter_at(rect);
    paper(&painter, rect, mm);
    for (k, lead) in StandardLead::ALL.iter().enumerate() {
        let cell = Rect::from_min_size(
            rect.min + egui::vec2((k % cols) as f32 * w, (k / cols) as f32 * h),
            egui::vec2(w, h),
        );
        painter.rect_stroke(
            cell,
            0.0,
            Stroke::new(1.0, theme::GRID_MAJOR),
            egui::StrokeKind::Inside,
        );
        for (a, colour) in [(prior, theme::PRIOR), (current, theme::TRACE)] {
            if let Some(m) = &a.measurements {
                beat_line(&painter, cell, m, *lead, mm, colour);
            }
        }
        painter.text(
            cell.min + egui::vec2(4.0, 2.0),
            egui::Align2::LEFT_TOP,
            lead.label(),
            egui::FontId::proportional(12.0),
            theme::LABEL,
        );
    }
}

fn beat_line(
    painter: &egui::Painter,
    cell: Rect,
    m: &Measurements,
    lead: StandardLead,
    mm: f32,
    colour: Color32,
) {
    let Some(b) = ecgcore::dsp::leadwise::aligned_beat(m, lead) else {
        return;
    };
    let (x, on, level, fs) = (
        b.samples_mv,
        b.qrs_onset,
        b.level_mv,
        b.sample_rate_hz as f32,
    );
    let base = cell.min.y + cell.height() * 0.62;
    let pts: Vec<Pos2> = x
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let t = (i as f32 - on as f32) / fs + BEFORE_S;
            ((0.0..=CELL_S).contains(&t) && v.is_finite()).then(|| {
                Pos2::new(
                    cell.min.x + t * 25.0 * mm,
                    (base - (v - level) * 10.0 * mm).clamp(cell.min.y, cell.max.y),
                )
            })
        })
        .collect();
    if pts.len() > 1 {
        painter.add(egui::Shape::line(pts, Stroke::new(1.4, colour)));
    }
}

fn strip_ui(ui: &mut egui::Ui, a: &Analysis, colour: Color32, mm: f32, label: &str) {
    let seconds = 10.0_f32;
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(seconds * 25.0 * mm, 25.0 * mm),
        egui::Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    paper(&painter, rect, mm);
    painter.text(
        rect.min + egui::vec2(4.0, 2.0),
        egui::Align2::LEFT_TOP,
        label,
        egui::FontId::proportional(12.0),
        colour,
    );
    let rec = &a.recording;
    let Some(lead) = rec.lead(StandardLead::II) else {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "lead II not in the file",
            egui::FontId::proportional(12.0),
            theme::MISSING,
        );
        return;
    };
    let fs = rec.sample_rate_hz as f32;
    let n = ((seconds * fs) as usize).min(lead.samples_mv.len());
    let median = lead.median_of_first(n).unwrap_or(0.0);
    let base = rect.min.y + rect.height() * 0.62;
    // About two points per pixel.
    let step = ((fs / (25.0 * mm * 2.0)).floor() as usize).max(1);
    let at = |i: usize| {
        let v = lead.samples_mv[i];
        v.is_finite().then(|| {
            Pos2::new(
                rect.min.x + i as f32 / fs * 25.0 * mm,
                (base - (v - median) * 10.0 * mm).clamp(rect.min.y, rect.max.y),
            )
        })
    };
    // The study's anomaly likelihood as bands under the trace (as on the paper view).
    let map = a.anomaly.as_ref().and_then(|o| {
        let k = o
            .leads
            .iter()
            .position(|l| StandardLead::from_name(l) == Some(StandardLead::II))?;
        Some((o.map.get(k)?, o.map_rate_hz))
    });
    if let Some((map, rate)) = map {
        let likelihood = |i: usize| {
            map.get((i as f64 * rate / f64::from(fs)).round() as usize)
                .copied()
                .filter(|p| *p >= 0.3)
        };
        for i in (step..n).step_by(step) {
            if let (Some(p), Some(a), Some(b)) = (likelihood(i), at(i - step), at(i)) {
                painter.line_segment([a, b], Stroke::new(6.0, theme::likelihood_colour(p, 0.8)));
            }
        }
    }
    let pts: Vec<Pos2> = (0..n).step_by(step).filter_map(at).collect();
    if pts.len() > 1 {
        painter.add(egui::Shape::line(pts, Stroke::new(1.2, colour)));
    }
}

/// The trend over the priors and the current study: our score, and HR, PR, QRS and QTc.
/// Ordered by acquisition time when every study states one, else in the order opened.
fn trend_ui(ui: &mut egui::Ui, current: &Analysis, priors: &[Prior]) {
    use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
    let mut studies: Vec<(&Analysis, String)> = priors
        .iter()
        .map(|p| (&p.analysis, file_name(&p.path)))
        .collect();
    studies.push((current, "current".to_string()));
    let times: Option<Vec<String>> = studies
        .iter()
        .map(|(a, _)| a.recording.provenance.acquisition_time.clone())
        .collect();
    let by_time = times.is_some();
    if let Some(times) = &times {
        let mut order: Vec<usize> = (0..studies.len()).collect();
        order.sort_by(|a, b| times[*a].cmp(&times[*b]));
        studies = order.into_iter().map(|i| studies[i].clone()).collect();
    }
    let names: Vec<String> = studies.iter().map(|(_, n)| n.clone()).collect();
    ui.label(
        RichText::new(if by_time {
            "Trend, in order of acquisition"
        } else {
            "Trend, in the order opened (not every study states when it was recorded)"
        })
        .strong(),
    );
    let series = |f: fn(&Analysis) -> Option<f32>| -> Vec<[f64; 2]> {
        studies
            .iter()
            .enumerate()
            .filter_map(|(i, (a, _))| f(a).map(|v| [i as f64, f64::from(v)]))
            .collect()
    };
    type Get = fn(&Analysis) -> Option<f32>;
    let intervals: [(&str, Get, Color32); 4] = [
        (
            "HR (bpm)",
            |a| a.measurements.as_ref()?.heart_rate_bpm,
            theme::CURSOR,
        ),
        (
            "PR (ms)",
            |a| a.measurements.as_ref()?.pr_ms,
            theme::CALIPER,
        ),
        (
            "QRS (ms)",
            |a| a.measurements.as_ref()?.qrs_ms,
            theme::LABEL,
        ),
        (
            "QTc Bazett (ms)",
            |a| a.measurements.as_ref()?.qtc_bazett_ms,
            theme::FLAG,
        ),
    ];
    let x_names = names.clone();
    let formatter = move |mark: egui_plot::GridMark, _: &std::ops::RangeInclusive<f64>| {
        let i = mark.value.round();
        if (mark.value - i).abs() > 1e-6 || i < 0.0 || i as usize >= x_names.len() {
            String::new()
        } else {
            x_names[i as usize].clone()
        }
    };
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.set_width(420.0);
            Plot::new("trend-intervals")
                .height(170.0)
                .legend(Legend::default())
                .allow_scroll(false)
                .x_axis_formatter(formatter.clone())
                .show(ui, |plot| {
                    for (name, get, colour) in intervals {
                        let pts = series(get);
                        plot.line(Line::new(name, PlotPoints::from(pts.clone())).color(colour));
                        plot.points(
                            Points::new(name, PlotPoints::from(pts))
                                .color(colour)
                                .radius(3.0),
                        );
                    }
                })
                .response
                .widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::accesskit::Role::Figure,
                        true,
                        "Trend of intervals",
                    )
                });
        });
        ui.vertical(|ui| {
            ui.set_width(320.0);
            let get: Get = |a| a.anomaly.as_ref().map(|o| o.score);
            let pts = series(get);
            let threshold = current.anomaly.as_ref().map(|o| o.threshold);
            Plot::new("trend-score")
                .height(170.0)
                .legend(Legend::default())
                .allow_scroll(false)
                .x_axis_formatter(formatter)
                .show(ui, |plot| {
                    plot.line(
                        Line::new("our score", PlotPoints::from(pts.clone()))
                            .color(theme::ABNORMAL),
                    );
                    plot.points(
                        Points::new("our score", PlotPoints::from(pts))
                            .color(theme::ABNORMAL)
                            .radius(3.0),
                    );
                    if let Some(t) = threshold {
                        plot.hline(
                            egui_plot::HLine::new("threshold", f64::from(t)).color(Color32::GRAY),
                        );
                    }
                })
                .response
                .widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::accesskit::Role::Figure,
                        true,
                        "Trend of scores",
                    )
                });
        });
    });
}
