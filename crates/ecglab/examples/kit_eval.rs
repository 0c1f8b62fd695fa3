//! Digitize every ecg-image-kit page of `../shared/data/images/ecg-image-kit` and print
//! the per-set SNR table (per lead, the manifest's windows, mean removed, best lag within
//! ±0.2 s), the failures, and how many leads keep confidence ≥ 0.5 per SNR band.
//!
//! `cargo run --release -p ecglab --example kit_eval -- [DATA_DIR] [STYLE_OR_FILE_FILTER] [-v]`
//! (`-v` also prints every lead's SNR and confidence).

use ecglab::digitizer_eval as eval;
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    let rest: Vec<&String> = args.iter().filter(|a| *a != "-v").collect();
    let data = rest.first().map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")),
        PathBuf::from,
    );
    let filter = rest.get(1).map_or("", |s| s.as_str());
    let results = match eval::kit_pages(&data, filter) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if verbose {
        for r in &results {
            match &r.snr {
                Ok(v) => {
                    let leads: Vec<String> = v
                        .iter()
                        .map(|(l, s)| {
                            let src = match r.sources[l.index()] {
                                ecgdigitize::LeadSource::Label => "L",
                                ecgdigitize::LeadSource::LabelDisagrees => "X",
                                ecgdigitize::LeadSource::Layout => "",
                                ecgdigitize::LeadSource::Missing => "-",
                            };
                            format!("{} {s:.1}/{:.2}{src}", l.label(), r.confidence[l.index()])
                        })
                        .collect();
                    println!(
                        "{} [{}] {:.2}s: {}",
                        r.page.image,
                        r.layout,
                        r.seconds,
                        leads.join(", ")
                    );
                }
                Err(e) => println!("{} FAILED: {e}", r.page.image),
            }
        }
        println!();
    }
    let report = eval::EvalReport {
        sets: eval::kit_sets(&results),
        real_world: None,
    };
    print!("{report}");
    println!("\nconfidence by the SNR each lead was read at:");
    for band in eval::confidence_by_snr(&results) {
        println!("  {band}");
    }
}
