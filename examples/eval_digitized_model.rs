//! How well the anomaly model works on digitized paper ECGs: PTB-XL fold-10 records
//! (never used in training or model selection) are scored three ways — the original
//! 500 Hz file, a clean 200-dpi page rendered by `ecgdigitize::render` and digitized, and
//! the same page distorted (rotation, blur, noise, JPEG, grid colours, 100–300 dpi) and
//! digitized — and the AUROC (abnormal vs NORM) of ours and of the baseline is printed
//! for each, with the share of pages the digitizer refused.
//! `cargo run --release --example eval_digitized_model -- [N=60]`.
use ecgdigitize::render::{self, RenderStyle};
use ecgdigitize::DigitizeOptions;
use ecgmodel::{metrics, Analyzer};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::Device;

#[derive(Default)]
struct Set {
    ours: Vec<f32>,
    base: Vec<f32>,
    labels: Vec<u8>,
    refused: usize,
    flagged_normal: usize,
    normals: usize,
}

impl Set {
    fn push(&mut self, ours: f32, base: f32, label: u8, abnormal: bool) {
        self.ours.push(ours);
        self.base.push(base);
        self.labels.push(label);
        if label == 0 {
            self.normals += 1;
            self.flagged_normal += usize::from(abnormal);
        }
    }

    fn line(&self, name: &str) -> String {
        let a = |s: &[f32]| metrics::auroc(s, &self.labels).unwrap_or(f64::NAN);
        format!(
            "| {name} | {} | {} | {:.3} | {:.3} | {}/{} |",
            self.labels.len(),
            self.refused,
            a(&self.ours),
            a(&self.base),
            self.flagged_normal,
            self.normals
        )
    }
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(Ok(60), |s| s.parse())
        .unwrap_or(60);
    let data = PathBuf::from("../shared/data");
    tch::set_num_threads(2);
    let analyzer = Analyzer::load(Path::new("models"), Device::Cpu)?;
    let labels: HashMap<u32, u8> = ecgmodel::data::read_labels(&data.join("ptbxl"))?
        .into_iter()
        .filter(|r| !r.excluded)
        .filter_map(|r| Some((r.ecg_id, r.label()?)))
        .collect();
    let (mut original, mut clean, mut distorted) = (Set::default(), Set::default(), Set::default());
    let ids: Vec<u32> = ecgdigitize::eval::fold10_ids(&data)
        .into_iter()
        .filter(|id| labels.contains_key(id))
        .take(n)
        .collect();
    for (k, id) in ids.iter().enumerate() {
        let label = labels[id];
        let hea = data.join(format!(
            "ptbxl/records500/{:05}/{id:05}_hr.hea",
            (id / 1000) * 1000
        ));
        let rec = ecgcore::formats::open(&hea)?;
        let (o, b) = analyzer.analyze(&rec)?;
        original.push(o.score, b.score, label, o.abnormal);
        let truth: Vec<Vec<f32>> = ecgcore::StandardLead::ALL
            .iter()
            .map(|l| {
                rec.lead(*l)
                    .map(|x| x.samples_mv.clone())
                    .unwrap_or_default()
            })
            .collect();
        for (set, distort) in [(&mut clean, false), (&mut distorted, true)] {
            let style = if distort {
                render::random_distorted_style(u64::from(*id))
            } else {
                RenderStyle {
                    seed: u64::from(*id),
                    ..RenderStyle::default()
                }
            };
            let mut img = render::render_page(&truth, &style);
            if distort {
                img = render::distort(&img, &style);
            }
            let name = format!("{id:05}_hr");
            let result =
                ecgdigitize::digitize_rgb(&img, Path::new(&name), &DigitizeOptions::default())
                    .map_err(anyhow::Error::from)
                    .and_then(|d| Ok(analyzer.analyze(&d.recording)?));
            match result {
                Ok((o, b)) => set.push(o.score, b.score, label, o.abnormal),
                Err(e) => {
                    set.refused += 1;
                    eprintln!(
                        "{name} ({}): {e}",
                        if distort { "distorted" } else { "clean" }
                    );
                }
            }
        }
        eprint!("\r{}/{}", k + 1, ids.len());
    }
    eprintln!();
    println!("| input | scored | refused | AUROC ours | AUROC baseline | normals flagged (ours) |");
    println!("|---|---|---|---|---|---|");
    println!("{}", original.line("original 500 Hz files"));
    println!("{}", clean.line("clean 200-dpi render, digitized"));
    println!("{}", distorted.line("distorted render, digitized"));
    Ok(())
}
