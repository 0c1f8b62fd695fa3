//! Evaluate the shipped models on a manifest (until `ecgscope eval` is wired):
//! `cargo run --release -p ecgmodel --example eval -- MANIFEST.csv [--models models]
//! [--device cpu|cuda|auto] [--threads 2]`; prints the JSON report (per-record scores omitted).
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut manifest = None;
    let mut models = PathBuf::from("models");
    let mut device = tch::Device::cuda_if_available();
    let mut threads = 2;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--models" => {
                models = PathBuf::from(
                    it.next()
                        .ok_or_else(|| anyhow::anyhow!("--models needs a value"))?,
                );
            }
            "--device" => {
                device = ecgmodel::parse_device(
                    it.next()
                        .ok_or_else(|| anyhow::anyhow!("--device needs a value"))?,
                )?;
            }
            "--threads" => {
                threads = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--threads needs a value"))?
                    .parse()?;
            }
            other => manifest = Some(PathBuf::from(other)),
        }
    }
    let manifest = manifest
        .ok_or_else(|| anyhow::anyhow!("usage: eval MANIFEST.csv [--models DIR] [--device D]"))?;
    tch::set_num_threads(threads);
    let analyzer = ecgmodel::Analyzer::load(&models, device)?;
    let mut report = ecgmodel::eval::run(&manifest, &analyzer, true)?;
    report.scores.clear();
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
