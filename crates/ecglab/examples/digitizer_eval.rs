//! Run the digitizer evaluation and print the table.
//!
//! `cargo run --release -p ecglab --example digitizer_eval -- [DATA_DIR] [N_SYNTHETIC] [--real-world] [--bench]`
//! (DATA_DIR defaults to ../shared/data, N_SYNTHETIC to 20).

use ecglab::digitizer_eval::{benchmark_300dpi, evaluate, EvalConfig};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let data_dir = positional
        .first()
        .map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from);
    let synthetic_records = positional.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let config = EvalConfig {
        data_dir: data_dir.clone(),
        synthetic_records,
        real_world: args.iter().any(|a| a == "--real-world"),
    };
    let report = evaluate(&config);
    println!("{report}");
    if args.iter().any(|a| a == "--bench") {
        match benchmark_300dpi(&data_dir, 5) {
            Some(s) => println!("benchmark: {s:.3} s per 300-dpi page (3×4+II, synthetic)"),
            None => println!("benchmark: no data"),
        }
    }
}
