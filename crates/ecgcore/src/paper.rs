//! Paper ECG layouts and where each lead sits in them — the one definition that the screen,
//! the PDF report, the digitizer and the model's paper-input calibration all use.
//!
//! The standard print formats (IEC 60601-2-25 figures; the conventions every
//! 12-lead cart follows): a page shows 10 s. "3×4" has three rows of four 2.5 s columns
//! (I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6) and optionally full-width 10 s rhythm
//! strips below (lead II; II and V5; or V1, II and V5). "6×2" has six rows of two 5 s
//! columns (limb leads left, chest leads right). "12×1" has twelve 10 s rows in the
//! conventional order. Column c of a row shows the time window the column covers:
//! in 3×4, seconds 2.5·c to 2.5·(c+1).
//!
//! Units: seconds from the start of the 10 s page.

use crate::StandardLead;
use std::fmt;

/// Seconds of ECG one page shows.
pub const PAGE_DURATION_S: f32 = 10.0;

/// The conventional 3×4 grid, row by row: I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6.
pub const THREE_BY_FOUR: [[StandardLead; 4]; 3] = [
    [
        StandardLead::I,
        StandardLead::AVR,
        StandardLead::V1,
        StandardLead::V4,
    ],
    [
        StandardLead::II,
        StandardLead::AVL,
        StandardLead::V2,
        StandardLead::V5,
    ],
    [
        StandardLead::III,
        StandardLead::AVF,
        StandardLead::V3,
        StandardLead::V6,
    ],
];
/// Seconds per column in 3×4.
pub const THREE_BY_FOUR_COLUMN_S: f32 = 2.5;

/// A paper layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Three rows of four 2.5 s columns plus `rhythm_strips` (0–3) full-width 10 s rows.
    ThreeByFour { rhythm_strips: u8 },
    /// Six rows of two 5 s columns.
    SixByTwo,
    /// Twelve full-width 10 s rows.
    TwelveByOne,
}

/// One lead's place on the page: its row and the time window it shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    pub lead: StandardLead,
    /// Row index from the top (0-based) among the trace rows.
    pub row: usize,
    pub start_s: f32,
    pub end_s: f32,
    /// True for a full-width rhythm strip (preferred over a short cell of the same lead).
    pub rhythm: bool,
}

impl Layout {
    /// Number of trace rows the layout prints.
    pub fn rows(self) -> usize {
        match self {
            Layout::ThreeByFour { rhythm_strips } => 3 + usize::from(rhythm_strips.min(3)),
            Layout::SixByTwo => 6,
            Layout::TwelveByOne => 12,
        }
    }

    /// The layout that prints `rows` trace rows, when there is a usual one.
    pub fn from_row_count(rows: usize) -> Option<Layout> {
        match rows {
            3..=5 => Some(Layout::ThreeByFour {
                rhythm_strips: (rows - 3) as u8,
            }),
            6 => Some(Layout::SixByTwo),
            12 => Some(Layout::TwelveByOne),
            _ => None,
        }
    }

    /// Every lead's cell, rhythm strips last.
    pub fn cells(self) -> Vec<Cell> {
        use StandardLead as L;
        let mut cells = Vec::new();
        match self {
            Layout::ThreeByFour { rhythm_strips } => {
                for (row, leads) in THREE_BY_FOUR.iter().enumerate() {
                    for (col, lead) in leads.iter().enumerate() {
                        let start_s = THREE_BY_FOUR_COLUMN_S * col as f32;
                        cells.push(Cell {
                            lead: *lead,
                            row,
                            start_s,
                            end_s: start_s + THREE_BY_FOUR_COLUMN_S,
                            rhythm: false,
                        });
                    }
                }
                let strips: &[L] = match rhythm_strips {
                    0 => &[],
                    1 => &[L::II],
                    2 => &[L::II, L::V5],
                    _ => &[L::V1, L::II, L::V5],
                };
                for (i, lead) in strips.iter().enumerate() {
                    cells.push(Cell {
                        lead: *lead,
                        row: 3 + i,
                        start_s: 0.0,
                        end_s: PAGE_DURATION_S,
                        rhythm: true,
                    });
                }
            }
            Layout::SixByTwo => {
                let limb = [L::I, L::II, L::III, L::AVR, L::AVL, L::AVF];
                let chest = [L::V1, L::V2, L::V3, L::V4, L::V5, L::V6];
                for row in 0..6 {
                    cells.push(Cell {
                        lead: limb[row],
                        row,
                        start_s: 0.0,
                        end_s: 5.0,
                        rhythm: false,
                    });
                    cells.push(Cell {
                        lead: chest[row],
                        row,
                        start_s: 5.0,
                        end_s: 10.0,
                        rhythm: false,
                    });
                }
            }
            Layout::TwelveByOne => {
                for (row, lead) in StandardLead::ALL.iter().enumerate() {
                    cells.push(Cell {
                        lead: *lead,
                        row,
                        start_s: 0.0,
                        end_s: PAGE_DURATION_S,
                        rhythm: true,
                    });
                }
            }
        }
        cells
    }
}

impl Layout {
    /// The usual 3×4 page with one lead II rhythm strip.
    pub const THREE_BY_FOUR_II: Layout = Layout::ThreeByFour { rhythm_strips: 1 };

    /// Which of `n_samples` samples (evenly spread over the 10 s page) each standard lead
    /// shows, in [`StandardLead::ALL`] order: `true` where the page prints the lead.
    pub fn visible(self, n_samples: usize) -> Vec<Vec<bool>> {
        let mut out = vec![vec![false; n_samples]; StandardLead::ALL.len()];
        for cell in self.cells() {
            let a = ((cell.start_s / PAGE_DURATION_S) * n_samples as f32).round() as usize;
            let b = ((cell.end_s / PAGE_DURATION_S) * n_samples as f32).round() as usize;
            if let Some(span) = out[cell.lead.index()].get_mut(a.min(n_samples)..b.min(n_samples)) {
                span.fill(true);
            }
        }
        out
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layout::ThreeByFour { rhythm_strips: 0 } => write!(f, "3×4"),
            Layout::ThreeByFour { rhythm_strips } => {
                write!(f, "3×4 + {rhythm_strips} rhythm strip")?;
                if *rhythm_strips > 1 {
                    write!(f, "s")?;
                }
                Ok(())
            }
            Layout::SixByTwo => write!(f, "6×2"),
            Layout::TwelveByOne => write!(f, "12×1"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_shows_all_twelve_leads() {
        for layout in [
            Layout::ThreeByFour { rhythm_strips: 1 },
            Layout::SixByTwo,
            Layout::TwelveByOne,
        ] {
            let cells = layout.cells();
            for lead in StandardLead::ALL {
                assert!(
                    cells.iter().any(|c| c.lead == lead),
                    "{layout} lacks {lead:?}"
                );
            }
            assert!(cells.iter().all(|c| c.row < layout.rows()));
            assert_eq!(Layout::from_row_count(layout.rows()), Some(layout));
        }
    }

    #[test]
    fn three_by_four_shows_each_lead_for_its_column_and_ii_throughout() {
        let v = Layout::THREE_BY_FOUR_II.visible(1000);
        let shown = |lead: StandardLead| -> Vec<usize> {
            let row = &v[lead.index()];
            vec![
                row.iter().position(|&x| x).unwrap(),
                row.iter().filter(|&&x| x).count(),
            ]
        };
        assert_eq!(shown(StandardLead::I), [0, 250]);
        assert_eq!(shown(StandardLead::II), [0, 1000]);
        assert_eq!(shown(StandardLead::AVF), [250, 250]);
        assert_eq!(shown(StandardLead::V2), [500, 250]);
        assert_eq!(shown(StandardLead::V6), [750, 250]);
    }
}
