//! Paper geometry: where each lead goes on the page, in millimetres of paper.
//!
//! Conventions (DESIGN.md §7): 3×4 has columns at 0/2.5/5/7.5 s with rows
//! I–aVR–V1–V4, II–aVL–V2–V5, III–aVF–V3–V6 and a 10 s lead II rhythm strip; 6×2 shows the
//! limb leads over the first 5 s and the chest leads over the next 5 s; 12×1 shows every
//! lead over 10 s. A 1 mV calibration pulse (0.2 s wide) precedes each row. Positions are
//! in paper millimetres from the top-left corner; time maps to x at the paper speed and
//! millivolts to y at the gain. Pure geometry: no egui, no drawing.

use crate::app::settings::Layout;
use ecgcore::paper::Layout as PaperLayout;
use ecgcore::{Recording, StandardLead};

/// Width reserved at the start of each row for the calibration pulse (mm) at a speed:
/// the 0.2 s pulse plus 5 mm, at least 10 mm.
pub fn pulse_area_mm(speed_mm_per_s: f32) -> f32 {
    (0.2 * speed_mm_per_s + 5.0).max(10.0)
}
/// Seconds shown across the page.
pub const PAGE_SECONDS: f64 = 10.0;
/// Margin above the first row and below the last (mm).
pub const MARGIN_MM: f32 = 5.0;

/// A lead as it appears on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayLead {
    /// Label printed on the paper.
    pub label: String,
    /// Index into `Recording::leads`, or `None` when the file lacks this lead.
    pub source: Option<usize>,
    pub derived: bool,
}

/// One lead drawn over a time span at a place on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub lead: DisplayLead,
    /// Time span in the recording (seconds from the window start).
    pub t_start_s: f64,
    pub t_end_s: f64,
    /// Paper x of `t_start_s` (mm).
    pub x_mm: f32,
    /// Paper y of 0 mV (mm).
    pub baseline_y_mm: f32,
}

/// One row of the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub segments: Vec<Segment>,
    pub baseline_y_mm: f32,
    pub height_mm: f32,
}

/// The whole page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Width of the calibration-pulse area at the start of each row (mm).
    pub pulse_area_mm: f32,
    pub rows: Vec<Row>,
    pub width_mm: f32,
    pub height_mm: f32,
    pub speed_mm_per_s: f32,
    pub gain_mm_per_mv: f32,
}

impl Page {
    /// The segment under a paper point, if any.
    pub fn segment_at(&self, x_mm: f32, y_mm: f32) -> Option<&Segment> {
        self.rows
            .iter()
            .find(|r| (y_mm - r.baseline_y_mm).abs() <= r.height_mm / 2.0)
            .and_then(|r| {
                r.segments.iter().find(|s| {
                    let x_end = s.x_mm + ((s.t_end_s - s.t_start_s) as f32) * self.speed_mm_per_s;
                    x_mm >= s.x_mm && x_mm < x_end
                })
            })
    }

    /// Time (s) at paper x within a segment.
    pub fn time_at(&self, segment: &Segment, x_mm: f32) -> f64 {
        segment.t_start_s + f64::from((x_mm - segment.x_mm) / self.speed_mm_per_s)
    }
}

/// The 12 standard slots for a recording (missing leads included), followed by any
/// non-standard leads it has (e.g. MIT-BIH "MLII").
pub fn display_leads(rec: &Recording) -> Vec<DisplayLead> {
    let mut out: Vec<DisplayLead> = StandardLead::ALL
        .iter()
        .map(|s| {
            let source = rec.leads.iter().position(|l| l.standard == Some(*s));
            DisplayLead {
                // The conventional label (aVR, not AVR) for a recognised standard lead.
                label: s.label().to_string(),
                source,
                derived: source.is_some_and(|i| rec.leads[i].derived),
            }
        })
        .collect();
    for (i, l) in rec.leads.iter().enumerate() {
        if l.standard.is_none() {
            out.push(DisplayLead {
                label: l.name.clone(),
                source: Some(i),
                derived: l.derived,
            });
        }
    }
    out
}

/// The rows of a standard paper layout ([`ecgcore::paper`]): (lead, start s, end s) per cell.
fn paper_rows(
    layout: PaperLayout,
    slot: &dyn Fn(StandardLead) -> DisplayLead,
) -> Vec<Vec<(DisplayLead, f64, f64)>> {
    let mut rows = vec![Vec::new(); layout.rows()];
    for cell in layout.cells() {
        rows[cell.row].push((
            slot(cell.lead),
            f64::from(cell.start_s),
            f64::from(cell.end_s),
        ));
    }
    rows
}

/// The seconds a lead has samples for (first to last finite sample), within the page.
fn recorded_span(rec: &Recording, index: usize) -> Option<(f64, f64)> {
    let (start, end) = rec.leads.get(index)?.recorded_span_s(rec.sample_rate_hz)?;
    let end = end.min(PAGE_SECONDS);
    (start < end).then_some((start, end))
}

/// The paper layout's rows, then one row per lead beyond the standard twelve (the extra
/// leads of a 15-lead page, V4R, V8, V9, …) drawn where its samples lie: a 15-lead page's
/// 2 s cells keep their seconds.
fn with_extra_rows(
    mut rows: Vec<Vec<(DisplayLead, f64, f64)>>,
    rec: &Recording,
    leads: &[DisplayLead],
) -> Vec<Vec<(DisplayLead, f64, f64)>> {
    for lead in leads.iter().skip(StandardLead::ALL.len()) {
        if let Some((t0, t1)) = lead.source.and_then(|i| recorded_span(rec, i)) {
            rows.push(vec![(lead.clone(), t0, t1)]);
        }
    }
    rows
}

/// Build the page for a layout.
pub fn page(
    rec: &Recording,
    layout: Layout,
    speed_mm_per_s: f32,
    gain_mm_per_mv: f32,
    single_lead: usize,
) -> Page {
    let leads = display_leads(rec);
    let has_standard = leads.iter().take(12).any(|l| l.source.is_some());
    let duration_s = rec.duration_s().min(PAGE_SECONDS);
    let slot = |s: StandardLead| leads[s.index()].clone();
    // (lead, column start s, column end s) per row.
    let spec: Vec<Vec<(DisplayLead, f64, f64)>> = match (layout, layout.paper()) {
        _ if !has_standard => leads
            .iter()
            .filter(|l| l.source.is_some())
            .map(|l| vec![(l.clone(), 0.0, duration_s)])
            .collect(),
        // 3×4 + II and 6×2: the printed layout's cells (`Layout::paper`).
        (_, Some(paper)) => with_extra_rows(paper_rows(paper, &slot), rec, &leads),
        (Layout::TwelveByOne, None) => leads
            .iter()
            .map(|l| vec![(l.clone(), 0.0, PAGE_SECONDS)])
            .collect(),
        (_, None) => {
            let l = leads
                .get(single_lead)
                .cloned()
                .unwrap_or_else(|| leads[1].clone());
            vec![vec![(l, 0.0, PAGE_SECONDS)]]
        }
    };
    let row_mv = match layout {
        Layout::ThreeByFourRhythm | Layout::SixByTwo => 3.0,
        Layout::TwelveByOne => 2.5,
        Layout::Single => 6.0,
    };
    let height_mm = (row_mv * gain_mm_per_mv).max(15.0);
    let pulse_area = pulse_area_mm(speed_mm_per_s);
    let mut rows = Vec::with_capacity(spec.len());
    let mut y = MARGIN_MM;
    for row_spec in spec {
        let baseline_y_mm = y + height_mm / 2.0;
        let segments = row_spec
            .into_iter()
            .map(|(lead, t0, t1)| Segment {
                lead,
                t_start_s: t0.min(duration_s),
                t_end_s: t1.min(duration_s),
                x_mm: pulse_area + (t0 as f32) * speed_mm_per_s,
                baseline_y_mm,
            })
            .collect();
        rows.push(Row {
            segments,
            baseline_y_mm,
            height_mm,
        });
        y += height_mm;
    }
    Page {
        pulse_area_mm: pulse_area,
        rows,
        width_mm: pulse_area + (PAGE_SECONDS as f32) * speed_mm_per_s + MARGIN_MM,
        height_mm: y + MARGIN_MM,
        speed_mm_per_s,
        gain_mm_per_mv,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::settings::tests::twelve_lead;
    use ecgcore::Lead;

    #[test]
    fn three_by_four_follows_the_paper_convention() {
        let p = page(&twelve_lead(), Layout::ThreeByFourRhythm, 25.0, 10.0, 1);
        assert_eq!(p.rows.len(), 4);
        let labels: Vec<_> = p.rows[0]
            .segments
            .iter()
            .map(|s| s.lead.label.as_str())
            .collect();
        assert_eq!(labels, ["I", "aVR", "V1", "V4"]);
        // Columns at 0 / 2.5 / 5 / 7.5 s, 62.5 mm apart at 25 mm/s.
        let xs: Vec<_> = p.rows[2].segments.iter().map(|s| s.x_mm).collect();
        assert_eq!(xs, [10.0, 72.5, 135.0, 197.5]);
        assert_eq!(p.rows[3].segments[0].lead.label, "II");
        assert_eq!(p.rows[3].segments[0].t_end_s, 10.0);
        assert_eq!(p.width_mm, 10.0 + 250.0 + 5.0);
        // Rows 3 mV tall at 10 mm/mV.
        assert_eq!(p.rows[1].baseline_y_mm - p.rows[0].baseline_y_mm, 30.0);
    }

    #[test]
    fn missing_leads_stay_visible_as_missing() {
        let mut rec = twelve_lead();
        rec.leads.retain(|l| l.standard != Some(StandardLead::V3));
        let p = page(&rec, Layout::SixByTwo, 25.0, 10.0, 1);
        let v3 = &p.rows[2].segments[1];
        assert_eq!(v3.lead.label, "V3");
        assert_eq!(v3.lead.source, None);
    }

    #[test]
    fn extra_leads_of_a_fifteen_lead_page_are_drawn_in_every_layout() {
        // A digitized 15-lead page: the twelve, then V4R, V8, V9 under their own names.
        let mut rec = twelve_lead();
        for name in ["V4R", "V8", "V9"] {
            let mut l = Lead::new(name, vec![f32::NAN; 5000]);
            l.samples_mv[4000..].fill(0.1);
            rec.leads.push(l);
        }
        let p = page(&rec, Layout::TwelveByOne, 25.0, 10.0, 1);
        let labels: Vec<_> = p
            .rows
            .iter()
            .map(|r| r.segments[0].lead.label.as_str())
            .collect();
        assert_eq!(&labels[12..], ["V4R", "V8", "V9"]);
        assert_eq!(p.rows[12].segments[0].lead.source, Some(12));
        // The 3×4 and 6×2 views keep their rows and add one per extra lead, drawn over the
        // seconds it was recorded (8–10 s: the 15-lead page's fifth column).
        let p = page(&rec, Layout::ThreeByFourRhythm, 25.0, 10.0, 1);
        assert_eq!(p.rows.len(), 7);
        assert_eq!(p.rows[3].segments[0].lead.label, "II");
        for (row, name) in p.rows[4..].iter().zip(["V4R", "V8", "V9"]) {
            let s = &row.segments[0];
            assert_eq!(
                (s.lead.label.as_str(), s.t_start_s, s.t_end_s),
                (name, 8.0, 10.0)
            );
            assert_eq!(s.x_mm, 10.0 + 8.0 * 25.0);
        }
        assert_eq!(
            page(&rec, Layout::SixByTwo, 25.0, 10.0, 1).rows.len(),
            6 + 3
        );
        // A twelve-lead study is unchanged.
        assert_eq!(
            page(&twelve_lead(), Layout::ThreeByFourRhythm, 25.0, 10.0, 1)
                .rows
                .len(),
            4
        );
    }

    #[test]
    fn segment_lookup_maps_paper_to_time() {
        let p = page(&twelve_lead(), Layout::ThreeByFourRhythm, 50.0, 10.0, 1);
        let y = p.rows[0].baseline_y_mm;
        assert_eq!(p.pulse_area_mm, 15.0, "0.2 s pulse at 50 mm/s plus 5 mm");
        let s = p.segment_at(15.0 + 130.0, y).unwrap();
        assert_eq!(s.lead.label, "aVR");
        assert!((p.time_at(s, 15.0 + 130.0) - 2.6).abs() < 1e-6);
    }
}
