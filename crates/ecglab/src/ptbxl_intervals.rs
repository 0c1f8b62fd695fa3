//! QRS and QT on PTB-XL by diagnosis (issue #16): healthy adults (NORM only) should have
//! QRS < 120 ms, complete bundle-branch blocks (CLBBB, CRBBB) QRS ≥ 120 ms, and both a
//! QT. Folds 1–9 only (fold 10 is the untouched test fold); records marked `excluded` are
//! left out. Each record is read at 500 Hz where `records500` has it, else at 100 Hz.
//! `ecglab ptbxl-intervals` prints the table; `tests/ptbxl_intervals.rs` asserts it.

use crate::data::parse_csv;
use ecgcore::dsp::measurements::{measure, Quantity};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The groups compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// `is_norm_only`: NORM is the only diagnostic superclass.
    Norm,
    /// `CLBBB` among the SCP codes.
    Clbbb,
    /// `CRBBB` among the SCP codes.
    Crbbb,
}

impl Group {
    pub fn label(self) -> &'static str {
        match self {
            Group::Norm => "NORM",
            Group::Clbbb => "CLBBB",
            Group::Crbbb => "CRBBB",
        }
    }
}

/// One PTB-XL record to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct PtbxlRecord {
    pub ecg_id: u32,
    pub fold: u8,
    pub groups: Vec<Group>,
    /// The header to open (500 Hz where present, else 100 Hz).
    pub header: PathBuf,
}

/// Figures of one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupFigures {
    pub n: usize,
    /// Records read at 500 Hz (the rest at 100 Hz).
    pub n_500_hz: usize,
    pub qrs: Vec<f32>,
    pub n_qt: usize,
    /// Why QRS (then QT) was not measured, with counts.
    pub qrs_missing: BTreeMap<String, usize>,
    pub qt_missing: BTreeMap<String, usize>,
}

impl GroupFigures {
    /// Share of records with a QRS.
    pub fn qrs_measured(&self) -> f32 {
        self.qrs.len() as f32 / self.n.max(1) as f32
    }

    /// Share of records with a QT.
    pub fn qt_measured(&self) -> f32 {
        self.n_qt as f32 / self.n.max(1) as f32
    }

    /// Share of the records with a QRS where it is ≥ 120 ms.
    pub fn wide(&self) -> f32 {
        self.qrs.iter().filter(|&&q| q >= 120.0).count() as f32 / self.qrs.len().max(1) as f32
    }

    /// Percentile (0–1) of the measured QRS durations.
    pub fn qrs_percentile(&self, q: f32) -> Option<f32> {
        let mut v = self.qrs.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable_by(f32::total_cmp);
        Some(v[((v.len() - 1) as f32 * q).round() as usize])
    }
}

/// The report: one row per group.
#[derive(Debug, Clone, PartialEq)]
pub struct PtbxlReport {
    pub dir: PathBuf,
    pub norm_every: usize,
    pub groups: BTreeMap<Group, GroupFigures>,
}

/// The records of folds 1–9 in a group; NORM records thinned to every `norm_every`-th
/// (in id order) to keep a run short.
///
/// # Errors
/// When `labels.csv` cannot be read.
pub fn ptbxl_records(dir: &Path, norm_every: usize) -> std::io::Result<Vec<PtbxlRecord>> {
    let text = std::fs::read_to_string(dir.join("labels.csv"))?;
    let rows = parse_csv(&text);
    let Some(header) = rows.first() else {
        return Ok(Vec::new());
    };
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(c_id), Some(c_fold), Some(c_scp), Some(c_norm), Some(c_lr), Some(c_hr), Some(c_ex)) = (
        col("ecg_id"),
        col("strat_fold"),
        col("scp_codes"),
        col("is_norm_only"),
        col("filename_lr"),
        col("filename_hr"),
        col("excluded"),
    ) else {
        return Ok(Vec::new());
    };
    let truthy = |s: &str| matches!(s.trim(), "1" | "1.0" | "True" | "true");
    let mut out = Vec::new();
    let mut n_norm = 0usize;
    for r in rows.iter().skip(1) {
        let get = |i: usize| r.get(i).map_or("", |s| s.trim());
        let Ok(id) = get(c_id).parse::<f64>() else {
            continue;
        };
        let fold = get(c_fold).parse::<f64>().map_or(0, |v| v as u8);
        if truthy(get(c_ex)) || !(1..=9).contains(&fold) {
            continue;
        }
        let scp = get(c_scp);
        let mut groups = Vec::new();
        if truthy(get(c_norm)) {
            n_norm += 1;
            if (n_norm - 1).is_multiple_of(norm_every.max(1)) {
                groups.push(Group::Norm);
            }
        }
        if scp.contains("'CLBBB'") {
            groups.push(Group::Clbbb);
        }
        if scp.contains("'CRBBB'") {
            groups.push(Group::Crbbb);
        }
        if groups.is_empty() {
            continue;
        }
        let hr = dir.join(format!("{}.hea", get(c_hr)));
        let lr = dir.join(format!("{}.hea", get(c_lr)));
        let header = if !get(c_hr).is_empty() && hr.exists() {
            hr
        } else {
            lr
        };
        out.push(PtbxlRecord {
            ecg_id: id as u32,
            fold,
            groups,
            header,
        });
    }
    Ok(out)
}

/// Measure the records and summarise per group (records that cannot be read count as
/// not measured, with the error as the reason).
///
/// # Errors
/// When `labels.csv` cannot be read.
pub fn evaluate_ptbxl(dir: &Path, norm_every: usize) -> std::io::Result<PtbxlReport> {
    let records = ptbxl_records(dir, norm_every)?;
    let mut groups: BTreeMap<Group, GroupFigures> = BTreeMap::new();
    for rec in &records {
        let (qrs, qt, qrs_why, qt_why, at_500) = match ecgcore::formats::open(&rec.header) {
            Ok(r) => {
                let m = measure(&r);
                (
                    m.qrs_ms,
                    m.qt_ms,
                    m.reason(Quantity::QrsMs).unwrap_or("").to_string(),
                    m.reason(Quantity::QtMs).unwrap_or("").to_string(),
                    r.sample_rate_hz >= 400.0,
                )
            }
            Err(e) => (None, None, e.to_string(), e.to_string(), false),
        };
        for &g in &rec.groups {
            let f = groups.entry(g).or_default();
            f.n += 1;
            f.n_500_hz += usize::from(at_500);
            match qrs {
                Some(q) => f.qrs.push(q),
                None => *f.qrs_missing.entry(qrs_why.clone()).or_default() += 1,
            }
            match qt {
                Some(_) => f.n_qt += 1,
                None => *f.qt_missing.entry(qt_why.clone()).or_default() += 1,
            }
        }
    }
    Ok(PtbxlReport {
        dir: dir.to_path_buf(),
        norm_every,
        groups,
    })
}

impl fmt::Display for PtbxlReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "PTB-XL folds 1–9 ({}), NORM every {}-th record; QRS in ms",
            self.dir.display(),
            self.norm_every
        )?;
        writeln!(
            f,
            "{:<6} {:>5} {:>6} {:>9} {:>6} {:>6} {:>6} {:>8} {:>8} {:>7}",
            "group", "n", "500Hz", "QRS meas", "p25", "median", "p75", "<120", "≥120", "QT meas"
        )?;
        for (g, x) in &self.groups {
            let p = |q: f32| {
                x.qrs_percentile(q)
                    .map_or("—".into(), |v| format!("{v:.0}"))
            };
            writeln!(
                f,
                "{:<6} {:>5} {:>6} {:>8.1}% {:>6} {:>6} {:>6} {:>7.1}% {:>7.1}% {:>6.1}%",
                g.label(),
                x.n,
                x.n_500_hz,
                100.0 * x.qrs_measured(),
                p(0.25),
                p(0.5),
                p(0.75),
                100.0 * (1.0 - x.wide()),
                100.0 * x.wide(),
                100.0 * x.qt_measured()
            )?;
            for (why, n) in &x.qrs_missing {
                writeln!(f, "    no QRS ×{n}: {why}")?;
            }
            for (why, n) in &x.qt_missing {
                writeln!(f, "    no QT ×{n}: {why}")?;
            }
        }
        Ok(())
    }
}
