//! `lead_debug IMAGE RECORD LEAD`: the digitized lead against the truth in its window
//! (first 2.5 s of the cell), printed every 10 ms, at the best lag.
use ecgdigitize::{digitize_path, DigitizeOptions};
use ecglab::digitizer_eval as eval;
use std::path::Path;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let d = digitize_path(Path::new(&a[1]), &DigitizeOptions::default()).unwrap();
    let (_, truth) = eval::read_wfdb16(Path::new(&a[2])).unwrap();
    let lead = eval::lead_by_label(&a[3]).unwrap();
    let est = &d.recording.leads[lead.index()].samples_mv;
    let x = &truth[lead.index()];
    let (s0, s1) = (
        a[4].parse::<usize>().unwrap(),
        a[5].parse::<usize>().unwrap(),
    );
    let mut best = (0isize, f64::MAX);
    for lag in -100isize..=100 {
        let pairs: Vec<(f64, f64)> = (s0..s1)
            .filter_map(|i| {
                let j = i as isize + lag;
                let e = *est.get(usize::try_from(j).ok()?)?;
                e.is_finite().then_some((f64::from(x[i]), f64::from(e)))
            })
            .collect();
        let mx = pairs.iter().map(|p| p.0).sum::<f64>() / pairs.len() as f64;
        let me = pairs.iter().map(|p| p.1).sum::<f64>() / pairs.len() as f64;
        let err = pairs
            .iter()
            .map(|p| ((p.0 - mx) - (p.1 - me)).powi(2))
            .sum::<f64>();
        if err < best.1 {
            best = (lag, err);
        }
    }
    println!("best lag {} samples", best.0);
    for i in (s0..s1).step_by(5) {
        let j = (i as isize + best.0) as usize;
        println!(
            "{:.3} {:+.3} {:+.3}",
            i as f32 / 500.0,
            x[i],
            est.get(j).copied().unwrap_or(f32::NAN)
        );
    }
}
