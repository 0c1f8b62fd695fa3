//! The two report pages: what goes where, in millimetres from the top-left corner.
//!
//! Page 1: header (patient, source), measurements row, the model's verdict and the
//! predicted-vs-actual table, the ECG (3×4 + II) with our model's likelihood bands, the
//! legend and the footer. Page 2: the same ECG with the baseline method's bands, both
//! methods' scores side by side and the most anomalous segments of each.

use crate::canvas::{Align, Canvas, TextStyle};
use crate::colour::{likelihood_colour, theme};
use crate::ecg::{draw_ecg, BAND_FROM, BAND_OPACITY};
use crate::layout::PageFrame;
use crate::ReportOptions;
use ecgcore::analysis::{Analysis, ModelOutput};
use ecgsession::segments::AnomalousSegment;
use ecgsession::wording::{self, DASH};
use ecgsession::{MethodFindings, StudyFindings};

const HEADER_Y: f32 = 9.5;
const SOURCE_Y: f32 = 14.0;
const MEASURE_Y: f32 = 19.5;
const BLOCK_Y: f32 = 25.0;
const LINE_MM: f32 = 3.6;
/// Where the right-hand table/list block starts, from the grid's left edge (mm).
const RIGHT_BLOCK_MM: f32 = 128.0;
/// Segments listed per method on page 2.
/// Segments printed per method (the first of the findings' list; the rest are counted).
const SEGMENTS_PRINTED: usize = 4;

/// Page 1.
pub(crate) fn draw_main_page(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    analysis: &Analysis,
    findings: &StudyFindings,
    options: &ReportOptions,
    page_count: usize,
) {
    draw_patient_header(canvas, frame, analysis, 1, page_count, "12-lead ECG report");
    draw_source_line(canvas, frame, analysis);
    draw_measurements(canvas, frame, analysis);
    draw_verdict(
        canvas,
        frame,
        analysis.anomaly.as_ref(),
        findings.ours.as_ref(),
    );
    draw_attribute_table(canvas, frame, analysis, findings);
    draw_ecg(
        canvas,
        frame,
        &analysis.recording,
        analysis.anomaly.as_ref(),
    );
    draw_legend(canvas, frame, analysis.anomaly.as_ref(), "model");
    draw_footer(canvas, frame, analysis, options);
}

/// Page 2: baseline comparison.
pub(crate) fn draw_baseline_page(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    analysis: &Analysis,
    findings: &StudyFindings,
    options: &ReportOptions,
    page_count: usize,
) {
    draw_patient_header(
        canvas,
        frame,
        analysis,
        2,
        page_count,
        "Baseline comparison",
    );
    let x = frame.grid_left_mm;
    let note = match &analysis.baseline {
        Some(b) => format!(
            "Traces below carry the bands of the baseline method ({}); page 1 carries ours.",
            method_name(b, "baseline")
        ),
        None => "Baseline method: not available (no baseline output) — traces drawn without bands."
            .to_string(),
    };
    canvas.text(x, SOURCE_Y, &note, TextStyle::new(7.5, theme::MUTED));
    let box_w = 60.0;
    draw_score_box(
        canvas,
        x,
        MEASURE_Y - 3.0,
        box_w,
        "Ours",
        analysis.anomaly.as_ref(),
        findings.ours.as_ref(),
    );
    draw_score_box(
        canvas,
        x + box_w + 3.0,
        MEASURE_Y - 3.0,
        box_w,
        "Baseline",
        analysis.baseline.as_ref(),
        findings.baseline.as_ref(),
    );
    let list_x = x + RIGHT_BLOCK_MM;
    let list_w = (crate::layout::GRID_WIDTH_MM - RIGHT_BLOCK_MM) / 2.0;
    draw_segment_list(
        canvas,
        list_x,
        MEASURE_Y - 1.0,
        "Ours",
        findings.ours.as_ref(),
    );
    draw_segment_list(
        canvas,
        list_x + list_w,
        MEASURE_Y - 1.0,
        "Baseline",
        findings.baseline.as_ref(),
    );
    draw_ecg(
        canvas,
        frame,
        &analysis.recording,
        analysis.baseline.as_ref(),
    );
    draw_legend(canvas, frame, analysis.baseline.as_ref(), "baseline");
    draw_footer(canvas, frame, analysis, options);
}

fn method_name(output: &ModelOutput, fallback: &str) -> String {
    if output.method.trim().is_empty() {
        fallback.to_string()
    } else {
        output.method.trim().to_string()
    }
}

pub(crate) fn draw_patient_header(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    analysis: &Analysis,
    page: usize,
    page_count: usize,
    title: &str,
) {
    let patient = &analysis.recording.patient;
    let y = HEADER_Y;
    let size = 9.0;
    let mut x = frame.grid_left_mm;
    let id = patient
        .id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("not recorded");
    let id = fit(canvas, id, size, 60.0);
    x = canvas.field(x, y, "Patient ID", &id, size, theme::INK) + 5.0;
    x = canvas.field(
        x,
        y,
        "Age",
        &wording::age_text(patient.age_years),
        size,
        theme::INK,
    ) + 5.0;
    x = canvas.field(
        x,
        y,
        "Sex",
        wording::sex_text(patient.sex),
        size,
        theme::INK,
    ) + 5.0;
    canvas.field(
        x,
        y,
        "Acquired",
        &wording::acquisition_text(analysis.recording.provenance.acquisition_time.as_deref()),
        size,
        theme::INK,
    );
    canvas.text(
        frame.grid_right_mm(),
        y,
        &format!("{title} · page {page} of {page_count}"),
        TextStyle::new(8.0, theme::MUTED).align(Align::Right),
    );
}

fn draw_source_line(canvas: &mut Canvas<'_, '_>, frame: &PageFrame, analysis: &Analysis) {
    let rec = &analysis.recording;
    let prov = &rec.provenance;
    let size = 7.5;
    let file = prov.path.file_name().map_or_else(
        || "not recorded".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let format = if prov.format.trim().is_empty() {
        String::new()
    } else {
        format!(" ({})", prov.format.trim())
    };
    let mut x = frame.grid_left_mm;
    x = canvas.field(
        x,
        SOURCE_Y,
        "Source",
        &fit(canvas, &format!("{file}{format}"), size, 70.0),
        size,
        theme::INK,
    ) + 4.0;
    let device = prov
        .device
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    x = canvas.field(
        x,
        SOURCE_Y,
        "Device",
        &fit(canvas, device.unwrap_or("not recorded"), size, 50.0),
        size,
        theme::INK,
    ) + 4.0;
    let original = if prov.original_sample_rate_hz > 0.0 {
        prov.original_sample_rate_hz
    } else {
        rec.sample_rate_hz
    };
    x = canvas.field(
        x,
        SOURCE_Y,
        "Original rate",
        &wording::rate_text(original),
        size,
        theme::INK,
    ) + 4.0;
    x = canvas.field(
        x,
        SOURCE_Y,
        "Duration",
        &format!("{:.1} s", rec.duration_s()),
        size,
        theme::INK,
    ) + 4.0;
    if !prov.notes.is_empty() {
        let notes = prov.notes.join("; ");
        let room = frame.grid_right_mm() - x;
        let notes = fit(canvas, &notes, size, room);
        canvas.text(x, SOURCE_Y, &notes, TextStyle::new(size, theme::MUTED));
    }
}

/// `text` shortened with "…" to fit `width_mm`.
fn fit(canvas: &Canvas<'_, '_>, text: &str, size_pt: f32, width_mm: f32) -> String {
    if canvas.text_width(text, size_pt) <= width_mm {
        return text.to_string();
    }
    let mut s: String = text.to_string();
    while !s.is_empty() && canvas.text_width(&format!("{s}…"), size_pt) > width_mm {
        s.pop();
    }
    format!("{s}…")
}

fn draw_measurements(canvas: &mut Canvas<'_, '_>, frame: &PageFrame, analysis: &Analysis) {
    let x0 = frame.grid_left_mm;
    let y = MEASURE_Y;
    let size = 8.5;
    let Some(m) = &analysis.measurements else {
        canvas.field(
            x0,
            y,
            "Measurements",
            "not available (not computed)",
            size,
            theme::MUTED,
        );
        return;
    };
    let mut items = wording::measurement_row(m, &analysis.edited);
    for item in &mut items {
        if item.automatic.is_some() {
            item.value.push_str(wording::EDITED_MARK);
        }
    }
    // Where the source line leaves room: right-aligned above the row.
    if let Some(note) = wording::edited_note(&analysis.edited) {
        let note = fit(canvas, &note, 7.0, 120.0);
        canvas.text(
            frame.grid_right_mm(),
            SOURCE_Y,
            &note,
            TextStyle::new(7.0, theme::ALERT).align(Align::Right),
        );
    }
    let reason_size = 6.5;
    // One shared reason for a row that is entirely absent (e.g. "too few beats").
    let all_absent = items
        .iter()
        .all(|i| i.value.chars().all(|c| c == '—' || c == '/' || c == ' '));
    let first_reason = items.iter().find_map(|i| i.reason.clone());
    if all_absent {
        let reason = first_reason.unwrap_or_else(|| "no reason given".to_string());
        let end = canvas.field(x0, y, "Measurements", "not measurable", size, theme::INK);
        let room = frame.grid_right_mm() - end - 2.0;
        let reason = fit(canvas, &format!("({reason})"), reason_size, room);
        canvas.text(
            end + 1.0,
            y,
            &reason,
            TextStyle::new(reason_size, theme::MUTED),
        );
        return;
    }
    // Share the width left after the values among the reasons.
    let gap = 4.5;
    let values_width: f32 = items
        .iter()
        .map(|i| {
            canvas.text_width(&format!("{} ", i.label), size)
                + canvas.text_width(&i.value, size)
                + gap
        })
        .sum();
    let n_reasons = items.iter().filter(|i| i.reason.is_some()).count().max(1);
    let per_reason = (frame.grid_right_mm() - x0 - values_width) / n_reasons as f32 - 1.0;
    let mut x = x0;
    for item in &items {
        x = canvas.field(x, y, item.label, &item.value, size, theme::INK);
        if let Some(reason) = &item.reason {
            if per_reason > 6.0 {
                let reason = fit(canvas, &format!("({reason})"), reason_size, per_reason);
                x = canvas.text(
                    x + 0.8,
                    y,
                    &reason,
                    TextStyle::new(reason_size, theme::MUTED),
                );
            }
        }
        x += gap;
    }
}

fn draw_verdict(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    output: Option<&ModelOutput>,
    findings: Option<&MethodFindings>,
) {
    let x = frame.grid_left_mm;
    let mut y = BLOCK_Y;
    let (Some(out), Some(said)) = (output, findings) else {
        canvas.field(
            x,
            y,
            "Anomaly model",
            "not available (no model output)",
            8.5,
            theme::MUTED,
        );
        return;
    };
    let colour = tone_colour(said.tone);
    canvas.text(x, y, &said.verdict, TextStyle::new(9.0, colour).bold());
    y += LINE_MM + 0.4;
    let end = canvas.field(x, y, "Anomaly", &said.score_line, 8.0, theme::INK);
    canvas.text(
        end + 1.5,
        y,
        "higher = less like normal; threshold set on validation ECGs",
        TextStyle::new(6.5, theme::MUTED),
    );
    y += LINE_MM;
    let weights = if out.weights.trim().is_empty() {
        String::new()
    } else {
        format!(", weights {}", out.weights.trim())
    };
    let device = if out.device.trim().is_empty() {
        String::new()
    } else {
        format!(", run on {}", out.device.trim())
    };
    let line = format!("Method {}{weights}{device}", method_name(out, "model"));
    let line = fit(canvas, &line, 6.5, RIGHT_BLOCK_MM - 4.0);
    canvas.text(x, y, &line, TextStyle::new(6.5, theme::MUTED));
    // One short line per caveat (the screen and the JSON carry the full notes).
    let caveats = [
        (
            said.note.is_some(),
            "Leads partly recorded (paper layout): scored on recorded samples, paper-layout calibration",
            theme::ALERT,
        ),
        (
            said.borderline_note.is_some(),
            "Borderline: on validation ECGs, noise too small to see can turn a verdict this close to the threshold",
            theme::BORDERLINE,
        ),
    ];
    for (_, text, colour) in caveats.into_iter().filter(|c| c.0) {
        y += LINE_MM - 0.8;
        let line = fit(canvas, text, 6.5, RIGHT_BLOCK_MM - 4.0);
        canvas.text(x, y, &line, TextStyle::new(6.5, colour));
    }
}

fn draw_attribute_table(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    analysis: &Analysis,
    findings: &StudyFindings,
) {
    let predicted = analysis.anomaly.as_ref().and_then(|a| a.predicted.as_ref());
    let spread = analysis
        .anomaly
        .as_ref()
        .and_then(|a| a.normal_spread.as_ref());
    let x0 = frame.grid_left_mm + RIGHT_BLOCK_MM;
    let y0 = BLOCK_Y - 2.5;
    let label_w = 27.0;
    let col_w = (crate::layout::GRID_WIDTH_MM - RIGHT_BLOCK_MM - label_w) / 7.0;
    let columns = &findings.attributes;
    let size = 7.0;
    let row_h = 3.1;
    let head = TextStyle::new(6.5, theme::MUTED).align(Align::Right);
    let rows = [
        "Recorded / measured",
        "Predicted from ECG",
        "Gap (pred. − actual)",
    ];
    for (i, r) in rows.iter().enumerate() {
        canvas.text(
            x0,
            y0 + (i + 1) as f32 * row_h,
            r,
            TextStyle::new(size, theme::MUTED),
        );
    }
    let mut any_flag = false;
    for (c, col) in columns.iter().enumerate() {
        let right = x0 + label_w + (c + 1) as f32 * col_w - 1.0;
        canvas.text(right, y0, col.label, head);
        let cells = [&col.actual, &col.predicted, &col.gap];
        for (i, cell) in cells.iter().enumerate() {
            let flagged = i == 2 && col.flagged;
            any_flag |= flagged;
            let text = if flagged {
                format!("{cell} !")
            } else {
                (*cell).clone()
            };
            let colour = if flagged { theme::ALERT } else { theme::INK };
            let mut style = TextStyle::new(size, colour).align(Align::Right);
            if flagged {
                style = style.bold();
            }
            canvas.text(right, y0 + (i + 1) as f32 * row_h, &text, style);
        }
    }
    canvas.line(
        x0,
        y0 + 0.9,
        frame.grid_right_mm(),
        y0 + 0.9,
        theme::RULE,
        0.15,
    );
    let note_y = y0 + 4.0 * row_h + 0.3;
    let note = if predicted.is_none() {
        "Predicted attributes: not available (no model output)".to_string()
    } else if spread.is_none() {
        "Gap flags not available (the model gives no normal spread)".to_string()
    } else if any_flag {
        "! gap larger than the model shows on normal validation ECGs (sex: other sex predicted at ≥ 90 %)".to_string()
    } else {
        "No gap larger than the model shows on normal validation ECGs".to_string()
    };
    canvas.text(x0, note_y, &note, TextStyle::new(6.0, theme::MUTED));
}

fn draw_score_box(
    canvas: &mut Canvas<'_, '_>,
    x: f32,
    y: f32,
    w: f32,
    title: &str,
    output: Option<&ModelOutput>,
    findings: Option<&MethodFindings>,
) {
    let h = 17.5;
    canvas.stroke_rect(x, y, w, h, theme::RULE, 0.2);
    let tx = x + 2.0;
    let (Some(out), Some(said)) = (output, findings) else {
        canvas.text(tx, y + 4.0, title, TextStyle::new(8.0, theme::INK).bold());
        canvas.text(
            tx,
            y + 8.5,
            "not available",
            TextStyle::new(8.0, theme::MUTED),
        );
        return;
    };
    let head = format!("{title}: {}", method_name(out, title));
    let head = fit(canvas, &head, 8.0, w - 4.0);
    canvas.text(tx, y + 4.0, &head, TextStyle::new(8.0, theme::INK).bold());
    canvas.text(
        tx,
        y + 8.3,
        &said.score_line,
        TextStyle::new(8.0, theme::INK),
    );
    let colour = tone_colour(ecgsession::wording::tone(out));
    let verdict = ecgsession::wording::verdict_short(out);
    canvas.text(tx, y + 12.3, verdict, TextStyle::new(8.0, colour).bold());
    let n = if out.n_training_normals > 0 {
        format!("learned from {} normal ECGs", out.n_training_normals)
    } else {
        String::new()
    };
    canvas.text(tx, y + 15.8, &n, TextStyle::new(6.5, theme::MUTED));
}

fn draw_segment_list(
    canvas: &mut Canvas<'_, '_>,
    x: f32,
    y: f32,
    title: &str,
    findings: Option<&MethodFindings>,
) {
    canvas.text(
        x,
        y,
        &format!("Most anomalous segments — {}", title.to_lowercase()),
        TextStyle::new(7.5, theme::INK).bold(),
    );
    let Some(said) = findings else {
        canvas.text(
            x,
            y + LINE_MM,
            "not available",
            TextStyle::new(7.0, theme::MUTED),
        );
        return;
    };
    let segments = &said.segments;
    if segments.is_empty() {
        canvas.text(
            x,
            y + LINE_MM,
            &ecgsession::segments::nothing_listed_short(),
            TextStyle::new(7.0, theme::MUTED),
        );
        return;
    }
    let head = TextStyle::new(6.5, theme::MUTED);
    let row_y = y + LINE_MM;
    canvas.text(x, row_y, "time (s)", head);
    canvas.text(x + 17.0, row_y, "wave", head);
    canvas.text(x + 26.0, row_y, "p", head);
    canvas.text(x + 34.0, row_y, "leads", head);
    for (i, seg) in segments.iter().take(SEGMENTS_PRINTED).enumerate() {
        let yy = row_y + (i + 1) as f32 * 3.2;
        draw_segment_row(canvas, x, yy, seg);
    }
    if segments.len() > SEGMENTS_PRINTED {
        let yy = row_y + (SEGMENTS_PRINTED + 1) as f32 * 3.2;
        canvas.text(
            x,
            yy,
            &format!(
                "+ {} more (on screen and in the JSON)",
                segments.len() - SEGMENTS_PRINTED
            ),
            head,
        );
    }
}

fn draw_segment_row(canvas: &mut Canvas<'_, '_>, x: f32, y: f32, seg: &AnomalousSegment) {
    let style = TextStyle::new(7.0, theme::INK);
    canvas.text(x, y, &format!("{:.2}–{:.2}", seg.start_s, seg.end_s), style);
    canvas.text(x + 17.0, y, seg.wave.label(), style);
    canvas.fill_rect_with_opacity(
        x + 26.0,
        y - 2.2,
        2.4,
        2.4,
        likelihood_colour(seg.peak_likelihood),
        BAND_OPACITY,
    );
    canvas.text(x + 29.0, y, &format!("{:.2}", seg.peak_likelihood), style);
    let leads = seg.leads.join(", ");
    let leads = fit(canvas, &leads, 7.0, 30.0);
    canvas.text(x + 38.0, y, &leads, style);
}

fn draw_legend(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    output: Option<&ModelOutput>,
    whose: &str,
) {
    let x0 = frame.grid_left_mm;
    let y = frame.grid_bottom_mm() + 2.0;
    let size = 7.0;
    if output.is_none() {
        canvas.text(
            x0,
            y + 2.6,
            &format!("Anomaly likelihood ({whose}): not available — no bands drawn"),
            TextStyle::new(size, theme::MUTED),
        );
        return;
    }
    let x = canvas.text(
        x0,
        y + 2.6,
        &format!("Anomaly likelihood ({whose}):"),
        TextStyle::new(size, theme::INK).bold(),
    ) + 2.0;
    let steps = 20;
    let bar_w = 50.0;
    let step_w = bar_w / steps as f32;
    for i in 0..steps {
        let p = (i as f32 + 0.5) / steps as f32;
        // Same opacity as the bands, so the legend matches what the traces show.
        canvas.fill_rect_with_opacity(
            x + i as f32 * step_w,
            y,
            step_w + 0.05,
            3.2,
            likelihood_colour(p),
            BAND_OPACITY,
        );
    }
    canvas.stroke_rect(x, y, bar_w, 3.2, theme::RULE, 0.1);
    let tick = TextStyle::new(5.5, theme::MUTED).align(Align::Centre);
    for (p, label) in [(0.0, "0"), (BAND_FROM, "0.3"), (0.5, "0.5"), (1.0, "1")] {
        let tx = x + p * bar_w;
        canvas.line(tx, y + 3.2, tx, y + 4.0, theme::RULE, 0.1);
        canvas.text(tx, y + 6.0, label, tick);
    }
    canvas.text(
        x + bar_w + 2.5,
        y + 2.6,
        &format!(
            "neutral = like the normal ECGs learned from, warm = unlike them; bands under the trace where ≥ {BAND_FROM}"
        ),
        TextStyle::new(size, theme::MUTED),
    );
}

pub(crate) fn draw_footer(
    canvas: &mut Canvas<'_, '_>,
    frame: &PageFrame,
    analysis: &Analysis,
    options: &ReportOptions,
) {
    let x = frame.grid_left_mm;
    let y1 = frame.grid_bottom_mm() + 11.5;
    let y2 = y1 + 4.0;
    let size = 7.5;
    let rec = &analysis.recording;
    let mut end = canvas.field(x, y1, "Speed", "25 mm/s", size, theme::INK) + 4.0;
    end = canvas.field(end, y1, "Gain", "10 mm/mV", size, theme::INK) + 4.0;
    let filters = fit(
        canvas,
        &nonempty(&options.filters_label, "none stated"),
        size,
        75.0,
    );
    end = canvas.field(end, y1, "Filters", &filters, size, theme::INK) + 4.0;
    let device_filters = rec
        .provenance
        .device_filters
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("not stated");
    let device_filters = fit(canvas, device_filters, size, 45.0);
    end = canvas.field(end, y1, "Device filters", &device_filters, size, theme::INK) + 4.0;
    let duration = rec.duration_s();
    let shown = if duration > f64::from(crate::layout::ROW_SECONDS) + 1e-6 {
        format!("first 10 s of {duration:.1} s")
    } else {
        format!("{duration:.1} s")
    };
    let rate = wording::rate_text(rec.sample_rate_hz);
    canvas.field(
        end,
        y1,
        "Shown",
        &format!("{shown} at {rate}"),
        size,
        theme::INK,
    );

    let model = fit(canvas, &nonempty(&options.model_label, DASH), size, 150.0);
    let mut end = canvas.field(x, y2, "Model", &model, size, theme::INK) + 4.0;
    let version = nonempty(&options.software_version, DASH);
    end = canvas.field(
        end,
        y2,
        "Software",
        &format!("ecgscope {version}"),
        size,
        theme::INK,
    ) + 4.0;
    let note = "Decision support, not a diagnosis.";
    let right = frame.grid_right_mm();
    let note_w = canvas.text_width(note, 8.0);
    if end + note_w < right {
        canvas.text(
            right,
            y2,
            note,
            TextStyle::new(8.0, theme::INK).bold().align(Align::Right),
        );
    } else {
        canvas.text(x, y2 + 4.0, note, TextStyle::new(8.0, theme::INK).bold());
    }
}

fn nonempty(s: &str, fallback: &str) -> String {
    let t = s.trim();
    if t.is_empty() {
        fallback.to_string()
    } else {
        t.to_string()
    }
}

/// A verdict's colour on paper.
fn tone_colour(tone: ecgsession::wording::Tone) -> crate::colour::Rgb {
    use ecgsession::wording::Tone;
    match tone {
        Tone::Abnormal => theme::ALERT,
        Tone::Borderline => theme::BORDERLINE,
        Tone::Normal => theme::CALM,
    }
}
