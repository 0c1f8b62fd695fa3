//! A study's findings, derived once per analysis and rendered alike by the screen, the PDF
//! report and `analyze --json`.

use crate::segments::{most_anomalous_segments, AnomalousSegment, SEGMENTS_LISTED};
use crate::wording::{self, AttributeColumn};
use ecgcore::analysis::{Analysis, ModelOutput};
use serde::Serialize;

/// What one method (ours or the baseline) says about the study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodFindings {
    pub method: String,
    pub abnormal: bool,
    /// Within the borderline band around the threshold (see `ModelOutput::borderline`).
    pub borderline: bool,
    /// Normal, borderline or abnormal: the verdict's colour.
    pub tone: wording::Tone,
    pub score: f32,
    pub threshold: f32,
    /// "Outside/Within the range of the N normal ECGs the model learned from".
    pub verdict: String,
    /// The verdict in a few words ("borderline, just within the normal range").
    pub verdict_short: String,
    /// "score 1.83 (threshold 1.20)".
    pub score_line: String,
    /// Why the score is to be read with care (e.g. leads only partly recorded).
    pub note: Option<String>,
    /// Why the verdict is borderline (`None` when it is not).
    pub borderline_note: Option<String>,
    /// The most anomalous segments of its map (≥ 0.9 only), strongest first.
    pub segments: Vec<AnomalousSegment>,
    /// What to say when `segments` is empty.
    pub segments_note: Option<String>,
}

impl MethodFindings {
    fn of(output: &ModelOutput, analysis: &Analysis) -> MethodFindings {
        let segments = most_anomalous_segments(
            output,
            analysis.measurements.as_ref(),
            analysis.recording.sample_rate_hz,
            SEGMENTS_LISTED,
        );
        MethodFindings {
            method: output.method.clone(),
            abnormal: output.abnormal,
            borderline: output.borderline,
            tone: wording::tone(output),
            score: output.score,
            threshold: output.threshold,
            verdict: wording::verdict(output),
            verdict_short: wording::verdict_short(output).to_string(),
            score_line: wording::score_line(output),
            note: output.note.clone(),
            borderline_note: wording::borderline_note(output),
            segments_note: segments
                .is_empty()
                .then(crate::segments::nothing_listed_text),
            segments,
        }
    }
}

/// Everything the three renderings state about a study.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StudyFindings {
    /// Our model; `None` when it could not run (see `Analysis::model_status`).
    pub ours: Option<MethodFindings>,
    pub baseline: Option<MethodFindings>,
    /// Predicted vs recorded/measured: age, sex, HR, PR, QRS, QT, QTc (Bazett).
    pub attributes: Vec<AttributeColumn>,
    /// Leads where the two maps differ most (lead, mean |difference|), largest first.
    pub disagreement: Vec<(String, f32)>,
}

impl StudyFindings {
    pub fn of(a: &Analysis) -> StudyFindings {
        let ours = a.anomaly.as_ref();
        StudyFindings {
            ours: ours.map(|o| MethodFindings::of(o, a)),
            baseline: a.baseline.as_ref().map(|b| MethodFindings::of(b, a)),
            attributes: wording::attribute_table(
                &a.recording,
                a.measurements.as_ref(),
                ours.and_then(|o| o.predicted.as_ref()),
                ours.and_then(|o| o.normal_spread.as_ref()),
            ),
            disagreement: match (ours, a.baseline.as_ref()) {
                (Some(o), Some(b)) => disagreement(o, b),
                _ => Vec::new(),
            },
        }
    }

    /// The attribute columns that are flagged.
    pub fn flagged(&self) -> impl Iterator<Item = &AttributeColumn> {
        self.attributes.iter().filter(|c| c.flagged)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ecgcore::analysis::{NormalSpread, PredictedAttributes};
    use ecgcore::{Patient, Recording, Sex};

    #[test]
    fn findings_state_verdicts_flags_and_segments_once() {
        let rate = 100.0;
        let mut map = vec![0.1_f32; 1000];
        map[400] = 0.97;
        let ours = ModelOutput {
            method: "ours".into(),
            abnormal: true,
            score: 3.0,
            threshold: 1.0,
            n_training_normals: 7243,
            leads: vec!["I".into()],
            map: vec![map],
            map_rate_hz: rate,
            predicted: Some(PredictedAttributes {
                age_years: Some(70.0),
                female_probability: Some(0.02),
                ..Default::default()
            }),
            normal_spread: Some(NormalSpread {
                age_years: Some(15.0),
                ..Default::default()
            }),
            ..ModelOutput::default()
        };
        let a = Analysis {
            recording: Recording {
                patient: Patient {
                    age_years: Some(30.0),
                    sex: Some(Sex::Female),
                    ..Default::default()
                },
                sample_rate_hz: 500.0,
                ..Recording::default()
            },
            anomaly: Some(ours),
            ..Analysis::default()
        };
        let f = StudyFindings::of(&a);
        let o = f.ours.as_ref().unwrap();
        assert_eq!(
            o.verdict,
            "Outside the range of the 7243 normal ECGs the model learned from"
        );
        assert_eq!(o.segments.len(), 1);
        assert!((o.segments[0].peak_s - 4.0).abs() < 0.011);
        assert!(o.segments_note.is_none());
        let flagged: Vec<&str> = f.flagged().map(|c| c.label).collect();
        assert_eq!(flagged, ["Age (y)", "Sex"]);
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["ours"]["segments"][0]["leads"][0], "I");
        assert_eq!(json["attributes"][1]["flagged"], true);
        assert!(f.baseline.is_none());
    }
}
