//! Settings the user expects to find again next time: layout, speed, gain, filters,
//! screen calibration and recent files. Stored as JSON in the platform config directory
//! (`directories::ProjectDirs`, e.g. `~/.config/ecgscope/settings.json`). Every field has
//! a default (`#[serde(default)]`), so an older or partial file still loads; a corrupt
//! file is logged and replaced by defaults, never a crash.

use ecgcore::paper::Layout as PaperLayout;
use ecgcore::{Recording, StandardLead};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Paper layouts a cardiologist expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Layout {
    /// 3 rows × 4 columns of 2.5 s plus a 10 s lead II rhythm strip.
    #[default]
    ThreeByFourRhythm,
    /// 6 rows × 2 columns of 5 s.
    SixByTwo,
    /// 12 rows of 10 s.
    TwelveByOne,
    /// One lead, full width.
    Single,
}

impl Layout {
    pub const ALL: [Layout; 4] = [
        Layout::ThreeByFourRhythm,
        Layout::SixByTwo,
        Layout::TwelveByOne,
        Layout::Single,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Layout::ThreeByFourRhythm => "3×4 + II",
            Layout::SixByTwo => "6×2",
            Layout::TwelveByOne => "12×1",
            Layout::Single => "Single lead",
        }
    }

    /// The printed layout whose cells this view draws (3×4 + II and 6×2; the 12×1 and
    /// single-lead views draw whole leads).
    pub fn paper(self) -> Option<PaperLayout> {
        match self {
            Layout::ThreeByFourRhythm => Some(PaperLayout::THREE_BY_FOUR_II),
            Layout::SixByTwo => Some(PaperLayout::SixByTwo),
            Layout::TwelveByOne | Layout::Single => None,
        }
    }

    /// The seconds a standard lead is drawn over in this layout: the cells of
    /// `ecgcore::paper` (what the viewer's page draws), every lead over 10 s in 12×1;
    /// `None` for the single-lead view, which shows one lead of the user's choice.
    fn spans(self, lead: StandardLead) -> Option<Vec<(f64, f64)>> {
        match self {
            Layout::TwelveByOne => return Some(vec![(0.0, PAGE_SECONDS)]),
            Layout::Single => return None,
            _ => {}
        }
        Some(
            self.paper()?
                .cells()
                .into_iter()
                .filter(|c| c.lead == lead)
                .map(|c| (f64::from(c.start_s), f64::from(c.end_s)))
                .collect(),
        )
    }

    /// Whether this layout shows all that the recording holds of each standard lead in
    /// its first 10 s: every lead's recorded span (first to last sample) lies within the
    /// seconds the layout draws it over. A digitized 6×2 or 12×1 page in the 3×4 view
    /// would leave most of each lead out.
    pub fn shows_every_lead_whole(self, rec: &Recording) -> bool {
        const TOLERANCE_S: f64 = 0.02;
        StandardLead::ALL.iter().all(|&lead| {
            let Some((t0, t1)) = rec
                .lead(lead)
                .and_then(|l| l.recorded_span_s(rec.sample_rate_hz))
                .filter(|&(t0, _)| t0 < PAGE_SECONDS)
            else {
                return true;
            };
            let Some(mut spans) = self.spans(lead) else {
                return false;
            };
            spans.sort_by(|a, b| a.0.total_cmp(&b.0));
            // Walk the union of the spans from the recorded start.
            let mut reach = t0;
            for (a, b) in spans {
                if a <= reach + TOLERANCE_S {
                    reach = reach.max(b);
                }
            }
            reach + TOLERANCE_S >= t1.min(PAGE_SECONDS)
        })
    }

    /// The layout a digitized page is shown in, the one it was printed in as far as the
    /// viewer has it: the first of 3×4 + II, 6×2 and 12×1 that shows every lead whole
    /// (12×1 draws every lead over 10 s). The single-lead view (`current`), the user's
    /// choice, is kept.
    pub fn for_page(rec: &Recording, current: Layout) -> Layout {
        if current == Layout::Single {
            return current;
        }
        [Layout::ThreeByFourRhythm, Layout::SixByTwo]
            .into_iter()
            .find(|l| l.shows_every_lead_whole(rec))
            .unwrap_or(Layout::TwelveByOne)
    }
}

/// Seconds a page shows.
const PAGE_SECONDS: f64 = ecgcore::paper::PAGE_DURATION_S as f64;

pub use ecgsession::display::{FilterSettings, Notch};

/// Most recent files kept.
pub const MAX_RECENT: usize = 10;

/// Persisted user settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub layout: Layout,
    /// Paper speed, mm/s (12.5, 25, 50).
    pub speed_mm_per_s: f32,
    /// Gain, mm/mV (5, 10, 20).
    pub gain_mm_per_mv: f32,
    pub filters: FilterSettings,
    /// User correction of the screen scale: true millimetres per nominal millimetre.
    /// 1.0 = trust the operating system's DPI (96 dpi × scale factor).
    pub screen_calibration: f32,
    /// Lead shown in the single-lead layout (index into the 12 standard leads).
    pub single_lead: usize,
    pub recent_files: Vec<PathBuf>,
    /// Anomaly overlay on the tracing.
    pub show_overlay: bool,
    /// Overlay opacity 0–1.
    pub overlay_opacity: f32,
    /// Show our map and the baseline's in two synchronized panes.
    pub compare: bool,
    /// The study last reviewed in each folder opened (most recent first).
    pub folder_positions: Vec<FolderPosition>,
}

/// The file last opened from a folder of studies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderPosition {
    pub folder: PathBuf,
    pub file: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            layout: Layout::default(),
            speed_mm_per_s: 25.0,
            gain_mm_per_mv: 10.0,
            filters: FilterSettings::default(),
            screen_calibration: 1.0,
            single_lead: 1,
            recent_files: Vec::new(),
            show_overlay: true,
            overlay_opacity: 0.6,
            compare: false,
            folder_positions: Vec::new(),
        }
    }
}

impl Settings {
    /// Where settings live, or `None` when the platform has no config directory.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("org", "ecgscope", "ecgscope")
            .map(|d| d.config_dir().join("settings.json"))
    }

    /// Load from `path`; missing file → defaults; corrupt file → defaults and a warning.
    pub fn load(path: &Path) -> (Settings, Option<String>) {
        match std::fs::read_to_string(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Settings::default(), None),
            Err(e) => (
                Settings::default(),
                Some(format!(
                    "could not read settings ({e}); using defaults: {}",
                    path.display()
                )),
            ),
            Ok(text) => match serde_json::from_str::<Settings>(&text) {
                Ok(s) => (s.sanitized(), None),
                Err(e) => (
                    Settings::default(),
                    Some(format!(
                        "settings file is corrupt ({e}); using defaults: {}",
                        path.display()
                    )),
                ),
            },
        }
    }

    /// Save atomically to `path` (creating its folder).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        ecgcore::formats::write_atomic(path, json.as_bytes(), true)
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    /// Clamp values a hand-edited file could make unusable.
    pub fn sanitized(mut self) -> Settings {
        if ![12.5, 25.0, 50.0].contains(&self.speed_mm_per_s) {
            self.speed_mm_per_s = 25.0;
        }
        if ![5.0, 10.0, 20.0].contains(&self.gain_mm_per_mv) {
            self.gain_mm_per_mv = 10.0;
        }
        if !(self.screen_calibration.is_finite() && (0.25..=4.0).contains(&self.screen_calibration))
        {
            self.screen_calibration = 1.0;
        }
        self.single_lead = self.single_lead.min(11);
        self.overlay_opacity = if self.overlay_opacity.is_finite() {
            self.overlay_opacity.clamp(0.0, 1.0)
        } else {
            0.6
        };
        self.recent_files.truncate(MAX_RECENT);
        self.folder_positions.truncate(MAX_RECENT);
        self
    }

    /// Put `path` first in the recent files (no duplicates, at most [`MAX_RECENT`]).
    pub fn remember(&mut self, path: &Path) {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.recent_files.retain(|p| p != &path);
        self.recent_files.insert(0, path);
        self.recent_files.truncate(MAX_RECENT);
    }

    /// The file last opened from `folder`, if any.
    pub fn folder_position(&self, folder: &Path) -> Option<&str> {
        self.folder_positions
            .iter()
            .find(|p| p.folder == folder)
            .map(|p| p.file.as_str())
    }

    /// Remember `file` as the position in `folder` (at most [`MAX_RECENT`] folders).
    pub fn set_folder_position(&mut self, folder: &Path, file: &str) {
        self.folder_positions.retain(|p| p.folder != folder);
        self.folder_positions.insert(
            0,
            FolderPosition {
                folder: folder.to_path_buf(),
                file: file.to_string(),
            },
        );
        self.folder_positions.truncate(MAX_RECENT);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ecgcore::Lead;

    /// Twelve standard leads of 10 s at 500 Hz, all zero (also `ui::layout`'s tests').
    pub(crate) fn twelve_lead() -> Recording {
        Recording {
            leads: StandardLead::ALL
                .iter()
                .map(|s| Lead::new(s.label(), vec![0.0; 5000]))
                .collect(),
            sample_rate_hz: 500.0,
            ..Recording::default()
        }
    }

    /// A digitized page: every lead recorded only over `window(lead)` (seconds).
    fn page_of(window: impl Fn(StandardLead) -> (f64, f64)) -> Recording {
        let mut rec = twelve_lead();
        for (lead, s) in rec.leads.iter_mut().zip(StandardLead::ALL) {
            let (a, b) = window(s);
            for (k, v) in lead.samples_mv.iter_mut().enumerate() {
                let t = k as f64 / 500.0;
                if t < a || t >= b {
                    *v = f32::NAN;
                }
            }
        }
        rec
    }

    #[test]
    fn a_digitized_page_opens_in_a_view_that_shows_every_lead_whole() {
        use StandardLead as L;
        let limb = |s: L| s.index() < 6;
        // A 3×4 + II page opens in 3×4, from any other view.
        let three_by_four = page_of(|s| {
            if s == L::II {
                return (0.0, 10.0);
            }
            let col = [
                [L::I, L::II, L::III],
                [L::AVR, L::AVL, L::AVF],
                [L::V1, L::V2, L::V3],
            ]
            .iter()
            .position(|c| c.contains(&s))
            .unwrap_or(3) as f64;
            (2.5 * col, 2.5 * col + 2.5)
        });
        assert_eq!(
            Layout::for_page(&three_by_four, Layout::ThreeByFourRhythm),
            Layout::ThreeByFourRhythm
        );
        assert_eq!(
            Layout::for_page(&three_by_four, Layout::TwelveByOne),
            Layout::ThreeByFourRhythm
        );
        // A 6×2 page (limb leads over 0–5 s, chest leads over 5–10 s): the 3×4 view would
        // show half of each lead; the 6×2 view shows it.
        let six_by_two = page_of(|s| if limb(s) { (0.0, 5.0) } else { (5.0, 10.0) });
        assert!(!Layout::ThreeByFourRhythm.shows_every_lead_whole(&six_by_two));
        assert!(Layout::SixByTwo.shows_every_lead_whole(&six_by_two));
        assert_eq!(
            Layout::for_page(&six_by_two, Layout::ThreeByFourRhythm),
            Layout::SixByTwo
        );
        // A 6×2 page in another order (V1|V4 / I|aVR / …): only 12×1 shows it all.
        let first = [L::V1, L::I, L::V2, L::II, L::V3, L::III];
        let other = page_of(|s| {
            if first.contains(&s) {
                (0.0, 5.0)
            } else {
                (5.0, 10.0)
            }
        });
        assert_eq!(
            Layout::for_page(&other, Layout::ThreeByFourRhythm),
            Layout::TwelveByOne
        );
        // A 12×1 page (every lead over 10 s) opens in 12×1; the single-lead view is kept.
        assert_eq!(
            Layout::for_page(&twelve_lead(), Layout::ThreeByFourRhythm),
            Layout::TwelveByOne
        );
        assert_eq!(Layout::for_page(&other, Layout::Single), Layout::Single);
    }

    #[test]
    fn corrupt_settings_fall_back_to_defaults_with_a_warning() {
        let dir = std::env::temp_dir().join(format!("ecgscope-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("settings.json");
        std::fs::write(&path, "{ this is not json").unwrap();
        let (s, warning) = Settings::load(&path);
        assert_eq!(s, Settings::default());
        assert!(warning.unwrap().contains("corrupt"));
        // A round trip keeps what the user chose.
        let mut chosen = Settings {
            layout: Layout::SixByTwo,
            gain_mm_per_mv: 20.0,
            screen_calibration: 1.1,
            ..Settings::default()
        };
        chosen.remember(&dir);
        chosen.set_folder_position(&dir, "00010_hr.hea");
        chosen.save(&path).unwrap();
        let (back, warning) = Settings::load(&path);
        assert!(warning.is_none());
        assert_eq!(back, chosen);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn partial_and_out_of_range_settings_are_sanitized() {
        let s: Settings =
            serde_json::from_str(r#"{"gain_mm_per_mv": 13, "layout": "TwelveByOne"}"#).unwrap();
        let s = s.sanitized();
        assert_eq!(s.gain_mm_per_mv, 10.0);
        assert_eq!(s.layout, Layout::TwelveByOne);
        assert_eq!(s.speed_mm_per_s, 25.0);
    }

    #[test]
    fn filter_labels_name_the_band() {
        assert_eq!(FilterSettings::default().label(), "0.5–150 Hz");
        let f = FilterSettings {
            baseline_wander: false,
            notch: Notch::Hz60,
            lowpass_hz: None,
        };
        assert_eq!(f.label(), "unfiltered, 60 Hz notch");
    }
}
