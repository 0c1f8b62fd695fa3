//! Writing `eval` manifests: PTB-XL folds and the external LUDB set.

use crate::data::{self, PtbxlRow};
use ecgcore::recording::Sex;
use ecgmodel::eval::{parse_csv, ManifestRow};
use ecgmodel::ModelError;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Write the PTB-XL manifest of one fold (all labelled, non-excluded records; paths
/// relative to the manifest's folder) with age, sex (F/M) and superclasses.
pub fn write_ptbxl_manifest(ptbxl_dir: &Path, fold: u8, out: &Path) -> Result<usize, ModelError> {
    let rows = fold_rows(ptbxl_dir, fold)?;
    write_rows(&rows, ptbxl_dir, out, |r| format!("{}.hea", r.filename_lr))?;
    Ok(rows.len())
}

/// Write two manifests of the same records of one fold: the records whose 500 Hz file is
/// in `ptbxl_dir` (`records500/`), once at 100 Hz (`out_lr`, the rate the model is trained
/// at) and once at 500 Hz (`out_hr`, the rate most files have), so that `eval` shows what
/// the file's rate does to the scores. Returns how many records each lists.
pub fn write_ptbxl_rate_pair(
    ptbxl_dir: &Path,
    fold: u8,
    out_lr: &Path,
    out_hr: &Path,
) -> Result<usize, ModelError> {
    let hr = |r: &PtbxlRow| {
        let id = r.ecg_id;
        format!("records500/{:05}/{id:05}_hr.hea", (id / 1000) * 1000)
    };
    let rows: Vec<PtbxlRow> = fold_rows(ptbxl_dir, fold)?
        .into_iter()
        .filter(|r| ptbxl_dir.join(hr(r)).is_file())
        .collect();
    write_rows(&rows, ptbxl_dir, out_lr, |r| {
        format!("{}.hea", r.filename_lr)
    })?;
    write_rows(&rows, ptbxl_dir, out_hr, hr)?;
    Ok(rows.len())
}

/// The rows of one fold's PTB-XL manifest (as [`write_ptbxl_manifest`] writes them), for
/// scoring without a manifest file.
pub fn ptbxl_rows(ptbxl_dir: &Path, fold: u8) -> Result<Vec<ManifestRow>, ModelError> {
    Ok(fold_rows(ptbxl_dir, fold)?
        .into_iter()
        .map(|r| ManifestRow {
            path: ptbxl_dir.join(format!("{}.hea", r.filename_lr)),
            label: r.label().unwrap_or(0),
            age_years: r.age_years,
            sex: r.female.map(|f| if f { Sex::Female } else { Sex::Male }),
            classes: r.superclasses.clone(),
        })
        .collect())
}

/// The labelled, non-excluded records of one fold.
fn fold_rows(ptbxl_dir: &Path, fold: u8) -> Result<Vec<PtbxlRow>, ModelError> {
    Ok(data::read_labels(ptbxl_dir)?
        .into_iter()
        .filter(|r| r.fold == fold && !r.excluded && r.label().is_some())
        .collect())
}

/// A manifest of `rows` (`file`: each record's path within `ptbxl_dir`).
fn write_rows(
    rows: &[PtbxlRow],
    ptbxl_dir: &Path,
    out: &Path,
    file: impl Fn(&PtbxlRow) -> String,
) -> Result<(), ModelError> {
    let out_dir = out.parent().unwrap_or(Path::new("."));
    let rel = relative_path(out_dir, ptbxl_dir);
    let mut text = String::from("path,label,age,sex,class\n");
    for r in rows {
        let _ = writeln!(
            text,
            "{},{},{},{},{}",
            rel.join(file(r)).display(),
            r.label().unwrap_or(0),
            r.age_years.map_or(String::new(), |a| format!("{a}")),
            r.female.map_or("", |f| if f { "F" } else { "M" }),
            r.superclasses.join(";")
        );
    }
    std::fs::write(out, text).map_err(|e| ModelError::io(out, e))
}

/// LUDB's "normal" for the external check: sinus rhythm, a normal, vertical or
/// horizontal electrical axis, and no other finding in any column of `ludb.csv`.
pub fn ludb_is_normal(rhythm: &str, axis: &str, others: &[&str]) -> bool {
    let axis = axis.trim().to_ascii_lowercase();
    rhythm.trim().eq_ignore_ascii_case("sinus rhythm")
        && ["normal", "vertical", "horizontal"]
            .iter()
            .any(|a| axis.ends_with(&format!(": {a}")))
        && others.iter().all(|o| o.trim().is_empty())
}

/// Write an `eval` manifest of the LUDB records in `ludb_dir` (`ludb.csv`, `data/N.hea`):
/// label 0 for [`ludb_is_normal`], 1 for any finding. Returns (normals, abnormals).
pub fn write_ludb_manifest(ludb_dir: &Path, out: &Path) -> Result<(usize, usize), ModelError> {
    let csv_path = ludb_dir.join("ludb.csv");
    let text = std::fs::read_to_string(&csv_path).map_err(|e| ModelError::io(&csv_path, e))?;
    let rows = parse_csv(&text);
    let header = rows
        .first()
        .ok_or_else(|| ModelError::data(&csv_path, "empty ludb.csv"))?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| ModelError::data(&csv_path, format!("ludb.csv lacks column {name}")))
    };
    let (c_id, c_sex, c_age, c_rhythm, c_axis) = (
        col("ID")?,
        col("Sex")?,
        col("Age")?,
        col("Rhythms")?,
        col("Electric axis of the heart")?,
    );
    let out_dir = out.parent().unwrap_or(Path::new("."));
    let rel = relative_path(out_dir, &ludb_dir.join("data"));
    let mut manifest = String::from("path,label,age,sex\n");
    let (mut normals, mut abnormals) = (0, 0);
    for r in rows.iter().skip(1) {
        let get = |c: usize| r.get(c).map_or("", |s| s.trim());
        let Ok(id) = get(c_id).parse::<u32>() else {
            continue;
        };
        let hea = ludb_dir.join("data").join(format!("{id}.hea"));
        if !hea.exists() {
            continue;
        }
        let others: Vec<&str> = (0..header.len())
            .filter(|&c| ![c_id, c_sex, c_age, c_rhythm, c_axis].contains(&c))
            .map(get)
            .collect();
        let normal = ludb_is_normal(get(c_rhythm), get(c_axis), &others);
        if normal {
            normals += 1;
        } else {
            abnormals += 1;
        }
        let age = get(c_age)
            .parse::<f32>()
            .map_or(String::new(), |a| format!("{a}"));
        let _ = writeln!(
            manifest,
            "{},{},{age},{}",
            rel.join(format!("{id}.hea")).display(),
            u8::from(!normal),
            get(c_sex)
        );
    }
    std::fs::write(out, manifest).map_err(|e| ModelError::io(out, e))?;
    Ok((normals, abnormals))
}

/// `to` relative to `from` (both made absolute; falls back to absolute `to`).
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let (Ok(from), Ok(to)) = (std::fs::canonicalize(from), std::fs::canonicalize(to)) else {
        return to.to_path_buf();
    };
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in t.iter().skip(common) {
        out.push(c.as_os_str());
    }
    out
}
