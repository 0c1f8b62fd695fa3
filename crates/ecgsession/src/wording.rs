//! The words and numbers of a study's findings, as pure functions of the `Analysis`:
//! the screen, the PDF and the JSON print these, never their own.
//! Conventions: durations in whole ms, heart rate in whole bpm, axes in whole degrees,
//! "—" for a value that is absent, followed by the reason when one is known.

use ecgcore::analysis::{ModelOutput, NormalSpread, PredictedAttributes};
use ecgcore::dsp::measurements::{Measurements, Quantity};
use ecgcore::recording::{Recording, Sex};
use ecgcore::review::Edited;
use serde::Serialize;

/// A predicted sex is flagged when the model gives the other sex at least this probability.
pub const SEX_FLAG_PROBABILITY: f32 = 0.9;

/// Printed where a value is absent.
pub const DASH: &str = "—";

/// One printed measurement: label, value text, and why it is absent (if it is).
#[derive(Debug, Clone, PartialEq)]
pub struct MeasurementText {
    pub label: &'static str,
    pub value: String,
    pub reason: Option<String>,
    /// When the reader corrected the value: the automatic value's text.
    pub automatic: Option<String>,
}

fn reason_for(m: &Measurements, field: Quantity) -> Option<String> {
    m.reason(field).map(str::to_string)
}

fn rounded(v: Option<f32>, unit: &str) -> Option<String> {
    v.filter(|x| x.is_finite())
        .map(|x| format!("{x:.0} {unit}"))
}

/// The measurements row: HR, PR, QRS, QT, QTc Bazett, QTc Fridericia, P/QRS/T axes;
/// values the reader corrected (`edited`) carry their automatic value.
pub fn measurement_row(m: &Measurements, edited: &[Edited]) -> Vec<MeasurementText> {
    let item = |label, value: Option<f32>, unit: &str, field: Quantity| {
        let text = rounded(value, unit);
        MeasurementText {
            label,
            automatic: edited
                .iter()
                .find(|e| e.quantity == field)
                .map(|e| rounded(e.automatic, unit).unwrap_or_else(|| DASH.to_string())),
            reason: if text.is_none() {
                reason_for(m, field)
            } else {
                None
            },
            value: text.unwrap_or_else(|| DASH.to_string()),
        }
    };
    let axis = |v: Option<f32>| {
        v.filter(|x| x.is_finite())
            .map_or_else(|| DASH.to_string(), |x| format!("{x:.0}°"))
    };
    let axes_reason = [Quantity::PAxisDeg, Quantity::QrsAxisDeg, Quantity::TAxisDeg]
        .iter()
        .zip([m.p_axis_deg, m.qrs_axis_deg, m.t_axis_deg])
        .filter(|(_, v)| v.is_none_or(|x| !x.is_finite()))
        .find_map(|(field, _)| reason_for(m, *field));
    vec![
        item("HR", m.heart_rate_bpm, "bpm", Quantity::HeartRateBpm),
        item("PR", m.pr_ms, "ms", Quantity::PrMs),
        item("QRS", m.qrs_ms, "ms", Quantity::QrsMs),
        item("QT", m.qt_ms, "ms", Quantity::QtMs),
        item("QTc Bazett", m.qtc_bazett_ms, "ms", Quantity::QtcBazettMs),
        item(
            "QTc Fridericia",
            m.qtc_fridericia_ms,
            "ms",
            Quantity::QtcFridericiaMs,
        ),
        MeasurementText {
            label: "Axes P/QRS/T",
            value: format!(
                "{} / {} / {}",
                axis(m.p_axis_deg),
                axis(m.qrs_axis_deg),
                axis(m.t_axis_deg)
            ),
            reason: axes_reason,
            automatic: None,
        },
    ]
}

/// The mark after a corrected value.
pub const EDITED_MARK: &str = "*";

/// "* corrected by the reader; automatic: QRS 112 ms, heart rate 60 bpm", or `None`.
pub fn edited_note(edited: &[Edited]) -> Option<String> {
    if edited.is_empty() {
        return None;
    }
    let items: Vec<String> = edited
        .iter()
        .map(|e| {
            let unit = if e.quantity == Quantity::HeartRateBpm {
                "bpm"
            } else {
                "ms"
            };
            format!(
                "{} {}",
                ecgcore::review::label(e.quantity),
                rounded(e.automatic, unit).unwrap_or_else(|| DASH.to_string())
            )
        })
        .collect();
    Some(format!(
        "{EDITED_MARK} corrected by the reader; automatic: {}",
        items.join(", ")
    ))
}

/// How a verdict is shown: the colour it takes on screen and paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Normal,
    /// Within the borderline band: the verdict could go either way (see
    /// `ModelOutput::borderline`).
    Borderline,
    Abnormal,
}

/// The verdict's tone.
pub fn tone(output: &ModelOutput) -> Tone {
    if output.borderline {
        Tone::Borderline
    } else if output.abnormal {
        Tone::Abnormal
    } else {
        Tone::Normal
    }
}

/// The verdict sentence, e.g. "Outside the range of the 7243 normal ECGs the model learned
/// from", or "Borderline: just outside the range of …" within the borderline band.
pub fn verdict(output: &ModelOutput) -> String {
    let n = if output.n_training_normals > 0 {
        format!("the {} normal ECGs", output.n_training_normals)
    } else {
        "the normal ECGs".to_string()
    };
    match (output.borderline, output.abnormal) {
        (true, true) => format!("Borderline: just outside the range of {n} the model learned from"),
        (true, false) => format!("Borderline: just within the range of {n} the model learned from"),
        (false, true) => format!("Outside the range of {n} the model learned from"),
        (false, false) => format!("Within the range of {n} the model learned from"),
    }
}

/// The verdict in a few words, for lists and one-line summaries: "outside the normal
/// range", "borderline, just within the normal range", …
pub fn verdict_short(output: &ModelOutput) -> &'static str {
    match (output.borderline, output.abnormal) {
        (true, true) => "borderline, just outside the normal range",
        (true, false) => "borderline, just within the normal range",
        (false, true) => "outside the normal range",
        (false, false) => "within the normal range",
    }
}

/// Why a verdict is borderline, for the reader (`None` when it is not).
pub fn borderline_note(output: &ModelOutput) -> Option<String> {
    output.borderline.then(|| {
        format!(
            "The score lies within {} of the threshold, where a change of the tracing too \
             small to see (5 µV of noise) can turn the verdict on validation ECGs: read the \
             tracing before relying on it.",
            number(output.borderline_margin)
        )
    })
}

/// "score 1.83 (threshold 1.20)", with the borderline band where one was fitted: "score
/// 0.91 (threshold 0.82, borderline ± 0.36)".
pub fn score_line(output: &ModelOutput) -> String {
    let band = if output.borderline_margin > 0.0 && output.borderline_margin.is_finite() {
        format!(", borderline ± {}", number(output.borderline_margin))
    } else {
        String::new()
    };
    format!(
        "score {} (threshold {}{band})",
        number(output.score),
        number(output.threshold)
    )
}

/// A score or threshold with three significant digits.
pub fn number(x: f32) -> String {
    if !x.is_finite() {
        return DASH.to_string();
    }
    let magnitude = x.abs();
    if magnitude >= 100.0 {
        format!("{x:.0}")
    } else if magnitude >= 10.0 {
        format!("{x:.1}")
    } else if magnitude >= 0.1 || magnitude == 0.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.2e}")
    }
}

/// One column of the predicted-vs-actual table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeColumn {
    pub label: &'static str,
    pub actual: String,
    pub predicted: String,
    pub gap: String,
    /// The one flagging rule: a numeric gap larger than 95 % of normal validation ECGs show
    /// (`normal_spread`), or a prediction of the other sex at ≥ [`SEX_FLAG_PROBABILITY`].
    pub flagged: bool,
}

/// Age, sex, HR, PR, QRS, QT, QTc (Bazett): recorded/measured, predicted, gap.
pub fn attribute_table(
    recording: &Recording,
    measurements: Option<&Measurements>,
    predicted: Option<&PredictedAttributes>,
    spread: Option<&NormalSpread>,
) -> Vec<AttributeColumn> {
    let numeric = |label: &'static str,
                   actual: Option<f32>,
                   pred: Option<f32>,
                   limit: Option<f32>,
                   unit: &str| {
        let actual = actual.filter(|x| x.is_finite());
        let pred = pred.filter(|x| x.is_finite());
        let (gap, flagged) = match (actual, pred) {
            (Some(a), Some(p)) => {
                let d = p - a;
                let flagged = limit.is_some_and(|l| l.is_finite() && d.abs() > l);
                (format!("{d:+.0}"), flagged)
            }
            _ => (DASH.to_string(), false),
        };
        AttributeColumn {
            label,
            actual: actual.map_or_else(|| DASH.to_string(), |a| format!("{a:.0}{unit}")),
            predicted: pred.map_or_else(|| DASH.to_string(), |p| format!("{p:.0}{unit}")),
            gap,
            flagged,
        }
    };
    let m = measurements;
    let p = predicted;
    let s = spread;
    let female_p = p
        .and_then(|p| p.female_probability)
        .filter(|x| x.is_finite());
    let sex_actual = recording.patient.sex;
    let sex_column = AttributeColumn {
        label: "Sex",
        actual: match sex_actual {
            Some(Sex::Female) => "F".to_string(),
            Some(Sex::Male) => "M".to_string(),
            None => DASH.to_string(),
        },
        predicted: female_p.map_or_else(
            || DASH.to_string(),
            |f| {
                if f >= 0.5 {
                    format!("F {:.0}%", f * 100.0)
                } else {
                    format!("M {:.0}%", (1.0 - f) * 100.0)
                }
            },
        ),
        gap: match (sex_actual, female_p) {
            (Some(sex), Some(f)) => {
                let predicted_female = f >= 0.5;
                if predicted_female == (sex == Sex::Female) {
                    "agrees".to_string()
                } else {
                    "differs".to_string()
                }
            }
            _ => DASH.to_string(),
        },
        flagged: match (sex_actual, female_p) {
            (Some(Sex::Female), Some(f)) => 1.0 - f >= SEX_FLAG_PROBABILITY,
            (Some(Sex::Male), Some(f)) => f >= SEX_FLAG_PROBABILITY,
            _ => false,
        },
    };
    vec![
        numeric(
            "Age (y)",
            recording.patient.age_years,
            p.and_then(|p| p.age_years),
            s.and_then(|s| s.age_years),
            "",
        ),
        sex_column,
        numeric(
            "HR (bpm)",
            m.and_then(|m| m.heart_rate_bpm),
            p.and_then(|p| p.heart_rate_bpm),
            s.and_then(|s| s.heart_rate_bpm),
            "",
        ),
        numeric(
            "PR (ms)",
            m.and_then(|m| m.pr_ms),
            p.and_then(|p| p.pr_ms),
            s.and_then(|s| s.pr_ms),
            "",
        ),
        numeric(
            "QRS (ms)",
            m.and_then(|m| m.qrs_ms),
            p.and_then(|p| p.qrs_ms),
            s.and_then(|s| s.qrs_ms),
            "",
        ),
        numeric(
            "QT (ms)",
            m.and_then(|m| m.qt_ms),
            p.and_then(|p| p.qt_ms),
            s.and_then(|s| s.qt_ms),
            "",
        ),
        numeric(
            "QTcB (ms)",
            m.and_then(|m| m.qtc_bazett_ms),
            p.and_then(|p| p.qtc_ms),
            s.and_then(|s| s.qtc_ms),
            "",
        ),
    ]
}

/// "56 y" / "over 89 y" (PTB-XL writes 300 for ages over 89) / "—".
pub fn age_text(age_years: Option<f32>) -> String {
    match age_years.filter(|a| a.is_finite() && *a >= 0.0) {
        Some(a) if a > 150.0 => "over 89 y".to_string(),
        Some(a) => format!("{a:.0} y"),
        None => "not recorded".to_string(),
    }
}

/// "female" / "male" / "not recorded".
pub fn sex_text(sex: Option<Sex>) -> &'static str {
    match sex {
        Some(Sex::Female) => "female",
        Some(Sex::Male) => "male",
        None => "not recorded",
    }
}

/// Acquisition time as recorded ("2019-03-01 09:17:34"), or "not recorded".
pub fn acquisition_text(time: Option<&str>) -> String {
    time.map(str::trim)
        .filter(|t| !t.is_empty())
        .map_or_else(|| "not recorded".to_string(), |t| t.replacen('T', " ", 1))
}

/// Sample rate in Hz without a needless ".0".
pub fn rate_text(rate_hz: f64) -> String {
    if !(rate_hz.is_finite() && rate_hz > 0.0) {
        return "unknown".to_string();
    }
    if (rate_hz - rate_hz.round()).abs() < 1e-6 {
        format!("{rate_hz:.0} Hz")
    } else {
        format!("{rate_hz:.2} Hz")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgcore::dsp::measurements::Missing;

    #[test]
    fn absent_values_print_a_dash_and_the_reason() {
        let m = Measurements {
            heart_rate_bpm: Some(63.4),
            qrs_ms: Some(92.0),
            missing_reasons: vec![Missing {
                field: Quantity::PrMs,
                reason: "no P waves".into(),
            }],
            ..Measurements::default()
        };
        let row = measurement_row(&m, &[]);
        assert_eq!(row[0].value, "63 bpm");
        assert!(row.iter().all(|r| r.automatic.is_none()));
        assert_eq!(row[1].value, DASH);
        assert_eq!(row[1].reason.as_deref(), Some("no P waves"));
        assert_eq!(row[2].value, "92 ms");
        assert_eq!(row[4].label, "QTc Bazett");
        assert_eq!(row[5].label, "QTc Fridericia");
        assert_eq!(row[6].value, "— / — / —");
        let edited = [Edited {
            quantity: Quantity::QrsMs,
            value: 92.0,
            automatic: Some(118.0),
        }];
        let row = measurement_row(&m, &edited);
        assert_eq!(row[2].automatic.as_deref(), Some("118 ms"));
        assert_eq!(
            edited_note(&edited).as_deref(),
            Some("* corrected by the reader; automatic: QRS 118 ms")
        );
    }

    #[test]
    fn gaps_beyond_the_normal_spread_are_flagged() {
        let rec = Recording {
            patient: ecgcore::Patient {
                age_years: Some(22.0),
                sex: Some(Sex::Female),
                ..Default::default()
            },
            ..Recording::default()
        };
        let m = Measurements {
            heart_rate_bpm: Some(60.0),
            ..Default::default()
        };
        let p = PredictedAttributes {
            age_years: Some(51.0),
            female_probability: Some(0.2),
            heart_rate_bpm: Some(64.0),
            ..Default::default()
        };
        let s = NormalSpread {
            age_years: Some(15.0),
            heart_rate_bpm: Some(10.0),
            ..Default::default()
        };
        let t = attribute_table(&rec, Some(&m), Some(&p), Some(&s));
        assert_eq!((t[0].gap.as_str(), t[0].flagged), ("+29", true));
        assert_eq!(
            (t[1].predicted.as_str(), t[1].gap.as_str(), t[1].flagged),
            ("M 80%", "differs", false)
        );
        let confident = PredictedAttributes {
            female_probability: Some(0.05),
            ..p.clone()
        };
        let t = attribute_table(&rec, Some(&m), Some(&confident), Some(&s));
        assert_eq!((t[1].gap.as_str(), t[1].flagged), ("differs", true));
        assert_eq!((t[2].gap.as_str(), t[2].flagged), ("+4", false));
        assert_eq!(t[3].gap, DASH);
    }

    #[test]
    fn numbers_and_words() {
        assert_eq!(number(1.8349), "1.83");
        assert_eq!(number(0.0123), "1.23e-2");
        assert_eq!(number(f32::NAN), DASH);
        assert_eq!(age_text(Some(300.0)), "over 89 y");
        assert_eq!(rate_text(500.0), "500 Hz");
        assert_eq!(
            acquisition_text(Some("1984-11-09T09:17:34")),
            "1984-11-09 09:17:34"
        );
        let out = ModelOutput {
            abnormal: true,
            n_training_normals: 763,
            ..ModelOutput::default()
        };
        assert_eq!(
            verdict(&out),
            "Outside the range of the 763 normal ECGs the model learned from"
        );
    }

    #[test]
    fn a_borderline_verdict_says_so_on_either_side_and_names_its_band() {
        let judged = |score: f32, margin: f32| {
            let mut o = ModelOutput {
                score,
                borderline_margin: margin,
                n_training_normals: 7243,
                ..ModelOutput::default()
            };
            o.judge_against(0.82);
            o
        };
        let above = judged(0.95, 0.36);
        assert_eq!(tone(&above), Tone::Borderline);
        assert_eq!(
            verdict(&above),
            "Borderline: just outside the range of the 7243 normal ECGs the model learned from"
        );
        assert_eq!(
            verdict_short(&above),
            "borderline, just outside the normal range"
        );
        assert_eq!(
            score_line(&above),
            "score 0.95 (threshold 0.82, borderline ± 0.36)"
        );
        assert!(borderline_note(&above).is_some_and(|n| n.contains("within 0.36 of the threshold")));
        let below = judged(0.70, 0.36);
        assert_eq!(
            verdict_short(&below),
            "borderline, just within the normal range"
        );
        assert!(verdict(&below).starts_with("Borderline: just within the range"));
        let far = judged(1.5, 0.36);
        assert_eq!(tone(&far), Tone::Abnormal);
        assert_eq!(verdict_short(&far), "outside the normal range");
        assert!(borderline_note(&far).is_none());
        // No band fitted (an older manifest, paper input): the plain verdict and line.
        let none = judged(0.83, 0.0);
        assert_eq!(tone(&none), Tone::Abnormal);
        assert_eq!(score_line(&none), "score 0.83 (threshold 0.82)");
    }
}
