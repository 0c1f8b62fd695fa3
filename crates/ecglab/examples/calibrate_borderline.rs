//! Fit the borderline bands of the models in `models/` (see `ecglab::borderline`): every
//! PTB-XL fold-9 study scored as recorded and three times with 5 µV of white noise; the
//! band holds 90 % of the noisy copies whose verdict turned. Writes the margins into
//! `models/manifest.json` (nothing else changes) and prints what the bands do on fold 9
//! and, reported only, on fold 10. `train` runs the same step on the models it writes.
//! `cargo run --release -p ecglab --example calibrate_borderline -- [models] [ptbxl]`.
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let models = PathBuf::from(args.next().unwrap_or_else(|| "models".into()));
    let ptbxl = PathBuf::from(
        args.next()
            .unwrap_or_else(|| ecglab::data::PTBXL_DIR.into()),
    );
    let fit = ecglab::borderline::fit_and_write(&models, &ptbxl)?;
    println!(
        "{} µV of white noise, {} draws; the band holds {:.0} % of the turned verdicts; {}",
        fit.noise_uv,
        fit.draws,
        100.0 * fit.share,
        fit.fitted_on
    );
    for (name, f) in [("ours", &fit.ours), ("baseline", &fit.baseline)] {
        println!(
            "{name}: margin {:.3e} around the threshold {:.3e} (± {:.1} %)",
            f.margin,
            f.threshold,
            100.0 * f.margin / f.threshold
        );
        for (set, e) in [("fold 9", &f.validation), ("fold 10", &f.test)] {
            println!(
                "  {set}: {} studies, {} borderline ({:.1} %); {} of the noisy copies turned the verdict, {} outside the band",
                e.n,
                e.borderline,
                100.0 * e.borderline as f64 / e.n.max(1) as f64,
                e.flipped,
                e.flipped_outside_band
            );
        }
    }
    println!("updated {}", models.join("manifest.json").display());
    Ok(())
}
