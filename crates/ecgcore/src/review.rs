//! The reader's corrections of the automatic measurements.
//!
//! A cardiologist may correct the R-R interval, PR, QRS and QT (the values go into the
//! chart). Heart rate follows from R-R, and QTc (Bazett, Fridericia) from QT and R-R, so
//! they change with them. The automatic value is always kept beside the corrected one
//! ([`Edited`]), and every rendering marks corrected values as edited.

use crate::dsp::measurements::{Measurements, Quantity};
use serde::{Deserialize, Serialize};

/// Corrected intervals (ms); `None` = the automatic value stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasurementEdits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rr_ms: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_ms: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qrs_ms: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qt_ms: Option<f32>,
    /// Where the reader put QRS onset on the median beat, relative to the automatic one
    /// (ms; only for drawing the markers where they were dragged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qrs_onset_shift_ms: Option<f32>,
}

/// The range a corrected interval must lie in (ms), per quantity.
pub const PLAUSIBLE_MS: [(Quantity, f32, f32); 4] = [
    (Quantity::RrMs, 200.0, 3000.0),
    (Quantity::PrMs, 40.0, 600.0),
    (Quantity::QrsMs, 20.0, 300.0),
    (Quantity::QtMs, 100.0, 800.0),
];

/// A value the reader corrected, with the automatic one it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Edited {
    pub quantity: Quantity,
    pub value: f32,
    /// `None` when the automatic measurement had no value.
    pub automatic: Option<f32>,
}

impl MeasurementEdits {
    /// No correction at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.edited_values().iter().all(|(_, v)| v.is_none())
    }

    fn edited_values(&self) -> [(Quantity, Option<f32>); 4] {
        [
            (Quantity::RrMs, self.rr_ms),
            (Quantity::PrMs, self.pr_ms),
            (Quantity::QrsMs, self.qrs_ms),
            (Quantity::QtMs, self.qt_ms),
        ]
    }

    /// Refuse values outside [`PLAUSIBLE_MS`] (or not finite), naming the first.
    ///
    /// # Errors
    /// A sentence for the user: which value, and the range it must lie in.
    pub fn check(&self) -> Result<(), String> {
        for ((q, v), (_, lo, hi)) in self.edited_values().iter().zip(PLAUSIBLE_MS) {
            if let Some(v) = v {
                if !(v.is_finite() && (lo..=hi).contains(v)) {
                    return Err(format!(
                        "a corrected {} of {v} ms is not plausible; enter a value from {lo:.0} to {hi:.0} ms",
                        label(*q)
                    ));
                }
            }
        }
        Ok(())
    }

    /// The measurements with the corrections applied, and what changed (with the
    /// automatic values). Heart rate follows R-R; QTc follows QT and R-R.
    #[must_use]
    pub fn apply(&self, automatic: &Measurements) -> (Measurements, Vec<Edited>) {
        let mut m = automatic.clone();
        let mut edited = Vec::new();
        let mut set = |m: &mut Measurements, q: Quantity, v: Option<f32>| {
            let Some(v) = v.filter(|v| v.is_finite()) else {
                return;
            };
            let slot = match q {
                Quantity::HeartRateBpm => &mut m.heart_rate_bpm,
                Quantity::RrMs => &mut m.rr_ms,
                Quantity::PrMs => &mut m.pr_ms,
                Quantity::QrsMs => &mut m.qrs_ms,
                Quantity::QtMs => &mut m.qt_ms,
                Quantity::QtcBazettMs => &mut m.qtc_bazett_ms,
                Quantity::QtcFridericiaMs => &mut m.qtc_fridericia_ms,
                _ => return,
            };
            let automatic = *slot;
            *slot = Some(v);
            m.missing_reasons.retain(|r| r.field != q);
            edited.push(Edited {
                quantity: q,
                value: v,
                automatic,
            });
        };
        set(&mut m, Quantity::RrMs, self.rr_ms);
        set(
            &mut m,
            Quantity::HeartRateBpm,
            self.rr_ms.map(|rr| 60_000.0 / rr),
        );
        set(&mut m, Quantity::PrMs, self.pr_ms);
        set(&mut m, Quantity::QrsMs, self.qrs_ms);
        set(&mut m, Quantity::QtMs, self.qt_ms);
        if self.rr_ms.is_some() || self.qt_ms.is_some() {
            if let (Some(qt), Some(rr)) = (m.qt_ms, m.rr_ms.filter(|rr| *rr > 0.0)) {
                let rr_s = rr / 1000.0;
                set(&mut m, Quantity::QtcBazettMs, Some(qt / rr_s.sqrt()));
                set(&mut m, Quantity::QtcFridericiaMs, Some(qt / rr_s.cbrt()));
            }
        }
        (m, edited)
    }
}

/// "R-R", "PR", "QRS", "QT".
#[must_use]
pub fn label(q: Quantity) -> &'static str {
    match q {
        Quantity::RrMs => "R-R",
        Quantity::PrMs => "PR",
        Quantity::QrsMs => "QRS",
        Quantity::QtMs => "QT",
        Quantity::HeartRateBpm => "heart rate",
        Quantity::QtcBazettMs => "QTc Bazett",
        Quantity::QtcFridericiaMs => "QTc Fridericia",
        Quantity::PMs => "P duration",
        Quantity::PAxisDeg => "P axis",
        Quantity::QrsAxisDeg => "QRS axis",
        Quantity::TAxisDeg => "T axis",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto() -> Measurements {
        Measurements {
            rr_ms: Some(1000.0),
            heart_rate_bpm: Some(60.0),
            pr_ms: None,
            qrs_ms: Some(112.0),
            qt_ms: Some(400.0),
            qtc_bazett_ms: Some(400.0),
            qtc_fridericia_ms: Some(400.0),
            missing_reasons: vec![crate::dsp::measurements::Missing {
                field: Quantity::PrMs,
                reason: "no P wave".into(),
            }],
            ..Measurements::default()
        }
    }

    #[test]
    fn corrections_replace_values_keep_the_automatic_ones_and_carry_to_rate_and_qtc() {
        let edits = MeasurementEdits {
            rr_ms: Some(800.0),
            pr_ms: Some(170.0),
            qrs_ms: Some(96.0),
            ..MeasurementEdits::default()
        };
        let (m, edited) = edits.apply(&auto());
        assert_eq!(m.qrs_ms, Some(96.0));
        assert_eq!(m.heart_rate_bpm, Some(75.0));
        // QT unchanged, QTc recomputed with the corrected R-R.
        assert_eq!(m.qt_ms, Some(400.0));
        assert!((m.qtc_bazett_ms.unwrap() - 400.0 / 0.8_f32.sqrt()).abs() < 1e-3);
        assert!(m.reason(Quantity::PrMs).is_none());
        let find = |q| edited.iter().find(|e| e.quantity == q).copied();
        assert_eq!(find(Quantity::QrsMs).unwrap().automatic, Some(112.0));
        assert_eq!(find(Quantity::PrMs).unwrap().automatic, None);
        assert_eq!(find(Quantity::HeartRateBpm).unwrap().value, 75.0);
        assert!(find(Quantity::QtMs).is_none());
        assert!(find(Quantity::QtcFridericiaMs).is_some());
    }

    #[test]
    fn no_edits_change_nothing_and_implausible_values_are_refused() {
        let (m, edited) = MeasurementEdits::default().apply(&auto());
        assert_eq!(m, auto());
        assert!(edited.is_empty());
        assert!(MeasurementEdits::default().is_empty());
        let bad = MeasurementEdits {
            qrs_ms: Some(5.0),
            ..MeasurementEdits::default()
        };
        let err = bad.check().unwrap_err();
        assert!(err.contains("QRS") && err.contains("20 to 300"), "{err}");
        assert!(MeasurementEdits {
            qt_ms: Some(f32::NAN),
            ..MeasurementEdits::default()
        }
        .check()
        .is_err());
    }
}
