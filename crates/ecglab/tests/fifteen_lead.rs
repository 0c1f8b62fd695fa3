//! 15-lead pages (issue 17): a 3×5 + II page drawn by [`ecglab::paper_render::render_labelled`]
//! from a real PTB-XL record (`../shared/data/ptbxl/records500`), with every lead's label
//! printed as text, is read as 3×5: the twelve standard leads at a reasonable SNR against
//! the record (per lead, the cell's seconds, mean removed, best lag within ±0.2 s, as
//! `ecglab::digitizer_eval` scores whole pages), the extra leads under their printed names.
//!
//! PTB-XL has no V3R–V5R or V7–V9: the page draws another real lead of the same record in
//! each extra lead's place ([`render::extra_stand_in`]), so this is a test of the layout
//! and of the label reading, not of 15-lead data; an extra lead's "truth" is the signal
//! drawn. Without the shared data the tests skip (and fail under
//! `ECGSCOPE_REQUIRE_DATA=1`).

use ecgcore::StandardLead as L;
use ecgdigitize::{digitize_rgb, DigitizeOptions, Digitized, Layout, LeadSource};
use ecglab::digitizer_eval::{read_wfdb16, snr_db};
use ecglab::paper_render::{self as render, RenderStyle};
use std::path::{Path, PathBuf};

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.join("ptbxl/records500").is_dir() {
        Some(dir)
    } else {
        ecgcore::testing::skip("../shared/data (PTB-XL records500) is absent");
        None
    }
}

fn ptbxl_record(data: &Path, id: u32) -> Vec<Vec<f32>> {
    read_wfdb16(&data.join(format!("ptbxl/records500/00000/{id:05}_hr")))
        .unwrap()
        .1
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f32::NAN)
}

/// With `FIFTEEN_DUMP=DIR`, save a page there for looking at.
fn dump(name: &str, img: &image::RgbImage) {
    if let Some(dir) = std::env::var_os("FIFTEEN_DUMP") {
        img.save(Path::new(&dir).join(format!("{name}.png")))
            .unwrap();
    }
}

/// Per standard lead: its SNR over the cells it is read from (a strip, else its block
/// cell), dB.
fn standard_snrs(d: &Digitized, truth: &[Vec<f32>]) -> Vec<(L, f32)> {
    let cells = d.layout.cells();
    L::ALL
        .iter()
        .map(|lead| {
            let c = cells
                .iter()
                .filter(|c| c.lead == *lead)
                .max_by(|a, b| (a.end_s - a.start_s).total_cmp(&(b.end_s - b.start_s)))
                .unwrap();
            let (a, b) = ((c.start_s * 500.0) as usize, (c.end_s * 500.0) as usize);
            let est = &d.recording.leads[lead.index()].samples_mv;
            (*lead, snr_db(&truth[lead.index()], est, a..b, 100))
        })
        .collect()
}

fn read_page(truth: &[Vec<f32>], layout: Layout, name: &str) -> Digitized {
    let img = render::render_labelled(truth, &RenderStyle::default(), layout);
    dump(name, &img);
    digitize_rgb(&img, Path::new(name), &DigitizeOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn fifteen_lead_page_reads_standard_leads_and_extra_leads_by_name() {
    let Some(data) = data_dir() else { return };
    for (id, layout) in [
        (9, Layout::parse("3x5+II").unwrap()),
        (2, Layout::parse("3x5(V3R,V4R,V7)+II").unwrap()),
        (3, Layout::parse("3x5(V5R,V8,V9)").unwrap()),
    ] {
        let truth = ptbxl_record(&data, id);
        let name = format!("{id:05} {layout}");
        let d = read_page(&truth, layout, &name);
        assert_eq!(d.layout, layout, "{name}");
        assert!(d.gain_from_pulse, "{name}: the calibration pulse is found");
        // The twelve standard leads first, in their order, as the model takes them.
        assert!(d.recording.validate().is_ok());
        assert_eq!(d.recording.leads.len(), 15, "{name}");
        for (lead, l) in L::ALL.iter().zip(&d.recording.leads) {
            assert_eq!(l.standard, Some(*lead));
        }
        let snrs = standard_snrs(&d, &truth);
        eprintln!(
            "{name}: {}",
            snrs.iter()
                .map(|(l, s)| format!("{} {s:.1}", l.label()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (lead, snr) in &snrs {
            assert!(*snr > 10.0, "{name}: {} at {snr:.1} dB", lead.label());
            assert_ne!(
                d.lead_source[lead.index()],
                LeadSource::LabelDisagrees,
                "{name}: {lead:?}"
            );
        }
        // Labels read: all but the odd lone "I" (one stroke, which the reader scores low
        // beside a trace).
        let by_label = d
            .lead_source
            .iter()
            .filter(|s| **s == LeadSource::Label)
            .count();
        assert!(by_label >= 11, "{name}: {:?}", d.lead_source);
        let m = median(snrs.iter().map(|s| s.1).collect());
        assert!(m > 16.0, "{name}: median {m:.1} dB");
        // The extra leads under their printed names, after the twelve, not standard.
        let Layout::ThreeByFive { extra, .. } = layout else {
            unreachable!()
        };
        for (k, x) in extra.iter().enumerate() {
            let x = &x.unwrap();
            let l = &d.recording.leads[12 + k];
            assert_eq!(l.name, x.label(), "{name}");
            assert_eq!(l.standard, None);
            let read = &d.extra_leads[k];
            assert_eq!((read.lead, read.source), (*x, LeadSource::Label), "{name}");
            // Its "truth" is the real lead drawn in its place, at 8–10 s.
            let drawn = &truth[render::extra_stand_in(*x).index()];
            let snr = snr_db(drawn, &l.samples_mv, 4000..5000, 100);
            eprintln!(
                "{name}: {} (drawn from {}) {snr:.1} dB",
                x.label(),
                render::extra_stand_in(*x).label()
            );
            assert!(snr > 10.0, "{name}: {} at {snr:.1} dB", x.label());
            assert!(l.samples_mv[..4000].iter().all(|v| v.is_nan()));
        }
        assert!(
            d.recording
                .provenance
                .notes
                .iter()
                .any(|n| n.contains("not used by the model")),
            "{:?}",
            d.recording.provenance.notes
        );
    }
}

#[test]
fn three_by_four_pages_with_text_labels_stay_three_by_four() {
    // The same renderer's 3×4 pages (text labels) must not be read as 3×5.
    let Some(data) = data_dir() else { return };
    let truth = ptbxl_record(&data, 9);
    for layout in [
        Layout::ThreeByFour { rhythm_strips: 1 },
        Layout::ThreeByFour { rhythm_strips: 0 },
    ] {
        let d = read_page(&truth, layout, &format!("00009 {layout}"));
        assert_eq!(d.layout, layout);
        assert!(d.extra_leads.is_empty());
        assert_eq!(d.recording.leads.len(), 12);
    }
    // The block-label page of `render_page` too.
    let img = render::render_page(&truth, &RenderStyle::default());
    let d = digitize_rgb(&img, Path::new("00009 3x4"), &DigitizeOptions::default()).unwrap();
    assert_eq!(d.layout, Layout::ThreeByFour { rhythm_strips: 1 });
    assert!(d.extra_leads.is_empty());
    assert_eq!(d.recording.leads.len(), 12);
}

#[test]
fn fifteen_lead_layout_set_by_hand_takes_the_printed_extra_names_and_survives_distortion() {
    let Some(data) = data_dir() else { return };
    let truth = ptbxl_record(&data, 2);
    let printed = Layout::parse("3x5(V3R,V4R,V7)+II").unwrap();
    let img = render::render_labelled(&truth, &RenderStyle::default(), printed);
    // `--layout 3x5+II` (V4R, V8, V9 by default): the printed labels name the extra leads.
    let options = DigitizeOptions {
        layout: Layout::parse("3x5+II"),
        ..DigitizeOptions::default()
    };
    let d = digitize_rgb(&img, Path::new("00002 by hand"), &options).unwrap();
    assert_eq!(d.layout, printed);
    let names: Vec<&str> = d.recording.leads[12..]
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(names, ["V3R", "V4R", "V7"]);

    // Turned, blurred, noisy and JPEG-compressed: still 3×5 with its names.
    let style = RenderStyle {
        rotation_deg: 2.0,
        blur_sigma_px: 0.7,
        noise_sigma: 5.0,
        jpeg_quality: Some(60),
        grid: render::GridColour::Grey,
        ..RenderStyle::default()
    };
    let img = render::distort(&render::render_labelled(&truth, &style, printed), &style);
    dump("00002 distorted", &img);
    let d = digitize_rgb(
        &img,
        Path::new("00002 distorted"),
        &DigitizeOptions::default(),
    )
    .unwrap();
    // V3R's label is not legible there (blur); V4R and V7 are read, which only the
    // paediatric set fits, so it is named V3R (by the layout, not its label).
    assert_eq!(d.layout, printed);
    let sources: Vec<LeadSource> = d.extra_leads.iter().map(|x| x.source).collect();
    eprintln!("distorted 3×5 extra leads: {sources:?}");
    assert!(sources.iter().all(|s| *s != LeadSource::LabelDisagrees));
    let snrs = standard_snrs(&d, &truth);
    let m = median(snrs.iter().map(|s| s.1).collect());
    eprintln!("distorted 3×5: median {m:.1} dB {snrs:?}");
    assert!(m > 12.0, "distorted: median {m:.1} dB");
}
