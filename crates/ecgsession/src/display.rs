//! Display filters: how the tracing is filtered for the screen and the report (the stored
//! signal is never changed), and how that is labelled.

use ecgcore::dsp::filter;
use ecgcore::Recording;
use serde::{Deserialize, Serialize};

/// Mains frequency for the notch filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Notch {
    #[default]
    Off,
    Hz50,
    Hz60,
}

impl Notch {
    /// The mains frequency filtered out, if any.
    pub fn hz(self) -> Option<f64> {
        match self {
            Notch::Off => None,
            Notch::Hz50 => Some(50.0),
            Notch::Hz60 => Some(60.0),
        }
    }
}

/// Display filters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterSettings {
    pub baseline_wander: bool,
    pub notch: Notch,
    /// Low-pass cut-off in Hz; `None` = off.
    pub lowpass_hz: Option<f32>,
}

impl Default for FilterSettings {
    fn default() -> Self {
        FilterSettings {
            baseline_wander: true,
            notch: Notch::Off,
            lowpass_hz: Some(150.0),
        }
    }
}

impl FilterSettings {
    /// How the filters are labelled on screen and in reports, e.g. "0.5–150 Hz, 50 Hz notch".
    pub fn label(&self) -> String {
        let hp = if self.baseline_wander { "0.5" } else { "0" };
        let lp = self
            .lowpass_hz
            .map_or_else(|| "full band".to_string(), |f| format!("{f:.0} Hz"));
        let mut s = if self.lowpass_hz.is_some() {
            format!("{hp}–{lp}")
        } else if self.baseline_wander {
            "0.5 Hz high-pass".to_string()
        } else {
            "unfiltered".to_string()
        };
        match self.notch {
            Notch::Off => {}
            Notch::Hz50 => s.push_str(", 50 Hz notch"),
            Notch::Hz60 => s.push_str(", 60 Hz notch"),
        }
        s
    }

    /// The recording with these filters applied (zero-phase, per lead).
    pub fn apply(&self, rec: &Recording) -> Recording {
        let mut out = rec.clone();
        let fs = rec.sample_rate_hz;
        for lead in &mut out.leads {
            let mut x = std::mem::take(&mut lead.samples_mv);
            if self.baseline_wander {
                x = filter::remove_baseline_wander(&x, fs);
            }
            if let Some(mains) = self.notch.hz() {
                x = filter::notch(&x, fs, mains);
            }
            if let Some(cutoff) = self.lowpass_hz {
                x = filter::lowpass(&x, fs, f64::from(cutoff));
            }
            lead.samples_mv = x;
        }
        out
    }
}
