//! The digitizer on ecg-image-kit's renders of PTB-XL (`../shared/data/images/ecg-image-kit`,
//! issue 17): every page reads, each set clears an SNR floor (per lead, the manifest's
//! windows, mean removed, best lag within ±0.2 s), lead identity comes from the printed
//! labels, and confidence drops on a lead read wrongly.
//!
//! These tests need the shared data and FAIL without it. Floors sit 1–2 dB under what
//! `cargo run --release -p ecglab --example kit_eval` measured (see the comments).

use ecgcore::StandardLead as L;
use ecgdigitize::{digitize_path, DigitizeError, DigitizeOptions, Digitized, Layout, LeadSource};
use ecglab::digitizer_eval::{self as eval, read_wfdb16};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    assert!(
        dir.join("images/ecg-image-kit/manifest.csv").is_file(),
        "the shared data is missing: {} (these tests need ../shared/data)",
        dir.display()
    );
    dir
}

fn page(name: &str) -> PathBuf {
    data_dir().join("images/ecg-image-kit").join(name)
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// The page digitized with the default options.
fn read(name: &str) -> Digitized {
    digitize_path(&page(name), &DigitizeOptions::default()).unwrap()
}

/// Per-lead SNR of a page against its manifest windows.
fn snr(name: &str, d: &Digitized) -> Vec<(L, f32)> {
    let data = data_dir();
    let pages = eval::kit_manifest(&data).unwrap();
    let p = pages.iter().find(|p| p.image == name).expect("in manifest");
    let truth = read_wfdb16(&data.join(&p.ground_truth)).unwrap().1;
    eval::score_against_windows(d, &truth, &p.windows)
}

/// The page read with the default options, its per-lead SNR.
fn read_snr(name: &str) -> Vec<(L, f32)> {
    snr(name, &read(name))
}

/// Median of per-lead SNRs.
fn median_snr(s: &[(L, f32)]) -> f32 {
    median(s.iter().map(|x| x.1).collect())
}

/// One lead's SNR.
fn lead_snr(s: &[(L, f32)], lead: L) -> f32 {
    s.iter().find(|(l, _)| *l == lead).expect("lead scored").1
}

#[test]
fn every_kit_page_reads_and_each_set_clears_its_floor() {
    let results = eval::kit_pages(&data_dir(), "").unwrap();
    assert_eq!(results.len(), 64);
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| {
            r.snr
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}", r.page.image))
        })
        .collect();
    assert!(failed.is_empty(), "pages refused: {failed:#?}");
    // No page of the set is photographed at an angle: none may be warped by a large
    // angle (the perspective detector once warped a flat photo by 23.6°). Known: the
    // rotated, wrinkled 00389 is warped by 3.8°, which reads no worse.
    for r in &results {
        let p = r.perspective_deg.unwrap_or(0.0);
        assert!(p < 5.0, "{} warped by {p:.1}°", r.page.image);
    }
    // (set, floor dB): measured 20.3, 19.1, 18.4, 12.2, 14.9, 18.6, 19.2, 18.3, 8.1, 19.2,
    // 20.2, 20.3; the clean pages pooled 19.0 against the 18 dB target, the
    // photo-like pages 12.2 against its 12 dB (73 of their 144 leads at 12 dB or more).
    let floors = [
        ("clean 3×4 + II", 19.0),
        ("6×2 + II", 18.0),
        ("12×1 + II", 17.5),
        ("all clean (3×4, 6×2, 12×1)", 18.5),
        ("photo-like (4a–4d)", 12.0),
        ("100 dpi", 13.5),
        ("black-and-white", 17.0),
        ("no calibration pulse", 17.5),
        ("grid colours", 16.5),
        ("no grid", 7.0),
        ("printed header", 16.5),
        ("rhythm V1 / V5", 18.0),
        ("no lead names", 18.5),
    ];
    let sets = eval::kit_sets(&results);
    for (name, floor) in floors {
        let set = sets.iter().find(|s| s.name == name).expect(name);
        let m = set.median_snr_db().unwrap();
        assert!(m >= floor, "{name}: median {m:.1} dB < {floor} dB");
    }
}

#[test]
fn six_by_two_rows_are_identified_by_their_labels() {
    // ecg-image-kit prints 6×2 rows as V1|V4, I|aVR, V2|V5, II|aVL, V3|V6, III|aVF with a
    // lead II strip: the labels, not the standard order, must decide. Measured 13.8 dB.
    let d = read("00080_hr-3a-6x2.png");
    assert_eq!(Some(d.layout), Layout::parse("6x2i+II"), "{}", d.layout);
    let by_label = d
        .lead_source
        .iter()
        .filter(|s| **s == LeadSource::Label)
        .count();
    assert!(by_label >= 9, "{:?}", d.lead_source);
    let s = snr("00080_hr-3a-6x2.png", &d);
    let m = median_snr(&s);
    assert!(m > 12.0, "{s:?}");
}

#[test]
fn twelve_by_one_rows_are_identified_by_their_labels() {
    // Rows V4, V1, aVR, I, V5, V2, aVL, II, V6, V3, aVF, III + II; complexes of
    // neighbouring rows overlap. Measured 15.9 dB.
    let d = read("00036_hr-3b-12x1.png");
    assert_eq!(Some(d.layout), Layout::parse("12x1i+II"), "{}", d.layout);
    let s = snr("00036_hr-3b-12x1.png", &d);
    let m = median_snr(&s);
    assert!(m > 14.0, "{s:?}");
}

#[test]
fn a_twelve_by_one_page_with_a_displaced_row_still_reads() {
    // Tall complexes pull the first row's coverage peak 23 px off its baseline.
    let d = read("00239_hr-3b-12x1.png");
    assert_eq!(d.layout.rows(), 13);
    let s = snr("00239_hr-3b-12x1.png", &d);
    assert!(median_snr(&s) > 14.0, "{s:?}");
}

#[test]
fn rhythm_strip_lead_comes_from_the_page_not_the_default() {
    for (name, lead) in [
        ("00342_hr-6e-rhythm-V1.png", L::V1),
        ("00098_hr-6e-rhythm-V5.png", L::V5),
        ("00006_hr-1-clean-3x4.png", L::II),
    ] {
        let d = read(name);
        let strips: Vec<L> = d.layout.grid().strip_leads().collect();
        assert_eq!(strips, [lead], "{name}: {}", d.layout);
    }
}

#[test]
fn a_page_without_grid_is_scaled_from_its_rows() {
    // 200 dpi = 7.87 px/mm; measured 8.0 dB.
    let d = digitize_path(
        &page("00341_hr-6c-no-grid.png"),
        &DigitizeOptions::default(),
    )
    .unwrap();
    assert!(!d.grid_found);
    assert!((d.px_per_mm - 7.87).abs() < 0.3, "{} px/mm", d.px_per_mm);
    let s = snr("00341_hr-6c-no-grid.png", &d);
    assert!(median_snr(&s) > 6.5, "{s:?}");
}

#[test]
fn a_wrinkled_photo_is_not_read_at_twice_its_scale() {
    // 150 dpi = 5.906 px/mm; the wrinkle texture's period made the grid read 11.8 px/mm.
    // Halving the grid's period gives the scale to 0.1 %; the rows' length (which was used
    // before) said 5.97, 1 % off: 0.1 s late by the end of a row, which the QRS complexes
    // cannot afford (00097 median 4.2 dB then, 14.1 now; 00184: 3.5 → 14.7, where a pulse
    // found on one row also sets the start for the rows whose pulse was missed).
    for name in [
        "00097_hr-4b-photo-wrinkles-creases.jpg",
        "00184_hr-4b-photo-wrinkles-creases.jpg",
    ] {
        let d = read(name);
        assert!(
            (d.px_per_mm - 5.906).abs() < 0.02,
            "{name}: {} px/mm",
            d.px_per_mm
        );
        let s = snr(name, &d);
        assert!(median_snr(&s) > 12.0, "{name}: {s:?}");
    }
}

#[test]
fn a_misread_lead_scores_lower_than_a_good_one() {
    // The same 12×1 page forced into the standard row order: every lead is read from
    // another lead's row. The labels disagree and Einthoven's law fails, so confidence
    // must drop well below the correct reading's.
    let path = page("00036_hr-3b-12x1.png");
    let good = digitize_path(&path, &DigitizeOptions::default()).unwrap();
    let wrong = digitize_path(
        &path,
        &DigitizeOptions {
            layout: Layout::parse("12x1+II"),
            ..DigitizeOptions::default()
        },
    )
    .unwrap();
    for lead in [L::I, L::III, L::AVR, L::AVL, L::V1, L::V4] {
        let (g, w) = (
            good.confidence_per_lead[lead.index()],
            wrong.confidence_per_lead[lead.index()],
        );
        assert!(g > 0.6, "{lead:?} read right: {g}");
        assert!(w < 0.6 * g, "{lead:?} misread: {w} vs {g}");
    }
    assert!(
        wrong
            .lead_source
            .iter()
            .filter(|s| **s == LeadSource::LabelDisagrees)
            .count()
            >= 6
    );
}

#[test]
fn a_layout_set_by_hand_is_used_and_a_wrong_one_is_named_in_the_error() {
    let path = page("00006_hr-1-clean-3x4.png");
    let d = digitize_path(
        &path,
        &DigitizeOptions {
            layout: Layout::parse("3x4+II"),
            ..DigitizeOptions::default()
        },
    )
    .unwrap();
    assert_eq!(d.layout, Layout::THREE_BY_FOUR_II);
    // 12 rows cannot be found on a 4-row page: the error says what to check.
    let err = digitize_path(
        &path,
        &DigitizeOptions {
            layout: Some(Layout::TwelveByOne),
            ..DigitizeOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, DigitizeError::RowsNotFound { want: 12, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--px-per-mm"), "{err}");
    // A page whose layout is not recognised names the option to set.
    let err = DigitizeError::UnknownLayout {
        rows: 2,
        found_rows: vec![0.3, 0.6],
        path: path.clone(),
    };
    assert!(err.to_string().contains("--layout"), "{err}");
}

#[test]
fn three_rhythm_strips_with_overlapping_rows_are_read() {
    // Our own renderer (ecg-image-kit cannot draw several strips): 3×4 + V1, II, V5 with
    // rows 28 mm apart, so tall complexes cross into the neighbouring rows; PTB-XL
    // record 9 (fold 10). The six rows must be read as 3×4 with three strips (the strips
    // repeat block cells), not as 6×2, and the strips' leads found.
    use ecglab::paper_render::{render_layout, RenderStyle};
    let data = data_dir();
    let truth = read_wfdb16(&data.join("ptbxl/records500/00000/00009_hr"))
        .unwrap()
        .1;
    let layout = Layout::ThreeByFour { rhythm_strips: 3 };
    let baselines = [48.0, 76.0, 104.0, 132.0, 160.0, 188.0];
    let img = render_layout(&truth, &RenderStyle::default(), layout, &baselines);
    let d = ecgdigitize::digitize_rgb(
        &img,
        std::path::Path::new("00009 3 strips"),
        &DigitizeOptions::default(),
    )
    .unwrap();
    assert_eq!(d.layout, layout, "{}", d.layout);
    let mut snr = Vec::new();
    for cell in layout.cells().into_iter().filter(|c| c.rhythm) {
        let est = &d.recording.leads[cell.lead.index()].samples_mv;
        snr.push(eval::snr_db(&truth[cell.lead.index()], est, 0..5000, 100));
    }
    eprintln!("3 strips: rhythm-strip SNR {snr:?}");
    // Measured 18.9, 19.8, 20.2 dB.
    assert!(median(snr.clone()) > 16.0, "{snr:?}");
}

#[test]
fn a_deep_qrs_crossing_its_label_and_the_trace_after_the_pulse_are_read_whole() {
    // 00263: V3's first S wave (−1.8 mV) runs through the printed "V3" below the row,
    // and lead I starts at the calibration pulse's falling edge. The follower once
    // took the label's top stroke (V3 read to −0.42 mV: 10.1 dB) and read the falling
    // edge as the first 10 ms of lead I (0.8 mV at 0 s: 4.8 dB). Measured now: V3
    // 24.4 dB, I 15.2 dB.
    let name = "00263_hr-1-clean-3x4.png";
    let d = read(name);
    let s = snr(name, &d);
    let of = |lead: L| lead_snr(&s, lead);
    assert!(of(L::V3) > 20.0, "V3 {:.1} dB", of(L::V3));
    assert!(of(L::I) > 12.0, "I {:.1} dB", of(L::I));
    let first = d.recording.lead(L::I).unwrap().samples_mv[..10].to_vec();
    assert!(
        first.iter().all(|v| v.abs() < 0.2),
        "lead I's first 20 ms read the pulse: {first:?}"
    );
}

#[test]
fn a_photo_whose_pulses_are_hidden_starts_at_the_pulse_its_trace_shows() {
    // 00363 (rotated 4°, shaded, dark grid): no pulse is found by its column band, and
    // the shading extends the rows' ink 15 mm to the left of the signal, so 0 s was put
    // 0.6 s early (median −2.3 dB). The pulse the followed trace runs over (a flat top
    // 1 mV up, back to the baseline) gives the start: 7.0 dB.
    let name = "00363_hr-4c-photo-full.jpg";
    let s = read_snr(name);
    assert!(median_snr(&s) > 5.0, "{s:?}");
}

#[test]
fn a_photo_coarser_than_7_px_per_mm_is_read_upsampled_and_keeps_its_qrs() {
    // 00133 (a full photo, 6.1 px/mm on its grid): one pixel column is 6.5 ms, and the
    // thin QRS strokes were read at a fraction of their height (median 2.9 dB). Read on
    // an upsampling to 8 px/mm, like the 100-dpi pages: 6.9 dB.
    let name = "00133_hr-4c-photo-full.jpg";
    let s = read_snr(name);
    assert!(median_snr(&s) > 5.5, "{s:?}");
}

#[test]
fn a_grey_grid_is_removed_by_its_periodicity() {
    // 00085 (black-and-white copy): the grid's grey lines read as ink, so the mask held
    // grid as well as trace and the V3 and V4 cells were read off the grid (−0.9 and
    // 0.1 dB; the page 14.7 dB). The grid removed by its phase within the large square:
    // V3 7.2, V4 15.3, the page 17.4 dB. 00014 (a photo whose coloured grid the colour
    // temperature greyed, QRS lost among the grid's dots): −1.8 → 5.4 dB.
    let name = "00085_hr-5b-bw.png";
    let s = read_snr(name);
    let of = |lead: L| lead_snr(&s, lead);
    assert!(of(L::V4) > 12.0, "V4 {:.1} dB", of(L::V4));
    assert!(median_snr(&s) > 16.0, "{s:?}");
    let name = "00014_hr-4a-photo-rotate-noise-colourtemp.jpg";
    let s = read_snr(name);
    assert!(median_snr(&s) > 3.5, "{s:?}");
}

#[test]
fn tall_qrs_strokes_are_followed_from_the_baseline() {
    // 00436 (6×2): V2's and V5's R waves are 2–3 mV. The follower priced a run by its
    // centre's distance from the baseline, so a tall stroke rising from the baseline cost
    // more per column than skipping it, and the R waves were cut (V2 11.7 dB, V5 8.1
    // dB). Priced by the run's nearest point: 22.5 and 18.3 dB.
    let name = "00436_hr-3a-6x2.png";
    let s = read_snr(name);
    let of = |lead: L| lead_snr(&s, lead);
    assert!(of(L::V2) > 18.0, "V2 {:.1} dB", of(L::V2));
    assert!(of(L::V5) > 14.0, "V5 {:.1} dB", of(L::V5));
}

#[test]
fn a_photos_broken_qrs_strokes_are_followed_to_their_tips() {
    // A photo's faint QRS strokes break into pieces; at the full pull towards the
    // baseline the follower took, in each column, whichever piece lay nearest it, and read
    // the R or S wave at a fraction of its size (00102's V6 at 9.6 dB, 00031's V3 at 6.9,
    // 00097's V6 at 3.5). A stroke joined to the trace pays less pull
    // (`trace::stroke_pull_factors`): 18.1, 13.4 and 13.2 dB.
    leads_clear(&[
        ("00102_hr-4a-photo-rotate-noise-colourtemp.jpg", L::V6, 15.0),
        ("00031_hr-4c-photo-full.jpg", L::V3, 11.0),
        ("00097_hr-4b-photo-wrinkles-creases.jpg", L::V6, 10.0),
    ]);
}

/// Each `(page, lead, floor)`: the lead reads above its floor (dB).
fn leads_clear(cases: &[(&str, L, f32)]) {
    for &(name, lead, floor) in cases {
        let s = read_snr(name);
        let got = lead_snr(&s, lead);
        assert!(got > floor, "{name} {lead:?} {got:.1} dB");
    }
}

#[test]
fn a_path_keeps_off_a_label_it_had_hidden() {
    // Each of these cells starts with a faint stretch of trace beside its printed label;
    // the path ran along the label's strokes instead, which hid the label from the
    // reader (it reads the ink off the paths), so it was not kept off either (00402's V4
    // read at 5.0 dB, 00047's V2 at 9.6, 00338's V2 at 7.8, 00133's V4 at −1.5). The
    // page's other labels say where it is (`labels::hidden_label_boxes`): 17.7, 19.9,
    // 19.7 and 9.2 dB.
    leads_clear(&[
        ("00402_hr-6d-printed-header.png", L::V4, 15.0),
        ("00047_hr-1-clean-3x4.png", L::V2, 16.0),
        ("00338_hr-1-clean-3x4.png", L::V2, 16.0),
        ("00133_hr-4c-photo-full.jpg", L::V4, 6.0),
    ]);
}

#[test]
fn a_lead_whose_qrs_strokes_were_left_untaken_is_doubtful() {
    // On these photos the follower bridged the faint QRS strokes of some V leads along
    // the baseline: 00363's V5 reads at 2.8 dB, 00133's V2 at −0.4 dB, with their beats
    // at the right times, so no cross-lead check can tell. The strokes they left in their
    // band make them doubtful (measured 0.20 and 0.33; 00363's V5 0.70 before the
    // check), while a lead read well on the same page, and every lead of a clean page,
    // keeps its confidence. (00133's V4, −1.5 dB and 0.23 when this test was written,
    // now reads at 9.2 dB: its path had run along its hidden label.)
    for (name, bad, good) in [
        ("00363_hr-4c-photo-full.jpg", L::V5, L::AVF),
        ("00133_hr-4c-photo-full.jpg", L::V2, L::V1),
    ] {
        let d = read(name);
        let s = snr(name, &d);
        let c = |l: L| d.confidence_per_lead[l.index()];
        assert!(
            lead_snr(&s, bad) < 3.0,
            "{name} {bad:?} {:.1} dB",
            lead_snr(&s, bad)
        );
        assert!(c(bad) < 0.5, "{name} {bad:?} confidence {}", c(bad));
        assert!(
            lead_snr(&s, good) > 10.0,
            "{name} {good:?} {:.1} dB",
            lead_snr(&s, good)
        );
        assert!(c(good) > 0.75, "{name} {good:?} confidence {}", c(good));
    }
    let clean = read("00006_hr-1-clean-3x4.png");
    assert!(
        clean.confidence_per_lead.iter().all(|&c| c > 0.9),
        "{:?}",
        clean.confidence_per_lead
    );
}
