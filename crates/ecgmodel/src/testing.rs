//! Synthetic input for tests of this crate and its users (not real ECG data, and never
//! used for any figure): a beat train with a narrow QRS-like spike and a T-like bump.

use ecgcore::recording::{Lead, Recording, StandardLead};

/// 12 standard leads at `fs` Hz for `seconds`: 66 beats/min, a 20 ms spike at 30 % of each
/// cycle and a 0.2-amplitude bump at 60 %; lead k is scaled by 1 + 0.1·k (mV).
pub fn synthetic_recording(fs: f64, seconds: f64) -> Recording {
    let n = (fs * seconds) as usize;
    let leads = StandardLead::ALL
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let samples = (0..n)
                .map(|i| {
                    let t = i as f64 / fs;
                    let phase = (t * 1.1).fract();
                    let qrs = (-((phase - 0.3) / 0.02).powi(2)).exp();
                    let tw = 0.2 * (-((phase - 0.6) / 0.08).powi(2)).exp();
                    ((1.0 + 0.1 * k as f64) * (qrs + tw)) as f32
                })
                .collect();
            Lead::new(s.label(), samples)
        })
        .collect();
    Recording {
        leads,
        sample_rate_hz: fs,
        ..Recording::default()
    }
}
