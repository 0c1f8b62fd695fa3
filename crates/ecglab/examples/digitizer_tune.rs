//! Tuning set for the digitizer, disjoint from the reported evaluation: PTB-XL fold-10
//! records after the first `SKIP` (default 20), drawn with distorted styles from a
//! different seed (`id + 1_000_003`), printing what was detected against the truth.
//!
//! `cargo run --release -p ecglab --example digitizer_tune -- [N] [SKIP] [DPI] [DATA_DIR]`
//! (`TUNE_PERSPECTIVE=1`: clean pages photographed at an angle instead).

use ecgdigitize::{digitize_rgb, DigitizeOptions};
use ecglab::digitizer_eval::{fold10_ids, read_wfdb16, snr_db};
use ecglab::paper_render as render;
use std::path::{Path, PathBuf};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(20);
    let skip: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let dpi: Option<f32> = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .filter(|d| *d > 0.0);
    let data = args
        .get(3)
        .map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from);
    let mut all = Vec::new();
    for id in fold10_ids(&data).into_iter().skip(skip).take(n) {
        let record = data.join(format!(
            "ptbxl/records500/{:05}/{id:05}_hr",
            (id / 1000) * 1000
        ));
        let Ok((_, truth)) = read_wfdb16(&record) else {
            continue;
        };
        let mut style = render::random_distorted_style(u64::from(id) + 1_000_003);
        if let Some(d) = dpi {
            style.dpi = d;
        }
        // `TUNE_PERSPECTIVE=1`: the clean page at this dpi photographed at an angle instead.
        let img = if std::env::var("TUNE_PERSPECTIVE").is_ok() {
            let clean = render::RenderStyle {
                dpi: style.dpi,
                seed: style.seed,
                ..render::RenderStyle::default()
            };
            style = clean;
            render::perspective_photo(
                &render::render_page(&truth, &clean),
                ecglab::digitizer_eval::PERSPECTIVE_STRENGTH,
                u64::from(id) + 1_000_003,
            )
            .0
        } else {
            render::distort(&render::render_page(&truth, &style), &style)
        };
        let t = std::time::Instant::now();
        match digitize_rgb(&img, Path::new("tune"), &DigitizeOptions::default()) {
            Ok(d) => {
                let snr: Vec<f32> = d
                    .layout
                    .cells()
                    .iter()
                    .filter(|c| c.rhythm || c.lead != ecgcore::StandardLead::II)
                    .map(|c| {
                        let a = (c.start_s * 500.0) as usize;
                        let b = (c.end_s * 500.0) as usize;
                        snr_db(
                            &truth[c.lead.index()],
                            &d.recording.leads[c.lead.index()].samples_mv,
                            a..b,
                            100,
                        )
                    })
                    .collect();
                if std::env::var("TUNE_LEADS").is_ok() {
                    println!("{snr:.1?}");
                }
                let mut s = snr.clone();
                s.sort_by(f32::total_cmp);
                let med = s.get(s.len() / 2).copied().unwrap_or(f32::NAN);
                all.extend(snr);
                println!(
                    "{id:05} {:>5.1} dB  dpi {:>3} ppmm {:.3}/{:.3} (true {:.3}) rot {:+.2} (true {:+.2}) {} gain {} pulse {} blur {:.2} noise {:.1} q {:?} {:?} w {:.2} {:.2}s",
                    med,
                    style.dpi,
                    d.px_per_mm_x,
                    d.px_per_mm_y,
                    style.dpi / 25.4,
                    d.rotation_deg,
                    -style.rotation_deg,
                    d.layout,
                    d.gain_mm_per_mv,
                    d.gain_from_pulse,
                    style.blur_sigma_px,
                    style.noise_sigma,
                    style.jpeg_quality,
                    style.grid,
                    style.trace_width_mm,
                    t.elapsed().as_secs_f32()
                );
            }
            Err(e) => println!("{id:05} failed dpi {} {:?}: {e}", style.dpi, style.grid),
        }
    }
    all.sort_by(f32::total_cmp);
    println!(
        "median over {} leads: {:.1} dB",
        all.len(),
        all.get(all.len() / 2).copied().unwrap_or(f32::NAN)
    );
}
