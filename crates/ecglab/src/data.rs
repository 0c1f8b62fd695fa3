//! PTB-XL for training and evaluation: `labels.csv` rows, the protocol's splits
//! (DESIGN.md §4: folds 1–8 NORM-only for training, fold 9 validation, fold 10 test,
//! `excluded == 1` dropped everywhere) and a cache of the records in model form.
//!
//! Records are read with `ecgcore::formats::open` from `records100/` (100 Hz WFDB) and
//! passed through the input contract (`contract::prepare`). The cache (one safetensors
//! file with `[N, 12, 1000]` signals plus a JSON side file) makes later runs start in
//! seconds. Attribute targets: age (years; PTB-XL's 300 = ">89" becomes 90), sex
//! (1 = female), heart rate (bpm, from the R peaks) and, when `ecgcore` can measure them,
//! PR/QRS/QT/QTc (ms); missing targets are NaN.

use ecgmodel::attributes::attribute_targets;
use ecgmodel::contract::{self, N_LEADS, N_SAMPLES};
use ecgmodel::ModelError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

/// One PTB-XL row as the protocol needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PtbxlRow {
    pub ecg_id: u32,
    pub fold: u8,
    pub age_years: Option<f32>,
    pub female: Option<bool>,
    /// Diagnostic superclasses (NORM, MI, STTC, CD, HYP).
    pub superclasses: Vec<String>,
    pub is_norm_only: bool,
    /// Path of the 100 Hz record relative to the PTB-XL folder (no extension).
    pub filename_lr: String,
    pub excluded: bool,
}

impl PtbxlRow {
    /// 0 = NORM only, 1 = any other diagnostic superclass, `None` = no superclass.
    pub fn label(&self) -> Option<u8> {
        if self.is_norm_only {
            Some(0)
        } else if self.superclasses.is_empty() {
            None
        } else {
            Some(1)
        }
    }
}

pub use ecgmodel::eval::parse_csv;

/// Read PTB-XL's `labels.csv`.
pub fn read_labels(ptbxl_dir: &Path) -> Result<Vec<PtbxlRow>, ModelError> {
    let path = ptbxl_dir.join("labels.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
    let rows = parse_csv(&text);
    let header = rows
        .first()
        .ok_or_else(|| ModelError::data(&path, "empty labels.csv"))?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ModelError::data(&path, format!("labels.csv lacks column {name}")))
    };
    let (c_id, c_age, c_sex, c_fold, c_sup, c_norm, c_file, c_excl) = (
        col("ecg_id")?,
        col("age")?,
        col("sex")?,
        col("strat_fold")?,
        col("diagnostic_superclass")?,
        col("is_norm_only")?,
        col("filename_lr")?,
        col("excluded")?,
    );
    let mut out = Vec::new();
    for r in rows.iter().skip(1) {
        let get = |i: usize| r.get(i).map_or("", |s| s.trim());
        let Ok(ecg_id) = get(c_id).parse::<f64>().map(|v| v as u32) else {
            continue;
        };
        let fold = get(c_fold).parse::<f64>().map_or(0, |v| v as u8);
        let age_years = get(c_age)
            .parse::<f32>()
            .ok()
            .filter(|a| a.is_finite() && *a >= 0.0)
            .map(|a| if a > 120.0 { 90.0 } else { a });
        let female = match get(c_sex) {
            "1" | "1.0" => Some(true),
            "0" | "0.0" => Some(false),
            _ => None,
        };
        let superclasses = get(c_sup)
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        out.push(PtbxlRow {
            ecg_id,
            fold,
            age_years,
            female,
            superclasses,
            is_norm_only: matches!(get(c_norm), "1" | "1.0" | "True" | "true"),
            filename_lr: get(c_file).to_string(),
            excluded: matches!(get(c_excl), "1" | "1.0" | "True" | "true"),
        });
    }
    Ok(out)
}

/// Per-record information kept beside the cached signals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedRecord {
    pub row: PtbxlRow,
    /// R peaks used for the beat view (model-rate samples).
    pub beats: Vec<usize>,
    /// Attribute targets in physical units (NaN = unknown, `null` in the JSON), order [`ATTR_NAMES`].
    #[serde(deserialize_with = "nan_from_null")]
    pub attrs: [f32; 7],
}

/// JSON writes NaN as `null`; read it back as NaN.
fn nan_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[f32; 7], D::Error> {
    let v: [Option<f32>; 7] = Deserialize::deserialize(d)?;
    Ok(v.map(|x| x.unwrap_or(f32::NAN)))
}

/// PTB-XL records in model form.
#[derive(Debug)]
pub struct Dataset {
    pub records: Vec<CachedRecord>,
    /// `[N, 12, 1000]` float, CPU.
    pub signals: Tensor,
    /// Each record's median-beat vector (`ecgmodel::shape`), `None` without one.
    pub shapes: Vec<Option<Vec<f32>>>,
}

/// Rows of a `[N, dim]` tensor with NaN rows meaning "none".
fn shape_rows(t: &Tensor) -> Vec<Option<Vec<f32>>> {
    let d = ecgmodel::shape::dim();
    ecgmodel::score::to_vec(t)
        .chunks_exact(d)
        .map(|r| r.iter().all(|v| v.is_finite()).then(|| r.to_vec()))
        .collect()
}

/// Version of the cache layout and contract; bump when either changes.
pub const CACHE_VERSION: &str = ecgmodel::contract::CONTRACT_VERSION;

/// Load every non-excluded PTB-XL record with a label (0/1) from `records100`, using the
/// cache in `cache_dir` when present.
pub fn load_ptbxl(
    ptbxl_dir: &Path,
    cache_dir: &Path,
    progress: bool,
) -> Result<Dataset, ModelError> {
    let sig_path = cache_dir.join(format!("{CACHE_VERSION}.safetensors"));
    let meta_path = cache_dir.join(format!("{CACHE_VERSION}.json"));
    if sig_path.exists() && meta_path.exists() {
        let meta =
            std::fs::read_to_string(&meta_path).map_err(|e| ModelError::io(&meta_path, e))?;
        let records: Vec<CachedRecord> =
            serde_json::from_str(&meta).map_err(|e| ModelError::data(&meta_path, e.to_string()))?;
        let tensors =
            Tensor::read_safetensors(&sig_path).map_err(|e| ModelError::torch(&sig_path, e))?;
        let find = |name: &str| tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t);
        if let (Some(signals), Some(shape)) = (find("signals"), find("shape")) {
            let n = Some(records.len() as i64);
            let d = ecgmodel::shape::dim() as i64;
            if signals.size().first().copied() == n && shape.size() == [records.len() as i64, d] {
                let shapes = shape_rows(shape);
                return Ok(Dataset {
                    records,
                    signals: signals.shallow_clone(),
                    shapes,
                });
            }
        }
    }
    let rows = read_labels(ptbxl_dir)?;
    let rows: Vec<PtbxlRow> = rows
        .into_iter()
        .filter(|r| !r.excluded && r.label().is_some())
        .collect();
    let bar = if progress {
        indicatif::ProgressBar::new(rows.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_message("preparing PTB-XL records");
    let mut records = Vec::with_capacity(rows.len());
    let mut flat: Vec<f32> = Vec::with_capacity(rows.len() * N_LEADS * N_SAMPLES);
    let mut shape_flat: Vec<f32> = Vec::new();
    for row in rows {
        bar.inc(1);
        let path = ptbxl_dir.join(format!("{}.hea", row.filename_lr));
        if !path.exists() {
            continue;
        }
        let rec = match ecgcore::formats::open(&path) {
            Ok(r) => r,
            Err(e) => {
                log::warn!("skipping {}: {e}", path.display());
                continue;
            }
        };
        let prepared = match contract::prepare(&rec) {
            Ok(p) => p,
            Err(e) => {
                log::warn!("skipping {}: {e}", path.display());
                continue;
            }
        };
        let (Some(window), Some(peaks)) = (
            prepared.windows.into_iter().next(),
            prepared.peaks.into_iter().next(),
        ) else {
            continue;
        };
        let beats = contract::usable_beats(&peaks, N_SAMPLES);
        let meas = ecgcore::dsp::measurements::measure(&rec);
        let attrs = attribute_targets(&meas, &peaks, row.age_years, row.female).to_array();
        flat.extend_from_slice(&window);
        match ecgmodel::shape::beat_vector(&meas) {
            Some(v) => shape_flat.extend(v),
            None => shape_flat.extend(std::iter::repeat_n(f32::NAN, ecgmodel::shape::dim())),
        }
        records.push(CachedRecord { row, beats, attrs });
    }
    bar.finish_and_clear();
    let n = records.len() as i64;
    let signals = Tensor::from_slice(&flat).view([n, N_LEADS as i64, N_SAMPLES as i64]);
    std::fs::create_dir_all(cache_dir).map_err(|e| ModelError::io(cache_dir, e))?;
    let shape = Tensor::from_slice(&shape_flat).view([n, ecgmodel::shape::dim() as i64]);
    Tensor::write_safetensors(&[("signals", &signals), ("shape", &shape)], &sig_path)
        .map_err(|e| ModelError::torch(&sig_path, e))?;
    let meta =
        serde_json::to_string(&records).map_err(|e| ModelError::data(&meta_path, e.to_string()))?;
    std::fs::write(&meta_path, meta).map_err(|e| ModelError::io(&meta_path, e))?;
    let shapes = shape_rows(&shape);
    Ok(Dataset {
        records,
        signals,
        shapes,
    })
}

/// Which records a split holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Folds 1–8, NORM-only.
    Train,
    /// Fold 9, all labelled.
    Validation,
    /// Fold 10, all labelled (never used for any choice).
    Test,
}

impl Dataset {
    /// Indices of the records in `split`.
    pub fn indices(&self, split: Split) -> Vec<usize> {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, r)| match split {
                Split::Train => (1..=8).contains(&r.row.fold) && r.row.label() == Some(0),
                Split::Validation => r.row.fold == 9 && r.row.label().is_some(),
                Split::Test => r.row.fold == 10 && r.row.label().is_some(),
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Signals of the given records `[n, 12, 1000]`.
    pub fn select(&self, idx: &[usize]) -> Tensor {
        let i: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
        self.signals.index_select(0, &Tensor::from_slice(&i))
    }

    /// The beats (R peaks of the beat view) of the given records.
    pub fn beats(&self, idx: &[usize]) -> Vec<Vec<usize>> {
        idx.iter()
            .map(|&i| {
                self.records
                    .get(i)
                    .map(|r| r.beats.clone())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The median-beat vector of record `i`, when it has one.
    pub fn shape(&self, i: usize) -> Option<&[f32]> {
        self.shapes.get(i).and_then(Option::as_deref)
    }

    /// Attribute targets of the given records `[n, 7]` (NaN = unknown).
    pub fn attrs(&self, idx: &[usize]) -> Tensor {
        let flat: Vec<f32> = idx
            .iter()
            .filter_map(|&i| self.records.get(i))
            .flat_map(|r| r.attrs)
            .collect();
        Tensor::from_slice(&flat).view([-1, 7]).to_kind(Kind::Float)
    }
}

/// The header of PTB-XL record `id` under `data` (a folder holding `ptbxl/`) at 500 Hz where
/// the data has it, else at 100 Hz (`records100` covers every record, `records500` only
/// some): the recording the paper calibration (`calibrate_digitized`) draws as a page.
pub fn paper_record_path(data: &Path, id: u32) -> PathBuf {
    let dir = (id / 1000) * 1000;
    let hr = data.join(format!("ptbxl/records500/{dir:05}/{id:05}_hr.hea"));
    if hr.is_file() {
        hr
    } else {
        data.join(format!("ptbxl/records100/{dir:05}/{id:05}_lr.hea"))
    }
}

/// Where `make data` unpacks PTB-XL (`.data/ptbxl`, git-ignored): the plain records
/// of `../shared/data/ptbxl` and the packed ones of `../shared/data/ptbxl/packed` in one
/// tree with the v1.0.3 `labels.csv` (10,420 records).
pub const PTBXL_DIR: &str = ".data/ptbxl";

/// The unpacked PTB-XL tree of the repository at `repo_root`.
pub fn default_ptbxl_dir(repo_root: &Path) -> PathBuf {
    repo_root.join(PTBXL_DIR)
}
