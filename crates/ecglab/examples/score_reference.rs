//! Score the validation fold (PTB-XL fold 9, `models/manifests/ptbxl_fold9.csv`) with the
//! shipped models and write the percentiles of each method's scores, normals and abnormals
//! apart, to `models/score_reference.json` (the viewer plots where a study's score falls
//! among them):
//! `cargo run --release -p ecglab --example score_reference -- [--models models]`.
use ecgsession::reference::{percentiles, MethodReference, ScoreReference};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let models = match args.as_slice() {
        [] => PathBuf::from("models"),
        [flag, dir] if flag == "--models" => PathBuf::from(dir),
        _ => anyhow::bail!("usage: score_reference [--models DIR]"),
    };
    tch::set_num_threads(2);
    let analyzer = ecgmodel::Analyzer::load(&models, tch::Device::cuda_if_available())?;
    let manifest = models.join("manifests/ptbxl_fold9.csv");
    let report = ecgmodel::eval::run(&manifest, &analyzer, true)?;
    anyhow::ensure!(
        report.failures.is_empty(),
        "{} records failed: {:?}",
        report.failures.len(),
        report.failures.first()
    );
    let m = analyzer.manifest();
    let pick = |label: u8, ours: bool| -> Vec<f32> {
        report
            .scores
            .iter()
            .filter(|s| s.1 == label)
            .map(|s| if ours { s.2 } else { s.3 })
            .collect()
    };
    let method = |name: &str, threshold: f32, ours: bool| MethodReference {
        method: name.to_string(),
        threshold,
        n_normals: pick(0, ours).len(),
        n_abnormals: pick(1, ours).len(),
        normals: percentiles(&pick(0, ours)),
        abnormals: percentiles(&pick(1, ours)),
    };
    let reference = ScoreReference {
        source: format!(
            "PTB-XL fold 9 (validation), {} records ({} abnormal), {}",
            report.n,
            report.n_abnormal,
            manifest.display()
        ),
        methods: vec![
            method(ecgmodel::analyzer::MSCR_NAME, m.mscr.threshold, true),
            method(
                ecgmodel::analyzer::BASELINE_NAME,
                m.baseline.threshold,
                false,
            ),
        ],
    };
    reference.check().map_err(anyhow::Error::msg)?;
    let out = models.join("score_reference.json");
    std::fs::write(&out, serde_json::to_string_pretty(&reference)?)?;
    eprintln!("wrote {} (AUROC {:?})", out.display(), report.auroc);
    Ok(())
}
