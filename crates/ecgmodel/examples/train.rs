//! Train MSCR and the baseline on PTB-XL (until `ecgscope train` is wired):
//! `cargo run --release -p ecgmodel --example train -- [--seed N] [--epochs N]
//! [--baseline-epochs N] [--budget-s S] [--out models] [--ptbxl .data/ptbxl]
//! [--reuse-mscr W.safetensors] [--reuse-baseline W.safetensors]` (reuse: load those weights
//! instead of training that network; calibration and scoring are redone).
use ecgmodel::train::{self, TrainConfig};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut cfg = TrainConfig::default();
    let args: Vec<String> = std::env::args().collect();
    cfg.command = format!(
        "cargo run --release -p ecgmodel --example train -- {}",
        args[1..].join(" ")
    );
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--seed" => cfg.seed = val()?.parse()?,
            "--epochs" => cfg.mscr_epochs = val()?.parse()?,
            "--baseline-epochs" => cfg.baseline_epochs = val()?.parse()?,
            "--budget-s" => cfg.time_budget_s = val()?.parse()?,
            "--batch" => cfg.batch_size = val()?.parse()?,
            "--lr" => cfg.learning_rate = val()?.parse()?,
            "--patience" => cfg.patience = val()?.parse()?,
            "--threads" => cfg.threads = val()?.parse()?,
            "--out" => cfg.out_dir = PathBuf::from(val()?),
            "--ptbxl" => cfg.ptbxl_dir = PathBuf::from(val()?),
            "--cache" => cfg.cache_dir = PathBuf::from(val()?),
            "--device" => cfg.device = ecgmodel::parse_device(&val()?)?,
            "--no-progress" => cfg.progress = false,
            "--reuse-mscr" => cfg.reuse_mscr = Some(PathBuf::from(val()?)),
            "--reuse-baseline" => cfg.reuse_baseline = Some(PathBuf::from(val()?)),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let report = train::run(&cfg)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
