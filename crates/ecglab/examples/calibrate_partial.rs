//! Add (or refresh) the partial-lead calibration of an existing models folder, for
//! weights trained before `train` did it itself (it now runs the same
//! `ecglab::partial_fit::calibrate` at the end of training):
//! `cargo run --release -p ecglab --example calibrate_partial -- [models]`.
//! Uses fold 9 (masked to the 3×4 layout) for the calibration and scores fold 10 under
//! the same mask for the model card; the weights are not touched.
use ecglab::data;
use ecgmodel::Analyzer;
use std::path::PathBuf;
use tch::Device;

fn main() -> anyhow::Result<()> {
    let models = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "models".into()));
    tch::set_num_threads(2);
    let analyzer = Analyzer::load(&models, Device::Cpu)?;
    let mut manifest = analyzer.manifest().clone();
    let ds = data::load_ptbxl(
        &PathBuf::from(".data/ptbxl"),
        &PathBuf::from("target/ecgmodel-cache"),
        true,
    )?;
    let p = ecglab::partial_fit::calibrate(
        analyzer.mscr(),
        analyzer.baseline(),
        &ds,
        &manifest.attr_norm,
        manifest.normal_models(),
        Device::Cpu,
    );
    println!(
        "partial ({}): ours fold-9 AUROC {:.3}, fold-10 {:.3}; baseline fold-9 {:.3}, fold-10 {:.3}",
        p.layout,
        p.mscr_validation.auroc,
        p.mscr_test.auroc,
        p.baseline_validation.auroc,
        p.baseline_test.auroc
    );
    manifest.partial = Some(p);
    manifest.write(&models)?;
    println!("updated {}", models.join("manifest.json").display());
    Ok(())
}
