//! Digitize one image and write an overlay PNG (the followed traces in blue over the
//! image, lead boxes in green) for checking by eye.
//!
//! `cargo run --release -p ecgdigitize --example digitize -- IMAGE [OVERLAY.png]`

use ecgdigitize::{digitize_path, load, DigitizeOptions};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(input) = args.next().map(PathBuf::from) else {
        eprintln!("usage: digitize IMAGE [OVERLAY.png]");
        std::process::exit(2);
    };
    let overlay = args.next().map(PathBuf::from);
    let start = std::time::Instant::now();
    match digitize_path(&input, &DigitizeOptions::default()) {
        Ok(d) => {
            println!(
                "{}: layout {}, {:.3} px/mm (x {:.3}, y {:.3}), rotation {:.2}°, perspective {}, gain {} mm/mV (pulse: {}), {:.2} s",
                input.display(),
                d.layout,
                d.px_per_mm,
                d.px_per_mm_x,
                d.px_per_mm_y,
                d.rotation_deg,
                d.perspective_deg
                    .map_or("none".to_string(), |p| format!("corrected ({p:.1}°)")),
                d.gain_mm_per_mv,
                d.gain_from_pulse,
                start.elapsed().as_secs_f32()
            );
            let conf: Vec<String> = d
                .recording
                .leads
                .iter()
                .zip(d.confidence_per_lead)
                .map(|(l, c)| format!("{} {c:.2}", l.name))
                .collect();
            println!("confidence: {}", conf.join(", "));
            if let Some(out) = overlay {
                let Ok(mut img) = load::load_rgb(&input) else {
                    return;
                };
                for b in &d.lead_boxes {
                    for k in 0..4 {
                        let (p, q) = (b.corners[k], b.corners[(k + 1) % 4]);
                        for s in 0..=200 {
                            let t = s as f32 / 200.0;
                            let (x, y) = (p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t);
                            if x >= 0.0
                                && y >= 0.0
                                && (x as u32) < img.width()
                                && (y as u32) < img.height()
                            {
                                img.put_pixel(x as u32, y as u32, image::Rgb([0, 180, 0]));
                            }
                        }
                    }
                }
                for trace in &d.trace_pixels_per_lead {
                    for p in trace {
                        let (x, y) = (p[0].round(), p[1].round());
                        if x >= 0.0
                            && y >= 0.0
                            && (x as u32) < img.width()
                            && (y as u32) < img.height()
                        {
                            img.put_pixel(x as u32, y as u32, image::Rgb([0, 90, 255]));
                        }
                    }
                }
                if let Err(e) = img.save(&out) {
                    eprintln!("cannot write {}: {e}", out.display());
                }
            }
        }
        Err(e) => {
            println!("refused: {e}");
        }
    }
}
