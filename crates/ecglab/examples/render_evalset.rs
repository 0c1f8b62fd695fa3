//! Write the synthetic evaluation pages to a folder, for looking at them (the
//! evaluation itself renders the same pages in memory).
//!
//! `cargo run --release -p ecglab --example render_evalset -- OUT_DIR [N] [DATA_DIR]`
//! writes `<id>_clean.png` and `<id>_distorted.png` for the first N (default 5) PTB-XL
//! fold-10 records.

use ecglab::digitizer_eval::{fold10_ids, read_wfdb16};
use ecglab::paper_render::{self as render, RenderStyle};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first().map(PathBuf::from) else {
        eprintln!("usage: render_evalset OUT_DIR [N] [DATA_DIR]");
        std::process::exit(2);
    };
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let data = args
        .get(2)
        .map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from);
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("cannot create {}: {e}", out.display());
        std::process::exit(1);
    }
    for id in fold10_ids(&data).into_iter().take(n) {
        let record = data.join(format!(
            "ptbxl/records500/{:05}/{id:05}_hr",
            (id / 1000) * 1000
        ));
        let Ok((_, truth)) = read_wfdb16(&record) else {
            continue;
        };
        let clean = render::render_page(
            &truth,
            &RenderStyle {
                seed: u64::from(id),
                ..RenderStyle::default()
            },
        );
        let style = render::random_distorted_style(u64::from(id));
        let distorted = render::distort(&render::render_page(&truth, &style), &style);
        for (img, kind) in [(clean, "clean"), (distorted, "distorted")] {
            let path = out.join(format!("{id:05}_{kind}.png"));
            if let Err(e) = img.save(&path) {
                eprintln!("cannot write {}: {e}", path.display());
            }
        }
        println!("{id:05}: distorted {style:?}");
    }
}
