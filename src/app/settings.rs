//! Settings the user expects to find again next time: layout, speed, gain, filters,
//! screen calibration and recent files. Stored as JSON in the platform config directory
//! (`directories::ProjectDirs`, e.g. `~/.config/ecgscope/settings.json`). Every field has
//! a default (`#[serde(default)]`), so an older or partial file still loads; a corrupt
//! file is logged and replaced by defaults, never a crash.

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
}

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
mod tests {
    use super::*;

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
