//! Evaluate the shipped models on the PTB-XL fold-9 and fold-10 manifests and the
//! external LUDB one (`make_manifests` writes them) and write `models/MODEL_CARD.md` plus
//! `models/eval_fold9.json`, `models/eval_fold10.json` and `models/eval_ludb.json`:
//! `cargo run --release -p ecglab --example write_card -- [--models models] [--threads 2]`.
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut models = PathBuf::from("models");
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
            "--threads" => {
                threads = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--threads needs a value"))?
                    .parse()?;
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    tch::set_num_threads(threads);
    let analyzer = ecgmodel::Analyzer::load(&models, tch::Device::cuda_if_available())?;
    let mut reports = Vec::new();
    for (name, file, out) in [
        (
            "fold 9 (val)",
            "manifests/ptbxl_fold9.csv",
            "eval_fold9.json",
        ),
        (
            "fold 10 (test)",
            "manifests/ptbxl_fold10.csv",
            "eval_fold10.json",
        ),
        (
            "LUDB (external)",
            "manifests/ludb_external.csv",
            "eval_ludb.json",
        ),
    ] {
        let started = std::time::Instant::now();
        let mut report = ecgmodel::eval::run(&models.join(file), &analyzer, true)?;
        eprintln!(
            "{name}: AUROC {:?} in {:.1} s",
            report.auroc,
            started.elapsed().as_secs_f64()
        );
        report.scores.clear();
        std::fs::write(models.join(out), serde_json::to_string_pretty(&report)?)?;
        reports.push((name, out, report));
    }
    let evals: Vec<(&str, &str, &ecgmodel::eval::EvalReport)> =
        reports.iter().map(|(n, o, r)| (*n, *o, r)).collect();
    let card = ecglab::card::render(
        analyzer.manifest(),
        &evals,
        "ecgscope eval models/manifests/ptbxl_fold10.csv (likewise ptbxl_fold9.csv, ludb_external.csv)",
    );
    std::fs::write(models.join("MODEL_CARD.md"), card)?;
    println!("wrote {}", models.join("MODEL_CARD.md").display());
    Ok(())
}
