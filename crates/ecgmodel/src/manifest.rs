//! `models/manifest.json`: what ships beside the weights — file names and SHA-256 of the
//! safetensors files, the calibration of the study score, thresholds, attribute
//! normalization, the normal spread of attribute gaps, map scaling and the training
//! and evaluation figures — written by `train`, read by `Analyzer::load`.

use crate::score::{AttrNorm, Calibration, EmbeddingModel, FeatureModel, NormalModels};
use crate::ModelError;
use ecgcore::analysis::NormalSpread;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;

/// File name of the manifest inside the models folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// MSCR weights file.
pub const MSCR_FILE: &str = "mscr.safetensors";
/// Baseline weights file.
pub const BASELINE_FILE: &str = "baseline.safetensors";

/// Everything the analyzer needs about one network besides its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetEntry {
    pub file: String,
    pub sha256: String,
    pub parameters: i64,
    /// Study score ≥ threshold = abnormal (90 % recall of abnormal on fold 9).
    pub threshold: f32,
    /// Point error → likelihood, per lead and beat phase, fitted on fold-9 normals.
    pub map: crate::mapcal::MapCalibration,
    /// Half-width of the borderline band around `threshold` (see [`BorderlineFit`]); 0 in
    /// manifests written before it existed (no band).
    #[serde(default)]
    pub borderline_margin: f32,
}

/// How the borderline bands were fitted, and what they do (`ecglab::borderline`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BorderlineFit {
    /// RMS of the white noise added to each record (µV).
    pub noise_uv: f32,
    /// Noise draws per study.
    pub draws: usize,
    /// Share of the studies whose verdict the noise turned that the band holds (e.g. 0.9).
    pub share: f32,
    /// Where the margins were fitted ("PTB-XL fold 9, 100 Hz files").
    pub fitted_on: String,
    pub ours: BorderlineFigures,
    pub baseline: BorderlineFigures,
}

/// One method's band and what it did on the fitting fold and on the test fold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BorderlineFigures {
    pub margin: f32,
    pub threshold: f32,
    pub validation: BandEffect,
    pub test: BandEffect,
}

/// On one set of studies: how many are borderline, and how many noisy copies (studies ×
/// draws) turned the verdict, in all and outside the band.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BandEffect {
    pub n: usize,
    pub borderline: usize,
    pub flipped: usize,
    pub flipped_outside_band: usize,
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// Input-contract and cache version the weights were trained with.
    pub contract: String,
    pub mscr: NetEntry,
    pub baseline: NetEntry,
    pub attr_norm: AttrNorm,
    pub calibration: Calibration,
    pub embedding: Option<EmbeddingModel>,
    /// Block-wise density of the training normals' encoder features.
    #[serde(default)]
    pub features: Option<FeatureModel>,
    /// Density of the training normals' median beats (`shape` component).
    #[serde(default)]
    pub shape: Option<crate::shape::ShapeModel>,
    /// Block-wise density of the training normals' wave measures (`waves` component).
    #[serde(default)]
    pub waves: Option<FeatureModel>,
    pub normal_spread: NormalSpread,
    pub n_training_normals: usize,
    /// Calibration for partly recorded leads (paper layouts); absent in older manifests.
    #[serde(default)]
    pub partial: Option<crate::partial::PartialCalibration>,
    /// How the borderline bands were fitted; absent in older manifests.
    #[serde(default)]
    pub borderline: Option<BorderlineFit>,
    /// Training summary and metrics (free-form, mirrored in MODEL_CARD.md).
    pub report: serde_json::Value,
}

impl ModelManifest {
    pub fn read(dir: &Path) -> Result<ModelManifest, ModelError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| ModelError::data(&path, e.to_string()))
    }

    /// The normal models the score components compare a study with.
    pub fn normal_models(&self) -> NormalModels<'_> {
        NormalModels {
            embedding: self.embedding.as_ref(),
            features: self.features.as_ref(),
            shape: self.shape.as_ref(),
            waves: self.waves.as_ref(),
        }
    }

    /// Refuse weights made for another input contract or map layout than this build's:
    /// they would load and silently give wrong scores.
    pub fn check_compatible(&self, dir: &Path) -> Result<(), ModelError> {
        let path = dir.join(MANIFEST_FILE);
        if self.contract != crate::contract::CONTRACT_VERSION {
            return Err(ModelError::data(
                &path,
                format!(
                    "these weights were made for input contract {:?}, this build uses {:?}; \
                     use the models/ folder of this build or retrain",
                    self.contract,
                    crate::contract::CONTRACT_VERSION
                ),
            ));
        }
        if !(self.mscr.map.matches_layout() && self.baseline.map.matches_layout()) {
            return Err(ModelError::data(
                &path,
                "the map calibration does not match this build's beat phases; \
                 use the models/ folder of this build or retrain",
            ));
        }
        let calibrations =
            std::iter::once(&self.calibration).chain(self.partial.as_ref().map(|p| &p.calibration));
        for cal in calibrations {
            let n = crate::score::COMPONENTS.len();
            let known = cal
                .names
                .iter()
                .map(String::as_str)
                .eq(crate::score::COMPONENTS);
            if !known || cal.center.len() != n || cal.scale.len() != n || cal.weights.len() != n {
                return Err(ModelError::data(
                    &path,
                    format!(
                        "the score calibration names components {:?}, this build computes {:?}; \
                         use the models/ folder of this build or retrain",
                        cal.names,
                        crate::score::COMPONENTS
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn write(&self, dir: &Path) -> Result<(), ModelError> {
        let path = dir.join(MANIFEST_FILE);
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| ModelError::data(&path, e.to_string()))?;
        std::fs::write(&path, text).map_err(|e| ModelError::io(&path, e))
    }
}

/// Hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let digest = Sha256::digest(&bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

/// Fail with [`ModelError::Checksum`] unless the file's SHA-256 is `expected`.
pub fn verify_sha256(path: &Path, expected: &str) -> Result<(), ModelError> {
    let got = sha256_file(path)?;
    if got.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(ModelError::Checksum {
            got,
            expected: expected.to_string(),
            path: path.to_path_buf(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> (ModelManifest, std::path::PathBuf) {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models");
        (
            ModelManifest::read(&dir).expect("the shipped manifest reads"),
            dir,
        )
    }

    #[test]
    fn the_shipped_manifest_is_compatible_and_other_components_are_refused() {
        let (m, dir) = shipped();
        m.check_compatible(&dir).unwrap();
        let mut renamed = m.clone();
        renamed.calibration.names[0] = "restoration_v0".into();
        let err = renamed.check_compatible(&dir).unwrap_err().to_string();
        assert!(err.contains("restoration_v0"), "{err}");
        let mut other_contract = m;
        other_contract.contract = "ptbxl100-v1".into();
        assert!(other_contract.check_compatible(&dir).is_err());
    }
}
