//! Per-lead error anatomy of digitized ecg-image-kit pages: best lag (ms), correlation,
//! gain (least-squares slope of the reading on the truth) and SNR, so a low SNR can be
//! told apart as a time shift, a scale error or a shape error.
//!
//! `cargo run --release -p ecglab --example kit_diag -- DATA_DIR FILTER`

use ecglab::digitizer_eval as eval;
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data = PathBuf::from(args.first().map_or("../shared/data", |s| s.as_str()));
    let filter = args.get(1).map_or("", |s| s.as_str());
    let pages = eval::kit_manifest(&data).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let rate = ecgdigitize::OUTPUT_RATE_HZ as f32;
    for page in pages {
        if !filter.is_empty() && !page.style.starts_with(filter) && !page.image.contains(filter) {
            continue;
        }
        let truth = eval::read_wfdb16(&data.join(&page.ground_truth)).unwrap().1;
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
            let Some(l) = d.recording.lead(lead) else {
                continue;
            };
            let cell = cells
                .iter()
                .filter(|c| c.lead == lead)
                .max_by(|p, q| (p.end_s - p.start_s).total_cmp(&(q.end_s - q.start_s)))
                .unwrap();
            let len = (((b_s - a_s).min(cell.end_s - cell.start_s)) * rate) as usize;
            let a = (a_s * rate) as isize;
            let ca = (cell.start_s * rate) as isize;
            let mut best = (f32::MIN, 0isize, 0.0f32, 0.0f32);
            let wide: isize = std::env::var("KITDIAG_WIDE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(40);
            for lag in -wide..=wide {
                let mut xs = Vec::new();
                let mut ys = Vec::new();
                for i in 0..len as isize {
                    let (Some(x), Some(y)) = (
                        truth[lead.index()].get((a + i) as usize),
                        usize::try_from(ca + i + lag)
                            .ok()
                            .and_then(|j| l.samples_mv.get(j)),
                    ) else {
                        continue;
                    };
                    if y.is_finite() {
                        xs.push(*x);
                        ys.push(*y);
                    }
                }
                if xs.len() < 10 {
                    continue;
                }
                let n = xs.len() as f32;
                let mx = xs.iter().sum::<f32>() / n;
                let my = ys.iter().sum::<f32>() / n;
                let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
                for (x, y) in xs.iter().zip(&ys) {
                    sxy += (x - mx) * (y - my);
                    sxx += (x - mx) * (x - mx);
                    syy += (y - my) * (y - my);
                }
                let r = sxy / (sxx * syy).sqrt().max(1e-9);
                if r > best.0 {
                    let err: f32 = xs
                        .iter()
                        .zip(&ys)
                        .map(|(x, y)| ((y - my) - (x - mx)).powi(2))
                        .sum();
                    best = (
                        r,
                        lag,
                        sxy / sxx.max(1e-9),
                        10.0 * (sxx / err.max(1e-9)).log10(),
                    );
                }
            }
            if std::env::var("KITDIAG_LEAD").ok().as_deref() == Some(lead.label()) {
                // Error energy per 0.1 s at the best lag.
                let seg = (rate * 0.1) as usize;
                for k in 0..len / seg {
                    let mut e = 0.0;
                    let mut s = 0.0;
                    for i in k * seg..(k + 1) * seg {
                        let x = truth[lead.index()][(a + i as isize) as usize];
                        let y = l
                            .samples_mv
                            .get((ca + i as isize + best.1) as usize)
                            .copied()
                            .unwrap_or(f32::NAN);
                        e += (y - x).powi(2);
                        s += x;
                    }
                    if std::env::var("KITDIAG_SAMPLES")
                        .ok()
                        .and_then(|v| v.parse::<usize>().ok())
                        == Some(k)
                    {
                        for i in k * seg..(k + 2) * seg {
                            let x = truth[lead.index()][(a + i as isize) as usize];
                            let y = l
                                .samples_mv
                                .get((ca + i as isize + best.1) as usize)
                                .copied()
                                .unwrap_or(f32::NAN);
                            println!("      {i:3} truth {x:6.3} read {y:6.3}");
                        }
                    }
                    println!(
                        "    {:.1}s mean {:6.3} err {:7.4}",
                        k as f32 * 0.1,
                        s / seg as f32,
                        e / seg as f32
                    );
                }
            }
            println!(
                "  {:4} lag {:4.0} ms  r {:.3}  gain {:.2}  snr {:5.1}  p-p {:.2} mV",
                lead.label(),
                best.1 as f32 * 1000.0 / rate,
                best.0,
                best.2,
                best.3,
                {
                    let w = &truth[lead.index()]
                        [a as usize..(a as usize + len).min(truth[lead.index()].len())];
                    w.iter().copied().fold(f32::MIN, f32::max)
                        - w.iter().copied().fold(f32::MAX, f32::min)
                }
            );
        }
    }
}
