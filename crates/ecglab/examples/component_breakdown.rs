//! Each study's score, component by component, on an `eval` manifest: what each
//! component adds to the study score (weight × robust z), its AUROC alone on the
//! manifest, and the mean contribution among normals and abnormals. For looking at where
//! a set of studies (another hospital's, say) departs from the fold-9 calibration; it
//! chooses nothing.
//!
//! `cargo run --release -p ecglab --example component_breakdown -- models MANIFEST.csv [--rows]`
use ecgmodel::analyzer::Analyzer;
use ecgmodel::metrics;
use ecgmodel::score::COMPONENTS;
use std::path::Path;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(models), Some(manifest)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: component_breakdown MODELS_DIR MANIFEST.csv [--rows]");
    };
    let rows_wanted = args.iter().any(|a| a == "--rows");
    let analyzer = Analyzer::load(Path::new(models), tch::Device::Cpu)?;
    let cal = analyzer.manifest().calibration.clone();
    let rows = ecgmodel::eval::read_manifest(Path::new(manifest))?;
    let active: Vec<usize> = (0..COMPONENTS.len())
        .filter(|&c| cal.weights.get(c).is_some_and(|w| *w != 0.0))
        .collect();
    let mut contrib: Vec<Vec<f32>> = Vec::new();
    let mut labels = Vec::new();
    let mut scores = Vec::new();
    if rows_wanted {
        let names: Vec<&str> = active.iter().map(|&c| COMPONENTS[c]).collect();
        println!("file,label,score,{}", names.join(","));
    }
    for row in &rows {
        let rec = match row.open() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{}: {e}", row.path.display());
                continue;
            }
        };
        let (comps, _) = analyzer.study_components(&rec)?;
        let c = cal.contributions(&comps);
        let score: f32 = c.iter().sum();
        if rows_wanted {
            let parts: Vec<String> = active.iter().map(|&k| format!("{:.3}", c[k])).collect();
            println!(
                "{},{},{score:.3},{}",
                row.path.display(),
                row.label,
                parts.join(",")
            );
        }
        contrib.push(c);
        labels.push(row.label);
        scores.push(score);
    }
    let mean = |k: usize, want: u8| {
        let v: Vec<f32> = contrib
            .iter()
            .zip(&labels)
            .filter(|(_, &l)| l == want)
            .map(|(c, _)| c[k])
            .collect();
        v.iter().sum::<f32>() / v.len().max(1) as f32
    };
    println!(
        "\n{} studies ({} abnormal); score AUROC {:.4}",
        labels.len(),
        labels.iter().map(|&l| usize::from(l == 1)).sum::<usize>(),
        metrics::auroc(&scores, &labels).unwrap_or(f64::NAN)
    );
    println!("component      AUROC alone  mean normal  mean abnormal");
    for &k in &active {
        let s: Vec<f32> = contrib.iter().map(|c| c[k]).collect();
        println!(
            "{:<14} {:>10.4} {:>12.3} {:>14.3}",
            COMPONENTS[k],
            metrics::auroc(&s, &labels).unwrap_or(f64::NAN),
            mean(k, 0),
            mean(k, 1)
        );
    }
    Ok(())
}
