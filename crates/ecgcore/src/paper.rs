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
//! 15-lead pages ("3×5"): three rows of five 2 s columns, the 3×4 block's leads in its
//! order in the first four (I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6, seconds 0–8) and
//! one extra lead per row in the fifth (8–10 s), plus 0–3 rhythm strips. Which extra leads
//! differs between carts and settings (right-sided V4R with posterior V8, V9 on adult
//! pages; V3R, V4R, V7 on paediatric ones; V5R, V7, …), so a 3×5 layout names its three
//! ([`ExtraLead`]); the digitizer reads them from the printed labels. The extra leads are
//! not among the twelve [`StandardLead`]s: [`Layout::cells`] gives the standard cells
//! only, [`Layout::extra_cells`] the extra ones.
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
/// Seconds per column in 3×5.
pub const THREE_BY_FIVE_COLUMN_S: f32 = 2.0;

/// A lead that 15-lead pages print besides the twelve standard ones: right-sided chest
/// leads (V3R–V5R) and posterior ones (V7–V9). Kept under its own name; the model does
/// not use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExtraLead {
    V3R,
    V4R,
    V5R,
    V7,
    V8,
    V9,
}

impl ExtraLead {
    /// Every extra lead, in the order of [`ExtraLead::index`].
    pub const ALL: [ExtraLead; 6] = [
        ExtraLead::V3R,
        ExtraLead::V4R,
        ExtraLead::V5R,
        ExtraLead::V7,
        ExtraLead::V8,
        ExtraLead::V9,
    ];

    /// The usual adult 15-lead set: V4R, V8, V9 (rows 1–3 of the fifth column).
    pub const ADULT: [ExtraLead; 3] = [ExtraLead::V4R, ExtraLead::V8, ExtraLead::V9];
    /// The usual paediatric 15-lead set: V3R, V4R, V7.
    pub const PAEDIATRIC: [ExtraLead; 3] = [ExtraLead::V3R, ExtraLead::V4R, ExtraLead::V7];

    /// The label printed on paper (and the lead's name in a `Recording`).
    pub fn label(self) -> &'static str {
        match self {
            ExtraLead::V3R => "V3R",
            ExtraLead::V4R => "V4R",
            ExtraLead::V5R => "V5R",
            ExtraLead::V7 => "V7",
            ExtraLead::V8 => "V8",
            ExtraLead::V9 => "V9",
        }
    }

    /// Index in [`ExtraLead::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The extra lead a label names (any case), if any.
    pub fn from_name(name: &str) -> Option<ExtraLead> {
        ExtraLead::ALL
            .into_iter()
            .find(|l| l.label().eq_ignore_ascii_case(name.trim()))
    }
}

/// One extra lead's place on a 15-lead page (see [`Layout::extra_cells`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExtraCell {
    pub lead: ExtraLead,
    /// Row index from the top (0-based) among the trace rows.
    pub row: usize,
    pub start_s: f32,
    pub end_s: f32,
}

/// A paper layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Three rows of four 2.5 s columns plus `rhythm_strips` (0–3) full-width 10 s rows.
    ThreeByFour { rhythm_strips: u8 },
    /// A 15-lead page: three rows of five 2 s columns, the 3×4 block's leads in the first
    /// four and `extra[row]` in the fifth (`None`: a lead whose name is not known, e.g.
    /// its label was not legible; it is not read), then full-width rhythm strips of the
    /// standard leads in `strips` (top to bottom, `None` = no more strips).
    ThreeByFive {
        extra: [Option<ExtraLead>; 3],
        strips: [Option<StandardLead>; 3],
    },
    /// Six rows of two 5 s columns.
    SixByTwo,
    /// Twelve full-width 10 s rows.
    TwelveByOne,
    /// Any other arrangement of the twelve leads: a block of rows of `columns` cells in
    /// a printed order, then full-width rhythm strips of any leads (e.g. 6×2 in another
    /// row order with a lead II strip, 3×4 with a V1 strip). See [`Grid`].
    Grid(Grid),
    /// A page that shows only some leads (a crop or close-up photo of a page), each
    /// identified by its printed label. See [`Partial`].
    Partial(Partial),
}

/// Where one lead was read on a partial page: its trace row (from the top) and the
/// seconds of the 10 s page it was placed at, in milliseconds (integers, so that layouts
/// stay `Eq` and `Hash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartialCell {
    pub row: u8,
    pub start_ms: u16,
    pub end_ms: u16,
}

/// The 3×4 block's twelve cells (rows 0–2), columns `column_s` seconds wide (2.5 s on a
/// 3×4 page, 2 s on a 3×5 page, whose fifth column holds the extra leads).
fn push_block(cells: &mut Vec<Cell>, column_s: f32) {
    for (row, leads) in THREE_BY_FOUR.iter().enumerate() {
        for (col, lead) in leads.iter().enumerate() {
            let start_s = column_s * col as f32;
            cells.push(Cell {
                lead: *lead,
                row,
                start_s,
                end_s: start_s + column_s,
                rhythm: false,
            });
        }
    }
}

/// Full-width rhythm strips below a three-row block, top to bottom.
fn push_strips(cells: &mut Vec<Cell>, strips: impl Iterator<Item = StandardLead>) {
    for (i, lead) in strips.enumerate() {
        cells.push(Cell {
            lead,
            row: 3 + i,
            start_s: 0.0,
            end_s: PAGE_DURATION_S,
            rhythm: true,
        });
    }
}

/// A partial page: per lead in [`StandardLead::ALL`] order, where it was read (`None`:
/// not on the page). With no lead at all it is the request "read the labelled leads this
/// page shows" that `Layout::parse("partial")` gives; the digitizer fills it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Partial {
    pub cells: [Option<PartialCell>; 12],
}

impl Partial {
    /// The leads on the page, top row first, left to right.
    pub fn leads(&self) -> Vec<StandardLead> {
        let mut v: Vec<(PartialCell, StandardLead)> = StandardLead::ALL
            .iter()
            .zip(&self.cells)
            .filter_map(|(l, c)| c.map(|c| (c, *l)))
            .collect();
        v.sort_by_key(|(c, _)| (c.row, c.start_ms));
        v.into_iter().map(|(_, l)| l).collect()
    }
}

/// A block of `columns` equal columns (column c of `columns` shows seconds
/// `10·c/columns` to `10·(c+1)/columns`), its leads row by row, then up to three
/// full-width 10 s rhythm strips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grid {
    /// Columns of the block: 1, 2, 3, 4 or 6 (12 is divisible by it).
    pub columns: u8,
    /// The block's leads, row-major (12 / `columns` rows).
    pub block: [StandardLead; 12],
    /// Rhythm strips below the block, top to bottom (`None` = no more strips).
    pub strips: [Option<StandardLead>; 3],
}

impl Grid {
    /// Rows of the block.
    pub fn block_rows(&self) -> usize {
        12 / usize::from(self.columns.clamp(1, 12))
    }

    /// The rhythm strips' leads.
    pub fn strip_leads(&self) -> impl Iterator<Item = StandardLead> + '_ {
        self.strips.iter().map_while(|s| *s)
    }

    /// The block's order as `6×2`-style text: `I|V1 / II|V2 / …`.
    pub fn order_text(&self) -> String {
        self.block
            .chunks(usize::from(self.columns.clamp(1, 12)))
            .map(|r| r.iter().map(|l| l.label()).collect::<Vec<_>>().join("|"))
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

/// 6×2 rows as ecg-image-kit prints them (and some carts): V1|V4, I|aVR, V2|V5, II|aVL,
/// V3|V6, III|aVF.
pub const SIX_BY_TWO_INTERLEAVED: [StandardLead; 12] = {
    use StandardLead as L;
    [
        L::V1,
        L::V4,
        L::I,
        L::AVR,
        L::V2,
        L::V5,
        L::II,
        L::AVL,
        L::V3,
        L::V6,
        L::III,
        L::AVF,
    ]
};
/// The standard 6×2 rows: I|V1, II|V2, III|V3, aVR|V4, aVL|V5, aVF|V6.
pub const SIX_BY_TWO_STANDARD: [StandardLead; 12] = {
    use StandardLead as L;
    [
        L::I,
        L::V1,
        L::II,
        L::V2,
        L::III,
        L::V3,
        L::AVR,
        L::V4,
        L::AVL,
        L::V5,
        L::AVF,
        L::V6,
    ]
};
/// 12×1 rows as ecg-image-kit prints them: V4, V1, aVR, I, V5, V2, aVL, II, V6, V3, aVF,
/// III.
pub const TWELVE_BY_ONE_INTERLEAVED: [StandardLead; 12] = {
    use StandardLead as L;
    [
        L::V4,
        L::V1,
        L::AVR,
        L::I,
        L::V5,
        L::V2,
        L::AVL,
        L::II,
        L::V6,
        L::V3,
        L::AVF,
        L::III,
    ]
};
/// The 3×4 block row-major (I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6).
pub const THREE_BY_FOUR_BLOCK: [StandardLead; 12] = {
    use StandardLead as L;
    [
        L::I,
        L::AVR,
        L::V1,
        L::V4,
        L::II,
        L::AVL,
        L::V2,
        L::V5,
        L::III,
        L::AVF,
        L::V3,
        L::V6,
    ]
};

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
            Layout::ThreeByFive { strips, .. } => 3 + strips.iter().map_while(|s| *s).count(),
            Layout::SixByTwo => 6,
            Layout::TwelveByOne => 12,
            Layout::Grid(g) => g.block_rows() + g.strip_leads().count(),
            Layout::Partial(p) => p
                .cells
                .iter()
                .flatten()
                .map(|c| usize::from(c.row) + 1)
                .max()
                .unwrap_or(0),
        }
    }

    /// This layout as a [`Grid`] (block order and strips). A partial page has no block:
    /// it gives the 12×1 grid, which says nothing about it (use [`Layout::cells`]). A
    /// 15-lead page gives the 3×4 block order and its strips, but its columns are 2 s,
    /// not 2.5 s (use [`Layout::cells`] for the seconds).
    pub fn grid(self) -> Grid {
        use StandardLead as L;
        match self {
            Layout::ThreeByFive { strips, .. } => Grid {
                columns: 4,
                block: THREE_BY_FOUR_BLOCK,
                strips,
            },
            Layout::ThreeByFour { rhythm_strips } => Grid {
                columns: 4,
                block: THREE_BY_FOUR_BLOCK,
                strips: match rhythm_strips {
                    0 => [None; 3],
                    1 => [Some(L::II), None, None],
                    2 => [Some(L::II), Some(L::V5), None],
                    _ => [Some(L::V1), Some(L::II), Some(L::V5)],
                },
            },
            Layout::SixByTwo => Grid {
                columns: 2,
                block: SIX_BY_TWO_STANDARD,
                strips: [None; 3],
            },
            Layout::TwelveByOne => Grid {
                columns: 1,
                block: StandardLead::ALL,
                strips: [None; 3],
            },
            Layout::Grid(g) => g,
            Layout::Partial(_) => Grid {
                columns: 1,
                block: StandardLead::ALL,
                strips: [None; 3],
            },
        }
    }

    /// A grid layout, as one of the named variants when it is one.
    pub fn from_grid(g: Grid) -> Layout {
        [
            Layout::ThreeByFour { rhythm_strips: 0 },
            Layout::ThreeByFour { rhythm_strips: 1 },
            Layout::ThreeByFour { rhythm_strips: 2 },
            Layout::ThreeByFour { rhythm_strips: 3 },
            Layout::SixByTwo,
            Layout::TwelveByOne,
        ]
        .into_iter()
        .find(|l| l.grid() == g)
        .unwrap_or(Layout::Grid(g))
    }

    /// Parse a layout name: `3x4`, `3x4+II`, `3x4+1`, `3x4+3`, `3x4+V1,II,V5`, `6x2`,
    /// `6x2+II`, `6x2i` (interleaved rows V1|V4 / I|aVR / …), `12x1`, `12x1+II`,
    /// `12x1i` (V4, V1, aVR, I, …); `×` may stand for `x`. `partial` (any case, and
    /// anything after it, so that a partial layout's own text reads back) is a page that
    /// shows only some leads, each read where its printed label is
    /// (`Layout::Partial` with no lead yet). `3x5` is a 15-lead page (V4R, V8, V9 in the
    /// fifth column), `3x5(V3R,V4R,V7)` names its extra leads top to bottom (`?` for one
    /// not named); both take strips as 3×4 does (`3x5+II`, `3x5+2`,
    /// `3x5(V3R,V4R,V7)+V1,II,V5`).
    pub fn parse(text: &str) -> Option<Layout> {
        let t = text.trim().replace('×', "x").replace(' ', "");
        if t.to_ascii_lowercase().starts_with("partial") {
            return Some(Layout::Partial(Partial::default()));
        }
        let (base, strips) = t.split_once('+').map_or((t.as_str(), ""), |(a, b)| (a, b));
        let base = base.to_ascii_lowercase();
        if let Some(rest) = base.strip_prefix("3x5") {
            let extra = if rest.is_empty() {
                ExtraLead::ADULT.map(Some)
            } else {
                let names = rest.strip_prefix('(')?.strip_suffix(')')?;
                let v: Vec<Option<ExtraLead>> = names
                    .split(',')
                    .map(|n| match n {
                        "?" => Some(None),
                        _ => ExtraLead::from_name(n).map(Some),
                    })
                    .collect::<Option<_>>()?;
                v.try_into().ok()?
            };
            let strips = parse_strips(strips)?;
            return Some(Layout::ThreeByFive { extra, strips });
        }
        let (columns, block) = match base.as_str() {
            "3x4" => (4, THREE_BY_FOUR_BLOCK),
            "6x2" => (2, SIX_BY_TWO_STANDARD),
            "6x2i" => (2, SIX_BY_TWO_INTERLEAVED),
            "12x1" => (1, StandardLead::ALL),
            "12x1i" => (1, TWELVE_BY_ONE_INTERLEAVED),
            _ => return None,
        };
        let mut grid = Grid {
            columns,
            block,
            strips: [None; 3],
        };
        if strips.parse::<u8>().is_ok() && columns != 4 {
            return None;
        }
        grid.strips = parse_strips(strips)?;
        Some(Layout::from_grid(grid))
    }

    /// The named extra leads' cells of a 15-lead page (fifth column, 8–10 s), top row
    /// first; empty for every other layout.
    pub fn extra_cells(self) -> Vec<ExtraCell> {
        match self {
            Layout::ThreeByFive { extra, .. } => extra
                .iter()
                .enumerate()
                .filter_map(|(row, lead)| Some((row, (*lead)?)))
                .map(|(row, lead)| ExtraCell {
                    lead,
                    row,
                    start_s: 4.0 * THREE_BY_FIVE_COLUMN_S,
                    end_s: PAGE_DURATION_S,
                })
                .collect(),
            _ => Vec::new(),
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
                push_block(&mut cells, THREE_BY_FOUR_COLUMN_S);
                let strips: &[L] = match rhythm_strips {
                    0 => &[],
                    1 => &[L::II],
                    2 => &[L::II, L::V5],
                    _ => &[L::V1, L::II, L::V5],
                };
                push_strips(&mut cells, strips.iter().copied());
            }
            Layout::ThreeByFive { strips, .. } => {
                push_block(&mut cells, THREE_BY_FIVE_COLUMN_S);
                push_strips(&mut cells, strips.iter().map_while(|s| *s));
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
            Layout::Grid(g) => {
                let columns = usize::from(g.columns.clamp(1, 12));
                let col_s = PAGE_DURATION_S / columns as f32;
                for (i, lead) in g.block.iter().enumerate() {
                    let col = i % columns;
                    cells.push(Cell {
                        lead: *lead,
                        row: i / columns,
                        start_s: col_s * col as f32,
                        end_s: col_s * (col + 1) as f32,
                        rhythm: columns == 1,
                    });
                }
                for (i, lead) in g.strip_leads().enumerate() {
                    cells.push(Cell {
                        lead,
                        row: g.block_rows() + i,
                        start_s: 0.0,
                        end_s: PAGE_DURATION_S,
                        rhythm: true,
                    });
                }
            }
            Layout::Partial(p) => {
                for (lead, c) in StandardLead::ALL.iter().zip(&p.cells) {
                    let Some(c) = c else { continue };
                    let start_s = f32::from(c.start_ms) / 1000.0;
                    let end_s = (f32::from(c.end_ms) / 1000.0).min(PAGE_DURATION_S);
                    cells.push(Cell {
                        lead: *lead,
                        row: usize::from(c.row),
                        start_s,
                        end_s,
                        rhythm: end_s - start_s >= 0.95 * PAGE_DURATION_S,
                    });
                }
                cells.sort_by(|a, b| {
                    (a.row, a.start_s)
                        .partial_cmp(&(b.row, b.start_s))
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
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

/// Rhythm strips as `--layout` names them after the `+`: a count 0–3 (the 3×4
/// convention: II; II, V5; V1, II, V5) or up to three lead names; empty: none.
fn parse_strips(text: &str) -> Option<[Option<StandardLead>; 3]> {
    if let Ok(n) = text.parse::<u8>() {
        return (n <= 3).then(|| Layout::ThreeByFour { rhythm_strips: n }.grid().strips);
    }
    let mut strips = [None; 3];
    if !text.is_empty() {
        for (i, name) in text.split(',').enumerate() {
            let lead = StandardLead::ALL
                .into_iter()
                .find(|l| l.label().eq_ignore_ascii_case(name))?;
            *strips.get_mut(i)? = Some(lead);
        }
    }
    Some(strips)
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
            Layout::ThreeByFive { extra, strips } => {
                let extra: Vec<&str> = extra
                    .iter()
                    .map(|l| l.map_or("?", ExtraLead::label))
                    .collect();
                write!(f, "3×5 ({})", extra.join(", "))?;
                let strips: Vec<&str> = strips
                    .iter()
                    .map_while(|s| *s)
                    .map(StandardLead::label)
                    .collect();
                if !strips.is_empty() {
                    write!(f, " + {}", strips.join(", "))?;
                }
                Ok(())
            }
            Layout::SixByTwo => write!(f, "6×2"),
            Layout::TwelveByOne => write!(f, "12×1"),
            Layout::Grid(g) => {
                let rows = g.block_rows();
                write!(f, "{rows}×{}", g.columns)?;
                let standard = match g.columns {
                    4 => THREE_BY_FOUR_BLOCK,
                    2 => SIX_BY_TWO_STANDARD,
                    _ => StandardLead::ALL,
                };
                if g.block != standard {
                    write!(f, " ({})", g.order_text())?;
                }
                let strips: Vec<&str> = g.strip_leads().map(StandardLead::label).collect();
                if !strips.is_empty() {
                    write!(f, " + {}", strips.join(", "))?;
                }
                Ok(())
            }
            Layout::Partial(p) => {
                let leads: Vec<&str> = p.leads().into_iter().map(StandardLead::label).collect();
                if leads.is_empty() {
                    write!(f, "partial")
                } else {
                    write!(f, "partial ({})", leads.join(", "))
                }
            }
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
    fn grid_layouts_parse_round_trip_and_show_every_lead() {
        use StandardLead as L;
        assert_eq!(Layout::parse("3x4+II"), Some(Layout::THREE_BY_FOUR_II));
        assert_eq!(Layout::parse("3×4+1"), Some(Layout::THREE_BY_FOUR_II));
        assert_eq!(Layout::parse("6x2"), Some(Layout::SixByTwo));
        assert_eq!(Layout::parse("12x1"), Some(Layout::TwelveByOne));
        assert_eq!(Layout::parse("5x5"), None);
        assert_eq!(Layout::parse("3x4+X9"), None);
        let l = Layout::parse("6x2i+II").unwrap();
        assert_eq!(l.rows(), 7);
        assert_eq!(
            l.to_string(),
            "6×2 (V1|V4 / I|aVR / V2|V5 / II|aVL / V3|V6 / III|aVF) + II"
        );
        let cells = l.cells();
        let avr = cells.iter().find(|c| c.lead == L::AVR).unwrap();
        assert_eq!((avr.row, avr.start_s, avr.end_s), (1, 5.0, 10.0));
        let strip = cells.iter().find(|c| c.row == 6).unwrap();
        assert_eq!((strip.lead, strip.rhythm), (L::II, true));
        let l = Layout::parse("3x4+V1").unwrap();
        assert!(matches!(l, Layout::Grid(_)));
        assert_eq!(l.rows(), 4);
        assert_eq!(l.to_string(), "3×4 + V1");
        for l in [l, Layout::parse("12x1i+II").unwrap()] {
            for lead in StandardLead::ALL {
                assert!(
                    l.cells().iter().any(|c| c.lead == lead),
                    "{l} lacks {lead:?}"
                );
            }
        }
        for n in 0..4 {
            let l = Layout::ThreeByFour { rhythm_strips: n };
            assert_eq!(Layout::from_grid(l.grid()), l);
            assert_eq!(Layout::Grid(l.grid()).cells(), l.cells());
        }
    }

    #[test]
    fn fifteen_lead_pages_parse_round_trip_and_place_every_lead() {
        use ExtraLead as X;
        use StandardLead as L;
        let l = Layout::parse("3x5+II").unwrap();
        assert_eq!(
            l,
            Layout::ThreeByFive {
                extra: [Some(X::V4R), Some(X::V8), Some(X::V9)],
                strips: [Some(L::II), None, None],
            }
        );
        assert_eq!(l.to_string(), "3×5 (V4R, V8, V9) + II");
        assert_eq!(Layout::parse("3×5+1"), Some(l));
        assert_eq!(l.rows(), 4);
        let paediatric = Layout::parse("3x5(V3R,V4R,V7)+V1,II,V5").unwrap();
        assert_eq!(paediatric.to_string(), "3×5 (V3R, V4R, V7) + V1, II, V5");
        assert_eq!(paediatric.rows(), 6);
        let bare = Layout::parse("3X5").unwrap();
        assert_eq!(bare.to_string(), "3×5 (V4R, V8, V9)");
        assert_eq!(bare.rows(), 3);
        for l in [
            l,
            paediatric,
            bare,
            Layout::parse("3x5(v5r,v8,v9)+2").unwrap(),
        ] {
            assert_eq!(Layout::parse(&l.to_string()), Some(l), "{l}");
            let cells = l.cells();
            for lead in StandardLead::ALL {
                assert!(cells.iter().any(|c| c.lead == lead), "{l} lacks {lead:?}");
            }
            assert!(cells.iter().all(|c| c.row < l.rows()));
            assert_eq!(l.extra_cells().len(), 3);
        }
        let unnamed = Layout::parse("3x5(V3R,?,V7)+II").unwrap();
        assert_eq!(unnamed.to_string(), "3×5 (V3R, ?, V7) + II");
        assert_eq!(Layout::parse(&unnamed.to_string()), Some(unnamed));
        assert_eq!(unnamed.extra_cells().len(), 2);
        for bad in [
            "3x5(V4R,V8)",
            "3x5(V4R,V8,X9)",
            "3x5+4",
            "3x5(V4R,V8,V9",
            "3x6",
        ] {
            assert_eq!(Layout::parse(bad), None, "{bad}");
        }
        // Columns of 2 s: V1 at 4–6 s, V6 at 6–8 s, the extra leads at 8–10 s.
        let cells = l.cells();
        let v1 = cells.iter().find(|c| c.lead == L::V1).unwrap();
        assert_eq!((v1.row, v1.start_s, v1.end_s), (0, 4.0, 6.0));
        let v6 = cells.iter().find(|c| c.lead == L::V6).unwrap();
        assert_eq!((v6.row, v6.start_s, v6.end_s), (2, 6.0, 8.0));
        let extra = l.extra_cells();
        assert_eq!(
            extra.iter().map(|c| (c.lead, c.row)).collect::<Vec<_>>(),
            [(X::V4R, 0), (X::V8, 1), (X::V9, 2)]
        );
        assert!(extra.iter().all(|c| (c.start_s, c.end_s) == (8.0, 10.0)));
        assert!(Layout::THREE_BY_FOUR_II.extra_cells().is_empty());
        let v = l.visible(1000);
        assert_eq!(v[L::V4.index()].iter().filter(|x| **x).count(), 200);
        assert_eq!(v[L::II.index()].iter().filter(|x| **x).count(), 1000);
        // A 3-row page is 3×4 unless the digitizer reads a fifth column.
        assert_eq!(
            Layout::from_row_count(3),
            Some(Layout::ThreeByFour { rhythm_strips: 0 })
        );
        for x in ExtraLead::ALL {
            assert_eq!(ExtraLead::from_name(x.label()), Some(x));
            assert_eq!(StandardLead::from_name(x.label()), None);
        }
    }

    #[test]
    fn partial_pages_parse_show_only_their_leads_and_read_back() {
        use StandardLead as L;
        let request = Layout::parse("Partial").unwrap();
        assert_eq!(request, Layout::Partial(Partial::default()));
        assert_eq!(request.to_string(), "partial");
        assert_eq!(request.rows(), 0);
        assert!(request.cells().is_empty());
        let mut p = Partial::default();
        p.cells[L::V2.index()] = Some(PartialCell {
            row: 1,
            start_ms: 5000,
            end_ms: 7500,
        });
        p.cells[L::V1.index()] = Some(PartialCell {
            row: 0,
            start_ms: 5000,
            end_ms: 7500,
        });
        let l = Layout::Partial(p);
        assert_eq!(l.to_string(), "partial (V1, V2)");
        assert_eq!(l.rows(), 2);
        let cells = l.cells();
        assert_eq!(cells.len(), 2);
        assert_eq!(
            (cells[0].lead, cells[0].row, cells[0].start_s),
            (L::V1, 0, 5.0)
        );
        assert_eq!(
            (cells[1].lead, cells[1].row, cells[1].end_s),
            (L::V2, 1, 7.5)
        );
        // Its own text reads back as the request to read a partial page.
        assert_eq!(Layout::parse(&l.to_string()), Some(request));
        let v = l.visible(1000);
        assert_eq!(v[L::V1.index()].iter().filter(|x| **x).count(), 250);
        assert!(v[L::I.index()].iter().all(|x| !x));
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
