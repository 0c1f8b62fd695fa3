//! ecgmodel: ecgscope's anomaly model with LibTorch (tch).
//!
//! The masked multi-scale cross-restoration network (MSCR, DESIGN.md §3) and a plain
//! beat-autoencoder baseline, both trained on normal PTB-XL ECGs (folds 1–8) and
//! calibrated on fold 9. Modules:
//! - [`contract`]: the input contract (100 Hz, 10 s, 12 leads, 1–40 Hz, scaling);
//! - [`net`]: the networks; [`views`]: masking and the global/beat/trend views;
//! - [`score`]: scores and maps; [`mapcal`]: the map's calibration against normals;
//!   [`analyzer`]: loading shipped weights and analysing a `Recording`; [`eval`]: scoring
//!   a manifest of labelled files; [`manifest`]: what ships beside the weights.
//!
//! Inference only: training, datasets, cards and calibration fitting live in `ecglab`.
//!
//! The output is plain data ([`ecgcore::analysis::ModelOutput`]); nothing here draws.

pub mod analyzer;
pub mod attributes;
pub mod contract;
pub mod eval;
pub mod manifest;
pub mod mapcal;
pub mod metrics;
pub mod net;
pub mod partial;
pub mod score;
pub mod shape;
#[doc(hidden)]
pub mod testing;
pub mod views;
pub mod waves;

pub use analyzer::Analyzer;
pub use contract::InputError;

use std::path::{Path, PathBuf};

/// Errors of the model crate.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read or write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bad data ({reason}): {}", path.display())]
    Data { reason: String, path: PathBuf },
    #[error("LibTorch error ({source}): {}", path.display())]
    Torch {
        path: PathBuf,
        #[source]
        source: tch::TchError,
    },
    #[error(
        "the weights file is corrupt or not the shipped one (SHA-256 {got}, expected {expected}): {}",
        path.display()
    )]
    Checksum {
        got: String,
        expected: String,
        path: PathBuf,
    },
    #[error("the recording cannot be analysed: {0}")]
    Input(#[from] InputError),
    #[error("cannot read {}: {source}", path.display())]
    Format {
        path: PathBuf,
        #[source]
        source: ecgcore::formats::FormatError,
    },
    #[error("{0}")]
    Other(String),
}

impl ModelError {
    pub fn io(path: &Path, source: std::io::Error) -> ModelError {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub fn data(path: &Path, reason: impl Into<String>) -> ModelError {
        ModelError::Data {
            reason: reason.into(),
            path: path.to_path_buf(),
        }
    }
    pub fn torch(path: &Path, source: tch::TchError) -> ModelError {
        ModelError::Torch {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Parse a device name: "cpu", "cuda", "cuda:N", or "auto" (CUDA when available).
pub fn parse_device(name: &str) -> Result<tch::Device, ModelError> {
    match name.trim().to_ascii_lowercase().as_str() {
        "auto" | "" => Ok(tch::Device::cuda_if_available()),
        "cpu" => Ok(tch::Device::Cpu),
        "cuda" | "gpu" => {
            if tch::Cuda::is_available() {
                Ok(tch::Device::Cuda(0))
            } else {
                Err(ModelError::Other(
                    "CUDA was requested but no CUDA device is available".into(),
                ))
            }
        }
        other => match other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) if tch::Cuda::is_available() && (n as i64) < tch::Cuda::device_count() => {
                Ok(tch::Device::Cuda(n))
            }
            Some(_) => Err(ModelError::Other(format!(
                "CUDA device {other} is not available"
            ))),
            None => Err(ModelError::Other(format!(
                "unknown device {other:?} (use cpu, cuda or auto)"
            ))),
        },
    }
}

/// "cpu" or "cuda:N".
pub fn device_name(device: tch::Device) -> String {
    match device {
        tch::Device::Cuda(n) => format!("cuda:{n}"),
        tch::Device::Cpu => "cpu".to_string(),
        other => format!("{other:?}").to_ascii_lowercase(),
    }
}
