//! The `Recording`: one ECG study as the rest of ecgscope sees it.
//!
//! Units: samples in millivolts (`f32`), time in samples at `sample_rate_hz`. A sample
//! the source does not provide (e.g. a digitized image where a lead is not shown) is
//! `f32::NAN`. All leads have the same length. No I/O, no GUI, no LibTorch here.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The twelve standard leads, in the conventional order (I, II, III, aVR, aVL, aVF, V1–V6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StandardLead {
    I,
    II,
    III,
    AVR,
    AVL,
    AVF,
    V1,
    V2,
    V3,
    V4,
    V5,
    V6,
}

impl StandardLead {
    /// All twelve, in the conventional display and model order.
    pub const ALL: [StandardLead; 12] = [
        StandardLead::I,
        StandardLead::II,
        StandardLead::III,
        StandardLead::AVR,
        StandardLead::AVL,
        StandardLead::AVF,
        StandardLead::V1,
        StandardLead::V2,
        StandardLead::V3,
        StandardLead::V4,
        StandardLead::V5,
        StandardLead::V6,
    ];

    /// Conventional label, as printed on paper ECGs.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            StandardLead::I => "I",
            StandardLead::II => "II",
            StandardLead::III => "III",
            StandardLead::AVR => "aVR",
            StandardLead::AVL => "aVL",
            StandardLead::AVF => "aVF",
            StandardLead::V1 => "V1",
            StandardLead::V2 => "V2",
            StandardLead::V3 => "V3",
            StandardLead::V4 => "V4",
            StandardLead::V5 => "V5",
            StandardLead::V6 => "V6",
        }
    }

    /// Index in [`StandardLead::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Recognise a lead name as written by devices and file formats
    /// ("aVR", "AVR", "avr", "Lead II", "MDC_ECG_LEAD_V1", "V1 ", "-aVR" is not aVR).
    #[must_use]
    pub fn from_name(name: &str) -> Option<StandardLead> {
        let mut s = name.trim().to_ascii_uppercase();
        for prefix in ["MDC_ECG_LEAD_", "LEAD_", "LEAD ", "ECG "] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest.trim().to_string();
            }
        }
        Some(match s.as_str() {
            "I" | "1" => StandardLead::I,
            "II" | "2" => StandardLead::II,
            "III" | "3" => StandardLead::III,
            "AVR" => StandardLead::AVR,
            "AVL" => StandardLead::AVL,
            "AVF" => StandardLead::AVF,
            "V1" => StandardLead::V1,
            "V2" => StandardLead::V2,
            "V3" => StandardLead::V3,
            "V4" => StandardLead::V4,
            "V5" => StandardLead::V5,
            "V6" => StandardLead::V6,
            _ => return None,
        })
    }
}

/// One lead: its name as recorded, the standard lead it is (if any), samples in mV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// Name as the file records it.
    pub name: String,
    /// The standard lead this is, when recognised.
    pub standard: Option<StandardLead>,
    /// Samples in millivolts; `NaN` where the source has no value.
    pub samples_mv: Vec<f32>,
    /// True when this lead was computed from others (e.g. III = II − I), not recorded.
    pub derived: bool,
}

impl Lead {
    /// The median of the finite samples among the first `n` (mV), `None` when there are
    /// none (used to centre a strip on its baseline).
    #[must_use]
    pub fn median_of_first(&self, n: usize) -> Option<f32> {
        let mut v: Vec<f32> = self.samples_mv[..n.min(self.samples_mv.len())]
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect();
        v.sort_by(f32::total_cmp);
        v.get(v.len() / 2).copied()
    }

    /// Seconds from the first finite sample to the end of the last, at `rate_hz`; `None`
    /// when no sample is finite (a lead a paper page does not show).
    #[must_use]
    pub fn recorded_span_s(&self, rate_hz: f64) -> Option<(f64, f64)> {
        let first = self.samples_mv.iter().position(|v| v.is_finite())?;
        let last = self.samples_mv.iter().rposition(|v| v.is_finite())?;
        let rate = rate_hz.max(1e-6);
        Some((first as f64 / rate, (last + 1) as f64 / rate))
    }

    /// A recorded (not derived) lead; the standard lead is recognised from the name.
    #[must_use]
    pub fn new(name: impl Into<String>, samples_mv: Vec<f32>) -> Lead {
        let name = name.into();
        Lead {
            standard: StandardLead::from_name(&name),
            name,
            samples_mv,
            derived: false,
        }
    }
}

/// Sex as recorded in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

/// Patient metadata as recorded; every field may be absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    pub id: Option<String>,
    pub age_years: Option<f32>,
    pub sex: Option<Sex>,
    /// ISO 8601 date (YYYY-MM-DD) when known.
    pub birth_date: Option<String>,
}

/// Below this confidence (0–1) a lead read off a paper image is read with low confidence:
/// the viewer draws it red and the verdict's note names it.
pub const LOW_LEAD_CONFIDENCE: f32 = 0.5;

/// Where a recording came from and what was done to it before we saw it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Short format name ("WFDB", "CSV", "SCP-ECG", ...).
    pub format: String,
    /// The file the user opened.
    pub path: PathBuf,
    /// The rate stored in the file, before any resampling (Hz).
    pub original_sample_rate_hz: f64,
    /// Device/manufacturer, when the file says.
    pub device: Option<String>,
    /// Filters the device already applied, as the file states them.
    pub device_filters: Option<String>,
    /// Acquisition time, ISO 8601 (`YYYY-MM-DDTHH:MM:SS`) when known.
    pub acquisition_time: Option<String>,
    /// Anything else worth telling the reader (e.g. "leads III, aVR, aVL, aVF derived").
    pub notes: Vec<String>,
    /// For a recording read off a paper image: per lead shown on the page, how sure the
    /// digitizer is of its reading (0–1). Empty for recorded files.
    #[serde(default)]
    pub lead_confidence: Vec<(String, f32)>,
}

/// Measurements and statements made by the acquiring device (never mixed with ours).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceFindings {
    /// Name → value with unit, as the device reports them (e.g. "QRS duration" → "92 ms").
    pub measurements: Vec<(String, String)>,
    /// Interpretation statements, in the device's words.
    pub statements: Vec<String>,
}

/// One ECG study.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    pub leads: Vec<Lead>,
    /// Samples per second for every lead.
    pub sample_rate_hz: f64,
    pub patient: Patient,
    pub provenance: Provenance,
    pub device_findings: DeviceFindings,
    /// Representative (median) beats when the file carries them, same rate as `leads`.
    pub median_beats: Option<Vec<Lead>>,
}

/// Why a `Recording` is not usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordingError {
    #[error("the recording has no leads")]
    NoLeads,
    #[error("the sample rate {0} Hz is not usable (expected 1–100000 Hz)")]
    BadSampleRate(f64),
    #[error("lead {name} has {got} samples but lead {first} has {expected}")]
    RaggedLeads {
        name: String,
        got: usize,
        first: String,
        expected: usize,
    },
    #[error("the recording has no samples")]
    Empty,
}

impl Recording {
    /// Check the invariants every reader must uphold.
    ///
    /// # Errors
    /// When there are no leads, no samples, leads of different lengths or a bad rate.
    pub fn validate(&self) -> Result<(), RecordingError> {
        let first = self.leads.first().ok_or(RecordingError::NoLeads)?;
        if !(self.sample_rate_hz.is_finite() && (1.0..=100_000.0).contains(&self.sample_rate_hz)) {
            return Err(RecordingError::BadSampleRate(self.sample_rate_hz));
        }
        let n = first.samples_mv.len();
        if n == 0 {
            return Err(RecordingError::Empty);
        }
        for lead in &self.leads {
            if lead.samples_mv.len() != n {
                return Err(RecordingError::RaggedLeads {
                    name: lead.name.clone(),
                    got: lead.samples_mv.len(),
                    first: first.name.clone(),
                    expected: n,
                });
            }
        }
        Ok(())
    }

    /// Samples per lead.
    #[must_use]
    pub fn len_samples(&self) -> usize {
        self.leads.first().map_or(0, |l| l.samples_mv.len())
    }

    /// Duration in seconds.
    #[must_use]
    pub fn duration_s(&self) -> f64 {
        if self.sample_rate_hz > 0.0 {
            self.len_samples() as f64 / self.sample_rate_hz
        } else {
            0.0
        }
    }

    /// The lead that is the given standard lead, if present.
    #[must_use]
    pub fn lead(&self, which: StandardLead) -> Option<&Lead> {
        self.leads.iter().find(|l| l.standard == Some(which))
    }

    /// Lead names in file order.
    #[must_use]
    pub fn lead_names(&self) -> Vec<String> {
        self.leads.iter().map(|l| l.name.clone()).collect()
    }

    /// Standard leads this recording lacks.
    #[must_use]
    pub fn missing_standard_leads(&self) -> Vec<StandardLead> {
        StandardLead::ALL
            .into_iter()
            .filter(|s| self.lead(*s).is_none())
            .collect()
    }

    /// Put the standard leads in conventional order (I, II, III, aVR, aVL, aVF, V1–V6),
    /// other leads after them in their original order.
    pub fn order_standard_leads(&mut self) {
        order_standard(&mut self.leads);
    }

    /// Add III, aVR, aVL and aVF computed from I and II (Einthoven/Goldberger) where the
    /// recording lacks them; each added lead is marked `derived` and a note is recorded.
    /// Returns the leads that were added.
    pub fn derive_missing_limb_leads(&mut self) -> Vec<StandardLead> {
        let (Some(i), Some(ii)) = (
            self.lead(StandardLead::I).map(|l| l.samples_mv.clone()),
            self.lead(StandardLead::II).map(|l| l.samples_mv.clone()),
        ) else {
            return Vec::new();
        };
        let mut added = Vec::new();
        type Formula = fn(f32, f32) -> f32;
        let formulas: [(StandardLead, Formula); 4] = [
            (StandardLead::III, |i, ii| ii - i),
            (StandardLead::AVR, |i, ii| -(i + ii) / 2.0),
            (StandardLead::AVL, |i, ii| i - ii / 2.0),
            (StandardLead::AVF, |i, ii| ii - i / 2.0),
        ];
        for (which, f) in formulas {
            if self.lead(which).is_none() {
                let samples = i.iter().zip(&ii).map(|(&a, &b)| f(a, b)).collect();
                self.leads.push(Lead {
                    name: which.label().to_string(),
                    standard: Some(which),
                    samples_mv: samples,
                    derived: true,
                });
                added.push(which);
            }
        }
        if !added.is_empty() {
            let names: Vec<_> = added.iter().map(|l| l.label()).collect();
            self.provenance
                .notes
                .push(format!("leads {} derived from I and II", names.join(", ")));
        }
        added
    }

    /// The twelve standard leads in conventional order (`None` where missing).
    #[must_use]
    pub fn standard_leads(&self) -> [Option<&Lead>; 12] {
        StandardLead::ALL.map(|s| self.lead(s))
    }
}

/// Standard leads in conventional order first, others after in their original order.
pub fn order_standard(leads: &mut [Lead]) {
    leads.sort_by_key(|l| l.standard.map_or(usize::MAX, StandardLead::index));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_names_are_recognised() {
        assert_eq!(StandardLead::from_name("aVR"), Some(StandardLead::AVR));
        assert_eq!(StandardLead::from_name("AVL"), Some(StandardLead::AVL));
        assert_eq!(
            StandardLead::from_name("MDC_ECG_LEAD_V3"),
            Some(StandardLead::V3)
        );
        assert_eq!(StandardLead::from_name(" ii "), Some(StandardLead::II));
        assert_eq!(StandardLead::from_name("ABP"), None);
    }

    #[test]
    fn derived_limb_leads_follow_einthoven() {
        let mut rec = Recording {
            leads: vec![
                Lead::new("I", vec![1.0, 0.5]),
                Lead::new("II", vec![2.0, -0.5]),
            ],
            sample_rate_hz: 500.0,
            ..Recording::default()
        };
        let added = rec.derive_missing_limb_leads();
        assert_eq!(added.len(), 4);
        let iii = rec.lead(StandardLead::III).unwrap();
        assert!(iii.derived);
        assert_eq!(iii.samples_mv, vec![1.0, -1.0]);
        assert_eq!(
            rec.lead(StandardLead::AVR).unwrap().samples_mv,
            vec![-1.5, 0.0]
        );
        assert_eq!(
            rec.lead(StandardLead::AVL).unwrap().samples_mv,
            vec![0.0, 0.75]
        );
        assert_eq!(
            rec.lead(StandardLead::AVF).unwrap().samples_mv,
            vec![1.5, -0.75]
        );
        assert!(rec.validate().is_ok());
    }

    #[test]
    fn ragged_leads_are_refused() {
        let rec = Recording {
            leads: vec![Lead::new("I", vec![1.0, 0.5]), Lead::new("II", vec![2.0])],
            sample_rate_hz: 500.0,
            ..Recording::default()
        };
        assert!(matches!(
            rec.validate(),
            Err(RecordingError::RaggedLeads { .. })
        ));
    }
}
