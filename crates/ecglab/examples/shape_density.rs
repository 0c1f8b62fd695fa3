//! Research tool: the median-beat shape density ([`ecgmodel::shape`]) on PTB-XL, fitted on
//! folds 1–8 normals, AUROC on fold 9 for several numbers of leading directions, and every
//! record's distance written to a CSV for studying score combinations (fold 9 only).
//! `cargo run --release -p ecglab --example shape_density -- [out.csv]`.
use ecglab::data::{self, PTBXL_DIR};
use ecgmodel::metrics::auroc;
use ecgmodel::shape;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn vectors(dir: &Path, cache: &Path) -> anyhow::Result<Vec<(data::PtbxlRow, Option<Vec<f32>>)>> {
    let rows: Vec<_> = data::read_labels(dir)?
        .into_iter()
        .filter(|r| !r.excluded && r.label().is_some())
        .collect();
    let d = shape::dim();
    if let Ok(mut f) = std::fs::File::open(cache) {
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        if buf.len() == rows.len() * (d + 1) * 4 {
            let v: Vec<f32> = buf
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            return Ok(rows
                .into_iter()
                .zip(v.chunks_exact(d + 1))
                .map(|(r, c)| (r, (c[0] > 0.5).then(|| c[1..].to_vec())))
                .collect());
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    let mut bytes = Vec::new();
    for (i, r) in rows.into_iter().enumerate() {
        if i % 500 == 0 {
            eprintln!("{i}");
        }
        let v = ecgcore::formats::open(&dir.join(format!("{}.hea", r.filename_lr)))
            .ok()
            .and_then(|rec| shape::beat_vector(&ecgcore::dsp::measurements::measure(&rec)));
        let mut row = vec![if v.is_some() { 1.0 } else { 0.0 }];
        row.extend(v.clone().unwrap_or_else(|| vec![0.0; d]));
        for x in row {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        out.push((r, v));
    }
    std::fs::File::create(cache)?.write_all(&bytes)?;
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(args.get(1).map_or("/tmp/shape.csv", String::as_str));
    tch::set_num_threads(2);
    let recs = vectors(Path::new(PTBXL_DIR), Path::new("target/shape_vectors.bin"))?;
    let train: Vec<Vec<f32>> = recs
        .iter()
        .filter(|(r, v)| (1..=8).contains(&r.fold) && r.label() == Some(0) && v.is_some())
        .filter_map(|(_, v)| v.clone())
        .collect();
    println!("train vectors {} of dim {}", train.len(), shape::dim());
    let val: Vec<_> = recs.iter().filter(|(r, _)| r.fold == 9).collect();
    let missing = val.iter().filter(|(_, v)| v.is_none()).count();
    println!("fold 9: {} records, {missing} without a vector", val.len());
    let mut best = (0.0, 0);
    for k in [8, 16, 32, 48, 64, 96, 128] {
        let Some(m) = ecglab::fit::shape_model(&train, k) else {
            continue;
        };
        let s: Vec<f32> = val
            .iter()
            .map(|(_, v)| v.as_ref().map_or(f32::NAN, |v| m.distance(v)))
            .map(|d| if d.is_finite() { d } else { 1e6 })
            .collect();
        let y: Vec<u8> = val.iter().map(|(r, _)| r.label().unwrap_or(0)).collect();
        let a = auroc(&s, &y).unwrap_or(f64::NAN);
        let mut per = String::new();
        for cls in ["MI", "STTC", "CD", "HYP"] {
            let (ss, yy): (Vec<f32>, Vec<u8>) = val
                .iter()
                .zip(&s)
                .filter(|((r, _), _)| {
                    r.label() == Some(0) || r.superclasses.iter().any(|c| c == cls)
                })
                .map(|((r, _), s)| (*s, r.label().unwrap_or(0)))
                .unzip();
            let _ = write!(per, " {cls} {:.3}", auroc(&ss, &yy).unwrap_or(f64::NAN));
        }
        println!("k {k:3}: fold-9 AUROC {a:.3} ({per} )");
        if a > best.0 {
            best = (a, k);
        }
    }
    let m = ecglab::fit::shape_model(&train, best.1).expect("fits");
    let mut csv = String::from("ecg_id,fold,label,shape\n");
    for (r, v) in &recs {
        let d = v.as_ref().map_or(f32::NAN, |v| m.distance(v));
        let _ = writeln!(
            csv,
            "{},{},{},{d}",
            r.ecg_id,
            r.fold,
            r.label().unwrap_or(0)
        );
    }
    std::fs::write(&out, csv)?;
    println!("best k {} (fold 9); distances in {}", best.1, out.display());
    Ok(())
}
