//! Evaluation of the digitizer against ground truth, rerunnable from the repository.
//!
//! Metric (the 2024 PhysioNet/CinC challenge's, as DESIGN.md §4 asks): per lead,
//! SNR = 10·log10(Σx² / Σ(x̂ − x)²) over the samples the image shows, after removing
//! each signal's mean and shifting x̂ in time by at most ±0.2 s to the best fit. Samples
//! the digitizer could not read count as the mean (an error of the whole signal there).
//! Reported: median over all leads of all images, quartiles, and the share of images
//! that failed (an error instead of a recording).
//!
//! Sets:
//! - `ecg-image-kit`: the renders of PTB-XL records 1–4 in
//!   `data/images/rendered-ptbxl` (ground truth `data/ptbxl/records500`). They print
//!   the standard 3×4 time windows (column c shows seconds 2.5·c to 2.5·(c+1)); this was
//!   checked by scoring both that and "first 2.5 s in every cell" (older ecg-image-kit
//!   code): only the standard windows give a positive SNR (18 dB against −1 dB).
//! - `synthetic clean` / `synthetic distorted`: PTB-XL fold-10 records at 500 Hz drawn by
//!   [`crate::paper_render`] (clean: red grid, 200 dpi; distorted: seeded random rotation, blur,
//!   noise, JPEG, grid colour and resolution; perspective: the clean page as a photo
//!   taken at an angle, [`crate::paper_render::perspective_photo`], seeded by the record id).
//! - `ecg-image-kit <set>`: the 64 pages of `data/images/ecg-image-kit` (PTB-XL records
//!   of folds 1–9), scored against the windows `manifest.csv` gives for each lead (the
//!   generator's 6×2 pages show both columns at 0–5 s), grouped by style: clean 3×4,
//!   6×2, 12×1, photo-like, 100 dpi, black-and-white, grid colours, … ([`kit_pages`],
//!   [`kit_sets`]; also `cargo run --release -p ecglab --example kit_eval`).
//! - `real-world`: scans without ground truth; each must digitize or be refused cleanly.
//!
//! Units: dB, seconds.

use crate::paper_render::{self as render, RenderStyle};
use ecgdigitize::{digitize_path, digitize_rgb, DigitizeOptions, Layout};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Largest time shift allowed when aligning, seconds.
pub const MAX_SHIFT_S: f32 = 0.2;

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// The shared data folder (holding `ptbxl/` and `images/`).
    pub data_dir: PathBuf,
    /// How many PTB-XL fold-10 records to render (each gives one clean and one
    /// distorted page); 0 skips the synthetic sets.
    pub synthetic_records: usize,
    /// Also run the real-world scans (no ground truth).
    pub real_world: bool,
}

/// Results on one image set.
#[derive(Debug, Clone, Default)]
pub struct SetResult {
    pub name: String,
    pub images: usize,
    pub failed: usize,
    /// SNR of every lead of every digitized image, dB.
    pub snr_db: Vec<f32>,
    /// Per image: name and median SNR (dB), or the error.
    pub per_image: Vec<(String, Result<f32, String>)>,
    pub seconds: f32,
}

impl SetResult {
    pub fn median_snr_db(&self) -> Option<f32> {
        quantile(&self.snr_db, 0.5)
    }
    pub fn failed_share(&self) -> f32 {
        self.failed as f32 / self.images.max(1) as f32
    }
}

/// Real-world scans: digitized or refused (with the reason).
#[derive(Debug, Clone, Default)]
pub struct RealWorldResult {
    pub images: usize,
    /// Name, layout and mean confidence.
    pub digitized: Vec<(String, String, f32)>,
    /// Name and reason.
    pub refused: Vec<(String, String)>,
}

/// The evaluation table.
#[derive(Debug, Clone, Default)]
pub struct EvalReport {
    pub sets: Vec<SetResult>,
    pub real_world: Option<RealWorldResult>,
}

fn quantile(v: &[f32], q: f32) -> Option<f32> {
    let mut s: Vec<f32> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f32::total_cmp);
    let i = ((s.len() - 1) as f32 * q).round() as usize;
    s.get(i).copied()
}

/// SNR of `estimate` against `truth` over sample indices `shown`, best over shifts of at
/// most `max_shift` samples. Non-finite estimates count as the estimate's mean.
pub fn snr_db(
    truth: &[f32],
    estimate: &[f32],
    shown: std::ops::Range<usize>,
    max_shift: usize,
) -> f32 {
    let shown = shown.start.min(truth.len())..shown.end.min(truth.len());
    let x: Vec<f64> = truth[shown.clone()].iter().map(|v| f64::from(*v)).collect();
    if x.is_empty() {
        return f32::NAN;
    }
    let mx = x.iter().sum::<f64>() / x.len() as f64;
    let signal: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    let mut best = f64::MIN;
    for shift in -(max_shift as isize)..=(max_shift as isize) {
        let est: Vec<Option<f64>> = shown
            .clone()
            .map(|i| {
                let j = i as isize + shift;
                if j < 0 {
                    return None;
                }
                estimate
                    .get(j as usize)
                    .filter(|v| v.is_finite())
                    .map(|v| f64::from(*v))
            })
            .collect();
        let n = est.iter().flatten().count();
        let me = if n > 0 {
            est.iter().flatten().sum::<f64>() / n as f64
        } else {
            0.0
        };
        let noise: f64 = x
            .iter()
            .zip(&est)
            .map(|(xv, e)| {
                let d = e.map_or(0.0, |e| e - me) - (xv - mx);
                d * d
            })
            .sum();
        let snr = 10.0 * (signal / noise.max(1e-12)).log10();
        best = best.max(snr);
    }
    best as f32
}

/// Ground-truth signals of a WFDB record (PTB-XL): lead names in the header's order and
/// samples in mV, read with ecgcore's WFDB reader.
pub fn read_wfdb16(record: &Path) -> Result<(Vec<String>, Vec<Vec<f32>>), String> {
    let rec = ecgcore::formats::wfdb::read_record(&record.with_extension("hea"))
        .map_err(|e| e.to_string())?;
    Ok((
        rec.lead_names(),
        rec.leads.into_iter().map(|l| l.samples_mv).collect(),
    ))
}

/// SNR per lead of a digitized recording against ground truth (12 leads, 500 Hz).
fn score(digitized: &ecgcore::Recording, truth: &[Vec<f32>], layout: Layout) -> Vec<f32> {
    let rate = 500.0f32;
    let max_shift = (MAX_SHIFT_S * rate) as usize;
    let mut out = Vec::new();
    for lead in ecgcore::StandardLead::ALL {
        let cells: Vec<_> = layout
            .cells()
            .into_iter()
            .filter(|c| c.lead == lead)
            .collect();
        let Some(cell) = cells
            .iter()
            .max_by(|a, b| (a.end_s - a.start_s).total_cmp(&(b.end_s - b.start_s)))
        else {
            continue;
        };
        let (Some(est), Some(x)) = (digitized.lead(lead), truth.get(lead.index())) else {
            continue;
        };
        let a = (cell.start_s * rate) as usize;
        let b = (cell.end_s * rate) as usize;
        // Truth as printed, placed where the digitizer puts it.
        let mut placed = vec![f32::NAN; x.len().max(b)];
        for i in a..b {
            if let (Some(p), Some(v)) = (placed.get_mut(i), x.get(i)) {
                *p = *v;
            }
        }
        out.push(snr_db(&placed, &est.samples_mv, a..b, max_shift));
    }
    out
}

fn ptbxl_record(data: &Path, id: u32) -> PathBuf {
    data.join(format!(
        "ptbxl/records500/{:05}/{id:05}_hr",
        (id / 1000) * 1000
    ))
}

/// The ecg-image-kit renders with PTB-XL ground truth.
fn image_kit_set(data: &Path) -> SetResult {
    let root = data.join("images/rendered-ptbxl");
    let images = [
        "PTB_XL_op/00002_hr-0.png",
        "PTB_XL_op/00003_hr-0.png",
        "PTB_XL_op/box_plots/00002_hr-0.png",
        "PTB_XL_op/box_plots/00003_hr-0.png",
        "DistortionData/HandwrittenText/00002_hr-0.png",
        "DistortionData/HandwrittenText/00004_hr-0.png",
        "DistortionData/Wrinkles_Creases/00001_hr-0.png",
        "DistortionData/Wrinkles_Creases/00003_hr-0.png",
        "DistortionData/bbox/00002_hr-0.png",
        "DistortionData/bbox/00003_hr-0.png",
    ];
    let mut set = SetResult {
        name: "ecg-image-kit renders (PTB-XL 1–4)".into(),
        ..SetResult::default()
    };
    let start = Instant::now();
    for rel in images {
        let path = root.join(rel);
        let id: u32 = Path::new(rel)
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.get(..5))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let Ok((_, truth)) = read_wfdb16(&ptbxl_record(data, id)) else {
            continue;
        };
        set.images += 1;
        match digitize_path(&path, &DigitizeOptions::default()) {
            Ok(d) => {
                let snr = score(&d.recording, &truth, d.layout);
                set.per_image
                    .push((rel.to_string(), Ok(quantile(&snr, 0.5).unwrap_or(f32::NAN))));
                set.snr_db.extend(snr);
            }
            Err(e) => {
                set.failed += 1;
                set.per_image.push((rel.to_string(), Err(e.to_string())));
            }
        }
    }
    set.seconds = start.elapsed().as_secs_f32();
    set
}

/// PTB-XL fold-10 record ids available at 500 Hz (labels.csv), excluding removed ones.
pub fn fold10_ids(data: &Path) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string(data.join("ptbxl/labels.csv")) else {
        return Vec::new();
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(id_col), Some(fold_col)) = (col("ecg_id"), col("strat_fold")) else {
        return Vec::new();
    };
    let mut ids: Vec<u32> = lines
        .filter_map(|l| {
            // The first columns hold no quoted commas.
            let f: Vec<&str> = l.splitn(fold_col + 2, ',').collect();
            let id: u32 = f.get(id_col)?.parse().ok()?;
            (f.get(fold_col)? == &"10").then_some(id)
        })
        .filter(|id| ptbxl_record(data, *id).with_extension("dat").exists())
        .collect();
    ids.sort_unstable();
    ids
}

/// Largest inward move of each page corner in the perspective set, share of the page.
pub const PERSPECTIVE_STRENGTH: f32 = 0.08;

/// Render and digitize `n` fold-10 records: clean, distorted, and clean but photographed
/// at an angle (corners moved inwards by up to [`PERSPECTIVE_STRENGTH`], seeded by the
/// record id).
fn synthetic_sets(data: &Path, n: usize) -> (SetResult, SetResult, SetResult) {
    let mut perspective = SetResult {
        name: "synthetic perspective (clean 200 dpi page photographed at an angle)".into(),
        ..SetResult::default()
    };
    let mut clean = SetResult {
        name: "synthetic clean (red grid, 200 dpi)".into(),
        ..SetResult::default()
    };
    let mut distorted = SetResult {
        name: "synthetic distorted (±5°, blur, noise, JPEG, colours, 100–300 dpi)".into(),
        ..SetResult::default()
    };
    let layout = Layout::ThreeByFour { rhythm_strips: 1 };
    for id in fold10_ids(data).into_iter().take(n) {
        let Ok((_, truth)) = read_wfdb16(&ptbxl_record(data, id)) else {
            continue;
        };
        {
            let start = Instant::now();
            let style = RenderStyle {
                seed: u64::from(id),
                ..RenderStyle::default()
            };
            let flat = render::render_page(&truth, &style);
            let (img, _) = render::perspective_photo(&flat, PERSPECTIVE_STRENGTH, u64::from(id));
            let name = format!("{id:05}_hr perspective");
            perspective.images += 1;
            match digitize_rgb(&img, Path::new(&name), &DigitizeOptions::default()) {
                Ok(d) => {
                    let snr = score(&d.recording, &truth, layout);
                    perspective.per_image.push((
                        format!(
                            "{name} (corrected: {:.1}°)",
                            d.perspective_deg.unwrap_or(0.0)
                        ),
                        Ok(quantile(&snr, 0.5).unwrap_or(f32::NAN)),
                    ));
                    perspective.snr_db.extend(snr);
                }
                Err(e) => {
                    perspective.failed += 1;
                    perspective.per_image.push((name, Err(e.to_string())));
                }
            }
            perspective.seconds += start.elapsed().as_secs_f32();
        }
        let styles = [
            (
                &mut clean,
                RenderStyle {
                    seed: u64::from(id),
                    ..RenderStyle::default()
                },
                false,
            ),
            (
                &mut distorted,
                render::random_distorted_style(u64::from(id)),
                true,
            ),
        ];
        for (set, style, distort) in styles {
            let start = Instant::now();
            let mut img = render::render_page(&truth, &style);
            if distort {
                img = render::distort(&img, &style);
            }
            let name = format!("{id:05}_hr");
            set.images += 1;
            match digitize_rgb(&img, Path::new(&name), &DigitizeOptions::default()) {
                Ok(d) => {
                    let snr = score(&d.recording, &truth, layout);
                    set.per_image.push((
                        format!("{name} {style:?}"),
                        Ok(quantile(&snr, 0.5).unwrap_or(f32::NAN)),
                    ));
                    set.snr_db.extend(snr);
                }
                Err(e) => {
                    set.failed += 1;
                    set.per_image
                        .push((format!("{name} {style:?}"), Err(e.to_string())));
                }
            }
            set.seconds += start.elapsed().as_secs_f32();
        }
    }
    (clean, distorted, perspective)
}

fn real_world(data: &Path) -> RealWorldResult {
    let mut out = RealWorldResult::default();
    let Ok(dir) = std::fs::read_dir(data.join("images/real-world")) else {
        return out;
    };
    let mut files: Vec<PathBuf> = dir
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for path in files {
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        out.images += 1;
        match digitize_path(&path, &DigitizeOptions::default()) {
            Ok(d) => {
                let mean = d.confidence_per_lead.iter().sum::<f32>() / 12.0;
                out.digitized.push((name, d.layout.to_string(), mean));
            }
            Err(e) => out.refused.push((name, e.to_string())),
        }
    }
    out
}

/// Run the evaluation described by `config`.
pub fn evaluate(config: &EvalConfig) -> EvalReport {
    let mut report = EvalReport::default();
    report.sets.push(image_kit_set(&config.data_dir));
    // The 64 ecg-image-kit pages of `images/ecg-image-kit` (manifest windows), per set.
    if let Ok(results) = kit_pages(&config.data_dir, "") {
        report
            .sets
            .extend(kit_sets(&results).into_iter().map(|mut s| {
                s.name = format!("ecg-image-kit {}", s.name);
                s
            }));
    }
    if config.synthetic_records > 0 {
        let (clean, distorted, perspective) =
            synthetic_sets(&config.data_dir, config.synthetic_records);
        report.sets.push(clean);
        report.sets.push(distorted);
        report.sets.push(perspective);
    }
    if config.real_world {
        report.real_world = Some(real_world(&config.data_dir));
    }
    report
}

/// Time digitizing one 300-dpi synthetic page (fold-10 record `id`), averaged over
/// `runs`; returns seconds per page.
pub fn benchmark_300dpi(data: &Path, runs: usize) -> Option<f32> {
    let id = *fold10_ids(data).first()?;
    let (_, truth) = read_wfdb16(&ptbxl_record(data, id)).ok()?;
    let style = RenderStyle {
        dpi: 300.0,
        ..RenderStyle::default()
    };
    let img = render::render_page(&truth, &style);
    let start = Instant::now();
    for _ in 0..runs.max(1) {
        digitize_rgb(&img, Path::new("benchmark"), &DigitizeOptions::default()).ok()?;
    }
    Some(start.elapsed().as_secs_f32() / runs.max(1) as f32)
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<70} {:>6} {:>7} {:>9} {:>9} {:>9} {:>7}",
            "set", "images", "failed", "SNR p25", "median", "SNR p75", "s/img"
        )?;
        let db = |v: Option<f32>| v.map_or("-".to_string(), |v| format!("{v:.1} dB"));
        for s in &self.sets {
            writeln!(
                f,
                "{:<70} {:>6} {:>6.0}% {:>9} {:>9} {:>9} {:>7.2}",
                s.name,
                s.images,
                100.0 * s.failed_share(),
                db(quantile(&s.snr_db, 0.25)),
                db(s.median_snr_db()),
                db(quantile(&s.snr_db, 0.75)),
                s.seconds / s.images.max(1) as f32
            )?;
        }
        for s in &self.sets {
            writeln!(f, "\n{}:", s.name)?;
            for (name, r) in &s.per_image {
                match r {
                    Ok(v) => writeln!(f, "  {v:>6.1} dB  {name}")?,
                    Err(e) => writeln!(f, "  failed     {name}: {e}")?,
                }
            }
        }
        if let Some(rw) = &self.real_world {
            writeln!(
                f,
                "\nreal-world scans: {} images, {} digitized, {} refused with a reason",
                rw.images,
                rw.digitized.len(),
                rw.refused.len()
            )?;
            for (name, layout, conf) in &rw.digitized {
                writeln!(f, "  ok       {name}: {layout}, mean confidence {conf:.2}")?;
            }
            for (name, reason) in &rw.refused {
                writeln!(f, "  refused  {name}: {reason}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_is_counted_per_snr_band() {
        let pairs = [
            (-1.0, 0.9),
            (2.9, 0.2),
            (3.0, 0.5),
            (15.0, 1.0),
            (30.0, 0.4),
        ];
        let bands = confidence_bands(&pairs);
        assert_eq!(bands.len(), 5);
        assert_eq!((bands[0].leads, bands[0].confident), (2, 1));
        assert!((bands[0].mean_confidence - 0.55).abs() < 1e-6);
        assert_eq!((bands[1].leads, bands[1].confident), (1, 1));
        assert_eq!((bands[2].leads, bands[3].leads), (0, 0));
        assert_eq!(bands[2].mean_confidence, 0.0);
        assert_eq!((bands[4].leads, bands[4].confident), (2, 1));
        assert!(bands[0].to_string().starts_with("under 3 dB"));
        assert!(bands[4].to_string().starts_with("12 dB or more"));
    }

    #[test]
    fn snr_of_exact_copy_is_high_and_of_zero_is_zero() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.05).sin()).collect();
        assert!(snr_db(&x, &x, 0..1000, 10) > 60.0);
        let zero = vec![0.0; 1000];
        assert!(snr_db(&x, &zero, 0..1000, 10).abs() < 0.5);
        let shifted: Vec<f32> = (0..1000).map(|i| ((i as f32 - 5.0) * 0.05).sin()).collect();
        assert!(snr_db(&x, &shifted, 100..900, 10) > 40.0);
    }
}

/// One page of `images/ecg-image-kit/manifest.csv`.
#[derive(Debug, Clone)]
pub struct KitPage {
    pub image: String,
    /// Ground-truth record, relative to the data folder.
    pub ground_truth: String,
    pub style: String,
    pub layout: String,
    /// Per lead: the seconds of the record drawn (the longest window when a lead is
    /// drawn twice, e.g. as a rhythm strip).
    pub windows: Vec<(ecgcore::StandardLead, f32, f32)>,
}

/// Split one CSV line (double quotes, no escaped quotes inside fields).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// A lead by its printed label (`I`, `aVR`, `V1`, …; case-insensitive).
pub fn lead_by_label(label: &str) -> Option<ecgcore::StandardLead> {
    ecgcore::StandardLead::ALL
        .into_iter()
        .find(|l| l.label().eq_ignore_ascii_case(label.trim()))
}

/// Parse `lead_windows` ("I,II,III: 0-2.5 s; …; rhythm II: 0-10 s").
fn parse_windows(text: &str) -> Vec<(ecgcore::StandardLead, f32, f32)> {
    let mut out: Vec<(ecgcore::StandardLead, f32, f32)> = Vec::new();
    for part in text.split(';') {
        let Some((leads, span)) = part.split_once(':') else {
            continue;
        };
        let span = span.trim().trim_end_matches('s').trim();
        let Some((a, b)) = span.split_once('-') else {
            continue;
        };
        let (Ok(a), Ok(b)) = (a.trim().parse::<f32>(), b.trim().parse::<f32>()) else {
            continue;
        };
        for name in leads.trim().trim_start_matches("rhythm").split(',') {
            let Some(lead) = lead_by_label(name) else {
                continue;
            };
            match out.iter_mut().find(|w| w.0 == lead) {
                Some(w) if w.2 - w.1 < b - a => *w = (lead, a, b),
                Some(_) => {}
                None => out.push((lead, a, b)),
            }
        }
    }
    out
}

/// The pages listed in `images/ecg-image-kit/manifest.csv` under `data`.
pub fn kit_manifest(data: &Path) -> Result<Vec<KitPage>, String> {
    let path = data.join("images/ecg-image-kit/manifest.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header = split_csv(lines.next().unwrap_or(""));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{}: no column {name}", path.display()))
    };
    let (ci, cg, cs, cl, cw) = (
        col("image")?,
        col("ground_truth")?,
        col("style")?,
        col("layout")?,
        col("lead_windows")?,
    );
    let mut pages = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f = split_csv(line);
        let get = |i: usize| f.get(i).cloned().unwrap_or_default();
        pages.push(KitPage {
            image: get(ci),
            ground_truth: get(cg),
            style: get(cs),
            layout: get(cl),
            windows: parse_windows(&get(cw)),
        });
    }
    Ok(pages)
}

/// The evaluation set a manifest style belongs to.
pub fn kit_set_name(style: &str) -> &'static str {
    match style.split('-').next().unwrap_or("") {
        "1" => "clean 3×4 + II",
        "3a" => "6×2 + II",
        "3b" => "12×1 + II",
        "4a" | "4b" | "4c" | "4d" => "photo-like (4a–4d)",
        "5a" => "100 dpi",
        "5b" => "black-and-white",
        "6a" => "no calibration pulse",
        "6b" => "grid colours",
        "6c" => "no grid",
        "6d" => "printed header",
        "6e" => "rhythm V1 / V5",
        "6f" => "no lead names",
        _ => "other",
    }
}

/// SNR per lead of a digitized page against the manifest's windows: the digitizer's
/// reading of each lead (where its layout places it on the 10 s page) against the
/// record's samples in the window the page really shows (ecg-image-kit's 6×2 pages draw
/// both columns at 0–5 s, which no layout convention can know), same length, best lag
/// within ±[`MAX_SHIFT_S`]. A lead the digitizer did not place counts as all missing.
pub fn score_against_windows(
    d: &ecgdigitize::Digitized,
    truth: &[Vec<f32>],
    windows: &[(ecgcore::StandardLead, f32, f32)],
) -> Vec<(ecgcore::StandardLead, f32)> {
    let rate = OUTPUT_RATE as f32;
    let max_shift = (MAX_SHIFT_S * rate) as usize;
    let cells = d.layout.cells();
    let mut out = Vec::new();
    for &(lead, a_s, b_s) in windows {
        let Some(x) = truth.get(lead.index()) else {
            continue;
        };
        let est = d
            .recording
            .lead(lead)
            .map(|l| l.samples_mv.clone())
            .unwrap_or_default();
        let cell = cells
            .iter()
            .filter(|c| c.lead == lead)
            .max_by(|p, q| (p.end_s - p.start_s).total_cmp(&(q.end_s - q.start_s)));
        // Where the digitizer put the lead; a missing lead is compared where it would be.
        let (ca, cb) = cell.map_or((a_s, b_s), |c| (c.start_s, c.end_s));
        let len = ((b_s - a_s).min(cb - ca) * rate).round() as usize;
        let a = (a_s * rate).round() as usize;
        let ca = (ca * rate).round() as usize;
        let mut placed = vec![f32::NAN; est.len().max(ca + len)];
        for i in 0..len {
            if let (Some(p), Some(v)) = (placed.get_mut(ca + i), x.get(a + i)) {
                *p = *v;
            }
        }
        out.push((lead, snr_db(&placed, &est, ca..ca + len, max_shift)));
    }
    out
}

const OUTPUT_RATE: f64 = ecgdigitize::OUTPUT_RATE_HZ;

/// One digitized (or refused) ecg-image-kit page.
#[derive(Debug, Clone)]
pub struct KitResult {
    pub page: KitPage,
    /// Per-lead SNR, or the error.
    pub snr: Result<Vec<(ecgcore::StandardLead, f32)>, String>,
    pub layout: String,
    pub seconds: f32,
    pub confidence: [f32; 12],
    /// How each lead was identified.
    pub sources: [ecgdigitize::LeadSource; 12],
    /// The perspective correction applied, degrees (see [`ecgdigitize::Digitized::perspective_deg`]).
    pub perspective_deg: Option<f32>,
}

/// Digitize every page of the ecg-image-kit manifest whose style starts with `filter`
/// (all when empty) and score it against the manifest's windows.
pub fn kit_pages(data: &Path, filter: &str) -> Result<Vec<KitResult>, String> {
    let pages = kit_manifest(data)?;
    let mut out = Vec::new();
    for page in pages {
        if !filter.is_empty() && !page.style.starts_with(filter) && !page.image.contains(filter) {
            continue;
        }
        let truth = read_wfdb16(&data.join(&page.ground_truth))
            .map_err(|e| format!("{}: {e}", page.ground_truth))?
            .1;
        let path = data.join("images/ecg-image-kit").join(&page.image);
        let start = Instant::now();
        let d = digitize_path(&path, &DigitizeOptions::default());
        let seconds = start.elapsed().as_secs_f32();
        let (snr, layout, confidence, sources) = match &d {
            Ok(d) => (
                Ok(score_against_windows(d, &truth, &page.windows)),
                d.layout.to_string(),
                d.confidence_per_lead,
                d.lead_source,
            ),
            Err(e) => (
                Err(e.to_string()),
                String::new(),
                [0.0; 12],
                [ecgdigitize::LeadSource::Missing; 12],
            ),
        };
        out.push(KitResult {
            page,
            snr,
            layout,
            seconds,
            confidence,
            sources,
            perspective_deg: d.as_ref().ok().and_then(|d| d.perspective_deg),
        });
    }
    Ok(out)
}

/// How honest the digitizer's per-lead confidence is: the leads of `results` grouped by
/// the SNR they were read at (under 3, 3–6, 6–9, 9–12, 12 dB or more), each band with its
/// lead count, how many of them carry confidence 0.5 or more (the viewer's "doubtful"
/// cut-off) and their mean confidence. A lead read badly should not keep 0.5.
pub fn confidence_by_snr(results: &[KitResult]) -> Vec<ConfidenceBand> {
    let pairs: Vec<(f32, f32)> = results
        .iter()
        .filter_map(|r| r.snr.as_ref().ok().map(|v| (r, v)))
        .flat_map(|(r, v)| v.iter().map(move |(l, s)| (*s, r.confidence[l.index()])))
        .collect();
    confidence_bands(&pairs)
}

/// One SNR band of [`confidence_by_snr`].
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidenceBand {
    /// SNR range, dB (`lo..hi`).
    pub lo: f32,
    pub hi: f32,
    pub leads: usize,
    /// Leads with confidence 0.5 or more.
    pub confident: usize,
    pub mean_confidence: f32,
}

/// [`confidence_by_snr`] over `(snr_db, confidence)` pairs.
pub fn confidence_bands(pairs: &[(f32, f32)]) -> Vec<ConfidenceBand> {
    let edges = [f32::NEG_INFINITY, 3.0, 6.0, 9.0, 12.0, f32::INFINITY];
    edges
        .windows(2)
        .map(|e| {
            let band: Vec<f32> = pairs
                .iter()
                .filter(|(s, _)| *s >= e[0] && *s < e[1])
                .map(|p| p.1)
                .collect();
            ConfidenceBand {
                lo: e[0],
                hi: e[1],
                leads: band.len(),
                confident: band.iter().filter(|c| **c >= 0.5).count(),
                mean_confidence: band.iter().sum::<f32>() / band.len().max(1) as f32,
            }
        })
        .collect()
}

impl std::fmt::Display for ConfidenceBand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let range = match (self.lo.is_finite(), self.hi.is_finite()) {
            (false, _) => format!("under {} dB", self.hi),
            (_, false) => format!("{} dB or more", self.lo),
            _ => format!("{}–{} dB", self.lo, self.hi),
        };
        write!(
            f,
            "{range:<16} {:>5} leads, {:>5} with confidence ≥ 0.5, mean {:.3}",
            self.leads, self.confident, self.mean_confidence
        )
    }
}

/// Group page results into the named sets (in first-seen order) plus "all clean pages"
/// (3×4, 6×2, 12×1) and "all pages".
pub fn kit_sets(results: &[KitResult]) -> Vec<SetResult> {
    let mut sets: Vec<SetResult> = Vec::new();
    let mut add = |name: &str, r: &KitResult| {
        let i = if let Some(i) = sets.iter().position(|s| s.name == name) {
            i
        } else {
            sets.push(SetResult {
                name: name.to_string(),
                ..SetResult::default()
            });
            sets.len() - 1
        };
        let s = &mut sets[i];
        s.images += 1;
        s.seconds += r.seconds;
        match &r.snr {
            Ok(v) => {
                let snr: Vec<f32> = v.iter().map(|x| x.1).collect();
                s.per_image.push((
                    format!("{} ({})", r.page.image, r.layout),
                    Ok(quantile(&snr, 0.5).unwrap_or(f32::NAN)),
                ));
                s.snr_db.extend(snr);
            }
            Err(e) => {
                s.failed += 1;
                s.per_image.push((r.page.image.clone(), Err(e.clone())));
            }
        }
    };
    for r in results {
        add(kit_set_name(&r.page.style), r);
    }
    for r in results {
        if matches!(r.page.style.split('-').next(), Some("1" | "3a" | "3b")) {
            add("all clean (3×4, 6×2, 12×1)", r);
        }
    }
    for r in results {
        add("all pages", r);
    }
    sets
}
