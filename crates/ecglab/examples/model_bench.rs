//! Time one full analysis of a 10 s 12-lead study (until `ecgscope bench` is wired):
//! `cargo run --release -p ecglab --example model_bench -- [RECORD] [--threads 2] [--device cpu]`.
//! Prints medians (ms) of: input contract, dsp measurements, MSCR + baseline, whole analysis.
use std::path::PathBuf;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut record = PathBuf::from("../shared/data/ptbxl/records500/00000/00009_hr.hea");
    let mut threads = 2;
    let mut device = tch::Device::cuda_if_available();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--threads" => {
                threads = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--threads needs a value"))?
                    .parse()?;
            }
            "--device" => {
                device = ecgmodel::parse_device(
                    it.next()
                        .ok_or_else(|| anyhow::anyhow!("--device needs a value"))?,
                )?;
            }
            other => record = PathBuf::from(other),
        }
    }
    tch::set_num_threads(threads);
    let t = Instant::now();
    let analyzer = ecgmodel::Analyzer::load(&PathBuf::from("models"), device)?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let rec = ecgcore::formats::open(&record)?;
    let (mut prep, mut meas, mut model, mut full) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..25 {
        let t = Instant::now();
        let _ = ecgmodel::contract::prepare(&rec)?;
        let a = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let m = ecgcore::dsp::measurements::measure(&rec);
        let b = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let _ = analyzer.analyze_with(&rec, Some(&m))?;
        let c = t.elapsed().as_secs_f64() * 1e3;
        if i >= 3 {
            prep.push(a);
            meas.push(b);
            model.push(c);
            full.push(b + c);
        }
    }
    println!(
        "{{\"record\": {:?}, \"device\": {:?}, \"threads\": {threads}, \"load_ms\": {load_ms:.1}, \"contract_ms_median\": {:.2}, \"measure_ms_median\": {:.2}, \"model_and_baseline_ms_median\": {:.2}, \"analysis_ms_median\": {:.2}}}",
        record.display(),
        ecgmodel::device_name(device),
        median(prep),
        median(meas),
        median(model),
        median(full)
    );
    Ok(())
}
