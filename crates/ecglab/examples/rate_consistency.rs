//! The same recordings at 100 and 500 Hz (PTB-XL ids 1–500, both rates in
//! `../shared/data/ptbxl`): how the measured intervals, the score components and the study
//! score differ between the two rates. Fold 10 is left out. Chooses nothing by label.
//!
//! With `NOISE_FLOOR=1`, the 100 Hz record is compared with itself plus 5 µV of white
//! noise instead: how far the score moves for a change no reader would see.
//!
//! `cargo run --release -p ecglab --example rate_consistency -- models [SHARED_PTBXL]`
use ecgmodel::score::COMPONENTS;
use ecgmodel::Analyzer;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let models = PathBuf::from(args.get(1).map_or("models", String::as_str));
    let root = PathBuf::from(args.get(2).map_or("../shared/data/ptbxl", String::as_str));
    tch::set_num_threads(2);
    let analyzer = Analyzer::load(&models, tch::Device::Cpu)?;
    let cal = analyzer.manifest().calibration.clone();
    let threshold = analyzer.manifest().mscr.threshold;
    // Studies whose verdict (score ≥ the fold-9 threshold) differs between the two.
    let mut flips = 0usize;
    // … and of those, how many lie outside the borderline band (`ecglab::borderline`).
    let margin = analyzer.manifest().mscr.borderline_margin;
    let mut flips_outside = 0usize;
    let rows = ecglab::data::read_labels(&root)?;
    let mut d_comp: Vec<Vec<f64>> = vec![Vec::new(); COMPONENTS.len()];
    let mut d_score = Vec::new();
    let mut d_meas: Vec<Vec<f64>> = vec![Vec::new(); 4];
    let mut d_score_norm = Vec::new();
    for row in &rows {
        let (id, fold) = (row.ecg_id, row.fold);
        if id == 0 || id > 500 || fold == 10 {
            continue;
        }
        let norm = row.label() == Some(0);
        let p100 = root.join(format!("records100/00000/{id:05}_lr.hea"));
        let p500 = root.join(format!("records500/00000/{id:05}_hr.hea"));
        let (Ok(r100), Ok(mut r500)) =
            (ecgcore::formats::open(&p100), ecgcore::formats::open(&p500))
        else {
            continue;
        };
        // NOISE_FLOOR=1: compare the 100 Hz record with itself plus 5 µV of white noise
        // instead (how much the score moves for a change no reader would see).
        if std::env::var("NOISE_FLOOR").is_ok_and(|v| v == "1") {
            r500 = r100.clone();
            let uv = ecglab::borderline::NOISE_UV;
            ecglab::borderline::add_white_noise(&mut r500, uv, u64::from(id));
        }
        let (Ok((c100, _)), Ok((c500, _))) = (
            analyzer.study_components(&r100),
            analyzer.study_components(&r500),
        ) else {
            continue;
        };
        let (k100, k500) = (cal.contributions(&c100), cal.contributions(&c500));
        for (k, d) in d_comp.iter_mut().enumerate() {
            let (a, b) = (c100[k], c500[k]);
            if cal.weights.get(k).is_some_and(|w| *w != 0.0) && a.is_finite() && b.is_finite() {
                d.push(f64::from(k500[k] - k100[k]));
            }
        }
        let (s100, s500) = (k100.iter().sum::<f32>(), k500.iter().sum::<f32>());
        if (s100 >= threshold) != (s500 >= threshold) {
            flips += 1;
            flips_outside += usize::from(!ecgcore::analysis::within_band(s100, threshold, margin));
        }
        let ds = f64::from(s500 - s100);
        d_score.push(ds);
        if norm {
            d_score_norm.push(ds);
        }
        let m100 = ecgcore::dsp::measurements::measure(&r100);
        let m500 = ecgcore::dsp::measurements::measure(&r500);
        for (k, (a, b)) in [
            (m100.pr_ms, m500.pr_ms),
            (m100.qrs_ms, m500.qrs_ms),
            (m100.qt_ms, m500.qt_ms),
            (m100.heart_rate_bpm, m500.heart_rate_bpm),
        ]
        .into_iter()
        .enumerate()
        {
            if let (Some(a), Some(b)) = (a, b) {
                d_meas[k].push(f64::from(b - a));
            }
        }
    }
    let stats = |v: &[f64]| {
        let n = v.len().max(1) as f64;
        let m = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt();
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        let med = s.get(s.len() / 2).copied().unwrap_or(f64::NAN);
        (v.len(), m, med, sd)
    };
    if std::env::var("NOISE_FLOOR").is_ok_and(|v| v == "1") {
        println!("100 Hz plus 5 µV of white noise minus 100 Hz (folds 1–9, ids ≤ 500)");
    } else {
        println!("500 Hz minus 100 Hz, the same recordings (folds 1–9, ids ≤ 500)");
    }
    let (n, m, med, sd) = stats(&d_score);
    let mut abs: Vec<f64> = d_score.iter().map(|d| d.abs()).collect();
    abs.sort_by(f64::total_cmp);
    let q = |p: f64| {
        abs.get(((abs.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "study score: n {n}, mean {m:+.3}, median {med:+.3}, SD {sd:.3}; |difference| \
         50th/90th/99th percentile {:.3}/{:.3}/{:.3}",
        q(0.5),
        q(0.9),
        q(0.99)
    );
    println!(
        "verdict (score ≥ {threshold:.3}) differs in {flips} of {n} studies ({:.1} %); \
         {flips_outside} of them outside the borderline band (± {margin:.3}, at 100 Hz)",
        100.0 * flips as f64 / n.max(1) as f64
    );
    let (n, m, med, sd) = stats(&d_score_norm);
    println!("  NORM-only: n {n}, mean {m:+.3}, median {med:+.3}, SD {sd:.3}");
    println!("component contributions (weight × Δz):");
    for (k, d) in d_comp.iter().enumerate() {
        if d.is_empty() {
            continue;
        }
        let (n, m, med, sd) = stats(d);
        println!(
            "  {:<12} n {n}, mean {m:+.3}, median {med:+.3}, SD {sd:.3}",
            COMPONENTS[k]
        );
    }
    for (k, name) in ["PR ms", "QRS ms", "QT ms", "HR bpm"].iter().enumerate() {
        let (n, m, med, sd) = stats(&d_meas[k]);
        println!("measured {name}: n {n}, mean {m:+.2}, median {med:+.2}, SD {sd:.2}");
    }
    Ok(())
}
