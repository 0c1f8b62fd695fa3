//! `overlay IMAGE OUT.png [LAYOUT [ROWS]]`: draw the followed traces (green), lead boxes
//! (dark green) and the rows' baselines where they cross the centre line (blue ticks)
//! over the image, for checking a digitization by eye. LAYOUT `-` detects it; ROWS sets the
//! rows' baselines by hand (`0.14,0.36,0.6,0.88`: fractions of the image height).
use ecgdigitize::{digitize_path, DigitizeOptions, Layout, RowPositions};
use std::path::Path;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let options = DigitizeOptions {
        layout: a.get(3).and_then(|l| Layout::parse(l)),
        rows: a
            .get(4)
            .map(|r| RowPositions::parse(r).unwrap_or_else(|e| panic!("ROWS: {e}"))),
        ..DigitizeOptions::default()
    };
    let d = match digitize_path(Path::new(&a[1]), &options) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let mut img = image::open(&a[1]).expect("image").to_rgb8();
    let (w, h) = img.dimensions();
    let mut put = |x: f32, y: f32, c: [u8; 3]| {
        if x >= 0.0 && y >= 0.0 && (x as u32) < w && (y as u32) < h {
            img.put_pixel(x as u32, y as u32, image::Rgb(c));
        }
    };
    for b in &d.lead_boxes {
        for k in 0..4 {
            let (p, q) = (b.corners[k], b.corners[(k + 1) % 4]);
            for t in 0..200 {
                let f = t as f32 / 200.0;
                put(
                    p[0] + (q[0] - p[0]) * f,
                    p[1] + (q[1] - p[1]) * f,
                    [0, 160, 0],
                );
            }
        }
    }
    for t in &d.trace_pixels_per_lead {
        for p in t {
            put(p[0], p[1], [0, 220, 0]);
        }
    }
    for f in &d.row_baselines {
        let y = f * h as f32;
        for dx in -40..=40 {
            for dy in -1..=1 {
                put(w as f32 / 2.0 + dx as f32, y + dy as f32, [0, 0, 255]);
            }
        }
    }
    img.save(&a[2]).expect("save");
    println!(
        "{} {:.2} px/mm rot {:.2} persp {:?} rows {:?} conf {:?} sources {:?}",
        d.layout,
        d.px_per_mm,
        d.rotation_deg,
        d.perspective_deg,
        d.row_baselines,
        d.confidence_per_lead,
        d.lead_source
    );
}
