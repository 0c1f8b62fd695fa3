//! Shared test input: a real PTB-XL record (ecg_id 10, 500 Hz) with its real metadata
//! and measurements from ecgcore, plus SYNTHETIC model outputs (clearly labelled: the
//! trained model is not part of these tests) with a known anomaly map.

#![allow(dead_code)]

use ecgcore::analysis::{Analysis, ModelOutput, NormalSpread, PredictedAttributes};
use ecgcore::recording::Sex;
use std::path::{Path, PathBuf};
use std::process::Command;

/// PTB-XL record 10 (`records500/00000/00010_hr`); None (with a message) when the data
/// folder is absent.
pub fn record_path() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/ptbxl/records500/00000/00010_hr.hea");
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipping: {} not found (../shared/data absent)",
            path.display()
        );
        None
    }
}

/// True when poppler's tools are installed; prints why a test is skipped otherwise.
pub fn have_poppler() -> bool {
    let ok = Command::new("pdftoppm").arg("-v").output().is_ok()
        && Command::new("pdftotext").arg("-v").output().is_ok();
    if !ok {
        ecgcore::testing::skip("poppler-utils (pdftoppm, pdftotext) not installed");
    }
    ok
}

/// Lead names in the model's order.
pub const MODEL_LEADS: [&str; 12] = [
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
];

/// Synthetic map: 0.05 everywhere, 0.95 over the QRS (R ± 60 ms) of the beat nearest
/// `qrs_at_s` in `qrs_leads`, 0.6 over the ST-T (R + 100…300 ms) of the beat nearest
/// `st_at_s` in lead II.
pub fn synthetic_map(
    n: usize,
    rate_hz: f64,
    r_peaks: &[usize],
    qrs_at_s: f64,
    qrs_leads: &[&str],
    st_at_s: f64,
) -> Vec<Vec<f32>> {
    let nearest = |t: f64| {
        r_peaks
            .iter()
            .copied()
            .min_by(|a, b| {
                (*a as f64 / rate_hz - t)
                    .abs()
                    .total_cmp(&(*b as f64 / rate_hz - t).abs())
            })
            .unwrap_or((t * rate_hz) as usize)
    };
    let r_qrs = nearest(qrs_at_s) as f64 / rate_hz;
    let r_st = nearest(st_at_s) as f64 / rate_hz;
    MODEL_LEADS
        .iter()
        .map(|lead| {
            (0..n)
                .map(|i| {
                    let t = i as f64 / rate_hz;
                    if qrs_leads.contains(lead) && (t - r_qrs).abs() <= 0.06 {
                        0.95
                    } else if *lead == "II" && (0.1..=0.3).contains(&(t - r_st)) {
                        0.6
                    } else {
                        0.05
                    }
                })
                .collect()
        })
        .collect()
}

/// The real record with real measurements and synthetic model outputs.
pub fn realistic_analysis(path: &Path) -> Analysis {
    let mut recording = ecgcore::formats::open(path).expect("PTB-XL record 10 reads");
    // labels.csv, ecg_id 10: patient 9456, age 22, sex 1 (= female in PTB-XL).
    recording.patient.id = Some("9456".to_string());
    recording.patient.age_years = Some(22.0);
    recording.patient.sex = Some(Sex::Female);
    let measurements = ecgcore::dsp::measurements::measure(&recording);
    let rate = recording.sample_rate_hz;
    let n = recording.len_samples();
    let ours = ModelOutput {
        method: "MSCR (SYNTHETIC test map)".to_string(),
        weights: "test-input-0000".to_string(),
        score: 1.83,
        threshold: 1.2,
        abnormal: true,
        borderline_margin: 0.3,
        borderline: false,
        leads: MODEL_LEADS.iter().map(|s| (*s).to_string()).collect(),
        lead_scores: vec![0.1; 12],
        map: synthetic_map(
            n,
            rate,
            &measurements.r_peaks,
            5.5,
            &["V1", "V2", "V3"],
            1.5,
        ),
        map_rate_hz: rate,
        predicted: Some(PredictedAttributes {
            age_years: Some(51.0),
            female_probability: Some(0.31),
            heart_rate_bpm: measurements.heart_rate_bpm.map(|h| h + 3.0),
            pr_ms: measurements.pr_ms.map(|v| v - 8.0),
            qrs_ms: measurements.qrs_ms.map(|v| v + 31.0),
            qt_ms: measurements.qt_ms.map(|v| v + 12.0),
            qtc_ms: measurements.qtc_bazett_ms.map(|v| v + 5.0),
        }),
        normal_spread: Some(NormalSpread {
            age_years: Some(17.0),
            heart_rate_bpm: Some(9.0),
            pr_ms: Some(25.0),
            qrs_ms: Some(14.0),
            qt_ms: Some(30.0),
            qtc_ms: Some(32.0),
        }),
        n_training_normals: 763,
        device: "cpu".to_string(),
        note: None,
    };
    let baseline = ModelOutput {
        method: "Autoencoder baseline (SYNTHETIC test map)".to_string(),
        weights: "test-input-0001".to_string(),
        score: 0.91,
        threshold: 1.1,
        abnormal: false,
        // Within its band (1.1 ± 0.25): the report says borderline.
        borderline_margin: 0.25,
        borderline: true,
        map: synthetic_map(n, rate, &measurements.r_peaks, 8.0, &["V5", "V6"], 3.0),
        predicted: None,
        normal_spread: None,
        ..ours.clone()
    };
    Analysis {
        recording,
        measurements: Some(measurements),
        anomaly: Some(ours),
        baseline: Some(baseline),
        model_status: None,
        edited: Vec::new(),
    }
}

/// A decoded page image (8-bit RGB).
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl Image {
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// Parse a binary PPM (P6, maxval 255) as pdftoppm writes it.
pub fn read_ppm(bytes: &[u8]) -> Image {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes[i] == b'#' {
            while bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P6");
    assert_eq!(fields[3], "255");
    let width: usize = fields[1].parse().unwrap();
    let height: usize = fields[2].parse().unwrap();
    let rgb = bytes[i + 1..].to_vec();
    assert_eq!(rgb.len(), width * height * 3);
    Image { width, height, rgb }
}

/// Render page `page` (1-based) of `pdf` at `dpi`; `crop_px` = (x, y, w, h) in pixels at
/// that dpi; `antialias` off gives exact colours.
pub fn render(
    pdf: &Path,
    page: usize,
    dpi: u32,
    crop_px: Option<(usize, usize, usize, usize)>,
    antialias: bool,
) -> Image {
    let mut cmd = Command::new("pdftoppm");
    cmd.args([
        "-f",
        &page.to_string(),
        "-l",
        &page.to_string(),
        "-r",
        &dpi.to_string(),
    ]);
    if !antialias {
        cmd.args(["-aa", "no", "-aaVector", "no"]);
    }
    if let Some((x, y, w, h)) = crop_px {
        cmd.args([
            "-x",
            &x.to_string(),
            "-y",
            &y.to_string(),
            "-W",
            &w.to_string(),
            "-H",
            &h.to_string(),
        ]);
    }
    let out = cmd.arg(pdf).output().expect("pdftoppm runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    read_ppm(&out.stdout)
}

/// `pdftotext -layout` of the whole document.
pub fn pdf_text(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("ecgreport")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
