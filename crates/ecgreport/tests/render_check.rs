//! Renders the report of a real PTB-XL record (with synthetic model maps, labelled as
//! test input) and checks it the way a reader would see it: page size, grid spacing and
//! gain on the rendered image, text via pdftotext, colours where the map is high.

mod common;

use common::*;
use ecgreport::layout::{PageFrame, GRID_HEIGHT_MM, GRID_WIDTH_MM};
use ecgreport::{render_pdf, write_pdf, Paper, ReportOptions};

fn options(paper: Paper, baseline: bool) -> ReportOptions {
    ReportOptions {
        paper,
        include_baseline_page: baseline,
        filters_label: "0.5–40 Hz band-pass, 50 Hz notch".to_string(),
        software_version: "0.1.0-test".to_string(),
        model_label: "MSCR v1 (SYNTHETIC test input), weights sha256:0000abcd".to_string(),
        prior: None,
    }
}

#[test]
fn renders_a_full_report_a_reader_can_check() {
    let Some(record) = record_path() else { return };
    if !have_poppler() {
        return;
    }
    let analysis = realistic_analysis(&record);
    let dir = scratch("full");
    let pdf_path = dir.join("report.pdf");
    let opts = options(Paper::A4, true);
    write_pdf(&analysis, &opts, &pdf_path, false).unwrap();
    let bytes = std::fs::read(&pdf_path).unwrap();
    eprintln!("report: {} bytes, 2 pages", bytes.len());
    assert!(
        bytes.len() < 2 * 1024 * 1024,
        "over 1 MB per page: {}",
        bytes.len()
    );

    // Page size: A4 landscape at 100 dpi = 1169 × 827 px.
    let img = render(&pdf_path, 1, 100, None, true);
    assert!(
        (img.width as f32 - 297.0 / 25.4 * 100.0).abs() <= 1.0,
        "{}",
        img.width
    );
    assert!(
        (img.height as f32 - 210.0 / 25.4 * 100.0).abs() <= 1.0,
        "{}",
        img.height
    );

    // Text.
    let text = pdf_text(&pdf_path);
    let m = analysis.measurements.as_ref().unwrap();
    for needle in [
        "25 mm/s".to_string(),
        "10 mm/mV".to_string(),
        "Outside the range of the 763 normal ECGs the model learned from".to_string(),
        "score 1.83 (threshold 1.20, borderline ± 0.30)".to_string(),
        // The baseline's score lies within its band (1.10 ± 0.25).
        "score 0.91 (threshold 1.10, borderline ± 0.25)".to_string(),
        "borderline, just within the normal range".to_string(),
        "Decision support, not a diagnosis.".to_string(),
        "9456".to_string(),
        "QTc Bazett".to_string(),
        "QTc Fridericia".to_string(),
        format!("{:.0} bpm", m.heart_rate_bpm.unwrap()),
        format!("{:.0} ms", m.qrs_ms.unwrap()),
        format!("{:.0} ms", m.qt_ms.unwrap()),
        format!("{:.0} ms", m.qtc_bazett_ms.unwrap()),
        "00010_hr.hea".to_string(),
        "Most anomalous segments".to_string(),
        "within the normal range".to_string(),
    ] {
        assert!(
            text.contains(&needle),
            "pdftotext lacks {needle:?}:\n{text}"
        );
    }
    let pages = text.matches('\u{c}').count();
    assert_eq!(pages, 2, "two pages expected");
}

/// Positions of the centres of runs of `true` in `flags`.
fn run_centres(flags: &[bool]) -> Vec<f64> {
    let mut centres = Vec::new();
    let mut start = None;
    for (i, &f) in flags.iter().chain(std::iter::once(&false)).enumerate() {
        match (f, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                centres.push((s + i - 1) as f64 / 2.0);
                start = None;
            }
            _ => {}
        }
    }
    centres
}

/// Line pitch in px: least-squares fit of the line centres against their index in
/// units of the nominal pitch (so lines hidden under a trace do not shift the index).
fn fitted_pitch(centres: &[f64], nominal_px: f64) -> f64 {
    let first = centres[0];
    let idx: Vec<f64> = centres
        .iter()
        .map(|c| ((c - first) / nominal_px).round())
        .collect();
    let n = centres.len() as f64;
    let mi = idx.iter().sum::<f64>() / n;
    let mc = centres.iter().sum::<f64>() / n;
    let num: f64 = idx
        .iter()
        .zip(centres)
        .map(|(i, c)| (i - mi) * (c - mc))
        .sum();
    let den: f64 = idx.iter().map(|i| (i - mi).powi(2)).sum();
    num / den
}

const GRID_MAJOR: [u8; 3] = [128, 160, 204];
const GRID_MINOR: [u8; 3] = [204, 220, 238];

#[test]
fn grid_is_1_mm_and_5_mm_and_1_mv_is_10_mm() {
    let Some(record) = record_path() else { return };
    if !have_poppler() {
        return;
    }
    let analysis = realistic_analysis(&record);
    let dir = scratch("grid");
    for paper in [Paper::A4, Paper::Letter] {
        let pdf_path = dir.join(format!("{paper:?}.pdf"));
        write_pdf(&analysis, &options(paper, false), &pdf_path, false).unwrap();
        let frame = PageFrame::new(paper);
        // 254 dpi = 10 px per mm; no anti-aliasing so grid colours are exact.
        let dpi = 254;
        let px_per_mm = f64::from(dpi) / 25.4;
        let img = render(&pdf_path, 1, dpi, None, false);
        let x0 = (f64::from(frame.grid_left_mm) * px_per_mm) as usize;
        let y0 = (f64::from(frame.grid_top_mm) * px_per_mm) as usize;
        let w = (f64::from(GRID_WIDTH_MM) * px_per_mm) as usize;
        let h = (f64::from(GRID_HEIGHT_MM) * px_per_mm) as usize;
        for (colour, pitch_mm, name) in [(GRID_MAJOR, 5.0, "major"), (GRID_MINOR, 1.0, "minor")] {
            let column_hits: Vec<bool> = (x0 - 5..x0 + w + 5)
                .map(|x| (y0..y0 + h).filter(|&y| img.pixel(x, y) == colour).count() > h * 3 / 10)
                .collect();
            let row_hits: Vec<bool> = (y0 - 5..y0 + h + 5)
                .map(|y| (x0..x0 + w).filter(|&x| img.pixel(x, y) == colour).count() > w * 3 / 10)
                .collect();
            let vertical = run_centres(&column_hits);
            let horizontal = run_centres(&row_hits);
            if name == "major" {
                assert_eq!(vertical.len(), 53, "{paper:?}: 260 mm of 5 mm boxes");
                assert_eq!(horizontal.len(), 29, "{paper:?}: 140 mm of 5 mm boxes");
            } else {
                assert!(
                    vertical.len() > 180 && horizontal.len() > 100,
                    "{paper:?} minor {} {}",
                    vertical.len(),
                    horizontal.len()
                );
            }
            let nominal = pitch_mm * px_per_mm;
            let (dx, dy) = (
                fitted_pitch(&vertical, nominal),
                fitted_pitch(&horizontal, nominal),
            );
            eprintln!("{paper:?} {name} grid pitch: {dx:.3} × {dy:.3} px, nominal {nominal:.3}");
            assert!(
                (dx / nominal - 1.0).abs() < 0.01,
                "{paper:?} {name} x pitch {dx}"
            );
            assert!(
                (dy / nominal - 1.0).abs() < 0.01,
                "{paper:?} {name} y pitch {dy}"
            );
        }

        // Calibration pulse of the first row, at 600 dpi: the distance between the
        // baseline before the pulse and the pulse's top must be 10 mm (1 mV at 10 mm/mV).
        let dpi = 600;
        let px_per_mm = f64::from(dpi) / 25.4;
        let baseline_mm = f64::from(frame.row_baseline_mm(0));
        let crop_y = ((baseline_mm - 14.0) * px_per_mm) as usize;
        let crop_x = (f64::from(frame.grid_left_mm) * px_per_mm) as usize;
        let crop = render(
            &pdf_path,
            1,
            dpi,
            Some((
                crop_x,
                crop_y,
                (10.0 * px_per_mm) as usize,
                (18.0 * px_per_mm) as usize,
            )),
            false,
        );
        let ink_centre = |x_mm: f64| {
            let x = (x_mm * px_per_mm) as usize;
            let ys: Vec<usize> = (0..crop.height)
                .filter(|&y| crop.pixel(x, y) == [0, 0, 0])
                .collect();
            assert!(!ys.is_empty(), "no ink at {x_mm} mm");
            ys.iter().sum::<usize>() as f64 / ys.len() as f64
        };
        let base = ink_centre(1.2);
        let top = ink_centre(4.5);
        let height_mm = (base - top) / px_per_mm;
        eprintln!("{paper:?} calibration pulse: {height_mm:.3} mm");
        assert!(
            (height_mm / 10.0 - 1.0).abs() < 0.01,
            "1 mV drew as {height_mm} mm"
        );
        let after = ink_centre(9.0);
        assert!((after - base).abs() < 1.0, "pulse returns to the baseline");
    }
}

#[test]
fn overlay_colours_sit_where_the_map_is_high() {
    let Some(record) = record_path() else { return };
    if !have_poppler() {
        return;
    }
    let full_rate = realistic_analysis(&record);
    // The same maps at 100 Hz (every 5th sample), as a model running at 100 Hz gives them.
    let mut low_rate = full_rate.clone();
    for out in [low_rate.anomaly.as_mut(), low_rate.baseline.as_mut()]
        .into_iter()
        .flatten()
    {
        out.map = out
            .map
            .iter()
            .map(|m| m.iter().step_by(5).copied().collect())
            .collect();
        out.map_rate_hz /= 5.0;
    }
    for (name, analysis) in [("500 Hz map", full_rate), ("100 Hz map", low_rate)] {
        eprintln!("{name}:");
        check_overlay(&analysis);
    }
}

fn check_overlay(analysis: &ecgcore::analysis::Analysis) {
    let dir = scratch(&format!(
        "overlay-{}",
        analysis.anomaly.as_ref().unwrap().map_rate_hz
    ));
    let pdf_path = dir.join("report.pdf");
    write_pdf(analysis, &options(Paper::A4, true), &pdf_path, false).unwrap();
    let frame = PageFrame::new(Paper::A4);
    let dpi = 200;
    let px_per_mm = f64::from(dpi) / 25.4;
    let warm = |p: [u8; 3]| {
        i32::from(p[0]) >= i32::from(p[1]) + 25 && i32::from(p[0]) >= i32::from(p[2]) + 40
    };
    // Count warm pixels in a box around time t (s) on a row, ±0.15 s, ±12 mm.
    let count = |img: &Image, row: usize, t: f64| {
        let xc = f64::from(frame.x_of_time_mm(t as f32)) * px_per_mm;
        let yc = f64::from(frame.row_baseline_mm(row)) * px_per_mm;
        let (dx, dy) = (0.15 * 25.0 * px_per_mm, 12.0 * px_per_mm);
        let mut n = 0;
        for y in (yc - dy) as usize..(yc + dy) as usize {
            for x in (xc - dx) as usize..(xc + dx) as usize {
                if warm(img.pixel(x, y)) {
                    n += 1;
                }
            }
        }
        n
    };
    let m = analysis.measurements.as_ref().unwrap();
    let rate = analysis.recording.sample_rate_hz;
    let nearest = |t: f64| {
        m.r_peaks
            .iter()
            .map(|&r| r as f64 / rate)
            .min_by(|a, b| (a - t).abs().total_cmp(&(b - t).abs()))
            .unwrap()
    };
    let r_ours = nearest(5.5); // V1–V3 QRS high in our map; V1 is row 0, column 2 (5–7.5 s).
    let page1 = render(&pdf_path, 1, dpi, None, true);
    let high = count(&page1, 0, r_ours);
    let low = count(&page1, 0, nearest(1.0)); // lead I, map 0.05
    eprintln!("page 1 warm pixels: high-map {high}, low-map {low}");
    assert!(high > 200, "warm band expected under V1's QRS ({high})");
    assert!(low < 5, "no warm colour where the map is low ({low})");
    // The rhythm strip (II) carries the ST-T band after the beat near 1.5 s.
    let st = count(&page1, 3, nearest(1.5) + 0.2);
    assert!(st > 100, "ST-T band in the rhythm strip ({st})");

    // Page 2: the baseline's map is high in V5/V6 near 8 s, not in V1 near 5.5 s.
    let page2 = render(&pdf_path, 2, dpi, None, true);
    let base_high = count(&page2, 1, nearest(8.0)); // V5: row 1, column 3
    let base_v1 = count(&page2, 0, r_ours);
    eprintln!("page 2 warm pixels: V5 {base_high}, V1 {base_v1}");
    assert!(base_high > 200 && base_v1 < 5);
}

#[test]
fn refuses_to_overwrite_and_writes_atomically() {
    let Some(record) = record_path() else { return };
    let analysis = realistic_analysis(&record);
    let dir = scratch("overwrite");
    let path = dir.join("r.pdf");
    std::fs::write(&path, b"keep me").unwrap();
    let err = write_pdf(&analysis, &options(Paper::Letter, false), &path, false).unwrap_err();
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
    write_pdf(&analysis, &options(Paper::Letter, false), &path, true).unwrap();
    assert!(std::fs::read(&path).unwrap().starts_with(b"%PDF-"));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    let bytes = render_pdf(&analysis, &options(Paper::Letter, false)).unwrap();
    assert!(bytes.len() < 1024 * 1024);
}

#[test]
fn the_trace_itself_is_at_10_mm_per_mv_and_25_mm_per_s() {
    let Some(record) = record_path() else { return };
    if !have_poppler() {
        return;
    }
    let analysis = realistic_analysis(&record);
    let path = scratch("trace").join("r.pdf");
    write_pdf(&analysis, &options(Paper::A4, false), &path, false).unwrap();
    let frame = PageFrame::new(Paper::A4);
    let rec = &analysis.recording;
    let fs = rec.sample_rate_hz;
    let lead_ii = &rec.lead(ecgcore::StandardLead::II).unwrap().samples_mv;
    let shown = &lead_ii[..(10.0 * fs) as usize];
    let mut sorted = shown.to_vec();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    // The tallest R wave between 1 s and 9 s of the rhythm strip.
    let (n_peak, v_peak) = shown
        .iter()
        .enumerate()
        .skip(fs as usize)
        .take(8 * fs as usize)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, &v)| (i, v - median))
        .unwrap();
    let dpi = 600;
    let px_per_mm = f64::from(dpi) / 25.4;
    let x_mm = f64::from(frame.x_of_time_mm((n_peak as f64 / fs) as f32));
    let baseline_mm = f64::from(frame.row_baseline_mm(3));
    let (crop_x, crop_y) = (
        ((x_mm - 1.0) * px_per_mm) as usize,
        ((baseline_mm - 20.0) * px_per_mm) as usize,
    );
    let img = render(
        &path,
        1,
        dpi,
        Some((
            crop_x,
            crop_y,
            (2.0 * px_per_mm) as usize,
            (20.0 * px_per_mm) as usize,
        )),
        false,
    );
    let (top_x, top_y) = (0..img.height)
        .flat_map(|y| (0..img.width).map(move |x| (x, y)))
        .find(|&(x, y)| img.pixel(x, y) == [0, 0, 0])
        .expect("the R wave's ink");
    let top_mm = (crop_y + top_y) as f64 / px_per_mm;
    let half_line_mm = 0.11;
    let height_mm = baseline_mm - top_mm - half_line_mm;
    let expected_mm = f64::from(v_peak) * 10.0;
    eprintln!("R wave of {v_peak:.3} mV drawn {height_mm:.3} mm tall (expected {expected_mm:.3})");
    assert!((height_mm / expected_mm - 1.0).abs() < 0.01);
    let peak_x_mm = (crop_x + top_x) as f64 / px_per_mm;
    assert!(
        (peak_x_mm - x_mm).abs() < 0.15,
        "R peak at {peak_x_mm} mm, expected {x_mm}"
    );
}
