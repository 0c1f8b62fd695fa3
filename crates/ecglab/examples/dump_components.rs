//! Research tool: write every PTB-XL record's score components, attributes and embedding
//! with the shipped weights, for studying score combinations offline.
//! `cargo run --release -p ecglab --example dump_components -- [models] [out.csv]`.
//! Choices made from this file must use fold 9 only (fold 10 is the test fold).
use ecglab::data::{self, Split};
use ecgmodel::score::{self, COMPONENTS};
use ecgmodel::Analyzer;
use std::fmt::Write as _;
use std::path::PathBuf;
use tch::Device;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let models = PathBuf::from(args.get(1).map_or("models", String::as_str));
    let out = PathBuf::from(args.get(2).map_or("/tmp/components.csv", String::as_str));
    tch::set_num_threads(2);
    let analyzer = Analyzer::load(&models, Device::Cpu)?;
    let manifest = analyzer.manifest();
    let ds = data::load_ptbxl(
        &PathBuf::from(".data/ptbxl"),
        &PathBuf::from("target/ecgmodel-cache"),
        true,
    )?;
    let mut csv = String::from("ecg_id,fold,split,label,classes");
    for c in COMPONENTS {
        let _ = write!(csv, ",{c}");
    }
    for a in ecgmodel::attributes::ATTR_NAMES {
        let _ = write!(csv, ",actual_{a},pred_{a}");
    }
    for l in 0..12 {
        let _ = write!(csv, ",lead_err_{l}");
    }
    csv.push_str(",emb_vec,feat_vec,shape_vec\n");
    // DUMP_SPLITS=val limits the dump to fold 9 (the split choices are made on).
    let only = std::env::var("DUMP_SPLITS").ok();
    for (split, name) in [
        (Split::Train, "train"),
        (Split::Validation, "val"),
        (Split::Test, "test"),
    ] {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|s| s == name))
        {
            continue;
        }
        let idx = ds.indices(split);
        let raw = ecglab::train::run_mscr(
            analyzer.mscr(),
            &ds,
            &idx,
            &manifest.attr_norm,
            Device::Cpu,
            false,
            // DUMP_FAST=1: 3 passes per record (3 masks × every third beat, up to 3).
            std::env::var("DUMP_FAST").is_ok_and(|v| v == "1"),
        );
        for (r, &i) in raw.iter().zip(&idx) {
            let rec = &ds.records[i];
            let comps = score::components(
                r,
                &ecgmodel::attributes::Attributes::from_array(rec.attrs),
                ds.shape(i),
                manifest.normal_models(),
            );
            let _ = write!(
                csv,
                "{},{},{name},{},{}",
                rec.row.ecg_id,
                rec.row.fold,
                rec.row.label().unwrap_or(0),
                rec.row.superclasses.join("|")
            );
            for c in comps {
                let _ = write!(csv, ",{c}");
            }
            for a in 0..7 {
                let _ = write!(csv, ",{},{}", rec.attrs[a], r.attrs[a]);
            }
            for l in 0..12 {
                let _ = write!(csv, ",{}", r.lead_err.get(l).copied().unwrap_or(f32::NAN));
            }
            let e: Vec<String> = r.embedding.iter().map(|v| format!("{v:.5}")).collect();
            let f: Vec<String> = r.features.iter().map(|v| format!("{v:.4}")).collect();
            let b: Vec<String> = ds
                .shape(i)
                .map(|v| v.iter().map(|x| format!("{x:.4}")).collect())
                .unwrap_or_default();
            let _ = writeln!(csv, ",{},{},{}", e.join(" "), f.join(" "), b.join(" "));
        }
    }
    std::fs::write(&out, csv)?;
    println!("wrote {}", out.display());
    Ok(())
}
