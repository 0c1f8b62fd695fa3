//! What the paper view shows beyond the tracing, as app state: the caliper (placed by
//! clicks that the paper widget returns as commands) and the last "jump to" request.
//! Units: paper millimetres from the page's top-left corner.

use egui::Pos2;
use std::fmt::Write as _;

/// Caliper end points in paper millimetres.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Caliper {
    pub a: Option<Pos2>,
    pub b: Option<Pos2>,
}

/// What a placed caliper measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaliperReadout {
    pub dt_ms: f32,
    pub dv_uv: f32,
    /// Rate if the span is one R–R interval (bpm).
    pub rate_bpm: Option<f32>,
}

impl Caliper {
    /// Δt, ΔV and rate at the given speed and gain, once both ends are placed.
    pub fn readout(&self, speed_mm_per_s: f32, gain_mm_per_mv: f32) -> Option<CaliperReadout> {
        let (a, b) = (self.a?, self.b?);
        let dt_ms = (b.x - a.x).abs() / speed_mm_per_s * 1000.0;
        // Paper y grows downwards; up is positive voltage.
        let dv_uv = (a.y - b.y) / gain_mm_per_mv * 1000.0;
        let rate_bpm = (dt_ms > 1.0).then(|| 60_000.0 / dt_ms);
        Some(CaliperReadout {
            dt_ms,
            dv_uv,
            rate_bpm,
        })
    }

    /// Next click: first end, second end, then start over.
    pub fn click(&mut self, at_mm: Pos2) {
        if let (Some(_), None) = (self.a, self.b) {
            self.b = Some(at_mm);
        } else {
            self.a = Some(at_mm);
            self.b = None;
        }
    }
}

/// "Δt 812 ms · ΔV 450 µV · 74 bpm".
pub fn readout_text(r: &CaliperReadout) -> String {
    let mut s = format!("Δt {:.0} ms · ΔV {:.0} µV", r.dt_ms, r.dv_uv);
    if let Some(rate) = r.rate_bpm {
        let _ = write!(s, " · {rate:.0} bpm");
    }
    s
}

/// A request to scroll to a lead at a time and highlight it; `id` tells a new request from
/// one already handled.
#[derive(Debug, Clone, PartialEq)]
pub struct Jump {
    pub lead: String,
    pub time_s: f64,
    pub id: u64,
}

/// The main pane's view state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaperView {
    pub caliper: Caliper,
    pub caliper_mode: bool,
    pub jump: Option<Jump>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caliper_measures_time_voltage_and_rate() {
        let mut c = Caliper::default();
        c.click(Pos2::new(20.0, 50.0));
        assert!(c.readout(25.0, 10.0).is_none());
        c.click(Pos2::new(40.0, 40.0)); // 20 mm at 25 mm/s = 800 ms; 10 mm up at 10 mm/mV = 1 mV
        let r = c.readout(25.0, 10.0).unwrap();
        assert!((r.dt_ms - 800.0).abs() < 1e-3);
        assert!((r.dv_uv - 1000.0).abs() < 1e-3);
        assert!((r.rate_bpm.unwrap() - 75.0).abs() < 1e-3);
        assert_eq!(readout_text(&r), "Δt 800 ms · ΔV 1000 µV · 75 bpm");
        c.click(Pos2::new(1.0, 1.0));
        assert!(c.b.is_none(), "a third click starts a new caliper");
    }
}
