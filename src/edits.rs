//! Where the reader's measurement corrections are kept: one small JSON file per study in the
//! app's data folder (`$ECGSCOPE_DATA_DIR`, else the platform's, e.g.
//! `~/.local/share/ecgscope/measurement-edits/`), never beside or inside the study file.
//!
//! A file is named after a hash of the study's full path and records the path and a
//! fingerprint of the study file (its size and SHA-256). Corrections made on a file that has
//! since changed are not applied: the user is told, and corrects again.

use ecgcore::review::MeasurementEdits;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The store of corrections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditsStore {
    dir: PathBuf,
}

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    study: PathBuf,
    fingerprint: String,
    edits: MeasurementEdits,
    software: String,
}

/// Study files larger than this are fingerprinted by their first bytes and size only.
const FINGERPRINT_BYTES: u64 = 256 << 20;

impl EditsStore {
    /// The store in the app's data folder (`ECGSCOPE_DATA_DIR` overrides it).
    pub fn default_location() -> Option<EditsStore> {
        let base = std::env::var_os("ECGSCOPE_DATA_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                directories::ProjectDirs::from("org", "ecgscope", "ecgscope")
                    .map(|d| d.data_dir().to_path_buf())
            })?;
        Some(EditsStore::at(base.join("measurement-edits")))
    }

    /// A store in `dir`.
    pub fn at(dir: PathBuf) -> EditsStore {
        EditsStore { dir }
    }

    /// The file holding a study's corrections.
    pub fn file_for(&self, study: &Path) -> PathBuf {
        let full = std::fs::canonicalize(study).unwrap_or_else(|_| study.to_path_buf());
        let hash = Sha256::digest(full.as_os_str().as_encoded_bytes());
        let name = hex(&hash[..16]);
        self.dir.join(format!("{name}.json"))
    }

    /// The study file's fingerprint: size and SHA-256 (of its first 256 MiB).
    ///
    /// # Errors
    /// When the study cannot be read.
    pub fn fingerprint(study: &Path) -> Result<String, String> {
        let file = std::fs::File::open(study)
            .map_err(|e| format!("cannot read {}: {e}", study.display()))?;
        let len = file.metadata().map_or(0, |m| m.len());
        let mut hasher = Sha256::new();
        let mut reader = file.take(FINGERPRINT_BYTES);
        std::io::copy(&mut reader, &mut hasher)
            .map_err(|e| format!("cannot read {}: {e}", study.display()))?;
        let hex = hex(&hasher.finalize());
        Ok(format!("{len}-{hex}"))
    }

    /// The corrections saved for `study`, if any.
    ///
    /// # Errors
    /// A sentence for the user when saved corrections exist but cannot be used (the file
    /// changed since, or the saved file is damaged); the study opens without them.
    pub fn load(&self, study: &Path) -> Result<Option<MeasurementEdits>, String> {
        let file = self.file_for(study);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "your measurement corrections for {} could not be read ({e}); they were not applied",
                    study.display()
                ))
            }
        };
        let saved: Saved = serde_json::from_str(&text).map_err(|e| {
            format!(
                "your measurement corrections for {} are damaged ({}: {e}); they were not applied — correct the measurements again",
                study.display(),
                file.display()
            )
        })?;
        if saved.fingerprint != Self::fingerprint(study)? {
            return Err(format!(
                "{} has changed since you corrected its measurements; the corrections were not applied — check the measurements and correct them again",
                study.display()
            ));
        }
        saved.edits.check().map_err(|e| {
            format!(
                "your saved measurement corrections for {} were not applied: {e}",
                study.display()
            )
        })?;
        Ok(Some(saved.edits))
    }

    /// Save `edits` for `study` (atomically); empty edits remove the saved file.
    ///
    /// # Errors
    /// A sentence for the user when the data folder cannot be written.
    pub fn save(
        &self,
        study: &Path,
        fingerprint: &str,
        edits: &MeasurementEdits,
    ) -> Result<(), String> {
        let file = self.file_for(study);
        let fail = |e: std::io::Error| {
            format!(
                "your measurement corrections could not be saved in {} ({e}); they apply until the study is closed",
                self.dir.display()
            )
        };
        if edits.is_empty() {
            return match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(e)),
                _ => Ok(()),
            };
        }
        std::fs::create_dir_all(&self.dir).map_err(fail)?;
        let saved = Saved {
            study: std::fs::canonicalize(study).unwrap_or_else(|_| study.to_path_buf()),
            fingerprint: fingerprint.to_string(),
            edits: *edits,
            software: crate::VERSION.to_string(),
        };
        let text =
            serde_json::to_string_pretty(&saved).map_err(|e| fail(std::io::Error::other(e)))?;
        let tmp = file.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(fail)?;
        std::fs::rename(&tmp, &file).map_err(fail)
    }
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_round_trip_are_refused_after_the_file_changes_and_revert_removes_them() {
        let dir = std::env::temp_dir().join(format!("ecgscope-edits-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let study = dir.join("study.csv");
        std::fs::write(&study, "I\n1\n").unwrap();
        let store = EditsStore::at(dir.join("store"));
        assert_eq!(store.load(&study), Ok(None));
        let edits = MeasurementEdits {
            qrs_ms: Some(96.0),
            ..MeasurementEdits::default()
        };
        let fp = EditsStore::fingerprint(&study).unwrap();
        store.save(&study, &fp, &edits).unwrap();
        // Saved in the store, not beside the study.
        assert!(store.file_for(&study).starts_with(dir.join("store")));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        assert_eq!(store.load(&study), Ok(Some(edits)));
        std::fs::write(&study, "I\n2\n").unwrap();
        let err = store.load(&study).unwrap_err();
        assert!(err.contains("has changed"), "{err}");
        store
            .save(&study, &fp, &MeasurementEdits::default())
            .unwrap();
        assert!(!store.file_for(&study).exists());
        std::fs::write(store.file_for(&study), "{ not json").unwrap();
        assert!(store.load(&study).unwrap_err().contains("damaged"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
