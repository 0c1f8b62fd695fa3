//! Fit the model's calibration for paper input on what the model really receives from
//! a page: PTB-XL fold-9 records (validation; `records500`, or `records100` resampled
//! to 500 Hz where the data has no 500 Hz file) are rendered as 3×4 + II pages by
//! `ecglab::paper_render` — clean (200 dpi) for even record ids, distorted (rotation,
//! blur, noise, JPEG, grid colours, 100–300 dpi, seeded by the id) for odd ones —
//! digitized, and scored; the centre/scale of the score components and both thresholds (90 % recall of
//! abnormal) come from those pages, and fold-10 pages made the same way (never used for
//! any choice) give the figures stored beside it. Writes `partial` in
//! `models/manifest.json` (weights untouched). Rerun whenever the digitizer changes.
//! `cargo run --release -p ecglab --example calibrate_digitized -- [models] [max records per fold]`.
use ecgdigitize::DigitizeOptions;
use ecglab::data::PtbxlRow;
use ecglab::paper_render as render;
use ecglab::partial_fit::{self as partial, Scored};
use ecgmodel::manifest::ModelManifest;
use ecgmodel::Analyzer;
use std::path::{Path, PathBuf};
use tch::Device;

/// Layout description stored in the manifest and shown to the user.
const LAYOUT: &str = "3×4 + II paper pages (PTB-XL renders, clean and distorted, digitized)";

fn score_fold(analyzer: &Analyzer, data: &Path, rows: &[PtbxlRow], what: &str) -> Vec<Scored> {
    let mut out = Vec::new();
    let mut refused = 0;
    for (k, row) in rows.iter().enumerate() {
        let id = row.ecg_id;
        let Ok(rec) = ecgcore::formats::open(&ecglab::data::paper_record_path(data, id)) else {
            continue;
        };
        let img = render::calibration_page(&rec, id);
        let name = format!("{id:05}_hr");
        let scored = ecgdigitize::digitize_rgb(&img, Path::new(&name), &DigitizeOptions::default())
            .map_err(anyhow::Error::from)
            .and_then(|d| Ok(analyzer.study_components(&d.recording)?));
        match scored {
            Ok((components, baseline)) => out.push(Scored {
                row: row.clone(),
                components,
                baseline,
            }),
            Err(e) => {
                refused += 1;
                eprintln!(
                    "\n{what}: record {id} ({}) refused: {e:#}",
                    if id % 2 == 1 { "distorted" } else { "clean" }
                );
            }
        }
        eprint!(
            "\r{what}: {}/{} records, {refused} pages refused",
            k + 1,
            rows.len()
        );
    }
    eprintln!();
    out
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let models = PathBuf::from(args.next().unwrap_or_else(|| "models".into()));
    let max: usize = args.next().map_or(Ok(usize::MAX), |s| s.parse())?;
    let data = PathBuf::from("../shared/data");
    tch::set_num_threads(2);
    let analyzer = Analyzer::load(&models, Device::Cpu)?;
    let rows = ecglab::data::read_labels(&data.join("ptbxl"))?;
    let fold = |f: u8| -> Vec<PtbxlRow> {
        rows.iter()
            .filter(|r| r.fold == f && !r.excluded && r.label().is_some())
            .filter(|r| ecglab::data::paper_record_path(&data, r.ecg_id).exists())
            .take(max)
            .cloned()
            .collect()
    };
    let validation = score_fold(&analyzer, &data, &fold(9), "fold 9");
    let test = score_fold(&analyzer, &data, &fold(10), "fold 10");
    // Pages whose digitized tracing gives no median beat in all twelve leads have no
    // `shape` or `waves` component (they count as 0 in the score).
    let waves = ecgmodel::score::COMPONENTS
        .iter()
        .position(|c| *c == "waves")
        .unwrap_or(usize::MAX);
    let without_beat = |v: &[Scored]| -> Vec<u32> {
        v.iter()
            .filter(|s| !s.components.get(waves).is_some_and(|x| x.is_finite()))
            .map(|s| s.row.ecg_id)
            .collect()
    };
    let (nine, ten) = (without_beat(&validation), without_beat(&test));
    println!(
        "pages without a 12-lead median beat (no shape or waves component): fold 9 {} of {} {nine:?}, fold 10 {} of {} {ten:?}",
        nine.len(),
        validation.len(),
        ten.len(),
        test.len()
    );
    let mut manifest = ModelManifest::read(&models)?;
    let p = partial::fit(LAYOUT, &validation, &test);
    println!(
        "{LAYOUT}: ours fold-9 AUROC {:.3} (n {}), fold-10 AUROC {:.3} sens {:.3} spec {:.3} (n {}); baseline fold-9 {:.3}, fold-10 {:.3}",
        p.mscr_validation.auroc,
        p.mscr_validation.n,
        p.mscr_test.auroc,
        p.mscr_test.sensitivity,
        p.mscr_test.specificity,
        p.mscr_test.n,
        p.baseline_validation.auroc,
        p.baseline_test.auroc
    );
    println!("fold-10 per class: {:?}", p.mscr_test.per_class_auroc);
    manifest.partial = Some(p);
    manifest.write(&models)?;
    println!("updated {}", models.join("manifest.json").display());
    Ok(())
}
