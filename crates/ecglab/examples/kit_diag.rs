//! Per-lead error anatomy of digitized ecg-image-kit pages: best lag (ms), correlation,
//! gain (least-squares slope of the reading on the truth) and SNR at that lag, so a low
//! SNR can be told apart as a time shift (lag), a scale error (gain) or a shape error
//! (correlation). A lag that grows across a row's columns is a time-scale error.
//!
//! `cargo run --release -p ecglab --example kit_diag -- DATA_DIR FILTER`
//!
//! Environment: `KITDIAG_WIDE=N` searches lags within ±N samples (default 40, 80 ms);
//! `KITDIAG_LEAD=V3` also prints that lead's error per 0.1 s, and `KITDIAG_SAMPLES=K` the
//! truth and reading sample by sample over its 0.1 s segments K and K + 1.

use ecglab::digitizer_eval as eval;
use std::path::PathBuf;

fn env_num(name: &str) -> Option<isize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data = PathBuf::from(args.first().map_or("../shared/data", |s| s.as_str()));
    let filter = args.get(1).map_or("", |s| s.as_str());
    let pages = eval::kit_manifest(&data).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let wide = env_num("KITDIAG_WIDE").unwrap_or(40);
    let detail_lead = std::env::var("KITDIAG_LEAD").ok();
    let detail_segment = env_num("KITDIAG_SAMPLES");
    let rate = ecgdigitize::OUTPUT_RATE_HZ as f32;
    for page in pages {
        if !filter.is_empty() && !page.style.starts_with(filter) && !page.image.contains(filter) {
            continue;
        }
        let truth = match eval::read_wfdb16(&data.join(&page.ground_truth)) {
            Ok(t) => t.1,
            Err(e) => {
                println!("{}: {e}", page.ground_truth);
                continue;
            }
        };
        let path = data.join("images/ecg-image-kit").join(&page.image);
        let d = match ecgdigitize::digitize_path(&path, &ecgdigitize::DigitizeOptions::default()) {
            Ok(d) => d,
            Err(e) => {
                println!("{}: {e}", page.image);
                continue;
            }
        };
        println!("{} [{}]", page.image, d.layout);
        let cells = d.layout.cells();
        for &(lead, a_s, b_s) in &page.windows {
            let (Some(l), Some(x)) = (d.recording.lead(lead), truth.get(lead.index())) else {
                continue;
            };
            let Some(cell) = cells
                .iter()
                .filter(|c| c.lead == lead)
                .max_by(|p, q| (p.end_s - p.start_s).total_cmp(&(q.end_s - q.start_s)))
            else {
                continue;
            };
            let len = ((b_s - a_s).min(cell.end_s - cell.start_s) * rate) as isize;
            let (a, ca) = ((a_s * rate) as isize, (cell.start_s * rate) as isize);
            // Truth and reading at window sample i, the reading shifted by `lag`.
            let pair = |i: isize, lag: isize| -> (f32, f32) {
                let at = |v: &[f32], j: isize| {
                    usize::try_from(j)
                        .ok()
                        .and_then(|j| v.get(j))
                        .copied()
                        .unwrap_or(f32::NAN)
                };
                (at(x, a + i), at(&l.samples_mv, ca + i + lag))
            };
            // (correlation, lag, gain, SNR dB) at the best-correlated lag.
            let mut best = (f32::MIN, 0isize, 0.0f32, 0.0f32);
            for lag in -wide..=wide {
                let (xs, ys): (Vec<f32>, Vec<f32>) = (0..len)
                    .map(|i| pair(i, lag))
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .unzip();
                if xs.len() < 10 {
                    continue;
                }
                let n = xs.len() as f32;
                let (mx, my) = (xs.iter().sum::<f32>() / n, ys.iter().sum::<f32>() / n);
                let (mut sxy, mut sxx, mut syy, mut err) = (0.0, 0.0, 0.0, 0.0);
                for (x, y) in xs.iter().zip(&ys) {
                    sxy += (x - mx) * (y - my);
                    sxx += (x - mx) * (x - mx);
                    syy += (y - my) * (y - my);
                    err += ((y - my) - (x - mx)).powi(2);
                }
                let r = sxy / (sxx * syy).sqrt().max(1e-9);
                if r > best.0 {
                    let snr = 10.0 * (sxx / f32::max(err, 1e-9)).log10();
                    best = (r, lag, sxy / sxx.max(1e-9), snr);
                }
            }
            if detail_lead.as_deref() == Some(lead.label()) {
                let seg = (rate * 0.1) as isize;
                for k in 0..len / seg {
                    let seg_pairs: Vec<(f32, f32)> =
                        (k * seg..(k + 1) * seg).map(|i| pair(i, best.1)).collect();
                    if detail_segment == Some(k) {
                        for i in k * seg..(k + 2) * seg {
                            let (x, y) = pair(i, best.1);
                            println!("      {i:3} truth {x:6.3} read {y:6.3}");
                        }
                    }
                    let mean = seg_pairs.iter().map(|p| p.0).sum::<f32>() / seg as f32;
                    let err = seg_pairs.iter().map(|p| (p.1 - p.0).powi(2)).sum::<f32>();
                    println!(
                        "    {:.1}s mean {mean:6.3} err {:7.4}",
                        k as f32 * 0.1,
                        err / seg as f32
                    );
                }
            }
            let w: Vec<f32> = (0..len).map(|i| pair(i, 0).0).collect();
            let peak_to_peak = w.iter().copied().fold(f32::MIN, f32::max)
                - w.iter().copied().fold(f32::MAX, f32::min);
            println!(
                "  {:4} lag {:4.0} ms  r {:.3}  gain {:.2}  snr {:5.1}  p-p {peak_to_peak:.2} mV",
                lead.label(),
                best.1 as f32 * 1000.0 / rate,
                best.0,
                best.2,
                best.3,
            );
        }
    }
}
