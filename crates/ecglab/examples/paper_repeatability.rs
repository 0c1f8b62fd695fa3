//! How far a paper-input score moves between two scans of the same ECG: each PTB-XL
//! fold-9 record (validation; the first `max`, 40 by default, of those `calibrate_digitized`
//! renders) is drawn as its calibration page and once more with another seeded set of
//! distortions (rotation, blur, noise, JPEG, grid colour, dpi), both digitized and scored
//! with the paper-input calibration. Prints how many verdicts turned and how far the scores
//! moved. Why paper input has no borderline band (see `ecglab::borderline`).
//! `cargo run --release -p ecglab --example paper_repeatability -- [models] [max]`.
use ecgdigitize::DigitizeOptions;
use ecglab::borderline::{band_effect, margin, Scored};
use ecglab::paper_render as render;
use ecgmodel::Analyzer;
use std::path::{Path, PathBuf};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let models = PathBuf::from(args.next().unwrap_or_else(|| "models".into()));
    let max: usize = args.next().map_or(Ok(40), |s| s.parse())?;
    let data = PathBuf::from("../shared/data");
    tch::set_num_threads(2);
    let analyzer = Analyzer::load(&models, tch::Device::Cpu)?;
    let p = analyzer.manifest().partial.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "{} has no paper-input calibration: run calibrate_digitized first",
            models.display()
        )
    })?;
    let rows = ecglab::data::read_labels(&data.join("ptbxl"))?;
    let rows: Vec<_> = rows
        .iter()
        .filter(|r| r.fold == 9 && !r.excluded && r.label().is_some())
        .filter(|r| ecglab::data::paper_record_path(&data, r.ecg_id).exists())
        .take(max)
        .collect();
    let score = |img: &image::RgbImage, id: u32| -> Option<f32> {
        let d = ecgdigitize::digitize_rgb(
            img,
            Path::new(&format!("{id:05}_hr")),
            &DigitizeOptions::default(),
        )
        .ok()?;
        let (c, _) = analyzer.study_components(&d.recording).ok()?;
        Some(p.calibration.score(&c))
    };
    let t0 = std::time::Instant::now();
    let mut pairs = Vec::new();
    for r in &rows {
        let id = r.ecg_id;
        let Ok(rec) = ecgcore::formats::open(&ecglab::data::paper_record_path(&data, id)) else {
            continue;
        };
        let a = render::calibration_page(&rec, id);
        let leads = render::page_leads(&rec);
        let style = render::random_distorted_style(u64::from(id) + 1_000_003);
        let b = render::distort(&render::render_page(&leads, &style), &style);
        if let (Some(sa), Some(sb)) = (score(&a, id), score(&b, id)) {
            pairs.push((sa, sb));
            eprint!(
                "\r{} pairs, {:.1} s",
                pairs.len(),
                t0.elapsed().as_secs_f32()
            );
        }
    }
    eprintln!();
    let t = p.threshold;
    // The same construction as the recordings' band (`ecglab::borderline`): the second
    // scan is the one perturbed copy of each study.
    let scored: Vec<Scored> = pairs.iter().map(|&(a, b)| (a, vec![b])).collect();
    let mut moved: Vec<f32> = pairs.iter().map(|(a, b)| (b - a).abs()).collect();
    moved.sort_by(f32::total_cmp);
    let Some(&median) = moved.get(moved.len() / 2) else {
        anyhow::bail!("no record could be rendered and scored twice");
    };
    let band = margin(&scored, t);
    let effect = band_effect(&scored, t, band);
    println!(
        "paper input, threshold {t:.3}: {} records; the verdict turned in {}; |score difference| median {median:.3}, 90th percentile {:.3}",
        effect.n,
        effect.flipped,
        moved[moved.len() * 9 / 10]
    );
    println!(
        "a band holding 90 % of the turned verdicts: ± {band:.3} around {t:.3}, holding {} of {} studies",
        effect.borderline, effect.n
    );
    Ok(())
}
